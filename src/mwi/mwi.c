/* mwi: message-summary subscriptions (RFC 3842, RFC 6665) and the NOTIFYs sent to subscribers
 * and, unsolicited, to peers with mailbox=. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loop.h"
#include "mwi.h"
#include "peer.h"
#include "reg.h"
#include "sip.h"
#include "vm.h"

#define LOG_MODULE "mwi"

struct mwi_sub {
	struct mwi_sub *next;
	struct mwi *m;
	char box[64], ctx[64];
	char peer[64];
	char callid[256];
	char their_tag[128], our_tag[24];
	char target[512];    /* the subscriber's Contact URI: the NOTIFY's Request-URI */
	char their_uri[512]; /* their From URI (our To) */
	char our_uri[512];   /* the SUBSCRIBE's To URI (our From) */
	uint32_t cseq;
	enum sip_transport tp;
	struct sa src, local;
	struct loop_timer tmr;
	struct sip_ctrans *ct;
	bool again;	 /* the counts changed while a NOTIFY was in flight */
	bool terminated; /* the last NOTIFY (Subscription-State: terminated) is on its way */
};

/* A NOTIFY to a peer's contact outside any subscription: only its transaction is tracked. */
struct mwi_uns {
	struct mwi_uns *next;
	struct mwi *m;
	struct sip_ctrans *ct;
};

struct mwi {
	struct loop *loop;
	struct sip_stack *stack;
	struct reg *reg;
	struct vm *vm;
	mwi_auth_h *auth;
	void *auth_arg;
	struct sipcfg *peers;
	struct mwi_sub *subs;
	struct mwi_uns *uns;
	size_t nsubs;
	struct mwi_stats st;
};

