/* call leg: legs as RFC 3261 dialogs: creation and lookup, requests and answers on a leg, and the
 * requests that arrive inside a dialog (ACK, BYE, re-INVITE/UPDATE, PRACK, INFO, REFER). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "call_int.h"
#include "media.h"
#include "cfg.h"
#include "peer.h"
#include "store.h"

#define LOG_MODULE "call"

/* ---------------------------------------------------------------------------------------------
 * Legs
 */

static uint32_t leg_key(const char *call_id)
{
	struct pl p = pl_from_str(call_id);

	return hash_bytes(p.p, p.l);
}

bool call_leg_nat(const struct call *c, const struct sa *peer, bool is_line)
{
	struct sa ext;

	return !is_line && c && c->cfg && server_nat_extern(&c->cfg->server, peer, &ext);
}

void call_leg_adv(const struct call_leg *leg, struct sa *out)
{
	if (leg->nat && leg->call && leg->call->cfg)
		server_nat_advertise(&leg->call->cfg->server, &leg->local, &leg->dst, out);
	else
		*out = leg->local;
}

struct call_leg *call_leg_alloc(struct call_eng *eng, struct call *c, bool uac)
{
	struct call_leg *leg = mem_zmalloc(sizeof(*leg));

	if (!leg)
		return NULL;
	leg->eng = eng;
	leg->call = c;
	leg->uac = uac;
	mbuf_init(&leg->ok);
	mbuf_init(&leg->ack);
	if (c)
		list_append(&c->legs, &leg->le_call, leg);
	return leg;
}

char *call_leg_ids_alloc(struct call_leg *leg, size_t size)
{
	free(leg->ids);
	leg->ids = malloc(size);
	return leg->ids;
}

void call_leg_index(struct call_leg *leg)
{
	htab_add(&leg->eng->legs, &leg->le_hash, leg_key(leg->call_id), leg);
	call_leg_changed(leg);
}

void call_leg_changed(const struct call_leg *leg)
{
	if (leg->eng && leg->eng->change_h && leg->peer[0])
		leg->eng->change_h(leg->peer, leg->eng->change_arg);
}

static unsigned leg_busy(const struct call_leg *leg)
{
	unsigned b;

	if (leg->state == LEG_TERMINATED)
		return 0;
	if (leg->uac && leg->state != LEG_CONFIRMED)
		return leg->cancelled ? 0 : CALL_PEER_RINGING;
	b = CALL_PEER_INUSE;
	if (leg->peer_dir_set && (leg->peer_dir == SDP_SENDONLY || leg->peer_dir == SDP_INACTIVE))
		b |= CALL_PEER_ONHOLD;
	return b;
}

unsigned call_eng_peer_busy(const struct call_eng *eng, const char *peer)
{
	unsigned b = 0;

	if (!eng || !peer)
		return 0;
	LIST_FOREACH (&eng->calls, le) {
		const struct call *c = le->data;

		for (struct le *l2 = c->legs.head; l2; l2 = l2->next) {
			const struct call_leg *leg = l2->data;

			if (!strcasecmp(leg->peer, peer))
				b |= leg_busy(leg);
		}
	}
	return b;
}

void call_eng_set_change_handler(struct call_eng *eng, call_change_h *h, void *arg)
{
	if (!eng)
		return;
	eng->change_h = h;
	eng->change_arg = arg;
}

void call_eng_set_funcs(struct call_eng *eng, call_func_read_h *read, call_func_write_h *write,
			void *arg)
{
	if (!eng)
		return;
	eng->func_read_h = read;
	eng->func_write_h = write;
	eng->func_arg = arg;
}

