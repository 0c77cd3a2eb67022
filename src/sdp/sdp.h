/* sdp: zero-copy SDP parser (RFC 8866), builder, and RFC 3264 offer/answer for one call leg at a
 * time: each leg of a B2BUA call negotiates with its own address, port, payload-type numbers,
 * codec list, telephone-event and direction. */
#ifndef MIKAKA_SDP_H
#define MIKAKA_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

/* Limits of the parser. A body with more m-lines is refused (E2BIG); formats beyond
 * SDP_MAX_FMT on one m-line are ignored (counted in sdp_media.fmt_dropped). */
#define SDP_MAX_MEDIA 8
#define SDP_MAX_FMT   24
/* Bodies larger than this are refused (E2BIG). */
#define SDP_MAX_BODY 16384

/* Direction attributes as a bit set: SEND = the describing side sends. */
enum sdp_dir {
	SDP_INACTIVE = 0,
	SDP_SENDONLY = 1,
	SDP_RECVONLY = 2,
	SDP_SENDRECV = 3,
};

/* The codecs mikaka knows. The values equal enum peer_codec (peer.h), so a peer's allow= list
 * converts with a cast; SDP_CODEC_TE (telephone-event) comes after them. */
enum sdp_codec {
	SDP_CODEC_PCMU, /* G.711 u-law, static PT 0 (Asterisk: ulaw) */
	SDP_CODEC_PCMA, /* G.711 A-law, static PT 8 (alaw) */
	SDP_CODEC_G722, /* static PT 9, clock written as 8000 (RFC 3551 §4.5.2) */
	SDP_CODEC_OPUS, /* dynamic, opus/48000/2 */
	SDP_CODEC_GSM,	/* static PT 3 */
	SDP_CODEC_G729, /* static PT 18 */
	SDP_CODEC_COUNT,
	SDP_CODEC_TE = SDP_CODEC_COUNT, /* telephone-event/8000 (RFC 4733) */
	SDP_CODEC_NONE = 0xff,
};

/* SDES crypto suites (RFC 4568 §6.2, RFC 7714 §12) that SRTP legs are keyed with. */
enum sdp_suite {
	SDP_SUITE_NONE = 0,
	SDP_SUITE_AES_CM_128_HMAC_SHA1_80,
	SDP_SUITE_AES_CM_128_HMAC_SHA1_32,
	SDP_SUITE_AEAD_AES_128_GCM,
	SDP_SUITE_AEAD_AES_256_GCM,
	SDP_SUITE_COUNT
};
#define SDP_KEY_MAX 44 /* master key + salt of the largest suite (AES-256-GCM: 32 + 12) */

/* One a=crypto line: the tag, the suite and one master key||salt. Key material: whoever holds
 * this must never log it (docs/MEDIA.md, SRTP). */
struct sdp_crypto {
	uint32_t tag;	   /* 1..999999999 */
	uint8_t suite;	   /* enum sdp_suite */
	uint8_t key_len;   /* key + salt bytes (sdp_suite_key_len) */
	uint8_t key[SDP_KEY_MAX];
	uint64_t lifetime; /* packets (|2^n or |n), 0 when not given */
};

/* "AES_CM_128_HMAC_SHA1_80", ... ("?" for NONE); the key||salt length in bytes (0 for NONE). */
const char *sdp_suite_name(enum sdp_suite suite);
size_t sdp_suite_key_len(enum sdp_suite suite);
/* Decodes the value of an a=crypto attribute ("1 AES_CM_128_HMAC_SHA1_80 inline:KEY[|life]").
 * ENOTSUP: a suite mikaka does not key, an MKI, several keys, or session parameters (RFC 4568
 * §6.3: a line with a parameter not understood is not usable); EBADMSG: bad syntax, base64
 * garbage, a key of the wrong length, a zero tag. */
int sdp_crypto_decode(const struct pl *val, struct sdp_crypto *out);
/* Writes "a=crypto:TAG SUITE inline:KEY\r\n". */
int sdp_crypto_encode(struct mbuf *mb, const struct sdp_crypto *c);
/* A fresh random key for `suite` (EINVAL for NONE; the randomness is OpenSSL's). */
int sdp_crypto_new(struct sdp_crypto *c, enum sdp_suite suite, uint32_t tag);

/* ---------------------------------------------------------------------------------------------
 * Parsed form. Every struct pl points into the body given to sdp_parse(), which the caller keeps
 * alive as long as it uses the result.
 */

