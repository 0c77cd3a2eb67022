/* pbx: the dialplan engine: extensions.conf contexts and patterns in Asterisk's order, variables,
 * functions and $[ ] expressions, and the applications a call runs, as a step machine that the
 * call engine drives (no thread per call: applications that wait hand control back). */
#ifndef MIKAKA_PBX_H
#define MIKAKA_PBX_H

#include <stdbool.h>
#include <stddef.h>

struct conf;
struct conf_diags;
struct mbuf;

struct dialplan;
struct pbx_vars;
struct pbx_chan;

/* Limits (see docs/DIALPLAN.md). */
#define PBX_STEPS_MAX	     10000 /* priorities run by one pbx_chan_run() call before it gives up */
#define PBX_GOSUB_MAX	     128   /* Gosub nesting */
#define PBX_VALUE_MAX	     8192  /* bytes of one substituted string (longer results are cut) */
#define PBX_DIAL_TARGETS_MAX 32	   /* targets in one Dial(A&B&...) */

/* Q.850 causes the engine itself uses. */
#define PBX_CAUSE_UNALLOCATED 1	 /* no such extension and no `i` extension */
#define PBX_CAUSE_NORMAL      16 /* Hangup() without a cause */
#define PBX_CAUSE_FAILURE     38 /* a dialplan error: step bound, Gosub depth, bad Goto */

/* ---------------------------------------------------------------------------------------------
 * Variable lists: names to values, copied in. Used for global variables handed in from outside
 * (LINE_NUMBER, LINE_DOMAIN, LINE_SERVER). Names are case-sensitive, as Asterisk's.
 */
int pbx_vars_alloc(struct pbx_vars **varsp);
/* NULL is accepted. */
void pbx_vars_free(struct pbx_vars *vars);
/* Sets (or replaces) a variable; a NULL value removes it. EINVAL for an empty name. */
int pbx_vars_set(struct pbx_vars *vars, const char *name, const char *value);
/* The value, or NULL. The pointer lives until the variable is changed or the list freed. */
const char *pbx_vars_get(const struct pbx_vars *vars, const char *name);

/* ---------------------------------------------------------------------------------------------
 * The dialplan: immutable once loaded, refcounted (mem_ref/mem_deref work on it), so a call keeps
 * the dialplan it started with across a reload.
 */

/* Reads every context of an extensions.conf (sections other than [general] and [globals];
 * templates skipped; several sections of one name form one context). `globals` (may be NULL)
 * are set first, then [globals] (whose values may use ${...} of the globals before them) and so
 * override them. Problems go to diags with file:line: unknown applications, bad priorities,
 * unsupported keys are errors; duplicate priorities and unimplemented [general] keys warnings.
 * Returns 0 and sets *dpp (one reference), EINVAL when there was any error, ENOMEM. */
int dialplan_load(struct dialplan **dpp, const struct conf *extensions,
		  const struct pbx_vars *globals, struct conf_diags *diags);
/* As dialplan_load, with `builtin` (may be NULL): contexts the configuration makes itself
 * (features.conf's parking lot, Asterisk's "parkedcalls"), each loaded only when extensions.conf
 * has no context of that name, and never reported unreachable. */
int dialplan_load_builtin(struct dialplan **dpp, const struct conf *extensions,
			  const struct conf *builtin, const struct pbx_vars *globals,
			  struct conf_diags *diags);
/* Drops the caller's reference (the same as mem_deref); NULL is accepted. Channels hold their
 * own reference, so the dialplan lives until the last call using it ends. */
void dialplan_free(struct dialplan *dp);
/* Takes another reference; returns dp. */
struct dialplan *dialplan_ref(struct dialplan *dp);

/* The checks of `mikakad -t` beyond loading: Goto/GotoIf/Gosub targets written literally that do
 * not exist and Dial targets of an unknown technology are errors; contexts that cannot be reached
 * from `entry_contexts` (the peers' context= values) by include => or a literal Goto/Gosub are
 * warnings. Returns 0, or EINVAL when an error was added to diags. */
