/* vmapp: the call engine's side of VoiceMail() and VoiceMailMain(): greetings and prompts played
 * on the caller's relay leg, the message recorded and handed to the spool (src/vm), and the
 * mailbox menu driven by the caller's digits. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call_int.h"
#include "notify.h"
#include "vm.h"

#define LOG_MODULE "call"

#define VMM_TRIES     3	   /* login attempts, as Asterisk */
#define VMM_DIGIT_MS  5000 /* wait for a menu key / a digit of the box or password */
#define VMM_INPUT_MAX 15
#define VMM_HEARD_MAX 1024 /* INBOX messages whose hearing is remembered (moved to Old) */

enum vmp {
	VMP_IDLE,
	VMP_GREETING, /* VoiceMail: the greeting and instructions ('#' skips them) */
	VMP_BEEP,
	VMP_RECORD,
	VMP_BYE, /* a last prompt, then the application ends */
	/* VoiceMailMain */
	VMP_ASK_BOX,	/* prompt vm-login, collect the box ending with '#' */
	VMP_ASK_PASS,	/* prompt vm-password */
	VMP_MENU,	/* prompt the menu, wait for a key */
	VMP_LISTEN,	/* playing a message; keys act at once */
	VMP_OPTIONS,	/* mailbox options (0): which greeting to record */
	VMP_GREET_BEEP, /* "record your greeting after the tone", the beep */
	VMP_GREET_REC,	/* recording a greeting */
	VMP_NEWPASS1,	/* options 5: the new password, ending with '#' */
	VMP_NEWPASS2,	/* ... entered again */
};

struct call_vmapp {
	enum vmp phase;
	enum pbx_act_type type;
	unsigned opts;
	struct loop_timer tmr;
	char box[64], ctx[64];
	const struct vm_box *b; /* valid while the engine's struct vm lives (a reload retires, never frees, boxes) */
	char tmp[PATH_MAX];	/* the recording in progress */
	enum pbx_media_status result;
	/* VoiceMailMain */
	char input[VMM_INPUT_MAX + 1];
	size_t ninput;
	unsigned tries;
	enum vm_folder folder;
	unsigned cur; /* the message the menu is on */
	bool collecting;
	bool logged_in;
	const char *greet; /* the greeting being recorded: "unavail", "busy", "greet" (name), "temp" */
	char newpw[VMM_INPUT_MAX + 1]; /* options 5: the first entry */
	uint8_t heard[VMM_HEARD_MAX / 8]; /* INBOX messages played: to Old when the caller leaves */
};

static bool heard_get(const struct call_vmapp *v, unsigned i)
{
	return i < VMM_HEARD_MAX && (v->heard[i / 8] >> (i % 8) & 1);
}

