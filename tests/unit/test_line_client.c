/* Unit tests for the line client's state machine on a fake clock with recording I/O: DORA,
 * ARP check and DECLINE, T1/T2/expiry, NAK, back-off, INIT-REBOOT from the state file, changes
 * announced, and replies that must be ignored. */
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

#include "line_int.h"
#include "test_line_util.h"

#define MAXSENT 64

struct sent {
	struct dhcp_pkt pkt;
	uint32_t dst;
	uint64_t at;
};

struct rec {
	struct sent sent[MAXSENT];
	size_t nsent;
	unsigned applies, removes, arps, opens_udp, opens_raw;
	int apply_err;
	struct line_lease applied;
	bool installed;
	unsigned changes[16];
	size_t nchanges;
};

static uint64_t fake_now;
static struct rec *R;

static uint64_t fake_clock(void *arg)
{
	return fake_now;
}

static int f_open(struct line *line, bool udp, struct in_addr addr)
{
	if (udp)
		R->opens_udp++;
	else
		R->opens_raw++;
	return 0;
}

static int f_send(struct line *line, const uint8_t *buf, size_t len, struct in_addr dst)
{
	assert_true(R->nsent < MAXSENT);
	assert_int_equal(dhcp_pkt_decode(&R->sent[R->nsent].pkt, buf, len), 0);
	R->sent[R->nsent].dst = dst.s_addr;
	R->sent[R->nsent].at = fake_now;
	R->nsent++;
	return 0;
}

static int f_apply(struct line *line, const struct line_lease *prev, const struct line_lease *next)
{
	R->applies++;
	if (R->apply_err)
		return R->apply_err;
	R->applied = *next;
	R->installed = true;
	return 0;
}

static void f_remove(struct line *line, const struct line_lease *l)
{
	R->removes++;
	R->installed = false;
}

static int f_arp(struct line *line, struct in_addr addr)
{
	R->arps++;
	return 0;
}

static void f_close(struct line *line)
{
}

static const struct line_ops fake_ops = {f_open, f_send, f_apply, f_remove, f_arp, f_close};

static void change_h(const struct line_info *info, unsigned changes, void *arg)
{
	if (R->nchanges < ARRAY_SIZE(R->changes))
		R->changes[R->nchanges++] = changes;
}

struct fix {
	struct loop *loop;
	struct line *line;
	struct rec rec;
	struct line_config cfg;
	char state_file[64];
};

static struct line *mk_line(struct fix *f)
{
	struct line *line = NULL;

