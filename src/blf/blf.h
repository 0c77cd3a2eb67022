/* blf: busy-lamp fields as Asterisk users know them: hints of extensions.conf
 * (exten => 801,hint,SIP/801&SIP/802) give an extension the combined state of its devices
 * (registration and calls of sip.conf peers), which phones watch by SUBSCRIBE to the dialog
 * (RFC 4235, application/dialog-info+xml) or presence (RFC 3856, application/pidf+xml) event
 * package, over the subscription machinery of evsub (RFC 6665); a NOTIFY goes out at every
 * change. `core show hints` and `sip show subscriptions`. Loop thread only. */
#ifndef MIKAKA_BLF_H
#define MIKAKA_BLF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "peer.h" /* enum peer_notifyringing */

struct loop;
struct sip_stack;
struct sip_strans;
struct sip_msg;
struct reg;
struct call_eng;
struct cfg;
struct peer;
struct evsub_set;
struct blf;
struct store;

#define BLF_EXPIRES_DEFAULT 3600 /* a SUBSCRIBE without Expires */
#define BLF_DEVICES_MAX	    16	 /* devices of one hint that count (more are ignored) */

/* A device's state (Asterisk's device states). */
enum blf_devstate {
	BLF_DEV_UNKNOWN = 0,
	BLF_DEV_NOT_INUSE,   /* registered (or a fixed host), no call */
	BLF_DEV_INUSE,	     /* in a call */
	BLF_DEV_BUSY,	     /* (kept for Asterisk's list; not produced) */
	BLF_DEV_INVALID,     /* no such peer, or a technology other than SIP/PJSIP */
	BLF_DEV_UNAVAILABLE, /* not registered */
	BLF_DEV_RINGING,     /* a call rings there */
	BLF_DEV_RINGINUSE,   /* in a call and another rings */
	BLF_DEV_ONHOLD,	     /* its call is on hold */
};

/* Asterisk's device state words (UNKNOWN, NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING,
 * RINGINUSE, ONHOLD), and back (case-insensitive); EINVAL for another word. */
const char *blf_devstate_name(enum blf_devstate st);
int blf_devstate_parse(const char *s, enum blf_devstate *st);
/* Custom device states (hint devices Custom:NAME) are kept where Asterisk keeps them: the
 * database family CustomDevstate (src/astdb). */
#define BLF_CUSTOM_FAMILY "CustomDevstate"

/* An extension's state (Asterisk's extension state bits; 0 is Idle). */
enum blf_extstate {
	BLF_EXT_NOT_INUSE = 0,
	BLF_EXT_INUSE = 1 << 0,
	BLF_EXT_BUSY = 1 << 1,
	BLF_EXT_UNAVAILABLE = 1 << 2,
	BLF_EXT_RINGING = 1 << 3,
	BLF_EXT_ONHOLD = 1 << 4,
};

/* A peer's device state: known (the peer exists), reachable (registered, or a fixed host) and
 * its calls (enum call_peer_busy bits). */
enum blf_devstate blf_device_state(bool known, bool reachable, unsigned busy);
/* The extension state of a hint over its devices' states, as Asterisk combines them: any in use
 * and any ringing gives InUse&Ringing, ringing alone Ringing, in use InUse, held Hold, all
 * unavailable (or none) Unavailable, else Idle. */
unsigned blf_aggregate(const enum blf_devstate *devs, size_t n);
/* The state a watcher is sent, as chan_sip's [general] notifyringing= (yes: as it is; no:
 * never ringing; notinuse: not ringing while also in use) and notifyhold= (no, the default:
 * held counts as in use) decide. */
unsigned blf_notified_state(unsigned ext, enum peer_notifyringing ringing, bool hold);
/* "Idle", "InUse", "Busy", "Unavailable", "Ringing", "InUse&Ringing", "Hold", "InUse&Hold" (the
 * words of `core show hints`). */
const char *blf_extstate_name(unsigned ext);
/* RFC 4235 dialog state for an extension state: "terminated" (idle, unavailable), "early"
 * (ringing), "confirmed" (in use, held). */
const char *blf_dialog_state(unsigned ext);

/* Appends s with XML's five special characters escaped. */
int blf_xml_escape(struct mbuf *mb, const char *s);
/* application/dialog-info+xml (RFC 4235): state="full", version, entity, one dialog element
 * (id: the extension) with its state; a ringing one is direction="recipient". */
