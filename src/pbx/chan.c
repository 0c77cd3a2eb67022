/* chan: one call's way through the dialplan: its location, variables, caller ID and Gosub stack,
 * and pbx_chan_run(), which runs the applications until one needs the call engine. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_int.h"

#define LOG_MODULE "pbx"

/* Asterisk's defaults for TIMEOUT(digit) and TIMEOUT(response). */
#define PBX_TIMEOUT_DIGIT_MS	5000
#define PBX_TIMEOUT_RESPONSE_MS 10000

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
	/* Macro(): it returns when its extension ends or at MacroExit(); the caller's MACRO_*
	 * variables are put back then (NULL: were unset). */
	bool macro;
	char *saved[3];
};

struct pbx_chan {
	struct dialplan *dp; /* a reference */
	char *context;
	char *exten;
	unsigned prio;
	struct pbx_vars vars;
	char *cid_num;
	char *cid_name;
	const char *cid_pres; /* one of pres_words */
	pbx_func_h *func_h;
	pbx_func_write_h *func_write_h;
	void *func_arg;
	struct pbx_frame *stack;
	size_t depth;
	size_t cap;
	bool done; /* nothing more to run */
	bool in_h; /* running the h extension */
	bool hung; /* pbx_chan_hangup() was called */
	char prio_buf[16];
	char epoch_buf[24];
	struct mbuf args;    /* the current application's substituted arguments */
	struct mbuf dialbuf; /* the strings of the last PBX_ACT_DIAL */
	/* Local media applications. */
	struct mbuf mediabuf;	 /* the strings of the last media action */
	char *language;		 /* CHANNEL(language) */
	unsigned to_digit_ms;	 /* TIMEOUT(digit) */
	unsigned to_response_ms; /* TIMEOUT(response) */
	enum pbx_app pending;	 /* the application waiting for pbx_chan_media_done() */
	char *read_var;		 /* Read()'s variable */
	unsigned read_left;	 /* Read() attempts left after this one */
	bool read_retry;	 /* Read() runs again: keep read_left */
	char *bg_context;	 /* Background()'s context argument, else NULL */
	/* Authenticate() between its prompts: what it asks for and how far it got. */
	enum { AUTH_NONE, AUTH_ASK, AUTH_THANKS, AUTH_BYE } auth_phase;
	unsigned auth_tries;	 /* wrong answers so far */
	char *auth_pw;		 /* the password, or /file, or with 'd' a database key */
	char auth_opts[8];	 /* its options (d, r, m) */
	char coll[PBX_DIGITS_MAX + 1]; /* extension being collected (Background, WaitExten) */
	bool coll_more;		 /* next run: collect one more digit */
	bool hangup_next;	 /* next run: hang up (WaitExten timed out, no `t`) */
};

enum step {
	STEP_NEXT, /* go on with the next priority */
	STEP_JUMP, /* the location was changed: run it */
	STEP_HOST, /* act is filled: return it, then continue after this priority */
	STEP_STOP, /* act is filled: return it; nothing more runs */
	STEP_FAIL, /* an error was logged: hang up */
};

/* What runs for exten in ctx for this channel's caller (exten => NAME/CID first). */
static const struct dp_prio *chan_find(const struct pbx_chan *ch, const struct dp_ctx *ctx,
				       const char *exten, const struct dp_want *want,
				       const struct dp_ext **extp)
{
	return dp_find_cid(ch->dp, ctx, exten, ch->cid_num, want, extp);
}

