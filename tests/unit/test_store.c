/* Unit tests for the store: schema and migrations, registrations, call records, key/value, the
 * per-turn batch (one transaction, callbacks after the commit, in order) and its failure path. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "loop.h"
#include "store.h"
#include "store_int.h"

#define NOW 1700000000

struct fx {
	char dir[64];
	char path[128];
	struct loop *loop;
	struct store *st;
};

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/mikaka-store.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	/* Two missing levels: store_open must create them. */
	snprintf(fx->path, sizeof(fx->path), "%s/a/b/mikaka.db", fx->dir);
	assert_int_equal(loop_alloc(&fx->loop), 0);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	store_close(fx->st);
	loop_free(fx->loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static void fx_open(struct fx *fx)
{
	assert_int_equal(store_open(&fx->st, fx->loop, fx->path), 0);
	assert_non_null(fx->st);
}

static void fx_reopen(struct fx *fx)
{
	store_close(fx->st);
	fx->st = NULL;
	fx_open(fx);
}

/* One loop turn: no fds, so it only runs timers and the after-turn hooks. */
static void turn(struct fx *fx)
{
	assert_int_equal(loop_run_once(fx->loop, 0), 0);
}

/* A second, independent connection: sees only what is committed. */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 1000);
	return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* The first column of the first row as text (in a static buffer). */
static const char *raw_text(sqlite3 *db, const char *sql)
{
	static char buf[64];
	sqlite3_stmt *stmt;

	buf[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
		snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	return buf;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

static int64_t committed(struct fx *fx, const char *sql)
{
	sqlite3 *db = raw_open(fx->path);
	int64_t v = raw_int(db, sql);

	sqlite3_close(db);
	return v;
}

/* Done callbacks record (order, err). */
struct done_log {
	int id[256];
	int err[256];
	size_t n;
};

struct done_ctx {
	struct done_log *log;
	int id;
};

static void done_rec(int err, void *arg)
{
	struct done_ctx *c = arg;

	assert_true(c->log->n < ARRAY_SIZE(c->log->id));
	c->log->id[c->log->n] = c->id;
	c->log->err[c->log->n] = err;
	c->log->n++;
}

static void done_count(int err, void *arg)
{
	int *counts = arg; /* [0]: ok, [1]: failed */

	counts[err ? 1 : 0]++;
}

/* ---------------------------------------------------------------------------------------------
 * Opening and the schema
 */

static void test_open_creates_and_reopens(void **state)
{
	struct fx *fx = *state;
	struct stat sb;
	sqlite3 *db;

	fx_open(fx);
	assert_int_equal(stat(fx->path, &sb), 0);
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(db, "PRAGMA application_id"), 0x4d4b4b41);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN "
				     "('reg', 'cdr', 'kv')"),
			 3);
	sqlite3_close(db);
	assert_string_equal(raw_text(fx->st->db, "PRAGMA journal_mode"), "wal");
	assert_int_equal(raw_int(fx->st->db, "PRAGMA synchronous"), 1); /* NORMAL */
	assert_int_equal(raw_int(fx->st->db, "PRAGMA foreign_keys"), 1);

	fx_reopen(fx);
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	sqlite3_close(db);
}

static void test_open_sync_full_option(void **state)
{
	struct fx *fx = *state;
	struct store_opts o = {.sync_full = true, .busy_timeout_ms = 10};

	assert_int_equal(store_open_opts(&fx->st, fx->loop, fx->path, &o), 0);
	assert_int_equal(raw_int(fx->st->db, "PRAGMA synchronous"), 2); /* FULL */
	assert_string_equal(raw_text(fx->st->db, "PRAGMA journal_mode"), "wal");
}

static void test_newer_schema_refused(void **state)
{
	struct fx *fx = *state;
	struct store *st = (struct store *)&st; /* must stay untouched */
	sqlite3 *db;

	fx_open(fx);
	store_close(fx->st);
	fx->st = NULL;
	db = raw_open(fx->path);
	raw_exec(db, "PRAGMA user_version = 99");
	sqlite3_close(db);
	assert_int_equal(store_open(&st, fx->loop, fx->path), EPROTONOSUPPORT);
	assert_ptr_equal(st, (struct store *)&st);
}

static void test_foreign_files_refused(void **state)
{
	struct fx *fx = *state;
	struct store *st = NULL;
	char path[160];
	sqlite3 *db;
	FILE *f;

	/* Another program's SQLite database. */
	snprintf(path, sizeof(path), "%s/other.db", fx->dir);
	db = raw_open(path);
	raw_exec(db, "CREATE TABLE t (x)");
	sqlite3_close(db);
	assert_int_equal(store_open(&st, fx->loop, path), EINVAL);
	assert_null(st);
	/* ...and left as it was (not switched to WAL). */
	db = raw_open(path);
	assert_string_equal(raw_text(db, "PRAGMA journal_mode"), "delete");
	sqlite3_close(db);

	/* Not a database at all. */
	snprintf(path, sizeof(path), "%s/text.db", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 100; i++)
		fputs("this is not an SQLite database\n", f);
	fclose(f);
	assert_int_equal(store_open(&st, fx->loop, path), EINVAL);
	assert_null(st);

	/* A directory that cannot be created (a file is in the way). */
	snprintf(path, sizeof(path), "%s/text.db/x.db", fx->dir);
	assert_int_equal(store_open(&st, fx->loop, path), ENOTDIR);
	assert_null(st);
}

