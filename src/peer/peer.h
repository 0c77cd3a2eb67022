/* peer: the meaning of sip.conf: the [general] settings, the `register =>` lines and the peers
 * (phones and trunks), read from a struct conf into one refcounted snapshot, plus the
 * Asterisk-style `sip show peers|peer|settings|registry` output. */
#ifndef MIKAKA_PEER_H
#define MIKAKA_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "conf.h"

enum peer_type {
	PEER_TYPE_FRIEND, /* both: may call us and be called */
	PEER_TYPE_PEER,	  /* we call it; its calls are matched by address */
	PEER_TYPE_USER,	  /* it calls us (authenticated by name); never called */
};

enum peer_dtmf {
	PEER_DTMF_RFC2833, /* RFC 4733 telephone-event (Asterisk's name) */
	PEER_DTMF_INBAND,  /* tones in the audio */
	PEER_DTMF_INFO,	   /* SIP INFO */
	PEER_DTMF_AUTO,	   /* rfc2833 when offered, else inband */
};

/* nat= flags (combinable, as in Asterisk). */
enum {
	PEER_NAT_FORCE_RPORT = 1 << 0,	    /* answer to the source address as if rport was given */
	PEER_NAT_COMEDIA = 1 << 1,	    /* send media where the peer's media comes from */
	PEER_NAT_AUTO_FORCE_RPORT = 1 << 2, /* force_rport only when NAT is detected */
	PEER_NAT_AUTO_COMEDIA = 1 << 3,	    /* comedia only when NAT is detected */
};

/* insecure= flags. */
enum {
	PEER_INSECURE_PORT = 1 << 0,   /* match the peer by address without the port */
	PEER_INSECURE_INVITE = 1 << 1, /* do not challenge its INVITEs */
};

/* Transports (a set of flags; the first one written is the primary). */
enum peer_transport {
	PEER_TP_UDP = 1 << 0,
	PEER_TP_TCP = 1 << 1,
	PEER_TP_TLS = 1 << 2,
};

/* The codecs mikaka knows, in Asterisk's names. */
enum peer_codec {
	PEER_CODEC_ULAW,
	PEER_CODEC_ALAW,
	PEER_CODEC_G722,
	PEER_CODEC_OPUS,
	PEER_CODEC_GSM,
	PEER_CODEC_G729,
	PEER_CODEC_COUNT
};

enum peer_overlap { PEER_OVERLAP_NO, PEER_OVERLAP_YES, PEER_OVERLAP_DTMF };

/* The keys whose origin a peer remembers (origins[] below). */
enum peer_key {
	PEER_KEY_TYPE,
	PEER_KEY_HOST,
	PEER_KEY_PORT,
	PEER_KEY_SECRET,
	PEER_KEY_MD5SECRET,
	PEER_KEY_DEFAULTUSER,
	PEER_KEY_FROMUSER,
	PEER_KEY_FROMDOMAIN,
	PEER_KEY_CONTEXT,
	PEER_KEY_CODECS, /* the last allow= or disallow= */
	PEER_KEY_DIRECTMEDIA,
	PEER_KEY_ENCRYPTION,
	PEER_KEY_DTMFMODE,
	PEER_KEY_QUALIFY,
	PEER_KEY_QUALIFYFREQ,
	PEER_KEY_INSECURE,
	PEER_KEY_NAT,
	PEER_KEY_CALLERID,
	PEER_KEY_CALL_LIMIT,
	PEER_KEY_ACL, /* the last permit= or deny= */
	PEER_KEY_TRANSPORT,
	PEER_KEY_OUTBOUNDPROXY,
	PEER_KEY_MAILBOX,
	PEER_KEY_CALLGROUP,
	PEER_KEY_PICKUPGROUP,
	PEER_KEY_NAMEDCALLGROUP,
	PEER_KEY_NAMEDPICKUPGROUP,
	PEER_KEY_MOHSUGGEST,
	PEER_KEY_COUNT
};

/* One permit= or deny= line. An IPv4 rule applies to IPv4 (and IPv4-mapped IPv6) addresses,
 * an IPv6 rule to IPv6 ones (an IPv4 address is compared as ::ffff:a.b.c.d). */
struct peer_acl_rule {
	bool permit;
	struct sa_net net;
	struct conf_origin origin;
};

