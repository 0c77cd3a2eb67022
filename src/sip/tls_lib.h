/* tls_lib: libssl and libcrypto (OpenSSL 3), loaded with dlopen only when SIP over TLS is
 * configured, so a daemon without TLS does not map them: +1.7 MiB resident at start, about 450
 * KiB of it private (their relocations), measured (docs/BENCHMARKS.md, Idle RSS). Include it
 * before any OpenSSL header, in tls.c and transp.c only: every OpenSSL call below goes through the
 * table (the header macros such as SSL_CTX_set_mode expand to SSL_CTX_ctrl, which is redirected
 * too). */
#ifndef MIKAKA_SIP_TLS_LIB_H
#define MIKAKA_SIP_TLS_LIB_H

#include <stdbool.h>
#include <stddef.h>

/* Every OpenSSL header the callers use, before the macros below rename the functions. */
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TLS_LIB_SSL_FUNCS                                                                          \
	X(SSL_CTX_new)                                                                             \
	X(SSL_CTX_free)                                                                            \
	X(SSL_CTX_ctrl)                                                                            \
	X(SSL_CTX_set_options)                                                                     \
	X(SSL_CTX_set_num_tickets)                                                                 \
	X(SSL_CTX_set_cipher_list)                                                                 \
	X(SSL_CTX_use_certificate_chain_file)                                                      \
	X(SSL_CTX_use_PrivateKey_file)                                                             \
	X(SSL_CTX_load_verify_locations)                                                           \
	X(TLS_method)                                                                              \
	X(SSL_new)                                                                                 \
	X(SSL_free)                                                                                \
	X(SSL_set_fd)                                                                              \
	X(SSL_set_connect_state)                                                                   \
	X(SSL_set_accept_state)                                                                    \
	X(SSL_read)                                                                                \
	X(SSL_write)                                                                               \
	X(SSL_shutdown)                                                                            \
	X(SSL_get_error)                                                                           \
	X(SSL_is_init_finished)                                                                    \
	X(SSL_get_version)                                                                         \
	X(SSL_get_current_cipher)                                                                  \
	X(SSL_CIPHER_get_name)

#define TLS_LIB_CRYPTO_FUNCS                                                                       \
	X(ERR_get_error)                                                                           \
	X(ERR_peek_last_error)                                                                     \
	X(ERR_error_string_n)                                                                      \
	X(ERR_reason_error_string)                                                                 \
	X(ERR_clear_error)                                                                         \
	X(PEM_read_X509)                                                                           \
	X(PEM_read_PrivateKey)                                                                     \
	X(PEM_write_X509)                                                                          \
	X(PEM_write_PrivateKey)                                                                    \
	X(EVP_PKEY_free)                                                                           \
	X(EVP_PKEY_Q_keygen)                                                                       \
	X(EVP_sha256)                                                                              \
	X(X509_new)                                                                                \
	X(X509_free)                                                                               \
	X(X509_check_private_key)                                                                  \
	X(X509_digest)                                                                             \
	X(X509_get_serialNumber)                                                                   \
	X(X509_set_version)                                                                        \
	X(X509_gmtime_adj)                                                                         \
	X(X509_getm_notBefore)                                                                     \
	X(X509_getm_notAfter)                                                                      \
	X(X509_set_pubkey)                                                                         \
	X(X509_get_subject_name)                                                                   \
	X(X509_NAME_add_entry_by_txt)                                                              \
	X(X509_set_issuer_name)                                                                    \
	X(X509_sign)                                                                               \
	X(BN_bin2bn)                                                                               \
	X(BN_to_ASN1_INTEGER)                                                                      \
	X(BN_free)

struct sip_tls_lib {
#define X(f) __typeof__(f) *f;
	TLS_LIB_SSL_FUNCS
	TLS_LIB_CRYPTO_FUNCS
#undef X
};

extern struct sip_tls_lib sip_tls_lib;

/* Loads both libraries once (later calls return at once); 0, or ENOENT with a reason in why. */
int sip_tls_lib_load(char *why, size_t size);

/* Whether sip_tls_lib_load() has succeeded in this process. */
bool sip_tls_lib_loaded(void);

