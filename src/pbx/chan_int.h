/* chan_int: one call's dialplan state (struct pbx_chan), shared by chan.c (the step machine,
 * variables, the flow applications) and chanmedia.c (the local media applications). */
#ifndef MIKAKA_CHAN_INT_H
#define MIKAKA_CHAN_INT_H

#include "pbx_int.h"

/* Asterisk's defaults for TIMEOUT(digit) and TIMEOUT(response). */
#define PBX_TIMEOUT_DIGIT_MS	5000
#define PBX_TIMEOUT_RESPONSE_MS 10000

/* Channel variables one call may hold. */
#define PBX_CHAN_VARS_MAX 256
/* Longest Wait(). */
#define PBX_WAIT_MAX_MS (24u * 3600u * 1000u)

struct pbx_frame {
	char *context; /* where Return() goes back to */
	char *exten;
	unsigned prio;
	char **args; /* ARG1..ARGn */
	size_t nargs;
	/* Macro(): it returns when its extension ends or at MacroExit(); the caller's MACRO_*
	 * variables are put back then (NULL: were unset). */
	bool macro;
	char *saved[3];
};

struct pbx_chan {
	struct dialplan *dp; /* a reference */
	char *context;
	char *exten;
	unsigned prio;
	struct pbx_vars vars;
	char *cid_num;
	char *cid_name;
	const char *cid_pres; /* one of pres_words */
	pbx_func_h *func_h;
	pbx_func_write_h *func_write_h;
	void *func_arg;
	struct pbx_frame *stack;
	size_t depth;
	size_t cap;
	bool done; /* nothing more to run */
	bool in_h; /* running the h extension */
	bool hung; /* pbx_chan_hangup() was called */
	char prio_buf[16];
	char epoch_buf[24];
	struct mbuf args;    /* the current application's substituted arguments */
	struct mbuf dialbuf; /* the strings of the last PBX_ACT_DIAL */
	/* Local media applications. */
	struct mbuf mediabuf;	 /* the strings of the last media action */
	char *language;		 /* CHANNEL(language) */
	unsigned to_digit_ms;	 /* TIMEOUT(digit) */
	unsigned to_response_ms; /* TIMEOUT(response) */
	enum pbx_app pending;	 /* the application waiting for pbx_chan_media_done() */
	char *read_var;		 /* Read()'s variable */
	unsigned read_left;	 /* Read() attempts left after this one */
	bool read_retry;	 /* Read() runs again: keep read_left */
	char *bg_context;	 /* Background()'s context argument, else NULL */
	/* Authenticate() between its prompts: what it asks for and how far it got. */
	enum { AUTH_NONE, AUTH_ASK, AUTH_THANKS, AUTH_BYE } auth_phase;
	unsigned auth_tries;	       /* wrong answers so far */
	char *auth_pw;		       /* the password, or /file, or with 'd' a database key */
	char auth_opts[8];	       /* its options (d, r, m) */
	struct chan_disa *disa; /* DISA() between its waits (disa.c), else NULL */
	struct chan_readexten *readexten; /* ReadExten() between its digits (readexten.c) */
	/* PrivacyManager() between its prompts. */
	enum { PRIV_NONE, PRIV_UNIDENT, PRIV_RETRY, PRIV_THANKS, PRIV_FAILED } priv_phase;
	unsigned priv_tries; /* numbers refused so far */
	char priv_phone[32]; /* the number accepted, until "privacy-thankyou" has played */
	char coll[PBX_DIGITS_MAX + 1]; /* extension being collected (Background, WaitExten) */
	bool coll_more;		       /* next run: collect one more digit */
	bool hangup_next;	       /* next run: hang up (WaitExten timed out, no `t`) */
};

enum step {
	STEP_NEXT, /* go on with the next priority */
	STEP_JUMP, /* the location was changed: run it */
	STEP_HOST, /* act is filled: return it, then continue after this priority */
	STEP_STOP, /* act is filled: return it; nothing more runs */
	STEP_FAIL, /* an error was logged: hang up */
};

/* Shared by chan.c and chanmedia.c. */
char *chan_trim(char *s);
int chan_set_loc(struct pbx_chan *ch, const char *ctx, const char *exten, unsigned prio);
const struct dp_prio *chan_find(const struct pbx_chan *ch, const struct dp_ctx *ctx,
				const char *exten, const struct dp_want *want,
				const struct dp_ext **extp);
size_t chan_split_args(char *args, char **argv, size_t max);
int chan_setv(struct pbx_chan *ch, const char *name, const char *value);
void chan_media_init(struct pbx_chan *ch, struct pbx_action *act, enum pbx_act_type type,
		     enum pbx_app app);
