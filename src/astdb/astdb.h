/* astdb: Asterisk's database (DB(), DB_EXISTS(), DB_DELETE(), DB_KEYS(), DBdeltree and the
 * `database` commands) kept in the state store's key/value table, so that dialplans that keep
 * day/night switches, call forwarding targets or blocked numbers in it work unchanged. */
#ifndef MIKAKA_ASTDB_H
#define MIKAKA_ASTDB_H

#include <stdbool.h>
#include <stddef.h>

#include "base.h"

struct store;

/* A key is "/family/key..." (the key may hold further '/': a key tree). Both parts are non-empty,
 * printable, without spaces at either end, and the whole is at most ASTDB_KEY_MAX bytes. */
#define ASTDB_KEY_MAX	200
#define ASTDB_VALUE_MAX 8192
/* Prefix of the store's keys that hold the database ("astdb/family/key"). */
#define ASTDB_STORE_PREFIX "astdb"

/* Appends the value of family/key to out; ENOENT when absent, EINVAL for a bad name. */
int astdb_get(struct store *st, const char *family, const char *key, struct mbuf *out);
/* Sets family/key (committed at the end of the loop turn, as every store write). */
int astdb_put(struct store *st, const char *family, const char *key, const char *value,
	      size_t vlen);
/* Deletes family/key; ENOENT when it was not there. */
int astdb_del(struct store *st, const char *family, const char *key);
/* Deletes family (keytree NULL or empty: the whole family) or the keys under family/keytree
 * (keytree itself included); *removed gets how many (may be 0). */
int astdb_deltree(struct store *st, const char *family, const char *keytree, size_t *removed);

/* Called per entry in key order; key is the full "/family/key". Non-zero stops and is returned. */
typedef int(astdb_each_h)(const char *key, const struct pl *value, void *arg);
/* Every entry whose full key starts with prefix ("" or "/": all), in key order. */
int astdb_list(struct store *st, const char *prefix, astdb_each_h *each, void *arg);

/* The dialplan's functions. Reading: DB(family/key), DB_EXISTS(family/key) (1 or 0),
 * DB_DELETE(family/key) (the value, then deleted), DB_KEYS([prefix]) (the keys one level below
 * prefix, comma-separated), DB_KEYCOUNT([prefix]). When the key was found, DB, DB_EXISTS and
 * DB_DELETE write its value to result as well and set *set_result: the caller sets DB_RESULT
 * from it (Asterisk's behaviour). Returns ENOENT when name is none of these functions. */
int astdb_func_read(struct store *st, const char *name, const char *args, struct mbuf *out,
		    struct mbuf *result, bool *set_result);
/* Set(DB(family/key)=value) and Set(DB_DELETE(family/key)=ignored); name "DBdeltree" is the
 * DBdeltree(family[/keytree]) application. ENOENT when name is none of these, EINVAL for a bad
 * key. */
int astdb_func_write(struct store *st, const char *name, const char *args, const char *value,
		     size_t vlen);

/* The `database` commands, as Asterisk's CLI prints them (argv: the words after the command's
 * own words; arg: the store). */
int astdb_cmd_show(struct mbuf *out, int argc, char **argv, void *arg);
int astdb_cmd_showkey(struct mbuf *out, int argc, char **argv, void *arg);
int astdb_cmd_get(struct mbuf *out, int argc, char **argv, void *arg);
int astdb_cmd_put(struct mbuf *out, int argc, char **argv, void *arg);
int astdb_cmd_del(struct mbuf *out, int argc, char **argv, void *arg);
int astdb_cmd_deltree(struct mbuf *out, int argc, char **argv, void *arg);

#endif /* MIKAKA_ASTDB_H */
