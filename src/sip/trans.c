/* trans: SIP server and client transactions (RFC 3261 §17, §9 CANCEL, RFC 6026 Accepted state),
 * their matching rules (§17.1.3, §17.2.3 with the RFC 2543 fallback) and timers A-M. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "sip"
#include "trans_int.h"

enum strans_state {
	STRANS_TRYING,	   /* non-INVITE, nothing sent yet */
	STRANS_PROCEEDING, /* INVITE from the start; non-INVITE after a provisional */
	STRANS_COMPLETED,  /* final sent (INVITE: non-2xx, waiting for the ACK) */
	STRANS_CONFIRMED,  /* INVITE: ACK received, timer I absorbs ACK retransmissions */
	STRANS_ACCEPTED,   /* INVITE: 2xx sent (RFC 6026), timer L */
};

/* A server transaction is one allocation from the start to the end of its timers: the fixed
 * record below with the §17.2.3 key and the To tag copied behind it (kb). What only a transaction
 * still being answered needs (the request, the response buffer, timer G, the cancel handler)
 * lives in `lv`, freed when it is compacted (docs/TRANSACTIONS.md, Compaction); what a Completed
 * one needs to send its final again lives in `rs`. */
struct strans_live {
	struct sip_msg *msg; /* the request that created it (referenced); NULL once compacted */
	struct mbuf resp;    /* last response sent, for retransmissions */
	struct loop_timer tmr_retx; /* INVITE: the 200 ms 100 Trying, then timer G; compaction */
	uint64_t g_ival;
	sip_cancel_h *cancelh;
	void *cancel_arg;
};

/* A compacted Completed transaction's last response: where it goes (conn referenced) and its
 * bytes; none (len 0) for a plain "200 OK", rebuilt from the retransmitted request instead. */
struct strans_resend {
	struct sip_resp_route route;
	size_t len;
	uint8_t bytes[];
};

struct sip_strans {
	struct le le; /* le.key: branch hash (cookie) or Call-ID hash */
	struct sip_stack *stack;
	struct strans_live *lv;	   /* NULL once compacted (kept while timer G runs) */
	struct strans_resend *rs;  /* compacted and still resending */
	struct loop_timer tmr_end; /* H, I, J, L */
	/* Key lengths in kb; the method's only if SIP_METHOD_OTHER. */
	uint32_t branch_l, host_l, method_l;
	uint16_t port; /* sent-by port */
	uint16_t code; /* last status code, 0 before any */
	enum sip_method mid;
	uint8_t state; /* enum strans_state */
	bool cookie;   /* branch carries z9hG4bK: match by branch, else RFC 2543 rules */
	bool invite;
	bool reliable;
	bool stateless; /* answered by sip_strans_reply_stateless: ends next turn, no compaction */
	bool plain_ok;	/* non-INVITE answered "200 OK" with no extra header or body: once
			 * compacted, a retransmission gets it rebuilt from its own request
			 * (same Via, From, To, Call-ID, CSeq: the same bytes), not kept */
	char kb[];	/* branch, sent-by host, method, To tag + NUL */
};

/* A tomb: what a compacted Accepted INVITE (timer L) or Completed non-INVITE (timer J)
 * transaction still needs for its 32 s, without the record's list element, timer and
 * allocation header: its §17.2.3 key and To tag (kb, as in the record), the state and code, and
 * a Completed one's last response (rs). The record is freed when its tomb is made (the loop turn
 * after the final response); tombs live in the stack's own table and expire in FIFO order, all
 * with the same delay (64*T1), on one timer (docs/TRANSACTIONS.md, Compaction). Neither state
 * changes again: an Accepted INVITE absorbs retransmissions and leaves ACKs to the TU, a
 * Completed non-INVITE resends its final. About 110 bytes instead of 240 per transaction: at
 * 200 calls/s of 2-s calls 12,800 of them are alive. */
struct strans_tomb {
	struct strans_tomb *hnext; /* next in its bucket */
	struct strans_tomb *qnext; /* next to expire */
	struct strans_resend *rs;  /* Completed: route and bytes (len 0: a plain 200 OK) */
	uint64_t expires;	   /* the record's timer L or J, loop clock */
	uint32_t hkey;		   /* branch hash, as the record's le.key */
	uint16_t port;
	uint16_t code;
	uint8_t mid;
	uint8_t state;
	bool plain_ok;
	uint8_t branch_l, host_l, method_l;
	char kb[];
};

enum ctrans_state {
	CTRANS_CALLING, /* "Trying" for non-INVITE */
	CTRANS_PROCEEDING,
	CTRANS_COMPLETED,
	CTRANS_ACCEPTED, /* INVITE got a 2xx (RFC 6026), timer M */
	CTRANS_TERMINATED,
};

/* A client transaction is, like a server one, a fixed record with its §17.1.3 key behind it
 * (kb: branch, then the CSeq method if SIP_METHOD_OTHER) and a part only a pending transaction
 * needs (`lv`: our request, where it goes, timers A/E, the CANCEL's reason), freed once a final
 * response has come; an INVITE's Completed one keeps it for the ACK (without the request). */
struct ctrans_live {
	uint8_t *raw; /* our own request as it goes on the wire; NULL once a final response came */
	size_t raw_len;
	struct sip_msg *req; /* raw parsed, only once a CANCEL, an ACK or a log line needs its
			      * fields (ctrans_req) */
	enum sip_transport type;
	union sip_sockaddr dst;
	union sip_sockaddr src; /* local address to send from (unset: the kernel's choice) */
	uint64_t retx_ival;
	struct loop_timer tmr_retx; /* A, E */
	struct mbuf ack; /* INVITE: the ACK for a non-2xx final, resent on retransmission */
	char *cancel_reason;
};

struct sip_ctrans {
	struct le le;
	struct sip_stack *stack;
	struct ctrans_live *lv;	   /* NULL once compacted (an INVITE's Completed one keeps it) */
	struct loop_timer tmr_end; /* B, F, D, K, M, and the §9.1 wait after CANCEL */
	sip_response_h *h;
	void *arg;
	uint32_t branch_l, method_l; /* key lengths in kb */
	enum sip_method k_mid;	     /* CSeq method */
	uint8_t state;		     /* enum ctrans_state */
	bool invite;
	bool reliable;
	bool cancel_pending; /* CANCEL asked for before any provisional */
	bool cancel_sent;
	char kb[];
};

bool sip_branch_has_cookie(const struct pl *branch)
{
	return branch && branch->p && branch->l > 7 && memcmp(branch->p, "z9hG4bK", 7) == 0;
}

/* Tags are tokens, compared case-insensitively; an absent tag equals only an absent tag. */
static bool tag_eq(const struct pl *a, const struct pl *b)
{
	return pl_casecmp(a, b) == 0;
}

static bool via_eq(const struct sip_via *a, const struct sip_via *b)
{
	return a->tp == b->tp && pl_casecmp(&a->host, &b->host) == 0 && a->port == b->port &&
	       pl_casecmp(&a->params, &b->params) == 0;
}

static bool ruri_eq(const struct sip_msg *a, const struct sip_msg *b)
{
	if (a->uri_ok && b->uri_ok)
		return sip_uri_eq(&a->uri, &b->uri);
	return pl_cmp(&a->ruri, &b->ruri) == 0;
}

