/* call dial: Dial(): callee legs, forking, the callee legs' responses, busy/no answer, CANCEL. */
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
#include "notify.h"
#include "peer.h"
#include "store.h"

#define LOG_MODULE "call"

/* ---------------------------------------------------------------------------------------------
 * Dial() status
 */

static void set_dialstatus(struct call *c, uint16_t code)
{
	char cause[16];

	pbx_chan_set_var(c->chan, "DIALSTATUS", call_dialstatus_for(code));
	snprintf(cause, sizeof(cause), "%u", call_cause_for(code));
	pbx_chan_set_var(c->chan, "HANGUPCAUSE", cause);
}

static bool legs_pending(const struct call *c)
{
	LIST_FOREACH (&c->legs, le) {
		const struct call_leg *leg = le->data;

		if (leg->uac && leg->state != LEG_TERMINATED && leg->state != LEG_CONFIRMED)
			return true;
	}
	return false;
}

void call_cancel_pending(struct call *c, struct call_leg *except, const char *reason)
{
	LIST_FOREACH (&c->legs, le) {
		struct call_leg *leg = le->data;

		if (leg == except || !leg->uac || !leg->ct || leg->cancelled)
			continue;
		leg->cancelled = true;
		call_leg_changed(leg);
		call_media_leg_free(leg); /* a loser: its ports go back at once */
		sip_ctrans_cancel(leg->ct, reason);
	}
}

/* A Dial() is over when nobody is left ringing: DIALSTATUS, and the dialplan goes on. */
static void dial_check(struct call *c)
{
	if (!c->dial_open || legs_pending(c))
		return;
	c->dial_open = false;
	loop_timer_cancel(&c->tmr);
	set_dialstatus(c, c->best ? c->best : 480);
	if (c->state == CALL_DIALING)
		c->state = CALL_ROUTING;
	call_run(c);
}

static void note_final(struct call *c, uint16_t code)
{
	/* Busy beats everything; otherwise the first real answer; a 487 of our own CANCEL only
	 * when nothing else came. */
	if (code == 486 || code == 600)
		c->best = 486;
	else if (!c->best || c->best == 487 || c->best == 408)
		c->best = code;
}

/* ---------------------------------------------------------------------------------------------
 * Dial()
 */

/* Whether a peer is the carrier line (the registrar decided it: reg_peer_is_line, docs/LINE.md).
 * Fills the line's main number ("" when not known) and domain for the From. */
bool call_peer_is_line(struct call_eng *eng, const struct peer *p, char *number, size_t nsize,
		       char *domain, size_t dsize)
{
	const struct reg_line *l = reg_line(eng->reg);

	if (!p || p->dynamic || !reg_peer_is_line(eng->reg, p))
		return false;
	str_copy(number, nsize, l->nnumbers ? l->numbers[0] : "");
	str_copy(domain, dsize, l->domain[0] ? l->domain : call_str_or(p->fromdomain, ""));
	return true;
}

size_t call_peer_active_legs(const struct call_eng *eng, const char *peer)
{
	size_t n = 0;

	LIST_FOREACH (&eng->calls, le) {
		const struct call *c = le->data;

		for (struct le *l2 = c->legs.head; l2; l2 = l2->next) {
			const struct call_leg *leg = l2->data;

			if (leg->state != LEG_TERMINATED && !strcasecmp(leg->peer, peer))
				n++;
		}
	}
	return n;
}

struct dial_ctx {
	struct call *c;
	const struct peer *p;
	const char *number; /* dialled number for trunks, else NULL */
	unsigned started;
};

/* The dialplan's SIPAddHeader() headers and ALERT_INFO (chan_sip's variable: an Alert-Info
 * header, e.g. a distinctive ring or auto-answer), appended to extra (a whole header each; one
 * that does not fit is left out with a warning). */
static void added_headers(struct call *c, char *extra, size_t size)
{
	const char *alert = pbx_chan_get_var(c->chan, "ALERT_INFO");
	size_t used = strlen(extra);
	struct mbuf mb;

	mbuf_init(&mb);
	if (alert && *alert && !strpbrk(alert, "\r\n")) {
		mbuf_write_str(&mb, "Alert-Info: ");
		mbuf_write_str(&mb, alert);
		mbuf_write_str(&mb, "\r\n");
	}
	if (pbx_chan_added_headers(c->chan, &mb) == 0 && mb.end) {
		if (used + mb.end < size) {
			memcpy(extra + used, mb.buf, mb.end);
			extra[used + mb.end] = '\0';
		} else {
			log_warn("%s: the added headers (%zu bytes) are too long; left out",
				 c->a ? c->a->name : "call", mb.end);
		}
	}
	mbuf_reset(&mb);
}

