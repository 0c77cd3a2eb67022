/* test_media: the relay's pure parts (RTP/RTCP checks, loss and jitter arithmetic, latching
 * rules, port map, rtp.conf) and the relay itself with real UDP sockets on 127.0.0.x: two fake
 * endpoints through a bridged pair of legs, latching, strictrtp, DSCP, PT renumbering,
 * PCMU<->PCMA, DTMF conversion both ways with spandsp, RTP timeout, bad packets. */
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <spandsp.h>

#include "loop.h"
#include "media.h"
#include "media_int.h"

/* ---------------------------------------------------------------------------------------------
 * Pure parts.
 */
static size_t mkrtp(uint8_t *b, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc,
		    const uint8_t *pl, size_t n)
{
	b[0] = 0x80;
	b[1] = pt;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[4] = (uint8_t)(ts >> 24);
	b[5] = (uint8_t)(ts >> 16);
	b[6] = (uint8_t)(ts >> 8);
	b[7] = (uint8_t)ts;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	if (pl)
		memcpy(b + 12, pl, n);
	else
		memset(b + 12, 0xff, n);
	return 12 + n;
}

static void test_rtp_check(void **state)
{
	uint8_t b[300];
	struct media_rtp h;
	size_t n = mkrtp(b, 0, 7, 160, 0x11223344, NULL, 160);

	assert_int_equal(media_rtp_check(b, n, &h), 0);
	assert_int_equal(h.seq, 7);
	assert_int_equal(h.ts, 160);
	assert_int_equal(h.ssrc, 0x11223344);
	assert_int_equal(h.payload_len, 160);
	assert_int_equal(h.hdr_len, 12);

	/* CSRC count 15 and no payload */
	memset(b, 0, sizeof(b));
	b[0] = 0x8f;
	assert_int_equal(media_rtp_check(b, 12 + 60, &h), EBADMSG);
	assert_int_equal(media_rtp_check(b, 12 + 15 * 4, &h), EBADMSG);
	assert_int_equal(media_rtp_check(b, 12 + 15 * 4 + 1, &h), 0);
	assert_int_equal(h.hdr_len, 72);
	/* version 0 and 1 and 3 */
	n = mkrtp(b, 0, 1, 1, 1, NULL, 20);
	for (int v = 0; v < 4; v++) {
		b[0] = (uint8_t)(v << 6);
		assert_int_equal(media_rtp_check(b, n, &h), v == 2 ? 0 : EBADMSG);
	}
	/* padding that claims more than the packet holds */
	n = mkrtp(b, 0, 1, 1, 1, NULL, 20);
	b[0] |= 0x20;
	b[n - 1] = 200;
	assert_int_equal(media_rtp_check(b, n, &h), EBADMSG);
	b[n - 1] = 0;
	assert_int_equal(media_rtp_check(b, n, &h), EBADMSG);
	b[n - 1] = 20; /* exactly the payload: nothing left */
	assert_int_equal(media_rtp_check(b, n, &h), EBADMSG);
	b[n - 1] = 4;
	assert_int_equal(media_rtp_check(b, n, &h), 0);
	assert_int_equal(h.payload_len, 16);
	/* extension longer than the packet */
	n = mkrtp(b, 0, 1, 1, 1, NULL, 20);
	b[0] |= 0x10;
	b[14] = 0xff;
	b[15] = 0xff;
	assert_int_equal(media_rtp_check(b, n, &h), EBADMSG);
	b[14] = 0;
	b[15] = 1; /* 4 bytes of extension: 12 + 4 + 4, 12 left */
	assert_int_equal(media_rtp_check(b, n, &h), 0);
	assert_int_equal(h.hdr_len, 20);
	/* RTCP types (rtcp-mux) on the RTP port, short packets */
	n = mkrtp(b, 200, 1, 1, 1, NULL, 20);
	assert_int_equal(media_rtp_check(b, n, &h), EBADMSG);
	for (size_t k = 0; k < 12; k++)
		assert_int_equal(media_rtp_check(b, k, &h), EBADMSG);
}

static size_t mkrr(uint8_t *b, uint8_t fraction, int32_t cum, uint32_t jitter)
{
	memset(b, 0, 32);
	b[0] = 0x81; /* V=2, RC=1 */
	b[1] = 201;
	b[3] = 7; /* 8 words */
	b[12] = fraction;
	b[13] = (uint8_t)((uint32_t)cum >> 16);
	b[14] = (uint8_t)((uint32_t)cum >> 8);
	b[15] = (uint8_t)cum;
	b[20] = (uint8_t)(jitter >> 24);
	b[21] = (uint8_t)(jitter >> 16);
	b[22] = (uint8_t)(jitter >> 8);
	b[23] = (uint8_t)jitter;
	return 32;
}

static void test_rtcp_check(void **state)
{
	uint8_t b[128];
	struct media_rtcp_rb rb;
	bool has;

	size_t n = mkrr(b, 26, -3, 80);
	assert_int_equal(media_rtcp_check(b, n, &rb, &has), 0);
	assert_true(has);
	assert_int_equal(rb.fraction_lost, 26);
	assert_int_equal(rb.cumulative_lost, -3);
	assert_int_equal(rb.jitter, 80);
	/* compound: RR + SDES(empty chunk) */
	memset(b + 32, 0, 8);
	b[32] = 0x81;
	b[33] = 202;
	b[35] = 1;
	assert_int_equal(media_rtcp_check(b, 40, &rb, &has), 0);
	/* one byte, truncated, lying length, first not SR/RR, bad version */
	assert_int_equal(media_rtcp_check(b, 1, &rb, &has), EBADMSG);
	assert_int_equal(media_rtcp_check(b, 36, &rb, &has), EBADMSG);
	b[3] = 200;
	assert_int_equal(media_rtcp_check(b, 40, &rb, &has), EBADMSG);
	mkrr(b, 0, 0, 0);
	b[1] = 202;
	assert_int_equal(media_rtcp_check(b, 32, &rb, &has), EBADMSG);
	mkrr(b, 0, 0, 0);
	b[0] = 0x41;
	assert_int_equal(media_rtcp_check(b, 32, &rb, &has), EBADMSG);
	/* report count larger than the packet */
	mkrr(b, 0, 0, 0);
	b[0] = 0x85;
	assert_int_equal(media_rtcp_check(b, 32, &rb, &has), EBADMSG);
	/* padding in a non-last packet */
	mkrr(b, 0, 0, 0);
	b[0] |= 0x20;
	memset(b + 32, 0, 8);
	b[32] = 0x81;
	b[33] = 202;
	b[35] = 1;
	assert_int_equal(media_rtcp_check(b, 40, &rb, &has), EBADMSG);
}

static void test_rxstat(void **state)
{
	struct media_rxstat s = {0};

	/* constant transit: no jitter, no loss */
	for (uint32_t i = 0; i < 50; i++)
		media_rxstat_update(&s, 1, (uint16_t)(100 + i), i * 160, 5000 + i * 160);
	assert_int_equal(media_rxstat_expected(&s), 50);
	assert_int_equal(media_rxstat_lost(&s), 0);
	assert_int_equal(media_rxstat_jitter(&s), 0);

	/* one packet 80 units late: J = 80/16 = 5 after it, then the next one (back on time)
	 * adds |D| = 80 again: J16 = 80 + 80 - ((80 + 8) >> 4) = 155 -> 9 */
	memset(&s, 0, sizeof(s));
	media_rxstat_update(&s, 1, 1, 0, 1000);
	media_rxstat_update(&s, 1, 2, 160, 1160 + 80);
	assert_int_equal(s.jitter16, 80);
	assert_int_equal(media_rxstat_jitter(&s), 5);
	media_rxstat_update(&s, 1, 3, 320, 1320);
	assert_int_equal(s.jitter16, 80 + 80 - ((80 + 8) >> 4));
	assert_int_equal(media_rxstat_jitter(&s), 9);

	/* steady alternating +-40: J converges near 80 (|D| = 80 every packet) */
	memset(&s, 0, sizeof(s));
	for (uint32_t i = 0; i < 400; i++)
		media_rxstat_update(&s, 1, (uint16_t)i, i * 160, i * 160 + (i & 1 ? 40 : -40));
	assert_in_range(media_rxstat_jitter(&s), 78, 80);

	/* loss with a sequence wrap: 65530..65535, 0..9 with 3 missing */
	memset(&s, 0, sizeof(s));
	for (uint32_t i = 0; i < 16; i++) {
		uint16_t seq = (uint16_t)(65530 + i);
		if (seq == 65534 || seq == 2 || seq == 3)
			continue;
		media_rxstat_update(&s, 9, seq, i * 160, i * 160);
	}
	assert_int_equal(media_rxstat_expected(&s), 16);
	assert_int_equal(media_rxstat_lost(&s), 3);
	assert_int_equal(s.cycles, 65536);

	/* a duplicate makes loss negative (RFC 3550 A.3) */
	memset(&s, 0, sizeof(s));
	media_rxstat_update(&s, 1, 10, 0, 0);
	media_rxstat_update(&s, 1, 11, 160, 160);
	media_rxstat_update(&s, 1, 11, 160, 160);
	assert_int_equal(media_rxstat_lost(&s), -1);

	/* a new SSRC restarts */
	media_rxstat_update(&s, 2, 500, 0, 0);
	assert_int_equal(media_rxstat_expected(&s), 1);
	assert_int_equal(s.received, 1);

	/* one stray jump is ignored, two in sequence restart */
	memset(&s, 0, sizeof(s));
	media_rxstat_update(&s, 1, 10, 0, 0);
	media_rxstat_update(&s, 1, 30000, 0, 0);
	assert_int_equal(s.received, 1);
	media_rxstat_update(&s, 1, 30001, 0, 0);
	assert_int_equal(s.base_seq, 30001);
}

static struct sa A(const char *s, uint16_t port) {
	struct sa a;
	assert_int_equal(sa_set_str(&a, s, port), 0);
	return a;
}

