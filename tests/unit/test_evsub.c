/* test_evsub: the RFC 6665 notifier shared by message waiting and busy lamps, against a raw UDP
 * subscriber on 127.0.0.1 with a fake clock: the 200 (Expires, Contact, To tag), the immediate
 * NOTIFY, one NOTIFY in flight (a change meanwhile is sent after its answer), refresh, 423, 481,
 * unsubscribe, expiry (terminated;reason=timeout) and a NOTIFY refused ending it; the Event and
 * Expires helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "base.h"
#include "evsub.h"
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
	struct evsub_set *set;
	struct sa addr; /* the stack's UDP socket */
	int peer;
	char peer_host[SA_STRLEN];
	uint16_t peer_port;
	char totag[64]; /* of the last 200 */
	unsigned bodies;
};

static struct fx fx;
static const char *sub_event = "dialog"; /* the Event of subscribe() */

static int body_h(struct evsub *s, struct mbuf *body, const char **ctype, void *arg)
{
	struct fx *f = arg;

	f->bodies++;
	*ctype = "text/plain";
	return mbuf_printf(body, "seq=%u res=%s@%s%s\r\n", evsub_seq(s), evsub_res(s), evsub_ctx(s),
			   evsub_terminating(s) ? " final" : "");
}

static void on_request(struct sip_stack *stack, struct sip_strans *st, const struct sip_msg *msg,
		       void *arg)
{
	struct fx *f = arg;

	(void)stack;
	if (!st)
		return;
	if (pl_isset(&msg->to.tag))
		evsub_refresh(f->set, st, msg);
	else
		evsub_accept(f->set, st, msg, "dialog", "803", "801", "blf",
			     evsub_req_expires(msg, 3600));
}

static int setup(void **state)
{
	struct sa any, pa;
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
	assert_int_equal(evsub_set_alloc(&fx.set, "test", fx.loop, fx.stack, body_h, &fx), 0);
	fx.peer = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fx.peer >= 0);
	assert_int_equal(bind(fx.peer, &any.u.sa, any.len), 0);
	pa = any;
	len = sizeof(pa.u);
	assert_int_equal(getsockname(fx.peer, &pa.u.sa, &len), 0);
	pa.len = len;
	fx.peer_port = sa_port(&pa);
	sa_ntop(&pa, fx.peer_host, sizeof(fx.peer_host));
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	evsub_set_free(fx.set);
	sip_stack_free(fx.stack);
	loop_free(fx.loop);
	close(fx.peer);
	return 0;
}

static void pump(void)
{
	for (int i = 0; i < 3; i++)
		loop_run_once(fx.loop, i == 0 ? 100 : 0);
}

static void clock_at(uint64_t ms)
{
	fake_now = T0 + ms;
	loop_timers_run(fx.loop);
}

static void peer_send(const char *data, size_t len)
{
	assert_int_equal(sendto(fx.peer, data, len, 0, &fx.addr.u.sa, fx.addr.len), (ssize_t)len);
	pump();
}

/* A SUBSCRIBE from the peer: to_tag NULL for a new one; expires < 0: no Expires header. */
static void subscribe(const char *to_tag, uint32_t cseq, int expires)
{
	static unsigned branch; /* a new transaction each time */
	char buf[1024], exp[32] = "";
	int n;

	if (expires >= 0)
		snprintf(exp, sizeof(exp), "Expires: %d\r\n", expires);
	n = snprintf(buf, sizeof(buf),
		     "SUBSCRIBE sip:801@127.0.0.1 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-sub%u-%u;rport\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:803@127.0.0.1>;tag=subtag\r\n"
		     "To: <sip:801@127.0.0.1>%s%s\r\n"
		     "Call-ID: sub-call@127.0.0.1\r\n"
		     "CSeq: %u SUBSCRIBE\r\n"
		     "Contact: <sip:803@%s:%u>\r\n"
		     "Event: %s\r\n%s"
		     "Content-Length: 0\r\n\r\n",
		     fx.peer_host, fx.peer_port, cseq, ++branch, to_tag ? ";tag=" : "",
		     to_tag ? to_tag : "", cseq, fx.peer_host, fx.peer_port, sub_event, exp);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	peer_send(buf, (size_t)n);
}

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

