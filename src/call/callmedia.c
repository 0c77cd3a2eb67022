/* callmedia: the call engine's media side: one relay leg per call leg bound to the address that
 * faces that peer, per-leg offer/answer (each peer sees only our address and its own codecs),
 * bridging, RTP timeouts and statistics. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_int.h"
#include "cfg.h"
#include "peer.h"

#define LOG_MODULE "call"

static const struct sipcfg_general *general_of(const struct call_leg *leg)
{
	const struct cfg *cfg = leg->call ? leg->call->cfg : leg->eng->cfg;

	return cfg ? sipcfg_general(cfg->peers) : NULL;
}

/* SDES suites in the order we offer and prefer them: AES_CM_128_HMAC_SHA1_80 first (every phone
 * has it), the GCM suites last (few phones have them). */
static const enum sdp_suite srtp_suites[SDP_SUITE_COUNT - 1] = {
    SDP_SUITE_AES_CM_128_HMAC_SHA1_80, SDP_SUITE_AES_CM_128_HMAC_SHA1_32,
    SDP_SUITE_AEAD_AES_256_GCM, SDP_SUITE_AEAD_AES_128_GCM};

/* SRTP for the leg (docs/MEDIA.md, SRTP): keys are only ever sent over TLS. A peer with
 * encryption=yes must use it (MAND); otherwise a caller over TLS gets SRTP when it offers it
 * (OPT), and everything else stays plain RTP (OFF: an RTP/SAVP offer is refused). Returns
 * ENOTSUP when the leg must be encrypted and cannot be (no TLS, no libcrypto). */
static int leg_srtp_policy(struct call_leg *leg, const struct peer *src, bool caller)
{
	bool secure = leg->tp == SIP_TP_TLS && !leg->is_line;
	bool want = src && src->encryption && !leg->is_line;

	leg->pol.srtp = SDP_SRTP_OFF;
	if (!want && !(caller && secure))
		return 0;
	if (!secure) {
		log_notice("%s: encryption=yes but the leg is %s, not TLS: no SDES keys sent",
			   leg->name, sip_transport_name(leg->tp ? leg->tp : SIP_TP_UDP));
		return ENOTSUP;
	}
	/* libcrypto is loaded here only for a leg that must be encrypted (refused at once when it
	 * cannot be); a TLS caller that may offer SRTP loads it when it does (leg_srtp_apply). */
	if (want && media_srtp_available())
		return ENOTSUP;
	if (!leg->srtp_keys[0].suite) {
		for (unsigned i = 0; i < ARRAY_SIZE(srtp_suites); i++)
			if (sdp_crypto_new(&leg->srtp_keys[i], srtp_suites[i], i + 1))
				return ENOTSUP;
	}
	leg->pol.keys = leg->srtp_keys;
	leg->pol.nkeys = ARRAY_SIZE(srtp_suites);
	leg->pol.srtp = want ? SDP_SRTP_MAND : SDP_SRTP_OPT;
	return 0;
}

/* Keys the relay leg from the negotiated SDP: SRTP when agreed, plain otherwise (refused on a
 * leg that must be encrypted). */
static int leg_srtp_apply(struct call_leg *leg, const struct sdp_neg *neg)
{
	struct media_srtp_keys k;
	int err;

	if (!neg->srtp) {
		if (leg->pol.srtp == SDP_SRTP_MAND)
			return ENOTSUP;
		return media_leg_set_srtp(leg->ml, NULL);
	}
	memset(&k, 0, sizeof(k));
	k.suite = neg->tx.suite;
	k.key_len = neg->tx.key_len;
	memcpy(k.tx, neg->tx.key, sizeof(k.tx));
	memcpy(k.rx, neg->rx.key, sizeof(k.rx));
	err = neg->rx.suite == neg->tx.suite ? media_leg_set_srtp(leg->ml, &k) : EPROTO;
	memset(&k, 0, sizeof(k));
	if (err)
		log_notice("%s: SRTP (%s) not set up: %s", leg->name,
			   sdp_suite_name((enum sdp_suite)neg->tx.suite), strerror(err));
	else
		log_info("%s: SRTP %s", leg->name, sdp_suite_name((enum sdp_suite)neg->tx.suite));
	return err;
}

