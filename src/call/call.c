/* call: the B2BUA core: call lifecycle (new call, hangup), the dialplan step machine, the engine. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "call_int.h"
#include "astdb.h"
#include "media.h"
#include "cfg.h"
#include "notify.h"
#include "peer.h"
#include "screen.h"
#include "store.h"

#define LOG_MODULE "call"

static void call_maybe_free(struct call *c);

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 */

int64_t call_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *call_dupf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

size_t call_fix_value(char *s, bool strip_tag)
{
	char *t;

	for (char *p = s; *p; p++) {
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	}
	if (strip_tag && (t = strcasestr(s, ";tag="))) {
		char *e = t + 5;

		while (*e && *e != ';')
			e++;
		memmove(t, e, strlen(e) + 1);
	}
	return strlen(s);
}

/* A header value copied for reuse in a header line: folded line ends become spaces. */
char *call_dup_value(const struct pl *v)
{
	char *s = pl_strdup(v);

	if (s)
		call_fix_value(s, false);
	return s;
}

void call_set_str(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

const char *call_str_or(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

void call_refused(struct call_eng *eng, const struct sip_msg *msg, const char *why)
{
	char a[SA_STRLEN];

	eng->n_refused++;
	log_notice("refused %.*s from %s (%.*s -> %.*s): %s", PL_ARG(msg->method),
		   sa_fmt(&msg->src, a, sizeof(a)), PL_ARG(msg->from.uri.user),
		   PL_ARG(msg->uri.user), why);
}


/* Leaves a leg whose INVITE is still unanswered to finish on its own (a CANCEL was sent; a 2xx
 * crossing it gets ACK and BYE). */
static void leg_orphan(struct call_leg *leg)
{
	call_media_leg_free(leg);
	list_unlink(&leg->le_call);
	leg->call = NULL;
	list_append(&leg->eng->orphans, &leg->le_eng, leg);
}

/* Ends the call: every leg gets what it needs (final response, CANCEL, BYE), the `h` extension
 * runs, the record is written. */
void call_hangup(struct call *c, unsigned cause)
{
	if (c->state == CALL_ENDING)
		return;
	c->state = CALL_ENDING;
	if (!c->cause)
		c->cause = cause;
	c->end_ms = call_wall_ms();
	if (c->from_line && !c->feature) {
		if (c->refuse_code)
			call_notify(c, NOTIFY_REJECTED);
		else if (!c->answered && c->notified_ring)
			call_notify(c, NOTIFY_MISSED);
	}
	if (!c->answered && !c->dialled && c->a && !c->screen[0]) {
		/* The dialplan refused it before anything rang (no such extension, Congestion(),
		 * Busy(), Hangup()): a toll-fraud attempt looks like this, so it names its source. */
		char a[SA_STRLEN];

		log_notice("refused call from %s (%s -> %s@%s): dialplan ended it with cause %u",
			   sa_fmt(&c->a->dst, a, sizeof(a)), c->src, c->dst, c->dcontext, cause);
	}
	call_park_leave(c);
	call_system_leave(c);
	loop_timer_cancel(&c->tmr);
	call_vm_hangup(c); /* a message being recorded is kept */
	call_lm_hangup(c); /* before the legs (and their recorders) go */
	c->dial_open = false;
	call_cancel_pending(
	    c, NULL,
	    cause == 16 && c->answered ? "SIP;cause=200;text=\"Call completed elsewhere\"" : NULL);
	while (c->legs.head) {
		struct call_leg *leg = c->legs.head->data;

		if (leg->uac && leg->ct) {
			leg_orphan(leg);
			continue;
		}
		if (!leg->uac && leg->pend_st) {
			/* Our 2xx still waited for a PRACK: never sent, so the INVITE fails. */
			call_prov_stop(leg);
			leg->st = leg->pend_st;
			leg->pend_st = NULL;
			leg->pend_code = 0;
			call_leg_set_state(leg, LEG_EARLY);
		}
		if (!leg->uac && leg->st)
			call_a_reply(leg, &leg->st,
				     c->refuse_code && !c->answered ? c->refuse_code
				     : c->media_code && !c->answered
					 ? c->media_code
					 : call_code_for_cause(c->cause),
				     NULL);
		call_leg_bye(leg);
		if (leg == c->a || leg == c->b) {
			/* Keep the names and Call-IDs for the record. */
			list_unlink(&leg->le_call);
			htab_unlink(&c->eng->legs, &leg->le_hash);
			loop_timer_cancel(&leg->ok_tmr);
			loop_timer_cancel(&leg->se_tmr);
			sip_ctrans_abandon(leg->rct);
			leg->rct = NULL;
			if (leg->rst)
				sip_strans_reply(leg->rst, 487, "Request Terminated", NULL, NULL,
						 NULL);
			leg->rst = NULL;
			continue;
		}
		call_leg_free(leg);
	}
	if (c->chan && pbx_chan_hangup(c->chan) == 0) {
		struct pbx_action act;
		int n = 0;

		/* The h extension: nothing waits any more; a System() there still runs (a common
		 * way to tell something else that a call ended). */
		while (n++ < 100 && pbx_chan_run(c->chan, &act) == 0 && act.type != PBX_ACT_END) {
			if (act.type == PBX_ACT_SYSTEM)
				call_system_detached(c->eng, &act);
		}
	}
	call_cdr_write(c);
	call_maybe_free(c);
}

static void call_free(struct call *c)
{
	call_park_leave(c);
	call_system_leave(c);
	loop_timer_cancel(&c->tmr);
	call_dtmf_free(c);
	call_vm_free(c);
	call_lm_free(c);
	while (c->legs.head)
		call_leg_free(c->legs.head->data);
	if (c->a) {
		c->a->call = NULL;
		call_leg_free(c->a);
	}
	if (c->b) {
		c->b->call = NULL;
		call_leg_free(c->b);
	}
	list_unlink(&c->le);
	pbx_chan_free(c->chan);
	mem_deref(c->init_req);
	mem_deref(c->cfg);
	free(c);
}

static void call_maybe_free(struct call *c)
{
	if (c->state == CALL_ENDING && !c->running)
		call_free(c);
}

/* ---------------------------------------------------------------------------------------------
 * The dialplan step machine
 */

static void wait_h(void *arg)
{
	struct call *c = arg;

	call_run(c);
}

void call_run(struct call *c)
{
	struct pbx_action act;
	int guard = 0;

	if (c->running) {
		c->rerun = true;
		return;
	}
	c->running = true;
	do {
		c->rerun = false;
		if (c->state != CALL_ROUTING)
			break;
		call_lm_dial_moh_stop(c); /* a Dial with m is over: its music too */
		if (pbx_chan_run(c->chan, &act)) {
			call_hangup(c, 38);
			break;
		}
		switch (act.type) {
		case PBX_ACT_ANSWER:
			str_copy(c->lastapp, sizeof(c->lastapp), "Answer");
			call_answer_local(c);
			c->rerun = true;
			break;
		case PBX_ACT_PROGRESS:
			if (c->a && c->a->st && !c->a->sent_183) {
				/* As Asterisk: 183 with our media (early media), so Playback(...,
				 * noanswer) is heard before an answer. */
				char *msdp = NULL;

				c->a->sent_183 = true;
				if (c->a->ml && c->a->sdp_remote)
					call_media_local_answer(c->a, &msdp);
				call_a_reply(c->a, &c->a->st, 183, msdp);
				free(msdp);
			}
			c->rerun = true;
			break;
		case PBX_ACT_RINGING:
			if (c->a && c->a->st && !c->a->sent_180) {
				c->a->sent_180 = true;
				call_a_reply(c->a, &c->a->st, 180, NULL);
			}
			c->rerun = true;
			break;
		case PBX_ACT_WAIT:
			str_copy(c->lastapp, sizeof(c->lastapp), "Wait");
			loop_timer_start(c->eng->loop, &c->tmr, act.wait_ms, wait_h, c);
			break;
		case PBX_ACT_DIAL:
			call_do_dial(c, &act.dial);
			break;
		case PBX_ACT_SENDDTMF:
			str_copy(c->lastapp, sizeof(c->lastapp), "SendDTMF");
			if (!c->a || !c->a->ml ||
			    call_dtmf_prepare(c, NULL, act.dtmf.digits, act.dtmf.duration_ms,
					      act.dtmf.gap_ms, true)) {
				c->rerun = true; /* nothing to send it on: the dialplan goes on */
				break;
			}
			call_dtmf_start(c);
			break;
		case PBX_ACT_BUSY:
			str_copy(c->lastapp, sizeof(c->lastapp), "Busy");
			call_hangup(c, 17);
			break;
		case PBX_ACT_CONGESTION:
			str_copy(c->lastapp, sizeof(c->lastapp), "Congestion");
			call_hangup(c, 34);
			break;
		case PBX_ACT_HANGUP:
			str_copy(c->lastapp, sizeof(c->lastapp), "Hangup");
			/* Hangup() without a cause keeps what the last Dial() ended with (a busy
			 * phone gives the caller 486, not 480), as Asterisk does. The dialplan
			 * reports an empty cause as 16, so 16 on an unanswered call is taken
			 * as "no cause". */
			if ((!act.cause || act.cause == 16) && !c->answered && c->best)
				act.cause = call_cause_for(c->best);
			call_hangup(c, act.cause ? act.cause : 16);
			break;
		case PBX_ACT_PLAY:
		case PBX_ACT_TONE:
		case PBX_ACT_ECHO:
		case PBX_ACT_MOH:
		case PBX_ACT_CONF:
		case PBX_ACT_RECORD:
		case PBX_ACT_MIXMONITOR:
		case PBX_ACT_STOPMIXMONITOR:
			call_lm_start(c, &act);
			break;
		case PBX_ACT_VOICEMAIL:
		case PBX_ACT_VOICEMAILMAIN:
			call_vm_start(c, &act);
			break;
		case PBX_ACT_PARK:
			call_park(c, &act);
			break;
		case PBX_ACT_SYSTEM:
			call_system(c, &act);
			break;
		case PBX_ACT_PARKEDCALL:
			call_parked_call(c, &act);
			break;
		case PBX_ACT_PICKUP:
			if (!call_pickup_app(c, &act))
				c->rerun = true; /* nothing picked up: the dialplan goes on */
			break;
		case PBX_ACT_END:
		default:
			call_hangup(c, c->best ? call_cause_for(c->best) : 16);
			break;
		}
	} while (c->rerun && ++guard < 1000);
	c->running = false;
	call_maybe_free(c);
}

/* ---------------------------------------------------------------------------------------------
 * New calls
 */

static void a_cancel_h(struct sip_strans *st, const struct sip_msg *cancel, void *arg)
{
	struct call *c = arg;

	(void)cancel;
	if (!c->a || c->a->st != st)
		return;
	log_info("%s: cancelled by the caller", c->a->name);
	call_a_reply(c->a, &c->a->st, 487, NULL);
	call_hangup(c, 16);
}

static size_t eng_ncalls(const struct call_eng *eng)
{
	return list_count(&eng->calls);
}

/* An INVITE with a Replaces header (RFC 3891 §3). Taking over a dialog is done for one case: the
 * early dialog of a callee leg we started toward a phone that still rings (§3 allows taking over
 * an early dialog the UA initiated): that is call pickup (pickup.c), returned in *ringing for a
 * phone's INVITE. Otherwise no such dialog: 481 as §3 requires; a dialog we have: 603 (the rest
 * of Replaces is implemented inside REFER, attended transfer, transfer.c). Returns true when st
 * was answered. */
static bool invite_replaces(struct call_eng *eng, struct sip_strans *st, const struct sip_msg *msg,
			    const struct peer *p, bool from_line, struct call_leg **ringing)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_REPLACES);
	struct pl v = h->value, cid, params = PL_INIT, totag, fromtag;
	const char *semi = pl_chr(&v, ';');
	struct call_leg *leg = NULL;

	cid = pl_from(v.p, semi ? (size_t)(semi - v.p) : v.l);
	pl_trim(&cid);
	if (semi)
		params = pl_from(semi, v.l - (size_t)(semi - v.p));
	if (cid.l && !sip_param_get(&params, "to-tag", &totag) &&
	    !sip_param_get(&params, "from-tag", &fromtag)) {
		leg = call_leg_find(eng, &cid, &totag, &fromtag);
		if (!leg)
			leg = call_leg_find(eng, &cid, &fromtag, &totag);
	}
	if (!leg || (!leg->uac && (leg->state == LEG_CALLING || leg->state == LEG_EARLY))) {
		/* §3: no such dialog, or an early dialog this UA did not initiate (a caller's). */
		call_refused(eng, msg, "INVITE with Replaces: no such dialog");
		sip_strans_reply(st, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL);
		return true;
	}
	if (leg->state == LEG_CONFIRMED && sip_param_exists(&params, "early-only")) {
		/* §3: early-only and the dialog is answered already. */
		call_refused(eng, msg, "INVITE with Replaces: early-only, the dialog is confirmed");
		sip_strans_reply(st, 486, "Busy Here", NULL, NULL, NULL);
		return true;
	}
	if (p && !from_line && leg->rtag && call_leg_ringing(leg)) {
		*ringing = leg;
		return false;
	}
	call_refused(eng, msg, "INVITE with Replaces: only a ringing phone's call can be taken");
	sip_strans_reply(st, 603, "Decline", NULL, NULL, NULL);
	return true;
}

