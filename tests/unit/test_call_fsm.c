/* test_call_fsm: the call engine's dialog and B2BUA state machines on the wire with the fake
 * clock: mikaka (server + call engine + a sip.conf/extensions.conf snapshot) on 127.0.0.90, the
 * carrier and four phones as raw UDP sockets on 127.0.0.91-95. Session-timer expiry and refresh,
 * PRACK toward the carrier (retransmitted 183, Timer E), fork timeout with the dialplan going on,
 * the CANCEL races (200 crossing CANCEL, 487 or 200 after another fork's 200), in-dialog requests
 * (From/To/tags, Route set from Record-Route, CSeq), 481 for an unknown dialog, and reliable
 * provisionals toward callers (RFC 3262 as UAS: RSeq, retransmission, PRACK, held 2xx, 504),
 * transfers by REFER (RFC 3515 blind, RFC 3891 Replaces attended), INVITEs challenged with the
 * registrar's digest_algorithms and several credentials judged as the registrar does, and the
 * option tags in Supported. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "call.h"
#include "cfg.h"
#include "loop.h"
#include "reg.h"
#include "server.h"
#include "sip.h"

#define T0    5000000u
#define MK_IP "127.0.0.90"
#define QMAX  32

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

/* One party the test plays: a UDP socket on its own loopback address and what it received. */
struct ua {
	const char *name; /* peer name in sip.conf */
	const char *ip;
	int fd;
	uint16_t port;
	char sdp[256];
	struct sip_msg *q[QMAX];
	size_t n;
};

enum { UA_LINE, UA_801, UA_802, UA_803, UA_804, UA_N };

static const char *const ua_names[UA_N] = {"line", "801", "802", "803", "804"};
static const char *const ua_ips[UA_N] = {"127.0.0.91", "127.0.0.92", "127.0.0.93", "127.0.0.94",
					 "127.0.0.95"};

/* One dialog as the test party sees it. */
struct dlg {
	char call_id[128];
	char local[512];  /* our From (requests we send), tag included */
	char remote[512]; /* their side, tag included once known */
	char target[256]; /* remote target (their Contact URI) */
	char branch[64];  /* the INVITE's branch (CANCEL, ACK to non-2xx) */
	uint32_t cseq;	  /* last CSeq we used */
	uint32_t inv_cseq;
};

static struct {
	struct loop *loop;
	struct server *srv;
	struct call_eng *eng;
	struct reg *reg; /* decides which peer is the line (the [line] peer here) */
	struct cfg *cfg;
	struct sa mk; /* mikaka's UDP socket */
	uint16_t mk_port;
	struct ua ua[UA_N];
	char dir[64];
	unsigned nbranch;
} fx;

static const char sipconf_fmt[] = "[general]\n"
				  "context=public\n"
				  "allowguest=no\n"
				  "realm=mikaka\n"
				  "[line]\n"
				  "type=peer\n"
				  "host=127.0.0.91\n"
				  "port=%u\n"
				  "insecure=port,invite\n"
				  "context=from_line\n"
				  "fromuser=0312345678\n"
				  "fromdomain=ntt-east.ne.jp\n"
				  "qualify=no\n";

static const char phone_fmt[] = "[%s]\n"
				"type=friend\n"
				"host=%s\n"
				"port=%u\n"
				"context=from_phone\n"
				"qualify=no\n";

static const char extensions[] = "[from_line]\n"
				 "exten => _X.,1,Dial(SIP/801,20)\n"
				 " same => n,Hangup()\n"
				 "[from_phone]\n"
				 /* fork with a 5 s timeout; NOANSWER goes on to 804 */
				 "exten => 700,1,Dial(SIP/801&SIP/802,5)\n"
				 " same => n,GotoIf($[\"${DIALSTATUS}\" = \"NOANSWER\"]?fallback)\n"
				 " same => n,Hangup()\n"
				 " same => n(fallback),Dial(SIP/804,10)\n"
				 " same => n,Hangup()\n"
				 "exten => 701,1,Dial(SIP/801,20)\n"
				 " same => n,Hangup()\n"
				 "exten => 702,1,Dial(SIP/801&SIP/802,20)\n"
				 " same => n,Hangup()\n"
				 /* rings longer than the 64*T1 a reliable provisional may wait */
				 "exten => 703,1,Dial(SIP/801,120)\n"
				 " same => n,Hangup()\n"
				 "exten => 802,1,Dial(SIP/802,20)\n"
				 " same => n,Hangup()\n"
				 "exten => _0.,1,Set(CALLERID(num)=0312345678)\n"
				 " same => n,Dial(SIP/line/${EXTEN},20)\n"
				 " same => n,Hangup()\n"
				 "[public]\n"
				 "exten => _X.,1,Hangup()\n";

/* ---------------------------------------------------------------------------------------------
 * Fixture
 */

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	fclose(f);
}

static void ua_open(struct ua *u, const char *name, const char *ip)
{
	struct sa a;
	socklen_t len = sizeof(a.u);

	u->name = name;
	u->ip = ip;
	u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(u->fd >= 0);
	sa_set_str(&a, ip, 0);
	assert_int_equal(bind(u->fd, &a.u.sa, a.len), 0);
	assert_int_equal(getsockname(u->fd, &a.u.sa, &len), 0);
	a.len = len;
	u->port = sa_port(&a);
	snprintf(u->sdp, sizeof(u->sdp),
		 "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
		 "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
		 ip, ip);
}

/* What the next setup() gives 804 and the engine (auth tests): a secret, and the digest set. */
static bool setup_secret804;
static struct reg_digest_set setup_digest;
static bool setup_digest_set;

static int setup(void **state)
{
	struct server_settings set;
	struct conf_diags diags = {0};
	struct call_settings cs;
	struct mbuf mb;
	static const enum sip_method methods[] = {
	    SIP_METHOD_INVITE, SIP_METHOD_ACK,	SIP_METHOD_BYE,	  SIP_METHOD_PRACK,
	    SIP_METHOD_UPDATE, SIP_METHOD_INFO, SIP_METHOD_REFER,
	};

	(void)state;
	memset(&fx, 0, sizeof(fx));
	fake_now = T0;
	log_set_level(getenv("FSM_DEBUG") ? LOG_DEBUG : LOG_ERROR);
	for (int i = 0; i < UA_N; i++)
		ua_open(&fx.ua[i], ua_names[i], ua_ips[i]);

	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_call_fsm.%d", (int)getpid());
	mkdir(fx.dir, 0700);
	mbuf_init(&mb);
	mbuf_printf(&mb, sipconf_fmt, fx.ua[UA_LINE].port);
	for (int i = UA_801; i < UA_N; i++)
		mbuf_printf(&mb, phone_fmt, fx.ua[i].name, fx.ua[i].ip, fx.ua[i].port);
	if (setup_secret804) /* 804 is the last section written */
		mbuf_printf(&mb, "secret=pw804\n");
	mbuf_write(&mb, "", 1);
	write_file("sip.conf", (const char *)mb.buf);
	mbuf_reset(&mb);
	write_file("extensions.conf", extensions);
	if (cfg_load(&fx.cfg, fx.dir, NULL, &diags)) {
		conf_diags_print(&diags);
		fail();
	}
	conf_diags_reset(&diags);

	assert_int_equal(loop_alloc(&fx.loop), 0);
	loop_clock_set(fx.loop, fake_clock, NULL);
	memset(&set, 0, sizeof(set));
	set.nlisten = 1;
	set.listen[0].tp = SIP_TP_UDP;
	sa_set_str(&set.listen[0].addr, MK_IP, 0);
	snprintf(set.useragent, sizeof(set.useragent), "mikaka-test");
	assert_int_equal(server_alloc(&fx.srv, fx.loop, &set), 0);
	assert_int_equal(
	    sip_transp_bound(sip_stack_transp(server_stack(fx.srv)), SIP_TP_UDP, 0, &fx.mk), 0);
	fx.mk_port = sa_port(&fx.mk);
	call_settings_default(&cs);
	if (setup_digest_set)
		cs.digest = setup_digest;
	assert_int_equal(
	    reg_alloc(&fx.reg, fx.loop, server_stack(fx.srv), NULL, fx.cfg->peers, NULL), 0);
	assert_true(reg_line(fx.reg)->known);
	assert_string_equal(reg_line(fx.reg)->peer, "line");
	assert_int_equal(
	    call_eng_alloc(&fx.eng, fx.loop, server_stack(fx.srv), NULL, fx.reg, fx.cfg, &cs), 0);
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		assert_int_equal(server_route(fx.srv, methods[i], call_handle_request, fx.eng), 0);
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	call_eng_free(fx.eng);
	reg_free(fx.reg);
	server_free(fx.srv);
	loop_free(fx.loop);
	mem_deref(fx.cfg);
	for (int i = 0; i < UA_N; i++) {
		for (size_t k = 0; k < fx.ua[i].n; k++)
			mem_deref(fx.ua[i].q[k]);
		close(fx.ua[i].fd);
	}
	snprintf(path, sizeof(path), "%s/sip.conf", fx.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/extensions.conf", fx.dir);
	unlink(path);
	rmdir(fx.dir);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Wire helpers
 */

static void drain(struct ua *u)
{
	char buf[16384];
	ssize_t n;

	while ((n = recv(u->fd, buf, sizeof(buf), 0)) > 0) {
		struct sip_msg *msg = NULL;
		struct sip_parse_error perr;
		size_t used;

		if (getenv("FSM_DEBUG"))
			fprintf(stderr, "---- to %s\n%.*s", u->name, (int)n, buf);
		assert_int_equal(sip_msg_parse(&msg, buf, (size_t)n, true, &used, &perr), 0);
		assert_true(u->n < QMAX);
		u->q[u->n++] = msg;
	}
}

/* Lets mikaka read and answer what was sent (real time only: the fake clock stands still). */
static void pump(void)
{
	for (int i = 0; i < 4; i++)
		loop_run_once(fx.loop, 1);
	for (int i = 0; i < UA_N; i++)
		drain(&fx.ua[i]);
}

/* Moves the fake clock and fires what is due (what was sent before is read first, at the
 * current instant). */
static void advance(uint64_t ms)
{
	for (int i = 0; i < 4; i++)
		loop_run_once(fx.loop, 1);
	fake_now += ms;
	loop_timers_run(fx.loop);
	pump();
}

static void dump_queue(const struct ua *u)
{
	for (size_t k = 0; k < u->n; k++) {
		const struct pl *r = &u->q[k]->raw;
		const char *e = memchr(r->p, '\r', r->l);

		print_message("  %s has: %.*s\n", u->name, (int)(e ? e - r->p : (long)r->l), r->p);
	}
}

static struct sip_msg *take_where(struct ua *u, const char *method, uint16_t code,
				  const char *cseq_method)
{
	for (int round = 0; round < 50; round++) {
		for (size_t k = 0; k < u->n; k++) {
			struct sip_msg *m = u->q[k];
			bool hit;

			if (method)
				hit = m->is_request && pl_eq_str(&m->method, method);
			else
				hit = !m->is_request && m->scode == code &&
				      (!cseq_method || pl_eq_str(&m->cseq.method, cseq_method));
			if (!hit)
				continue;
			memmove(&u->q[k], &u->q[k + 1], (u->n - k - 1) * sizeof(u->q[0]));
			u->n--;
			return m;
		}
		pump();
	}
	print_message("%s: expected %s %u %s, not received\n", u->name, method ? method : "", code,
		      cseq_method ? cseq_method : "");
	dump_queue(u);
	fail();
	return NULL;
}

/* The next request with this method that u received (fails when none comes). */
static struct sip_msg *take_req(struct ua *u, const char *method)
{
	return take_where(u, method, 0, NULL);
}

static struct sip_msg *take_resp(struct ua *u, uint16_t code, const char *cseq_method)
{
	return take_where(u, NULL, code, cseq_method);
}

/* Nothing more arrived at u. */
static void assert_quiet(struct ua *u)
{
	pump();
	pump();
	if (u->n) {
		print_message("%s: expected nothing, got %zu message(s)\n", u->name, u->n);
		dump_queue(u);
		fail();
	}
}

static void assert_all_quiet(void)
{
	for (int i = 0; i < UA_N; i++)
		assert_quiet(&fx.ua[i]);
}

static void ua_send_raw(struct ua *u, const char *text, size_t len)
{
	if (getenv("FSM_DEBUG"))
		fprintf(stderr, "---- from %s\n%.*s", u->name, (int)len, text);
	assert_int_equal(sendto(u->fd, text, len, 0, &fx.mk.u.sa, fx.mk.len), (ssize_t)len);
}

/* Sends head (start line and header lines) plus Content-Type/Length and body. */
static void ua_send(struct ua *u, const char *body, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void ua_send(struct ua *u, const char *body, const char *fmt, ...)
{
	struct mbuf mb;
	va_list ap;

	mbuf_init(&mb);
	va_start(ap, fmt);
	mbuf_vprintf(&mb, fmt, ap);
	va_end(ap);
	if (body && *body)
		mbuf_printf(&mb, "Content-Type: application/sdp\r\n");
	mbuf_printf(&mb, "Content-Length: %zu\r\n\r\n%s", body ? strlen(body) : 0,
		    body ? body : "");
	ua_send_raw(u, (const char *)mb.buf, mb.end);
	mbuf_reset(&mb);
}

/* A header's value (first one) as a string; "" when absent. Rotating static buffers. */
static const char *hv(const struct sip_msg *m, enum sip_hdr_id id)
{
	static char bufs[8][1024];
	static unsigned i;
	const struct sip_hdr *h = sip_msg_hdr(m, id);
	char *b = bufs[i++ % 8];

	b[0] = '\0';
	if (h)
		pl_strcpy(&h->value, b, 1024);
	return b;
}

static const char *hvx(const struct sip_msg *m, const char *name)
{
	static char bufs[4][1024];
	static unsigned i;
	const struct sip_hdr *h = sip_msg_xhdr(m, name);
	char *b = bufs[i++ % 4];

	b[0] = '\0';
	if (h)
		pl_strcpy(&h->value, b, 1024);
	return b;
}

static const char *pls(const struct pl *p)
{
	static char bufs[8][1024];
	static unsigned i;
	char *b = bufs[i++ % 8];

	b[0] = '\0';
	if (pl_isset(p))
		pl_strcpy(p, b, 1024);
	return b;
}

/* Every value of a header, joined with "|" (Route sets, Record-Route). */
static const char *hv_all(const struct sip_msg *m, enum sip_hdr_id id)
{
	static char buf[2048];
	struct sip_hdr_iter it;
	struct pl v;
	size_t n = 0;

	buf[0] = '\0';
	sip_hdr_iter_init(&it, m, id, NULL);
	while (sip_hdr_iter_next(&it, &v))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%.*s", n ? "|" : "", PL_ARG(v));
	return buf;
}

static const char *contact_uri_of(const struct sip_msg *m)
{
	static char buf[256];
	struct sip_addr a;
	struct sip_hdr_iter it;
	struct pl v;

	buf[0] = '\0';
	sip_hdr_iter_init(&it, m, SIP_HDR_CONTACT, NULL);
	if (sip_hdr_iter_next(&it, &v) && !sip_addr_decode(&a, &v))
		pl_strcpy(&a.auri, buf, sizeof(buf));
	return buf;
}

static void new_branch(char *buf, size_t size)
{
	snprintf(buf, size, "z9hG4bK-fsm-%u", ++fx.nbranch);
}

/* Answers req from u: Via, From, To (with totag when it has none), Call-ID, CSeq copied. */
static void ua_reply(struct ua *u, const struct sip_msg *req, uint16_t code, const char *reason,
		     const char *totag, const char *extra, const char *body)
{
	struct mbuf mb;

	mbuf_init(&mb);
	mbuf_printf(&mb, "SIP/2.0 %u %s\r\n", code, reason);
	for (size_t i = 0; i < req->nhdrs; i++) {
		if (req->hdrs[i].id == SIP_HDR_VIA)
			mbuf_printf(&mb, "Via: %.*s\r\n", PL_ARG(req->hdrs[i].value));
	}
	mbuf_printf(&mb, "From: %s\r\n", hv(req, SIP_HDR_FROM));
	if (totag && code > 100 && !pl_isset(&req->to.tag))
		mbuf_printf(&mb, "To: %s;tag=%s\r\n", hv(req, SIP_HDR_TO), totag);
	else
		mbuf_printf(&mb, "To: %s\r\n", hv(req, SIP_HDR_TO));
	mbuf_printf(&mb, "Call-ID: %s\r\nCSeq: %s\r\n", hv(req, SIP_HDR_CALL_ID),
		    hv(req, SIP_HDR_CSEQ));
	if (extra)
		mbuf_write_str(&mb, extra);
	mbuf_write(&mb, "", 1);
	ua_send(u, body, "%s", (const char *)mb.buf);
	mbuf_reset(&mb);
}

/* An in-dialog request from u (CSeq incremented unless cseq is given). */
static void ua_request(struct ua *u, struct dlg *d, const char *method, uint32_t cseq,
		       const char *extra, const char *body)
{
	char branch[64];

	new_branch(branch, sizeof(branch));
	if (!cseq)
		cseq = ++d->cseq;
	ua_send(u, body,
		"%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=%s\r\nMax-Forwards: 70\r\n"
		"From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %u %s\r\n%s",
		method, d->target, u->ip, u->port, branch, d->local, d->remote, d->call_id, cseq,
		method, extra ? extra : "");
}

/* A phone's INVITE to exten (its From user is its peer name). */
static void phone_invite(struct ua *u, struct dlg *d, const char *exten, const char *extra)
{
	memset(d, 0, sizeof(*d));
	new_branch(d->branch, sizeof(d->branch));
	snprintf(d->call_id, sizeof(d->call_id), "call-%u-%s@%s", fx.nbranch, u->name, u->ip);
	snprintf(d->local, sizeof(d->local), "<sip:%s@%s>;tag=tag-%s-%u", u->name, MK_IP, u->name,
		 fx.nbranch);
	snprintf(d->remote, sizeof(d->remote), "<sip:%s@%s>", exten, MK_IP);
	d->cseq = d->inv_cseq = 1;
	ua_send(u, u->sdp,
		"INVITE sip:%s@%s:%u SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=%s\r\n"
		"Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
		"Contact: <sip:%s@%s:%u>\r\nAllow: INVITE, ACK, CANCEL, BYE, UPDATE\r\n"
		"Supported: timer\r\n%s",
		exten, MK_IP, fx.mk_port, u->ip, u->port, d->branch, d->local, d->remote,
		d->call_id, u->name, u->ip, u->port, extra ? extra : "");
}

/* The caller's side of the dialog once its INVITE got a 2xx: remote tag and target. */
static void dlg_from_2xx(struct dlg *d, const struct sip_msg *resp)
{
	snprintf(d->remote, sizeof(d->remote), "%s", hv(resp, SIP_HDR_TO));
	snprintf(d->target, sizeof(d->target), "%s", contact_uri_of(resp));
}

/* The callee's side of a dialog from the INVITE it received, answering with totag. */
static void dlg_from_invite(struct dlg *d, const struct sip_msg *inv, const char *totag)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->call_id, sizeof(d->call_id), "%s", hv(inv, SIP_HDR_CALL_ID));
	snprintf(d->remote, sizeof(d->remote), "%s", hv(inv, SIP_HDR_FROM));
	snprintf(d->local, sizeof(d->local), "%s;tag=%s", hv(inv, SIP_HDR_TO), totag);
	snprintf(d->target, sizeof(d->target), "%s", contact_uri_of(inv));
	snprintf(d->branch, sizeof(d->branch), "%s", pls(&inv->via.branch));
	d->cseq = 100;
	d->inv_cseq = inv->cseq.num;
}

/* Contact + Allow a phone answers with. */
static const char *ua_contact(const struct ua *u)
{
	static char buf[4][256];
	static unsigned i;
	char *b = buf[i++ % 4];

	snprintf(b, 256, "Contact: <sip:%s@%s:%u>\r\nAllow: INVITE, ACK, CANCEL, BYE, UPDATE\r\n",
		 u->name, u->ip, u->port);
	return b;
}

static void assert_call_gone(void)
{
	assert_int_equal(call_count(fx.eng), 0);
	assert_int_equal(call_leg_count(fx.eng), 0);
}

/* The Contact URI a phone answers with (ua_contact). */
static const char *bd_contact(const struct ua *u)
{
	static char buf[96];

	snprintf(buf, sizeof(buf), "sip:%s@%s:%u", u->name, u->ip, u->port);
	return buf;
}

/* ---------------------------------------------------------------------------------------------
 * Scenarios
 */

/* The carrier calls in with Session-Expires: 90;refresher=uac; 801 answers. Returns with the
 * call up and every message consumed; *t_up is the fake instant the carrier got its 200. */
static void carrier_call_up(struct dlg *cd, struct dlg *bd, uint64_t *t_up)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801];
	struct sip_msg *m, *inv;

	memset(cd, 0, sizeof(*cd));
	new_branch(cd->branch, sizeof(cd->branch));
	snprintf(cd->call_id, sizeof(cd->call_id), "ngn-%u@127.0.0.91", fx.nbranch);
	snprintf(cd->local, sizeof(cd->local), "<sip:0901234567@ntt-east.ne.jp>;tag=ngn%u",
		 fx.nbranch);
	snprintf(cd->remote, sizeof(cd->remote), "<sip:0312345678@ntt-east.ne.jp>");
	cd->cseq = cd->inv_cseq = 1;
	ua_send(line, line->sdp,
		"INVITE sip:0312345678@%s:%u SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=%s\r\n"
		"Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
		"Contact: <sip:0901234567@%s:%u>\r\nSupported: timer, 100rel\r\n"
		"Allow: INVITE, ACK, CANCEL, BYE, PRACK, UPDATE\r\n"
		"Session-Expires: 90;refresher=uac\r\nMin-SE: 90\r\n",
		MK_IP, fx.mk_port, line->ip, line->port, cd->branch, cd->local, cd->remote,
		cd->call_id, line->ip, line->port);
	m = take_resp(line, 100, "INVITE");
	mem_deref(m);
	m = take_resp(line, 180, "INVITE");
	mem_deref(m);

	inv = take_req(p1, "INVITE");
	{
		char want[64];

		snprintf(want, sizeof(want), "sip:801@127.0.0.92:%u", p1->port);
		assert_string_equal(pls(&inv->ruri), want);
	}
	dlg_from_invite(bd, inv, "t801");
	ua_reply(p1, inv, 200, "OK", "t801", ua_contact(p1), p1->sdp);
	mem_deref(inv);
	m = take_req(p1, "ACK");
	mem_deref(m);

	m = take_resp(line, 200, "INVITE");
	*t_up = fake_now;
	/* RFC 4028 §9: the answer names the interval and the refresher; Require: timer since the
	 * carrier supports it. */
	assert_string_equal(hv(m, SIP_HDR_SESSION_EXPIRES), "90;refresher=uac");
	assert_true(sip_msg_has_option(m, SIP_HDR_REQUIRE, "timer"));
	dlg_from_2xx(cd, m);
	mem_deref(m);
	ua_request(line, cd, "ACK", 1, NULL, NULL);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
}

