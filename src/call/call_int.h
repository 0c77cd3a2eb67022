/* call_int: the call engine's private structures: the engine, calls, legs (one dialog each). */
#ifndef MIKAKA_CALL_INT_H
#define MIKAKA_CALL_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base.h"
#include "call.h"
#include "loop.h"
#include "media.h"
#include "pbx.h"
#include "sdp.h"
#include "sip.h"

enum leg_state {
	LEG_CALLING,	/* INVITE sent / received, nothing more */
	LEG_EARLY,	/* a provisional with a To tag */
	LEG_CONFIRMED,	/* 2xx sent or received */
	LEG_TERMINATED, /* final non-2xx, BYE, CANCEL */
};

struct call;

#define CALL_GROUPS_MAX 4 /* GROUP() categories one call can be in */

/* One leg: one dialog (RFC 3261 §12) between mikaka and one peer. */
struct call_leg {
	struct le le_call; /* in call->legs */
	struct le le_hash; /* in eng->legs by hash of Call-ID */
	struct le le_eng;  /* in eng->orphans once its call is gone but a transaction remains */
	struct call_eng *eng;
	struct call *call; /* NULL: orphan, waiting for its INVITE's final response */
	bool uac;	   /* we sent the INVITE (a callee leg) */
	bool is_line;	   /* toward/from the carrier line (NGN rules: no rport, timer) */
	bool nat;	   /* the peer is outside the NAT: told externaddr (call_leg_adv) */
	char name[96];	   /* channel name, SIP/801-00000001 */
	char peer[64];
	enum leg_state state;
	uint16_t final; /* final response code of the INVITE (0: none yet) */

	/* Dialog state. call_id, ltag, lhdr, rhdr and contact never change once the leg is set
	 * up: they live in one allocation, ids (call_leg_ids_alloc), freed with the leg. */
	char *ids;
	char *call_id;
	char *ltag, *rtag;
	char *lhdr;  /* our side's From/To value without the tag parameter */
	char *rhdr;  /* the peer's side's value as written, without our added tag */
	char *target; /* remote target URI (Contact) */
	char *routes; /* "Route: ...\r\n" lines of the route set, or NULL */
	uint32_t lcseq, rcseq;
	uint32_t inv_cseq;
	char *contact; /* our Contact value for this leg */
	enum sip_transport tp;
	struct sa dst;	 /* where requests go (the peer's source or the line server) */
	struct sa local; /* our address facing it */

	/* UAS (caller) side. */
	struct sip_strans *st; /* the INVITE's server transaction until it is answered */
	struct sip_msg *inv;   /* the INVITE (referenced) */
	struct mbuf ok;	       /* our 2xx, resent until the ACK */
	struct loop_timer ok_tmr;
	uint32_t ok_interval;
	uint64_t ok_started;
	bool sent_180, sent_183;
	/* Reliable provisionals toward this caller (RFC 3262), when its INVITE allows them. */
	bool rel100;
	uint32_t prov_rseq;	   /* RSeq of the last reliable provisional sent */
	struct mbuf prov;	   /* that provisional while unacknowledged (resent until PRACK) */
	bool prov_sdp;		   /* it carried a session description */
	struct loop_timer prov_tmr;
	uint32_t prov_interval;
	uint64_t prov_started;
	uint16_t pend_code;	   /* a provisional or 2xx waiting for that PRACK (0: none) */
	char *pend_sdp;
	struct sip_strans *pend_st; /* the INVITE transaction of a deferred 2xx */

	/* UAC (callee) side. */
	struct sip_ctrans *ct; /* the INVITE client transaction while it may report */
	struct mbuf ack;       /* our ACK to the 2xx, resent on a retransmitted 2xx */
	struct sip_ctrans *acc_ct; /* the answered INVITE's transaction (referenced): it hands
				    * us the 2xx retransmissions (RFC 6026 Accepted) to ACK */
	struct loop_timer acc_tmr; /* drops acc_ct once its 64*T1 window is over */
	bool cancelled;
	uint32_t rseq; /* last RSeq PRACKed */
	struct sip_ctrans *rct; /* a re-INVITE/UPDATE we relay across, pending */
	struct sip_strans *rst; /* the peer's re-INVITE/UPDATE that started it */
	bool allow_update;
	char *inv_extra; /* extra header lines of our INVITE (kept for a 422 retry) */
	uint8_t n422;	 /* INVITEs resent after 422 Session Interval Too Small */

