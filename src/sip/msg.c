/* msg: frames and splits a SIP message (RFC 3261 §7, §18.3, RFC 4475): start line, header
 * lines with folding and compact names, Content-Length framing on datagrams and streams, and
 * the transaction keys decoded eagerly; everything else stays raw until asked for. */
#include <errno.h>
#include <stdalign.h>
#include <string.h>

#include "sip_int.h"

/* Where RFC 4475 and RFC 5118 leave a choice (each is checked by tests/unit/test_sip_parser.c):
 * - Request-Line: exactly one SP between the elements and none at the end, else 400
 *   (lwsstart, trws, lwsruri); a Request-URI in <> or with ?headers is 400 (ltgtruri, escruri).
 * - "SIP/7.0" is kept without error: the stack answers 505 (badvers).
 * - CSeq method differing from the request method: err EPROTO, so the stack can answer 501 to
 *   an unknown method (mismatch02) and 400 otherwise (mismatch01).
 * - Date is never parsed, so a non-GMT zone is accepted (baddate).
 * - IPv6 references are checked with inet_pton(): [2001:db8:::192.0.2.1] is refused (400)
 *   rather than repaired (RFC 5118 §4.10; RFC 5954 fixed the ABNF).
 * - Requests need Via, From, To, Call-ID and CSeq, not Max-Forwards (RFC 2543 peers, inv2543);
 *   responses need none of them to parse: the transaction layer drops what it cannot match.
 * - Contact is checked at once (regbadct, badinv01): registrars and dialogs depend on it.
 * - A datagram without the empty line after the headers is an error (baddn). */

static void set_err(struct sip_msg *msg, int err, const char *reason)
{
	if (!msg->err_reason) {
		msg->err_reason = reason;
		msg->err = err;
	}
}

/* pl_u32() == 0, for the numbers every message carries (Content-Length, Max-Forwards):
 * without pl_u64()'s overflow division per digit, as 19 digits cannot overflow 64 bits. */
