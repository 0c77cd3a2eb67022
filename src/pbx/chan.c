/* chan: one call's way through the dialplan: its location, variables, caller ID and Gosub stack,
 * and pbx_chan_run(), which runs the applications until one needs the call engine. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_int.h"

#define LOG_MODULE "pbx"

/* Channel variables one call may hold. */
#define PBX_CHAN_VARS_MAX 256
/* Longest Wait(). */
#define PBX_WAIT_MAX_MS (24u * 3600u * 1000u)

struct pbx_frame {
	char *context; /* where Return() goes back to */
	char *exten;
	unsigned prio;
	char **args; /* ARG1..ARGn */
	size_t nargs;
};

struct pbx_chan {
	struct dialplan *dp; /* a reference */
	char *context;
	char *exten;
	unsigned prio;
	struct pbx_vars vars;
	char *cid_num;
	char *cid_name;
	struct pbx_frame *stack;
	size_t depth;
	size_t cap;
	bool done; /* nothing more to run */
	bool in_h; /* running the h extension */
	bool hung; /* pbx_chan_hangup() was called */
	char prio_buf[16];
	struct mbuf args;    /* the current application's substituted arguments */
	struct mbuf dialbuf; /* the strings of the last PBX_ACT_DIAL */
};

enum step {
	STEP_NEXT, /* go on with the next priority */
	STEP_JUMP, /* the location was changed: run it */
	STEP_HOST, /* act is filled: return it, then continue after this priority */
	STEP_STOP, /* act is filled: return it; nothing more runs */
	STEP_FAIL, /* an error was logged: hang up */
};

static void frame_free(struct pbx_frame *f)
{
	free(f->context);
	free(f->exten);
	for (size_t i = 0; i < f->nargs; i++)
		free(f->args[i]);
	free(f->args);
	memset(f, 0, sizeof(*f));
}