static uint32_t strans_key(const struct sip_msg *req)
{
	if (sip_branch_has_cookie(&req->via.branch))
		return hash_pl_case(&req->via.branch);
	return hash_bytes(req->call_id.p, req->call_id.l);
}

/* ---------------------------------------------------------------------------------------------
 * Server transactions
 */

enum strans_match {
	MATCH_SAME,   /* a retransmission of the request */
	MATCH_ACK,    /* an ACK for the INVITE */
	MATCH_CANCEL, /* the INVITE a CANCEL is about */
};

static struct pl strans_branch(const struct sip_strans *st)
{
	return pl_from(st->kb, st->branch_l);
}

static const char *strans_totag(const struct sip_strans *st)
{
	return st->kb + st->branch_l + st->host_l + st->method_l;
}

/* RFC 3261 §17.2.3, and §9.2 for CANCEL. */
static bool strans_match(const struct sip_strans *st, const struct sip_msg *req,
			 enum strans_match how)
{
	const struct sip_msg *orig = st->lv ? st->lv->msg : NULL;
	bool cookie = sip_branch_has_cookie(&req->via.branch);

	if (how == MATCH_SAME) {
		if (st->mid != req->mid) {
			return false;
		} else if (st->mid == SIP_METHOD_OTHER) {
			struct pl m = pl_from(st->kb + st->branch_l + st->host_l, st->method_l);

			if (pl_cmp(&m, &req->method) != 0)
				return false;
		}
	} else if (st->mid != SIP_METHOD_INVITE) {
		return false;
	}

	if (cookie != st->cookie)
		return false;
	if (cookie) {
		struct pl branch = strans_branch(st);
		struct pl host = pl_from(st->kb + st->branch_l, st->host_l);

		return pl_casecmp(&branch, &req->via.branch) == 0 &&
		       pl_casecmp(&host, &req->via.host) == 0 && st->port == req->via.port;
	}
	if (!orig)
		return false; /* never: only cookie transactions are compacted */

	/* RFC 2543 peers: the dialog and transaction identifiers instead of the branch. */
	if (!ruri_eq(orig, req) || pl_cmp(&orig->call_id, &req->call_id) != 0 ||
	    orig->cseq.num != req->cseq.num || !tag_eq(&orig->from.tag, &req->from.tag) ||
	    !via_eq(&orig->via, &req->via))
		return false;
	if (how == MATCH_ACK) {
		/* The ACK carries the To tag of our response, not of the INVITE. */
		struct pl ours = pl_from_str(strans_totag(st));

		return st->code > 100 ? tag_eq(&ours, &req->to.tag)
				      : tag_eq(&orig->to.tag, &req->to.tag);
	}
	return tag_eq(&orig->to.tag, &req->to.tag);
}

static struct sip_strans *strans_find(struct sip_stack *stack, const struct sip_msg *req,
				      enum strans_match how)
{
	uint32_t key = strans_key(req);
	struct list *bucket = htab_bucket(&stack->stab, key);

	LIST_FOREACH(bucket, le)
	{
		struct sip_strans *st = le->data;

		if (le->key == key && strans_match(st, req, how))
			return st;
	}
	return NULL;
}

static void strans_drop_live(struct sip_strans *st)
{
	struct strans_live *lv = st->lv;

	if (!lv)
		return;
	loop_timer_cancel(&lv->tmr_retx);
	mem_deref(lv->msg);
	mbuf_reset(&lv->resp);
	free(lv);
	st->lv = NULL;
}

static void strans_drop_resend(struct sip_strans *st)
{
	if (!st->rs)
		return;
	mem_deref(st->rs->route.conn);
	free(st->rs);
	st->rs = NULL;
}

static void strans_destroy(void *data)
{
	struct sip_strans *st = data;

	loop_timer_cancel(&st->tmr_end);
	htab_unlink(&st->stack->stab, &st->le);
	strans_drop_live(st);
	strans_drop_resend(st);
}

/* Compaction (docs/TRANSACTIONS.md): once the final response is out, a transaction matched by
 * its branch needs only its fixed record (key and To tag) and, while Completed, the route and
 * bytes of its last response; the request goes (a TU that still wants it holds its own
 * reference). Run from a timer handler, the turn after the final response, so no TU callback
 * still holds the borrowed message. RFC 2543 transactions (no cookie) keep the request: their
 * matching compares half of it. */
static void strans_compact(struct sip_strans *st)
{
	struct strans_live *lv = st->lv;
	/* Only a Completed transaction sends its final again; Accepted (RFC 6026: the TU resends
	 * its 2xx) and Confirmed ones only absorb requests. */
	bool resend = st->state == STRANS_COMPLETED;

	if (!lv || !lv->msg || !st->cookie)
		return;
	if (resend) {
		/* A plain 200 OK (a BYE's, mostly) is rebuilt when needed: about 400 bytes less
		 * per finished call for 32 s (timer J). */
		size_t len = st->plain_ok ? 0 : lv->resp.end;
		struct strans_resend *rs = malloc(sizeof(*rs) + len);

		if (!rs)
			return; /* keeps the request: no harm */
		sip_resp_route_set(&rs->route, lv->msg);
		rs->route.conn = sip_conn_ref(rs->route.conn);
		rs->len = len;
		if (rs->len)
			memcpy(rs->bytes, lv->resp.buf, rs->len);
		st->rs = rs;
	}
	if (resend && st->invite && !st->reliable) {
		/* Timer G still runs from lv: only the request and the buffer go. */
		lv->msg = mem_deref(lv->msg);
		mbuf_reset(&lv->resp);
		lv->cancelh = NULL;
		lv->cancel_arg = NULL;
	} else {
		strans_drop_live(st);
	}
}

/* ---- Tombs (struct strans_tomb above) */

static const char *tomb_totag(const struct strans_tomb *tb)
{
	return tb->kb + tb->branch_l + tb->host_l + tb->method_l;
}

static void tomb_free(struct strans_tomb *tb)
{
	if (tb->rs) {
		mem_deref(tb->rs->route.conn);
		free(tb->rs);
	}
	free(tb);
}

/* Doubles the table (first: SIP_TRANS_BUCKETS) once it holds as many tombs as buckets. */
static int tomb_grow(struct sip_stack *stack)
{
	size_t nb = stack->tomb_nb ? stack->tomb_nb * 2 : SIP_TRANS_BUCKETS;
	struct strans_tomb **t = calloc(nb, sizeof(*t));

	if (!t)
		return ENOMEM;
	for (size_t i = 0; i < stack->tomb_nb; i++) {
		struct strans_tomb *tb = stack->tombs[i], *next;

		for (; tb; tb = next) {
			next = tb->hnext;
			tb->hnext = t[tb->hkey & (nb - 1)];
			t[tb->hkey & (nb - 1)] = tb;
		}
	}
	free(stack->tombs);
	stack->tombs = t;
	stack->tomb_nb = nb;
	return 0;
}

static void tomb_unlink(struct sip_stack *stack, struct strans_tomb *tb)
{
	struct strans_tomb **pp = &stack->tombs[tb->hkey & (stack->tomb_nb - 1)];

	while (*pp && *pp != tb)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = tb->hnext;
}

