/* peer: reads the meaning of sip.conf (Asterisk chan_sip keys) into a refcounted snapshot:
 * [general], `register =>` lines and peers; reports unknown and unimplemented keys once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "peer_int.h"
#include "server.h"

#ifndef MIKAKA_VERSION
#define MIKAKA_VERSION "unknown"
#endif

#define PEER_CHUNK_SIZE	   (64 * 1024)
#define QUALIFY_DEFAULT_MS 2000 /* qualify=yes: Asterisk's DEFAULT_MAXMS */

/* ---------------------------------------------------------------------------------------------
 * The key table: every key this module implements, every key the server module reads, and every
 * chan_sip key mikaka does not implement (so a typo is told apart from a known Asterisk key).
 */
enum key_id {
	K_NOIMPL, /* an Asterisk key mikaka does not implement */
	K_SERVER, /* read by src/server (listening addresses, timers) */
	K_CONTEXT,
	K_ALLOWGUEST,
	K_ALWAYSAUTHREJECT,
	K_REALM,
	K_ALLOWOVERLAP,
	K_USERAGENT,
	K_TOS_SIP,
	K_TOS_AUDIO,
	K_MINEXPIRY,
	K_MAXEXPIRY,
	K_DEFAULTEXPIRY,
	K_SRVLOOKUP,
	K_REGISTER,
	K_TYPE,
	K_HOST,
	K_PORT,
	K_SECRET,
	K_MD5SECRET,
	K_DEFAULTUSER,
	K_FROMUSER,
	K_FROMDOMAIN,
	K_ALLOW,
	K_DISALLOW,
	K_DIRECTMEDIA,
	K_DTMFMODE,
	K_QUALIFY,
	K_QUALIFYFREQ,
	K_INSECURE,
	K_NAT,
	K_CALLERID,
	K_CALL_LIMIT,
	K_PERMIT,
	K_DENY,
	K_TRANSPORT,
	K_OUTBOUNDPROXY,
	K_ENCRYPTION,
	K_MAILBOX,
	K_CALLGROUP,
	K_PICKUPGROUP,
	K_NAMEDCALLGROUP,
	K_NAMEDPICKUPGROUP,
	K_LANGUAGE,
	K_MOHSUGGEST,
	K_SUBSCRIBECONTEXT,
	K_ALLOWSUBSCRIBE,
	K_NOTIFYRINGING,
	K_NOTIFYHOLD,
	K_NOTIFYCID,
};

enum {
	KW_GEN = 1 << 0,     /* implemented in [general] */
	KW_PEER = 1 << 1,    /* implemented in a peer */
	KW_AST_GEN = 1 << 2, /* Asterisk also has it in [general] (not implemented there) */
	KW_AST_PEER = 1 << 3 /* Asterisk also has it in peers (not implemented there) */
};

struct key_def {
	const char *name;
	uint8_t id;
	uint8_t where;
};

static const struct key_def key_table[] = {
    {"context", K_CONTEXT, KW_GEN | KW_PEER},
    {"allowguest", K_ALLOWGUEST, KW_GEN},
    {"alwaysauthreject", K_ALWAYSAUTHREJECT, KW_GEN},
    {"realm", K_REALM, KW_GEN},
    {"allowoverlap", K_ALLOWOVERLAP, KW_GEN | KW_AST_PEER},
    {"useragent", K_USERAGENT, KW_GEN},
    {"tos_sip", K_TOS_SIP, KW_GEN},
    {"tos_audio", K_TOS_AUDIO, KW_GEN},
    {"minexpiry", K_MINEXPIRY, KW_GEN},
    {"minexpirey", K_MINEXPIRY, KW_GEN},
    {"maxexpiry", K_MAXEXPIRY, KW_GEN},
    {"maxexpirey", K_MAXEXPIRY, KW_GEN},
    {"defaultexpiry", K_DEFAULTEXPIRY, KW_GEN},
    {"defaultexpirey", K_DEFAULTEXPIRY, KW_GEN},
    {"srvlookup", K_SRVLOOKUP, KW_GEN},
    {"register", K_REGISTER, KW_GEN},
    {"udpbindaddr", K_SERVER, KW_GEN},
    {"bindport", K_SERVER, KW_GEN},
    {"tcpenable", K_SERVER, KW_GEN},
    {"tcpbindaddr", K_SERVER, KW_GEN},
    {"tlsenable", K_SERVER, KW_GEN},
    {"tlsbindaddr", K_SERVER, KW_GEN},
    {"tlscertfile", K_SERVER, KW_GEN},
    {"tlsprivatekey", K_SERVER, KW_GEN},
    {"tlscafile", K_SERVER, KW_GEN},
    {"tlscipher", K_SERVER, KW_GEN},
    {"tlsclientmethod", K_SERVER, KW_GEN},
    {"timert1", K_SERVER, KW_GEN | KW_AST_PEER},
    {"type", K_TYPE, KW_PEER},
    {"host", K_HOST, KW_PEER},
    {"port", K_PORT, KW_PEER},
    {"secret", K_SECRET, KW_PEER},
    {"md5secret", K_MD5SECRET, KW_PEER},
    {"defaultuser", K_DEFAULTUSER, KW_PEER},
    {"username", K_DEFAULTUSER, KW_PEER},
    {"fromuser", K_FROMUSER, KW_PEER},
    {"fromdomain", K_FROMDOMAIN, KW_GEN | KW_PEER},
    {"allow", K_ALLOW, KW_GEN | KW_PEER},
    {"disallow", K_DISALLOW, KW_GEN | KW_PEER},
    {"directmedia", K_DIRECTMEDIA, KW_GEN | KW_PEER},
    {"canreinvite", K_DIRECTMEDIA, KW_GEN | KW_PEER},
    {"dtmfmode", K_DTMFMODE, KW_GEN | KW_PEER},
    {"qualify", K_QUALIFY, KW_GEN | KW_PEER},
    {"qualifyfreq", K_QUALIFYFREQ, KW_GEN | KW_PEER},
    {"insecure", K_INSECURE, KW_GEN | KW_PEER},
    {"nat", K_NAT, KW_GEN | KW_PEER},
    {"callerid", K_CALLERID, KW_PEER | KW_AST_GEN},
    {"call-limit", K_CALL_LIMIT, KW_PEER},
    {"permit", K_PERMIT, KW_PEER},
    {"deny", K_DENY, KW_PEER},
    {"transport", K_TRANSPORT, KW_GEN | KW_PEER},
    {"outboundproxy", K_OUTBOUNDPROXY, KW_GEN | KW_PEER},
    {"encryption", K_ENCRYPTION, KW_GEN | KW_PEER},
    {"mailbox", K_MAILBOX, KW_PEER},
    {"callgroup", K_CALLGROUP, KW_PEER},
    {"pickupgroup", K_PICKUPGROUP, KW_PEER},
    {"namedcallgroup", K_NAMEDCALLGROUP, KW_PEER},
    {"namedpickupgroup", K_NAMEDPICKUPGROUP, KW_PEER},
    {"language", K_LANGUAGE, KW_GEN | KW_PEER},
    {"mohsuggest", K_MOHSUGGEST, KW_GEN | KW_PEER},
    {"subscribecontext", K_SUBSCRIBECONTEXT, KW_GEN | KW_PEER},
    {"allowsubscribe", K_ALLOWSUBSCRIBE, KW_GEN | KW_PEER},
    {"notifyringing", K_NOTIFYRINGING, KW_GEN},
    {"notifyhold", K_NOTIFYHOLD, KW_GEN},
    {"notifycid", K_NOTIFYCID, KW_GEN},
};