static void test_migrate_steps(void **state)
{
	struct fx *fx = *state;
	static const struct store_migration steps[] = {
	    {"CREATE TABLE one (x INTEGER)"},
	    {"CREATE TABLE two (y INTEGER); INSERT INTO one VALUES (2)"},
	    {"CREATE TABLE three (z); THIS IS NOT SQL"},
	};
	char path[160];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/m.db", fx->dir);
	db = raw_open(path);
	assert_int_equal(store_migrate(db, steps, 1), 0);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'two'"), 0);
	assert_int_equal(store_migrate(db, steps, 2), 0);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(raw_int(db, "SELECT x FROM one"), 2);
	/* Idempotent at the target. */
	assert_int_equal(store_migrate(db, steps, 2), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM one"), 1);
	/* A broken step is rolled back whole and the version stays. */
	assert_int_equal(store_migrate(db, steps, 3), EIO);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'three'"), 0);
	/* Newer than what we know. */
	assert_int_equal(store_migrate(db, steps, 1), EPROTONOSUPPORT);
	sqlite3_close(db);
}

/* ---------------------------------------------------------------------------------------------
 * Registrations
 */

struct reg_copy {
	char peer[32], contact[96], transport[8], path[64], instance[64], ua[64], call_id[64];
	char src[SA_STRLEN], local[SA_STRLEN];
	uint32_t reg_id, cseq;
	int64_t expires, registered_at;
};

struct reg_set {
	struct reg_copy r[16];
	size_t n;
};

static void cp(char *dst, size_t size, const struct pl *pl)
{
	if (!pl->p)
		snprintf(dst, size, "(null)");
	else
		assert_int_equal(pl_strcpy(pl, dst, size), 0);
}

static int reg_collect(const struct store_reg *r, void *arg)
{
	struct reg_set *set = arg;
	struct reg_copy *c;

	assert_true(set->n < ARRAY_SIZE(set->r));
	c = &set->r[set->n++];
	cp(c->peer, sizeof(c->peer), &r->peer);
	cp(c->contact, sizeof(c->contact), &r->contact);
	cp(c->transport, sizeof(c->transport), &r->transport);
	cp(c->path, sizeof(c->path), &r->path);
	cp(c->instance, sizeof(c->instance), &r->instance);
	cp(c->ua, sizeof(c->ua), &r->user_agent);
	cp(c->call_id, sizeof(c->call_id), &r->call_id);
	if (sa_isset(&r->source))
		sa_fmt(&r->source, c->src, sizeof(c->src));
	else
		snprintf(c->src, sizeof(c->src), "-");
	if (sa_isset(&r->local))
		sa_fmt(&r->local, c->local, sizeof(c->local));
	else
		snprintf(c->local, sizeof(c->local), "-");
	c->reg_id = r->reg_id;
	c->cseq = r->cseq;
	c->expires = r->expires;
	c->registered_at = r->registered_at;
	return 0;
}

static struct store_reg reg_make(const char *peer, const char *contact, const char *src,
				 int64_t expires, uint32_t cseq)
{
	struct store_reg r = {
	    .peer = pl_from_str(peer),
	    .contact = pl_from_str(contact),
	    .transport = PL("udp"),
	    .user_agent = PL("Linphone/5.2"),
	    .call_id = PL("abc@host"),
	    .cseq = cseq,
	    .expires = expires,
	    .registered_at = NOW,
	};

	if (src)
		assert_int_equal(sa_decode(&r.source, src, 5060), 0);
	return r;
}

static void load(struct fx *fx, int64_t now, struct reg_set *set)
{
	memset(set, 0, sizeof(*set));
	assert_int_equal(store_reg_load_all(fx->st, now, reg_collect, set), 0);
}

static void test_reg_put_load_fields(void **state)
{
	struct fx *fx = *state;
	struct store_reg r =
	    reg_make("801", "sip:801@192.0.2.5:5062;ob", "192.0.2.5:5062", NOW + 3600, 7);
	struct store_reg r6 =
	    reg_make("801", "sip:801@[2001:db8::5]", "[2001:db8::5]:40000", NOW + 60, 1);
	struct done_log log = {.n = 0};
	struct done_ctx c1 = {&log, 1}, c2 = {&log, 2};
	struct reg_set set;

	fx_open(fx);
	r.path = PL("<sip:proxy.example;lr>");
	r.instance = PL("\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"");
	r.reg_id = 2;
	assert_int_equal(sa_decode(&r.local, "127.0.0.1:5060", 0), 0);
	r6.transport = PL("tcp");
	r6.user_agent = (struct pl)PL_INIT;
	assert_int_equal(store_reg_put(fx->st, &r, done_rec, &c1), 0);
	assert_int_equal(store_reg_put(fx->st, &r6, done_rec, &c2), 0);
	assert_int_equal(log.n, 0);
	turn(fx);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.err[0], 0);
	assert_int_equal(log.err[1], 0);

	fx_reopen(fx);
	load(fx, NOW, &set);
	assert_int_equal(set.n, 2);
	/* Ordered by peer, then contact. */
	assert_string_equal(set.r[0].contact, "sip:801@192.0.2.5:5062;ob");
	assert_string_equal(set.r[0].peer, "801");
	assert_string_equal(set.r[0].src, "192.0.2.5:5062");
	assert_string_equal(set.r[0].local, "127.0.0.1:5060");
	assert_string_equal(set.r[0].transport, "udp");
	assert_string_equal(set.r[0].path, "<sip:proxy.example;lr>");
	assert_string_equal(set.r[0].instance,
			    "\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"");
	assert_int_equal(set.r[0].reg_id, 2);
	assert_string_equal(set.r[0].ua, "Linphone/5.2");
	assert_string_equal(set.r[0].call_id, "abc@host");
	assert_int_equal(set.r[0].cseq, 7);
	assert_int_equal(set.r[0].expires, NOW + 3600);
	assert_int_equal(set.r[0].registered_at, NOW);
	assert_string_equal(set.r[1].contact, "sip:801@[2001:db8::5]");
	assert_string_equal(set.r[1].src, "[2001:db8::5]:40000");
	assert_string_equal(set.r[1].local, "-");
	assert_string_equal(set.r[1].transport, "tcp");
	assert_string_equal(set.r[1].ua, "(null)");
	assert_string_equal(set.r[1].path, "(null)");
	assert_int_equal(set.r[1].reg_id, 0);
}

static void test_reg_replace_delete_expire(void **state)
{
	struct fx *fx = *state;
	struct store_reg a = reg_make("801", "sip:801@10.0.0.1", "10.0.0.1", NOW + 100, 1);
	struct store_reg b = reg_make("801", "sip:801@10.0.0.2", "10.0.0.2", NOW + 200, 1);
	struct store_reg c = reg_make("802", "sip:802@10.0.0.3", "10.0.0.3", NOW + 300, 1);
	struct pl p801 = PL("801"), p802 = PL("802"), ca = PL("sip:801@10.0.0.1");
	int counts[2] = {0, 0};
	struct reg_set set;

	fx_open(fx);
	assert_int_equal(store_reg_put(fx->st, &a, done_count, counts), 0);
	assert_int_equal(store_reg_put(fx->st, &b, done_count, counts), 0);
	assert_int_equal(store_reg_put(fx->st, &c, done_count, counts), 0);
	turn(fx);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 3);

	/* A refresh replaces the row of the same (peer, contact). */
	a.cseq = 2;
	a.expires = NOW + 500;
	assert_int_equal(store_reg_put(fx->st, &a, done_count, counts), 0);
	turn(fx);
	load(fx, NOW, &set);
	assert_int_equal(set.n, 3);
	assert_string_equal(set.r[0].contact, "sip:801@10.0.0.1");
	assert_int_equal(set.r[0].cseq, 2);
	assert_int_equal(set.r[0].expires, NOW + 500);

	/* Expire: b (NOW + 200) goes at NOW + 200, a and c stay. */
	assert_int_equal(store_reg_expire(fx->st, NOW + 200, done_count, counts), 0);
	turn(fx);
	load(fx, NOW, &set);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.r[0].contact, "sip:801@10.0.0.1");
	assert_string_equal(set.r[1].contact, "sip:802@10.0.0.3");

	/* Delete one contact; deleting it again is no error. */
	assert_int_equal(store_reg_del(fx->st, &p801, &ca, done_count, counts), 0);
	assert_int_equal(store_reg_del(fx->st, &p801, &ca, done_count, counts), 0);
	turn(fx);
	load(fx, NOW, &set);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.r[0].peer, "802");

	/* Delete a whole peer. */
	assert_int_equal(store_reg_put(fx->st, &a, done_count, counts), 0);
	assert_int_equal(store_reg_put(fx->st, &b, done_count, counts), 0);
	assert_int_equal(store_reg_del_peer(fx->st, &p802, done_count, counts), 0);
	turn(fx);
	load(fx, NOW, &set);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.r[0].peer, "801");
	assert_string_equal(set.r[1].peer, "801");
	assert_int_equal(store_reg_del_peer(fx->st, &p801, done_count, counts), 0);
	turn(fx);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 0);
	assert_int_equal(counts[0], 11);
	assert_int_equal(counts[1], 0);
}

