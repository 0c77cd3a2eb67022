/* state.c: lease files: our own state file (the raw DHCPACK and when it was acquired, so a
 * restart starts from INIT-REBOOT) and the leases of external clients (dhclient,
 * systemd-networkd) for users who keep their own DHCP client. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "line_int.h"

#define LOG_MODULE "line"

const char *line_mac_fmt(const uint8_t mac[6], char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return buf;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex digits, optionally separated by ':' (dhclient writes "1:2f:..."), into out. */
static int hex_decode(const char *s, uint8_t *out, size_t size, size_t *len)
{
	size_t n = 0;

	while (*s) {
		int hi, lo;
		if (*s == ':' || *s == ' ') {
			s++;
			continue;
		}
		hi = hexval((unsigned char)s[0]);
		if (hi < 0)
			return EINVAL;
		/* dhclient drops a leading zero: "1:2f" is 01 2f. */
		if (s[1] == '\0' || s[1] == ':' || s[1] == ' ' || s[1] == ';') {
			lo = hi;
			hi = 0;
			s += 1;
		} else {
			lo = hexval((unsigned char)s[1]);
			if (lo < 0)
				return EINVAL;
			s += 2;
		}
		if (*s == ';')
			s++;
		if (n >= size)
			return ENOSPC;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	*len = n;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Our state file
 */

int line_state_save(const struct line *line, const uint8_t *ack, size_t len)
{
	char tmp[sizeof(line->cfg.state_file) + 8], mac[20];
	FILE *f;
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", line->cfg.state_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	fprintf(f, "# mikaka line lease: the last DHCPACK on this interface. Written by mikakad;\n"
		   "# delete it to start from DISCOVER.\n");
	fprintf(f, "interface=%s\n", line->cfg.ifname);
	fprintf(f, "mac=%s\n", line_mac_fmt(line->mac, mac, sizeof(mac)));
	/* The lease counts from the REQUEST; convert that loop time to the wall clock. */
	fprintf(
	    f, "acquired=%lld\n",
	    (long long)(time(NULL) - (time_t)((loop_now(line->loop) - line->req_sent_ms) / 1000)));
	fprintf(f, "address=%s\n", inet_ntoa(line->info.lease.address));
	fprintf(f, "ack=");
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", ack[i]);
	fprintf(f, "\n");
	if (fflush(f) || fsync(fd))
		err = errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno ? errno : EIO;
	if (!err && rename(tmp, line->cfg.state_file))
		err = errno;
	if (err)
		unlink(tmp);
	return err;
}

int line_state_load(const struct line_config *cfg, const uint8_t mac[6], struct line_lease *lease,
		    time_t *acquired)
{
	char buf[4 * DHCP_MAX_LEN], want_mac[20];
	uint8_t *raw = NULL;
	struct dhcp_pkt *pkt = NULL;
	bool if_ok = false, mac_ok = false;
	long long acq = -1;
	size_t rawlen = 0;
	const char *why;
	FILE *f;
	int err = 0;

	f = fopen(cfg->state_file, "re");
	if (!f)
		return errno == ENOENT ? ENOENT : errno;
	raw = malloc(DHCP_MAX_LEN);
	pkt = malloc(sizeof(*pkt));
	if (!raw || !pkt) {
		err = ENOMEM;
		goto out;
	}
	line_mac_fmt(mac, want_mac, sizeof(want_mac));
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (!strncmp(buf, "interface=", 10))
			if_ok = !strcmp(buf + 10, cfg->ifname);
		else if (!strncmp(buf, "mac=", 4))
			mac_ok = !strcasecmp(buf + 4, want_mac);
		else if (!strncmp(buf, "acquired=", 9))
			acq = strtoll(buf + 9, NULL, 10);
		else if (!strncmp(buf, "ack=", 4) &&
			 hex_decode(buf + 4, raw, DHCP_MAX_LEN, &rawlen))
			rawlen = 0;
	}
	if (!if_ok || !mac_ok || acq <= 0 || rawlen == 0 || dhcp_pkt_decode(pkt, raw, rawlen) ||
	    pkt->type != DHCP_ACK) {
		log_info("%s: stored lease %s is for another interface or MAC, or unreadable",
			 cfg->ifname, cfg->state_file);
		err = EINVAL;
		goto out;
	}
	dhcp_lease_decode(lease, pkt, NULL);
	if (dhcp_lease_check(lease, true, &why)) {
		err = EINVAL;
		goto out;
	}
	if (lease->lease_time != LINE_LEASE_INFINITE &&
	    acq + (long long)lease->lease_time <= (long long)time(NULL)) {
		log_info("%s: stored lease for %s has expired", cfg->ifname,
			 inet_ntoa(lease->address));
		err = ESTALE;
		goto out;
	}
	*acquired = (time_t)acq;
out:
	fclose(f);
	free(raw);
	free(pkt);
	return err;
}