/* chan_sip keys (Asterisk 13) that mikaka knows by name but does not implement. */
static const char *const noimpl_keys[] = {
    "accept_outofcall_message",
    "accountcode",
    "acl",
    "allowexternaldomains",
    "allowtransfer",
    "amaflags",
    "auth",
    "auth_message_requests",
    "auth_options_requests",
    "authfailureevents",
    "autocreatepeer",
    "autodomain",
    "autoframing",
    "avpf",
    "bindaddr",
    "buggymwi",
    "busylevel",
    "callbackextension",
    "callcounter",
    "callingpres",
    "cid_number",
    "cid_tag",
    "compactheaders",
    "contactacl",
    "contactdeny",
    "contactpermit",
    "cos_audio",
    "cos_sip",
    "cos_text",
    "cos_video",
    "defaultip",
    "description",
    "directmediaacl",
    "directmediadeny",
    "directmediapermit",
    "directrtpsetup",
    "disallowed_methods",
    "discard_remote_hold_retrieval",
    "domain",
    "domainsasrealm",
    "dumphistory",
    "dynamic_exclude_static",
    "dynamic_excludes_static",
    "encryption_taglen",
    "externaddr",
    "externhost",
    "externip",
    "externrefresh",
    "externtcpport",
    "externtlsport",
    "faxdetect",
    "force_avp",
    "fullcontact",
    "fullname",
    "g726nonstandard",
    "hasvoicemail",
    "header",
    "icesupport",
    "ignore_hold_before_answer",
    "ignore_requested_pref",
    "ignoreregexpire",
    "ignoresdpversion",
    "ipaddr",
    "jbenable",
    "jbforce",
    "jbimpl",
    "jblog",
    "jbmaxsize",
    "jbresyncthreshold",
    "jbtargetextra",
    "keepalive",
    "lastms",
    "legacy_useroption_parsing",
    "localnet",
    "match_auth_username",
    "matchexternaddrlocally",
    "matchexterniplocally",
    "maxcallbitrate",
    "maxforwards",
    "media_address",
    "mohinterpret",
    "mwi",
    "mwi_from",
    "mwiexpirey",
    "mwiexpiry",
    "notifymimetype",
    "outofcall_message_context",
    "parkinglot",
    "pedantic",
    "prematuremedia",
    "preferred_codec_only",
    "progressinband",
    "promiscredir",
    "qualifygap",
    "qualifypeers",
    "recordhistory",
    "recordofffeature",
    "recordonfeature",
    "refer_addheaders",
    "regcontext",
    "regexten",
    "regextenonqualify",
    "register_retry_403",
    "registerattempts",
    "registertimeout",
    "regseconds",
    "relaxdtmf",
    "remotesecret",
    "rfc2833compensate",
    "rpid_immediate",
    "rpid_update",
    "rtautoclear",
    "rtcachefriends",
    "rtcp_mux",
    "rtp_engine",
    "rtpbindaddr",
    "rtpholdtimeout",
    "rtpkeepalive",
    "rtptimeout",
    "rtsavepath",
    "rtsavesysname",
    "rtupdate",
    "sdpowner",
    "sdpsession",
    "send_diversion",
    "send_oli",
    "sendrpid",
    "session-expires",
    "session-minse",
    "session-refresher",
    "session-timers",
    "setvar",
    "shrinkcallerid",
    "sipdebug",
    "snom_aoc_enabled",
    "storesipcause",
    "subminexpirey",
    "subminexpiry",
    "submaxexpirey",
    "submaxexpiry",
    "subscribe_network_change_event",
    "subscribemwi",
    "supportpath",
    "t1min",
    "t38pt_udptl",
    "t38pt_usertpsource",
    "tcpauthlimit",
    "tcpauthtimeout",
    "textsupport",
    "timerb",
    "tlscapath",
    "tlsdontverifyserver",
    "tlsverifyclient",
    "tonezone",
    "tos_text",
    "tos_video",
    "trunkname",
    "trust_id_outbound",
    "trustrpid",
    "unsolicited_mailbox",
    "uri_parameters_instead",
    "use_q850_reason",
    "useclientcode",
    "usereqphone",
    "videosupport",
    "vmexten",
    "websocket_enabled",
    "websocket_write_timeout",
};

/* Asterisk codec names mikaka does not carry. */
static const char *const codec_unsupported[] = {
    "adpcm", "amr",	"amrwb",   "codec2", "g719",	"g723",	   "g726", "g726aal2",
    "h261",  "h263",	"h263p",   "h264",   "h265",	"ilbc",	   "jpeg", "lpc10",
    "mpeg4", "png",	"red",	   "silk",   "siren14", "siren7",  "slin", "slin16",
    "speex", "speex16", "speex32", "t140",   "t140red", "testlaw", "vp8",  "vp9",
};

static const char *const codec_names[PEER_CODEC_COUNT] = {
    [PEER_CODEC_ULAW] = "ulaw", [PEER_CODEC_ALAW] = "alaw", [PEER_CODEC_G722] = "g722",
    [PEER_CODEC_OPUS] = "opus", [PEER_CODEC_GSM] = "gsm",   [PEER_CODEC_G729] = "g729",
};

const char *peer_codec_name(enum peer_codec codec)
{
	return (unsigned)codec < PEER_CODEC_COUNT ? codec_names[codec] : "?";
}

const char *peer_type_name(enum peer_type type)
{
	switch (type) {
	case PEER_TYPE_FRIEND:
		return "friend";
	case PEER_TYPE_PEER:
		return "peer";
	case PEER_TYPE_USER:
		return "user";
	}
	return "?";
}

const char *peer_dtmf_name(enum peer_dtmf mode)
{
	switch (mode) {
	case PEER_DTMF_RFC2833:
		return "rfc2833";
	case PEER_DTMF_INBAND:
		return "inband";
	case PEER_DTMF_INFO:
		return "info";
	case PEER_DTMF_AUTO:
		return "auto";
	}
	return "?";
}

/* ---------------------------------------------------------------------------------------------
 * The loader's state.
 */
struct origin_seen {
	const char *file;
	unsigned line;
};

struct noimpl_count {
	struct conf_origin first;
	size_t more;
};

struct loader {
	struct sipcfg *cfg;
	struct conf_diags *diags;
	int err; /* 0, EINVAL or ENOMEM */
	/* Origins already given a diagnostic: a template line inherited by 1,000 peers is one
	 * problem, reported once. Open addressing, power-of-two size. */
	struct origin_seen *seen;
	size_t nseen, seen_cap;
	/* File names: the conf's pointer and our copy (few: the includes). */
	struct {
		const char *from;
		const char *copy;
	} files[32];
	size_t nfiles;
	/* First place and count of each unimplemented key, reported at the end. */
	struct noimpl_count noimpl[ARRAY_SIZE(noimpl_keys)];
	uint16_t noimpl_order[ARRAY_SIZE(noimpl_keys)];
	size_t nnoimpl;
	size_t peers_cap;
};

