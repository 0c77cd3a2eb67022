/* media_int: the relay's internal structures and the pure pieces (RTP/RTCP checks, sequence and
 * jitter arithmetic, latching rules, the port map) that the unit tests exercise directly. */
#ifndef MIKAKA_MEDIA_INT_H
#define MIKAKA_MEDIA_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "media.h"

#define MEDIA_BATCH   32   /* packets per recvmmsg/sendmmsg */
#define MEDIA_PKT_MAX 1536 /* bytes kept per received packet (longer ones are truncated: dropped)  \
			    */
/* Free bytes after each received packet, for the tag SRTP protection appends in place (16 at
 * most, + 4 for the SRTCP index; room left for longer tags or an MKI some day). */
#define MEDIA_SRTP_HEADROOM 160
#define MEDIA_PKT_STRIDE    (MEDIA_PKT_MAX + MEDIA_SRTP_HEADROOM)
#define MEDIA_EVQ     256  /* pending events toward the loop */
#define MEDIA_TICK_MS 20   /* DTMF generation pace */
#define MEDIA_POOL_REST_MS 500	  /* a freed socket pair rests this long before it is reused */
#define MEDIA_POOL_IDLE_MS 30000 /* pooled pairs unused this long are closed */

/* ---------------------------------------------------------------------------------------------
 * RTP/RTCP headers.
 */
struct media_rtp {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	size_t hdr_len;	    /* fixed header + CSRCs + extension */
	size_t payload_len; /* without padding */
};

/* Checks an RTP packet (RFC 3550 §5.1, A.1): version 2, CSRC list, extension and padding
 * within the length, payload not empty, not an RTCP packet type. EBADMSG otherwise. */
int media_rtp_check(const uint8_t *buf, size_t len, struct media_rtp *out);

/* Report block of an RTCP SR/RR about one source. */
struct media_rtcp_rb {
	uint32_t ssrc;
	uint8_t fraction_lost;
	int32_t cumulative_lost;
	uint32_t jitter; /* timestamp units */
};
/* Checks an RTCP compound packet (RFC 3550 A.2: version 2, first SR or RR, lengths adding up,
 * padding only in the last) and returns the first report block when there is one (*has_rb).
 * EBADMSG when invalid. */
int media_rtcp_check(const uint8_t *buf, size_t len, struct media_rtcp_rb *rb, bool *has_rb);

/* Receive statistics of one source (RFC 3550 A.1, A.3, A.8). */
struct media_rxstat {
	bool init;
	uint32_t ssrc;
	uint16_t max_seq;
	uint32_t cycles; /* count of seq wraps << 16 */
	uint32_t base_seq;
	uint32_t bad_seq;
	uint32_t received;
	bool have_transit;
	int32_t transit;
	uint32_t jitter16; /* jitter * 16 in timestamp units (A.8's integer form) */
};
/* Feeds one packet: `arrival` is the arrival time in the stream's timestamp units. */
void media_rxstat_update(struct media_rxstat *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
			 uint32_t arrival);
uint32_t media_rxstat_expected(const struct media_rxstat *s);
int32_t media_rxstat_lost(const struct media_rxstat *s);
/* Jitter in timestamp units. */
uint32_t media_rxstat_jitter(const struct media_rxstat *s);

/* ---------------------------------------------------------------------------------------------
 * Latching: which source a leg accepts RTP from.
 */
struct media_latch {
	bool latched;
	struct sa src;	/* the accepted source */
	struct sa cand; /* a source on probation */
	uint32_t cand_ssrc;
	uint16_t cand_seq;
	uint32_t cand_count;
};

enum media_latch_verdict {
	MEDIA_LATCH_ACCEPT, /* from the latched source */
	MEDIA_LATCH_NEW,    /* accepted; the leg now latched to this (new) source */
	MEDIA_LATCH_DROP,   /* from elsewhere: dropped */
};

/* The latching rules (docs/MEDIA.md):
 * - the latched source is always accepted;
 * - strictrtp=no: any other source is latched at once (the last source wins);
 * - not latched yet: the SDP address (`expected`, may be unset) latches at once; another source
 *   after `probation` packets in sequence with one SSRC;
 * - latched: a new port on the same IP address (NAT rebinding) or the SDP address latches after
 *   probation; any other address is dropped; with seqno the new source must also carry the
 *   current SSRC (`cur_ssrc`) or the probation restarts. */
