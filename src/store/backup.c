/* backup: copies of the database taken while the daemon runs (SQLite's online backup API on the
 * loop's connection), the checks a file must pass before it may replace a database, the restore
 * itself, and the lock that tells a restore the daemon is using a database. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

#define LOG_MODULE "store"

static const char store_magic[16] = "SQLite format 3";

int store_lock(const char *path, int *fdp)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return errno;
	/* flock, not fcntl: SQLite's own POSIX locks are not disturbed, and closing this descriptor
	 * is done only after SQLite has closed the file. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno == EWOULDBLOCK ? EBUSY : errno;

		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

/* Runs one integer-valued query; -1 on failure. */
static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* Copies all of src into the database of dst (both open), in one step. */
static int copy_db(sqlite3 *dst, sqlite3 *src, char *why, size_t size)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc;

	if (!b) {
		snprintf(why, size, "%s", sqlite3_errmsg(dst));
		return sqlite3_errcode(dst) == SQLITE_FULL ? ENOSPC : EIO;
	}
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(why, size, "%s", sqlite3_errstr(rc));
		return (rc & 0xff) == SQLITE_FULL ? ENOSPC : EIO;
	}
	return 0;
}

/* A freshly written copy: a single file (no -wal), fsynced. */
static int finish_copy(sqlite3 *db, char *why, size_t size)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, "PRAGMA journal_mode = DELETE", NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		snprintf(why, size, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return (rc & 0xff) == SQLITE_FULL ? ENOSPC : EIO;
	}
	return 0;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return errno;
	if (fsync(fd) < 0)
		err = errno;
	close(fd);
	return err;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int err;

	if (!copy)
		return ENOMEM;
	err = fsync_path(dirname(copy), O_RDONLY | O_DIRECTORY);
	free(copy);
	return err;
}

int store_backup(struct store *st, const char *path, char *why, size_t size)
{
	char tmp[4096];
	sqlite3 *dst = NULL;
	int rc, err;

	why[0] = '\0';
	if (!st || !path || path[0] != '/') {
		snprintf(why, size, "the backup file must be an absolute path");
		return EINVAL;
	}
	if (access(path, F_OK) == 0) {
		snprintf(why, size, "%s exists; it is not overwritten", path);
		return EEXIST;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()) >= sizeof(tmp)) {
		snprintf(why, size, "path too long");
		return ENAMETOOLONG;
	}
	/* What earlier turns queued is committed first: the copy holds what was answered. */
	store_flush(st);
	unlink(tmp);
	rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		int e = dst ? sqlite3_system_errno(dst) : 0;

		snprintf(why, size, "cannot create %s: %s", tmp, e ? strerror(e) : sqlite3_errstr(rc));
		sqlite3_close_v2(dst);
		unlink(tmp);
		return e ? e : EIO;
	}
	err = copy_db(dst, st->db, why, size);
	if (!err)
		err = finish_copy(dst, why, size);
	if (sqlite3_close_v2(dst) != SQLITE_OK && !err) {
		snprintf(why, size, "closing the copy failed");
		err = EIO;
	}
	if (!err)
		err = fsync_path(tmp, O_RDONLY);
	/* link() fails when path appeared meanwhile: an existing file is never replaced. */
	if (!err && link(tmp, path) < 0) {
		err = errno;
		snprintf(why, size, "%s: %s", path, strerror(err));
	}
	if (!err)
		fsync_dir_of(path);
	unlink(tmp);
	if (err && !why[0])
		snprintf(why, size, "%s", strerror(err));
	if (err)
		log_error("backup to %s failed: %s", path, why);
	else
		log_notice("database backed up to %s", path);
	return err;
}

