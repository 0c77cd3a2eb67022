/* store_int: the store's private parts shared by store.c (connection, schema, batching) and
 * records.c (registrations, call records, key/value), and visible to the unit tests. */
#ifndef MIKAKA_STORE_INT_H
#define MIKAKA_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "loop.h"
#include "store.h"

/* Every prepared statement, prepared once at open (SQLITE_PREPARE_PERSISTENT). */
enum store_stmt {
	STORE_BEGIN,
	STORE_COMMIT,
	STORE_ROLLBACK,
	STORE_REG_PUT,
	STORE_REG_UPDATE,
	STORE_REG_DEL,
	STORE_REG_DEL_PEER,
	STORE_REG_EXPIRE,
	STORE_REG_LOAD,
	STORE_CDR_ADD,
	STORE_CDR_LIST,
	STORE_KV_SET,
	STORE_KV_DEL,
	STORE_KV_GET,
	STORE_KV_LIST,
	STORE_VM_PUT,
	STORE_VM_CLEAR,
	STORE_VM_COUNT,
	STORE_VM_LIST,
	STORE_STMT_N,
};

struct store_op {
	store_done_h *done;
	void *arg;
};

struct store {
	sqlite3 *db;
	struct loop *loop;
	/* Armed (delay 0) when a batch starts, so the loop never sleeps on uncommitted writes:
	 * a write queued from a done callback or a later hook still gets a turn soon. */
	struct loop_timer kick;
	sqlite3_stmt *stmt[STORE_STMT_N];

	bool in_txn;	      /* BEGIN issued for the current batch */
	int batch_err;	      /* first failure of this batch: later writes fail fast, all get EIO */
	struct store_op *ops; /* the current batch's callbacks, in order */
	size_t nops;
	size_t cap;
	struct store_op *spare; /* the other array, swapped in while callbacks run */
	size_t spare_cap;
	bool flushing; /* running done callbacks */
	/* Every write of the current batch is lazy (store_write_begin_lazy): it may stay open
	 * until STORE_LAZY_MS after the last commit (last_flush, loop_now) or STORE_LAZY_MAX
	 * writes. */
	bool lazy_only;
	uint64_t last_flush;

	struct store_stats stats;
	struct histo commit_hist; /* COMMIT durations, seconds (store_metrics) */
	int lockfd; /* store_opts.lock: the flock held on the database file; -1: none */
	struct store_ckpt
	    *ckpt; /* the checkpointer thread (ckpt.c); NULL: SQLite's autocheckpoint */
};

/* Migration step i takes user_version from i to i + 1. */
struct store_migration {
	const char *sql;
};

/* Applies steps[from..target) each in its own transaction together with its user_version.
 * Returns EPROTONOSUPPORT when the database is newer than target, EIO when a step fails (that
 * step is rolled back; earlier ones stay). */
int store_migrate(sqlite3 *db, const struct store_migration *steps, size_t target);

/* The write path: reserves a callback slot and opens the batch's transaction when needed.
 * Returns ENOBUFS/ENOMEM (nothing queued) or 0; *stmtp is the statement to bind, or NULL when
 * the batch has already failed (the write is only queued, to get EIO). */
int store_write_begin(struct store *st, enum store_stmt which, sqlite3_stmt **stmtp);
/* The same for a write nobody waits for (store.h, STORE_LAZY_MS). */
int store_write_begin_lazy(struct store *st, enum store_stmt which, sqlite3_stmt **stmtp);
/* Steps the bound statement (if any) and queues done. Always "succeeds": a failure marks the
 * batch failed and surfaces through the callbacks. */
void store_write_end(struct store *st, sqlite3_stmt *stmt, store_done_h *done, void *arg);

/* Binds a pl as text (NULL when unset); the bytes must stay valid until the statement is
 * stepped. */
int store_bind_pl(sqlite3_stmt *stmt, int idx, const struct pl *pl);
/* A column as pl (unset when NULL); valid until the statement is stepped or reset. */
struct pl store_column_pl(sqlite3_stmt *stmt, int col);
/* Starts the checkpointer thread on its own connection to path and turns the loop connection's
 * automatic checkpoints off; on failure the caller keeps SQLite's automatic checkpoints. */
int store_ckpt_start(struct store *st, const char *path);
/* Stops and joins the thread; safe when none runs. */
void store_ckpt_stop(struct store *st);
/* After a commit: when the WAL has grown past its bound, checkpoints and truncates it on the
 * loop's connection (a stall, but a bounded file). */
void store_ckpt_valve(struct store *st);
/* Checkpoints the thread has run (tests). */
uint64_t store_ckpt_count(const struct store *st);

/* mkdir -p of path's directory part (mode 0750). */
int store_mkdirs(const char *path);
/* Takes an exclusive, non-blocking flock on path (created when missing); *fdp holds it until
 * closed. EBUSY: another process holds it. Close the descriptor only after SQLite has closed the
 * file: closing any descriptor of a file drops this process's POSIX (SQLite) locks on it. */
int store_lock(const char *path, int *fdp);

/* Logs SQLite's message for rc and returns the matching errno value. */
int store_sqlite_err(struct store *st, int rc, const char *what);

#define STORE_COMMIT_BOUNDS 10
extern const double store_commit_bounds[STORE_COMMIT_BOUNDS];

#endif /* MIKAKA_STORE_INT_H */
