/* bench_tls: the SIP-over-TLS load tool (Debian's SIPp has no TLS): N persistent TLS connections
 * each REGISTER with MD5 digest (REGISTER, 401, REGISTER with credentials, 200) over and over.
 * Prints "name value" lines: tls_handshakes_per_sec (full handshakes, CONC at a time, on their
 * own), tls_conns, tls_regs_per_sec (over the open connections, handshakes excluded), tls_regs_ok,
 * tls_regs_failed, and with -P the servers' memory: tls_anon_bytes_per_conn and
 * tls_pss_bytes_per_conn (growth of RssAnon / Pss, summed over the PIDs, from before the first
 * connection to the connections open, handshaken and idle, divided by them), tls_*_per_reg_conn
 * (the same once each connection has registered).
 * Usage: bench_tls -a ADDR -p PORT [-s SRCADDR] [-n CONNS] [-c CONC] [-m REGS] [-t SECS]
 *        [-u FIRSTUSER] [-w PASSWORD] [-P PID[,PID...]] */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_READY, C_WAIT401, C_WAIT200, C_DEAD };

struct conn {
	int fd;
	SSL *ssl;
	enum cstate st;
	unsigned user;
	unsigned seq;
	char in[8192];
	size_t inl;
	char out[2048];
	size_t outl;
};

static const char *o_addr = "127.0.0.1", *o_src, *o_pw = "pw", *o_pids;
static unsigned o_port = 5061, o_n = 1000, o_conc = 50, o_regs = 100000, o_secs = 15,
		o_user0 = 100000;
static struct sockaddr_in dst;
static int ep;
static SSL_CTX *ctx;
static unsigned long regs_ok, regs_failed;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sums a "Key: N kB" line of /proc/PID/FILE over the comma-separated PIDs (KiB). */
static long mem_kib(const char *file, const char *key)
{
	char list[512], path[64], line[256];
	long sum = 0;

	if (!o_pids)
		return -1;
	snprintf(list, sizeof(list), "%s", o_pids);
	for (char *save = NULL, *p = strtok_r(list, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		snprintf(path, sizeof(path), "/proc/%s/%s", p, file);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			size_t kl = strlen(key);
			if (!strncmp(line, key, kl) && line[kl] == ':') {
				sum += atol(line + kl + 1);
				break;
			}
		}
		fclose(f);
	}
	return sum;
}

static void md5_hex(const char *s, char hex[33])
{
	unsigned char d[16];
	unsigned int dl = 0;

	EVP_Digest(s, strlen(s), d, &dl, EVP_md5(), NULL);
	for (int i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
}

static void ep_set(struct conn *c, unsigned ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void conn_kill(struct conn *c)
{
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
	c->st = C_DEAD;
}

static int conn_start(struct conn *c)
{
	struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o_src) {
		struct sockaddr_in s = {.sin_family = AF_INET};
		inet_pton(AF_INET, o_src, &s.sin_addr);
		if (bind(c->fd, (struct sockaddr *)&s, sizeof(s)))
			return errno;
	}
	if (connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) && errno != EINPROGRESS)
		return errno;
	c->ssl = SSL_new(ctx);
	SSL_set_fd(c->ssl, c->fd);
	c->st = C_CONNECTING;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
	return 0;
}

/* Drives the handshake; returns 1 when done, 0 when waiting, -1 on failure. */
static int conn_handshake(struct conn *c)
{
	int r = SSL_connect(c->ssl);

	c->st = C_HANDSHAKE;
	if (r == 1) {
		ep_set(c, EPOLLIN);
		return 1;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		ep_set(c, EPOLLIN);
		return 0;
	case SSL_ERROR_WANT_WRITE:
		ep_set(c, EPOLLOUT);
		return 0;
	default:
		return -1;
	}
}