static void test_reg_load_skips_and_deletes_expired(void **state)
{
	struct fx *fx = *state;
	struct store_reg live = reg_make("801", "sip:801@10.0.0.1", NULL, NOW + 1, 1);
	struct store_reg dead = reg_make("801", "sip:801@10.0.0.2", NULL, NOW, 1);
	struct store_reg older = reg_make("803", "sip:803@10.0.0.3", NULL, NOW - 3600, 1);
	struct reg_set set;

	fx_open(fx);
	assert_int_equal(store_reg_put(fx->st, &live, NULL, NULL), 0);
	assert_int_equal(store_reg_put(fx->st, &dead, NULL, NULL), 0);
	assert_int_equal(store_reg_put(fx->st, &older, NULL, NULL), 0);
	turn(fx);
	fx_reopen(fx);
	load(fx, NOW, &set);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.r[0].contact, "sip:801@10.0.0.1");
	assert_string_equal(set.r[0].src, "-");
	/* The expired rows are gone once the turn commits. */
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 3);
	turn(fx);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 1);
}

static int reg_stop(const struct store_reg *r, void *arg)
{
	int *n = arg;

	return ++*n == 2 ? ECANCELED : 0;
}

static void test_reg_invalid_and_stop(void **state)
{
	struct fx *fx = *state;
	struct store_reg r = reg_make("801", "sip:801@10.0.0.1", NULL, NOW + 10, 1);
	struct store_reg bad = r;
	struct pl p = PL("801");
	int n = 0;

	fx_open(fx);
	bad.peer = (struct pl)PL_INIT;
	assert_int_equal(store_reg_put(fx->st, &bad, NULL, NULL), EINVAL);
	bad = r;
	bad.contact = (struct pl)PL_INIT;
	assert_int_equal(store_reg_put(fx->st, &bad, NULL, NULL), EINVAL);
	assert_int_equal(store_reg_del(fx->st, &p, NULL, NULL, NULL), EINVAL);
	assert_int_equal(store_reg_put(NULL, &r, NULL, NULL), EINVAL);
	for (int i = 0; i < 3; i++) {
		char contact[32];

		snprintf(contact, sizeof(contact), "sip:801@10.0.0.%d", i);
		r.contact = pl_from_str(contact);
		assert_int_equal(store_reg_put(fx->st, &r, NULL, NULL), 0);
	}
	turn(fx);
	assert_int_equal(store_reg_load_all(fx->st, NOW, reg_stop, &n), ECANCELED);
	assert_int_equal(n, 2);
	/* The statement was reset: a second load works. */
	n = -10;
	assert_int_equal(store_reg_load_all(fx->st, NOW, reg_stop, &n), 0);
	assert_int_equal(n, -7);
	turn(fx);
}

/* ---------------------------------------------------------------------------------------------
 * Call records and key/value
 */

struct cdr_set {
	char uniqueid[8][32];
	char src[8][32];
	char media[8][64];
	char callid[8][32], dstcallid[8][32];
	unsigned cause[8];
	enum store_cdr_disp disp[8];
	int64_t start[8], billsec[8], id[8];
	size_t n;
};

static int cdr_collect(const struct store_cdr *c, void *arg)
{
	struct cdr_set *set = arg;

	assert_true(set->n < 8);
	cp(set->uniqueid[set->n], sizeof(set->uniqueid[0]), &c->uniqueid);
	cp(set->src[set->n], sizeof(set->src[0]), &c->src);
	cp(set->media[set->n], sizeof(set->media[0]), &c->media);
	cp(set->callid[set->n], sizeof(set->callid[0]), &c->callid);
	cp(set->dstcallid[set->n], sizeof(set->dstcallid[0]), &c->dstcallid);
	set->cause[set->n] = c->hangupcause;
	set->disp[set->n] = c->disposition;
	set->start[set->n] = c->start_ms;
	set->billsec[set->n] = c->billsec;
	set->id[set->n] = c->id;
	set->n++;
	return 0;
}

static void test_cdr_add_list(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *uid;
		enum store_cdr_disp disp;
		int64_t billsec;
	} calls[] = {
	    {"call-1", STORE_CDR_ANSWERED, 42},
	    {"call-2", STORE_CDR_NO_ANSWER, 0},
	    {"call-3", STORE_CDR_BUSY, 0},
	    {"call-4", STORE_CDR_FAILED, 0},
	};
	struct cdr_set set = {.n = 0};
	int counts[2] = {0, 0};
	sqlite3 *db;

	fx_open(fx);
	for (size_t i = 0; i < ARRAY_SIZE(calls); i++) {
		struct store_cdr c = {
		    .uniqueid = pl_from_str(calls[i].uid),
		    .src = PL("0312345678"),
		    .dst = PL("801"),
		    .dcontext = PL("from-line"),
		    .clid = PL("\"\" <0312345678>"),
		    .channel = PL("SIP/line-00000001"),
		    .dstchannel = PL("SIP/801-00000002"),
		    .lastapp = PL("Dial"),
		    .lastdata = PL("SIP/801,30"),
		    .start_ms = NOW * 1000LL + (int64_t)i,
		    .answer_ms = calls[i].billsec ? NOW * 1000LL + 5000 : 0,
		    .end_ms = NOW * 1000LL + 47000,
		    .duration = 47,
		    .billsec = calls[i].billsec,
		    .disposition = calls[i].disp,
		    .media = i == 0 ? PL("{\"rx\":100}") : (struct pl)PL_INIT,
		    .hangupcause = 16 + (unsigned)i,
		    .callid = PL("a84b4c76e66710@pc33"),
		    .dstcallid = i == 3 ? (struct pl)PL_INIT : PL("b-leg-1"),
		};

		assert_int_equal(store_cdr_add(fx->st, &c, done_count, counts), 0);
		/* Each in its own turn, so ordering does not depend on one batch. */
		turn(fx);
	}
	assert_int_equal(counts[0], 4);
	fx_reopen(fx);
	assert_int_equal(store_cdr_list(fx->st, 0, cdr_collect, &set), 0);
	assert_int_equal(set.n, 4);
	for (size_t i = 0; i < 4; i++) {
		size_t k = 3 - i; /* newest first */

		assert_string_equal(set.uniqueid[i], calls[k].uid);
		assert_int_equal(set.disp[i], calls[k].disp);
		assert_int_equal(set.billsec[i], calls[k].billsec);
		assert_int_equal(set.start[i], NOW * 1000LL + (int64_t)k);
		assert_string_equal(set.src[i], "0312345678");
		assert_int_equal(set.cause[i], 16 + k);
		assert_string_equal(set.callid[i], "a84b4c76e66710@pc33");
		assert_string_equal(set.dstcallid[i], k == 3 ? "(null)" : "b-leg-1");
		if (i > 0)
			assert_true(set.id[i] < set.id[i - 1]);
	}
	assert_string_equal(set.media[3], "{\"rx\":100}");
	assert_string_equal(set.media[0], "(null)");

	memset(&set, 0, sizeof(set));
	assert_int_equal(store_cdr_list(fx->st, 2, cdr_collect, &set), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.uniqueid[0], "call-4");
	assert_string_equal(set.uniqueid[1], "call-3");

	/* Asterisk's words on disk, for the sqlite3 shell and exports. */
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM cdr WHERE disposition = 'NO ANSWER'"),
			 1);
	sqlite3_close(db);
	assert_string_equal(store_cdr_disp_name(STORE_CDR_ANSWERED), "ANSWERED");
	assert_string_equal(store_cdr_disp_name(STORE_CDR_BUSY), "BUSY");
	assert_string_equal(store_cdr_disp_name((enum store_cdr_disp)77), "FAILED");
}