/* One format of an m-line with its a=rtpmap and a=fmtp (when present). */
struct sdp_fmt {
	struct pl id;	      /* the token on the m-line */
	int pt;		      /* 0..127, or -1 when the token is not an RTP payload type */
	struct pl encoding;   /* from a=rtpmap ("PCMU"); for static PTs without rtpmap: unset */
	uint32_t clock;	      /* from a=rtpmap, else the static PT's rate, else 0 */
	uint8_t channels;     /* from a=rtpmap (1 when not given) */
	struct pl fmtp;	      /* a=fmtp parameters (unset when none) */
	enum sdp_codec codec; /* recognised codec, or SDP_CODEC_NONE */
};

/* Connection data (c=). */
struct sdp_conn {
	int af;		/* AF_INET, AF_INET6; 0 when absent or not understood */
	struct pl addr; /* the address text */
	bool hold;	/* 0.0.0.0 / :: (RFC 2543 hold) */
};

struct sdp_media {
	struct pl type;	 /* "audio", "video", ... */
	uint16_t port;	 /* 0 = rejected/disabled stream */
	uint16_t nports; /* m=audio 49170/2: 2; else 1 */
	struct pl proto; /* "RTP/AVP", ... */
	struct sdp_fmt fmt[SDP_MAX_FMT];
	unsigned nfmt;
	unsigned fmt_dropped; /* formats beyond SDP_MAX_FMT */
	struct sdp_conn conn; /* media-level c=, af 0 when absent */
	enum sdp_dir dir;     /* a=sendrecv/sendonly/recvonly/inactive; session's when absent */
	bool dir_set;	      /* a direction attribute appeared at media level */
	uint32_t ptime;	      /* a=ptime (ms), 0 when absent */
	uint32_t maxptime;    /* a=maxptime (ms), 0 when absent */
	uint16_t rtcp_port;   /* a=rtcp (RFC 3605), 0 when absent */
	struct sdp_conn rtcp_conn; /* a=rtcp's address when given */
	bool rtcp_mux;		   /* a=rtcp-mux */
	struct pl attrs; /* the raw lines after m= up to the next m= (for sdp_media_attr) */
};

struct sdp_session {
	struct pl body;
	struct pl o_user, o_sess_id, o_sess_version; /* o= fields */
	struct sdp_conn o_addr;			     /* o= address */
	struct pl name;				     /* s= */
	struct sdp_conn conn;			     /* session-level c= */
	enum sdp_dir dir; /* session-level direction (SENDRECV default) */
	struct pl attrs;  /* session-level raw lines (up to the first m=) */
	unsigned nmedia;
	/* Last, so a copy of the first nmedia m-lines is a valid session (call/callmedia.c). */
	struct sdp_media media[SDP_MAX_MEDIA];
};

/* Parses an SDP body without copying: every pl in *out points into body. Accepts LF or CRLF line
 * ends and unknown lines/attributes (ignored). Refuses: missing v=0, a missing or malformed m=
 * line's port (> 65535), proto or format list, a line without "x=" form, NUL bytes (EBADMSG);
 * more than SDP_MAX_MEDIA m-lines or a body over SDP_MAX_BODY bytes (E2BIG). On error *out is
 * left in an unspecified state and must not be used. Every refusal is counted (sdp_counters). */
int sdp_parse(struct sdp_session *out, const struct pl *body);

/* The connection address for media `m` (media c= else session c=) with `m->port` as the port
 * into *out. ENOENT when neither c= gives an address; EAFNOSUPPORT for an unusable address. A
 * hold address (0.0.0.0) is returned as it is (sa_is_any() is true). */
int sdp_media_addr(const struct sdp_session *s, const struct sdp_media *m, struct sa *out);
/* The RTCP address: a=rtcp when present (with its address or the media's), else RTP port + 1. */
int sdp_media_rtcp_addr(const struct sdp_session *s, const struct sdp_media *m, struct sa *out);
/* The effective direction of media `m` as the describing side states it: its attribute, else the
 * session's. An RFC 2543 hold (c=0.0.0.0) means that side does not want to receive, so the RECV
 * bit is removed (sendrecv becomes sendonly, recvonly becomes inactive). */
enum sdp_dir sdp_media_dir(const struct sdp_session *s, const struct sdp_media *m);
/* Finds the first a=NAME (or a=NAME:VALUE) at media level (m != NULL) or session level
 * (m == NULL); *value gets the text after ':' (empty when none). ENOENT when absent. */
