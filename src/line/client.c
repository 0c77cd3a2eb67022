/* client.c: the DHCPv4 client state machine (RFC 2131 §4.4): INIT-REBOOT, SELECTING,
 * REQUESTING, the ARP check (RFC 5227 probe, DECLINE on conflict), BOUND, RENEWING, REBINDING,
 * expiry, NAK handling and the retransmission back-off, all on the loop's clock. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "line_int.h"

#define LOG_MODULE "line"
/* An address as text in a buffer of the enclosing block (several per log line are fine). */
#define IP(a) inet_ntop(AF_INET, &(a), (char[INET_ADDRSTRLEN]){0}, INET_ADDRSTRLEN)

static void state_set(struct line *line, enum line_state st)
{
	if (line->info.state != st)
		log_debug("%s: %s -> %s", line->cfg.ifname, line_state_name(line->info.state),
			  line_state_name(st));
	line->info.state = st;
}

const char *line_state_name(enum line_state state)
{
	static const char *const names[] = {
	    [LINE_STOPPED] = "STOPPED",	      [LINE_INIT] = "INIT",
	    [LINE_SELECTING] = "SELECTING",   [LINE_REQUESTING] = "REQUESTING",
	    [LINE_REBOOTING] = "INIT-REBOOT", [LINE_CHECKING] = "CHECKING",
	    [LINE_BOUND] = "BOUND",	      [LINE_RENEWING] = "RENEWING",
	    [LINE_REBINDING] = "REBINDING",   [LINE_FILE] = "FROM-FILE",
	};
	if ((unsigned)state < ARRAY_SIZE(names) && names[state])
		return names[state];
	return "?";
}

/* Ignored packets are logged, but a busy segment must not flood the log: 20 lines a minute. */
static bool log_allowed(struct line *line)
{
	uint64_t now = loop_now(line->loop);

	if (now - line->log_window >= 60000 || line->log_window == 0) {
		line->log_window = now ? now : 1;
		line->log_budget = 20;
	}
	if (line->log_budget == 0)
		return false;
	line->log_budget--;
	return true;
}

static uint64_t jittered(struct line *line, uint64_t ms)
{
	uint16_t r;

	if (!line->jitter)
		return ms;
	if (rand_bytes(&r, sizeof(r)))
		return ms;
	return ms - 1000 + (r % 2001);
}

static void new_xid(struct line *line)
{
	uint32_t x = 0;

	if (rand_bytes(&x, sizeof(x)) || x == 0)
		x = (uint32_t)loop_now(line->loop) ^ 0x5a5a1234u;
	line->xid = x;
}

static uint16_t secs_elapsed(struct line *line)
{
	uint64_t s = (loop_now(line->loop) - line->start_ms) / 1000;

	return s > 0xffff ? 0xffff : (uint16_t)s;
}

static int send_msg(struct line *line, enum dhcp_type type, struct in_addr ciaddr,
		    struct in_addr req_addr, struct in_addr server_id, struct in_addr dst)
{
	struct dhcp_req req = {
	    .type = type,
	    .xid = line->xid,
	    .secs = secs_elapsed(line),
	    /* Unconfigured, we cannot receive unicast for an address we do not have yet. */
	    .broadcast = ciaddr.s_addr == INADDR_ANY,
	    .ciaddr = ciaddr,
	    .req_addr = req_addr,
	    .server_id = server_id,
	    .vendor_class = line->cfg.vendor_class,
	};
	struct mbuf mb;
	int err;

	memcpy(req.mac, line->mac, 6);
	mbuf_init(&mb);
	err = dhcp_build(&mb, &req);
	if (!err)
		err = line->ops->send(line, mb.buf, mb.end, dst);
	if (err)
		log_warn("%s: sending DHCP message %d: %s", line->cfg.ifname, type, strerror(err));
	mbuf_reset(&mb);
	return err;
}

static const struct in_addr no_addr = {INADDR_ANY};
static const struct in_addr bcast_addr = {INADDR_BROADCAST};

