/* media: the RTP/RTCP relay: port pairs from a range, one leg per call side bound to the address
 * facing that side, latching (comedia, strictrtp), bridging with payload-type renumbering,
 * PCMU<->PCMA, DTMF conversion (RFC 4733 <-> in-band tones), DSCP, RTP timeouts and per-leg
 * statistics. The packets are relayed on a thread of its own; every function here is called from
 * the loop thread only, and events come back to the loop thread. */
#ifndef MIKAKA_MEDIA_H
#define MIKAKA_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "conf.h"
#include "loop.h"
#include "sdp.h"

struct media;
struct media_leg;

/* strictrtp= (Asterisk's rtp.conf). */
enum media_strict {
	MEDIA_STRICT_NO,    /* accept RTP from anywhere; follow the latest source */
	MEDIA_STRICT_YES,   /* learn the source, then drop packets from any other address */
	MEDIA_STRICT_SEQNO, /* as YES, and a new source must also continue the sequence numbers */
};

struct media_config {
	uint16_t rtpstart; /* first port of the range (rounded up to even); default 49152 */
	uint16_t rtpend;   /* last port of the range (inclusive); default 65535 */
	enum media_strict strictrtp; /* default MEDIA_STRICT_YES */
	uint32_t probation;	     /* packets a new source must send in sequence before it is
				      * latched (Asterisk: probation=, default 4) */
	uint32_t rtptimeout;	     /* seconds without RTP on an active leg -> MEDIA_EV_TIMEOUT;
				      * 0: never (Asterisk sip.conf rtptimeout, default 0) */
	uint32_t rtpholdtimeout;     /* the same while on hold (default 0) */
};

/* Fills the defaults. */
void media_config_init(struct media_config *cfg);
/* Reads rtp.conf's [general]: rtpstart, rtpend, strictrtp (yes/no/seqno), probation, and also
 * accepts rtptimeout/rtpholdtimeout there (Asterisk keeps them in sip.conf: the caller may set
 * the fields directly). `rtpconf` may be NULL (defaults). Unknown keys are warnings with
 * file:line; bad values (rtpend < rtpstart, out of 1024..65535) are errors: EINVAL, cfg still
 * holds the defaults for them. */
int media_config_load(struct media_config *cfg, const struct conf *rtpconf,
		      struct conf_diags *diags);

/* Creates the engine. Cheap: the relay thread, its buffers and the port map are created when the
 * first leg is allocated, so an idle daemon pays nothing. `loop` receives the events. */
int media_alloc(struct media **mp, struct loop *loop, const struct media_config *cfg);
/* Stops the relay thread and frees the engine; every leg must have been freed before. NULL ok. */
void media_free(struct media *m);
/* Applies a new configuration (port range, timeouts, strictrtp) to legs allocated from now on
 * (timeouts: to every leg). */
int media_reconfig(struct media *m, const struct media_config *cfg);

/* DTMF mode of a leg (the values equal enum peer_dtmf, so a peer's dtmfmode converts with a cast).
 */
enum media_dtmf {
	MEDIA_DTMF_RFC4733, /* telephone-event packets (dtmfmode=rfc2833) */
	MEDIA_DTMF_INBAND,  /* tones in the audio (PCMU/PCMA) */
	MEDIA_DTMF_INFO,    /* SIP INFO: the call engine carries digits; no RTP events */
	MEDIA_DTMF_AUTO,    /* RFC 4733 when negotiated, else in-band */
};

/* Events delivered on the loop thread to the leg's handler. */
enum media_event_type {
	MEDIA_EV_TIMEOUT, /* no RTP for rtptimeout (or rtpholdtimeout on hold) seconds */
	MEDIA_EV_DTMF,	  /* a digit received from this leg's peer (RFC 4733 or detected tone) */
	MEDIA_EV_LATCHED, /* the leg latched to a (new) source address */
};

