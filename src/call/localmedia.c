/* localmedia: the call engine's side of the dialplan's media applications (Playback, Background,
 * WaitExten, Read, Echo, Record, Milliwatt, MusicOnHold, MixMonitor): it answers, finds and
 * loads the sounds, drives the caller's relay leg as a local endpoint, collects digits with
 * their timeouts and reports the outcome to the channel; and music on hold for a held party. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "call_int.h"
#include "cfg.h"

#define LOG_MODULE "call"

/* Sound files of one music-on-hold class that are played (the rest are ignored). */
#define MOH_FILES_MAX MEDIA_PLAY_MAX

enum lm_phase {
	LM_IDLE,
	LM_PROMPT,  /* playing files (digits may stop them) */
	LM_COLLECT, /* waiting for digits */
	LM_BEEP,    /* Record: the beep before recording */
	LM_RECORD,
	LM_RUN, /* tone, echo, music on hold: until a limit, '#' or hangup */
};

struct call_lm {
	enum lm_phase phase;
	enum pbx_act_type type;
	struct pbx_media m; /* strings live in the channel until its next run */
	struct loop_timer tmr;
	char digits[PBX_DIGITS_MAX + 1];
	size_t ndigits;
	bool failed;
	char dq[16]; /* digits received while no application listened */
	size_t ndq;
	char rec_path[PATH_MAX];
	bool rec_keep;
	bool monitoring;
	char what[PATH_MAX + 16]; /* for `core show channels verbose` */
};

static struct call_lm *lm_get(struct call *c)
{
	if (!c->lm) {
		c->lm = calloc(1, sizeof(*c->lm));
		if (c->lm)
			loop_timer_init(&c->lm->tmr);
	}
	return c->lm;
}

static const struct call_settings *settings(const struct call *c)
{
	return &c->eng->set;
}

static const char *sounds_dir(const struct call *c)
{
	return settings(c)->sounds_dir[0] ? settings(c)->sounds_dir : CALL_SOUNDS_DIR;
}

/* Loads a sound by name for the language; NULL (logged) when missing or unreadable. */
static struct media_sound *sound_get(const struct call *c, const char *name, const char *lang)
{
	char path[PATH_MAX];
	struct media_sound *s = NULL;
	int err;

	if (!lang || !*lang)
		lang = "en";
	err = media_sound_find(path, sizeof(path), sounds_dir(c), lang, name);
	if (!err)
		err = media_sound_load(&s, path);
	if (err) {
		log_warn("%s: sound '%s' (%s): %s", c->a ? c->a->name : "?", name,
			 path[0] ? path : name, strerror(err));
		return NULL;
	}
	return s;
}

void call_answer_local(struct call *c)
{
	char *msdp = NULL;

	if (c->answered || !c->a || !c->a->st)
		return;
	c->answered = true;
	c->answer_ms = call_wall_ms();
	if (c->a->ml)
		call_media_local_answer(c->a, &msdp);
	call_a_reply(c->a, &c->a->st, 200, msdp ? msdp : c->a->sdp_remote);
	free(msdp);
	call_leg_set_state(c->a, LEG_CONFIRMED);
}

static void lm_finish(struct call *c, enum pbx_media_status st);

static void tmr_h(void *arg);

static void collect_start(struct call *c, unsigned ms)
{
	struct call_lm *lm = c->lm;

	lm->phase = LM_COLLECT;
	if (lm->m.max_digits == 0) {
		lm_finish(c, lm->failed ? PBX_MEDIA_FAILED : PBX_MEDIA_OK);
		return;
	}
	if (lm->m.moh_class && *lm->m.moh_class && c->a && c->a->ml)
		call_lm_moh_start(c, c->a, lm->m.moh_class);
	if (!ms) {
		lm_finish(c, lm->ndigits ? PBX_MEDIA_DIGITS : PBX_MEDIA_TIMEOUT);
		return;
	}
	loop_timer_start(c->eng->loop, &lm->tmr, ms, tmr_h, c);
}

