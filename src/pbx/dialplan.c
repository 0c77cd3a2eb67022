/* dialplan: loads extensions.conf into contexts (exact extensions in a hash table, patterns in a
 * trie kept in Asterisk's sort order), finds what runs for a number, `dialplan show` and the
 * `mikakad -t` checks. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_int.h"

#define LOG_MODULE "pbx"

/* Longest extension (pattern positions, or digits looked up). */
#define DP_EXTEN_MAX 256
/* Contexts visited through include => in one lookup (also ends include loops). */
#define DP_INCLUDE_MAX 128

static const char *const app_names[PBX_APP_COUNT] = {
    [PBX_APP_NOOP] = "NoOp",
    [PBX_APP_SET] = "Set",
    [PBX_APP_GOTO] = "Goto",
    [PBX_APP_GOTOIF] = "GotoIf",
    [PBX_APP_GOSUB] = "Gosub",
    [PBX_APP_RETURN] = "Return",
    [PBX_APP_ANSWER] = "Answer",
    [PBX_APP_HANGUP] = "Hangup",
    [PBX_APP_WAIT] = "Wait",
    [PBX_APP_BUSY] = "Busy",
    [PBX_APP_CONGESTION] = "Congestion",
    [PBX_APP_PROGRESS] = "Progress",
    [PBX_APP_RINGING] = "Ringing",
    [PBX_APP_VERBOSE] = "Verbose",
    [PBX_APP_LOG] = "Log",
    [PBX_APP_DIAL] = "Dial",
    [PBX_APP_PLAYBACK] = "Playback",
    [PBX_APP_BACKGROUND] = "Background",
    [PBX_APP_WAITEXTEN] = "WaitExten",
    [PBX_APP_READ] = "Read",
    [PBX_APP_SAYDIGITS] = "SayDigits",
    [PBX_APP_SAYNUMBER] = "SayNumber",
    [PBX_APP_ECHO] = "Echo",
    [PBX_APP_RECORD] = "Record",
    [PBX_APP_MILLIWATT] = "Milliwatt",
    [PBX_APP_MOH] = "MusicOnHold",
    [PBX_APP_MIXMONITOR] = "MixMonitor",
    [PBX_APP_STOPMIXMONITOR] = "StopMixMonitor",
    [PBX_APP_VOICEMAIL] = "VoiceMail",
    [PBX_APP_VOICEMAILMAIN] = "VoiceMailMain",
    [PBX_APP_PICKUP] = "Pickup",
    [PBX_APP_PICKUPCHAN] = "PickupChan",
    [PBX_APP_DBDEL] = "DBdel",
    [PBX_APP_DBDELTREE] = "DBdeltree",
    [PBX_APP_SIPADDHEADER] = "SIPAddHeader",
    [PBX_APP_SIPREMOVEHEADER] = "SIPRemoveHeader",
    [PBX_APP_GOTOIFTIME] = "GotoIfTime",
    [PBX_APP_EXECIFTIME] = "ExecIfTime",
    [PBX_APP_EXECIF] = "ExecIf",
    [PBX_APP_GOSUBIF] = "GosubIf",
    [PBX_APP_MSET] = "MSet",
    [PBX_APP_WHILE] = "While",
    [PBX_APP_ENDWHILE] = "EndWhile",
    [PBX_APP_EXITWHILE] = "ExitWhile",
    [PBX_APP_CONTINUEWHILE] = "ContinueWhile",
    [PBX_APP_EXEC] = "Exec",
    [PBX_APP_AUTHENTICATE] = "Authenticate",
    [PBX_APP_CONFBRIDGE] = "ConfBridge",
    [PBX_APP_MEETME] = "MeetMe",
    [PBX_APP_MACRO] = "Macro",
    [PBX_APP_MACROEXIT] = "MacroExit",
    [PBX_APP_SENDDTMF] = "SendDTMF",
    [PBX_APP_CHANISAVAIL] = "ChanIsAvail",
    [PBX_APP_PLAYTONES] = "Playtones",
    [PBX_APP_STOPPLAYTONES] = "StopPlaytones",
    [PBX_APP_PARK] = "Park",
    [PBX_APP_PARKEDCALL] = "ParkedCall",
};

/* Loops are found by position, as Asterisk finds them: no state to keep across Gosub frames
 * or lose on a Goto out of the loop. */
long dp_while_partner(const struct dp_ext *e, size_t i)
{
	unsigned depth = 0;

	if (e->prios[i].app == PBX_APP_WHILE) {
		for (size_t j = i + 1; j < e->nprios; j++) {
			if (e->prios[j].app == PBX_APP_WHILE)
				depth++;
			else if (e->prios[j].app == PBX_APP_ENDWHILE && !depth--)
				return (long)j;
		}
		return -1;
	}
	if (e->prios[i].app == PBX_APP_ENDWHILE)
		return dp_while_enclosing(e, i);
	return -1;
}

long dp_while_enclosing(const struct dp_ext *e, size_t i)
{
	unsigned depth = 0;

	for (size_t j = i; j-- > 0;) {
		if (e->prios[j].app == PBX_APP_ENDWHILE)
			depth++;
		else if (e->prios[j].app == PBX_APP_WHILE && !depth--)
			return (long)j;
	}
	return -1;
}

const char *pbx_app_name(enum pbx_app app)
{
	return app < PBX_APP_COUNT ? app_names[app] : "?";
}

int pbx_app_lookup(const char *name, size_t n, enum pbx_app *appp)
{
	for (size_t i = 0; i < PBX_APP_COUNT; i++) {
		if (strlen(app_names[i]) == n && strncasecmp(app_names[i], name, n) == 0) {
			*appp = (enum pbx_app)i;
			return 0;
		}
	}
	return ENOENT;
}

/* ---- patterns -------------------------------------------------------------------------------- */

/* A pattern position while compiling, with its set inline. */
struct pat_el {
	uint32_t weight;
	uint8_t kind;
	uint8_t c;
	uint8_t set[32];
};

static void set_add(uint8_t *set, unsigned c)
{
	set[c / 8] |= (uint8_t)(1u << (c % 8));
}

static bool set_has(const uint8_t *set, unsigned c)
{
	return set[c / 8] & (1u << (c % 8));
}

static void el_range(struct pat_el *el, unsigned lo, unsigned hi)
{
	el->kind = DP_EL_SET;
	for (unsigned c = lo; c <= hi; c++)
		set_add(el->set, c);
	el->weight = ((hi - lo + 1) << 8) | lo;
}

/* Compiles the text after '_' into positions. EINVAL for an empty pattern, an unclosed or empty
 * [...] set; E2BIG when it is too long. */
static int pat_compile(const char *p, struct pat_el *els, size_t max, size_t *np)
{
	size_t n = 0;

	for (; *p; p++) {
		struct pat_el *el;
		unsigned char c = (unsigned char)*p;

		if (c == ' ' || c == '-')
			continue;
		if (n == max)
			return E2BIG;
		el = &els[n++];
		memset(el, 0, sizeof(*el));
		switch (c) {
		case 'X':
		case 'x':
			el_range(el, '0', '9');
			break;
		case 'Z':
		case 'z':
			el_range(el, '1', '9');
			break;
		case 'N':
		case 'n':
			el_range(el, '2', '9');
			break;
		case '.':
			el->kind = DP_EL_DOT;
			el->weight = DP_W_DOT;
			break;
		case '!':
			el->kind = DP_EL_BANG;
			el->weight = DP_W_BANG;
			break;
		case '[': {
			unsigned count = 0, first = 256;
			const char *q = p + 1;

			for (; *q && *q != ']'; q++) {
				unsigned lo = (unsigned char)*q, hi = lo;

				if (q[1] == '-' && q[2] && q[2] != ']') {
					hi = (unsigned char)q[2];
					q += 2;
				}
				if (hi < lo)
					return EINVAL;
				for (unsigned x = lo; x <= hi; x++)
					set_add(el->set, x);
			}
			if (*q != ']')
				return EINVAL;
			for (unsigned x = 0; x < 256; x++) {
				if (set_has(el->set, x)) {
					count++;
					if (first == 256)
						first = x;
				}
			}
			if (!count)
				return EINVAL;
			p = q;
			if (count == 1) {
				/* [5] is the literal 5: same weight, same set. */
				memset(el->set, 0, sizeof(el->set));
				el->kind = DP_EL_LIT;
				el->c = (uint8_t)first;
				el->weight = 0x100u | first;
			} else {
				el->kind = DP_EL_SET;
				el->weight = (count << 8) | first;
			}
			break;
		}
		default:
			el->kind = DP_EL_LIT;
			el->c = c;
			el->weight = 0x100u | c;
			break;
		}
	}
	if (!n)
		return EINVAL;
	*np = n;
	return 0;
}

/* Asterisk's order of two positions: by weight, then (equal weight, different sets) by the sets
 * compared as bytes, the larger one first. */
static int el_cmp(uint32_t wa, uint8_t ka, const uint8_t *sa, uint32_t wb, uint8_t kb,
		  const uint8_t *sb)
{
	if (wa != wb)
		return wa < wb ? -1 : 1;
	if (ka == DP_EL_SET && kb == DP_EL_SET)
		return memcmp(sb, sa, 32);
	return 0;
}

/* Strips '-' and ' ' (Asterisk ignores them in extensions and dialled numbers). */
static int exten_norm(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == '-' || *s == ' ')
			continue;
		if (n + 1 >= size)
			return E2BIG;
		buf[n++] = *s;
	}
	buf[n] = '\0';
	return 0;
}

int dp_ext_cmp(const char *a, const char *b)
{
	struct pat_el ea[DP_EXTEN_MAX], eb[DP_EXTEN_MAX];
	size_t na, nb;

	if (a[0] != '_' || b[0] != '_') {
		char x[DP_EXTEN_MAX], y[DP_EXTEN_MAX];

		if (a[0] != '_' && b[0] == '_')
			return -1;
		if (a[0] == '_')
			return 1;
		if (exten_norm(a, x, sizeof(x)) || exten_norm(b, y, sizeof(y)))
			return strcmp(a, b);
		return strcmp(x, y);
	}
	if (pat_compile(a + 1, ea, DP_EXTEN_MAX, &na) || pat_compile(b + 1, eb, DP_EXTEN_MAX, &nb))
		return strcmp(a, b);
	for (size_t i = 0;; i++) {
		uint32_t wa = i < na ? ea[i].weight : DP_W_END;
		uint32_t wb = i < nb ? eb[i].weight : DP_W_END;
		int c;

		if (i >= na && i >= nb)
			return 0;
		c = el_cmp(wa, i < na ? ea[i].kind : 0, i < na ? ea[i].set : NULL, wb,
			   i < nb ? eb[i].kind : 0, i < nb ? eb[i].set : NULL);
		if (c)
			return c;
	}
}

