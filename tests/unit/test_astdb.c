/* Unit tests for astdb: Asterisk's database on a real SQLite store: names, listing in key order
 * by whole steps, the dialplan's DB functions, the `database` commands' output, and persistence. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astdb.h"
#include "store.h"

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
};

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/mikaka-astdb.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/db", fx->dir);
	assert_int_equal(store_open(&fx->st, NULL, fx->path), 0);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[160];

	store_close(fx->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* The command's output as a string (static buffer), its result in *err. */
static const char *run(int (*cmd)(struct mbuf *, int, char **, void *), struct store *st,
		       int *err, int argc, ...)
{
	static char text[4096];
	char *argv[8];
	struct mbuf out;
	va_list ap;

	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	mbuf_init(&out);
	*err = cmd(&out, argc, argv, st);
	snprintf(text, sizeof(text), "%.*s", (int)out.end, out.buf ? (char *)out.buf : "");
	mbuf_reset(&out);
	return text;
}

static const char *get(struct store *st, const char *f, const char *k, int *err)
{
	static char text[256];
	struct mbuf mb;

	mbuf_init(&mb);
	*err = astdb_get(st, f, k, &mb);
	snprintf(text, sizeof(text), "%.*s", (int)mb.end, mb.buf ? (char *)mb.buf : "");
	mbuf_reset(&mb);
	return text;
}

static void test_put_get_del(void **state)
{
	struct fx *fx = *state;
	int err;

	assert_int_equal(astdb_put(fx->st, "cf", "801", "0312345678", 10), 0);
	assert_string_equal(get(fx->st, "cf", "801", &err), "0312345678");
	assert_int_equal(err, 0);
	/* Replaced, not added. */
	assert_int_equal(astdb_put(fx->st, "cf", "801", "0", 1), 0);
	assert_string_equal(get(fx->st, "cf", "801", &err), "0");
	/* Empty values exist. */
	assert_int_equal(astdb_put(fx->st, "cf", "802", "", 0), 0);
	get(fx->st, "cf", "802", &err);
	assert_int_equal(err, 0);
	get(fx->st, "cf", "803", &err);
	assert_int_equal(err, ENOENT);
	assert_int_equal(astdb_del(fx->st, "cf", "802"), 0);
	assert_int_equal(astdb_del(fx->st, "cf", "802"), ENOENT);
	get(fx->st, "cf", "802", &err);
	assert_int_equal(err, ENOENT);
}

static void test_bad_names(void **state)
{
	struct fx *fx = *state;
	char longkey[ASTDB_KEY_MAX + 2];
	static const char *const bad[][2] = {
	    {"", "k"},	      {"f", ""},   {"f/g", "k"}, {"f", "/k"},  {"f", "k/"},
	    {"f", "a//b"},    {" f", "k"}, {"f", "k "},	 {"f\n", "k"}, {"f", "k\x01"},
	};
	int err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(astdb_put(fx->st, bad[i][0], bad[i][1], "v", 1), EINVAL);
		get(fx->st, bad[i][0], bad[i][1], &err);
		assert_int_equal(err, EINVAL);
	}
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(astdb_put(fx->st, "f", longkey, "v", 1), EINVAL);
	assert_int_equal(astdb_put(fx->st, "f", "k", "v", ASTDB_VALUE_MAX + 1), EINVAL);
	/* A key tree is a key with '/' in it. */
	assert_int_equal(astdb_put(fx->st, "f", "a/b", "v", 1), 0);
}

static void fill(struct store *st)
{
	assert_int_equal(astdb_put(st, "night", "mode", "1", 1), 0);
	assert_int_equal(astdb_put(st, "cf", "802", "b", 1), 0);
	assert_int_equal(astdb_put(st, "cf", "801", "a", 1), 0);
	assert_int_equal(astdb_put(st, "cf", "801/busy", "c", 1), 0);
	/* A family whose name starts with another's must not show under it. */
	assert_int_equal(astdb_put(st, "cfx", "9", "x", 1), 0);
}

static void test_show_order_and_steps(void **state)
{
	struct fx *fx = *state;
	const char *s;
	int err;

	fill(fx->st);
	s = run(astdb_cmd_show, fx->st, &err, 1, "cf");
	assert_int_equal(err, 0);
	assert_string_equal(s, "/cf/801                                           : a                        \n"
			       "/cf/801/busy                                      : c                        \n"
			       "/cf/802                                           : b                        \n"
			       "3 results found.\n");
	s = run(astdb_cmd_show, fx->st, &err, 0);
	assert_non_null(strstr(s, "5 results found.\n"));
	assert_true(strstr(s, "/cf/802") < strstr(s, "/cfx/9"));
	assert_true(strstr(s, "/cfx/9") < strstr(s, "/night/mode"));
	/* family + key tree: the key itself and what is below it. */
	s = run(astdb_cmd_show, fx->st, &err, 2, "cf", "801");
	assert_non_null(strstr(s, "/cf/801 "));
	assert_non_null(strstr(s, "/cf/801/busy"));
	assert_non_null(strstr(s, "2 results found.\n"));
	s = run(astdb_cmd_showkey, fx->st, &err, 1, "busy");
	assert_non_null(strstr(s, "/cf/801/busy"));
	assert_non_null(strstr(s, "1 results found.\n"));
	s = run(astdb_cmd_show, fx->st, &err, 1, "nothing");
	assert_string_equal(s, "0 results found.\n");
}

