/* sdp parse: zero-copy SDP reader (RFC 8866 §5) into struct sdp_session, and the accessors that
 * combine session and media level (c=, direction, a=rtcp). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "sdp.h"
#include "sdp_int.h"

static uint64_t cnt_parsed, cnt_syntax, cnt_big;

static void count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

void sdp_counters_get(struct sdp_counters *out)
{
	out->parsed = __atomic_load_n(&cnt_parsed, __ATOMIC_RELAXED);
	out->refused_syntax = __atomic_load_n(&cnt_syntax, __ATOMIC_RELAXED);
	out->refused_too_big = __atomic_load_n(&cnt_big, __ATOMIC_RELAXED);
}

/* Codec table: the name in a=rtpmap, its rtpmap clock, its static PT. */
static const struct {
	const char *name;
	uint32_t clock;
	int static_pt;
} codec_tab[] = {
    [SDP_CODEC_PCMU] = {"PCMU", 8000, 0},
    [SDP_CODEC_PCMA] = {"PCMA", 8000, 8},
    [SDP_CODEC_G722] = {"G722", 8000, 9},
    [SDP_CODEC_OPUS] = {"opus", 48000, -1},
    [SDP_CODEC_GSM] = {"GSM", 8000, 3},
    [SDP_CODEC_G729] = {"G729", 8000, 18},
    [SDP_CODEC_TE] = {"telephone-event", 8000, -1},
};

const char *sdp_codec_name(enum sdp_codec codec)
{
	return (unsigned)codec <= SDP_CODEC_TE ? codec_tab[codec].name : "?";
}

uint32_t sdp_codec_clock(enum sdp_codec codec)
{
	return (unsigned)codec <= SDP_CODEC_TE ? codec_tab[codec].clock : 0;
}

int sdp_codec_static_pt(enum sdp_codec codec)
{
	return (unsigned)codec <= SDP_CODEC_TE ? codec_tab[codec].static_pt : -1;
}

const char *sdp_dir_name(enum sdp_dir dir)
{
	switch (dir) {
	case SDP_SENDRECV:
		return "sendrecv";
	case SDP_SENDONLY:
		return "sendonly";
	case SDP_RECVONLY:
		return "recvonly";
	default:
		return "inactive";
	}
}

static enum sdp_codec codec_static(int pt)
{
	for (unsigned i = 0; i < SDP_CODEC_COUNT; i++)
		if (codec_tab[i].static_pt == pt)
			return (enum sdp_codec)i;
	return SDP_CODEC_NONE;
}

static enum sdp_codec codec_by_name(const struct pl *name, uint32_t clock, uint8_t channels)
{
	for (unsigned i = 0; i <= SDP_CODEC_TE; i++) {
		if (!pl_caseeq_str(name, codec_tab[i].name))
			continue;
		if (clock != codec_tab[i].clock)
			return SDP_CODEC_NONE;
		/* opus is always written /2 (RFC 7587); the others are mono. */
		if (i != SDP_CODEC_OPUS && channels != 1)
			return SDP_CODEC_NONE;
		return (enum sdp_codec)i;
	}
	return SDP_CODEC_NONE;
}

/* Splits the next space-separated token off *rest. */
static bool next_token(struct pl *rest, struct pl *tok)
{
	size_t i = 0;

	while (i < rest->l && rest->p[i] == ' ')
		i++;
	if (i == rest->l)
		return false;
	size_t s = i;
	while (i < rest->l && rest->p[i] != ' ')
		i++;
	*tok = pl_from(rest->p + s, i - s);
	*rest = pl_from(rest->p + i, rest->l - i);
	return true;
}

/* Up to the first occurrence of c (or all of it); *rest gets what follows c (unset when absent). */
static struct pl split_at(const struct pl *in, char c, struct pl *rest)
{
	const char *x = pl_chr(in, c);

	if (!x) {
		if (rest)
			*rest = (struct pl)PL_INIT;
		return *in;
	}
	if (rest)
		*rest = pl_from(x + 1, in->l - (size_t)(x + 1 - in->p));
	return pl_from(in->p, (size_t)(x - in->p));
}

static int parse_u16(const struct pl *pl, uint16_t *out)
{
	uint32_t v;

	if (pl->l == 0 || pl->l > 5 || pl_u32(pl, &v) || v > 65535)
		return EBADMSG;
	*out = (uint16_t)v;
	return 0;
}