static bool pat_match_els(const struct pat_el *els, size_t n, const char *s)
{
	size_t i = 0;

	for (; *s; s++) {
		if (*s == '-')
			continue;
		if (i == n)
			return false;
		switch (els[i].kind) {
		case DP_EL_LIT:
			if ((unsigned char)*s != els[i].c)
				return false;
			break;
		case DP_EL_SET:
			if (!set_has(els[i].set, (unsigned char)*s))
				return false;
			break;
		case DP_EL_DOT:
		case DP_EL_BANG:
			return true;
		}
		i++;
	}
	return i == n || els[i].kind == DP_EL_BANG;
}

bool dp_ext_match(const char *name, const char *exten)
{
	struct pat_el els[DP_EXTEN_MAX];
	char x[DP_EXTEN_MAX], y[DP_EXTEN_MAX];
	size_t n;

	if (name[0] != '_') {
		if (exten_norm(name, x, sizeof(x)) || exten_norm(exten, y, sizeof(y)))
			return false;
		return strcmp(x, y) == 0;
	}
	if (pat_compile(name + 1, els, DP_EXTEN_MAX, &n))
		return false;
	return pat_match_els(els, n, exten);
}

/* ---- the trie -------------------------------------------------------------------------------- */

/* X, Z and N are shared by every edge that uses them instead of one copy per edge. */
static uint8_t set_x[32], set_z[32], set_n[32];

static uint8_t *set_shared(const uint8_t *set)
{
	static bool init;

	if (!init) {
		for (unsigned c = '0'; c <= '9'; c++) {
			set_add(set_x, c);
			if (c >= '1')
				set_add(set_z, c);
			if (c >= '2')
				set_add(set_n, c);
		}
		init = true;
	}
	if (!memcmp(set, set_x, 32))
		return set_x;
	if (!memcmp(set, set_z, 32))
		return set_z;
	if (!memcmp(set, set_n, 32))
		return set_n;
	return NULL;
}

static void set_free(uint8_t *set)
{
	if (set != set_x && set != set_z && set != set_n)
		free(set);
}

static void node_free(struct dp_node *n)
{
	for (uint32_t i = 0; i < n->nedges; i++) {
		node_free(n->edges[i].child);
		free(n->edges[i].child);
		set_free(n->edges[i].el.set);
	}
	free(n->edges);
}

/* The node reached by the positions, created as needed. */
static int trie_insert(struct dp_node *n, const struct pat_el *els, size_t nels,
		       struct dp_node **nodep)
{
	for (size_t k = 0; k < nels; k++) {
		const struct pat_el *el = &els[k];
		uint32_t lo = 0, hi = n->nedges;
		struct dp_edge *e;

		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;
			const struct dp_edge *m = &n->edges[mid];
			int c = el_cmp(m->el.weight, m->el.kind, m->el.set, el->weight, el->kind,
				       el->set);

			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n->nedges && !el_cmp(n->edges[lo].el.weight, n->edges[lo].el.kind,
					      n->edges[lo].el.set, el->weight, el->kind, el->set)) {
			n = n->edges[lo].child;
			continue;
		}
		if (n->nedges == n->cap) {
			uint32_t cap = n->cap ? n->cap * 2 : 1;
			struct dp_edge *ne = realloc(n->edges, cap * sizeof(*ne));

			if (!ne)
				return ENOMEM;
			n->edges = ne;
			n->cap = cap;
		}
		e = &n->edges[lo];
		memmove(e + 1, e, (n->nedges - lo) * sizeof(*e));
		memset(e, 0, sizeof(*e));
		n->nedges++;
		e->el.weight = el->weight;
		e->el.kind = el->kind;
		e->el.c = el->c;
		e->child = calloc(1, sizeof(*e->child));
		if (el->kind == DP_EL_SET) {
			e->el.set = set_shared(el->set);
			if (!e->el.set) {
				e->el.set = malloc(32);
				if (e->el.set)
					memcpy(e->el.set, el->set, 32);
			}
		}
		if (!e->child || (el->kind == DP_EL_SET && !e->el.set)) {
			free(e->child);
			set_free(e->el.set);
			n->nedges--;
			memmove(e, e + 1, (n->nedges - lo) * sizeof(*e));
			return ENOMEM;
		}
		if (el->kind == DP_EL_LIT)
			n->nlit++;
		n = e->child;
	}
	*nodep = n;
	return 0;
}

/* Sets `first` in every node, and appends the patterns in order to list (when not NULL). */
static struct dp_ext *trie_finish(struct dp_node *n, struct dp_ext **list, size_t *count)
{
	n->first = NULL;
	for (uint32_t i = 0; i < n->nedges; i++) {
		struct dp_ext *f = trie_finish(n->edges[i].child, list, count);

		if (!n->first)
			n->first = f;
	}
	if (n->term) {
		if (!n->first)
			n->first = n->term;
		if (list)
			list[(*count)++] = n->term;
	}
	return n->first;
}

static const struct dp_prio *ext_prio(const struct dp_ext *e, const struct dp_want *w)
{
	if (!e || !e->nprios)
		return NULL;
	if (w->label) {
		for (size_t i = 0; i < e->nprios; i++) {
			if (e->prios[i].label && !strcmp(e->prios[i].label, w->label))
				return &e->prios[i];
		}
		return NULL;
	}
	if (!w->prio)
		return &e->prios[0];
	size_t lo = 0, hi = e->nprios;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (e->prios[mid].prio < w->prio)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->nprios && e->prios[lo].prio == w->prio ? &e->prios[lo] : NULL;
}

/* The first pattern of the subtree that has the wanted priority. */
static const struct dp_ext *trie_first(const struct dp_node *n, const struct dp_want *w)
{
	if (!n->first)
		return NULL;
	if (ext_prio(n->first, w))
		return n->first;
	for (uint32_t i = 0; i < n->nedges; i++) {
		const struct dp_ext *r = trie_first(n->edges[i].child, w);

		if (r)
			return r;
	}
	return n->term && ext_prio(n->term, w) ? n->term : NULL;
}

/* Depth-first in edge order: the first pattern met is the first in Asterisk's sorted list. */
static const struct dp_ext *trie_match(const struct dp_node *n, const char *s, size_t len,
				       size_t pos, const struct dp_want *w)
{
	const struct dp_ext *r;

	if (pos < len) {
		unsigned char c = (unsigned char)s[pos];
		uint32_t lo = 0, hi = n->nlit;

		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;

			if (n->edges[mid].el.c < c)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n->nlit && n->edges[lo].el.c == c) {
			r = trie_match(n->edges[lo].child, s, len, pos + 1, w);
			if (r)
				return r;
		}
		for (uint32_t i = n->nlit; i < n->nedges; i++) {
			const struct dp_edge *e = &n->edges[i];

			if (e->el.kind == DP_EL_SET) {
				if (!set_has(e->el.set, c))
					continue;
				r = trie_match(e->child, s, len, pos + 1, w);
			} else {
				/* '.' (one or more: there is one) and '!' match the rest. */
				r = trie_first(e->child, w);
			}
			if (r)
				return r;
		}
		return NULL;
	}
	for (uint32_t i = n->nlit; i < n->nedges; i++) {
		if (n->edges[i].el.kind == DP_EL_BANG) {
			r = trie_first(n->edges[i].child, w);
			if (r)
				return r;
		}
	}
	return n->term && ext_prio(n->term, w) ? n->term : NULL;
}

/* ---- lookup ---------------------------------------------------------------------------------- */

const struct dp_ctx *dp_ctx_find(const struct dialplan *dp, const char *name)
{
	uint32_t key;

	if (!dp || !name)
		return NULL;
	key = hash_bytes(name, strlen(name));
	LIST_FOREACH(htab_bucket(&dp->ctxs, key), le)
	{
		const struct dp_ctx *c = le->data;

		if (le->key == key && !strcmp(c->name, name))
			return c;
	}
	return NULL;
}

static struct dp_ext *exact_find(const struct dp_ctx *ctx, const char *key, size_t len)
{
	uint32_t h = hash_bytes(key, len);

	LIST_FOREACH(htab_bucket(&ctx->exact, h), le)
	{
		struct dp_ext *e = le->data;

		if (le->key == h && !strcmp(e->key, key))
			return e;
	}
	return NULL;
}

struct dp_search {
	const char *s;
	size_t len;
	const char *cid; /* the caller's number, or NULL */
	bool any_cid;	 /* an extension for any caller ID counts (checks) */
	const struct dp_want *want;
	bool any_time; /* count time-restricted includes in whatever the time */
	bool have_now;
	time_t now;
	const struct dp_ctx *seen[DP_INCLUDE_MAX];
	size_t nseen;
};

static const struct dp_prio *ctx_search(const struct dp_ctx *ctx, struct dp_search *q,
					const struct dp_ext **extp)
{
	const struct dp_ext *e;
	const struct dp_prio *p;

	for (size_t i = 0; i < q->nseen; i++) {
		if (q->seen[i] == ctx)
			return NULL;
	}
	if (q->nseen == DP_INCLUDE_MAX)
		return NULL;
	q->seen[q->nseen++] = ctx;

	/* exten => NAME/CID first, as Asterisk prefers the extension for that caller. */
	for (size_t i = 0; i < ctx->ncid && (q->any_cid || (q->cid && *q->cid)); i++) {
		e = ctx->cidexts[i];
		if (!(e->pattern ? dp_ext_match(e->name, q->s) : !strcmp(e->key, q->s)) ||
		    !(q->any_cid || dp_ext_match(e->cid, q->cid)))
			continue;
		p = ext_prio(e, q->want);
		if (p) {
			if (extp)
				*extp = e;
			return p;
		}
	}
	e = exact_find(ctx, q->s, q->len);
	p = ext_prio(e, q->want);
	if (!p) {
		e = ctx->root.first ? trie_match(&ctx->root, q->s, q->len, 0, q->want) : NULL;
		p = ext_prio(e, q->want);
	}
	if (p) {
		if (extp)
			*extp = e;
		return p;
	}
	for (size_t i = 0; i < ctx->nincs; i++) {
		const struct dp_include *inc = &ctx->incs[i];

		if (!inc->ctx)
			continue;
		if (inc->timing && !q->any_time) {
			if (!q->have_now) {
				q->now = pbx_now();
				q->have_now = true;
			}
			if (!pbx_timing_match(inc->timing, q->now))
				continue;
		}
		p = ctx_search(inc->ctx, q, extp);
		if (p)
			return p;
	}
	return NULL;
}

static const struct dp_prio *find(const struct dp_ctx *ctx, const char *exten, const char *cid,
				  const struct dp_want *want, const struct dp_ext **extp,
				  bool any_time, bool any_cid)
{
	struct dp_search q;
	char buf[DP_EXTEN_MAX], cbuf[DP_EXTEN_MAX];

	if (!ctx || !exten || exten_norm(exten, buf, sizeof(buf)))
		return NULL;
	q.s = buf;
	q.len = strlen(buf);
	q.cid = cid && !exten_norm(cid, cbuf, sizeof(cbuf)) ? cbuf : NULL;
	q.any_cid = any_cid;
	q.want = want;
	q.any_time = any_time;
	q.have_now = false;
	q.nseen = 0;
	return ctx_search(ctx, &q, extp);
}