static void test_session_timer_expiry(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801];
	struct dlg cd, bd;
	struct sip_msg *m;
	uint64_t t_up;

	(void)state;
	carrier_call_up(&cd, &bd, &t_up);

	/* RFC 4028 §10: the side that does not refresh sends BYE at expiry minus
	 * min(32, SE/3) = 90 - 30 = 60 s, not before. */
	advance(60000 - 1);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
	advance(1);
	assert_int_equal(fake_now - t_up, 60000);

	m = take_req(line, "BYE");
	{
		char want[64];

		/* Toward the carrier's Contact, our tag in From, theirs in To. */
		snprintf(want, sizeof(want), "sip:0901234567@127.0.0.91:%u", line->port);
		assert_string_equal(pls(&m->ruri), want);
	}
	assert_string_equal(hv(m, SIP_HDR_FROM), cd.remote);
	assert_string_equal(hv(m, SIP_HDR_TO), cd.local);
	assert_string_equal(hv(m, SIP_HDR_CALL_ID), cd.call_id);
	ua_reply(line, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);

	m = take_req(p1, "BYE");
	assert_string_equal(pls(&m->ruri), bd_contact(p1));
	assert_string_equal(hv(m, SIP_HDR_FROM), bd.remote);
	assert_string_equal(hv(m, SIP_HDR_TO), bd.local);
	assert_int_equal(m->cseq.num, bd.inv_cseq + 1);
	ua_reply(p1, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet();
	assert_call_gone();
}

static void test_session_timer_refresh(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801];
	struct dlg cd, bd;
	struct sip_msg *m;
	uint64_t t_up;

	(void)state;
	carrier_call_up(&cd, &bd, &t_up);

	/* The carrier refreshes with UPDATE at 50 s: answered here (nothing crosses to 801). */
	advance(50000);
	ua_request(line, &cd, "UPDATE", 0,
		   "Session-Expires: 90;refresher=uac\r\nSupported: timer\r\n", NULL);
	m = take_resp(line, 200, "UPDATE");
	assert_string_equal(hv(m, SIP_HDR_SESSION_EXPIRES), "90;refresher=uac");
	assert_string_equal(hv(m, SIP_HDR_TO), cd.remote);
	assert_string_equal(hv(m, SIP_HDR_FROM), cd.local);
	mem_deref(m);
	assert_all_quiet();

	/* The old expiry passes; the new one is 60 s after the refresh. */
	advance(10000);
	assert_all_quiet();
	advance(60000 - 10000 - 1);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
	advance(1);
	assert_int_equal(fake_now - t_up, 110000);
	m = take_req(line, "BYE");
	ua_reply(line, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	m = take_req(p1, "BYE");
	ua_reply(p1, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet();
	assert_call_gone();
}

/* RFC 4028 §9: the 2xx to a session refresh with refresher=uac MUST carry Require: timer (the
 * carrier said Supported: timer), as the 2xx to the initial INVITE does.
 * BUG (leg.c call_a_headers): Require: timer is only added while leg->inv is a request that
 * supports timer; after the ACK leg->inv is gone, so the 200 to the carrier's UPDATE has
 * Session-Expires: 90;refresher=uac without Require: timer. */
static void test_session_refresh_require_timer(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801];
	struct dlg cd, bd;
	struct sip_msg *m;
	uint64_t t_up;
	bool require_timer;

	(void)state;
	carrier_call_up(&cd, &bd, &t_up);
	advance(30000);
	ua_request(line, &cd, "UPDATE", 0,
		   "Session-Expires: 90;refresher=uac\r\nSupported: timer\r\n", NULL);
	m = take_resp(line, 200, "UPDATE");
	assert_string_equal(hv(m, SIP_HDR_SESSION_EXPIRES), "90;refresher=uac");
	require_timer = sip_msg_has_option(m, SIP_HDR_REQUIRE, "timer");
	mem_deref(m);
	ua_request(line, &cd, "BYE", 0, NULL, NULL);
	m = take_resp(line, 200, "BYE");
	mem_deref(m);
	m = take_req(p1, "BYE");
	ua_reply(p1, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet();
	assert_call_gone();
	assert_true(require_timer);
}

/* A phone calls exten; every callee answers 100 and 180 (To tag "tNNN"); the caller gets its
 * 100 and one 180. invs[i] are the INVITEs the callees got (to be released by the caller). */
static void phone_call_ringing(struct ua *c, struct dlg *cd, const char *exten, const char *extra,
			       struct ua **callees, size_t n, struct sip_msg **invs)
{
	struct sip_msg *m;

	phone_invite(c, cd, exten, extra);
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	for (size_t i = 0; i < n; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "t%s", callees[i]->name);
		invs[i] = take_req(callees[i], "INVITE");
		ua_reply(callees[i], invs[i], 100, "Trying", NULL, NULL, NULL);
		ua_reply(callees[i], invs[i], 180, "Ringing", tag, ua_contact(callees[i]), NULL);
	}
	m = take_resp(c, 180, "INVITE");
	mem_deref(m);
	assert_all_quiet();
}

/* A CANCEL for inv: same Request-URI, Call-ID, From, To, branch and CSeq number (§9.1). */
static void assert_cancel_of(const struct sip_msg *cancel, const struct sip_msg *inv)
{
	assert_string_equal(pls(&cancel->ruri), pls(&inv->ruri));
	assert_string_equal(pls(&cancel->via.branch), pls(&inv->via.branch));
	assert_string_equal(hv(cancel, SIP_HDR_CALL_ID), hv(inv, SIP_HDR_CALL_ID));
	assert_string_equal(hv(cancel, SIP_HDR_FROM), hv(inv, SIP_HDR_FROM));
	assert_string_equal(hv(cancel, SIP_HDR_TO), hv(inv, SIP_HDR_TO));
	assert_int_equal(cancel->cseq.num, inv->cseq.num);
	assert_true(pl_eq_str(&cancel->cseq.method, "CANCEL"));
}

/* The ACK to a non-2xx final: the INVITE's branch and CSeq number, the response's To. */
static void assert_ack_non2xx(const struct sip_msg *ack, const struct sip_msg *inv,
			      const char *totag)
{
	assert_string_equal(pls(&ack->via.branch), pls(&inv->via.branch));
	assert_int_equal(ack->cseq.num, inv->cseq.num);
	assert_true(pl_eq_str(&ack->cseq.method, "ACK"));
	assert_string_equal(pls(&ack->to.tag), totag);
}