static void heard_set(struct call_vmapp *v, unsigned i, bool on)
{
	if (i >= VMM_HEARD_MAX)
		return;
	if (on)
		v->heard[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		v->heard[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

/* INBOX message i left the folder: the later ones were renumbered down by one. */
static void heard_remove(struct call_vmapp *v, unsigned i)
{
	for (unsigned k = i; k + 1 < VMM_HEARD_MAX; k++)
		heard_set(v, k, heard_get(v, k + 1));
	heard_set(v, VMM_HEARD_MAX - 1, false);
}

/* Leaving VoiceMailMain: the INBOX messages heard go to Old (as Asterisk), from the last down so
 * that the renumbering does not move the ones still to go. */
static void heard_to_old(struct call *c)
{
	struct call_vmapp *v = c->vmapp;
	unsigned n;

	if (!v->logged_in || !v->b || !c->eng->vm)
		return;
	n = vm_folder_count(c->eng->vm, v->b, VM_INBOX);
	for (unsigned i = n < VMM_HEARD_MAX ? n : VMM_HEARD_MAX; i-- > 0;)
		if (heard_get(v, i) && !vm_msg_move(c->eng->vm, v->b, VM_INBOX, i, VM_OLD))
			log_info("VoiceMailMain %s@%s: INBOX message %u heard: saved to Old",
				 v->box, v->ctx, i);
	memset(v->heard, 0, sizeof(v->heard));
	v->logged_in = false;
}

static const char *sounds_dir(const struct call *c)
{
	return c->eng->set.sounds_dir[0] ? c->eng->set.sounds_dir : CALL_SOUNDS_DIR;
}

/* A sound by name in the channel's language, or by absolute path; NULL when missing. */
static struct media_sound *snd(const struct call *c, const char *name)
{
	const char *lang = c->chan ? pbx_chan_language(c->chan) : "";
	char path[PATH_MAX];
	struct media_sound *s = NULL;
	int err;

	err =
	    media_sound_find(path, sizeof(path), sounds_dir(c), lang && *lang ? lang : "en", name);
	if (!err)
		err = media_sound_load(&s, path);
	if (err) {
		log_warn("%s: voicemail sound '%s': %s", c->a ? c->a->name : "?", name,
			 strerror(err));
		return NULL;
	}
	return s;
}

/* Plays the named sounds (missing ones skipped); false when nothing could be played. */
static bool play(struct call *c, const char *const *names, size_t n)
{
	struct media_sound *s[MEDIA_PLAY_MAX];
	size_t k = 0;
	int err;

	for (size_t i = 0; i < n && k < MEDIA_PLAY_MAX; i++)
		if ((s[k] = snd(c, names[i])))
			k++;
	if (!k)
		return false;
	err = media_leg_play(c->a->ml, s, k, false);
	for (size_t i = 0; i < k; i++)
		mem_deref(s[i]);
	return err == 0;
}

/* Ends the application: reports to the channel and runs the dialplan on. */
static void finish(struct call *c, enum pbx_media_status st)
{
	struct call_vmapp *v = c->vmapp;

	loop_timer_cancel(&v->tmr);
	if (c->a && c->a->ml)
		media_leg_stop(c->a->ml);
	heard_to_old(c);
	v->phase = VMP_IDLE;
	if (c->chan)
		pbx_chan_media_done(c->chan, st, NULL);
	call_run(c);
}

/* Plays a last prompt, then finishes with st (at once when it cannot be played). */
static void bye(struct call *c, const char *name, enum pbx_media_status st)
{
	struct call_vmapp *v = c->vmapp;
	const char *n[1] = {name};

	v->result = st;
	if (name && c->a && c->a->ml && play(c, n, 1)) {
		v->phase = VMP_BYE;
		return;
	}
	finish(c, st);
}

static void tmr_h(void *arg);

/* ---- VoiceMail ------------------------------------------------------------------------------ */

static void rec_begin(struct call *c)
{
	struct call_vmapp *v = c->vmapp;
	const struct vm_general *g = vm_general(c->eng->vm);
	struct media_rec_opts o = {.silence_ms = g->maxsilence * 1000,
				   .threshold = g->silencethreshold};
	int err = vm_tmp_path(c->eng->vm, v->b, v->tmp, sizeof(v->tmp));

	if (!err)
		err = media_leg_record(c->a->ml, v->tmp, &o);
	if (err) {
		log_warn("%s: VoiceMail %s@%s: cannot record: %s", c->a->name, v->box, v->ctx,
			 strerror(err));
		bye(c, "vm-goodbye", PBX_MEDIA_FAILED);
		return;
	}
	v->phase = VMP_RECORD;
	if (g->maxsecs)
		loop_timer_start(c->eng->loop, &v->tmr, (uint64_t)g->maxsecs * 1000, tmr_h, c);
}

/* Ends the recording (trim_ms of it dropped) and stores the message; returns the status. */
static enum pbx_media_status rec_end(struct call *c, uint32_t trim_ms)
{
	struct call_vmapp *v = c->vmapp;
	const struct vm_general *g = vm_general(c->eng->vm);
	struct media_rec_result res = {0};
	struct vm_msginfo mi;
	const char *num, *name;
	unsigned secs;
	int err;

	loop_timer_cancel(&v->tmr);
	err = media_leg_record_stop(c->a->ml, trim_ms, &res);
	v->phase = VMP_IDLE;
	if (err) {
		log_warn("%s: VoiceMail %s@%s: recording failed: %s", c->a->name, v->box, v->ctx,
			 strerror(err));
		unlink(v->tmp);
		return PBX_MEDIA_FAILED;
	}
	secs = (res.samples + MEDIA_RATE / 2) / MEDIA_RATE;
	if (secs < g->minsecs || !res.samples) {
		log_info("%s: VoiceMail %s@%s: %u s is shorter than minsecs=%u: discarded",
			 c->a->name, v->box, v->ctx, secs, g->minsecs);
		unlink(v->tmp);
		return PBX_MEDIA_FAILED;
	}
	memset(&mi, 0, sizeof(mi));
	num = c->chan ? pbx_chan_callerid_num(c->chan) : "";
	name = c->chan ? pbx_chan_callerid_name(c->chan) : "";
	if (*name && *num)
		snprintf(mi.callerid, sizeof(mi.callerid), "\"%s\" <%s>", name, num);
	else
		snprintf(mi.callerid, sizeof(mi.callerid), "%s", *num ? num : "Unknown");
	snprintf(mi.callerchan, sizeof(mi.callerchan), "%s", c->a->name);
	if (c->chan) {
		snprintf(mi.context, sizeof(mi.context), "%s", pbx_chan_context(c->chan));
		snprintf(mi.exten, sizeof(mi.exten), "%s", pbx_chan_exten(c->chan));
		mi.priority = pbx_chan_priority(c->chan);
	}
	mi.origtime = call_wall_ms() / 1000;
	mi.duration = secs;
	snprintf(mi.origmailbox, sizeof(mi.origmailbox), "%s", v->box);
	err = vm_msg_store(c->eng->vm, v->b, v->tmp, &mi, NULL);
	if (err) {
		log_warn("%s: VoiceMail %s@%s: message not stored: %s", c->a->name, v->box, v->ctx,
			 strerror(err));
		return PBX_MEDIA_FAILED;
	}
	/* [notify] events = voicemail: a message was left (for a caller from the line). */
	call_notify_duration(c, NOTIFY_VOICEMAIL, (unsigned)secs);
	return PBX_MEDIA_OK;
}

static void greeting_start(struct call *c)
{
	struct call_vmapp *v = c->vmapp;
	struct media_sound *s[MEDIA_PLAY_MAX];
	const char *kind = v->opts & PBX_VM_OPT_b ? "busy" : "unavail";
	char path[PATH_MAX];
	size_t k = 0;

	/* A temporary greeting beats the others; then the recorded busy/unavailable one; else
	 * "The person at extension 8-0-1 is unavailable / on the phone". */
	if ((!vm_greeting_path(c->eng->vm, v->b, "temp", path, sizeof(path)) &&
	     !access(path, R_OK) && !media_sound_load(&s[k], path)) ||
	    (!vm_greeting_path(c->eng->vm, v->b, kind, path, sizeof(path)) && !access(path, R_OK) &&
	     !media_sound_load(&s[k], path))) {
		k++;
	} else {
		/* The recorded name (greet.wav, options 3) says who, as Asterisk; else
		 * "the person at extension" and the digits. */
		bool named = !vm_greeting_path(c->eng->vm, v->b, "greet", path, sizeof(path)) &&
			     !access(path, R_OK) && !media_sound_load(&s[k], path);

		if (named)
			k++;
		else if ((s[k] = snd(c, "vm-theperson")))
			k++;
		for (const char *d = v->box; !named && *d && k < MEDIA_PLAY_MAX - 2; d++) {
			char dn[16];

			if (*d < '0' || *d > '9')
				continue;
			snprintf(dn, sizeof(dn), "digits/%c", *d);
			if ((s[k] = snd(c, dn)))
				k++;
		}
		if ((s[k] = snd(c, *kind == 'b' ? "vm-isonphone" : "vm-isunavail")))
			k++;
	}
	if (!(v->opts & PBX_VM_OPT_s) && (s[k] = snd(c, "vm-intro")))
		k++;
	if (k && !media_leg_play(c->a->ml, s, k, false)) {
		for (size_t i = 0; i < k; i++)
			mem_deref(s[i]);
		v->phase = VMP_GREETING;
		return;
	}
	for (size_t i = 0; i < k; i++)
		mem_deref(s[i]);
	v->phase = VMP_BEEP;
	{
		const char *b[1] = {"beep"};
		if (play(c, b, 1))
			return;
	}
	rec_begin(c);
}

/* ---- VoiceMailMain -------------------------------------------------------------------------- */

static void menu_prompt(struct call *c);

static void collect(struct call *c, enum vmp phase, const char *prompt)
{
	struct call_vmapp *v = c->vmapp;
	const char *n[1] = {prompt};

	v->phase = phase;
	v->ninput = 0;
	v->input[0] = '\0';
	v->collecting = !play(c, n, 1);
	if (v->collecting)
		loop_timer_start(c->eng->loop, &v->tmr, VMM_DIGIT_MS, tmr_h, c);
}

static void login_failed(struct call *c)
{
	struct call_vmapp *v = c->vmapp;

	if (++v->tries >= VMM_TRIES) {
		bye(c, "vm-goodbye", PBX_MEDIA_OK);
		return;
	}
	{
		const char *n[1] = {"vm-incorrect-mailbox"};
		play(c, n, 1);
	}
	v->b = NULL;
	collect(c, v->box[0] && (v->opts & PBX_VM_OPT_s) ? VMP_ASK_PASS : VMP_ASK_BOX, "vm-login");
}

/* "You have N new messages" shortened to the digits, then the menu keys. */
static void menu_prompt(struct call *c)
{
	struct call_vmapp *v = c->vmapp;
	unsigned n = vm_folder_count(c->eng->vm, v->b, v->folder);
	const char *names[5];
	size_t k = 0;

	if (!n && v->folder == VM_INBOX && vm_folder_count(c->eng->vm, v->b, VM_OLD))
		v->folder = VM_OLD, n = vm_folder_count(c->eng->vm, v->b, VM_OLD);
	if (v->cur >= n)
		v->cur = n ? n - 1 : 0;
	/* "You have N new (old) messages", then "press 1 for" (the keys as Asterisk's). */
	names[k++] = "vm-youhave";
	if (!n || n > 9) {
		names[k++] = n ? "vm-messages" : "vm-no";
	} else {
		snprintf(v->input, sizeof(v->input), "digits/%u", n);
		names[k++] = v->input;
	}
	names[k++] = v->folder == VM_INBOX ? "vm-INBOX" : "vm-Old";
	names[k++] = n == 1 ? "vm-message" : "vm-messages";
	v->phase = VMP_MENU;
	v->collecting = !play(c, names, k);
	if (v->collecting)
		loop_timer_start(c->eng->loop, &v->tmr, VMM_DIGIT_MS, tmr_h, c);
}

static void msg_listen(struct call *c)
{
	struct call_vmapp *v = c->vmapp;
	struct media_sound *s = NULL;
	char path[PATH_MAX];

	if (vm_msg_path(c->eng->vm, v->b, v->folder, v->cur, "wav", path, sizeof(path)) ||
	    media_sound_load(&s, path)) {
		const char *n[1] = {"vm-nomore"};
		v->phase = VMP_MENU;
		v->collecting = !play(c, n, 1);
		return;
	}
	loop_timer_cancel(&v->tmr);
	v->collecting = false;
	v->phase = VMP_LISTEN;
	if (media_leg_play(c->a->ml, &s, 1, false))
		v->phase = VMP_MENU;
	mem_deref(s);
	if (v->folder == VM_INBOX)
		heard_set(v, v->cur, true);
	log_info("%s: VoiceMailMain %s@%s: playing %s message %u", c->a->name, v->box, v->ctx,
		 vm_folder_name(v->folder), v->cur);
}

/* ---- mailbox options (0): recording the greetings ---- */

/* The options menu, after `first` (NULL: none) */
static void options_prompt_after(struct call *c, const char *first)
{
	struct call_vmapp *v = c->vmapp;
	const char *n[2] = {first, "vm-options"};

	v->phase = VMP_OPTIONS;
	v->collecting = first ? !play(c, n, 2) : !play(c, n + 1, 1);
	if (v->collecting)
		loop_timer_start(c->eng->loop, &v->tmr, VMM_DIGIT_MS, tmr_h, c);
}

static void options_prompt(struct call *c)
{
	options_prompt_after(c, NULL);
}

static void greet_rec_begin(struct call *c)
{
	struct call_vmapp *v = c->vmapp;
	const struct vm_general *g = vm_general(c->eng->vm);
	struct media_rec_opts o = {.silence_ms = g->maxsilence * 1000,
				   .threshold = g->silencethreshold};
	int err = vm_tmp_path(c->eng->vm, v->b, v->tmp, sizeof(v->tmp));

	if (!err)
		err = media_leg_record(c->a->ml, v->tmp, &o);
	if (err) {
		log_warn("%s: VoiceMailMain %s@%s: cannot record the greeting: %s", c->a->name,
			 v->box, v->ctx, strerror(err));
		options_prompt(c);
		return;
	}
	v->phase = VMP_GREET_REC;
	if (g->maxsecs)
		loop_timer_start(c->eng->loop, &v->tmr, (uint64_t)g->maxsecs * 1000, tmr_h, c);
}

/* Ends a greeting recording: renamed into place (unavail.wav, ...) unless empty. */
static void greet_rec_end(struct call *c, uint32_t trim_ms)
{
	struct call_vmapp *v = c->vmapp;
	struct media_rec_result res = {0};
	char path[PATH_MAX];
	int err;

	loop_timer_cancel(&v->tmr);
	err = media_leg_record_stop(c->a->ml, trim_ms, &res);
	v->phase = VMP_IDLE;
	if (!err && res.samples &&
	    !vm_greeting_path(c->eng->vm, v->b, v->greet, path, sizeof(path)) &&
	    rename(v->tmp, path) == 0) {
		log_info("%s: VoiceMailMain %s@%s: %s greeting recorded (%u ms)", c->a->name,
			 v->box, v->ctx, v->greet, res.samples / (MEDIA_RATE / 1000));
		return;
	}
	log_warn("%s: VoiceMailMain %s@%s: %s greeting not kept: %s", c->a->name, v->box, v->ctx,
		 v->greet, err ? strerror(err) : "nothing recorded");
	unlink(v->tmp);
}

static void options_key(struct call *c, char d)
{
	struct call_vmapp *v = c->vmapp;
	const char *n[2] = {NULL, "beep"};

	loop_timer_cancel(&v->tmr);
	media_leg_stop(c->a->ml);
	switch (d) {
	case '1':
		v->greet = "unavail";
		n[0] = "vm-rec-unv";
		break;
	case '2':
		v->greet = "busy";
		n[0] = "vm-rec-busy";
		break;
	case '3':
		v->greet = "greet"; /* the name, said in the default greeting */
		n[0] = "vm-rec-name";
		break;
	case '4':
		v->greet = "temp";
		n[0] = "vm-rec-temp";
		break;
	case '5':
		/* Change the password: entered twice, each ending with '#' (as Asterisk). */
		v->newpw[0] = '\0';
		collect(c, VMP_NEWPASS1, "vm-newpassword");
		return;
	case '*':
	case '#':
		menu_prompt(c);
		return;
	default:
		options_prompt(c);
		return;
	}
	v->phase = VMP_GREET_BEEP;
	if (!play(c, n, 2))
		greet_rec_begin(c);
}

static void menu_key(struct call *c, char d)
{
	struct call_vmapp *v = c->vmapp;
	unsigned n = vm_folder_count(c->eng->vm, v->b, v->folder);
	const char *n1[1];

	loop_timer_cancel(&v->tmr);
	media_leg_stop(c->a->ml);
	switch (d) {
	case '1':
		v->cur = 0;
		msg_listen(c);
		return;
	case '4':
		if (v->cur > 0)
			v->cur--;
		msg_listen(c);
		return;
	case '5':
		msg_listen(c);
		return;
	case '6':
		if (v->cur + 1 < n) {
			v->cur++;
			msg_listen(c);
			return;
		}
		n1[0] = "vm-nomore";
		break;
	case '7':
		if (n && !vm_msg_delete(c->eng->vm, v->b, v->folder, v->cur)) {
			if (v->folder == VM_INBOX)
				heard_remove(v, v->cur);
			log_info("%s: VoiceMailMain %s@%s: deleted %s message %u", c->a->name,
				 v->box, v->ctx, vm_folder_name(v->folder), v->cur);
			n1[0] = "vm-deleted";
		} else {
			n1[0] = "vm-nomore";
		}
		break;
	case '9':
		if (n && v->folder == VM_INBOX &&
		    !vm_msg_move(c->eng->vm, v->b, VM_INBOX, v->cur, VM_OLD)) {
			heard_remove(v, v->cur);
			n1[0] = "vm-savedto";
		} else {
			n1[0] = "vm-nomore";
		}
		break;
	case '#':
		bye(c, "vm-goodbye", PBX_MEDIA_OK);
		return;
	case '0':
		options_prompt(c);
		return;
	default:
		n1[0] = "vm-sorry";
		break;
	}
	v->phase = VMP_MENU;
	v->collecting = !play(c, n1, 1);
	if (v->collecting)
		loop_timer_start(c->eng->loop, &v->tmr, VMM_DIGIT_MS, tmr_h, c);
}

/* A complete box number or password was entered. */
static void input_done(struct call *c)
{
	struct call_vmapp *v = c->vmapp;

	loop_timer_cancel(&v->tmr);
	if (v->phase == VMP_NEWPASS1) {
		if (!v->ninput) {
			options_prompt(c);
			return;
		}
		snprintf(v->newpw, sizeof(v->newpw), "%s", v->input);
		collect(c, VMP_NEWPASS2, "vm-reenterpassword");
		return;
	}
	if (v->phase == VMP_NEWPASS2) {
		bool same = !strcmp(v->newpw, v->input);
		int err = same ? vm_box_set_password(c->eng->vm, v->b, v->input) : 0;

		memset(v->newpw, 0, sizeof(v->newpw));
		if (!same || err) {
			log_notice("%s: VoiceMailMain %s@%s: password not changed: %s", c->a->name,
				   v->box, v->ctx,
				   !same	       ? "the two entries differ"
				   : err == EINVAL ? "not 1 to 15 digits"
						   : strerror(err));
			options_prompt_after(c, "vm-mismatch");
			return;
		}
		log_info("%s: VoiceMailMain %s@%s: password changed", c->a->name, v->box, v->ctx);
		options_prompt_after(c, "vm-passchanged");
		return;
	}
	if (v->phase == VMP_ASK_BOX) {
		snprintf(v->box, sizeof(v->box), "%s", v->input);
		v->b = vm_box_find(c->eng->vm, v->box, v->ctx);
		collect(c, VMP_ASK_PASS, "vm-password");
		return;
	}
	/* VMP_ASK_PASS: an unknown box is refused only now, so the caller learns nothing. */
	if (!v->b || strcmp(v->b->password, v->input)) {
		log_notice("%s: VoiceMailMain: login to %s@%s failed", c->a->name, v->box, v->ctx);
		login_failed(c);
		return;
	}
	log_info("%s: VoiceMailMain: %s@%s logged in", c->a->name, v->box, v->ctx);
	v->logged_in = true;
	memset(v->heard, 0, sizeof(v->heard));
	v->folder = VM_INBOX;
	v->cur = 0;
	menu_prompt(c);
}

/* ---- the engine's entry points -------------------------------------------------------------- */

static void tmr_h(void *arg)
{
	struct call *c = arg;
	struct call_vmapp *v = c->vmapp;

	switch (v->phase) {
	case VMP_RECORD:
		bye(c, "vm-goodbye", rec_end(c, 0));
		break;
	case VMP_ASK_BOX:
	case VMP_ASK_PASS:
		if (v->ninput)
			input_done(c);
		else
			login_failed(c);
		break;
	case VMP_OPTIONS:
		menu_prompt(c);
		break;
	case VMP_NEWPASS1:
	case VMP_NEWPASS2:
		if (v->ninput)
			input_done(c);
		else
			options_prompt(c);
		break;
	case VMP_GREET_REC:
		greet_rec_end(c, 0);
		options_prompt(c);
		break;
	case VMP_MENU:
		/* No key: the menu again, as Asterisk repeats it; bounded by the tries. */
		if (++v->tries > 2 * VMM_TRIES)
			bye(c, "vm-goodbye", PBX_MEDIA_OK);
		else
			menu_prompt(c);
		break;
	default:
		break;
	}
}

void call_eng_set_vm(struct call_eng *eng, struct vm *vm)
{
	if (eng)
		eng->vm = vm;
}

bool call_vm_start(struct call *c, const struct pbx_action *act)
{
	struct call_vmapp *v;

	if (act->type != PBX_ACT_VOICEMAIL && act->type != PBX_ACT_VOICEMAILMAIN)
		return false;
	if (!c->vmapp) {
		c->vmapp = calloc(1, sizeof(*c->vmapp));
		if (!c->vmapp) {
			pbx_chan_media_done(c->chan, PBX_MEDIA_FAILED, NULL);
			c->rerun = true;
			return true;
		}
		loop_timer_init(&c->vmapp->tmr);
	}
	v = c->vmapp;
	v->type = act->type;
	v->opts = act->media.rec_opts;
	v->tries = 0;
	v->b = NULL;
	v->box[0] = '\0';
	snprintf(v->ctx, sizeof(v->ctx), VM_CONTEXT_DEFAULT);
	snprintf(c->lastapp, sizeof(c->lastapp), "%s",
		 act->type == PBX_ACT_VOICEMAIL ? "VoiceMail" : "VoiceMailMain");
	snprintf(c->lastdata, sizeof(c->lastdata), "%.200s", act->media.path);
	if (act->media.path[0] && act->media.path[0] != '@' &&
	    vm_box_parse(act->media.path, v->box, sizeof(v->box), v->ctx, sizeof(v->ctx))) {
		log_warn("%s: %s(%s): not BOX[@CONTEXT]", c->a ? c->a->name : "?", c->lastapp,
			 act->media.path);
		finish(c, PBX_MEDIA_FAILED);
		return true;
	}
	if (act->media.path[0] == '@')
		snprintf(v->ctx, sizeof(v->ctx), "%s", act->media.path + 1);
	if (v->box[0])
		v->b = vm_box_find(c->eng->vm, v->box, v->ctx);
	if (!c->eng->vm) {
		log_warn("%s: %s: voicemail is not configured", c->a ? c->a->name : "?",
			 c->lastapp);
		finish(c, PBX_MEDIA_FAILED);
		return true;
	}
	if (act->type == PBX_ACT_VOICEMAIL && !v->b) {
		log_warn("%s: VoiceMail: no mailbox %s@%s in voicemail.conf",
			 c->a ? c->a->name : "?", v->box, v->ctx);
		finish(c, PBX_MEDIA_FAILED);
		return true;
	}
	call_answer_local(c);
	if (!c->a || !c->a->ml || !c->a->neg.ok) {
		log_warn("%s: %s: no local media on this call", c->a ? c->a->name : "?",
			 c->lastapp);
		finish(c, PBX_MEDIA_FAILED);
		return true;
	}
	if (act->type == PBX_ACT_VOICEMAIL) {
		greeting_start(c);
		return true;
	}
	/* VoiceMailMain: s with a box skips the password (the caller is trusted). */
	v->logged_in = false;
	if (v->b && (v->opts & PBX_VM_OPT_s)) {
		v->logged_in = true;
		memset(v->heard, 0, sizeof(v->heard));
		v->folder = VM_INBOX;
		v->cur = 0;
		menu_prompt(c);
	} else if (v->box[0]) {
		collect(c, VMP_ASK_PASS, "vm-password");
	} else {
		collect(c, VMP_ASK_BOX, "vm-login");
	}
	return true;
}

bool call_vm_digit(struct call *c, char d)
{
	struct call_vmapp *v = c->vmapp;

	if (!v || v->phase == VMP_IDLE)
		return false;
	switch (v->phase) {
	case VMP_GREETING:
		if (d == '#') {
			const char *b[1] = {"beep"};

			media_leg_stop(c->a->ml);
			v->phase = VMP_BEEP;
			if (!play(c, b, 1))
				rec_begin(c);
		} else if ((d == '*' || d == '0') && c->chan &&
			   pbx_chan_exten_exists(c->chan, d == '*' ? "a" : "o")) {
			/* As Asterisk: to extension a (*) or o (0) of the context, VMSTATUS=USEREXIT;
			 * without that extension the key is ignored. */
			const char dg[2] = {d, '\0'};

			log_info("%s: VoiceMail %s@%s: '%c' during the greeting: to extension %s",
				 c->a->name, v->box, v->ctx, d, d == '*' ? "a" : "o");
			loop_timer_cancel(&v->tmr);
			media_leg_stop(c->a->ml);
			v->phase = VMP_IDLE;
			pbx_chan_media_done(c->chan, PBX_MEDIA_DIGITS, dg);
			call_run(c);
		}
		break;
	case VMP_RECORD:
		if (d == '#')
			bye(c, "vm-goodbye", rec_end(c, 200));
		break;
	case VMP_ASK_BOX:
	case VMP_ASK_PASS:
	case VMP_NEWPASS1:
	case VMP_NEWPASS2:
		loop_timer_cancel(&v->tmr);
		if (!v->collecting) {
			media_leg_stop(c->a->ml);
			v->collecting = true;
		}
		if (d == '#') {
			input_done(c);
			break;
		}
		if (v->ninput < VMM_INPUT_MAX) {
			v->input[v->ninput++] = d;
			v->input[v->ninput] = '\0';
		}
		loop_timer_start(c->eng->loop, &v->tmr, VMM_DIGIT_MS, tmr_h, c);
		break;
	case VMP_MENU:
	case VMP_LISTEN:
		v->tries = 0;
		menu_key(c, d);
		break;
	case VMP_OPTIONS:
		options_key(c, d);
		break;
	case VMP_GREET_REC:
		if (d == '#') {
			greet_rec_end(c, 200);
			options_prompt(c);
		}
		break;
	default:
		break;
	}
	return true;
}

bool call_vm_event(struct call *c, struct call_leg *leg, const struct media_event *ev)
{
	struct call_vmapp *v = c->vmapp;

	if (!v || v->phase == VMP_IDLE || leg != c->a)
		return false;
	switch (ev->type) {
	case MEDIA_EV_PLAY_DONE:
		switch (v->phase) {
		case VMP_GREETING: {
			const char *b[1] = {"beep"};

			v->phase = VMP_BEEP;
			if (!play(c, b, 1))
				rec_begin(c);
			break;
		}
		case VMP_BEEP:
			rec_begin(c);
			break;
		case VMP_BYE:
			finish(c, v->result);
			break;
		case VMP_ASK_BOX:
		case VMP_ASK_PASS:
		case VMP_NEWPASS1:
		case VMP_NEWPASS2:
		case VMP_MENU:
			v->collecting = true;
			loop_timer_start(c->eng->loop, &v->tmr, VMM_DIGIT_MS, tmr_h, c);
			break;
		case VMP_LISTEN:
			v->phase = VMP_MENU;
			v->collecting = true;
			loop_timer_start(c->eng->loop, &v->tmr, VMM_DIGIT_MS, tmr_h, c);
			break;
		case VMP_OPTIONS:
			v->collecting = true;
			loop_timer_start(c->eng->loop, &v->tmr, VMM_DIGIT_MS, tmr_h, c);
			break;
		case VMP_GREET_BEEP:
			greet_rec_begin(c);
			break;
		default:
			break;
		}
		break;
	case MEDIA_EV_SILENCE:
		if (v->phase == VMP_GREET_REC) {
			greet_rec_end(c, vm_general(c->eng->vm)->maxsilence * 1000);
			options_prompt(c);
		} else if (v->phase == VMP_RECORD) {
			const struct vm_general *g = vm_general(c->eng->vm);

			bye(c, "vm-goodbye", rec_end(c, g->maxsilence * 1000));
		}
		break;
	case MEDIA_EV_REC_ERROR:
		if (v->phase == VMP_GREET_REC) {
			greet_rec_end(c, 0);
			options_prompt(c);
		} else if (v->phase == VMP_RECORD) {
			rec_end(c, 0);
			bye(c, "vm-goodbye", PBX_MEDIA_FAILED);
		}
		break;
	default:
		break;
	}
	return true;
}

void call_vm_hangup(struct call *c)
{
	struct call_vmapp *v = c->vmapp;

	if (!v)
		return;
	loop_timer_cancel(&v->tmr);
	heard_to_old(c);
	/* A greeting cut by the hang-up is kept, as a message is. */
	if (v->phase == VMP_GREET_REC && c->a && c->a->ml)
		greet_rec_end(c, 0);
	/* A caller who hangs up while recording has left the message (Asterisk keeps it). */
	if (v->phase == VMP_RECORD && c->a && c->a->ml) {
		enum pbx_media_status st = rec_end(c, 0);

		if (c->chan)
			pbx_chan_set_var(c->chan, "VMSTATUS",
					 st == PBX_MEDIA_OK ? "SUCCESS" : "FAILED");
	}
	v->phase = VMP_IDLE;
}

void call_vm_free(struct call *c)
{
	if (!c->vmapp)
		return;
	loop_timer_cancel(&c->vmapp->tmr);
	free(c->vmapp);
	c->vmapp = NULL;
}

const char *call_vm_state(const struct call *c)
{
	const struct call_vmapp *v = c->vmapp;

	if (!v)
		return NULL;
	switch (v->phase) {
	case VMP_GREETING:
		return "greeting";
	case VMP_BEEP:
		return "beep";
	case VMP_RECORD:
		return "recording a message";
	case VMP_ASK_BOX:
	case VMP_ASK_PASS:
		return "login";
	case VMP_MENU:
		return "menu";
	case VMP_LISTEN:
		return "playing a message";
	case VMP_BYE:
		return "goodbye";
	case VMP_OPTIONS:
	case VMP_NEWPASS1:
	case VMP_NEWPASS2:
		return "mailbox options";
	case VMP_GREET_BEEP:
	case VMP_GREET_REC:
		return "recording a greeting";
	case VMP_IDLE:
		break;
	}
	return NULL;
}
