/* ckpt: the WAL checkpointer thread. Copying the WAL back into the database needs fsync, which
 * takes milliseconds (far more on SD cards); done inside a commit it would stall the loop, so
 * the loop's connection never checkpoints and this thread does it on its own connection. */
#include <errno.h>
#include <stdlib.h>

#include "store_int.h"

#define LOG_MODULE "store"

/* Checkpoint each time the WAL has grown by this many pages (SQLite's own default threshold). */
#define STORE_CKPT_PAGES 1000
/* The safety valve: a WAL this long means the thread cannot keep up (a writer that never pauses
 * keeps the WAL from ever being fully copied, so it never restarts); the loop's connection then
 * checkpoints and truncates it itself, stalling once, so the file cannot grow without bound. */
#define STORE_WAL_MAX_PAGES 8000

struct store_ckpt {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool want; /* a checkpoint was asked for */
	bool stop;
	sqlite3 *db;
	uint64_t done; /* checkpoints run */

	/* Loop thread only: */
	int pages; /* WAL length after the last commit */
	int mark;  /* WAL length when the thread was last asked */
};

static void *store_ckpt_main(void *arg)
{
	struct store_ckpt *ck = arg;

	pthread_mutex_lock(&ck->mu);
	for (;;) {
		int log = 0, copied = 0, rc;

		while (!ck->want && !ck->stop)
			pthread_cond_wait(&ck->cv, &ck->mu);
		if (ck->stop)
			break;
		ck->want = false;
		pthread_mutex_unlock(&ck->mu);
		/* PASSIVE: never waits for the writer or readers; whatever cannot be copied now is
		 * copied next time. The writer keeps appending to the WAL meanwhile. */
		rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("checkpoint: %s", sqlite3_errmsg(ck->db));
		pthread_mutex_lock(&ck->mu);
		ck->done++;
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

/* Runs on the loop thread right after each commit of the loop's connection. */
static int store_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store_ckpt *ck = arg;

	(void)db;
	(void)name;
	if (pages < ck->mark) /* the WAL restarted from its beginning */
		ck->mark = 0;
	ck->pages = pages;
	if (pages < ck->mark + STORE_CKPT_PAGES)
		return SQLITE_OK;
	ck->mark = pages;
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
	int log = 0, copied = 0, rc;

	if (!st->ckpt || st->ckpt->pages < STORE_WAL_MAX_PAGES)
		return;
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &copied);
	if (rc == SQLITE_OK) {
		st->ckpt->pages = 0;
		st->ckpt->mark = 0;
		st->stats.forced_checkpoints++;
	} else {
		log_warn("forced checkpoint: %s", sqlite3_errmsg(st->db));
	}
}
