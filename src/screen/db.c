/* db: the block list and the phonebook, in memory for the call path and in the store's
 * key/value table ("block/NUMBER" = "ADDED<TAB>NOTE", "pb/NUMBER" = NAME, "screen/last") so
 * they survive restarts. Writes are queued to the store's per-turn batch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "screen_int.h"
#include "store.h"

#define LOG_MODULE "screen"

struct screen_db {
	struct store *st;
	struct numset block;
	struct numset pb;
	char last[SCREEN_NUM_MAX];
};

static void done_h(int err, void *arg)
{
	(void)arg;
	if (err)
		log_error("block list / phonebook: a change could not be stored: %s",
			  strerror(err));
}

/* A large import fills the store's batch (STORE_BATCH_MAX writes): it is committed then and the
 * write queued again. */
static void put(struct screen_db *db, const char *key, const char *value)
{
	struct pl v = pl_from_str(value);
	int err;

	if (!db->st)
		return;
	err = store_kv_set(db->st, key, &v, done_h, NULL);
	if (err == ENOBUFS && store_flush(db->st) == 0)
		err = store_kv_set(db->st, key, &v, done_h, NULL);
	if (err)
		log_error("block list / phonebook: %s not stored: %s", key, strerror(err));
}

static void del(struct screen_db *db, const char *key)
{
	int err;

	if (!db->st)
		return;
	err = store_kv_del(db->st, key, done_h, NULL);
	if (err == ENOBUFS && store_flush(db->st) == 0)
		err = store_kv_del(db->st, key, done_h, NULL);
	if (err)
		log_error("block list / phonebook: %s not removed: %s", key, strerror(err));
}

static int load_block(const struct pl *key, const struct pl *value, void *arg)
{
	struct screen_db *db = arg;
	char spec[SCREEN_NUM_MAX + 1], note[256] = "";
	const char *tab = pl_chr(value, '\t');
	struct pl k = pl_from(key->p + 6, key->l - 6), added = *value;
	uint64_t t = 0;

	if (pl_strcpy(&k, spec, sizeof(spec)))
		return 0;
	if (tab) {
		struct pl nt = pl_from(tab + 1, value->l - (size_t)(tab + 1 - value->p));

		added.l = (size_t)(tab - value->p);
		pl_strcpy(&nt, note, sizeof(note));
	}
	pl_u64(&added, &t);
	return numset_add(&db->block, spec, note, (int64_t)t, NULL) == ENOMEM ? ENOMEM : 0;
}

static int load_pb(const struct pl *key, const struct pl *value, void *arg)
{
	struct screen_db *db = arg;
	char num[SCREEN_NUM_MAX + 1], name[SCREEN_NAME_MAX];
	struct pl k = pl_from(key->p + 3, key->l - 3);

	if (pl_strcpy(&k, num, sizeof(num)) || !value->l)
		return 0;
	pl_strcpy(value, name, sizeof(name));
	return numset_add(&db->pb, num, name, 0, NULL) == ENOMEM ? ENOMEM : 0;
}

int screen_db_alloc(struct screen_db **dbp, struct store *st)
{
	struct screen_db *db = calloc(1, sizeof(*db));
	int err;

	if (!db)
		return ENOMEM;
	db->st = st;
	if (numset_init(&db->block) || numset_init(&db->pb)) {
		numset_reset(&db->block);
		free(db);
		return ENOMEM;
	}
	if (st) {
		struct mbuf mb;

		err = store_kv_list(st, "block/", load_block, db);
		if (!err)
			err = store_kv_list(st, "pb/", load_pb, db);
		if (err) {
			screen_db_free(db);
			return err;
		}
		mbuf_init(&mb);
		if (store_kv_get(st, "screen/last", &mb) == 0 && mb.end < sizeof(db->last))
			memcpy(db->last, mb.buf, mb.end);
		mbuf_reset(&mb);
		log_info("%zu blocked numbers, %zu phonebook entries loaded",
			 numset_count(&db->block), numset_count(&db->pb));
	}
	*dbp = db;
	return 0;
}

void screen_db_free(struct screen_db *db)
{
	if (!db)
		return;
	numset_reset(&db->block);
	numset_reset(&db->pb);
	free(db);
}

