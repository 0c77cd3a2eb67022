/* sdp neg: RFC 3264 offer/answer for one leg: our offer from a policy, our answer to an offer,
 * and the outcome of the peer's answer to our offer, each in the leg's own PT numbers. */
#include <errno.h>
#include <string.h>

#include "sdp.h"
#include "sdp_int.h"

#define TE_PT_DEFAULT 101

bool sdp_codec_bridgeable(enum sdp_codec from, enum sdp_codec to)
{
	if (from == to)
		return from < SDP_CODEC_COUNT;
	return (from == SDP_CODEC_PCMU && to == SDP_CODEC_PCMA) ||
	       (from == SDP_CODEC_PCMA && to == SDP_CODEC_PCMU);
}

void sdp_policy_restrict(struct sdp_policy *pol, const uint8_t *have, unsigned nhave)
{
	uint8_t n = 0;

	for (unsigned i = 0; i < pol->ncodecs; i++) {
		bool ok = false;
		for (unsigned j = 0; j < nhave && !ok; j++)
			ok = sdp_codec_bridgeable((enum sdp_codec)have[j],
						  (enum sdp_codec)pol->codecs[i]);
		if (ok)
			pol->codecs[n++] = pol->codecs[i];
	}
	pol->ncodecs = n;
}

/* Swaps the SEND and RECV bits: the answer's direction is the offer's seen from the other side. */
static enum sdp_dir dir_reverse(enum sdp_dir d)
{
	return (enum sdp_dir)(((d & SDP_SENDONLY) ? SDP_RECVONLY : 0) |
			      ((d & SDP_RECVONLY) ? SDP_SENDONLY : 0));
}

static void copy_token(char *dst, size_t size, const struct pl *src, const char *def)
{
	if (!pl_isset(src) || src->l == 0 || pl_strcpy(src, dst, size)) {
		size_t n = strlen(def);
		memcpy(dst, def, n + 1 <= size ? n + 1 : size);
		dst[size - 1] = '\0';
	}
}

static uint8_t te_pt(const struct sdp_policy *pol)
{
	return pol->te_pt && pol->te_pt < 128 ? pol->te_pt : TE_PT_DEFAULT;
}

static bool codec_valid(uint8_t c)
{
	return c < SDP_CODEC_COUNT;
}

int sdp_offer(struct sdp_desc *out, const struct sdp_policy *pol, const struct sdp_local *local)
{
	struct sdp_desc_media *dm;
	uint8_t next_dyn = 96;
	uint8_t tept = te_pt(pol);
	bool seen[SDP_CODEC_COUNT] = {false};

	memset(out, 0, sizeof(*out));
	out->local = *local;
	out->nmedia = 1;
	dm = &out->media[0];
	strcpy(dm->type, "audio");
	strcpy(dm->proto, pol->srtp == SDP_SRTP_MAND ? "RTP/SAVP" : "RTP/AVP");
	if (pol->srtp == SDP_SRTP_MAND) {
		if (!pol->nkeys)
			return EINVAL;
		for (unsigned i = 0; i < pol->nkeys && i < ARRAY_SIZE(out->crypto); i++)
			out->crypto[out->ncrypto++] = pol->keys[i];
		dm->crypto = true;
	}
	dm->dir = local->dir;
	dm->ptime = pol->ptime;
	for (unsigned i = 0; i < pol->ncodecs; i++) {
		uint8_t c = pol->codecs[i];
		int pt;
		if (!codec_valid(c) || seen[c])
			continue;
		seen[c] = true;
		pt = sdp_codec_static_pt((enum sdp_codec)c);
		if (pt < 0) {
			if (next_dyn == tept)
				next_dyn++;
			pt = next_dyn++;
		}
		dm->fmt[dm->nfmt++] = (struct sdp_desc_fmt){(uint8_t)pt, c};
		if (pol->single_codec)
			break;
	}
	if (dm->nfmt == 0)
		return EINVAL;
	if (pol->telephone_event)
		dm->fmt[dm->nfmt++] = (struct sdp_desc_fmt){tept, SDP_CODEC_TE};
	return 0;
}

static void reject_line(struct sdp_desc_media *dm, const struct sdp_media *m)
{
	memset(dm, 0, sizeof(*dm));
	dm->rejected = true;
	copy_token(dm->type, sizeof(dm->type), &m->type, "audio");
	copy_token(dm->proto, sizeof(dm->proto), &m->proto, "RTP/AVP");
	copy_token(dm->rej_fmt, sizeof(dm->rej_fmt), m->nfmt ? &m->fmt[0].id : NULL, "0");
	dm->dir = SDP_INACTIVE;
}