/* The ACK to a 2xx: its own transaction (new branch), the INVITE's CSeq number, sent to the
 * callee's Contact with its tag. */
static void assert_ack_2xx(const struct sip_msg *ack, const struct sip_msg *inv, const struct ua *u,
			   const char *totag)
{
	char want[96];

	snprintf(want, sizeof(want), "sip:%s@%s:%u", u->name, u->ip, u->port);
	assert_string_equal(pls(&ack->ruri), want);
	assert_string_not_equal(pls(&ack->via.branch), pls(&inv->via.branch));
	assert_int_equal(ack->cseq.num, inv->cseq.num);
	assert_true(pl_eq_str(&ack->cseq.method, "ACK"));
	assert_string_equal(pls(&ack->to.tag), totag);
	assert_string_equal(pls(&ack->from.tag), pls(&inv->from.tag));
	assert_string_equal(hv(ack, SIP_HDR_CALL_ID), hv(inv, SIP_HDR_CALL_ID));
}

/* Dial(SIP/801&SIP/802,5): nobody answers; at exactly 5 s both get CANCEL (no "completed
 * elsewhere" Reason), DIALSTATUS is NOANSWER and the dialplan rings 804, which answers. */
static void test_fork_timeout(void **state)
{
	struct ua *c = &fx.ua[UA_803], *p4 = &fx.ua[UA_804];
	struct ua *callees[2] = {&fx.ua[UA_801], &fx.ua[UA_802]};
	struct sip_msg *invs[2], *m, *inv4;
	struct dlg cd;
	char want[96];

	(void)state;
	phone_call_ringing(c, &cd, "700", NULL, callees, 2, invs);
	/* Both forks are offered what the caller offered, from the caller's number. */
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(pls(&invs[i]->from.uri.user), "803");
		assert_string_equal(pls(&invs[i]->body), c->sdp);
		assert_string_not_equal(hv(invs[i], SIP_HDR_CALL_ID), cd.call_id);
	}

	advance(5000 - 1);
	assert_all_quiet();
	advance(1);
	for (size_t i = 0; i < 2; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "t%s", callees[i]->name);
		m = take_req(callees[i], "CANCEL");
		assert_cancel_of(m, invs[i]);
		assert_null(strstr(hv(m, SIP_HDR_REASON), "cause=200"));
		ua_reply(callees[i], m, 200, "OK", tag, NULL, NULL);
		mem_deref(m);
		ua_reply(callees[i], invs[i], 487, "Request Terminated", tag, NULL, NULL);
		m = take_req(callees[i], "ACK");
		assert_ack_non2xx(m, invs[i], tag);
		mem_deref(m);
	}

	/* NOANSWER: the GotoIf took the fallback priority. */
	inv4 = take_req(p4, "INVITE");
	snprintf(want, sizeof(want), "sip:804@127.0.0.95:%u", p4->port);
	assert_string_equal(pls(&inv4->ruri), want);
	assert_quiet(c); /* no final response to the caller yet */
	ua_reply(p4, inv4, 200, "OK", "t804", ua_contact(p4), p4->sdp);
	m = take_req(p4, "ACK");
	assert_ack_2xx(m, inv4, p4, "t804");
	mem_deref(m);
	m = take_resp(c, 200, "INVITE");
	assert_string_equal(pls(&m->body), p4->sdp);
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(c, &cd, "ACK", 1, NULL, NULL);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);

	ua_request(c, &cd, "BYE", 0, NULL, NULL);
	m = take_resp(c, 200, "BYE");
	mem_deref(m);
	m = take_req(p4, "BYE");
	assert_int_equal(m->cseq.num, inv4->cseq.num + 1);
	ua_reply(p4, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	/* The losers' transactions and 804's dialog end without anything else on the wire. */
	advance(40000);
	assert_all_quiet();
	assert_call_gone();
	mem_deref(invs[0]);
	mem_deref(invs[1]);
	mem_deref(inv4);
}

/* The caller CANCELs while 801 rings; 801's 200 crosses our CANCEL: 801 gets ACK then BYE, the
 * caller gets 487 and never a 200. */
static void test_cancel_crossing_200(void **state)
{
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801];
	struct ua *callees[1] = {p1};
	struct sip_msg *invs[1], *m, *cancel;
	struct dlg cd;

	(void)state;
	phone_call_ringing(c, &cd, "701", NULL, callees, 1, invs);
	ua_send(c, NULL,
		"CANCEL sip:701@%s:%u SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=%s\r\n"
		"Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 CANCEL\r\n",
		MK_IP, fx.mk_port, c->ip, c->port, cd.branch, cd.local, cd.remote, cd.call_id);
	m = take_resp(c, 200, "CANCEL");
	mem_deref(m);
	m = take_resp(c, 487, "INVITE");
	assert_true(pl_isset(&m->to.tag));
	/* ACK to the 487: the INVITE's branch. */
	ua_send(c, NULL,
		"ACK sip:701@%s:%u SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=%s\r\n"
		"Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\n",
		MK_IP, fx.mk_port, c->ip, c->port, cd.branch, cd.local, hv(m, SIP_HDR_TO),
		cd.call_id);
	mem_deref(m);

	cancel = take_req(p1, "CANCEL");
	assert_cancel_of(cancel, invs[0]);
	/* 801 had already answered: its 200 crosses the CANCEL, which then gets its own 200. */
	ua_reply(p1, invs[0], 200, "OK", "t801", ua_contact(p1), p1->sdp);
	ua_reply(p1, cancel, 200, "OK", "t801", NULL, NULL);
	mem_deref(cancel);
	m = take_req(p1, "ACK");
	assert_ack_2xx(m, invs[0], p1, "t801");
	mem_deref(m);
	m = take_req(p1, "BYE");
	assert_int_equal(m->cseq.num, invs[0]->cseq.num + 1);
	assert_string_equal(pls(&m->to.tag), "t801");
	assert_string_equal(pls(&m->from.tag), pls(&invs[0]->from.tag));
	assert_string_equal(hv(m, SIP_HDR_CALL_ID), hv(invs[0], SIP_HDR_CALL_ID));
	ua_reply(p1, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);

	/* The caller never hears the answer; nothing is retransmitted later. */
	assert_all_quiet();
	advance(40000);
	assert_all_quiet();
	assert_call_gone();
	mem_deref(invs[0]);
}

/* Dial(SIP/801&SIP/802,20): 801 answers; 802 gets CANCEL with Reason cause=200 and answers it
 * with `late` (487 as it should, or a 200 of its own crossing the CANCEL). 801's leg stays up
 * and ends normally later. */
static void fork_late_final(uint16_t late)
{
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801], *p2 = &fx.ua[UA_802];
	struct ua *callees[2] = {p1, p2};
	struct sip_msg *invs[2], *m, *cancel;
	struct dlg cd, d1;

	phone_call_ringing(c, &cd, "702", NULL, callees, 2, invs);
	ua_reply(p1, invs[0], 200, "OK", "t801", ua_contact(p1), p1->sdp);
	dlg_from_invite(&d1, invs[0], "t801");
	m = take_req(p1, "ACK");
	assert_ack_2xx(m, invs[0], p1, "t801");
	mem_deref(m);
	cancel = take_req(p2, "CANCEL");
	assert_cancel_of(cancel, invs[1]);
	assert_string_equal(hv(cancel, SIP_HDR_REASON),
			    "SIP;cause=200;text=\"Call completed elsewhere\"");
	m = take_resp(c, 200, "INVITE");
	assert_string_equal(pls(&m->body), p1->sdp);
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(c, &cd, "ACK", 1, NULL, NULL);

	if (late == 487) {
		ua_reply(p2, cancel, 200, "OK", "t802", NULL, NULL);
		ua_reply(p2, invs[1], 487, "Request Terminated", "t802", NULL, NULL);
		m = take_req(p2, "ACK");
		assert_ack_non2xx(m, invs[1], "t802");
		mem_deref(m);
	} else {
		ua_reply(p2, invs[1], 200, "OK", "t802", ua_contact(p2), p2->sdp);
		ua_reply(p2, cancel, 200, "OK", "t802", NULL, NULL);
		m = take_req(p2, "ACK");
		assert_ack_2xx(m, invs[1], p2, "t802");
		mem_deref(m);
		m = take_req(p2, "BYE");
		assert_int_equal(m->cseq.num, invs[1]->cseq.num + 1);
		assert_string_equal(pls(&m->to.tag), "t802");
		ua_reply(p2, m, 200, "OK", NULL, NULL, NULL);
		mem_deref(m);
	}
	mem_deref(cancel);

	/* The winner is untouched, now and once every timer of the losers has run out. */
	assert_all_quiet();
	advance(40000);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);

	/* 801 hangs up: the caller gets the BYE. */
	ua_request(p1, &d1, "BYE", 0, NULL, NULL);
	m = take_resp(p1, 200, "BYE");
	mem_deref(m);
	m = take_req(c, "BYE");
	assert_string_equal(hv(m, SIP_HDR_CALL_ID), cd.call_id);
	ua_reply(c, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet();
	assert_call_gone();
	mem_deref(invs[0]);
	mem_deref(invs[1]);
}

static void test_fork_487_after_200(void **state)
{
	(void)state;
	fork_late_final(487);
}

static void test_fork_200_after_200(void **state)
{
	(void)state;
	fork_late_final(200);
}

/* Dialog state on both legs: Record-Route copied into the caller's 2xx and used as its route set
 * (as written); the callee's Record-Route reversed into its route set; a re-INVITE that changes
 * the media crosses with the callee dialog's From/To/tags, next CSeq and Contact; the callee's
 * BYE reaches the caller at its Contact with the caller dialog's tags; a BYE after the end
 * gets 481. */
static void test_in_dialog_requests(void **state)
{
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801];
	struct sip_msg *inv, *m;
	struct dlg cd, d1;
	char want[128], hold[300];

	(void)state;
	phone_invite(c, &cd, "701", "Record-Route: <sip:127.0.0.98;lr>\r\n");
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	inv = take_req(p1, "INVITE");
	/* The callee leg is a dialog of its own from our address facing the phone. */
	assert_string_equal(pls(&inv->via.host), MK_IP);
	assert_int_equal(inv->via.port, fx.mk_port);
	assert_true(inv->via.rport);
	assert_string_not_equal(hv(inv, SIP_HDR_CALL_ID), cd.call_id);
	assert_false(pl_isset(&inv->to.tag));
	assert_true(pl_isset(&inv->from.tag));
	snprintf(want, sizeof(want), "<sip:803@%s:%u>", MK_IP, fx.mk_port);
	assert_string_equal(hv(inv, SIP_HDR_CONTACT), want);
	assert_int_equal(sip_msg_hdr_count(inv, SIP_HDR_ROUTE), 0);
	dlg_from_invite(&d1, inv, "t801");
	ua_reply(p1, inv, 200, "OK", "t801",
		 "Record-Route: <sip:127.0.0.96;lr>, <sip:127.0.0.97;lr>\r\n"
		 "Contact: <sip:801@127.0.0.92:5099>\r\n",
		 p1->sdp);
	/* RFC 3261 §12.1.2: the route set is the Record-Route reversed; the target the Contact. */
	m = take_req(p1, "ACK");
	assert_string_equal(pls(&m->ruri), "sip:801@127.0.0.92:5099");
	assert_string_equal(hv_all(m, SIP_HDR_ROUTE), "<sip:127.0.0.97;lr>|<sip:127.0.0.96;lr>");
	mem_deref(m);

	m = take_resp(c, 200, "INVITE");
	/* §12.1.1: the caller's Record-Route comes back in the 2xx. */
	assert_string_equal(hv_all(m, SIP_HDR_RECORD_ROUTE), "<sip:127.0.0.98;lr>");
	assert_true(pl_isset(&m->to.tag));
	assert_string_equal(hv(m, SIP_HDR_FROM), cd.local);
	snprintf(want, sizeof(want), "<sip:701@%s:%u>", MK_IP, fx.mk_port);
	assert_string_equal(hv(m, SIP_HDR_CONTACT), want);
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(c, &cd, "ACK", 1, NULL, NULL);
	assert_all_quiet();

	/* The caller puts the call on hold: the new offer crosses to 801 inside its dialog. */
	snprintf(hold, sizeof(hold), "%sa=sendonly\r\n", c->sdp);
	snprintf(want, sizeof(want), "Contact: <sip:803@127.0.0.94:%u>\r\n", c->port);
	ua_request(c, &cd, "INVITE", 0, want, hold);
	m = take_req(p1, "INVITE");
	assert_string_equal(pls(&m->ruri), "sip:801@127.0.0.92:5099");
	assert_string_equal(hv_all(m, SIP_HDR_ROUTE), "<sip:127.0.0.97;lr>|<sip:127.0.0.96;lr>");
	assert_string_equal(hv(m, SIP_HDR_FROM), d1.remote);
	assert_string_equal(hv(m, SIP_HDR_TO), d1.local);
	assert_string_equal(hv(m, SIP_HDR_CALL_ID), d1.call_id);
	assert_int_equal(m->cseq.num, inv->cseq.num + 1);
	assert_string_equal(pls(&m->body), hold);
	ua_reply(p1, m, 200, "OK", NULL, "Contact: <sip:801@127.0.0.92:5099>\r\n", p1->sdp);
	{
		struct sip_msg *ack = take_req(p1, "ACK");

		assert_int_equal(ack->cseq.num, m->cseq.num);
		assert_string_equal(hv_all(ack, SIP_HDR_ROUTE),
				    "<sip:127.0.0.97;lr>|<sip:127.0.0.96;lr>");
		mem_deref(ack);
	}
	mem_deref(m);
	m = take_resp(c, 200, "INVITE");
	assert_int_equal(m->cseq.num, 2);
	assert_string_equal(pls(&m->body), p1->sdp);
	mem_deref(m);
	snprintf(cd.target, sizeof(cd.target), "sip:701@%s:%u", MK_IP, fx.mk_port);
	ua_request(c, &cd, "ACK", 2, NULL, NULL);
	assert_all_quiet();

	/* 801 hangs up: the caller's BYE goes to its Contact with the Route from its own
	 * Record-Route as written, our tag in From, its tag in To. */
	ua_request(p1, &d1, "BYE", 0, NULL, NULL);
	m = take_resp(p1, 200, "BYE");
	mem_deref(m);
	m = take_req(c, "BYE");
	assert_string_equal(pls(&m->ruri), bd_contact(c));
	assert_string_equal(hv_all(m, SIP_HDR_ROUTE), "<sip:127.0.0.98;lr>");
	assert_string_equal(hv(m, SIP_HDR_FROM), cd.remote);
	assert_string_equal(hv(m, SIP_HDR_TO), cd.local);
	assert_string_equal(hv(m, SIP_HDR_CALL_ID), cd.call_id);
	ua_reply(c, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet();
	assert_call_gone();

	/* §12.2.2: the dialog is gone: 481. */
	ua_request(c, &cd, "BYE", 0, NULL, NULL);
	m = take_resp(c, 481, "BYE");
	mem_deref(m);
	mem_deref(inv);
}

