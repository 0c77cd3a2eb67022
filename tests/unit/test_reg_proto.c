/* test_reg_proto: the registrar and the outbound registrations on the wire, in one process: a SIP
 * stack on 127.0.0.1 with the registrar behind it, a raw UDP socket as the phone (or as the
 * carrier), a fake clock for nonce expiry, binding expiry, refreshes and back-off, and a store
 * file for persistence. */
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
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>

#include "reg_int.h"

#define T0 1000000u

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

struct fx {
	struct loop *loop;
	struct sip_stack *stack;
	struct store *store;
	struct sipcfg *cfg;
	struct reg *reg;
	struct reg_settings set;
	struct sa addr; /* the stack's socket */
	int phone;	/* raw UDP socket */
	struct sa phone_addr;
	uint16_t phone_port;
	char dbpath[64];
	int cseq;
	int noptions; /* OPTIONS that reached the stack's own handler */
};

static struct fx fx;

static const char sipconf[] = "[general]\n"
			      "realm=mikaka\n"
			      "minexpiry=60\n"
			      "maxexpiry=3600\n"
			      "defaultexpiry=120\n"
			      "[801]\n"
			      "type=friend\n"
			      "host=dynamic\n"
			      "secret=pw801\n"
			      "[802]\n"
			      "type=friend\n"
			      "host=dynamic\n"
			      /* md5("802:mikaka:pw802") */
			      "md5secret=%s\n"
			      "[803]\n"
			      "type=friend\n"
			      "host=dynamic\n"
			      "secret=pw803\n"
			      "deny=0.0.0.0/0\n"
			      "permit=10.0.0.0/8\n"
			      "%s";

static void request_h(struct sip_stack *stack, struct sip_strans *st, const struct sip_msg *msg,
		      void *arg)
{
	(void)stack;
	(void)arg;
	if (!st)
		return;
	if (msg->mid == SIP_METHOD_REGISTER && fx.reg) {
		reg_handle_register(st, msg, fx.reg);
		return;
	}
	if (msg->mid == SIP_METHOD_OPTIONS)
		fx.noptions++;
	sip_strans_reply_stateless(st, 405, "Method Not Allowed", NULL, NULL, NULL);
}

static struct sipcfg *load_cfg(const char *extra)
{
	struct conf_diags diags = {0};
	struct conf *conf = NULL;
	struct sipcfg *cfg = NULL;
	char md5[REG_HASH_HEX_MAX], text[4096];
	struct pl u = PL("802"), r = PL("mikaka"), p = PL("pw802");

	reg_digest_ha1(REG_DIGEST_MD5, &u, &r, &p, md5);
	snprintf(text, sizeof(text), sipconf, md5, extra ? extra : "");
	assert_int_equal(conf_load_string(&conf, "sip.conf", text, &diags), 0);
	if (sipcfg_load(&cfg, conf, &diags)) {
		conf_diags_print(&diags);
		fail();
	}
	conf_free(conf);
	conf_diags_reset(&diags);
	return cfg;
}

static void fx_start_reg(const char *extra)
{
	fx.cfg = load_cfg(extra);
	assert_int_equal(reg_alloc(&fx.reg, fx.loop, fx.stack, fx.store, fx.cfg, &fx.set), 0);
}

static int setup_with(const char *extra, bool store)
{
	struct sip_stack_config cfg = {0};
	struct sa any;
	socklen_t len;

	memset(&fx, 0, sizeof(fx));
	fake_now = T0;
	log_set_level(LOG_WARN);
	assert_int_equal(loop_alloc(&fx.loop), 0);
	loop_clock_set(fx.loop, fake_clock, NULL);
	assert_int_equal(sip_stack_alloc(&fx.stack, fx.loop, &cfg, request_h, NULL), 0);
	sa_set_str(&any, "127.0.0.1", 0);
	assert_int_equal(sip_transp_listen(sip_stack_transp(fx.stack), SIP_TP_UDP, &any, 0), 0);
	assert_int_equal(sip_transp_bound(sip_stack_transp(fx.stack), SIP_TP_UDP, 0, &fx.addr), 0);

	fx.phone = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fx.phone >= 0);
	sa_set_str(&fx.phone_addr, "127.0.0.1", 0);
	assert_int_equal(bind(fx.phone, &fx.phone_addr.u.sa, fx.phone_addr.len), 0);
	len = sizeof(fx.phone_addr.u);
	getsockname(fx.phone, &fx.phone_addr.u.sa, &len);
	fx.phone_addr.len = len;
	fx.phone_port = sa_port(&fx.phone_addr);
	if (store) {
		snprintf(fx.dbpath, sizeof(fx.dbpath), "/tmp/test_reg_proto.%d.db", (int)getpid());
		unlink(fx.dbpath);
		assert_int_equal(store_open(&fx.store, fx.loop, fx.dbpath), 0);
	}
	reg_settings_default(&fx.set);
	fx.set.digest.nonce_lifetime = 30;
	fx.set.ban_failures = 5;
	fx_start_reg(extra);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_with(NULL, false);
}

/* digest_algorithms = md5, sha-256 (the opt-in). */
static int setup_sha256(void **state)
{
	(void)state;
	setup_with(NULL, false);
	fx.set.digest.algorithms = REG_ALG_MD5 | REG_ALG_SHA256;
	assert_int_equal(reg_reconfigure(fx.reg, fx.cfg, &fx.set), 0);
	return 0;
}

static int setup_store(void **state)
{
	(void)state;
	return setup_with(NULL, true);
}

static int teardown(void **state)
{
	(void)state;
	reg_free(fx.reg);
	fx.reg = NULL;
	sip_stack_free(fx.stack);
	store_close(fx.store);
	loop_free(fx.loop);
	mem_deref(fx.cfg);
	close(fx.phone);
	if (fx.dbpath[0]) {
		char p[80];

		unlink(fx.dbpath);
		snprintf(p, sizeof(p), "%s-wal", fx.dbpath);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", fx.dbpath);
		unlink(p);
	}
	return 0;
}

/* Moves the fake clock and fires what is due. */
static void advance(uint64_t ms)
{
	fake_now += ms;
	loop_timers_run(fx.loop);
	loop_run_once(fx.loop, 0);
}

static void phone_send(const char *text)
{
	ssize_t n = sendto(fx.phone, text, strlen(text), 0, &fx.addr.u.sa, fx.addr.len);

	assert_int_equal(n, (ssize_t)strlen(text));
}

/* Runs the loop until the phone socket has a datagram (bounded); parses it. */
static struct sip_msg *phone_recv(void)
{
	char buf[8192];
	struct sip_parse_error perr;
	struct sip_msg *msg = NULL;
	size_t used;

	for (int i = 0; i < 200; i++) {
		ssize_t n = recv(fx.phone, buf, sizeof(buf), 0);

		if (n > 0) {
			assert_int_equal(sip_msg_parse(&msg, buf, (size_t)n, true, &used, &perr),
					 0);
			return msg;
		}
		loop_run_once(fx.loop, 5);
	}
	return NULL;
}

/* One look at the phone socket without waiting in real time (the fake clock drives timers). */
static struct sip_msg *phone_try_recv(void)
{
	char buf[8192];
	struct sip_parse_error perr;
	struct sip_msg *msg = NULL;
	size_t used;
	ssize_t n;

	loop_run_once(fx.loop, 0);
	n = recv(fx.phone, buf, sizeof(buf), 0);
	if (n <= 0)
		return NULL;
	assert_int_equal(sip_msg_parse(&msg, buf, (size_t)n, true, &used, &perr), 0);
	return msg;
}

static bool phone_silent(void)
{
	char buf[2048];

	for (int i = 0; i < 10; i++)
		loop_run_once(fx.loop, 2);
	return recv(fx.phone, buf, sizeof(buf), 0) < 0;
}

struct regreq {
	const char *user;    /* To/From user */
	const char *call_id; /* default "cid-1" */
	int cseq;	     /* 0: next */
	const char *contact; /* full Contact header value; NULL: <sip:USER@127.0.0.1:PORT> */
	const char *expires; /* Expires header value or NULL */
	const char *auth;    /* Authorization value or NULL */
	const char *extra;   /* more header lines */
};

