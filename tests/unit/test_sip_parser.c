/* Unit tests for the SIP message parser: RFC 4475 and RFC 5118 torture messages with their
 * verdicts, real-world captures, URIs, URI comparison, lists, stream framing and robustness. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include "sip.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 */
static const char *corpora(void)
{
	const char *c = getenv("MIKAKA_CORPORA");

	return c && *c ? c : "tests/corpora";
}

/* Reads a corpus file (relative to the corpora root) into a malloc'ed buffer. */
static char *read_corpus(const char *rel, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", corpora(), rel);
	f = fopen(path, "rb");
	if (!f) {
		print_error("cannot open %s\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct sip_msg *parse_buf(const char *buf, size_t len, bool datagram, int *errp,
				 size_t *usedp)
{
	struct sip_msg *msg = NULL;
	struct sip_parse_error perr = {0};
	size_t used = 0;
	int err = sip_msg_parse(&msg, buf, len, datagram, &used, &perr);

	if (errp)
		*errp = err;
	if (usedp)
		*usedp = used;
	if (err) {
		assert_null(msg);
		assert_non_null(perr.reason);
	}
	return err ? NULL : msg;
}

/* Parses a literal message (as a datagram) and requires no error at all. */
static struct sip_msg *parse_ok(const char *s)
{
	int err;
	struct sip_msg *msg = parse_buf(s, strlen(s), true, &err, NULL);

	if (err || msg->err_reason)
		print_error("unexpected error: %d %s\n", err, msg ? msg->err_reason : "");
	assert_int_equal(err, 0);
	assert_null(msg->err_reason);
	return msg;
}

static void assert_pl(struct pl pl, const char *s)
{
	if (pl.l != strlen(s) || (pl.l && memcmp(pl.p, s, pl.l) != 0)) {
		print_error("got '%.*s', want '%s'\n", PL_ARG(pl), s);
		fail();
	}
}

static void assert_unescaped(const struct pl *pl, const void *want, size_t wl)
{
	struct mbuf mb;

	mbuf_init(&mb);
	assert_int_equal(sip_unescape(pl, &mb), 0);
	assert_int_equal(mb.end, wl);
	assert_memory_equal(mb.buf, want, wl);
	mbuf_reset(&mb);
}

static void assert_printable(const char *s)
{
	assert_non_null(s);
	assert_true(strlen(s) > 0);
	for (const char *p = s; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

static size_t count_values(const struct sip_msg *msg, enum sip_hdr_id id, const char *name)
{
	struct sip_hdr_iter it;
	struct pl v;
	size_t n = 0;

	sip_hdr_iter_init(&it, msg, id, name);
	while (sip_hdr_iter_next(&it, &v))
		n++;
	return n;
}

/* The n-th value (0-based) of a header over all its occurrences. */
static struct pl nth_value(const struct sip_msg *msg, enum sip_hdr_id id, const char *name,
			   size_t n)
{
	struct sip_hdr_iter it;
	struct pl v = PL_INIT;

	sip_hdr_iter_init(&it, msg, id, name);
	for (size_t i = 0; i <= n; i++)
		assert_true(sip_hdr_iter_next(&it, &v));
	return v;
}

static struct sip_via nth_via(const struct sip_msg *msg, size_t n)
{
	struct pl v = nth_value(msg, SIP_HDR_VIA, NULL, n);
	struct sip_via via;

	assert_int_equal(sip_via_decode(&via, &v), 0);
	return via;
}

static struct sip_addr nth_addr(const struct sip_msg *msg, enum sip_hdr_id id, size_t n)
{
	struct pl v = nth_value(msg, id, NULL, n);
	struct sip_addr a;

	assert_int_equal(sip_addr_decode(&a, &v), 0);
	return a;
}

static void assert_param(const struct pl *params, const char *name, const char *value)
{
	struct pl v;

	assert_int_equal(sip_param_get(params, name, &v), 0);
	assert_pl(v, value);
}

/* ---------------------------------------------------------------------------------------------
 * Per-file field checks (RFC 4475, RFC 5118, real-world).
 */
static void chk_wsinv(const struct sip_msg *m)
{
	struct sip_via v;
	struct sip_addr a;

	assert_int_equal(m->mid, SIP_METHOD_INVITE);
	assert_true(sip_param_exists(&m->uri.params, "unknownparam"));
	assert_int_equal(m->max_forwards, 68);
	assert_true(m->cseq_ok);
	assert_int_equal(m->cseq.num, 9);
	assert_int_equal(m->cseq.mid, SIP_METHOD_INVITE);
	assert_true(m->via_ok);
	assert_pl(m->via.version, "2.0");
	assert_int_equal(m->via.tp, SIP_TP_UDP);
	assert_pl(m->via.host, "192.0.2.2");
	assert_pl(m->via.branch, "390skdjuw");
	assert_pl(m->to.uri.user, "vivekg");
	assert_pl(m->to.tag, "1918181833n");
	assert_pl(m->from.dname, "J Rosenberg \\\\\\\"");
	assert_pl(m->from.tag, "98asjd8");
	assert_pl(m->call_id, "wsinv.ndaksdj@192.0.2.1");
	assert_int_equal(count_values(m, SIP_HDR_VIA, NULL), 3);
	v = nth_via(m, 1);
	assert_int_equal(v.tp, SIP_TP_TCP);
	assert_pl(v.host, "spindle.example.com");
	assert_pl(v.branch, "z9hG4bK9ikj8");
	v = nth_via(m, 2);
	assert_pl(v.host, "192.168.255.111");
	assert_pl(v.branch, "z9hG4bK30239");
	a = nth_addr(m, SIP_HDR_CONTACT, 0);
	assert_pl(a.dname, "Quoted string \\\"\\\"");
	assert_param(&a.params, "newparam", "newvalue");
	assert_param(&a.params, "q", "0.33");
	assert_true(sip_param_exists(&a.params, "secondparam"));
	assert_non_null(sip_msg_hdr(m, SIP_HDR_SUBJECT));
	assert_int_equal(sip_msg_hdr(m, SIP_HDR_SUBJECT)->value.l, 0);
	assert_non_null(sip_msg_xhdr(m, "newfangledheader"));
	assert_pl(sip_msg_xhdr(m, "UnknownHeaderWithUnusualValue")->value, ";;,,;;,;");
	a = nth_addr(m, SIP_HDR_ROUTE, 0);
	assert_true(sip_param_exists(&a.uri.params, "lr"));
	assert_param(&a.uri.params, "unknownwith", "value");
	assert_int_equal(m->clen, 150);
	assert_int_equal(m->body.l, 150);
	assert_pl(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE)->value, "application/sdp");
}

static void chk_intmeth(const struct sip_msg *m)
{
	assert_pl(m->method, "!interesting-Method0123456789_*+`.%indeed'~");
	assert_int_equal(m->mid, SIP_METHOD_OTHER);
	assert_pl(m->cseq.method, "!interesting-Method0123456789_*+`.%indeed'~");
	assert_int_equal(m->cseq.num, 139122385);
	assert_true(m->uri_ok);
	assert_pl(m->uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	assert_pl(m->uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
	assert_pl(m->uri.host, "example.com");
	assert_pl(m->via.branch, "z9hG4bK-.!%66*_+`'~");
	/* BEL, NUL and DEL as quoted-pairs: the display name is not cut at the NUL. */
	assert_int_equal(m->to.dname.l, 20);
	assert_memory_equal(m->to.dname.p, "BEL:\\\x07 NUL:\\\0 DEL:\\\x7f", 20);
	assert_pl(m->from.dname, "token1~` token2'+_ token3*%!.-");
	assert_pl(m->from.tag, "_token~1'+`*%!-.");
	assert_int_equal(m->max_forwards, 255);
	assert_non_null(sip_msg_xhdr(m, "extensionHeader-!.%*+_`'~"));
}

static void chk_esc01(const struct sip_msg *m)
{
	struct sip_uri u;
	struct sip_addr c;
	struct pl v, s = PL("sip:user@example.com");

	assert_int_equal(m->uri.scheme, SIP_URI_SIP);
	assert_pl(m->uri.user, "sips%3Auser%40example.com");
	assert_pl(m->uri.host, "example.net");
	assert_unescaped(&m->uri.user, "sips:user@example.com", 21);
	assert_pl(m->to.uri.user, "%75se%72");
	assert_unescaped(&m->to.uri.user, "user", 4);
	assert_int_equal(sip_uri_decode(&u, &s), 0);
	assert_true(sip_uri_eq(&m->to.uri, &u));
	assert_unescaped(&m->from.uri.user, "I have spaces", 13);
	c = nth_addr(m, SIP_HDR_CONTACT, 0);
	assert_unescaped(&c.uri.user, "caller", 6);
	assert_true(sip_param_exists(&c.uri.params, "%6C%72"));
	assert_int_equal(sip_param_get(&c.uri.params, "n%61me", &v), 0);
	/* Unescaped once: value%41, never valueA. */
	assert_unescaped(&v, "value%41", 8);
	assert_pl(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE)->value, "application/sdp");
}

static void chk_escnull(const struct sip_msg *m)
{
	struct sip_addr c0, c1;

	assert_unescaped(&m->to.uri.user, "null-\0-null", 11);
	assert_unescaped(&m->from.uri.user, "null-\0-null", 11);
	assert_int_equal(count_values(m, SIP_HDR_CONTACT, NULL), 2);
	c0 = nth_addr(m, SIP_HDR_CONTACT, 0);
	c1 = nth_addr(m, SIP_HDR_CONTACT, 1);
	assert_unescaped(&c0.uri.user, "\0", 1);
	assert_unescaped(&c1.uri.user, "\0\0", 2);
	assert_false(sip_uri_eq(&c0.uri, &c1.uri));
	assert_true(m->has_clen);
	assert_int_equal(m->clen, 0);
}

static void chk_esc02(const struct sip_msg *m)
{
	assert_pl(m->method, "RE%47IST%45R");
	assert_int_equal(m->mid, SIP_METHOD_OTHER);
	assert_int_equal(m->cseq.mid, SIP_METHOD_OTHER);
	assert_pl(m->to.dname, "%Z%45");
	assert_int_equal(count_values(m, SIP_HDR_CONTACT, NULL), 2);
	assert_int_equal(sip_msg_hdr_count(m, SIP_HDR_CONTACT), 2);
	assert_non_null(sip_msg_xhdr(m, "C%6Fntact"));
	assert_pl(m->via.branch, "z9hG4bK209%fzsnel234");
}

static void chk_lwsdisp(const struct sip_msg *m)
{
	assert_pl(m->from.dname, "caller");
	assert_pl(m->from.uri.user, "caller");
	assert_pl(m->from.tag, "323");
}

static void chk_longreq(const struct sip_msg *m)
{
	assert_true(m->to.dname.l > 100);
	assert_true(m->from.tag.l > 100);
	assert_true(m->call_id.l > 100);
	assert_true(count_values(m, SIP_HDR_VIA, NULL) >= 10);
	assert_int_equal(m->body.l, 150);
}

static void chk_dblreq(const struct sip_msg *m)
{
	assert_int_equal(m->mid, SIP_METHOD_REGISTER);
	assert_int_equal(m->body.l, 0);
	assert_pl(m->call_id, "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
	assert_int_equal(m->raw.l, 300);
	assert_null(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE));
}

static void chk_semiuri(const struct sip_msg *m)
{
	assert_pl(m->uri.user, "user;par=u%40example.net");
	assert_unescaped(&m->uri.user, "user;par=u@example.net", 22);
	assert_pl(m->uri.host, "example.com");
	assert_int_equal(m->uri.params.l, 0);
	assert_int_equal(count_values(m, SIP_HDR_ACCEPT, NULL), 6);
	{
		struct pl v = nth_value(m, SIP_HDR_ACCEPT, NULL, 5);

		assert_pl(v, "message/sipfrag");
	}
}

static void chk_transports(const struct sip_msg *m)
{
	static const enum sip_transport tps[] = {SIP_TP_UDP, SIP_TP_SCTP, SIP_TP_TLS, SIP_TP_OTHER,
						 SIP_TP_TCP};

	assert_int_equal(count_values(m, SIP_HDR_VIA, NULL), 5);
	for (size_t i = 0; i < 5; i++) {
		struct sip_via v = nth_via(m, i);

		assert_int_equal(v.tp, tps[i]);
	}
	assert_pl(nth_via(m, 3).transport, "UNKNOWN");
	assert_pl(m->call_id, "transports.kijh4akdnaqjkwendsasfdj");
}

static void chk_mpart01(const struct sip_msg *m)
{
	assert_int_equal(m->clen, 553);
	assert_int_equal(m->body.l, 553);
	assert_true(m->body.p + m->body.l == m->raw.p + m->raw.l);
	assert_non_null(memchr(m->body.p, '\0', m->body.l));
}

static void chk_unreason(const struct sip_msg *m)
{
	assert_false(m->is_request);
	assert_int_equal(m->scode, 200);
	assert_true(m->reason.l > 20);
	assert_memory_equal(m->reason.p, "= 2**3 * 5**2 ", 14);
	assert_int_equal(m->body.l, 154);
}

static void chk_noreason(const struct sip_msg *m)
{
	assert_false(m->is_request);
	assert_int_equal(m->scode, 100);
	assert_int_equal(m->reason.l, 0);
	assert_pl(m->version, "SIP/2.0");
}

static void chk_inv2543(const struct sip_msg *m)
{
	assert_false(m->has_clen);
	assert_int_equal(m->body.l, 105);
	assert_int_equal(m->max_forwards, -1);
	assert_true(m->via_ok);
	assert_false(pl_isset(&m->via.branch));
	assert_false(pl_isset(&m->from.tag));
	assert_true(sip_param_exists(&m->from.uri.params, "user"));
	assert_true(sip_param_exists(&m->to.params, "user"));
}

static void chk_unkscm(const struct sip_msg *m)
{
	assert_true(m->uri_ok);
	assert_int_equal(m->uri.scheme, SIP_URI_OTHER);
	assert_pl(m->uri.scheme_name, "nobodyKnowsThisScheme");
	assert_pl(m->uri.opaque, "totallyopaquecontent");
}

static void chk_novelsc(const struct sip_msg *m)
{
	assert_true(m->uri_ok);
	assert_int_equal(m->uri.scheme, SIP_URI_OTHER);
	assert_pl(m->uri.scheme_name, "soap.beep");
	assert_pl(m->uri.opaque, "//192.0.2.103:3002");
}

static void chk_unksm2(const struct sip_msg *m)
{
	struct sip_addr c = nth_addr(m, SIP_HDR_CONTACT, 0);

	assert_int_equal(m->to.uri.scheme, SIP_URI_OTHER);
	assert_pl(m->to.uri.scheme_name, "isbn");
	assert_pl(m->from.uri.scheme_name, "http");
	assert_pl(m->from.tag, "3234233");
	assert_pl(c.uri.scheme_name, "name");
	assert_pl(c.uri.opaque, "John_Smith");
}

static void chk_cparam01(const struct sip_msg *m)
{
	struct sip_addr c = nth_addr(m, SIP_HDR_CONTACT, 0);

	assert_pl(c.auri, "sip:+19725552222@gw1.example.net");
	assert_int_equal(c.uri.params.l, 0);
	assert_true(sip_param_exists(&c.params, "unknownparam"));
}

static void chk_cparam02(const struct sip_msg *m)
{
	struct sip_addr c = nth_addr(m, SIP_HDR_CONTACT, 0);

	assert_pl(c.uri.user, "+19725552222");
	assert_true(sip_param_exists(&c.uri.params, "unknownparam"));
	assert_int_equal(c.params.l, 0);
}

static void chk_regescrt(const struct sip_msg *m)
{
	struct sip_addr c = nth_addr(m, SIP_HDR_CONTACT, 0);

	assert_pl(c.uri.headers, "Route=%3Csip:sip.example.com%3E");
	assert_pl(c.uri.host, "example.com");
}

static void chk_badbranch(const struct sip_msg *m)
{
	assert_pl(m->via.branch, "z9hG4bK");
}

static void chk_bcast(const struct sip_msg *m)
{
	assert_pl(nth_via(m, 1).host, "255.255.255.255");
	assert_int_equal(m->scode, 200);
}

static void chk_zeromf(const struct sip_msg *m)
{
	assert_int_equal(m->max_forwards, 0);
}

static void chk_bext01(const struct sip_msg *m)
{
	assert_true(sip_msg_has_option(m, SIP_HDR_REQUIRE, "nothingSupportsThis"));
	assert_true(sip_msg_has_option(m, SIP_HDR_REQUIRE, "nothingSupportsThisEither"));
	assert_true(sip_msg_has_option(m, SIP_HDR_PROXY_REQUIRE, "norDoAnyProxiesSupportThis"));
	assert_false(sip_msg_has_option(m, SIP_HDR_REQUIRE, "100rel"));
	assert_pl(m->via.transport, "TLS");
}

static void chk_regaut01(const struct sip_msg *m)
{
	assert_pl(sip_msg_hdr(m, SIP_HDR_AUTHORIZATION)->value,
		  "NoOneKnowsThisScheme opaque-data=here");
	assert_int_equal(m->clen, 0);
}

static void chk_invut(const struct sip_msg *m)
{
	assert_pl(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE)->value, "application/unknownformat");
	assert_int_equal(m->body.l, 40);
}

static void chk_badvers(const struct sip_msg *m)
{
	assert_pl(m->version, "SIP/7.0");
	assert_pl(m->via.version, "7.0");
	assert_pl(m->from.dname, "A. Bell");
}

static void chk_baddate(const struct sip_msg *m)
{
	/* Accepted: the Date header is never needed by mikaka (RFC 4475 §3.1.2.12 allows it). */
	assert_pl(sip_msg_hdr(m, SIP_HDR_DATE)->value, "Fri, 01 Jan 2010 16:00:00 EST");
}

static void chk_mismatch(const struct sip_msg *m)
{
	assert_int_equal(m->err, EPROTO);
	assert_true(m->cseq_ok);
	assert_int_equal(m->cseq.mid, SIP_METHOD_INVITE);
}

static void chk_clerr(const struct sip_msg *m)
{
	assert_string_equal(m->err_reason, "Content-Length larger than message");
	assert_true(m->has_clen);
	assert_int_equal(m->clen, 9999);
	assert_true(m->via_ok);
}

static void chk_quotbal(const struct sip_msg *m)
{
	assert_string_equal(m->err_reason, "Unterminated quoted string in To");
	assert_false(m->to_ok);
	assert_true(m->from_ok);
}

static void chk_multi01(const struct sip_msg *m)
{
	assert_non_null(strstr(m->err_reason, "Duplicate"));
}

static void chk_ncl(const struct sip_msg *m)
{
	assert_string_equal(m->err_reason, "Invalid Content-Length");
	assert_false(m->has_clen);
	assert_int_equal(m->body.l, 0);
}

static void chk_mcl01(const struct sip_msg *m)
{
	assert_false(m->has_clen);
	assert_int_equal(m->body.l, 0);
}

static void chk_insuf(const struct sip_msg *m)
{
	assert_non_null(strstr(m->err_reason, "Missing"));
	assert_true(m->via_ok);
	assert_true(m->cseq_ok);
}

static void chk_bigcode(const struct sip_msg *m)
{
	assert_false(m->is_request);
	assert_string_equal(m->err_reason, "Bad status line");
}

static void chk_scalar02(const struct sip_msg *m)
{
	assert_string_equal(m->err_reason, "Bad CSeq header");
	assert_false(m->cseq_ok);
}

static void chk_ipv6_good(const struct sip_msg *m)
{
	struct sip_addr c = nth_addr(m, SIP_HDR_CONTACT, 0);

	assert_true(m->uri.host_ipv6);
	assert_pl(m->uri.host, "2001:db8::10");
	assert_int_equal(m->uri.port, 0);
	assert_true(m->via.host_ipv6);
	assert_pl(m->via.host, "2001:db8::9:1");
	assert_pl(c.uri.host, "2001:db8::1");
	assert_pl(c.dname, "Caller");
}

static void chk_port_ambiguous(const struct sip_msg *m)
{
	assert_pl(m->uri.host, "2001:db8::10:5070");
	assert_int_equal(m->uri.port, 0);
}

static void chk_port_unambiguous(const struct sip_msg *m)
{
	assert_pl(m->uri.host, "2001:db8::10");
	assert_int_equal(m->uri.port, 5070);
}

static void chk_received(const struct sip_msg *m)
{
	assert_pl(m->via.received, "2001:db8::9:255");
	assert_pl(m->via.host, "2001:db8::9:1");
}

static void chk_mult_ip_hdr(const struct sip_msg *m)
{
	struct sip_via v;

	assert_int_equal(count_values(m, SIP_HDR_VIA, NULL), 3);
	assert_int_equal(m->via.port, 6050);
	assert_true(m->via.host_ipv6);
	v = nth_via(m, 1);
	assert_pl(v.host, "192.0.2.1");
	assert_false(v.host_ipv6);
	v = nth_via(m, 2);
	assert_int_equal(v.tp, SIP_TP_TCP);
	assert_pl(v.host, "2001:db8::9:255");
	assert_pl(v.received, "192.0.2.200");
}

static void chk_v4mapped(const struct sip_msg *m)
{
	assert_pl(m->via.host, "::ffff:192.0.2.10");
	assert_int_equal(m->via.port, 19823);
	assert_pl(nth_addr(m, SIP_HDR_CONTACT, 0).uri.host, "::ffff:192.0.2.2");
	assert_int_equal(m->body.l, 245);
}

static void chk_2colons(const struct sip_msg *m)
{
	assert_pl(m->uri.host, "2001:db8::192.0.2.1");
}

static void chk_ipv6_in_sdp(const struct sip_msg *m)
{
	assert_int_equal(m->body.l, 251);
}

struct verdict_check {
	const char *name;
	void (*check)(const struct sip_msg *m);
};

static const struct verdict_check checks[] = {
    {"wsinv", chk_wsinv},
    {"intmeth", chk_intmeth},
    {"esc01", chk_esc01},
    {"escnull", chk_escnull},
    {"esc02", chk_esc02},
    {"lwsdisp", chk_lwsdisp},
    {"longreq", chk_longreq},
    {"dblreq", chk_dblreq},
    {"semiuri", chk_semiuri},
    {"transports", chk_transports},
    {"mpart01", chk_mpart01},
    {"unreason", chk_unreason},
    {"noreason", chk_noreason},
    {"inv2543", chk_inv2543},
    {"unkscm", chk_unkscm},
    {"novelsc", chk_novelsc},
    {"unksm2", chk_unksm2},
    {"cparam01", chk_cparam01},
    {"cparam02", chk_cparam02},
    {"regescrt", chk_regescrt},
    {"badbranch", chk_badbranch},
    {"bcast", chk_bcast},
    {"zeromf", chk_zeromf},
    {"bext01", chk_bext01},
    {"regaut01", chk_regaut01},
    {"invut", chk_invut},
    {"badvers", chk_badvers},
    {"baddate", chk_baddate},
    {"mismatch01", chk_mismatch},
    {"mismatch02", chk_mismatch},
    {"clerr", chk_clerr},
    {"quotbal", chk_quotbal},
    {"multi01", chk_multi01},
    {"ncl", chk_ncl},
    {"mcl01", chk_mcl01},
    {"insuf", chk_insuf},
    {"bigcode", chk_bigcode},
    {"scalar02", chk_scalar02},
    {"ipv6-good", chk_ipv6_good},
    {"port-ambiguous", chk_port_ambiguous},
    {"port-unambiguous", chk_port_unambiguous},
    {"via-received-param-with-delim", chk_received},
    {"via-received-param-no-delim", chk_received},
    {"mult-ip-in-header", chk_mult_ip_hdr},
    {"ipv4-mapped-ipv6", chk_v4mapped},
    {"ipv6-correct-abnf-2-colons", chk_2colons},
    {"ipv6-in-sdp", chk_ipv6_in_sdp},
};

/* Where the RFC leaves the answer to the stack or lets us choose. */
enum want { WANT_OK, WANT_ERROR, WANT_EPROTO };

static enum want verdict_want(const char *name, const char *expected)
{
	/* 505 is the stack's answer: the parser keeps "SIP/7.0" without error. */
	if (strcmp(name, "badvers") == 0)
		return WANT_OK;
	/* Our choice: Date is never used, so a non-GMT zone is accepted (RFC 4475 §3.1.2.12). */
	if (strcmp(name, "baddate") == 0)
		return WANT_OK;
	if (strcmp(name, "mismatch01") == 0 || strcmp(name, "mismatch02") == 0)
		return WANT_EPROTO;
	/* Our choice: 2001:db8:::192.0.2.1 is not an IPv6 address (RFC 5954 fixed the ABNF);
	 * rejected with 400 rather than silently repaired. */
	if (strcmp(name, "ipv6-bug-abnf-3-colons") == 0)
		return WANT_ERROR;
	if (strcmp(expected, "valid") == 0 || strcmp(expected, "valid-tricky") == 0)
		return WANT_OK;
	return WANT_ERROR; /* invalid, and test.dat (n/a: malformed, rejected) */
}

/* Runs every line of an INDEX.tsv; returns the number of files checked. */
static size_t run_index(const char *dir, const char *subdir, const char *ext, size_t *nchecked)
{
	char rel[512], line[4096];
	char *idx;
	size_t len, n = 0;
	FILE *f;

	snprintf(rel, sizeof(rel), "%s/INDEX.tsv", dir);
	idx = read_corpus(rel, &len);
	assert_non_null(idx);
	f = fmemopen(idx, len, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f)); /* the column names */
	while (fgets(line, sizeof(line), f)) {
		char *file = strtok(line, "\t"), *section = strtok(NULL, "\t");
		char *name = strtok(NULL, "\t"), *expected = strtok(NULL, "\t");
		char path[512];
		char *buf;
		size_t blen;
		int err;
		struct sip_msg *m;
		enum want want;

		(void)section;
		if (!file || !name || !expected)
			continue;
		snprintf(path, sizeof(path), "%s/%s%s%s", dir, subdir, file, ext);
		buf = read_corpus(path, &blen);
		assert_non_null(buf);
		want = verdict_want(name, expected);
		m = parse_buf(buf, blen, true, &err, NULL);
		if (want == WANT_OK) {
			if (err || m->err_reason)
				print_error("%s: unexpected error %d '%s'\n", name, err,
					    m && m->err_reason ? m->err_reason : "");
			assert_int_equal(err, 0);
			assert_null(m->err_reason);
			assert_int_equal(m->err, 0);
			assert_true(m->via_ok);
			assert_true(m->cseq_ok);
			if (m->is_request)
				assert_true(m->uri_ok && m->from_ok && m->to_ok);
		} else if (!err) {
			if (!m->err_reason)
				print_error("%s: accepted, should be rejected\n", name);
			assert_printable(m->err_reason);
			assert_int_equal(m->err, want == WANT_EPROTO ? EPROTO : EBADMSG);
		} else {
			assert_int_not_equal(want, WANT_EPROTO);
		}
		for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
			if (strcmp(checks[i].name, name) == 0) {
				assert_non_null(m);
				checks[i].check(m);
				(*nchecked)++;
			}
		}
		mem_deref(m);
		free(buf);
		n++;
	}
	fclose(f);
	free(idx);
	return n;
}

static void test_rfc4475(void **state)
{
	size_t nchecked = 0;

	(void)state;
	assert_int_equal(run_index("rfc4475", "", "", &nchecked), 50);
	assert_true(nchecked >= 35);
}

static void test_rfc5118(void **state)
{
	size_t nchecked = 0;

	(void)state;
	assert_int_equal(run_index("rfc5118", "wire-derived/", ".sip", &nchecked), 12);
	assert_true(nchecked >= 9);
}

/* The framing verdicts that depend on the transport (RFC 4475 §3.1.2.2, §3.1.2.3, §3.3.9). */
static void test_rfc4475_stream(void **state)
{
	size_t len, used;
	char *buf;
	int err;
	struct sip_msg *m;
	struct sip_parse_error perr = {0};

	(void)state;
	/* clerr over TCP: wait for the missing bytes. */
	buf = read_corpus("rfc4475/clerr.dat", &len);
	assert_int_equal(sip_msg_parse(&m, buf, len, false, &used, &perr), ENODATA);
	assert_true(perr.need_more);
	free(buf);

	/* ncl and mcl01: framing lost; the message comes back with the header section only. */
	buf = read_corpus("rfc4475/ncl.dat", &len);
	m = parse_buf(buf, len, false, &err, &used);
	assert_int_equal(err, 0);
	assert_string_equal(m->err_reason, "Invalid Content-Length");
	assert_false(m->has_clen);
	assert_int_equal(used, (size_t)(strstr(buf, "\r\n\r\n") - buf) + 4);
	mem_deref(m);
	free(buf);

	buf = read_corpus("rfc4475/mcl01.dat", &len);
	m = parse_buf(buf, len, false, &err, &used);
	assert_int_equal(err, 0);
	assert_non_null(m->err_reason);
	assert_false(m->has_clen);
	assert_int_equal(used, (size_t)(strstr(buf, "\r\n\r\n") - buf) + 4);
	mem_deref(m);
	free(buf);

	/* dblreq as a stream: two messages back to back, the second incomplete (its body is 150
	 * octets but fewer follow). */
	buf = read_corpus("rfc4475/dblreq.dat", &len);
	m = parse_buf(buf, len, false, &err, &used);
	assert_int_equal(err, 0);
	assert_null(m->err_reason);
	assert_int_equal(m->mid, SIP_METHOD_REGISTER);
	mem_deref(m);
	m = parse_buf(buf + used, len - used, false, &err, NULL);
	assert_int_equal(err, 0);
	assert_int_equal(m->mid, SIP_METHOD_INVITE);
	assert_int_equal(m->body.l, 150);
	mem_deref(m);
	free(buf);

	/* inv2543 on a stream: no Content-Length is an error there. */
	buf = read_corpus("rfc4475/inv2543.dat", &len);
	m = parse_buf(buf, len, false, &err, &used);
	assert_int_equal(err, 0);
	assert_string_equal(m->err_reason, "Missing Content-Length");
	assert_false(m->has_clen);
	mem_deref(m);
	free(buf);
}

/* ---------------------------------------------------------------------------------------------
 * Real-world captures.
 */
static void chk_rw(const char *file, const struct sip_msg *m)
{
	if (strstr(file, "sabiden_ngn_200OK")) {
		/* Compact headers everywhere. */
		assert_int_equal(m->scode, 200);
		assert_true(m->via_ok);
		assert_true(m->via.rport);
		assert_pl(m->via.host, "118.177.72.242");
		assert_int_equal(m->via.port, 5060);
		assert_pl(m->call_id, "2fe2b037-4e09-4dbb-9f2a-87984af6a866");
		assert_pl(m->from.dname, "Anonymous");
		assert_pl(m->to.tag, "B76D2E");
		assert_int_equal(m->cseq.num, 3424);
		assert_pl(sip_msg_hdr(m, SIP_HDR_SESSION_EXPIRES)->value, "300;refresher=uas");
		assert_pl(sip_msg_xhdr(m, "Session-Expires")->value, "300;refresher=uas");
		assert_true(sip_msg_has_option(m, SIP_HDR_SUPPORTED, "100rel"));
		assert_true(sip_msg_has_option(m, SIP_HDR_REQUIRE, "timer"));
		assert_pl(sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE)->value, "application/sdp");
		assert_pl(nth_addr(m, SIP_HDR_CONTACT, 0).uri.user, "12455");
		assert_int_equal(m->clen, 184);
		assert_int_equal(m->body.l, 184);
	} else if (strstr(file, "sabiden_asterisk20")) {
		assert_int_equal(count_values(m, SIP_HDR_ALLOW, NULL), 14);
		assert_true(sip_msg_has_option(m, SIP_HDR_SUPPORTED, "replaces"));
		assert_pl(sip_msg_hdr(m, SIP_HDR_MIN_SE)->value, "90");
		assert_int_equal(m->clen, 239);
		assert_true(m->via.rport);
		assert_int_equal(m->uri.port, 5060);
	} else if (strstr(file, "ngntun_200OK")) {
		assert_int_equal(count_values(m, SIP_HDR_RECORD_ROUTE, NULL), 2);
		assert_pl(nth_addr(m, SIP_HDR_RECORD_ROUTE, 1).uri.host, "2001:db8:1::1");
		assert_pl(nth_addr(m, SIP_HDR_CONTACT, 0).uri.host, "2001:db8:ffff::2");
		assert_int_equal(nth_addr(m, SIP_HDR_CONTACT, 0).uri.port, 5060);
	} else if (strstr(file, "ngntun_HGW_INVITE")) {
		assert_pl(m->via.host, "2001:db8:2:0:200:5eff:fe00:5311");
		assert_true(m->via.rport);
		assert_int_equal(m->via.rport_value, 0);
		assert_pl(nth_addr(m, SIP_HDR_P_PREFERRED_IDENTITY, 0).uri.user, "03XXXXXXXX");
		assert_pl(m->body, "v=0\r\ns=-");
	} else if (strstr(file, "qiita")) {
		assert_int_equal(count_values(m, SIP_HDR_CONTACT, NULL), 2);
		assert_pl(nth_addr(m, SIP_HDR_CONTACT, 0).uri.host,
			  "2408:123:bbb:aaaa:face:cafe:beef:1234");
		assert_pl(nth_addr(m, SIP_HDR_CONTACT, 1).uri.user, "652483661");
		assert_pl(sip_msg_hdr(m, SIP_HDR_EXPIRES)->value, "3600");
	} else if (strstr(file, "12_sip_flow_call_invite_183")) {
		struct sip_addr c = nth_addr(m, SIP_HDR_CONTACT, 0);

		assert_int_equal(m->scode, 183);
		assert_pl(sip_msg_hdr(m, SIP_HDR_RSEQ)->value, "12345");
		assert_true(sip_msg_has_option(m, SIP_HDR_REQUIRE, "100rel"));
		assert_true(sip_msg_has_option(m, SIP_HDR_REQUIRE, "precondition"));
		assert_int_equal(count_values(m, SIP_HDR_CONTACT, NULL), 1);
		assert_param(&c.params, "+sip.instance", "\"<urn:gsma:imei:12345678-123456-1>\"");
		assert_true(sip_param_exists(&c.params, "video"));
		assert_int_equal(m->from.uri.scheme, SIP_URI_TEL);
		assert_pl(m->from.uri.user, "12345678901");
		assert_param(&m->from.uri.params, "phone-context", "+86");
		assert_pl(m->to.uri.user,
			  "12345678901;phone-context=xx.ims.mnc000.mcc123.3gppnetwork.org");
		assert_int_equal(m->body.l, 438);
	} else if (strstr(file, "13_sip_flow_call_183_prack")) {
		assert_int_equal(m->mid, SIP_METHOD_PRACK);
		assert_pl(sip_msg_hdr(m, SIP_HDR_RACK)->value, "12345 12345 INVITE");
		assert_int_equal(count_values(m, SIP_HDR_VIA, NULL), 2);
		assert_pl(nth_via(m, 1).host, "10.189.156.167");
		assert_param(&m->via.params, "Role", "3");
		assert_int_equal(m->max_forwards, 59);
	} else if (strstr(file, "10_sip_flow_call_invite")) {
		struct sip_addr p = nth_addr(m, SIP_HDR_P_ASSERTED_IDENTITY, 0);

		assert_int_equal(p.uri.scheme, SIP_URI_TEL);
		assert_param(&p.uri.params, "noa", "subscriber");
		assert_pl(sip_msg_hdr(m, SIP_HDR_SESSION_EXPIRES)->value, "1800");
		assert_int_equal(count_values(m, SIP_HDR_SUPPORTED, NULL), 8);
		assert_int_equal(m->uri.port, 1388);
		assert_pl(m->uri.host, "2409:8805:84e3:3603::1");
		assert_int_equal(m->body.l, 745);
		assert_non_null(sip_msg_xhdr(m, "recv-info"));
	} else if (strstr(file, "00_sip_flow_reg_register")) {
		struct sip_addr c = nth_addr(m, SIP_HDR_CONTACT, 0);

		assert_param(&c.params, "expires", "3600");
		assert_param(&c.params, "useraddr", "[2409:8805:84e3:3603::1]");
		assert_memory_equal(sip_msg_hdr(m, SIP_HDR_AUTHORIZATION)->value.p, "Digest ", 7);
		assert_int_equal(count_values(m, SIP_HDR_PATH, NULL), 1);
	} else if (strstr(file, "24_sip_flow_reg_message")) {
		assert_int_equal(m->mid, SIP_METHOD_MESSAGE);
		assert_non_null(sip_msg_hdr(m, SIP_HDR_P_ASSERTED_IDENTITY));
	}
}