/* Requests for dialogs that never existed: 481 (BYE, UPDATE, INFO), not 404 or a new call. */
static void test_unknown_dialog_481(void **state)
{
	static const char *const methods[] = {"BYE", "UPDATE", "INFO"};
	struct ua *c = &fx.ua[UA_803];
	struct dlg d;

	(void)state;
	memset(&d, 0, sizeof(d));
	snprintf(d.call_id, sizeof(d.call_id), "no-such-call@127.0.0.94");
	snprintf(d.local, sizeof(d.local), "<sip:803@%s>;tag=abc", MK_IP);
	snprintf(d.remote, sizeof(d.remote), "<sip:701@%s>;tag=nosuchtag", MK_IP);
	snprintf(d.target, sizeof(d.target), "sip:701@%s:%u", MK_IP, fx.mk_port);
	d.cseq = 5;
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		struct sip_msg *m;

		ua_request(c, &d, methods[i], 0, NULL, NULL);
		m = take_resp(c, 481, methods[i]);
		assert_int_equal(m->cseq.num, d.cseq);
		mem_deref(m);
	}
	assert_all_quiet();
	assert_call_gone();
}

/* A phone calls out through the line (NGN-NOTES §2.4: digits at the server, the line's number,
 * no rport); the carrier sends a reliable 183 (RFC 3262): one PRACK with RAck "1 <cseq> INVITE"
 * inside the early dialog; the retransmitted 183 makes no new PRACK and no second 183 to the
 * caller; the PRACK itself is retransmitted by Timer E (500, 1000 ms) until the carrier answers
 * it; a 180 with RSeq 2 gets its own PRACK; the 200 completes the call. */
static void test_prack_toward_carrier(void **state)
{
	struct ua *c = &fx.ua[UA_803], *line = &fx.ua[UA_LINE];
	struct sip_msg *inv, *m, *pr, *pr2;
	struct dlg cd;
	char want[128], rel183[256], rel180[256];

	(void)state;
	phone_invite(c, &cd, "0398765432", NULL);
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	inv = take_req(line, "INVITE");
	snprintf(want, sizeof(want), "sip:0398765432@127.0.0.91:%u", line->port);
	assert_string_equal(pls(&inv->ruri), want);
	assert_string_equal(pls(&inv->from.auri), "sip:0312345678@ntt-east.ne.jp");
	assert_false(inv->via.rport);
	assert_true(sip_msg_has_option(inv, SIP_HDR_SUPPORTED, "100rel"));
	/* Toward the line, what it is known to accept (NGN-NOTES §2.4): no replaces. */
	assert_string_equal(hv(inv, SIP_HDR_SUPPORTED), "100rel, timer");
	ua_reply(line, inv, 100, "Trying", NULL, NULL, NULL);
	snprintf(rel183, sizeof(rel183),
		 "Require: 100rel\r\nRSeq: 1\r\nContact: <sip:0398765432@127.0.0.91:%u>\r\n"
		 "Allow: INVITE, ACK, CANCEL, BYE, PRACK, UPDATE\r\n",
		 line->port);
	ua_reply(line, inv, 183, "Session Progress", "ngn1", rel183, line->sdp);

	pr = take_req(line, "PRACK");
	snprintf(want, sizeof(want), "sip:0398765432@127.0.0.91:%u", line->port);
	assert_string_equal(pls(&pr->ruri), want);
	snprintf(want, sizeof(want), "1 %u INVITE", inv->cseq.num);
	assert_string_equal(hvx(pr, "RAck"), want);
	assert_string_equal(hv(pr, SIP_HDR_CALL_ID), hv(inv, SIP_HDR_CALL_ID));
	assert_string_equal(hv(pr, SIP_HDR_FROM), hv(inv, SIP_HDR_FROM));
	assert_string_equal(pls(&pr->to.tag), "ngn1");
	assert_int_equal(pr->cseq.num, inv->cseq.num + 1);
	assert_true(pl_eq_str(&pr->cseq.method, "PRACK"));
	assert_false(pr->via.rport);
	m = take_resp(c, 183, "INVITE");
	assert_string_equal(pls(&m->body), line->sdp);
	mem_deref(m);

	/* The carrier retransmits its 183 (it has not seen the PRACK's answer yet): RFC 3262 §4,
	 * a retransmission is discarded: no new PRACK, nothing to the caller. */
	ua_reply(line, inv, 183, "Session Progress", "ngn1", rel183, line->sdp);
	assert_all_quiet();

	/* The PRACK's own transaction retransmits: Timer E at T1, then 2*T1. */
	advance(500 - 1);
	assert_all_quiet();
	advance(1);
	m = take_req(line, "PRACK");
	assert_string_equal(pls(&m->via.branch), pls(&pr->via.branch));
	assert_int_equal(m->cseq.num, pr->cseq.num);
	mem_deref(m);
	ua_reply(line, inv, 183, "Session Progress", "ngn1", rel183, line->sdp);
	assert_all_quiet();
	advance(1000);
	m = take_req(line, "PRACK");
	assert_string_equal(pls(&m->via.branch), pls(&pr->via.branch));
	mem_deref(m);
	ua_reply(line, pr, 200, "OK", NULL, NULL, NULL);
	advance(4000);
	assert_all_quiet();

	/* The next reliable provisional: RSeq 2, its own PRACK. */
	snprintf(rel180, sizeof(rel180),
		 "Require: 100rel\r\nRSeq: 2\r\nContact: <sip:0398765432@127.0.0.91:%u>\r\n",
		 line->port);
	ua_reply(line, inv, 180, "Ringing", "ngn1", rel180, NULL);
	pr2 = take_req(line, "PRACK");
	snprintf(want, sizeof(want), "2 %u INVITE", inv->cseq.num);
	assert_string_equal(hvx(pr2, "RAck"), want);
	assert_int_equal(pr2->cseq.num, pr->cseq.num + 1);
	assert_string_not_equal(pls(&pr2->via.branch), pls(&pr->via.branch));
	ua_reply(line, pr2, 200, "OK", NULL, NULL, NULL);
	mem_deref(pr2);
	assert_all_quiet(); /* the caller already has its 183 */

	ua_reply(line, inv, 200, "OK", "ngn1", rel180 + strlen("Require: 100rel\r\nRSeq: 2\r\n"),
		 line->sdp);
	m = take_req(line, "ACK");
	assert_int_equal(m->cseq.num, inv->cseq.num);
	assert_string_equal(pls(&m->to.tag), "ngn1");
	mem_deref(m);
	m = take_resp(c, 200, "INVITE");
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(c, &cd, "ACK", 1, NULL, NULL);
	ua_request(c, &cd, "BYE", 0, NULL, NULL);
	m = take_resp(c, 200, "BYE");
	mem_deref(m);
	m = take_req(line, "BYE");
	/* The dialog's CSeq went on past the PRACKs. */
	assert_int_equal(m->cseq.num, pr->cseq.num + 2);
	assert_string_equal(pls(&m->to.tag), "ngn1");
	ua_reply(line, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet();
	assert_call_gone();
	mem_deref(pr);
	mem_deref(inv);
}

/* 803 calls 701, 801 answers: the call up, every message consumed. inv: 801's INVITE. */
static void simple_call_up(struct dlg *cd, struct dlg *d1, struct sip_msg **inv)
{
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801];
	struct sip_msg *m;

	phone_invite(c, cd, "701", NULL);
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	*inv = take_req(p1, "INVITE");
	dlg_from_invite(d1, *inv, "t801");
	ua_reply(p1, *inv, 200, "OK", "t801", ua_contact(p1), p1->sdp);
	m = take_req(p1, "ACK");
	mem_deref(m);
	m = take_resp(c, 200, "INVITE");
	dlg_from_2xx(cd, m);
	mem_deref(m);
	ua_request(c, cd, "ACK", 1, NULL, NULL);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
}

/* RFC 3261 §12.2.2 (and RFC 3311 §5.2 for UPDATE): a target refresh request replaces the
 * dialog's remote target with its Contact. The caller's re-INVITE moves its Contact; the BYE
 * that ends the call later must use the new one.
 * BUG (leg.c call_in_dialog/in_dialog_offer): the remote target is never refreshed; the BYE goes
 * to the Contact of the initial INVITE. */
static void test_target_refresh_caller(void **state)
{
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801];
	struct sip_msg *inv, *m;
	struct dlg cd, d1;
	char contact[128], ruri[128];

	(void)state;
	simple_call_up(&cd, &d1, &inv);
	snprintf(contact, sizeof(contact), "Contact: <sip:803-moved@127.0.0.94:%u>\r\n", c->port);
	/* A pure session refresh (same SDP): answered here. */
	ua_request(c, &cd, "INVITE", 0, contact, c->sdp);
	m = take_resp(c, 200, "INVITE");
	mem_deref(m);
	ua_request(c, &cd, "ACK", cd.cseq, NULL, NULL);
	assert_all_quiet();

	ua_request(p1, &d1, "BYE", 0, NULL, NULL);
	m = take_resp(p1, 200, "BYE");
	mem_deref(m);
	m = take_req(c, "BYE");
	ua_reply(c, m, 200, "OK", NULL, NULL, NULL);
	snprintf(ruri, sizeof(ruri), "%s", pls(&m->ruri));
	mem_deref(m);
	mem_deref(inv);
	assert_all_quiet();
	assert_call_gone();
	snprintf(contact, sizeof(contact), "sip:803-moved@127.0.0.94:%u", c->port);
	assert_string_equal(ruri, contact);
}

/* The same on the callee leg: 801 refreshes with an UPDATE carrying a new Contact; the BYE
 * when the caller hangs up must go to it.
 * BUG (same as above): the BYE still goes to 801's first Contact. */
static void test_target_refresh_callee(void **state)
{
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801];
	struct sip_msg *inv, *m;
	struct dlg cd, d1;
	char contact[128], ruri[128];

	(void)state;
	simple_call_up(&cd, &d1, &inv);
	snprintf(contact, sizeof(contact), "Contact: <sip:801-moved@127.0.0.92:%u>\r\n", p1->port);
	ua_request(p1, &d1, "UPDATE", 0, contact, NULL);
	m = take_resp(p1, 200, "UPDATE");
	assert_string_equal(hv(m, SIP_HDR_TO), d1.remote);
	mem_deref(m);
	assert_all_quiet();

	ua_request(c, &cd, "BYE", 0, NULL, NULL);
	m = take_resp(c, 200, "BYE");
	mem_deref(m);
	m = take_req(p1, "BYE");
	ua_reply(p1, m, 200, "OK", NULL, NULL, NULL);
	snprintf(ruri, sizeof(ruri), "%s", pls(&m->ruri));
	mem_deref(m);
	mem_deref(inv);
	assert_all_quiet();
	assert_call_gone();
	snprintf(contact, sizeof(contact), "sip:801-moved@127.0.0.92:%u", p1->port);
	assert_string_equal(ruri, contact);
}

/* We are the refresher toward 801 (its 2xx says refresher=uac): an UPDATE (801 allows it) at
 * half the interval (RFC 4028 §10), 45 s of 90, inside the dialog; answered, the next one 45 s
 * later. */
static void test_session_timer_we_refresh(void **state)
{
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801];
	struct sip_msg *inv, *m;
	struct dlg cd, d1;
	uint64_t t_up;

	(void)state;
	phone_invite(c, &cd, "701", NULL);
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	inv = take_req(p1, "INVITE");
	/* Our offer on the callee leg: RFC 4028 §7.1. */
	assert_true(sip_msg_has_option(inv, SIP_HDR_SUPPORTED, "timer"));
	assert_string_equal(hv(inv, SIP_HDR_SESSION_EXPIRES), "1800");
	assert_string_equal(hv(inv, SIP_HDR_MIN_SE), "90");
	dlg_from_invite(&d1, inv, "t801");
	{
		char ex[256];

		snprintf(ex, sizeof(ex),
			 "%sRequire: timer\r\nSession-Expires: 90;refresher=uac\r\n",
			 ua_contact(p1));
		ua_reply(p1, inv, 200, "OK", "t801", ex, p1->sdp);
	}
	t_up = fake_now;
	m = take_req(p1, "ACK");
	mem_deref(m);
	m = take_resp(c, 200, "INVITE");
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(c, &cd, "ACK", 1, NULL, NULL);
	assert_all_quiet();

	for (int round = 1; round <= 2; round++) {
		advance(45000 - 1);
		assert_all_quiet();
		advance(1);
		assert_int_equal(fake_now - t_up, 45000u * (unsigned)round);
		m = take_req(p1, "UPDATE");
		assert_string_equal(pls(&m->ruri), bd_contact(p1));
		assert_string_equal(hv(m, SIP_HDR_SESSION_EXPIRES), "90;refresher=uac");
		assert_true(sip_msg_has_option(m, SIP_HDR_SUPPORTED, "timer"));
		assert_string_equal(hv(m, SIP_HDR_FROM), d1.remote);
		assert_string_equal(hv(m, SIP_HDR_TO), d1.local);
		assert_int_equal(m->cseq.num, inv->cseq.num + (unsigned)round);
		ua_reply(p1, m, 200, "OK", NULL, "Session-Expires: 90;refresher=uac\r\n", NULL);
		mem_deref(m);
		assert_all_quiet();
	}
	assert_int_equal(call_count(fx.eng), 1);
	ua_request(c, &cd, "BYE", 0, NULL, NULL);
	m = take_resp(c, 200, "BYE");
	mem_deref(m);
	m = take_req(p1, "BYE");
	ua_reply(p1, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet();
	assert_call_gone();
	mem_deref(inv);
}

/* RFC 3262 §4: a reliable provisional whose RSeq is not one higher than the last one PRACKed
 * MUST NOT be PRACKed (RSeq 1, then 3: no PRACK for 3; then 2 is PRACKed).
 * BUG (dial.c call_b_resp_h): any RSeq greater than the last is PRACKed, so 3 is, and 2 then is
 * not. */
