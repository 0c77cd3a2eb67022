/* announce: screening's spoken messages (docs/SCREENING.md): before a refusal, early media from
 * our own address (183 with our answer, the prompts, then the final response), and after a
 * feature code (200, the confirmation, then BYE); the prompts in each language of [screening]
 * language, played by the relay leg as the dialplan's Playback does. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_int.h"
#include "cfg.h"
#include "screen.h"

#define LOG_MODULE "call"

/* The longest an announcement may keep a call (a file that never ends, a lost event). */
#define ANNOUNCE_MAX_MS 60000

static void announce_timeout_h(void *arg)
{
	struct call *c = arg;

	log_info("%s: announcement over by its time bound", c->a ? c->a->name : "call");
	call_announce_end(c);
}

void call_announce_end(struct call *c)
{
	if (!c->announcing)
		return;
	c->announcing = false;
	loop_timer_cancel(&c->tmr);
	if (c->a && c->a->ml)
		media_leg_stop(c->a->ml);
	call_hangup(c, c->refuse_code ? call_cause_for(c->refuse_code) : 16);
}

bool call_announce(struct call *c, const char *const *names, size_t n, bool answer)
{
	struct media_sound *snd[MEDIA_PLAY_MAX];
	const char *dir = c->eng->set.sounds_dir[0] ? c->eng->set.sounds_dir : CALL_SOUNDS_DIR;
	char langs[32], *save = NULL;
	char *msdp = NULL;
	size_t k = 0;
	bool sent;
	int err;

	if (!c->eng->media || !c->a || !c->a->ml || !c->a->st || !n)
		return false;
	/* ja,en: every prompt in Japanese, then every prompt in English. A prompt missing in a
	 * language is skipped (the other language still speaks). */
	snprintf(langs, sizeof(langs), "%s", screen_language(c->cfg->screen));
	for (char *l = strtok_r(langs, ",", &save); l; l = strtok_r(NULL, ",", &save)) {
		for (size_t i = 0; i < n && k < MEDIA_PLAY_MAX; i++) {
			char path[PATH_MAX];
			struct media_sound *s = NULL;

			if (media_sound_find(path, sizeof(path), dir, l, names[i]) ||
			    media_sound_load(&s, path)) {
				log_debug("%s: announcement: no %s/%s under %s", c->a->name, l,
					  names[i], dir);
				continue;
			}
			snd[k++] = s;
		}
	}
	if (!k) {
		log_info("%s: no announcement sounds (%s under %s): refused without one",
			 c->a->name, names[0], dir);
		return false;
	}
	sent = false;
	err = call_media_local_answer(c->a, &msdp);
	if (!err && msdp) {
		sent = true; /* the 183 or 200 goes out now */
		if (answer) {
			c->answered = true;
			c->answer_ms = call_wall_ms();
			call_a_reply(c->a, &c->a->st, 200, msdp);
			call_leg_set_state(c->a, LEG_CONFIRMED);
		} else {
			c->a->sent_183 = true;
			call_a_reply(c->a, &c->a->st, 183, msdp);
		}
		err = media_leg_play(c->a->ml, snd, k, false);
	} else if (!err) {
		err = EINVAL;
	}
	free(msdp);
	for (size_t i = 0; i < k; i++)
		mem_deref(snd[i]);
	if (err && !sent) {
		log_warn("%s: announcement not played: %s", c->a->name, strerror(err));
		return false;
	}
	c->announcing = true;
	if (err) {
		/* Answered already: the call ends a second later, as without sounds. */
		log_warn("%s: announcement not played: %s", c->a->name, strerror(err));
		loop_timer_start(c->eng->loop, &c->tmr, 1000, announce_timeout_h, c);
		return true;
	}
	log_info("%s: announcing %s (%zu sounds)", c->a->name, names[0], k);
	loop_timer_start(c->eng->loop, &c->tmr, ANNOUNCE_MAX_MS, announce_timeout_h, c);
	return true;
}

bool call_announce_event(struct call *c, struct call_leg *leg, const struct media_event *ev)
{
	if (!c->announcing || leg != c->a)
		return false;
	if (ev->type == MEDIA_EV_PLAY_DONE)
		call_announce_end(c); /* may free the call */
	return true;
}
