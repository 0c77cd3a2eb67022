/* vm: voicemail: voicemail.conf (Asterisk's format), the message spool laid out as Asterisk
 * stores it (SPOOL/CONTEXT/BOX/INBOX/msg0000.wav + .txt), its SQLite index, the e-mail sent for
 * a new message and the RFC 3842 message-summary body. Everything runs on the loop thread. */
#ifndef MIKAKA_VM_H
#define MIKAKA_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "conf.h"

struct store;
struct loop;

#define VM_CONTEXT_DEFAULT "default"
#define VM_MAXMSG_DEFAULT  100
#define VM_MAXMSG_LIMIT	   9999 /* msg0000..msg9999, as Asterisk */
#define VM_MAILCMD_DEFAULT "/usr/sbin/sendmail -t"

/* Folders a message lives in (Asterisk's names and numbers). */
enum vm_folder {
	VM_INBOX,
	VM_OLD,
	VM_FOLDER_COUNT,
};
const char *vm_folder_name(enum vm_folder f);

/* One `box => password,name,email,pager,options` line. */
struct vm_box {
	const char *context;
	const char *box;
	const char *password;
	const char *fullname;
	const char *email; /* "" none */
	const char *pager;
	bool attach;	   /* options attach=yes|no (else [general] attach) */
	bool delete_after; /* options delete=yes: mail it, keep nothing */
	struct conf_origin origin;
};

/* voicemail.conf [general]. Strings are owned by the struct vm. */
struct vm_general {
	const char *spooldir; /* spooldir= (mikaka's key; Asterisk takes it from asterisk.conf's
			       * astspooldir + /voicemail); default STATEDIR/voicemail */
	uint32_t maxmsg;      /* per folder, default 100 */
	uint32_t maxsecs;     /* longest message, s; default 300 (0: no limit) */
	uint32_t minsecs;     /* shorter messages are discarded; default 0 */
	uint32_t maxsilence;  /* s of silence that end a recording; default 10 (0: off) */
	uint32_t silencethreshold; /* Asterisk's 0..32767 scale: default 128 */
	bool attach;		   /* attach the WAV to the e-mail; default yes */
	const char *format;	   /* "wav" (the only one written) */
	const char *mailcmd;	   /* default VM_MAILCMD_DEFAULT */
	uint32_t mailtimeout;	   /* mikaka's key: s before a hanging mailcmd is killed (60) */
	const char *serveremail;   /* From: address; default "asterisk" */
	const char *fromstring;	   /* From: name; default "Voicemail System" */
	const char *emailsubject;  /* "" : the built-in subject */
	const char *emailbody;	   /* "" : the built-in body */
};

struct vm;

/* Reads voicemail.conf (conf NULL: no boxes, defaults). `statedir` gives the default spool
 * (STATEDIR/voicemail). Errors and warnings go to diags with file:line; EINVAL when an error
 * was found (*vp untouched), ENOMEM. */
int vm_load(struct vm **vp, const struct conf *conf, const char *statedir,
	    struct conf_diags *diags);
/* Checks voicemail.conf in confdir (absent: fine) for `mikakad -t` and reloads. */
int vm_check(const char *confdir, struct conf_diags *diags);
/* Frees; NULL ok. */
void vm_free(struct vm *vm);
/* A reload: vm takes nvm's [general] and boxes (nvm is consumed, freed, in every case). The
 * spool stays the running one (spooldir= is applied at start only: a change is logged). The
 * replaced boxes stay readable until vm_free, because calls in progress hold them. The index
 * is rebuilt from the files (messages are never touched) and the change handler is called for
 * every box, old and new, so the lamps follow (a removed box reports 0 messages). ENOMEM: vm
 * keeps its configuration. */
int vm_reconfigure(struct vm *vm, struct vm *nvm);

const struct vm_general *vm_general(const struct vm *vm);
/* The box (context NULL or "": "default"), or NULL. */
const struct vm_box *vm_box_find(const struct vm *vm, const char *box, const char *context);
/* VoiceMailMain's options 5: sets the box's password (1..15 digits, else EINVAL) and writes it
 * into its `BOX => password,...` line of voicemail.conf (the file it came from, rewritten and
 * renamed into place), as Asterisk does. ENOENT for a box a reload replaced, ESTALE when that
 * line is no longer the box's (the file was edited: reload first), errno of the file system. */
int vm_box_set_password(struct vm *vm, const struct vm_box *b, const char *pw);
/* Parses "BOX[@CONTEXT]" into the two buffers (context "default" when absent). EINVAL. */
int vm_box_parse(const char *spec, char *box, size_t bsize, char *ctx, size_t csize);
/* Calls each for every box (of `context` only unless NULL), in file order; a non-zero return
 * stops and is returned. */
typedef int(vm_box_h)(const struct vm_box *b, void *arg);
int vm_box_foreach(const struct vm *vm, const char *context, vm_box_h *each, void *arg);

/* Index in the store (may be NULL: no index). Rebuilds it from the spool at once. */
void vm_set_store(struct vm *vm, struct store *st);
/* Rebuilds the index of every box from the files (the files are the truth). */
int vm_index_rebuild(struct vm *vm);

/* Called after the message counts of a box may have changed (new message, delete, move). */
typedef void(vm_change_h)(const struct vm_box *b, unsigned newmsgs, unsigned oldmsgs, void *arg);
void vm_set_change_handler(struct vm *vm, vm_change_h *h, void *arg);

/* A stored message's .txt [message] keys. */
struct vm_msginfo {
	char callerid[128]; /* "\"Name\" <num>" or "num" or "Unknown" */
	char callerchan[96];
	char context[64]; /* the dialplan context the call was in */
	char exten[64];
	unsigned priority;
	int64_t origtime;  /* Unix seconds */
	unsigned duration; /* seconds */
	char origmailbox[64];
};

