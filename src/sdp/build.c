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

/* The body is written piece by piece rather than with mbuf_printf: sdp_build runs for every
 * offer and answer of every call, and vsnprintf was most of its cost (18 calls per call). */
static int put(struct mbuf *mb, const char *s)
{
	return mbuf_write_str(mb, s);
}

static int put_u(struct mbuf *mb, uint64_t v)
{
	return mbuf_write_u64(mb, v);
}

static int write_fmt_attrs(struct mbuf *mb, const struct sdp_desc_fmt *f)
{
	int err = 0;
	enum sdp_codec c = (enum sdp_codec)f->codec;

	err |= put(mb, "a=rtpmap:");
	err |= put_u(mb, f->pt);
	err |= put(mb, " ");
	err |= put(mb, sdp_codec_name(c));
	err |= put(mb, "/");
	err |= put_u(mb, sdp_codec_clock(c));
	if (c == SDP_CODEC_OPUS)
		err |= put(mb, "/2");
	err |= put(mb, "\r\n");
	if (c == SDP_CODEC_TE || c == SDP_CODEC_G729) {
		err |= put(mb, "a=fmtp:");
		err |= put_u(mb, f->pt);
		err |= put(mb, c == SDP_CODEC_TE ? " 0-16\r\n" : " annexb=no\r\n");
	}
	return err ? ENOMEM : 0;
}

/* FNV-1a over 8-byte words (then the tail): the body after o= is hashed for every offer and
 * answer built, and hash_bytes' byte loop was a quarter of sdp_build. Only compared with the
 * previous hash of the same leg, never stored. */
static uint32_t body_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 14695981039346656037u;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, sizeof(w));
		h = (h ^ w) * 1099511628211u;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 1099511628211u;
	return (uint32_t)(h ^ (h >> 32));
}

/* Everything after the o= line. */
static int build_rest(struct mbuf *mb, const struct sdp_desc *d, const char *ipv, const char *addr)
{
	int err = 0;
	const char *name = d->local.sess_name ? d->local.sess_name : "mikaka";

	err |= put(mb, "s=");
	err |= put(mb, name);
	err |= put(mb, "\r\nc=IN ");
	err |= put(mb, ipv);
	err |= put(mb, " ");
	err |= put(mb, addr);
	err |= put(mb, "\r\nt=0 0\r\n");
	for (unsigned i = 0; i < d->nmedia && !err; i++) {
		const struct sdp_desc_media *m = &d->media[i];
		if (m->rejected) {
			err |= put(mb, "m=");
			err |= put(mb, m->type);
			err |= put(mb, " 0 ");
			err |= put(mb, m->proto);
			err |= put(mb, " ");
			err |= put(mb, m->rej_fmt[0] ? m->rej_fmt : "0");
			err |= put(mb, "\r\n");
			continue;
		}
		err |= put(mb, "m=");
		err |= put(mb, m->type);
		err |= put(mb, " ");
		err |= put_u(mb, sa_port(&d->local.addr));
		err |= put(mb, " ");
		err |= put(mb, m->proto);
		for (unsigned k = 0; k < m->nfmt; k++) {
			err |= put(mb, " ");
			err |= put_u(mb, m->fmt[k].pt);
		}
		err |= put(mb, "\r\n");
		if (d->local.legacy_hold && !(m->dir & SDP_RECVONLY)) {
			err |= put(mb, "c=IN ");
			err |= put(mb, ipv);
			err |=
			    put(mb, sa_af(&d->local.addr) == AF_INET6 ? " ::\r\n" : " 0.0.0.0\r\n");
		}
		for (unsigned k = 0; k < m->nfmt && !err; k++)
			err |= write_fmt_attrs(mb, &m->fmt[k]);
		if (m->ptime) {
			err |= put(mb, "a=ptime:");
			err |= put_u(mb, m->ptime);
			err |= put(mb, "\r\n");
		}
		for (unsigned k = 0; m->crypto && k < d->ncrypto && !err; k++)
			err |= sdp_crypto_encode(mb, &d->crypto[k]);
		err |= put(mb, "a=");
		err |= put(mb, sdp_dir_name(m->dir));
		err |= put(mb, "\r\n");
	}
	return err ? ENOMEM : 0;
}

int sdp_build(struct mbuf *out, const struct sdp_desc *desc)
{
	struct sdp_origin *o = desc->local.origin;
	struct sdp_origin tmp;
	char addr[SA_STRLEN];
	/* "v=0\r\no=- ID VERSION IN IP4 ADDR\r\n" */
	char head[32 + 2 * STR_U64_LEN + SA_STRLEN];
	size_t start = out->end, hlen = 0, rlen;
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

	/* Everything after o= is written first, in place: the o= version depends on whether it
	 * changed, and the line is then put in front of it (no second buffer, no copy of it). */
	err = build_rest(out, desc, ipv, addr);
	if (err) {
		out->end = start;
		return err;
	}
	rlen = out->end - start;
	uint32_t h = body_hash(out->buf + start, rlen);
	uint64_t version = o->version;
	if (o->built && h != o->last_hash)
		version++;
	{
		char num[STR_U64_LEN], ver[STR_U64_LEN];
		const char *parts[] = {"v=0\r\no=- ", str_u64(num, o->sess_id),
				       " ",	      str_u64(ver, version),
				       " IN ",	      ipv,
				       " ",	      addr,
				       "\r\n"};

		for (unsigned i = 0; i < ARRAY_SIZE(parts); i++) {
			size_t n = strlen(parts[i]);

			memcpy(head + hlen, parts[i], n);
			hlen += n;
		}
	}
	err = mbuf_reserve(out, hlen);
	if (err) {
		out->end = start;
		return err;
	}
	memmove(out->buf + start + hlen, out->buf + start, rlen);
	memcpy(out->buf + start, head, hlen);
	out->end += hlen;
	o->version = version;
	o->last_hash = h;
	o->built = true;
	return 0;
}