static void send_register(const struct regreq *r)
{
	char text[16384], contact[256];

	if (!r->contact)
		snprintf(contact, sizeof(contact), "<sip:%s@127.0.0.1:%u>", r->user, fx.phone_port);
	snprintf(text, sizeof(text),
		 "REGISTER sip:127.0.0.1 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-%d-%u;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:%s@127.0.0.1>;tag=ft%d\r\n"
		 "To: <sip:%s@127.0.0.1>\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %d REGISTER\r\n"
		 "%s%s%s"
		 "%s%s%s"
		 "%s%s%s"
		 "User-Agent: unit-phone\r\n"
		 "%s"
		 "Content-Length: 0\r\n\r\n",
		 fx.phone_port, fx.cseq, (unsigned)rand(), r->user, fx.cseq, r->user,
		 r->call_id ? r->call_id : "cid-1", r->cseq ? r->cseq : fx.cseq + 1,
		 "Contact: ", r->contact ? r->contact : contact, "\r\n",
		 r->expires ? "Expires: " : "", r->expires ? r->expires : "",
		 r->expires ? "\r\n" : "", r->auth ? "Authorization: " : "", r->auth ? r->auth : "",
		 r->auth ? "\r\n" : "", r->extra ? r->extra : "");
	fx.cseq = r->cseq ? r->cseq : fx.cseq + 1;
	phone_send(text);
}

/* The challenge of algorithm alg in a 401: its nonce (and stale flag). */
static bool challenge_nonce(const struct sip_msg *m, enum reg_alg alg, char *nonce, size_t size,
			    bool *stale)
{
	for (size_t i = 0; i < m->nhdrs; i++) {
		struct reg_auth a;
		enum reg_alg x;

		if (m->hdrs[i].id != SIP_HDR_WWW_AUTHENTICATE ||
		    reg_auth_parse(&a, &m->hdrs[i].value) || reg_alg_from(&a.algorithm, &x) ||
		    x != alg)
			continue;
		assert_true(pl_eq_str(&a.qop, "auth"));
		assert_true(pl_eq_str(&a.realm, "mikaka"));
		pl_strcpy(&a.nonce, nonce, size);
		if (stale)
			*stale = pl_isset(&a.stale) && pl_eq_str(&a.stale, "true");
		return true;
	}
	return false;
}

static void make_auth(char *out, size_t size, enum reg_alg alg, const char *user,
		      const char *password, const char *nonce, unsigned nc)
{
	char ha1[REG_HASH_HEX_MAX], resp[REG_HASH_HEX_MAX], ncs[9];
	struct pl u = pl_from_str(user), r = PL("mikaka"), p = pl_from_str(password);
	struct pl n = pl_from_str(nonce), pnc, cn = PL("c0ffee"), q = PL("auth");
	struct pl m = PL("REGISTER"), uri = PL("sip:127.0.0.1");

	snprintf(ncs, sizeof(ncs), "%08x", nc);
	pnc = pl_from_str(ncs);
	reg_digest_ha1(alg, &u, &r, &p, ha1);
	reg_digest_response(alg, ha1, &n, &pnc, &cn, &q, &m, &uri, resp);
	snprintf(out, size,
		 "Digest username=\"%s\", realm=\"mikaka\", nonce=\"%s\", uri=\"sip:127.0.0.1\", "
		 "response=\"%s\", algorithm=%s, qop=auth, nc=%s, cnonce=\"c0ffee\"",
		 user, nonce, resp, reg_digest_name(alg), ncs);
}

/* Sends a REGISTER without credentials, reads the 401, returns its nonce for alg. */
static void get_nonce(const char *user, enum reg_alg alg, char *nonce, size_t size)
{
	struct regreq r = {.user = user, .expires = "600"};
	struct sip_msg *m;

	send_register(&r);
	m = phone_recv();
	assert_non_null(m);
	assert_int_equal(m->scode, 401);
	assert_true(challenge_nonce(m, alg, nonce, size, NULL));
	mem_deref(m);
}

/* Full registration; returns the final status code. */
static uint16_t do_register(const char *user, const char *password, enum reg_alg alg,
			    const char *expires, const char *contact, struct sip_msg **resp)
{
	char nonce[128], auth[1024];
	struct regreq r = {.user = user, .expires = expires, .contact = contact, .auth = auth};
	struct sip_msg *m;
	uint16_t code;

	get_nonce(user, alg, nonce, sizeof(nonce));
	make_auth(auth, sizeof(auth), alg, user, password, nonce, 1);
	send_register(&r);
	m = phone_recv();
	assert_non_null(m);
	code = m->scode;
	if (resp)
		*resp = m;
	else
		mem_deref(m);
	return code;
}

/* A REGISTER with credentials and extra header lines; the answer's text into buf. */
static void register_raw(const char *user, const char *password, const char *call_id,
			 const char *contact, const char *extra, char *buf, size_t size)
{
	char nonce[128], auth[1024];
	struct regreq r = {.user = user, .call_id = call_id, .expires = "600", .contact = contact,
			   .auth = auth, .extra = extra};
	ssize_t n = -1;

	get_nonce(user, REG_DIGEST_MD5, nonce, sizeof(nonce));
	make_auth(auth, sizeof(auth), REG_DIGEST_MD5, user, password, nonce, 1);
	send_register(&r);
	for (int i = 0; i < 200 && n <= 0; i++) {
		n = recv(fx.phone, buf, size - 1, 0);
		if (n <= 0)
			loop_run_once(fx.loop, 5);
	}
	assert_true(n > 0);
	buf[n] = '\0';
}

/* RFC 5626 §6: a REGISTER with Supported: outbound, +sip.instance and reg-id gets Require:
 * outbound and a Flow-Timer, its Contact echoed with both; without Supported: outbound, reg-id is
 * ignored and no Flow-Timer is given. */
static void test_outbound_flow_timer(void **state)
{
	char buf[4096], contact[256];

	(void)state;
	snprintf(contact, sizeof(contact),
		 "<sip:801@127.0.0.1:%u>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-0000000000a1>\""
		 ";reg-id=1",
		 fx.phone_port);
	register_raw("801", "pw801", "cid-ob", contact, "Supported: path, outbound\r\n", buf,
		     sizeof(buf));
	assert_non_null(strstr(buf, "SIP/2.0 200 OK"));
	assert_non_null(strstr(buf, "\r\nRequire: outbound\r\n"));
	assert_non_null(strstr(buf, "\r\nFlow-Timer: 120\r\n"));
	assert_non_null(strstr(buf, ";+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-0000000000a1>\""));
	assert_non_null(strstr(buf, ";reg-id=1"));
	/* Same phone, no outbound support: no Flow-Timer, no reg-id. */
	register_raw("801", "pw801", "cid-ob", contact, NULL, buf, sizeof(buf));
	assert_non_null(strstr(buf, "SIP/2.0 200 OK"));
	assert_null(strstr(buf, "Flow-Timer"));
	assert_null(strstr(buf, "reg-id"));
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
}

/* One device (+sip.instance, reg-id) re-registering from a new address with a new Call-ID
 * replaces its binding; another device adds one. */
static void test_instance_replaces(void **state)
{
	static const char inst[] = ";+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-0000000000b2>\"";
	char buf[4096], contact[256];

	(void)state;
	snprintf(contact, sizeof(contact), "<sip:801@192.0.2.10:5060>%s;reg-id=1", inst);
	register_raw("801", "pw801", "cid-a", contact, "Supported: outbound\r\n", buf, sizeof(buf));
	assert_non_null(strstr(buf, "SIP/2.0 200 OK"));
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
	snprintf(contact, sizeof(contact), "<sip:801@198.51.100.7:40000>%s;reg-id=1", inst);
	register_raw("801", "pw801", "cid-b", contact, "Supported: outbound\r\n", buf, sizeof(buf));
	assert_non_null(strstr(buf, "SIP/2.0 200 OK"));
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
	assert_non_null(strstr(buf, "<sip:801@198.51.100.7:40000>"));
	assert_null(strstr(buf, "192.0.2.10"));
	/* Without outbound the instance alone still names the device. */
	snprintf(contact, sizeof(contact), "<sip:801@203.0.113.9:5070>%s", inst);
	register_raw("801", "pw801", "cid-c", contact, NULL, buf, sizeof(buf));
	snprintf(contact, sizeof(contact), "<sip:801@203.0.113.9:5071>%s", inst);
	register_raw("801", "pw801", "cid-d", contact, NULL, buf, sizeof(buf));
	/* the reg-id=1 flow stays (another flow of that device), the plain one was replaced */
	assert_int_equal(reg_contact_count(fx.reg, "801"), 2);
	/* Another device adds. */
	snprintf(contact, sizeof(contact),
		 "<sip:801@203.0.113.10:5060>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-0000000000c3>\"");
	register_raw("801", "pw801", "cid-e", contact, NULL, buf, sizeof(buf));
	assert_int_equal(reg_contact_count(fx.reg, "801"), 3);
}

