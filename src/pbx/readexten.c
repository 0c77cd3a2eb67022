/* readexten: Asterisk's ReadExten(): digits read into a variable until they are an extension of a
 * context (an IVR that checks what is keyed before going on). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_int.h"

#define LOG_MODULE "pbx"

struct chan_readexten {
	char num[PBX_DIGITS_MAX + 1];
	bool more; /* digits after the first: no prompt */
};

void chan_readexten_free(struct pbx_chan *ch)
{
	free(ch->readexten);
	ch->readexten = NULL;
}

/* The arguments: variable, prompt, context, options, timeout (ch->args, split into mediabuf). */
static char *rx_args(struct pbx_chan *ch, const char *args, char **argv)
{
	char *a = chan_media_args(ch, args);

	if (a)
		chan_split_args(a, argv, 5);
	for (size_t i = 0; a && i < 5; i++)
		argv[i] = chan_trim(argv[i]);
	return a;
}

/*
 * ReadExten(variable[,filename[,context[,option[,timeout]]]]): plays the prompt (a digit stops it)
 * and reads digits, one action each, until no longer extension of `context` (default the
 * current one) can match, '#' or a pause (timeout seconds, else TIMEOUT(response) for the first
 * digit and TIMEOUT(digit) after). READEXTENSTATUS: OK (an extension: the variable holds it),
 * INVALID (none matched; the variable holds the digits), TIMEOUT (nothing keyed), SKIP (option
 * s on an unanswered call). Option n reads even when not answered; otherwise the call is
 * answered first, as Asterisk does. Option i (the prompt as an indication tone) is not done.
 */
enum step chan_app_readexten(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	struct chan_readexten *r = ch->readexten;
	char *argv[5];
	unsigned to;

	if (!rx_args(ch, args, argv))
		return STEP_FAIL;
	if (!*argv[0]) {
		log_warn("%s,%s,%u: ReadExten requires a variable", ch->context, ch->exten,
			 ch->prio);
		return STEP_NEXT;
	}
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return STEP_FAIL;
		ch->readexten = r;
	}
	chan_media_init(ch, act, PBX_ACT_PLAY, PBX_APP_READEXTEN);
	act->media.answer = !strchr(argv[3], 'n') && !strchr(argv[3], 's');
	act->media.skip_unanswered = strchr(argv[3], 's') != NULL;
	if (!r->more && *argv[1])
		act->media.nfiles = pbx_split_files(argv[1], act->media.files, PBX_MEDIA_FILES_MAX);
	act->media.max_digits = 1;
	act->media.stop_digits = "0123456789*#";
	act->media.term_digits = "#";
	to = (unsigned)(strtod(argv[4], NULL) * 1000);
	act->media.timeout_ms = to ? to : r->more ? ch->to_digit_ms : ch->to_response_ms;
	return STEP_HOST;
}

int chan_readexten_media_done(struct pbx_chan *ch, enum pbx_media_status st, const char *digits)
{
	struct chan_readexten *r = ch->readexten;
	struct dp_want first = {1, NULL};
	const struct dp_ctx *ctx;
	const char *status, *ctxname;
	char *argv[5];
	int err;

	if (!r)
		return 0;
	if (!rx_args(ch, (const char *)ch->args.buf, argv))
		return ENOMEM;
	ctxname = *argv[2] ? argv[2] : ch->context;
	ctx = dp_ctx_find(ch->dp, ctxname);
	if (st == PBX_MEDIA_SKIP) {
		status = "SKIP";
	} else if (*digits && st != PBX_MEDIA_FAILED) {
		if (chan_digits_grow(ch, r->num, sizeof(r->num), ctxname, digits)) {
			r->more = true;
			ch->prio--; /* the same priority reads the next digit */
			return 0;
		}
		status = ctx && chan_find(ch, ctx, r->num, &first, NULL) ? "OK" : "INVALID";
	} else if (!*r->num) {
		status = st == PBX_MEDIA_FAILED ? "ERROR" : "TIMEOUT";
	} else {
		/* '#' or a pause after some digits */
		status = ctx && chan_find(ch, ctx, r->num, &first, NULL) ? "OK" : "INVALID";
	}
	err = chan_setv(ch, argv[0], r->num);
	if (!err)
		err = chan_setv(ch, "READEXTENSTATUS", status);
	chan_readexten_free(ch);
	return err;
}
