/* line: discovery of the carrier line: a DHCPv4 client on the ONU-facing interface (RFC 2131),
 * the NGN options it decodes (120, 121, 124/125 enterprise 210), the lease applied through
 * rtnetlink, and the line variables (LINE_NUMBER, LINE_DOMAIN, ...) the configuration uses. */
#ifndef MIKAKA_LINE_H
#define MIKAKA_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <net/if.h>
#include <time.h>

#include "base.h"
#include "conf.h"

struct loop;
struct line;

#define LINE_NUMBERS_MAX 8   /* 202 plus up to 7 additional numbers (203) */
#define LINE_NUMBER_LEN	 32  /* digits, NUL included */
#define LINE_DOMAIN_LEN	 256 /* a DNS name as text, NUL included */
#define LINE_SERVERS_MAX 4
#define LINE_ROUTES_MAX	 32

/* One option-121 route (RFC 3442). gw 0.0.0.0 means "on link". Network byte order. */
struct line_route {
	struct in_addr dst;
	uint8_t plen;
	struct in_addr gw;
};

/* The values decoded from one DHCPACK (or from an external lease file). Addresses are in
 * network byte order; a zero s_addr means "absent". */
struct line_lease {
	struct in_addr address;	  /* yiaddr */
	uint8_t plen;		  /* from option 1 (32 when absent) */
	struct in_addr router;	  /* option 3, first address (informative: never installed) */
	struct in_addr server_id; /* option 54 */
	uint32_t lease_time;	  /* option 51, seconds; LINE_LEASE_INFINITE for 0xffffffff */
	uint32_t t1, t2;	  /* options 58/59, or the RFC 2131 defaults (0.5, 0.875) */
	struct in_addr sip_servers[LINE_SERVERS_MAX]; /* option 120, encoding 1 */
	size_t nsip_servers;
	char sip_names[LINE_SERVERS_MAX][LINE_DOMAIN_LEN]; /* option 120, encoding 0 */
	size_t nsip_names;
	struct line_route routes[LINE_ROUTES_MAX]; /* option 121, default route included as sent */
	size_t nroutes;
	char numbers[LINE_NUMBERS_MAX][LINE_NUMBER_LEN]; /* [0] = 202, then each 203 */
	size_t nnumbers;
	bool has_number;		/* numbers[0] came from sub-option 202 */
	char domain[LINE_DOMAIN_LEN];	/* 125/210/204, without the trailing dot */
	char firmware[LINE_DOMAIN_LEN]; /* 125/210/210, not used */
	uint8_t mac[6];			/* 125/210/201 */
	bool has_mac;
};

#define LINE_LEASE_INFINITE UINT32_MAX

enum line_state {
	LINE_STOPPED = 0,
	LINE_INIT,	 /* waiting before a new DISCOVER (after NAK, DECLINE or expiry) */
	LINE_SELECTING,	 /* DISCOVER sent, waiting for an OFFER */
	LINE_REQUESTING, /* REQUEST for an OFFER sent */
	LINE_REBOOTING,	 /* INIT-REBOOT: REQUEST for the stored lease sent */
	LINE_CHECKING,	 /* ACK received, ARP probe for the address in progress */
	LINE_BOUND,
	LINE_RENEWING,	/* after T1: unicast REQUEST to the server */
	LINE_REBINDING, /* after T2: broadcast REQUEST */
	LINE_FILE,	/* values read from an external DHCP client's lease file */
};

/* What changed, in a line_change_h call. */
enum line_change {
	LINE_CHG_ADDRESS = 1 << 0, /* our address (or its prefix) */
	LINE_CHG_SERVER = 1 << 1,  /* the first option-120 server */
	LINE_CHG_NUMBER = 1 << 2,  /* any of the numbers */
	LINE_CHG_DOMAIN = 1 << 3,
	LINE_CHG_ROUTES = 1 << 4,
	LINE_CHG_LOST = 1 << 5, /* no usable lease any more (expired, NAK): values are empty */
};