/* Starts one callee leg: ruri, to, from given; dst/local/tp where to send. */
static int leg_start(struct dial_ctx *d, const char *ruri, const char *to, const char *from_user,
		     const char *from_host, const struct sa *dst, const struct sa *local,
		     enum sip_transport tp, bool is_line, const char *extra_line)
{
	struct call *c = d->c;
	struct call_eng *eng = c->eng;
	struct call_leg *leg = call_leg_alloc(eng, c, true);
	char tag[32], cid[64], host[SA_STRLEN], ex[2048], hdrs[1024];
	char seq[STR_U64_LEN], port[STR_U64_LEN], se[STR_U64_LEN], minse[STR_U64_LEN];
	struct sa adv;
	const char *tls;
	const char *sdp = c->a ? c->a->sdp_remote : NULL;
	char *msdp = NULL;
	int err;

	if (!leg)
		return ENOMEM;
	sip_tag_new(tag, sizeof(tag));
	rand_token(cid, 24);
	leg->is_line = is_line;
	leg->tp = tp;
	leg->dst = *dst;
	leg->local = *local;
	leg->nat = call_leg_nat(c, dst, is_line);
	call_leg_adv(leg, &adv); /* externaddr for a phone outside the NAT */
	sa_ntop(&adv, host, sizeof(host));
	str_copy(leg->peer, sizeof(leg->peer), d->p->name);
	/* Joined without printf: every call starts a leg here. */
	str_cat(leg->name, sizeof(leg->name), "SIP/", d->p->name, "-", str_x64(seq, ++eng->seq, 8),
		NULL);
	{
		/* The fixed strings in one allocation (call_leg_ids_alloc), each written in place:
		 * Call-ID, tag, From value, To value, Contact. */
		bool named = c->cid_name[0] && !is_line, v6 = sa_af(&adv) == AF_INET6;
		const char *dq = named ? "\"" : "", *nm = named ? c->cid_name : "",
			   *dq2 = named ? "\" " : "";
		size_t lcid = strlen(cid) + 1 + strlen(host), ltag = strlen(tag), lto = strlen(to);
		size_t lfrom, lct;
		char *b;

		tls = tp == SIP_TP_TLS ? ";transport=tls" : "";
		lfrom =
		    str_cat(NULL, 0, dq, nm, dq2, "<sip:", from_user, "@", from_host, ">", NULL);
		lct = str_cat(NULL, 0, "<sip:", from_user, v6 ? "@[" : "@", host, v6 ? "]:" : ":",
			      str_u64(port, sa_port(&adv)), tls, ">", NULL);
		b = call_leg_ids_alloc(leg, lcid + ltag + lfrom + lto + lct + 5);
		if (b) {
			leg->call_id = b;
			b += str_cat(b, lcid + 1, cid, "@", host, NULL) + 1;
			leg->ltag = b;
			b = call_leg_put(b, tag, ltag);
			leg->lhdr = b;
			b += str_cat(b, lfrom + 1, dq, nm, dq2, "<sip:", from_user, "@", from_host,
				     ">", NULL) +
			     1;
			leg->rhdr = b;
			b = call_leg_put(b, to, lto);
			leg->contact = b;
			str_cat(b, lct + 1, "<sip:", from_user, v6 ? "@[" : "@", host,
				v6 ? "]:" : ":", str_u64(port, sa_port(&adv)), tls, ">", NULL);
		}
	}
	leg->target = strdup(ruri);
	leg->lcseq = (uint32_t)(eng->seq % 1000) + 1;
	call_leg_set_state(leg, LEG_CALLING);
	if (!leg->ids || !leg->target) {
		call_leg_free(leg);
		return ENOMEM;
	}
	call_leg_index(leg);
	str_copy(hdrs, sizeof(hdrs), extra_line ? extra_line : "");
	added_headers(c, hdrs, sizeof(hdrs));
	str_cat(ex, sizeof(ex), "Allow: " CALL_ALLOW "\r\nSupported: ", CALL_SUPPORTED(leg),
		"\r\nSession-Expires: ", str_u64(se, eng->set.session_expires), "\r\nMin-SE: ",
		str_u64(minse, eng->set.min_se), "\r\n", hdrs, NULL);
	if (eng->media && c->a && c->a->ml) {
		/* Our own offer from our address facing the callee (the line's address toward the
		 * carrier), restricted to what the caller offered. */
		const struct reg_line *l = reg_line(eng->reg);
		const struct sa *ml_local = is_line && sa_isset(&l->local) ? &l->local : local;

		err = call_media_callee_offer(leg, c->a, d->p, ml_local, &msdp);
		if (err) {
			c->media_code = err == ENOTSUP ? 488 : 503;
			call_leg_free(leg);
			return err;
		}
		sdp = msdp;
	} else if (sdp && tp != SIP_TP_TLS && strstr(sdp, "a=crypto:")) {
		/* Without the relay the caller's SDP is passed on as it is: its SDES keys may
		 * only travel over TLS. */
		log_notice("%s: the caller's SDES keys are not sent over %s", leg->name,
			   sip_transport_name(tp));
		c->media_code = 488;
		call_leg_free(leg);
		return ENOTSUP;
	}
	leg->inv_cseq = leg->lcseq + 1;
	leg->inv_extra = hdrs[0] ? strdup(hdrs) : NULL;
	err = call_leg_request(leg, "INVITE", ex, "application/sdp", sdp, call_b_resp_h, leg,
			       &leg->ct, 0);
	if (err) {
		free(msdp);
		call_leg_free(leg);
		return err;
	}
	if (sdp)
		leg->sdp_local = strdup(sdp);
	free(msdp);
	d->started++;
	log_info("%s: calling %s", leg->name, ruri);
	return 0;
}