/* Sets the relay leg from a negotiation and keeps it as the leg's. */
static int leg_set_neg(struct call_leg *leg, const struct sdp_neg *neg)
{
	int err = media_leg_set_sdp(leg->ml, neg, leg->dtmf, leg->rflags);

	if (!err)
		err = leg_srtp_apply(leg, neg);
	if (!err)
		leg->neg = *neg;
	return err;
}

/* The leg's policy from its peer (NULL: the [general] defaults). Toward and from the carrier
 * (NGN-NOTES §2.4-2.7): PCMU only, ptime 20, one codec; telephone-event unless dtmfmode=inband. */
static int leg_policy(struct call_leg *leg, const struct peer *p, bool caller)
{
	const struct sipcfg_general *g = general_of(leg);
	const struct peer *src = p ? p : (g ? g->defaults : NULL);

	memset(&leg->pol, 0, sizeof(leg->pol));
	leg->dtmf = src ? (enum media_dtmf)src->dtmfmode : MEDIA_DTMF_RFC4733;
	leg->rflags = src && (src->nat & PEER_NAT_COMEDIA) ? MEDIA_REMOTE_COMEDIA : 0;
	if (leg->is_line) {
		leg->pol.codecs[0] = SDP_CODEC_PCMU;
		leg->pol.ncodecs = 1;
		leg->pol.single_codec = true;
		leg->pol.ptime = 20;
	} else if (src && src->ncodecs) {
		for (uint8_t i = 0; i < src->ncodecs && i < SDP_CODEC_COUNT; i++)
			leg->pol.codecs[leg->pol.ncodecs++] = src->codecs[i];
	} else {
		leg->pol.codecs[0] = SDP_CODEC_PCMU;
		leg->pol.codecs[1] = SDP_CODEC_PCMA;
		leg->pol.ncodecs = 2;
	}
	leg->pol.telephone_event = leg->dtmf == MEDIA_DTMF_RFC4733 || leg->dtmf == MEDIA_DTMF_AUTO;
	return leg_srtp_policy(leg, src, caller);
}

static void media_ev_h(struct media_leg *ml, const struct media_event *ev, void *arg)
{
	struct call_leg *leg = arg;
	char a[SA_STRLEN];

	(void)ml;
	switch (ev->type) {
	case MEDIA_EV_TIMEOUT:
		log_notice("%s: no RTP from the peer for too long: ending the call", leg->name);
		if (leg->call)
			call_hangup(leg->call, 16); /* may free leg and ml */
		break;
	case MEDIA_EV_DTMF:
		log_info("%s: DTMF '%c' (%s)", leg->name, ev->digit,
			 ev->inband ? "in-band" : "RFC 4733");
		/* The caller's digits go to the dialplan while no callee is bridged. */
		if (leg->call && leg == leg->call->a && !leg->call->b &&
		    leg->call->state == CALL_ROUTING && !call_vm_digit(leg->call, ev->digit))
			call_lm_digit(leg->call, ev->digit); /* may end the call */
		break;
	case MEDIA_EV_LATCHED:
		log_debug("%s: media from %s", leg->name, sa_fmt(&ev->addr, a, sizeof(a)));
		break;
	case MEDIA_EV_PLAY_DONE:
	case MEDIA_EV_SILENCE:
	case MEDIA_EV_REC_ERROR:
		if (ev->type == MEDIA_EV_REC_ERROR)
			log_warn("%s: writing a recording failed (disk full?)", leg->name);
		if (leg->call && leg->call->state != CALL_ENDING &&
		    !call_announce_event(leg->call, leg, ev) && /* screening's messages */
		    !call_vm_event(leg->call, leg, ev))	    /* voicemail's prompts */
			call_lm_event(leg->call, leg, ev); /* may end the call */
		break;
	}
}

