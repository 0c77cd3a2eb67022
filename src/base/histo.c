/* base/histo.c: Prometheus histograms kept by the modules that observe (call set-up time, store
 * commits, RTP jitter) and written in the text format 0.0.4 by each module's metrics function. */
#include <stdio.h>

#include "base.h"

void histo_observe(struct histo *h, const double *bounds, size_t n, double v)
{
	size_t i = 0;

	while (i < n && i < HISTO_MAX && v > bounds[i])
		i++;
	h->bucket[i]++; /* i == n: only +Inf */
	h->count++;
	h->sum += v;
}

int histo_write(struct mbuf *out, const char *name, const char *help, const struct histo *h,
		const double *bounds, size_t n)
{
	uint64_t cum = 0;
	int err;

	err = mbuf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < n && i < HISTO_MAX; i++) {
		cum += h ? h->bucket[i] : 0;
		err |= mbuf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
				   (unsigned long long)cum);
	}
	err |= mbuf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
			   (unsigned long long)(h ? h->count : 0), name, h ? h->sum : 0.0, name,
			   (unsigned long long)(h ? h->count : 0));
	return err;
}
