/* registrar: REGISTER from phones (RFC 3261 §10.3): digest authentication with the same answer
 * for an unknown user and a wrong password, the ban, bindings with expiry (several per peer,
 * NAT source kept), and the store writes a 200 waits for. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "reg"
#include "reg_int.h"

#define URI_MAX	   512 /* a longer Contact URI is refused (400) */
#define CALLID_MAX 256
#define UA_MAX	   127 /* User-Agent is kept truncated */

/* ---------------------------------------------------------------------------------------------
 * Address-of-record state and bindings.
 */
static uint32_t name_hash(const char *name)
{
	struct pl pl = pl_from_str(name);

	return hash_pl_case(&pl);
}

struct reg_aor *reg_aor_find(const struct reg *reg, const char *name)
{
	uint32_t h = name_hash(name);

	LIST_FOREACH(htab_bucket(&reg->aors, h), le)
	{
		struct reg_aor *aor = le->data;

		if (le->key == h && !strcasecmp(aor->name, name))
			return aor;
	}
	return NULL;
}

static struct reg_aor *aor_get(struct reg *reg, const char *name)
{
	struct reg_aor *aor = reg_aor_find(reg, name);
	size_t n;

	if (aor)
		return aor;
	n = strlen(name);
	aor = calloc(1, sizeof(*aor) + n + 1);
	if (!aor)
		return NULL;
	memcpy(aor->name, name, n + 1);
	aor->reg = reg;
	list_init(&aor->contacts);
	htab_add(&reg->aors, &aor->le, name_hash(name), aor);
	return aor;
}

static void store_done_nop(int err, void *arg)
{
	if (err)
		log_warn("store: deleting a registration failed: %s", strerror(err));
}

static void contact_free(struct reg_contact *c, bool del_store)
{
	struct reg_aor *aor = c->aor;
	struct reg *reg = aor->reg;

	if (del_store && reg->store) {
		struct pl peer = pl_from_str(aor->name), uri = pl_from_str(c->uri);

		store_reg_del(reg->store, &peer, &uri, store_done_nop, NULL);
	}
	reg_qualify_contact_gone(c);
	loop_timer_cancel(&c->tmr);
	list_unlink(&c->le);
	reg->nbindings--;
	free(c);
	if (reg->change_h)
		reg->change_h(aor->name, reg->change_arg);
}

void reg_aor_free(struct reg_aor *aor, bool del_store)
{
	struct reg *reg = aor->reg;

	if (del_store && reg->store && aor->contacts.count) {
		struct pl peer = pl_from_str(aor->name);

		store_reg_del_peer(reg->store, &peer, store_done_nop, NULL);
	}
	while (aor->contacts.head)
		contact_free(aor->contacts.head->data, false);
	reg_qualify_stop(aor);
	htab_unlink(&reg->aors, &aor->le);
	free(aor);
}

void reg_aors_free_all(struct reg *reg)
{
	for (size_t i = 0; i < reg->aors.nbuckets; i++) {
		while (reg->aors.buckets[i].head)
			reg_aor_free(reg->aors.buckets[i].head->data, false);
	}
}

static void contact_expire_h(void *arg)
{
	struct reg_contact *c = arg;
	struct reg_aor *aor = c->aor;

	log_info("%s: binding %s expired", aor->name, c->uri);
	contact_free(c, true);
	if (!aor->contacts.count)
		reg_qualify_stop(aor);
}

static struct reg_contact *contact_new(struct reg_aor *aor, const struct pl *uri,
				       const struct pl *call_id, const struct pl *ua)
{
	size_t ual = pl_isset(ua) ? MIN(ua->l, (size_t)UA_MAX) : 0;
	size_t cil = pl_isset(call_id) ? call_id->l : 0;
	struct reg_contact *c = calloc(1, sizeof(*c) + uri->l + 1 + cil + 1 + ual + 1);

	if (!c)
		return NULL;
	memcpy(c->uri, uri->p, uri->l);
	c->call_id = c->uri + uri->l + 1;
	if (cil)
		memcpy(c->call_id, call_id->p, cil);
	c->user_agent = c->call_id + cil + 1;
	if (ual)
		memcpy(c->user_agent, ua->p, ual);
	c->aor = aor;
	list_prepend(&aor->contacts, &c->le, c);
	aor->reg->nbindings++;
	return c;
}