#ifndef SIP_TLS_LIB_IMPL
#define SSL_CTX_new			   sip_tls_lib.SSL_CTX_new
#define SSL_CTX_free			   sip_tls_lib.SSL_CTX_free
#define SSL_CTX_ctrl			   sip_tls_lib.SSL_CTX_ctrl
#define SSL_CTX_set_options		   sip_tls_lib.SSL_CTX_set_options
#define SSL_CTX_set_num_tickets		   sip_tls_lib.SSL_CTX_set_num_tickets
#define SSL_CTX_set_cipher_list		   sip_tls_lib.SSL_CTX_set_cipher_list
#define SSL_CTX_use_certificate_chain_file sip_tls_lib.SSL_CTX_use_certificate_chain_file
#define SSL_CTX_use_PrivateKey_file	   sip_tls_lib.SSL_CTX_use_PrivateKey_file
#define SSL_CTX_load_verify_locations	   sip_tls_lib.SSL_CTX_load_verify_locations
#define TLS_method			   sip_tls_lib.TLS_method
#define SSL_new				   sip_tls_lib.SSL_new
#define SSL_free			   sip_tls_lib.SSL_free
#define SSL_set_fd			   sip_tls_lib.SSL_set_fd
#define SSL_set_connect_state		   sip_tls_lib.SSL_set_connect_state
#define SSL_set_accept_state		   sip_tls_lib.SSL_set_accept_state
#define SSL_read			   sip_tls_lib.SSL_read
#define SSL_write			   sip_tls_lib.SSL_write
#define SSL_shutdown			   sip_tls_lib.SSL_shutdown
#define SSL_get_error			   sip_tls_lib.SSL_get_error
#define SSL_is_init_finished		   sip_tls_lib.SSL_is_init_finished
#define SSL_get_version			   sip_tls_lib.SSL_get_version
#define SSL_get_current_cipher		   sip_tls_lib.SSL_get_current_cipher
#define SSL_CIPHER_get_name		   sip_tls_lib.SSL_CIPHER_get_name
#define ERR_get_error			   sip_tls_lib.ERR_get_error
#define ERR_peek_last_error		   sip_tls_lib.ERR_peek_last_error
#define ERR_error_string_n		   sip_tls_lib.ERR_error_string_n
#define ERR_reason_error_string		   sip_tls_lib.ERR_reason_error_string
#define ERR_clear_error			   sip_tls_lib.ERR_clear_error
#define PEM_read_X509			   sip_tls_lib.PEM_read_X509
#define PEM_read_PrivateKey		   sip_tls_lib.PEM_read_PrivateKey
#define PEM_write_X509			   sip_tls_lib.PEM_write_X509
#define PEM_write_PrivateKey		   sip_tls_lib.PEM_write_PrivateKey
#define EVP_PKEY_free			   sip_tls_lib.EVP_PKEY_free
#define EVP_PKEY_Q_keygen		   sip_tls_lib.EVP_PKEY_Q_keygen
#define EVP_sha256			   sip_tls_lib.EVP_sha256
#define X509_new			   sip_tls_lib.X509_new
#define X509_free			   sip_tls_lib.X509_free
#define X509_check_private_key		   sip_tls_lib.X509_check_private_key
#define X509_digest			   sip_tls_lib.X509_digest
#define X509_get_serialNumber		   sip_tls_lib.X509_get_serialNumber
#define X509_set_version		   sip_tls_lib.X509_set_version
#define X509_gmtime_adj			   sip_tls_lib.X509_gmtime_adj
#define X509_getm_notBefore		   sip_tls_lib.X509_getm_notBefore
#define X509_getm_notAfter		   sip_tls_lib.X509_getm_notAfter
#define X509_set_pubkey			   sip_tls_lib.X509_set_pubkey
#define X509_get_subject_name		   sip_tls_lib.X509_get_subject_name
#define X509_NAME_add_entry_by_txt	   sip_tls_lib.X509_NAME_add_entry_by_txt
#define X509_set_issuer_name		   sip_tls_lib.X509_set_issuer_name
#define X509_sign			   sip_tls_lib.X509_sign
#define BN_bin2bn			   sip_tls_lib.BN_bin2bn
#define BN_to_ASN1_INTEGER		   sip_tls_lib.BN_to_ASN1_INTEGER
#define BN_free				   sip_tls_lib.BN_free
#endif

#endif /* MIKAKA_SIP_TLS_LIB_H */