static void *chunk_alloc(struct loader *ld, size_t n)
{
	struct sipcfg *cfg = ld->cfg;
	struct peer_chunk *c = cfg->chunks;
	void *p;

	const size_t align = sizeof(max_align_t);

	n = (n + align - 1) & ~(align - 1);
	if (c)
		c->used = MIN(c->size, (c->used + align - 1) & ~(align - 1));
	if (!c || c->size - c->used < n) {
		size_t size = n > PEER_CHUNK_SIZE ? n : PEER_CHUNK_SIZE;
		c = malloc(sizeof(*c) + size);
		if (!c) {
			ld->err = ENOMEM;
			return NULL;
		}
		c->size = size;
		c->used = 0;
		c->next = cfg->chunks;
		cfg->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

/* Strings are packed without alignment padding. */
static char *chunk_strndup(struct loader *ld, const char *s, size_t len)
{
	struct sipcfg *cfg = ld->cfg;
	struct peer_chunk *c = cfg->chunks;
	char *p;

	if (!c || c->size - c->used < len + 1) {
		p = chunk_alloc(ld, len + 1);
		if (!p)
			return NULL;
	} else {
		p = (char *)c->data + c->used;
		c->used += len + 1;
	}
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static char *chunk_strdup(struct loader *ld, const char *s)
{
	return chunk_strndup(ld, s, strlen(s));
}

/* Our copy of a conf file name, so origins outlive the struct conf. */
static const char *intern_file(struct loader *ld, const char *file)
{
	const char *copy;

	if (!file)
		return NULL;
	for (size_t i = ld->nfiles; i-- > 0;) {
		if (ld->files[i].from == file || !strcmp(ld->files[i].copy, file))
			return ld->files[i].copy;
	}
	copy = chunk_strdup(ld, file);
	if (copy && ld->nfiles < ARRAY_SIZE(ld->files)) {
		ld->files[ld->nfiles].from = file;
		ld->files[ld->nfiles].copy = copy;
		ld->nfiles++;
	}
	return copy ? copy : "?";
}

static struct conf_origin origin_copy(struct loader *ld, const struct conf_origin *o)
{
	return (struct conf_origin){intern_file(ld, o->file), o->line};
}

static size_t seen_slot(const struct origin_seen *tab, size_t cap, const char *file, unsigned line)
{
	size_t h = ((uintptr_t)file >> 4) * 31u + line * 2654435761u;

	for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
		if (!tab[i].file || (tab[i].file == file && tab[i].line == line))
			return i;
	}
}

/* True the first time an origin is seen. */
static bool origin_first(struct loader *ld, const struct conf_origin *o)
{
	size_t i;

	if (ld->nseen * 2 >= ld->seen_cap) {
		size_t cap = ld->seen_cap ? ld->seen_cap * 2 : 64;
		struct origin_seen *tab = calloc(cap, sizeof(*tab));

		if (!tab)
			return true; /* report twice rather than never */
		for (size_t j = 0; j < ld->seen_cap; j++) {
			if (ld->seen[j].file)
				tab[seen_slot(tab, cap, ld->seen[j].file, ld->seen[j].line)] =
				    ld->seen[j];
		}
		free(ld->seen);
		ld->seen = tab;
		ld->seen_cap = cap;
	}
	i = seen_slot(ld->seen, ld->seen_cap, o->file, o->line);
	if (ld->seen[i].file)
		return false;
	ld->seen[i].file = o->file;
	ld->seen[i].line = o->line;
	ld->nseen++;
	return true;
}

static void PRINTF_LIKE(4, 5) diag_var(struct loader *ld, enum conf_severity sev,
				       const struct conf_var *v, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (sev == CONF_ERROR && !ld->err)
		ld->err = EINVAL;
	if (!origin_first(ld, &v->origin))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_diag_add(ld->diags, sev, v->origin.file, v->origin.line, "%s", msg);
}

static void bad_value(struct loader *ld, const struct conf_var *v, const char *what)
{
	diag_var(ld, CONF_ERROR, v, "%s: '%s' is not %s", v->name, v->value, what);
}

/* ---------------------------------------------------------------------------------------------
 * Value syntax.
 */
int peer_parse_bool(const char *t, bool *out)
{
	static const char *const yes[] = {"yes", "true", "y", "t", "1", "on"};
	static const char *const no[] = {"no", "false", "n", "f", "0", "off"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(t, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(t, no[i])) {
			*out = false;
			return 0;
		}
	}
	return EINVAL;
}

static int parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
	struct pl pl = pl_from_str(text);
	uint32_t v;

	if (pl_u32(&pl, &v) || v < min || v > max)
		return EINVAL;
	*out = v;
	return 0;
}

/* One word of callgroup=/pickupgroup=: a group 0-63 or a range 1-3 (Asterisk's syntax). */
static int group_word(const char *word, void *arg)
{
	uint64_t *set = arg;
	const char *dash = strchr(word, '-');
	char a[16];
	uint32_t lo, hi;

	if (!*word)
		return 0; /* "1,,2" and an empty value: nothing */
	if (dash) {
		if ((size_t)(dash - word) >= sizeof(a))
			return EINVAL;
		memcpy(a, word, (size_t)(dash - word));
		a[dash - word] = '\0';
		if (parse_u32(a, 0, 63, &lo) || parse_u32(dash + 1, 0, 63, &hi) || lo > hi)
			return EINVAL;
	} else if (parse_u32(word, 0, 63, &lo)) {
		return EINVAL;
	} else {
		hi = lo;
	}
	for (uint32_t g = lo; g <= hi; g++)
		*set |= (uint64_t)1 << g;
	return 0;
}

/* A named group: letters, digits, '-', '_' and '.' (no separators inside). */
static bool group_name_ok(const char *s)
{
	for (; *s; s++) {
		if (!(((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	}
	return true;
}

/* Calls fn for each comma-separated word, trimmed; stops at the first non-zero return. */
static int each_word(const char *value, int (*fn)(const char *word, void *arg), void *arg)
{
	const char *p = value;
	char word[64];
	int err;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		struct pl pl = pl_from(p, len);

		pl_trim(&pl);
		if (pl_strcpy(&pl, word, sizeof(word)))
			return EINVAL;
		err = fn(word, arg);
		if (err)
			return err;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static bool is_hostname(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!(((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.' || *s == '_'))
			return false;
	}
	return true;
}

static bool is_hex32(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		if (!((*s >= '0' && *s <= '9') || ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')))
			return false;
	}
	return n == 32;
}

/* Copies [p, p+len) trimmed and without surrounding double quotes; NULL when empty. */
static const char *dup_field(struct loader *ld, const char *p, size_t len)
{
	struct pl pl = pl_from(p, len);

	pl_trim(&pl);
	if (pl.l >= 2 && pl.p[0] == '"' && pl.p[pl.l - 1] == '"') {
		pl.p++;
		pl.l -= 2;
	}
	if (!pl.l)
		return NULL;
	return chunk_strndup(ld, pl.p, pl.l);
}

/* ---------------------------------------------------------------------------------------------
 * Peer values.
 */
static int codec_lookup(const char *name)
{
	for (int i = 0; i < PEER_CODEC_COUNT; i++) {
		if (!strcasecmp(name, codec_names[i]))
			return i;
	}
	return -1;
}

static void codec_add(struct peer *p, int c)
{
	for (size_t i = 0; i < p->ncodecs; i++) {
		if (p->codecs[i] == c)
			return; /* already there: keeps its place, as Asterisk */
	}
	p->codecs[p->ncodecs++] = (uint8_t)c;
}

static void codec_remove(struct peer *p, int c)
{
	for (size_t i = 0; i < p->ncodecs; i++) {
		if (p->codecs[i] == c) {
			memmove(&p->codecs[i], &p->codecs[i + 1], p->ncodecs - i - 1);
			p->ncodecs--;
			return;
		}
	}
}

struct codec_ctx {
	struct loader *ld;
	struct peer *p;
	const struct conf_var *v;
	bool allow;
};

static int codec_word(const char *word, void *arg)
{
	struct codec_ctx *cc = arg;
	bool allow = cc->allow;
	char name[64];
	char *colon;
	int c;

	snprintf(name, sizeof(name), "%s", word);
	if (name[0] == '!') {
		allow = !allow;
		memmove(name, name + 1, strlen(name));
	}
	/* "ulaw:20" gives a packet time; mikaka always uses 20 ms toward the line. */
	colon = strchr(name, ':');
	if (colon)
		*colon = '\0';
	if (!name[0])
		return 0;
	if (!strcasecmp(name, "all")) {
		if (allow) {
			for (c = 0; c < PEER_CODEC_COUNT; c++)
				codec_add(cc->p, c);
		} else {
			cc->p->ncodecs = 0;
		}
		return 0;
	}
	c = codec_lookup(name);
	if (c >= 0) {
		if (allow)
			codec_add(cc->p, c);
		else
			codec_remove(cc->p, c);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(codec_unsupported); i++) {
		if (!strcasecmp(name, codec_unsupported[i])) {
			diag_var(cc->ld, CONF_WARNING, cc->v,
				 "%s: codec '%s' is not supported by mikaka; ignored", cc->v->name,
				 name);
			return 0;
		}
	}
	diag_var(cc->ld, CONF_WARNING, cc->v, "%s: unknown codec '%s' ignored", cc->v->name, name);
	return 0;
}

static int dtmf_parse(const char *t, enum peer_dtmf *out)
{
	static const struct {
		const char *name;
		enum peer_dtmf mode;
	} modes[] = {
	    {"rfc2833", PEER_DTMF_RFC2833}, {"inband", PEER_DTMF_INBAND}, {"info", PEER_DTMF_INFO},
	    {"shortinfo", PEER_DTMF_INFO},  {"auto", PEER_DTMF_AUTO},
	};

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		if (!strcasecmp(t, modes[i].name)) {
			*out = modes[i].mode;
			return 0;
		}
	}
	return EINVAL;
}

static int nat_word(const char *w, void *arg)
{
	unsigned *nat = arg;

	if (!strcasecmp(w, "no") || !strcasecmp(w, "never"))
		*nat |= 1u << 31; /* 'no' anywhere wins: Asterisk's rule */
	else if (!strcasecmp(w, "yes"))
		*nat |= PEER_NAT_FORCE_RPORT | PEER_NAT_COMEDIA;
	else if (!strcasecmp(w, "force_rport") || !strcasecmp(w, "route"))
		*nat |= PEER_NAT_FORCE_RPORT;
	else if (!strcasecmp(w, "comedia"))
		*nat |= PEER_NAT_COMEDIA;
	else if (!strcasecmp(w, "auto_force_rport"))
		*nat |= PEER_NAT_AUTO_FORCE_RPORT;
	else if (!strcasecmp(w, "auto_comedia"))
		*nat |= PEER_NAT_AUTO_COMEDIA;
	else
		return EINVAL;
	return 0;
}

static int nat_parse(const char *value, unsigned *out)
{
	unsigned nat = 0;

	if (each_word(value, nat_word, &nat))
		return EINVAL;
	if (nat & (1u << 31))
		nat = 0;
	/* An auto_ setting overrides its plain counterpart. */
	if (nat & PEER_NAT_AUTO_FORCE_RPORT)
		nat &= ~(unsigned)PEER_NAT_FORCE_RPORT;
	if (nat & PEER_NAT_AUTO_COMEDIA)
		nat &= ~(unsigned)PEER_NAT_COMEDIA;
	*out = nat;
	return 0;
}

static int insecure_word(const char *w, void *arg)
{
	unsigned *ins = arg;
	bool b;

	if (!*w)
		return 0;
	if (!strcasecmp(w, "port"))
		*ins |= PEER_INSECURE_PORT;
	else if (!strcasecmp(w, "invite"))
		*ins |= PEER_INSECURE_INVITE;
	else if (peer_parse_bool(w, &b) || b)
		return EINVAL;
	return 0;
}

static int directmedia_word(const char *w, void *arg)
{
	bool *dm = arg;
	bool b;

	if (!strcasecmp(w, "update") || !strcasecmp(w, "nonat") || !strcasecmp(w, "outgoing"))
		*dm = true;
	else if (!peer_parse_bool(w, &b))
		*dm = b;
	else
		return EINVAL;
	return 0;
}

struct tp_ctx {
	struct loader *ld;
	const struct conf_var *v;
	unsigned set;
	enum peer_transport first;
};

static int transport_word(const char *w, void *arg)
{
	struct tp_ctx *tc = arg;
	enum peer_transport tp;

	if (!strcasecmp(w, "udp")) {
		tp = PEER_TP_UDP;
	} else if (!strcasecmp(w, "tcp")) {
		tp = PEER_TP_TCP;
	} else if (!strcasecmp(w, "tls")) {
		tp = PEER_TP_TLS;
	} else if (!strcasecmp(w, "ws") || !strcasecmp(w, "wss")) {
		diag_var(tc->ld, CONF_WARNING, tc->v,
			 "transport: mikaka does not implement '%s'; ignored", w);
		return 0;
	} else {
		return EINVAL;
	}
	if (!tc->set)
		tc->first = tp;
	tc->set |= tp;
	return 0;
}

static bool is_phone_number(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '*' || s[i] == '#'))
			return false;
	}
	return true;
}

/* callerid: "Name" <number>, Name <number>, <number>, a bare number, or a bare name. */
static void callerid_parse(struct loader *ld, struct peer *p, const char *value)
{
	const char *lt = strchr(value, '<');

	p->cid_name = p->cid_num = NULL;
	if (lt) {
		const char *gt = strchr(lt, '>');
		p->cid_name = dup_field(ld, value, (size_t)(lt - value));
		p->cid_num = dup_field(ld, lt + 1, gt ? (size_t)(gt - lt - 1) : strlen(lt + 1));
		return;
	}
	struct pl pl = pl_from_str(value);
	pl_trim(&pl);
	if (is_phone_number(pl.p, pl.l))
		p->cid_num = dup_field(ld, pl.p, pl.l);
	else
		p->cid_name = dup_field(ld, pl.p, pl.l);
}

static void set_origin(struct loader *ld, struct peer *p, enum peer_key k, const struct conf_var *v)
{
	p->origins[k] = origin_copy(ld, &v->origin);
}

/* Applies one implemented peer key (also used for [general]'s peer defaults). */
static void peer_apply(struct loader *ld, struct peer *p, const struct key_def *kd,
		       const struct conf_var *v, size_t *nacl)
{
	const char *val = v->value;
	uint32_t u;
	bool b;

	switch (kd->id) {
	case K_TYPE:
		if (!strcasecmp(val, "friend"))
			p->type = PEER_TYPE_FRIEND;
		else if (!strcasecmp(val, "peer"))
			p->type = PEER_TYPE_PEER;
		else if (!strcasecmp(val, "user"))
			p->type = PEER_TYPE_USER;
		else
			return bad_value(ld, v, "friend, peer or user");
		p->type_guessed = false;
		set_origin(ld, p, PEER_KEY_TYPE, v);
		break;
	case K_HOST:
		if (!strcasecmp(val, "dynamic")) {
			p->dynamic = true;
			p->host = NULL;
			memset(&p->addr, 0, sizeof(p->addr));
		} else if (!sa_set_str(&p->addr, val, 0)) {
			p->dynamic = false;
			p->host = chunk_strdup(ld, val);
		} else if (is_hostname(val)) {
			p->dynamic = false;
			p->host = chunk_strdup(ld, val);
			memset(&p->addr, 0, sizeof(p->addr));
		} else {
			return bad_value(ld, v,
					 "dynamic, an IP address or a host name (the port goes in "
					 "port=)");
		}
		set_origin(ld, p, PEER_KEY_HOST, v);
		break;
	case K_PORT:
		if (parse_u32(val, 1, 65535, &u))
			return bad_value(ld, v, "a port number (1-65535)");
		p->port = (uint16_t)u;
		set_origin(ld, p, PEER_KEY_PORT, v);
		break;
	case K_SECRET:
		p->secret = *val ? chunk_strdup(ld, val) : NULL;
		set_origin(ld, p, PEER_KEY_SECRET, v);
		break;
	case K_MD5SECRET:
		if (*val && !is_hex32(val))
			return bad_value(ld, v, "32 hex digits (MD5 of user:realm:secret)");
		p->md5secret = *val ? chunk_strdup(ld, val) : NULL;
		set_origin(ld, p, PEER_KEY_MD5SECRET, v);
		break;
	case K_DEFAULTUSER:
		p->defaultuser = *val ? chunk_strdup(ld, val) : NULL;
		set_origin(ld, p, PEER_KEY_DEFAULTUSER, v);
		break;
	case K_FROMUSER:
		p->fromuser = *val ? chunk_strdup(ld, val) : NULL;
		set_origin(ld, p, PEER_KEY_FROMUSER, v);
		break;
	case K_MAILBOX:
		/* BOX[@CONTEXT][,BOX[@CONTEXT]...]: checked against voicemail.conf by the MWI
		 * module; here only its shape. */
		if (strspn(val, " ,") == strlen(val) && *val)
			return bad_value(ld, v, "BOX[@CONTEXT][,BOX[@CONTEXT]...]");
		p->mailbox = *val ? chunk_strdup(ld, val) : NULL;
		set_origin(ld, p, PEER_KEY_MAILBOX, v);
		break;
	case K_CALLGROUP:
	case K_PICKUPGROUP: {
		uint64_t set = 0;

		if (each_word(val, group_word, &set))
			return bad_value(ld, v, "a list of groups 0-63 or ranges (1,3-5)");
		if (kd->id == K_CALLGROUP)
			p->callgroup = set;
		else
			p->pickupgroup = set;
		set_origin(ld, p, kd->id == K_CALLGROUP ? PEER_KEY_CALLGROUP : PEER_KEY_PICKUPGROUP,
			   v);
		break;
	}
	case K_NAMEDCALLGROUP:
	case K_NAMEDPICKUPGROUP: {
		/* Kept as ",a,b," so a name is found with one strstr of ",name,". */
		char buf[512];
		size_t n = 1;
		const char *q = val;

		buf[0] = ',';
		while (*q) {
			const char *comma = strchr(q, ',');
			size_t len = comma ? (size_t)(comma - q) : strlen(q);
			struct pl w = pl_from(q, len);
			char word[64];

			pl_trim(&w);
			if (pl_strcpy(&w, word, sizeof(word)) || !group_name_ok(word) ||
			    n + w.l + 2 > sizeof(buf))
				return bad_value(ld, v, "a comma-separated list of group names");
			if (w.l) {
				memcpy(buf + n, word, w.l);
				n += w.l;
				buf[n++] = ',';
			}
			if (!comma)
				break;
			q = comma + 1;
		}
		buf[n] = '\0';
		if (kd->id == K_NAMEDCALLGROUP)
			p->namedcallgroup = n > 1 ? chunk_strdup(ld, buf) : NULL;
		else
			p->namedpickupgroup = n > 1 ? chunk_strdup(ld, buf) : NULL;
		set_origin(ld, p,
			   kd->id == K_NAMEDCALLGROUP ? PEER_KEY_NAMEDCALLGROUP
						      : PEER_KEY_NAMEDPICKUPGROUP,
			   v);
		break;
	}
	case K_LANGUAGE:
		/* sounds/LANG/ of this phone's calls: a directory name. */
		if (strchr(val, '/') || strstr(val, "..") || strlen(val) > 31)
			return bad_value(ld, v, "a language code such as en or ja");
		p->language = *val ? chunk_strdup(ld, val) : NULL;
		break;
	case K_MOHSUGGEST:
		/* The musiconhold.conf class the other party hears when this phone holds. */
		if (strlen(val) > 63)
			return bad_value(ld, v, "a musiconhold.conf class");
		p->mohsuggest = *val ? chunk_strdup(ld, val) : NULL;
		set_origin(ld, p, PEER_KEY_MOHSUGGEST, v);
		break;
	case K_SUBSCRIBECONTEXT:
		/* Where the hints of its SUBSCRIBEs (busy lamps) are looked up; else context=. */
		if (strlen(val) > 79)
			return bad_value(ld, v, "a context of extensions.conf");
		p->subscribecontext = *val ? chunk_strdup(ld, val) : NULL;
		break;
	case K_ALLOWSUBSCRIBE:
		if (peer_parse_bool(val, &b))
			return bad_value(ld, v, "yes or no");
		p->allowsubscribe = b;
		break;
	case K_FROMDOMAIN:
		p->fromdomain = *val ? chunk_strdup(ld, val) : NULL;
		set_origin(ld, p, PEER_KEY_FROMDOMAIN, v);
		break;
	case K_OUTBOUNDPROXY: {
		/* Asterisk: [sip:]host[:port][,force]; an IPv6 literal in brackets. */
		char buf[300], *h = buf, *c;
		uint16_t port = 0;
		struct sa tmp;

		if (!*val) {
			p->outboundproxy = NULL;
			p->outboundproxy_port = 0;
			set_origin(ld, p, PEER_KEY_OUTBOUNDPROXY, v);
			break;
		}
		if (strlen(val) >= sizeof(buf))
			return bad_value(ld, v, "[sip:]host[:port][,force]");
		snprintf(buf, sizeof(buf), "%s", val);
		if ((c = strchr(buf, ',')))
			*c = '\0';
		if (!strncasecmp(h, "sip:", 4))
			h += 4;
		if (*h == '[') {
			char *rb = strchr(h, ']');

			if (!rb)
				return bad_value(ld, v, "[sip:]host[:port][,force]");
			c = rb[1] == ':' ? rb + 1 : NULL;
			h++;
			*rb = '\0';
		} else {
			c = strchr(h, ':');
		}
		if (c) {
			*c = '\0';
			if (parse_u32(c + 1, 1, 65535, &u))
				return bad_value(ld, v, "[sip:]host[:port][,force]");
			port = (uint16_t)u;
		}
		if (sa_set_str(&tmp, h, 0) && !is_hostname(h))
			return bad_value(ld, v, "[sip:]host[:port][,force]");
		p->outboundproxy = chunk_strdup(ld, h);
		p->outboundproxy_port = port;
		set_origin(ld, p, PEER_KEY_OUTBOUNDPROXY, v);
		break;
	}
	case K_CONTEXT:
		if (!*val)
			return bad_value(ld, v, "a context name");
		p->context = chunk_strdup(ld, val);
		set_origin(ld, p, PEER_KEY_CONTEXT, v);
		break;
	case K_ALLOW:
	case K_DISALLOW: {
		struct codec_ctx cc = {ld, p, v, kd->id == K_ALLOW};
		each_word(val, codec_word, &cc);
		set_origin(ld, p, PEER_KEY_CODECS, v);
		break;
	}
	case K_DIRECTMEDIA:
		b = false;
		if (each_word(val, directmedia_word, &b))
			return bad_value(ld, v, "yes, no, nonat, update or outgoing");
		p->directmedia = b;
		set_origin(ld, p, PEER_KEY_DIRECTMEDIA, v);
		break;
	case K_ENCRYPTION:
		if (peer_parse_bool(val, &b))
			return bad_value(ld, v, "yes or no");
		p->encryption = b;
		set_origin(ld, p, PEER_KEY_ENCRYPTION, v);
		break;
	case K_DTMFMODE:
		if (dtmf_parse(val, &p->dtmfmode))
			return bad_value(ld, v, "rfc2833, inband, info or auto");
		set_origin(ld, p, PEER_KEY_DTMFMODE, v);
		break;
	case K_QUALIFY:
		if (!peer_parse_bool(val, &b))
			p->qualify_ms = b ? QUALIFY_DEFAULT_MS : 0;
		else if (!parse_u32(val, 0, 600000, &u))
			p->qualify_ms = u;
		else
			return bad_value(ld, v, "yes, no or a time in milliseconds");
		set_origin(ld, p, PEER_KEY_QUALIFY, v);
		break;
	case K_QUALIFYFREQ:
		if (parse_u32(val, 1, 86400, &u))
			return bad_value(ld, v, "a time in seconds (1-86400)");
		p->qualifyfreq = u;
		set_origin(ld, p, PEER_KEY_QUALIFYFREQ, v);
		break;
	case K_INSECURE: {
		unsigned ins = 0;
		if (each_word(val, insecure_word, &ins))
			return bad_value(ld, v, "port, invite, port,invite or no");
		p->insecure = ins;
		set_origin(ld, p, PEER_KEY_INSECURE, v);
		break;
	}
	case K_NAT:
		if (nat_parse(val, &p->nat))
			return bad_value(ld, v,
					 "no, yes, force_rport, comedia, auto_force_rport or "
					 "auto_comedia");
		set_origin(ld, p, PEER_KEY_NAT, v);
		break;
	case K_CALLERID:
		callerid_parse(ld, p, val);
		set_origin(ld, p, PEER_KEY_CALLERID, v);
		break;
	case K_CALL_LIMIT:
		if (parse_u32(val, 0, 1000000, &u))
			return bad_value(ld, v, "a number of calls (0: no limit)");
		p->call_limit = u;
		set_origin(ld, p, PEER_KEY_CALL_LIMIT, v);
		break;
	case K_PERMIT:
	case K_DENY: {
		struct peer_acl_rule *r = (struct peer_acl_rule *)&p->acl[*nacl];
		bool hostbits;

		if (sa_net_parse(&r->net, val, &hostbits))
			return bad_value(ld, v,
					 "an address with an optional /prefix or /mask (IPv4 or "
					 "IPv6)");
		r->permit = kd->id == K_PERMIT;
		r->origin = origin_copy(ld, &v->origin);
		(*nacl)++;
		if (hostbits)
			diag_var(ld, CONF_WARNING, v,
				 "%s: '%s' has bits set outside its mask; they are ignored",
				 v->name, val);
		set_origin(ld, p, PEER_KEY_ACL, v);
		break;
	}
	case K_TRANSPORT: {
		struct tp_ctx tc = {ld, v, 0, PEER_TP_UDP};
		if (each_word(val, transport_word, &tc))
			return bad_value(ld, v, "udp, tcp, tls or a comma-separated list of them");
		if (!tc.set) {
			diag_var(ld, CONF_WARNING, v,
				 "transport: no transport mikaka implements; using udp");
			tc.set = PEER_TP_UDP;
			tc.first = PEER_TP_UDP;
		}
		p->transports = tc.set;
		p->transport = tc.first;
		set_origin(ld, p, PEER_KEY_TRANSPORT, v);
		break;
	}
	default:
		break;
	}
}

/* ---------------------------------------------------------------------------------------------
 * Key names.
 */
static int keydef_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct key_def *)a)->name, ((const struct key_def *)b)->name);
}

static int str_casecmp_p(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* The implemented keys, sorted once per load for bsearch (the tables stay readable). */
struct key_index {
	struct key_def keys[ARRAY_SIZE(key_table)];
	const char *noimpl[ARRAY_SIZE(noimpl_keys)];
};

static void key_index_init(struct key_index *ki)
{
	memcpy(ki->keys, key_table, sizeof(key_table));
	qsort(ki->keys, ARRAY_SIZE(ki->keys), sizeof(ki->keys[0]), keydef_cmp);
	memcpy(ki->noimpl, noimpl_keys, sizeof(noimpl_keys));
	qsort(ki->noimpl, ARRAY_SIZE(ki->noimpl), sizeof(ki->noimpl[0]), str_casecmp_p);
}

static const struct key_def *key_find(const struct key_index *ki, const char *name)
{
	struct key_def k = {name, 0, 0};

	return bsearch(&k, ki->keys, ARRAY_SIZE(ki->keys), sizeof(k), keydef_cmp);
}

static int noimpl_find(const struct key_index *ki, const char *name)
{
	const char *const *p =
	    bsearch(&name, ki->noimpl, ARRAY_SIZE(ki->noimpl), sizeof(name), str_casecmp_p);

	return p ? (int)(p - ki->noimpl) : -1;
}

static void noimpl_note(struct loader *ld, int idx, const struct conf_var *v)
{
	struct noimpl_count *nc = &ld->noimpl[idx];

	if (!nc->first.file) {
		nc->first = v->origin;
		ld->noimpl_order[ld->nnoimpl++] = (uint16_t)idx;
	} else {
		nc->more++;
	}
}

/* Reports a section's own lines whose key this module does not apply: unknown keys (each
 * line), Asterisk keys mikaka lacks (summed up at the end) and keys in the wrong section.
 * Inherited lines are skipped: they were reported with the template they were written in. */
static void check_names(struct loader *ld, const struct key_index *ki,
			const struct conf_section *sec, unsigned scope, bool auth)
{
	unsigned ast_here = scope == KW_GEN ? KW_AST_GEN : KW_AST_PEER;

	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		const struct key_def *kd = auth ? NULL : key_find(ki, v->name);
		int ni;

		if (v->inherited || (kd && (kd->where & scope)))
			continue;
		if (kd && (kd->where & ast_here)) {
			diag_var(ld, CONF_WARNING, v,
				 "'%s' is an Asterisk key mikaka does not implement %s; ignored",
				 v->name, scope == KW_GEN ? "in [general]" : "per peer");
			continue;
		}
		if (kd) {
			diag_var(ld, CONF_WARNING, v, "'%s' %s; ignored here", v->name,
				 scope == KW_GEN ? "is a peer key, not a [general] one"
						 : "belongs in [general]");
			continue;
		}
		ni = noimpl_find(ki, v->name);
		if (ni >= 0)
			noimpl_note(ld, ni, v);
		else
			diag_var(ld, CONF_WARNING, v, "unknown key '%s' ignored", v->name);
	}
}

static void noimpl_report(struct loader *ld, const struct key_index *ki)
{
	for (size_t i = 0; i < ld->nnoimpl; i++) {
		const struct noimpl_count *nc = &ld->noimpl[ld->noimpl_order[i]];
		const char *name = ki->noimpl[ld->noimpl_order[i]];

		if (nc->more)
			conf_diag_add(ld->diags, CONF_WARNING, nc->first.file, nc->first.line,
				      "'%s' is an Asterisk key mikaka does not implement; ignored "
				      "(here and on %zu other line%s)",
				      name, nc->more, nc->more == 1 ? "" : "s");
		else
			conf_diag_add(ld->diags, CONF_WARNING, nc->first.file, nc->first.line,
				      "'%s' is an Asterisk key mikaka does not implement; ignored",
				      name);
	}
}

/* ---------------------------------------------------------------------------------------------
 * [general] and register =>.
 */
static int port_of(const char *s, size_t len, uint16_t *out)
{
	char buf[8];
	uint32_t u;

	if (len == 0 || len >= sizeof(buf))
		return EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_u32(buf, 1, 65535, &u))
		return EINVAL;
	*out = (uint16_t)u;
	return 0;
}