/* Arms the expiry for `secs` from now. */
static void contact_arm(struct reg_contact *c, uint32_t secs)
{
	struct reg *reg = c->aor->reg;

	c->expires_ms = loop_now(reg->loop) + (uint64_t)secs * 1000;
	c->expires = reg_now_unix(reg) + secs;
	loop_timer_start(reg->loop, &c->tmr, (uint64_t)secs * 1000, contact_expire_h, c);
}

static const char *tp_lower(enum sip_transport tp)
{
	switch (tp) {
	case SIP_TP_TCP:
		return "tcp";
	case SIP_TP_TLS:
		return "tls";
	case SIP_TP_WS:
		return "ws";
	case SIP_TP_WSS:
		return "wss";
	default:
		return "udp";
	}
}

static enum sip_transport tp_from(const struct pl *s)
{
	if (pl_caseeq_str(s, "tcp"))
		return SIP_TP_TCP;
	if (pl_caseeq_str(s, "tls"))
		return SIP_TP_TLS;
	return SIP_TP_UDP;
}

static void contact_to_store(const struct reg_contact *c, struct store_reg *r)
{
	memset(r, 0, sizeof(*r));
	r->peer = pl_from_str(c->aor->name);
	r->contact = pl_from_str(c->uri);
	r->source = c->source;
	r->local = c->local;
	r->transport = pl_from_str(tp_lower(c->tp));
	r->user_agent = pl_from_str(c->user_agent);
	r->call_id = pl_from_str(c->call_id);
	r->instance = pl_from_str(c->instance);
	r->reg_id = c->reg_id;
	r->cseq = c->cseq;
	r->expires = c->expires;
	r->registered_at = c->registered_at;
}

/* ---------------------------------------------------------------------------------------------
 * Loading at start and pruning at reload.
 */
struct load_ctx {
	struct reg *reg;
	char **gone;
	size_t ngone, cap;
	size_t loaded;
};

static bool peer_registers(const struct reg *reg, const char *name)
{
	const struct peer *p = peer_find(reg->cfg, name);

	return p && p->dynamic;
}

static int load_one(const struct store_reg *r, void *arg)
{
	struct load_ctx *lc = arg;
	struct reg *reg = lc->reg;
	char name[256];
	struct reg_aor *aor;
	struct reg_contact *c;
	int64_t left;

	if (pl_strcpy(&r->peer, name, sizeof(name)) || !r->contact.l || r->contact.l > URI_MAX)
		return 0;
	if (!peer_registers(reg, name)) {
		if (lc->ngone && !strcasecmp(lc->gone[lc->ngone - 1], name))
			return 0;
		if (lc->ngone == lc->cap) {
			size_t ncap = lc->cap ? lc->cap * 2 : 16;
			char **ng = realloc(lc->gone, ncap * sizeof(*ng));

			if (!ng)
				return 0;
			lc->gone = ng;
			lc->cap = ncap;
		}
		lc->gone[lc->ngone] = strdup(name);
		if (lc->gone[lc->ngone])
			lc->ngone++;
		return 0;
	}
	left = r->expires - reg_now_unix(reg);
	if (left <= 0)
		return 0;
	/* A flow's binding died with its connection when the daemon stopped: the phone is
	 * reached over that connection only (TLS, or a TCP flow with a reg-id). */
	if (pl_caseeq_str(&r->transport, "tls") || (pl_caseeq_str(&r->transport, "tcp") && r->reg_id)) {
		store_reg_del(reg->store, &r->peer, &r->contact, store_done_nop, NULL);
		return 0;
	}
	aor = aor_get(reg, name);
	if (!aor)
		return ENOMEM;
	c = contact_new(aor, &r->contact, &r->call_id, &r->user_agent);
	if (!c)
		return ENOMEM;
	c->source = r->source;
	c->local = r->local;
	c->tp = tp_from(&r->transport);
	if (r->instance.l < sizeof(c->instance))
		pl_strcpy(&r->instance, c->instance, sizeof(c->instance));
	c->reg_id = c->instance[0] ? r->reg_id : 0;
	c->cseq = r->cseq;
	c->registered_at = r->registered_at;
	contact_arm(c, (uint32_t)MIN(left, (int64_t)UINT32_MAX / 1000));
	c->expires = r->expires;
	lc->loaded++;
	return 0;
}

