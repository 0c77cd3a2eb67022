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

/* The digest every request from a phone is challenged with, REGISTER and INVITE alike
 * (mikaka.conf [registrar] digest_algorithms and nonce_lifetime). */
struct reg_digest_set {
	unsigned algorithms;	 /* REG_ALG_*: digest_algorithms (default md5 only: Debian 12's
				  * baresip gives up on any SHA-256 challenge, Twinkle keeps only
				  * the last challenge and knows MD5 only) */
	bool sha256_first;	 /* the SHA-256 challenge before the MD5 one (as written) */
	uint32_t nonce_lifetime; /* nonce_lifetime: seconds a nonce is accepted (300) */
};
/* The defaults: MD5 only, 300 s. */
void reg_digest_set_default(struct reg_digest_set *ds);

/* A resolver: up to max addresses of host (port 0) into out; returns how many, or -errno. */
typedef int(reg_resolve_h)(const char *host, struct sa *out, size_t max, void *arg);

/* Registrar settings without an Asterisk key: mikaka.conf [registrar]. */
struct reg_settings {
	uint32_t ban_failures; /* ban_failures: failed authentications that ban (10; 0: off) */
	uint32_t ban_window;   /* ban_window: seconds over which they are counted (60) */
	uint32_t ban_time;     /* ban_time: seconds an address stays banned (900) */
	uint32_t ban_max;      /* ban_max: addresses tracked at most (65536) */
	uint32_t max_contacts; /* max_contacts: bindings per peer (10) */
	struct reg_digest_set digest; /* digest_algorithms, nonce_lifetime */
	uint32_t backoff_min;	/* register_backoff_min: seconds after the first failure (30) */
	uint32_t backoff_max;	/* register_backoff_max: the cap (1800) */
	char line_number[32];	/* line_number: the user part toward the NGN when discovery
				 * gives none ("" : keep the register => user) */
	reg_resolve_h *resolve; /* how host names resolve (no key): reg_resolve_getaddrinfo;
				 * NULL: only through the line and the configuration (tests) */
	bool line_discovery;	/* (no key) mikaka.conf [line] runs: the NGN domains come from
				 * the lease only, never from the resolver */
	void *resolve_arg;
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
/* Called after a REGISTER that added or refreshed bindings of `peer` was answered 200 (voicemail:
 * the message-waiting state is sent to the new contact, as Asterisk does). */
typedef void(reg_bound_h)(const char *peer, void *arg);
void reg_set_bound_handler(struct reg *reg, reg_bound_h *h, void *arg);
/* Called when a peer's bindings may have changed: a REGISTER answered 200 (added, refreshed or
 * removed) or a binding gone (expired, replaced); busy lamps follow it. The receiver defers its
 * work; it can be called several times in a loop turn. NULL h: none. */
void reg_set_change_handler(struct reg *reg, reg_bound_h *h, void *arg);
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

/* ---------------------------------------------------------------------------------------------
 * The line (lineid.c): which peer and which `register =>` line are the carrier line, decided in
 * one place when the configuration is loaded, when line discovery reports and when a name that
 * did not resolve resolves (retried every 60 s); never per call. Every fixed peer's host= and
 * outboundproxy= and every `register =>` host is resolved there too: an IP literal; a name the
 * line or the configuration defines (the discovered domain -> the option-120 server; DOMAIN of
 * `register => user@DOMAIN@ADDRESS` or of a peer's fromdomain= with a literal host -> that
 * address); else the resolver. docs/LINE.md, "How the line is recognised".
 */
#define REG_ADDRS_MAX	     4
#define REG_LINE_NUMBERS_MAX 8

/* Where one peer (or one `register =>` line) is. */
struct reg_dest {
	const char *name;		/* the peer's name (points into the snapshot) */
	struct sa addrs[REG_ADDRS_MAX]; /* port set; [0] is where requests go */
	size_t n;			/* 0: not resolvable now */
	bool via_proxy;			/* addrs[0] is its outboundproxy= */
	bool line;			/* this peer is the line */
};

/* The line as mikaka recognises it. */
struct reg_line {
	bool known;	  /* there is a line: discovered, or named by the configuration */
	bool discovered;  /* server, domain, local and numbers come from line discovery */
	struct sa server; /* the carrier's SIP server, port set (unset: not resolvable now) */
	struct sa local;  /* our line-side address (unset: not known; the kernel chooses) */
	char domain[256]; /* the domain of From/To toward the line ("" : not known) */
	char numbers[REG_LINE_NUMBERS_MAX][32]; /* [0] the main number, then additional ones */
	size_t nnumbers;			/* 0: the number is not known */
	char peer[80];				/* the first peer that is the line ("" : none) */
	int reg_index;	  /* the `register =>` line (sipcfg_registers order) that is the line's */
	char source[160]; /* how it was recognised, for the log */
};

/* What line discovery gave. */
struct reg_line_found {
	bool up; /* a lease with a server, a domain and our address */
	char numbers[REG_LINE_NUMBERS_MAX][32];
	size_t nnumbers; /* may be 0: a lease without option 125 sub-option 202 */
	char domain[256];
	struct sa server;
	struct sa local;
};

/* The whole decision: the line, and where each peer and each `register =>` line is. */
struct reg_line_view {
	struct reg_line line;
	struct reg_dest *peers; /* sipcfg_peer_at order */
	size_t npeers;
	struct reg_dest *regs; /* sipcfg_registers order */
	size_t nregs;
	struct reg_dest general_proxy; /* [general] outboundproxy= */
	bool unresolved;	       /* some name did not resolve */
};

/* The default: getaddrinfo (blocking; called only when a decision is made). */
int reg_resolve_getaddrinfo(const char *host, struct sa *out, size_t max, void *arg);

/* Makes the decision for a snapshot (set, found and resolve may be NULL). A name that does not
 * resolve and a name with several addresses are warnings in diags at the file:line of the key
 * (never errors: what resolves keeps working). Free with reg_line_view_reset. */
int reg_line_decide(struct reg_line_view *v, const struct sipcfg *cfg,
		    const struct reg_settings *set, const struct reg_line_found *found,
		    reg_resolve_h *resolve, void *arg, struct conf_diags *diags);
void reg_line_view_reset(struct reg_line_view *v);
/* Whether a name is one of the NGN's SIP domains (ntt-east.ne.jp, ntt-west.ne.jp). */
bool reg_is_ngn_domain(const char *name);

/* The registrar's current decision (reg NULL: no line). */
const struct reg_line *reg_line(const struct reg *reg);
/* Whether peer p (of any snapshot: matched by name) is the line. */
bool reg_peer_is_line(const struct reg *reg, const struct peer *p);
/* Where requests to a fixed peer go (port set); ENOENT: dynamic, or not resolvable now. */
int reg_peer_dest(const struct reg *reg, const struct peer *p, struct sa *dst);
/* The fixed peer of cfg that a request from src comes from (host= or outboundproxy= address,
 * and port unless insecure=port), or NULL. */
const struct peer *reg_peer_by_addr(const struct reg *reg, const struct sipcfg *cfg,
				    const struct sa *src);
/* Whether src is the line's server (address only: the carrier sends from 5060 anyway). */
bool reg_is_line_server(const struct reg *reg, const struct sa *src);

/* The ban on repeated authentication failures, for other modules that authenticate (INVITE):
 * whether addr is banned now, and counting one failure from it. */
bool reg_is_banned(struct reg *reg, const struct sa *addr);
void reg_auth_failed(struct reg *reg, const struct sa *addr);

/* Appends the registrar's Prometheus metrics (bindings by peer and transport, REGISTER results,
 * bans, outbound registration state) to out, text format 0.0.4 (reg/metrics.c). */
int reg_metrics(struct reg *reg, struct mbuf *out);
/* Appends `"line":[...],"phones":[...]` (outbound registrations with their state; every current
 * binding with contact, transport, source, user agent, expiry) for the web console's API. */
int reg_status_json(struct reg *reg, struct mbuf *out);
/* Registers `sip show bans` and `sip unban ADDR` on ctl. */
int reg_ctl_register(struct ctl *ctl, struct reg *reg);
/* Their output, for tests: `sip show bans`, and `sip unban` (ENOENT: the address is not banned,
 * EINVAL: not an address). */
int reg_show_bans(struct reg *reg, struct mbuf *out);
int reg_unban(struct reg *reg, const char *addr);

/* ---------------------------------------------------------------------------------------------
 * Digest (digest.c): hashes (nettle), the Authorization / WWW-Authenticate syntax, nonces.
 * Public because the call engine challenges INVITEs with the same digest and nonces.
 */
enum reg_alg { REG_DIGEST_MD5 = 0, REG_DIGEST_SHA256 };

#define REG_HASH_HEX_MAX   65	/* SHA-256 in hex plus NUL */
#define REG_NONCE_LEN	   48	/* hex: 8 bytes time, 4 random, 12 MAC */
#define REG_AUTH_PARAM_MAX 1024 /* a longer parameter value is a bad header */

/* Hex digest length of an algorithm (32 or 64). */
size_t reg_digest_hexlen(enum reg_alg alg);
/* "MD5" / "SHA-256" */
const char *reg_digest_name(enum reg_alg alg);
/* H(data) in lower-case hex into out (REG_HASH_HEX_MAX bytes). Parts are concatenated with ':'
 * between them (the digest's own separator), n parts. */
void reg_digest_hash(enum reg_alg alg, const struct pl *parts, size_t n, char *out);
/* HA1 = H(user:realm:password). */
void reg_digest_ha1(enum reg_alg alg, const struct pl *user, const struct pl *realm,
		    const struct pl *password, char *out);
/* response = H(HA1:nonce:nc:cnonce:qop:H(method:uri)), or H(HA1:nonce:H(method:uri)) when qop
 * is unset (RFC 2069). */
void reg_digest_response(enum reg_alg alg, const char *ha1, const struct pl *nonce,
			 const struct pl *nc, const struct pl *cnonce, const struct pl *qop,
			 const struct pl *method, const struct pl *uri, char *out);

/* The parameters of one Digest credentials or challenge header (values unquoted, escapes
 * left as written). `dup` is set when a parameter appeared twice. */
struct reg_auth {
	struct pl username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop, nc, stale,
	    domain;
	bool dup;
};
/* Parses "Digest a=b, c="d"". EBADMSG on a syntax error, a duplicated parameter, or a value
 * over REG_AUTH_PARAM_MAX; EPROTO when the scheme is not Digest. */
int reg_auth_parse(struct reg_auth *a, const struct pl *value);
/* Algorithm from its name (absent: MD5); EINVAL for one we do not do. */
int reg_alg_from(const struct pl *name, enum reg_alg *alg);

/* Stateless nonces: hex(time ms, 8 bytes | random, 4 bytes | HMAC-SHA256(key, both)[0..12]). */
struct reg_nonce_key {
	uint8_t key[32];
	/* The HMAC's state with the key already absorbed (nettle's struct hmac_sha256_ctx, kept
	 * opaque here): keying costs two SHA-256 blocks, as much as the MAC itself, and every
	 * challenge and every answer to one would pay it again. */
	_Alignas(8) unsigned char keyed[384];
};
void reg_nonce_key_init(struct reg_nonce_key *k);
/* Writes a nonce for time `now_ms` into out (REG_NONCE_LEN + 1 bytes). */
void reg_nonce_make(const struct reg_nonce_key *k, uint64_t now_ms, char *out);
enum reg_nonce_check { REG_NONCE_OK, REG_NONCE_STALE, REG_NONCE_BAD };
/* Checks a nonce: ours and younger than lifetime_ms. *tag gets 8 bytes identifying it (for the
 * nc replay check). */
enum reg_nonce_check reg_nonce_check(const struct reg_nonce_key *k, const struct pl *nonce,
				     uint64_t now_ms, uint64_t lifetime_ms, uint64_t *tag);

/* ---------------------------------------------------------------------------------------------
 * The digest check shared by the registrar (REGISTER) and the call engine (INVITE): one
 * challenge, one verification, the same rules for both (docs/REGISTRATION.md, Digest).
 */
struct reg_digest_ctx {
	const char *realm;
	const struct reg_digest_set *set;
	const struct reg_nonce_key *key;
	uint64_t now_ms; /* the loop clock */
};

/* The algorithms (REG_ALG_*) offered to peer p (NULL: unknown): the configured ones, MD5 only
 * for a peer that has only md5secret (HA1 of MD5 answers nothing else). */
unsigned reg_digest_offer(const struct reg_digest_set *set, const struct peer *p);
/* Appends one "NAME: Digest realm, nonce, algorithm, qop" line per algorithm offered to p, in
 * the configured order, all with one fresh nonce; stale adds stale=true. name:
 * "WWW-Authenticate" (401) or "Proxy-Authenticate" (407). */
int reg_digest_challenge(const struct reg_digest_ctx *dc, const struct peer *p, bool stale,
			 const char *name, struct mbuf *mb);

enum reg_digest_verdict {
	REG_DIGEST_NONE,  /* no credentials for our realm: challenge (401) */
	REG_DIGEST_BAD,	  /* malformed credentials, or none in an algorithm offered: 400 */
	REG_DIGEST_FAIL,  /* unknown user, wrong username or password: 403, counts for the ban */
	REG_DIGEST_STALE, /* right password, nonce not ours or too old: challenge, stale=true */
	REG_DIGEST_OK,
};
struct reg_digest_result {
	enum reg_alg alg;
	uint64_t tag; /* the nonce's identity (for an nc replay check) */
	uint32_t nc;
};
/* Judges msg's credentials for peer p (NULL: unknown; the hash is computed all the same, so an
 * unknown user costs the time of a known one). Authorization and Proxy-Authorization values
 * are read in order; other schemes and other realms are skipped; of the credentials for our
 * realm the first in an algorithm we offer (set->algorithms) is judged (liblinphone sends a
 * SHA-256 and an MD5 one), the others ignored. The username must be p's name or defaultuser;
 * qop=auth with nc and cnonce is required (every challenge asks for it). res may be NULL. */
enum reg_digest_verdict reg_digest_verify(const struct reg_digest_ctx *dc,
					  const struct sip_msg *msg, const struct peer *p,
					  struct reg_digest_result *res);

/* ---------------------------------------------------------------------------------------------
 * The ban (ban.c): failures counted per source address in a window. Public so that other
 * modules that authenticate (the web console's logins) ban the same way.
 */
struct reg_ban_entry {
	struct le le;	  /* in bans.tab */
	struct le lru;	  /* in bans.order: oldest first, for eviction */
	uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
	uint32_t failures;
	uint64_t window_start; /* loop ms */
	uint64_t banned_until; /* loop ms; 0: not banned */
};

struct reg_bans {
	struct htab tab;
	struct list order;
	uint32_t failures, max; /* settings */
	uint64_t window_ms, ban_ms;
	uint64_t banned_total; /* bans started, for tests and the CLI */
};

int reg_bans_init(struct reg_bans *b, uint32_t failures, uint32_t window_s, uint32_t ban_s,
		  uint32_t max);
void reg_bans_reset(struct reg_bans *b);
/* Counts one failure at now_ms; returns true when this failure started a ban. */
bool reg_bans_fail(struct reg_bans *b, const struct sa *addr, uint64_t now_ms);
bool reg_bans_banned(struct reg_bans *b, const struct sa *addr, uint64_t now_ms);
/* Removes the entry of addr; ENOENT when there is none. */
int reg_bans_remove(struct reg_bans *b, const struct sa *addr);
/* Drops entries whose window and ban are both over. */
void reg_bans_purge(struct reg_bans *b, uint64_t now_ms);
size_t reg_bans_count(const struct reg_bans *b);

#endif /* MIKAKA_REG_H */
