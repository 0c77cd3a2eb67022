/* bench_peers: loading a 10,000-peer sip.conf (templates, secrets, ACLs, the post's style):
 * prints "peers_load_ms N" (conf_load + sipcfg_load, best of a few runs) and "peer_bytes N"
 * (heap held by the snapshot per peer, measured with mallinfo2). Targets: <= 100 ms, <= 1 KiB. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "peer.h"

#define NPEERS 10000
#define RUNS   5

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int write_conf(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "[general]\ncontext=public\nallowoverlap=no\nrealm=ntt-east.ne.jp\n"
		   "transport=udp\nsrvlookup=yes\n"
		   "register => 0312345678@ntt-east.ne.jp/0312345678\n\n"
		   "[basic-options](!)\ndtmfmode=rfc2833\ncontext=from-office\ntype=friend\n"
		   "[natted-phone](!,basic-options)\ndirectmedia=no\nhost=dynamic\n"
		   "[ulaw-phone](!)\ndisallow=all\nallow=ulaw\n\n"
		   "[mikaka-gw]\ntype=peer\nhost=192.0.2.1\ncontext=from_mikaka\ndisallow=all\n"
		   "allow=ulaw\ndirectmedia=no\ndtmfmode=inband\nqualify=no\n\n");
	for (int i = 0; i < NPEERS; i++)
		fprintf(f,
			"[%d](natted-phone,ulaw-phone)\nsecret=secret-%08d\ncontext=from_phone\n"
			"callerid=\"Phone %d\" <%d>\nqualify=yes\nnat=force_rport,comedia\n"
			"deny=0.0.0.0/0.0.0.0\npermit=192.168.0.0/255.255.0.0\n\n",
			10000 + i, i * 7919, i, 10000 + i);
	return fclose(f);
}

int main(void)
{
	char path[] = "/tmp/mikaka-bench-peers-XXXXXX";
	double best = 1e9;
	size_t bytes = 0;
	int fd = mkstemp(path);

	if (fd < 0 || close(fd) || write_conf(path)) {
		perror("bench_peers: temporary sip.conf");
		return 1;
	}
	log_set_level(LOG_ERROR);
	for (int run = 0; run < RUNS; run++) {
		struct conf_diags diags = {0};
		struct conf *conf = NULL;
		struct sipcfg *cfg = NULL;
		struct mallinfo2 before, after;
		double t0, t1;

		t0 = now_ms();
		if (conf_load(&conf, path, &diags)) {
			conf_diags_print(&diags);
			goto fail;
		}
		before = mallinfo2();
		if (sipcfg_load(&cfg, conf, &diags)) {
			conf_diags_print(&diags);
			conf_free(conf);
			goto fail;
		}
		t1 = now_ms();
		after = mallinfo2();
		if (t1 - t0 < best)
			best = t1 - t0;
		bytes = (after.uordblks + after.hblkhd - before.uordblks - before.hblkhd) /
			sipcfg_peer_count(cfg);
		if (sipcfg_peer_count(cfg) != NPEERS + 1) {
			fprintf(stderr, "bench_peers: %zu peers loaded\n", sipcfg_peer_count(cfg));
			goto fail;
		}
		conf_free(conf);
		mem_deref(cfg);
		conf_diags_reset(&diags);
	}
	unlink(path);
	printf("peers_load_ms %.1f\n", best);
	printf("peer_bytes %zu\n", bytes);
	return 0;
fail:
	unlink(path);
	return 1;
}
