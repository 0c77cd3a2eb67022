/* fuzz_sdp: libFuzzer target for the SDP parser and what the call engine does with a parsed body:
 * accessors, answering it as a phone and as the carrier, applying it as an answer, building. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const struct pl *body, const struct pl *pl)
{
	if (pl->p && pl->l && (pl->p < body->p || pl->p + pl->l > body->p + body->l))
		abort();
}

static void answer_with(const struct sdp_session *s, const struct sdp_policy *pol)
{
	struct sdp_origin o;
	struct sdp_local l = {.dir = SDP_SENDRECV, .origin = &o};
	struct sdp_neg neg;
	struct sdp_desc d, offer;
	struct mbuf mb;

	sdp_origin_init(&o);
	sa_set_str(&l.addr, "192.0.2.1", 50000);
	mbuf_init(&mb);
	int err = sdp_answer(&neg, &d, s, pol, &l);
	if (err && err != ENOTSUP)
		abort();
	if (!err && (!neg.ok || neg.nfmt == 0 || neg.nfmt > SDP_CODEC_COUNT))
		abort();
	/* whatever was offered, our answer builds (an offer without m-lines has nothing to answer)
	 * and parses back */
	if (s->nmedia) {
		if (sdp_build(&mb, &d))
			abort();
		struct sdp_session *back = malloc(sizeof(*back));
		struct pl b = pl_from((const char *)mb.buf, mb.end);
		if (sdp_parse(back, &b) != 0)
			abort();
		free(back);
	}
	if (!sdp_offer(&offer, pol, &l)) {
		err = sdp_answer_apply(&neg, s, &offer);
		if (err && err != ENOTSUP && err != EPROTO)
			abort();
	}
	mbuf_reset(&mb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_session *s = malloc(sizeof(*s));
	struct pl body = pl_from((const char *)data, size);
	struct sa a;
	struct pl v;
	uint8_t codecs[8];

	if (!s)
		return 0;
	if (sdp_parse(s, &body) == 0) {
		if (s->nmedia > SDP_MAX_MEDIA)
			abort();
		inside(&body, &s->o_user);
		inside(&body, &s->conn.addr);
		for (unsigned i = 0; i < s->nmedia; i++) {
			const struct sdp_media *m = &s->media[i];
			if (m->nfmt == 0 || m->nfmt > SDP_MAX_FMT)
				abort();
			inside(&body, &m->type);
			inside(&body, &m->proto);
			inside(&body, &m->attrs);
			for (unsigned k = 0; k < m->nfmt; k++) {
				inside(&body, &m->fmt[k].id);
				inside(&body, &m->fmt[k].encoding);
				inside(&body, &m->fmt[k].fmtp);
			}
			sdp_media_addr(s, m, &a);
			sdp_media_rtcp_addr(s, m, &a);
			sdp_media_dir(s, m);
			if (sdp_attr_find(s, m, "rtpmap", &v) == 0)
				inside(&body, &v);
		}
		sdp_attr_find(s, NULL, "group", &v);
		sdp_codecs(s, codecs, sizeof(codecs));
		struct sdp_policy phone = {
		    .codecs = {SDP_CODEC_G722, SDP_CODEC_PCMU, SDP_CODEC_PCMA, SDP_CODEC_OPUS},
		    .ncodecs = 4,
		    .telephone_event = true,
		    .prefer_remote = size & 1};
		struct sdp_policy carrier = {
		    .codecs = {SDP_CODEC_PCMU}, .ncodecs = 1, .ptime = 20, .single_codec = true};
		answer_with(s, &phone);
		answer_with(s, &carrier);
	}
	free(s);
	return 0;
}
