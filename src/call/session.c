/* call session: session timers (RFC 4028), reliable provisionals toward the caller (RFC 3262). */
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

void call_prov_stop(struct call_leg *leg)
{
	loop_timer_cancel(&leg->prov_tmr);
	mbuf_reset(&leg->prov);
	leg->prov_sdp = false;
}

static void prov_retx_h(void *arg)
{
	struct call_leg *leg = arg;
	struct call_eng *eng = leg->eng;
	struct sip_strans *st = leg->st ? leg->st : leg->pend_st;

	uint64_t elapsed;

	if (!leg->prov.end || !st)
		return;
	elapsed = loop_now(eng->loop) - leg->prov_started;
	if (elapsed >= 64 * SIP_T1_DEFAULT) {
		/* RFC 3262 §3: no PRACK in 64*T1: the INVITE is rejected with a 5xx. */
		log_warn("%s: no PRACK for our reliable %u: ending the call", leg->name,
			 (unsigned)leg->pend_code);
		call_prov_stop(leg);
		if (leg->pend_st) {
			leg->st = leg->pend_st;
			leg->pend_st = NULL;
			call_leg_set_state(leg, LEG_EARLY);
		}
		leg->pend_code = 0;
		call_a_reply(leg, &leg->st, 504, NULL);
		if (leg->call)
			call_hangup(leg->call, 102);
		return;
	}
	sip_strans_reply_raw(st, 180, &leg->prov);
	/* No T2 cap here: RFC 3262 §3 doubles the interval on every retransmission; the last
	 * wait is cut so the 5xx comes at 64*T1 exactly. */
	leg->prov_interval *= 2;
	elapsed = loop_now(eng->loop) - leg->prov_started;
	loop_timer_start(eng->loop, &leg->prov_tmr,
			 (uint32_t)MIN((uint64_t)leg->prov_interval, 64 * SIP_T1_DEFAULT - elapsed),
			 prov_retx_h, leg);
}

/* A PRACK on the caller's leg: acknowledges our outstanding reliable provisional when its RAck
 * names it exactly (RSeq, CSeq number and method), then sends what waited for it. */
void call_a_prack(struct call_leg *leg, struct sip_strans *st, const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_RACK);
	uint32_t rseq = 0, cseq = 0;
	char method[16] = "";
	char *sdp;
	uint16_t code;

	if (h) {
		char v[96];

		pl_strcpy(&h->value, v, sizeof(v));
		if (sscanf(v, "%u %u %15s", &rseq, &cseq, method) != 3)
			rseq = 0;
	}
	if (!rseq || rseq != leg->prov_rseq || !leg->inv || cseq != leg->inv->cseq.num ||
	    strcasecmp(method, "INVITE")) {
		sip_strans_reply(st, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL);
		return;
	}
	sip_strans_reply(st, 200, "OK", NULL, NULL, NULL);
	if (!leg->prov.end)
		return; /* a PRACK we already took (a new transaction with the same RAck) */
	call_prov_stop(leg);
	code = leg->pend_code;
	leg->pend_code = 0;
	sdp = leg->pend_sdp;
	leg->pend_sdp = NULL;
	if (code >= 200 && leg->pend_st) {
		struct sip_strans *pst = leg->pend_st;

		leg->pend_st = NULL;
		call_a_reply(leg, &pst, code, sdp);
	} else if (code && leg->st) {
		call_a_reply(leg, &leg->st, code, sdp);
	}
	free(sdp);
}

/* Sends a provisional reliably (Require: 100rel, RSeq), or queues it behind the one not yet
 * PRACKed (RFC 3262 §3 allows one at a time). */
void call_a_reply_reliable(struct call_leg *leg, struct sip_strans *st, uint16_t code,
			     const char *sdp)
{
	const struct sip_msg *req = sip_strans_msg(st);
	struct pl body = sdp ? pl_from_str(sdp) : (struct pl)PL_INIT;
	struct mbuf ex;

	if (leg->prov.end) {
		/* Keep the one that matters most: a session description beats plain ringing. */
		if (!leg->pend_code || sdp || !leg->pend_sdp) {
			leg->pend_code = code;
			call_set_str(&leg->pend_sdp, sdp ? strdup(sdp) : NULL);
		}
		return;
	}
	mbuf_init(&ex);
	call_a_headers(leg, req, &ex, code);
	mbuf_printf(&ex, "Require: 100rel\r\nRSeq: %u\r\n", ++leg->prov_rseq);
	mbuf_write(&ex, "", 1);
	mbuf_reset(&leg->prov);
	if (!sip_build_response(&leg->prov, req, code, call_reason_for(code), sip_strans_totag(st),
				(const char *)ex.buf, sdp ? "application/sdp" : NULL,
				sdp ? &body : NULL) &&
	    !sip_strans_reply_raw(st, code, &leg->prov)) {
		leg->prov_sdp = sdp != NULL;
		leg->prov_interval = SIP_T1_DEFAULT;
		leg->prov_started = loop_now(leg->eng->loop);
		loop_timer_start(leg->eng->loop, &leg->prov_tmr, leg->prov_interval, prov_retx_h,
				 leg);
		if (sdp)
			call_set_str(&leg->sdp_local, strdup(sdp));
	} else {
		mbuf_reset(&leg->prov);
	}
	mbuf_reset(&ex);
}

