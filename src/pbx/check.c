/* check: what `mikakad -t` finds in a loaded dialplan: Goto and Gosub targets, Dial targets and
 * options, application arguments, unreachable contexts. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pbx_int.h"

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
	if (dp_parse_uint(pp.p, pp.l, DP_PRIO_MAX, &prio))
		w.prio = prio;
	else
		w.label = pname;
	if (!pe.l) {
		if (!dp_ext_prio(e, &w)) {
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
	case PBX_APP_PRIVACYMANAGER:
		lit_arg(a, 1, a1, sizeof(a1));
		if (a0[strspn(a0, "0123456789")] || a1[strspn(a1, "0123456789")])
			ck_diag(ck, CONF_WARNING, p,
				"PrivacyManager: tries and minimum length are numbers (default 3, 10)");
		break;
	case PBX_APP_ZAPATELLER: {
		char opts[256];

		snprintf(opts, sizeof(opts), "%s", a);
		for (char *save = NULL, *t = strtok_r(opts, "|, ", &save); t;
		     t = strtok_r(NULL, "|, ", &save))
			if (strcasecmp(t, "answer") && strcasecmp(t, "nocallerid"))
				ck_diag(ck, CONF_WARNING, p, "Zapateller: unknown option '%s'", t);
		break;
	}
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

/* A context an application reads digits in or goes to (DISA, ReadExten): a warning when it does
 * not exist, else it counts as reached through the application. */
static void check_ctx_arg(struct check *ck, const struct dp_prio *p, const char *app,
			  const char *cname)
{
	const struct dp_ctx *tctx = dp_ctx_find(ck->dp, cname);

	if (!tctx)
		ck_diag(ck, CONF_WARNING, p, "%s: context '%s' does not exist", app, cname);
	else if (ck->reach)
		ck->reach[ctx_index(ck->dp, tctx)] = true;
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
	case PBX_APP_DISA: {
		/* DISA(passcode[,context]): a passcode file may name other contexts, which are
		 * not followed. */
		char pass[256], cname[DP_EXTEN_MAX];

		if (!lit_arg(a, 0, pass, sizeof(pass)))
			break;
		if (!pass[0]) {
			ck_diag(ck, CONF_ERROR, p,
				"DISA: needs a passcode, no-password or a passcode file");
			break;
		}
		if (lit_arg(a, 1, cname, sizeof(cname)))
			check_ctx_arg(ck, p, "DISA", cname[0] ? cname : "disa");
		break;
	}
	case PBX_APP_READEXTEN: {
		char var[128], cname[DP_EXTEN_MAX];

		if (lit_arg(a, 0, var, sizeof(var)) && !var[0])
			ck_diag(ck, CONF_ERROR, p, "ReadExten: needs a variable name");
		if (lit_arg(a, 2, cname, sizeof(cname)) && cname[0])
			check_ctx_arg(ck, p, "ReadExten", cname);
		break;
	}
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

