/* bench_dialplan: the dialplan's lookup time in a context of 10,000 extensions and patterns, the
 * time to load the post's extensions.conf, and the memory the big context takes; prints
 * "dialplan_lookup_ns N", "dialplan_load_ms N" and "dialplan_10k_kib N". */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "conf.h"
#include "pbx.h"

#define NEXACT	 5000
#define NPATTERN 5000
#define SEED_EXT "tests/unit/data/seed-extensions.conf"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 5,000 exact extensions (1000..5999), 5,000 patterns with distinct prefixes (_7PPPPX.,
 * _8PPPP[1-5]XX, ...), and the usual catch-alls (_X., _0., _NXXXXXX, _1!). */
static char *big_conf(void)
{
	struct mbuf mb;

	mbuf_init(&mb);
	mbuf_printf(&mb, "[big]\n");
	for (int i = 0; i < NEXACT; i++)
		mbuf_printf(&mb, "exten => %d,1,Dial(SIP/%d,30)\n same => n,Hangup()\n", 1000 + i,
			    1000 + i);
	for (int i = 0; i < NPATTERN - 4; i++) {
		switch (i % 3) {
		case 0:
			mbuf_printf(&mb, "exten => _7%04dX.,1,Dial(SIP/gw/${EXTEN:1})\n", i);
			break;
		case 1:
			mbuf_printf(&mb, "exten => _8%04d[1-5]XX,1,Dial(SIP/gw/${EXTEN})\n", i);
			break;
		default:
			mbuf_printf(&mb, "exten => _9%04dNZ!,1,Goto(big,1000,1)\n", i);
			break;
		}
	}
	mbuf_printf(&mb, "exten => _X.,1,Congestion()\n"
			 "exten => _0.,1,Dial(SIP/gw/${EXTEN})\n"
			 "exten => _NXXXXXX,1,Busy()\n"
			 "exten => _1!,1,NoOp()\n");
	mbuf_write(&mb, "", 1);
	return (char *)mb.buf;
}

int main(int argc, char **argv)
{
	const char *seed = argc > 1 ? argv[1] : SEED_EXT;
	struct conf_diags diags = {0};
	struct conf *conf = NULL;
	struct dialplan *dp = NULL;
	char *text = big_conf();
	char numbers[64][32];
	struct mallinfo2 m0, m1;
	double t0, el;
	uint64_t n = 0, hits = 0;
	int loads = 0;

	if (!text || conf_load_string(&conf, "big.conf", text, &diags)) {
		conf_diags_print(&diags);
		fprintf(stderr, "bench_dialplan: cannot read the generated configuration\n");
		return 1;
	}
	m0 = mallinfo2();
	if (dialplan_load(&dp, conf, NULL, &diags)) {
		conf_diags_print(&diags);
		fprintf(stderr, "bench_dialplan: cannot load the generated dialplan\n");
		return 1;
	}
	m1 = mallinfo2();
	conf_free(conf);
	free(text);

	/* A mix: exact hits, deep pattern hits, and numbers that fall to the catch-alls. */
	for (int i = 0; i < 64; i++) {
		switch (i % 8) {
		case 0:
			snprintf(numbers[i], sizeof(numbers[i]), "%d", 1000 + (i * 77) % NEXACT);
			break;
		case 1:
			snprintf(numbers[i], sizeof(numbers[i]), "7%04d12345", (i * 3 * 41) % 4995);
			break;
		case 2:
			snprintf(numbers[i], sizeof(numbers[i]), "8%04d399",
				 1 + 3 * ((i * 13) % 1600));
			break;
		case 3:
			snprintf(numbers[i], sizeof(numbers[i]), "9%04d29",
				 2 + 3 * ((i * 7) % 1600));
			break;
		case 4:
			snprintf(numbers[i], sizeof(numbers[i]), "0312345678");
			break;
		case 5:
			snprintf(numbers[i], sizeof(numbers[i]), "2345678");
			break;
		case 6:
			snprintf(numbers[i], sizeof(numbers[i]), "6%08d", i);
			break;
		default:
			snprintf(numbers[i], sizeof(numbers[i]), "1");
			break;
		}
	}
	t0 = now_s();
	do {
		for (int k = 0; k < 10000; k++) {
			hits += dialplan_find(dp, "big", numbers[k & 63], 1, NULL) == 0;
			n++;
		}
		el = now_s() - t0;
	} while (el < 1.0);
	if (hits != n) {
		fprintf(stderr, "bench_dialplan: %llu of %llu lookups found nothing\n",
			(unsigned long long)(n - hits), (unsigned long long)n);
		return 1;
	}
	printf("dialplan_lookup_ns %.0f\n", el * 1e9 / (double)n);
	printf("dialplan_10k_kib %zu\n", (m1.uordblks - m0.uordblks) / 1024);
	dialplan_free(dp);

	/* The post's extensions.conf: read and load, as a reload does. */
	t0 = now_s();
	do {
		conf = NULL;
		dp = NULL;
		if (conf_load(&conf, seed, &diags) || dialplan_load(&dp, conf, NULL, &diags)) {
			conf_diags_print(&diags);
			fprintf(stderr, "bench_dialplan: cannot load %s\n", seed);
			return 1;
		}
		dialplan_free(dp);
		conf_free(conf);
		loads++;
		el = now_s() - t0;
	} while (el < 0.5);
	printf("dialplan_load_ms %.3f\n", el * 1e3 / loads);
	conf_diags_reset(&diags);
	return 0;
}
