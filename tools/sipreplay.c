/* sipreplay: test tool that replays SIP messages from files over UDP and reports the status code
 * of the answer to each (RFC 4475 replays), or replays the PROTOS c07-sip suite checking that the
 * daemon still answers a valid INVITE after every case. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: sipreplay -t ADDR:PORT -b BINDADDR [-w MS] FILE...\n"
		"         prints 'FILE CODE' for each (CODE 'none' when nothing came back)\n"
		"       sipreplay -t ADDR:PORT -b BINDADDR [-w MS] -p PROTOSDIR [-f FIRST] [-n COUNT]\n"
		"         replays PROTOS cases, probing with 0000000.sip after each\n");
	exit(2);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* Finds a header's value on its own line (long or compact name); only as much parsing as a test
 * tool needs: it matches "\nName" followed by optional spaces and ':'. */
static struct pl find_header(const char *msg, size_t len, const char *lname, const char *cname)
{
	const char *end = msg + len;

	for (const char *p = msg; p < end; p++) {
		const char *q = p;
		const char *names[2] = {lname, cname};

		if (p != msg && p[-1] != '\n')
			continue;
		if (*p == '\r' || *p == '\n') /* end of headers */
			break;
		for (int i = 0; i < 2; i++) {
			size_t nl = names[i] ? strlen(names[i]) : 0;
			if (!nl || (size_t)(end - p) <= nl || strncasecmp(p, names[i], nl))
				continue;
			q = p + nl;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (q < end && *q == ':') {
				const char *v = q + 1, *e;
				while (v < end && (*v == ' ' || *v == '\t'))
					v++;
				e = v;
				while (e < end && *e != '\r' && *e != '\n')
					e++;
				return pl_from(v, (size_t)(e - v));
			}
		}
	}
	return pl_from(NULL, 0);
}

/* Port of the topmost Via's sent-by, 5060 when absent: answers without rport go there. */
static uint16_t via_port(const char *msg, size_t len)
{
	struct pl v = find_header(msg, len, "Via", "v");
	const char *p, *end;

	if (!v.p)
		return 5060;
	end = v.p + v.l;
	/* skip "SIP / 2.0 / UDP" then spaces to the host */
	p = v.p;
	for (int slashes = 0; p < end && slashes < 2; p++)
		if (*p == '/')
			slashes++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p == '[') {
		while (p < end && *p != ']')
			p++;
	}
	while (p < end && *p != ':' && *p != ';' && *p != ',' && *p != ' ')
		p++;
	if (p < end && *p == ':') {
		unsigned port = (unsigned)atoi(p + 1);
		if (port > 0 && port < 65536)
			return (uint16_t)port;
	}
	return 5060;
}

