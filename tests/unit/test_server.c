/* test_server: sip.conf [general] settings (listening addresses, DSCP, timers, NAT) and their
 * errors. */
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

static void addr(struct sa *sa, const char *text)
{
	assert_int_equal(sa_decode(sa, text, 5060), 0);
}

/* externaddr= and localnet=: who is outside, and what they are told. */
static void test_nat(void **state)
{
	struct conf_diags diags = {0};
	struct server_settings set;
	struct sa peer, local, out, ext;

	(void)state;
	assert_int_equal(load("[general]\nexternaddr=203.0.113.1\nlocalnet=192.168.1.0/24\n"
			      "localnet=10.0.0.0/255.0.0.0\nlocalnet=fd00::/8\n",
			      &set, &diags),
			 0);
	assert_int_equal(set.nlocalnet, 3);
	addr(&local, "192.168.1.10:5060");
	addr(&peer, "198.51.100.7:40000");
	assert_true(server_nat_extern(&set, &peer, &ext));
	server_nat_advertise(&set, &local, &peer, &out);
	assert_true(sa_eq(&out, &(struct sa){0}) == false);
	{
		char b[64];

		assert_string_equal(sa_fmt(&out, b, sizeof(b)), "203.0.113.1:5060");
	}
	/* Inside a localnet, loopback, another family: our own address. */
	const char *inside[] = {"192.168.1.99:5060", "10.1.2.3:5060", "127.0.0.1:5060",
				"[fd00::5]:5060", "[2001:db8::1]:5060", "[::ffff:192.168.1.7]:5060"};
	for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		addr(&peer, inside[i]);
		if (server_nat_extern(&set, &peer, &ext))
			fail_msg("%s counted as outside", inside[i]);
		server_nat_advertise(&set, &local, &peer, &out);
		assert_true(sa_eq(&out, &local));
	}
	/* externaddr with its own port. */
	assert_int_equal(load("[general]\nexternip=203.0.113.1:5080\n", &set, &diags), 0);
	addr(&peer, "198.51.100.7:40000");
	server_nat_advertise(&set, &local, &peer, &out);
	assert_int_equal(sa_port(&out), 5080);
	/* None configured: nobody is outside. */
	assert_int_equal(load("[general]\nlocalnet=192.168.1.0/24\n", &set, &diags), 0);
	assert_false(server_nat_extern(&set, &peer, &ext));
	/* externhost= (and externaddr= with a name) resolve when read: localhost from
	 * /etc/hosts, so no test asks a DNS server. */
	assert_int_equal(load("[general]\nexternhost=localhost:5070\n", &set, &diags), 0);
	assert_true(sa_isset(&set.extern_addr));
	assert_true(sa_is_loopback(&set.extern_addr));
	assert_int_equal(sa_port(&set.extern_addr), 5070);
	/* Bad values name their line. */
	conf_diags_reset(&diags);
	assert_int_equal(load("[general]\nlocalnet=192.168.1.0/33\nlocalnet=nonsense\n"
			      "localnet=192.168.1.5/24\n",
			      &set, &diags),
			 EINVAL);
	assert_true(diag_has(&diags, 2, "localnet"));
	assert_true(diag_has(&diags, 3, "localnet"));
	assert_true(diag_has(&diags, 4, "host bits"));
	assert_int_equal(diags.errors, 2);
	conf_diags_reset(&diags);
}

/* The address blocks shared with permit=/deny=. */
static void test_sa_net(void **state)
{
	struct sa_net n;
	struct sa a;
	bool hb;

	(void)state;
	assert_int_equal(sa_net_parse(&n, "192.168.1.0/24", &hb), 0);
	assert_false(hb);
	addr(&a, "192.168.1.200");
	assert_true(sa_net_match(&n, &a));
	addr(&a, "192.168.2.1");
	assert_false(sa_net_match(&n, &a));
	addr(&a, "[::ffff:192.168.1.9]");
	assert_true(sa_net_match(&n, &a));
	assert_int_equal(sa_net_parse(&n, "[2001:db8::]/32", &hb), 0);
	addr(&a, "[2001:db8:1::1]");
	assert_true(sa_net_match(&n, &a));
	addr(&a, "192.168.1.1");
	assert_false(sa_net_match(&n, &a));
	assert_int_equal(sa_net_parse(&n, "10.0.0.1/8", &hb), 0);
	assert_true(hb);
	assert_int_equal(sa_net_parse(&n, "10.0.0.0/-1", &hb), EINVAL);
	assert_int_equal(sa_net_parse(&n, "10.0.0.0/", &hb), EINVAL);
	assert_int_equal(sa_net_parse(&n, "10.0.0.0/8x", &hb), EINVAL);
	assert_int_equal(sa_net_parse(&n, "::/129", &hb), EINVAL);
	assert_int_equal(sa_net_parse(&n, "x", &hb), EINVAL);
	assert_int_equal(sa_net_parse(&n, "0.0.0.0/0", &hb), 0);
	addr(&a, "8.8.8.8");
	assert_true(sa_net_match(&n, &a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_errors_name_line),
		cmocka_unit_test(test_tos_values),
		cmocka_unit_test(test_nat),
		cmocka_unit_test(test_sa_net),
	};
	return cmocka_run_group_tests_name("server", tests, NULL, NULL);
}