	/* SDP. */
	char *sdp_remote; /* last SDP from this peer (set it with call_leg_set_sdp_remote) */
	/* sdp_remote parsed, while the caller's offer is answered during set-up (callmedia.c):
	 * parsed once for the refusal check, the callee's offer and the answer (it cost a third of
	 * the SDP work of a call). Only the m-lines used are kept (mem block of about 2 KB);
	 * dropped with sdp_remote, when the caller is answered, and with the leg. */
	struct sdp_session *offer;
	uint8_t offer_codecs[SDP_CODEC_COUNT]; /* sdp_codecs() of offer */
	uint8_t offer_ncodecs;
	char *sdp_local;  /* last SDP sent to this peer */

	/* Media (callmedia.c): the relay leg facing this peer and its offer/answer state. */
	struct media_leg *ml;
	struct sdp_origin origin; /* our o= line on this leg */
	struct sdp_policy pol;	  /* what this peer may use */
	struct sdp_desc *desc;	  /* our last offer (callee legs), made by the first (leg_desc):
				   * a caller leg that is only answered never needs its 1 KB */
	struct sdp_neg neg;	  /* the agreed result (neg.ok once set) */
	/* Our SDES keys toward this peer, one per suite (pol.keys points here); never logged,
	 * wiped with the media leg. */
	struct sdp_crypto srtp_keys[SDP_SUITE_COUNT - 1];
	enum media_dtmf dtmf;
	unsigned rflags; /* MEDIA_REMOTE_* */
	enum sdp_dir peer_dir; /* direction this peer asked for in its last offer */
	bool peer_dir_set;     /* false: none yet (sendrecv) */
	enum sdp_dir sent_dir; /* direction of our last offer passed across to this peer */
	bool sent_dir_set;
	struct media_stats mst; /* last statistics, kept for the record once ml is freed */
	bool mst_ok;

	bool moh; /* music on hold is played to this leg (the other phone holds it) */
	char moh_class[64]; /* the class it hears while held (for the CLI) */

	/* Session timer (RFC 4028). */
	uint32_t se;	 /* interval, s (0: no session timer) */
	bool refresher;	 /* we refresh */
	struct loop_timer se_tmr;
};

enum call_state { CALL_ROUTING, CALL_DIALING, CALL_UP, CALL_ENDING };