/* ---------------------------------------------------------------------------------------------
 * External lease files
 */

static int add_u32(struct dhcp_pkt *pkt, uint8_t code, const char *v)
{
	char *end;
	unsigned long x = strtoul(v, &end, 10);
	uint32_t be = htonl((uint32_t)x);

	if (end == v)
		return EINVAL;
	return dhcp_pkt_add(pkt, code, (const uint8_t *)&be, 4);
}

static int add_addrs(struct dhcp_pkt *pkt, uint8_t code, const char *v, uint8_t prefix)
{
	uint8_t out[1 + 4 * LINE_SERVERS_MAX];
	size_t n = 0;
	char tmp[256];
	char *tok, *save = NULL;

	if (prefix != 0xff)
		out[n++] = prefix;
	snprintf(tmp, sizeof(tmp), "%s", v);
	for (tok = strtok_r(tmp, " ,", &save); tok && n + 4 <= sizeof(out);
	     tok = strtok_r(NULL, " ,", &save)) {
		struct in_addr a;
		if (inet_pton(AF_INET, tok, &a) != 1)
			continue;
		memcpy(out + n, &a.s_addr, 4);
		n += 4;
	}
	if (n < 4)
		return EINVAL;
	return dhcp_pkt_add(pkt, code, out, n);
}

/* "dst/plen,gw dst/plen,gw" (networkd) into option 121 bytes. */
static int add_routes_networkd(struct dhcp_pkt *pkt, const char *v)
{
	uint8_t out[255];
	size_t n = 0;
	char tmp[1024];
	char *tok, *save = NULL;

	snprintf(tmp, sizeof(tmp), "%s", v);
	for (tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *slash = strchr(tok, '/'), *comma = strchr(tok, ',');
		struct in_addr dst, gw;
		unsigned plen;
		if (!slash || !comma || comma < slash)
			continue;
		*slash = *comma = '\0';
		plen = (unsigned)atoi(slash + 1);
		if (plen > 32 || inet_pton(AF_INET, tok, &dst) != 1 ||
		    inet_pton(AF_INET, comma + 1, &gw) != 1 || n + 9 > sizeof(out))
			continue;
		out[n++] = (uint8_t)plen;
		memcpy(out + n, &dst.s_addr, (plen + 7) / 8);
		n += (plen + 7) / 8;
		memcpy(out + n, &gw.s_addr, 4);
		n += 4;
	}
	return n ? dhcp_pkt_add(pkt, DHCP_OPT_ROUTES, out, n) : 0;
}

/* dhclient's "24,192,0,2,203,0,113,5" (decimal bytes). */
static int add_decimal_bytes(struct dhcp_pkt *pkt, uint8_t code, const char *v)
{
	uint8_t out[255];
	size_t n = 0;

	while (*v && n < sizeof(out)) {
		char *end;
		unsigned long x = strtoul(v, &end, 10);
		if (end == v || x > 255)
			return EINVAL;
		out[n++] = (uint8_t)x;
		v = end;
		while (*v == ',' || *v == ' ')
			v++;
	}
	return n ? dhcp_pkt_add(pkt, code, out, n) : EINVAL;
}

