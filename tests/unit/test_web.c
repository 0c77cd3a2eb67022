/* Unit tests for web: password hashes (yescrypt made and checked, wrong passwords and fast or
 * plain hashes refused), JSON strings (mbuf_write_json) and mikaka.conf [web] (defaults, listen, a
 * LAN address warned about, bad values refused, unknown keys warned about; tls, its files and
 * hsts). */
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

#include "conf.h"
#include "sip.h"
#include "web.h"
#include "web_int.h"

static void test_hash_roundtrip(void **state)
{
	char h1[160], h2[160];

	(void)state;
	assert_int_equal(web_hash_password("correct horse", h1, sizeof(h1)), 0);
	assert_int_equal(web_hash_password("correct horse", h2, sizeof(h2)), 0);
	assert_memory_equal(h1, "$y$", 3);
	assert_string_not_equal(h1, h2); /* a fresh salt each time */
	assert_true(web_hash_acceptable(h1));
	assert_true(web_check_password("correct horse", h1));
	assert_true(web_check_password("correct horse", h2));
	assert_false(web_check_password("correct horsE", h1));
	assert_false(web_check_password("", h1));
	/* too small a buffer */
	assert_int_not_equal(web_hash_password("x", h1, 10), 0);
}

static void test_hash_acceptable(void **state)
{
	(void)state;
	assert_false(web_hash_acceptable(NULL));
	assert_false(web_hash_acceptable(""));
	assert_false(web_hash_acceptable("secret-password-in-clear"));
	/* MD5-crypt and descrypt are fast: refused */
	assert_false(web_hash_acceptable("$1$abcdefgh$0123456789012345678901"));
	assert_false(web_hash_acceptable("abJnggxhB/yWI"));
	/* a plain SHA-256 */
	assert_false(web_hash_acceptable(
	    "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"));
	/* spaces or newlines would break the users' list */
	assert_false(web_hash_acceptable("$y$j9T$abc def$0123456789012345678901234"));
	assert_false(web_hash_acceptable("$y$j9T$abc\n$0123456789012345678901234"));
	assert_true(web_hash_acceptable("$6$rounds=5000$saltsalt$0123456789012345678901"));
	assert_true(web_hash_acceptable("$2b$12$0123456789012345678901234567890123456789"));
	/* a check against an unacceptable hash fails even when crypt would match */
	assert_false(web_check_password("password", "$1$abcdefgh$0123456789012345678901"));
}

static int load(struct web_settings *set, const char *text, struct conf_diags *diags)
{
	struct conf *c = NULL;
	int err;

	assert_int_equal(conf_load_string(&c, "mikaka.conf", text, diags), 0);
	err = web_settings_load(set, c, diags);
	conf_free(c);
	return err;
}

static void test_settings(void **state)
{
	struct conf_diags diags = {0};
	struct web_settings set;
	char buf[64];

	(void)state;
	assert_int_equal(web_settings_load(&set, NULL, &diags), 0);
	assert_false(set.enabled);
	assert_string_equal(sa_fmt(&set.listen, buf, sizeof(buf)), "127.0.0.1:8088");
	assert_int_equal(set.session_idle, 1800);
	assert_int_equal(set.ban_failures, 5);

	assert_int_equal(load(&set, "[general]\n", &diags), 0);
	assert_false(set.enabled);

	assert_int_equal(load(&set, "[web]\n", &diags), 0);
	assert_true(set.enabled);
	assert_string_equal(sa_fmt(&set.listen, buf, sizeof(buf)), "127.0.0.1:8088");
	assert_int_equal(diags.count, 0);

	assert_int_equal(
	    load(&set, "[web]\nlisten=127.0.7.1:18080\ntimeout=3\nban_failures=2\n", &diags), 0);
	assert_string_equal(sa_fmt(&set.listen, buf, sizeof(buf)), "127.0.7.1:18080");
	assert_int_equal(set.timeout, 3);
	assert_int_equal(set.ban_failures, 2);
	assert_int_equal(diags.count, 0);

	/* the LAN: allowed when configured, with a warning */
	assert_int_equal(load(&set, "[web]\nlisten=192.168.1.2:8088\n", &diags), 0);
	assert_int_equal(diags.count, 1);
	assert_int_equal(diags.errors, 0);
	assert_non_null(strstr(diags.items[0].message, "not loopback"));
	conf_diags_reset(&diags);
	assert_int_equal(load(&set, "[web]\nlisten=0.0.0.0:8088\n", &diags), 0);
	assert_int_equal(diags.count, 1);
	conf_diags_reset(&diags);

	assert_int_equal(load(&set, "[web]\nlisten=nowhere\n", &diags), EINVAL);
	assert_int_equal(diags.errors, 1);
	conf_diags_reset(&diags);
	assert_int_equal(load(&set, "[web]\ntimeout=0\n", &diags), EINVAL);
	conf_diags_reset(&diags);
	assert_int_equal(load(&set, "[web]\ncolour=blue\n", &diags), 0);
	assert_int_equal(diags.count, 1);
	assert_int_equal(diags.errors, 0);
	conf_diags_reset(&diags);
}

