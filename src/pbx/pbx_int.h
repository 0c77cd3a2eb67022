/* pbx_int.h: the pbx module's private structures and the functions its files share. */
#ifndef MIKAKA_PBX_INT_H
#define MIKAKA_PBX_INT_H

#include <stdint.h>
#include <time.h>

#include "base.h"
#include "conf.h"
#include "pbx.h"

/* Applications; the table in dialplan.c gives their names. */
enum pbx_app {
	PBX_APP_NOOP,
	PBX_APP_SET,
	PBX_APP_GOTO,
	PBX_APP_GOTOIF,
	PBX_APP_GOSUB,
	PBX_APP_RETURN,
	PBX_APP_ANSWER,
	PBX_APP_HANGUP,
	PBX_APP_WAIT,
	PBX_APP_BUSY,
	PBX_APP_CONGESTION,
	PBX_APP_PROGRESS,
	PBX_APP_RINGING,
	PBX_APP_VERBOSE,
	PBX_APP_LOG,
	PBX_APP_DIAL,
	PBX_APP_PLAYBACK,
	PBX_APP_BACKGROUND,
	PBX_APP_WAITEXTEN,
	PBX_APP_READ,
	PBX_APP_SAYDIGITS,
	PBX_APP_SAYNUMBER,
	PBX_APP_ECHO,
	PBX_APP_RECORD,
	PBX_APP_MILLIWATT,
	PBX_APP_MOH,
	PBX_APP_MIXMONITOR,
	PBX_APP_STOPMIXMONITOR,
	PBX_APP_VOICEMAIL,
	PBX_APP_VOICEMAILMAIN,
	PBX_APP_PICKUP,
	PBX_APP_PICKUPCHAN,
	PBX_APP_DBDEL,
	PBX_APP_DBDELTREE,
	PBX_APP_SIPADDHEADER,
	PBX_APP_SIPREMOVEHEADER,
	PBX_APP_GOTOIFTIME,
	PBX_APP_EXECIFTIME,
	PBX_APP_EXECIF,
	PBX_APP_GOSUBIF,
	PBX_APP_MSET,
	PBX_APP_WHILE,
	PBX_APP_ENDWHILE,
	PBX_APP_EXITWHILE,
	PBX_APP_CONTINUEWHILE,
	PBX_APP_EXEC,
	PBX_APP_AUTHENTICATE,
	PBX_APP_CONFBRIDGE,
	PBX_APP_MEETME,
	PBX_APP_MACRO,
	PBX_APP_MACROEXIT,
	PBX_APP_SENDDTMF,
	PBX_APP_CHANISAVAIL,
	PBX_APP_PLAYTONES,
	PBX_APP_STOPPLAYTONES,
	PBX_APP_PARK,
	PBX_APP_PARKEDCALL,
	PBX_APP_SYSTEM,
	PBX_APP_TRYSYSTEM,
	PBX_APP_PRIVACYMANAGER,
	PBX_APP_ZAPATELLER,
	PBX_APP_SAYALPHA,
	PBX_APP_SAYPHONETIC,
	PBX_APP_DISA,
	PBX_APP_SAYUNIXTIME,
	PBX_APP_DATETIME,
	PBX_APP_MAILBOXEXISTS,
	PBX_APP_WAITUNTIL,
	PBX_APP_WAITMOH,
	PBX_APP_SETCALLERPRES,
	PBX_APP_PROCEEDING,
	PBX_APP_READEXTEN,
	PBX_APP_UNSUPPORTED, /* an Asterisk application mikaka does not have: args holds it as
			      * written; a call reaching it hangs up (as Asterisk does when an
			      * application's module is not loaded) */
	PBX_APP_COUNT
};

const char *pbx_app_name(enum pbx_app app);
/* Whether name[0..n) is one of Asterisk's applications that mikaka does not have (a file
 * written for Asterisk loads with a warning; a typo is still an error). */
