/* chanmedia: the dialplan's local media applications (Playback, Background, WaitExten, Read,
 * Say*, Authenticate, Record, MixMonitor, VoiceMail, the simple ones) as host actions, and what
 * the host reports back (pbx_chan_media_done). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_int.h"

#define LOG_MODULE "pbx"

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
		t = chan_trim(t);
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

/* The signs the core sounds have a word for (letters/); others are letters/asciiN. */
static const char *sign_name(char c)
{
	switch (c) {
	case '*': return "asterisk";
	case '@': return "at";
	case '-': return "dash";
	case '$': return "dollar";
	case '.': return "dot";
	case '=': return "equals";
	case '!': return "exclaimation-point"; /* the core sounds spell it so */
	case '+': return "plus";
	case '/': return "slash";
	case ' ': return "space";
	default: return NULL;
	}
}

int pbx_say_alpha(const char *s, bool phonetic, struct mbuf *out)
{
	char name[32];

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *sign = sign_name((char)c);

		if (isalpha(c) && c < 0x80)
			snprintf(name, sizeof(name), phonetic ? "phonetic/%c_p" : "letters/%c",
				 tolower(c));
		else if (c == '9' && phonetic)
			snprintf(name, sizeof(name), "phonetic/9_p"); /* "niner" */
		else if (isdigit(c))
			snprintf(name, sizeof(name), "digits/%c", c);
		else if (c == '#')
			snprintf(name, sizeof(name), "digits/pound");
		else if (sign)
			snprintf(name, sizeof(name), "letters/%s", sign);
		else if (c > ' ' && c < 0x7f)
			snprintf(name, sizeof(name), "letters/ascii%u", c);
		else
			continue; /* control characters and bytes of UTF-8: nothing to say */
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
size_t chan_split_args(char *args, char **argv, size_t max)
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
		argv[n++] = chan_trim(p);
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
char *chan_media_args(struct pbx_chan *ch, const char *args)
{
	ch->mediabuf.end = 0;
	if (mbuf_write_str(&ch->mediabuf, args) || mbuf_write(&ch->mediabuf, "", 1))
		return NULL;
	return (char *)ch->mediabuf.buf;
}

void chan_media_init(struct pbx_chan *ch, struct pbx_action *act, enum pbx_act_type type,
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

enum step chan_app_playback(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = chan_media_args(ch, args), *argv[2];

	if (!a)
		return STEP_FAIL;
	chan_split_args(a, argv, 2);
	chan_media_init(ch, act, PBX_ACT_PLAY, PBX_APP_PLAYBACK);
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

enum step chan_app_background(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = chan_media_args(ch, args), *argv[4];

	if (!a)
		return STEP_FAIL;
	chan_split_args(a, argv, 4);
	chan_media_init(ch, act, PBX_ACT_PLAY, PBX_APP_BACKGROUND);
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

enum step chan_app_waitexten(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = chan_media_args(ch, args), *argv[2], *m;

	if (!a)
		return STEP_FAIL;
	chan_split_args(a, argv, 2);
	free(ch->bg_context); /* Background's context applies to its own digits only */
	ch->bg_context = NULL;
	chan_media_init(ch, act, PBX_ACT_PLAY, PBX_APP_WAITEXTEN);
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

enum step chan_app_read(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = chan_media_args(ch, args), *argv[6];
	unsigned long v;

	if (!a)
		return STEP_FAIL;
	chan_split_args(a, argv, 6);
	if (!*argv[0]) {
		log_warn("%s,%s,%u: Read requires an argument (variable)", ch->context, ch->exten,
			 ch->prio);
		return pbx_vars_setn(&ch->vars, "READSTATUS", 10, "ERROR", 5) ? STEP_FAIL
									       : STEP_NEXT;
	}
	chan_media_init(ch, act, PBX_ACT_PLAY, PBX_APP_READ);
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

/* SayUnixTime([unixtime[,timezone[,format]]]) into ch->mediabuf: now when the time is empty, local
 * time when the zone is (an unknown one is warned about and local time used, as STRFTIME()). */
static int chan_say_time(struct pbx_chan *ch, char **argv)
{
	const struct pbx_tz *tz = NULL;
	const char *ep = chan_trim(argv[0]), *zone = chan_trim(argv[1]);
	char *end;
	long long v;
	time_t t = pbx_now();

	if (*ep) {
		v = strtoll(ep, &end, 10);
		if (*end)
			log_warn("%s,%s,%u: SayUnixTime: '%s' is not an epoch; saying now",
				 ch->context, ch->exten, ch->prio, ep);
		else
			t = (time_t)v;
	}
	if (*zone && pbx_tz_get(zone, strlen(zone), &tz)) {
		log_warn("%s,%s,%u: SayUnixTime: unknown time zone '%s'; using local time",
			 ch->context, ch->exten, ch->prio, zone);
		tz = NULL;
	}
	return pbx_say_time(t, tz, chan_trim(argv[2]), &ch->mediabuf);
}

enum step chan_app_say(struct pbx_chan *ch, enum pbx_app app, const char *args,
			 struct pbx_action *act)
{
	bool number = app == PBX_APP_SAYNUMBER;
	char *argv[3], *a;
	int err;

	ch->dialbuf.end = 0;
	if (mbuf_write_str(&ch->dialbuf, args) || mbuf_write(&ch->dialbuf, "", 1))
		return STEP_FAIL;
	chan_split_args((char *)ch->dialbuf.buf, argv, 3);
	ch->mediabuf.end = 0;
	if (app == PBX_APP_SAYUNIXTIME || app == PBX_APP_DATETIME)
		err = chan_say_time(ch, argv);
	else if (number)
		err = pbx_say_number(argv[0], &ch->mediabuf);
	else if (app == PBX_APP_SAYALPHA || app == PBX_APP_SAYPHONETIC)
		err = pbx_say_alpha(argv[0], app == PBX_APP_SAYPHONETIC, &ch->mediabuf);
	else
		err = pbx_say_digits(argv[0], &ch->mediabuf);
	if (err == EINVAL) {
		log_warn("%s,%s,%u: %s: '%s' cannot be said", ch->context, ch->exten, ch->prio,
			 pbx_app_name(app), argv[0]);
		return STEP_NEXT;
	}
	if (err || mbuf_write(&ch->mediabuf, "", 1))
		return STEP_FAIL;
	a = (char *)ch->mediabuf.buf;
	chan_media_init(ch, act, PBX_ACT_PLAY, app);
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
		pw = chan_trim(pw + (account ? 1 : 0));
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
enum step chan_app_authenticate(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = chan_media_args(ch, args), *argv[4];
	unsigned long maxd;

	if (!a)
		return STEP_FAIL;
	chan_split_args(a, argv, 4);
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
	chan_media_init(ch, act, PBX_ACT_PLAY, PBX_APP_AUTHENTICATE);
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

enum step chan_app_record(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = chan_media_args(ch, args), *argv[4];
	const char *fmt;

	if (!a)
		return STEP_FAIL;
	chan_split_args(a, argv, 4);
	chan_media_init(ch, act, PBX_ACT_RECORD, PBX_APP_RECORD);
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

enum step chan_app_mixmonitor(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a = chan_media_args(ch, args), *argv[3];
	const char *fmt;

	if (!a)
		return STEP_FAIL;
	chan_split_args(a, argv, 3);
	if (!*argv[0] || !split_format(argv[0], &fmt) || strcasecmp(fmt, "wav")) {
		log_warn("%s,%s,%u: MixMonitor(%s): needs filename.wav", ch->context, ch->exten,
			 ch->prio, args);
		return STEP_NEXT;
	}
	chan_media_init(ch, act, PBX_ACT_MIXMONITOR, PBX_APP_COUNT);
	act->media.app = "MixMonitor";
	act->media.path = argv[0];
	act->media.format = fmt;
	if (pbx_vars_setn(&ch->vars, "MIXMONITOR_FILENAME", 19, argv[0], strlen(argv[0])))
		return STEP_FAIL;
	return STEP_HOST;
}

/* VoiceMail(box[@context][&...][,options]) and VoiceMailMain([box][@context][,options]). */
enum step chan_app_voicemail(struct pbx_chan *ch, enum pbx_app app, const char *args,
			       struct pbx_action *act)
{
	char *a = chan_media_args(ch, args), *argv[2], *amp;

	if (!a)
		return STEP_FAIL;
	chan_split_args(a, argv, 2);
	amp = strchr(argv[0], '&');
	if (amp)
		*amp = '\0'; /* one mailbox only (the checker warns) */
	if (app == PBX_APP_VOICEMAIL && !*argv[0]) {
		log_warn("%s,%s,%u: VoiceMail: needs a mailbox", ch->context, ch->exten, ch->prio);
		return pbx_vars_setn(&ch->vars, "VMSTATUS", 8, "FAILED", 6) ? STEP_FAIL : STEP_NEXT;
	}
	chan_media_init(ch, act, app == PBX_APP_VOICEMAIL ? PBX_ACT_VOICEMAIL : PBX_ACT_VOICEMAILMAIN,
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

enum step chan_app_simple_media(struct pbx_chan *ch, enum pbx_app app, const char *args,
				  struct pbx_action *act)
{
	char *a = chan_media_args(ch, args), *argv[2];

	if (!a)
		return STEP_FAIL;
	chan_split_args(a, argv, 2);
	switch (app) {
	case PBX_APP_ECHO:
		chan_media_init(ch, act, PBX_ACT_ECHO, app);
		act->media.answer = true;
		act->media.end_digits = "#";
		break;
	case PBX_APP_MILLIWATT:
		chan_media_init(ch, act, PBX_ACT_TONE, app);
		act->media.answer = true;
		act->media.tone = strchr(argv[0], 'o') ? "1000" : "1004";
		break;
	case PBX_APP_MOH:
		chan_media_init(ch, act, PBX_ACT_MOH, app);
		act->media.answer = true;
		act->media.moh_class = *argv[0] ? argv[0] : "default";
		act->media.duration_ms = secs_ms(argv[1], 0);
		break;
	case PBX_APP_WAITMOH:
		/* WaitMusicOnHold(seconds): MusicOnHold(default,seconds), as Asterisk 13 maps it */
		chan_media_init(ch, act, PBX_ACT_MOH, app);
		act->media.answer = true;
		act->media.moh_class = "default";
		act->media.duration_ms = secs_ms(argv[0], 0);
		if (!act->media.duration_ms) {
			ch->pending = PBX_APP_COUNT;
			return STEP_NEXT;
		}
		break;
	case PBX_APP_CONFBRIDGE:
	case PBX_APP_MEETME:
		/* ConfBridge(room[,bridge profile[,user profile[,menu]]]), MeetMe(room[,opts]):
		 * the profiles and options are Asterisk's; one room each, by name. */
		chan_media_init(ch, act, PBX_ACT_CONF, app);
		act->media.answer = true;
		act->media.path = *argv[0] ? argv[0] : ch->exten;
		break;
	default:
		chan_media_init(ch, act, PBX_ACT_STOPMIXMONITOR, PBX_APP_COUNT);
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
		return chan_set_loc(ch, ctxcopy, coll, 1);
	if (ctx && chan_find(ch, ctx, "i", &first, NULL)) {
		err = pbx_vars_setn(&ch->vars, "INVALID_EXTEN", 13, coll, strlen(coll));
		return err ? err : chan_set_loc(ch, ctxcopy, "i", 1);
	}
	log_notice("%s,%s,%u: invalid extension '%s' and no 'i' extension in '%s'; hanging up",
		   ch->context, ch->exten, ch->prio, coll, ctxcopy);
	ch->hangup_next = true;
	return 0;
}

bool chan_digits_grow(const struct pbx_chan *ch, char *num, size_t size, const char *ctxname,
		      const char *digits)
{
	size_t have = strlen(num);

	snprintf(num + have, size - have, "%s", digits);
	return strlen(num) < MIN(size - 1, (size_t)PBX_DIGITS_MAX) &&
	       dp_can_match_more(ch->dp, dp_ctx_find(ch->dp, ctxname), num);
}

static int coll_add(struct pbx_chan *ch, const char *digits)
{
	if (chan_digits_grow(ch, ch->coll, sizeof(ch->coll),
			     ch->bg_context ? ch->bg_context : ch->context, digits)) {
		ch->coll_more = true;
		return 0;
	}
	return coll_finish(ch);
}

int chan_setv(struct pbx_chan *ch, const char *name, const char *value)
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
		return chan_setv(ch, "PLAYBACKSTATUS", st == PBX_MEDIA_FAILED ? "FAILED" : "SUCCESS");
	case PBX_APP_BACKGROUND: {
		int err = chan_setv(ch, "BACKGROUNDSTATUS", st == PBX_MEDIA_FAILED ? "FAILED" : "SUCCESS");

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
		err = chan_setv(ch, ch->read_var ? ch->read_var : "READ", digits);
		if (!err)
			err = chan_setv(ch, "READSTATUS",
				   st == PBX_MEDIA_FAILED  ? "ERROR"
				   : st == PBX_MEDIA_SKIP  ? "SKIPPED"
				   : !*digits && st == PBX_MEDIA_TIMEOUT ? "TIMEOUT"
									  : "OK");
		return err;
	}
	case PBX_APP_AUTHENTICATE:
		return auth_media_done(ch, st, digits);
	case PBX_APP_PRIVACYMANAGER:
		return chan_privacy_media_done(ch, st, digits);
	case PBX_APP_DISA:
		return chan_disa_media_done(ch, st, digits);
	case PBX_APP_READEXTEN:
		return chan_readexten_media_done(ch, st, digits);
	case PBX_APP_RECORD:
		return chan_setv(ch, "RECORD_STATUS",
			    st == PBX_MEDIA_SILENCE   ? "SILENCE"
			    : st == PBX_MEDIA_TIMEOUT ? "TIMEOUT"
			    : st == PBX_MEDIA_SKIP    ? "SKIP"
			    : st == PBX_MEDIA_FAILED  ? "ERROR"
						      : "DTMF");
	case PBX_APP_VOICEMAIL: {
		int err = chan_setv(ch, "VMSTATUS",
			       st == PBX_MEDIA_DIGITS   ? "USEREXIT"
			       : st == PBX_MEDIA_FAILED ? "FAILED"
							: "SUCCESS");
		/* As Asterisk: '*' during the greeting leaves to extension a, '0' to o (the
		 * operator) of the current context, priority 1, when they exist. */
		const char *to = !strcmp(digits, "*") ? "a" : !strcmp(digits, "0") ? "o" : NULL;

		if (err || st != PBX_MEDIA_DIGITS || !to || ch->in_h || !pbx_chan_exten_exists(ch, to))
			return err;
		return chan_set_loc(ch, ch->context, to, 1);
	}
	default:
		return 0;
	}
}

