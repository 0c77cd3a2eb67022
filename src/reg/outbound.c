/* outbound: mikaka's own registrations: to the line exactly as NTT's device does (NGN-NOTES
 * §2.2: from :5060, Request-URI sip:DOMAIN, no rport, no credentials, Expires 3600, one Call-ID
 * with CSeq increasing) and to ITSP trunks from `register =>` (digest, rport). Refreshed before
 * half the granted time; failures back off with jitter from 30 s to 30 min. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LOG_MODULE "reg"
#include "reg_int.h"

#define NGN_EXPIRES 3600
#define NGN_ALLOW   "INVITE, ACK, BYE, CANCEL, PRACK, UPDATE" /* no OPTIONS (§2.1) */
#define TRUNK_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, REFER, NOTIFY"

static void out_send(struct reg_out *o);

const char *reg_out_state_name(enum reg_out_state s)
{
	switch (s) {
	case REG_OUT_REQUEST_SENT:
		return "Request Sent";
	case REG_OUT_AUTH_SENT:
		return "Auth. Sent";
	case REG_OUT_REGISTERED:
		return "Registered";
	case REG_OUT_REJECTED:
		return "Rejected";
	case REG_OUT_TIMEOUT:
		return "Timeout";
	case REG_OUT_NOAUTH:
		return "No Authentication";
	case REG_OUT_FAILED:
		return "Failed";
	default:
		return "Unregistered";
	}
}

uint32_t reg_backoff_delay(uint32_t min, uint32_t max, unsigned failures, uint32_t rnd)
{
	uint64_t base = min ? min : 1;

	for (unsigned i = 1; i < failures && base < max; i++)
		base *= 2;
	if (base > max)
		base = max;
	base += base / 4 * (uint64_t)rnd / UINT32_MAX;
	return (uint32_t)MIN(base, (uint64_t)max);
}

