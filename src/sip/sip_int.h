/* sip_int: private helpers of the SIP message parser (character classes, list splitting,
 * parameter scanning), shared by hdr.c, uri.c, addr.c and msg.c. */
#ifndef MIKAKA_SIP_SIP_INT_H
#define MIKAKA_SIP_SIP_INT_H

#include <errno.h>
#include <string.h>

#include "sip.h"

#if defined(__SSE2__) && !defined(SIP_NO_SIMD)
#include <emmintrin.h>
#define SIP_SIMD 1 /* SSE2 (every x86-64); SIP_NO_SIMD builds the portable code for tests */
#endif

/* Character classes of RFC 3261 §25.1, one bit each, in sip_ctype[]. */
enum {
	SIP_CT_TOKEN = 1 << 0, /* token: alphanum and -.!%*_+`'~ */
	SIP_CT_LWS = 1 << 1,   /* SP, HTAB, CR, LF (folded line ends are LWS) */
	SIP_CT_DIGIT = 1 << 2,
	SIP_CT_HEX = 1 << 3,
	SIP_CT_UNRES = 1 << 4, /* unreserved: alphanum and -_.!~*'() */
	SIP_CT_USER = 1 << 5,  /* unreserved and user-unreserved &=+$,;?/ */
	SIP_CT_PASS = 1 << 6,  /* unreserved and &=+$, */
	SIP_CT_PARAM = 1 << 7, /* paramchar: unreserved and []/:&+$ */
	SIP_CT_HNV = 1 << 8,   /* URI header name/value: unreserved and []/?:+$ */
	SIP_CT_HOST =
	    1 << 9, /* hostname and IPv4: alphanum, '-', '.', and '_' (seen in the wild) */
	SIP_CT_SCHEME = 1 << 10, /* alphanum and +-. */
	SIP_CT_GENVAL = 1 << 11, /* unquoted header parameter value (liberal): VCHAR but ;,"<> */
	SIP_CT_V6 = 1 << 12,	 /* inside an IPv6 reference: HEXDIG ':' '.' */
	SIP_CT_SPLIT = 1 << 13,	 /* bytes the list splitter must look at: , " < > \ */
};

extern const uint16_t sip_ctype[256];
extern const uint8_t sip_lower[256];

static inline bool sip_ct(char c, uint16_t cls)
{
	return (sip_ctype[(unsigned char)c] & cls) != 0;
}

static inline bool sip_is_lws(char c)
{
	return sip_ct(c, SIP_CT_LWS);
}

/* Skips LWS (SP, HTAB, CR, LF) from p up to end. */
static inline const char *sip_skip_lws(const char *p, const char *end)
{
	while (p < end && sip_is_lws(*p))
		p++;
	return p;
}

/* pl_trim() for the hot path: drops LWS at both ends. */
static inline void sip_trim(struct pl *pl)
{
	while (pl->l && sip_is_lws(pl->p[0])) {
		pl->p++;
		pl->l--;
	}
	while (pl->l && sip_is_lws(pl->p[pl->l - 1]))
		pl->l--;
}

/* The first byte in [p, end) that is not a host character (SIP_CT_HOST: alphanumeric, '-',
 * '.', '_'), or end. Host names are the longest runs in the keys a message is decoded for:
 * with SSE2, 16 bytes are classified at a time by range comparisons (bytes of 0x80 and up are
 * negative, so outside every range); the rest four at a time, then one by one. */
static inline const char *sip_span_host(const char *p, const char *end)
{
#ifdef SIP_SIMD
	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)p);
		/* OR-ing 0x20 gives 'a'..'z' from a letter of either case and from nothing else. */
		__m128i lc = _mm_or_si128(x, _mm_set1_epi8(0x20));
		__m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lc, _mm_set1_epi8('a' - 1)),
					      _mm_cmplt_epi8(lc, _mm_set1_epi8('z' + 1)));
		/* '-' '.' '/' and the digits are 0x2d..0x39: all but the '/'. */
		__m128i dig =
		    _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('/')),
				     _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('-' - 1)),
						   _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1))));
		__m128i ok =
		    _mm_or_si128(_mm_or_si128(alpha, dig), _mm_cmpeq_epi8(x, _mm_set1_epi8('_')));
		unsigned bad = ~(unsigned)_mm_movemask_epi8(ok) & 0xffff;

		if (bad)
			return p + __builtin_ctz(bad);
		p += 16;
	}