/* One digit while collecting; may finish. */
static void collect_digit(struct call *c, char d)
{
	struct call_lm *lm = c->lm;

	loop_timer_cancel(&lm->tmr);
	if (lm->m.term_digits && strchr(lm->m.term_digits, d)) {
		lm_finish(c, PBX_MEDIA_OK);
		return;
	}
	if (lm->ndigits < PBX_DIGITS_MAX)
		lm->digits[lm->ndigits++] = d;
	lm->digits[lm->ndigits] = '\0';
	if (lm->ndigits >= lm->m.max_digits) {
		lm_finish(c, PBX_MEDIA_DIGITS);
		return;
	}
	collect_start(c, lm->m.digit_timeout_ms ? lm->m.digit_timeout_ms : lm->m.timeout_ms);
}

static void record_begin(struct call *c)
{
	struct call_lm *lm = c->lm;
	struct media_rec_opts o = {.silence_ms = lm->m.silence_ms,
				   .append = lm->m.rec_opts & PBX_REC_OPT_a};
	int err;

	err = media_leg_record(c->a->ml, lm->rec_path, &o);
	if (err) {
		log_warn("%s: Record to %s: %s", c->a->name, lm->rec_path, strerror(err));
		lm_finish(c, PBX_MEDIA_FAILED);
		return;
	}
	lm->phase = LM_RECORD;
	snprintf(lm->what, sizeof(lm->what), "recording %s", lm->rec_path);
	if (lm->m.max_ms)
		loop_timer_start(c->eng->loop, &lm->tmr, lm->m.max_ms, tmr_h, c);
}

static void record_end(struct call *c, enum pbx_media_status st, uint32_t trim_ms)
{
	struct call_lm *lm = c->lm;
	struct media_rec_result res;
	int err = media_leg_record_stop(c->a->ml, trim_ms, &res);

	if (err && err != ENOENT) {
		log_warn("%s: Record to %s: %s", c->a->name, lm->rec_path, strerror(err));
		st = PBX_MEDIA_FAILED;
	} else if (!err) {
		log_info("%s: recorded %u ms to %s", c->a->name, res.samples / 8, lm->rec_path);
	}
	lm_finish(c, st);
}

static void tmr_h(void *arg)
{
	struct call *c = arg;
	struct call_lm *lm = c->lm;

	switch (lm->phase) {
	case LM_COLLECT:
		lm_finish(c, lm->ndigits ? PBX_MEDIA_DIGITS : PBX_MEDIA_TIMEOUT);
		break;
	case LM_RECORD:
		record_end(c, PBX_MEDIA_TIMEOUT, 0);
		break;
	case LM_RUN:
		/* A tone that waits for digits (DISA's dial tone) timed out waiting. */
		lm_finish(c, lm->type == PBX_ACT_TONE && lm->m.max_digits ? PBX_MEDIA_TIMEOUT
									   : PBX_MEDIA_OK);
		break;
	default:
		break;
	}
}

/* Ends the current application: stops what the leg sends, reports, runs the dialplan on. */
static void lm_finish(struct call *c, enum pbx_media_status st)
{
	struct call_lm *lm = c->lm;
	char digits[sizeof(lm->digits)];

	loop_timer_cancel(&lm->tmr);
	if (c->a && c->a->ml)
		media_leg_stop(c->a->ml);
	memcpy(digits, lm->digits, sizeof(digits));
	lm->phase = LM_IDLE;
	lm->what[0] = '\0';
	lm->ndigits = 0;
	lm->digits[0] = '\0';
	if (c->chan)
		pbx_chan_media_done(c->chan, st, digits);
	call_run(c);
}

/* The path of a Record/MixMonitor file: absolute as given, else under the monitor
 * directory. */
static int rec_path(const struct call *c, const char *name, const char *fmt, char *buf,
		    size_t size)
{
	const char *dir = settings(c)->monitor_dir[0] ? settings(c)->monitor_dir : ".";
	int n;

	if (strstr(name, "..") && name[0] != '/')
		return EINVAL;
	if (name[0] == '/')
		n = snprintf(buf, size, "%s.%s", name, fmt);
	else
		n = snprintf(buf, size, "%s/%s.%s", dir, name, fmt);
	if (n < 0 || (size_t)n >= size)
		return ENAMETOOLONG;
	/* The directories of a relative name are made (Asterisk does for its monitor dir). */
	for (char *p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST) {
			int err = errno;
			*p = '/';
			return err;
		}
		*p = '/';
	}
	return 0;
}