const struct dp_prio *dp_find(const struct dialplan *dp, const struct dp_ctx *ctx,
			      const char *exten, const struct dp_want *want,
			      const struct dp_ext **extp)
{
	(void)dp;
	return find(ctx, exten, NULL, want, extp, false, false);
}

const struct dp_prio *dp_find_cid(const struct dialplan *dp, const struct dp_ctx *ctx,
				  const char *exten, const char *cid, const struct dp_want *want,
				  const struct dp_ext **extp)
{
	(void)dp;
	return find(ctx, exten, cid, want, extp, false, false);
}

const struct dp_prio *dp_find_any_time(const struct dialplan *dp, const struct dp_ctx *ctx,
				       const char *exten, const struct dp_want *want,
				       const struct dp_ext **extp)
{
	(void)dp;
	return find(ctx, exten, NULL, want, extp, true, true);
}

int dialplan_find(const struct dialplan *dp, const char *context, const char *exten,
		  unsigned priority, const char **namep)
{
	struct dp_want w = {priority, NULL};
	const struct dp_ext *e = NULL;

	/* An extension for some caller ID counts too. */
	if (!find(dp_ctx_find(dp, context), exten, NULL, &w, &e, false, true))
		return ENOENT;
	if (namep)
		*namep = e->name;
	return 0;
}

/* One pattern character against one digit: X, Z, N, [set] or a literal; *adv gets the
 * pattern characters used. -1 for a malformed set. */
static int pat_char_match(const char *p, char c, size_t *adv)
{
	char u = (char)toupper((unsigned char)*p);

	*adv = 1;
	if (u == 'X')
		return c >= '0' && c <= '9';
	if (u == 'Z')
		return c >= '1' && c <= '9';
	if (u == 'N')
		return c >= '2' && c <= '9';
	if (*p == '[') {
		const char *e = strchr(p, ']');
		bool hit = false;

		if (!e)
			return -1;
		*adv = (size_t)(e - p) + 1;
		for (const char *q = p + 1; q < e; q++) {
			if (q + 2 < e && q[1] == '-') {
				if (c >= q[0] && c <= q[2])
					hit = true;
				q += 2;
			} else if (*q == c) {
				hit = true;
			}
		}
		return hit;
	}
	return *p == c;
}

bool dp_ext_match_more(const char *name, const char *exten)
{
	size_t adv;

	if (name[0] != '_') {
		const char *e = exten;

		for (const char *n = name; *n; n++) {
			if (*n == '-' || *n == ' ')
				continue;
			if (!*e)
				return true; /* exten used up, the name goes on */
			if (*n != *e)
				return false;
			e++;
		}
		return false;
	}
	const char *p = name + 1;
	for (const char *e = exten; *e; e++) {
		while (*p == '-' || *p == ' ')
			p++;
		if (!*p)
			return false;
		if (*p == '.' || *p == '!')
			return true;
		int r = pat_char_match(p, *e, &adv);
		if (r <= 0)
			return false;
		p += adv;
	}
	while (*p == '-' || *p == ' ')
		p++;
	return *p != '\0';
}

/* Contexts a search through includes has looked at: each once, so that contexts including each
 * other (or themselves) several times cost their number, not a power of it (a fuzzed dialplan
 * with a context including itself four times took minutes). */
struct dp_visit {
	const struct dp_ctx *ctx[DP_INCLUDE_MAX];
	size_t n;
};

static bool dp_visit_first(struct dp_visit *v, const struct dp_ctx *ctx)
{
	for (size_t i = 0; i < v->n; i++) {
		if (v->ctx[i] == ctx)
			return false;
	}
	if (v->n == DP_INCLUDE_MAX)
		return false; /* as deep as an include chain is followed anywhere */
	v->ctx[v->n++] = ctx;
	return true;
}

static bool can_match_more(const struct dialplan *dp, const struct dp_ctx *ctx, const char *exten,
			   unsigned depth, struct dp_visit *v)
{
	if (!ctx || depth > 32 || !dp_visit_first(v, ctx))
		return false;
	for (size_t i = 0; i < ctx->nexts; i++)
		if (dp_ext_match_more(ctx->exts[i]->name, exten))
			return true;
	for (size_t i = 0; i < ctx->nincs; i++) {
		if (ctx->incs[i].timing && !pbx_timing_match(ctx->incs[i].timing, pbx_now()))
			continue; /* an include outside its time is not there */
		if (can_match_more(dp, ctx->incs[i].ctx, exten, depth + 1, v))
			return true;
	}
	return false;
}

bool dp_can_match_more(const struct dialplan *dp, const struct dp_ctx *ctx, const char *exten)
{
	struct dp_visit v;

	v.n = 0;
	return can_match_more(dp, ctx, exten, 0, &v);
}

bool dialplan_reads_sip_headers(const struct dialplan *dp)
{
	return dp && dp->reads_sip_headers;
}

bool dialplan_has_context(const struct dialplan *dp, const char *context)
{
	return dp_ctx_find(dp, context) != NULL;
}

const char *dialplan_global(const struct dialplan *dp, const char *name)
{
	return dp ? pbx_vars_get(&dp->globals, name) : NULL;
}

size_t dialplan_context_count(const struct dialplan *dp)
{
	return dp ? dp->nctx : 0;
}

/* ---- memory ---------------------------------------------------------------------------------- */

static void ext_free(struct dp_ext *e)
{
	for (size_t i = 0; i < e->nprios; i++) {
		free(e->prios[i].label);
		free(e->prios[i].args);
	}
	free(e->prios);
	free(e->hint);
	free(e->cid);
	if (e->key != e->name)
		free(e->key);
	free(e->name);
	free(e);
}

static void ctx_free(struct dp_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nexts; i++)
		ext_free(ctx->exts[i]);
	free(ctx->exts);
	free(ctx->cidexts);
	htab_reset(&ctx->exact);
	node_free(&ctx->root);
	for (size_t i = 0; i < ctx->nincs; i++) {
		free(ctx->incs[i].name);
		free(ctx->incs[i].spec);
		free(ctx->incs[i].timing);
	}
	free(ctx->incs);
	free(ctx->name);
	free(ctx);
}

static void dialplan_destroy(void *arg)
{
	struct dialplan *dp = arg;

	for (size_t i = 0; i < dp->nctx; i++)
		ctx_free(dp->ctxv[i]);
	free(dp->ctxv);
	htab_reset(&dp->ctxs);
	pbx_vars_clear(&dp->globals);
	for (size_t i = 0; i < dp->nfiles; i++)
		free(dp->files[i]);
	free(dp->files);
}

void dialplan_free(struct dialplan *dp)
{
	mem_deref(dp);
}

struct dialplan *dialplan_ref(struct dialplan *dp)
{
	return mem_ref(dp);
}

/* ---- loading --------------------------------------------------------------------------------- */

struct load {
	struct dialplan *dp;
	struct conf_diags *diags;
	unsigned errors;
	int err; /* ENOMEM */
	/* per section */
	struct dp_ctx *ctx;
	struct dp_ext *last_ext;
	unsigned lastpri;
	bool have_last;
};

static void PRINTF_LIKE(4, 5)
    ld_diag(struct load *ld, enum conf_severity sev, const struct conf_var *v, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sev == CONF_ERROR)
		ld->errors++;
	conf_diag_add(ld->diags, sev, v->origin.file, v->origin.line, "%s", msg);
}

static const char *intern_file(struct load *ld, const char *file)
{
	struct dialplan *dp = ld->dp;
	char **nf, *copy;

	if (!file)
		file = "?";
	for (size_t i = 0; i < dp->nfiles; i++) {
		if (!strcmp(dp->files[i], file))
			return dp->files[i];
	}
	nf = realloc(dp->files, (dp->nfiles + 1) * sizeof(*nf));
	if (!nf)
		goto nomem;
	dp->files = nf;
	copy = strdup(file);
	if (!copy)
		goto nomem;
	dp->files[dp->nfiles++] = copy;
	return copy;

nomem:
	ld->err = ENOMEM;
	return "?";
}

static char *dup_trim(const char *s, size_t n)
{
	struct pl pl = pl_from(s, n);

	pl_trim(&pl);
	return pl_strdup(&pl);
}

static struct dp_ctx *ctx_get(struct load *ld, const struct conf_section *sec)
{
	struct dialplan *dp = ld->dp;
	struct dp_ctx *ctx = (struct dp_ctx *)dp_ctx_find(dp, sec->name);