int dialplan_check(const struct dialplan *dp, const char *const *entry_contexts, size_t n,
		   struct conf_diags *diags);

/* `dialplan show`: arg NULL for every context, "CONTEXT", or "EXTEN@CONTEXT" (the extensions
 * matching EXTEN, in the context and the contexts it includes), in Asterisk's layout. Returns 0,
 * ENOENT (with Asterisk's "There is no existence of ..." line written) when nothing matched. */
int dialplan_show(const struct dialplan *dp, const char *arg, struct mbuf *out);

/* Whether some priority calls SIP_HEADER() or PJSIP_HEADER(): then a call keeps its INVITE. */
bool dialplan_reads_sip_headers(const struct dialplan *dp);
/* Whether the context exists. */
bool dialplan_has_context(const struct dialplan *dp, const char *context);
/* Finds what runs for `exten` at `priority` in `context` (its own extensions, exact ones first,
 * then patterns in Asterisk's order, then its includes in order); priority 0 means any. Returns 0
 * and sets *namep (may be NULL) to the extension as written ("_0."), or ENOENT. */
int dialplan_find(const struct dialplan *dp, const char *context, const char *exten,
		  unsigned priority, const char **namep);
/* A global variable's value ([globals] and the ones handed to dialplan_load), or NULL. */
const char *dialplan_global(const struct dialplan *dp, const char *name);
/* Hints (exten => NAME,hint,SIP/801&SIP/802): the devices as written of EXTEN in CONTEXT (its
 * own extensions, then its includes), or NULL. Valid while dp is. */
const char *dialplan_hint(const struct dialplan *dp, const char *context, const char *exten);
/* Every hint in file order of the contexts; a non-zero return of h stops and is returned. */
typedef int(dialplan_hint_h)(const char *context, const char *exten, const char *devices,
			     void *arg);
int dialplan_hint_foreach(const struct dialplan *dp, dialplan_hint_h *h, void *arg);
/* Whether a hint device (len bytes) is SIP/NAME, PJSIP/NAME or Custom:NAME (the ones with a
 * state). */
bool dialplan_hint_tech_ok(const char *dev, size_t len);

/* Number of contexts. */
size_t dialplan_context_count(const struct dialplan *dp);

/* ---------------------------------------------------------------------------------------------
 * Running a call through the dialplan.
 */
enum pbx_act_type {
	PBX_ACT_ANSWER,	    /* Answer(): send 200 OK */
	PBX_ACT_PROGRESS,   /* Progress(): 183 with media */
	PBX_ACT_RINGING,    /* Ringing(): 180 */
	PBX_ACT_WAIT,	    /* Wait(): wait_ms, then call pbx_chan_run() again */
	PBX_ACT_DIAL,	    /* Dial(): see dial; set DIALSTATUS (+ HANGUPCAUSE) and run again */
	PBX_ACT_BUSY,	    /* Busy(): answer busy, the call ends */
	PBX_ACT_CONGESTION, /* Congestion(): answer congestion, the call ends */
	PBX_ACT_HANGUP,	    /* Hangup(cause) or a dialplan error: hang up with cause */
	PBX_ACT_END,	    /* nothing more to run (off the end of an extension, or after h) */
	/* Local media (see struct pbx_media): the host does it, then calls
	 * pbx_chan_media_done() with the outcome and runs again. */
	PBX_ACT_PLAY,	     /* play media.files, then collect digits as media says */
	PBX_ACT_TONE,	     /* play media.tone for media.duration_ms (0: until hangup); with
			      * media.max_digits a digit of stop_digits stops it and digits are
			      * collected as for PBX_ACT_PLAY (DISA's dial tone); duration_ms is
			      * then the wait for the first, ending with PBX_MEDIA_TIMEOUT */
	PBX_ACT_ECHO,	     /* echo the caller's audio until '#' or hangup */
	PBX_ACT_MOH,	     /* music on hold of media.moh_class for media.duration_ms (0: ever) */
	PBX_ACT_SENDDTMF,    /* SendDTMF(): send dtmf.digits to the caller, then run again */
	PBX_ACT_CONF,	     /* ConfBridge/MeetMe: the caller joins conference media.path until it
			      * hangs up */
	PBX_ACT_RECORD,	     /* record the caller to media.path */
	PBX_ACT_MIXMONITOR,  /* start recording both directions to media.path; no media_done */
	PBX_ACT_STOPMIXMONITOR, /* stop it; no media_done */
	PBX_ACT_VOICEMAIL,	/* VoiceMail(): leave a message in media.path (BOX@CONTEXT) with
				 * media.rec_opts (enum pbx_vm_opt); media_done: OK (stored),
				 * DIGITS (the caller left with a key), FAILED */
	PBX_ACT_VOICEMAILMAIN,	/* VoiceMailMain(): the mailbox menu for media.path ("" : ask
				 * for the box); media_done when the caller leaves */
	PBX_ACT_PICKUP,		/* Pickup()/PickupChan(): see pickup; when the host picked a
				 * call up this channel is done (the host ends it), else run
				 * again: the dialplan goes on as in Asterisk */
	PBX_ACT_PARK,		/* Park(): see park; the host holds the call in a parking space
				 * (music on hold) until ParkedCall() takes it or its time is up,
				 * then runs the channel again */
	PBX_ACT_SYSTEM,		/* System()/TrySystem(): see system; the host runs the command
				 * and, once it exited, sets SYSTEMSTATUS and runs again (System
				 * hangs up when the command could not run) */
	PBX_ACT_PARKEDCALL,	/* ParkedCall(): see park; the host joins this caller to the
				 * call parked there, or runs again when there is none */
};