static const char *memrchr_c(const char *s, size_t n, char c)
{
	while (n-- > 0) {
		if (s[n] == c)
			return s + n;
	}
	return NULL;
}

static const char *memchr_c(const char *s, size_t n, char c)
{
	return memchr(s, c, n);
}

/* [peer?][transport://]user[@domain][:secret[:authuser]]@host[:port][/contact][~expiry] */
static int register_parse(struct loader *ld, struct sipcfg_register *r, const struct conf_var *v)
{
	const char *s = v->value, *end = s + strlen(s);
	const char *at = memrchr_c(s, (size_t)(end - s), '@');
	const char *u, *uend, *h, *hend, *p, *colon1, *colon2, *colon3;

	memset(r, 0, sizeof(*r));
	r->transport = PEER_TP_UDP;
	r->port = PEER_PORT_DEFAULT;
	r->expiry = ld->cfg->general.defaultexpiry;
	r->origin = origin_copy(ld, &v->origin);
	if (!at || at == s || at + 1 == end)
		goto bad;
	u = s;
	uend = at;
	h = at + 1;
	hend = end;

	if ((p = memchr_c(u, (size_t)(uend - u), '?'))) {
		r->peer = dup_field(ld, u, (size_t)(p - u));
		u = p + 1;
	}
	if ((p = memchr_c(u, (size_t)(uend - u), '/'))) {
		/* transport:// */
		if (p < u + 1 || p[-1] != ':' || p + 1 >= uend || p[1] != '/')
			goto bad;
		size_t tl = (size_t)(p - 1 - u);
		if (tl == 3 && !strncasecmp(u, "udp", 3)) {
			r->transport = PEER_TP_UDP;
		} else if (tl == 3 && !strncasecmp(u, "tcp", 3)) {
			r->transport = PEER_TP_TCP;
		} else {
			diag_var(ld, CONF_ERROR, v, "register: transport '%.*s' is not udp or tcp",
				 (int)tl, u);
			return EINVAL;
		}
		u = p + 2;
	}

	/* user[@domain][:secret[:authuser]] or user@domain:domainport:secret:authuser */
	colon1 = memchr_c(u, (size_t)(uend - u), ':');
	const char *ufield_end = colon1 ? colon1 : uend;
	if ((p = memchr_c(u, (size_t)(ufield_end - u), '@'))) {
		r->user = dup_field(ld, u, (size_t)(p - u));
		r->domain = dup_field(ld, p + 1, (size_t)(ufield_end - p - 1));
	} else {
		r->user = dup_field(ld, u, (size_t)(ufield_end - u));
	}
	if (!r->user)
		goto bad;
	if (colon1) {
		colon2 = memchr_c(colon1 + 1, (size_t)(uend - colon1 - 1), ':');
		colon3 = colon2 ? memchr_c(colon2 + 1, (size_t)(uend - colon2 - 1), ':') : NULL;
		if (colon3) {
			if (port_of(colon1 + 1, (size_t)(colon2 - colon1 - 1), &r->domainport)) {
				diag_var(ld, CONF_ERROR, v, "register: '%.*s' is not a port number",
					 (int)(colon2 - colon1 - 1), colon1 + 1);
				return EINVAL;
			}
			r->secret = dup_field(ld, colon2 + 1, (size_t)(colon3 - colon2 - 1));
			r->authuser = dup_field(ld, colon3 + 1, (size_t)(uend - colon3 - 1));
		} else if (colon2) {
			r->secret = dup_field(ld, colon1 + 1, (size_t)(colon2 - colon1 - 1));
			r->authuser = dup_field(ld, colon2 + 1, (size_t)(uend - colon2 - 1));
		} else {
			r->secret = dup_field(ld, colon1 + 1, (size_t)(uend - colon1 - 1));
		}
	}

	/* host[:port][/contact][~expiry] */
	if ((p = memchr_c(h, (size_t)(hend - h), '~'))) {
		uint32_t e;
		char buf[16];
		size_t n = (size_t)(hend - p - 1);

		if (n == 0 || n >= sizeof(buf))
			goto bad_expiry;
		memcpy(buf, p + 1, n);
		buf[n] = '\0';
		if (parse_u32(buf, 1, 86400 * 7, &e))
			goto bad_expiry;
		r->expiry = e;
		r->expiry_given = true;
		hend = p;
	}
	if ((p = memchr_c(h, (size_t)(hend - h), '/'))) {
		r->contact = dup_field(ld, p + 1, (size_t)(hend - p - 1));
		hend = p;
	}
	if (!r->contact)
		r->contact = "s";
	if (h < hend && *h == '[') {
		const char *rb = memchr_c(h, (size_t)(hend - h), ']');
		if (!rb)
			goto bad;
		p = rb + 1 < hend && rb[1] == ':' ? rb + 1 : NULL;
		r->host = dup_field(ld, h, (size_t)(rb + 1 - h));
	} else {
		p = memchr_c(h, (size_t)(hend - h), ':');
		r->host = dup_field(ld, h, (size_t)((p ? p : hend) - h));
	}
	if (!r->host)
		goto bad;
	if (p && port_of(p + 1, (size_t)(hend - p - 1), &r->port)) {
		diag_var(ld, CONF_ERROR, v, "register: '%.*s' is not a port number",
			 (int)(hend - p - 1), p + 1);
		return EINVAL;
	}
	return ld->err == ENOMEM ? ENOMEM : 0;

bad_expiry:
	diag_var(ld, CONF_ERROR, v, "register: the ~expiry is not a number of seconds");
	return EINVAL;
bad:
	diag_var(ld, CONF_ERROR, v,
		 "register: '%s' is not [transport://]user[@domain][:secret[:authuser]]@host"
		 "[:port][/contact][~expiry]",
		 v->value);
	return EINVAL;
}

