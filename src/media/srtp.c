/* media srtp: SRTP and SRTCP (RFC 3711, RFC 7714) on one relay leg with libsrtp2: an inbound
 * session checks and decrypts what the leg's peer sends, an outbound one encrypts what goes to
 * it, both in place in the relay's buffers (which keep MEDIA_SRTP_HEADROOM bytes free for the
 * tag). libsrtp2 is dlopened on the first SRTP leg: Debian builds it on NSS, whose libraries an
 * idle daemon (or one without encrypted peers) then never maps. Sessions are made on the loop
 * thread and swapped in under the engine lock; the relay thread uses them under that lock. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "media_int.h"

#define LOG_MODULE "media"

#define SRTP_LIB_FUNCS                                                                             \
	X(srtp_init)                                                                               \
	X(srtp_create)                                                                             \
	X(srtp_dealloc)                                                                            \
	X(srtp_protect)                                                                            \
	X(srtp_unprotect)                                                                          \
	X(srtp_protect_rtcp)                                                                       \
	X(srtp_unprotect_rtcp)                                                                     \
	X(srtp_crypto_policy_set_rtp_default)                                                      \
	X(srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32)                                          \
	X(srtp_crypto_policy_set_aes_gcm_128_16_auth)                                              \
	X(srtp_crypto_policy_set_aes_gcm_256_16_auth)

static struct {
#define X(f) __typeof__(f) *f;
	SRTP_LIB_FUNCS
#undef X
} lib;

static pthread_mutex_t lib_mu = PTHREAD_MUTEX_INITIALIZER;
static int lib_state; /* 0 not tried, 1 loaded, -1 failed (not retried) */

/* The handle stays open for the life of the process: sessions may outlive any one engine. */
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
	h = dlopen("libsrtp2.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		log_error("SRTP: cannot load libsrtp2 (Debian package libsrtp2-1): %s", dlerror());
		goto out;
	}
#define X(f)                                                                                       \
	lib.f = (__typeof__(f) *)dlsym(h, #f);                                                     \
	if (!lib.f) {                                                                              \
		log_error("SRTP: libsrtp2 has no %s", #f);                                         \
		goto out;                                                                          \
	}
	SRTP_LIB_FUNCS
#undef X
	if (lib.srtp_init() != srtp_err_status_ok) {
		log_error("SRTP: srtp_init failed");
		goto out;
	}
	lib_state = 1;
	ret = 0;
out:
	pthread_mutex_unlock(&lib_mu);
	return ret;
}

static int policy_set(srtp_policy_t *p, enum sdp_suite suite)
{
	switch (suite) {
	case SDP_SUITE_AES_CM_128_HMAC_SHA1_80:
		lib.srtp_crypto_policy_set_rtp_default(&p->rtp);
		lib.srtp_crypto_policy_set_rtp_default(&p->rtcp);
		return 0;
	case SDP_SUITE_AES_CM_128_HMAC_SHA1_32:
		/* RFC 4568 §6.2.2: SRTCP keeps the 80-bit tag with the _32 suite. */
		lib.srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		lib.srtp_crypto_policy_set_rtp_default(&p->rtcp);
		return 0;
	case SDP_SUITE_AEAD_AES_128_GCM:
		lib.srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		lib.srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
		return 0;
	case SDP_SUITE_AEAD_AES_256_GCM:
		lib.srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		lib.srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
		return 0;
	default:
		return ENOTSUP;
	}
}

static int session_new(srtp_t *out, enum sdp_suite suite, const uint8_t *key, bool inbound)
{
	srtp_policy_t p;
	uint8_t k[SDP_KEY_MAX];
	int err;

	memset(&p, 0, sizeof(p));
	err = policy_set(&p, suite);
	if (err)
		return err;
	memcpy(k, key, sdp_suite_key_len(suite));
	p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	p.key = k;
	p.window_size = 128;
	/* The relay passes on what the phone sends: a phone's own duplicate must not fail. */
	p.allow_repeat_tx = 1;
	err = lib.srtp_create(out, &p) == srtp_err_status_ok ? 0 : EINVAL;
	memset(k, 0, sizeof(k));
	return err;
}

int media_srtp_available(void)
{
	return lib_load();
}

int media_leg_set_srtp(struct media_leg *leg, const struct media_srtp_keys *keys)
{
	srtp_t rx = NULL, tx = NULL, old_rx, old_tx;
	int err;

	if (!leg)
		return EINVAL;
	if (keys) {
		if (keys->key_len != sdp_suite_key_len((enum sdp_suite)keys->suite) ||
		    !keys->key_len)
			return EINVAL;
		err = lib_load();
		if (err)
			return err;
		err = session_new(&rx, (enum sdp_suite)keys->suite, keys->rx, true);
		if (!err)
			err = session_new(&tx, (enum sdp_suite)keys->suite, keys->tx, false);
		if (err) {
			if (rx)
				lib.srtp_dealloc(rx);
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
	if (old_rx)
		lib.srtp_dealloc(old_rx);
	if (old_tx)
		lib.srtp_dealloc(old_tx);
	return 0;
}

void media_srtp_free(struct media_leg *leg)
{
	if (leg->srtp_rx)
		lib.srtp_dealloc(leg->srtp_rx);
	if (leg->srtp_tx)
		lib.srtp_dealloc(leg->srtp_tx);
	leg->srtp_rx = leg->srtp_tx = NULL;
}

int media_srtp_unprotect(struct media_leg *leg, uint8_t *buf, size_t *len, bool rtcp)
{
	int l = (int)*len;
	srtp_err_status_t st;

	if (*len < 12)
		return EBADMSG;
	st = rtcp ? lib.srtp_unprotect_rtcp(leg->srtp_rx, buf, &l)
		  : lib.srtp_unprotect(leg->srtp_rx, buf, &l);
	if (st != srtp_err_status_ok || l <= 0)
		return EBADMSG; /* bad tag, replayed, too short */
	*len = (size_t)l;
	return 0;
}

int media_srtp_protect(struct media_leg *leg, uint8_t *buf, size_t *len, bool rtcp)
{
	int l = (int)*len;
	srtp_err_status_t st;

	st = rtcp ? lib.srtp_protect_rtcp(leg->srtp_tx, buf, &l)
		  : lib.srtp_protect(leg->srtp_tx, buf, &l);
	if (st != srtp_err_status_ok)
		return EIO;
	*len = (size_t)l;
	return 0;
}