static void
test_latch_rules(void **state)
{
	struct media_latch l;
	struct sa sdp = A("10.0.0.1", 4000), nat = A("203.0.113.9", 30000),
		  nat2 = A("203.0.113.9", 30002), evil = A("198.51.100.66", 4000);

	/* the SDP address latches at once */
	media_latch_reset(&l);
	assert_int_equal(media_latch_check(&l, &sdp, &sdp, MEDIA_STRICT_YES, 4, 1, 1, 1),
			 MEDIA_LATCH_NEW);
	assert_int_equal(media_latch_check(&l, &sdp, &sdp, MEDIA_STRICT_YES, 4, 1, 2, 1),
			 MEDIA_LATCH_ACCEPT);
	/* latched: another IP is dropped, however many packets it sends */
	for (uint16_t i = 0; i < 20; i++)
		assert_int_equal(media_latch_check(&l, &evil, &sdp, MEDIA_STRICT_YES, 4, 7, i, 1),
				 MEDIA_LATCH_DROP);
	assert_true(sa_eq(&l.src, &sdp));

	/* a NATed phone: unknown source, probation of 4 in-sequence packets */
	media_latch_reset(&l);
	for (uint16_t i = 0; i < 3; i++)
		assert_int_equal(
		    media_latch_check(&l, &nat, &sdp, MEDIA_STRICT_YES, 4, 5, 10 + i, 5),
		    MEDIA_LATCH_DROP);
	assert_int_equal(media_latch_check(&l, &nat, &sdp, MEDIA_STRICT_YES, 4, 5, 13, 5),
			 MEDIA_LATCH_NEW);
	/* an out-of-sequence packet restarts probation */
	media_latch_reset(&l);
	media_latch_check(&l, &nat, &sdp, MEDIA_STRICT_YES, 3, 5, 10, 5);
	media_latch_check(&l, &nat, &sdp, MEDIA_STRICT_YES, 3, 5, 11, 5);
	assert_int_equal(media_latch_check(&l, &nat, &sdp, MEDIA_STRICT_YES, 3, 5, 50, 5),
			 MEDIA_LATCH_DROP);
	assert_int_equal(media_latch_check(&l, &nat, &sdp, MEDIA_STRICT_YES, 3, 5, 51, 5),
			 MEDIA_LATCH_DROP);
	assert_int_equal(media_latch_check(&l, &nat, &sdp, MEDIA_STRICT_YES, 3, 5, 52, 5),
			 MEDIA_LATCH_NEW);
	/* interleaved attacker packets during probation do not help the attacker */
	media_latch_reset(&l);
	for (uint16_t i = 0; i < 10; i++) {
		assert_int_equal(media_latch_check(&l, &evil, &sdp, MEDIA_STRICT_YES, 2, 9, i, 9),
				 MEDIA_LATCH_DROP);
		assert_int_equal(media_latch_check(&l, &nat, &sdp, MEDIA_STRICT_YES, 2, 5, i, 5),
				 MEDIA_LATCH_DROP);
	}
	/* latched NAT source changes port (rebinding): re-latched after probation */
	media_latch_reset(&l);
	media_latch_check(&l, &nat, &sdp, MEDIA_STRICT_YES, 1, 5, 1, 5);
	assert_true(l.latched);
	assert_int_equal(media_latch_check(&l, &nat2, &sdp, MEDIA_STRICT_YES, 2, 5, 2, 5),
			 MEDIA_LATCH_DROP);
	assert_int_equal(media_latch_check(&l, &nat2, &sdp, MEDIA_STRICT_YES, 2, 5, 3, 5),
			 MEDIA_LATCH_NEW);
	assert_true(sa_eq(&l.src, &nat2));
	/* seqno: the new port must carry the current SSRC */
	media_latch_reset(&l);
	media_latch_check(&l, &nat, &sdp, MEDIA_STRICT_SEQNO, 1, 5, 1, 5);
	for (uint16_t i = 0; i < 5; i++)
		assert_int_equal(media_latch_check(&l, &nat2, &sdp, MEDIA_STRICT_SEQNO, 2, 6, i, 5),
				 MEDIA_LATCH_DROP);
	/* strictrtp=no: the last source wins at once */
	media_latch_reset(&l);
	assert_int_equal(media_latch_check(&l, &nat, &sdp, MEDIA_STRICT_NO, 4, 5, 1, 5),
			 MEDIA_LATCH_NEW);
	assert_int_equal(media_latch_check(&l, &evil, &sdp, MEDIA_STRICT_NO, 4, 5, 1, 5),
			 MEDIA_LATCH_NEW);
}

static int try_odd(uint16_t port, void *arg)
{
	unsigned *calls = arg;
	(*calls)++;
	return (port / 2) % 3 == 0 ? EADDRINUSE : 0; /* some ports taken by other programs */
}

static void test_ports(void **state)
{
	struct media_ports p;
	uint16_t port, seen[8];
	unsigned calls = 0;

	assert_int_equal(media_ports_init(&p, 10001, 10010), 0);
	/* 10001 rounds up to 10002; pairs 10002,10004,10006,10008 (10010 has no +1 inside) */
	assert_int_equal(p.start, 10002);
	assert_int_equal(p.npairs, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(media_ports_alloc(&p, NULL, NULL, &seen[i]), 0);
		assert_int_equal(seen[i] % 2, 0);
	}
	assert_int_equal(seen[0], 10002);
	assert_int_equal(seen[3], 10008);
	assert_int_equal(media_ports_alloc(&p, NULL, NULL, &port), EADDRINUSE);
	/* release one in the middle: the next allocation wraps to it */
	media_ports_release(&p, 10004);
	media_ports_release(&p, 10004); /* twice: harmless */
	media_ports_release(&p, 9000);	/* not ours: harmless */
	assert_int_equal(media_ports_alloc(&p, NULL, NULL, &port), 0);
	assert_int_equal(port, 10004);
	/* round-robin: a freed pair is not reused at once while others are free */
	media_ports_release(&p, 10002);
	media_ports_release(&p, 10006);
	assert_int_equal(media_ports_alloc(&p, NULL, NULL, &port), 0);
	assert_int_equal(port, 10006);
	assert_int_equal(media_ports_alloc(&p, NULL, NULL, &port), 0);
	assert_int_equal(port, 10002);
	media_ports_reset(&p);

	/* ports another program holds are skipped */
	assert_int_equal(media_ports_init(&p, 20000, 20019), 0);
	for (int i = 0; i < 10; i++) {
		int err = media_ports_alloc(&p, try_odd, &calls, &port);
		if (err) {
			assert_int_equal(err, EADDRINUSE);
			break;
		}
		assert_int_not_equal((port / 2) % 3, 0);
	}
	assert_int_equal(p.used, 7);
	media_ports_reset(&p);
	assert_int_equal(media_ports_init(&p, 20000, 20000), EINVAL);
}

static void test_config(void **state)
{
	struct conf *c;
	struct conf_diags d = {0};
	struct media_config mc;

	media_config_init(&mc);
	assert_int_equal(mc.rtpstart, 49152);
	assert_int_equal(mc.rtpend, 65535);
	assert_int_equal(mc.strictrtp, MEDIA_STRICT_YES);
	assert_int_equal(
	    conf_load_string(&c, "rtp.conf",
			     "[general]\nrtpstart=10001\nrtpend=20000\nstrictrtp=seqno\n"
			     "probation=2\nrtptimeout=60\nrtpholdtimeout=30\nicesupport=no\n",
			     &d),
	    0);
	assert_int_equal(media_config_load(&mc, c, &d), 0);
	assert_int_equal(mc.rtpstart, 10002);
	assert_int_equal(mc.rtpend, 20000);
	assert_int_equal(mc.strictrtp, MEDIA_STRICT_SEQNO);
	assert_int_equal(mc.probation, 2);
	assert_int_equal(mc.rtptimeout, 60);
	assert_int_equal(mc.rtpholdtimeout, 60); /* never shorter than rtptimeout */
	assert_int_equal(d.count, 1);		 /* icesupport: not implemented, with file:line */
	assert_int_equal(d.items[0].origin.line, 8);
	conf_free(c);
	conf_diags_reset(&d);

	assert_int_equal(
	    conf_load_string(&c, "rtp.conf",
			     "[general]\nrtpstart=30000\nrtpend=20000\nstrictrtp=maybe\n", &d),
	    0);
	assert_int_equal(media_config_load(&mc, c, &d), EINVAL);
	assert_int_equal(d.errors, 2);
	assert_int_equal(mc.rtpstart, 49152);
	conf_free(c);
	conf_diags_reset(&d);
	assert_int_equal(media_config_load(&mc, NULL, NULL), 0);
}

/* ---------------------------------------------------------------------------------------------
 * The relay with real sockets.
 */
struct ep {
	int fd, rfd; /* RTP and RTCP endpoint sockets */
	struct sa addr, raddr;
};

static void ep_open(struct ep *e, const char *ip)
{
	e->addr = A(ip, 0);
	e->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	e->rfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(e->fd >= 0 && e->rfd >= 0);
	assert_int_equal(bind(e->fd, &e->addr.u.sa, e->addr.len), 0);
	e->raddr = e->addr;
	assert_int_equal(bind(e->rfd, &e->raddr.u.sa, e->raddr.len), 0);
	socklen_t l = sizeof(e->addr.u);
	getsockname(e->fd, &e->addr.u.sa, &l);
	l = sizeof(e->raddr.u);
	getsockname(e->rfd, &e->raddr.u.sa, &l);
}

static void ep_close(struct ep *e)
{
	close(e->fd);
	close(e->rfd);
}

static void ep_send(int fd, const struct media_leg *leg, bool rtcp, const uint8_t *b, size_t n)
{
	struct sa to;
	media_leg_local(leg, &to);
	if (rtcp)
		sa_set_port(&to, (uint16_t)(sa_port(&to) + 1));
	assert_int_equal(sendto(fd, b, n, 0, &to.u.sa, to.len), (ssize_t)n);
}

/* Receives one datagram within ms; returns its length or -1. */
static ssize_t ep_recv(int fd, uint8_t *b, size_t size, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	if (poll(&p, 1, ms) <= 0)
		return -1;
	return recv(fd, b, size, 0);
}

struct evlog {
	int timeouts, latched, dtmf, play_done, silence, rec_error;
	char digits[64];
	bool inband[64];
};

static void ev_h(struct media_leg *leg, const struct media_event *ev, void *arg)
{
	struct evlog *l = arg;
	switch (ev->type) {
	case MEDIA_EV_TIMEOUT:
		l->timeouts++;
		break;
	case MEDIA_EV_LATCHED:
		l->latched++;
		break;
	case MEDIA_EV_PLAY_DONE:
		l->play_done++;
		break;
	case MEDIA_EV_SILENCE:
		l->silence++;
		break;
	case MEDIA_EV_REC_ERROR:
		l->rec_error++;
		break;
	case MEDIA_EV_DTMF:
		if (l->dtmf < 63) {
			l->inband[l->dtmf] = ev->inband;
			l->digits[l->dtmf++] = ev->digit;
		}
		break;
	}
}

struct fix {
	struct loop *loop;
	struct media *m;
	struct media_leg *a, *b;
	struct ep ea, eb;
	struct evlog la, lb;
};

/* A port range of this process's own, so parallel runs of the test do not collide. */
static uint16_t port_base(void)
{
	return (uint16_t)(20000 + (getpid() % 2500) * 16);
}

static struct media_format fmt1(enum sdp_codec c, uint8_t pt, int te, enum media_dtmf dtmf)
{
	struct media_format f = {
	    .nfmt = 1, .te_pt_tx = te, .te_pt_rx = te, .dtmf = dtmf, .dir = SDP_SENDRECV};
	f.fmt[0] = (struct sdp_neg_fmt){c, pt, pt, 8000};
	return f;
}

