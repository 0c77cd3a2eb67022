/* trans_int: private declarations shared by the stack's receive path (stack.c) and the
 * transaction state machines (trans.c), RFC 3261 §17 and RFC 6026. */
#ifndef MIKAKA_SIP_TRANS_INT_H
#define MIKAKA_SIP_TRANS_INT_H

#include "loop.h"
#include "sip.h"

/* Initial buckets of each transaction table; the tables double as they fill (a flood of
 * OPTIONS keeps tens of thousands of transactions alive for timer J). */
#define SIP_TRANS_BUCKETS 256

struct sip_stack {
	struct loop *loop;
	struct sip_transp *tp;
	uint32_t t1, t2, t4;
	char *allow; /* Allow value of the stack's own 501s */
	sip_request_h *reqh;
	void *arg;
	sip_stray_response_h *strayh;
	void *stray_arg;
	struct htab stab; /* server transactions by branch or Call-ID hash */
	struct htab ctab; /* client transactions by branch hash */
	uint64_t n_shed;  /* new INVITEs answered 503 statelessly under overload */
	/* Finished server transactions reduced to their key and last response (trans.c, "tombs",
	 * docs/TRANSACTIONS.md): a table of singly linked chains (made on the first one), and a
	 * FIFO in expiry order with one timer for its head. */
	struct strans_tomb **tombs;
	size_t tomb_nb, tomb_n;
	struct strans_tomb *tomb_head, *tomb_tail;
	struct loop_timer tomb_tmr;
};

/* The RFC 3261 magic cookie that marks a branch as globally unique (§8.1.1.7). */
bool sip_branch_has_cookie(const struct pl *branch);

/* Answers req outside any transaction: for errors found before a transaction could be matched,
 * and for new calls shed under overload. A retransmission simply gets the same answer again. */
void sip_stack_reply_stateless(struct sip_stack *stack, const struct sip_msg *req, uint16_t code,
			       const char *reason, const char *extra);
/* A request with no framing or version error: retransmission, ACK, CANCEL or a new request
 * for the TU. */
void sip_strans_recv_request(struct sip_stack *stack, struct sip_msg *req);
/* A well-formed response: delivered to its client transaction, else to the stray handler. */
void sip_ctrans_recv_response(struct sip_stack *stack, const struct sip_msg *resp);
/* Frees every transaction without calling anybody (sip_stack_free). */
void sip_trans_flush(struct sip_stack *stack);

#endif /* MIKAKA_SIP_TRANS_INT_H */