/* A closed connection takes its flow's bindings: TLS ones always, TCP ones with a reg-id; not
 * those of another address or transport. */
static void test_flow_closed(void **state)
{
	char buf[4096], contact[256];
	struct reg_aor *aor;
	struct reg_contact *c;
	struct sa other = fx.phone_addr;

	(void)state;
	snprintf(contact, sizeof(contact), "<sip:801@127.0.0.1:%u>", fx.phone_port);
	register_raw("801", "pw801", "cid-f", contact, NULL, buf, sizeof(buf));
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
	aor = reg_aor_find(fx.reg, "801");
	c = aor->contacts.head->data;
	/* (The test's phone speaks UDP: the binding is made to look like one over TCP.) */
	c->tp = SIP_TP_TCP;
	reg_flow_closed(SIP_TP_TCP, &fx.phone_addr, fx.reg);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1); /* TCP without reg-id: kept */
	c->tp = SIP_TP_TLS;
	sa_set_port(&other, (uint16_t)(fx.phone_port + 1));
	reg_flow_closed(SIP_TP_TLS, &other, fx.reg);
	reg_flow_closed(SIP_TP_TCP, &fx.phone_addr, fx.reg);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
	reg_flow_closed(SIP_TP_TLS, &fx.phone_addr, fx.reg);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 0);
	/* A TCP flow with a reg-id goes. */
	snprintf(contact, sizeof(contact),
		 "<sip:801@127.0.0.1:%u>;+sip.instance=\"<urn:uuid:1>\";reg-id=2", fx.phone_port);
	register_raw("801", "pw801", "cid-g", contact, "Supported: outbound\r\n", buf, sizeof(buf));
	c = reg_aor_find(fx.reg, "801")->contacts.head->data;
	assert_int_equal(c->reg_id, 2);
	c->tp = SIP_TP_TCP;
	reg_flow_closed(SIP_TP_TCP, &fx.phone_addr, fx.reg);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 0);
}

static unsigned count_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	return (unsigned)sip_msg_hdr_count(m, id);
}

/* ---------------------------------------------------------------------------------------------
 */
/* The default challenge: MD5 alone (Debian 12's baresip gives up on any SHA-256 challenge;
 * Twinkle keeps only the last challenge and knows only MD5). */
static void test_challenge_default_md5_only(void **state)
{
	struct regreq r = {.user = "801", .expires = "600"};
	struct sip_msg *m;
	char n1[128];

	(void)state;
	send_register(&r);
	m = phone_recv();
	assert_non_null(m);
	assert_int_equal(m->scode, 401);
	assert_int_equal(count_hdr(m, SIP_HDR_WWW_AUTHENTICATE), 1);
	assert_true(challenge_nonce(m, REG_DIGEST_MD5, n1, sizeof(n1), NULL));
	assert_false(challenge_nonce(m, REG_DIGEST_SHA256, n1, sizeof(n1), NULL));
	mem_deref(m);
	/* SHA-256 credentials are not taken when SHA-256 is not offered. */
	{
		char auth[1024];
		struct regreq q = {.user = "801", .expires = "600", .auth = auth};

		make_auth(auth, sizeof(auth), REG_DIGEST_SHA256, "801", "pw801", n1, 1);
		send_register(&q);
		m = phone_recv();
		assert_non_null(m);
		assert_int_equal(m->scode, 400);
		mem_deref(m);
	}
	assert_int_equal(reg_binding_count(fx.reg), 0);
}

/* liblinphone answers a 401 with credentials for each challenge it understood, SHA-256 first:
 * the first in an algorithm we offer is judged (before: 400 for two credentials). */
static void test_register_several_credentials(void **state)
{
	char nonce[128], a1[1024], a2[1024], extra[1200];
	struct regreq r = {.user = "801", .expires = "600", .auth = a1, .extra = extra};
	struct sip_msg *m;

	(void)state;
	get_nonce("801", REG_DIGEST_MD5, nonce, sizeof(nonce));
	make_auth(a1, sizeof(a1), REG_DIGEST_SHA256, "801", "wrong", nonce, 1);
	make_auth(a2, sizeof(a2), REG_DIGEST_MD5, "801", "pw801", nonce, 1);
	snprintf(extra, sizeof(extra), "Authorization: %s\r\n", a2);
	send_register(&r);
	m = phone_recv();
	assert_non_null(m);
	assert_int_equal(m->scode, 200); /* MD5 only offered: the SHA-256 one is skipped */
	mem_deref(m);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
}

/* With SHA-256 offered too, the first credentials (SHA-256) are the ones judged. */
static void test_register_several_credentials_sha256(void **state)
{
	char nonce[128], a1[1024], a2[1024], extra[1200];
	struct regreq r = {.user = "801", .expires = "600", .auth = a1, .extra = extra};
	struct sip_msg *m;

	(void)state;
	get_nonce("801", REG_DIGEST_SHA256, nonce, sizeof(nonce));
	make_auth(a1, sizeof(a1), REG_DIGEST_SHA256, "801", "pw801", nonce, 1);
	make_auth(a2, sizeof(a2), REG_DIGEST_MD5, "801", "wrong", nonce, 1);
	snprintf(extra, sizeof(extra), "Authorization: %s\r\n", a2);
	send_register(&r);
	m = phone_recv();
	assert_non_null(m);
	assert_int_equal(m->scode, 200);
	mem_deref(m);
	/* And a wrong first one is refused even when a right MD5 one follows. */
	get_nonce("801", REG_DIGEST_SHA256, nonce, sizeof(nonce));
	make_auth(a1, sizeof(a1), REG_DIGEST_SHA256, "801", "wrong", nonce, 1);
	make_auth(a2, sizeof(a2), REG_DIGEST_MD5, "801", "pw801", nonce, 1);
	snprintf(extra, sizeof(extra), "Authorization: %s\r\n", a2);
	send_register(&r);
	m = phone_recv();
	assert_non_null(m);
	assert_int_equal(m->scode, 403);
	mem_deref(m);
}

static void test_challenge_both_algorithms(void **state)
{
	struct regreq r = {.user = "801", .expires = "600"};
	struct sip_msg *m;
	char n1[128], n2[128];

	(void)state;
	send_register(&r);
	m = phone_recv();
	assert_non_null(m);
	assert_int_equal(m->scode, 401);
	assert_int_equal(count_hdr(m, SIP_HDR_WWW_AUTHENTICATE), 2);
	/* digest_algorithms = md5, sha-256: MD5 first (phones that read one challenge read the
	 * first), then SHA-256; one nonce for both. */
	{
		const struct sip_hdr *h = sip_msg_hdr(m, SIP_HDR_WWW_AUTHENTICATE);
		struct reg_auth a;

		assert_int_equal(reg_auth_parse(&a, &h->value), 0);
		assert_true(pl_eq_str(&a.algorithm, "MD5"));
	}
	assert_true(challenge_nonce(m, REG_DIGEST_MD5, n1, sizeof(n1), NULL));
	assert_true(challenge_nonce(m, REG_DIGEST_SHA256, n2, sizeof(n2), NULL));
	assert_string_equal(n1, n2);
	assert_null(sip_msg_hdr(m, SIP_HDR_CONTACT));
	mem_deref(m);
	/* No GRUU advertised anywhere (RFC 5627 is not offered). */
	assert_int_equal(reg_binding_count(fx.reg), 0);
}

