/* hdr: SIP header, method and transport name tables, character classes and the comma-list
 * splitter (RFC 3261 §7.3, §20, §25.1). */
#include <string.h>

#include "sip_int.h"

/* ---------------------------------------------------------------------------------------------
 * Character classes, built at compile time so that no initialisation order matters.
 */
#define CT_ALNUM(c)                                                                                \
	(((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define CT_MARK(c)                                                                                 \
	((c) == '-' || (c) == '_' || (c) == '.' || (c) == '!' || (c) == '~' || (c) == '*' ||       \
	 (c) == '\'' || (c) == '(' || (c) == ')')
#define CT_UNRES_(c) (CT_ALNUM(c) || CT_MARK(c))
#define CT_TOKEN_(c)                                                                               \
	(CT_ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '!' || (c) == '%' || (c) == '*' ||      \
	 (c) == '_' || (c) == '+' || (c) == '`' || (c) == '\'' || (c) == '~')
#define CT_HEX_(c)                                                                                 \
	(((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define CT_USER_(c)                                                                                \
	(CT_UNRES_(c) || (c) == '&' || (c) == '=' || (c) == '+' || (c) == '$' || (c) == ',' ||     \
	 (c) == ';' || (c) == '?' || (c) == '/')
#define CT_PASS_(c)                                                                                \
	(CT_UNRES_(c) || (c) == '&' || (c) == '=' || (c) == '+' || (c) == '$' || (c) == ',')
#define CT_PARAM_(c)                                                                               \
	(CT_UNRES_(c) || (c) == '[' || (c) == ']' || (c) == '/' || (c) == ':' || (c) == '&' ||     \
	 (c) == '+' || (c) == '$')
#define CT_HNV_(c)                                                                                 \
	(CT_UNRES_(c) || (c) == '[' || (c) == ']' || (c) == '/' || (c) == '?' || (c) == ':' ||     \
	 (c) == '+' || (c) == '$')
#define CT_GENVAL_(c)                                                                              \
	((c) > 0x20 && (c) < 0x7f && (c) != ';' && (c) != ',' && (c) != '"' && (c) != '<' &&       \
	 (c) != '>')
#define CT(c)                                                                                      \
	((CT_TOKEN_(c) ? SIP_CT_TOKEN : 0) |                                                       \
	 (((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n') ? SIP_CT_LWS : 0) |            \
	 (((c) >= '0' && (c) <= '9') ? SIP_CT_DIGIT : 0) | (CT_HEX_(c) ? SIP_CT_HEX : 0) |         \
	 (CT_UNRES_(c) ? SIP_CT_UNRES : 0) | (CT_USER_(c) ? SIP_CT_USER : 0) |                     \
	 (CT_PASS_(c) ? SIP_CT_PASS : 0) | (CT_PARAM_(c) ? SIP_CT_PARAM : 0) |                     \
	 (CT_HNV_(c) ? SIP_CT_HNV : 0) |                                                           \
	 ((CT_ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '_') ? SIP_CT_HOST : 0) |             \
	 ((CT_ALNUM(c) || (c) == '+' || (c) == '-' || (c) == '.') ? SIP_CT_SCHEME : 0) |           \
	 (CT_GENVAL_(c) ? SIP_CT_GENVAL : 0) |                                                     \
	 ((CT_HEX_(c) || (c) == ':' || (c) == '.') ? SIP_CT_V6 : 0) |                              \
	 (((c) == ',' || (c) == '"' || (c) == '<' || (c) == '>' || (c) == '\\') ? SIP_CT_SPLIT     \
										: 0))
#define CT4(b)	CT(b), CT((b) + 1), CT((b) + 2), CT((b) + 3)
#define CT16(b) CT4(b), CT4((b) + 4), CT4((b) + 8), CT4((b) + 12)
#define CT64(b) CT16(b), CT16((b) + 16), CT16((b) + 32), CT16((b) + 48)

const uint16_t sip_ctype[256] = {CT64(0), CT64(64), CT64(128), CT64(192)};

#define LO(c)	(uint8_t)(((c) >= 'A' && (c) <= 'Z') ? (c) + 32 : (c))
#define LO4(b)	LO(b), LO((b) + 1), LO((b) + 2), LO((b) + 3)
#define LO16(b) LO4(b), LO4((b) + 4), LO4((b) + 8), LO4((b) + 12)
#define LO64(b) LO16(b), LO16((b) + 16), LO16((b) + 32), LO16((b) + 48)

const uint8_t sip_lower[256] = {LO64(0), LO64(64), LO64(128), LO64(192)};

/* ---------------------------------------------------------------------------------------------
 * Header names.
 */
struct hdr_info {
	const char *name;
	uint8_t len;
	char compact;
	bool list;
};

static const struct hdr_info hdr_info[SIP_HDR_COUNT] = {[SIP_HDR_OTHER] = {NULL, 0, 0, false},
#define SIP_HDR_INFO(id, name, compact, list)                                                      \
	[SIP_HDR_##id] = {name, sizeof(name) - 1, compact, list},
							SIP_HDR_TABLE(SIP_HDR_INFO)
#undef SIP_HDR_INFO
};

/* Lookup by (length, first letter): the head of a short chain of candidates. Ids fit in a
 * byte (the table has fewer than 255 entries). Used for names given as C strings. */
#define HDR_MAXLEN 32
static uint8_t hdr_bucket[HDR_MAXLEN][32];
static uint8_t hdr_next[SIP_HDR_COUNT];
static uint8_t hdr_compact[32];
static char hdr_lname[SIP_HDR_COUNT][HDR_MAXLEN]; /* lower-case names for the comparison */

/* The parser's lookup (sip_hdr_lookup_padded in sip_int.h) compares 64-bit words. */
struct sip_hdr_key sip_hdr_keys[SIP_HDR_COUNT];
uint8_t sip_hdr_hash_head[1u << SIP_HDR_HASH_BITS];
uint8_t sip_hdr_compact[32];

__attribute__((constructor)) static void hdr_table_init(void)
{
	for (int id = SIP_HDR_COUNT - 1; id > 0; id--) {
		const struct hdr_info *h = &hdr_info[id];
		uint8_t *head = &hdr_bucket[h->len][sip_lower[(unsigned char)h->name[0]] & 31];
		struct sip_hdr_key *w = &sip_hdr_keys[id];
		uint64_t w0 = 0;
		unsigned hh;

		for (size_t i = 0; i < h->len; i++)
			hdr_lname[id][i] = (char)sip_lower[(unsigned char)h->name[i]];
		memcpy(w->w, hdr_lname[id], sizeof(w->w));
		if (h->len >= 8)
			memcpy(&w->tail, hdr_lname[id] + h->len - 8, sizeof(w->tail));
		w->len = h->len;
		memcpy(&w0, hdr_lname[id], h->len < 8 ? h->len : 8);
		hh = sip_hdr_hash(w0, h->len);
		w->next = sip_hdr_hash_head[hh];
		sip_hdr_hash_head[hh] = (uint8_t)id;
		hdr_next[id] = *head;
		*head = (uint8_t)id;
		if (h->compact)
			hdr_compact[sip_lower[(unsigned char)h->compact] & 31] = (uint8_t)id;
	}
	memcpy(sip_hdr_compact, hdr_compact, sizeof(sip_hdr_compact));
}

enum sip_hdr_id sip_hdr_lookup_raw(const char *p, size_t l)
{
	unsigned c;

	if (l == 0 || l >= HDR_MAXLEN)
		return SIP_HDR_OTHER;
	c = sip_lower[(unsigned char)p[0]];
	if (c < 'a' || c > 'z')
		return SIP_HDR_OTHER;
	if (l == 1)
		return (enum sip_hdr_id)hdr_compact[c & 31];
	for (unsigned id = hdr_bucket[l][c & 31]; id; id = hdr_next[id]) {
		const char *k = hdr_lname[id];
		size_t i = 1;

		/* Names hold only letters and '-': OR-ing 0x20 folds the case of a letter. */
		for (; i < l; i++) {
			char x = k[i] >= 'a' ? (char)(p[i] | 0x20) : p[i];

			if (x != k[i])
				break;
		}
		if (i == l)
			return (enum sip_hdr_id)id;
	}
	return SIP_HDR_OTHER;
}

const char *sip_hdr_name(enum sip_hdr_id id)
{
	if ((unsigned)id >= SIP_HDR_COUNT)
		return NULL;
	return hdr_info[id].name;
}

enum sip_hdr_id sip_hdr_lookup(const struct pl *name)
{
	if (!name || !name->p)
		return SIP_HDR_OTHER;
	return sip_hdr_lookup_raw(name->p, name->l);
}

bool sip_hdr_is_list(enum sip_hdr_id id)
{
	if ((unsigned)id >= SIP_HDR_COUNT)
		return false;
	return hdr_info[id].list;
}

/* ---------------------------------------------------------------------------------------------
 * Methods (case-sensitive, RFC 3261 §7.1) and transports (case-insensitive, §7.3.1).
 */
static const char *const method_names[] = {
    [SIP_METHOD_OTHER] = NULL,
    [SIP_METHOD_INVITE] = "INVITE",
    [SIP_METHOD_ACK] = "ACK",
    [SIP_METHOD_BYE] = "BYE",
    [SIP_METHOD_CANCEL] = "CANCEL",
    [SIP_METHOD_OPTIONS] = "OPTIONS",
    [SIP_METHOD_REGISTER] = "REGISTER",
    [SIP_METHOD_PRACK] = "PRACK",
    [SIP_METHOD_UPDATE] = "UPDATE",
    [SIP_METHOD_INFO] = "INFO",
    [SIP_METHOD_REFER] = "REFER",
    [SIP_METHOD_NOTIFY] = "NOTIFY",
    [SIP_METHOD_SUBSCRIBE] = "SUBSCRIBE",
    [SIP_METHOD_MESSAGE] = "MESSAGE",
    [SIP_METHOD_PUBLISH] = "PUBLISH",
};

static const uint8_t method_len[] = {0, 6, 3, 3, 6, 7, 8, 5, 6, 4, 5, 6, 9, 7, 7};
_Static_assert(ARRAY_SIZE(method_len) == ARRAY_SIZE(method_names), "one length per method");

/* Candidates by name length (3 to 9), the common ones first, 0-terminated. */
static const uint8_t method_by_len[10][5] = {
    [3] = {SIP_METHOD_ACK, SIP_METHOD_BYE},
    [4] = {SIP_METHOD_INFO},
    [5] = {SIP_METHOD_PRACK, SIP_METHOD_REFER},
    [6] = {SIP_METHOD_INVITE, SIP_METHOD_CANCEL, SIP_METHOD_UPDATE, SIP_METHOD_NOTIFY},
    [7] = {SIP_METHOD_OPTIONS, SIP_METHOD_MESSAGE, SIP_METHOD_PUBLISH},
    [8] = {SIP_METHOD_REGISTER},
    [9] = {SIP_METHOD_SUBSCRIBE},
};

/* A name of 3 to 9 bytes as one word: its first and last four bytes (all of it up to 8; the
 * ninth byte's name, SUBSCRIBE, is also compared in the middle). Fixed-size loads, so no
 * memcmp() or memcpy() call. */
static inline uint64_t method_key(const char *p, size_t l)
{
	uint32_t a, b;

	if (l < 4) {
		uint16_t h;

		memcpy(&h, p, 2);
		return h | (uint64_t)(unsigned char)p[2] << 16;
	}
	memcpy(&a, p, 4);
	memcpy(&b, p + l - 4, 4);
	return a | (uint64_t)b << 32;
}

static uint64_t method_keys[ARRAY_SIZE(method_names)];

__attribute__((constructor)) static void method_table_init(void)
{
	for (size_t m = 1; m < ARRAY_SIZE(method_names); m++)
		method_keys[m] = method_key(method_names[m], method_len[m]);
}

/* Every message names a method twice (start line, CSeq). */
enum sip_method sip_method_lookup(const struct pl *name)
{
	uint64_t w;
	size_t l;

	if (!name || !name->p || name->l < 3 || name->l > 9)
		return SIP_METHOD_OTHER;
	l = name->l;
	w = method_key(name->p, l);
	for (const uint8_t *m = method_by_len[l]; *m; m++) {
		if (method_keys[*m] == w && (l < 9 || method_names[*m][4] == name->p[4]))
			return (enum sip_method) * m;
	}
	return SIP_METHOD_OTHER;
}

const char *sip_method_name(enum sip_method m)
{
	if ((unsigned)m >= ARRAY_SIZE(method_names))
		return NULL;
	return method_names[m];
}

/* clang-format off */
static const char *const tp_names[] = {
	[SIP_TP_NONE] = NULL,
	[SIP_TP_UDP] = "UDP",
	[SIP_TP_TCP] = "TCP",
	[SIP_TP_TLS] = "TLS",
	[SIP_TP_SCTP] = "SCTP",
	[SIP_TP_WS] = "WS",
	[SIP_TP_WSS] = "WSS",
	[SIP_TP_OTHER] = NULL,
};
/* clang-format on */

static const uint8_t tp_len[] = {0, 3, 3, 3, 4, 2, 3, 0};
_Static_assert(ARRAY_SIZE(tp_len) == ARRAY_SIZE(tp_names), "one length per transport");

const char *sip_transport_name(enum sip_transport tp)
{
	if ((unsigned)tp >= ARRAY_SIZE(tp_names))
		return NULL;
	return tp_names[tp];
}

enum sip_transport sip_transport_lookup(const struct pl *name)
{
	if (!name || !name->p || name->l == 0)
		return SIP_TP_NONE;
	/* Every Via names one: the common ones a word at a time (the loop's answer too). */
	if (name->l == 3) {
		if (sip_letters_eq(name->p, "udp", 3))
			return SIP_TP_UDP;
		if (sip_letters_eq(name->p, "tcp", 3))
			return SIP_TP_TCP;
	}
	for (size_t t = SIP_TP_UDP; t <= SIP_TP_WSS; t++) {
		if (tp_len[t] == name->l && sip_caseeq(tp_names[t], name->p, name->l))
			return (enum sip_transport)t;
	}
	return SIP_TP_OTHER;
}

bool sip_transport_reliable(enum sip_transport tp)
{
	switch (tp) {
	case SIP_TP_TCP:
	case SIP_TP_TLS:
	case SIP_TP_SCTP:
	case SIP_TP_WS:
	case SIP_TP_WSS:
		return true;
	default:
		return false;
	}
}

/* ---------------------------------------------------------------------------------------------
 * Comma-separated lists (RFC 3261 §7.3.1).
 */
bool sip_list_next(struct pl *rest, struct pl *value)
{
	const char *p, *end;

	if (!rest->p)
		return false;
	p = rest->p;
	end = p + rest->l;
	if (!memchr(p, ',', rest->l)) {
		/* No comma at all (the usual case): one element, whatever the quotes. */
		struct pl v = pl_from(rest->p, rest->l);

		rest->p = end;
		rest->l = 0;
		sip_trim(&v);
		if (!v.l)
			return false;
		*value = v;
		return true;
	}
	while (p < end) {
		const char *start = p;
		bool quoted = false, angle = false;
		struct pl v;

		for (; p < end; p++) {
			char c = *p;

			if (!sip_ct(c, SIP_CT_SPLIT))
				continue;
			if (quoted) {
				if (c == '\\' && p + 1 < end)
					p++;
				else if (c == '"')
					quoted = false;
			} else if (c == '"') {
				quoted = true;
			} else if (c == '<') {
				angle = true;
			} else if (c == '>') {
				angle = false;
			} else if (c == ',' && !angle) {
				break;
			}
		}
		v = pl_from(start, (size_t)(p - start));
		if (p < end)
			p++; /* the comma */
		sip_trim(&v);
		if (v.l) {
			*value = v;
			rest->p = p;
			rest->l = (size_t)(end - p);
			return true;
		}
	}
	rest->p = end;
	rest->l = 0;
	return false;
}