static void start_play(struct call *c)
{
	struct call_lm *lm = c->lm;
	struct media_sound *snd[PBX_MEDIA_FILES_MAX];
	size_t n = 0;

	for (size_t i = 0; i < lm->m.nfiles && n < MEDIA_PLAY_MAX; i++) {
		struct media_sound *s = sound_get(c, lm->m.files[i], lm->m.language);

		if (s)
			snd[n++] = s;
	}
	if (lm->m.nfiles && !n)
		lm->failed = true;
	if (n) {
		int err = media_leg_play(c->a->ml, snd, n, false);

		for (size_t i = 0; i < n; i++)
			mem_deref(snd[i]);
		if (err) {
			log_warn("%s: cannot play: %s", c->a->name, strerror(err));
			lm->failed = true;
		} else {
			lm->phase = LM_PROMPT;
			snprintf(lm->what, sizeof(lm->what), "playing %s", lm->m.files[0]);
			return;
		}
	}
	collect_start(c, lm->m.timeout_ms);
}

void call_lm_start(struct call *c, const struct pbx_action *act)
{
	struct call_lm *lm = lm_get(c);
	int err = 0;

	if (!lm) {
		pbx_chan_media_done(c->chan, PBX_MEDIA_FAILED, NULL);
		c->rerun = true;
		return;
	}
	snprintf(c->lastapp, sizeof(c->lastapp), "%s", act->media.app ? act->media.app : "?");
	c->lastdata[0] = '\0';
	if (act->type == PBX_ACT_PLAY) {
		size_t off = 0;

		for (size_t i = 0; i < act->media.nfiles && off < sizeof(c->lastdata); i++) {
			int n = snprintf(c->lastdata + off, sizeof(c->lastdata) - off, "%s%s",
					 i ? "&" : "", act->media.files[i]);
			if (n < 0)
				break;
			off += (size_t)n;
		}
	} else if (act->type == PBX_ACT_RECORD || act->type == PBX_ACT_MIXMONITOR) {
		snprintf(c->lastdata, sizeof(c->lastdata), "%.200s.%.16s", act->media.path,
			 act->media.format);
	} else if (act->type == PBX_ACT_MOH) {
		snprintf(c->lastdata, sizeof(c->lastdata), "%.200s", act->media.moh_class);
	} else if (act->type == PBX_ACT_CONF) {
		snprintf(c->lastdata, sizeof(c->lastdata), "%.200s", act->media.path);
	} else if (act->type == PBX_ACT_TONE) {
		snprintf(c->lastdata, sizeof(c->lastdata), "%.200s", act->media.tone);
	}
	if (act->media.background) {
		/* Playtones/StopPlaytones: the tone goes on (or stops) while the dialplan does. */
		c->rerun = true;
		if (!c->a || !c->a->ml || !c->a->neg.ok) {
			log_notice("%s: %s: no media on this call yet (Answer or Progress first)",
				   c->a ? c->a->name : "?", c->lastapp);
			return;
		}
		if (!*act->media.tone) {
			media_leg_stop(c->a->ml);
			return;
		}
		if (media_leg_tone(c->a->ml, act->media.tone))
			log_warn("%s: Playtones(%s): not a tone list", c->a->name, act->media.tone);
		return;
	}
	lm->type = act->type;
	lm->m = act->media;
	lm->failed = false;
	lm->ndigits = 0;
	lm->digits[0] = '\0';
	lm->what[0] = '\0';

	if (act->type == PBX_ACT_MIXMONITOR || act->type == PBX_ACT_STOPMIXMONITOR) {
		c->rerun = true;
		if (!c->a || !c->a->ml)
			return;
		if (act->type == PBX_ACT_STOPMIXMONITOR) {
			media_leg_monitor_stop(c->a->ml);
			lm->monitoring = false;
			return;
		}
		err = rec_path(c, act->media.path, "wav", lm->rec_path, sizeof(lm->rec_path));
		if (!err)
			err = media_leg_monitor(c->a->ml, lm->rec_path);
		if (err)
			log_warn("%s: MixMonitor %s: %s", c->a->name, act->media.path,
				 strerror(err));
		else
			log_info("%s: MixMonitor to %s", c->a->name, lm->rec_path);
		lm->monitoring = !err;
		return;
	}
	if (lm->m.skip_unanswered && !c->answered) {
		lm_finish(c, PBX_MEDIA_SKIP);
		return;
	}
	if (lm->m.answer)
		call_answer_local(c);
	if (!c->a || !c->a->ml || !c->a->neg.ok) {
		log_warn("%s: no local media on this call (relay off or not answered)",
			 c->a ? c->a->name : "?");
		lm_finish(c, PBX_MEDIA_FAILED);
		return;
	}
	/* Digits pressed before: the first one that may stop a prompt (or DISA's dial tone)
	 * counts. */
	if ((act->type == PBX_ACT_PLAY || act->type == PBX_ACT_TONE) && lm->ndq) {
		char d = lm->dq[0];

		memmove(lm->dq, lm->dq + 1, --lm->ndq);
		if (lm->m.stop_digits && strchr(lm->m.stop_digits, d) && lm->m.max_digits) {
			lm->phase = LM_COLLECT;
			collect_digit(c, d);
			return;
		}
	}
	lm->ndq = 0;
	switch (act->type) {
	case PBX_ACT_PLAY:
		start_play(c);
		return;
	case PBX_ACT_TONE:
		err = media_leg_tone(c->a->ml, lm->m.tone);
		snprintf(lm->what, sizeof(lm->what), "tone %s", lm->m.tone);
		break;
	case PBX_ACT_ECHO:
		err = media_leg_echo(c->a->ml);
		snprintf(lm->what, sizeof(lm->what), "echo");
		break;
	case PBX_ACT_MOH:
		err = call_lm_moh_start(c, c->a, lm->m.moh_class);
		break;
	case PBX_ACT_CONF:
		snprintf(lm->what, sizeof(lm->what), "conference %.63s", lm->m.path);
		err = media_leg_conf(c->a->ml, lm->m.path);
		if (!err)
			log_info("%s: joined conference %s", c->a->name, lm->m.path);
		break;
	case PBX_ACT_RECORD:
		err = rec_path(c, lm->m.path, "wav", lm->rec_path, sizeof(lm->rec_path));
		if (err) {
			log_warn("%s: Record %s: %s", c->a->name, lm->m.path, strerror(err));
			lm_finish(c, PBX_MEDIA_FAILED);
			return;
		}
		lm->rec_keep = lm->m.rec_opts & PBX_REC_OPT_k;
		if (!(lm->m.rec_opts & PBX_REC_OPT_q)) {
			struct media_sound *beep = sound_get(c, "beep", lm->m.language);

			if (beep && !media_leg_play(c->a->ml, &beep, 1, false)) {
				mem_deref(beep);
				lm->phase = LM_BEEP;
				return;
			}
			mem_deref(beep);
		}
		record_begin(c);
		return;
	default:
		err = EINVAL;
		break;
	}
	if (err) {
		log_warn("%s: %s: %s", c->a->name, c->lastapp, strerror(err));
		lm_finish(c, PBX_MEDIA_FAILED);
		return;
	}
	lm->phase = LM_RUN;
	if (lm->m.duration_ms)
		loop_timer_start(c->eng->loop, &lm->tmr, lm->m.duration_ms, tmr_h, c);
}

