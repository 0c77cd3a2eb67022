/* transp: SIP transports (RFC 3261 §18, RFC 3581, RFC 5626 §4.4.1): UDP, TCP and TLS sockets on
 * IPv4 and IPv6 (TLS: OpenSSL on the connection's socket, non-blocking), stream framing by
 * Content-Length, replies leaving from the arrival address, and the overload signal (RFC 6357)
 * from how long datagrams waited before we handled them. */
#define LOG_MODULE "sip"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/sock_diag.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "tls_lib.h"
#include "transp_int.h"

#define UDP_BATCH 16	      /* datagrams per recvmmsg() */
#define UDP_ROUNDS 4	      /* recvmmsg() calls per readiness, at most */
#define UDP_SOCKBUF (4 << 20) /* socket buffer asked for, bytes */
#define RX_SLOT 65536	      /* one datagram (the largest UDP payload fits) or one TCP read */
#define CONN_BUCKETS 64	      /* open connections hashed by peer address */
#define ACCEPT_BATCH 32	      /* accepts per wake-up, so one listener cannot starve the rest */
#define OUT_MAX (1024 * 1024) /* queued output of a peer that does not read: then we close */
#define ACCEPT_PAUSE_MS 100   /* accept() failing for lack of descriptors: retry after this */

#define LIMIT_CONNS_DEFAULT 1024
#define LIMIT_PER_ADDR_DEFAULT 32
#define TLS_READS_MAX 64 /* TLS records handled per wake-up, so one peer cannot starve the rest */
#define LIMIT_IDLE_DEFAULT (5 * 60 * 1000)
#define LIMIT_FRAME_DEFAULT (32 * 1000)
#define OVERLOAD_DELAY_DEFAULT 20  /* ms of queueing delay that means overload... */
#define OVERLOAD_HOLD_DEFAULT 100  /* ...when it lasts this long (ms) without a break */
#define OVERLOAD_STALE_NS 1000000000LL /* no datagram for this long: not overloaded */
#define OVERLOAD_LOG_NS (10 * 1000000000LL) /* at most one overload warning per 10 s */

#define NS_PER_MS 1000000LL

#define ROUTE_CACHE 8	     /* destinations whose source address sip_transp_local_for keeps */
#define ROUTE_TTL_MS 1000    /* ...for this long, so a route change is seen within a second */
#define TX_BATCH 32	     /* UDP datagrams queued in one loop turn, at most, before a flush */
#define TX_AREA (128 * 1024) /* bytes of their copies (malloc: pages used only when written) */

/* A listening socket: UDP (receives and sends) or TCP (accepts). */
struct transp_sock {
	struct le le;
	struct sip_transp *tp;
	enum sip_transport type;
	int fd;
	struct sa laddr; /* as bound, with the real port */
	bool wildcard;
	int tos;
	struct loop_timer pause_tmr; /* TCP: accepting paused after running out of descriptors */
	struct sip_qdelay load;	     /* UDP */
};

/* Room for what a received datagram carries: its local address and its receive time. */
union transp_cmsg {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct timespec))];
	struct cmsghdr align;
};

/* A UDP datagram queued for the end of the loop turn: where it goes, from which socket and
 * source address (IP_PKTINFO), and where its copy is in the transport's tx area. */
struct transp_tx {
	int fd;
	bool pktinfo; /* ctl holds a source address */
	int err;      /* after the flush: 0 or the errno of its send */
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} dst;
	socklen_t dstlen;
	size_t off, len; /* in tx_area */
	union transp_cmsg ctl;
};

/* Sockets for sip_transp_local_for(), created on first use and kept. Separate from the
 * transport so that a const transport can still fill the cache. */
struct transp_probe {
	int fd4;
	int fd6;
	/* The kernel's answers, kept ROUTE_TTL_MS: a call asks for the same destination a few
	 * times, and a connect() plus getsockname() each time was two system calls per call. */
	struct transp_route {
		union sip_sockaddr dst;
		union sip_sockaddr local;
		uint64_t expires; /* loop time; 0: empty */
	} routes[ROUTE_CACHE];
	unsigned next; /* the entry to replace next (round robin) */
};

struct sip_transp {
	struct loop *loop;
	sip_transp_recv_h *h;
	void *arg;
	struct sip_transp_limits limits;
	struct list socks; /* struct transp_sock, in listen order */
	struct list conns[CONN_BUCKETS];
	size_t nconns;
	struct transp_probe *probe;
	SSL_CTX *tls_ctx;    /* sip_transp_tls(): TLS listeners and connections */
	sip_transp_close_h *close_h; /* a connection closed (the registrar's flows) */
	void *close_arg;
	sip_transp_trace_h *trace; /* sip set debug */
	void *trace_arg;
	size_t n_over;	     /* UDP sockets whose load says overloaded */
	int64_t over_logged; /* when overload was last logged */