void call_leg_free(struct call_leg *leg)
{
	if (!leg)
		return;
	call_leg_changed(leg);
	call_media_leg_free(leg);
	if (leg->st)
		sip_strans_reply(leg->st, 500, "Server Internal Error", NULL, NULL, NULL);
	if (leg->rst)
		sip_strans_reply(leg->rst, 500, "Server Internal Error", NULL, NULL, NULL);
	if (leg->pend_st)
		sip_strans_reply(leg->pend_st, 500, "Server Internal Error", NULL, NULL, NULL);
	loop_timer_cancel(&leg->prov_tmr);
	mbuf_reset(&leg->prov);
	free(leg->pend_sdp);
	sip_ctrans_abandon(leg->ct);
	sip_ctrans_abandon(leg->acc_ct);
	mem_deref(leg->acc_ct);
	loop_timer_cancel(&leg->acc_tmr);
	sip_ctrans_abandon(leg->rct);
	loop_timer_cancel(&leg->ok_tmr);
	loop_timer_cancel(&leg->se_tmr);
	htab_unlink(&leg->eng->legs, &leg->le_hash);
	list_unlink(&leg->le_call);
	list_unlink(&leg->le_eng);
	if (leg->call) {
		if (leg->call->a == leg)
			leg->call->a = NULL;
		if (leg->call->b == leg)
			leg->call->b = NULL;
	}
	mem_deref(leg->inv);
	mbuf_reset(&leg->ok);
	mbuf_reset(&leg->ack);
	free(leg->ids); /* call_id, ltag, lhdr, rhdr, contact */
	free(leg->rtag);
	free(leg->target);
	free(leg->routes);
	call_leg_set_sdp_remote(leg, NULL);
	free(leg->sdp_local);
	free(leg->inv_extra);
	free(leg->desc); /* its keys were wiped with the media (call_media_leg_free) */
	free(leg);
}

/* Finds the leg of an in-dialog message: Call-ID and our tag, and the peer's tag when known. */
struct call_leg *call_leg_find(struct call_eng *eng, const struct pl *call_id,
				 const struct pl *ltag, const struct pl *rtag)
{
	struct list *b = htab_bucket(&eng->legs, hash_bytes(call_id->p, call_id->l));

	LIST_FOREACH (b, le) {
		struct call_leg *leg = le->data;

		if (!pl_eq_str(call_id, leg->call_id) || !leg->ltag || !pl_eq_str(ltag, leg->ltag))
			continue;
		if (leg->rtag && rtag && pl_isset(rtag) && !pl_eq_str(rtag, leg->rtag))
			continue;
		return leg;
	}
	return NULL;
}

static struct call_leg *leg_other(const struct call_leg *leg)
{
	struct call *c = leg->call;

	if (!c)
		return NULL;
	return leg == c->a ? c->b : c->a;
}

/* snprintf(out, size, "%s;tag=%s", hdr, tag) without printf (every request of a leg). */
static void with_tag(char *out, size_t size, const char *hdr, const char *tag)
{
	size_t n;

	str_copy(out, size, hdr);
	n = strlen(out);
	str_copy(out + n, size - n, ";tag=");
	n += strlen(out + n);
	str_copy(out + n, size - n, tag);
}

/* Route set from the Record-Route headers: as written (UAS) or reversed (UAC). */
char *call_route_set(const struct sip_msg *msg, bool reverse)
{
	struct sip_hdr_iter it;
	struct pl v;
	struct mbuf mb;
	char *out = NULL;
	struct pl vals[32];
	size_t n = 0;

	sip_hdr_iter_init(&it, msg, SIP_HDR_RECORD_ROUTE, NULL);
	while (n < ARRAY_SIZE(vals) && sip_hdr_iter_next(&it, &v))
		vals[n++] = v;
	if (!n)
		return NULL;
	mbuf_init(&mb);
	for (size_t i = 0; i < n; i++) {
		const struct pl *p = &vals[reverse ? n - 1 - i : i];

		mbuf_write_str(&mb, "Route: ");
		for (size_t k = 0; k < p->l; k++)
			mbuf_write(&mb, (p->p[k] == '\r' || p->p[k] == '\n') ? " " : &p->p[k], 1);
		mbuf_write_str(&mb, "\r\n");
	}
	mbuf_write(&mb, "", 1);
	out = strdup((const char *)mb.buf);
	mbuf_reset(&mb);
	return out;
}

/* The Record-Route lines of a request, copied into responses (RFC 3261 §12.1.1). */
static void copy_record_route(const struct sip_msg *msg, struct mbuf *mb)
{
	for (size_t i = 0; i < msg->nhdrs; i++) {
		if (msg->hdrs[i].id != SIP_HDR_RECORD_ROUTE)
			continue;
		mbuf_write_str(mb, "Record-Route: ");
		for (size_t k = 0; k < msg->hdrs[i].value.l; k++) {
			char ch = msg->hdrs[i].value.p[k];

			mbuf_write(mb, (ch == '\r' || ch == '\n') ? " " : &ch, 1);
		}
		mbuf_write_str(mb, "\r\n");
	}
}

