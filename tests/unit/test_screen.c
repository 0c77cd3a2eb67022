/* test_screen: numbers as shown at home, the [screening] rules and their decisions, the block
 * list and phonebook (kept across a reopened store), phonebook files (CSV, vCard 3/4, Shift_JIS,
 * broken lines with file:line) and the lookup time with 100,000 entries. */
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

#include "screen.h"
#include "store.h"

static void test_number_norm(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
	    {"0312345678", "0312345678"},
	    {"03-1234-5678", "0312345678"},
	    {"(03) 1234 5678", "0312345678"},
	    {"+81 3-1234-5678", "0312345678"},
	    {"+81312345678", "0312345678"},
	    {"0081312345678", "0312345678"},
	    {"+1 212 555 0100", "0101212555010"}, /* cut to fit? no: see size */
	    {"\xef\xbc\x90\xef\xbc\x93\xef\xbc\x8d\xef\xbc\x91\xef\xbc\x92", "0312"},
	    {"\xef\xbc\x8b\xef\xbc\x98\xef\xbc\x91\xef\xbc\x93", "03"},
	    {"090\xe3\x80\x80"
	     "1234\xe3\x83\xbc"
	     "5678",
	     "09012345678"},
	    {"abc", NULL},
	    {"", NULL},
	    {"03-12x4", NULL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char out[14];
		int err = screen_number_norm(t[i].in, strlen(t[i].in), out, sizeof(out));

		if (i == 6) {
			/* +1...: 010 1 212 555 0100 is 16 digits: too long for 14 bytes. */
			assert_int_equal(err, EINVAL);
			char big[32];

			assert_int_equal(
			    screen_number_norm(t[i].in, strlen(t[i].in), big, sizeof(big)), 0);
			assert_string_equal(big, "01012125550100");
			continue;
		}
		if (!t[i].out) {
			assert_int_equal(err, EINVAL);
			continue;
		}
		assert_int_equal(err, 0);
		assert_string_equal(out, t[i].out);
	}
}

static void test_reasons(void **state)
{
	static const struct {
		const char *dn;
		enum screen_reason r;
	} t[] = {
	    {"Anonymous", SCREEN_R_WITHHELD},
	    {"\"Anonymous\"", SCREEN_R_WITHHELD},
	    {"Coin line/payphone", SCREEN_R_PAYPHONE},
	    {"coin LINE/payphone", SCREEN_R_PAYPHONE},
	    {"Unavailable", SCREEN_R_UNAVAILABLE},
	    {"Interaction with other service", SCREEN_R_INTERACTION},
	    {"", SCREEN_R_WITHHELD},
	    {"Someone", SCREEN_R_WITHHELD},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct pl p = pl_from_str(t[i].dn);

		assert_int_equal(screen_reason_from_display(&p), t[i].r);
	}
	assert_string_equal(screen_callerpres(SCREEN_R_NONE, false), "allowed_not_screened");
	assert_string_equal(screen_callerpres(SCREEN_R_WITHHELD, false), "prohib_not_screened");
	assert_string_equal(screen_callerpres(SCREEN_R_PAYPHONE, false), "unavailable");
	assert_string_equal(screen_callerpres(SCREEN_R_UNAVAILABLE, true), "prohib_not_screened");
}

static struct conf *load(const char *text, struct conf_diags *d)
{
	struct conf *c = NULL;

	assert_int_equal(conf_load_string(&c, "mikaka.conf", text, d), 0);
	return c;
}