int mwi_mailbox_foreach(const char *mailbox, mwi_box_h *each, void *arg)
{
	const char *p = mailbox;

	while (p && *p) {
		size_t n = strcspn(p, ","), bl;
		char box[64], ctx[64];
		const char *at;
		int r;

		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		at = memchr(p, '@', n);
		bl = at ? (size_t)(at - p) : n;
		while (bl && (p[bl - 1] == ' ' || p[bl - 1] == '\t'))
			bl--;
		if (bl && bl < sizeof(box)) {
			memcpy(box, p, bl);
			box[bl] = '\0';
			const char *c = at ? at + 1 : NULL;

			while (c && c < p + n && (*c == ' ' || *c == '\t'))
				c++;
			if (c && c < p + n && (size_t)(p + n - c) < sizeof(ctx))
				snprintf(ctx, sizeof(ctx), "%.*s", (int)(p + n - c), c);
			else
				snprintf(ctx, sizeof(ctx), "default");
			for (char *e = ctx + strlen(ctx);
			     e > ctx && (e[-1] == ' ' || e[-1] == '\t');)
				*--e = '\0';
			r = each(box, ctx, arg);
			if (r)
				return r;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* ---- sending -------------------------------------------------------------------------------- */

static void host_of(const struct sa *local, char *buf, size_t size)
{
	char h[SA_STRLEN];

	sa_ntop(local, h, sizeof(h));
	snprintf(buf, size, "%s%s%s", sa_af(local) == AF_INET6 ? "[" : "", h,
		 sa_af(local) == AF_INET6 ? "]" : "");
}

struct notify_spec {
	const char *ruri, *from, *to, *callid, *substate;
	uint32_t cseq;
	enum sip_transport tp;
	struct sa local, dst;
	unsigned newmsgs, oldmsgs;
};

/* Builds and sends one NOTIFY; *ctp gets the transaction. */
static int notify_send(struct mwi *m, const struct notify_spec *ns, struct sip_ctrans **ctp,
		       sip_response_h *h, void *arg)
{
	char branch[40], host[SA_STRLEN + 2], extra[320], account[SA_STRLEN + 16], contact[160];
	struct sip_request_spec s;
	struct sa local = ns->local;
	struct mbuf body, mb;
	struct pl bpl;
	int err;

	if (!sa_isset(&local) || sa_is_any(&local))
		sip_transp_local_for(sip_stack_transp(m->stack), &ns->dst, &local);
	host_of(&local, host, sizeof(host));
	/* Message-Account: the voicemail access number at our address (Asterisk: vmexten). */
	snprintf(account, sizeof(account), "sip:*97@%s", host);
	mbuf_init(&body);
	err = vm_summary_body(&body, account, ns->newmsgs, ns->oldmsgs);
	snprintf(extra, sizeof(extra), "Event: message-summary\r\n%s%s%s",
		 ns->substate ? "Subscription-State: " : "", ns->substate ? ns->substate : "",
		 ns->substate ? "\r\n" : "");
	snprintf(contact, sizeof(contact), "<sip:mikaka@%s:%u>", host, sa_port(&local));
	sip_branch_new(branch, sizeof(branch));
	memset(&s, 0, sizeof(s));
	s.method = "NOTIFY";
	s.ruri = ns->ruri;
	s.tp = ns->tp;
	s.via_host = host;
	s.via_port = sa_port(&local);
	s.branch = branch;
	s.rport = true;
	s.from = ns->from;
	s.to = ns->to;
	s.call_id = ns->callid;
	s.cseq = ns->cseq;
	s.max_forwards = 70;
	s.contact = contact;
	s.extra = extra;
	s.ctype = "application/simple-message-summary";
	bpl = pl_from((const char *)body.buf, body.end);
	s.body = &bpl;
	mbuf_init(&mb);
	if (!err)
		err = sip_build_request(&mb, &s);
	if (!err)
		err = sip_ctrans_request_from(ctp, m->stack, ns->tp, &local, &ns->dst, &mb, h, arg);
	mbuf_reset(&mb);
	mbuf_reset(&body);
	if (err) {
		m->st.notify_failed++;
		log_warn("NOTIFY to %s not sent: %s", ns->ruri, strerror(err));
	} else {
		m->st.notify_sent++;
		log_info("NOTIFY message-summary %u/%u to %s", ns->newmsgs, ns->oldmsgs, ns->ruri);
	}
	return err;
}

/* The counts of BOX@CTX (0/0 for a box that is not there). */
static void counts(const struct mwi *m, const char *box, const char *ctx, unsigned *n, unsigned *o)
{
	*n = *o = 0;
	vm_counts(m->vm, box, ctx, n, o);
}

/* ---- subscriptions -------------------------------------------------------------------------- */

static void sub_free(struct mwi_sub *s)
{
	struct mwi *m = s->m;

	for (struct mwi_sub **pp = &m->subs; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			m->nsubs--;
			break;
		}
	}
	loop_timer_cancel(&s->tmr);
	if (s->ct)
		sip_ctrans_abandon(s->ct);
	free(s);
}

static void sub_notify(struct mwi_sub *s);

static void sub_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct mwi_sub *s = arg;

	if (!err && resp && resp->scode < 200)
		return;
	s->ct = NULL;
	if (err || !resp || resp->scode == 481 || resp->scode >= 400 || s->terminated) {
		if (!s->terminated)
			log_notice("subscription of %s to %s@%s ended: NOTIFY %s", s->peer, s->box,
				   s->ctx, err ? strerror(err) : "refused");
		sub_free(s);
		return;
	}
	if (s->again) {
		s->again = false;
		sub_notify(s);
	}
}

static void sub_notify(struct mwi_sub *s)
{
	char from[700], to[700], state[48];
	struct notify_spec ns;
	uint64_t left = loop_timer_remaining(&s->tmr);

	if (s->ct) {
		s->again = true;
		return;
	}
	snprintf(from, sizeof(from), "<%s>;tag=%s", s->our_uri, s->our_tag);
	snprintf(to, sizeof(to), "<%s>;tag=%s", s->their_uri, s->their_tag);
	if (s->terminated)
		snprintf(state, sizeof(state), "terminated;reason=timeout");
	else
		snprintf(state, sizeof(state), "active;expires=%u",
			 (unsigned)((left + 999) / 1000));
	memset(&ns, 0, sizeof(ns));
	ns.ruri = s->target;
	ns.from = from;
	ns.to = to;
	ns.callid = s->callid;
	ns.substate = state;
	ns.cseq = ++s->cseq;
	ns.tp = s->tp;
	ns.local = s->local;
	ns.dst = s->src;
	counts(s->m, s->box, s->ctx, &ns.newmsgs, &ns.oldmsgs);
	if (notify_send(s->m, &ns, &s->ct, sub_resp_h, s) && s->terminated)
		sub_free(s);
}

static void sub_expire_h(void *arg)
{
	struct mwi_sub *s = arg;

	log_info("subscription of %s to %s@%s expired", s->peer, s->box, s->ctx);
	s->terminated = true;
	if (s->ct) {
		sip_ctrans_abandon(s->ct);
		s->ct = NULL;
	}
	sub_notify(s);
}

static struct mwi_sub *sub_find(struct mwi *m, const struct sip_msg *msg)
{
	for (struct mwi_sub *s = m->subs; s; s = s->next)
		if (pl_eq_str(&msg->call_id, s->callid) &&
		    pl_eq_str(&msg->from.tag, s->their_tag) && pl_eq_str(&msg->to.tag, s->our_tag))
			return s;
	return NULL;
}

/* The Expires of a SUBSCRIBE: header, else the default. */
static uint32_t req_expires(const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_EXPIRES);
	uint32_t v;

	if (!h)
		return MWI_EXPIRES_DEFAULT;
	struct pl val = h->value;
	pl_trim(&val);
	if (pl_u32(&val, &v))
		return MWI_EXPIRES_DEFAULT;
	return v;
}