struct call {
	struct le le; /* in eng->calls */
	struct call_eng *eng;
	struct cfg *cfg; /* referenced */
	struct pbx_chan *chan;
	struct sip_msg *init_req; /* the caller's INVITE, referenced, when the dialplan reads its
				   * headers (SIP_HEADER()); else NULL */
	enum call_state state;
	struct call_leg *a; /* the caller */
	struct call_leg *b; /* the answered callee */
	struct list legs;   /* every leg, the caller's first */
	struct loop_timer tmr; /* Wait(), Dial() timeout; Dial's S()/L() limit once answered */
	uint32_t limit_ms;     /* Dial's S()/L(): how long the answered call may last (0: ever) */
	bool dial_cont;	       /* Dial's g/F: the caller goes on when the callee hangs up */
	char cont_target[128]; /* F(context^exten^priority); "": the next priority */
	char done_b[96];       /* a callee that hung up while the caller went on (g/F): its */
	char done_b_cid[128];  /* channel name and Call-ID, for the record */
	char done_a[96];       /* a caller taken into another call (ParkedCall), for the record */
	/* parking (park.c) */
	unsigned park_space;   /* the space it waits in (0: not parked) */
	struct le le_park;     /* in eng->parked while parked */
	int64_t park_until_ms; /* wall clock: when its time is up */
	bool park_moh;	       /* the music is playing to it */
	char parker[64];       /* the phone that parked it by a blind transfer ("" : none) */
	/* Set(GROUP([category])=name): "name@category" ("name@" for none), one per category */
	char groups[CALL_GROUPS_MAX][96];
	struct call_sys *sys; /* the System() command it waits for (system.c), or NULL */
	struct call_dtmf *dtmf; /* digits to send (SendDTMF, Dial's D()); NULL: none */
	bool running;	    /* inside run(): no recursion */
	bool rerun;
	bool answered; /* caller got a 2xx */
	bool setup_seen; /* the caller got its first 18x/2xx: set-up time measured (metrics) */
	bool dial_open; /* a Dial() is collecting answers */
	bool dialled;	/* a Dial() ran (else a refusal by the dialplan is logged as such) */
	uint16_t best;  /* best final response of the Dial so far */
	uint16_t media_code; /* 503 (no ports) / 488 (no common codec) for the caller, 0: none */
	unsigned cause;
	uint64_t id;
	int64_t start_ms, answer_ms, end_ms;
	char src[64], dst[64], dcontext[80], clid[160];
	char lastapp[32], lastdata[256];
	struct call_lm *lm; /* local media applications (localmedia.c), made on first use */
	struct call_vmapp *vmapp; /* VoiceMail/VoiceMailMain (vmapp.c), made on first use */
	bool dial_moh;	    /* Dial(...,m): music to the caller while it rings */
	char cid_num[64], cid_name[80];
	/* screening and notifications (calls from the line) */
	bool from_line;
	bool feature;	     /* a feature-code call (144 ...) answered by the engine */
	bool notified_ring;  /* the ringing event was sent */
	int reason;	     /* enum screen_reason of the caller */
	uint16_t refuse_code; /* screening refused the call with this response */
	char screen[48];     /* the screening verdict ("blocklist", "withheld"), "" when none */
	char called[64];     /* the line's number called */
	bool announcing;     /* announce.c: a screening message plays; the call ends after it */
	bool picked;	     /* pickup.c: its caller leg picked up another call (no record) */
};

struct call_eng {
	struct loop *loop;
	struct sip_stack *stack;
	struct sip_transp *tp;
	struct store *store;
	struct reg *reg;
	struct cfg *cfg;
	struct call_settings set;
	call_locate_h *locate;
	void *locate_arg;
	struct list calls;
	struct list orphans;
	struct list parked; /* parked calls, oldest first (park.c) */
	struct list sys;    /* System() commands running (system.c) */
	struct htab legs;
	uint64_t seq;
	void *nkey; /* digest nonce key (auth.c) */
	struct media *media; /* NULL: SDP passes unchanged */
	struct vm *vm;	     /* voicemail (NULL: VoiceMail fails) */
	uint64_t n_refused;
	struct screen_db *screen; /* block list and phonebook (NULL: none) */
	struct notify *notify;	  /* NULL: no notifications */
	call_change_h *change_h;  /* busy-lamp fields: a leg of a peer may have changed */
	void *change_arg;
	call_func_read_h *func_read_h; /* call_eng_set_funcs */
	call_func_write_h *func_write_h;
	void *func_arg;
	uint64_t n_screened[4];	  /* refused by screening: blocklist, withheld, other reasons, vm */
	uint64_t n_disp[4]; /* calls ended, by enum store_cdr_disp (metrics) */
	/* metrics: set-up time (INVITE to the caller's first 18x or 2xx), and the RTP of the legs
	 * of ended calls (added when their record is written) */
	struct histo setup_hist, jitter_hist;
	uint64_t rtp_rx_packets, rtp_rx_bytes, rtp_tx_packets, rtp_tx_bytes, rtp_lost, rtp_dropped;
};
#define CALL_SETUP_BOUNDS 9
extern const double call_setup_bounds[CALL_SETUP_BOUNDS];
#define CALL_JITTER_BOUNDS 8
extern const double call_jitter_bounds[CALL_JITTER_BOUNDS];