static void test_rules_errors(void **state)
{
	struct conf_diags d = {0};
	struct screen_rules *r = NULL;
	struct conf *c = load("[screening]\n"
			      "withheld = refuse\n"	   /* 2: bad action */
			      "block = 0120-xx\n"	   /* 3: bad number */
			      "featurecode = 14a\n"	   /* 4 */
			      "colour = blue\n"		   /* 5: warning */
			      "[screening:03-1234-5679]\n" /* 6: fine */
			      "phones = 801, bad/name\n"   /* 7 */
			      "[screening:abc]\n",	   /* 8 */
			      &d);
	struct mbuf out;

	assert_int_equal(screen_rules_load(&r, c, &d), EINVAL);
	assert_null(r);
	mbuf_init(&out);
	for (size_t i = 0; i < d.count; i++) {
		char line[400];

		conf_diag_format(&d.items[i], line, sizeof(line));
		mbuf_printf(&out, "%s\n", line);
	}
	mbuf_write(&out, "", 1);
	printf("%s", (char *)out.buf);
	assert_non_null(strstr((char *)out.buf, "mikaka.conf:2: error: [screening] withheld"));
	assert_non_null(
	    strstr((char *)out.buf, "mikaka.conf:3: error: [screening] block: '0120-xx'"));
	assert_non_null(strstr((char *)out.buf, "mikaka.conf:4: error"));
	assert_non_null(strstr((char *)out.buf, "mikaka.conf:5: warning"));
	assert_non_null(
	    strstr((char *)out.buf, "mikaka.conf:7: error: [screening:03-1234-5679] phones"));
	assert_non_null(strstr((char *)out.buf, "mikaka.conf:8: error"));
	assert_int_equal(d.errors, 5);
	mbuf_reset(&out);
	conf_free(c);
	conf_diags_reset(&d);

	/* No [screening]: off. */
	c = load("[web]\n", &d);
	assert_int_equal(screen_rules_load(&r, c, &d), 0);
	assert_null(r);
	conf_free(c);
	conf_diags_reset(&d);
}

static void test_decide(void **state)
{
	struct conf_diags d = {0};
	struct screen_rules *r = NULL;
	struct screen_db *db = NULL;
	struct conf *c = load("[screening]\n"
			      "withheld = reject\n"
			      "payphone = voicemail\n"
			      "unavailable = allow\n"
			      "block = 0120*, 0570-000-111\n"
			      "block = 05011112222\n"
			      "allow = 0120444444\n"
			      "[screening:0312345679]\n"
			      "withheld = allow\n"
			      "phones = 802\n",
			      &d);
	static const struct {
		const char *called, *num;
		enum screen_reason reason;
		enum screen_action act;
		const char *why;
		uint16_t code;
	} t[] = {
	    {"0312345678", "0901234567", SCREEN_R_NONE, SCREEN_ALLOW, "allowed", 0},
	    {"0312345678", "0120123456", SCREEN_R_NONE, SCREEN_REJECT, "blocklist", 603},
	    {"0312345678", "0120444444", SCREEN_R_NONE, SCREEN_ALLOW, "allowlist", 0},
	    {"0312345678", "0570000111", SCREEN_R_NONE, SCREEN_REJECT, "blocklist", 603},
	    {"0312345678", "05011112222", SCREEN_R_NONE, SCREEN_REJECT, "blocklist", 603},
	    {"0312345678", "0312000000", SCREEN_R_NONE, SCREEN_REJECT, "blocklist", 603},
	    {"0312345678", "", SCREEN_R_WITHHELD, SCREEN_REJECT, "withheld", 433},
	    {"0312345679", "", SCREEN_R_WITHHELD, SCREEN_ALLOW, "withheld", 0},
	    {"0312345678", "", SCREEN_R_PAYPHONE, SCREEN_VOICEMAIL, "payphone", 0},
	    {"0312345678", "", SCREEN_R_UNAVAILABLE, SCREEN_ALLOW, "unavailable", 0},
	    {"0312345678", "", SCREEN_R_INTERACTION, SCREEN_ALLOW, "interaction", 0},
	    {"0312345678", "", SCREEN_R_NONE, SCREEN_REJECT, "withheld", 433},
	};

	assert_int_equal(screen_rules_load(&r, c, &d), 0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(screen_db_alloc(&db, NULL), 0);
	assert_int_equal(screen_db_block_add(db, "03-1200-0000", "stored"), 0);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct screen_verdict v;

		screen_decide(r, db, t[i].called, t[i].num, t[i].reason, &v);
		printf("# %zu %s %d %s %u\n", i, t[i].num, v.action, v.why, v.code);
		assert_int_equal(v.action, t[i].act);
		assert_string_equal(v.why, t[i].why);
		assert_int_equal(v.code, t[i].code);
	}
	assert_string_equal(screen_number_phones(r, "0312345679"), "802");
	assert_null(screen_number_phones(r, "0312345678"));
	assert_string_equal(screen_number_at(r, 0), "0312345679");
	assert_null(screen_number_at(r, 1));
	assert_string_equal(screen_feature_code(r), "144");
	/* Without rules: nothing is refused (the dialplan decides), the entry is still seen. */
	{
		struct screen_verdict v;

		screen_decide(NULL, db, "1", "0312000000", SCREEN_R_NONE, &v);
		assert_int_equal(v.action, SCREEN_ALLOW);
		assert_string_equal(v.why, "blocklist");
		screen_decide(NULL, db, "1", "", SCREEN_R_WITHHELD, &v);
		assert_int_equal(v.action, SCREEN_ALLOW);
	}
	screen_db_free(db);
	screen_rules_free(r);
	conf_free(c);
	conf_diags_reset(&d);
}

