/* astdb: Asterisk's database on the store's key/value table: names, listing, the dialplan's DB
 * functions and the `database` commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "astdb.h"
#include "store.h"

#define LOG_MODULE "astdb"

/* "astdb" + "/family/key" + NUL */
#define FULL_MAX (sizeof(ASTDB_STORE_PREFIX) + ASTDB_KEY_MAX + 1)

static bool name_ok(const char *s, size_t n, bool slash_ok)
{
	if (!n || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (c == '/' && !slash_ok))
			return false;
	}
	/* An empty step ("a//b") or a trailing '/' names nothing one can list again. */
	return !memmem(s, n, "//", 2) && s[n - 1] != '/' && s[0] != '/';
}

/* "astdb/family/key" into buf; EINVAL for a bad family or key. */
static int full_key(char *buf, const char *family, size_t fl, const char *key, size_t kl)
{
	size_t p = sizeof(ASTDB_STORE_PREFIX) - 1;

	if (!name_ok(family, fl, false) || !name_ok(key, kl, true) || fl + kl + 2 > ASTDB_KEY_MAX)
		return EINVAL;
	memcpy(buf, ASTDB_STORE_PREFIX, p);
	buf[p++] = '/';
	memcpy(buf + p, family, fl);
	p += fl;
	buf[p++] = '/';
	memcpy(buf + p, key, kl);
	buf[p + kl] = '\0';
	return 0;
}

int astdb_get(struct store *st, const char *family, const char *key, struct mbuf *out)
{
	char k[FULL_MAX];
	int err;

	if (!family || !key)
		return EINVAL;
	err = full_key(k, family, strlen(family), key, strlen(key));
	return err ? err : store_kv_get(st, k, out);
}

int astdb_put(struct store *st, const char *family, const char *key, const char *value,
	      size_t vlen)
{
	char k[FULL_MAX];
	struct pl v = pl_from(value ? value : "", value ? vlen : 0);
	int err;

	if (!family || !key || vlen > ASTDB_VALUE_MAX)
		return EINVAL;
	err = full_key(k, family, strlen(family), key, strlen(key));
	return err ? err : store_kv_set(st, k, &v, NULL, NULL);
}

int astdb_del(struct store *st, const char *family, const char *key)
{
	char k[FULL_MAX];
	struct mbuf mb;
	int err;

	if (!family || !key)
		return EINVAL;
	err = full_key(k, family, strlen(family), key, strlen(key));
	if (err)
		return err;
	mbuf_init(&mb);
	err = store_kv_get(st, k, &mb);
	mbuf_reset(&mb);
	return err ? err : store_kv_del(st, k, NULL, NULL);
}

/* ---- listing: the store lists by insertion; Asterisk's commands list in key order ------------ */

struct entry {
	char *key; /* "/family/key", one block with the value after it */
	struct pl value;
};

struct collect {
	const char *under; /* full store key the entries are at or below ("astdb/fam") */
	size_t ulen;
	struct entry *v;
	size_t n, cap;
	int err;
};

