/* sdp_int: helpers shared by the SDP module's files. */
#ifndef MIKAKA_SDP_INT_H
#define MIKAKA_SDP_INT_H

#include "sdp.h"

/* m=audio with an RTP/AVP or RTP/AVPF profile (the only streams mikaka accepts). */
bool sdp_media_is_rtp_audio(const struct sdp_media *m);

#endif /* MIKAKA_SDP_INT_H */