static void run_dir(const char *sub, size_t *nfiles)
{
	char path[512];
	DIR *dir;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/%s", corpora(), sub);
	dir = opendir(path);
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		char rel[768];
		size_t len, used;
		char *buf;
		int err;
		struct sip_msg *m;

		if (!strstr(de->d_name, ".sip"))
			continue;
		snprintf(rel, sizeof(rel), "%s/%s", sub, de->d_name);
		buf = read_corpus(rel, &len);
		assert_non_null(buf);
		for (int dg = 0; dg < 2; dg++) {
			m = parse_buf(buf, len, dg, &err, &used);
			if (err || m->err_reason)
				print_error("%s: %d %s\n", de->d_name, err, m ? m->err_reason : "");
			assert_int_equal(err, 0);
			assert_null(m->err_reason);
			assert_int_equal(used, len);
			assert_true(m->via_ok &&
				    m->cseq_ok == (sip_msg_hdr(m, SIP_HDR_CSEQ) != NULL));
			if (m->is_request)
				assert_true(m->uri_ok && m->from_ok && m->to_ok);
			chk_rw(de->d_name, m);
			mem_deref(m);
		}
		free(buf);
		(*nfiles)++;
	}
	closedir(dir);
}

static void test_real_world(void **state)
{
	size_t n = 0;

	(void)state;
	run_dir("real-world/ngn-hikari", &n);
	assert_int_equal(n, 6);
	run_dir("real-world/ims-volte", &n);
	assert_int_equal(n, 32);
}

