/* im: pager-mode SIP MESSAGE relayed between registered phones (RFC 3428), as a household
 * expects of softphones that chat: authenticated like a call, to the named phone's bindings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "im.h"
#include "peer.h"
#include "reg.h"

#define LOG_MODULE "im"

struct im_relay;

struct im {
	struct sip_stack *stack;
	struct reg *reg;
	im_auth_h *auth;
	void *arg;
	struct im_relay *relays; /* waiting for their answers */
	im_peer_exists_h *exists;
	void *exists_arg;
	struct im_stats st;
};

/* One message on its way: the sender's transaction and the forks to the target's bindings. */
struct im_relay {
	struct im_relay *next;
	struct im *im;
	struct sip_strans *st; /* NULL once answered */
	struct sip_ctrans *ct[IM_FORKS_MAX];
	struct im_fork *forks; /* IM_FORKS_MAX handler arguments, freed with the relay */
	unsigned pending;
	uint16_t best; /* the lowest failure code so far */
};

/* One fork's response handler argument: the relay and the fork's index. */
struct im_fork {
	struct im_relay *r;
	unsigned idx;
};

struct fork_ctx {
	struct im *im;
	struct im_relay *r;
	const struct sip_msg *msg;
	const char *sender;
	struct im_fork *forks;
	unsigned n;
};

static void relay_unlink(struct im_relay *r)
{
	for (struct im_relay **pp = &r->im->relays; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			return;
		}
	}
}

static void relay_answer(struct im_relay *r, uint16_t code)
{
	if (!r->st)
		return;
	if (code >= 200 && code < 300) {
		sip_strans_reply(r->st, 200, "OK", NULL, NULL, NULL);
		r->im->st.delivered++;
	} else {
		sip_strans_reply(r->st, code,
				 code == 486   ? "Busy Here"
				 : code == 404 ? "Not Found"
				 : code == 408 ? "Request Timeout"
					       : "Temporarily Unavailable",
				 NULL, NULL, NULL);
		r->im->st.failed++;
	}
	r->st = NULL; /* valid only until its final response's turn ends */
}

static void fork_h(int err, const struct sip_msg *resp, void *arg)
{
	struct im_fork *f = arg;
	struct im_relay *r = f->r;
	uint16_t code;

	if (!err && resp && resp->scode < 200)
		return;
	code = err || !resp ? 408 : resp->scode;
	r->ct[f->idx] = NULL;
	if (code >= 200 && code < 300) {
		relay_answer(r, 200);
	} else if (!r->best || code < r->best) {
		r->best = code;
	}
	if (--r->pending)
		return;
	relay_answer(r, r->best >= 400 && r->best < 700 ? r->best : 480);
	relay_unlink(r);
	free(r->forks);
	free(r);
}

/* Sends the message to one binding of the target. */
static int fork_h_each(const struct reg_contact_info *ci, void *arg)
{
	struct fork_ctx *x = arg;
	const struct sip_msg *msg = x->msg;
	const struct sip_hdr *ct = sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE);
	char branch[64], tag[32], cid[64], host[SA_STRLEN + 2], from[256], to[256];
	struct sip_request_spec s;
	struct mbuf mb;
	char ctype[128];
	int err;

	if (x->n == IM_FORKS_MAX)
		return 1;
	sip_branch_new(branch, sizeof(branch));
	sip_tag_new(tag, sizeof(tag));
	rand_token(cid, 24);
	sa_ntop(&ci->local, host, sizeof(host));
	/* Who it is from, as the receiving phone will show it and answer to: the sender's
	 * name at our address (the same address the phone registered to). */
	snprintf(from, sizeof(from), "<sip:%s@%s%s%s>;tag=%s", x->sender,
		 sa_af(&ci->local) == AF_INET6 ? "[" : "", host,
		 sa_af(&ci->local) == AF_INET6 ? "]" : "", tag);
	snprintf(to, sizeof(to), "<%s>", ci->uri);
	snprintf(ctype, sizeof(ctype), "%.*s", ct ? (int)ct->value.l : 10,
		 ct ? ct->value.p : "text/plain");
	memset(&s, 0, sizeof(s));
	s.method = "MESSAGE";
	s.ruri = ci->uri;
	s.tp = ci->tp;
	s.via_host = host;
	s.via_port = sa_port(&ci->local);
	s.branch = branch;
	s.rport = true;
	s.from = from;
	s.to = to;
	s.call_id = cid;
	s.cseq = 1;
	s.max_forwards = 70;
	s.ctype = ctype;
	s.body = &msg->body;
	mbuf_init(&mb);
	err = sip_build_request(&mb, &s);
	if (!err) {
		x->forks[x->n].r = x->r;
		x->forks[x->n].idx = x->n;
		err = sip_ctrans_request_spec(&x->r->ct[x->n], x->im->stack, ci->tp, &ci->local,
					      &ci->source, &mb, &s, fork_h, &x->forks[x->n]);
	}
	mbuf_reset(&mb);
	if (err) {
		log_notice("MESSAGE to %s: %s", ci->uri, strerror(err));
		return 0;
	}
	x->n++;
	x->r->pending++;
	return 0;
}

