/* sock.c: the line client's Linux I/O: an AF_PACKET socket (with a BPF filter for UDP port 68)
 * while the interface has no address, a UDP socket bound to the interface once it has one,
 * and the ARP probe (RFC 5227) that checks an acknowledged address before it is used. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "line_int.h"

#define LOG_MODULE "line"

struct line_sock {
	int raw_fd;
	int udp_fd;
	int arp_fd;
	struct in_addr arp_addr;
	struct in_addr src; /* our address in UDP mode */
};

int line_if_info(const char *ifname, int *ifindex, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd, err = 0;

	if (strlen(ifname) >= IFNAMSIZ)
		return EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		err = errno;
		goto out;
	}
	*ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		err = errno;
		goto out;
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
out:
	close(fd);
	return err;
}

static uint16_t ip_csum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---------------------------------------------------------------------------------------------
 * Raw socket
 */

static void raw_read_h(int fd, uint32_t events, void *arg)
{
	struct line *line = arg;
	uint8_t frame[ETH_HLEN + 60 + 8 + DHCP_MAX_LEN + 64];

	/* A bounded batch per wake-up: a flood cannot keep the loop here. */
	for (int n = 0; n < 32; n++) {
		struct sockaddr_ll sll;
		socklen_t sl = sizeof(sll);
		ssize_t got =
		    recvfrom(fd, frame, sizeof(frame), MSG_DONTWAIT, (struct sockaddr *)&sll, &sl);
		size_t ihl, tot, ulen;
		const uint8_t *ip, *udp;

		if (got < 0)
			return;
		if (sll.sll_pkttype == PACKET_OUTGOING || (size_t)got < ETH_HLEN + 20 + 8)
			continue;
		ip = frame + ETH_HLEN;
		ihl = (size_t)(ip[0] & 0x0f) * 4;
		tot = (size_t)(ip[2] << 8 | ip[3]);
		if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl + 8 ||
		    tot > (size_t)got - ETH_HLEN || ip[9] != IPPROTO_UDP ||
		    ((ip[6] << 8 | ip[7]) & 0x3fff) != 0 || ip_csum(ip, ihl) != 0)
			continue;
		udp = ip + ihl;
		ulen = (size_t)(udp[4] << 8 | udp[5]);
		if ((udp[2] << 8 | udp[3]) != DHCP_CLIENT_PORT || ulen < 8 || ulen > tot - ihl)
			continue;
		/* The UDP checksum is not checked: with offloading (veth, many NICs) a packet
		 * socket sees it unfinished. The DHCP checks that follow do not depend on it. */
		line_input(line, udp + 8, ulen - 8);
		if (line->sock == NULL || line->sock->raw_fd != fd)
			return; /* the handler switched sockets */
	}
}

