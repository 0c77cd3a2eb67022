/* svc: running as a system service: the sd_notify protocol (readiness, reload, stop, status)
 * and the watchdog over $NOTIFY_SOCKET, sysexits-style exit codes, and the `backup` command. */
#ifndef MIKAKA_SVC_H
#define MIKAKA_SVC_H

#include "base.h"

struct loop;
struct ctl;
struct store;

/* Exit codes (sysexits.h values), listed in the unit's RestartPreventExitStatus= where a restart
 * cannot help. */
enum svc_exit {
	SVC_EXIT_OK = 0,
	SVC_EXIT_FAIL = 1,	  /* anything else: systemd restarts */
	SVC_EXIT_USAGE = 64,	  /* bad command line */
	SVC_EXIT_DATAERR = 65,	  /* --restore: not a mikaka backup, truncated, damaged */
	SVC_EXIT_NOINPUT = 66,	  /* --restore: the file cannot be read */
	SVC_EXIT_CANTCREAT = 73,  /* the state directory or database cannot be written */
	SVC_EXIT_IOERR = 74,	  /* disk full, I/O error */
	SVC_EXIT_TEMPFAIL = 75,	  /* --restore: the database is in use by a running daemon */
	SVC_EXIT_CONFIG = 78,	  /* configuration errors, a database from a newer mikaka */
};

/* The exit code for an errno value met opening the state database or restoring. */
int svc_exit_for(int err);

/* A configuration directory that does not exist or cannot be read is an error (logged, with
 * what to do), not "built-in defaults": returns 0 or an errno value. */
int svc_check_confdir(const char *dir);

/* Sends one sd_notify datagram ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET (a path, or "@name" for
 * the abstract namespace). No-op without the variable. Returns 0 or an errno value. */
int svc_notify(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Arms the loop's watchdog timer when $WATCHDOG_USEC is set (and $WATCHDOG_PID, when set, is this
 * process): WATCHDOG=1 every half period, sent from the event loop, so a loop that stops turning
 * stops feeding it. Sends READY=1 (with MAINPID and a STATUS) on the loop's first turn: call it
 * once everything is listening. */
int svc_start(struct loop *loop, const char *status);
/* STOPPING=1 (idempotent), RELOADING=1 and, after a reload, READY=1 again. */
void svc_stopping(void);
void svc_reloading(void);
void svc_reloaded(const char *status);
/* Cancels the watchdog timer (before the loop is freed). */
void svc_stop(void);

/* Once start-up is over: gives back the heap's free pages and drops this process's mapping of
 * the pages of code and read-only data that only start-up used (they stay in the page cache;
 * what runs again maps them back). Returns the bytes of mappings dropped (resident or not). */
size_t svc_release_startup(void);

/* Registers `backup FILE` on ctl: the daemon writes a copy of the database to FILE (an absolute
 * path the daemon can write; it must not exist). */
int svc_ctl_register(struct ctl *ctl, struct store *store);

/* `mikakad --restore FILE -d DB`: checks FILE and replaces DB with it; prints what happened.
 * Returns the process exit code. */
int svc_restore_main(const char *backup, const char *dbpath);

#endif /* MIKAKA_SVC_H */
