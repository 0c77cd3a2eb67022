/* media rtp: RTP/RTCP header checks (RFC 3550 §5, §6, A.1, A.2), receive statistics (A.3 loss,
 * A.8 jitter), the latching rules and the even-port map. Pure functions: no sockets, no threads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media_int.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int media_rtp_check(const uint8_t *buf, size_t len, struct media_rtp *out)
{
	size_t hdr, pad = 0;

	if (len < 12 || (buf[0] >> 6) != 2)
		return EBADMSG;
	hdr = 12 + 4 * (size_t)(buf[0] & 0x0f);
	if (len < hdr)
		return EBADMSG;
	if (buf[0] & 0x10) { /* extension: 16-bit profile, 16-bit length in words */
		if (len < hdr + 4)
			return EBADMSG;
		hdr += 4 + 4 * (size_t)rd16(buf + hdr + 2);
		if (len < hdr)
			return EBADMSG;
	}
	if (buf[0] & 0x20) { /* padding: the last byte counts itself */
		pad = buf[len - 1];
		if (pad == 0 || hdr + pad > len)
			return EBADMSG;
	}
	uint8_t pt = buf[1] & 0x7f;
	/* 72-76 would be RTCP SR..APP with the marker bit (RFC 5761 §4): not RTP. */
	if (pt >= 72 && pt <= 76)
		return EBADMSG;
	if (len - hdr - pad == 0)
		return EBADMSG;
	out->pt = pt;
	out->marker = buf[1] & 0x80;
	out->seq = rd16(buf + 2);
	out->ts = rd32(buf + 4);
	out->ssrc = rd32(buf + 8);
	out->hdr_len = hdr;
	out->payload_len = len - hdr - pad;
	return 0;
}

int media_rtcp_check(const uint8_t *buf, size_t len, struct media_rtcp_rb *rb, bool *has_rb)
{
	size_t off = 0;
	bool first = true;

	*has_rb = false;
	if (len < 8)
		return EBADMSG;
	while (off < len) {
		if (len - off < 4)
			return EBADMSG;
		const uint8_t *p = buf + off;
		size_t plen = 4 * ((size_t)rd16(p + 2) + 1);
		uint8_t pt = p[1];
		unsigned rc = p[0] & 0x1f;
		if ((p[0] >> 6) != 2 || plen > len - off)
			return EBADMSG;
		/* Padding only in the last packet of the compound (A.2). */
		if ((p[0] & 0x20) && off + plen != len)
			return EBADMSG;
		if (first && pt != 200 && pt != 201)
			return EBADMSG;
		if (pt == 200 || pt == 201) {
			size_t rbs = pt == 200 ? 28 : 8; /* where report blocks start */
			if (plen < rbs + 24 * (size_t)rc)
				return EBADMSG;
			if (rc && !*has_rb) {
				const uint8_t *b = p + rbs;
				int32_t cl =
				    (int32_t)((uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7]);
				if (cl & 0x800000)
					cl -= 0x1000000; /* 24-bit signed */
				rb->ssrc = rd32(b);
				rb->fraction_lost = b[4];
				rb->cumulative_lost = cl;
				rb->jitter = rd32(b + 12);
				*has_rb = true;
			}
		}
		first = false;
		off += plen;
	}
	return 0;
}

#define SEQ_MOD	     (1u << 16)
#define MAX_DROPOUT  3000
#define MAX_MISORDER 100

static void rxstat_init(struct media_rxstat *s, uint32_t ssrc, uint16_t seq)
{
	memset(s, 0, sizeof(*s));
	s->init = true;
	s->ssrc = ssrc;
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = SEQ_MOD + 1;
}

void media_rxstat_update(struct media_rxstat *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
			 uint32_t arrival)
{
	if (!s->init || s->ssrc != ssrc) {
		rxstat_init(s, ssrc, seq);
	} else {
		uint16_t udelta = (uint16_t)(seq - s->max_seq);
		if (udelta < MAX_DROPOUT) {
			if (seq < s->max_seq)
				s->cycles += SEQ_MOD;
			s->max_seq = seq;
		} else if (udelta <= SEQ_MOD - MAX_MISORDER) {
			/* A big jump: the source restarted, or one stray packet. Two in a row
			 * restart the statistics (A.1). */
			if (seq == s->bad_seq) {
				rxstat_init(s, ssrc, seq);
			} else {
				s->bad_seq = (uint32_t)((seq + 1) & (SEQ_MOD - 1));
				return;
			}
		}
		/* else: duplicate or reordered, counted below */
	}
	s->received++;

	/* A.8: D(i-1,i) from relative transit times, J += (|D| - J) / 16. */
	int32_t transit = (int32_t)(arrival - ts);
	if (s->have_transit) {
		int32_t d = transit - s->transit;
		if (d < 0)
			d = -d;
		s->jitter16 += (uint32_t)d - ((s->jitter16 + 8) >> 4);
	}
	s->transit = transit;
	s->have_transit = true;
}

