/* ckpt: the WAL checkpointer thread. Copying the WAL back into the database needs fsync, which
 * takes milliseconds (far more on SD cards); done inside a commit it would stall the loop, so
 * the loop's connection never checkpoints and this thread does it on its own connection. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "store_int.h"

#define LOG_MODULE "store"

/* Checkpoint each time the WAL has grown by this many pages (SQLite's own default threshold). */
#define STORE_CKPT_PAGES 1000
/* The safety valve: a WAL this long means the thread cannot keep up (a writer that never pauses
 * keeps the WAL from ever being fully copied, so it never restarts); the loop's connection then
 * checkpoints and truncates it itself, stalling once, so the file cannot grow without bound. */
#define STORE_WAL_MAX_PAGES 8000
/* Catch-up checkpoints per request (see store_ckpt_main). */
#define STORE_CKPT_ROUNDS 8
/* When a run could not copy everything, try again after this pause. */
#define STORE_CKPT_RETRY_MS 100
/* A WAL with uncopied frames is checkpointed at least this often while commits come. */
#define STORE_CKPT_IDLE_MS 1000

struct store_ckpt {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool want; /* a checkpoint was asked for */
	bool busy; /* a checkpoint runs (the thread's, or the loop's forced one) */
	bool stop;
	sqlite3 *db;
	uint64_t done; /* checkpoints run */

	/* Loop thread only: */
	int pages;	/* WAL length after the last commit */
	int mark;	/* WAL length when the thread was last asked */
	int valve_mark; /* no forced checkpoint before the WAL reaches this (after a failed one) */
	uint64_t asked_ms; /* monotonic time of the last request */
};

static void *store_ckpt_main(void *arg)
{
	struct store_ckpt *ck = arg;

	bool behind = false; /* the last run left frames uncopied */

	pthread_mutex_lock(&ck->mu);
	for (;;) {
		int log = 0, copied = 0, rc;

		/* Behind: come back after a pause even without a request, so a burst followed by
		 * silence still ends with the WAL fully copied (and restarted by the next write).
		 */
		while ((!(ck->want || behind) || ck->busy) && !ck->stop) {
			if (behind && !ck->busy) {
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += STORE_CKPT_RETRY_MS * 1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				if (pthread_cond_timedwait(&ck->cv, &ck->mu, &ts) == ETIMEDOUT)
					break;
			} else {
				pthread_cond_wait(&ck->cv, &ck->mu);
			}
		}
		if (ck->stop)
			break;
		if (ck->busy)
			continue;
		ck->want = false;
		ck->busy = true;
		pthread_mutex_unlock(&ck->mu);
		/* PASSIVE: never waits for the writer or readers. The writer keeps appending
		 * meanwhile, so go again for the frames that arrived during the run: only a WAL
		 * copied to its very end is restarted from the beginning by the next write (else it
		 * grows forever). Each round has fewer frames to copy, so this converges unless the
		 * writer never pauses (then the valve below bounds the file). */
		for (int round = 0; round < STORE_CKPT_ROUNDS; round++) {
			rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
						       &log, &copied);
			if (rc != SQLITE_OK && rc != SQLITE_BUSY)
				log_warn("checkpoint: %s", sqlite3_errmsg(ck->db));
			if (rc != SQLITE_OK || copied >= log)
				break;
		}
		behind = rc == SQLITE_BUSY || (rc == SQLITE_OK && copied < log);
		pthread_mutex_lock(&ck->mu);
		ck->busy = false;
		ck->done++;
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

/* Runs on the loop thread right after each commit of the loop's connection. */
static int store_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store_ckpt *ck = arg;
	struct timespec now;
	uint64_t now_ms;

	(void)db;
	(void)name;
	if (pages < ck->pages) { /* the WAL restarted from its beginning */
		ck->mark = 0;
		ck->valve_mark = 0;
	}
	ck->pages = pages;
	clock_gettime(CLOCK_MONOTONIC, &now);
	now_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
	/* Every STORE_CKPT_PAGES new pages, and at most once a second for a trickle: frames
	 * committed after the thread's last run would otherwise wait for a thousand more. */
	if (pages < ck->mark + STORE_CKPT_PAGES &&
	    (pages == ck->mark || now_ms - ck->asked_ms < STORE_CKPT_IDLE_MS))
		return SQLITE_OK;
	ck->mark = pages;
	ck->asked_ms = now_ms;
	pthread_mutex_lock(&ck->mu);
	ck->want = true;
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	return SQLITE_OK;
}

int store_ckpt_start(struct store *st, const char *path)
{
	struct store_ckpt *ck = calloc(1, sizeof(*ck));
	int rc, err;

	if (!ck)
		return ENOMEM;
	rc = sqlite3_open_v2(path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = store_sqlite_err(NULL, rc, "checkpointer");
		goto fail;
	}
	/* A fresh connection checkpoints nothing (log -1) until it has read the header and
	 * found the file in WAL mode. */
	rc = sqlite3_exec(ck->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = store_sqlite_err(NULL, rc, "checkpointer");
		goto fail;
	}
	pthread_mutex_init(&ck->mu, NULL);
	pthread_cond_init(&ck->cv, NULL);
	err = pthread_create(&ck->thread, NULL, store_ckpt_main, ck);
	if (err) {
		pthread_cond_destroy(&ck->cv);
		pthread_mutex_destroy(&ck->mu);
		goto fail;
	}
	/* The loop's connection stops checkpointing by itself only once the thread is there. */
	sqlite3_wal_hook(st->db, store_wal_hook, ck);
	st->ckpt = ck;
	return 0;

fail:
	sqlite3_close_v2(ck->db);
	free(ck);
	return err;
}

void store_ckpt_stop(struct store *st)
{
	struct store_ckpt *ck = st->ckpt;

	if (!ck)
		return;
	sqlite3_wal_hook(st->db, NULL, NULL);
	pthread_mutex_lock(&ck->mu);
	ck->stop = true;
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	pthread_join(ck->thread, NULL);
	pthread_cond_destroy(&ck->cv);
	pthread_mutex_destroy(&ck->mu);
	sqlite3_close_v2(ck->db);
	free(ck);
	st->ckpt = NULL;
}

uint64_t store_ckpt_count(const struct store *st)
{
	uint64_t n;

	if (!st->ckpt)
		return 0;
	pthread_mutex_lock(&st->ckpt->mu);
	n = st->ckpt->done;
	pthread_mutex_unlock(&st->ckpt->mu);
	return n;
}

void store_ckpt_valve(struct store *st)
{
	struct store_ckpt *ck = st->ckpt;
	int log = 0, copied = 0, rc;

	if (!ck || ck->pages < STORE_WAL_MAX_PAGES || ck->pages < ck->valve_mark)
		return;
	/* Never wait for the thread: if it is copying, it is making progress; try next commit. */
	pthread_mutex_lock(&ck->mu);
	if (ck->busy) {
		pthread_mutex_unlock(&ck->mu);
		return;
	}
	ck->busy = true;
	pthread_mutex_unlock(&ck->mu);
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &copied);
	pthread_mutex_lock(&ck->mu);
	ck->busy = false;
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	if (rc == SQLITE_OK) {
		ck->pages = 0;
		ck->mark = 0;
		ck->valve_mark = 0;
		st->stats.forced_checkpoints++;
	} else {
		ck->valve_mark = ck->pages + STORE_CKPT_PAGES;
		log_warn("forced checkpoint: %s", sqlite3_errmsg(st->db));
	}
}
