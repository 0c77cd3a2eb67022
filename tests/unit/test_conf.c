/* test_conf: unit tests for the Asterisk-dialect configuration reader (src/conf). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "conf.h"

#define SEED_SIP "tests/unit/data/seed-sip.conf"
#define SEED_EXT "tests/unit/data/seed-extensions.conf"
#define RAW_SIP "tests/fuzz/corpus/conf/post-sip.conf"
#define RAW_EXT "tests/fuzz/corpus/conf/post-extensions.conf"

/* ---- helpers -------------------------------------------------------------------------------- */

static size_t count_sections(const struct conf *conf)
{
	size_t n = 0;

	for (const struct conf_section *s = conf_sections(conf); s; s = s->next)
		n++;
	return n;
}

static size_t count_vars(const struct conf_section *sec)
{
	size_t n = 0;

	for (const struct conf_var *v = sec->vars; v; v = v->next)
		n++;
	return n;
}

/* The n-th section in file order, templates included. */
static const struct conf_section *nth_section(const struct conf *conf, size_t n)
{
	const struct conf_section *s = conf_sections(conf);

	while (s && n--)
		s = s->next;
	return s;
}

static const struct conf_section *any_section(const struct conf *conf, const char *name)
{
	for (const struct conf_section *s = conf_sections(conf); s; s = s->next) {
		if (!strcmp(s->name, name))
			return s;
	}
	return NULL;
}

static const struct conf_var *nth_var(const struct conf_section *sec, size_t n)
{
	const struct conf_var *v = sec ? sec->vars : NULL;

	while (v && n--)
		v = v->next;
	return v;
}

static void check_var(const struct conf_var *v, const char *name, const char *value, bool arrow,
		      bool inherited, const char *file, unsigned line)
{
	assert_non_null(v);
	assert_string_equal(v->name, name);
	assert_string_equal(v->value, value);
	assert_int_equal(v->arrow, arrow);
	assert_int_equal(v->inherited, inherited);
	assert_string_equal(v->origin.file, file);
	assert_int_equal(v->origin.line, line);
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

struct tmp {
	char dir[64];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/mikaka-conf-XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;

	nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static char *tmp_path(const struct tmp *t, const char *rel)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", t->dir, rel) > 0);
	return p;
}

/* Checks the only error of a failed load, its origin and its formatted form. */
static void check_one_error(const struct conf_diags *d, const char *file, unsigned line,
			    const char *fragment)
{
	char buf[1024], where[512];

	assert_int_equal(d->errors, 1);
	for (size_t i = 0; i < d->count; i++) {
		const struct conf_diag *g = &d->items[i];

		if (g->severity != CONF_ERROR)
			continue;
		assert_string_equal(g->origin.file, file);
		assert_int_equal(g->origin.line, line);
		if (!strstr(g->message, fragment))
			fail_msg("message '%s' lacks '%s'", g->message, fragment);
		assert_int_equal(conf_diag_format(g, buf, sizeof(buf)), 0);
		snprintf(where, sizeof(where), "%s:%u: error: ", file, line);
		assert_non_null(strstr(buf, where));
		return;
	}
	fail_msg("no error found");
}

/* ---- key/value lines and comments (table) -------------------------------------------------- */

struct kv_case {
	const char *text;
	const char *key;
	const char *value; /* of the last var named key */
	bool arrow;
	unsigned line;
	size_t nvars; /* in the first section */
};

static const struct kv_case kv_cases[] = {
	{"[s]\nk=v\n", "k", "v", false, 2, 1},
	{"[s]\n  k  =   v w  \n", "k", "v w", false, 2, 1},
	{"[s]\n\tk\t=>\tv\t\n", "k", "v", true, 2, 1},
	{"[s]\nk =>\n", "k", "", true, 2, 1},
	{"[s]\nk=\n", "k", "", false, 2, 1},
	{"[s]\nk = a=b\n", "k", "a=b", false, 2, 1},
	{"[s]\nk = a ; comment\n", "k", "a", false, 2, 1},
	{"[s]\nk = a\\;b ; c\n", "k", "a;b", false, 2, 1},
	{"[s]\nk = a\\b\n", "k", "a\\b", false, 2, 1},
	{"[s]\r\nk = v\r\n", "k", "v", false, 2, 1},
	{"[s]\nk = v", "k", "v", false, 2, 1}, /* no final newline */
	{"\n\n[s]\n\n; only a comment\nk=v\n", "k", "v", false, 6, 1},
	{"[s]\nexten => _0.,1,Set(CALLERID(num)=x)\n", "exten", "_0.,1,Set(CALLERID(num)=x)",
	 true, 2, 1},
	{"[s]\n;-- k=hidden\nk=hidden2\n--;\nk = v\n", "k", "v", false, 5, 1},
	{"[s]\nk = v ;-- c --; \n", "k", "v", false, 2, 1},
	{"[s]\nk = a;-- x --;b\n", "k", "ab", false, 2, 1},
	{"[s]\n;-- a ;-- nested --; still --; k = v\n", "k", "v", false, 2, 1},
	{";-----\n[s] ;--- not a block\nk=v ;----\n", "k", "v", false, 3, 1},
	{"[s]\nk=1\nk=2\nk=3\n", "k", "3", false, 4, 3},
	{"[ s ]\nk=v\n", "k", "v", false, 2, 1},
	{"[s]\na b = c d\n", "a b", "c d", false, 2, 1},
};

static void test_keyvalue_table(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(kv_cases); i++) {
		const struct kv_case *c = &kv_cases[i];
		struct conf_diags d = {0};
		struct conf *conf = NULL;
		const struct conf_section *s;
		const struct conf_var *v;

		print_message("case %zu\n", i);
		assert_int_equal(conf_load_string(&conf, "t.conf", c->text, &d), 0);
		assert_int_equal(d.count, 0);
		s = conf_section_find(conf, "s");
		assert_non_null(s);
		assert_int_equal(s->origin.line > 0, 1);
		assert_string_equal(s->origin.file, "t.conf");
		assert_int_equal(count_vars(s), c->nvars);
		v = conf_var_find(s, c->key);
		check_var(v, c->key, c->value, c->arrow, false, "t.conf", c->line);
		assert_string_equal(conf_get(s, c->key, "def"), c->value);
		assert_string_equal(conf_get(s, "absent", "def"), "def");
		assert_null(conf_get(s, "absent", NULL));
		conf_free(conf);
		conf_diags_reset(&d);
	}
}