static int raw_open(struct line *line)
{
	/* UDP to port 68, not fragmented, on Ethernet (SOCK_RAW keeps the link header). */
	static struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 8),
	    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 6),
	    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),
	    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),
	    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
	    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 16),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DHCP_CLIENT_PORT, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, 0xffff),
	    BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = ARRAY_SIZE(code), .filter = code};
	struct sockaddr_ll sll = {0};
	struct line_sock *s = line->sock;
	int fd, err;

	if (s->raw_fd >= 0)
		return 0;
	/* Protocol 0 until the filter is on, so nothing unfiltered is queued in between. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		goto fail;
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = line->ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;
	err = loop_fd_listen(line->loop, fd, LOOP_READ, raw_read_h, line);
	if (err) {
		close(fd);
		return err;
	}
	s->raw_fd = fd;
	return 0;
fail:
	err = errno;
	close(fd);
	return err;
}

static int raw_send(struct line *line, const uint8_t *buf, size_t len, struct in_addr src,
		    struct in_addr dst)
{
	uint8_t frame[ETH_HLEN + 20 + 8 + DHCP_MAX_LEN];
	uint8_t *eth = frame, *ip = frame + ETH_HLEN, *udp = ip + 20;
	struct sockaddr_ll sll = {0};
	size_t tot = 20 + 8 + len;
	uint16_t c;

	if (len > DHCP_MAX_LEN)
		return EMSGSIZE;
	memset(eth, 0xff, 6); /* broadcast: we do not know the server's MAC (no ARP yet) */
	memcpy(eth + 6, line->mac, 6);
	eth[12] = ETH_P_IP >> 8;
	eth[13] = ETH_P_IP & 0xff;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[1] = 32 << 2; /* DSCP 32, like the carrier's other traffic */
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &src.s_addr, 4);
	memcpy(ip + 16, &dst.s_addr, 4);
	c = ip_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = 0;
	udp[1] = DHCP_CLIENT_PORT;
	udp[2] = 0;
	udp[3] = DHCP_SERVER_PORT;
	udp[4] = (uint8_t)((8 + len) >> 8);
	udp[5] = (uint8_t)(8 + len);
	udp[6] = udp[7] = 0;
	memcpy(udp + 8, buf, len);
	{
		/* UDP checksum over the pseudo header, so strict servers accept it. */
		uint8_t ph[12 + 8 + DHCP_MAX_LEN];
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = IPPROTO_UDP;
		ph[10] = udp[4];
		ph[11] = udp[5];
		memcpy(ph + 12, udp, 8 + len);
		c = ip_csum(ph, 12 + 8 + len);
		if (c == 0)
			c = 0xffff;
		udp[6] = (uint8_t)(c >> 8);
		udp[7] = (uint8_t)c;
	}
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = line->ifindex;
	sll.sll_halen = 6;
	memset(sll.sll_addr, 0xff, 6);
	if (sendto(line->sock->raw_fd, frame, ETH_HLEN + tot, 0, (struct sockaddr *)&sll,
		   sizeof(sll)) < 0)
		return errno;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * UDP socket
 */

static void udp_read_h(int fd, uint32_t events, void *arg)
{
	struct line *line = arg;
	uint8_t buf[DHCP_MAX_LEN + 1];

	for (int n = 0; n < 32; n++) {
		ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (got < 0)
			return;
		if ((size_t)got > DHCP_MAX_LEN)
			continue;
		line_input(line, buf, (size_t)got);
		if (line->sock == NULL || line->sock->udp_fd != fd)
			return;
	}
}

static int udp_open(struct line *line)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(DHCP_CLIENT_PORT)};
	int fd, one = 1, tos = 32 << 2, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, line->cfg.ifname,
		       (socklen_t)strlen(line->cfg.ifname)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	err = loop_fd_listen(line->loop, fd, LOOP_READ, udp_read_h, line);
	if (err) {
		close(fd);
		return err;
	}
	line->sock->udp_fd = fd;
	return 0;
}

static void close_fd(struct line *line, int *fd)
{
	if (*fd < 0)
		return;
	loop_fd_remove(line->loop, *fd);
	close(*fd);
	*fd = -1;
}

/* ---------------------------------------------------------------------------------------------
 * ARP probe
 */

static void arp_read_h(int fd, uint32_t events, void *arg)
{
	struct line *line = arg;
	uint8_t p[64];

	for (int n = 0; n < 32; n++) {
		ssize_t got = recv(fd, p, sizeof(p), MSG_DONTWAIT);
		uint16_t op;

		if (got < 0)
			return;
		if (got < 28 || p[4] != 6 || p[5] != 4)
			continue;
		op = (uint16_t)(p[6] << 8 | p[7]);
		/* Anyone claiming the address as its sender, other than us, holds it. */
		if ((op == 1 || op == 2) && !memcmp(p + 14, &line->sock->arp_addr.s_addr, 4) &&
		    memcmp(p + 8, line->mac, 6)) {
			line_arp_conflict(line);
			return;
		}
	}
}