static inline bool dec_u32(const struct pl *pl, uint32_t *out)
{
	uint64_t v = 0;

	if (!pl->l || pl->l > 19)
		return pl_u32(pl, out) == 0;
	for (size_t i = 0; i < pl->l; i++) {
		unsigned c = (unsigned char)pl->p[i] - '0';

		if (c > 9)
			return false;
		v = v * 10 + c;
	}
	if (v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static void msg_destroy(void *data)
{
	struct sip_msg *msg = data;

	/* The transport hands every TCP message a reference to its connection (a mem object). */
	mem_deref(msg->conn);
}

/* "SIP/" 1*DIGIT "." 1*DIGIT */
bool sip_version_ok(const struct pl *v)
{
	size_t i = 4, d1 = 0, d2 = 0;

	if (v->l < 7 || !(sip_letters_eq(v->p, "sip", 3) && v->p[3] == '/'))
		return false;
	for (; i < v->l && sip_ct(v->p[i], SIP_CT_DIGIT); i++)
		d1++;
	if (i >= v->l || v->p[i] != '.')
		return false;
	for (i++; i < v->l && sip_ct(v->p[i], SIP_CT_DIGIT); i++)
		d2++;
	return d1 && d2 && i == v->l;
}

/* Request-Line = Method SP Request-URI SP SIP-Version (exactly one SP each, RFC 4475
 * lwsstart/trws/lwsruri). Status-Line = SIP-Version SP Status-Code SP Reason-Phrase. */
static bool start_line(struct sip_msg *msg, const char *p, size_t l)
{
	const char *end = p + l, *sp1, *sp2, *s;

	if (l >= 4 && sip_letters_eq(p, "sip", 3) && p[3] == '/') {
		unsigned code = 0;

		msg->is_request = false;
		sp1 = memchr(p, ' ', l);
		if (!sp1)
			return false;
		msg->version = pl_from(p, (size_t)(sp1 - p));
		if (!sip_version_ok(&msg->version))
			return false;
		s = sp1 + 1;
		if (end - s < 3)
			return false;
		for (int i = 0; i < 3; i++) {
			if (!sip_ct(s[i], SIP_CT_DIGIT))
				return false;
			code = code * 10 + (unsigned)(s[i] - '0');
		}
		s += 3;
		/* A liberal receiver accepts the missing SP before an empty reason (noreason). */
		if (s < end && *s != ' ')
			return false;
		if (code < 100 || code > 699)
			return false;
		msg->scode = (uint16_t)code;
		msg->reason = s < end ? pl_from(s + 1, (size_t)(end - s - 1)) : pl_from(end, 0);
		return true;
	}

	msg->is_request = true;
	sp1 = memchr(p, ' ', l);
	if (!sp1 || sp1 == p)
		return false;
	for (s = p; s < sp1; s++) {
		if (!sip_ct(*s, SIP_CT_TOKEN))
			return false;
	}
	msg->method = pl_from(p, (size_t)(sp1 - p));
	msg->mid = sip_method_lookup(&msg->method);
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1)
		return false;
	msg->ruri = pl_from(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	msg->version = pl_from(sp2 + 1, (size_t)(end - sp2 - 1));
	return sip_version_ok(&msg->version);
}

/* Header indices the eager decoding needs (first occurrence) and duplicate counts. */
struct keys {
	size_t via, from, to, call_id, cseq, maxfwd;
	size_t contact;
	unsigned n_from, n_to, n_call_id, n_cseq, n_maxfwd;
};

#define NO_HDR SIZE_MAX

static void note_key(struct keys *k, enum sip_hdr_id id, size_t idx)
{
	switch (id) {
	case SIP_HDR_VIA:
		if (k->via == NO_HDR)
			k->via = idx;
		break;
	case SIP_HDR_FROM:
		if (k->n_from++ == 0)
			k->from = idx;
		break;
	case SIP_HDR_TO:
		if (k->n_to++ == 0)
			k->to = idx;
		break;
	case SIP_HDR_CALL_ID:
		if (k->n_call_id++ == 0)
			k->call_id = idx;
		break;
	case SIP_HDR_CSEQ:
		if (k->n_cseq++ == 0)
			k->cseq = idx;
		break;
	case SIP_HDR_MAX_FORWARDS:
		if (k->n_maxfwd++ == 0)
			k->maxfwd = idx;
		break;
	case SIP_HDR_CONTACT:
		if (k->contact == NO_HDR)
			k->contact = idx;
		break;
	default:
		break;
	}
}

/* A NUL is only legal as a quoted-pair inside a quoted string ("\\\0", RFC 3261 §25.1; RFC
 * 4475 intmeth); anywhere else it is an attack on C string handling further down the line. */
static bool has_bare_nul(const char *p, const char *end)
{
	for (const char *z = p; (z = memchr(z, '\0', (size_t)(end - z))); z++) {
		if (z == p || z[-1] != '\\')
			return true;
	}
	return false;
}

/* What one pass over the received bytes learns before anything is allocated: where the start
 * line and the header section end, every header line split and named (pointing into the
 * received bytes; rebased onto the message's own copy once it exists), the Content-Length
 * lines, the key headers' positions and the first error of a header line.
 *
 * Why one pass: framing first (a memchr and a Content-Length test per physical line, recording
 * the line ends) and then splitting the copy (walking those line ends again) cost about half of
 * the whole parse of an INVITE; doing both at once, on the received bytes, halves that. The
 * message then needs only its exact header count, known before it is allocated. */
#define SCAN_LOCAL 48 /* header lines kept on the stack; more go to a heap array */
struct scan {
	size_t start;	      /* first byte of the start line (leading CRLFs skipped) */
	const char *sl_nl;    /* the start line's '\n', or NULL when it has none */
	size_t hend;	      /* first byte after the empty line, or len when there is none */
	bool terminated;      /* the empty line was seen */
	bool full;	      /* SIP_HDRS_MAX header fields recorded: the rest is only framed */
	bool nomem;	      /* the heap array could not grow */
	struct sip_hdr *hdrs; /* `local`, or a mem_alloc()ed array past SCAN_LOCAL */
	size_t n, cap;
	const char *err; /* the first header line error (a 400's reason) */
	unsigned ncl;	 /* Content-Length header fields */
	struct pl cl;	 /* the first one's value, trimmed */
	struct keys k;
	struct sip_hdr local[SCAN_LOCAL];
};

static void scan_reset(struct scan *s)
{
	if (s->hdrs != s->local)
		mem_deref(s->hdrs);
	s->hdrs = s->local;
	s->cap = SCAN_LOCAL;
	s->n = 0;
	s->terminated = s->full = s->nomem = false;
	s->hend = 0;
	s->err = NULL;
	s->ncl = 0;
	s->cl = (struct pl)PL_INIT;
	s->k = (struct keys){NO_HDR, NO_HDR, NO_HDR, NO_HDR, NO_HDR, NO_HDR, NO_HDR, 0, 0, 0, 0, 0};
}

static void scan_err(struct scan *s, const char *reason)
{
	if (!s->err)
		s->err = reason;
}

static bool scan_grow(struct scan *s)
{
	size_t cap = MIN(s->cap * 2, (size_t)SIP_HDRS_MAX);
	struct sip_hdr *h = mem_alloc(cap * sizeof(*h), NULL);

	if (!h)
		return false;
	memcpy(h, s->hdrs, s->n * sizeof(*h));
	if (s->hdrs != s->local)
		mem_deref(s->hdrs);
	s->hdrs = h;
	s->cap = cap;
	return true;
}

/* Hands out the line ends ('\n') of d[p .. end) one after the other, each exactly once: the
 * header lines are contiguous, so the next line end asked for is always the next one there is.
 * With SSE2 (every x86-64), 64 bytes are compared at a time into a bit mask, and each line end
 * then costs a count of trailing zeros and a cleared bit, instead of a memchr() call per line
 * (its call, set-up and tail handling were about 45 instructions a line). Elsewhere it is
 * memchr(). */
struct lf_cursor {
	const char *blk; /* first byte of the block the mask covers */
	const char *end;
	const char *last; /* memchr(): where the previous line end was found */
	uint64_t mask;	  /* '\n' positions in blk[0 .. 64) not handed out yet */
};

#ifdef SIP_SIMD
/* '\n' bits of p[0 .. min(64, end - p)), bit i for p[i]. */
static inline uint64_t lf_block(const char *p, const char *end)
{
	const __m128i lf = _mm_set1_epi8('\n');
	uint64_t m = 0;
	size_t n = (size_t)(end - p), i = 0;

	if (n >= 64) {
		uint64_t m0 = (unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), lf));
		uint64_t m1 = (unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), lf));
		uint64_t m2 = (unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), lf));
		uint64_t m3 = (unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), lf));

		return m0 | m1 << 16 | m2 << 32 | m3 << 48;
	}
	/* The last bytes given: 16 at a time while they last (never a read past end), then
	 * one at a time. */
	for (; i + 16 <= n; i += 16)
		m |= (uint64_t)(unsigned)_mm_movemask_epi8(
			 _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), lf))
		     << i;
	for (; i < n; i++)
		m |= (uint64_t)(p[i] == '\n') << i;
	return m;
}