void call_lm_digit(struct call *c, char d)
{
	struct call_lm *lm = lm_get(c);

	if (!lm)
		return;
	switch (lm->phase) {
	case LM_IDLE:
		if (lm->ndq < sizeof(lm->dq))
			lm->dq[lm->ndq++] = d;
		break;
	case LM_PROMPT:
		if (!lm->m.stop_digits || !strchr(lm->m.stop_digits, d))
			break;
		media_leg_stop(c->a->ml);
		lm->phase = LM_COLLECT;
		collect_digit(c, d);
		break;
	case LM_COLLECT:
		collect_digit(c, d);
		break;
	case LM_RECORD:
		if (lm->m.end_digits && strchr(lm->m.end_digits, d))
			record_end(c, PBX_MEDIA_OK, 200); /* the key's own tone is cut off */
		break;
	case LM_RUN:
		if (lm->type == PBX_ACT_ECHO && lm->m.end_digits && strchr(lm->m.end_digits, d))
			lm_finish(c, PBX_MEDIA_OK);
		/* A tone that waits for digits: the first one stops it (a dial tone). */
		if (lm->type == PBX_ACT_TONE && lm->m.max_digits && lm->m.stop_digits &&
		    strchr(lm->m.stop_digits, d)) {
			loop_timer_cancel(&lm->tmr);
			media_leg_stop(c->a->ml);
			lm->phase = LM_COLLECT;
			collect_digit(c, d);
		}
		break;
	case LM_BEEP:
		break;
	}
}