static void new_invite(struct call_eng *eng, struct sip_strans *st, const struct sip_msg *msg)
{
	const struct sipcfg *pc = eng->cfg->peers;
	const struct sipcfg_general *g = sipcfg_general(pc);
	const struct peer *p = NULL;
	const struct reg_line *line = reg_line(eng->reg);
	bool from_line = false;
	const char *context;
	char exten[64], num[64], name[80], tmp[64], fnote[64] = "";
	struct call_ann fann = {.n = 0};
	struct call_ident id;
	struct screen_verdict verdict = {.action = SCREEN_ALLOW};
	bool feature = false, pickup = false;
	struct call_leg *replaced = NULL;
	struct call *c;
	struct call_leg *a;
	uint32_t se;
	struct pl refresher;
	int err;

	if (eng->reg && reg_is_banned(eng->reg, &msg->src)) {
		call_refused(eng, msg, "source banned after failed authentications");
		sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
		return;
	}
	/* Which peer a request comes from: a fixed peer by its (resolved) address; the line also
	 * by its server's address, routed by the line peer's context. Phones authenticate. */
	p = reg_peer_by_addr(eng->reg, pc, &msg->src);
	if (line->discovered && sa_isset(&line->local) && sa_eq_addr(&msg->dst, &line->local) &&
	    !reg_is_line_server(eng->reg, &msg->src) && (!p || p->dynamic)) {
		call_refused(eng, msg, "INVITE on the line side from a non-server address");
		sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
		return;
	}
	from_line = reg_is_line_server(eng->reg, &msg->src) || (p && reg_peer_is_line(eng->reg, p));
	if (from_line && (!p || !reg_peer_is_line(eng->reg, p)) && line->peer[0]) {
		const struct peer *lp = peer_find(pc, line->peer);

		if (lp)
			p = lp;
	}
	if (p && !from_line && (p->secret || p->md5secret) &&
	    !(p->insecure & PEER_INSECURE_INVITE)) {
		/* A phone with a fixed address still proves who it is. */
		if (call_auth_check(eng, st, msg, p) != CALL_AUTH_OK)
			return;
	} else if (!p && !from_line) {
		struct pl user = msg->from.uri.user;

		if (pl_strcpy(&user, tmp, sizeof(tmp)) == 0)
			p = peer_find(pc, tmp);
		if (p && p->type == PEER_TYPE_PEER)
			p = NULL;
		if (!p && g->allowguest) {
			p = NULL;
		} else if (call_auth_check(eng, st, msg, p) != CALL_AUTH_OK) {
			return;
		}
		if (p && !peer_acl_allows(p, &msg->src)) {
			call_refused(eng, msg, "address not permitted for this peer");
			sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
			return;
		}
	}
	if (p && !from_line &&
	    !peer_transport_allows(p, sip_transport_name(msg->tp ? msg->tp : SIP_TP_UDP))) {
		/* As Asterisk: a peer calling over a transport its transport= does not list. */
		call_refused(eng, msg, "transport not allowed by the peer's transport=");
		sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
		return;
	}
	/* Checked once the caller is known (an RFC 2543 peer without tags is challenged like any
	 * other): a dialog cannot be told apart from others without the From tag. */
	if (!pl_isset(&msg->from.tag)) {
		call_refused(eng, msg, "no From tag (RFC 2543 peer)");
		sip_strans_reply(st, 400, "Missing From Tag", NULL, NULL, NULL);
		return;
	}
	if (sip_msg_hdr(msg, SIP_HDR_REPLACES) &&
	    invite_replaces(eng, st, msg, p, from_line, &replaced))
		return;
	if (eng_ncalls(eng) >= eng->set.max_calls) {
		char ex[64];

		call_refused(eng, msg, "global call limit reached");
		snprintf(ex, sizeof(ex), "Retry-After: %u\r\n", eng->set.retry_after);
		sip_strans_reply(st, 503, "Service Unavailable", ex, NULL, NULL);
		return;
	}
	if (p && p->call_limit && call_peer_active_legs(eng, p->name) >= p->call_limit) {
		call_refused(eng, msg, "peer call-limit reached");
		sip_strans_reply(st, 486, "Busy Here", NULL, NULL, NULL);
		return;
	}
	se = call_session_expires(msg, &refresher);
	if (se && se < eng->set.min_se) {
		char ex[64];

		snprintf(ex, sizeof(ex), "Min-SE: %u\r\n", eng->set.min_se);
		sip_strans_reply(st, 422, "Session Interval Too Small", ex, NULL, NULL);
		return;
	}
	/* 100 at once (NGN-NOTES §2.5: the carrier drops slow calls). */
	sip_strans_reply(st, 100, "Trying", NULL, NULL, NULL);

	context = p ? p->context : g->context;
	if (from_line) {
		if (call_called_number(msg, exten, sizeof(exten)))
			str_copy(exten, sizeof(exten), "s");
	} else if (pl_strcpy(&msg->uri.user, exten, sizeof(exten)) || !exten[0]) {
		str_copy(exten, sizeof(exten), "s");
	}
	/* The line's identity rules (reasons, Privacy, +81) are the carrier's; a phone's From is
	 * taken as it is (its Privacy: id is for the callee, not for us). */
	if (from_line) {
		call_caller_ident(msg, &id);
	} else {
		memset(&id, 0, sizeof(id));
		call_caller_id(msg, id.num, sizeof(id.num), id.name, sizeof(id.name));
		id.pres = screen_callerpres(SCREEN_R_NONE, false);
	}
	str_copy(num, sizeof(num), id.num);
	str_copy(name, sizeof(name), id.name);
	if (!from_line && p && p->cid_num) {
		str_copy(num, sizeof(num), p->cid_num);
		if (p->cid_name)
			str_copy(name, sizeof(name), p->cid_name);
	}
	/* screening: the phonebook's name, the last caller (144 then 2), the rules; a phone's
	 * feature code. */
	if (from_line) {
		if (id.reason == SCREEN_R_NONE) {
			const char *pb = screen_db_name(eng->screen, num);

			if (pb)
				str_copy(name, sizeof(name), pb);
			screen_db_set_last(eng->screen, num);
		}
		screen_decide(eng->cfg->screen, eng->screen, exten, id.reason ? "" : num,
			      (enum screen_reason)id.reason, &verdict);
		if (verdict.action == SCREEN_VOICEMAIL) {
			if (dialplan_has_context(eng->cfg->dialplan, verdict.vm_context)) {
				context = verdict.vm_context;
			} else {
				log_warn("screening: voicemail for %s, but the dialplan has no "
					 "context '%s': refused (docs/SCREENING.md)",
					 verdict.why, verdict.vm_context);
				verdict.action = SCREEN_REJECT;
				verdict.code = 480;
			}
		}
	} else if (p && call_feature_code(eng, exten, fnote, sizeof(fnote), &fann)) {
		feature = true;
	} else if (p && eng->cfg->pickupexten[0] && !strcmp(exten, eng->cfg->pickupexten)) {
		/* As Asterisk: the pickup extension is taken before the dialplan is looked at. */
		pickup = true;
	}
	/* A display name goes into a quoted string toward the phones: no quotes, backslashes or
	 * control characters. */
	for (char *q = name; *q; q++) {
		if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20)
			*q = ' ';
	}

	c = mem_zmalloc(sizeof(*c));
	if (!c) {
		sip_strans_reply(st, 500, "Server Internal Error", NULL, NULL, NULL);
		return;
	}
	c->eng = eng;
	c->cfg = mem_ref(eng->cfg);
	c->id = ++eng->seq;
	c->start_ms = call_wall_ms();
	str_copy(c->src, sizeof(c->src), num);
	str_copy(c->dst, sizeof(c->dst), exten);
	str_copy(c->dcontext, sizeof(c->dcontext), context);
	str_copy(c->cid_num, sizeof(c->cid_num), num);
	str_copy(c->cid_name, sizeof(c->cid_name), name);
	str_cat(c->clid, sizeof(c->clid), "\"", name, "\" <", num, ">", NULL);
	c->from_line = from_line;
	c->feature = feature;
	c->reason = id.reason;
	if (from_line) {
		str_copy(c->called, sizeof(c->called), exten);
		if (verdict.action != SCREEN_ALLOW || strcmp(verdict.why, "allowed"))
			snprintf(c->screen, sizeof(c->screen), "%s %s", verdict.why,
				 verdict.action == SCREEN_REJECT      ? "reject"
				 : verdict.action == SCREEN_VOICEMAIL ? "voicemail"
								      : "allow");
		if (verdict.action == SCREEN_REJECT)
			c->refuse_code = verdict.code ? verdict.code : 603;
	}
	list_append(&eng->calls, &c->le, c);

	err = pbx_chan_alloc(&c->chan, c->cfg->dialplan, context, exten, num, name);
	if (err) {
		log_notice("call to %s@%s: no such context", exten, context);
		a = NULL;
		sip_strans_reply(st, 404, "Not Found", NULL, NULL, NULL);
		c->cause = 1;
		c->state = CALL_ENDING;
		c->end_ms = c->start_ms;
		call_free(c);
		return;
	}
	pbx_chan_set_callerpres(c->chan, id.pres);
	pbx_chan_set_func_h(c->chan, call_dp_func_read, c);
	pbx_chan_set_func_write_h(c->chan, call_dp_func_write);
	/* The calling phone's language= picks the sounds its caller hears (as Asterisk). */
	if (p && !from_line && p->language)
		pbx_chan_set_var(c->chan, "CHANNEL(language)", p->language);
	if (from_line)
		pbx_chan_set_var(c->chan, "SCREEN_REASON",
				 screen_reason_name((enum screen_reason)id.reason));
	a = call_leg_alloc(eng, c, false);
	if (!a) {
		sip_strans_reply(st, 500, "Server Internal Error", NULL, NULL, NULL);
		c->state = CALL_ENDING;
		call_free(c);
		return;
	}
	c->a = a;
	a->is_line = from_line;
	str_copy(a->peer, sizeof(a->peer), p ? p->name : (from_line ? "line" : "guest"));
	{
		char seq[STR_U64_LEN];

		str_cat(a->name, sizeof(a->name), "SIP/", a->peer, "-",
			str_x64(seq, ++eng->seq, 8), NULL);
	}
	a->st = st;
	a->inv = mem_ref((void *)msg);
	if (dialplan_reads_sip_headers(c->cfg->dialplan))
		c->init_req = mem_ref((void *)msg);
	a->rel100 = eng->set.rel100 && (sip_msg_has_option(msg, SIP_HDR_SUPPORTED, "100rel") ||
					sip_msg_has_option(msg, SIP_HDR_REQUIRE, "100rel"));
	a->tp = msg->tp;
	a->dst = msg->src;
	if (msg->via_ok && !msg->via.rport && msg->via.port && !sip_transport_reliable(msg->tp))
		sa_set_port(&a->dst, msg->via.port);
	a->local = msg->dst;
	a->nat = call_leg_nat(c, &msg->src, from_line);
	a->rtag = pl_strdup(&msg->from.tag);
	{
		/* The fixed strings in one allocation (call_leg_ids_alloc), each written in place:
		 * Call-ID, our tag, To value without its tag, From value, Contact. */
		const struct sip_hdr *th = sip_msg_hdr(msg, SIP_HDR_TO);
		const struct sip_hdr *fh = sip_msg_hdr(msg, SIP_HDR_FROM);
		const char *totag = sip_strans_totag(st);
		char host[SA_STRLEN], port[STR_U64_LEN];
		/* tls: in-dialog requests must come back over TLS (RFC 3261 §26.2.2). */
		const char *tpp = msg->tp == SIP_TP_TLS ? ";transport=tls" : "";
		struct sa adv;
		bool v6;
		const char *pn;
		size_t lct, ltag = totag ? strlen(totag) : 0;
		char *b;

		call_leg_adv(a, &adv); /* externaddr for a phone outside the NAT */
		v6 = sa_af(&adv) == AF_INET6;
		pn = str_u64(port, sa_port(&adv));
		sa_ntop(&adv, host, sizeof(host));
		lct = str_cat(NULL, 0, "<sip:", exten, v6 ? "@[" : "@", host, v6 ? "]:" : ":", pn,
			      tpp, ">", NULL);
		b = th && fh && totag ? call_leg_ids_alloc(a, msg->call_id.l + ltag + th->value.l +
								  fh->value.l + lct + 5)
				      : NULL;
		if (b) {
			a->call_id = b;
			b = call_leg_put(b, msg->call_id.p, msg->call_id.l);
			a->ltag = b;
			b = call_leg_put(b, totag, ltag);
			a->lhdr = b;
			call_leg_put(b, th->value.p, th->value.l);
			b += call_fix_value(b, true) + 1;
			a->rhdr = b;
			call_leg_put(b, fh->value.p, fh->value.l);
			b += call_fix_value(b, false) + 1;
			a->contact = b;
			str_cat(b, lct + 1, "<sip:", exten, v6 ? "@[" : "@", host, v6 ? "]:" : ":",
				pn, tpp, ">", NULL);
		}
	}
	a->target = call_contact_uri(msg);
	a->routes = call_route_set(msg, false);
	a->rcseq = msg->cseq.num;
	a->lcseq = 1;
	a->sdp_remote = call_body_dup(msg);
	a->allow_update = sip_msg_has_option(msg, SIP_HDR_ALLOW, "UPDATE");
	if (se) {
		a->se = MAX(se, call_min_se_of(msg));
		/* NGN-NOTES §2.5: echo refresher=uac (the carrier refreshes). */
		a->refresher = pl_isset(&refresher) && pl_caseeq_str(&refresher, "uas");
	} else if (from_line) {
		a->se = eng->set.line_se;
	}
	call_leg_set_state(a, LEG_EARLY);
	if (!a->ids || !a->rtag) {
		c->state = CALL_ENDING;
		call_free(c);
		return;
	}
	if (!a->target) {
		char sb[SA_STRLEN];

		a->target = call_dupf("sip:%s", sa_fmt(&msg->src, sb, sizeof(sb)));
	}
	call_leg_index(a);
	sip_strans_set_cancel_handler(st, a_cancel_h, c);
	log_info("%s: call from %s to %s@%s", a->name, num, exten, context);
	if (eng->media) {
		uint16_t mcode = call_media_caller(a, msg, p);

		if (mcode) {
			c->media_code = mcode;
			call_hangup(c, call_cause_for(mcode));
			return;
		}
	}
	if (c->refuse_code) {
		/* Refused before any phone rings (announcements: docs/SCREENING.md). */
		eng->n_screened[!strcmp(verdict.why, "blocklist") ? 0
				: c->refuse_code == 480		  ? 3 /* no voicemail context */
				: id.reason == SCREEN_R_WITHHELD  ? 1
								  : 2]++;
		str_copy(c->lastapp, sizeof(c->lastapp), "Screening");
		snprintf(c->lastdata, sizeof(c->lastdata), "%s %u", c->screen, c->refuse_code);
		log_notice("%s: call from %s refused by screening (%s): %u", a->name, num,
			   c->screen, c->refuse_code);
		/* The announcement first when local media can play it (early media), then the
		 * refusal: a withheld caller is asked to show the number, others are told the
		 * call is not accepted. */
		{
			const char *ann = c->refuse_code == 433 ? "privacy-unident"
					  : c->refuse_code == 603 ? "cannot-complete-as-dialed"
								  : NULL;

			if (ann && call_announce(c, &ann, 1, false))
				return;
		}
		call_hangup(c, call_cause_for(c->refuse_code));
		return;
	}
	if (feature) {
		/* Without sounds: confirmed by answering, then hanging up a second later. */
		char *msdp = NULL;

		str_copy(c->lastapp, sizeof(c->lastapp), "BlockCaller");
		str_copy(c->lastdata, sizeof(c->lastdata), fnote);
		c->state = CALL_UP;
		if (call_announce(c, fann.names, fann.n, true))
			return; /* BYE once it has been said */
		c->answered = true;
		c->answer_ms = call_wall_ms();
		if (a->ml)
			call_media_local_answer(a, &msdp);
		call_a_reply(a, &a->st, 200, msdp ? msdp : a->sdp_remote);
		free(msdp);
		call_leg_set_state(a, LEG_CONFIRMED);
		c->state = CALL_UP;
		loop_timer_start(eng->loop, &c->tmr, 1000, call_feature_bye_h, c);
		return;
	}
	if (replaced) {
		call_pickup_replaces(c, replaced);
		return;
	}
	if (pickup) {
		call_pickup_group(c);
		return;
	}
	/* Calls from the line: 180 promptly, whatever the dialplan does (NGN-NOTES §2.5). */
	if (from_line) {
		a->sent_180 = true;
		call_a_reply(a, &a->st, 180, NULL);
	}
	call_run(c);
}

