/* test_sdp: SDP parser, builder and per-leg offer/answer (codec intersection, PT renumbering
 * between legs, telephone-event present/absent, hold directions, o= versions, bad input). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "sdp.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers" /* short table rows */

static struct pl P(const char *s) {
	return pl_from(s, strlen(s));
}

static const char *PHONE_OFFER = "v=0\r\n"
				 "o=alice 2890844526 2890844526 IN IP4 10.8.0.2\r\n"
				 "s=-\r\n"
				 "c=IN IP4 10.8.0.2\r\n"
				 "t=0 0\r\n"
				 "m=audio 4000 RTP/AVP 9 8 0 96 101\r\n"
				 "a=rtpmap:9 G722/8000\r\n"
				 "a=rtpmap:8 PCMA/8000\r\n"
				 "a=rtpmap:0 PCMU/8000\r\n"
				 "a=rtpmap:96 opus/48000/2\r\n"
				 "a=fmtp:96 useinbandfec=1\r\n"
				 "a=rtpmap:101 telephone-event/8000\r\n"
				 "a=fmtp:101 0-16\r\n"
				 "a=ptime:20\r\n"
				 "a=sendrecv\r\n"
				 "m=video 0 RTP/AVP 31\r\n";

static void test_parse_basic(void **state)
{
	struct sdp_session s;
	struct pl body = P(PHONE_OFFER);
	struct sa a;
	struct pl v;

	assert_int_equal(sdp_parse(&s, &body), 0);
	assert_int_equal(s.nmedia, 2);
	assert_true(pl_eq_str(&s.o_user, "alice"));
	const struct sdp_media *m = &s.media[0];
	assert_true(pl_eq_str(&m->type, "audio"));
	assert_int_equal(m->port, 4000);
	assert_int_equal(m->nfmt, 5);
	assert_int_equal(m->fmt[0].codec, SDP_CODEC_G722);
	assert_int_equal(m->fmt[1].codec, SDP_CODEC_PCMA);
	assert_int_equal(m->fmt[2].codec, SDP_CODEC_PCMU);
	assert_int_equal(m->fmt[3].codec, SDP_CODEC_OPUS);
	assert_true(pl_eq_str(&m->fmt[3].fmtp, "useinbandfec=1"));
	assert_int_equal(m->fmt[3].clock, 48000);
	assert_int_equal(m->fmt[3].channels, 2);
	assert_int_equal(m->fmt[4].codec, SDP_CODEC_TE);
	assert_int_equal(m->ptime, 20);
	assert_int_equal(sdp_media_dir(&s, m), SDP_SENDRECV);
	assert_int_equal(sdp_media_addr(&s, m, &a), 0);
	char buf[SA_STRLEN];
	assert_string_equal(sa_fmt(&a, buf, sizeof(buf)), "10.8.0.2:4000");
	assert_int_equal(sdp_media_rtcp_addr(&s, m, &a), 0);
	assert_int_equal(sa_port(&a), 4001);
	assert_int_equal(sdp_attr_find(&s, m, "ptime", &v), 0);
	assert_true(pl_eq_str(&v, "20"));
	assert_int_equal(sdp_attr_find(&s, m, "sendrecv", &v), 0);
	assert_int_equal(v.l, 0);
	assert_int_equal(sdp_attr_find(&s, m, "rtcp", &v), ENOENT);
	assert_ptr_equal(sdp_audio(&s), &s.media[0]);
	/* zero-copy: every pl points into the body */
	assert_true(m->type.p >= body.p && m->type.p < body.p + body.l);

	uint8_t codecs[8];
	unsigned n = sdp_codecs(&s, codecs, 8);
	assert_int_equal(n, 4);
	assert_int_equal(codecs[0], SDP_CODEC_G722);
	assert_int_equal(codecs[3], SDP_CODEC_OPUS);
}

static void test_parse_lf_rtcp_static(void **state)
{
	const char *b = "v=0\n"
			"o=- 1 1 IN IP4 192.0.2.1\n"
			"s=x\n"
			"t=0 0\n"
			"m=audio 5004 RTP/AVP 0 18\n"
			"c=IN IP4 192.0.2.9/127\n"
			"a=rtcp:6001 IN IP4 192.0.2.10\n"
			"a=ptime:20.0\n";
	struct sdp_session s;
	struct pl body = P(b);
	struct sa a;
	char buf[SA_STRLEN];

	assert_int_equal(sdp_parse(&s, &body), 0);
	assert_int_equal(s.media[0].fmt[0].codec, SDP_CODEC_PCMU);
	assert_int_equal(s.media[0].fmt[0].clock, 8000);
	assert_int_equal(s.media[0].fmt[1].codec, SDP_CODEC_G729);
	assert_int_equal(s.media[0].ptime, 20);
	assert_int_equal(sdp_media_addr(&s, &s.media[0], &a), 0);
	assert_string_equal(sa_fmt(&a, buf, sizeof(buf)), "192.0.2.9:5004");
	assert_int_equal(sdp_media_rtcp_addr(&s, &s.media[0], &a), 0);
	assert_string_equal(sa_fmt(&a, buf, sizeof(buf)), "192.0.2.10:6001");
}