bool im_handle(struct sip_strans *st, const struct sip_msg *msg, void *arg)
{
	struct im *im = arg;
	const struct peer *from;
	struct fork_ctx x;
	char target[64];

	im->st.received++;
	if (msg->body.l > IM_BODY_MAX) {
		sip_strans_reply(st, 413, "Request Entity Too Large", NULL, NULL, NULL);
		im->st.failed++;
		return true;
	}
	from = im->auth(st, msg, im->arg);
	if (!from)
		return true; /* challenged or refused */
	if (!msg->uri_ok || !msg->uri.user.l || msg->uri.user.l >= sizeof(target)) {
		sip_strans_reply(st, 404, "Not Found", NULL, NULL, NULL);
		im->st.failed++;
		return true;
	}
	pl_strcpy(&msg->uri.user, target, sizeof(target));
	if (im->exists && !im->exists(target, im->exists_arg)) {
		sip_strans_reply(st, 404, "Not Found", NULL, NULL, NULL);
		im->st.failed++;
		return true;
	}
	memset(&x, 0, sizeof(x));
	x.im = im;
	x.msg = msg;
	x.sender = from->name;
	x.r = calloc(1, sizeof(*x.r));
	x.forks = calloc(IM_FORKS_MAX, sizeof(*x.forks));
	if (!x.r || !x.forks) {
		free(x.r);
		free(x.forks);
		sip_strans_reply(st, 500, "Server Internal Error", NULL, NULL, NULL);
		return true;
	}
	x.r->im = im;
	x.r->st = st;
	x.r->forks = x.forks;
	if (reg_contacts(im->reg, target, fork_h_each, &x) == ENOENT || !x.n) {
		log_info("MESSAGE from %s to %s: no registration", from->name, target);
		sip_strans_reply(st, x.n ? 500 : 480,
				 x.n ? "Server Internal Error" : "Temporarily Unavailable", NULL,
				 NULL, NULL);
		im->st.failed++;
		free(x.r);
		free(x.forks);
		return true;
	}
	log_info("MESSAGE from %s to %s: %u registration%s", from->name, target, x.n,
		 x.n == 1 ? "" : "s");
	x.r->next = im->relays;
	im->relays = x.r;
	return true;
}

int im_alloc(struct im **imp, struct sip_stack *stack, struct reg *reg, im_auth_h *auth, void *arg)
{
	struct im *im;

	if (!imp || !stack || !reg || !auth)
		return EINVAL;
	im = calloc(1, sizeof(*im));
	if (!im)
		return ENOMEM;
	im->stack = stack;
	im->reg = reg;
	im->auth = auth;
	im->arg = arg;
	*imp = im;
	return 0;
}

void im_free(struct im *im)
{
	if (!im)
		return;
	while (im->relays) {
		struct im_relay *r = im->relays;

		im->relays = r->next;
		/* Their handlers will not run: the forks' arguments go with the relay. */
		for (unsigned i = 0; i < IM_FORKS_MAX; i++) {
			if (r->ct[i])
				sip_ctrans_abandon(r->ct[i]);
		}
		free(r->forks);
		free(r);
	}
	free(im);
}

void im_set_peer_exists(struct im *im, im_peer_exists_h *h, void *arg)
{
	if (im) {
		im->exists = h;
		im->exists_arg = arg;
	}
}

void im_stats_get(const struct im *im, struct im_stats *out)
{
	if (im && out)
		*out = im->st;
}