/* Timer L/J of the tombs at the head of the FIFO. */
static void tomb_expire_h(void *arg)
{
	struct sip_stack *stack = arg;
	uint64_t now = loop_now(stack->loop);
	struct strans_tomb *tb;

	while ((tb = stack->tomb_head) && tb->expires <= now) {
		stack->tomb_head = tb->qnext;
		if (!stack->tomb_head)
			stack->tomb_tail = NULL;
		tomb_unlink(stack, tb);
		stack->tomb_n--;
		tomb_free(tb);
	}
	if (tb && loop_timer_start_lazy(stack->loop, &stack->tomb_tmr, tb->expires - now,
					tomb_expire_h, stack))
		loop_timer_start(stack->loop, &stack->tomb_tmr, 0, tomb_expire_h, stack);
}

/* Replaces a compacted Accepted INVITE or Completed non-INVITE transaction (a cookie one, that
 * nobody else holds) by a tomb, and frees it. Anything else, or no memory, or a timer out of the
 * FIFO's order (T1 changed by a reload): the record stays, as before. */
static void strans_bury(struct sip_strans *st)
{
	struct sip_stack *stack = st->stack;
	struct strans_tomb *tb;
	size_t kl;
	uint64_t expires = st->tmr_end.expires;

	if (st->lv || !st->cookie || mem_nrefs(st) != 1 || !loop_timer_active(&st->tmr_end))
		return;
	if (st->state != STRANS_ACCEPTED && (st->state != STRANS_COMPLETED || st->invite))
		return;
	if (st->branch_l > UINT8_MAX || st->host_l > UINT8_MAX || st->method_l > UINT8_MAX ||
	    st->mid > UINT8_MAX)
		return;
	/* Due already (a late compaction): the record's own timer ends it in this run. */
	if (expires <= loop_now(stack->loop) ||
	    (stack->tomb_tail && stack->tomb_tail->expires > expires))
		return;
	if (stack->tomb_n >= stack->tomb_nb && tomb_grow(stack))
		return;
	kl = st->branch_l + st->host_l + st->method_l + strlen(strans_totag(st)) + 1;
	tb = malloc(sizeof(*tb) + kl);
	if (!tb)
		return;
	tb->hnext = stack->tombs[st->le.key & (stack->tomb_nb - 1)];
	tb->qnext = NULL;
	tb->rs = st->rs;
	st->rs = NULL;
	tb->expires = expires;
	tb->hkey = st->le.key;
	tb->port = st->port;
	tb->code = st->code;
	tb->mid = (uint8_t)st->mid;
	tb->state = st->state;
	tb->plain_ok = st->plain_ok;
	tb->branch_l = (uint8_t)st->branch_l;
	tb->host_l = (uint8_t)st->host_l;
	tb->method_l = (uint8_t)st->method_l;
	memcpy(tb->kb, st->kb, kl);
	stack->tombs[st->le.key & (stack->tomb_nb - 1)] = tb;
	if (stack->tomb_tail) {
		stack->tomb_tail->qnext = tb;
	} else {
		stack->tomb_head = tb;
		if (loop_timer_start_lazy(stack->loop, &stack->tomb_tmr,
					  expires - loop_now(stack->loop), tomb_expire_h, stack))
			loop_timer_start(stack->loop, &stack->tomb_tmr, 0, tomb_expire_h, stack);
	}
	stack->tomb_tail = tb;
	stack->tomb_n++;
	mem_deref(st); /* cancels its timer, leaves the table */
}

/* §17.2.3 for a tomb: a cookie branch, sent-by, and the method (INVITE for ACK and CANCEL). */
static struct strans_tomb *tomb_find(struct sip_stack *stack, const struct sip_msg *req,
				     enum strans_match how)
{
	uint32_t key;

	if (!stack->tomb_n || !sip_branch_has_cookie(&req->via.branch))
		return NULL;
	key = hash_pl_case(&req->via.branch);
	for (struct strans_tomb *tb = stack->tombs[key & (stack->tomb_nb - 1)]; tb;
	     tb = tb->hnext) {
		struct pl branch = pl_from(tb->kb, tb->branch_l);
		struct pl host = pl_from(tb->kb + tb->branch_l, tb->host_l);

		if (tb->hkey != key)
			continue;
		if (how == MATCH_SAME) {
			struct pl m = pl_from(tb->kb + tb->branch_l + tb->host_l, tb->method_l);

			if (tb->mid != req->mid ||
			    (tb->mid == SIP_METHOD_OTHER && pl_cmp(&m, &req->method) != 0))
				continue;
		} else if (tb->mid != SIP_METHOD_INVITE) {
			continue;
		}
		if (pl_casecmp(&branch, &req->via.branch) == 0 &&
		    pl_casecmp(&host, &req->via.host) == 0 && tb->port == req->via.port)
			return tb;
	}
	return NULL;
}

static void tomb_flush(struct sip_stack *stack)
{
	struct strans_tomb *tb, *next;

	loop_timer_cancel(&stack->tomb_tmr);
	for (tb = stack->tomb_head; tb; tb = next) {
		next = tb->qnext;
		tomb_free(tb);
	}
	free(stack->tombs);
	stack->tombs = NULL;
	stack->tomb_nb = stack->tomb_n = 0;
	stack->tomb_head = stack->tomb_tail = NULL;
}

static void strans_compact_h(void *arg)
{
	strans_compact(arg);
	strans_bury(arg);
}

/* Only timer handlers and sip_stack_free end a server transaction, never a call the TU makes,
 * so st stays valid for the rest of any TU callback. */
static void strans_terminate(struct sip_strans *st)
{
	mem_deref(st);
}

/* Sends a compacted transaction's last response again (rs: its route and bytes; none for a
 * plain 200 OK, rebuilt from req, the retransmitted request, with totag). */
static int resend_rs(struct sip_stack *stack, const struct strans_resend *rs, bool plain_ok,
		     const char *totag, const struct sip_msg *req)
{
	struct mbuf mb;
	int err;

	if (rs->len || !plain_ok)
		return sip_transp_send_route(stack->tp, &rs->route, rs->bytes, rs->len);
	if (!req)
		return 0;
	mbuf_init(&mb);
	err = sip_build_response(&mb, req, 200, "OK", totag, NULL, NULL, NULL);
	if (!err)
		err = sip_transp_send_route(stack->tp, &rs->route, mb.buf, mb.end);
	mbuf_reset(&mb);
	return err;
}

/* Sends the last response again; req: the retransmitted request (NULL from timer G), which a
 * compacted plain 200 OK is rebuilt from. */
static void strans_send_last(struct sip_strans *st, const struct sip_msg *req)
{
	int err;

	if (st->lv && st->lv->msg)
		err = sip_transp_send_response(st->stack->tp, st->lv->msg, st->lv->resp.buf,
					       st->lv->resp.end);
	else if (st->rs)
		err = resend_rs(st->stack, st->rs, st->plain_ok, strans_totag(st), req);
	else
		return;

	if (err)
		log_debug("response %u retransmission failed: %s", st->code, strerror(err));
}

