/* addr: name-addr / addr-spec with header parameters (RFC 3261 §20.10, §20.20, §25.1), Via
 * (§20.42, with RFC 3581 rport and RFC 5118 bracketed received) and CSeq (§20.16). */
#include <errno.h>
#include <string.h>

#include "sip_int.h"

static const struct sip_addr zero_addr;
static const struct sip_via zero_via;

/* Header parameters after the URI: checked and the tag taken out, in one pass. */
static int addr_params(struct sip_addr *a, const char *p, const char *end, const char **why)
{
	struct sip_param_scan ps;
	struct pl n, v;
	int err;

	p = sip_skip_lws(p, end);
	if (p == end)
		return 0;
	if (*p != ';') {
		*why = "junk after the URI";
		return EBADMSG;
	}
	a->params = pl_from(p, (size_t)(end - p));
	ps = (struct sip_param_scan){p, end, false};
	while ((err = sip_hparam_next(&ps, &n, &v)) == 0) {
		if (n.l == 3 && sip_letters_eq(n.p, "tag", 3) && !a->tag.p) {
			if (!v.l || v.p[0] == '"') {
				*why = "bad tag";
				return EBADMSG;
			}
			a->tag = v;
		}
	}
	if (err != ENOENT) {
		*why = "bad parameter";
		return EBADMSG;
	}
	return 0;
}

/* Decodes straight into *a (see uri_decode() for why there is no local copy). */
static int addr_decode(struct sip_addr *a, struct pl t, const char **why, bool zeroed)
{
	const char *p, *end, *s;
	int err;

	if (!zeroed)
		*a = zero_addr;
	sip_trim(&t);
	if (t.l == 0) {
		*why = "empty";
		return EBADMSG;
	}
	p = t.p;
	end = p + t.l;
	if (t.l == 1 && *p == '*') {
		a->wildcard = true;
		a->auri = t;
		return 0;
	}

	if (*p == '"') {
		const char *q = sip_quoted_end(p, end);

		if (!q) {
			*why = "unterminated quoted string";
			return EBADMSG;
		}
		a->dname = pl_from(p + 1, (size_t)(q - p - 1));
		p = sip_skip_lws(q + 1, end);
		if (p == end || *p != '<') {
			*why = "missing '<' after the display name";
			return EBADMSG;
		}
	} else {
		/* A display name of tokens reaches '<'; an addr-spec reaches the scheme's ':'
		 * first (schemes are tokens too). Anything else (a comma, say) is neither. */
		s = p;
		while (p < end && (sip_ct(*p, SIP_CT_TOKEN) || sip_is_lws(*p)))
			p++;
		if (p < end && *p == '<') {
			struct pl dn = pl_from(s, (size_t)(p - s));

			sip_trim(&dn);
			if (dn.l)
				a->dname = dn;
		} else if (p < end && *p == ':') {
			p = s;
		} else {
			*why = p < end && *p == '"' && !sip_quoted_end(p, end)
				   ? "unterminated quoted string"
				   : "bad display name";
			return EBADMSG;
		}
	}

	if (*p == '<') {
		const char *gt = memchr(p + 1, '>', (size_t)(end - p - 1));

		if (!gt) {
			*why = "missing '>'";
			return EBADMSG;
		}
		a->auri = pl_from(p + 1, (size_t)(gt - p - 1));
		p = gt + 1;
	} else {
		/* addr-spec: the URI ends at the first ';' or LWS (§20.10: a URI with ';', '?'
		 * or ',' must be written inside <>). */
		s = p;
		while (p < end && *p != ';' && !sip_is_lws(*p))
			p++;
		a->auri = pl_from(s, (size_t)(p - s));
		if (memchr(s, '?', a->auri.l)) {
			*why = "URI with headers outside <>";
			return EBADMSG;
		}
	}
	err = sip_uri_decode_zeroed(&a->uri, &a->auri); /* a->uri is still all zero */
	if (err) {
		*why = "bad URI";
		return err;
	}
	err = addr_params(a, p, end, why);
	if (err)
		return err;
	return 0;
}

int sip_addr_decode_why(struct sip_addr *addr, const struct pl *text, const char **why)
{
	int err;

	*why = "malformed";
	if (!addr || !text || !text->p)
		return EBADMSG;
	err = addr_decode(addr, pl_from(text->p, text->l), why, false);
	if (err)
		*addr = zero_addr;
	return err;
}

int sip_addr_decode_zeroed(struct sip_addr *addr, const struct pl *text, const char **why)
{
	int err;

	*why = "malformed";
	if (!text->p)
		return EBADMSG;
	err = addr_decode(addr, pl_from(text->p, text->l), why, true);
	if (err)
		*addr = zero_addr;
	return err;
}

int sip_addr_decode(struct sip_addr *addr, const struct pl *text)
{
	const char *why;

	return sip_addr_decode_why(addr, text, &why);
}

/* ---------------------------------------------------------------------------------------------
 * Via.
 */
static const char *via_token(const char *p, const char *end, struct pl *tok)
{
	const char *s = p;

	while (p < end && sip_ct(*p, SIP_CT_TOKEN))
		p++;
	*tok = pl_from(s, (size_t)(p - s));
	return p;
}