/* The common codecs of one offered audio line, in the order the policy asks for. */
static unsigned pick_codecs(const struct sdp_media *m, const struct sdp_policy *pol,
			    const struct sdp_fmt **picked)
{
	unsigned n = 0;
	bool taken[SDP_CODEC_COUNT] = {false};

	if (pol->prefer_remote) {
		for (unsigned i = 0; i < m->nfmt; i++) {
			enum sdp_codec c = m->fmt[i].codec;
			if (c >= SDP_CODEC_COUNT || taken[c])
				continue;
			for (unsigned j = 0; j < pol->ncodecs; j++) {
				if (pol->codecs[j] == c) {
					taken[c] = true;
					picked[n++] = &m->fmt[i];
					break;
				}
			}
		}
	} else {
		for (unsigned j = 0; j < pol->ncodecs; j++) {
			uint8_t c = pol->codecs[j];
			if (!codec_valid(c) || taken[c])
				continue;
			for (unsigned i = 0; i < m->nfmt; i++) {
				if (m->fmt[i].codec == c) {
					taken[c] = true;
					picked[n++] = &m->fmt[i];
					break;
				}
			}
		}
	}
	if (pol->single_codec && n > 1)
		n = 1;
	return n;
}

static const struct sdp_fmt *find_te(const struct sdp_media *m)
{
	for (unsigned i = 0; i < m->nfmt; i++)
		if (m->fmt[i].codec == SDP_CODEC_TE)
			return &m->fmt[i];
	return NULL;
}

static void neg_reset(struct sdp_neg *neg)
{
	memset(neg, 0, sizeof(*neg));
	neg->media_idx = -1;
	neg->te_pt_tx = -1;
	neg->te_pt_rx = -1;
}

static int neg_addrs(struct sdp_neg *neg, const struct sdp_session *s, const struct sdp_media *m)
{
	int err = sdp_media_addr(s, m, &neg->remote);

	if (err)
		return err;
	if (!m->rtcp_port) {
		/* No a=rtcp: the RTP address with the next port (sdp_media_rtcp_addr), without
		 * reading the address text a second time. */
		neg->remote_rtcp = neg->remote;
		if (m->port != 65535)
			sa_set_port(&neg->remote_rtcp, (uint16_t)(m->port + 1));
	} else if (sdp_media_rtcp_addr(s, m, &neg->remote_rtcp)) {
		neg->remote_rtcp = neg->remote;
	}
	return 0;
}

int sdp_answer(struct sdp_neg *neg, struct sdp_desc *out, const struct sdp_session *offer,
	       const struct sdp_policy *pol, const struct sdp_local *local)
{
	neg_reset(neg);
	memset(out, 0, sizeof(*out));
	out->local = *local;
	out->nmedia = offer->nmedia;

	for (unsigned i = 0; i < offer->nmedia; i++) {
		const struct sdp_media *m = &offer->media[i];
		struct sdp_desc_media *dm = &out->media[i];
		const struct sdp_fmt *picked[SDP_CODEC_COUNT];
		unsigned n;

		reject_line(dm, m);
		if (neg->ok || m->port == 0 || !sdp_media_is_rtp_audio(m))
			continue;
		n = pick_codecs(m, pol, picked);
		if (n == 0 || neg_addrs(neg, offer, m))
			continue;
		/* SDES: an RTP/SAVP line needs a usable a=crypto and a policy that may answer one;
		 * a=crypto in an RTP/AVP offer (best effort SRTP) is taken when the policy allows. */
		struct sdp_crypto theirs;
		unsigned kidx = 0;
		bool secure = false;
		if (pol->srtp != SDP_SRTP_OFF)
			secure = !sdp_crypto_pick(m, pol->keys, pol->nkeys, false, &theirs, &kidx);
		if (!secure && (sdp_media_is_savp(m) || pol->srtp == SDP_SRTP_MAND))
			continue;

		enum sdp_dir odir = sdp_media_dir(offer, m);
		dm->rejected = false;
		dm->nfmt = 0;
		strcpy(dm->type, "audio");
		copy_token(dm->proto, sizeof(dm->proto), &m->proto, "RTP/AVP");
		dm->dir = (enum sdp_dir)(dir_reverse(odir) & local->dir);
		dm->ptime = pol->ptime;
		for (unsigned k = 0; k < n; k++) {
			const struct sdp_fmt *f = picked[k];
			dm->fmt[dm->nfmt++] = (struct sdp_desc_fmt){(uint8_t)f->pt, f->codec};
			neg->fmt[neg->nfmt++] =
			    (struct sdp_neg_fmt){f->codec, (uint8_t)f->pt, (uint8_t)f->pt,
						 sdp_codec_clock(f->codec) == 48000 ? 48000 : 8000};
		}
		const struct sdp_fmt *te = pol->telephone_event ? find_te(m) : NULL;
		if (te) {
			dm->fmt[dm->nfmt++] = (struct sdp_desc_fmt){(uint8_t)te->pt, SDP_CODEC_TE};
			neg->te_pt_tx = neg->te_pt_rx = te->pt;
		}
		if (secure) {
			out->crypto[0] = pol->keys[kidx];
			out->crypto[0].tag = theirs.tag;
			out->ncrypto = 1;
			dm->crypto = true;
			neg->srtp = true;
			neg->rx = theirs;
			neg->tx = out->crypto[0];
			memset(&theirs, 0, sizeof(theirs));
		}
		neg->ok = true;
		neg->media_idx = (int)i;
		neg->dir = dm->dir;
		neg->hold = !(odir & SDP_RECVONLY);
		neg->ptime = m->ptime;
	}
	if (!neg->ok) {
		neg_reset(neg);
		return ENOTSUP;
	}
	return 0;
}