static int leg_ml_alloc(struct call_leg *leg, const struct sa *local)
{
	const struct sipcfg_general *g = general_of(leg);
	int err;

	err = media_leg_alloc(&leg->ml, leg->eng->media, local, g ? g->tos_audio : -1, media_ev_h,
			      leg);
	if (err) {
		char a[SA_STRLEN];

		log_warn("%s: no media port on %s: %s", leg->name, sa_ntop(local, a, sizeof(a)),
			 strerror(err));
		return err;
	}
	sdp_origin_init(&leg->origin);
	return 0;
}

static void leg_sdp_local(const struct call_leg *leg, struct sdp_local *loc)
{
	memset(loc, 0, sizeof(*loc));
	media_leg_local(leg->ml, &loc->addr);
	if (leg->nat) {
		/* Outside the NAT: externaddr with the relay's own port (the router forwards the
		 * rtp.conf range to us unchanged). */
		struct sa adv;
		uint16_t port = sa_port(&loc->addr);

		call_leg_adv(leg, &adv);
		loc->addr = adv;
		sa_set_port(&loc->addr, port);
	}
	loc->dir = SDP_SENDRECV;
	loc->origin = (struct sdp_origin *)&leg->origin;
}

/* The leg's offer, made on first use (calloc'ed, freed with the leg): only a leg we send an offer
 * to needs one. */
static struct sdp_desc *leg_desc(struct call_leg *leg)
{
	if (!leg->desc)
		leg->desc = mem_zmalloc(sizeof(*leg->desc));
	return leg->desc;
}

/* Our offer to apply an answer to: a leg that never made one compares with an empty one (the
 * answer's m-lines cannot match it), as the zeroed one it held before. */
static const struct sdp_desc *leg_our_offer(const struct call_leg *leg)
{
	static const struct sdp_desc none;

	return leg->desc ? leg->desc : &none;
}

static int build_str(const struct sdp_desc *d, char **out)
{
	struct mbuf mb;
	int err;

	/* Built straight into the string handed out (a body is 200-400 bytes): no copy. */
	mbuf_init(&mb);
	err = mbuf_reserve(&mb, 512);
	if (!err)
		err = sdp_build(&mb, d);
	if (!err)
		err = mbuf_write(&mb, "", 1);
	if (err) {
		mbuf_reset(&mb);
		return err;
	}
	*out = (char *)mb.buf; /* malloc'd: the caller frees it */
	return 0;
}

void call_media_offer_drop(struct call_leg *leg)
{
	leg->offer = mem_deref(leg->offer);
	leg->offer_ncodecs = 0;
}

void call_leg_set_sdp_remote(struct call_leg *leg, char *sdp)
{
	call_media_offer_drop(leg);
	free(leg->sdp_remote);
	leg->sdp_remote = sdp;
}

/* leg->sdp_remote parsed: the kept copy, else parsed now into *tmp (and kept when keep is
 * set). NULL when there is none or it is unreadable. */
static const struct sdp_session *leg_offer(struct call_leg *leg, struct sdp_session *tmp, bool keep)
{
	struct pl body;

	if (leg->offer)
		return leg->offer;
	if (!leg->sdp_remote)
		return NULL;
	body = pl_from_str(leg->sdp_remote);
	if (sdp_parse(tmp, &body))
		return NULL;
	leg->offer_ncodecs = (uint8_t)sdp_codecs(tmp, leg->offer_codecs, SDP_CODEC_COUNT);
	if (keep) {
		/* Only the m-lines the body has: about 2 KB for one, not the 15 KB of the whole
		 * structure. Every pl still points into sdp_remote. */
		size_t size =
		    offsetof(struct sdp_session, media) + tmp->nmedia * sizeof(struct sdp_media);

		leg->offer = mem_alloc(size, NULL);
		if (leg->offer)
			memcpy(leg->offer, tmp, size);
	}
	return tmp;
}