enum media_latch_verdict media_latch_check(struct media_latch *l, const struct sa *src,
					   const struct sa *expected, enum media_strict strict,
					   uint32_t probation, uint32_t ssrc, uint16_t seq,
					   uint32_t cur_ssrc);
void media_latch_reset(struct media_latch *l);

/* ---------------------------------------------------------------------------------------------
 * Port map: even RTP ports of [start, end], RTCP = RTP + 1, handed out round-robin so a freed
 * pair is not reused at once (a late packet of the old call cannot reach the new one).
 */
struct media_ports {
	uint16_t start;	 /* even */
	uint32_t npairs; /* pairs in the range */
	uint32_t next;	 /* index to try first */
	uint32_t used;
	uint8_t *bitmap; /* npairs bits */
};

/* Tries to take a pair with RTP port `port`; returns 0 when it could (sockets bound),
 * EADDRINUSE/EACCES to try the next one, any other errno value to give up. */
typedef int(media_port_try_h)(uint16_t port, void *arg);

int media_ports_init(struct media_ports *p, uint16_t start, uint16_t end);
void media_ports_reset(struct media_ports *p);
/* Takes the next free pair that `try_h` accepts. EADDRINUSE when none is left. */
int media_ports_alloc(struct media_ports *p, media_port_try_h *try_h, void *arg, uint16_t *port);
void media_ports_release(struct media_ports *p, uint16_t port);

/* ---------------------------------------------------------------------------------------------
 * G.711 and DTMF helpers (dtmf.c).
 */
extern uint8_t media_u2a[256], media_a2u[256];
void media_g711_init(void);
/* RFC 4733 event codes 0-15 <-> characters. -1 / 0 when out of range. */
int media_dtmf_code(char digit);
char media_dtmf_char(int code);

/* What happens to packets of one payload type arriving on a leg toward its partner. */
enum media_act {
	MEDIA_ACT_DROP,
	MEDIA_ACT_PASS, /* as is, PT rewritten when the numbers differ */
	MEDIA_ACT_U2A,	/* PCMU in, PCMA out */
	MEDIA_ACT_A2U,
	MEDIA_ACT_TE_PASS,   /* telephone-event to telephone-event */
	MEDIA_ACT_TE_INBAND, /* telephone-event in, tones out (the generator of the partner) */
	MEDIA_ACT_TE_ABSORB, /* telephone-event in, reported only (partner uses INFO) */
};

struct media_xlate {
	uint8_t act; /* enum media_act */
	uint8_t out_pt;
	uint8_t codec;	/* enum sdp_codec of the incoming payload (SDP_CODEC_TE for events) */
	uint8_t detect; /* run the in-band detector on it (G.711 toward an RFC 4733 leg) */
	uint32_t clock; /* of the incoming payload */
};

/* Output stream state of a leg: where SSRC/seq/ts continue when the relay inserts packets. */
struct media_ostream {
	bool started;
	bool rewrite;  /* deltas apply (after the first insertion or suppression) */
	uint32_t ssrc; /* last SSRC sent */
	uint16_t seq_delta;
	uint32_t ts_delta;
	uint16_t last_seq;
	uint32_t last_ts;
	uint32_t in_ssrc; /* SSRC of the stream the deltas belong to */
};

/* DTMF being sent out of a leg (tones or events), paced by the relay's 20 ms tick. */
struct media_dtmf_out {
	bool active;
	bool tones; /* in-band; else RFC 4733 events */
	bool ended; /* the end is known: stop at target */
	char digit;
	uint32_t done;	     /* samples sent */
	uint32_t target;     /* samples to send at least */
	uint32_t ts;	     /* RTP timestamp of the event start (output timeline) */
	uint32_t in_ts;	     /* RFC 4733 input: the event's timestamp (new event detection) */
	uint8_t end_left;    /* RFC 4733 end packets still to send */
	uint64_t next_ms;    /* next tick */
	uint64_t last_in_ms; /* last RFC 4733 packet of this event (stall guard) */
	uint64_t start_ms;
};