/* auth.c: digest authentication of requests from phones. */
enum call_auth { CALL_AUTH_OK, CALL_AUTH_ANSWERED };
int call_auth_init(struct call_eng *eng);
void call_auth_free(struct call_eng *eng);
/* Verifies msg's credentials for peer p (NULL: unknown); answers st (401/403) when they are
 * missing or wrong. */
enum call_auth call_auth_check(struct call_eng *eng, struct sip_strans *st,
			       const struct sip_msg *msg, const struct peer *p);

#define CALL_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO, REFER"
/* Supported on a leg: every option tag we implement (SIP_SUPPORTED_TAGS) toward phones and
 * trunks; toward the NGN line the set known to be accepted there (NGN-NOTES §2.4: what Asterisk
 * sends), as replaces means nothing on that leg (REFER from the line is refused). */
#define CALL_SUPPORTED_LINE "100rel, timer"
#define CALL_SUPPORTED(leg) ((leg)->is_line ? CALL_SUPPORTED_LINE : SIP_SUPPORTED_TAGS)

/* call.c: the engine core: helpers, calls and their end, the dialplan step machine, new calls. */
int64_t call_wall_ms(void);
void call_refused(struct call_eng *eng, const struct sip_msg *msg, const char *why);
void call_hangup(struct call *call, unsigned cause);
char *call_dupf(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* The call's unique id, "START_SECONDS.ID" (the record's uniqueid), into buf. */
void call_uid(const struct call *c, char *buf, size_t size);
char *call_dup_value(const struct pl *v);
/* In place: CR and LF become spaces (a folded header value), and with strip_tag the ;tag=
 * parameter is removed (the others kept). Returns the new length. */
size_t call_fix_value(char *s, bool strip_tag);
void call_set_str(char **dst, char *s);
const char *call_str_or(const char *s, const char *dflt);
const char *call_reason_for(uint16_t code);
void call_run(struct call *c);

/* leg.c: legs as dialogs and what is sent and received on them. */
struct call_leg *call_leg_alloc(struct call_eng *eng, struct call *c, bool uac);
/* The leg's peer may look different to a busy lamp now (created, answered, held, gone): tells
 * the engine's change handler, which defers its work. */
void call_leg_changed(const struct call_leg *leg);
static inline void call_leg_set_state(struct call_leg *leg, enum leg_state st)
{
	if (leg->state != st) {
		leg->state = st;
		call_leg_changed(leg);
	}
}
void call_leg_index(struct call_leg *leg);
void call_leg_free(struct call_leg *leg);
struct call_leg *call_leg_find(struct call_eng *eng, const struct pl *call_id,
				 const struct pl *ltag, const struct pl *rtag);
char *call_route_set(const struct sip_msg *msg, bool reverse);
char *call_contact_uri(const struct sip_msg *msg);
char *call_body_dup(const struct sip_msg *msg);
uint32_t call_session_expires(const struct sip_msg *msg, struct pl *refresher);
uint32_t call_min_se_of(const struct sip_msg *msg);
int call_leg_request(struct call_leg *leg, const char *method, const char *extra,
		       const char *ctype, const char *body, sip_response_h *h, void *arg,
		       struct sip_ctrans **ctp, uint32_t cseq_override);
void call_leg_bye(struct call_leg *leg);
/* senddtmf.c: digits to send to the callee (to_b) and the caller (to_a), each a string of
 * 0-9 * # A-D and w (half a second's pause); sent from call_dtmf_start, one digit a side every
 * duration + gap ms (0: 100 and 150). With rerun, the dialplan goes on when they are out.
 * EINVAL for another character. */
int call_dtmf_prepare(struct call *c, const char *to_b, const char *to_a, uint32_t duration_ms,
		      uint32_t gap_ms, bool rerun);
void call_dtmf_start(struct call *c);
void call_dtmf_free(struct call *c);
void call_dial_continue(struct call *c);

/* funcs.c: the dialplan functions a call answers (pbx_chan_set_func_h/_write_h; arg: the call). */
int call_dp_func_read(struct pbx_chan *ch, const char *name, const char *args, struct mbuf *out,
		      void *arg);
int call_dp_func_write(struct pbx_chan *ch, const char *name, const char *args, const char *value,
		       size_t vlen, void *arg);