/* ---------------------------------------------------------------------------------------------
 * Header names: compact and long forms.
 */
static void test_hdr_table(void **state)
{
	(void)state;
	for (int id = 1; id < SIP_HDR_COUNT; id++) {
		const char *name = sip_hdr_name((enum sip_hdr_id)id);
		char up[64];
		struct pl n;

		assert_non_null(name);
		n = pl_from_str(name);
		assert_int_equal(sip_hdr_lookup(&n), id);
		for (size_t i = 0; i <= strlen(name); i++)
			up[i] = (char)(i % 2 ? name[i]
					     : (name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32
										 : name[i]));
		n = pl_from_str(up);
		assert_int_equal(sip_hdr_lookup(&n), id);
	}
	static const struct {
		const char *c;
		enum sip_hdr_id id;
	} compact[] = {
	    {"a", SIP_HDR_ACCEPT_CONTACT},
	    {"u", SIP_HDR_ALLOW_EVENTS},
	    {"i", SIP_HDR_CALL_ID},
	    {"m", SIP_HDR_CONTACT},
	    {"e", SIP_HDR_CONTENT_ENCODING},
	    {"l", SIP_HDR_CONTENT_LENGTH},
	    {"c", SIP_HDR_CONTENT_TYPE},
	    {"o", SIP_HDR_EVENT},
	    {"f", SIP_HDR_FROM},
	    {"y", SIP_HDR_IDENTITY},
	    {"r", SIP_HDR_REFER_TO},
	    {"b", SIP_HDR_REFERRED_BY},
	    {"j", SIP_HDR_REJECT_CONTACT},
	    {"d", SIP_HDR_REQUEST_DISPOSITION},
	    {"x", SIP_HDR_SESSION_EXPIRES},
	    {"s", SIP_HDR_SUBJECT},
	    {"k", SIP_HDR_SUPPORTED},
	    {"t", SIP_HDR_TO},
	    {"v", SIP_HDR_VIA},
	    {"V", SIP_HDR_VIA},
	    {"M", SIP_HDR_CONTACT},
	    {"g", SIP_HDR_OTHER},
	    {"z", SIP_HDR_OTHER},
	    {"1", SIP_HDR_OTHER},
	    {"Viaa", SIP_HDR_OTHER},
	    {"X-Via", SIP_HDR_OTHER},
	    {"", SIP_HDR_OTHER},
	    {"C%6Fntact", SIP_HDR_OTHER},
	    {"CSEQ", SIP_HDR_CSEQ},
	    {"www-authenticate", SIP_HDR_WWW_AUTHENTICATE},
	};
	for (size_t i = 0; i < ARRAY_SIZE(compact); i++) {
		struct pl n = pl_from_str(compact[i].c);

		assert_int_equal(sip_hdr_lookup(&n), compact[i].id);
	}
	assert_null(sip_hdr_name(SIP_HDR_OTHER));
	assert_string_equal(sip_hdr_name(SIP_HDR_CALL_ID), "Call-ID");
	assert_true(sip_hdr_is_list(SIP_HDR_VIA));
	assert_true(sip_hdr_is_list(SIP_HDR_CONTACT));
	assert_false(sip_hdr_is_list(SIP_HDR_AUTHORIZATION));
	assert_false(sip_hdr_is_list(SIP_HDR_OTHER));
}