static void test_parse_bad(void **state)
{
	static const struct {
		const char *body;
		int err;
	} cases[] = {
	    {"", EBADMSG},
	    {"v=1\r\n", EBADMSG},
	    {"o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n", EBADMSG},
	    {"v=0\r\nm=audio 70000 RTP/AVP 0\r\n", EBADMSG},
	    {"v=0\r\nm=audio 99999999999 RTP/AVP 0\r\n", EBADMSG},
	    {"v=0\r\nm=audio 4000 RTP/AVP\r\n", EBADMSG},
	    {"v=0\r\nm=audio -1 RTP/AVP 0\r\n", EBADMSG},
	    {"v=0\r\nm=audio 4000/0 RTP/AVP 0\r\n", EBADMSG},
	    {"v=0\r\nthis is not sdp\r\n", EBADMSG},
	    {"v=0\r\nX=upper\r\n", EBADMSG},
	};
	struct sdp_session *s = malloc(sizeof(*s));
	struct sdp_counters c0, c1;

	sdp_counters_get(&c0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pl b = P(cases[i].body);
		assert_int_equal(sdp_parse(s, &b), cases[i].err);
	}
	/* a NUL inside */
	struct pl nul = pl_from("v=0\r\n\0m=audio 1 RTP/AVP 0\r\n", 27);
	assert_int_equal(sdp_parse(s, &nul), EBADMSG);
	sdp_counters_get(&c1);
	assert_int_equal(c1.refused_syntax - c0.refused_syntax, ARRAY_SIZE(cases) + 1);
	free(s);
}

static void test_parse_too_many(void **state)
{
	struct mbuf mb;
	struct sdp_session *s = malloc(sizeof(*s));
	struct sdp_counters c0, c1;

	mbuf_init(&mb);
	mbuf_write_str(&mb, "v=0\r\nc=IN IP4 1.2.3.4\r\n");
	for (int i = 0; i < 1000; i++)
		mbuf_printf(&mb, "m=audio %d RTP/AVP 0\r\n", 2000 + 2 * i);
	struct pl b = pl_from((const char *)mb.buf, mb.end);
	sdp_counters_get(&c0);
	assert_int_equal(sdp_parse(s, &b), E2BIG);
	/* huge format list: the extra formats are ignored, not a crash */
	mbuf_reset(&mb);
	mbuf_write_str(&mb, "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP");
	for (int i = 0; i < 100; i++)
		mbuf_printf(&mb, " %d", i);
	mbuf_write_str(&mb, "\r\n");
	b = pl_from((const char *)mb.buf, mb.end);
	assert_int_equal(sdp_parse(s, &b), 0);
	assert_int_equal(s->media[0].nfmt, SDP_MAX_FMT);
	assert_int_equal(s->media[0].fmt_dropped, 100 - SDP_MAX_FMT);
	sdp_counters_get(&c1);
	assert_int_equal(c1.refused_too_big - c0.refused_too_big, 1);
	mbuf_reset(&mb);
	free(s);
}

/* The leg policies of the product: phones (g722, ulaw, alaw, telephone-event) and the carrier
 * (PCMU only, ptime 20, inband DTMF: no telephone-event). */
static struct sdp_policy phone_pol(void)
{
	struct sdp_policy p = {.codecs = {SDP_CODEC_G722, SDP_CODEC_PCMU, SDP_CODEC_PCMA},
			       .ncodecs = 3,
			       .telephone_event = true};
	return p;
}

static struct sdp_policy carrier_pol(bool te)
{
	struct sdp_policy p = {.codecs = {SDP_CODEC_PCMU},
			       .ncodecs = 1,
			       .telephone_event = te,
			       .ptime = 20,
			       .single_codec = true};
	return p;
}

static struct sdp_local local_of(const char *addr, uint16_t port, struct sdp_origin *o)
{
	struct sdp_local l = {.dir = SDP_SENDRECV, .origin = o};
	assert_int_equal(sa_set_str(&l.addr, addr, port), 0);
	return l;
}

struct ans_case {
	const char *name;
	const char *m_line; /* m= and its attributes */
	bool pol_carrier;
	bool te;
	int err;
	int first_codec;
	uint8_t first_pt;
	int te_pt;
	enum sdp_dir dir;
	bool hold;
};

