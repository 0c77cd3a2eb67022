/* nuisance: Asterisk's applications against unwanted callers: PrivacyManager() (a caller without a
 * number is asked to key one in) and Zapateller() (the special information tone that makes
 * autodiallers drop the number). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chan_int.h"

#define LOG_MODULE "pbx"

/* Asterisk's defaults: three tries, at least ten digits (a Japanese or North American number
 * with its area code). */
#define PRIV_TRIES 3
#define PRIV_MINLEN 10
/* Asterisk waits 5 s for the first digit and 3.2 s between digits (ast_readstring). */
#define PRIV_FIRST_MS 5000
#define PRIV_NEXT_MS 3200

/* A caller ID is there when the number is neither empty nor the "anonymous" a withheld call
 * carries. Asterisk tests only for an empty number; with SIP a withheld call's number is
 * "anonymous" (RFC 3323 From), so PrivacyManager would never ask on the line, which is what
 * households install it for. */
static bool has_number(const struct pbx_chan *ch)
{
	const char *n = ch->cid_num ? ch->cid_num : "";

	return *n && strcasecmp(n, "anonymous") != 0;
}

static unsigned arg_uint(const char *s, unsigned dflt, unsigned max)
{
	char *end;
	unsigned long v;

	if (!s || !*s)
		return dflt;
	v = strtoul(s, &end, 10);
	if (*end || v == 0 || v > max)
		return dflt;
	return (unsigned)v;
}

/*
 * PrivacyManager([maxretries[,minlength[,options[,context]]]]): when the caller sent no number,
 * answer, say "privacy-unident", then ask ("privacy-prompt") for a number of at least minlength
 * digits ended by # or a pause, up to maxretries times ("privacy-incorrect" after each miss); with
 * a context, the number must also be an extension there. Success: "privacy-thankyou", the number
 * becomes CALLERID(num) and "Privacy Manager" CALLERID(name), PRIVACYMGRSTATUS=SUCCESS; else
 * PRIVACYMGRSTATUS=FAILED. The dialplan goes on either way (it decides what to do with FAILED).
 * With a number present nothing is done and nothing is set. Each prompt is one media action;
 * priv_media_done moves the phase on and runs this priority again for the next.
 */
enum step chan_app_privacy(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	char *a, *argv[4];

	if (ch->priv_phase == PRIV_NONE) {
		if (has_number(ch))
			return STEP_NEXT;
		ch->priv_tries = 0;
		ch->priv_phone[0] = '\0';
		ch->priv_phase = PRIV_UNIDENT;
	}
	a = chan_media_args(ch, args);
	if (!a)
		return STEP_FAIL;
	chan_split_args(a, argv, 4);
	chan_media_init(ch, act, PBX_ACT_PLAY, PBX_APP_PRIVACYMANAGER);
	act->media.answer = true;
	switch (ch->priv_phase) {
	case PRIV_UNIDENT:
		/* "privacy-unident" then the first prompt, as one action: a digit stops it and is
		 * the number's first */
		act->media.files[0] = "privacy-unident";
		act->media.files[1] = "privacy-prompt";
		act->media.nfiles = 2;
		break;
	case PRIV_RETRY:
		act->media.files[0] = "privacy-incorrect";
		act->media.files[1] = "privacy-prompt";
		act->media.nfiles = 2;
		break;
	case PRIV_THANKS:
		act->media.files[0] = "privacy-thankyou";
		act->media.nfiles = 1;
		return STEP_HOST;
	case PRIV_FAILED:
		act->media.files[0] = "privacy-incorrect";
		act->media.nfiles = 1;
		return STEP_HOST;
	default:
		ch->priv_phase = PRIV_NONE;
		return STEP_NEXT;
	}
	act->media.max_digits = sizeof(ch->priv_phone) - 1;
	act->media.stop_digits = "0123456789*#";
	act->media.term_digits = "#";
	act->media.timeout_ms = PRIV_FIRST_MS;
	act->media.digit_timeout_ms = PRIV_NEXT_MS;
	return STEP_HOST;
}

/* Whether digits are a number the caller may give: long enough, and an extension of the check
 * context when one is named. */
