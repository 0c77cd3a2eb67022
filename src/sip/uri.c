/* uri: SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966; IPv6 references per RFC 5118),
 * parameter lists, percent-unescaping and URI comparison (§19.1.4). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "sip_int.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Skips bytes of class cls and well-formed %HEX HEX escapes. Returns where it stopped; sets
 * *bad when it stopped at a malformed escape. */
static const char *scan_esc(const char *p, const char *end, uint16_t cls, bool *bad)
{
	while (p < end) {
		if (sip_ct(*p, cls)) {
			p++;
		} else if (*p == '%') {
			if (end - p < 3 || !sip_ct(p[1], SIP_CT_HEX) || !sip_ct(p[2], SIP_CT_HEX)) {
				*bad = true;
				return p;
			}
			p += 3;
		} else {
			break;
		}
	}
	return p;
}

/* ---------------------------------------------------------------------------------------------
 * Parameters.
 */
int sip_param_next(struct sip_param_scan *ps, struct pl *name, struct pl *value)
{
	const char *p = ps->p, *end = ps->end, *s;
	bool bad = false;

	if (!ps->uri)
		return sip_hparam_next(ps, name, value);
	if (p >= end) {
		ps->p = end;
		return ENOENT;
	}
	if (*p != ';')
		return EBADMSG;
	p++;
	s = p;
	p = scan_esc(p, end, SIP_CT_PARAM, &bad);
	if (p == s || bad)
		return EBADMSG;
	*name = pl_from(s, (size_t)(p - s));
	*value = (struct pl)PL_INIT;

	s = p;
	if (s < end && *s == '=') {
		const char *v;

		s++;
		v = s;
		s = scan_esc(s, end, SIP_CT_PARAM, &bad);
		if (s == v || bad)
			return EBADMSG;
		*value = pl_from(v, (size_t)(s - v));
		p = s;
	}
	ps->p = p;
	return 0;
}

int sip_params_check(const struct pl *params, bool uri)
{
	struct sip_param_scan ps;
	struct pl n, v;
	int err;

	if (!params->p)
		return 0;
	ps = (struct sip_param_scan){params->p, params->p + params->l, uri};
	while ((err = sip_param_next(&ps, &n, &v)) == 0)
		;
	return err == ENOENT ? 0 : err;
}

int sip_param_get(const struct pl *params, const char *name, struct pl *value)
{
	struct sip_param_scan ps;
	size_t nl;
	struct pl n, v;

	if (!params || !params->p || !name)
		return ENOENT;
	nl = strlen(name);
	ps = (struct sip_param_scan){params->p, params->p + params->l, false};
	while (sip_param_next(&ps, &n, &v) == 0) {
		if (n.l == nl && sip_caseeq(n.p, name, nl)) {
			if (value)
				*value = v.p ? v : pl_from(n.p + n.l, 0);
			return 0;
		}
	}
	return ENOENT;
}

bool sip_param_exists(const struct pl *params, const char *name)
{
	return sip_param_get(params, name, NULL) == 0;
}

/* ---------------------------------------------------------------------------------------------
 * Decoding.
 */
int sip_port_decode(const char **pp, const char *end, uint16_t *port)
{
	const char *p = *pp;
	uint32_t v = 0;
	size_t n = 0;

	while (p < end && sip_ct(*p, SIP_CT_DIGIT)) {
		v = v * 10 + (uint32_t)(*p - '0');
		if (v > 65535)
			return EBADMSG;
		p++;
		n++;
	}
	if (n == 0)
		return EBADMSG;
	*port = (uint16_t)v;
	*pp = p;
	return 0;
}

/* "[IPv6]" at p: host without brackets. Strict (inet_pton), so the buggy-ABNF form with three
 * colons (RFC 5118 §4.10) is refused; see docs in the unit test. */
int sip_v6ref_decode(const char **pp, const char *end, struct pl *host)
{
	const char *p = *pp + 1, *close;
	char buf[64];
	struct in6_addr a6;
	size_t n;

	close = memchr(p, ']', (size_t)(end - p));
	if (!close)
		return EBADMSG;
	n = (size_t)(close - p);
	if (n < 2 || n >= sizeof(buf))
		return EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (!sip_ct(p[i], SIP_CT_V6))
			return EBADMSG;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, &a6) != 1)
		return EBADMSG;
	*host = pl_from(p, n);
	*pp = close + 1;
	return 0;
}