enum pbx_dial_opt {
	PBX_DIAL_OPT_t = 1 << 0, /* the called party may transfer */
	PBX_DIAL_OPT_T = 1 << 1, /* the calling party may transfer */
	PBX_DIAL_OPT_r = 1 << 2, /* indicate ringing to the caller */
	PBX_DIAL_OPT_m = 1 << 3, /* music on hold instead of ringing */
	PBX_DIAL_OPT_g = 1 << 4, /* the caller goes on in the dialplan when the callee hangs up */
};

struct pbx_dial_target {
	const char *tech;   /* "SIP" (as written) */
	const char *peer;   /* the peer (or extension) name */
	const char *number; /* SIP/peer/NUMBER or SIP/NUMBER@peer, else NULL */
};

/* A parsed Dial(); the strings live in the channel until its next pbx_chan_run() or free. */
struct pbx_dial {
	struct pbx_dial_target targets[PBX_DIAL_TARGETS_MAX];
	size_t ntargets;
	unsigned timeout_s;    /* 0: none */
	unsigned opts;	       /* enum pbx_dial_opt */
	const char *moh_class; /* m(class), else NULL */
	const char *dtmf_called;  /* D(called[:calling]): digits sent to the callee once it */
	const char *dtmf_calling; /* answers, and to the caller; NULL: none */
	uint32_t limit_ms;     /* S(seconds) or L(ms[:warn[:repeat]]): the answered call ends after
				* this long (0: no limit); L's warnings are not played */
	const char *cont_target; /* F(context^exten^priority): where the caller goes on when the
				  * callee hangs up (with PBX_DIAL_OPT_g set); NULL: the next
				  * priority (g, or F alone) */
};

#define PBX_MEDIA_FILES_MAX 32 /* sounds in one Playback/Background (the rest are dropped) */
#define PBX_DIGITS_MAX	    64 /* digits one Read or extension collection keeps */

/* Options of PBX_ACT_RECORD (Asterisk's Record() letters). */
enum pbx_record_opt {
	PBX_REC_OPT_a = 1 << 0, /* append to an existing recording */
	PBX_REC_OPT_n = 1 << 1, /* do not answer */
	PBX_REC_OPT_q = 1 << 2, /* quiet: no beep */
	PBX_REC_OPT_s = 1 << 3, /* skip when the call is not answered */
	PBX_REC_OPT_t = 1 << 4, /* '*' ends the recording instead of '#' */
	PBX_REC_OPT_x = 1 << 5, /* no key ends it (only silence, the limit or hangup) */
	PBX_REC_OPT_k = 1 << 6, /* keep the file on hangup */
	PBX_REC_OPT_y = 1 << 7, /* any key ends it */
};