/* The 200 to a SUBSCRIBE creates the dialog, so it carries our Contact (RFC 6665 §4.2.1.1):
 * libre's subscriber (baresip's mwi module) closes a subscription whose 200 has none. The
 * address is the one the SUBSCRIBE arrived on. */
static void reply_expires(struct mwi *m, struct sip_strans *st, const struct sip_msg *msg,
			  unsigned expires)
{
	char extra[320], host[SA_STRLEN + 2];
	struct sa local = msg->dst;
	const char *tp = "";

	if (!sa_isset(&local) || sa_is_any(&local))
		sip_transp_local_for(sip_stack_transp(m->stack), &msg->src, &local);
	host_of(&local, host, sizeof(host));
	if (msg->tp == SIP_TP_TCP)
		tp = ";transport=tcp";
	else if (msg->tp == SIP_TP_TLS)
		tp = ";transport=tls";
	snprintf(extra, sizeof(extra), "Expires: %u\r\nContact: <sip:mikaka@%s:%u%s>\r\n", expires,
		 host, sa_port(&local), tp);
	sip_strans_reply(st, 200, "OK", extra, NULL, NULL);
}

struct box_pick {
	char box[64], ctx[64];
	bool found;
};

static int pick_first(const char *box, const char *ctx, void *arg)
{
	struct box_pick *bp = arg;

	snprintf(bp->box, sizeof(bp->box), "%s", box);
	snprintf(bp->ctx, sizeof(bp->ctx), "%s", ctx);
	bp->found = true;
	return 1;
}