#endif
	while (end - p >= 4 &&
	       (sip_ctype[(unsigned char)p[0]] & sip_ctype[(unsigned char)p[1]] &
		sip_ctype[(unsigned char)p[2]] & sip_ctype[(unsigned char)p[3]] & SIP_CT_HOST))
		p += 4;
	while (p < end && sip_ct(*p, SIP_CT_HOST))
		p++;
	return p;
}

/* ASCII case-insensitive equality of two byte ranges of the same length. */
static inline bool sip_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sip_lower[(unsigned char)a[i]] != sip_lower[(unsigned char)b[i]])
			return false;
	}
	return true;
}

/* p[0 .. n) equals lit[0 .. n), lower-case LETTERS only, in any case (n 1 to 8). A word at a
 * time instead of a table look-up per byte on both sides: OR-ing 0x20 into a byte gives a
 * lower-case letter only from that letter in either case, so the comparison is exact. */
static inline bool sip_letters_eq(const char *p, const char *lit, size_t n)
{
	uint64_t x = 0, y = 0;

	memcpy(&x, p, n);
	memcpy(&y, lit, n);
	return (x | (0x2020202020202020ULL >> (8 * (8 - n)))) == y;
}

/* Header id of a name given as bytes (long or compact form, case-insensitive). */
enum sip_hdr_id sip_hdr_lookup_raw(const char *p, size_t l);

/* The parser's lookup, inline (a call's register saves were a third of it). A header name is
 * a token, and of the token characters only letters give a letter or '-' when OR-ed with 0x20
 * ('-' stays '-'), so OR-ing 0x20 into every byte folds the case without a per-name mask and
 * cannot make a non-matching token match. The first word (bytes past the name masked off) and
 * the length hash to a bucket (chains of one or two names); a candidate is compared by whole
 * words, the last one read overlapping so that no mask is needed. */
#define SIP_HDR_HASH_BITS 8
#define SIP_HDR_FOLD	  0x2020202020202020ULL
struct sip_hdr_key {
	uint64_t w[3]; /* the lower-case name's first 24 bytes, zero-padded */
	uint64_t tail; /* its last 8 bytes (names of 8 bytes or more) */
	uint8_t len;
	uint8_t next; /* next id in the same hash bucket, 0 at the end */
};
extern struct sip_hdr_key sip_hdr_keys[];
extern uint8_t sip_hdr_hash_head[1u << SIP_HDR_HASH_BITS];
extern uint8_t sip_hdr_compact[32]; /* id by compact letter & 31 */

static inline unsigned sip_hdr_hash(uint64_t w0, size_t l)
{
	return (unsigned)(((w0 ^ l) * 0x9e3779b97f4a7c15ULL) >> (64 - SIP_HDR_HASH_BITS));
}

static inline uint64_t sip_hdr_word(const char *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof(x));
	return x | SIP_HDR_FOLD;
}

/* p[0 .. l) are token characters and p[0 .. l + 7) are readable. */
static inline enum sip_hdr_id sip_hdr_lookup_padded(const char *p, size_t l)
{
	uint64_t w0, tail = 0;

	if (l < 2) {
		unsigned c = (unsigned char)p[0] | 0x20;

		return c >= 'a' && c <= 'z' ? (enum sip_hdr_id)sip_hdr_compact[c & 31]
					    : SIP_HDR_OTHER;
	}
	if (l > 31)
		return SIP_HDR_OTHER;
	w0 = sip_hdr_word(p);
	if (l < 8)
		w0 &= (1ULL << (8 * l)) - 1;
	else
		tail = sip_hdr_word(p + l - 8);
	for (unsigned id = sip_hdr_hash_head[sip_hdr_hash(w0, l)]; id; id = sip_hdr_keys[id].next) {
		const struct sip_hdr_key *k = &sip_hdr_keys[id];

		if (k->len != l || k->w[0] != w0 || k->tail != tail)
			continue;
		if (l > 16 &&
		    (k->w[1] != sip_hdr_word(p + 8) || (l > 24 && k->w[2] != sip_hdr_word(p + 16))))
			continue;
		return (enum sip_hdr_id)id;
	}
	return SIP_HDR_OTHER;
}

/* Takes the next element of a comma-separated list from *rest (commas inside quoted strings
 * and <> do not split), trimmed, into *value; empty elements are skipped. False at the end. */
bool sip_list_next(struct pl *rest, struct pl *value);

/* Scans a parameter list ";a=b;c" one parameter at a time. `uri` selects the strict URI
 * grammar (paramchar, no LWS); otherwise header parameters (token names, LWS around ';' and
 * '=', token/host/quoted-string values). */