int store_backup_check(const char *path, char *why, size_t size)
{
	unsigned char hdr[100];
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	struct stat sb;
	int64_t app, ver, tables;
	uint32_t pagesize, pages;
	char uri[4200];
	ssize_t n;
	int fd, rc, err = 0;

	why[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		snprintf(why, size, "%s: %s", path, strerror(err));
		return err;
	}
	n = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? read(fd, hdr, sizeof(hdr)) : -1;
	close(fd);
	if (n != (ssize_t)sizeof(hdr) || memcmp(hdr, store_magic, sizeof(store_magic)) != 0) {
		snprintf(why, size, "%s is not an SQLite database (no SQLite header)", path);
		return EINVAL;
	}
	pagesize = (uint32_t)hdr[16] << 8 | hdr[17];
	if (pagesize == 1)
		pagesize = 65536;
	pages = (uint32_t)hdr[28] << 24 | (uint32_t)hdr[29] << 16 | (uint32_t)hdr[30] << 8 | hdr[31];
	if (hdr[18] == 2 || hdr[19] == 2) {
		snprintf(why, size,
			 "%s is a database in WAL mode, not a backup made by 'mikaka backup' "
			 "(it may miss what its -wal file holds)",
			 path);
		return EINVAL;
	}
	/* Truncated: the header's page count (valid since SQLite 3.7.0) is past the end. */
	if (pagesize < 512 || (uint64_t)sb.st_size < (uint64_t)pages * pagesize ||
	    sb.st_size % pagesize) {
		snprintf(why, size, "%s is truncated or damaged (%lld bytes, header says %u pages of %u)",
			 path, (long long)sb.st_size, pages, pagesize);
		return EINVAL;
	}
	/* Read-only and immutable: nothing, not even a -journal, is written beside the file. */
	snprintf(uri, sizeof(uri), "file:%s?mode=ro&immutable=1", path);
	rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, size, "%s: %s", path, sqlite3_errstr(rc));
		err = EINVAL;
		goto out;
	}
	app = query_int(db, "PRAGMA application_id");
	ver = query_int(db, "PRAGMA user_version");
	tables = query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
			       "name IN ('reg', 'cdr', 'kv')");
	if (app != 0x4d4b4b41) {
		snprintf(why, size, "%s is an SQLite database, but not mikaka's (application_id %lld)",
			 path, (long long)app);
		err = EINVAL;
		goto out;
	}
	if (ver > STORE_SCHEMA_VERSION) {
		snprintf(why, size,
			 "%s has schema version %lld, newer than this mikaka's %d: restore it with "
			 "the mikaka that made it",
			 path, (long long)ver, STORE_SCHEMA_VERSION);
		err = EPROTONOSUPPORT;
		goto out;
	}
	if (ver < 1 || tables != 3) {
		snprintf(why, size, "%s lacks mikaka's tables (schema version %lld)", path,
			 (long long)ver);
		err = EINVAL;
		goto out;
	}
	rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(stmt, 0), "ok") != 0) {
		snprintf(why, size, "%s fails SQLite's integrity check: %s", path,
			 rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0)
					  : sqlite3_errmsg(db));
		err = EINVAL;
	}
out:
	sqlite3_finalize(stmt);
	sqlite3_close_v2(db);
	return err;
}

int store_restore(const char *backup, const char *path, char *why, size_t size)
{
	sqlite3 *src = NULL, *dst = NULL;
	char uri[4200], saved[4200];
	struct stat sb;
	bool existed;
	int lockfd = -1, rc, err;

	err = store_backup_check(backup, why, size);
	if (err)
		return err;
	existed = stat(path, &sb) == 0;
	err = store_mkdirs(path);
	if (err) {
		snprintf(why, size, "cannot create the directory of %s: %s", path, strerror(err));
		return err;
	}
	err = store_lock(path, &lockfd);
	if (err) {
		snprintf(why, size,
			 err == EBUSY ? "%s is in use by a running mikakad: stop it first"
				      : "%s: %s",
			 path, strerror(err));
		return err;
	}
	rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(dst, 1);
		/* The file we replace must be ours (or empty): another program's is left alone. */
		int64_t app = query_int(dst, "PRAGMA application_id");
		int64_t tables = query_int(dst, "SELECT count(*) FROM sqlite_master");

		if (app < 0 || (app != 0x4d4b4b41 && tables != 0)) {
			snprintf(why, size, "%s is not a mikaka database; it is not overwritten", path);
			err = EINVAL;
			goto out;
		}
		/* The old contents are kept beside it, as one file. */
		if (existed && tables > 0) {
			sqlite3 *keep = NULL;

			snprintf(saved, sizeof(saved), "%s.before-restore", path);
			unlink(saved);
			rc = sqlite3_open_v2(saved, &keep, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					     NULL);
			err = rc == SQLITE_OK ? copy_db(keep, dst, why, size) : EIO;
			if (!err)
				err = finish_copy(keep, why, size);
			sqlite3_close_v2(keep);
			if (err) {
				unlink(saved);
				goto out;
			}
		}
	} else {
		snprintf(why, size, "%s: %s", path, sqlite3_errmsg(dst));
		err = EIO;
		goto out;
	}
	snprintf(uri, sizeof(uri), "file:%s?mode=ro&immutable=1", backup);
	rc = sqlite3_open_v2(uri, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, size, "%s: %s", backup, sqlite3_errstr(rc));
		err = EIO;
		goto out;
	}
	/* One transaction in the database's own journal mode: on any failure (disk full) not a byte
	 * of the file changes. Only a page-size change (WAL cannot do it) goes through
	 * rollback-journal mode first. */
	err = copy_db(dst, src, why, size);
	if (err == EIO && query_int(dst, "PRAGMA page_size") != query_int(src, "PRAGMA page_size")) {
		err = finish_copy(dst, why, size);
		if (!err)
			err = copy_db(dst, src, why, size);
	}
out:
	sqlite3_close_v2(src);
	sqlite3_close_v2(dst);
	if (!err && geteuid() == 0) {
		/* Restored by root for a daemon that runs as its own user: the file goes to the
		 * owner of the directory it lives in. */
		char *copy = strdup(path);
		struct stat ds;

		if (copy && stat(dirname(copy), &ds) == 0 && chown(path, ds.st_uid, ds.st_gid) < 0)
			log_warn("chown %s: %s", path, strerror(errno));
		free(copy);
	}
	if (!err)
		fsync_path(path, O_RDONLY);
	else if (!existed)
		unlink(path);
	close(lockfd);
	return err;
}
