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

/* What a first pass over the received bytes learns before anything is allocated. */
struct frame {
	size_t start;	   /* first byte of the start line (leading CRLFs skipped) */
	size_t hend;	   /* first byte after the empty line, or len when there is none */
	bool terminated;   /* the empty line was seen */
	size_t lines;	   /* physical lines after the start line (bounds the header count) */
	size_t cl_line[2]; /* where the first two Content-Length header lines start */
	size_t ncl;
};

/* Positions of the first line ends ('\n'), relative to the start line, found by the framing
 * pass so that splitting the headers does not search for them again. */
#define NL_INDEX_MAX 256
struct nl_index {
	uint32_t nl[NL_INDEX_MAX];
	size_t n;      /* recorded */
	size_t i;      /* cursor: positions only grow */
	bool complete; /* every line end of the header section is recorded */
};

/* The first '\n' at or after pos, or limit when there is none before it. */
static inline size_t find_nl(const char *b, size_t pos, size_t limit, struct nl_index *x)
{
	const char *p;

	if (x) {
		while (x->i < x->n && x->nl[x->i] < pos)
			x->i++;
		if (x->i < x->n)
			return x->nl[x->i] < limit ? x->nl[x->i] : limit;
		if (x->complete)
			return limit;
	}
	p = pos < limit ? memchr(b + pos, '\n', limit - pos) : NULL;
	return p ? (size_t)(p - b) : limit;
}

static void set_err(struct sip_msg *msg, int err, const char *reason)
{
	if (!msg->err_reason) {
		msg->err_reason = reason;
		msg->err = err;
	}
}

/* Line at d[p] (not a continuation) names Content-Length ("l" compact)? */
static bool line_is_clen(const char *d, size_t p, const char *nl)
{
	const char *q = d + p, *s = q;
	unsigned c = sip_lower[(unsigned char)*q];
	size_t n;

	if (c != 'c' && c != 'l')
		return false;
	/* Most 'C' lines (Call-ID, CSeq, Contact, Content-Type) fail here at once. */
	if (c == 'c' && (nl - q < 15 || q[7] != '-' || sip_lower[(unsigned char)q[8]] != 'l'))
		return false;
	while (s < nl && sip_ct(*s, SIP_CT_TOKEN))
		s++;
	n = (size_t)(s - q);
	if (!(n == 1 && c == 'l') && !(n == 14 && sip_caseeq(q, "content-length", 14)))
		return false;
	while (s < nl && (*s == ' ' || *s == '\t'))
		s++;
	return s < nl && *s == ':';
}

/* Finds the empty line ending the header section (CRLF or bare LF line ends), counting lines
 * and noting Content-Length lines on the way. One memchr per line: O(n). */
static void frame_scan(const char *d, size_t len, struct frame *f, struct nl_index *x)
{
	size_t p = f->start;
	bool first = true;

	f->terminated = false;
	f->lines = 0;
	f->ncl = 0;
	x->n = 0;
	x->i = 0;
	x->complete = true;
	for (;;) {
		const char *nl = memchr(d + p, '\n', len - p);
		size_t next;

		if (!nl) {
			f->hend = len;
			if (p < len)
				f->lines++; /* an unterminated last line */
			return;
		}
		if (x->n < NL_INDEX_MAX)
			x->nl[x->n++] = (uint32_t)(nl - d - f->start);
		else
			x->complete = false;
		if (!first) {
			f->lines++;
			if (line_is_clen(d, p, nl) && f->ncl++ < 2)
				f->cl_line[f->ncl - 1] = p;
		}
		first = false;
		next = (size_t)(nl - d) + 1;
		if (next < len && d[next] == '\n') {
			f->hend = next + 1;
			f->terminated = true;
			return;
		}
		if (next + 1 < len && d[next] == '\r' && d[next + 1] == '\n') {
			f->hend = next + 2;
			f->terminated = true;
			return;
		}
		p = next;
	}
}

/* End of the logical header line starting at p: folded continuation lines (line end followed
 * by SP or HTAB) belong to it. Returns the position of its final '\n' (or limit), and the
 * start of the next line in *next. */
static size_t logical_end(const char *d, size_t p, size_t limit, size_t *next, struct nl_index *x)
{
	for (;;) {
		size_t nl = find_nl(d, p, limit, x), e;

		if (nl >= limit) {
			*next = limit;
			return limit;
		}
		e = nl + 1;
		if (e < limit && (d[e] == ' ' || d[e] == '\t')) {
			p = e;
			continue;
		}
		*next = e;
		return nl;
	}
}

/* logical_end() for the header split: walks the line-end index directly (a cursor and one
 * look at the byte after each line end) rather than searching for each line end again. */