static void fix_setup(struct fix *f, uint32_t probation, uint32_t rtptimeout)
{
	struct media_config cfg;
	struct sa la = A("127.0.0.1", 0), lb = A("127.0.0.2", 0);

	memset(f, 0, sizeof(*f));
	media_config_init(&cfg);
	cfg.rtpstart = port_base();
	cfg.rtpend = (uint16_t)(port_base() + 7);
	cfg.probation = probation;
	cfg.rtptimeout = rtptimeout;
	assert_int_equal(loop_alloc(&f->loop), 0);
	assert_int_equal(media_alloc(&f->m, f->loop, &cfg), 0);
	/* 32 << 2: DSCP CS4 toward the line */
	assert_int_equal(media_leg_alloc(&f->a, f->m, &la, 128, ev_h, &f->la), 0);
	assert_int_equal(media_leg_alloc(&f->b, f->m, &lb, 184, ev_h, &f->lb), 0);
	ep_open(&f->ea, "127.0.0.3");
	ep_open(&f->eb, "127.0.0.4");
	assert_int_equal(media_leg_set_remote(f->a, &f->ea.addr, &f->ea.raddr, 0), 0);
	assert_int_equal(media_leg_set_remote(f->b, &f->eb.addr, &f->eb.raddr, 0), 0);
}

static void fix_teardown(struct fix *f)
{
	media_leg_free(f->a);
	media_leg_free(f->b);
	media_free(f->m);
	loop_free(f->loop);
	ep_close(&f->ea);
	ep_close(&f->eb);
}

static void pump(struct fix *f, int ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		loop_run_once(f->loop, 10);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static void test_relay_basic(void **state)
{
	struct fix f;
	uint8_t b[2048], r[2048];
	int tos = 0;
	socklen_t tl = sizeof(tos);

	fix_setup(&f, 2, 0);
	/* even ports, RTCP = RTP + 1, DSCP on both sockets */
	assert_int_equal(media_leg_port(f.a) % 2, 0);
	assert_int_equal(media_leg_port(f.b) % 2, 0);
	assert_in_range(media_leg_port(f.a), port_base(), port_base() + 6);
	assert_int_equal(getsockopt(f.a->fd[0], IPPROTO_IP, IP_TOS, &tos, &tl), 0);
	assert_int_equal(tos, 128);
	assert_int_equal(getsockopt(f.a->fd[1], IPPROTO_IP, IP_TOS, &tos, &tl), 0);
	assert_int_equal(tos, 128);
	assert_int_equal(getsockopt(f.b->fd[0], IPPROTO_IP, IP_TOS, &tos, &tl), 0);
	assert_int_equal(tos, 184);
	struct sa la;
	media_leg_local(f.a, &la);
	char buf[SA_STRLEN];
	assert_string_equal(sa_ntop(&la, buf, sizeof(buf)), "127.0.0.1");

	struct media_format pcmu = fmt1(SDP_CODEC_PCMU, 0, 101, MEDIA_DTMF_RFC4733);
	assert_int_equal(media_leg_set_format(f.a, &pcmu), 0);
	assert_int_equal(media_leg_set_format(f.b, &pcmu), 0);

	/* before the bridge: nothing goes anywhere */
	size_t n = mkrtp(b, 0, 1000, 5000, 0xabc, NULL, 160);
	ep_send(f.ea.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 100), -1);

	assert_int_equal(media_bridge(f.a, f.b), 0);
	/* A -> B: SSRC, seq, ts, payload untouched */
	for (uint16_t i = 1; i <= 20; i++) {
		uint8_t pl[160];
		memset(pl, i, sizeof(pl));
		n = mkrtp(b, 0, (uint16_t)(1000 + i), 5000 + 160u * i, 0xabc, pl, 160);
		ep_send(f.ea.fd, f.a, false, b, n);
		ssize_t got = ep_recv(f.eb.fd, r, sizeof(r), 500);
		assert_int_equal(got, (ssize_t)n);
		assert_memory_equal(r, b, n);
	}
	/* B -> A */
	n = mkrtp(b, 0, 7, 77, 0xdef, NULL, 160);
	ep_send(f.eb.fd, f.b, false, b, n);
	assert_int_equal(ep_recv(f.ea.fd, r, sizeof(r), 500), (ssize_t)n);
	assert_memory_equal(r, b, n);
	/* the packet arrives from B's local address and port */
	{
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		n = mkrtp(b, 0, 8, 237, 0xdef, NULL, 160);
		ep_send(f.eb.fd, f.b, false, b, n);
		struct pollfd p = {f.ea.fd, POLLIN, 0};
		assert_int_equal(poll(&p, 1, 500), 1);
		assert_int_equal(recvfrom(f.ea.fd, r, sizeof(r), 0, (struct sockaddr *)&from, &fl),
				 (ssize_t)n);
		assert_int_equal(ntohs(from.sin_port), media_leg_port(f.a));
	}

	/* RTCP both ways, with the RR in the stats of the leg it came from */
	n = mkrr(b, 13, 2, 160);
	ep_send(f.eb.rfd, f.b, true, b, n);
	assert_int_equal(ep_recv(f.ea.rfd, r, sizeof(r), 500), (ssize_t)n);
	assert_memory_equal(r, b, n);

	/* bad input: counted, never forwarded */
	struct media_counters c0, c1;
	media_counters_get(f.m, &c0);
	memset(b, 0, sizeof(b));
	b[0] = 0x8f; /* CSRC 15 and no payload */
	ep_send(f.ea.fd, f.a, false, b, 72);
	n = mkrtp(b, 0, 1021, 0, 0xabc, NULL, 20);
	b[0] = 0x00; /* version 0 */
	ep_send(f.ea.fd, f.a, false, b, n);
	n = mkrtp(b, 0, 1022, 0, 0xabc, NULL, 20);
	b[0] |= 0x20;
	b[n - 1] = 250; /* padding lying */
	ep_send(f.ea.fd, f.a, false, b, n);
	ep_send(f.ea.fd, f.a, false, b, 1);
	uint8_t one = 0x80;
	ep_send(f.eb.rfd, f.b, true, &one, 1); /* RTCP compound of one byte */
	n = mkrtp(b, 0, 1023, 0, 0xabc, NULL, 1400);
	ep_send(f.ea.fd, f.a, false, b, n); /* a big but valid one still goes */
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 500), (ssize_t)n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 100), -1);
	assert_int_equal(ep_recv(f.ea.rfd, r, sizeof(r), 50), -1);
	media_counters_get(f.m, &c1);
	assert_int_equal(c1.rtp_bad - c0.rtp_bad, 4);
	assert_int_equal(c1.rtcp_bad - c0.rtcp_bad, 1);

	/* an unknown PT is dropped */
	n = mkrtp(b, 18, 1024, 0, 0xabc, NULL, 20);
	ep_send(f.ea.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 100), -1);
	media_counters_get(f.m, &c1);
	assert_int_equal(c1.unknown_pt - c0.unknown_pt, 1);

	struct media_stats st;
	assert_int_equal(media_leg_stats(f.a, &st), 0);
	assert_int_equal(st.rx_packets, 21 + 1); /* 1 before the bridge, 20, the big one */
	assert_int_equal(st.ssrc, 0xabc);
	assert_int_equal(st.codec, SDP_CODEC_PCMU);
	assert_true(st.latched);
	assert_int_equal(media_leg_stats(f.b, &st), 0);
	assert_int_equal(st.tx_packets, 21);
	assert_int_equal(st.rtcp_rx, 1);
	assert_int_equal(st.rr_count, 1);
	assert_int_equal(st.rr_fraction_lost, 13);
	assert_int_equal(st.rr_cumulative_lost, 2);
	assert_true(st.rr_jitter_ms > 19.9 && st.rr_jitter_ms < 20.1);
	struct mbuf mb;
	mbuf_init(&mb);
	assert_int_equal(media_stats_format(&st, &mb), 0);
	assert_non_null(memmem(mb.buf, mb.end, "rtcp rx 1", 9));
	mbuf_reset(&mb);

	/* unbridge: nothing flows */
	media_unbridge(f.a);
	n = mkrtp(b, 0, 1025, 0, 0xabc, NULL, 20);
	ep_send(f.ea.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 100), -1);

	pump(&f, 50);
	assert_true(f.la.latched >= 1);
	fix_teardown(&f);
}

static void test_relay_latching(void **state)
{
	struct fix f;
	uint8_t b[512], r[512];
	struct ep moved, third;
	struct media_counters c0, c1;

	fix_setup(&f, 2, 0);
	struct media_format pcmu = fmt1(SDP_CODEC_PCMU, 0, -1, MEDIA_DTMF_INBAND);
	media_leg_set_format(f.a, &pcmu);
	media_leg_set_format(f.b, &pcmu);
	media_bridge(f.a, f.b);
	/* A's peer really sends from elsewhere on its host (NAT): comedia sends there */
	assert_int_equal(media_leg_set_remote(f.a, &f.ea.addr, NULL, MEDIA_REMOTE_COMEDIA), 0);
	size_t n = mkrtp(b, 0, 1, 0, 0x55, NULL, 160);
	ep_send(f.ea.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 500), (ssize_t)n);

	ep_open(&moved, "127.0.0.3"); /* same IP, another port */
	ep_open(&third, "127.0.0.5");
	media_counters_get(f.m, &c0);
	/* probation 2: the first packet from the new port is held back, the second latches */
	n = mkrtp(b, 0, 2, 160, 0x55, NULL, 160);
	ep_send(moved.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 100), -1);
	n = mkrtp(b, 0, 3, 320, 0x55, NULL, 160);
	ep_send(moved.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 500), (ssize_t)n);
	/* and B's audio now goes to the new port (comedia) */
	n = mkrtp(b, 0, 50, 0, 0x66, NULL, 160);
	ep_send(f.eb.fd, f.b, false, b, n);
	assert_int_equal(ep_recv(moved.fd, r, sizeof(r), 500), (ssize_t)n);
	assert_int_equal(ep_recv(f.ea.fd, r, sizeof(r), 50), -1);

	/* a third address is ignored under strictrtp, however long it tries */
	for (uint16_t i = 0; i < 10; i++) {
		n = mkrtp(b, 0, (uint16_t)(100 + i), 0, 0x77, NULL, 160);
		ep_send(third.fd, f.a, false, b, n);
	}
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 150), -1);
	n = mkrtp(b, 0, 51, 160, 0x66, NULL, 160);
	ep_send(f.eb.fd, f.b, false, b, n);
	assert_int_equal(ep_recv(third.fd, r, sizeof(r), 100), -1);
	assert_int_equal(ep_recv(moved.fd, r, sizeof(r), 500), (ssize_t)n);
	media_counters_get(f.m, &c1);
	assert_int_equal(c1.wrong_source - c0.wrong_source, 1 + 10);
	/* its RTCP too */
	n = mkrr(b, 0, 0, 0);
	ep_send(third.rfd, f.a, true, b, n);
	assert_int_equal(ep_recv(f.eb.rfd, r, sizeof(r), 100), -1);

	/* legs of another call on the same engine never get this call's audio */
	struct media_leg *c, *d;
	struct sa lc = A("127.0.0.1", 0);
	struct evlog lx = {0};
	assert_int_equal(media_leg_alloc(&c, f.m, &lc, -1, ev_h, &lx), 0);
	assert_int_equal(media_leg_alloc(&d, f.m, &lc, -1, ev_h, &lx), 0);
	struct ep ec;
	ep_open(&ec, "127.0.0.6");
	media_leg_set_remote(c, &ec.addr, NULL, 0);
	media_leg_set_remote(d, &ec.addr, NULL, 0);
	media_leg_set_format(c, &pcmu);
	media_leg_set_format(d, &pcmu);
	media_bridge(c, d);
	n = mkrtp(b, 0, 4, 480, 0x55, NULL, 160);
	ep_send(moved.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 500), (ssize_t)n);
	assert_int_equal(ep_recv(ec.fd, r, sizeof(r), 100), -1);
	/* and a stray packet sent to the other call's port is refused by its latch */
	ep_send(moved.fd, c, false, b, n);
	assert_int_equal(ep_recv(ec.fd, r, sizeof(r), 100), -1);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 50), -1);
	media_leg_free(c);
	media_leg_free(d);
	ep_close(&ec);

	/* hold: A's leg does not send (sendonly from A's side = we only receive) */
	struct media_format held = pcmu;
	held.dir = SDP_RECVONLY;
	media_leg_set_format(f.a, &held);
	n = mkrtp(b, 0, 52, 320, 0x66, NULL, 160);
	ep_send(f.eb.fd, f.b, false, b, n);
	assert_int_equal(ep_recv(moved.fd, r, sizeof(r), 100), -1);

	ep_close(&moved);
	ep_close(&third);
	fix_teardown(&f);
}

