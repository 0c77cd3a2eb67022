/* build: writes SIP responses and requests into growable buffers (RFC 3261 §8.2.6, §8.1.1, §18.2.1). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "sip.h"

/* Copies the request's topmost via-parm, replacing any received/rport parameters by the ones
 * this server must add: received when the sent-by host differs from the packet's source
 * (RFC 3261 §18.2.1), and both received and rport=<source port> when the client asked for rport
 * (RFC 3581 §4). */
static int write_top_via(struct mbuf *mb, const struct sip_msg *req)
{
	const struct sip_via *via = &req->via;
	char ip[SA_STRLEN];
	struct pl rest;
	bool want_received;
	int err;

	if (!sa_isset(&req->src))
		return mbuf_write_pl(mb, &via->raw);

	if (via->params.l && via->params.p)
		err = mbuf_write(mb, via->raw.p, (size_t)(via->params.p - via->raw.p));
	else
		err = mbuf_write_pl(mb, &via->raw);
	if (err)
		return err;

	/* Copy every parameter except received and rport, which are rewritten below. */
	rest = via->params;
	while (rest.l > 0 && rest.p) {
		const char *start = rest.p;
		const char *semi;
		struct pl name;
		size_t len;

		/* rest begins at ';' */
		semi = rest.l > 1 ? memchr(rest.p + 1, ';', rest.l - 1) : NULL;
		len = semi ? (size_t)(semi - start) : rest.l;
		name = pl_from(start + 1, len - 1);
		{
			const char *eq = pl_chr(&name, '=');
			if (eq)
				name.l = (size_t)(eq - name.p);
			pl_trim(&name);
		}
		if (!pl_caseeq_str(&name, "received") && !pl_caseeq_str(&name, "rport")) {
			err = mbuf_write(mb, start, len);
			if (err)
				return err;
		}
		rest.p += len;
		rest.l -= len;
	}

	sa_ntop(&req->src, ip, sizeof(ip));
	if (via->rport) {
		want_received = true;
	} else {
		struct pl srcip = pl_from_str(ip);
		want_received = pl_casecmp(&via->host, &srcip) != 0;
	}
	if (want_received) {
		/* IPv6 in received is written without brackets, per the RFC 3261 grammar. */
		err = mbuf_write(mb, ";received=", 10);
		if (!err)
			err = mbuf_write_str(mb, ip);
		if (err)
			return err;
	}
	if (via->rport) {
		err = mbuf_write(mb, ";rport=", 7);
		if (!err)
			err = mbuf_write_u64(mb, sa_port(&req->src));
	}
	return err;
}

/* Writes "Name: value\r\n". The buffer is reserved up front, so these are plain copies. */
static int write_hdr(struct mbuf *mb, const char *name, const struct pl *value)
{
	int err = mbuf_write_str(mb, name);

	if (!err)
		err = mbuf_write(mb, ": ", 2);
	if (!err)
		err = mbuf_write_pl(mb, value);
	if (!err)
		err = mbuf_write(mb, "\r\n", 2);
	return err;
}

int sip_build_response(struct mbuf *mb, const struct sip_msg *req, uint16_t code,
		       const char *reason, const char *totag, const char *extra, const char *ctype,
		       const struct pl *body)
{
	bool top_done = false;
	int err;

	if (!mb || !req || code < 100 || code > 699)
		return EINVAL;

	/* A response is about as long as the request's headers plus what we add. */
	err = mbuf_reserve(mb, req->raw.l - req->body.l + (extra ? strlen(extra) : 0) +
				       (body ? body->l : 0) + 128);
	if (!err)
		err = mbuf_write(mb, "SIP/2.0 ", 8);
	if (!err)
		err = mbuf_write_u64(mb, code);
	if (!err)
		err = mbuf_write(mb, " ", 1);
	if (!err && reason)
		err = mbuf_write_str(mb, reason);
	if (!err)
		err = mbuf_write(mb, "\r\n", 2);
	if (err)
		return err;

	for (size_t i = 0; i < req->nhdrs; i++) {
		const struct sip_hdr *h = &req->hdrs[i];

		if (h->id != SIP_HDR_VIA)
			continue;
		if (!top_done && req->via_ok && req->via.raw.p >= h->value.p &&
		    req->via.raw.p < h->value.p + h->value.l) {
			/* The first Via header holds the topmost via-parm, maybe with others after it. */
			const char *after = req->via.raw.p + req->via.raw.l;
			size_t before = (size_t)(req->via.raw.p - h->value.p);

			err = mbuf_write_str(mb, "Via: ");
			if (!err)
				err = mbuf_write(mb, h->value.p, before);
			if (!err)
				err = write_top_via(mb, req);
			if (!err)
				err = mbuf_write(mb, after,
						 (size_t)(h->value.p + h->value.l - after));
			if (!err)
				err = mbuf_write(mb, "\r\n", 2);
			top_done = true;
		} else {
			err = write_hdr(mb, "Via", &h->value);
		}
		if (err)
			return err;
	}

	for (size_t i = 0; i < req->nhdrs && !err; i++) {
		const struct sip_hdr *h = &req->hdrs[i];

		switch (h->id) {
		case SIP_HDR_FROM:
			err = write_hdr(mb, "From", &h->value);
			break;
		case SIP_HDR_TO:
			err = write_hdr(mb, "To", &h->value);
			if (!err && totag && code > 100 && !(req->to_ok && pl_isset(&req->to.tag))) {
				mb->end -= 2; /* reopen the line to append the tag */
				err = mbuf_write(mb, ";tag=", 5);
				if (!err)
					err = mbuf_write_str(mb, totag);
				if (!err)
					err = mbuf_write(mb, "\r\n", 2);
			}
			break;
		case SIP_HDR_CALL_ID:
			err = write_hdr(mb, "Call-ID", &h->value);
			break;
		case SIP_HDR_CSEQ:
			err = write_hdr(mb, "CSeq", &h->value);
			break;
		case SIP_HDR_TIMESTAMP:
			/* RFC 3261 §8.2.6.1: echo Timestamp in responses. */
			err = write_hdr(mb, "Timestamp", &h->value);
			break;
		default:
			break;
		}
	}
	if (err)
		return err;

	if (extra && *extra) {
		err = mbuf_write_str(mb, extra);
		if (err)
			return err;
	}
	if (ctype && body && body->l) {
		err = mbuf_write_str(mb, "Content-Type: ");
		if (!err)
			err = mbuf_write_str(mb, ctype);
		if (!err)
			err = mbuf_write(mb, "\r\n", 2);
		if (err)
			return err;
	}
	err = mbuf_write_str(mb, "Content-Length: ");
	if (!err)
		err = mbuf_write_u64(mb, body ? body->l : 0);
	if (!err)
		err = mbuf_write(mb, "\r\n\r\n", 4);
	if (!err && body && body->l)
		err = mbuf_write_pl(mb, body);
	return err;
}