static int dial_contact_h(const struct reg_contact_info *ci, void *arg)
{
	struct dial_ctx *d = arg;
	struct call *c = d->c;
	char to[512], host[SA_STRLEN];
	struct sa local = ci->local;

	if (!sa_isset(&local) &&
	    sip_transp_local_for(c->eng->tp, &ci->source, &local))
		return 0;
	sa_ntop(&local, host, sizeof(host));
	str_cat(to, sizeof(to), "<sip:", d->p->name, "@", host, ">", NULL);
	leg_start(d, ci->uri, to, call_str_or(c->cid_num, "anonymous"), host, &ci->source, &local,
		  ci->tp ? ci->tp : SIP_TP_UDP, false, NULL);
	return 0;
}

static bool line_owns(const struct call_eng *eng, const char *num, bool *additional)
{
	const struct reg_line *l = reg_line(eng->reg);

	*additional = false;
	for (size_t i = 0; i < l->nnumbers; i++) {
		if (!strcmp(l->numbers[i], num)) {
			*additional = i > 0;
			return true;
		}
	}
	return false;
}

static void dial_target(struct call *c, const struct pbx_dial_target *t, unsigned *unavail,
			unsigned *busy, unsigned *started)
{
	struct call_eng *eng = c->eng;
	const struct sipcfg *pc = c->cfg->peers;
	const struct peer *p;
	struct dial_ctx d = {.c = c};
	char number[64] = "", domain[256] = "";

	if (strcasecmp(t->tech, "SIP")) {
		(*unavail)++;
		return;
	}
	p = peer_find(pc, t->peer);
	if (!p || p->type == PEER_TYPE_USER) {
		log_notice("Dial(%s/%s): no such peer", t->tech, t->peer);
		(*unavail)++;
		return;
	}
	if (p->call_limit && call_peer_active_legs(eng, p->name) >= p->call_limit) {
		log_notice("Dial(SIP/%s): call-limit %u reached", p->name, p->call_limit);
		(*busy)++;
		return;
	}
	d.p = p;
	d.number = t->number;
	if (p->dynamic) {
		if (!eng->locate || eng->locate(p->name, dial_contact_h, &d, eng->locate_arg) ||
		    !d.started)
			(*unavail)++;
		*started += d.started;
		return;
	}
	{
		const struct reg_line *l = reg_line(eng->reg);
		struct sa dst, local;
		const char *dialled = t->number ? t->number : (p->defaultuser ? p->defaultuser : p->name);
		char ruri[512], to[512], srv[SA_STRLEN + 260], extra[512] = "", lh[SA_STRLEN];
		const char *from_user = call_str_or(c->cid_num, "anonymous");
		bool is_line = call_peer_is_line(eng, p, number, sizeof(number), domain,
						 sizeof(domain));

		/* Toward the line: its server, whichever of the peer's addresses that is; else
		 * where the registrar resolved the peer (its outboundproxy= first). */
		if (is_line && sa_isset(&l->server)) {
			dst = l->server;
		} else if (reg_peer_dest(eng->reg, p, &dst)) {
			log_notice("Dial(SIP/%s): its address is not known now (host=%s)", p->name,
				   call_str_or(p->host, "?"));
			(*unavail)++;
			return;
		}
		if (!sa_port(&dst))
			sa_set_port(&dst, p->port ? p->port : SIP_PORT_DEFAULT);
		if (sip_transp_local_for(eng->tp, &dst, &local)) {
			(*unavail)++;
			return;
		}
		sa_fmt(&dst, srv, sizeof(srv));
		sa_ntop(&local, lh, sizeof(lh));
		if (is_line) {
			bool additional = false;

			/* NGN-NOTES §2.4: digits as dialled at the server's address; the From
			 * carries the line's number; an additional number goes in PPI. When the
			 * line's number is not known (the post's 210VALUE line without
			 * discovery), the From carries the dialplan's CALLERID(num). */
			if (c->cid_num[0] && number[0] && strcmp(c->cid_num, number) &&
			    !line_owns(eng, c->cid_num, &additional)) {
				log_notice("Dial(SIP/%s/%s): caller ID %s is not a number of the "
					   "line: refused, not sent",
					   p->name, dialled, c->cid_num);
				(*unavail)++;
				return;
			}
			if (c->cid_num[0] && strcmp(c->cid_num, number))
				from_user = c->cid_num;
			else if (number[0])
				from_user = number;
			if (!domain[0])
				str_copy(domain, sizeof(domain), lh);
			if (additional)
				snprintf(extra, sizeof(extra),
					 "P-Preferred-Identity: <sip:%s@%s>\r\n", from_user, domain);
			str_cat(ruri, sizeof(ruri), "sip:", dialled, "@", srv, NULL);
			str_cat(to, sizeof(to), "<sip:", dialled, "@", srv, ">", NULL);
			*started += leg_start(&d, ruri, to, from_user, domain, &dst, &local,
					      SIP_TP_UDP, true, extra) == 0;
		} else {
			/* Through an outboundproxy= the Request-URI keeps the peer's host. */
			if (p->outboundproxy && p->host) {
				if (p->port && p->port != SIP_PORT_DEFAULT)
					snprintf(srv, sizeof(srv), "%s:%u", p->host, p->port);
				else
					str_copy(srv, sizeof(srv), p->host);
			}
			str_cat(ruri, sizeof(ruri), "sip:", dialled, "@", srv, NULL);
			str_cat(to, sizeof(to), "<sip:", dialled, "@", srv, ">", NULL);
			*started += leg_start(&d, ruri, to, from_user,
					      p->fromdomain ? p->fromdomain : lh, &dst, &local,
					      p->transport == PEER_TP_TLS   ? SIP_TP_TLS
					      : p->transport == PEER_TP_TCP ? SIP_TP_TCP
									  : SIP_TP_UDP,
					      false, NULL) == 0;
		}
	}
}