/* features.c: the prompts of an announcement (docs/SCREENING.md, Announcements): Asterisk's
 * sound names, so Debian's English set and the Japanese one made by scripts/ja-sounds.sh both
 * have them. */
struct call_ann {
	const char *names[32];
	char digits[24][12];
	size_t n, nd;
};
/* A feature code from a phone (144 then 2, 3, 4 or 9: docs/SCREENING.md). Returns true when
 * exten was one; note says what was done, an the confirmation to speak. */
bool call_feature_code(struct call_eng *eng, const char *exten, char *note, size_t nsize,
		       struct call_ann *an);
/* A timer handler: hangs up the call (arg) a feature code answered. */
void call_feature_bye_h(void *arg);
/* park.c: Park() and ParkedCall() for call_run; call_park_leave when a parked call ends or is
 * taken; `parkedcalls show`. */
/* system.c: System()/TrySystem() for call_run (the call waits for the command); in the h
 * extension, without waiting; call_system_leave when the call ends first. */
void call_system(struct call *c, const struct pbx_action *act);
void call_system_detached(struct call_eng *eng, const struct pbx_action *act);
void call_system_leave(struct call *c);
void call_system_free_all(struct call_eng *eng);
void call_park(struct call *c, const struct pbx_action *act);
void call_parked_call(struct call *c, const struct pbx_action *act);
void call_park_leave(struct call *c);
int call_park_show(const struct call_eng *eng, struct mbuf *out);
/* The conference room the call's caller is in (ConfBridge/MeetMe), or NULL. */
const char *call_lm_conf_room(const struct call *c);
/* CONFBRIDGE_INFO(parties|locked|muted,ROOM): Asterisk's; here parties counts, the others
 * are 0. */
int call_conf_info(struct call_eng *eng, const char *args, struct mbuf *out);
/* Our address as this leg's peer is to see it (Contact, Via, SDP): leg->local, or externaddr
 * when the peer is outside the NAT (sip.conf externaddr=, localnet=). */
void call_leg_adv(const struct call_leg *leg, struct sa *out);
/* Whether a leg toward `peer` is outside the NAT (never the line's). */
bool call_leg_nat(const struct call *c, const struct sa *peer, bool is_line);
void call_a_headers(struct call_leg *leg, const struct sip_msg *req, struct mbuf *mb,
		      uint16_t code);
void call_a_reply(struct call_leg *leg, struct sip_strans **stp, uint16_t code,
		    const char *sdp);
void call_pass_direction(struct call_leg *from, struct call_leg *to, enum sdp_dir dir,
			   bool legacy);
bool call_in_dialog(struct call_eng *eng, struct sip_strans *st, const struct sip_msg *msg);

/* session.c: session timers and reliable provisionals. */
void call_prov_stop(struct call_leg *leg);
void call_a_prack(struct call_leg *leg, struct sip_strans *st, const struct sip_msg *msg);
void call_a_reply_reliable(struct call_leg *leg, struct sip_strans *st, uint16_t code,
			     const char *sdp);
void call_se_timer_start(struct call_leg *leg);
int call_leg_retry_422(struct call_leg *leg, const struct sip_msg *resp);

/* dial.c: Dial(): callee legs and their responses. */
void call_cancel_pending(struct call *c, struct call_leg *except, const char *reason);
bool call_peer_is_line(struct call_eng *eng, const struct peer *p, char *number, size_t nsize,
		       char *domain, size_t dsize);
size_t call_peer_active_legs(const struct call_eng *eng, const char *peer);
void call_do_dial(struct call *c, const struct pbx_dial *dial);
/* The caller of c gets its 200 (body sdp, NULL: b's) now that b answers for it: c is up. */
void call_answer_caller(struct call *c, struct call_leg *b, const char *sdp);
void call_b_resp_h(int err, const struct sip_msg *resp, void *arg);
void call_stray_h(struct sip_stack *stack, const struct sip_msg *resp, void *arg);