/* A version-1 file (before the hang-up cause and Call-ID columns) is upgraded in place and its
 * rows are kept. */
static void test_upgrade_from_v1(void **state)
{
	struct fx *fx = *state;
	struct cdr_set set = {.n = 0};
	char dir[sizeof(fx->dir) + 8];
	sqlite3 *db;

	snprintf(dir, sizeof(dir), "%s/a", fx->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/a/b", fx->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	db = raw_open(fx->path);
	raw_exec(db, "PRAGMA application_id = 1296780097;"
		     "CREATE TABLE reg (peer TEXT NOT NULL, contact TEXT NOT NULL, src_ip TEXT,"
		     " src_port INTEGER, local_ip TEXT, local_port INTEGER, transport TEXT, path TEXT,"
		     " instance TEXT, reg_id INTEGER NOT NULL DEFAULT 0, user_agent TEXT,"
		     " call_id TEXT, cseq INTEGER NOT NULL DEFAULT 0, expires INTEGER NOT NULL,"
		     " registered_at INTEGER NOT NULL, PRIMARY KEY (peer, contact));"
		     "CREATE TABLE cdr (id INTEGER PRIMARY KEY, uniqueid TEXT, src TEXT, dst TEXT,"
		     " dcontext TEXT, clid TEXT, channel TEXT, dstchannel TEXT, lastapp TEXT,"
		     " lastdata TEXT, start_ms INTEGER NOT NULL DEFAULT 0,"
		     " answer_ms INTEGER NOT NULL DEFAULT 0, end_ms INTEGER NOT NULL DEFAULT 0,"
		     " duration INTEGER NOT NULL DEFAULT 0, billsec INTEGER NOT NULL DEFAULT 0,"
		     " disposition TEXT NOT NULL, media TEXT);"
		     "CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
		     "INSERT INTO cdr (uniqueid, src, disposition) VALUES ('old', '0311112222',"
		     " 'ANSWERED');"
		     "PRAGMA user_version = 1;");
	sqlite3_close(db);
	fx_open(fx);
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(db, "SELECT hangupcause FROM cdr WHERE uniqueid = 'old'"), 0);
	sqlite3_close(db);
	assert_int_equal(store_cdr_list(fx->st, 0, cdr_collect, &set), 0);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.src[0], "0311112222");
	assert_int_equal(set.cause[0], 0);
}

/* A version-3 file (reg a rowid table with its expires index) is rebuilt as one b-tree keyed by
 * (peer, contact), every binding kept with every field; then a refresh (the UPDATE path) changes
 * every field of its row, and a new binding (no row: the insert) is added beside it. */
static void test_upgrade_from_v3_keeps_bindings(void **state)
{
	struct fx *fx = *state;
	struct store_reg r = reg_make("801", "sip:801@10.0.0.1", "10.0.0.1:5062", NOW + 900, 9);
	struct store_reg n = reg_make("803", "sip:803@10.0.0.9", "10.0.0.9", NOW + 60, 1);
	int counts[2] = {0, 0};
	char dir[sizeof(fx->dir) + 8];
	struct reg_set set;
	sqlite3 *db;

	snprintf(dir, sizeof(dir), "%s/a", fx->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/a/b", fx->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	db = raw_open(fx->path);
	raw_exec(db, "PRAGMA application_id = 1296780097;"
		     "CREATE TABLE reg (peer TEXT NOT NULL, contact TEXT NOT NULL, src_ip TEXT,"
		     " src_port INTEGER, local_ip TEXT, local_port INTEGER, transport TEXT, path TEXT,"
		     " instance TEXT, reg_id INTEGER NOT NULL DEFAULT 0, user_agent TEXT,"
		     " call_id TEXT, cseq INTEGER NOT NULL DEFAULT 0, expires INTEGER NOT NULL,"
		     " registered_at INTEGER NOT NULL, PRIMARY KEY (peer, contact));"
		     "CREATE INDEX reg_expires ON reg (expires);"
		     "CREATE TABLE cdr (id INTEGER PRIMARY KEY, uniqueid TEXT, src TEXT, dst TEXT,"
		     " dcontext TEXT, clid TEXT, channel TEXT, dstchannel TEXT, lastapp TEXT,"
		     " lastdata TEXT, start_ms INTEGER NOT NULL DEFAULT 0,"
		     " answer_ms INTEGER NOT NULL DEFAULT 0, end_ms INTEGER NOT NULL DEFAULT 0,"
		     " duration INTEGER NOT NULL DEFAULT 0, billsec INTEGER NOT NULL DEFAULT 0,"
		     " disposition TEXT NOT NULL, media TEXT, hangupcause INTEGER NOT NULL"
		     " DEFAULT 0, callid TEXT, dstcallid TEXT);"
		     "CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
		     "CREATE TABLE vm_msg (context TEXT NOT NULL, mailbox TEXT NOT NULL,"
		     " folder TEXT NOT NULL, msgnum INTEGER NOT NULL, origtime INTEGER NOT NULL"
		     " DEFAULT 0, duration INTEGER NOT NULL DEFAULT 0, callerid TEXT,"
		     " PRIMARY KEY (context, mailbox, folder, msgnum));"
		     "INSERT INTO reg VALUES ('801', 'sip:801@10.0.0.1', '10.0.0.1', 5060,"
		     " '127.0.0.1', 5060, 'udp', '<sip:p;lr>', '\"<urn:x>\"', 3, 'Old/1', 'c1@h',"
		     " 4, 1700000100, 1699999000);"
		     "INSERT INTO reg VALUES ('802', 'sip:802@[2001:db8::2]', NULL, NULL, NULL,"
		     " NULL, 'tcp', NULL, NULL, 0, NULL, 'c2@h', 1, 1700000200, 1699999100);"
		     "INSERT INTO kv VALUES ('k', 'v');"
		     "PRAGMA user_version = 3;");
	sqlite3_close(db);

	fx_open(fx);
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = "
				     "'reg_expires'"),
			 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'reg' AND "
				     "sql LIKE '%WITHOUT ROWID'"),
			 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM kv"), 1);
	sqlite3_close(db);
	load(fx, NOW, &set);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.r[0].peer, "801");
	assert_string_equal(set.r[0].contact, "sip:801@10.0.0.1");
	assert_string_equal(set.r[0].src, "10.0.0.1:5060");
	assert_string_equal(set.r[0].local, "127.0.0.1:5060");
	assert_string_equal(set.r[0].transport, "udp");
	assert_string_equal(set.r[0].path, "<sip:p;lr>");
	assert_string_equal(set.r[0].instance, "\"<urn:x>\"");
	assert_int_equal(set.r[0].reg_id, 3);
	assert_string_equal(set.r[0].ua, "Old/1");
	assert_string_equal(set.r[0].call_id, "c1@h");
	assert_int_equal(set.r[0].cseq, 4);
	assert_int_equal(set.r[0].expires, 1700000100);
	assert_int_equal(set.r[0].registered_at, 1699999000);
	assert_string_equal(set.r[1].contact, "sip:802@[2001:db8::2]");
	assert_string_equal(set.r[1].src, "-");
	assert_string_equal(set.r[1].transport, "tcp");
	assert_int_equal(set.r[1].expires, 1700000200);

	/* The refresh rewrites every field of 801's row (NULLs included); 803 is new. */
	assert_int_equal(store_reg_put(fx->st, &r, done_count, counts), 0);
	assert_int_equal(store_reg_put(fx->st, &n, done_count, counts), 0);
	turn(fx);
	assert_int_equal(counts[0], 2);
	assert_int_equal(counts[1], 0);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 3);
	fx_reopen(fx);
	load(fx, NOW, &set);
	assert_int_equal(set.n, 3);
	assert_string_equal(set.r[0].src, "10.0.0.1:5062");
	assert_string_equal(set.r[0].local, "-");
	assert_string_equal(set.r[0].path, "(null)");
	assert_string_equal(set.r[0].instance, "(null)");
	assert_int_equal(set.r[0].reg_id, 0);
	assert_string_equal(set.r[0].ua, "Linphone/5.2");
	assert_string_equal(set.r[0].call_id, "abc@host");
	assert_int_equal(set.r[0].cseq, 9);
	assert_int_equal(set.r[0].expires, NOW + 900);
	assert_int_equal(set.r[0].registered_at, NOW);
	assert_string_equal(set.r[1].peer, "802");
	assert_string_equal(set.r[2].peer, "803");
	assert_string_equal(set.r[2].src, "10.0.0.9:5060");
}

