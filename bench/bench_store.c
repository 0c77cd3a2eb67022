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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

struct result {
	double puts_per_sec;
	uint64_t worst_commit_us;
	uint64_t p99_commit_us;
	uint64_t worst_turn_us;
	uint64_t commits;
	uint64_t checkpoints;
	uint64_t forced;
	long long wal_bytes;
};

/* Puts n registrations, turn registrations per loop turn; round changes the values so a second
 * round replaces every row (a refresh), like re-REGISTERs do. */
static int run(struct store *st, struct loop *loop, unsigned n, unsigned turn, unsigned round,
	       unsigned rate, struct result *res)
{
	struct store_stats s0, s1;
	unsigned ok = 0;
	uint64_t t0, worst_turn = 0;
	uint64_t *commit_us = calloc(n, sizeof(*commit_us));
	size_t ncommit = 0;
	int err = 0;

	if (!commit_us)
		return ENOMEM;

	store_stats_get(st, &s0);
	t0 = now_us();
	for (unsigned i = 0; i < n && !err; i += turn) {
		uint64_t ts;

		/* Paced: each turn starts on schedule, as if the requests arrived at that rate. */
		if (rate) {
			uint64_t due = t0 + (uint64_t)i * 1000000u / rate;

			while ((ts = now_us()) < due)
				usleep((useconds_t)MIN(due - ts, 1000000u));
		}
		ts = now_us();

		for (unsigned j = i; j < i + turn && j < n && !err; j++) {
			char peer[16], contact[64], callid[40];
			struct store_reg r = {
			    .transport = PL("udp"),
			    .user_agent = PL("Linphone-Desktop/5.2.4 (bench) LinphoneSDK/5.3"),
			    .cseq = round + 1,
			    .expires = (int64_t)time(NULL) + 3600,
			    .registered_at = (int64_t)time(NULL),
			};

			unsigned k = j % 10000; /* 10,000 phones: later puts are refreshes */

			snprintf(peer, sizeof(peer), "%u", 1000 + k);
			snprintf(contact, sizeof(contact),
				 "sip:%u@10.%u.%u.%u:5060;transport=udp;ob", 1000 + k, k >> 16,
				 (k >> 8) & 255, k & 255);
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
		store_stats_get(st, &s1);
		if (ncommit < n)
			commit_us[ncommit++] = s1.last_commit_us;
	}
	if (err) {
		free(commit_us);
		return err;
	}
	qsort(commit_us, ncommit, sizeof(*commit_us), cmp_u64);
	res->p99_commit_us = ncommit ? commit_us[ncommit * 99 / 100] : 0;
	free(commit_us);
	res->puts_per_sec = (double)ok * 1e6 / (double)(now_us() - t0);
	store_stats_get(st, &s1);
	res->commits = s1.commits - s0.commits;
	res->worst_commit_us = s1.max_commit_us; /* since the store was opened */
	res->worst_turn_us = worst_turn;
	res->checkpoints = s1.checkpoints;
	return ok == n ? 0 : EIO;
}

static void db_remove(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};

	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		char p[300];

		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

/* One configuration on a fresh database: rounds of n puts, turn per loop turn, at rate/s. */
static int bench(const char *path, bool full, unsigned n, unsigned turn, unsigned rate,
		 unsigned rounds, struct result *res)
{
	struct store_opts o = {.sync_full = full};
	struct loop *loop = NULL;
	struct store *st = NULL;
	int err;

	err = loop_alloc(&loop);
	if (!err)
		err = store_open_opts(&st, loop, path, &o);
	for (unsigned round = 0; round < rounds && !err; round++) {
		char wal[300];
		struct stat sb;
		struct store_stats s;

		err = run(st, loop, n, turn, round, rate, &res[round]);
		if (err)
			break;
		snprintf(wal, sizeof(wal), "%s-wal", path);
		res[round].wal_bytes = stat(wal, &sb) == 0 ? (long long)sb.st_size : -1;
		store_stats_get(st, &s);
		res[round].forced = s.forced_checkpoints;
	}
	store_close(st);
	loop_free(loop);
	db_remove(path);
	return err;
}

static void print_row(const char *sync, unsigned turn, const char *what, const struct result *r)
{
	printf("%-6s %-5u %-13s %10.0f %8llu %10llu %13llu %13llu %6llu %6llu %8lld\n", sync, turn,
	       what, r->puts_per_sec, (unsigned long long)r->commits,
	       (unsigned long long)r->p99_commit_us, (unsigned long long)r->worst_commit_us,
	       (unsigned long long)r->worst_turn_us, (unsigned long long)r->checkpoints,
	       (unsigned long long)r->forced, r->wal_bytes / 1024);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 10000;
	unsigned seconds = argc > 3 ? (unsigned)atoi(argv[3]) : 10;
	static const unsigned turns[] = {1, 10, 100, 1000};
	struct result headline = {0}, paced = {0};
	char path[256];
	int err = 0;

	log_set_level(LOG_WARN);
	snprintf(path, sizeof(path), "%s/bench-store-%d.db", dir, (int)getpid());
	printf("%-6s %-5s %-13s %10s %8s %10s %13s %13s %6s %6s %8s\n", "sync", "turn", "run",
	       "puts/s", "commits", "p99 commit", "worst commit", "worst turn", "ckpts", "forced",
	       "WAL KiB");
	printf("%-6s %-5s %-13s %10s %8s %10s %13s %13s\n", "", "", "", "", "", "us", "us", "us");
	/* Flat out: how much the store can take. */
	for (int full = 0; full <= 1 && !err; full++) {
		for (size_t t = 0; t < ARRAY_SIZE(turns) && !err; t++) {
			struct result res[2] = {{0}};

			err = bench(path, full, n, turns[t], 0, 2, res);
			if (err)
				break;
			print_row(full ? "FULL" : "NORMAL", turns[t], "insert", &res[0]);
			print_row(full ? "FULL" : "NORMAL", turns[t], "refresh", &res[1]);
			if (!full && turns[t] == 100)
				headline = res[1];
		}
	}
	/* Paced: 10,000 REGISTER/s arriving in turns of 100 (100 turns/s), for some seconds. */
	for (int full = 0; full <= 1 && !err; full++) {
		struct result res = {0};

		err = bench(path, full, 10000 * seconds, 100, 10000, 1, &res);
		if (err)
			break;
		print_row(full ? "FULL" : "NORMAL", 100, "10k/s paced", &res);
		if (!full)
			paced = res;
	}
	if (err) {
		fprintf(stderr, "bench_store: %s\n", strerror(err));
		return 1;
	}
	printf("store_reg_puts_per_sec %.0f\n", headline.puts_per_sec);
	printf("store_worst_commit_us %llu\n", (unsigned long long)headline.worst_commit_us);
	printf("store_paced_10k_p99_commit_us %llu\n", (unsigned long long)paced.p99_commit_us);
	printf("store_paced_10k_worst_commit_us %llu\n", (unsigned long long)paced.worst_commit_us);
	printf("store_paced_10k_worst_turn_us %llu\n", (unsigned long long)paced.worst_turn_us);
	return 0;
}
