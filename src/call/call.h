/* call: the call engine: a back-to-back user agent (RFC 3261 dialogs on each leg) driven by the
 * dialplan's step machine: INVITEs from phones (digest-authenticated) and from the line (by
 * source address), Dial() to registered contacts, trunks and the line, forking, CANCEL, BYE,
 * session timers (RFC 4028), PRACK (RFC 3262), UPDATE (RFC 3311), call records and the
 * `core show channels` family of commands. */
#ifndef MIKAKA_CALL_H
#define MIKAKA_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "conf.h"
#include "reg.h"
#include "sip.h"

struct loop;
struct store;
struct cfg;
struct ctl;
struct call_eng;
struct media;
struct screen_db;
struct notify;
struct sipcfg;

/* Finds the current bindings of a peer (reg_contacts' contract: calls h per binding, returns 0,
 * h's non-zero value, or ENOENT when there is none). The daemon passes the registrar's; tests
 * pass their own. */
typedef int(call_locate_h)(const char *peer, reg_contact_h *h, void *harg, void *arg);

/* Limits and switches of the engine (mikaka.conf [calls] later; defaults from
 * call_settings_default). */
struct call_settings {
	uint32_t max_calls;    /* calls at once, all peers (global toll-fraud / overload limit) */
	uint32_t session_expires; /* Session-Expires we offer on outgoing legs (s) */
	uint32_t min_se;       /* our Min-SE (s); smaller Session-Expires get 422 */
	uint32_t line_se;      /* Session-Expires we answer the line with (NGN-NOTES §2.5: 300) */
	struct reg_digest_set digest; /* INVITE challenges: the registrar's (mikaka.conf
				       * [registrar] digest_algorithms, nonce_lifetime) */
	uint32_t retry_after;  /* Retry-After of the 503 beyond max_calls */
	bool rel100;	       /* 18x toward a caller that supports 100rel are sent reliably */
	/* mikaka.conf [directories] (asterisk.conf's keys): where sounds, music on hold and
	 * recordings are. "" means the default. */
	char data_dir[256];    /* astdatadir: /usr/share/asterisk (moh/ under it) */
	char sounds_dir[256];  /* astsoundsdir: astdatadir/sounds */
	char monitor_dir[256]; /* astmonitordir: relative Record/MixMonitor names; default:
				* the state database's directory + /monitor */
};

/* The built-in defaults: 64 calls, 1800 s offered, Min-SE 90, 300 toward the line, Retry-After
 * 10, the registrar's default digest (reg_digest_set_default: MD5, 300 s nonces). */
void call_settings_default(struct call_settings *set);
/* The defaults, then mikaka.conf [calls]: maxcalls (default: what the open-file limit allows,
 * four relay sockets per call), session_expires, min_se, line_session_expires, retry_after,
 * 100rel (yes/no). Bad values are errors with file:line in diags (EINVAL); unknown keys
 * warnings. mikakaconf may be NULL. */
int call_settings_load(struct call_settings *set, const struct conf *mikakaconf,
		       struct conf_diags *diags);
/* `mikakad -t` and reloads: musiconhold.conf in confdir when present (unknown keys, modes other
 * than files, directories that do not exist: warnings with file:line; a syntax error: EINVAL),
 * and the peers' mohsuggest= (NULL: none) against its classes (warnings). */
int call_moh_check(const char *confdir, const struct call_settings *set,
		   const struct sipcfg *peers, struct conf_diags *diags);
/* Identifies and authenticates a request that is not a call (SUBSCRIBE): a fixed peer by its
 * address, else the phone named by the From user, with the same digest check as an INVITE.
 * Returns the peer (of the configuration in force; valid during this loop turn) or NULL when
 * st was answered (401 challenge, 403, 400). */
struct peer;
struct sip_strans;
struct sip_msg;
const struct peer *call_eng_authenticate(struct call_eng *eng, struct sip_strans *st,
					 const struct sip_msg *msg);
