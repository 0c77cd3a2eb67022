/* media srtp: SRTP and SRTCP (RFC 3711, RFC 7714) of our own on one relay leg: an inbound
 * session checks and decrypts what the leg's peer sends, an outbound one encrypts what goes to
 * it, both in place in the relay's buffers (which keep MEDIA_SRTP_HEADROOM bytes free for the
 * tag). Only the primitives come from OpenSSL's libcrypto (AES-CTR and AES-GCM through EVP, SHA-1
 * for HMAC), dlopened on the first SRTP leg like TLS's: an idle daemon does not map it. Every
 * cipher context and the HMAC pads are made once per session: nothing is allocated per packet
 * (libsrtp2 as Debian builds it, on NSS, allocated 8 times per packet: docs/DEPENDENCIES.md).
 * Sessions are made on the loop thread and swapped in under the engine lock; the relay thread
 * uses them under that lock. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

/* SHA1_Init/Update/Final are deprecated in OpenSSL 3 but exported and allocation-free; the EVP
 * ways to reuse an HMAC key (EVP_MAC_init, HMAC_Init_ex with a NULL key) duplicate the digest
 * context, 2 allocations per packet in OpenSSL 3.0 (measured). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "media_int.h"

#define LOG_MODULE "media"

#define SRTP_LIB_FUNCS                                                                             \
	X(EVP_CIPHER_CTX_new)                                                                      \
	X(EVP_CIPHER_CTX_free)                                                                     \
	X(EVP_CIPHER_CTX_ctrl)                                                                     \
	X(EVP_EncryptInit_ex)                                                                      \
	X(EVP_EncryptUpdate)                                                                       \
	X(EVP_EncryptFinal_ex)                                                                     \
	X(EVP_DecryptInit_ex)                                                                      \
	X(EVP_DecryptUpdate)                                                                       \
	X(EVP_DecryptFinal_ex)                                                                     \
	X(EVP_aes_128_ctr)                                                                         \
	X(EVP_aes_256_ctr)                                                                         \
	X(EVP_aes_128_gcm)                                                                         \
	X(EVP_aes_256_gcm)                                                                         \
	X(SHA1_Init)                                                                               \
	X(SHA1_Update)                                                                             \
	X(SHA1_Final)

static struct {
#define X(f) __typeof__(f) *f;
	SRTP_LIB_FUNCS
#undef X
} lib;

static pthread_mutex_t lib_mu = PTHREAD_MUTEX_INITIALIZER;
static int lib_state; /* 0 not tried, 1 loaded, -1 failed (not retried) */

/* The handle stays open for the life of the process (OpenSSL has global state a dlclose would
 * leave dangling); when TLS loaded libcrypto already, this only takes a reference. */
static int lib_load(void)
{
	void *h;
	int ret;

	pthread_mutex_lock(&lib_mu);
	if (lib_state) {
		ret = lib_state > 0 ? 0 : ENOTSUP;
		goto out;
	}
	lib_state = -1;
	ret = ENOTSUP;
	h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		log_error("SRTP: cannot load OpenSSL's libcrypto (Debian package libssl3): %s",
			  dlerror());
		goto out;
	}