static void retx_h(void *arg);
static void t1_h(void *arg);
static void t2_h(void *arg);
static void expire_h(void *arg);

static void arm_retx(struct line *line, uint64_t ms)
{
	loop_timer_start(line->loop, &line->retx, ms, retx_h, line);
}

/* Sends the message this state sends, and arms the next retransmission. */
static void transmit(struct line *line)
{
	uint64_t now = loop_now(line->loop);
	struct in_addr ci = line->has_applied ? line->applied.address : no_addr;

	line->tries++;
	switch (line->info.state) {
	case LINE_SELECTING:
		send_msg(line, DHCP_DISCOVER, no_addr, no_addr, no_addr, bcast_addr);
		break;
	case LINE_REQUESTING:
		line->req_sent_ms = now;
		send_msg(line, DHCP_REQUEST, no_addr, line->offer.address, line->offer.server_id,
			 bcast_addr);
		break;
	case LINE_REBOOTING:
		line->req_sent_ms = now;
		send_msg(line, DHCP_REQUEST, no_addr, line->reboot.address, no_addr, bcast_addr);
		break;
	case LINE_RENEWING:
		line->req_sent_ms = now;
		send_msg(line, DHCP_REQUEST, ci, no_addr, no_addr, line->applied.server_id);
		break;
	case LINE_REBINDING:
		line->req_sent_ms = now;
		send_msg(line, DHCP_REQUEST, ci, no_addr, no_addr, bcast_addr);
		break;
	default:
		return;
	}
	if (line->info.state == LINE_RENEWING || line->info.state == LINE_REBINDING) {
		/* RFC 2131 §4.4.5: half the time left to T2 (expiry), at least 60 s. */
		uint64_t until = line->info.state == LINE_RENEWING ? line->t2_at : line->expire_at;
		uint64_t wait = until > now ? (until - now) / 2 : 0;
		if (wait < LINE_RENEW_MIN_MS)
			wait = LINE_RENEW_MIN_MS;
		if (until == 0 || now + wait < until)
			arm_retx(line, wait);
		return;
	}
	arm_retx(line, jittered(line, line->backoff_ms));
	line->backoff_ms = MIN(line->backoff_ms * 2, (uint64_t)LINE_RETX_MAX_MS);
}

static void enter(struct line *line, enum line_state st)
{
	state_set(line, st);
	line->tries = 0;
	line->backoff_ms = LINE_RETX_FIRST_MS;
	loop_timer_cancel(&line->retx);
	transmit(line);
}

static void start_discover(struct line *line)
{
	line->ops->open(line, false, no_addr);
	new_xid(line);
	line->start_ms = loop_now(line->loop);
	enter(line, LINE_SELECTING);
}

static void init_after(struct line *line, uint64_t delay_ms)
{
	state_set(line, LINE_INIT);
	loop_timer_cancel(&line->retx);
	if (delay_ms == 0) {
		start_discover(line);
		return;
	}
	arm_retx(line, delay_ms);
}

/* ---------------------------------------------------------------------------------------------
 * Announcing changes
 */

static bool routes_eq(const struct line_lease *a, const struct line_lease *b)
{
	if (a->nroutes != b->nroutes)
		return false;
	for (size_t i = 0; i < a->nroutes; i++)
		if (a->routes[i].dst.s_addr != b->routes[i].dst.s_addr ||
		    a->routes[i].plen != b->routes[i].plen ||
		    a->routes[i].gw.s_addr != b->routes[i].gw.s_addr)
			return false;
	return true;
}