/* The voicemail spool VoiceMail()/VoiceMailMain() use (NULL: they fail). Not owned; it must
 * outlive every call (set once at start). */
struct vm;
void call_eng_set_vm(struct call_eng *eng, struct vm *vm);
/* Applies new settings (a reload); calls in progress keep running under them. */
void call_eng_set_settings(struct call_eng *eng, const struct call_settings *set);

/* Starts the engine on stack (it installs the stack's stray-response handler). store and reg may
 * be NULL (tests: no records, no authentication ban). cfg is referenced. set NULL: defaults. */
int call_eng_alloc(struct call_eng **engp, struct loop *loop, struct sip_stack *stack,
		   struct store *store, struct reg *reg, struct cfg *cfg,
		   const struct call_settings *set);
/* Ends every call (BYE/CANCEL sent, records written) and frees the engine. NULL is accepted.
 * Call before the stack, the registrar and the store are freed. */
void call_eng_free(struct call_eng *eng);
/* A reload: new calls use newcfg (referenced); running calls keep their snapshot. */
void call_eng_set_cfg(struct call_eng *eng, struct cfg *newcfg);
/* Where registered contacts come from (default: reg_contacts on the registrar given). */
void call_eng_set_locator(struct call_eng *eng, call_locate_h *h, void *arg);
/* The media relay (NULL: none; SDP then passes across unchanged). With it, every leg's SDP
 * carries our address facing that leg and a relay port, negotiated per leg (docs/CALLS.md).
 * Set before calls arrive; the engine must be freed before the media engine. */
void call_eng_set_media(struct call_eng *eng, struct media *m);

/* The request handler for server_route() of INVITE, ACK, BYE, PRACK, UPDATE, INFO and REFER
 * (arg: the engine). Takes INVITEs and every request inside a dialog it knows; returns false
 * for the rest (the server answers 481/404). */
bool call_handle_request(struct sip_strans *st, const struct sip_msg *msg, void *arg);

/* screening: the block list and phonebook (NULL: none); the rules come with each snapshot
 * (cfg->screen). Calls from the line are screened before any phone rings. */
void call_eng_set_screen(struct call_eng *eng, struct screen_db *db);
/* Notifications of call events (NULL: none). */
void call_eng_set_notify(struct call_eng *eng, struct notify *n);

/* The busy lamp of a peer from its calls (bits; 0: idle): a callee leg ringing, a leg in a call
 * (a caller's leg counts from its INVITE on), held (its last offer was sendonly or inactive). */
enum call_peer_busy {
	CALL_PEER_RINGING = 1 << 0,
	CALL_PEER_INUSE = 1 << 1,
	CALL_PEER_ONHOLD = 1 << 2,
};
unsigned call_eng_peer_busy(const struct call_eng *eng, const char *peer);
/* The early dialog of a call ringing at peer (busy lamps' notifycid=): our callee leg's Call-ID,
 * the phone's tag (local to the phone) and ours, and the caller's number and name. false when
 * none rings there. The strings point into the call: use them before the loop turn ends. */
struct call_ringing {
	const char *call_id, *local_tag, *remote_tag;
	const char *caller_num, *caller_name;
};
bool call_eng_peer_ringing(const struct call_eng *eng, const char *peer, struct call_ringing *r);
/* Called whenever a leg of peer was created, changed state or went away (the receiver coalesces:
 * it can be called several times in one loop turn). NULL h: none. */
typedef void(call_change_h)(const char *peer, void *arg);
void call_eng_set_change_handler(struct call_eng *eng, call_change_h *h, void *arg);
/* Dialplan functions another module provides (the busy lamps' DEVICE_STATE(),
 * EXTENSION_STATE()): read writes NAME(ARGS)'s value (context: the channel's) to out, write
 * stores Set(NAME(ARGS)=value); each returns ENOENT for a name it does not have. NULL: none. */