static void test_answer_table(void **state)
{
	static const struct ans_case cases[] = {
	    {"phone g722 first",
	     "m=audio 4000 RTP/AVP 9 0 101\r\na=rtpmap:101 telephone-event/8000\r\n", false, true,
	     0, SDP_CODEC_G722, 9, 101, SDP_SENDRECV, false},
	    {"phone pcma only, te 96",
	     "m=audio 4000 RTP/AVP 8 96\r\na=rtpmap:96 telephone-event/8000\r\n", false, true, 0,
	     SDP_CODEC_PCMA, 8, 96, SDP_SENDRECV, false},
	    {"carrier pcmu, te not wanted",
	     "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n", true, false, 0,
	     SDP_CODEC_PCMU, 0, -1, SDP_SENDRECV, false},
	    {"carrier pcmu with te wanted",
	     "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n", true, true, 0,
	     SDP_CODEC_PCMU, 0, 101, SDP_SENDRECV, false},
	    {"carrier gets g722 only", "m=audio 4000 RTP/AVP 9\r\n", true, false, ENOTSUP, -1, 0,
	     -1, SDP_INACTIVE, false},
	    {"dynamic pcmu remapped", "m=audio 4000 RTP/AVP 112\r\na=rtpmap:112 PCMU/8000\r\n",
	     true, false, 0, SDP_CODEC_PCMU, 112, -1, SDP_SENDRECV, false},
	    {"hold sendonly", "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n", false, true, 0,
	     SDP_CODEC_PCMU, 0, -1, SDP_RECVONLY, true},
	    {"hold inactive", "m=audio 4000 RTP/AVP 0\r\na=inactive\r\n", false, true, 0,
	     SDP_CODEC_PCMU, 0, -1, SDP_INACTIVE, true},
	    {"recvonly", "m=audio 4000 RTP/AVP 0\r\na=recvonly\r\n", false, true, 0, SDP_CODEC_PCMU,
	     0, -1, SDP_SENDONLY, false},
	    {"legacy hold c=0", "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n", false, true, 0,
	     SDP_CODEC_PCMU, 0, -1, SDP_RECVONLY, true},
	    {"srtp refused", "m=audio 4000 RTP/SAVP 0\r\n", false, true, ENOTSUP, -1, 0, -1,
	     SDP_INACTIVE, false},
	    {"port 0 refused", "m=audio 0 RTP/AVP 0\r\n", false, true, ENOTSUP, -1, 0, -1,
	     SDP_INACTIVE, false},
	    {"te at 48k not te",
	     "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/48000\r\n", false, true, 0,
	     SDP_CODEC_PCMU, 0, -1, SDP_SENDRECV, false},
	};
	struct sdp_origin o;

	sdp_origin_init(&o);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct ans_case *c = &cases[i];
		char body[1024];
		struct sdp_session s;
		struct sdp_neg neg;
		struct sdp_desc d;
		struct sdp_policy pol = c->pol_carrier ? carrier_pol(c->te) : phone_pol();
		struct sdp_local l = local_of("203.0.113.2", 50000, &o);

		snprintf(body, sizeof(body),
			 "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 "
			 "198.51.100.7\r\nt=0 0\r\n%s",
			 c->m_line);
		struct pl b = P(body);
		assert_int_equal(sdp_parse(&s, &b), 0);
		int err = sdp_answer(&neg, &d, &s, &pol, &l);
		if (err != c->err)
			fail_msg("%s: err %d, want %d", c->name, err, c->err);
		if (err) {
			assert_false(neg.ok);
			assert_true(d.media[0].rejected);
			continue;
		}
		assert_true(neg.ok);
		if (neg.fmt[0].codec != c->first_codec || neg.fmt[0].pt_tx != c->first_pt)
			fail_msg("%s: codec %d pt %d", c->name, neg.fmt[0].codec, neg.fmt[0].pt_tx);
		assert_int_equal(neg.te_pt_tx, c->te_pt);
		if (neg.dir != c->dir)
			fail_msg("%s: dir %d want %d", c->name, neg.dir, c->dir);
		assert_int_equal(neg.hold, c->hold);
		assert_int_equal(d.media[0].dir, c->dir);
		if (c->pol_carrier)
			assert_int_equal(neg.nfmt, 1);
	}
}

/* A phone (PCMA, te 96) calls the carrier (PCMU only, inband): the offer to the carrier carries
 * PCMU only, ptime 20, no telephone-event, an even port and the line-side address; the answer to
 * the phone keeps the phone's numbers. */
static void test_b2bua_flow(void **state)
{
	const char *offer_a =
	    "v=0\r\no=- 5 5 IN IP4 10.8.0.2\r\ns=-\r\nc=IN IP4 10.8.0.2\r\nt=0 0\r\n"
	    "m=audio 4000 RTP/AVP 8 96\r\na=rtpmap:96 telephone-event/8000\r\n"
	    "a=fmtp:96 0-15\r\n";
	struct sdp_session sa, sb;
	struct sdp_neg nega, negb;
	struct sdp_desc offer_b, ans_a;
	struct sdp_origin oa, ob;
	struct mbuf mb;
	uint8_t have[8];

	sdp_origin_init(&oa);
	sdp_origin_init(&ob);
	struct pl b = P(offer_a);
	assert_int_equal(sdp_parse(&sa, &b), 0);
	unsigned nh = sdp_codecs(&sa, have, 8);
	assert_int_equal(nh, 1);
	struct sdp_policy pb = carrier_pol(false);
	sdp_policy_restrict(&pb, have, nh); /* PCMA offered: PCMU is reachable by transcoding */
	assert_int_equal(pb.ncodecs, 1);
	struct sdp_local lb = local_of("203.0.113.2", 50000, &ob);
	assert_int_equal(sdp_offer(&offer_b, &pb, &lb), 0);
	mbuf_init(&mb);
	assert_int_equal(sdp_build(&mb, &offer_b), 0);
	char *txt = strndup((const char *)mb.buf, mb.end);
	assert_non_null(strstr(txt, "c=IN IP4 203.0.113.2\r\n"));
	assert_non_null(strstr(txt, "m=audio 50000 RTP/AVP 0\r\n"));
	assert_non_null(strstr(txt, "a=rtpmap:0 PCMU/8000\r\n"));
	assert_non_null(strstr(txt, "a=ptime:20\r\n"));
	assert_non_null(strstr(txt, "a=sendrecv\r\n"));
	assert_null(strstr(txt, "telephone-event"));
	assert_null(strstr(txt, "10.8.0.2"));
	free(txt);

	/* The carrier answers PCMU with te 101 (it does so when offered: here it was not). */
	const char *ans_b = "v=0\r\no=- 9 9 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\n"
			    "t=0 0\r\nm=audio 30000 RTP/AVP 0\r\n";
	b = P(ans_b);
	assert_int_equal(sdp_parse(&sb, &b), 0);
	assert_int_equal(sdp_answer_apply(&negb, &sb, &offer_b), 0);
	assert_int_equal(negb.fmt[0].codec, SDP_CODEC_PCMU);
	assert_int_equal(negb.te_pt_tx, -1);
	assert_int_equal(sa_port(&negb.remote), 30000);
	assert_int_equal(sa_port(&negb.remote_rtcp), 30001);

	/* Answer to the phone: its own PTs (PCMA 8, te 96), phone-side address. */
	struct sdp_policy pa = phone_pol();
	uint8_t bc[1] = {negb.fmt[0].codec};
	sdp_policy_restrict(&pa, bc, 1);
	assert_int_equal(pa.ncodecs, 2); /* PCMU, PCMA */
	struct sdp_local la = local_of("10.8.0.1", 50002, &oa);
	assert_int_equal(sdp_answer(&nega, &ans_a, &sa, &pa, &la), 0);
	assert_int_equal(nega.fmt[0].codec, SDP_CODEC_PCMA);
	assert_int_equal(nega.te_pt_tx, 96);
	mbuf_reset(&mb);
	assert_int_equal(sdp_build(&mb, &ans_a), 0);
	txt = strndup((const char *)mb.buf, mb.end);
	assert_non_null(strstr(txt, "m=audio 50002 RTP/AVP 8 96\r\n"));
	assert_non_null(strstr(txt, "a=rtpmap:96 telephone-event/8000\r\n"));
	assert_non_null(strstr(txt, "c=IN IP4 10.8.0.1\r\n"));
	assert_null(strstr(txt, "203.0.113.2"));
	/* our own output parses back */
	struct sdp_session back;
	b = P(txt);
	assert_int_equal(sdp_parse(&back, &b), 0);
	assert_int_equal(back.media[0].port, 50002);
	assert_int_equal(back.media[0].fmt[1].codec, SDP_CODEC_TE);
	free(txt);
	mbuf_reset(&mb);
}

