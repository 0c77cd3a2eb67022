/* media dtmf: G.711 tables, DTMF out of a leg (spandsp's generator for tones, RFC 4733 event
 * packets) paced by the relay's 20 ms tick, and spandsp's detector on in-band legs. */
#include <errno.h>
#include <string.h>

#include <spandsp.h>

#include "media_int.h"

#define LOG_MODULE "media"

uint8_t media_u2a[256], media_a2u[256];

void media_g711_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		media_u2a[i] = ulaw_to_alaw((uint8_t)i);
		media_a2u[i] = alaw_to_ulaw((uint8_t)i);
	}
}

static const char dtmf_chars[] = "0123456789*#ABCD";

int media_dtmf_code(char digit)
{
	if (digit >= 'a' && digit <= 'd')
		digit = (char)(digit - 'a' + 'A');
	const char *p = digit ? strchr(dtmf_chars, digit) : NULL;
	return p ? (int)(p - dtmf_chars) : -1;
}

char media_dtmf_char(int code)
{
	return code >= 0 && code < 16 ? dtmf_chars[code] : 0;
}

int media_dtmf_alloc_tx(struct media_leg *leg)
{
	if (!leg->dtmf_tx)
		leg->dtmf_tx = dtmf_tx_init(NULL);
	return leg->dtmf_tx ? 0 : ENOMEM;
}

static void detect_h(void *arg, int code, int level, int delay);

int media_dtmf_alloc_rx(struct media_leg *leg)
{
	if (leg->dtmf_rx)
		return 0;
	leg->dtmf_rx = dtmf_rx_init(NULL, NULL, NULL);
	if (!leg->dtmf_rx)
		return ENOMEM;
	dtmf_rx_set_realtime_callback(leg->dtmf_rx, detect_h, leg);
	return 0;
}

void media_dtmf_free_rx(struct media_leg *leg)
{
	if (leg->dtmf_rx)
		dtmf_rx_free(leg->dtmf_rx);
	leg->dtmf_rx = NULL;
}

void media_dtmf_free(struct media_leg *leg)
{
	if (leg->dtmf_tx)
		dtmf_tx_free(leg->dtmf_tx);
	if (leg->dtmf_rx)
		dtmf_rx_free(leg->dtmf_rx);
	leg->dtmf_tx = leg->dtmf_rx = NULL;
}

void media_dtmf_start(struct media_leg *leg, char digit, bool tones, uint32_t samples, bool ended,
		      uint64_t now)
{
	struct media_dtmf_out *d = &leg->dout;

	memset(d, 0, sizeof(*d));
	d->active = true;
	d->tones = tones;
	d->digit = digit;
	d->target = samples;
	d->ended = ended;
	d->ts = leg->out.started ? leg->out.last_ts + 160 : 0;
	d->next_ms = now;
	d->last_in_ms = now;
	d->start_ms = now;
	/* RFC 4733 §2.5.1.4: the end packet is sent three times; tones end with 40 ms of silence
	 * so back-to-back digits stay apart for the far end's detector. */
	d->end_left = tones ? 2 : 3;
	leg->m->dtmf_scan = true;
	if (tones && leg->dtmf_tx) {
		dtmf_tx_init(leg->dtmf_tx); /* re-initialises in place: no allocation */
		/* We cut the tone ourselves at the wanted length, so let it run long. */
		dtmf_tx_set_timing(leg->dtmf_tx, 10000, 0);
		dtmf_tx_put(leg->dtmf_tx, &digit, 1);
	}
}

static void send_event(struct media *m, struct media_leg *leg, bool end, bool marker)
{
	struct media_dtmf_out *d = &leg->dout;
	uint8_t pl[4];
	uint32_t dur = d->done > 0xffff ? 0xffff : d->done;

	pl[0] = (uint8_t)media_dtmf_code(d->digit);
	pl[1] = (uint8_t)((end ? 0x80 : 0) | 10); /* volume -10 dBm0 */
	pl[2] = (uint8_t)(dur >> 8);
	pl[3] = (uint8_t)dur;
	media_send_generated(m, leg, (uint8_t)leg->fmt.te_pt_tx, marker, d->ts, pl, sizeof(pl));
}

