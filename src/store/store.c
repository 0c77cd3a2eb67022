/* store: the SQLite connection, its schema migrations and the write batch committed once per
 * loop turn (docs/STORE.md explains why this is crash-safe). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

#define LOG_MODULE "store"

#define STORE_BUSY_DEFAULT_MS 250
/* 'MKKA': marks the file as ours, so another program's database is refused, not migrated. */
#define STORE_APP_ID 0x4d4b4b41
/* Callback arrays bigger than this after a burst are freed rather than kept. */
#define STORE_KEEP_CAP 4096
/* The loop connection's page cache limit (KiB; SQLite's default is 2,000). Call records are
 * appended at the end of the cdr table and never read back by the daemon, so under a steady
 * call load the default cache filled with their pages: 2.2 MB of an 18 MB heap at 200 calls/s
 * (docs/BENCHMARKS.md, Memory under load). Pages beyond it are read back from the OS page
 * cache when needed. */
#define STORE_CACHE_KIB 256
/* The WAL is truncated back to this size after a checkpoint (bytes). */
#define STORE_WAL_LIMIT 4194304
#define STORE_XSTR(x)	#x
#define STORE_STR(x)	STORE_XSTR(x)

/* The schema, one step per version. Never edit a released step: append a new one. */
static const struct store_migration store_schema[STORE_SCHEMA_VERSION] = {
    {"PRAGMA application_id = 1296780097;" /* STORE_APP_ID */
     "CREATE TABLE reg ("
     " peer TEXT NOT NULL,"
     " contact TEXT NOT NULL,"
     " src_ip TEXT, src_port INTEGER,"
     " local_ip TEXT, local_port INTEGER,"
     " transport TEXT, path TEXT, instance TEXT, reg_id INTEGER NOT NULL DEFAULT 0,"
     " user_agent TEXT, call_id TEXT, cseq INTEGER NOT NULL DEFAULT 0,"
     " expires INTEGER NOT NULL, registered_at INTEGER NOT NULL,"
     " PRIMARY KEY (peer, contact));"
     "CREATE INDEX reg_expires ON reg (expires);"
     "CREATE TABLE cdr ("
     " id INTEGER PRIMARY KEY,"
     " uniqueid TEXT, src TEXT, dst TEXT, dcontext TEXT, clid TEXT,"
     " channel TEXT, dstchannel TEXT, lastapp TEXT, lastdata TEXT,"
     " start_ms INTEGER NOT NULL DEFAULT 0, answer_ms INTEGER NOT NULL DEFAULT 0,"
     " end_ms INTEGER NOT NULL DEFAULT 0, duration INTEGER NOT NULL DEFAULT 0,"
     " billsec INTEGER NOT NULL DEFAULT 0, disposition TEXT NOT NULL, media TEXT);"
     "CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);"},
    /* 2: the hang-up cause and both legs' Call-IDs as columns (they were only in media). */
    {"ALTER TABLE cdr ADD COLUMN hangupcause INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE cdr ADD COLUMN callid TEXT;"
     "ALTER TABLE cdr ADD COLUMN dstcallid TEXT;"},
    /* 3: the voicemail index (src/vm; rebuilt from the spool's files at every start). */
    {"CREATE TABLE vm_msg ("
     " context TEXT NOT NULL, mailbox TEXT NOT NULL, folder TEXT NOT NULL,"
     " msgnum INTEGER NOT NULL, origtime INTEGER NOT NULL DEFAULT 0,"
     " duration INTEGER NOT NULL DEFAULT 0, callerid TEXT,"
     " PRIMARY KEY (context, mailbox, folder, msgnum));"},
    /* 4: reg as one b-tree keyed by (peer, contact) (WITHOUT ROWID), without the expires
     * index. Every refresh is an upsert by that key: with a rowid table it searched the
     * primary-key index, then the table, and moved the row's entry in reg_expires (the
     * expiry changes at each refresh), three b-trees and their pages in the commit; now one.
     * reg_expires served only the start-up purge, which reads the whole table anyway. Every
     * row is copied. */
    {"CREATE TABLE reg_new ("
     " peer TEXT NOT NULL,"
     " contact TEXT NOT NULL,"
     " src_ip TEXT, src_port INTEGER,"
     " local_ip TEXT, local_port INTEGER,"
     " transport TEXT, path TEXT, instance TEXT, reg_id INTEGER NOT NULL DEFAULT 0,"
     " user_agent TEXT, call_id TEXT, cseq INTEGER NOT NULL DEFAULT 0,"
     " expires INTEGER NOT NULL, registered_at INTEGER NOT NULL,"
     " PRIMARY KEY (peer, contact)) WITHOUT ROWID;"
     "INSERT INTO reg_new (peer, contact, src_ip, src_port, local_ip, local_port, transport,"
     " path, instance, reg_id, user_agent, call_id, cseq, expires, registered_at)"
     " SELECT peer, contact, src_ip, src_port, local_ip, local_port, transport, path,"
     " instance, reg_id, user_agent, call_id, cseq, expires, registered_at FROM reg;"
     "DROP TABLE reg;"
     "ALTER TABLE reg_new RENAME TO reg;"},
};

