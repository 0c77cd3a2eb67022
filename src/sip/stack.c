/* stack: the SIP stack object, which owns the transport and the transaction tables, and its
 * receive path: stateless answers to broken requests (RFC 3261 §8.2, §16.3), then transactions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "sip"
#include "sip_int.h"
#include "trans_int.h"

static const char allow_default[] = "INVITE, ACK, CANCEL, BYE, OPTIONS";

void sip_stack_reply_stateless(struct sip_stack *stack, const struct sip_msg *req, uint16_t code,
			       const char *reason, const char *extra)
{
	char totag[24];
	struct mbuf mb;
	int err;

	mbuf_init(&mb);
	sip_tag_new(totag, sizeof(totag));
	err = sip_build_response(&mb, req, code, reason, totag, extra, NULL, NULL);
	if (!err)
		err = sip_transp_send_response(stack->tp, req, mb.buf, mb.end);
	if (err)
		log_debug("stateless %u to %.*s failed: %s", code, PL_ARG(req->method),
			  strerror(err));
	mbuf_reset(&mb);
}

/* A request whose top Via has broken parameters (RFC 4475 badinv01: "192.0.2.15;;,;,,") still
 * names where it came from; its sent-by is enough to send the 400 back (§18.2.2). */
static bool via_sentby_fallback(struct sip_msg *req)
{
	const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_VIA);
	struct sip_via via;
	struct pl v;
	const char *cut;

	if (!h || !req->err_reason)
		return false;
	v = h->value;
	cut = memchr(v.p, ';', v.l);
	if (!cut)
		cut = memchr(v.p, ',', v.l);
	if (cut)
		v.l = (size_t)(cut - v.p);
	if (sip_via_decode(&via, &v))
		return false;
	req->via = via;
	req->via_ok = true;
	return true;
}

static void stack_recv_request(struct sip_stack *stack, struct sip_msg *req)
{
	char allow[256];

	/* Without a top Via there is nowhere to send an answer (§18.2.2). */
	if (!req->via_ok && !via_sentby_fallback(req)) {
		log_debug("request without a usable Via dropped (%s)",
			  req->err_reason ? req->err_reason : "no Via");
		return;
	}
	/* An ACK is never answered (§17.2.3): a broken one is just dropped. */
	if (req->mid == SIP_METHOD_ACK &&
	    (req->err_reason || !pl_caseeq_str(&req->version, "SIP/2.0"))) {
		log_debug("malformed ACK dropped");
		return;
	}
	/* Checked before the other errors: a message in another SIP version may be otherwise
	 * fine, and 505 tells the sender what is wrong (§8.2.2.1 ... §21.5.20). */
	if (sip_version_ok(&req->version) && !pl_caseeq_str(&req->version, "SIP/2.0")) {
		sip_stack_reply_stateless(stack, req, 505, "Version Not Supported", NULL);
		return;
	}
	if (req->err_reason) {
		log_info("bad request from %.*s: %s", PL_ARG(req->via.host), req->err_reason);
		/* A CSeq method that differs from an unknown request method is really an
		 * unsupported method: 501 lists what we do support. */
		if (req->err == EPROTO && req->mid == SIP_METHOD_OTHER) {
			snprintf(allow, sizeof(allow), "Allow: %s\r\n", stack->allow);
			sip_stack_reply_stateless(stack, req, 501, "Not Implemented", allow);
		} else {
			sip_stack_reply_stateless(stack, req, 400, req->err_reason, NULL);
		}
		return;
	}
	sip_strans_recv_request(stack, req);
}

static void stack_recv(struct sip_msg *msg, void *arg)
{
	struct sip_stack *stack = arg;

	if (msg->is_request) {
		stack_recv_request(stack, msg);
		return;
	}
	if (msg->err_reason || !msg->via_ok || !msg->cseq_ok || msg->scode < 100 ||
	    msg->scode > 699 || !pl_caseeq_str(&msg->version, "SIP/2.0")) {
		log_debug("malformed response dropped: %s",
			  msg->err_reason ? msg->err_reason : "bad status line or keys");
		return;
	}
	sip_ctrans_recv_response(stack, msg);
}

int sip_stack_alloc(struct sip_stack **stackp, struct loop *loop,
		    const struct sip_stack_config *cfg, sip_request_h *reqh, void *arg)
{
	struct sip_stack *stack;
	int err;

	if (!stackp || !loop || !reqh)
		return EINVAL;
	stack = calloc(1, sizeof(*stack));
	if (!stack)
		return ENOMEM;
	stack->loop = loop;
	stack->reqh = reqh;
	stack->arg = arg;
	stack->t1 = cfg && cfg->t1 ? cfg->t1 : SIP_T1_DEFAULT;
	stack->t2 = cfg && cfg->t2 ? cfg->t2 : SIP_T2_DEFAULT;
	stack->t4 = cfg && cfg->t4 ? cfg->t4 : SIP_T4_DEFAULT;
	stack->allow = strdup(cfg && cfg->allow ? cfg->allow : allow_default);
	if (!stack->allow) {
		err = ENOMEM;
		goto fail;
	}
	err = htab_init(&stack->stab, SIP_TRANS_BUCKETS);
	if (!err)
		err = htab_init(&stack->ctab, SIP_TRANS_BUCKETS);
	if (err)
		goto fail;
	err = sip_transp_alloc(&stack->tp, loop, stack_recv, stack);
	if (err)
		goto fail;
	*stackp = stack;
	return 0;

fail:
	htab_reset(&stack->stab);
	htab_reset(&stack->ctab);
	free(stack->allow);
	free(stack);
	return err;
}

void sip_stack_free(struct sip_stack *stack)
{
	if (!stack)
		return;
	/* Transactions hold messages that may hold TCP connections: they go before the
	 * transport. */
	sip_trans_flush(stack);
	sip_transp_free(stack->tp);
	htab_reset(&stack->stab);
	htab_reset(&stack->ctab);
	free(stack->allow);
	free(stack);
}

void sip_stack_set_stray_response_handler(struct sip_stack *stack, sip_stray_response_h *h,
					  void *arg)
{
	if (!stack)
		return;
	stack->strayh = h;
	stack->stray_arg = arg;
}

struct sip_transp *sip_stack_transp(struct sip_stack *stack)
{
	return stack ? stack->tp : NULL;
}

struct loop *sip_stack_loop(struct sip_stack *stack)
{
	return stack ? stack->loop : NULL;
}

size_t sip_stack_strans_count(const struct sip_stack *stack)
{
	return stack ? stack->stab.count + stack->tomb_n : 0;
}

size_t sip_stack_ctrans_count(const struct sip_stack *stack)
{
	return stack ? stack->ctab.count : 0;
}

uint64_t sip_stack_shed_count(const struct sip_stack *stack)
{
	return stack ? stack->n_shed : 0;
}