	if (ctx)
		return ctx;
	if (dp->nctx == dp->cap) {
		size_t cap = dp->cap ? dp->cap * 2 : 8;
		struct dp_ctx **nv = realloc(dp->ctxv, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		dp->ctxv = nv;
		dp->cap = cap;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	ctx->name = strdup(sec->name);
	if (!ctx->name || htab_init(&ctx->exact, 16)) {
		free(ctx->name);
		free(ctx);
		return NULL;
	}
	ctx->file = intern_file(ld, sec->origin.file);
	ctx->line = sec->origin.line;
	htab_add(&dp->ctxs, &ctx->he, hash_bytes(ctx->name, strlen(ctx->name)), ctx);
	dp->ctxv[dp->nctx++] = ctx;
	return ctx;
}

static int ctx_push_ext(struct dp_ctx *ctx, struct dp_ext *e)
{
	if (ctx->nexts == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 8;
		struct dp_ext **nv = realloc(ctx->exts, cap * sizeof(*nv));

		if (!nv)
			return ENOMEM;
		ctx->exts = nv;
		ctx->cap = cap;
	}
	ctx->exts[ctx->nexts++] = e;
	return 0;
}

/* exten => NAME/CID: the extension for callers whose number is CID (a number, or a _pattern),
 * created when new; kept out of the exact table and the trie, and looked at first. */
static struct dp_ext *cid_ext_get(struct load *ld, const struct conf_var *v, const char *name)
{
	const char *slash = strchr(name, '/');
	struct pat_el els[DP_EXTEN_MAX];
	char key[DP_EXTEN_MAX], cid[DP_EXTEN_MAX];
	struct dp_ctx *ctx = ld->ctx;
	struct dp_ext *e;
	size_t n, nl = (size_t)(slash - name);
	char *ext = strndup(name, nl);

	if (!ext) {
		ld->err = ENOMEM;
		return NULL;
	}
	if (!nl || !slash[1] || strchr(slash + 1, '/') ||
	    (ext[0] == '_' ? pat_compile(ext + 1, els, DP_EXTEN_MAX, &n) != 0
			   : exten_norm(ext, key, sizeof(key)) || !key[0]) ||
	    (slash[1] == '_' ? pat_compile(slash + 2, els, DP_EXTEN_MAX, &n) != 0
			     : exten_norm(slash + 1, cid, sizeof(cid)) || !cid[0])) {
		ld_diag(ld, CONF_ERROR, v, "invalid extension '%s' (NAME/CALLERID)", name);
		free(ext);
		return NULL;
	}
	if (slash[1] == '_')
		snprintf(cid, sizeof(cid), "%s", slash + 1);
	for (size_t i = 0; i < ctx->ncid; i++) {
		e = ctx->cidexts[i];
		if (!strcmp(e->name, ext) && !strcmp(e->cid, cid)) {
			free(ext);
			return e;
		}
	}
	if (ctx->ncid == ctx->cidcap) {
		size_t cap = ctx->cidcap ? ctx->cidcap * 2 : 4;
		struct dp_ext **nv = realloc(ctx->cidexts, cap * sizeof(*nv));

		if (!nv)
			goto nomem;
		ctx->cidexts = nv;
		ctx->cidcap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	e->name = ext;
	e->pattern = ext[0] == '_';
	e->key = e->pattern ? NULL : strdup(key);
	e->cid = strdup(cid);
	if ((!e->pattern && !e->key) || !e->cid || ctx_push_ext(ctx, e)) {
		free(e->key);
		free(e->cid);
		free(e);
		ld->err = ENOMEM;
		return NULL;
	}
	e->file = intern_file(ld, v->origin.file);
	e->line = v->origin.line;
	ctx->cidexts[ctx->ncid++] = e;
	return e;

nomem:
	free(ext);
	ld->err = ENOMEM;
	return NULL;
}

/* The extension named `name` in the context, created when new; NULL with a diagnostic. */
static struct dp_ext *ext_get(struct load *ld, const struct conf_var *v, const char *name)
{
	struct pat_el els[DP_EXTEN_MAX];
	struct dp_ctx *ctx = ld->ctx;
	char key[DP_EXTEN_MAX];
	struct dp_ext *e = NULL;
	struct dp_node *node = NULL;
	size_t n;
	int err;

	if (!*name) {
		ld_diag(ld, CONF_ERROR, v, "empty extension");
		return NULL;
	}
	if (strchr(name, '/'))
		return cid_ext_get(ld, v, name);
	if (name[0] == '_') {
		err = pat_compile(name + 1, els, DP_EXTEN_MAX, &n);
		if (err) {
			ld_diag(ld, CONF_ERROR, v, "invalid pattern '%s'%s", name,
				err == E2BIG ? ": too long" : "");
			return NULL;
		}
		err = trie_insert(&ctx->root, els, n, &node);
		if (err) {
			ld->err = err;
			return NULL;
		}
		if (node->term)
			return node->term;
	} else {
		if (exten_norm(name, key, sizeof(key)) || !key[0]) {
			ld_diag(ld, CONF_ERROR, v, "invalid extension '%s'", name);
			return NULL;
		}
		e = exact_find(ctx, key, strlen(key));
		if (e)
			return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	e->name = strdup(name);
	e->pattern = name[0] == '_';
	/* The key is usually the name itself (no '-' or ' ' to strip): share it. */
	if (!e->pattern)
		e->key = e->name && !strcmp(name, key) ? e->name : strdup(key);
	if (!e->name || (!e->pattern && !e->key) || ctx_push_ext(ctx, e))
		goto nomem;
	e->file = intern_file(ld, v->origin.file);
	e->line = v->origin.line;
	if (e->pattern)
		node->term = e;
	else
		htab_add(&ctx->exact, &e->he, hash_bytes(key, strlen(key)), e);
	return e;

nomem:
	if (e) {
		if (e->key != e->name)
			free(e->key);
		free(e->name);
		free(e);
	}
	ld->err = ENOMEM;
	return NULL;
}

static bool parse_uint(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > max)
			return false;
	}
	*out = (unsigned)v;
	return true;
}

#define DP_PRIO_MAX 1000000000u

/* "1", "n", "next", "s", "same", each optionally "+N", then optionally "(label)"; or "hint". */
static int parse_prio(struct load *ld, const struct conf_var *v, const char *s, size_t n,
		      unsigned *priop, char **labelp, bool *hintp)
{
	struct pl pl = pl_from(s, n), base;
	const char *open, *plus;
	unsigned prio = 0, add = 0;

	pl_trim(&pl);
	*labelp = NULL;
	*hintp = false;
	open = pl_chr(&pl, '(');
	if (open) {
		struct pl lab = pl_from(open + 1, (size_t)(pl.p + pl.l - open - 1));

		if (!lab.l || lab.p[lab.l - 1] != ')') {
			ld_diag(ld, CONF_ERROR, v, "invalid priority label '%.*s'", PL_ARG(pl));
			return EINVAL;
		}
		lab.l--;
		pl_trim(&lab);
		if (!lab.l) {
			ld_diag(ld, CONF_ERROR, v, "empty priority label");
			return EINVAL;
		}
		*labelp = pl_strdup(&lab);
		if (!*labelp)
			return ENOMEM;
		pl.l = (size_t)(open - pl.p);
		pl_trim(&pl);
	}
	base = pl;
	plus = pl_chr(&pl, '+');
	if (plus) {
		base.l = (size_t)(plus - pl.p);
		if (!parse_uint(plus + 1, (size_t)(pl.p + pl.l - plus - 1), DP_PRIO_MAX, &add))
			goto bad;
	}
	if (pl_caseeq_str(&base, "hint") && !plus) {
		*hintp = true;
		return 0;
	}
	if (pl_eq_str(&base, "n") || pl_eq_str(&base, "next") || pl_eq_str(&base, "s") ||
	    pl_eq_str(&base, "same")) {
		if (!ld->have_last) {
			ld_diag(ld, CONF_ERROR, v, "priority '%.*s' with no previous priority",
				PL_ARG(base));
			goto fail;
		}
		prio = ld->lastpri + (base.p[0] == 'n' ? 1 : 0);
	} else if (!parse_uint(base.p, base.l, DP_PRIO_MAX, &prio)) {
		goto bad;
	}
	prio += add;
	if (prio < 1 || prio > DP_PRIO_MAX)
		goto bad;
	*priop = prio;
	return 0;

bad:
	ld_diag(ld, CONF_ERROR, v, "invalid priority '%.*s'", PL_ARG(pl));
fail:
	free(*labelp);
	*labelp = NULL;
	return EINVAL;
}

static int ext_add_prio(struct load *ld, const struct conf_var *v, struct dp_ext *e, unsigned prio,
			char *label, enum pbx_app app, const char *args, size_t argslen)
{
	size_t pos = 0;
	struct dp_prio *p;
	char *copy = NULL;

	while (pos < e->nprios && e->prios[pos].prio < prio)
		pos++;
	if (pos < e->nprios && e->prios[pos].prio == prio) {
		ld_diag(ld, CONF_WARNING, v,
			"priority %u of extension '%s' already defined at %s:%u; line ignored",
			prio, e->name, e->prios[pos].file, e->prios[pos].line);
		free(label);
		return 0;
	}
	if (label) {
		for (size_t i = 0; i < e->nprios; i++) {
			if (e->prios[i].label && !strcmp(e->prios[i].label, label)) {
				ld_diag(ld, CONF_WARNING, v,
					"label '%s' of extension '%s' already used at %s:%u", label,
					e->name, e->prios[i].file, e->prios[i].line);
				break;
			}
		}
	}
	copy = malloc(argslen + 1);
	if (!copy)
		goto nomem;
	memcpy(copy, args, argslen);
	copy[argslen] = '\0';
	/* ${SIP_HEADER()} and ${PJSIP_HEADER(read,...)} read the caller's INVITE: calls keep it
	 * only when the dialplan may ask (call.c); Set(PJSIP_HEADER(add,...)) does not need it. */
	if (strcasestr(copy, "{SIP_HEADER(") || strcasestr(copy, "{PJSIP_HEADER("))
		ld->dp->reads_sip_headers = true;
	if (e->nprios == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 1;
		struct dp_prio *np = realloc(e->prios, cap * sizeof(*np));

		if (!np)
			goto nomem;
		e->prios = np;
		e->cap = cap;
	}
	p = &e->prios[pos];
	memmove(p + 1, p, (e->nprios - pos) * sizeof(*p));
	e->nprios++;
	memset(p, 0, sizeof(*p));
	p->prio = prio;
	p->app = app;
	p->label = label;
	p->args = copy;
	p->file = intern_file(ld, v->origin.file);
	p->line = v->origin.line;
	return 0;

nomem:
	free(copy);
	free(label);
	ld->err = ENOMEM;
	return ENOMEM;
}

/* The first ',' outside [...] (patterns may hold sets), or NULL. */
static const char *next_comma(const char *start)
{
	const char *s = start;
	int br = 0;

	for (; *s; s++) {
		if (*s == '[')
			br++;
		else if (*s == ']' && br)
			br--;
		else if (*s == ',' && !br)
			return s;
	}
	/* An unclosed '[': the first comma, so the pattern gets the blame. */
	return strchr(start, ',');
}

/* Whether a hint device's technology is one we know the state of (PJSIP is chan_pjsip's name
 * for the same phones). */
bool dialplan_hint_tech_ok(const char *dev, size_t len)
{
	const char *sl = memchr(dev, '/', len);
	size_t tl = sl ? (size_t)(sl - dev) : 0;

	if (len > 7 && !strncasecmp(dev, "Custom:", 7))
		return true; /* a custom device state (DEVICE_STATE(), `devstate change`) */
	if (!sl || sl + 1 >= dev + len)
		return false;
	return (tl == 3 && !strncasecmp(dev, "SIP", 3)) || (tl == 5 && !strncasecmp(dev, "PJSIP", 5));
}

/* exten => NAME,hint,DEV[&DEV...][,presence provider]: the devices of a busy lamp (BLF). */
static void load_hint(struct load *ld, const struct conf_var *v, struct dp_ext *e,
		      const char *devs)
{
	const char *end = strchr(devs, ','), *p;
	struct pl all;

	if (!e)
		return;
	if (e->pattern) {
		ld_diag(ld, CONF_WARNING, v, "hints on patterns are not supported; line ignored");
		return;
	}
	all = pl_from(devs, end ? (size_t)(end - devs) : strlen(devs));
	pl_trim(&all);
	if (end)
		ld_diag(ld, CONF_WARNING, v, "hint presence provider '%s' is not supported; ignored",
			end + 1);
	if (!all.l) {
		ld_diag(ld, CONF_WARNING, v, "hint with no device; line ignored");
		return;
	}
	for (p = all.p; p < all.p + all.l;) {
		const char *amp = memchr(p, '&', (size_t)(all.p + all.l - p));
		struct pl dev = pl_from(p, amp ? (size_t)(amp - p) : (size_t)(all.p + all.l - p));

		pl_trim(&dev);
		if (!dialplan_hint_tech_ok(dev.p, dev.l))
			ld_diag(ld, CONF_WARNING, v,
				"hint device '%.*s': only SIP/NAME (or PJSIP/NAME) and Custom:NAME "
				"devices have a state; it counts as unavailable",
				PL_ARG(dev));
		p = amp ? amp + 1 : all.p + all.l;
	}
	if (e->hint)
		ld_diag(ld, CONF_WARNING, v, "extension %s already has a hint (%s:%u); replaced",
			e->name, e->hint_file, e->hint_line);
	free(e->hint);
	e->hint = pl_strdup(&all);
	if (!e->hint) {
		ld->err = ENOMEM;
		return;
	}
	e->hint_file = intern_file(ld, v->origin.file);
	e->hint_line = v->origin.line;
}

/* The first `c` in s[0..n) outside ${...}, $[...] and (with parens) (...), or NULL. */
const char *pbx_find_top(const char *s, size_t n, char c, bool parens)
{
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '$' && i + 1 < n && (s[i + 1] == '{' || s[i + 1] == '[')) {
			depth++;
			i++;
		} else if ((s[i] == '(' && parens) ||
			   ((s[i] == '{' || s[i] == '[') && depth)) {
			depth++;
		} else if ((s[i] == '}' || s[i] == ']' || (s[i] == ')' && parens)) && depth) {
			depth--;
		} else if (s[i] == c && !depth) {
			return s + i;
		}
	}
	return NULL;
}