#define X(f)                                                                                       \
	*(void **)&lib.f = dlsym(h, #f);                                                           \
	if (!lib.f) {                                                                              \
		log_error("SRTP: libcrypto has no %s", #f);                                        \
		goto out;                                                                          \
	}
	SRTP_LIB_FUNCS
#undef X
	lib_state = 1;
	ret = 0;
out:
	pthread_mutex_unlock(&lib_mu);
	return ret;
}

/* ---------------------------------------------------------------------------------------------
 * Sessions.
 */

#define SRTP_STREAMS 4	    /* SSRCs tracked per session (a phone has one; re-INVITEs change it) */
#define SRTP_WINDOW  128    /* replay window, packets (RFC 3711 §3.3.2 asks for at least 64) */
#define SRTCP_MAX    0x7fffffffu /* SRTCP index: 31 bits */

/* The keys of one of SRTP or SRTCP. */
struct srtp_keyset {
	EVP_CIPHER_CTX *c; /* keyed once with the session key; per packet only the IV is set */
	SHA_CTX ipad, opad; /* HMAC-SHA1 (RFC 2104) state after the padded key, AES-CM only */
	uint8_t salt[14];   /* session salt: 14 bytes (AES-CM), 12 (GCM) */
};

/* What the replay window and the index estimation know of one SSRC. */
struct srtp_stream {
	uint32_t ssrc;
	uint32_t used;	    /* for replacing the least recently used */
	bool rtp, rtcp;	    /* RTP / RTCP seen (authenticated) */
	uint64_t top;	    /* highest RTP packet index (ROC << 16 | SEQ) */
	uint64_t win[2];    /* bit n: index top - n seen */
	uint32_t rtcp_top;  /* highest SRTCP index */
	uint64_t rwin[2];
};

struct media_srtp {
	enum sdp_suite suite;
	bool gcm, inbound;
	size_t tag, rtcp_tag; /* bytes */
	struct srtp_keyset rtp, rtcp;
	struct srtp_stream st[SRTP_STREAMS];
	uint32_t clock;
	uint32_t rtcp_index; /* outbound: the last SRTCP index used */
};

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Constant time: a tag compare must not tell how many bytes matched. */
static bool tag_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}

int media_srtp_kdf(const uint8_t *mkey, size_t mklen, const uint8_t *msalt, size_t mslen,
		   uint8_t label, uint8_t *out, size_t n)
{
	/* RFC 3711 §4.3.1 with a key derivation rate of 0: x = (label << 48) XOR master salt,
	 * the salt taken as 112 bits (RFC 7714 §11's 96-bit salt padded with zeros on the right),
	 * and the key stream of AES-CM under the master key with IV x * 2^16. */
	uint8_t iv[16] = {0}, zero[64] = {0};
	EVP_CIPHER_CTX *c;
	int l, ok;

	if (lib_load())
		return ENOTSUP;
	if ((mklen != 16 && mklen != 32) || mslen > 14 || n > sizeof(zero))
		return EINVAL;
	memcpy(iv, msalt, mslen);
	iv[7] ^= label;
	c = lib.EVP_CIPHER_CTX_new();
	if (!c)
		return ENOMEM;
	ok = lib.EVP_EncryptInit_ex(c, mklen == 16 ? lib.EVP_aes_128_ctr() : lib.EVP_aes_256_ctr(),
				    NULL, mkey, iv) == 1 &&
	     lib.EVP_EncryptUpdate(c, out, &l, zero, (int)n) == 1;
	lib.EVP_CIPHER_CTX_free(c);
	return ok ? 0 : EIO;
}

static void keyset_clear(struct srtp_keyset *k)
{
	if (k->c)
		lib.EVP_CIPHER_CTX_free(k->c);
	explicit_bzero(k, sizeof(*k));
}

