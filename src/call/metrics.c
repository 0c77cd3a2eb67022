/* call/metrics.c: the call engine's Prometheus metrics (text format 0.0.4). */
#include <errno.h>
#include <string.h>

#include "call_int.h"
#include "notify.h"
#include "store.h"

const double call_setup_bounds[CALL_SETUP_BOUNDS] = {0.01, 0.025, 0.05, 0.1, 0.25,
						      0.5,  1,	   2.5,	 5};
const double call_jitter_bounds[CALL_JITTER_BOUNDS] = {0.001, 0.0025, 0.005, 0.01,
							0.02,  0.04,   0.08,  0.16};

int call_metrics(const struct call_eng *eng, struct mbuf *out)
{
	static const char *const disp[] = {
	    [STORE_CDR_ANSWERED] = "answered",
	    [STORE_CDR_NO_ANSWER] = "no_answer",
	    [STORE_CDR_BUSY] = "busy",
	    [STORE_CDR_FAILED] = "failed",
	};
	int err = 0;

	err |= mbuf_printf(out,
			   "# HELP mikaka_calls_active Calls in progress (ringing or answered).\n"
			   "# TYPE mikaka_calls_active gauge\n"
			   "mikaka_calls_active %zu\n"
			   "# HELP mikaka_call_legs_active SIP dialogs of the calls in progress.\n"
			   "# TYPE mikaka_call_legs_active gauge\n"
			   "mikaka_call_legs_active %zu\n"
			   "# HELP mikaka_calls_total Calls ended, by disposition (the call "
			   "record's).\n"
			   "# TYPE mikaka_calls_total counter\n",
			   call_count(eng), call_leg_count(eng));
	for (size_t i = 0; i < ARRAY_SIZE(disp); i++)
		err |= mbuf_printf(out, "mikaka_calls_total{disposition=\"%s\"} %llu\n", disp[i],
				   (unsigned long long)(eng ? eng->n_disp[i] : 0));
	err |= mbuf_printf(out,
			   "# HELP mikaka_calls_refused_total INVITEs refused by the toll-fraud "
			   "checks.\n"
			   "# TYPE mikaka_calls_refused_total counter\n"
			   "mikaka_calls_refused_total %llu\n",
			   (unsigned long long)(eng ? eng->n_refused : 0));
	err |= histo_write(out, "mikaka_call_setup_seconds",
			   "Call set-up time: from the caller's INVITE to the first ringing (18x) "
			   "or answer (2xx) sent back to it.",
			   eng ? &eng->setup_hist : NULL, call_setup_bounds, CALL_SETUP_BOUNDS);
	err |= mbuf_printf(
	    out,
	    "# HELP mikaka_rtp_packets_total RTP packets relayed on the legs of ended calls "
	    "(rx: from the peer, tx: to it), counted when the call ends.\n"
	    "# TYPE mikaka_rtp_packets_total counter\n"
	    "mikaka_rtp_packets_total{direction=\"rx\"} %llu\n"
	    "mikaka_rtp_packets_total{direction=\"tx\"} %llu\n"
	    "# HELP mikaka_rtp_bytes_total RTP bytes (header and payload) of those packets.\n"
	    "# TYPE mikaka_rtp_bytes_total counter\n"
	    "mikaka_rtp_bytes_total{direction=\"rx\"} %llu\n"
	    "mikaka_rtp_bytes_total{direction=\"tx\"} %llu\n"
	    "# HELP mikaka_rtp_lost_packets_total RTP packets the peers sent that never "
	    "arrived (RFC 3550 expected minus received), legs of ended calls.\n"
	    "# TYPE mikaka_rtp_lost_packets_total counter\n"
	    "mikaka_rtp_lost_packets_total %llu\n"
	    "# HELP mikaka_rtp_dropped_packets_total RTP packets received and dropped (bad, "
	    "wrong source, unknown payload type, on hold), legs of ended calls.\n"
	    "# TYPE mikaka_rtp_dropped_packets_total counter\n"
	    "mikaka_rtp_dropped_packets_total %llu\n",
	    (unsigned long long)(eng ? eng->rtp_rx_packets : 0),
	    (unsigned long long)(eng ? eng->rtp_tx_packets : 0),
	    (unsigned long long)(eng ? eng->rtp_rx_bytes : 0),
	    (unsigned long long)(eng ? eng->rtp_tx_bytes : 0),
	    (unsigned long long)(eng ? eng->rtp_lost : 0),
	    (unsigned long long)(eng ? eng->rtp_dropped : 0));
	err |= histo_write(out, "mikaka_rtp_jitter_seconds",
			   "RFC 3550 interarrival jitter of what a leg received, at the end of its "
			   "call (one observation per leg that received RTP).",
			   eng ? &eng->jitter_hist : NULL, call_jitter_bounds, CALL_JITTER_BOUNDS);
	{
		static const char *const why[] = {"blocklist", "withheld", "other_reason",
						  "voicemail_missing"};

		err |= mbuf_printf(out, "# HELP mikaka_calls_screened_total Calls from the line "
					"refused by screening, by reason.\n"
					"# TYPE mikaka_calls_screened_total counter\n");
		for (size_t i = 0; i < ARRAY_SIZE(why); i++)
			err |= mbuf_printf(out, "mikaka_calls_screened_total{reason=\"%s\"} %llu\n",
					   why[i],
					   (unsigned long long)(eng ? eng->n_screened[i] : 0));
	}
	/* notifications: their counters live with the sender */
	err |= notify_metrics(eng ? eng->notify : NULL, out);
	return err ? ENOMEM : 0;
}

int call_status_json(const struct call_eng *eng, struct mbuf *out)
{
	int64_t now = call_wall_ms();
	bool first = true;
	int err = mbuf_write_str(out, "[");

	LIST_FOREACH(&eng->calls, le)
	{
		const struct call *c = le->data;

		err |= mbuf_write_str(out, first ? "{\"channel\":" : ",{\"channel\":");
		err |= mbuf_write_json(out, c->a ? c->a->name : "", c->a ? strlen(c->a->name) : 0);
		err |= mbuf_write_str(out, ",\"from\":");
		err |= mbuf_write_json(out, c->src, strlen(c->src));
		err |= mbuf_write_str(out, ",\"caller_name\":");
		err |= mbuf_write_json(out, c->cid_name, strlen(c->cid_name));
		err |= mbuf_write_str(out, ",\"to\":");
		err |= mbuf_write_json(out, c->dst, strlen(c->dst));
		err |= mbuf_printf(out,
				   ",\"answered\":%s,\"legs\":%zu,\"start_ms\":%lld,"
				   "\"duration\":%lld}",
				   c->answered ? "true" : "false", list_count(&c->legs),
				   (long long)c->start_ms, (long long)((now - c->start_ms) / 1000));
		first = false;
	}
	err |= mbuf_write_str(out, "]");
	return err ? ENOMEM : 0;
}