static void test_relay_convert(void **state)
{
	struct fix f;
	uint8_t b[512], r[512];

	fix_setup(&f, 1, 0);
	/* A: PCMU pt 0, te 101; B: PCMA as dynamic 110?, no: PCMA 8, te 96 */
	struct media_format fa = fmt1(SDP_CODEC_PCMU, 0, 101, MEDIA_DTMF_RFC4733);
	struct media_format fb = fmt1(SDP_CODEC_PCMA, 8, 96, MEDIA_DTMF_RFC4733);
	media_leg_set_format(f.a, &fa);
	media_leg_set_format(f.b, &fb);
	media_bridge(f.a, f.b);

	uint8_t pl[160];
	for (int i = 0; i < 160; i++)
		pl[i] = (uint8_t)(i * 37);
	size_t n = mkrtp(b, 0, 10, 1600, 0x99, pl, 160);
	ep_send(f.ea.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 500), (ssize_t)n);
	assert_int_equal(r[1] & 0x7f, 8);
	assert_memory_equal(r + 2, b + 2, 10); /* seq, ts, ssrc untouched */
	for (int i = 0; i < 160; i++)
		assert_int_equal(r[12 + i], ulaw_to_alaw(pl[i]));
	/* back: A-law to u-law */
	n = mkrtp(b, 8, 10, 1600, 0x98, pl, 160);
	ep_send(f.eb.fd, f.b, false, b, n);
	assert_int_equal(ep_recv(f.ea.fd, r, sizeof(r), 500), (ssize_t)n);
	assert_int_equal(r[1] & 0x7f, 0);
	for (int i = 0; i < 160; i++)
		assert_int_equal(r[12 + i], alaw_to_ulaw(pl[i]));
	/* telephone-event renumbered 101 -> 96, marker kept */
	uint8_t ev[4] = {5, 10, 0, 160};
	n = mkrtp(b, 101 | 0x80, 11, 1760, 0x99, ev, 4);
	ep_send(f.ea.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 500), (ssize_t)n);
	assert_int_equal(r[1], 0x80 | 96);
	assert_memory_equal(r + 12, ev, 4);
	ev[1] |= 0x80; /* end */
	n = mkrtp(b, 101, 12, 1760, 0x99, ev, 4);
	ep_send(f.ea.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 500), (ssize_t)n);
	pump(&f, 50);
	assert_int_equal(f.la.dtmf, 1);
	assert_int_equal(f.la.digits[0], '5');
	assert_false(f.la.inband[0]);

	/* G.722 on both sides passes through untouched */
	struct media_format g = fmt1(SDP_CODEC_G722, 9, -1, MEDIA_DTMF_RFC4733);
	media_leg_set_format(f.a, &g);
	media_leg_set_format(f.b, &g);
	n = mkrtp(b, 9, 13, 1920, 0x99, pl, 160);
	ep_send(f.ea.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 500), (ssize_t)n);
	assert_memory_equal(r, b, n);
	/* G.722 toward a PCMU-only leg: not transcoded, dropped */
	media_leg_set_format(f.b, &fa);
	ep_send(f.ea.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.eb.fd, r, sizeof(r), 100), -1);
	fix_teardown(&f);
}

/* Reads PCMU packets from fd for up to ms and runs spandsp's detector on them; returns the digits
 * (also checks the stream's seq numbers are contiguous and its SSRC constant). */
static void collect_tones(int fd, int ms, char *digits, size_t size, uint32_t *ssrc_out,
			  bool *contiguous)
{
	dtmf_rx_state_t *rx = dtmf_rx_init(NULL, NULL, NULL);
	uint8_t r[512];
	int16_t amp[512];
	struct timespec t0, t;
	bool have = false;
	uint16_t last = 0;

	*contiguous = true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= ms)
			break;
		ssize_t n = ep_recv(fd, r, sizeof(r), (int)(ms - el));
		if (n <= 12)
			continue;
		uint16_t seq = (uint16_t)(r[2] << 8 | r[3]);
		uint32_t ssrc =
		    (uint32_t)r[8] << 24 | (uint32_t)r[9] << 16 | (uint32_t)r[10] << 8 | r[11];
		if (have && seq != (uint16_t)(last + 1))
			*contiguous = false;
		if (ssrc_out) {
			if (have && ssrc != *ssrc_out)
				*contiguous = false;
			*ssrc_out = ssrc;
		}
		have = true;
		last = seq;
		if ((r[1] & 0x7f) != 0)
			continue;
		for (ssize_t i = 12; i < n; i++)
			amp[i - 12] = ulaw_to_linear(r[i]);
		dtmf_rx(rx, amp, (int)(n - 12));
	}
	for (int i = 0; i < 40; i++) {
		memset(amp, 0, 160 * sizeof(amp[0]));
		dtmf_rx(rx, amp, 160);
	}
	size_t k = dtmf_rx_get(rx, digits, (int)size - 1);
	digits[k] = 0;
	dtmf_rx_free(rx);
}

/* All 16 digits injected into the carrier leg (as after a SIP INFO) come out as tones that
 * spandsp's detector reads back. */
static void test_dtmf_inject_inband(void **state)
{
	struct fix f;
	char got[32];
	bool contiguous;
	uint32_t ssrc = 0;

	fix_setup(&f, 1, 0);
	struct media_format carrier = fmt1(SDP_CODEC_PCMU, 0, -1, MEDIA_DTMF_INBAND);
	media_leg_set_format(f.b, &carrier);
	assert_int_equal(media_leg_send_dtmf(f.b, 'x', 100), EINVAL);
	const char *all = "0123456789*#ABCD";
	for (const char *p = all; *p; p++) {
		assert_int_equal(media_leg_send_dtmf(f.b, *p, 60), 0);
		assert_int_equal(media_leg_send_dtmf(f.b, '1', 60), EBUSY);
		/* each digit: 60 ms of tone, then the relay finishes it; 120 ms gap */
		struct timespec ts = {0, 150 * 1000000};
		nanosleep(&ts, NULL);
	}
	collect_tones(f.eb.fd, 300, got, sizeof(got), &ssrc, &contiguous);
	assert_string_equal(got, all);
	assert_true(contiguous);
	struct media_stats st;
	media_leg_stats(f.b, &st);
	assert_int_equal(st.dtmf_tx, 16);
	/* INFO legs do not take digits */
	struct media_format info = fmt1(SDP_CODEC_PCMU, 0, -1, MEDIA_DTMF_INFO);
	media_leg_set_format(f.b, &info);
	assert_int_equal(media_leg_send_dtmf(f.b, '1', 60), ENOTSUP);
	fix_teardown(&f);
}

/* A phone's RFC 4733 events become tones in the PCMU toward an inband carrier, replacing the
 * phone's audio during the digit, with the carrier's stream contiguous and one SSRC. */
static void test_dtmf_rfc4733_to_inband(void **state)
{
	struct fix f;
	uint8_t b[512];
	char got[32];
	bool contiguous;
	uint32_t ssrc = 0;

	fix_setup(&f, 1, 0);
	struct media_format phone = fmt1(SDP_CODEC_PCMU, 0, 101, MEDIA_DTMF_RFC4733);
	struct media_format carrier = fmt1(SDP_CODEC_PCMU, 0, -1, MEDIA_DTMF_INBAND);
	media_leg_set_format(f.a, &phone);
	media_leg_set_format(f.b, &carrier);
	media_bridge(f.a, f.b);

	const char *digits = "7#";
	uint16_t seq = 100;
	uint32_t ts = 0;
	uint8_t silence[160];
	memset(silence, 0xff, sizeof(silence));
	for (const char *p = digits; *p; p++) {
		/* 5 packets of silence, then the event for 100 ms, then silence */
		for (int i = 0; i < 5; i++) {
			size_t n = mkrtp(b, 0, seq++, ts, 0x4242, silence, 160);
			ep_send(f.ea.fd, f.a, false, b, n);
			ts += 160;
			struct timespec t = {0, 20 * 1000000};
			nanosleep(&t, NULL);
		}
		uint32_t evts = ts;
		for (int k = 1; k <= 5; k++) {
			uint8_t ev[4] = {(uint8_t)media_dtmf_code(*p), 10, 0, 0};
			uint32_t dur = 160u * (uint32_t)k;
			ev[2] = (uint8_t)(dur >> 8);
			ev[3] = (uint8_t)dur;
			size_t n = mkrtp(b, (uint8_t)(101 | (k == 1 ? 0x80 : 0)), seq++, evts,
					 0x4242, ev, 4);
			ep_send(f.ea.fd, f.a, false, b, n);
			ts += 160;
			struct timespec t = {0, 20 * 1000000};
			nanosleep(&t, NULL);
		}
		for (int k = 0; k < 3; k++) {
			uint8_t ev[4] = {(uint8_t)media_dtmf_code(*p), 0x80 | 10, 0x03, 0x20};
			size_t n = mkrtp(b, 101, seq++, evts, 0x4242, ev, 4);
			ep_send(f.ea.fd, f.a, false, b, n);
		}
		for (int i = 0; i < 8; i++) {
			size_t n = mkrtp(b, 0, seq++, ts, 0x4242, silence, 160);
			ep_send(f.ea.fd, f.a, false, b, n);
			ts += 160;
			struct timespec t = {0, 20 * 1000000};
			nanosleep(&t, NULL);
		}
	}
	collect_tones(f.eb.fd, 200, got, sizeof(got), &ssrc, &contiguous);
	assert_string_equal(got, digits);
	assert_true(contiguous);
	assert_int_equal(ssrc, 0x4242);
	pump(&f, 30);
	assert_int_equal(f.la.dtmf, 2);
	assert_int_equal(f.la.digits[0], '7');
	assert_int_equal(f.la.digits[1], '#');
	fix_teardown(&f);
}

