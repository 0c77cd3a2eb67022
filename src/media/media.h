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
	/* Local endpoints (below). */
	MEDIA_EV_PLAY_DONE, /* the player (media_leg_play) or a timed tone reached its end */
	MEDIA_EV_SILENCE,   /* recording: silence_ms of continuous silence (counted from the
			     * start too, as Asterisk's Record; res.heard tells if any sound came) */
	MEDIA_EV_REC_ERROR, /* recording or monitoring: writing the file failed (disk full); the
			     * recorder stopped, what is written so far stays */
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
 * keys), or a plain RTP leg again with NULL. The SRTP is ours (srtp.c) on OpenSSL's libcrypto,
 * loaded on first use: ENOTSUP when it cannot be (or for an unknown suite), EINVAL for a key of
 * the wrong length. */
int media_leg_set_srtp(struct media_leg *leg, const struct media_srtp_keys *keys);
/* Loads libcrypto for SRTP now: 0, or ENOTSUP (logged) when it cannot be. */
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

/* ---------------------------------------------------------------------------------------------
 * Local media endpoints: mikaka itself as the far end of a leg (Playback, Echo, Record, music on
 * hold, MixMonitor, voicemail).
 *
 * How the call engine uses them (all on the loop thread):
 *  - A leg answered by mikaka is an ordinary media leg that is not bridged (or is bridged and
 *    gets a source that replaces what its partner would send: music on hold for a held party).
 *  - A source says what goes out of the leg to its peer, packetised every 20 ms by the relay
 *    thread's timer (timerfd) in the leg's negotiated codec (PCMU/PCMA; other codecs: ENOTSUP):
 *    media_leg_play() (sound files, looped or not), media_leg_tone() (spandsp tones),
 *    media_leg_echo() (what the peer sends comes back). One source at a time: starting one
 *    replaces the last; media_leg_stop() ends it (a bridged leg relays its partner again, an
 *    unbridged one goes quiet). MEDIA_EV_PLAY_DONE reports the end of a non-looping source.
 *  - A recorder writes what the leg's peer sends to a WAV file (media_leg_record(), stopped by
 *    media_leg_record_stop() that finishes the header); silence detection reports
 *    MEDIA_EV_SILENCE. A monitor (media_leg_monitor()) writes both directions of the leg, mixed,
 *    to one WAV (MixMonitor). A leg may have a source, a recorder and a monitor at once.
 *  - DTMF from an unbridged leg's peer comes as MEDIA_EV_DTMF (RFC 4733 events, or tones
 *    detected in the audio when the leg uses in-band DTMF); SIP INFO digits the call engine
 *    gets itself.
 *  - Sounds: media_sound_find() resolves a name as Asterisk does, media_sound_load() decodes a
 *    WAV once into 8 kHz 16-bit samples shared by every player (a cache keyed by path; an entry
 *    lives while some player or caller holds it).
 * The relay thread allocates nothing per packet: sources, recorders and their buffers are
 * allocated here, on the loop thread, when they start.
 */

#define MEDIA_RATE     8000 /* samples per second of every local source and recording */
#define MEDIA_FRAME    160  /* samples per 20 ms packet */
#define MEDIA_PLAY_MAX 32   /* sounds in one media_leg_play() */

/* Decoded samples of one file (8 kHz mono signed 16-bit), refcounted: mem_deref() releases. */
struct media_sound;

/* Loads a WAV file (PCM 8/16-bit, mu-law or A-law, mono or stereo mixed down, any rate
 * converted to 8 kHz: the mean over each output sample's span when downsampling, linear
 * interpolation when upsampling) or returns the cached one; *sp gets a reference.
 * ENOENT (missing), EINVAL (not a WAV this reads: the log says why), ENOMEM. The cache is
 * process-wide; an entry whose file changed on disk (mtime, size) is reloaded. */
int media_sound_load(struct media_sound **sp, const char *path);
/* Number of samples and the samples (for tests and the tools). */
size_t media_sound_len(const struct media_sound *s);
const int16_t *media_sound_samples(const struct media_sound *s);
/* Sounds held in the cache now (entries, bytes of samples). */
void media_sound_cache_stats(size_t *entries, size_t *bytes);

/* Finds a sound file the way Asterisk does: `name` with a leading '/' is a path (".wav" added
 * when it has no extension); else `dir`/`lang`/`name`.wav, then, for a language with a region
 * ("ja_JP"), `dir`/ja/`name`.wav, then `dir`/`name`.wav (lang NULL or "" skips the language).
 * Writes the path found into buf. 0, ENOENT (buf holds the last path tried), ENAMETOOLONG,
 * EINVAL (a name with "..": sound names never leave the sounds directory). */
