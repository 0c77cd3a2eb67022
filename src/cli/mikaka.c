/* mikaka: the command-line client: sends one command to mikakad's control socket and prints
 * the answer, in the words Asterisk users know from `asterisk -rx`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "line.h" /* line discovery */
#include "web.h"  /* web console: password hashes */

#include <termios.h>

/* web console: `mikaka web passwd NAME` asks for the password (twice, without echo, on a
 * terminal; one line from stdin otherwise) and sends only its hash to the daemon. */
static int read_password(char *out, size_t size, const char *prompt)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	size_t n;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (!fgets(out, (int)size, stdin))
		out[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	n = strcspn(out, "\r\n");
	if (out[n] == '\0' && n == size - 1)
		return -1; /* longer than we take */
	out[n] = '\0';
	return n ? 0 : -1;
}

static int web_passwd_hash(char *hash, size_t size)
{
	char pw[256], again[256];
	int rc = 0;

	if (read_password(pw, sizeof(pw), "New password: ")) {
		fprintf(stderr, "mikaka: web passwd: an empty or over-long password (1-254 bytes)\n");
		rc = 2;
	} else if (isatty(STDIN_FILENO) &&
		   (read_password(again, sizeof(again), "Again: ") || strcmp(pw, again))) {
		fprintf(stderr, "mikaka: web passwd: the passwords differ\n");
		rc = 2;
	} else if (web_hash_password(pw, hash, size)) {
		fprintf(stderr, "mikaka: web passwd: cannot hash the password\n");
		rc = 1;
	}
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(again, sizeof(again));
	return rc;
}

/* line discovery: `mikaka line probe IFACE [--json] [--timeout S]` runs here, without the
 * daemon (it needs CAP_NET_RAW for the packet socket). */
static int line_probe_cmd(int argc, char **argv)
{
	const char *ifname = NULL;
	struct mbuf out;
	bool json = false;
	int timeout_s = 10, err;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout_s = atoi(argv[++i]);
			if (timeout_s <= 0 || timeout_s > 3600) {
				fprintf(stderr, "mikaka: --timeout takes seconds (1-3600)\n");
				return 2;
			}
		} else if (!ifname && argv[i][0] != '-') {
			ifname = argv[i];
		} else {
			ifname = NULL;
			break;
		}
	}
	if (!ifname) {
		fprintf(stderr, "usage: mikaka line probe IFACE [--json] [--timeout S]\n");
		return 2;
	}
	mbuf_init(&out);
	err = line_probe(ifname, timeout_s * 1000, json, &out);
	if (out.end)
		fwrite(out.buf, 1, out.end, stdout);
	mbuf_reset(&out);
	if (err) {
		fprintf(stderr, "mikaka: line probe on %s: %s\n", ifname,
			err == ETIMEDOUT ? "no DHCP server answered" : strerror(err));
		return 1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mikaka [-s CTLSOCKET] COMMAND...\n"
		   "  -s PATH  the daemon's control socket; default " CTL_DEFAULT_PATH "\n"
		   "  'mikaka help' lists the commands.\n"
		   "  mikaka line probe IFACE [--json] [--timeout S]: one DHCP discovery (root)\n"
		   "  mikaka backup FILE: the daemon copies its database to FILE (new, writable by it)\n"
		   "  mikaka web passwd NAME: set a web console user's password (read from the\n"
		   "           terminal, or one line of stdin); only its yescrypt hash is sent\n");
}

int main(int argc, char **argv)
{
	const char *path = CTL_DEFAULT_PATH;
	struct sockaddr_un sun;
	char line[4096];
	char buf[4096];
	size_t len = 0, got = 0;
	bool status_done = false;
	int status = 0;
	int opt, fd;

	while ((opt = getopt(argc, argv, "+s:h")) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (argc - optind >= 2 && !strcmp(argv[optind], "line") &&
	    !strcmp(argv[optind + 1], "probe")) /* line discovery */
		return line_probe_cmd(argc - optind - 2, argv + optind + 2);
	/* `backup FILE` and `phonebook import FILE`: the daemon opens the file, so a relative name
	 * is made absolute here. */
	{
		int fi = 0;

		if (argc - optind == 2 && !strcmp(argv[optind], "backup"))
			fi = optind + 1;
		else if (argc - optind == 3 && !strcmp(argv[optind], "phonebook") &&
			 !strcmp(argv[optind + 1], "import"))
			fi = optind + 2;
		if (fi && argv[fi][0] != '/') {
			static char abspath[4096];
			char cwd[4096];

			if (!getcwd(cwd, sizeof(cwd)) ||
			    (size_t)snprintf(abspath, sizeof(abspath), "%s/%s", cwd, argv[fi]) >=
				sizeof(abspath)) {
				fprintf(stderr, "mikaka: %s: path too long\n", argv[optind]);
				return 2;
			}
			argv[fi] = abspath;
		}
	}
	/* web console: the password is asked here; the daemon gets its hash */
	if (argc - optind == 3 && !strcmp(argv[optind], "web") &&
	    !strcmp(argv[optind + 1], "passwd")) {
		static char hash[160];
		static char *wargv[4];
		int rc = web_passwd_hash(hash, sizeof(hash));

		if (rc)
			return rc;
		wargv[0] = argv[optind];
		wargv[1] = argv[optind + 1];
		wargv[2] = argv[optind + 2];
		wargv[3] = hash;
		argv = wargv;
		argc = 4;
		optind = 0;
	}
	for (int i = optind; i < argc; i++) {
		int n = snprintf(line + len, sizeof(line) - len, "%s%s", i > optind ? " " : "",
				 argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - len - 1) {
			fprintf(stderr, "mikaka: command too long\n");
			return 2;
		}
		len += (size_t)n;
	}
	line[len++] = '\n';

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "mikaka: socket path too long\n");
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "mikaka: cannot connect to %s: %s (is mikakad running?)\n", path,
			strerror(errno));
		return 1;
	}
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fprintf(stderr, "mikaka: send: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	/* The first line is the status ("200 OK"); the rest is printed as it is. */
	for (;;) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (!status_done) {
			char *nl = memchr(buf, '\n', got);
			if (!nl && got < sizeof(buf))
				continue;
			status = atoi(buf);
			if (status != 200 && nl)
				fprintf(stderr, "mikaka: %.*s\n", (int)(nl - buf), buf);
			status_done = true;
			if (nl) {
				size_t skip = (size_t)(nl - buf) + 1;
				memmove(buf, nl + 1, got - skip);
				got -= skip;
			}
		}
		fwrite(buf, 1, got, stdout);
		got = 0;
	}
	close(fd);
	if (!status_done) {
		fprintf(stderr, "mikaka: no answer from %s\n", path);
		return 1;
	}
	return status == 200 ? 0 : 1;
}
