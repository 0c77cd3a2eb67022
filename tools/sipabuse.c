/* sipabuse: test tool that sends hostile input to a SIP server over UDP and TCP (oversized and
 * countless headers, NUL bytes, junk, broken framing, silent and half-finished connections, a
 * connection flood) and checks what comes back; each subcommand prints what it saw and exits 0
 * when the server behaved, 1 when not (used by tests/e2e/badinput.sh). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

#define PROBE_MS 2000	       /* a live server answers OPTIONS within this */
#define SILENCE_MS 1000	       /* how long "no answer" is waited for */
#define CLOSE_MS 5000	       /* a connection the server should drop must be gone by then */
#define READ_CHUNK 16384
#define RX_KEEP (256 * 1024)   /* what we keep of a stream (more is junk anyway) */
#define FLOOD_MAX 20000

/* Output lines start with "# " so the test runner does not count them as results. */
#define say(...) (printf("# " __VA_ARGS__), putchar('\n'), fflush(stdout))

struct resp {
	int code;
	char reason[128];
	bool reason_ok; /* non-empty, printable */
	char callid[128];
};

/* ---------------------------------------------------------------------------------------------
 * Time and small helpers
 */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int left_ms(uint64_t deadline)
{
	uint64_t n = now_ms();

	return n >= deadline ? 0 : (int)(deadline - n);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void oom(void)
{
	fprintf(stderr, "sipabuse: out of memory\n");
	exit(2);
}

static void local_any(struct sa *sa, int af)
{
	sa_set_str(sa, af == AF_INET6 ? "::1" : "127.0.0.1", 0);
}

/* ---------------------------------------------------------------------------------------------
 * Reading responses: just enough parsing for a test tool.
 */

/* Finds header `lname` (or compact `cname`) in a header section; copies its value into out. */
static bool find_header(const char *hs, size_t hl, const char *lname, const char *cname, char *out,
			size_t outsz)
{
	const char *end = hs + hl;
	const char *names[2] = {lname, cname};

	for (const char *p = hs; p < end; p++) {
		if (p != hs && p[-1] != '\n')
			continue;
		for (int i = 0; i < 2; i++) {
			size_t nl = names[i] ? strlen(names[i]) : 0;
			const char *q, *v, *e;

			if (!nl || (size_t)(end - p) <= nl || strncasecmp(p, names[i], nl))
				continue;
			q = p + nl;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (q >= end || *q != ':')
				continue;
			v = q + 1;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			e = v;
			while (e < end && *e != '\r' && *e != '\n')
				e++;
			snprintf(out, outsz, "%.*s", (int)(e - v), v);
			return true;
		}
	}
	return false;
}

/* Parses a response's status line and Call-ID; EBADMSG when it is not a SIP response. */
static int resp_parse(const uint8_t *p, size_t len, struct resp *r)
{
	const char *s = (const char *)p;
	const uint8_t *eol, *reason;
	size_t rl;

	memset(r, 0, sizeof(*r));
	if (len < 12 || memcmp(s, "SIP/2.0 ", 8) || s[11] != ' ')
		return EBADMSG;
	for (int i = 8; i < 11; i++) {
		if (s[i] < '0' || s[i] > '9')
			return EBADMSG;
		r->code = r->code * 10 + (s[i] - '0');
	}
	eol = memmem(p, len, "\r\n", 2);
	if (!eol)
		return EBADMSG;
	reason = p + 12;
	rl = (size_t)(eol - reason);
	r->reason_ok = rl > 0;
	for (size_t i = 0; i < rl; i++) {
		/* Reason-Phrase is TEXT-UTF8 (RFC 3261 §25.1): no controls except HTAB. */
		if ((reason[i] < 0x20 && reason[i] != '\t') || reason[i] == 0x7f)
			r->reason_ok = false;
	}
	snprintf(r->reason, sizeof(r->reason), "%.*s", (int)MIN(rl, sizeof(r->reason) - 1),
		 (const char *)reason);
	for (char *c = r->reason; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	}
	find_header(s, len, "Call-ID", "i", r->callid, sizeof(r->callid));
	return 0;
}

/* Frames one message of a stream: 0 with *start and *used when p holds a whole one (after any CRLF
 * pongs), ENODATA when more is needed, EBADMSG when it cannot be framed. */
static int stream_frame(const uint8_t *p, size_t len, size_t *start, size_t *used)
{
	const uint8_t *hend;
	size_t skip = 0, hlen;
	char clen[32];
	unsigned long cl = 0;
	char *end;

	while (skip < len && (p[skip] == '\r' || p[skip] == '\n'))
		skip++;
	if (skip == len)
		return ENODATA;
	hend = memmem(p + skip, len - skip, "\r\n\r\n", 4);
	if (!hend)
		return len - skip > RX_KEEP / 2 ? EBADMSG : ENODATA;
	hlen = (size_t)(hend + 4 - (p + skip));
	if (find_header((const char *)p + skip, hlen, "Content-Length", "l", clen, sizeof(clen))) {
		errno = 0;
		cl = strtoul(clen, &end, 10);
		if (errno || end == clen || *end || cl > RX_KEEP)
			return EBADMSG;
	}
	if (skip + hlen + cl > len)
		return ENODATA;
	*start = skip;
	*used = skip + hlen + cl;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Building requests
 */

/* An OPTIONS from `local` to `target`: extra (may hold NULs) goes after CSeq, clen replaces
 * the Content-Length line when given. */
static void build_options(struct mbuf *mb, const char *tpname, const struct sa *local,
			  const struct sa *target, const char *callid, unsigned cseq,
			  const void *extra, size_t extra_len, const char *clen)
{
	char lbuf[SA_STRLEN], tbuf[SA_STRLEN], branch[17], tag[9];
	int err;

	rand_token(branch, 16);
	rand_token(tag, 8);
	sa_fmt(local, lbuf, sizeof(lbuf));
	sa_fmt(target, tbuf, sizeof(tbuf));
	err = mbuf_printf(mb,
			  "OPTIONS sip:ping@%s SIP/2.0\r\n"
			  "Via: SIP/2.0/%s %s;branch=z9hG4bK%s;rport\r\n"
			  "Max-Forwards: 70\r\n"
			  "From: <sip:abuse@%s>;tag=%s\r\n"
			  "To: <sip:ping@%s>\r\n"
			  "Call-ID: %s\r\n"
			  "CSeq: %u OPTIONS\r\n"
			  "Accept: application/sdp\r\n",
			  tbuf, tpname, lbuf, branch, lbuf, tag, tbuf, callid, cseq);
	if (!err && extra_len)
		err = mbuf_write(mb, extra, extra_len);
	if (!err)
		err = mbuf_printf(mb, "%s\r\n\r\n", clen ? clen : "Content-Length: 0");
	if (err)
		oom();
}

/* The bytes of mb from off; never NULL (an empty mbuf has no storage). */
static const uint8_t *mb_at(const struct mbuf *mb, size_t off)
{
	return mb->buf ? mb->buf + off : (const uint8_t *)"";
}

static void new_callid(char *buf, size_t size)
{
	char tok[17];

	rand_token(tok, 16);
	snprintf(buf, size, "%s@sipabuse", tok);
}

/* ---------------------------------------------------------------------------------------------
 * UDP
 */

/* A UDP socket connected to target (so only its answers arrive, and ICMP errors show). */
static int udp_open(const struct sa *target, struct sa *local, int *fdp)
{
	int fd;
	struct sa l;
	socklen_t sl = sizeof(l.u);

	fd = socket(sa_af(target), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	local_any(&l, sa_af(target));
	if (bind(fd, &l.u.sa, l.len) < 0 || connect(fd, &target->u.sa, target->len) < 0 ||
	    getsockname(fd, &l.u.sa, &sl) < 0) {
		int err = errno;

		close(fd);
		return err;
	}
	l.len = sl;
	*local = l;
	*fdp = fd;
	return 0;
}

/* Waits for the final response with this Call-ID (any datagram when callid is NULL):
 * 0 with *r, ETIMEDOUT, or the socket's error. */
static int udp_wait(int fd, const char *callid, int ms, struct resp *r, size_t *nother)
{
	uint64_t deadline = now_ms() + (uint64_t)ms;
	static uint8_t buf[65536];

	for (int i = 0; i < 10000; i++) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int n = poll(&pfd, 1, left_ms(deadline));
		ssize_t got;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return ETIMEDOUT;
		got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return errno;
		}
		if (!callid) {
			if (resp_parse(buf, (size_t)got, r)) {
				r->code = -1;
				snprintf(r->reason, sizeof(r->reason),
					 "(%zd bytes, not a response)", got);
			}
			return 0;
		}
		if (resp_parse(buf, (size_t)got, r) || strcmp(r->callid, callid)) {
			if (nother)
				(*nother)++;
			continue;
		}
		if (r->code >= 100 && r->code < 200)
			continue;
		return 0;
	}
	return ETIMEDOUT;
}

static int udp_probe(const struct sa *target, int ms)
{
	struct sa local;
	struct mbuf mb;
	struct resp r;
	char callid[64];
	int fd, err;

	err = udp_open(target, &local, &fd);
	if (err) {
		say("probe udp: socket: %s", strerror(err));
		return 1;
	}
	mbuf_init(&mb);
	new_callid(callid, sizeof(callid));
	build_options(&mb, "UDP", &local, target, callid, 1, NULL, 0, NULL);
	if (send(fd, mb.buf, mb.end, 0) < 0) {
		err = errno;
	} else {
		err = udp_wait(fd, callid, ms, &r, NULL);
		if (err == ETIMEDOUT) { /* one retransmission, as a UAC would (T1) */
			(void)send(fd, mb.buf, mb.end, 0);
			err = udp_wait(fd, callid, ms, &r, NULL);
		}
	}
	mbuf_reset(&mb);
	close(fd);
	if (err) {
		say("probe udp: no answer: %s", strerror(err));
		return 1;
	}
	if (r.code != 200) {
		say("probe udp: got %d %s instead of 200", r.code, r.reason);
		return 1;
	}
	return 0;
}

enum expect {
	EXP_400,	   /* 400 with a printable reason phrase */
	EXP_400_OR_SILENCE, /* 400 (printable reason) or nothing */
	EXP_SILENCE,	   /* no datagram at all */
};

/* Fills mb with the datagram(s) of one case; returns the expectation. Several datagrams are
 * separated by their lengths in lens[]. */
static int udp_case(const char *name, const struct sa *local, const struct sa *target,
		    const char *callid, struct mbuf *mb, size_t *lens, size_t *nlens,
		    enum expect *exp)
{
	struct mbuf ex;
	int err = 0;

	mbuf_init(&ex);
	*nlens = 1;
	if (!strcmp(name, "bigheader")) {
		/* One 60 KB header line: the datagram still fits in UDP. */
		err = mbuf_write_str(&ex, "Subject: ");
		for (int i = 0; !err && i < 60000; i++)
			err = mbuf_write(&ex, "x", 1);
		if (!err)
			err = mbuf_write_str(&ex, "\r\n");
		*exp = EXP_400_OR_SILENCE;
	} else if (!strcmp(name, "manyheaders")) {
		/* 10,000 header lines of 5 bytes: ~50 KB, one datagram. */
		for (int i = 0; !err && i < 10000; i++)
			err = mbuf_write_str(&ex, "a:b\r\n");
		*exp = EXP_400;
	} else if (!strcmp(name, "nul-startline")) {
		build_options(mb, "UDP", local, target, callid, 1, NULL, 0, NULL);
		mb->buf[strlen("OPTIONS sip:pi")] = '\0'; /* sip:pi\0g@... */
		lens[0] = mb->end;
		*exp = EXP_400_OR_SILENCE;
		goto out;
	} else if (!strcmp(name, "nul-hdrname")) {
		err = mbuf_write(&ex, "X-Ab\0use: 1\r\n", 13);
		*exp = EXP_400_OR_SILENCE;
	} else if (!strcmp(name, "nul-value")) {
		err = mbuf_write(&ex, "Subject: he\0llo\r\n", 17);
		*exp = EXP_400_OR_SILENCE;
	} else if (!strcmp(name, "junk")) {
		static const char text[] = "hello there\r\nthis is: not SIP\r\n\r\n";
		uint32_t x = 12345;

		/* Pseudo-random binary, all zeros, high bytes after a printable one, and text
		 * that is not SIP: four datagrams. */
		for (int i = 0; !err && i < 1000; i++) {
			uint8_t b;

			x = x * 1103515245u + 12345u;
			b = (uint8_t)(x >> 16);
			err = mbuf_write(mb, &b, 1);
		}
		lens[0] = mb->end;
		for (int i = 0; !err && i < 512; i++)
			err = mbuf_write(mb, "", 1);
		lens[1] = 512;
		for (int i = 0; !err && i < 700; i++)
			err = mbuf_write(mb, i ? "\xfe" : "A", 1);
		lens[2] = 700;
		if (!err)
			err = mbuf_write_str(mb, text);
		lens[3] = sizeof(text) - 1;
		*nlens = 4;
		*exp = EXP_SILENCE;
		goto out;
	} else if (!strcmp(name, "empty")) {
		lens[0] = 0;
		*exp = EXP_SILENCE;
		goto out;
	} else if (!strcmp(name, "crlf")) {
		err = mbuf_write_str(mb, "\r\n\r\n");
		lens[0] = 4;
		if (!err)
			err = mbuf_write_str(mb, "\r\n");
		lens[1] = 2;
		*nlens = 2;
		*exp = EXP_SILENCE;
		goto out;
	} else {
		mbuf_reset(&ex);
		return EINVAL;
	}
	if (!err) {
		build_options(mb, "UDP", local, target, callid, 1, ex.buf, ex.end, NULL);
		lens[0] = mb->end;
	}
out:
	mbuf_reset(&ex);
	if (err)
		oom();
	return 0;
}

static int cmd_udp(const char *name, const struct sa *target)
{
	struct sa local;
	struct mbuf mb;
	struct resp r;
	char callid[64];
	size_t lens[4] = {0}, nlens = 0, off = 0, nother = 0;
	enum expect exp = EXP_SILENCE;
	int fd, err, rc = 1;

	err = udp_open(target, &local, &fd);
	if (err) {
		say("udp %s: socket: %s", name, strerror(err));
		return 1;
	}
	mbuf_init(&mb);
	new_callid(callid, sizeof(callid));
	if (udp_case(name, &local, target, callid, &mb, lens, &nlens, &exp)) {
		fprintf(stderr, "sipabuse: unknown udp case '%s'\n", name);
		exit(2);
	}
	for (size_t i = 0; i < nlens; i++) {
		if (send(fd, mb_at(&mb, off), lens[i], 0) < 0) {
			say("udp %s: send of %zu bytes: %s", name, lens[i], strerror(errno));
			goto out;
		}
		off += lens[i];
	}
	say("udp %s: sent %zu datagram(s), %zu bytes", name, nlens, off);
	if (exp == EXP_SILENCE) {
		err = udp_wait(fd, NULL, SILENCE_MS, &r, NULL);
		if (err == ETIMEDOUT) {
			say("udp %s: silence, as expected", name);
			rc = 0;
		} else if (err) {
			say("udp %s: socket error %s (is the server gone?)", name, strerror(err));
		} else {
			say("udp %s: expected silence, got %d %s", name, r.code, r.reason);
		}
		goto out;
	}
	err = udp_wait(fd, callid, exp == EXP_400 ? PROBE_MS : SILENCE_MS + 500, &r, &nother);
	if (nother)
		say("udp %s: %zu unrelated datagram(s) came back", name, nother);
	if (err == ETIMEDOUT) {
		say("udp %s: no answer", name);
		rc = exp == EXP_400_OR_SILENCE ? 0 : 1;
	} else if (err) {
		say("udp %s: socket error %s (is the server gone?)", name, strerror(err));
	} else if (r.code != 400) {
		say("udp %s: expected 400, got %d %s", name, r.code, r.reason);
	} else if (!r.reason_ok) {
		say("udp %s: 400 with an empty or unprintable reason phrase '%s'", name, r.reason);
	} else {
		say("udp %s: got 400 '%s'", name, r.reason);
		rc = 0;
	}
out:
	mbuf_reset(&mb);
	close(fd);
	return rc;
}

/* ---------------------------------------------------------------------------------------------
 * TCP
 */

struct tcp {
	int fd;
	struct sa local;
	struct mbuf in; /* what the server sent */
	size_t off;	/* start of the first message not yet returned */
	bool closed;	/* EOF or reset seen */
	int cerr;	/* the reset, 0 for a clean EOF */
};

static int tcp_open(struct tcp *c, const struct sa *target, int ms)
{
	socklen_t sl = sizeof(c->local.u);
	struct sa l;
	int one = 1, soerr = 0, err;

	memset(c, 0, sizeof(*c));
	mbuf_init(&c->in);
	c->fd = socket(sa_af(target), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return errno;
	local_any(&l, sa_af(target));
	if (bind(c->fd, &l.u.sa, l.len) < 0)
		goto fail;
	if (connect(c->fd, &target->u.sa, target->len) < 0) {
		struct pollfd pfd = {c->fd, POLLOUT, 0};

		if (errno != EINPROGRESS)
			goto fail;
		if (poll(&pfd, 1, ms) <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		sl = sizeof(soerr);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			goto fail;
		if (soerr) {
			errno = soerr;
			goto fail;
		}
	}
	sl = sizeof(c->local.u);
	if (getsockname(c->fd, &c->local.u.sa, &sl) < 0)
		goto fail;
	c->local.len = sl;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
fail:
	err = errno;
	close(c->fd);
	c->fd = -1;
	return err;
}

static void tcp_close(struct tcp *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	mbuf_reset(&c->in);
}

/* Sends everything before the deadline: 0, ETIMEDOUT, or the error (EPIPE, ECONNRESET when
 * the server has closed). */
static int tcp_send(struct tcp *c, const void *p, size_t len, uint64_t deadline)
{
	const uint8_t *b = p;
	size_t off = 0;

	for (int i = 0; off < len && i < 100000; i++) {
		ssize_t n = send(c->fd, b + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return errno;
		struct pollfd pfd = {c->fd, POLLOUT, 0};
		if (poll(&pfd, 1, left_ms(deadline)) == 0)
			return ETIMEDOUT;
	}
	return off == len ? 0 : ETIMEDOUT;
}

/* Reads what is there (waiting until the deadline for something): 0 when bytes came, EOF or
 * reset recorded in c->closed, ETIMEDOUT. */
static int tcp_read(struct tcp *c, uint64_t deadline)
{
	uint8_t buf[READ_CHUNK];

	for (int i = 0; i < 100000 && !c->closed; i++) {
		struct pollfd pfd = {c->fd, POLLIN, 0};
		ssize_t n;
		int pn = poll(&pfd, 1, left_ms(deadline));

		if (pn < 0 && errno == EINTR)
			continue;
		if (pn <= 0)
			return ETIMEDOUT;
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			if (c->in.end < RX_KEEP && mbuf_write(&c->in, buf, (size_t)n))
				oom();
			return 0;
		}
		if (n == 0) {
			c->closed = true;
			return 0;
		}
		if (errno == EAGAIN || errno == EINTR)
			continue;
		c->closed = true;
		c->cerr = errno;
		return 0;
	}
	return c->closed ? 0 : ETIMEDOUT;
}

/* The next whole message from the server: 0 with *r, EPIPE when it closed first, EBADMSG when
 * its stream cannot be framed, ETIMEDOUT. */
static int tcp_next(struct tcp *c, uint64_t deadline, struct resp *r)
{
	for (int i = 0; i < 100000; i++) {
		size_t start = 0, used = 0;
		int err = stream_frame(mb_at(&c->in, c->off), c->in.end - c->off, &start, &used);

		if (!err) {
			if (resp_parse(mb_at(&c->in, c->off + start), used - start, r))
				err = EBADMSG;
			c->off += used;
			return err;
		}
		if (err != ENODATA)
			return err;
		if (c->closed)
			return EPIPE;
		if (tcp_read(c, deadline))
			return ETIMEDOUT;
	}
	return ETIMEDOUT;
}

/* Waits for the server to close (reading and keeping what it sends): true when it did. */
static bool tcp_wait_closed(struct tcp *c, uint64_t deadline)
{
	for (int i = 0; i < 100000 && !c->closed; i++) {
		if (tcp_read(c, deadline))
			return false;
	}
	return c->closed;
}

/* Describes what the server sent before closing, and returns how many 2xx it holds. */
static int tcp_report_rest(struct tcp *c, const char *what)
{
	struct resp r;
	int n2xx = 0;

	for (int i = 0; i < 1000; i++) {
		size_t start = 0, used = 0;

		if (stream_frame(mb_at(&c->in, c->off), c->in.end - c->off, &start, &used)) {
			if (c->in.end > c->off)
				say("%s: %zu more byte(s) that are not a whole message", what,
				    c->in.end - c->off);
			break;
		}
		if (resp_parse(mb_at(&c->in, c->off + start), used - start, &r)) {
			say("%s: got a message that is not a response", what);
		} else {
			say("%s: got %d %s", what, r.code, r.reason);
			if (r.code >= 200 && r.code < 300)
				n2xx++;
		}
		c->off += used;
	}
	return n2xx;
}

static const char *closed_how(const struct tcp *c)
{
	return c->cerr ? strerror(c->cerr) : "EOF";
}

/* One OPTIONS on a new connection: 0 when 200 came, EPIPE when the server closed instead,
 * ETIMEDOUT when neither happened, or a connect error. */
static int tcp_probe_once(const struct sa *target, int ms, const char *what)
{
	uint64_t deadline = now_ms() + (uint64_t)ms;
	struct tcp c;
	struct mbuf mb;
	struct resp r;
	char callid[64];
	int err;

	err = tcp_open(&c, target, ms);
	if (err) {
		say("%s: connect: %s", what, strerror(err));
		return err;
	}
	mbuf_init(&mb);
	new_callid(callid, sizeof(callid));
	build_options(&mb, "TCP", &c.local, target, callid, 1, NULL, 0, NULL);
	err = tcp_send(&c, mb.buf, mb.end, deadline);
	mbuf_reset(&mb);
	if (err == EPIPE || err == ECONNRESET) {
		say("%s: connection closed by the server while sending", what);
		err = EPIPE;
		goto out;
	}
	if (err) {
		say("%s: send: %s", what, strerror(err));
		goto out;
	}
	err = tcp_next(&c, deadline, &r);
	if (err == EPIPE) {
		say("%s: connection closed by the server (%s) without an answer", what,
		    closed_how(&c));
	} else if (err) {
		say("%s: no answer: %s", what, strerror(err));
	} else if (r.code != 200 || strcmp(r.callid, callid)) {
		say("%s: got %d %s (Call-ID %s) instead of 200", what, r.code, r.reason, r.callid);
		err = EPROTO;
	}
out:
	tcp_close(&c);
	return err;
}

static int cmd_probe(const struct sa *target, const char *tp)
{
	if (!strcmp(tp, "udp")) {
		if (udp_probe(target, PROBE_MS))
			return 1;
		say("probe udp: 200");
		return 0;
	}
	if (tcp_probe_once(target, PROBE_MS, "probe tcp"))
		return 1;
	say("probe tcp: 200");
	return 0;
}

/* Several OPTIONS in one write: as many 200s, each for its own Call-ID. */
static int cmd_tcp_pipeline(const struct sa *target, int n)
{
	uint64_t deadline;
	struct tcp c;
	struct mbuf mb;
	char (*ids)[64];
	bool *seen;
	int err, got = 0, rc = 1;

	if (n < 1 || n > 100)
		n = 5;
	err = tcp_open(&c, target, PROBE_MS);
	if (err) {
		say("tcp-pipeline: connect: %s", strerror(err));
		return 1;
	}
	ids = calloc((size_t)n, sizeof(*ids));
	seen = calloc((size_t)n, sizeof(*seen));
	if (!ids || !seen)
		oom();
	mbuf_init(&mb);
	for (int i = 0; i < n; i++) {
		new_callid(ids[i], sizeof(ids[i]));
		build_options(&mb, "TCP", &c.local, target, ids[i], (unsigned)i + 1, NULL, 0, NULL);
	}
	deadline = now_ms() + 3000;
	/* One send(): with TCP_NODELAY and a few KB, the server reads them all at once. */
	err = tcp_send(&c, mb.buf, mb.end, deadline);
	say("tcp-pipeline: %d OPTIONS in one write of %zu bytes", n, mb.end);
	mbuf_reset(&mb);
	if (err) {
		say("tcp-pipeline: send: %s", strerror(err));
		goto out;
	}
	for (int k = 0; k < n; k++) {
		struct resp r;
		int j;

		err = tcp_next(&c, deadline, &r);
		if (err) {
			say("tcp-pipeline: after %d answer(s): %s", got,
			    err == EPIPE ? "connection closed" : strerror(err));
			goto out;
		}
		for (j = 0; j < n && strcmp(ids[j], r.callid); j++)
			;
		if (j == n || seen[j] || r.code != 200) {
			say("tcp-pipeline: unexpected %d %s (Call-ID %s)", r.code, r.reason,
			    r.callid);
			goto out;
		}
		seen[j] = true;
		got++;
	}
	say("tcp-pipeline: %d 200s, one per request", got);
	rc = 0;
out:
	free(ids);
	free(seen);
	tcp_close(&c);
	return rc;
}

/* One OPTIONS in 1-byte writes, then two more whose boundaries fall in the middle of writes. */
static int cmd_tcp_split(const struct sa *target)
{
	uint64_t deadline;
	struct tcp c;
	struct mbuf a, bc;
	char ids[3][64];
	size_t alen, k1, k2;
	int err, rc = 1;

	err = tcp_open(&c, target, PROBE_MS);
	if (err) {
		say("tcp-split: connect: %s", strerror(err));
		return 1;
	}
	mbuf_init(&a);
	mbuf_init(&bc);
	for (int i = 0; i < 3; i++)
		new_callid(ids[i], sizeof(ids[i]));
	build_options(&a, "TCP", &c.local, target, ids[0], 1, NULL, 0, NULL);
	build_options(&bc, "TCP", &c.local, target, ids[1], 2, NULL, 0, NULL);
	alen = bc.end;
	build_options(&bc, "TCP", &c.local, target, ids[2], 3, NULL, 0, NULL);
	deadline = now_ms() + 10000;
	for (size_t i = 0; i < a.end && !err; i++) {
		err = tcp_send(&c, a.buf + i, 1, deadline);
		sleep_ms(2);
	}
	/* Writes: [B/2] [B/2 .. B + C/3] [the rest] */
	k1 = alen / 2;
	k2 = alen + (bc.end - alen) / 3;
	if (!err)
		err = tcp_send(&c, bc.buf, k1, deadline);
	sleep_ms(50);
	if (!err)
		err = tcp_send(&c, bc.buf + k1, k2 - k1, deadline);
	sleep_ms(50);
	if (!err)
		err = tcp_send(&c, bc.buf + k2, bc.end - k2, deadline);
	say("tcp-split: %zu one-byte writes, then %zu bytes in 3 writes splitting 2 messages",
	    a.end, bc.end);
	mbuf_reset(&a);
	mbuf_reset(&bc);
	if (err) {
		say("tcp-split: send: %s", strerror(err));
		goto out;
	}
	deadline = now_ms() + 3000;
	for (int i = 0; i < 3; i++) {
		struct resp r;

		err = tcp_next(&c, deadline, &r);
		if (err) {
			say("tcp-split: answer %d: %s", i + 1,
			    err == EPIPE ? "connection closed" : strerror(err));
			goto out;
		}
		if (r.code != 200 || strcmp(r.callid, ids[i])) {
			say("tcp-split: answer %d: %d %s (Call-ID %s), expected 200 for %s", i + 1,
			    r.code, r.reason, r.callid, ids[i]);
			goto out;
		}
	}
	say("tcp-split: three 200s in order");
	rc = 0;
out:
	tcp_close(&c);
	return rc;
}

/* Sends `msg`, then requires the server to close within CLOSE_MS, with no 2xx before; when
 * want400, a 400 with a printable reason must come first. */
static int tcp_expect_close(const struct sa *target, const char *what, const struct mbuf *msg,
			    bool want400)
{
	uint64_t deadline = now_ms() + CLOSE_MS;
	struct tcp c;
	struct resp r;
	int err, rc = 1;

	err = tcp_open(&c, target, PROBE_MS);
	if (err) {
		say("%s: connect: %s", what, strerror(err));
		return 1;
	}
	err = tcp_send(&c, msg->buf, msg->end, deadline);
	if (err == EPIPE || err == ECONNRESET) {
		say("%s: closed by the server while we were still sending (%s)", what,
		    strerror(err));
		c.closed = true;
	} else if (err) {
		say("%s: send: %s", what, strerror(err));
		goto out;
	} else {
		say("%s: sent %zu bytes", what, msg->end);
	}
	if (want400) {
		err = tcp_next(&c, deadline, &r);
		if (err) {
			say("%s: no 400 before %s", what,
			    err == EPIPE ? "the connection closed" : strerror(err));
			goto out;
		}
		if (r.code != 400 || !r.reason_ok) {
			say("%s: expected 400 with a reason phrase, got %d '%s'", what, r.code,
			    r.reason);
			goto out;
		}
		say("%s: got 400 '%s'", what, r.reason);
	}
	if (!tcp_wait_closed(&c, deadline)) {
		say("%s: connection still open after %d ms", what, CLOSE_MS);
		tcp_report_rest(&c, what);
		goto out;
	}
	say("%s: connection closed by the server (%s)", what, closed_how(&c));
	if (tcp_report_rest(&c, what)) {
		say("%s: a 2xx for bad input", what);
		goto out;
	}
	rc = 0;
out:
	tcp_close(&c);
	return rc;
}

static int cmd_tcp_bighdr(const struct sa *target)
{
	struct sa local;
	struct mbuf ex, mb;
	char callid[64];
	int err = 0, rc;

	/* 70 header lines of 1000 bytes: the header section alone is over 64 KiB. */
	mbuf_init(&ex);
	mbuf_init(&mb);
	for (int i = 0; !err && i < 70; i++) {
		err = mbuf_printf(&ex, "X-Pad-%02d: ", i);
		for (int j = 0; !err && j < 990; j++)
			err = mbuf_write(&ex, "p", 1);
		if (!err)
			err = mbuf_write_str(&ex, "\r\n");
	}
	if (err)
		oom();
	local_any(&local, sa_af(target));
	new_callid(callid, sizeof(callid));
	build_options(&mb, "TCP", &local, target, callid, 1, ex.buf, ex.end, NULL);
	rc = tcp_expect_close(target, "tcp-bighdr", &mb, false);
	mbuf_reset(&ex);
	mbuf_reset(&mb);
	return rc;
}

static int cmd_tcp_clen(const struct sa *target, const char *clen, const char *what, bool want400)
{
	struct sa local;
	struct mbuf mb;
	char callid[64];
	int rc;

	mbuf_init(&mb);
	local_any(&local, sa_af(target));
	new_callid(callid, sizeof(callid));
	build_options(&mb, "TCP", &local, target, callid, 1, NULL, 0, clen);
	rc = tcp_expect_close(target, what, &mb, want400);
	mbuf_reset(&mb);
	return rc;
}

static int cmd_tcp_junk(const struct sa *target)
{
	struct mbuf mb;
	uint32_t x = 777;
	int err = 0, rc;

	/* Binary with NULs, ending in CRLFCRLF so that even a parser waiting for the end of a
	 * header section has one: the server must give up on the connection. */
	mbuf_init(&mb);
	for (int i = 0; !err && i < 2000; i++) {
		uint8_t b;

		x = x * 1103515245u + 12345u;
		b = (uint8_t)(x >> 16);
		err = mbuf_write(&mb, &b, 1);
	}
	if (!err)
		err = mbuf_write_str(&mb, "\r\n\r\n");
	if (err)
		oom();
	rc = tcp_expect_close(target, "tcp-junk", &mb, false);
	mbuf_reset(&mb);
	return rc;
}

/* NUL in a header name over TCP: 400, silence or a close are fine; a 2xx is not. */
static int cmd_tcp_nul(const struct sa *target)
{
	uint64_t deadline;
	struct tcp c;
	struct mbuf mb;
	struct resp r;
	char callid[64];
	int err, rc = 1;

	err = tcp_open(&c, target, PROBE_MS);
	if (err) {
		say("tcp-nul: connect: %s", strerror(err));
		return 1;
	}
	mbuf_init(&mb);
	new_callid(callid, sizeof(callid));
	build_options(&mb, "TCP", &c.local, target, callid, 1, "X-Ab\0use: 1\r\n", 13, NULL);
	deadline = now_ms() + SILENCE_MS + 500;
	err = tcp_send(&c, mb.buf, mb.end, deadline);
	mbuf_reset(&mb);
	if (err && err != EPIPE && err != ECONNRESET) {
		say("tcp-nul: send: %s", strerror(err));
		goto out;
	}
	err = tcp_next(&c, deadline, &r);
	if (err == ETIMEDOUT) {
		say("tcp-nul: no answer (connection still open)");
		rc = 0;
	} else if (err == EPIPE) {
		say("tcp-nul: connection closed without an answer (%s)", closed_how(&c));
		rc = 0;
	} else if (err) {
		say("tcp-nul: %s", strerror(err));
	} else if (r.code == 400 && r.reason_ok) {
		say("tcp-nul: got 400 '%s'", r.reason);
		rc = 0;
	} else {
		say("tcp-nul: expected 400, silence or a close, got %d '%s'", r.code, r.reason);
	}
out:
	tcp_close(&c);
	return rc;
}

/* Half a message then a close; then a header section promising a body that never comes, then a
 * close. Nothing to read back: the liveness probe after it is the check. */
static int cmd_tcp_truncated(const struct sa *target)
{
	uint64_t deadline = now_ms() + 3000;
	struct tcp c;
	struct mbuf mb;
	char callid[64];
	int err;

	for (int round = 0; round < 2; round++) {
		err = tcp_open(&c, target, PROBE_MS);
		if (err) {
			say("tcp-truncated: connect: %s", strerror(err));
			return 1;
		}
		mbuf_init(&mb);
		new_callid(callid, sizeof(callid));
		build_options(&mb, "TCP", &c.local, target, callid, 1, NULL, 0,
			      round ? "Content-Length: 100" : NULL);
		if (round == 0)
			err = tcp_send(&c, mb.buf, mb.end / 2, deadline);
		else if (!(err = tcp_send(&c, mb.buf, mb.end, deadline)))
			err = tcp_send(&c, "0123456789", 10, deadline);
		mbuf_reset(&mb);
		sleep_ms(100);
		tcp_close(&c);
		if (err) {
			say("tcp-truncated: send: %s", strerror(err));
			return 1;
		}
	}
	say("tcp-truncated: sent half a message and a short body, each followed by a close");
	return 0;
}

/* A connection that never sends: the server must keep answering others meanwhile. */
static int cmd_tcp_idle(const struct sa *target, int hold_s)
{
	uint64_t t0 = now_ms();
	struct tcp c;
	int err, rc = 0;

	err = tcp_open(&c, target, PROBE_MS);
	if (err) {
		say("tcp-idle: connect: %s", strerror(err));
		return 1;
	}
	if (hold_s < 0 || hold_s > 600)
		hold_s = 1;
	for (int i = 0; i <= hold_s; i++) {
		if (udp_probe(target, PROBE_MS))
			rc = 1;
		else if (tcp_probe_once(target, PROBE_MS, "tcp-idle probe"))
			rc = 1;
		if (rc || i == hold_s)
			break;
		sleep_ms(1000);
	}
	say("tcp-idle: UDP and TCP probes %s while a silent connection was open",
	    rc ? "FAILED" : "answered");
	(void)tcp_read(&c, now_ms());
	say("tcp-idle: silent connection %s after %llu ms (idle timeout not waited for)",
	    c.closed ? "closed by the server" : "still open",
	    (unsigned long long)(now_ms() - t0));
	tcp_close(&c);
	return rc;
}

/* Half a message, then nothing: the server must drop the connection within max_s. */
static int cmd_tcp_stall(const struct sa *target, int max_s)
{
	uint64_t t0 = now_ms(), deadline;
	struct tcp c;
	struct mbuf mb;
	char callid[64];
	int err, rc = 1;

	if (max_s < 1 || max_s > 600)
		max_s = 60;
	err = tcp_open(&c, target, PROBE_MS);
	if (err) {
		say("tcp-stall: connect: %s", strerror(err));
		return 1;
	}
	mbuf_init(&mb);
	new_callid(callid, sizeof(callid));
	build_options(&mb, "TCP", &c.local, target, callid, 1, NULL, 0, NULL);
	deadline = t0 + (uint64_t)max_s * 1000;
	err = tcp_send(&c, mb.buf, mb.end / 2, deadline);
	mbuf_reset(&mb);
	if (err) {
		say("tcp-stall: send: %s", strerror(err));
		goto out;
	}
	if (!tcp_wait_closed(&c, deadline)) {
		say("tcp-stall: half a message, connection still open after %d s", max_s);
		goto out;
	}
	say("tcp-stall: half a message, closed by the server after %llu ms (%s)",
	    (unsigned long long)(now_ms() - t0), closed_how(&c));
	tcp_report_rest(&c, "tcp-stall");
	rc = 0;
out:
	tcp_close(&c);
	return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Flood: n connections that connect and never send, held open from this one process.
 */

static void raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : MIN(want, rl.rlim_max);
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

static size_t nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return FLOOD_MAX;
	return rl.rlim_cur;
}

/* Counts the connections the server has closed (EOF or reset readable now). */
static size_t flood_closed(const int *fds, size_t n)
{
	size_t closed = 0;

	for (size_t i = 0; i < n; i++) {
		struct pollfd pfd = {fds[i], POLLIN | POLLRDHUP, 0};
		char b;
		ssize_t r;

		if (fds[i] < 0 || poll(&pfd, 1, 0) <= 0)
			continue;
		r = recv(fds[i], &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			closed++;
	}
	return closed;
}

static int cmd_flood(const struct sa *target, long nreq)
{
	size_t n = (size_t)(nreq > 0 && nreq <= FLOOD_MAX ? nreq : 2000);
	size_t opened = 0, connected = 0, failed = 0, pending, closed;
	struct pollfd *pfds;
	uint64_t deadline, t0;
	size_t *idx;
	signed char *state; /* per socket: 0 connecting, 1 connected, -1 failed */
	const char *udp_during = "ok", *tcp_during = "ok", *tcp_after = "ok", *udp_after = "ok";
	int *fds, rc = 0, err = 0;
	struct sa l;

	raise_nofile(n + 64);
	if (nofile() < n + 32) {
		say("flood: RLIMIT_NOFILE only allows %zu descriptors; flooding with fewer",
		    nofile());
		n = nofile() > 64 ? nofile() - 32 : 1;
	}
	fds = calloc(n, sizeof(*fds));
	pfds = calloc(n, sizeof(*pfds));
	idx = calloc(n, sizeof(*idx));
	state = calloc(n, sizeof(*state));
	if (!fds || !pfds || !idx || !state)
		oom();
	local_any(&l, sa_af(target));
	t0 = now_ms();
	for (size_t i = 0; i < n; i++) {
		fds[i] = socket(sa_af(target), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[i] < 0) {
			say("flood: socket %zu: %s", i, strerror(errno));
			break;
		}
		opened++;
		if (bind(fds[i], &l.u.sa, l.len) < 0 ||
		    (connect(fds[i], &target->u.sa, target->len) < 0 && errno != EINPROGRESS)) {
			if (!failed)
				say("flood: connect %zu: %s", i, strerror(errno));
			close(fds[i]);
			fds[i] = -1;
			failed++;
		}
	}
	/* Wait until every handshake is done (the kernel completes them even before accept). */
	deadline = now_ms() + 10000;
	pending = opened - failed;
	for (int round = 0; pending && round < 1000 && left_ms(deadline) > 0; round++) {
		size_t np = 0;

		for (size_t i = 0; i < opened; i++) {
			if (fds[i] >= 0 && !state[i]) {
				pfds[np] = (struct pollfd){fds[i], POLLOUT, 0};
				idx[np++] = i;
			}
		}
		if (poll(pfds, np, MIN(left_ms(deadline), 500)) < 0 && errno != EINTR)
			break;
		for (size_t k = 0; k < np; k++) {
			int soerr = 0;
			socklen_t sl = sizeof(soerr);

			if (!pfds[k].revents)
				continue;
			if (getsockopt(pfds[k].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
				soerr = errno;
			state[idx[k]] = soerr ? -1 : 1;
			pending--;
		}
	}
	for (size_t i = 0; i < opened; i++) {
		if (fds[i] >= 0 && state[i] == 1) {
			connected++;
		} else if (fds[i] >= 0) { /* failed, or never finished connecting */
			close(fds[i]);
			fds[i] = -1;
		}
	}
	say("flood: %zu connections attempted, %zu established, %zu failed, in %llu ms", opened,
	    connected, opened - connected, (unsigned long long)(now_ms() - t0));
	if (connected < n / 2) {
		say("flood: too few connections established to be a flood");
		rc = 1;
	}
	sleep_ms(1500); /* let the server accept (and perhaps refuse) them */
	closed = flood_closed(fds, opened);
	say("flood: %zu of them closed by the server (connection cap), %zu held open", closed,
	    connected - closed);

	/* While the flood is held: UDP must answer; TCP must answer or refuse promptly (a
	 * connection left waiting in the listen backlog is a hang to its peer). */
	if (udp_probe(target, PROBE_MS)) {
		say("flood: UDP probe during the flood FAILED");
		udp_during = "fail";
	}
	err = tcp_probe_once(target, 3000, "flood tcp probe");
	if (!err) {
		say("flood: TCP probe during the flood: 200");
	} else if (err == EPIPE || err == ECONNRESET || err == ECONNREFUSED) {
		say("flood: TCP probe during the flood refused (connection cap): closed promptly");
		tcp_during = "refused";
	} else {
		say("flood: TCP probe during the flood neither answered nor refused within 3 s: %s",
		    strerror(err));
		tcp_during = "hang";
	}
	for (size_t i = 0; i < opened; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	say("flood: closed all flood connections");

	/* Afterwards TCP must work again within a few seconds. */
	deadline = now_ms() + 6000;
	err = ETIMEDOUT;
	for (int i = 0; i < 6 && left_ms(deadline) > 0; i++) {
		err = tcp_probe_once(target, MIN(PROBE_MS, left_ms(deadline)),
				     "flood tcp probe after");
		if (!err)
			break;
		sleep_ms(300);
	}
	if (err) {
		say("flood: TCP probe after the flood FAILED");
		tcp_after = "fail";
	} else {
		say("flood: TCP probe after the flood: 200");
	}
	if (udp_probe(target, PROBE_MS)) {
		say("flood: UDP probe after the flood FAILED");
		udp_after = "fail";
	}
	/* One machine-readable line for the script, which turns each part into a check. */
	printf("flood-result established=%s udp-during=%s tcp-during=%s tcp-after=%s "
	       "udp-after=%s\n",
	       rc ? "too-few" : "ok", udp_during, tcp_during, tcp_after, udp_after);
	if (strcmp(udp_during, "ok") || !strcmp(tcp_during, "hang") || strcmp(tcp_after, "ok") ||
	    strcmp(udp_after, "ok"))
		rc = 1;
	free(fds);
	free(pfds);
	free(idx);
	free(state);
	return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Command line
 */

static void usage(void)
{
	fprintf(stderr,
		"usage: sipabuse probe ADDR:PORT [udp|tcp]\n"
		"       sipabuse udp CASE ADDR:PORT   CASE: bigheader manyheaders nul-startline\n"
		"                                      nul-hdrname nul-value junk empty crlf\n"
		"       sipabuse tcp-pipeline ADDR:PORT [N]\n"
		"       sipabuse tcp-split|tcp-bighdr|tcp-badclen|tcp-hugeclen|tcp-junk|tcp-nul|\n"
		"                tcp-truncated ADDR:PORT\n"
		"       sipabuse tcp-idle ADDR:PORT [HOLD_S]\n"
		"       sipabuse tcp-stall ADDR:PORT [MAX_S]\n"
		"       sipabuse flood ADDR:PORT [N]\n"
		"exit status 0 when the server behaved, 1 when not, 2 on usage errors\n");
	exit(2);
}

static void target_parse(const char *s, struct sa *sa)
{
	if (sa_decode(sa, s, 5060)) {
		fprintf(stderr, "sipabuse: '%s' is not ADDR:PORT\n", s);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	const char *cmd;
	struct sa target;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "udp")) {
		if (argc != 4)
			usage();
		target_parse(argv[3], &target);
		return cmd_udp(argv[2], &target);
	}
	target_parse(argv[2], &target);
	if (!strcmp(cmd, "probe"))
		return cmd_probe(&target, argc > 3 ? argv[3] : "udp");
	if (!strcmp(cmd, "tcp-pipeline"))
		return cmd_tcp_pipeline(&target, argc > 3 ? atoi(argv[3]) : 5);
	if (!strcmp(cmd, "tcp-split"))
		return cmd_tcp_split(&target);
	if (!strcmp(cmd, "tcp-bighdr"))
		return cmd_tcp_bighdr(&target);
	if (!strcmp(cmd, "tcp-badclen"))
		return cmd_tcp_clen(&target, "Content-Length: abc", "tcp-badclen", true);
	if (!strcmp(cmd, "tcp-hugeclen"))
		return cmd_tcp_clen(&target, "Content-Length: 1000000", "tcp-hugeclen", false);
	if (!strcmp(cmd, "tcp-junk"))
		return cmd_tcp_junk(&target);
	if (!strcmp(cmd, "tcp-nul"))
		return cmd_tcp_nul(&target);
	if (!strcmp(cmd, "tcp-truncated"))
		return cmd_tcp_truncated(&target);
	if (!strcmp(cmd, "tcp-idle"))
		return cmd_tcp_idle(&target, argc > 3 ? atoi(argv[3]) : 1);
	if (!strcmp(cmd, "tcp-stall"))
		return cmd_tcp_stall(&target, argc > 3 ? atoi(argv[3]) : 60);
	if (!strcmp(cmd, "flood"))
		return cmd_flood(&target, argc > 3 ? atol(argv[3]) : 2000);
	usage();
	return 2;
}