static bool hdr_has(const struct sip_msg *m, enum sip_hdr_id id, const char *value)
{
	const struct sip_hdr *h = sip_msg_hdr(m, id);
	char v[256];

	if (!h)
		return false;
	pl_strcpy(&h->value, v, sizeof(v));
	return strstr(v, value) != NULL;
}

static bool body_has(const struct sip_msg *m, const char *s)
{
	char b[512];

	pl_strcpy(&m->body, b, sizeof(b));
	return strstr(b, s) != NULL;
}

static void expect_response(uint16_t code, const char *hdr_expires)
{
	struct sip_msg *m = peer_recv(500);

	assert_non_null(m);
	assert_false(m->is_request);
	assert_int_equal(m->scode, code);
	if (hdr_expires)
		assert_true(hdr_has(m, SIP_HDR_EXPIRES, hdr_expires));
	if (code == 200) {
		/* the 200 creates the dialog: our Contact (RFC 6665 4.2.1.1) and a To tag */
		assert_true(hdr_has(m, SIP_HDR_CONTACT, "<sip:mikaka@127.0.0.1:"));
		assert_true(pl_isset(&m->to.tag));
		pl_strcpy(&m->to.tag, fx.totag, sizeof(fx.totag));
	}
	mem_deref(m);
}

/* Expects a NOTIFY (Subscription-State containing substate, body containing body); answers it
 * with code (0: not at all). */
static void expect_notify(const char *substate, const char *body, uint16_t code)
{
	struct sip_msg *m = peer_recv(500);
	struct mbuf mb;

	assert_non_null(m);
	assert_true(m->is_request);
	assert_int_equal(m->mid, SIP_METHOD_NOTIFY);
	assert_true(hdr_has(m, SIP_HDR_EVENT, "dialog"));
	assert_true(hdr_has(m, SIP_HDR_CONTENT_TYPE, "text/plain"));
	if (!hdr_has(m, SIP_HDR_SUBSCRIPTION_STATE, substate))
		fail_msg("Subscription-State: want %s", substate);
	if (!body_has(m, body))
		fail_msg("body: want %s: %.*s", body, (int)m->body.l, m->body.p);
	assert_true(pl_eq_str(&m->from.tag, fx.totag)); /* our side of the dialog */
	assert_true(pl_eq_str(&m->to.tag, "subtag"));
	if (code) {
		mbuf_init(&mb);
		assert_int_equal(sip_build_response(&mb, m, code, "Peer", NULL, NULL, NULL, NULL),
				 0);
		peer_send((const char *)mb.buf, mb.end);
		mbuf_reset(&mb);
	}
	mem_deref(m);
}

static void expect_none(void)
{
	struct sip_msg *m = peer_recv(3);

	if (m) {
		mem_deref(m);
		fail_msg("unexpected message");
	}
}