static unsigned lease_diff(const struct line_lease *a, const struct line_lease *b)
{
	unsigned ch = 0;

	if (a->address.s_addr != b->address.s_addr || a->plen != b->plen)
		ch |= LINE_CHG_ADDRESS;
	if (a->nsip_servers != b->nsip_servers || a->nsip_names != b->nsip_names ||
	    (a->nsip_servers && a->sip_servers[0].s_addr != b->sip_servers[0].s_addr) ||
	    (a->nsip_names && strcmp(a->sip_names[0], b->sip_names[0])))
		ch |= LINE_CHG_SERVER;
	if (a->nnumbers != b->nnumbers)
		ch |= LINE_CHG_NUMBER;
	for (size_t i = 0; i < a->nnumbers && i < b->nnumbers; i++)
		if (strcmp(a->numbers[i], b->numbers[i]))
			ch |= LINE_CHG_NUMBER;
	if (strcmp(a->domain, b->domain))
		ch |= LINE_CHG_DOMAIN;
	if (!routes_eq(a, b))
		ch |= LINE_CHG_ROUTES;
	return ch;
}

const char *line_changes_text(unsigned ch, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s%s%s", ch & LINE_CHG_ADDRESS ? " address" : "",
		 ch & LINE_CHG_SERVER ? " server" : "", ch & LINE_CHG_NUMBER ? " number" : "",
		 ch & LINE_CHG_DOMAIN ? " domain" : "", ch & LINE_CHG_ROUTES ? " routes" : "",
		 ch & LINE_CHG_LOST ? " lost" : "");
	return buf[0] ? buf + 1 : buf;
}

static void announce(struct line *line, unsigned changes)
{
	const struct line_lease *l = &line->info.lease;
	char what[64];

	if (!changes)
		return;
	line->info.last_change = time(NULL);
	line->info.last_changes = changes;
	if (line->info.bound)
		log_notice("%s: line changed (%s): address %s/%u, server %s, number %s, domain %s",
			   line->cfg.ifname, line_changes_text(changes, what, sizeof(what)),
			   IP(l->address), l->plen, l->nsip_servers ? IP(l->sip_servers[0]) : "-",
			   l->nnumbers ? l->numbers[0] : "-", l->domain[0] ? l->domain : "-");
	else
		log_notice("%s: line lost (no lease)", line->cfg.ifname);
	if (line->h)
		line->h(&line->info, changes, line->arg);
}

/* Drops the lease: removes what is installed and announces the loss. */
static void lose_lease(struct line *line, const char *why)
{
	struct line_lease empty;
	unsigned ch;

	loop_timer_cancel(&line->t1);
	loop_timer_cancel(&line->t2);
	loop_timer_cancel(&line->expire);
	line->t1_at = line->t2_at = line->expire_at = 0;
	if (line->has_applied) {
		log_notice("%s: removing %s (%s)", line->cfg.ifname, IP(line->applied.address),
			   why);
		line->ops->remove(line, &line->applied);
		line->has_applied = false;
	}
	line->ops->open(line, false, no_addr);
	if (!line->info.bound)
		return;
	memset(&empty, 0, sizeof(empty));
	ch = lease_diff(&line->info.lease, &empty) | LINE_CHG_LOST;
	line->info.bound = false;
	memset(&line->info.lease, 0, sizeof(line->info.lease));
	announce(line, ch);
}

/* ---------------------------------------------------------------------------------------------
 * Binding
 */

static void arm_lease_timers(struct line *line, const struct line_lease *l)
{
	uint64_t base = line->req_sent_ms;
	uint64_t now = loop_now(line->loop);

	loop_timer_cancel(&line->t1);
	loop_timer_cancel(&line->t2);
	loop_timer_cancel(&line->expire);
	line->t1_at = line->t2_at = line->expire_at = 0;
	if (l->lease_time == LINE_LEASE_INFINITE)
		return;
	line->t1_at = base + (uint64_t)l->t1 * 1000;
	line->t2_at = base + (uint64_t)l->t2 * 1000;
	line->expire_at = base + (uint64_t)l->lease_time * 1000;
	loop_timer_start(line->loop, &line->t1, line->t1_at > now ? line->t1_at - now : 0, t1_h,
			 line);
	loop_timer_start(line->loop, &line->t2, line->t2_at > now ? line->t2_at - now : 0, t2_h,
			 line);
	loop_timer_start(line->loop, &line->expire,
			 line->expire_at > now ? line->expire_at - now : 0, expire_h, line);
}