static int keyset_set(struct media_srtp *s, struct srtp_keyset *k, const uint8_t *ekey,
		      size_t eklen, const uint8_t *salt, const uint8_t *akey)
{
	const EVP_CIPHER *ciph;
	int ok;

	if (!k->c && !(k->c = lib.EVP_CIPHER_CTX_new()))
		return ENOMEM;
	if (s->gcm) {
		ciph = eklen == 16 ? lib.EVP_aes_128_gcm() : lib.EVP_aes_256_gcm();
		ok = s->inbound ? lib.EVP_DecryptInit_ex(k->c, ciph, NULL, ekey, NULL)
				: lib.EVP_EncryptInit_ex(k->c, ciph, NULL, ekey, NULL);
		ok = ok == 1 && lib.EVP_CIPHER_CTX_ctrl(k->c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1;
		memcpy(k->salt, salt, 12);
	} else {
		ciph = eklen == 16 ? lib.EVP_aes_128_ctr() : lib.EVP_aes_256_ctr();
		ok = lib.EVP_EncryptInit_ex(k->c, ciph, NULL, ekey, NULL) == 1;
		memcpy(k->salt, salt, 14);
		uint8_t pad[64];
		for (int i = 0; i < 64; i++)
			pad[i] = (uint8_t)((i < 20 ? akey[i] : 0) ^ 0x36);
		lib.SHA1_Init(&k->ipad);
		lib.SHA1_Update(&k->ipad, pad, 64);
		for (int i = 0; i < 64; i++)
			pad[i] ^= 0x36 ^ 0x5c;
		lib.SHA1_Init(&k->opad);
		lib.SHA1_Update(&k->opad, pad, 64);
		explicit_bzero(pad, sizeof(pad));
	}
	return ok ? 0 : EIO;
}

int media_srtp_set_session_keys(struct media_srtp *s, const uint8_t *ekey, size_t eklen,
				const uint8_t *salt, const uint8_t *akey)
{
	int err = keyset_set(s, &s->rtp, ekey, eklen, salt, akey);
	return err ? err : keyset_set(s, &s->rtcp, ekey, eklen, salt, akey);
}

static void srtp_destroy(void *arg)
{
	struct media_srtp *s = arg;

	keyset_clear(&s->rtp);
	keyset_clear(&s->rtcp);
	explicit_bzero(s, sizeof(*s)); /* the salts and HMAC pads are key material */
}

int media_srtp_create(struct media_srtp **out, enum sdp_suite suite, const uint8_t *key,
		      bool inbound)
{
	struct media_srtp *s;
	size_t eklen, slen;
	uint8_t ek[32], salt[14], ak[20];
	int err;

	switch (suite) {
	case SDP_SUITE_AES_CM_128_HMAC_SHA1_80:
	case SDP_SUITE_AES_CM_128_HMAC_SHA1_32:
		eklen = 16;
		slen = 14;
		break;
	case SDP_SUITE_AEAD_AES_128_GCM:
		eklen = 16;
		slen = 12;
		break;
	case SDP_SUITE_AEAD_AES_256_GCM:
		eklen = 32;
		slen = 12;
		break;
	default:
		return ENOTSUP;
	}
	err = lib_load();
	if (err)
		return err;
	s = mem_zalloc(sizeof(*s), srtp_destroy);
	if (!s)
		return ENOMEM;
	s->suite = suite;
	s->inbound = inbound;
	s->gcm = slen == 12;
	/* RFC 4568 §6.2.2: SRTCP keeps the 80-bit tag with the _32 suite. */
	s->tag = s->gcm ? 16 : suite == SDP_SUITE_AES_CM_128_HMAC_SHA1_32 ? 4 : 10;
	s->rtcp_tag = s->gcm ? 16 : 10;
	/* Labels 0-2 key SRTP, 3-5 SRTCP (RFC 3711 §4.3.2). */
	for (int i = 0; i < 2 && !err; i++) {
		uint8_t base = (uint8_t)(3 * i);
		err = media_srtp_kdf(key, eklen, key + eklen, slen, base, ek, eklen);
		if (!err && !s->gcm)
			err = media_srtp_kdf(key, eklen, key + eklen, slen, base + 1, ak, 20);
		if (!err)
			err = media_srtp_kdf(key, eklen, key + eklen, slen, base + 2, salt, slen);
		if (!err)
			err = keyset_set(s, i ? &s->rtcp : &s->rtp, ek, eklen, salt, ak);
	}
	explicit_bzero(ek, sizeof(ek));
	explicit_bzero(ak, sizeof(ak));
	explicit_bzero(salt, sizeof(salt));
	if (err) {
		mem_deref(s);
		return err;
	}
	*out = s;
	return 0;
}

/* The stream of this SSRC, or NULL with *slot the entry a new one would take (the least
 * recently used). */
static struct srtp_stream *stream_find(struct media_srtp *s, uint32_t ssrc, struct srtp_stream **slot)
{
	struct srtp_stream *lru = &s->st[0];

	for (int i = 0; i < SRTP_STREAMS; i++) {
		struct srtp_stream *t = &s->st[i];
		if ((t->rtp || t->rtcp) && t->ssrc == ssrc)
			return t;
		if (!(t->rtp || t->rtcp)) {
			if (lru->rtp || lru->rtcp || t->used < lru->used)
				lru = t;
		} else if ((lru->rtp || lru->rtcp) && t->used < lru->used) {
			lru = t;
		}
	}
	*slot = lru;
	return NULL;
}

/* Window of SRTP_WINDOW bits, bit n standing for index top - n. */
static bool win_seen(const uint64_t *w, uint64_t n)
{
	return n >= SRTP_WINDOW || (w[n / 64] >> (n % 64) & 1);
}

static void win_shift(uint64_t *w, uint64_t d)
{
	if (d >= SRTP_WINDOW) {
		w[0] = w[1] = 0;
	} else if (d >= 64) {
		w[1] = w[0] << (d - 64);
		w[0] = 0;
	} else if (d) {
		w[1] = w[1] << d | w[0] >> (64 - d);
		w[0] <<= d;
	}
}

static void win_mark(uint64_t *w, uint64_t n)
{
	w[n / 64] |= (uint64_t)1 << (n % 64);
}

/* RFC 3711 §3.3.1 / Appendix A: the packet index of SEQ given the highest one seen. */
static uint64_t index_guess(const struct srtp_stream *t, uint16_t seq)
{
	uint32_t roc = (uint32_t)(t->top >> 16), v = roc;
	uint16_t sl = (uint16_t)t->top;

	if (sl < 32768) {
		if (seq > sl && seq - sl > 32768 && roc > 0)
			v = roc - 1;
	} else if (seq < sl - 32768) {
		v = roc + 1;
	}
	return (uint64_t)v << 16 | seq;
}

/* An RTP header's length, or 0 when the packet is too short for it. */
static size_t rtp_hdr_len(const uint8_t *b, size_t len)
{
	size_t h;

	if (len < 12 || (b[0] >> 6) != 2)
		return 0;
	h = 12 + 4u * (b[0] & 0x0f);
	if (b[0] & 0x10) {
		if (len < h + 4)
			return 0;
		h += 4 + 4u * rd16(b + h + 2);
	}
	return h <= len ? h : 0;
}

/* HMAC-SHA1 over p[0..n] || trail[0..tn] from the precomputed pads: a struct copy each. */
static void hmac(const struct srtp_keyset *k, const uint8_t *p, size_t n, const uint8_t *trail,
		 size_t tn, uint8_t out[20])
{
	SHA_CTX c = k->ipad;

	lib.SHA1_Update(&c, p, n);
	if (tn)
		lib.SHA1_Update(&c, trail, tn);
	lib.SHA1_Final(out, &c);
	c = k->opad;
	lib.SHA1_Update(&c, out, 20);
	lib.SHA1_Final(out, &c);
}

/* AES-CM (RFC 3711 §4.1.1): IV = salt * 2^16 XOR SSRC * 2^64 XOR index * 2^16. */
static bool ctr_crypt(const struct srtp_keyset *k, uint32_t ssrc, uint64_t index, uint8_t *p,
		      size_t n)
{
	uint8_t iv[16];
	int l;

	memcpy(iv, k->salt, 14);
	iv[14] = iv[15] = 0;
	iv[4] ^= (uint8_t)(ssrc >> 24);
	iv[5] ^= (uint8_t)(ssrc >> 16);
	iv[6] ^= (uint8_t)(ssrc >> 8);
	iv[7] ^= (uint8_t)ssrc;
	for (int i = 0; i < 6; i++)
		iv[8 + i] ^= (uint8_t)(index >> (40 - 8 * i));
	if (lib.EVP_EncryptInit_ex(k->c, NULL, NULL, NULL, iv) != 1)
		return false;
	return !n || lib.EVP_EncryptUpdate(k->c, p, &l, p, (int)n) == 1;
}

/* AES-GCM (RFC 7714 §8.1, §9.1): IV = (00 00 || SSRC || w || x) XOR salt, w and x the ROC and
 * SEQ for SRTP, 00 00 and the SRTCP index for SRTCP. aad: authenticated only; p[0..n]
 * en/decrypted in place; tag: written (outbound) or checked (inbound). */
static bool gcm_crypt(const struct srtp_keyset *k, bool enc, const uint8_t iv6[10],
		      const uint8_t *aad, size_t alen, const uint8_t *aad2, size_t alen2, uint8_t *p,
		      size_t n, uint8_t *tag)
{
	uint8_t iv[12];
	int l;

	iv[0] = k->salt[0];
	iv[1] = k->salt[1];
	for (int i = 0; i < 10; i++)
		iv[2 + i] = (uint8_t)(k->salt[2 + i] ^ iv6[i]);
	if (enc) {
		return lib.EVP_EncryptInit_ex(k->c, NULL, NULL, NULL, iv) == 1 &&
		       lib.EVP_EncryptUpdate(k->c, NULL, &l, aad, (int)alen) == 1 &&
		       (!alen2 || lib.EVP_EncryptUpdate(k->c, NULL, &l, aad2, (int)alen2) == 1) &&
		       (!n || lib.EVP_EncryptUpdate(k->c, p, &l, p, (int)n) == 1) &&
		       lib.EVP_EncryptFinal_ex(k->c, p + n, &l) == 1 &&
		       lib.EVP_CIPHER_CTX_ctrl(k->c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	}
	return lib.EVP_DecryptInit_ex(k->c, NULL, NULL, NULL, iv) == 1 &&
	       lib.EVP_DecryptUpdate(k->c, NULL, &l, aad, (int)alen) == 1 &&
	       (!alen2 || lib.EVP_DecryptUpdate(k->c, NULL, &l, aad2, (int)alen2) == 1) &&
	       (!n || lib.EVP_DecryptUpdate(k->c, p, &l, p, (int)n) == 1) &&
	       lib.EVP_CIPHER_CTX_ctrl(k->c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
	       lib.EVP_DecryptFinal_ex(k->c, p + n, &l) == 1;
}

int media_srtp_rtp_protect(struct media_srtp *s, uint8_t *buf, size_t *len)
{
	struct srtp_stream *t, *slot = NULL;
	size_t h = rtp_hdr_len(buf, *len), n;
	uint32_t ssrc;
	uint64_t idx;
	uint8_t roc[4];

	if (!h)
		return EINVAL;
	ssrc = rd32(buf + 8);
	t = stream_find(s, ssrc, &slot);
	if (!t) {
		t = slot;
		memset(t, 0, sizeof(*t));
		t->ssrc = ssrc;
	}
	if (!t->rtp) {
		t->rtp = true;
		t->top = rd16(buf + 2);
	}
	/* A sender's own index follows its sequence numbers the same way (RFC 3711 §3.3.1);
	 * a packet sent again (what a phone repeated, passed on) keeps its index. */
	idx = index_guess(t, rd16(buf + 2));
	if (idx > t->top)
		t->top = idx;
	if (idx >> 48)
		return EIO; /* 2^48 packets: the key is used up (RFC 3711 §9.2) */
	t->used = ++s->clock;
	n = *len - h;
	wr32(roc, (uint32_t)(idx >> 16));
	if (s->gcm) {
		uint8_t iv[10] = {buf[8], buf[9], buf[10], buf[11], roc[0], roc[1], roc[2], roc[3],
				  buf[2], buf[3]};
		if (!gcm_crypt(&s->rtp, true, iv, buf, h, NULL, 0, buf + h, n, buf + *len))
			return EIO;
	} else {
		uint8_t mac[20];
		if (!ctr_crypt(&s->rtp, ssrc, idx, buf + h, n))
			return EIO;
		hmac(&s->rtp, buf, *len, roc, 4, mac);
		memcpy(buf + *len, mac, s->tag);
	}
	*len += s->tag;
	return 0;
}

int media_srtp_rtp_unprotect(struct media_srtp *s, uint8_t *buf, size_t *len)
{
	struct srtp_stream *t, *slot = NULL, fresh;
	size_t h, n;
	uint32_t ssrc;
	uint64_t idx, back = 0;
	uint8_t roc[4];

	if (*len < s->tag + 12)
		return EBADMSG;
	n = *len - s->tag;
	h = rtp_hdr_len(buf, n);
	if (!h)
		return EBADMSG;
	ssrc = rd32(buf + 8);
	t = stream_find(s, ssrc, &slot);
	if (!t || !t->rtp) {
		/* A new stream starts at ROC 0 with this packet's index (RFC 3711 §3.3.1);
		 * nothing is kept until the packet authenticates. */
		memset(&fresh, 0, sizeof(fresh));
		if (t) {
			fresh = *t;
			memset(fresh.win, 0, sizeof(fresh.win));
		}
		fresh.ssrc = ssrc;
		fresh.top = rd16(buf + 2);
		idx = fresh.top;
	} else {
		idx = index_guess(t, rd16(buf + 2));
		if (idx <= t->top) {
			back = t->top - idx;
			if (win_seen(t->win, back))
				return EBADMSG; /* replayed, or older than the window */
		}
	}
	wr32(roc, (uint32_t)(idx >> 16));
	if (s->gcm) {
		uint8_t iv[10] = {buf[8], buf[9], buf[10], buf[11], roc[0], roc[1], roc[2], roc[3],
				  buf[2], buf[3]};
		if (n < h || !gcm_crypt(&s->rtp, false, iv, buf, h, NULL, 0, buf + h, n - h, buf + n))
			return EBADMSG;
	} else {
		uint8_t mac[20];
		hmac(&s->rtp, buf, n, roc, 4, mac);
		if (!tag_equal(mac, buf + n, s->tag))
			return EBADMSG;
		if (!ctr_crypt(&s->rtp, ssrc, idx, buf + h, n - h))
			return EBADMSG;
	}
	/* Authenticated: now it counts. */
	if (!t || !t->rtp) {
		if (!t)
			t = slot;
		*t = fresh;
		t->rtp = true;
		win_mark(t->win, 0);
	} else if (idx > t->top) {
		win_shift(t->win, idx - t->top);
		t->top = idx;
		win_mark(t->win, 0);
	} else {
		win_mark(t->win, back);
	}
	t->used = ++s->clock;
	*len = n;
	return 0;
}

int media_srtp_rtcp_protect(struct media_srtp *s, uint8_t *buf, size_t *len)
{
	uint8_t trail[4];
	size_t n = *len;

	if (n < 8)
		return EINVAL;
	if (s->rtcp_index >= SRTCP_MAX)
		return EIO; /* 2^31 packets: the key is used up */
	s->rtcp_index++;
	wr32(trail, s->rtcp_index | 0x80000000u); /* E: encrypted */
	if (s->gcm) {
		uint8_t iv[10] = {buf[4], buf[5], buf[6], buf[7], 0, 0,
				  trail[0] & 0x7f, trail[1], trail[2], trail[3]};
		if (!gcm_crypt(&s->rtcp, true, iv, buf, 8, trail, 4, buf + 8, n - 8, buf + n))
			return EIO;
		memcpy(buf + n + 16, trail, 4);
	} else {
		uint8_t mac[20];
		if (!ctr_crypt(&s->rtcp, rd32(buf + 4), s->rtcp_index, buf + 8, n - 8))
			return EIO;
		memcpy(buf + n, trail, 4);
		hmac(&s->rtcp, buf, n + 4, NULL, 0, mac);
		memcpy(buf + n + 4, mac, s->rtcp_tag);
	}
	*len = n + 4 + s->rtcp_tag;
	return 0;
}

int media_srtp_rtcp_unprotect(struct media_srtp *s, uint8_t *buf, size_t *len)
{
	struct srtp_stream *t, *slot = NULL;
	uint32_t ssrc, e_idx, idx;
	uint64_t back = 0;
	size_t n, ti;
	bool fresh;

	if (*len < 8 + 4 + s->rtcp_tag)
		return EBADMSG;
	/* SRTP layout (CM): packet || E|index || tag; GCM: packet || tag || E|index. */
	ti = s->gcm ? *len - 4 : *len - s->rtcp_tag - 4;
	n = *len - 4 - s->rtcp_tag;
	e_idx = rd32(buf + ti);
	idx = e_idx & SRTCP_MAX;
	ssrc = rd32(buf + 4);
	t = stream_find(s, ssrc, &slot);
	fresh = !t || !t->rtcp;
	if (!fresh && idx <= t->rtcp_top) {
		back = t->rtcp_top - idx;
		if (win_seen(t->rwin, back))
			return EBADMSG;
	}
	if (s->gcm) {
		uint8_t trail[4], tag[16];
		memcpy(trail, buf + ti, 4);
		memcpy(tag, buf + n, 16);
		uint8_t iv[10] = {buf[4], buf[5], buf[6], buf[7], 0, 0,
				  trail[0] & 0x7f, trail[1], trail[2], trail[3]};
		if (e_idx & 0x80000000u) {
			if (!gcm_crypt(&s->rtcp, false, iv, buf, 8, trail, 4, buf + 8, n - 8, tag))
				return EBADMSG;
		} else if (!gcm_crypt(&s->rtcp, false, iv, buf, n, trail, 4, NULL, 0, tag)) {
			return EBADMSG; /* RFC 7714 §9.2: not encrypted, all of it is AAD */
		}
	} else {
		uint8_t mac[20];
		hmac(&s->rtcp, buf, n + 4, NULL, 0, mac);
		if (!tag_equal(mac, buf + n + 4, s->rtcp_tag))
			return EBADMSG;
		if ((e_idx & 0x80000000u) && !ctr_crypt(&s->rtcp, ssrc, idx, buf + 8, n - 8))
			return EBADMSG;
	}
	if (!t) {
		t = slot;
		memset(t, 0, sizeof(*t));
		t->ssrc = ssrc;
	}
	if (fresh) {
		t->rtcp = true;
		t->rtcp_top = idx;
		memset(t->rwin, 0, sizeof(t->rwin));
		win_mark(t->rwin, 0);
	} else if (idx > t->rtcp_top) {
		win_shift(t->rwin, idx - t->rtcp_top);
		t->rtcp_top = idx;
		win_mark(t->rwin, 0);
	} else {
		win_mark(t->rwin, back);
	}
	t->used = ++s->clock;
	*len = n;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Legs.
 */

int media_srtp_available(void)
{
	return lib_load();
}

int media_leg_set_srtp(struct media_leg *leg, const struct media_srtp_keys *keys)
{
	struct media_srtp *rx = NULL, *tx = NULL, *old_rx, *old_tx;
	int err;

	if (!leg)
		return EINVAL;
	if (keys) {
		if (keys->key_len != sdp_suite_key_len((enum sdp_suite)keys->suite) ||
		    !keys->key_len)
			return EINVAL;
		err = media_srtp_create(&rx, (enum sdp_suite)keys->suite, keys->rx, true);
		if (!err)
			err = media_srtp_create(&tx, (enum sdp_suite)keys->suite, keys->tx, false);
		if (err) {
			mem_deref(rx);
			return err;
		}
	} else if (!leg->srtp_rx && !leg->srtp_tx) {
		return 0;
	}
	if (leg->m)
		pthread_mutex_lock(&leg->m->mu);
	old_rx = leg->srtp_rx;
	old_tx = leg->srtp_tx;
	leg->srtp_rx = rx;
	leg->srtp_tx = tx;
	leg->st.srtp = keys != NULL;
	if (leg->m)
		pthread_mutex_unlock(&leg->m->mu);
	mem_deref(old_rx);
	mem_deref(old_tx);
	return 0;
}

void media_srtp_free(struct media_leg *leg)
{
	leg->srtp_rx = mem_deref(leg->srtp_rx);
	leg->srtp_tx = mem_deref(leg->srtp_tx);
}

int media_srtp_unprotect(struct media_leg *leg, uint8_t *buf, size_t *len, bool rtcp)
{
	return rtcp ? media_srtp_rtcp_unprotect(leg->srtp_rx, buf, len)
		    : media_srtp_rtp_unprotect(leg->srtp_rx, buf, len);
}

int media_srtp_protect(struct media_leg *leg, uint8_t *buf, size_t *len, bool rtcp)
{
	int err = rtcp ? media_srtp_rtcp_protect(leg->srtp_tx, buf, len)
		       : media_srtp_rtp_protect(leg->srtp_tx, buf, len);
	return err ? EIO : 0;
}