bool call_handle_request(struct sip_strans *st, const struct sip_msg *msg, void *arg)
{
	struct call_eng *eng = arg;

	if (!msg->from_ok || !msg->to_ok || !msg->cseq_ok)
		return false;
	if (pl_isset(&msg->to.tag))
		return call_in_dialog(eng, st, msg);
	if (!st)
		return true; /* ACK without a dialog: dropped */
	if (msg->mid != SIP_METHOD_INVITE)
		return false;
	if (msg->body.l > 16384) {
		sip_strans_reply(st, 413, "Request Entity Too Large", NULL, NULL, NULL);
		return true;
	}
	if (eng->cfg)
		new_invite(eng, st, msg);
	else
		sip_strans_reply(st, 503, "Service Unavailable", NULL, NULL, NULL);
	return true;
}

/* ---------------------------------------------------------------------------------------------
 * The engine
 */

void call_settings_default(struct call_settings *set)
{
	memset(set, 0, sizeof(*set));
	set->max_calls = 64;
	set->session_expires = 1800;
	set->min_se = 90;
	set->rel100 = true;
	set->line_se = 300;
	reg_digest_set_default(&set->digest);
	set->retry_after = 10;
}

static int reg_locate(const char *peer, reg_contact_h *h, void *harg, void *arg)
{
	return reg_contacts(arg, peer, h, harg);
}

