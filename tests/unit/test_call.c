/* test_call: the call engine's pure parts: response code to DIALSTATUS / Q.850 cause and back,
 * the called and calling numbers of carrier INVITEs (P-Called-Party-ID, tel: To, PAI lists,
 * anonymous), and an engine started and stopped on a real stack without leaks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "call.h"
#include "loop.h"
#include "screen.h"
#include "sip.h"

static struct sip_msg *parse(const char *text)
{
	struct sip_msg *msg = NULL;
	struct sip_parse_error perr;
	size_t used;

	assert_int_equal(sip_msg_parse(&msg, text, strlen(text), true, &used, &perr), 0);
	return msg;
}

static void test_dialstatus(void **state)
{
	static const struct {
		uint16_t code;
		const char *status;
		unsigned cause;
	} t[] = {
		{200, "ANSWER", 16},	  {486, "BUSY", 17},	    {600, "BUSY", 17},
		{480, "NOANSWER", 19},	  {408, "NOANSWER", 102},   {487, "NOANSWER", 19},
		{404, "CHANUNAVAIL", 1},  {484, "CHANUNAVAIL", 28}, {503, "CONGESTION", 34},
		{500, "CONGESTION", 41},  {403, "CHANUNAVAIL", 21},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		assert_string_equal(call_dialstatus_for(t[i].code), t[i].status);
		assert_int_equal(call_cause_for(t[i].code), t[i].cause);
	}
	assert_int_equal(call_code_for_cause(17), 486);
	assert_int_equal(call_code_for_cause(1), 404);
	assert_int_equal(call_code_for_cause(34), 503);
	assert_int_equal(call_code_for_cause(19), 480);
	assert_int_equal(call_code_for_cause(21), 403);
}

#define HDRS                                                                                       \
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"                                      \
	"i: x@y\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"

static void test_called_number(void **state)
{
	static const struct {
		const char *hdrs;
		const char *want;
	} t[] = {
		/* P-Called-Party-ID wins over To. */
		{"f: <sip:0901234567@ntt-east.ne.jp>;tag=1\r\nt: <sip:0312345678@192.0.2.2>\r\n"
		 "P-Called-Party-ID: <sip:0398765432@ntt-east.ne.jp>\r\n",
		 "0398765432"},
		/* tel: To with separators. */
		{"f: <sip:0901234567@ntt-east.ne.jp>;tag=1\r\nt: <tel:03-1234-5678>\r\n",
		 "0312345678"},
		/* sip: To. */
		{"From: <sip:a@b>;tag=1\r\nTo: \"Home\" <sip:0312345678@ntt-east.ne.jp>\r\n",
		 "0312345678"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char text[1024], buf[64];
		struct sip_msg *msg;

		snprintf(text, sizeof(text), "INVITE sip:0312345678@192.0.2.2 SIP/2.0\r\n" HDRS
					     "%sContent-Length: 0\r\n\r\n",
			 t[i].hdrs);
		msg = parse(text);
		assert_int_equal(call_called_number(msg, buf, sizeof(buf)), 0);
		assert_string_equal(buf, t[i].want);
		mem_deref(msg);
	}
}

static void test_caller_id(void **state)
{
	static const struct {
		const char *hdrs;
		const char *num, *name;
	} t[] = {
		/* PAI with two URIs, folded: the first usable one. */
		{"f: <sip:0000@ntt-east.ne.jp>;tag=1\r\nt: <tel:0312345678>\r\n"
		 "P-Asserted-Identity: \"Taro\" <sip:0901234567@ntt-east.ne.jp>,\r\n"
		 " <tel:0901234567;phone-context=ntt-east.ne.jp>\r\n",
		 "0901234567", "Taro"},
		/* tel: PAI. */
		{"f: <sip:0000@x>;tag=1\r\nt: <tel:1>\r\nP-Asserted-Identity: <tel:0451112222>\r\n",
		 "0451112222", ""},
		/* Withheld: anonymous, whatever else. */
		{"f: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1\r\nt: <tel:1>\r\n",
		 "anonymous", "Anonymous"},
		/* No PAI: From. */
		{"f: <sip:0312223333@ntt-east.ne.jp>;tag=1\r\nt: <tel:1>\r\n", "0312223333", ""},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char text[1024], num[64], name[80];
		struct sip_msg *msg;

		snprintf(text, sizeof(text), "INVITE sip:0312345678@192.0.2.2 SIP/2.0\r\n" HDRS
					     "%sContent-Length: 0\r\n\r\n",
			 t[i].hdrs);
		msg = parse(text);
		assert_int_equal(call_caller_id(msg, num, sizeof(num), name, sizeof(name)), 0);
		assert_string_equal(num, t[i].num);
		assert_string_equal(name, t[i].name);
		mem_deref(msg);
	}
}