static void strans_retx_h(void *arg)
{
	struct sip_strans *st = arg;
	struct strans_live *lv;

	if (st->state == STRANS_PROCEEDING && st->code == 0) {
		/* §17.2.1: the TU was silent for 200 ms; stop the client's retransmissions. */
		sip_strans_reply(st, 100, "Trying", NULL, NULL, NULL);
		return;
	}
	if (st->state != STRANS_COMPLETED)
		return;
	/* Timer G: T1, doubling, capped at T2 (§17.2.1). Its first run is the compaction's
	 * turn for an INVITE answered non-2xx over UDP. */
	strans_compact(st);
	strans_send_last(st, NULL);
	lv = st->lv;
	if (!lv)
		return;
	lv->g_ival = MIN(lv->g_ival * 2, st->stack->t2);
	loop_timer_start(st->stack->loop, &lv->tmr_retx, lv->g_ival, strans_retx_h, st);
}

static void strans_end_h(void *arg)
{
	struct sip_strans *st = arg;

	if (st->invite && st->state == STRANS_COMPLETED) {
		struct pl branch = strans_branch(st);

		log_info("no ACK for %u to INVITE (branch %.*s): timer H", st->code,
			 PL_ARG(branch));
	}
	strans_terminate(st);
}

/* tag: the To tag to answer with (NULL: the request's, else a new one). */
static int strans_alloc(struct sip_strans **stp, struct sip_stack *stack, struct sip_msg *req,
			const char *tag)
{
	struct sip_strans *st;
	char newtag[24];
	size_t ml = req->mid == SIP_METHOD_OTHER ? req->method.l : 0;
	size_t tl;
	char *p;

	/* An in-dialog request already names our tag; otherwise this transaction picks one. */
	if (!tag && req->to_ok && pl_isset(&req->to.tag)) {
		tl = req->to.tag.l;
	} else {
		if (!tag) {
			sip_tag_new(newtag, sizeof(newtag));
			tag = newtag;
		}
		tl = strlen(tag);
	}
	if (req->via.branch.l > UINT32_MAX || req->via.host.l > UINT32_MAX)
		return EMSGSIZE;
	st = mem_zalloc(sizeof(*st) + req->via.branch.l + req->via.host.l + ml + tl + 1,
			strans_destroy);
	if (!st)
		return ENOMEM;
	st->stack = stack;
	st->lv = mem_zmalloc(sizeof(*st->lv));
	if (!st->lv) {
		mem_deref(st);
		return ENOMEM;
	}
	st->lv->msg = mem_ref(req);
	mbuf_init(&st->lv->resp);
	p = st->kb;
	if (req->via.branch.l)
		memcpy(p, req->via.branch.p, req->via.branch.l);
	p += req->via.branch.l;
	if (req->via.host.l)
		memcpy(p, req->via.host.p, req->via.host.l);
	p += req->via.host.l;
	if (ml)
		memcpy(p, req->method.p, ml);
	p += ml;
	if (tl)
		memcpy(p, tag ? tag : req->to.tag.p, tl);
	p[tl] = '\0';
	st->branch_l = (uint32_t)req->via.branch.l;
	st->host_l = (uint32_t)req->via.host.l;
	st->method_l = (uint32_t)ml;
	st->port = req->via.port;
	st->mid = req->mid;
	st->cookie = sip_branch_has_cookie(&req->via.branch);
	st->invite = req->mid == SIP_METHOD_INVITE;
	st->reliable = sip_transport_reliable(req->tp);
	st->state = st->invite ? STRANS_PROCEEDING : STRANS_TRYING;
	if (st->invite) {
		int err = loop_timer_start(stack->loop, &st->lv->tmr_retx, 200, strans_retx_h, st);

		if (err) {
			mem_deref(st);
			return err;
		}
	}
	htab_add(&stack->stab, &st->le, strans_key(req), st);
	*stp = st;
	return 0;
}

/* Sends a response and moves the state machine. Takes the bytes out of mb. */
static int strans_send(struct sip_strans *st, uint16_t code, struct mbuf *mb)
{
	struct sip_stack *stack = st->stack;
	struct strans_live *lv = st->lv;
	struct mbuf old;
	int err;

	if (st->state != STRANS_TRYING && st->state != STRANS_PROCEEDING)
		return EALREADY;

	old = lv->resp;
	lv->resp = *mb;
	*mb = old;
	st->code = code;
	err = sip_transp_send_response(stack->tp, lv->msg, lv->resp.buf, lv->resp.end);
	if (err)
		log_info("sending %u to %.*s failed: %s", code, PL_ARG(lv->msg->method),
			 strerror(err));

	if (code < 200) {
		if (st->invite)
			loop_timer_cancel(&lv->tmr_retx);
		st->state = STRANS_PROCEEDING;
		return 0;
	}

	loop_timer_cancel(&lv->tmr_retx);
	/* Compaction on the next timer run (tmr_retx is free in these states; an INVITE's
	 * timer G compacts on its first run). A final over TCP to a non-INVITE ends the
	 * transaction on the next turn anyway. */
	if (st->invite && code < 300) {
		/* RFC 6026 §7.1: the TU retransmits the 2xx; we absorb INVITE retransmissions
		 * for timer L. */
		st->state = STRANS_ACCEPTED;
		err = loop_timer_start_lazy(stack->loop, &st->tmr_end, 64 * (uint64_t)stack->t1,
					    strans_end_h, st);
		loop_timer_start(stack->loop, &lv->tmr_retx, 0, strans_compact_h, st);
	} else if (st->invite) {
		st->state = STRANS_COMPLETED;
		if (!st->reliable) {
			lv->g_ival = stack->t1;
			err = loop_timer_start(stack->loop, &lv->tmr_retx, lv->g_ival,
					       strans_retx_h, st);
		} else {
			err = loop_timer_start(stack->loop, &lv->tmr_retx, 0, strans_compact_h, st);
		}
		if (!err)
			err = loop_timer_start(stack->loop, &st->tmr_end, 64 * (uint64_t)stack->t1,
					       strans_end_h, st);
	} else {
		st->state = STRANS_COMPLETED;
		err = st->reliable ? loop_timer_start(stack->loop, &st->tmr_end, 0, strans_end_h, st)
				   : loop_timer_start_lazy(stack->loop, &st->tmr_end,
							   64 * (uint64_t)stack->t1, strans_end_h,
							   st);
		if (!st->reliable && !st->stateless)
			loop_timer_start(stack->loop, &lv->tmr_retx, 0, strans_compact_h, st);
	}
	/* A timer that cannot be armed would leave the transaction forever: end it at once. */
	if (err) {
		log_error("transaction timer failed: %s", strerror(err));
		loop_timer_cancel(&lv->tmr_retx);
		loop_timer_start(stack->loop, &st->tmr_end, 0, strans_end_h, st);
	}
	return 0;
}

int sip_strans_reply(struct sip_strans *st, uint16_t code, const char *reason, const char *extra,
		     const char *ctype, const struct pl *body)
{
	struct mbuf mb;
	int err;

	if (!st || code < 100 || code > 699)
		return EINVAL;
	if (st->state != STRANS_TRYING && st->state != STRANS_PROCEEDING)
		return EALREADY;
	mbuf_init(&mb);
	err = sip_build_response(&mb, st->lv->msg, code, reason, strans_totag(st), extra, ctype,
				 body);
	st->plain_ok = !err && code == 200 && !st->invite && reason && !strcmp(reason, "OK") &&
		       !extra && !ctype && (!body || !body->l);
	if (!err)
		err = strans_send(st, code, &mb);
	mbuf_reset(&mb);
	return err;
}