int reg_bindings_load(struct reg *reg)
{
	struct load_ctx lc = {.reg = reg};
	int err;

	if (!reg->store)
		return 0;
	err = store_reg_load_all(reg->store, reg_now_unix(reg), load_one, &lc);
	for (size_t i = 0; i < lc.ngone; i++) {
		struct pl peer = pl_from_str(lc.gone[i]);

		log_notice("stored bindings of '%s' dropped: no such host=dynamic peer",
			   lc.gone[i]);
		store_reg_del_peer(reg->store, &peer, store_done_nop, NULL);
		free(lc.gone[i]);
	}
	free(lc.gone);
	if (err)
		log_error("loading the stored registrations failed: %s", strerror(err));
	else
		log_info("%zu stored binding%s loaded", lc.loaded, lc.loaded == 1 ? "" : "s");
	/* Qualify resumes for what was loaded. */
	for (size_t i = 0; i < reg->aors.nbuckets; i++) {
		LIST_FOREACH(&reg->aors.buckets[i], le)
		reg_qualify_start(le->data, true);
	}
	return err;
}

void reg_bindings_prune(struct reg *reg)
{
	for (size_t i = 0; i < reg->aors.nbuckets; i++) {
		struct le *le = reg->aors.buckets[i].head;

		while (le) {
			struct reg_aor *aor = le->data;

			le = le->next;
			if (!peer_registers(reg, aor->name)) {
				if (aor->contacts.count)
					log_notice("%s: bindings removed (the peer is gone from "
						   "sip.conf or no longer host=dynamic)",
						   aor->name);
				reg_aor_free(aor, true);
			} else {
				reg_qualify_stop(aor);
				reg_qualify_start(aor, false);
			}
		}
	}
}

/* ---------------------------------------------------------------------------------------------
 * Answers.
 */
static void server_hdr(const struct reg *reg, struct mbuf *mb)
{
	const struct sipcfg_general *g = sipcfg_general(reg->cfg);

	if (g->useragent && *g->useragent) {
		mbuf_write_str(mb, "Server: ");
		mbuf_write_str(mb, g->useragent);
		mbuf_write_str(mb, "\r\n");
	}
}

static void reply(struct reg *reg, struct sip_strans *st, uint16_t code, const char *reason,
		  const char *extra)
{
	struct mbuf mb;
	int err;

	mbuf_init(&mb);
	server_hdr(reg, &mb);
	if (extra)
		mbuf_write_str(&mb, extra);
	mbuf_write(&mb, "", 1);
	err = sip_strans_reply_stateless(st, code, reason, (const char *)mb.buf, NULL, NULL);
	if (err)
		log_debug("sending %u failed: %s", code, strerror(err));
	mbuf_reset(&mb);
}

static void digest_ctx(const struct reg *reg, struct reg_digest_ctx *dc)
{
	dc->realm = sipcfg_general(reg->cfg)->realm;
	dc->set = &reg->set.digest;
	dc->key = &reg->nkey;
	dc->now_ms = loop_now(reg->loop);
}

/* 401 with one challenge per algorithm; all unknown and known users get the same one. */
static void challenge(struct reg *reg, struct sip_strans *st, const struct peer *p, bool stale)
{
	struct reg_digest_ctx dc;
	struct mbuf mb;

	digest_ctx(reg, &dc);
	mbuf_init(&mb);
	reg_digest_challenge(&dc, p, stale, "WWW-Authenticate", &mb);
	mbuf_write(&mb, "", 1);
	reg->n_challenged++;
	reply(reg, st, 401, "Unauthorized", (const char *)mb.buf);
	mbuf_reset(&mb);
}

/* The one answer to an unknown user, a wrong password, a wrong username: nothing in it tells
 * them apart (alwaysauthreject). Counted for the ban. */
static void auth_failed(struct reg *reg, struct sip_strans *st, const struct sip_msg *msg)
{
	char buf[SA_STRLEN];

	reg->n_failed++;
	if (reg_bans_fail(&reg->bans, &msg->src, loop_now(reg->loop)))
		log_warn("%s banned for %u s after %u failed authentications",
			 sa_ntop(&msg->src, buf, sizeof(buf)), reg->set.ban_time,
			 reg->set.ban_failures);
	reply(reg, st, 403, "Forbidden", NULL);
}

/* 200 listing every current binding of the AOR with its remaining time (§10.3 step 8). To a
 * REGISTER that asked for outbound (RFC 5626 §6): Require: outbound, a Flow-Timer, and each
 * flow's Contact with its +sip.instance and reg-id. */