static inline void lf_init(struct lf_cursor *c, const char *p, const char *end)
{
	c->blk = p;
	c->end = end;
	c->mask = p < end ? lf_block(p, end) : 0;
}

/* The next '\n' not handed out yet, or NULL when there is none before end. */
static inline const char *lf_next(struct lf_cursor *c)
{
	const char *r;

	while (!c->mask) {
		if (c->end - c->blk <= 64)
			return NULL;
		c->blk += 64;
		c->mask = lf_block(c->blk, c->end);
	}
	r = c->blk + __builtin_ctzll(c->mask);
	c->mask &= c->mask - 1;
	return r;
}
#else
static inline void lf_init(struct lf_cursor *c, const char *p, const char *end)
{
	c->blk = NULL;
	c->end = end;
	c->last = p - 1;
	c->mask = 0;
}

static inline const char *lf_next(struct lf_cursor *c)
{
	const char *p = c->last + 1, *r;

	if (p >= c->end)
		return NULL;
	r = memchr(p, '\n', (size_t)(c->end - p));
	c->last = r ? r : c->end;
	return r;
}
#endif

/* The header lines of d[p .. len) up to the empty line (CRLF or bare LF line ends), into *s.
 * `nul` says the header section holds a NUL somewhere, so every line is checked for a bare one
 * (rare: not worth a scan per line otherwise; the caller passes again with it set). The rules
 * are those of RFC 3261 §7.3.1 as the tests pin them: a line beginning with SP or HTAB right
 * after the start line continues nothing (400), a header name is a token followed by optional
 * SP/HTAB and ':', and lines after SIP_HDRS_MAX fields still count for framing. */
