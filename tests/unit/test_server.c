/* test_server: sip.conf [general] settings (listening addresses, DSCP, timers) and their errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "server.h"

static int load(const char *text, struct server_settings *set, struct conf_diags *diags)
{
	struct conf *conf = NULL;
	int err;

	assert_int_equal(conf_load_string(&conf, "sip.conf", text, diags), 0);
	err = server_settings_load(set, conf, NULL, diags);
	conf_free(conf);
	return err;
}

static bool diag_has(const struct conf_diags *d, unsigned line, const char *text)
{
	for (size_t i = 0; i < d->count; i++) {
		if (d->items[i].origin.line == line && strstr(d->items[i].message, text))
			return true;
	}
	return false;
}

static void test_defaults(void **state)
{
	struct conf_diags diags = {0};
	struct server_settings set;
	char buf[SA_STRLEN];

	(void)state;
	assert_int_equal(server_settings_load(&set, NULL, NULL, &diags), 0);
	assert_int_equal(set.nlisten, 1);
	assert_int_equal(set.listen[0].tp, SIP_TP_UDP);
	assert_string_equal(sa_fmt(&set.listen[0].addr, buf, sizeof(buf)), "0.0.0.0:5060");
	assert_int_equal(set.tos_sip, 0x80);
	assert_int_equal(set.t1, 500);
	conf_diags_reset(&diags);
}

static void test_addresses(void **state)
{
	struct conf_diags diags = {0};
	struct server_settings set;
	char buf[SA_STRLEN];

	(void)state;
	assert_int_equal(load("[general]\nbindport=5070\nudpbindaddr=127.0.0.1\n"
			      "udpbindaddr=[::1]:5080\ntcpenable=yes\ntcpbindaddr=10.0.0.1:5090\n"
			      "tos_sip=ef\ntimert1=250\n",
			      &set, &diags),
			 0);
	assert_int_equal(set.nlisten, 3);
	assert_string_equal(sa_fmt(&set.listen[0].addr, buf, sizeof(buf)), "127.0.0.1:5070");
	assert_string_equal(sa_fmt(&set.listen[1].addr, buf, sizeof(buf)), "[::1]:5080");
	assert_int_equal(set.listen[2].tp, SIP_TP_TCP);
	assert_string_equal(sa_fmt(&set.listen[2].addr, buf, sizeof(buf)), "10.0.0.1:5090");
	assert_int_equal(set.tos_sip, 46 << 2);
	assert_int_equal(set.t1, 250);
	conf_diags_reset(&diags);
}

static void test_errors_name_line(void **state)
{
	struct conf_diags diags = {0};
	struct server_settings set;

	(void)state;
	assert_int_equal(load("[general]\nbindport=99999\ntcpenable=maybe\n"
			      "udpbindaddr=host.example\ntos_sip=cs9\ntimert1=5\n",
			      &set, &diags),
			 EINVAL);
	assert_true(diag_has(&diags, 2, "bindport"));
	assert_true(diag_has(&diags, 3, "tcpenable"));
	assert_true(diag_has(&diags, 4, "host.example"));
	assert_true(diag_has(&diags, 5, "tos_sip"));
	assert_true(diag_has(&diags, 6, "timert1"));
	assert_int_equal(diags.errors, 5);
	conf_diags_reset(&diags);
}

static void test_tos_values(void **state)
{
	int tos;

	(void)state;
	assert_int_equal(server_tos_parse("cs4", &tos), 0);
	assert_int_equal(tos, 128);
	assert_int_equal(server_tos_parse("AF41", &tos), 0);
	assert_int_equal(tos, 34 << 2);
	assert_int_equal(server_tos_parse("0xb8", &tos), 0);
	assert_int_equal(tos, 0xb8);
	assert_int_equal(server_tos_parse("184", &tos), 0);
	assert_int_equal(tos, 184);
	assert_int_equal(server_tos_parse("256", &tos), EINVAL);
	assert_int_equal(server_tos_parse("", &tos), EINVAL);
	assert_int_equal(server_tos_parse("cs", &tos), EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_errors_name_line),
		cmocka_unit_test(test_tos_values),
	};
	return cmocka_run_group_tests_name("server", tests, NULL, NULL);
}