static void test_pt_renumber(void **state)
{
	/* Leg A uses 101 for events, leg B 96: each leg keeps its own numbers. */
	const char *oa = "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0 101\r\n"
			 "a=rtpmap:101 telephone-event/8000\r\n";
	const char *ab = "v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 6000 RTP/AVP 0 96\r\n"
			 "a=rtpmap:96 telephone-event/8000\r\n";
	struct sdp_session s;
	struct sdp_neg na, nb;
	struct sdp_desc da, db;
	struct sdp_origin o;
	struct sdp_policy p = phone_pol();

	sdp_origin_init(&o);
	p.te_pt = 97;
	struct pl b = P(oa);
	assert_int_equal(sdp_parse(&s, &b), 0);
	struct sdp_local l = local_of("10.0.0.9", 50000, &o);
	assert_int_equal(sdp_answer(&na, &da, &s, &p, &l), 0);
	assert_int_equal(na.te_pt_tx, 101);
	assert_int_equal(sdp_offer(&db, &p, &l), 0);
	/* our offer: G722 9, PCMU 0, PCMA 8, te 97 */
	assert_int_equal(db.media[0].nfmt, 4);
	assert_int_equal(db.media[0].fmt[3].pt, 97);
	b = P(ab);
	assert_int_equal(sdp_parse(&s, &b), 0);
	assert_int_equal(sdp_answer_apply(&nb, &s, &db), 0);
	assert_int_equal(nb.te_pt_tx, 96); /* what the peer declared */
	assert_int_equal(nb.te_pt_rx, 97); /* what we declared */
	assert_int_equal(nb.fmt[0].codec, SDP_CODEC_PCMU);
}

static void test_answer_apply_errors(void **state)
{
	struct sdp_origin o;
	struct sdp_desc d;
	struct sdp_session s;
	struct sdp_neg n;
	struct sdp_policy p = carrier_pol(false);
	struct sdp_local l = local_of("10.0.0.9", 50000, &o);

	sdp_origin_init(&o);
	assert_int_equal(sdp_offer(&d, &p, &l), 0);
	struct pl b = P("v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 0 RTP/AVP 0\r\n");
	assert_int_equal(sdp_parse(&s, &b), 0);
	assert_int_equal(sdp_answer_apply(&n, &s, &d), ENOTSUP);
	b = P("v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 4 RTP/AVP 0\r\nm=audio 6 RTP/AVP 0\r\n");
	assert_int_equal(sdp_parse(&s, &b), 0);
	assert_int_equal(sdp_answer_apply(&n, &s, &d), EPROTO);
	b = P("v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 4 RTP/AVP 8\r\n"); /* a codec we did not offer */
	assert_int_equal(sdp_parse(&s, &b), 0);
	assert_int_equal(sdp_answer_apply(&n, &s, &d), ENOTSUP);
	b = P("v=0\r\nm=audio 4 RTP/AVP 0\r\n"); /* no c= */
	assert_int_equal(sdp_parse(&s, &b), 0);
	assert_int_equal(sdp_answer_apply(&n, &s, &d), ENOTSUP);
}