/* In-band tones from the carrier become RFC 4733 events toward the phone. */
static void test_dtmf_inband_to_rfc4733(void **state)
{
	struct fix f;
	uint8_t b[512], r[512];
	const char *digits = "19*D";

	fix_setup(&f, 1, 0);
	struct media_format phone = fmt1(SDP_CODEC_PCMU, 0, 101, MEDIA_DTMF_RFC4733);
	struct media_format carrier = fmt1(SDP_CODEC_PCMU, 0, -1, MEDIA_DTMF_INBAND);
	media_leg_set_format(f.a, &phone);
	media_leg_set_format(f.b, &carrier);
	media_bridge(f.a, f.b);

	dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
	dtmf_tx_set_timing(tx, 100, 100);
	dtmf_tx_put(tx, digits, -1);
	int16_t amp[160];
	uint16_t seq = 1;
	uint32_t ts = 0;
	char events[16] = {0};
	size_t nev = 0;
	uint32_t last_ev_ts = 0xffffffff;
	for (int i = 0; i < 60; i++) {
		int n = dtmf_tx(tx, amp, 160);
		for (int k = n < 0 ? 0 : n; k < 160; k++)
			amp[k] = 0;
		uint8_t pl[160];
		for (int k = 0; k < 160; k++)
			pl[k] = linear_to_ulaw(amp[k]);
		size_t len = mkrtp(b, 0, seq++, ts, 0x777, pl, 160);
		ts += 160;
		ep_send(f.eb.fd, f.b, false, b, len);
		struct timespec t = {0, 20 * 1000000};
		nanosleep(&t, NULL);
		ssize_t got;
		while ((got = ep_recv(f.ea.fd, r, sizeof(r), 0)) > 0) {
			if ((r[1] & 0x7f) != 101 || got != 16)
				continue;
			uint32_t ets = (uint32_t)r[4] << 24 | (uint32_t)r[5] << 16 |
				       (uint32_t)r[6] << 8 | r[7];
			if (ets != last_ev_ts && nev < sizeof(events) - 1) {
				events[nev++] = media_dtmf_char(r[12]);
				last_ev_ts = ets;
				assert_true(r[1] & 0x80); /* marker on the first packet */
			}
		}
	}
	dtmf_tx_free(tx);
	assert_string_equal(events, digits);
	pump(&f, 30);
	assert_int_equal(f.lb.dtmf, 4);
	assert_memory_equal(f.lb.digits, digits, 4);
	assert_true(f.lb.inband[0]);
	fix_teardown(&f);
}

static void test_rtp_timeout(void **state)
{
	struct fix f;
	uint8_t b[256];

	fix_setup(&f, 1, 1);
	struct media_format pcmu = fmt1(SDP_CODEC_PCMU, 0, -1, MEDIA_DTMF_RFC4733);
	media_leg_set_format(f.a, &pcmu);
	media_leg_set_format(f.b, &pcmu);
	media_bridge(f.a, f.b);
	/* B's peer keeps sending, A's is silent: only A times out, once */
	for (int i = 0; i < 75; i++) {
		size_t n = mkrtp(b, 0, (uint16_t)i, 160u * (uint32_t)i, 1, NULL, 160);
		ep_send(f.eb.fd, f.b, false, b, n);
		pump(&f, 20);
	}
	assert_int_equal(f.la.timeouts, 1);
	assert_int_equal(f.lb.timeouts, 0);
	fix_teardown(&f);
}

static void test_ports_exhausted(void **state)
{
	struct loop *loop;
	struct media *m;
	struct media_config cfg;
	struct media_leg *l[3];
	struct sa la = A("127.0.0.1", 0);
	struct media_counters c;

	media_config_init(&cfg);
	cfg.rtpstart = (uint16_t)(port_base() + 8);
	cfg.rtpend = (uint16_t)(port_base() + 11); /* two pairs */
	assert_int_equal(loop_alloc(&loop), 0);
	assert_int_equal(media_alloc(&m, loop, &cfg), 0);
	assert_int_equal(media_leg_alloc(&l[0], m, &la, -1, NULL, NULL), 0);
	assert_int_equal(media_leg_alloc(&l[1], m, &la, -1, NULL, NULL), 0);
	assert_int_equal(media_leg_alloc(&l[2], m, &la, -1, NULL, NULL), EADDRINUSE);
	media_counters_get(m, &c);
	assert_int_equal(c.ports_exhausted, 1);
	assert_int_equal(c.legs, 2);
	media_leg_free(l[0]);
	assert_int_equal(media_leg_alloc(&l[2], m, &la, -1, NULL, NULL), 0);
	assert_int_equal(media_leg_port(l[2]), port_base() + 8); /* wrapped */
	struct sa bogus = A("192.0.2.77", 0);	       /* not an address of ours */
	struct media_leg *x;
	media_leg_free(l[1]);
	assert_int_equal(media_leg_alloc(&x, m, &bogus, -1, NULL, NULL), EADDRNOTAVAIL);
	media_leg_free(l[2]);
	media_free(m);
	loop_free(loop);
}

/* Freed legs' socket pairs are pooled and reused after MEDIA_POOL_REST_MS, not closed: a call
 * then costs no socket/bind/epoll_ctl/close. Packets to a pooled pair are dropped. */
static void test_pair_pool(void **state)
{
	struct loop *loop;
	struct media *m;
	struct media_config cfg;
	struct media_leg *a, *b, *c, *d;
	struct sa la = A("127.0.0.1", 0), lb = A("127.0.0.2", 0);
	struct media_counters cn;
	struct ep e;
	uint8_t pkt[172] = {0x80, 0, 0, 1};

	media_config_init(&cfg);
	cfg.rtpstart = (uint16_t)(port_base() + 12);
	cfg.rtpend = (uint16_t)(port_base() + 15); /* two pairs */
	assert_int_equal(loop_alloc(&loop), 0);
	assert_int_equal(media_alloc(&m, loop, &cfg), 0);
	assert_int_equal(media_leg_alloc(&a, m, &la, 128, NULL, NULL), 0);
	uint16_t pa = media_leg_port(a);
	media_leg_free(a);
	assert_int_equal(m->pairs_open, 1); /* kept, not closed */
	assert_int_equal(m->pooled, 1);
	/* resting: the next leg gets a new pair */
	assert_int_equal(media_leg_alloc(&b, m, &la, 128, NULL, NULL), 0);
	assert_int_not_equal(media_leg_port(b), pa);
	assert_int_equal(m->pairs_open, 2);
	/* a late packet to the pooled pair is read and dropped */
	ep_open(&e, "127.0.0.3");
	struct sa to = A("127.0.0.1", pa);
	assert_int_equal(sendto(e.fd, pkt, sizeof(pkt), 0, &to.u.sa, to.len), (ssize_t)sizeof(pkt));
	usleep(MEDIA_POOL_REST_MS * 1000 + 50000);
	media_counters_get(m, &cn);
	assert_int_equal(cn.wrong_source, 1);
	/* rested: reused (same socket, nothing bound) */
	assert_int_equal(media_leg_alloc(&c, m, &la, 128, NULL, NULL), 0);
	assert_int_equal(media_leg_port(c), pa);
	assert_int_equal(m->pairs_open, 2);
	assert_int_equal(m->pooled, 0);
	media_leg_free(c);
	/* another address or TOS has a pool of its own: all ports are taken, so the pooled pair
	 * of 127.0.0.1 gives its port up */
	assert_int_equal(media_leg_alloc(&d, m, &lb, 128, NULL, NULL), 0);
	assert_int_equal(media_leg_port(d), pa);
	assert_int_equal(m->pooled, 0);
	media_leg_free(d);
	/* no free port: the pair still resting is taken rather than the call refused */
	assert_int_equal(media_leg_alloc(&c, m, &lb, 128, NULL, NULL), 0);
	assert_int_equal(media_leg_port(c), pa);
	assert_int_equal(m->pairs_open, 2);
	media_leg_free(b);
	media_leg_free(c);
	media_free(m);
	loop_free(loop);
	ep_close(&e);
}

/* Legs' slots (the relay's index of live legs) come from a stack of free ones: every live leg
 * has its own slot, a freed slot is handed out again before the table grows, and the table
 * grows when none is free. */
static void test_leg_slots(void **state)
{
	struct loop *loop;
	struct media *m;
	struct media_config cfg;
	struct media_leg *legs[40];
	struct sa la = A("127.0.0.1", 0);

	(void)state;
	media_config_init(&cfg);
	cfg.rtpstart = (uint16_t)(port_base() + 100);
	cfg.rtpend = (uint16_t)(port_base() + 100 + 2 * ARRAY_SIZE(legs) + 8);
	assert_int_equal(loop_alloc(&loop), 0);
	assert_int_equal(media_alloc(&m, loop, &cfg), 0);
	for (size_t i = 0; i < ARRAY_SIZE(legs); i++) {
		assert_int_equal(media_leg_alloc(&legs[i], m, &la, 0, NULL, NULL), 0);
		assert_ptr_equal(m->slots[legs[i]->slot], legs[i]);
		assert_int_equal(legs[i]->slot, i); /* lowest first */
	}
	assert_int_equal(m->nslots, 64);
	assert_int_equal(m->nfree, 64 - ARRAY_SIZE(legs));
	media_leg_free(legs[3]);
	media_leg_free(legs[17]);
	assert_null(m->slots[3]);
	assert_null(m->slots[17]);
	for (int k = 0; k < 2; k++) {
		struct media_leg *l;

		assert_int_equal(media_leg_alloc(&l, m, &la, 0, NULL, NULL), 0);
		assert_true(l->slot == 3 || l->slot == 17);
		assert_ptr_equal(m->slots[l->slot], l);
		legs[l->slot] = l;
	}
	assert_int_equal(m->nslots, 64);
	for (size_t i = 0; i < ARRAY_SIZE(legs); i++) {
		for (size_t j = i + 1; j < ARRAY_SIZE(legs); j++)
			assert_int_not_equal(legs[i]->slot, legs[j]->slot);
	}
	for (size_t i = 0; i < ARRAY_SIZE(legs); i++)
		media_leg_free(legs[i]);
	assert_int_equal(m->nfree, 64);
	media_free(m);
	loop_free(loop);
}

