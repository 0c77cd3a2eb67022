/* evsub: SUBSCRIBE dialogs, refresh, expiry and NOTIFY sending for every event package. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evsub.h"
#include "loop.h"

#define LOG_MODULE "evsub"

struct evsub {
	struct evsub *next;
	struct evsub_set *set;
	char event[24];
	char res[64], ctx[64];
	char peer[64];
	char callid[256];
	char their_tag[128], our_tag[24];
	char target[512];    /* the subscriber's Contact URI: the NOTIFY's Request-URI */
	char their_uri[512]; /* their From URI (our To) */
	char our_uri[512];   /* the SUBSCRIBE's To URI (our From) */
	char reason[24];     /* of the final NOTIFY */
	uint32_t cseq;
	uint32_t seq; /* bodies built */
	unsigned user;
	enum sip_transport tp;
	struct sa src, local;
	struct loop_timer tmr;
	struct sip_ctrans *ct;
	bool again;	 /* the state changed while a NOTIFY was in flight */
	bool terminated; /* the last NOTIFY (Subscription-State: terminated) is on its way */
};

struct evsub_set {
	const char *logmod; /* the package module's log name (static) */
	struct loop *loop;
	struct sip_stack *stack;
	evsub_body_h *body_h;
	void *arg;
	struct evsub *subs;
	size_t nsubs;
	struct evsub_stats st;
};

/* ---- NOTIFY --------------------------------------------------------------------------------- */

static evsub_nat_h *nat_h;
static void *nat_arg;

void evsub_set_nat(evsub_nat_h *h, void *arg)
{
	nat_h = h;
	nat_arg = arg;
}

void evsub_local_host(struct sip_stack *stack, const struct sa *local, const struct sa *dst,
		      char *buf, size_t size, uint16_t *port)
{
	struct sa l = *local;
	char h[SA_STRLEN];

	if (!sa_isset(&l) || sa_is_any(&l))
		sip_transp_local_for(sip_stack_transp(stack), dst, &l);
	if (nat_h) {
		struct sa adv;

		nat_h(&l, dst, &adv, nat_arg);
		l = adv;
	}
	sa_ntop(&l, h, sizeof(h));
	snprintf(buf, size, "%s%s%s", sa_af(&l) == AF_INET6 ? "[" : "", h,
		 sa_af(&l) == AF_INET6 ? "]" : "");
	if (port)
		*port = sa_port(&l);
}

int evsub_send_notify(struct sip_stack *stack, const struct evsub_notify_spec *ns,
		      struct sip_ctrans **ctp, sip_response_h *h, void *arg)
{
	char branch[40], host[SA_STRLEN + 2], extra[320], contact[160];
	struct sip_request_spec s;
	struct sa local = ns->local;
	uint16_t adv_port = 0;
	struct mbuf mb;
	int err;

	if (!sa_isset(&local) || sa_is_any(&local))
		sip_transp_local_for(sip_stack_transp(stack), &ns->dst, &local);
	evsub_local_host(stack, &local, &ns->dst, host, sizeof(host), &adv_port);
	snprintf(extra, sizeof(extra), "Event: %s\r\n%s%s%s", ns->event,
		 ns->substate ? "Subscription-State: " : "", ns->substate ? ns->substate : "",
		 ns->substate ? "\r\n" : "");
	snprintf(contact, sizeof(contact), "<sip:mikaka@%s:%u>", host, adv_port);
	sip_branch_new(branch, sizeof(branch));
	memset(&s, 0, sizeof(s));
	s.method = "NOTIFY";
	s.ruri = ns->ruri;
	s.tp = ns->tp;
	s.via_host = host;
	s.via_port = adv_port;
	s.branch = branch;
	s.rport = true;
	s.from = ns->from;
	s.to = ns->to;
	s.call_id = ns->callid;
	s.cseq = ns->cseq;
	s.max_forwards = 70;
	s.contact = contact;
	s.extra = extra;
	s.ctype = ns->ctype;
	s.body = ns->ctype ? &ns->body : NULL;
	mbuf_init(&mb);
	err = sip_build_request(&mb, &s);
	if (!err)
		err = sip_ctrans_request_from(ctp, stack, ns->tp, &local, &ns->dst, &mb, h, arg);
	mbuf_reset(&mb);
	return err;
}

/* ---- subscriptions -------------------------------------------------------------------------- */