char *chan_media_args(struct pbx_chan *ch, const char *args);
enum step chan_app_playback(struct pbx_chan *ch, const char *args, struct pbx_action *act);
enum step chan_app_background(struct pbx_chan *ch, const char *args, struct pbx_action *act);
enum step chan_app_waitexten(struct pbx_chan *ch, const char *args, struct pbx_action *act);
enum step chan_app_read(struct pbx_chan *ch, const char *args, struct pbx_action *act);
enum step chan_app_say(struct pbx_chan *ch, enum pbx_app app, const char *args,
			 struct pbx_action *act);
enum step chan_app_privacy(struct pbx_chan *ch, const char *args, struct pbx_action *act);
int chan_privacy_media_done(struct pbx_chan *ch, enum pbx_media_status st, const char *digits);
enum step chan_app_zapateller(struct pbx_chan *ch, const char *args, struct pbx_action *act);
enum step chan_app_disa(struct pbx_chan *ch, const char *args, struct pbx_action *act);
enum step chan_app_mailboxexists(struct pbx_chan *ch, const char *args);
enum step chan_app_waituntil(struct pbx_chan *ch, const char *args, struct pbx_action *act);
int chan_disa_media_done(struct pbx_chan *ch, enum pbx_media_status st, const char *digits);
void chan_disa_free(struct pbx_chan *ch);
/* Appends digits to the number being keyed (num, size bytes); whether a longer extension of
 * context ctxname could still match it (Background/WaitExten, DISA and ReadExten keep reading). */
bool chan_digits_grow(const struct pbx_chan *ch, char *num, size_t size, const char *ctxname,
		      const char *digits);
enum step chan_app_readexten(struct pbx_chan *ch, const char *args, struct pbx_action *act);
int chan_readexten_media_done(struct pbx_chan *ch, enum pbx_media_status st, const char *digits);
void chan_readexten_free(struct pbx_chan *ch);
enum step chan_app_authenticate(struct pbx_chan *ch, const char *args, struct pbx_action *act);
enum step chan_app_record(struct pbx_chan *ch, const char *args, struct pbx_action *act);
enum step chan_app_mixmonitor(struct pbx_chan *ch, const char *args, struct pbx_action *act);
enum step chan_app_voicemail(struct pbx_chan *ch, enum pbx_app app, const char *args,
			     struct pbx_action *act);
enum step chan_app_simple_media(struct pbx_chan *ch, enum pbx_app app, const char *args,
				struct pbx_action *act);
/* headers.c */
enum step chan_app_sipaddheader(struct pbx_chan *ch, const char *args);
enum step chan_app_sipremoveheader(struct pbx_chan *ch, const char *args);
int chan_pjsip_header_write(struct pbx_chan *ch, struct pl args, const char *value, size_t vlen);
/* apps.c and chan.c: the applications that move a channel or change its variables, and the
 * runner of ExecIf and Exec. */
enum step chan_exec_app(struct pbx_chan *ch, enum pbx_app app, char *args, struct pbx_action *act,
			unsigned depth);
void chan_frame_free(struct pbx_frame *f);
int chan_set_var_n(struct pbx_chan *ch, const char *name, size_t n, const char *value, size_t vlen);
enum step chan_app_chanisavail(struct pbx_chan *ch, char *args);
enum step chan_app_execif(struct pbx_chan *ch, char *args, struct pbx_action *act, unsigned depth);
enum step chan_app_gosubif(struct pbx_chan *ch, char *args);
enum step chan_app_gosub(struct pbx_chan *ch, char *args);
enum step chan_app_gotoif(struct pbx_chan *ch, char *args);
enum step chan_app_goto(struct pbx_chan *ch, char *target, const char *what);
enum step chan_app_iftime(struct pbx_chan *ch, enum pbx_app app, char *args, struct pbx_action *act,
			  unsigned depth);
enum step chan_app_macro(struct pbx_chan *ch, char *args);
enum step chan_app_mset(struct pbx_chan *ch, char *args);
enum step chan_app_playtones(struct pbx_chan *ch, enum pbx_app app, const char *args,
			     struct pbx_action *act);
enum step chan_app_return(struct pbx_chan *ch, const char *value);
enum step chan_app_set(struct pbx_chan *ch, const char *args);
enum step chan_app_while(struct pbx_chan *ch, enum pbx_app app, const char *cond);
enum step chan_exec_inner(struct pbx_chan *ch, const char *what, char *s, struct pbx_action *act,
			  unsigned depth);
bool chan_in_macro(const struct pbx_chan *ch);
enum step chan_macro_return(struct pbx_chan *ch);

#endif