struct sip_param_scan {
	const char *p, *end;
	bool uri;
};

/* Next parameter: 0 with name and value (value unset when there is no '='; quoted values keep
 * their quotes), ENOENT at the end, EBADMSG on a grammar violation. */
int sip_param_next(struct sip_param_scan *ps, struct pl *name, struct pl *value);

/* Scans a quoted-string starting at p (which points at '"'); returns the position of the closing
 * quote, or NULL when it is not terminated before end. quoted-pairs are skipped. */
static inline const char *sip_quoted_end(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			if (++p >= end)
				return NULL;
		} else if (*p == '"') {
			return p;
		}
	}
	return NULL;
}

/* sip_param_next() of a header parameter list (ps->uri false), inline for the parser's keys
 * (the Via's branch and rport, the From tag): a call per parameter and its results passed
 * through memory were a fifth of it. */
static inline int sip_hparam_next(struct sip_param_scan *ps, struct pl *name, struct pl *value)
{
	const char *p = sip_skip_lws(ps->p, ps->end), *end = ps->end, *s;

	if (p >= end) {
		ps->p = end;
		return ENOENT;
	}
	if (*p != ';')
		return EBADMSG;
	p = sip_skip_lws(p + 1, end);
	s = p;
	while (p < end && sip_ct(*p, SIP_CT_GENVAL) && *p != '=')
		p++;
	if (p == s)
		return EBADMSG;
	*name = pl_from(s, (size_t)(p - s));
	*value = (struct pl)PL_INIT;

	s = sip_skip_lws(p, end);
	if (s < end && *s == '=') {
		const char *v;

		s = sip_skip_lws(s + 1, end);
		v = s;
		if (s < end && *s == '"') {
			s = sip_quoted_end(s, end);
			if (!s)
				return EBADMSG;
			s++;
		} else {
#ifdef SIP_SIMD
			/* Values (branch, tag) are the long runs: 16 at a time while there are
			 * 16 bytes left. GENVAL is 0x21..0x7e but ; , " < > (bytes of 0x80 and
			 * up compare negative). */
			while (end - s >= 16) {
				__m128i x = _mm_loadu_si128((const __m128i *)s);
				__m128i ok = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(0x20)),
							   _mm_cmplt_epi8(x, _mm_set1_epi8(0x7f)));
				__m128i no = _mm_or_si128(
				    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(';')),
						 _mm_cmpeq_epi8(x, _mm_set1_epi8(','))),
				    _mm_or_si128(
					_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
					_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('<')),
						     _mm_cmpeq_epi8(x, _mm_set1_epi8('>')))));
				unsigned bad =
				    ~(unsigned)_mm_movemask_epi8(_mm_andnot_si128(no, ok)) & 0xffff;

				if (bad) {
					s += __builtin_ctz(bad);
					break;
				}
				s += 16;
			}
#endif
			while (s < end && sip_ct(*s, SIP_CT_GENVAL))
				s++;
		}
		if (s == v)
			return EBADMSG;
		*value = pl_from(v, (size_t)(s - v));
		p = s;
	}
	ps->p = p;
	return 0;
}

/* Whole parameter list valid? */
int sip_params_check(const struct pl *params, bool uri);

/* Port digits at *pp (1 to 65535, or 0 written as such); advances *pp. */
int sip_port_decode(const char **pp, const char *end, uint16_t *port);
/* "[IPv6]" at *pp ('[' included); host gets the address without brackets; advances *pp. */
int sip_v6ref_decode(const char **pp, const char *end, struct pl *host);

/* CSeq value: number (at most 2^32-1), LWS, method. EBADMSG otherwise. */
int sip_cseq_decode(struct sip_cseq *cseq, const struct pl *text);
/* "SIP/" 1*DIGIT "." 1*DIGIT: a SIP-Version, whichever version it names. */
bool sip_version_ok(const struct pl *v);

/* Like sip_addr_decode(), with a short reason for the failure (for the 400 reason phrase). */
int sip_addr_decode_why(struct sip_addr *addr, const struct pl *text, const char **why);

/* The parser's own decoders into a structure it knows to be all zero already (a new message):
 * the same results, without zeroing it again first (a few hundred bytes each). text->p set. */
int sip_addr_decode_zeroed(struct sip_addr *addr, const struct pl *text, const char **why);
int sip_via_decode_zeroed(struct sip_via *via, const struct pl *text);
int sip_uri_decode_zeroed(struct sip_uri *uri, const struct pl *text);

#endif /* MIKAKA_SIP_SIP_INT_H */