static void test_prack_rseq_gap(void **state)
{
	struct ua *c = &fx.ua[UA_803], *line = &fx.ua[UA_LINE];
	struct sip_msg *inv, *m;
	struct dlg cd;
	char want[64], rel[3][192];

	(void)state;
	phone_invite(c, &cd, "0398765432", NULL);
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	inv = take_req(line, "INVITE");
	for (int i = 0; i < 3; i++)
		snprintf(
		    rel[i], sizeof(rel[i]),
		    "Require: 100rel\r\nRSeq: %d\r\nContact: <sip:0398765432@127.0.0.91:%u>\r\n",
		    i + 1, line->port);
	ua_reply(line, inv, 183, "Session Progress", "ngn1", rel[0], line->sdp);
	m = take_req(line, "PRACK");
	snprintf(want, sizeof(want), "1 %u INVITE", inv->cseq.num);
	assert_string_equal(hvx(m, "RAck"), want);
	ua_reply(line, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	m = take_resp(c, 183, "INVITE");
	mem_deref(m);

	ua_reply(line, inv, 180, "Ringing", "ngn1", rel[2], NULL);
	pump();
	if (fx.ua[UA_LINE].n) {
		m = take_req(line, "PRACK");
		ua_reply(line, m, 200, "OK", NULL, NULL, NULL);
		print_message("BUG: RSeq 3 after 1 was PRACKed (RAck: %s)\n", hvx(m, "RAck"));
		mem_deref(m);
		mem_deref(inv);
		fail();
	}
	ua_reply(line, inv, 180, "Ringing", "ngn1", rel[1], NULL);
	m = take_req(line, "PRACK");
	snprintf(want, sizeof(want), "2 %u INVITE", inv->cseq.num);
	assert_string_equal(hvx(m, "RAck"), want);
	ua_reply(line, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_quiet(line);
	mem_deref(inv);
}

/* ---------------------------------------------------------------------------------------------
 * Reliable provisionals toward callers (RFC 3262, mikaka as UAS)
 */

/* The carrier calls 0312345678 with Supported: `supported`. */
static void line_invite(struct dlg *cd, const char *supported)
{
	struct ua *line = &fx.ua[UA_LINE];

	memset(cd, 0, sizeof(*cd));
	new_branch(cd->branch, sizeof(cd->branch));
	snprintf(cd->call_id, sizeof(cd->call_id), "ngn-%u@127.0.0.91", fx.nbranch);
	snprintf(cd->local, sizeof(cd->local), "<sip:0901234567@ntt-east.ne.jp>;tag=ngn%u",
		 fx.nbranch);
	snprintf(cd->remote, sizeof(cd->remote), "<sip:0312345678@ntt-east.ne.jp>");
	cd->cseq = cd->inv_cseq = 1;
	ua_send(line, line->sdp,
		"INVITE sip:0312345678@%s:%u SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=%s\r\n"
		"Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
		"Contact: <sip:0901234567@%s:%u>\r\nSupported: %s\r\n"
		"Allow: INVITE, ACK, CANCEL, BYE, PRACK, UPDATE\r\n",
		MK_IP, fx.mk_port, line->ip, line->port, cd->branch, cd->local, cd->remote,
		cd->call_id, line->ip, line->port, supported);
}

/* m is a reliable provisional (§3): Require: 100rel, RSeq rseq, a To tag, our Contact, the
 * INVITE's CSeq, and body (NULL: none). */
static void assert_reliable(const struct sip_msg *m, uint16_t code, const char *rseq,
			    const struct dlg *cd, const char *body)
{
	assert_int_equal(m->scode, code);
	assert_true(sip_msg_has_option(m, SIP_HDR_REQUIRE, "100rel"));
	assert_string_equal(hv(m, SIP_HDR_RSEQ), rseq);
	assert_true(pl_isset(&m->to.tag));
	assert_string_not_equal(contact_uri_of(m), "");
	assert_int_equal(m->cseq.num, cd->inv_cseq);
	assert_true(pl_eq_str(&m->cseq.method, "INVITE"));
	assert_string_equal(pls(&m->body), body ? body : "");
}

/* An unreliable provisional: neither RSeq nor Require: 100rel. */
static void assert_unreliable(const struct sip_msg *m, uint16_t code)
{
	assert_int_equal(m->scode, code);
	assert_false(sip_msg_has_option(m, SIP_HDR_REQUIRE, "100rel"));
	assert_null(sip_msg_hdr(m, SIP_HDR_RSEQ));
}

/* The caller's PRACK inside the early dialog with this RAck; returns the response to it. */
static struct sip_msg *caller_prack(struct ua *u, struct dlg *cd, const char *rack, uint16_t code)
{
	char ex[96];
	struct sip_msg *m;

	snprintf(ex, sizeof(ex), "RAck: %s\r\n", rack);
	ua_request(u, cd, "PRACK", 0, ex, NULL);
	m = take_resp(u, code, "PRACK");
	assert_int_equal(m->cseq.num, cd->cseq);
	return m;
}

/* The caller ACKs a non-2xx final response resp (the INVITE's branch, §17.1.1.3). */
static void caller_ack_non2xx(struct ua *u, const struct dlg *cd, const char *ruri,
			      const struct sip_msg *resp)
{
	ua_send(u, NULL,
		"ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=%s\r\n"
		"Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %u ACK\r\n",
		ruri, u->ip, u->port, cd->branch, cd->local, hv(resp, SIP_HDR_TO), cd->call_id,
		cd->inv_cseq);
}

/* The caller hangs up an established call; the callee's BYE is answered; nothing is left. */
static void caller_bye_end(struct ua *c, struct dlg *cd, struct ua *callee)
{
	struct sip_msg *m;

	ua_request(c, cd, "BYE", 0, NULL, NULL);
	m = take_resp(c, 200, "BYE");
	mem_deref(m);
	m = take_req(callee, "BYE");
	ua_reply(callee, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet();
	assert_call_gone();
}

/* (1) The carrier supports 100rel: its prompt 180 is reliable (RSeq 1), resent at T1 and 3*T1
 * (500 ms, then 1 s later, then 2 s later); a PRACK whose RAck names another RSeq, another
 * CSeq or another method gets 481 and does not stop the resending; the right one gets 200 and
 * does; 801 answers and the carrier gets the 200 at once. */
static void test_reliable_180_to_caller(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801];
	static const char *const bad_racks[] = {"2 1 INVITE", "1 2 INVITE", "1 1 UPDATE",
						"0 1 INVITE"};
	struct sip_msg *m, *m180, *inv;
	struct dlg cd;
	uint64_t t0;

	(void)state;
	line_invite(&cd, "timer, 100rel");
	m = take_resp(line, 100, "INVITE");
	mem_deref(m);
	m180 = take_resp(line, 180, "INVITE");
	t0 = fake_now;
	assert_reliable(m180, 180, "1", &cd, NULL);
	dlg_from_2xx(&cd, m180);

	/* 801 rings: the carrier already has its 180 (no second one, reliable or not). */
	inv = take_req(p1, "INVITE");
	ua_reply(p1, inv, 100, "Trying", NULL, NULL, NULL);
	ua_reply(p1, inv, 180, "Ringing", "t801", ua_contact(p1), NULL);
	assert_all_quiet();

	/* §3: retransmitted at T1, then doubling. */
	advance(500 - 1);
	assert_all_quiet();
	advance(1);
	m = take_resp(line, 180, "INVITE");
	assert_reliable(m, 180, "1", &cd, NULL);
	assert_string_equal(pls(&m->to.tag), pls(&m180->to.tag));
	mem_deref(m);
	assert_all_quiet();
	advance(1000 - 1);
	assert_all_quiet();
	advance(1);
	assert_int_equal(fake_now - t0, 1500);
	m = take_resp(line, 180, "INVITE");
	assert_reliable(m, 180, "1", &cd, NULL);
	mem_deref(m);
	assert_all_quiet();

	/* §7.2 / §3: a PRACK that does not match the outstanding provisional: 481. */
	for (size_t i = 0; i < ARRAY_SIZE(bad_racks); i++) {
		m = caller_prack(line, &cd, bad_racks[i], 481);
		mem_deref(m);
	}
	assert_all_quiet();
	/* ... and the 180 is still resent, 2 s after the last one. */
	advance(2000 - 1);
	assert_all_quiet();
	advance(1);
	assert_int_equal(fake_now - t0, 3500);
	m = take_resp(line, 180, "INVITE");
	assert_reliable(m, 180, "1", &cd, NULL);
	mem_deref(m);

	/* The right PRACK: 200 inside the early dialog, and the resending stops. */
	m = caller_prack(line, &cd, "1 1 INVITE", 200);
	assert_string_equal(pls(&m->to.tag), pls(&m180->to.tag));
	assert_string_equal(hv(m, SIP_HDR_FROM), cd.local);
	assert_string_equal(hv(m, SIP_HDR_CALL_ID), cd.call_id);
	mem_deref(m);
	/* A retransmitted PRACK (same RAck, new transaction here) is answered 200 too. */
	m = caller_prack(line, &cd, "1 1 INVITE", 200);
	mem_deref(m);
	advance(4000); /* past 7.5 s */
	assert_all_quiet();
	advance(8500); /* past 15.5 s, inside the Dial's 20 s */
	assert_all_quiet();

	/* 801 answers: nothing holds the 200 back (the 180 had no SDP and is PRACKed). */
	ua_reply(p1, inv, 200, "OK", "t801", ua_contact(p1), p1->sdp);
	m = take_req(p1, "ACK");
	assert_ack_2xx(m, inv, p1, "t801");
	mem_deref(m);
	m = take_resp(line, 200, "INVITE");
	assert_string_equal(pls(&m->body), p1->sdp);
	assert_string_equal(pls(&m->to.tag), pls(&m180->to.tag));
	assert_null(sip_msg_hdr(m, SIP_HDR_RSEQ));
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(line, &cd, "ACK", 1, NULL, NULL);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
	caller_bye_end(line, &cd, p1);
	mem_deref(m180);
	mem_deref(inv);
}

/* (2) Early media toward a phone that supports 100rel: 801 sends 183 with SDP and its 200 right
 * after. The caller gets the 183 reliably (RSeq 1, with 801's SDP); the 200 is held (§3: no 2xx
 * while an 18x with SDP is unacknowledged) through the 183's retransmission and a PRACK with a
 * wrong RAck, and goes out right after the right PRACK's 200. */
static void test_reliable_183_holds_200(void **state)
{
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801];
	struct sip_msg *m, *m183, *inv;
	struct dlg cd;

	(void)state;
	phone_invite(c, &cd, "701", "Supported: 100rel\r\n");
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	inv = take_req(p1, "INVITE");
	ua_reply(p1, inv, 183, "Session Progress", "t801", ua_contact(p1), p1->sdp);
	ua_reply(p1, inv, 200, "OK", "t801", ua_contact(p1), p1->sdp);
	m = take_req(p1, "ACK");
	assert_ack_2xx(m, inv, p1, "t801");
	mem_deref(m);

	m183 = take_resp(c, 183, "INVITE");
	assert_reliable(m183, 183, "1", &cd, p1->sdp);
	dlg_from_2xx(&cd, m183);
	assert_all_quiet(); /* no 200 yet */

	advance(500 - 1);
	assert_all_quiet();
	advance(1);
	m = take_resp(c, 183, "INVITE");
	assert_reliable(m, 183, "1", &cd, p1->sdp);
	mem_deref(m);
	assert_all_quiet();

	m = caller_prack(c, &cd, "1 2 INVITE", 481);
	mem_deref(m);
	assert_all_quiet(); /* still no 200 */

	m = caller_prack(c, &cd, "1 1 INVITE", 200);
	mem_deref(m);
	m = take_resp(c, 200, "INVITE");
	assert_string_equal(pls(&m->body), p1->sdp);
	assert_string_equal(pls(&m->to.tag), pls(&m183->to.tag));
	assert_null(sip_msg_hdr(m, SIP_HDR_RSEQ));
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(c, &cd, "ACK", 1, NULL, NULL);
	/* Neither the 183 nor the 200 is resent afterwards. */
	advance(5000);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
	caller_bye_end(c, &cd, p1);
	mem_deref(m183);
	mem_deref(inv);
}

/* After the reliable provisional first sent at t0 went unacknowledged: the clock goes to 64*T1
 * exactly, then on in 500 ms steps (up to 70 s), taking retransmitted 1xx, until a final
 * response to the INVITE arrives at u. Returns that response; *at is when (from t0). */
static struct sip_msg *await_final(struct ua *u, uint64_t t0, uint64_t *at)
{
	advance(t0 + 32000 - fake_now);
	while (fake_now - t0 <= 70000) {
		for (size_t k = 0; k < u->n; k++) {
			struct sip_msg *m = u->q[k];

			if (m->is_request || m->scode < 200)
				continue;
			memmove(&u->q[k], &u->q[k + 1], (u->n - k - 1) * sizeof(u->q[0]));
			u->n--;
			*at = fake_now - t0;
			return m;
		}
		for (; u->n; u->n--)
			mem_deref(u->q[u->n - 1]);
		advance(500);
	}
	print_message("%s: no final response within 70 s\n", u->name);
	fail();
	return NULL;
}

/* (3a) Nobody PRACKs the reliable 180 (Require: 100rel in the caller's INVITE this time): resent
 * at 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s (no T2 cap); at 64*T1 = 32 s the INVITE gets 504
 * (§3) and the ringing 801 gets CANCEL; the 504 is resent until the caller's ACK. */
static void test_reliable_no_prack_504(void **state)
{
	static const unsigned retx[] = {500, 1500, 3500, 7500, 15500, 31500};
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801];
	struct sip_msg *m, *inv, *cancel;
	struct dlg cd;
	uint64_t t0, t504;
	uint16_t code;
	char ruri[96];

	(void)state;
	phone_invite(c, &cd, "703", "Supported: 100rel\r\n");
	snprintf(ruri, sizeof(ruri), "sip:703@%s:%u", MK_IP, fx.mk_port);
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	inv = take_req(p1, "INVITE");
	ua_reply(p1, inv, 180, "Ringing", "t801", ua_contact(p1), NULL);
	m = take_resp(c, 180, "INVITE");
	t0 = fake_now;
	assert_reliable(m, 180, "1", &cd, NULL);
	mem_deref(m);
	assert_all_quiet();

	for (size_t i = 0; i < ARRAY_SIZE(retx); i++) {
		advance(t0 + retx[i] - 1 - fake_now);
		assert_all_quiet();
		advance(1);
		m = take_resp(c, 180, "INVITE");
		assert_reliable(m, 180, "1", &cd, NULL);
		mem_deref(m);
		assert_all_quiet();
	}
	advance(t0 + 32000 - 1 - fake_now);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
	m = await_final(c, t0, &t504);
	code = m->scode;
	caller_ack_non2xx(c, &cd, ruri, m);
	mem_deref(m);
	cancel = take_req(p1, "CANCEL");
	assert_cancel_of(cancel, inv);
	ua_reply(p1, cancel, 200, "OK", "t801", NULL, NULL);
	mem_deref(cancel);
	ua_reply(p1, inv, 487, "Request Terminated", "t801", NULL, NULL);
	m = take_req(p1, "ACK");
	assert_ack_non2xx(m, inv, "t801");
	mem_deref(m);
	assert_all_quiet();
	/* Nothing resent after the ACKs, everything gone once the transactions' timers ran. */
	advance(40000);
	assert_all_quiet();
	assert_call_gone();
	mem_deref(inv);
	if (t504 != 32000)
		print_message("BUG: the final response (%u) came %llu ms after the first 1xx\n",
			      code, (unsigned long long)t504);
	assert_int_equal(code, 504);
	assert_int_equal(t504, 32000);
}

