/* call/metrics.c: the call engine's Prometheus metrics (text format 0.0.4). */
#include <errno.h>
#include <string.h>

#include "call_int.h"
#include "store.h"

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
