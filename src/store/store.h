/* store: mikaka's persistent state in one SQLite file (WAL): registrations, call records and a
 * small key/value table, written in one transaction per loop turn (see docs/STORE.md). */
#ifndef MIKAKA_STORE_H
#define MIKAKA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

struct loop;
struct store;

/* Where the database lives when `mikakad -d` is not given. */
#define STORE_DEFAULT_PATH "/var/lib/mikaka/mikaka.db"
/* The schema version this build writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 4
/* Most writes one batch (loop turn) may queue; beyond it writes fail with ENOBUFS. */
#define STORE_BATCH_MAX 65536

/* Called once per write, after the batch holding it was committed (err 0) or abandoned (err EIO:
 * disk full, database locked past the busy timeout, I/O error; nothing of the batch is stored).
 * Runs from the loop's after-turn hook (or store_flush/store_close), in the order the writes
 * were queued. It may queue new writes (they go into the next batch) but must not call
 * store_close. */
typedef void(store_done_h)(int err, void *arg);

struct store_opts {
	/* synchronous=FULL: fsync the WAL on every commit, so a committed batch also survives power
	 * loss, at the price of one fsync per loop turn. Default (false) is synchronous=NORMAL,
	 * which survives any process crash including kill -9. */
	bool sync_full;
	/* How long a write waits for a lock held by another connection (e.g. an administrator's
	 * sqlite3 shell) before the batch fails; the loop is blocked meanwhile. 0: 250 ms. */
	unsigned busy_timeout_ms;
	/* Hold an exclusive lock (flock) on the file while open: a second daemon, or a restore,
	 * on the same file gets EBUSY. The daemon sets it. */
	bool lock;
};

/* Opens (creating it and its parent directories if missing) the database at path (NULL:
 * STORE_DEFAULT_PATH), brings its schema up to STORE_SCHEMA_VERSION and registers an after-turn
 * hook on loop that commits each turn's writes. loop may be NULL (tools): then writes are
 * committed by store_flush. Returns EPROTONOSUPPORT for a database written by a newer mikaka
 * (its schema version is higher than ours), EINVAL for a file that is not a mikaka database,
 * or an errno value from the file system. */
int store_open(struct store **sp, struct loop *loop, const char *path);
/* store_open with options (NULL: the defaults). */
int store_open_opts(struct store **sp, struct loop *loop, const char *path,
		    const struct store_opts *opts);
/* Commits what is queued (running its done callbacks) and closes the database. The loop has no
 * way to remove an after-turn hook, so call this only when the loop will not run another turn
 * (after loop_run returned for good, or after loop_free). NULL is accepted. */
void store_close(struct store *st);
/* Commits the current batch now and runs its done callbacks. The loop hook does this at the end
 * of every turn; call it directly when there is no loop. Returns the batch's error (0 or EIO). */
int store_flush(struct store *st);

struct store_stats {
	uint64_t writes;	     /* writes queued */
	uint64_t commits;	     /* batches committed */
	uint64_t failed;	     /* batches abandoned (their writes got EIO) */
	uint64_t last_commit_us;     /* duration of the last COMMIT */
	uint64_t max_commit_us;	     /* worst COMMIT so far */
	size_t queued;		     /* writes in the current, uncommitted batch */
	uint64_t checkpoints;	     /* WAL checkpoints run by the checkpointer thread */
	uint64_t forced_checkpoints; /* run on the loop because the WAL outgrew its bound */
};
void store_stats_get(const struct store *st, struct store_stats *stats);
/* Appends the store's Prometheus metrics (commit latency histogram, writes, failed batches). */
int store_metrics(const struct store *st, struct mbuf *out);
/* Heap held by SQLite (every connection: page caches, schemas, statements), bytes. */
size_t store_sqlite_memory(void);

/* ---------------------------------------------------------------------------------------------
 * Registrations: one row per (peer, contact). Strings are struct pl; an unset one (p == NULL)
 * is stored as NULL. On load, every pl points into SQLite's row buffer and is valid only during
 * the callback.
 */