bool screen_db_blocked(const struct screen_db *db, const char *num)
{
	return db && numset_match(&db->block, num) != NULL;
}

static void block_key(char *key, size_t size, const struct numset_ent *e)
{
	snprintf(key, size, "block/%s%s", e->num, e->prefix ? "*" : "");
}

int screen_db_block_add(struct screen_db *db, const char *num, const char *note)
{
	char spec[SCREEN_NUM_MAX + 1], key[64], val[320];
	struct numset_ent *e, *old;
	int err;

	if (!db || screen_spec_norm(num, spec, sizeof(spec)) || spec[0] == '*')
		return EINVAL;
	old = numset_find(&db->block, spec);
	if (old) /* re-added: it becomes the last entry (what undo removes) */
		numset_del(&db->block, old);
	err = numset_add(&db->block, spec, note, (int64_t)time(NULL), &e);
	if (err)
		return err;
	block_key(key, sizeof(key), e);
	snprintf(val, sizeof(val), "%lld\t%s", (long long)e->added, e->note ? e->note : "");
	if (old)
		del(db, key); /* a new row, so the stored order is the order of additions */
	put(db, key, val);
	log_notice("blocked %s%s%s", spec, note && *note ? ": " : "", note ? note : "");
	return 0;
}

int screen_db_block_del(struct screen_db *db, const char *num)
{
	char spec[SCREEN_NUM_MAX + 1], key[64];
	struct numset_ent *e;

	if (!db || screen_spec_norm(num, spec, sizeof(spec)))
		return EINVAL;
	e = numset_find(&db->block, spec);
	if (!e)
		return ENOENT;
	block_key(key, sizeof(key), e);
	del(db, key);
	numset_del(&db->block, e);
	log_notice("unblocked %s", spec);
	return 0;
}

int screen_db_block_undo(struct screen_db *db, char *out, size_t size)
{
	struct numset_ent *e;
	char key[64];

	if (!db || !db->block.order.tail)
		return ENOENT;
	e = db->block.order.tail->data;
	if (out && size)
		snprintf(out, size, "%s%s", e->num, e->prefix ? "*" : "");
	block_key(key, sizeof(key), e);
	del(db, key);
	log_notice("unblocked %s (the last entry)", e->num);
	numset_del(&db->block, e);
	return 0;
}

size_t screen_db_block_clear(struct screen_db *db)
{
	size_t n = 0;

	while (db && db->block.order.head) {
		struct numset_ent *e = db->block.order.head->data;
		char key[64];

		block_key(key, sizeof(key), e);
		del(db, key);
		numset_del(&db->block, e);
		n++;
	}
	if (n)
		log_notice("block list cleared (%zu entries)", n);
	return n;
}

size_t screen_db_block_count(const struct screen_db *db)
{
	return db ? numset_count(&db->block) : 0;
}