int media_sound_find(char *buf, size_t size, const char *dir, const char *lang, const char *name);

/* Plays sounds[0..n-1] in order out of the leg (references are taken; the caller keeps its
 * own), from the start; `loop` restarts after the last (music on hold), else MEDIA_EV_PLAY_DONE
 * when the last ends. n == 0 plays silence until stopped. EINVAL, ENOTSUP (the leg's codec is
 * not PCMU/PCMA), ENOMEM. */
int media_leg_play(struct media_leg *leg, struct media_sound *const *sounds, size_t n, bool loop);
/* Plays a tone in Asterisk's indications.conf syntax: comma-separated parts "f1[+f2][/ms]"
 * ("!" before a part: played once, not repeated; a part without /ms lasts forever), e.g.
 * "1004" (Milliwatt), "440+480/2000,0/4000" (ringback), "!1000/500" (beep). A list whose parts
 * are all "!" ends with MEDIA_EV_PLAY_DONE. Generated by spandsp at -10 dBm0 (0 dBm0 for a
 * single 1004 Hz part: Milliwatt). EINVAL for a bad spec. */
int media_leg_tone(struct media_leg *leg, const char *spec);
/* Sends back what the leg's peer sends (Echo()), RTP payload as received. */
int media_leg_echo(struct media_leg *leg);
/* Conference (ConfBridge): the leg joins room `name` (made when its first member joins, gone
 * with its last): it hears the others' audio mixed, 20 ms at a time, and they hear it. G.711
 * legs only. EBUSY when the room has MEDIA_CONF_MAX members. media_leg_stop (or another
 * source) leaves the room. */
#define MEDIA_CONF_MAX 16
int media_leg_conf(struct media_leg *leg, const char *name);
/* Ends the source (play, tone, echo, conference). Safe when there is none. */
void media_leg_stop(struct media_leg *leg);

/* What the leg does as an endpoint now (for `core show channels verbose`). */
enum media_src_type {
	MEDIA_SRC_NONE,
	MEDIA_SRC_PLAY,
	MEDIA_SRC_TONE,
	MEDIA_SRC_ECHO,
	MEDIA_SRC_CONF,
};
struct media_ep_state {
	enum media_src_type src;
	bool loop;	    /* MEDIA_SRC_PLAY: looping (music on hold) */
	bool recording;	    /* a recorder is on */
	bool monitoring;    /* a monitor is on */
	bool bridged;
	uint32_t played_ms; /* of the current source */
	uint32_t recorded_ms;
};
int media_leg_ep_state(const struct media_leg *leg, struct media_ep_state *out);

/* Recording what the leg's peer sends. */
struct media_rec_opts {
	uint32_t silence_ms;	/* MEDIA_EV_SILENCE after this much continuous silence (once);
				 * 0: no detection */
	uint32_t threshold;	/* a 20 ms frame whose mean absolute sample is below this is
				 * silence; 0: MEDIA_SILENCE_THRESHOLD */
	bool append;		/* add to an existing WAV of ours instead of replacing it */
};
#define MEDIA_SILENCE_THRESHOLD 256 /* mean |sample| (16-bit): about -42 dBm0 */

struct media_rec_result {
	uint32_t samples;    /* written (after trimming) */
	bool heard;	     /* some frame was above the threshold */
};

/* Starts writing what the leg's peer sends to a new WAV file at `path` (8 kHz mono 16-bit
 * PCM; created with mode 0640, replaced atomically: written to path.tmp and renamed at stop).
 * Writes are batched (one write per second of audio). EBUSY (already recording), errno of
 * open(). */
int media_leg_record(struct media_leg *leg, const char *path, const struct media_rec_opts *o);
/* Stops the recorder: drops the last `trim_ms` of audio (the silence that ended it, the
 * key press), finishes the header, renames into place. `res` may be NULL. ENOENT when not
 * recording; a write error's errno (the partial file is removed). */
int media_leg_record_stop(struct media_leg *leg, uint32_t trim_ms, struct media_rec_result *res);

/* MixMonitor: writes what the leg's peer sends and what the leg sends to it (relayed or
 * generated), mixed, to one WAV at `path` (renamed into place at stop). EBUSY when one runs. */
int media_leg_monitor(struct media_leg *leg, const char *path);
/* Stops and finishes the monitor's file. ENOENT when there is none. */
int media_leg_monitor_stop(struct media_leg *leg);

/* WAV helpers (also used by voicemail): the 44-byte header of an 8 kHz mono 16-bit PCM file
 * holding `samples` samples. */
void media_wav_header(uint8_t hdr[44], uint32_t samples);

#endif /* MIKAKA_MEDIA_H */