/* The current state of the line, for the registration module and `line show`. */
struct line_info {
	enum line_state state;
	char ifname[IF_NAMESIZE];
	bool bound;		 /* lease holds usable values */
	struct line_lease lease; /* valid when bound */
	uint64_t bound_at;	 /* loop clock (ms) when the lease was last acknowledged */
	time_t last_change;	 /* wall clock of the last announced change (0: none yet) */
	unsigned last_changes;	 /* enum line_change mask of that change */
};

/* Called after the lease was applied (or removed) when any announced value changed: `changes`
 * is a mask of enum line_change. The handler may read everything with line_current(). */
typedef void(line_change_h)(const struct line_info *info, unsigned changes, void *arg);

/* The [line] section of mikaka.conf. */
struct line_config {
	char ifname[IF_NAMESIZE]; /* interface = NAME; empty: discovery disabled */
	uint8_t mac[6];		  /* mac = aa:bb:cc:dd:ee:ff (chaddr, 61, 124); else the iface's */
	bool has_mac;
	char vendor_class[256]; /* vendor_class = TEXT: option 60 (empty: not sent) */
	char lease_file[512];	/* lease_file = PATH: read an external client's lease instead */
	char state_file[512]; /* where our lease is stored (state_file =, else set by the daemon) */
	bool keep_on_exit;    /* keep_on_exit = yes: leave address and routes installed */
	uint32_t arp_probe_ms; /* arp_probe = MS: wait for an ARP conflict (0: off), default 200 */
	bool install;	       /* false: decode only (probe); default true */
};

/* Reads [line] from mikaka.conf (NULL or no section: discovery disabled, cfg->ifname empty).
 * Problems are appended to diags with file:line; returns EINVAL when any is an error. The
 * lease is stored in state_file (default: empty; the daemon sets one, see line_state_path). */
int line_config_load(struct line_config *cfg, const struct conf *mikakaconf,
		     struct conf_diags *diags);

/* A state-file path next to the database file: "<dir of dbpath>/line-<ifname>.lease". */
void line_state_path(char *buf, size_t size, const char *dbpath, const char *ifname);

/* Starts the client on cfg->ifname (or the lease-file watcher when cfg->lease_file is set). A
 * stored, unexpired lease is tried first (INIT-REBOOT). Needs CAP_NET_RAW and CAP_NET_ADMIN. */
int line_alloc(struct line **lp, struct loop *loop, const struct line_config *cfg, line_change_h *h,
	       void *arg);
/* Stops the client; removes the address and routes unless keep_on_exit. NULL is accepted. */
void line_free(struct line *line);

/* The current values; never NULL for an allocated line. */
const struct line_info *line_current(const struct line *line);

/* Maps `domain` (case-insensitive, trailing dot ignored) to the first option-120 address when
 * it is the line's SIP domain (LINE_DOMAIN) or the option-120 server name. *out gets port 0.
 * ENOENT when the name is not the line's. */
int line_resolve(const struct line *line, const char *domain, struct sa *out);

/* The line variable `name` (LINE_NUMBER, LINE_NUMBERS (space separated), LINE_DOMAIN,
 * LINE_SERVER, LINE_ADDRESS) into buf. ENOENT when unknown or not known yet, ENOSPC when
 * buf is too small. Works on an info so the lead can keep a copy. */
int line_info_var(const struct line_info *info, const char *name, char *buf, size_t size);
/* Same for the running line (NULL line: ENOENT). */
int line_var(const struct line *line, const char *name, char *buf, size_t size);
/* The variable names line_info_var knows, NULL-terminated. */
extern const char *const line_var_names[];

/* `mikaka line show`: state, address, server, numbers, domain, routes, T1/T2/expiry countdown,
 * last change. */
int line_show(const struct line *line, struct mbuf *out);

/* `mikaka line probe`: one blocking discovery on ifname (its own small loop) with nothing
 * installed; prints every decoded value, unknown options in hex (JSON when json). Returns 0,
 * ETIMEDOUT when no server answered in timeout_ms, or an errno value (EPERM without root). */
int line_probe(const char *ifname, int timeout_ms, bool json, struct mbuf *out);

/* Name of a state ("BOUND"). */
const char *line_state_name(enum line_state state);

#endif /* MIKAKA_LINE_H */
