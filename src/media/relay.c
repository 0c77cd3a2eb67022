/* media relay: the relay thread. One epoll over every leg's RTP and RTCP socket; per ready socket
 * a recvmmsg batch is checked, latched, counted, converted where the bridge needs it and sent with
 * one sendmmsg out of the partner leg. The engine mutex is taken once per epoll batch (never per
 * packet); the loop thread takes it for its rare changes. Nothing is allocated here. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "media_int.h"

#define LOG_MODULE "media"

#define TIMEOUT_CHECK_MS 200
#define ROUNDS_PER_WAKE	 4 /* recvmmsg rounds per ready socket before serving the others */

uint64_t media_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void media_relay_wake(struct media *m)
{
	uint64_t one = 1;

	if (m->wakefd >= 0 && write(m->wakefd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already non-zero, the thread will wake anyway. */
	}
}

void media_ev_push(struct media *m, struct media_leg *leg, const struct media_event *ev)
{
	uint64_t one = 1;

	if (m->evq_count == MEDIA_EVQ) {
		m->ev_lost++;
		return;
	}
	struct media_ev_item *it = &m->evq[(m->evq_head + m->evq_count) % MEDIA_EVQ];
	it->slot = leg->slot;
	it->gen = leg->gen;
	it->ev = *ev;
	if (m->evq_count++ == 0 && write(m->eventfd, &one, sizeof(one)) < 0) {
		/* counter already set: the loop will drain the queue */
	}
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Where the leg sends RTP now, or NULL. */
static const struct sa *leg_dst(const struct media_leg *leg)
{
	if (!leg->remote_set || !(leg->fmt.dir & SDP_SENDONLY))
		return NULL;
	if ((leg->rflags & MEDIA_REMOTE_COMEDIA) && leg->latch.latched)
		return &leg->latch.src;
	if (!sa_isset(&leg->sdp_rtp) || sa_is_any(&leg->sdp_rtp) || !sa_port(&leg->sdp_rtp))
		return NULL;
	return &leg->sdp_rtp;
}

static const struct sa *leg_dst_rtcp(const struct media_leg *leg)
{
	if (!leg->remote_set)
		return NULL;
	if ((leg->rflags & MEDIA_REMOTE_COMEDIA) && leg->rtcp_latched)
		return &leg->rtcp_src;
	if (!sa_isset(&leg->sdp_rtcp) || sa_is_any(&leg->sdp_rtcp) || !sa_port(&leg->sdp_rtcp))
		return NULL;
	return &leg->sdp_rtcp;
}

/* An input packet of the stream is not forwarded: later ones move down one sequence number so
 * the receiver sees no gap. */
static void out_suppress(struct media_ostream *o, uint32_t in_ssrc)
{
	if (!o->rewrite || o->in_ssrc != in_ssrc) {
		o->rewrite = true;
		o->seq_delta = 0;
		o->ts_delta = 0;
		o->in_ssrc = in_ssrc;
	}
	o->seq_delta--;
}

/* Rewrites a forwarded packet's seq/ts when the stream had insertions or suppressions; a new
 * SSRC is a new stream and passes untouched. */
static void out_pass(struct media_ostream *o, uint8_t *hdr, uint32_t ssrc, uint16_t seq,
		     uint32_t ts)
{
	if (o->rewrite && o->in_ssrc != ssrc)
		o->rewrite = false;
	if (o->rewrite) {
		seq = (uint16_t)(seq + o->seq_delta);
		ts += o->ts_delta;
		wr16(hdr + 2, seq);
		wr32(hdr + 4, ts);
	}
	o->started = true;
	o->ssrc = ssrc;
	o->in_ssrc = ssrc;
	o->last_seq = seq;
	o->last_ts = ts;
}

void media_send_generated(struct media *m, struct media_leg *leg, uint8_t pt, bool marker,
			  uint32_t ts, const uint8_t *payload, size_t len)
{
	struct media_ostream *o = &leg->out;
	const struct sa *dst = leg_dst(leg);
	uint8_t pkt[12 + 256 + MEDIA_SRTP_HEADROOM];
	size_t plen = 12 + len;

	if (!dst || len > 256)
		return;
	if (!o->started) {
		rand_bytes(&o->ssrc, sizeof(o->ssrc));
		rand_bytes(&o->last_seq, sizeof(o->last_seq));
		o->in_ssrc = o->ssrc;
		o->started = true;
	}
	if (!o->rewrite) {
		o->rewrite = true;
		o->seq_delta = 0;
		o->ts_delta = 0;
	}
	o->seq_delta++;
	o->last_seq++;
	if ((int32_t)(ts - o->last_ts) > 0)
		o->last_ts = ts;
	pkt[0] = 0x80;
	pkt[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	wr16(pkt + 2, o->last_seq);
	wr32(pkt + 4, ts);
	wr32(pkt + 8, o->ssrc);
	memcpy(pkt + 12, payload, len);
	if (leg->srtp_tx && media_srtp_protect(leg, pkt, &plen, false)) {
		m->cnt.srtp_bad++;
		return;
	}
	if (sendto(leg->fd[0], pkt, plen, 0, &dst->u.sa, dst->len) >= 0) {
		leg->st.tx_packets++;
		leg->st.tx_bytes += plen;
	}
}

/* An RFC 4733 packet from in's peer. Returns true when it is to be forwarded as an event. */
static bool handle_te(struct media *m, struct media_leg *in, const struct media_xlate *xl,
		      const uint8_t *pl, size_t len, const struct media_rtp *h)
{
	struct media_leg *out = in->peer;

	if (len < 4)
		return false;
	int code = pl[0];
	bool end = pl[1] & 0x80;
	uint32_t dur = (uint32_t)pl[2] << 8 | pl[3];
	char digit = media_dtmf_char(code);

	if (!in->te_in_active || h->ts != in->te_in_ts) {
		in->te_in_active = true;
		in->te_in_ts = h->ts;
		in->te_in_reported = false;
		if (digit && out && xl->act == MEDIA_ACT_TE_INBAND && !out->dout.active)
			media_dtmf_start(out, digit, true, 0, false, m->now);
	}
	if (digit && out && xl->act == MEDIA_ACT_TE_INBAND && out->dout.active && out->dout.tones &&
	    out->dout.digit == digit) {
		/* Carrier detectors want 40 ms at least; pad short events to 80 ms. */
		uint32_t want = dur < 640 ? 640 : dur;
		if (want > out->dout.target)
			out->dout.target = want;
		out->dout.last_in_ms = m->now;
		if (end)
			out->dout.ended = true;
	}
	if (end && !in->te_in_reported && digit) {
		struct media_event ev = {
		    .type = MEDIA_EV_DTMF, .digit = digit, .duration_ms = dur / 8};
		in->te_in_reported = true;
		in->st.dtmf_rx++;
		media_ev_push(m, in, &ev);
	}
	return xl->act == MEDIA_ACT_TE_PASS;
}

struct rx_batch {
	struct mmsghdr msgs[MEDIA_BATCH];
	struct iovec iov[MEDIA_BATCH];
	struct sockaddr_storage names[MEDIA_BATCH];
	struct mmsghdr out[MEDIA_BATCH];
	struct iovec oiov[MEDIA_BATCH];
};

static void batch_prepare(struct media *m, struct rx_batch *b)
{
	for (unsigned i = 0; i < MEDIA_BATCH; i++) {
		b->iov[i].iov_base = m->rxbuf + (size_t)i * MEDIA_PKT_STRIDE;
		b->iov[i].iov_len = MEDIA_PKT_MAX;
		memset(&b->msgs[i].msg_hdr, 0, sizeof(b->msgs[i].msg_hdr));
		b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
		b->msgs[i].msg_hdr.msg_iovlen = 1;
		b->msgs[i].msg_hdr.msg_name = &b->names[i];
		b->msgs[i].msg_hdr.msg_namelen = sizeof(b->names[i]);
	}
}

static void src_of(struct rx_batch *b, unsigned i, struct sa *src)
{
	socklen_t l = b->msgs[i].msg_hdr.msg_namelen;

	if (l > sizeof(src->u))
		l = sizeof(src->u);
	memcpy(&src->u, &b->names[i], l);
	src->len = l;
}

static void drop(struct media_leg *in, uint64_t *counter)
{
	(*counter)++;
	in->st.rx_dropped++;
}

/* Processes one received RTP packet; returns true when it was queued in b->out[*nout]. */
static bool rtp_one(struct media *m, struct media_leg *in, struct rx_batch *b, unsigned i,
		    uint64_t arrival_us, unsigned *nout)
{
	uint8_t *buf = b->iov[i].iov_base;
	size_t len = b->msgs[i].msg_len;
	struct media_rtp h;
	struct sa src;

	if (b->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
		drop(in, &m->cnt.rtp_bad);
		return false;
	}
	/* SRTP is checked and decrypted first: a forged packet latches nothing, and everything
	 * below (DTMF detection, PCMU<->PCMA, renumbering) sees plain RTP. */
	if (in->srtp_rx && media_srtp_unprotect(in, buf, &len, false)) {
		in->st.srtp_bad++;
		drop(in, &m->cnt.srtp_bad);
		return false;
	}
	if (media_rtp_check(buf, len, &h)) {
		drop(in, &m->cnt.rtp_bad);
		return false;
	}
	if (!in->remote_set) {
		drop(in, &m->cnt.wrong_source);
		return false;
	}
	src_of(b, i, &src);
	enum media_latch_verdict v =
	    media_latch_check(&in->latch, &src, &in->sdp_rtp, m->cfg.strictrtp, m->cfg.probation,
			      h.ssrc, h.seq, in->rs.init ? in->rs.ssrc : h.ssrc);
	if (v == MEDIA_LATCH_DROP) {
		drop(in, &m->cnt.wrong_source);
		return false;
	}
	if (v == MEDIA_LATCH_NEW) {
		struct media_event ev = {.type = MEDIA_EV_LATCHED, .addr = src};
		media_ev_push(m, in, &ev);
	}
	in->last_rx_ms = m->now;
	in->timed_out = false;

	if (!in->xl_idx[h.pt]) {
		drop(in, &m->cnt.unknown_pt);
		return false;
	}
	const struct media_xlate *xl = &in->xlv[in->xl_idx[h.pt] - 1];
	in->st.rx_packets++;
	in->st.rx_bytes += len;
	in->st.ssrc = h.ssrc;
	in->st.codec = (enum sdp_codec)xl->codec;
	in->last_clock = xl->clock;
	media_rxstat_update(&in->rs, h.ssrc, h.seq, h.ts,
			    (uint32_t)(arrival_us * (xl->clock / 1000) / 1000));
	if (!(in->fmt.dir & SDP_RECVONLY)) {
		in->st.rx_dropped++; /* it holds us, or we hold it: nothing to pass on */
		return false;
	}

	struct media_leg *out = in->peer;
	uint8_t *pl = buf + h.hdr_len;
	bool fwd_te = false;

	if (in->ep && xl->codec != SDP_CODEC_TE)
		media_ep_rx(m, in, pl, h.payload_len, (enum sdp_codec)xl->codec);

	if (xl->codec == SDP_CODEC_TE)
		fwd_te = handle_te(m, in, xl, pl, h.payload_len, &h);
	else if (xl->detect)
		media_dtmf_detect(m, in, pl, h.payload_len, (enum sdp_codec)xl->codec, m->now);
	if (!out) {
		m->cnt.not_bridged++;
		return false;
	}
	const struct sa *dst = leg_dst(out);
	if (!dst)
		return false;
	if (xl->codec == SDP_CODEC_TE ? !fwd_te || (out->ep && out->ep->src)
				      : (out->dout.active || (xl->detect && in->det_digit) ||
					 xl->act == MEDIA_ACT_DROP || (out->ep && out->ep->src))) {
		/* Replaced by what the relay generates (tones, events) or not wanted there. */
		out_suppress(&out->out, h.ssrc);
		return false;
	}
	if (xl->act == MEDIA_ACT_U2A) {
		for (size_t k = 0; k < h.payload_len; k++)
			pl[k] = media_u2a[pl[k]];
	} else if (xl->act == MEDIA_ACT_A2U) {
		for (size_t k = 0; k < h.payload_len; k++)
			pl[k] = media_a2u[pl[k]];
	}
	if (xl->out_pt != h.pt)
		buf[1] = (uint8_t)((buf[1] & 0x80) | xl->out_pt);
	out_pass(&out->out, buf, h.ssrc, h.seq, h.ts);
	/* The monitor hears the plain payload, before any encryption. */
	if (out->ep && out->ep->mon && out->fmt.nfmt)
		media_ep_tx(out, pl, h.payload_len, (enum sdp_codec)out->fmt.fmt[0].codec);
	if (out->srtp_tx && media_srtp_protect(out, buf, &len, false)) {
		m->cnt.srtp_bad++;
		return false;
	}

	b->oiov[*nout].iov_base = buf;
	b->oiov[*nout].iov_len = len;
	struct msghdr *mh = &b->out[*nout].msg_hdr;
	memset(mh, 0, sizeof(*mh));
	mh->msg_iov = &b->oiov[*nout];
	mh->msg_iovlen = 1;
	mh->msg_name = (void *)&dst->u.sa;
	mh->msg_namelen = dst->len;
	(*nout)++;
	out->st.tx_packets++;
	out->st.tx_bytes += len;
	return true;
}

static void relay_rtp(struct media *m, struct media_leg *in, struct rx_batch *b)
{
	for (int round = 0; round < ROUNDS_PER_WAKE; round++) {
		for (unsigned i = 0; i < MEDIA_BATCH; i++)
			b->msgs[i].msg_hdr.msg_namelen = sizeof(b->names[i]);
		int n = recvmmsg(in->fd[0], b->msgs, MEDIA_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		uint64_t arrival = now_us();
		unsigned nout = 0;
		for (int i = 0; i < n; i++)
			rtp_one(m, in, b, (unsigned)i, arrival, &nout);
		/* Every packet of one socket goes to the same partner socket: one sendmmsg. */
		if (nout && in->peer) {
			int s = sendmmsg(in->peer->fd[0], b->out, nout, MSG_DONTWAIT);
			if (s < (int)nout) {
				uint64_t lost = (uint64_t)(nout - (s < 0 ? 0 : (unsigned)s));
				in->peer->st.tx_packets -= lost;
			}
		}
		if (n < MEDIA_BATCH)
			return;
	}
}

static void relay_rtcp(struct media *m, struct media_leg *in, struct rx_batch *b)
{
	for (unsigned i = 0; i < MEDIA_BATCH; i++)
		b->msgs[i].msg_hdr.msg_namelen = sizeof(b->names[i]);
	int n = recvmmsg(in->fd[1], b->msgs, MEDIA_BATCH, MSG_DONTWAIT, NULL);

	for (int i = 0; i < n; i++) {
		uint8_t *buf = b->iov[i].iov_base;
		size_t len = b->msgs[i].msg_len;
		struct media_rtcp_rb rb;
		bool has_rb;
		struct sa src;

		if (b->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			m->cnt.rtcp_bad++;
			continue;
		}
		if (in->srtp_rx && media_srtp_unprotect(in, buf, &len, true)) {
			in->st.srtp_bad++;
			m->cnt.srtp_bad++;
			continue;
		}
		if (media_rtcp_check(buf, len, &rb, &has_rb)) {
			m->cnt.rtcp_bad++;
			continue;
		}
		src_of(b, (unsigned)i, &src);
		if (!in->remote_set) {
			m->cnt.wrong_source++;
			continue;
		}
		/* RTCP follows the RTP latch: same host as the accepted RTP source (or the SDP's
		 * RTCP address) unless strictrtp is off. */
		if (m->cfg.strictrtp != MEDIA_STRICT_NO &&
		    !(in->latch.latched && sa_eq_addr(&src, &in->latch.src)) &&
		    !sa_eq(&src, &in->sdp_rtcp)) {
			m->cnt.wrong_source++;
			continue;
		}
		in->rtcp_src = src;
		in->rtcp_latched = true;
		in->st.rtcp_rx++;
		if (has_rb) {
			uint32_t clk = in->fmt.nfmt ? in->fmt.fmt[0].clock : 8000;
			in->st.rr_count++;
			in->st.rr_fraction_lost = rb.fraction_lost;
			in->st.rr_cumulative_lost = rb.cumulative_lost;
			in->st.rr_jitter_ms = clk ? (double)rb.jitter * 1000.0 / clk : 0;
		}
		struct media_leg *out = in->peer;
		const struct sa *dst = out ? leg_dst_rtcp(out) : NULL;
		if (!dst)
			continue;
		if (out->srtp_tx && media_srtp_protect(out, buf, &len, true)) {
			m->cnt.srtp_bad++;
			continue;
		}
		if (sendto(out->fd[1], buf, len, MSG_DONTWAIT, &dst->u.sa, dst->len) >= 0)
			out->st.rtcp_tx++;
	}
}

/* Packets to a pooled pair (a late packet of the call that had it, a stray sender): read and
 * dropped, so the level-triggered epoll does not report them again. */
static void relay_drain(struct media *m, int fd, struct rx_batch *b)
{
	for (int round = 0; round < ROUNDS_PER_WAKE; round++) {
		for (unsigned i = 0; i < MEDIA_BATCH; i++)
			b->msgs[i].msg_hdr.msg_namelen = sizeof(b->names[i]);
		int n = recvmmsg(fd, b->msgs, MEDIA_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		m->cnt.wrong_source += (uint64_t)n;
		if (n < MEDIA_BATCH)
			return;
	}
}

static void relay_timers(struct media *m)
{
	bool timeouts = m->now - m->last_timeout_check >= TIMEOUT_CHECK_MS;
	bool any_dtmf = false;

	if (!timeouts && !m->dtmf_scan)
		return;
	if (timeouts)
		m->last_timeout_check = m->now;
	for (uint32_t i = 0; i < m->nslots; i++) {
		struct media_leg *leg = m->slots[i];
		if (!leg)
			continue;
		if (leg->dout.active) {
			media_dtmf_tick(m, leg, m->now);
			any_dtmf |= leg->dout.active;
		}
		if (!timeouts || !leg->remote_set || leg->timed_out)
			continue;
		bool hold = leg->fmt.dir != SDP_SENDRECV;
		uint32_t tmo = hold ? m->cfg.rtpholdtimeout : m->cfg.rtptimeout;
		if (tmo && m->now - leg->last_rx_ms >= (uint64_t)tmo * 1000) {
			struct media_event ev = {.type = MEDIA_EV_TIMEOUT};
			leg->timed_out = true;
			media_ev_push(m, leg, &ev);
		}
	}
	m->dtmf_scan = any_dtmf;
}

void *media_relay_main(void *arg)
{
	struct media *m = arg;
	struct epoll_event evs[64];
	struct rx_batch batch; /* on the thread's stack: nothing for threads that never relay */
	struct rx_batch *b = &batch;

	int wait = TIMEOUT_CHECK_MS;

	batch_prepare(m, b);
	for (;;) {
		int n = epoll_wait(m->epfd, evs, ARRAY_SIZE(evs), wait);

		pthread_mutex_lock(&m->mu);
		if (m->stopping) {
			pthread_mutex_unlock(&m->mu);
			break;
		}
		m->now = media_now_ms();
		for (int i = 0; i < n; i++) {
			uint64_t d = evs[i].data.u64;
			if (d == UINT64_MAX - 1) {
				uint64_t ticks = 0;
				if (read(m->timerfd, &ticks, sizeof(ticks)) < 0)
					ticks = 0;
				if (ticks > MEDIA_TICKS_MAX)
					ticks = MEDIA_TICKS_MAX; /* a stall is not made up in a burst */
				for (uint32_t s = 0; s < m->nslots && ticks; s++) {
					struct media_leg *el = m->slots[s];
					if (el && el->ep)
						for (uint64_t k = 0; k < ticks; k++)
							media_ep_tick(m, el);
				}
				continue;
			}
			if (d == UINT64_MAX) {
				uint64_t v;
				if (read(m->wakefd, &v, sizeof(v)) < 0) {
					/* nothing to read: another wake raced this one */
				}
				continue;
			}
			uint32_t idx = (uint32_t)(d >> 1);
			struct media_pair *pr = idx < m->npairs ? m->pairs[idx] : NULL;
			/* The pair may have been closed between epoll_wait and the lock. */
			if (!pr)
				continue;
			if (!pr->leg)
				relay_drain(m, pr->fd[d & 1], b); /* pooled: nobody's packets */
			else if (d & 1)
				relay_rtcp(m, pr->leg, b);
			else
				relay_rtp(m, pr->leg, b);
		}
		relay_timers(m);
		wait = m->dtmf_scan ? MEDIA_TICK_MS / 2 : TIMEOUT_CHECK_MS;
		pthread_mutex_unlock(&m->mu);
	}
	return NULL;
}