uint64_t reg_refresh_delay_ms(uint32_t granted)
{
	/* 45 % of the grant: before half of it, with room for a retransmission or two. */
	uint64_t ms = (uint64_t)granted * 450;

	return ms < 500 ? 500 : ms;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool reg_line_eq(const struct sipcfg_register *a, const struct sipcfg_register *b)
{
	return str_eq(a->peer, b->peer) && a->transport == b->transport &&
	       str_eq(a->user, b->user) && str_eq(a->domain, b->domain) &&
	       a->domainport == b->domainport && str_eq(a->secret, b->secret) &&
	       str_eq(a->authuser, b->authuser) && str_eq(a->host, b->host) && a->port == b->port &&
	       str_eq(a->contact, b->contact) && a->expiry == b->expiry;
}

/* Whether a `register =>` line is the line's: lineid.c decided it. */
static bool cr_is_line(const struct reg *reg, const struct sipcfg_register *cr)
{
	size_t n;
	const struct sipcfg_register *regs = sipcfg_registers(reg->cfg, &n);

	return reg->lv.line.known && reg->lv.line.reg_index >= 0 && cr >= regs && cr < regs + n &&
	       cr - regs == reg->lv.line.reg_index;
}

/* Where a `register =>` line goes, as lineid.c resolved it. */
static int cr_dest(const struct reg *reg, const struct sipcfg_register *cr, struct sa *out)
{
	size_t n;
	const struct sipcfg_register *regs = sipcfg_registers(reg->cfg, &n);

	if (cr < regs || cr >= regs + n || (size_t)(cr - regs) >= reg->lv.nregs ||
	    !reg->lv.regs[cr - regs].n)
		return ENOENT;
	*out = reg->lv.regs[cr - regs].addrs[0];
	return 0;
}

/* Our address and port toward dst, as the transport will really send it: with a wildcard
 * socket the kernel's (or the line's) source address and that socket's port, else the first
 * socket of the family (that is the one a client transaction uses). */
static void pick_local(struct reg *reg, struct reg_out *o, const struct sa *prefer)
{
	struct sip_transp *tp = sip_stack_transp(reg->stack);
	struct sa la, wild, first;
	bool have_wild = false, have_first = false;

	/* TODO(sip): client transactions cannot choose their source socket yet, so with several
	 * bound addresses the line-side one is only used when it is listed first. */
	memset(&o->local, 0, sizeof(o->local));
	for (size_t i = 0; sip_transp_bound(tp, o->tp, i, &la) == 0; i++) {
		if (sa_af(&la) != sa_af(&o->dst))
			continue;
		if (sa_is_any(&la) && !have_wild) {
			wild = la;
			have_wild = true;
		} else if (!have_first) {
			first = la;
			have_first = true;
		}
	}
	if (have_wild) {
		if (prefer && sa_isset(prefer))
			o->local = *prefer;
		else if (sip_transp_local_for(tp, &o->dst, &o->local))
			return;
		sa_set_port(&o->local, sa_port(&wild));
	} else if (have_first) {
		o->local = first;
	}
}

static void out_clear_auth(struct reg_out *o)
{
	free(o->realm);
	free(o->nonce);
	free(o->opaque);
	o->realm = o->nonce = o->opaque = NULL;
	o->nc = 0;
}

/* Fills the request's values from the `register =>` line and the discovered line. */
static void out_setup(struct reg_out *o)
{
	struct reg *reg = o->reg;
	const struct sipcfg_register *cr = o->cr;
	const struct reg_line *l = &reg->lv.line;
	const char *number = l->nnumbers && o->line    ? l->numbers[0]
			     : reg->set.line_number[0] ? reg->set.line_number
						       : NULL;
	int err;

	o->tp = cr && cr->transport == PEER_TP_TCP ? SIP_TP_TCP : SIP_TP_UDP;
	o->ngn = o->line || (cr && !cr->secret);
	if (cr) {
		snprintf(o->user, sizeof(o->user), "%s", cr->user);
		snprintf(o->domain, sizeof(o->domain), "%s", cr->domain ? cr->domain : cr->host);
		snprintf(o->host, sizeof(o->host), "%s", cr->host);
		snprintf(o->contact_user, sizeof(o->contact_user), "%s", cr->contact);
		o->port = cr->port;
		o->dport = cr->domainport;
		o->expiry = cr->expiry_given || !o->ngn ? cr->expiry : NGN_EXPIRES;
	} else {
		o->port = SIP_PORT_DEFAULT;
		o->dport = 0;
		o->expiry = NGN_EXPIRES;
		o->user[0] = '\0';
	}
	if (o->line) {
		/* NGN-NOTES §2.2: the domain in the URIs, whatever form register => has. */
		if (l->domain[0])
			snprintf(o->domain, sizeof(o->domain), "%s", l->domain);
		if (sa_isset(&l->server)) {
			sa_ntop(&l->server, o->host, sizeof(o->host));
			o->port = sa_port(&l->server);
		}
		o->dport = 0;
	}
	if (o->ngn && number && strcmp(o->user, number)) {
		/* The NGN identifies the line by its address and does not check the user part;
		 * the post's `register => 210VALUE@...` (the firmware host's sub-option) works
		 * there, but the number is what NTT's own device sends. */
		if (o->user[0])
			log_notice("register => %s@%s: registering the line as %s (the %s number) "
				   "instead of '%s'",
				   o->user, o->domain, number,
				   l->discovered && l->nnumbers ? "discovered" : "configured",
				   o->user);
		snprintf(o->user, sizeof(o->user), "%s", number);
	}
	if (o->ngn &&
	    (!o->contact_user[0] || !strcmp(o->contact_user, "s") || !all_digits(o->contact_user)))
		snprintf(o->contact_user, sizeof(o->contact_user), "%s", o->user);
	if (!o->contact_user[0])
		snprintf(o->contact_user, sizeof(o->contact_user), "s");

	memset(&o->dst, 0, sizeof(o->dst));
	if (o->line && sa_isset(&l->server)) {
		o->dst = l->server;
		err = 0;
	} else if (cr) {
		err = cr_dest(reg, cr, &o->dst);
	} else {
		err = ENOENT;
	}
	if (err) {
		/* lineid.c said so with file:line, and tries again. */
		memset(&o->dst, 0, sizeof(o->dst));
		return;
	}
	pick_local(reg, o, o->line && sa_isset(&l->local) ? &l->local : NULL);
}

static void out_new_dialog(struct reg_out *o)
{
	char tok[24];

	rand_token(tok, 20);
	snprintf(o->call_id, sizeof(o->call_id), "%s", tok);
	sip_tag_new(o->from_tag, sizeof(o->from_tag));
	o->cseq = 0;
}

static void out_timer_h(void *arg)
{
	out_send(arg);
}

static void out_stop_io(struct reg_out *o)
{
	loop_timer_cancel(&o->tmr);
	if (o->ct) {
		sip_ctrans_abandon(o->ct);
		o->ct = NULL;
	}
}

/* The state; when being registered changes, the time of the change (metrics). */
static void out_set_state(struct reg_out *o, enum reg_out_state state)
{
	if ((o->state == REG_OUT_REGISTERED) != (state == REG_OUT_REGISTERED))
		o->changed = reg_now_unix(o->reg);
	o->state = state;
}

/* A fresh registration: new Call-ID, values recomputed, sent on the next timer run. */
static void out_restart(struct reg_out *o)
{
	out_stop_io(o);
	out_clear_auth(o);
	out_new_dialog(o);
	o->failures = 0;
	out_set_state(o, REG_OUT_UNREGISTERED);
	o->granted = 0;
	out_setup(o);
	loop_timer_start(o->reg->loop, &o->tmr, 0, out_timer_h, o);
}

static void out_fail(struct reg_out *o, enum reg_out_state state, uint32_t retry_after)
{
	uint32_t r = 0, delay;

	out_set_state(o, state);
	o->failures++;
	rand_bytes(&r, sizeof(r));
	delay = reg_backoff_delay(o->reg->set.backoff_min, o->reg->set.backoff_max, o->failures, r);
	if (retry_after > delay)
		delay = MIN(retry_after, (uint32_t)86400);
	log_notice("register %s@%s: %s; next attempt in %u s", o->user, o->domain,
		   reg_out_state_name(state), delay);
	loop_timer_start(o->reg->loop, &o->tmr, (uint64_t)delay * 1000, out_timer_h, o);
}

/* Picks a challenge we can answer from a 401/407. */
static bool take_challenge(struct reg_out *o, const struct sip_msg *resp, bool *stale)
{
	enum sip_hdr_id id =
	    resp->scode == 407 ? SIP_HDR_PROXY_AUTHENTICATE : SIP_HDR_WWW_AUTHENTICATE;

	for (size_t i = 0; i < resp->nhdrs; i++) {
		struct reg_auth a;
		enum reg_alg alg;

		if (resp->hdrs[i].id != id || reg_auth_parse(&a, &resp->hdrs[i].value))
			continue;
		if (!pl_isset(&a.realm) || !pl_isset(&a.nonce) || reg_alg_from(&a.algorithm, &alg))
			continue;
		if (pl_isset(&a.qop)) {
			/* qop="auth,auth-int": we do auth. */
			const char *q = a.qop.p, *end = a.qop.p + a.qop.l;
			bool auth = false;

			while (q < end) {
				const char *c = memchr(q, ',', (size_t)(end - q));
				struct pl t = pl_from(q, (size_t)((c ? c : end) - q));

				pl_trim(&t);
				auth |= pl_caseeq_str(&t, "auth");
				q = c ? c + 1 : end;
			}
			if (!auth)
				continue;
			o->qop = true;
		} else {
			o->qop = false;
		}
		*stale = pl_isset(&a.stale) && pl_caseeq_str(&a.stale, "true");
		out_clear_auth(o);
		o->realm = pl_strdup(&a.realm);
		o->nonce = pl_strdup(&a.nonce);
		o->opaque = pl_isset(&a.opaque) ? pl_strdup(&a.opaque) : NULL;
		o->alg = alg;
		o->proxy = resp->scode == 407;
		return o->realm && o->nonce;
	}
	return false;
}

static void write_authorization(struct reg_out *o, const char *ruri, struct mbuf *mb)
{
	const struct sipcfg_register *cr = o->cr;
	const char *user = cr->authuser ? cr->authuser : o->user;
	char ha1[REG_HASH_HEX_MAX], resp[REG_HASH_HEX_MAX], cnonce[17], nc[9];
	struct pl pu = pl_from_str(user), pr = pl_from_str(o->realm), pp = pl_from_str(cr->secret);
	struct pl pn = pl_from_str(o->nonce), pnc, pcn, qop = PL("auth"), none = PL_INIT;
	struct pl method = PL("REGISTER"), uri = pl_from_str(ruri);

	rand_token(cnonce, 16);
	snprintf(nc, sizeof(nc), "%08x", ++o->nc);
	pnc = pl_from_str(nc);
	pcn = pl_from_str(cnonce);
	reg_digest_ha1(o->alg, &pu, &pr, &pp, ha1);
	reg_digest_response(o->alg, ha1, &pn, &pnc, &pcn, o->qop ? &qop : &none, &method, &uri,
			    resp);
	mbuf_printf(mb,
		    "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
		    "response=\"%s\", algorithm=%s",
		    o->proxy ? "Proxy-Authorization" : "Authorization", user, o->realm, o->nonce,
		    ruri, resp, reg_digest_name(o->alg));
	if (o->qop)
		mbuf_printf(mb, ", qop=auth, nc=%s, cnonce=\"%s\"", nc, cnonce);
	if (o->opaque)
		mbuf_printf(mb, ", opaque=\"%s\"", o->opaque);
	mbuf_write_str(mb, "\r\n");
}

static void out_resp_h(int err, const struct sip_msg *resp, void *arg);

static void out_send(struct reg_out *o)
{
	struct reg *reg = o->reg;
	char ruri[300], from[400], to[400], contact[400], branch[40], host[SA_STRLEN];
	struct sip_request_spec s;
	struct mbuf req, extra;
	bool v6;
	int err;

	if (o->stopped)
		return;
	if (!sa_isset(&o->dst))
		out_setup(o);
	if (!sa_isset(&o->dst) || !sa_isset(&o->local)) {
		out_fail(o, REG_OUT_FAILED, 0);
		return;
	}
	if (!o->call_id[0])
		out_new_dialog(o);
	sa_ntop(&o->local, host, sizeof(host));
	v6 = sa_af(&o->local) == AF_INET6;
	if (o->dport)
		snprintf(ruri, sizeof(ruri), "sip:%s:%u", o->domain, o->dport);
	else if (!o->ngn && !strcasecmp(o->domain, o->host) && o->port != SIP_PORT_DEFAULT)
		snprintf(ruri, sizeof(ruri), "sip:%s:%u", o->domain, o->port);
	else
		snprintf(ruri, sizeof(ruri), "sip:%s", o->domain);
	snprintf(from, sizeof(from), "<sip:%s@%s>;tag=%s", o->user, o->domain, o->from_tag);
	snprintf(to, sizeof(to), "<sip:%s@%s>", o->user, o->domain);
	snprintf(contact, sizeof(contact), "<sip:%s@%s%s%s:%u%s>", o->contact_user, v6 ? "[" : "",
		 host, v6 ? "]" : "", sa_port(&o->local),
		 o->tp == SIP_TP_TCP ? ";transport=tcp" : "");
	sip_branch_new(branch, sizeof(branch));

	mbuf_init(&extra);
	mbuf_printf(&extra, "Expires: %u\r\n", o->expiry);
	if (o->ngn) {
		mbuf_write_str(&extra, "Allow: " NGN_ALLOW "\r\n");
	} else {
		const struct sipcfg_general *g = sipcfg_general(reg->cfg);

		mbuf_write_str(&extra, "Allow: " TRUNK_ALLOW "\r\n");
		if (g->useragent && *g->useragent)
			mbuf_printf(&extra, "User-Agent: %s\r\n", g->useragent);
		if (o->nonce && o->cr && o->cr->secret)
			write_authorization(o, ruri, &extra);
	}
	mbuf_write(&extra, "", 1);

	memset(&s, 0, sizeof(s));
	s.method = "REGISTER";
	s.ruri = ruri;
	s.tp = o->tp;
	s.via_host = host;
	s.via_port = sa_port(&o->local);
	s.branch = branch;
	s.rport = !o->ngn; /* NGN-NOTES §2.3: never rport toward the line */
	s.from = from;
	s.to = to;
	s.call_id = o->call_id;
	s.cseq = ++o->cseq;
	s.max_forwards = 70;
	s.contact = contact;
	s.extra = (const char *)extra.buf;
	mbuf_init(&req);
	err = sip_build_request(&req, &s);
	o->ct_auth = !o->ngn && o->nonce;
	if (!err)
		err = sip_ctrans_request_from(&o->ct, reg->stack, o->tp, &o->local, &o->dst, &req,
					      out_resp_h, o);
	mbuf_reset(&req);
	mbuf_reset(&extra);
	if (err) {
		o->ct = NULL;
		log_warn("register %s@%s: REGISTER not sent: %s", o->user, o->domain,
			 strerror(err));
		out_fail(o, REG_OUT_FAILED, 0);
		return;
	}
	if (o->state != REG_OUT_REGISTERED)
		o->state = o->ct_auth ? REG_OUT_AUTH_SENT : REG_OUT_REQUEST_SENT;
}

/* The time granted: our Contact's expires parameter, else Expires, else what we asked. */
static uint32_t granted_of(const struct reg_out *o, const struct sip_msg *resp)
{
	char host[SA_STRLEN];
	struct sip_hdr_iter it;
	const struct sip_hdr *eh;
	struct pl v, ev;
	uint32_t g = 0;
	bool found = false;

	sa_ntop(&o->local, host, sizeof(host));
	sip_hdr_iter_init(&it, resp, SIP_HDR_CONTACT, NULL);
	while (sip_hdr_iter_next(&it, &v)) {
		struct sip_addr a;

		if (sip_addr_decode(&a, &v) || sip_param_get(&a.params, "expires", &ev) ||
		    pl_u32(&ev, &g))
			continue;
		if (pl_eq_str(&a.uri.host, host) && pl_eq_str(&a.uri.user, o->contact_user) &&
		    (a.uri.port == sa_port(&o->local) ||
		     (!a.uri.port && sa_port(&o->local) == SIP_PORT_DEFAULT))) {
			found = true;
			break;
		}
	}
	if (!found) {
		eh = sip_msg_hdr(resp, SIP_HDR_EXPIRES);
		v = eh ? eh->value : pl_from(NULL, 0);
		pl_trim(&v);
		if (!eh || pl_u32(&v, &g))
			g = 0;
	}
	return g ? g : o->expiry;
}

static uint32_t retry_after_of(const struct sip_msg *resp)
{
	const struct sip_hdr *h = sip_msg_hdr(resp, SIP_HDR_RETRY_AFTER);
	struct pl v;
	uint32_t ra = 0;
	size_t n = 0;

	if (!h)
		return 0;
	v = h->value;
	while (n < v.l && v.p[n] >= '0' && v.p[n] <= '9')
		n++;
	v.l = n;
	return pl_u32(&v, &ra) ? 0 : ra;
}

static void out_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct reg_out *o = arg;
	struct reg *reg = o->reg;
	bool stale = false;

	if (!err && resp && resp->scode < 200)
		return;
	o->ct = NULL;
	if (err || !resp) {
		out_fail(o, REG_OUT_TIMEOUT, 0);
		return;
	}
	if (resp->scode < 300) {
		bool was = o->state == REG_OUT_REGISTERED;

		o->granted = granted_of(o, resp);
		out_set_state(o, REG_OUT_REGISTERED);
		o->regtime = reg_now_unix(reg);
		o->failures = 0;
		if (!was)
			log_notice("registered %s@%s at %s for %u s", o->user, o->domain, o->host,
				   o->granted);
		loop_timer_start(reg->loop, &o->tmr, reg_refresh_delay_ms(o->granted), out_timer_h,
				 o);
		return;
	}
	switch (resp->scode) {
	case 401:
	case 407:
		if (o->ngn) {
			/* NGN-NOTES §2.1: the line never asks for credentials; a 401 means the
			 * line is not provisioned for this device (address, MAC). */
			log_warn(
			    "register %s@%s: the line answered %u: a provisioning problem, not "
			    "a password question",
			    o->user, o->domain, resp->scode);
			out_fail(o, REG_OUT_NOAUTH, retry_after_of(resp));
			return;
		}
		{
			bool had = o->ct_auth;

			if (!o->cr || !o->cr->secret || !take_challenge(o, resp, &stale)) {
				out_fail(o, REG_OUT_NOAUTH, retry_after_of(resp));
				return;
			}
			if (had && !stale) {
				log_warn("register %s@%s: credentials refused", o->user, o->domain);
				out_fail(o, REG_OUT_REJECTED, retry_after_of(resp));
				return;
			}
		}
		out_send(o);
		return;
	case 423: {
		const struct sip_hdr *h = sip_msg_hdr(resp, SIP_HDR_MIN_EXPIRES);
		struct pl v = h ? h->value : pl_from(NULL, 0);
		uint32_t me = 0;

		pl_trim(&v);
		if (h && !pl_u32(&v, &me) && me > o->expiry && me <= 86400 * 7) {
			o->expiry = me;
			out_send(o);
			return;
		}
		out_fail(o, REG_OUT_REJECTED, 0);
		return;
	}
	default:
		out_fail(
		    o, resp->scode >= 500 && resp->scode < 600 ? REG_OUT_FAILED : REG_OUT_REJECTED,
		    retry_after_of(resp));
	}
}

