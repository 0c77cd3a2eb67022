/* reg_int: the registration module's private structures and the functions its files share. */
#ifndef MIKAKA_REG_INT_H
#define MIKAKA_REG_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "loop.h"
#include "peer.h"
#include "reg.h"
#include "sip.h"
#include "store.h"

/* ---------------------------------------------------------------------------------------------
 * Bindings (registrar.c).
 */
#define REG_NC_SLOTS 4 /* nonces remembered per peer for the nc replay check */
#define REG_INSTANCE_MAX 96 /* a +sip.instance ("<urn:uuid:...>" is 47) */
#define REG_FLOW_TIMER 120 /* Flow-Timer (s) in a 2xx to an outbound REGISTER; below the
			    * TCP/TLS idle timeout (default 300 s), which closes silent flows */

/* A TCP/TLS connection closed (transport hook): its flow's bindings go (registrar.c). */
void reg_flow_closed(enum sip_transport type, const struct sa *peer, void *arg);

struct reg_contact {
	struct le le; /* in aor->contacts, most recent first */
	struct reg_aor *aor;
	struct loop_timer tmr;	/* expiry */
	struct sip_ctrans *qct; /* qualify OPTIONS in flight */
	uint64_t qsent;		/* loop ms the OPTIONS left */
	uint64_t expires_ms;	/* loop ms */
	int64_t expires;	/* Unix seconds */
	int64_t registered_at;
	struct sa source, local;
	enum sip_transport tp;
	uint32_t cseq;
	uint32_t reg_id;	/* RFC 5626 reg-id of an outbound flow (0: none) */
	char instance[REG_INSTANCE_MAX]; /* +sip.instance as sent ("": none) */
	int lastms;
	char *call_id; /* point into text[] */
	char *user_agent;
	char uri[]; /* then call_id, then user_agent */
};

struct reg_nc_slot {
	uint64_t tag;
	uint32_t nc;
	uint64_t used; /* loop ms, for replacement */
};

struct reg_aor {
	struct le le; /* in reg->aors */
	struct reg *reg;
	struct list contacts;
	struct reg_nc_slot nc[REG_NC_SLOTS];
	struct loop_timer qtmr; /* next qualify round */
	int lastms;		/* best of the contacts' */
	char name[];
};

/* A REGISTER waiting for its store writes (answered from the last done callback). */
struct reg_pending {
	struct reg *reg; /* NULL once the registrar is gone */
	struct le le;	 /* in reg->pending */
	struct sip_strans *st;
	char *aor;
	unsigned writes; /* outstanding */
	int err;
	bool outbound; /* the REGISTER asked for outbound (RFC 5626): Flow-Timer in the 200 */
};

/* ---------------------------------------------------------------------------------------------
 * Outbound registrations (outbound.c).
 */
enum reg_out_state {
	REG_OUT_UNREGISTERED,
	REG_OUT_REQUEST_SENT,
	REG_OUT_AUTH_SENT,
	REG_OUT_REGISTERED,
	REG_OUT_REJECTED,
	REG_OUT_TIMEOUT,
	REG_OUT_NOAUTH,
	REG_OUT_FAILED,
};

struct reg_out {
	struct le le; /* in reg->outs */
	struct reg *reg;
	const struct sipcfg_register *cr; /* NULL: the registration from line discovery */
	bool ngn;			  /* NGN shape: no rport, no auth, Expires 3600 */
	bool line;			  /* uses the discovered line's values */
	char user[64];
	char contact_user[64];
	char domain[256];
	char host[256];
	uint16_t port;	 /* of host */
	uint16_t dport;	 /* domain port (0: none) */
	struct sa dst;	 /* resolved; unset: not resolvable now */
	struct sa local; /* our address toward dst (port: our socket's) */
	enum sip_transport tp;
	char call_id[40];
	char from_tag[24];
	uint32_t cseq;
	uint32_t expiry;  /* asked */
	uint32_t granted; /* by the last 200 */
	int64_t regtime;  /* Unix seconds of the last 200 */
	int64_t changed;  /* Unix seconds it last became registered or stopped being (0: never) */
	enum reg_out_state state;
	unsigned failures; /* consecutive, for the back-off */
	struct loop_timer tmr;
	struct sip_ctrans *ct;
	bool ct_auth; /* the request in flight carried credentials */
	bool stopped; /* removed by a reload: gets no new request */
	/* The last challenge (ITSP trunks). */
	char *realm, *nonce, *opaque;
	enum reg_alg alg;
	bool qop;
	uint32_t nc;
	bool proxy; /* 407: Proxy-Authorization */
};

/* Back-off before attempt `failures` (1 = after the first failure): min * 2^(failures-1),
 * capped at max, plus up to a quarter of it of jitter from rnd (0..UINT32_MAX), still capped.
 * Seconds. */
uint32_t reg_backoff_delay(uint32_t min, uint32_t max, unsigned failures, uint32_t rnd);
/* When to refresh a registration granted for `granted` seconds: before half of it (ms). */
uint64_t reg_refresh_delay_ms(uint32_t granted);
const char *reg_out_state_name(enum reg_out_state s);

/* ---------------------------------------------------------------------------------------------
 * The registrar object.
 */
struct reg {
	struct loop *loop;
	struct sip_stack *stack;
	struct store *store;
	struct sipcfg *cfg; /* referenced */
	struct reg_settings set;
	struct reg_nonce_key nkey;
	struct reg_bans bans;
	struct htab aors; /* struct reg_aor by hash_pl_case(name) */
	size_t nbindings;
	struct list pending;
	reg_bound_h *bound_h; /* after a REGISTER's bindings were stored and answered */
	void *bound_arg;
	reg_bound_h *change_h; /* a peer's bindings may have changed */
	void *change_arg;
	struct list outs;
	struct loop_timer purge_tmr;
	/* Wall clock derived from the loop clock, so a fake clock moves both. */
	int64_t wall0;
	uint64_t mono0;
	/* The line (lineid.c): what discovery gave, and the decision. */
	struct reg_line_found found;
	struct reg_line_view lv;
	bool lv_set;
	struct loop_timer lineid_tmr; /* retries names that did not resolve */
	char *line_diags;	      /* the last decision's warnings (each is logged once) */
	/* Counters for tests and logs. */
	uint64_t n_ok, n_challenged, n_failed, n_banned_drop;
	uint64_t n_auth_failed; /* failed authentications of other requests (INVITE...) */
};

int64_t reg_now_unix(const struct reg *reg);

/* registrar.c */
struct reg_aor *reg_aor_find(const struct reg *reg, const char *name);
void reg_aor_free(struct reg_aor *aor, bool del_store);
void reg_aors_free_all(struct reg *reg);
int reg_bindings_load(struct reg *reg);
/* Removes the bindings of peers that no longer exist as dynamic peers in reg->cfg. */
void reg_bindings_prune(struct reg *reg);

/* qualify.c */
void reg_qualify_start(struct reg_aor *aor, bool soon);
void reg_qualify_stop(struct reg_aor *aor);
void reg_qualify_contact_gone(struct reg_contact *c);

/* lineid.c: decides again (moved: the line's server, address, domain or number changed). */
int reg_lineid_update(struct reg *reg, bool *moved);
void reg_lineid_free(struct reg *reg);

/* outbound.c */
int reg_outs_start(struct reg *reg);
void reg_outs_free(struct reg *reg);
int reg_outs_reconfigure(struct reg *reg);
void reg_outs_line_changed(struct reg *reg, bool moved);

#endif /* MIKAKA_REG_INT_H */