int blf_dialog_body(struct mbuf *mb, const char *entity, const char *exten, uint32_t version,
		    unsigned ext);
/* The caller and the ringing dialog a ringing lamp names with notifycid=yes. */
struct blf_ringing {
	const char *call_id, *local_tag, *remote_tag; /* tags as the ringing phone sees them */
	const char *caller_num, *caller_name;	      /* "" when unknown */
};
/* blf_dialog_body, and when r is given and the state is early: call-id, local-tag and
 * remote-tag on the dialog, <local> (the extension) and <remote> (the caller) identities and
 * targets (RFC 4235 §4.1.6), as chan_sip's notifycid=yes sends them. */
int blf_dialog_body_cid(struct mbuf *mb, const char *entity, const char *exten, uint32_t version,
			unsigned ext, const struct blf_ringing *r);
/* application/pidf+xml (RFC 3863): basic open (closed when unavailable), a note with the state
 * as a phone shows it ("Ready", "On the phone", "Ringing", "On hold", "Unavailable") and the
 * RPID on-the-phone activity when busy. */
int blf_pidf_body(struct mbuf *mb, const char *entity, const char *exten, unsigned ext);

/* ---- the service ---------------------------------------------------------------------------- */

/* Authenticates a SUBSCRIBE: returns the peer, or NULL once it has answered st itself. */
typedef const struct peer *(blf_auth_h)(struct sip_strans *st, const struct sip_msg *msg,
					void *arg);

/* reg and calls may be NULL (then every device is unavailable / idle). Installs the registrar's
 * and the call engine's change handlers. */
int blf_alloc(struct blf **bp, struct loop *loop, struct sip_stack *stack, struct reg *reg,
	      struct call_eng *calls, blf_auth_h *auth, void *auth_arg);
/* Ends the subscriptions (no NOTIFY), removes the handlers, frees; NULL ok. */
void blf_free(struct blf *b);
/* The configuration in force (referenced): its hints and peers. At a reload, subscriptions to a
 * hint that went away end (terminated;reason=noresource); the others get the new state. */
void blf_set_cfg(struct blf *b, struct cfg *cfg);
/* The server's SUBSCRIBE route for Event: dialog and presence: false for other events (the next
 * handler answers them). */
bool blf_handle_subscribe(struct sip_strans *st, const struct sip_msg *msg, void *arg);
/* The Allow-Events value of the packages served here. */
#define BLF_ALLOW_EVENTS "dialog, presence"

/* The current extension state of a hint's devices ("SIP/801&SIP/802"). */
unsigned blf_hint_state(const struct blf *b, const char *devices);
/* The state database of custom device states (NULL: none; they are then UNKNOWN and cannot be
 * set). */
void blf_set_store(struct blf *b, struct store *st);
/* Sets Custom:NAME (name without the prefix) and notifies its watchers; EINVAL for a bad name,
 * ENODEV without a store. */
int blf_custom_set(struct blf *b, const char *name, enum blf_devstate st);
/* The dialplan's DEVICE_STATE(device) and EXTENSION_STATE(exten[@context]) (context: the
 * channel's when not given), and Set(DEVICE_STATE(Custom:NAME)=STATE); call_eng_set_funcs'
 * handlers (arg: the blf). ENOENT for other names. */
int blf_func_read(const char *context, const char *name, const char *args, struct mbuf *out,
		  void *arg);
int blf_func_write(const char *name, const char *args, const char *value, size_t vlen, void *arg);
/* `devstate change Custom:NAME STATE` and `devstate list` (arg: the blf). */
int blf_cmd_devstate_change(struct mbuf *out, int argc, char **argv, void *arg);
int blf_cmd_devstate_list(struct mbuf *out, int argc, char **argv, void *arg);
/* `core show hints` in Asterisk's layout. */
int blf_show_hints(const struct blf *b, struct mbuf *out);
/* `sip show subscriptions` rows of the busy-lamp subscriptions, and of another set (mwi's:
 * NULL none), in Asterisk's layout. */
int blf_show_subscriptions(const struct blf *b, struct evsub_set *other, struct mbuf *out);

#endif /* MIKAKA_BLF_H */
