/* show: `dialplan show [[EXTEN@]CONTEXT]` in Asterisk's layout. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pbx_int.h"

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
	if (p->app == PBX_APP_UNSUPPORTED) /* as written */
		mbuf_printf(&tmp, "%u. %s", p->prio, p->args);
	else
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