static void general_apply(struct loader *ld, const struct key_def *kd, const struct conf_var *v)
{
	struct sipcfg_general *g = &ld->cfg->general;
	const char *val = v->value;
	bool b;
	int tos;

	switch (kd->id) {
	case K_ALLOWGUEST:
		if (peer_parse_bool(val, &b))
			return bad_value(ld, v, "yes or no");
		g->allowguest = b;
		break;
	case K_ALWAYSAUTHREJECT:
		if (peer_parse_bool(val, &b))
			return bad_value(ld, v, "yes or no");
		g->alwaysauthreject = b;
		break;
	case K_SRVLOOKUP:
		if (peer_parse_bool(val, &b))
			return bad_value(ld, v, "yes or no");
		g->srvlookup = b;
		break;
	case K_NOTIFYRINGING:
		if (!strcasecmp(val, "notinuse"))
			g->notifyringing = PEER_NOTIFYRINGING_NOTINUSE;
		else if (peer_parse_bool(val, &b))
			return bad_value(ld, v, "yes, no or notinuse");
		else
			g->notifyringing = b ? PEER_NOTIFYRINGING_YES : PEER_NOTIFYRINGING_NO;
		break;
	case K_NOTIFYHOLD:
		if (peer_parse_bool(val, &b))
			return bad_value(ld, v, "yes or no");
		g->notifyhold = b;
		break;
	case K_NOTIFYCID:
		/* ignore-context: chan_sip's way of allowing pickup from any context; here a picker
		 * is checked by its pickup groups anyway. */
		if (!strcasecmp(val, "ignore-context"))
			g->notifycid = true;
		else if (peer_parse_bool(val, &b))
			return bad_value(ld, v, "yes, no or ignore-context");
		else
			g->notifycid = b;
		break;
	case K_REALM:
		if (!*val)
			return bad_value(ld, v, "a realm");
		g->realm = chunk_strdup(ld, val);
		break;
	case K_USERAGENT:
		g->useragent = chunk_strdup(ld, val);
		break;
	case K_ALLOWOVERLAP:
		if (!strcasecmp(val, "dtmf"))
			g->allowoverlap = PEER_OVERLAP_DTMF;
		else if (!peer_parse_bool(val, &b))
			g->allowoverlap = b ? PEER_OVERLAP_YES : PEER_OVERLAP_NO;
		else
			return bad_value(ld, v, "yes, no or dtmf");
		break;
	case K_TOS_SIP:
	case K_TOS_AUDIO:
		if (server_tos_parse(val, &tos))
			return bad_value(ld, v, "a TOS value (cs0-cs7, af11-af43, ef or 0-255)");
		if (kd->id == K_TOS_SIP)
			g->tos_sip = tos;
		else
			g->tos_audio = tos;
		break;
	case K_MINEXPIRY:
		if (parse_u32(val, 1, 86400 * 7, &g->minexpiry))
			return bad_value(ld, v, "a time in seconds");
		break;
	case K_MAXEXPIRY:
		if (parse_u32(val, 1, 86400 * 7, &g->maxexpiry))
			return bad_value(ld, v, "a time in seconds");
		break;
	case K_DEFAULTEXPIRY:
		if (parse_u32(val, 1, 86400 * 7, &g->defaultexpiry))
			return bad_value(ld, v, "a time in seconds");
		break;
	default:
		break;
	}
}