static void test_lazy_start(void **state)
{
	struct media *m;

	/* no thread, no sockets, no buffers until a leg is allocated */
	assert_int_equal(media_alloc(&m, NULL, NULL), 0);
	assert_false(m->started);
	assert_null(m->rxbuf);
	assert_null(m->evq);
	assert_true(sizeof(*m) < 1024);
	assert_int_equal(media_reconfig(m, &m->cfg), 0);
	media_free(m);
	assert_true(sizeof(struct media_leg) <= 4096);
}

/* SRTP through the relay: X -> L1 (plain) = L2 (SRTP) -> E -> L3 (SRTP) = L4 (plain) -> Y, E
 * being the far end of both SRTP legs.
 * What E sees is encrypted (payload differs, the tag appended); forwarded to L3 it comes out at
 * Y as the original, per suite; a flipped bit or a replay is dropped and counted; RTCP goes the
 * same way as SRTCP; generated DTMF events leave L2 encrypted too. */
static void test_relay_srtp(void **state)
{
	static const struct {
		enum sdp_suite suite;
		size_t tag; /* SRTP tag bytes */
	} suites[] = {
	    {SDP_SUITE_AES_CM_128_HMAC_SHA1_80, 10},
	    {SDP_SUITE_AES_CM_128_HMAC_SHA1_32, 4},
	    {SDP_SUITE_AEAD_AES_128_GCM, 16},
	    {SDP_SUITE_AEAD_AES_256_GCM, 16},
	};
	struct loop *loop;
	struct media *m;
	struct media_config cfg;
	struct media_leg *l1, *l2, *l3, *l4;
	struct evlog lg = {0};
	struct ep x, e, y;
	struct sa a1 = A("127.0.0.1", 0), a2 = A("127.0.0.2", 0);
	uint8_t b[2048], r[2048], pl[160];
	uint16_t seq = 100;

	if (media_srtp_available())
		skip(); /* libcrypto (libssl3) not installed */
	media_config_init(&cfg);
	cfg.rtpstart = port_base();
	cfg.rtpend = (uint16_t)(port_base() + 15);
	assert_int_equal(loop_alloc(&loop), 0);
	assert_int_equal(media_alloc(&m, loop, &cfg), 0);
	assert_int_equal(media_leg_alloc(&l1, m, &a1, -1, ev_h, &lg), 0);
	assert_int_equal(media_leg_alloc(&l2, m, &a1, -1, ev_h, &lg), 0);
	assert_int_equal(media_leg_alloc(&l3, m, &a2, -1, ev_h, &lg), 0);
	assert_int_equal(media_leg_alloc(&l4, m, &a2, -1, ev_h, &lg), 0);
	ep_open(&x, "127.0.0.3");
	ep_open(&e, "127.0.0.4");
	ep_open(&y, "127.0.0.5");
	assert_int_equal(media_leg_set_remote(l1, &x.addr, &x.raddr, 0), 0);
	assert_int_equal(media_leg_set_remote(l2, &e.addr, &e.raddr, 0), 0);
	struct sa l2a, l2r;
	media_leg_local(l2, &l2a);
	l2r = l2a;
	sa_set_port(&l2r, (uint16_t)(sa_port(&l2a) + 1));
	/* E stands for both phones of the encrypted hop */
	assert_int_equal(media_leg_set_remote(l3, &e.addr, &e.raddr, 0), 0);
	assert_int_equal(media_leg_set_remote(l4, &y.addr, &y.raddr, 0), 0);
	struct media_format pcmu = fmt1(SDP_CODEC_PCMU, 0, 101, MEDIA_DTMF_RFC4733);
	assert_int_equal(media_leg_set_format(l1, &pcmu), 0);
	assert_int_equal(media_leg_set_format(l2, &pcmu), 0);
	assert_int_equal(media_leg_set_format(l3, &pcmu), 0);
	assert_int_equal(media_leg_set_format(l4, &pcmu), 0);
	assert_int_equal(media_bridge(l1, l2), 0);
	assert_int_equal(media_bridge(l3, l4), 0);

	for (size_t si = 0; si < sizeof(suites) / sizeof(suites[0]); si++) {
		struct media_srtp_keys k2, k3;
		struct media_counters c0, c1;
		size_t klen = sdp_suite_key_len(suites[si].suite);

		memset(&k2, 0, sizeof(k2));
		k2.suite = (uint8_t)suites[si].suite;
		k2.key_len = (uint8_t)klen;
		for (size_t i = 0; i < klen; i++) {
			k2.tx[i] = (uint8_t)(i + si);
			k2.rx[i] = (uint8_t)(0xa0 + i);
		}
		k3 = k2;
		memcpy(k3.tx, k2.rx, sizeof(k3.tx));
		memcpy(k3.rx, k2.tx, sizeof(k3.rx));
		assert_int_equal(media_leg_set_srtp(l2, &k2), 0);
		assert_int_equal(media_leg_set_srtp(l3, &k3), 0);
		struct media_stats st;
		assert_int_equal(media_leg_stats(l2, &st), 0);
		assert_true(st.srtp);

		uint32_t ssrc = 0x5000 + (uint32_t)si; /* a new stream per key */
		for (int i = 0; i < 5; i++, seq++) {
			memset(pl, 0x55 + i, sizeof(pl));
			size_t n = mkrtp(b, 0, seq, 160u * seq, ssrc, pl, sizeof(pl));
			ep_send(x.fd, l1, false, b, n);
			ssize_t got = ep_recv(e.fd, r, sizeof(r), 500);
			assert_int_equal(got, (ssize_t)(n + suites[si].tag));
			assert_memory_equal(r, b, 12); /* the header stays readable */
			assert_null(memmem(r + 12, (size_t)got - 12, pl, 16)); /* not the payload */
			/* E passes it on to L3: decrypted, it reaches Y as X sent it */
			struct sa l3a;
			media_leg_local(l3, &l3a);
			assert_int_equal(sendto(e.fd, r, (size_t)got, 0, &l3a.u.sa, l3a.len), got);
			assert_int_equal(ep_recv(y.fd, r + 1024, 1024, 500), (ssize_t)n);
			assert_memory_equal(r + 1024, b, n);
			if (i == 4) {
				media_counters_get(m, &c0);
				/* replayed: dropped */
				assert_int_equal(sendto(e.fd, r, (size_t)got, 0, &l3a.u.sa, l3a.len), got);
				assert_int_equal(ep_recv(y.fd, r + 1024, 1024, 100), -1);
				/* a flipped bit in the payload: dropped */
				r[20] ^= 1;
				r[3] ^= 0x10; /* and not a replay */
				assert_int_equal(sendto(e.fd, r, (size_t)got, 0, &l3a.u.sa, l3a.len), got);
				assert_int_equal(ep_recv(y.fd, r + 1024, 1024, 100), -1);
				/* plain RTP on an SRTP leg: dropped */
				n = mkrtp(b, 0, (uint16_t)(seq + 50), 0, ssrc, pl, sizeof(pl));
				assert_int_equal(sendto(e.fd, b, n, 0, &l3a.u.sa, l3a.len), (ssize_t)n);
				assert_int_equal(ep_recv(y.fd, r + 1024, 1024, 100), -1);
				media_counters_get(m, &c1);
				assert_int_equal(c1.srtp_bad - c0.srtp_bad, 3);
			}
		}
		/* SRTCP: Y's receiver report -> L4 = L3 -> (SRTCP) -> E -> L2 = L1 -> X */
		size_t n = mkrr(b, 7, 3, 80);
		ep_send(y.rfd, l4, true, b, n);
		ssize_t got = ep_recv(e.rfd, r, sizeof(r), 500);
		assert_true(got >= (ssize_t)(n + 4 + 4)); /* E flag + index, and a tag */
		assert_memory_equal(r, b, 8);		  /* header and sender SSRC in clear */
		assert_memory_not_equal(r + 8, b + 8, n - 8);
		assert_int_equal(sendto(e.rfd, r, (size_t)got, 0, &l2r.u.sa, l2r.len), got);
		assert_int_equal(ep_recv(x.rfd, r + 1024, 1024, 500), (ssize_t)n);
		assert_memory_equal(r + 1024, b, n);
	}

	/* DTMF generated by the relay toward the SRTP leg goes out encrypted, and L3 decrypts
	 * it to plain RFC 4733 events at Y. */
	assert_int_equal(media_leg_send_dtmf(l2, '5', 100), 0);
	struct sa l3a;
	media_leg_local(l3, &l3a);
	int events = 0;
	for (int i = 0; i < 40; i++) {
		ssize_t got = ep_recv(e.fd, r, sizeof(r), 100);
		if (got < 0)
			break;
		assert_int_equal(r[1] & 0x7f, 101);
		assert_int_equal(sendto(e.fd, r, (size_t)got, 0, &l3a.u.sa, l3a.len), got);
		ssize_t g2 = ep_recv(y.fd, b, sizeof(b), 200);
		assert_int_equal(g2, got - 16); /* GCM tag of the last suite removed */
		assert_int_equal(b[1] & 0x7f, 101);
		assert_int_equal(b[12], 5); /* the event code, readable again */
		events++;
	}
	assert_true(events >= 3);

	/* back to plain RTP */
	assert_int_equal(media_leg_set_srtp(l2, NULL), 0);
	assert_int_equal(media_leg_set_srtp(l3, NULL), 0);
	memset(pl, 0x11, sizeof(pl));
	size_t n = mkrtp(b, 0, (uint16_t)(seq + 100), 0, 0x6000, pl, sizeof(pl));
	ep_send(x.fd, l1, false, b, n);
	assert_int_equal(ep_recv(e.fd, r, sizeof(r), 500), (ssize_t)n);
	assert_memory_equal(r, b, n);

	/* a key of the wrong length is refused */
	struct media_srtp_keys bad = {.suite = SDP_SUITE_AEAD_AES_256_GCM, .key_len = 30};
	assert_int_equal(media_leg_set_srtp(l2, &bad), EINVAL);

	media_leg_free(l1);
	media_leg_free(l2);
	media_leg_free(l3);
	media_leg_free(l4);
	media_free(m);
	loop_free(loop);
	ep_close(&x);
	ep_close(&e);
	ep_close(&y);
}