uint16_t call_media_caller(struct call_leg *a, const struct sip_msg *inv, const struct peer *p)
{
	struct sdp_session s;
	const struct sdp_session *os;
	struct sdp_neg neg;
	struct sdp_desc d;
	struct sdp_local loc = {.addr = a->local, .dir = SDP_SENDRECV, .origin = &a->origin};
	int err;

	if (!a->eng->media)
		return 0;
	if (!inv->body.l) {
		/* A late offer (RFC 3261 §13.2.1): our 2xx will carry the offer, the ACK the
		 * answer; the relay leg is taken now so the callee's offer can name it. */
		if (leg_policy(a, p, true))
			return 488;
		return leg_ml_alloc(a, &a->local) ? 503 : 0;
	}
	if (leg_policy(a, p, true))
		return 488;
	/* a->sdp_remote is the INVITE's body: parsed once, kept for the callee's offer and the
	 * answer (leg_offer). */
	call_media_offer_drop(a);
	if (!a->sdp_remote || !pl_eq_str(&inv->body, a->sdp_remote) ||
	    !(os = leg_offer(a, &s, true))) {
		log_notice("%s: unreadable SDP offer", a->name);
		return 488;
	}
	/* Refused before anything rings when no codec of the caller's could ever be used. */
	if (sdp_answer(&neg, &d, os, &a->pol, &loc)) {
		log_notice("%s: no acceptable audio stream in the offer%s", a->name,
			   a->pol.srtp == SDP_SRTP_MAND ? " (encryption=yes: SDES keys required)"
			   : a->pol.srtp == SDP_SRTP_OFF ? " (RTP/SAVP is answered only over TLS)"
							 : "");
		memset(&neg, 0, sizeof(neg));
		memset(&d, 0, sizeof(d));
		return 488;
	}
	memset(&neg, 0, sizeof(neg));
	memset(&d, 0, sizeof(d));
	err = leg_ml_alloc(a, &a->local);
	if (err)
		return 503;
	return 0;
}

int call_media_callee_offer(struct call_leg *b, struct call_leg *a, const struct peer *p,
			    const struct sa *local, char **sdp)
{
	struct sdp_session s;
	struct sdp_local loc;
	uint8_t have[SDP_CODEC_COUNT];
	unsigned n;
	int err;

	if (!b->eng->media || !a || !a->ml)
		return ENOENT;
	if (leg_policy(b, p, false))
		return ENOTSUP;
	if (a->sdp_remote) {
		if (!a->offer && !leg_offer(a, &s, false))
			return ENOTSUP;
		n = a->offer_ncodecs;
		memcpy(have, a->offer_codecs, n);
	} else {
		/* Late offer: what the caller's peer settings allow stands in for its offer. */
		n = 0;
		for (uint8_t i = 0; i < a->pol.ncodecs && n < ARRAY_SIZE(have); i++)
			have[n++] = a->pol.codecs[i];
	}
	sdp_policy_restrict(&b->pol, have, n);
	if (!b->pol.ncodecs) {
		log_notice("%s: no codec of the caller's offer is allowed toward %s", b->name,
			   b->peer);
		return ENOTSUP;
	}
	err = leg_ml_alloc(b, local);
	if (err)
		return err;
	leg_sdp_local(b, &loc);
	err = leg_desc(b) ? sdp_offer(b->desc, &b->pol, &loc) : ENOMEM;
	if (!err)
		err = build_str(b->desc, sdp);
	if (err)
		call_media_leg_free(b);
	return err;
}

/* Answers the caller's stored offer with policy pol: sets a's relay side, the body into *sdp. */
static int answer_a(struct call_leg *a, const struct sdp_policy *pol, char **sdp)
{
	struct sdp_session s;
	const struct sdp_session *os;
	struct sdp_neg neg;
	struct sdp_desc d;
	struct sdp_local loc;
	int err;

	if (!a->ml)
		return ENOENT;
	if (!a->sdp_remote) {
		/* Late offer: our 2xx offers (the caller answers in its ACK, see
		 * call_media_offer_answered). */
		leg_sdp_local(a, &loc);
		err = leg_desc(a) ? sdp_offer(a->desc, pol, &loc) : ENOMEM;
		return err ? err : build_str(a->desc, sdp);
	}
	os = leg_offer(a, &s, false);
	if (!os)
		return EBADMSG;
	leg_sdp_local(a, &loc);
	err = sdp_answer(&neg, &d, os, pol, &loc);
	if (!err)
		err = leg_set_neg(a, &neg);
	if (!err)
		err = build_str(&d, sdp);
	memset(&neg, 0, sizeof(neg));
	memset(&d, 0, sizeof(d));
	return err;
}