static int conn_flush(struct conn *c)
{
	while (c->outl) {
		int r = SSL_write(c->ssl, c->out, (int)c->outl);
		if (r > 0) {
			memmove(c->out, c->out + r, c->outl - (size_t)r);
			c->outl -= (size_t)r;
			continue;
		}
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			ep_set(c, EPOLLIN | EPOLLOUT);
			return 0;
		}
		return -1;
	}
	ep_set(c, EPOLLIN);
	return 0;
}

/* Queues a REGISTER for the connection's user; with auth (realm, nonce) its credentials. */
static int conn_register(struct conn *c, const char *realm, const char *nonce)
{
	char uri[64], auth[512] = "", a1[256], ha1[33], ha2[33], a2[128], kd[512], resp[33];
	unsigned u = o_user0 + c->user;

	snprintf(uri, sizeof(uri), "sip:%s:%u;transport=tls", o_addr, o_port);
	if (realm) {
		snprintf(a1, sizeof(a1), "%u:%s:%s", u, realm, o_pw);
		md5_hex(a1, ha1);
		snprintf(a2, sizeof(a2), "REGISTER:%s", uri);
		md5_hex(a2, ha2);
		snprintf(kd, sizeof(kd), "%s:%s:00000001:c%x:auth:%s", ha1, nonce, c->seq, ha2);
		md5_hex(kd, resp);
		snprintf(auth, sizeof(auth),
			 "Authorization: Digest username=\"%u\", realm=\"%s\", nonce=\"%s\", "
			 "uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, "
			 "cnonce=\"c%x\"\r\n",
			 u, realm, nonce, uri, resp, c->seq);
	}
	c->seq++;
	int n = snprintf(c->out + c->outl, sizeof(c->out) - c->outl,
			 "REGISTER %s SIP/2.0\r\n"
			 "Via: SIP/2.0/TLS %s:5061;branch=z9hG4bK-%u-%u;rport;alias\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:%u@%s>;tag=t%u\r\n"
			 "To: <sip:%u@%s>\r\n"
			 "Call-ID: bt-%u@bench\r\n"
			 "CSeq: %u REGISTER\r\n"
			 "Contact: <sip:%u@%s:5061;transport=tls>\r\n"
			 "%s"
			 "Expires: 3600\r\n"
			 "User-Agent: bench_tls\r\n"
			 "Content-Length: 0\r\n\r\n",
			 uri, o_src ? o_src : "127.0.0.1", c->user, c->seq, u, o_addr, c->user, u,
			 o_addr, c->user, c->seq, u, o_src ? o_src : "127.0.0.1", auth);
	if (n < 0 || (size_t)n >= sizeof(c->out) - c->outl)
		return -1;
	c->outl += (size_t)n;
	return conn_flush(c);
}

/* Copies the quoted value of NAME="..." in [p, end) into out. */
static int param(const char *p, const char *end, const char *name, char *out, size_t sz)
{
	char key[32];
	const char *s;

	snprintf(key, sizeof(key), "%s=\"", name);
	s = memmem(p, (size_t)(end - p), key, strlen(key));
	if (!s)
		return -1;
	s += strlen(key);
	const char *q = memchr(s, '"', (size_t)(end - s));
	if (!q || (size_t)(q - s) >= sz)
		return -1;
	memcpy(out, s, (size_t)(q - s));
	out[q - s] = 0;
	return 0;
}

/* One whole response in c->in[0, len): advances the connection's registration. */
static int conn_response(struct conn *c, size_t len)
{
	const char *end = c->in + len;
	int code = 0;

	if (len > 12 && !strncmp(c->in, "SIP/2.0 ", 8))
		code = atoi(c->in + 8);
	if (c->st == C_WAIT401 && (code == 401 || code == 407)) {
		char realm[128], nonce[256];
		const char *h = memmem(c->in, len, "WWW-Authenticate:", 17);
		if (!h)
			h = memmem(c->in, len, "Proxy-Authenticate:", 19);
		if (!h || param(h, end, "realm", realm, sizeof(realm)) ||
		    param(h, end, "nonce", nonce, sizeof(nonce)))
			return -1;
		c->st = C_WAIT200;
		return conn_register(c, realm, nonce);
	}
	if (c->st == C_WAIT200 && code >= 200) {
		if (code == 200)
			regs_ok++;
		else
			regs_failed++;
		c->st = C_READY;
		return 0;
	}
	if (code >= 200) {
		regs_failed++;
		c->st = C_READY;
	}
	return 0;
}