/* ---------------------------------------------------------------------------------------------
 * Local endpoints: sound files, lookup, the player's packets, the recorder.
 */

/* A WAV in memory: fmt tag/channels/rate/bits and `frames` frames of data made by gen. */
static size_t mkwav(uint8_t *b, uint16_t tag, uint16_t ch, uint32_t rate, uint16_t bits,
		    const uint8_t *data, size_t dlen)
{
	uint32_t v;

	memcpy(b, "RIFF", 4);
	v = (uint32_t)(36 + dlen + 12);
	memcpy(b + 4, &v, 4);
	memcpy(b + 8, "WAVE", 4);
	/* an unknown chunk before fmt must be skipped */
	memcpy(b + 12, "LIST", 4);
	v = 4;
	memcpy(b + 16, &v, 4);
	memcpy(b + 20, "abcd", 4);
	memcpy(b + 24, "fmt ", 4);
	v = 16;
	memcpy(b + 28, &v, 4);
	memcpy(b + 32, &tag, 2);
	memcpy(b + 34, &ch, 2);
	memcpy(b + 36, &rate, 4);
	v = rate * ch * bits / 8;
	memcpy(b + 40, &v, 4);
	uint16_t ba = (uint16_t)(ch * bits / 8);
	memcpy(b + 44, &ba, 2);
	memcpy(b + 46, &bits, 2);
	memcpy(b + 48, "data", 4);
	v = (uint32_t)dlen;
	memcpy(b + 52, &v, 4);
	memcpy(b + 56, data, dlen);
	return 56 + dlen;
}

struct wav_case {
	const char *name;
	uint16_t tag, ch, bits;
	uint32_t rate;
	size_t frames;
	int err;
	size_t want_n;	   /* samples out */
	int16_t want0;	   /* first sample */
};

static const struct wav_case wav_cases[] = {
    {"pcm16 8k mono", 1, 1, 16, 8000, 100, 0, 100, 1000},
    {"pcm16 16k mono", 1, 1, 16, 16000, 200, 0, 100, 1000},
    {"pcm16 8k stereo mixed", 1, 2, 16, 8000, 100, 0, 100, 1500},
    {"pcm16 48k stereo", 1, 2, 16, 48000, 600, 0, 100, 1500},
    {"pcm8", 1, 1, 8, 8000, 50, 0, 50, (int16_t)((200 - 128) << 8)},
    {"mu-law", 7, 1, 8, 8000, 50, 0, 50, 0},
    {"a-law", 6, 1, 8, 8000, 50, 0, 50, 0},
    {"float refused", 3, 1, 32, 8000, 10, EINVAL, 0, 0},
    {"24-bit refused", 1, 1, 24, 8000, 10, EINVAL, 0, 0},
    {"no data refused", 1, 1, 16, 8000, 0, EINVAL, 0, 0},
};

static void test_sound_parse(void **state)
{
	static uint8_t data[4096], file[4200];

	(void)state;
	media_g711_init();
	for (size_t i = 0; i < ARRAY_SIZE(wav_cases); i++) {
		const struct wav_case *c = &wav_cases[i];
		size_t bpf = (size_t)c->ch * c->bits / 8, dlen = c->frames * bpf;
		int16_t *out = NULL;
		size_t n = 0;

		for (size_t k = 0; k < c->frames; k++) {
			for (size_t ch = 0; ch < c->ch; ch++) {
				uint8_t *q = data + k * bpf + ch * (c->bits / 8);
				if (c->bits == 16) {
					int16_t v = (int16_t)(1000 * (ch + 1)); /* L 1000, R 2000 */
					memcpy(q, &v, 2);
				} else if (c->bits == 8) {
					q[0] = c->tag == 7 ? 0xff : c->tag == 6 ? 0xd5 : 200;
				} else {
					memset(q, 0, c->bits / 8);
				}
			}
		}
		size_t len = mkwav(file, c->tag, c->ch, c->rate, c->bits, data, dlen);
		int err = media_sound_parse(file, len, "t.wav", &out, &n);
		if (err != c->err)
			fail_msg("%s: err %d, want %d", c->name, err, c->err);
		if (!err) {
			if (n != c->want_n)
				fail_msg("%s: %zu samples, want %zu", c->name, n, c->want_n);
			if (abs(out[0] - c->want0) > 8)
				fail_msg("%s: first sample %d, want %d", c->name, out[0], c->want0);
		}
		free(out);
	}
	/* Not a WAV; raw formats by extension. */
	int16_t *out = NULL;
	size_t n;
	assert_int_equal(media_sound_parse((const uint8_t *)"hello world!", 12, "x.wav", &out, &n),
			 EINVAL);
	uint8_t raw[320] = {0};
	assert_int_equal(media_sound_parse(raw, sizeof(raw), "x.sln", &out, &n), 0);
	assert_int_equal(n, 160);
	free(out);
	assert_int_equal(media_sound_parse(raw, sizeof(raw), "x.ulaw", &out, &n), 0);
	assert_int_equal(n, 320);
	free(out);
}

/* Bad input never crashes: mutated WAV headers and random bytes are refused or decoded. */
static void test_sound_parse_garbage(void **state)
{
	static uint8_t base[56 + 64], buf[sizeof(base)];
	uint8_t data[64];
	uint32_t seed = 12345;

	(void)state;
	memset(data, 0x55, sizeof(data));
	mkwav(base, 1, 1, 8000, 16, data, sizeof(data));
	for (int i = 0; i < 20000; i++) {
		int16_t *out = NULL;
		size_t n = 0, len = sizeof(base);

		memcpy(buf, base, sizeof(base));
		for (int k = 0; k < 1 + i % 6; k++) {
			seed = seed * 1103515245u + 12345u;
			buf[(seed >> 8) % len] = (uint8_t)(seed >> 20);
		}
		seed = seed * 1103515245u + 12345u;
		if (i % 3 == 0)
			len = (seed >> 8) % (len + 1); /* truncated */
		int err = media_sound_parse(buf, len, i % 5 ? "g.wav" : "g.ulaw", &out, &n);
		assert_true(err == 0 || err == EINVAL || err == ENOMEM);
		if (!err)
			assert_true(n > 0 && n <= 8u * 1024 * 1024);
		free(out);
	}
}