static void test_register_md5_and_sha256(void **state)
{
	struct sip_msg *m;
	struct pl ev;
	struct sip_addr a;
	char contact[128];

	(void)state;
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "600", NULL, &m), 200);
	assert_int_equal(count_hdr(m, SIP_HDR_CONTACT), 1);
	assert_int_equal(sip_addr_decode(&a, &sip_msg_hdr(m, SIP_HDR_CONTACT)->value), 0);
	assert_int_equal(sip_param_get(&a.params, "expires", &ev), 0);
	assert_true(pl_eq_str(&ev, "600"));
	assert_false(sip_param_exists(&a.params, "pub-gruu"));
	assert_null(sip_msg_xhdr(m, "Supported"));
	mem_deref(m);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);

	/* A second device (laptop) of the same person, SHA-256, its own Call-ID. */
	snprintf(contact, sizeof(contact), "<sip:801@127.0.0.1:%u;transport=udp;ob>",
		 fx.phone_port);
	{
		char nonce[128], auth[1024];
		struct regreq r = {.user = "801",
				   .expires = "300",
				   .contact = contact,
				   .auth = auth,
				   .call_id = "laptop"};

		get_nonce("801", REG_DIGEST_SHA256, nonce, sizeof(nonce));
		make_auth(auth, sizeof(auth), REG_DIGEST_SHA256, "801", "pw801", nonce, 1);
		send_register(&r);
		m = phone_recv();
		assert_non_null(m);
		assert_int_equal(m->scode, 200);
		assert_int_equal(count_hdr(m, SIP_HDR_CONTACT), 2);
		mem_deref(m);
	}
	assert_int_equal(reg_contact_count(fx.reg, "801"), 2);
	assert_int_equal(reg_binding_count(fx.reg), 2);

	/* md5secret peer. */
	assert_int_equal(do_register("802", "pw802", REG_DIGEST_MD5, "600", NULL, NULL), 200);
	assert_int_equal(reg_contact_count(fx.reg, "802"), 1);
}

static int collect_h(const struct reg_contact_info *ci, void *arg)
{
	struct reg_contact_info *out = arg;

	*out = *ci;
	return 1;
}

static void test_live_state_and_contacts(void **state)
{
	struct reg_contact_info ci;
	struct peer_live live;
	struct mbuf mb;
	char buf[SA_STRLEN];

	(void)state;
	/* The Contact names another address than the packet came from: NAT. */
	assert_int_equal(
	    do_register("801", "pw801", REG_DIGEST_MD5, "600", "<sip:801@10.0.0.99:5062>", NULL),
	    200);
	assert_int_equal(reg_contacts(fx.reg, "801", collect_h, &ci), 1);
	assert_string_equal(ci.uri, "sip:801@10.0.0.99:5062");
	assert_true(sa_eq(&ci.source, &fx.phone_addr)); /* calls go to the source */
	assert_true(sa_eq_addr(&ci.local, &fx.addr));
	assert_int_equal(ci.tp, SIP_TP_UDP);
	assert_string_equal(ci.user_agent, "unit-phone");
	assert_int_equal(reg_contacts(fx.reg, "802", collect_h, &ci), ENOENT);

	memset(&live, 0, sizeof(live));
	reg_peer_state(peer_find(fx.cfg, "801"), &live, fx.reg);
	assert_string_equal(sa_fmt(&live.addr, buf, sizeof(buf)),
			    sa_fmt(&fx.phone_addr, (char[SA_STRLEN]){0}, SA_STRLEN));
	assert_string_equal(live.contact, "sip:801@10.0.0.99:5062");
	assert_true(live.nat);

	mbuf_init(&mb);
	assert_int_equal(sipcfg_show_peers(fx.cfg, &mb, reg_peer_state, fx.reg), 0);
	mbuf_write(&mb, "", 1);
	assert_non_null(strstr((char *)mb.buf, "801/801"));
	assert_non_null(strstr((char *)mb.buf, "127.0.0.1"));
	mbuf_reset(&mb);
}

/* Responses to an unknown user and to a wrong password: same status, reason and header names. */
static void test_alwaysauthreject(void **state)
{
	struct sip_msg *a, *b;

	(void)state;
	assert_int_equal(do_register("801", "wrong", REG_DIGEST_MD5, "600", NULL, &a), 403);
	assert_int_equal(do_register("999", "whatever", REG_DIGEST_MD5, "600", NULL, &b), 403);
	assert_true(pl_cmp(&a->reason, &b->reason) == 0);
	assert_int_equal(a->nhdrs, b->nhdrs);
	for (size_t i = 0; i < a->nhdrs; i++) {
		assert_true(pl_casecmp(&a->hdrs[i].name, &b->hdrs[i].name) == 0);
		if (a->hdrs[i].id == SIP_HDR_SERVER || a->hdrs[i].id == SIP_HDR_CONTENT_LENGTH)
			assert_true(pl_cmp(&a->hdrs[i].value, &b->hdrs[i].value) == 0);
	}
	mem_deref(a);
	mem_deref(b);
	/* The challenges look alike too. */
	{
		struct regreq r1 = {.user = "801"}, r2 = {.user = "nobody"};

		send_register(&r1);
		a = phone_recv();
		send_register(&r2);
		b = phone_recv();
		assert_int_equal(a->scode, 401);
		assert_int_equal(b->scode, 401);
		assert_int_equal(a->nhdrs, b->nhdrs);
		mem_deref(a);
		mem_deref(b);
	}
	/* A user whose digest username differs from the To user. */
	{
		char nonce[128], auth[1024];
		struct regreq r = {.user = "801", .auth = auth};
		struct sip_msg *m;

		get_nonce("801", REG_DIGEST_MD5, nonce, sizeof(nonce));
		make_auth(auth, sizeof(auth), REG_DIGEST_MD5, "802", "pw802", nonce, 1);
		send_register(&r);
		m = phone_recv();
		assert_int_equal(m->scode, 403);
		mem_deref(m);
	}
	assert_int_equal(reg_binding_count(fx.reg), 0);
}

static void test_nonce_expiry_stale(void **state)
{
	char nonce[128], auth[1024], n2[128];
	struct regreq r = {.user = "801", .expires = "600", .auth = auth};
	struct sip_msg *m;
	bool stale = false;

	(void)state;
	get_nonce("801", REG_DIGEST_MD5, nonce, sizeof(nonce));
	advance(31000); /* nonce_lifetime is 30 s */
	make_auth(auth, sizeof(auth), REG_DIGEST_MD5, "801", "pw801", nonce, 1);
	send_register(&r);
	m = phone_recv();
	assert_int_equal(m->scode, 401);
	assert_true(challenge_nonce(m, REG_DIGEST_MD5, n2, sizeof(n2), &stale));
	assert_true(stale);
	assert_string_not_equal(nonce, n2);
	mem_deref(m);
	/* With the fresh nonce it works. */
	make_auth(auth, sizeof(auth), REG_DIGEST_MD5, "801", "pw801", n2, 1);
	send_register(&r);
	m = phone_recv();
	assert_int_equal(m->scode, 200);
	mem_deref(m);
	/* An expired nonce with a wrong password is a failure, not stale. */
	advance(31000);
	make_auth(auth, sizeof(auth), REG_DIGEST_MD5, "801", "bad", n2, 2);
	send_register(&r);
	m = phone_recv();
	assert_int_equal(m->scode, 403);
	mem_deref(m);
}

static void test_nc_replay(void **state)
{
	char nonce[128], auth[1024];
	struct regreq r = {.user = "801", .expires = "600", .auth = auth};
	struct sip_msg *m;
	bool stale = false;
	char tmp[128];
	int cseq;

	(void)state;
	get_nonce("801", REG_DIGEST_MD5, nonce, sizeof(nonce));
	make_auth(auth, sizeof(auth), REG_DIGEST_MD5, "801", "pw801", nonce, 1);
	send_register(&r);
	m = phone_recv();
	assert_int_equal(m->scode, 200);
	mem_deref(m);
	cseq = fx.cseq;

	/* The same request again (a lost 200): answered 200 again, nothing changes. */
	r.cseq = cseq;
	send_register(&r);
	m = phone_recv();
	assert_int_equal(m->scode, 200);
	mem_deref(m);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);

	/* nc 1 reused by a new request: a replay. */
	r.cseq = cseq + 5;
	r.expires = "0";
	send_register(&r);
	m = phone_recv();
	assert_int_equal(m->scode, 401);
	assert_true(challenge_nonce(m, REG_DIGEST_MD5, tmp, sizeof(tmp), &stale));
	assert_true(stale);
	mem_deref(m);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);

	/* nc 2 on the same nonce is fine (RFC 7616 §3.4.5). */
	make_auth(auth, sizeof(auth), REG_DIGEST_MD5, "801", "pw801", nonce, 2);
	r.cseq = cseq + 6;
	send_register(&r);
	m = phone_recv();
	assert_int_equal(m->scode, 200);
	assert_int_equal(count_hdr(m, SIP_HDR_CONTACT), 0);
	mem_deref(m);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 0);
}