int sip_strans_reply_stateless(struct sip_strans *st, uint16_t code, const char *reason,
			       const char *extra, const char *ctype, const struct pl *body)
{
	int err;

	if (!st || code < 200 || st->invite)
		return sip_strans_reply(st, code, reason, extra, ctype, body);
	st->stateless = true;
	err = sip_strans_reply(st, code, reason, extra, ctype, body);
	if (err) {
		st->stateless = false;
		return err;
	}
	/* Out of the table now, so a retransmission is a new request; freed on the next timer
	 * run, so st stays valid for the rest of the TU's callback. */
	htab_unlink(&st->stack->stab, &st->le);
	loop_timer_cancel(&st->lv->tmr_retx);
	loop_timer_start(st->stack->loop, &st->tmr_end, 0, strans_end_h, st);
	return 0;
}

int sip_strans_reply_raw(struct sip_strans *st, uint16_t code, const struct mbuf *resp)
{
	struct mbuf mb;
	int err;

	if (!st || !resp || code < 100 || code > 699)
		return EINVAL;
	if (st->state != STRANS_TRYING && st->state != STRANS_PROCEEDING)
		return EALREADY;
	st->plain_ok = false; /* bytes the stack cannot rebuild */
	mbuf_init(&mb);
	err = mbuf_write(&mb, resp->buf, resp->end);
	if (!err)
		err = strans_send(st, code, &mb);
	mbuf_reset(&mb);
	return err;
}

const struct sip_msg *sip_strans_msg(const struct sip_strans *st)
{
	return st && st->lv ? st->lv->msg : NULL;
}

const char *sip_strans_totag(const struct sip_strans *st)
{
	return st ? strans_totag(st) : NULL;
}

void sip_strans_set_cancel_handler(struct sip_strans *st, sip_cancel_h *h, void *arg)
{
	if (!st || !st->lv)
		return;
	st->lv->cancelh = h;
	st->lv->cancel_arg = arg;
}

static void strans_ack(struct sip_strans *st, struct sip_msg *ack)
{
	struct sip_stack *stack = st->stack;

	switch (st->state) {
	case STRANS_COMPLETED:
		/* §17.2.1: Confirmed; timer I soaks up ACK retransmissions. */
		st->state = STRANS_CONFIRMED;
		if (st->lv && st->lv->msg) {
			/* Not compacted yet when the ACK beat timer G's first run: on the next
			 * one. */
			loop_timer_cancel(&st->lv->tmr_retx);
			loop_timer_start(stack->loop, &st->lv->tmr_retx, 0, strans_compact_h, st);
		} else {
			/* Compacted: a Confirmed transaction never sends again. */
			strans_drop_live(st);
			strans_drop_resend(st);
		}
		if (st->reliable ? loop_timer_start(stack->loop, &st->tmr_end, 0, strans_end_h, st)
				 : loop_timer_start_lazy(stack->loop, &st->tmr_end, stack->t4,
							 strans_end_h, st))
			loop_timer_start(stack->loop, &st->tmr_end, 0, strans_end_h, st);
		break;
	case STRANS_ACCEPTED:
		/* RFC 6026 §8.7: an ACK for the 2xx is the TU's (rare with the same branch). */
		stack->reqh(stack, NULL, ack, stack->arg);
		break;
	default:
		log_debug("ACK absorbed by INVITE transaction");
		break;
	}
}

static void strans_retransmission(struct sip_strans *st, const struct sip_msg *req)
{
	switch (st->state) {
	case STRANS_PROCEEDING:
		if (st->code)
			strans_send_last(st, req);
		break;
	case STRANS_COMPLETED:
		strans_send_last(st, req);
		break;
	default:
		/* Trying: the TU has not answered yet. Confirmed, Accepted: absorbed (a 2xx is
		 * retransmitted by the TU, RFC 6026 §8.5). */
		break;
	}
}

/* §9.2: the CANCEL has its own transaction cst (answering with the To tag of ist, the INVITE
 * it cancels, when found); that INVITE, if still pending, goes to the TU's cancel handler (or
 * is answered 487 when the TU set none). */
static void strans_cancel(struct sip_strans *cst, struct sip_strans *ist)
{
	if (!ist) {
		sip_strans_reply(cst, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL);
		return;
	}
	sip_strans_reply(cst, 200, "OK", NULL, NULL, NULL);
	if (ist->state != STRANS_PROCEEDING)
		return; /* already answered: the CANCEL has no effect */
	if (ist->lv->cancelh) {
		mem_ref(ist);
		ist->lv->cancelh(ist, cst->lv->msg, ist->lv->cancel_arg);
		mem_deref(ist);
	} else {
		sip_strans_reply(ist, 487, "Request Terminated", NULL, NULL, NULL);
	}
}

void sip_strans_recv_request(struct sip_stack *stack, struct sip_msg *req)
{
	struct sip_strans *st, *ist = NULL;
	struct strans_tomb *tb = NULL;
	int err;

	if (req->mid == SIP_METHOD_ACK) {
		st = strans_find(stack, req, MATCH_ACK);
		if (st)
			strans_ack(st, req);
		else
			stack->reqh(stack, NULL, req, stack->arg);
		return;
	}

	st = strans_find(stack, req, MATCH_SAME);
	if (st) {
		strans_retransmission(st, req);
		return;
	}
	tb = tomb_find(stack, req, MATCH_SAME);
	if (tb) {
		/* Accepted: absorbed; Completed: the final again. */
		if (tb->state == STRANS_COMPLETED && tb->rs &&
		    (err = resend_rs(stack, tb->rs, tb->plain_ok, tomb_totag(tb), req)))
			log_debug("response %u retransmission failed: %s", tb->code, strerror(err));
		return;
	}

	if (req->mid == SIP_METHOD_INVITE && req->to_ok && !pl_isset(&req->to.tag) &&
	    sip_transp_overloaded(stack->tp)) {
		/* Overload (RFC 6357): a new call is refused before any state is made for it, so a
		 * refusal costs a small fraction of a call; its retransmissions get the same. */
		stack->n_shed++;
		sip_stack_reply_stateless(stack, req, 503, "Service Unavailable",
					  "Retry-After: 2\r\n");
		return;
	}
	/* §9.2: the To tag of the CANCEL's response SHOULD equal that of the INVITE's. */
	if (req->mid == SIP_METHOD_CANCEL) {
		ist = strans_find(stack, req, MATCH_CANCEL);
		if (!ist)
			tb = tomb_find(stack, req, MATCH_CANCEL);
	}
	err = strans_alloc(&st, stack, req, ist ? strans_totag(ist) : tb ? tomb_totag(tb) : NULL);
	if (err) {
		/* Dropped: the client retransmits, and memory may be back by then. */
		log_warn("no server transaction for %.*s: %s", PL_ARG(req->method), strerror(err));
		return;
	}
	if (req->mid == SIP_METHOD_CANCEL) {
		if (tb) /* its INVITE was answered (Accepted): no effect (§9.2) */
			sip_strans_reply(st, 200, "OK", NULL, NULL, NULL);
		else
			strans_cancel(st, ist);
		return;
	}
	mem_ref(st);
	stack->reqh(stack, st, st->lv->msg, stack->arg);
	mem_deref(st);
}