bool mwi_handle_subscribe(struct sip_strans *st, const struct sip_msg *msg, void *arg)
{
	struct mwi *m = arg;
	const struct sip_hdr *ev = sip_msg_hdr(msg, SIP_HDR_EVENT);
	const struct sip_hdr *ct;
	const struct peer *p;
	struct mwi_sub *s;
	struct sip_addr caddr;
	struct box_pick bp = {0};
	uint32_t expires;
	struct pl evname;

	if (!ev) {
		sip_strans_reply(st, 489, "Bad Event", "Allow-Events: message-summary\r\n", NULL,
				 NULL);
		return true;
	}
	evname = ev->value;
	pl_trim(&evname);
	{
		const char *semi = pl_chr(&evname, ';');
		if (semi)
			evname.l = (size_t)(semi - evname.p);
		pl_trim(&evname);
	}
	if (!pl_caseeq_str(&evname, "message-summary")) {
		sip_strans_reply(st, 489, "Bad Event", "Allow-Events: message-summary\r\n", NULL,
				 NULL);
		return true;
	}
	expires = req_expires(msg);
	/* A refresh or an unsubscribe inside an existing subscription. */
	if (pl_isset(&msg->to.tag)) {
		s = sub_find(m, msg);
		if (!s) {
			sip_strans_reply(st, 481, "Subscription Does Not Exist", NULL, NULL, NULL);
			return true;
		}
		if (expires && expires < MWI_EXPIRES_MIN) {
			char extra[48];
			snprintf(extra, sizeof(extra), "Min-Expires: %u\r\n", MWI_EXPIRES_MIN);
			sip_strans_reply(st, 423, "Interval Too Brief", extra, NULL, NULL);
			return true;
		}
		if (expires > MWI_EXPIRES_MAX)
			expires = MWI_EXPIRES_MAX;
		reply_expires(m, st, msg, expires);
		loop_timer_cancel(&s->tmr);
		if (!expires) {
			log_info("%s unsubscribed from %s@%s", s->peer, s->box, s->ctx);
			s->terminated = true;
			if (s->ct) {
				sip_ctrans_abandon(s->ct);
				s->ct = NULL;
			}
		} else {
			loop_timer_start(m->loop, &s->tmr, (uint64_t)expires * 1000, sub_expire_h,
					 s);
		}
		sub_notify(s);
		return true;
	}
	p = m->auth(st, msg, m->auth_arg);
	if (!p)
		return true;
	/* Which mailbox: the peer's mailbox=; else the box named like the peer (its own). */
	if (p->mailbox)
		mwi_mailbox_foreach(p->mailbox, pick_first, &bp);
	else if (vm_box_find(m->vm, p->name, NULL))
		pick_first(p->name, "default", &bp);
	if (!bp.found) {
		sip_strans_reply(st, 404, "No Mailbox", NULL, NULL, NULL);
		return true;
	}
	ct = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	if (!ct || sip_addr_decode(&caddr, &ct->value) || !pl_isset(&msg->from.tag) ||
	    !msg->from_ok || !msg->to_ok) {
		sip_strans_reply(st, 400, "Missing Contact or From tag", NULL, NULL, NULL);
		return true;
	}
	if (expires && expires < MWI_EXPIRES_MIN) {
		char extra[48];
		snprintf(extra, sizeof(extra), "Min-Expires: %u\r\n", MWI_EXPIRES_MIN);
		sip_strans_reply(st, 423, "Interval Too Brief", extra, NULL, NULL);
		return true;
	}
	if (expires > MWI_EXPIRES_MAX)
		expires = MWI_EXPIRES_MAX;
	if (m->nsubs >= MWI_SUBS_MAX) {
		sip_strans_reply(st, 503, "Too Many Subscriptions", NULL, NULL, NULL);
		return true;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		sip_strans_reply(st, 500, "Out Of Memory", NULL, NULL, NULL);
		return true;
	}
	s->m = m;
	loop_timer_init(&s->tmr);
	snprintf(s->box, sizeof(s->box), "%s", bp.box);
	snprintf(s->ctx, sizeof(s->ctx), "%s", bp.ctx);
	snprintf(s->peer, sizeof(s->peer), "%s", p->name);
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
	s->next = m->subs;
	m->subs = s;
	m->nsubs++;
	reply_expires(m, st, msg, expires);
	log_info("%s subscribed to %s@%s for %u s", s->peer, s->box, s->ctx, expires);
	if (expires)
		loop_timer_start(m->loop, &s->tmr, (uint64_t)expires * 1000, sub_expire_h, s);
	else
		s->terminated = true; /* a fetch: one NOTIFY, then it is over (RFC 6665 §4.4.3) */
	sub_notify(s);
	return true;
}

