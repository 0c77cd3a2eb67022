/* disa: Asterisk's DISA() (direct inward system access): a caller who knows the passcode gets a
 * dial tone and calls out through the dialplan as if from a phone at home, e.g. from a mobile
 * with the home number. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_int.h"

#define LOG_MODULE "pbx"

/* Asterisk's waits: 20 s for the first digit, 10 s between digits; the reorder tone for 10 s. */
#define DISA_FIRST_MS 20000
#define DISA_NEXT_MS 10000
#define DISA_REORDER_MS 10000
#define DISA_DIAL_TONE "400"			    /* Japan's dial tone (NTT) */
#define DISA_REORDER_TONE "400/500,0/500" /* and its busy/congestion tone */

struct chan_disa {
	enum { DISA_PASS, DISA_FIRST, DISA_NEXT, DISA_REORDER } phase;
	char num[PBX_DIGITS_MAX + 1];
	char context[80];
	char cid[128];
};

void chan_disa_free(struct pbx_chan *ch)
{
	free(ch->disa);
	ch->disa = NULL;
}

/* One line of a passcode file: "passcode[,context[,callerid[,mailbox]]]"; '#' and ';' start
 * comments. Returns whether its passcode is `code`; then context and cid (when given) apply. */
static bool file_line_matches(struct chan_disa *d, char *line, const char *code)
{
	char *argv[3];

	line[strcspn(line, "#;\r\n")] = '\0';
	line = chan_trim(line);
	if (!*line)
		return false;
	chan_split_args(line, argv, 3);
	if (strcmp(chan_trim(argv[0]), code))
		return false;
	if (*chan_trim(argv[1]))
		snprintf(d->context, sizeof(d->context), "%s", chan_trim(argv[1]));
	if (*chan_trim(argv[2]))
		snprintf(d->cid, sizeof(d->cid), "%s", chan_trim(argv[2]));
	return true;
}

static bool passcode_ok(struct chan_disa *d, const char *pass, const char *code)
{
	char line[256];
	bool ok = false;
	FILE *f;

	if (*pass != '/')
		return *code && !strcmp(pass, code);
	f = fopen(pass, "r");
	if (!f) {
		log_warn("DISA: cannot read the passcode file %s", pass);
		return false;
	}
	while (!ok && fgets(line, sizeof(line), f))
		ok = *code && file_line_matches(d, line, code);
	fclose(f);
	return ok;
}

/*
 * DISA(passcode[,context[,callerid[,mailbox[@context][,options]]]]): answers (option 'n': not
 * yet) and plays the dial tone; the caller keys the passcode and '#' ("no-password": none is
 * asked; "/path": a file of "passcode[,context[,callerid]]" lines). Right: the dial tone again,
 * and the digits keyed (the tone stops at the first) are an extension of `context` (default
 * "disa") once no longer extension can match, at '#' or after 10 s without a digit; the call goes
 * on there, priority 1, with `callerid` ("Name" <number>) as its caller ID when given. Wrong
 * passcode, no digit in 20 s or no such extension: the reorder tone for 10 s, then a hang-up.
 * The mailbox (stutter dial tone while it holds messages) is accepted and not used. Each wait is
 * one media action; chan_disa_media_done moves on and runs this priority again for the next.
 */