static void reply_ok_flow(struct reg *reg, struct sip_strans *st, const char *aorname,
			  bool outbound)
{
	struct reg_aor *aor = reg_aor_find(reg, aorname);
	uint64_t now = loop_now(reg->loop);
	struct mbuf mb;

	mbuf_init(&mb);
	if (aor) {
		LIST_FOREACH(&aor->contacts, le)
		{
			const struct reg_contact *c = le->data;
			uint64_t left =
			    c->expires_ms > now ? (c->expires_ms - now + 999) / 1000 : 0;

			char num[STR_U64_LEN];

			/* Joined, not printed: every 200 to a REGISTER lists its bindings. */
			mbuf_write_str(&mb, "Contact: <");
			mbuf_write_str(&mb, c->uri);
			mbuf_write_str(&mb, ">;expires=");
			mbuf_write_str(&mb, str_u64(num, left));
			if (c->instance[0]) {
				mbuf_write_str(&mb, ";+sip.instance=");
				mbuf_write_str(&mb, c->instance);
			}
			if (c->reg_id) {
				mbuf_write_str(&mb, ";reg-id=");
				mbuf_write_str(&mb, str_u64(num, c->reg_id));
			}
			mbuf_write_str(&mb, "\r\n");
		}
	}
	if (outbound)
		mbuf_printf(&mb, "Require: outbound\r\nFlow-Timer: %u\r\n", REG_FLOW_TIMER);
	mbuf_write(&mb, "", 1);
	reg->n_ok++;
	reply(reg, st, 200, "OK", (const char *)mb.buf);
	mbuf_reset(&mb);
}

static void reply_ok(struct reg *reg, struct sip_strans *st, const char *aorname)
{
	reply_ok_flow(reg, st, aorname, false);
}

/* ---------------------------------------------------------------------------------------------
 * Pending answers: the 200 leaves once the bindings are on disk.
 */
static void pending_finish(struct reg_pending *p)
{
	if (p->reg) {
		list_unlink(&p->le);
		if (p->err) {
			log_error("%s: the registration could not be stored: %s", p->aor,
				  strerror(p->err));
			reply(p->reg, p->st, 500, "Server Internal Error", "Retry-After: 5\r\n");
		} else {
			reply_ok_flow(p->reg, p->st, p->aor, p->outbound);
			if (p->reg->bound_h)
				p->reg->bound_h(p->aor, p->reg->bound_arg);
			if (p->reg->change_h)
				p->reg->change_h(p->aor, p->reg->change_arg);
		}
	}
	free(p);
}

static void pending_done(int err, void *arg)
{
	struct reg_pending *p = arg;

	if (err)
		p->err = err;
	if (--p->writes == 0)
		pending_finish(p);
}

static void pending_put(struct reg_pending *p, const struct reg_contact *c)
{
	struct store_reg r;
	int err;

	contact_to_store(c, &r);
	err = store_reg_put(p->reg->store, &r, pending_done, p);
	if (err)
		p->err = err;
	else
		p->writes++;
}

static void pending_del(struct reg_pending *p, const struct reg_contact *c)
{
	struct pl peer = pl_from_str(c->aor->name), uri = pl_from_str(c->uri);
	int err = store_reg_del(p->reg->store, &peer, &uri, pending_done, p);

	if (err)
		p->err = err;
	else
		p->writes++;
}

/* ---------------------------------------------------------------------------------------------
 * REGISTER.
 */
struct req_contact {
	struct sip_addr addr;
	uint32_t expires;
};

#define REQ_CONTACTS_MAX 32 /* more Contact values in one REGISTER: 403 */

/* Expires value: delta-seconds; beyond 2^32-1 it is 2^32-1 (RFC 3261 §20.19 is silent;
 * the maximum is then applied). */
static int parse_expires(const struct pl *v, uint32_t *out)
{
	struct pl t = *v;
	int err;

	pl_trim(&t);
	err = pl_u32(&t, out);
	if (err == ERANGE) {
		*out = UINT32_MAX;
		return 0;
	}
	return err;
}

/* nc replay check (RFC 7616 §3.4.5): per peer, the highest nc seen for each recent nonce.
 * Returns false when this (nonce, nc) was already used. */
static bool nc_accept(struct reg *reg, struct reg_aor *aor, uint64_t tag, uint32_t nc)
{
	struct reg_nc_slot *s = NULL, *oldest = &aor->nc[0];
	uint64_t now = loop_now(reg->loop);

	for (int i = 0; i < REG_NC_SLOTS; i++) {
		if (aor->nc[i].used && aor->nc[i].tag == tag)
			s = &aor->nc[i];
		if (aor->nc[i].used < oldest->used)
			oldest = &aor->nc[i];
	}
	if (s) {
		if (nc <= s->nc)
			return false;
	} else {
		s = oldest;
		s->tag = tag;
	}
	s->nc = nc;
	s->used = now ? now : 1;
	return true;
}