static int decode_sip(struct sip_uri *u, const char *p, const char *end)
{
	const char *at = p, *colon = NULL;
	bool bad = false, pct = false;
	int err;

	/* userinfo: user and password characters (user ones are a superset) up to an '@'. The
	 * user part needs a second look only when it holds a '%' (its escapes checked): else
	 * it is all user characters up to the first ':'. */
	while (at < end) {
		if (sip_ct(*at, SIP_CT_USER)) {
			at++;
			continue;
		}
		if (*at == ':') {
			if (!colon)
				colon = at;
		} else if (*at == '%') {
			pct = true;
		} else {
			break;
		}
		at++;
	}
	if (at < end && *at == '@') {
		const char *uend = colon ? colon : at;

		if (uend == p || (pct && scan_esc(p, uend, SIP_CT_USER, &bad) != uend))
			return EBADMSG;
		u->user = pl_from(p, (size_t)(uend - p));
		if (colon) {
			if (scan_esc(colon + 1, at, SIP_CT_PASS, &bad) != at)
				return EBADMSG;
			u->password = pl_from(colon + 1, (size_t)(at - colon - 1));
		}
		p = at + 1;
	}
	if (p < end && *p == '[') {
		err = sip_v6ref_decode(&p, end, &u->host);
		if (err)
			return err;
		u->host_ipv6 = true;
	} else {
		const char *s = p;

		p = sip_span_host(p, end);
		if (p == s)
			return EBADMSG;
		u->host = pl_from(s, (size_t)(p - s));
	}
	if (p < end && *p == ':') {
		p++;
		err = sip_port_decode(&p, end, &u->port);
		if (err)
			return err;
	}
	if (p < end && *p == ';') {
		const char *s = p;

		while (p < end && *p == ';') {
			const char *n = ++p;

			p = scan_esc(p, end, SIP_CT_PARAM, &bad);
			if (p == n || bad)
				return EBADMSG;
			if (p < end && *p == '=') {
				n = ++p;
				p = scan_esc(p, end, SIP_CT_PARAM, &bad);
				if (p == n || bad)
					return EBADMSG;
			}
		}
		u->params = pl_from(s, (size_t)(p - s));
	}
	if (p < end && *p == '?') {
		const char *s = ++p;

		while (p < end) {
			const char *q;

			if (*p == '=' || *p == '&') {
				p++;
				continue;
			}
			q = scan_esc(p, end, SIP_CT_HNV, &bad);
			if (q == p)
				break;
			p = q;
		}
		if (p == s || p != end || bad)
			return EBADMSG;
		u->headers = pl_from(s, (size_t)(end - s));
	}
	return p == end ? 0 : EBADMSG;
}

static int decode_tel(struct sip_uri *u, const char *p, const char *end)
{
	const char *s = p;

	while (p < end && (sip_ct(*p, SIP_CT_HEX) || *p == '*' || *p == '#' || *p == '-' ||
			   *p == '.' || *p == '(' || *p == ')' || *p == '+'))
		p++;
	if (p == s)
		return EBADMSG;
	u->user = pl_from(s, (size_t)(p - s));
	if (p < end) {
		if (*p != ';')
			return EBADMSG;
		u->params = pl_from(p, (size_t)(end - p));
		return sip_params_check(&u->params, true);
	}
	return 0;
}

static const struct sip_uri zero_uri;

/* Decodes straight into *u: building a copy and assigning it would reload words just stored
 * (a store-forwarding stall that cost a quarter of the decoder), and zeroing comes from a
 * constant rather than memset (a "rep stos" costs more than this whole function). */