static void scan_headers(const char *d, size_t len, size_t p, struct scan *s, bool nul)
{
	const char *end = d + len, *ls = d + p;
	/* Kept in locals (the compiler cannot keep s's fields in registers across the stores
	 * into the header array, which may be s->local itself). */
	struct sip_hdr *hdrs = s->hdrs;
	size_t n = s->n;
	struct lf_cursor lfc;

	lf_init(&lfc, ls, end);

	for (;;) {
		const char *nl, *e, *q, *v, *ve;
		struct pl name;
		enum sip_hdr_id id;
		bool ended;

		if (ls >= end) {
			s->hend = len;
			break;
		}
		if (*ls == '\n' || (*ls == '\r' && ls + 1 < end && ls[1] == '\n')) {
			s->hend = (size_t)(ls - d) + (*ls == '\n' ? 1 : 2);
			s->terminated = true;
			break;
		}
		/* The logical line: a line end followed by SP or HTAB folds the next physical line
		 * into it. */
		nl = lf_next(&lfc); /* the first one at ls or after it */
		ended = nl != NULL;
		e = nl ? nl : end;
		while (e + 1 < end && (e[1] == ' ' || e[1] == '\t')) {
			nl = lf_next(&lfc);
			e = nl ? nl : end;
		}
		q = ls;
		ls = e < end ? e + 1 : end; /* the next line */
		if (*q == ' ' || *q == '\t') {
			/* Only the start line can be followed by this: nothing to continue. */
			scan_err(s, "Malformed header line");
			continue;
		}
		if (e - q > SIP_HDR_LINE_MAX)
			scan_err(s, "Header field too long");
		if (nul && has_bare_nul(q, e))
			scan_err(s, "NUL byte in header field");
		name.p = q;
#ifdef SIP_SIMD
		/* Letters and '-' (token characters, and all that known names hold) 16 at a
		 * time; the loop below goes on from the first other byte. */
		if (end - q >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)q);
			__m128i lc = _mm_or_si128(x, _mm_set1_epi8(0x20));
			__m128i ok =
			    _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(lc, _mm_set1_epi8('a' - 1)),
						       _mm_cmplt_epi8(lc, _mm_set1_epi8('z' + 1))),
					 _mm_cmpeq_epi8(x, _mm_set1_epi8('-')));

			q += __builtin_ctz(~(unsigned)_mm_movemask_epi8(ok)); /* at most 16 */
		}
#endif
		if (e < end) {
			while (sip_ct(*q, SIP_CT_TOKEN)) /* the '\n' at e ends it at the latest */
				q++;
		} else {
			while (q < end && sip_ct(*q, SIP_CT_TOKEN))
				q++;
		}
		name.l = (size_t)(q - name.p);
		if (!name.l) {
			scan_err(s, "Malformed header line");
			continue;
		}
		if (!s->full && n >= SIP_HDRS_MAX) {
			scan_err(s, "Too many header fields");
			s->full = true;
		}
		if (!(q < e && *q == ':')) { /* SP or HTAB before the colon (rare) */
			while (q < e && (*q == ' ' || *q == '\t'))
				q++;
			if (q >= e || *q != ':') {
				scan_err(s, "Malformed header line");
				continue;
			}
		}
		/* The value, trimmed of LWS (sip_trim() on registers); an empty one keeps a
		 * pointer into the message. */
		v = ++q;
		ve = e;
		while (v < ve && sip_is_lws(*v))
			v++;
		while (ve > v && sip_is_lws(ve[-1]))
			ve--;
		if (v == ve)
			v = ve = q;
		/* The word-at-a-time lookup reads up to 7 bytes past the name: only where they are
		 * there (near the end of the bytes given, the byte-wise one). */
		id = (size_t)(end - name.p) >= name.l + 8 ? sip_hdr_lookup_padded(name.p, name.l)
							  : sip_hdr_lookup_raw(name.p, name.l);
		/* Framing counts a Content-Length line only once its first line end is there (an
		 * unterminated one is still being received, or cut off). */
		if (id == SIP_HDR_CONTENT_LENGTH && ended && s->ncl++ == 0)
			s->cl = pl_from(v, (size_t)(ve - v));
		if (s->full || s->nomem)
			continue;
		if (n == s->cap) {
			s->n = n;
			if (!scan_grow(s)) {
				s->nomem = true;
				continue;
			}
			hdrs = s->hdrs;
		}
		hdrs[n].id = id;
		hdrs[n].name = name;
		hdrs[n].value = pl_from(v, (size_t)(ve - v));
		note_key(&s->k, id, n);
		n++;
	}
	s->n = n;
}