/* A retransmission of a REGISTER already applied (same Call-ID and CSeq as its bindings), as
 * a lost 200 makes a phone send: answered again, changing nothing. */
static bool is_retransmission(const struct reg_aor *aor, const struct sip_msg *msg)
{
	LIST_FOREACH(&aor->contacts, le)
	{
		const struct reg_contact *c = le->data;

		if (pl_eq_str(&msg->call_id, c->call_id) && msg->cseq.num == c->cseq)
			return true;
	}
	return false;
}

enum auth_result { AUTH_OK, AUTH_ANSWERED };

/* Digest authentication of a REGISTER for peer p (NULL: unknown): the check shared with the
 * call engine (digest.c), then the nc replay check, which needs the peer's state. */
static enum auth_result authenticate(struct reg *reg, struct sip_strans *st,
				     const struct sip_msg *msg, const struct peer *p,
				     const char *aorname, bool *retrans)
{
	struct reg_digest_result res;
	struct reg_digest_ctx dc;
	struct reg_aor *aor;

	*retrans = false;
	digest_ctx(reg, &dc);
	switch (reg_digest_verify(&dc, msg, p, &res)) {
	case REG_DIGEST_NONE:
		challenge(reg, st, p, false);
		return AUTH_ANSWERED;
	case REG_DIGEST_BAD:
		reply(reg, st, 400, "Bad Authorization Header", NULL);
		return AUTH_ANSWERED;
	case REG_DIGEST_FAIL:
		auth_failed(reg, st, msg);
		return AUTH_ANSWERED;
	case REG_DIGEST_STALE:
		challenge(reg, st, p, true);
		return AUTH_ANSWERED;
	case REG_DIGEST_OK:
		break;
	}
	aor = aor_get(reg, aorname);
	if (!aor) {
		reply(reg, st, 500, "Server Internal Error", "Retry-After: 5\r\n");
		return AUTH_ANSWERED;
	}
	if (!nc_accept(reg, aor, res.tag, res.nc)) {
		if (is_retransmission(aor, msg)) {
			*retrans = true;
			return AUTH_OK;
		}
		log_info("%s: nonce count %08x reused from %s: challenged again", aorname, res.nc,
			 "a replay or a confused client");
		challenge(reg, st, p, true);
		return AUTH_ANSWERED;
	}
	return AUTH_OK;
}

/* Collects the Contact values. Returns 0, or answers and returns an errno value. */
static int collect_contacts(struct reg *reg, struct sip_strans *st, const struct sip_msg *msg,
			    struct req_contact *rc, size_t *np, bool *wildcard)
{
	const struct sip_hdr *eh = sip_msg_hdr(msg, SIP_HDR_EXPIRES);
	const struct sipcfg_general *g = sipcfg_general(reg->cfg);
	uint32_t hdr_exp = g->defaultexpiry;
	struct sip_hdr_iter it;
	struct pl v;
	size_t n = 0;
	char minexp[64];

	*wildcard = false;
	if (eh && parse_expires(&eh->value, &hdr_exp)) {
		reply(reg, st, 400, "Bad Expires Header", NULL);
		return EBADMSG;
	}
	sip_hdr_iter_init(&it, msg, SIP_HDR_CONTACT, NULL);
	while (sip_hdr_iter_next(&it, &v)) {
		struct req_contact *c;
		struct pl ev;

		if (n == REQ_CONTACTS_MAX) {
			reply(reg, st, 403, "Too Many Contacts", NULL);
			return E2BIG;
		}
		c = &rc[n];
		if (sip_addr_decode(&c->addr, &v)) {
			reply(reg, st, 400, "Bad Contact", NULL);
			return EBADMSG;
		}
		if (c->addr.wildcard) {
			*wildcard = true;
		} else if (c->addr.uri.scheme != SIP_URI_SIP &&
			   c->addr.uri.scheme != SIP_URI_SIPS) {
			reply(reg, st, 400, "Bad Contact URI Scheme", NULL);
			return EBADMSG;
		} else if (c->addr.auri.l > URI_MAX) {
			reply(reg, st, 400, "Contact URI Too Long", NULL);
			return EBADMSG;
		}
		c->expires = hdr_exp;
		if (!sip_param_get(&c->addr.params, "expires", &ev) &&
		    parse_expires(&ev, &c->expires)) {
			reply(reg, st, 400, "Bad Contact Expires", NULL);
			return EBADMSG;
		}
		n++;
	}
	/* §10.3 step 6: "*" only alone and with Expires: 0. */
	if (*wildcard && (n != 1 || !eh || hdr_exp != 0)) {
		reply(reg, st, 400, "Invalid Wildcard Contact", NULL);
		return EBADMSG;
	}
	for (size_t i = 0; i < n && !*wildcard; i++) {
		if (rc[i].expires && rc[i].expires < g->minexpiry) {
			snprintf(minexp, sizeof(minexp), "Min-Expires: %u\r\n", g->minexpiry);
			reply(reg, st, 423, "Interval Too Brief", minexp);
			return ERANGE;
		}
		if (rc[i].expires > g->maxexpiry)
			rc[i].expires = g->maxexpiry;
	}
	*np = n;
	return 0;
}

