/* lineid: which peer and which `register =>` line are the carrier line: one decision, made when
 * the configuration is loaded, when line discovery reports, and when a host name that did not
 * resolve resolves; read by the registrations (outbound.c) and the call engine.
 *
 * Every fixed host= and outboundproxy= of a peer and every `register =>` host is resolved here,
 * once: an IP literal is itself; a name is looked up in the names the line and the configuration
 * define (the discovered domain -> the option-120 server; a `register => user@DOMAIN@ADDRESS`
 * or a peer with fromdomain=DOMAIN and a literal host: DOMAIN -> that address, as the post's
 * extra_hosts did), then with the resolver. The line's server is the discovered one, else the
 * address of the `register =>` line that is the line's (no secret, or an NGN domain), else the
 * address of a peer named "line"; a peer is the line when one of its addresses is the server
 * (or it is named by that register's `peer?` prefix, or its name is "line"). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "reg"
#include "reg_int.h"

#define RESOLVE_RETRY_MS (60 * 1000)

static bool all_digits(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

/* Names equal as DNS names: case-insensitive, a trailing dot ignored. */
static bool name_eq(const char *a, const char *b)
{
	size_t la, lb;

	if (!a || !b)
		return false;
	la = strlen(a);
	lb = strlen(b);
	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la && la == lb && !strncasecmp(a, b, la);
}

bool reg_is_ngn_domain(const char *name)
{
	/* NGN-NOTES §1.3, sub-option 204: the only two SIP domains of the line. */
	return name_eq(name, "ntt-east.ne.jp") || name_eq(name, "ntt-west.ne.jp");
}

/* An IP literal (IPv6 with or without brackets); port 0. */
static bool literal(const char *host, struct sa *out)
{
	char buf[64];
	size_t n;

	if (!host || !*host)
		return false;
	if (!sa_set_str(out, host, 0))
		return true;
	n = strlen(host);
	if (host[0] == '[' && n > 2 && host[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		return !sa_set_str(out, buf, 0);
	}
	return false;
}

int reg_resolve_getaddrinfo(const char *host, struct sa *out, size_t max, void *arg)
{
	struct addrinfo hints, *res = NULL;
	size_t n = 0;

	(void)arg;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (getaddrinfo(host, NULL, &hints, &res) || !res)
		return -ENOENT;
	for (const struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
		struct sa a;
		bool dup = false;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    (size_t)ai->ai_addrlen > sizeof(a.u))
			continue;
		memset(&a, 0, sizeof(a));
		memcpy(&a.u.sa, ai->ai_addr, (size_t)ai->ai_addrlen);
		a.len = ai->ai_addrlen;
		for (size_t i = 0; i < n; i++)
			dup |= sa_eq_addr(&out[i], &a);
		if (!dup)
			out[n++] = a;
	}
	freeaddrinfo(res);
	return n ? (int)n : -ENOENT;
}

/* ---------------------------------------------------------------------------------------------
 * Resolution.
 */
struct alias {
	const char *name;
	struct sa addr; /* port 0 */
};

struct decider {
	const struct sipcfg *cfg;
	const struct reg_line_found *found;
	bool discovery; /* discovery is configured: NGN domains only from its lease */
	reg_resolve_h *resolve;
	void *arg;
	struct conf_diags *diags;
	struct alias aliases[64];
	size_t naliases;
	bool unresolved;
};

static void alias_add(struct decider *d, const char *name, const struct sa *addr)
{
	struct sa a = *addr;

	if (!name || !*name || d->naliases >= ARRAY_SIZE(d->aliases))
		return;
	for (size_t i = 0; i < d->naliases; i++) {
		if (name_eq(d->aliases[i].name, name))
			return; /* the first one given wins (discovery is added first) */
	}
	sa_set_port(&a, 0);
	d->aliases[d->naliases].name = name;
	d->aliases[d->naliases].addr = a;
	d->naliases++;
}