static void test_origin_version(void **state)
{
	struct sdp_origin o;
	struct sdp_policy p = carrier_pol(false);
	struct sdp_local l = local_of("10.0.0.9", 50000, &o);
	struct sdp_desc d;
	struct mbuf mb;
	struct sdp_session s;
	uint64_t v[4];

	sdp_origin_init(&o);
	mbuf_init(&mb);
	for (int i = 0; i < 4; i++) {
		if (i == 2)
			l.dir = SDP_SENDONLY; /* hold: the body changes */
		assert_int_equal(sdp_offer(&d, &p, &l), 0);
		mbuf_reset(&mb);
		assert_int_equal(sdp_build(&mb, &d), 0);
		struct pl b = pl_from((const char *)mb.buf, mb.end);
		assert_int_equal(sdp_parse(&s, &b), 0);
		assert_int_equal(pl_u64(&s.o_sess_version, &v[i]), 0);
		uint64_t id;
		assert_int_equal(pl_u64(&s.o_sess_id, &id), 0);
		assert_int_equal(id, o.sess_id);
	}
	assert_int_equal(v[1], v[0]);	  /* same body: same version */
	assert_int_equal(v[2], v[0] + 1); /* changed: +1 */
	assert_int_equal(v[3], v[2]);
	assert_int_equal(sdp_media_dir(&s, &s.media[0]), SDP_SENDONLY);

	/* legacy hold writes c=0.0.0.0 at media level */
	l.legacy_hold = true;
	assert_int_equal(sdp_offer(&d, &p, &l), 0);
	mbuf_reset(&mb);
	assert_int_equal(sdp_build(&mb, &d), 0);
	struct pl b = pl_from((const char *)mb.buf, mb.end);
	assert_int_equal(sdp_parse(&s, &b), 0);
	assert_true(s.media[0].conn.hold);
	assert_int_equal(sdp_media_dir(&s, &s.media[0]), SDP_SENDONLY);
	mbuf_reset(&mb);
}

static void test_multi_mline_answer(void **state)
{
	const char *off = "v=0\r\nc=IN IP4 10.0.0.1\r\n"
			  "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
			  "m=audio 4000 RTP/AVP 0\r\n"
			  "m=audio 4002 RTP/AVP 0\r\n";
	struct sdp_session s;
	struct sdp_neg n;
	struct sdp_desc d;
	struct sdp_origin o;
	struct sdp_policy p = phone_pol();
	struct mbuf mb;

	sdp_origin_init(&o);
	struct sdp_local l = local_of("10.0.0.9", 50000, &o);
	struct pl b = P(off);
	assert_int_equal(sdp_parse(&s, &b), 0);
	assert_int_equal(sdp_answer(&n, &d, &s, &p, &l), 0);
	assert_int_equal(n.media_idx, 1);
	assert_int_equal(d.nmedia, 3);
	assert_true(d.media[0].rejected);
	assert_false(d.media[1].rejected);
	assert_true(d.media[2].rejected);
	mbuf_init(&mb);
	assert_int_equal(sdp_build(&mb, &d), 0);
	char *txt = strndup((const char *)mb.buf, mb.end);
	assert_non_null(strstr(txt, "m=video 0 RTP/AVP 96\r\n"));
	assert_non_null(strstr(txt, "m=audio 50000 RTP/AVP 0\r\n"));
	assert_non_null(strstr(txt, "m=audio 0 RTP/AVP 0\r\n"));
	free(txt);
	mbuf_reset(&mb);
}

/* A copy of only the m-lines a body has (call/callmedia.c keeps the caller's offer so during
 * set-up) answers exactly as the whole structure does; the RTCP address is the next port unless
 * a=rtcp names one. */
static void test_compact_copy_rtcp(void **state)
{
	static const struct {
		const char *sdp;
		const char *rtcp; /* expected neg.remote_rtcp */
	} rows[] = {
	    {"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0 8\r\n", "10.0.0.1:4001"},
	    {"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4100\r\n",
	     "10.0.0.1:4100"},
	    {"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n"
	     "a=rtcp:4100 IN IP4 10.0.0.7\r\n",
	     "10.0.0.7:4100"},
	    {"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 65535 RTP/AVP 0\r\n", "10.0.0.1:65535"},
	    {"v=0\r\nc=IN IP6 2001:db8::1\r\nm=audio 4000 RTP/AVP 0\r\n", "[2001:db8::1]:4001"},
	    {"v=0\r\nc=IN IP4 10.0.0.1\r\nm=video 5000 RTP/AVP 96\r\n"
	     "m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 0\r\n",
	     "10.0.0.1:4001"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct sdp_session s;
		struct sdp_neg n1, n2;
		struct sdp_desc d1, d2;
		struct sdp_origin o1, o2;
		struct sdp_policy p = phone_pol();
		struct mbuf m1, m2;
		char a[SA_STRLEN];
		struct pl b = P(rows[i].sdp);

		assert_int_equal(sdp_parse(&s, &b), 0);
		size_t size = offsetof(struct sdp_session, media) + s.nmedia * sizeof(s.media[0]);
		struct sdp_session *c = malloc(size); /* ASan: nothing past the m-lines is read */
		assert_non_null(c);
		memcpy(c, &s, size);
		sdp_origin_init(&o1);
		o2 = o1;
		struct sdp_local l1 = local_of("10.0.0.9", 50000, &o1);
		struct sdp_local l2 = local_of("10.0.0.9", 50000, &o2);
		assert_int_equal(sdp_answer(&n1, &d1, &s, &p, &l1), 0);
		assert_int_equal(sdp_answer(&n2, &d2, c, &p, &l2), 0);
		assert_string_equal(sa_fmt(&n2.remote_rtcp, a, sizeof(a)), rows[i].rtcp);
		assert_true(sa_eq(&n1.remote_rtcp, &n2.remote_rtcp));
		assert_true(sa_eq(&n1.remote, &n2.remote));
		mbuf_init(&m1);
		mbuf_init(&m2);
		assert_int_equal(sdp_build(&m1, &d1), 0);
		assert_int_equal(sdp_build(&m2, &d2), 0);
		assert_int_equal(m1.end, m2.end);
		assert_memory_equal(m1.buf, m2.buf, m1.end);
		mbuf_reset(&m1);
		mbuf_reset(&m2);
		free(c);
	}
}

static void test_codec_enum_matches_peer(void **state)
{
	assert_int_equal((int)SDP_CODEC_PCMU, (int)PEER_CODEC_ULAW);
	assert_int_equal((int)SDP_CODEC_PCMA, (int)PEER_CODEC_ALAW);
	assert_int_equal((int)SDP_CODEC_G722, (int)PEER_CODEC_G722);
	assert_int_equal((int)SDP_CODEC_OPUS, (int)PEER_CODEC_OPUS);
	assert_int_equal((int)SDP_CODEC_GSM, (int)PEER_CODEC_GSM);
	assert_int_equal((int)SDP_CODEC_G729, (int)PEER_CODEC_G729);
	assert_int_equal((int)SDP_CODEC_COUNT, (int)PEER_CODEC_COUNT);
	assert_true(sdp_codec_bridgeable(SDP_CODEC_PCMU, SDP_CODEC_PCMA));
	assert_true(sdp_codec_bridgeable(SDP_CODEC_G722, SDP_CODEC_G722));
	assert_false(sdp_codec_bridgeable(SDP_CODEC_G722, SDP_CODEC_PCMU));
	assert_false(sdp_codec_bridgeable(SDP_CODEC_TE, SDP_CODEC_TE));
}

static void test_ngn_corpus(void **state)
{
	/* pjproject's SDP seeds (tests/corpora): every body parses to a known verdict, no crash. */
	const char *root = getenv("MIKAKA_CORPORA");
	char path[512];
	snprintf(path, sizeof(path), "%s/fuzz-seeds/pjproject/fuzz-sdp_seed_corpus",
		 root ? root : "tests/corpora");
	FILE *ls = NULL;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "ls '%s' 2>/dev/null | head -200", path);
	ls = popen(cmd, "r");
	assert_non_null(ls);
	char name[256];
	unsigned files = 0;
	struct sdp_session *s = malloc(sizeof(*s));
	while (fgets(name, sizeof(name), ls)) {
		name[strcspn(name, "\n")] = 0;
		char fp[800];
		snprintf(fp, sizeof(fp), "%s/%s", path, name);
		FILE *f = fopen(fp, "rb");
		if (!f)
			continue;
		char *buf = malloc(70000);
		size_t n = fread(buf, 1, 70000, f);
		fclose(f);
		struct pl b = pl_from(buf, n);
		int err = sdp_parse(s, &b); /* any verdict, but no crash and a known errno */
		assert_true(err == 0 || err == EBADMSG || err == E2BIG);
		free(buf);
		files++;
	}
	pclose(ls);
	free(s);
	assert_true(files > 0); /* the corpus is part of the repository: missing is a failure */
}

