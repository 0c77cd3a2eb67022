/* bench_store: how fast the store takes registrations through the per-turn batch, and how long
 * the worst commit blocks the loop. Usage: bench_store [DIR] [N]; DIR (default /tmp) should be on
 * the disk the daemon will use. Prints a table, then the headline figures as "name value" lines:
 * store_reg_puts_per_sec (turns of 100, synchronous=NORMAL) and store_worst_commit_us. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "base.h"
#include "loop.h"
#include "store.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void done_count(int err, void *arg)
{
	unsigned *n = arg;

	if (!err)
		(*n)++;
}

struct result {
	double puts_per_sec;
	uint64_t worst_commit_us;
	uint64_t worst_turn_us;
	uint64_t commits;
	uint64_t checkpoints;
	long long wal_bytes;
};

/* Puts n registrations, turn registrations per loop turn; round changes the values so a second
 * round replaces every row (a refresh), like re-REGISTERs do. */
static int run(struct store *st, struct loop *loop, unsigned n, unsigned turn, unsigned round,
	       struct result *res)
{
	struct store_stats s0, s1;
	unsigned ok = 0;
	uint64_t t0, worst_turn = 0;
	int err = 0;

	store_stats_get(st, &s0);
	t0 = now_us();
	for (unsigned i = 0; i < n && !err; i += turn) {
		uint64_t ts = now_us();

		for (unsigned j = i; j < i + turn && j < n && !err; j++) {
			char peer[16], contact[64], callid[40];
			struct store_reg r = {
				.transport = PL("udp"),
				.user_agent = PL("Linphone-Desktop/5.2.4 (bench) LinphoneSDK/5.3"),
				.cseq = round + 1,
				.expires = (int64_t)time(NULL) + 3600,
				.registered_at = (int64_t)time(NULL),
			};

			snprintf(peer, sizeof(peer), "%u", 1000 + j);
			snprintf(contact, sizeof(contact),
				 "sip:%u@10.%u.%u.%u:5060;transport=udp;ob", 1000 + j, j >> 16,
				 (j >> 8) & 255, j & 255);
			snprintf(callid, sizeof(callid), "%08x-%u-bench@10.0.0.1", j * 2654435761u,
				 round);
			r.peer = pl_from_str(peer);
			r.contact = pl_from_str(contact);
			r.call_id = pl_from_str(callid);
			sa_set_str(&r.source, "10.1.2.3", (uint16_t)(1024 + j % 60000));
			err = store_reg_put(st, &r, done_count, &ok);
		}
		if (!err)
			err = loop_run_once(loop, 0);
		worst_turn = MAX(worst_turn, now_us() - ts);
	}
	if (err)
		return err;
	res->puts_per_sec = (double)ok * 1e6 / (double)(now_us() - t0);
	store_stats_get(st, &s1);
	res->commits = s1.commits - s0.commits;
	res->worst_commit_us = s1.max_commit_us; /* reset per configuration (fresh store) */
	res->worst_turn_us = worst_turn;
	res->checkpoints = s1.checkpoints;
	return ok == n ? 0 : EIO;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 10000;
	static const unsigned turns[] = {1, 10, 100, 1000};
	struct result headline = {0};
	char path[256];
	int err = 0;

	log_set_level(LOG_WARN);
	printf("%-6s %-5s %-8s %10s %8s %15s %13s %6s %9s\n", "sync", "turn", "round", "puts/s",
	       "commits", "worst commit us", "worst turn us", "ckpts", "WAL KiB");
	for (int full = 0; full <= 1 && !err; full++) {
		for (size_t t = 0; t < ARRAY_SIZE(turns) && !err; t++) {
			struct store_opts o = {.sync_full = full};
			struct loop *loop = NULL;
			struct store *st = NULL;

			snprintf(path, sizeof(path), "%s/bench-store-%d.db", dir, (int)getpid());
			err = loop_alloc(&loop);
			if (!err)
				err = store_open_opts(&st, loop, path, &o);
			for (unsigned round = 0; round < 2 && !err; round++) {
				struct result res;

				char wal[300];
				struct stat sb;

				err = run(st, loop, n, turns[t], round, &res);
				if (err)
					break;
				snprintf(wal, sizeof(wal), "%s-wal", path);
				res.wal_bytes = stat(wal, &sb) == 0 ? (long long)sb.st_size : -1;
				printf("%-6s %-5u %-8s %10.0f %8llu %15llu %13llu %6llu %9lld\n",
				       full ? "FULL" : "NORMAL", turns[t], round ? "refresh" : "insert",
				       res.puts_per_sec, (unsigned long long)res.commits,
				       (unsigned long long)res.worst_commit_us,
				       (unsigned long long)res.worst_turn_us,
				       (unsigned long long)res.checkpoints, res.wal_bytes / 1024);
				if (!full && turns[t] == 100 && round == 1)
					headline = res;
			}
			store_close(st);
			loop_free(loop);
			for (size_t i = 0; i < 3; i++) {
				static const char *const sfx[] = {"", "-wal", "-shm"};
				char p[300];

				snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
				unlink(p);
			}
		}
	}
	if (err) {
		fprintf(stderr, "bench_store: %s\n", strerror(err));
		return 1;
	}
	printf("store_reg_puts_per_sec %.0f\n", headline.puts_per_sec);
	printf("store_worst_commit_us %llu\n", (unsigned long long)headline.worst_commit_us);
	printf("store_worst_turn_us %llu\n", (unsigned long long)headline.worst_turn_us);
	return 0;
}
