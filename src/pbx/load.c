/* load: an extensions.conf read into a dialplan: contexts, extensions and priorities (exten,
 * same, n, labels, hints, caller IDs), includes, [globals], the built-in contexts. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_int.h"

#define LOG_MODULE "pbx"

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
	    (ext[0] == '_' ? dp_pat_compile(ext + 1, els, DP_EXTEN_MAX, &n) != 0
			   : dp_exten_norm(ext, key, sizeof(key)) || !key[0]) ||
	    (slash[1] == '_' ? dp_pat_compile(slash + 2, els, DP_EXTEN_MAX, &n) != 0
			     : dp_exten_norm(slash + 1, cid, sizeof(cid)) || !cid[0])) {
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
		err = dp_pat_compile(name + 1, els, DP_EXTEN_MAX, &n);
		if (err) {
			ld_diag(ld, CONF_ERROR, v, "invalid pattern '%s'%s", name,
				err == E2BIG ? ": too long" : "");
			return NULL;
		}
		err = dp_trie_insert(&ctx->root, els, n, &node);
		if (err) {
			ld->err = err;
			return NULL;
		}
		if (node->term)
			return node->term;
	} else {
		if (dp_exten_norm(name, key, sizeof(key)) || !key[0]) {
			ld_diag(ld, CONF_ERROR, v, "invalid extension '%s'", name);
			return NULL;
		}
		e = dp_exact_find(ctx, key, strlen(key));
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

bool dp_parse_uint(const char *s, size_t n, unsigned max, unsigned *out)
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
		if (!dp_parse_uint(plus + 1, (size_t)(pl.p + pl.l - plus - 1), DP_PRIO_MAX, &add))
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
	} else if (!dp_parse_uint(base.p, base.l, DP_PRIO_MAX, &prio)) {
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
	if (pbx_app_lookup(a.p, a.l, &id) == 0)
		return;
	if (pbx_app_asterisk_only(a.p, a.l))
		ld_diag(ld, CONF_WARNING, v,
			"%s: '%.*s' is an Asterisk application mikaka does not have: a call "
			"reaching it hangs up",
			what, PL_ARG(a));
	else
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
	if (pbx_app_lookup(app, applen, &id) && pbx_app_asterisk_only(app, applen)) {
		/* Kept as written (App(args)), for the log and dialplan show. */
		ld_diag(ld, CONF_WARNING, v,
			"'%.*s' is an Asterisk application mikaka does not have: a call reaching "
			"it hangs up",
			(int)applen, app);
		id = PBX_APP_UNSUPPORTED;
		args = app;
		argslen = strlen(app);
	} else if (pbx_app_lookup(app, applen, &id)) {
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
	dp_trie_finish(&ctx->root, ctx->exts, &npat);
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
	dp = mem_zalloc(sizeof(*dp), dp_destroy);
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

