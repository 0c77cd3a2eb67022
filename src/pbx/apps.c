/* apps: the applications that move a channel or change its variables: Goto, GotoIf, Gosub,
 * Macro, Return, Set, MSet, ExecIf/ExecIfTime/GotoIfTime/GosubIf, While loops, ChanIsAvail,
 * Playtones. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan_int.h"

#define LOG_MODULE "pbx"

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
		parts[k++] = chan_trim(p);
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

enum step chan_app_goto(struct pbx_chan *ch, char *target, const char *what)
{
	char *ctx, *ext;
	unsigned prio;
	int err = resolve_target(ch, target, &ctx, &ext, &prio);

	if (err) {
		log_error("%s,%s,%u: %s to '%s': %s", ch->context, ch->exten, ch->prio, what,
			  target, err == ENOENT ? "no such label" : "invalid target");
		return STEP_FAIL;
	}
	return chan_set_loc(ch, ctx, ext, prio) ? STEP_FAIL : STEP_JUMP;
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
	return chan_set_loc(ch, ctx, ext, prio);
}

enum step chan_app_gotoif(struct pbx_chan *ch, char *args)
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
		char *cond = chan_trim(args);
		char *label = pbx_truth(cond) ? t : f;

		if (!label || !*chan_trim(label))
			return STEP_NEXT;
		return chan_app_goto(ch, label, "GotoIf");
	}
}

enum step chan_app_gosub(struct pbx_chan *ch, char *args)
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
		chan_frame_free(f);
		return STEP_FAIL;
	}
	f->context = strdup(ch->context);
	f->exten = strdup(ch->exten);
	f->prio = ch->prio + 1;
	if (!f->context || !f->exten)
		goto nomem;
	/* Set the location before the frame counts, as ctx/ext may point into args. */
	if (chan_set_loc(ch, ctx, ext, prio))
		goto nomem;
	ch->depth++;
	return STEP_JUMP;

nomem:
	chan_frame_free(f);
	return STEP_FAIL;
}

static const char *const macro_vars[3] = {"MACRO_CONTEXT", "MACRO_EXTEN", "MACRO_PRIORITY"};

/* Macro(name[,arg1[,arg2...]]) (deprecated in Asterisk, common in older dialplans): a Gosub to
 * macro-name,s,1 with ARGn, MACRO_CONTEXT, MACRO_EXTEN and MACRO_PRIORITY set, which returns
 * when the macro's extension has no next priority. */
enum step chan_app_macro(struct pbx_chan *ch, char *args)
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
	name = chan_trim(name);
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

		st = c0 && c1 ? chan_app_gosub(ch, call) : STEP_FAIL;
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
enum step chan_macro_return(struct pbx_chan *ch)
{
	struct pbx_frame *f;
	const char *res;
	int err = 0;

	while (ch->depth && !ch->stack[ch->depth - 1].macro)
		chan_frame_free(&ch->stack[--ch->depth]); /* Gosubs inside the macro end with it */
	if (!ch->depth)
		return STEP_FAIL;
	f = &ch->stack[--ch->depth];
	for (size_t i = 0; i < 3 && !err; i++)
		err = pbx_vars_setn(&ch->vars, macro_vars[i], strlen(macro_vars[i]), f->saved[i],
				    f->saved[i] ? strlen(f->saved[i]) : 0);
	if (!err)
		err = chan_set_loc(ch, f->context, f->exten, f->prio);
	chan_frame_free(f);
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
			enum step st = chan_app_goto(ch, t, "Macro");

			free(t);
			return st;
		}
	}
	return err ? STEP_FAIL : STEP_JUMP;
}

bool chan_in_macro(const struct pbx_chan *ch)
{
	for (size_t i = ch->depth; i > 0; i--) {
		if (ch->stack[i - 1].macro)
			return true;
	}
	return false;
}

enum step chan_app_return(struct pbx_chan *ch, const char *value)
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
		err = chan_set_loc(ch, f->context, f->exten, f->prio);
	chan_frame_free(f);
	return err ? STEP_FAIL : STEP_JUMP;
}

enum step chan_app_set(struct pbx_chan *ch, const char *args)
{
	const char *eq = strchr(args, '=');
	int err;

	if (!eq) {
		log_warn("%s,%s,%u: Set needs 'name=value'", ch->context, ch->exten, ch->prio);
		return STEP_NEXT;
	}
	err = chan_set_var_n(ch, args, (size_t)(eq - args), eq + 1, strlen(eq + 1));
	if (err == ENOMEM)
		return STEP_FAIL;
	if (err)
		log_warn("%s,%s,%u: Set(%.*s): %s", ch->context, ch->exten, ch->prio,
			 (int)MIN((size_t)(eq - args), 64), args,
			 err == ENOSPC ? "too many variables" : "cannot set that");
	return STEP_NEXT;
}


/* ExecIf/ExecIfTime nesting (ExecIf(1?ExecIf(1?...))). */
#define PBX_EXEC_DEPTH_MAX 8


/* Runs "App(args)" (or the older "App,args") of ExecIf/ExecIfTime; args are already
 * substituted and are not substituted again, as in Asterisk. */
enum step chan_exec_inner(struct pbx_chan *ch, const char *what, char *s,
			    struct pbx_action *act, unsigned depth)
{
	char *name = chan_trim(s), *open, *comma, *args = (char *)"";
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
	name = chan_trim(name);
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
	return chan_exec_app(ch, app, args, act, depth + 1);
}

