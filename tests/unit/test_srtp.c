/* Unit tests for src/media/srtp.c: our SRTP/SRTCP against the RFC 3711 Appendix B and RFC 7714
 * §16-17 vectors, and against libsrtp2 (the reference implementation, a test dependency only)
 * both ways for every suite: ROC rollover, reordering within the window, replays, bad tags,
 * SRTCP. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>
/* Allocations counted through libasan's hooks (GCC ships no header for them): the sanitizer
 * build, which is the one the tests run, proves nothing is allocated per packet. */
#if defined(__SANITIZE_ADDRESS__)
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
					      void (*f)(const volatile void *));
static volatile size_t n_malloc;
static void on_malloc(const volatile void *p, size_t n)
{
	n_malloc++;
}
static void on_free(const volatile void *p)
{
}
#define HOOKS_INSTALL() __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free)
#define MALLOCS()	n_malloc
#else
#define HOOKS_INSTALL() 0
#define MALLOCS()	((size_t)0)
#endif

#include "media_int.h"

static size_t unhex(uint8_t *out, const char *h)
{
	size_t n = 0;
	int hi = -1;

	for (; *h; h++) {
		int v;
		if (*h >= '0' && *h <= '9')
			v = *h - '0';
		else if (*h >= 'a' && *h <= 'f')
			v = *h - 'a' + 10;
		else if (*h >= 'A' && *h <= 'F')
			v = *h - 'A' + 10;
		else
			continue; /* spaces */
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

static void assert_hex(const uint8_t *got, const char *want)
{
	uint8_t w[256];
	size_t n = unhex(w, want);
	assert_memory_equal(got, w, n);
}

/* RFC 3711 B.3: key derivation. */
static void test_kdf_b3(void **state)
{
	uint8_t mk[16], ms[14], out[64];

	if (media_srtp_available())
		skip();
	unhex(mk, "E1F97A0D3E018BE0D64FA32C06DE4139");
	unhex(ms, "0EC675AD498AFEEBB6960B3AABE6");
	assert_int_equal(media_srtp_kdf(mk, 16, ms, 14, 0, out, 16), 0);
	assert_hex(out, "C61E7A93744F39EE10734AFE3FF7A087");
	assert_int_equal(media_srtp_kdf(mk, 16, ms, 14, 2, out, 14), 0);
	assert_hex(out, "30CBBC08863D8C85D49DB34A9AE1");
	assert_int_equal(media_srtp_kdf(mk, 16, ms, 14, 1, out, 64), 0);
	assert_hex(out, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE"
			"E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25");
	assert_int_equal(media_srtp_kdf(mk, 15, ms, 14, 1, out, 16), EINVAL);
}

/* RFC 3711 B.2: the AES-CM key stream, as the payload of an all-zero packet with SSRC 0, ROC 0,
 * SEQ 0 (the session keys set directly). */
static void test_keystream_b2(void **state)
{
	const size_t blocks = 0xff02;
	size_t len = 12 + 16 * blocks;
	uint8_t *b = calloc(1, len + MEDIA_SRTP_HEADROOM);
	uint8_t mk[30] = {0}, ek[16], salt[14], ak[20] = {0};
	struct media_srtp *s;

	if (media_srtp_available())
		skip();
	assert_non_null(b);
	b[0] = 0x80;
	assert_int_equal(media_srtp_create(&s, SDP_SUITE_AES_CM_128_HMAC_SHA1_80, mk, false), 0);
	unhex(ek, "2B7E151628AED2A6ABF7158809CF4F3C");
	unhex(salt, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
	assert_int_equal(media_srtp_set_session_keys(s, ek, 16, salt, ak), 0);
	assert_int_equal(media_srtp_rtp_protect(s, b, &len), 0);
	assert_int_equal(len, 12 + 16 * blocks + 10);
	assert_hex(b + 12 + 16 * 0x0000, "E03EAD0935C95E80E166B16DD92B4EB4");
	assert_hex(b + 12 + 16 * 0x0001, "D23513162B02D0F72A43A2FE4A5F97AB");
	assert_hex(b + 12 + 16 * 0x0002, "41E95B3BB0A2E8DD477901E4FCA894C0");
	assert_hex(b + 12 + 16 * 0xfeff, "EC8CDF7398607CB0F2D21675EA9EA1E4");
	assert_hex(b + 12 + 16 * 0xff00, "362B7C3C6773516318A077D7FC5073AE");
	assert_hex(b + 12 + 16 * 0xff01, "6A2CC3787889374FBEB4C81B17BA6C44");
	mem_deref(s);
	free(b);
}

/* RFC 7714 §16-17: AEAD_AES_128_GCM and AEAD_AES_256_GCM with the session keys given. */
static const char V_KEY[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char V_SALT[] = "517569642070726f2071756f";
static const char V_RTP[] = "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e6973206469"
			    "7669736120696e207061727465732074726573";
static const char V_RTCP[] = "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61"
			     "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
static const struct {
	enum sdp_suite suite;
	size_t klen;
	const char *srtp, *srtcp;
} gcm_vectors[] = {
    {SDP_SUITE_AEAD_AES_128_GCM, 16,
     "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b"
     "36de3adf8833899d7f27beb16a9152cf765ee4390cce",
     "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b46"
     "86303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4"},
    {SDP_SUITE_AEAD_AES_256_GCM, 32,
     "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f"
     "1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13",
     "81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415f658"
     "c61de0476f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4"},
};

static struct media_srtp *gcm_session(enum sdp_suite suite, size_t klen, bool inbound)
{
	uint8_t mk[44] = {0}, k[32], salt[12];
	struct media_srtp *s;

	assert_int_equal(media_srtp_create(&s, suite, mk, inbound), 0);
	unhex(k, V_KEY);
	unhex(salt, V_SALT);
	assert_int_equal(media_srtp_set_session_keys(s, k, klen, salt, NULL), 0);
	return s;
}

static void test_gcm_rfc7714(void **state)
{
	uint8_t b[256], want[256], plain[256];
	size_t len, wlen, plen;

	if (media_srtp_available())
		skip();
	for (size_t i = 0; i < sizeof(gcm_vectors) / sizeof(gcm_vectors[0]); i++) {
		struct media_srtp *tx = gcm_session(gcm_vectors[i].suite, gcm_vectors[i].klen, false);
		struct media_srtp *rx = gcm_session(gcm_vectors[i].suite, gcm_vectors[i].klen, true);

		/* §16.x.1 encryption, §16.x.2 decryption */
		len = unhex(b, V_RTP);
		plen = unhex(plain, V_RTP);
		wlen = unhex(want, gcm_vectors[i].srtp);
		assert_int_equal(media_srtp_rtp_protect(tx, b, &len), 0);
		assert_int_equal(len, wlen);
		assert_memory_equal(b, want, wlen);
		assert_int_equal(media_srtp_rtp_unprotect(rx, b, &len), 0);
		assert_int_equal(len, plen);
		assert_memory_equal(b, plain, plen);
		/* the same again: a replay */
		len = unhex(b, gcm_vectors[i].srtp);
		assert_int_equal(media_srtp_rtp_unprotect(rx, b, &len), EBADMSG);

		/* §17.1/17.2: SRTCP index 0x5d4 (ours counts from 1) */
		plen = unhex(plain, V_RTCP);
		for (uint32_t n = 1; n < 0x5d4; n++) {
			len = unhex(b, V_RTCP);
			assert_int_equal(media_srtp_rtcp_protect(tx, b, &len), 0);
		}
		len = unhex(b, V_RTCP);
		wlen = unhex(want, gcm_vectors[i].srtcp);
		assert_int_equal(media_srtp_rtcp_protect(tx, b, &len), 0);
		assert_int_equal(len, wlen);
		assert_memory_equal(b, want, wlen);
		assert_int_equal(media_srtp_rtcp_unprotect(rx, b, &len), 0);
		assert_int_equal(len, plen);
		assert_memory_equal(b, plain, plen);
		len = unhex(b, gcm_vectors[i].srtcp);
		assert_int_equal(media_srtp_rtcp_unprotect(rx, b, &len), EBADMSG); /* replay */
		mem_deref(tx);
		mem_deref(rx);
	}

	/* §17.3: authenticated, not encrypted (E = 0) */
	struct media_srtp *rx = gcm_session(SDP_SUITE_AEAD_AES_128_GCM, 16, true);
	len = unhex(b, "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeef"
		       "deadbeefdeadbeefdeadbeefdeadbeef841dd9683dd78ec92ae58790125f62b3000005d4");
	assert_int_equal(media_srtp_rtcp_unprotect(rx, b, &len), 0);
	assert_int_equal(len, plen);
	assert_memory_equal(b, plain, plen);
	mem_deref(rx);
}

/* ---------------------------------------------------------------------------------------------
 * Against libsrtp2.
 */

static const enum sdp_suite suites[] = {
    SDP_SUITE_AES_CM_128_HMAC_SHA1_80,
    SDP_SUITE_AES_CM_128_HMAC_SHA1_32,
    SDP_SUITE_AEAD_AES_128_GCM,
    SDP_SUITE_AEAD_AES_256_GCM,
};

static srtp_t lib_session(enum sdp_suite suite, uint8_t *key, bool inbound)
{
	srtp_policy_t p;
	srtp_t s;

	memset(&p, 0, sizeof(p));
	switch (suite) {
	case SDP_SUITE_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_rtp_default(&p.rtp);
		srtp_crypto_policy_set_rtp_default(&p.rtcp);
		break;
	case SDP_SUITE_AES_CM_128_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
		srtp_crypto_policy_set_rtp_default(&p.rtcp);
		break;
	case SDP_SUITE_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
		break;
	default:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtcp);
		break;
	}
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = key;
	p.window_size = 128;
	assert_int_equal(srtp_create(&s, &p), srtp_err_status_ok);
	return s;
}

static size_t mkrtp(uint8_t *b, uint16_t seq, uint32_t ssrc, bool ext, size_t plen)
{
	size_t h = 12;

	b[0] = ext ? 0x91 : 0x80; /* with one CSRC and a header extension, or none */
	b[1] = 0;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	memset(b + 4, 0x12, 4);
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	if (ext) {
		memset(b + 12, 0x77, 4); /* CSRC */
		memcpy(b + 16, "\xbe\xde\x00\x01\x10\xaa\x00\x00", 8);
		h = 24;
	}
	for (size_t i = 0; i < plen; i++)
		b[h + i] = (uint8_t)(seq + i);
	return h + plen;
}

static size_t mkrtcp(uint8_t *b, uint32_t ssrc, uint8_t fill)
{
	memcpy(b, "\x81\xc9\x00\x07", 4);
	b[4] = (uint8_t)(ssrc >> 24);
	b[5] = (uint8_t)(ssrc >> 16);
	b[6] = (uint8_t)(ssrc >> 8);
	b[7] = (uint8_t)ssrc;
	memset(b + 8, fill, 24);
	return 32;
}

static void keys_for(enum sdp_suite suite, uint8_t *k, uint8_t seed)
{
	for (size_t i = 0; i < sdp_suite_key_len(suite); i++)
		k[i] = (uint8_t)(seed + 7 * i);
}

/* Ours protects, libsrtp2 unprotects: across the ROC rollover, with a header extension, and
 * SRTCP. */
static void test_ours_to_libsrtp(void **state)
{
	uint8_t k[SDP_KEY_MAX], b[512], p[512];

	if (media_srtp_available())
		skip();
	for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
		struct media_srtp *tx;
		keys_for(suites[si], k, (uint8_t)(si + 1));
		assert_int_equal(media_srtp_create(&tx, suites[si], k, false), 0);
		srtp_t rx = lib_session(suites[si], k, true);

		for (uint32_t i = 0; i < 40; i++) {
			uint16_t seq = (uint16_t)(65515 + i); /* wraps after 20 packets */
			size_t n = mkrtp(p, seq, 0xcafe0001, i % 3 == 1, 160), len = n;
			memcpy(b, p, n);
			assert_int_equal(media_srtp_rtp_protect(tx, b, &len), 0);
			int l = (int)len;
			assert_int_equal(srtp_unprotect(rx, b, &l), srtp_err_status_ok);
			assert_int_equal(l, (int)n);
			assert_memory_equal(b, p, n);
		}
		for (uint8_t i = 0; i < 5; i++) {
			size_t n = mkrtcp(p, 0xcafe0001, i), len = n;
			memcpy(b, p, n);
			assert_int_equal(media_srtp_rtcp_protect(tx, b, &len), 0);
			int l = (int)len;
			assert_int_equal(srtp_unprotect_rtcp(rx, b, &l), srtp_err_status_ok);
			assert_int_equal(l, (int)n);
			assert_memory_equal(b, p, n);
		}
		mem_deref(tx);
		srtp_dealloc(rx);
	}
}

/* libsrtp2 protects, ours unprotects: rollover, reordering within the window, a packet from
 * before the rollover arriving after it, replays, bad tags, too old, SRTCP. */
static void test_libsrtp_to_ours(void **state)
{
	enum { N = 300 };
	static uint8_t wire[N][256];
	static size_t wlen[N];
	uint8_t k[SDP_KEY_MAX], b[512], p[512];

	if (media_srtp_available())
		skip();
	for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
		struct media_srtp *rx;
		keys_for(suites[si], k, (uint8_t)(0x40 + si));
		srtp_t tx = lib_session(suites[si], k, false);
		assert_int_equal(media_srtp_create(&rx, suites[si], k, true), 0);

		/* packet i has seq 65500 + i: the ROC goes to 1 at i = 36 */
		for (int i = 0; i < N; i++) {
			size_t n = mkrtp(wire[i], (uint16_t)(65500 + i), 0xbeef0002, i % 5 == 2, 160);
			int l = (int)n;
			assert_int_equal(srtp_protect(tx, wire[i], &l), srtp_err_status_ok);
			wlen[i] = (size_t)l;
		}
#define DELIVER(i, want)                                                                           \
	do {                                                                                       \
		size_t len_ = wlen[i];                                                             \
		memcpy(b, wire[i], len_);                                                          \
		assert_int_equal(media_srtp_rtp_unprotect(rx, b, &len_), want);                    \
		if (!(want)) {                                                                     \
			size_t n_ = mkrtp(p, (uint16_t)(65500 + (i)), 0xbeef0002, (i) % 5 == 2, 160); \
			assert_int_equal(len_, n_);                                                \
			assert_memory_equal(b, p, n_);                                             \
		}                                                                                  \
	} while (0)
		for (int i = 0; i < 30; i++)
			DELIVER(i, 0);
		/* reordered around the rollover: 31 30 33 32 ... up to 44 */
		for (int i = 30; i < 44; i += 2) {
			if (i + 1 != 35) /* seq 65535 is late: below */
				DELIVER(i + 1, 0);
			DELIVER(i, 0);
		}
		DELIVER(44, 0);
		DELIVER(34, EBADMSG); /* replayed */
		DELIVER(0, EBADMSG);
		/* seq 65535 (ROC 0) shows up after the rollover is well past: ROC - 1 */
		for (int i = 45; i < 100; i++)
			DELIVER(i, 0);
		DELIVER(35, 0);
		DELIVER(35, EBADMSG);
		DELIVER(30, EBADMSG); /* 69 behind: remembered across the window's two words */
		/* a jump forward of 150 (packets lost), then one 130 behind: out of the window */
		DELIVER(250, 0);
		DELIVER(120, EBADMSG);
		DELIVER(200, 0); /* 50 behind: within it */
		DELIVER(200, EBADMSG);
		/* a flipped bit anywhere: refused, and the packet still counts as unseen */
		for (size_t off = 0; off < wlen[251]; off += 7) {
			size_t len = wlen[251];
			memcpy(b, wire[251], len);
			b[off] ^= 0x04;
			assert_int_equal(media_srtp_rtp_unprotect(rx, b, &len), EBADMSG);
		}
		DELIVER(251, 0);
		/* truncated, or no tag at all */
		for (size_t len = 0; len < wlen[252]; len += 3) {
			size_t l2 = len;
			memcpy(b, wire[252], len);
			assert_int_equal(media_srtp_rtp_unprotect(rx, b, &l2), EBADMSG);
		}
		DELIVER(252, 0);

		/* SRTCP: in order, a replay, reordered, a bad tag */
		static uint8_t rw[6][128];
		size_t rl[6];
		for (int i = 0; i < 6; i++) {
			int l = (int)mkrtcp(rw[i], 0xbeef0002, (uint8_t)i);
			assert_int_equal(srtp_protect_rtcp(tx, rw[i], &l), srtp_err_status_ok);
			rl[i] = (size_t)l;
		}
		static const int order[] = {0, 1, 3, 2, 5, 4};
		for (int j = 0; j < 6; j++) {
			int i = order[j];
			size_t len = rl[i];
			memcpy(b, rw[i], len);
			assert_int_equal(media_srtp_rtcp_unprotect(rx, b, &len), 0);
			assert_int_equal(len, mkrtcp(p, 0xbeef0002, (uint8_t)i));
			assert_memory_equal(b, p, len);
		}
		size_t len = rl[3];
		memcpy(b, rw[3], len);
		assert_int_equal(media_srtp_rtcp_unprotect(rx, b, &len), EBADMSG);
		len = rl[5];
		memcpy(b, rw[5], len);
		b[10] ^= 1;
		assert_int_equal(media_srtp_rtcp_unprotect(rx, b, &len), EBADMSG);
		len = 11;
		assert_int_equal(media_srtp_rtcp_unprotect(rx, b, &len), EBADMSG);

		/* a second SSRC is a stream of its own */
		size_t n = mkrtp(b, 7, 0x0badf00d, false, 20);
		int l = (int)n;
		assert_int_equal(srtp_protect(tx, b, &l), srtp_err_status_ok);
		len = (size_t)l;
		assert_int_equal(media_srtp_rtp_unprotect(rx, b, &len), 0);
		assert_int_equal(len, n);
		DELIVER(253, 0);
		mem_deref(rx);
		srtp_dealloc(tx);
	}
#undef DELIVER
}

/* Garbage never crashes and never authenticates; nothing is allocated per packet, good or bad
 * (sanitizer build: every malloc counted, libcrypto's included). */
static void test_garbage(void **state)
{
	uint8_t k[SDP_KEY_MAX] = {1}, b[300];
	uint32_t x = 12345;

	if (media_srtp_available())
		skip();
	for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
		struct media_srtp *rx, *tx;
		assert_int_equal(media_srtp_create(&rx, suites[si], k, true), 0);
		assert_int_equal(media_srtp_create(&tx, suites[si], k, false), 0);
		size_t mallocs = MALLOCS();
		/* good packets, both ways, across a rollover */
		for (int i = 0; i < 70000; i += 7) {
			size_t len = mkrtp(b, (uint16_t)i, 0x1234, false, 160);
			assert_int_equal(media_srtp_rtp_protect(tx, b, &len), 0);
			assert_int_equal(media_srtp_rtp_unprotect(rx, b, &len), 0);
		}
		for (int i = 0; i < 2000; i++) {
			size_t len = (size_t)(i % 200);
			for (size_t j = 0; j < len; j++) {
				x = x * 1103515245u + 12345u;
				b[j] = (uint8_t)(x >> 16);
			}
			if (len && i % 2)
				b[0] = (uint8_t)(0x80 | (b[0] & 0x3f)); /* looks like RTP */
			size_t l = len;
			assert_int_equal(media_srtp_rtp_unprotect(rx, b, &l), EBADMSG);
			l = len;
			assert_int_equal(media_srtp_rtcp_unprotect(rx, b, &l), EBADMSG);
		}
		assert_int_equal(MALLOCS(), mallocs);
		mem_deref(rx);
		mem_deref(tx);
	}
	struct media_srtp *s;
	assert_int_equal(media_srtp_create(&s, SDP_SUITE_NONE, k, true), ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kdf_b3),	     cmocka_unit_test(test_keystream_b2),
	    cmocka_unit_test(test_gcm_rfc7714),	     cmocka_unit_test(test_ours_to_libsrtp),
	    cmocka_unit_test(test_libsrtp_to_ours), cmocka_unit_test(test_garbage),
	};
	int r;

	srtp_init();
	(void)HOOKS_INSTALL();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	srtp_shutdown();
	return r;
}