void call_lm_event(struct call *c, struct call_leg *leg, const struct media_event *ev)
{
	struct call_lm *lm = c->lm;

	if (!lm || leg != c->a)
		return;
	switch (ev->type) {
	case MEDIA_EV_PLAY_DONE:
		if (lm->phase == LM_PROMPT) {
			lm->what[0] = '\0';
			collect_start(c, lm->m.timeout_ms);
		} else if (lm->phase == LM_BEEP) {
			record_begin(c);
		} else if (lm->phase == LM_RUN) {
			lm_finish(c, PBX_MEDIA_OK);
		}
		break;
	case MEDIA_EV_SILENCE:
		if (lm->phase == LM_RECORD)
			record_end(c, PBX_MEDIA_SILENCE, lm->m.silence_ms);
		break;
	case MEDIA_EV_REC_ERROR:
		if (lm->phase == LM_RECORD)
			record_end(c, PBX_MEDIA_FAILED, 0);
		break;
	default:
		break;
	}
}

void call_lm_hangup(struct call *c)
{
	struct call_lm *lm = c->lm;

	if (!lm)
		return;
	loop_timer_cancel(&lm->tmr);
	if (lm->phase == LM_RECORD && c->a && c->a->ml) {
		struct media_rec_result res;

		/* Without the k option a recording cut by the hangup is deleted (Asterisk). */
		if (!media_leg_record_stop(c->a->ml, 0, &res)) {
			if (lm->rec_keep)
				log_info("%s: recorded %u ms to %s (hangup)", c->a->name,
					 res.samples / 8, lm->rec_path);
			else
				unlink(lm->rec_path);
		}
		/* RECORD_STATUS for the h extension. */
		if (c->chan)
			pbx_chan_set_var(c->chan, "RECORD_STATUS", "HANGUP");
	}
	if (lm->phase == LM_COLLECT && c->chan && lm->type == PBX_ACT_PLAY)
		pbx_chan_set_var(c->chan, "READSTATUS", "HANGUP");
	lm->phase = LM_IDLE;
}

void call_lm_free(struct call *c)
{
	if (!c->lm)
		return;
	loop_timer_cancel(&c->lm->tmr);
	free(c->lm);
	c->lm = NULL;
}

const char *call_lm_state(const struct call *c)
{
	return c->lm && c->lm->what[0] ? c->lm->what : NULL;
}

/* ---- music on hold ------------------------------------------------------------------------- */

struct moh_class {
	char dir[PATH_MAX];
	bool random;
};

/* musiconhold.conf [class]: mode=files (the only mode), directory= (relative to astdatadir),
 * sort=random|alpha. Read when music starts (rare; a file of a few lines). ENOENT when the
 * class does not exist; the built-in "default" class is DATADIR/moh. */
