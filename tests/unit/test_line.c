/* Unit tests for the line module's DHCP codec: client messages byte for byte (option 124 as
 * NGN-NOTES §1.4 shows it), options 120/121/125 from NGN-NOTES §1, RFC 3396 long options,
 * and the bad inputs the issue lists; plus configuration, variables and lease files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dhcp_int.h"
#include "line_int.h"
#include "test_line_util.h"

/* Finds option code in a built client message (after the cookie). */
static const uint8_t *find_opt(const uint8_t *p, size_t len, uint8_t code)
{
	size_t i = 240;

	while (i < len && p[i] != 255) {
		if (p[i] == 0) {
			i++;
			continue;
		}
		if (p[i] == code)
			return p + i;
		i += 2u + p[i + 1];
	}
	return NULL;
}

static void test_build_discover(void **state)
{
	struct dhcp_req req = {.type = DHCP_DISCOVER, .xid = 0x11223344, .broadcast = true};
	static const uint8_t opt124[] = {0x7c, 0x0c, 0x00, 0x00, 0x00, 0xd2, 0x07,
					 0x06, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
	static const uint8_t opt55[] = {0x37, 9, 1, 3, 51, 54, 58, 59, 120, 121, 125};
	static const uint8_t opt61[] = {0x3d, 7, 1, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
	const uint8_t *o;
	struct mbuf mb;

	memcpy(req.mac, test_mac, 6);
	mbuf_init(&mb);
	assert_int_equal(dhcp_build(&mb, &req), 0);
	assert_true(mb.end >= 300);
	assert_int_equal(mb.buf[0], 1);
	assert_int_equal(mb.buf[1], 1);
	assert_int_equal(mb.buf[2], 6);
	assert_memory_equal(mb.buf + 4, "\x11\x22\x33\x44", 4);
	assert_int_equal(mb.buf[10], 0x80);
	assert_memory_equal(mb.buf + 28, test_mac, 6);
	assert_memory_equal(mb.buf + 236, "\x63\x82\x53\x63", 4);
	o = find_opt(mb.buf, mb.end, 53);
	assert_non_null(o);
	assert_int_equal(o[2], DHCP_DISCOVER);
	o = find_opt(mb.buf, mb.end, 124);
	assert_non_null(o);
	assert_memory_equal(o, opt124, sizeof(opt124));
	o = find_opt(mb.buf, mb.end, 55);
	assert_non_null(o);
	assert_memory_equal(o, opt55, sizeof(opt55));
	o = find_opt(mb.buf, mb.end, 61);
	assert_non_null(o);
	assert_memory_equal(o, opt61, sizeof(opt61));
	assert_null(find_opt(mb.buf, mb.end, 60)); /* no vendor class unless configured */
	assert_null(find_opt(mb.buf, mb.end, 50));
	mbuf_reset(&mb);
}

static void test_build_request(void **state)
{
	struct dhcp_req req = {.type = DHCP_REQUEST, .xid = 7, .vendor_class = "RX-600KI"};
	const uint8_t *o;
	struct mbuf mb;

	memcpy(req.mac, test_mac, 6);
	req.req_addr.s_addr = test_ip("203.0.113.6");
	req.server_id.s_addr = test_ip("198.51.100.1");
	mbuf_init(&mb);
	assert_int_equal(dhcp_build(&mb, &req), 0);
	assert_int_equal(mb.buf[10], 0); /* no broadcast flag */
	o = find_opt(mb.buf, mb.end, 50);
	assert_non_null(o);
	assert_memory_equal(o, "\x32\x04\xcb\x00\x71\x06", 6);
	o = find_opt(mb.buf, mb.end, 54);
	assert_non_null(o);
	assert_memory_equal(o, "\x36\x04\xc6\x33\x64\x01", 6);
	o = find_opt(mb.buf, mb.end, 60);
	assert_non_null(o);
	assert_int_equal(o[1], 8);
	assert_memory_equal(o + 2, "RX-600KI", 8);
	mbuf_reset(&mb);

	/* DECLINE: no parameter list (RFC 2131 table 5) */
	req.type = DHCP_DECLINE;
	mbuf_init(&mb);
	assert_int_equal(dhcp_build(&mb, &req), 0);
	assert_null(find_opt(mb.buf, mb.end, 55));
	assert_non_null(find_opt(mb.buf, mb.end, 50));
	mbuf_reset(&mb);
}

static void decode_ngn(struct dhcp_pkt *pkt, struct line_lease *l)
{
	uint8_t buf[DHCP_MAX_LEN];
	struct dhcp_problems probs = {.n = 0};
	size_t n =
	    test_reply(buf, DHCP_ACK, 1, test_mac, "203.0.113.6", ngn_opts, sizeof(ngn_opts));

	assert_int_equal(dhcp_pkt_decode(pkt, buf, n), 0);
	dhcp_lease_decode(l, pkt, &probs);
	assert_int_equal(probs.n, 0);
}

static void test_decode_ngn_ack(void **state)
{
	struct dhcp_pkt *pkt = malloc(sizeof(*pkt));
	struct line_lease l;
	const char *why;

	decode_ngn(pkt, &l);
	assert_int_equal(pkt->type, DHCP_ACK);
	assert_int_equal(pkt->op, 2);
	assert_int_equal(pkt->xid, 1);
	assert_int_equal(l.address.s_addr, test_ip("203.0.113.6"));
	assert_int_equal(l.plen, 30);
	assert_int_equal(l.router.s_addr, test_ip("203.0.113.5"));
	assert_int_equal(l.server_id.s_addr, test_ip("198.51.100.1"));
	assert_int_equal(l.lease_time, 14400);
	assert_int_equal(l.t1, 7200);
	assert_int_equal(l.t2, 10800);
	assert_int_equal(l.nsip_servers, 1);
	assert_int_equal(l.sip_servers[0].s_addr, test_ip("198.51.100.10"));
	assert_int_equal(l.nroutes, 2);
	assert_int_equal(l.routes[0].dst.s_addr, test_ip("192.0.2.0"));
	assert_int_equal(l.routes[0].plen, 24);
	assert_int_equal(l.routes[0].gw.s_addr, test_ip("203.0.113.5"));
	assert_int_equal(l.routes[1].dst.s_addr, test_ip("198.51.100.0"));
	assert_true(l.has_number);
	assert_int_equal(l.nnumbers, 2);
	assert_string_equal(l.numbers[0], "0312345678");
	assert_string_equal(l.numbers[1], "0312345679");
	assert_string_equal(l.domain, "ntt-east.ne.jp");
	assert_true(l.has_mac);
	assert_memory_equal(l.mac, test_mac, 6);
	assert_int_equal(dhcp_lease_check(&l, true, &why), 0);
	free(pkt);
}

/* Option 120 both encodings and the bad ones. */
static void test_opt120(void **state)
{
	static const uint8_t enc1[] = {1, 198, 51, 100, 10, 198, 51, 100, 11};
	static const uint8_t enc0[] = {0, 3, 's', 'i', 'p', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3,
				       'c', 'o', 'm', 0,
				       /* second name: "sip2" + pointer to offset 5 (example.com) */
				       4, 's', 'i', 'p', '2', 0xc0, 5};
	static const uint8_t enc7[] = {7, 198, 51, 100, 10};
	static const uint8_t enc1_bad_len[] = {1, 198, 51, 100};
	static const uint8_t loop_self[] = {0, 1, 'a', 0xc0, 1}; /* points at itself */
	static const uint8_t loop_fwd[] = {0, 0xc0, 3, 0xc0, 1}; /* forward, then back */
	static const uint8_t unterminated[] = {0, 3, 's', 'i', 'p'};
	static const uint8_t label_past[] = {0, 9, 's', 'i', 'p', 0};
	struct line_lease l;

	memset(&l, 0, sizeof(l));
	assert_int_equal(dhcp_opt120_decode(&l, enc1, sizeof(enc1)), 0);
	assert_int_equal(l.nsip_servers, 2);
	assert_int_equal(l.sip_servers[0].s_addr, test_ip("198.51.100.10"));
	assert_int_equal(l.sip_servers[1].s_addr, test_ip("198.51.100.11"));
	assert_int_equal(dhcp_opt120_decode(&l, enc0, sizeof(enc0)), 0);
	assert_int_equal(l.nsip_servers, 0);
	assert_int_equal(l.nsip_names, 2);
	assert_string_equal(l.sip_names[0], "sip.example.com");
	assert_string_equal(l.sip_names[1], "sip2.example.com");

	memset(&l, 0, sizeof(l));
	assert_int_equal(dhcp_opt120_decode(&l, enc7, sizeof(enc7)), EBADMSG);
	assert_int_equal(dhcp_opt120_decode(&l, enc1_bad_len, sizeof(enc1_bad_len)), EBADMSG);
	assert_int_equal(dhcp_opt120_decode(&l, loop_self, sizeof(loop_self)), EBADMSG);
	assert_int_equal(dhcp_opt120_decode(&l, loop_fwd, sizeof(loop_fwd)), EBADMSG);
	assert_int_equal(dhcp_opt120_decode(&l, unterminated, sizeof(unterminated)), EBADMSG);
	assert_int_equal(dhcp_opt120_decode(&l, label_past, sizeof(label_past)), EBADMSG);
	assert_int_equal(l.nsip_servers + l.nsip_names, 0); /* nothing half-decoded */
}

static void test_dns_name_pointer_chain(void **state)
{
	/* a.b at 0; "c" + ptr->0 at 5; "d" + ptr->5 at 9: legal backwards chains */
	static const uint8_t p[] = {1, 'a', 1, 'b', 0, 1, 'c', 0xc0, 0, 1, 'd', 0xc0, 5};
	/* a pointer loop reached after a backward jump: 0 -> label, ptr at 2 -> 4 (forward) */
	static const uint8_t lp[] = {1, 'x', 0xc0, 4, 0xc0, 0};
	char text[64];
	size_t pos = 9;

	assert_int_equal(dhcp_dns_name(p, sizeof(p), &pos, text, sizeof(text)), 0);
	assert_string_equal(text, "d.c.a.b");
	assert_int_equal(pos, sizeof(p));
	pos = 4;
	assert_int_equal(dhcp_dns_name(lp, sizeof(lp), &pos, text, sizeof(text)), EBADMSG);
	pos = 0;
	assert_int_equal(dhcp_dns_name(lp, sizeof(lp), &pos, text, sizeof(text)), EBADMSG);
}

/* Option 121 with /0, /1, /8, /24, /25, /32 (RFC 3442 §3 examples). */
static void test_opt121(void **state)
{
	/* clang-format off */
	static const uint8_t routes[] = {
		0, 203, 0, 113, 5,			/* 0.0.0.0/0 */
		1, 0x80, 203, 0, 113, 5,		/* 128.0.0.0/1 */
		8, 10, 203, 0, 113, 5,			/* 10.0.0.0/8 */
		24, 192, 0, 2, 203, 0, 113, 5,		/* 192.0.2.0/24 */
		25, 198, 51, 100, 0xff, 0, 0, 0, 0,	/* 198.51.100.128/25 on link; stray bits */
		32, 198, 51, 100, 7, 203, 0, 113, 5,	/* host route */
	};
	/* clang-format on */
	static const uint8_t too_wide[] = {33, 1, 2, 3, 4, 5, 203, 0, 113, 5};
	static const uint8_t truncated[] = {24, 192, 0, 2, 203, 0, 113};
	struct line_lease l;

	memset(&l, 0, sizeof(l));
	assert_int_equal(dhcp_opt121_decode(&l, routes, sizeof(routes)), 0);
	assert_int_equal(l.nroutes, 6);
	assert_int_equal(l.routes[0].plen, 0);
	assert_int_equal(l.routes[0].dst.s_addr, 0);
	assert_int_equal(l.routes[1].plen, 1);
	assert_int_equal(l.routes[1].dst.s_addr, test_ip("128.0.0.0"));
	assert_int_equal(l.routes[2].dst.s_addr, test_ip("10.0.0.0"));
	assert_int_equal(l.routes[3].dst.s_addr, test_ip("192.0.2.0"));
	assert_int_equal(l.routes[3].plen, 24);
	assert_int_equal(l.routes[4].dst.s_addr, test_ip("198.51.100.128"));
	assert_int_equal(l.routes[4].plen, 25);
	assert_int_equal(l.routes[4].gw.s_addr, 0);
	assert_int_equal(l.routes[5].dst.s_addr, test_ip("198.51.100.7"));
	assert_int_equal(l.routes[5].plen, 32);
	assert_int_equal(l.routes[5].gw.s_addr, test_ip("203.0.113.5"));

	memset(&l, 0, sizeof(l));
	assert_int_equal(dhcp_opt121_decode(&l, too_wide, sizeof(too_wide)), EBADMSG);
	assert_int_equal(dhcp_opt121_decode(&l, truncated, sizeof(truncated)), EBADMSG);
	assert_int_equal(l.nroutes, 0);
}

/* Option 125: two enterprises, repeated 203, 210 firmware host, an unknown sub-option. */
static void test_opt125(void **state)
{
	/* clang-format off */
	static const uint8_t v[] = {
		0x00, 0x00, 0x11, 0x8b, 0x04, 0x01, 0x02, 0xaa, 0xbb, /* enterprise 4491 */
		0x00, 0x00, 0x00, 0xd2, 0x4f,			/* enterprise 210, 79 bytes */
		0xca, 0x0a, '0', '6', '1', '2', '3', '4', '5', '6', '7', '8',
		0xfa, 0x02, 0x12, 0x34,				/* unknown 250 */
		0xcb, 0x0b, '0', '5', '0', '1', '2', '3', '4', '5', '6', '7', '8',
		0xcb, 0x0a, '0', '6', '9', '9', '9', '9', '0', '0', '0', '1',
		0xcc, 0x10, 0x08, 'n', 't', 't', '-', 'w', 'e', 's', 't', 0x02, 'n', 'e', 0x02,
		'j', 'p', 0x00,
		0xd2, 0x12, 3, 'w', 'w', 'w', 7, 'v', 'e', 'r', 'i', 'n', 'f', 'o', 3, 'h', 'g',
		'w', 0, 0,
	};
	/* clang-format on */
	struct line_lease l;

	memset(&l, 0, sizeof(l));
	assert_int_equal(dhcp_opt125_decode(&l, v, sizeof(v)), 0);
	assert_true(l.has_number);
	assert_int_equal(l.nnumbers, 3);
	assert_string_equal(l.numbers[0], "0612345678");
	assert_string_equal(l.numbers[1], "05012345678");
	assert_string_equal(l.numbers[2], "0699990001");
	assert_string_equal(l.domain, "ntt-west.ne.jp");
	assert_string_equal(l.firmware, "www.verinfo.hgw");
	assert_false(l.has_mac);
}

static void test_opt125_bad(void **state)
{
	/* data-len claims 255 bytes of sub-options */
	static const uint8_t claims[] = {0, 0, 0, 0xd2, 0xff, 0xca, 0x02, '0', '3'};
	/* a sub-option running past its enterprise block */
	static const uint8_t sub_past[] = {0, 0, 0, 0xd2, 0x04, 0xca, 0x05, '0', '3'};
	/* non-digits in the number */
	static const uint8_t letters[] = {0, 0, 0, 0xd2, 0x04, 0xca, 0x02, '0', 'x'};
	/* a MAC of 5 bytes */
	static const uint8_t mac5[] = {0, 0, 0, 0xd2, 0x07, 0xc9, 0x05, 1, 2, 3, 4, 5};
	/* good 202 followed by a truncated enterprise header */
	static const uint8_t tail[] = {0, 0, 0, 0xd2, 0x04, 0xca, 0x02, '0', '3', 0, 0, 0};
	const struct {
		const uint8_t *p;
		size_t n;
	} cases[] = {{claims, sizeof(claims)},
		     {sub_past, sizeof(sub_past)},
		     {letters, sizeof(letters)},
		     {mac5, sizeof(mac5)},
		     {tail, sizeof(tail)}};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct line_lease l;
		memset(&l, 0, sizeof(l));
		assert_int_equal(dhcp_opt125_decode(&l, cases[i].p, cases[i].n), EBADMSG);
		assert_int_equal(l.nnumbers, 0); /* never half-applied */
		assert_false(l.has_number);
	}
}

/* RFC 3396: option 125 split in two instances, and option 121 continued in the file field. */
static void test_rfc3396(void **state)
{
	uint8_t opts[128], buf[DHCP_MAX_LEN];
	struct dhcp_pkt *pkt = malloc(sizeof(*pkt));
	struct line_lease l;
	struct dhcp_problems probs = {.n = 0};
	size_t n = 0, len;
	/* 125 payload: enterprise 210, 202 + 204 */
	/* clang-format off */
	static const uint8_t v[] = {0, 0, 0, 0xd2, 0x1e,
				    0xca, 0x0a, '0', '3', '1', '2', '3', '4', '5', '6', '7', '8',
				    0xcc, 0x10, WIRE_NTT_EAST};
	/* clang-format on */

	/* first part: 10 bytes, second: the rest */
	opts[n++] = 125;
	opts[n++] = 10;
	memcpy(opts + n, v, 10);
	n += 10;
	opts[n++] = 51;
	opts[n++] = 4;
	memcpy(opts + n, "\x00\x00\x0e\x10", 4);
	n += 4;
	opts[n++] = 125;
	opts[n++] = (uint8_t)(sizeof(v) - 10);
	memcpy(opts + n, v + 10, sizeof(v) - 10);
	n += sizeof(v) - 10;
	opts[n++] = 52; /* overload: the file field holds options too */
	opts[n++] = 1;
	opts[n++] = 1;
	opts[n++] = 121; /* first route here ... */
	opts[n++] = 8;
	memcpy(opts + n, "\x18\xc0\x00\x02\xcb\x00\x71\x05", 8);
	n += 8;
	len = test_reply(buf, DHCP_ACK, 9, test_mac, "203.0.113.6", opts, n);
	/* ... the second one in the file field (offset 108) */
	memcpy(buf + 108, "\x79\x08\x18\xc6\x33\x64\xcb\x00\x71\x05\xff", 11);

	assert_int_equal(dhcp_pkt_decode(pkt, buf, len), 0);
	dhcp_lease_decode(&l, pkt, &probs);
	assert_int_equal(probs.n, 0);
	assert_string_equal(l.numbers[0], "0312345678");
	assert_string_equal(l.domain, "ntt-east.ne.jp");
	assert_int_equal(l.lease_time, 3600);
	assert_int_equal(l.t1, 1800); /* RFC 2131 defaults */
	assert_int_equal(l.t2, 3150);
	assert_int_equal(l.nroutes, 2);
	assert_int_equal(l.routes[0].dst.s_addr, test_ip("192.0.2.0"));
	assert_int_equal(l.routes[1].dst.s_addr, test_ip("198.51.100.0"));
	free(pkt);
}

/* Every truncation of a good reply and a set of broken ones: rejected or decoded, no crash. */
static void test_bad_packets(void **state)
{
	struct dhcp_pkt *pkt = malloc(sizeof(*pkt));
	uint8_t buf[DHCP_MAX_LEN];
	size_t n =
	    test_reply(buf, DHCP_ACK, 1, test_mac, "203.0.113.6", ngn_opts, sizeof(ngn_opts));
	uint8_t bad[DHCP_MAX_LEN];
	struct line_lease l;

	for (size_t k = 0; k < n; k++) {
		int err = dhcp_pkt_decode(pkt, buf, k);
		if (k < 243)
			assert_int_equal(err, EBADMSG); /* no room for option 53 */
		if (!err)
			dhcp_lease_decode(&l, pkt, NULL);
	}
	/* an option length running past the end */
	memcpy(bad, buf, n);
	bad[n - 1] = 0x7d;
	bad[n] = 0x40;
	bad[n + 1] = 0;
	assert_int_equal(dhcp_pkt_decode(pkt, bad, n + 2), EBADMSG);
	/* wrong cookie */
	memcpy(bad, buf, n);
	bad[236] = 0;
	assert_int_equal(dhcp_pkt_decode(pkt, bad, n), EBADMSG);
	/* no message type */
	memcpy(bad, buf, n);
	bad[240] = 0;
	bad[241] = 0;
	bad[242] = 0;
	assert_int_equal(dhcp_pkt_decode(pkt, bad, n), EBADMSG);
	/* message type 99 */
	memcpy(bad, buf, n);
	bad[242] = 99;
	assert_int_equal(dhcp_pkt_decode(pkt, bad, n), EBADMSG);
	/* overload with a bad value */
	{
		static const uint8_t o[] = {52, 1, 9};
		size_t m = test_reply(bad, DHCP_ACK, 1, test_mac, "203.0.113.6", o, sizeof(o));
		assert_int_equal(dhcp_pkt_decode(pkt, bad, m), EBADMSG);
	}
	free(pkt);
}

static void test_lease_check(void **state)
{
	struct dhcp_pkt *pkt = malloc(sizeof(*pkt));
	uint8_t buf[DHCP_MAX_LEN];
	struct line_lease l;
	const char *why = NULL;
	uint8_t opts[sizeof(ngn_opts)];
	size_t n;

	/* a server offering 0.0.0.0 */
	n = test_reply(buf, DHCP_OFFER, 1, test_mac, "0.0.0.0", ngn_opts, sizeof(ngn_opts));
	assert_int_equal(dhcp_pkt_decode(pkt, buf, n), 0);
	dhcp_lease_decode(&l, pkt, NULL);
	assert_int_equal(dhcp_lease_check(&l, false, &why), EINVAL);
	assert_non_null(why);
	/* lease time 0 */
	memcpy(opts, ngn_opts, sizeof(opts));
	memset(opts + 14, 0, 4);
	n = test_reply(buf, DHCP_ACK, 1, test_mac, "203.0.113.6", opts, sizeof(opts));
	assert_int_equal(dhcp_pkt_decode(pkt, buf, n), 0);
	dhcp_lease_decode(&l, pkt, NULL);
	assert_int_equal(dhcp_lease_check(&l, true, &why), EINVAL);
	/* lease time 0xffffffff: infinite, no overflow in T1/T2 */
	memset(opts + 14, 0xff, 4);
	n = test_reply(buf, DHCP_ACK, 1, test_mac, "203.0.113.6", opts, sizeof(opts));
	assert_int_equal(dhcp_pkt_decode(pkt, buf, n), 0);
	dhcp_lease_decode(&l, pkt, NULL);
	assert_int_equal(dhcp_lease_check(&l, true, &why), 0);
	assert_int_equal(l.lease_time, LINE_LEASE_INFINITE);
	assert_int_equal(l.t1, LINE_LEASE_INFINITE);
	/* the subnet's broadcast address */
	n = test_reply(buf, DHCP_ACK, 1, test_mac, "203.0.113.7", ngn_opts, sizeof(ngn_opts));
	assert_int_equal(dhcp_pkt_decode(pkt, buf, n), 0);
	dhcp_lease_decode(&l, pkt, NULL);
	assert_int_equal(dhcp_lease_check(&l, true, &why), EINVAL);
	free(pkt);
}

static void test_probe_print(void **state)
{
	struct dhcp_pkt *pkt = malloc(sizeof(*pkt));
	uint8_t buf[DHCP_MAX_LEN], opts[sizeof(ngn_opts) + 8];
	struct mbuf out;
	size_t n;

	memcpy(opts, ngn_opts, sizeof(ngn_opts));
	memcpy(opts + sizeof(ngn_opts), "\xe0\x03\xde\xad\x01", 5); /* unknown option 224 */
	n = test_reply(buf, DHCP_ACK, 1, test_mac, "203.0.113.6", opts, sizeof(ngn_opts) + 5);
	assert_int_equal(dhcp_pkt_decode(pkt, buf, n), 0);
	mbuf_init(&out);
	dhcp_pkt_print(pkt, false, &out);
	mbuf_write(&out, "", 1);
	assert_non_null(strstr((char *)out.buf, "224 (unknown)"));
	assert_non_null(strstr((char *)out.buf, "dead01"));
	mbuf_reset(&out);
	dhcp_pkt_print(pkt, true, &out);
	mbuf_write(&out, "", 1);
	assert_non_null(strstr((char *)out.buf, "{\"code\":224,\"hex\":\"dead01\"}"));
	mbuf_reset(&out);
	free(pkt);
}

static void test_config(void **state)
{
	struct conf_diags diags = {0};
	struct line_config cfg;
	struct conf *conf = NULL;

	assert_int_equal(conf_load_string(&conf, "mikaka.conf",
					  "[line]\ninterface = eth1\nmac = 02:00:5E:10:00:01\n"
					  "vendor_class = RX-600KI\nkeep_on_exit = yes\n"
					  "arp_probe = 0\nfoo = bar\n",
					  &diags),
			 0);
	assert_int_equal(line_config_load(&cfg, conf, &diags), 0);
	assert_string_equal(cfg.ifname, "eth1");
	assert_true(cfg.has_mac);
	assert_memory_equal(cfg.mac, "\x02\x00\x5e\x10\x00\x01", 6);
	assert_string_equal(cfg.vendor_class, "RX-600KI");
	assert_true(cfg.keep_on_exit);
	assert_int_equal(cfg.arp_probe_ms, 0);
	assert_int_equal(diags.count, 1); /* the unknown key, a warning */
	assert_int_equal(diags.errors, 0);
	conf_free(conf);
	conf_diags_reset(&diags);

	conf = NULL;
	assert_int_equal(conf_load_string(&conf, "mikaka.conf",
					  "[line]\ninterface = eth1\nmac = 01:00:5e:10:00:01\n"
					  "keep_on_exit = maybe\n",
					  &diags),
			 0);
	assert_int_equal(line_config_load(&cfg, conf, &diags), EINVAL);
	assert_int_equal(diags.errors, 2);
	assert_int_equal(diags.items[0].origin.line, 3);
	conf_free(conf);
	conf_diags_reset(&diags);

	assert_int_equal(line_config_load(&cfg, NULL, &diags), 0);
	assert_string_equal(cfg.ifname, "");
}

static void test_state_path(void **state)
{
	char buf[256];

	line_state_path(buf, sizeof(buf), "/var/lib/mikaka/mikaka.db", "eth1");
	assert_string_equal(buf, "/var/lib/mikaka/line-eth1.lease");
	line_state_path(buf, sizeof(buf), "mikaka.db", "eth1");
	assert_string_equal(buf, "line-eth1.lease");
}

static void test_vars(void **state)
{
	struct dhcp_pkt *pkt = malloc(sizeof(*pkt));
	struct line_info info;
	char buf[128];

	memset(&info, 0, sizeof(info));
	assert_int_equal(line_info_var(&info, "LINE_NUMBER", buf, sizeof(buf)), ENOENT);
	decode_ngn(pkt, &info.lease);
	info.bound = true;
	assert_int_equal(line_info_var(&info, "LINE_NUMBER", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0312345678");
	assert_int_equal(line_info_var(&info, "LINE_NUMBERS", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0312345678 0312345679");
	assert_int_equal(line_info_var(&info, "LINE_DOMAIN", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ntt-east.ne.jp");
	assert_int_equal(line_info_var(&info, "LINE_SERVER", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "198.51.100.10");
	assert_int_equal(line_info_var(&info, "LINE_ADDRESS", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "203.0.113.6");
	assert_int_equal(line_info_var(&info, "LINE_NUMBERS", buf, 12), ENOSPC);
	assert_int_equal(line_info_var(&info, "LINE_FOO", buf, sizeof(buf)), ENOENT);
	free(pkt);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/mikaka-line-test.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_lease_files(void **state)
{
	/* KMO's dhclient lease with documentation values; 125 also as vivso hex. */
	static const char dhclient[] =
	    "default-duid \"\\000\\001\";\n"
	    "lease {\n  interface \"eth0\";\n  fixed-address 203.0.113.9;\n}\n"
	    "lease {\n"
	    "  interface \"eth0\";\n"
	    "  fixed-address 203.0.113.6;\n"
	    "  option subnet-mask 255.255.255.252;\n"
	    "  option dhcp-lease-time 14400;\n"
	    "  option routers 203.0.113.5;\n"
	    "  option dhcp-message-type 5;\n"
	    "  option dhcp-server-identifier 198.51.100.1;\n"
	    "  option dhcp-renewal-time 7200;\n"
	    "  option ip-sip-servers true 198.51.100.10;\n"
	    "  option dhcp-rebinding-time 10800;\n"
	    "  option rfc3442-classless-static-routes 24,192,0,2,203,0,113,5;\n"
	    "  option vivso 0:0:0:d2:c:ca:a:30:33:31:32:33:34:35:36:37:38;\n"
	    "  option ntt.domain \"ntt-east.ne.jp.\";\n"
	    "  option ntt.number \"0399999999\";\n"
	    "  renew 3 2021/02/24 12:00:00;\n"
	    "  expire 3 2099/02/24 12:00:00;\n"
	    "}\n";
	static const char networkd[] = "# This is private data. Do not parse.\n"
				       "ADDRESS=203.0.113.6\nNETMASK=255.255.255.252\n"
				       "ROUTER=203.0.113.5\nSERVER_ADDRESS=198.51.100.1\n"
				       "LIFETIME=14400\nT1=7200\nT2=10800\nSIP=198.51.100.10\n"
				       "CLASSLESS_ROUTES=192.0.2.0/24,203.0.113.5\n";
	struct line_lease l;
	time_t expires = 0;
	char *p;

	p = write_tmp(dhclient);
	memset(&l, 0, sizeof(l));
	assert_int_equal(line_lease_file_read(p, &l, &expires), 0);
	assert_int_equal(l.address.s_addr, test_ip("203.0.113.6"));
	assert_int_equal(l.plen, 30);
	assert_int_equal(l.sip_servers[0].s_addr, test_ip("198.51.100.10"));
	assert_string_equal(l.numbers[0], "0312345678"); /* vivso wins over the named option */
	assert_string_equal(l.domain, "ntt-east.ne.jp");
	assert_int_equal(l.nroutes, 1);
	assert_int_equal(l.routes[0].plen, 24);
	assert_true(expires > 4000000000LL);
	unlink(p);
	free(p);

	p = write_tmp(networkd);
	memset(&l, 0, sizeof(l));
	assert_int_equal(line_lease_file_read(p, &l, &expires), 0);
	assert_int_equal(l.address.s_addr, test_ip("203.0.113.6"));
	assert_int_equal(l.sip_servers[0].s_addr, test_ip("198.51.100.10"));
	assert_int_equal(l.lease_time, 14400);
	assert_int_equal(l.nroutes, 1);
	assert_int_equal(l.routes[0].gw.s_addr, test_ip("203.0.113.5"));
	assert_int_equal(l.nnumbers, 0);
	unlink(p);
	free(p);

	p = write_tmp("garbage\n");
	assert_int_equal(line_lease_file_read(p, &l, &expires), EINVAL);
	unlink(p);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_discover),
	    cmocka_unit_test(test_build_request),
	    cmocka_unit_test(test_decode_ngn_ack),
	    cmocka_unit_test(test_opt120),
	    cmocka_unit_test(test_dns_name_pointer_chain),
	    cmocka_unit_test(test_opt121),
	    cmocka_unit_test(test_opt125),
	    cmocka_unit_test(test_opt125_bad),
	    cmocka_unit_test(test_rfc3396),
	    cmocka_unit_test(test_bad_packets),
	    cmocka_unit_test(test_lease_check),
	    cmocka_unit_test(test_probe_print),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_state_path),
	    cmocka_unit_test(test_vars),
	    cmocka_unit_test(test_lease_files),
	};

	log_set_level(LOG_NONE);
	return cmocka_run_group_tests_name("line codec", tests, NULL, NULL);
}