static const char *addr_reason(enum sip_hdr_id id, const char *why)
{
	bool unterminated = strcmp(why, "unterminated quoted string") == 0;

	switch (id) {
	case SIP_HDR_FROM:
		return unterminated ? "Unterminated quoted string in From" : "Bad From header";
	case SIP_HDR_TO:
		return unterminated ? "Unterminated quoted string in To" : "Bad To header";
	default:
		return unterminated ? "Unterminated quoted string in Contact"
				    : "Bad Contact header";
	}
}

static bool decode_addr(struct sip_msg *msg, size_t idx, struct sip_addr *addr)
{
	const struct sip_hdr *h = &msg->hdrs[idx];
	const char *why;

	if (sip_addr_decode_zeroed(addr, &h->value, &why)) { /* msg was zeroed */
		set_err(msg, EBADMSG, addr_reason(h->id, why));
		return false;
	}
	return true;
}

/* Every byte visible ASCII or above (0x21..0x7e, 0x80..0xff)? Eight at a time: a word with a
 * byte below 0x21, or a zero byte in x ^ 0x7f.., gives a non-zero (y - n..) & ~y & 0x80..
 * (a word flagged without cause only sends its bytes to the exact loop below). */
static bool call_id_ok(const struct pl *v)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	const char *p = v->p, *end = p + v->l;

	if (!v->l)
		return false;
	for (; end - p >= 8; p += 8) {
		uint64_t x, y;

		memcpy(&x, p, sizeof(x));
		y = x ^ (0x7f * ones);
		if (((x - 0x21 * ones) & ~x & high) || ((y - ones) & ~y & high))
			break;
	}
	for (; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* The transaction keys (RFC 3261 §8.1.1, §17) and the other checks of a well-formed message. */
static void decode_keys(struct sip_msg *msg, const struct keys *k, bool line_ok)
{
	bool req = msg->is_request;

	if (k->n_cseq > 1)
		set_err(msg, EBADMSG, "Duplicate CSeq header");
	if (k->n_call_id > 1)
		set_err(msg, EBADMSG, "Duplicate Call-ID header");
	if (k->n_from > 1)
		set_err(msg, EBADMSG, "Duplicate From header");
	if (k->n_to > 1)
		set_err(msg, EBADMSG, "Duplicate To header");
	if (k->n_maxfwd > 1)
		set_err(msg, EBADMSG, "Duplicate Max-Forwards header");

	if (k->via != NO_HDR) {
		struct pl rest = msg->hdrs[k->via].value, top;

		if (sip_list_next(&rest, &top) && sip_via_decode_zeroed(&msg->via, &top) == 0)
			msg->via_ok = true;
		else
			set_err(msg, EBADMSG, "Bad Via header");
	} else if (req) {
		set_err(msg, EBADMSG, "Missing Via header");
	}

	/* Responses: a missing key is not a syntax error here; the transaction layer drops
	 * what it cannot match. Requests need them all to be answered (§8.1.1). */
	if (k->n_from)
		msg->from_ok = decode_addr(msg, k->from, &msg->from);
	else if (req)
		set_err(msg, EBADMSG, "Missing From header");
	if (k->n_to)
		msg->to_ok = decode_addr(msg, k->to, &msg->to);
	else if (req)
		set_err(msg, EBADMSG, "Missing To header");

	if (k->n_call_id) {
		msg->call_id = msg->hdrs[k->call_id].value;
		if (!call_id_ok(&msg->call_id))
			set_err(msg, EBADMSG, "Bad Call-ID header");
	} else if (req) {
		set_err(msg, EBADMSG, "Missing Call-ID");
	}

	if (k->n_cseq) {
		if (sip_cseq_decode(&msg->cseq, &msg->hdrs[k->cseq].value) == 0)
			msg->cseq_ok = true;
		else
			set_err(msg, EBADMSG, "Bad CSeq header");
	} else if (req) {
		set_err(msg, EBADMSG, "Missing CSeq header");
	}

	if (k->n_maxfwd) {
		uint32_t mf;

		if (dec_u32(&msg->hdrs[k->maxfwd].value, &mf) && mf <= 255)
			msg->max_forwards = (int)mf;
		else
			set_err(msg, EBADMSG, "Bad Max-Forwards header");
	}

	/* Contact is checked now too: registrars and dialogs cannot work with a broken one, and
	 * RFC 4475 (badinv01, regbadct) expects the 400 at once. */
	for (size_t i = k->contact; i < msg->nhdrs; i++) {
		struct pl rest = msg->hdrs[i].value, v;
		struct sip_addr a;
		const char *why;

		if (msg->hdrs[i].id != SIP_HDR_CONTACT)
			continue;
		while (sip_list_next(&rest, &v)) {
			if (sip_addr_decode_why(&a, &v, &why)) {
				set_err(msg, EBADMSG, addr_reason(SIP_HDR_CONTACT, why));
				i = msg->nhdrs;
				break;
			}
		}
	}

	if (!req || !line_ok)
		return;
	if (sip_uri_decode_zeroed(&msg->uri, &msg->ruri) == 0) {
		msg->uri_ok = true;
		/* §19.1.1 Table 1: headers are not allowed in a Request-URI (escruri). */
		if ((msg->uri.scheme == SIP_URI_SIP || msg->uri.scheme == SIP_URI_SIPS) &&
		    msg->uri.headers.l)
			set_err(msg, EBADMSG, "Request-URI with headers");
	} else {
		set_err(msg, EBADMSG, "Malformed Request-URI");
	}
	/* Last, so that any syntax error wins: EPROTO lets the stack answer 501 to an unknown
	 * method (mismatch02) and 400 otherwise (mismatch01). */
	if (msg->cseq_ok && pl_cmp(&msg->cseq.method, &msg->method) != 0)
		set_err(msg, EPROTO, "CSeq method does not match the request method");
}

int sip_msg_parse(struct sip_msg **msgp, const void *data, size_t len, bool datagram, size_t *used,
		  struct sip_parse_error *perr)
{
	struct sip_parse_error dummy;
	const char *d = data, *base;
	struct scan s;
	struct sip_msg *msg;
	const char *clerr = NULL;
	bool has_clen = false, line_ok;
	uint32_t clen = 0;
	size_t end, msglen, hoff, boff, le;
	uintptr_t delta;
	char *b;
	int err = EBADMSG;

	if (!perr)
		perr = &dummy;
	perr->reason = NULL;
	perr->need_more = false;
	if (!msgp || (!data && len))
		return EINVAL;

	/* RFC 3261 §7.5: line ends before the start line are ignored. */
	s.start = 0;
	while (s.start < len && (d[s.start] == '\r' || d[s.start] == '\n'))
		s.start++;
	if (s.start == len) {
		if (!datagram) {
			perr->reason = "Incomplete message";
			perr->need_more = true;
			return ENODATA;
		}
		perr->reason = "Empty message";
		return EBADMSG;
	}
	if (d[s.start] == ' ' || d[s.start] == '\t') {
		perr->reason = "Bad start line";
		return EBADMSG;
	}
	if (datagram && len - s.start > SIP_MSG_MAX) {
		perr->reason = "Message too large";
		return E2BIG;
	}

	s.hdrs = s.local;
	scan_reset(&s);
	s.sl_nl = memchr(d + s.start, '\n', len - s.start);
	scan_headers(d, len, s.sl_nl ? (size_t)(s.sl_nl - d) + 1 : len, &s, false);
	if (!s.terminated) {
		if (!datagram) {
			if (len - s.start > SIP_MSG_MAX) {
				perr->reason = "Message too large";
				err = E2BIG;
				goto fail;
			}
			perr->reason = "Incomplete message";
			perr->need_more = true;
			err = ENODATA;
			goto fail;
		}
		if (!s.sl_nl) {
			perr->reason = "Not a SIP message";
			goto fail;
		}
	}
	if (s.hend - s.start > SIP_MSG_MAX) {
		perr->reason = "Message too large";
		err = E2BIG;
		goto fail;
	}
	if (memchr(d + s.start, '\0', s.hend - s.start)) {
		scan_reset(&s);
		scan_headers(d, len, (size_t)(s.sl_nl - d) + 1, &s, true);
	}
	if (s.nomem) {
		perr->reason = "Out of memory";
		err = ENOMEM;
		goto fail;
	}

	/* Framing (RFC 3261 §18.3). An unusable Content-Length leaves the body out and the message
	 * without has_clen: on a stream the transport cannot find the next message then. */
	if (s.ncl > 1) {
		clerr = "Duplicate Content-Length header";
	} else if (s.ncl == 1) {
		if (!dec_u32(&s.cl, &clen))
			clerr = "Invalid Content-Length";
		else
			has_clen = true;
	} else if (!datagram) {
		clerr = "Missing Content-Length";
	}
	if (!s.terminated && !clerr)
		clerr = "Header section not terminated";
	end = s.hend;
	if (has_clen) {
		if (clen > len - s.hend) {
			if (!datagram) {
				if (s.hend - s.start + (uint64_t)clen > SIP_MSG_MAX) {
					perr->reason = "Message too large";
					err = E2BIG;
					goto fail;
				}
				perr->reason = "Incomplete message";
				perr->need_more = true;
				err = ENODATA;
				goto fail;
			}
			clerr = "Content-Length larger than message";
			end = len;
		} else {
			end = s.hend + clen;
		}
		if (end - s.start > SIP_MSG_MAX) {
			perr->reason = "Message too large";
			err = E2BIG;
			goto fail;
		}
	} else if (datagram && !clerr) {
		end = len; /* no Content-Length on a datagram: the body is the rest of it */
	}

	/* One allocation: the message, its header array (exactly the fields found) and a private
	 * copy of the bytes every pl points into. */
	msglen = end - s.start;
	hoff =
	    (sizeof(struct sip_msg) + alignof(struct sip_hdr) - 1) & ~(alignof(struct sip_hdr) - 1);
	boff = hoff + s.n * sizeof(struct sip_hdr);
	/* NUL-terminated, and padded so that names can be compared a word at a time. Only the
	 * structure is zeroed: every header entry is written below and the bytes are copied over
	 * (zeroing the whole block cost 5 % of the parse). */
	msg = mem_alloc(boff + msglen + 8, msg_destroy);
	if (!msg) {
		perr->reason = "Out of memory";
		err = ENOMEM;
		goto fail;
	}
	memset(msg, 0, sizeof(*msg));
	msg->hdrs = (struct sip_hdr *)((char *)msg + hoff);
	b = (char *)msg + boff;
	memcpy(b, d + s.start, msglen);
	memset(b + msglen, 0, 8);
	/* The header fields found in the received bytes, moved onto the copy: copied whole, then
	 * each pointer moved by the distance between the two (as integers: they point into two
	 * different objects). */
	base = d + s.start;
	delta = (uintptr_t)b - (uintptr_t)base;
	memcpy(msg->hdrs, s.hdrs, s.n * sizeof(struct sip_hdr));
	for (size_t i = 0; i < s.n; i++) {
		struct sip_hdr *h = &msg->hdrs[i];

		h->name.p = (const char *)((uintptr_t)h->name.p + delta);
		h->value.p = (const char *)((uintptr_t)h->value.p + delta);
	}
	msg->nhdrs = s.n;
	msg->raw = pl_from(b, msglen);
	msg->max_forwards = -1;
	msg->sock = -1;
	msg->has_clen = has_clen;
	msg->clen = clen;
	msg->body = pl_from(b + (s.hend - s.start), end - s.hend);
	if (clerr)
		set_err(msg, EBADMSG, clerr);

	/* The start line ends at its '\n' (present: a message without one was refused above). */
	le = (size_t)(s.sl_nl - base);
	line_ok = start_line(msg, b, le > 0 && b[le - 1] == '\r' ? le - 1 : le);
	if (!line_ok)
		set_err(msg, EBADMSG, msg->is_request ? "Bad request line" : "Bad status line");
	if (s.err)
		set_err(msg, EBADMSG, s.err);
	decode_keys(msg, &s.k, line_ok);
	if (s.hdrs != s.local)
		mem_deref(s.hdrs);

	*msgp = msg;
	if (used)
		*used = end;
	return 0;

fail:
	if (s.hdrs != s.local)
		mem_deref(s.hdrs);
	return err;
}

/* ---------------------------------------------------------------------------------------------
 * Access.
 */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *msg, enum sip_hdr_id id)
{
	if (!msg || id == SIP_HDR_OTHER)
		return NULL;
	for (size_t i = 0; i < msg->nhdrs; i++) {
		if (msg->hdrs[i].id == id)
			return &msg->hdrs[i];
	}
	return NULL;
}