/* ---- unsolicited ---------------------------------------------------------------------------- */

static void uns_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct mwi_uns *u = arg;
	struct mwi *m = u->m;

	if (!err && resp && resp->scode < 200)
		return;
	if (err || !resp || resp->scode >= 300)
		log_info("unsolicited NOTIFY: %s", err ? strerror(err) : "refused");
	for (struct mwi_uns **pp = &m->uns; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	}
	free(u);
}

struct uns_ctx {
	struct mwi *m;
	const struct peer *p;
	unsigned n, o;
};

static int uns_contact(const struct reg_contact_info *ci, void *arg)
{
	struct uns_ctx *x = arg;
	struct mwi_uns *u = calloc(1, sizeof(*u));
	char from[SA_STRLEN + 64], to[600], tag[24], callid[24], host[SA_STRLEN + 2];
	struct notify_spec ns;
	struct sa local = ci->local;

	if (!u)
		return 0;
	u->m = x->m;
	if (!sa_isset(&local) || sa_is_any(&local))
		sip_transp_local_for(sip_stack_transp(x->m->stack), &ci->source, &local);
	host_of(&local, host, sizeof(host));
	sip_tag_new(tag, sizeof(tag));
	sip_tag_new(callid, sizeof(callid));
	snprintf(from, sizeof(from), "<sip:mikaka@%s>;tag=%s", host, tag);
	snprintf(to, sizeof(to), "<%s>", ci->uri);
	memset(&ns, 0, sizeof(ns));
	ns.ruri = ci->uri;
	ns.from = from;
	ns.to = to;
	ns.callid = callid;
	ns.substate = "active";
	ns.cseq = 1;
	ns.tp = ci->tp;
	ns.local = local;
	ns.dst = ci->source;
	ns.newmsgs = x->n;
	ns.oldmsgs = x->o;
	if (notify_send(x->m, &ns, &u->ct, uns_resp_h, u)) {
		free(u);
		return 0;
	}
	u->next = x->m->uns;
	x->m->uns = u;
	return 0;
}

/* Sums the counts over a mailbox= list (Asterisk adds them up). */
static int sum_box(const char *box, const char *ctx, void *arg)
{
	struct uns_ctx *x = arg;
	unsigned n, o;

	counts(x->m, box, ctx, &n, &o);
	x->n += n;
	x->o += o;
	return 0;
}

static int box_exists(const char *box, const char *ctx, void *arg)
{
	struct mwi *m = arg;

	return vm_box_find(m->vm, box, ctx) ? 1 : 0;
}

static void peer_notify(struct mwi *m, const struct peer *p)
{
	struct uns_ctx x = {m, p, 0, 0};

	/* A mailbox= that names no box of voicemail.conf sends nothing (`-t` warns that its lamp
	 * stays off): the native form gives every phone mailbox=NAME@default, and a phone of a
	 * household without voicemail.conf gets no NOTIFY it never asked for. */
	if (!mwi_mailbox_foreach(p->mailbox, box_exists, m))
		return;
	mwi_mailbox_foreach(p->mailbox, sum_box, &x);
	if (m->reg)
		reg_contacts(m->reg, p->name, uns_contact, &x);
	if (!p->dynamic && m->reg) {
		struct reg_contact_info ci;
		char uri[300];

		memset(&ci, 0, sizeof(ci));
		if (reg_peer_dest(m->reg, p, &ci.source))
			return;
		snprintf(uri, sizeof(uri), "sip:%s@%s:%u", p->name, p->host, sa_port(&ci.source));
		ci.peer = p->name;
		ci.uri = uri;
		ci.tp = SIP_TP_UDP;
		uns_contact(&ci, &x);
	}
}