static int uri_decode(struct sip_uri *u, const char *p, size_t l, bool zeroed)
{
	const char *end = p + l, *s = p;

	if (!zeroed)
		*u = zero_uri;
	u->raw = pl_from(p, l);
	/* "sip:" (nearly every URI) without the scheme scan, which would stop at the same ':'. */
	if (l > 4 && sip_letters_eq(p, "sip", 3) && p[3] == ':') {
		u->scheme_name = pl_from(s, 3);
		u->scheme = SIP_URI_SIP;
		return decode_sip(u, p + 4, end);
	}
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return EBADMSG;
	while (p < end && sip_ct(*p, SIP_CT_SCHEME))
		p++;
	if (p == end || *p != ':')
		return EBADMSG;
	u->scheme_name = pl_from(s, (size_t)(p - s));
	p++;
	if (u->scheme_name.l == 3 && sip_letters_eq(s, "sip", 3))
		u->scheme = SIP_URI_SIP;
	else if (u->scheme_name.l == 4 && sip_letters_eq(s, "sips", 4))
		u->scheme = SIP_URI_SIPS;
	else if (u->scheme_name.l == 3 && sip_letters_eq(s, "tel", 3))
		u->scheme = SIP_URI_TEL;

	switch (u->scheme) {
	case SIP_URI_SIP:
	case SIP_URI_SIPS:
		return decode_sip(u, p, end);
	case SIP_URI_TEL:
		return decode_tel(u, p, end);
	default:
		/* Opaque: any visible character that cannot end a URI inside a header. */
		u->opaque = pl_from(p, (size_t)(end - p));
		if (p == end)
			return EBADMSG;
		for (; p < end; p++) {
			if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>' || *p == '"')
				return EBADMSG;
		}
		return 0;
	}
}

static int uri_decode_pl(struct sip_uri *uri, const struct pl *text, bool zeroed)
{
	const char *p;
	size_t l;
	int err;

	if (!uri || !text || !text->p || text->l == 0) {
		if (uri)
			*uri = zero_uri;
		return EBADMSG;
	}
	p = text->p; /* read before *uri is written: text may point into it */
	l = text->l;
	err = uri_decode(uri, p, l, zeroed);
	if (err)
		*uri = zero_uri;
	return err;
}

int sip_uri_decode(struct sip_uri *uri, const struct pl *text)
{
	if (!uri || !text || !text->p || text->l == 0)
		return EBADMSG;
	return uri_decode_pl(uri, text, false);
}

int sip_uri_decode_zeroed(struct sip_uri *uri, const struct pl *text)
{
	return uri_decode_pl(uri, text, true);
}

int sip_unescape(const struct pl *in, struct mbuf *out)
{
	const char *p, *end, *run;
	int err;

	if (!in || !out)
		return EINVAL;
	if (!in->p)
		return 0;
	p = run = in->p;
	end = p + in->l;
	while (p < end) {
		uint8_t b;

		if (*p != '%') {
			p++;
			continue;
		}
		if (end - p < 3 || hexval(p[1]) < 0 || hexval(p[2]) < 0)
			return EBADMSG;
		err = mbuf_write(out, run, (size_t)(p - run));
		if (err)
			return err;
		b = (uint8_t)(hexval(p[1]) << 4 | hexval(p[2]));
		err = mbuf_write(out, &b, 1);
		if (err)
			return err;
		p += 3;
		run = p;
	}
	return mbuf_write(out, run, (size_t)(p - run));
}

/* ---------------------------------------------------------------------------------------------
 * Comparison (RFC 3261 §19.1.4): escapes compared decoded, each exactly once.
 */
static int esc_getc(const char **pp, const char *end)
{
	const char *p = *pp;

	if (*p == '%' && end - p >= 3 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
		*pp = p + 3;
		return hexval(p[1]) << 4 | hexval(p[2]);
	}
	*pp = p + 1;
	return (unsigned char)*p;
}

static bool esc_eq(const struct pl *a, const struct pl *b, bool fold)
{
	const char *p, *pe, *q, *qe;

	if (!a->l || !b->l)
		return a->l == b->l;
	p = a->p;
	pe = p + a->l;
	q = b->p;
	qe = q + b->l;
	while (p < pe && q < qe) {
		int x = esc_getc(&p, pe), y = esc_getc(&q, qe);

		if (fold) {
			x = sip_lower[x];
			y = sip_lower[y];
		}
		if (x != y)
			return false;
	}
	return p == pe && q == qe;
}

#define URI_EQ_MAX_PARAMS 32

struct kv {
	struct pl k, v;
};

/* Splits URI parameters into name/value pairs; false when malformed or too many. */
static bool split_params(const struct pl *params, struct kv *kv, size_t *n)
{
	struct sip_param_scan ps;
	int err = ENOENT;

	*n = 0;
	if (!params->p)
		return true;
	ps = (struct sip_param_scan){params->p, params->p + params->l, true};
	while (*n < URI_EQ_MAX_PARAMS && (err = sip_param_next(&ps, &kv[*n].k, &kv[*n].v)) == 0)
		(*n)++;
	return *n < URI_EQ_MAX_PARAMS && err == ENOENT;
}