static struct reg_out *out_new(struct reg *reg, const struct sipcfg_register *cr, bool line)
{
	struct reg_out *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->reg = reg;
	o->cr = cr;
	o->line = line;
	list_append(&reg->outs, &o->le, o);
	return o;
}

static void out_free(struct reg_out *o)
{
	out_stop_io(o);
	out_clear_auth(o);
	list_unlink(&o->le);
	free(o);
}

int reg_outs_start(struct reg *reg)
{
	size_t n;
	const struct sipcfg_register *regs = sipcfg_registers(reg->cfg, &n);

	for (size_t i = 0; i < n; i++) {
		struct reg_out *o = out_new(reg, &regs[i], cr_is_line(reg, &regs[i]));

		if (!o)
			return ENOMEM;
		out_restart(o);
	}
	reg_outs_line_changed(reg, false);
	return 0;
}

void reg_outs_free(struct reg *reg)
{
	while (reg->outs.head)
		out_free(reg->outs.head->data);
}

void reg_outs_line_changed(struct reg *reg, bool moved)
{
	struct reg_out *autoo = NULL;
	bool matched = false;

	LIST_FOREACH(&reg->outs, le)
	{
		struct reg_out *o = le->data;
		bool is;

		if (!o->cr) {
			autoo = o;
			continue;
		}
		is = cr_is_line(reg, o->cr);
		matched |= is;
		if (is != o->line || (is && moved)) {
			o->line = is;
			out_restart(o);
		}
	}
	/* Discovery with no `register =>` line for it: the line's own registration (it needs a
	 * number: discovered, or [registrar] line_number). */
	if (reg->lv.line.discovered && !matched &&
	    (reg->lv.line.nnumbers || reg->set.line_number[0])) {
		if (!autoo) {
			autoo = out_new(reg, NULL, true);
			if (autoo)
				out_restart(autoo);
		} else if (moved) {
			out_restart(autoo);
		}
	} else if (autoo) {
		out_free(autoo);
	}
}