static void bind_lease(struct line *line, const struct line_lease *l, const uint8_t *raw,
		       size_t rawlen)
{
	unsigned ch;
	int err;

	loop_timer_cancel(&line->retx);
	if (line->probe) {
		line->probe_done = true;
		state_set(line, LINE_BOUND);
		return;
	}
	if (line->cfg.install) {
		err = line->ops->apply(line, line->has_applied ? &line->applied : NULL, l);
		if (err) {
			log_error(
			    "%s: installing %s failed (%s); nothing applied, retrying in 10 s",
			    line->cfg.ifname, IP(l->address), strerror(err));
			lose_lease(line, "install failed");
			init_after(line, LINE_DECLINE_WAIT_MS);
			return;
		}
		line->applied = *l;
		line->has_applied = true;
	}
	if (l->lease_time == LINE_LEASE_INFINITE)
		log_notice("%s: infinite lease: no renewal", line->cfg.ifname);
	line->naks = 0;
	state_set(line, LINE_BOUND);
	line->ops->open(line, true, l->address);
	arm_lease_timers(line, l);
	line->info.bound_at = line->req_sent_ms;
	ch = lease_diff(&line->info.lease, l); /* all zero when not bound */
	if (!line->info.bound)
		ch |= LINE_CHG_ADDRESS; /* the first lease is always news */
	line->info.lease = *l;
	line->info.bound = true;
	if (rawlen && line->cfg.state_file[0] && line_state_save(line, raw, rawlen))
		log_warn("%s: cannot store the lease in %s", line->cfg.ifname,
			 line->cfg.state_file);
	announce(line, ch);
}

void line_arp_conflict(struct line *line)
{
	if (line->info.state != LINE_CHECKING)
		return;
	log_warn("%s: %s is in use by another host (ARP); declining", line->cfg.ifname,
		 IP(line->offer.address));
	loop_timer_cancel(&line->retx);
	send_msg(line, DHCP_DECLINE, no_addr, line->offer.address, line->offer.server_id,
		 bcast_addr);
	init_after(line, LINE_DECLINE_WAIT_MS);
}

static void check_done(struct line *line)
{
	bind_lease(line, &line->offer, line->pending_ack, line->pending_len);
}

/* ---------------------------------------------------------------------------------------------
 * Timers
 */

static void retx_h(void *arg)
{
	struct line *line = arg;

	switch (line->info.state) {
	case LINE_INIT:
		start_discover(line);
		return;
	case LINE_CHECKING:
		check_done(line); /* no ARP answer in time: the address is ours */
		return;
	case LINE_REQUESTING:
		if (line->tries >= LINE_REQUEST_TRIES) {
			log_info("%s: no answer to REQUEST; back to DISCOVER", line->cfg.ifname);
			start_discover(line);
			return;
		}
		break;
	case LINE_REBOOTING:
		if (line->tries >= LINE_REBOOT_TRIES) {
			log_info("%s: no answer for the stored lease; back to DISCOVER",
				 line->cfg.ifname);
			line->has_reboot = false;
			start_discover(line);
			return;
		}
		break;
	default:
		break;
	}
	transmit(line);
}

static void t1_h(void *arg)
{
	struct line *line = arg;

	if (line->info.state != LINE_BOUND)
		return;
	log_info("%s: T1: renewing with %s", line->cfg.ifname, IP(line->applied.server_id));
	new_xid(line);
	line->start_ms = loop_now(line->loop);
	enter(line, LINE_RENEWING);
}

static void t2_h(void *arg)
{
	struct line *line = arg;

	if (line->info.state != LINE_BOUND && line->info.state != LINE_RENEWING)
		return;
	log_info("%s: T2: rebinding (broadcast)", line->cfg.ifname);
	new_xid(line);
	enter(line, LINE_REBINDING);
}