/* "IN IP4 addr[/ttl]" */
static void parse_conn(const struct pl *val, struct sdp_conn *c)
{
	struct pl rest = *val, nt, at, addr;

	memset(c, 0, sizeof(*c));
	if (!next_token(&rest, &nt) || !next_token(&rest, &at) || !next_token(&rest, &addr))
		return;
	if (!pl_caseeq_str(&nt, "IN"))
		return;
	addr = split_at(&addr, '/', NULL);
	if (pl_caseeq_str(&at, "IP4"))
		c->af = AF_INET;
	else if (pl_caseeq_str(&at, "IP6"))
		c->af = AF_INET6;
	else
		return;
	c->addr = addr;
	c->hold = pl_eq_str(&addr, "0.0.0.0") || pl_eq_str(&addr, "::");
}

static bool dir_from(const struct pl *name, enum sdp_dir *dir)
{
	if (pl_eq_str(name, "sendrecv"))
		*dir = SDP_SENDRECV;
	else if (pl_eq_str(name, "sendonly"))
		*dir = SDP_SENDONLY;
	else if (pl_eq_str(name, "recvonly"))
		*dir = SDP_RECVONLY;
	else if (pl_eq_str(name, "inactive"))
		*dir = SDP_INACTIVE;
	else
		return false;
	return true;
}

static struct sdp_fmt *fmt_find(struct sdp_media *m, const struct pl *id)
{
	for (unsigned i = 0; i < m->nfmt; i++)
		if (!pl_cmp(&m->fmt[i].id, id))
			return &m->fmt[i];
	return NULL;
}

static int parse_m(struct sdp_media *m, const struct pl *val)
{
	struct pl rest = *val, type, port, proto, tok, nports;
	int err;

	if (!next_token(&rest, &type) || !next_token(&rest, &port) || !next_token(&rest, &proto))
		return EBADMSG;
	m->type = type;
	port = split_at(&port, '/', &nports);
	err = parse_u16(&port, &m->port);
	if (err)
		return err;
	m->nports = 1;
	if (pl_isset(&nports)) {
		uint16_t n;
		if (parse_u16(&nports, &n) || n == 0)
			return EBADMSG;
		m->nports = n;
	}
	m->proto = proto;
	while (next_token(&rest, &tok)) {
		if (m->nfmt == SDP_MAX_FMT) {
			m->fmt_dropped++;
			continue;
		}
		struct sdp_fmt *f = &m->fmt[m->nfmt++];
		uint32_t pt;
		*f = (struct sdp_fmt){0};
		f->id = tok;
		f->codec = SDP_CODEC_NONE;
		f->channels = 1;
		f->pt = -1;
		if (tok.l <= 3 && !pl_u32(&tok, &pt) && pt <= 127) {
			f->pt = (int)pt;
			f->codec = codec_static(f->pt);
			if (f->codec != SDP_CODEC_NONE)
				f->clock = codec_tab[f->codec].clock;
		}
	}
	if (m->nfmt == 0)
		return EBADMSG;
	m->dir = SDP_SENDRECV;
	return 0;
}

/* a=rtpmap:PT enc/clock[/channels] */
static void attr_rtpmap(struct sdp_media *m, const struct pl *val)
{
	struct pl rest = *val, id, map, enc, clock, ch;
	uint32_t clk = 0, chn = 1;

	if (!next_token(&rest, &id) || !next_token(&rest, &map))
		return;
	struct sdp_fmt *f = fmt_find(m, &id);
	if (!f || f->pt < 0)
		return;
	enc = split_at(&map, '/', &rest);
	clock = split_at(&rest, '/', &ch);
	if (!pl_isset(&clock) || pl_u32(&clock, &clk))
		return;
	if (pl_isset(&ch) && (pl_u32(&ch, &chn) || chn == 0 || chn > 255))
		return;
	f->encoding = enc;
	f->clock = clk;
	f->channels = (uint8_t)chn;
	/* An rtpmap overrides the static assignment (a static PT may be remapped, RFC 3551 §3). */
	f->codec = codec_by_name(&enc, clk, f->channels);
}

static void attr_fmtp(struct sdp_media *m, const struct pl *val)
{
	struct pl rest, id;

	id = split_at(val, ' ', &rest);
	struct sdp_fmt *f = fmt_find(m, &id);
	if (!f || !pl_isset(&rest))
		return;
	pl_trim(&rest);
	f->fmtp = rest;
}