static void general_load(struct loader *ld, const struct key_index *ki,
			 const struct conf_section *gen)
{
	struct sipcfg *cfg = ld->cfg;
	struct sipcfg_general *g = &cfg->general;
	size_t nreg = 0, i = 0;

	for (const struct conf_var *v = gen->vars; v; v = v->next) {
		const struct key_def *kd = key_find(ki, v->name);

		if (!kd || !(kd->where & KW_GEN) || kd->id == K_SERVER)
			continue;
		if (kd->id == K_REGISTER)
			nreg++;
		else if (kd->where & KW_PEER)
			peer_apply(ld, &cfg->defaults, kd, v, NULL);
		else
			general_apply(ld, kd, v);
	}
	if (g->minexpiry > g->maxexpiry) {
		conf_diag_add(ld->diags, CONF_ERROR, gen->origin.file, gen->origin.line,
			      "[general]: minexpiry (%u) is above maxexpiry (%u)", g->minexpiry,
			      g->maxexpiry);
		ld->err = ld->err ? ld->err : EINVAL;
	} else if (g->defaultexpiry < g->minexpiry || g->defaultexpiry > g->maxexpiry) {
		conf_diag_add(ld->diags, CONF_WARNING, gen->origin.file, gen->origin.line,
			      "[general]: defaultexpiry (%u) is outside minexpiry-maxexpiry "
			      "(%u-%u)",
			      g->defaultexpiry, g->minexpiry, g->maxexpiry);
	}
	if (!nreg)
		return;
	/* Parsed last: defaultexpiry may come after the register lines. */
	cfg->regs = chunk_alloc(ld, nreg * sizeof(*cfg->regs));
	if (!cfg->regs)
		return;
	for (const struct conf_var *v = gen->vars; v; v = v->next) {
		const struct key_def *kd = key_find(ki, v->name);

		if (kd && kd->id == K_REGISTER && !register_parse(ld, &cfg->regs[i], v))
			i++;
	}
	cfg->nregs = i;
}