/* A bound RTP/RTCP socket pair. Pairs outlive their legs: a freed leg's pair goes back to the
 * pool of its (local address, TOS) and the next leg there takes it, so a call costs no socket(),
 * setsockopt(), bind(), epoll_ctl() or close(). Each pair stays registered with the relay's epoll
 * under its index for its whole life; a pooled pair's packets are read and dropped. */
struct media_pair {
	int fd[2];
	uint16_t port;
	uint32_t idx;		 /* in media.pairs: the epoll data is idx << 1 | rtcp */
	struct media_leg *leg;	 /* the leg using it (NULL: pooled); written under the lock */
	uint32_t pool;		 /* index in media.pools: where it goes back */
	struct media_pair *next; /* pool FIFO */
	uint64_t freed_ms;
};

/* Free pairs of one local address and TOS, oldest first (the loop thread's only). */
struct media_pool {
	struct sa addr; /* port 0 */
	int tos;
	struct media_pair *head, *tail;
	uint32_t count;
};

/* ---------------------------------------------------------------------------------------------
 * Local endpoints (endpoint.c, sound.c).
 */
#ifndef MEDIA_SOUNDS_DIR
#define MEDIA_SOUNDS_DIR "/usr/share/asterisk/sounds" /* Debian's asterisk-core-sounds-* */
#endif
#define MEDIA_REC_BUF	 MEDIA_RATE /* samples a recorder batches per write (1 s) */
#define MEDIA_MON_RING	 2048	    /* samples of a monitor's mixing ring (256 ms) */
#define MEDIA_MON_LAG	 320	    /* samples packets are placed ahead of the output (40 ms) */
#define MEDIA_TONE_PARTS 8
#define MEDIA_TICKS_MAX	 5 /* frames made up for at most after a late timer */

/* Decodes a sound file's bytes (WAV by its header, raw by the path's extension: .sln/.raw/.pcm
 * 8 kHz 16-bit, .ulaw, .alaw) into malloc'ed 8 kHz mono samples. EINVAL, ENOMEM. */
int media_sound_parse(const uint8_t *buf, size_t len, const char *path, int16_t **outp,
		      size_t *np);
int16_t media_ulaw2lin(uint8_t u);
int16_t media_alaw2lin(uint8_t a);
uint8_t media_lin2ulaw(int16_t s);
uint8_t media_lin2alaw(int16_t s);

/* A WAV being written (the relay thread appends, the loop thread opens and finishes it). */
struct media_rec {
	int fd;
	char *path, *tmp;
	uint32_t samples; /* in the file + in buf */
	int16_t *buf;	  /* MEDIA_REC_BUF */
	uint32_t nbuf;
	int err;
	/* silence detection */
	uint32_t silence_ms, threshold, silent_ms;
	bool heard, silence_sent;
};

struct media_mon {
	struct media_rec rec;
	int32_t ring[MEDIA_MON_RING];
	uint64_t out_pos;
	uint64_t pos[2]; /* 0: what the peer sends, 1: what the leg sends */
};

struct media_tone_part {
	void *desc; /* spandsp tone_gen_descriptor_t */
	uint32_t samples; /* 0: forever */
	bool once;
};

/* A conference room: its members (relay thread: read under the lock; loop thread: changed
 * under it). Freed when its last member leaves. */
struct media_conf {
	struct media_conf *next; /* in media.confs */
	struct media *m;
	char name[64];
	struct media_ep *member[MEDIA_CONF_MAX];
	size_t n;
};

struct media_ep {
	enum media_src_type src;
	bool src_started; /* first packet (marker) sent */
	/* MEDIA_SRC_CONF: the room, and the last 20 ms this member sent (decoded) with how many
	 * ticks ago it came (a member that stopped sending drops out of the mix). */
	struct media_conf *conf;
	uint8_t conf_age;
	int16_t conf_in[MEDIA_FRAME];
	/* MEDIA_SRC_PLAY */
	struct media_sound *sounds[MEDIA_PLAY_MAX]; /* references (released on the loop thread) */
	size_t nsounds, cur, pos;
	bool loop;
	/* MEDIA_SRC_TONE */
	struct media_tone_part parts[MEDIA_TONE_PARTS];
	size_t nparts, part;
	uint32_t part_done;
	void *tg; /* spandsp tone_gen_state_t */
	uint64_t played;   /* samples of the current source */
	uint32_t echo_ts;
	struct media_rec *rec;
	struct media_mon *mon;
};