static char *unquote(char *v)
{
	size_t l = strlen(v);

	if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
		v[l - 1] = '\0';
		return v + 1;
	}
	return v;
}

/* One "option NAME VALUE" of a dhclient lease. The named NTT values (ntt.number, ...) depend on
 * the user's dhclient.conf; vivso (raw option 125) is used first when present. */
static void dhclient_option(struct dhcp_pkt *pkt, struct line_lease *named, char *name, char *v)
{
	uint8_t raw[255];
	size_t n;

	if (!strcmp(name, "subnet-mask"))
		add_addrs(pkt, DHCP_OPT_SUBNET, v, 0xff);
	else if (!strcmp(name, "routers"))
		add_addrs(pkt, DHCP_OPT_ROUTER, v, 0xff);
	else if (!strcmp(name, "dhcp-server-identifier"))
		add_addrs(pkt, DHCP_OPT_SERVER_ID, v, 0xff);
	else if (!strcmp(name, "dhcp-lease-time"))
		add_u32(pkt, DHCP_OPT_LEASE, v);
	else if (!strcmp(name, "dhcp-renewal-time"))
		add_u32(pkt, DHCP_OPT_T1, v);
	else if (!strcmp(name, "dhcp-rebinding-time"))
		add_u32(pkt, DHCP_OPT_T2, v);
	else if (!strcmp(name, "rfc3442-classless-static-routes"))
		add_decimal_bytes(pkt, DHCP_OPT_ROUTES, v);
	else if (!strcmp(name, "vivso") || !strcmp(name, "unknown-125")) {
		if (!hex_decode(v, raw, sizeof(raw), &n))
			dhcp_pkt_add(pkt, DHCP_OPT_VI_INFO, raw, n);
	} else if (!strcmp(name, "unknown-120")) {
		if (!hex_decode(v, raw, sizeof(raw), &n))
			dhcp_pkt_add(pkt, DHCP_OPT_SIP, raw, n);
	} else if (strstr(name, "sip-server")) {
		/* "true 198.51.100.1" (boolean = encoding 1, then addresses) */
		if (!strncmp(v, "true ", 5))
			add_addrs(pkt, DHCP_OPT_SIP, v + 5, 1);
		else if (isdigit((unsigned char)v[0]))
			add_addrs(pkt, DHCP_OPT_SIP, v, 1);
	} else if (!strcmp(name, "ntt.number") || strstr(name, ".number")) {
		v = unquote(v);
		if (strlen(v) < LINE_NUMBER_LEN && named->nnumbers == 0) {
			snprintf(named->numbers[0], LINE_NUMBER_LEN, "%s", v);
			named->nnumbers = 1;
			named->has_number = true;
		}
	} else if (!strcmp(name, "ntt.domain") || strstr(name, ".domain")) {
		v = unquote(v);
		n = strlen(v);
		if (n && v[n - 1] == '.')
			v[n - 1] = '\0';
		snprintf(named->domain, sizeof(named->domain), "%s", v);
	}
}

