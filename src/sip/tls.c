/* tls: the OpenSSL side of SIP over TLS (RFC 3261 §26.2, RFC 5630): the server context (TLS 1.2
 * and 1.3 only), the check of a certificate against its key, and the self-signed certificate made
 * at first start when none is configured. The connections themselves are in transp.c. OpenSSL is
 * dlopened (tls_lib.h): every public function here starts with sip_tls_lib_load(). */
#define LOG_MODULE "sip"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tls_lib.h"
#include "transp_int.h"

#define SELF_CERT "tls-cert.pem"
#define SELF_KEY  "tls-key.pem"
#define SELF_DAYS 3650

/* The first error OpenSSL queued, as text, and the queue emptied. */
static void ssl_why(char *why, size_t size, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160];

	if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(why, size, "%s: %s", what,
			 ERR_reason_error_string(e) ? ERR_reason_error_string(e) : buf);
	} else {
		snprintf(why, size, "%s", what);
	}
	ERR_clear_error();
}

static X509 *read_cert(const char *path, char *why, size_t size)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (!f) {
		snprintf(why, size, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		ssl_why(why, size, "not a PEM certificate");
	return x;
}

static EVP_PKEY *read_key(const char *path, char *why, size_t size)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (!f) {
		snprintf(why, size, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		ssl_why(why, size, "not a PEM private key (or it is encrypted)");
	return k;
}

int sip_tls_check_files(const char *certfile, const char *keyfile, char *why, size_t size)
{
	X509 *x;
	EVP_PKEY *k;
	int err = 0;

	if (!certfile)
		return EINVAL;
	err = sip_tls_lib_load(why, size);
	if (err)
		return err;
	x = read_cert(certfile, why, size);
	if (!x)
		return ENOENT;
	/* Asterisk: without tlsprivatekey the key is in the certificate file. */
	k = read_key(keyfile ? keyfile : certfile, why, size);
	if (!k) {
		X509_free(x);
		return ENOKEY;
	}
	if (X509_check_private_key(x, k) != 1) {
		ERR_clear_error();
		snprintf(why, size, "the private key %s does not match the certificate %s",
			 keyfile ? keyfile : certfile, certfile);
		err = EKEYREJECTED;
	}
	EVP_PKEY_free(k);
	X509_free(x);
	return err;
}

int sip_tls_fingerprint(const char *certfile, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char why[128];
	size_t o = 0;
	X509 *x;

	if (sip_tls_lib_load(why, sizeof(why)))
		return ENOENT;
	x = read_cert(certfile, why, sizeof(why));
	if (!x)
		return ENOENT;
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || size < (size_t)n * 3) {
		X509_free(x);
		ERR_clear_error();
		return EINVAL;
	}
	X509_free(x);
	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%02X", i ? ":" : "", md[i]);
	return 0;
}

/* Writes data to path atomically (a temporary file renamed), with mode. */
static int write_pem(const char *path, int mode, int (*wr)(FILE *, void *), void *obj)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	if (!wr(f, obj))
		err = EIO;
	if (fflush(f) || fsync(fileno(f)))
		err = errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err)
		unlink(tmp);
	ERR_clear_error();
	return err;
}

static int wr_cert(FILE *f, void *x)
{
	return PEM_write_X509(f, x);
}

static int wr_key(FILE *f, void *k)
{
	return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

/* A self-signed certificate for an EC P-256 key (small and fast to verify), CN "mikaka". */
static int make_self_signed(const char *cert, const char *key)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int err = ENOMEM;

	if (!k || !x)
		goto out;
	if (getentropy(serial, sizeof(serial)))
		goto out;
	serial[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	if (!X509_set_version(x, 2) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)SELF_DAYS * 86400) ||
	    !X509_set_pubkey(x, k))
		goto out;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mikaka",
					-1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_sign(x, k, EVP_sha256()))
		goto out;
	/* The key first: a certificate without its key would be taken as configured. */
	err = write_pem(key, 0600, wr_key, k);
	if (!err)
		err = write_pem(cert, 0644, wr_cert, x);
out:
	ERR_clear_error();
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(k);
	return err;
}

int sip_tls_self_signed(const char *statedir, char *cert, size_t csize, char *key, size_t ksize,
			char *why, size_t size)
{
	int err;

	if ((size_t)snprintf(cert, csize, "%s/" SELF_CERT, statedir ? statedir : ".") >= csize ||
	    (size_t)snprintf(key, ksize, "%s/" SELF_KEY, statedir ? statedir : ".") >= ksize)
		return ENAMETOOLONG;
	if (access(cert, F_OK) == 0 && access(key, F_OK) == 0)
		return 0;
	err = sip_tls_lib_load(why, size);
	if (err)
		return err;
	err = make_self_signed(cert, key);
	if (err) {
		snprintf(why, size, "cannot create a self-signed certificate %s: %s", cert,
			 strerror(err));
		return err;
	}
	log_notice("tls: created a self-signed certificate %s", cert);
	return 0;
}

int sip_tls_ctx_new(SSL_CTX **ctxp, const struct sip_tls_opts *o, char *why, size_t size)
{
	char cert[PATH_MAX], key[PATH_MAX];
	const char *certfile = o->certfile, *keyfile = o->keyfile;
	SSL_CTX *ctx;
	int err;

	err = sip_tls_lib_load(why, size);
	if (err)
		return err;
	if (!certfile || !*certfile) {
		/* First start without a certificate: make one in the state directory. */
		err = sip_tls_self_signed(o->statedir, cert, sizeof(cert), key, sizeof(key), why,
					  size);
		if (err)
			return err;
		certfile = cert;
		keyfile = key;
	}
	err = sip_tls_check_files(certfile, keyfile, why, size);
	if (err)
		return err;
	ctx = SSL_CTX_new(TLS_method());
	if (!ctx) {
		ssl_why(why, size, "SSL_CTX_new");
		return ENOMEM;
	}
	/* TLS 1.2 and 1.3 only; no compression, no renegotiation, no session tickets kept per
	 * connection; buffers given back while a connection is idle (memory per phone). */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (o->ciphers && *o->ciphers && SSL_CTX_set_cipher_list(ctx, o->ciphers) != 1) {
		ssl_why(why, size, "tlscipher");
		SSL_CTX_free(ctx);
		return EINVAL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, keyfile ? keyfile : certfile, SSL_FILETYPE_PEM) != 1) {
		ssl_why(why, size, "certificate");
		SSL_CTX_free(ctx);
		return EINVAL;
	}
	if (o->cafile && *o->cafile && SSL_CTX_load_verify_locations(ctx, o->cafile, NULL) != 1) {
		ssl_why(why, size, "tlscafile");
		SSL_CTX_free(ctx);
		return EINVAL;
	}
	{
		char fp[EVP_MAX_MD_SIZE * 3 + 1];

		if (!sip_tls_fingerprint(certfile, fp, sizeof(fp)))
			log_notice("tls: certificate %s, SHA-256 fingerprint %s", certfile, fp);
	}
	*ctxp = ctx;
	return 0;
}

int sip_tls_ciphers_check(const char *ciphers, char *why, size_t size)
{
	SSL_CTX *ctx;
	int err;

	err = sip_tls_lib_load(why, size);
	if (err)
		return err;
	ctx = SSL_CTX_new(TLS_method());
	if (!ctx)
		return ENOMEM;
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		ssl_why(why, size, "no cipher in that list");
		err = EINVAL;
	}
	SSL_CTX_free(ctx);
	return err;
}