char *call_contact_uri(const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct sip_addr a;
	struct pl v;
	struct sip_hdr_iter it;

	if (!h)
		return NULL;
	sip_hdr_iter_init(&it, msg, SIP_HDR_CONTACT, NULL);
	if (!sip_hdr_iter_next(&it, &v) || sip_addr_decode(&a, &v))
		return NULL;
	return pl_strdup(&a.auri);
}

char *call_body_dup(const struct sip_msg *msg)
{
	return msg->body.l ? pl_strdup(&msg->body) : NULL;
}

/* Session-Expires value and refresher ("uac"/"uas"/unset) of a message; 0 when absent. */
uint32_t call_session_expires(const struct sip_msg *msg, struct pl *refresher)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_SESSION_EXPIRES);
	struct pl v, num, params;
	const char *semi;
	uint32_t se = 0;

	if (refresher)
		*refresher = (struct pl)PL_INIT;
	if (!h)
		return 0;
	v = h->value;
	semi = pl_chr(&v, ';');
	num = pl_from(v.p, semi ? (size_t)(semi - v.p) : v.l);
	pl_trim(&num);
	if (pl_u32(&num, &se))
		return 0;
	if (semi && refresher) {
		params = pl_from(semi, v.l - (size_t)(semi - v.p));
		sip_param_get(&params, "refresher", refresher);
	}
	return se;
}

uint32_t call_min_se_of(const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_MIN_SE);
	struct pl v;
	const char *semi;
	uint32_t n = 0;

	if (!h)
		return 0;
	v = h->value;
	semi = pl_chr(&v, ';');
	if (semi)
		v.l = (size_t)(semi - v.p);
	pl_trim(&v);
	return pl_u32(&v, &n) ? 0 : n;
}

/* ---------------------------------------------------------------------------------------------
 * Sending inside a dialog
 */

/* Next hop: the leg's fixed destination (the peer's source, the line server, the registered
 * contact's source): for the peers mikaka talks to, that is where their Record-Route and
 * Contact lead as well. */
int call_leg_request(struct call_leg *leg, const char *method, const char *extra,
		       const char *ctype, const char *body, sip_response_h *h, void *arg,
		       struct sip_ctrans **ctp, uint32_t cseq_override)
{
	struct sa adv;
	struct sip_request_spec s = {0};
	char branch[40], host[SA_STRLEN], from[1024], to[1024];
	struct pl bpl = body ? pl_from_str(body) : (struct pl)PL_INIT;
	struct mbuf mb, ex;
	int err;

	sip_branch_new(branch, sizeof(branch));
	with_tag(from, sizeof(from), leg->lhdr, leg->ltag);
	if (leg->uac && leg->rtag)
		with_tag(to, sizeof(to), leg->rhdr, leg->rtag);
	else
		str_copy(to, sizeof(to), leg->rhdr);
	/* The extra lines (route set, then extra) in a stack buffer when they fit, as they
	 * nearly always do: a request is built for each of a call's INVITE, ACK and BYEs, and two
	 * heap buffers growing from 256 bytes were a tenth of the work of building one. */
	char exbuf[1024];
	size_t rl = leg->routes ? strlen(leg->routes) : 0, xl = extra ? strlen(extra) : 0;