	/* Receive area: UDP_BATCH slots of RX_SLOT bytes. mmap'ed, so a page costs memory only
	 * once a datagram has been written into it: an idle daemon keeps its RSS small while a
	 * burst can still be read in one system call. TCP reads use slot 0 (reads never nest). */
	uint8_t *rx;
	bool rx_armed; /* every mmsg entry set up for recvmmsg(); after a batch, the n it used
			* are set up again (the kernel wrote their lengths and flags) */
	struct mmsghdr mmsg[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	union transp_cmsg ctl[UDP_BATCH];

	/* UDP send queue: datagrams sent while the loop dispatches a turn are copied here and
	 * leave together from the after-turn hook, one sendmmsg() per run of the same socket. */
	uint8_t *tx_area; /* TX_AREA bytes, allocated on first use */
	size_t tx_used;	  /* bytes of tx_area in use */
	size_t ntx;
	struct transp_tx tx[TX_BATCH];
	struct mmsghdr tx_mmsg[TX_BATCH];
	struct iovec tx_iov[TX_BATCH];
	struct sip_transp_tx_stats tx_stats;
	bool tx_hook; /* tx_after_h is registered with the loop */
};

static void conn_close(struct sip_conn *conn, const char *why);
static void tx_flush(struct sip_transp *tp);
static void tx_after_h(void *arg);

/* ---------------------------------------------------------------------------------------------
 * Helpers
 */

static socklen_t sa_socklen(const struct sa *sa)
{
	return sa_af(sa) == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static bool sa_is_bcast(const struct sa *sa)
{
	return sa_af(sa) == AF_INET && sa->u.in.sin_addr.s_addr == htonl(INADDR_BROADCAST);
}

static void sa_from_sockaddr(struct sa *sa, const void *ss, socklen_t len)
{
	memset(sa, 0, sizeof(*sa));
	if (len > sizeof(sa->u))
		len = sizeof(sa->u);
	memcpy(&sa->u, ss, len);
	sa->len = len;
}

static int sock_local(int fd, struct sa *sa)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return errno;
	sa_from_sockaddr(sa, &ss, len);
	return 0;
}

static void sock_set_tos(int fd, int af, int tos)
{
	if (tos <= 0)
		return;
	if (af == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
	else
		(void)setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
}

static uint32_t peer_hash(const struct sa *sa)
{
	uint16_t port = sa_port(sa);
	uint32_t h;

	if (sa_af(sa) == AF_INET6)
		h = hash_bytes(&sa->u.in6.sin6_addr, sizeof(sa->u.in6.sin6_addr));
	else
		h = hash_bytes(&sa->u.in.sin_addr, sizeof(sa->u.in.sin_addr));
	return (h ^ (h >> 16) ^ port * 2654435761u) % CONN_BUCKETS;
}

/* RFC 5626 §3.5.1 keep-alives and stray line ends: a datagram of nothing but whitespace. */
static bool is_blank(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' && p[i] != '\t')
			return false;
	}
	return true;
}

static int rx_area(struct sip_transp *tp)
{
	void *p;

	if (tp->rx)
		return 0;
	p = mmap(NULL, (size_t)UDP_BATCH * RX_SLOT, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return ENOMEM;
	tp->rx = p;
	tp->rx_armed = false;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Allocation and limits
 */

int sip_transp_alloc(struct sip_transp **tpp, struct loop *loop, sip_transp_recv_h *h, void *arg)
{
	struct sip_transp *tp;

	if (!tpp || !loop || !h)
		return EINVAL;
	tp = calloc(1, sizeof(*tp));
	if (!tp)
		return ENOMEM;
	tp->probe = calloc(1, sizeof(*tp->probe));
	if (!tp->probe) {
		free(tp);
		return ENOMEM;
	}
	tp->probe->fd4 = -1;
	tp->probe->fd6 = -1;
	tp->loop = loop;
	tp->h = h;
	tp->arg = arg;
	sip_transp_set_limits(tp, NULL);
	/* Without the hook (no memory) datagrams simply leave one by one. */
	tp->tx_hook = loop_after_add_last(loop, tx_after_h, tp) == 0;
	*tpp = tp;
	return 0;
}

void sip_transp_free(struct sip_transp *tp)
{
	if (!tp)
		return;
	tp->close_h = NULL; /* shutting down: no flow is lost, the daemon is */
	tx_flush(tp);
	if (tp->tx_hook)
		loop_after_remove(tp->loop, tx_after_h, tp);
	free(tp->tx_area);
	for (size_t i = 0; i < CONN_BUCKETS; i++) {
		while (tp->conns[i].head)
			conn_close(tp->conns[i].head->data, "transport closed");
	}
	while (tp->socks.head) {
		struct transp_sock *s = tp->socks.head->data;

		list_unlink(&s->le);
		loop_timer_cancel(&s->pause_tmr);
		loop_fd_remove(tp->loop, s->fd);
		close(s->fd);
		free(s);
	}
	if (tp->probe->fd4 >= 0)
		close(tp->probe->fd4);
	if (tp->probe->fd6 >= 0)
		close(tp->probe->fd6);
	free(tp->probe);
	if (tp->rx)
		munmap(tp->rx, (size_t)UDP_BATCH * RX_SLOT);
	if (tp->tls_ctx) /* OpenSSL is loaded only once TLS is configured */
		SSL_CTX_free(tp->tls_ctx);
	free(tp);
}

void sip_transp_set_limits(struct sip_transp *tp, const struct sip_transp_limits *limits)
{
	struct sip_transp_limits l = {0};

	if (!tp)
		return;
	if (limits)
		l = *limits;
	tp->limits.max_conns = l.max_conns ? l.max_conns : LIMIT_CONNS_DEFAULT;
	tp->limits.idle_timeout_ms = l.idle_timeout_ms ? l.idle_timeout_ms : LIMIT_IDLE_DEFAULT;
	tp->limits.frame_timeout_ms = l.frame_timeout_ms ? l.frame_timeout_ms : LIMIT_FRAME_DEFAULT;
	tp->limits.overload_delay_ms = l.overload_delay_ms ? l.overload_delay_ms
							   : OVERLOAD_DELAY_DEFAULT;
	tp->limits.overload_hold_ms = l.overload_hold_ms ? l.overload_hold_ms
							 : OVERLOAD_HOLD_DEFAULT;
	tp->limits.max_conns_per_addr = l.max_conns_per_addr ? l.max_conns_per_addr
							     : LIMIT_PER_ADDR_DEFAULT;
}

void sip_transp_set_close_h(struct sip_transp *tp, sip_transp_close_h *h, void *arg)
{
	if (!tp)
		return;
	tp->close_h = h;
	tp->close_arg = arg;
}

size_t sip_transp_conn_count(const struct sip_transp *tp)
{
	return tp ? tp->nconns : 0;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool load_fresh(const struct sip_qdelay *l, int64_t now)
{
	return now - l->last < OVERLOAD_STALE_NS && now >= l->last;
}

bool sip_transp_overloaded(const struct sip_transp *tp)
{
	int64_t now;

	if (!tp || !tp->n_over)
		return false;
	/* A socket that stopped receiving is not flooded: its last verdict may be stale (the
	 * next datagram would settle it). */
	now = realtime_ns();
	LIST_FOREACH (&tp->socks, le) {
		const struct transp_sock *s = le->data;

		if (s->load.over && load_fresh(&s->load, now))
			return true;
	}
	return false;
}

static uint32_t ns_to_us(int64_t ns)
{
	ns /= 1000;
	return ns < 0 ? 0 : ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

void sip_transp_load(const struct sip_transp *tp, struct sip_transp_load *load)
{
	int64_t last = INT64_MIN;

	if (!load)
		return;
	memset(load, 0, sizeof(*load));
	if (!tp)
		return;
	load->overloaded = sip_transp_overloaded(tp);
	LIST_FOREACH (&tp->socks, le) {
		const struct transp_sock *s = le->data;
		const struct sip_qdelay *l = &s->load;

		if (s->type != SIP_TP_UDP || !l->samples)
			continue;
		if (ns_to_us(l->ewma) > load->delay_us)
			load->delay_us = ns_to_us(l->ewma);
		if (l->last > last) {
			last = l->last;
			load->last_us = ns_to_us(l->last_delay);
		}
		load->onsets += l->onsets;
		load->overload_ms += (l->over_ns + (l->over ? (uint64_t)(l->last - l->since) : 0)) /
				     NS_PER_MS;
		load->datagrams += l->samples;
	}
}

int sip_qdelay_sample(struct sip_qdelay *l, uint32_t delay_ms, uint32_t hold_ms, int64_t rx,
		      int64_t now, size_t (*queued)(void *arg), void *arg)
{
	int64_t on = (int64_t)delay_ms * NS_PER_MS;
	int64_t hold = (int64_t)hold_ms * NS_PER_MS;
	int64_t grown = SIP_QDELAY_GROWTH * on;
	int64_t deep = SIP_QDELAY_FLOOR_MS * NS_PER_MS;
	int64_t delay = now - rx;

	if (delay < 0 || now < l->last) {
		/* The clock was stepped back: this datagram tells nothing, and the run of late
		 * ones so far is cut. */
		delay = 0;
		l->above_n = 0;
	}
	l->samples++;
	l->last = now;
	l->last_delay = delay;
	l->ewma += (delay - l->ewma) / 16;
	if (delay_ms == UINT32_MAX)
		return 0;
	if (delay > on) {
		if (l->above_n++ == 0) {
			l->above_since = l->win_start = now;
			l->above_min = l->win_min = delay;
			l->prev_min = -1;
		} else {
			if (delay < l->above_min)
				l->above_min = delay;
			if (now - l->win_start >= hold / 2) {
				l->prev_min = l->win_min;
				l->win_start = now;
				l->win_min = delay;
			} else if (delay < l->win_min) {
				l->win_min = delay;
			}
		}
		/* Late for a whole hold time, and for at least the last half of it every datagram
		 * later than the best moment of the run by SIP_QDELAY_GROWTH more thresholds and by
		 * SIP_QDELAY_FLOOR_MS: the queue grew and stays grown, past what a busy machine's
		 * scheduling causes for a second or two, yet below the 500 ms after which clients
		 * retransmit. One datagram
		 * that comes late because the loop was not scheduled for a while is a step, not
		 * growth: the ones after it find a queue that drains, and a backlog that shrinks by
		 * itself (a burst, a stall) never keeps a whole half-hold that far above the run's
		 * lowest delay. And there must be work waiting: on a machine whose other processes
		 * take the CPU, the loop (and the senders) may run so little for a few hundred ms
		 * that a dozen datagrams wait long, and are gone within a few ms once it runs
		 * again. Asked last, as it may cost a system call. */
		if (!l->over && l->above_n >= SIP_QDELAY_MIN_SAMPLES &&
		    now - l->above_since >= hold && l->prev_min >= 0 &&
		    l->prev_min > l->above_min + grown &&
		    l->win_min > l->above_min + grown && l->win_min >= deep &&
		    (!queued || queued(arg) >= SIP_QDELAY_MIN_QUEUE)) {
			l->over = true;
			l->since = now;
			l->onsets++;
			return 1;
		}
		return 0;
	}
	l->above_n = 0;
	/* Drained: the first datagram that found the queue nearly empty ends it. */
	if (l->over && delay < on / 4) {
		l->over = false;
		l->over_ns += (uint64_t)(now - l->since);
		return -1;
	}
	return 0;
}

/* Bytes of datagrams waiting in a UDP socket: the kernel's receive-queue memory, each datagram
 * with its buffer overhead (about 1.3 KB for a 900-byte request). Linux gives the memory of the
 * datagrams read back lazily, once the socket's reader queue is empty or a quarter of the
 * buffer is owed, so this also counts those read since the loop last caught up: at least the
 * backlog, and about the size of the current busy spell. Unknown: as much as can be. */
static size_t udp_queued(void *arg)
{
	const struct transp_sock *s = arg;
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (getsockopt(s->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0 ||
	    len <= SK_MEMINFO_RMEM_ALLOC * sizeof(mi[0]))
		return SIZE_MAX;
	return mi[SK_MEMINFO_RMEM_ALLOC];
}

/* One datagram read at `now` that the kernel received at `rx`. */
static void load_sample(struct transp_sock *s, int64_t rx, int64_t now)
{
	struct sip_transp *tp = s->tp;
	struct sip_qdelay *l = &s->load;
	int change = sip_qdelay_sample(l, tp->limits.overload_delay_ms, tp->limits.overload_hold_ms,
				       rx, now, udp_queued, s);

	if (change > 0) {
		tp->n_over++;
		if (tp->over_logged == 0 || now - tp->over_logged >= OVERLOAD_LOG_NS) {
			char buf[SA_STRLEN];

			tp->over_logged = now;
			log_warn("udp %s: overloaded (datagrams wait %lld ms): refusing new calls",
				 sa_fmt(&s->laddr, buf, sizeof(buf)),
				 (long long)(l->last_delay / NS_PER_MS));
		}
	} else if (change < 0) {
		tp->n_over--;
		log_debug("udp: overload over after %lld ms",
			  (long long)((now - l->since) / NS_PER_MS));
	}
}

/* The kernel's receive time of a datagram (SO_TIMESTAMPNS), or 0 when it gave none. */
static int64_t cmsg_rx_time(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
		}
	}
	return 0;
}

struct sip_conn *sip_conn_ref(struct sip_conn *conn)
{
	return mem_ref(conn);
}

void sip_conn_deref(struct sip_conn *conn)
{
	mem_deref(conn);
}

/* ---------------------------------------------------------------------------------------------
 * UDP
 */

static void udp_deliver(struct transp_sock *s, struct msghdr *mh, size_t len, const uint8_t *data)
{
	struct sip_transp *tp = s->tp;
	struct sip_parse_error perr = {0};
	struct sip_msg *msg = NULL;
	struct sa src, dst = s->laddr;
	char buf[SA_STRLEN];
	size_t used = 0;
	int err;

	sa_from_sockaddr(&src, mh->msg_name, mh->msg_namelen);
	/* Keep-alives (RFC 5626 §4.4.2 STUN, or CRLF as many phones send) carry no message. A
	 * STUN message starts with two zero bits, never a SIP token. */
	if (is_blank(data, len) || data[0] < 0x20)
		return;
	if (mh->msg_flags & MSG_TRUNC) {
		log_debug("udp: truncated datagram from %s dropped",
			  sa_fmt(&src, buf, sizeof(buf)));
		return;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			/* spec_dst is the local address a reply should come from; it differs
			 * from the header's destination only for broadcasts. */
			dst.u.in.sin_addr = pi.ipi_spec_dst.s_addr ? pi.ipi_spec_dst : pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dst.u.in6.sin6_addr = pi.ipi6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
				dst.u.in6.sin6_scope_id = pi.ipi6_ifindex;
		}
	}
	if (tp->trace)
		tp->trace(false, SIP_TP_UDP, &src, (const char *)data, len, tp->trace_arg);
	err = sip_msg_parse(&msg, data, len, true, &used, &perr);
	if (err) {
		log_debug("udp: datagram from %s dropped: %s", sa_fmt(&src, buf, sizeof(buf)),
			  perr.reason ? perr.reason : strerror(err));
		return;
	}
	msg->tp = SIP_TP_UDP;
	msg->src = src;
	msg->dst = dst;
	msg->conn = NULL;
	msg->sock = s->fd;
	tp->h(msg, tp->arg);
	mem_deref(msg);
}

/* A burst of requests (a load test, or every phone re-registering after an outage) must wait
 * in the socket rather than be dropped while the loop is busy or descheduled: ask for 4 MiB,
 * beyond net.core.rmem_max when we may (root), else take what the kernel allows. */
static void udp_set_buffers(int fd)
{
	int size = UDP_SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static int udp_recv_batch(struct transp_sock *s, int fd);

static void udp_recv_h(int fd, uint32_t events, void *arg)
{
	struct transp_sock *s = arg;
	int n;

	if (!(events & LOOP_READ))
		return;
	/* Up to UDP_ROUNDS batches per readiness while the socket keeps them coming: one loop
	 * turn then carries more requests, so the store commits more bindings at once. */
	for (int round = 0; round < UDP_ROUNDS; round++) {
		n = udp_recv_batch(s, fd);
		if (n < UDP_BATCH)
			break;
	}
}

/* Sets up receive entry i for recvmmsg(). */
static void rx_arm(struct sip_transp *tp, size_t i)
{
	struct msghdr *mh = &tp->mmsg[i].msg_hdr;

	tp->iov[i].iov_base = tp->rx + i * RX_SLOT;
	tp->iov[i].iov_len = RX_SLOT;
	memset(mh, 0, sizeof(*mh));
	mh->msg_name = &tp->from[i];
	mh->msg_namelen = sizeof(tp->from[i]);
	mh->msg_iov = &tp->iov[i];
	mh->msg_iovlen = 1;
	mh->msg_control = tp->ctl[i].buf;
	mh->msg_controllen = sizeof(tp->ctl[i].buf);
	tp->mmsg[i].msg_len = 0;
}

/* One recvmmsg() of up to UDP_BATCH datagrams, each delivered; returns how many were read. */
static int udp_recv_batch(struct transp_sock *s, int fd)
{
	struct sip_transp *tp = s->tp;
	int n;

	/* All entries once; then only those a batch used (at a low rate a wake-up reads one
	 * datagram, and setting up all sixteen was most of the receive path's own work). */
	if (!tp->rx_armed) {
		for (size_t i = 0; i < UDP_BATCH; i++)
			rx_arm(tp, i);
		tp->rx_armed = true;
	}
	n = recvmmsg(fd, tp->mmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_debug("udp: recvmmsg: %s", strerror(errno));
		return 0;
	}
	for (int i = 0; i < n; i++) {
		int64_t rx = cmsg_rx_time(&tp->mmsg[i].msg_hdr);

		/* Measured when its turn comes, not when the batch was read: the later
		 * datagrams of a batch wait for the earlier ones' work (an INVITE runs the
		 * dialplan), and that wait is queueing too. Before delivery, so a new INVITE is
		 * judged by the queue it waited in itself (the first one after a quiet spell
		 * clears a stale verdict). One vDSO clock read per datagram. */
		if (rx)
			load_sample(s, rx, realtime_ns());
		if (tp->mmsg[i].msg_len)
			udp_deliver(s, &tp->mmsg[i].msg_hdr, tp->mmsg[i].msg_len,
				    tp->iov[i].iov_base);
		rx_arm(tp, (size_t)i);
	}
	return n;
}

/* The UDP socket to send from: the preferred one (where the request arrived) when it fits the
 * destination's family, else the one bound to src, else a wildcard one (src then goes into
 * IP_PKTINFO), preferring src's port. */
static struct transp_sock *udp_pick(struct sip_transp *tp, int prefer_fd, const struct sa *src,
				    const struct sa *dst)
{
	struct transp_sock *best = NULL;
	int best_score = -1;
	int af = sa_af(dst);

	LIST_FOREACH (&tp->socks, le) {
		struct transp_sock *s = le->data;
		int score = 0;

		if (s->type != SIP_TP_UDP || sa_af(&s->laddr) != af)
			continue;
		if (prefer_fd >= 0 && s->fd == prefer_fd)
			return s;
		if (src && sa_isset(src) && !sa_is_any(src)) {
			if (!s->wildcard && sa_eq_addr(&s->laddr, src))
				score = 8;
			else if (s->wildcard)
				score = 4;
			if (sa_port(src) && sa_port(src) == sa_port(&s->laddr))
				score += 2;
		} else if (s->wildcard) {
			score = 4;
		}
		if (score > best_score) {
			best = s;
			best_score = score;
		}
	}
	return best;
}

/* Fills a queued datagram's IP_PKTINFO for src when it goes from a wildcard socket. */
static void tx_set_src(struct transp_tx *t, const struct transp_sock *s, const struct sa *src,
		       const struct sa *dst)
{
	struct msghdr mh = {0};
	struct cmsghdr *c;

	t->pktinfo = false;
	if (!src || !s->wildcard || sa_af(src) != sa_af(dst) || sa_is_any(src))
		return;
	memset(&t->ctl, 0, sizeof(t->ctl));
	mh.msg_control = t->ctl.buf;
	mh.msg_controllen = sizeof(t->ctl.buf);
	c = CMSG_FIRSTHDR(&mh);
	if (sa_af(src) == AF_INET6) {
		struct in6_pktinfo pi = {0};

		pi.ipi6_addr = src->u.in6.sin6_addr;
		pi.ipi6_ifindex = src->u.in6.sin6_scope_id;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		struct in_pktinfo pi = {0};

		pi.ipi_spec_dst = src->u.in.sin_addr;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
	t->pktinfo = true;
}

static socklen_t tx_ctl_len(const struct transp_tx *t)
{
	if (!t->pktinfo)
		return 0;
	return t->dst.sa.sa_family == AF_INET6 ? CMSG_SPACE(sizeof(struct in6_pktinfo))
					       : CMSG_SPACE(sizeof(struct in_pktinfo));
}

/* One datagram the batch could not send: the source address is no longer ours (an interface
 * went away) -> let the kernel choose rather than lose the message; anything else is its
 * error. */
static int tx_one_failed(struct sip_transp *tp, struct mmsghdr *mm, struct transp_tx *t, int err)
{
	if (err == EINVAL && mm->msg_hdr.msg_control) {
		ssize_t n;

		mm->msg_hdr.msg_control = NULL;
		mm->msg_hdr.msg_controllen = 0;
		tp->tx_stats.syscalls++;
		n = sendmsg(t->fd, &mm->msg_hdr, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0)
			return (size_t)n == t->len ? 0 : EMSGSIZE;
		err = errno;
	}
	return err;
}

/* Sends every queued datagram, in order: one sendmmsg() per run of the same socket, going on
 * past a datagram the kernel refuses (its error is kept in its entry and logged). */
static void tx_flush(struct sip_transp *tp)
{
	size_t i = 0, n = tp->ntx;

	if (!n)
		return;
	tp->tx_stats.flushes++;
	for (size_t k = 0; k < n; k++) {
		struct transp_tx *t = &tp->tx[k];
		struct msghdr *mh = &tp->tx_mmsg[k].msg_hdr;

		tp->tx_iov[k].iov_base = tp->tx_area + t->off;
		tp->tx_iov[k].iov_len = t->len;
		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &t->dst.sa;
		mh->msg_namelen = t->dstlen;
		mh->msg_iov = &tp->tx_iov[k];
		mh->msg_iovlen = 1;
		if (t->pktinfo) {
			mh->msg_control = t->ctl.buf;
			mh->msg_controllen = tx_ctl_len(t);
		}
		t->err = 0;
	}
	while (i < n) {
		size_t run = 1;
		int r;

		while (i + run < n && tp->tx[i + run].fd == tp->tx[i].fd)
			run++;
		tp->tx_stats.syscalls++;
		r = sendmmsg(tp->tx[i].fd, &tp->tx_mmsg[i], (unsigned)run, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0) {
			/* The first datagram of the run failed: settle it alone, go on after it. */
			struct transp_tx *t = &tp->tx[i];

			t->err = tx_one_failed(tp, &tp->tx_mmsg[i], t, errno);
			if (t->err) {
				tp->tx_stats.errors++;
				log_debug("udp: send of %zu bytes failed: %s", t->len, strerror(t->err));
			}
			r = 1;
		} else {
			for (int k = 0; k < r; k++) {
				if (tp->tx_mmsg[i + k].msg_len != tp->tx[i + k].len) {
					tp->tx[i + k].err = EMSGSIZE;
					tp->tx_stats.errors++;
				}
			}
		}
		i += (size_t)r;
	}
	tp->tx_stats.datagrams += n;
	tp->ntx = 0;
	tp->tx_used = 0;
}

static void tx_after_h(void *arg)
{
	tx_flush(arg);
}

/* Queues one datagram from s (flushing first when the queue is full); returns its index in the
 * queue, or -errno. */
static int tx_queue(struct sip_transp *tp, struct transp_sock *s, const struct sa *src,
		    const struct sa *dst, const void *data, size_t len)
{
	struct transp_tx *t;

	if (len > TX_AREA)
		return -EMSGSIZE;
	if (!tp->tx_area) {
		tp->tx_area = malloc(TX_AREA);
		if (!tp->tx_area)
			return -ENOMEM;
	}
	if (tp->ntx == TX_BATCH || TX_AREA - tp->tx_used < len)
		tx_flush(tp);
	t = &tp->tx[tp->ntx];
	t->fd = s->fd;
	t->err = 0;
	t->dstlen = sa_socklen(dst);
	if (t->dstlen > sizeof(t->dst))
		return -EAFNOSUPPORT;
	memcpy(&t->dst, &dst->u.sa, t->dstlen);
	tx_set_src(t, s, src, dst);
	t->off = tp->tx_used;
	t->len = len;
	if (len)
		memcpy(tp->tx_area + t->off, data, len);
	tp->tx_used += (len + 15) & ~(size_t)15;
	if (tp->tx_used > TX_AREA)
		tp->tx_used = TX_AREA;
	return (int)tp->ntx++;
}

/* A datagram larger than the tx area (up to the UDP limit): sent alone, behind the queue. */
static int udp_send_direct(struct sip_transp *tp, struct transp_sock *s, const struct sa *src,
			   const struct sa *dst, const void *data, size_t len)
{
	struct transp_tx t;
	struct iovec iov = {(void *)data, len};
	struct mmsghdr mm = {0};
	ssize_t n;

	tx_flush(tp);
	t.fd = s->fd;
	t.len = len;
	t.dstlen = sa_socklen(dst);
	memcpy(&t.dst, &dst->u.sa, MIN((size_t)t.dstlen, sizeof(t.dst)));
	tx_set_src(&t, s, src, dst);
	mm.msg_hdr.msg_name = &t.dst.sa;
	mm.msg_hdr.msg_namelen = t.dstlen;
	mm.msg_hdr.msg_iov = &iov;
	mm.msg_hdr.msg_iovlen = 1;
	if (t.pktinfo) {
		mm.msg_hdr.msg_control = t.ctl.buf;
		mm.msg_hdr.msg_controllen = tx_ctl_len(&t);
	}
	tp->tx_stats.syscalls++;
	tp->tx_stats.datagrams++;
	n = sendmsg(s->fd, &mm.msg_hdr, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0)
		return tx_one_failed(tp, &mm, &t, errno);
	return (size_t)n == len ? 0 : EMSGSIZE;
}

static int udp_send(struct sip_transp *tp, int prefer_fd, const struct sa *src,
		    const struct sa *dst, const void *data, size_t len, bool now)
{
	struct transp_sock *s;
	int i;

	if (!sa_isset(dst))
		return EINVAL;
	if (sa_is_bcast(dst))
		return EPERM;
	s = udp_pick(tp, prefer_fd, src, dst);
	if (!s)
		return EAFNOSUPPORT;
	if (tp->trace)
		tp->trace(true, SIP_TP_UDP, dst, data, len, tp->trace_arg);
	if (len > TX_AREA)
		return udp_send_direct(tp, s, src, dst, data, len);
	i = tx_queue(tp, s, src, dst, data, len);
	if (i < 0)
		return -i;
	if (!now && tp->tx_hook && loop_in_turn(tp->loop))
		return 0;
	tx_flush(tp);
	return tp->tx[i].err;
}

void sip_transp_flush(struct sip_transp *tp)
{
	if (tp)
		tx_flush(tp);
}

void sip_transp_tx_stats(const struct sip_transp *tp, struct sip_transp_tx_stats *st)
{
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (tp)
		*st = tp->tx_stats;
}

/* ---------------------------------------------------------------------------------------------
 * TCP connections
 */

static void conn_destroy(void *data)
{
	struct sip_conn *conn = data;

	/* Only reached after conn_close (the transport's reference keeps it alive until then). */
	mbuf_reset(&conn->in);
	mbuf_reset(&conn->out);
}

static void conn_close(struct sip_conn *conn, const char *why)
{
	struct sip_transp *tp = conn->tp;
	char buf[SA_STRLEN];

	if (!tp)
		return;
	log_debug("%s: connection with %s closed: %s", conn->ssl ? "tls" : "tcp",
		  sa_fmt(&conn->peer, buf, sizeof(buf)), why);
	loop_fd_remove(tp->loop, conn->fd);
	if (conn->ssl) {
		/* close_notify when the session is up (best effort, never waited for). */
		if (conn->tls_up)
			(void)SSL_shutdown(conn->ssl);
		SSL_free(conn->ssl);
		conn->ssl = NULL;
		ERR_clear_error();
	}
	close(conn->fd);
	conn->fd = -1;
	conn->tp = NULL;
	loop_timer_cancel(&conn->idle_tmr);
	loop_timer_cancel(&conn->frame_tmr);
	list_unlink(&conn->le);
	tp->nconns--;
	mbuf_reset(&conn->out);
	conn->out_off = 0;
	if (!conn->processing)
		mbuf_reset(&conn->in);
	if (tp->close_h)
		tp->close_h(conn->type, &conn->peer, tp->close_arg);
	mem_deref(conn); /* the transport's reference */
}

static void conn_idle_h(void *arg)
{
	struct sip_conn *conn = arg;
	struct sip_transp *tp = conn->tp;
	uint64_t now = loop_now(tp->loop);
	uint64_t idle = tp->limits.idle_timeout_ms;

	/* Activity only stamps last_active; the timer catches up here, so busy connections do
	 * not touch the timer heap on every read. */
	if (now - conn->last_active < idle) {
		loop_timer_start(tp->loop, &conn->idle_tmr, idle - (now - conn->last_active),
				 conn_idle_h, conn);
		return;
	}
	conn_close(conn, "idle");
}

static void conn_frame_h(void *arg)
{
	conn_close(arg, "incomplete message timed out");
}

static void conn_io_h(int fd, uint32_t events, void *arg);

static int conn_events(struct sip_conn *conn)
{
	uint32_t ev = LOOP_READ;

	if (conn->want_write)
		ev |= LOOP_WRITE;
	return loop_fd_listen(conn->tp->loop, conn->fd, ev, conn_io_h, conn);
}

static int conn_alloc(struct sip_conn **connp, struct sip_transp *tp, enum sip_transport type,
		      int fd, const struct sa *peer, int tos, bool connecting)
{
	struct sip_conn *conn;
	int one = 1;
	int err;

	conn = mem_zalloc(sizeof(*conn), conn_destroy);
	if (!conn) {
		close(fd);
		return ENOMEM;
	}
	conn->fd = fd;
	conn->tp = tp;
	conn->type = type;
	conn->peer = *peer;
	conn->outgoing = connecting;
	conn->connecting = connecting;
	conn->want_write = connecting;
	conn->last_active = loop_now(tp->loop);
	mbuf_init(&conn->in);
	mbuf_init(&conn->out);
	sock_set_tos(fd, sa_af(peer), tos);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)sock_local(fd, &conn->local);
	list_append(&tp->conns[peer_hash(peer)], &conn->le, conn);
	tp->nconns++;
	err = 0;
	if (type == SIP_TP_TLS) {
		conn->ssl = tp->tls_ctx ? SSL_new(tp->tls_ctx) : NULL;
		if (!conn->ssl || SSL_set_fd(conn->ssl, fd) != 1)
			err = ENOMEM;
		else if (connecting)
			SSL_set_connect_state(conn->ssl);
		else
			SSL_set_accept_state(conn->ssl);
		/* The handshake and the first message must come within the frame timeout: a
		 * peer that connects, or completes the handshake, and then says nothing is
		 * closed then rather than at the idle timeout. */
		if (!err && !connecting)
			err = loop_timer_start(tp->loop, &conn->frame_tmr,
					       tp->limits.frame_timeout_ms, conn_frame_h, conn);
	}
	if (!err)
		err = conn_events(conn);
	if (!err)
		err = loop_timer_start(tp->loop, &conn->idle_tmr, tp->limits.idle_timeout_ms,
				       conn_idle_h, conn);
	if (err) {
		conn_close(conn, "setup failed");
		return err;
	}
	*connp = conn;
	return 0;
}

static struct sip_conn *conn_find(struct sip_transp *tp, enum sip_transport type,
				  const struct sa *peer)
{
	LIST_FOREACH (&tp->conns[peer_hash(peer)], le) {
		struct sip_conn *conn = le->data;

		if (conn->type == type && sa_eq(&conn->peer, peer))
			return conn;
	}
	return NULL;
}

/* DSCP for connections we open: that of a listening socket of the same family, TCP first. */
static int tos_for(const struct sip_transp *tp, int af)
{
	int tos = 0;

	LIST_FOREACH (&tp->socks, le) {
		const struct transp_sock *s = le->data;

		if (sa_af(&s->laddr) != af)
			continue;
		if (s->type == SIP_TP_TCP)
			return s->tos;
		if (!tos)
			tos = s->tos;
	}
	return tos;
}

static int conn_connect(struct sip_conn **connp, struct sip_transp *tp, enum sip_transport type,
			const struct sa *src, const struct sa *dst)
{
	int af = sa_af(dst);
	int fd, err;

	if (af != AF_INET && af != AF_INET6)
		return EAFNOSUPPORT;
	if (sa_is_bcast(dst))
		return EPERM;
	if (sa_is_any(dst) || sa_port(dst) == 0)
		return EINVAL;
	/* TLS is served, never opened: a phone is reached over the connection it registered on
	 * (RFC 5626 flow), and a new connection toward an address behind NAT cannot work. */
	if (type == SIP_TP_TLS)
		return ENOTCONN;
	if (tp->nconns >= tp->limits.max_conns)
		return EMFILE;
	fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return errno;
	if (src && sa_af(src) == af && !sa_is_any(src)) {
		/* Leave from the address the caller chose (multi-homed host), any port. */
		struct sa b = *src;

		sa_set_port(&b, 0);
		if (bind(fd, &b.u.sa, sa_socklen(&b)) < 0) {
			err = errno;
			close(fd);
			return err;
		}
	}
	if (connect(fd, &dst->u.sa, sa_socklen(dst)) < 0 && errno != EINPROGRESS) {
		err = errno;
		close(fd);
		return err;
	}
	return conn_alloc(connp, tp, type, fd, dst, tos_for(tp, af), true);
}

static int tls_flush(struct sip_conn *conn, bool *want_write);
static int tls_set_write(struct sip_conn *conn, bool want);

/* Sends what the socket takes; returns 0 (the rest stays queued) or closes on error. */
static int conn_flush(struct sip_conn *conn)
{
	if (conn->ssl) {
		bool ww = false;
		int err = tls_flush(conn, &ww);

		return err ? err : tls_set_write(conn, ww);
	}
	while (conn->out_off < conn->out.end) {
		ssize_t n = send(conn->fd, conn->out.buf + conn->out_off,
				 conn->out.end - conn->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			int err = errno;

			if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
				return 0;
			conn_close(conn, strerror(err));
			return err;
		}
		conn->out_off += (size_t)n;
		conn->last_active = loop_now(conn->tp->loop);
	}
	/* Drained: give the memory back (idle connections should cost next to nothing). */
	mbuf_reset(&conn->out);
	conn->out_off = 0;
	if (conn->want_write) {
		conn->want_write = false;
		return conn_events(conn);
	}
	return 0;
}

static int conn_write(struct sip_conn *conn, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t queued;
	int err;

	if (!sip_conn_is_open(conn))
		return ENOTCONN;
	/* CRLF pongs are keep-alives, not messages. */
	if (conn->tp->trace && len > 2)
		conn->tp->trace(true, conn->type, &conn->peer, data, len, conn->tp->trace_arg);
	if (!conn->ssl && !conn->connecting && conn->out_off == conn->out.end) {
		ssize_t n = send(conn->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			err = errno;
			if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
				conn_close(conn, strerror(err));
				return err;
			}
			n = 0;
		}
		conn->last_active = loop_now(conn->tp->loop);
		p += n;
		len -= (size_t)n;
		if (len == 0)
			return 0;
	}
	queued = conn->out.end - conn->out_off;
	if (queued + len > OUT_MAX) {
		conn_close(conn, "peer does not read (output queue full)");
		return ENOBUFS;
	}
	if (conn->out_off && conn->out_off >= conn->out.end / 2) {
		memmove(conn->out.buf, conn->out.buf + conn->out_off, queued);
		conn->out.end = queued;
		conn->out_off = 0;
	}
	err = mbuf_write(&conn->out, p, len);
	if (err)
		return err;
	if (conn->ssl) {
		/* Plaintext is queued, then handed to OpenSSL as far as the socket takes it. */
		return conn->connecting ? 0 : conn_flush(conn);
	}
	if (!conn->want_write && !conn->connecting) {
		conn->want_write = true;
		return conn_events(conn);
	}
	return 0;
}

/* Frames one message (or keep-alive) at the start of p. Returns 0 with *used set, ENODATA when
 * more bytes are needed, or another error after closing the connection. */
static int conn_frame_one(struct sip_conn *conn, const uint8_t *p, size_t len, size_t *used)
{
	static const char ping[] = "\r\n\r\n";
	struct sip_transp *tp = conn->tp;
	struct sip_parse_error perr = {0};
	struct sip_msg *msg = NULL;
	bool broken;
	int err;

	if (p[0] == '\r' || p[0] == '\n') {
		/* RFC 5626 §4.4.1: a double CRLF is a ping, answered with one CRLF (pong). Any
		 * other line end between messages is ignored (RFC 3261 §7.5). */
		if (len >= 4 && memcmp(p, ping, 4) == 0) {
			*used = 4;
			err = conn_write(conn, "\r\n", 2);
			return err;
		}
		if (len < 4 && memcmp(p, ping, len) == 0)
			return ENODATA; /* maybe the start of a ping */
		*used = (len >= 2 && p[0] == '\r' && p[1] == '\n') ? 2 : 1;
		return 0;
	}
	err = sip_msg_parse(&msg, p, len, false, used, &perr);
	if (err == ENODATA)
		return ENODATA;
	if (err || *used == 0) {
		char buf[SA_STRLEN];

		log_debug("tcp: bad stream from %s: %s", sa_fmt(&conn->peer, buf, sizeof(buf)),
			  perr.reason ? perr.reason : strerror(err ? err : EBADMSG));
		mem_deref(msg);
		conn_close(conn, "unframeable input");
		return err ? err : EBADMSG;
	}
	msg->tp = conn->type;
	msg->src = conn->peer;
	msg->dst = conn->local;
	msg->conn = mem_ref(conn);
	msg->sock = -1;
	if (tp->trace)
		tp->trace(false, conn->type, &conn->peer, msg->raw.p, msg->raw.l, tp->trace_arg);
	/* Without a valid Content-Length the end of this message, and so the start of the next,
	 * is a guess (RFC 3261 §18.3): answer this one, then give up on the stream. */
	broken = !msg->has_clen;
	tp->h(msg, tp->arg);
	mem_deref(msg);
	if (broken) {
		conn_close(conn, "no valid Content-Length");
		return EPROTO;
	}
	return 0;
}

static void conn_input(struct sip_conn *conn, const uint8_t *rd, size_t n)
{
	struct sip_transp *tp = conn->tp;
	const uint8_t *data = rd;
	size_t len = n, off = 0, rest;
	bool blank;

	if (conn->in.end) {
		if (mbuf_write(&conn->in, rd, n)) {
			conn_close(conn, "out of memory");
			return;
		}
		data = conn->in.buf;
		len = conn->in.end;
	}
	conn->processing = true;
	while (off < len && sip_conn_is_open(conn)) {
		size_t used = 0;

		if (conn_frame_one(conn, data + off, len - off, &used))
			break;
		off += used;
	}
	conn->processing = false;
	if (!sip_conn_is_open(conn)) {
		mbuf_reset(&conn->in);
		return;
	}
	rest = len - off;
	if (rest > SIP_MSG_MAX) {
		conn_close(conn, "message too large");
		return;
	}
	if (data == conn->in.buf) {
		memmove(conn->in.buf, conn->in.buf + off, rest);
		conn->in.end = rest;
		if (rest == 0)
			mbuf_reset(&conn->in);
	} else if (rest && mbuf_write(&conn->in, data + off, rest)) {
		conn_close(conn, "out of memory");
		return;
	}
	/* A pending CRLF (half a ping, or a pong) is not a message under way. */
	blank = is_blank(conn->in.buf, conn->in.end);
	if (!blank && !loop_timer_active(&conn->frame_tmr))
		loop_timer_start(tp->loop, &conn->frame_tmr, tp->limits.frame_timeout_ms,
				 conn_frame_h, conn);
	else if (blank)
		loop_timer_cancel(&conn->frame_tmr);
}

/* ---------------------------------------------------------------------------------------------
 * TLS on a connection: OpenSSL reads and writes the non-blocking socket itself; the handshake is
 * driven by the first SSL_read (server) or SSL_write (client). Plaintext output waits in the
 * connection's output queue (bounded by OUT_MAX like TCP's) until OpenSSL has taken it.
 */

static const char *tls_reason(int e)
{
	unsigned long code = ERR_peek_last_error();
	const char *r = code ? ERR_reason_error_string(code) : NULL;

	if (r)
		return r;
	return e == SSL_ERROR_SYSCALL ? "closed by peer" : "TLS error";
}

/* Registers or drops LOOP_WRITE as OpenSSL needs. */
static int tls_set_write(struct sip_conn *conn, bool want)
{
	if (!sip_conn_is_open(conn) || conn->connecting || conn->want_write == want)
		return 0;
	conn->want_write = want;
	if (conn_events(conn)) {
		conn_close(conn, "event registration failed");
		return EIO;
	}
	return 0;
}

/* Hands queued plaintext to OpenSSL. Returns 0 (the rest waits; *want_write set when the socket
 * is full) or an error after closing. */
static int tls_flush(struct sip_conn *conn, bool *want_write)
{
	while (conn->out_off < conn->out.end) {
		size_t left = conn->out.end - conn->out_off;
		int n, e;

		ERR_clear_error();
		n = SSL_write(conn->ssl, conn->out.buf + conn->out_off,
			      left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0) {
			conn->out_off += (size_t)n;
			conn->last_active = loop_now(conn->tp->loop);
			continue;
		}
		e = SSL_get_error(conn->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE) {
			*want_write = true;
			return 0;
		}
		if (e == SSL_ERROR_WANT_READ)
			return 0; /* handshake under way: tried again after the next read */
		conn_close(conn, tls_reason(e));
		return EPIPE;
	}
	mbuf_reset(&conn->out);
	conn->out_off = 0;
	return 0;
}

static void tls_read(struct sip_conn *conn, bool *want_write)
{
	struct sip_transp *tp = conn->tp;

	if (rx_area(tp)) {
		conn_close(conn, "out of memory");
		return;
	}
	for (int i = 0; i < TLS_READS_MAX && sip_conn_is_open(conn); i++) {
		int n, e;

		ERR_clear_error();
		n = SSL_read(conn->ssl, tp->rx, RX_SLOT);
		if (!conn->tls_up && SSL_is_init_finished(conn->ssl)) {
			char buf[SA_STRLEN];

			conn->tls_up = true;
			log_debug("tls: %s: %s %s", sa_fmt(&conn->peer, buf, sizeof(buf)),
				  SSL_get_version(conn->ssl), SSL_get_cipher_name(conn->ssl));
		}
		if (n > 0) {
			conn->last_active = loop_now(tp->loop);
			conn_input(conn, tp->rx, (size_t)n);
			continue;
		}
		e = SSL_get_error(conn->ssl, n);
		switch (e) {
		case SSL_ERROR_WANT_READ:
			return;
		case SSL_ERROR_WANT_WRITE:
			*want_write = true;
			return;
		case SSL_ERROR_ZERO_RETURN:
			conn_close(conn, "closed by peer (close_notify)");
			return;
		default:
			/* A plain TCP client, an old protocol version, a bad record: the reason
			 * OpenSSL gives ("wrong version number", "unsupported protocol"). */
			conn_close(conn, tls_reason(e));
			return;
		}
	}
}

/* Both directions on every wake-up: a read may complete a handshake that output waits for, and
 * a write may need the socket to drain first. */
static void tls_io(struct sip_conn *conn)
{
	bool ww = false;

	tls_read(conn, &ww);
	if (!sip_conn_is_open(conn))
		return;
	if (conn->out_off < conn->out.end && tls_flush(conn, &ww))
		return;
	(void)tls_set_write(conn, ww);
}

static void conn_read(struct sip_conn *conn)
{
	struct sip_transp *tp = conn->tp;
	ssize_t n;

	if (rx_area(tp)) {
		conn_close(conn, "out of memory");
		return;
	}
	n = recv(conn->fd, tp->rx, RX_SLOT, MSG_DONTWAIT);
	if (n == 0) {
		conn_close(conn, "closed by peer");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(conn, strerror(errno));
		return;
	}
	conn->last_active = loop_now(tp->loop);
	conn_input(conn, tp->rx, (size_t)n);
}

static void conn_io_h(int fd, uint32_t events, void *arg)
{
	struct sip_conn *conn = mem_ref(arg);

	if (conn->connecting && (events & (LOOP_WRITE | LOOP_ERROR))) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			conn_close(conn, strerror(soerr));
			goto out;
		}
		conn->connecting = false;
		(void)sock_local(fd, &conn->local);
		conn->want_write = !conn->ssl && conn->out_off < conn->out.end;
		if (conn_events(conn)) {
			conn_close(conn, "event registration failed");
			goto out;
		}
		if (conn_flush(conn))
			goto out;
	} else if (conn->ssl) {
		tls_io(conn);
		goto out;
	} else if (events & LOOP_WRITE) {
		if (conn_flush(conn))
			goto out;
	}
	if (sip_conn_is_open(conn) && (events & (LOOP_READ | LOOP_ERROR)))
		conn_read(conn);
out:
	mem_deref(conn);
}

static void tcp_accept_h(int fd, uint32_t events, void *arg);

/* Open connections (TCP and TLS, both directions) with peers at addr's IP address. A scan:
 * it runs once per accept, over at most max_conns connections. */
static size_t conns_from(const struct sip_transp *tp, const struct sa *addr)
{
	size_t n = 0;

	for (size_t i = 0; i < CONN_BUCKETS; i++) {
		LIST_FOREACH (&tp->conns[i], le) {
			const struct sip_conn *c = le->data;

			n += sa_eq_addr(&c->peer, addr);
		}
	}
	return n;
}

static void tcp_resume_h(void *arg)
{
	struct transp_sock *s = arg;

	if (loop_fd_listen(s->tp->loop, s->fd, LOOP_READ, tcp_accept_h, s))
		loop_timer_start(s->tp->loop, &s->pause_tmr, ACCEPT_PAUSE_MS, tcp_resume_h, s);
}

static void tcp_accept_h(int fd, uint32_t events, void *arg)
{
	struct transp_sock *s = arg;
	struct sip_transp *tp = s->tp;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct sip_conn *conn;
		struct sa peer;
		char buf[SA_STRLEN];
		int cfd;

		cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			int err = errno;

			if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR ||
			    err == ECONNABORTED)
				return;
			/* Out of descriptors or memory: the listener stays readable, so stop
			 * watching it for a moment instead of spinning on the error. */
			log_warn("tcp: accept: %s; pausing", strerror(err));
			loop_fd_remove(tp->loop, fd);
			loop_timer_start(tp->loop, &s->pause_tmr, ACCEPT_PAUSE_MS, tcp_resume_h, s);
			return;
		}
		sa_from_sockaddr(&peer, &ss, sl);
		if (tp->nconns >= tp->limits.max_conns) {
			/* Accept and drop rather than leave it in the backlog, where the peer
			 * would wait for nothing and the listener would stay readable. */
			log_debug("tcp: connection from %s refused: %zu connections open",
				  sa_fmt(&peer, buf, sizeof(buf)), tp->nconns);
			close(cfd);
			continue;
		}
		if (conns_from(tp, &peer) >= tp->limits.max_conns_per_addr) {
			log_debug("tcp: connection from %s refused: %zu connections from that "
				  "address",
				  sa_fmt(&peer, buf, sizeof(buf)), tp->limits.max_conns_per_addr);
			close(cfd);
			continue;
		}
		if (conn_alloc(&conn, tp, s->type, cfd, &peer, s->tos, false))
			log_warn("tcp: connection from %s dropped: out of memory",
				 sa_fmt(&peer, buf, sizeof(buf)));
	}
}