static void test_db_persist(void **state)
{
	char path[] = "/tmp/test_screen.XXXXXX";
	char db_path[64], num[80];
	struct store *st = NULL;
	struct screen_db *db = NULL;
	struct mbuf out;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	snprintf(db_path, sizeof(db_path), "%s.db", path);
	assert_int_equal(store_open(&st, NULL, db_path), 0);
	assert_int_equal(screen_db_alloc(&db, st), 0);
	assert_int_equal(screen_db_block_add(db, "0901111111", "sales"), 0);
	assert_int_equal(screen_db_block_add(db, "0120*", NULL), 0);
	assert_int_equal(screen_db_block_add(db, "0902222222", "scam"), 0);
	assert_int_equal(screen_db_block_add(db, "not a number", NULL), EINVAL);
	assert_true(screen_db_blocked(db, "0120999999"));
	assert_false(screen_db_blocked(db, "0130999999"));
	assert_int_equal(screen_db_block_undo(db, num, sizeof(num)), 0);
	assert_string_equal(num, "0902222222");
	assert_int_equal(screen_db_block_del(db, "0120*"), 0);
	assert_int_equal(screen_db_block_del(db, "0120*"), ENOENT);
	assert_int_equal(screen_db_block_add(db, "0903333333", "x"), 0);
	assert_int_equal(screen_db_pb_set(db, "+81 90-4444-4444", "Yamada Taro"), 0);
	screen_db_set_last(db, "0905555555");
	assert_int_equal(store_flush(st), 0);
	screen_db_free(db);
	store_close(st);

	st = NULL;
	db = NULL;
	assert_int_equal(store_open(&st, NULL, db_path), 0);
	assert_int_equal(screen_db_alloc(&db, st), 0);
	assert_int_equal(screen_db_block_count(db), 2);
	assert_true(screen_db_blocked(db, "0901111111"));
	assert_true(screen_db_blocked(db, "0903333333"));
	assert_false(screen_db_blocked(db, "0902222222"));
	assert_string_equal(screen_db_name(db, "09044444444"), "Yamada Taro");
	assert_string_equal(screen_db_last(db), "0905555555");
	mbuf_init(&out);
	screen_db_block_show(db, &out);
	mbuf_write(&out, "", 1);
	printf("%s", (char *)out.buf);
	assert_non_null(strstr((char *)out.buf, "0901111111"));
	assert_non_null(strstr((char *)out.buf, "sales"));
	assert_non_null(strstr((char *)out.buf, "2 blocked numbers; last caller: 0905555555"));
	mbuf_reset(&out);
	/* The last entry is the last added, after a restart too. */
	assert_int_equal(screen_db_block_undo(db, num, sizeof(num)), 0);
	assert_string_equal(num, "0903333333");
	assert_int_equal(screen_db_block_clear(db), 1);
	assert_int_equal(store_flush(st), 0);
	screen_db_free(db);
	store_close(st);
	st = NULL;
	assert_int_equal(store_open(&st, NULL, db_path), 0);
	assert_int_equal(screen_db_alloc(&db, st), 0);
	assert_int_equal(screen_db_block_count(db), 0);
	screen_db_free(db);
	store_close(st);
	unlink(db_path);
	snprintf(num, sizeof(num), "%s-wal", db_path);
	unlink(num);
	snprintf(num, sizeof(num), "%s-shm", db_path);
	unlink(num);
}