/* (3b) 801 answered behind an unacknowledged 183 with SDP (the 200 held) and the caller never
 * PRACKs: at 32 s the INVITE gets 504 (never the held 200) and 801, already ACKed, gets BYE. */
static void test_reliable_no_prack_answered(void **state)
{
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801];
	struct sip_msg *m, *inv;
	struct dlg cd;
	uint64_t t0, t504;
	uint16_t code;
	char ruri[96];

	(void)state;
	phone_invite(c, &cd, "703", "Supported: 100rel\r\n");
	snprintf(ruri, sizeof(ruri), "sip:703@%s:%u", MK_IP, fx.mk_port);
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	inv = take_req(p1, "INVITE");
	ua_reply(p1, inv, 183, "Session Progress", "t801", ua_contact(p1), p1->sdp);
	ua_reply(p1, inv, 200, "OK", "t801", ua_contact(p1), p1->sdp);
	m = take_req(p1, "ACK");
	mem_deref(m);
	m = take_resp(c, 183, "INVITE");
	t0 = fake_now;
	assert_reliable(m, 183, "1", &cd, p1->sdp);
	mem_deref(m);
	assert_all_quiet();

	/* Only 183s until 32 s (the last one at 31.5 s). */
	while (fake_now - t0 < 32000 - 500) {
		advance(500);
		for (size_t k = 0; k < c->n; k++)
			assert_int_equal(c->q[k]->scode, 183);
		for (; c->n; c->n--)
			mem_deref(c->q[c->n - 1]);
		assert_all_quiet();
	}
	advance(t0 + 32000 - 1 - fake_now);
	assert_all_quiet();
	m = await_final(c, t0, &t504);
	code = m->scode;
	caller_ack_non2xx(c, &cd, ruri, m);
	mem_deref(m);
	m = take_req(p1, "BYE");
	assert_string_equal(pls(&m->to.tag), "t801");
	assert_int_equal(m->cseq.num, inv->cseq.num + 1);
	ua_reply(p1, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet();
	advance(40000);
	assert_all_quiet(); /* in particular never a 200 to the caller */
	assert_call_gone();
	mem_deref(inv);
	if (t504 != 32000)
		print_message("BUG: the final response (%u) came %llu ms after the first 1xx\n",
			      code, (unsigned long long)t504);
	assert_int_equal(code, 504);
	assert_int_equal(t504, 32000);
}

/* (4) Callers without 100rel get plain 18x: the carrier's prompt 180 and a phone's 183 with
 * early media carry neither RSeq nor Require: 100rel, are not resent, and 801's 200 goes out
 * at once. */
static void test_unreliable_without_100rel(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801];
	struct sip_msg *m, *inv;
	struct dlg cd;

	(void)state;
	line_invite(&cd, "timer");
	m = take_resp(line, 100, "INVITE");
	mem_deref(m);
	m = take_resp(line, 180, "INVITE");
	assert_unreliable(m, 180);
	mem_deref(m);
	inv = take_req(p1, "INVITE");
	ua_reply(p1, inv, 180, "Ringing", "t801", ua_contact(p1), NULL);
	advance(4000);
	assert_all_quiet();
	ua_reply(p1, inv, 200, "OK", "t801", ua_contact(p1), p1->sdp);
	m = take_req(p1, "ACK");
	mem_deref(m);
	m = take_resp(line, 200, "INVITE");
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(line, &cd, "ACK", 1, NULL, NULL);
	caller_bye_end(line, &cd, p1);
	mem_deref(inv);

	phone_invite(c, &cd, "701", NULL);
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	inv = take_req(p1, "INVITE");
	ua_reply(p1, inv, 183, "Session Progress", "t801", ua_contact(p1), p1->sdp);
	m = take_resp(c, 183, "INVITE");
	assert_unreliable(m, 183);
	assert_string_equal(pls(&m->body), p1->sdp);
	mem_deref(m);
	advance(1000);
	assert_all_quiet();
	ua_reply(p1, inv, 200, "OK", "t801", ua_contact(p1), p1->sdp);
	m = take_req(p1, "ACK");
	mem_deref(m);
	m = take_resp(c, 200, "INVITE");
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(c, &cd, "ACK", 1, NULL, NULL);
	caller_bye_end(c, &cd, p1);
	mem_deref(inv);
}

/* (5) One at a time (§3): the carrier's prompt 180 (RSeq 1) is outstanding when 801 sends 183
 * with SDP: the 183 waits for the PRACK of 1, then goes out as RSeq 2 with the SDP; 801's 200
 * then waits for the PRACK of 2 (a PRACK for 1 now gets 481). */
static void test_reliable_one_at_a_time(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801];
	struct sip_msg *m, *inv;
	struct dlg cd;

	(void)state;
	line_invite(&cd, "100rel, timer");
	m = take_resp(line, 100, "INVITE");
	mem_deref(m);
	m = take_resp(line, 180, "INVITE");
	assert_reliable(m, 180, "1", &cd, NULL);
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	inv = take_req(p1, "INVITE");
	ua_reply(p1, inv, 183, "Session Progress", "t801", ua_contact(p1), p1->sdp);
	assert_all_quiet(); /* the 183 waits */
	advance(500);
	m = take_resp(line, 180, "INVITE"); /* RSeq 1 is still the one resent */
	assert_reliable(m, 180, "1", &cd, NULL);
	mem_deref(m);
	assert_all_quiet();

	m = caller_prack(line, &cd, "1 1 INVITE", 200);
	mem_deref(m);
	m = take_resp(line, 183, "INVITE");
	assert_reliable(m, 183, "2", &cd, p1->sdp);
	mem_deref(m);
	assert_all_quiet();
	ua_reply(p1, inv, 200, "OK", "t801", ua_contact(p1), p1->sdp);
	m = take_req(p1, "ACK");
	mem_deref(m);
	assert_all_quiet(); /* the 200 waits for the PRACK of 2 */
	advance(500);
	m = take_resp(line, 183, "INVITE");
	assert_reliable(m, 183, "2", &cd, p1->sdp);
	mem_deref(m);
	assert_all_quiet();
	m = caller_prack(line, &cd, "1 1 INVITE", 481); /* the old RSeq no longer */
	mem_deref(m);
	assert_all_quiet();
	m = caller_prack(line, &cd, "2 1 INVITE", 200);
	mem_deref(m);
	m = take_resp(line, 200, "INVITE");
	assert_string_equal(pls(&m->body), p1->sdp);
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(line, &cd, "ACK", 1, NULL, NULL);
	advance(5000);
	assert_all_quiet();
	caller_bye_end(line, &cd, p1);
	mem_deref(inv);
}

/* (6) §3 lets a 2xx go out while the unacknowledged reliable provisional carries no SDP: the
 * carrier's 180 (RSeq 1) is not PRACKed, 801 sends 183 with SDP (queued) and 200: the carrier
 * gets the 200 (with the SDP) at once, the queued 183 is never sent, the 180 no longer resent. */
static void test_reliable_200_past_plain_180(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801];
	struct sip_msg *m, *inv;
	struct dlg cd;

	(void)state;
	line_invite(&cd, "timer, 100rel");
	m = take_resp(line, 100, "INVITE");
	mem_deref(m);
	m = take_resp(line, 180, "INVITE");
	assert_reliable(m, 180, "1", &cd, NULL);
	mem_deref(m);
	inv = take_req(p1, "INVITE");
	ua_reply(p1, inv, 183, "Session Progress", "t801", ua_contact(p1), p1->sdp);
	ua_reply(p1, inv, 200, "OK", "t801", ua_contact(p1), p1->sdp);
	m = take_req(p1, "ACK");
	mem_deref(m);
	m = take_resp(line, 200, "INVITE");
	assert_string_equal(pls(&m->body), p1->sdp);
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	assert_all_quiet();
	ua_request(line, &cd, "ACK", 1, NULL, NULL);
	advance(5000);
	assert_all_quiet();
	caller_bye_end(line, &cd, p1);
	mem_deref(inv);
}

/* (7) Require: 100rel in the caller's INVITE (§3: the UAS that supports it MUST send its 1xx
 * reliably; our own Supported says 100rel): no 420, and the 180 is reliable. */
static void test_reliable_require_100rel(void **state)
{
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801];
	struct sip_msg *m, *inv;
	struct dlg cd;

	(void)state;
	phone_invite(c, &cd, "701", "Require: 100rel\r\n");
	pump();
	for (size_t k = 0; k < c->n; k++) {
		if (c->q[k]->scode == 420)
			print_message("BUG: Require: 100rel got 420 (Unsupported: %s)\n",
				      hvx(c->q[k], "Unsupported"));
	}
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	inv = take_req(p1, "INVITE");
	ua_reply(p1, inv, 180, "Ringing", "t801", ua_contact(p1), NULL);
	m = take_resp(c, 180, "INVITE");
	assert_reliable(m, 180, "1", &cd, NULL);
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	m = caller_prack(c, &cd, "1 1 INVITE", 200);
	mem_deref(m);
	ua_reply(p1, inv, 200, "OK", "t801", ua_contact(p1), p1->sdp);
	m = take_req(p1, "ACK");
	mem_deref(m);
	m = take_resp(c, 200, "INVITE");
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(c, &cd, "ACK", 1, NULL, NULL);
	caller_bye_end(c, &cd, p1);
	mem_deref(inv);
}

/* ---------------------------------------------------------------------------------------------
 * Transfers: REFER (RFC 3515) blind, REFER with Replaces (RFC 3891) attended
 */

/* The next request with this method in dialog call_id that u received. */
static struct sip_msg *take_req_in(struct ua *u, const char *method, const char *call_id)
{
	for (int round = 0; round < 50; round++) {
		for (size_t k = 0; k < u->n; k++) {
			struct sip_msg *m = u->q[k];

			if (!m->is_request || !pl_eq_str(&m->method, method) ||
			    strcmp(hv(m, SIP_HDR_CALL_ID), call_id))
				continue;
			memmove(&u->q[k], &u->q[k + 1], (u->n - k - 1) * sizeof(u->q[0]));
			u->n--;
			return m;
		}
		pump();
	}
	print_message("%s: expected %s in %s, not received\n", u->name, method, call_id);
	dump_queue(u);
	fail();
	return NULL;
}

/* The tag of a From/To value as the test keeps it ("<uri>;tag=x"). */
static const char *tag_of(const char *hdr)
{
	const char *t = strstr(hdr, ";tag=");

	assert_non_null(t);
	return t + 5;
}

/* A sipfrag body without its line end. */
static const char *frag_of(const struct sip_msg *m)
{
	static char buf[128];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", pls(&m->body));
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return buf;
}

/* x sends REFER in its dialog d (Refer-To: refer_to, none when NULL) and gets code, answered
 * inside that dialog. */
static void ua_refer(struct ua *x, struct dlg *d, const char *refer_to, uint16_t code)
{
	char ex[1024];
	struct sip_msg *m;

	snprintf(ex, sizeof(ex), "%s%s%s%s", refer_to ? "Refer-To: " : "", refer_to ? refer_to : "",
		 refer_to ? "\r\n" : "", ua_contact(x));
	ua_request(x, d, "REFER", 0, ex, NULL);
	m = take_resp(x, code, "REFER");
	assert_int_equal(m->cseq.num, d->cseq);
	assert_string_equal(hv(m, SIP_HDR_CALL_ID), d->call_id);
	assert_string_equal(hv(m, SIP_HDR_FROM), d->local);
	assert_string_equal(hv(m, SIP_HDR_TO), d->remote);
	mem_deref(m);
}

/* After x's REFER in dialog d got 202: the implicit subscription's NOTIFYs (RFC 3515 §2.4.4,
 * §2.4.7) come inside d, 100 Trying (active) then 200 OK (terminated), then the BYE that lets
 * x go, with consecutive CSeqs (the first one first_cseq unless 0); each is answered 200. */
static void assert_transferor_released(struct ua *x, const struct dlg *d, uint32_t first_cseq)
{
	static const char *const frags[] = {"SIP/2.0 100 Trying", "SIP/2.0 200 OK"};
	static const char *const states[] = {"active;expires=60", "terminated;reason=noresource"};
	uint32_t cseq = first_cseq ? first_cseq - 1 : 0;
	struct sip_msg *m;

	for (size_t i = 0; i < 3; i++) {
		m = take_req_in(x, i < 2 ? "NOTIFY" : "BYE", d->call_id);
		assert_string_equal(pls(&m->ruri), bd_contact(x));
		assert_string_equal(hv(m, SIP_HDR_FROM), d->remote);
		assert_string_equal(hv(m, SIP_HDR_TO), d->local);
		if (i || first_cseq)
			assert_int_equal(m->cseq.num, cseq + 1);
		cseq = m->cseq.num;
		if (i < 2) {
			assert_string_equal(hv(m, SIP_HDR_EVENT), "refer");
			assert_string_equal(hv(m, SIP_HDR_SUBSCRIPTION_STATE), states[i]);
			assert_string_equal(hv(m, SIP_HDR_CONTENT_TYPE),
					    "message/sipfrag;version=2.0");
			assert_string_equal(frag_of(m), frags[i]);
		} else {
			assert_null(sip_msg_hdr(m, SIP_HDR_EVENT));
			assert_string_equal(pls(&m->body), "");
		}
		ua_reply(x, m, 200, "OK", NULL, NULL, NULL);
		mem_deref(m);
	}
}

/* 802 gets the transferred party's INVITE (from number `from`, offer `sdp`), rings and answers;
 * d2 is its side of the new dialog, *invp the INVITE. */
static void target_answers(const char *from, const char *sdp, struct dlg *d2, struct sip_msg **invp)
{
	struct ua *p2 = &fx.ua[UA_802];
	struct sip_msg *inv, *m;
	char want[96];

	inv = take_req(p2, "INVITE");
	snprintf(want, sizeof(want), "sip:802@127.0.0.93:%u", p2->port);
	assert_string_equal(pls(&inv->ruri), want);
	assert_string_equal(pls(&inv->from.uri.user), from);
	assert_string_equal(pls(&inv->body), sdp);
	assert_false(pl_isset(&inv->to.tag));
	dlg_from_invite(d2, inv, "t802");
	ua_reply(p2, inv, 100, "Trying", NULL, NULL, NULL);
	ua_reply(p2, inv, 180, "Ringing", "t802", ua_contact(p2), NULL);
	pump();
	ua_reply(p2, inv, 200, "OK", "t802", ua_contact(p2), p2->sdp);
	m = take_req(p2, "ACK");
	assert_ack_2xx(m, inv, p2, "t802");
	mem_deref(m);
	*invp = inv;
}