struct store_reg {
	struct pl peer;	   /* the address-of-record / peer name ("801") */
	struct pl contact; /* the Contact URI as registered */
	struct sa source;  /* where the REGISTER came from (after NAT); unset: not stored */
	struct sa local; /* the local address it arrived on (replies and requests leave from it) */
	struct pl transport;  /* "udp", "tcp", "tls", "ws", "wss" */
	struct pl path;	      /* the Path header values, comma-separated (RFC 3327) */
	struct pl instance;   /* +sip.instance (RFC 5626) */
	uint32_t reg_id;      /* reg-id (RFC 5626), 0: none */
	struct pl user_agent; /* User-Agent */
	struct pl call_id;
	uint32_t cseq;
	int64_t expires;       /* absolute Unix time, seconds */
	int64_t registered_at; /* Unix time of the last successful REGISTER, seconds */
};

/* Called per row; a non-zero return stops the iteration and is returned by the caller. */
typedef int(store_reg_h)(const struct store_reg *r, void *arg);

/* Inserts or replaces the registration of (r->peer, r->contact). peer and contact are required
 * (EINVAL). The row is committed at the end of the loop turn, then done (may be NULL) is called:
 * answer the REGISTER from there, so that a 200 is never sent for a row that is not on disk.
 * A non-zero return (EINVAL, ENOBUFS) means nothing was queued and done will not be called. */
int store_reg_put(struct store *st, const struct store_reg *r, store_done_h *done, void *arg);
/* Deletes one contact of a peer (no error when absent). */
int store_reg_del(struct store *st, const struct pl *peer, const struct pl *contact,
		  store_done_h *done, void *arg);
/* Deletes every contact of a peer (REGISTER with "Contact: *", or a peer removed by reload). */
int store_reg_del_peer(struct store *st, const struct pl *peer, store_done_h *done, void *arg);
/* Deletes every registration whose expires <= now (Unix seconds). */
int store_reg_expire(struct store *st, int64_t now, store_done_h *done, void *arg);
/* At start: calls each for every registration still valid at now (expires > now), ordered by
 * peer then contact, and queues the deletion of the expired ones. Reads see this connection's
 * uncommitted writes too. */
int store_reg_load_all(struct store *st, int64_t now, store_reg_h *each, void *arg);

/* ---------------------------------------------------------------------------------------------
 * Call detail records, with Asterisk's Master.csv fields (cdr_csv).
 */
enum store_cdr_disp {
	STORE_CDR_ANSWERED = 0,
	STORE_CDR_NO_ANSWER,
	STORE_CDR_BUSY,
	STORE_CDR_FAILED,
};

struct store_cdr {
	int64_t id; /* set by store_cdr_list: the row id, increasing in insertion order */
	struct pl uniqueid;
	struct pl src;	      /* caller's number */
	struct pl dst;	      /* destination extension */
	struct pl dcontext;   /* destination context */
	struct pl clid;	      /* caller ID, "Name" <number> */
	struct pl channel;    /* calling channel */
	struct pl dstchannel; /* called channel */
	struct pl lastapp;    /* last dialplan application */
	struct pl lastdata;   /* its argument */
	int64_t start_ms;     /* Unix time in milliseconds; answer_ms 0: never answered */
	int64_t answer_ms;
	int64_t end_ms;
	int64_t duration; /* seconds from start to end */
	int64_t billsec;  /* seconds from answer to end */
	enum store_cdr_disp disposition;
	struct pl media; /* per-leg media statistics, JSON text (unset: none) */
	unsigned hangupcause; /* Q.850 cause the call ended with (16 normal, 17 busy, ...) */
	struct pl callid;     /* Call-ID of the calling leg's dialog */
	struct pl dstcallid;  /* Call-ID of the called leg's dialog (unset: none was placed) */
};

typedef int(store_cdr_h)(const struct store_cdr *c, void *arg);

/* A call record added without a done callback (the call engine's) is lazy: a batch holding only
 * such records commits at the end of its turn when the previous commit is STORE_LAZY_MS old or
 * more (always, at a household's call rate), else when that much time has passed since it, or at
 * STORE_LAZY_MAX records: at a high call rate many share one commit (a commit per call was a
 * lock, WAL writes and SQLite's commit path per call). Any other write joins the batch and
 * commits it at the end of its turn; store_close commits it too. Under load a crash can lose the
 * records of the last STORE_LAZY_MS; nothing that was reported committed. */