static void expire_h(void *arg)
{
	struct line *line = arg;

	log_warn("%s: lease expired", line->cfg.ifname);
	line->t1_at = line->t2_at = line->expire_at = 0;
	lose_lease(line, "lease expired");
	init_after(line, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Input
 */

static void ignore(struct line *line, const char *why)
{
	if (log_allowed(line))
		log_info("%s: DHCP reply ignored: %s", line->cfg.ifname, why);
}

static void handle_nak(struct line *line, const struct dhcp_pkt *pkt, const struct line_lease *l)
{
	uint64_t delay;

	if (line->info.state == LINE_REQUESTING && l->server_id.s_addr &&
	    l->server_id.s_addr != line->offer.server_id.s_addr) {
		ignore(line, "NAK from a server we did not request from");
		return;
	}
	log_notice("%s: DHCPNAK from %s in %s", line->cfg.ifname, IP(l->server_id),
		   line_state_name(line->info.state));
	line->has_reboot = false;
	lose_lease(line, "NAK");
	/* A server that NAKs everything must not make us spin: 0, 1, 2, 4 ... 60 s. */
	delay = line->naks ? MIN(1000ull << MIN(line->naks - 1, 6u), 60000ull) : 0;
	line->naks++;
	init_after(line, delay);
}

static void handle_ack(struct line *line, const struct line_lease *l, const uint8_t *raw,
		       size_t len)
{
	const char *why;
	enum line_state st = line->info.state;

	if (dhcp_lease_check(l, true, &why)) {
		ignore(line, why);
		return;
	}
	if (st == LINE_REQUESTING && l->server_id.s_addr != line->offer.server_id.s_addr) {
		ignore(line, "ACK from a server we did not request from");
		return;
	}
	if (st == LINE_REQUESTING || st == LINE_REBOOTING) {
		bool known = line->has_applied && line->applied.address.s_addr == l->address.s_addr;
		line->offer = *l;
		if (!line->probe && line->cfg.arp_probe_ms && !known &&
		    len <= sizeof(line->pending_ack)) {
			memcpy(line->pending_ack, raw, len);
			line->pending_len = len;
			state_set(line, LINE_CHECKING);
			loop_timer_cancel(&line->retx);
			if (line->ops->arp_probe(line, l->address) == 0) {
				arm_retx(line, line->cfg.arp_probe_ms);
				return;
			}
			/* The probe could not be sent: bind without it rather than stall. */
		}
		bind_lease(line, l, raw, len);
		return;
	}
	/* RENEWING / REBINDING */
	if (line->has_applied && l->address.s_addr != line->applied.address.s_addr)
		log_notice("%s: the server moved us from %s", line->cfg.ifname,
			   IP(line->applied.address));
	bind_lease(line, l, raw, len);
}

void line_input(struct line *line, const uint8_t *buf, size_t len)
{
	struct dhcp_pkt *pkt;
	struct dhcp_problems probs = {.n = 0};
	struct line_lease *l;
	enum line_state st = line->info.state;

	pkt = malloc(sizeof(*pkt));
	l = malloc(sizeof(*l));
	if (!pkt || !l)
		goto out;
	if (dhcp_pkt_decode(pkt, buf, len)) {
		ignore(line, "malformed packet (truncated, bad cookie or option lengths)");
		goto out;
	}
	if (pkt->op != 2)
		goto out; /* another client's request */
	if (pkt->xid != line->xid) {
		if (log_allowed(line))
			log_debug("%s: reply for another transaction (xid %08x)", line->cfg.ifname,
				  pkt->xid);
		goto out;
	}
	if (pkt->htype != 1 || pkt->hlen != 6 || memcmp(pkt->chaddr, line->mac, 6)) {
		ignore(line, "reply for another MAC address");
		goto out;
	}
	dhcp_lease_decode(l, pkt, &probs);
	if (probs.n && log_allowed(line))
		log_warn("%s: %s", line->cfg.ifname, probs.text);

	switch (pkt->type) {
	case DHCP_OFFER: {
		const char *why;
		if (st != LINE_SELECTING)
			goto out;
		if (dhcp_lease_check(l, false, &why)) {
			ignore(line, why);
			goto out;
		}
		if (l->lease_time == 0 && pkt->present[DHCP_OPT_LEASE]) {
			ignore(line, "offer with lease time 0");
			goto out;
		}
		log_info("%s: offer %s from %s", line->cfg.ifname, IP(l->address),
			 IP(l->server_id));
		if (line->probe && line->probe_offer)
			*line->probe_offer = *pkt;
		line->offer = *l;
		enter(line, LINE_REQUESTING);
		break;
	}
	case DHCP_ACK:
		if (st != LINE_REQUESTING && st != LINE_REBOOTING && st != LINE_RENEWING &&
		    st != LINE_REBINDING)
			goto out;
		if (line->probe && line->probe_ack)
			*line->probe_ack = *pkt;
		handle_ack(line, l, buf, len);
		break;
	case DHCP_NAK:
		if (st != LINE_REQUESTING && st != LINE_REBOOTING && st != LINE_RENEWING &&
		    st != LINE_REBINDING)
			goto out;
		handle_nak(line, pkt, l);
		break;
	default:
		break;
	}
out:
	free(pkt);
	free(l);
}

/* ---------------------------------------------------------------------------------------------
 * Life cycle
 */

void line_start(struct line *line)
{
	time_t acquired;

	line->has_reboot = false;
	if (!line->probe && line->cfg.state_file[0] &&
	    line_state_load(&line->cfg, line->mac, &line->reboot, &acquired) == 0) {
		line->has_reboot = true;
		log_info("%s: trying the stored lease %s (INIT-REBOOT)", line->cfg.ifname,
			 IP(line->reboot.address));
		line->ops->open(line, false, no_addr);
		new_xid(line);
		line->start_ms = loop_now(line->loop);
		enter(line, LINE_REBOOTING);
		return;
	}
	start_discover(line);
}

int line_alloc_ops(struct line **lp, struct loop *loop, const struct line_config *cfg,
		   const struct line_ops *ops, void *ops_arg, line_change_h *h, void *arg)
{
	struct line *line;

	if (!lp || !loop || !cfg || !cfg->ifname[0])
		return EINVAL;
	line = calloc(1, sizeof(*line));
	if (!line)
		return ENOMEM;
	line->loop = loop;
	line->cfg = *cfg;
	line->h = h;
	line->arg = arg;
	line->ops = ops ? ops : &line_ops_linux;
	line->ops_arg = ops_arg;
	line->jitter = true;
	memcpy(line->info.ifname, cfg->ifname, sizeof(line->info.ifname));
	line->info.ifname[sizeof(line->info.ifname) - 1] = '\0';
	loop_timer_init(&line->retx);
	loop_timer_init(&line->t1);
	loop_timer_init(&line->t2);
	loop_timer_init(&line->expire);
	loop_timer_init(&line->watch);
	if (cfg->has_mac)
		memcpy(line->mac, cfg->mac, 6);
	*lp = line;
	return 0;
}

const struct line_info *line_current(const struct line *line)
{
	return &line->info;
}

void line_stop(struct line *line)
{
	loop_timer_cancel(&line->retx);
	loop_timer_cancel(&line->t1);
	loop_timer_cancel(&line->t2);
	loop_timer_cancel(&line->expire);
	loop_timer_cancel(&line->watch);
	if (line->has_applied && !line->cfg.keep_on_exit) {
		log_info("%s: removing %s on exit", line->cfg.ifname, IP(line->applied.address));
		line->ops->remove(line, &line->applied);
		line->has_applied = false;
	}
	line->ops->close(line);
	state_set(line, LINE_STOPPED);
}