/* The parser's own lookup (hashed, a word at a time) on every name in mixed case, and on
 * near misses that share a length, a first word or a last word with a known name. */
static void test_hdr_table_parsed(void **state)
{
	static const char *const miss[] = {"Contacts",
					   "Contacx",
					   "X-Contact",
					   "Call-IDs",
					   "Subscription-Statf",
					   "Subscription-Xtate",
					   "Proxy-Authorizatioo",
					   "P-Asserted-Identitx",
					   "Vib",
					   "Tp",
					   "Content-Lengthh",
					   "Content-Lengtg",
					   "G"};
	char buf[8192];
	size_t n = 0, used;
	struct sip_msg *msg = NULL;
	int ids = 0;

	(void)state;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "OPTIONS sip:a@b SIP/2.0\r\n");
	for (int id = 1; id < SIP_HDR_COUNT; id++, ids++) {
		const char *name = sip_hdr_name((enum sip_hdr_id)id);

		for (size_t i = 0; name[i]; i++) {
			char c = name[i];

			if (i % 3 == 1 && c >= 'a' && c <= 'z')
				c = (char)(c - 32);
			else if (i % 3 == 2 && c >= 'A' && c <= 'Z')
				c = (char)(c + 32);
			buf[n++] = c;
		}
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ": 1\r\n");
	}
	for (size_t i = 0; i < ARRAY_SIZE(miss); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s: 1\r\n", miss[i]);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
	assert_int_equal(sip_msg_parse(&msg, buf, n, true, &used, NULL), 0);
	assert_int_equal(msg->nhdrs, (size_t)ids + ARRAY_SIZE(miss));
	for (int i = 0; i < ids; i++)
		assert_int_equal(msg->hdrs[i].id, i + 1);
	for (size_t i = 0; i < ARRAY_SIZE(miss); i++)
		assert_int_equal(msg->hdrs[(size_t)ids + i].id, SIP_HDR_OTHER);
	mem_deref(msg);
}

