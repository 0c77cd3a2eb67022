/* line.c: the line module's public face: [line] configuration, start and stop, the line
 * variables and the SIP-domain mapping, `line show`, the external lease-file watcher and the
 * one-shot `line probe`. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "line_int.h"

#define LOG_MODULE    "line"
#define IP(a)	      inet_ntop(AF_INET, &(a), (char[INET_ADDRSTRLEN]){0}, INET_ADDRSTRLEN)
#define LINE_WATCH_MS 5000

/* ---------------------------------------------------------------------------------------------
 * Configuration
 */

static bool parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") ||
	    !strcasecmp(v, "on"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") ||
		 !strcasecmp(v, "off"))
		*out = false;
	else
		return false;
	return true;
}

static bool parse_mac(const char *v, uint8_t mac[6])
{
	unsigned b[6];
	char end;

	if (sscanf(v, "%2x%*[:-]%2x%*[:-]%2x%*[:-]%2x%*[:-]%2x%*[:-]%2x%c", &b[0], &b[1], &b[2],
		   &b[3], &b[4], &b[5], &end) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	/* A group address cannot be a station's MAC. */
	return !(mac[0] & 1) && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static void bad(struct conf_diags *diags, const struct conf_var *v, const char *want)
{
	conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
		      "[line] %s = %s: expected %s", v->name, v->value, want);
}

int line_config_load(struct line_config *cfg, const struct conf *mikakaconf,
		     struct conf_diags *diags)
{
	const struct conf_section *sec = mikakaconf ? conf_section_find(mikakaconf, "line") : NULL;
	int err = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->install = true;
	cfg->arp_probe_ms = 200;
	if (!sec)
		return 0;
	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		const char *n = v->name, *val = v->value;
		if (!strcmp(n, "interface")) {
			if (!val[0] || strlen(val) >= sizeof(cfg->ifname) || strchr(val, '/') ||
			    strchr(val, ' ')) {
				bad(diags, v, "an interface name");
				err = EINVAL;
			} else {
				snprintf(cfg->ifname, sizeof(cfg->ifname), "%s", val);
			}
		} else if (!strcmp(n, "mac")) {
			if (!parse_mac(val, cfg->mac)) {
				bad(diags, v, "a unicast MAC address like 02:00:5e:10:00:01");
				err = EINVAL;
			} else {
				cfg->has_mac = true;
			}
		} else if (!strcmp(n, "vendor_class")) {
			if (strlen(val) > 255) {
				bad(diags, v, "at most 255 characters");
				err = EINVAL;
			} else {
				snprintf(cfg->vendor_class, sizeof(cfg->vendor_class), "%s", val);
			}
		} else if (!strcmp(n, "lease_file") || !strcmp(n, "state_file")) {
			char *dst = n[0] == 'l' ? cfg->lease_file : cfg->state_file;
			if (!val[0] || strlen(val) >= sizeof(cfg->lease_file)) {
				bad(diags, v, "a file name");
				err = EINVAL;
			} else {
				snprintf(dst, sizeof(cfg->lease_file), "%s", val);
			}
		} else if (!strcmp(n, "keep_on_exit")) {
			if (!parse_bool(val, &cfg->keep_on_exit)) {
				bad(diags, v, "yes or no");
				err = EINVAL;
			}
		} else if (!strcmp(n, "arp_probe")) {
			char *end;
			unsigned long ms = strtoul(val, &end, 10);
			if (end == val || *end || ms > 10000) {
				bad(diags, v, "milliseconds (0-10000; 0 turns the check off)");
				err = EINVAL;
			} else {
				cfg->arp_probe_ms = (uint32_t)ms;
			}
		} else {
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[line] %s: unknown key, ignored", n);
		}
	}
	if (cfg->lease_file[0] && !cfg->ifname[0]) {
		conf_diag_add(diags, CONF_ERROR, sec->origin.file, sec->origin.line,
			      "[line] lease_file needs interface = NAME too");
		err = EINVAL;
	}
	return err;
}

void line_state_path(char *buf, size_t size, const char *dbpath, const char *ifname)
{
	const char *slash = dbpath ? strrchr(dbpath, '/') : NULL;

	if (slash)
		snprintf(buf, size, "%.*s/line-%s.lease", (int)(slash - dbpath), dbpath, ifname);
	else
		snprintf(buf, size, "line-%s.lease", ifname);
}

/* ---------------------------------------------------------------------------------------------
 * External lease file
 */