uint32_t media_rxstat_expected(const struct media_rxstat *s)
{
	if (!s->init)
		return 0;
	return s->cycles + s->max_seq - s->base_seq + 1;
}

int32_t media_rxstat_lost(const struct media_rxstat *s)
{
	return (int32_t)(media_rxstat_expected(s) - s->received);
}

uint32_t media_rxstat_jitter(const struct media_rxstat *s)
{
	return s->jitter16 >> 4;
}

void media_latch_reset(struct media_latch *l)
{
	memset(l, 0, sizeof(*l));
}

static enum media_latch_verdict probation(struct media_latch *l, const struct sa *src,
					  uint32_t prob, uint32_t ssrc, uint16_t seq)
{
	if (l->cand_count && sa_eq(&l->cand, src) && l->cand_ssrc == ssrc &&
	    seq == (uint16_t)(l->cand_seq + 1)) {
		l->cand_count++;
	} else {
		l->cand = *src;
		l->cand_ssrc = ssrc;
		l->cand_count = 1;
	}
	l->cand_seq = seq;
	if (l->cand_count < prob)
		return MEDIA_LATCH_DROP;
	l->latched = true;
	l->src = *src;
	l->cand_count = 0;
	return MEDIA_LATCH_NEW;
}

enum media_latch_verdict media_latch_check(struct media_latch *l, const struct sa *src,
					   const struct sa *expected, enum media_strict strict,
					   uint32_t prob, uint32_t ssrc, uint16_t seq,
					   uint32_t cur_ssrc)
{
	bool is_expected = expected && sa_isset(expected) && sa_eq(expected, src);

	if (l->latched && sa_eq(&l->src, src))
		return MEDIA_LATCH_ACCEPT;
	if (strict == MEDIA_STRICT_NO || (!l->latched && is_expected) || prob <= 1) {
		if (strict != MEDIA_STRICT_NO && l->latched && !is_expected &&
		    !sa_eq_addr(&l->src, src))
			return MEDIA_LATCH_DROP;
		l->latched = true;
		l->src = *src;
		l->cand_count = 0;
		return MEDIA_LATCH_NEW;
	}
	if (!l->latched)
		return probation(l, src, prob, ssrc, seq);
	/* Latched and strict: only a port change of the same host or the announced address. */
	if (!sa_eq_addr(&l->src, src) && !is_expected)
		return MEDIA_LATCH_DROP;
	if (strict == MEDIA_STRICT_SEQNO && ssrc != cur_ssrc) {
		l->cand_count = 0;
		return MEDIA_LATCH_DROP;
	}
	return probation(l, src, prob, ssrc, seq);
}

int media_ports_init(struct media_ports *p, uint16_t start, uint16_t end)
{
	memset(p, 0, sizeof(*p));
	if (start & 1)
		start++;
	if (start == 0 || end < start + 1u)
		return EINVAL;
	p->start = start;
	p->npairs = ((uint32_t)end - start + 1) / 2;
	p->bitmap = calloc((p->npairs + 7) / 8, 1);
	return p->bitmap ? 0 : ENOMEM;
}

void media_ports_reset(struct media_ports *p)
{
	free(p->bitmap);
	memset(p, 0, sizeof(*p));
}

int media_ports_alloc(struct media_ports *p, media_port_try_h *try_h, void *arg, uint16_t *port)
{
	if (!p->bitmap)
		return EINVAL;
	for (uint32_t i = 0; i < p->npairs && p->used < p->npairs; i++) {
		uint32_t idx = (p->next + i) % p->npairs;
		if (p->bitmap[idx / 8] & (1u << (idx % 8)))
			continue;
		uint16_t rtp = (uint16_t)(p->start + 2 * idx);
		int err = try_h ? try_h(rtp, arg) : 0;
		if (err == EADDRINUSE || err == EACCES)
			continue; /* taken by another program: the next one */
		if (err)
			return err; /* e.g. EADDRNOTAVAIL: no port would do */
		p->bitmap[idx / 8] |= (uint8_t)(1u << (idx % 8));
		p->used++;
		p->next = (idx + 1) % p->npairs;
		*port = rtp;
		return 0;
	}
	return EADDRINUSE;
}

void media_ports_release(struct media_ports *p, uint16_t port)
{
	if (!p->bitmap || port < p->start)
		return;
	uint32_t idx = (uint32_t)(port - p->start) / 2;
	if (idx >= p->npairs || !(p->bitmap[idx / 8] & (1u << (idx % 8))))
		return;
	p->bitmap[idx / 8] &= (uint8_t) ~(1u << (idx % 8));
	p->used--;
}
