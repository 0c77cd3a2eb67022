/* Unit tests for SIP transactions: retransmission schedules on a fake clock, matching (RFC 3261
 * and RFC 2543 fallback), ACK and CANCEL handling, against a raw UDP peer socket on 127.0.0.1. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "base.h"
#include "loop.h"
#include "sip.h"

#define T0 1000000u /* fake clock origin, ms */

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

struct fx {
	struct loop *loop;
	struct sip_stack *stack;
	struct sa addr; /* the stack's UDP socket */
	int peer;
	struct sa peer_addr;
	char peer_host[SA_STRLEN];
	uint16_t peer_port;

	/* TU side of the server */
	uint16_t auto_code; /* answer every new request with this, 0: stay silent */
	bool set_cancel;    /* install the cancel handler, which answers 487 */
	struct sip_strans *st;
	int nreq, nack, ncancel;
	char last_method[16];

	/* TU side of the client */
	int nresp;
	int errs[32];
	uint16_t codes[32];
	bool abandon_in_cb;
	struct sip_ctrans *ct;
};

static struct fx fx;

/* ---------------------------------------------------------------------------------------------
 * Fixture
 */

static void on_cancel(struct sip_strans *st, const struct sip_msg *cancel, void *arg)
{
	struct fx *f = arg;

	f->ncancel++;
	assert_int_equal(cancel->mid, SIP_METHOD_CANCEL);
	assert_int_equal(sip_strans_reply(st, 487, "Request Terminated", NULL, NULL, NULL), 0);
}

static void on_request(struct sip_stack *stack, struct sip_strans *st, const struct sip_msg *msg,
		       void *arg)
{
	struct fx *f = arg;

	pl_strcpy(&msg->method, f->last_method, sizeof(f->last_method));
	if (!st) {
		assert_int_equal(msg->mid, SIP_METHOD_ACK);
		f->nack++;
		return;
	}
	f->nreq++;
	f->st = st;
	assert_ptr_equal(sip_strans_msg(st), msg);
	if (f->set_cancel)
		sip_strans_set_cancel_handler(st, on_cancel, f);
	if (f->auto_code) {
		assert_int_equal(sip_strans_reply(st, f->auto_code, "Auto", NULL, NULL, NULL), 0);
		f->st = NULL;
	}
}

static void on_response(int err, const struct sip_msg *resp, void *arg)
{
	struct fx *f = arg;

	assert_true((size_t)f->nresp < ARRAY_SIZE(f->codes));
	f->errs[f->nresp] = err;
	f->codes[f->nresp] = resp ? resp->scode : 0;
	f->nresp++;
	if (err)
		assert_null(resp);
	if (f->abandon_in_cb && f->ct) {
		sip_ctrans_abandon(f->ct);
		f->ct = NULL;
	}
}

static int setup(void **state)
{
	struct sa any;
	socklen_t len;

	memset(&fx, 0, sizeof(fx));
	log_set_level(LOG_WARN);
	assert_int_equal(loop_alloc(&fx.loop), 0);
	fake_now = T0;
	loop_clock_set(fx.loop, fake_clock, NULL);
	assert_int_equal(sip_stack_alloc(&fx.stack, fx.loop, NULL, on_request, &fx), 0);
	assert_int_equal(sa_set_str(&any, "127.0.0.1", 0), 0);
	assert_int_equal(sip_transp_listen(sip_stack_transp(fx.stack), SIP_TP_UDP, &any, 0), 0);
	assert_int_equal(sip_transp_bound(sip_stack_transp(fx.stack), SIP_TP_UDP, 0, &fx.addr), 0);

	fx.peer = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fx.peer >= 0);
	assert_int_equal(bind(fx.peer, &any.u.sa, any.len), 0);
	fx.peer_addr = any;
	len = sizeof(fx.peer_addr.u);
	assert_int_equal(getsockname(fx.peer, &fx.peer_addr.u.sa, &len), 0);
	fx.peer_addr.len = len;
	fx.peer_port = sa_port(&fx.peer_addr);
	sa_ntop(&fx.peer_addr, fx.peer_host, sizeof(fx.peer_host));
	*state = &fx;
	return 0;
}

/* The same fixture, with stack_request's requests started by their spec
 * (sip_ctrans_request_spec: keyed without parsing, parsed only for the ACK or CANCEL). */
static bool by_spec;

static int setup_spec(void **state)
{
	by_spec = true;
	return setup(state);
}

static int teardown(void **state)
{
	by_spec = false;
	sip_stack_free(fx.stack);
	assert_int_equal(loop_timer_count(fx.loop), 0);
	loop_free(fx.loop);
	close(fx.peer);
	return 0;
}

/* Moves the fake clock to T0 + ms and fires what is due. */
static void clock_at(uint64_t ms)
{
	fake_now = T0 + ms;
	loop_timers_run(fx.loop);
}

/* Lets the stack read what the peer sent (bounded, real time). */
static void pump(void)
{
	for (int i = 0; i < 3; i++)
		loop_run_once(fx.loop, i == 0 ? 100 : 0);
}

static void peer_send_raw(const char *data, size_t len)
{
	ssize_t n = sendto(fx.peer, data, len, 0, &fx.addr.u.sa, fx.addr.len);

	assert_int_equal(n, (ssize_t)len);
	pump();
}

/* Sends a request from the peer. via_branch is the whole ";branch=..." part or "". */
static void peer_request(const char *method, const char *branch_param, const char *to_tag,
			 const char *call_id, uint32_t cseq, const char *cseq_method)
{
	char buf[2048];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "%s sip:bob@127.0.0.1 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP %s:%u%s\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:alice@127.0.0.1>;tag=fromtag1\r\n"
		     "To: <sip:bob@127.0.0.1>%s%s\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %u %s\r\n"
		     "Content-Length: 0\r\n\r\n",
		     method, fx.peer_host, fx.peer_port, branch_param, to_tag ? ";tag=" : "",
		     to_tag ? to_tag : "", call_id, cseq, cseq_method ? cseq_method : method);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	peer_send_raw(buf, (size_t)n);
}

/* Receives one datagram within timeout_ms and parses it; NULL when none came. */
static struct sip_msg *peer_recv(int timeout_ms)
{
	struct sip_parse_error perr = {0};
	struct pollfd pfd = {.fd = fx.peer, .events = POLLIN};
	struct sip_msg *msg = NULL;
	char buf[8192];
	size_t used;
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return NULL;
	n = recv(fx.peer, buf, sizeof(buf), 0);
	assert_true(n > 0);
	assert_int_equal(sip_msg_parse(&msg, buf, (size_t)n, true, &used, &perr), 0);
	return msg;
}

/* Throws away what the stack sent while the clock jumped. */
static void drain(void)
{
	struct sip_msg *m;

	for (int i = 0; i < 100 && (m = peer_recv(2)) != NULL; i++)
		mem_deref(m);
}

static void expect_none(void)
{
	struct sip_msg *m = peer_recv(3);

	if (m) {
		fprintf(stderr, "unexpected: %.*s\n", (int)MIN(m->raw.l, 60), m->raw.p);
		mem_deref(m);
		fail();
	}
}

/* Expects a response with this code (to the CSeq method given); returns it (caller derefs). */
static struct sip_msg *expect_response(uint16_t code, enum sip_method cseq_method)
{
	struct sip_msg *m = peer_recv(500);

	assert_non_null(m);
	assert_false(m->is_request);
	assert_int_equal(m->scode, code);
	assert_int_equal(m->cseq.mid, cseq_method);
	return m;
}

static struct sip_msg *expect_request(enum sip_method mid)
{
	struct sip_msg *m = peer_recv(500);

	assert_non_null(m);
	assert_true(m->is_request);
	assert_int_equal(m->mid, mid);
	return m;
}

/* The peer answers one of the stack's requests. */
static void peer_respond(const struct sip_msg *req, uint16_t code, const char *totag)
{
	struct mbuf mb;

	mbuf_init(&mb);
	assert_int_equal(sip_build_response(&mb, req, code, "Peer", totag, NULL, NULL, NULL), 0);
	peer_send_raw((const char *)mb.buf, mb.end);
	mbuf_reset(&mb);
}

