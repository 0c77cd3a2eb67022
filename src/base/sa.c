/* sa: IPv4/IPv6 socket addresses: parsing, comparing and printing. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

int sa_set_str(struct sa *sa, const char *addr, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(addr);

	memset(sa, 0, sizeof(*sa));
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return EINVAL;
		memcpy(buf, addr + 1, n - 2);
		buf[n - 2] = '\0';
		addr = buf;
	}
	if (inet_pton(AF_INET, addr, &sa->u.in.sin_addr) == 1) {
		sa->u.in.sin_family = AF_INET;
		sa->u.in.sin_port = htons(port);
		sa->len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sa->u.in6.sin6_addr) == 1) {
		sa->u.in6.sin6_family = AF_INET6;
		sa->u.in6.sin6_port = htons(port);
		sa->len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return EINVAL;
}

int sa_set_pl(struct sa *sa, const struct pl *addr, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN + 2];

	if (pl_strcpy(addr, buf, sizeof(buf)))
		return EINVAL;
	return sa_set_str(sa, buf, port);
}

int sa_decode(struct sa *sa, const char *str, uint16_t default_port)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL;
	size_t hl;

	if (str[0] == '[') {
		const char *rb = strchr(str, ']');
		if (!rb)
			return EINVAL;
		hl = (size_t)(rb - str) - 1;
		if (hl >= sizeof(host))
			return EINVAL;
		memcpy(host, str + 1, hl);
		host[hl] = '\0';
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1] != '\0')
			return EINVAL;
	} else {
		const char *c = strchr(str, ':');
		if (c && strchr(c + 1, ':'))
			c = NULL; /* bare IPv6 without brackets: no port */
		hl = c ? (size_t)(c - str) : strlen(str);
		if (hl >= sizeof(host))
			return EINVAL;
		memcpy(host, str, hl);
		host[hl] = '\0';
		if (c)
			port = c + 1;
	}
	if (port) {
		uint32_t p;
		struct pl pp = pl_from_str(port);
		if (pl_u32(&pp, &p) || p > 65535)
			return EINVAL;
		default_port = (uint16_t)p;
	}
	return sa_set_str(sa, host, default_port);
}

int sa_af(const struct sa *sa)
{
	return sa->u.sa.sa_family;
}

uint16_t sa_port(const struct sa *sa)
{
	switch (sa->u.sa.sa_family) {
	case AF_INET:
		return ntohs(sa->u.in.sin_port);
	case AF_INET6:
		return ntohs(sa->u.in6.sin6_port);
	default:
		return 0;
	}
}

void sa_set_port(struct sa *sa, uint16_t port)
{
	if (sa->u.sa.sa_family == AF_INET)
		sa->u.in.sin_port = htons(port);
	else if (sa->u.sa.sa_family == AF_INET6)
		sa->u.in6.sin6_port = htons(port);
}

bool sa_isset(const struct sa *sa)
{
	return sa && (sa->u.sa.sa_family == AF_INET || sa->u.sa.sa_family == AF_INET6);
}

bool sa_is_any(const struct sa *sa)
{
	if (sa->u.sa.sa_family == AF_INET)
		return sa->u.in.sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->u.sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&sa->u.in6.sin6_addr);
	return true;
}

bool sa_eq_addr(const struct sa *a, const struct sa *b)
{
	if (a->u.sa.sa_family != b->u.sa.sa_family)
		return false;
	if (a->u.sa.sa_family == AF_INET)
		return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
	if (a->u.sa.sa_family == AF_INET6)
		return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
	return false;
}

bool sa_eq(const struct sa *a, const struct sa *b)
{
	return sa_eq_addr(a, b) && sa_port(a) == sa_port(b);
}

/* The dotted quad, as inet_ntop writes it (glibc's formats it with sprintf: about 1,800
 * instructions, a dozen times per call through the B2BUA). NULL when it does not fit. */
static char *ntop4(const struct in_addr *in, char *buf, size_t size)
{
	const uint8_t *b = (const uint8_t *)&in->s_addr;
	char tmp[16], *p = tmp;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (i)
			*p++ = '.';
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
	}
	*p = '\0';
	if ((size_t)(p - tmp) >= size)
		return NULL;
	memcpy(buf, tmp, (size_t)(p - tmp) + 1);
	return buf;
}