static void test_kv(void **state)
{
	struct fx *fx = *state;
	struct pl v1 = PL("{\"ip\":\"203.0.113.9\",\"t1\":1800}");
	struct pl v2 = PL("bin\0ary");
	struct pl empty = PL("");
	struct mbuf mb;

	mbuf_init(&mb);
	fx_open(fx);
	assert_int_equal(store_kv_get(fx->st, "line.lease", &mb), ENOENT);
	assert_int_equal(store_kv_set(fx->st, "line.lease", &v1, NULL, NULL), 0);
	assert_int_equal(store_kv_set(fx->st, "blob", &v2, NULL, NULL), 0);
	assert_int_equal(store_kv_set(fx->st, "empty", &empty, NULL, NULL), 0);
	turn(fx);
	fx_reopen(fx);
	assert_int_equal(store_kv_get(fx->st, "line.lease", &mb), 0);
	assert_int_equal(mb.end, v1.l);
	assert_memory_equal(mb.buf, v1.p, v1.l);
	mbuf_reset(&mb);
	assert_int_equal(store_kv_get(fx->st, "blob", &mb), 0);
	assert_int_equal(mb.end, 7);
	assert_memory_equal(mb.buf, "bin\0ary", 7);
	mbuf_reset(&mb);
	assert_int_equal(store_kv_get(fx->st, "empty", &mb), 0);
	assert_int_equal(mb.end, 0);

	/* Overwrite, then delete; a read sees this connection's uncommitted write. */
	assert_int_equal(store_kv_set(fx->st, "line.lease", &v2, NULL, NULL), 0);
	assert_int_equal(store_kv_get(fx->st, "line.lease", &mb), 0);
	assert_int_equal(mb.end, 7);
	mbuf_reset(&mb);
	assert_int_equal(store_kv_del(fx->st, "blob", NULL, NULL), 0);
	turn(fx);
	assert_int_equal(store_kv_get(fx->st, "blob", &mb), ENOENT);
	assert_int_equal(committed(fx, "SELECT count(*) FROM kv"), 2);
	assert_int_equal(store_kv_set(fx->st, NULL, &v1, NULL, NULL), EINVAL);
	mbuf_reset(&mb);
}

/* ---------------------------------------------------------------------------------------------
 * The batch
 */

static void test_batch_one_transaction_in_order(void **state)
{
	struct fx *fx = *state;
	enum { N = 200 };
	struct done_log log = {.n = 0};
	struct done_ctx ctx[N];
	struct store_stats s0, s1;

	fx_open(fx);
	store_stats_get(fx->st, &s0);
	for (int i = 0; i < N; i++) {
		char contact[32];
		struct store_reg r = reg_make("801", "", "10.0.0.1", NOW + 60, (uint32_t)i);

		snprintf(contact, sizeof(contact), "sip:801@10.0.%d.%d", i / 256, i % 256);
		r.contact = pl_from_str(contact);
		ctx[i] = (struct done_ctx){&log, i};
		/* Alternate kinds of writes: they share the batch. */
		if (i % 50 == 49) {
			struct pl v = PL("x");

			assert_int_equal(store_kv_set(fx->st, "k", &v, done_rec, &ctx[i]), 0);
		} else {
			assert_int_equal(store_reg_put(fx->st, &r, done_rec, &ctx[i]), 0);
		}
	}
	store_stats_get(fx->st, &s1);
	assert_int_equal(s1.queued, N);
	/* Nothing visible to another connection, and no callback, before the turn ends. */
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 0);
	assert_int_equal(log.n, 0);
	turn(fx);
	store_stats_get(fx->st, &s1);
	assert_int_equal(s1.commits - s0.commits, 1);
	assert_int_equal(s1.writes - s0.writes, N);
	assert_int_equal(s1.queued, 0);
	assert_int_equal(s1.failed, 0);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), N - N / 50);
	assert_int_equal(log.n, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(log.id[i], i);
		assert_int_equal(log.err[i], 0);
	}
	/* An empty turn commits nothing. */
	turn(fx);
	store_stats_get(fx->st, &s0);
	assert_int_equal(s0.commits, s1.commits);
}

