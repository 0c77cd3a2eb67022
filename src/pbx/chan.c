/* chan: one call's way through the dialplan: its location, variables, caller ID and Gosub stack,
 * and pbx_chan_run(), which runs the applications until one needs the call engine. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx_int.h"

#define LOG_MODULE "pbx"

#include "chan_int.h"

/* What runs for exten in ctx for this channel's caller (exten => NAME/CID first). */
const struct dp_prio *chan_find(const struct pbx_chan *ch, const struct dp_ctx *ctx,
				       const char *exten, const struct dp_want *want,
				       const struct dp_ext **extp)
{
	return dp_find_cid(ch->dp, ctx, exten, ch->cid_num, want, extp);
}

void chan_frame_free(struct pbx_frame *f)
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

int chan_set_loc(struct pbx_chan *ch, const char *ctx, const char *exten, unsigned prio)
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
		chan_frame_free(&ch->stack[i]);
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
	chan_disa_free(ch);
	chan_readexten_free(ch);
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

int chan_pjsip_header_write(struct pbx_chan *ch, struct pl args, const char *value,
			      size_t vlen);

int chan_set_var_n(struct pbx_chan *ch, const char *name, size_t n, const char *value,
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
		return chan_pjsip_header_write(ch, pl_from(nm.p + 13, nm.l - 14), value, vlen);
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
	return chan_set_var_n(ch, name, strlen(name), value, value ? strlen(value) : 0);
}

int pbx_chan_eval(struct pbx_chan *ch, const char *in, struct mbuf *out)
{
	struct pbx_env env = {ch, NULL, 0};

	if (!ch || !in || !out)
		return EINVAL;
	return pbx_subst(&env, in, strlen(in), out);
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
		lv = chan_trim(lv);
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

	ch->args.end = 0;
	if (pbx_subst(&env, p->args, strlen(p->args), &ch->args) || mbuf_write(&ch->args, "", 1))
		return STEP_FAIL;
	return chan_exec_app(ch, p->app, (char *)ch->args.buf, act, 0);
}

/* Runs one application with its substituted arguments (which it may change in place; they live
 * in ch->args until the next run). */