	mbuf_init(&ex);
	if (rl + xl < sizeof(exbuf)) {
		if (rl)
			memcpy(exbuf, leg->routes, rl);
		if (xl)
			memcpy(exbuf + rl, extra, xl);
		exbuf[rl + xl] = '\0';
	} else {
		if (leg->routes)
			mbuf_write_str(&ex, leg->routes);
		if (extra)
			mbuf_write_str(&ex, extra);
		mbuf_write(&ex, "", 1);
	}
	s.method = method;
	s.ruri = leg->target;
	s.tp = leg->tp;
	call_leg_adv(leg, &adv);
	s.via_host = sa_ntop(&adv, host, sizeof(host));
	s.via_port = sa_port(&adv);
	s.branch = branch;
	s.rport = !leg->is_line;
	s.from = from;
	s.to = to;
	s.call_id = leg->call_id;
	s.max_forwards = -1;
	if (cseq_override) {
		s.cseq = cseq_override;
	} else {
		s.cseq = ++leg->lcseq;
	}
	s.contact = strcmp(method, "BYE") && strcmp(method, "PRACK") ? leg->contact : NULL;
	s.extra = ex.buf ? (const char *)ex.buf : exbuf;
	s.ctype = body ? ctype : NULL;
	s.body = body ? &bpl : NULL;
	mbuf_init(&mb);
	/* Room for the whole request at once (about 500 bytes + the body, + the extra lines) */
	err = mbuf_reserve(&mb, 1024 + rl + xl + bpl.l);
	if (!err)
		err = sip_build_request(&mb, &s);
	if (!err) {
		if (!strcmp(method, "ACK"))
			err = sip_transp_send(leg->eng->tp, leg->tp, NULL, &leg->local, &leg->dst,
					      mb.buf, mb.end);
		else
			err = sip_ctrans_request_spec(ctp, leg->eng->stack, leg->tp, &leg->local,
						      &leg->dst, &mb, &s, h, arg);
		if (!strcmp(method, "ACK") && !err) {
			mbuf_reset(&leg->ack);
			mbuf_write(&leg->ack, mb.buf, mb.end);
		}
	}
	mbuf_reset(&mb);
	mbuf_reset(&ex);
	if (err)
		log_warn("%s: sending %s failed: %s", leg->name, method, strerror(err));
	return err;
}

void call_leg_bye(struct call_leg *leg)
{
	if (leg->state != LEG_CONFIRMED)
		return;
	call_leg_set_state(leg, LEG_TERMINATED);
	call_leg_request(leg, "BYE", NULL, NULL, NULL, NULL, NULL, NULL, 0);
}

/* Headers every response we send on the caller's leg carries; req is the request answered. */
void call_a_headers(struct call_leg *leg, const struct sip_msg *req, struct mbuf *mb,
		      uint16_t code)
{
	/* Written piece by piece: every response to the caller passes here, and printf with
	 * the long literal cost several thousand instructions a response. */
	mbuf_write_str(mb, "Contact: ");
	mbuf_write_str(mb, leg->contact ? leg->contact : "(null)");
	mbuf_write_str(mb, "\r\nAllow: " CALL_ALLOW "\r\nSupported: ");
	mbuf_write_str(mb, CALL_SUPPORTED(leg));
	mbuf_write_str(mb, "\r\n");
	if (leg->inv)
		copy_record_route(leg->inv, mb);
	if (code >= 200 && code < 300 && leg->se) {
		mbuf_write_str(mb, "Session-Expires: ");
		mbuf_write_u64(mb, leg->se);
		mbuf_write_str(mb, leg->refresher ? ";refresher=uas\r\n" : ";refresher=uac\r\n");
		/* RFC 4028 §9: the refresher is the UAC, so its support becomes a requirement;
		 * on refreshes too, not only on the first 2xx. */
		if (req && (sip_msg_has_option(req, SIP_HDR_SUPPORTED, "timer") ||
			    sip_msg_has_option(req, SIP_HDR_REQUIRE, "timer")))
			mbuf_write_str(mb, "Require: timer\r\n");
	}
}

static void ok_retx_h(void *arg)
{
	struct call_leg *leg = arg;
	struct call_eng *eng = leg->eng;

	if (!leg->inv || !leg->ok.end)
		return;
	if (loop_now(eng->loop) - leg->ok_started >= 64 * SIP_T1_DEFAULT) {
		/* RFC 3261 §13.3.1.4: no ACK: the dialog ends with a BYE. */
		log_warn("%s: no ACK for our 2xx: ending the call", leg->name);
		leg->inv = mem_deref(leg->inv);
		mbuf_reset(&leg->ok);
		if (leg->call)
			call_hangup(leg->call, 102);
		return;
	}
	sip_transp_send_response(eng->tp, leg->inv, leg->ok.buf, leg->ok.end);
	leg->ok_interval = MIN(leg->ok_interval * 2, SIP_T2_DEFAULT);
	loop_timer_start(eng->loop, &leg->ok_tmr, leg->ok_interval, ok_retx_h, leg);
}

