/* system: System() and TrySystem(): a shell command run for the dialplan, the call waiting
 * (without blocking the loop) until it exits; SYSTEMSTATUS as Asterisk sets it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "call_int.h"

#define LOG_MODULE "call"
#define SYS_POLL_MS 20

extern char **environ;

/* One command running. It outlives its call when the call ends first (Asterisk does not kill
 * it either): then it is only reaped. */
struct call_sys {
	struct le le; /* in eng->sys */
	struct call_eng *eng;
	struct call *call; /* waiting for it; NULL when nobody is */
	pid_t pid;
	/* Polled every SYS_POLL_MS: a command is rare and short, and neither a pidfd (valgrind
	 * 3.19 does not know pidfd_open) nor a SIGCHLD in the loop's signalfd is worth it. */
	struct loop_timer tmr;
	bool try;
	char what[64]; /* the command's start, for the log */
};

static void sys_free(struct call_sys *s)
{
	loop_timer_cancel(&s->tmr);
	list_unlink(&s->le);
	if (s->call && s->call->sys == s)
		s->call->sys = NULL;
	free(s);
}

/* The child exited with status st: SYSTEMSTATUS, then the dialplan goes on. Asterisk's values:
 * SUCCESS (exit 0), APPERROR (another exit status), FAILURE (it could not run: 127 from the
 * shell, or killed). System() hangs up on FAILURE, TrySystem() never. */
static void sys_done(struct call_sys *s, int st)
{
	struct call *c = s->call;
	bool ran = WIFEXITED(st) && WEXITSTATUS(st) != 127;
	const char *status = !ran ? "FAILURE" : WEXITSTATUS(st) ? "APPERROR" : "SUCCESS";
	bool try = s->try;

	log_info("System(%s%s): %s (%s %d)", s->what,
		 strlen(s->what) == sizeof(s->what) - 1 ? "..." : "", status,
		 WIFEXITED(st) ? "exit" : "signal",
		 WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	sys_free(s);
	if (!c || c->state == CALL_ENDING)
		return;
	pbx_chan_set_var(c->chan, "SYSTEMSTATUS", status);
	if (!ran && !try) {
		call_hangup(c, 38);
		return;
	}
	call_run(c);
}

static void sys_poll_h(void *arg);

static void sys_check(struct call_sys *s)
{
	int st = 0;
	pid_t p = waitpid(s->pid, &st, WNOHANG);

	if (p == s->pid)
		sys_done(s, st);
	else if (p < 0 && errno != EINTR)
		sys_done(s, 127 << 8); /* lost (not our child any more): as could not run */
	else
		loop_timer_start(s->eng->loop, &s->tmr, SYS_POLL_MS, sys_poll_h, s);
}

static void sys_poll_h(void *arg)
{
	sys_check(arg);
}

/* Starts `/bin/sh -c cmd` for c (NULL: nobody waits, as in the h extension). */
static int sys_start(struct call_eng *eng, struct call *c, const char *cmd, bool try)
{
	char *const argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	struct call_sys *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return ENOMEM;
	s->eng = eng;
	s->try = try;
	loop_timer_init(&s->tmr);
	str_copy(s->what, sizeof(s->what), cmd);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	/* stderr stays the daemon's (its log); nothing else of the daemon's reaches the child */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	/* the daemon blocks SIGTERM/SIGHUP for its signalfd: the child must not inherit that */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	err = posix_spawn(&s->pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (err) {
		log_warn("System(%s): cannot start /bin/sh: %s", s->what, strerror(err));
		free(s);
		return err;
	}
	list_append(&eng->sys, &s->le, s);
	s->call = c;
	if (c)
		c->sys = s;
	loop_timer_start(eng->loop, &s->tmr, SYS_POLL_MS, sys_poll_h, s);
	return 0;
}

void call_system(struct call *c, const struct pbx_action *act)
{
	str_copy(c->lastapp, sizeof(c->lastapp), act->system.try ? "TrySystem" : "System");
	str_copy(c->lastdata, sizeof(c->lastdata), act->system.cmd);
	if (sys_start(c->eng, c, act->system.cmd, act->system.try)) {
		pbx_chan_set_var(c->chan, "SYSTEMSTATUS", "FAILURE");
		if (act->system.try)
			c->rerun = true;
		else
			call_hangup(c, 38);
	}
}

void call_system_detached(struct call_eng *eng, const struct pbx_action *act)
{
	(void)sys_start(eng, NULL, act->system.cmd, true);
}

void call_system_leave(struct call *c)
{
	if (c->sys) {
		c->sys->call = NULL;
		c->sys = NULL;
	}
}

void call_system_free_all(struct call_eng *eng)
{
	/* At the daemon's end: the commands still running are left to finish (not waited for). */
	while (eng->sys.head)
		sys_free(eng->sys.head->data);
}