/* Longest digit, whatever the peer says (a lost end packet must not make an endless tone). */
#define DTMF_MAX_SAMPLES (8000 * 5)
/* An RFC 4733 event whose updates stop for this long is taken as ended. */
#define DTMF_STALL_MS 300

void media_dtmf_tick(struct media *m, struct media_leg *leg, uint64_t now)
{
	struct media_dtmf_out *d = &leg->dout;

	if (!d->active || now < d->next_ms)
		return;
	d->next_ms = (now - d->next_ms > 100 ? now : d->next_ms) + MEDIA_TICK_MS;
	if (!d->ended && now - d->last_in_ms > DTMF_STALL_MS) {
		d->ended = true;
		if (d->target < d->done)
			d->target = d->done;
	}
	if (d->done >= DTMF_MAX_SAMPLES) {
		d->ended = true;
		d->target = d->done;
	}
	bool finished = d->ended && d->done >= d->target;

	if (d->tones) {
		int16_t amp[160];
		uint8_t pl[160];
		if (!leg->dtmf_tx || leg->fmt.nfmt == 0 || (finished && d->end_left == 0)) {
			d->active = false;
			leg->st.dtmf_tx++;
			return;
		}
		int n = 0;
		if (finished)
			d->end_left--;
		else
			n = dtmf_tx(leg->dtmf_tx, amp, 160);
		if (n < 0)
			n = 0;
		for (int i = n; i < 160; i++)
			amp[i] = 0;
		bool alaw = leg->fmt.fmt[0].codec == SDP_CODEC_PCMA;
		for (int i = 0; i < 160; i++)
			pl[i] = alaw ? linear_to_alaw(amp[i]) : linear_to_ulaw(amp[i]);
		media_send_generated(m, leg, leg->fmt.fmt[0].pt_tx, d->done == 0, d->ts + d->done,
				     pl, sizeof(pl));
		d->done += 160;
		return;
	}
	if (leg->fmt.te_pt_tx < 0) {
		d->active = false;
		return;
	}
	if (finished) {
		send_event(m, leg, true, false);
		if (--d->end_left == 0) {
			d->active = false;
			leg->st.dtmf_tx++;
		}
		return;
	}
	bool first = d->done == 0;
	d->done += 160;
	send_event(m, leg, false, first);
}

static void detect_h(void *arg, int code, int level, int delay)
{
	struct media_leg *in = arg;
	struct media *m = in->m;
	struct media_leg *out = in->peer;

	if (code) {
		if (in->det_digit)
			return;
		in->det_digit = (char)code;
		in->det_start_ms = m->now;
		if (out && out->fmt.te_pt_tx >= 0 && !out->dout.active)
			media_dtmf_start(out, (char)code, false, 0, false, m->now);
		return;
	}
	if (!in->det_digit)
		return;
	uint32_t ms = (uint32_t)(m->now - in->det_start_ms);
	struct media_event ev = {
	    .type = MEDIA_EV_DTMF, .digit = in->det_digit, .duration_ms = ms, .inband = true};
	if (out && out->dout.active && !out->dout.tones && out->dout.digit == in->det_digit) {
		out->dout.ended = true;
		out->dout.target = ms * 8 > out->dout.done ? ms * 8 : out->dout.done;
	}
	in->det_digit = 0;
	in->st.dtmf_rx++;
	media_ev_push(m, in, &ev);
}

void media_dtmf_detect(struct media *m, struct media_leg *in, const uint8_t *payload, size_t len,
		       enum sdp_codec codec, uint64_t now)
{
	int16_t amp[160];

	if (!in->dtmf_rx)
		return;
	while (len) {
		size_t n = len > 160 ? 160 : len;
		for (size_t i = 0; i < n; i++)
			amp[i] = codec == SDP_CODEC_PCMA ? alaw_to_linear(payload[i])
							 : ulaw_to_linear(payload[i]);
		dtmf_rx(in->dtmf_rx, amp, (int)n);
		payload += n;
		len -= n;
	}
}