/* A literal time specification (no ${...}) of a time condition: an error naming the line when
 * it does not parse. */
static void check_spec_literal(struct load *ld, const struct conf_var *v, const char *what,
			       const char *spec, size_t n)
{
	struct pbx_timing t;
	char why[160];
	int err;

	if (memchr(spec, '$', n))
		return;
	err = pbx_timing_parse(&t, spec, n, why, sizeof(why));
	if (err == ENOMEM)
		ld->err = ENOMEM;
	else if (err)
		ld_diag(ld, CONF_ERROR, v, "%s: bad time specification '%.*s': %s", what,
			(int)MIN(n, 128), spec, why);
}

/* ExecIf/ExecIfTime's application app(args) (or the older app,args): unknown literal names
 * are errors as on a line of their own. */
static void check_inner_app(struct load *ld, const struct conf_var *v, const char *what,
			    const char *s, size_t n)
{
	struct pl a = pl_from(s, n);
	const char *end;
	enum pbx_app id;

	pl_trim(&a);
	end = a.p;
	while (end < a.p + a.l && *end != '(' && *end != ',')
		end++;
	a.l = (size_t)(end - a.p);
	pl_trim(&a);
	if (!a.l) {
		ld_diag(ld, CONF_ERROR, v, "%s: missing application", what);
		return;
	}
	if (memchr(a.p, '$', a.l))
		return;
	if (pbx_app_lookup(a.p, a.l, &id))
		ld_diag(ld, CONF_ERROR, v, "%s: unknown application '%.*s'", what, PL_ARG(a));
}

/* What can be checked of the conditional applications and IFTIME() while loading. */
static void check_conditionals(struct load *ld, const struct conf_var *v, enum pbx_app id,
			       const char *args, size_t n)
{
	const char *name = pbx_app_name(id), *q;

	switch (id) {
	case PBX_APP_GOTOIFTIME:
	case PBX_APP_EXECIFTIME:
		q = memchr(args, '?', n);
		if (!q) {
			ld_diag(ld, CONF_ERROR, v,
				"%s: expected 'times,weekdays,mdays,months[,timezone]?%s'", name,
				id == PBX_APP_GOTOIFTIME ? "labeliftrue[:labeliffalse]"
							 : "app(args)");
			return;
		}
		check_spec_literal(ld, v, name, args, (size_t)(q - args));
		if (id == PBX_APP_EXECIFTIME)
			check_inner_app(ld, v, name, q + 1, n - (size_t)(q + 1 - args));
		break;
	case PBX_APP_EXECIF:
	case PBX_APP_GOSUBIF:
		q = pbx_find_top(args, n, '?', false);
		if (!q) {
			ld_diag(ld, CONF_ERROR, v, "%s: expected 'condition?%s'", name,
				id == PBX_APP_EXECIF ? "app(args)[:app(args)]"
						     : "labeliftrue[(args)][:labeliffalse[(args)]]");
			return;
		}
		if (id == PBX_APP_EXECIF) {
			const char *t = q + 1, *e = args + n;
			const char *c = pbx_find_top(t, (size_t)(e - t), ':', true);

			check_inner_app(ld, v, name, t, (size_t)((c ? c : e) - t));
			if (c && c + 1 < e)
				check_inner_app(ld, v, name, c + 1, (size_t)(e - c - 1));
		}
		break;
	default:
		break;
	}
	/* ${IFTIME(spec?a:b)} anywhere in the arguments. */
	for (const char *p = args; (p = strcasestr(p, "IFTIME(")) && p < args + n; p += 7) {
		const char *sp = p + 7, *e;

		if (sp > args + n)
			break;
		e = memchr(sp, '?', n - (size_t)(sp - args));
		if (p > args && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		if (!e) {
			ld_diag(ld, CONF_ERROR, v, "IFTIME: expected 'IFTIME(times,weekdays,mdays,"
						   "months[,timezone]?true[:false])'");
			continue;
		}
		check_spec_literal(ld, v, "IFTIME", sp, (size_t)(e - sp));
	}
}

/* PRIO,App(args) for the extension e (exten => EXT,... and same => ...). */
static void load_prio_line(struct load *ld, const struct conf_var *v, struct dp_ext *e,
			   const char *rest)
{
	const char *c = strchr(rest, ','), *app, *open, *comma, *args = "";
	size_t applen, argslen = 0;
	enum pbx_app id;
	char *label = NULL;
	unsigned prio;
	bool hint;

	if (!c) {
		ld_diag(ld, CONF_ERROR, v, "expected 'EXTEN,PRIORITY,Application(args)'");
		return;
	}
	if (parse_prio(ld, v, rest, (size_t)(c - rest), &prio, &label, &hint))
		return;
	if (hint) {
		load_hint(ld, v, e, c + 1);
		return;
	}
	ld->lastpri = prio;
	ld->have_last = true;
	if (!e) {
		free(label);
		return;
	}

	app = c + 1;
	while (*app == ' ' || *app == '\t')
		app++;
	open = strchr(app, '(');
	comma = strchr(app, ',');
	if (open && (!comma || open < comma)) {
		const char *close = strrchr(open, ')');

		applen = (size_t)(open - app);
		args = open + 1;
		if (close) {
			argslen = (size_t)(close - args);
		} else {
			ld_diag(ld, CONF_WARNING, v, "no closing parenthesis; taking the rest");
			argslen = strlen(args);
		}
	} else if (comma) {
		/* The old App,args form. */
		applen = (size_t)(comma - app);
		args = comma + 1;
		argslen = strlen(args);
	} else {
		applen = strlen(app);
	}
	while (applen && (app[applen - 1] == ' ' || app[applen - 1] == '\t'))
		applen--;
	if (!applen) {
		ld_diag(ld, CONF_ERROR, v, "missing application");
		free(label);
		return;
	}
	if (pbx_app_lookup(app, applen, &id)) {
		ld_diag(ld, CONF_ERROR, v, "unknown application '%.*s'", (int)applen, app);
		free(label);
		return;
	}
	check_conditionals(ld, v, id, args, argslen);
	ext_add_prio(ld, v, e, prio, label, id, args, argslen);
}

static void load_exten(struct load *ld, const struct conf_var *v)
{
	const char *c = next_comma(v->value);
	struct dp_ext *e;
	char *name;

	if (!c) {
		ld_diag(ld, CONF_ERROR, v, "expected 'EXTEN,PRIORITY,Application(args)'");
		return;
	}
	name = dup_trim(v->value, (size_t)(c - v->value));
	if (!name) {
		ld->err = ENOMEM;
		return;
	}
	e = ext_get(ld, v, name);
	free(name);
	ld->last_ext = e;
	load_prio_line(ld, v, e, c + 1);
}

/* include => ctx, or the time-restricted include => ctx,times,weekdays,mdays,months[,timezone]
 * ('|' works in place of ',', as in older Asterisk files). */
static void load_include(struct load *ld, const struct conf_var *v)
{
	struct dp_ctx *ctx = ld->ctx;
	struct dp_include *inc;
	const char *sep = strpbrk(v->value, ",|");
	struct pbx_timing *timing = NULL;
	char *name, *spec = NULL;

	name = dup_trim(v->value, sep ? (size_t)(sep - v->value) : strlen(v->value));
	if (!name) {
		ld->err = ENOMEM;
		return;
	}
	if (!*name) {
		ld_diag(ld, CONF_ERROR, v, "include => needs a context name");
		free(name);
		return;
	}
	if (sep) {
		char why[160];
		int err;

		spec = dup_trim(sep + 1, strlen(sep + 1));
		timing = malloc(sizeof(*timing));
		if (!spec || !timing) {
			ld->err = ENOMEM;
			goto fail;
		}
		err = pbx_timing_parse(timing, spec, strlen(spec), why, sizeof(why));
		if (err == ENOMEM) {
			ld->err = ENOMEM;
			goto fail;
		}
		if (err) {
			ld_diag(ld, CONF_ERROR, v, "include => %s: bad time specification '%s': %s",
				name, spec, why);
			goto fail;
		}
	}
	if (ctx->nincs == ctx->incap) {
		size_t cap = ctx->incap ? ctx->incap * 2 : 4;
		struct dp_include *ni = realloc(ctx->incs, cap * sizeof(*ni));

		if (!ni) {
			ld->err = ENOMEM;
			goto fail;
		}
		ctx->incs = ni;
		ctx->incap = cap;
	}
	inc = &ctx->incs[ctx->nincs++];
	inc->name = name;
	inc->ctx = NULL;
	inc->spec = spec;
	inc->timing = timing;
	inc->file = intern_file(ld, v->origin.file);
	inc->line = v->origin.line;
	return;

fail:
	free(name);
	free(spec);
	free(timing);
}

static void load_context(struct load *ld, const struct conf_section *sec)
{
	ld->ctx = ctx_get(ld, sec);
	ld->last_ext = NULL;
	ld->have_last = false;
	ld->lastpri = 0;
	if (!ld->ctx) {
		ld->err = ENOMEM;
		return;
	}
	for (const struct conf_var *v = sec->vars; v && !ld->err; v = v->next) {
		if (!strcasecmp(v->name, "exten")) {
			load_exten(ld, v);
		} else if (!strcasecmp(v->name, "same")) {
			if (!ld->last_ext) {
				ld_diag(ld, CONF_ERROR, v,
					"'same =>' with no 'exten =>' before it");
				continue;
			}
			load_prio_line(ld, v, ld->last_ext, v->value);
		} else if (!strcasecmp(v->name, "include")) {
			load_include(ld, v);
		} else if (!strcasecmp(v->name, "ignorepat")) {
			ld_diag(ld, CONF_WARNING, v, "ignorepat is not supported; line ignored");
		} else if (!strcasecmp(v->name, "switch") || !strcasecmp(v->name, "lswitch") ||
			   !strcasecmp(v->name, "eswitch")) {
			ld_diag(ld, CONF_ERROR, v, "%s => is not supported", v->name);
		} else {
			ld_diag(ld, CONF_ERROR, v, "unknown key '%s' in context '%s'", v->name,
				sec->name);
		}
	}
}

static void load_general(struct load *ld, const struct conf_section *sec)
{
	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		/* static/writeprotect concern `dialplan save`, which never rewrites our files;
		 * globals are always rebuilt on reload. */
		if (!strcasecmp(v->name, "static") || !strcasecmp(v->name, "writeprotect") ||
		    !strcasecmp(v->name, "clearglobalvars"))
			continue;
		if (!strcasecmp(v->name, "autofallthrough") &&
		    (!strcasecmp(v->value, "yes") || !strcasecmp(v->value, "true")))
			continue;
		ld_diag(ld, CONF_WARNING, v, "'%s' in [general] is not implemented; ignored",
			v->name);
	}
}