/* endpoint.c (relay thread, under the lock) */
void media_ep_tick(struct media *m, struct media_leg *leg);
void media_ep_rx(struct media *m, struct media_leg *leg, const uint8_t *pl, size_t len,
		 enum sdp_codec codec);
/* A frame (G.711 payload) going out of leg that was relayed: for its monitor. */
void media_ep_tx(struct media_leg *leg, const uint8_t *pl, size_t len, enum sdp_codec codec);
/* Loop thread: frees the leg's endpoint state (recorder and monitor files are finished). */
void media_ep_free(struct media_leg *leg);

struct media_leg {
	struct media *m;
	struct media_ep *ep; /* local endpoint state, NULL on plain relay legs */
	uint32_t slot;
	uint32_t gen;
	struct media_pair *pair;
	int fd[2]; /* RTP, RTCP (the pair's) */
	uint16_t port;
	struct sa local;
	int tos;
	media_event_h *eh;
	void *arg;
	struct media_leg *peer; /* bridge partner */

	bool remote_set;
	unsigned rflags;
	struct sa sdp_rtp, sdp_rtcp; /* from the SDP */
	struct media_latch latch;
	struct sa rtcp_src; /* latched RTCP source */
	bool rtcp_latched;

	struct media_format fmt;
	/* Per incoming PT toward the partner: xl_idx[pt] is 0 (not negotiated) or 1 + an index
	 * into xlv (a compact table keeps the leg small: 200 bytes instead of 1 KiB). */
	uint8_t xl_idx[128];
	struct media_xlate xlv[SDP_CODEC_COUNT + 1];
	uint8_t nxl;

	struct media_ostream out;
	struct media_dtmf_out dout;
	void *dtmf_tx;	/* spandsp dtmf_tx_state_t, only on legs that send tones */
	void *dtmf_rx;	/* spandsp dtmf_rx_state_t, only on legs whose tones are detected */
	char det_digit; /* tone being detected now (0: none) */
	uint64_t det_start_ms;

	/* In-progress RFC 4733 event received from this leg's peer. */
	bool te_in_active;
	uint32_t te_in_ts;
	bool te_in_reported;

	/* SRTP (srtp.c): sessions (mem_zalloc'ed, the leg owns them), NULL on a plain leg. */
	struct media_srtp *srtp_rx, *srtp_tx;

	struct media_rxstat rs;
	uint32_t last_clock;
	uint64_t last_rx_ms;
	bool timed_out;
	struct media_stats st; /* counters (rx_*, tx_*, rtcp_*, rr_*, dtmf_*) */
};

struct media_ev_item {
	uint32_t slot, gen;
	struct media_event ev;
};

struct media {
	struct loop *loop;
	struct media_config cfg;
	bool started;

	pthread_mutex_t mu; /* held by the relay thread per batch, by the loop thread per change */
	struct media_conf *confs; /* conference rooms with members (under mu) */
	pthread_t thread;
	bool stopping;
	int epfd;
	int wakefd;  /* wakes the relay thread (new tick, stop) */
	int eventfd; /* wakes the loop (events queued) */

	struct media_ports ports;
	struct media_pair **pairs; /* by index; NULL entries are free indices */
	uint32_t npairs, pairs_open;
	uint32_t pairs_free; /* no free index below it (a scan from 0 per new pair was O(n)) */
	struct media_pool *pools;
	uint32_t npools;
	uint32_t pooled; /* pairs in the pools */
	struct loop_timer pool_tmr;
	struct media_leg **slots;
	uint32_t nslots;
	uint32_t *free_slots; /* a stack of the free indices of slots (nslots entries room) */
	uint32_t nfree;
	uint32_t gen;
	uint64_t nlegs;

	struct media_ev_item *evq; /* MEDIA_EVQ entries, allocated on start */
	unsigned evq_head, evq_count;
	uint64_t ev_lost;

	struct media_counters cnt;