static const char *const store_sql[STORE_STMT_N] = {
    [STORE_BEGIN] = "BEGIN IMMEDIATE",
    [STORE_COMMIT] = "COMMIT",
    [STORE_ROLLBACK] = "ROLLBACK",
    /* store_reg_put: STORE_REG_UPDATE first (a refresh, nearly every registration: one search
     * of reg's b-tree), this upsert only when no row had the key (a new binding). Not INSERT
     * OR REPLACE: that deletes the row and inserts it again (about twice the pages written per
     * commit). */
    [STORE_REG_PUT] = "INSERT INTO reg (peer, contact, src_ip, src_port, local_ip,"
		      " local_port, transport, path, instance, reg_id, user_agent, call_id,"
		      " cseq, expires, registered_at)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
		      " ON CONFLICT (peer, contact) DO UPDATE SET src_ip = excluded.src_ip,"
		      " src_port = excluded.src_port, local_ip = excluded.local_ip,"
		      " local_port = excluded.local_port, transport = excluded.transport,"
		      " path = excluded.path, instance = excluded.instance,"
		      " reg_id = excluded.reg_id, user_agent = excluded.user_agent,"
		      " call_id = excluded.call_id, cseq = excluded.cseq,"
		      " expires = excluded.expires, registered_at = excluded.registered_at",
    [STORE_REG_UPDATE] = "UPDATE reg SET src_ip = ?3, src_port = ?4, local_ip = ?5,"
			 " local_port = ?6, transport = ?7, path = ?8, instance = ?9, reg_id = ?10,"
			 " user_agent = ?11, call_id = ?12, cseq = ?13, expires = ?14,"
			 " registered_at = ?15 WHERE peer = ?1 AND contact = ?2",
    [STORE_REG_DEL] = "DELETE FROM reg WHERE peer = ?1 AND contact = ?2",
    [STORE_REG_DEL_PEER] = "DELETE FROM reg WHERE peer = ?1",
    [STORE_REG_EXPIRE] = "DELETE FROM reg WHERE expires <= ?1",
    [STORE_REG_LOAD] = "SELECT peer, contact, src_ip, src_port, local_ip, local_port, transport,"
		       " path, instance, reg_id, user_agent, call_id, cseq, expires,"
		       " registered_at FROM reg WHERE expires > ?1 ORDER BY peer, contact",
    [STORE_CDR_ADD] = "INSERT INTO cdr (uniqueid, src, dst, dcontext, clid, channel, dstchannel,"
		      " lastapp, lastdata, start_ms, answer_ms, end_ms, duration, billsec,"
		      " disposition, media, hangupcause, callid, dstcallid)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
		      " ?16, ?17, ?18, ?19)",
    [STORE_CDR_LIST] = "SELECT id, uniqueid, src, dst, dcontext, clid, channel, dstchannel,"
		       " lastapp, lastdata, start_ms, answer_ms, end_ms, duration, billsec,"
		       " disposition, media, hangupcause, callid, dstcallid"
		       " FROM cdr ORDER BY id DESC LIMIT ?1",
    [STORE_KV_SET] = "INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)",
    [STORE_KV_DEL] = "DELETE FROM kv WHERE key = ?1",
    [STORE_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
    [STORE_KV_LIST] = "SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY rowid",
    [STORE_VM_PUT] = "INSERT OR REPLACE INTO vm_msg (context, mailbox, folder, msgnum, origtime,"
		     " duration, callerid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STORE_VM_CLEAR] = "DELETE FROM vm_msg WHERE context = ?1 AND mailbox = ?2",
    [STORE_VM_COUNT] = "SELECT count(*) FROM vm_msg WHERE context = ?1 AND mailbox = ?2"
		       " AND folder = ?3",
    [STORE_VM_LIST] = "SELECT context, mailbox, folder, msgnum, origtime, duration, callerid"
		      " FROM vm_msg ORDER BY origtime DESC, folder ASC, msgnum DESC",
};

static uint64_t store_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int store_sqlite_err(struct store *st, int rc, const char *what)
{
	sqlite3 *db = st ? st->db : NULL;

	log_error("%s: %s (%d)", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return ENOMEM;
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return EINVAL;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY: {
		int e = db ? sqlite3_system_errno(db) : 0;

		return e ? e : EACCES;
	}
	default:
		return EIO;
	}
}

int store_bind_pl(sqlite3_stmt *stmt, int idx, const struct pl *pl)
{
	if (!pl || !pl->p)
		return sqlite3_bind_null(stmt, idx);
	/* The statement is stepped before the caller's bytes go away, so no copy is needed. */
	return sqlite3_bind_text64(stmt, idx, pl->p, pl->l, SQLITE_STATIC, SQLITE_UTF8);
}

struct pl store_column_pl(sqlite3_stmt *stmt, int col)
{
	const unsigned char *p = sqlite3_column_text(stmt, col);

	if (!p)
		return (struct pl)PL_INIT;
	return pl_from((const char *)p, (size_t)sqlite3_column_bytes(stmt, col));
}

/* ---------------------------------------------------------------------------------------------
 * Opening: directories, pragmas, schema
 */

/* mkdir -p of path's directory part. */
int store_mkdirs(const char *path)
{
	char *dir = strdup(path);
	char *slash;
	int err = 0;

	if (!dir)
		return ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		goto out;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			err = errno;
			goto out;
		}
		*p = '/';
	}
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		err = errno;
out:
	if (err)
		log_error("cannot create the directory of %s: %s", path, strerror(err));
	free(dir);
	return err;
}