/* Answers the caller's INVITE (or re-INVITE) transaction st. A 2xx is built here and resent
 * until the ACK (RFC 6026: the transaction does not). Toward a caller that takes 100rel, 18x go
 * reliably and a 2xx waits while a reliable 18x with SDP is unacknowledged. */
void call_a_reply(struct call_leg *leg, struct sip_strans **stp, uint16_t code,
		    const char *sdp)
{
	struct sip_strans *st = *stp;
	const struct sip_msg *req;
	struct mbuf ex, mb;
	struct pl body = sdp ? pl_from_str(sdp) : (struct pl)PL_INIT;

	if (!st)
		return;
	req = sip_strans_msg(st);
	if (leg->call && leg->call->a == leg && st == leg->st && !leg->call->setup_seen &&
	    req->mid == SIP_METHOD_INVITE && code >= 180 && code < 300) {
		/* metrics: the set-up time, from the INVITE to the first ringing or answer */
		leg->call->setup_seen = true;
		histo_observe(&leg->eng->setup_hist, call_setup_bounds, CALL_SETUP_BOUNDS,
			      (double)(call_wall_ms() - leg->call->start_ms) / 1000.0);
	}
	if (leg->rel100 && st == leg->st && req->mid == SIP_METHOD_INVITE) {
		if (code > 100 && code < 200) {
			call_a_reply_reliable(leg, st, code, sdp);
			return;
		}
		if (code >= 200 && code < 300 && leg->prov.end && leg->prov_sdp) {
			/* RFC 3262 §3: no 2xx before the PRACK of an 18x that carried SDP. */
			leg->pend_code = code;
			call_set_str(&leg->pend_sdp, sdp ? strdup(sdp) : NULL);
			leg->pend_st = st;
			leg->st = NULL;
			*stp = NULL;
			return;
		}
		if (code >= 200) {
			call_prov_stop(leg);
			leg->pend_code = 0;
		}
	}
	mbuf_init(&ex);
	if (code > 100) {
		mbuf_reserve(&ex, 512); /* one allocation for the 200-400 bytes of these lines */
		call_a_headers(leg, req, &ex, code);
	}
	if (code >= 300 && code != 487)
		mbuf_printf(&ex, "Reason: Q.850;cause=%u\r\n", call_cause_for(code));
	if (code == 503)
		mbuf_printf(&ex, "Retry-After: %u\r\n", leg->eng->set.retry_after);
	mbuf_write(&ex, "", 1);
	if (code >= 200 && code < 300 && req->mid == SIP_METHOD_INVITE) {
		mbuf_init(&mb);
		if (!sip_build_response(&mb, req, code, call_reason_for(code), sip_strans_totag(st),
					(const char *)ex.buf, sdp ? "application/sdp" : NULL,
					sdp ? &body : NULL)) {
			sip_strans_reply_raw(st, code, &mb);
			mbuf_reset(&leg->ok);
			mbuf_write(&leg->ok, mb.buf, mb.end);
			if (leg->inv != req) {
				mem_deref(leg->inv);
				leg->inv = mem_ref((void *)req);
			}
			leg->ok_interval = SIP_T1_DEFAULT;
			leg->ok_started = loop_now(leg->eng->loop);
			loop_timer_start(leg->eng->loop, &leg->ok_tmr, leg->ok_interval, ok_retx_h,
					 leg);
		}
		mbuf_reset(&mb);
	} else {
		sip_strans_reply(st, code, call_reason_for(code), (const char *)ex.buf,
				 sdp ? "application/sdp" : NULL, sdp ? &body : NULL);
	}
	mbuf_reset(&ex);
	if (code >= 200)
		*stp = NULL;
	if (sdp)
		call_set_str(&leg->sdp_local, strdup(sdp));
}

/* ---------------------------------------------------------------------------------------------
 * Requests inside a dialog
 */