static inline size_t line_end(const char *d, size_t p, size_t limit, size_t *next,
			      struct nl_index *x)
{
	size_t i = x->i;

	if (!x->complete)
		return logical_end(d, p, limit, next, x);
	while (i < x->n && x->nl[i] < p)
		i++;
	for (; i < x->n && x->nl[i] < limit; i++) {
		size_t e = x->nl[i] + 1;

		if (e < limit && (d[e] == ' ' || d[e] == '\t'))
			continue; /* folded: the next physical line belongs to this one */
		x->i = i + 1;
		*next = e;
		return e - 1;
	}
	x->i = i;
	*next = limit;
	return limit;
}

/* The value of a Content-Length line found by frame_scan. */
static int clen_value(const char *d, size_t p, size_t limit, uint32_t *v)
{
	const char *colon = memchr(d + p, ':', limit - p);
	size_t next, e;
	struct pl val;

	if (!colon)
		return EBADMSG;
	e = logical_end(d, p, limit, &next, NULL);
	if ((size_t)(colon - d) >= e)
		return EBADMSG;
	val = pl_from(colon + 1, e - (size_t)(colon - d) - 1);
	sip_trim(&val);
	return pl_u32(&val, v) ? EBADMSG : 0;
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

	if (v->l < 7 || !sip_caseeq(v->p, "SIP/", 4))
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

	if (l >= 4 && sip_caseeq(p, "SIP/", 4)) {
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

/* Splits the header lines of b[p..hend) into msg->hdrs (at most cap). `nul` says the header
 * section holds a NUL somewhere, so lines are checked for one (rare: not worth a scan per line
 * otherwise). */
static void split_headers(struct sip_msg *msg, const char *b, size_t p, size_t hend, size_t cap,
			  struct keys *k, struct nl_index *x, bool nul)
{
	while (p < hend) {
		const char *s = b + p, *q;
		size_t next, e;
		struct sip_hdr *h;

		if (*s == '\n' || (*s == '\r' && p + 1 < hend && s[1] == '\n'))
			break; /* the empty line */
		if (*s == ' ' || *s == '\t') {
			/* Only the start line can be followed by this: nothing to continue. */
			set_err(msg, EBADMSG, "Malformed header line");
			logical_end(b, p, hend, &next, x);
			p = next;
			continue;
		}
		e = line_end(b, p, hend, &next, x);
		if (e - p > SIP_HDR_LINE_MAX)
			set_err(msg, EBADMSG, "Header field too long");
		if (nul && has_bare_nul(s, b + e))
			set_err(msg, EBADMSG, "NUL byte in header field");
		/* b[e] is the line's '\n', or the NUL after an unterminated header section: not a
		 * token character, so the scan needs no bound of its own. */
		q = s;
		while (sip_ct(*q, SIP_CT_TOKEN))
			q++;
		if (q == s) {
			set_err(msg, EBADMSG, "Malformed header line");
			p = next;
			continue;
		}
		h = msg->nhdrs < cap ? &msg->hdrs[msg->nhdrs] : NULL;
		if (!h) {
			set_err(msg, EBADMSG, "Too many header fields");
			return;
		}
		h->name = pl_from(s, (size_t)(q - s));
		while (q < b + e && (*q == ' ' || *q == '\t'))
			q++;
		if (q >= b + e || *q != ':') {
			set_err(msg, EBADMSG, "Malformed header line");
			p = next;
			continue;
		}
		q++;
		h->value = pl_from(q, (size_t)(b + e - q));
		sip_trim(&h->value);
		if (!h->value.l)
			h->value.p = q; /* keep a pointer into the message for empty values */
		h->id = sip_hdr_lookup_padded(h->name.p, h->name.l);
		note_key(k, h->id, msg->nhdrs);
		msg->nhdrs++;
		p = next;
	}
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

		if (pl_u32(&msg->hdrs[k->maxfwd].value, &mf) == 0 && mf <= 255)
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
	const char *d = data;
	struct frame f;
	struct nl_index nlx;
	struct sip_msg *msg;
	struct keys k;
	const char *clerr = NULL;
	bool has_clen = false, line_ok;
	uint32_t clen = 0;
	size_t end, msglen, cap, hoff, boff, le;
	char *b;

	if (!perr)
		perr = &dummy;
	perr->reason = NULL;
	perr->need_more = false;
	if (!msgp || (!data && len))
		return EINVAL;

	/* RFC 3261 §7.5: line ends before the start line are ignored. */
	f.start = 0;
	while (f.start < len && (d[f.start] == '\r' || d[f.start] == '\n'))
		f.start++;
	if (f.start == len) {
		if (!datagram) {
			perr->reason = "Incomplete message";
			perr->need_more = true;
			return ENODATA;
		}
		perr->reason = "Empty message";
		return EBADMSG;
	}
	if (d[f.start] == ' ' || d[f.start] == '\t') {
		perr->reason = "Bad start line";
		return EBADMSG;
	}
	if (datagram && len - f.start > SIP_MSG_MAX) {
		perr->reason = "Message too large";
		return E2BIG;
	}

	frame_scan(d, len, &f, &nlx);
	if (!f.terminated) {
		if (!datagram) {
			if (len - f.start > SIP_MSG_MAX) {
				perr->reason = "Message too large";
				return E2BIG;
			}
			perr->reason = "Incomplete message";
			perr->need_more = true;
			return ENODATA;
		}
		if (!memchr(d + f.start, '\n', len - f.start)) {
			perr->reason = "Not a SIP message";
			return EBADMSG;
		}
	}
	if (f.hend - f.start > SIP_MSG_MAX) {
		perr->reason = "Message too large";
		return E2BIG;
	}

	/* Framing (RFC 3261 §18.3). An unusable Content-Length leaves the body out and the message
	 * without has_clen: on a stream the transport cannot find the next message then. */
	if (f.ncl > 1) {
		clerr = "Duplicate Content-Length header";
	} else if (f.ncl == 1) {
		if (clen_value(d, f.cl_line[0], f.hend, &clen))
			clerr = "Invalid Content-Length";
		else
			has_clen = true;
	} else if (!datagram) {
		clerr = "Missing Content-Length";
	}
	if (!f.terminated && !clerr)
		clerr = "Header section not terminated";
	end = f.hend;
	if (has_clen) {
		if (clen > len - f.hend) {
			if (!datagram) {
				if (f.hend - f.start + (uint64_t)clen > SIP_MSG_MAX) {
					perr->reason = "Message too large";
					return E2BIG;
				}
				perr->reason = "Incomplete message";
				perr->need_more = true;
				return ENODATA;
			}
			clerr = "Content-Length larger than message";
			end = len;
		} else {
			end = f.hend + clen;
		}
		if (end - f.start > SIP_MSG_MAX) {
			perr->reason = "Message too large";
			return E2BIG;
		}
	} else if (datagram && !clerr) {
		end = len; /* no Content-Length on a datagram: the body is the rest of it */
	}

	/* One allocation: the message, its header array (bounded by the line count) and a
	 * private copy of the bytes every pl points into. */
	msglen = end - f.start;
	cap = MIN(f.lines, (size_t)SIP_HDRS_MAX);
	hoff =
	    (sizeof(struct sip_msg) + alignof(struct sip_hdr) - 1) & ~(alignof(struct sip_hdr) - 1);
	boff = hoff + cap * sizeof(struct sip_hdr);
	/* NUL-terminated, and padded so that header names can be compared a word at a time. Only
	 * the structure is zeroed: split_headers() writes every header entry it counts, and the
	 * bytes are copied over (zeroing the whole block cost 5 % of the parse). */
	msg = mem_alloc(boff + msglen + 8, msg_destroy);
	if (!msg) {
		perr->reason = "Out of memory";
		return ENOMEM;
	}
	memset(msg, 0, sizeof(*msg));
	msg->hdrs = (struct sip_hdr *)((char *)msg + hoff);
	b = (char *)msg + boff;
	memcpy(b, d + f.start, msglen);
	memset(b + msglen, 0, 8);
	msg->raw = pl_from(b, msglen);
	msg->max_forwards = -1;
	msg->sock = -1;
	msg->has_clen = has_clen;
	msg->clen = clen;
	msg->body = pl_from(b + (f.hend - f.start), end - f.hend);
	if (clerr)
		set_err(msg, EBADMSG, clerr);

	le = find_nl(b, 0, msglen, &nlx);
	line_ok = start_line(msg, b, le > 0 && b[le - 1] == '\r' ? le - 1 : le);
	if (!line_ok)
		set_err(msg, EBADMSG, msg->is_request ? "Bad request line" : "Bad status line");

	k = (struct keys){NO_HDR, NO_HDR, NO_HDR, NO_HDR, NO_HDR, NO_HDR, NO_HDR, 0, 0, 0, 0, 0};
	split_headers(msg, b, le < msglen ? le + 1 : msglen, f.hend - f.start, cap, &k, &nlx,
		      memchr(b, '\0', f.hend - f.start) != NULL);
	decode_keys(msg, &k, line_ok);

	*msgp = msg;
	if (used)
		*used = end;
	return 0;
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