static int bind_udp(const char *addr, uint16_t port)
{
	struct sa sa;
	int fd, one = 1;

	if (sa_set_str(&sa, addr, port))
		return -1;
	fd = socket(sa_af(&sa), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &sa.u.sa, sa.len)) {
		fprintf(stderr, "sipreplay: bind %s:%u: %s\n", addr, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void drain(int fd)
{
	char buf[65536];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for a response whose Call-ID equals call_id (any response when call_id is unset) and
 * that contains `needle` (when given), and returns its status code, 0 when none came within
 * wait_ms. The response is copied to out. */
static int wait_response(int fd, const struct pl *call_id, const char *needle, int wait_ms,
			 char *out, size_t outsize)
{
	int64_t deadline = now_ms() + wait_ms;

	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd pfd = {fd, POLLIN, 0};
		char buf[65536];
		ssize_t n;

		if (left <= 0)
			return 0;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 12 || strncmp(buf, "SIP/2.0 ", 8))
			continue;
		buf[n] = '\0';
		if (call_id && call_id->p) {
			struct pl cid = find_header(buf, (size_t)n, "Call-ID", "i");
			if (!cid.p || pl_cmp(&cid, call_id))
				continue;
		}
		if (needle && !strstr(buf, needle))
			continue;
		if (out) {
			size_t c = MIN((size_t)n + 1, outsize);
			memcpy(out, buf, c);
			out[c - 1] = '\0';
		}
		return atoi(buf + 8);
	}
}

static int send_to(int fd, const struct sa *dst, const void *buf, size_t len)
{
	return sendto(fd, buf, len, 0, &dst->u.sa, dst->len) == (ssize_t)len ? 0 : errno;
}

static int replay_files(const struct sa *dst, const char *bindaddr, int wait_ms, char **files,
			int nfiles)
{
	for (int i = 0; i < nfiles; i++) {
		size_t len;
		char *msg = read_file(files[i], &len);
		struct pl cid;
		int fd, code;
		const char *base = strrchr(files[i], '/');

		if (!msg) {
			fprintf(stderr, "sipreplay: cannot read %s\n", files[i]);
			return 1;
		}
		fd = bind_udp(bindaddr, via_port(msg, len));
		if (fd < 0) {
			free(msg);
			return 1;
		}
		drain(fd);
		cid = find_header(msg, len, "Call-ID", "i");
		send_to(fd, dst, msg, len);
		code = wait_response(fd, &cid, NULL, wait_ms, NULL, 0);
		if (code)
			printf("%s %d\n", base ? base + 1 : files[i], code);
		else
			printf("%s none\n", base ? base + 1 : files[i]);
		fflush(stdout);
		close(fd);
		free(msg);
	}
	return 0;
}

/* ACK for a non-2xx final answer to the probe INVITE (RFC 3261 §17.1.1.3), so the daemon's
 * transaction stops retransmitting. */
static void send_ack(int fd, const struct sa *dst, const char *inv, size_t ilen, const char *resp)
{
	struct pl via = find_header(inv, ilen, "Via", "v");
	struct pl from = find_header(inv, ilen, "From", "f");
	struct pl cid = find_header(inv, ilen, "Call-ID", "i");
	struct pl to = find_header(resp, strlen(resp), "To", "t");
	const char *sp = memchr(inv, ' ', ilen), *sp2;
	struct mbuf mb;

	if (!via.p || !from.p || !cid.p || !to.p || !sp)
		return;
	sp2 = memchr(sp + 1, ' ', ilen - (size_t)(sp + 1 - inv));
	if (!sp2)
		return;
	mbuf_init(&mb);
	mbuf_printf(&mb,
		    "ACK %.*s SIP/2.0\r\nVia: %.*s\r\nFrom: %.*s\r\nTo: %.*s\r\nCall-ID: %.*s\r\n"
		    "CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		    (int)(sp2 - sp - 1), sp + 1, PL_ARG(via), PL_ARG(from), PL_ARG(to), PL_ARG(cid));
	send_to(fd, dst, mb.buf, mb.end);
	mbuf_reset(&mb);
}

static int replay_protos(const struct sa *dst, const char *bindaddr, int wait_ms, const char *dir,
			 int first, int count)
{
	char path[4096], probe_resp[65536];
	size_t plen;
	char *probe;
	int fd, failures = 0, last;

	snprintf(path, sizeof(path), "%s/0000000.sip", dir);
	probe = read_file(path, &plen);
	if (!probe) {
		fprintf(stderr, "sipreplay: cannot read %s\n", path);
		return 1;
	}
	fd = bind_udp(bindaddr, 5060);
	if (fd < 0)
		return 1;
	last = first + count - 1;
	for (int n = first; n <= last; n++) {
		char tag[16], needle[32], *pm, *c, *branch;
		size_t clen;
		struct pl cid;
		int code;

		snprintf(path, sizeof(path), "%s/%07d.sip", dir, n);
		c = read_file(path, &clen);
		if (!c) {
			if (n == first) {
				fprintf(stderr, "sipreplay: cannot read %s\n", path);
				failures++;
			}
			break;
		}
		send_to(fd, dst, c, clen);
		free(c);

		/* A probe of its own for every case (a unique branch), so a retransmitted answer to
		 * an earlier probe is never taken for this one. */
		pm = malloc(plen + 1);
		memcpy(pm, probe, plen + 1);
		snprintf(tag, sizeof(tag), "%06d", n % 1000000);
		branch = memmem(pm, plen, "z9hG4bK000000", 13);
		if (branch)
			memcpy(branch + 7, tag, 6);
		snprintf(needle, sizeof(needle), "z9hG4bK%s", tag);
		cid = find_header(pm, plen, "Call-ID", "i");
		drain(fd);
		send_to(fd, dst, pm, plen);
		code = wait_response(fd, &cid, needle, wait_ms, probe_resp, sizeof(probe_resp));
		if (!code) {
			/* One retransmission, as a UAC would (timer A). */
			send_to(fd, dst, pm, plen);
			code = wait_response(fd, &cid, needle, wait_ms, probe_resp,
					     sizeof(probe_resp));
		}
		if (code >= 200)
			send_ack(fd, dst, pm, plen, probe_resp);
		free(pm);
		if (!code) {
			printf("case %07d: no answer to the probe afterwards\n", n);
			failures++;
			if (failures > 5)
				break;
			continue;
		}
		if (n % 500 == 0) {
			printf("case %07d: probe answered %d\n", n, code);
			fflush(stdout);
		}
	}
	printf("protos: %d case(s) without an answer to the probe\n", failures);
	close(fd);
	free(probe);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *target = NULL, *bindaddr = "127.0.0.1", *protos = NULL;
	int wait_ms = 1000, first = 1, count = 1000000, opt;
	struct sa dst;

	while ((opt = getopt(argc, argv, "t:b:w:p:f:n:")) != -1) {
		switch (opt) {
		case 't':
			target = optarg;
			break;
		case 'b':
			bindaddr = optarg;
			break;
		case 'w':
			wait_ms = atoi(optarg);
			break;
		case 'p':
			protos = optarg;
			break;
		case 'f':
			first = atoi(optarg);
			break;
		case 'n':
			count = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!target || sa_decode(&dst, target, 5060))
		usage();
	if (protos)
		return replay_protos(&dst, bindaddr, wait_ms, protos, first, count);
	if (optind >= argc)
		usage();
	return replay_files(&dst, bindaddr, wait_ms, argv + optind, argc - optind);
}
