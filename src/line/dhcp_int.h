/* dhcp_int.h: the DHCPv4 packet codec (RFC 2131/2132) private to line/: building client
 * messages and decoding server replies, with RFC 3396 concatenation and the NGN options. */
#ifndef MIKAKA_LINE_DHCP_INT_H
#define MIKAKA_LINE_DHCP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "line.h"

#define DHCP_SERVER_PORT    67
#define DHCP_CLIENT_PORT    68
#define DHCP_FIXED_LEN	    236 /* op .. file, before the magic cookie */
#define DHCP_MIN_LEN	    240 /* fixed part and magic cookie */
#define DHCP_MAX_LEN	    1500 /* largest reply accepted (one Ethernet frame's worth of UDP data) */
#define DHCP_MAGIC	    0x63825363u
#define DHCP_NGN_ENTERPRISE 210

enum dhcp_type {
	DHCP_DISCOVER = 1,
	DHCP_OFFER = 2,
	DHCP_REQUEST = 3,
	DHCP_DECLINE = 4,
	DHCP_ACK = 5,
	DHCP_NAK = 6,
	DHCP_RELEASE = 7,
	DHCP_INFORM = 8,
};

enum dhcp_opt {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_SUBNET = 1,
	DHCP_OPT_ROUTER = 3,
	DHCP_OPT_REQ_ADDR = 50,
	DHCP_OPT_LEASE = 51,
	DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_TYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PARAMS = 55,
	DHCP_OPT_MESSAGE = 56,
	DHCP_OPT_MAX_SIZE = 57,
	DHCP_OPT_T1 = 58,
	DHCP_OPT_T2 = 59,
	DHCP_OPT_VENDOR_CLASS = 60,
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_SIP = 120,
	DHCP_OPT_ROUTES = 121,
	DHCP_OPT_VI_CLASS = 124,
	DHCP_OPT_VI_INFO = 125,
	DHCP_OPT_END = 255,
};

/* A decoded packet: the fixed fields and every option, each instance of a code concatenated
 * in RFC 3396 order (options field, then file, then sname when option 52 says so). */
struct dhcp_pkt {
	uint8_t op, htype, hlen;
	uint32_t xid; /* host order */
	uint16_t secs, flags;
	struct in_addr ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	uint8_t type; /* option 53; 0 when absent */
	bool present[256];
	uint16_t off[256], len[256]; /* into data[] */
	uint8_t data[DHCP_MAX_LEN];
	size_t used;
};

/* Decodes a BOOTP/DHCP packet (the UDP payload). Rejects (EBADMSG) a packet shorter than the
 * fixed part, a wrong cookie, an option running past its field, and a missing or bad option 53.
 * Pads, unknown options and a missing END are tolerated. */
int dhcp_pkt_decode(struct dhcp_pkt *pkt, const uint8_t *buf, size_t len);
/* The concatenated value of option `code`: true when present, *p and *len set. */
bool dhcp_pkt_opt(const struct dhcp_pkt *pkt, uint8_t code, const uint8_t **p, size_t *len);

/* Why an option was left out of the lease: a short text per rejected option (for the log). */
struct dhcp_problems {
	char text[512];
	size_t n;
};

/* Fills lease from the packet's yiaddr and options. An option that fails its checks is left
 * out entirely (and named in probs, may be NULL), never half-decoded. */
void dhcp_lease_decode(struct line_lease *lease, const struct dhcp_pkt *pkt,
		       struct dhcp_problems *probs);
/* Checks that an ACK/OFFER's lease can be used: an address that is not 0.0.0.0, broadcast,
 * multicast or loopback; a lease time that is not 0. EINVAL with a reason in why. */
int dhcp_lease_check(const struct line_lease *lease, bool need_time, const char **why);

/* Single-option decoders (exported for tests and the fuzzer). Each returns 0 or EBADMSG. */
int dhcp_opt120_decode(struct line_lease *lease, const uint8_t *p, size_t len);
int dhcp_opt121_decode(struct line_lease *lease, const uint8_t *p, size_t len);
int dhcp_opt125_decode(struct line_lease *lease, const uint8_t *p, size_t len);
/* One DNS name in wire format at p[*pos] within the len bytes of an option, into text (no
 * trailing dot). Compression pointers may only point backwards (so they cannot loop). */
int dhcp_dns_name(const uint8_t *p, size_t len, size_t *pos, char *text, size_t size);

/* What a client message carries. */
struct dhcp_req {
	enum dhcp_type type;
	uint32_t xid;
	uint16_t secs;
	bool broadcast; /* BOOTP broadcast flag */
	uint8_t mac[6];
	struct in_addr ciaddr;	  /* RENEWING/REBINDING (and RELEASE) */
	struct in_addr req_addr;  /* option 50 (SELECTING, INIT-REBOOT, DECLINE) */
	struct in_addr server_id; /* option 54 (REQUEST after OFFER, DECLINE) */
	const char *vendor_class; /* option 60 when not NULL/empty */
};

/* Builds the UDP payload of a client message: 53, 61 (type 1 + MAC), 50, 54, 57, 55
 * (1 3 51 54 58 59 120 121 125), 60, 124 (enterprise 210, one item: the MAC), END, padded to
 * the BOOTP minimum of 300 bytes. */
int dhcp_build(struct mbuf *mb, const struct dhcp_req *req);

/* Appends a human or JSON rendering of every option in pkt to out (probe). */
void dhcp_pkt_print(const struct dhcp_pkt *pkt, bool json, struct mbuf *out);

/* IPv4 prefix length of a contiguous netmask (network order); -1 when not contiguous. */
int dhcp_mask_plen(struct in_addr mask);

/* Appends `name` with an option value to a synthetic packet (lease-file import). */
int dhcp_pkt_add(struct dhcp_pkt *pkt, uint8_t code, const uint8_t *p, size_t len);

#endif /* MIKAKA_LINE_DHCP_INT_H */