static void file_read(struct line *line)
{
	struct line_lease l;
	time_t expires = 0;
	unsigned ch;
	int err;

	memset(&l, 0, sizeof(l));
	err = line_lease_file_read(line->cfg.lease_file, &l, &expires);
	if (!err && expires && expires <= time(NULL)) {
		log_warn("%s: lease in %s has expired", line->cfg.ifname, line->cfg.lease_file);
		err = ESTALE;
	}
	if (err) {
		if (line->info.bound) {
			ch = LINE_CHG_LOST | LINE_CHG_ADDRESS;
			line->info.bound = false;
			memset(&line->info.lease, 0, sizeof(line->info.lease));
			line->info.last_change = time(NULL);
			line->info.last_changes = ch;
			log_notice("%s: no usable lease in %s", line->cfg.ifname,
				   line->cfg.lease_file);
			if (line->h)
				line->h(&line->info, ch, line->arg);
		}
		return;
	}
	ch = 0;
	if (!line->info.bound)
		ch |= LINE_CHG_ADDRESS;
	if (line->info.lease.address.s_addr != l.address.s_addr || line->info.lease.plen != l.plen)
		ch |= LINE_CHG_ADDRESS;
	if (line->info.lease.nsip_servers != l.nsip_servers ||
	    (l.nsip_servers && line->info.lease.sip_servers[0].s_addr != l.sip_servers[0].s_addr))
		ch |= LINE_CHG_SERVER;
	if (line->info.lease.nnumbers != l.nnumbers ||
	    memcmp(line->info.lease.numbers, l.numbers, sizeof(l.numbers)))
		ch |= LINE_CHG_NUMBER;
	if (strcmp(line->info.lease.domain, l.domain))
		ch |= LINE_CHG_DOMAIN;
	line->info.lease = l;
	line->info.bound = true;
	line->expire_at = 0;
	line->info.bound_at = loop_now(line->loop);
	if (ch) {
		line->info.last_change = time(NULL);
		line->info.last_changes = ch;
		log_notice("%s: line from %s: address %s, server %s, number %s, domain %s",
			   line->cfg.ifname, line->cfg.lease_file, IP(l.address),
			   l.nsip_servers ? IP(l.sip_servers[0]) : "-",
			   l.nnumbers ? l.numbers[0] : "-", l.domain[0] ? l.domain : "-");
		if (line->h)
			line->h(&line->info, ch, line->arg);
	}
}

static struct timespec file_mtime(const char *path, off_t *size)
{
	struct stat st;
	struct timespec z = {0, 0};

	if (stat(path, &st))
		return z;
	*size = st.st_size;
	return st.st_mtim;
}

static void watch_h(void *arg)
{
	struct line *line = arg;
	off_t size = 0;
	struct timespec m = file_mtime(line->cfg.lease_file, &size);

	if (m.tv_sec != line->watch_mtime.tv_sec || m.tv_nsec != line->watch_mtime.tv_nsec ||
	    size != line->watch_size) {
		line->watch_mtime = m;
		line->watch_size = size;
		file_read(line);
	}
	loop_timer_start(line->loop, &line->watch, LINE_WATCH_MS, watch_h, line);
}

/* ---------------------------------------------------------------------------------------------
 * Life cycle
 */

int line_alloc(struct line **lp, struct loop *loop, const struct line_config *cfg, line_change_h *h,
	       void *arg)
{
	struct line *line = NULL;
	uint8_t ifmac[6];
	int err;

	err = line_alloc_ops(&line, loop, cfg, NULL, NULL, h, arg);
	if (err)
		return err;
	if (cfg->lease_file[0]) {
		line->info.state = LINE_FILE;
		log_info("%s: reading the line from %s (no DHCP client of our own)", cfg->ifname,
			 cfg->lease_file);
		line->watch_mtime = file_mtime(cfg->lease_file, &line->watch_size);
		file_read(line);
		loop_timer_start(loop, &line->watch, LINE_WATCH_MS, watch_h, line);
		*lp = line;
		return 0;
	}
	err = line_if_info(cfg->ifname, &line->ifindex, ifmac);
	if (err) {
		log_error("line interface %s: %s", cfg->ifname, strerror(err));
		free(line);
		return err;
	}
	if (!cfg->has_mac) {
		memcpy(line->mac, ifmac, 6);
	} else if (memcmp(ifmac, cfg->mac, 6) && cfg->install) {
		char a[20];
		/* The server answers the MAC it knows; unicast replies must reach the NIC. */
		err = line_nl_set_mac(line->ifindex, cfg->mac);
		if (err)
			log_warn("%s: cannot set the MAC to %s (%s); sending it in DHCP only",
				 cfg->ifname, line_mac_fmt(cfg->mac, a, sizeof(a)), strerror(err));
		else
			log_notice("%s: MAC set to %s", cfg->ifname,
				   line_mac_fmt(cfg->mac, a, sizeof(a)));
	}
	line_start(line);
	*lp = line;
	return 0;
}