static void relay_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct call_leg *leg = arg; /* the leg the request was sent on */
	struct call_leg *from = leg_other(leg);
	uint16_t code = resp ? resp->scode : 408;

	if (resp && code < 200)
		return;
	leg->rct = NULL;
	if (resp && code < 300) {
		if (resp->body.l)
			call_leg_set_sdp_remote(leg, call_body_dup(resp));
		if (resp->cseq.mid == SIP_METHOD_INVITE)
			call_leg_request(leg, "ACK", NULL, NULL, NULL, NULL, NULL, NULL,
					 resp->cseq.num);
	}
	if (from && from->rst) {
		const struct sip_msg *req = sip_strans_msg(from->rst);
		char *sdp = resp && code < 300 && resp->body.l ? call_body_dup(resp) : NULL;

		if (code < 300 && req->mid == SIP_METHOD_INVITE) {
			call_a_reply(from, &from->rst, 200, sdp ? sdp : from->sdp_local);
		} else if (code < 300) {
			call_a_reply(from, &from->rst, 200, sdp);
		} else {
			sip_strans_reply(from->rst, code == 408 ? 500 : code, call_reason_for(code),
					 NULL, NULL, NULL);
			from->rst = NULL;
		}
		free(sdp);
	}
	if (code == 481 || code == 408) {
		if (leg->call)
			call_hangup(leg->call, 102);
	}
}

static void dir_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct call_leg *leg = arg; /* the leg our re-INVITE went out on */
	uint16_t code = resp ? resp->scode : 408;

	(void)err;
	if (resp && code < 200)
		return;
	leg->rct = NULL;
	if (resp && code < 300) {
		call_leg_request(leg, "ACK", NULL, NULL, NULL, NULL, NULL, NULL, resp->cseq.num);
		if (resp->body.l) {
			call_leg_set_sdp_remote(leg, call_body_dup(resp));
			if (call_media_offer_answered(leg, &resp->body))
				log_notice("%s: unusable answer to our new offer", leg->name);
		}
		return;
	}
	log_notice("%s: our new offer got %u", leg->name, (unsigned)code);
	if ((code == 481 || code == 408) && leg->call)
		call_hangup(leg->call, 102);
}

/* The peer on `from` changed direction (hold, resume): the other leg gets a new offer of ours
 * with that direction, so the far phone or the carrier knows (RFC 3264 §8.4 / RFC 6337 §5). */
void call_pass_direction(struct call_leg *from, struct call_leg *to, enum sdp_dir dir,
			   bool legacy)
{
	char *sdp = NULL;
	int err;

	if (!to || to->state != LEG_CONFIRMED || !to->ml || to->rct)
		return;
	err = call_media_dir_offer(to, dir, legacy, &sdp);
	if (err) {
		log_notice("%s: hold state not passed to %s: %s", from->name, to->name,
			   strerror(err));
		return;
	}
	err = call_leg_request(to, "INVITE", NULL, "application/sdp", sdp, dir_resp_h, to, &to->rct, 0);
	if (err) {
		free(sdp);
		return;
	}
	log_info("%s: %s passed to %s", from->name, sdp_dir_name(dir), to->name);
	call_set_str(&to->sdp_local, sdp);
	to->sent_dir = dir;
	to->sent_dir_set = true;
}