bool pbx_app_asterisk_only(const char *name, size_t n);
/* The first `c` in s[0..n) outside ${...} and $[...] (and, with parens, outside (...)), or
 * NULL: where conditional applications split their arguments. */
const char *pbx_find_top(const char *s, size_t n, char c, bool parens);
/* The application named name[0..n) (case-insensitive); ENOENT when there is none. */
int pbx_app_lookup(const char *name, size_t n, enum pbx_app *appp);

/* ---- time conditions (timing.c) ----
 * Asterisk's time specification times,weekdays,mdays,months[,timezone] (',' or '|' between the
 * fields; missing fields are "*"): each field a '&' list of items or ranges, ranges wrapping
 * around (22:00-06:00, fri-mon, 25-5, nov-feb), the end minute of a time range included. */
#define PBX_DAY_MINUTES 1440
struct pbx_tz;
struct pbx_timing {
	uint8_t minutes[PBX_DAY_MINUTES / 8]; /* minute of the day */
	uint8_t dow;			      /* bit 0: Sunday */
	uint8_t mdays[4];		      /* bit 0: the 1st */
	uint8_t months[2];		      /* bit 0: January */
	const struct pbx_tz *tz;	      /* NULL: the daemon's local time */
};
/* Parses spec[0..len). EINVAL with the reason in why (a bad field, an unknown time zone). */
int pbx_timing_parse(struct pbx_timing *t, const char *spec, size_t len, char *why,
		     size_t whysize);
/* Whether the time `now` is inside the specification (in its time zone). */
bool pbx_timing_match(const struct pbx_timing *t, time_t now);
/* Parses and matches against pbx_now() in one go; EINVAL as pbx_timing_parse. */
int pbx_timing_check(const char *spec, size_t len, bool *match, char *why, size_t whysize);

/* The clock time conditions, STRFTIME() and ${EPOCH} read: time(NULL) unless a test set one. */
typedef time_t(pbx_clock_h)(void);
void pbx_set_clock(pbx_clock_h *h);
time_t pbx_now(void);

/* IANA time zones, read once from TZif files in $TZDIR or /usr/share/zoneinfo (tests point
 * pbx_tz_set_dir() at copies in the repository) and kept for the process. ENOENT for an
 * unknown or malformed zone. */
int pbx_tz_get(const char *name, size_t len, const struct pbx_tz **tzp);
const char *pbx_tz_name(const struct pbx_tz *tz);
/* t as local time in tz (NULL: the process's local time), with tm_gmtoff and tm_zone set. */
int pbx_tz_localtime(const struct pbx_tz *tz, time_t t, struct tm *tm);
void pbx_tz_set_dir(const char *dir);
/* Frees the zones read so far (tests; no pbx_timing may refer to them afterwards). */
void pbx_tz_cache_clear(void);

struct pbx_var {
	char *name;
	char *value;
};

struct pbx_vars {
	struct pbx_var *v;
	size_t n;
	size_t cap;
};

/* The same operations on a list embedded in another object (a channel, the dialplan). */
int pbx_vars_setn(struct pbx_vars *vars, const char *name, size_t nlen, const char *value,
		  size_t vlen);
const char *pbx_vars_getn(const struct pbx_vars *vars, const char *name, size_t nlen);
void pbx_vars_clear(struct pbx_vars *vars);

/* One priority of an extension. */
struct dp_prio {
	unsigned prio;
	enum pbx_app app;
	char *label;	  /* n(label), or NULL */
	char *args;	  /* as written; substituted when it runs */
	const char *file; /* interned in the dialplan */
	unsigned line;
};

struct dp_ext {
	struct le he; /* in the context's exact-extension table */
	char *name;   /* as written: "_0.", "801" */
	char *key;    /* exact extensions: the name without '-' and ' ' */
	bool pattern;
	struct dp_prio *prios; /* sorted by priority */
	size_t nprios;
	size_t cap;
	const char *file;
	unsigned line;
	char *hint; /* exten => NAME,hint,DEVICES: the devices as written, or NULL */
	char *cid;  /* exten => NAME/CID: the caller ID (number or _pattern) it is for, or NULL */
	const char *hint_file;
	unsigned hint_line;
};