/* ---------------------------------------------------------------------------------------------
 * Client transactions
 */

static void ctrans_drop_live(struct sip_ctrans *ct)
{
	struct ctrans_live *lv = ct->lv;

	if (!lv)
		return;
	loop_timer_cancel(&lv->tmr_retx);
	mem_deref(lv->req);
	free(lv->raw);
	mbuf_reset(&lv->ack);
	free(lv->cancel_reason);
	free(lv);
	ct->lv = NULL;
}

static void ctrans_destroy(void *data)
{
	struct sip_ctrans *ct = data;

	loop_timer_cancel(&ct->tmr_end);
	htab_unlink(&ct->stack->ctab, &ct->le);
	ctrans_drop_live(ct);
}

/* A final response has come (Completed, Accepted): from here on the transaction only matches
 * responses (branch, CSeq method, in its record), resends a prebuilt ACK (INVITE Completed: the
 * only state that keeps lv, for the ACK and its destination) and reports 2xx; our request goes.
 * Its message is private (the TU never sees it), so this needs no deferral. */
static void ctrans_compact(struct sip_ctrans *ct)
{
	if (!ct->lv)
		return;
	if (ct->invite && ct->state == CTRANS_COMPLETED) {
		ct->lv->req = mem_deref(ct->lv->req);
		free(ct->lv->raw);
		ct->lv->raw = NULL;
		free(ct->lv->cancel_reason);
		ct->lv->cancel_reason = NULL;
	} else {
		ctrans_drop_live(ct);
	}
}

static void ctrans_terminate(struct sip_ctrans *ct)
{
	ct->state = CTRANS_TERMINATED;
	mem_deref(ct);
}

/* The TU's callback, with ct kept alive across it (the TU may abandon or cancel it there). */
static void ctrans_notify(struct sip_ctrans *ct, int err, const struct sip_msg *resp)
{
	if (!ct->h)
		return;
	mem_ref(ct);
	ct->h(err, resp, ct->arg);
	mem_deref(ct);
}

/* now: the first send of a request, whose error the caller acts on (the transport's queue is
 * flushed with it); retransmissions and ACKs may wait for the end of the loop turn. */
static int ctrans_send(struct sip_ctrans *ct, const void *data, size_t len, bool now)
{
	struct sa src, dst;
	bool have_src = sip_sockaddr_get(&src, &ct->lv->src);

	sip_sockaddr_get(&dst, &ct->lv->dst);
	return (now ? sip_transp_send_now : sip_transp_send)(
	    ct->stack->tp, ct->lv->type, NULL, have_src ? &src : NULL, &dst, data, len);
}

/* Our request, parsed on first use: most transactions only need their key, and parsing our
 * own INVITE again cost a tenth of a B2BUA call's work. NULL when the bytes are gone (a final
 * response came) or do not parse. */
static const struct sip_msg *ctrans_req(struct sip_ctrans *ct)
{
	struct sip_parse_error perr = {0};
	size_t used = 0;

	if (!ct->lv || !ct->lv->raw)
		return NULL;
	if (!ct->lv->req &&
	    sip_msg_parse(&ct->lv->req, ct->lv->raw, ct->lv->raw_len, true, &used, &perr))
		ct->lv->req = NULL;
	return ct->lv->req;
}

/* The method and Request-URI of our request, for log lines. */
static struct pl ctrans_req_method(struct sip_ctrans *ct)
{
	const struct sip_msg *req = ctrans_req(ct);

	return req ? req->method : pl_from_str("request");
}

static struct pl ctrans_req_ruri(struct sip_ctrans *ct)
{
	const struct sip_msg *req = ctrans_req(ct);

	return req ? req->ruri : pl_from_str("?");
}

static void ctrans_retx_h(void *arg)
{
	struct sip_ctrans *ct = arg;
	struct sip_stack *stack = ct->stack;
	int err;

	if (ct->state != CTRANS_CALLING && !(ct->state == CTRANS_PROCEEDING && !ct->invite))
		return;
	err = ctrans_send(ct, ct->lv->raw, ct->lv->raw_len, false);
	if (err) {
		struct pl m = ctrans_req_method(ct);

		log_debug("retransmission of %.*s failed: %s", PL_ARG(m), strerror(err));
	}
	if (ct->invite)
		ct->lv->retx_ival *= 2; /* timer A doubles until B ends it (§17.1.1.2) */
	else if (ct->state == CTRANS_PROCEEDING)
		ct->lv->retx_ival = stack->t2; /* §17.1.2.2 */
	else
		ct->lv->retx_ival = MIN(ct->lv->retx_ival * 2, stack->t2);
	loop_timer_start(stack->loop, &ct->lv->tmr_retx, ct->lv->retx_ival, ctrans_retx_h, ct);
}

static void ctrans_end_h(void *arg)
{
	struct sip_ctrans *ct = arg;

	if (ct->state == CTRANS_CALLING || ct->state == CTRANS_PROCEEDING) {
		/* Timer B/F, or no final answer 64*T1 after our CANCEL (§9.1). */
		struct pl m = ctrans_req_method(ct), ruri = ctrans_req_ruri(ct);

		log_info("%.*s to %.*s timed out", PL_ARG(m), PL_ARG(ruri));
		loop_timer_cancel(&ct->lv->tmr_retx);
		ct->state = CTRANS_TERMINATED;
		ctrans_notify(ct, ETIMEDOUT, NULL);
	}
	ctrans_terminate(ct);
}

static int write_hdr_lines(struct mbuf *mb, const struct sip_msg *msg, enum sip_hdr_id id,
			   const char *name)
{
	int err = 0;

	for (size_t i = 0; i < msg->nhdrs && !err; i++) {
		if (msg->hdrs[i].id == id)
			err = mbuf_printf(mb, "%s: %.*s\r\n", name, PL_ARG(msg->hdrs[i].value));
	}
	return err;
}

/* ACK (§17.1.1.3) and CANCEL (§9.1) are built from our own request: same Request-URI,
 * Call-ID, From, CSeq number, the top Via only, and its Route set; the To comes from the
 * response for an ACK and from the request for a CANCEL. */
static int ctrans_build_related(struct mbuf *mb, struct sip_ctrans *ct, const char *method,
				const struct sip_msg *resp, const char *reason)
{
	const struct sip_msg *req = ctrans_req(ct);
	const struct sip_hdr *from, *to;
	int err;

	if (!req)
		return EINVAL;
	from = sip_msg_hdr(req, SIP_HDR_FROM);
	to = sip_msg_hdr(resp ? resp : req, SIP_HDR_TO);
	if (!from || !to)
		return EINVAL;
	err = mbuf_printf(mb, "%s %.*s SIP/2.0\r\nVia: %.*s\r\nMax-Forwards: 70\r\n", method,
			  PL_ARG(req->ruri), PL_ARG(req->via.raw));
	if (!err)
		err = write_hdr_lines(mb, req, SIP_HDR_ROUTE, "Route");
	if (!err)
		err = mbuf_printf(mb, "From: %.*s\r\nTo: %.*s\r\nCall-ID: %.*s\r\nCSeq: %u %s\r\n",
				  PL_ARG(from->value), PL_ARG(to->value), PL_ARG(req->call_id),
				  req->cseq.num, method);
	if (!err && reason && *reason)
		err = mbuf_printf(mb, "Reason: %s\r\n", reason);
	if (!err)
		err = mbuf_write_str(mb, "Content-Length: 0\r\n\r\n");
	return err;
}