static void sub_free(struct evsub *s)
{
	struct evsub_set *set = s->set;

	for (struct evsub **pp = &set->subs; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			set->nsubs--;
			break;
		}
	}
	loop_timer_cancel(&s->tmr);
	if (s->ct)
		sip_ctrans_abandon(s->ct);
	free(s);
}

static void sub_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct evsub *s = arg;

	if (!err && resp && resp->scode < 200)
		return;
	s->ct = NULL;
	if (err || !resp || resp->scode == 481 || resp->scode >= 400 || s->terminated) {
		if (!s->terminated)
			log_msg(LOG_NOTICE, s->set->logmod,
				"subscription of %s to %s@%s (%s) ended: NOTIFY %s", s->peer,
				s->res, s->ctx, s->event, err ? strerror(err) : "refused");
		sub_free(s);
		return;
	}
	if (s->again) {
		s->again = false;
		evsub_notify(s);
	}
}

void evsub_notify(struct evsub *s)
{
	struct evsub_set *set = s->set;
	char from[700], to[700], state[64];
	struct evsub_notify_spec ns;
	const char *ctype = NULL;
	struct mbuf body;
	int err;

	if (s->ct) {
		s->again = true;
		return;
	}
	snprintf(from, sizeof(from), "<%s>;tag=%s", s->our_uri, s->our_tag);
	snprintf(to, sizeof(to), "<%s>;tag=%s", s->their_uri, s->their_tag);
	if (s->terminated)
		snprintf(state, sizeof(state), "terminated;reason=%s",
			 s->reason[0] ? s->reason : "timeout");
	else
		snprintf(state, sizeof(state), "active;expires=%u", evsub_expires_left(s));
	mbuf_init(&body);
	err = set->body_h(s, &body, &ctype, set->arg);
	s->seq++;
	memset(&ns, 0, sizeof(ns));
	ns.ruri = s->target;
	ns.from = from;
	ns.to = to;
	ns.callid = s->callid;
	ns.event = s->event;
	ns.substate = state;
	ns.ctype = ctype;
	ns.body = pl_from((const char *)body.buf, body.end);
	ns.cseq = ++s->cseq;
	ns.tp = s->tp;
	ns.local = s->local;
	ns.dst = s->src;
	if (!err)
		err = evsub_send_notify(set->stack, &ns, &s->ct, sub_resp_h, s);
	mbuf_reset(&body);
	if (err) {
		set->st.notify_failed++;
		log_msg(LOG_WARN, set->logmod, "NOTIFY %s to %s not sent: %s", s->event, s->target,
			strerror(err));
		if (s->terminated)
			sub_free(s);
		return;
	}
	set->st.notify_sent++;
	log_msg(LOG_INFO, set->logmod, "NOTIFY %s (%s) to %s", s->event, state, s->target);
}

static void sub_end(struct evsub *s, const char *reason)
{
	loop_timer_cancel(&s->tmr);
	s->terminated = true;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	if (s->ct) {
		sip_ctrans_abandon(s->ct);
		s->ct = NULL;
	}
	evsub_notify(s);
}

static void sub_expire_h(void *arg)
{
	struct evsub *s = arg;

	log_msg(LOG_INFO, s->set->logmod, "subscription of %s to %s@%s (%s) expired", s->peer,
		s->res, s->ctx, s->event);
	sub_end(s, "timeout");
}

static struct evsub *sub_find(struct evsub_set *set, const struct sip_msg *msg)
{
	for (struct evsub *s = set->subs; s; s = s->next)
		if (pl_eq_str(&msg->call_id, s->callid) &&
		    pl_eq_str(&msg->from.tag, s->their_tag) && pl_eq_str(&msg->to.tag, s->our_tag))
			return s;
	return NULL;
}

bool evsub_event(const struct sip_msg *msg, struct pl *name)
{
	const struct sip_hdr *ev = sip_msg_hdr(msg, SIP_HDR_EVENT);
	const char *semi;

	if (!ev)
		return false;
	*name = ev->value;
	pl_trim(name);
	semi = pl_chr(name, ';');
	if (semi)
		name->l = (size_t)(semi - name->p);
	pl_trim(name);
	return pl_isset(name);
}

uint32_t evsub_req_expires(const struct sip_msg *msg, uint32_t def)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_EXPIRES);
	struct pl val;
	uint32_t v;

	if (!h)
		return def;
	val = h->value;
	pl_trim(&val);
	if (pl_u32(&val, &v))
		return def;
	return v;
}

