/* bench_play: local media endpoints under load: 200 legs playing one shared sound and 200 legs
 * recording (a generator sends each a 20 ms PCMU packet every 20 ms) for PLAY_SECONDS on
 * loopback. Prints play_* lines: packets received per playing stream against the expected count,
 * packets missing in the sequence, bytes per playback stream beyond the shared sound, recorded
 * samples against sent, and the relay thread's CPU per stream (the thread's own clock). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "media.h"
#include "media_int.h"

#define NPLAY	     200
#define NREC	     200
#define PLAY_SECONDS 5

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void ev_h(struct media_leg *leg, const struct media_event *ev, void *arg)
{
	(void)leg;
	(void)ev;
	(void)arg;
}

static int sock_at(const char *ip, struct sa *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int big = 1 << 20;
	socklen_t l = sizeof(addr->u);

	sa_set_str(addr, ip, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (fd < 0 || bind(fd, &addr->u.sa, addr->len) < 0)
		return -1;
	getsockname(fd, &addr->u.sa, &l);
	addr->len = l;
	return fd;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			v = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

int main(void)
{
	static struct media_leg *play[NPLAY], *rec[NREC];
	static int pfd[NPLAY], rfd[NREC];
	static struct sa paddr[NPLAY], raddr[NREC];
	static uint32_t got[NPLAY], missing[NPLAY];
	static uint16_t lastseq[NPLAY];
	static char path[64];
	struct media *m;
	struct loop *loop;
	struct media_config cfg;
	struct sa local;
	struct media_sound *snd;
	struct media_format f = {.nfmt = 1, .te_pt_tx = -1, .te_pt_rx = -1, .dir = SDP_SENDRECV};
	uint8_t hdr[44];
	FILE *wf;

	f.fmt[0] = (struct sdp_neg_fmt){SDP_CODEC_PCMU, 0, 0, 8000};
	/* a 10 s sound, longer than the run */
	snprintf(path, sizeof(path), "/tmp/bench_play_%d.wav", (int)getpid());
	wf = fopen(path, "wb");
	media_wav_header(hdr, 80000);
	fwrite(hdr, 1, 44, wf);
	for (int i = 0; i < 80000; i++) {
		int16_t v = (int16_t)((i * 37) % 20000 - 10000);
		fwrite(&v, 2, 1, wf);
	}
	fclose(wf);
	if (loop_alloc(&loop) || media_sound_load(&snd, path))
		return 1;
	media_config_init(&cfg);
	cfg.rtpstart = 30000;
	cfg.rtpend = 32000;
	if (media_alloc(&m, loop, &cfg))
		return 1;
	sa_set_str(&local, "127.0.0.1", 0);
	for (int i = 0; i < NPLAY; i++) {
		pfd[i] = sock_at("127.0.0.2", &paddr[i]);
		if (pfd[i] < 0 || media_leg_alloc(&play[i], m, &local, -1, ev_h, NULL) ||
		    media_leg_set_format(play[i], &f) ||
		    media_leg_set_remote(play[i], &paddr[i], NULL, 0))
			return 1;
	}
	for (int i = 0; i < NREC; i++) {
		rfd[i] = sock_at("127.0.0.3", &raddr[i]);
		if (rfd[i] < 0 || media_leg_alloc(&rec[i], m, &local, -1, ev_h, NULL) ||
		    media_leg_set_format(rec[i], &f) ||
		    media_leg_set_remote(rec[i], &raddr[i], NULL, 0))
			return 1;
	}
	long rss0 = rss_kib();
	for (int i = 0; i < NPLAY; i++)
		if (media_leg_play(play[i], &snd, 1, false))
			return 1;
	long rss1 = rss_kib();
	for (int i = 0; i < NREC; i++) {
		char rp[64];
		snprintf(rp, sizeof(rp), "/tmp/bench_rec_%d_%d.wav", (int)getpid(), i);
		if (media_leg_record(rec[i], rp, NULL))
			return 1;
	}
	struct timespec c0, c1;
	clockid_t cid;
	pthread_getcpuclockid(m->thread, &cid);
	clock_gettime(cid, &c0);
	uint64_t start = now_ms(), next = start;
	uint32_t sent = 0;
	uint8_t pkt[172];
	memset(pkt, 0xff, sizeof(pkt));
	pkt[0] = 0x80;
	pkt[1] = 0;
	while (now_ms() - start < PLAY_SECONDS * 1000) {
		uint64_t t = now_ms();
		if (t >= next) {
			for (int i = 0; i < NREC; i++) {
				struct sa to;
				media_leg_local(rec[i], &to);
				pkt[2] = (uint8_t)(sent >> 8);
				pkt[3] = (uint8_t)sent;
				pkt[7] = (uint8_t)(sent * 160);
				pkt[6] = (uint8_t)((sent * 160) >> 8);
				sendto(rfd[i], pkt, sizeof(pkt), 0, &to.u.sa, to.len);
			}
			sent++;
			next += 20;
		}
		for (int i = 0; i < NPLAY; i++) {
			uint8_t b[512];
			ssize_t n;
			while ((n = recv(pfd[i], b, sizeof(b), 0)) > 0) {
				uint16_t seq = (uint16_t)(b[2] << 8 | b[3]);
				if (got[i] && (uint16_t)(seq - lastseq[i]) > 1)
					missing[i] += (uint16_t)(seq - lastseq[i]) - 1;
				lastseq[i] = seq;
				got[i]++;
			}
		}
		for (int i = 0; i < NREC; i++) {
			uint8_t b[512];
			while (recv(rfd[i], b, sizeof(b), 0) > 0)
				;
		}
		loop_run_once(loop, 1);
	}
	clock_gettime(cid, &c1);
	double cpu_us = (double)(c1.tv_sec - c0.tv_sec) * 1e6 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e3;
	uint64_t recorded = 0;
	for (int i = 0; i < NREC; i++) {
		struct media_rec_result res;
		char rp[64];
		if (!media_leg_record_stop(rec[i], 0, &res))
			recorded += res.samples;
		snprintf(rp, sizeof(rp), "/tmp/bench_rec_%d_%d.wav", (int)getpid(), i);
		unlink(rp);
	}
	uint64_t total = 0, miss = 0, minp = UINT64_MAX;
	for (int i = 0; i < NPLAY; i++) {
		total += got[i];
		miss += missing[i];
		if (got[i] < minp)
			minp = got[i];
	}
	printf("play_streams %d\n", NPLAY);
	printf("play_expected_per_stream %d\n", PLAY_SECONDS * 50);
	printf("play_min_per_stream %llu\n", (unsigned long long)minp);
	printf("play_avg_per_stream %.1f\n", (double)total / NPLAY);
	printf("play_missing_seq %llu\n", (unsigned long long)miss);
	printf("play_bytes_per_stream %ld\n", (rss1 - rss0) * 1024 / NPLAY);
	printf("rec_streams %d\n", NREC);
	printf("rec_samples_sent %llu\n", (unsigned long long)sent * 160 * NREC);
	printf("rec_samples_written %llu\n", (unsigned long long)recorded);
	printf("play_rec_relay_cpu_us_per_stream_s %.1f\n",
	       cpu_us / (NPLAY + NREC) / PLAY_SECONDS);
	for (int i = 0; i < NPLAY; i++) {
		media_leg_free(play[i]);
		close(pfd[i]);
	}
	for (int i = 0; i < NREC; i++) {
		media_leg_free(rec[i]);
		close(rfd[i]);
	}
	mem_deref(snd);
	media_free(m);
	loop_free(loop);
	unlink(path);
	return miss || minp + 5 < PLAY_SECONDS * 50 ? 1 : 0;
}