static int moh_class_find(const struct call *c, const char *name, struct moh_class *out)
{
	char path[PATH_MAX];
	const char *datadir = settings(c)->data_dir[0] ? settings(c)->data_dir : CALL_DATA_DIR;
	struct conf *conf = NULL;
	struct conf_diags diags;
	const struct conf_section *sec;
	int err = ENOENT;

	memset(out, 0, sizeof(*out));
	if (c->cfg && c->cfg->dir) {
		snprintf(path, sizeof(path), "%s/musiconhold.conf", c->cfg->dir);
		memset(&diags, 0, sizeof(diags));
		if (access(path, F_OK) == 0 && conf_load(&conf, path, &diags))
			log_warn("%s: cannot be read; using the built-in default class", path);
		conf_diags_reset(&diags);
	}
	sec = conf ? conf_section_find(conf, name) : NULL;
	if (sec) {
		const char *dir = "moh";

		for (const struct conf_var *v = sec->vars; v; v = v->next) {
			if (!strcasecmp(v->name, "directory"))
				dir = v->value;
			else if (!strcasecmp(v->name, "sort"))
				out->random = !strcasecmp(v->value, "random");
			else if (!strcasecmp(v->name, "mode") && strcasecmp(v->value, "files"))
				log_warn("%s:%u: [%s] mode=%s is not supported (files only)",
					 v->origin.file, v->origin.line, name, v->value);
		}
		if (dir[0] == '/')
			snprintf(out->dir, sizeof(out->dir), "%s", dir);
		else
			snprintf(out->dir, sizeof(out->dir), "%s/%s", datadir, dir);
		err = 0;
	} else if (!strcasecmp(name, "default")) {
		snprintf(out->dir, sizeof(out->dir), "%s/moh", datadir);
		err = 0;
	}
	conf_free(conf);
	return err;
}

/* A peer's mohsuggest= naming a class musiconhold.conf (conf, may be NULL) lacks: a warning. */
static void moh_suggest_check(const struct sipcfg *peers, const struct conf *conf,
			      struct conf_diags *diags)
{
	for (size_t i = 0; peers && i < sipcfg_peer_count(peers); i++) {
		const struct peer *p = sipcfg_peer_at(peers, i);
		bool found = false;

		if (!p->mohsuggest || !strcasecmp(p->mohsuggest, "default"))
			continue;
		for (const struct conf_section *sec = conf ? conf_sections(conf) : NULL; sec;
		     sec = sec->next)
			if (!sec->is_template && !strcmp(sec->name, p->mohsuggest))
				found = true;
		if (!found) {
			struct conf_origin o = peer_origin(p, PEER_KEY_MOHSUGGEST);

			conf_diag_add(diags, CONF_WARNING, o.file, o.line,
				      "[%s] mohsuggest=%s is not a class in musiconhold.conf: the "
				      "default class is played",
				      p->name, p->mohsuggest);
		}
	}
}