/* Resolves host into dest (port set); diagnostics at origin with `what` ("[peer] host=..."). */
static void resolve(struct decider *d, const char *host, uint16_t port, struct reg_dest *dest,
		    const struct conf_origin *origin, const char *what)
{
	struct sa addrs[REG_ADDRS_MAX];
	int n;

	dest->n = 0;
	if (!host || !*host)
		return;
	if (literal(host, &addrs[0])) {
		n = 1;
	} else {
		n = -ENOENT;
		for (size_t i = 0; i < d->naliases; i++) {
			if (name_eq(d->aliases[i].name, host)) {
				addrs[0] = d->aliases[i].addr;
				n = 1;
				break;
			}
		}
		if (n < 0 && d->discovery && reg_is_ngn_domain(host)) {
			/* Discovery will say where the line's domain is (the public DNS must not:
			 * NGN-NOTES §2.1); until its lease, quietly nothing. */
			d->unresolved = true;
			return;
		}
		if (n < 0 && d->resolve)
			n = d->resolve(host, addrs, REG_ADDRS_MAX, d->arg);
	}
	if (n <= 0) {
		d->unresolved = true;
		conf_diag_add(
		    d->diags, CONF_WARNING, origin && origin->file ? origin->file : "sip.conf",
		    origin ? origin->line : 0,
		    "%s: '%s' does not resolve; nothing is sent there and nothing from "
		    "there is recognised until it does (tried again every %d s)%s",
		    what, host, RESOLVE_RETRY_MS / 1000,
		    reg_is_ngn_domain(host)
			? "; the line's domain resolves through line discovery ([line] in "
			  "mikaka.conf), as user@DOMAIN@SERVER in register =>, or as a "
			  "peer's fromdomain= with host= the server"
			: "");
		return;
	}
	if ((size_t)n > REG_ADDRS_MAX)
		n = REG_ADDRS_MAX;
	for (int i = 0; i < n; i++) {
		dest->addrs[i] = addrs[i];
		sa_set_port(&dest->addrs[i], port ? port : SIP_PORT_DEFAULT);
	}
	dest->n = (size_t)n;
	if (n > 1) {
		char list[4 * SA_STRLEN + 8] = "", one[SA_STRLEN];

		for (int i = 0; i < n; i++) {
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? ", " : "", sa_ntop(&addrs[i], one, sizeof(one)));
		}
		conf_diag_add(d->diags, CONF_WARNING,
			      origin && origin->file ? origin->file : "sip.conf",
			      origin ? origin->line : 0,
			      "%s: '%s' resolves to %d addresses (%s): requests go to the first, "
			      "requests from any of them are taken as coming from here",
			      what, host, n, list);
	}
}

static bool dest_has(const struct reg_dest *dest, const struct sa *a, bool port)
{
	for (size_t i = 0; i < dest->n; i++) {
		if (port ? sa_eq(&dest->addrs[i], a) : sa_eq_addr(&dest->addrs[i], a))
			return true;
	}
	return false;
}

static void peer_where(const struct peer *p, char *buf, size_t size, const char *key)
{
	snprintf(buf, size, "[%s] %s", p->name, key);
}

/* ---------------------------------------------------------------------------------------------
 * The decision.
 */
void reg_line_view_reset(struct reg_line_view *v)
{
	if (!v)
		return;
	free(v->peers);
	free(v->regs);
	memset(v, 0, sizeof(*v));
	v->line.reg_index = -1;
}

static void numbers_from(struct reg_line *l, const char *const *nums, size_t n)
{
	l->nnumbers = 0;
	for (size_t i = 0; i < n && l->nnumbers < REG_LINE_NUMBERS_MAX; i++) {
		if (!nums[i] || !*nums[i])
			continue;
		snprintf(l->numbers[l->nnumbers], sizeof(l->numbers[0]), "%s", nums[i]);
		l->nnumbers++;
	}
}