/* A request from the stack to the peer, with a Route header for the ACK/CANCEL checks. */
static void stack_request(const char *method, const char *branch, struct sip_ctrans **ctp)
{
	char ruri[128], via_host[SA_STRLEN];
	struct sip_request_spec spec = {0};
	struct mbuf mb;

	snprintf(ruri, sizeof(ruri), "sip:bob@%s:%u", fx.peer_host, fx.peer_port);
	sa_ntop(&fx.addr, via_host, sizeof(via_host));
	spec.method = method;
	spec.ruri = ruri;
	spec.tp = SIP_TP_UDP;
	spec.via_host = via_host;
	spec.via_port = sa_port(&fx.addr);
	spec.branch = branch;
	spec.from = "<sip:alice@example.net>;tag=ct-from";
	spec.to = "<sip:bob@example.net>";
	spec.call_id = "ct-call@example.net";
	spec.cseq = 7;
	spec.max_forwards = -1;
	spec.extra = "Route: <sip:proxy1.example.net;lr>\r\nRoute: <sip:proxy2.example.net;lr>\r\n";
	mbuf_init(&mb);
	assert_int_equal(sip_build_request(&mb, &spec), 0);
	if (by_spec)
		assert_int_equal(sip_ctrans_request_spec(ctp, fx.stack, SIP_TP_UDP, NULL,
							 &fx.peer_addr, &mb, &spec, on_response,
							 &fx),
				 0);
	else
		assert_int_equal(sip_ctrans_request(ctp, fx.stack, SIP_TP_UDP, &fx.peer_addr, &mb,
						    on_response, &fx),
				 0);
	mbuf_reset(&mb);
}

static bool hdr_eq(const struct sip_msg *m, enum sip_hdr_id id, const char *value)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);

	return h && pl_eq_str(&h->value, value);
}

/* ---------------------------------------------------------------------------------------------
 * Client transactions
 */

/* A request sent "from" one of several specifically bound sockets leaves from that address, and
 * so do its retransmissions (multi-homed: the line-side address toward the line). */
static void test_ctrans_from_source_address(void **state)
{
	struct sa a62, a63, from;
	struct sip_request_spec spec = {0};
	char ruri[128], buf[4096];
	struct mbuf mb;
	socklen_t len;

	(void)state;
	assert_int_equal(sa_set_str(&a62, "127.0.0.62", 0), 0);
	assert_int_equal(sa_set_str(&a63, "127.0.0.63", 0), 0);
	assert_int_equal(sip_transp_listen(sip_stack_transp(fx.stack), SIP_TP_UDP, &a62, 0), 0);
	assert_int_equal(sip_transp_listen(sip_stack_transp(fx.stack), SIP_TP_UDP, &a63, 0), 0);
	assert_int_equal(sip_transp_bound(sip_stack_transp(fx.stack), SIP_TP_UDP, 2, &a63), 0);
	snprintf(ruri, sizeof(ruri), "sip:bob@%s:%u", fx.peer_host, fx.peer_port);
	spec.method = "OPTIONS";
	spec.ruri = ruri;
	spec.tp = SIP_TP_UDP;
	spec.via_host = "127.0.0.63";
	spec.via_port = sa_port(&a63);
	spec.branch = "z9hG4bKfrom63";
	spec.from = "<sip:alice@example.net>;tag=f63";
	spec.to = "<sip:bob@example.net>";
	spec.call_id = "from63@example.net";
	spec.cseq = 1;
	spec.max_forwards = -1;
	mbuf_init(&mb);
	assert_int_equal(sip_build_request(&mb, &spec), 0);
	assert_int_equal(sip_ctrans_request_from(NULL, fx.stack, SIP_TP_UDP, &a63, &fx.peer_addr,
						 &mb, on_response, &fx),
			 0);
	mbuf_reset(&mb);
	for (int round = 0; round < 2; round++) {
		struct pollfd pfd = {.fd = fx.peer, .events = POLLIN};

		if (round == 1)
			clock_at(SIP_T1_DEFAULT); /* timer E: the retransmission */
		assert_int_equal(poll(&pfd, 1, 1000), 1);
		len = sizeof(from.u);
		assert_true(recvfrom(fx.peer, buf, sizeof(buf), 0, &from.u.sa, &len) > 0);
		from.len = len;
		assert_true(sa_eq(&from, &a63));
	}
}

static void test_ctrans_invite_timer_a_b(void **state)
{
	static const uint64_t retx[] = {500, 1500, 3500, 7500, 15500, 31500};
	struct sip_msg *m;

	stack_request("INVITE", "z9hG4bK-inv-a", &fx.ct);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 1);
	m = expect_request(SIP_METHOD_INVITE);
	assert_true(pl_eq_str(&m->via.branch, "z9hG4bK-inv-a"));
	mem_deref(m);

	for (size_t i = 0; i < ARRAY_SIZE(retx); i++) {
		clock_at(retx[i] - 1);
		expect_none();
		clock_at(retx[i]);
		m = expect_request(SIP_METHOD_INVITE);
		assert_true(pl_eq_str(&m->via.branch, "z9hG4bK-inv-a"));
		mem_deref(m);
	}
	clock_at(31999);
	assert_int_equal(fx.nresp, 0);
	clock_at(32000);
	assert_int_equal(fx.nresp, 1);
	assert_int_equal(fx.errs[0], ETIMEDOUT);
	expect_none();
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
}

static void test_ctrans_noninvite_timer_e_f(void **state)
{
	static const uint64_t retx[] = {500,   1500,  3500,  7500,  11500,
					15500, 19500, 23500, 27500, 31500};
	struct sip_msg *m;

	stack_request("OPTIONS", "z9hG4bK-opt-e", NULL);
	mem_deref(expect_request(SIP_METHOD_OPTIONS));
	for (size_t i = 0; i < ARRAY_SIZE(retx); i++) {
		clock_at(retx[i] - 1);
		expect_none();
		clock_at(retx[i]);
		m = expect_request(SIP_METHOD_OPTIONS);
		mem_deref(m);
	}
	clock_at(31999);
	assert_int_equal(fx.nresp, 0);
	clock_at(32000);
	expect_none();
	assert_int_equal(fx.nresp, 1);
	assert_int_equal(fx.errs[0], ETIMEDOUT);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
}

static void test_ctrans_noninvite_proceeding_completed(void **state)
{
	struct sip_msg *req;

	stack_request("OPTIONS", "z9hG4bK-opt-p", NULL);
	req = expect_request(SIP_METHOD_OPTIONS);
	clock_at(100);
	peer_respond(req, 100, NULL);
	assert_int_equal(fx.nresp, 1);
	assert_int_equal(fx.codes[0], 100);
	/* E keeps running after a provisional; first due at 500, then at T2 intervals. */
	clock_at(500);
	mem_deref(expect_request(SIP_METHOD_OPTIONS));
	clock_at(4499);
	expect_none();
	clock_at(4500);
	mem_deref(expect_request(SIP_METHOD_OPTIONS));

	peer_respond(req, 200, "peer-tag");
	assert_int_equal(fx.nresp, 2);
	assert_int_equal(fx.codes[1], 200);
	assert_int_equal(fx.errs[1], 0);
	/* Retransmitted final: absorbed. */
	peer_respond(req, 200, "peer-tag");
	assert_int_equal(fx.nresp, 2);
	clock_at(8500);
	expect_none();
	/* Timer K = T4 after the final. */
	clock_at(4500 + 4999);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 1);
	clock_at(4500 + 5000);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
	/* A late response is now stray and must not reach the TU. */
	peer_respond(req, 200, "peer-tag");
	assert_int_equal(fx.nresp, 2);
	mem_deref(req);
}