static struct reg_contact *contact_find(struct reg_aor *aor, const struct sip_addr *a)
{
	LIST_FOREACH(&aor->contacts, le)
	{
		struct reg_contact *c = le->data;
		struct pl text = pl_from_str(c->uri);
		struct sip_uri u;

		if (pl_cmp(&text, &a->auri) == 0)
			return c;
		if (!sip_uri_decode(&u, &text) && sip_uri_eq(&u, &a->uri))
			return c;
	}
	return NULL;
}

static bool in_request(const struct reg_contact *c, const struct req_contact *rc, size_t n)
{
	struct pl text = pl_from_str(c->uri);

	for (size_t i = 0; i < n; i++) {
		if (pl_cmp(&text, &rc[i].addr.auri) == 0)
			return true;
	}
	return false;
}

/* The binding that expires first goes when a peer would exceed max_contacts. */
static void evict_one(struct reg_pending *p, struct reg_aor *aor)
{
	struct reg_contact *victim = NULL;

	LIST_FOREACH(&aor->contacts, le)
	{
		struct reg_contact *c = le->data;

		if (!victim || c->expires_ms < victim->expires_ms)
			victim = c;
	}
	if (!victim)
		return;
	log_info("%s: binding %s dropped for a newer one (max_contacts %u)", aor->name, victim->uri,
		 aor->reg->set.max_contacts);
	if (p->reg->store)
		pending_del(p, victim);
	contact_free(victim, false);
}

/* RFC 5626 §5.2, RFC 5627: a Contact's +sip.instance (kept as sent, quotes included) and, when
 * the REGISTER supports outbound, its reg-id. */
static void contact_flow(const struct req_contact *rc, bool outbound, char *inst, size_t size,
			 uint32_t *reg_id)
{
	struct pl v;

	inst[0] = '\0';
	*reg_id = 0;
	if (sip_param_get(&rc->addr.params, "+sip.instance", &v) || !v.l || v.l >= size)
		return;
	pl_strcpy(&v, inst, size);
	if (outbound && !sip_param_get(&rc->addr.params, "reg-id", &v) && pl_u32(&v, reg_id))
		*reg_id = 0;
}

/* The bindings of one device (same +sip.instance and reg-id) other than keep: that device
 * re-registering from a new address replaces them, it does not add one (RFC 5626 §6). */
static void replace_instance(struct reg_pending *p, struct reg_aor *aor, const char *inst,
			     uint32_t reg_id, const struct reg_contact *keep)
{
	struct le *le = aor->contacts.head;

	while (le) {
		struct reg_contact *c = le->data;

		le = le->next;
		if (c == keep || strcmp(c->instance, inst) || c->reg_id != reg_id)
			continue;
		log_info("%s: binding %s replaced (same device %s at a new address)", aor->name,
			 c->uri, inst);
		if (p->reg->store)
			pending_del(p, c);
		contact_free(c, false);
	}
}

void reg_flow_closed(enum sip_transport type, const struct sa *peer, void *arg)
{
	struct reg *reg = arg;

	for (size_t i = 0; i < reg->aors.nbuckets; i++) {
		for (struct le *al = reg->aors.buckets[i].head; al; al = al->next) {
			struct reg_aor *aor = al->data;
			struct le *le = aor->contacts.head;
			bool removed = false;

			while (le) {
				struct reg_contact *c = le->data;
				char buf[SA_STRLEN];

				le = le->next;
				/* TLS bindings always (no new connection is ever made toward a
				 * phone); TCP ones when the phone registered a flow (reg-id). */
				if (c->tp != type || !sa_eq(&c->source, peer) ||
				    (type != SIP_TP_TLS && !c->reg_id))
					continue;
				log_info("%s: binding %s removed: its %s connection from %s closed",
					 aor->name, c->uri, sip_transport_name(type),
					 sa_fmt(peer, buf, sizeof(buf)));
				contact_free(c, true);
				removed = true;
			}
			if (removed && !aor->contacts.count)
				reg_qualify_stop(aor);
		}
	}
}