/* More entries than one store batch holds (STORE_BATCH_MAX): all of them kept. */
static void test_db_big_import(void **state)
{
	char db_path[] = "/tmp/test_screen_big.XXXXXX";
	char side[80];
	struct store *st = NULL;
	struct screen_db *db = NULL;
	int fd = mkstemp(db_path);
	const unsigned n = STORE_BATCH_MAX + 5000;

	assert_true(fd >= 0);
	close(fd);
	unlink(db_path);
	assert_int_equal(store_open(&st, NULL, db_path), 0);
	assert_int_equal(screen_db_alloc(&db, st), 0);
	for (unsigned i = 0; i < n; i++) {
		char num[16];

		snprintf(num, sizeof(num), "03%08u", i);
		assert_int_equal(screen_db_pb_set(db, num, "Somebody"), 0);
	}
	assert_int_equal(store_flush(st), 0);
	screen_db_free(db);
	store_close(st);
	st = NULL;
	db = NULL;
	assert_int_equal(store_open(&st, NULL, db_path), 0);
	assert_int_equal(screen_db_alloc(&db, st), 0);
	assert_int_equal(screen_db_pb_count(db), n);
	assert_string_equal(screen_db_name(db, "0300070004"), "Somebody");
	screen_db_free(db);
	store_close(st);
	unlink(db_path);
	snprintf(side, sizeof(side), "%s-wal", db_path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db_path);
	unlink(side);
}

struct got {
	char num[16][32];
	char name[16][80];
	size_t n;
};

static int got_h(const char *num, const char *name, void *arg)
{
	struct got *g = arg;

	if (g->n < 16) {
		snprintf(g->num[g->n], sizeof(g->num[0]), "%s", num);
		snprintf(g->name[g->n], sizeof(g->name[0]), "%s", name);
	}
	g->n++;
	return 0;
}

static void test_pb_csv(void **state)
{
	const char *csv = "\xef\xbb\xbfname,number\r\n"
			  "\"Yamada, Taro\",03-1234-5678\r\n"
			  "Suzuki,\"+81 90 1111 2222\"\r\n"
			  "0120-000-111,Pizza\r\n"
			  "broken line without comma\r\n"
			  "Tanaka,call me\r\n"
			  "\xe4\xbd\x90\xe8\x97\xa4,\xef\xbc\x90\xef\xbc\x94\xef\xbc\x95\r\n"
			  ",0311112222\r\n";
	struct got g = {0};
	struct mbuf rep;
	long n;

	mbuf_init(&rep);
	n = screen_pb_parse("book.csv", csv, strlen(csv), got_h, &g, &rep);
	mbuf_write(&rep, "", 1);
	printf("%s", (char *)rep.buf);
	assert_int_equal(n, 4);
	assert_string_equal(g.num[0], "0312345678");
	assert_string_equal(g.name[0], "Yamada, Taro");
	assert_string_equal(g.num[1], "09011112222");
	assert_string_equal(g.num[2], "0120000111");
	assert_string_equal(g.name[2], "Pizza");
	assert_string_equal(g.num[3], "045");
	assert_string_equal(g.name[3], "\xe4\xbd\x90\xe8\x97\xa4");
	assert_non_null(strstr((char *)rep.buf, "book.csv:5: "));
	assert_non_null(strstr((char *)rep.buf, "book.csv:6: 'call me' is not a phone number"));
	assert_non_null(strstr((char *)rep.buf, "book.csv:8: no name"));
	mbuf_reset(&rep);
}

static void test_pb_sjis(void **state)
{
	/* "山田,0312345678" in Shift_JIS. */
	const char sjis[] = "\x8e\x52\x93\x63,0312345678\n\x83\x65\x83\x58\x83\x67,abc\n";
	struct got g = {0};
	struct mbuf rep;

	mbuf_init(&rep);
	assert_int_equal(screen_pb_parse("sjis.csv", sjis, strlen(sjis), got_h, &g, &rep), 1);
	assert_string_equal(g.name[0], "\xe5\xb1\xb1\xe7\x94\xb0");
	mbuf_write(&rep, "", 1);
	assert_non_null(strstr((char *)rep.buf, "sjis.csv:2: 'abc' is not a phone number"));
	mbuf_reset(&rep);
	/* Neither UTF-8 nor Shift_JIS. */
	mbuf_init(&rep);
	assert_int_equal(screen_pb_parse("bin", "\xff\xfe\xfd\x80", 4, got_h, &g, &rep), -1);
	mbuf_reset(&rep);
}

