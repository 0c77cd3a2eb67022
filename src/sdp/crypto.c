/* sdp crypto: SDES key lines (RFC 4568 a=crypto): decoding with every refusal named, encoding,
 * fresh random keys, and the base64 they are written in. Key bytes never reach the log. */
#include <errno.h>
#include <string.h>

#include "sdp.h"
#include "sdp_int.h"

static const struct {
	const char *name;
	uint8_t key_len; /* master key + master salt */
} suites[SDP_SUITE_COUNT] = {
    [SDP_SUITE_NONE] = {"?", 0},
    [SDP_SUITE_AES_CM_128_HMAC_SHA1_80] = {"AES_CM_128_HMAC_SHA1_80", 16 + 14},
    [SDP_SUITE_AES_CM_128_HMAC_SHA1_32] = {"AES_CM_128_HMAC_SHA1_32", 16 + 14},
    [SDP_SUITE_AEAD_AES_128_GCM] = {"AEAD_AES_128_GCM", 16 + 12},
    [SDP_SUITE_AEAD_AES_256_GCM] = {"AEAD_AES_256_GCM", 32 + 12},
};

const char *sdp_suite_name(enum sdp_suite suite)
{
	return (unsigned)suite < SDP_SUITE_COUNT ? suites[suite].name : "?";
}

size_t sdp_suite_key_len(enum sdp_suite suite)
{
	return (unsigned)suite < SDP_SUITE_COUNT ? suites[suite].key_len : 0;
}

static enum sdp_suite suite_lookup(const struct pl *name)
{
	for (unsigned i = 1; i < SDP_SUITE_COUNT; i++)
		if (pl_eq_str(name, suites[i].name))
			return (enum sdp_suite)i;
	return SDP_SUITE_NONE;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes standard base64 (padding optional, as some phones drop it); EBADMSG for anything
 * else, ENOSPC beyond max bytes. */
int sdp_b64_decode(const struct pl *in, uint8_t *out, size_t max, size_t *outlen)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0, i = 0, len = in->l;

	while (len && in->p[len - 1] == '=')
		len--;
	if (in->l - len > 2)
		return EBADMSG;
	for (i = 0; i < len; i++) {
		int v = b64_val(in->p[i]);
		if (v < 0)
			return EBADMSG;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == max)
				return ENOSPC;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits >= 6) /* one lone character cannot carry a byte */
		return EBADMSG;
	*outlen = n;
	return 0;
}

int sdp_b64_encode(struct mbuf *mb, const uint8_t *in, size_t n)
{
	char out[4];
	int err = 0;

	for (size_t i = 0; i < n && !err; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[0] = b64[v >> 18 & 63];
		out[1] = b64[v >> 12 & 63];
		out[2] = left > 1 ? b64[v >> 6 & 63] : '=';
		out[3] = left > 2 ? b64[v & 63] : '=';
		err = mbuf_write(mb, out, 4);
	}
	return err;
}

/* Splits off the next run of characters up to a space (skipping leading spaces). */
static struct pl next_word(struct pl *rest)
{
	struct pl w;

	while (rest->l && (*rest->p == ' ' || *rest->p == '\t')) {
		rest->p++;
		rest->l--;
	}
	w.p = rest->p;
	w.l = 0;
	while (w.l < rest->l && rest->p[w.l] != ' ' && rest->p[w.l] != '\t')
		w.l++;
	rest->p += w.l;
	rest->l -= w.l;
	return w;
}

/* |2^n or |n: the key's lifetime in packets. */
static int lifetime_parse(const struct pl *v, uint64_t *out)
{
	if (v->l > 2 && v->p[0] == '2' && v->p[1] == '^') {
		struct pl e = pl_from(v->p + 2, v->l - 2);
		uint32_t x;

		if (pl_u32(&e, &x) || x == 0 || x > 63)
			return EBADMSG;
		*out = (uint64_t)1 << x;
		return 0;
	}
	return pl_u64(v, out) || *out == 0 ? EBADMSG : 0;
}