/* The 200 to a SUBSCRIBE creates the dialog, so it carries our Contact (RFC 6665 §4.2.1.1):
 * libre's subscriber (baresip's mwi and presence modules) closes a subscription whose 200 has
 * none. The address is the one the SUBSCRIBE arrived on. */
static void reply_expires(struct evsub_set *set, struct sip_strans *st, const struct sip_msg *msg,
			  unsigned expires)
{
	char extra[320], host[SA_STRLEN + 2];
	const char *tp = "";
	uint16_t port;

	evsub_local_host(set->stack, &msg->dst, &msg->src, host, sizeof(host), &port);
	if (msg->tp == SIP_TP_TCP)
		tp = ";transport=tcp";
	else if (msg->tp == SIP_TP_TLS)
		tp = ";transport=tls";
	snprintf(extra, sizeof(extra), "Expires: %u\r\nContact: <sip:mikaka@%s:%u%s>\r\n", expires,
		 host, port, tp);
	sip_strans_reply(st, 200, "OK", extra, NULL, NULL);
}

/* 423 for a too short non-zero Expires (true: answered); longer ones are cut. */
static bool expires_check(struct sip_strans *st, uint32_t *expires)
{
	if (*expires && *expires < EVSUB_EXPIRES_MIN) {
		char extra[48];

		snprintf(extra, sizeof(extra), "Min-Expires: %u\r\n", EVSUB_EXPIRES_MIN);
		sip_strans_reply(st, 423, "Interval Too Brief", extra, NULL, NULL);
		return true;
	}
	if (*expires > EVSUB_EXPIRES_MAX)
		*expires = EVSUB_EXPIRES_MAX;
	return false;
}

void evsub_refresh(struct evsub_set *set, struct sip_strans *st, const struct sip_msg *msg)
{
	struct evsub *s = sub_find(set, msg);
	uint32_t expires = evsub_req_expires(msg, 3600);
	struct pl ev;

	/* The dialog and the event package name the subscription (RFC 6665 §4.1.2.1). */
	if (s && (!evsub_event(msg, &ev) || !pl_caseeq_str(&ev, s->event)))
		s = NULL;
	if (!s || s->terminated) {
		sip_strans_reply(st, 481, "Subscription Does Not Exist", NULL, NULL, NULL);
		return;
	}
	if (expires_check(st, &expires))
		return;
	reply_expires(set, st, msg, expires);
	if (!expires) {
		log_msg(LOG_INFO, set->logmod, "%s unsubscribed from %s@%s (%s)", s->peer, s->res,
			s->ctx, s->event);
		sub_end(s, "timeout");
		return;
	}
	loop_timer_cancel(&s->tmr);
	loop_timer_start(set->loop, &s->tmr, (uint64_t)expires * 1000, sub_expire_h, s);
	evsub_notify(s);
}

struct evsub *evsub_accept(struct evsub_set *set, struct sip_strans *st, const struct sip_msg *msg,
			   const char *event, const char *peer, const char *res, const char *ctx,
			   uint32_t expires)
{
	const struct sip_hdr *ct = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct sip_addr caddr;
	struct evsub *s;

	if (!ct || sip_addr_decode(&caddr, &ct->value) || !pl_isset(&msg->from.tag) ||
	    !msg->from_ok || !msg->to_ok) {
		sip_strans_reply(st, 400, "Missing Contact or From tag", NULL, NULL, NULL);
		return NULL;
	}
	if (expires_check(st, &expires))
		return NULL;
	if (set->nsubs >= EVSUB_SUBS_MAX) {
		sip_strans_reply(st, 503, "Too Many Subscriptions", NULL, NULL, NULL);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		sip_strans_reply(st, 500, "Out Of Memory", NULL, NULL, NULL);
		return NULL;
	}
	s->set = set;
	loop_timer_init(&s->tmr);
	snprintf(s->event, sizeof(s->event), "%s", event);
	snprintf(s->res, sizeof(s->res), "%s", res);
	snprintf(s->ctx, sizeof(s->ctx), "%s", ctx);
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	pl_strcpy(&msg->call_id, s->callid, sizeof(s->callid));
	pl_strcpy(&msg->from.tag, s->their_tag, sizeof(s->their_tag));
	pl_strcpy(&caddr.auri, s->target, sizeof(s->target));
	pl_strcpy(&msg->from.auri, s->their_uri, sizeof(s->their_uri));
	pl_strcpy(&msg->to.auri, s->our_uri, sizeof(s->our_uri));
	/* Our tag is the one the transaction puts in its 200. */
	snprintf(s->our_tag, sizeof(s->our_tag), "%s", sip_strans_totag(st));
	s->tp = msg->tp;
	s->src = msg->src;
	s->local = msg->dst;
	s->next = set->subs;
	set->subs = s;
	set->nsubs++;
	reply_expires(set, st, msg, expires);
	log_msg(LOG_INFO, set->logmod, "%s subscribed to %s@%s (%s) for %u s", s->peer, s->res,
		s->ctx, s->event, expires);
	if (expires)
		loop_timer_start(set->loop, &s->tmr, (uint64_t)expires * 1000, sub_expire_h, s);
	else
		s->terminated = true; /* a fetch: one NOTIFY, then it is over (RFC 6665 §4.4.3) */
	evsub_notify(s);
	return s;
}