/* ---------------------------------------------------------------------------------------------
 * Listening
 */

int sip_transp_listen(struct sip_transp *tp, enum sip_transport type, const struct sa *laddr,
		      int tos)
{
	struct transp_sock *s = NULL;
	int af, fd = -1, one = 1, err;

	if (!tp || !sa_isset(laddr))
		return EINVAL;
	if (type != SIP_TP_UDP && type != SIP_TP_TCP && type != SIP_TP_TLS)
		return EPROTONOSUPPORT;
	if (type == SIP_TP_TLS && !tp->tls_ctx)
		return ENOPROTOOPT; /* sip_transp_tls() first */
	af = sa_af(laddr);
	err = rx_area(tp);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	fd = socket(af, (type == SIP_TP_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail_errno;
	if (af == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail_errno;
	if (type == SIP_TP_UDP) {
		/* Learn the local address of every datagram, so the reply leaves from it. */
		if (af == AF_INET6) {
			if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
				goto fail_errno;
		} else if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) {
			goto fail_errno;
		}
		/* Receive timestamps for the overload signal; without them it stays quiet. */
		if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
			log_warn("udp: SO_TIMESTAMPNS: %s; no overload detection",
				 strerror(errno));
		udp_set_buffers(fd);
	}
	sock_set_tos(fd, af, tos);
	if (bind(fd, &laddr->u.sa, sa_socklen(laddr)) < 0)
		goto fail_errno;
	if (type != SIP_TP_UDP && listen(fd, SOMAXCONN) < 0)
		goto fail_errno;
	err = sock_local(fd, &s->laddr);
	if (err)
		goto fail;
	s->tp = tp;
	s->type = type;
	s->fd = fd;
	s->tos = tos;
	s->wildcard = sa_is_any(&s->laddr);
	err = loop_fd_listen(tp->loop, fd, LOOP_READ,
			     type == SIP_TP_UDP ? udp_recv_h : tcp_accept_h, s);
	if (err)
		goto fail;
	list_append(&tp->socks, &s->le, s);
	return 0;

fail_errno:
	err = errno;
fail:
	if (fd >= 0)
		close(fd);
	free(s);
	return err;
}

int sip_transp_tls(struct sip_transp *tp, const struct sip_tls_opts *o, char *why, size_t size)
{
	SSL_CTX *ctx = NULL;
	int err;

	if (!tp || !o)
		return EINVAL;
	err = sip_tls_ctx_new(&ctx, o, why, size);
	if (err)
		return err;
	SSL_CTX_free(tp->tls_ctx);
	tp->tls_ctx = ctx;
	return 0;
}

void sip_transp_set_trace(struct sip_transp *tp, sip_transp_trace_h *h, void *arg)
{
	if (!tp)
		return;
	tp->trace = h;
	tp->trace_arg = arg;
}

int sip_transp_bound(const struct sip_transp *tp, enum sip_transport type, size_t n,
		     struct sa *laddr)
{
	if (!tp || !laddr)
		return EINVAL;
	LIST_FOREACH (&tp->socks, le) {
		const struct transp_sock *s = le->data;

		if (s->type != type)
			continue;
		if (n-- == 0) {
			*laddr = s->laddr;
			return 0;
		}
	}
	return ENOENT;
}

/* ---------------------------------------------------------------------------------------------
 * Sending
 */

static int transp_send(struct sip_transp *tp, enum sip_transport type, struct sip_conn *conn,
		       const struct sa *src, const struct sa *dst, const void *data, size_t len,
		       bool now)
{
	int err;

	if (!tp || (!data && len))
		return EINVAL;
	switch (type) {
	case SIP_TP_UDP:
		if (!dst)
			return EINVAL;
		return udp_send(tp, -1, src, dst, data, len, now);
	case SIP_TP_TCP:
	case SIP_TP_TLS:
		if (conn && conn->tp == tp && sip_conn_is_open(conn) && conn->type == type)
			return conn_write(conn, data, len);
		if (!dst || !sa_isset(dst))
			return ENOTCONN;
		conn = conn_find(tp, type, dst);
		if (!conn) {
			err = conn_connect(&conn, tp, type, src, dst);
			if (err)
				return err;
		}
		return conn_write(conn, data, len);
	default:
		return EPROTONOSUPPORT;
	}
}

int sip_transp_send(struct sip_transp *tp, enum sip_transport type, struct sip_conn *conn,
		    const struct sa *src, const struct sa *dst, const void *data, size_t len)
{
	return transp_send(tp, type, conn, src, dst, data, len, false);
}

int sip_transp_send_now(struct sip_transp *tp, enum sip_transport type, struct sip_conn *conn,
			const struct sa *src, const struct sa *dst, const void *data, size_t len)
{
	return transp_send(tp, type, conn, src, dst, data, len, true);
}

void sip_sockaddr_set(union sip_sockaddr *out, const struct sa *sa)
{
	memset(out, 0, sizeof(*out));
	if (sa_af(sa) == AF_INET)
		out->in = sa->u.in;
	else if (sa_af(sa) == AF_INET6)
		out->in6 = sa->u.in6;
}

bool sip_sockaddr_get(struct sa *sa, const union sip_sockaddr *in)
{
	memset(sa, 0, sizeof(*sa));
	if (in->sa.sa_family == AF_INET) {
		sa->u.in = in->in;
		sa->len = sizeof(in->in);
	} else if (in->sa.sa_family == AF_INET6) {
		sa->u.in6 = in->in6;
		sa->len = sizeof(in->in6);
	} else {
		return false;
	}
	return true;
}

void sip_resp_route_set(struct sip_resp_route *rr, const struct sip_msg *req)
{
	const struct sip_via *via = &req->via;

	sip_sockaddr_set(&rr->peer, &req->src);
	sip_sockaddr_set(&rr->local, &req->dst);
	rr->conn = req->conn;
	rr->sock = req->sock;
	rr->tp = req->tp;
	if (req->via_ok && via->port)
		rr->port = via->port;
	else
		rr->port = req->tp == SIP_TP_TLS ? SIP_TLS_PORT_DEFAULT : SIP_PORT_DEFAULT;
	/* RFC 3581 §4: with rport, back to the source port too; without, to the sent-by port. */
	rr->to_port = req->via_ok && !via->rport;
}

int sip_transp_send_route(struct sip_transp *tp, const struct sip_resp_route *rr, const void *data,
			  size_t len)
{
	struct sa local, dst;
	const struct sa *src;

	if (!tp || !rr || (!data && len))
		return EINVAL;
	src = sip_sockaddr_get(&local, &rr->local) ? &local : NULL;
	sip_sockaddr_get(&dst, &rr->peer);

	/* Where a response goes is decided by the packet's source, never by addresses the
	 * sender wrote: a request's own `received` is meaningless (the receiving server adds
	 * it), and honouring it or `maddr` would let any sender aim our responses at a third
	 * party. The source address is what `received` would say anyway (§18.2.1). */
	if (sip_transport_reliable(rr->tp)) {
		/* §18.2.2: the connection the request came on; if it is gone, a new one to the
		 * source address and the sent-by port. */
		if (rr->conn && rr->conn->tp == tp && sip_conn_is_open(rr->conn))
			return conn_write(rr->conn, data, len);
		sa_set_port(&dst, rr->port);
		return transp_send(tp, rr->tp, NULL, src, &dst, data, len, false);
	}
	if (rr->tp != SIP_TP_UDP)
		return EPROTONOSUPPORT;
	if (rr->to_port)
		sa_set_port(&dst, rr->port);
	return udp_send(tp, rr->sock, src, &dst, data, len, false);
}

int sip_transp_send_response(struct sip_transp *tp, const struct sip_msg *req, const void *data,
			     size_t len)
{
	struct sip_resp_route rr;

	if (!tp || !req || (!data && len))
		return EINVAL;
	sip_resp_route_set(&rr, req);
	return sip_transp_send_route(tp, &rr, data, len);
}

static bool sockaddr_eq(const union sip_sockaddr *a, const union sip_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port &&
	       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
	       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(a->in6.sin6_addr));
}

/* The source address the routing table gives for `to`: from the cache while fresh, else by
 * connecting the probe socket (which sends nothing). Failures are not kept, so an unreachable
 * destination is asked about again every time. */
static int route_lookup(const struct sip_transp *tp, int *fdp, const struct sa *to, struct sa *l)
{
	struct transp_probe *pr = tp->probe;
	union sip_sockaddr key;
	uint64_t now = loop_now(tp->loop);
	struct transp_route *r;
	int err;

	sip_sockaddr_set(&key, to);
	for (size_t i = 0; i < ROUTE_CACHE; i++) {
		r = &pr->routes[i];
		if (r->expires > now && sockaddr_eq(&r->dst, &key)) {
			sip_sockaddr_get(l, &r->local);
			return 0;
		}
	}
	/* Connecting a UDP socket sends nothing: it only asks the routing table for a source. */
	if (connect(*fdp, &to->u.sa, sa_socklen(to)) < 0)
		return errno;
	err = sock_local(*fdp, l);
	if (err)
		return err;
	r = &pr->routes[pr->next];
	pr->next = (pr->next + 1) % ROUTE_CACHE;
	r->dst = key;
	sip_sockaddr_set(&r->local, l);
	r->expires = now + ROUTE_TTL_MS;
	return 0;
}

int sip_transp_local_for(const struct sip_transp *tp, const struct sa *dst, struct sa *local)
{
	int af, *fdp;
	struct sa to, l;
	int err;

	if (!tp || !sa_isset(dst) || !local)
		return EINVAL;
	af = sa_af(dst);
	fdp = af == AF_INET6 ? &tp->probe->fd6 : &tp->probe->fd4;
	if (*fdp < 0) {
		*fdp = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (*fdp < 0)
			return errno;
	}
	to = *dst;
	if (!sa_port(&to))
		sa_set_port(&to, SIP_PORT_DEFAULT);
	err = route_lookup(tp, fdp, &to, &l);
	if (err)
		return err;
	/* The probe's own port means nothing: give the port of a listening socket that can
	 * use this address (UDP first), or 0. */
	sa_set_port(&l, 0);
	for (int pass = 0; pass < 2 && !sa_port(&l); pass++) {
		LIST_FOREACH (&tp->socks, le) {
			const struct transp_sock *s = le->data;

			if ((pass == 0) != (s->type == SIP_TP_UDP) || sa_af(&s->laddr) != af)
				continue;
			if (s->wildcard || sa_eq_addr(&s->laddr, &l)) {
				sa_set_port(&l, sa_port(&s->laddr));
				break;
			}
		}
	}
	if (!sa_port(&l)) {
		/* No socket can send from the kernel's choice (the daemon is bound to specific
		 * addresses only): what we put in Via, Contact and SDP must be an address we
		 * listen on, so take the first bound one of that family (UDP first). */
		for (int pass = 0; pass < 2 && !sa_port(&l); pass++) {
			LIST_FOREACH (&tp->socks, le) {
				const struct transp_sock *s = le->data;

				if ((pass == 0) != (s->type == SIP_TP_UDP) ||
				    sa_af(&s->laddr) != af || s->wildcard)
					continue;
				l = s->laddr;
				break;
			}
		}
	}
	*local = l;
	return 0;
}