static void test_contact_expiry(void **state)
{
	(void)state;
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "60", NULL, NULL), 200);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
	advance(59000);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
	advance(1000);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 0);
	assert_int_equal(loop_timer_count(fx.loop), 1); /* only the ban purge timer */
}

static void test_expires_rules(void **state)
{
	struct sip_msg *m;
	const struct sip_hdr *h;
	struct sip_addr a;
	struct pl ev;

	(void)state;
	/* minexpiry: 423 with Min-Expires. */
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "30", NULL, &m), 423);
	h = sip_msg_hdr(m, SIP_HDR_MIN_EXPIRES);
	assert_non_null(h);
	assert_true(pl_eq_str(&h->value, "60"));
	mem_deref(m);
	/* Not a number: 400. */
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "-1", NULL, NULL), 400);
	/* Huge: the maximum. */
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "99999999999", NULL, &m), 200);
	assert_int_equal(sip_addr_decode(&a, &sip_msg_hdr(m, SIP_HDR_CONTACT)->value), 0);
	assert_int_equal(sip_param_get(&a.params, "expires", &ev), 0);
	assert_true(pl_eq_str(&ev, "3600"));
	mem_deref(m);
	/* The contact's expires parameter wins over the header. */
	{
		char contact[128];

		snprintf(contact, sizeof(contact), "<sip:801@127.0.0.1:%u>;expires=200",
			 fx.phone_port);
		assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "600", contact, &m),
				 200);
		assert_int_equal(sip_addr_decode(&a, &sip_msg_hdr(m, SIP_HDR_CONTACT)->value), 0);
		assert_int_equal(sip_param_get(&a.params, "expires", &ev), 0);
		assert_true(pl_eq_str(&ev, "200"));
		mem_deref(m);
	}
	/* No Expires at all: defaultexpiry. */
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, NULL, NULL, &m), 200);
	assert_int_equal(sip_addr_decode(&a, &sip_msg_hdr(m, SIP_HDR_CONTACT)->value), 0);
	assert_int_equal(sip_param_get(&a.params, "expires", &ev), 0);
	assert_true(pl_eq_str(&ev, "120"));
	mem_deref(m);
}

static void test_wildcard(void **state)
{
	char contact[128];

	(void)state;
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "600", NULL, NULL), 200);
	snprintf(contact, sizeof(contact), "<sip:801@127.0.0.2:5060>");
	{
		char nonce[128], auth[1024];
		struct regreq r = {.user = "801",
				   .expires = "600",
				   .contact = contact,
				   .auth = auth,
				   .call_id = "other"};
		struct sip_msg *m;

		get_nonce("801", REG_DIGEST_MD5, nonce, sizeof(nonce));
		make_auth(auth, sizeof(auth), REG_DIGEST_MD5, "801", "pw801", nonce, 1);
		send_register(&r);
		m = phone_recv();
		assert_int_equal(m->scode, 200);
		mem_deref(m);
	}
	assert_int_equal(reg_contact_count(fx.reg, "801"), 2);
	/* "*" needs Expires: 0. */
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "600", "*", NULL), 400);
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, NULL, "*", NULL), 400);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 2);
	/* "*" with another contact: 400. */
	assert_int_equal(
	    do_register("801", "pw801", REG_DIGEST_MD5, "0", "*, <sip:a@127.0.0.1>", NULL), 400);
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "0", "*", NULL), 200);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 0);
}

static void test_many_contacts(void **state)
{
	char contacts[8192];
	size_t n = 0;

	(void)state;
	/* 100 URIs in one REGISTER: refused, nothing bound. */
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(contacts + n, sizeof(contacts) - n,
				      "%s<sip:801@127.0.0.1:%d>", i ? ", " : "", 10000 + i);
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "600", contacts, NULL), 403);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 0);
	/* 12 in one: max_contacts (10) kept. */
	n = 0;
	for (int i = 0; i < 12; i++)
		n += (size_t)snprintf(contacts + n, sizeof(contacts) - n,
				      "%s<sip:801@127.0.0.1:%d>", i ? ", " : "", 10000 + i);
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "600", contacts, NULL), 200);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 10);
}

static void test_bad_auth_headers(void **state)
{
	static const char *const bad[] = {
	    /* missing response */
	    "Digest username=\"801\", realm=\"mikaka\", nonce=\"x\", uri=\"sip:127.0.0.1\", "
	    "qop=auth, "
	    "nc=00000001, cnonce=\"a\"",
	    /* duplicated nonce */
	    "Digest username=\"801\", realm=\"mikaka\", nonce=\"x\", nonce=\"y\", uri=\"sip:a\", "
	    "response=\"00\", qop=auth, nc=00000001, cnonce=\"a\"",
	    /* bad nc */
	    "Digest username=\"801\", realm=\"mikaka\", nonce=\"x\", uri=\"sip:a\", "
	    "response=\"00\", "
	    "qop=auth, nc=1, cnonce=\"a\"",
	    /* unknown algorithm */
	    "Digest username=\"801\", realm=\"mikaka\", nonce=\"x\", uri=\"sip:a\", "
	    "response=\"00\", "
	    "qop=auth, nc=00000001, cnonce=\"a\", algorithm=SHA-512-256",
	    /* unterminated */
	    "Digest username=\"801, realm=\"mikaka\"",
	};
	char big[12000];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct regreq r = {.user = "801", .expires = "600", .auth = bad[i]};
		struct sip_msg *m;

		send_register(&r);
		m = phone_recv();
		assert_non_null(m);
		if (m->scode != 400)
			fail_msg("case %zu: %u", i, m->scode);
		mem_deref(m);
	}
	/* A 7 KB nonce (under the parser's 8 KB line limit): 400, not a crash. */
	snprintf(big, sizeof(big),
		 "Digest username=\"801\", realm=\"mikaka\", nonce=\"%07000d\", "
		 "uri=\"sip:a\", response=\"00\", qop=auth, nc=00000001, cnonce=\"a\"",
		 0);
	{
		struct regreq r = {.user = "801", .expires = "600", .auth = big};
		struct sip_msg *m;

		send_register(&r);
		m = phone_recv();
		assert_non_null(m);
		assert_int_equal(m->scode, 400);
		mem_deref(m);
	}
	/* Another realm's credentials only: challenged. */
	{
		struct regreq r = {.user = "801",
				   .auth = "Digest username=\"801\", realm=\"other\", nonce=\"x\", "
					   "uri=\"sip:a\", response=\"00\""};
		struct sip_msg *m;

		send_register(&r);
		m = phone_recv();
		assert_int_equal(m->scode, 401);
		mem_deref(m);
	}
	assert_int_equal(reg_binding_count(fx.reg), 0);
}

static void test_ban(void **state)
{
	struct mbuf mb;
	char ip[SA_STRLEN];

	(void)state;
	/* ban_failures = 5 in this fixture. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(do_register("801", "wrong", REG_DIGEST_MD5, "600", NULL, NULL),
				 403);
	assert_true(reg_is_banned(fx.reg, &fx.phone_addr));
	/* Banned: even the right password gets nothing but 403, and no challenge. */
	{
		struct regreq r = {.user = "801"};
		struct sip_msg *m;

		send_register(&r);
		m = phone_recv();
		assert_int_equal(m->scode, 403);
		mem_deref(m);
	}
	mbuf_init(&mb);
	assert_int_equal(reg_show_bans(fx.reg, &mb), 0);
	mbuf_write(&mb, "", 1);
	assert_non_null(strstr((char *)mb.buf, sa_ntop(&fx.phone_addr, ip, sizeof(ip))));
	assert_non_null(strstr((char *)mb.buf, "1 banned address"));
	mbuf_reset(&mb);
	/* unban */
	assert_int_equal(reg_unban(fx.reg, "not-an-ip"), EINVAL);
	assert_int_equal(reg_unban(fx.reg, ip), 0);
	assert_int_equal(reg_unban(fx.reg, ip), ENOENT);
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "600", NULL, NULL), 200);
	/* The ban also ends by itself. */
	for (int i = 0; i < 5; i++)
		do_register("801", "wrong", REG_DIGEST_MD5, "600", NULL, NULL);
	assert_true(reg_is_banned(fx.reg, &fx.phone_addr));
	advance(900 * 1000);
	assert_false(reg_is_banned(fx.reg, &fx.phone_addr));
}