enum step chan_app_disa(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	struct chan_disa *d = ch->disa;
	char *a, *argv[5];

	a = chan_media_args(ch, args);
	if (!a)
		return STEP_FAIL;
	chan_split_args(a, argv, 5);
	if (!d) {
		if (!*chan_trim(argv[0])) {
			log_warn("%s,%s,%u: DISA requires a passcode (or no-password, or a file)",
				 ch->context, ch->exten, ch->prio);
			return STEP_FAIL;
		}
		d = calloc(1, sizeof(*d));
		if (!d)
			return STEP_FAIL;
		ch->disa = d;
		snprintf(d->context, sizeof(d->context), "%s",
			 *chan_trim(argv[1]) ? chan_trim(argv[1]) : "disa");
		snprintf(d->cid, sizeof(d->cid), "%s", chan_trim(argv[2]));
		d->phase = strcmp(chan_trim(argv[0]), "no-password") ? DISA_PASS : DISA_FIRST;
	}
	chan_media_init(ch, act, PBX_ACT_TONE, PBX_APP_DISA);
	act->media.answer = !strchr(argv[4], 'n');
	act->media.stop_digits = "0123456789*#";
	act->media.term_digits = "#";
	switch (d->phase) {
	case DISA_PASS:
		act->media.tone = DISA_DIAL_TONE;
		act->media.max_digits = PBX_DIGITS_MAX;
		act->media.duration_ms = DISA_FIRST_MS;
		act->media.timeout_ms = DISA_NEXT_MS;
		act->media.digit_timeout_ms = DISA_NEXT_MS;
		break;
	case DISA_FIRST:
		act->media.tone = DISA_DIAL_TONE;
		act->media.max_digits = 1;
		act->media.duration_ms = DISA_FIRST_MS;
		break;
	case DISA_NEXT:
		/* no tone after the first digit: wait for the next */
		chan_media_init(ch, act, PBX_ACT_PLAY, PBX_APP_DISA);
		act->media.max_digits = 1;
		act->media.stop_digits = "0123456789*#";
		act->media.term_digits = "#";
		act->media.timeout_ms = DISA_NEXT_MS;
		break;
	case DISA_REORDER:
		act->media.tone = DISA_REORDER_TONE;
		act->media.stop_digits = "";
		act->media.duration_ms = DISA_REORDER_MS;
		break;
	}
	return STEP_HOST;
}

/* The number keyed so far is complete: go there, or the reorder tone. */
static int disa_route(struct pbx_chan *ch, struct chan_disa *d)
{
	struct dp_want first = {1, NULL};
	const struct dp_ctx *ctx = dp_ctx_find(ch->dp, d->context);
	int err = 0;

	if (!*d->num || !ctx || !chan_find(ch, ctx, d->num, &first, NULL)) {
		log_notice("%s,%s,%u: DISA: no extension '%s' in context '%s'", ch->context,
			   ch->exten, ch->prio - 1, d->num, d->context);
		d->phase = DISA_REORDER;
		ch->prio--;
		return 0;
	}
	log_info("%s,%s,%u: DISA: calling %s@%s", ch->context, ch->exten, ch->prio - 1, d->num,
		 d->context);
	if (*d->cid)
		err = chan_set_var_n(ch, "CALLERID(all)", 13, d->cid, strlen(d->cid));
	if (!err)
		err = chan_set_loc(ch, d->context, d->num, 1);
	chan_disa_free(ch);
	return err;
}

int chan_disa_media_done(struct pbx_chan *ch, enum pbx_media_status st, const char *digits)
{
	struct chan_disa *d = ch->disa;
	char *a, *argv[5];

	if (!d)
		return 0;
	switch (d->phase) {
	case DISA_PASS:
		a = chan_media_args(ch, (const char *)ch->args.buf);
		if (!a)
			return ENOMEM;
		chan_split_args(a, argv, 5);
		if (st == PBX_MEDIA_FAILED || !passcode_ok(d, chan_trim(argv[0]), digits)) {
			log_notice("%s,%s,%u: DISA: %s", ch->context, ch->exten, ch->prio - 1,
				   *digits ? "wrong passcode" : "no passcode keyed");
			d->phase = DISA_REORDER;
		} else {
			d->phase = DISA_FIRST;
		}
		ch->prio--;
		return 0;
	case DISA_FIRST:
	case DISA_NEXT:
		if (!*digits || st == PBX_MEDIA_FAILED) /* '#', a pause or nothing playable */
			return disa_route(ch, d);
		if (chan_digits_grow(ch, d->num, sizeof(d->num), d->context, digits)) {
			d->phase = DISA_NEXT;
			ch->prio--;
			return 0;
		}
		return disa_route(ch, d);
	case DISA_REORDER:
		chan_disa_free(ch);
		ch->hangup_next = true;
		return 0;
	}
	return 0;
}