static int linux_arp_probe(struct line *line, struct in_addr addr)
{
	struct line_sock *s = line->sock;
	struct sockaddr_ll sll = {0};
	uint8_t p[28];
	int err;

	close_fd(line, &s->arp_fd);
	s->arp_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));
	if (s->arp_fd < 0)
		return errno;
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ARP);
	sll.sll_ifindex = line->ifindex;
	if (bind(s->arp_fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;
	s->arp_addr = addr;
	/* RFC 5227 probe: sender address 0.0.0.0, target the address we want. */
	p[0] = 0;
	p[1] = 1; /* Ethernet */
	p[2] = 0x08;
	p[3] = 0x00;
	p[4] = 6;
	p[5] = 4;
	p[6] = 0;
	p[7] = 1; /* request */
	memcpy(p + 8, line->mac, 6);
	memset(p + 14, 0, 4);
	memset(p + 18, 0, 6);
	memcpy(p + 24, &addr.s_addr, 4);
	sll.sll_halen = 6;
	memset(sll.sll_addr, 0xff, 6);
	if (sendto(s->arp_fd, p, sizeof(p), 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;
	err = loop_fd_listen(line->loop, s->arp_fd, LOOP_READ, arp_read_h, line);
	if (err) {
		close(s->arp_fd);
		s->arp_fd = -1;
		return err;
	}
	return 0;
fail:
	err = errno;
	close(s->arp_fd);
	s->arp_fd = -1;
	return err;
}

/* ---------------------------------------------------------------------------------------------
 * The operations
 */

static int linux_open(struct line *line, bool udp, struct in_addr addr)
{
	struct line_sock *s = line->sock;
	int err;

	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return ENOMEM;
		s->raw_fd = s->udp_fd = s->arp_fd = -1;
		line->sock = s;
	}
	close_fd(line, &s->arp_fd);
	if (udp) {
		s->src = addr;
		if (s->udp_fd < 0) {
			err = udp_open(line);
			if (err) {
				/* Port 68 taken by another client: keep listening the raw way. */
				log_warn("%s: UDP port 68: %s; staying on the packet socket",
					 line->cfg.ifname, strerror(err));
				return raw_open(line);
			}
		}
		close_fd(line, &s->raw_fd);
		return 0;
	}
	s->src.s_addr = INADDR_ANY;
	close_fd(line, &s->udp_fd);
	err = raw_open(line);
	if (err)
		log_error("%s: packet socket: %s", line->cfg.ifname, strerror(err));
	return err;
}

static int linux_send(struct line *line, const uint8_t *buf, size_t len, struct in_addr dst)
{
	struct line_sock *s = line->sock;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(DHCP_SERVER_PORT)};

	if (!s)
		return ENOTCONN;
	if (s->udp_fd >= 0) {
		sin.sin_addr = dst;
		if (sendto(s->udp_fd, buf, len, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			return errno;
		return 0;
	}
	if (s->raw_fd < 0)
		return ENOTCONN;
	return raw_send(line, buf, len, s->src, dst);
}

static int linux_apply(struct line *line, const struct line_lease *prev,
		       const struct line_lease *next)
{
	return line_nl_apply(line->ifindex, prev, next);
}

static void linux_remove(struct line *line, const struct line_lease *l)
{
	line_nl_remove(line->ifindex, l);
}

static void linux_close(struct line *line)
{
	struct line_sock *s = line->sock;

	if (!s)
		return;
	close_fd(line, &s->raw_fd);
	close_fd(line, &s->udp_fd);
	close_fd(line, &s->arp_fd);
	free(s);
	line->sock = NULL;
}

const struct line_ops line_ops_linux = {
    .open = linux_open,
    .send = linux_send,
    .apply = linux_apply,
    .remove = linux_remove,
    .arp_probe = linux_arp_probe,
    .close = linux_close,
};