int call_media_answer(struct call_leg *a, struct call_leg *b, const struct pl *body, char **sdp)
{
	struct sdp_policy pol;
	uint8_t have[SDP_CODEC_COUNT];
	unsigned n = 0;
	int err;

	if (!a || !b || !a->ml || !b->ml)
		return ENOENT;
	if (body && body->l) {
		struct sdp_session s;
		struct sdp_neg neg;

		if (sdp_parse(&s, body))
			return EBADMSG;
		err = sdp_answer_apply(&neg, &s, leg_our_offer(b));
		if (!err)
			err = leg_set_neg(b, &neg);
		memset(&neg, 0, sizeof(neg));
		if (err)
			return err;
	} else if (!b->neg.ok) {
		return EPROTO; /* a 2xx without an answer, and none came in a provisional */
	}
	for (uint8_t i = 0; i < b->neg.nfmt && n < ARRAY_SIZE(have); i++)
		have[n++] = b->neg.fmt[i].codec;
	pol = a->pol;
	sdp_policy_restrict(&pol, have, n);
	if (!pol.ncodecs)
		return ENOTSUP;
	err = answer_a(a, &pol, sdp);
	if (err)
		return err;
	call_media_offer_drop(a); /* the caller is answered now */
	return media_bridge(a->ml, b->ml);
}

/* The codecs of a leg's agreed session, else of its peer's offer, else of its policy. */
static unsigned leg_codecs(struct call_leg *leg, uint8_t *have, unsigned size)
{
	unsigned n = 0;

	if (leg->neg.ok) {
		for (uint8_t i = 0; i < leg->neg.nfmt && n < size; i++)
			have[n++] = leg->neg.fmt[i].codec;
		return n;
	}
	if (leg->sdp_remote) {
		struct sdp_session s;

		if (leg->offer || leg_offer(leg, &s, false)) {
			for (; n < leg->offer_ncodecs && n < size; n++)
				have[n] = leg->offer_codecs[n];
			return n;
		}
	}
	for (uint8_t i = 0; i < leg->pol.ncodecs && n < size; i++)
		have[n++] = leg->pol.codecs[i];
	return n;
}

int call_media_pickup(struct call_leg *a, struct call_leg *p, char **asdp, char **psdp)
{
	struct sdp_policy pol;
	uint8_t have[SDP_CODEC_COUNT];
	unsigned n;
	int err;

	if (!a || !p || !a->ml || !p->ml)
		return ENOENT;
	/* The picker first, limited to what the caller has (or already agreed in early media),
	 * then the caller limited to what the picker agreed: one codec end to end when possible. */
	n = leg_codecs(a, have, ARRAY_SIZE(have));
	pol = p->pol;
	sdp_policy_restrict(&pol, have, n);
	if (!pol.ncodecs)
		return ENOTSUP;
	err = answer_a(p, &pol, psdp);
	if (err)
		return err;
	n = leg_codecs(p, have, ARRAY_SIZE(have));
	pol = a->pol;
	sdp_policy_restrict(&pol, have, n);
	if (!pol.ncodecs)
		pol = a->pol; /* the relay converts PCMU/PCMA */
	err = answer_a(a, &pol, asdp);
	if (err) {
		free(*psdp);
		*psdp = NULL;
		return err;
	}
	call_media_offer_drop(a);
	call_media_offer_drop(p);
	return media_bridge(a->ml, p->ml);
}

int call_media_local_answer(struct call_leg *a, char **sdp)
{
	return answer_a(a, &a->pol, sdp);
}