void line_free(struct line *line)
{
	if (!line)
		return;
	if (line->info.state != LINE_FILE)
		line_stop(line);
	else
		loop_timer_cancel(&line->watch);
	free(line->probe_offer);
	free(line->probe_ack);
	free(line);
}

/* ---------------------------------------------------------------------------------------------
 * Variables and the SIP domain
 */

const char *const line_var_names[] = {"LINE_NUMBER", "LINE_NUMBERS", "LINE_DOMAIN",
				      "LINE_SERVER", "LINE_ADDRESS", NULL};

int line_info_var(const struct line_info *info, const char *name, char *buf, size_t size)
{
	const struct line_lease *l = &info->lease;
	int n = -1;

	if (!info->bound || size == 0)
		return ENOENT;
	if (!strcmp(name, "LINE_NUMBER")) {
		if (!l->nnumbers)
			return ENOENT;
		n = snprintf(buf, size, "%s", l->numbers[0]);
	} else if (!strcmp(name, "LINE_NUMBERS")) {
		size_t off = 0;
		if (!l->nnumbers)
			return ENOENT;
		buf[0] = '\0';
		for (size_t i = 0; i < l->nnumbers; i++) {
			n = snprintf(buf + off, size - off, "%s%s", i ? " " : "", l->numbers[i]);
			if (n < 0 || (size_t)n >= size - off)
				return ENOSPC;
			off += (size_t)n;
		}
		return 0;
	} else if (!strcmp(name, "LINE_DOMAIN")) {
		if (!l->domain[0])
			return ENOENT;
		n = snprintf(buf, size, "%s", l->domain);
	} else if (!strcmp(name, "LINE_SERVER")) {
		if (l->nsip_servers)
			n = snprintf(buf, size, "%s", IP(l->sip_servers[0]));
		else if (l->nsip_names)
			n = snprintf(buf, size, "%s", l->sip_names[0]);
		else
			return ENOENT;
	} else if (!strcmp(name, "LINE_ADDRESS")) {
		if (!l->address.s_addr)
			return ENOENT;
		n = snprintf(buf, size, "%s", IP(l->address));
	} else {
		return ENOENT;
	}
	if (n < 0 || (size_t)n >= size)
		return ENOSPC;
	return 0;
}

int line_var(const struct line *line, const char *name, char *buf, size_t size)
{
	if (!line)
		return ENOENT;
	return line_info_var(&line->info, name, buf, size);
}

static bool name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la && la == lb && !strncasecmp(a, b, la);
}

