/* reg: registrations: the registrar for phones (RFC 3261 §10, digest RFC 7616/2617 with MD5 and
 * SHA-256), the failed-authentication ban, qualify (OPTIONS) toward phones, and mikaka's own
 * registrations to the line (NGN-NOTES §2.2) and to ITSP trunks (`register =>`). */
#ifndef MIKAKA_REG_H
#define MIKAKA_REG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "conf.h"
#include "peer.h"
#include "sip.h"

struct loop;
struct store;
struct ctl;
struct line_info;
struct reg;

/* Digest algorithms offered in challenges (a set of flags). */
enum {
	REG_ALG_MD5 = 1 << 0,
	REG_ALG_SHA256 = 1 << 1,
};

/* Registrar settings without an Asterisk key: mikaka.conf [registrar]. */
struct reg_settings {
	uint32_t ban_failures;	 /* ban_failures: failed authentications that ban (10; 0: off) */
	uint32_t ban_window;	 /* ban_window: seconds over which they are counted (60) */
	uint32_t ban_time;	 /* ban_time: seconds an address stays banned (900) */
	uint32_t ban_max;	 /* ban_max: addresses tracked at most (65536) */
	uint32_t nonce_lifetime; /* nonce_lifetime: seconds a nonce is accepted (300) */
	uint32_t max_contacts;	 /* max_contacts: bindings per peer (10) */
	unsigned algorithms;	 /* digest_algorithms = md5, sha-256 (both; in the order written) */
	bool sha256_first;	 /* the SHA-256 challenge before the MD5 one (default: after, as
				  * many phones answer only the first challenge they see) */
	uint32_t backoff_min;	 /* register_backoff_min: seconds after the first failure (30) */
	uint32_t backoff_max;	 /* register_backoff_max: the cap (1800) */
	char line_number[32];	 /* line_number: the user part toward the NGN when discovery
				  * gives none ("" : keep the register => user) */
};

/* The built-in defaults. */
void reg_settings_default(struct reg_settings *set);
/* Reads mikaka.conf [registrar] (NULL: defaults). Problems go to diags with file:line; returns
 * EINVAL when any is an error. */
int reg_settings_load(struct reg_settings *set, const struct conf *mikakaconf,
		      struct conf_diags *diags);

/* Starts the registrar on stack: loads the stored bindings (store_reg_load_all; bindings of
 * peers that are gone are deleted), starts qualify for the phones that have qualify=yes and the
 * `register =>` registrations. store may be NULL (nothing persisted: tests); set NULL: defaults.
 * Keeps a reference on cfg. Free with reg_free() before the stack and the store are freed. */
int reg_alloc(struct reg **rp, struct loop *loop, struct sip_stack *stack, struct store *store,
	      struct sipcfg *cfg, const struct reg_settings *set);
/* Stops every timer and transaction of the registrar (no un-REGISTER is sent: the bindings
 * stay stored for the next start). NULL is accepted. */
void reg_free(struct reg *reg);
/* Reload: switches to newcfg (and set, NULL: keep the current one). Bindings of peers that still
 * exist as host=dynamic are kept; the others are removed (and deleted from the store).
 * `register =>` lines that did not change keep running; removed ones stop, new ones start. */
int reg_reconfigure(struct reg *reg, struct sipcfg *newcfg, const struct reg_settings *set);

/* The REGISTER handler, for server_route(srv, SIP_METHOD_REGISTER, reg_handle_register, reg).
 * Always takes the request (returns true). */
bool reg_handle_register(struct sip_strans *st, const struct sip_msg *msg, void *arg);

/* Live-state callbacks for sipcfg_show_peers / sipcfg_show_peer (arg: the struct reg). */
void reg_peer_state(const struct peer *peer, struct peer_live *out, void *arg);
/* Live-state callback for sipcfg_show_registry (arg: the struct reg). */
void reg_registry_state(const struct sipcfg_register *r, struct sipcfg_reg_live *out, void *arg);
/* `sip show registry` with the live state, plus the registration made from line discovery
 * (which has no `register =>` line). Asterisk's columns. */
int reg_show_registry(struct reg *reg, struct mbuf *out);

/* One current binding of a peer, for the call engine. Strings are valid during the callback. */
struct reg_contact_info {
	const char *peer;	/* the peer name */
	const char *uri;	/* the registered Contact URI (the Request-URI of a call) */
	struct sa source;	/* where its REGISTER came from: send there (NAT, rport) */
	struct sa local;	/* our address it arrived on: send from there */
	enum sip_transport tp;	/* the transport it registered over */
	const char *user_agent; /* "" when it sent none */
	int64_t expires;	/* Unix seconds */
	int lastms;		/* qualify round trip: >0 ms, <0 unreachable, 0 unknown */
};
/* Called per binding; a non-zero return stops the iteration and is returned. */
typedef int(reg_contact_h)(const struct reg_contact_info *ci, void *arg);
/* Iterates over peer's current bindings (most recently registered first). Returns 0, the
 * handler's non-zero value, or ENOENT when the peer has none. */
int reg_contacts(struct reg *reg, const char *peer, reg_contact_h *h, void *arg);
/* Number of bindings of a peer (0 when unknown), and of all peers. */
size_t reg_contact_count(const struct reg *reg, const char *peer);
size_t reg_binding_count(const struct reg *reg);

/* The line (from discovery) changed: number and domain ("" or NULL: lost), the SIP server (port
 * 0: 5060) and our line-side address (its port is ignored: the line is registered from the
 * daemon's UDP socket on that address, normally :5060). Starts, moves (a new registration at
 * once when the address or the server changed) or stops the line registration. A `register =>`
 * line whose domain or host is the discovered domain (or server) becomes this registration. */
void reg_line_changed(struct reg *reg, const char *number, const char *domain,
		      const struct sa *server, const struct sa *local_addr);
/* A line_change_h (line.h) that calls reg_line_changed with the first number, the domain, the
 * first option-120 server and the lease address; arg is the struct reg. */
void reg_line_change_h(const struct line_info *info, unsigned changes, void *arg);

/* The ban on repeated authentication failures, for other modules that authenticate (INVITE):
 * whether addr is banned now, and counting one failure from it. */
bool reg_is_banned(struct reg *reg, const struct sa *addr);
void reg_auth_failed(struct reg *reg, const struct sa *addr);

/* Registers `sip show bans` and `sip unban ADDR` on ctl. */
int reg_ctl_register(struct ctl *ctl, struct reg *reg);
/* Their output, for tests: `sip show bans`, and `sip unban` (ENOENT: the address is not banned,
 * EINVAL: not an address). */
int reg_show_bans(struct reg *reg, struct mbuf *out);
int reg_unban(struct reg *reg, const char *addr);

#endif /* MIKAKA_REG_H */