/* One pattern position: a literal, a character set (X, Z, N, [...]), '.' or '!'. `weight`
 * orders positions as Asterisk does: (set size << 8 | lowest character), '.' and '!' after
 * every set, and the end of a pattern after everything. */
enum dp_elem_kind { DP_EL_LIT, DP_EL_SET, DP_EL_DOT, DP_EL_BANG };
#define DP_W_DOT  0x18000u
#define DP_W_BANG 0x28000u
#define DP_W_END  0x30000u

struct dp_elem {
	uint32_t weight;
	uint8_t kind;
	uint8_t c;    /* DP_EL_LIT */
	uint8_t *set; /* DP_EL_SET: 32 bytes, bit (c % 8) of byte c / 8 */
};

struct dp_node;
struct dp_edge {
	struct dp_elem el;
	struct dp_node *child;
};

/* The patterns of a context as a trie whose edges are kept in Asterisk's order, so a depth-first
 * walk meets patterns in their sorted order and the first match is the one Asterisk picks. */
struct dp_node {
	struct dp_edge *edges;
	uint32_t nedges;
	uint32_t cap;
	uint32_t nlit;	      /* the first nlit edges are literals (sorted by character) */
	struct dp_ext *term;  /* the pattern ending here */
	struct dp_ext *first; /* the first pattern in this subtree */
};

struct dp_include {
	char *name;
	struct dp_ctx *ctx; /* NULL when no such context */
	char *spec;		   /* a time-restricted include's specification as written, or NULL */
	struct pbx_timing *timing; /* its parsed form, or NULL (always included) */
	const char *file;
	unsigned line;
};

struct dp_ctx {
	struct le he; /* in dialplan.ctxs */
	char *name;
	const char *file;
	unsigned line;
	struct htab exact;
	struct dp_node root;
	struct dp_ext **exts; /* after loading: exact ones (sorted), then patterns in order, then
			       * those with a caller ID */
	struct dp_ext **cidexts; /* exten => NAME/CID ones (also in exts), in matching order */
	size_t ncid;
	size_t cidcap;
	size_t nexts;
	size_t cap;
	struct dp_include *incs;
	size_t nincs;
	size_t incap;
	bool builtin; /* made by the configuration (features.conf's parkedcalls), not a file */
};

struct dialplan {
	struct htab ctxs;
	struct dp_ctx **ctxv; /* in file order */
	size_t nctx;
	size_t cap;
	struct pbx_vars globals;
	char **files;
	size_t nfiles;
	bool reads_sip_headers; /* some priority reads ${SIP_HEADER(} or ${PJSIP_HEADER(} */
};

/* What to look for: a priority number, a label, or (prio 0, no label) any priority. */
struct dp_want {
	unsigned prio;
	const char *label;
};

/* Longest extension (pattern positions, or digits looked up). */
#define DP_EXTEN_MAX 256
/* Contexts visited through include => in one lookup (also ends include loops). */
#define DP_INCLUDE_MAX 128
#define DP_PRIO_MAX 1000000000u

/* A pattern position while compiling, with its set inline. */
struct pat_el {
	uint32_t weight;
	uint8_t kind;
	uint8_t c;
	uint8_t set[32];
};
/* Compiles the text after '_' into positions. EINVAL for an empty pattern, an unclosed or empty
 * [...] set; E2BIG when it is too long. */