static void test_acl(void **state)
{
	(void)state;
	/* 803 may register from 10.0.0.0/8 only; the right password from 127.0.0.1 is refused. */
	assert_int_equal(do_register("803", "pw803", REG_DIGEST_MD5, "600", NULL, NULL), 403);
	assert_int_equal(reg_contact_count(fx.reg, "803"), 0);
}

static void test_flood_unknown_no_growth(void **state)
{
	size_t timers;

	(void)state;
	timers = loop_timer_count(fx.loop);
	/* 2000 REGISTERs for unknown users, no credentials: each gets a 401, and nothing stays
	 * behind (stateless answers, no per-user state). */
	for (int i = 0; i < 2000; i++) {
		char user[32];
		struct regreq r = {.user = user};
		struct sip_msg *m;

		snprintf(user, sizeof(user), "u%d", i);
		send_register(&r);
		m = phone_recv();
		assert_non_null(m);
		assert_int_equal(m->scode, 401);
		mem_deref(m);
	}
	advance(1);
	assert_int_equal(sip_stack_strans_count(fx.stack), 0);
	assert_int_equal(loop_timer_count(fx.loop), timers);
	assert_int_equal(fx.reg->aors.count, 0);
	assert_int_equal(reg_bans_count(&fx.reg->bans), 0);
}

static void test_persistence(void **state)
{
	struct reg_contact_info ci;

	(void)state;
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "600", NULL, NULL), 200);
	assert_int_equal(do_register("802", "pw802", REG_DIGEST_MD5, "600", NULL, NULL), 200);
	/* Restart the registrar on the same store: the bindings come back. */
	reg_free(fx.reg);
	fx.reg = NULL;
	assert_int_equal(reg_alloc(&fx.reg, fx.loop, fx.stack, fx.store, fx.cfg, &fx.set), 0);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
	assert_int_equal(reg_contact_count(fx.reg, "802"), 1);
	assert_int_equal(reg_contacts(fx.reg, "801", collect_h, &ci), 1);
	assert_true(sa_eq(&ci.source, &fx.phone_addr));
	assert_string_equal(ci.user_agent, "unit-phone");

	/* A reload without 802: its binding goes, also from the store. */
	{
		struct sipcfg *n;
		struct conf *conf = NULL;
		struct conf_diags d = {0};

		assert_int_equal(conf_load_string(&conf, "sip.conf",
						  "[general]\nrealm=mikaka\n[801]\ntype=friend\n"
						  "host=dynamic\nsecret=pw801\n",
						  &d),
				 0);
		assert_int_equal(sipcfg_load(&n, conf, &d), 0);
		conf_free(conf);
		conf_diags_reset(&d);
		assert_int_equal(reg_reconfigure(fx.reg, n, NULL), 0);
		mem_deref(fx.cfg);
		fx.cfg = n;
	}
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
	assert_int_equal(reg_contact_count(fx.reg, "802"), 0);
	advance(1);
	reg_free(fx.reg);
	fx.reg = NULL;
	assert_int_equal(reg_alloc(&fx.reg, fx.loop, fx.stack, fx.store, fx.cfg, &fx.set), 0);
	assert_int_equal(reg_binding_count(fx.reg), 1);
}

/* ---------------------------------------------------------------------------------------------
 * Qualify.
 */
static void test_qualify(void **state)
{
	struct peer_live live;
	struct sip_msg *m;
	char resp[2048];

	(void)state;
	teardown(NULL);
	setup_with("[804]\ntype=friend\nhost=dynamic\nsecret=pw804\nqualify=yes\nqualifyfreq=30\n",
		   false);
	assert_int_equal(do_register("804", "pw804", REG_DIGEST_MD5, "600", NULL, NULL), 200);
	/* 801 (qualify=no) never gets one. */
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "600", NULL, NULL), 200);
	advance(2300);
	m = phone_recv();
	assert_non_null(m);
	assert_true(m->is_request);
	assert_int_equal(m->mid, SIP_METHOD_OPTIONS);
	assert_true(pl_eq_str(&m->uri.user, "804"));
	/* Answer it 40 ms later. */
	fake_now += 40;
	{
		struct mbuf mb;

		mbuf_init(&mb);
		assert_int_equal(sip_build_response(&mb, m, 200, "OK", "tt", NULL, NULL, NULL), 0);
		snprintf(resp, sizeof(resp), "%.*s", (int)mb.end, (char *)mb.buf);
		mbuf_reset(&mb);
	}
	mem_deref(m);
	phone_send(resp);
	for (int i = 0; i < 20; i++)
		loop_run_once(fx.loop, 5);
	memset(&live, 0, sizeof(live));
	reg_peer_state(peer_find(fx.cfg, "804"), &live, fx.reg);
	assert_int_equal(live.lastms, 40);
	assert_true(phone_silent()); /* no OPTIONS for 801 */
	/* Next round after qualifyfreq; unanswered: UNREACHABLE after timer F. */
	advance(30000);
	m = phone_recv();
	assert_non_null(m);
	assert_int_equal(m->mid, SIP_METHOD_OPTIONS);
	assert_true(pl_eq_str(&m->uri.user, "804"));
	mem_deref(m);
	for (int i = 0; i < 40; i++)
		advance(1000);
	memset(&live, 0, sizeof(live));
	reg_peer_state(peer_find(fx.cfg, "804"), &live, fx.reg);
	assert_true(live.lastms < 0);
	{
		struct mbuf mb;

		mbuf_init(&mb);
		sipcfg_show_peers(fx.cfg, &mb, reg_peer_state, fx.reg);
		mbuf_write(&mb, "", 1);
		assert_non_null(strstr((char *)mb.buf, "UNREACHABLE"));
		mbuf_reset(&mb);
	}
}

/* ---------------------------------------------------------------------------------------------
 * Outbound: the phone socket plays the carrier.
 */
#define carrier_expect_register() carrier_expect_register_at(__LINE__)
static struct sip_msg *carrier_expect_register_at(int line)
{
	struct sip_msg *m = phone_recv();

	if (!m)
		fail_msg("no REGISTER (line %d)", line);

	assert_non_null(m);
	assert_true(m->is_request);
	assert_int_equal(m->mid, SIP_METHOD_REGISTER);
	return m;
}

static void carrier_answer(const struct sip_msg *req, uint16_t code, const char *reason,
			   const char *extra)
{
	struct mbuf mb;

	mbuf_init(&mb);
	assert_int_equal(sip_build_response(&mb, req, code, reason, "srv", extra, NULL, NULL), 0);
	assert_int_equal(sendto(fx.phone, mb.buf, mb.end, 0, &fx.addr.u.sa, fx.addr.len),
			 (ssize_t)mb.end);
	mbuf_reset(&mb);
	for (int i = 0; i < 10; i++)
		loop_run_once(fx.loop, 2);
}

static int setup_ngn(void **state)
{
	char extra[256];

	(void)state;
	/* Asterisk's user@domain@host form; no secret: the NGN shape. */
	memset(&fx, 0, sizeof(fx));
	fx.phone = -1;
	snprintf(extra, sizeof(extra), "\n");
	setup_with(extra, false);
	return 0;
}

static void start_ngn(const char *line, const char *mikakaconf_number)
{
	char extra[512];
	int port = fx.phone_port;

	reg_free(fx.reg);
	fx.reg = NULL;
	mem_deref(fx.cfg);
	if (mikakaconf_number)
		snprintf(fx.set.line_number, sizeof(fx.set.line_number), "%s", mikakaconf_number);
	fx.set.backoff_min = 30;
	snprintf(extra, sizeof(extra), "[nothing]\ntype=peer\nhost=127.0.0.1\nqualify=no\n");
	{
		/* register => goes in [general]: rebuild the whole text. */
		char text[2048];
		struct conf *conf = NULL;
		struct conf_diags d = {0};

		snprintf(text, sizeof(text), "[general]\nrealm=mikaka\nregister => ");
		snprintf(text + strlen(text), sizeof(text) - strlen(text), line, port);
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "\n%s", extra);
		assert_int_equal(conf_load_string(&conf, "sip.conf", text, &d), 0);
		if (sipcfg_load(&fx.cfg, conf, &d)) {
			conf_diags_print(&d);
			fail();
		}
		conf_free(conf);
		conf_diags_reset(&d);
	}
	assert_int_equal(reg_alloc(&fx.reg, fx.loop, fx.stack, NULL, fx.cfg, &fx.set), 0);
	advance(0);
}