/* ---------------------------------------------------------------------------------------------
 * SDES (RFC 4568 a=crypto).
 */

/* 30 bytes 0x00..0x1d in base64, 28 bytes, 44 bytes. */
#define K30 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"
#define K28 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw=="
#define K44 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis="

static void test_crypto_decode_table(void **state)
{
	static const struct {
		const char *val;
		int err;
		uint32_t tag;
		enum sdp_suite suite;
		size_t klen;
		uint64_t lifetime;
	} t[] = {
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30, 0, 1, SDP_SUITE_AES_CM_128_HMAC_SHA1_80, 30, 0},
	    {"2 AES_CM_128_HMAC_SHA1_32 inline:" K30 "|2^31", 0, 2,
	     SDP_SUITE_AES_CM_128_HMAC_SHA1_32, 30, 1ull << 31},
	    {"  7 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1048576 ", 0, 7,
	     SDP_SUITE_AES_CM_128_HMAC_SHA1_80, 30, 1048576},
	    {"3 AEAD_AES_128_GCM inline:" K28, 0, 3, SDP_SUITE_AEAD_AES_128_GCM, 28, 0},
	    {"3 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw", 0, 3,
	     SDP_SUITE_AEAD_AES_128_GCM, 28, 0}, /* padding dropped */
	    {"4 AEAD_AES_256_GCM inline:" K44, 0, 4, SDP_SUITE_AEAD_AES_256_GCM, 44, 0},
	    /* not usable: refused as a line, the next one may be */
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^20|1:4", ENOTSUP}, /* MKI */
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:4", ENOTSUP},	     /* MKI alone */
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 ";inline:" K30, ENOTSUP}, /* two keys */
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " UNENCRYPTED_SRTP", ENOTSUP},
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 " KDR=1", ENOTSUP},
	    {"1 F8_128_HMAC_SHA1_80 inline:" K30, ENOTSUP},
	    {"1 AES_256_CM_HMAC_SHA1_80 inline:" K44, ENOTSUP},
	    /* garbage */
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K28, EBADMSG}, /* wrong length */
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K44, EBADMSG},
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:AAEC*wQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", EBADMSG},
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "===", EBADMSG},
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:", EBADMSG},
	    {"1 AES_CM_128_HMAC_SHA1_80 " K30, EBADMSG}, /* no inline: */
	    {"0 AES_CM_128_HMAC_SHA1_80 inline:" K30, EBADMSG},
	    {"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" K30, EBADMSG},
	    {"x AES_CM_128_HMAC_SHA1_80 inline:" K30, EBADMSG},
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^0", EBADMSG},
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^64", EBADMSG},
	    {"1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|0", EBADMSG},
	    {"1 AES_CM_128_HMAC_SHA1_80", EBADMSG},
	    {"", EBADMSG},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sdp_crypto c;
		struct pl v = P(t[i].val);
		int err = sdp_crypto_decode(&v, &c);

		if (err != t[i].err)
			fail_msg("case %zu (%s): %d, want %d", i, t[i].val, err, t[i].err);
		if (err) {
			for (size_t k = 0; k < sizeof(c.key); k++)
				assert_int_equal(c.key[k], 0); /* nothing half-decoded left behind */
			continue;
		}
		assert_int_equal(c.tag, t[i].tag);
		assert_int_equal(c.suite, t[i].suite);
		assert_int_equal(c.key_len, t[i].klen);
		assert_int_equal(c.lifetime, t[i].lifetime);
		for (size_t k = 0; k < c.key_len; k++)
			assert_int_equal(c.key[k], k);
	}
}