typedef int(call_func_read_h)(const char *context, const char *name, const char *args,
			      struct mbuf *out, void *arg);
typedef int(call_func_write_h)(const char *name, const char *args, const char *value, size_t vlen,
			       void *arg);
void call_eng_set_funcs(struct call_eng *eng, call_func_read_h *read, call_func_write_h *write,
			void *arg);

/* Calls in progress (for tests and the overload check). */
size_t call_count(const struct call_eng *eng);
size_t call_leg_count(const struct call_eng *eng);
/* Appends the call engine's Prometheus metrics (calls active, ended by disposition, refused) to
 * out, text format 0.0.4. */
int call_metrics(const struct call_eng *eng, struct mbuf *out);
/* Appends the calls in progress as a JSON array (channel, from, caller_name, to, answered, legs,
 * start_ms, duration in seconds) for the web console's /api/status. */
int call_status_json(const struct call_eng *eng, struct mbuf *out);

/* `core show channels [verbose]`, `sip show channels`: Asterisk-like tables into out. */
int call_show_channels(struct call_eng *eng, bool verbose, struct mbuf *out);
int call_show_sip_channels(struct call_eng *eng, struct mbuf *out);
/* `channel request hangup NAME|all`: ENOENT when no channel has that name. */
int call_hangup_channel(struct call_eng *eng, const char *name, struct mbuf *out);
/* `cdr show [N]` (newest first) and `cdr export --csv` (Asterisk's Master.csv columns). */
int call_cdr_show(struct store *store, unsigned n, struct mbuf *out);
int call_cdr_export_csv(struct store *store, struct mbuf *out);

/* Registers the commands above on ctl (core show channels, sip show channels, channel request
 * hangup, cdr show, cdr export). */
int call_ctl_register(struct ctl *ctl, struct call_eng *eng, struct store *store);

/* Dial status for a final response code (Asterisk's DIALSTATUS words): 486/600 BUSY,
 * 408/480/487 NOANSWER, 404/484/410/604 CHANUNAVAIL, 503/5xx CONGESTION, others CHANUNAVAIL. */
const char *call_dialstatus_for(uint16_t code);
/* Q.850 cause for a final response code (RFC 3398 §8.2.6.2 mapping, the common subset). */
unsigned call_cause_for(uint16_t code);
/* The response code that carries a Q.850 cause back to a caller (RFC 3398 §7.2.4.1 subset). */
uint16_t call_code_for_cause(unsigned cause);

/* The number an incoming call from the line is for: P-Called-Party-ID's user (or tel: number),
 * else the To URI's. Visual separators ('-', '.', '(', ')') dropped. ENOENT when none. */
int call_called_number(const struct sip_msg *msg, char *buf, size_t size);
/* The caller of an incoming call: the first P-Asserted-Identity (sip: or tel:), else From;
 * "anonymous" when withheld (anonymous.invalid / anonymous user). Display name into name. */
int call_caller_id(const struct sip_msg *msg, char *num, size_t nsize, char *name, size_t namesize);

/* The caller as the line gives it: the number (P-Asserted-Identity, then From) as shown at home
 * ("+81 3..." and "0081 3..." are "03..."), "anonymous" when there is none, with the reason from
 * the display name of anonymous@anonymous.invalid ("Anonymous", "Coin line/payphone",
 * "Unavailable", "Interaction with other service") and whether Privacy: id (or header/user)
 * was asked; a number sent with Privacy: id is withheld. reason is an enum screen_reason. */
struct call_ident {
	char num[64];
	char name[80];
	int reason;   /* enum screen_reason */
	bool privacy; /* Privacy: id, header or user */
	const char *pres; /* Asterisk's CALLERPRES() word */
};
int call_caller_ident(const struct sip_msg *msg, struct call_ident *id);

#endif /* MIKAKA_CALL_H */