static void test_commands(void **state)
{
	struct fx *fx = *state;
	const char *s;
	int err;

	s = run(astdb_cmd_put, fx->st, &err, 4, "cf", "801", "\"hello", "world\"");
	assert_int_equal(err, 0);
	assert_string_equal(s, "Updated database successfully\n");
	s = run(astdb_cmd_get, fx->st, &err, 2, "cf", "801");
	assert_string_equal(s, "Value: hello world\n");
	s = run(astdb_cmd_get, fx->st, &err, 2, "cf", "802");
	assert_int_equal(err, ENOENT);
	assert_string_equal(s, "Database entry not found.\n");
	s = run(astdb_cmd_put, fx->st, &err, 2, "cf", "801");
	assert_int_equal(err, EINVAL);
	s = run(astdb_cmd_del, fx->st, &err, 2, "cf", "801");
	assert_string_equal(s, "Database entry removed.\n");
	s = run(astdb_cmd_del, fx->st, &err, 2, "cf", "801");
	assert_int_equal(err, ENOENT);
	assert_string_equal(s, "Database entry does not exist.\n");
	fill(fx->st);
	s = run(astdb_cmd_deltree, fx->st, &err, 2, "cf", "801");
	assert_string_equal(s, "2 database entries removed.\n");
	s = run(astdb_cmd_deltree, fx->st, &err, 1, "cf");
	assert_string_equal(s, "1 database entries removed.\n");
	s = run(astdb_cmd_deltree, fx->st, &err, 1, "cf");
	assert_int_equal(err, ENOENT);
	assert_string_equal(s, "Database entries do not exist.\n");
	/* cfx and night were not touched. */
	s = run(astdb_cmd_show, fx->st, &err, 0);
	assert_non_null(strstr(s, "2 results found.\n"));
}

struct fcall {
	const char *name, *args, *out, *result; /* result NULL: DB_RESULT not set */
};

static void test_functions(void **state)
{
	struct fx *fx = *state;
	static const struct fcall t[] = {
	    {"DB", "cf/801", "a", "a"},
	    {"db", " cf / 801 ", "a", "a"},
	    {"DB", "cf/803", "", NULL},
	    {"DB", "nofamily", "", NULL},
	    {"DB_EXISTS", "cf/802", "1", "b"},
	    {"DB_EXISTS", "cf/803", "0", NULL},
	    {"DB_EXISTS", "bad", "0", NULL},
	    {"DB_KEYS", "cf", "801,802", NULL},
	    {"DB_KEYS", "/cf/", "801,802", NULL},
	    {"DB_KEYS", "cf/801", "busy", NULL},
	    {"DB_KEYS", "", "cf,cfx,night", NULL},
	    {"DB_KEYS", "none", "", NULL},
	    {"DB_KEYCOUNT", "cf", "2", NULL},
	    {"DB_KEYCOUNT", "", "3", NULL},
	    {"DB_DELETE", "night/mode", "1", "1"},
	    {"DB_DELETE", "night/mode", "", NULL},
	    {"DB_EXISTS", "night/mode", "0", NULL},
	};

	fill(fx->st);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct mbuf out, res;
		bool set;

		mbuf_init(&out);
		mbuf_init(&res);
		assert_int_equal(astdb_func_read(fx->st, t[i].name, t[i].args, &out, &res, &set), 0);
		if (strcmp(t[i].out, "") || out.end) {
			assert_int_equal(out.end, strlen(t[i].out));
			assert_memory_equal(out.buf, t[i].out, out.end);
		}
		assert_int_equal(set, t[i].result != NULL);
		if (t[i].result) {
			assert_int_equal(res.end, strlen(t[i].result));
			assert_memory_equal(res.buf, t[i].result, res.end);
		}
		mbuf_reset(&out);
		mbuf_reset(&res);
	}
	{
		struct mbuf out, res;
		bool set;

		mbuf_init(&out);
		mbuf_init(&res);
		assert_int_equal(astdb_func_read(fx->st, "CALLERID", "num", &out, &res, &set),
				 ENOENT);
		mbuf_reset(&out);
		mbuf_reset(&res);
	}
}

static void test_writes_and_persistence(void **state)
{
	struct fx *fx = *state;
	int err;

	assert_int_equal(astdb_func_write(fx->st, "DB", "cf/801", "0312345678", 10), 0);
	assert_int_equal(astdb_func_write(fx->st, "DB", "cf/802", "x", 1), 0);
	assert_int_equal(astdb_func_write(fx->st, "DB", "cf", "x", 1), EINVAL);
	assert_int_equal(astdb_func_write(fx->st, "CALLERID", "num", "x", 1), ENOENT);
	assert_int_equal(astdb_func_write(fx->st, "DB_DELETE", "cf/802", "", 0), 0);
	assert_int_equal(astdb_func_write(fx->st, "DB_DELETE", "cf/802", "", 0), 0);
	assert_int_equal(astdb_func_write(fx->st, "DB", "tree/a/b", "1", 1), 0);
	assert_int_equal(astdb_func_write(fx->st, "DB", "tree/a/c", "1", 1), 0);
	assert_int_equal(astdb_func_write(fx->st, "DB", "tree/d", "1", 1), 0);
	assert_int_equal(astdb_func_write(fx->st, "DBdeltree", "tree/a", "", 0), 0);
	get(fx->st, "tree", "a/b", &err);
	assert_int_equal(err, ENOENT);
	get(fx->st, "tree", "d", &err);
	assert_int_equal(err, 0);
	/* Across a restart. */
	store_close(fx->st);
	assert_int_equal(store_open(&fx->st, NULL, fx->path), 0);
	assert_string_equal(get(fx->st, "cf", "801", &err), "0312345678");
	get(fx->st, "cf", "802", &err);
	assert_int_equal(err, ENOENT);
	get(fx->st, "tree", "d", &err);
	assert_int_equal(err, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_put_get_del, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_names, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_show_order_and_steps, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_commands, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_functions, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_writes_and_persistence, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