struct chain {
	struct fx *fx;
	int stage;
	int err;
};

static void chain_done(int err, void *arg)
{
	struct chain *c = arg;
	struct pl v = PL("2");

	c->err = err;
	c->stage++;
	if (c->stage == 1)
		assert_int_equal(store_kv_set(c->fx->st, "chain", &v, chain_done, c), 0);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A write queued from a done callback (inside the after-turn hook) must not wait for some
 * unrelated event: the loop's next turn must not sleep. */
static void test_batch_write_from_callback_not_stranded(void **state)
{
	struct fx *fx = *state;
	struct chain c = {fx, 0, -1};
	struct pl v = PL("1");
	uint64_t t0;

	fx_open(fx);
	assert_int_equal(store_kv_set(fx->st, "chain", &v, chain_done, &c), 0);
	turn(fx);
	assert_int_equal(c.stage, 1);
	assert_int_equal(committed(fx, "SELECT value FROM kv WHERE key = 'chain'"), 1);
	t0 = mono_ms();
	/* Would block for 2 s if no timer made the turn immediate. */
	assert_int_equal(loop_run_once(fx->loop, 2000), 0);
	assert_true(mono_ms() - t0 < 1000);
	assert_int_equal(c.stage, 2);
	assert_int_equal(c.err, 0);
	assert_int_equal(committed(fx, "SELECT value FROM kv WHERE key = 'chain'"), 2);
	assert_int_equal(loop_timer_count(fx->loop), 0);
}

static void test_flush_without_loop(void **state)
{
	struct fx *fx = *state;
	struct store_reg r = reg_make("801", "sip:801@10.0.0.1", NULL, NOW + 60, 1);
	int counts[2] = {0, 0};

	assert_int_equal(store_open(&fx->st, NULL, fx->path), 0);
	assert_int_equal(store_reg_put(fx->st, &r, done_count, counts), 0);
	assert_int_equal(counts[0], 0);
	assert_int_equal(store_flush(fx->st), 0);
	assert_int_equal(counts[0], 1);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 1);
	/* store_close commits what is still queued. */
	r.contact = PL("sip:801@10.0.0.2");
	assert_int_equal(store_reg_put(fx->st, &r, done_count, counts), 0);
	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(counts[0], 2);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 2);
}

/* Another connection holds the write lock past our busy timeout: every write of the batch gets
 * EIO, in order, nothing of it is stored, and the next batch works again. */
static void test_batch_locked_fails_every_write(void **state)
{
	struct fx *fx = *state;
	struct store_opts o = {.busy_timeout_ms = 20};
	struct done_log log = {.n = 0};
	struct done_ctx ctx[5];
	struct store_reg r = reg_make("801", "sip:801@10.0.0.1", NULL, NOW + 60, 1);
	struct store_cdr cdr = {.uniqueid = PL("u1"), .disposition = STORE_CDR_ANSWERED};
	struct pl v = PL("v");
	struct store_stats s;
	sqlite3 *other;

	assert_int_equal(store_open_opts(&fx->st, fx->loop, fx->path, &o), 0);
	other = raw_open(fx->path);
	raw_exec(other, "BEGIN IMMEDIATE");
	for (int i = 0; i < 5; i++)
		ctx[i] = (struct done_ctx){&log, i};
	assert_int_equal(store_reg_put(fx->st, &r, done_rec, &ctx[0]), 0);
	assert_int_equal(store_kv_set(fx->st, "k", &v, done_rec, &ctx[1]), 0);
	assert_int_equal(store_cdr_add(fx->st, &cdr, done_rec, &ctx[2]), 0);
	assert_int_equal(store_reg_expire(fx->st, NOW, done_rec, &ctx[3]), 0);
	assert_int_equal(store_reg_put(fx->st, &r, done_rec, &ctx[4]), 0);
	assert_int_equal(log.n, 0);
	turn(fx);
	assert_int_equal(log.n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(log.id[i], i);
		assert_int_equal(log.err[i], EIO);
	}
	store_stats_get(fx->st, &s);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.commits, 0);
	raw_exec(other, "ROLLBACK");
	sqlite3_close(other);

	log.n = 0;
	assert_int_equal(store_reg_put(fx->st, &r, done_rec, &ctx[0]), 0);
	turn(fx);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.err[0], 0);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 1);
	assert_int_equal(committed(fx, "SELECT count(*) FROM cdr"), 0);
}

/* The disk fills up in the middle of a batch: the writes before the failing one are rolled
 * back too (a 200 must not be sent for them), and all get EIO. */
static void test_batch_disk_full_rolls_back_all(void **state)
{
	struct fx *fx = *state;
	struct done_log log = {.n = 0};
	struct done_ctx ctx[3];
	struct store_reg small = reg_make("801", "sip:801@10.0.0.1", NULL, NOW + 60, 1);
	struct store_reg big = reg_make("802", "sip:802@10.0.0.2", NULL, NOW + 60, 1);
	size_t bigsz = 256 * 1024;
	char *ua = malloc(bigsz);
	char sql[64];

	assert_non_null(ua);
	memset(ua, 'x', bigsz);
	big.user_agent = pl_from(ua, bigsz);
	fx_open(fx);
	/* SQLITE_FULL without filling the real disk: cap the file at its current size. */
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		 (long long)raw_int(fx->st->db, "PRAGMA page_count") + 2);
	raw_int(fx->st->db, sql);
	for (int i = 0; i < 3; i++)
		ctx[i] = (struct done_ctx){&log, i};
	assert_int_equal(store_reg_put(fx->st, &small, done_rec, &ctx[0]), 0);
	assert_int_equal(store_reg_put(fx->st, &big, done_rec, &ctx[1]), 0);
	assert_int_equal(store_reg_put(fx->st, &small, done_rec, &ctx[2]), 0);
	turn(fx);
	assert_int_equal(log.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(log.id[i], i);
		assert_int_equal(log.err[i], EIO);
	}
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 0);
	/* Small writes fit again. */
	log.n = 0;
	assert_int_equal(store_reg_put(fx->st, &small, done_rec, &ctx[0]), 0);
	turn(fx);
	assert_int_equal(log.err[0], 0);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 1);
	free(ua);
}

/* The batch is bounded: past STORE_BATCH_MAX writes a put is refused at once (ENOBUFS, the
 * registrar answers 500 itself) and memory stops growing. */
static void test_batch_bounded(void **state)
{
	struct fx *fx = *state;
	struct store_opts o = {.busy_timeout_ms = 1};
	int counts[2] = {0, 0};
	sqlite3 *other;

	assert_int_equal(store_open_opts(&fx->st, fx->loop, fx->path, &o), 0);
	/* With the lock held elsewhere the batch fails at its first write, so the rest is queued
	 * without SQLite work and the test stays fast. */
	other = raw_open(fx->path);
	raw_exec(other, "BEGIN IMMEDIATE");
	for (int i = 0; i < STORE_BATCH_MAX; i++)
		assert_int_equal(store_kv_del(fx->st, "k", done_count, counts), 0);
	assert_int_equal(store_kv_del(fx->st, "k", done_count, counts), ENOBUFS);
	turn(fx);
	assert_int_equal(counts[1], STORE_BATCH_MAX);
	assert_int_equal(counts[0], 0);
	raw_exec(other, "ROLLBACK");
	sqlite3_close(other);
	assert_int_equal(store_kv_del(fx->st, "k", done_count, counts), 0);
	turn(fx);
	assert_int_equal(counts[0], 1);
}

