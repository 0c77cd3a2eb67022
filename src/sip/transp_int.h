/* transp_int: the SIP transport's private structures (listening sockets, TCP connections),
 * shared with the rest of the SIP stack but not with its users. */
#ifndef MIKAKA_SIP_TRANSP_INT_H
#define MIKAKA_SIP_TRANSP_INT_H

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
};

/* True while the connection can still carry data. */
static inline bool sip_conn_is_open(const struct sip_conn *conn)
{
	return conn && conn->fd >= 0 && conn->tp;
}

#endif /* MIKAKA_SIP_TRANSP_INT_H */