/* Options of PBX_ACT_VOICEMAIL / PBX_ACT_VOICEMAILMAIN (Asterisk's letters). */
enum pbx_vm_opt {
	PBX_VM_OPT_u = 1 << 0, /* the unavailable greeting */
	PBX_VM_OPT_b = 1 << 1, /* the busy greeting */
	PBX_VM_OPT_s = 1 << 2, /* skip the instructions (VoiceMail) / the password (Main) */
};

/* What a local media action asks the host for. Strings live in the channel until its next
 * pbx_chan_run() or free.
 * The host's side of PBX_ACT_PLAY: answer the call first when `answer` is set (and it is not
 * answered yet); play files[0..nfiles-1] (sound names, found with media_sound_find() in the
 * configured sounds directory for `language`; a missing one is skipped with a warning and
 * makes the result PBX_MEDIA_FAILED unless another played); a digit in `stop_digits` stops the
 * playback and is the first digit collected. Then, while fewer than `max_digits` digits were
 * collected (0: none to collect), wait `timeout_ms` for the first (after the prompt) and
 * `digit_timeout_ms` for each next one; a digit in `term_digits` ends the collection (not
 * kept). Digits received while no media action runs are queued and count as pressed first. */
struct pbx_media {
	const char *files[PBX_MEDIA_FILES_MAX];
	size_t nfiles;
	const char *language; /* CHANNEL(language) / ${language}; "" for none (default "en") */
	bool answer;	      /* answer first if still unanswered */
	const char *stop_digits; /* "" none */
	unsigned max_digits;
	unsigned timeout_ms;	   /* first digit (0: do not wait) */
	unsigned digit_timeout_ms; /* next digits */
	const char *term_digits;   /* "" none */
	/* PBX_ACT_TONE, PBX_ACT_MOH */
	const char *tone;	   /* media_leg_tone() syntax */
	const char *moh_class;	   /* "" or NULL: "default" */
	unsigned duration_ms;	   /* 0: until hangup */
	/* PBX_ACT_RECORD, PBX_ACT_MIXMONITOR */
	const char *path;	   /* file name without the format extension */
	const char *format;	   /* "wav" */
	unsigned silence_ms;	   /* end after this much silence (0: no) */
	unsigned max_ms;	   /* limit (0: none) */
	unsigned rec_opts;	   /* enum pbx_record_opt */
	const char *end_digits;	   /* keys that end the recording or Echo ("#", "*", "") */
	bool skip_unanswered;	   /* do nothing (status SKIP / success) when not answered */
	bool background;	   /* Playtones/StopPlaytones: the tone (or, "", none) from now
				    * on while the dialplan goes on; no media_done */
	const char *app;	   /* the application's name ("Read"), for the CLI and records */
};

/* The outcome the host reports with pbx_chan_media_done(). */
enum pbx_media_status {
	PBX_MEDIA_OK,	   /* played to the end / recording ended by a key / collected */
	PBX_MEDIA_DIGITS,  /* ended by a digit (digits given) */
	PBX_MEDIA_TIMEOUT, /* no digit in time / recording limit reached */
	PBX_MEDIA_SILENCE, /* recording ended by silence */
	PBX_MEDIA_SKIP,	   /* recording skipped (s option, unanswered) */
	PBX_MEDIA_FAILED,  /* missing file, codec not playable, write error */
};