static int read_dhclient(FILE *f, struct dhcp_pkt *pkt, struct line_lease *lease, time_t *expires)
{
	struct line_lease named;
	char line[2048];
	struct in_addr addr = {0};
	bool in = false, done = false;
	struct tm tm;

	memset(&named, 0, sizeof(named));
	/* Several lease blocks: the last complete one is the current lease. */
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == ';'))
			*--e = '\0';
		if (!strcmp(s, "lease {")) {
			memset(pkt, 0, sizeof(*pkt));
			memset(&named, 0, sizeof(named));
			addr.s_addr = 0;
			in = true;
			continue;
		}
		if (!in)
			continue;
		if (!strcmp(s, "}")) {
			in = false;
			done = addr.s_addr != 0;
			continue;
		}
		if (!strncmp(s, "fixed-address ", 14)) {
			inet_pton(AF_INET, s + 14, &addr);
		} else if (!strncmp(s, "option ", 7)) {
			char *name = s + 7, *v = strchr(name, ' ');
			if (!v)
				continue;
			*v++ = '\0';
			dhclient_option(pkt, &named, name, v);
		} else if (!strncmp(s, "expire ", 7)) {
			/* "expire 3 2021/02/24 12:00:00" in UTC ("expire never" = infinite) */
			memset(&tm, 0, sizeof(tm));
			if (strptime(s + 7, "%w %Y/%m/%d %H:%M:%S", &tm))
				*expires = timegm(&tm);
		}
	}
	if (!done)
		return EINVAL;
	pkt->yiaddr = addr;
	dhcp_lease_decode(lease, pkt, NULL);
	if (lease->nnumbers == 0 && named.nnumbers) {
		memcpy(lease->numbers, named.numbers, sizeof(named.numbers));
		lease->nnumbers = named.nnumbers;
		lease->has_number = named.has_number;
	}
	if (!lease->domain[0] && named.domain[0])
		memcpy(lease->domain, named.domain, sizeof(named.domain));
	return 0;
}

static int read_networkd(FILE *f, struct dhcp_pkt *pkt, struct line_lease *lease, time_t *expires)
{
	char line[2048];
	struct in_addr addr = {0};

	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '='), *v;
		line[strcspn(line, "\r\n")] = '\0';
		if (!eq || line[0] == '#')
			continue;
		*eq = '\0';
		v = eq + 1;
		if (!strcmp(line, "ADDRESS"))
			inet_pton(AF_INET, v, &addr);
		else if (!strcmp(line, "NETMASK"))
			add_addrs(pkt, DHCP_OPT_SUBNET, v, 0xff);
		else if (!strcmp(line, "ROUTER"))
			add_addrs(pkt, DHCP_OPT_ROUTER, v, 0xff);
		else if (!strcmp(line, "SERVER_ADDRESS"))
			add_addrs(pkt, DHCP_OPT_SERVER_ID, v, 0xff);
		else if (!strcmp(line, "LIFETIME"))
			add_u32(pkt, DHCP_OPT_LEASE, v);
		else if (!strcmp(line, "T1"))
			add_u32(pkt, DHCP_OPT_T1, v);
		else if (!strcmp(line, "T2"))
			add_u32(pkt, DHCP_OPT_T2, v);
		else if (!strcmp(line, "SIP"))
			add_addrs(pkt, DHCP_OPT_SIP, v, 1);
		else if (!strcmp(line, "CLASSLESS_ROUTES"))
			add_routes_networkd(pkt, v);
	}
	if (!addr.s_addr)
		return EINVAL;
	pkt->yiaddr = addr;
	dhcp_lease_decode(lease, pkt, NULL);
	*expires = 0; /* networkd does not write the expiry; the values stay until they change */
	return 0;
}

int line_lease_file_read(const char *path, struct line_lease *lease, time_t *expires)
{
	struct dhcp_pkt *pkt;
	char first[256];
	FILE *f;
	int err = EINVAL;

	f = fopen(path, "re");
	if (!f)
		return errno;
	pkt = calloc(1, sizeof(*pkt));
	if (!pkt) {
		fclose(f);
		return ENOMEM;
	}
	*expires = 0;
	/* networkd leases start with a comment and KEY=VALUE lines; dhclient's with "lease {"
	 * (or "default-duid" / comments). */
	while (fgets(first, sizeof(first), f)) {
		if (strstr(first, "lease {") || strstr(first, "default-duid")) {
			rewind(f);
			err = read_dhclient(f, pkt, lease, expires);
			break;
		}
		if (strchr(first, '=') && first[0] != '#') {
			rewind(f);
			err = read_networkd(f, pkt, lease, expires);
			break;
		}
	}
	free(pkt);
	fclose(f);
	return err;
}