static void ctrans_send_cancel(struct sip_ctrans *ct)
{
	struct sip_stack *stack = ct->stack;
	struct mbuf mb;
	struct sa dst;
	int err;

	ct->cancel_pending = false;
	ct->cancel_sent = true;
	sip_sockaddr_get(&dst, &ct->lv->dst);
	mbuf_init(&mb);
	err = ctrans_build_related(&mb, ct, "CANCEL", NULL, ct->lv->cancel_reason);
	if (!err)
		err = sip_ctrans_request(NULL, stack, ct->lv->type, &dst, &mb, NULL, NULL);
	mbuf_reset(&mb);
	if (err) {
		const struct sip_msg *req = ctrans_req(ct);

		log_warn("CANCEL for %.*s failed: %s", PL_ARG(req ? req->call_id : pl_from_str("?")),
			 strerror(err));
	}
	/* §9.1: without a final response 64*T1 after the CANCEL, give the INVITE up. */
	loop_timer_start(stack->loop, &ct->tmr_end, 64 * (uint64_t)stack->t1, ctrans_end_h, ct);
}

static void ctrans_recv_invite(struct sip_ctrans *ct, const struct sip_msg *resp)
{
	struct sip_stack *stack = ct->stack;
	uint16_t code = resp->scode;
	int err;

	switch (ct->state) {
	case CTRANS_CALLING:
	case CTRANS_PROCEEDING:
		loop_timer_cancel(&ct->lv->tmr_retx);
		if (code < 200) {
			/* Timer B only runs in Calling; after a provisional the TU decides how
			 * long to wait (§17.1.1.2). */
			if (ct->state == CTRANS_CALLING)
				loop_timer_cancel(&ct->tmr_end);
			ct->state = CTRANS_PROCEEDING;
			if (ct->cancel_pending)
				ctrans_send_cancel(ct);
			ctrans_notify(ct, 0, resp);
			return;
		}
		ct->cancel_pending = false;
		if (code < 300) {
			ct->state = CTRANS_ACCEPTED;
			err = loop_timer_start_lazy(stack->loop, &ct->tmr_end,
						    64 * (uint64_t)stack->t1, ctrans_end_h, ct);
		} else {
			ct->state = CTRANS_COMPLETED;
			err = ctrans_build_related(&ct->lv->ack, ct, "ACK", resp, NULL);
			if (!err)
				err = ctrans_send(ct, ct->lv->ack.buf, ct->lv->ack.end, false);
			if (err)
				log_info("ACK for %u failed: %s", code, strerror(err));
			/* Timer D: at least 32 s for unreliable transports (§17.1.1.2). */
			err = ct->reliable
				  ? loop_timer_start(stack->loop, &ct->tmr_end, 0, ctrans_end_h, ct)
				  : loop_timer_start_lazy(stack->loop, &ct->tmr_end,
							  MAX(32000, 64 * (uint64_t)stack->t1),
							  ctrans_end_h, ct);
		}
		if (err)
			loop_timer_start(stack->loop, &ct->tmr_end, 0, ctrans_end_h, ct);
		ctrans_compact(ct);
		ctrans_notify(ct, 0, resp);
		return;
	case CTRANS_COMPLETED:
		if (code >= 300 && ct->lv && ct->lv->ack.end) {
			err = ctrans_send(ct, ct->lv->ack.buf, ct->lv->ack.end, false);
			if (err)
				log_debug("ACK retransmission failed: %s", strerror(err));
		}
		return;
	case CTRANS_ACCEPTED:
		/* RFC 6026 §8.4: every 2xx (retransmission or fork) goes to the TU, which
		 * ACKs it. */
		if (code >= 200 && code < 300)
			ctrans_notify(ct, 0, resp);
		return;
	default:
		return;
	}
}

static void ctrans_recv_noninvite(struct sip_ctrans *ct, const struct sip_msg *resp)
{
	struct sip_stack *stack = ct->stack;
	uint16_t code = resp->scode;

	if (ct->state != CTRANS_CALLING && ct->state != CTRANS_PROCEEDING)
		return; /* Completed: retransmitted finals are absorbed */
	if (code < 200) {
		ct->state = CTRANS_PROCEEDING;
		ctrans_notify(ct, 0, resp);
		return;
	}
	ct->state = CTRANS_COMPLETED;
	loop_timer_cancel(&ct->lv->tmr_retx);
	if (ct->reliable ? loop_timer_start(stack->loop, &ct->tmr_end, 0, ctrans_end_h, ct)
			 : loop_timer_start_lazy(stack->loop, &ct->tmr_end, stack->t4, ctrans_end_h,
						 ct))
		loop_timer_start(stack->loop, &ct->tmr_end, 0, ctrans_end_h, ct);
	ctrans_compact(ct);
	ctrans_notify(ct, 0, resp);
}

/* §17.1.3: the branch of the top Via and the CSeq method. */
static struct sip_ctrans *ctrans_find(struct sip_stack *stack, const struct sip_msg *resp)
{
	uint32_t key = hash_pl_case(&resp->via.branch);
	struct list *bucket = htab_bucket(&stack->ctab, key);

	if (!pl_isset(&resp->via.branch))
		return NULL;
	LIST_FOREACH(bucket, le)
	{
		struct sip_ctrans *ct = le->data;
		struct pl branch = pl_from(ct->kb, ct->branch_l);
		struct pl method = pl_from(ct->kb + ct->branch_l, ct->method_l);

		if (le->key == key && pl_casecmp(&branch, &resp->via.branch) == 0 &&
		    ct->k_mid == resp->cseq.mid &&
		    (ct->k_mid != SIP_METHOD_OTHER || pl_cmp(&method, &resp->cseq.method) == 0))
			return ct;
	}
	return NULL;
}

void sip_ctrans_recv_response(struct sip_stack *stack, const struct sip_msg *resp)
{
	struct sip_ctrans *ct = ctrans_find(stack, resp);

	if (!ct) {
		if (stack->strayh) {
			stack->strayh(stack, resp, stack->stray_arg);
		} else {
			log_debug("stray %u response to %.*s dropped", resp->scode,
				  PL_ARG(resp->cseq.method));
		}
		return;
	}
	if (ct->invite)
		ctrans_recv_invite(ct, resp);
	else
		ctrans_recv_noninvite(ct, resp);
}

int sip_ctrans_request(struct sip_ctrans **ctp, struct sip_stack *stack, enum sip_transport type,
		       const struct sa *dst, const struct mbuf *req, sip_response_h *h, void *arg)
{
	return sip_ctrans_request_from(ctp, stack, type, NULL, dst, req, h, arg);
}

/* Starts a client transaction keyed by branch and CSeq method (mid; cseq_method when
 * SIP_METHOD_OTHER). The bytes are copied; they are parsed again only when needed
 * (ctrans_req). */
