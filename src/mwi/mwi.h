/* mwi: message waiting (RFC 3842): SUBSCRIBE to the message-summary event package answered and
 * kept as subscriptions (RFC 6665: 200 with Expires, an immediate NOTIFY, refresh, Expires: 0
 * unsubscribe), and NOTIFYs with an application/simple-message-summary body to subscribers and,
 * unsolicited, to the registered contacts of peers with mailbox= in sip.conf, whenever a
 * mailbox's counts change. Loop thread only. */
#ifndef MIKAKA_MWI_H
#define MIKAKA_MWI_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

struct loop;
struct sip_stack;
struct sip_strans;
struct sip_msg;
struct reg;
struct sipcfg;
struct peer;
struct vm;
struct vm_box;
struct mwi;

#define MWI_EXPIRES_DEFAULT 3600 /* a SUBSCRIBE without Expires (RFC 3842 §6) */
#define MWI_EXPIRES_MIN	    60	 /* EVSUB_EXPIRES_MIN: shorter requests get 423 */
#define MWI_EXPIRES_MAX	    7200 /* longer ones are cut to this */
#define MWI_SUBS_MAX	    1024 /* subscriptions kept at most (then 503) */

/* Authenticates a SUBSCRIBE: returns the peer, or NULL once it has answered st itself. */
typedef const struct peer *(mwi_auth_h)(struct sip_strans *st, const struct sip_msg *msg,
					void *arg);

int mwi_alloc(struct mwi **mp, struct loop *loop, struct sip_stack *stack, struct reg *reg,
	      struct vm *vm, mwi_auth_h *auth, void *auth_arg);
/* Ends the subscriptions (no NOTIFY) and frees; NULL ok. */
void mwi_free(struct mwi *m);
/* The peers whose mailbox= get unsolicited NOTIFYs (a reference is kept; at start and after
 * every reload). */
void mwi_set_peers(struct mwi *m, struct sipcfg *peers);
/* The server's SUBSCRIBE route (server_route): true when it answered. */
bool mwi_handle_subscribe(struct sip_strans *st, const struct sip_msg *msg, void *arg);
/* The counts of a box changed (vm_set_change_handler's handler; arg is the struct mwi). */
void mwi_box_changed(const struct vm_box *b, unsigned newmsgs, unsigned oldmsgs, void *arg);
/* Sends the current counts to one peer's contacts (e.g. after it registered). */
void mwi_peer_refresh(struct mwi *m, const char *peer);
/* reg_set_bound_handler's handler (arg: the struct mwi): mwi_peer_refresh. */
void mwi_reg_bound(const char *peer, void *arg);

struct mwi_stats {
	uint64_t subscriptions; /* alive now */
	uint64_t notify_sent, notify_failed;
};
void mwi_stats_get(const struct mwi *m, struct mwi_stats *out);

/* Its subscriptions (for `sip show subscriptions`); NULL for NULL. */
struct evsub_set;
struct evsub_set *mwi_subscriptions(struct mwi *m);

/* `sip show subscriptions`-like listing for the CLI (`voicemail show subscriptions`). */
int mwi_show(const struct mwi *m, struct mbuf *out);

/* The mailboxes of a mailbox= value: calls each with "BOX" and "CONTEXT" ("default" when not
 * written) for every comma-separated entry; a non-zero return stops. For tests too. */
typedef int(mwi_box_h)(const char *box, const char *context, void *arg);
int mwi_mailbox_foreach(const char *mailbox, mwi_box_h *each, void *arg);

#endif /* MIKAKA_MWI_H */