enum step chan_exec_app(struct pbx_chan *ch, enum pbx_app app, char *args,
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
		case PBX_APP_WAITMOH:
		case PBX_APP_WAITUNTIL:
		case PBX_APP_MIXMONITOR:
		case PBX_APP_VOICEMAIL:
		case PBX_APP_VOICEMAILMAIN:
		case PBX_APP_PICKUP:
		case PBX_APP_PICKUPCHAN:
		case PBX_APP_AUTHENTICATE:
		case PBX_APP_PRIVACYMANAGER:
		case PBX_APP_ZAPATELLER:
		case PBX_APP_SAYALPHA:
		case PBX_APP_SAYPHONETIC:
		case PBX_APP_DISA:
		case PBX_APP_READEXTEN:
		case PBX_APP_SAYUNIXTIME:
		case PBX_APP_DATETIME:
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
		return chan_app_set(ch, args);
	case PBX_APP_GOTO:
		return chan_app_goto(ch, args, "Goto");
	case PBX_APP_GOTOIF:
		return chan_app_gotoif(ch, args);
	case PBX_APP_GOSUB:
		return chan_app_gosub(ch, args);
	case PBX_APP_RETURN:
		return chan_app_return(ch, args);
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
		return chan_app_playback(ch, args, act);
	case PBX_APP_BACKGROUND:
		return chan_app_background(ch, args, act);
	case PBX_APP_WAITEXTEN:
		return chan_app_waitexten(ch, args, act);
	case PBX_APP_READ:
		return chan_app_read(ch, args, act);
	case PBX_APP_SAYDIGITS:
	case PBX_APP_SAYNUMBER:
	case PBX_APP_SAYALPHA:
	case PBX_APP_SAYPHONETIC:
	case PBX_APP_SAYUNIXTIME:
	case PBX_APP_DATETIME:
		return chan_app_say(ch, app, args, act);
	case PBX_APP_PRIVACYMANAGER:
		return chan_app_privacy(ch, args, act);
	case PBX_APP_ZAPATELLER:
		return chan_app_zapateller(ch, args, act);
	case PBX_APP_DISA:
		return chan_app_disa(ch, args, act);
	case PBX_APP_READEXTEN:
		return chan_app_readexten(ch, args, act);
	case PBX_APP_RECORD:
		return chan_app_record(ch, args, act);
	case PBX_APP_MIXMONITOR:
		return chan_app_mixmonitor(ch, args, act);
	case PBX_APP_VOICEMAIL:
	case PBX_APP_VOICEMAILMAIN:
		return chan_app_voicemail(ch, app, args, act);
	case PBX_APP_ECHO:
	case PBX_APP_MILLIWATT:
	case PBX_APP_MOH:
	case PBX_APP_WAITMOH:
	case PBX_APP_STOPMIXMONITOR:
	case PBX_APP_CONFBRIDGE:
	case PBX_APP_MEETME:
		return chan_app_simple_media(ch, app, args, act);
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
		return chan_app_sipaddheader(ch, args);
	case PBX_APP_SIPREMOVEHEADER:
		return chan_app_sipremoveheader(ch, args);
	case PBX_APP_DBDEL:
	case PBX_APP_DBDELTREE:
		return app_db_delete(ch, args, app == PBX_APP_DBDELTREE);
	case PBX_APP_MAILBOXEXISTS:
		return chan_app_mailboxexists(ch, args);
	case PBX_APP_SETCALLERPRES: {
		/* SetCallerPres(presentation): Set(CALLERPRES()=...) in Asterisk 1.x's spelling */
		const char *v = chan_trim(args);

		if (set_pres_n(ch, v, strlen(v)))
			log_warn("%s,%s,%u: SetCallerPres: unknown presentation '%s'", ch->context,
				 ch->exten, ch->prio, v);
		return STEP_NEXT;
	}
	case PBX_APP_PROCEEDING:
		/* "the call is proceeding": a SIP caller has had its 100 Trying already */
		return STEP_NEXT;
	case PBX_APP_WAITUNTIL:
		return chan_app_waituntil(ch, args, act);
	case PBX_APP_GOTOIFTIME:
	case PBX_APP_EXECIFTIME:
		return chan_app_iftime(ch, app, args, act, depth);
	case PBX_APP_EXECIF:
		return chan_app_execif(ch, args, act, depth);
	case PBX_APP_GOSUBIF:
		return chan_app_gosubif(ch, args);
	case PBX_APP_MSET:
		return chan_app_mset(ch, args);
	case PBX_APP_WHILE:
	case PBX_APP_ENDWHILE:
	case PBX_APP_EXITWHILE:
	case PBX_APP_CONTINUEWHILE:
		return chan_app_while(ch, app, chan_trim(args));
	case PBX_APP_EXEC:
		return chan_exec_inner(ch, "Exec", args, act, depth);
	case PBX_APP_MACRO:
		return chan_app_macro(ch, args);
	case PBX_APP_SENDDTMF: {
		/* SendDTMF(digits[,timeout_ms[,duration_ms]]): args live in ch->args until the
		 * next run. */
		char *argv[3];

		chan_split_args(args, argv, 3);
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
		return chan_app_chanisavail(ch, args);
	case PBX_APP_SYSTEM:
	case PBX_APP_TRYSYSTEM:
		memset(&act->system, 0, sizeof(act->system));
		act->type = PBX_ACT_SYSTEM;
		act->system.cmd = chan_trim(args);
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
			args = chan_trim(args);
			if (*args && strspn(args, "0123456789") == strlen(args))
				act->park.timeout_ms = (uint32_t)strtoul(args, NULL, 10);
			act->type = PBX_ACT_PARK;
		} else {
			/* ParkedCall(lot,space) (Asterisk 12) or ParkedCall(space) (1.8). */
			char *space = comma ? comma + 1 : args;

			act->park.space = chan_trim(space);
			act->type = PBX_ACT_PARKEDCALL;
		}
		return STEP_HOST;
	}
	case PBX_APP_PLAYTONES:
	case PBX_APP_STOPPLAYTONES:
		return chan_app_playtones(ch, app, args, act);
	case PBX_APP_MACROEXIT:
		if (!chan_in_macro(ch)) {
			log_warn("%s,%s,%u: MacroExit outside a Macro", ch->context, ch->exten,
				 ch->prio);
			return STEP_NEXT;
		}
		return chan_macro_return(ch);
	case PBX_APP_AUTHENTICATE:
		return chan_app_authenticate(ch, args, act);
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
	if (!ch->in_h && chan_in_macro(ch))
		return chan_macro_return(ch);

	if (ch->in_h || chan_find(ch, ctx, ch->exten, &any, NULL)) {
		act->type = PBX_ACT_END;
		return STEP_STOP;
	}
	if (strcmp(ch->exten, "i") && chan_find(ch, ctx, "i", &first, NULL)) {
		if (pbx_vars_setn(&ch->vars, "INVALID_EXTEN", 13, ch->exten, strlen(ch->exten)) ||
		    chan_set_loc(ch, ch->context, "i", 1))
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
	if (ch->pending == PBX_APP_PRIVACYMANAGER)
		ch->priv_phase = PRIV_NONE;
	if (ch->pending == PBX_APP_DISA)
		chan_disa_free(ch);
	if (ch->pending == PBX_APP_READEXTEN)
		chan_readexten_free(ch);
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
		chan_media_init(ch, act, PBX_ACT_PLAY, PBX_APP_WAITEXTEN);
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
	    chan_set_loc(ch, ch->context, "h", 1)) {
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
	return chan_set_loc(ch, ch->context, "t", 1);
}