static void load_globals(struct load *ld, const struct conf_section *sec)
{
	struct mbuf mb;

	mbuf_init(&mb);
	for (const struct conf_var *v = sec->vars; v && !ld->err; v = v->next) {
		struct pbx_env env = {NULL, &ld->dp->globals, 0};

		mb.end = 0;
		if (pbx_subst(&env, v->value, strlen(v->value), &mb) ||
		    pbx_vars_setn(&ld->dp->globals, v->name, strlen(v->name),
				  mb.buf ? (const char *)mb.buf : "", mb.end))
			ld->err = ENOMEM;
	}
	mbuf_reset(&mb);
}

static int cid_ext_cmp(const void *a, const void *b)
{
	const struct dp_ext *x = *(const struct dp_ext *const *)a;
	const struct dp_ext *y = *(const struct dp_ext *const *)b;
	int c = dp_ext_cmp(x->name, y->name);

	if (c)
		return c;
	if ((x->cid[0] == '_') != (y->cid[0] == '_'))
		return x->cid[0] == '_' ? 1 : -1;
	return x->cid[0] == '_' ? dp_ext_cmp(x->cid, y->cid) : strcmp(x->cid, y->cid);
}

static int ext_key_cmp(const void *a, const void *b)
{
	const struct dp_ext *x = *(const struct dp_ext *const *)a;
	const struct dp_ext *y = *(const struct dp_ext *const *)b;

	return strcmp(x->key, y->key);
}

/* Resolves includes and puts the extensions in Asterisk's order. */
static void ctx_finish(struct load *ld, struct dp_ctx *ctx)
{
	size_t nexact = 0, npat = 0;

	for (size_t i = 0; i < ctx->nincs; i++) {
		struct dp_include *inc = &ctx->incs[i];

		inc->ctx = (struct dp_ctx *)dp_ctx_find(ld->dp, inc->name);
		if (!inc->ctx)
			conf_diag_add(ld->diags, CONF_WARNING, inc->file, inc->line,
				      "context '%s' includes '%s', which does not exist", ctx->name,
				      inc->name);
	}
	for (size_t i = 0; i < ctx->nexts; i++) {
		if (!ctx->exts[i]->pattern && !ctx->exts[i]->cid)
			ctx->exts[nexact++] = ctx->exts[i];
	}
	if (nexact > 1)
		qsort(ctx->exts, nexact, sizeof(*ctx->exts), ext_key_cmp);
	npat = nexact;
	trie_finish(&ctx->root, ctx->exts, &npat);
	/* Those with a caller ID last (and, for matching, in Asterisk's order of their names, a
	 * literal caller ID before a pattern). */
	if (ctx->ncid > 1)
		qsort(ctx->cidexts, ctx->ncid, sizeof(*ctx->cidexts), cid_ext_cmp);
	for (size_t i = 0; i < ctx->ncid; i++)
		ctx->exts[npat++] = ctx->cidexts[i];
}

int dialplan_load(struct dialplan **dpp, const struct conf *extensions,
		  const struct pbx_vars *globals, struct conf_diags *diags)
{
	return dialplan_load_builtin(dpp, extensions, NULL, globals, diags);
}

int dialplan_load_builtin(struct dialplan **dpp, const struct conf *extensions,
			  const struct conf *builtin, const struct pbx_vars *globals,
			  struct conf_diags *diags)
{
	struct load ld = {0};
	struct dialplan *dp;

	if (!dpp || !extensions)
		return EINVAL;
	dp = mem_zalloc(sizeof(*dp), dialplan_destroy);
	if (!dp)
		return ENOMEM;
	if (htab_init(&dp->ctxs, 16)) {
		mem_deref(dp);
		return ENOMEM;
	}
	ld.dp = dp;
	ld.diags = diags;
	for (size_t i = 0; globals && i < globals->n && !ld.err; i++) {
		if (pbx_vars_set(&dp->globals, globals->v[i].name, globals->v[i].value))
			ld.err = ENOMEM;
	}
	for (const struct conf_section *s = conf_sections(extensions); s && !ld.err; s = s->next) {
		if (s->is_template)
			continue;
		if (!strcmp(s->name, "general"))
			load_general(&ld, s);
		else if (!strcmp(s->name, "globals"))
			load_globals(&ld, s);
		else
			load_context(&ld, s);
	}
	for (const struct conf_section *s = conf_sections(builtin); s && !ld.err; s = s->next) {
		if (dp_ctx_find(dp, s->name))
			continue; /* the user's own context of that name wins */
		load_context(&ld, s);
		if (ld.ctx)
			ld.ctx->builtin = true;
	}
	for (size_t i = 0; i < dp->nctx && !ld.err; i++)
		ctx_finish(&ld, dp->ctxv[i]);
	if (ld.err || ld.errors) {
		mem_deref(dp);
		return ld.err ? ld.err : EINVAL;
	}
	*dpp = dp;
	return 0;
}

/* ---- dialplan show --------------------------------------------------------------------------- */

struct show {
	struct mbuf *out;
	const char *exten; /* filter, or NULL */
	unsigned nexten, nprio, nctx;
	const struct dp_ctx *seen[DP_INCLUDE_MAX];
	size_t nseen;
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void show_prio(struct show *sh, const char *col1, const struct dp_prio *p)
{
	struct mbuf tmp;

	mbuf_init(&tmp);
	mbuf_printf(&tmp, "%u. %s(%s)", p->prio, pbx_app_name(p->app), p->args);
	mbuf_printf(sh->out, "  %-17s %-45.*s [%s:%u]\n", col1, (int)tmp.end,
		    tmp.buf ? (const char *)tmp.buf : "", base_name(p->file), p->line);
	mbuf_reset(&tmp);
}

static bool show_ext_wanted(const struct show *sh, const struct dp_ext *e)
{
	return !sh->exten || !strcmp(e->name, sh->exten) || dp_ext_match(e->name, sh->exten);
}

/* Whether ctx (or, with a filter, a context it includes) has something to show. */
static bool show_has_match_v(const struct show *sh, const struct dp_ctx *ctx, unsigned depth,
			     struct dp_visit *v)
{
	if (depth > 16 || !dp_visit_first(v, ctx))
		return false;
	for (size_t i = 0; i < ctx->nexts; i++) {
		if (show_ext_wanted(sh, ctx->exts[i]))
			return true;
	}
	if (!sh->exten)
		return false;
	for (size_t i = 0; i < ctx->nincs; i++) {
		if (ctx->incs[i].ctx && show_has_match_v(sh, ctx->incs[i].ctx, depth + 1, v))
			return true;
	}
	return false;
}

static bool show_has_match(const struct show *sh, const struct dp_ctx *ctx, unsigned depth)
{
	struct dp_visit v;

	v.n = 0;
	return show_has_match_v(sh, ctx, depth, &v);
}

static void show_ctx(struct show *sh, const struct dp_ctx *ctx, bool included)
{
	for (size_t i = 0; i < sh->nseen; i++) {
		if (sh->seen[i] == ctx)
			return;
	}
	if (sh->nseen == DP_INCLUDE_MAX)
		return;
	sh->seen[sh->nseen++] = ctx;
	if (sh->exten && !show_has_match(sh, ctx, 0))
		return;

	mbuf_printf(sh->out, "[ %s '%s' created by 'pbx_config' ]\n",
		    included ? "Included context" : "Context", ctx->name);
	sh->nctx++;
	for (size_t i = 0; i < ctx->nexts; i++) {
		const struct dp_ext *e = ctx->exts[i];
		char col1[300];

		if (!show_ext_wanted(sh, e) || (!e->nprios && !e->hint))
			continue;
		sh->nexten++;
		if (e->cid)
			snprintf(col1, sizeof(col1), "'%s/%s' =>", e->name, e->cid);
		else
			snprintf(col1, sizeof(col1), "'%s' =>", e->name);
		if (e->hint) { /* Asterisk shows the hint as the extension's first line */
			char h[300];

			snprintf(h, sizeof(h), "hint: %s", e->hint);
			mbuf_printf(sh->out, "  %-17s %-45s [%s:%u]\n", col1, h,
				    base_name(e->hint_file), e->hint_line);
		}
		for (size_t k = 0; k < e->nprios; k++) {
			const struct dp_prio *p = &e->prios[k];
			char lab[300] = "";

			if (k && p->label)
				snprintf(lab, sizeof(lab), "   [%s]", p->label);
			show_prio(sh, k || e->hint ? lab : col1, p);
			sh->nprio++;
		}
	}
	for (size_t i = 0; i < ctx->nincs; i++) {
		char q[300];

		if (ctx->incs[i].spec) /* Asterisk shows the include as written */
			snprintf(q, sizeof(q), "'%s,%s'", ctx->incs[i].name, ctx->incs[i].spec);
		else
			snprintf(q, sizeof(q), "'%s'", ctx->incs[i].name);
		mbuf_printf(sh->out, "  Include =>        %-45s [pbx_config]\n", q);
	}
	mbuf_write_str(sh->out, "\n");
	if (!sh->exten)
		return;
	for (size_t i = 0; i < ctx->nincs; i++) {
		if (ctx->incs[i].ctx)
			show_ctx(sh, ctx->incs[i].ctx, true);
	}
}

int dialplan_show(const struct dialplan *dp, const char *arg, struct mbuf *out)
{
	struct show sh = {0};
	const char *at = arg ? strrchr(arg, '@') : NULL;
	char *exten = NULL;
	const char *cname = arg;
	int err = 0;

	if (!dp || !out)
		return EINVAL;
	sh.out = out;
	if (at) {
		exten = strndup(arg, (size_t)(at - arg));
		if (!exten)
			return ENOMEM;
		sh.exten = *exten ? exten : NULL; /* "@ctx" is the whole context */
		cname = at + 1;
	}
	if (cname && *cname) {
		const struct dp_ctx *ctx = dp_ctx_find(dp, cname);

		if (!ctx) {
			mbuf_printf(out, "There is no existence of '%s' context\n", cname);
			err = ENOENT;
			goto out;
		}
		show_ctx(&sh, ctx, false);
	} else {
		for (size_t i = 0; i < dp->nctx; i++) {
			sh.nseen = 0;
			show_ctx(&sh, dp->ctxv[i], false);
		}
	}
	if (sh.exten && !sh.nexten) {
		mbuf_printf(out, "There is no existence of %s@%s extension\n", sh.exten,
			    cname && *cname ? cname : "");
		err = ENOENT;
		goto out;
	}
	mbuf_printf(out, "-= %u %s (%u %s) in %u %s. =-\n", sh.nexten,
		    sh.nexten == 1 ? "extension" : "extensions", sh.nprio,
		    sh.nprio == 1 ? "priority" : "priorities", sh.nctx,
		    sh.nctx == 1 ? "context" : "contexts");
out:
	free(exten);
	return err;
}

/* ---- mikakad -t ------------------------------------------------------------------------------ */

struct check {
	const struct dialplan *dp;
	struct conf_diags *diags;
	unsigned errors;
	bool *reach; /* per context index, for the reachability walk */
};

static size_t ctx_index(const struct dialplan *dp, const struct dp_ctx *ctx)
{
	for (size_t i = 0; i < dp->nctx; i++) {
		if (dp->ctxv[i] == ctx)
			return i;
	}
	return SIZE_MAX;
}

static bool is_literal(const char *s, size_t n)
{
	return !memchr(s, '$', n);
}

/* Splits "a,b,c" (at most 3 fields) trimmed into pl parts; returns the count, 0 when more. */
static size_t split3(const char *s, size_t n, struct pl *parts)
{
	size_t k = 0, start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == ',') {
			if (k == 3)
				return 0;
			parts[k] = pl_from(s + start, i - start);
			pl_trim(&parts[k]);
			k++;
			start = i + 1;
		}
	}
	return k;
}