int call_eng_alloc(struct call_eng **engp, struct loop *loop, struct sip_stack *stack,
		   struct store *store, struct reg *reg, struct cfg *cfg,
		   const struct call_settings *set)
{
	struct call_eng *eng;
	int err;

	if (!engp || !loop || !stack)
		return EINVAL;
	eng = calloc(1, sizeof(*eng));
	if (!eng)
		return ENOMEM;
	eng->loop = loop;
	eng->stack = stack;
	eng->tp = sip_stack_transp(stack);
	eng->store = store;
	eng->reg = reg;
	eng->cfg = cfg ? mem_ref(cfg) : NULL;
	if (set)
		eng->set = *set;
	else
		call_settings_default(&eng->set);
	if (reg) {
		eng->locate = reg_locate;
		eng->locate_arg = reg;
	}
	err = htab_init(&eng->legs, 64);
	if (!err)
		err = call_auth_init(eng);
	if (err) {
		htab_reset(&eng->legs);
		mem_deref(eng->cfg);
		free(eng);
		return err;
	}
	sip_stack_set_stray_response_handler(stack, call_stray_h, eng);
	*engp = eng;
	return 0;
}

void call_eng_free(struct call_eng *eng)
{
	if (!eng)
		return;
	while (eng->calls.head)
		call_hangup(eng->calls.head->data, 16);
	while (eng->orphans.head)
		call_leg_free(eng->orphans.head->data);
	call_system_free_all(eng);
	sip_stack_set_stray_response_handler(eng->stack, NULL, NULL);
	htab_reset(&eng->legs);
	call_auth_free(eng);
	mem_deref(eng->cfg);
	free(eng);
}

void call_eng_set_cfg(struct call_eng *eng, struct cfg *newcfg)
{
	if (!eng)
		return;
	mem_deref(eng->cfg);
	eng->cfg = newcfg ? mem_ref(newcfg) : NULL;
}

void call_eng_set_locator(struct call_eng *eng, call_locate_h *h, void *arg)
{
	eng->locate = h;
	eng->locate_arg = arg;
}

void call_eng_set_screen(struct call_eng *eng, struct screen_db *db)
{
	if (eng)
		eng->screen = db;
}

void call_eng_set_notify(struct call_eng *eng, struct notify *n)
{
	if (eng)
		eng->notify = n;
}

void call_eng_set_media(struct call_eng *eng, struct media *m)
{
	if (eng)
		eng->media = m;
}

size_t call_count(const struct call_eng *eng)
{
	return eng ? list_count(&eng->calls) : 0;
}

size_t call_leg_count(const struct call_eng *eng)
{
	return eng ? eng->legs.count + list_count(&eng->orphans) : 0;
}

