/* im: SIP MESSAGE (RFC 3428) between the household's phones: a phone's message to another
 * phone's name is relayed to each of that phone's registrations; the sender gets the first 2xx
 * (or the best failure). */
#ifndef MIKAKA_IM_H
#define MIKAKA_IM_H

#include <stdbool.h>

#include "sip.h"

struct im;
struct peer;
struct reg;

/* The sender's peer after the same digest check as a call (NULL: st was answered: 401, 403). */
typedef const struct peer *(im_auth_h)(struct sip_strans *st, const struct sip_msg *msg, void *arg);

/* Largest body relayed (RFC 3428 §5 keeps pager-mode messages small; bigger gets 413). */
#define IM_BODY_MAX 4096
/* Registrations of one phone a message goes to at most. */
#define IM_FORKS_MAX 8

int im_alloc(struct im **imp, struct sip_stack *stack, struct reg *reg, im_auth_h *auth, void *arg);
/* Whether a phone of that name is configured (then a message to it without registrations gets
 * 480, else 404). NULL: every name counts as configured. */
typedef bool(im_peer_exists_h)(const char *name, void *arg);
void im_set_peer_exists(struct im *im, im_peer_exists_h *h, void *arg);
/* Abandons the messages still waiting for their answers (their senders get nothing more). */
void im_free(struct im *im);
/* A server_method_h for MESSAGE (arg: the struct im); always takes the request. */
bool im_handle(struct sip_strans *st, const struct sip_msg *msg, void *arg);
/* Messages relayed, refused, delivered (for `sip show settings`-style counters and tests). */
struct im_stats {
	unsigned long received, delivered, failed;
};
void im_stats_get(const struct im *im, struct im_stats *out);

#endif /* MIKAKA_IM_H */