static void test_ctrans_invite_non2xx_ack(void **state)
{
	struct sip_msg *req, *ack;
	struct sip_hdr_iter it;
	struct pl v;
	const struct sip_hdr *to;

	stack_request("INVITE", "z9hG4bK-inv-ack", &fx.ct);
	req = expect_request(SIP_METHOD_INVITE);
	peer_respond(req, 180, "callee-tag");
	assert_int_equal(fx.nresp, 1);
	assert_int_equal(fx.codes[0], 180);
	/* Proceeding: no more retransmissions, no timer B. */
	clock_at(500);
	expect_none();
	clock_at(40000);
	assert_int_equal(fx.nresp, 1);

	peer_respond(req, 486, "callee-tag");
	assert_int_equal(fx.nresp, 2);
	assert_int_equal(fx.codes[1], 486);
	ack = expect_request(SIP_METHOD_ACK);
	assert_true(pl_cmp(&ack->ruri, &req->ruri) == 0);
	assert_true(pl_eq_str(&ack->via.branch, "z9hG4bK-inv-ack"));
	assert_int_equal(sip_msg_hdr_count(ack, SIP_HDR_VIA), 1);
	assert_true(pl_cmp(&ack->call_id, &req->call_id) == 0);
	assert_int_equal(ack->cseq.num, 7);
	assert_int_equal(ack->cseq.mid, SIP_METHOD_ACK);
	assert_true(pl_eq_str(&ack->from.tag, "ct-from"));
	assert_true(pl_eq_str(&ack->to.tag, "callee-tag"));
	to = sip_msg_hdr(ack, SIP_HDR_TO);
	assert_non_null(to);
	assert_true(pl_eq_str(&to->value, "<sip:bob@example.net>;tag=callee-tag"));
	assert_int_equal(ack->max_forwards, 70);
	sip_hdr_iter_init(&it, ack, SIP_HDR_ROUTE, NULL);
	assert_true(sip_hdr_iter_next(&it, &v));
	assert_true(pl_eq_str(&v, "<sip:proxy1.example.net;lr>"));
	assert_true(sip_hdr_iter_next(&it, &v));
	assert_true(pl_eq_str(&v, "<sip:proxy2.example.net;lr>"));
	assert_false(sip_hdr_iter_next(&it, &v));
	assert_true(ack->has_clen && ack->clen == 0);

	/* A retransmitted final gets the same ACK again and does not reach the TU. */
	peer_respond(req, 486, "callee-tag");
	assert_int_equal(fx.nresp, 2);
	{
		struct sip_msg *ack2 = expect_request(SIP_METHOD_ACK);

		assert_true(pl_cmp(&ack2->raw, &ack->raw) == 0);
		mem_deref(ack2);
	}
	/* Timer D: 32 s on UDP. */
	clock_at(40000 + 31999);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 1);
	clock_at(40000 + 32000);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
	mem_deref(ack);
	mem_deref(req);
}

static void test_ctrans_invite_2xx_accepted(void **state)
{
	struct sip_msg *req;

	stack_request("INVITE", "z9hG4bK-inv-2xx", &fx.ct);
	req = expect_request(SIP_METHOD_INVITE);
	peer_respond(req, 200, "callee-tag");
	assert_int_equal(fx.nresp, 1);
	assert_int_equal(fx.codes[0], 200);
	/* The ACK for a 2xx is the TU's: the transaction sends nothing. */
	expect_none();
	/* Retransmitted (or forked) 2xx go to the TU as well (RFC 6026). */
	peer_respond(req, 200, "callee-tag");
	assert_int_equal(fx.nresp, 2);
	assert_int_equal(fx.codes[1], 200);
	/* Non-2xx after a 2xx: ignored. */
	peer_respond(req, 486, "other-tag");
	assert_int_equal(fx.nresp, 2);
	expect_none();
	assert_int_equal(sip_ctrans_cancel(fx.ct, NULL), EALREADY);
	/* Timer M = 64*T1. */
	clock_at(31999);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 1);
	clock_at(32000);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
	mem_deref(req);
}

static int nstray;
static void on_stray(struct sip_stack *stack, const struct sip_msg *resp, void *arg)
{
	assert_ptr_equal(arg, &fx);
	assert_int_equal(resp->scode, 200);
	nstray++;
}

static void test_ctrans_abandon_and_stray(void **state)
{
	struct sip_msg *req;

	nstray = 0;
	sip_stack_set_stray_response_handler(fx.stack, on_stray, &fx);
	fx.abandon_in_cb = true;
	stack_request("INVITE", "z9hG4bK-inv-ab", &fx.ct);
	req = expect_request(SIP_METHOD_INVITE);
	peer_respond(req, 200, "callee-tag");
	assert_int_equal(fx.nresp, 1);
	/* Abandoned inside the callback: the retransmission goes nowhere. */
	peer_respond(req, 200, "callee-tag");
	assert_int_equal(fx.nresp, 1);
	assert_int_equal(nstray, 0);
	clock_at(32000);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
	/* After timer M a 2xx is stray: the dialog layer hears of it. */
	peer_respond(req, 200, "callee-tag");
	assert_int_equal(nstray, 1);
	mem_deref(req);
}

static void test_ctrans_cancel(void **state)
{
	struct sip_msg *req, *cancel, *ack;
	struct sip_hdr_iter it;
	struct pl v;

	stack_request("INVITE", "z9hG4bK-inv-c", &fx.ct);
	req = expect_request(SIP_METHOD_INVITE);
	/* Before any provisional the CANCEL waits (§9.1). */
	assert_int_equal(
	    sip_ctrans_cancel(fx.ct, "SIP;cause=200;text=\"Call completed elsewhere\""), 0);
	assert_int_equal(sip_ctrans_cancel(fx.ct, NULL), EALREADY);
	clock_at(100);
	expect_none();
	peer_respond(req, 180, "callee-tag");
	assert_int_equal(fx.nresp, 1);
	cancel = expect_request(SIP_METHOD_CANCEL);
	assert_true(pl_cmp(&cancel->ruri, &req->ruri) == 0);
	assert_true(pl_eq_str(&cancel->via.branch, "z9hG4bK-inv-c"));
	assert_int_equal(sip_msg_hdr_count(cancel, SIP_HDR_VIA), 1);
	assert_int_equal(cancel->cseq.num, 7);
	assert_int_equal(cancel->cseq.mid, SIP_METHOD_CANCEL);
	assert_false(pl_isset(&cancel->to.tag));
	assert_true(hdr_eq(cancel, SIP_HDR_TO, "<sip:bob@example.net>"));
	assert_true(pl_cmp(&cancel->call_id, &req->call_id) == 0);
	assert_true(
	    hdr_eq(cancel, SIP_HDR_REASON, "SIP;cause=200;text=\"Call completed elsewhere\""));
	sip_hdr_iter_init(&it, cancel, SIP_HDR_ROUTE, NULL);
	assert_true(sip_hdr_iter_next(&it, &v));
	assert_true(sip_hdr_iter_next(&it, &v));
	assert_false(sip_hdr_iter_next(&it, &v));
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 2);

	/* 200 to the CANCEL is the CANCEL transaction's; the TU hears the INVITE's 487. */
	peer_respond(cancel, 200, "callee-tag");
	assert_int_equal(fx.nresp, 1);
	peer_respond(req, 487, "callee-tag");
	assert_int_equal(fx.nresp, 2);
	assert_int_equal(fx.codes[1], 487);
	ack = expect_request(SIP_METHOD_ACK);
	assert_true(pl_eq_str(&ack->via.branch, "z9hG4bK-inv-c"));
	mem_deref(ack);
	clock_at(100 + 32000);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
	mem_deref(cancel);
	mem_deref(req);
}

static void test_ctrans_cancel_never_sent_after_final(void **state)
{
	struct sip_msg *req;

	stack_request("INVITE", "z9hG4bK-inv-cf", &fx.ct);
	req = expect_request(SIP_METHOD_INVITE);
	assert_int_equal(sip_ctrans_cancel(fx.ct, NULL), 0);
	peer_respond(req, 603, "callee-tag");
	assert_int_equal(fx.nresp, 1);
	mem_deref(expect_request(SIP_METHOD_ACK));
	expect_none(); /* no CANCEL */
	clock_at(32000);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
	mem_deref(req);
}

