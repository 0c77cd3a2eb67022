/* bench_screen: the screening decision for a call from the line (allow-list, configured and
 * stored block lists with prefixes, the reason's rule) with 100,000 stored numbers and 1,000
 * prefixes; prints "screen_decide_ns N" and "screen_100k_kib N" (the memory the list takes). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "conf.h"
#include "screen.h"

#define NNUM	100000
#define NPREFIX 1000
#define LOOKUPS 2000000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	struct conf_diags d = {0};
	struct conf *c = NULL;
	struct screen_rules *r = NULL;
	struct screen_db *db = NULL;
	static char nums[4096][16];
	size_t before, after;
	unsigned blocked = 0;
	double t0, t1;

	log_set_level(LOG_WARN);
	if (conf_load_string(&c, "mikaka.conf",
			     "[screening]\nwithheld = reject\nblock = 0570*, 0990*\n"
			     "allow = 0120555555\n",
			     &d) ||
	    screen_rules_load(&r, c, &d) || !r)
		return 1;
	before = mallinfo2().uordblks;
	if (screen_db_alloc(&db, NULL))
		return 1;
	for (unsigned i = 0; i < NNUM; i++) {
		char n[16];

		snprintf(n, sizeof(n), "090%08u", i * 7);
		if (screen_db_block_add(db, n, NULL))
			return 1;
	}
	for (unsigned i = 0; i < NPREFIX; i++) {
		char n[16];

		snprintf(n, sizeof(n), "0120%03u*", i);
		if (screen_db_block_add(db, n, NULL))
			return 1;
	}
	after = mallinfo2().uordblks;
	/* Callers made up front, so only the decision is timed: a quarter of them blocked. */
	for (unsigned i = 0; i < 4096; i++)
		snprintf(nums[i], sizeof(nums[i]), i % 2 ? "090%08u" : "03%08u", i * 13);
	t0 = now_s();
	for (unsigned i = 0; i < LOOKUPS; i++) {
		struct screen_verdict v;

		screen_decide(r, db, "0312345678", nums[i & 4095], SCREEN_R_NONE, &v);
		blocked += v.action == SCREEN_REJECT;
	}
	t1 = now_s();
	printf("screen_decide_ns %.0f\n", (t1 - t0) * 1e9 / LOOKUPS);
	printf("screen_100k_kib %zu\n", (after - before) / 1024);
	printf("screen_blocked %u\n", blocked);
	screen_db_free(db);
	screen_rules_free(r);
	conf_free(c);
	conf_diags_reset(&d);
	return 0;
}