static void test_subscribe_refresh_unsubscribe(void **state)
{
	(void)state;
	subscribe(NULL, 1, 600);
	expect_response(200, "600");
	expect_notify("active;expires=600", "seq=0 res=801@blf\r\n", 200);
	assert_int_equal(evsub_count(fx.set, "801", "blf"), 1);
	assert_int_equal(evsub_count(fx.set, "802", "blf"), 0);
	/* a change: one NOTIFY; two changes while one is in flight: one more after its answer */
	evsub_notify_res(fx.set, "801", "blf");
	evsub_notify_res(fx.set, "801", "blf");
	expect_notify("active", "seq=1", 200);
	expect_notify("active", "seq=2", 200);
	expect_none();
	evsub_notify_res(fx.set, "802", "blf"); /* another resource: nothing */
	expect_none();
	/* refresh 100 s later: 200, then the state again with the new expiry */
	clock_at(100000);
	subscribe(fx.totag, 2, 900);
	expect_response(200, "900");
	expect_notify("active;expires=900", "seq=3", 200);
	/* too short: 423 with Min-Expires; the subscription stays */
	subscribe(fx.totag, 3, 10);
	expect_response(423, NULL);
	assert_int_equal(evsub_count(fx.set, NULL, NULL), 1);
	/* the dialog with another event package is not this subscription: 481 */
	sub_event = "presence";
	subscribe(fx.totag, 4, 600);
	sub_event = "dialog";
	expect_response(481, NULL);
	assert_int_equal(evsub_count(fx.set, NULL, NULL), 1);
	/* unsubscribe: 200, then the final NOTIFY; gone once answered */
	subscribe(fx.totag, 5, 0);
	expect_response(200, "0");
	expect_notify("terminated", "seq=4 res=801@blf final", 200);
	assert_int_equal(evsub_count(fx.set, NULL, NULL), 0);
	/* a refresh of what is gone: 481 */
	subscribe(fx.totag, 6, 600);
	expect_response(481, NULL);
}

static void test_expiry_and_refusal(void **state)
{
	(void)state;
	subscribe(NULL, 1, -1); /* no Expires: the default */
	expect_response(200, "3600");
	expect_notify("active;expires=3600", "seq=0", 200);
	clock_at(3599999);
	expect_none();
	clock_at(3600000);
	expect_notify("terminated;reason=timeout", "final", 200);
	assert_int_equal(evsub_count(fx.set, NULL, NULL), 0);
	/* longer than the most: cut; a NOTIFY refused with 481 ends it */
	subscribe(NULL, 1, 100000);
	expect_response(200, "7200");
	expect_notify("active;expires=7200", "seq=0", 200);
	evsub_notify_res(fx.set, NULL, NULL);
	expect_notify("active", "seq=1", 481);
	assert_int_equal(evsub_count(fx.set, NULL, NULL), 0);
	/* too short a new one: 423, nothing kept */
	subscribe(NULL, 1, 30);
	expect_response(423, NULL);
	assert_int_equal(evsub_count(fx.set, NULL, NULL), 0);
	/* a reload took the resource away: the final NOTIFY says why */
	subscribe(NULL, 1, 600);
	expect_response(200, "600");
	expect_notify("active", "seq=0", 200);
	evsub_terminate_res(fx.set, "801", "blf", "noresource");
	expect_notify("terminated;reason=noresource", "final", 200);
	assert_int_equal(evsub_count(fx.set, NULL, NULL), 0);
}

static void test_helpers(void **state)
{
	static const struct {
		const char *hdrs;
		bool has;
		const char *event;
		uint32_t expires;
	} cases[] = {
	    {"Event: dialog\r\nExpires: 120\r\n", true, "dialog", 120},
	    {"Event:  Presence ;id=7\r\n", true, "Presence", 3600},
	    {"o: message-summary\r\nExpires: x\r\n", true, "message-summary", 3600},
	    {"Expires: 0\r\n", false, "", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sip_parse_error perr = {0};
		struct sip_msg *m = NULL;
		char buf[512];
		size_t used;
		struct pl ev;
		int n =
		    snprintf(buf, sizeof(buf),
			     "SUBSCRIBE sip:801@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			     "From: <sip:a@h>;tag=1\r\nTo: <sip:801@h>\r\nCall-ID: c\r\n"
			     "CSeq: 1 SUBSCRIBE\r\n%sContent-Length: 0\r\n\r\n",
			     cases[i].hdrs);

		assert_int_equal(sip_msg_parse(&m, buf, (size_t)n, true, &used, &perr), 0);
		assert_int_equal(evsub_event(m, &ev), cases[i].has);
		if (cases[i].has)
			assert_true(pl_eq_str(&ev, cases[i].event));
		assert_int_equal(evsub_req_expires(m, 3600), cases[i].expires);
		mem_deref(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_subscribe_refresh_unsubscribe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expiry_and_refusal, setup, teardown),
	    cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
