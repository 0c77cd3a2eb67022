/* test_sip_build: responses and requests built by build.c, checked by parsing them back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "sip.h"

static struct sip_msg *parse(const char *text, size_t len)
{
	struct sip_parse_error perr = {0};
	struct sip_msg *msg = NULL;
	size_t used = 0;

	assert_int_equal(sip_msg_parse(&msg, text, len, true, &used, &perr), 0);
	assert_non_null(msg);
	assert_null(msg->err_reason);
	return msg;
}

static struct sip_msg *parse_mb(const struct mbuf *mb)
{
	return parse((const char *)mb->buf, mb->end);
}

static const char invite[] = "INVITE sip:bob@example.com SIP/2.0\r\n"
			     "Via: SIP/2.0/UDP pc33.example.com:5070;branch=z9hG4bKabc;rport, "
			     "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKdef\r\n"
			     "v: SIP/2.0/TCP second.example.com;branch=z9hG4bKghi\r\n"
			     "Max-Forwards: 70\r\n"
			     "f: Alice <sip:alice@example.com>;tag=1928301774\r\n"
			     "t: Bob <sip:bob@example.com>\r\n"
			     "i: a84b4c76e66710@pc33.example.com\r\n"
			     "CSeq: 314159 INVITE\r\n"
			     "Timestamp: 54\r\n"
			     "Contact: <sip:alice@pc33.example.com>\r\n"
			     "Content-Length: 0\r\n\r\n";

static void test_response_copies_and_fills_via(void **state)
{
	struct sip_msg *req = parse(invite, sizeof(invite) - 1);
	struct sip_msg *resp;
	struct sip_hdr_iter it;
	struct sip_via via;
	struct pl v;
	struct mbuf mb;
	int n = 0;

	(void)state;
	sa_set_str(&req->src, "192.0.2.7", 40000);
	mbuf_init(&mb);
	assert_int_equal(sip_build_response(&mb, req, 486, "Busy Here", "totag1", "Server: t\r\n",
					     NULL, NULL),
			 0);
	resp = parse_mb(&mb);
	assert_false(resp->is_request);
	assert_int_equal(resp->scode, 486);
	assert_true(pl_eq_str(&resp->reason, "Busy Here"));

	/* Top Via: received and rport filled in from the source address (RFC 3581). */
	assert_true(resp->via_ok);
	assert_true(pl_eq_str(&resp->via.host, "pc33.example.com"));
	assert_true(pl_eq_str(&resp->via.received, "192.0.2.7"));
	assert_true(resp->via.rport);
	assert_int_equal(resp->via.rport_value, 40000);
	assert_true(pl_eq_str(&resp->via.branch, "z9hG4bKabc"));

	/* Every Via value kept, in order. */
	sip_hdr_iter_init(&it, resp, SIP_HDR_VIA, NULL);
	while (sip_hdr_iter_next(&it, &v)) {
		assert_int_equal(sip_via_decode(&via, &v), 0);
		if (n == 1)
			assert_true(pl_eq_str(&via.branch, "z9hG4bKdef"));
		if (n == 2)
			assert_true(pl_eq_str(&via.branch, "z9hG4bKghi"));
		n++;
	}
	assert_int_equal(n, 3);

	assert_true(resp->to_ok);
	assert_true(pl_eq_str(&resp->to.tag, "totag1"));
	assert_true(pl_eq_str(&resp->from.tag, "1928301774"));
	assert_true(pl_eq_str(&resp->call_id, "a84b4c76e66710@pc33.example.com"));
	assert_int_equal(resp->cseq.num, 314159);
	assert_int_equal(resp->cseq.mid, SIP_METHOD_INVITE);
	assert_non_null(sip_msg_hdr(resp, SIP_HDR_TIMESTAMP));
	assert_non_null(sip_msg_xhdr(resp, "Server"));
	assert_null(sip_msg_hdr(resp, SIP_HDR_CONTACT));
	assert_true(resp->has_clen);
	assert_int_equal(resp->clen, 0);

	mem_deref(resp);
	mem_deref(req);
	mbuf_reset(&mb);
}