/* [web] tls and its files (the Asterisk http.conf spellings too), hsts. */
static void test_settings_tls(void **state)
{
	struct conf_diags diags = {0};
	struct web_settings set;
	char buf[64], dir[] = "/tmp/test_web.XXXXXX", cert[256], key[256], why[320], text[900];

	(void)state;
	assert_int_equal(load(&set, "[web]\ntls=yes\n", &diags), 0);
	assert_true(set.tls);
	assert_string_equal(sa_fmt(&set.listen, buf, sizeof(buf)), "127.0.0.1:8089");
	assert_string_equal(set.certfile, "");
	assert_int_equal(set.hsts, 0);
	assert_int_equal(load(&set, "[web]\nlisten=127.0.7.1:443\ntlsenable=yes\nhsts=yes\n",
			      &diags),
			 0);
	assert_true(set.tls);
	assert_string_equal(sa_fmt(&set.listen, buf, sizeof(buf)), "127.0.7.1:443");
	assert_int_equal(set.hsts, 31536000);
	assert_int_equal(load(&set, "[web]\ntls=no\nhsts=600\n", &diags), 0);
	assert_false(set.tls);
	assert_int_equal(set.hsts, 600);
	assert_int_equal(diags.count, 0);
	assert_int_equal(load(&set, "[web]\ntls=maybe\n", &diags), EINVAL);
	assert_int_equal(diags.errors, 1);
	conf_diags_reset(&diags);
	assert_int_equal(load(&set, "[web]\nhsts=forever\n", &diags), EINVAL);
	conf_diags_reset(&diags);
	/* a file that is not there: an error at its line */
	assert_int_equal(load(&set, "[web]\ntls=yes\ncertfile=/nonexistent/cert.pem\n", &diags),
			 EINVAL);
	assert_int_equal(diags.errors, 1);
	assert_int_equal(diags.items[0].origin.line, 3);
	conf_diags_reset(&diags);
	assert_int_equal(load(&set, "[web]\ntls=yes\nkeyfile=/tmp/key.pem\n", &diags), EINVAL);
	assert_non_null(strstr(diags.items[0].message, "without certfile"));
	conf_diags_reset(&diags);
	/* a real pair (made as mikakad makes its self-signed one) */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(
	    sip_tls_self_signed(dir, cert, sizeof(cert), key, sizeof(key), why, sizeof(why)), 0);
	snprintf(text, sizeof(text), "[web]\ntls=yes\ntlscertfile=%s\ntlsprivatekey=%s\n", cert,
		 key);
	assert_int_equal(load(&set, text, &diags), 0);
	assert_int_equal(diags.count, 0);
	assert_string_equal(set.certfile, cert);
	assert_string_equal(set.keyfile, key);
	/* the key for another certificate: refused, at the key's line */
	snprintf(text, sizeof(text), "[web]\ntls=yes\ncertfile=%s\nkeyfile=%s\n", cert, cert);
	assert_int_equal(load(&set, text, &diags), EINVAL);
	assert_int_equal(diags.items[0].origin.line, 4);
	conf_diags_reset(&diags);
	/* files without tls = yes: a warning, the console stays HTTP */
	snprintf(text, sizeof(text), "[web]\ncertfile=%s\nkeyfile=%s\n", cert, key);
	assert_int_equal(load(&set, text, &diags), 0);
	assert_int_equal(diags.count, 1);
	assert_non_null(strstr(diags.items[0].message, "stays HTTP"));
	conf_diags_reset(&diags);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

static void test_text_ok(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
	    {"", true},
	    {"Hanako Yamada", true},
	    {"山田 花子", true},			  /* 3-byte sequences */
	    {"\xef\xbd\xb6\xef\xbe\x80\xef\xbd\xb6\xef\xbe\x85", true}, /* half-width katakana */
	    {"\xf0\x9f\x8e\x8c", true},		  /* U+1F38C, 4 bytes */
	    {"\xf4\x8f\xbf\xbf", true},		  /* U+10FFFF, the last */
	    {"\"<b>&amp;'", true},
	    {"\xc3\x28", false},			  /* a lead byte without its continuation */
	    {"\xc3", false},				  /* cut at the end */
	    {"\xe5\xb1", false},			  /* cut in a 3-byte sequence */
	    {"\xc0\xaf", false},			  /* overlong '/' */
	    {"\xe0\x80\xaf", false},		  /* overlong, 3 bytes */
	    {"\xf0\x80\x80\xaf", false},		  /* overlong, 4 bytes */
	    {"\xed\xa0\x80", false},		  /* U+D800, a surrogate */
	    {"\xf4\x90\x80\x80", false},		  /* above U+10FFFF */
	    {"\xff\xfe", false},
	    {"\x80", false},				  /* a continuation byte alone */
	    {"line\nbreak", false},			  /* control characters */
	    {"tab\there", false},
	    {"del\x7f", false},
	    {"esc\x1b[31m", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (web_text_ok(cases[i].s) != cases[i].ok)
			fail_msg("case %zu: expected %s", i, cases[i].ok ? "ok" : "refused");
	}
}

static void test_json_string(void **state)
{
	struct mbuf mb;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(mbuf_write_json(&mb, "a\"b\\c\n\x01", 7), 0);
	assert_int_equal(mbuf_write_json(&mb, "\xe9\x9b\xbb", 3), 0); /* 電: kept */
	assert_int_equal(mbuf_write_json(&mb, "\xff\xc3", 2), 0);     /* invalid: U+FFFD each */
	assert_int_equal(mbuf_write_json(&mb, "\xed\xa0\x80", 3), 0); /* a surrogate: invalid */
	assert_int_equal(mbuf_write(&mb, "", 1), 0);
	assert_string_equal((const char *)mb.buf,
			    "\"a\\\"b\\\\c\\u000a\\u0001\"\"\xe9\x9b\xbb\""
			    "\"\xef\xbf\xbd\xef\xbf\xbd\"\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	mbuf_reset(&mb);
}

/* Range headers for the voicemail WAV (GET /api/voicemail/ID.wav). */
static void test_range(void **state)
{
	static const struct {
		const char *v;
		uint64_t size;
		int rc;
		uint64_t start, len;
	} t[] = {
	    {"bytes=0-99", 1000, 1, 0, 100},
	    {"bytes=100-1099", 2000, 1, 100, 1000},
	    {"bytes=900-", 1000, 1, 900, 100},
	    {"bytes=900-5000", 1000, 1, 900, 100}, /* clipped to the file */
	    {"bytes=-44", 1000, 1, 956, 44},
	    {"bytes=-5000", 1000, 1, 0, 1000},
	    {"bytes=999-999", 1000, 1, 999, 1},
	    {"bytes=1000-", 1000, -1, 0, 0}, /* past the end: 416 */
	    {"bytes=-0", 1000, -1, 0, 0},
	    {"bytes=0-", 0, -1, 0, 0},
	    {"bytes=5-4", 1000, 0, 0, 0}, /* malformed: the whole file */
	    {"bytes=0-1,5-6", 1000, 0, 0, 0}, /* several: the whole file */
	    {"items=0-1", 1000, 0, 0, 0},
	    {"bytes=abc", 1000, 0, 0, 0},
	    {"bytes=1-2x", 1000, 0, 0, 0},
	    {"bytes=-", 1000, 0, 0, 0},
	    {"bytes=99999999999999999999999-", 1000, 0, 0, 0},
	    {"", 1000, 0, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t s = 7, l = 7;
		int rc = web_range_parse(t[i].v, t[i].size, &s, &l);

		if (rc != t[i].rc || (rc == 1 && (s != t[i].start || l != t[i].len)))
			fail_msg("'%s' over %llu: %d %llu+%llu", t[i].v,
				 (unsigned long long)t[i].size, rc, (unsigned long long)s,
				 (unsigned long long)l);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_roundtrip),
	    cmocka_unit_test(test_hash_acceptable),
	    cmocka_unit_test(test_settings),
	    cmocka_unit_test(test_settings_tls),
	    cmocka_unit_test(test_json_string),
	    cmocka_unit_test(test_text_ok),
	    cmocka_unit_test(test_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