static int ctrans_start(struct sip_ctrans **ctp, struct sip_stack *stack,
			enum sip_transport type, const struct sa *src, const struct sa *dst,
			const struct mbuf *req, bool invite,
			const struct pl *branch, enum sip_method mid,
			const struct pl *cseq_method, sip_response_h *h, void *arg)
{
	struct sip_ctrans *ct;
	size_t ml = mid == SIP_METHOD_OTHER ? cseq_method->l : 0;
	uint32_t key;
	int err;

	ct = mem_zalloc(sizeof(*ct) + branch->l + ml, ctrans_destroy);
	if (!ct)
		return ENOMEM;
	ct->stack = stack;
	ct->lv = mem_zmalloc(sizeof(*ct->lv));
	if (!ct->lv || !(ct->lv->raw = malloc(req->end))) {
		mem_deref(ct);
		return ENOMEM;
	}
	memcpy(ct->lv->raw, req->buf, req->end);
	ct->lv->raw_len = req->end;
	memcpy(ct->kb, branch->p, branch->l);
	if (ml)
		memcpy(ct->kb + branch->l, cseq_method->p, ml);
	ct->branch_l = (uint32_t)branch->l;
	ct->method_l = (uint32_t)ml;
	ct->k_mid = mid;
	ct->lv->type = type;
	sip_sockaddr_set(&ct->lv->dst, dst);
	if (src && sa_isset(src) && !sa_is_any(src))
		sip_sockaddr_set(&ct->lv->src, src);
	ct->invite = invite;
	ct->reliable = sip_transport_reliable(type);
	ct->state = CTRANS_CALLING;
	ct->h = h;
	ct->arg = arg;
	mbuf_init(&ct->lv->ack);

	err = ctrans_send(ct, ct->lv->raw, ct->lv->raw_len, true);
	if (err)
		goto fail;
	if (!ct->reliable) {
		ct->lv->retx_ival = stack->t1;
		err = loop_timer_start(stack->loop, &ct->lv->tmr_retx, ct->lv->retx_ival,
				       ctrans_retx_h, ct);
		if (err)
			goto fail;
	}
	err =
	    loop_timer_start(stack->loop, &ct->tmr_end, 64 * (uint64_t)stack->t1, ctrans_end_h, ct);
	if (err)
		goto fail;

	key = hash_pl_case(branch);
	htab_add(&stack->ctab, &ct->le, key, ct);
	if (ctp)
		*ctp = ct;
	return 0;

fail:
	mem_deref(ct);
	return err;
}

int sip_ctrans_request_from(struct sip_ctrans **ctp, struct sip_stack *stack,
			    enum sip_transport type, const struct sa *src, const struct sa *dst,
			    const struct mbuf *req, sip_response_h *h, void *arg)
{
	struct sip_parse_error perr = {0};
	struct sip_msg *msg = NULL;
	size_t used = 0;
	int err;

	if (!stack || !dst || !req || !req->buf || !req->end || type == SIP_TP_NONE)
		return EINVAL;
	err = sip_msg_parse(&msg, req->buf, req->end, true, &used, &perr);
	if (err)
		return err;
	/* Our own request must carry the keys the responses are matched with; an ACK has no
	 * transaction (send it with sip_transp_send). */
	if (!msg->is_request || msg->err_reason || !msg->via_ok || !msg->cseq_ok ||
	    !sip_branch_has_cookie(&msg->via.branch) || msg->mid == SIP_METHOD_ACK) {
		if (msg->err_reason)
			log_warn("refusing to send a broken request: %s", msg->err_reason);
		mem_deref(msg);
		return EINVAL;
	}
	/* Checked, and keyed; parsed again only if a CANCEL, an ACK or a log line needs it. */
	err = ctrans_start(ctp, stack, type, src, dst, req, msg->mid == SIP_METHOD_INVITE,
			   &msg->via.branch, msg->cseq.mid, &msg->cseq.method, h, arg);
	mem_deref(msg);
	return err;
}

int sip_ctrans_request_spec(struct sip_ctrans **ctp, struct sip_stack *stack,
			    enum sip_transport type, const struct sa *src, const struct sa *dst,
			    const struct mbuf *req, const struct sip_request_spec *spec,
			    sip_response_h *h, void *arg)
{
	struct pl branch, method, cseq_method;
	enum sip_method mid;

	if (!stack || !dst || !req || !req->buf || !req->end || type == SIP_TP_NONE || !spec ||
	    !spec->method || !spec->branch)
		return EINVAL;
	branch = pl_from_str(spec->branch);
	method = pl_from_str(spec->method);
	cseq_method = pl_from_str(spec->cseq_method ? spec->cseq_method : spec->method);
	mid = sip_method_lookup(&cseq_method);
	if (!sip_branch_has_cookie(&branch) || sip_method_lookup(&method) == SIP_METHOD_ACK)
		return EINVAL;
	return ctrans_start(ctp, stack, type, src, dst, req,
			    sip_method_lookup(&method) == SIP_METHOD_INVITE, &branch, mid,
			    &cseq_method, h, arg);
}

int sip_ctrans_cancel(struct sip_ctrans *ct, const char *reason_hdr)
{
	if (!ct || !ct->invite)
		return EINVAL;
	if (ct->cancel_pending || ct->cancel_sent)
		return EALREADY;
	switch (ct->state) {
	case CTRANS_CALLING:
		/* §9.1: a CANCEL may not overtake the INVITE's first provisional. */
		if (reason_hdr) {
			ct->lv->cancel_reason = strdup(reason_hdr);
			if (!ct->lv->cancel_reason)
				return ENOMEM;
		}
		ct->cancel_pending = true;
		return 0;
	case CTRANS_PROCEEDING:
		if (reason_hdr) {
			ct->lv->cancel_reason = strdup(reason_hdr);
			if (!ct->lv->cancel_reason)
				return ENOMEM;
		}
		ctrans_send_cancel(ct);
		return 0;
	default:
		return EALREADY;
	}
}

void sip_ctrans_abandon(struct sip_ctrans *ct)
{
	if (!ct)
		return;
	ct->h = NULL;
	ct->arg = NULL;
}

void sip_trans_flush(struct sip_stack *stack)
{
	tomb_flush(stack);
	/* Unlinked first, so the loops end even if somebody still held a reference. */
	for (size_t i = 0; i < stack->stab.nbuckets; i++) {
		while (stack->stab.buckets[i].head) {
			struct sip_strans *st = stack->stab.buckets[i].head->data;

			htab_unlink(&stack->stab, &st->le);
			if (st->lv)
				loop_timer_cancel(&st->lv->tmr_retx);
			loop_timer_cancel(&st->tmr_end);
			mem_deref(st);
		}
	}
	for (size_t i = 0; i < stack->ctab.nbuckets; i++) {
		while (stack->ctab.buckets[i].head) {
			struct sip_ctrans *ct = stack->ctab.buckets[i].head->data;

			htab_unlink(&stack->ctab, &ct->le);
			if (ct->lv)
				loop_timer_cancel(&ct->lv->tmr_retx);
			loop_timer_cancel(&ct->tmr_end);
			ct->h = NULL;
			mem_deref(ct);
		}
	}
}
