/* web/check.c: runs `mikakad -C DIR -t` as a child for the configuration page, its output read on
 * the loop through a pipe. A child, not a call into the configuration code: the running daemon's
 * state is not touched, and the page shows exactly what `-t` prints on a terminal. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_MODULE "web"

#include "base.h"
#include "loop.h"
#include "web_int.h"

#define CHECK_OUT_MAX	 (64 * 1024) /* output kept; the rest is dropped */
#define CHECK_TIMEOUT_MS 10000	     /* a check that takes longer is killed */

struct web_check {
	struct loop *loop;
	pid_t pid;
	int fd; /* the read end of the child's stdout+stderr; -1 after EOF */
	struct mbuf out;
	bool truncated;
	struct loop_timer tmr; /* the time limit, then the wait for the exit status */
	uint64_t deadline;
	web_check_h *h;
	void *arg;
};

static void finish(struct web_check *c, int status)
{
	web_check_h *h = c->h;

	c->h = NULL;
	c->pid = 0;
	if (h)
		h(status, &c->out, c->arg);
}

/* The exit status, once the output has ended (the child may still be exiting: retried). */
static void reap_h(void *arg)
{
	struct web_check *c = arg;
	int st = 0;
	pid_t p = waitpid(c->pid, &st, WNOHANG);

	if (p == 0) {
		if (loop_now(c->loop) > c->deadline)
			kill(c->pid, SIGKILL);
		loop_timer_start(c->loop, &c->tmr, 10, reap_h, c);
		return;
	}
	finish(c, p < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void timeout_h(void *arg)
{
	struct web_check *c = arg;

	log_warn("configuration check took over %d s; killed", CHECK_TIMEOUT_MS / 1000);
	kill(c->pid, SIGKILL);
	c->deadline = 0;
	loop_timer_start(c->loop, &c->tmr, 10, reap_h, c);
}

static void read_h(int fd, uint32_t events, void *arg)
{
	struct web_check *c = arg;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0) {
		size_t room = c->out.end < CHECK_OUT_MAX ? CHECK_OUT_MAX - c->out.end : 0;

		if ((size_t)n > room)
			c->truncated = true;
		if (room && mbuf_write(&c->out, buf, (size_t)n < room ? (size_t)n : room))
			c->truncated = true;
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	loop_fd_remove(c->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (c->truncated)
		mbuf_write_str(&c->out, "...\n");
	reap_h(c);
}

int web_check_start(struct web_check **cp, struct loop *loop, char *const argv[], web_check_h *h,
		    void *arg)
{
	static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct web_check *c;
	sigset_t none, all;
	int p[2], err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	c->loop = loop;
	c->fd = -1;
	c->h = h;
	c->arg = arg;
	mbuf_init(&c->out);
	loop_timer_init(&c->tmr);
	if (pipe2(p, O_CLOEXEC) < 0) {
		err = errno;
		free(c);
		return err;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	/* nothing else of the daemon's (sockets, the database) reaches the child */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	/* the daemon blocks SIGTERM/SIGHUP for its signalfd: the child must not inherit that */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	/* no JOURNAL_STREAM and the like: plain "file:line: error: ..." lines */
	err = posix_spawn(&c->pid, argv[0], &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (err) {
		close(p[0]);
		free(c);
		return err;
	}
	c->fd = p[0];
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	err = loop_fd_listen(loop, c->fd, LOOP_READ, read_h, c);
	if (err) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		close(c->fd);
		free(c);
		return err;
	}
	c->deadline = loop_now(loop) + CHECK_TIMEOUT_MS;
	loop_timer_start(loop, &c->tmr, CHECK_TIMEOUT_MS, timeout_h, c);
	*cp = c;
	return 0;
}

bool web_check_running(const struct web_check *c)
{
	return c && c->pid > 0;
}

void web_check_free(struct web_check *c)
{
	if (!c)
		return;
	loop_timer_cancel(&c->tmr);
	if (c->fd >= 0) {
		loop_fd_remove(c->loop, c->fd);
		close(c->fd);
	}
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	mbuf_reset(&c->out);
	free(c);
}