/* ExecIf(cond?app1(args)[:app2(args)]) */
enum step chan_app_execif(struct pbx_chan *ch, char *args, struct pbx_action *act,
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
	if (pbx_truth(chan_trim(args)))
		return chan_exec_inner(ch, "ExecIf", t, act, depth);
	if (f && *chan_trim(f))
		return chan_exec_inner(ch, "ExecIf", f, act, depth);
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
enum step chan_app_iftime(struct pbx_chan *ch, enum pbx_app app, char *args,
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
		return yes ? chan_exec_inner(ch, what, t, act, depth) : STEP_NEXT;
	f = strchr(t, ':');
	if (f)
		*f++ = '\0';
	{
		char *label = yes ? t : f;

		if (!label || !*chan_trim(label))
			return STEP_NEXT;
		return chan_app_goto(ch, label, what);
	}
}

/* GosubIf(cond?labeliftrue[(args)][:labeliffalse[(args)]]) */
enum step chan_app_gosubif(struct pbx_chan *ch, char *args)
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
	label = pbx_truth(chan_trim(args)) ? t : f;
	if (!label || !*(label = chan_trim(label)))
		return STEP_NEXT;
	return chan_app_gosub(ch, label);
}

/* MSet(name1=value1,name2=value2,...): Asterisk's argument rules: a comma inside "quotes" or
 * (parentheses) does not separate, quotes are dropped, a backslash keeps the next character. */
enum step chan_app_mset(struct pbx_chan *ch, char *args)
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
		item = chan_trim(item);
		if (!*item)
			continue;
		eq = strchr(item, '=');
		if (!eq) {
			log_warn("%s,%s,%u: MSet: '%s' is not name=value", ch->context, ch->exten,
				 ch->prio, item);
			continue;
		}
		*eq = '\0';
		value = chan_trim(eq + 1);
		err = chan_set_var_n(ch, item, strlen(item), value, strlen(value));
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
enum step chan_app_while(struct pbx_chan *ch, enum pbx_app app, const char *cond)
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
enum step chan_app_chanisavail(struct pbx_chan *ch, char *args)
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

		dev = chan_trim(dev);
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
		err = chan_setv(ch, "AVAILORIGCHAN", any ? (const char *)found.buf : "") ||
		      chan_setv(ch, "AVAILCHAN", any ? (const char *)found.buf : "") ||
		      chan_setv(ch, "AVAILSTATUS", any ? num : "") ||
		      chan_setv(ch, "AVAILCAUSECODE", any ? "0" : "");
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

enum step chan_app_playtones(struct pbx_chan *ch, enum pbx_app app, const char *args,
			       struct pbx_action *act)
{
	char *a = chan_media_args(ch, args);

	if (!a)
		return STEP_FAIL;
	a = chan_trim(a);
	chan_media_init(ch, act, PBX_ACT_TONE, app);
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

/* MailboxExists(mailbox[@context][,options]): VMBOXEXISTSSTATUS SUCCESS or FAILED, asking the
 * host (the call engine knows voicemail.conf) through MAILBOX_EXISTS(). */
enum step chan_app_mailboxexists(struct pbx_chan *ch, const char *args)
{
	struct mbuf out;
	char box[160];
	const char *comma = strchr(args, ',');
	int err;

	snprintf(box, sizeof(box), "%.*s", (int)(comma ? (size_t)(comma - args) : strlen(args)),
		 args);
	mbuf_init(&out);
	err = pbx_chan_host_func(ch, "MAILBOX_EXISTS", chan_trim(box), &out);
	if (!err)
		err = mbuf_write(&out, "", 1);
	err = chan_setv(ch, "VMBOXEXISTSSTATUS",
			!err && !strcmp((const char *)out.buf, "1") ? "SUCCESS" : "FAILED");
	mbuf_reset(&out);
	return err ? STEP_FAIL : STEP_NEXT;
}

/* WaitUntil(epoch): waits until that moment (fractions allowed). WAITUNTILSTATUS: OK, PAST
 * (already gone: no wait), FAILURE (not a number). */
enum step chan_app_waituntil(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *end;
	double at = strtod(args, &end), wait;
	struct timespec ts;

	while (*end == ' ')
		end++;
	if (end == args || *end) {
		log_warn("%s,%s,%u: WaitUntil: '%s' is not an epoch", ch->context, ch->exten,
			 ch->prio, args);
		return chan_setv(ch, "WAITUNTILSTATUS", "FAILURE") ? STEP_FAIL : STEP_NEXT;
	}
	/* the wall clock to the millisecond: pbx_now() counts whole seconds */
	clock_gettime(CLOCK_REALTIME, &ts);
	wait = (at - (double)ts.tv_sec - (double)ts.tv_nsec / 1e9) * 1000.0;
	if (wait < 1)
		return chan_setv(ch, "WAITUNTILSTATUS", "PAST") ? STEP_FAIL : STEP_NEXT;
	if (chan_setv(ch, "WAITUNTILSTATUS", "OK"))
		return STEP_FAIL;
	act->type = PBX_ACT_WAIT;
	act->wait_ms = wait > 86400000.0 * 30 ? 86400000u * 30 : (unsigned)wait;
	return STEP_HOST;
}