/* u's BYE in dialog d ends the call: peer gets it in its dialog pd (CSeq pcseq unless 0). */
static void bye_reaches(struct ua *u, struct dlg *d, struct ua *peer, const struct dlg *pd,
			uint32_t pcseq)
{
	struct sip_msg *m;

	ua_request(u, d, "BYE", 0, NULL, NULL);
	m = take_resp(u, 200, "BYE");
	mem_deref(m);
	m = take_req_in(peer, "BYE", pd->call_id);
	if (peer == &fx.ua[UA_LINE]) {
		char want[96];

		snprintf(want, sizeof(want), "sip:0901234567@127.0.0.91:%u", peer->port);
		assert_string_equal(pls(&m->ruri), want);
	} else {
		assert_string_equal(pls(&m->ruri), bd_contact(peer));
	}
	assert_string_equal(hv(m, SIP_HDR_FROM), pd->remote);
	assert_string_equal(hv(m, SIP_HDR_TO), pd->local);
	if (pcseq)
		assert_int_equal(m->cseq.num, pcseq);
	ua_reply(peer, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet();
	assert_call_gone();
}

/* (1) Blind transfer by the callee: the carrier calls in, 801 answers and REFERs to 802: 202,
 * NOTIFY 100 and 200 and BYE to 801; 802 is dialled through 801's context with the caller's
 * number and the carrier's offer; its answer changes nothing toward the carrier (no media
 * engine: the SDP was passed through and nothing is renegotiated); the carrier's BYE reaches
 * 802. */
static void test_refer_blind_callee(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801], *p2 = &fx.ua[UA_802];
	struct sip_msg *inv;
	struct dlg cd, bd, d2;
	uint64_t t_up;

	(void)state;
	carrier_call_up(&cd, &bd, &t_up);
	ua_refer(p1, &bd, "<sip:802@127.0.0.90>", 202);
	assert_transferor_released(p1, &bd, bd.inv_cseq + 1);
	target_answers("0901234567", line->sdp, &d2, &inv);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
	assert_int_equal(call_leg_count(fx.eng), 2);
	/* The carrier's dialog is the one it had: its BYE is answered and crosses to 802. */
	bye_reaches(line, &cd, p2, &d2, inv->cseq.num + 1);
	mem_deref(inv);
}

/* (1b) The transfer target is busy: the transferee (the carrier) is left alone in the call and
 * gets a BYE; the transferor was already released. */
static void test_refer_blind_target_busy(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801], *p2 = &fx.ua[UA_802];
	struct sip_msg *inv, *m;
	struct dlg cd, bd;
	uint64_t t_up;

	(void)state;
	carrier_call_up(&cd, &bd, &t_up);
	ua_refer(p1, &bd, "<sip:802@127.0.0.90>", 202);
	assert_transferor_released(p1, &bd, bd.inv_cseq + 1);
	inv = take_req(p2, "INVITE");
	ua_reply(p2, inv, 486, "Busy Here", "t802", NULL, NULL);
	m = take_req(p2, "ACK");
	assert_ack_non2xx(m, inv, "t802");
	mem_deref(m);
	m = take_req(line, "BYE");
	assert_string_equal(hv(m, SIP_HDR_FROM), cd.remote);
	assert_string_equal(hv(m, SIP_HDR_TO), cd.local);
	assert_string_equal(hv(m, SIP_HDR_CALL_ID), cd.call_id);
	ua_reply(line, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet();
	advance(40000);
	assert_all_quiet();
	assert_call_gone();
	mem_deref(inv);
}

/* (1c) The Refer-To user is dialled through the transferring phone's context, and a user that
 * context has no extension for is not a transfer target: RFC 3515 §2.4.2 lets the REFER be
 * refused, here 404 (call_refer's own answer when the channel cannot be made), and the call
 * goes on untouched: no NOTIFY, no BYE to either side.
 * BUG (transfer.c call_refer): pbx_chan_alloc only checks that the context exists, so 999 gets 202,
 * a NOTIFY "SIP/2.0 200 OK" (a transfer that never happened reported as done), BYE to 801 and,
 * once the dialplan finds nothing, BYE to the carrier: the caller is cut off. Checking the
 * extension first (dialplan_find on p->context and target) would answer 404. */
static void test_refer_blind_not_in_context(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801];
	struct dlg cd, bd;
	uint64_t t_up;

	(void)state;
	carrier_call_up(&cd, &bd, &t_up);
	ua_refer(p1, &bd, "<sip:999@127.0.0.90>", 404);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
	assert_int_equal(call_leg_count(fx.eng), 2);
	bye_reaches(line, &cd, p1, &bd, bd.inv_cseq + 1);
}

/* (2) Blind transfer by the caller: 803 calls 701, 801 answers; 803 REFERs to 802: the same
 * NOTIFYs and BYE to 803 (in the dialog 803 started), 802 rings with 801's number (what 803
 * dialled) and 801's offer; then one of the remaining two hangs up and the other gets the BYE
 * in its own dialog. */
static void refer_blind_caller(bool target_hangs_up)
{
	struct ua *c = &fx.ua[UA_803], *p1 = &fx.ua[UA_801], *p2 = &fx.ua[UA_802];
	struct sip_msg *inv1, *inv;
	struct dlg cd, d1, d2;

	simple_call_up(&cd, &d1, &inv1);
	ua_refer(c, &cd, "<sip:802@127.0.0.90;user=phone>", 202);
	assert_transferor_released(c, &cd, 0);
	target_answers("701", p1->sdp, &d2, &inv);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
	assert_int_equal(call_leg_count(fx.eng), 2);
	if (target_hangs_up)
		bye_reaches(p2, &d2, p1, &d1, inv1->cseq.num + 1);
	else
		bye_reaches(p1, &d1, p2, &d2, inv->cseq.num + 1);
	mem_deref(inv);
	mem_deref(inv1);
}

static void test_refer_blind_caller(void **state)
{
	(void)state;
	refer_blind_caller(false);
}

static void test_refer_blind_caller_target_bye(void **state)
{
	(void)state;
	refer_blind_caller(true);
}

/* (2b) The same toward the carrier: 803 calls out, the carrier answers, 803 REFERs to 802: 802
 * rings with the number 803 dialled and the carrier's offer; the carrier's BYE reaches 802. */
static void test_refer_blind_caller_carrier(void **state)
{
	struct ua *c = &fx.ua[UA_803], *line = &fx.ua[UA_LINE], *p2 = &fx.ua[UA_802];
	struct sip_msg *inv1, *inv, *m;
	struct dlg cd, ld, d2;
	char contact[128];

	(void)state;
	phone_invite(c, &cd, "0398765432", NULL);
	m = take_resp(c, 100, "INVITE");
	mem_deref(m);
	inv1 = take_req(line, "INVITE");
	dlg_from_invite(&ld, inv1, "ngn1");
	snprintf(contact, sizeof(contact), "Contact: <sip:0398765432@127.0.0.91:%u>\r\n",
		 line->port);
	ua_reply(line, inv1, 200, "OK", "ngn1", contact, line->sdp);
	m = take_req(line, "ACK");
	mem_deref(m);
	m = take_resp(c, 200, "INVITE");
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(c, &cd, "ACK", 1, NULL, NULL);
	assert_all_quiet();

	ua_refer(c, &cd, "<sip:802@127.0.0.90>", 202);
	assert_transferor_released(c, &cd, 0);
	target_answers("0398765432", line->sdp, &d2, &inv);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
	assert_int_equal(call_leg_count(fx.eng), 2);
	bye_reaches(line, &ld, p2, &d2, inv->cseq.num + 1);
	mem_deref(inv);
	mem_deref(inv1);
}

/* (3) REFER refused: from the carrier's leg 403 (only phones transfer); without Refer-To 400;
 * outside any dialog (unknown Call-ID, or a known one with a wrong tag) 481. The call is left
 * as it was. */
static void test_refer_refused(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801];
	struct dlg cd, bd, bad;
	uint64_t t_up;

	(void)state;
	carrier_call_up(&cd, &bd, &t_up);
	ua_refer(line, &cd, "<sip:802@127.0.0.90>", 403);
	assert_all_quiet();
	ua_refer(p1, &bd, NULL, 400);
	assert_all_quiet();
	bad = bd;
	snprintf(bad.call_id, sizeof(bad.call_id), "no-such-call@127.0.0.92");
	ua_refer(p1, &bad, "<sip:802@127.0.0.90>", 481);
	bad = bd;
	snprintf(bad.remote, sizeof(bad.remote), "<sip:0901234567@ntt-east.ne.jp>;tag=nosuchtag");
	ua_refer(p1, &bad, "<sip:802@127.0.0.90>", 481);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
	assert_int_equal(call_leg_count(fx.eng), 2);
	/* Nothing was changed by the refused REFERs: the call ends normally. */
	bye_reaches(line, &cd, p1, &bd, 0);
}

/* Refer-To with Replaces naming (call_id, to-tag, from-tag), escaped (RFC 3891 §6.1). */
static const char *replaces_refer_to(const char *call_id, const char *totag, const char *fromtag)
{
	static char buf[768];
	char raw[512];
	size_t n;

	snprintf(raw, sizeof(raw), "%s;to-tag=%s;from-tag=%s", call_id, totag, fromtag);
	n = (size_t)snprintf(buf, sizeof(buf), "<sip:802@127.0.0.90?Replaces=");
	for (const char *p = raw; *p && n + 4 < sizeof(buf); p++) {
		if (strchr("@;=%?&", *p))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%%%02X", (unsigned)*p);
		else
			buf[n++] = *p;
	}
	snprintf(buf + n, sizeof(buf) - n, ">");
	return buf;
}

/* 801 calls 802 (call 2) and 802 answers: d2 is 801's side, e2 802's, *invp 802's INVITE. */
static void phone_calls_802(struct ua *u, struct dlg *d2, struct dlg *e2, struct sip_msg **invp)
{
	struct ua *p2 = &fx.ua[UA_802];
	struct sip_msg *m, *inv;

	phone_invite(u, d2, "802", NULL);
	m = take_resp(u, 100, "INVITE");
	mem_deref(m);
	inv = take_req(p2, "INVITE");
	assert_string_equal(pls(&inv->from.uri.user), u->name);
	dlg_from_invite(e2, inv, "t802");
	ua_reply(p2, inv, 200, "OK", "t802", ua_contact(p2), p2->sdp);
	m = take_req(p2, "ACK");
	mem_deref(m);
	m = take_resp(u, 200, "INVITE");
	dlg_from_2xx(d2, m);
	mem_deref(m);
	ua_request(u, d2, "ACK", 1, NULL, NULL);
	*invp = inv;
}

/* (4) Attended transfer: the carrier calls 801 (call 1), 801 calls 802 (call 2), then REFERs on
 * call 1 with Refer-To: 802?Replaces=<call 2 as 801 sees it> (to-tag ours, from-tag 801's; or
 * the other way round when swap): 202, NOTIFY 100 and 200, BYE on both of 801's dialogs, no
 * new INVITE to 802; the carrier and 802 are joined: either one's BYE reaches the other. */
static void refer_attended(bool swap, bool target_hangs_up)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801], *p2 = &fx.ua[UA_802];
	struct sip_msg *inv, *m;
	struct dlg cd, bd, d2, e2;
	uint64_t t_up;
	char ours[64], theirs[64];

	carrier_call_up(&cd, &bd, &t_up);
	phone_calls_802(p1, &d2, &e2, &inv);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 2);
	snprintf(ours, sizeof(ours), "%s", tag_of(d2.remote));
	snprintf(theirs, sizeof(theirs), "%s", tag_of(d2.local));
	ua_refer(p1, &bd,
		 swap ? replaces_refer_to(d2.call_id, theirs, ours)
		      : replaces_refer_to(d2.call_id, ours, theirs),
		 202);
	assert_transferor_released(p1, &bd, bd.inv_cseq + 1);
	/* Call 2 ends on 801's side only. */
	m = take_req_in(p1, "BYE", d2.call_id);
	assert_string_equal(pls(&m->ruri), bd_contact(p1));
	assert_string_equal(hv(m, SIP_HDR_FROM), d2.remote);
	assert_string_equal(hv(m, SIP_HDR_TO), d2.local);
	ua_reply(p1, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	assert_all_quiet(); /* in particular no INVITE to 802, nothing to the carrier */
	assert_int_equal(call_count(fx.eng), 1);
	assert_int_equal(call_leg_count(fx.eng), 2);
	if (target_hangs_up)
		bye_reaches(p2, &e2, line, &cd, 0);
	else
		bye_reaches(line, &cd, p2, &e2, inv->cseq.num + 1);
	mem_deref(inv);
}

static void test_refer_attended(void **state)
{
	(void)state;
	refer_attended(false, true);
}

static void test_refer_attended_swapped_tags(void **state)
{
	(void)state;
	refer_attended(true, false);
}

/* (4b) Replaces may only name a dialog of the transferring phone: 801 (in call 1 with the
 * carrier) names 803's call with 802 (either tag order), a dialog that does not exist, and its
 * own call 1: 481 each time, and nothing is torn down. */
static void test_refer_replaces_other_phone(void **state)
{
	struct ua *line = &fx.ua[UA_LINE], *p1 = &fx.ua[UA_801], *c = &fx.ua[UA_803];
	struct ua *p2 = &fx.ua[UA_802];
	struct sip_msg *inv;
	struct dlg cd, bd, d3, e3;
	uint64_t t_up;
	char a[64], b[64];

	(void)state;
	carrier_call_up(&cd, &bd, &t_up);
	phone_calls_802(c, &d3, &e3, &inv);
	assert_all_quiet();
	snprintf(a, sizeof(a), "%s", tag_of(d3.remote));
	snprintf(b, sizeof(b), "%s", tag_of(d3.local));
	ua_refer(p1, &bd, replaces_refer_to(d3.call_id, a, b), 481);
	ua_refer(p1, &bd, replaces_refer_to(d3.call_id, b, a), 481);
	ua_refer(p1, &bd, replaces_refer_to("no-such-call@127.0.0.92", a, b), 481);
	ua_refer(p1, &bd, replaces_refer_to(bd.call_id, tag_of(bd.remote), tag_of(bd.local)), 481);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 2);
	assert_int_equal(call_leg_count(fx.eng), 4);
	/* Both calls are as they were. */
	ua_request(c, &d3, "BYE", 0, NULL, NULL);
	{
		struct sip_msg *m = take_resp(c, 200, "BYE");

		mem_deref(m);
		m = take_req_in(p2, "BYE", e3.call_id);
		assert_string_equal(hv(m, SIP_HDR_TO), e3.local);
		ua_reply(p2, m, 200, "OK", NULL, NULL, NULL);
		mem_deref(m);
	}
	assert_all_quiet();
	bye_reaches(line, &cd, p1, &bd, 0);
	mem_deref(inv);
}