static void test_methods_transports(void **state)
{
	struct pl p;

	(void)state;
	for (int m = 1; m <= SIP_METHOD_PUBLISH; m++) {
		p = pl_from_str(sip_method_name((enum sip_method)m));
		assert_int_equal(sip_method_lookup(&p), m);
	}
	p = PL("invite");
	assert_int_equal(sip_method_lookup(&p), SIP_METHOD_OTHER);
	p = PL("INVITEX");
	assert_int_equal(sip_method_lookup(&p), SIP_METHOD_OTHER);
	assert_null(sip_method_name(SIP_METHOD_OTHER));
	p = PL("udp");
	assert_int_equal(sip_transport_lookup(&p), SIP_TP_UDP);
	p = PL("Tls");
	assert_int_equal(sip_transport_lookup(&p), SIP_TP_TLS);
	p = PL("wss");
	assert_int_equal(sip_transport_lookup(&p), SIP_TP_WSS);
	p = PL("QUIC");
	assert_int_equal(sip_transport_lookup(&p), SIP_TP_OTHER);
	assert_string_equal(sip_transport_name(SIP_TP_SCTP), "SCTP");
	assert_false(sip_transport_reliable(SIP_TP_UDP));
	assert_true(sip_transport_reliable(SIP_TP_TCP));
	assert_true(sip_transport_reliable(SIP_TP_TLS));
	assert_true(sip_transport_reliable(SIP_TP_WS));
}

#define LONG_FORM                                                                                  \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                                                   \
	"Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc;rport\r\n"                              \
	"From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n"                                       \
	"To: <sip:bob@example.com>\r\n"                                                            \
	"Call-ID: c1@example.com\r\n"                                                              \
	"CSeq: 7 INVITE\r\n"                                                                       \
	"Contact: <sip:alice@192.0.2.1:5062>\r\n"                                                  \
	"Supported: 100rel, timer\r\n"                                                             \
	"Session-Expires: 1800;refresher=uac\r\n"                                                  \
	"Subject: hello\r\n"                                                                       \
	"Event: presence\r\n"                                                                      \
	"Refer-To: <sip:carol@example.com>\r\n"                                                    \
	"Content-Type: application/sdp\r\n"                                                        \
	"Content-Length: 4\r\n\r\nv=0\n"
#define COMPACT_FORM                                                                               \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                                                   \
	"v: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc;rport\r\n"                                \
	"F: \"Alice\" <sip:alice@example.com>;tag=a1\r\n"                                          \
	"t:<sip:bob@example.com>\r\n"                                                              \
	"i: c1@example.com\r\n"                                                                    \
	"CSeq: 7 INVITE\r\n"                                                                       \
	"m: <sip:alice@192.0.2.1:5062>\r\n"                                                        \
	"k: 100rel, timer\r\n"                                                                     \
	"x: 1800;refresher=uac\r\n"                                                                \
	"s: hello\r\n"                                                                             \
	"o: presence\r\n"                                                                          \
	"r: <sip:carol@example.com>\r\n"                                                           \
	"c: application/sdp\r\n"                                                                   \
	"l: 4\r\n\r\nv=0\n"

static void test_compact_equals_long(void **state)
{
	struct sip_msg *a = parse_ok(LONG_FORM), *b = parse_ok(COMPACT_FORM);
	static const enum sip_hdr_id ids[] = {
	    SIP_HDR_VIA,
	    SIP_HDR_FROM,
	    SIP_HDR_TO,
	    SIP_HDR_CALL_ID,
	    SIP_HDR_CSEQ,
	    SIP_HDR_CONTACT,
	    SIP_HDR_SUPPORTED,
	    SIP_HDR_SESSION_EXPIRES,
	    SIP_HDR_SUBJECT,
	    SIP_HDR_EVENT,
	    SIP_HDR_REFER_TO,
	    SIP_HDR_CONTENT_TYPE,
	    SIP_HDR_CONTENT_LENGTH,
	};

	(void)state;
	assert_int_equal(a->nhdrs, b->nhdrs);
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		const struct sip_hdr *ha = sip_msg_hdr(a, ids[i]), *hb = sip_msg_hdr(b, ids[i]);

		assert_non_null(ha);
		assert_non_null(hb);
		assert_int_equal(pl_cmp(&ha->value, &hb->value), 0);
		assert_int_equal(count_values(a, ids[i], NULL), count_values(b, ids[i], NULL));
	}
	assert_int_equal(pl_cmp(&a->via.branch, &b->via.branch), 0);
	assert_int_equal(a->via.port, 5062);
	assert_int_equal(pl_cmp(&a->from.tag, &b->from.tag), 0);
	assert_int_equal(pl_cmp(&a->from.dname, &b->from.dname), 0);
	assert_true(sip_uri_eq(&a->to.uri, &b->to.uri));
	assert_int_equal(pl_cmp(&a->call_id, &b->call_id), 0);
	assert_int_equal(a->cseq.num, b->cseq.num);
	assert_int_equal(a->clen, 4);
	assert_int_equal(b->clen, 4);
	assert_int_equal(pl_cmp(&a->body, &b->body), 0);
	assert_true(sip_msg_has_option(b, SIP_HDR_SUPPORTED, "timer"));
	assert_non_null(sip_msg_xhdr(b, "Session-Expires"));
	assert_non_null(sip_msg_xhdr(a, "x"));
	mem_deref(a);
	mem_deref(b);
}

/* The same message with bare LF line ends parses to the same fields. */
static void test_bare_lf(void **state)
{
	char lf[sizeof(LONG_FORM)];
	size_t n = 0;
	struct sip_msg *a, *b;

	(void)state;
	for (const char *p = LONG_FORM; *p; p++) {
		if (*p != '\r')
			lf[n++] = *p;
	}
	lf[n] = '\0';
	a = parse_ok(LONG_FORM);
	b = parse_ok(lf);
	assert_int_equal(a->nhdrs, b->nhdrs);
	for (size_t i = 0; i < a->nhdrs; i++) {
		assert_int_equal(a->hdrs[i].id, b->hdrs[i].id);
		assert_int_equal(pl_cmp(&a->hdrs[i].value, &b->hdrs[i].value), 0);
	}
	assert_int_equal(pl_cmp(&a->body, &b->body), 0);
	mem_deref(a);
	mem_deref(b);

	/* Folding with bare LF, and leading line ends before the start line. */
	a = parse_ok("\r\n\nOPTIONS sip:x@y SIP/2.0\nVia: SIP/2.0/UDP h\n ;branch=z9hG4bK1\n"
		     "From: <sip:a@b>;tag=1\nTo: <sip:x@y>\nCall-ID: 1\nCSeq: 1\n\tOPTIONS\n"
		     "Content-Length: 0\n\n");
	assert_pl(a->via.branch, "z9hG4bK1");
	assert_pl(a->cseq.method, "OPTIONS");
	mem_deref(a);
}

/* ---------------------------------------------------------------------------------------------
 * URIs.
 */
struct uri_case {
	const char *text;
	int err;
	enum sip_uri_scheme scheme;
	const char *user, *password, *host;
	bool v6;
	uint16_t port;
	const char *params, *headers;
};

static const struct uri_case uri_cases[] = {
    {"sip:alice@atlanta.com", 0, SIP_URI_SIP, "alice", NULL, "atlanta.com", false, 0, "", ""},
    {"SIP:alice@atlanta.com", 0, SIP_URI_SIP, "alice", NULL, "atlanta.com", false, 0, "", ""},
    {"sips:bob:secret@biloxi.com:5061;transport=tcp", 0, SIP_URI_SIPS, "bob", "secret",
     "biloxi.com", false, 5061, ";transport=tcp", ""},
    {"sip:biloxi.com", 0, SIP_URI_SIP, "", NULL, "biloxi.com", false, 0, "", ""},
    {"sip:192.0.2.4:5060", 0, SIP_URI_SIP, "", NULL, "192.0.2.4", false, 5060, "", ""},
    {"sip:+1-212-555-1212:1234@gateway.com;user=phone", 0, SIP_URI_SIP, "+1-212-555-1212", "1234",
     "gateway.com", false, 0, ";user=phone", ""},
    {"sip:alice@atlanta.com?subject=project%20x&priority=urgent", 0, SIP_URI_SIP, "alice", NULL,
     "atlanta.com", false, 0, "", "subject=project%20x&priority=urgent"},
    {"sip:alice;day=tuesday@atlanta.com", 0, SIP_URI_SIP, "alice;day=tuesday", NULL, "atlanta.com",
     false, 0, "", ""},
    {"sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com", 0, SIP_URI_SIP, "", NULL,
     "atlanta.com", false, 0, ";method=REGISTER", "to=alice%40atlanta.com"},
    {"sip:[2001:db8::10]", 0, SIP_URI_SIP, "", NULL, "2001:db8::10", true, 0, "", ""},
    {"sip:[2001:db8::10:5070]", 0, SIP_URI_SIP, "", NULL, "2001:db8::10:5070", true, 0, "", ""},
    {"sip:u@[2001:db8::10]:5070;lr", 0, SIP_URI_SIP, "u", NULL, "2001:db8::10", true, 5070, ";lr",
     ""},
    {"sip:[::ffff:192.0.2.10]:19823", 0, SIP_URI_SIP, "", NULL, "::ffff:192.0.2.10", true, 19823,
     "", ""},
    {"sip:host;maddr=[2001:db8::1];lr", 0, SIP_URI_SIP, "", NULL, "host", false, 0,
     ";maddr=[2001:db8::1];lr", ""},
    {"sip:%61lice@atlanta.com;transport=TCP", 0, SIP_URI_SIP, "%61lice", NULL, "atlanta.com", false,
     0, ";transport=TCP", ""},
    {"sip:user:@host", 0, SIP_URI_SIP, "user", "", "host", false, 0, "", ""},
    {"tel:+358-555-1234567;postd=pp22", 0, SIP_URI_TEL, "+358-555-1234567", NULL, NULL, false, 0,
     ";postd=pp22", ""},
    {"tel:12345678901;phone-context=+86;noa=subscriber", 0, SIP_URI_TEL, "12345678901", NULL, NULL,
     false, 0, ";phone-context=+86;noa=subscriber", ""},
    {"urn:service:sos", 0, SIP_URI_OTHER, NULL, NULL, NULL, false, 0, "", ""},
    {.text = "sip:2001:db8::10", .err = EBADMSG},	    /* RFC 5118 §4.2: brackets required */
    {.text = "sip:[2001:db8:::192.0.2.1]", .err = EBADMSG}, /* our choice for RFC 5118 §4.10 */
    {.text = "sip:[2001:db8::10", .err = EBADMSG},
    {.text = "sip:[]", .err = EBADMSG},
    {.text = "sip:[1.2.3.4]", .err = EBADMSG},
    {.text = "sip:host:", .err = EBADMSG},
    {.text = "sip:host:65536", .err = EBADMSG},
    {.text = "sip:host:5060x", .err = EBADMSG},
    {.text = "sip:@host", .err = EBADMSG},
    {.text = "sip:", .err = EBADMSG},
    {.text = "sip:user@", .err = EBADMSG},
    {.text = "sip:host;;lr", .err = EBADMSG},
    {.text = "sip:host;lr=", .err = EBADMSG},
    {.text = "sip:host?", .err = EBADMSG},
    {.text = "sip:ho st", .err = EBADMSG},
    {.text = "sip:user@host>", .err = EBADMSG},
    {.text = "sip:us%4@host", .err = EBADMSG},
    {.text = "sip:us%zz@host", .err = EBADMSG},
    {.text = "<sip:user@host>", .err = EBADMSG},
    {.text = " sip:user@host", .err = EBADMSG},
    {.text = "sip:user@host; lr", .err = EBADMSG},
    {.text = "tel:", .err = EBADMSG},
    {.text = "tel:12 34", .err = EBADMSG},
    {.text = "nocolon", .err = EBADMSG},
    {.text = "1sip:host", .err = EBADMSG},
    {.text = "x:", .err = EBADMSG},
    {.text = "x:a b", .err = EBADMSG},
    {.text = "", .err = EBADMSG},
};