int call_media_reoffer(struct call_leg *leg, const struct pl *body, char **sdp)
{
	struct call_leg *other = NULL;
	struct sdp_session s;
	struct sdp_neg neg;
	struct sdp_desc d;
	struct sdp_local loc;
	struct sdp_policy pol = leg->pol;
	int err;

	if (!leg->ml)
		return ENOENT;
	if (leg->call)
		other = leg == leg->call->a ? leg->call->b : leg->call->a;
	if (sdp_parse(&s, body))
		return ENOTSUP;
	/* The other side keeps its session: only codecs that still reach it. */
	if (other && other->neg.ok) {
		uint8_t have[SDP_CODEC_COUNT];
		unsigned n = 0;

		for (uint8_t i = 0; i < other->neg.nfmt && n < ARRAY_SIZE(have); i++)
			have[n++] = other->neg.fmt[i].codec;
		sdp_policy_restrict(&pol, have, n);
	}
	leg_sdp_local(leg, &loc);
	err = sdp_answer(&neg, &d, &s, &pol, &loc);
	if (!err)
		err = leg_set_neg(leg, &neg);
	if (!err)
		err = build_str(&d, sdp);
	memset(&neg, 0, sizeof(neg));
	memset(&d, 0, sizeof(d));
	return err;
}

int call_media_dir_offer(struct call_leg *leg, enum sdp_dir dir, bool legacy_hold, char **sdp)
{
	struct sdp_policy pol = leg->pol;
	struct sdp_local loc;
	uint8_t have[SDP_CODEC_COUNT];
	unsigned n = 0;
	int err;

	if (!leg->ml || !leg->neg.ok)
		return ENOENT;
	/* The codecs this leg already agreed: only the direction is meant to change. */
	for (uint8_t i = 0; i < leg->neg.nfmt && n < ARRAY_SIZE(have); i++)
		have[n++] = leg->neg.fmt[i].codec;
	sdp_policy_restrict(&pol, have, n);
	if (!pol.ncodecs)
		return ENOTSUP;
	/* A leg that agreed SRTP keeps it: the new offer carries our keys again (a caller over
	 * TLS with encryption=no would otherwise be offered plain RTP and downgraded). */
	if (leg->neg.srtp && pol.srtp == SDP_SRTP_OPT)
		pol.srtp = SDP_SRTP_MAND;
	leg_sdp_local(leg, &loc);
	loc.dir = dir;
	loc.legacy_hold = legacy_hold && dir != SDP_SENDRECV && dir != SDP_RECVONLY;
	err = leg_desc(leg) ? sdp_offer(leg->desc, &pol, &loc) : ENOMEM;
	if (!err)
		err = build_str(leg->desc, sdp);
	return err;
}

int call_media_offer_answered(struct call_leg *leg, const struct pl *body)
{
	struct sdp_session s;
	struct sdp_neg neg;
	int err;

	if (!leg->ml)
		return ENOENT;
	if (sdp_parse(&s, body))
		return EBADMSG;
	err = sdp_answer_apply(&neg, &s, leg_our_offer(leg));
	if (!err)
		err = leg_set_neg(leg, &neg);
	memset(&neg, 0, sizeof(neg));
	return err;
}

/* The direction a leg's peer asked for in its last offer (for passing hold across). */
int call_media_peer_dir(const struct pl *body, enum sdp_dir *dir, bool *legacy)
{
	struct sdp_session s;

	if (sdp_parse(&s, body))
		return EBADMSG;
	for (unsigned i = 0; i < s.nmedia; i++) {
		if (pl_caseeq_str(&s.media[i].type, "audio") && s.media[i].port) {
			*dir = sdp_media_dir(&s, &s.media[i]);
			*legacy = s.media[i].conn.af ? s.media[i].conn.hold : s.conn.hold;
			return 0;
		}
	}
	return ENOENT;
}