static bool name_is(const struct sip_hdr *h, const char *name, size_t nl)
{
	return h->id == SIP_HDR_OTHER && h->name.l == nl && sip_caseeq(h->name.p, name, nl);
}

const struct sip_hdr *sip_msg_xhdr(const struct sip_msg *msg, const char *name)
{
	enum sip_hdr_id id;
	size_t nl;

	if (!msg || !name)
		return NULL;
	nl = strlen(name);
	id = sip_hdr_lookup_raw(name, nl);
	if (id != SIP_HDR_OTHER)
		return sip_msg_hdr(msg, id);
	for (size_t i = 0; i < msg->nhdrs; i++) {
		if (name_is(&msg->hdrs[i], name, nl))
			return &msg->hdrs[i];
	}
	return NULL;
}

size_t sip_msg_hdr_count(const struct sip_msg *msg, enum sip_hdr_id id)
{
	size_t n = 0;

	if (!msg || id == SIP_HDR_OTHER)
		return 0;
	for (size_t i = 0; i < msg->nhdrs; i++)
		n += msg->hdrs[i].id == id;
	return n;
}

void sip_hdr_iter_init(struct sip_hdr_iter *it, const struct sip_msg *msg, enum sip_hdr_id id,
		       const char *name)
{
	memset(it, 0, sizeof(*it));
	it->msg = msg;
	it->id = id;
	it->name = name;
	if (id == SIP_HDR_OTHER && name)
		it->id = sip_hdr_lookup_raw(name, strlen(name));
}