/* localmedia.c: the dialplan's media applications on the caller's leg, music on hold. */
#define CALL_DATA_DIR	"/usr/share/asterisk"	     /* astdatadir: moh/ lives here */
#define CALL_SOUNDS_DIR "/usr/share/asterisk/sounds" /* astsoundsdir (Debian's packages) */
struct call_lm;
/* vmapp.c: VoiceMail() and VoiceMailMain(). Each returns false when the call is not in one
 * (the caller then hands the digit/event to localmedia.c). */
struct call_vmapp;
bool call_vm_start(struct call *c, const struct pbx_action *act);
bool call_vm_digit(struct call *c, char d);
bool call_vm_event(struct call *c, struct call_leg *leg, const struct media_event *ev);
void call_vm_hangup(struct call *c);
void call_vm_free(struct call *c);
const char *call_vm_state(const struct call *c);
/* Performs a PBX_ACT_PLAY .. PBX_ACT_STOPMIXMONITOR; reports with pbx_chan_media_done() and
 * call_run() when it ends (MixMonitor/StopMixMonitor at once: c->rerun). */
void call_lm_start(struct call *c, const struct pbx_action *act);
/* A digit from the caller (RFC 4733, in-band or INFO). */
void call_lm_digit(struct call *c, char d);
/* A media event of one of the call's legs (play done, silence, write error). */
void call_lm_event(struct call *c, struct call_leg *leg, const struct media_event *ev);
/* The call ends: a recording is finished (or deleted without k), timers stopped. */
void call_lm_hangup(struct call *c);
void call_lm_free(struct call *c);
/* "playing FILE", "recording FILE", "echo", "tone ...", "moh CLASS", or NULL. */
const char *call_lm_state(const struct call *c);
/* `core show channels verbose`: the leg's "  media state: relayed|playing F|recording F|echo|
 * moh CLASS|tone T|mixmonitor F|idle" line. */
void call_lm_show(const struct call_leg *leg, struct mbuf *out);
/* Music on hold of musiconhold.conf's class (NULL/"": default) out of leg, looped. */
int call_lm_moh_start(struct call *c, struct call_leg *leg, const char *class);
/* Answer(): 200 to the caller with our media address when the relay is on (nothing bridged
 * yet), else the offer echoed; nothing when already answered. */
void call_answer_local(struct call *c);
/* Dial's m music ends (answered, or the Dial is over). */
void call_lm_dial_moh_stop(struct call *c);
/* The other phone put `held` on hold (on) or resumed (off): hold music to it. */
/* The other party holds `held` (on) or takes it back: music of the holder's mohsuggest= class
 * (holder's peer; NULL or none: "default"). */
void call_lm_hold(struct call_leg *held, bool on, const struct call_leg *holder);

/* screening (call.c): a notification for call c. */
void call_notify(struct call *c, unsigned type);
/* The same with the seconds of a voicemail message (NOTIFY_VOICEMAIL). */
void call_notify_duration(struct call *c, unsigned type, unsigned duration);
/* announce.c: plays the sounds names[0..n-1] (in each [screening] language) to the caller, as
 * early media (183) or after answering (200), then ends the call (the refusal code or BYE).
 * false when nothing can be played (no relay, no sound found): the caller does the rest. */
bool call_announce(struct call *c, const char *const *names, size_t n, bool answer);
/* A media event of the call's legs; true when the announcement took it. */
bool call_announce_event(struct call *c, struct call_leg *leg, const struct media_event *ev);
/* The announcement is over (or stopped): the call ends. */
void call_announce_end(struct call *c);

/* pickup.c: call pickup (docs/CALLS.md, Call pickup). */
/* The callee leg of a call still ringing that a pickup may take (a phone's, not the line's). */
bool call_leg_ringing(const struct call_leg *leg);
/* The caller of c (a phone, unanswered) dialled the pickup extension: picks up the oldest call
 * ringing at a phone whose call groups meet its pickup groups, else ends c with 403 (Asterisk:
 * CALL_REJECTED). */
void call_pickup_group(struct call *c);
/* c's caller sent an INVITE with Replaces naming ringing leg r (RFC 3891 §3: an early dialog
 * we initiated): it picks that call up when its pickup groups allow it, else c ends (403). */