	assert_int_equal(line_alloc_ops(&line, f->loop, &f->cfg, &fake_ops, NULL, change_h, NULL),
			 0);
	line->jitter = false;
	return line;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_int_equal(loop_alloc(&f->loop), 0);
	fake_now = 100000;
	loop_clock_set(f->loop, fake_clock, NULL);
	R = &f->rec;
	snprintf(f->cfg.ifname, sizeof(f->cfg.ifname), "veth-test");
	memcpy(f->cfg.mac, test_mac, 6);
	f->cfg.has_mac = true;
	f->cfg.install = true;
	f->cfg.arp_probe_ms = 200;
	snprintf(f->state_file, sizeof(f->state_file), "/tmp/mikaka-line-state.XXXXXX");
	close(mkstemp(f->state_file));
	unlink(f->state_file);
	snprintf(f->cfg.state_file, sizeof(f->cfg.state_file), "%s", f->state_file);
	f->line = mk_line(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	line_free(f->line);
	assert_int_equal(loop_timer_count(f->loop), 0);
	loop_free(f->loop);
	unlink(f->state_file);
	free(f);
	return 0;
}

static void advance(struct fix *f, uint64_t ms)
{
	/* In steps, so that each timer fires at its own time. */
	uint64_t end = fake_now + ms;

	while (fake_now < end) {
		fake_now = MIN(end, fake_now + 100);
		loop_timers_run(f->loop);
	}
}

static struct sent *last(void)
{
	assert_true(R->nsent > 0);
	return &R->sent[R->nsent - 1];
}

static bool has_opt(const struct dhcp_pkt *p, uint8_t code)
{
	return p->present[code];
}

static void feed(struct fix *f, uint8_t type, uint32_t xid, const char *yiaddr, const uint8_t *opts,
		 size_t n)
{
	uint8_t buf[DHCP_MAX_LEN];
	size_t len = test_reply(buf, type, xid, test_mac, yiaddr, opts, n);

	line_input(f->line, buf, len);
}

/* DISCOVER -> OFFER -> REQUEST -> ACK -> ARP wait -> BOUND */
static void bind_ngn(struct fix *f)
{
	uint32_t xid;

	line_start(f->line);
	assert_int_equal(f->line->info.state, LINE_SELECTING);
	assert_int_equal(last()->pkt.type, DHCP_DISCOVER);
	assert_int_equal(last()->dst, INADDR_BROADCAST);
	assert_int_equal(last()->pkt.flags, 0x8000);
	xid = last()->pkt.xid;
	feed(f, DHCP_OFFER, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	assert_int_equal(f->line->info.state, LINE_REQUESTING);
	assert_int_equal(last()->pkt.type, DHCP_REQUEST);
	assert_int_equal(last()->pkt.xid, xid);
	assert_true(has_opt(&last()->pkt, DHCP_OPT_REQ_ADDR));
	assert_true(has_opt(&last()->pkt, DHCP_OPT_SERVER_ID));
	feed(f, DHCP_ACK, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	assert_int_equal(f->line->info.state, LINE_CHECKING);
	assert_int_equal(R->arps, 1);
	assert_int_equal(R->applies, 0); /* nothing installed before the ARP check */
	advance(f, 200);
	assert_int_equal(f->line->info.state, LINE_BOUND);
	assert_int_equal(R->applies, 1);
	assert_true(R->installed);
}

static void test_dora(void **state)
{
	struct fix *f = *state;
	const struct line_info *info = line_current(f->line);
	struct sa sa;
	char buf[64];

	bind_ngn(f);
	assert_true(info->bound);
	assert_int_equal(info->lease.address.s_addr, test_ip("203.0.113.6"));
	assert_int_equal(R->nchanges, 1);
	assert_int_equal(R->changes[0], LINE_CHG_ADDRESS | LINE_CHG_SERVER | LINE_CHG_NUMBER |
					    LINE_CHG_DOMAIN | LINE_CHG_ROUTES);
	assert_int_equal(R->opens_udp, 1);
	assert_int_equal(line_var(f->line, "LINE_NUMBER", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0312345678");
	assert_int_equal(line_resolve(f->line, "NTT-EAST.ne.jp.", &sa), 0);
	assert_int_equal(sa.u.in.sin_addr.s_addr, test_ip("198.51.100.10"));
	assert_int_equal(line_resolve(f->line, "example.com", &sa), ENOENT);
	/* T1 7200 s, T2 10800 s, expiry 14400 s */
	assert_int_equal(loop_timer_remaining(&f->line->t1), 7200000 - 200);
	assert_int_equal(loop_timer_remaining(&f->line->t2), 10800000 - 200);
	assert_int_equal(loop_timer_remaining(&f->line->expire), 14400000 - 200);
	{
		struct mbuf mb;
		mbuf_init(&mb);
		assert_int_equal(line_show(f->line, &mb), 0);
		mbuf_write(&mb, "", 1);
		assert_non_null(strstr((char *)mb.buf, "BOUND"));
		assert_non_null(strstr((char *)mb.buf, "0312345679"));
		assert_non_null(strstr((char *)mb.buf, "T1 in 7199 s"));
		mbuf_reset(&mb);
	}
}

/* T1: unicast RENEW; T2: broadcast REBIND; expiry: everything removed, DISCOVER again. */
static void test_renew_rebind_expire(void **state)
{
	struct fix *f = *state;
	size_t n;

	bind_ngn(f);
	n = R->nsent;
	advance(f, 7200000 - 200 - 100);
	assert_int_equal(R->nsent, n);
	advance(f, 100);
	assert_int_equal(f->line->info.state, LINE_RENEWING);
	assert_int_equal(R->nsent, n + 1);
	assert_int_equal(last()->pkt.type, DHCP_REQUEST);
	assert_int_equal(last()->dst, test_ip("198.51.100.1"));
	assert_int_equal(last()->pkt.ciaddr.s_addr, test_ip("203.0.113.6"));
	assert_false(has_opt(&last()->pkt, DHCP_OPT_REQ_ADDR));
	assert_false(has_opt(&last()->pkt, DHCP_OPT_SERVER_ID));
	assert_int_equal(last()->pkt.flags, 0);
	/* retransmission: half the time to T2 (1800 s) */
	advance(f, 1800000);
	assert_int_equal(R->nsent, n + 2);
	assert_int_equal(last()->dst, test_ip("198.51.100.1"));
	/* T2 */
	advance(f, 1800000);
	assert_int_equal(f->line->info.state, LINE_REBINDING);
	assert_int_equal(last()->dst, INADDR_BROADCAST);
	assert_int_equal(last()->pkt.ciaddr.s_addr, test_ip("203.0.113.6"));
	n = R->nsent;
	/* expiry at 14400 s: half of 3600 s first */
	advance(f, 1800000);
	assert_int_equal(R->nsent, n + 1);
	assert_int_equal(f->line->info.state, LINE_REBINDING);
	advance(f, 1800000);
	assert_int_equal(R->removes, 1);
	assert_false(R->installed);
	assert_false(line_current(f->line)->bound);
	assert_true(R->changes[R->nchanges - 1] & LINE_CHG_LOST);
	assert_int_equal(f->line->info.state, LINE_SELECTING);
	assert_int_equal(last()->pkt.type, DHCP_DISCOVER);
}

/* A renewal that brings a changed number is announced as a number change only. */
static void test_renew_changed_number(void **state)
{
	struct fix *f = *state;
	uint8_t opts[sizeof(ngn_opts)];
	size_t nch;

	bind_ngn(f);
	advance(f, 7200000);
	assert_int_equal(f->line->info.state, LINE_RENEWING);
	memcpy(opts, ngn_opts, sizeof(opts));
	opts[sizeof(ngn_opts) - 18 - 12 - 1] = '9'; /* last digit of 202 */
	nch = R->nchanges;
	fake_now += 10;
	feed(f, DHCP_ACK, last()->pkt.xid, "203.0.113.6", opts, sizeof(opts));
	assert_int_equal(f->line->info.state, LINE_BOUND);
	assert_int_equal(R->nchanges, nch + 1);
	assert_int_equal(R->changes[nch], LINE_CHG_NUMBER);
	assert_string_equal(line_current(f->line)->lease.numbers[0], "0312345679");
	assert_int_equal(R->arps, 1); /* no new ARP probe on renewal */
	/* T1 counts again from the renewal's REQUEST */
	assert_int_equal(f->line->req_sent_ms, last()->at);
	assert_int_equal(loop_timer_remaining(&f->line->t1),
			 f->line->req_sent_ms + 7200000 - fake_now);
	/* an unchanged renewal announces nothing */
	advance(f, 7200000);
	feed(f, DHCP_ACK, last()->pkt.xid, "203.0.113.6", opts, sizeof(opts));
	assert_int_equal(R->nchanges, nch + 1);
}

static void test_nak(void **state)
{
	struct fix *f = *state;
	uint32_t xid;
	static const uint8_t sid[] = {0x36, 0x04, 0xc6, 0x33, 0x64, 0x01};
	static const uint8_t other_sid[] = {0x36, 0x04, 0xc6, 0x33, 0x64, 0x02};
	size_t n;

	line_start(f->line);
	xid = last()->pkt.xid;
	feed(f, DHCP_OFFER, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	assert_int_equal(f->line->info.state, LINE_REQUESTING);
	/* a NAK from another server is ignored */
	n = R->nsent;
	feed(f, DHCP_NAK, xid, NULL, other_sid, sizeof(other_sid));
	assert_int_equal(f->line->info.state, LINE_REQUESTING);
	assert_int_equal(R->nsent, n);
	/* the first NAK restarts at once */
	feed(f, DHCP_NAK, xid, NULL, sid, sizeof(sid));
	assert_int_equal(f->line->info.state, LINE_SELECTING);
	assert_int_equal(last()->pkt.type, DHCP_DISCOVER);
	assert_int_not_equal(last()->pkt.xid, xid);
	/* a second NAK waits 1 s, a third 2 s */
	xid = last()->pkt.xid;
	feed(f, DHCP_OFFER, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	feed(f, DHCP_NAK, xid, NULL, sid, sizeof(sid));
	assert_int_equal(f->line->info.state, LINE_INIT);
	n = R->nsent;
	advance(f, 900);
	assert_int_equal(R->nsent, n);
	advance(f, 100);
	assert_int_equal(R->nsent, n + 1);
	assert_int_equal(last()->pkt.type, DHCP_DISCOVER);
	xid = last()->pkt.xid;
	feed(f, DHCP_OFFER, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	feed(f, DHCP_NAK, xid, NULL, sid, sizeof(sid));
	advance(f, 1900);
	assert_int_equal(f->line->info.state, LINE_INIT);
	advance(f, 100);
	assert_int_equal(f->line->info.state, LINE_SELECTING);
}

static void test_nak_while_bound(void **state)
{
	struct fix *f = *state;
	static const uint8_t sid[] = {0x36, 0x04, 0xc6, 0x33, 0x64, 0x01};

	bind_ngn(f);
	advance(f, 7200000);
	feed(f, DHCP_NAK, last()->pkt.xid, NULL, sid, sizeof(sid));
	assert_int_equal(R->removes, 1);
	assert_false(line_current(f->line)->bound);
	assert_true(R->changes[R->nchanges - 1] & LINE_CHG_LOST);
	assert_int_equal(f->line->info.state, LINE_SELECTING);
}

/* RFC 2131 §4.1: 4, 8, 16, 32, 64, 64 s. */
static void test_backoff(void **state)
{
	struct fix *f = *state;
	static const uint64_t gaps[] = {4000, 8000, 16000, 32000, 64000, 64000, 64000};

	line_start(f->line);
	for (size_t i = 0; i < ARRAY_SIZE(gaps); i++) {
		size_t n = R->nsent;
		advance(f, gaps[i] - 100);
		assert_int_equal(R->nsent, n);
		advance(f, 100);
		assert_int_equal(R->nsent, n + 1);
		assert_int_equal(last()->pkt.type, DHCP_DISCOVER);
	}
	/* secs counts from the first DISCOVER */
	assert_int_equal(last()->pkt.secs, 4 + 8 + 16 + 32 + 64 * 3);
}

static void test_backoff_jitter(void **state)
{
	struct fix *f = *state;

	f->line->jitter = true;
	line_start(f->line);
	for (int i = 0; i < 5; i++) {
		uint64_t r = loop_timer_remaining(&f->line->retx);
		uint64_t base = 4000ull << i;
		assert_true(r >= base - 1000 && r <= base + 1000);
		advance(f, r);
	}
}

static void test_request_gives_up(void **state)
{
	struct fix *f = *state;
	uint32_t xid;

	line_start(f->line);
	xid = last()->pkt.xid;
	feed(f, DHCP_OFFER, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	advance(f, 4000 + 8000 + 16000 + 32000);
	assert_int_equal(f->line->info.state, LINE_SELECTING);
	assert_int_equal(last()->pkt.type, DHCP_DISCOVER);
	assert_int_equal(R->sent[R->nsent - 2].pkt.type, DHCP_REQUEST);
}

/* Replies that must change nothing. */
static void test_ignored(void **state)
{
	struct fix *f = *state;
	uint8_t buf[DHCP_MAX_LEN], opts[sizeof(ngn_opts)];
	static const uint8_t other_mac[6] = {2, 0, 0, 0, 0, 9};
	uint32_t xid;
	size_t len;

	line_start(f->line);
	xid = last()->pkt.xid;
	/* another xid */
	feed(f, DHCP_OFFER, xid + 1, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	assert_int_equal(f->line->info.state, LINE_SELECTING);
	/* another MAC */
	len =
	    test_reply(buf, DHCP_OFFER, xid, other_mac, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	line_input(f->line, buf, len);
	assert_int_equal(f->line->info.state, LINE_SELECTING);
	/* truncated */
	len = test_reply(buf, DHCP_OFFER, xid, test_mac, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	for (size_t k = 0; k < 250; k++)
		line_input(f->line, buf, k);
	assert_int_equal(f->line->info.state, LINE_SELECTING);
	/* offering 0.0.0.0 */
	feed(f, DHCP_OFFER, xid, "0.0.0.0", ngn_opts, sizeof(ngn_opts));
	assert_int_equal(f->line->info.state, LINE_SELECTING);
	/* a request echoed back (op 1) */
	buf[0] = 1;
	line_input(f->line, buf, len);
	assert_int_equal(f->line->info.state, LINE_SELECTING);
	/* an ACK while selecting */
	feed(f, DHCP_ACK, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	assert_int_equal(f->line->info.state, LINE_SELECTING);
	/* lease time 0 in the OFFER */
	memcpy(opts, ngn_opts, sizeof(opts));
	memset(opts + 14, 0, 4);
	feed(f, DHCP_OFFER, xid, "203.0.113.6", opts, sizeof(opts));
	assert_int_equal(f->line->info.state, LINE_SELECTING);
	/* a good offer, then an ACK with lease time 0: still requesting, nothing installed */
	feed(f, DHCP_OFFER, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	assert_int_equal(f->line->info.state, LINE_REQUESTING);
	feed(f, DHCP_ACK, xid, "203.0.113.6", opts, sizeof(opts));
	assert_int_equal(f->line->info.state, LINE_REQUESTING);
	/* an ACK with a bad option 125: bound, without the number (never half of it) */
	memcpy(opts, ngn_opts, sizeof(opts));
	opts[sizeof(ngn_opts) - 50 - 1] = 0xff; /* enterprise data-len 255 */
	feed(f, DHCP_ACK, xid, "203.0.113.6", opts, sizeof(opts));
	advance(f, 200);
	assert_int_equal(f->line->info.state, LINE_BOUND);
	assert_int_equal(line_current(f->line)->lease.nnumbers, 0);
	assert_string_equal(line_current(f->line)->lease.domain, "");
	assert_int_equal(R->applies, 1);
}

static void test_infinite_lease(void **state)
{
	struct fix *f = *state;
	uint8_t opts[sizeof(ngn_opts)];
	uint32_t xid;

	memcpy(opts, ngn_opts, sizeof(opts));
	memset(opts + 14, 0xff, 4);
	line_start(f->line);
	xid = last()->pkt.xid;
	feed(f, DHCP_OFFER, xid, "203.0.113.6", opts, sizeof(opts));
	feed(f, DHCP_ACK, xid, "203.0.113.6", opts, sizeof(opts));
	advance(f, 200);
	assert_int_equal(f->line->info.state, LINE_BOUND);
	assert_false(loop_timer_active(&f->line->t1));
	assert_false(loop_timer_active(&f->line->expire));
}

static void test_arp_conflict_decline(void **state)
{
	struct fix *f = *state;
	uint32_t xid;

	line_start(f->line);
	xid = last()->pkt.xid;
	feed(f, DHCP_OFFER, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	feed(f, DHCP_ACK, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	assert_int_equal(f->line->info.state, LINE_CHECKING);
	line_arp_conflict(f->line);
	assert_int_equal(last()->pkt.type, DHCP_DECLINE);
	assert_true(has_opt(&last()->pkt, DHCP_OPT_REQ_ADDR));
	assert_true(has_opt(&last()->pkt, DHCP_OPT_SERVER_ID));
	assert_int_equal(R->applies, 0);
	assert_int_equal(f->line->info.state, LINE_INIT);
	advance(f, 9900);
	assert_int_equal(last()->pkt.type, DHCP_DECLINE);
	advance(f, 100);
	assert_int_equal(last()->pkt.type, DHCP_DISCOVER);
}

static void test_apply_failure(void **state)
{
	struct fix *f = *state;
	uint32_t xid;

	R->apply_err = EPERM;
	line_start(f->line);
	xid = last()->pkt.xid;
	feed(f, DHCP_OFFER, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	feed(f, DHCP_ACK, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	advance(f, 200);
	assert_int_equal(R->applies, 1);
	assert_false(line_current(f->line)->bound);
	assert_int_equal(R->nchanges, 0);
	assert_int_equal(f->line->info.state, LINE_INIT);
}

/* The lease is stored; a new client starts with INIT-REBOOT for it, then falls back. */
static void test_init_reboot(void **state)
{
	struct fix *f = *state;
	uint32_t xid;

	bind_ngn(f);
	assert_int_equal(access(f->state_file, R_OK), 0);
	line_free(f->line);
	assert_false(R->installed); /* removed on exit */
	memset(R, 0, sizeof(*R));
	f->line = mk_line(f);
	line_start(f->line);
	assert_int_equal(f->line->info.state, LINE_REBOOTING);
	assert_int_equal(last()->pkt.type, DHCP_REQUEST);
	assert_true(has_opt(&last()->pkt, DHCP_OPT_REQ_ADDR));
	assert_false(has_opt(&last()->pkt, DHCP_OPT_SERVER_ID));
	assert_int_equal(last()->pkt.ciaddr.s_addr, 0);
	xid = last()->pkt.xid;
	feed(f, DHCP_ACK, xid, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	advance(f, 200);
	assert_int_equal(f->line->info.state, LINE_BOUND);
	line_free(f->line);

	/* no answer: three REQUESTs, then DISCOVER */
	memset(R, 0, sizeof(*R));
	f->line = mk_line(f);
	line_start(f->line);
	advance(f, 4000 + 8000 + 16000);
	assert_int_equal(R->nsent, 4);
	assert_int_equal(R->sent[2].pkt.type, DHCP_REQUEST);
	assert_int_equal(last()->pkt.type, DHCP_DISCOVER);

	/* a stored lease for another MAC is not used */
	line_free(f->line);
	memset(R, 0, sizeof(*R));
	f->cfg.mac[5] ^= 1;
	f->line = mk_line(f);
	line_start(f->line);
	assert_int_equal(last()->pkt.type, DHCP_DISCOVER);
}

static void test_keep_on_exit(void **state)
{
	struct fix *f = *state;

	f->line->cfg.keep_on_exit = true;
	bind_ngn(f);
	line_free(f->line);
	f->line = NULL;
	assert_true(R->installed);
	assert_int_equal(R->removes, 0);
}

/* lease_file: values from an external client's lease, re-read when the file changes. */
static void test_lease_file_mode(void **state)
{
	struct fix *f = *state;
	struct line *line = NULL;
	struct line_config cfg = f->cfg;
	char path[] = "/tmp/mikaka-line-lease.XXXXXX", buf[64];
	const char *lease =
	    "ADDRESS=203.0.113.6\nNETMASK=255.255.255.252\nSERVER_ADDRESS=198.51.100.1\n"
	    "LIFETIME=14400\nSIP=198.51.100.10\n";
	FILE *fp;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, lease, strlen(lease)), (ssize_t)strlen(lease));
	close(fd);
	snprintf(cfg.lease_file, sizeof(cfg.lease_file), "%s", path);
	assert_int_equal(line_alloc(&line, f->loop, &cfg, change_h, NULL), 0);
	assert_int_equal(line_current(line)->state, LINE_FILE);
	assert_true(line_current(line)->bound);
	assert_int_equal(R->nchanges, 1);
	assert_int_equal(line_var(line, "LINE_SERVER", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "198.51.100.10");
	/* the external client got another server */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("ADDRESS=203.0.113.6\nNETMASK=255.255.255.252\nSERVER_ADDRESS=198.51.100.1\n"
	      "LIFETIME=14400\nSIP=198.51.100.20\n# changed\n",
	      fp);
	fclose(fp);
	advance(f, 5000);
	assert_int_equal(R->nchanges, 2);
	assert_int_equal(R->changes[1], LINE_CHG_SERVER);
	assert_int_equal(line_var(line, "LINE_SERVER", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "198.51.100.20");
	/* gone: the line is lost */
	unlink(path);
	advance(f, 5000);
	assert_false(line_current(line)->bound);
	assert_true(R->changes[R->nchanges - 1] & LINE_CHG_LOST);
	assert_int_equal(R->nsent, 0); /* no DHCP of our own */
	line_free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dora, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_renew_rebind_expire, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_renew_changed_number, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nak, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nak_while_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backoff_jitter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_gives_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_infinite_lease, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_arp_conflict_decline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_init_reboot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keep_on_exit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_file_mode, setup, teardown),
	};

	log_set_level(LOG_NONE);
	return cmocka_run_group_tests_name("line client", tests, NULL, NULL);
}