static int collect_one(const struct pl *key, const struct pl *value, void *arg)
{
	struct collect *c = arg;
	size_t skip = sizeof(ASTDB_STORE_PREFIX) - 1, kl;
	char *blk;

	/* At prefix, or below it by a whole step: "/fam" lists "/fam/x", not "/family/x". */
	if (key->l < c->ulen || (key->l > c->ulen && key->p[c->ulen] != '/'))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct entry *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	kl = key->l - skip;
	blk = malloc(kl + 1 + value->l + 1);
	if (!blk)
		return ENOMEM;
	memcpy(blk, key->p + skip, kl);
	blk[kl] = '\0';
	memcpy(blk + kl + 1, value->p, value->l);
	blk[kl + 1 + value->l] = '\0';
	c->v[c->n].key = blk;
	c->v[c->n].value = pl_from(blk + kl + 1, value->l);
	c->n++;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

int astdb_list(struct store *st, const char *prefix, astdb_each_h *each, void *arg)
{
	char under[FULL_MAX + 1];
	struct collect c = {0};
	size_t pl;
	int n, err;

	if (!prefix || !each)
		return EINVAL;
	while (*prefix == '/')
		prefix++;
	pl = strlen(prefix);
	while (pl && prefix[pl - 1] == '/')
		pl--;
	if (pl > ASTDB_KEY_MAX)
		return EINVAL;
	n = pl ? snprintf(under, sizeof(under), "%s/%.*s", ASTDB_STORE_PREFIX, (int)pl, prefix)
	       : snprintf(under, sizeof(under), "%s", ASTDB_STORE_PREFIX);
	if (n < 0 || (size_t)n >= sizeof(under) - 1)
		return EINVAL;
	c.under = under;
	c.ulen = (size_t)n;
	/* The store's listing is by prefix bytes; collect_one keeps whole steps only. */
	under[n] = '/';
	under[n + 1] = '\0';
	err = store_kv_list(st, under, collect_one, &c);
	under[n] = '\0';
	if (!err && pl) {
		/* The prefix itself may be a key ("/fam/key" shows that key). */
		struct mbuf mb;

		mbuf_init(&mb);
		if (store_kv_get(st, under, &mb) == 0) {
			struct pl k = pl_from(under, (size_t)n), v = pl_from(mb.buf ? (char *)mb.buf : "",
									      mb.end);

			err = collect_one(&k, &v, &c);
		}
		mbuf_reset(&mb);
	}
	if (!err) {
		if (c.n > 1)
			qsort(c.v, c.n, sizeof(*c.v), entry_cmp);
		for (size_t i = 0; i < c.n && !err; i++)
			err = each(c.v[i].key, &c.v[i].value, arg);
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i].key);
	free(c.v);
	return err;
}

struct deltree {
	struct store *st;
	size_t n;
};

static int del_one(const char *key, const struct pl *value, void *arg)
{
	struct deltree *d = arg;
	char k[FULL_MAX];
	int n = snprintf(k, sizeof(k), "%s%s", ASTDB_STORE_PREFIX, key);

	(void)value;
	if (n < 0 || (size_t)n >= sizeof(k))
		return EINVAL;
	d->n++;
	return store_kv_del(d->st, k, NULL, NULL);
}

int astdb_deltree(struct store *st, const char *family, const char *keytree, size_t *removed)
{
	char prefix[FULL_MAX];
	struct deltree d = {st, 0};
	size_t fl;
	int err;

	if (!family)
		return EINVAL;
	fl = strlen(family);
	if (keytree && *keytree)
		err = full_key(prefix, family, fl, keytree, strlen(keytree));
	else
		err = name_ok(family, fl, false) && fl < ASTDB_KEY_MAX
			      ? (snprintf(prefix, sizeof(prefix), "%s/%s", ASTDB_STORE_PREFIX, family),
				 0)
			      : EINVAL;
	if (err)
		return err;
	err = astdb_list(st, prefix + sizeof(ASTDB_STORE_PREFIX) - 1, del_one, &d);
	if (removed)
		*removed = d.n;
	return err;
}

/* ---- dialplan functions --------------------------------------------------------------------- */

/* "family/key" (spaces around each part dropped) into its two parts, in buf. */
static int split_arg(const char *args, char *buf, size_t sz, const char **family, const char **key)
{
	char *slash, *f, *k, *e;
	size_t n = strlen(args);

	if (n >= sz)
		return EINVAL;
	memcpy(buf, args, n + 1);
	slash = strchr(buf, '/');
	if (!slash)
		return EINVAL;
	*slash = '\0';
	f = buf;
	k = slash + 1;
	while (*f == ' ')
		f++;
	for (e = slash; e > f && e[-1] == ' '; e--)
		e[-1] = '\0';
	while (*k == ' ')
		k++;
	for (e = k + strlen(k); e > k && e[-1] == ' '; e--)
		e[-1] = '\0';
	*family = f;
	*key = k;
	return 0;
}

struct keys {
	const char *prefix; /* "/fam" or "" */
	size_t plen;
	struct mbuf *out;
	char last[ASTDB_KEY_MAX + 1];
	size_t count;
	int err;
};

/* The step right below the prefix, once per distinct step (entries come in key order). */
static int key_step(const char *key, const struct pl *value, void *arg)
{
	struct keys *k = arg;
	const char *s = key + k->plen, *e;
	size_t n;

	(void)value;
	if (*s != '/')
		return 0; /* the prefix itself */
	s++;
	e = strchr(s, '/');
	n = e ? (size_t)(e - s) : strlen(s);
	if (n >= sizeof(k->last) || (strlen(k->last) == n && !memcmp(k->last, s, n)))
		return 0;
	memcpy(k->last, s, n);
	k->last[n] = '\0';
	if (k->out) {
		if (k->count && mbuf_write_str(k->out, ","))
			return ENOMEM;
		if (mbuf_write(k->out, s, n))
			return ENOMEM;
	}
	k->count++;
	return 0;
}