/* Appends str unless an earlier write failed; returns the first error. */
static int put(struct mbuf *mb, int err, const char *str)
{
	return err ? err : mbuf_write_str(mb, str);
}

static int put_int(struct mbuf *mb, int v)
{
	int err = 0;

	if (v < 0)
		err = mbuf_write(mb, "-", 1);
	return err ? err : mbuf_write_u64(mb, v < 0 ? (uint64_t)(-(int64_t)v) : (uint64_t)v);
}

static bool needs_brackets(const char *host)
{
	return host[0] != '[' && strchr(host, ':') != NULL;
}

int sip_build_request(struct mbuf *mb, const struct sip_request_spec *s)
{
	const char *tpname;
	int err;

	if (!mb || !s || !s->method || !s->ruri || !s->via_host || !s->branch || !s->from ||
	    !s->to || !s->call_id)
		return EINVAL;

	tpname = sip_transport_name(s->tp != SIP_TP_NONE ? s->tp : SIP_TP_UDP);
	/* Written piece by piece, without printf: a call builds several requests. */
	err = put(mb, 0, s->method);
	err = put(mb, err, " ");
	err = put(mb, err, s->ruri);
	err = put(mb, err, " SIP/2.0\r\nVia: SIP/2.0/");
	err = put(mb, err, tpname);
	err = put(mb, err, needs_brackets(s->via_host) ? " [" : " ");
	err = put(mb, err, s->via_host);
	if (needs_brackets(s->via_host))
		err = put(mb, err, "]");
	if (!err && s->via_port) {
		err = put(mb, err, ":");
		if (!err)
			err = mbuf_write_u64(mb, s->via_port);
	}
	err = put(mb, err, ";branch=");
	err = put(mb, err, s->branch);
	err = put(mb, err, s->rport ? ";rport\r\nMax-Forwards: " : "\r\nMax-Forwards: ");
	if (!err)
		err = put_int(mb, s->max_forwards < 0 ? 70 : s->max_forwards);
	err = put(mb, err, "\r\nFrom: ");
	err = put(mb, err, s->from);
	err = put(mb, err, "\r\nTo: ");
	err = put(mb, err, s->to);
	err = put(mb, err, "\r\nCall-ID: ");
	err = put(mb, err, s->call_id);
	err = put(mb, err, "\r\nCSeq: ");
	if (!err)
		err = mbuf_write_u64(mb, s->cseq);
	err = put(mb, err, " ");
	err = put(mb, err, s->cseq_method ? s->cseq_method : s->method);
	err = put(mb, err, "\r\n");
	if (s->contact) {
		err = put(mb, err, "Contact: ");
		err = put(mb, err, s->contact);
		err = put(mb, err, "\r\n");
	}
	if (s->extra)
		err = put(mb, err, s->extra);
	if (s->ctype && s->body && s->body->l) {
		err = put(mb, err, "Content-Type: ");
		err = put(mb, err, s->ctype);
		err = put(mb, err, "\r\n");
	}
	err = put(mb, err, "Content-Length: ");
	if (!err)
		err = mbuf_write_u64(mb, s->body ? s->body->l : 0);
	err = put(mb, err, "\r\n\r\n");
	if (!err && s->body && s->body->l)
		err = mbuf_write_pl(mb, s->body);
	return err;
}

void sip_branch_new(char *buf, size_t size)
{
	static const char cookie[] = "z9hG4bK";

	if (size < sizeof(cookie) + 1) {
		if (size)
			buf[0] = '\0';
		return;
	}
	memcpy(buf, cookie, sizeof(cookie) - 1);
	/* 20 random base-36 characters: ~103 bits, unique across restarts without state. */
	rand_token(buf + sizeof(cookie) - 1, MIN(size - sizeof(cookie), (size_t)20));
}

void sip_tag_new(char *buf, size_t size)
{
	if (!size)
		return;
	rand_token(buf, MIN(size - 1, (size_t)16));
}