static void frame_free(struct pbx_frame *f)
{
	for (size_t i = 0; i < 3; i++)
		free(f->saved[i]);
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
	ch = mem_zmalloc(sizeof(*ch));
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
	ch->cid_pres = "allowed_not_screened";
	mbuf_init(&ch->args);
	mbuf_init(&ch->dialbuf);
	mbuf_init(&ch->mediabuf);
	ch->to_digit_ms = PBX_TIMEOUT_DIGIT_MS;
	ch->to_response_ms = PBX_TIMEOUT_RESPONSE_MS;
	ch->pending = PBX_APP_COUNT;
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
	mbuf_reset(&ch->mediabuf);
	free(ch->language);
	free(ch->read_var);
	free(ch->bg_context);
	free(ch->auth_pw);
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

static const char *const pres_words[] = {
    "allowed_not_screened", "allowed_passed_screen", "allowed_failed_screen", "allowed",
    "prohib_not_screened",  "prohib_passed_screen",  "prohib_failed_screen",  "prohib",
    "unavailable",
};

static int set_pres_n(struct pbx_chan *ch, const char *v, size_t n)
{
	struct pl p = pl_from(v, n);

	pl_trim(&p);
	for (size_t i = 0; i < ARRAY_SIZE(pres_words); i++) {
		if (pl_caseeq_str(&p, pres_words[i])) {
			ch->cid_pres = pres_words[i];
			return 0;
		}
	}
	return EINVAL;
}

int pbx_chan_set_callerpres(struct pbx_chan *ch, const char *pres)
{
	if (!ch || !pres)
		return EINVAL;
	return set_pres_n(ch, pres, strlen(pres));
}

const char *pbx_chan_callerpres(const struct pbx_chan *ch)
{
	return ch->cid_pres;
}

void pbx_chan_set_func_h(struct pbx_chan *ch, pbx_func_h *h, void *arg)
{
	ch->func_h = h;
	ch->func_arg = arg;
}

void pbx_chan_set_func_write_h(struct pbx_chan *ch, pbx_func_write_h *h)
{
	ch->func_write_h = h;
}

/* Set(NAME(ARGS)=value) for a function of the host's; ENOENT when it has none. */
static int host_func_write(struct pbx_chan *ch, const struct pl *nm, const char *value,
			   size_t vlen)
{
	const char *open = pl_chr(nm, '(');
	char name[64], *args;
	size_t n;
	int err;

	if (!ch->func_write_h || !open || nm->p[nm->l - 1] != ')')
		return ENOENT;
	n = (size_t)(open - nm->p);
	while (n && nm->p[n - 1] == ' ')
		n--;
	if (!n || n >= sizeof(name))
		return ENOENT;
	memcpy(name, nm->p, n);
	name[n] = '\0';
	args = strndup(open + 1, (size_t)(nm->p + nm->l - 1 - open - 1));
	if (!args)
		return ENOMEM;
	err = ch->func_write_h(ch, name, args, value ? value : "", value ? vlen : 0, ch->func_arg);
	free(args);
	return err;
}

int pbx_chan_host_func(struct pbx_chan *ch, const char *name, const char *args, struct mbuf *out)
{
	if (!ch || !ch->func_h)
		return ENOENT;
	return ch->func_h(ch, name, args, out, ch->func_arg);
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
	if (name_is(name, n, "EPOCH")) { /* before channel variables, as Asterisk */
		snprintf(ch->epoch_buf, sizeof(ch->epoch_buf), "%lld", (long long)pbx_now());
		return ch->epoch_buf;
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

static int pjsip_header_write(struct pbx_chan *ch, struct pl args, const char *value,
			      size_t vlen);

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
	if (nm.l > 8 && !strncasecmp(nm.p, "CHANNEL(", 8) && nm.p[nm.l - 1] == ')') {
		struct pl what = pl_from(nm.p + 8, nm.l - 9);

		pl_trim(&what);
		if (!pl_caseeq_str(&what, "language"))
			return EINVAL;
		if (!value)
			value = "", vlen = 0;
		if (memchr(value, '/', vlen) || (vlen >= 2 && strstr(value, "..")))
			return EINVAL; /* it becomes a directory name */
		return set_str(&ch->language, value, vlen);
	}
	if (nm.l > 8 && !strncasecmp(nm.p, "TIMEOUT(", 8) && nm.p[nm.l - 1] == ')') {
		struct pl what = pl_from(nm.p + 8, nm.l - 9);
		char num[32];
		double v;

		pl_trim(&what);
		snprintf(num, sizeof(num), "%.*s", (int)MIN(vlen, sizeof(num) - 1),
			 value ? value : "");
		v = strtod(num, NULL);
		if (!(v >= 0) || v > 86400)
			return EINVAL;
		if (pl_caseeq_str(&what, "digit"))
			ch->to_digit_ms = (unsigned)(v * 1000 + 0.5);
		else if (pl_caseeq_str(&what, "response"))
			ch->to_response_ms = (unsigned)(v * 1000 + 0.5);
		else if (!pl_caseeq_str(&what, "absolute"))
			return EINVAL;
		return 0; /* TIMEOUT(absolute) is accepted and not enforced */
	}
	if (nm.l > 13 && !strncasecmp(nm.p, "PJSIP_HEADER(", 13) && nm.p[nm.l - 1] == ')')
		return pjsip_header_write(ch, pl_from(nm.p + 13, nm.l - 14), value, vlen);
	if (nm.l >= 12 && !strncasecmp(nm.p, "CALLERPRES(", 11) && nm.p[nm.l - 1] == ')')
		return value ? set_pres_n(ch, value, vlen) : EINVAL;
	if (pl_chr(&nm, '(')) {
		const char *open = pl_chr(&nm, '(');
		struct pl fn = pl_from(nm.p, (size_t)(open - nm.p));
		int err = ENOENT;

		pl_trim(&fn);
		if (nm.p[nm.l - 1] == ')')
			err = pbx_func_string_write(ch, &fn, open + 1,
						    (size_t)(nm.p + nm.l - 1 - open - 1),
						    value ? value : "", value ? vlen : 0);
		if (err != ENOENT)
			return err;
		err = host_func_write(ch, &nm, value, vlen);

		return err == ENOENT ? EINVAL : err; /* ENOENT: a function we cannot write */
	}
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
		case 'D':
			/* D([called][:calling]): digits for each side once the callee answers. */
			if (o[1] == '(' && (close = strchr(o + 2, ')'))) {
				char *colon;

				*close = '\0';
				colon = strchr(o + 2, ':');
				if (colon)
					*colon = '\0';
				dial->dtmf_called = o[2] ? o + 2 : NULL;
				dial->dtmf_calling = colon && colon[1] ? colon + 1 : NULL;
				o = close;
			}
			break;
		case 'g':
			dial->opts |= PBX_DIAL_OPT_g;
			break;
		case 'F':
			/* F(context^exten^priority), or F alone: the next priority, as g. */
			dial->opts |= PBX_DIAL_OPT_g;
			if (o[1] == '(' && (close = strchr(o + 2, ')'))) {
				*close = '\0';
				dial->cont_target = o[2] ? o + 2 : NULL;
				o = close;
			}
			break;
		case 'S':
		case 'L':
			/* S(seconds): hang up that long after the answer; L(ms[:warn[:repeat]]): the
			 * same in milliseconds (its warnings are not played). */
			if (o[1] == '(' && (close = strchr(o + 2, ')'))) {
				double v = strtod(o + 2, NULL);

				if (v > 0 && v <= (*o == 'S' ? 86400.0 : 86400000.0))
					dial->limit_ms =
					    (uint32_t)(*o == 'S' ? v * 1000 + 0.5 : v + 0.5);
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
		const struct dp_prio *pr = chan_find(ch, dp_ctx_find(ch->dp, ctx), ext, &w, NULL);

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

int pbx_chan_goto(struct pbx_chan *ch, const char *target)
{
	char buf[256], *ctx, *ext;
	unsigned prio;
	int err;

	if (!ch || !target || strlen(target) >= sizeof(buf))
		return EINVAL;
	str_copy(buf, sizeof(buf), target);
	for (char *q = buf; *q; q++) {
		if (*q == '^')
			*q = ',';
	}
	err = resolve_target(ch, buf, &ctx, &ext, &prio);
	if (err)
		return err;
	if (!chan_find(ch, dp_ctx_find(ch->dp, ctx), ext, &(struct dp_want){prio, NULL}, NULL))
		return ENOENT;
	return set_loc(ch, ctx, ext, prio);
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

		if (!chan_find(ch, dp_ctx_find(ch->dp, ctx), ext, &w, NULL))
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

static const char *const macro_vars[3] = {"MACRO_CONTEXT", "MACRO_EXTEN", "MACRO_PRIORITY"};

/* Macro(name[,arg1[,arg2...]]) (deprecated in Asterisk, common in older dialplans): a Gosub to
 * macro-name,s,1 with ARGn, MACRO_CONTEXT, MACRO_EXTEN and MACRO_PRIORITY set, which returns
 * when the macro's extension has no next priority. */
static enum step app_macro(struct pbx_chan *ch, char *args)
{
	char *comma = (char *)pbx_find_top(args, strlen(args), ',', true);
	char *name = args, prio[16], *call = NULL;
	const char *cur[3];
	struct pbx_frame *f;
	size_t depth = ch->depth;
	enum step st;
	int n;

	if (comma)
		*comma = '\0';
	name = trim_inplace(name);
	if (!*name) {
		log_warn("%s,%s,%u: Macro needs a macro name", ch->context, ch->exten, ch->prio);
		return STEP_FAIL;
	}
	/* Gosub(macro-name,s,1(args)) does the frame, its arguments and the checks. */
	n = asprintf(&call, "macro-%s,s,1(%s)", name, comma ? comma + 1 : "");
	if (n < 0)
		return STEP_FAIL;
	snprintf(prio, sizeof(prio), "%u", ch->prio);
	cur[0] = ch->context;
	cur[1] = ch->exten;
	cur[2] = prio;
	{
		/* The caller's place, before the jump changes it. */
		char *c0 = strdup(cur[0]), *c1 = strdup(cur[1]);

		st = c0 && c1 ? app_gosub(ch, call) : STEP_FAIL;
		free(call);
		if (st != STEP_JUMP || ch->depth != depth + 1) {
			free(c0);
			free(c1);
			return st;
		}
		f = &ch->stack[depth];
		f->macro = true;
		cur[0] = c0;
		cur[1] = c1;
		for (size_t i = 0; i < 3; i++) {
			const char *old = pbx_vars_getn(&ch->vars, macro_vars[i],
							strlen(macro_vars[i]));

			f->saved[i] = old ? strdup(old) : NULL;
			if (pbx_vars_setn(&ch->vars, macro_vars[i], strlen(macro_vars[i]), cur[i],
					  strlen(cur[i]))) {
				free(c0);
				free(c1);
				return STEP_FAIL;
			}
		}
		free(c0);
		free(c1);
	}
	return STEP_JUMP;
}

/* The innermost Macro() ends: back after it, its caller's MACRO_* variables restored, and a
 * MACRO_RESULT of GOTO:context^exten^priority followed as in Asterisk. */
static enum step macro_return(struct pbx_chan *ch)
{
	struct pbx_frame *f;
	const char *res;
	int err = 0;

	while (ch->depth && !ch->stack[ch->depth - 1].macro)
		frame_free(&ch->stack[--ch->depth]); /* Gosubs inside the macro end with it */
	if (!ch->depth)
		return STEP_FAIL;
	f = &ch->stack[--ch->depth];
	for (size_t i = 0; i < 3 && !err; i++)
		err = pbx_vars_setn(&ch->vars, macro_vars[i], strlen(macro_vars[i]), f->saved[i],
				    f->saved[i] ? strlen(f->saved[i]) : 0);
	if (!err)
		err = set_loc(ch, f->context, f->exten, f->prio);
	frame_free(f);
	res = pbx_vars_getn(&ch->vars, "MACRO_RESULT", 12);
	if (!err && res && !strncasecmp(res, "GOTO:", 5)) {
		char *t = strdup(res + 5);

		for (char *q = t; q && *q; q++) {
			if (*q == '^')
				*q = ',';
		}
		pbx_vars_setn(&ch->vars, "MACRO_RESULT", 12, NULL, 0);
		if (!t)
			return STEP_FAIL;
		{
			enum step st = app_goto(ch, t, "Macro");

			free(t);
			return st;
		}
	}
	return err ? STEP_FAIL : STEP_JUMP;
}

static bool in_macro(const struct pbx_chan *ch)
{
	for (size_t i = ch->depth; i > 0; i--) {
		if (ch->stack[i - 1].macro)
			return true;
	}
	return false;
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

/* ---- SIPAddHeader -------------------------------------------------------------------------- */

/* Headers the B2BUA writes itself: a dialplan cannot add them (a second Via or Call-ID would
 * break the dialog; chan_sip would have sent them, and the peer would have refused the call). */
static const char *const own_headers[] = {
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Type",
    "Content-Length",
    "Route",
    "Record-Route",
    "Allow",
    "Supported",
    "Require",
    "Session-Expires",
    "Min-SE",
    "Proxy-Require",
    "Authorization",
    "Proxy-Authorization",
    "Expires",
    "v",
    "f",
    "t",
    "i",
    "m",
    "l",
    "c",
    "k",
};

static void added_header_name(char *buf, unsigned i)
{
	snprintf(buf, 16, "SIPADDHEADER%02u", i);
}

static bool header_ok(const char *h, const char **why)
{
	const char *colon = strchr(h, ':');
	size_t n;

	if (!colon || colon == h) {
		*why = "needs 'Name: value'";
		return false;
	}
	n = (size_t)(colon - h);
	while (n && h[n - 1] == ' ')
		n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		/* RFC 3261 token characters */
		if (!(isalnum(c) || strchr("-.!%*_+`'~", c))) {
			*why = "the name is not a SIP token";
			return false;
		}
	}
	if (strpbrk(h, "\r\n")) {
		*why = "a header is one line";
		return false;
	}
	for (size_t i = 0; i < sizeof(own_headers) / sizeof(own_headers[0]); i++) {
		if (strlen(own_headers[i]) == n && !strncasecmp(h, own_headers[i], n)) {
			*why = "mikaka writes that header itself";
			return false;
		}
	}
	return true;
}

/* Keeps header line h for the next Dial()s; EINVAL (warned) when it is refused. */
static int add_header(struct pbx_chan *ch, const char *what, const char *h)
{
	char name[16];
	const char *why = NULL;

	if (!header_ok(h, &why)) {
		log_warn("%s,%s,%u: %s(%s): %s; not added", ch->context, ch->exten, ch->prio, what,
			 h, why);
		return EINVAL;
	}
	for (unsigned i = 1; i <= PBX_SIPADDHEADER_MAX; i++) {
		added_header_name(name, i);
		if (!pbx_vars_getn(&ch->vars, name, strlen(name)))
			return pbx_vars_setn(&ch->vars, name, strlen(name), h, strlen(h));
	}
	log_warn("%s,%s,%u: %s: already %d headers; not added", ch->context, ch->exten, ch->prio,
		 what, PBX_SIPADDHEADER_MAX);
	return ENOSPC;
}

/* Drops the added headers starting with prefix (all when it is empty); with `whole_name`, those
 * whose name is exactly prefix (blanks before the colon ignored). */
static void remove_headers(struct pbx_chan *ch, const char *prefix, bool whole_name)
{
	size_t n = strlen(prefix);
	char name[16];

	for (unsigned i = 1; i <= PBX_SIPADDHEADER_MAX; i++) {
		const char *v, *colon;
		size_t vl;

		added_header_name(name, i);
		v = pbx_vars_getn(&ch->vars, name, strlen(name));
		if (!v || (n && strncasecmp(v, prefix, n)))
			continue;
		if (whole_name && n) {
			colon = strchr(v, ':');
			vl = colon ? (size_t)(colon - v) : strlen(v);
			while (vl && v[vl - 1] == ' ')
				vl--;
			if (vl != n)
				continue;
		}
		pbx_vars_setn(&ch->vars, name, strlen(name), NULL, 0);
	}
}

static enum step app_sipaddheader(struct pbx_chan *ch, const char *args)
{
	while (*args == ' ')
		args++;
	return add_header(ch, "SIPAddHeader", args) == ENOMEM ? STEP_FAIL : STEP_NEXT;
}

/* SIPRemoveHeader([prefix]): every added header, or those starting with prefix. */
static enum step app_sipremoveheader(struct pbx_chan *ch, const char *args)
{
	while (*args == ' ')
		args++;
	remove_headers(ch, args, false);
	return STEP_NEXT;
}

/* Set(PJSIP_HEADER(add|update,Name)=value) and Set(PJSIP_HEADER(remove,Name|*)=): chan_pjsip's
 * way of writing SIPAddHeader()/SIPRemoveHeader(), kept in the same variables. */
static int pjsip_header_write(struct pbx_chan *ch, struct pl args, const char *value, size_t vlen)
{
	const char *comma = pl_chr(&args, ',');
	struct pl action, name;
	char hdr[1024];

	if (!comma)
		return EINVAL;
	action = pl_from(args.p, (size_t)(comma - args.p));
	name = pl_from(comma + 1, (size_t)(args.p + args.l - comma - 1));
	pl_trim(&action);
	pl_trim(&name);
	if (!name.l || name.l > 128)
		return EINVAL;
	if (pl_caseeq_str(&action, "remove")) {
		snprintf(hdr, sizeof(hdr), "%.*s", (int)name.l, name.p);
		remove_headers(ch, strcmp(hdr, "*") ? hdr : "", true);
		return 0;
	}
	if (!pl_caseeq_str(&action, "add") && !pl_caseeq_str(&action, "update"))
		return EINVAL;
	if (pl_caseeq_str(&action, "update")) {
		snprintf(hdr, sizeof(hdr), "%.*s", (int)name.l, name.p);
		remove_headers(ch, hdr, true);
	}
	if (snprintf(hdr, sizeof(hdr), "%.*s: %.*s", (int)name.l, name.p, (int)vlen,
		     value ? value : "") >= (int)sizeof(hdr))
		return EINVAL;
	return add_header(ch, "PJSIP_HEADER", hdr) == ENOMEM ? ENOMEM : 0;
}

int pbx_chan_added_headers(struct pbx_chan *ch, struct mbuf *out)
{
	const char *by_index[PBX_SIPADDHEADER_MAX + 1] = {NULL};
	bool any = false;
	int err = 0;

	if (!ch || !out)
		return EINVAL;
	/* One pass over the channel's few variables (every Dial() leg asks, most calls have none).
	 */
	for (size_t i = 0; i < ch->vars.n; i++) {
		const char *nm = ch->vars.v[i].name;
		unsigned idx;

		if (strlen(nm) != 14 || strncasecmp(nm, "SIPADDHEADER", 12) ||
		    !isdigit((unsigned char)nm[12]) || !isdigit((unsigned char)nm[13]))
			continue;
		idx = (unsigned)(nm[12] - '0') * 10 + (unsigned)(nm[13] - '0');
		if (idx >= 1 && idx <= PBX_SIPADDHEADER_MAX) {
			by_index[idx] = ch->vars.v[i].value;
			any = true;
		}
	}
	for (unsigned i = 1; any && i <= PBX_SIPADDHEADER_MAX && !err; i++) {
		const char *why;

		/* Set() can write the variable too: checked again. */
		if (!by_index[i] || !header_ok(by_index[i], &why))
			continue;
		err = mbuf_write_str(out, by_index[i]);
		if (!err)
			err = mbuf_write_str(out, "\r\n");
	}
	return err;
}

/* DBdel(family/key) is DB_DELETE's write; DBdeltree(family[/keytree]) the host's "DBdeltree".
 * Either goes on when the host has no database or the key is not there, as Asterisk. */
static enum step app_db_delete(struct pbx_chan *ch, const char *args, bool tree)
{
	const char *fn = tree ? "DBdeltree" : "DB_DELETE";
	int err = ch->func_write_h ? ch->func_write_h(ch, fn, args, "", 0, ch->func_arg) : ENOENT;

	if (err == ENOMEM)
		return STEP_FAIL;
	if (err && err != ENOENT)
		log_warn("%s,%s,%u: %s(%s): %s", ch->context, ch->exten, ch->prio,
			 tree ? "DBdeltree" : "DBdel", args, strerror(err));
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

/* ---- local media applications ---------------------------------------------------------------- */

const char *pbx_chan_language(struct pbx_chan *ch)
{
	const char *v;

	if (!ch)
		return "";
	if (ch->language)
		return ch->language;
	v = pbx_vars_getn(&ch->vars, "language", 8);
	return v ? v : "";
}

int pbx_chan_func_read(struct pbx_chan *ch, const struct pl *fn, const struct pl *arg,
		       struct mbuf *mb)
{
	struct pl a = *arg;

	pl_trim(&a);
	if (pl_caseeq_str(fn, "CHANNEL")) {
		if (pl_caseeq_str(&a, "language"))
			return mbuf_write_str(mb, pbx_chan_language(ch));
		log_warn("CHANNEL(%.*s): not supported", (int)MIN(a.l, 64), a.p);
		return 0;
	}
	if (pl_caseeq_str(fn, "TIMEOUT")) {
		unsigned ms = 0;

		if (pl_caseeq_str(&a, "digit"))
			ms = ch->to_digit_ms;
		else if (pl_caseeq_str(&a, "response"))
			ms = ch->to_response_ms;
		if (ms % 1000)
			return mbuf_printf(mb, "%.3f", ms / 1000.0);
		return mbuf_printf(mb, "%u", ms / 1000);
	}
	return ENOENT;
}

size_t pbx_split_files(char *list, const char **files, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *t = strtok_r(list, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
		t = trim_inplace(t);
		if (!*t)
			continue;
		if (n == max) {
			log_warn("more than %zu sound files in one application; the rest are dropped",
				 max);
			break;
		}
		files[n++] = t;
	}
	return n;
}

static int add_file(struct mbuf *out, const char *name)
{
	if (out->end && mbuf_write(out, "&", 1))
		return ENOMEM;
	return mbuf_write_str(out, name);
}

int pbx_say_digits(const char *digits, struct mbuf *out)
{
	char name[32];

	for (const char *d = digits; *d; d++) {
		unsigned char c = (unsigned char)*d;

		if (isdigit(c))
			snprintf(name, sizeof(name), "digits/%c", c);
		else if (c == '*')
			snprintf(name, sizeof(name), "digits/star");
		else if (c == '#')
			snprintf(name, sizeof(name), "digits/pound");
		else if (c == '-')
			snprintf(name, sizeof(name), "digits/minus");
		else if (isalpha(c))
			snprintf(name, sizeof(name), "letters/%c", tolower(c));
		else
			continue; /* Asterisk skips what it cannot say */
		if (add_file(out, name))
			return ENOMEM;
	}
	return 0;
}

/* 0..999 */
static int say_hundreds(unsigned v, struct mbuf *out)
{
	char name[32];

	if (v >= 100) {
		snprintf(name, sizeof(name), "digits/%u", v / 100);
		if (add_file(out, name) || add_file(out, "digits/hundred"))
			return ENOMEM;
		v %= 100;
	}
	if (v >= 20) {
		snprintf(name, sizeof(name), "digits/%u", v - v % 10);
		if (add_file(out, name))
			return ENOMEM;
		v %= 10;
		if (!v)
			return 0;
	}
	if (v) {
		snprintf(name, sizeof(name), "digits/%u", v);
		if (add_file(out, name))
			return ENOMEM;
	}
	return 0;
}

int pbx_say_number(const char *num, struct mbuf *out)
{
	unsigned long long v;
	char *end;
	bool neg = false;

	while (*num == ' ')
		num++;
	if (*num == '-') {
		neg = true;
		num++;
	}
	if (!isdigit((unsigned char)*num))
		return EINVAL;
	v = strtoull(num, &end, 10);
	while (*end == ' ')
		end++;
	if (*end || v > 999999999ULL)
		return EINVAL;
	if (neg && add_file(out, "digits/minus"))
		return ENOMEM;
	if (v == 0)
		return add_file(out, "digits/0");
	if (v >= 1000000) {
		if (say_hundreds((unsigned)(v / 1000000), out) || add_file(out, "digits/million"))
			return ENOMEM;
		v %= 1000000;
	}
	if (v >= 1000) {
		if (say_hundreds((unsigned)(v / 1000), out) || add_file(out, "digits/thousand"))
			return ENOMEM;
		v %= 1000;
	}
	return v ? say_hundreds((unsigned)v, out) : 0;
}

/* Splits comma-separated arguments in place (Asterisk's standard application arguments,
 * without quoting). Returns the count; argv beyond it is set to "". */
static size_t split_args(char *args, char **argv, size_t max)
{
	size_t n = 0;
	char *p = args;

	for (size_t i = 0; i < max; i++)
		argv[i] = (char *)"";
	if (!*args)
		return 0;
	while (n < max) {
		char *c = strchr(p, ',');

		if (c && n + 1 < max)
			*c = '\0';
		else
			c = NULL;
		argv[n++] = trim_inplace(p);
		if (!c)
			break;
		p = c + 1;
	}
	return n;
}

static unsigned secs_ms(const char *s, unsigned dflt)
{
	char *end;
	double v;

	if (!s || !*s)
		return dflt;
	v = strtod(s, &end);
	if (end == s || !(v >= 0) || v > 86400)
		return dflt;
	return (unsigned)(v * 1000 + 0.5);
}

/* Copies the arguments into the media buffer (their strings must outlive this run). */
static char *media_args(struct pbx_chan *ch, const char *args)
{
	ch->mediabuf.end = 0;
	if (mbuf_write_str(&ch->mediabuf, args) || mbuf_write(&ch->mediabuf, "", 1))
		return NULL;
	return (char *)ch->mediabuf.buf;
}

static void media_init(struct pbx_chan *ch, struct pbx_action *act, enum pbx_act_type type,
		       enum pbx_app app)
{
	memset(&act->media, 0, sizeof(act->media));
	act->type = type;
	act->media.language = pbx_chan_language(ch);
	act->media.stop_digits = "";
	act->media.term_digits = "";
	act->media.end_digits = "";
	act->media.moh_class = "";
	act->media.tone = "";
	act->media.path = "";
	act->media.format = "";
	act->media.app = pbx_app_name(app < PBX_APP_COUNT ? app : PBX_APP_NOOP);
	ch->pending = app;
}

static bool has_opt(const char *opts, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = opts; (p = strcasestr(p, word)); p += n) {
		bool start = p == opts || p[-1] == '&' || p[-1] == '|' || p[-1] == ' ';
		bool end = !p[n] || p[n] == '&' || p[n] == '|' || p[n] == ' ';

		if (start && end)
			return true;
	}
	return false;
}

static enum step app_playback(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = media_args(ch, args), *argv[2];

	if (!a)
		return STEP_FAIL;
	split_args(a, argv, 2);
	media_init(ch, act, PBX_ACT_PLAY, PBX_APP_PLAYBACK);
	act->media.nfiles = pbx_split_files(argv[0], act->media.files, PBX_MEDIA_FILES_MAX);
	act->media.answer = !has_opt(argv[1], "noanswer");
	act->media.skip_unanswered = has_opt(argv[1], "skip");
	if (!act->media.nfiles) {
		log_warn("%s,%s,%u: Playback requires an argument (filename)", ch->context,
			 ch->exten, ch->prio);
		ch->pending = PBX_APP_COUNT;
		return pbx_vars_setn(&ch->vars, "PLAYBACKSTATUS", 14, "FAILED", 6) ? STEP_FAIL
										    : STEP_NEXT;
	}
	return STEP_HOST;
}

static enum step app_background(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = media_args(ch, args), *argv[4];

	if (!a)
		return STEP_FAIL;
	split_args(a, argv, 4);
	media_init(ch, act, PBX_ACT_PLAY, PBX_APP_BACKGROUND);
	act->media.nfiles = pbx_split_files(argv[0], act->media.files, PBX_MEDIA_FILES_MAX);
	act->media.answer = !strchr(argv[1], 'n');
	act->media.skip_unanswered = strchr(argv[1], 's') != NULL;
	act->media.stop_digits = "0123456789*#";
	act->media.max_digits = 1;
	if (*argv[2])
		act->media.language = argv[2];
	free(ch->bg_context);
	ch->bg_context = *argv[3] ? strdup(argv[3]) : NULL;
	ch->coll[0] = '\0';
	return STEP_HOST;
}

static enum step app_waitexten(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = media_args(ch, args), *argv[2], *m;

	if (!a)
		return STEP_FAIL;
	split_args(a, argv, 2);
	free(ch->bg_context); /* Background's context applies to its own digits only */
	ch->bg_context = NULL;
	media_init(ch, act, PBX_ACT_PLAY, PBX_APP_WAITEXTEN);
	act->media.max_digits = 1;
	act->media.timeout_ms = secs_ms(argv[0], ch->to_response_ms);
	if (!act->media.timeout_ms)
		act->media.timeout_ms = ch->to_response_ms;
	if ((m = strchr(argv[1], 'm'))) {
		char *close;

		act->media.moh_class = "default";
		if (m[1] == '(' && (close = strchr(m + 2, ')'))) {
			*close = '\0';
			act->media.moh_class = m + 2;
		}
	}
	ch->coll[0] = '\0';
	return STEP_HOST;
}

static enum step app_read(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = media_args(ch, args), *argv[6];
	unsigned long v;

	if (!a)
		return STEP_FAIL;
	split_args(a, argv, 6);
	if (!*argv[0]) {
		log_warn("%s,%s,%u: Read requires an argument (variable)", ch->context, ch->exten,
			 ch->prio);
		return pbx_vars_setn(&ch->vars, "READSTATUS", 10, "ERROR", 5) ? STEP_FAIL
									       : STEP_NEXT;
	}
	media_init(ch, act, PBX_ACT_PLAY, PBX_APP_READ);
	free(ch->read_var);
	ch->read_var = strdup(argv[0]);
	if (!ch->read_var)
		return STEP_FAIL;
	act->media.nfiles = pbx_split_files(argv[1], act->media.files, PBX_MEDIA_FILES_MAX);
	v = strtoul(argv[2], NULL, 10);
	act->media.max_digits = v == 0 || v > PBX_DIGITS_MAX ? PBX_DIGITS_MAX : (unsigned)v;
	act->media.answer = !strchr(argv[3], 'n');
	act->media.skip_unanswered = strchr(argv[3], 's') != NULL;
	act->media.stop_digits = "0123456789*#ABCD";
	act->media.term_digits = "#";
	if (!ch->read_retry) {
		v = strtoul(argv[4], NULL, 10);
		ch->read_left = v > 1 ? (unsigned)MIN(v, 100) - 1 : 0;
	}
	ch->read_retry = false;
	act->media.timeout_ms = secs_ms(argv[5], 0);
	act->media.digit_timeout_ms = act->media.timeout_ms;
	if (!act->media.timeout_ms) {
		act->media.timeout_ms = ch->to_response_ms;
		act->media.digit_timeout_ms = ch->to_digit_ms;
	}
	return STEP_HOST;
}

static enum step app_say(struct pbx_chan *ch, const char *args, struct pbx_action *act,
			 bool number)
{
	char *argv[2], *a;
	int err;

	ch->dialbuf.end = 0;
	if (mbuf_write_str(&ch->dialbuf, args) || mbuf_write(&ch->dialbuf, "", 1))
		return STEP_FAIL;
	split_args((char *)ch->dialbuf.buf, argv, 2);
	ch->mediabuf.end = 0;
	err = number ? pbx_say_number(argv[0], &ch->mediabuf) : pbx_say_digits(argv[0], &ch->mediabuf);
	if (err == EINVAL) {
		log_warn("%s,%s,%u: SayNumber: '%s' is not a number", ch->context, ch->exten,
			 ch->prio, argv[0]);
		return STEP_NEXT;
	}
	if (err || mbuf_write(&ch->mediabuf, "", 1))
		return STEP_FAIL;
	a = (char *)ch->mediabuf.buf;
	media_init(ch, act, PBX_ACT_PLAY, number ? PBX_APP_SAYNUMBER : PBX_APP_SAYDIGITS);
	act->media.nfiles = pbx_split_files(a, act->media.files, PBX_MEDIA_FILES_MAX);
	if (!act->media.nfiles) {
		ch->pending = PBX_APP_COUNT;
		return STEP_NEXT;
	}
	return STEP_HOST;
}

/* "name.format" -> name and format (in place). */
static bool split_format(char *file, const char **fmt)
{
	char *dot = strrchr(file, '.'), *slash = strrchr(file, '/');

	if (!dot || (slash && dot < slash) || !dot[1] || dot == file)
		return false;
	*dot = '\0';
	*fmt = dot + 1;
	return true;
}

/* Asterisk's number of tries before Authenticate() says goodbye and hangs up. */
#define AUTH_TRIES 3

/* Whether `digits` is one of the passwords of a file: a password a line, or with 'm'
 * ACCOUNT:PASSWORD lines. */
static bool auth_file_has(const char *path, const char *digits, bool account)
{
	FILE *f = fopen(path, "r");
	char line[256];
	bool found = false;

	if (!f) {
		log_warn("Authenticate: cannot read %s: %s", path, strerror(errno));
		return false;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		char *pw;

		line[strcspn(line, "\r\n")] = '\0';
		pw = account ? strchr(line, ':') : line;

		if (!pw)
			continue;
		pw = trim_inplace(pw + (account ? 1 : 0));
		found = *pw && !strcmp(pw, digits);
	}
	fclose(f);
	return found;
}

/* Whether the digits entered are the password (a literal, a file, or with 'd' the database). */
static bool auth_check(struct pbx_chan *ch, const char *digits)
{
	const char *pw = ch->auth_pw ? ch->auth_pw : "";

	if (!*digits)
		return false;
	if (strchr(ch->auth_opts, 'd')) {
		struct mbuf v;
		bool ok;

		mbuf_init(&v);
		ok = pbx_chan_host_func(ch, "DB", pw[0] == '/' ? pw + 1 : pw, &v) == 0 &&
		     v.end == strlen(digits) && !memcmp(v.buf, digits, v.end);
		mbuf_reset(&v);
		if (ok && strchr(ch->auth_opts, 'r')) {
			mbuf_init(&v);
			pbx_chan_host_func(ch, "DB_DELETE", pw[0] == '/' ? pw + 1 : pw, &v);
			mbuf_reset(&v);
		}
		return ok;
	}
	if (pw[0] == '/')
		return auth_file_has(pw, digits, strchr(ch->auth_opts, 'm') != NULL);
	return !strcmp(pw, digits);
}

/* Authenticate(password[,options[,maxdigits[,prompt]]]): asks for the password (ending with #),
 * up to three times ("auth-incorrect" before each retry), then "auth-thankyou" and the next
 * priority, or "vm-goodbye" and a hang-up. Each prompt is a media action; media_done moves it
 * on and runs this priority again for the next one. */
static enum step app_authenticate(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = media_args(ch, args), *argv[4];
	unsigned long maxd;

	if (!a)
		return STEP_FAIL;
	split_args(a, argv, 4);
	if (ch->auth_phase == AUTH_NONE) {
		if (!*argv[0]) {
			log_warn("%s,%s,%u: Authenticate requires a password", ch->context,
				 ch->exten, ch->prio);
			return STEP_FAIL;
		}
		free(ch->auth_pw);
		ch->auth_pw = strdup(argv[0]);
		if (!ch->auth_pw)
			return STEP_FAIL;
		snprintf(ch->auth_opts, sizeof(ch->auth_opts), "%s", argv[1]);
		ch->auth_tries = 0;
		ch->auth_phase = AUTH_ASK;
	}
	media_init(ch, act, PBX_ACT_PLAY, PBX_APP_AUTHENTICATE);
	act->media.answer = true;
	act->media.nfiles = 1;
	switch (ch->auth_phase) {
	case AUTH_THANKS:
		act->media.files[0] = "auth-thankyou";
		return STEP_HOST;
	case AUTH_BYE:
		act->media.files[0] = "vm-goodbye";
		return STEP_HOST;
	default:
		break;
	}
	act->media.files[0] = ch->auth_tries ? "auth-incorrect" : *argv[3] ? argv[3] : "agent-pass";
	maxd = strtoul(argv[2], NULL, 10);
	act->media.max_digits = maxd == 0 || maxd > PBX_DIGITS_MAX ? PBX_DIGITS_MAX : (unsigned)maxd;
	act->media.stop_digits = "0123456789*#";
	act->media.term_digits = "#";
	act->media.timeout_ms = ch->to_response_ms;
	act->media.digit_timeout_ms = ch->to_digit_ms;
	return STEP_HOST;
}

/* The answer to one of Authenticate()'s prompts. */
static int auth_media_done(struct pbx_chan *ch, enum pbx_media_status st, const char *digits)
{
	switch (ch->auth_phase) {
	case AUTH_ASK:
		if (auth_check(ch, digits)) {
			ch->auth_phase = AUTH_THANKS;
		} else if (++ch->auth_tries >= AUTH_TRIES) {
			log_notice("%s,%s,%u: Authenticate: %u wrong passwords; hanging up",
				   ch->context, ch->exten, ch->prio - 1, ch->auth_tries);
			ch->auth_phase = AUTH_BYE;
		}
		(void)st;
		ch->prio--; /* the same priority, for the next prompt */
		return 0;
	case AUTH_THANKS:
		ch->auth_phase = AUTH_NONE;
		return 0;
	case AUTH_BYE:
		ch->auth_phase = AUTH_NONE;
		ch->hangup_next = true;
		return 0;
	default:
		return 0;
	}
}

static enum step app_record(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = media_args(ch, args), *argv[4];
	const char *fmt;

	if (!a)
		return STEP_FAIL;
	split_args(a, argv, 4);
	media_init(ch, act, PBX_ACT_RECORD, PBX_APP_RECORD);
	if (!*argv[0] || !split_format(argv[0], &fmt) || strcasecmp(fmt, "wav")) {
		log_warn("%s,%s,%u: Record(%s): needs filename.wav", ch->context, ch->exten,
			 ch->prio, args);
		ch->pending = PBX_APP_COUNT;
		return pbx_vars_setn(&ch->vars, "RECORD_STATUS", 13, "ERROR", 5) ? STEP_FAIL
										   : STEP_NEXT;
	}
	act->media.path = argv[0];
	act->media.format = fmt;
	act->media.silence_ms = secs_ms(argv[1], 0);
	act->media.max_ms = secs_ms(argv[2], 0);
	for (const char *o = argv[3]; *o; o++) {
		const char *k = strchr("anqstxky", *o);

		if (k)
			act->media.rec_opts |= 1u << (k - "anqstxky");
	}
	act->media.answer = !(act->media.rec_opts & PBX_REC_OPT_n);
	act->media.skip_unanswered = act->media.rec_opts & PBX_REC_OPT_s;
	act->media.end_digits = act->media.rec_opts & PBX_REC_OPT_x   ? ""
				: act->media.rec_opts & PBX_REC_OPT_y ? "0123456789*#ABCD"
				: act->media.rec_opts & PBX_REC_OPT_t ? "*"
								      : "#";
	if (pbx_vars_setn(&ch->vars, "RECORDED_FILE", 13, argv[0], strlen(argv[0])))
		return STEP_FAIL;
	return STEP_HOST;
}

static enum step app_mixmonitor(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = media_args(ch, args), *argv[3];
	const char *fmt;

	if (!a)
		return STEP_FAIL;
	split_args(a, argv, 3);
	if (!*argv[0] || !split_format(argv[0], &fmt) || strcasecmp(fmt, "wav")) {
		log_warn("%s,%s,%u: MixMonitor(%s): needs filename.wav", ch->context, ch->exten,
			 ch->prio, args);
		return STEP_NEXT;
	}
	media_init(ch, act, PBX_ACT_MIXMONITOR, PBX_APP_COUNT);
	act->media.app = "MixMonitor";
	act->media.path = argv[0];
	act->media.format = fmt;
	if (pbx_vars_setn(&ch->vars, "MIXMONITOR_FILENAME", 19, argv[0], strlen(argv[0])))
		return STEP_FAIL;
	return STEP_HOST;
}

/* VoiceMail(box[@context][&...][,options]) and VoiceMailMain([box][@context][,options]). */
static enum step app_voicemail(struct pbx_chan *ch, enum pbx_app app, const char *args,
			       struct pbx_action *act)
{
	char *a = media_args(ch, args), *argv[2], *amp;

	if (!a)
		return STEP_FAIL;
	split_args(a, argv, 2);
	amp = strchr(argv[0], '&');
	if (amp)
		*amp = '\0'; /* one mailbox only (the checker warns) */
	if (app == PBX_APP_VOICEMAIL && !*argv[0]) {
		log_warn("%s,%s,%u: VoiceMail: needs a mailbox", ch->context, ch->exten, ch->prio);
		return pbx_vars_setn(&ch->vars, "VMSTATUS", 8, "FAILED", 6) ? STEP_FAIL : STEP_NEXT;
	}
	media_init(ch, act, app == PBX_APP_VOICEMAIL ? PBX_ACT_VOICEMAIL : PBX_ACT_VOICEMAILMAIN,
		   app);
	act->media.answer = true;
	act->media.path = argv[0];
	for (const char *o = argv[1]; *o; o++) {
		const char *k = strchr("ubs", *o);

		if (k)
			act->media.rec_opts |= 1u << (k - "ubs");
	}
	return STEP_HOST;
}

static enum step app_simple_media(struct pbx_chan *ch, enum pbx_app app, const char *args,
				  struct pbx_action *act)
{
	char *a = media_args(ch, args), *argv[2];

	if (!a)
		return STEP_FAIL;
	split_args(a, argv, 2);
	switch (app) {
	case PBX_APP_ECHO:
		media_init(ch, act, PBX_ACT_ECHO, app);
		act->media.answer = true;
		act->media.end_digits = "#";
		break;
	case PBX_APP_MILLIWATT:
		media_init(ch, act, PBX_ACT_TONE, app);
		act->media.answer = true;
		act->media.tone = strchr(argv[0], 'o') ? "1000" : "1004";
		break;
	case PBX_APP_MOH:
		media_init(ch, act, PBX_ACT_MOH, app);
		act->media.answer = true;
		act->media.moh_class = *argv[0] ? argv[0] : "default";
		act->media.duration_ms = secs_ms(argv[1], 0);
		break;
	case PBX_APP_CONFBRIDGE:
	case PBX_APP_MEETME:
		/* ConfBridge(room[,bridge profile[,user profile[,menu]]]), MeetMe(room[,opts]):
		 * the profiles and options are Asterisk's; one room each, by name. */
		media_init(ch, act, PBX_ACT_CONF, app);
		act->media.answer = true;
		act->media.path = *argv[0] ? argv[0] : ch->exten;
		break;
	default:
		media_init(ch, act, PBX_ACT_STOPMIXMONITOR, PBX_APP_COUNT);
		act->media.app = "StopMixMonitor";
		break;
	}
	return STEP_HOST;
}

/* The extension collected so far is complete (or no longer grows): jump to it, or `i`. */
static int coll_finish(struct pbx_chan *ch)
{
	struct dp_want first = {1, NULL};
	const char *ctxname = ch->bg_context ? ch->bg_context : ch->context;
	const struct dp_ctx *ctx = dp_ctx_find(ch->dp, ctxname);
	char coll[sizeof(ch->coll)];
	char ctxcopy[256];
	int err;

	memcpy(coll, ch->coll, sizeof(coll));
	snprintf(ctxcopy, sizeof(ctxcopy), "%s", ctxname);
	ch->coll[0] = '\0';
	free(ch->bg_context);
	ch->bg_context = NULL;
	if (ctx && chan_find(ch, ctx, coll, &first, NULL))
		return set_loc(ch, ctxcopy, coll, 1);
	if (ctx && chan_find(ch, ctx, "i", &first, NULL)) {
		err = pbx_vars_setn(&ch->vars, "INVALID_EXTEN", 13, coll, strlen(coll));
		return err ? err : set_loc(ch, ctxcopy, "i", 1);
	}
	log_notice("%s,%s,%u: invalid extension '%s' and no 'i' extension in '%s'; hanging up",
		   ch->context, ch->exten, ch->prio, coll, ctxcopy);
	ch->hangup_next = true;
	return 0;
}

static int coll_add(struct pbx_chan *ch, const char *digits)
{
	size_t have = strlen(ch->coll);
	const char *ctxname = ch->bg_context ? ch->bg_context : ch->context;

	snprintf(ch->coll + have, sizeof(ch->coll) - have, "%s", digits);
	if (strlen(ch->coll) < PBX_DIGITS_MAX &&
	    dp_can_match_more(ch->dp, dp_ctx_find(ch->dp, ctxname), ch->coll)) {
		ch->coll_more = true;
		return 0;
	}
	return coll_finish(ch);
}

static int setv(struct pbx_chan *ch, const char *name, const char *value)
{
	return pbx_vars_setn(&ch->vars, name, strlen(name), value, strlen(value));
}

int pbx_chan_media_done(struct pbx_chan *ch, enum pbx_media_status st, const char *digits)
{
	enum pbx_app app;

	if (!ch || ch->pending == PBX_APP_COUNT)
		return EINVAL;
	app = ch->pending;
	ch->pending = PBX_APP_COUNT;
	if (!digits)
		digits = "";
	switch (app) {
	case PBX_APP_PLAYBACK:
		return setv(ch, "PLAYBACKSTATUS", st == PBX_MEDIA_FAILED ? "FAILED" : "SUCCESS");
	case PBX_APP_BACKGROUND: {
		int err = setv(ch, "BACKGROUNDSTATUS", st == PBX_MEDIA_FAILED ? "FAILED" : "SUCCESS");

		if (err || !*digits || ch->in_h)
			return err;
		return coll_add(ch, digits);
	}
	case PBX_APP_WAITEXTEN:
		if (*digits)
			return coll_add(ch, digits);
		if (ch->coll[0])
			return coll_finish(ch); /* no further digit: what was dialled is it */
		if (pbx_chan_timeout(ch) == 0)
			return 0;
		log_notice("%s,%s,%u: WaitExten timed out and there is no 't' extension; hanging up",
			   ch->context, ch->exten, ch->prio);
		ch->hangup_next = true;
		return 0;
	case PBX_APP_READ: {
		int err;

		if (!*digits && st == PBX_MEDIA_TIMEOUT && ch->read_left) {
			ch->read_left--;
			ch->read_retry = true;
			ch->prio--; /* the same Read again */
			return 0;
		}
		err = setv(ch, ch->read_var ? ch->read_var : "READ", digits);
		if (!err)
			err = setv(ch, "READSTATUS",
				   st == PBX_MEDIA_FAILED  ? "ERROR"
				   : st == PBX_MEDIA_SKIP  ? "SKIPPED"
				   : !*digits && st == PBX_MEDIA_TIMEOUT ? "TIMEOUT"
									  : "OK");
		return err;
	}
	case PBX_APP_AUTHENTICATE:
		return auth_media_done(ch, st, digits);
	case PBX_APP_RECORD:
		return setv(ch, "RECORD_STATUS",
			    st == PBX_MEDIA_SILENCE   ? "SILENCE"
			    : st == PBX_MEDIA_TIMEOUT ? "TIMEOUT"
			    : st == PBX_MEDIA_SKIP    ? "SKIP"
			    : st == PBX_MEDIA_FAILED  ? "ERROR"
						      : "DTMF");
	case PBX_APP_VOICEMAIL: {
		int err = setv(ch, "VMSTATUS",
			       st == PBX_MEDIA_DIGITS   ? "USEREXIT"
			       : st == PBX_MEDIA_FAILED ? "FAILED"
							: "SUCCESS");
		/* As Asterisk: '*' during the greeting leaves to extension a, '0' to o (the
		 * operator) of the current context, priority 1, when they exist. */
		const char *to = !strcmp(digits, "*") ? "a" : !strcmp(digits, "0") ? "o" : NULL;

		if (err || st != PBX_MEDIA_DIGITS || !to || ch->in_h || !pbx_chan_exten_exists(ch, to))
			return err;
		return set_loc(ch, ch->context, to, 1);
	}
	default:
		return 0;
	}
}

/* ExecIf/ExecIfTime nesting (ExecIf(1?ExecIf(1?...))). */
#define PBX_EXEC_DEPTH_MAX 8

static enum step exec_app(struct pbx_chan *ch, enum pbx_app app, char *args,
			  struct pbx_action *act, unsigned depth);

/* Runs "App(args)" (or the older "App,args") of ExecIf/ExecIfTime; args are already
 * substituted and are not substituted again, as in Asterisk. */
static enum step exec_inner(struct pbx_chan *ch, const char *what, char *s,
			    struct pbx_action *act, unsigned depth)
{
	char *name = trim_inplace(s), *open, *comma, *args = (char *)"";
	enum pbx_app app;

	open = strchr(name, '(');
	comma = strchr(name, ',');
	if (open && (!comma || open < comma)) {
		char *close = strrchr(open, ')');

		*open = '\0';
		args = open + 1;
		if (close)
			*close = '\0';
	} else if (comma) {
		*comma = '\0';
		args = comma + 1;
	}
	name = trim_inplace(name);
	if (depth >= PBX_EXEC_DEPTH_MAX) {
		log_error("%s,%s,%u: %s nested too deep; hanging up", ch->context, ch->exten,
			  ch->prio, what);
		return STEP_FAIL;
	}
	if (pbx_app_lookup(name, strlen(name), &app)) {
		/* Asterisk hangs up when the application does not exist. */
		log_error("%s,%s,%u: %s: no application '%s'; hanging up", ch->context, ch->exten,
			  ch->prio, what, name);
		return STEP_FAIL;
	}
	return exec_app(ch, app, args, act, depth + 1);
}

/* ExecIf(cond?app1(args)[:app2(args)]) */
static enum step app_execif(struct pbx_chan *ch, char *args, struct pbx_action *act,
			    unsigned depth)
{
	char *q = (char *)pbx_find_top(args, strlen(args), '?', false), *t, *f;

	if (!q) {
		log_warn("%s,%s,%u: ExecIf needs 'condition?app(args)[:app(args)]'", ch->context,
			 ch->exten, ch->prio);
		return STEP_NEXT;
	}
	*q = '\0';
	t = q + 1;
	f = (char *)pbx_find_top(t, strlen(t), ':', true);
	if (f)
		*f++ = '\0';
	if (pbx_truth(trim_inplace(args)))
		return exec_inner(ch, "ExecIf", t, act, depth);
	if (f && *trim_inplace(f))
		return exec_inner(ch, "ExecIf", f, act, depth);
	return STEP_NEXT;
}

/* The time condition before '?'; a bad specification warns and counts as false. */
static bool time_cond(struct pbx_chan *ch, const char *what, const char *spec, size_t n)
{
	char why[160];
	bool match = false;

	if (pbx_timing_check(spec, n, &match, why, sizeof(why))) {
		log_warn("%s,%s,%u: %s: bad time specification '%.*s': %s", ch->context, ch->exten,
			 ch->prio, what, (int)MIN(n, 128), spec, why);
		return false;
	}
	return match;
}

/* GotoIfTime(spec?[labeliftrue][:labeliffalse]) and ExecIfTime(spec?app(args)) */
static enum step app_iftime(struct pbx_chan *ch, enum pbx_app app, char *args,
			    struct pbx_action *act, unsigned depth)
{
	const char *what = pbx_app_name(app);
	char *q = strchr(args, '?'), *t, *f;
	bool yes;

	if (!q) {
		log_warn("%s,%s,%u: %s needs 'times,weekdays,mdays,months[,timezone]?...'",
			 ch->context, ch->exten, ch->prio, what);
		return STEP_NEXT;
	}
	yes = time_cond(ch, what, args, (size_t)(q - args));
	t = q + 1;
	if (app == PBX_APP_EXECIFTIME)
		return yes ? exec_inner(ch, what, t, act, depth) : STEP_NEXT;
	f = strchr(t, ':');
	if (f)
		*f++ = '\0';
	{
		char *label = yes ? t : f;

		if (!label || !*trim_inplace(label))
			return STEP_NEXT;
		return app_goto(ch, label, what);
	}
}

/* GosubIf(cond?labeliftrue[(args)][:labeliffalse[(args)]]) */
static enum step app_gosubif(struct pbx_chan *ch, char *args)
{
	char *q = (char *)pbx_find_top(args, strlen(args), '?', false), *t, *f, *label;

	if (!q) {
		log_warn("%s,%s,%u: GosubIf needs 'condition?label1[(args)][:label2[(args)]]'",
			 ch->context, ch->exten, ch->prio);
		return STEP_NEXT;
	}
	*q = '\0';
	t = q + 1;
	f = (char *)pbx_find_top(t, strlen(t), ':', true);
	if (f)
		*f++ = '\0';
	label = pbx_truth(trim_inplace(args)) ? t : f;
	if (!label || !*(label = trim_inplace(label)))
		return STEP_NEXT;
	return app_gosub(ch, label);
}

/* MSet(name1=value1,name2=value2,...): Asterisk's argument rules: a comma inside "quotes" or
 * (parentheses) does not separate, quotes are dropped, a backslash keeps the next character. */
static enum step app_mset(struct pbx_chan *ch, char *args)
{
	char *p = args;

	while (*p) {
		char *out = p, *item = p, *eq, *value;
		int paren = 0;
		bool quote = false;
		int err;

		for (; *p; p++) {
			if (*p == '\\' && p[1]) {
				*out++ = *++p;
				continue;
			}
			if (*p == '"') {
				quote = !quote;
				continue;
			}
			if (!quote && *p == '(')
				paren++;
			else if (!quote && *p == ')' && paren)
				paren--;
			else if (!quote && !paren && *p == ',')
				break;
			*out++ = *p;
		}
		if (*p)
			p++;
		*out = '\0';
		item = trim_inplace(item);
		if (!*item)
			continue;
		eq = strchr(item, '=');
		if (!eq) {
			log_warn("%s,%s,%u: MSet: '%s' is not name=value", ch->context, ch->exten,
				 ch->prio, item);
			continue;
		}
		*eq = '\0';
		value = trim_inplace(eq + 1);
		err = set_var_n(ch, item, strlen(item), value, strlen(value));
		if (err == ENOMEM)
			return STEP_FAIL;
		if (err)
			log_warn("%s,%s,%u: MSet(%.*s): %s", ch->context, ch->exten, ch->prio,
				 (int)MIN(strlen(item), 64), item,
				 err == ENOSPC ? "too many variables" : "cannot set that");
	}
	return STEP_NEXT;
}

/* While(cond), EndWhile, ExitWhile, ContinueWhile: the loop's ends found by position in the
 * running extension (dp_while_partner). */
static enum step app_while(struct pbx_chan *ch, enum pbx_app app, const char *cond)
{
	struct dp_want w = {ch->prio, NULL};
	const struct dp_ext *e = NULL;
	const char *what = pbx_app_name(app);
	long i, at = -1;

	if (!chan_find(ch, dp_ctx_find(ch->dp, ch->context), ch->exten, &w, &e) || !e)
		return STEP_FAIL;
	for (i = 0; i < (long)e->nprios; i++) {
		if (e->prios[i].prio == ch->prio)
			break;
	}
	if (i == (long)e->nprios)
		return STEP_FAIL;
	switch (app) {
	case PBX_APP_WHILE:
		if (pbx_truth(cond))
			return STEP_NEXT;
		at = dp_while_partner(e, (size_t)i); /* out: after the EndWhile */
		break;
	case PBX_APP_ENDWHILE:
	case PBX_APP_CONTINUEWHILE:
		at = dp_while_enclosing(e, (size_t)i); /* back to the While, which tests again */
		if (at >= 0) {
			ch->prio = e->prios[at].prio;
			return STEP_JUMP;
		}
		break;
	case PBX_APP_EXITWHILE:
		at = dp_while_enclosing(e, (size_t)i);
		if (at >= 0)
			at = dp_while_partner(e, (size_t)at);
		break;
	default:
		return STEP_FAIL;
	}
	if (at < 0) {
		if (app == PBX_APP_WHILE) {
			/* Asterisk hangs up too: nothing says where the loop ends. */
			log_error("%s,%s,%u: While: no EndWhile after it; hanging up", ch->context,
				  ch->exten, ch->prio);
			return STEP_FAIL;
		}
		log_warn("%s,%s,%u: %s: not inside a While loop", ch->context, ch->exten,
			 ch->prio, what);
		return STEP_NEXT;
	}
	ch->prio = e->prios[at].prio + 1;
	return STEP_JUMP;
}

/* ChanIsAvail(DEV[&DEV...][,options]) (Asterisk's): the devices' states from DEVICE_STATE()
 * (the host's); a device is available unless it is unavailable or invalid, with 's' only when
 * not in use. AVAILORIGCHAN gets the first available (with 'a' all, '&'-joined), AVAILCHAN the
 * same, AVAILSTATUS its state as Asterisk's number (AVAILCAUSECODE too); none: all empty. */
static enum step app_chanisavail(struct pbx_chan *ch, char *args)
{
	static const char *const words[] = {"UNKNOWN", "NOT_INUSE", "INUSE",	 "BUSY",  "INVALID",
					     "UNAVAILABLE", "RINGING",	"RINGINUSE", "ONHOLD"};
	char *comma = strchr(args, ','), *save = NULL, *dev;
	const char *opts = comma ? comma + 1 : "";
	bool all = strchr(opts, 'a') != NULL, strict = strchr(opts, 's') != NULL;
	struct mbuf found, st;
	unsigned first_status = 0;
	bool any = false;
	int err = 0;

	if (comma)
		*comma = '\0';
	mbuf_init(&found);
	mbuf_init(&st);
	for (dev = strtok_r(args, "&", &save); dev && !err; dev = strtok_r(NULL, "&", &save)) {
		unsigned status = 0;

		dev = trim_inplace(dev);
		if (!*dev)
			continue;
		st.end = 0;
		if (pbx_chan_host_func(ch, "DEVICE_STATE", dev, &st) || mbuf_write(&st, "", 1))
			continue;
		for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			if (!strcmp((const char *)st.buf, words[i]))
				status = i;
		}
		if (status == 4 || status == 5 || (strict && status != 1 && status != 0))
			continue;
		if (!any)
			first_status = status;
		err = (any && mbuf_write(&found, "&", 1)) || mbuf_write_str(&found, dev);
		any = true;
		if (!all)
			break;
	}
	if (!err)
		err = mbuf_write(&found, "", 1);
	if (!err) {
		char num[16];

		snprintf(num, sizeof(num), "%u", first_status);
		err = setv(ch, "AVAILORIGCHAN", any ? (const char *)found.buf : "") ||
		      setv(ch, "AVAILCHAN", any ? (const char *)found.buf : "") ||
		      setv(ch, "AVAILSTATUS", any ? num : "") ||
		      setv(ch, "AVAILCAUSECODE", any ? "0" : "");
	}
	mbuf_reset(&found);
	mbuf_reset(&st);
	return err ? STEP_FAIL : STEP_NEXT;
}

/* Playtones(NAME|SPEC) and StopPlaytones(): tone names as in Asterisk's indications.conf for
 * Japan (the line's country; NTT's tones), anything else an indications tone list. */
static const struct {
	const char *name, *spec;
} jp_tones[] = {
    {"dial", "400"},
    {"busy", "400/500,0/500"},
    {"ring", "400+15/1000,0/2000"},
    {"callwaiting", "400+16/500,0/8000"},
    {"congestion", "400/500,0/500"},
    {"dialrecall", "!400/200,!0/200,!400/200,!0/200,!400/200,!0/200,400"},
    {"record", "1400/500,0/15000"},
    {"info", "!950/330,!1400/330,!1800/330,0"},
    {"stutter", "!400/100,!0/100,!400/100,!0/100,!400/100,!0/100,400"},
};

static enum step app_playtones(struct pbx_chan *ch, enum pbx_app app, const char *args,
			       struct pbx_action *act)
{
	char *a = media_args(ch, args);

	if (!a)
		return STEP_FAIL;
	a = trim_inplace(a);
	media_init(ch, act, PBX_ACT_TONE, app);
	ch->pending = PBX_APP_COUNT; /* nothing to wait for */
	act->media.background = true;
	act->media.tone = "";
	if (app == PBX_APP_STOPPLAYTONES)
		return STEP_HOST;
	if (!*a) {
		log_warn("%s,%s,%u: Playtones needs a tone name or list", ch->context, ch->exten,
			 ch->prio);
		return STEP_NEXT;
	}
	act->media.tone = a;
	for (size_t i = 0; i < sizeof(jp_tones) / sizeof(jp_tones[0]); i++) {
		if (!strcasecmp(a, jp_tones[i].name) ||
		    (!strcasecmp(a, "call-waiting") && !strcmp(jp_tones[i].name, "callwaiting")))
			act->media.tone = jp_tones[i].spec;
	}
	return STEP_HOST;
}

static enum step exec_prio(struct pbx_chan *ch, const struct dp_prio *p, struct pbx_action *act)
{
	struct pbx_env env = {ch, NULL, 0};

	ch->args.end = 0;
	if (pbx_subst(&env, p->args, strlen(p->args), &ch->args) || mbuf_write(&ch->args, "", 1))
		return STEP_FAIL;
	return exec_app(ch, p->app, (char *)ch->args.buf, act, 0);
}

/* Runs one application with its substituted arguments (which it may change in place; they live
 * in ch->args until the next run). */
static enum step exec_app(struct pbx_chan *ch, enum pbx_app app, char *args,
			  struct pbx_action *act, unsigned depth)
{
	if (ch->in_h) {
		/* The call is gone: what needs it is skipped; what ends it ends h. */
		switch (app) {
		case PBX_APP_ANSWER:
		case PBX_APP_PROGRESS:
		case PBX_APP_RINGING:
		case PBX_APP_WAIT:
		case PBX_APP_DIAL:
		case PBX_APP_PLAYBACK:
		case PBX_APP_BACKGROUND:
		case PBX_APP_WAITEXTEN:
		case PBX_APP_READ:
		case PBX_APP_SAYDIGITS:
		case PBX_APP_SAYNUMBER:
		case PBX_APP_ECHO:
		case PBX_APP_RECORD:
		case PBX_APP_MILLIWATT:
		case PBX_APP_MOH:
		case PBX_APP_MIXMONITOR:
		case PBX_APP_VOICEMAIL:
		case PBX_APP_VOICEMAILMAIN:
		case PBX_APP_PICKUP:
		case PBX_APP_PICKUPCHAN:
		case PBX_APP_AUTHENTICATE:
		case PBX_APP_CONFBRIDGE:
		case PBX_APP_MEETME:
		case PBX_APP_SENDDTMF:
		case PBX_APP_PLAYTONES:
		case PBX_APP_STOPPLAYTONES:
		case PBX_APP_PARK:
		case PBX_APP_PARKEDCALL:
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

	switch (app) {
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
		if (mbuf_write_str(&ch->dialbuf, args) || mbuf_write(&ch->dialbuf, "", 1))
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
	case PBX_APP_PLAYBACK:
		return app_playback(ch, args, act);
	case PBX_APP_BACKGROUND:
		return app_background(ch, args, act);
	case PBX_APP_WAITEXTEN:
		return app_waitexten(ch, args, act);
	case PBX_APP_READ:
		return app_read(ch, args, act);
	case PBX_APP_SAYDIGITS:
		return app_say(ch, args, act, false);
	case PBX_APP_SAYNUMBER:
		return app_say(ch, args, act, true);
	case PBX_APP_RECORD:
		return app_record(ch, args, act);
	case PBX_APP_MIXMONITOR:
		return app_mixmonitor(ch, args, act);
	case PBX_APP_VOICEMAIL:
	case PBX_APP_VOICEMAILMAIN:
		return app_voicemail(ch, app, args, act);
	case PBX_APP_ECHO:
	case PBX_APP_MILLIWATT:
	case PBX_APP_MOH:
	case PBX_APP_STOPMIXMONITOR:
	case PBX_APP_CONFBRIDGE:
	case PBX_APP_MEETME:
		return app_simple_media(ch, app, args, act);
	case PBX_APP_PICKUP:
	case PBX_APP_PICKUPCHAN: {
		/* args lives in ch->args until the next run: split in place. */
		char *comma = app == PBX_APP_PICKUPCHAN ? strchr(args, ',') : NULL;

		memset(&act->pickup, 0, sizeof(act->pickup));
		if (comma) {
			*comma = '\0';
			act->pickup.partial = strchr(comma + 1, 'p') != NULL;
		}
		act->type = PBX_ACT_PICKUP;
		act->pickup.targets = args;
		act->pickup.chan = app == PBX_APP_PICKUPCHAN;
		return STEP_HOST;
	}
	case PBX_APP_SIPADDHEADER:
		return app_sipaddheader(ch, args);
	case PBX_APP_SIPREMOVEHEADER:
		return app_sipremoveheader(ch, args);
	case PBX_APP_DBDEL:
	case PBX_APP_DBDELTREE:
		return app_db_delete(ch, args, app == PBX_APP_DBDELTREE);
	case PBX_APP_GOTOIFTIME:
	case PBX_APP_EXECIFTIME:
		return app_iftime(ch, app, args, act, depth);
	case PBX_APP_EXECIF:
		return app_execif(ch, args, act, depth);
	case PBX_APP_GOSUBIF:
		return app_gosubif(ch, args);
	case PBX_APP_MSET:
		return app_mset(ch, args);
	case PBX_APP_WHILE:
	case PBX_APP_ENDWHILE:
	case PBX_APP_EXITWHILE:
	case PBX_APP_CONTINUEWHILE:
		return app_while(ch, app, trim_inplace(args));
	case PBX_APP_EXEC:
		return exec_inner(ch, "Exec", args, act, depth);
	case PBX_APP_MACRO:
		return app_macro(ch, args);
	case PBX_APP_SENDDTMF: {
		/* SendDTMF(digits[,timeout_ms[,duration_ms]]): args live in ch->args until the
		 * next run. */
		char *argv[3];

		split_args(args, argv, 3);
		if (!*argv[0]) {
			log_warn("%s,%s,%u: SendDTMF needs digits", ch->context, ch->exten, ch->prio);
			return STEP_NEXT;
		}
		act->type = PBX_ACT_SENDDTMF;
		act->dtmf.digits = argv[0];
		act->dtmf.gap_ms = (uint32_t)strtoul(argv[1], NULL, 10);
		act->dtmf.duration_ms = (uint32_t)strtoul(argv[2], NULL, 10);
		return STEP_HOST;
	}
	case PBX_APP_CHANISAVAIL:
		return app_chanisavail(ch, args);
	case PBX_APP_SYSTEM:
	case PBX_APP_TRYSYSTEM:
		memset(&act->system, 0, sizeof(act->system));
		act->type = PBX_ACT_SYSTEM;
		act->system.cmd = trim_inplace(args);
		act->system.try = app == PBX_APP_TRYSYSTEM;
		if (!*act->system.cmd) {
			pbx_chan_set_var(ch, "SYSTEMSTATUS", "FAILURE");
			log_warn("%s,%s,%u: %s without a command", ch->context, ch->exten, ch->prio,
				 pbx_app_name(app));
			return app == PBX_APP_SYSTEM ? STEP_FAIL : STEP_NEXT;
		}
		return STEP_HOST;
	case PBX_APP_PARK:
	case PBX_APP_PARKEDCALL: {
		/* args lives in ch->args until the next run: split in place. */
		char *comma = strchr(args, ',');

		memset(&act->park, 0, sizeof(act->park));
		if (app == PBX_APP_PARK) {
			if (comma)
				*comma = '\0';
			args = trim_inplace(args);
			if (*args && strspn(args, "0123456789") == strlen(args))
				act->park.timeout_ms = (uint32_t)strtoul(args, NULL, 10);
			act->type = PBX_ACT_PARK;
		} else {
			/* ParkedCall(lot,space) (Asterisk 12) or ParkedCall(space) (1.8). */
			char *space = comma ? comma + 1 : args;

			act->park.space = trim_inplace(space);
			act->type = PBX_ACT_PARKEDCALL;
		}
		return STEP_HOST;
	}
	case PBX_APP_PLAYTONES:
	case PBX_APP_STOPPLAYTONES:
		return app_playtones(ch, app, args, act);
	case PBX_APP_MACROEXIT:
		if (!in_macro(ch)) {
			log_warn("%s,%s,%u: MacroExit outside a Macro", ch->context, ch->exten,
				 ch->prio);
			return STEP_NEXT;
		}
		return macro_return(ch);
	case PBX_APP_AUTHENTICATE:
		return app_authenticate(ch, args, act);
	case PBX_APP_UNSUPPORTED:
		log_error("%s,%s,%u: %s: an Asterisk application mikaka does not have; hanging up",
			  ch->context, ch->exten, ch->prio, args);
		return STEP_FAIL;
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

	/* Off the end of a macro's extension: the macro returns. */
	if (!ch->in_h && in_macro(ch))
		return macro_return(ch);

	if (ch->in_h || chan_find(ch, ctx, ch->exten, &any, NULL)) {
		act->type = PBX_ACT_END;
		return STEP_STOP;
	}
	if (strcmp(ch->exten, "i") && chan_find(ch, ctx, "i", &first, NULL)) {
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
	if (ch->pending == PBX_APP_AUTHENTICATE)
		ch->auth_phase = AUTH_NONE; /* its prompt was abandoned: start afresh next time */
	ch->pending = PBX_APP_COUNT; /* a media action the host never finished is abandoned */
	if (ch->done) {
		act->type = PBX_ACT_END;
		return 0;
	}
	if (ch->hangup_next) {
		ch->hangup_next = false;
		ch->done = true;
		act->type = ch->in_h ? PBX_ACT_END : PBX_ACT_HANGUP;
		act->cause = PBX_CAUSE_NORMAL;
		return 0;
	}
	if (ch->coll_more && !ch->in_h) {
		/* Background/WaitExten digits that may grow into a longer extension. */
		ch->coll_more = false;
		media_init(ch, act, PBX_ACT_PLAY, PBX_APP_WAITEXTEN);
		act->media.max_digits = 1;
		act->media.timeout_ms = ch->to_digit_ms ? ch->to_digit_ms : 1;
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
		p = chan_find(ch, ctx, ch->exten, &w, NULL);
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
	if (!chan_find(ch, dp_ctx_find(ch->dp, ch->context), "h", &first, NULL) ||
	    set_loc(ch, ch->context, "h", 1)) {
		ch->done = true;
		return ENOENT;
	}
	ch->in_h = true;
	ch->done = false;
	return 0;
}

bool pbx_chan_exten_exists(const struct pbx_chan *ch, const char *exten)
{
	struct dp_want first = {1, NULL};

	return ch && exten && !ch->done &&
	       chan_find(ch, dp_ctx_find(ch->dp, ch->context), exten, &first, NULL);
}

int pbx_chan_timeout(struct pbx_chan *ch)
{
	struct dp_want first = {1, NULL};

	if (!ch || ch->done || ch->in_h)
		return ENOENT;
	if (!chan_find(ch, dp_ctx_find(ch->dp, ch->context), "t", &first, NULL))
		return ENOENT;
	return set_loc(ch, ch->context, "t", 1);
}