/* The checkpointer thread copies the WAL back into the database (off the loop), so the WAL is
 * restarted instead of growing. */
static void test_checkpointer_keeps_wal_short(void **state)
{
	struct fx *fx = *state;
	enum { ROWS = 3000, TURN = 100, UA = 2048 };
	char *ua = malloc(UA);
	struct store_stats s;
	char wal[160];
	struct stat sb;
	uint64_t t0;

	assert_non_null(ua);
	memset(ua, 'u', UA);
	fx_open(fx);
	assert_non_null(fx->st->ckpt);
	for (int i = 0; i < ROWS; i += TURN) {
		for (int j = i; j < i + TURN; j++) {
			char contact[32];
			struct store_reg r = reg_make("801", "", NULL, NOW + 60, 1);

			snprintf(contact, sizeof(contact), "sip:801@10.0.%d.%d", j / 256, j % 256);
			r.contact = pl_from_str(contact);
			r.user_agent = pl_from(ua, UA);
			assert_int_equal(store_reg_put(fx->st, &r, NULL, NULL), 0);
		}
		turn(fx);
	}
	/* Bounded wait for the thread (it runs on its own, at its own pace). */
	t0 = mono_ms();
	do {
		store_stats_get(fx->st, &s);
		if (s.checkpoints > 0)
			break;
		usleep(10000);
	} while (mono_ms() - t0 < 5000);
	assert_true(s.checkpoints > 0);
	/* Once everything is copied, the next write starts the WAL over and cuts the file back
	 * (journal_size_limit): it ends up smaller than the data written through it. */
	snprintf(wal, sizeof(wal), "%s-wal", fx->path);
	t0 = mono_ms();
	do {
		struct pl v = PL("v");

		usleep(20000);
		assert_int_equal(store_kv_set(fx->st, "k", &v, NULL, NULL), 0);
		turn(fx);
		assert_int_equal(stat(wal, &sb), 0);
	} while (sb.st_size >= (off_t)ROWS * UA && mono_ms() - t0 < 5000);
	assert_true(sb.st_size < (off_t)ROWS * UA);
	free(ua);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), ROWS);
}

/* ---------------------------------------------------------------------------------------------
 * Backup, restore, the one-daemon lock
 */

/* The whole file, for byte comparisons. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Call records nobody waits for share a commit: held while the batch holds only them, for
 * STORE_LAZY_MS or STORE_LAZY_MAX records; any other write commits them at the end of its turn;
 * a record with a done callback commits at the end of its turn as before. */
static uint64_t lazy_now;

static uint64_t lazy_clock(void *arg)
{
	(void)arg;
	return lazy_now;
}

static void lazy_cdr(struct fx *fx, int i, store_done_h *done, void *arg)
{
	char uid[16];
	struct store_cdr c = {0};

	snprintf(uid, sizeof(uid), "lz%d", i);
	c.uniqueid = pl_from(uid, strlen(uid));
	c.dst = pl_from("100", 3);
	assert_int_equal(store_cdr_add(fx->st, &c, done, arg), 0);
}

static void count_done(int err, void *arg)
{
	assert_int_equal(err, 0);
	(*(int *)arg)++;
}

static void test_cdr_lazy_commit(void **state)
{
	struct fx *fx = *state;
	struct store_reg r = {0};
	sqlite3 *db;
	int done = 0;

	lazy_now = 1000;
	loop_clock_set(fx->loop, lazy_clock, NULL);
	fx_open(fx);
	db = raw_open(fx->path);

	/* Long after the last commit (none yet): a record commits at the end of its turn. */
	lazy_cdr(fx, 1, NULL, NULL);
	turn(fx);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM cdr"), 1);
	/* Within STORE_LAZY_MS of that commit: records wait for the window's end. */
	lazy_now += 10;
	lazy_cdr(fx, 2, NULL, NULL);
	turn(fx);
	lazy_now += STORE_LAZY_MS - 11;
	turn(fx);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM cdr"), 1); /* still in its window */
	lazy_cdr(fx, 3, NULL, NULL);
	lazy_now += 1;
	turn(fx); /* the window's end: the kick timer fires, the hook commits both */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM cdr"), 3);

	/* Another write commits a lazy batch at the end of its turn. */
	lazy_cdr(fx, 4, NULL, NULL);
	turn(fx);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM cdr"), 3);
	r.peer = pl_from("p1", 2);
	r.contact = pl_from("sip:x@192.0.2.1", 15);
	r.expires = NOW + 600;
	r.registered_at = NOW;
	assert_int_equal(store_reg_put(fx->st, &r, count_done, &done), 0);
	turn(fx);
	assert_int_equal(done, 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM cdr"), 4);

	/* A record with a done callback is not lazy. */
	lazy_cdr(fx, 5, count_done, &done);
	turn(fx);
	assert_int_equal(done, 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM cdr"), 5);

	/* STORE_LAZY_MAX records commit without waiting for the window. */
	for (int i = 0; i < STORE_LAZY_MAX; i++)
		lazy_cdr(fx, 100 + i, NULL, NULL);
	turn(fx);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM cdr"), 5 + STORE_LAZY_MAX);

	/* Closing commits what is held. */
	lazy_cdr(fx, 6, NULL, NULL);
	turn(fx);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM cdr"), 5 + STORE_LAZY_MAX);
	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(raw_int(db, "SELECT count(*) FROM cdr"), 6 + STORE_LAZY_MAX);
	sqlite3_close(db);
	loop_clock_set(fx->loop, NULL, NULL);
}

/* A few rows of each table, committed. */
static void fill(struct fx *fx, int n)
{
	for (int i = 0; i < n; i++) {
		char peer[16], uid[16];
		struct store_reg r = {0};
		struct store_cdr c = {0};
		struct pl v = PL("lease");

		snprintf(peer, sizeof(peer), "p%d", i);
		snprintf(uid, sizeof(uid), "u%d", i);
		r.peer = pl_from(peer, strlen(peer));
		r.contact = pl_from("sip:x@192.0.2.1", 15);
		r.expires = NOW + 600;
		r.registered_at = NOW;
		assert_int_equal(store_reg_put(fx->st, &r, NULL, NULL), 0);
		c.uniqueid = pl_from(uid, strlen(uid));
		c.dst = pl_from("100", 3);
		assert_int_equal(store_cdr_add(fx->st, &c, NULL, NULL), 0);
		assert_int_equal(store_kv_set(fx->st, peer, &v, NULL, NULL), 0);
	}
	turn(fx);
}

static void test_newer_schema_file_untouched(void **state)
{
	struct fx *fx = *state;
	struct store *st = NULL;
	char *before, *after;
	size_t lb, la;
	sqlite3 *db;

	fx_open(fx);
	store_close(fx->st);
	fx->st = NULL;
	db = raw_open(fx->path);
	raw_exec(db, "PRAGMA journal_mode = DELETE; PRAGMA user_version = 99");
	sqlite3_close(db);
	before = slurp(fx->path, &lb);
	assert_int_equal(store_open(&st, fx->loop, fx->path), EPROTONOSUPPORT);
	assert_null(st);
	/* Not even the journal mode in the header was changed. */
	after = slurp(fx->path, &la);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, lb);
	free(before);
	free(after);
}

static void test_backup_and_restore(void **state)
{
	struct fx *fx = *state;
	char bak[192], why[512], saved[192];

	fx_open(fx);
	fill(fx, 5);
	snprintf(bak, sizeof(bak), "%s/backup.db", fx->dir);
	assert_int_equal(store_backup(fx->st, "relative.db", why, sizeof(why)), EINVAL);
	assert_int_equal(store_backup(fx->st, bak, why, sizeof(why)), 0);
	assert_int_equal(store_backup(fx->st, bak, why, sizeof(why)), EEXIST);
	assert_non_null(strstr(why, "not overwritten"));
	assert_int_equal(store_backup_check(bak, why, sizeof(why)), 0);
	/* More rows after the backup; the restore brings the database back to the backup. */
	fill(fx, 9);
	assert_int_equal(committed(fx, "SELECT count(*) FROM cdr"), 14);
	/* Refused while the store is open with the lock... */
	store_close(fx->st);
	fx->st = NULL;
	{
		struct store_opts o = {.lock = true};

		assert_int_equal(store_open_opts(&fx->st, fx->loop, fx->path, &o), 0);
		assert_int_equal(store_restore(bak, fx->path, why, sizeof(why)), EBUSY);
		assert_non_null(strstr(why, "running mikakad"));
		assert_int_equal(committed(fx, "SELECT count(*) FROM cdr"), 14);
		store_close(fx->st);
		fx->st = NULL;
	}
	/* ...done once it is closed; the old contents are kept beside it. */
	assert_int_equal(store_restore(bak, fx->path, why, sizeof(why)), 0);
	assert_int_equal(committed(fx, "SELECT count(*) FROM cdr"), 5);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 5);
	assert_int_equal(committed(fx, "SELECT count(*) FROM kv"), 5);
	snprintf(saved, sizeof(saved), "%s.before-restore", fx->path);
	{
		sqlite3 *db = raw_open(saved);

		assert_int_equal(raw_int(db, "SELECT count(*) FROM cdr"), 14);
		sqlite3_close(db);
	}
	fx_open(fx);
	assert_int_equal(committed(fx, "SELECT count(*) FROM reg"), 5);
}