void screen_db_block_show(const struct screen_db *db, struct mbuf *out)
{
	mbuf_printf(out, "%-22s %-20s %s\n", "Number", "Added", "Note");
	LIST_FOREACH(&db->block.order, le)
	{
		const struct numset_ent *e = le->data;
		char when[32] = "-", num[SCREEN_NUM_MAX + 2];
		time_t t = (time_t)e->added;
		struct tm tm;

		if (t && localtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(num, sizeof(num), "%s%s", e->num, e->prefix ? "*" : "");
		mbuf_printf(out, "%-22s %-20s %s\n", num, when, e->note ? e->note : "");
	}
	mbuf_printf(out, "%zu blocked number%s; last caller: %s\n", numset_count(&db->block),
		    numset_count(&db->block) == 1 ? "" : "s", db->last[0] ? db->last : "none");
}

void screen_db_set_last(struct screen_db *db, const char *num)
{
	if (!db || !num || !num[0] || !strcmp(db->last, num))
		return;
	snprintf(db->last, sizeof(db->last), "%s", num);
	put(db, "screen/last", db->last);
}

const char *screen_db_last(const struct screen_db *db)
{
	return db ? db->last : "";
}

const char *screen_db_name(const struct screen_db *db, const char *num)
{
	const struct numset_ent *e;

	if (!db || !num || !num[0])
		return NULL;
	e = numset_find(&db->pb, num);
	return e ? e->note : NULL;
}

int screen_db_pb_set(struct screen_db *db, const char *num, const char *name)
{
	char n[SCREEN_NUM_MAX], key[64];
	int err;

	if (!db || !name || !name[0] || screen_number_norm(num, strlen(num), n, sizeof(n)))
		return EINVAL;
	err = numset_add(&db->pb, n, name, 0, NULL);
	if (err)
		return err;
	snprintf(key, sizeof(key), "pb/%s", n);
	put(db, key, name);
	return 0;
}

int screen_db_pb_del(struct screen_db *db, const char *num)
{
	char n[SCREEN_NUM_MAX], key[64];
	struct numset_ent *e;

	if (!db || screen_number_norm(num, strlen(num), n, sizeof(n)))
		return EINVAL;
	e = numset_find(&db->pb, n);
	if (!e)
		return ENOENT;
	snprintf(key, sizeof(key), "pb/%s", n);
	del(db, key);
	numset_del(&db->pb, e);
	return 0;
}

size_t screen_db_pb_clear(struct screen_db *db)
{
	size_t n = 0;

	while (db && db->pb.order.head) {
		struct numset_ent *e = db->pb.order.head->data;
		char key[64];

		snprintf(key, sizeof(key), "pb/%s", e->num);
		del(db, key);
		numset_del(&db->pb, e);
		n++;
	}
	return n;
}

size_t screen_db_pb_count(const struct screen_db *db)
{
	return db ? numset_count(&db->pb) : 0;
}

void screen_db_pb_show(const struct screen_db *db, struct mbuf *out)
{
	mbuf_printf(out, "%-22s %s\n", "Number", "Name");
	LIST_FOREACH(&db->pb.order, le)
	{
		const struct numset_ent *e = le->data;

		mbuf_printf(out, "%-22s %s\n", e->num, e->note ? e->note : "");
	}
	mbuf_printf(out, "%zu entr%s\n", numset_count(&db->pb),
		    numset_count(&db->pb) == 1 ? "y" : "ies");
}

static void set_foreach(const struct numset *s, screen_ent_h *h, void *arg)
{
	LIST_FOREACH(&s->order, le)
	{
		const struct numset_ent *e = le->data;

		h(e->num, e->prefix, e->added, e->note ? e->note : "", arg);
	}
}

void screen_db_block_foreach(const struct screen_db *db, screen_ent_h *h, void *arg)
{
	if (db)
		set_foreach(&db->block, h, arg);
}

void screen_db_pb_foreach(const struct screen_db *db, screen_ent_h *h, void *arg)
{
	if (db)
		set_foreach(&db->pb, h, arg);
}

static int import_h(const char *num, const char *name, void *arg)
{
	return screen_db_pb_set(arg, num, name) == ENOMEM ? ENOMEM : 0;
}

int screen_db_pb_import(struct screen_db *db, const char *path, struct mbuf *out)
{
	FILE *f;
	struct mbuf mb;
	char buf[65536];
	size_t n;
	long got;

	if (!db || !path)
		return EINVAL;
	f = fopen(path, "rb");
	if (!f) {
		mbuf_printf(out, "%s: %s\n", path, strerror(errno));
		return ENOENT;
	}
	mbuf_init(&mb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (mb.end + n > 16u * 1024 * 1024 || mbuf_write(&mb, buf, n)) {
			fclose(f);
			mbuf_reset(&mb);
			mbuf_printf(out, "%s: larger than 16 MiB or out of memory\n", path);
			return EFBIG;
		}
	}
	fclose(f);
	got = screen_pb_parse(path, mb.buf ? (const char *)mb.buf : "", mb.end, import_h, db, out);
	mbuf_reset(&mb);
	if (got < 0)
		return errno ? errno : EIO;
	mbuf_printf(out, "%ld entr%s imported from %s (%zu in the phonebook)\n", got,
		    got == 1 ? "y" : "ies", path, numset_count(&db->pb));
	return 0;
}