static void test_crypto_roundtrip(void **state)
{
	for (int s = SDP_SUITE_AES_CM_128_HMAC_SHA1_80; s < SDP_SUITE_COUNT; s++) {
		struct sdp_crypto c, d;
		struct mbuf mb;

		assert_int_equal(sdp_crypto_new(&c, (enum sdp_suite)s, (uint32_t)s), 0);
		assert_int_equal(c.key_len, sdp_suite_key_len((enum sdp_suite)s));
		mbuf_init(&mb);
		assert_int_equal(sdp_crypto_encode(&mb, &c), 0);
		assert_true(mb.end > 11 && !memcmp(mb.buf, "a=crypto:", 9));
		assert_true(!memcmp(mb.buf + mb.end - 2, "\r\n", 2));
		struct pl v = pl_from((const char *)mb.buf + 9, mb.end - 11);
		assert_int_equal(sdp_crypto_decode(&v, &d), 0);
		assert_int_equal(d.tag, c.tag);
		assert_int_equal(d.suite, c.suite);
		assert_memory_equal(d.key, c.key, c.key_len);
		mbuf_reset(&mb);
	}
	struct sdp_crypto z;
	assert_int_equal(sdp_crypto_new(&z, SDP_SUITE_NONE, 1), EINVAL);
	struct mbuf mb;
	mbuf_init(&mb);
	z.suite = SDP_SUITE_AEAD_AES_256_GCM;
	z.key_len = 30;
	assert_int_equal(sdp_crypto_encode(&mb, &z), EINVAL); /* length does not fit the suite */
	mbuf_reset(&mb);
}

static void keys4(struct sdp_crypto *k)
{
	static const enum sdp_suite s[4] = {
	    SDP_SUITE_AES_CM_128_HMAC_SHA1_80, SDP_SUITE_AES_CM_128_HMAC_SHA1_32,
	    SDP_SUITE_AEAD_AES_256_GCM, SDP_SUITE_AEAD_AES_128_GCM};
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(sdp_crypto_new(&k[i], s[i], i + 1), 0);
}

static char *build_txt(const struct sdp_desc *d)
{
	struct mbuf mb;
	mbuf_init(&mb);
	assert_int_equal(sdp_build(&mb, d), 0);
	char *txt = strndup((const char *)mb.buf, mb.end);
	mbuf_reset(&mb);
	return txt;
}