struct pbx_action {
	enum pbx_act_type type;
	unsigned wait_ms; /* PBX_ACT_WAIT */
	unsigned cause;	  /* PBX_ACT_HANGUP: Q.850 cause */
	struct pbx_dial dial;
	struct pbx_media media; /* PBX_ACT_PLAY .. PBX_ACT_STOPMIXMONITOR */
	/* PBX_ACT_PICKUP: Pickup(ext[@context][&...]) (targets "" : the caller's pickup groups)
	 * or PickupChan(chan[&...][,p]) (chan set; partial: the names are prefixes). The string
	 * lives in the channel until its next pbx_chan_run() or free. */
	struct {
		const char *targets;
		bool chan, partial;
	} pickup;
	/* PBX_ACT_SYSTEM: the command line for /bin/sh -c, ${...} substituted; `try` for
	 * TrySystem (never hangs up). Lives in the channel until its next run. */
	struct {
		const char *cmd;
		bool try;
	} system;
	/* PBX_ACT_PARK: Park([timeout_ms]) (Asterisk 1.8's first argument; 0: the configured
	 * parkingtime; a parking-lot name is taken as the default lot). PBX_ACT_PARKEDCALL:
	 * ParkedCall([lot,]space) or ParkedCall(space) ("" : the longest-parked call). The string
	 * lives in the channel until its next run. */
	struct {
		uint32_t timeout_ms;
		const char *space;
	} park;
	/* PBX_ACT_SENDDTMF: SendDTMF(digits[,gap_ms[,duration_ms]]) (0: the defaults); the
	 * string lives in the channel until its next run. */
	struct {
		const char *digits;
		uint32_t gap_ms, duration_ms;
	} dtmf;
};

/* Starts a call in `context` at `exten` (NULL or "" is "s"), priority 1, holding a reference to
 * dp. The caller ID is copied. ENOENT when the context does not exist. */
int pbx_chan_alloc(struct pbx_chan **chp, struct dialplan *dp, const char *context,
		   const char *exten, const char *callerid_num, const char *callerid_name);
/* Frees the channel's state and drops its dialplan reference; NULL is accepted. */
void pbx_chan_free(struct pbx_chan *ch);

/* Runs priorities until an application needs the host, then fills *act and returns 0. The host
 * does it and calls again (after a Dial, once DIALSTATUS is set). NoOp, Set, Goto, GotoIf,
 * Gosub, Return, Verbose and Log run inside. A missing extension goes to `i` (INVALID_EXTEN set)
 * or hangs up with PBX_CAUSE_UNALLOCATED; more than PBX_STEPS_MAX priorities in one call, a Gosub
 * deeper than PBX_GOSUB_MAX or a bad Goto hang up with PBX_CAUSE_FAILURE and a logged error.
 * After Busy, Congestion, Hangup or END every further call returns END. After pbx_chan_hangup()
 * the `h` extension runs: applications that need a live call are skipped there. */
int pbx_chan_run(struct pbx_chan *ch, struct pbx_action *act);
/* The call has ended: switches to the `h` extension of the current context when there is one
 * (returns 0: run pbx_chan_run() until PBX_ACT_END), else ENOENT. Only once per channel. */
int pbx_chan_hangup(struct pbx_chan *ch);
/* A timeout the host tracks (absolute or digit timeout) fired: jumps to the `t` extension of the
 * current context (0), or ENOENT when it has none. */
int pbx_chan_timeout(struct pbx_chan *ch);
/* The next pbx_chan_run() starts at target, "[[context^]exten^]priority" (priority a number or a
 * label; Dial's F()); 0, or EINVAL/ENOENT (nothing changed) when it names no priority. */
int pbx_chan_goto(struct pbx_chan *ch, const char *target);
/* Whether the current context has extension `exten` with a priority 1 (VoiceMail's a and o). */
bool pbx_chan_exten_exists(const struct pbx_chan *ch, const char *exten);
/* The host finished the last PBX_ACT_PLAY/TONE/ECHO/MOH/RECORD with status and the digits
 * collected (NULL: none). The channel sets the application's variables (PLAYBACKSTATUS,
 * BACKGROUNDSTATUS, READSTATUS and Read's variable, RECORD_STATUS) and decides where to go on:
 * Background/WaitExten digits collect an extension (matching extensions jump to EXTEN,1, else
 * `i`), a WaitExten timeout goes to `t`. Then call pbx_chan_run(). EINVAL when no media action
 * is pending. VoiceMail ended by the digit "*" or "0" (PBX_MEDIA_DIGITS) jumps to extension a or o,
 * priority 1, of the current context (VMSTATUS=USEREXIT). */