static void test_line_register_shape(void **state)
{
	struct sip_msg *m;
	const struct sip_hdr *h;
	char callid[64], ours[SA_STRLEN];
	uint32_t cseq;
	struct mbuf mb;

	(void)state;
	start_ngn("0312345678@ntt-east.ne.jp@127.0.0.1:%d", NULL);
	m = carrier_expect_register();
	/* NGN-NOTES §2.2. */
	assert_true(pl_eq_str(&m->ruri, "sip:ntt-east.ne.jp"));
	assert_true(pl_eq_str(&m->from.auri, "sip:0312345678@ntt-east.ne.jp"));
	assert_true(pl_eq_str(&m->to.auri, "sip:0312345678@ntt-east.ne.jp"));
	assert_true(pl_isset(&m->from.tag));
	assert_false(m->via.rport); /* §2.3 */
	sa_ntop(&fx.addr, ours, sizeof(ours));
	assert_true(pl_eq_str(&m->via.host, ours));
	assert_int_equal(m->via.port, sa_port(&fx.addr));
	assert_null(sip_msg_hdr(m, SIP_HDR_AUTHORIZATION));
	h = sip_msg_hdr(m, SIP_HDR_EXPIRES);
	assert_non_null(h);
	assert_true(pl_eq_str(&h->value, "3600"));
	h = sip_msg_hdr(m, SIP_HDR_ALLOW);
	assert_non_null(h);
	assert_null(strstr(h->value.p, "OPTIONS\r"));
	assert_true(h->value.l == strlen("INVITE, ACK, BYE, CANCEL, PRACK, UPDATE"));
	{
		struct sip_addr c;
		char want[128];

		assert_int_equal(sip_addr_decode(&c, &sip_msg_hdr(m, SIP_HDR_CONTACT)->value), 0);
		snprintf(want, sizeof(want), "sip:0312345678@%s:%u", ours, sa_port(&fx.addr));
		assert_true(pl_eq_str(&c.auri, want));
	}
	assert_int_equal(m->max_forwards, 70);
	pl_strcpy(&m->call_id, callid, sizeof(callid));
	cseq = m->cseq.num;
	/* Granted 10 s in compact form, as the NGN answers: refreshed before 5 s. */
	{
		char extra[256];

		snprintf(extra, sizeof(extra), "m: <sip:0312345678@%s:%u>;expires=10\r\n", ours,
			 sa_port(&fx.addr));
		carrier_answer(m, 200, "OK", extra);
	}
	mem_deref(m);
	mbuf_init(&mb);
	reg_show_registry(fx.reg, &mb);
	mbuf_write(&mb, "", 1);
	assert_non_null(strstr((char *)mb.buf, "Registered"));
	assert_non_null(strstr((char *)mb.buf, "0312345678@n")); /* 12 columns, as Asterisk */
	assert_non_null(strstr((char *)mb.buf, "1 SIP registrations."));
	mbuf_reset(&mb);
	{
		struct sipcfg_reg_live live = {0};
		size_t n;

		reg_registry_state(&sipcfg_registers(fx.cfg, &n)[0], &live, fx.reg);
		assert_string_equal(live.state, "Registered");
		assert_int_equal(live.refresh, 10);
	}
	advance(4000);
	assert_true(phone_silent());
	advance(600);
	m = carrier_expect_register();
	assert_true(pl_eq_str(&m->call_id, callid)); /* same Call-ID ... */
	assert_int_equal(m->cseq.num, cseq + 1);     /* ... CSeq increasing */
	assert_false(m->via.rport);
	mem_deref(m);
	assert_int_equal(fx.noptions, 0);
}

static void test_line_register_backoff(void **state)
{
	struct sip_msg *m;
	struct sipcfg_reg_live live;
	size_t n;

	(void)state;
	start_ngn("0312345678@ntt-east.ne.jp@127.0.0.1:%d", NULL);
	m = carrier_expect_register();
	carrier_answer(m, 403, "Forbidden", NULL);
	mem_deref(m);
	memset(&live, 0, sizeof(live));
	reg_registry_state(&sipcfg_registers(fx.cfg, &n)[0], &live, fx.reg);
	assert_string_equal(live.state, "Rejected");
	/* Back-off: nothing before 30 s, a retry by 30 s + jitter (7.5 s). */
	advance(29000);
	assert_true(phone_silent());
	advance(8600);
	m = carrier_expect_register();
	/* 503 with Retry-After 100: the next try waits 100 s, not 60. */
	carrier_answer(m, 503, "Service Unavailable", "Retry-After: 100\r\n");
	mem_deref(m);
	advance(99000);
	assert_true(phone_silent());
	advance(1500);
	m = carrier_expect_register();
	/* 401 from the line: a provisioning problem, backed off, never answered with credentials.
	 */
	carrier_answer(m, 401, "Unauthorized",
		       "WWW-Authenticate: Digest realm=\"x\", nonce=\"y\", qop=\"auth\"\r\n");
	mem_deref(m);
	memset(&live, 0, sizeof(live));
	reg_registry_state(&sipcfg_registers(fx.cfg, &n)[0], &live, fx.reg);
	assert_string_equal(live.state, "No Authentication");
	/* Third failure: 120 s (+ up to 30 s). */
	advance(119000);
	assert_true(phone_silent());
	advance(31000);
	/* Timeouts recover too: no answer at all. */
	m = carrier_expect_register();
	assert_null(sip_msg_hdr(m, SIP_HDR_AUTHORIZATION));
	mem_deref(m);
	for (int i = 0; i < 40; i++)
		advance(1000);
	memset(&live, 0, sizeof(live));
	reg_registry_state(&sipcfg_registers(fx.cfg, &n)[0], &live, fx.reg);
	assert_string_equal(live.state, "Timeout");
	/* Drain retransmissions, then the recovery: 200 makes it Registered. */
	while (recv(fx.phone, (char[4096]){0}, 4096, 0) > 0)
		;
	for (int i = 0; i < 2000 && !(m = phone_try_recv()); i++)
		advance(1000);
	assert_non_null(m);
	carrier_answer(m, 200, "OK", "Expires: 3600\r\n");
	mem_deref(m);
	memset(&live, 0, sizeof(live));
	reg_registry_state(&sipcfg_registers(fx.cfg, &n)[0], &live, fx.reg);
	assert_string_equal(live.state, "Registered");
	assert_int_equal(live.refresh, 3600);
}

static void test_line_210value(void **state)
{
	struct sip_msg *m;

	(void)state;
	/* The post's literal line: the configured number replaces the placeholder user. */
	start_ngn("210VALUE@ntt-east.ne.jp@127.0.0.1:%d/210VALUE", "0312345678");
	m = carrier_expect_register();
	assert_true(pl_eq_str(&m->from.auri, "sip:0312345678@ntt-east.ne.jp"));
	{
		struct sip_addr c;

		assert_int_equal(sip_addr_decode(&c, &sip_msg_hdr(m, SIP_HDR_CONTACT)->value), 0);
		assert_true(pl_eq_str(&c.uri.user, "0312345678"));
	}
	mem_deref(m);
}