static void test_ctrans_cancel_timeout(void **state)
{
	struct sip_msg *req;

	stack_request("INVITE", "z9hG4bK-inv-ct", &fx.ct);
	req = expect_request(SIP_METHOD_INVITE);
	peer_respond(req, 180, "callee-tag");
	clock_at(1000);
	assert_int_equal(sip_ctrans_cancel(fx.ct, NULL), 0);
	mem_deref(expect_request(SIP_METHOD_CANCEL));
	/* The peer never answers either: the INVITE is given up 64*T1 after the CANCEL. */
	clock_at(1000 + 31999);
	assert_int_equal(fx.nresp, 1);
	clock_at(1000 + 32000);
	assert_int_equal(fx.nresp, 2);
	assert_int_equal(fx.errs[1], ETIMEDOUT);
	clock_at(40000);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
	mem_deref(req);
}

static void test_ctrans_bad_input(void **state)
{
	struct mbuf mb;
	struct sip_ctrans *ct = NULL;

	mbuf_init(&mb);
	/* No magic cookie: refused, we always send RFC 3261 branches. */
	assert_int_equal(mbuf_write_str(&mb, "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n"
					     "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=old\r\n"
					     "From: <sip:x@y>;tag=1\r\nTo: <sip:a@y>\r\n"
					     "Call-ID: c\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
					     "Content-Length: 0\r\n\r\n"),
			 0);
	assert_int_equal(
	    sip_ctrans_request(&ct, fx.stack, SIP_TP_UDP, &fx.peer_addr, &mb, on_response, &fx),
	    EINVAL);
	assert_null(ct);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
	mbuf_reset(&mb);
}

/* Started by its spec: the same keys are required (a branch with the cookie; no ACK), and a
 * response is matched by the branch and CSeq method taken from the spec. */
static void test_ctrans_spec_keys(void **state)
{
	struct sip_request_spec spec = {0};
	struct sip_ctrans *ct = NULL;
	struct sip_msg *req;
	char via_host[SA_STRLEN];
	struct mbuf mb;

	sa_ntop(&fx.addr, via_host, sizeof(via_host));
	spec.method = "OPTIONS";
	spec.ruri = "sip:bob@127.0.0.1";
	spec.via_host = via_host;
	spec.via_port = sa_port(&fx.addr);
	spec.branch = "old";
	spec.from = "<sip:alice@example.net>;tag=1";
	spec.to = "<sip:bob@example.net>";
	spec.call_id = "spec@example.net";
	spec.cseq = 3;
	spec.max_forwards = -1;
	mbuf_init(&mb);
	assert_int_equal(sip_build_request(&mb, &spec), 0);
	assert_int_equal(sip_ctrans_request_spec(&ct, fx.stack, SIP_TP_UDP, NULL, &fx.peer_addr,
						 &mb, &spec, on_response, &fx),
			 EINVAL);
	spec.branch = "z9hG4bK-spec";
	spec.method = "ACK";
	assert_int_equal(sip_ctrans_request_spec(&ct, fx.stack, SIP_TP_UDP, NULL, &fx.peer_addr,
						 &mb, &spec, on_response, &fx),
			 EINVAL);
	assert_null(ct);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
	spec.method = "OPTIONS";
	mbuf_reset(&mb);
	assert_int_equal(sip_build_request(&mb, &spec), 0);
	assert_int_equal(sip_ctrans_request_spec(&ct, fx.stack, SIP_TP_UDP, NULL, &fx.peer_addr,
						 &mb, &spec, on_response, &fx),
			 0);
	mbuf_reset(&mb);
	req = expect_request(SIP_METHOD_OPTIONS);
	assert_true(pl_eq_str(&req->via.branch, "z9hG4bK-spec"));
	/* Timer E resends the same bytes. */
	clock_at(500);
	{
		struct sip_msg *again = expect_request(SIP_METHOD_OPTIONS);

		assert_true(pl_cmp(&again->raw, &req->raw) == 0);
		mem_deref(again);
	}
	peer_respond(req, 200, "peer-tag");
	assert_int_equal(fx.nresp, 1);
	assert_int_equal(fx.codes[0], 200);
	clock_at(500 + 5000);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
	mem_deref(req);
}

/* ---------------------------------------------------------------------------------------------
 * Server transactions
 */