static const struct kv *kv_find(const struct kv *kv, size_t n, const struct pl *name)
{
	for (size_t i = 0; i < n; i++) {
		if (esc_eq(&kv[i].k, name, true))
			return &kv[i];
	}
	return NULL;
}

static bool param_is_strict(const struct pl *name)
{
	static const char *const strict[] = {"user", "ttl", "method", "maddr", "transport"};

	for (size_t i = 0; i < ARRAY_SIZE(strict); i++) {
		struct pl s = pl_from_str(strict[i]);

		if (esc_eq(name, &s, true))
			return true;
	}
	return false;
}

static bool params_eq(const struct pl *a, const struct pl *b)
{
	struct kv ka[URI_EQ_MAX_PARAMS], kb[URI_EQ_MAX_PARAMS];
	size_t na, nb;

	if (!split_params(a, ka, &na) || !split_params(b, kb, &nb))
		return a->l == b->l && (!a->l || sip_caseeq(a->p, b->p, a->l));
	for (size_t i = 0; i < na; i++) {
		const struct kv *o = kv_find(kb, nb, &ka[i].k);

		if (!o) {
			if (param_is_strict(&ka[i].k))
				return false;
			continue;
		}
		if (!esc_eq(&ka[i].v, &o->v, true))
			return false;
	}
	for (size_t i = 0; i < nb; i++) {
		if (!kv_find(ka, na, &kb[i].k) && param_is_strict(&kb[i].k))
			return false;
	}
	return true;
}

static bool split_headers(const struct pl *h, struct kv *kv, size_t *n)
{
	const char *p = h->p, *end = p ? p + h->l : NULL;

	*n = 0;
	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(e - p));

		if (*n >= URI_EQ_MAX_PARAMS)
			return false;
		kv[*n].k = pl_from(p, (size_t)((eq ? eq : e) - p));
		kv[*n].v = eq ? pl_from(eq + 1, (size_t)(e - eq - 1)) : pl_from(e, 0);
		(*n)++;
		p = amp ? amp + 1 : end;
	}
	return true;
}

static bool headers_eq(const struct pl *a, const struct pl *b)
{
	struct kv ka[URI_EQ_MAX_PARAMS], kb[URI_EQ_MAX_PARAMS];
	size_t na, nb;

	if (!split_headers(a, ka, &na) || !split_headers(b, kb, &nb))
		return a->l == b->l && (!a->l || memcmp(a->p, b->p, a->l) == 0);
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		const struct kv *o = kv_find(kb, nb, &ka[i].k);

		if (!o || !esc_eq(&ka[i].v, &o->v, false))
			return false;
	}
	return true;
}

static bool host_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	if (a->host_ipv6 != b->host_ipv6)
		return false;
	if (a->host_ipv6) {
		char ba[64], bb[64];
		struct in6_addr x, y;

		if (pl_strcpy(&a->host, ba, sizeof(ba)) == 0 &&
		    pl_strcpy(&b->host, bb, sizeof(bb)) == 0 && inet_pton(AF_INET6, ba, &x) == 1 &&
		    inet_pton(AF_INET6, bb, &y) == 1)
			return memcmp(&x, &y, sizeof(x)) == 0;
	}
	return esc_eq(&a->host, &b->host, true);
}

bool sip_uri_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	if (!a || !b || a->scheme != b->scheme)
		return false;
	switch (a->scheme) {
	case SIP_URI_SIP:
	case SIP_URI_SIPS:
		return esc_eq(&a->user, &b->user, false) &&
		       esc_eq(&a->password, &b->password, false) && host_eq(a, b) &&
		       a->port == b->port && params_eq(&a->params, &b->params) &&
		       headers_eq(&a->headers, &b->headers);
	case SIP_URI_TEL:
		return esc_eq(&a->user, &b->user, true) && params_eq(&a->params, &b->params);
	default:
		return a->scheme_name.l == b->scheme_name.l &&
		       sip_caseeq(a->scheme_name.p, b->scheme_name.p, a->scheme_name.l) &&
		       esc_eq(&a->opaque, &b->opaque, false);
	}
}