/* ---------------------------------------------------------------------------------------------
 * Session timers (RFC 4028)
 */

static void se_refresh_resp_h(int err, const struct sip_msg *resp, void *arg)
{
	struct call_leg *leg = arg;

	if (resp && resp->scode < 200)
		return;
	leg->rct = NULL;
	if (err || (resp && (resp->scode == 481 || resp->scode == 408))) {
		log_notice("%s: session refresh failed (%d): ending the call", leg->name,
			   resp ? resp->scode : 0);
		if (leg->call)
			call_hangup(leg->call, 102);
	}
}

static void se_timer_h(void *arg)
{
	struct call_leg *leg = arg;
	char ex[128];

	if (!leg->call || leg->state != LEG_CONFIRMED)
		return;
	if (!leg->refresher) {
		log_notice("%s: session expired (no refresh in %u s): ending the call", leg->name,
			   leg->se);
		call_hangup(leg->call, 102);
		return;
	}
	snprintf(ex, sizeof(ex), "Session-Expires: %u;refresher=%s\r\nSupported: %s\r\n", leg->se,
		 leg->uac ? "uac" : "uas", CALL_SUPPORTED(leg));
	if (leg->rct) {
		/* A relayed offer is in flight: it refreshes the session too. */
	} else if (leg->allow_update) {
		call_leg_request(leg, "UPDATE", ex, NULL, NULL, se_refresh_resp_h, leg, &leg->rct,
				 0);
	} else {
		call_leg_request(leg, "INVITE", ex, "application/sdp", leg->sdp_local,
				 se_refresh_resp_h, leg, &leg->rct, 0);
	}
	call_se_timer_start(leg);
}

void call_se_timer_start(struct call_leg *leg)
{
	uint64_t ms;

	if (!leg->se) {
		loop_timer_cancel(&leg->se_tmr);
		return;
	}
	if (leg->refresher)
		ms = (uint64_t)leg->se * 500;
	else
		ms = (uint64_t)leg->se * 1000 - (uint64_t)MIN(32, leg->se / 3) * 1000;
	loop_timer_start(leg->eng->loop, &leg->se_tmr, ms, se_timer_h, leg);
}

/* RFC 4028 §7.4: the callee wants a longer session interval: the INVITE goes again (new CSeq,
 * same dialog identifiers) with Session-Expires raised to its Min-SE. */
int call_leg_retry_422(struct call_leg *leg, const struct sip_msg *resp)
{
	struct call_eng *eng = leg->eng;
	uint32_t min_se = call_min_se_of(resp), se;
	char ex[1024];
	int err;

	if (!min_se || min_se > 86400)
		return EINVAL;
	se = MAX(min_se, eng->set.session_expires);
	snprintf(ex, sizeof(ex),
		 "Allow: " CALL_ALLOW
		 "\r\nSupported: %s\r\nSession-Expires: %u\r\nMin-SE: %u\r\n%s",
		 CALL_SUPPORTED(leg), se, MAX(min_se, eng->set.min_se),
		 leg->inv_extra ? leg->inv_extra : "");
	sip_ctrans_abandon(leg->ct);
	leg->ct = NULL;
	leg->n422++;
	free(leg->rtag);
	leg->rtag = NULL;
	call_leg_set_state(leg, LEG_CALLING);
	leg->inv_cseq = leg->lcseq + 1;
	err = call_leg_request(leg, "INVITE", ex, leg->sdp_local ? "application/sdp" : NULL,
			       leg->sdp_local, call_b_resp_h, leg, &leg->ct, 0);
	if (!err)
		log_info("%s: 422, calling again with Session-Expires %u", leg->name, se);
	return err;
}
