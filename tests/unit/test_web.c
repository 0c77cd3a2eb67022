/* Unit tests for web: password hashes (yescrypt made and checked, wrong passwords and fast or
 * plain hashes refused), JSON strings (mbuf_write_json) and mikaka.conf [web] (defaults, listen, a
 * LAN address warned about, bad values refused, unknown keys warned about). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "conf.h"
#include "web.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_roundtrip),
	    cmocka_unit_test(test_hash_acceptable),
	    cmocka_unit_test(test_settings),
	    cmocka_unit_test(test_json_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