static bool priv_acceptable(struct pbx_chan *ch, const char *digits, unsigned minlen,
			    const char *context)
{
	struct dp_want first = {1, NULL};
	const struct dp_ctx *ctx;

	if (strlen(digits) < minlen || strspn(digits, "0123456789*") != strlen(digits))
		return false;
	if (!context || !*context)
		return true;
	ctx = dp_ctx_find(ch->dp, context);
	if (!ctx) {
		log_warn("%s,%s,%u: PrivacyManager: no context '%s' to check numbers in",
			 ch->context, ch->exten, ch->prio - 1, context);
		return false;
	}
	return chan_find(ch, ctx, digits, &first, NULL);
}

int chan_privacy_media_done(struct pbx_chan *ch, enum pbx_media_status st, const char *digits)
{
	char *a, *argv[4];
	unsigned tries, minlen;

	(void)st;
	switch (ch->priv_phase) {
	case PRIV_UNIDENT:
	case PRIV_RETRY:
		/* The arguments again (this priority's, substituted for the run that asked). */
		a = chan_media_args(ch, (const char *)ch->args.buf);
		if (!a)
			return ENOMEM;
		chan_split_args(a, argv, 4);
		tries = arg_uint(argv[0], PRIV_TRIES, 100);
		minlen = arg_uint(argv[1], PRIV_MINLEN, sizeof(ch->priv_phone) - 1);
		if (priv_acceptable(ch, digits, minlen, argv[3])) {
			snprintf(ch->priv_phone, sizeof(ch->priv_phone), "%s", digits);
			ch->priv_phase = PRIV_THANKS;
		} else if (++ch->priv_tries >= tries) {
			log_notice("%s,%s,%u: PrivacyManager: no acceptable number in %u tries",
				   ch->context, ch->exten, ch->prio - 1, ch->priv_tries);
			ch->priv_phase = PRIV_FAILED;
		} else {
			ch->priv_phase = PRIV_RETRY;
		}
		ch->prio--; /* the same priority, for the next prompt */
		return 0;
	case PRIV_THANKS: {
		int err = chan_set_var_n(ch, "CALLERID(num)", 13, ch->priv_phone,
					 strlen(ch->priv_phone));

		if (!err)
			err = chan_set_var_n(ch, "CALLERID(name)", 14, "Privacy Manager", 15);
		if (!err)
			err = chan_setv(ch, "PRIVACYMGRSTATUS", "SUCCESS");
		log_info("%s,%s,%u: PrivacyManager: the caller gave %s", ch->context, ch->exten,
			 ch->prio - 1, ch->priv_phone);
		ch->priv_phase = PRIV_NONE;
		return err;
	}
	case PRIV_FAILED:
		ch->priv_phase = PRIV_NONE;
		return chan_setv(ch, "PRIVACYMGRSTATUS", "FAILED");
	default:
		ch->priv_phase = PRIV_NONE;
		return 0;
	}
}

/*
 * Zapateller([options]): the special information tone (950, 1400 and 1800 Hz, 330 ms each, the
 * "number not in service" tone autodiallers listen for), then a second of silence. Options, '|'
 * or ',' separated as Asterisk writes them: "answer" answers first (else the tone is early
 * media), "nocallerid" plays it only when the caller sent no number.
 */
enum step chan_app_zapateller(struct pbx_chan *ch, const char *args, struct pbx_action *act)
{
	bool answer = false, nocid = false;
	char *a = chan_media_args(ch, args), *save = NULL;

	if (!a)
		return STEP_FAIL;
	for (char *t = strtok_r(a, "|,", &save); t; t = strtok_r(NULL, "|,", &save)) {
		while (*t == ' ')
			t++;
		if (!strncasecmp(t, "answer", 6))
			answer = true;
		else if (!strncasecmp(t, "nocallerid", 10))
			nocid = true;
	}
	if (nocid && has_number(ch))
		return STEP_NEXT;
	chan_media_init(ch, act, PBX_ACT_TONE, PBX_APP_ZAPATELLER);
	act->media.answer = answer;
	act->media.tone = "!950/330,!1400/330,!1800/330,!0/1000";
	act->media.duration_ms = 1990;
	return STEP_HOST;
}
