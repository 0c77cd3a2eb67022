/* line_int.h: the line client's internals shared by its files (state machine, sockets,
 * rtnetlink, lease files, probe) and by the unit tests, which replace the I/O operations. */
#ifndef MIKAKA_LINE_INT_H
#define MIKAKA_LINE_INT_H

#include <sys/types.h>
#include <time.h>

#include "dhcp_int.h"
#include "line.h"
#include "loop.h"

struct line_sock;

/* What the state machine needs from the system. The Linux set (line_ops_linux) uses AF_PACKET
 * before an address exists, a UDP socket after, rtnetlink for address and routes, and an ARP
 * probe; unit tests put recorders in their place. */
struct line_ops {
	/* Switches the transport: udp = false: raw (no address yet), true: UDP from `addr`. */
	int (*open)(struct line *line, bool udp, struct in_addr addr);
	/* Sends a client message to dst (INADDR_BROADCAST or a server's unicast address). */
	int (*send)(struct line *line, const uint8_t *buf, size_t len, struct in_addr dst);
	/* Installs next's address and routes and removes what prev (NULL: nothing) had that next
	 * has not. On failure nothing of next stays installed. */
	int (*apply)(struct line *line, const struct line_lease *prev,
		     const struct line_lease *next);
	/* Removes the address and routes of l. */
	void (*remove)(struct line *line, const struct line_lease *l);
	/* Sends an ARP probe for addr; a conflict seen is reported with line_arp_conflict(). */
	int (*arp_probe)(struct line *line, struct in_addr addr);
	/* Closes every socket. */
	void (*close)(struct line *line);
};

extern const struct line_ops line_ops_linux;

/* RFC 2131 §4.1 retransmission: 4 s doubling to 64 s, each +-1 s. */
#define LINE_RETX_FIRST_MS   4000
#define LINE_RETX_MAX_MS     64000
#define LINE_REQUEST_TRIES   4 /* REQUESTING: then back to DISCOVER */
#define LINE_REBOOT_TRIES    3 /* INIT-REBOOT: then DISCOVER */
#define LINE_RENEW_MIN_MS    60000
#define LINE_DECLINE_WAIT_MS 10000 /* RFC 2131 §3.1.5 */

struct line {
	struct loop *loop;
	struct line_config cfg;
	line_change_h *h;
	void *arg;
	const struct line_ops *ops;
	void *ops_arg;
	struct line_sock *sock;
	int ifindex;
	uint8_t mac[6];
	struct line_info info;

	uint32_t xid;
	uint64_t start_ms;	  /* start of this acquisition (for secs) */
	uint64_t req_sent_ms;	  /* the lease counts from the REQUEST that got it acknowledged */
	unsigned tries;		  /* transmissions in this state */
	uint64_t backoff_ms;	  /* next retransmission delay */
	unsigned naks;		  /* NAKs since the last bind (throttles restarts) */
	bool jitter;		  /* +-1 s randomisation (tests switch it off) */
	struct line_lease offer;  /* the OFFER being requested / the ACK being checked */
	struct line_lease reboot; /* the stored lease tried by INIT-REBOOT */
	bool has_reboot;
	struct line_lease applied; /* installed in the kernel */
	bool has_applied;
	uint8_t pending_ack[DHCP_MAX_LEN]; /* while CHECKING */
	size_t pending_len;

	struct loop_timer retx; /* retransmission, INIT delay, ARP wait */
	struct loop_timer t1, t2, expire;
	struct loop_timer watch; /* lease_file mode: re-read when the file changes */
	struct timespec watch_mtime;
	off_t watch_size;
	uint64_t t1_at, t2_at, expire_at; /* loop clock; 0 = not armed (infinite lease) */

	unsigned log_budget; /* ignored-packet log lines left in this minute */
	uint64_t log_window;

	/* probe mode: nothing installed, stop at the first ACK */
	bool probe;
	bool probe_done;
	struct dhcp_pkt *probe_offer, *probe_ack;
};

/* Allocates with the given operations (tests), or line_ops_linux when ops is NULL. */
int line_alloc_ops(struct line **lp, struct loop *loop, const struct line_config *cfg,
		   const struct line_ops *ops, void *ops_arg, line_change_h *h, void *arg);
/* Starts acquisition (INIT-REBOOT when a stored lease is usable, else DISCOVER). */
void line_start(struct line *line);
/* A DHCP payload received on the client port. */
void line_input(struct line *line, const uint8_t *buf, size_t len);
/* Cancels every timer, removes the lease unless keep_on_exit, closes the sockets. */
void line_stop(struct line *line);
/* The ARP probe saw another host answering for the address being checked. */
void line_arp_conflict(struct line *line);

/* State file: writes the raw ACK with the acquisition time; reads it back into a lease that is
 * still valid by the wall clock (ENOENT, ESTALE when expired, EINVAL when unusable). */
int line_state_save(const struct line *line, const uint8_t *ack, size_t len);
int line_state_load(const struct line_config *cfg, const uint8_t mac[6], struct line_lease *lease,
		    time_t *acquired);

/* External lease files: dhclient's `lease { ... }` blocks (the last one) or systemd-networkd's
 * KEY=VALUE leases. Fills lease; EINVAL when neither format is recognised. */
int line_lease_file_read(const char *path, struct line_lease *lease, time_t *expires);

/* rtnetlink: install next (removing what prev had that next has not; on failure nothing of
 * next stays), remove a lease, set the interface's MAC address. */
int line_nl_apply(int ifindex, const struct line_lease *prev, const struct line_lease *next);
void line_nl_remove(int ifindex, const struct line_lease *l);
int line_nl_set_mac(int ifindex, const uint8_t mac[6]);

/* Interface index and MAC address. */
int line_if_info(const char *ifname, int *ifindex, uint8_t mac[6]);

/* Formats a MAC as aa:bb:cc:dd:ee:ff. */
const char *line_mac_fmt(const uint8_t mac[6], char *buf, size_t size);
/* "address server number" for an enum line_change mask, in buf. */
const char *line_changes_text(unsigned ch, char *buf, size_t size);
/* Prints the decoded values of a lease (probe and show). */
void line_lease_print(const struct line_lease *l, bool json, struct mbuf *out);

#endif /* MIKAKA_LINE_INT_H */
