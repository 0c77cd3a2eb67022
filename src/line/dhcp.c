/* dhcp.c: DHCPv4 message codec: client messages (RFC 2131/2132), server replies with RFC 3396
 * long options, option 120 (RFC 3361), 121 (RFC 3442), 124/125 (RFC 3925, NTT enterprise 210). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dhcp_int.h"

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static struct in_addr get_addr(const uint8_t *p)
{
	struct in_addr a;

	memcpy(&a.s_addr, p, 4);
	return a;
}

/* ---------------------------------------------------------------------------------------------
 * Packet decoding
 */

struct opt_field {
	const uint8_t *p;
	size_t len;
};

/* Walks one option field. Pass 0 counts bytes per code (and finds option 52 in the options
 * field); pass 1 copies them after the offsets were assigned. */
static int field_walk(struct dhcp_pkt *pkt, const struct opt_field *f, int pass, size_t *fill,
		      size_t *total)
{
	size_t i = 0;

	while (i < f->len) {
		uint8_t code = f->p[i];
		size_t l;

		if (code == DHCP_OPT_PAD) {
			i++;
			continue;
		}
		if (code == DHCP_OPT_END)
			return 0;
		if (i + 1 >= f->len)
			return EBADMSG; /* the length byte is missing */
		l = f->p[i + 1];
		if (i + 2 + l > f->len)
			return EBADMSG; /* the value runs past the field */
		if (pass == 0) {
			if (total[code] + l > DHCP_MAX_LEN)
				return EBADMSG;
			total[code] += l;
			pkt->present[code] = true;
		} else {
			memcpy(pkt->data + pkt->off[code] + fill[code], f->p + i + 2, l);
			fill[code] += l;
		}
		i += 2 + l;
	}
	return 0; /* a missing END is common enough in the wild to be forgiven */
}

int dhcp_pkt_decode(struct dhcp_pkt *pkt, const uint8_t *buf, size_t len)
{
	struct opt_field fields[3];
	size_t nfields = 1, off = 0;
	size_t total[256] = {0}, fill[256] = {0};
	uint8_t overload = 0;
	int err;

	memset(pkt, 0, sizeof(*pkt));
	if (!buf || len < DHCP_MIN_LEN || len > DHCP_MAX_LEN || get_be32(buf + 236) != DHCP_MAGIC)
		return EBADMSG;
	pkt->op = buf[0];
	pkt->htype = buf[1];
	pkt->hlen = buf[2];
	pkt->xid = get_be32(buf + 4);
	pkt->secs = (uint16_t)(buf[8] << 8 | buf[9]);
	pkt->flags = (uint16_t)(buf[10] << 8 | buf[11]);
	pkt->ciaddr = get_addr(buf + 12);
	pkt->yiaddr = get_addr(buf + 16);
	pkt->siaddr = get_addr(buf + 20);
	pkt->giaddr = get_addr(buf + 24);
	memcpy(pkt->chaddr, buf + 28, 16);

	fields[0] = (struct opt_field){buf + DHCP_MIN_LEN, len - DHCP_MIN_LEN};
	err = field_walk(pkt, &fields[0], 0, fill, total);
	if (err)
		return err;
	/* Option 52 lives in the options field only; RFC 3396 order: options, file, sname. */
	if (pkt->present[DHCP_OPT_OVERLOAD]) {
		size_t i = 0;
		while (i + 2 < fields[0].len) {
			uint8_t c = fields[0].p[i];
			if (c == DHCP_OPT_PAD) {
				i++;
				continue;
			}
			if (c == DHCP_OPT_END)
				break;
			if (c == DHCP_OPT_OVERLOAD && fields[0].p[i + 1] == 1)
				overload = fields[0].p[i + 2];
			i += 2u + fields[0].p[i + 1];
		}
		if (overload < 1 || overload > 3)
			return EBADMSG;
		if (overload & 1)
			fields[nfields++] = (struct opt_field){buf + 108, 128};
		if (overload & 2)
			fields[nfields++] = (struct opt_field){buf + 44, 64};
		for (size_t k = 1; k < nfields; k++) {
			err = field_walk(pkt, &fields[k], 0, fill, total);
			if (err)
				return err;
		}
	}
	for (size_t c = 0; c < 256; c++) {
		if (!pkt->present[c])
			continue;
		if (off + total[c] > sizeof(pkt->data))
			return EBADMSG;
		pkt->off[c] = (uint16_t)off;
		pkt->len[c] = (uint16_t)total[c];
		off += total[c];
	}
	pkt->used = off;
	memset(fill, 0, sizeof(fill));
	for (size_t k = 0; k < nfields; k++)
		(void)field_walk(pkt, &fields[k], 1, fill, total);

	if (!pkt->present[DHCP_OPT_TYPE] || pkt->len[DHCP_OPT_TYPE] != 1)
		return EBADMSG;
	pkt->type = pkt->data[pkt->off[DHCP_OPT_TYPE]];
	if (pkt->type < DHCP_DISCOVER || pkt->type > DHCP_INFORM)
		return EBADMSG;
	return 0;
}

