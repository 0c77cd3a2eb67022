/* bench_webload: the web console's HTTP client for bench/web.sh. One keep-alive connection, GET
 * requests with a bearer token, each answer read whole (Content-Length). Two modes:
 *
 *   bench_webload ADDR PORT TOKEN hammer SECONDS MAXREQ RPS STOPFILE PATH...
 *     requests the PATHs in turn, back to back (RPS 0) or paced at RPS, until SECONDS pass,
 *     MAXREQ are done or STOPFILE exists; prints webload_requests, webload_failed (not 200 or no
 *     answer), webload_secs, webload_rps.
 *   bench_webload ADDR PORT TOKEN time N PATH [BODYFILE]
 *     N sequential requests for PATH, each timed from the first byte sent to the last byte of the
 *     body read; prints webload_p50_us, webload_p99_us, webload_max_us, webload_mean_us,
 *     webload_bytes (of the last answer), webload_failed; the last body goes to BODYFILE.
 *
 * Bounded: every read waits at most 5 s, and both modes stop at their count. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUF_MAX (4 * 1024 * 1024) /* the largest answer read (a /metrics of many phones) */

struct conn {
	const char *addr;
	int port;
	int fd;
	char *buf;
	size_t len; /* bytes in buf */
	unsigned reconnects;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int conn_open(struct conn *c)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
	int one = 1;

	if (c->fd >= 0)
		close(c->fd);
	c->len = 0;
	if (inet_pton(AF_INET, c->addr, &sin.sin_addr) != 1)
		return EINVAL;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin))) {
		int e = errno;

		close(c->fd);
		c->fd = -1;
		return e;
	}
	return 0;
}

/* Reads more into c->buf within 5 s; 0, or an errno value (EPIPE: closed). */
static int conn_fill(struct conn *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	ssize_t n;

	if (c->len >= BUF_MAX)
		return EMSGSIZE;
	if (poll(&p, 1, 5000) != 1)
		return ETIMEDOUT;
	n = read(c->fd, c->buf + c->len, BUF_MAX - c->len);
	if (n <= 0)
		return n == 0 ? EPIPE : errno;
	c->len += (size_t)n;
	return 0;
}

/* One GET; *status and the body (in c->buf at *body, *blen bytes). */
static int conn_get(struct conn *c, const char *path, const char *token, int *status,
		    const char **body, size_t *blen)
{
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", path,
			 c->addr, token);
	size_t head = 0, clen = 0;
	const char *e, *cl;
	int err;

	if (n < 0 || (size_t)n >= sizeof(req))
		return EINVAL;
	if (c->fd < 0 && (err = conn_open(c)))
		return err;
	if (write(c->fd, req, (size_t)n) != n)
		return EPIPE;
	c->len = 0;
	for (;;) {
		c->buf[c->len] = '\0';
		e = c->len ? strstr(c->buf, "\r\n\r\n") : NULL;
		if (e) {
			head = (size_t)(e - c->buf) + 4;
			break;
		}
		if ((err = conn_fill(c)))
			return err;
	}
	if (sscanf(c->buf, "HTTP/1.%*d %d", status) != 1)
		return EPROTO;
	for (cl = c->buf; cl && cl < c->buf + head; cl = strchr(cl, '\n')) {
		cl += *cl == '\n';
		if (!strncasecmp(cl, "content-length:", 15)) {
			clen = strtoul(cl + 15, NULL, 10);
			break;
		}
	}
	while (c->len < head + clen)
		if ((err = conn_fill(c)))
			return err;
	*body = c->buf + head;
	*blen = clen;
	return 0;
}

/* A GET that survives one close of the keep-alive connection (the server's idle timeout). */
static int get(struct conn *c, const char *path, const char *token, int *status, const char **body,
	       size_t *blen)
{
	int err = conn_get(c, path, token, status, body, blen);

	if (err == EPIPE || err == ECONNRESET) {
		c->reconnects++;
		close(c->fd);
		c->fd = -1;
		err = conn_get(c, path, token, status, body, blen);
	}
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int hammer(struct conn *c, const char *token, int argc, char **argv)
{
	double secs = atof(argv[0]), rps = atof(argv[2]), t0 = now_us(), t;
	unsigned long max = strtoul(argv[1], NULL, 10), done = 0, failed = 0;
	const char *stop = argv[3], *body;
	struct stat stt;
	size_t blen;
	int status;

	for (t = t0; done < max && t - t0 < secs * 1e6; t = now_us()) {
		if (done % 64 == 0 && !stat(stop, &stt))
			break;
		if (rps > 0) {
			double due = t0 + (double)done * 1e6 / rps;

			if (due > t)
				usleep((useconds_t)(due - t));
		}
		if (get(c, argv[4 + done % (unsigned long)(argc - 4)], token, &status, &body,
			&blen) ||
		    status != 200)
			failed++;
		done++;
	}
	t = (now_us() - t0) / 1e6;
	printf("webload_requests %lu\nwebload_failed %lu\nwebload_secs %.2f\nwebload_rps %.0f\n"
	       "webload_reconnects %u\n",
	       done, failed, t, t > 0 ? (double)done / t : 0, c->reconnects);
	return 0;
}

static int timed(struct conn *c, const char *token, int argc, char **argv)
{
	unsigned long n = strtoul(argv[0], NULL, 10), failed = 0;
	double *lat = calloc(n ? n : 1, sizeof(double)), sum = 0;
	const char *body = NULL;
	size_t blen = 0;
	int status = 0;

	if (!lat || !n)
		return 2;
	/* one request first: the connection is open and the server's code paged in */
	if (get(c, argv[1], token, &status, &body, &blen))
		failed++;
	for (unsigned long i = 0; i < n; i++) {
		double t0 = now_us();

		if (get(c, argv[1], token, &status, &body, &blen) || status != 200)
			failed++;
		lat[i] = now_us() - t0;
		sum += lat[i];
	}
	qsort(lat, n, sizeof(double), cmp_double);
	printf("webload_p50_us %.0f\nwebload_p99_us %.0f\nwebload_max_us %.0f\n"
	       "webload_mean_us %.0f\nwebload_bytes %zu\nwebload_failed %lu\n",
	       lat[n / 2], lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], lat[n - 1],
	       sum / (double)n, blen, failed);
	if (argc > 2 && body) {
		FILE *f = fopen(argv[2], "w");

		if (f) {
			fwrite(body, 1, blen, f);
			fclose(f);
		}
	}
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	struct conn c = {.fd = -1};
	int rc;

	if (argc < 6 || (strcmp(argv[4], "hammer") && strcmp(argv[4], "time")) ||
	    (!strcmp(argv[4], "hammer") && argc < 10) || (!strcmp(argv[4], "time") && argc < 7)) {
		fprintf(stderr,
			"usage: %s ADDR PORT TOKEN hammer SECONDS MAXREQ RPS STOPFILE PATH...\n"
			"       %s ADDR PORT TOKEN time N PATH [BODYFILE]\n",
			argv[0], argv[0]);
		return 2;
	}
	c.addr = argv[1];
	c.port = atoi(argv[2]);
	c.buf = malloc(BUF_MAX + 1);
	if (!c.buf)
		return 1;
	rc = !strcmp(argv[4], "hammer") ? hammer(&c, argv[3], argc - 5, argv + 5)
					: timed(&c, argv[3], argc - 5, argv + 5);
	if (c.fd >= 0)
		close(c.fd);
	free(c.buf);
	return rc;
}