int pbx_chan_media_done(struct pbx_chan *ch, enum pbx_media_status status, const char *digits);
/* The channel's language (CHANNEL(language), ${language}), "" when unset. */
const char *pbx_chan_language(struct pbx_chan *ch);

/* Sets a channel variable (DIALSTATUS, HANGUPCAUSE, ...); a NULL value removes it. "CALLERID(num)"
 * and "CALLERID(name)" set the caller ID. EINVAL for an empty name, ENOSPC past the limit. */
int pbx_chan_set_var(struct pbx_chan *ch, const char *name, const char *value);
/* A variable as ${name} would see it (built-ins EXTEN, CONTEXT, PRIORITY, then the channel's,
 * then globals), or NULL. The pointer lives until the channel changes. */
const char *pbx_chan_get_var(struct pbx_chan *ch, const char *name);
/* Substitutes ${...} and $[...] in `in` as the dialplan would and appends the result to out. */
int pbx_chan_eval(struct pbx_chan *ch, const char *in, struct mbuf *out);

/* Where the call is (for `core show channels` and logs): context, extension, next priority. */
const char *pbx_chan_context(const struct pbx_chan *ch);
/* The current extension ("s", "h", "i" or the number). */
const char *pbx_chan_exten(const struct pbx_chan *ch);
/* The priority that runs next. */
unsigned pbx_chan_priority(const struct pbx_chan *ch);
/* The caller number as the dialplan left it (Set(CALLERID(num)=...)); "" when unset. */
const char *pbx_chan_callerid_num(const struct pbx_chan *ch);
/* The caller name, likewise. */
const char *pbx_chan_callerid_name(const struct pbx_chan *ch);
/* Asterisk's caller presentation (CALLERPRES()): "allowed_not_screened" unless set. Setting it
 * accepts Asterisk's words (allowed_not_screened, allowed_passed_screen, allowed_failed_screen,
 * allowed, prohib_not_screened, prohib_passed_screen, prohib_failed_screen, prohib,
 * unavailable); EINVAL for anything else. */
int pbx_chan_set_callerpres(struct pbx_chan *ch, const char *pres);
const char *pbx_chan_callerpres(const struct pbx_chan *ch);
/* Functions the host provides (BLACKLIST(), ...): h writes the value of NAME(ARGS) (already
 * substituted) to out and returns 0, or ENOENT when it has no function NAME. */
typedef int(pbx_func_h)(struct pbx_chan *ch, const char *name, const char *args,
			struct mbuf *out, void *arg);
void pbx_chan_set_func_h(struct pbx_chan *ch, pbx_func_h *h, void *arg);
/* Functions the host lets Set() write (Set(DB(family/key)=value)): h stores value for NAME(ARGS)
 * and returns 0, ENOENT when it has no writable function NAME, or another errno value. It gets
 * the arg given to pbx_chan_set_func_h. */
typedef int(pbx_func_write_h)(struct pbx_chan *ch, const char *name, const char *args,
			      const char *value, size_t vlen, void *arg);
void pbx_chan_set_func_write_h(struct pbx_chan *ch, pbx_func_write_h *h);
/* SIPAddHeader(Name: value) keeps each header in the channel variable SIPADDHEADER01 ...
 * SIPADDHEADER50 (chan_sip's names; SIPRemoveHeader([prefix]) removes them): the headers a
 * Dial() adds to its INVITEs. Writes "Name: value\r\n" for each into out. */
#define PBX_SIPADDHEADER_MAX 50
int pbx_chan_added_headers(struct pbx_chan *ch, struct mbuf *out);
/* The current Gosub nesting. */
size_t pbx_chan_gosub_depth(const struct pbx_chan *ch);

#endif /* MIKAKA_PBX_H */