/* ---------------------------------------------------------------------------------------------
 * Peers.
 */
static void peer_defaults_init(struct peer *p)
{
	memset(p, 0, sizeof(*p));
	p->type = PEER_TYPE_FRIEND;
	p->port = PEER_PORT_DEFAULT;
	p->context = "default";
	p->allowsubscribe = true;
	p->codecs[0] = PEER_CODEC_ULAW;
	p->codecs[1] = PEER_CODEC_ALAW;
	p->ncodecs = 2;
	p->dtmfmode = PEER_DTMF_RFC2833;
	p->qualifyfreq = 60;
	p->nat = PEER_NAT_AUTO_FORCE_RPORT;
	p->transports = PEER_TP_UDP;
	p->transport = PEER_TP_UDP;
}

static bool is_peer_section(const struct conf_section *sec)
{
	return strcasecmp(sec->name, "general") && strcasecmp(sec->name, "authentication");
}

/* Builds one peer (or checks one template: then `tmpl` is set and the section-level checks are
 * skipped). Returns NULL when the section has an error or on ENOMEM. */
static struct peer *peer_build(struct loader *ld, const struct key_index *ki,
			       const struct conf_section *sec, bool tmpl)
{
	struct peer *p;
	size_t nrules = 0, nacl = 0;
	int err_before = ld->err;
	bool has_deny = false;

	p = chunk_alloc(ld, sizeof(*p));
	if (!p)
		return NULL;
	*p = ld->cfg->defaults;
	p->name = chunk_strdup(ld, sec->name);
	if (!p->name)
		return NULL;
	p->origin = origin_copy(ld, &sec->origin);
	p->type_guessed = true;
	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		if (!strcasecmp(v->name, "permit") || !strcasecmp(v->name, "deny"))
			nrules++;
	}
	if (nrules) {
		p->acl = chunk_alloc(ld, nrules * sizeof(*p->acl));
		if (!p->acl)
			return NULL;
	}
	ld->err = 0;
	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		const struct key_def *kd = key_find(ki, v->name);

		if (kd && (kd->where & KW_PEER))
			peer_apply(ld, p, kd, v, &nacl);
	}
	p->nacl = nacl;
	if (ld->err) {
		if (ld->err != ENOMEM && err_before)
			ld->err = err_before;
		return NULL;
	}
	ld->err = err_before;
	if (p->addr.len)
		sa_set_port(&p->addr, p->port);
	if (tmpl)
		return p;

	if (p->type_guessed) {
		conf_diag_add(ld->diags, CONF_WARNING, sec->origin.file, sec->origin.line,
			      "[%s] has no type=; taken as type=friend (Asterisk would skip "
			      "this section)",
			      sec->name);
		p->type = PEER_TYPE_FRIEND;
	}
	for (size_t i = 0; i < p->nacl; i++)
		has_deny |= !p->acl[i].permit;
	if (p->type != PEER_TYPE_USER && !p->dynamic && !p->host) {
		conf_diag_add(ld->diags, CONF_ERROR, sec->origin.file, sec->origin.line,
			      "[%s] has no host=: give its address, or host=dynamic for a phone "
			      "that registers",
			      sec->name);
		ld->err = ld->err ? ld->err : EINVAL;
		return NULL;
	}
	if ((p->dynamic || p->type == PEER_TYPE_USER) && !p->secret && !p->md5secret && !has_deny) {
		conf_diag_add(ld->diags, CONF_ERROR, sec->origin.file, sec->origin.line,
			      "[%s] has no secret=: anyone could %s as it (set secret=, or limit "
			      "it with deny=/permit=)",
			      sec->name, p->dynamic ? "register" : "call");
		ld->err = ld->err ? ld->err : EINVAL;
		return NULL;
	}
	if (p->encryption && p->origins[PEER_KEY_TRANSPORT].file && !(p->transports & PEER_TP_TLS)) {
		struct conf_origin o = p->origins[PEER_KEY_ENCRYPTION];

		conf_diag_add(ld->diags, CONF_WARNING, o.file ? o.file : sec->origin.file,
			      o.file ? o.line : sec->origin.line,
			      "[%s] has encryption=yes but its transport= has no tls: SRTP keys are "
			      "sent over TLS only, so its calls will be refused (488)",
			      sec->name);
	}
	return p;
}