bool sip_hdr_iter_next(struct sip_hdr_iter *it, struct pl *value)
{
	const struct sip_msg *msg = it->msg;
	size_t nl = it->id == SIP_HDR_OTHER && it->name ? strlen(it->name) : 0;

	if (!msg || (it->id == SIP_HDR_OTHER && !it->name))
		return false;
	for (;;) {
		const struct sip_hdr *h;

		if (it->rest.p) {
			if (sip_list_next(&it->rest, value))
				return true;
			it->rest = (struct pl)PL_INIT;
		}
		while (it->idx < msg->nhdrs &&
		       !(it->id != SIP_HDR_OTHER ? msg->hdrs[it->idx].id == it->id
						 : name_is(&msg->hdrs[it->idx], it->name, nl)))
			it->idx++;
		if (it->idx >= msg->nhdrs)
			return false;
		h = &msg->hdrs[it->idx++];
		if (sip_hdr_is_list(h->id)) {
			it->rest = h->value;
			continue;
		}
		*value = h->value;
		return true;
	}
}

bool sip_msg_has_option(const struct sip_msg *msg, enum sip_hdr_id id, const char *tag)
{
	struct sip_hdr_iter it;
	struct pl v;
	size_t tl;

	if (!msg || !tag)
		return false;
	tl = strlen(tag);
	sip_hdr_iter_init(&it, msg, id, NULL);
	while (sip_hdr_iter_next(&it, &v)) {
		if (v.l == tl && sip_caseeq(v.p, tag, tl))
			return true;
	}
	return false;
}
