/* sdp build: writes a struct sdp_desc as an SDP body with the leg's own address, and keeps the o=
 * line's session id and version (RFC 3264 §8: the version changes exactly when the body does). */
#include <errno.h>
#include <string.h>

#include "sdp.h"

void sdp_origin_init(struct sdp_origin *o)
{
	uint32_t r[2];

	memset(o, 0, sizeof(*o));
	rand_bytes(r, sizeof(r));
	/* Kept below 2^31 so peers that parse o= into a signed 32-bit number cope. */
	o->sess_id = r[0] & 0x7fffffff;
	o->version = r[1] & 0xffff;
}

static int write_fmt_attrs(struct mbuf *mb, const struct sdp_desc_fmt *f)
{
	int err = 0;
	enum sdp_codec c = (enum sdp_codec)f->codec;

	err |= mbuf_printf(mb, "a=rtpmap:%u %s/%u", f->pt, sdp_codec_name(c), sdp_codec_clock(c));
	if (c == SDP_CODEC_OPUS)
		err |= mbuf_write_str(mb, "/2");
	err |= mbuf_write_str(mb, "\r\n");
	if (c == SDP_CODEC_TE)
		err |= mbuf_printf(mb, "a=fmtp:%u 0-16\r\n", f->pt);
	else if (c == SDP_CODEC_G729)
		err |= mbuf_printf(mb, "a=fmtp:%u annexb=no\r\n", f->pt);
	return err ? ENOMEM : 0;
}

/* Everything after the o= line. */
static int build_rest(struct mbuf *mb, const struct sdp_desc *d, const char *ipv, const char *addr)
{
	int err = 0;
	const char *name = d->local.sess_name ? d->local.sess_name : "mikaka";

	err |= mbuf_printf(mb, "s=%s\r\nc=IN %s %s\r\nt=0 0\r\n", name, ipv, addr);
	for (unsigned i = 0; i < d->nmedia && !err; i++) {
		const struct sdp_desc_media *m = &d->media[i];
		if (m->rejected) {
			err |= mbuf_printf(mb, "m=%s 0 %s %s\r\n", m->type, m->proto,
					   m->rej_fmt[0] ? m->rej_fmt : "0");
			continue;
		}
		err |= mbuf_printf(mb, "m=%s %u %s", m->type, sa_port(&d->local.addr), m->proto);
		for (unsigned k = 0; k < m->nfmt; k++)
			err |= mbuf_printf(mb, " %u", m->fmt[k].pt);
		err |= mbuf_write_str(mb, "\r\n");
		if (d->local.legacy_hold && !(m->dir & SDP_RECVONLY))
			err |= mbuf_printf(mb, "c=IN %s %s\r\n", ipv,
					   sa_af(&d->local.addr) == AF_INET6 ? "::" : "0.0.0.0");
		for (unsigned k = 0; k < m->nfmt && !err; k++)
			err |= write_fmt_attrs(mb, &m->fmt[k]);
		if (m->ptime)
			err |= mbuf_printf(mb, "a=ptime:%u\r\n", m->ptime);
		for (unsigned k = 0; m->crypto && k < d->ncrypto && !err; k++)
			err |= sdp_crypto_encode(mb, &d->crypto[k]);
		err |= mbuf_printf(mb, "a=%s\r\n", sdp_dir_name(m->dir));
	}
	return err ? ENOMEM : 0;
}

int sdp_build(struct mbuf *out, const struct sdp_desc *desc)
{
	struct sdp_origin *o = desc->local.origin;
	struct sdp_origin tmp;
	struct mbuf rest;
	char addr[SA_STRLEN];
	const char *ipv;
	int err;

	if (!sa_isset(&desc->local.addr) || desc->nmedia == 0)
		return EINVAL;
	if (!o) {
		sdp_origin_init(&tmp);
		o = &tmp;
	}
	ipv = sa_af(&desc->local.addr) == AF_INET6 ? "IP6" : "IP4";
	sa_ntop(&desc->local.addr, addr, sizeof(addr));

	mbuf_init(&rest);
	err = build_rest(&rest, desc, ipv, addr);
	if (err)
		goto out;
	uint32_t h = hash_bytes(rest.buf, rest.end);
	uint64_t version = o->version;
	if (o->built && h != o->last_hash)
		version++;
	err = mbuf_printf(out, "v=0\r\no=- %llu %llu IN %s %s\r\n", (unsigned long long)o->sess_id,
			  (unsigned long long)version, ipv, addr);
	if (!err)
		err = mbuf_write(out, rest.buf, rest.end);
	if (!err) {
		o->version = version;
		o->last_hash = h;
		o->built = true;
	}
out:
	mbuf_reset(&rest);
	return err;
}