/* ---------------------------------------------------------------------------------------------
 * Digest on INVITEs: the registrar's settings and rules (src/reg/digest.c).
 */

/* 804 has secret=pw804; MD5 only (the default). */
static int setup_auth(void **state)
{
	setup_secret804 = true;
	setup_digest_set = false;
	setup(state);
	setup_secret804 = false;
	return 0;
}

/* 804 has secret=pw804; digest_algorithms = sha-256, md5. */
static int setup_auth_sha256(void **state)
{
	setup_secret804 = true;
	reg_digest_set_default(&setup_digest);
	setup_digest.algorithms = REG_ALG_MD5 | REG_ALG_SHA256;
	setup_digest.sha256_first = true;
	setup_digest_set = true;
	setup(state);
	setup_secret804 = false;
	setup_digest_set = false;
	return 0;
}

/* Authorization for an INVITE of 804 to sip:EXTEN@mikaka with nonce (wrong: another password). */
static void invite_auth(char *out, size_t size, enum reg_alg alg, const char *exten,
			const char *nonce, bool wrong)
{
	char ha1[REG_HASH_HEX_MAX], resp[REG_HASH_HEX_MAX], uri[128];
	struct pl u = PL("804"), r = PL("mikaka"), pw = wrong ? PL("nope") : PL("pw804");
	struct pl n = pl_from_str(nonce), nc = PL("00000001"), cn = PL("0a4f113b"), q = PL("auth");
	struct pl m = PL("INVITE"), pu;

	snprintf(uri, sizeof(uri), "sip:%s@%s:%u", exten, MK_IP, fx.mk_port);
	pu = pl_from_str(uri);
	reg_digest_ha1(alg, &u, &r, &pw, ha1);
	reg_digest_response(alg, ha1, &n, &nc, &cn, &q, &m, &pu, resp);
	snprintf(out, size,
		 "Authorization: Digest username=\"804\", realm=\"mikaka\", nonce=\"%s\", "
		 "uri=\"%s\", response=\"%s\", algorithm=%s, qop=auth, nc=00000001, "
		 "cnonce=\"0a4f113b\"\r\n",
		 nonce, uri, resp, reg_digest_name(alg));
}

/* 804 INVITEs exten without credentials: the 401 (ACKed); its challenges' algorithms in order
 * into algs ("SHA-256,MD5"), the nonce into nonce. */
static void invite_challenged(const char *exten, char *algs, size_t asize, char *nonce,
			      size_t nsize)
{
	struct ua *p4 = &fx.ua[UA_804];
	struct sip_msg *m;
	struct dlg d;
	size_t n = 0;

	phone_invite(p4, &d, exten, NULL);
	m = take_resp(p4, 401, "INVITE");
	algs[0] = nonce[0] = '\0';
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct reg_auth a;

		if (m->hdrs[i].id != SIP_HDR_WWW_AUTHENTICATE)
			continue;
		assert_int_equal(reg_auth_parse(&a, &m->hdrs[i].value), 0);
		assert_true(pl_eq_str(&a.realm, "mikaka"));
		assert_true(pl_eq_str(&a.qop, "auth"));
		n += (size_t)snprintf(algs + n, asize - n, "%s%.*s", n ? "," : "",
				      PL_ARG(a.algorithm));
		pl_strcpy(&a.nonce, nonce, nsize);
	}
	/* The ACK to the 401 (same branch, To with the 401's tag). */
	ua_send(p4, NULL,
		"ACK sip:%s@%s:%u SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=%s\r\n"
		"Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\n",
		exten, MK_IP, fx.mk_port, p4->ip, p4->port, d.branch, d.local, hv(m, SIP_HDR_TO),
		d.call_id);
	mem_deref(m);
}

/* The INVITE with credentials reaches 801 (the call is through); 801 refuses it, and the
 * refusal goes back to 804. The INVITE toward 801 advertises every option tag we implement. */
static void invite_goes_through(const char *auth_lines)
{
	struct ua *p4 = &fx.ua[UA_804], *p1 = &fx.ua[UA_801];
	struct sip_msg *m, *inv;
	struct dlg d;

	phone_invite(p4, &d, "701", auth_lines);
	inv = take_req(p1, "INVITE");
	assert_true(sip_msg_has_option(inv, SIP_HDR_SUPPORTED, "replaces"));
	assert_true(sip_msg_has_option(inv, SIP_HDR_SUPPORTED, "100rel"));
	assert_true(sip_msg_has_option(inv, SIP_HDR_SUPPORTED, "timer"));
	ua_reply(p1, inv, 486, "Busy Here", "t801", NULL, NULL);
	mem_deref(inv);
	m = take_req(p1, "ACK");
	mem_deref(m);
	m = take_resp(p4, 100, "INVITE");
	mem_deref(m);
	m = take_resp(p4, 486, "INVITE");
	mem_deref(m);
	ua_send(p4, NULL,
		"ACK sip:701@%s:%u SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=%s\r\n"
		"Max-Forwards: 70\r\nFrom: %s\r\nTo: %s;tag=x\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\n",
		MK_IP, fx.mk_port, p4->ip, p4->port, d.branch, d.local, d.remote, d.call_id);
}

/* digest_algorithms = sha-256, md5 applies to INVITEs too: two challenges, SHA-256 first (was:
 * MD5 alone whatever the setting), and SHA-256 credentials are taken. */
static void test_invite_digest_algorithms(void **state)
{
	char algs[64], nonce[128], a1[1024], a2[1024], lines[2100];

	(void)state;
	invite_challenged("701", algs, sizeof(algs), nonce, sizeof(nonce));
	assert_string_equal(algs, "SHA-256,MD5");
	/* liblinphone's answer: credentials for both, SHA-256 first; that one is judged (the
	 * MD5 one after it is wrong on purpose). */
	invite_auth(a1, sizeof(a1), REG_DIGEST_SHA256, "701", nonce, false);
	invite_auth(a2, sizeof(a2), REG_DIGEST_MD5, "701", nonce, true);
	snprintf(lines, sizeof(lines), "%s%s", a1, a2);
	invite_goes_through(lines);
}

/* The default: one MD5 challenge; of SHA-256 then MD5 credentials the MD5 ones are judged, the
 * SHA-256 ones (not offered) skipped (was: the first for the realm, here a wrong one: 403). */
static void test_invite_several_credentials(void **state)
{
	char algs[64], nonce[128], a1[1024], a2[1024], lines[2100];

	(void)state;
	invite_challenged("701", algs, sizeof(algs), nonce, sizeof(nonce));
	assert_string_equal(algs, "MD5");
	invite_auth(a1, sizeof(a1), REG_DIGEST_SHA256, "701", nonce, true);
	invite_auth(a2, sizeof(a2), REG_DIGEST_MD5, "701", nonce, false);
	snprintf(lines, sizeof(lines), "%s%s", a1, a2);
	invite_goes_through(lines);
}

/* OPTIONS answered by the server (no route takes it): Supported lists every option tag we
 * implement (RFC 3891 §6.2 for replaces), and a Require naming one of them is no 420. */
static void test_options_supported(void **state)
{
	struct ua *p1 = &fx.ua[UA_801];
	struct sip_msg *m;
	char branch[64];

	(void)state;
	new_branch(branch, sizeof(branch));
	ua_send(p1, NULL,
		"OPTIONS sip:%s:%u SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=%s\r\n"
		"Max-Forwards: 70\r\nFrom: <sip:801@%s>;tag=o1\r\nTo: <sip:%s>\r\n"
		"Call-ID: opt-1@%s\r\nCSeq: 1 OPTIONS\r\nRequire: replaces\r\n",
		MK_IP, fx.mk_port, p1->ip, p1->port, branch, MK_IP, MK_IP, p1->ip);
	m = take_resp(p1, 200, "OPTIONS");
	assert_true(sip_msg_has_option(m, SIP_HDR_SUPPORTED, "replaces"));
	assert_true(sip_msg_has_option(m, SIP_HDR_SUPPORTED, "100rel"));
	assert_true(sip_msg_has_option(m, SIP_HDR_SUPPORTED, "timer"));
	assert_false(sip_msg_has_option(m, SIP_HDR_SUPPORTED, "outbound"));
	assert_false(sip_msg_has_option(m, SIP_HDR_SUPPORTED, "path"));
	mem_deref(m);
	assert_all_quiet();
}

/* An INVITE with Replaces (with Require: replaces, so no 420 now that the tag is supported) that
 * names no ringing phone's dialog is refused, never taken as a new call: 481 when it names no
 * dialog of ours (RFC 3891 §3), 603 when it names an answered one (taking over a call in progress
 * is not done; Replaces works inside REFER), 486 for early-only and an answered dialog (§3). */
static void test_invite_replaces_refused(void **state)
{
	struct ua *p2 = &fx.ua[UA_802];
	struct dlg cd, bd, d;
	struct sip_msg *m;
	uint64_t t_up;
	char ex[512];

	(void)state;
	phone_invite(p2, &d, "701",
		     "Require: replaces\r\nReplaces: nosuch@x;to-tag=a;from-tag=b\r\n");
	m = take_resp(p2, 481, "INVITE");
	mem_deref(m);
	assert_all_quiet(); /* 801 was not rung */

	carrier_call_up(&cd, &bd, &t_up);
	snprintf(ex, sizeof(ex), "Require: replaces\r\nReplaces: %s;to-tag=%s;from-tag=%s\r\n",
		 bd.call_id, tag_of(bd.local), tag_of(bd.remote));
	phone_invite(p2, &d, "701", ex);
	m = take_resp(p2, 603, "INVITE");
	mem_deref(m);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1); /* the call goes on */
	/* RFC 3891 §3: early-only naming a confirmed dialog: 486. */
	snprintf(ex, sizeof(ex),
		 "Require: replaces\r\nReplaces: %s;to-tag=%s;from-tag=%s;early-only\r\n",
		 bd.call_id, tag_of(bd.local), tag_of(bd.remote));
	phone_invite(p2, &d, "701", ex);
	m = take_resp(p2, 486, "INVITE");
	mem_deref(m);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);
	bye_reaches(&fx.ua[UA_LINE], &cd, &fx.ua[UA_801], &bd, 0);
}

/* Call pickup without the relay (docs/CALLS.md, Call pickup): 803 calls 701 and 801 rings. *8
 * from 802 is refused with 403 (no groups in this sip.conf: no group pickup) and 801 keeps
 * ringing; an INVITE with Replaces naming 801's early dialog (neither phone has groups: a
 * directed pickup is allowed) connects 802 with 803: each gets the other's offer, 801 gets
 * CANCEL with Reason cause=200, and 802's BYE reaches 803. */
static void test_invite_replaces_pickup(void **state)
{
	struct ua *c = &fx.ua[UA_803], *p2 = &fx.ua[UA_802], *p1 = &fx.ua[UA_801];
	struct ua *callees[1] = {p1};
	struct sip_msg *inv, *m;
	struct dlg cd, d, d8;
	char ex[512];

	(void)state;
	phone_call_ringing(c, &cd, "701", NULL, callees, 1, &inv);
	phone_invite(p2, &d8, "*8", NULL);
	m = take_resp(p2, 100, "INVITE");
	mem_deref(m);
	m = take_resp(p2, 403, "INVITE");
	{
		char ruri[64];

		snprintf(ruri, sizeof(ruri), "sip:*8@%s:%u", MK_IP, fx.mk_port);
		caller_ack_non2xx(p2, &d8, ruri, m);
	}
	mem_deref(m);
	assert_all_quiet(); /* 801 still rings */

	snprintf(ex, sizeof(ex), "Require: replaces\r\nReplaces: %s;to-tag=t801;from-tag=%s\r\n",
		 hv(inv, SIP_HDR_CALL_ID), pls(&inv->from.tag));
	phone_invite(p2, &d, "801", ex);
	m = take_resp(p2, 100, "INVITE");
	mem_deref(m);
	m = take_req(p1, "CANCEL");
	assert_cancel_of(m, inv);
	assert_non_null(strstr(hv(m, SIP_HDR_REASON), "cause=200"));
	assert_non_null(strstr(hv(m, SIP_HDR_REASON), "Call completed elsewhere"));
	ua_reply(p1, m, 200, "OK", "t801", NULL, NULL);
	mem_deref(m);
	ua_reply(p1, inv, 487, "Request Terminated", "t801", NULL, NULL);
	m = take_req(p1, "ACK");
	mem_deref(m);
	mem_deref(inv);
	m = take_resp(p2, 200, "INVITE");
	assert_string_equal(pls(&m->body), c->sdp);
	dlg_from_2xx(&d, m);
	mem_deref(m);
	ua_request(p2, &d, "ACK", 1, NULL, NULL);
	m = take_resp(c, 200, "INVITE");
	assert_string_equal(pls(&m->body), p2->sdp);
	dlg_from_2xx(&cd, m);
	mem_deref(m);
	ua_request(c, &cd, "ACK", 1, NULL, NULL);
	assert_all_quiet();
	assert_int_equal(call_count(fx.eng), 1);

	ua_request(p2, &d, "BYE", 0, NULL, NULL);
	m = take_resp(p2, 200, "BYE");
	mem_deref(m);
	m = take_req(c, "BYE");
	ua_reply(c, m, 200, "OK", NULL, NULL, NULL);
	mem_deref(m);
	advance(40000);
	assert_all_quiet();
	assert_call_gone();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_session_timer_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_timer_refresh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fork_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_crossing_200, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fork_487_after_200, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fork_200_after_200, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_in_dialog_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_dialog_481, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prack_toward_carrier, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_timer_we_refresh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_target_refresh_caller, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_target_refresh_callee, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prack_rseq_gap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_refresh_require_timer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reliable_180_to_caller, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reliable_183_holds_200, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reliable_no_prack_504, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reliable_no_prack_answered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreliable_without_100rel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reliable_one_at_a_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reliable_200_past_plain_180, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reliable_require_100rel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_blind_callee, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_blind_target_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_blind_not_in_context, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_blind_caller, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_blind_caller_target_bye, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_blind_caller_carrier, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_attended, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_attended_swapped_tags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refer_replaces_other_phone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invite_digest_algorithms, setup_auth_sha256,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_invite_several_credentials, setup_auth, teardown),
	    cmocka_unit_test_setup_teardown(test_options_supported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invite_replaces_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invite_replaces_pickup, setup, teardown),
	};

	if (getenv("FSM_TEST"))
		cmocka_set_test_filter(getenv("FSM_TEST"));
	return cmocka_run_group_tests_name("call_fsm", tests, NULL, NULL);
}
