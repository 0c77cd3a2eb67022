/* test_mwi: the mailbox= value's parsing (lists, contexts, blanks) that decides which peers get
 * unsolicited message-waiting NOTIFYs. The SUBSCRIBE/NOTIFY exchange is in tests/e2e/voicemail.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mwi.h"

struct seen {
	char out[256];
	int stop_after; /* 0: never */
	int n;
};

static int each(const char *box, const char *ctx, void *arg)
{
	struct seen *s = arg;
	size_t l = strlen(s->out);

	snprintf(s->out + l, sizeof(s->out) - l, "%s%s@%s", l ? "|" : "", box, ctx);
	return ++s->n == s->stop_after;
}

static void test_mailbox_foreach(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"801", "801@default"},
	    {"801@home", "801@home"},
	    {"801,802@work", "801@default|802@work"},
	    {" 801 @ home , 802 ", "801@home|802@default"},
	    {"801@", "801@default"},
	    {",,", ""},
	    {"", ""},
	    {"@ctx", ""},
	    {"8012345678901234567890123456789012345678901234567890123456789012345678@x", ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seen s = {{0}, 0, 0};

		assert_int_equal(mwi_mailbox_foreach(cases[i].in, each, &s), 0);
		if (strcmp(s.out, cases[i].want))
			fail_msg("'%s': got '%s', want '%s'", cases[i].in, s.out, cases[i].want);
	}
	/* A non-zero return stops and is returned. */
	{
		struct seen s = {{0}, 1, 0};

		assert_int_equal(mwi_mailbox_foreach("1,2,3", each, &s), 1);
		assert_string_equal(s.out, "1@default");
	}
	assert_int_equal(mwi_mailbox_foreach(NULL, each, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mailbox_foreach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