static void dial_timeout_h(void *arg)
{
	struct call *c = arg;

	if (!c->dial_open)
		return;
	log_info("%s: Dial timeout: no answer", c->a ? c->a->name : "call");
	c->dial_open = false;
	call_cancel_pending(c, NULL, NULL);
	set_dialstatus(c, 480);
	if (c->state == CALL_DIALING)
		c->state = CALL_ROUTING;
	call_run(c);
}

void call_do_dial(struct call *c, const struct pbx_dial *dial)
{
	unsigned unavail = 0, busy = 0, started = 0;
	struct mbuf mb;

	str_copy(c->lastapp, sizeof(c->lastapp), "Dial");
	c->dialled = true;
	mbuf_init(&mb);
	for (size_t i = 0; i < dial->ntargets; i++) {
		if (i)
			mbuf_write_str(&mb, "&");
		mbuf_write_str(&mb, dial->targets[i].tech);
		mbuf_write_str(&mb, "/");
		mbuf_write_str(&mb, dial->targets[i].peer);
		if (dial->targets[i].number) {
			mbuf_write_str(&mb, "/");
			mbuf_write_str(&mb, dial->targets[i].number);
		}
	}
	if (dial->timeout_s) {
		mbuf_write_str(&mb, ",");
		mbuf_write_u64(&mb, dial->timeout_s);
	}
	mbuf_write(&mb, "", 1);
	str_copy(c->lastdata, sizeof(c->lastdata), (const char *)mb.buf);
	mbuf_reset(&mb);

	/* The dialplan may have changed the caller ID (Set(CALLERID(num)=...)). */
	if (pbx_chan_callerid_num(c->chan)[0])
		str_copy(c->cid_num, sizeof(c->cid_num), pbx_chan_callerid_num(c->chan));
	if (pbx_chan_callerid_name(c->chan)[0])
		str_copy(c->cid_name, sizeof(c->cid_name), pbx_chan_callerid_name(c->chan));
	c->best = 0;
	c->media_code = 0;
	if (c->from_line && !c->notified_ring) {
		c->notified_ring = true;
		call_notify(c, NOTIFY_RINGING);
	}
	for (size_t i = 0; i < dial->ntargets; i++)
		dial_target(c, &dial->targets[i], &unavail, &busy, &started);
	if (started)
		c->media_code = 0;
	if (!started) {
		if (busy)
			c->best = 486; /* a bare Hangup() then answers busy, as a busy phone would */
		set_dialstatus(c, busy ? 486 : c->media_code ? c->media_code : 404);
		c->rerun = true;
		return;
	}
	c->dial_open = true;
	c->state = CALL_DIALING;
	c->limit_ms = dial->limit_ms;
	c->dial_cont = (dial->opts & PBX_DIAL_OPT_g) != 0;
	str_copy(c->cont_target, sizeof(c->cont_target),
		 dial->cont_target ? dial->cont_target : "");
	/* D(called:calling): kept until the answer (the strings live in the channel until its next
	 * run, which may come first on a transfer). */
	if (!dial->dtmf_called && !dial->dtmf_calling)
		call_dtmf_free(c); /* a previous Dial's D() is not this one's */
	else if (call_dtmf_prepare(c, dial->dtmf_called, dial->dtmf_calling, 0, 0, false))
		log_warn("Dial: D(%s:%s): not digits; ignored",
			 dial->dtmf_called ? dial->dtmf_called : "",
			 dial->dtmf_calling ? dial->dtmf_calling : "");
	if ((dial->opts & PBX_DIAL_OPT_m) && c->a && c->a->ml && c->a->st && !c->answered) {
		/* m: the caller hears music instead of ringing: early media from our own
		 * address (183 with our answer), the music until a callee answers. */
		char *msdp = NULL;

		if (!c->a->sent_183 && !call_media_local_answer(c->a, &msdp) && msdp) {
			c->a->sent_183 = true;
			call_a_reply(c->a, &c->a->st, 183, msdp);
		}
		free(msdp);
		if (c->a->sent_183 &&
		    !call_lm_moh_start(c, c->a, dial->moh_class ? dial->moh_class : "default"))
			c->dial_moh = true;
	}
	if (dial->timeout_s)
		loop_timer_start(c->eng->loop, &c->tmr, (uint64_t)dial->timeout_s * 1000,
				 dial_timeout_h, c);
}