/* re-INVITE or UPDATE: a session refresh is answered here; a media change crosses over. */
static void in_dialog_offer(struct call_leg *leg, struct sip_strans *st, const struct sip_msg *msg)
{
	struct call_leg *other = leg_other(leg);
	uint32_t se;
	struct pl refresher;
	bool changes = msg->body.l && (!leg->sdp_remote || !pl_eq_str(&msg->body, leg->sdp_remote));

	if (leg->rst || leg->rct || (other && (other->rct || other->rst)) ||
	    (msg->mid == SIP_METHOD_INVITE && leg->ok.end && leg->inv && leg->inv != msg &&
	     leg->inv->mid == SIP_METHOD_INVITE && leg->state == LEG_CONFIRMED &&
	     loop_timer_active(&leg->ok_tmr))) {
		sip_strans_reply(st, 491, "Request Pending", "Retry-After: 1\r\n", NULL, NULL);
		return;
	}
	se = call_session_expires(msg, &refresher);
	if (se) {
		leg->se = MAX(se, leg->eng->set.min_se);
		leg->refresher = pl_isset(&refresher) && pl_caseeq_str(&refresher, "uas");
	}
	call_se_timer_start(leg);
	if (changes && leg->ml) {
		/* With the relay each leg negotiates on its own: answered here, the other side's
		 * session is unchanged (codecs restricted to what still reaches it). */
		char *ans = NULL;
		int err = call_media_reoffer(leg, &msg->body, &ans);
		enum sdp_dir dir;
		bool legacy = false;

		call_leg_set_sdp_remote(leg, call_body_dup(msg));
		if (err) {
			log_notice("%s: new offer refused: %s", leg->name, strerror(err));
			sip_strans_reply(st, 488, "Not Acceptable Here", NULL, NULL, NULL);
		} else {
			call_a_reply(leg, &st, 200, ans);
			if (!call_media_peer_dir(&msg->body, &dir, &legacy) &&
			    dir != (leg->peer_dir_set ? leg->peer_dir : SDP_SENDRECV)) {
				leg->peer_dir = dir;
				leg->peer_dir_set = true;
				call_leg_changed(leg);
				/* The held party hears music (Asterisk's default class): the
				 * offer toward it must let us send. */
				bool hold = !(dir & SDP_RECVONLY);
				if (other && hold && dir == SDP_INACTIVE)
					dir = SDP_SENDONLY;
				call_pass_direction(leg, other, dir, legacy);
				if (other)
					call_lm_hold(other, hold, leg);
			}
		}
		free(ans);
		return;
	}
	if (changes && other && other->state == LEG_CONFIRMED) {
		char *sdp = call_body_dup(msg);
		int err;

		call_leg_set_sdp_remote(leg, sdp ? strdup(sdp) : NULL);
		/* TODO(media): rewrite through the relay. */
		leg->rst = st;
		err = call_leg_request(other, msg->mid == SIP_METHOD_INVITE ? "INVITE" : "UPDATE", NULL,
				       "application/sdp", sdp, relay_resp_h, other, &other->rct, 0);
		if (!err)
			call_set_str(&other->sdp_local, sdp);
		else {
			free(sdp);
			leg->rst = NULL;
			sip_strans_reply(st, 500, "Server Internal Error", NULL, NULL, NULL);
		}
		return;
	}
	if (msg->mid == SIP_METHOD_INVITE)
		call_a_reply(leg, &st, 200, leg->sdp_local);
	else
		call_a_reply(leg, &st, 200, msg->body.l ? leg->sdp_local : NULL);
}

/* SIP INFO with application/dtmf-relay ("Signal=5\r\nDuration=160") or application/dtmf
 * ("5") from one leg: the digit goes out of the other leg's media in that leg's DTMF mode
 * (RFC 4733 events or in-band tones). Other INFO bodies are just acknowledged. */
static void info_dtmf(struct call_leg *leg, const struct sip_msg *msg)
{
	const struct sip_hdr *ct = sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE);
	struct call *c = leg->call;
	struct call_leg *other;
	uint32_t duration = 100;
	char digit = 0;
	struct pl body = msg->body;

	if (!c || !ct || !body.l)
		return;
	other = leg == c->a ? c->b : leg == c->b ? c->a : NULL;
	if (!other && leg == c->a && c->state == CALL_ROUTING)
		other = NULL; /* the dialplan's: below */
	else if (!other || !other->ml)
		return;
	if (ct->value.l >= 22 && !strncasecmp(ct->value.p, "application/dtmf-relay", 22)) {
		const char *p = body.p, *end = body.p + body.l;

		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *le = nl ? nl : end;
			struct pl line = pl_from(p, (size_t)(le - p)), val;
			const char *eq = pl_chr(&line, '=');

			if (eq) {
				struct pl key = pl_from(line.p, (size_t)(eq - line.p));

				val = pl_from(eq + 1, (size_t)(le - eq - 1));
				pl_trim(&key);
				pl_trim(&val);
				if (pl_caseeq_str(&key, "Signal") && val.l) {
					if (pl_eq_str(&val, "10"))
						digit = '*';
					else if (pl_eq_str(&val, "11"))
						digit = '#';
					else if (val.l == 1)
						digit = val.p[0];
				} else if (pl_caseeq_str(&key, "Duration")) {
					uint32_t d;

					if (!pl_u32(&val, &d) && d >= 40 && d <= 5000)
						duration = d;
				}
			}
			p = nl ? nl + 1 : end;
		}
	} else if (ct->value.l >= 16 && !strncasecmp(ct->value.p, "application/dtmf", 16)) {
		struct pl v = body;

		pl_trim(&v);
		if (v.l == 1)
			digit = v.p[0];
	}
	if (!digit || !strchr("0123456789*#ABCDabcd", digit))
		return;
	if (!other) {
		log_info("%s: INFO digit %c for the dialplan", leg->name, digit);
		char d = (char)toupper((unsigned char)digit);

		if (!call_vm_digit(c, d))
			call_lm_digit(c, d);
		return;
	}
	if (media_leg_send_dtmf(other->ml, (char)toupper((unsigned char)digit), duration))
		log_info("%s: INFO digit %c not sent toward %s", leg->name, digit, other->name);
	else
		log_info("%s: INFO digit %c sent toward %s", leg->name, digit, other->name);
}