struct peer_sort {
	struct peer *p;
	size_t index;
};

static int peer_sort_cmp(const void *a, const void *b)
{
	const struct peer_sort *x = a, *y = b;
	int c = strcasecmp(x->p->name, y->p->name);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int peers_load(struct loader *ld, const struct key_index *ki, const struct conf *conf)
{
	struct sipcfg *cfg = ld->cfg;
	struct peer_sort *list = NULL;
	size_t n = 0, cap = 0, out = 0;

	for (const struct conf_section *sec = conf_sections(conf); sec; sec = sec->next) {
		struct peer *p;

		if (!is_peer_section(sec) && !sec->is_template)
			continue;
		p = peer_build(ld, ki, sec, sec->is_template);
		if (ld->err == ENOMEM)
			break;
		if (!p || sec->is_template)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct peer_sort *nl = realloc(list, ncap * sizeof(*nl));
			if (!nl) {
				ld->err = ENOMEM;
				break;
			}
			list = nl;
			cap = ncap;
		}
		list[n].p = p;
		list[n].index = n;
		n++;
	}
	if (ld->err == ENOMEM) {
		free(list);
		return ENOMEM;
	}
	if (n)
		qsort(list, n, sizeof(*list), peer_sort_cmp);
	cfg->peers = malloc((n ? n : 1) * sizeof(*cfg->peers));
	if (!cfg->peers) {
		free(list);
		return ENOMEM;
	}
	/* The same name twice: the later section replaces the earlier, as a reload would. */
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && !strcasecmp(list[i].p->name, list[i + 1].p->name)) {
			const struct peer *later = list[i + 1].p;
			conf_diag_add(ld->diags, CONF_WARNING, list[i].p->origin.file,
				      list[i].p->origin.line,
				      "[%s] is defined again at %s:%u; that one replaces this one",
				      list[i].p->name, later->origin.file, later->origin.line);
			continue;
		}
		cfg->peers[out++] = list[i].p;
	}
	cfg->npeers = out;
	free(list);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The snapshot.
 */
static void sipcfg_destroy(void *data)
{
	struct sipcfg *cfg = data;

	while (cfg->chunks) {
		struct peer_chunk *next = cfg->chunks->next;
		free(cfg->chunks);
		cfg->chunks = next;
	}
	free(cfg->peers);
}

int sipcfg_load(struct sipcfg **cfgp, const struct conf *sipconf, struct conf_diags *diags)
{
	struct loader ld = {0};
	struct key_index ki;
	struct sipcfg *cfg;
	const struct conf_section *gen = NULL;
	int err;

	cfg = mem_zalloc(sizeof(*cfg), sipcfg_destroy);
	if (!cfg)
		return ENOMEM;
	ld.cfg = cfg;
	ld.diags = diags;
	key_index_init(&ki);

	cfg->general.context = "default";
	cfg->general.allowguest = false;
	cfg->general.alwaysauthreject = true;
	cfg->general.realm = "mikaka";
	cfg->general.allowoverlap = PEER_OVERLAP_YES;
	cfg->general.useragent = "mikaka/" MIKAKA_VERSION;
	cfg->general.tos_sip = 32 << 2; /* CS4: what the NGN expects on signalling and media */
	cfg->general.tos_audio = 32 << 2;
	cfg->general.minexpiry = 60;
	cfg->general.maxexpiry = 3600;
	cfg->general.defaultexpiry = 120;
	cfg->general.srvlookup = true;
	cfg->general.defaults = &cfg->defaults;
	peer_defaults_init(&cfg->defaults);

	for (const struct conf_section *sec = sipconf ? conf_sections(sipconf) : NULL; sec;
	     sec = sec->next) {
		bool is_gen = !sec->is_template && !strcasecmp(sec->name, "general");

		if (is_gen && gen) {
			conf_diag_add(diags, CONF_WARNING, sec->origin.file, sec->origin.line,
				      "a second [general] section is ignored (the first is at "
				      "%s:%u)",
				      gen->origin.file, gen->origin.line);
			continue;
		}
		if (is_gen)
			gen = sec;
		check_names(&ld, &ki, sec, is_gen ? KW_GEN : KW_PEER,
			    !sec->is_template && !strcasecmp(sec->name, "authentication"));
	}
	if (gen)
		general_load(&ld, &ki, gen);
	cfg->general.context = cfg->defaults.context;
	if (ld.err != ENOMEM && sipconf) {
		err = peers_load(&ld, &ki, sipconf);
		if (err)
			ld.err = err;
	}
	noimpl_report(&ld, &ki);

	err = ld.err;
	free(ld.seen);
	if (err) {
		mem_deref(cfg);
		return err;
	}
	*cfgp = cfg;
	return 0;
}

const struct sipcfg_general *sipcfg_general(const struct sipcfg *cfg)
{
	return &cfg->general;
}

const struct sipcfg_register *sipcfg_registers(const struct sipcfg *cfg, size_t *np)
{
	*np = cfg->nregs;
	return cfg->regs;
}

const struct peer *peer_find(const struct sipcfg *cfg, const char *name)
{
	size_t lo = 0, hi = cfg->npeers;

	if (!name)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcasecmp(name, cfg->peers[mid]->name);

		if (!c)
			return cfg->peers[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t sipcfg_peer_count(const struct sipcfg *cfg)
{
	return cfg->npeers;
}

const struct peer *sipcfg_peer_at(const struct sipcfg *cfg, size_t i)
{
	return i < cfg->npeers ? cfg->peers[i] : NULL;
}

struct conf_origin peer_origin(const struct peer *peer, enum peer_key key)
{
	if ((unsigned)key >= PEER_KEY_COUNT)
		return (struct conf_origin){NULL, 0};
	return peer->origins[key];
}

bool peer_transport_allows(const struct peer *peer, const char *tp_name)
{
	unsigned bit = !strcasecmp(tp_name, "UDP")   ? PEER_TP_UDP
		       : !strcasecmp(tp_name, "TCP") ? PEER_TP_TCP
		       : !strcasecmp(tp_name, "TLS") ? PEER_TP_TLS
						     : 0;

	/* Without transport= every transport mikaka listens on is taken: a phone that
	 * registers over TCP or TLS at the defaults is not locked out (the brief's rule: a
	 * stricter option is an opt-in). Writing transport= restricts, as in Asterisk. */
	if (!peer->origins[PEER_KEY_TRANSPORT].file)
		return bit != 0;
	return bit && (peer->transports & bit);
}

bool peer_acl_allows(const struct peer *peer, const struct sa *addr)
{
	bool allow = true;
	int af = sa_af(addr);

	if (af != AF_INET && af != AF_INET6)
		return peer->nacl == 0;
	/* Every rule that matches decides in turn: the last one wins. */
	for (size_t i = 0; i < peer->nacl; i++) {
		if (sa_net_match(&peer->acl[i].net, addr))
			allow = peer->acl[i].permit;
	}
	return allow;
}

bool peer_groups_match(const struct peer *picker, const struct peer *ringing)
{
	if (!picker || !ringing)
		return false;
	if (picker->pickupgroup & ringing->callgroup)
		return true;
	if (!picker->namedpickupgroup || !ringing->namedcallgroup)
		return false;
	/* Both are ",a,b,": each of the picker's names is looked for with its commas. */
	for (const char *q = picker->namedpickupgroup; q[0] && q[1];) {
		const char *e = strchr(q + 1, ',');
		char name[66];
		size_t n;

		if (!e)
			break;
		n = (size_t)(e - q) + 1;
		if (n < sizeof(name)) {
			memcpy(name, q, n);
			name[n] = '\0';
			if (strstr(ringing->namedcallgroup, name))
				return true;
		}
		q = e;
	}
	return false;
}