static void test_response_no_received_when_same_host(void **state)
{
	static const char opt[] = "OPTIONS sip:x@192.0.2.1 SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK1\r\n"
				  "From: <sip:a@192.0.2.9>;tag=a\r\nTo: <sip:x@192.0.2.1>;tag=b\r\n"
				  "Call-ID: c1\r\nCSeq: 2 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	struct sip_msg *req = parse(opt, sizeof(opt) - 1);
	struct sip_msg *resp;
	struct mbuf mb;

	(void)state;
	sa_set_str(&req->src, "192.0.2.9", 5060);
	mbuf_init(&mb);
	assert_int_equal(sip_build_response(&mb, req, 200, "OK", "ignored", NULL, NULL, NULL), 0);
	resp = parse_mb(&mb);
	assert_false(pl_isset(&resp->via.received));
	assert_false(resp->via.rport);
	/* The request's To tag stays the only one. */
	assert_true(pl_eq_str(&resp->to.tag, "b"));
	assert_null(memmem(mb.buf, mb.end, "ignored", 7));
	mem_deref(resp);
	mem_deref(req);
	mbuf_reset(&mb);
}

static void test_trying_has_no_tag_and_body_written(void **state)
{
	struct sip_msg *req = parse(invite, sizeof(invite) - 1);
	struct sip_msg *resp;
	struct pl body = PL("v=0\r\n");
	struct mbuf mb;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(sip_build_response(&mb, req, 100, "Trying", "t", NULL, NULL, NULL), 0);
	resp = parse_mb(&mb);
	assert_false(pl_isset(&resp->to.tag));
	/* No source address known: the Via is copied unchanged. */
	assert_false(pl_isset(&resp->via.received));
	mem_deref(resp);
	mbuf_reset(&mb);

	assert_int_equal(
		sip_build_response(&mb, req, 183, "Session Progress", "t", NULL, "application/sdp",
				   &body),
		0);
	resp = parse_mb(&mb);
	assert_int_equal(resp->clen, 5);
	assert_true(pl_eq_str(&resp->body, "v=0\r\n"));
	assert_non_null(sip_msg_hdr(resp, SIP_HDR_CONTENT_TYPE));
	mem_deref(resp);
	mem_deref(req);
	mbuf_reset(&mb);
}

static void test_response_rejects_bad_code(void **state)
{
	struct sip_msg *req = parse(invite, sizeof(invite) - 1);
	struct mbuf mb;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(sip_build_response(&mb, req, 99, "x", NULL, NULL, NULL, NULL), EINVAL);
	assert_int_equal(sip_build_response(&mb, req, 700, "x", NULL, NULL, NULL, NULL), EINVAL);
	mem_deref(req);
	mbuf_reset(&mb);
}

static const char exact_v6[] =
    "MESSAGE sip:bob@[2001:db8::1]:5070 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP [2001:db8::2]:5062;branch=z9hG4bKxyz;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=f1\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: cid@x\r\n"
    "CSeq: 7 MESSAGE\r\n"
    "Contact: <sip:alice@[2001:db8::2]:5062>\r\n"
    "Subject: hi\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 5\r\n"
    "\r\n"
    "hello";