static int store_pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(stmt, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int store_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		log_error("%.60s...: %s", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

int store_migrate(sqlite3 *db, const struct store_migration *steps, size_t target)
{
	int64_t version = 0;
	char sql[64];
	int rc;

	rc = store_pragma_int(db, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK)
		return store_sqlite_err(NULL, rc, "reading the schema version");
	if (version < 0 || (uint64_t)version > target) {
		log_error("the database has schema version %lld, newer than this mikaka's %zu: "
			  "refusing to use it (upgrade mikaka, or move the file away)",
			  (long long)version, target);
		return EPROTONOSUPPORT;
	}
	for (size_t v = (size_t)version; v < target; v++) {
		/* IMMEDIATE, and the version read again inside: a second process opening the same
		 * file at the same moment waits, then finds the step done. */
		rc = store_exec(db, "BEGIN IMMEDIATE");
		if (rc != SQLITE_OK)
			return EIO;
		rc = store_pragma_int(db, "PRAGMA user_version", &version);
		if (rc == SQLITE_OK && (uint64_t)version > v) {
			store_exec(db, "COMMIT");
			continue;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", v + 1);
		if (rc != SQLITE_OK || store_exec(db, steps[v].sql) != SQLITE_OK ||
		    store_exec(db, sql) != SQLITE_OK || store_exec(db, "COMMIT") != SQLITE_OK) {
			log_error("schema migration to version %zu failed", v + 1);
			store_exec(db, "ROLLBACK");
			return EIO;
		}
		log_info("database schema migrated to version %zu", v + 1);
	}
	return 0;
}

/* Refuses a file that holds somebody else's tables: user_version 0 with tables, or a foreign
 * application_id. */
static int store_check_owner(sqlite3 *db, const char *path)
{
	int64_t app = 0, version = 0, tables = 0;
	int rc;

	rc = store_pragma_int(db, "PRAGMA application_id", &app);
	if (rc == SQLITE_OK)
		rc = store_pragma_int(db, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = store_pragma_int(db, "SELECT count(*) FROM sqlite_master", &tables);
	if (rc != SQLITE_OK)
		return store_sqlite_err(NULL, rc, path);
	/* Newer than this build: refused here, before journal_mode or anything else is written. */
	if (app == STORE_APP_ID && version > STORE_SCHEMA_VERSION) {
		log_error("the database has schema version %lld, newer than this mikaka's %d: "
			  "refusing to use it (upgrade mikaka, or move the file away); it was not "
			  "changed",
			  (long long)version, STORE_SCHEMA_VERSION);
		return EPROTONOSUPPORT;
	}
	if (app == STORE_APP_ID || (app == 0 && version == 0 && tables == 0))
		return 0;
	log_error("%s is not a mikaka database (application_id %lld)", path, (long long)app);
	return EINVAL;
}

static void store_kick(void *arg);

/* The after-turn hook: one commit per loop turn (see store.h), except for a batch of lazy
 * writes less than STORE_LAZY_MS after the previous commit: the kick timer brings the turn that
 * commits it. At a household's call rate the previous commit is long past and a record commits
 * at the end of its turn; only under load do records wait and share commits. */
static uint64_t lazy_wait(const struct store *st)
{
	uint64_t since = loop_now(st->loop) - st->last_flush;

	return since < STORE_LAZY_MS ? STORE_LAZY_MS - since : 0;
}

static void store_after(void *arg)
{
	struct store *st = arg;

	if (st->lazy_only && st->nops && st->nops < STORE_LAZY_MAX && st->loop && !st->batch_err) {
		uint64_t wait;

		/* Armed and not fired yet: still waiting, and its turn commits (no clock read: this
		 * runs every turn while records wait, several times a call under load). */
		if (loop_timer_active(&st->kick))
			return;
		wait = lazy_wait(st);
		if (wait) {
			loop_timer_start(st->loop, &st->kick, wait, store_kick, st);
			return;
		}
	}
	store_flush(st);
}

static void store_kick(void *arg)
{
	/* Nothing to do: being due made the loop take a turn instead of sleeping, and the turn's
	 * after-hook commits. */
	(void)arg;
}

/* SQLite's page cache starts each connection with a bulk allocation of 20 pages (about 87 KB,
 * SQLITE_DEFAULT_PCACHE_INITSZ) whether the pages are ever used or not: two connections (the
 * loop's and the checkpointer's) made that 174 KB of an idle daemon's 300 KB of heap. Without
 * it, pages are allocated one by one as they are read; the cache limit (cache_size) is
 * unchanged. Must come before SQLite initialises; later it fails harmlessly (SQLITE_MISUSE). */
static void store_sqlite_config(void)
{
	static bool done;

	if (!done) {
		done = true;
		sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	}
}

size_t store_sqlite_memory(void)
{
	return (size_t)sqlite3_memory_used();
}

int store_open_opts(struct store **sp, struct loop *loop, const char *path,
		    const struct store_opts *opts)
{
	unsigned busy =
	    opts && opts->busy_timeout_ms ? opts->busy_timeout_ms : STORE_BUSY_DEFAULT_MS;
	char mode[16] = "";
	struct store *st;
	sqlite3_stmt *stmt;
	int rc, err;

	if (!sp)
		return EINVAL;
	if (!path)
		path = STORE_DEFAULT_PATH;
	st = calloc(1, sizeof(*st));
	if (!st)
		return ENOMEM;
	st->lockfd = -1;
	err = store_mkdirs(path);
	if (err)
		goto fail;
	if (opts && opts->lock) {
		err = store_lock(path, &st->lockfd);
		if (err) {
			log_error(err == EBUSY ? "%s is in use by another mikakad"
					       : "%s: %s",
				  path, strerror(err));
			goto fail;
		}
	}
	store_sqlite_config();
	rc = sqlite3_open_v2(
	    path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = store_sqlite_err(st, rc, path);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, (int)busy);

	/* Before anything is changed: another program's file is left exactly as it was. */
	err = store_check_owner(st->db, path);
	if (err)
		goto fail;
	/* WAL: a commit appends to the -wal file and never rewrites the database in place, so a
	 * process killed mid-commit leaves the last committed state readable. */
	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			const unsigned char *m = sqlite3_column_text(stmt, 0);

			snprintf(mode, sizeof(mode), "%s", m ? (const char *)m : "");
			rc = SQLITE_OK;
		}
		sqlite3_finalize(stmt);
	}
	if (rc != SQLITE_OK) {
		err = store_sqlite_err(st, rc, path);
		goto fail;
	}
	if (strcmp(mode, "wal") != 0) {
		log_error("%s: cannot use WAL journaling (got \"%s\")", path, mode);
		err = EIO;
		goto fail;
	}
	if (store_exec(st->db, opts && opts->sync_full
				   ? "PRAGMA synchronous = FULL"
				   : "PRAGMA synchronous = NORMAL") != SQLITE_OK ||
	    store_exec(st->db, "PRAGMA foreign_keys = ON") != SQLITE_OK ||
	    store_exec(st->db, "PRAGMA cache_size = -" STORE_STR(STORE_CACHE_KIB)) != SQLITE_OK ||
	    store_exec(st->db, "PRAGMA journal_size_limit = " STORE_STR(STORE_WAL_LIMIT)) !=
		SQLITE_OK) {
		err = EIO;
		goto fail;
	}
	err = store_migrate(st->db, store_schema, ARRAY_SIZE(store_schema));
	if (err)
		goto fail;

	for (size_t i = 0; i < STORE_STMT_N; i++) {
		rc = sqlite3_prepare_v3(st->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			err = store_sqlite_err(st, rc, store_sql[i]);
			goto fail;
		}
	}
	/* The thread only exists with a loop to protect; a tool without one lets SQLite
	 * checkpoint inside its commits. */
	if (loop && store_ckpt_start(st, path) != 0)
		log_warn("no checkpointer thread: commits will checkpoint themselves");
	if (loop) {
		err = loop_after_add(loop, store_after, st);
		if (err)
			goto fail;
		st->loop = loop;
	}
	loop_timer_init(&st->kick);
	*sp = st;
	return 0;

fail:
	store_ckpt_stop(st);
	for (size_t i = 0; i < STORE_STMT_N; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close_v2(st->db);
	if (st->lockfd >= 0)
		close(st->lockfd);
	free(st);
	return err;
}

int store_open(struct store **sp, struct loop *loop, const char *path)
{
	return store_open_opts(sp, loop, path, NULL);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	store_flush(st);
	loop_timer_cancel(&st->kick);
	if (st->loop)
		loop_after_remove(st->loop, store_after, st);
	store_ckpt_stop(st);
	for (size_t i = 0; i < STORE_STMT_N; i++)
		sqlite3_finalize(st->stmt[i]);
	/* The last connection to close checkpoints the WAL into the database and removes it. */
	if (sqlite3_close_v2(st->db) != SQLITE_OK)
		log_warn("close: %s", sqlite3_errmsg(st->db));
	if (st->lockfd >= 0) /* after SQLite has closed the file (see store_lock) */
		close(st->lockfd);
	free(st->ops);
	free(st->spare);
	free(st);
}

const double store_commit_bounds[STORE_COMMIT_BOUNDS] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
							  0.025,  0.05,	 0.1,	 0.25,	1};

int store_metrics(const struct store *st, struct mbuf *out)
{
	struct store_stats s = {0};
	int err;

	store_stats_get(st, &s);
	err = histo_write(out, "mikaka_store_commit_seconds",
			  "Time the state database took to commit a batch of writes (one per loop "
			  "turn with writes), checkpoint valve included.",
			  st ? &st->commit_hist : NULL, store_commit_bounds, STORE_COMMIT_BOUNDS);
	err |= mbuf_printf(out,
			   "# HELP mikaka_store_writes_total Writes queued to the state database.\n"
			   "# TYPE mikaka_store_writes_total counter\n"
			   "mikaka_store_writes_total %llu\n"
			   "# HELP mikaka_store_failed_batches_total Batches of writes that could not "
			   "be committed.\n"
			   "# TYPE mikaka_store_failed_batches_total counter\n"
			   "mikaka_store_failed_batches_total %llu\n",
			   (unsigned long long)s.writes, (unsigned long long)s.failed);
	return err ? ENOMEM : 0;
}

void store_stats_get(const struct store *st, struct store_stats *stats)
{
	if (!st || !stats)
		return;
	*stats = st->stats;
	stats->queued = st->nops;
	stats->checkpoints = store_ckpt_count(st);
}

/* ---------------------------------------------------------------------------------------------
 * The batch
 */

static int store_step_reset(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	return rc;
}

static int write_begin(struct store *st, enum store_stmt which, sqlite3_stmt **stmtp, bool lazy)
{
	int rc;

	if (st->nops >= STORE_BATCH_MAX)
		return ENOBUFS;
	if (st->nops == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct store_op *ops = realloc(st->ops, cap * sizeof(*ops));

		if (!ops)
			return ENOMEM;
		st->ops = ops;
		st->cap = cap;
	}
	if (!st->batch_err && !st->in_txn) {
		/* IMMEDIATE takes the write lock now: a lock held elsewhere is waited for (busy
		 * timeout) once here, not discovered at COMMIT. */
		rc = store_step_reset(st->stmt[STORE_BEGIN]);
		if (rc == SQLITE_DONE)
			st->in_txn = true;
		else
			st->batch_err = store_sqlite_err(st, rc, "begin");
	}
	if (st->nops == 0)
		st->lazy_only = true;
	if (st->loop) {
		if (!lazy && st->lazy_only) {
			/* A lazy batch's kick may be armed for the end of its window: this write
			 * must not wait for it. */
			st->lazy_only = false;
			loop_timer_start(st->loop, &st->kick, 0, store_kick, st);
		} else if (!loop_timer_active(&st->kick)) {
			loop_timer_start(st->loop, &st->kick,
					 st->lazy_only && lazy ? lazy_wait(st) : 0, store_kick, st);
		}
	}
	st->lazy_only = st->lazy_only && lazy;
	*stmtp = st->batch_err ? NULL : st->stmt[which];
	return 0;
}

int store_write_begin(struct store *st, enum store_stmt which, sqlite3_stmt **stmtp)
{
	return write_begin(st, which, stmtp, false);
}

int store_write_begin_lazy(struct store *st, enum store_stmt which, sqlite3_stmt **stmtp)
{
	return write_begin(st, which, stmtp, true);
}

void store_write_end(struct store *st, sqlite3_stmt *stmt, store_done_h *done, void *arg)
{
	if (stmt) {
		int rc = store_step_reset(stmt);

		sqlite3_clear_bindings(stmt);
		if (rc != SQLITE_DONE && !st->batch_err)
			st->batch_err = store_sqlite_err(st, rc, "write");
	}
	st->ops[st->nops].done = done;
	st->ops[st->nops].arg = arg;
	st->nops++;
	st->stats.writes++;
}

int store_flush(struct store *st)
{
	struct store_op *ops;
	size_t n, cap;
	int err;

	if (!st)
		return EINVAL;
	if (!st->nops && !st->in_txn)
		return 0;
	/* A done callback that calls us would find the arrays swapped: refuse it. */
	if (st->flushing)
		return EBUSY;
	err = st->batch_err;
	if (st->in_txn) {
		if (!err) {
			uint64_t t0 = store_now_us();
			int rc = store_step_reset(st->stmt[STORE_COMMIT]);
			uint64_t dt;

			if (rc == SQLITE_DONE)
				store_ckpt_valve(st);
			dt = store_now_us() - t0;
			if (rc == SQLITE_DONE) {
				st->stats.commits++;
				st->stats.last_commit_us = dt;
				st->stats.max_commit_us = MAX(st->stats.max_commit_us, dt);
				histo_observe(&st->commit_hist, store_commit_bounds,
					      STORE_COMMIT_BOUNDS, (double)dt / 1e6);
			} else {
				err = store_sqlite_err(st, rc, "commit");
			}
		}
		/* After some errors SQLite has already rolled back; a second ROLLBACK would fail.
		 */
		if (err && !sqlite3_get_autocommit(st->db))
			store_step_reset(st->stmt[STORE_ROLLBACK]);
		st->in_txn = false;
	}
	if (st->loop)
		st->last_flush = loop_now(st->loop);
	if (err) {
		st->stats.failed++;
		err = EIO;
		log_warn("%zu write(s) not stored", st->nops);
	}

	/* Callbacks may queue writes for the next batch: give them the spare array. */
	ops = st->ops;
	n = st->nops;
	cap = st->cap;
	st->ops = st->spare;
	st->cap = st->spare_cap;
	st->nops = 0;
	st->batch_err = 0;
	st->spare = NULL;
	st->spare_cap = 0;
	st->flushing = true;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].done)
			ops[i].done(err, ops[i].arg);
	}
	if (cap > STORE_KEEP_CAP) {
		free(ops);
		ops = NULL;
		cap = 0;
	}
	st->spare = ops;
	st->spare_cap = cap;
	st->flushing = false;
	return err;
}