/* Dial's S()/L(): the answered call has lasted as long as it may; both sides get a BYE. */
static void limit_h(void *arg)
{
	struct call *c = arg;

	log_info("%s: Dial's time limit of %u ms reached: hanging up", c->a ? c->a->name : "call",
		 c->limit_ms);
	call_hangup(c, 16);
}

/* ---------------------------------------------------------------------------------------------
 * Callee-leg responses
 */

static void prack_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	(void)err;
	(void)resp;
	(void)arg;
}

static void relay_provisional(struct call *c, struct call_leg *leg, const struct sip_msg *resp)
{
	struct call_leg *a = c->a;
	bool has_sdp = resp->body.l > 0;
	char *sdp = NULL;

	if (has_sdp && a && a->ml && !a->sdp_remote) {
		/* The caller made no offer: early SDP would be an offer in an unreliable 18x, so
		 * it gets plain ringing; the offer goes in our 2xx. */
		has_sdp = false;
	} else if (has_sdp && a && a->ml && leg->ml && !c->answered) {
		/* Early media: applied on the callee's leg and bridged even when the caller
		 * already had its 183 (the 2xx may come without SDP). */
		int err = call_media_answer(a, leg, &resp->body, &sdp);

		if (err) {
			log_notice("%s: unusable SDP in %u: %s", leg->name, resp->scode,
				   strerror(err));
			has_sdp = false;
		}
	} else if (has_sdp) {
		sdp = call_body_dup(resp);
	}
	if (!a || !a->st || c->answered) {
		free(sdp);
		return;
	}
	if (has_sdp && !a->sent_183) {
		a->sent_183 = true;
		call_a_reply(a, &a->st, 183, sdp);
	} else if (resp->scode == 180 && !a->sent_180 && !a->sent_183) {
		a->sent_180 = true;
		call_a_reply(a, &a->st, 180, NULL);
	}
	free(sdp);
}