int sdp_crypto_decode(const struct pl *val, struct sdp_crypto *out)
{
	struct pl rest = *val, tag, suite, params, key, w;
	enum sdp_suite s;
	size_t n;

	memset(out, 0, sizeof(*out));
	pl_trim(&rest);
	tag = next_word(&rest);
	suite = next_word(&rest);
	params = next_word(&rest);
	if (!tag.l || !suite.l || !params.l || tag.l > 9 || pl_u32(&tag, &out->tag) || !out->tag)
		return EBADMSG;
	pl_trim(&rest);
	if (rest.l) /* session parameters (UNENCRYPTED_SRTP, KDR=, ...): not understood */
		return ENOTSUP;
	s = suite_lookup(&suite);
	if (s == SDP_SUITE_NONE)
		return ENOTSUP;
	/* Several keys are joined with ';' (RFC 4568 §6.1): mikaka keys with one. */
	if (pl_chr(&params, ';'))
		return ENOTSUP;
	if (params.l < 7 || memcmp(params.p, "inline:", 7))
		return EBADMSG;
	key = pl_from(params.p + 7, params.l - 7);
	/* inline:KEY[|lifetime][|MKI:length] */
	const char *bar = pl_chr(&key, '|');
	if (bar) {
		key.l = (size_t)(bar - key.p);
		w = pl_from(bar + 1, params.p + params.l - bar - 1);
		const char *bar2 = pl_chr(&w, '|');
		struct pl first = bar2 ? pl_from(w.p, (size_t)(bar2 - w.p)) : w;
		if (pl_chr(&first, ':') || bar2)
			return ENOTSUP; /* an MKI: every packet would carry it; not supported */
		if (lifetime_parse(&first, &out->lifetime))
			return EBADMSG;
	}
	if (sdp_b64_decode(&key, out->key, sizeof(out->key), &n) || n != sdp_suite_key_len(s)) {
		memset(out->key, 0, sizeof(out->key));
		return EBADMSG;
	}
	out->suite = (uint8_t)s;
	out->key_len = (uint8_t)n;
	return 0;
}

int sdp_crypto_encode(struct mbuf *mb, const struct sdp_crypto *c)
{
	int err;

	if (c->suite == SDP_SUITE_NONE || c->suite >= SDP_SUITE_COUNT ||
	    c->key_len != sdp_suite_key_len((enum sdp_suite)c->suite))
		return EINVAL;
	err = mbuf_printf(mb, "a=crypto:%u %s inline:", c->tag,
			  sdp_suite_name((enum sdp_suite)c->suite));
	if (!err)
		err = sdp_b64_encode(mb, c->key, c->key_len);
	if (!err)
		err = mbuf_write_str(mb, "\r\n");
	return err;
}

int sdp_crypto_new(struct sdp_crypto *c, enum sdp_suite suite, uint32_t tag)
{
	size_t n = sdp_suite_key_len(suite);

	memset(c, 0, sizeof(*c));
	if (!n)
		return EINVAL;
	c->tag = tag;
	c->suite = (uint8_t)suite;
	c->key_len = (uint8_t)n;
	return rand_bytes(c->key, n);
}

int sdp_crypto_pick(const struct sdp_media *m, const struct sdp_crypto *ours, unsigned nours,
		    bool by_tag, struct sdp_crypto *theirs, unsigned *idx)
{
	const char *p = m->attrs.p, *end = m->attrs.p + m->attrs.l;
	bool seen = false;

	if (!p)
		return ENOENT;
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		const char *le = e ? e : end;
		struct pl line = pl_from(p, (size_t)(le - p)), val;
		struct sdp_crypto c;

		p = e ? e + 1 : end;
		if (line.l && line.p[line.l - 1] == '\r')
			line.l--;
		if (line.l < 9 || memcmp(line.p, "a=crypto:", 9))
			continue;
		seen = true;
		val = pl_from(line.p + 9, line.l - 9);
		if (sdp_crypto_decode(&val, &c))
			continue;
		for (unsigned i = 0; i < nours; i++) {
			if (ours[i].suite != c.suite || (by_tag && ours[i].tag != c.tag))
				continue;
			*theirs = c;
			*idx = i;
			memset(&c, 0, sizeof(c));
			return 0;
		}
		memset(&c, 0, sizeof(c));
	}
	return seen ? ENOTSUP : ENOENT;
}