static void test_uri_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(uri_cases); i++) {
		const struct uri_case *c = &uri_cases[i];
		struct pl t = pl_from_str(c->text);
		struct sip_uri u;
		int err = sip_uri_decode(&u, &t);

		if (err != c->err)
			print_error("uri '%s': %d want %d\n", c->text, err, c->err);
		assert_int_equal(err, c->err);
		if (err)
			continue;
		assert_int_equal(u.scheme, c->scheme);
		assert_pl(u.raw, c->text);
		if (c->user)
			assert_pl(u.user, c->user);
		if (c->password)
			assert_pl(u.password, c->password);
		else
			assert_false(pl_isset(&u.password));
		if (c->host)
			assert_pl(u.host, c->host);
		assert_int_equal(u.host_ipv6, c->v6);
		assert_int_equal(u.port, c->port);
		assert_pl(u.params, c->params);
		assert_pl(u.headers, c->headers);
	}
}

static void test_params_unescape(void **state)
{
	struct pl params = PL(" ;  tag = abc ; lr;Q=0.5 ; x=\"a;b\" ;maddr=[2001:db8::1]");
	struct pl v;
	struct mbuf mb;
	/* clang-format off */
	static const struct {
		const char *in;
		int err;
		const char *out;
		size_t outl;
	} esc[] = {
		{"%41", 0, "A", 1},
		{"%2541", 0, "%41", 3},
		{"a%20b%3c", 0, "a b<", 4},
		{"%00x", 0, "\0x", 2},
		{"plain", 0, "plain", 5},
		{"%4", EBADMSG, NULL, 0},
		{"%zz", EBADMSG, NULL, 0},
		{"abc%", EBADMSG, NULL, 0},
	};
	/* clang-format on */

	(void)state;
	assert_param(&params, "tag", "abc");
	assert_param(&params, "TAG", "abc");
	assert_param(&params, "q", "0.5");
	assert_param(&params, "x", "\"a;b\"");
	assert_param(&params, "maddr", "[2001:db8::1]");
	assert_int_equal(sip_param_get(&params, "lr", &v), 0);
	assert_int_equal(v.l, 0);
	assert_true(sip_param_exists(&params, "lr"));
	assert_false(sip_param_exists(&params, "l"));
	assert_false(sip_param_exists(&params, "b"));
	assert_int_equal(sip_param_get(&params, "nope", &v), ENOENT);
	assert_false(sip_param_exists(NULL, "x"));

	for (size_t i = 0; i < ARRAY_SIZE(esc); i++) {
		struct pl in = pl_from_str(esc[i].in);

		mbuf_init(&mb);
		assert_int_equal(sip_unescape(&in, &mb), esc[i].err);
		if (!esc[i].err) {
			assert_int_equal(mb.end, esc[i].outl);
			assert_memory_equal(mb.buf, esc[i].out, esc[i].outl);
		}
		mbuf_reset(&mb);
	}
}