static void leg_confirm_from(struct call_leg *leg, const struct sip_msg *resp)
{
	uint32_t se;
	struct pl refresher;

	call_set_str(&leg->rtag, pl_strdup(&resp->to.tag));
	call_set_str(&leg->routes, call_route_set(resp, true));
	{
		char *t = call_contact_uri(resp);

		if (t)
			call_set_str(&leg->target, t);
	}
	if (resp->body.l)
		call_leg_set_sdp_remote(leg, call_body_dup(resp));
	leg->allow_update = sip_msg_has_option(resp, SIP_HDR_ALLOW, "UPDATE");
	se = call_session_expires(resp, &refresher);
	if (se) {
		leg->se = se;
		leg->refresher = !pl_isset(&refresher) || pl_caseeq_str(&refresher, "uac");
		call_se_timer_start(leg);
	}
}

/* ACK and BYE for a 2xx nobody wants (a second fork, an answer crossing our CANCEL). */
static void ack_and_bye(struct call_eng *eng, const struct sip_msg *resp)
{
	struct sip_request_spec s = {0};
	const struct sip_hdr *fh = sip_msg_hdr(resp, SIP_HDR_FROM), *th = sip_msg_hdr(resp, SIP_HDR_TO);
	char branch[40], host[SA_STRLEN];
	char *target = call_contact_uri(resp), *routes = call_route_set(resp, true);
	char *from = fh ? call_dup_value(&fh->value) : NULL, *to = th ? call_dup_value(&th->value) : NULL;
	char *cid = pl_strdup(&resp->call_id);
	struct sa local = resp->dst;
	struct mbuf mb;

	if (!target || !from || !to || !cid)
		goto out;
	if (!sa_isset(&local) && sip_transp_local_for(eng->tp, &resp->src, &local))
		goto out;
	s.ruri = target;
	s.tp = resp->tp;
	s.via_host = sa_ntop(&local, host, sizeof(host));
	s.via_port = sa_port(&local);
	s.from = from;
	s.to = to;
	s.call_id = cid;
	s.extra = routes;
	s.branch = branch;
	s.max_forwards = -1;
	mbuf_init(&mb);
	sip_branch_new(branch, sizeof(branch));
	s.method = "ACK";
	s.cseq = resp->cseq.num;
	if (!sip_build_request(&mb, &s))
		sip_transp_send(eng->tp, resp->tp, NULL, &local, &resp->src, mb.buf, mb.end);
	mbuf_reset(&mb);
	sip_branch_new(branch, sizeof(branch));
	s.method = "BYE";
	s.cseq = resp->cseq.num + 1;
	if (!sip_build_request(&mb, &s))
		sip_ctrans_request_from(NULL, eng->stack, resp->tp, &local, &resp->src, &mb, NULL,
					NULL);
	mbuf_reset(&mb);
out:
	free(target);
	free(routes);
	free(from);
	free(to);
	free(cid);
}

void call_answer_caller(struct call *c, struct call_leg *b, const char *sdp)
{
	struct call_leg *a = c->a;

	if (!c->answered)
		c->answer_ms = call_wall_ms(); /* a transferred call keeps its first answer */
	if (c->from_line && !c->answered)
		call_notify(c, NOTIFY_ANSWERED);
	c->answered = true;
	c->b = b;
	call_lm_dial_moh_stop(c);
	c->state = CALL_UP;
	pbx_chan_set_var(c->chan, "DIALSTATUS", "ANSWER");
	if (a && !a->st && a->state == LEG_CONFIRMED && a->sent_dir_set &&
	    a->sent_dir != SDP_SENDRECV) {
		/* A transferred party: the phone that transferred it had put it on hold first (as
		 * most softphones do); the new callee talks to it, so the hold is taken back. */
		call_pass_direction(b, a, SDP_SENDRECV, false);
	}
	if (!a || !a->st)
		return;
	/* With the relay, sdp is our answer to the caller; without, the callee's passes as is. */
	call_a_reply(a, &a->st, 200, sdp ? sdp : b->sdp_remote);
	call_leg_set_state(a, LEG_CONFIRMED);
	call_se_timer_start(a);
}