int sdp_attr_find(const struct sdp_session *s, const struct sdp_media *m, const char *name,
		  struct pl *value);
/* The first m=audio line with a non-zero port and an RTP/AVP, RTP/AVPF, RTP/SAVP or RTP/SAVPF
 * profile, or NULL. */
const struct sdp_media *sdp_audio(const struct sdp_session *s);

/* Name of a codec as written in a=rtpmap ("PCMU", "telephone-event"), or "?" */
const char *sdp_codec_name(enum sdp_codec codec);
/* Clock rate written in a=rtpmap (8000 for G.722), and the RTP timestamp rate actually used. */
uint32_t sdp_codec_clock(enum sdp_codec codec);
/* The static PT of a codec, or -1 when it has none. */
int sdp_codec_static_pt(enum sdp_codec codec);
const char *sdp_dir_name(enum sdp_dir dir);

/* ---------------------------------------------------------------------------------------------
 * Offer/answer for one leg.
 */

/* The o= line state of one leg (RFC 3264 §8: same session id for the whole dialog, version
 * incremented whenever the description changes). Zero it, then sdp_origin_init(). */
struct sdp_origin {
	uint64_t sess_id;
	uint64_t version;
	uint32_t last_hash; /* of the last body built, to detect changes */
	bool built;
};
/* Picks a random session id and version. */
void sdp_origin_init(struct sdp_origin *o);

/* What a leg is willing to do (from the peer's allow=/disallow= and dtmfmode=). */
struct sdp_policy {
	uint8_t codecs[SDP_CODEC_COUNT]; /* enum sdp_codec allowed, in preference order */
	uint8_t ncodecs;
	bool telephone_event; /* offer/accept RFC 4733 events (false for dtmfmode=inband or info) */
	uint8_t te_pt;	      /* PT of telephone-event in our offers (0 means 101) */
	uint32_t ptime;	      /* a=ptime written in our SDP (0: none); 20 toward the carrier */
	bool prefer_remote;   /* answer in the offerer's codec order instead of ours */
	bool single_codec;    /* answer/offer only the first common codec (carrier: PCMU only) */
	/* SRTP (SDES): OFF offers RTP/AVP, ignores a=crypto in an RTP/AVP offer and refuses an
	 * RTP/SAVP one; OPT answers crypto when offered but offers plain; MAND offers RTP/SAVP and
	 * refuses an offer or answer without a usable a=crypto. */
	enum { SDP_SRTP_OFF, SDP_SRTP_OPT, SDP_SRTP_MAND } srtp;
	/* Our keys, one per suite we accept, in preference order (offered as tags 1..n). */
	const struct sdp_crypto *keys;
	uint8_t nkeys;
};

/* Our side of one leg. */
struct sdp_local {
	struct sa addr;		   /* the address facing this peer, port = our RTP port */
	enum sdp_dir dir;	   /* what we want: SDP_SENDRECV; SDP_SENDONLY to put on hold */
	bool legacy_hold;	   /* when holding, also write c=0.0.0.0 (RFC 2543 peers) */
	struct sdp_origin *origin; /* this leg's o= state (updated by sdp_build) */
	const char *sess_name;	   /* s= (NULL: "mikaka") */
};

/* One negotiated payload of a leg. */
struct sdp_neg_fmt {
	uint8_t codec;	/* enum sdp_codec (SDP_CODEC_TE never appears here) */
	uint8_t pt_tx;	/* PT the peer declared: use it when sending to the peer */
	uint8_t pt_rx;	/* PT we declared: the peer sends with it (usually equal to pt_tx) */
	uint32_t clock; /* RTP timestamp rate */
};

/* The outcome of offer/answer on one leg: what the media module needs. */
struct sdp_neg {
	bool ok;	       /* an audio stream was agreed */
	int media_idx;	       /* index of the audio m-line, -1 when none */
	struct sa remote;      /* the peer's RTP address (any-address when it held with c=0) */
	struct sa remote_rtcp; /* the peer's RTCP address */
	enum sdp_dir dir;      /* from OUR point of view: SEND = we may send to the peer */
	bool hold;	       /* the peer put us on hold (sendonly/inactive/c=0) */
	struct sdp_neg_fmt fmt[SDP_CODEC_COUNT]; /* agreed codecs, the one to send first */
	uint8_t nfmt;
	int te_pt_tx;	/* telephone-event PT toward the peer, -1 when not agreed */
	int te_pt_rx;	/* telephone-event PT from the peer, -1 when not agreed */
	uint32_t ptime; /* the peer's a=ptime, 0 when absent */
	/* SRTP agreed (SDES): the peer encrypts with rx, we encrypt toward it with tx. */
	bool srtp;
	struct sdp_crypto rx, tx;
};