static void test_pb_vcard(void **state)
{
	const char *vcf = "BEGIN:VCARD\r\n"
			  "VERSION:3.0\r\n"
			  "N:Yamada;Taro;;;\r\n"
			  "FN:Yamada Taro\r\n"
			  "TEL;TYPE=CELL:090-1234-\r\n"
			  " 5678\r\n"
			  "item1.TEL;TYPE=HOME:+81 3 1234 5678\r\n"
			  "END:VCARD\r\n"
			  "BEGIN:VCARD\r\n"
			  "VERSION:4.0\r\n"
			  "FN:Suzuki\\, Hanako\r\n"
			  "TEL;VALUE=uri;TYPE=work:tel:+81-45-111-2222;ext=12\r\n"
			  "END:VCARD\r\n"
			  "BEGIN:VCARD\r\n"
			  "VERSION:3.0\r\n"
			  "N:Kato;Ken\r\n"
			  "TEL:0120-xyz\r\n"
			  "END:VCARD\r\n"
			  "BEGIN:VCARD\r\n"
			  "FN:No Phone\r\n"
			  "END:VCARD\r\n";
	struct got g = {0};
	struct mbuf rep;
	long n;

	mbuf_init(&rep);
	n = screen_pb_parse("c.vcf", vcf, strlen(vcf), got_h, &g, &rep);
	mbuf_write(&rep, "", 1);
	printf("%s", (char *)rep.buf);
	assert_int_equal(n, 3);
	assert_string_equal(g.num[0], "09012345678");
	assert_string_equal(g.name[0], "Yamada Taro");
	assert_string_equal(g.num[1], "0312345678");
	assert_string_equal(g.num[2], "0451112222");
	assert_string_equal(g.name[2], "Suzuki, Hanako");
	assert_non_null(strstr((char *)rep.buf, "c.vcf:17: '0120-xyz' is not a phone number"));
	assert_non_null(strstr((char *)rep.buf, "c.vcf:19: a card without TEL"));
	mbuf_reset(&rep);
}

/* 100,000 numbers and 1,000 prefixes: a lookup stays under 2 µs. */
static void test_lookup_speed(void **state)
{
	struct screen_db *db = NULL;
	struct timespec a, b;
	unsigned hits = 0;
	double us;
	const unsigned N = 100000, L = 200000;

	assert_int_equal(screen_db_alloc(&db, NULL), 0);
	for (unsigned i = 0; i < N; i++) {
		char num[16];

		snprintf(num, sizeof(num), "090%08u", i * 7);
		assert_int_equal(screen_db_block_add(db, num, NULL), 0);
	}
	for (unsigned i = 0; i < 1000; i++) {
		char num[16];

		snprintf(num, sizeof(num), "0120%03u*", i);
		assert_int_equal(screen_db_block_add(db, num, NULL), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (unsigned i = 0; i < L; i++) {
		char num[16];

		snprintf(num, sizeof(num), "090%08u", i);
		hits += screen_db_blocked(db, num);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	us = ((double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3) / L;
	printf("# %u lookups among %u numbers and 1000 prefixes: %.3f us each (with snprintf), "
	       "%u hits\n",
	       L, N + 1000, us, hits);
	assert_int_equal(hits, (L + 6) / 7);
	assert_true(us < 2.0);
	screen_db_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_number_norm),	 cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_rules_errors), cmocka_unit_test(test_decide),
	    cmocka_unit_test(test_db_persist),	 cmocka_unit_test(test_db_big_import),
	    cmocka_unit_test(test_pb_csv),	 cmocka_unit_test(test_pb_sjis),
	    cmocka_unit_test(test_pb_vcard),	 cmocka_unit_test(test_lookup_speed),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