struct match {
	const struct vm_box *b;
	bool hit;
};

static int box_match(const char *box, const char *ctx, void *arg)
{
	struct match *mt = arg;

	if (!strcmp(box, mt->b->box) && !strcmp(ctx, mt->b->context)) {
		mt->hit = true;
		return 1;
	}
	return 0;
}

void mwi_box_changed(const struct vm_box *b, unsigned newmsgs, unsigned oldmsgs, void *arg)
{
	struct mwi *m = arg;

	(void)newmsgs;
	(void)oldmsgs;
	if (!m || !b)
		return;
	for (struct mwi_sub *s = m->subs, *next; s; s = next) {
		next = s->next; /* sub_notify may free s */
		if (!s->terminated && !strcmp(s->box, b->box) && !strcmp(s->ctx, b->context))
			sub_notify(s);
	}
	for (size_t i = 0; m->peers && i < sipcfg_peer_count(m->peers); i++) {
		const struct peer *p = sipcfg_peer_at(m->peers, i);
		struct match mt = {b, false};

		if (!p->mailbox)
			continue;
		mwi_mailbox_foreach(p->mailbox, box_match, &mt);
		if (mt.hit)
			peer_notify(m, p);
	}
}

void mwi_peer_refresh(struct mwi *m, const char *peer)
{
	const struct peer *p = m && m->peers ? peer_find(m->peers, peer) : NULL;

	if (p && p->mailbox)
		peer_notify(m, p);
}

void mwi_reg_bound(const char *peer, void *arg)
{
	mwi_peer_refresh(arg, peer);
}

/* ---- life ----------------------------------------------------------------------------------- */

int mwi_alloc(struct mwi **mp, struct loop *loop, struct sip_stack *stack, struct reg *reg,
	      struct vm *vm, mwi_auth_h *auth, void *auth_arg)
{
	struct mwi *m;

	if (!mp || !loop || !stack || !vm || !auth)
		return EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return ENOMEM;
	m->loop = loop;
	m->stack = stack;
	m->reg = reg;
	m->vm = vm;
	m->auth = auth;
	m->auth_arg = auth_arg;
	*mp = m;
	return 0;
}

void mwi_free(struct mwi *m)
{
	if (!m)
		return;
	while (m->subs)
		sub_free(m->subs);
	while (m->uns) {
		struct mwi_uns *u = m->uns;

		m->uns = u->next;
		if (u->ct)
			sip_ctrans_abandon(u->ct);
		free(u);
	}
	mem_deref(m->peers);
	free(m);
}

void mwi_set_peers(struct mwi *m, struct sipcfg *peers)
{
	if (!m)
		return;
	mem_deref(m->peers);
	m->peers = peers ? mem_ref(peers) : NULL;
}

void mwi_stats_get(const struct mwi *m, struct mwi_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!m)
		return;
	*out = m->st;
	out->subscriptions = m->nsubs;
}

int mwi_show(const struct mwi *m, struct mbuf *out)
{
	size_t n = 0;

	mbuf_printf(out, "%-16s %-20s %-8s %s\n", "Peer", "Mailbox", "Expires", "Contact");
	for (const struct mwi_sub *s = m ? m->subs : NULL; s; s = s->next, n++) {
		char mb[140];

		snprintf(mb, sizeof(mb), "%s@%s", s->box, s->ctx);
		mbuf_printf(out, "%-16s %-20s %-8llu %s\n", s->peer, mb,
			    (unsigned long long)(loop_timer_remaining(&s->tmr) / 1000), s->target);
	}
	mbuf_printf(out, "%zu message-summary subscription%s\n", n, n == 1 ? "" : "s");
	return 0;
}
