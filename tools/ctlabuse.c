/* ctlabuse: test tool that abuses the control socket: binary garbage, a command cut off by a
 * disconnect, an endless line, a client that connects and says nothing. Exits 0 when every
 * connection was handled (answered or closed) within the time limit. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int ctl_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits up to ms for the daemon to answer or close; true when it did either. */
static bool answered_or_closed(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	char buf[4096];

	if (poll(&p, 1, ms) <= 0)
		return false;
	return recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0 || errno != EAGAIN;
}

int main(int argc, char **argv)
{
	char junk[8192];
	int fd, failures = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: ctlabuse SOCKET\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131 + 7); /* binary, with NULs and newlines */

	/* 1. Binary garbage: a line of junk gets an error answer, or the connection closes. */
	fd = ctl_connect(argv[1]);
	if (fd < 0 || send(fd, junk, sizeof(junk), MSG_NOSIGNAL) < 0 || !answered_or_closed(fd, 3000)) {
		printf("# garbage: no answer and no close\n");
		failures++;
	}
	if (fd >= 0)
		close(fd);

	/* 2. A command cut off by a disconnect. */
	fd = ctl_connect(argv[1]);
	if (fd < 0 || send(fd, "core show ver", 13, MSG_NOSIGNAL) != 13) {
		printf("# cut-off: could not connect\n");
		failures++;
	}
	if (fd >= 0)
		close(fd);

	/* 3. An endless line without a newline: the daemon must close it. */
	fd = ctl_connect(argv[1]);
	if (fd >= 0) {
		memset(junk, 'a', sizeof(junk));
		(void)send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
		if (!answered_or_closed(fd, 3000)) {
			printf("# endless line: still open after 3 s\n");
			failures++;
		}
		close(fd);
	} else {
		failures++;
	}

	/* 4. Connects and says nothing: closed by the daemon's timeout (5 s). */
	fd = ctl_connect(argv[1]);
	if (fd < 0 || !answered_or_closed(fd, 8000)) {
		printf("# silent client: not closed within 8 s\n");
		failures++;
	}
	if (fd >= 0)
		close(fd);

	printf("# ctlabuse: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