/* A literal [[context,]exten,]priority target of the priority p in extension e of ctx; errors
 * for missing ones; marks a named context reachable. */
static void check_target(struct check *ck, const struct dp_ctx *ctx, const struct dp_ext *e,
			 const struct dp_prio *p, const char *what, const char *s, size_t n)
{
	struct pl parts[3], pc = PL_INIT, pe = PL_INIT, pp;
	char cname[256], ename[DP_EXTEN_MAX], pname[256];
	const struct dp_ctx *tctx = ctx;
	struct dp_want w = {0, NULL};
	size_t k = split3(s, n, parts);
	unsigned prio;

	if (!k) {
		conf_diag_add(ck->diags, CONF_ERROR, p->file, p->line,
			      "%s: too many fields in target '%.*s'", what, (int)n, s);
		ck->errors++;
		return;
	}
	pp = parts[k - 1];
	if (k == 3) {
		pc = parts[0];
		pe = parts[1];
	} else if (k == 2) {
		pe = parts[0];
	}
	if (pl_strcpy(&pp, pname, sizeof(pname)) || pl_strcpy(&pc, cname, sizeof(cname)) ||
	    pl_strcpy(&pe, ename, sizeof(ename)))
		return;
	if (!pp.l) {
		conf_diag_add(ck->diags, CONF_ERROR, p->file, p->line,
			      "%s: empty priority in '%.*s'", what, (int)n, s);
		ck->errors++;
		return;
	}
	if (pc.l) {
		tctx = dp_ctx_find(ck->dp, cname);
		if (!tctx) {
			conf_diag_add(ck->diags, CONF_ERROR, p->file, p->line,
				      "%s: context '%s' does not exist", what, cname);
			ck->errors++;
			return;
		}
		if (ck->reach)
			ck->reach[ctx_index(ck->dp, tctx)] = true;
	}
	if (parse_uint(pp.p, pp.l, DP_PRIO_MAX, &prio))
		w.prio = prio;
	else
		w.label = pname;
	if (!pe.l) {
		if (!ext_prio(e, &w)) {
			conf_diag_add(ck->diags, CONF_ERROR, p->file, p->line,
				      "%s: priority '%s' does not exist in extension '%s'", what,
				      pname, e->name);
			ck->errors++;
		}
		return;
	}
	if (!dp_find_any_time(ck->dp, tctx, ename, &w, NULL)) {
		conf_diag_add(ck->diags, CONF_ERROR, p->file, p->line,
			      "%s: target %s,%s,%s does not exist", what, tctx->name, ename, pname);
		ck->errors++;
	}
}

static const char *dial_known_opts = "tTrmgHhLSwWkKfFiIoUuAdDeGcnNpPCxXzM";

static void check_dial(struct check *ck, const struct dp_prio *p)
{
	const char *s = p->args, *end = strchr(s, ','), *opts;
	size_t n = end ? (size_t)(end - s) : strlen(s);

	while (n) {
		const char *amp = memchr(s, '&', n);
		size_t tl = amp ? (size_t)(amp - s) : n;
		const char *slash = memchr(s, '/', tl);
		struct pl tech = pl_from(s, slash ? (size_t)(slash - s) : tl);

		pl_trim(&tech);
		if (is_literal(tech.p, tech.l) && !pl_caseeq_str(&tech, "SIP")) {
			conf_diag_add(ck->diags, CONF_ERROR, p->file, p->line,
				      "Dial: unknown channel technology '%.*s'", PL_ARG(tech));
			ck->errors++;
		} else if (is_literal(s, tl) && (!slash || slash + 1 == s + tl)) {
			conf_diag_add(ck->diags, CONF_ERROR, p->file, p->line,
				      "Dial: target '%.*s' names no peer", (int)tl, s);
			ck->errors++;
		}
		if (!amp)
			break;
		n -= tl + 1;
		s = amp + 1;
	}
	if (!end)
		return;
	opts = strchr(end + 1, ',');
	if (!opts || !is_literal(opts, strlen(opts)))
		return;
	for (const char *o = opts + 1; *o && *o != ','; o++) {
		if (*o == '(') {
			const char *close = strchr(o, ')');

			if (!close)
				break;
			o = close;
			continue;
		}
		if (!strchr(dial_known_opts, *o)) {
			conf_diag_add(ck->diags, CONF_WARNING, p->file, p->line,
				      "Dial: unknown option '%c'", *o);
		} else if (!strchr("tTrmSLDgF", *o)) {
			conf_diag_add(ck->diags, CONF_WARNING, p->file, p->line,
				      "Dial: option '%c' is not implemented; ignored", *o);
		}
	}
}

/* Argument n (0-based, comma-separated) of a literal argument string into buf ("" when absent).
 * false when the arguments are not literal (they use ${...} or $[...]). */
static bool lit_arg(const char *a, unsigned n, char *buf, size_t size)
{
	const char *s = a;

	if (!is_literal(a, strlen(a)))
		return false;
	for (unsigned i = 0; i < n && s; i++) {
		s = strchr(s, ',');
		if (s)
			s++;
	}
	if (!s) {
		buf[0] = '\0';
		return true;
	}
	const char *e = strchr(s, ',');
	size_t l = e ? (size_t)(e - s) : strlen(s);
	struct pl v = pl_from(s, l);

	pl_trim(&v);
	snprintf(buf, size, "%.*s", (int)MIN(v.l, size - 1), v.p);
	return true;
}

static void PRINTF_LIKE(4, 5) ck_diag(struct check *ck, enum conf_severity sev,
				       const struct dp_prio *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sev == CONF_ERROR)
		ck->errors++;
	conf_diag_add(ck->diags, sev, p->file, p->line, "%s", msg);
}

/* Options letters outside `known` are warnings (Asterisk ignores unknown ones too). */
static void check_letters(struct check *ck, const struct dp_prio *p, const char *app,
			  const char *opts, const char *known)
{
	for (const char *o = opts; *o; o++) {
		if (*o == '(') {
			const char *close = strchr(o, ')');
			if (!close)
				break;
			o = close;
			continue;
		}
		if (!strchr(known, *o))
			ck_diag(ck, CONF_WARNING, p, "%s: unknown or unsupported option '%c'", app, *o);
	}
}

/* The media applications' arguments where Asterisk checks them: file names with a format,
 * a variable for Read, numbers for SayNumber, known options. */