/* ---- errors (table) ------------------------------------------------------------------------ */

struct err_case {
	const char *text;
	unsigned line;
	const char *fragment;
};

static const struct err_case err_cases[] = {
	{"[s]\nnokey\n", 2, "expected 'key = value'"},
	{"k=v\n", 1, "outside of any [section]"},
	{"\n[s\nk=v\nj=w\n", 2, "unterminated section header"},
	{"[]\n", 1, "empty section name"},
	{"[s](nope)\n", 1, "unknown template 'nope'"},
	{"[b](a)\n[a](!)\n", 1, "unknown template 'a'"}, /* templates must come first */
	{"[a](a)\n", 1, "unknown template 'a'"},
	{"[s](!,?)\n", 1, "unsupported section option '?'"},
	{"[s](!, )\n", 1, "empty item"},
	{"[s](!\nk=v\n", 1, "missing ')'"},
	{"[s] x\n", 1, "unexpected text after section header"},
	{"[s](!) x\n", 1, "unexpected text after section options"},
	{"[s](+)\n", 1, "no earlier section 's'"},
	{"[a]\n[a](+,!)\n", 2, "cannot be combined"},
	{"[s]\n = v\n", 2, "empty key"},
	{"[s]\n=> v\n", 2, "empty key"},
	{"[s]\n#foo bar\n", 2, "unknown directive '#foo'"},
	{"[s]\n#include\n", 2, "needs a file name"},
	{"[s]\n#include \"\"\n", 2, "needs a file name"},
	{"[s]\n\n#include \"/nonexistent-mikaka/x.conf\"\n", 3,
	 "cannot read '/nonexistent-mikaka/x.conf'"},
	{"[s]\n#include /\n", 2, "Is a directory"},
	{"[s]\n#include /dev/null\n", 2, "not a regular file"},
	{"[s]\r\nk=v\r\nbad\r\n", 3, "expected 'key = value'"},
};

static void test_error_table(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
		const struct err_case *c = &err_cases[i];
		struct conf_diags d = {0};
		struct conf *conf = (struct conf *)&d; /* sentinel: must stay untouched */

		print_message("case %zu\n", i);
		assert_int_equal(conf_load_string(&conf, "t.conf", c->text, &d), EINVAL);
		assert_ptr_equal(conf, &d);
		check_one_error(&d, "t.conf", c->line, c->fragment);
		conf_diags_reset(&d);
		assert_int_equal(d.count, 0);
		assert_null(d.items);

		/* Without diags the load still fails. */
		assert_int_equal(conf_load_string(&conf, "t.conf", c->text, NULL), EINVAL);
		assert_ptr_equal(conf, &d);
	}
}