/* Message counts of a box from the spool. ENOENT for an unknown box. */
int vm_counts(const struct vm *vm, const char *box, const char *context, unsigned *newmsgs,
	      unsigned *oldmsgs);
/* The number of messages in one folder (the highest msgNNNN + 1 after renumbering). */
unsigned vm_folder_count(const struct vm *vm, const struct vm_box *b, enum vm_folder f);

/* Path of a box's folder, message or greeting (SPOOL/CTX/BOX/INBOX[/msg0000.wav]). kind for
 * greetings: "unavail", "busy", "greet", "temp". ENAMETOOLONG. */
int vm_folder_path(const struct vm *vm, const struct vm_box *b, enum vm_folder f, char *buf,
		   size_t size);
int vm_msg_path(const struct vm *vm, const struct vm_box *b, enum vm_folder f, unsigned num,
		const char *ext, char *buf, size_t size);
int vm_greeting_path(const struct vm *vm, const struct vm_box *b, const char *kind, char *buf,
		     size_t size);
/* A path for a recording in progress in the box's tmp directory (created). */
int vm_tmp_path(const struct vm *vm, const struct vm_box *b, char *buf, size_t size);

/* Stores the WAV at `wav` (renamed into INBOX as the next msgNNNN.wav) with its .txt, updates
 * the index, calls the change handler and sends the e-mail when the box has an address.
 * ENOSPC when the INBOX holds maxmsg messages (the WAV is removed), errno of the file system. */
int vm_msg_store(struct vm *vm, const struct vm_box *b, const char *wav,
		 const struct vm_msginfo *info, unsigned *msgnum);
/* Reads a message's .txt. ENOENT, EINVAL. */
int vm_msg_info(const struct vm *vm, const struct vm_box *b, enum vm_folder f, unsigned num,
		struct vm_msginfo *info);
/* Deletes msgNUM of the folder and renumbers the ones after it down (no gaps, as Asterisk). */
int vm_msg_delete(struct vm *vm, const struct vm_box *b, enum vm_folder f, unsigned num);
/* Moves msgNUM to the end of folder `to` (INBOX -> Old: heard), renumbering `f`. ENOSPC. */
int vm_msg_move(struct vm *vm, const struct vm_box *b, enum vm_folder f, unsigned num,
		enum vm_folder to);

/* A message as the web console lists it (vm_msg_list). */
struct vm_msg_entry {
	const struct vm_box *box;
	enum vm_folder folder;
	unsigned msgnum;
	uint64_t id;	      /* the WAV's inode number: it stays the same while the message is
			       * renumbered (a delete before it) or moved to Old (a rename), so a
			       * page's id still names the same message after another change */
	int64_t origtime;     /* Unix seconds */
	unsigned duration;    /* seconds */
	const char *callerid; /* lives during the callback only ("" unknown) */
};
typedef int(vm_msg_h)(const struct vm_msg_entry *m, void *arg);
/* Every message of every configured box from the index, newest first; rows whose WAV is gone
 * are skipped. A non-zero return stops and is returned. ENODEV without an index (no store). */
int vm_msg_list(const struct vm *vm, vm_msg_h *each, void *arg);
/* The message whose id is `id` (out->callerid is NULL). ENOENT. */
int vm_msg_find(const struct vm *vm, uint64_t id, struct vm_msg_entry *out);
/* Counts every change of the messages (vm_changed): what the console's live updates compare. */
uint64_t vm_changes(const struct vm *vm);

/* CLI: `voicemail show users [for CONTEXT]` and `voicemail show messages BOX[@CONTEXT]`, in
 * Asterisk's layout. */
int vm_show_users(const struct vm *vm, const char *context, struct mbuf *out);
int vm_show_messages(const struct vm *vm, const char *spec, struct mbuf *out);

/* RFC 3842 application/simple-message-summary body for BOX@CONTEXT (account: the
 * Message-Account URI, NULL: none). */
int vm_summary_body(struct mbuf *out, const char *account, unsigned newmsgs, unsigned oldmsgs);

/* E-mail: substitutes ${VM_NAME} ${VM_DUR} ${VM_MSGNUM} ${VM_MAILBOX} ${VM_CALLERID}
 * ${VM_CIDNUM} ${VM_CIDNAME} ${VM_DATE} and the \n \t escapes of `tmpl` into out. */
struct vm_mailvars {
	const char *name, *mailbox, *callerid, *cidnum, *cidname, *date;
	unsigned duration, msgnum; /* msgnum: 1-based as Asterisk shows it */
};
int vm_mail_subst(struct mbuf *out, const char *tmpl, const struct vm_mailvars *v);
/* The whole message for sendmail -t: headers, a text part and, when wav is not NULL, the WAV
 * base64-encoded as an attachment (msgNNNN.wav). boundary: NULL for a random one. */
int vm_mail_build(struct mbuf *out, const struct vm_general *g, const struct vm_box *b,
		  const struct vm_msginfo *info, unsigned msgnum, const char *wav,
		  const char *boundary);
/* Runs g->mailcmd (through /bin/sh -c) fed with the message from the loop without blocking;
 * it is killed (its process group) after [general] mailtimeout s; failures are logged. loop NULL: not sent (tests). */
void vm_set_loop(struct vm *vm, struct loop *loop);
int vm_mail_send(struct vm *vm, const struct mbuf *msg);

/* Registers `voicemail show users`, `voicemail show messages` and `voicemail delete`. */
struct ctl;
int vm_ctl_register(struct ctl *ctl, struct vm *vm);

#endif /* MIKAKA_VM_H */