void call_pickup_replaces(struct call *c, struct call_leg *r);
/* Pickup()/PickupChan(): true when a call was picked up (c is over), false: the dialplan goes
 * on. */
bool call_pickup_app(struct call *c, const struct pbx_action *act);

/* record.c: call records. */
void call_cdr_write(struct call *call);

/* transfer.c: REFER and Replaces. */
void call_refer(struct call_leg *x, struct sip_strans *st, const struct sip_msg *msg);

/* callmedia.c: the relay legs and per-leg SDP (only when eng->media is set). */
/* The caller's offer: allocates its media leg on the address the INVITE came to. 0, or the
 * response code to refuse the call with (488 no usable codec / bad SDP, 503 no ports). */
uint16_t call_media_caller(struct call_leg *a, const struct sip_msg *inv, const struct peer *p);
/* Our offer toward a callee leg (a media leg on `local`), restricted to what the caller
 * offered: the body into *sdp (malloc'ed). ENOTSUP (no common codec), EADDRINUSE (ports). */
int call_media_callee_offer(struct call_leg *b, struct call_leg *a, const struct peer *p,
			    const struct sa *local, char **sdp);
/* The callee answered (18x/2xx body, NULL: reuse the earlier one): applies it on b, answers the
 * caller's offer on a, bridges. The caller's answer body into *sdp. */
int call_media_answer(struct call_leg *a, struct call_leg *b, const struct pl *body, char **sdp);
/* Answers the caller's offer with no callee (Answer()): our address, nothing bridged. */
int call_media_local_answer(struct call_leg *a, char **sdp);
/* A new offer inside the dialog on leg: answered on this leg only (the other side keeps its
 * session). The answer into *sdp. ENOTSUP: 488. */
int call_media_reoffer(struct call_leg *leg, const struct pl *body, char **sdp);
/* A new offer of ours toward leg with direction dir (hold/resume passed across from the other
 * leg), keeping the codecs it already agreed; legacy_hold also writes c=0.0.0.0. Into *sdp. */
int call_media_dir_offer(struct call_leg *leg, enum sdp_dir dir, bool legacy_hold, char **sdp);
/* The peer's answer to that offer: applied to the relay leg. */
int call_media_offer_answered(struct call_leg *leg, const struct pl *body);
/* The direction (and whether c=0.0.0.0 was used) of the audio stream an SDP body asks for. */
int call_media_peer_dir(const struct pl *body, enum sdp_dir *dir, bool *legacy);
/* Pickup: answers picker p's offer and caller a's (a codec they share, a's earlier answer kept
 * when it had one) and bridges them. The bodies into *asdp and *psdp. ENOTSUP: nothing shared. */
int call_media_pickup(struct call_leg *a, struct call_leg *p, char **asdp, char **psdp);
/* Frees the leg's relay sockets (statistics kept in leg->mst). */
void call_media_leg_free(struct call_leg *leg);
/* The block of a leg's fixed strings (size bytes, kept in leg->ids); NULL on ENOMEM.
 * call_leg_put() copies n bytes of s into it at dst with a NUL and returns what follows. */
char *call_leg_ids_alloc(struct call_leg *leg, size_t size);
static inline char *call_leg_put(char *dst, const char *s, size_t n)
{
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
	return dst + n + 1;
}
/* Replaces leg->sdp_remote with sdp (owned; NULL clears it) and drops its parsed copy. */
void call_leg_set_sdp_remote(struct call_leg *leg, char *sdp);
/* Drops the parsed copy of leg->sdp_remote (kept only while the caller is being answered). */
void call_media_offer_drop(struct call_leg *leg);
/* `core show channels verbose` / CDR: one leg's media line and JSON object. */
void call_media_show(const struct call_leg *leg, struct mbuf *out);
void call_media_json(const struct call_leg *leg, struct mbuf *out);
/* Adds the leg's RTP counters to the engine's (metrics), once, when its call's record is made. */
void call_media_account(struct call_eng *eng, const struct call_leg *leg);

#endif /* MIKAKA_CALL_INT_H */