static void test_errors_keep_going(void **state)
{
	/* Every bad line is reported, each at its own line; no cascade after a bad header. */
	static const char text[] = "[s]\nbad1\nk=v\n[x\nlost=1\n[t]\nbad2\n";
	struct conf_diags d = {0};
	struct conf *conf = NULL;

	assert_int_equal(conf_load_string(&conf, "m.conf", text, &d), EINVAL);
	assert_null(conf);
	assert_int_equal(d.errors, 3);
	assert_int_equal(d.count, 3);
	assert_int_equal(d.items[0].origin.line, 2);
	assert_int_equal(d.items[1].origin.line, 4);
	assert_int_equal(d.items[2].origin.line, 7);
	conf_diags_reset(&d);
}

static void test_too_many_errors(void **state)
{
	struct conf_diags d = {0};
	struct conf *conf = NULL;
	struct mbuf mb;

	mbuf_init(&mb);
	assert_int_equal(mbuf_write_str(&mb, "[s]\n"), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(mbuf_write_str(&mb, "bad\n"), 0);
	assert_int_equal(mbuf_write(&mb, "", 1), 0);
	assert_int_equal(conf_load_string(&conf, "m.conf", (const char *)mb.buf, &d), EINVAL);
	assert_true(d.errors > 10 && d.errors <= 101);
	assert_non_null(strstr(d.items[d.count - 1].message, "too many errors"));
	conf_diags_reset(&d);
	mbuf_reset(&mb);
}

/* ---- warnings ------------------------------------------------------------------------------ */

static void test_warnings(void **state)
{
	static const char text[] = "[s]\n#exec /bin/echo k=v\nk=1\n;-- never closed\nk=2\n";
	struct conf_diags d = {0};
	struct conf *conf = NULL;
	char buf[256];

	assert_int_equal(conf_load_string(&conf, "w.conf", text, &d), 0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.count, 2);
	assert_int_equal(d.items[0].severity, CONF_WARNING);
	assert_int_equal(d.items[0].origin.line, 2);
	assert_non_null(strstr(d.items[0].message, "not supported"));
	assert_int_equal(d.items[1].severity, CONF_WARNING);
	assert_int_equal(d.items[1].origin.line, 4);
	assert_non_null(strstr(d.items[1].message, "never closed"));
	assert_string_equal(conf_get(conf_section_find(conf, "s"), "k", NULL), "1");
	conf_free(conf);

	/* The diagnostics outlive the conf they came from. */
	assert_string_equal(d.items[0].origin.file, "w.conf");
	assert_int_equal(conf_diag_format(&d.items[0], buf, sizeof(buf)), 0);
	assert_int_equal(strncmp(buf, "w.conf:2: warning: ", 19), 0);
	assert_int_equal(conf_diag_format(&d.items[0], buf, 8), ENOSPC);
	conf_diags_print(&d);
	conf_diags_reset(&d);
}

static void test_diag_add(void **state)
{
	struct conf_diags d = {0};
	char name[16] = "a.conf";
	char buf[128];

	conf_diag_add(&d, CONF_ERROR, name, 7, "bad %s %d", "thing", 42);
	strcpy(name, "zzzzzz");
	conf_diag_add(&d, CONF_WARNING, "a.conf", 0, "whole file");
	conf_diag_add(NULL, CONF_ERROR, "x", 1, "ignored");
	assert_int_equal(d.count, 2);
	assert_int_equal(d.errors, 1);
	assert_int_equal(d.nfiles, 1);
	assert_string_equal(d.items[0].origin.file, "a.conf");
	assert_ptr_equal(d.items[0].origin.file, d.items[1].origin.file);
	assert_string_equal(d.items[0].message, "bad thing 42");
	assert_int_equal(conf_diag_format(&d.items[0], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a.conf:7: error: bad thing 42");
	assert_int_equal(conf_diag_format(&d.items[1], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a.conf: warning: whole file");
	conf_diags_reset(&d);
	assert_int_equal(d.count, 0);
	assert_int_equal(d.nfiles, 0);
	conf_diags_reset(&d);
}

/* ---- sections and templates ---------------------------------------------------------------- */

static void test_templates(void **state)
{
	static const char text[] = "[a](!)\n"	 /* 1 */
				   "x=1\n"	 /* 2 */
				   "y=>2\n"	 /* 3 */
				   "[b]( ! , a )\n" /* 4 */
				   "z=3\n"	 /* 5 */
				   "[c]\n"	 /* 6 */
				   "w=0\n"	 /* 7 */
				   "[s](b,c)\n"	 /* 8 */
				   "x=9\n";	 /* 9 */
	struct conf_diags d = {0};
	struct conf *conf = NULL;
	const struct conf_section *a, *b, *c, *s;

	assert_int_equal(conf_load_string(&conf, "t.conf", text, &d), 0);
	assert_int_equal(d.count, 0);
	assert_int_equal(count_sections(conf), 4);
	a = nth_section(conf, 0);
	b = nth_section(conf, 1);
	c = nth_section(conf, 2);
	s = nth_section(conf, 3);
	assert_string_equal(a->name, "a");
	assert_true(a->is_template);
	assert_int_equal(a->ntemplates, 0);
	assert_string_equal(b->name, "b");
	assert_true(b->is_template);
	assert_int_equal(b->ntemplates, 1);
	assert_string_equal(b->templates[0], "a");
	assert_int_equal(b->origin.line, 4);
	assert_false(c->is_template);
	assert_false(s->is_template);
	assert_int_equal(s->ntemplates, 2);
	assert_string_equal(s->templates[0], "b");
	assert_string_equal(s->templates[1], "c");

	/* Templates are not found by name; plain sections are. */
	assert_null(conf_section_find(conf, "a"));
	assert_null(conf_section_find(conf, "b"));
	assert_ptr_equal(conf_section_find(conf, "c"), c);
	assert_ptr_equal(conf_section_find(conf, "s"), s);
	assert_null(conf_section_find(conf, "S"));

	/* b: a's vars, then its own. */
	assert_int_equal(count_vars(b), 3);
	check_var(nth_var(b, 0), "x", "1", false, true, "t.conf", 2);
	check_var(nth_var(b, 1), "y", "2", true, true, "t.conf", 3);
	check_var(nth_var(b, 2), "z", "3", false, false, "t.conf", 5);

	/* s: b's (with a's inside), then c's, then its own. */
	assert_int_equal(count_vars(s), 5);
	check_var(nth_var(s, 0), "x", "1", false, true, "t.conf", 2);
	check_var(nth_var(s, 1), "y", "2", true, true, "t.conf", 3);
	check_var(nth_var(s, 2), "z", "3", false, true, "t.conf", 5);
	check_var(nth_var(s, 3), "w", "0", false, true, "t.conf", 7);
	check_var(nth_var(s, 4), "x", "9", false, false, "t.conf", 9);
	check_var(conf_var_find(s, "x"), "x", "9", false, false, "t.conf", 9);

	conf_free(conf);
	conf_diags_reset(&d);
}

static void test_append_and_duplicates(void **state)
{
	static const char text[] = "[s]\n"	/* 1 */
				   "k=1\n"	/* 2 */
				   "[t]\n"	/* 3 */
				   "[s]( + )\n" /* 4 */
				   "k=2\n"	/* 5 */
				   "[d]\n"	/* 6 */
				   "v=first\n"	/* 7 */
				   "[d]\n"	/* 8 */
				   "v=second\n" /* 9 */
				   "[d](+)\n"	/* 10 */
				   "v=third\n"; /* 11 */
	struct conf_diags d = {0};
	struct conf *conf = NULL;
	const struct conf_section *s, *d1, *d2;

	assert_int_equal(conf_load_string(&conf, "t.conf", text, &d), 0);
	assert_int_equal(d.count, 0);
	assert_int_equal(count_sections(conf), 4);
	s = conf_section_find(conf, "s");
	assert_int_equal(s->origin.line, 1);
	assert_int_equal(count_vars(s), 2);
	check_var(nth_var(s, 0), "k", "1", false, false, "t.conf", 2);
	check_var(nth_var(s, 1), "k", "2", false, false, "t.conf", 5);
	assert_int_equal(count_vars(conf_section_find(conf, "t")), 0);

	/* Two sections of one name stay separate; find returns the first; `+` extends the last. */
	d1 = conf_section_find(conf, "d");
	assert_int_equal(d1->origin.line, 6);
	assert_string_equal(conf_get(d1, "v", NULL), "first");
	d2 = d1->next;
	assert_string_equal(d2->name, "d");
	assert_int_equal(count_vars(d2), 2);
	assert_string_equal(conf_get(d2, "v", NULL), "third");
	conf_free(conf);
	conf_diags_reset(&d);
}

static void test_inherit_plain_and_prefer_template(void **state)
{
	static const char text[] = "[base]\n"
				   "p=plain\n"
				   "[child](base)\n"
				   "[base](!)\n"
				   "p=template\n"
				   "[other](base)\n";
	struct conf *conf = NULL;

	assert_int_equal(conf_load_string(&conf, "t.conf", text, NULL), 0);
	/* Only the plain [base] existed when [child] was read. */
	assert_string_equal(conf_get(conf_section_find(conf, "child"), "p", NULL), "plain");
	assert_string_equal(conf_get(conf_section_find(conf, "other"), "p", NULL), "template");
	assert_true(conf_var_find(conf_section_find(conf, "other"), "p")->inherited);
	conf_free(conf);
}

static void test_repeated_keys(void **state)
{
	static const char text[] = "[e]\n"
				   "exten => 1,1,A\n"
				   "same => n,B\n"
				   "exten => 2,1,C\n"
				   "exten = 3,1,D\n";
	static const char *const want[][2] = {
		{"exten", "1,1,A"}, {"same", "n,B"}, {"exten", "2,1,C"}, {"exten", "3,1,D"}};
	struct conf *conf = NULL;
	const struct conf_section *e;

	assert_int_equal(conf_load_string(&conf, "t.conf", text, NULL), 0);
	e = conf_section_find(conf, "e");
	assert_int_equal(count_vars(e), ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		check_var(nth_var(e, i), want[i][0], want[i][1], i < 3, false, "t.conf",
			  (unsigned)i + 2);
	check_var(conf_var_find(e, "exten"), "exten", "3,1,D", false, false, "t.conf", 5);
	conf_free(conf);
}

static void test_empty_inputs(void **state)
{
	struct conf_diags d = {0};
	struct conf *conf = NULL;

	assert_int_equal(conf_load_string(&conf, "e.conf", "", &d), 0);
	assert_null(conf_sections(conf));
	assert_null(conf_section_find(conf, "x"));
	conf_free(conf);
	assert_int_equal(conf_load_string(&conf, "e.conf",
					  "; nothing\n\n   \n"
					  "#tryinclude /nonexistent-mikaka.conf\n",
					  &d),
			 0);
	assert_null(conf_sections(conf));
	conf_free(conf);
	assert_int_equal(d.count, 0);
	assert_null(conf_var_find(NULL, "x"));
	assert_string_equal(conf_get(NULL, "x", "d"), "d");
	conf_free(NULL);
}

/* ---- limits -------------------------------------------------------------------------------- */

static void test_long_line_and_nul(void **state)
{
	struct conf_diags d = {0};
	struct conf *conf = NULL;
	static const char with_nul[] = "[s]\nk=a\0b\nj=1\n";
	size_t len = 4 + 2 + 9000 + 1 + 4;
	char *big = malloc(len + 1);

	/* A line of 9000 bytes: an error for that line only. */
	assert_non_null(big);
	memcpy(big, "[s]\nk=", 6);
	memset(big + 6, 'x', 9000);
	memcpy(big + 6 + 9000, "\nj=1", 5);
	assert_int_equal(conf_load_string(&conf, "l.conf", big, &d), EINVAL);
	check_one_error(&d, "l.conf", 2, "line too long");
	conf_diags_reset(&d);

	/* Just under the limit is fine. */
	memcpy(big + 6 + 8000, "\nj=1", 5);
	assert_int_equal(conf_load_string(&conf, "l.conf", big, &d), 0);
	assert_int_equal(strlen(conf_get(conf_section_find(conf, "s"), "k", "")), 8000);
	conf_free(conf);
	conf = NULL;
	free(big);

	assert_int_equal(conf_load_buf(&conf, "n.conf", with_nul, sizeof(with_nul) - 1, &d),
			 EINVAL);
	check_one_error(&d, "n.conf", 2, "NUL byte");
	assert_null(conf);
	conf_diags_reset(&d);
}

static void test_huge_file(void **state)
{
	struct tmp *t = *state;
	char *path = tmp_path(t, "huge.conf");
	struct conf_diags d = {0};
	struct conf *conf = NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 17 * 1024 * 1024), 0);
	close(fd);
	assert_int_equal(conf_load(&conf, path, &d), EINVAL);
	assert_null(conf);
	assert_int_equal(d.errors, 1);
	assert_string_equal(d.items[0].origin.file, path);
	assert_non_null(strstr(d.items[0].message, "too large"));
	conf_diags_reset(&d);

	/* The same file through #include: error at the #include line. */
	write_file(t->dir, "main.conf", "[s]\n#include huge.conf\n");
	free(path);
	path = tmp_path(t, "main.conf");
	assert_int_equal(conf_load(&conf, path, &d), EINVAL);
	check_one_error(&d, path, 2, "too large");
	conf_diags_reset(&d);
	free(path);
}

/* ---- includes ------------------------------------------------------------------------------ */

static void test_include_relative(void **state)
{
	struct tmp *t = *state;
	char *main_path = tmp_path(t, "main.conf");
	char *inc_path = tmp_path(t, "sub/inc.conf");
	char *other_path = tmp_path(t, "sub/other.conf");
	char *sub = tmp_path(t, "sub");
	struct conf_diags d = {0};
	struct conf *conf = NULL;
	const struct conf_section *s, *tt;

	assert_int_equal(mkdir(sub, 0700), 0);
	write_file(t->dir, "main.conf",
		   "[s]\nk=1\n#include \"sub/inc.conf\"\n#tryinclude missing.conf\nlast=1\n");
	/* Relative to sub/, not to the top file's directory nor the current one. */
	write_file(t->dir, "sub/inc.conf", "k=2\r\n#include <other.conf>\n");
	write_file(t->dir, "sub/other.conf", "k=3\n[t]\nm=x\n");
	assert_int_equal(conf_load(&conf, main_path, &d), 0);
	assert_int_equal(d.count, 0);

	s = conf_section_find(conf, "s");
	assert_int_equal(count_vars(s), 3);
	check_var(nth_var(s, 0), "k", "1", false, false, main_path, 2);
	check_var(nth_var(s, 1), "k", "2", false, false, inc_path, 1);
	check_var(nth_var(s, 2), "k", "3", false, false, other_path, 1);
	/* An included file's sections continue in the including file, as with cpp. */
	tt = conf_section_find(conf, "t");
	assert_string_equal(tt->origin.file, other_path);
	assert_int_equal(tt->origin.line, 2);
	assert_int_equal(count_vars(tt), 2);
	check_var(nth_var(tt, 1), "last", "1", false, false, main_path, 5);
	/* File names are interned: one string per file. */
	assert_ptr_equal(nth_var(s, 0)->origin.file, s->origin.file);
	assert_ptr_equal(nth_var(s, 0)->origin.file, nth_var(tt, 1)->origin.file);
	conf_free(conf);

	/* From a string, with an absolute path. */
	{
		char *text = NULL;

		assert_true(asprintf(&text, "[s]\n#include %s\n", inc_path) > 0);
		assert_int_equal(conf_load_string(&conf, "str", text, &d), 0);
		assert_string_equal(conf_get(conf_section_find(conf, "t"), "m", NULL), "x");
		conf_free(conf);
		free(text);
	}
	conf_diags_reset(&d);
	free(main_path);
	free(inc_path);
	free(other_path);
	free(sub);
}

static void test_include_missing(void **state)
{
	struct tmp *t = *state;
	char *main_path = tmp_path(t, "main.conf");
	struct conf_diags d = {0};
	struct conf *conf = NULL;

	write_file(t->dir, "main.conf", "[s]\nk=1\n#include nothere.conf\n");
	assert_int_equal(conf_load(&conf, main_path, &d), EINVAL);
	assert_null(conf);
	check_one_error(&d, main_path, 3, "No such file");
	assert_non_null(strstr(d.items[0].message, "nothere.conf"));
	conf_diags_reset(&d);

	/* The top file itself missing: ENOENT, named in the diagnostic. */
	free(main_path);
	main_path = tmp_path(t, "absent.conf");
	assert_int_equal(conf_load(&conf, main_path, &d), ENOENT);
	assert_null(conf);
	assert_int_equal(d.errors, 1);
	assert_string_equal(d.items[0].origin.file, main_path);
	assert_int_equal(d.items[0].origin.line, 0);
	conf_diags_reset(&d);

	/* A directory as the top file. */
	assert_int_equal(conf_load(&conf, t->dir, &d), EINVAL);
	assert_int_equal(d.errors, 1);
	conf_diags_reset(&d);
	free(main_path);
}

static void test_include_cycle(void **state)
{
	struct tmp *t = *state;
	char *a = tmp_path(t, "a.conf");
	struct conf_diags d = {0};
	struct conf *conf = NULL;

	write_file(t->dir, "a.conf", "[s]\n#include b.conf\n");
	write_file(t->dir, "b.conf", "k=v\n\n#include a.conf\n");
	/* a (depth 0) -> b (1) -> a (2) ... -> a (10), whose #include (line 2) is one too many. */
	assert_int_equal(conf_load(&conf, a, &d), EINVAL);
	assert_null(conf);
	check_one_error(&d, a, 2, "nested too deeply");
	conf_diags_reset(&d);

	/* Self-include. */
	write_file(t->dir, "a.conf", "#include a.conf\n");
	assert_int_equal(conf_load(&conf, a, &d), EINVAL);
	check_one_error(&d, a, 1, "nested too deeply");
	conf_diags_reset(&d);
	free(a);
}

static void test_include_depth_exact(void **state)
{
	struct tmp *t = *state;
	char name[32], text[64];
	char *top = tmp_path(t, "c0.conf");
	struct conf_diags d = {0};
	struct conf *conf = NULL;

	/* c0 includes c1 ... includes cN: CONF_INCLUDE_MAX_DEPTH levels are fine. */
	for (int i = 0; i <= CONF_INCLUDE_MAX_DEPTH + 1; i++) {
		snprintf(name, sizeof(name), "c%d.conf", i);
		if (i == 0)
			snprintf(text, sizeof(text), "[s]\n#include c1.conf\n");
		else if (i < CONF_INCLUDE_MAX_DEPTH)
			snprintf(text, sizeof(text), "k%d=%d\n#include c%d.conf\n", i, i, i + 1);
		else
			snprintf(text, sizeof(text), "k%d=%d\n", i, i);
		write_file(t->dir, name, text);
	}
	assert_int_equal(conf_load(&conf, top, &d), 0);
	snprintf(name, sizeof(name), "k%d", CONF_INCLUDE_MAX_DEPTH);
	assert_string_equal(conf_get(conf_section_find(conf, "s"), name, NULL), "10");
	conf_free(conf);
	conf = NULL;

	/* One more level fails at the #include line of the deepest allowed file. */
	snprintf(name, sizeof(name), "c%d.conf", CONF_INCLUDE_MAX_DEPTH);
	snprintf(text, sizeof(text), "k=1\n\n#include c%d.conf\n", CONF_INCLUDE_MAX_DEPTH + 1);
	write_file(t->dir, name, text);
	assert_int_equal(conf_load(&conf, top, &d), EINVAL);
	assert_null(conf);
	{
		char *deep = tmp_path(t, name);

		check_one_error(&d, deep, 3, "nested too deeply");
		free(deep);
	}
	conf_diags_reset(&d);
	free(top);
}

/* ---- the post's files ---------------------------------------------------------------------- */

static void test_seed_sip(void **state)
{
	struct conf_diags d = {0};
	struct conf *conf = NULL;
	const struct conf_section *s;
	static const char *const templates[] = {"basic-options", "natted-phone", "public-phone",
						 "my-codecs", "ulaw-phone"};
	static const char *const order[] = {"general",	  "authentication", "basic-options",
					    "natted-phone", "public-phone",   "my-codecs",
					    "ulaw-phone",	  "mikaka-gw",	    "801"};
	static const char *const codecs[] = {"all", "ilbc", "g729", "gsm", "g723", "ulaw"};

	assert_int_equal(conf_load(&conf, SEED_SIP, &d), 0);
	conf_diags_print(&d);
	assert_int_equal(d.count, 0);
	assert_int_equal(count_sections(conf), ARRAY_SIZE(order));
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		assert_string_equal(nth_section(conf, i)->name, order[i]);
	for (size_t i = 0; i < ARRAY_SIZE(templates); i++) {
		s = any_section(conf, templates[i]);
		assert_non_null(s);
		assert_true(s->is_template);
		assert_null(conf_section_find(conf, templates[i]));
	}

	s = conf_section_find(conf, "general");
	assert_int_equal(s->origin.line, 1);
	check_var(conf_var_find(s, "realm"), "realm", "ntt-east.ne.jp", false, false, SEED_SIP, 5);
	check_var(conf_var_find(s, "register"), "register",
		  "0312345678@ntt-east.ne.jp/0312345678", true, false, SEED_SIP, 10);
	assert_string_equal(conf_get(s, "srvlookup", NULL), "yes");
	assert_int_equal(count_vars(s), 7);
	assert_int_equal(count_vars(conf_section_find(conf, "authentication")), 0);

	s = conf_section_find(conf, "801");
	assert_int_equal(s->origin.line, 45);
	assert_int_equal(s->ntemplates, 0);
	check_var(conf_var_find(s, "secret"), "secret", "s3cr3t-801", false, false, SEED_SIP, 47);
	check_var(conf_var_find(s, "host"), "host", "dynamic", false, false, SEED_SIP, 48);
	assert_string_equal(conf_get(s, "context", NULL), "from_phone");

	s = conf_section_find(conf, "mikaka-gw");
	assert_string_equal(conf_get(s, "host", NULL), "10.0.0.1");
	assert_string_equal(conf_get(s, "qualify", NULL), "no");

	/* [natted-phone](!,basic-options): the template's three lines, then its own two. */
	s = any_section(conf, "natted-phone");
	assert_int_equal(s->ntemplates, 1);
	assert_string_equal(s->templates[0], "basic-options");
	assert_int_equal(count_vars(s), 5);
	check_var(nth_var(s, 0), "dtmfmode", "rfc2833", false, true, SEED_SIP, 15);
	check_var(nth_var(s, 2), "type", "friend", false, true, SEED_SIP, 17);
	check_var(nth_var(s, 4), "host", "dynamic", false, false, SEED_SIP, 20);

	s = any_section(conf, "my-codecs");
	assert_int_equal(count_vars(s), ARRAY_SIZE(codecs));
	for (size_t i = 0; i < ARRAY_SIZE(codecs); i++)
		check_var(nth_var(s, i), i ? "allow" : "disallow", codecs[i], false, false,
			  SEED_SIP, 24 + (unsigned)i);
	assert_string_equal(conf_get(s, "allow", NULL), "ulaw");

	conf_free(conf);
	conf_diags_reset(&d);
}

static void test_seed_extensions(void **state)
{
	struct conf_diags d = {0};
	struct conf *conf = NULL;
	const struct conf_section *s;

	assert_int_equal(conf_load(&conf, SEED_EXT, &d), 0);
	assert_int_equal(d.count, 0);
	assert_int_equal(count_sections(conf), 2);
	s = conf_section_find(conf, "from_mikaka");
	assert_int_equal(count_vars(s), 1);
	check_var(nth_var(s, 0), "exten", "_X.,1,Dial(SIP/801)", true, false, SEED_EXT, 2);

	s = conf_section_find(conf, "from_phone");
	assert_int_equal(s->origin.line, 4);
	assert_int_equal(count_vars(s), 3);
	check_var(nth_var(s, 0), "exten", "_80Z,1,Dial(SIP/${EXTEN})", true, false, SEED_EXT, 5);
	check_var(nth_var(s, 1), "exten", "_0.,1,Set(CALLERID(num)=0312345678)", true, false,
		  SEED_EXT, 6);
	check_var(nth_var(s, 2), "same", "n,Dial(SIP/mikaka-gw/${EXTEN})", true, false, SEED_EXT,
		  7);
	conf_free(conf);
	conf_diags_reset(&d);
}

/* The post's text as published, `$(DHCP ...)` placeholders and all, reads without a complaint. */
static void test_seed_raw(void **state)
{
	struct conf_diags d = {0};
	struct conf *conf = NULL;

	assert_int_equal(conf_load(&conf, RAW_SIP, &d), 0);
	assert_string_equal(conf_get(conf_section_find(conf, "general"), "realm", NULL),
			    "$(DHCP ACK 125 204)");
	conf_free(conf);
	assert_int_equal(conf_load(&conf, RAW_EXT, &d), 0);
	assert_string_equal(conf_get(conf_section_find(conf, "from_phone"), "exten", NULL),
			    "_0.,1,Set(CALLERID(num)=$(DHCP ACK 125 202))");
	conf_free(conf);
	assert_int_equal(d.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyvalue_table),
		cmocka_unit_test(test_error_table),
		cmocka_unit_test(test_errors_keep_going),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_diag_add),
		cmocka_unit_test(test_templates),
		cmocka_unit_test(test_append_and_duplicates),
		cmocka_unit_test(test_inherit_plain_and_prefer_template),
		cmocka_unit_test(test_repeated_keys),
		cmocka_unit_test(test_empty_inputs),
		cmocka_unit_test(test_long_line_and_nul),
		cmocka_unit_test_setup_teardown(test_huge_file, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_include_relative, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_include_missing, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_include_cycle, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_include_depth_exact, tmp_setup, tmp_teardown),
		cmocka_unit_test(test_seed_sip),
		cmocka_unit_test(test_seed_extensions),
		cmocka_unit_test(test_seed_raw),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