const char *sa_ntop(const struct sa *sa, char *buf, size_t size)
{
	const void *src = sa->u.sa.sa_family == AF_INET6 ? (const void *)&sa->u.in6.sin6_addr
							 : (const void *)&sa->u.in.sin_addr;

	if (sa_isset(sa) && sa->u.sa.sa_family == AF_INET) {
		if (!ntop4(&sa->u.in.sin_addr, buf, size) && size)
			snprintf(buf, size, "?");
		return buf;
	}
	if (!sa_isset(sa) || !inet_ntop(sa->u.sa.sa_family, src, buf, (socklen_t)size))
		snprintf(buf, size, "?");
	return buf;
}

const char *sa_fmt(const struct sa *sa, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN], port[STR_U64_LEN];
	bool v6 = sa_af(sa) == AF_INET6;

	sa_ntop(sa, a, sizeof(a));
	str_cat(buf, size, v6 ? "[" : "", a, v6 ? "]:" : ":", str_u64(port, sa_port(sa)), NULL);
	return buf;
}

int sa_net_parse(struct sa_net *n, const char *text, bool *hostbits)
{
	char addr[INET6_ADDRSTRLEN + 2];
	const char *slash = strchr(text, '/'), *mask = slash ? slash + 1 : NULL;
	size_t alen = slash ? (size_t)(slash - text) : strlen(text), len;

	if (alen + 1 > sizeof(addr))
		return EINVAL;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (addr[0] == '[' && alen > 2 && addr[alen - 1] == ']') {
		memmove(addr, addr + 1, alen - 2);
		addr[alen - 2] = '\0';
	}
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, addr, n->addr) == 1)
		n->af = AF_INET;
	else if (inet_pton(AF_INET6, addr, n->addr) == 1)
		n->af = AF_INET6;
	else
		return EINVAL;
	len = n->af == AF_INET ? 4 : 16;
	if (!mask) {
		memset(n->mask, 0xff, len);
	} else if (strchr(mask, '.') || strchr(mask, ':')) {
		if (inet_pton(n->af, mask, n->mask) != 1)
			return EINVAL;
	} else {
		char *end;
		unsigned long prefix;

		if (!*mask || *mask == '-' || *mask == '+')
			return EINVAL;
		prefix = strtoul(mask, &end, 10);
		if (*end || prefix > len * 8)
			return EINVAL;
		for (size_t i = 0; i < len; i++) {
			unsigned long bits = prefix > 8 ? 8 : prefix;

			n->mask[i] = (uint8_t)(0xff00u >> bits);
			prefix -= bits;
		}
	}
	*hostbits = false;
	for (size_t i = 0; i < len; i++) {
		if (n->addr[i] & ~n->mask[i])
			*hostbits = true;
		n->addr[i] &= n->mask[i];
	}
	return 0;
}

bool sa_net_match(const struct sa_net *n, const struct sa *addr)
{
	const uint8_t *a;
	size_t len = n->af == AF_INET ? 4 : 16;
	int af = sa_af(addr);

	if (af == AF_INET && n->af == AF_INET) {
		a = (const uint8_t *)&addr->u.in.sin_addr;
	} else if (af == AF_INET6) {
		a = (const uint8_t *)&addr->u.in6.sin6_addr;
		if (n->af == AF_INET) {
			/* an IPv4 block holds the IPv4-mapped addresses */
			if (!IN6_IS_ADDR_V4MAPPED(&addr->u.in6.sin6_addr))
				return false;
			a += 12;
		}
	} else if (af == AF_INET && n->af == AF_INET6) {
		/* an IPv4 sender is ::ffff:a.b.c.d to an IPv6 block */
		uint8_t m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		memcpy(m + 12, &addr->u.in.sin_addr, 4);
		for (size_t j = 0; j < 16; j++) {
			if ((m[j] & n->mask[j]) != n->addr[j])
				return false;
		}
		return true;
	} else {
		return false;
	}
	for (size_t j = 0; j < len; j++) {
		if ((a[j] & n->mask[j]) != n->addr[j])
			return false;
	}
	return true;
}

bool sa_is_loopback(const struct sa *sa)
{
	if (sa_af(sa) == AF_INET)
		return (ntohl(sa->u.in.sin_addr.s_addr) >> 24) == 127;
	if (sa_af(sa) != AF_INET6)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&sa->u.in6.sin6_addr))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&sa->u.in6.sin6_addr) && sa->u.in6.sin6_addr.s6_addr[12] == 127;
}