/* Dial's g and F: the answered callee hung up (its BYE was answered) and the caller, still up,
 * goes on in the dialplan at the next priority (or F's target) with DIALSTATUS ANSWER, as in
 * Asterisk; its media leg is left unbridged for whatever runs next (Playback, another Dial). */
void call_dial_continue(struct call *c)
{
	struct call_leg *b = c->b;
	char secs[24];

	log_info("%s: hung up; %s goes on in the dialplan (Dial %s)", b->name, c->a->name,
		 c->cont_target[0] ? "F" : "g");
	loop_timer_cancel(&c->tmr); /* S()/L() */
	call_dtmf_free(c);	    /* D() digits still to send */
	str_copy(c->done_b, sizeof(c->done_b), b->name);
	str_copy(c->done_b_cid, sizeof(c->done_b_cid), b->call_id ? b->call_id : "");
	if (c->eng->media)
		call_media_account(c->eng, b);
	call_leg_free(b); /* clears c->b; the caller's media leg is unbridged */
	pbx_chan_set_var(c->chan, "ANSWEREDTIME",
			 str_u64(secs, (uint64_t)(c->answer_ms ? (call_wall_ms() - c->answer_ms) / 1000
							       : 0)));
	pbx_chan_set_var(c->chan, "DIALSTATUS", "ANSWER");
	if (c->cont_target[0] && pbx_chan_goto(c->chan, c->cont_target))
		log_warn("Dial: F(%s): no such priority; going on at the next one", c->cont_target);
	c->dial_cont = false;
	c->dial_open = false;
	c->limit_ms = 0;
	c->state = CALL_ROUTING;
	call_run(c);
}

/* The answered INVITE's transaction has ended (no more 2xx retransmissions can come): its memory
 * goes back rather than staying for the whole call. */
static void acc_done_h(void *arg)
{
	struct call_leg *leg = arg;

	sip_ctrans_abandon(leg->acc_ct);
	leg->acc_ct = mem_deref(leg->acc_ct);
}