static bool res_match(const struct evsub *s, const char *res, const char *ctx)
{
	return (!res || !strcmp(s->res, res)) && (!ctx || !strcmp(s->ctx, ctx));
}

void evsub_notify_res(struct evsub_set *set, const char *res, const char *ctx)
{
	if (!set)
		return;
	for (struct evsub *s = set->subs, *next; s; s = next) {
		next = s->next; /* evsub_notify may free s */
		if (!s->terminated && res_match(s, res, ctx))
			evsub_notify(s);
	}
}

void evsub_terminate_res(struct evsub_set *set, const char *res, const char *ctx,
			 const char *reason)
{
	if (!set)
		return;
	for (struct evsub *s = set->subs, *next; s; s = next) {
		next = s->next;
		if (!s->terminated && res_match(s, res, ctx))
			sub_end(s, reason);
	}
}

/* ---- accessors ------------------------------------------------------------------------------ */

const char *evsub_event_name(const struct evsub *s)
{
	return s->event;
}

const char *evsub_peer(const struct evsub *s)
{
	return s->peer;
}

const char *evsub_res(const struct evsub *s)
{
	return s->res;
}

const char *evsub_ctx(const struct evsub *s)
{
	return s->ctx;
}

const char *evsub_target(const struct evsub *s)
{
	return s->target;
}

const char *evsub_callid(const struct evsub *s)
{
	return s->callid;
}

const struct sa *evsub_source(const struct evsub *s)
{
	return &s->src;
}

const char *evsub_our_uri(const struct evsub *s)
{
	return s->our_uri;
}

uint32_t evsub_expires_left(const struct evsub *s)
{
	return (uint32_t)((loop_timer_remaining(&s->tmr) + 999) / 1000);
}

void evsub_host(const struct evsub *s, char *buf, size_t size)
{
	evsub_local_host(s->set->stack, &s->local, &s->src, buf, size, NULL);
}

uint32_t evsub_seq(const struct evsub *s)
{
	return s->seq;
}

bool evsub_terminating(const struct evsub *s)
{
	return s->terminated;
}

unsigned *evsub_user(struct evsub *s)
{
	return &s->user;
}

void evsub_foreach(struct evsub_set *set, evsub_each_h *h, void *arg)
{
	for (struct evsub *s = set ? set->subs : NULL; s; s = s->next)
		if (!s->terminated)
			h(s, arg);
}

size_t evsub_count(const struct evsub_set *set, const char *res, const char *ctx)
{
	size_t n = 0;

	if (set && !res && !ctx)
		return set
		    ->nsubs; /* cheap: asked at every change of a call leg (ending ones count) */

	for (const struct evsub *s = set ? set->subs : NULL; s; s = s->next)
		if (!s->terminated && res_match(s, res, ctx))
			n++;
	return n;
}

void evsub_stats_get(const struct evsub_set *set, struct evsub_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!set)
		return;
	*out = set->st;
	out->subscriptions = set->nsubs;
}

/* ---- life ----------------------------------------------------------------------------------- */

int evsub_set_alloc(struct evsub_set **setp, const char *logmod, struct loop *loop,
		    struct sip_stack *stack, evsub_body_h *body_h, void *arg)
{
	struct evsub_set *set;

	if (!setp || !loop || !stack || !body_h)
		return EINVAL;
	set = calloc(1, sizeof(*set));
	if (!set)
		return ENOMEM;
	set->logmod = logmod ? logmod : LOG_MODULE;
	set->loop = loop;
	set->stack = stack;
	set->body_h = body_h;
	set->arg = arg;
	*setp = set;
	return 0;
}

void evsub_set_free(struct evsub_set *set)
{
	if (!set)
		return;
	while (set->subs)
		sub_free(set->subs);
	free(set);
}