/* RFC 3261 §19.1.4 examples, plus a few of our own. */
static const struct {
	const char *a, *b;
	bool eq;
} uri_eq_cases[] = {
    {"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp", true},
    {"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", true},
    {"sip:carol@chicago.com", "sip:carol@chicago.com;security=on", true},
    {"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on", true},
    {"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
     "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com", true},
    {"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
     "sip:alice@atlanta.com?priority=urgent&subject=project%20x", true},
    {"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP", false},
    {"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false},
    {"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", false},
    {"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp", false},
    {"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting", false},
    {"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false},
    {"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;newparam=6", false},
    {"sip:a@h", "sips:a@h", false},
    {"sip:a@h;maddr=x", "sip:a@h", false},
    {"sip:a@h;user=phone", "sip:a@h", false},
    {"sip:a@h;ttl=1", "sip:a@h", false},
    {"sip:a@h;method=INVITE", "sip:a@h", false},
    {"sip:a@h;lr", "sip:a@h", true},
    {"sip:a:pw@h", "sip:a@h", false},
    {"sip:a:pw@h", "sip:a:pw@h", true},
    {"sip:[2001:db8::1]", "sip:[2001:DB8:0::1]", true},
    {"sip:[2001:db8::1]", "sip:2001.db8", false},
    {"sip:null-%00-null@example.com", "sip:null-%00-null@example.com", true},
    {"sip:null-%00-null@example.com", "sip:null-@example.com", false},
    {"sip:n%61me@h", "sip:Name@h", false},
    {"tel:+1234;phone-context=x", "tel:+1234;PHONE-CONTEXT=X", true},
    {"tel:+1234", "tel:+1235", false},
    {"urn:a:b", "URN:a:b", true},
    {"urn:a:b", "urn:a:B", false},
    {"urn:a:b", "sip:a@b", false},
};

static void test_uri_eq(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(uri_eq_cases); i++) {
		struct pl ta = pl_from_str(uri_eq_cases[i].a), tb = pl_from_str(uri_eq_cases[i].b);
		struct sip_uri a, b;

		assert_int_equal(sip_uri_decode(&a, &ta), 0);
		assert_int_equal(sip_uri_decode(&b, &tb), 0);
		if (sip_uri_eq(&a, &b) != uri_eq_cases[i].eq ||
		    sip_uri_eq(&b, &a) != uri_eq_cases[i].eq)
			print_error("'%s' vs '%s' should be %s\n", uri_eq_cases[i].a,
				    uri_eq_cases[i].b, uri_eq_cases[i].eq ? "equal" : "different");
		assert_int_equal(sip_uri_eq(&a, &b), uri_eq_cases[i].eq);
		assert_int_equal(sip_uri_eq(&b, &a), uri_eq_cases[i].eq);
	}
}

/* ---------------------------------------------------------------------------------------------
 * name-addr, Via, CSeq.
 */
static void test_addr_table(void **state)
{
	static const struct {
		const char *text;
		int err;
		const char *dname, *auri, *tag, *params;
	} cases[] = {
	    {"\"A \\\"B\\\" C\" <sip:a@b>;tag=x", 0, "A \\\"B\\\" C", "sip:a@b", "x", ";tag=x"},
	    {"Bob <sip:bob@b>", 0, "Bob", "sip:bob@b", NULL, ""},
	    {"Bob Smith   <sip:bob@b> ; tag = 7 ; x", 0, "Bob Smith", "sip:bob@b", "7",
	     "; tag = 7 ; x"},
	    {"<sip:a@b;lr>;expires=0", 0, NULL, "sip:a@b;lr", NULL, ";expires=0"},
	    {"sip:a@b;tag=1", 0, NULL, "sip:a@b", "1", ";tag=1"},
	    {"sip:a@b ;tag=1", 0, NULL, "sip:a@b", "1", ";tag=1"},
	    {"\"\" <sip:a@b>", 0, "", "sip:a@b", NULL, ""},
	    {"\"x\"<tel:+1>", 0, "x", "tel:+1", NULL, ""},
	    {"<urn:x:y>", 0, NULL, "urn:x:y", NULL, ""},
	    {"*", 0, NULL, "*", NULL, ""},
	    {"<sip:a@b>;+sip.instance=\"<urn:uuid:1>\";reg-id=1", 0, NULL, "sip:a@b", NULL,
	     ";+sip.instance=\"<urn:uuid:1>\";reg-id=1"},
	    {.text = "\"unterminated <sip:a@b>", .err = EBADMSG},
	    {.text = "Bell, Alexander <sip:a@b>", .err = EBADMSG},
	    {.text = "< sip:a@b >", .err = EBADMSG},
	    {.text = "<sip:a@b", .err = EBADMSG},
	    {.text = "sip:a@b?h=v", .err = EBADMSG},
	    {.text = "<sip:a@b>;;", .err = EBADMSG},
	    {.text = "<sip:a@b>;tag", .err = EBADMSG},
	    {.text = "<sip:a@b>;tag=", .err = EBADMSG},
	    {.text = "<sip:a@b> junk", .err = EBADMSG},
	    {.text = "<sip:a@b>;x=\"open", .err = EBADMSG},
	    {.text = "\"name\" sip:a@b", .err = EBADMSG},
	    {.text = "", .err = EBADMSG},
	    {.text = "   ", .err = EBADMSG},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pl t = pl_from_str(cases[i].text);
		struct sip_addr a;
		int err = sip_addr_decode(&a, &t);

		if (err != cases[i].err)
			print_error("addr '%s': %d\n", cases[i].text, err);
		assert_int_equal(err, cases[i].err);
		if (err)
			continue;
		if (cases[i].dname)
			assert_pl(a.dname, cases[i].dname);
		else
			assert_false(pl_isset(&a.dname));
		assert_pl(a.auri, cases[i].auri);
		if (cases[i].tag)
			assert_pl(a.tag, cases[i].tag);
		else
			assert_false(pl_isset(&a.tag));
		assert_pl(a.params, cases[i].params);
		assert_int_equal(a.wildcard, strcmp(cases[i].text, "*") == 0);
	}
}

static void test_via_table(void **state)
{
	static const struct {
		const char *text;
		int err;
		enum sip_transport tp;
		const char *host;
		uint16_t port;
		const char *branch, *received;
		bool rport;
		uint16_t rport_value;
	} cases[] = {
	    {"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1", 0, SIP_TP_UDP, "192.0.2.1", 5060,
	     "z9hG4bK1", NULL, false, 0},
	    {"SIP  /  2.0 / tcp h.example.com ; branch = z9hG4bK2 ; rport", 0, SIP_TP_TCP,
	     "h.example.com", 0, "z9hG4bK2", NULL, true, 0},
	    {"SIP/2.0/UDP h:5062;rport=5063;received=192.0.2.9", 0, SIP_TP_UDP, "h", 5062, NULL,
	     "192.0.2.9", true, 5063},
	    {"SIP/2.0/UDP [2001:db8::1]:5060;received=[2001:db8::9]", 0, SIP_TP_UDP, "2001:db8::1",
	     5060, NULL, "2001:db8::9", false, 0},
	    {"SIP/2.0/UDP [2001:db8::1];received=2001:db8::9;maddr=224.0.0.1;ttl=1", 0, SIP_TP_UDP,
	     "2001:db8::1", 0, NULL, "2001:db8::9", false, 0},
	    {"SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKx", 0, SIP_TP_WSS,
	     "df7jal23ls0d.invalid", 0, "z9hG4bKx", NULL, false, 0},
	    {"SIP/2.0/UDP h : 5060", 0, SIP_TP_UDP, "h", 5060, NULL, NULL, false, 0},
	    {.text = "SIP/2.0/UDP 192.0.2.15;;", .err = EBADMSG},
	    {.text = "SIP/2.0/UDP", .err = EBADMSG},
	    {.text = "SIP/2.0 UDP h", .err = EBADMSG},
	    {.text = "SIP/2.0/UDPh", .err = EBADMSG},
	    {.text = "SIP/2.0/UDP h;branch=", .err = EBADMSG},
	    {.text = "SIP/2.0/UDP h;rport=x", .err = EBADMSG},
	    {.text = "SIP/2.0/UDP h;rport=70000", .err = EBADMSG},
	    {.text = "SIP/2.0/UDP h;received=[2001:db8::9", .err = EBADMSG},
	    {.text = "SIP/2.0/UDP h:99999", .err = EBADMSG},
	    {.text = "SIP/2.0/UDP [2001:db8::1", .err = EBADMSG},
	    {.text = "SIP/2.0/UDP h junk", .err = EBADMSG},
	    {.text = "", .err = EBADMSG},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pl t = pl_from_str(cases[i].text);
		struct sip_via v;
		int err = sip_via_decode(&v, &t);

		if (err != cases[i].err)
			print_error("via '%s': %d\n", cases[i].text, err);
		assert_int_equal(err, cases[i].err);
		if (err)
			continue;
		assert_int_equal(v.tp, cases[i].tp);
		assert_pl(v.host, cases[i].host);
		assert_int_equal(v.port, cases[i].port);
		if (cases[i].branch)
			assert_pl(v.branch, cases[i].branch);
		else
			assert_false(pl_isset(&v.branch));
		if (cases[i].received)
			assert_pl(v.received, cases[i].received);
		else
			assert_false(pl_isset(&v.received));
		assert_int_equal(v.rport, cases[i].rport);
		assert_int_equal(v.rport_value, cases[i].rport_value);
		assert_pl(v.version, "2.0");
	}
}

/* ---------------------------------------------------------------------------------------------
 * Messages built here.
 */
#define MSG_HEAD                                                                                   \
	"OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: "                  \
	"<sip:a@b>;tag=1\r\n"                                                                      \
	"To: <sip:x@y>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n"

static void test_iterator(void **state)
{
	struct sip_msg *m =
	    parse_ok(MSG_HEAD "Contact: \"A, B\" <sip:a,b@x;p=1>, <sip:b@y>;q=0.5 ,, "
			      "\"Q \\\" ,<x\" <sip:c@z>\r\n"
			      "Contact: sip:d@w\r\n"
			      "Subject: a, b\r\n"
			      "X-List: 1, 2\r\n"
			      "x-list: 3\r\n"
			      "Supported:\r\n"
			      "Require: 100rel\r\n"
			      "Content-Length: 0\r\n\r\n");
	struct pl v;

	(void)state;
	assert_int_equal(count_values(m, SIP_HDR_CONTACT, NULL), 4);
	v = nth_value(m, SIP_HDR_CONTACT, NULL, 0);
	assert_pl(v, "\"A, B\" <sip:a,b@x;p=1>");
	v = nth_value(m, SIP_HDR_CONTACT, NULL, 1);
	assert_pl(v, "<sip:b@y>;q=0.5");
	v = nth_value(m, SIP_HDR_CONTACT, NULL, 2);
	assert_pl(v, "\"Q \\\" ,<x\" <sip:c@z>");
	assert_pl(nth_addr(m, SIP_HDR_CONTACT, 2).uri.user, "c");
	v = nth_value(m, SIP_HDR_CONTACT, NULL, 3);
	assert_pl(v, "sip:d@w");
	/* By name, a known header is found in either form. */
	assert_int_equal(count_values(m, SIP_HDR_OTHER, "m"), 4);
	/* Not a list: never split. */
	assert_int_equal(count_values(m, SIP_HDR_SUBJECT, NULL), 1);
	/* Extension headers by name, case-insensitive; they are not split either. */
	assert_int_equal(count_values(m, SIP_HDR_OTHER, "X-LIST"), 2);
	assert_pl(sip_msg_xhdr(m, "x-List")->value, "1, 2");
	assert_int_equal(count_values(m, SIP_HDR_SUPPORTED, NULL), 0);
	assert_int_equal(count_values(m, SIP_HDR_OTHER, NULL), 0);
	assert_int_equal(count_values(m, SIP_HDR_ROUTE, NULL), 0);
	assert_int_equal(sip_msg_hdr_count(m, SIP_HDR_CONTACT), 2);
	assert_null(sip_msg_xhdr(m, "X-None"));
	assert_true(sip_msg_has_option(m, SIP_HDR_REQUIRE, "100REL"));
	assert_false(sip_msg_has_option(m, SIP_HDR_SUPPORTED, "100rel"));
	mem_deref(m);
}

static void test_bad_messages(void **state)
{
	static const struct {
		const char *text;
		const char *reason; /* NULL: a parse error (no message) */
	} cases[] = {
	    {MSG_HEAD "Content-Length: 0\r\nMax-Forwards: 256\r\n\r\n", "Bad Max-Forwards header"},
	    {MSG_HEAD "Content-Length: 0\r\nMax-Forwards: -1\r\n\r\n", "Bad Max-Forwards header"},
	    {MSG_HEAD "Content-Length: 0\r\nCSeq: 2 OPTIONS\r\n\r\n", "Duplicate CSeq header"},
	    {MSG_HEAD "Content-Length: 0\r\nl: 0\r\n\r\n", "Duplicate Content-Length header"},
	    {MSG_HEAD "Content-Length: five\r\n\r\n", "Invalid Content-Length"},
	    {MSG_HEAD "Content-Length: 4294967296\r\n\r\n", "Invalid Content-Length"},
	    {MSG_HEAD "Content-Length: 0\r\nNoColonHere\r\n\r\n", "Malformed header line"},
	    {MSG_HEAD "Content-Length: 0\r\n: empty name\r\n\r\n", "Malformed header line"},
	    {"OPTIONS sip:x@y SIP/2.0\r\n folded start\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\n"
	     "To: <sip:x@y>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
	     "Malformed header line"},
	    {"OPTIONS sip:x@y SIP/2.0\r\nFrom: <sip:a@b>\r\nTo: <sip:x@y>\r\nCall-ID: c\r\n"
	     "CSeq: 1 OPTIONS\r\n\r\n",
	     "Missing Via header"},
	    {"OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:x@y>\r\n"
	     "CSeq: 1 OPTIONS\r\n\r\n",
	     "Missing Call-ID"},
	    {MSG_HEAD "Content-Length: 0\r\nContact: <sip:a@b>;;\r\n\r\n", "Bad Contact header"},
	    {"OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:x@y>\r\n"
	     "Call-ID: c d\r\nCSeq: 1 OPTIONS\r\n\r\n",
	     "Bad Call-ID header"},
	    {"OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:x@y>\r\n"
	     "Call-ID: c\r\nCSeq: 1OPTIONS\r\n\r\n",
	     "Bad CSeq header"},
	    {"OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:x@y>\r\n"
	     "Call-ID: c\r\nCSeq: 4294967296 OPTIONS\r\n\r\n",
	     "Bad CSeq header"},
	    {"OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:x@y>\r\n"
	     "Call-ID: c\r\nCSeq: 1 OPTIONS", /* datagram without the empty line */
	     "Header section not terminated"},
	    {"OPTIONS sip:x@y SIP/2.0 \r\n\r\n", "Bad request line"},
	    {"OPTIONS sip:x@y\r\n\r\n", "Bad request line"},
	    {"OPTIONS sip:x@y HTTP/1.1\r\n\r\n", "Bad request line"},
	    {"OPT<IONS sip:x@y SIP/2.0\r\n\r\n", "Bad request line"},
	    {"SIP/2.0 99 Low\r\n\r\n", "Bad status line"},
	    {"SIP/2.0 700 High\r\n\r\n", "Bad status line"},
	    {"SIP/2.0 2000 OK\r\n\r\n", "Bad status line"},
	    {"SIP/2.0 20 OK\r\n\r\n", "Bad status line"},
	    {"SIP/2.0\r\n\r\n", "Bad status line"},
	    {"SIP/x.0 200 OK\r\n\r\n", "Bad status line"},
	    {" OPTIONS sip:x@y SIP/2.0\r\n\r\n", NULL},
	    {"\r\n\r\n", NULL},
	    {"", NULL},
	    {"no line end at all", NULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int err;
		struct sip_msg *m =
		    parse_buf(cases[i].text, strlen(cases[i].text), true, &err, NULL);

		if (!cases[i].reason) {
			assert_int_equal(err, EBADMSG);
			continue;
		}
		assert_int_equal(err, 0);
		if (!m->err_reason || strcmp(m->err_reason, cases[i].reason) != 0)
			print_error("case %zu: got '%s' want '%s'\n", i,
				    m->err_reason ? m->err_reason : "(none)", cases[i].reason);
		assert_non_null(m->err_reason);
		assert_string_equal(m->err_reason, cases[i].reason);
		assert_int_equal(m->err, EBADMSG);
		assert_printable(m->err_reason);
		mem_deref(m);
	}
}

/* A response needs no keys to parse (the transaction layer drops what it cannot match). */
static void test_response_minimal(void **state)
{
	struct sip_msg *m = parse_ok("SIP/2.0 200\r\n\r\n");

	(void)state;
	assert_int_equal(m->scode, 200);
	assert_int_equal(m->reason.l, 0);
	assert_false(m->via_ok);
	assert_false(m->cseq_ok);
	assert_int_equal(m->nhdrs, 0);
	mem_deref(m);
}

/* ---------------------------------------------------------------------------------------------
 * Stream framing.
 */
#define STREAM_MSG                                                                                 \
	"INVITE sip:bob@example.com SIP/2.0\r\n"                                                   \
	"Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK77\r\n"                                          \
	"From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n"                         \
	"Call-ID: s1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"                                    \
	"Content-Type: application/sdp\r\n"                                                        \
	"Content-Length:\r\n 36\r\n\r\n"                                                           \
	"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"

static void test_stream_truncation(void **state)
{
	const char *full = STREAM_MSG STREAM_MSG;
	size_t one = strlen(STREAM_MSG), used;
	struct sip_msg *m;
	struct sip_parse_error perr;

	(void)state;
	for (size_t n = 0; n < one; n++) {
		m = NULL;
		memset(&perr, 0, sizeof(perr));
		if (sip_msg_parse(&m, full, n, false, &used, &perr) != ENODATA)
			print_error("truncated at %zu\n", n);
		assert_int_equal(sip_msg_parse(&m, full, n, false, &used, &perr), ENODATA);
		assert_true(perr.need_more);
		assert_null(m);
	}
	/* Complete, alone and followed by the next message (and by a part of it). */
	for (size_t n = one; n <= 2 * one; n++) {
		memset(&perr, 0, sizeof(perr));
		assert_int_equal(sip_msg_parse(&m, full, n, false, &used, &perr), 0);
		assert_false(perr.need_more);
		assert_int_equal(used, one);
		assert_null(m->err_reason);
		assert_int_equal(m->clen, 36);
		assert_int_equal(m->body.l, 36);
		assert_int_equal(m->raw.l, one);
		mem_deref(m);
	}
	m = parse_buf(full + one, one, false, NULL, &used);
	assert_int_equal(used, one);
	mem_deref(m);
}

static void test_stream_limits(void **state)
{
	size_t big = SIP_MSG_MAX + 100, used;
	char *buf = malloc(big);
	struct sip_msg *m = NULL;
	struct sip_parse_error perr = {0};
	char head[256];
	int n;

	(void)state;
	assert_non_null(buf);
	/* A header section that never ends. */
	memcpy(buf, "OPTIONS sip:x@y SIP/2.0\r\nX: ", 28);
	memset(buf + 28, 'a', big - 28);
	assert_int_equal(sip_msg_parse(&m, buf, big, false, &used, &perr), E2BIG);
	assert_int_equal(sip_msg_parse(&m, buf, big, true, &used, &perr), E2BIG);
	assert_int_equal(sip_msg_parse(&m, buf, 1000, false, &used, &perr), ENODATA);
	/* A body announced larger than the limit: refused before waiting for it. */
	n = snprintf(head, sizeof(head), MSG_HEAD "Content-Length: %d\r\n\r\n", SIP_MSG_MAX);
	assert_int_equal(sip_msg_parse(&m, head, (size_t)n, false, &used, &perr), E2BIG);
	assert_null(m);
	free(buf);
}

/* ---------------------------------------------------------------------------------------------
 * Robustness.
 */
static void test_many_headers(void **state)
{
	struct mbuf mb;
	struct sip_msg *m;
	int err;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(mbuf_write_str(&mb, MSG_HEAD), 0);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(mbuf_write_str(&mb, "X:v\r\n"), 0);
	assert_int_equal(mbuf_write_str(&mb, "Content-Length: 0\r\n\r\n"), 0);
	assert_true(mb.end < SIP_MSG_MAX);
	m = parse_buf((const char *)mb.buf, mb.end, true, &err, NULL);
	assert_int_equal(err, 0);
	assert_string_equal(m->err_reason, "Too many header fields");
	assert_int_equal(m->nhdrs, SIP_HDRS_MAX);
	assert_true(m->via_ok);
	mem_deref(m);
	mbuf_reset(&mb);

	/* Just under the limit is fine. */
	assert_int_equal(mbuf_write_str(&mb, MSG_HEAD), 0);
	for (int i = 0; i < SIP_HDRS_MAX - 6; i++)
		assert_int_equal(mbuf_printf(&mb, "X-%d: v\r\n", i), 0);
	assert_int_equal(mbuf_write_str(&mb, "Content-Length: 0\r\n\r\n"), 0);
	m = parse_buf((const char *)mb.buf, mb.end, false, &err, NULL);
	assert_int_equal(err, 0);
	assert_null(m->err_reason);
	assert_int_equal(m->nhdrs, SIP_HDRS_MAX);
	mem_deref(m);
	mbuf_reset(&mb);
}

/* A header field longer than SIP_HDR_LINE_MAX, or a NUL outside a quoted-pair, makes the
 * message invalid (400), but it is still framed so the 400 can be sent. */
static void test_long_line_nul(void **state)
{
	struct mbuf mb;
	struct sip_msg *m;
	int err;
	static const char nul_msg[] = MSG_HEAD "X-Nul: a\0b\r\nContent-Length: 3\r\n\r\n\0\0\0";
	static const char qp_nul[] = MSG_HEAD "X-Q: \"a\\\0b\"\r\nContent-Length: 3\r\n\r\n\0\0\0";

	(void)state;
	for (int len = SIP_HDR_LINE_MAX - 200; len <= 60000; len += 60000 - SIP_HDR_LINE_MAX + 200) {
		mbuf_init(&mb);
		assert_int_equal(mbuf_write_str(&mb, MSG_HEAD "X-Long: "), 0);
		for (int i = 0; i < len; i++)
			assert_int_equal(mbuf_write_str(&mb, "x"), 0);
		assert_int_equal(mbuf_write_str(&mb, "\r\nContent-Length: 0\r\n\r\n"), 0);
		m = parse_buf((const char *)mb.buf, mb.end, false, &err, NULL);
		assert_int_equal(err, 0);
		if (len < SIP_HDR_LINE_MAX)
			assert_null(m->err_reason);
		else
			assert_string_equal(m->err_reason, "Header field too long");
		assert_int_equal(sip_msg_xhdr(m, "x-long")->value.l, len);
		assert_true(m->via_ok); /* still answerable */
		mem_deref(m);
		mbuf_reset(&mb);
	}

	m = parse_buf(nul_msg, sizeof(nul_msg) - 1, true, &err, NULL);
	assert_int_equal(err, 0);
	assert_string_equal(m->err_reason, "NUL byte in header field");
	assert_int_equal(m->body.l, 3); /* NULs in the body are fine */
	mem_deref(m);

	m = parse_buf(qp_nul, sizeof(qp_nul) - 1, true, &err, NULL);
	assert_int_equal(err, 0);
	assert_null(m->err_reason);
	mem_deref(m);
}

/* Deterministic mutations of every corpus message: truncations, byte flips, inserted line
 * ends and NULs. Nothing may crash (ASan/UBSan watch), and every error text is printable. */
static uint32_t rng = 12345;

static uint32_t next_rand(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static void mutate_one(const char *buf, size_t len)
{
	char *copy = malloc(len + 1);

	assert_non_null(copy);
	for (int round = 0; round < 60; round++) {
		size_t n = len;
		struct sip_msg *m = NULL;
		struct sip_parse_error perr;
		size_t used;

		memcpy(copy, buf, len);
		if (round % 3 == 0 && len)
			n = next_rand() % len;
		for (int k = 0; k < 1 + round % 5 && n; k++) {
			static const char junk[] = "\r\n\0 ,;\"<>:%[]\\\t=\xff";

			copy[next_rand() % n] = junk[next_rand() % (sizeof(junk) - 1)];
		}
		for (int dg = 0; dg < 2; dg++) {
			int err = sip_msg_parse(&m, copy, n, dg, &used, &perr);

			if (err) {
				assert_printable(perr.reason);
				continue;
			}
			assert_true(used <= n);
			if (m->err_reason)
				assert_printable(m->err_reason);
			else if (m->is_request)
				assert_true(m->via_ok && m->from_ok && m->to_ok && m->cseq_ok);
			{
				struct sip_hdr_iter it;
				struct pl v;
				struct sip_addr a;
				struct sip_via via;

				sip_hdr_iter_init(&it, m, SIP_HDR_CONTACT, NULL);
				while (sip_hdr_iter_next(&it, &v))
					(void)sip_addr_decode(&a, &v);
				sip_hdr_iter_init(&it, m, SIP_HDR_VIA, NULL);
				while (sip_hdr_iter_next(&it, &v))
					(void)sip_via_decode(&via, &v);
			}
			mem_deref(m);
		}
	}
	free(copy);
}

static void test_mutations(void **state)
{
	static const char *const files[] = {
	    "rfc4475/wsinv.dat",
	    "rfc4475/intmeth.dat",
	    "rfc4475/esc01.dat",
	    "rfc4475/mpart01.dat",
	    "rfc4475/longreq.dat",
	    "rfc4475/unreason.dat",
	    "rfc4475/dblreq.dat",
	    "rfc5118/wire-derived/mult-ip-in-header.sip",
	    "real-world/ims-volte/12_sip_flow_call_invite_183.sip",
	    "real-world/ngn-hikari/sabiden_ngn_200OK_to_INVITE.cleaned.crlf.sip",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		size_t len;
		char *buf = read_corpus(files[i], &len);

		assert_non_null(buf);
		mutate_one(buf, len);
		free(buf);
	}
	/* Random binary junk. */
	for (int i = 0; i < 200; i++) {
		char junk[512];
		size_t n = next_rand() % sizeof(junk);
		struct sip_msg *m = NULL;
		struct sip_parse_error perr;
		size_t used;

		for (size_t k = 0; k < n; k++)
			junk[k] = (char)next_rand();
		if (sip_msg_parse(&m, junk, n, true, &used, &perr) == 0) {
			assert_non_null(m->err_reason);
			mem_deref(m);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4475),
	    cmocka_unit_test(test_rfc5118),
	    cmocka_unit_test(test_rfc4475_stream),
	    cmocka_unit_test(test_real_world),
	    cmocka_unit_test(test_hdr_table),
	    cmocka_unit_test(test_hdr_table_parsed),
	    cmocka_unit_test(test_methods_transports),
	    cmocka_unit_test(test_compact_equals_long),
	    cmocka_unit_test(test_bare_lf),
	    cmocka_unit_test(test_uri_table),
	    cmocka_unit_test(test_params_unescape),
	    cmocka_unit_test(test_uri_eq),
	    cmocka_unit_test(test_addr_table),
	    cmocka_unit_test(test_via_table),
	    cmocka_unit_test(test_iterator),
	    cmocka_unit_test(test_bad_messages),
	    cmocka_unit_test(test_response_minimal),
	    cmocka_unit_test(test_stream_truncation),
	    cmocka_unit_test(test_stream_limits),
	    cmocka_unit_test(test_many_headers),
	    cmocka_unit_test(test_long_line_nul),
	    cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests_name("sip_parser", tests, NULL, NULL);
}