/* Reads what is there and handles each whole message; keep-alive CRLFs are skipped. */
static int conn_read(struct conn *c)
{
	for (;;) {
		int r = SSL_read(c->ssl, c->in + c->inl, (int)(sizeof(c->in) - c->inl));
		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return 0;
			return -1;
		}
		c->inl += (size_t)r;
		for (;;) {
			size_t skip = 0;
			while (skip < c->inl && (c->in[skip] == '\r' || c->in[skip] == '\n'))
				skip++;
			memmove(c->in, c->in + skip, c->inl - skip);
			c->inl -= skip;
			char *eoh = memmem(c->in, c->inl, "\r\n\r\n", 4);
			if (!eoh)
				break;
			size_t hl = (size_t)(eoh - c->in) + 4, bl = 0;
			char *cl = memmem(c->in, hl, "\nContent-Length:", 16);
			if (cl)
				bl = (size_t)atol(cl + 16);
			if (c->inl < hl + bl)
				break;
			if (conn_response(c, hl + bl))
				return -1;
			memmove(c->in, c->in + hl + bl, c->inl - hl - bl);
			c->inl -= hl + bl;
		}
		if (c->inl == sizeof(c->in))
			return -1;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_tls -a ADDR -p PORT [-s SRC] [-n CONNS] [-c CONC] [-m REGS] "
			"[-t SECS] [-u FIRSTUSER] [-w PW] [-P PID,...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct conn *conns;
	unsigned started = 0, ready = 0, failed_hs = 0, inflight = 0;
	long anon0, pss0, anon1 = -1, pss1 = -1, anon2 = -1, pss2 = -1;
	struct rlimit rl;
	double t0, t1, deadline;
	int opt;

	while ((opt = getopt(argc, argv, "a:p:s:n:c:m:t:u:w:P:")) != -1) {
		switch (opt) {
		case 'a':
			o_addr = optarg;
			break;
		case 'p':
			o_port = (unsigned)atoi(optarg);
			break;
		case 's':
			o_src = optarg;
			break;
		case 'n':
			o_n = (unsigned)atoi(optarg);
			break;
		case 'c':
			o_conc = (unsigned)atoi(optarg);
			break;
		case 'm':
			o_regs = (unsigned)atoi(optarg);
			break;
		case 't':
			o_secs = (unsigned)atoi(optarg);
			break;
		case 'u':
			o_user0 = (unsigned)atoi(optarg);
			break;
		case 'w':
			o_pw = optarg;
			break;
		case 'P':
			o_pids = optarg;
			break;
		default:
			usage();
		}
	}
	if (!o_n || !o_conc)
		usage();
	/* A connection the server closed fails its write; it must not end the run. */
	signal(SIGPIPE, SIG_IGN);
	/* Raise the soft open-file limit as far as the hard one allows. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    o_n + 32 > rl.rlim_cur) {
		o_n = (unsigned)rl.rlim_cur - 32;
		fprintf(stderr, "bench_tls: open-file limit %lu: %u connections\n",
			(unsigned long)rl.rlim_cur, o_n);
	}
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)o_port);
	if (inet_pton(AF_INET, o_addr, &dst.sin_addr) != 1)
		usage();
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Every handshake a full one: no session resumption. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	ep = epoll_create1(0);
	conns = calloc(o_n, sizeof(*conns));
	if (!ctx || ep < 0 || !conns)
		return 1;
	for (unsigned i = 0; i < o_n; i++) {
		conns[i].fd = -1;
		conns[i].user = i;
	}
	anon0 = mem_kib("status", "RssAnon");
	pss0 = mem_kib("smaps_rollup", "Pss");

	/* 1. handshakes, o_conc at a time */
	t0 = now_s();
	deadline = t0 + o_secs;
	while (ready + failed_hs < o_n && now_s() < deadline) {
		while (inflight < o_conc && started < o_n) {
			if (conn_start(&conns[started])) {
				conn_kill(&conns[started]);
				failed_hs++;
			} else {
				inflight++;
			}
			started++;
		}
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->st != C_CONNECTING && c->st != C_HANDSHAKE)
				continue;
			int r = conn_handshake(c);
			if (r == 0)
				continue;
			inflight--;
			if (r > 0) {
				c->st = C_READY;
				ready++;
			} else {
				conn_kill(c);
				failed_hs++;
			}
		}
	}
	t1 = now_s();
	printf("tls_handshakes_per_sec %.0f\n", ready / (t1 - t0));
	printf("tls_conns %u\n", ready);
	printf("tls_handshakes_failed %u\n", o_n - ready);
	fflush(stdout);
	if (!ready)
		return 1;
	/* The connections idle a moment (the server's per-connection work settles). */
	usleep(1000000);
	anon1 = mem_kib("status", "RssAnon");
	pss1 = mem_kib("smaps_rollup", "Pss");

	/* 2. registrations over the open connections, each one at a time */
	t0 = now_s();
	deadline = t0 + o_secs;
	unsigned long sent = 0;
	for (unsigned i = 0; i < o_n; i++) {
		struct conn *c = &conns[i];
		if (c->st == C_READY && sent < o_regs) {
			c->st = C_WAIT401;
			sent++;
			if (conn_register(c, NULL, NULL))
				conn_kill(c);
		}
	}
	while (regs_ok + regs_failed < sent && now_s() < deadline) {
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->st == C_DEAD)
				continue;
			if ((evs[i].events & EPOLLOUT) && conn_flush(c)) {
				conn_kill(c);
				continue;
			}
			if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && conn_read(c)) {
				conn_kill(c);
				continue;
			}
			if (c->st == C_READY && sent < o_regs) {
				c->st = C_WAIT401;
				sent++;
				if (conn_register(c, NULL, NULL))
					conn_kill(c);
			}
		}
	}
	t1 = now_s();
	unsigned alive = 0;
	for (unsigned i = 0; i < o_n; i++)
		alive += conns[i].st != C_DEAD;
	printf("tls_regs_per_sec %.0f\n", regs_ok / (t1 - t0));
	printf("tls_regs_ok %lu\n", regs_ok);
	printf("tls_regs_failed %lu\n", regs_failed + (sent - regs_ok - regs_failed));
	printf("tls_regs_secs %.2f\n", t1 - t0);
	printf("tls_conns_alive %u\n", alive);
	usleep(1000000);
	anon2 = mem_kib("status", "RssAnon");
	pss2 = mem_kib("smaps_rollup", "Pss");
	if (o_pids) {
		printf("tls_anon_bytes_per_conn %ld\n", (anon1 - anon0) * 1024 / (long)ready);
		printf("tls_pss_bytes_per_conn %ld\n", (pss1 - pss0) * 1024 / (long)ready);
		printf("tls_anon_bytes_per_reg_conn %ld\n", (anon2 - anon0) * 1024 / (long)ready);
		printf("tls_pss_bytes_per_reg_conn %ld\n", (pss2 - pss0) * 1024 / (long)ready);
		printf("tls_anon_kib %ld %ld %ld\n", anon0, anon1, anon2);
	}
	for (unsigned i = 0; i < o_n; i++)
		if (conns[i].st != C_DEAD)
			conn_kill(&conns[i]);
	free(conns);
	SSL_CTX_free(ctx);
	close(ep);
	return 0;
}