	/* Relay thread buffers (allocated on start). */
	uint8_t *rxbuf;	 /* MEDIA_BATCH * MEDIA_PKT_STRIDE */
	uint8_t *genbuf; /* MEDIA_BATCH * 256 for generated packets */
	uint64_t last_timeout_check;
	uint64_t now;	/* relay thread: time of the current batch (ms) */
	bool dtmf_scan; /* some leg is sending DTMF: tick every MEDIA_TICK_MS */
	int timerfd;	/* the endpoints' 20 ms clock (armed while neps > 0) */
	uint32_t neps;	/* legs with endpoint state */
};

/* relay.c */
void *media_relay_main(void *arg);
void media_relay_wake(struct media *m);
void media_leg_recompute(struct media_leg *leg);
void media_ev_push(struct media *m, struct media_leg *leg, const struct media_event *ev);
uint64_t media_now_ms(void);
/* dtmf.c (relay thread, under the lock) */
void media_dtmf_tick(struct media *m, struct media_leg *leg, uint64_t now);
void media_dtmf_detect(struct media *m, struct media_leg *in, const uint8_t *payload, size_t len,
		       enum sdp_codec codec, uint64_t now);
int media_dtmf_alloc_tx(struct media_leg *leg);
int media_dtmf_alloc_rx(struct media_leg *leg);
void media_dtmf_free(struct media_leg *leg);
/* Frees the tone detector alone (media_leg_recompute, when nothing detects on the leg). */
void media_dtmf_free_rx(struct media_leg *leg);
/* Starts sending `digit` out of leg: tones or events; `ended` with a known duration. */
void media_dtmf_start(struct media_leg *leg, char digit, bool tones, uint32_t samples, bool ended,
		      uint64_t now);
/* Queues one generated packet out of leg (relay thread). */
void media_send_generated(struct media *m, struct media_leg *leg, uint8_t pt, bool marker,
			  uint32_t ts, const uint8_t *payload, size_t len);

/* srtp.c (relay thread, under the lock): in place; unprotect EBADMSG for a packet to drop,
 * protect needs MEDIA_SRTP_HEADROOM free bytes after *len. */
int media_srtp_unprotect(struct media_leg *leg, uint8_t *buf, size_t *len, bool rtcp);
int media_srtp_protect(struct media_leg *leg, uint8_t *buf, size_t *len, bool rtcp);
/* Frees the leg's sessions (the leg is out of the relay's reach). */
void media_srtp_free(struct media_leg *leg);

/* One direction's SRTP/SRTCP session (srtp.c): keys derived and cipher contexts made once in
 * media_srtp_create (loop thread), then per packet nothing is allocated. key: master key ||
 * master salt (sdp_suite_key_len bytes); inbound sessions check and decrypt, outbound ones
 * encrypt. mem_deref frees it (and wipes its keys). ENOTSUP: libcrypto cannot be loaded or
 * the suite is unknown. */
int media_srtp_create(struct media_srtp **out, enum sdp_suite suite, const uint8_t *key,
		      bool inbound);
/* In place: protect appends the tag (and the SRTCP index), MEDIA_SRTP_HEADROOM free bytes
 * needed after *len; EINVAL for a packet too short. unprotect: EBADMSG for a packet to drop (bad
 * tag, replayed or older than the 128-packet window, too short). */
int media_srtp_rtp_protect(struct media_srtp *s, uint8_t *buf, size_t *len);
int media_srtp_rtp_unprotect(struct media_srtp *s, uint8_t *buf, size_t *len);
int media_srtp_rtcp_protect(struct media_srtp *s, uint8_t *buf, size_t *len);
int media_srtp_rtcp_unprotect(struct media_srtp *s, uint8_t *buf, size_t *len);
/* Tests: the RFC 3711 §4.3 key derivation (kdr 0) of n <= 64 bytes for label; and a session's
 * SRTP and SRTCP keys replaced by these session keys (RFC 7714's vectors give those). */
int media_srtp_kdf(const uint8_t *mkey, size_t mklen, const uint8_t *msalt, size_t mslen,
		   uint8_t label, uint8_t *out, size_t n);
int media_srtp_set_session_keys(struct media_srtp *s, const uint8_t *ekey, size_t eklen,
				const uint8_t *salt, const uint8_t *akey);

#endif /* MIKAKA_MEDIA_INT_H */