int reg_line_decide(struct reg_line_view *v, const struct sipcfg *cfg,
		    const struct reg_settings *set, const struct reg_line_found *found,
		    reg_resolve_h *resolve_h, void *arg, struct conf_diags *diags)
{
	struct decider d;
	size_t npeers = sipcfg_peer_count(cfg), nregs = 0;
	const struct sipcfg_register *regs = sipcfg_registers(cfg, &nregs);
	const struct peer *defaults = sipcfg_general(cfg)->defaults;
	struct reg_line *l = &v->line;
	bool disc = found && found->up;
	int cand = -1;
	char what[300];

	memset(v, 0, sizeof(*v));
	l->reg_index = -1;
	v->peers = calloc(npeers ? npeers : 1, sizeof(*v->peers));
	v->regs = calloc(nregs ? nregs : 1, sizeof(*v->regs));
	if (!v->peers || !v->regs) {
		reg_line_view_reset(v);
		return ENOMEM;
	}
	v->npeers = npeers;
	v->nregs = nregs;
	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.found = found;
	d.resolve = resolve_h;
	d.arg = arg;
	d.diags = diags;
	d.discovery = set && set->line_discovery;

	/* Names the line and the configuration define, before any resolver: discovery first. */
	if (disc && found->domain[0])
		alias_add(&d, found->domain, &found->server);
	for (size_t i = 0; i < nregs; i++) {
		struct sa a;

		if (regs[i].domain && literal(regs[i].host, &a))
			alias_add(&d, regs[i].domain, &a);
	}
	for (size_t i = 0; i < npeers; i++) {
		const struct peer *p = sipcfg_peer_at(cfg, i);
		struct sa a;

		if (p->dynamic || !p->fromdomain)
			continue;
		if (p->host && literal(p->host, &a))
			alias_add(&d, p->fromdomain, &a);
		else if (p->outboundproxy && literal(p->outboundproxy, &a))
			alias_add(&d, p->fromdomain, &a);
	}

	/* Where each fixed peer is: its outboundproxy= (requests go there), and its host=. */
	for (size_t i = 0; i < npeers; i++) {
		const struct peer *p = sipcfg_peer_at(cfg, i);
		struct reg_dest *pd = &v->peers[i];
		struct conf_origin o;

		pd->name = p->name;
		if (p->dynamic || p->type == PEER_TYPE_USER)
			continue;
		if (p->outboundproxy) {
			o = peer_origin(p, PEER_KEY_OUTBOUNDPROXY);
			peer_where(p, what, sizeof(what), "outboundproxy");
			resolve(&d, p->outboundproxy, p->outboundproxy_port, pd, &o, what);
			pd->via_proxy = true;
			if (p->host) {
				struct reg_dest hd;

				memset(&hd, 0, sizeof(hd));
				o = peer_origin(p, PEER_KEY_HOST);
				peer_where(p, what, sizeof(what), "host");
				resolve(&d, p->host, p->port, &hd, &o, what);
				for (size_t k = 0; k < hd.n && pd->n < REG_ADDRS_MAX; k++) {
					if (!dest_has(pd, &hd.addrs[k], true))
						pd->addrs[pd->n++] = hd.addrs[k];
				}
			}
		} else if (p->host) {
			o = peer_origin(p, PEER_KEY_HOST);
			peer_where(p, what, sizeof(what), "host");
			resolve(&d, p->host, p->port, pd, &o, what);
		}
	}

	/* Where each `register =>` goes: its peer?'s address, [general] outboundproxy, its host. */
	if (defaults && defaults->outboundproxy) {
		struct conf_origin o = peer_origin(defaults, PEER_KEY_OUTBOUNDPROXY);

		resolve(&d, defaults->outboundproxy, defaults->outboundproxy_port,
			&v->general_proxy, &o, "[general] outboundproxy");
	}
	for (size_t i = 0; i < nregs; i++) {
		const struct sipcfg_register *r = &regs[i];
		const struct peer *rp = r->peer ? peer_find(cfg, r->peer) : NULL;

		snprintf(what, sizeof(what), "register => %s@%s", r->user,
			 r->domain ? r->domain : r->host);
		if (rp) {
			for (size_t k = 0; k < npeers; k++) {
				if (sipcfg_peer_at(cfg, k) == rp)
					v->regs[i] = v->peers[k];
			}
		}
		if (!v->regs[i].n && v->general_proxy.n)
			v->regs[i] = v->general_proxy;
		if (!v->regs[i].n)
			resolve(&d, r->host, r->port, &v->regs[i], &r->origin, what);
		v->regs[i].name = r->peer;
	}

	/* The line's server. */
	if (disc) {
		l->known = l->discovered = true;
		l->server = found->server;
		if (!sa_port(&l->server))
			sa_set_port(&l->server, SIP_PORT_DEFAULT);
		l->local = found->local;
		snprintf(l->domain, sizeof(l->domain), "%s", found->domain);
		{
			const char *nums[REG_LINE_NUMBERS_MAX];

			for (size_t i = 0; i < found->nnumbers && i < REG_LINE_NUMBERS_MAX; i++)
				nums[i] = found->numbers[i];
			numbers_from(l, nums, MIN(found->nnumbers, (size_t)REG_LINE_NUMBERS_MAX));
		}
		for (size_t i = 0; i < nregs && cand < 0; i++) {
			if (name_eq(regs[i].domain, found->domain) ||
			    name_eq(regs[i].host, found->domain) ||
			    dest_has(&v->regs[i], &l->server, false))
				cand = (int)i;
		}
		snprintf(l->source, sizeof(l->source), "discovered (server %s)",
			 sa_fmt(&l->server, what, sizeof(what)));
	} else {
		for (size_t i = 0; i < nregs && cand < 0; i++) {
			if (!regs[i].secret || reg_is_ngn_domain(regs[i].domain) ||
			    reg_is_ngn_domain(regs[i].host))
				cand = (int)i;
		}
		if (cand >= 0) {
			const struct sipcfg_register *r = &regs[cand];
			struct sa tmp;

			l->known = true;
			if (v->regs[cand].n)
				l->server = v->regs[cand].addrs[0];
			if (r->domain)
				snprintf(l->domain, sizeof(l->domain), "%s", r->domain);
			else if (!literal(r->host, &tmp))
				snprintf(l->domain, sizeof(l->domain), "%s", r->host);
			snprintf(l->source, sizeof(l->source), "register => at %s:%u",
				 r->origin.file ? r->origin.file : "?", r->origin.line);
		} else {
			for (size_t i = 0; i < npeers; i++) {
				const struct peer *p = sipcfg_peer_at(cfg, i);

				if (strcasecmp(p->name, "line") || !v->peers[i].n)
					continue;
				l->known = true;
				l->server = v->peers[i].addrs[0];
				snprintf(l->source, sizeof(l->source), "the peer named [line]");
			}
		}
	}
	l->reg_index = cand;

	/* The peers that are the line. */
	for (size_t i = 0; i < npeers && l->known; i++) {
		const struct peer *p = sipcfg_peer_at(cfg, i);
		struct reg_dest *pd = &v->peers[i];

		if (p->dynamic || p->type == PEER_TYPE_USER)
			continue;
		pd->line = !strcasecmp(p->name, "line") ||
			   (sa_isset(&l->server) && dest_has(pd, &l->server, true)) ||
			   (cand >= 0 && regs[cand].peer && !strcasecmp(regs[cand].peer, p->name));
		if (!pd->line)
			continue;
		if (!l->domain[0] && p->fromdomain)
			snprintf(l->domain, sizeof(l->domain), "%s", p->fromdomain);
		if (!sa_isset(&l->server) && pd->n)
			l->server = pd->addrs[0];
		if (!l->peer[0])
			snprintf(l->peer, sizeof(l->peer), "%s", p->name);
	}

	/* The numbers when discovery gives none: [registrar] line_number, the register => user,
	 * the line peer's fromuser (only digits: the post's 210VALUE is not a number). */
	if (l->known && !l->nnumbers) {
		const char *n = NULL;

		if (set && set->line_number[0])
			n = set->line_number;
		else if (cand >= 0 && all_digits(regs[cand].user))
			n = regs[cand].user;
		for (size_t i = 0; !n && i < npeers; i++) {
			const struct peer *p = sipcfg_peer_at(cfg, i);

			if (v->peers[i].line && all_digits(p->fromuser))
				n = p->fromuser;
		}
		if (n)
			numbers_from(l, &n, 1);
	}
	if (l->known && !l->domain[0]) {
		/* Without a domain the From would carry an address, which the line refuses. */
		const struct conf_origin *o = cand >= 0 ? &regs[cand].origin : NULL;

		conf_diag_add(diags, CONF_WARNING, o && o->file ? o->file : "sip.conf",
			      o ? o->line : 0,
			      "the line's SIP domain is not known (no discovery, no "
			      "register => user@DOMAIN, no fromdomain=): requests to the line "
			      "carry its address instead");
	}
	v->unresolved = d.unresolved;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The registrar's copy, and the questions the call engine asks.
 */
static void lineid_timer_h(void *arg);

/* Equal, or both unset. */
static bool sa_same(const struct sa *a, const struct sa *b)
{
	return sa_isset(a) ? sa_isset(b) && sa_eq(a, b) : !sa_isset(b);
}

static bool sa_same_addr(const struct sa *a, const struct sa *b)
{
	return sa_isset(a) ? sa_isset(b) && sa_eq_addr(a, b) : !sa_isset(b);
}

/* Prints the diagnostics not printed by the previous decision (a renewal or a retry does not
 * repeat them every time). */
static void print_new(struct reg *reg, const struct conf_diags *diags)
{
	struct mbuf mb;

	mbuf_init(&mb);
	for (size_t i = 0; i < diags->count; i++) {
		char buf[600];

		conf_diag_format(&diags->items[i], buf, sizeof(buf));
		if (!reg->line_diags || !strstr(reg->line_diags, buf)) {
			if (diags->items[i].severity == CONF_ERROR)
				log_error("%s", buf);
			else
				log_warn("%s", buf);
		}
		mbuf_printf(&mb, "%s\n", buf);
	}
	mbuf_write(&mb, "", 1);
	free(reg->line_diags);
	reg->line_diags = mb.buf ? strdup((const char *)mb.buf) : NULL;
	mbuf_reset(&mb);
}

int reg_lineid_update(struct reg *reg, bool *moved)
{
	struct reg_line_view nv;
	struct conf_diags diags = {0};
	const struct reg_line *ol = &reg->lv.line, *nl;
	int err;

	if (moved)
		*moved = false;
	err = reg_line_decide(&nv, reg->cfg, &reg->set, &reg->found, reg->set.resolve,
			      reg->set.resolve_arg, &diags);
	if (err) {
		conf_diags_reset(&diags);
		log_error("the line: %s (the previous decision stays)", strerror(err));
		return err;
	}
	print_new(reg, &diags);
	conf_diags_reset(&diags);
	nl = &nv.line;
	if (moved)
		*moved = ol->known != nl->known || !sa_same(&ol->server, &nl->server) ||
			 !sa_same_addr(&ol->local, &nl->local) ||
			 strcasecmp(ol->domain, nl->domain) ||
			 strcmp(ol->numbers[0], nl->numbers[0]);
	if (nl->known && (!reg->lv_set || ol->known != nl->known || strcmp(ol->peer, nl->peer) ||
			  !sa_same(&ol->server, &nl->server))) {
		char sb[SA_STRLEN];

		log_notice("the line: %s; server %s, domain %s, number %s, peer %s", nl->source,
			   sa_isset(&nl->server) ? sa_fmt(&nl->server, sb, sizeof(sb)) : "unknown",
			   nl->domain[0] ? nl->domain : "unknown",
			   nl->nnumbers ? nl->numbers[0] : "unknown",
			   nl->peer[0] ? nl->peer : "none");
	}
	reg_line_view_reset(&reg->lv);
	reg->lv = nv;
	reg->lv_set = true;
	loop_timer_cancel(&reg->lineid_tmr);
	if (reg->lv.unresolved)
		loop_timer_start(reg->loop, &reg->lineid_tmr, RESOLVE_RETRY_MS, lineid_timer_h,
				 reg);
	return 0;
}

static void lineid_timer_h(void *arg)
{
	struct reg *reg = arg;
	bool moved = false;

	if (reg_lineid_update(reg, &moved) == 0)
		reg_outs_line_changed(reg, moved);
}

void reg_lineid_free(struct reg *reg)
{
	loop_timer_cancel(&reg->lineid_tmr);
	reg_line_view_reset(&reg->lv);
	free(reg->line_diags);
	reg->line_diags = NULL;
}

static const struct reg_dest *dest_of(const struct reg *reg, const char *name)
{
	if (!reg || !name)
		return NULL;
	for (size_t i = 0; i < reg->lv.npeers; i++) {
		if (reg->lv.peers[i].name && !strcasecmp(reg->lv.peers[i].name, name))
			return &reg->lv.peers[i];
	}
	return NULL;
}

const struct reg_line *reg_line(const struct reg *reg)
{
	static const struct reg_line none = {.reg_index = -1};

	return reg ? &reg->lv.line : &none;
}

bool reg_peer_is_line(const struct reg *reg, const struct peer *p)
{
	const struct reg_dest *pd = p && !p->dynamic ? dest_of(reg, p->name) : NULL;

	return pd && pd->line;
}

int reg_peer_dest(const struct reg *reg, const struct peer *p, struct sa *dst)
{
	const struct reg_dest *pd;

	if (!p || p->dynamic)
		return ENOENT;
	if (sa_isset(&p->addr) && !p->outboundproxy) {
		*dst = p->addr;
		if (!sa_port(dst))
			sa_set_port(dst, p->port ? p->port : SIP_PORT_DEFAULT);
		return 0;
	}
	pd = dest_of(reg, p->name);
	if (!pd || !pd->n)
		return ENOENT;
	*dst = pd->addrs[0];
	return 0;
}

const struct peer *reg_peer_by_addr(const struct reg *reg, const struct sipcfg *cfg,
				    const struct sa *src)
{
	for (size_t i = 0; i < sipcfg_peer_count(cfg); i++) {
		const struct peer *p = sipcfg_peer_at(cfg, i);
		const struct reg_dest *pd;
		bool any_port = p->insecure & PEER_INSECURE_PORT;

		if (p->dynamic || p->type == PEER_TYPE_USER)
			continue;
		if (sa_isset(&p->addr)) {
			if (sa_eq_addr(&p->addr, src) &&
			    (any_port || !sa_port(&p->addr) || sa_port(&p->addr) == sa_port(src)))
				return p;
		}
		pd = dest_of(reg, p->name);
		if (pd && dest_has(pd, src, !any_port))
			return p;
	}
	return NULL;
}

bool reg_is_line_server(const struct reg *reg, const struct sa *src)
{
	return reg && reg->lv.line.known && sa_isset(&reg->lv.line.server) &&
	       sa_eq_addr(&reg->lv.line.server, src);
}