int line_resolve(const struct line *line, const char *domain, struct sa *out)
{
	const struct line_lease *l;
	bool match = false;

	if (!line || !domain || !line->info.bound)
		return ENOENT;
	l = &line->info.lease;
	if (!l->nsip_servers)
		return ENOENT;
	if (l->domain[0] && name_eq(domain, l->domain))
		match = true;
	for (size_t i = 0; i < l->nsip_names && !match; i++)
		match = name_eq(domain, l->sip_names[i]);
	if (!match)
		return ENOENT;
	memset(out, 0, sizeof(*out));
	out->u.in.sin_family = AF_INET;
	out->u.in.sin_addr = l->sip_servers[0];
	out->len = sizeof(out->u.in);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Printing
 */

void line_lease_print(const struct line_lease *l, bool json, struct mbuf *out)
{
	char mac[20];

	if (json) {
		mbuf_printf(out,
			    "\"address\":\"%s\",\"prefix\":%u,\"router\":\"%s\","
			    "\"server_id\":\"%s\",\"lease_time\":%u,\"t1\":%u,\"t2\":%u,",
			    IP(l->address), l->plen, IP(l->router), IP(l->server_id), l->lease_time,
			    l->t1, l->t2);
		mbuf_write_str(out, "\"sip_servers\":[");
		for (size_t i = 0; i < l->nsip_servers; i++)
			mbuf_printf(out, "%s\"%s\"", i ? "," : "", IP(l->sip_servers[i]));
		for (size_t i = 0; i < l->nsip_names; i++)
			mbuf_printf(out, "%s\"%s\"", i || l->nsip_servers ? "," : "",
				    l->sip_names[i]);
		mbuf_printf(out, "],\"sip_encoding\":%d,",
			    l->nsip_servers ? 1
			    : l->nsip_names ? 0
					    : -1);
		mbuf_printf(out, "\"number\":\"%s\",\"numbers\":[",
			    l->has_number ? l->numbers[0] : "");
		for (size_t i = 0; i < l->nnumbers; i++)
			mbuf_printf(out, "%s\"%s\"", i ? "," : "", l->numbers[i]);
		mbuf_printf(out, "],\"domain\":\"%s\",\"firmware_host\":\"%s\",\"mac\":\"%s\",",
			    l->domain, l->firmware,
			    l->has_mac ? line_mac_fmt(l->mac, mac, sizeof(mac)) : "");
		mbuf_write_str(out, "\"routes\":[");
		for (size_t i = 0; i < l->nroutes; i++)
			mbuf_printf(out, "%s{\"dst\":\"%s/%u\",\"gw\":\"%s\"}", i ? "," : "",
				    IP(l->routes[i].dst), l->routes[i].plen, IP(l->routes[i].gw));
		mbuf_write_str(out, "]");
		return;
	}
	mbuf_printf(out, "  address      %s/%u\n", IP(l->address), l->plen);
	mbuf_printf(out, "  server-id    %s\n", l->server_id.s_addr ? IP(l->server_id) : "-");
	mbuf_printf(out, "  router       %s (option 3; not installed)\n",
		    l->router.s_addr ? IP(l->router) : "-");
	if (l->lease_time == LINE_LEASE_INFINITE)
		mbuf_write_str(out, "  lease        infinite\n");
	else
		mbuf_printf(out, "  lease        %u s (T1 %u s, T2 %u s)\n", l->lease_time, l->t1,
			    l->t2);
	mbuf_write_str(out, "  sip-server  ");
	for (size_t i = 0; i < l->nsip_servers; i++)
		mbuf_printf(out, " %s", IP(l->sip_servers[i]));
	for (size_t i = 0; i < l->nsip_names; i++)
		mbuf_printf(out, " %s", l->sip_names[i]);
	if (!l->nsip_servers && !l->nsip_names)
		mbuf_write_str(out, " -");
	mbuf_printf(out, "%s\n",
		    l->nsip_servers ? " (option 120, IPv4)"
		    : l->nsip_names ? " (option 120, names)"
				    : "");
	mbuf_printf(out, "  number       %s\n", l->has_number ? l->numbers[0] : "-");
	mbuf_write_str(out, "  numbers     ");
	for (size_t i = 0; i < l->nnumbers; i++)
		mbuf_printf(out, " %s", l->numbers[i]);
	mbuf_printf(out, "%s\n", l->nnumbers ? "" : " -");
	mbuf_printf(out, "  domain       %s\n", l->domain[0] ? l->domain : "-");
	mbuf_printf(out, "  firmware     %s (125/210/210; not used)\n",
		    l->firmware[0] ? l->firmware : "-");
	mbuf_printf(out, "  mac (201)    %s\n",
		    l->has_mac ? line_mac_fmt(l->mac, mac, sizeof(mac)) : "-");
	for (size_t i = 0; i < l->nroutes; i++)
		mbuf_printf(out, "  route        %s/%u via %s%s\n", IP(l->routes[i].dst),
			    l->routes[i].plen, IP(l->routes[i].gw),
			    l->routes[i].plen ? "" : " (default route: never installed)");
	if (!l->nroutes)
		mbuf_write_str(out, "  route        - (no option 121)\n");
}

static void countdown(struct mbuf *out, const char *label, uint64_t at, uint64_t now)
{
	if (!at)
		mbuf_printf(out, "%s -", label);
	else if (at <= now)
		mbuf_printf(out, "%s now", label);
	else
		mbuf_printf(out, "%s in %llu s", label, (unsigned long long)((at - now) / 1000));
}

int line_show(const struct line *line, struct mbuf *out)
{
	const struct line_info *info;
	uint64_t now;

	if (!line) {
		mbuf_write_str(out,
			       "Line discovery is off (mikaka.conf [line] interface = NAME).\n");
		return 0;
	}
	info = &line->info;
	now = loop_now(line->loop);
	mbuf_printf(out, "Line %s: %s\n", info->ifname, line_state_name(info->state));
	if (info->state == LINE_FILE)
		mbuf_printf(out, "  source       %s\n", line->cfg.lease_file);
	if (!info->bound) {
		mbuf_write_str(out, "  no lease\n");
	} else {
		char v[LINE_NUMBERS_MAX * LINE_NUMBER_LEN];
		line_lease_print(&info->lease, false, out);
		if (line_info_var(info, "LINE_NUMBERS", v, sizeof(v)) == 0)
			mbuf_printf(out, "  LINE_NUMBERS %s\n", v);
		if (info->state != LINE_FILE) {
			mbuf_write_str(out, "  timers      ");
			countdown(out, " T1", line->t1_at, now);
			countdown(out, ", T2", line->t2_at, now);
			countdown(out, ", expiry", line->expire_at, now);
			mbuf_write_str(out, "\n");
		}
	}
	if (info->last_change) {
		char when[64], what[64];
		struct tm tm;

		localtime_r(&info->last_change, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		mbuf_printf(out, "  last change  %s (%s)\n", when,
			    line_changes_text(info->last_changes, what, sizeof(what)));
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Probe
 */

static void probe_deadline_h(void *arg)
{
	bool *expired = arg;

	*expired = true;
}

int line_probe(const char *ifname, int timeout_ms, bool json, struct mbuf *out)
{
	struct line_config cfg;
	struct loop *loop = NULL;
	struct line *line = NULL;
	struct loop_timer deadline;
	struct line_lease *l = NULL;
	struct dhcp_problems probs = {.n = 0};
	const struct dhcp_pkt *pkt;
	bool expired = false;
	uint64_t t0;
	char mac[20];
	int err;

	memset(&cfg, 0, sizeof(cfg));
	if (!ifname || !ifname[0] || strlen(ifname) >= sizeof(cfg.ifname))
		return EINVAL;
	snprintf(cfg.ifname, sizeof(cfg.ifname), "%s", ifname);
	cfg.install = false;
	err = loop_alloc(&loop);
	if (err)
		return err;
	err = line_alloc_ops(&line, loop, &cfg, NULL, NULL, NULL, NULL);
	if (err)
		goto out;
	line->probe = true;
	line->probe_offer = calloc(1, sizeof(struct dhcp_pkt));
	line->probe_ack = calloc(1, sizeof(struct dhcp_pkt));
	l = calloc(1, sizeof(*l));
	if (!line->probe_offer || !line->probe_ack || !l) {
		err = ENOMEM;
		goto out;
	}
	err = line_if_info(ifname, &line->ifindex, line->mac);
	if (err)
		goto out;
	err = line->ops->open(line, false, (struct in_addr){0});
	if (err)
		goto out;
	loop_timer_init(&deadline);
	loop_timer_start(loop, &deadline, timeout_ms > 0 ? (uint64_t)timeout_ms : 10000,
			 probe_deadline_h, &expired);
	t0 = loop_now(loop);
	line_start(line);
	while (!line->probe_done && !expired) {
		err = loop_run_once(loop, -1);
		if (err)
			goto out;
	}
	loop_timer_cancel(&deadline);
	if (line->probe_done)
		pkt = line->probe_ack;
	else if (line->probe_offer->type == DHCP_OFFER)
		pkt = line->probe_offer;
	else {
		err = ETIMEDOUT;
		goto out;
	}
	dhcp_lease_decode(l, pkt, &probs);
	if (json) {
		mbuf_printf(out, "{\"interface\":\"%s\",\"mac\":\"%s\",\"message\":\"%s\",", ifname,
			    line_mac_fmt(line->mac, mac, sizeof(mac)),
			    pkt->type == DHCP_ACK ? "ACK" : "OFFER");
		mbuf_printf(out, "\"elapsed_ms\":%llu,", (unsigned long long)(loop_now(loop) - t0));
		line_lease_print(l, true, out);
		mbuf_printf(out, ",\"problems\":\"%s\",", probs.text);
		dhcp_pkt_print(pkt, true, out);
		mbuf_write_str(out, "}\n");
	} else {
		mbuf_printf(out, "Line probe on %s (MAC %s): %s from %s in %llu ms\n", ifname,
			    line_mac_fmt(line->mac, mac, sizeof(mac)),
			    pkt->type == DHCP_ACK ? "DHCPACK" : "DHCPOFFER only (no ACK)",
			    IP(l->server_id), (unsigned long long)(loop_now(loop) - t0));
		line_lease_print(l, false, out);
		if (probs.n)
			mbuf_printf(out, "  problems     %s\n", probs.text);
		dhcp_pkt_print(pkt, false, out);
	}
	err = 0;
out:
	free(l);
	line_free(line);
	loop_free(loop);
	return err;
}