#define STORE_LAZY_MS  100
#define STORE_LAZY_MAX 256

/* Appends a record (committed at the end of the turn, then done; without done see
 * STORE_LAZY_MS). */
int store_cdr_add(struct store *st, const struct store_cdr *c, store_done_h *done, void *arg);
/* Calls each for up to limit records (0: all), newest (last added) first. */
int store_cdr_list(struct store *st, unsigned limit, store_cdr_h *each, void *arg);
/* "ANSWERED", "NO ANSWER", "BUSY", "FAILED" (Asterisk's words). */
const char *store_cdr_disp_name(enum store_cdr_disp d);

/* ---------------------------------------------------------------------------------------------
 * Key/value pairs (the line's DHCP lease and other small state).
 */

/* Sets key to value (bytes, may be empty); committed at the end of the turn, then done. */
int store_kv_set(struct store *st, const char *key, const struct pl *value, store_done_h *done,
		 void *arg);
/* Deletes key (no error when absent). */
int store_kv_del(struct store *st, const char *key, store_done_h *done, void *arg);
/* Appends key's value to mb; ENOENT when the key is absent. */
int store_kv_get(struct store *st, const char *key, struct mbuf *mb);
/* Calls each for every key starting with prefix (non-empty, ASCII) in the order the keys were
 * first written (rowid); key and value point into SQLite's row and live during the call. A
 * non-zero return stops it and is returned. */
typedef int(store_kv_h)(const struct pl *key, const struct pl *value, void *arg);
int store_kv_list(struct store *st, const char *prefix, store_kv_h *each, void *arg);

/* ---------------------------------------------------------------------------------------------
 * The voicemail index (src/vm): one row per message file. The spool's files are the truth; the
 * index is rewritten per box after every change and rebuilt at start.
 */
struct store_vm_msg {
	const char *context, *mailbox, *folder; /* "INBOX", "Old" */
	uint32_t msgnum;
	int64_t origtime; /* Unix seconds */
	uint32_t duration; /* seconds */
	const char *callerid;
};
int store_vm_put(struct store *st, const struct store_vm_msg *m, store_done_h *done, void *arg);
/* Deletes every row of a box (before its rows are written again). */
int store_vm_clear(struct store *st, const char *context, const char *mailbox, store_done_h *done,
		   void *arg);
/* Rows of one folder of a box (this connection's uncommitted writes included); -1: error. */
long store_vm_count(struct store *st, const char *context, const char *mailbox,
		    const char *folder);
/* Every row, newest first (origtime, then INBOX before Old, then the higher number); the row's
 * strings point into SQLite's row and live during the call. A non-zero return stops the walk
 * and is returned; the callback must not use the store. */
typedef int(store_vm_h)(const struct store_vm_msg *m, void *arg);
int store_vm_list(struct store *st, store_vm_h *each, void *arg);

/* ---------------------------------------------------------------------------------------------
 * Backup and restore (backup.c). why gets a one-line reason on failure.
 */

/* Commits what is queued, then copies the open database into path (absolute; it must not exist)
 * with SQLite's online backup API, as one self-contained file (rollback-journal mode, fsynced;
 * written beside path first, then linked into place, so a failure leaves no partial file).
 * Blocks the loop for the copy (a few ms per MiB). EEXIST, ENOSPC, EACCES, EIO... */
int store_backup(struct store *st, const char *path, char *why, size_t size);
/* Checks that path is a mikaka backup it is safe to restore: an SQLite header, not truncated,
 * not in WAL mode, mikaka's application_id and tables, a schema version this build knows
 * (EPROTONOSUPPORT when newer), PRAGMA integrity_check "ok". Writes nothing. EINVAL otherwise. */
int store_backup_check(const char *path, char *why, size_t size);
/* Replaces the database at path with the backup: checked first (store_backup_check); EBUSY when a
 * daemon holds path (store_opts.lock); a file at path that is not a mikaka database is refused.
 * The old contents are kept as path.before-restore; the copy is one transaction, so a failure
 * (disk full) leaves the database as it was. Run as root, the file is given to the owner of its
 * directory (the service user). */
int store_restore(const char *backup, const char *path, char *why, size_t size);

#endif /* MIKAKA_STORE_H */