void call_media_leg_free(struct call_leg *leg)
{
	if (!leg || !leg->ml)
		return;
	if (!media_leg_stats(leg->ml, &leg->mst))
		leg->mst_ok = true;
	media_leg_free(leg->ml);
	leg->ml = NULL;
	/* Key material goes with the media. */
	memset(leg->srtp_keys, 0, sizeof(leg->srtp_keys));
	if (leg->desc)
		memset(leg->desc->crypto, 0, sizeof(leg->desc->crypto));
	memset(&leg->neg.rx, 0, sizeof(leg->neg.rx));
	memset(&leg->neg.tx, 0, sizeof(leg->neg.tx));
}

static bool leg_stats(const struct call_leg *leg, struct media_stats *st)
{
	if (leg->ml)
		return media_leg_stats(leg->ml, st) == 0;
	if (leg->mst_ok)
		*st = leg->mst;
	return leg->mst_ok;
}

void call_media_account(struct call_eng *eng, const struct call_leg *leg)
{
	struct media_stats st;

	if (!leg || !leg_stats(leg, &st))
		return;
	eng->rtp_rx_packets += st.rx_packets;
	eng->rtp_rx_bytes += st.rx_bytes;
	eng->rtp_tx_packets += st.tx_packets;
	eng->rtp_tx_bytes += st.tx_bytes;
	eng->rtp_dropped += st.rx_dropped;
	if (st.rx_lost > 0)
		eng->rtp_lost += (uint64_t)st.rx_lost;
	if (st.rx_packets)
		histo_observe(&eng->jitter_hist, call_jitter_bounds, CALL_JITTER_BOUNDS,
			      st.rx_jitter_ms / 1000.0);
}

void call_media_show(const struct call_leg *leg, struct mbuf *out)
{
	struct media_stats st;
	struct sa local;
	char l[SA_STRLEN], r[SA_STRLEN];

	if (!leg->ml || !leg_stats(leg, &st))
		return;
	media_leg_local(leg->ml, &local);
	mbuf_printf(out, "  media %s <-> %s %s%s%s: ", sa_fmt(&local, l, sizeof(l)),
		    sa_isset(&st.remote) ? sa_fmt(&st.remote, r, sizeof(r)) : "-",
		    leg->neg.ok && leg->neg.nfmt ? sdp_codec_name(leg->neg.fmt[0].codec) : "-",
		    st.srtp ? " SRTP " : "",
		    st.srtp ? sdp_suite_name((enum sdp_suite)leg->neg.tx.suite) : "");
	media_stats_format(&st, out);
	mbuf_write_str(out, "\n");
}

void call_media_json(const struct call_leg *leg, struct mbuf *out)
{
	struct media_stats st;

	if (!leg_stats(leg, &st)) {
		mbuf_write_str(out, "null");
		return;
	}
	/* Written piece by piece (two per call, for the call record): one printf of it cost
	 * about 7,000 instructions; only the jitter keeps printf's exact %.1f rounding. */
	char jit[32] = "0.0";

	if (st.rx_jitter_ms != 0.0) /* none measured (no media): no printf */
		snprintf(jit, sizeof(jit), "%.1f", st.rx_jitter_ms);
	mbuf_write_str(out, "{\"rx\":");
	mbuf_write_u64(out, st.rx_packets);
	mbuf_write_str(out, ",\"tx\":");
	mbuf_write_u64(out, st.tx_packets);
	mbuf_write_str(out, ",\"rxdrop\":");
	mbuf_write_u64(out, st.rx_dropped);
	mbuf_write_str(out, st.rx_lost < 0 ? ",\"lost\":-" : ",\"lost\":");
	mbuf_write_u64(out,
		       st.rx_lost < 0 ? (uint64_t)(-(int64_t)st.rx_lost) : (uint64_t)st.rx_lost);
	mbuf_write_str(out, ",\"jitter_ms\":");
	mbuf_write_str(out, jit);
	mbuf_write_str(out, ",\"rtcp_rx\":");
	mbuf_write_u64(out, st.rtcp_rx);
	mbuf_write_str(out, ",\"dtmf_rx\":");
	mbuf_write_u64(out, st.dtmf_rx);
	mbuf_write_str(out, ",\"dtmf_tx\":");
	mbuf_write_u64(out, st.dtmf_tx);
	mbuf_write_str(out, "}");
}