int sdp_answer_apply(struct sdp_neg *neg, const struct sdp_session *answer,
		     const struct sdp_desc *ours)
{
	int idx = -1;

	neg_reset(neg);
	if (answer->nmedia != ours->nmedia)
		return EPROTO;
	for (unsigned i = 0; i < ours->nmedia; i++) {
		if (!ours->media[i].rejected && !strcmp(ours->media[i].type, "audio")) {
			idx = (int)i;
			break;
		}
	}
	if (idx < 0)
		return ENOTSUP;

	const struct sdp_desc_media *dm = &ours->media[idx];
	const struct sdp_media *m = &answer->media[idx];
	int our_te = -1;

	if (m->port == 0)
		return ENOTSUP;
	if (!pl_eq_str(&m->type, "audio"))
		return EPROTO;
	for (unsigned k = 0; k < dm->nfmt; k++)
		if (dm->fmt[k].codec == SDP_CODEC_TE)
			our_te = dm->fmt[k].pt;

	for (unsigned i = 0; i < m->nfmt && neg->nfmt < SDP_CODEC_COUNT; i++) {
		const struct sdp_fmt *f = &m->fmt[i];
		bool dup = false;
		if (f->pt < 0 || f->codec == SDP_CODEC_NONE)
			continue;
		if (f->codec == SDP_CODEC_TE) {
			if (our_te >= 0 && neg->te_pt_tx < 0) {
				neg->te_pt_tx = f->pt;
				neg->te_pt_rx = our_te;
			}
			continue;
		}
		for (unsigned j = 0; j < neg->nfmt; j++)
			dup |= neg->fmt[j].codec == f->codec;
		if (dup)
			continue;
		/* Only codecs we offered: an answer may not add new ones (RFC 3264 §6.1). */
		for (unsigned k = 0; k < dm->nfmt; k++) {
			if (dm->fmt[k].codec != f->codec)
				continue;
			neg->fmt[neg->nfmt++] =
			    (struct sdp_neg_fmt){f->codec, (uint8_t)f->pt, dm->fmt[k].pt,
						 sdp_codec_clock(f->codec) == 48000 ? 48000 : 8000};
			break;
		}
	}
	if (neg->nfmt == 0 || neg_addrs(neg, answer, m)) {
		neg_reset(neg);
		return ENOTSUP;
	}
	if (dm->crypto && ours->ncrypto) {
		/* We offered SDES keys: the answer names one of our tags with its suite. */
		unsigned kidx;
		if (sdp_crypto_pick(m, ours->crypto, ours->ncrypto, true, &neg->rx, &kidx)) {
			neg_reset(neg);
			return ENOTSUP;
		}
		neg->srtp = true;
		neg->tx = ours->crypto[kidx];
	}
	enum sdp_dir adir = sdp_media_dir(answer, m);
	neg->ok = true;
	neg->media_idx = idx;
	neg->dir = (enum sdp_dir)(dir_reverse(adir) & dm->dir);
	neg->hold = !(adir & SDP_RECVONLY);
	neg->ptime = m->ptime;
	return 0;
}