static void test_wav_header(void **state)
{
	uint8_t h[44 + 8];
	int16_t *out = NULL;
	size_t n = 0;

	(void)state;
	media_wav_header(h, 4);
	assert_memory_equal(h, "RIFF", 4);
	assert_int_equal(h[4] | h[5] << 8, 36 + 8);
	assert_int_equal(h[24] | h[25] << 8, 8000);
	assert_int_equal(h[34], 16);
	assert_int_equal(h[40], 8);
	int16_t s[4] = {1, -2, 300, -32768};
	memcpy(h + 44, s, 8);
	assert_int_equal(media_sound_parse(h, sizeof(h), "r.wav", &out, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, s, 8);
	free(out);
}

static void touch(const char *dir, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
}

static void test_sound_find(void **state)
{
	char dir[] = "/tmp/mikaka-sndXXXXXX", p[512], want[512];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/en", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/ja", dir);
	mkdir(p, 0700);
	touch(dir, "en/hello.wav");
	touch(dir, "ja/hello.wav");
	touch(dir, "root.wav");
	touch(dir, "en/raw.sln");
	struct {
		const char *lang, *name;
		int err;
		const char *rel; /* expected path under dir */
	} cases[] = {
	    {"en", "hello", 0, "en/hello.wav"},
	    {"ja", "hello", 0, "ja/hello.wav"},
	    {"ja_JP", "hello", 0, "ja/hello.wav"},
	    {"fr", "root", 0, "root.wav"},
	    {"", "root", 0, "root.wav"},
	    {NULL, "hello", ENOENT, NULL},
	    {"en", "raw", 0, "en/raw.sln"},
	    {"en", "hello.wav", 0, "en/hello.wav"},
	    {"en", "nothere", ENOENT, NULL},
	    {"en", "../etc/passwd", EINVAL, NULL},
	    {"../x", "hello", EINVAL, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int err = media_sound_find(p, sizeof(p), dir, cases[i].lang, cases[i].name);
		if (err != cases[i].err)
			fail_msg("case %zu (%s): err %d want %d", i, cases[i].name, err,
				 cases[i].err);
		if (!err) {
			snprintf(want, sizeof(want), "%s/%s", dir, cases[i].rel);
			assert_string_equal(p, want);
		}
	}
	/* An absolute name is used as is. */
	snprintf(want, sizeof(want), "%s/root", dir);
	assert_int_equal(media_sound_find(p, sizeof(p), "/nonexistent", "en", want), 0);
	assert_int_equal(media_sound_find(p, 8, dir, "en", "hello"), ENAMETOOLONG);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
}

static void test_sound_cache(void **state)
{
	char path[] = "/tmp/mikaka-sndcXXXXXX";
	uint8_t h[44 + 320] = {0};
	struct media_sound *a = NULL, *b = NULL;
	size_t entries, bytes;

	(void)state;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	media_wav_header(h, 160);
	assert_int_equal(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);
	assert_int_equal(media_sound_load(&a, path), 0);
	assert_int_equal(media_sound_load(&b, path), 0);
	assert_ptr_equal(a, b); /* shared */
	media_sound_cache_stats(&entries, &bytes);
	assert_int_equal(entries, 1);
	assert_int_equal(bytes, 320);
	assert_int_equal(media_sound_len(a), 160);
	mem_deref(a);
	mem_deref(b);
	media_sound_cache_stats(&entries, &bytes);
	assert_int_equal(entries, 0);
	assert_int_equal(bytes, 0);
	assert_int_equal(media_sound_load(&a, "/nonexistent.wav"), ENOENT);
	unlink(path);
}

/* The player: a sound of 400 samples leaves as three 160-sample packets (the last padded with
 * silence) in the leg's codec, 20 ms apart, consecutive seq and timestamps, the marker on the
 * first, then MEDIA_EV_PLAY_DONE. */
static void play_expect(enum sdp_codec codec, uint8_t pt)
{
	struct fix f;
	char path[] = "/tmp/mikaka-playXXXXXX";
	uint8_t h[44 + 800], r[2048];
	int16_t smp[400];
	struct media_sound *snd = NULL;

	fix_setup(&f, 2, 0);
	for (int i = 0; i < 400; i++)
		smp[i] = (int16_t)(i * 50 - 10000);
	media_wav_header(h, 400);
	memcpy(h + 44, smp, sizeof(smp));
	int fd = mkstemp(path);
	assert_int_equal(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);
	assert_int_equal(media_sound_load(&snd, path), 0);
	struct media_format fm = fmt1(codec, pt, -1, MEDIA_DTMF_RFC4733);
	assert_int_equal(media_leg_set_format(f.a, &fm), 0);
	assert_int_equal(media_leg_play(f.a, &snd, 1, false), 0);
	mem_deref(snd); /* the player holds its own reference */
	struct media_ep_state es;
	assert_int_equal(media_leg_ep_state(f.a, &es), 0);
	assert_int_equal(es.src, MEDIA_SRC_PLAY);
	uint16_t seq0 = 0;
	uint32_t ts0 = 0;
	for (int k = 0; k < 3; k++) {
		ssize_t n = ep_recv(f.ea.fd, r, sizeof(r), 500);
		assert_int_equal(n, 12 + 160);
		assert_int_equal(r[1] & 0x7f, pt);
		assert_int_equal(!!(r[1] & 0x80), k == 0);
		uint16_t seq = (uint16_t)(r[2] << 8 | r[3]);
		uint32_t ts = (uint32_t)r[4] << 24 | (uint32_t)r[5] << 16 | (uint32_t)r[6] << 8 | r[7];
		if (k == 0) {
			seq0 = seq;
			ts0 = ts;
		}
		assert_int_equal(seq, (uint16_t)(seq0 + k));
		assert_int_equal(ts, ts0 + 160u * (unsigned)k);
		for (int i = 0; i < 160; i++) {
			int idx = k * 160 + i;
			int16_t want = idx < 400 ? smp[idx] : 0;
			uint8_t enc = codec == SDP_CODEC_PCMA ? linear_to_alaw(want)
							      : linear_to_ulaw(want);
			assert_int_equal(r[12 + i], enc);
		}
	}
	assert_int_equal(ep_recv(f.ea.fd, r, sizeof(r), 100), -1); /* nothing after the end */
	pump(&f, 50);
	assert_int_equal(f.la.play_done, 1);
	fix_teardown(&f);
	unlink(path);
}

static void test_player_packets(void **state)
{
	(void)state;
	play_expect(SDP_CODEC_PCMU, 0);
	play_expect(SDP_CODEC_PCMA, 8);
}

/* Tones, echo, and the recorder: packets sent to the leg become a WAV with their samples;
 * silence is reported; trimming works. */
static void test_tone_echo_record(void **state)
{
	struct fix f;
	uint8_t b[300], r[2048], pl[160];
	char path[] = "/tmp/mikaka-recXXXXXX";

	(void)state;
	fix_setup(&f, 2, 0);
	struct media_format fm = fmt1(SDP_CODEC_PCMU, 0, -1, MEDIA_DTMF_RFC4733);
	assert_int_equal(media_leg_set_format(f.a, &fm), 0);
	assert_int_equal(media_leg_tone(f.a, "bad"), EINVAL);
	assert_int_equal(media_leg_tone(f.a, "!1000/40"), 0);
	assert_true(ep_recv(f.ea.fd, r, sizeof(r), 500) == 172);
	assert_true(ep_recv(f.ea.fd, r, sizeof(r), 500) == 172);
	assert_int_equal(ep_recv(f.ea.fd, r, sizeof(r), 100), -1);
	pump(&f, 30);
	assert_int_equal(f.la.play_done, 1);

	/* echo: the payload comes back */
	assert_int_equal(media_leg_echo(f.a), 0);
	for (int i = 0; i < 160; i++)
		pl[i] = (uint8_t)i;
	size_t n = mkrtp(b, 0, 10, 1600, 0x1234, pl, 160);
	ep_send(f.ea.fd, f.a, false, b, n);
	assert_int_equal(ep_recv(f.ea.fd, r, sizeof(r), 500), 172);
	assert_memory_equal(r + 12, pl, 160);
	media_leg_stop(f.a);

	/* recorder: 5 packets of a loud pattern then 3 of silence; 40 ms of silence reported */
	int fd = mkstemp(path);
	close(fd);
	struct media_rec_opts o = {.silence_ms = 40};
	assert_int_equal(media_leg_record(f.a, path, &o), 0);
	assert_int_equal(media_leg_record(f.a, path, &o), EBUSY);
	for (int k = 0; k < 8; k++) {
		memset(pl, k < 5 ? 0x80 : 0xff, 160); /* 0x80: -32124 in mu-law, 0xff: 0 */
		n = mkrtp(b, 0, (uint16_t)(20 + k), 3200 + 160u * (unsigned)k, 0x1234, pl, 160);
		ep_send(f.ea.fd, f.a, false, b, n);
	}
	pump(&f, 150);
	assert_int_equal(f.la.silence, 1);
	struct media_rec_result res;
	assert_int_equal(media_leg_record_stop(f.a, 20, &res), 0);
	assert_int_equal(res.samples, 7 * 160);
	assert_true(res.heard);
	int16_t *out = NULL;
	size_t ns = 0;
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	static uint8_t fb[44 + 8 * 320];
	size_t got = fread(fb, 1, sizeof(fb), fp);
	fclose(fp);
	assert_int_equal(got, 44 + 7 * 320);
	assert_int_equal(media_sound_parse(fb, got, path, &out, &ns), 0);
	assert_int_equal(ns, 7 * 160);
	assert_int_equal(out[0], ulaw_to_linear(0x80));
	assert_int_equal(out[5 * 160], 0);
	free(out);
	assert_int_equal(media_leg_record_stop(f.a, 0, NULL), ENOENT);
	fix_teardown(&f);
	unlink(path);
}

/* An unbridged endpoint leg with in-band DTMF detects the digits itself (for the dialplan). */
static void test_endpoint_inband_dtmf(void **state)
{
	struct fix f;
	uint8_t b[512], r[512];

	(void)state;
	fix_setup(&f, 1, 0);
	struct media_format fm = fmt1(SDP_CODEC_PCMA, 8, -1, MEDIA_DTMF_INBAND);
	media_leg_set_format(f.a, &fm);
	assert_int_equal(media_leg_play(f.a, NULL, 0, false), 0); /* silence: endpoint state */
	dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
	dtmf_tx_set_timing(tx, 100, 100);
	dtmf_tx_put(tx, "47#", -1);
	int16_t amp[160];
	uint32_t ts = 0;
	for (int i = 0; i < 40; i++) {
		int n = dtmf_tx(tx, amp, 160);
		for (int k = n < 0 ? 0 : n; k < 160; k++)
			amp[k] = 0;
		uint8_t pl[160];
		for (int k = 0; k < 160; k++)
			pl[k] = linear_to_alaw(amp[k]);
		size_t len = mkrtp(b, 8, (uint16_t)(i + 1), ts, 0x777, pl, 160);
		ts += 160;
		ep_send(f.ea.fd, f.a, false, b, len);
		pump(&f, 20);
		while (ep_recv(f.ea.fd, r, sizeof(r), 0) > 0)
			; /* the silence the leg plays */
	}
	pump(&f, 50);
	dtmf_tx_free(tx);
	assert_int_equal(f.la.dtmf, 3);
	assert_memory_equal(f.la.digits, "47#", 3);
	assert_true(f.la.inband[0]);
	fix_teardown(&f);
}

/* MixMonitor: what the peer sends and what the leg sends (relayed from its partner) are mixed
 * into one file. */
static void test_monitor_mix(void **state)
{
	struct fix f;
	uint8_t b[300], r[2048], pa[160], pb[160];
	char path[] = "/tmp/mikaka-mixXXXXXX";

	(void)state;
	fix_setup(&f, 0, 0);
	struct media_format fm = fmt1(SDP_CODEC_PCMU, 0, -1, MEDIA_DTMF_RFC4733);
	assert_int_equal(media_leg_set_format(f.a, &fm), 0);
	assert_int_equal(media_leg_set_format(f.b, &fm), 0);
	assert_int_equal(media_bridge(f.a, f.b), 0);
	int fd = mkstemp(path);
	close(fd);
	assert_int_equal(media_leg_monitor(f.a, path), 0);
	memset(pa, linear_to_ulaw(1000), 160);
	memset(pb, linear_to_ulaw(2000), 160);
	for (int k = 0; k < 10; k++) {
		size_t n = mkrtp(b, 0, (uint16_t)(100 + k), 160u * (unsigned)k, 0xa, pa, 160);
		ep_send(f.ea.fd, f.a, false, b, n);
		n = mkrtp(b, 0, (uint16_t)(200 + k), 160u * (unsigned)k, 0xb, pb, 160);
		ep_send(f.eb.fd, f.b, false, b, n);
		while (ep_recv(f.ea.fd, r, sizeof(r), 0) > 0 || ep_recv(f.eb.fd, r, sizeof(r), 0) > 0)
			;
		pump(&f, 20);
	}
	pump(&f, 100);
	assert_int_equal(media_leg_monitor_stop(f.a), 0);
	FILE *fp = fopen(path, "rb");
	static uint8_t fb[44 + 8000 * 2];
	size_t got = fread(fb, 1, sizeof(fb), fp);
	fclose(fp);
	int16_t *out = NULL;
	size_t ns = 0, mixed = 0;
	assert_int_equal(media_sound_parse(fb, got, path, &out, &ns), 0);
	int16_t want = (int16_t)(ulaw_to_linear(linear_to_ulaw(1000)) +
				 ulaw_to_linear(linear_to_ulaw(2000)));
	for (size_t i = 0; i < ns; i++)
		mixed += out[i] == want;
	free(out);
	/* Both directions overlap for most of the 10 packets' 1600 samples. */
	assert_true(mixed >= 1000);
	fix_teardown(&f);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rtp_check),
	    cmocka_unit_test(test_rtcp_check),
	    cmocka_unit_test(test_rxstat),
	    cmocka_unit_test(test_latch_rules),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_lazy_start),
	    cmocka_unit_test(test_relay_basic),
	    cmocka_unit_test(test_relay_latching),
	    cmocka_unit_test(test_relay_convert),
	    cmocka_unit_test(test_relay_srtp),
	    cmocka_unit_test(test_dtmf_inject_inband),
	    cmocka_unit_test(test_dtmf_rfc4733_to_inband),
	    cmocka_unit_test(test_dtmf_inband_to_rfc4733),
	    cmocka_unit_test(test_rtp_timeout),
	    cmocka_unit_test(test_ports_exhausted),
	    cmocka_unit_test(test_pair_pool),
	    cmocka_unit_test(test_leg_slots),
	    cmocka_unit_test(test_sound_parse),
	    cmocka_unit_test(test_wav_header),
	    cmocka_unit_test(test_sound_parse_garbage),
	    cmocka_unit_test(test_sound_find),
	    cmocka_unit_test(test_sound_cache),
	    cmocka_unit_test(test_player_packets),
	    cmocka_unit_test(test_tone_echo_record),
	    cmocka_unit_test(test_monitor_mix),
	    cmocka_unit_test(test_endpoint_inband_dtmf),
	};
	return cmocka_run_group_tests_name("media", tests, NULL, NULL);
}
