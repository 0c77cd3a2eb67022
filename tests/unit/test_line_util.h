/* test_line_util.h: helpers shared by the line unit tests: server replies built byte by byte
 * from NGN-NOTES §1 (a /30 lease, option 120 encoding 1, 121 routes, 125 enterprise 210). */
#ifndef MIKAKA_TEST_LINE_UTIL_H
#define MIKAKA_TEST_LINE_UTIL_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

static const uint8_t test_mac[6] = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};

/* ntt-east.ne.jp in DNS wire format: 16 bytes (NGN-NOTES §1.3) */
#define WIRE_NTT_EAST                                                                              \
	0x08, 'n', 't', 't', '-', 'e', 'a', 's', 't', 0x02, 'n', 'e', 0x02, 'j', 'p', 0x00

/* The options of a typical NGN DHCPACK: /30, router, 14400/7200/10800, server id, option 120
 * (198.51.100.10), option 121 (192.0.2.0/24 and 198.51.100.0/24 via 203.0.113.5), option 125
 * (enterprise 210: 201 MAC, 202 number, 203 additional number, 204 ntt-east.ne.jp). */
/* clang-format off */
static const uint8_t ngn_opts[] = {
	0x01, 0x04, 0xff, 0xff, 0xff, 0xfc,		/* subnet mask /30 */
	0x03, 0x04, 0xcb, 0x00, 0x71, 0x05,		/* router 203.0.113.5 */
	0x33, 0x04, 0x00, 0x00, 0x38, 0x40,		/* lease 14400 */
	0x36, 0x04, 0xc6, 0x33, 0x64, 0x01,		/* server id 198.51.100.1 */
	0x3a, 0x04, 0x00, 0x00, 0x1c, 0x20,		/* T1 7200 */
	0x3b, 0x04, 0x00, 0x00, 0x2a, 0x30,		/* T2 10800 */
	0x78, 0x05, 0x01, 0xc6, 0x33, 0x64, 0x0a,	/* 120: enc 1, 198.51.100.10 */
	0x79, 0x10, 0x18, 0xc0, 0x00, 0x02, 0xcb, 0x00, 0x71, 0x05, /* 192.0.2.0/24 */
	0x18, 0xc6, 0x33, 0x64, 0xcb, 0x00, 0x71, 0x05, /* 198.51.100.0/24 */
	0x7d, 0x37, 0x00, 0x00, 0x00, 0xd2, 0x32,	/* 125, enterprise 210, 50 bytes */
	0xc9, 0x06, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, /* 201 MAC */
	0xca, 0x0a, '0', '3', '1', '2', '3', '4', '5', '6', '7', '8', /* 202 */
	0xcb, 0x0a, '0', '3', '1', '2', '3', '4', '5', '6', '7', '9', /* 203 */
	0xcc, 0x10, WIRE_NTT_EAST,			/* 204 */
};
/* clang-format on */

/* Builds a BOOTREPLY into buf: type (option 53), then opts verbatim, then END. */
static inline size_t test_reply(uint8_t *buf, uint8_t type, uint32_t xid, const uint8_t mac[6],
				const char *yiaddr, const uint8_t *opts, size_t optlen)
{
	size_t n = 240;
	uint32_t be;

	memset(buf, 0, 240);
	buf[0] = 2;
	buf[1] = 1;
	buf[2] = 6;
	be = htonl(xid);
	memcpy(buf + 4, &be, 4);
	if (yiaddr)
		inet_pton(AF_INET, yiaddr, buf + 16);
	memcpy(buf + 28, mac, 6);
	buf[236] = 0x63;
	buf[237] = 0x82;
	buf[238] = 0x53;
	buf[239] = 0x63;
	buf[n++] = 53;
	buf[n++] = 1;
	buf[n++] = type;
	memcpy(buf + n, opts, optlen);
	n += optlen;
	buf[n++] = 255;
	return n;
}

static inline uint32_t test_ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

#endif /* MIKAKA_TEST_LINE_UTIL_H */