int dp_pat_compile(const char *p, struct pat_el *els, size_t max, size_t *np);
/* Strips '-' and ' ' (Asterisk ignores them in extensions and dialled numbers). */
int dp_exten_norm(const char *s, char *buf, size_t size);
/* The node reached by the positions, created as needed. */
int dp_trie_insert(struct dp_node *n, const struct pat_el *els, size_t nels, struct dp_node **nodep);
/* Sets `first` in every node, and appends the patterns in order to list (when not NULL). */
struct dp_ext *dp_trie_finish(struct dp_node *n, struct dp_ext **list, size_t *count);
/* The exact (non-pattern) extension key[0..len) of ctx, or NULL. */
struct dp_ext *dp_exact_find(const struct dp_ctx *ctx, const char *key, size_t len);
/* mem_zalloc destructor of a dialplan. */
void dp_destroy(void *arg);
/* The priority of e that w asks for (a number or a label), or NULL. */
const struct dp_prio *dp_ext_prio(const struct dp_ext *e, const struct dp_want *w);
/* s[0..n) as a decimal number of at most max; false when it is not one. */
bool dp_parse_uint(const char *s, size_t n, unsigned max, unsigned *out);

/* Contexts a search through includes has looked at: each once, so that contexts including each
 * other (or themselves) several times cost their number, not a power of it (a fuzzed dialplan
 * with a context including itself four times took minutes). */
struct dp_visit {
	const struct dp_ctx *ctx[DP_INCLUDE_MAX];
	size_t n;
};
/* true the first time ctx is offered to v (and there is room to note it), false after. */
bool dp_visit_first(struct dp_visit *v, const struct dp_ctx *ctx);

const struct dp_ctx *dp_ctx_find(const struct dialplan *dp, const char *name);
/* Finds the first extension (own exact, own patterns, then includes in order) matching exten that
 * has the wanted priority. Sets *extp (may be NULL). */
const struct dp_prio *dp_find(const struct dialplan *dp, const struct dp_ctx *ctx,
			      const char *exten, const struct dp_want *want,
			      const struct dp_ext **extp);
/* The same for a caller: an extension written NAME/CID (caller ID matching) is found first
 * when its CID matches the caller's number (cid NULL or "": no caller ID, only plain ones). */
const struct dp_prio *dp_find_cid(const struct dialplan *dp, const struct dp_ctx *ctx,
				  const char *exten, const char *cid, const struct dp_want *want,
				  const struct dp_ext **extp);
/* The same with every time-restricted include counted in, whatever the time (the checks of
 * mikakad -t must not depend on when they run), and an extension for any caller ID counted. */
const struct dp_prio *dp_find_any_time(const struct dialplan *dp, const struct dp_ctx *ctx,
				       const char *exten, const struct dp_want *want,
				       const struct dp_ext **extp);
/* The loop partner of the While or EndWhile at index i of e's priorities (the matching EndWhile
 * of a While, the While of an EndWhile, nesting counted), or -1 when it has none. */
long dp_while_partner(const struct dp_ext *e, size_t i);
/* The index of the While whose loop holds index i (not i itself), or -1. */
long dp_while_enclosing(const struct dp_ext *e, size_t i);

/* Asterisk's extension order (exact < pattern; patterns position by position); <0, 0, >0. */
int dp_ext_cmp(const char *a, const char *b);
/* Whether `exten` matches the extension name (exact or "_pattern"). */
bool dp_ext_match(const char *name, const char *exten);

/* Substitution environment: the channel (may be NULL) and the globals. */
struct pbx_env {
	struct pbx_chan *ch;
	const struct pbx_vars *globals;
	unsigned depth;
};

/* Appends `in` with ${...} and $[...] substituted to out, at most PBX_VALUE_MAX bytes. */
int pbx_subst(struct pbx_env *env, const char *in, size_t len, struct mbuf *out);
/* Evaluates an already substituted $[ ] expression and appends the result ("" on an error). */
int pbx_expr_eval(const char *expr, size_t len, struct mbuf *out);
/* Whether a regular expression is within the bounds the dialplan allows (length, no
 * back-references, limited repetition: docs/DIALPLAN.md, Bounds); REGEX() shares them. */
bool pbx_re_safe(const char *re);
/* Asterisk's truth of a condition: empty is false, a leading integer is its value, else true. */
bool pbx_truth(const char *s);