static void test_lock_one_daemon(void **state)
{
	struct fx *fx = *state;
	struct store_opts o = {.lock = true};
	struct store *second = NULL;

	assert_int_equal(store_open_opts(&fx->st, fx->loop, fx->path, &o), 0);
	assert_int_equal(store_open_opts(&second, fx->loop, fx->path, &o), EBUSY);
	assert_null(second);
	/* Without the option (tools, tests) a second connection is still allowed. */
	assert_int_equal(store_open(&second, NULL, fx->path), 0);
	store_close(second);
	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(store_open_opts(&fx->st, fx->loop, fx->path, &o), 0);
}

static void test_backup_check_refusals(void **state)
{
	struct fx *fx = *state;
	char bak[192], bad[192], why[512], cmd[512];
	sqlite3 *db;
	FILE *f;

	fx_open(fx);
	fill(fx, 50);
	snprintf(bak, sizeof(bak), "%s/backup.db", fx->dir);
	assert_int_equal(store_backup(fx->st, bak, why, sizeof(why)), 0);

	snprintf(bad, sizeof(bad), "%s/missing.db", fx->dir);
	assert_int_equal(store_backup_check(bad, why, sizeof(why)), ENOENT);

	snprintf(bad, sizeof(bad), "%s/trunc.db", fx->dir);
	snprintf(cmd, sizeof(cmd), "head -c 5000 '%s' > '%s'", bak, bad);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(store_backup_check(bad, why, sizeof(why)), EINVAL);
	assert_non_null(strstr(why, "truncated"));

	snprintf(bad, sizeof(bad), "%s/text.db", fx->dir);
	f = fopen(bad, "w");
	assert_non_null(f);
	for (int i = 0; i < 20; i++)
		fputs("this is not an SQLite database\n", f);
	fclose(f);
	assert_int_equal(store_backup_check(bad, why, sizeof(why)), EINVAL);
	assert_non_null(strstr(why, "not an SQLite database"));

	snprintf(bad, sizeof(bad), "%s/foreign.db", fx->dir);
	db = raw_open(bad);
	raw_exec(db, "CREATE TABLE t (x)");
	sqlite3_close(db);
	assert_int_equal(store_backup_check(bad, why, sizeof(why)), EINVAL);
	assert_non_null(strstr(why, "not mikaka's"));

	snprintf(bad, sizeof(bad), "%s/newer.db", fx->dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", bak, bad);
	assert_int_equal(system(cmd), 0);
	db = raw_open(bad);
	raw_exec(db, "PRAGMA user_version = 99");
	sqlite3_close(db);
	assert_int_equal(store_backup_check(bad, why, sizeof(why)), EPROTONOSUPPORT);
	assert_non_null(strstr(why, "newer"));

	/* The live database itself is in WAL mode: not a backup. */
	assert_int_equal(store_backup_check(fx->path, why, sizeof(why)), EINVAL);
	assert_non_null(strstr(why, "WAL"));

	/* A restore of a refused file leaves the database exactly as it was. */
	store_close(fx->st);
	fx->st = NULL;
	assert_int_equal(store_restore(bad, fx->path, why, sizeof(why)), EPROTONOSUPPORT);
	assert_int_equal(committed(fx, "SELECT count(*) FROM cdr"), 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_creates_and_reopens, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_cdr_lazy_commit, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_open_sync_full_option, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_from_v1, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_upgrade_from_v3_keeps_bindings, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_files_refused, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_steps, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_reg_put_load_fields, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_reg_replace_delete_expire, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_reg_load_skips_and_deletes_expired, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_reg_invalid_and_stop, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_cdr_add_list, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_kv, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_batch_one_transaction_in_order, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_batch_write_from_callback_not_stranded, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_flush_without_loop, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_batch_locked_fails_every_write, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_batch_disk_full_rolls_back_all, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_batch_bounded, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_checkpointer_keeps_wal_short, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_file_untouched, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_backup_and_restore, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_lock_one_daemon, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_backup_check_refusals, fx_setup, fx_teardown),
	};

	log_set_level(LOG_NONE);
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