struct media_event {
	enum media_event_type type;
	char digit;	      /* MEDIA_EV_DTMF: '0'-'9', '*', '#', 'A'-'D' */
	uint32_t duration_ms; /* MEDIA_EV_DTMF: 0 when not known */
	bool inband;	      /* MEDIA_EV_DTMF: detected in the audio (else RFC 4733) */
	struct sa addr;	      /* MEDIA_EV_LATCHED: the new source */
};

/* Called on the loop thread. The handler may free the leg (and its bridge partner). */
typedef void(media_event_h)(struct media_leg *leg, const struct media_event *ev, void *arg);

/* Allocates a leg: an even RTP port and RTP+1 for RTCP from the range, both bound to `local`
 * (the address that faces this leg's peer; its port is ignored), with IP_TOS / IPV6_TCLASS set
 * to `tos` (e.g. sipcfg_general.tos_audio; < 0 leaves the default). The leg receives nothing and
 * sends nothing until media_leg_set_remote(). Errors: EADDRINUSE when every pair of the range is
 * taken (the call engine answers 503), EADDRNOTAVAIL when `local` is not ours, ENOMEM. */
int media_leg_alloc(struct media_leg **legp, struct media *m, const struct sa *local, int tos,
		    media_event_h *eh, void *arg);
/* Unbridges, closes the sockets, frees. Pending events for the leg are discarded. NULL ok. */
void media_leg_free(struct media_leg *leg);

/* The leg's RTP port (even; RTCP is port + 1) and the full local address. */
uint16_t media_leg_port(const struct media_leg *leg);
void media_leg_local(const struct media_leg *leg, struct sa *out);

/* Flags for media_leg_set_remote(). */
enum {
	MEDIA_REMOTE_COMEDIA = 1 << 0, /* send to where the peer's RTP comes from (nat=comedia) */
};

/* Sets the peer's RTP address (and RTCP; NULL: RTP port + 1) from this leg's SDP. An any-address
 * (c=0.0.0.0 hold) or port 0 means: send nothing. A changed address restarts latching. */
int media_leg_set_remote(struct media_leg *leg, const struct sa *rtp, const struct sa *rtcp,
			 unsigned flags);

/* What a leg negotiated (normally filled from struct sdp_neg by media_leg_set_sdp()). */
struct media_format {
	struct sdp_neg_fmt fmt[SDP_CODEC_COUNT]; /* fmt[0] is the codec sent to the peer */
	uint8_t nfmt;
	int te_pt_tx; /* telephone-event PT toward the peer, -1 when none */
	int te_pt_rx; /* telephone-event PT from the peer, -1 when none */
	enum media_dtmf dtmf;
	enum sdp_dir dir; /* from our side: SEND = we send to the peer, RECV = we accept its RTP */
};

/* Sets the leg's codecs, PTs, DTMF mode and direction (recomputes the bridge's conversion). */
int media_leg_set_format(struct media_leg *leg, const struct media_format *fmt);
/* media_leg_set_format + media_leg_set_remote from a negotiation result (neg->ok must be true). */
int media_leg_set_sdp(struct media_leg *leg, const struct sdp_neg *neg, enum media_dtmf dtmf,
		      unsigned remote_flags);

/* SRTP keying of one leg (RFC 3711): the suite and the two master keys (key||salt). SDES
 * fills it from the SDP (sdp_neg.tx/rx); a DTLS-SRTP path would fill it from the handshake's
 * key export. Key material: never logged, wiped by the setter's caller when done. */
struct media_srtp_keys {
	uint8_t suite;		 /* enum sdp_suite */
	uint8_t key_len;	 /* sdp_suite_key_len(suite) */
	uint8_t tx[SDP_KEY_MAX]; /* what we send to the leg's peer is encrypted with this */
	uint8_t rx[SDP_KEY_MAX]; /* what the peer sends is checked and decrypted with this */
};
/* Makes the leg an SRTP leg with these keys (replacing any earlier ones: a re-INVITE with new
 * keys), or a plain RTP leg again with NULL. libsrtp2 is loaded on first use: ENOTSUP when it
 * cannot be (or lacks the suite), EINVAL for a key of the wrong length. */
