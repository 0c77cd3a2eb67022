/* mwi: message-summary subscriptions (RFC 3842, RFC 6665) and the NOTIFYs sent to subscribers
 * and, unsolicited, to peers with mailbox=. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evsub.h"
#include "loop.h"
#include "mwi.h"
#include "peer.h"
#include "reg.h"
#include "sip.h"
#include "vm.h"

#define LOG_MODULE "mwi"

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
	struct evsub_set *subs;
	struct mwi_uns *uns;
	struct mwi_stats st; /* of the unsolicited NOTIFYs */
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

/* Builds the message-summary body for BOX@CTX as seen from host (0/0 for a box that is not
 * there). Message-Account: the voicemail access number at our address (Asterisk: vmexten). */
static int summary_body(const struct mwi *m, struct mbuf *body, const char *host, unsigned n,
			unsigned o)
{
	char account[SA_STRLEN + 16];

	(void)m;
	snprintf(account, sizeof(account), "sip:*97@%s", host);
	return vm_summary_body(body, account, n, o);
}

/* The counts of BOX@CTX (0/0 for a box that is not there). */
static void counts(const struct mwi *m, const char *box, const char *ctx, unsigned *n, unsigned *o)
{
	*n = *o = 0;
	vm_counts(m->vm, box, ctx, n, o);
}

/* ---- subscriptions (evsub) ------------------------------------------------------------------ */

static int sub_body_h(struct evsub *s, struct mbuf *body, const char **ctype, void *arg)
{
	struct mwi *m = arg;
	char host[SA_STRLEN + 2];
	unsigned n, o;

	evsub_host(s, host, sizeof(host));
	counts(m, evsub_res(s), evsub_ctx(s), &n, &o);
	*ctype = "application/simple-message-summary";
	log_info("NOTIFY message-summary %u/%u to %s", n, o, evsub_target(s));
	return summary_body(m, body, host, n, o);
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
	const struct peer *p;
	struct box_pick bp = {0};
	struct pl evname;

	if (!evsub_event(msg, &evname) || !pl_caseeq_str(&evname, "message-summary")) {
		sip_strans_reply(st, 489, "Bad Event", "Allow-Events: message-summary\r\n", NULL,
				 NULL);
		return true;
	}
	/* A refresh or an unsubscribe inside an existing subscription. */
	if (pl_isset(&msg->to.tag)) {
		evsub_refresh(m->subs, st, msg);
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
	evsub_accept(m->subs, st, msg, "message-summary", p->name, bp.box, bp.ctx,
		     evsub_req_expires(msg, MWI_EXPIRES_DEFAULT));
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
	struct mwi *m = x->m;
	struct mwi_uns *u = calloc(1, sizeof(*u));
	char from[SA_STRLEN + 64], to[600], tag[24], callid[24], host[SA_STRLEN + 2];
	struct evsub_notify_spec ns;
	struct sa local = ci->local;
	struct mbuf body;
	int err;

	if (!u)
		return 0;
	u->m = m;
	if (!sa_isset(&local) || sa_is_any(&local))
		sip_transp_local_for(sip_stack_transp(m->stack), &ci->source, &local);
	evsub_local_host(m->stack, &local, &ci->source, host, sizeof(host), NULL);
	sip_tag_new(tag, sizeof(tag));
	sip_tag_new(callid, sizeof(callid));
	snprintf(from, sizeof(from), "<sip:mikaka@%s>;tag=%s", host, tag);
	snprintf(to, sizeof(to), "<%s>", ci->uri);
	mbuf_init(&body);
	err = summary_body(m, &body, host, x->n, x->o);
	memset(&ns, 0, sizeof(ns));
	ns.ruri = ci->uri;
	ns.from = from;
	ns.to = to;
	ns.callid = callid;
	ns.event = "message-summary";
	ns.substate = "active";
	ns.ctype = "application/simple-message-summary";
	ns.body = pl_from((const char *)body.buf, body.end);
	ns.cseq = 1;
	ns.tp = ci->tp;
	ns.local = local;
	ns.dst = ci->source;
	if (!err)
		err = evsub_send_notify(m->stack, &ns, &u->ct, uns_resp_h, u);
	mbuf_reset(&body);
	if (err) {
		m->st.notify_failed++;
		log_warn("NOTIFY to %s not sent: %s", ci->uri, strerror(err));
		free(u);
		return 0;
	}
	m->st.notify_sent++;
	log_info("NOTIFY message-summary %u/%u to %s", x->n, x->o, ci->uri);
	u->next = m->uns;
	m->uns = u;
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
	evsub_notify_res(m->subs, b->box, b->context);
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
	if (evsub_set_alloc(&m->subs, LOG_MODULE, loop, stack, sub_body_h, m)) {
		free(m);
		return ENOMEM;
	}
	*mp = m;
	return 0;
}

void mwi_free(struct mwi *m)
{
	if (!m)
		return;
	evsub_set_free(m->subs);
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
	struct evsub_stats es;

	*out = m->st;
	evsub_stats_get(m->subs, &es);
	out->subscriptions = es.subscriptions;
	out->notify_sent += es.notify_sent;
	out->notify_failed += es.notify_failed;
}

struct show_ctx {
	struct mbuf *out;
	size_t n;
};

static void show_one(struct evsub *s, void *arg)
{
	struct show_ctx *x = arg;
	char mb[140];

	snprintf(mb, sizeof(mb), "%s@%s", evsub_res(s), evsub_ctx(s));
	mbuf_printf(x->out, "%-16s %-20s %-8u %s\n", evsub_peer(s), mb, evsub_expires_left(s),
		    evsub_target(s));
	x->n++;
}

int mwi_show(const struct mwi *m, struct mbuf *out)
{
	struct show_ctx x = {out, 0};

	mbuf_printf(out, "%-16s %-20s %-8s %s\n", "Peer", "Mailbox", "Expires", "Contact");
	if (m)
		evsub_foreach(m->subs, show_one, &x);
	mbuf_printf(out, "%zu message-summary subscription%s\n", x.n, x.n == 1 ? "" : "s");
	return 0;
}

struct evsub_set *mwi_subscriptions(struct mwi *m)
{
	return m ? m->subs : NULL;
}