/* Offer/answer with SDES: who may answer what, the tags and keys that come out. */
static void test_srtp_offer_answer(void **state)
{
	struct sdp_crypto ka[4], kb[4];
	struct sdp_origin oa, ob;
	struct sdp_desc offer, ans;
	struct sdp_session s;
	struct sdp_neg neg, neg2;
	struct pl b;

	keys4(ka);
	keys4(kb);
	sdp_origin_init(&oa);
	sdp_origin_init(&ob);

	/* MAND: RTP/SAVP with one a=crypto per suite, tags 1..4 */
	struct sdp_policy pm = phone_pol();
	pm.srtp = SDP_SRTP_MAND;
	pm.keys = ka;
	pm.nkeys = 4;
	struct sdp_local la = local_of("10.8.0.1", 50000, &oa);
	assert_int_equal(sdp_offer(&offer, &pm, &la), 0);
	char *txt = build_txt(&offer);
	assert_non_null(strstr(txt, "m=audio 50000 RTP/SAVP "));
	assert_non_null(strstr(txt, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
	assert_non_null(strstr(txt, "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"));
	assert_non_null(strstr(txt, "a=crypto:3 AEAD_AES_256_GCM inline:"));
	assert_non_null(strstr(txt, "a=crypto:4 AEAD_AES_128_GCM inline:"));

	/* The other side (OPT, over TLS) answers it: first usable line of the offer (tag 1). */
	struct sdp_policy po = phone_pol();
	po.srtp = SDP_SRTP_OPT;
	po.keys = kb;
	po.nkeys = 4;
	struct sdp_local lb = local_of("10.8.0.2", 40000, &ob);
	b = P(txt);
	assert_int_equal(sdp_parse(&s, &b), 0);
	assert_int_equal(sdp_answer(&neg, &ans, &s, &po, &lb), 0);
	assert_true(neg.srtp);
	assert_int_equal(neg.rx.tag, 1);
	assert_memory_equal(neg.rx.key, ka[0].key, 30); /* it decrypts with our offered key */
	assert_memory_equal(neg.tx.key, kb[0].key, 30);
	char *atxt = build_txt(&ans);
	assert_non_null(strstr(atxt, "m=audio 40000 RTP/SAVP "));
	assert_non_null(strstr(atxt, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
	assert_null(strstr(atxt, "a=crypto:2"));
	free(txt);

	/* ... and the offerer applies the answer: the keys cross. */
	b = P(atxt);
	assert_int_equal(sdp_parse(&s, &b), 0);
	assert_int_equal(sdp_answer_apply(&neg2, &s, &offer), 0);
	assert_true(neg2.srtp);
	assert_memory_equal(neg2.tx.key, ka[0].key, 30);
	assert_memory_equal(neg2.rx.key, kb[0].key, 30);
	assert_int_equal(neg2.tx.suite, SDP_SUITE_AES_CM_128_HMAC_SHA1_80);
	free(atxt);

	/* An answer with a tag we did not offer, or a suite not matching the tag, or none:
	 * refused. */
	static const char *bad_answers[] = {
	    "a=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n",
	    "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" K30 "\r\n",
	    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|1:1\r\n",
	    "",
	};
	for (size_t i = 0; i < 4; i++) {
		char body[512];
		snprintf(body, sizeof(body),
			 "v=0\r\no=- 1 1 IN IP4 10.8.0.2\r\ns=-\r\nc=IN IP4 10.8.0.2\r\nt=0 0\r\n"
			 "m=audio 40000 RTP/SAVP 0\r\n%s",
			 bad_answers[i]);
		b = P(body);
		assert_int_equal(sdp_parse(&s, &b), 0);
		assert_int_equal(sdp_answer_apply(&neg2, &s, &offer), ENOTSUP);
		assert_false(neg2.srtp);
	}

	/* Offers to answer, per policy. */
	static const struct {
		const char *proto;
		const char *crypto;
		int pol; /* SDP_SRTP_* */
		int err;
		bool srtp;
		uint32_t tag;
	} t[] = {
	    /* SAVP with crypto: OPT/MAND answer it, OFF (not TLS) refuses */
	    {"RTP/SAVP", "a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:" K30 "\r\n", SDP_SRTP_OPT, 0, true, 5},
	    {"RTP/SAVP", "a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:" K30 "\r\n", SDP_SRTP_MAND, 0, true, 5},
	    {"RTP/SAVP", "a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:" K30 "\r\n", SDP_SRTP_OFF, ENOTSUP},
	    /* an unusable first line (MKI), a usable second */
	    {"RTP/SAVP",
	     "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K30 "|2^31|1:1\r\n"
	     "a=crypto:2 AEAD_AES_128_GCM inline:" K28 "\r\n",
	     SDP_SRTP_MAND, 0, true, 2},
	    /* nothing usable */
	    {"RTP/SAVP", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K28 "\r\n", SDP_SRTP_OPT, ENOTSUP},
	    {"RTP/SAVP", "", SDP_SRTP_MAND, ENOTSUP},
	    /* plain offers: MAND (encryption=yes) refuses, OPT/OFF answer plain */
	    {"RTP/AVP", "", SDP_SRTP_MAND, ENOTSUP},
	    {"RTP/AVP", "", SDP_SRTP_OPT, 0, false},
	    /* best-effort SRTP (crypto in RTP/AVP): taken when allowed, ignored when not */
	    {"RTP/AVP", "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n", SDP_SRTP_OPT, 0, true, 3},
	    {"RTP/AVP", "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:" K30 "\r\n", SDP_SRTP_OFF, 0, false},
	    {"RTP/SAVPF", "a=crypto:8 AEAD_AES_256_GCM inline:" K44 "\r\n", SDP_SRTP_MAND, 0, true, 8},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char body[768];
		struct sdp_policy p = phone_pol();

		p.srtp = t[i].pol;
		p.keys = kb;
		p.nkeys = 4;
		snprintf(body, sizeof(body),
			 "v=0\r\no=- 1 1 IN IP4 10.8.0.2\r\ns=-\r\nc=IN IP4 10.8.0.2\r\nt=0 0\r\n"
			 "m=audio 40000 %s 0\r\n%sa=sendrecv\r\n",
			 t[i].proto, t[i].crypto);
		b = P(body);
		assert_int_equal(sdp_parse(&s, &b), 0);
		int err = sdp_answer(&neg, &ans, &s, &p, &lb);
		if (err != t[i].err)
			fail_msg("case %zu: %d, want %d", i, err, t[i].err);
		if (err)
			continue;
		assert_int_equal(neg.srtp, t[i].srtp);
		char *a = build_txt(&ans);
		if (t[i].srtp) {
			char want[64];
			snprintf(want, sizeof(want), "a=crypto:%u %s inline:", t[i].tag,
				 sdp_suite_name((enum sdp_suite)neg.rx.suite));
			assert_non_null(strstr(a, want));
			assert_int_equal(neg.rx.tag, t[i].tag);
			assert_int_equal(neg.tx.suite, neg.rx.suite);
			assert_non_null(strstr(a, t[i].proto));
		} else {
			assert_null(strstr(a, "a=crypto"));
			assert_non_null(strstr(a, "RTP/AVP "));
		}
		free(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_basic),
	    cmocka_unit_test(test_parse_lf_rtcp_static),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_parse_too_many),
	    cmocka_unit_test(test_answer_table),
	    cmocka_unit_test(test_b2bua_flow),
	    cmocka_unit_test(test_pt_renumber),
	    cmocka_unit_test(test_answer_apply_errors),
	    cmocka_unit_test(test_origin_version),
	    cmocka_unit_test(test_multi_mline_answer),
	    cmocka_unit_test(test_compact_copy_rtcp),
	    cmocka_unit_test(test_codec_enum_matches_peer),
	    cmocka_unit_test(test_ngn_corpus),
	    cmocka_unit_test(test_crypto_decode_table),
	    cmocka_unit_test(test_crypto_roundtrip),
	    cmocka_unit_test(test_srtp_offer_answer),
	};
	return cmocka_run_group_tests_name("sdp", tests, NULL, NULL);
}