struct peer {
	const char *name;
	enum peer_type type;
	bool dynamic;	  /* host=dynamic: the address comes from REGISTER */
	const char *host; /* the fixed host as written (IP literal or name); NULL when dynamic */
	struct sa addr; /* the fixed host when it is an IP literal, with `port`; unset otherwise */
	uint16_t port;	/* port= (default 5060) */
	const char *secret;	 /* NULL when not set (as every optional string below) */
	const char *md5secret;	 /* hex MD5 of user:realm:secret */
	const char *defaultuser; /* user part when we call it */
	const char *fromuser;
	const char *fromdomain;
	const char *mailbox; /* mailbox=BOX[@CONTEXT][,...]: message waiting (RFC 3842) */
	/* Call pickup (Asterisk's keys): callgroup=/pickupgroup= as bit sets of groups 0-63;
	 * namedcallgroup=/namedpickupgroup= as ",name1,name2," (NULL: none). A ringing call to
	 * this peer can be picked up by a phone whose pickup groups meet its call groups. */
	uint64_t callgroup, pickupgroup;
	const char *namedcallgroup, *namedpickupgroup;
	const char *language;	/* language=: sounds/LANG/ for its calls (CHANNEL(language)) */
	const char *mohsuggest; /* mohsuggest=: the class the other party hears on its hold */
	/* outboundproxy=[sip:]host[:port][,force] (its own, else [general]'s): requests to the peer
	 * go there instead of to host= (an IP literal or a name); NULL when not set. */
	const char *outboundproxy;
	uint16_t outboundproxy_port;	  /* 0: 5060 */
	const char *context;		  /* where its calls enter the dialplan (never NULL) */
	const char *subscribecontext;	  /* hints of its SUBSCRIBEs (NULL: context=) */
	uint8_t codecs[PEER_CODEC_COUNT]; /* enum peer_codec, in preference order */
	uint8_t ncodecs;
	bool directmedia; /* recorded only: mikaka always relays media */
	/* encryption=yes: calls to and from it carry SRTP (SDES keys, only over TLS) or are
	 * refused with 488 (docs/MEDIA.md, SRTP). */
	bool encryption;
	enum peer_dtmf dtmfmode;
	uint32_t qualify_ms;  /* 0: qualify=no; else the round trip above which it is "LAGGED" */
	uint32_t qualifyfreq; /* seconds between OPTIONS probes */
	unsigned insecure;    /* PEER_INSECURE_* */
	unsigned nat;	      /* PEER_NAT_* */
	const char *cid_name; /* callerid= "Name" <number> */
	const char *cid_num;
	uint32_t call_limit; /* 0: unlimited */
	const struct peer_acl_rule *acl;
	size_t nacl;
	unsigned transports;			    /* PEER_TP_* allowed */
	enum peer_transport transport;		    /* the primary one */
	struct conf_origin origin;		    /* the section header */
	bool type_guessed;			    /* no type= was given: taken as friend */
	bool allowsubscribe; /* allowsubscribe= (default yes): busy-lamp SUBSCRIBEs accepted */
	struct conf_origin origins[PEER_KEY_COUNT]; /* file NULL: the built-in default */
};

/* One `register =>` line of [general] (Asterisk syntax
 * [peer?][transport://]user[@domain][:secret[:authuser]]@host[:port][/contact][~expiry]; the
 * domain may carry a port: user@domain:dport:secret:authuser@host). */
struct sipcfg_register {
	const char *peer; /* peer? prefix, or NULL */
	enum peer_transport transport;
	const char *user;     /* the user part of From/To */
	const char *domain;   /* the domain of From/To; NULL: same as host */
	uint16_t domainport;  /* 0 when not given */
	const char *secret;   /* NULL when not given */
	const char *authuser; /* NULL when not given */
	const char *host;     /* where REGISTER goes */
	uint16_t port;	      /* 5060 unless given */
	const char *contact;  /* user part of our Contact ("s" when not given) */
	uint32_t expiry;      /* seconds: ~expiry, else defaultexpiry */
	bool expiry_given;
	struct conf_origin origin;
};

/* The [general] settings. */
struct sipcfg_general {
	const char *context;   /* default context of peers and of guests ("default") */
	bool allowguest;       /* calls from unknown addresses/users (default no) */
	bool alwaysauthreject; /* same answer for an unknown user and a wrong password (yes) */
	const char *realm;     /* digest realm ("mikaka") */
	enum peer_overlap allowoverlap;
	const char *useragent; /* User-Agent / Server value */
	int tos_sip;	       /* TOS byte (DSCP << 2); default CS4 */
	int tos_audio;
	uint32_t minexpiry, maxexpiry, defaultexpiry; /* registrations, seconds: 60, 3600, 120 */
	bool srvlookup;
	/* Busy lamps (chan_sip's): whether a ringing extension is sent as ringing (yes, default),
	 * never (no), or only while it is not also in use (notinuse); whether a held call is sent
	 * as held (default no: as in use). */
	enum peer_notifyringing { PEER_NOTIFYRINGING_YES = 0, PEER_NOTIFYRINGING_NO,
				  PEER_NOTIFYRINGING_NOTINUSE } notifyringing;
	bool notifyhold;
	/* notifycid= (yes or ignore-context): a ringing lamp's NOTIFY names the caller and the
	 * ringing dialog (Call-ID and tags), so a phone can show who calls and take the call with
	 * an INVITE with Replaces. Default no, as chan_sip. */
	bool notifycid;
	const struct peer *defaults; /* what peers start from: general's context, allow, nat... */
};

struct sipcfg;

/* Reads the meaning of sip.conf (`sipconf` may be NULL: every default). Problems go to diags with
 * the file:line they come from (unknown and unimplemented keys are warnings, each reported once);
 * returns EINVAL when any is an error, ENOMEM; sets *cfgp only on success. The result is
 * refcounted (mem_ref / mem_deref) and does not point into sipconf, so callers may keep the
 * snapshot they started with across a reload. */