static void attr_media(struct sdp_media *m, const struct pl *name, const struct pl *val)
{
	enum sdp_dir dir;
	uint32_t v;

	if (dir_from(name, &dir)) {
		m->dir = dir;
		m->dir_set = true;
	} else if (pl_eq_str(name, "rtpmap")) {
		attr_rtpmap(m, val);
	} else if (pl_eq_str(name, "fmtp")) {
		attr_fmtp(m, val);
	} else if (pl_eq_str(name, "ptime")) {
		struct pl t = split_at(val, '.', NULL); /* "20.0" is seen in the wild */
		if (!pl_u32(&t, &v) && v <= 1000)
			m->ptime = v;
	} else if (pl_eq_str(name, "maxptime")) {
		struct pl t = split_at(val, '.', NULL);
		if (!pl_u32(&t, &v) && v <= 1000)
			m->maxptime = v;
	} else if (pl_eq_str(name, "rtcp")) {
		struct pl rest = *val, port;
		uint16_t p;
		if (next_token(&rest, &port) && !parse_u16(&port, &p)) {
			m->rtcp_port = p;
			parse_conn(&rest, &m->rtcp_conn);
		}
	} else if (pl_eq_str(name, "rtcp-mux")) {
		m->rtcp_mux = true;
	}
}

int sdp_parse(struct sdp_session *out, const struct pl *body)
{
	const char *p, *end;
	struct sdp_media *cur = NULL;
	bool first = true;
	int err = EBADMSG;

	if (!body || !body->p) {
		count(&cnt_syntax);
		return EINVAL;
	}
	if (body->l > SDP_MAX_BODY) {
		count(&cnt_big);
		return E2BIG;
	}
	if (memchr(body->p, '\0', body->l))
		goto syntax;

	/* Only what is used gets zeroed: the session's fields here, each m-line's when it starts,
	 * each format when it is added. The whole structure is about 15 KB (8 m-lines of 24
	 * formats), and zeroing it on every parse (four per call) cost more than the parse. */
	memset(out, 0, offsetof(struct sdp_session, media));
	out->nmedia = 0;
	out->body = *body;
	out->dir = SDP_SENDRECV;
	p = body->p;
	end = body->p + body->l;
	out->attrs.p = p;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		struct pl line = pl_from(p, (size_t)(le - p));
		const char *lstart = p;

		if (line.l && line.p[line.l - 1] == '\r')
			line.l--;
		p = next;
		if (line.l == 0)
			continue; /* blank lines (a trailing CRLF CRLF) are tolerated */
		if (line.l < 2 || line.p[1] != '=' || line.p[0] < 'a' || line.p[0] > 'z')
			goto syntax;
		char type = line.p[0];
		struct pl val = pl_from(line.p + 2, line.l - 2);

		if (first) {
			if (type != 'v' || !pl_eq_str(&val, "0"))
				goto syntax;
			first = false;
			continue;
		}
		switch (type) {
		case 'o': {
			struct pl rest = val;
			if (cur)
				break;
			if (next_token(&rest, &out->o_user) && next_token(&rest, &out->o_sess_id) &&
			    next_token(&rest, &out->o_sess_version))
				parse_conn(&rest, &out->o_addr);
			break;
		}
		case 's':
			if (!cur)
				out->name = val;
			break;
		case 'c':
			parse_conn(&val, cur ? &cur->conn : &out->conn);
			break;
		case 'm':
			if (out->nmedia == SDP_MAX_MEDIA) {
				count(&cnt_big);
				return E2BIG;
			}
			if (cur)
				cur->attrs.l = (size_t)(lstart - cur->attrs.p);
			else
				out->attrs.l = (size_t)(lstart - out->attrs.p);
			cur = &out->media[out->nmedia++];
			memset(cur, 0, offsetof(struct sdp_media, fmt));
			memset(&cur->nfmt, 0, sizeof(*cur) - offsetof(struct sdp_media, nfmt));
			err = parse_m(cur, &val);
			if (err)
				goto syntax;
			/* Session attributes all precede the first m=, so this is final. */
			cur->dir = out->dir;
			cur->attrs.p = next;
			break;
		case 'a': {
			struct pl aval;
			struct pl name = split_at(&val, ':', &aval);
			if (!pl_isset(&aval))
				aval = pl_from(val.p + val.l, 0);
			if (cur) {
				attr_media(cur, &name, &aval);
			} else {
				enum sdp_dir d;
				if (dir_from(&name, &d))
					out->dir = d;
			}
			break;
		}
		default:
			break; /* i u e p b t r z k: nothing we use */
		}
	}
	if (first)
		goto syntax;
	if (cur)
		cur->attrs.l = (size_t)(end - cur->attrs.p);
	else
		out->attrs.l = (size_t)(end - out->attrs.p);
	count(&cnt_parsed);
	return 0;