/* One payload written by the builder. */
struct sdp_desc_fmt {
	uint8_t pt;
	uint8_t codec; /* enum sdp_codec, SDP_CODEC_TE included */
};

/* One m-line written by the builder. */
struct sdp_desc_media {
	bool rejected;	  /* written as port 0 with the offer's first format (not ours) */
	char type[16];	  /* "audio", or the offered type for a rejected line */
	char proto[32];	  /* "RTP/AVP", or the offered proto */
	char rej_fmt[16]; /* the format token written on a rejected line */
	struct sdp_desc_fmt fmt[SDP_CODEC_COUNT + 1];
	uint8_t nfmt;
	enum sdp_dir dir;
	uint32_t ptime; /* 0: no a=ptime */
	bool crypto;	/* the description's a=crypto lines are written on this line */
};

/* A complete description we send. */
struct sdp_desc {
	struct sdp_local local; /* address, port, direction, o= state */
	struct sdp_desc_media media[SDP_MAX_MEDIA];
	unsigned nmedia;
	/* SDES keys of the (one) audio line, when it is secure: never log them. */
	struct sdp_crypto crypto[SDP_SUITE_COUNT - 1];
	uint8_t ncrypto;
};

/* Builds our offer for a leg: one m=audio with the policy's codecs (static PTs where they exist,
 * dynamic ones from 96 avoiding te_pt), telephone-event when the policy says so, a=ptime when set,
 * and local->dir. EINVAL when the policy has no codec. */
int sdp_offer(struct sdp_desc *out, const struct sdp_policy *pol, const struct sdp_local *local);

/* Answers a received offer on a leg (RFC 3264 §6): the first acceptable audio m-line gets the
 * codecs both sides allow (the offer's PT numbers kept, our or the offerer's order per
 * pol->prefer_remote), telephone-event when both want it, the direction derived from the offer
 * and local->dir; every other m-line is rejected with port 0. Fills *neg and *out. Returns 0, or
 * ENOTSUP when no audio stream is acceptable (then neg->ok is false and *out rejects every line:
 * the caller answers 488). */
int sdp_answer(struct sdp_neg *neg, struct sdp_desc *out, const struct sdp_session *offer,
	       const struct sdp_policy *pol, const struct sdp_local *local);

/* Applies the peer's answer to our offer `ours` (RFC 3264 §7): fills *neg. EPROTO when the answer
 * does not match the offer (m-line count, a codec we did not offer), ENOTSUP when the audio line
 * was rejected or no codec is left. */
int sdp_answer_apply(struct sdp_neg *neg, const struct sdp_session *answer,
		     const struct sdp_desc *ours);

/* Writes `desc` as a complete SDP body (v o s c t m a, CRLF line ends) to out. The o= version of
 * desc->local.origin is incremented when the body differs from the last one built with it. */
int sdp_build(struct mbuf *out, const struct sdp_desc *desc);

/* The recognised codecs of an SDP's audio stream (in its order) into codecs[max]; returns how
 * many (0 when there is no audio stream). telephone-event is not listed. */
unsigned sdp_codecs(const struct sdp_session *s, uint8_t *codecs, unsigned max);
/* Whether a stream of codec `from` can reach a leg using `to`: equal, or PCMU <-> PCMA (the only
 * transcoding the relay does). */
bool sdp_codec_bridgeable(enum sdp_codec from, enum sdp_codec to);
/* Restricts a policy to codecs that can be bridged to one of have[nhave] (what the other leg
 * offered or agreed): `pol`'s order is kept; the result may be empty. Used to build the offer
 * to the second leg from the first leg's offer. */
void sdp_policy_restrict(struct sdp_policy *pol, const uint8_t *have, unsigned nhave);

/* Parser refusal counters (process-wide, for `core show` and tests). */
struct sdp_counters {
	uint64_t parsed;
	uint64_t refused_syntax;
	uint64_t refused_too_big; /* body size or m-line count */
};
void sdp_counters_get(struct sdp_counters *out);

#endif /* MIKAKA_SDP_H */
