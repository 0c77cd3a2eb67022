/* features: what a call from the line tells the household (notifications) and the feature codes
 * a phone dials to manage the block list (docs/SCREENING.md), with their spoken confirmations. */
#include <stdio.h>

#include "call_int.h"
#include "cfg.h"
#include "notify.h"
#include "screen.h"

#define LOG_MODULE "call"

/* ---------------------------------------------------------------------------------------------
 * Screening (docs/SCREENING.md)
 */

void call_notify(struct call *c, unsigned type)
{
	call_notify_duration(c, type, 0);
}

void call_notify_duration(struct call *c, unsigned type, unsigned duration)
{
	struct notify_event ev = {0};
	char uid[48];

	/* Calls from the line are the household's business; a message left is, whoever left it. */
	if (!c->eng->notify || (!c->from_line && type != NOTIFY_VOICEMAIL))
		return;
	call_uid(c, uid, sizeof(uid));
	ev.type = (enum notify_type)type;
	ev.call_id = uid;
	ev.time_ms = call_wall_ms();
	ev.number = c->reason ? "" : c->src;
	ev.name = c->cid_name;
	/* The caller's reason ("number", "withheld", ...); a refusal says why. */
	ev.reason = type == NOTIFY_REJECTED && c->screen[0]
			? c->screen
			: screen_reason_name((enum screen_reason)c->reason);
	ev.called = c->called;
	ev.duration = duration;
	notify_send(c->eng->notify, &ev);
}

static void ann_add(struct call_ann *an, const char *name)
{
	if (an->n < ARRAY_SIZE(an->names))
		an->names[an->n++] = name;
}

/* A number said digit by digit (digits/0 ... digits/9, digits/star). */
static void ann_digits(struct call_ann *an, const char *num)
{
	for (const char *d = num; *d && an->nd < ARRAY_SIZE(an->digits); d++) {
		if (*d >= '0' && *d <= '9')
			snprintf(an->digits[an->nd], sizeof(an->digits[0]), "digits/%c", *d);
		else if (*d == '*')
			str_copy(an->digits[an->nd], sizeof(an->digits[0]), "digits/star");
		else
			continue;
		ann_add(an, an->digits[an->nd++]);
	}
}

/* A feature code from a phone (144 then 2, 3, 4 or 9: docs/SCREENING.md). Returns true when
 * exten was one; note says what was done, an the confirmation to speak. */
bool call_feature_code(struct call_eng *eng, const char *exten, char *note, size_t nsize,
		       struct call_ann *an)
{
	const char *code = screen_feature_code(eng->cfg->screen);
	size_t n = strlen(code);
	char num[SCREEN_NUM_MAX + 2] = "";

	if (!n || strncmp(exten, code, n) || strlen(exten) != n + 1 || !eng->screen)
		return false;
	switch (exten[n]) {
	case '2':
		str_copy(num, sizeof(num), screen_db_last(eng->screen));
		if (!num[0]) {
			str_copy(note, nsize, "2 (no caller to block)");
			ann_add(an, "privacy-incorrect");
		} else if (screen_db_block_add(eng->screen, num, "last caller (feature code)") ==
			   0) {
			snprintf(note, nsize, "2 blocked %s", num);
			ann_add(an, "privacy-to-blacklist-last-caller");
			ann_digits(an, num);
			ann_add(an, "num-was-successfully");
			ann_add(an, "added");
		} else {
			str_copy(note, nsize, "2 failed");
			ann_add(an, "privacy-incorrect");
		}
		break;
	case '3':
		if (screen_db_block_undo(eng->screen, num, sizeof(num)) == 0) {
			snprintf(note, nsize, "3 unblocked %s", num);
			ann_digits(an, num);
			ann_add(an, "num-was-successfully");
			ann_add(an, "removed");
		} else {
			str_copy(note, nsize, "3 (empty list)");
			ann_add(an, "privacy-incorrect");
		}
		break;
	case '4':
		snprintf(note, nsize, "4 count %zu", screen_db_block_count(eng->screen));
		snprintf(num, sizeof(num), "%zu", screen_db_block_count(eng->screen));
		ann_add(an, "number");
		ann_digits(an, num);
		break;
	case '9':
		snprintf(note, nsize, "9 cleared %zu", screen_db_block_clear(eng->screen));
		ann_add(an, "removed");
		break;
	default:
		return false;
	}
	log_notice("feature code %s: %s", exten, note);
	return true;
}

void call_feature_bye_h(void *arg)
{
	call_hangup(arg, 16);
}
