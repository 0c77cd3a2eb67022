/* ctl: the control socket server: accepts a connection, reads one command line, runs it,
 * writes the answer and closes. Small enough to stay inside the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "loop.h"

#define LOG_MODULE "ctl"
#define CTL_LINE_MAX 4096
#define CTL_ARGS_MAX 32
#define CTL_CONN_MAX 16
#define CTL_CONN_TIMEOUT_MS 5000

struct ctl_conn {
	struct le le;
	struct ctl *ctl;
	int fd;
	char line[CTL_LINE_MAX];
	size_t len;
	struct mbuf out;
	size_t sent;
	struct loop_timer timer;
};

struct ctl {
	struct loop *loop;
	int fd;
	bool bound; /* the socket file is ours to remove */
	char *path;
	struct ctl_cmd *cmds;
	size_t ncmds;
	struct list conns;
};

static void conn_close(struct ctl_conn *c)
{
	loop_timer_cancel(&c->timer);
	loop_fd_remove(c->ctl->loop, c->fd);
	close(c->fd);
	list_unlink(&c->le);
	mbuf_reset(&c->out);
	free(c);
}

static void conn_timeout(void *arg)
{
	conn_close(arg);
}

static size_t split_words(char *line, char **argv, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *w = strtok_r(line, " \t\r\n", &save); w && n < max;
	     w = strtok_r(NULL, " \t\r\n", &save))
		argv[n++] = w;
	return n;
}

/* Number of leading argv words that spell cmd->words, or 0 when they do not. */
static size_t match_words(const struct ctl_cmd *cmd, char **argv, size_t argc)
{
	char words[256];
	char *save = NULL;
	size_t n = 0;

	snprintf(words, sizeof(words), "%s", cmd->words);
	for (char *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (n >= argc || strcasecmp(w, argv[n]))
			return 0;
		n++;
	}
	return n;
}

static int cmd_help(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct ctl *ctl = arg;

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < ctl->ncmds; i++)
		mbuf_printf(out, "%-28s %s\n", ctl->cmds[i].words, ctl->cmds[i].help);
	return 0;
}

int ctl_execute(struct ctl *ctl, const char *line, struct mbuf *out)
{
	char buf[CTL_LINE_MAX];
	char *argv[CTL_ARGS_MAX];
	const struct ctl_cmd *best = NULL;
	size_t argc, best_n = 0;
	struct mbuf body;
	int err;

	snprintf(buf, sizeof(buf), "%s", line);
	argc = split_words(buf, argv, ARRAY_SIZE(argv));
	for (size_t i = 0; i < ctl->ncmds; i++) {
		size_t n = match_words(&ctl->cmds[i], argv, argc);
		if (n > best_n) {
			best = &ctl->cmds[i];
			best_n = n;
		}
	}
	if (!best) {
		mbuf_printf(out, "404 No such command\nNo such command '%s' (see 'help')\n", line);
		return ENOENT;
	}
	mbuf_init(&body);
	err = best->h(&body, (int)(argc - best_n), argv + best_n, best->arg);
	if (err == 0)
		mbuf_write_str(out, "200 OK\n");
	else if (err == EINVAL)
		mbuf_write_str(out, "400 Bad arguments\n");
	else if (err == ENOENT)
		mbuf_write_str(out, "404 Not found\n");
	else if (err == ECANCELED)
		mbuf_write_str(out, "409 Refused\n");
	else
		mbuf_printf(out, "500 %s\n", strerror(err));
	mbuf_write(out, body.buf, body.end);
	mbuf_reset(&body);
	return err;
}

static void conn_write(struct ctl_conn *c)
{
	while (c->sent < c->out.end) {
		ssize_t n = send(c->fd, c->out.buf + c->sent, c->out.end - c->sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			break;
		}
		c->sent += (size_t)n;
	}
	conn_close(c);
}

static void conn_handler(int fd, uint32_t events, void *arg)
{
	struct ctl_conn *c = arg;
	char *nl;
	ssize_t n;

	if (c->out.end) {
		conn_write(c);
		return;
	}
	n = recv(fd, c->line + c->len, sizeof(c->line) - 1 - c->len, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->line[c->len] = '\0';
	nl = strchr(c->line, '\n');
	if (!nl) {
		if (c->len >= sizeof(c->line) - 1)
			conn_close(c);
		return;
	}
	*nl = '\0';
	ctl_execute(c->ctl, c->line, &c->out);
	loop_fd_listen(c->ctl->loop, c->fd, LOOP_WRITE, conn_handler, c);
	conn_write(c);
}

static void accept_handler(int fd, uint32_t events, void *arg)
{
	struct ctl *ctl = arg;
	struct ctl_conn *c;
	int cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (list_count(&ctl->conns) >= CTL_CONN_MAX || !(c = calloc(1, sizeof(*c)))) {
		close(cfd);
		return;
	}
	c->ctl = ctl;
	c->fd = cfd;
	mbuf_init(&c->out);
	list_append(&ctl->conns, &c->le, c);
	if (loop_fd_listen(ctl->loop, cfd, LOOP_READ, conn_handler, c) ||
	    loop_timer_start(ctl->loop, &c->timer, CTL_CONN_TIMEOUT_MS, conn_timeout, c))
		conn_close(c);
}

static void mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	mkdir(dir, 0750); /* an existing directory is fine */
}

int ctl_alloc(struct ctl **ctlp, struct loop *loop, const char *path)
{
	struct sockaddr_un sun;
	struct ctl *ctl;
	struct ctl_cmd help = {"help", "list the commands", cmd_help, NULL};
	int err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return ENOMEM;
	ctl->loop = loop;
	ctl->fd = -1;
	ctl->path = strdup(path);
	if (!ctl->path) {
		err = ENOMEM;
		goto fail;
	}
	mkdir_parent(path);
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0) {
		err = errno;
		goto fail;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* A socket file left by a daemon that died is stale: nobody listens behind it. */
	{
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool alive = probe >= 0 &&
			     connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		if (probe >= 0)
			close(probe);
		if (alive) {
			err = EADDRINUSE;
			goto fail;
		}
	}
	unlink(path);
	if (bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = errno;
		goto fail;
	}
	ctl->bound = true;
	if (chmod(path, 0660) || listen(ctl->fd, 16)) {
		err = errno;
		goto fail;
	}
	err = loop_fd_listen(loop, ctl->fd, LOOP_READ, accept_handler, ctl);
	if (err)
		goto fail;
	help.arg = ctl;
	err = ctl_register(ctl, &help);
	if (err)
		goto fail;
	*ctlp = ctl;
	return 0;

fail:
	ctl_free(ctl);
	return err;
}

void ctl_free(struct ctl *ctl)
{
	if (!ctl)
		return;
	while (ctl->conns.head)
		conn_close(ctl->conns.head->data);
	if (ctl->fd >= 0) {
		loop_fd_remove(ctl->loop, ctl->fd);
		close(ctl->fd);
	}
	if (ctl->bound)
		unlink(ctl->path);
	free(ctl->path);
	free(ctl->cmds);
	free(ctl);
}

int ctl_register(struct ctl *ctl, const struct ctl_cmd *cmd)
{
	struct ctl_cmd *cmds = realloc(ctl->cmds, (ctl->ncmds + 1) * sizeof(*cmds));

	if (!cmds)
		return ENOMEM;
	ctl->cmds = cmds;
	ctl->cmds[ctl->ncmds++] = *cmd;
	return 0;
}