static void test_line_discovery(void **state)
{
	struct sip_msg *m;
	struct sa server, local;
	char callid[64];
	struct mbuf mb;

	(void)state;
	/* No register => at all: discovery alone registers the line. */
	reg_free(fx.reg);
	fx.reg = NULL;
	assert_int_equal(reg_alloc(&fx.reg, fx.loop, fx.stack, NULL, fx.cfg, &fx.set), 0);
	server = fx.phone_addr;
	local = fx.addr;
	reg_line_changed(fx.reg, "0398765432", "ntt-west.ne.jp", &server, &local);
	advance(0);
	m = carrier_expect_register();
	assert_true(pl_eq_str(&m->ruri, "sip:ntt-west.ne.jp"));
	assert_true(pl_eq_str(&m->from.auri, "sip:0398765432@ntt-west.ne.jp"));
	assert_false(m->via.rport);
	pl_strcpy(&m->call_id, callid, sizeof(callid));
	carrier_answer(m, 200, "OK", "Expires: 3600\r\n");
	mem_deref(m);
	mbuf_init(&mb);
	reg_show_registry(fx.reg, &mb);
	mbuf_write(&mb, "", 1);
	assert_non_null(strstr((char *)mb.buf, "0398765432@n"));
	assert_non_null(strstr((char *)mb.buf, "Registered"));
	mbuf_reset(&mb);
	/* The same values again: nothing is sent. */
	reg_line_changed(fx.reg, "0398765432", "ntt-west.ne.jp", &server, &local);
	advance(0);
	assert_true(phone_silent());
	/* The number changes: a new registration at once, with a new Call-ID. */
	reg_line_changed(fx.reg, "0311112222", "ntt-west.ne.jp", &server, &local);
	advance(0);
	m = carrier_expect_register();
	assert_true(pl_eq_str(&m->from.auri, "sip:0311112222@ntt-west.ne.jp"));
	assert_false(pl_eq_str(&m->call_id, callid));
	mem_deref(m);
	/* Lost: it stops (the abandoned transaction retransmits until timer F). */
	reg_line_changed(fx.reg, NULL, NULL, NULL, NULL);
	for (int i = 0; i < 40; i++)
		advance(1000);
	while (recv(fx.phone, (char[4096]){0}, 4096, 0) > 0)
		;
	for (int i = 0; i < 100; i++)
		advance(1000);
	assert_true(phone_silent());
	mbuf_init(&mb);
	reg_show_registry(fx.reg, &mb);
	mbuf_write(&mb, "", 1);
	assert_non_null(strstr((char *)mb.buf, "0 SIP registrations."));
	mbuf_reset(&mb);
}

static void test_trunk_digest(void **state)
{
	struct sip_msg *m;
	const struct sip_hdr *h;
	struct reg_auth a;
	char ha1[REG_HASH_HEX_MAX], expect[REG_HASH_HEX_MAX];

	(void)state;
	start_ngn("trunkuser@itsp.example:s3cret:authname@127.0.0.1:%d", NULL);
	m = carrier_expect_register();
	assert_true(m->via.rport); /* an ITSP gets rport as usual */
	assert_true(pl_eq_str(&m->ruri, "sip:itsp.example"));
	assert_null(sip_msg_hdr(m, SIP_HDR_AUTHORIZATION));
	carrier_answer(m, 401, "Unauthorized",
		       "WWW-Authenticate: Digest realm=\"itsp\", nonce=\"n0nce\", qop=\"auth\", "
		       "algorithm=MD5, opaque=\"op\"\r\n");
	mem_deref(m);
	m = carrier_expect_register();
	h = sip_msg_hdr(m, SIP_HDR_AUTHORIZATION);
	assert_non_null(h);
	assert_int_equal(reg_auth_parse(&a, &h->value), 0);
	assert_true(pl_eq_str(&a.username, "authname"));
	assert_true(pl_eq_str(&a.opaque, "op"));
	assert_true(pl_eq_str(&a.nc, "00000001"));
	{
		struct pl u = PL("authname"), r = PL("itsp"), p = PL("s3cret"),
			  meth = PL("REGISTER");

		reg_digest_ha1(REG_DIGEST_MD5, &u, &r, &p, ha1);
		reg_digest_response(REG_DIGEST_MD5, ha1, &a.nonce, &a.nc, &a.cnonce, &a.qop, &meth,
				    &a.uri, expect);
		assert_true(pl_eq_str(&a.response, expect));
	}
	/* The same credentials refused again: Rejected, backed off (no loop). */
	carrier_answer(
	    m, 401, "Unauthorized",
	    "WWW-Authenticate: Digest realm=\"itsp\", nonce=\"n0nce2\", qop=\"auth\"\r\n");
	mem_deref(m);
	assert_true(phone_silent());
	{
		struct sipcfg_reg_live live = {0};
		size_t n;

		reg_registry_state(&sipcfg_registers(fx.cfg, &n)[0], &live, fx.reg);
		assert_string_equal(live.state, "Rejected");
	}
}

/* A register => host that does not resolve: the line has no server yet, the registration waits
 * ("Failed"), the registrar keeps serving phones and nothing stored is lost; once the name
 * resolves (tried again every 60 s) the line registers at once. */
static const char *resolve_table; /* "NAME=ADDR" or NULL */

static int table_resolve(const char *host, struct sa *out, size_t max, void *arg)
{
	const char *eq = resolve_table ? strchr(resolve_table, '=') : NULL;

	(void)arg;
	if (!eq || !max || strncasecmp(resolve_table, host, (size_t)(eq - resolve_table)) ||
	    host[eq - resolve_table])
		return -ENOENT;
	assert_int_equal(sa_set_str(&out[0], eq + 1, 0), 0);
	return 1;
}

static void test_line_host_resolves_later(void **state)
{
	struct sipcfg *n;
	struct conf *conf = NULL;
	struct conf_diags d = {0};
	struct sipcfg_reg_live live;
	struct sip_msg *m;
	char text[512];
	size_t nr;

	(void)state;
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "600", NULL, NULL), 200);
	resolve_table = NULL;
	fx.set.resolve = table_resolve;
	snprintf(text, sizeof(text),
		 "[general]\nrealm=mikaka\nregister => 0312345678@ntt-east.ne.jp@carrier.example:%u"
		 "/0312345678\n[801]\ntype=friend\nhost=dynamic\nsecret=pw801\n",
		 fx.phone_port);
	assert_int_equal(conf_load_string(&conf, "sip.conf", text, &d), 0);
	assert_int_equal(sipcfg_load(&n, conf, &d), 0);
	conf_free(conf);
	conf_diags_reset(&d);
	assert_int_equal(reg_reconfigure(fx.reg, n, &fx.set), 0);
	mem_deref(fx.cfg);
	fx.cfg = n;
	advance(0);
	assert_true(reg_line(fx.reg)->known);
	assert_false(sa_isset(&reg_line(fx.reg)->server));
	assert_true(phone_silent());
	memset(&live, 0, sizeof(live));
	reg_registry_state(&sipcfg_registers(fx.cfg, &nr)[0], &live, fx.reg);
	assert_string_equal(live.state, "Failed");
	/* Phones are still served; the stored binding is still there. */
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
	assert_int_equal(do_register("801", "pw801", REG_DIGEST_MD5, "600", NULL, NULL), 200);
	/* The name resolves: within the next retry the line registers, to that address. */
	resolve_table = "carrier.example=127.0.0.1";
	advance(60000);
	m = carrier_expect_register();
	assert_true(pl_eq_str(&m->ruri, "sip:ntt-east.ne.jp"));
	assert_false(m->via.rport);
	carrier_answer(m, 200, "OK", "Expires: 3600\r\n");
	mem_deref(m);
	memset(&live, 0, sizeof(live));
	reg_registry_state(&sipcfg_registers(fx.cfg, &nr)[0], &live, fx.reg);
	assert_string_equal(live.state, "Registered");
	assert_true(sa_isset(&reg_line(fx.reg)->server));
	advance(1);
	/* Restarted on the same store: the phone's binding came through all of it. */
	reg_free(fx.reg);
	fx.reg = NULL;
	assert_int_equal(reg_alloc(&fx.reg, fx.loop, fx.stack, fx.store, fx.cfg, &fx.set), 0);
	assert_int_equal(reg_contact_count(fx.reg, "801"), 1);
	resolve_table = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_challenge_default_md5_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_challenge_both_algorithms, setup_sha256, teardown),
	    cmocka_unit_test_setup_teardown(test_register_md5_and_sha256, setup_sha256, teardown),
	    cmocka_unit_test_setup_teardown(test_register_several_credentials, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_several_credentials_sha256, setup_sha256,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_live_state_and_contacts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alwaysauthreject, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nonce_expiry_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nc_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_contact_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expires_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wildcard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_contacts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_outbound_flow_timer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_instance_replaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flow_closed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_auth_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ban, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_acl, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flood_unknown_no_growth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_persistence, setup_store, teardown),
	    cmocka_unit_test_setup_teardown(test_line_host_resolves_later, setup_store, teardown),
	    cmocka_unit_test_setup_teardown(test_qualify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_line_register_shape, setup_ngn, teardown),
	    cmocka_unit_test_setup_teardown(test_line_register_backoff, setup_ngn, teardown),
	    cmocka_unit_test_setup_teardown(test_line_210value, setup_ngn, teardown),
	    cmocka_unit_test_setup_teardown(test_line_discovery, setup_ngn, teardown),
	    cmocka_unit_test_setup_teardown(test_trunk_digest, setup_ngn, teardown),
	};
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests_name("reg_proto", tests, NULL, NULL);
}