int call_moh_check(const char *confdir, const struct call_settings *set,
		   const struct sipcfg *peers, struct conf_diags *diags)
{
	char path[PATH_MAX];
	const char *datadir = set && set->data_dir[0] ? set->data_dir : CALL_DATA_DIR;
	struct conf *conf = NULL;
	struct stat st;

	if (!confdir)
		return 0;
	snprintf(path, sizeof(path), "%s/musiconhold.conf", confdir);
	if (access(path, F_OK) != 0) {
		moh_suggest_check(peers, NULL, diags);
		return 0;
	}
	if (conf_load(&conf, path, diags))
		return EINVAL;
	moh_suggest_check(peers, conf, diags);
	for (const struct conf_section *sec = conf_sections(conf); sec; sec = sec->next) {
		const char *dir = "moh";
		const struct conf_var *dv = NULL;

		if (sec->is_template)
			continue;
		for (const struct conf_var *v = sec->vars; v; v = v->next) {
			if (!strcasecmp(sec->name, "general")) {
				conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
					      "[general] %s is not implemented; ignored", v->name);
			} else if (!strcasecmp(v->name, "mode")) {
				if (strcasecmp(v->value, "files"))
					conf_diag_add(diags, CONF_WARNING, v->origin.file,
						      v->origin.line,
						      "[%s] mode=%s is not supported (files only): the "
						      "class plays its directory's files",
						      sec->name, v->value);
			} else if (!strcasecmp(v->name, "directory")) {
				dir = v->value;
				dv = v;
			} else if (!strcasecmp(v->name, "sort")) {
				if (strcasecmp(v->value, "random") && strcasecmp(v->value, "alpha") &&
				    strcasecmp(v->value, "randstart"))
					conf_diag_add(diags, CONF_WARNING, v->origin.file,
						      v->origin.line,
						      "[%s] sort=%s: expected random, randstart or alpha",
						      sec->name, v->value);
			} else {
				conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
					      "[%s] %s is not implemented; ignored", sec->name,
					      v->name);
			}
		}
		if (!strcasecmp(sec->name, "general"))
			continue;
		if (dir[0] == '/')
			snprintf(path, sizeof(path), "%s", dir);
		else
			snprintf(path, sizeof(path), "%s/%s", datadir, dir);
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			conf_diag_add(diags, CONF_WARNING, dv ? dv->origin.file : sec->origin.file,
				      dv ? dv->origin.line : sec->origin.line,
				      "[%s] directory %s does not exist: the class plays nothing",
				      sec->name, path);
	}
	conf_free(conf);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int call_lm_moh_start(struct call *c, struct call_leg *leg, const char *class)
{
	struct moh_class mc;
	struct media_sound *snd[MOH_FILES_MAX];
	char *names[MOH_FILES_MAX];
	size_t nn = 0, n = 0;
	struct dirent *de;
	DIR *d;
	int err;

	if (!leg || !leg->ml)
		return EINVAL;
	if (!class || !*class)
		class = "default";
	err = moh_class_find(c, class, &mc);
	if (err) {
		log_warn("%s: no music on hold class '%s' in musiconhold.conf", leg->name, class);
		return err;
	}
	d = opendir(mc.dir);
	if (!d) {
		err = errno;
		log_warn("%s: music on hold '%s': %s: %s", leg->name, class, mc.dir, strerror(err));
		return err;
	}
	while ((de = readdir(d)) && nn < MOH_FILES_MAX) {
		const char *dot = strrchr(de->d_name, '.');

		if (de->d_name[0] == '.' || !dot ||
		    (strcasecmp(dot, ".wav") && strcasecmp(dot, ".sln") && strcasecmp(dot, ".ulaw") &&
		     strcasecmp(dot, ".alaw")))
			continue;
		names[nn] = strdup(de->d_name);
		if (names[nn])
			nn++;
	}
	closedir(d);
	qsort(names, nn, sizeof(*names), name_cmp);
	if (mc.random && nn > 1) {
		/* sort=random: start at a random file, keep the order after it. */
		uint32_t r;
		rand_bytes(&r, sizeof(r));
		size_t k = r % nn;
		char *tmp[MOH_FILES_MAX];
		for (size_t i = 0; i < nn; i++)
			tmp[i] = names[(i + k) % nn];
		memcpy(names, tmp, nn * sizeof(*names));
	}
	for (size_t i = 0; i < nn; i++) {
		char path[PATH_MAX + 256];
		int pn = snprintf(path, sizeof(path), "%s/%s", mc.dir, names[i]);

		if (pn > 0 && (size_t)pn < sizeof(path) && media_sound_load(&snd[n], path) == 0)
			n++;
		free(names[i]);
	}
	if (!n) {
		log_warn("%s: music on hold '%s': no playable file in %s", leg->name, class, mc.dir);
		return ENOENT;
	}
	err = media_leg_play(leg->ml, snd, n, true);
	for (size_t i = 0; i < n; i++)
		mem_deref(snd[i]);
	if (err) {
		log_warn("%s: music on hold: %s", leg->name, strerror(err));
		return err;
	}
	log_info("%s: music on hold '%s' (%zu files from %s)", leg->name, class, n, mc.dir);
	if (leg == c->a) {
		struct call_lm *lm = lm_get(c);
		if (lm)
			snprintf(lm->what, sizeof(lm->what), "moh %s", class);
	}
	return 0;
}

void call_lm_dial_moh_stop(struct call *c)
{
	if (!c->dial_moh)
		return;
	c->dial_moh = false;
	if (c->a && c->a->ml)
		media_leg_stop(c->a->ml);
	if (c->lm)
		c->lm->what[0] = '\0';
}