int media_leg_set_srtp(struct media_leg *leg, const struct media_srtp_keys *keys);
/* Loads libsrtp2 now: 0, or ENOTSUP (logged) when it cannot be. */
int media_srtp_available(void);

/* Joins two legs: RTP/RTCP from a's peer goes out of b to b's peer and vice versa, with PT
 * renumbering, PCMU<->PCMA and DTMF conversion as the formats require. A leg already bridged is
 * unbridged first. EINVAL when a == b or they belong to different engines. */
int media_bridge(struct media_leg *a, struct media_leg *b);
/* Separates the leg from its partner (both stop forwarding). Safe when not bridged. */
void media_unbridge(struct media_leg *leg);

/* Sends a digit out of this leg to its peer in the leg's DTMF mode: RFC 4733 events when
 * negotiated, else tones replacing the audio (PCMU/PCMA legs). For a SIP INFO received from the
 * other side. EINVAL for a bad digit, ENOTSUP for DTMF_INFO legs or codecs without tones, EBUSY
 * while a digit is still being sent. duration_ms is clamped to 40..5000 (0: 100). */
int media_leg_send_dtmf(struct media_leg *leg, char digit, uint32_t duration_ms);

/* Statistics of one leg: "rx" is what its peer sent us, "tx" what we sent to its peer. */
struct media_stats {
	uint64_t rx_packets, rx_bytes; /* RTP accepted (payload + header bytes) */
	uint64_t tx_packets, tx_bytes;
	uint64_t rx_dropped;	   /* bad packets, wrong source, unknown PT, during hold */
	uint32_t rx_expected;	   /* RFC 3550 A.3: extended highest seq - base seq + 1 */
	int32_t rx_lost;	   /* expected - received (negative with duplicates) */
	double rx_jitter_ms;	   /* RFC 3550 A.8 interarrival jitter of what we receive */
	uint64_t rtcp_rx, rtcp_tx; /* RTCP packets */
	/* From the peer's RTCP receiver reports about what we send it (valid when rr_count > 0). */
	uint32_t rr_count;
	uint8_t rr_fraction_lost; /* last report, /256 */
	int32_t rr_cumulative_lost;
	double rr_jitter_ms;
	uint32_t dtmf_rx, dtmf_tx; /* digits */
	struct sa remote;	   /* where we send now (latched or SDP) */
	bool latched;
	uint32_t ssrc;	      /* last SSRC received */
	enum sdp_codec codec; /* codec received last (SDP_CODEC_NONE before any) */
	bool srtp;	      /* the leg carries SRTP */
	uint64_t srtp_bad;    /* SRTP/SRTCP packets failing authentication or replayed */
};

/* A snapshot of the leg's counters (read without stopping the relay; fields may be a few
 * packets apart from each other). */
int media_leg_stats(const struct media_leg *leg, struct media_stats *out);
/* Appends a one-line summary ("rx 1234 pkts lost 0 (0.0%) jitter 1.2ms, tx ...") for the CLI. */
int media_stats_format(const struct media_stats *st, struct mbuf *out);

/* Engine-wide drop counters (bad input never crashes: it is counted here). */
struct media_counters {
	uint64_t legs;	  /* legs alive */
	uint64_t rtp_bad; /* version, length, CSRC count, padding lies */
	uint64_t rtcp_bad;
	uint64_t wrong_source;	  /* dropped by strictrtp / during probation */
	uint64_t unknown_pt;	  /* PT not negotiated on the leg */
	uint64_t ports_exhausted; /* leg allocations refused for lack of ports */
	uint64_t not_bridged;	  /* packets on a leg without a partner */
	uint64_t srtp_bad;	  /* SRTP/SRTCP failing authentication, replayed, or not protectable */
};
void media_counters_get(const struct media *m, struct media_counters *out);

#endif /* MIKAKA_MEDIA_H */