static int set_str(char **dst, const char *s, size_t n)
{
	char *c = strndup(s, n);

	if (!c)
		return ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

static int set_loc(struct pbx_chan *ch, const char *ctx, const char *exten, unsigned prio)
{
	if (ctx != ch->context && strcmp(ctx, ch->context) &&
	    set_str(&ch->context, ctx, strlen(ctx)))
		return ENOMEM;
	if (exten != ch->exten && strcmp(exten, ch->exten) &&
	    set_str(&ch->exten, exten, strlen(exten)))
		return ENOMEM;
	ch->prio = prio;
	return 0;
}

int pbx_chan_alloc(struct pbx_chan **chp, struct dialplan *dp, const char *context,
		   const char *exten, const char *callerid_num, const char *callerid_name)
{
	struct pbx_chan *ch;

	if (!chp || !dp || !context)
		return EINVAL;
	if (!dp_ctx_find(dp, context))
		return ENOENT;
	if (!exten || !*exten)
		exten = "s";
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return ENOMEM;
	ch->context = strdup(context);
	ch->exten = strdup(exten);
	ch->cid_num = strdup(callerid_num ? callerid_num : "");
	ch->cid_name = strdup(callerid_name ? callerid_name : "");
	if (!ch->context || !ch->exten || !ch->cid_num || !ch->cid_name) {
		free(ch->context);
		free(ch->exten);
		free(ch->cid_num);
		free(ch->cid_name);
		free(ch);
		return ENOMEM;
	}
	ch->prio = 1;
	mbuf_init(&ch->args);
	mbuf_init(&ch->dialbuf);
	ch->dp = mem_ref(dp);
	*chp = ch;
	return 0;
}

void pbx_chan_free(struct pbx_chan *ch)
{
	if (!ch)
		return;
	for (size_t i = 0; i < ch->depth; i++)
		frame_free(&ch->stack[i]);
	free(ch->stack);
	pbx_vars_clear(&ch->vars);
	free(ch->context);
	free(ch->exten);
	free(ch->cid_num);
	free(ch->cid_name);
	mbuf_reset(&ch->args);
	mbuf_reset(&ch->dialbuf);
	mem_deref(ch->dp);
	free(ch);
}

const char *pbx_chan_context(const struct pbx_chan *ch)
{
	return ch->context;
}

const char *pbx_chan_exten(const struct pbx_chan *ch)
{
	return ch->exten;
}

unsigned pbx_chan_priority(const struct pbx_chan *ch)
{
	return ch->prio;
}

const char *pbx_chan_callerid_num(const struct pbx_chan *ch)
{
	return ch->cid_num;
}

const char *pbx_chan_callerid_name(const struct pbx_chan *ch)
{
	return ch->cid_name;
}

size_t pbx_chan_gosub_depth(const struct pbx_chan *ch)
{
	return ch->depth;
}

const struct pbx_vars *pbx_chan_globals(const struct pbx_chan *ch)
{
	return &ch->dp->globals;
}

static bool name_is(const char *name, size_t n, const char *s)
{
	return strlen(s) == n && !memcmp(name, s, n);
}

const char *pbx_chan_lookup(struct pbx_chan *ch, const char *name, size_t n)
{
	if (name_is(name, n, "EXTEN"))
		return ch->exten;
	if (name_is(name, n, "CONTEXT"))
		return ch->context;
	if (name_is(name, n, "PRIORITY")) {
		snprintf(ch->prio_buf, sizeof(ch->prio_buf), "%u", ch->prio);
		return ch->prio_buf;
	}
	/* Inside a Gosub, ARGn are the frame's own (unset beyond what was passed). */
	if (ch->depth && n > 3 && n < 8 && !memcmp(name, "ARG", 3)) {
		const struct pbx_frame *f = &ch->stack[ch->depth - 1];
		size_t k = 0, i;

		for (i = 3; i < n && isdigit((unsigned char)name[i]); i++)
			k = k * 10 + (size_t)(name[i] - '0');
		if (i == n)
			return k >= 1 && k <= f->nargs ? f->args[k - 1] : NULL;
	}
	return pbx_vars_getn(&ch->vars, name, n);
}

const char *pbx_chan_get_var(struct pbx_chan *ch, const char *name)
{
	const char *v;

	if (!ch || !name)
		return NULL;
	v = pbx_chan_lookup(ch, name, strlen(name));
	return v ? v : pbx_vars_get(&ch->dp->globals, name);
}

/* "Name" <num>, Name <num>, or num. */
static int set_callerid_all(struct pbx_chan *ch, const char *v, size_t n)
{
	const char *lt = memchr(v, '<', n), *gt;
	struct pl name, num;

	if (!lt || !(gt = memchr(lt, '>', n - (size_t)(lt - v)))) {
		num = pl_from(v, n);
		pl_trim(&num);
		return set_str(&ch->cid_num, num.p, num.l);
	}
	num = pl_from(lt + 1, (size_t)(gt - lt - 1));
	name = pl_from(v, (size_t)(lt - v));
	pl_trim(&num);
	pl_trim(&name);
	if (name.l >= 2 && name.p[0] == '"' && name.p[name.l - 1] == '"') {
		name.p++;
		name.l -= 2;
	}
	if (set_str(&ch->cid_num, num.p, num.l) || set_str(&ch->cid_name, name.p, name.l))
		return ENOMEM;
	return 0;
}

static int set_var_n(struct pbx_chan *ch, const char *name, size_t n, const char *value,
		     size_t vlen)
{
	struct pl nm = pl_from(name, n);

	pl_trim(&nm);
	/* _VAR and __VAR mark inheritance to dialled channels in Asterisk; one call here. */
	while (nm.l && nm.p[0] == '_') {
		nm.p++;
		nm.l--;
	}
	if (!nm.l)
		return EINVAL;
	if (vlen > PBX_VALUE_MAX)
		vlen = PBX_VALUE_MAX;
	if (nm.l > 9 && !strncasecmp(nm.p, "CALLERID(", 9) && nm.p[nm.l - 1] == ')') {
		struct pl what = pl_from(nm.p + 9, nm.l - 10);

		pl_trim(&what);
		if (!value)
			value = "", vlen = 0;
		if (pl_caseeq_str(&what, "num") || pl_caseeq_str(&what, "number"))
			return set_str(&ch->cid_num, value, vlen);
		if (pl_caseeq_str(&what, "name"))
			return set_str(&ch->cid_name, value, vlen);
		if (pl_caseeq_str(&what, "all"))
			return set_callerid_all(ch, value, vlen);
		return EINVAL;
	}
	if (pl_chr(&nm, '('))
		return EINVAL; /* a function we cannot write */
	if (value && ch->vars.n >= PBX_CHAN_VARS_MAX && !pbx_vars_getn(&ch->vars, nm.p, nm.l))
		return ENOSPC;
	return pbx_vars_setn(&ch->vars, nm.p, nm.l, value, vlen);
}

int pbx_chan_set_var(struct pbx_chan *ch, const char *name, const char *value)
{
	if (!ch || !name)
		return EINVAL;
	return set_var_n(ch, name, strlen(name), value, value ? strlen(value) : 0);
}

int pbx_chan_eval(struct pbx_chan *ch, const char *in, struct mbuf *out)
{
	struct pbx_env env = {ch, NULL, 0};

	if (!ch || !in || !out)
		return EINVAL;
	return pbx_subst(&env, in, strlen(in), out);
}

/* ---- Dial() ---------------------------------------------------------------------------------- */

static char *trim_inplace(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

int pbx_dial_parse(char *args, struct pbx_dial *dial, unsigned *bad)
{
	char *targets = args, *timeout = NULL, *opts = NULL, *c, *save = NULL, *t;
	unsigned nbad = 0;

	memset(dial, 0, sizeof(*dial));
	c = strchr(args, ',');
	if (c) {
		*c = '\0';
		timeout = c + 1;
		c = strchr(timeout, ',');
		if (c) {
			*c = '\0';
			opts = c + 1;
			c = strchr(opts, ',');
			if (c)
				*c = '\0'; /* the URL argument is not used */
		}
	}
	for (t = strtok_r(targets, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
		struct pbx_dial_target *dt;
		char *slash, *rest, *at;

		t = trim_inplace(t);
		slash = strchr(t, '/');
		if (!slash || dial->ntargets == PBX_DIAL_TARGETS_MAX) {
			nbad++;
			continue;
		}
		*slash = '\0';
		rest = slash + 1;
		if (strcasecmp(t, "SIP") != 0 || !*rest) {
			nbad++;
			continue;
		}
		dt = &dial->targets[dial->ntargets];
		dt->tech = t;
		dt->number = NULL;
		if ((slash = strchr(rest, '/'))) {
			*slash = '\0';
			dt->peer = rest;
			dt->number = *(slash + 1) ? slash + 1 : NULL;
		} else if ((at = strchr(rest, '@'))) {
			*at = '\0';
			dt->number = *rest ? rest : NULL;
			dt->peer = at + 1;
		} else {
			dt->peer = rest;
		}
		if (!*dt->peer) {
			nbad++;
			continue;
		}
		dial->ntargets++;
	}
	if (timeout) {
		unsigned long v = 0;
		char *end;

		timeout = trim_inplace(timeout);
		if (*timeout) {
			v = strtoul(timeout, &end, 10);
			if (*end && *end != '.')
				v = 0;
			dial->timeout_s = v > 86400 ? 86400 : (unsigned)v;
		}
	}
	for (char *o = opts; o && *o; o++) {
		char *close;

		switch (*o) {
		case 't':
			dial->opts |= PBX_DIAL_OPT_t;
			break;
		case 'T':
			dial->opts |= PBX_DIAL_OPT_T;
			break;
		case 'r':
			dial->opts |= PBX_DIAL_OPT_r;
			break;
		case 'm':
			dial->opts |= PBX_DIAL_OPT_m;
			if (o[1] == '(' && (close = strchr(o + 2, ')'))) {
				*close = '\0';
				dial->moh_class = o + 2;
				o = close;
			}
			break;
		default:
			/* Options of Asterisk's we do not do; their (args) are skipped. */
			if (o[1] == '(' && (close = strchr(o + 2, ')')))
				o = close;
			break;
		}
	}
	if (bad)
		*bad = nbad;
	return dial->ntargets ? 0 : EINVAL;
}

/* ---- applications ---------------------------------------------------------------------------- */

/* Splits "[[context,]exten,]priority" and resolves a label to its priority. */
static int resolve_target(struct pbx_chan *ch, char *s, char **ctxp, char **extp, unsigned *priop)
{
	char *parts[3], *p = s;
	size_t k = 0;
	const char *ctx = ch->context, *ext = ch->exten;
	unsigned long v;
	char *end;

	/* Up to three fields; an empty one keeps the current context or extension. */
	for (;;) {
		char *comma = strchr(p, ',');

		if (k == 3)
			return EINVAL;
		if (comma)
			*comma = '\0';
		parts[k++] = trim_inplace(p);
		if (!comma)
			break;
		p = comma + 1;
	}
	if (k == 3 && *parts[0])
		ctx = parts[0];
	if (k >= 2 && *parts[k - 2])
		ext = parts[k - 2];
	p = parts[k - 1];
	if (!*p)
		return EINVAL;
	v = strtoul(p, &end, 10);
	if (isdigit((unsigned char)*p) && !*end) {
		if (v < 1 || v > 1000000000)
			return EINVAL;
		*priop = (unsigned)v;
	} else {
		struct dp_want w = {0, p};
		const struct dp_prio *pr = dp_find(ch->dp, dp_ctx_find(ch->dp, ctx), ext, &w, NULL);

		if (!pr)
			return ENOENT;
		*priop = pr->prio;
	}
	*ctxp = (char *)ctx;
	*extp = (char *)ext;
	return 0;
}

static enum step app_goto(struct pbx_chan *ch, char *target, const char *what)
{
	char *ctx, *ext;
	unsigned prio;
	int err = resolve_target(ch, target, &ctx, &ext, &prio);

	if (err) {
		log_error("%s,%s,%u: %s to '%s': %s", ch->context, ch->exten, ch->prio, what,
			  target, err == ENOENT ? "no such label" : "invalid target");
		return STEP_FAIL;
	}
	return set_loc(ch, ctx, ext, prio) ? STEP_FAIL : STEP_JUMP;
}

static enum step app_gotoif(struct pbx_chan *ch, char *args)
{
	char *q = strchr(args, '?'), *t, *f;

	if (!q) {
		log_error("%s,%s,%u: GotoIf needs 'condition?label1[:label2]'", ch->context,
			  ch->exten, ch->prio);
		return STEP_FAIL;
	}
	*q = '\0';
	t = q + 1;
	f = strchr(t, ':');
	if (f)
		*f++ = '\0';
	{
		char *cond = trim_inplace(args);
		char *label = pbx_truth(cond) ? t : f;

		if (!label || !*trim_inplace(label))
			return STEP_NEXT;
		return app_goto(ch, label, "GotoIf");
	}
}

static enum step app_gosub(struct pbx_chan *ch, char *args)
{
	char *open = strchr(args, '('), *ctx, *ext;
	struct pbx_frame *f;
	unsigned prio;
	int err;

	if (ch->depth >= PBX_GOSUB_MAX) {
		log_error("%s,%s,%u: Gosub nested deeper than %u; hanging up", ch->context,
			  ch->exten, ch->prio, PBX_GOSUB_MAX);
		return STEP_FAIL;
	}
	if (ch->depth == ch->cap) {
		size_t cap = ch->cap ? ch->cap * 2 : 4;
		struct pbx_frame *ns = realloc(ch->stack, cap * sizeof(*ns));

		if (!ns)
			return STEP_FAIL;
		ch->stack = ns;
		ch->cap = cap;
	}
	f = &ch->stack[ch->depth];
	memset(f, 0, sizeof(*f));
	if (open) {
		char *close = strrchr(open, ')'), *a = open + 1;

		*open = '\0';
		if (close)
			*close = '\0';
		/* Empty arguments keep their place: Gosub(x,s,1(a,,c)) has ARG2 "". */
		while (*a || f->nargs) {
			char *comma = strchr(a, ','), **na;

			if (comma)
				*comma = '\0';
			na = realloc(f->args, (f->nargs + 1) * sizeof(*na));
			if (!na)
				goto nomem;
			f->args = na;
			f->args[f->nargs] = strdup(a);
			if (!f->args[f->nargs])
				goto nomem;
			f->nargs++;
			if (!comma || f->nargs >= 100)
				break;
			a = comma + 1;
		}
	}
	err = resolve_target(ch, args, &ctx, &ext, &prio);
	if (!err) {
		struct dp_want w = {prio, NULL};

		if (!dp_find(ch->dp, dp_ctx_find(ch->dp, ctx), ext, &w, NULL))
			err = ENOENT;
	}
	if (err) {
		log_error("%s,%s,%u: Gosub to a destination that does not exist", ch->context,
			  ch->exten, ch->prio);
		frame_free(f);
		return STEP_FAIL;
	}
	f->context = strdup(ch->context);
	f->exten = strdup(ch->exten);
	f->prio = ch->prio + 1;
	if (!f->context || !f->exten)
		goto nomem;
	/* Set the location before the frame counts, as ctx/ext may point into args. */
	if (set_loc(ch, ctx, ext, prio))
		goto nomem;
	ch->depth++;
	return STEP_JUMP;

nomem:
	frame_free(f);
	return STEP_FAIL;
}

static enum step app_return(struct pbx_chan *ch, const char *value)
{
	struct pbx_frame *f;
	int err;

	if (!ch->depth) {
		log_error("%s,%s,%u: Return without Gosub", ch->context, ch->exten, ch->prio);
		return STEP_FAIL;
	}
	f = &ch->stack[--ch->depth];
	err = pbx_vars_setn(&ch->vars, "GOSUB_RETVAL", 12, value, strlen(value));
	if (!err)
		err = set_loc(ch, f->context, f->exten, f->prio);
	frame_free(f);
	return err ? STEP_FAIL : STEP_JUMP;
}

static enum step app_set(struct pbx_chan *ch, const char *args)
{
	const char *eq = strchr(args, '=');
	int err;

	if (!eq) {
		log_warn("%s,%s,%u: Set needs 'name=value'", ch->context, ch->exten, ch->prio);
		return STEP_NEXT;
	}
	err = set_var_n(ch, args, (size_t)(eq - args), eq + 1, strlen(eq + 1));
	if (err == ENOMEM)
		return STEP_FAIL;
	if (err)
		log_warn("%s,%s,%u: Set(%.*s): %s", ch->context, ch->exten, ch->prio,
			 (int)MIN((size_t)(eq - args), 64), args,
			 err == ENOSPC ? "too many variables" : "cannot set that");
	return STEP_NEXT;
}

static unsigned parse_wait_ms(const char *s)
{
	double v;
	char *end;

	while (*s == ' ')
		s++;
	if (!*s)
		return 0;
	v = strtod(s, &end);
	if (end == s || !(v > 0))
		return 0;
	if (v * 1000.0 >= PBX_WAIT_MAX_MS)
		return PBX_WAIT_MAX_MS;
	return (unsigned)(v * 1000.0 + 0.5);
}

static void app_log(struct pbx_chan *ch, char *args, bool verbose)
{
	char *comma = strchr(args, ','), *msg = args;
	enum log_level lvl = LOG_INFO;

	if (comma) {
		char *lv = args;

		*comma = '\0';
		lv = trim_inplace(lv);
		msg = comma + 1;
		if (verbose) {
			if (strspn(lv, "0123456789") != strlen(lv)) {
				*comma = ',';
				msg = args;
			}
		} else if (!strcasecmp(lv, "ERROR")) {
			lvl = LOG_ERROR;
		} else if (!strcasecmp(lv, "WARNING")) {
			lvl = LOG_WARN;
		} else if (!strcasecmp(lv, "NOTICE")) {
			lvl = LOG_NOTICE;
		} else if (!strcasecmp(lv, "DEBUG")) {
			lvl = LOG_DEBUG;
		}
	}
	log_msg(lvl, LOG_MODULE, "%s,%s,%u: %s", ch->context, ch->exten, ch->prio, msg);
}

static unsigned parse_cause(const char *s)
{
	char *end;
	unsigned long v;

	while (*s == ' ')
		s++;
	v = strtoul(s, &end, 10);
	if (end == s || v < 1 || v > 127)
		return PBX_CAUSE_NORMAL;
	return (unsigned)v;
}

static enum step exec_prio(struct pbx_chan *ch, const struct dp_prio *p, struct pbx_action *act)
{
	struct pbx_env env = {ch, NULL, 0};
	char *args;

	ch->args.end = 0;
	if (pbx_subst(&env, p->args, strlen(p->args), &ch->args) || mbuf_write(&ch->args, "", 1))
		return STEP_FAIL;
	args = (char *)ch->args.buf;

	if (ch->in_h) {
		/* The call is gone: what needs it is skipped; what ends it ends h. */
		switch (p->app) {
		case PBX_APP_ANSWER:
		case PBX_APP_PROGRESS:
		case PBX_APP_RINGING:
		case PBX_APP_WAIT:
		case PBX_APP_DIAL:
			return STEP_NEXT;
		case PBX_APP_HANGUP:
		case PBX_APP_BUSY:
		case PBX_APP_CONGESTION:
			act->type = PBX_ACT_END;
			return STEP_STOP;
		default:
			break;
		}
	}

	switch (p->app) {
	case PBX_APP_NOOP:
		log_debug("%s,%s,%u: NoOp(%s)", ch->context, ch->exten, ch->prio, args);
		return STEP_NEXT;
	case PBX_APP_SET:
		return app_set(ch, args);
	case PBX_APP_GOTO:
		return app_goto(ch, args, "Goto");
	case PBX_APP_GOTOIF:
		return app_gotoif(ch, args);
	case PBX_APP_GOSUB:
		return app_gosub(ch, args);
	case PBX_APP_RETURN:
		return app_return(ch, args);
	case PBX_APP_VERBOSE:
		app_log(ch, args, true);
		return STEP_NEXT;
	case PBX_APP_LOG:
		app_log(ch, args, false);
		return STEP_NEXT;
	case PBX_APP_ANSWER:
		act->type = PBX_ACT_ANSWER;
		return STEP_HOST;
	case PBX_APP_PROGRESS:
		act->type = PBX_ACT_PROGRESS;
		return STEP_HOST;
	case PBX_APP_RINGING:
		act->type = PBX_ACT_RINGING;
		return STEP_HOST;
	case PBX_APP_WAIT:
		act->wait_ms = parse_wait_ms(args);
		if (!act->wait_ms)
			return STEP_NEXT;
		act->type = PBX_ACT_WAIT;
		return STEP_HOST;
	case PBX_APP_BUSY:
		act->type = PBX_ACT_BUSY;
		return STEP_STOP;
	case PBX_APP_CONGESTION:
		act->type = PBX_ACT_CONGESTION;
		return STEP_STOP;
	case PBX_APP_HANGUP:
		act->type = PBX_ACT_HANGUP;
		act->cause = parse_cause(args);
		return STEP_STOP;
	case PBX_APP_DIAL: {
		unsigned bad = 0;

		ch->dialbuf.end = 0;
		if (mbuf_write(&ch->dialbuf, ch->args.buf, ch->args.end))
			return STEP_FAIL;
		if (pbx_dial_parse((char *)ch->dialbuf.buf, &act->dial, &bad)) {
			log_warn("%s,%s,%u: Dial(%s): no usable target", ch->context, ch->exten,
				 ch->prio, args);
			memset(&act->dial, 0, sizeof(act->dial));
			if (pbx_vars_setn(&ch->vars, "DIALSTATUS", 10, "CHANUNAVAIL", 11))
				return STEP_FAIL;
			return STEP_NEXT;
		}
		if (bad)
			log_warn("%s,%s,%u: Dial(%s): %u target(s) skipped (only SIP/...)",
				 ch->context, ch->exten, ch->prio, args, bad);
		act->type = PBX_ACT_DIAL;
		return STEP_HOST;
	}
	case PBX_APP_COUNT:
		break;
	}
	return STEP_FAIL;
}

static void fail(struct pbx_chan *ch, struct pbx_action *act)
{
	memset(act, 0, sizeof(*act));
	ch->done = true;
	act->type = ch->in_h ? PBX_ACT_END : PBX_ACT_HANGUP;
	act->cause = ch->in_h ? 0 : PBX_CAUSE_FAILURE;
}

/* No priority to run here: off the end of an extension, or no such extension (then `i`). */
static enum step missing(struct pbx_chan *ch, const struct dp_ctx *ctx, struct pbx_action *act)
{
	struct dp_want any = {0, NULL}, first = {1, NULL};

	if (ch->in_h || dp_find(ch->dp, ctx, ch->exten, &any, NULL)) {
		act->type = PBX_ACT_END;
		return STEP_STOP;
	}
	if (strcmp(ch->exten, "i") && dp_find(ch->dp, ctx, "i", &first, NULL)) {
		if (pbx_vars_setn(&ch->vars, "INVALID_EXTEN", 13, ch->exten, strlen(ch->exten)) ||
		    set_loc(ch, ch->context, "i", 1))
			return STEP_FAIL;
		return STEP_JUMP;
	}
	log_warn("no extension '%s' in context '%s' and no 'i' extension; hanging up", ch->exten,
		 ch->context);
	act->type = PBX_ACT_HANGUP;
	act->cause = PBX_CAUSE_UNALLOCATED;
	return STEP_STOP;
}

int pbx_chan_run(struct pbx_chan *ch, struct pbx_action *act)
{
	if (!ch || !act)
		return EINVAL;
	memset(act, 0, sizeof(*act));
	if (ch->done) {
		act->type = PBX_ACT_END;
		return 0;
	}
	for (unsigned steps = 0;; steps++) {
		const struct dp_ctx *ctx;
		const struct dp_prio *p;
		struct dp_want w = {ch->prio, NULL};
		enum step st;

		if (steps >= PBX_STEPS_MAX) {
			log_error(
			    "%s,%s,%u: more than %u priorities without waiting (a Goto loop?); "
			    "hanging up",
			    ch->context, ch->exten, ch->prio, PBX_STEPS_MAX);
			fail(ch, act);
			return 0;
		}
		ctx = dp_ctx_find(ch->dp, ch->context);
		if (!ctx) {
			log_error("%s,%s,%u: context '%s' does not exist; hanging up", ch->context,
				  ch->exten, ch->prio, ch->context);
			fail(ch, act);
			return 0;
		}
		p = dp_find(ch->dp, ctx, ch->exten, &w, NULL);
		st = p ? exec_prio(ch, p, act) : missing(ch, ctx, act);
		switch (st) {
		case STEP_NEXT:
			ch->prio++;
			break;
		case STEP_JUMP:
			break;
		case STEP_HOST:
			ch->prio++;
			return 0;
		case STEP_STOP:
			ch->done = true;
			return 0;
		case STEP_FAIL:
			fail(ch, act);
			return 0;
		}
	}
}

int pbx_chan_hangup(struct pbx_chan *ch)
{
	struct dp_want first = {1, NULL};

	if (!ch || ch->hung)
		return ENOENT;
	ch->hung = true;
	if (!dp_find(ch->dp, dp_ctx_find(ch->dp, ch->context), "h", &first, NULL) ||
	    set_loc(ch, ch->context, "h", 1)) {
		ch->done = true;
		return ENOENT;
	}
	ch->in_h = true;
	ch->done = false;
	return 0;
}

int pbx_chan_timeout(struct pbx_chan *ch)
{
	struct dp_want first = {1, NULL};

	if (!ch || ch->done || ch->in_h)
		return ENOENT;
	if (!dp_find(ch->dp, dp_ctx_find(ch->dp, ch->context), "t", &first, NULL))
		return ENOENT;
	return set_loc(ch, ch->context, "t", 1);
}