/* A variable as ${name} reads it: the channel's (built-ins, Gosub arguments, its variables),
 * then the globals; NULL when unset. */
const char *pbx_env_lookup(struct pbx_env *env, const char *name, size_t n);
/* Asterisk's string and list functions (funcs.c: CUT, FIELDQTY, FIELDNUM, LISTFILTER, FILTER,
 * REPLACE, STRREPLACE, REGEX, TOUPPER, TOLOWER, QUOTE, CSV_QUOTE, RAND, SHIFT, POP, INC, DEC,
 * SPRINTF): appends the value, or ENOENT when fn is none of them. */
int pbx_func_string(struct pbx_env *env, const struct pl *fn, const char *args, size_t alen,
		    struct mbuf *mb);
/* Set(PUSH(list[,delim])=value) and Set(UNSHIFT(...)=value); ENOENT for other names. */
int pbx_func_string_write(struct pbx_chan *ch, const struct pl *fn, const char *args,
			  size_t alen, const char *value, size_t vlen);

/* Channel side of a lookup (built-ins, Gosub arguments, channel variables); NULL when unset. */
const char *pbx_chan_lookup(struct pbx_chan *ch, const char *name, size_t nlen);
/* The host's function for NAME(ARGS) (pbx_chan_set_func_h); ENOENT when there is none. */
int pbx_chan_host_func(struct pbx_chan *ch, const char *name, const char *args, struct mbuf *out);
/* The dialplan's globals of a channel. */
const struct pbx_vars *pbx_chan_globals(const struct pbx_chan *ch);

/* Whether some extension of ctx (or its includes) could match a longer string starting with
 * `exten` (Asterisk's "matchmore"). */
bool dp_can_match_more(const struct dialplan *dp, const struct dp_ctx *ctx, const char *exten);
/* The same for one extension name (exact or "_pattern"). */
bool dp_ext_match_more(const char *name, const char *exten);

/* Functions that read channel state: CHANNEL(language), TIMEOUT(digit|response). Appends the
 * value and returns 0, or ENOENT when `fn` is not one of them. */
int pbx_chan_func_read(struct pbx_chan *ch, const struct pl *fn, const struct pl *arg,
		       struct mbuf *mb);

/* Media applications' argument parsing (chan.c; exposed for the unit tests). Files of a
 * Playback-style list "a&b&c" into files[] (in place); returns the count. */
size_t pbx_split_files(char *list, const char **files, size_t max);
/* SayNumber(n) as English sound names ("digits/1", "digits/hundred", ...) appended to out,
 * separated by '&'. EINVAL for a non-number. */
int pbx_say_number(const char *num, struct mbuf *out);
/* SayDigits(d) likewise ("digits/1&digits/star&letters/a"). */
int pbx_say_digits(const char *digits, struct mbuf *out);
/* SayAlpha()/SayPhonetic(): a string letter by letter ("letters/a", or with `phonetic`
 * "phonetic/a_p" as in alpha, bravo), digits as digits, the signs the core sounds name
 * ("letters/dot", "letters/at" ...), other printable characters as "letters/asciiN". */
int pbx_say_alpha(const char *s, bool phonetic, struct mbuf *out);
/* SayUnixTime(): the moment t in zone tz (NULL: local time) as English sound names, in
 * Asterisk's format letters (A weekday, B month, d ordinal day, Y year, I/H/k hour, M minute,
 * p a.m./p.m., Q/q today/yesterday/the date, R, T, 'file'); "" or NULL: "ABdY 'digits/at' IMp". */
struct pbx_tz;
int pbx_say_time(time_t t, const struct pbx_tz *tz, const char *format, struct mbuf *out);

/* Parses Dial() arguments (already substituted; modified in place) into dial. Unknown
 * technologies are skipped; *bad (may be NULL) counts them. EINVAL when no target remains. */
int pbx_dial_parse(char *args, struct pbx_dial *dial, unsigned *bad);

#endif /* MIKAKA_PBX_INT_H */