void call_lm_hold(struct call_leg *held, bool on, const struct call_leg *holder)
{
	struct call *c = held->call;
	const struct peer *hp;
	const char *class = "default";

	if (!c || !held->ml)
		return;
	/* The holding phone's mohsuggest= (Asterisk's key) picks the class. */
	hp = holder && holder->peer[0] && c->eng->cfg ? peer_find(c->eng->cfg->peers, holder->peer)
						       : NULL;
	if (hp && hp->mohsuggest)
		class = hp->mohsuggest;
	if (on) {
		if (call_lm_moh_start(c, held, class) == 0) {
			held->moh = true;
			snprintf(held->moh_class, sizeof(held->moh_class), "%s", class);
		} else if (strcmp(class, "default") && call_lm_moh_start(c, held, "default") == 0) {
			held->moh = true;
			snprintf(held->moh_class, sizeof(held->moh_class), "default");
		}
	} else if (held->moh) {
		media_leg_stop(held->ml);
		held->moh = false;
	}
}

void call_lm_show(const struct call_leg *leg, struct mbuf *out)
{
	struct media_ep_state es;
	const struct call *c = leg->call;
	const struct call_lm *lm = c && leg == c->a ? c->lm : NULL;
	const char *sep = "";

	if (!leg->ml || media_leg_ep_state(leg->ml, &es))
		return;
	mbuf_write_str(out, "  media state: ");
	switch (es.src) {
	case MEDIA_SRC_PLAY:
		if (es.loop)
			mbuf_printf(out, "moh %s",
				    lm && !strncmp(lm->what, "moh ", 4) ? lm->what + 4
				    : leg->moh && leg->moh_class[0]     ? leg->moh_class
									: "default");
		else
			mbuf_printf(out, "%s", lm && !strncmp(lm->what, "playing ", 8) ? lm->what
										       : "playing");
		sep = ", ";
		break;
	case MEDIA_SRC_TONE:
		mbuf_printf(out, "%s", lm && !strncmp(lm->what, "tone ", 5) ? lm->what : "tone");
		sep = ", ";
		break;
	case MEDIA_SRC_ECHO:
		mbuf_write_str(out, "echo");
		sep = ", ";
		break;
	case MEDIA_SRC_CONF:
		mbuf_printf(out, "%s", lm && !strncmp(lm->what, "conference ", 11) ? lm->what
										      : "conference");
		sep = ", ";
		break;
	case MEDIA_SRC_NONE:
		break;
	}
	if (es.recording) {
		mbuf_printf(out, "%srecording %s (%u ms)", sep, lm ? lm->rec_path : "", es.recorded_ms);
		sep = ", ";
	}
	if (es.monitoring) {
		mbuf_printf(out, "%smixmonitor %s", sep, lm && lm->monitoring ? lm->rec_path : "");
		sep = ", ";
	}
	if (!*sep)
		mbuf_write_str(out, es.bridged ? "relayed" : "idle");
	else if (es.bridged && es.src == MEDIA_SRC_NONE)
		mbuf_write_str(out, ", relayed");
	mbuf_write_str(out, "\n");
}

const char *call_lm_conf_room(const struct call *c)
{
	const struct call_lm *lm = c ? c->lm : NULL;

	if (!lm || lm->type != PBX_ACT_CONF || lm->phase != LM_RUN ||
	    strncmp(lm->what, "conference ", 11))
		return NULL;
	return lm->what + 11;
}

int call_conf_info(struct call_eng *eng, const char *args, struct mbuf *out)
{
	const char *comma = strchr(args, ',');
	unsigned n = 0;

	if (!comma) {
		log_warn("CONFBRIDGE_INFO(): expected 'parties,ROOM'");
		return 0;
	}
	if ((size_t)(comma - args) == 7 && !strncasecmp(args, "parties", 7)) {
		LIST_FOREACH (&eng->calls, le) {
			const char *room = call_lm_conf_room(le->data);

			if (room && !strcmp(room, comma + 1))
				n++;
		}
	}
	return mbuf_printf(out, "%u", n);
}
