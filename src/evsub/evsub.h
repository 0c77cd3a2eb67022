/* evsub: the notifier side of SIP event subscriptions (RFC 6665), shared by the event packages
 * (mwi: message-summary; blf: dialog and presence): SUBSCRIBE dialogs answered 200 with
 * Contact and Expires, an immediate NOTIFY, refresh, Expires: 0 unsubscribe with a final
 * NOTIFY, expiry, and NOTIFY building and sending. The package supplies the body. Loop thread
 * only. */
#ifndef MIKAKA_EVSUB_H
#define MIKAKA_EVSUB_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "sip.h"

struct loop;
struct evsub_set;
struct evsub;

#define EVSUB_EXPIRES_MIN 60   /* shorter requests get 423 Interval Too Brief */
#define EVSUB_EXPIRES_MAX 7200 /* longer ones are cut to this */
#define EVSUB_SUBS_MAX	  1024 /* subscriptions kept at most per set (then 503) */

/* Writes the body of the next NOTIFY of s into body and sets *ctype (a static string). A
 * non-zero return sends nothing (a final NOTIFY is then dropped with the subscription). */
typedef int(evsub_body_h)(struct evsub *s, struct mbuf *body, const char **ctype, void *arg);

/* A set of subscriptions whose NOTIFYs carry body_h's bodies; logmod (a static string: "mwi")
 * names the package in the log. */
int evsub_set_alloc(struct evsub_set **setp, const char *logmod, struct loop *loop,
		    struct sip_stack *stack, evsub_body_h *body_h, void *arg);
/* Ends the subscriptions (no NOTIFY) and frees; NULL ok. */
void evsub_set_free(struct evsub_set *set);

/* The package name of a request's Event header (parameters dropped) into *name; false when
 * there is none. */
bool evsub_event(const struct sip_msg *msg, struct pl *name);
/* The Expires of a SUBSCRIBE, else def. */
uint32_t evsub_req_expires(const struct sip_msg *msg, uint32_t def);
/* A SUBSCRIBE inside a dialog (it has a To tag): a refresh or, with Expires: 0, the end (a
 * final NOTIFY). Answers st (481 when the subscription is not in the set, 423, 200). */
void evsub_refresh(struct evsub_set *set, struct sip_strans *st, const struct sip_msg *msg);
/* A new subscription of peer to resource res@ctx for package event (which goes out in the
 * NOTIFYs' Event header), once the package accepted it: checks Contact, From tag and Expires
 * (400, 423, 503), answers 200 and sends the first NOTIFY. expires 0 is a fetch: one NOTIFY,
 * terminated. Returns the subscription (owned by the set; it may go away at any later loop
 * turn) or NULL when it answered otherwise. */
struct evsub *evsub_accept(struct evsub_set *set, struct sip_strans *st, const struct sip_msg *msg,
			   const char *event, const char *peer, const char *res, const char *ctx,
			   uint32_t expires);
/* Sends the current state (the body handler is asked) to s; one NOTIFY in flight at a time,
 * a change meanwhile is sent when it is answered. */
void evsub_notify(struct evsub *s);
/* evsub_notify for every live subscription of the set to res@ctx (NULL: any). */
void evsub_notify_res(struct evsub_set *set, const char *res, const char *ctx);
/* Ends every subscription to res@ctx (NULL: any) with a final NOTIFY terminated;reason=reason
 * (e.g. "noresource" when a hint went away in a reload). */
void evsub_terminate_res(struct evsub_set *set, const char *res, const char *ctx,
			 const char *reason);

/* What a subscription is. Strings live as long as the subscription. */
const char *evsub_event_name(const struct evsub *s);
const char *evsub_peer(const struct evsub *s);
const char *evsub_res(const struct evsub *s);
const char *evsub_ctx(const struct evsub *s);
const char *evsub_target(const struct evsub *s); /* the subscriber's Contact URI */
const char *evsub_callid(const struct evsub *s);
const struct sa *evsub_source(const struct evsub *s); /* where its SUBSCRIBE came from */
const char *evsub_our_uri(const struct evsub *s);     /* the SUBSCRIBE's To URI (the resource) */
uint32_t evsub_expires_left(const struct evsub *s);   /* seconds */
/* Our address facing the subscriber, as it goes in a URI. */
void evsub_host(const struct evsub *s, char *buf, size_t size);
/* NOTIFY bodies built before this one (0 for the first: RFC 4235's version). */
uint32_t evsub_seq(const struct evsub *s);
/* Whether the body being built is the final one (terminated). */
bool evsub_terminating(const struct evsub *s);
/* A word of the package's own (e.g. the state last sent). */
unsigned *evsub_user(struct evsub *s);

typedef void(evsub_each_h)(struct evsub *s, void *arg);
/* Calls h for every live subscription (h must not end any). */
void evsub_foreach(struct evsub_set *set, evsub_each_h *h, void *arg);
/* Live subscriptions to res@ctx; both NULL: every subscription, ending ones included. */
size_t evsub_count(const struct evsub_set *set, const char *res, const char *ctx);

struct evsub_stats {
	uint64_t subscriptions; /* alive now */
	uint64_t notify_sent, notify_failed;
};
void evsub_stats_get(const struct evsub_set *set, struct evsub_stats *out);

/* Behind a NAT: the address a party at `peer` is to see instead of `local` (sip.conf
 * externaddr=, localnet=; the daemon sets it). NULL: our own address. */
typedef void(evsub_nat_h)(const struct sa *local, const struct sa *peer, struct sa *out,
			  void *arg);
void evsub_set_nat(evsub_nat_h *h, void *arg);

/* One NOTIFY, inside a subscription or not (mwi's unsolicited ones). */
struct evsub_notify_spec {
	const char *ruri, *from, *to, *callid;
	const char *event;    /* Event header value */
	const char *substate; /* Subscription-State value, NULL: none */
	const char *ctype;    /* body type, NULL: no body */
	struct pl body;
	uint32_t cseq;
	enum sip_transport tp;
	struct sa local, dst; /* local unset or any: chosen for dst */
};
/* Builds and sends it; *ctp gets the transaction (h with arg gets its answer). */
int evsub_send_notify(struct sip_stack *stack, const struct evsub_notify_spec *ns,
		      struct sip_ctrans **ctp, sip_response_h *h, void *arg);
/* Our address for dst as it goes in a URI (IPv6 bracketed): local when it is set and not the
 * wildcard, else the transport's choice. The port into *port. */
void evsub_local_host(struct sip_stack *stack, const struct sa *local, const struct sa *dst,
		      char *buf, size_t size, uint16_t *port);

#endif /* MIKAKA_EVSUB_H */
