/* sdp_int: helpers shared by the SDP module's files. */
#ifndef MIKAKA_SDP_INT_H
#define MIKAKA_SDP_INT_H

#include "sdp.h"

/* m=audio with an RTP/AVP, RTP/AVPF, RTP/SAVP or RTP/SAVPF profile (the only streams mikaka
 * accepts). */
bool sdp_media_is_rtp_audio(const struct sdp_media *m);
/* The profile is a secure one (RTP/SAVP, RTP/SAVPF). */
bool sdp_media_is_savp(const struct sdp_media *m);
/* base64 (crypto.c): decode into out[max] (EBADMSG, ENOSPC), encode n bytes. */
int sdp_b64_decode(const struct pl *in, uint8_t *out, size_t max, size_t *outlen);
int sdp_b64_encode(struct mbuf *mb, const uint8_t *in, size_t n);

/* The first a=crypto line of m whose suite (and with by_tag, tag) is one of ours[nours]: its
 * key into *theirs and the index of ours into *idx. ENOENT when m has no a=crypto, ENOTSUP when
 * none is usable. */
int sdp_crypto_pick(const struct sdp_media *m, const struct sdp_crypto *ours, unsigned nours,
		    bool by_tag, struct sdp_crypto *theirs, unsigned *idx);

#endif /* MIKAKA_SDP_INT_H */