static int keys_of(struct store *st, const char *args, struct mbuf *out, size_t *count)
{
	char prefix[ASTDB_KEY_MAX + 2];
	struct keys k = {0};
	size_t n;
	int err;

	while (*args == ' ' || *args == '/')
		args++;
	n = strlen(args);
	while (n && (args[n - 1] == ' ' || args[n - 1] == '/'))
		n--;
	if (n > ASTDB_KEY_MAX)
		return EINVAL;
	if (n)
		snprintf(prefix, sizeof(prefix), "/%.*s", (int)n, args);
	else
		prefix[0] = '\0';
	k.prefix = prefix;
	k.plen = strlen(prefix);
	k.out = out;
	err = astdb_list(st, prefix, key_step, &k);
	if (count)
		*count = k.count;
	return err;
}

int astdb_func_read(struct store *st, const char *name, const char *args, struct mbuf *out,
		    struct mbuf *result, bool *set_result)
{
	char buf[ASTDB_KEY_MAX + 2];
	const char *family, *key;
	bool exists = !strcasecmp(name, "DB_EXISTS"), del = !strcasecmp(name, "DB_DELETE");
	struct mbuf v;
	int err;

	*set_result = false;
	if (!strcasecmp(name, "DB_KEYS"))
		return keys_of(st, args, out, NULL) == ENOMEM ? ENOMEM : 0;
	if (!strcasecmp(name, "DB_KEYCOUNT")) {
		size_t n = 0;

		if (keys_of(st, args, NULL, &n) == ENOMEM)
			return ENOMEM;
		return mbuf_write_u64(out, n);
	}
	if (!exists && !del && strcasecmp(name, "DB"))
		return ENOENT;
	if (split_arg(args, buf, sizeof(buf), &family, &key)) {
		log_warn("%s(%s): the argument is family/key", name, args);
		return exists ? mbuf_write_str(out, "0") : 0;
	}
	mbuf_init(&v);
	err = astdb_get(st, family, key, &v);
	if (err == 0) {
		if (mbuf_write(result, v.buf ? (const void *)v.buf : "", v.end) == 0)
			*set_result = true;
		err = exists ? mbuf_write_str(out, "1") : mbuf_write(out, v.buf, v.end);
		if (!err && del)
			err = astdb_del(st, family, key);
	} else if (err == ENOENT || err == EINVAL) {
		if (err == EINVAL)
			log_warn("%s(%s): not a valid family/key", name, args);
		err = exists ? mbuf_write_str(out, "0") : 0;
	}
	mbuf_reset(&v);
	return err;
}

int astdb_func_write(struct store *st, const char *name, const char *args, const char *value,
		     size_t vlen)
{
	char buf[ASTDB_KEY_MAX + 2];
	const char *family, *key;
	bool del = !strcasecmp(name, "DB_DELETE");
	int err;

	if (!strcasecmp(name, "DBdeltree")) {
		const char *slash = strchr(args, '/');
		char fam[ASTDB_KEY_MAX + 1];
		size_t fl = slash ? (size_t)(slash - args) : strlen(args);

		if (fl > ASTDB_KEY_MAX)
			return EINVAL;
		memcpy(fam, args, fl);
		fam[fl] = '\0';
		err = astdb_deltree(st, fam, slash ? slash + 1 : NULL, NULL);
		return err;
	}
	if (!del && strcasecmp(name, "DB"))
		return ENOENT;
	if (split_arg(args, buf, sizeof(buf), &family, &key))
		return EINVAL;
	if (del) {
		err = astdb_del(st, family, key);
		return err == ENOENT ? 0 : err;
	}
	return astdb_put(st, family, key, value, vlen);
}

/* ---- the `database` commands ---------------------------------------------------------------- */

struct show {
	struct mbuf *out;
	const char *suffix; /* showkey: keys ending in "/suffix" */
	size_t n;
};

