/* svc: the sd_notify protocol spoken by hand (one datagram per message to $NOTIFY_SOCKET; no
 * libsystemd), the watchdog fed from the event loop, exit codes, and backup/restore glue. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "loop.h"
#include "store.h"
#include "svc.h"

#define LOG_MODULE "svc"

static struct {
	struct loop *loop;
	struct loop_timer watchdog;
	struct loop_timer ready;
	uint64_t interval_ms;
	bool stopping;
	char status[256];
} svc;

int svc_exit_for(int err)
{
	switch (err) {
	case 0:
		return SVC_EXIT_OK;
	case EPROTONOSUPPORT: /* a database from a newer mikaka: a restart cannot help */
	case EINVAL:	      /* not a mikaka database */
		return SVC_EXIT_CONFIG;
	case EACCES:
	case EPERM:
	case EROFS:
	case ENOTDIR:
		return SVC_EXIT_CANTCREAT;
	case ENOSPC:
	case EDQUOT:
	case EIO:
		return SVC_EXIT_IOERR;
	case EBUSY:
		return SVC_EXIT_TEMPFAIL;
	default:
		return SVC_EXIT_FAIL;
	}
}

int svc_check_confdir(const char *dir)
{
	struct stat sb;
	int err = 0;

	if (stat(dir, &sb) < 0)
		err = errno;
	else if (!S_ISDIR(sb.st_mode))
		err = ENOTDIR;
	else if (access(dir, R_OK | X_OK) < 0)
		err = errno;
	if (err)
		log_error("configuration directory %s: %s (create it with sip.conf and "
			  "extensions.conf, or mikaka.conf; samples are in the package's examples)",
			  dir, strerror(err));
	return err;
}

int svc_notify(const char *fmt, ...)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	char msg[512];
	va_list ap;
	int fd, n, err = 0;

	if (!path || !path[0])
		return 0;
	if ((path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sun.sun_path))
		return EAFNOSUPPORT;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return EMSGSIZE;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sun, len) < 0)
		err = errno;
	close(fd);
	if (err)
		log_debug("sd_notify to %s: %s", path, strerror(err));
	return err;
}

static void watchdog_h(void *arg)
{
	(void)arg;
	svc_notify("WATCHDOG=1");
	loop_timer_start(svc.loop, &svc.watchdog, svc.interval_ms, watchdog_h, NULL);
}

static void ready_h(void *arg)
{
	(void)arg;
	svc_notify("READY=1\nMAINPID=%ld\nSTATUS=%s", (long)getpid(), svc.status);
}

int svc_start(struct loop *loop, const char *status)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");

	svc.loop = loop;
	svc.stopping = false;
	snprintf(svc.status, sizeof(svc.status), "%s", status ? status : "running");
	loop_timer_init(&svc.watchdog);
	loop_timer_init(&svc.ready);
	if (usec && (!pid || strtol(pid, NULL, 10) == (long)getpid())) {
		unsigned long long us = strtoull(usec, NULL, 10);

		if (us >= 2000) {
			svc.interval_ms = us / 2000; /* half the period */
			loop_timer_start(loop, &svc.watchdog, svc.interval_ms, watchdog_h, NULL);
			log_info("watchdog: WATCHDOG=1 every %llu ms", (unsigned long long)svc.interval_ms);
		}
	}
	/* Sent by the running loop, after everything before loop_run has succeeded. */
	return loop_timer_start(loop, &svc.ready, 0, ready_h, NULL);
}

void svc_stopping(void)
{
	if (svc.stopping)
		return;
	svc.stopping = true;
	svc_notify("STOPPING=1\nSTATUS=stopping");
}

void svc_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	svc_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
		   (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

void svc_reloaded(const char *status)
{
	svc_notify("READY=1\nSTATUS=%s", status ? status : svc.status);
}

void svc_stop(void)
{
	loop_timer_cancel(&svc.watchdog);
	loop_timer_cancel(&svc.ready);
	svc.loop = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Backup: each part writes its own piece next to FILE. Today the database is the only state; the
 * voicemail spool, when it exists, adds a part here (FILE.spool/, copied after the database, so
 * that every message the database lists is in the copy).
 */
struct backup_part {
	const char *name;
	int (*run)(struct store *st, const char *path, char *why, size_t size);
};

static const struct backup_part backup_parts[] = {
    {"database", store_backup},
};

static int cmd_backup(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct store *st = arg;
	char why[512];
	int err = 0;

	if (argc != 1 || argv[0][0] != '/') {
		mbuf_write_str(out, "usage: backup /ABSOLUTE/PATH (a file that does not exist)\n");
		return EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(backup_parts) && !err; i++) {
		err = backup_parts[i].run(st, argv[0], why, sizeof(why));
		if (err)
			mbuf_printf(out, "Backup failed (%s): %s\n", backup_parts[i].name, why);
		else
			mbuf_printf(out, "%s: %s\n", backup_parts[i].name, argv[0]);
	}
	if (!err)
		mbuf_printf(out, "Backup written to %s\n", argv[0]);
	/* The client tells bad arguments (400) from a refused or failed copy (409/500). */
	return err == EINVAL ? ECANCELED : err;
}

int svc_ctl_register(struct ctl *ctl, struct store *store)
{
	const struct ctl_cmd cmd = {
	    "backup", "backup FILE: copy the state database to FILE (absolute, new) while running",
	    cmd_backup, store};

	return ctl_register(ctl, &cmd);
}

int svc_restore_main(const char *backup, const char *dbpath)
{
	char why[1024];
	int err = store_restore(backup, dbpath, why, sizeof(why));

	if (err) {
		fprintf(stderr, "mikakad: restore refused, nothing was overwritten: %s\n", why);
		if (err == EINVAL)
			return SVC_EXIT_DATAERR;
		if (err == EPROTONOSUPPORT)
			return SVC_EXIT_DATAERR;
		if (err == ENOENT)
			return SVC_EXIT_NOINPUT;
		return svc_exit_for(err);
	}
	printf("mikakad: %s restored into %s (the previous contents, if any, are in "
	       "%s.before-restore)\n",
	       backup, dbpath, dbpath);
	return 0;
}