/* §10.3 step 7: applies the request's bindings; queues the store writes on p. */
static int apply_bindings(struct reg *reg, struct reg_pending *p, struct reg_aor *aor,
			  const struct sip_msg *msg, struct req_contact *rc, size_t n,
			  bool wildcard)
{
	const struct sip_hdr *uah = sip_msg_hdr(msg, SIP_HDR_USER_AGENT);
	struct pl ua = uah ? uah->value : pl_from("", 0);
	bool stores = reg->store != NULL;
	bool adds = false;

	if (wildcard) {
		/* Removal of all, unless a binding's Call-ID is the request's with a CSeq not
		 * lower (§10.3 step 6 applied per binding). */
		struct le *le = aor->contacts.head;

		while (le) {
			struct reg_contact *c = le->data;

			le = le->next;
			if (pl_eq_str(&msg->call_id, c->call_id) && msg->cseq.num <= c->cseq)
				continue;
			if (stores)
				pending_del(p, c);
			contact_free(c, false);
		}
		log_info("%s: every binding removed (Contact: *)", aor->name);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		adds |= rc[i].expires > 0;
	if (adds) {
		/* One device, one Call-ID: a binding of this Call-ID that the request no longer
		 * names is the same phone at a new address. */
		struct le *le = aor->contacts.head;

		while (le) {
			struct reg_contact *c = le->data;

			le = le->next;
			if (pl_eq_str(&msg->call_id, c->call_id) && msg->cseq.num > c->cseq &&
			    !in_request(c, rc, n)) {
				if (stores)
					pending_del(p, c);
				contact_free(c, false);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct reg_contact *c = contact_find(aor, &rc[i].addr);
		char buf[SA_STRLEN], inst[REG_INSTANCE_MAX];
		uint32_t reg_id;

		if (c && pl_eq_str(&msg->call_id, c->call_id) && msg->cseq.num <= c->cseq)
			continue; /* out of order or repeated: the binding stands (§10.3 step 7) */
		if (rc[i].expires == 0) {
			if (c) {
				log_info("%s: binding %s removed", aor->name, c->uri);
				if (stores)
					pending_del(p, c);
				contact_free(c, false);
			}
			continue;
		}
		contact_flow(&rc[i], p->outbound, inst, sizeof(inst), &reg_id);
		if (inst[0])
			replace_instance(p, aor, inst, reg_id, c);
		if (c)
			contact_free(c, false);
		else if (aor->contacts.count >= reg->set.max_contacts)
			evict_one(p, aor);
		c = contact_new(aor, &rc[i].addr.auri, &msg->call_id, &ua);
		if (!c)
			return ENOMEM;
		c->source = msg->src;
		c->local = msg->dst;
		c->tp = msg->tp;
		snprintf(c->instance, sizeof(c->instance), "%s", inst);
		c->reg_id = reg_id;
		c->cseq = msg->cseq.num;
		c->registered_at = reg_now_unix(reg);
		contact_arm(c, rc[i].expires);
		if (log_get_level() <= LOG_INFO) /* sa_fmt is not free: only when it is logged */
			log_info("%s: registered %s from %s for %u s", aor->name, c->uri,
				 sa_fmt(&msg->src, buf, sizeof(buf)), rc[i].expires);
		if (stores)
			pending_put(p, c);
	}
	return 0;
}

bool reg_handle_register(struct sip_strans *st, const struct sip_msg *msg, void *arg)
{
	struct reg *reg = arg;
	struct req_contact rc[REQ_CONTACTS_MAX];
	const struct peer *p;
	struct reg_pending *pend;
	struct reg_aor *aor;
	char name[128];
	size_t n = 0;
	bool wildcard, retrans;
	int err;

	if (reg_bans_banned(&reg->bans, &msg->src, loop_now(reg->loop))) {
		/* Cheapest possible answer, stateless, no authentication looked at. */
		reg->n_banned_drop++;
		reply(reg, st, 403, "Forbidden", NULL);
		return true;
	}
	/* §10.3 step 5: the address-of-record is the To URI; its user part names the peer. */
	if (!msg->to_ok ||
	    (msg->to.uri.scheme != SIP_URI_SIP && msg->to.uri.scheme != SIP_URI_SIPS)) {
		reply(reg, st, 400, "Bad To Header", NULL);
		return true;
	}
	{
		struct mbuf u;

		mbuf_init(&u);
		err = sip_unescape(&msg->to.uri.user, &u);
		if (!err && (!u.end || u.end >= sizeof(name) || memchr(u.buf, '\0', u.end)))
			err = EINVAL;
		if (!err) {
			memcpy(name, u.buf, u.end);
			name[u.end] = '\0';
		}
		mbuf_reset(&u);
		if (err) {
			/* Not a name any peer can have: the same answers as an unknown user. */
			snprintf(name, sizeof(name), "%s", "\x01");
		}
	}
	p = peer_find(reg->cfg, name);
	if (p && !p->dynamic)
		p = NULL;

	if (authenticate(reg, st, msg, p, name, &retrans) == AUTH_ANSWERED)
		return true;
	if (!peer_acl_allows(p, &msg->src)) {
		char buf[SA_STRLEN];

		log_notice("%s: REGISTER from %s refused by permit/deny", p->name,
			   sa_ntop(&msg->src, buf, sizeof(buf)));
		reply(reg, st, 403, "Forbidden", NULL);
		return true;
	}
	if (p && !peer_transport_allows(p, sip_transport_name(msg->tp ? msg->tp : SIP_TP_UDP))) {
		/* Asterisk (chan_sip): 403 once authenticated, the peer's transport= not matching. */
		log_notice("%s: REGISTER over %s refused: not in its transport=", p->name,
			   sip_transport_name(msg->tp ? msg->tp : SIP_TP_UDP));
		reply(reg, st, 403, "Forbidden", NULL);
		return true;
	}
	if (retrans) {
		reply_ok(reg, st, name);
		return true;
	}
	if (collect_contacts(reg, st, msg, rc, &n, &wildcard))
		return true;
	aor = reg_aor_find(reg, name);
	if (!aor) {
		reply(reg, st, 500, "Server Internal Error", "Retry-After: 5\r\n");
		return true;
	}
	if (n == 0) {
		reply_ok(reg, st, name); /* a query (§10.3 step 6 end) */
		return true;
	}

	pend = calloc(1, sizeof(*pend) + strlen(name) + 1);
	if (!pend) {
		reply(reg, st, 500, "Server Internal Error", "Retry-After: 5\r\n");
		return true;
	}
	pend->aor = (char *)(pend + 1);
	strcpy(pend->aor, name);
	pend->reg = reg;
	pend->st = st;
	pend->outbound = sip_msg_has_option(msg, SIP_HDR_SUPPORTED, "outbound") ||
			 sip_msg_has_option(msg, SIP_HDR_REQUIRE, "outbound");
	list_append(&reg->pending, &pend->le, pend);
	/* One write in flight of our own, so that callbacks of writes queued below cannot finish
	 * the answer before every write is queued. */
	pend->writes = 1;
	err = apply_bindings(reg, pend, aor, msg, rc, n, wildcard);
	if (err)
		pend->err = err;
	if (aor->contacts.count)
		reg_qualify_start(aor, true);
	else
		reg_qualify_stop(aor);
	pending_done(0, pend);
	return true;
}

/* ---------------------------------------------------------------------------------------------
 * Queries.
 */
int reg_contacts(struct reg *reg, const char *peer, reg_contact_h *h, void *arg)
{
	struct reg_aor *aor = reg ? reg_aor_find(reg, peer) : NULL;

	if (!aor || !aor->contacts.count)
		return ENOENT;
	LIST_FOREACH(&aor->contacts, le)
	{
		const struct reg_contact *c = le->data;
		struct reg_contact_info ci = {
		    .peer = aor->name,
		    .uri = c->uri,
		    .source = c->source,
		    .local = c->local,
		    .tp = c->tp,
		    .user_agent = c->user_agent,
		    .expires = c->expires,
		    .lastms = c->lastms,
		};
		int err = h(&ci, arg);

		if (err)
			return err;
	}
	return 0;
}

size_t reg_contact_count(const struct reg *reg, const char *peer)
{
	struct reg_aor *aor = reg ? reg_aor_find(reg, peer) : NULL;

	return aor ? aor->contacts.count : 0;
}

size_t reg_binding_count(const struct reg *reg)
{
	return reg ? reg->nbindings : 0;
}

void reg_set_change_handler(struct reg *reg, reg_bound_h *h, void *arg)
{
	if (!reg)
		return;
	reg->change_h = h;
	reg->change_arg = arg;
}

void reg_set_bound_handler(struct reg *reg, reg_bound_h *h, void *arg)
{
	if (!reg)
		return;
	reg->bound_h = h;
	reg->bound_arg = arg;
}