bool call_in_dialog(struct call_eng *eng, struct sip_strans *st, const struct sip_msg *msg)
{
	struct call_leg *leg = call_leg_find(eng, &msg->call_id, &msg->to.tag, &msg->from.tag);
	struct call *c;

	if (!leg) {
		if (!st)
			return true; /* a stray ACK: nothing to answer */
		return false;	 /* the server answers 481 */
	}
	c = leg->call;
	if (msg->mid == SIP_METHOD_ACK) {
		if (leg->inv && msg->cseq.num == leg->inv->cseq.num) {
			if (msg->body.l && leg->ml && !leg->sdp_remote && leg->sdp_local) {
				/* The answer to the offer of our 2xx (late offer). */
				call_leg_set_sdp_remote(leg, call_body_dup(msg));
				if (call_media_offer_answered(leg, &msg->body))
					log_notice("%s: unusable answer in the ACK", leg->name);
			}
			loop_timer_cancel(&leg->ok_tmr);
			mbuf_reset(&leg->ok);
			leg->inv = mem_deref(leg->inv);
		}
		return true;
	}
	if (!st)
		return true;
	if (leg->rcseq && msg->cseq.num < leg->rcseq && msg->mid != SIP_METHOD_PRACK) {
		sip_strans_reply(st, 500, "CSeq Out of Order", NULL, NULL, NULL);
		return true;
	}
	if (msg->cseq.num > leg->rcseq)
		leg->rcseq = msg->cseq.num;
	switch (msg->mid) {
	case SIP_METHOD_BYE:
		sip_strans_reply(st, 200, "OK", NULL, NULL, NULL);
		call_leg_set_state(leg, LEG_TERMINATED);
		log_info("%s: BYE", leg->name);
		if (c && leg->uac && leg == c->b && c->dial_cont && c->state == CALL_UP && c->a &&
		    c->a->state == LEG_CONFIRMED && c->a->ml)
			call_dial_continue(c);
		else if (c)
			call_hangup(c, 16);
		return true;
	case SIP_METHOD_INVITE:
	case SIP_METHOD_UPDATE:
		if (!c || c->state == CALL_ENDING) {
			sip_strans_reply(st, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL);
			return true;
		}
		if (msg->mid == SIP_METHOD_UPDATE && leg->inv && leg->inv->body.l == 0 &&
		    ((leg->st && !leg->uac) || (msg->body.l && leg->ok.end))) {
			/* An offer of ours is unanswered (RFC 3311 §5.2): our 2xx to an INVITE
			 * without SDP carries it until the ACK brings the answer. */
			sip_strans_reply(st, 491, "Request Pending", NULL, NULL, NULL);
			return true;
		}
		{
			/* A target refresh (RFC 3261 §12.2.2, RFC 3311 §5.2): later requests go
			 * to the new Contact. */
			char *t = call_contact_uri(msg);

			if (t)
				call_set_str(&leg->target, t);
		}
		in_dialog_offer(leg, st, msg);
		return true;
	case SIP_METHOD_PRACK:
		if (leg->uac)
			sip_strans_reply(st, 481, "Call/Transaction Does Not Exist", NULL, NULL,
					 NULL);
		else
			call_a_prack(leg, st, msg);
		return true;
	case SIP_METHOD_INFO:
		info_dtmf(leg, msg);
		sip_strans_reply(st, 200, "OK", NULL, NULL, NULL);
		return true;
	case SIP_METHOD_REFER:
		call_refer(leg, st, msg);
		return true;
	default:
		return false;
	}
}