static int show_one(const char *key, const struct pl *value, void *arg)
{
	struct show *s = arg;

	if (s->suffix) {
		size_t kl = strlen(key), sl = strlen(s->suffix);

		if (kl <= sl + 1 || key[kl - sl - 1] != '/' || strcmp(key + kl - sl, s->suffix))
			return 0;
	}
	s->n++;
	return mbuf_printf(s->out, "%-50s: %-25.*s\n", key, (int)value->l, value->p);
}

int astdb_cmd_show(struct mbuf *out, int argc, char **argv, void *arg)
{
	char prefix[ASTDB_KEY_MAX + 2];
	struct show s = {out, NULL, 0};
	int err;

	if (argc > 2)
		return mbuf_write_str(out, "Usage: database show [family [keytree]]\n"), EINVAL;
	if (argc == 0)
		prefix[0] = '\0';
	else if ((size_t)snprintf(prefix, sizeof(prefix), "/%s%s%s", argv[0], argc == 2 ? "/" : "",
				  argc == 2 ? argv[1] : "") >= sizeof(prefix))
		return EINVAL;
	err = astdb_list(arg, prefix, show_one, &s);
	if (err == EINVAL)
		return mbuf_write_str(out, "Not a valid family or key tree.\n"), EINVAL;
	if (!err)
		err = mbuf_printf(out, "%zu results found.\n", s.n);
	return err;
}

int astdb_cmd_showkey(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct show s = {out, NULL, 0};
	int err;

	if (argc != 1)
		return mbuf_write_str(out, "Usage: database showkey <keytree>\n"), EINVAL;
	s.suffix = argv[0];
	while (*s.suffix == '/')
		s.suffix++;
	err = astdb_list(arg, "", show_one, &s);
	if (!err)
		err = mbuf_printf(out, "%zu results found.\n", s.n);
	return err;
}

int astdb_cmd_get(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct mbuf v;
	int err;

	if (argc != 2)
		return mbuf_write_str(out, "Usage: database get <family> <key>\n"), EINVAL;
	mbuf_init(&v);
	err = astdb_get(arg, argv[0], argv[1], &v);
	if (!err)
		mbuf_printf(out, "Value: %.*s\n", (int)v.end, v.buf ? (const char *)v.buf : "");
	else if (err == ENOENT || err == EINVAL)
		mbuf_write_str(out, "Database entry not found.\n");
	mbuf_reset(&v);
	return err;
}

/* The value is every word after the key, joined by one space; one pair of surrounding double
 * quotes is dropped ("value with spaces", as Asterisk's CLI is typed). */
int astdb_cmd_put(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct mbuf v;
	int err = 0;

	if (argc < 3)
		return mbuf_write_str(out, "Usage: database put <family> <key> <value>\n"), EINVAL;
	mbuf_init(&v);
	for (int i = 2; i < argc && !err; i++) {
		if (i > 2)
			err = mbuf_write_str(&v, " ");
		if (!err)
			err = mbuf_write_str(&v, argv[i]);
	}
	if (!err) {
		const char *p = (const char *)v.buf;
		size_t n = v.end;

		if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
			p++;
			n -= 2;
		}
		err = astdb_put(arg, argv[0], argv[1], p, n);
	}
	mbuf_reset(&v);
	mbuf_write_str(out, err ? "Failed to update entry\n" : "Updated database successfully\n");
	return err;
}

int astdb_cmd_del(struct mbuf *out, int argc, char **argv, void *arg)
{
	int err;

	if (argc != 2)
		return mbuf_write_str(out, "Usage: database del <family> <key>\n"), EINVAL;
	err = astdb_del(arg, argv[0], argv[1]);
	if (!err)
		mbuf_write_str(out, "Database entry removed.\n");
	else if (err == ENOENT || err == EINVAL)
		mbuf_write_str(out, "Database entry does not exist.\n");
	return err;
}

int astdb_cmd_deltree(struct mbuf *out, int argc, char **argv, void *arg)
{
	size_t n = 0;
	int err;

	if (argc < 1 || argc > 2)
		return mbuf_write_str(out, "Usage: database deltree <family> [keytree]\n"), EINVAL;
	err = astdb_deltree(arg, argv[0], argc == 2 ? argv[1] : NULL, &n);
	if (err == EINVAL)
		return mbuf_write_str(out, "Database entries do not exist.\n"), EINVAL;
	if (err)
		return err;
	if (!n)
		return mbuf_write_str(out, "Database entries do not exist.\n"), ENOENT;
	return mbuf_printf(out, "%zu database entries removed.\n", n);
}