static void test_strans_noninvite_retransmission(void **state)
{
	struct sip_msg *r1, *r2;

	fx.auto_code = 200;
	peer_request("OPTIONS", ";branch=z9hG4bK-o1", NULL, "call-o1", 1, NULL);
	assert_int_equal(fx.nreq, 1);
	r1 = expect_response(200, SIP_METHOD_OPTIONS);
	assert_true(pl_isset(&r1->to.tag));
	assert_int_equal(sip_stack_strans_count(fx.stack), 1);

	clock_at(1000);
	peer_request("OPTIONS", ";branch=z9hG4bK-o1", NULL, "call-o1", 1, NULL);
	assert_int_equal(fx.nreq, 1);
	r2 = expect_response(200, SIP_METHOD_OPTIONS);
	assert_true(pl_cmp(&r1->raw, &r2->raw) == 0);

	{
		/* Same branch from another sent-by: another transaction (§17.2.3). Its answer
		 * goes to that sent-by, which nobody reads. */
		char buf[1024];
		int n = snprintf(buf, sizeof(buf),
				 "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP 127.0.0.2:%u;branch=z9hG4bK-o1\r\n"
				 "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=fromtag1\r\n"
				 "To: <sip:bob@127.0.0.1>\r\nCall-ID: call-o1\r\n"
				 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
				 fx.peer_port);

		peer_send_raw(buf, (size_t)n);
		assert_int_equal(fx.nreq, 2);
		assert_int_equal(sip_stack_strans_count(fx.stack), 2);
		/* Same host, another port. */
		n = snprintf(buf, sizeof(buf),
			     "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n"
			     "Via: SIP/2.0/UDP 127.0.0.2:%u;branch=z9hG4bK-o1\r\n"
			     "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=fromtag1\r\n"
			     "To: <sip:bob@127.0.0.1>\r\nCall-ID: call-o1\r\n"
			     "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			     fx.peer_port + 1);
		peer_send_raw(buf, (size_t)n);
		assert_int_equal(fx.nreq, 3);
		drain();
	}
	/* Same branch, another method: another transaction. */
	peer_request("INFO", ";branch=z9hG4bK-o1", NULL, "call-o1", 2, NULL);
	assert_int_equal(fx.nreq, 4);
	mem_deref(expect_response(200, SIP_METHOD_INFO));

	/* Timer J = 64*T1 from the final. */
	clock_at(31999);
	assert_int_equal(sip_stack_strans_count(fx.stack), 4);
	clock_at(32000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 3); /* those answered at 1000 */
	clock_at(33000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
	mem_deref(r1);
	mem_deref(r2);
}

static void test_strans_noninvite_trying_proceeding(void **state)
{
	struct sip_strans *st;
	struct sip_msg *m;

	peer_request("BYE", ";branch=z9hG4bK-b1", "totag-b1", "call-b1", 2, NULL);
	assert_int_equal(fx.nreq, 1);
	st = fx.st;
	assert_non_null(st);
	assert_string_equal(sip_strans_totag(st), "totag-b1");
	/* Trying: a retransmission is absorbed, TU not called again. */
	peer_request("BYE", ";branch=z9hG4bK-b1", "totag-b1", "call-b1", 2, NULL);
	expect_none();
	assert_int_equal(fx.nreq, 1);
	assert_int_equal(sip_strans_reply(st, 180, "Wait", NULL, NULL, NULL), 0);
	mem_deref(expect_response(180, SIP_METHOD_BYE));
	peer_request("BYE", ";branch=z9hG4bK-b1", "totag-b1", "call-b1", 2, NULL);
	mem_deref(expect_response(180, SIP_METHOD_BYE));
	assert_int_equal(sip_strans_reply(st, 200, "OK", NULL, NULL, NULL), 0);
	m = expect_response(200, SIP_METHOD_BYE);
	assert_true(pl_eq_str(&m->to.tag, "totag-b1"));
	mem_deref(m);
	assert_int_equal(sip_strans_reply(st, 200, "OK", NULL, NULL, NULL), EALREADY);
	clock_at(32000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
}

static void test_strans_invite_trying_and_timer_g(void **state)
{
	static const uint64_t retx[] = {500, 1500, 3500, 7500, 11500, 15500};
	struct sip_msg *m, *first;
	struct sip_strans *st;
	const uint64_t t_final = 300;

	peer_request("INVITE", ";branch=z9hG4bK-i1", NULL, "call-i1", 1, NULL);
	assert_int_equal(fx.nreq, 1);
	st = fx.st;
	clock_at(199);
	expect_none();
	/* §17.2.1: the TU was silent for 200 ms. */
	clock_at(200);
	m = expect_response(100, SIP_METHOD_INVITE);
	assert_false(pl_isset(&m->to.tag));
	mem_deref(m);
	/* A retransmission in Proceeding gets the last provisional. */
	peer_request("INVITE", ";branch=z9hG4bK-i1", NULL, "call-i1", 1, NULL);
	mem_deref(expect_response(100, SIP_METHOD_INVITE));
	assert_int_equal(fx.nreq, 1);

	clock_at(t_final);
	assert_int_equal(sip_strans_reply(st, 486, "Busy Here", NULL, NULL, NULL), 0);
	first = expect_response(486, SIP_METHOD_INVITE);
	assert_true(pl_eq_str(&first->to.tag, sip_strans_totag(st)));
	for (size_t i = 0; i < ARRAY_SIZE(retx); i++) {
		clock_at(t_final + retx[i] - 1);
		expect_none();
		clock_at(t_final + retx[i]);
		m = expect_response(486, SIP_METHOD_INVITE);
		assert_true(pl_cmp(&m->raw, &first->raw) == 0);
		mem_deref(m);
	}
	/* The INVITE retransmitted in Completed gets the final again. */
	peer_request("INVITE", ";branch=z9hG4bK-i1", NULL, "call-i1", 1, NULL);
	mem_deref(expect_response(486, SIP_METHOD_INVITE));

	/* ACK (same branch): Confirmed, G stops, I = T4. */
	clock_at(t_final + 16000);
	peer_request("ACK", ";branch=z9hG4bK-i1", "x", "call-i1", 1, NULL);
	assert_int_equal(fx.nack, 0);
	clock_at(t_final + 19500);
	expect_none();
	clock_at(t_final + 16000 + 4999);
	assert_int_equal(sip_stack_strans_count(fx.stack), 1);
	/* ACK retransmissions are absorbed in Confirmed. */
	peer_request("ACK", ";branch=z9hG4bK-i1", "x", "call-i1", 1, NULL);
	assert_int_equal(fx.nack, 0);
	clock_at(t_final + 16000 + 5000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
	mem_deref(first);
}

static void test_strans_invite_timer_h(void **state)
{
	int n = 0;
	struct sip_msg *m;

	fx.auto_code = 503;
	peer_request("INVITE", ";branch=z9hG4bK-h1", NULL, "call-h1", 1, NULL);
	mem_deref(expect_response(503, SIP_METHOD_INVITE));
	/* Provisional timer cancelled by the final: no 100 at 200 ms. */
	clock_at(200);
	expect_none();
	for (uint64_t t = 500; t <= 40000; t += 500) {
		clock_at(t);
		while ((m = peer_recv(2)) != NULL) {
			assert_int_equal(m->scode, 503);
			mem_deref(m);
			n++;
		}
		if (t == 31500)
			assert_int_equal(sip_stack_strans_count(fx.stack), 1);
		if (t == 32000)
			assert_int_equal(sip_stack_strans_count(fx.stack), 0);
	}
	/* G at 500, 1500, 3500, 7500, then every 4 s up to 31500; H at 32000. */
	assert_int_equal(n, 10);
}

static void test_strans_invite_2xx_accepted(void **state)
{
	fx.auto_code = 200;
	peer_request("INVITE", ";branch=z9hG4bK-a1", NULL, "call-a1", 1, NULL);
	mem_deref(expect_response(200, SIP_METHOD_INVITE));
	/* RFC 6026: INVITE retransmissions absorbed, the 2xx is the TU's to resend. */
	peer_request("INVITE", ";branch=z9hG4bK-a1", NULL, "call-a1", 1, NULL);
	expect_none();
	assert_int_equal(fx.nreq, 1);
	/* The ACK to a 2xx has its own branch: to the TU, without a transaction. */
	peer_request("ACK", ";branch=z9hG4bK-a1-ack", "x", "call-a1", 1, NULL);
	assert_int_equal(fx.nack, 1);
	assert_string_equal(fx.last_method, "ACK");
	expect_none();
	clock_at(31999);
	assert_int_equal(sip_stack_strans_count(fx.stack), 1);
	clock_at(32000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
}

/* Compaction (docs/TRANSACTIONS.md): the turn after its final response a transaction drops its
 * request (white box: sip_strans_msg() turns NULL) and keeps only the §17.2.3 key, the route of
 * its responses and the last response's bytes. It must still answer a retransmitted request with
 * exactly the same bytes (§17.2.2), tell other requests apart by branch, sent-by and method,
 * and (INVITE) match the ACK (§17.2.1). */
static void test_strans_compacted_noninvite(void **state)
{
	struct sip_msg *r1, *r2;
	struct sip_strans *st;
	char buf[1024];
	int n;

	peer_request("BYE", ";branch=z9hG4bK-k1", "totag-k1", "call-k1", 3, NULL);
	assert_int_equal(fx.nreq, 1);
	st = fx.st;
	assert_int_equal(sip_strans_reply(st, 200, "OK", NULL, NULL, NULL), 0);
	r1 = expect_response(200, SIP_METHOD_BYE);
	assert_non_null(sip_strans_msg(st)); /* the TU's callback may still be running */
	clock_at(1);
	/* Compacted to a tomb (st is freed): still counted, still answering. */
	assert_int_equal(sip_stack_strans_count(fx.stack), 1);

	/* The retransmission gets the same bytes, twice, and never reaches the TU. */
	for (int i = 0; i < 2; i++) {
		clock_at(1000 + 1000 * (uint64_t)i);
		peer_request("BYE", ";branch=z9hG4bK-k1", "totag-k1", "call-k1", 3, NULL);
		r2 = expect_response(200, SIP_METHOD_BYE);
		assert_int_equal(r2->raw.l, r1->raw.l);
		assert_true(pl_cmp(&r1->raw, &r2->raw) == 0);
		mem_deref(r2);
	}
	assert_int_equal(fx.nreq, 1);
	/* Branch in another case after the cookie: still the same transaction (§17.2.3 compares
	 * branches without case here). The plain 200 OK was not kept but is rebuilt from the
	 * retransmission, so it carries that request's Via. */
	peer_request("BYE", ";branch=z9hG4bK-K1", "totag-k1", "call-k1", 3, NULL);
	r2 = expect_response(200, SIP_METHOD_BYE);
	assert_int_equal(r2->raw.l, r1->raw.l);
	assert_true(pl_eq_str(&r2->via.branch, "z9hG4bK-K1"));
	assert_true(pl_eq_str(&r2->to.tag, "totag-k1"));
	mem_deref(r2);
	assert_int_equal(fx.nreq, 1);
	/* A 200 with a header of the TU's is kept as bytes: a retransmission gets it all. */
	peer_request("BYE", ";branch=z9hG4bK-x1", "totag-x1", "call-x1", 5, NULL);
	assert_int_equal(fx.nreq, 2);
	assert_int_equal(sip_strans_reply(fx.st, 200, "OK", "X-Kept: yes\r\n", NULL, NULL), 0);
	mem_deref(r1);
	r1 = expect_response(200, SIP_METHOD_BYE);
	clock_at(3500);
	peer_request("BYE", ";branch=z9hG4bK-x1", "totag-x1", "call-x1", 5, NULL);
	r2 = expect_response(200, SIP_METHOD_BYE);
	assert_true(pl_cmp(&r1->raw, &r2->raw) == 0);
	assert_non_null(strstr(r2->raw.p, "X-Kept: yes"));
	mem_deref(r2);
	assert_int_equal(fx.nreq, 2);

	/* Same branch, another method: a new transaction. */
	fx.auto_code = 200;
	peer_request("INFO", ";branch=z9hG4bK-k1", "totag-k1", "call-k1", 4, NULL);
	assert_int_equal(fx.nreq, 3);
	mem_deref(expect_response(200, SIP_METHOD_INFO));
	/* Same branch, another sent-by port: a new transaction (answered where nobody reads). */
	n = snprintf(buf, sizeof(buf),
		     "BYE sip:bob@127.0.0.1 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-k1\r\n"
		     "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=fromtag1\r\n"
		     "To: <sip:bob@127.0.0.1>;tag=totag-k1\r\nCall-ID: call-k1\r\n"
		     "CSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n",
		     fx.peer_host, fx.peer_port + 1);
	peer_send_raw(buf, (size_t)n);
	assert_int_equal(fx.nreq, 4);
	drain();
	assert_int_equal(sip_stack_strans_count(fx.stack), 4);

	/* Timer J still ends it: 64*T1 after the final. */
	clock_at(31999);
	assert_int_equal(sip_stack_strans_count(fx.stack), 4);
	clock_at(40000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
	mem_deref(r1);
}

/* A compacted transaction (a tomb once Accepted or Completed non-INVITE) keeps its To tag and
 * its whole key: the same branch with another method is another transaction, and a CANCEL of an
 * INVITE answered 2xx gets 200 with the To tag of that 2xx (§9.2), which the INVITE did not
 * carry. */
static void test_strans_compacted_record(void **state)
{
	struct sip_msg *ok, *c200;
	char totag[64];

	peer_request("BYE", ";branch=z9hG4bK-k9", "totag-k9", "call-k9", 5, NULL);
	assert_int_equal(sip_strans_reply(fx.st, 200, "OK", NULL, NULL, NULL), 0);
	mem_deref(expect_response(200, SIP_METHOD_BYE));
	clock_at(1);

	peer_request("OPTIONS", ";branch=z9hG4bK-k9", "totag-k9", "call-k9", 6, NULL);
	assert_int_equal(fx.nreq, 2);
	assert_int_equal(sip_stack_strans_count(fx.stack), 2);
	assert_int_equal(sip_strans_reply(fx.st, 200, "OK", NULL, NULL, NULL), 0);
	mem_deref(expect_response(200, SIP_METHOD_OPTIONS));

	peer_request("INVITE", ";branch=z9hG4bK-k10", NULL, "call-k10", 1, NULL);
	assert_int_equal(fx.nreq, 3);
	assert_int_equal(sip_strans_reply(fx.st, 200, "OK", NULL, NULL, NULL), 0);
	ok = expect_response(200, SIP_METHOD_INVITE);
	assert_true(pl_isset(&ok->to.tag) && ok->to.tag.l < sizeof(totag));
	snprintf(totag, sizeof(totag), "%.*s", PL_ARG(ok->to.tag));
	clock_at(2);
	assert_int_equal(sip_stack_strans_count(fx.stack), 3);
	peer_request("INVITE", ";branch=z9hG4bK-k10", NULL, "call-k10", 1, NULL);
	expect_none(); /* Accepted: absorbed */
	peer_request("CANCEL", ";branch=z9hG4bK-k10", NULL, "call-k10", 1, NULL);
	c200 = expect_response(200, SIP_METHOD_CANCEL);
	assert_true(pl_eq_str(&c200->to.tag, totag));
	assert_int_equal(fx.ncancel, 0);
	assert_int_equal(fx.nreq, 3);
	mem_deref(c200);
	mem_deref(ok);
	/* Timer J/L (64*T1 after the finals) ends the tombs. */
	clock_at(31999);
	assert_int_equal(sip_stack_strans_count(fx.stack), 4); /* with the CANCEL's */
	clock_at(100000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
	(void)state;
}

static void test_strans_compacted_invite_ack(void **state)
{
	struct sip_msg *first, *m;
	struct sip_strans *st;
	char buf[1024];
	int n;

	peer_request("INVITE", ";branch=z9hG4bK-k2", NULL, "call-k2", 1, NULL);
	st = fx.st;
	assert_int_equal(sip_strans_reply(st, 486, "Busy Here", NULL, NULL, NULL), 0);
	first = expect_response(486, SIP_METHOD_INVITE);
	/* Timer G's first run (T1) compacts, and resends the same bytes. */
	clock_at(499);
	assert_non_null(sip_strans_msg(st));
	clock_at(500);
	assert_null(sip_strans_msg(st));
	m = expect_response(486, SIP_METHOD_INVITE);
	assert_true(pl_cmp(&m->raw, &first->raw) == 0);
	mem_deref(m);
	/* The retransmitted INVITE gets the final again, byte for byte. */
	peer_request("INVITE", ";branch=z9hG4bK-k2", NULL, "call-k2", 1, NULL);
	m = expect_response(486, SIP_METHOD_INVITE);
	assert_true(pl_cmp(&m->raw, &first->raw) == 0);
	mem_deref(m);
	assert_int_equal(fx.nreq, 1);

	/* An ACK with the branch but from another sent-by is not this transaction's: the TU
	 * gets it, and timer G goes on. */
	n = snprintf(buf, sizeof(buf),
		     "ACK sip:bob@127.0.0.1 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 127.0.0.2:%u;branch=z9hG4bK-k2\r\n"
		     "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=fromtag1\r\n"
		     "To: <sip:bob@127.0.0.1>;tag=%s\r\nCall-ID: call-k2\r\n"
		     "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
		     fx.peer_port, sip_strans_totag(st));
	peer_send_raw(buf, (size_t)n);
	assert_int_equal(fx.nack, 1);
	clock_at(1500);
	mem_deref(expect_response(486, SIP_METHOD_INVITE));

	/* The ACK matches: Confirmed, absorbed (not the TU's), G stops, I = T4 ends it. */
	peer_request("ACK", ";branch=z9hG4bK-k2", sip_strans_totag(st), "call-k2", 1, NULL);
	assert_int_equal(fx.nack, 1);
	clock_at(3500);
	expect_none();
	/* Confirmed: a retransmitted INVITE and ACK are absorbed. */
	peer_request("INVITE", ";branch=z9hG4bK-k2", NULL, "call-k2", 1, NULL);
	expect_none();
	peer_request("ACK", ";branch=z9hG4bK-k2", sip_strans_totag(st), "call-k2", 1, NULL);
	assert_int_equal(fx.nack, 1);
	assert_int_equal(fx.nreq, 1);
	assert_int_equal(sip_stack_strans_count(fx.stack), 1);
	clock_at(1500 + 5000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
	mem_deref(first);
}

/* The ACK beats timer G: compaction on the next timer run in Confirmed; and a 2xx (Accepted)
 * is compacted the turn after it is sent, INVITE retransmissions still absorbed. */
static void test_strans_compacted_confirmed_and_accepted(void **state)
{
	struct sip_strans *st, *st2;

	peer_request("INVITE", ";branch=z9hG4bK-k3", NULL, "call-k3", 1, NULL);
	st = fx.st;
	assert_int_equal(sip_strans_reply(st, 603, "Decline", NULL, NULL, NULL), 0);
	mem_deref(expect_response(603, SIP_METHOD_INVITE));
	/* Receiving the ACK runs the loop, whose timer step compacts (no timer G run yet). */
	peer_request("ACK", ";branch=z9hG4bK-k3", sip_strans_totag(st), "call-k3", 1, NULL);
	assert_int_equal(fx.nack, 0);
	clock_at(1);
	assert_null(sip_strans_msg(st));
	peer_request("INVITE", ";branch=z9hG4bK-k3", NULL, "call-k3", 1, NULL);
	expect_none();
	clock_at(600);
	expect_none(); /* no timer G in Confirmed */

	peer_request("INVITE", ";branch=z9hG4bK-k4", NULL, "call-k4", 1, NULL);
	st2 = fx.st;
	assert_ptr_not_equal(st2, st);
	assert_int_equal(sip_strans_reply(st2, 200, "OK", NULL, NULL, NULL), 0);
	mem_deref(expect_response(200, SIP_METHOD_INVITE));
	clock_at(601); /* compacted to a tomb: st2 is freed */
	peer_request("INVITE", ";branch=z9hG4bK-k4", NULL, "call-k4", 1, NULL);
	expect_none();
	assert_int_equal(fx.nreq, 2);
	/* The ACK for the 2xx (own branch) is the TU's. */
	peer_request("ACK", ";branch=z9hG4bK-k4-ack", "x", "call-k4", 1, NULL);
	assert_int_equal(fx.nack, 1);
	clock_at(601 + 32000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
}

static void test_strans_cancel(void **state)
{
	struct sip_msg *c200, *r487;

	fx.set_cancel = true;
	peer_request("INVITE", ";branch=z9hG4bK-c1", NULL, "call-c1", 5, NULL);
	assert_int_equal(fx.nreq, 1);
	peer_request("CANCEL", ";branch=z9hG4bK-c1", NULL, "call-c1", 5, NULL);
	/* CANCEL is the stack's business, not a new request for the TU. */
	assert_int_equal(fx.nreq, 1);
	assert_int_equal(fx.ncancel, 1);
	c200 = expect_response(200, SIP_METHOD_CANCEL);
	r487 = expect_response(487, SIP_METHOD_INVITE);
	assert_true(pl_isset(&r487->to.tag));
	assert_true(pl_cmp(&c200->to.tag, &r487->to.tag) == 0);
	assert_int_equal(sip_stack_strans_count(fx.stack), 2);

	/* A retransmitted CANCEL: same 200, no second notification. */
	peer_request("CANCEL", ";branch=z9hG4bK-c1", NULL, "call-c1", 5, NULL);
	mem_deref(expect_response(200, SIP_METHOD_CANCEL));
	assert_int_equal(fx.ncancel, 1);

	peer_request("ACK", ";branch=z9hG4bK-c1", "x", "call-c1", 5, NULL);
	assert_int_equal(fx.nack, 0);

	/* Unknown transaction: 481. */
	peer_request("CANCEL", ";branch=z9hG4bK-nothing", NULL, "call-zz", 1, NULL);
	mem_deref(expect_response(481, SIP_METHOD_CANCEL));
	assert_int_equal(fx.ncancel, 1);

	clock_at(40000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
	mem_deref(c200);
	mem_deref(r487);
}

static void test_strans_cancel_after_final(void **state)
{
	fx.set_cancel = true;
	fx.auto_code = 486;
	peer_request("INVITE", ";branch=z9hG4bK-c2", NULL, "call-c2", 5, NULL);
	mem_deref(expect_response(486, SIP_METHOD_INVITE));
	peer_request("CANCEL", ";branch=z9hG4bK-c2", NULL, "call-c2", 5, NULL);
	mem_deref(expect_response(200, SIP_METHOD_CANCEL));
	assert_int_equal(fx.ncancel, 0);
	expect_none();
	clock_at(40000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
}

static void test_strans_cancel_without_handler(void **state)
{
	peer_request("INVITE", ";branch=z9hG4bK-c3", NULL, "call-c3", 5, NULL);
	peer_request("CANCEL", ";branch=z9hG4bK-c3", NULL, "call-c3", 5, NULL);
	mem_deref(expect_response(200, SIP_METHOD_CANCEL));
	/* No cancel handler: the stack ends the INVITE itself. */
	mem_deref(expect_response(487, SIP_METHOD_INVITE));
	assert_int_equal(sip_strans_reply(fx.st, 200, "OK", NULL, NULL, NULL), EALREADY);
	peer_request("ACK", ";branch=z9hG4bK-c3", "x", "call-c3", 5, NULL);
	clock_at(40000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
}

static void test_strans_rfc2543(void **state)
{
	struct sip_msg *r1;
	char ack_tag[64];

	fx.auto_code = 486;
	/* No branch at all, then an old-style branch: both fall back to §17.2.3's list. */
	peer_request("INVITE", "", NULL, "call-2543", 3, NULL);
	r1 = expect_response(486, SIP_METHOD_INVITE);
	assert_int_equal(fx.nreq, 1);
	assert_int_equal(pl_strcpy(&r1->to.tag, ack_tag, sizeof(ack_tag)), 0);

	/* Retransmission: matched without a branch. */
	peer_request("INVITE", "", NULL, "call-2543", 3, NULL);
	mem_deref(expect_response(486, SIP_METHOD_INVITE));
	assert_int_equal(fx.nreq, 1);
	/* Another CSeq: another transaction. */
	peer_request("INVITE", "", NULL, "call-2543", 4, NULL);
	mem_deref(expect_response(486, SIP_METHOD_INVITE));
	assert_int_equal(fx.nreq, 2);
	assert_int_equal(sip_stack_strans_count(fx.stack), 2);

	/* ACK with a wrong To tag does not match: it goes to the TU. */
	peer_request("ACK", "", "wrong", "call-2543", 3, NULL);
	assert_int_equal(fx.nack, 1);
	/* ACK with the To tag of our response matches the first INVITE: G stops for it. */
	peer_request("ACK", "", ack_tag, "call-2543", 3, NULL);
	assert_int_equal(fx.nack, 1);
	clock_at(500);
	{
		/* Only the second transaction (CSeq 4) still retransmits. */
		struct sip_msg *m = expect_response(486, SIP_METHOD_INVITE);

		assert_int_equal(m->cseq.num, 4);
		mem_deref(m);
		expect_none();
	}
	clock_at(5000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 1);
	drain();

	/* Old-style branch value (no cookie) on a non-INVITE. */
	fx.auto_code = 200;
	peer_request("OPTIONS", ";branch=1234abc", NULL, "call-2543o", 1, NULL);
	mem_deref(expect_response(200, SIP_METHOD_OPTIONS));
	peer_request("OPTIONS", ";branch=1234abc", NULL, "call-2543o", 1, NULL);
	mem_deref(expect_response(200, SIP_METHOD_OPTIONS));
	assert_int_equal(fx.nreq, 3);
	/* Without a cookie the To tag is part of the key: a new transaction. */
	peer_request("OPTIONS", ";branch=1234abc", "tt", "call-2543o", 1, NULL);
	mem_deref(expect_response(200, SIP_METHOD_OPTIONS));
	assert_int_equal(fx.nreq, 4);
	/* ... and so is the Call-ID. */
	peer_request("OPTIONS", ";branch=1234abc", NULL, "call-2543x", 1, NULL);
	mem_deref(expect_response(200, SIP_METHOD_OPTIONS));
	assert_int_equal(fx.nreq, 5);
	clock_at(60000);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
	mem_deref(r1);
}

static void test_strans_stateless_errors(void **state)
{
	static const char badvers[] = "OPTIONS sip:bob@127.0.0.1 SIP/7.0\r\n"
				      "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-v7\r\n"
				      "Max-Forwards: 70\r\n"
				      "From: <sip:alice@127.0.0.1>;tag=f\r\n"
				      "To: <sip:bob@127.0.0.1>\r\n"
				      "Call-ID: badvers\r\nCSeq: 1 OPTIONS\r\n"
				      "Content-Length: 0\r\n\r\n";
	static const char unknown[] = "NEWMETHOD sip:bob@127.0.0.1 SIP/2.0\r\n"
				      "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-nm\r\n"
				      "Max-Forwards: 70\r\n"
				      "From: <sip:alice@127.0.0.1>;tag=f\r\n"
				      "To: <sip:bob@127.0.0.1>\r\n"
				      "Call-ID: unknown\r\nCSeq: 1 OTHER\r\n"
				      "Content-Length: 0\r\n\r\n";
	static const char mismatch[] = "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n"
				       "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-mm\r\n"
				       "Max-Forwards: 70\r\n"
				       "From: <sip:alice@127.0.0.1>;tag=f\r\n"
				       "To: <sip:bob@127.0.0.1>\r\n"
				       "Call-ID: mismatch\r\nCSeq: 1 INVITE\r\n"
				       "Content-Length: 0\r\n\r\n";
	static const char badack[] = "ACK sip:bob@127.0.0.1 SIP/2.0\r\n"
				     "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-ba\r\n"
				     "Max-Forwards: 70\r\n"
				     "From: <sip:alice@127.0.0.1>;tag=f\r\n"
				     "To: <sip:bob@127.0.0.1>\r\n"
				     "Call-ID: badack\r\nCSeq: 1 INVITE\r\n"
				     "Content-Length: 0\r\n\r\n";
	char buf[1024];
	struct sip_msg *m;
	const struct sip_hdr *allow;
	int n;

	fx.auto_code = 200;
	n = snprintf(buf, sizeof(buf), badvers, fx.peer_port);
	peer_send_raw(buf, (size_t)n);
	mem_deref(expect_response(505, SIP_METHOD_OPTIONS));

	n = snprintf(buf, sizeof(buf), unknown, fx.peer_port);
	peer_send_raw(buf, (size_t)n);
	m = expect_response(501, SIP_METHOD_OTHER);
	allow = sip_msg_hdr(m, SIP_HDR_ALLOW);
	assert_non_null(allow);
	assert_true(pl_eq_str(&allow->value, "INVITE, ACK, CANCEL, BYE, OPTIONS"));
	mem_deref(m);

	n = snprintf(buf, sizeof(buf), mismatch, fx.peer_port);
	peer_send_raw(buf, (size_t)n);
	m = peer_recv(500);
	assert_non_null(m);
	assert_int_equal(m->scode, 400);
	mem_deref(m);

	/* A broken ACK is never answered. */
	n = snprintf(buf, sizeof(buf), badack, fx.peer_port);
	peer_send_raw(buf, (size_t)n);
	expect_none();

	assert_int_equal(fx.nreq, 0);
	assert_int_equal(fx.nack, 0);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
}

/* ---------------------------------------------------------------------------------------------
 * Two stacks in one process, real sockets both ways.
 */

static void b_on_request(struct sip_stack *stack, struct sip_strans *st, const struct sip_msg *msg,
			 void *arg)
{
	int *n = arg;

	(*n)++;
	assert_non_null(st);
	assert_int_equal(sip_strans_reply(st, 200, "OK", "X-Test: b\r\n", NULL, NULL), 0);
}

static void test_two_stacks(void **state)
{
	struct sip_stack *b = NULL;
	struct sa any, baddr;
	char via_host[SA_STRLEN], ruri[128];
	struct sip_request_spec spec = {0};
	struct mbuf mb;
	int nb = 0;

	assert_int_equal(sip_stack_alloc(&b, fx.loop, NULL, b_on_request, &nb), 0);
	assert_int_equal(sa_set_str(&any, "127.0.0.1", 0), 0);
	assert_int_equal(sip_transp_listen(sip_stack_transp(b), SIP_TP_UDP, &any, 0), 0);
	assert_int_equal(sip_transp_bound(sip_stack_transp(b), SIP_TP_UDP, 0, &baddr), 0);

	sa_ntop(&fx.addr, via_host, sizeof(via_host));
	snprintf(ruri, sizeof(ruri), "sip:b@127.0.0.1:%u", sa_port(&baddr));
	spec.method = "MESSAGE";
	spec.ruri = ruri;
	spec.tp = SIP_TP_UDP;
	spec.via_host = via_host;
	spec.via_port = sa_port(&fx.addr);
	spec.branch = "z9hG4bK-two";
	spec.from = "<sip:a@127.0.0.1>;tag=a1";
	spec.to = "<sip:b@127.0.0.1>";
	spec.call_id = "two-stacks";
	spec.cseq = 1;
	spec.max_forwards = -1;
	mbuf_init(&mb);
	assert_int_equal(sip_build_request(&mb, &spec), 0);
	assert_int_equal(
	    sip_ctrans_request(NULL, fx.stack, SIP_TP_UDP, &baddr, &mb, on_response, &fx), 0);
	mbuf_reset(&mb);
	for (int i = 0; i < 20 && fx.nresp == 0; i++)
		loop_run_once(fx.loop, 50);
	assert_int_equal(nb, 1);
	assert_int_equal(fx.nresp, 1);
	assert_int_equal(fx.codes[0], 200);
	assert_int_equal(sip_stack_strans_count(b), 1);
	/* Freeing a stack with live transactions: no callbacks, no leaks. */
	sip_stack_free(b);
	clock_at(10000);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
}

/* Over TCP nothing is retransmitted and timers J and K are 0. */
static void test_two_stacks_tcp(void **state)
{
	struct sip_stack *b = NULL;
	struct sa any, baddr, aaddr;
	char via_host[SA_STRLEN], ruri[128];
	struct sip_request_spec spec = {0};
	struct mbuf mb;
	int nb = 0;

	assert_int_equal(sip_stack_alloc(&b, fx.loop, NULL, b_on_request, &nb), 0);
	assert_int_equal(sa_set_str(&any, "127.0.0.1", 0), 0);
	assert_int_equal(sip_transp_listen(sip_stack_transp(b), SIP_TP_TCP, &any, 0), 0);
	assert_int_equal(sip_transp_bound(sip_stack_transp(b), SIP_TP_TCP, 0, &baddr), 0);
	assert_int_equal(sip_transp_listen(sip_stack_transp(fx.stack), SIP_TP_TCP, &any, 0), 0);
	assert_int_equal(sip_transp_bound(sip_stack_transp(fx.stack), SIP_TP_TCP, 0, &aaddr), 0);

	sa_ntop(&aaddr, via_host, sizeof(via_host));
	snprintf(ruri, sizeof(ruri), "sip:b@127.0.0.1:%u;transport=tcp", sa_port(&baddr));
	spec.method = "OPTIONS";
	spec.ruri = ruri;
	spec.tp = SIP_TP_TCP;
	spec.via_host = via_host;
	spec.via_port = sa_port(&aaddr);
	spec.branch = "z9hG4bK-tcp";
	spec.from = "<sip:a@127.0.0.1>;tag=a1";
	spec.to = "<sip:b@127.0.0.1>";
	spec.call_id = "two-stacks-tcp";
	spec.cseq = 1;
	spec.max_forwards = -1;
	mbuf_init(&mb);
	assert_int_equal(sip_build_request(&mb, &spec), 0);
	assert_int_equal(
	    sip_ctrans_request(NULL, fx.stack, SIP_TP_TCP, &baddr, &mb, on_response, &fx), 0);
	mbuf_reset(&mb);
	/* No timer A/E over TCP: only B/F is armed for the transaction. */
	clock_at(600);
	for (int i = 0; i < 40 && fx.nresp == 0; i++)
		loop_run_once(fx.loop, 50);
	assert_int_equal(nb, 1);
	assert_int_equal(fx.nresp, 1);
	assert_int_equal(fx.codes[0], 200);
	/* Timers J and K are 0 on a reliable transport: gone on the next timer run. */
	loop_timers_run(fx.loop);
	assert_int_equal(sip_stack_strans_count(b), 0);
	assert_int_equal(sip_stack_ctrans_count(fx.stack), 0);
	sip_stack_free(b);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ctrans_invite_timer_a_b, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_from_source_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_noninvite_timer_e_f, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_noninvite_proceeding_completed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_invite_non2xx_ack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_invite_2xx_accepted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_abandon_and_stray, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_cancel_never_sent_after_final, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_cancel_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_bad_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_spec_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_invite_timer_a_b, setup_spec, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_invite_non2xx_ack, setup_spec, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_invite_2xx_accepted, setup_spec, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_cancel, setup_spec, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrans_cancel_timeout, setup_spec, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_noninvite_retransmission, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_noninvite_trying_proceeding, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_strans_invite_trying_and_timer_g, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_invite_timer_h, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_invite_2xx_accepted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_compacted_noninvite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_compacted_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_compacted_invite_ack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_compacted_confirmed_and_accepted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_strans_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_cancel_after_final, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_cancel_without_handler, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_rfc2543, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strans_stateless_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_stacks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_stacks_tcp, setup, teardown),
	};

	return cmocka_run_group_tests_name("sip_trans", tests, NULL, NULL);
}