static int via_params(struct sip_via *v, const char *p, const char *end)
{
	struct sip_param_scan ps = {p, end, false};
	struct pl n, val;
	int err;

	while ((err = sip_hparam_next(&ps, &n, &val)) == 0) {
		if (n.l == 6 && sip_letters_eq(n.p, "branch", 6)) {
			if (!val.l)
				return EBADMSG;
			if (!v->branch.p)
				v->branch = val;
		} else if (n.l == 8 && sip_letters_eq(n.p, "received", 8)) {
			if (!val.l)
				return EBADMSG;
			/* RFC 5118 §4.5: accept the address with or without brackets. */
			if (val.p[0] == '[') {
				if (val.l < 3 || val.p[val.l - 1] != ']')
					return EBADMSG;
				val = pl_from(val.p + 1, val.l - 2);
			}
			if (!v->received.p)
				v->received = val;
		} else if (n.l == 5 && sip_letters_eq(n.p, "maddr", 5)) {
			if (!val.l)
				return EBADMSG;
			if (!v->maddr.p)
				v->maddr = val;
		} else if (n.l == 5 && sip_letters_eq(n.p, "rport", 5)) {
			v->rport = true;
			if (val.l) {
				const char *q = val.p;

				if (sip_port_decode(&q, val.p + val.l, &v->rport_value) ||
				    q != val.p + val.l)
					return EBADMSG;
			}
		}
	}
	return err == ENOENT ? 0 : err;
}

static int via_decode(struct sip_via *v, struct pl t, bool zeroed)
{
	struct pl proto;
	const char *p, *end, *q;
	int err;

	if (!zeroed)
		*v = zero_via;
	sip_trim(&t);
	p = t.p;
	end = p + t.l;
	v->raw = t;

	/* sent-protocol = protocol-name SLASH protocol-version SLASH transport, SLASH being
	 * SWS "/" SWS (RFC 3261 §25.1), so LWS may surround each '/'. */
	p = via_token(p, end, &proto);
	if (!proto.l)
		return EBADMSG;
	p = sip_skip_lws(p, end);
	if (p == end || *p != '/')
		return EBADMSG;
	p = sip_skip_lws(p + 1, end);
	p = via_token(p, end, &v->version);
	if (!v->version.l)
		return EBADMSG;
	p = sip_skip_lws(p, end);
	if (p == end || *p != '/')
		return EBADMSG;
	p = sip_skip_lws(p + 1, end);
	p = via_token(p, end, &v->transport);
	if (!v->transport.l)
		return EBADMSG;
	v->tp = sip_transport_lookup(&v->transport);
	if (p == end || !sip_is_lws(*p))
		return EBADMSG;
	p = sip_skip_lws(p, end);

	if (p < end && *p == '[') {
		err = sip_v6ref_decode(&p, end, &v->host);
		if (err)
			return err;
		v->host_ipv6 = true;
	} else {
		const char *s = p;

		p = sip_span_host(p, end);
		if (p == s)
			return EBADMSG;
		v->host = pl_from(s, (size_t)(p - s));
	}
	q = sip_skip_lws(p, end);
	if (q < end && *q == ':') {
		p = sip_skip_lws(q + 1, end);
		err = sip_port_decode(&p, end, &v->port);
		if (err)
			return err;
		q = sip_skip_lws(p, end);
	}
	if (q < end) {
		if (*q != ';')
			return EBADMSG;
		v->params = pl_from(q, (size_t)(end - q));
		err = via_params(v, q, end);
		if (err)
			return err;
	}
	return 0;
}

int sip_via_decode(struct sip_via *via, const struct pl *text)
{
	int err;

	if (!via || !text || !text->p)
		return EBADMSG;
	err = via_decode(via, pl_from(text->p, text->l), false);
	if (err)
		*via = zero_via;
	return err;
}

int sip_via_decode_zeroed(struct sip_via *via, const struct pl *text)
{
	int err = via_decode(via, pl_from(text->p, text->l), true);

	if (err)
		*via = zero_via;
	return err;
}

/* ---------------------------------------------------------------------------------------------
 * CSeq.
 */
int sip_cseq_decode(struct sip_cseq *cseq, const struct pl *text)
{
	struct pl t;
	const char *p, *end, *s;
	uint64_t num = 0;
	struct sip_cseq c;

	if (!text || !text->p)
		return EBADMSG;
	t = pl_from(text->p, text->l);
	sip_trim(&t);
	p = t.p;
	end = p + t.l;
	s = p;
	while (p < end && sip_ct(*p, SIP_CT_DIGIT)) {
		num = num * 10 + (uint64_t)(*p - '0');
		if (num > UINT32_MAX)
			return EBADMSG;
		p++;
	}
	if (p == s || p == end || !sip_is_lws(*p))
		return EBADMSG;
	p = sip_skip_lws(p, end);
	p = via_token(p, end, &c.method);
	if (!c.method.l || p != end)
		return EBADMSG;
	c.num = (uint32_t)num;
	c.mid = sip_method_lookup(&c.method);
	*cseq = c;
	return 0;
}