int sipcfg_load(struct sipcfg **cfgp, const struct conf *sipconf, struct conf_diags *diags);

const struct sipcfg_general *sipcfg_general(const struct sipcfg *cfg);
/* The `register =>` lines in file order; *np gets their number. */
const struct sipcfg_register *sipcfg_registers(const struct sipcfg *cfg, size_t *np);

/* The peer with this name (case-insensitive, as Asterisk), or NULL. O(log n). */
const struct peer *peer_find(const struct sipcfg *cfg, const char *name);
/* Whether picker's pickup groups (numbered or named) meet ringing's call groups (Asterisk's
 * rule: no groups on either side, no pickup). */
bool peer_groups_match(const struct peer *picker, const struct peer *ringing);
/* Iteration: the peers sorted by name (case-insensitive), i < sipcfg_peer_count(). */
size_t sipcfg_peer_count(const struct sipcfg *cfg);
const struct peer *sipcfg_peer_at(const struct sipcfg *cfg, size_t i);

/* Whether the permit=/deny= rules let `addr` in: every rule that matches decides in turn, the
 * last match wins; no matching rule (or no rules) allows (Asterisk's semantics). */
bool peer_acl_allows(const struct peer *peer, const struct sa *addr);
/* Whether the peer's transport= lists the transport a request came over (the name sip.h's
 * sip_transport_name gives: "UDP", "TCP", "TLS"; anything else is not allowed). Asterisk
 * answers a REGISTER or INVITE over another transport with 403. A peer without transport=
 * takes every transport (chan_sip would take only udp: that default locked phones set to
 * TCP or TLS out). */
bool peer_transport_allows(const struct peer *peer, const char *tp_name);
/* Where the value of `key` came from ({NULL, 0} for a built-in default). */
struct conf_origin peer_origin(const struct peer *peer, enum peer_key key);
/* "ulaw", "alaw", ... */
const char *peer_codec_name(enum peer_codec codec);
/* "friend", "peer", "user" */
const char *peer_type_name(enum peer_type type);
/* "rfc2833", "inband", "info", "auto" */
const char *peer_dtmf_name(enum peer_dtmf mode);

/* ---------------------------------------------------------------------------------------------
 * CLI output in Asterisk's layout. The live state (where a dynamic peer registered from, the
 * qualify round trip) belongs to the registrar: it is asked for through a callback.
 */
struct peer_live {
	struct sa addr;	     /* where the peer is now (registered contact's source); unset: none */
	char username[64];   /* the user it registered as ("" when unknown) */
	char useragent[128]; /* its User-Agent */
	char contact[256];   /* its registered Contact URI */
	int lastms;	     /* last OPTIONS round trip: >0 ms, <0 unreachable, 0 not known yet */
	bool nat;	     /* NAT detected (for nat=auto_*) */
	const char *transport; /* what it registered over ("UDP", "TCP", "TLS"); NULL: unknown */
	/* Every binding (registered contact), most recent first: a peer may register several
	 * devices, each over its own transport. nbindings may exceed PEER_LIVE_BINDINGS (only
	 * that many are described). */
	struct peer_binding {
		struct sa addr;	       /* where its REGISTER came from */
		const char *transport; /* "UDP", "TCP", "TLS" */
		char useragent[128];
		char contact[256];
		int64_t expires_in; /* seconds left */
		int lastms;	    /* as above, for this binding */
	} bindings[4];
	unsigned nbindings;
};
#define PEER_LIVE_BINDINGS 4

/* Fills `out` (zeroed by the caller) for one peer; may leave it untouched. */
typedef void(peer_state_h)(const struct peer *peer, struct peer_live *out, void *arg);

/* `sip show peers`: one line per peer/friend (users are not listed) and the summary line.
 * state_h may be NULL. */
int sipcfg_show_peers(const struct sipcfg *cfg, struct mbuf *out, peer_state_h *state_h, void *arg);
/* `sip show peer NAME`: key : value lines; secrets show only as <Set>. ENOENT: no such peer. */
int sipcfg_show_peer(const struct sipcfg *cfg, const char *name, struct mbuf *out,
		     peer_state_h *state_h, void *arg);
/* `sip show settings`: the subset of Asterisk's output this module knows. */
int sipcfg_show_settings(const struct sipcfg *cfg, struct mbuf *out);

struct sipcfg_reg_live {
	char state[32];	  /* "Registered", "Request Sent", "Rejected", ...; "" : "Unregistered" */
	uint32_t refresh; /* seconds granted */
	int64_t regtime;  /* time of the last 200 (UNIX seconds); 0 when never */
};
typedef void(sipcfg_reg_state_h)(const struct sipcfg_register *reg, struct sipcfg_reg_live *out,
				 void *arg);
/* `sip show registry`: one line per `register =>`. state_h may be NULL. */
int sipcfg_show_registry(const struct sipcfg *cfg, struct mbuf *out, sipcfg_reg_state_h *state_h,
			 void *arg);

#endif /* MIKAKA_PEER_H */