bool dhcp_pkt_opt(const struct dhcp_pkt *pkt, uint8_t code, const uint8_t **p, size_t *len)
{
	if (!pkt->present[code])
		return false;
	*p = pkt->data + pkt->off[code];
	*len = pkt->len[code];
	return true;
}

int dhcp_pkt_add(struct dhcp_pkt *pkt, uint8_t code, const uint8_t *p, size_t len)
{
	/* Appending to an option that is not the last one added would need a move; the importer
	 * adds each code once. */
	if (pkt->present[code] || pkt->used + len > sizeof(pkt->data))
		return EINVAL;
	pkt->present[code] = true;
	pkt->off[code] = (uint16_t)pkt->used;
	pkt->len[code] = (uint16_t)len;
	memcpy(pkt->data + pkt->used, p, len);
	pkt->used += len;
	if (code == DHCP_OPT_TYPE && len == 1)
		pkt->type = p[0];
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Option decoders. Each decodes into a scratch copy and commits only when the whole option is
 * good, so a bad option never leaves half its values behind.
 */

static bool label_char_ok(uint8_t c)
{
	/* Printable ASCII without the characters that would confuse a config variable or a log. */
	return c > 0x20 && c < 0x7f && c != '.' && c != '\\' && c != '"' && c != ';' && c != '$';
}

int dhcp_dns_name(const uint8_t *p, size_t len, size_t *pos, char *text, size_t size)
{
	size_t i = *pos, limit = *pos, out = 0, end = 0;
	bool jumped = false;

	if (size < 2)
		return ENOSPC;
	for (;;) {
		uint8_t l;

		if (i >= len)
			return EBADMSG;
		l = p[i];
		if (l == 0) {
			if (!jumped)
				end = i + 1;
			break;
		}
		if ((l & 0xc0) == 0xc0) {
			size_t target;

			if (i + 1 >= len)
				return EBADMSG;
			target = (size_t)(l & 0x3f) << 8 | p[i + 1];
			/* Only strictly backwards, each jump before the last: no loop possible. */
			if (target >= limit)
				return EBADMSG;
			if (!jumped)
				end = i + 2;
			jumped = true;
			limit = target;
			i = target;
			continue;
		}
		if (l & 0xc0)
			return EBADMSG; /* 0x40/0x80: extended label types, not used in DHCP */
		if (i + 1 + l > len)
			return EBADMSG;
		if (out + (out ? 1 : 0) + l >= size || out + l > 253)
			return EBADMSG;
		if (out)
			text[out++] = '.';
		for (size_t k = 0; k < l; k++) {
			uint8_t c = p[i + 1 + k];
			if (!label_char_ok(c))
				return EBADMSG;
			text[out++] = (char)c;
		}
		i += 1u + l;
	}
	if (out == 0)
		return EBADMSG; /* the root name alone is no use as a server or domain */
	text[out] = '\0';
	*pos = end;
	return 0;
}

int dhcp_opt120_decode(struct line_lease *lease, const uint8_t *p, size_t len)
{
	struct in_addr addrs[LINE_SERVERS_MAX];
	char names[LINE_SERVERS_MAX][LINE_DOMAIN_LEN];
	size_t n = 0;

	if (len < 2)
		return EBADMSG;
	if (p[0] == 1) {
		if ((len - 1) % 4)
			return EBADMSG;
		for (size_t i = 1; i + 4 <= len; i += 4) {
			struct in_addr a = get_addr(p + i);
			if (a.s_addr == INADDR_ANY || a.s_addr == INADDR_BROADCAST)
				return EBADMSG;
			if (n < LINE_SERVERS_MAX)
				addrs[n++] = a;
		}
		memcpy(lease->sip_servers, addrs, n * sizeof(addrs[0]));
		lease->nsip_servers = n;
		lease->nsip_names = 0;
		return 0;
	}
	if (p[0] == 0) {
		size_t pos = 1;
		char name[LINE_DOMAIN_LEN];

		while (pos < len) {
			if (dhcp_dns_name(p, len, &pos, name, sizeof(name)))
				return EBADMSG;
			if (n < LINE_SERVERS_MAX)
				memcpy(names[n++], name, sizeof(name));
		}
		memcpy(lease->sip_names, names, n * sizeof(names[0]));
		lease->nsip_names = n;
		lease->nsip_servers = 0;
		return 0;
	}
	return EBADMSG; /* RFC 3361: any other encoding byte: ignore the option */
}

int dhcp_opt121_decode(struct line_lease *lease, const uint8_t *p, size_t len)
{
	struct line_route routes[LINE_ROUTES_MAX];
	size_t i = 0, n = 0;

	if (len < 5)
		return EBADMSG;
	while (i < len) {
		uint8_t w = p[i];
		size_t sig = (w + 7u) / 8u;
		uint8_t dst[4] = {0};
		uint32_t mask;

		if (w > 32 || i + 1 + sig + 4 > len)
			return EBADMSG;
		memcpy(dst, p + i + 1, sig);
		mask = w ? htonl(~0u << (32 - w)) : 0;
		if (n < LINE_ROUTES_MAX) {
			memcpy(&routes[n].dst.s_addr, dst, 4);
			routes[n].dst.s_addr &= mask; /* stray bits past the width are not ours */
			routes[n].plen = w;
			routes[n].gw = get_addr(p + i + 1 + sig);
			n++;
		}
		i += 1 + sig + 4;
	}
	memcpy(lease->routes, routes, n * sizeof(routes[0]));
	lease->nroutes = n;
	return 0;
}

static int number_decode(const uint8_t *p, size_t len, char *out)
{
	if (len == 0 || len >= LINE_NUMBER_LEN)
		return EBADMSG;
	for (size_t i = 0; i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return EBADMSG;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

/* Enterprise 210 sub-options, into the scratch lease. */
static int ngn_decode(struct line_lease *l, const uint8_t *p, size_t len, char *main_number,
		      char (*extra)[LINE_NUMBER_LEN], size_t *nextra)
{
	size_t j = 0;

	while (j < len) {
		uint8_t code, sl;
		const uint8_t *v;
		size_t pos = 0;

		if (j + 2 > len)
			return EBADMSG;
		code = p[j];
		sl = p[j + 1];
		if (j + 2 + sl > len)
			return EBADMSG;
		v = p + j + 2;
		switch (code) {
		case 201:
			if (sl != 6)
				return EBADMSG;
			memcpy(l->mac, v, 6);
			l->has_mac = true;
			break;
		case 202:
			if (number_decode(v, sl, main_number))
				return EBADMSG;
			break;
		case 203:
			if (*nextra < LINE_NUMBERS_MAX - 1) {
				if (number_decode(v, sl, extra[*nextra]))
					return EBADMSG;
				(*nextra)++;
			}
			break;
		case 204:
			if (dhcp_dns_name(v, sl, &pos, l->domain, sizeof(l->domain)))
				return EBADMSG;
			break;
		case 210:
			if (dhcp_dns_name(v, sl, &pos, l->firmware, sizeof(l->firmware)))
				return EBADMSG;
			break;
		default:
			break; /* unknown sub-option: skipped (probe prints it) */
		}
		j += 2u + sl;
	}
	return 0;
}

int dhcp_opt125_decode(struct line_lease *lease, const uint8_t *p, size_t len)
{
	struct line_lease tmp;
	char main_number[LINE_NUMBER_LEN] = "";
	char extra[LINE_NUMBERS_MAX - 1][LINE_NUMBER_LEN];
	size_t nextra = 0, i = 0;

	memset(&tmp, 0, sizeof(tmp));
	if (len < 5)
		return EBADMSG;
	while (i < len) {
		uint32_t ent;
		uint8_t dl;

		if (i + 5 > len)
			return EBADMSG;
		ent = get_be32(p + i);
		dl = p[i + 4];
		if (i + 5 + dl > len)
			return EBADMSG; /* data-len claims more than the option holds */
		if (ent == DHCP_NGN_ENTERPRISE &&
		    ngn_decode(&tmp, p + i + 5, dl, main_number, extra, &nextra))
			return EBADMSG;
		i += 5u + dl;
	}
	lease->nnumbers = 0;
	lease->has_number = main_number[0] != '\0';
	if (lease->has_number)
		memcpy(lease->numbers[lease->nnumbers++], main_number, sizeof(main_number));
	for (size_t k = 0; k < nextra && lease->nnumbers < LINE_NUMBERS_MAX; k++)
		memcpy(lease->numbers[lease->nnumbers++], extra[k], LINE_NUMBER_LEN);
	memcpy(lease->domain, tmp.domain, sizeof(tmp.domain));
	memcpy(lease->firmware, tmp.firmware, sizeof(tmp.firmware));
	memcpy(lease->mac, tmp.mac, sizeof(tmp.mac));
	lease->has_mac = tmp.has_mac;
	return 0;
}

int dhcp_mask_plen(struct in_addr mask)
{
	uint32_t m = ntohl(mask.s_addr);
	int plen = 0;

	while (plen < 32 && (m & (0x80000000u >> plen)))
		plen++;
	if (plen < 32 && (m << plen) != 0)
		return -1;
	return plen;
}

static void problem(struct dhcp_problems *probs, const char *what)
{
	int n;

	if (!probs || probs->n >= sizeof(probs->text) - 1)
		return;
	n = snprintf(probs->text + probs->n, sizeof(probs->text) - probs->n, "%s%s",
		     probs->n ? "; " : "", what);
	if (n > 0)
		probs->n = MIN(probs->n + (size_t)n, sizeof(probs->text) - 1);
}

void dhcp_lease_decode(struct line_lease *lease, const struct dhcp_pkt *pkt,
		       struct dhcp_problems *probs)
{
	const uint8_t *p;
	size_t len;
	bool have_t1 = false, have_t2 = false;

	memset(lease, 0, sizeof(*lease));
	lease->address = pkt->yiaddr;
	lease->plen = 32;
	if (dhcp_pkt_opt(pkt, DHCP_OPT_SUBNET, &p, &len)) {
		int plen = len == 4 ? dhcp_mask_plen(get_addr(p)) : -1;
		if (plen < 0)
			problem(probs, "option 1 (subnet mask) invalid");
		else
			lease->plen = (uint8_t)plen;
	}
	if (dhcp_pkt_opt(pkt, DHCP_OPT_ROUTER, &p, &len)) {
		if (len < 4 || len % 4)
			problem(probs, "option 3 (routers) has a bad length");
		else
			lease->router = get_addr(p);
	}
	if (dhcp_pkt_opt(pkt, DHCP_OPT_SERVER_ID, &p, &len)) {
		if (len != 4)
			problem(probs, "option 54 (server id) has a bad length");
		else
			lease->server_id = get_addr(p);
	}
	if (dhcp_pkt_opt(pkt, DHCP_OPT_LEASE, &p, &len)) {
		if (len != 4)
			problem(probs, "option 51 (lease time) has a bad length");
		else
			lease->lease_time = get_be32(p);
	}
	if (dhcp_pkt_opt(pkt, DHCP_OPT_T1, &p, &len)) {
		if (len != 4)
			problem(probs, "option 58 (T1) has a bad length");
		else {
			lease->t1 = get_be32(p);
			have_t1 = true;
		}
	}
	if (dhcp_pkt_opt(pkt, DHCP_OPT_T2, &p, &len)) {
		if (len != 4)
			problem(probs, "option 59 (T2) has a bad length");
		else {
			lease->t2 = get_be32(p);
			have_t2 = true;
		}
	}
	if (lease->lease_time == LINE_LEASE_INFINITE) {
		lease->t1 = lease->t2 = LINE_LEASE_INFINITE;
	} else {
		/* RFC 2131 §4.4.5 defaults; values that break T1 < T2 < lease are replaced too. */
		if (!have_t1 || lease->t1 == 0 || lease->t1 >= lease->lease_time)
			lease->t1 = lease->lease_time / 2;
		if (!have_t2 || lease->t2 <= lease->t1 || lease->t2 >= lease->lease_time)
			lease->t2 = (uint32_t)((uint64_t)lease->lease_time * 7 / 8);
		if (lease->t2 < lease->t1)
			lease->t2 = lease->t1;
	}
	if (dhcp_pkt_opt(pkt, DHCP_OPT_SIP, &p, &len) && dhcp_opt120_decode(lease, p, len))
		problem(probs, "option 120 (SIP servers) invalid, ignored");
	if (dhcp_pkt_opt(pkt, DHCP_OPT_ROUTES, &p, &len) && dhcp_opt121_decode(lease, p, len))
		problem(probs, "option 121 (routes) invalid, ignored");
	if (dhcp_pkt_opt(pkt, DHCP_OPT_VI_INFO, &p, &len) && dhcp_opt125_decode(lease, p, len))
		problem(probs, "option 125 (vendor information) invalid, ignored");
}

int dhcp_lease_check(const struct line_lease *lease, bool need_time, const char **why)
{
	uint32_t a = ntohl(lease->address.s_addr);

	if (a == 0) {
		*why = "offered address 0.0.0.0";
		return EINVAL;
	}
	if (a == 0xffffffffu || (a >> 28) == 0xe || (a >> 28) == 0xf || (a >> 24) == 127) {
		*why = "offered address is broadcast, multicast, reserved or loopback";
		return EINVAL;
	}
	if (lease->plen < 31) {
		uint32_t host = a & (0xffffffffu >> lease->plen);
		if (host == 0 || host == (0xffffffffu >> lease->plen)) {
			*why = "offered address is the subnet's network or broadcast address";
			return EINVAL;
		}
	}
	if (need_time && lease->lease_time == 0) {
		*why = "lease time 0";
		return EINVAL;
	}
	if (lease->server_id.s_addr == INADDR_ANY) {
		*why = "no server identifier (option 54)";
		return EINVAL;
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Building client messages
 */

static int put_opt(struct mbuf *mb, uint8_t code, const void *p, size_t len)
{
	uint8_t hdr[2] = {code, (uint8_t)len};
	int err;

	if (len > 255)
		return EINVAL;
	err = mbuf_write(mb, hdr, 2);
	return err ? err : mbuf_write(mb, p, len);
}

int dhcp_build(struct mbuf *mb, const struct dhcp_req *req)
{
	static const uint8_t params[] = {1, 3, 51, 54, 58, 59, 120, 121, 125};
	uint8_t fixed[DHCP_MIN_LEN] = {0};
	uint8_t type = (uint8_t)req->type, cid[7], vi[12];
	uint16_t maxsz = htons(1500);
	size_t start = mb->end;
	uint32_t be;
	int err;

	fixed[0] = 1; /* BOOTREQUEST */
	fixed[1] = 1; /* Ethernet */
	fixed[2] = 6;
	be = htonl(req->xid);
	memcpy(fixed + 4, &be, 4);
	fixed[8] = (uint8_t)(req->secs >> 8);
	fixed[9] = (uint8_t)req->secs;
	if (req->broadcast)
		fixed[10] = 0x80;
	memcpy(fixed + 12, &req->ciaddr.s_addr, 4);
	memcpy(fixed + 28, req->mac, 6);
	be = htonl(DHCP_MAGIC);
	memcpy(fixed + 236, &be, 4);
	err = mbuf_write(mb, fixed, sizeof(fixed));
	if (!err)
		err = put_opt(mb, DHCP_OPT_TYPE, &type, 1);
	cid[0] = 1; /* htype Ethernet, then the MAC: what dhclient sends */
	memcpy(cid + 1, req->mac, 6);
	if (!err)
		err = put_opt(mb, DHCP_OPT_CLIENT_ID, cid, sizeof(cid));
	if (!err && req->req_addr.s_addr)
		err = put_opt(mb, DHCP_OPT_REQ_ADDR, &req->req_addr.s_addr, 4);
	if (!err && req->server_id.s_addr)
		err = put_opt(mb, DHCP_OPT_SERVER_ID, &req->server_id.s_addr, 4);
	if (req->type == DHCP_DECLINE || req->type == DHCP_RELEASE)
		goto end; /* RFC 2131 table 5: no parameter list, no vendor class */
	if (!err)
		err = put_opt(mb, DHCP_OPT_MAX_SIZE, &maxsz, 2);
	if (!err)
		err = put_opt(mb, DHCP_OPT_PARAMS, params, sizeof(params));
	if (!err && req->vendor_class && req->vendor_class[0])
		err = put_opt(mb, DHCP_OPT_VENDOR_CLASS, req->vendor_class,
			      strnlen(req->vendor_class, 255));
	/* NGN-NOTES §1.4: 7C 0C 00 00 00 D2 07 06 <MAC>: enterprise 210, data-len 7, one item. */
	vi[0] = 0;
	vi[1] = 0;
	vi[2] = 0;
	vi[3] = DHCP_NGN_ENTERPRISE;
	vi[4] = 7;
	vi[5] = 6;
	memcpy(vi + 6, req->mac, 6);
	if (!err)
		err = put_opt(mb, DHCP_OPT_VI_CLASS, vi, sizeof(vi));
end:
	if (!err) {
		uint8_t endb = DHCP_OPT_END;
		err = mbuf_write(mb, &endb, 1);
	}
	while (!err && mb->end - start < 300) {
		uint8_t pad = 0;
		err = mbuf_write(mb, &pad, 1);
	}
	return err;
}

/* ---------------------------------------------------------------------------------------------
 * Printing (probe)
 */

static const char *opt_name(uint8_t code)
{
	switch (code) {
	case 1:
		return "subnet-mask";
	case 3:
		return "routers";
	case 6:
		return "dns-servers";
	case 12:
		return "host-name";
	case 15:
		return "domain-name";
	case 28:
		return "broadcast-address";
	case 51:
		return "lease-time";
	case 52:
		return "overload";
	case 53:
		return "message-type";
	case 54:
		return "server-id";
	case 56:
		return "message";
	case 58:
		return "renewal-time";
	case 59:
		return "rebinding-time";
	case 120:
		return "sip-servers";
	case 121:
		return "classless-routes";
	case 125:
		return "vendor-information";
	default:
		return NULL;
	}
}

static void hex(struct mbuf *out, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		mbuf_printf(out, "%02x", p[i]);
}

/* Unknown enterprises and unknown sub-options of 210, in hex. */
static void print_vendor_extras(const uint8_t *p, size_t len, bool json, struct mbuf *out,
				bool *first)
{
	size_t i = 0;

	while (i + 5 <= len) {
		uint32_t ent = get_be32(p + i);
		uint8_t dl = p[i + 4];
		const uint8_t *d = p + i + 5;

		if (i + 5 + dl > len)
			return;
		if (ent != DHCP_NGN_ENTERPRISE) {
			if (json) {
				mbuf_printf(out, "%s{\"enterprise\":%u,\"hex\":\"",
					    *first ? "" : ",", ent);
				hex(out, d, dl);
				mbuf_write_str(out, "\"}");
			} else {
				mbuf_printf(out, "  125 enterprise %u: ", ent);
				hex(out, d, dl);
				mbuf_write_str(out, "\n");
			}
			*first = false;
		} else {
			size_t j = 0;
			while (j + 2 <= dl && j + 2u + d[j + 1] <= dl) {
				uint8_t c = d[j], sl = d[j + 1];
				if ((c < 201 || c > 204) && c != 210) {
					if (json) {
						mbuf_printf(out,
							    "%s{\"enterprise\":210,\"sub\":%u,"
							    "\"hex\":\"",
							    *first ? "" : ",", c);
						hex(out, d + j + 2, sl);
						mbuf_write_str(out, "\"}");
					} else {
						mbuf_printf(out,
							    "  125 enterprise 210 sub %u: ", c);
						hex(out, d + j + 2, sl);
						mbuf_write_str(out, "\n");
					}
					*first = false;
				}
				j += 2u + sl;
			}
		}
		i += 5u + dl;
	}
}

void dhcp_pkt_print(const struct dhcp_pkt *pkt, bool json, struct mbuf *out)
{
	bool first = true;

	if (json) {
		mbuf_write_str(out, "\"options\":[");
		for (unsigned c = 1; c < 255; c++) {
			const char *name = opt_name((uint8_t)c);
			if (!pkt->present[c])
				continue;
			mbuf_printf(out, "%s{\"code\":%u,", first ? "" : ",", c);
			if (name)
				mbuf_printf(out, "\"name\":\"%s\",", name);
			mbuf_write_str(out, "\"hex\":\"");
			hex(out, pkt->data + pkt->off[c], pkt->len[c]);
			mbuf_write_str(out, "\"}");
			first = false;
		}
		mbuf_write_str(out, "],\"vendor_other\":[");
		first = true;
		if (pkt->present[DHCP_OPT_VI_INFO])
			print_vendor_extras(pkt->data + pkt->off[DHCP_OPT_VI_INFO],
					    pkt->len[DHCP_OPT_VI_INFO], true, out, &first);
		mbuf_write_str(out, "]");
		return;
	}
	mbuf_write_str(out, "options (raw):\n");
	for (unsigned c = 1; c < 255; c++) {
		const char *name = opt_name((uint8_t)c);
		if (!pkt->present[c])
			continue;
		mbuf_printf(out, "  %3u %-20s ", c, name ? name : "(unknown)");
		hex(out, pkt->data + pkt->off[c], pkt->len[c]);
		mbuf_write_str(out, "\n");
	}
	if (pkt->present[DHCP_OPT_VI_INFO])
		print_vendor_extras(pkt->data + pkt->off[DHCP_OPT_VI_INFO],
				    pkt->len[DHCP_OPT_VI_INFO], false, out, &first);
}