static void check_media_app(struct check *ck, const struct dp_prio *p)
{
	const char *app = pbx_app_name(p->app);
	char a0[512], a1[256], a3[256];
	const char *a = p->args;

	if (!lit_arg(a, 0, a0, sizeof(a0)))
		return;
	switch (p->app) {
	case PBX_APP_AUTHENTICATE:
		if (!a0[0])
			ck_diag(ck, CONF_ERROR, p, "Authenticate: needs a password");
		lit_arg(a, 1, a1, sizeof(a1));
		check_letters(ck, p, app, a1, "dmr");
		break;
	case PBX_APP_CHANISAVAIL:
		if (!a0[0])
			ck_diag(ck, CONF_ERROR, p, "ChanIsAvail: needs a device (SIP/NAME[&...])");
		break;
	case PBX_APP_SENDDTMF:
		if (!a0[0])
			ck_diag(ck, CONF_ERROR, p, "SendDTMF: needs digits");
		else if (a0[strspn(a0, "0123456789*#ABCDabcdwW")])
			ck_diag(ck, CONF_WARNING, p,
				"SendDTMF: '%s' holds characters other than 0-9 * # A-D w", a0);
		break;
	case PBX_APP_PLAYBACK:
		if (!a0[0])
			ck_diag(ck, CONF_ERROR, p, "Playback: needs a file name");
		lit_arg(a, 1, a1, sizeof(a1));
		for (char *save = NULL, *t = strtok_r(a1, "&|", &save); t;
		     t = strtok_r(NULL, "&|", &save))
			if (strcasecmp(t, "skip") && strcasecmp(t, "noanswer") && strcasecmp(t, "say"))
				ck_diag(ck, CONF_WARNING, p, "Playback: unknown option '%s'", t);
		break;
	case PBX_APP_BACKGROUND:
		if (!a0[0])
			ck_diag(ck, CONF_ERROR, p, "Background: needs a file name");
		lit_arg(a, 1, a1, sizeof(a1));
		check_letters(ck, p, app, a1, "sn");
		break;
	case PBX_APP_WAITEXTEN:
		lit_arg(a, 1, a1, sizeof(a1));
		check_letters(ck, p, app, a1, "m");
		if (a0[0] && strspn(a0, "0123456789.") != strlen(a0))
			ck_diag(ck, CONF_ERROR, p, "WaitExten: '%s' is not a number of seconds", a0);
		break;
	case PBX_APP_READ:
		if (!a0[0])
			ck_diag(ck, CONF_ERROR, p, "Read: needs a variable name");
		lit_arg(a, 3, a3, sizeof(a3));
		check_letters(ck, p, app, a3, "sn");
		break;
	case PBX_APP_SAYNUMBER:
		if (!a0[0] || strspn(a0 + (a0[0] == '-'), "0123456789") != strlen(a0 + (a0[0] == '-')))
			ck_diag(ck, CONF_ERROR, p, "SayNumber: '%s' is not a number", a0);
		break;
	case PBX_APP_RECORD:
	case PBX_APP_MIXMONITOR: {
		const char *dot = strrchr(a0, '.'), *slash = strrchr(a0, '/');

		if (!a0[0] || !dot || (slash && dot < slash))
			ck_diag(ck, CONF_ERROR, p, "%s: the file needs a format: NAME.wav", app);
		else if (strcasecmp(dot + 1, "wav"))
			ck_diag(ck, CONF_ERROR, p, "%s: format '%s' is not supported (wav only)", app,
				dot + 1);
		if (p->app == PBX_APP_RECORD) {
			lit_arg(a, 3, a3, sizeof(a3));
			check_letters(ck, p, app, a3, "anqstxky");
		} else {
			lit_arg(a, 1, a1, sizeof(a1));
			if (a1[0])
				ck_diag(ck, CONF_WARNING, p, "MixMonitor: options are not implemented; "
							     "ignored");
		}
		break;
	}
	case PBX_APP_MILLIWATT:
		check_letters(ck, p, app, a0, "o");
		break;
	case PBX_APP_VOICEMAIL:
		if (!a0[0])
			ck_diag(ck, CONF_ERROR, p, "VoiceMail: needs a mailbox: BOX[@CONTEXT]");
		else if (strchr(a0, '&'))
			ck_diag(ck, CONF_WARNING, p,
				"VoiceMail: several mailboxes: only the first is used");
		lit_arg(a, 1, a1, sizeof(a1));
		check_letters(ck, p, app, a1, "ubs");
		break;
	case PBX_APP_VOICEMAILMAIN:
		lit_arg(a, 1, a1, sizeof(a1));
		check_letters(ck, p, app, a1, "s");
		break;
	case PBX_APP_PICKUPCHAN:
		if (!a0[0])
			ck_diag(ck, CONF_ERROR, p, "PickupChan: needs a channel: SIP/NAME[&...]");
		lit_arg(a, 1, a1, sizeof(a1));
		check_letters(ck, p, app, a1, "p");
		break;
	default:
		break;
	}
}

static void check_prio(struct check *ck, const struct dp_ctx *ctx, const struct dp_ext *e,
		       const struct dp_prio *p)
{
	check_media_app(ck, p);
	const char *a = p->args;
	size_t n = strlen(a);

	switch (p->app) {
	case PBX_APP_GOTO:
		if (is_literal(a, n))
			check_target(ck, ctx, e, p, "Goto", a, n);
		break;
	case PBX_APP_GOSUB: {
		const char *open = strchr(a, '(');
		size_t tl = open ? (size_t)(open - a) : n;

		if (is_literal(a, tl))
			check_target(ck, ctx, e, p, "Gosub", a, tl);
		break;
	}
	case PBX_APP_MACRO: {
		/* Macro(name,...) runs macro-name,s,1: a literal name must have it, and makes the
		 * context reachable. */
		const char *comma = strchr(a, ',');
		size_t nl = comma ? (size_t)(comma - a) : n;
		char target[DP_EXTEN_MAX + 16];

		if (!nl) {
			ck_diag(ck, CONF_ERROR, p, "Macro: needs a macro name");
			break;
		}
		if (nl < DP_EXTEN_MAX && is_literal(a, nl)) {
			int tl = snprintf(target, sizeof(target), "macro-%.*s,s,1", (int)nl, a);

			check_target(ck, ctx, e, p, "Macro", target, (size_t)tl);
		}
		break;
	}
	case PBX_APP_GOTOIF:
	case PBX_APP_GOTOIFTIME:
	case PBX_APP_GOSUBIF: {
		/* cond?label1:label2 -- the '?' outside ${...} and $[...] (a time specification
		 * has none); GosubIf's labels may carry (args). */
		const char *what = pbx_app_name(p->app);
		const char *q = p->app == PBX_APP_GOTOIFTIME ? strchr(a, '?')
							      : pbx_find_top(a, n, '?', false);
		const char *s;

		if (!q) {
			if (p->app == PBX_APP_GOTOIF) { /* the others are load errors */
				conf_diag_add(ck->diags, CONF_ERROR, p->file, p->line,
					      "GotoIf: expected 'condition?label1[:label2]'");
				ck->errors++;
			}
			break;
		}
		s = q + 1;
		while (*s) {
			const char *colon = pbx_find_top(s, strlen(s), ':', true);
			size_t l = colon ? (size_t)(colon - s) : strlen(s);
			struct pl lab = pl_from(s, l);
			const char *open;

			pl_trim(&lab);
			if (p->app == PBX_APP_GOSUBIF && (open = pl_chr(&lab, '(')))
				lab.l = (size_t)(open - lab.p);
			if (lab.l && is_literal(lab.p, lab.l))
				check_target(ck, ctx, e, p, what, lab.p, lab.l);
			if (!colon)
				break;
			s = colon + 1;
		}
		break;
	}
	case PBX_APP_DIAL:
		check_dial(ck, p);
		break;
	case PBX_APP_WHILE:
	case PBX_APP_ENDWHILE:
		if (dp_while_partner(e, (size_t)(p - e->prios)) < 0) {
			ck_diag(ck, CONF_WARNING, p,
				p->app == PBX_APP_WHILE
				    ? "While: no EndWhile after it in extension '%s'"
				    : "EndWhile: no While before it in extension '%s'",
				e->name);
		}
		break;
	case PBX_APP_EXITWHILE:
	case PBX_APP_CONTINUEWHILE:
		if (dp_while_enclosing(e, (size_t)(p - e->prios)) < 0)
			ck_diag(ck, CONF_WARNING, p, "%s: not inside a While loop",
				pbx_app_name(p->app));
		break;
	default:
		break;
	}
}

int dialplan_check(const struct dialplan *dp, const char *const *entry_contexts, size_t n,
		   struct conf_diags *diags)
{
	struct check ck = {dp, diags, 0, NULL};
	const char *top = dp && dp->nfiles ? dp->files[0] : "extensions.conf";
	bool *reach;
	size_t *queue = NULL, qh = 0, qt = 0;

	if (!dp)
		return EINVAL;
	reach = calloc(dp->nctx + 1, sizeof(*reach));
	queue = calloc(dp->nctx + 1, sizeof(*queue));
	if (!reach || !queue) {
		free(reach);
		free(queue);
		return ENOMEM;
	}
	for (size_t i = 0; i < dp->nctx; i++) {
		const struct dp_ctx *ctx = dp->ctxv[i];

		for (size_t k = 0; k < ctx->nexts; k++) {
			const struct dp_ext *e = ctx->exts[k];

			for (size_t j = 0; j < e->nprios; j++)
				check_prio(&ck, ctx, e, &e->prios[j]);
		}
	}

	/* Reachability: from the entry contexts through includes and literal Goto/Gosub
	 * contexts. */
	for (size_t i = 0; i < n; i++) {
		const struct dp_ctx *ctx = dp_ctx_find(dp, entry_contexts[i]);
		size_t idx;

		if (!ctx) {
			conf_diag_add(
			    diags, CONF_WARNING, top, 0,
			    "context '%s' (a peer's context=) does not exist in the dialplan",
			    entry_contexts[i]);
			continue;
		}
		idx = ctx_index(dp, ctx);
		if (!reach[idx]) {
			reach[idx] = true;
			queue[qt++] = idx;
		}
	}
	while (qh < qt) {
		const struct dp_ctx *ctx = dp->ctxv[queue[qh++]];
		bool *before = calloc(dp->nctx + 1, sizeof(*before));

		if (!before)
			break;
		for (size_t i = 0; i < ctx->nincs; i++) {
			if (ctx->incs[i].ctx)
				before[ctx_index(dp, ctx->incs[i].ctx)] = true;
		}
		/* Literal targets: rerun the target checks quietly to collect their contexts. */
		{
			struct check quiet = {dp, NULL, 0, before};

			for (size_t k = 0; k < ctx->nexts; k++) {
				const struct dp_ext *e = ctx->exts[k];

				for (size_t j = 0; j < e->nprios; j++)
					check_prio(&quiet, ctx, e, &e->prios[j]);
			}
		}
		for (size_t i = 0; i < dp->nctx; i++) {
			if (before[i] && !reach[i]) {
				reach[i] = true;
				queue[qt++] = i;
			}
		}
		free(before);
	}
	for (size_t i = 0; i < dp->nctx; i++) {
		if (!reach[i] && !dp->ctxv[i]->builtin)
			conf_diag_add(diags, CONF_WARNING, dp->ctxv[i]->file, dp->ctxv[i]->line,
				      "context '%s' is unreachable (no peer's context=, no include "
				      "=> or Goto leads to it)",
				      dp->ctxv[i]->name);
	}
	free(reach);
	free(queue);
	return ck.errors ? EINVAL : 0;
}

/* ---- hints ----------------------------------------------------------------------------------- */

static const char *hint_in(const struct dialplan *dp, const struct dp_ctx *ctx, const char *exten,
			   unsigned depth, struct dp_visit *v)
{
	if (!ctx || depth > 16 || !dp_visit_first(v, ctx))
		return NULL;
	for (size_t i = 0; i < ctx->nexts; i++) {
		const struct dp_ext *e = ctx->exts[i];

		if (!e->pattern && e->hint && !strcmp(e->key, exten))
			return e->hint;
	}
	for (size_t i = 0; i < ctx->nincs; i++) {
		const char *h = hint_in(dp, ctx->incs[i].ctx, exten, depth + 1, v);

		if (h)
			return h;
	}
	return NULL;
}

const char *dialplan_hint(const struct dialplan *dp, const char *context, const char *exten)
{
	struct dp_visit v;

	if (!dp || !context || !exten || !*exten)
		return NULL;
	v.n = 0;
	return hint_in(dp, dp_ctx_find(dp, context), exten, 0, &v);
}

int dialplan_hint_foreach(const struct dialplan *dp, dialplan_hint_h *h, void *arg)
{
	for (size_t i = 0; dp && i < dp->nctx; i++) {
		const struct dp_ctx *ctx = dp->ctxv[i];

		for (size_t j = 0; j < ctx->nexts; j++) {
			const struct dp_ext *e = ctx->exts[j];
			int r;

			if (!e->hint)
				continue;
			r = h(ctx->name, e->name, e->hint, arg);
			if (r)
				return r;
		}
	}
	return 0;
}