static const char exact_v4[] =
    "MESSAGE sip:bob@[2001:db8::1]:5070 SIP/2.0\r\n"
    "Via: SIP/2.0/TCP 192.0.2.7;branch=z9hG4bKxyz\r\n"
    "Max-Forwards: 0\r\n"
    "From: <sip:alice@example.com>;tag=f1\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: cid@x\r\n"
    "CSeq: 7 INVITE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static void test_request_round_trip(void **state)
{
	struct pl body = PL("hello");
	struct sip_request_spec spec = {
		.method = "MESSAGE",
		.ruri = "sip:bob@[2001:db8::1]:5070",
		.tp = SIP_TP_UDP,
		.via_host = "2001:db8::2",
		.via_port = 5062,
		.branch = "z9hG4bKxyz",
		.rport = true,
		.from = "<sip:alice@example.com>;tag=f1",
		.to = "<sip:bob@example.com>",
		.call_id = "cid@x",
		.cseq = 7,
		.max_forwards = -1,
		.contact = "<sip:alice@[2001:db8::2]:5062>",
		.extra = "Subject: hi\r\n",
		.ctype = "text/plain",
		.body = &body,
	};
	struct sip_msg *msg;
	struct mbuf mb;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(sip_build_request(&mb, &spec), 0);
	msg = parse_mb(&mb);
	assert_true(msg->is_request);
	assert_true(pl_eq_str(&msg->method, "MESSAGE"));
	assert_true(msg->uri_ok);
	assert_true(msg->uri.host_ipv6);
	assert_true(pl_eq_str(&msg->uri.host, "2001:db8::1"));
	assert_int_equal(msg->uri.port, 5070);
	assert_true(msg->via_ok);
	assert_true(msg->via.host_ipv6);
	assert_true(pl_eq_str(&msg->via.host, "2001:db8::2"));
	assert_int_equal(msg->via.port, 5062);
	assert_true(msg->via.rport);
	assert_true(pl_eq_str(&msg->via.branch, "z9hG4bKxyz"));
	assert_int_equal(msg->max_forwards, 70);
	assert_true(pl_eq_str(&msg->from.tag, "f1"));
	assert_int_equal(msg->cseq.num, 7);
	assert_int_equal(msg->cseq.mid, SIP_METHOD_MESSAGE);
	assert_true(pl_eq_str(&msg->cseq.method, "MESSAGE"));
	assert_int_equal(msg->clen, 5);
	assert_true(pl_eq_str(&msg->body, "hello"));
	assert_non_null(sip_msg_hdr(msg, SIP_HDR_SUBJECT));
	mem_deref(msg);
	mbuf_reset(&mb);

	/* The exact bytes (written without printf since 2026-12-04; the same as before). */
	assert_int_equal(sip_build_request(&mb, &spec), 0);
	assert_int_equal(mb.end, strlen(exact_v6));
	assert_memory_equal(mb.buf, exact_v6, mb.end);
	mbuf_reset(&mb);
	spec.via_host = "192.0.2.7";
	spec.via_port = 0;
	spec.rport = false;
	spec.max_forwards = 0;
	spec.cseq_method = "INVITE";
	spec.contact = NULL;
	spec.extra = NULL;
	spec.ctype = NULL;
	spec.body = NULL;
	spec.tp = SIP_TP_TCP;
	assert_int_equal(sip_build_request(&mb, &spec), 0);
	assert_int_equal(mb.end, strlen(exact_v4));
	assert_memory_equal(mb.buf, exact_v4, mb.end);
	mbuf_reset(&mb);

	spec.ruri = NULL;
	assert_int_equal(sip_build_request(&mb, &spec), EINVAL);
	mbuf_reset(&mb);
}

static void test_branch_and_tag(void **state)
{
	char a[40], b[40], t[20];

	(void)state;
	sip_branch_new(a, sizeof(a));
	sip_branch_new(b, sizeof(b));
	assert_memory_equal(a, "z9hG4bK", 7);
	assert_int_equal(strlen(a), 27);
	assert_string_not_equal(a, b);
	sip_tag_new(t, sizeof(t));
	assert_int_equal(strlen(t), 16);
	sip_tag_new(t, 5);
	assert_int_equal(strlen(t), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_copies_and_fills_via),
		cmocka_unit_test(test_response_no_received_when_same_host),
		cmocka_unit_test(test_trying_has_no_tag_and_body_written),
		cmocka_unit_test(test_response_rejects_bad_code),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_branch_and_tag),
	};
	return cmocka_run_group_tests_name("sip_build", tests, NULL, NULL);
}