/* The caller as the NGN gives it: each reason's display name with and without Privacy: id,
 * +81 and 0081 numbers, and a number sent with Privacy: id. */
static void test_caller_ident(void **state)
{
	static const struct {
		const char *hdrs;
		const char *num, *name;
		int reason;
		bool privacy;
		const char *pres;
	} t[] = {
		{"f: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1\r\nt: <tel:1>\r\n",
		 "anonymous", "Anonymous", SCREEN_R_WITHHELD, false, "prohib_not_screened"},
		{"f: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1\r\nt: <tel:1>\r\n"
		 "Privacy: id\r\n",
		 "anonymous", "Anonymous", SCREEN_R_WITHHELD, true, "prohib_not_screened"},
		{"f: \"Coin line/payphone\" <sip:anonymous@anonymous.invalid>;tag=1\r\n"
		 "t: <tel:1>\r\n",
		 "anonymous", "Coin line/payphone", SCREEN_R_PAYPHONE, false, "unavailable"},
		{"f: \"Coin line/payphone\" <sip:anonymous@anonymous.invalid>;tag=1\r\n"
		 "t: <tel:1>\r\nPrivacy: id\r\n",
		 "anonymous", "Coin line/payphone", SCREEN_R_PAYPHONE, true, "prohib_not_screened"},
		{"f: \"Unavailable\" <sip:anonymous@anonymous.invalid>;tag=1\r\nt: <tel:1>\r\n",
		 "anonymous", "Unavailable", SCREEN_R_UNAVAILABLE, false, "unavailable"},
		{"f: \"Unavailable\" <sip:anonymous@anonymous.invalid>;tag=1\r\nt: <tel:1>\r\n"
		 "Privacy: none\r\n",
		 "anonymous", "Unavailable", SCREEN_R_UNAVAILABLE, false, "unavailable"},
		{"f: \"Interaction with other service\" <sip:anonymous@anonymous.invalid>;tag=1\r\n"
		 "t: <tel:1>\r\n",
		 "anonymous", "Interaction with other service", SCREEN_R_INTERACTION, false,
		 "unavailable"},
		{"f: \"Interaction with other service\" <sip:anonymous@anonymous.invalid>;tag=1\r\n"
		 "t: <tel:1>\r\nPrivacy: header;id\r\n",
		 "anonymous", "Interaction with other service", SCREEN_R_INTERACTION, true,
		 "prohib_not_screened"},
		/* No display name: nothing says why, so withheld. */
		{"f: <sip:anonymous@anonymous.invalid>;tag=1\r\nt: <tel:1>\r\n", "anonymous", "",
		 SCREEN_R_WITHHELD, false, "prohib_not_screened"},
		/* +81 in PAI, 0081 in From. */
		{"f: <sip:0000@x>;tag=1\r\nt: <tel:1>\r\nP-Asserted-Identity: <tel:+81-90-1234-5678>\r\n",
		 "09012345678", "", SCREEN_R_NONE, false, "allowed_not_screened"},
		{"f: <sip:0081312345678@ntt-east.ne.jp>;tag=1\r\nt: <tel:1>\r\n", "0312345678", "",
		 SCREEN_R_NONE, false, "allowed_not_screened"},
		{"f: <sip:+81312345678@ntt-east.ne.jp;user=phone>;tag=1\r\nt: <tel:1>\r\n",
		 "0312345678", "", SCREEN_R_NONE, false, "allowed_not_screened"},
		/* A number with Privacy: id is withheld. */
		{"f: <sip:0312345678@ntt-east.ne.jp>;tag=1\r\nt: <tel:1>\r\nPrivacy: id\r\n",
		 "anonymous", "Anonymous", SCREEN_R_WITHHELD, true, "prohib_not_screened"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char text[1024];
		struct call_ident id;
		struct sip_msg *msg;

		snprintf(text, sizeof(text), "INVITE sip:0312345678@192.0.2.2 SIP/2.0\r\n" HDRS
					     "%sContent-Length: 0\r\n\r\n",
			 t[i].hdrs);
		msg = parse(text);
		assert_int_equal(call_caller_ident(msg, &id), 0);
		printf("# %zu: %s \"%s\" %d %d %s\n", i, id.num, id.name, id.reason, id.privacy,
		       id.pres);
		assert_string_equal(id.num, t[i].num);
		assert_string_equal(id.name, t[i].name);
		assert_int_equal(id.reason, t[i].reason);
		assert_int_equal(id.privacy, t[i].privacy);
		assert_string_equal(id.pres, t[i].pres);
		mem_deref(msg);
	}
}

static void noop_req(struct sip_stack *stack, struct sip_strans *st, const struct sip_msg *msg,
		     void *arg)
{
}

static void test_engine_lifecycle(void **state)
{
	struct sip_stack_config scfg = {0};
	struct loop *loop = NULL;
	struct sip_stack *stack = NULL;
	struct call_eng *eng = NULL;
	struct call_settings set;
	struct mbuf out;

	assert_int_equal(loop_alloc(&loop), 0);
	assert_int_equal(sip_stack_alloc(&stack, loop, &scfg, noop_req, NULL), 0);
	call_settings_default(&set);
	assert_int_equal(set.max_calls, 64);
	assert_int_equal(set.line_se, 300);
	assert_int_equal(call_eng_alloc(&eng, loop, stack, NULL, NULL, NULL, &set), 0);
	assert_int_equal(call_count(eng), 0);
	mbuf_init(&out);
	assert_int_equal(call_show_channels(eng, false, &out), 0);
	mbuf_write(&out, "", 1);
	assert_non_null(strstr((const char *)out.buf, "0 active channels"));
	mbuf_reset(&out);
	assert_int_equal(call_hangup_channel(eng, "SIP/none-1", &out), ENOENT);
	mbuf_reset(&out);
	call_eng_free(eng);
	sip_stack_free(stack);
	loop_free(loop);
}

/* mikaka.conf [calls]: defaults, values, and errors naming file:line. */
static void test_settings_load(void **state)
{
	struct conf_diags diags = {0};
	struct call_settings set;
	struct conf *conf = NULL;

	(void)state;
	assert_int_equal(call_settings_load(&set, NULL, &diags), 0);
	assert_true(set.max_calls >= 64);
	assert_int_equal(set.session_expires, 1800);
	assert_int_equal(set.min_se, 90);
	assert_int_equal(set.line_se, 300);
	assert_true(set.rel100);
	assert_int_equal(conf_load_string(&conf, "mikaka.conf",
					  "[calls]\nmaxcalls=5000\nsession_expires=600\n"
					  "min_se=120\n100rel=no\nretry_after=3\n",
					  &diags),
			 0);
	assert_int_equal(call_settings_load(&set, conf, &diags), 0);
	assert_int_equal(set.max_calls, 5000);
	assert_int_equal(set.session_expires, 600);
	assert_int_equal(set.min_se, 120);
	assert_int_equal(set.retry_after, 3);
	assert_false(set.rel100);
	assert_int_equal(diags.errors, 0);
	conf_free(conf);
	conf = NULL;
	assert_int_equal(conf_load_string(&conf, "mikaka.conf",
					  "[calls]\nmaxcalls=0\n100rel=maybe\nfoo=1\n", &diags),
			 0);
	assert_int_equal(call_settings_load(&set, conf, &diags), EINVAL);
	assert_int_equal(diags.errors, 2);
	assert_string_equal(diags.items[0].origin.file, "mikaka.conf");
	assert_int_equal(diags.items[0].origin.line, 2);
	assert_non_null(strstr(diags.items[0].message, "maxcalls"));
	conf_free(conf);
	conf_diags_reset(&diags);
}

/* A maxcalls the open-file limit has no room for is a warning naming what it needs, with
 * file:line; one that fits is not. */
static void test_settings_maxcalls_fds(void **state)
{
	struct conf_diags diags = {0};
	struct call_settings set;
	struct conf *conf = NULL;
	struct rlimit was, rl;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
	rl = was;
	rl.rlim_cur = 2048; /* room for (2048 - 1280) / 4 = 192 calls */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(conf_load_string(&conf, "mikaka.conf", "[calls]\n\nmaxcalls=10000\n",
					  &diags),
			 0);
	assert_int_equal(call_settings_load(&set, conf, &diags), 0);
	assert_int_equal(set.max_calls, 10000);
	assert_int_equal(diags.errors, 0);
	assert_int_equal(diags.count, 1);
	assert_int_equal(diags.items[0].origin.line, 3);
	assert_non_null(strstr(diags.items[0].message, "needs about 41280 open files"));
	assert_non_null(strstr(diags.items[0].message, "limit is 2048"));
	assert_non_null(strstr(diags.items[0].message, "about 192 calls fit"));
	conf_free(conf);
	conf = NULL;
	conf_diags_reset(&diags);
	assert_int_equal(conf_load_string(&conf, "mikaka.conf", "[calls]\nmaxcalls=150\n", &diags),
			 0);
	assert_int_equal(call_settings_load(&set, conf, &diags), 0);
	assert_int_equal(diags.count, 0);
	conf_free(conf);
	conf_diags_reset(&diags);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dialstatus),
		cmocka_unit_test(test_settings_maxcalls_fds),
		cmocka_unit_test(test_called_number),
		cmocka_unit_test(test_caller_id),
		cmocka_unit_test(test_caller_ident),
		cmocka_unit_test(test_engine_lifecycle),
		cmocka_unit_test(test_settings_load),
	};

	return cmocka_run_group_tests_name("call", tests, NULL, NULL);
}