void call_b_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct call_leg *leg = arg;
	struct call *c = leg->call;
	uint16_t code = resp ? resp->scode : 408;
	char *msdp = NULL;

	if (resp && code < 200) {
		if (code == 100 || !c)
			return;
		if (pl_isset(&resp->to.tag) && leg->state == LEG_CALLING) {
			call_leg_set_state(leg, LEG_EARLY);
			call_set_str(&leg->rtag, pl_strdup(&resp->to.tag));
			call_set_str(&leg->routes, call_route_set(resp, true));
			{
				char *t = call_contact_uri(resp);

				if (t)
					call_set_str(&leg->target, t);
			}
		}
		/* RFC 3262: a reliable provisional gets its PRACK. */
		if (sip_msg_has_option(resp, SIP_HDR_REQUIRE, "100rel")) {
			const struct sip_hdr *rs = sip_msg_hdr(resp, SIP_HDR_RSEQ);
			uint32_t rseq = 0;
			struct pl v;
			char rack[96];

			if (rs) {
				v = rs->value;
				pl_trim(&v);
			}
			if (rs && !pl_u32(&v, &rseq) && leg->rseq && rseq != leg->rseq + 1) {
				/* RFC 3262 §4: a retransmission was PRACKed already; one past a
				 * gap is not acknowledged (its predecessor will be resent). */
				return;
			}
			if (rs && rseq && pl_isset(&resp->to.tag)) {
				char *save = leg->rtag;

				leg->rseq = rseq;
				leg->rtag = pl_strdup(&resp->to.tag);
				snprintf(rack, sizeof(rack), "RAck: %u %u INVITE\r\n", rseq,
					 resp->cseq.num);
				call_leg_request(leg, "PRACK", rack, NULL, NULL, prack_resp_h, leg, NULL,
						 0);
				free(leg->rtag);
				leg->rtag = save;
			}
		}
		if (resp->body.l)
			call_leg_set_sdp_remote(leg, call_body_dup(resp));
		relay_provisional(c, leg, resp);
		return;
	}

	/* Final. */
	if (resp && code == 422 && leg->ct && c && c->state != CALL_ENDING && !leg->cancelled &&
	    leg->n422 < 2 && !call_leg_retry_422(leg, resp))
		return;
	if (resp && code < 300 && !leg->ct && leg->acc_ct) {
		/* The 2xx again (our ACK was lost) or another fork's 2xx to the same INVITE. */
		if (leg->rtag && pl_eq_str(&resp->to.tag, leg->rtag) && leg->ack.end)
			sip_transp_send(leg->eng->tp, leg->tp, NULL, &leg->local, &leg->dst,
					leg->ack.buf, leg->ack.end);
		else
			ack_and_bye(leg->eng, resp);
		return;
	}
	if (resp && code < 300 && leg->ct) {
		leg->acc_ct = mem_ref(leg->ct); /* ours for 64*T1: see above */
		loop_timer_start_lazy(leg->eng->loop, &leg->acc_tmr, 64 * SIP_T1_DEFAULT,
				      acc_done_h, leg);
	} else {
		sip_ctrans_abandon(leg->ct);
	}
	leg->ct = NULL;
	leg->final = code;
	if (resp && code < 300) {
		leg->lcseq = MAX(leg->lcseq, resp->cseq.num);
		leg_confirm_from(leg, resp);
		call_leg_set_state(leg, LEG_CONFIRMED);
		call_leg_request(leg, "ACK", NULL, NULL, NULL, NULL, NULL, NULL, resp->cseq.num);
		if (!c || c->state == CALL_ENDING || (c->b && c->b != leg) || leg->cancelled) {
			log_info("%s: answer after the call moved on: ACK and BYE", leg->name);
			call_leg_bye(leg);
			if (c) {
				call_leg_free(leg);
				dial_check(c);
			} else {
				call_leg_free(leg);
			}
			return;
		}
		if (c->a && c->a->ml && leg->ml) {
			int merr = call_media_answer(c->a, leg, resp->body.l ? &resp->body : NULL,
						     &msdp);

			if (merr) {
				log_notice("%s: answered with unusable SDP (%s): BYE", leg->name,
					   strerror(merr));
				call_leg_bye(leg);
				note_final(c, 488);
				call_leg_free(leg);
				dial_check(c);
				return;
			}
		}
		log_info("%s: answered", leg->name);
		call_cancel_pending(c, leg, "SIP;cause=200;text=\"Call completed elsewhere\"");
		c->dial_open = false;
		loop_timer_cancel(&c->tmr);
		call_answer_caller(c, leg, msdp);
		free(msdp);
		if (c->limit_ms)
			loop_timer_start(c->eng->loop, &c->tmr, c->limit_ms, limit_h, c);
		call_dtmf_start(c); /* Dial's D() */
		return;
	}
	call_leg_set_state(leg, LEG_TERMINATED);
	if (err && !resp)
		log_info("%s: no answer (%s)", leg->name, strerror(err));
	else
		log_info("%s: %u", leg->name, code);
	if (!c) {
		call_leg_free(leg);
		return;
	}
	note_final(c, code);
	if (c->b == leg) {
		c->b = NULL;
	}
	call_leg_free(leg);
	dial_check(c);
}

/* A response that matched no transaction: a retransmitted 2xx (our ACK got lost) or a fork. */
void call_stray_h(struct sip_stack *stack, const struct sip_msg *resp, void *arg)
{
	struct call_eng *eng = arg;
	struct call_leg *leg;

	(void)stack;
	if (!resp->cseq_ok || resp->cseq.mid != SIP_METHOD_INVITE || resp->scode < 200 ||
	    resp->scode >= 300 || !resp->from_ok || !resp->to_ok)
		return;
	leg = call_leg_find(eng, &resp->call_id, &resp->from.tag, &resp->to.tag);
	if (leg && leg->uac && leg->rtag && pl_eq_str(&resp->to.tag, leg->rtag) && leg->ack.end) {
		sip_transp_send(eng->tp, leg->tp, NULL, &leg->local, &leg->dst, leg->ack.buf,
				leg->ack.end);
		return;
	}
	ack_and_bye(eng, resp);
}