int reg_outs_reconfigure(struct reg *reg)
{
	struct list old = LIST_INIT;
	size_t n;
	const struct sipcfg_register *regs = sipcfg_registers(reg->cfg, &n);

	/* Move the running ones aside, then take back each one whose line did not change. */
	while (reg->outs.head) {
		struct reg_out *o = reg->outs.head->data;

		list_unlink(&o->le);
		list_append(&old, &o->le, o);
	}
	for (size_t i = 0; i < n; i++) {
		struct reg_out *found = NULL;

		LIST_FOREACH(&old, le)
		{
			struct reg_out *o = le->data;

			if (o->cr && reg_line_eq(o->cr, &regs[i])) {
				found = o;
				break;
			}
		}
		if (found) {
			list_unlink(&found->le);
			list_append(&reg->outs, &found->le, found);
			found->cr = &regs[i];
		} else {
			struct reg_out *o = out_new(reg, &regs[i], cr_is_line(reg, &regs[i]));

			if (!o)
				return ENOMEM;
			out_restart(o);
		}
	}
	while (old.head) {
		struct reg_out *o = old.head->data;

		if (!o->cr) {
			/* The line's own registration stays; line_changed decides about it. */
			list_unlink(&o->le);
			list_append(&reg->outs, &o->le, o);
			continue;
		}
		log_notice("register %s@%s removed by reload", o->user, o->domain);
		list_unlink(&o->le);
		out_free(o);
	}
	reg_outs_line_changed(reg, false);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * State for `sip show registry`.
 */
void reg_registry_state(const struct sipcfg_register *r, struct sipcfg_reg_live *out, void *arg)
{
	struct reg *reg = arg;

	if (!reg)
		return;
	LIST_FOREACH(&reg->outs, le)
	{
		const struct reg_out *o = le->data;

		if (o->cr && (o->cr == r || reg_line_eq(o->cr, r))) {
			snprintf(out->state, sizeof(out->state), "%s",
				 reg_out_state_name(o->state));
			out->refresh = o->granted ? o->granted : o->expiry;
			out->regtime = o->state == REG_OUT_REGISTERED ? o->regtime : 0;
			return;
		}
	}
}

static void trim_row(struct mbuf *out, size_t start)
{
	while (out->end > start &&
	       (out->buf[out->end - 1] == ' ' || out->buf[out->end - 1] == '\n'))
		out->end--;
	mbuf_write(out, "\n", 1);
}

#define REG_FORMAT "%-39.39s %-6.6s %-12.12s  %8.8s %-20.20s %-25.25s"

int reg_show_registry(struct reg *reg, struct mbuf *out)
{
	size_t start = out->end, n = 0;
	int err;

	err = mbuf_printf(out, REG_FORMAT, "Host", "dnsmgr", "Username", "Refresh", "State",
			  "Reg.Time");
	trim_row(out, start);
	LIST_FOREACH(&reg->outs, le)
	{
		const struct reg_out *o = le->data;
		char host[300], user[340], when[64] = "", refresh[16];

		if (o->cr)
			snprintf(host, sizeof(host), "%s:%u", o->cr->host, o->cr->port);
		else
			snprintf(host, sizeof(host), "%s:%u", o->host, o->port);
		snprintf(user, sizeof(user), "%s@%s", o->user, o->domain);
		if (o->state == REG_OUT_REGISTERED && o->regtime) {
			time_t t = (time_t)o->regtime;
			struct tm tm;

			if (localtime_r(&t, &tm))
				strftime(when, sizeof(when), "%a, %d %b %Y %T", &tm);
		}
		snprintf(refresh, sizeof(refresh), "%u", o->granted ? o->granted : o->expiry);
		start = out->end;
		if (!err)
			err = mbuf_printf(out, REG_FORMAT, host, "N", user, refresh,
					  reg_out_state_name(o->state), when);
		trim_row(out, start);
		n++;
	}
	if (!err)
		err = mbuf_printf(out, "%zu SIP registrations.\n", n);
	return err;
}