syntax:
	count(&cnt_syntax);
	return EBADMSG;
}

static int conn_to_sa(const struct sdp_conn *c, uint16_t port, struct sa *out)
{
	struct sa sa;

	if (!c->af || !pl_isset(&c->addr))
		return ENOENT;
	if (sa_set_pl(&sa, &c->addr, port))
		return EAFNOSUPPORT;
	if (sa_af(&sa) != c->af)
		return EAFNOSUPPORT;
	*out = sa;
	return 0;
}

int sdp_media_addr(const struct sdp_session *s, const struct sdp_media *m, struct sa *out)
{
	return conn_to_sa(m->conn.af ? &m->conn : &s->conn, m->port, out);
}

int sdp_media_rtcp_addr(const struct sdp_session *s, const struct sdp_media *m, struct sa *out)
{
	if (m->rtcp_port) {
		if (m->rtcp_conn.af)
			return conn_to_sa(&m->rtcp_conn, m->rtcp_port, out);
		return conn_to_sa(m->conn.af ? &m->conn : &s->conn, m->rtcp_port, out);
	}
	if (m->port == 65535)
		return ERANGE;
	return conn_to_sa(m->conn.af ? &m->conn : &s->conn, (uint16_t)(m->port + 1), out);
}

enum sdp_dir sdp_media_dir(const struct sdp_session *s, const struct sdp_media *m)
{
	enum sdp_dir d = m->dir_set ? m->dir : s->dir;
	const struct sdp_conn *c = m->conn.af ? &m->conn : &s->conn;

	if (c->hold)
		d = (enum sdp_dir)(d & ~SDP_RECVONLY);
	return d;
}

int sdp_attr_find(const struct sdp_session *s, const struct sdp_media *m, const char *name,
		  struct pl *value)
{
	struct pl span = m ? m->attrs : s->attrs;
	size_t nl = strlen(name);
	const char *p = span.p, *end = span.p + span.l;

	if (!p)
		return ENOENT;
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		const char *le = e ? e : end;
		struct pl line = pl_from(p, (size_t)(le - p));

		p = e ? e + 1 : end;
		if (line.l && line.p[line.l - 1] == '\r')
			line.l--;
		if (line.l < 2 + nl || line.p[0] != 'a' || line.p[1] != '=' ||
		    memcmp(line.p + 2, name, nl) != 0)
			continue;
		if (line.l == 2 + nl) {
			if (value)
				*value = pl_from(line.p + line.l, 0);
			return 0;
		}
		if (line.p[2 + nl] == ':') {
			if (value)
				*value = pl_from(line.p + 3 + nl, line.l - 3 - nl);
			return 0;
		}
	}
	return ENOENT;
}

bool sdp_media_is_rtp_audio(const struct sdp_media *m)
{
	return pl_eq_str(&m->type, "audio") &&
	       (pl_eq_str(&m->proto, "RTP/AVP") || pl_eq_str(&m->proto, "RTP/AVPF") ||
		pl_eq_str(&m->proto, "RTP/SAVP") || pl_eq_str(&m->proto, "RTP/SAVPF"));
}

bool sdp_media_is_savp(const struct sdp_media *m)
{
	return pl_eq_str(&m->proto, "RTP/SAVP") || pl_eq_str(&m->proto, "RTP/SAVPF");
}

const struct sdp_media *sdp_audio(const struct sdp_session *s)
{
	for (unsigned i = 0; i < s->nmedia; i++)
		if (s->media[i].port && sdp_media_is_rtp_audio(&s->media[i]))
			return &s->media[i];
	return NULL;
}

unsigned sdp_codecs(const struct sdp_session *s, uint8_t *codecs, unsigned max)
{
	const struct sdp_media *m = sdp_audio(s);
	unsigned n = 0;

	if (!m)
		return 0;
	for (unsigned i = 0; i < m->nfmt && n < max; i++) {
		enum sdp_codec c = m->fmt[i].codec;
		bool dup = false;
		if (c >= SDP_CODEC_COUNT)
			continue;
		for (unsigned j = 0; j < n; j++)
			dup |= codecs[j] == c;
		if (!dup)
			codecs[n++] = (uint8_t)c;
	}
	return n;
}
