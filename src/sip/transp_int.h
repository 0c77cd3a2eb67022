/* transp_int: the SIP transport's private structures (listening sockets, TCP connections),
 * shared with the rest of the SIP stack but not with its users. */
#ifndef MIKAKA_SIP_TRANSP_INT_H
#define MIKAKA_SIP_TRANSP_INT_H

#include <openssl/ssl.h>

#include "loop.h"
#include "sip.h"

/* A TCP connection, accepted or opened by us. The transport holds one reference while it is
 * open, every message read from it holds one more (msg->conn); after the close the struct
 * lives on as a tombstone (fd -1, tp NULL) until the last message lets go of it. */
struct sip_conn {
	struct le le;		/* in the transport's table of open connections, by peer */
	struct sip_transp *tp;	/* NULL once closed */
	int fd;			/* -1 once closed */
	enum sip_transport type;
	struct sa peer;
	struct sa local;
	bool outgoing;
	bool connecting;	/* non-blocking connect() not finished: output waits */
	bool want_write;	/* LOOP_WRITE is registered */
	bool processing;	/* the input buffer is being framed: do not free it */
	struct mbuf in;		/* a partial message carried over between reads */
	struct mbuf out;	/* bytes the socket would not take yet */
	size_t out_off;		/* first unsent byte of out */
	uint64_t last_active;	/* loop time of the last read or write, for the idle timer */
	struct loop_timer idle_tmr;
	struct loop_timer frame_tmr;
	SSL *ssl;		/* TLS: the session on fd (NULL for TCP) */
	bool tls_up;		/* TLS: handshake finished */
};

/* tls.c: the server context (TLS 1.2 and 1.3 only) from the options; a self-signed certificate
 * is made in o->statedir when o->certfile is unset. why gets the reason of a failure. */
int sip_tls_ctx_new(SSL_CTX **ctxp, const struct sip_tls_opts *o, char *why, size_t size);

/* True while the connection can still carry data. */
static inline bool sip_conn_is_open(const struct sip_conn *conn)
{
	return conn && conn->fd >= 0 && conn->tp;
}

/* Queueing delay of one UDP socket's datagrams (RFC 6357 overload signal). Like CoDel, it looks
 * for a standing queue, not a burst: overload begins only when every datagram waited longer
 * than the threshold for a whole hold time and the queue has grown and stays grown (a burst, or
 * the loop stalled once by a slow disk write or by other processes taking the CPU, drains by
 * itself), and ends at the first datagram that found the queue nearly empty. The gap between
 * the two thresholds keeps it from flapping at every datagram. Per socket, because the loop
 * serves its sockets in turns: a quiet socket's datagrams wait at most one turn even while a
 * flooded one's queue keeps growing. Times are CLOCK_REALTIME nanoseconds, the kernel's clock
 * for receive timestamps. */
struct sip_qdelay {
	bool over;
	uint32_t above_n;    /* datagrams in a row that waited longer than the threshold */
	int64_t above_since; /* when the first of them was read */
	int64_t above_min;   /* the lowest delay among them */
	int64_t win_start;   /* the run in windows of half the hold time: the current one... */
	int64_t win_min;     /* ...its lowest delay so far... */
	int64_t prev_min;    /* ...and the previous one's lowest (-1: none yet in this run) */
	int64_t since;	     /* when overload began (over) */
	int64_t last;	     /* when the last datagram was read */
	int64_t ewma;	     /* smoothed delay (display only) */
	int64_t last_delay;
	uint64_t onsets;
	uint64_t over_ns; /* time overloaded, completed periods */
	uint64_t samples;
};

/* The wait must have grown by this many thresholds over the run's lowest (and stayed so for
 * half the hold time) before overload begins... */
#define SIP_QDELAY_GROWTH 3
/* ...every datagram of that half hold time waited at least this long (ms): the queue is
 * heading for SIP's retransmission timer T1 (500 ms), after which clients send every request
 * again and a queue feeds itself. Below that a queue costs only latency: on a machine whose
 * other processes take the CPU for a second or two, the queue of a PBX well below its capacity
 * reaches 150-300 ms and drains by itself, and refusing its calls then loses calls that would
 * have completed (issue 12: 14-239 of 700-1,180 calls in a 10 s phase at 0.7 of capacity, at
 * onsets of 134-320 ms). 0.6 T1 leaves room for the overshoot before the backlog is refused
 * (under 3x load datagrams waited at most 80 ms more than this)... */
#define SIP_QDELAY_FLOOR_MS 300
/* ...over at least this many late datagrams in a row... */
#define SIP_QDELAY_MIN_SAMPLES 16
/* ...and at least this many bytes of datagrams waiting behind the one that starts it (the
 * kernel's accounting, about 75 SIP requests of 900 bytes; see udp_queued() in transp.c). */
#define SIP_QDELAY_MIN_QUEUE (96 * 1024)

/* One datagram handled at `now` that the kernel received at `rx`, with the overload threshold
 * delay_ms (UINT32_MAX: measure only) and hold time hold_ms: 1 when overload begins with it,
 * -1 when it ends, else 0. queued(arg), asked only when the times say overload, gives the bytes
 * still waiting (NULL: enough). Pure, so that tests can feed it any timeline. */
int sip_qdelay_sample(struct sip_qdelay *l, uint32_t delay_ms, uint32_t hold_ms, int64_t rx,
		      int64_t now, size_t (*queued)(void *arg), void *arg);

#endif /* MIKAKA_SIP_TRANSP_INT_H */
