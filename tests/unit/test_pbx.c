/* test_pbx: unit tests for the dialplan engine (src/pbx): loading, Asterisk's pattern order,
 * variables and expressions, applications, Gosub, bounds on bad dialplans, show and -t checks. */
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

#include "base.h"
#include "conf.h"
#include "pbx.h"
#include "pbx_int.h"

#define SEED_EXT "tests/unit/data/seed-extensions.conf"

/* ---- helpers --------------------------------------------------------------------------------- */

/* Loads a dialplan from text; returns dialplan_load's result, diagnostics in diags. */
static int load_text(struct dialplan **dpp, const char *text, const struct pbx_vars *globals,
		     struct conf_diags *diags)
{
	struct conf *conf = NULL;
	int err = conf_load_string(&conf, "t.conf", text, diags);

	if (err)
		return err;
	err = dialplan_load(dpp, conf, globals, diags);
	conf_free(conf);
	return err;
}

static struct dialplan *load_ok(const char *text)
{
	struct conf_diags diags = {0};
	struct dialplan *dp = NULL;
	int err = load_text(&dp, text, NULL, &diags);

	if (err || diags.count) {
		conf_diags_print(&diags);
		fail_msg("load failed: %d", err);
	}
	conf_diags_reset(&diags);
	return dp;
}

/* Whether some diagnostic formats to a string containing `needle`. */
static bool diags_have(const struct conf_diags *diags, const char *needle)
{
	char buf[512];

	for (size_t i = 0; i < diags->count; i++) {
		conf_diag_format(&diags->items[i], buf, sizeof(buf));
		if (strstr(buf, needle))
			return true;
	}
	return false;
}

static size_t diags_count(const struct conf_diags *diags, enum conf_severity sev)
{
	size_t n = 0;

	for (size_t i = 0; i < diags->count; i++)
		n += diags->items[i].severity == sev;
	return n;
}

static void run_expect(struct pbx_chan *ch, enum pbx_act_type type, struct pbx_action *act)
{
	assert_int_equal(pbx_chan_run(ch, act), 0);
	assert_int_equal(act->type, type);
}

/* ---- the post's extensions.conf -------------------------------------------------------------- */

static void test_seed(void **state)
{
	struct conf_diags diags = {0};
	struct conf *conf = NULL;
	struct dialplan *dp = NULL;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;
	const char *name = NULL;
	const char *entries[] = {"from_mikaka", "from_phone"};

	(void)state;
	assert_int_equal(conf_load(&conf, SEED_EXT, &diags), 0);
	assert_int_equal(dialplan_load(&dp, conf, NULL, &diags), 0);
	assert_int_equal(diags.count, 0);
	assert_int_equal(dialplan_context_count(dp), 2);
	assert_true(dialplan_has_context(dp, "from_mikaka"));
	assert_true(dialplan_has_context(dp, "from_phone"));
	assert_false(dialplan_has_context(dp, "default"));

	assert_int_equal(dialplan_find(dp, "from_mikaka", "0312345678", 1, &name), 0);
	assert_string_equal(name, "_X.");
	assert_int_equal(dialplan_find(dp, "from_phone", "0312345678", 1, &name), 0);
	assert_string_equal(name, "_0.");
	assert_int_equal(dialplan_find(dp, "from_phone", "0312345678", 2, &name), 0);
	assert_int_equal(dialplan_find(dp, "from_phone", "0312345678", 3, &name), ENOENT);
	assert_int_equal(dialplan_find(dp, "from_phone", "0312345678", 0, &name), 0);
	assert_int_equal(dialplan_find(dp, "from_phone", "802", 1, &name), 0);
	assert_string_equal(name, "_80Z");
	assert_int_equal(dialplan_find(dp, "from_phone", "800", 1, NULL), ENOENT);
	assert_int_equal(dialplan_find(dp, "from_phone", "8021", 1, NULL), ENOENT);

	assert_int_equal(dialplan_check(dp, entries, 2, &diags), 0);
	assert_int_equal(diags.count, 0);

	/* A phone calls out: the caller ID becomes the line's number, Dial goes to the gateway. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "from_phone", "0311112222", "801", "Phone"), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_int_equal(act.dial.ntargets, 1);
	assert_string_equal(act.dial.targets[0].tech, "SIP");
	assert_string_equal(act.dial.targets[0].peer, "mikaka-gw");
	assert_string_equal(act.dial.targets[0].number, "0311112222");
	assert_int_equal(act.dial.timeout_s, 0);
	assert_string_equal(pbx_chan_callerid_num(ch), "0312345678");
	assert_string_equal(pbx_chan_callerid_name(ch), "Phone");
	assert_int_equal(pbx_chan_set_var(ch, "DIALSTATUS", "ANSWER"), 0);
	run_expect(ch, PBX_ACT_END, &act);
	run_expect(ch, PBX_ACT_END, &act);
	pbx_chan_free(ch);

	/* Phone to phone. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "from_phone", "802", "801", NULL), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_int_equal(act.dial.ntargets, 1);
	assert_string_equal(act.dial.targets[0].peer, "802");
	assert_null(act.dial.targets[0].number);
	pbx_chan_free(ch);

	/* The line calls in. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "from_mikaka", "0312345678", "0399998888", ""), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_string_equal(act.dial.targets[0].peer, "801");
	pbx_chan_free(ch);

	ch = NULL;
	assert_int_equal(pbx_chan_alloc(&ch, dp, "nosuch", "1", NULL, NULL), ENOENT);
	assert_null(ch);

	dialplan_free(dp);
	conf_free(conf);
	conf_diags_reset(&diags);
}

/* ---- patterns and Asterisk's order ----------------------------------------------------------- */

struct match_case {
	const char *extens; /* names separated by spaces */
	const char *number;
	const char *want; /* NULL: no match */
};

static const struct match_case match_cases[] = {
    {"_X. _0.", "0312345678", "_0."},
    {"_X. _0.", "1234", "_X."},
    {"_X. _0.", "0", NULL},
    {"_80Z", "801", "_80Z"},
    {"_80Z", "800", NULL},
    {"_80Z", "8011", NULL},
    {"_N", "1", NULL},
    {"_N", "2", "_N"},
    {"_Z", "0", NULL},
    {"_Z", "9", "_Z"},
    {"_X", "a", NULL},
    {"_[1-5]", "3", "_[1-5]"},
    {"_[1-5]", "6", NULL},
    {"_[a-c]", "b", "_[a-c]"},
    {"_[a-c]", "d", NULL},
    {"_[15-7]", "6", "_[15-7]"},
    {"_X. _X!", "1", "_X!"},
    {"_X. _X!", "12", "_X."},
    {"_1!", "1", "_1!"},
    {"_1!", "1234", "_1!"},
    {"100 _1XX", "100", "100"},
    {"100 _1XX", "101", "_1XX"},
    {"_1XX _10X", "101", "_10X"},
    {"_1XX _1[01]X", "105", "_1[01]X"},
    {"_1XX _1[01]X", "125", "_1XX"},
    {"_NXX _ZXX", "234", "_NXX"},
    {"_NXX _ZXX", "123", "_ZXX"},
    {"_X. _XXX", "123", "_XXX"},
    {"_X. _XXX", "1234", "_X."},
    {"_XX _XXX", "12", "_XX"},
    {"_X. _XX.", "123", "_XX."},
    {"_[12] _[13]", "1", "_[13]"},
    {"_0X. _0[1-9].", "0312", "_0[1-9]."},
    {"_0X. _0[1-9].", "0012", "_0X."},
    {"_X. _!", "1", "_!"},
    {"_X. _!", "12", "_X."},
    {"_. _X", "5", "_X"},
    {"_.", "abc", "_."},
    {"_555-1212", "5551212", "_555-1212"},
    {"_555-1212", "555-1212", "_555-1212"},
    {"555-1212", "5551212", "555-1212"},
    {"_x.", "12", "_x."},
    {"_n", "5", "_n"},
    {"s _X.", "s", "s"},
    {"_[5]", "5", "_[5]"},
    {"_0[3-6]XXXXXXXX _0X.", "0312345678", "_0[3-6]XXXXXXXX"},
    {"_0[3-6]XXXXXXXX _0X.", "0712345678", "_0X."},
    {"_X. _0312345678", "0312345678", "_0312345678"},
    {"_X.5 _X.", "12", "_X.5"},
    {"_XXXX _1.", "1234", "_1."},
    {"_[0-9]XX _NXX", "234", "_NXX"},
    {"h i s t", "h", "h"},
    {"801 802", "803", NULL},
};

static void test_patterns(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(match_cases); i++) {
		const struct match_case *mc = &match_cases[i];
		char text[1024], *copy = strdup(mc->extens), *save = NULL;
		size_t off = (size_t)snprintf(text, sizeof(text), "[c]\n");
		struct dialplan *dp;
		const char *name = NULL;
		int err;

		for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
			off += (size_t)snprintf(text + off, sizeof(text) - off,
						"exten => %s,1,NoOp(%s)\n", t, t);
		free(copy);
		dp = load_ok(text);
		err = dialplan_find(dp, "c", mc->number, 1, &name);
		if (mc->want) {
			if (err || strcmp(name, mc->want))
				fail_msg("case %zu: %s with [%s]: got %s, want %s", i, mc->number,
					 mc->extens, err ? "none" : name, mc->want);
		} else if (!err) {
			fail_msg("case %zu: %s with [%s]: got %s, want none", i, mc->number,
				 mc->extens, name);
		}
		dialplan_free(dp);
	}
}

struct cmp_case {
	const char *a, *b;
	int sign;
};

static const struct cmp_case cmp_cases[] = {
    {"100", "_1XX", -1}, {"_1XX", "100", 1},	     {"_1XX", "_10X", 1},  {"_X.", "_X!", -1},
    {"_X", "_X.", 1},	 {"_[13]", "_[12]", -1},     {"_NXX", "_ZXX", -1}, {"_ZXX", "_XXX", -1},
    {"_X", "_[0-9]", 0}, {"_x.", "_X.", 0},	     {"100", "101", -1},   {"1-00", "100", 0},
    {"_0.", "_80Z", -1}, {"_[1-2]X", "_[2-3]X", -1}, {"_X.", "_XX", 1},
};

static int sign(int v)
{
	return v < 0 ? -1 : v > 0;
}

static void test_ext_cmp(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cmp_cases); i++) {
		int got = sign(dp_ext_cmp(cmp_cases[i].a, cmp_cases[i].b));

		if (got != cmp_cases[i].sign)
			fail_msg("ext_cmp(%s, %s) = %d, want %d", cmp_cases[i].a, cmp_cases[i].b,
				 got, cmp_cases[i].sign);
	}
	assert_true(dp_ext_match("_0.", "0312345678"));
	assert_false(dp_ext_match("_0.", "0"));
	assert_true(dp_ext_match("801", "801"));
	assert_false(dp_ext_match("801", "8011"));
}

/* Patterns that are the same to Asterisk form one extension; a missing priority falls through
 * to the next matching extension; includes come after the context's own extensions. */
static void test_lookup_rules(void **state)
{
	struct dialplan *dp;
	const char *name = NULL;

	(void)state;
	dp = load_ok("[c]\n"
		     "exten => _X,1,NoOp()\n"
		     "exten => _[0-9],2,NoOp()\n"
		     "exten => 100,1,NoOp()\n"
		     "exten => _1XX,1,NoOp()\n"
		     "exten => _1XX,2,NoOp()\n"
		     "[a]\n"
		     "include => b\n"
		     "exten => _X.,1,NoOp()\n"
		     "exten => 200,1,NoOp()\n"
		     "[b]\n"
		     "include => a\n"
		     "include => d\n"
		     "exten => 100,1,NoOp()\n"
		     "exten => _9,1,NoOp()\n"
		     "[d]\n"
		     "exten => 7,1,NoOp()\n");
	assert_int_equal(dialplan_find(dp, "c", "5", 2, &name), 0);
	assert_string_equal(name, "_X");
	assert_int_equal(dialplan_find(dp, "c", "100", 1, &name), 0);
	assert_string_equal(name, "100");
	assert_int_equal(dialplan_find(dp, "c", "100", 2, &name), 0);
	assert_string_equal(name, "_1XX");
	/* own pattern before the included exact extension */
	assert_int_equal(dialplan_find(dp, "a", "100", 1, &name), 0);
	assert_string_equal(name, "_X.");
	assert_int_equal(dialplan_find(dp, "a", "9", 1, &name), 0);
	assert_string_equal(name, "_9");
	assert_int_equal(dialplan_find(dp, "a", "7", 1, &name), 0);
	assert_string_equal(name, "7");
	/* a includes b includes a: the loop ends */
	assert_int_equal(dialplan_find(dp, "b", "555", 1, &name), 0);
	assert_string_equal(name, "_X.");
	assert_int_equal(dialplan_find(dp, "b", "x", 1, NULL), ENOENT);
	assert_int_equal(dialplan_find(dp, "nosuch", "1", 1, NULL), ENOENT);
	dialplan_free(dp);
}

/* ---- variables, functions, expressions ------------------------------------------------------- */

struct eval_case {
	const char *in;
	const char *want;
};

static const struct eval_case eval_cases[] = {
    {"${EXTEN}", "0312345678"},
    {"${EXTEN:1}", "312345678"},
    {"${EXTEN:-4}", "5678"},
    {"${EXTEN:-4:2}", "56"},
    {"${EXTEN:0:3}", "031"},
    {"${EXTEN:2:-2}", "123456"},
    {"${EXTEN::2}", "03"},
    {"${EXTEN:20}", ""},
    {"${EXTEN:-20:2}", "03"},
    {"${EXTEN:3:-20}", ""},
    {"${EXTEN:1:}", "312345678"},
    {"${${X}}", "bar"},
    {"${${X}:1}", "ar"},
    {"${UNSET}", ""},
    {"a${FOO}b", "abarb"},
    {"${FOO}${NUM}", "bar42"},
    {"${CONTEXT},${PRIORITY}", "t,1"},
    {"${LINE_NUMBER}", "0312345678"},
    {"${CALLERID(num)}", "801"},
    {"${CALLERID(name)}", "Alice"},
    {"${CALLERID(all)}", "\"Alice\" <801>"},
    {"${CALLERID(num):1}", "01"},
    {"${LEN(${EXTEN})}", "10"},
    {"${LEN()}", "0"},
    {"${IF($[${NUM} > 40]?big:small)}", "big"},
    {"${IF($[${NUM} > 50]?big:small)}", "small"},
    {"${IF(0?a:b)}", "b"},
    {"${IF(?a:b)}", "b"},
    {"${IF(1?a)}", "a"},
    {"${IF(0?a)}", ""},
    {"${IF(abc?a:b)}", "a"},
    {"$[1 + 2]", "3"},
    {"$[1+2]", "3"},
    {"$[2*3+4]", "10"},
    {"$[2*(3+4)]", "14"},
    {"$[7 / 2]", "3"},
    {"$[7 % 3]", "1"},
    {"$[-5 + 2]", "-3"},
    {"$[1 - -1]", "2"},
    {"$[${NUM} = 42]", "1"},
    {"$[${NUM} == 42]", "1"},
    {"$[abc = abc]", "1"},
    {"$[abc < abd]", "1"},
    {"$[10 > 9]", "1"},
    {"$[10 != 10]", "0"},
    {"$[3 >= 3]", "1"},
    {"$[2 <= 1]", "0"},
    {"$[1 & 0]", "0"},
    {"$[5 & 6]", "5"},
    {"$[0 | 7]", "7"},
    {"$[3 | 7]", "3"},
    {"$[!0]", "1"},
    {"$[!abc]", "0"},
    {"$[${EXTEN} : 03]", "2"},
    {"$[${EXTEN} : 3]", "0"},
    {"$[${EXTEN} =~ 3]", "1"},
    {"$[${EXTEN} : \"0([0-9]{2})\"]", "31"},
    {"$[${EXTEN} =~ \"(45)\"]", "45"},
    {"$[${EXTEN} : \"[0-9]+\"]", "10"},
    {"$[abc : \"x(.)\"]", ""},
    {"$[\"a b\" = \"a b\"]", "1"},
    {"$[1 ? yes :: no]", "yes"},
    {"$[0 ? yes :: no]", "no"},
    {"$[${EXTEN:0:1} = 0]", "1"},
    {"$[1 = 1 & 2 = 2]", "1"},
    {"$[abc + 1]", "1"},
    {"$[1 / 0]", ""},
    {"$[1 +]", ""},
    {"$[(1]", ""},
    {"$[]", ""},
    {"$[9223372036854775807 + 1]", ""},
    {"$[\"unterminated]", ""},
    {"$[a : \\(a\\)\\1]", ""},
    {"${EXTEN", "${EXTEN"},
    {"$$ $x ${", "$$ $x ${"},
    {"plain", "plain"},
    {"$[$[1+1]*$[2+1]]", "6"},
};

static struct dialplan *eval_dp(void)
{
	struct conf_diags diags = {0};
	struct pbx_vars *g = NULL;
	struct dialplan *dp = NULL;

	assert_int_equal(pbx_vars_alloc(&g), 0);
	assert_int_equal(pbx_vars_set(g, "LINE_NUMBER", "0312345678"), 0);
	assert_int_equal(pbx_vars_set(g, "LINE_DOMAIN", "ntt-east.ne.jp"), 0);
	assert_int_equal(pbx_vars_set(g, "GONE", "x"), 0);
	assert_int_equal(pbx_vars_set(g, "GONE", NULL), 0);
	assert_null(pbx_vars_get(g, "GONE"));
	assert_int_equal(load_text(&dp, "[t]\nexten => _X.,1,NoOp()\n", g, &diags), 0);
	pbx_vars_free(g);
	conf_diags_reset(&diags);
	return dp;
}

static void test_eval(void **state)
{
	struct dialplan *dp = eval_dp();
	struct pbx_chan *ch = NULL;
	struct mbuf mb;

	(void)state;
	log_set_level(LOG_NONE);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "t", "0312345678", "801", "Alice"), 0);
	assert_int_equal(pbx_chan_set_var(ch, "FOO", "bar"), 0);
	assert_int_equal(pbx_chan_set_var(ch, "NUM", "42"), 0);
	assert_int_equal(pbx_chan_set_var(ch, "X", "FOO"), 0);
	assert_int_equal(pbx_chan_set_var(ch, "", "x"), EINVAL);
	mbuf_init(&mb);
	for (size_t i = 0; i < ARRAY_SIZE(eval_cases); i++) {
		mb.end = 0;
		assert_int_equal(pbx_chan_eval(ch, eval_cases[i].in, &mb), 0);
		if (mb.end != strlen(eval_cases[i].want) ||
		    memcmp(mb.buf, eval_cases[i].want, mb.end))
			fail_msg("eval(%s) = '%.*s', want '%s'", eval_cases[i].in, (int)mb.end,
				 mb.buf ? (char *)mb.buf : "", eval_cases[i].want);
	}
	assert_string_equal(pbx_chan_get_var(ch, "LINE_DOMAIN"), "ntt-east.ne.jp");
	assert_string_equal(pbx_chan_get_var(ch, "EXTEN"), "0312345678");
	assert_null(pbx_chan_get_var(ch, "UNSET"));

	/* Hostile nesting stays bounded. */
	{
		char deep[2048];
		size_t n = 0;

		for (int i = 0; i < 300; i++)
			n += (size_t)snprintf(deep + n, sizeof(deep) - n, "${");
		for (int i = 0; i < 300; i++)
			n += (size_t)snprintf(deep + n, sizeof(deep) - n, "}");
		mb.end = 0;
		assert_int_equal(pbx_chan_eval(ch, deep, &mb), 0);
		n = 0;
		for (int i = 0; i < 300; i++)
			n += (size_t)snprintf(deep + n, sizeof(deep) - n, "$[(");
		mb.end = 0;
		assert_int_equal(pbx_chan_eval(ch, deep, &mb), 0);
	}
	/* Values are cut at PBX_VALUE_MAX. */
	{
		char *big = malloc(3 * PBX_VALUE_MAX);

		memset(big, 'a', 3 * PBX_VALUE_MAX - 1);
		big[3 * PBX_VALUE_MAX - 1] = '\0';
		assert_int_equal(pbx_chan_set_var(ch, "BIG", big), 0);
		mb.end = 0;
		assert_int_equal(pbx_chan_eval(ch, "${BIG}${BIG}", &mb), 0);
		assert_int_equal(mb.end, PBX_VALUE_MAX);
		free(big);
	}
	mbuf_reset(&mb);
	pbx_chan_free(ch);
	dialplan_free(dp);
	log_set_level(LOG_INFO);
}

/* CALLERPRES() read and set with Asterisk's words; the host's functions (screening's BLACKLIST()
 * and friends) get the substituted arguments; unknown ones stay empty. */
static int host_h(struct pbx_chan *ch, const char *name, const char *args, struct mbuf *out,
		  void *arg)
{
	(*(int *)arg)++;
	if (!strcmp(name, "BLACKLIST"))
		return mbuf_write_str(out, strcmp(pbx_chan_callerid_num(ch), "0120") ? "0" : "1");
	if (!strcmp(name, "ECHO"))
		return mbuf_printf(out, "<%s>", args);
	return ENOENT;
}

static void test_callerpres_and_host_funcs(void **state)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{"${CALLERPRES()}", "allowed_not_screened"},
		{"${BLACKLIST()}", "0"},
		{"${ECHO(${EXTEN}:x)}", "<0312345678:x>"},
		{"$[${BLACKLIST()} = 0]", "1"},
		{"${NOSUCH(1)}", ""},
	};
	struct dialplan *dp = eval_dp();
	struct pbx_chan *ch = NULL;
	struct mbuf mb;
	int calls = 0;

	(void)state;
	log_set_level(LOG_NONE);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "t", "0312345678", "801", "Alice"), 0);
	mbuf_init(&mb);
	/* Without a host: its functions are unknown. */
	assert_int_equal(pbx_chan_eval(ch, "${BLACKLIST()}", &mb), 0);
	assert_int_equal(mb.end, 0);
	pbx_chan_set_func_h(ch, host_h, &calls);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		mb.end = 0;
		assert_int_equal(pbx_chan_eval(ch, t[i].in, &mb), 0);
		if (mb.end != strlen(t[i].want) || memcmp(mb.buf, t[i].want, mb.end))
			fail_msg("eval(%s) = '%.*s', want '%s'", t[i].in, (int)mb.end,
				 mb.buf ? (char *)mb.buf : "", t[i].want);
	}
	assert_int_equal(calls, 4); /* CALLERPRES() is the engine's own */
	assert_int_equal(pbx_chan_set_var(ch, "CALLERID(num)", "0120"), 0);
	mb.end = 0;
	assert_int_equal(pbx_chan_eval(ch, "${BLACKLIST()}", &mb), 0);
	assert_int_equal(mb.end, 1);
	assert_int_equal(mb.buf[0], '1');
	assert_int_equal(pbx_chan_set_var(ch, "CALLERPRES()", "prohib"), 0);
	assert_string_equal(pbx_chan_callerpres(ch), "prohib");
	assert_int_equal(pbx_chan_set_var(ch, "CALLERPRES()", "maybe"), EINVAL);
	assert_string_equal(pbx_chan_callerpres(ch), "prohib");
	assert_int_equal(pbx_chan_set_callerpres(ch, "UNAVAILABLE"), 0);
	assert_string_equal(pbx_chan_callerpres(ch), "unavailable");
	mbuf_reset(&mb);
	pbx_chan_free(ch);
	dialplan_free(dp);
	log_set_level(LOG_INFO);
}

/* ---- applications ---------------------------------------------------------------------------- */

static void test_apps(void **state)
{
	struct dialplan *dp;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;

	(void)state;
	log_set_level(LOG_NONE);
	dp = load_ok("[c]\n"
		     "exten => s,1,Answer()\n"
		     " same => n,Progress\n"
		     " same => n,Ringing()\n"
		     " same => n,Wait(1.5)\n"
		     " same => n,Wait(0)\n"
		     " same => n,Set(CALLERID(all)=\"Bob\" <123>)\n"
		     " same => n,Set(__INHERIT=yes)\n"
		     " same => n,Verbose(2,hello ${CALLERID(name)})\n"
		     " same => n,Log(NOTICE,log line)\n"
		     " same => n,Goto(lbl)\n"
		     " same => n,Hangup(1)\n"
		     " same => n(lbl),Dial(SIP/801&SIP/802&IAX2/x,30,tTr)\n"
		     " same => n,GotoIf($[\"${DIALSTATUS}\" = \"BUSY\"]?busy:other,5,1)\n"
		     " same => n(busy),Busy()\n"
		     "[other]\n"
		     "exten => 5,1,Dial(SIP/0312@mikaka-gw,,m(jazz))\n"
		     " same => n,Dial(IAX2/nothing)\n"
		     " same => n,Set(S=${DIALSTATUS})\n"
		     " same => n,Congestion()\n"
		     "exten => 6,1,Hangup()\n"
		     "exten => 7,1,Hangup(17)\n"
		     "exten => 8,1,NoOp()\n"
		     "exten => 8,3,Hangup(21)\n");

	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", NULL, "801", "Al"), 0);
	assert_string_equal(pbx_chan_exten(ch), "s");
	run_expect(ch, PBX_ACT_ANSWER, &act);
	run_expect(ch, PBX_ACT_PROGRESS, &act);
	run_expect(ch, PBX_ACT_RINGING, &act);
	run_expect(ch, PBX_ACT_WAIT, &act);
	assert_int_equal(act.wait_ms, 1500);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_string_equal(pbx_chan_callerid_name(ch), "Bob");
	assert_string_equal(pbx_chan_callerid_num(ch), "123");
	assert_string_equal(pbx_chan_get_var(ch, "INHERIT"), "yes");
	assert_int_equal(act.dial.ntargets, 2);
	assert_string_equal(act.dial.targets[0].peer, "801");
	assert_string_equal(act.dial.targets[1].peer, "802");
	assert_int_equal(act.dial.timeout_s, 30);
	assert_int_equal(act.dial.opts, PBX_DIAL_OPT_t | PBX_DIAL_OPT_T | PBX_DIAL_OPT_r);
	assert_int_equal(pbx_chan_priority(ch), 13);
	assert_int_equal(pbx_chan_set_var(ch, "DIALSTATUS", "BUSY"), 0);
	run_expect(ch, PBX_ACT_BUSY, &act);
	run_expect(ch, PBX_ACT_END, &act);
	pbx_chan_free(ch);

	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "s", NULL, NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pbx_chan_run(ch, &act), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_int_equal(pbx_chan_set_var(ch, "DIALSTATUS", "NOANSWER"), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_string_equal(pbx_chan_context(ch), "other");
	assert_int_equal(act.dial.ntargets, 1);
	assert_string_equal(act.dial.targets[0].peer, "mikaka-gw");
	assert_string_equal(act.dial.targets[0].number, "0312");
	assert_int_equal(act.dial.timeout_s, 0);
	assert_int_equal(act.dial.opts, PBX_DIAL_OPT_m);
	assert_string_equal(act.dial.moh_class, "jazz");
	/* Dial(IAX2/...) fails by itself: CHANUNAVAIL, and the dialplan goes on. */
	run_expect(ch, PBX_ACT_CONGESTION, &act);
	assert_string_equal(pbx_chan_get_var(ch, "S"), "CHANUNAVAIL");
	pbx_chan_free(ch);

	assert_int_equal(pbx_chan_alloc(&ch, dp, "other", "6", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, PBX_CAUSE_NORMAL);
	pbx_chan_free(ch);
	/* pbx_chan_goto (Dial's F): context^exten^priority, a label, or nothing changed. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "s", NULL, NULL), 0);
	assert_int_equal(pbx_chan_goto(ch, "other^7^1"), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 17);
	pbx_chan_free(ch);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "s", NULL, NULL), 0);
	assert_int_equal(pbx_chan_goto(ch, "nowhere^1^1"), ENOENT);
	assert_int_equal(pbx_chan_goto(ch, "s^99"), ENOENT);
	assert_int_equal(pbx_chan_goto(ch, "s^nolabel"), ENOENT);
	assert_string_equal(pbx_chan_context(ch), "c");
	assert_int_equal(pbx_chan_goto(ch, "busy"), 0);
	run_expect(ch, PBX_ACT_BUSY, &act);
	pbx_chan_free(ch);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "other", "7", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 17);
	pbx_chan_free(ch);
	/* A gap in the priorities ends the extension, as Asterisk's autofallthrough. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "other", "8", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_END, &act);
	pbx_chan_free(ch);
	dialplan_free(dp);
	log_set_level(LOG_INFO);
}

/* Pickup()/PickupChan(): PBX_ACT_PICKUP with the targets substituted, PickupChan's p option;
 * when the host picks nothing up the dialplan goes on; skipped in h; PickupChan needs a channel
 * (mikakad -t). */
static void test_pickup_apps(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;

	(void)state;
	dp = load_ok("[c]\n"
		     "exten => _**X.,1,PickupChan(SIP/${EXTEN:2}&SIP/9,p)\n"
		     " same => n,Pickup(801@c&home@PICKUPMARK)\n"
		     " same => n,Pickup()\n"
		     " same => n,Hangup(21)\n"
		     "exten => h,1,Pickup(801)\n"
		     " same => n,NoOp()\n");
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "**801", "802", NULL), 0);
	run_expect(ch, PBX_ACT_PICKUP, &act);
	assert_true(act.pickup.chan);
	assert_true(act.pickup.partial);
	assert_string_equal(act.pickup.targets, "SIP/801&SIP/9");
	run_expect(ch, PBX_ACT_PICKUP, &act);
	assert_false(act.pickup.chan);
	assert_false(act.pickup.partial);
	assert_string_equal(act.pickup.targets, "801@c&home@PICKUPMARK");
	run_expect(ch, PBX_ACT_PICKUP, &act);
	assert_string_equal(act.pickup.targets, "");
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 21);
	assert_int_equal(pbx_chan_hangup(ch), 0);
	run_expect(ch, PBX_ACT_END, &act);
	pbx_chan_free(ch);
	dialplan_free(dp);

	assert_int_equal(load_text(&dp, "[c]\nexten => 1,1,PickupChan()\n"
					 "exten => 2,1,PickupChan(SIP/801,x)\n",
				   NULL, &diags),
			 0);
	assert_true(dialplan_check(dp, (const char *[]){"c"}, 1, &diags) != 0);
	assert_true(diags_have(&diags, "PickupChan: needs a channel"));
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

/* Contexts that include themselves and each other many times: every search through includes
 * (dialplan show with a filter, hints, "could more digits match") looks at each context once.
 * Before, each followed every include to a depth of 16-32: 6 includes a context took 6^16 steps
 * (found by fuzz_expr as a timeout). */
static void test_include_loops(void **state)
{
	struct dialplan *dp;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;
	struct mbuf out;

	(void)state;
	log_set_level(LOG_NONE);
	dp = load_ok("[a]\ninclude => a\ninclude => b\ninclude => a\ninclude => b\n"
		     "include => a\ninclude => b\nexten => 5,1,Busy()\n"
		     "exten => s,1,Background(hello)\nexten => 12,1,Congestion()\n"
		     "[b]\ninclude => a\ninclude => b\ninclude => a\ninclude => b\n"
		     "include => a\ninclude => b\n");
	mbuf_init(&out);
	(void)dialplan_show(dp, "100@b", &out); /* no such extension: every context searched */
	mbuf_reset(&out);
	assert_int_equal(dialplan_show(dp, "5@b", &out), 0);
	assert_non_null(strstr((const char *)out.buf, "Busy"));
	mbuf_reset(&out);
	assert_null(dialplan_hint(dp, "b", "100"));
	/* Background + WaitExten asks whether "1" could grow into an extension. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "b", "5", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_BUSY, &act);
	pbx_chan_free(ch);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "b", "s", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "1"), 0);
	assert_int_equal(pbx_chan_run(ch, &act), 0); /* "1" may grow into 12: more digits */
	assert_int_equal(act.type, PBX_ACT_PLAY);
	pbx_chan_free(ch);
	mem_deref(dp);
}

/* An Asterisk application mikaka does not have: shown as written, and a call reaching it hangs
 * up (as Asterisk does without the application's module) instead of skipping it. */
static void test_asterisk_only_app(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp = NULL;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;
	struct mbuf out;

	(void)state;
	log_set_level(LOG_NONE);
	assert_int_equal(load_text(&dp,
				   "[c]\nexten => s,1,Set(A=1)\n same => n,Queue(support,t,,,${A})\n"
				   " same => n,Busy()\n",
				   NULL, &diags),
			 0);
	assert_int_equal(diags.errors, 0);
	assert_int_equal(diags.count, 1);
	mbuf_init(&out);
	assert_int_equal(dialplan_show(dp, "c", &out), 0);
	assert_non_null(strstr((const char *)out.buf, "2. Queue(support,t,,,${A})"));
	mbuf_reset(&out);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "s", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, PBX_CAUSE_FAILURE);
	pbx_chan_free(ch);
	mem_deref(dp);
	/* System() and TrySystem() are the host's: the command substituted, try set. */
	dp = load_ok("[c]\nexten => s,1,Set(N=5)\n same => n,System(echo ${N} \\; true)\n"
		     " same => n,TrySystem( exit ${N} )\n same => n,TrySystem()\n"
		     " same => n,Set(R=${SYSTEMSTATUS})\n same => n,System()\n");
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "s", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_SYSTEM, &act);
	assert_string_equal(act.system.cmd, "echo 5 ; true");
	assert_false(act.system.try);
	run_expect(ch, PBX_ACT_SYSTEM, &act);
	assert_string_equal(act.system.cmd, "exit 5");
	assert_true(act.system.try);
	run_expect(ch, PBX_ACT_HANGUP, &act); /* System() without a command: FAILURE, hang up */
	assert_string_equal(pbx_chan_get_var(ch, "R"), "FAILURE");
	pbx_chan_free(ch);
	mem_deref(dp);
	conf_diags_reset(&diags);
}

/* Park() and ParkedCall(), and the parking lot's context made by the configuration: loaded
 * when extensions.conf has none of that name (never "unreachable"), the user's own wins. */
static void test_park(void **state)
{
	struct conf_diags diags = {0};
	struct conf *ext = NULL, *lot = NULL;
	struct dialplan *dp = NULL;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;
	const char *entry[] = {"p"};

	(void)state;
	log_set_level(LOG_NONE);
	assert_int_equal(conf_load_string(&lot, "features.conf",
					  "[parkedcalls]\nexten => 700,1,Park()\n"
					  "exten => 701,1,ParkedCall(701)\n",
					  &diags),
			 0);
	assert_int_equal(conf_load_string(&ext, "e.conf",
					  "[p]\ninclude => parkedcalls\n"
					  "exten => 9,1,Park(5000,x,y,1)\n"
					  "exten => 8,1,ParkedCall(default,702)\n",
					  &diags),
			 0);
	assert_int_equal(dialplan_load_builtin(&dp, ext, lot, NULL, &diags), 0);
	assert_int_equal(dialplan_check(dp, entry, 1, &diags), 0);
	assert_int_equal(diags.count, 0);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "p", "700", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_PARK, &act);
	assert_int_equal(act.park.timeout_ms, 0);
	pbx_chan_free(ch);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "p", "701", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_PARKEDCALL, &act);
	assert_string_equal(act.park.space, "701");
	pbx_chan_free(ch);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "p", "9", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_PARK, &act);
	assert_int_equal(act.park.timeout_ms, 5000);
	pbx_chan_free(ch);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "p", "8", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_PARKEDCALL, &act);
	assert_string_equal(act.park.space, "702");
	pbx_chan_free(ch);
	mem_deref(dp);
	dp = NULL;
	conf_free(ext);
	/* extensions.conf's own [parkedcalls] wins. */
	assert_int_equal(conf_load_string(&ext, "e.conf",
					  "[p]\ninclude => parkedcalls\n[parkedcalls]\n"
					  "exten => 700,1,Busy()\n",
					  &diags),
			 0);
	assert_int_equal(dialplan_load_builtin(&dp, ext, lot, NULL, &diags), 0);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "p", "700", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_BUSY, &act);
	pbx_chan_free(ch);
	assert_int_not_equal(dialplan_find(dp, "p", "701", 1, NULL), 0);
	mem_deref(dp);
	conf_free(ext);
	conf_free(lot);
	conf_diags_reset(&diags);
}

struct dial_case {
	const char *args;
	int err;
	size_t ntargets;
	const char *peer0, *number0;
	unsigned timeout, opts, bad;
	uint32_t limit_ms;
};

static const struct dial_case dial_cases[] = {
    {"SIP/801&SIP/802,30,tT", 0, 2, "801", NULL, 30, PBX_DIAL_OPT_t | PBX_DIAL_OPT_T, 0, 0},
    {"SIP/mikaka-gw/0312345678", 0, 1, "mikaka-gw", "0312345678", 0, 0, 0, 0},
    {"SIP/801,30,r", 0, 1, "801", NULL, 30, PBX_DIAL_OPT_r, 0, 0},
    {"SIP/0312@gw", 0, 1, "gw", "0312", 0, 0, 0, 0},
    {"sip/801 & SIP/802 ,20,m", 0, 2, "801", NULL, 20, PBX_DIAL_OPT_m, 0, 0},
    {"IAX2/foo&SIP/801", 0, 1, "801", NULL, 0, 0, 1, 0},
    {"SIP/801,abc,L(1000)r", 0, 1, "801", NULL, 0, PBX_DIAL_OPT_r, 0, 1000},
    {"SIP/801,20,S(90)t", 0, 1, "801", NULL, 20, PBX_DIAL_OPT_t, 0, 90000},
    {"SIP/801,20,L(60000:10000:5000)", 0, 1, "801", NULL, 20, 0, 0, 60000},
    {"SIP/801,20,S(0)S(x)L(-5)", 0, 1, "801", NULL, 20, 0, 0, 0},
    {"IAX2/x", EINVAL, 0, NULL, NULL, 0, 0, 1, 0},
    {"SIP/", EINVAL, 0, NULL, NULL, 0, 0, 1, 0},
    {"801", EINVAL, 0, NULL, NULL, 0, 0, 1, 0},
    {"", EINVAL, 0, NULL, NULL, 0, 0, 0, 0},
};

static void test_dial_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(dial_cases); i++) {
		const struct dial_case *dc = &dial_cases[i];
		char *a = strdup(dc->args);
		struct pbx_dial d;
		unsigned bad = 99;

		assert_int_equal(pbx_dial_parse(a, &d, &bad), dc->err);
		assert_int_equal(d.ntargets, dc->ntargets);
		assert_int_equal(bad, dc->bad);
		if (dc->ntargets) {
			assert_string_equal(d.targets[0].tech, i == 4 ? "sip" : "SIP");
			assert_string_equal(d.targets[0].peer, dc->peer0);
			if (dc->number0)
				assert_string_equal(d.targets[0].number, dc->number0);
			else
				assert_null(d.targets[0].number);
			assert_int_equal(d.timeout_s, dc->timeout);
			assert_int_equal(d.opts, dc->opts);
			assert_int_equal(d.limit_ms, dc->limit_ms);
		}
		free(a);
	}
	/* D(called:calling) */
	{
		char a[] = "SIP/801,20,D(123w4:56)t";
		struct pbx_dial d;

		assert_int_equal(pbx_dial_parse(a, &d, NULL), 0);
		assert_string_equal(d.dtmf_called, "123w4");
		assert_string_equal(d.dtmf_calling, "56");
		assert_int_equal(d.opts, PBX_DIAL_OPT_t);
	}
	/* g, F(context^exten^priority), F alone */
	{
		char a[] = "SIP/801,20,gt";
		struct pbx_dial d;

		assert_int_equal(pbx_dial_parse(a, &d, NULL), 0);
		assert_int_equal(d.opts, PBX_DIAL_OPT_g | PBX_DIAL_OPT_t);
		assert_null(d.cont_target);
	}
	{
		char a[] = "SIP/801,20,F(ctx^100^2)r";
		struct pbx_dial d;

		assert_int_equal(pbx_dial_parse(a, &d, NULL), 0);
		assert_int_equal(d.opts, PBX_DIAL_OPT_g | PBX_DIAL_OPT_r);
		assert_string_equal(d.cont_target, "ctx^100^2");
	}
	{
		char a[] = "SIP/801,20,F";
		struct pbx_dial d;

		assert_int_equal(pbx_dial_parse(a, &d, NULL), 0);
		assert_int_equal(d.opts, PBX_DIAL_OPT_g);
		assert_null(d.cont_target);
	}
	{
		char a[] = "SIP/801,20,D(:9)";
		struct pbx_dial d;

		assert_int_equal(pbx_dial_parse(a, &d, NULL), 0);
		assert_null(d.dtmf_called);
		assert_string_equal(d.dtmf_calling, "9");
	}
}

static void test_gosub(void **state)
{
	struct dialplan *dp;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;

	(void)state;
	dp = load_ok("[t]\n"
		     "exten => s,1,Set(R=start)\n"
		     " same => n,Gosub(sub,s,1(x,y))\n"
		     " same => n,Set(R=${R}-${GOSUB_RETVAL}-${ARG1})\n"
		     " same => n,Gosub(sub2,s,1)\n"
		     " same => n,Hangup(17)\n"
		     "[sub]\n"
		     "exten => s,1,Set(R=${R}-${ARG1}${ARG2})\n"
		     " same => n,Gosub(sub2,s,1(z,,w))\n"
		     " same => n,Return(${ARG1}${GOSUB_RETVAL})\n"
		     "[sub2]\n"
		     "exten => s,1,Return(${ARG1}${ARG2}${ARG3})\n");
	assert_int_equal(pbx_chan_alloc(&ch, dp, "t", "s", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 17);
	assert_string_equal(pbx_chan_get_var(ch, "R"), "start-xy-xzw-");
	assert_string_equal(pbx_chan_get_var(ch, "GOSUB_RETVAL"), "");
	assert_int_equal(pbx_chan_gosub_depth(ch), 0);
	pbx_chan_free(ch);
	dialplan_free(dp);
}

static void test_bad_dialplans(void **state)
{
	struct dialplan *dp;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;

	(void)state;
	log_set_level(LOG_NONE);
	dp = load_ok("[loop]\n"
		     "exten => s,1,Goto(s,1)\n"
		     "[loop2]\n"
		     "exten => s,1,NoOp()\n"
		     " same => n,Goto(1)\n"
		     "[waitloop]\n"
		     "exten => s,1,Wait(1)\n"
		     " same => n,Goto(1)\n"
		     "[deep]\n"
		     "exten => s,1,Gosub(s,1)\n"
		     "[ret]\n"
		     "exten => s,1,Return()\n"
		     "[badgoto]\n"
		     "exten => s,1,Goto(nolabel)\n"
		     "[badgosub]\n"
		     "exten => s,1,Gosub(nowhere,s,1)\n"
		     "[gotoctx]\n"
		     "exten => s,1,Goto(nosuchctx,s,1)\n");
	const char *fails[] = {"loop", "loop2", "deep", "ret", "badgoto", "badgosub", "gotoctx"};

	for (size_t i = 0; i < ARRAY_SIZE(fails); i++) {
		assert_int_equal(pbx_chan_alloc(&ch, dp, fails[i], "s", NULL, NULL), 0);
		run_expect(ch, PBX_ACT_HANGUP, &act);
		assert_int_equal(act.cause, PBX_CAUSE_FAILURE);
		if (!strcmp(fails[i], "deep"))
			assert_int_equal(pbx_chan_gosub_depth(ch), PBX_GOSUB_MAX);
		run_expect(ch, PBX_ACT_END, &act);
		pbx_chan_free(ch);
	}
	/* A loop that waits is legitimate: every turn hands control back. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "waitloop", "s", NULL, NULL), 0);
	for (int i = 0; i < 3 * PBX_STEPS_MAX; i++) {
		assert_int_equal(pbx_chan_run(ch, &act), 0);
		if (act.type != PBX_ACT_WAIT)
			fail_msg("turn %d: %d", i, act.type);
	}
	pbx_chan_free(ch);
	dialplan_free(dp);
	log_set_level(LOG_INFO);
}

static void test_special_extens(void **state)
{
	struct dialplan *dp;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;

	(void)state;
	log_set_level(LOG_NONE);
	dp = load_ok("[c]\n"
		     "exten => s,1,Answer()\n"
		     " same => n,Goto(nowhere,1)\n"
		     "exten => i,1,Set(BAD=${INVALID_EXTEN})\n"
		     " same => n,Hangup(1)\n"
		     "exten => h,1,Set(H=done-${EXTEN})\n"
		     " same => n,Answer()\n"
		     " same => n,Dial(SIP/801)\n"
		     " same => n,Set(H2=yes)\n"
		     "exten => t,1,Hangup(19)\n"
		     "[noi]\n"
		     "exten => 100,1,Answer()\n"
		     "[hbusy]\n"
		     "exten => s,1,Busy()\n"
		     "exten => h,1,Hangup()\n"
		     " same => n,Set(NOTREACHED=1)\n");

	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_ANSWER, &act);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 1);
	assert_string_equal(pbx_chan_get_var(ch, "BAD"), "nowhere");
	assert_int_equal(pbx_chan_hangup(ch), 0);
	run_expect(ch, PBX_ACT_END, &act);
	assert_string_equal(pbx_chan_get_var(ch, "H"), "done-h");
	assert_string_equal(pbx_chan_get_var(ch, "H2"), "yes");
	assert_int_equal(pbx_chan_hangup(ch), ENOENT);
	run_expect(ch, PBX_ACT_END, &act);
	pbx_chan_free(ch);

	/* An unknown number with an i extension. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "999", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_string_equal(pbx_chan_get_var(ch, "BAD"), "999");
	pbx_chan_free(ch);

	/* t */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "s", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_ANSWER, &act);
	assert_int_equal(pbx_chan_timeout(ch), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 19);
	pbx_chan_free(ch);

	/* No i: hang up as an unallocated number; no h or t either. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "noi", "555", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, PBX_CAUSE_UNALLOCATED);
	assert_int_equal(pbx_chan_timeout(ch), ENOENT);
	assert_int_equal(pbx_chan_hangup(ch), ENOENT);
	run_expect(ch, PBX_ACT_END, &act);
	pbx_chan_free(ch);

	/* Hangup() inside h ends h. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "hbusy", "s", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_BUSY, &act);
	assert_int_equal(pbx_chan_hangup(ch), 0);
	run_expect(ch, PBX_ACT_END, &act);
	assert_null(pbx_chan_get_var(ch, "NOTREACHED"));
	pbx_chan_free(ch);
	dialplan_free(dp);
	log_set_level(LOG_INFO);
}

static void test_labels_priorities(void **state)
{
	struct dialplan *dp;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;

	(void)state;
	dp = load_ok("[c]\n"
		     "exten => 5,1,NoOp()\n"
		     "exten => 5,n+2,Goto(6,end)\n"
		     "exten => 6,10,Hangup(3)\n"
		     "exten => 6,s+1(end),Hangup(4)\n"
		     "exten => 7,1(start),Set(X=${X}a)\n"
		     " same => n,GotoIf($[${LEN(${X})} < 3]?start)\n"
		     " same => n,Hangup(${LEN(${X})})\n");
	/* n+2 after priority 1 is 1 + 1 + 2 */
	assert_int_equal(dialplan_find(dp, "c", "5", 4, NULL), 0);
	assert_int_equal(dialplan_find(dp, "c", "5", 3, NULL), ENOENT);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "5", NULL, NULL), 0);
	/* 5,1 runs, 5,2 is missing: the extension ends there (as Asterisk) */
	run_expect(ch, PBX_ACT_END, &act);
	pbx_chan_free(ch);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "7", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 3);
	assert_string_equal(pbx_chan_get_var(ch, "X"), "aaa");
	pbx_chan_free(ch);
	dialplan_free(dp);

	dp = load_ok("[c]\n"
		     "exten => s,1,Goto(,6,end)\n"
		     "exten => 6,10,Hangup(3)\n"
		     "exten => 6,s+1(end),Hangup(4)\n");
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "s", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 4);
	pbx_chan_free(ch);
	dialplan_free(dp);
}

/* ---- loading: errors, warnings, globals ------------------------------------------------------ */

struct load_case {
	const char *text;
	int err;
	const char *needle;
};

static const struct load_case load_cases[] = {
    {"[c]\nexten => s,1,Foo(bar)\n", EINVAL, "t.conf:2: error: unknown application 'Foo'"},
    {"[c]\nexten => s,x,NoOp()\n", EINVAL, "t.conf:2: error: invalid priority 'x'"},
    {"[c]\nexten => s,0,NoOp()\n", EINVAL, "t.conf:2: error: invalid priority"},
    {"[c]\nexten => s,n,NoOp()\n", EINVAL, "t.conf:2: error: priority 'n' with no previous"},
    {"[c]\nsame => n,NoOp()\n", EINVAL, "t.conf:2: error: 'same =>' with no 'exten =>'"},
    {"[c]\nfoo => bar\n", EINVAL, "t.conf:2: error: unknown key 'foo'"},
    {"[c]\nswitch => Realtime\n", EINVAL, "t.conf:2: error: switch => is not supported"},
    {"[c]\nexten => _[12,1,NoOp()\n", EINVAL, "t.conf:2: error: invalid pattern '_[12'"},
    {"[c]\nexten => _,1,NoOp()\n", EINVAL, "t.conf:2: error: invalid pattern '_'"},
    {"[c]\nexten => 1/,1,NoOp()\n", EINVAL, "invalid extension '1/' (NAME/CALLERID)"},
    {"[c]\nexten => s\n", EINVAL, "t.conf:2: error: expected 'EXTEN,PRIORITY"},
    {"[c]\nexten => s,1\n", EINVAL, "t.conf:2: error: expected 'EXTEN,PRIORITY"},
    {"[c]\nexten => s,1,\n", EINVAL, "t.conf:2: error: missing application"},
    {"[c]\ninclude => a,25:00-26:00,*,*,*\n", EINVAL,
     "t.conf:2: error: include => a: bad time specification '25:00-26:00,*,*,*': invalid time range"},
    {"[c]\ninclude => a|*|funday|*|*\n", EINVAL, "t.conf:2: error: include => a: bad time "
						  "specification '*|funday|*|*': invalid weekday"},
    {"[c]\ninclude => a,*,*,*,*,No/Such_Zone\n", EINVAL, "unknown time zone 'No/Such_Zone'"},
    {"[c]\nexten => s,1,GotoIfTime(8-9,*,*,*?1)\n", EINVAL,
     "t.conf:2: error: GotoIfTime: bad time specification '8-9,*,*,*'"},
    {"[c]\nexten => s,1,GotoIfTime(*,*,*,*)\n", EINVAL,
     "t.conf:2: error: GotoIfTime: expected 'times,weekdays,mdays,months[,timezone]?"},
    {"[c]\nexten => s,1,ExecIfTime(*,*,32,*?NoOp())\n", EINVAL, "invalid day of month '32'"},
    {"[c]\nexten => s,1,ExecIfTime(*,*,*,*?Frob(1))\n", EINVAL,
     "t.conf:2: error: ExecIfTime: unknown application 'Frob'"},
    {"[c]\nexten => s,1,ExecIf(1?NoOp():Frob(1))\n", EINVAL,
     "t.conf:2: error: ExecIf: unknown application 'Frob'"},
    {"[c]\nexten => s,1,ExecIf(1)\n", EINVAL, "ExecIf: expected 'condition?app(args)"},
    {"[c]\nexten => s,1,Set(A=${IFTIME(*,*,*,smarch?a:b)})\n", EINVAL,
     "t.conf:2: error: IFTIME: bad time specification '*,*,*,smarch': invalid month"},
    {"[c]\nexten => s,1,Set(A=${IFTIME(*,*,*,*,a,b?a:b)})\n", EINVAL, "too many fields"},
    {"[c]\nexten => s,1(),NoOp()\n", EINVAL, "empty priority label"},
    {"[c]\nexten => s,1,NoOp()\nexten => s,1,Answer()\n", 0,
     "t.conf:3: warning: priority 1 of extension 's' already defined at t.conf:2"},
    {"[c]\nexten => 801,hint,IAX2/801\n", 0, "t.conf:2: warning: hint device 'IAX2/801'"},
    {"[c]\nexten => 801,hint,SIP/801&DAHDI/1\n", 0, "t.conf:2: warning: hint device 'DAHDI/1'"},
    {"[c]\nexten => 801,hint,SIP/801\nexten => 801,hint,SIP/802\n", 0,
     "t.conf:3: warning: extension 801 already has a hint (t.conf:2)"},
    {"[c]\nexten => _8XX,hint,SIP/801\n", 0, "t.conf:2: warning: hints on patterns"},
    {"[c]\nexten => 801,hint,\n", 0, "t.conf:2: warning: hint with no device"},
    {"[general]\nstatic=yes\nfoo=bar\n[c]\nexten => s,1,NoOp\n", 0,
     "t.conf:3: warning: 'foo' in [general] is not implemented"},
    {"[c]\ninclude => nosuch\n", 0, "t.conf:2: warning: context 'c' includes 'nosuch'"},
    {"[c]\nexten => s,1,NoOp(\n", 0, "t.conf:2: warning: no closing parenthesis"},
    {"[c]\nignorepat => 9\n", 0, "t.conf:2: warning: ignorepat is not supported"},
    {"[c]\nexten => s,1,Morsecode(answer)\n", 0,
     "t.conf:2: warning: 'Morsecode' is an Asterisk application mikaka does not have: a call "
     "reaching it hangs up"},
    {"[c]\nexten => s,1,ExecIf(1?Morsecode(x))\n", 0,
     "t.conf:2: warning: ExecIf: 'Morsecode' is an Asterisk application mikaka does not have"},
    {"[c]\nexten => s,1,Unsupported(x)\n", EINVAL, "unknown application 'Unsupported'"},
    {"[c]\nexten => s,1,(x)\n", EINVAL, "missing application"},
};

static void test_load_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(load_cases); i++) {
		struct conf_diags diags = {0};
		struct dialplan *dp = NULL;
		int err = load_text(&dp, load_cases[i].text, NULL, &diags);

		if (err != load_cases[i].err || !diags_have(&diags, load_cases[i].needle)) {
			conf_diags_print(&diags);
			fail_msg("case %zu: err %d (want %d), want '%s'", i, err, load_cases[i].err,
				 load_cases[i].needle);
		}
		if (err)
			assert_null(dp);
		dialplan_free(dp);
		conf_diags_reset(&diags);
	}
}

static void test_globals_and_merge(void **state)
{
	struct conf_diags diags = {0};
	struct pbx_vars *g = NULL;
	struct dialplan *dp = NULL;
	const char *name;

	(void)state;
	assert_int_equal(pbx_vars_alloc(&g), 0);
	assert_int_equal(pbx_vars_set(g, "LINE_NUMBER", "0300000000"), 0);
	assert_int_equal(pbx_vars_set(g, "LINE_SERVER", "10.0.0.1"), 0);
	assert_int_equal(load_text(&dp,
				   "[globals]\n"
				   "A=1\n"
				   "B=${A}2\n"
				   "LINE_NUMBER=0312345678\n"
				   "[tpl](!)\n"
				   "exten => 9,1,NoOp()\n"
				   "[c](tpl)\n"
				   "exten => 1,1,NoOp()\n"
				   "[c]\n"
				   "exten => 2,1,NoOp()\n",
				   g, &diags),
			 0);
	assert_int_equal(diags.count, 0);
	assert_string_equal(dialplan_global(dp, "B"), "12");
	assert_string_equal(dialplan_global(dp, "LINE_NUMBER"), "0312345678");
	assert_string_equal(dialplan_global(dp, "LINE_SERVER"), "10.0.0.1");
	assert_null(dialplan_global(dp, "C"));
	assert_int_equal(dialplan_context_count(dp), 1);
	assert_false(dialplan_has_context(dp, "tpl"));
	assert_int_equal(dialplan_find(dp, "c", "1", 1, &name), 0);
	assert_int_equal(dialplan_find(dp, "c", "2", 1, &name), 0);
	assert_int_equal(dialplan_find(dp, "c", "9", 1, &name), 0);
	dialplan_free(dp);
	pbx_vars_free(g);
	conf_diags_reset(&diags);
}

/* ---- dialplan show --------------------------------------------------------------------------- */

static const char show_from_phone[] =
    "[ Context 'from_phone' created by 'pbx_config' ]\n"
    "  '_0.' =>          1. Set(CALLERID(num)=0312345678)              [seed-extensions.conf:6]\n"
    "                    2. Dial(SIP/mikaka-gw/${EXTEN})               [seed-extensions.conf:7]\n"
    "  '_80Z' =>         1. Dial(SIP/${EXTEN})                         [seed-extensions.conf:5]\n"
    "\n"
    "-= 2 extensions (3 priorities) in 1 context. =-\n";

static const char show_match[] =
    "[ Context 'from_phone' created by 'pbx_config' ]\n"
    "  '_0.' =>          1. Set(CALLERID(num)=0312345678)              [seed-extensions.conf:6]\n"
    "                    2. Dial(SIP/mikaka-gw/${EXTEN})               [seed-extensions.conf:7]\n"
    "\n"
    "-= 1 extension (2 priorities) in 1 context. =-\n";

static void show_expect(const struct dialplan *dp, const char *arg, int err, const char *want)
{
	struct mbuf mb;

	mbuf_init(&mb);
	assert_int_equal(dialplan_show(dp, arg, &mb), err);
	mbuf_write(&mb, "", 1);
	if (strcmp((char *)mb.buf, want))
		fail_msg("dialplan show %s:\n%s\nwant:\n%s", arg ? arg : "", (char *)mb.buf, want);
	mbuf_reset(&mb);
}

static void test_show(void **state)
{
	struct conf_diags diags = {0};
	struct conf *conf = NULL;
	struct dialplan *dp = NULL;
	struct mbuf mb;

	(void)state;
	assert_int_equal(conf_load(&conf, SEED_EXT, &diags), 0);
	assert_int_equal(dialplan_load(&dp, conf, NULL, &diags), 0);
	conf_free(conf);
	show_expect(dp, "from_phone", 0, show_from_phone);
	show_expect(dp, "0312345678@from_phone", 0, show_match);
	show_expect(dp, "_0.@from_phone", 0, show_match);
	show_expect(dp, "@from_phone", 0, show_from_phone);
	show_expect(dp, "999@from_phone", ENOENT,
		    "There is no existence of 999@from_phone extension\n");
	show_expect(dp, "nosuch", ENOENT, "There is no existence of 'nosuch' context\n");

	mbuf_init(&mb);
	assert_int_equal(dialplan_show(dp, NULL, &mb), 0);
	mbuf_write(&mb, "", 1);
	assert_non_null(strstr((char *)mb.buf, "[ Context 'from_mikaka' created by 'pbx_config' ]\n"
					       "  '_X.' =>          1. Dial(SIP/801)"));
	assert_non_null(
	    strstr((char *)mb.buf, "-= 3 extensions (4 priorities) in 2 contexts. =-\n"));
	assert_true(strstr((char *)mb.buf, "from_mikaka") < strstr((char *)mb.buf, "from_phone"));
	mbuf_reset(&mb);
	dialplan_free(dp);

	/* Includes, labels, exact before patterns. */
	dp = load_ok("[a]\n"
		     "exten => _X.,1,NoOp(pat)\n"
		     "exten => 100,1,NoOp(exact)\n"
		     " same => n(lbl),Hangup()\n"
		     "include => b\n"
		     "[b]\n"
		     "exten => 555,1,NoOp()\n");
	show_expect(
	    dp, "a", 0,
	    "[ Context 'a' created by 'pbx_config' ]\n"
	    "  '100' =>          1. NoOp(exact)                                [t.conf:3]\n"
	    "     [lbl]          2. Hangup()                                   [t.conf:4]\n"
	    "  '_X.' =>          1. NoOp(pat)                                  [t.conf:2]\n"
	    "  Include =>        'b'                                           [pbx_config]\n"
	    "\n"
	    "-= 2 extensions (3 priorities) in 1 context. =-\n");
	show_expect(
	    dp, "555@a", 0,
	    "[ Context 'a' created by 'pbx_config' ]\n"
	    "  '_X.' =>          1. NoOp(pat)                                  [t.conf:2]\n"
	    "  Include =>        'b'                                           [pbx_config]\n"
	    "\n"
	    "[ Included context 'b' created by 'pbx_config' ]\n"
	    "  '555' =>          1. NoOp()                                     [t.conf:7]\n"
	    "\n"
	    "-= 2 extensions (2 priorities) in 2 contexts. =-\n");
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

/* ---- mikakad -t ------------------------------------------------------------------------------ */

static void test_check(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp;
	const char *entries[] = {"a", "nosuchentry"};

	(void)state;
	dp = load_ok("[a]\n"
		     "exten => s,1,Goto(b,s,1)\n"
		     " same => n,Goto(b,nosuch,1)\n"
		     " same => n,Goto(zz,s,1)\n"
		     " same => n,GotoIf($[${X} = 1]?s,1:lbl)\n"
		     " same => n,Gosub(b,s,1(x))\n"
		     " same => n,Dial(IAX2/foo)\n"
		     " same => n,Goto(${X},1)\n"
		     " same => n,Dial(SIP/801,30,tTrm%)\n"
		     " same => n(here),Goto(here)\n"
		     " same => n,Goto(gosubbed,s,start)\n"
		     " same => n,Gosub(b,s,9)\n"
		     "[b]\n"
		     "exten => s,1,NoOp()\n"
		     "include => inc\n"
		     "[inc]\n"
		     "exten => s,1,NoOp()\n"
		     "[gosubbed]\n"
		     "exten => s,1(start),NoOp()\n"
		     "[orphan]\n"
		     "exten => s,1,NoOp()\n"
		     "[orphan2]\n"
		     "include => orphan\n");
	assert_int_equal(dialplan_check(dp, entries, 2, &diags), EINVAL);
	if (getenv("PBX_TEST_VERBOSE"))
		conf_diags_print(&diags);
	assert_true(diags_have(&diags, "t.conf:3: error: Goto: target b,nosuch,1 does not exist"));
	assert_true(diags_have(&diags, "t.conf:4: error: Goto: context 'zz' does not exist"));
	assert_true(diags_have(&diags, "t.conf:5: error: GotoIf: priority 'lbl' does not exist"));
	assert_true(diags_have(&diags, "t.conf:7: error: Dial: unknown channel technology 'IAX2'"));
	assert_true(diags_have(&diags, "t.conf:9: warning: Dial: unknown option '%'"));
	assert_true(diags_have(&diags, "t.conf:12: error: Gosub: target b,s,9 does not exist"));
	assert_true(diags_have(&diags, "t.conf:20: warning: context 'orphan' is unreachable"));
	assert_true(diags_have(&diags, "t.conf:22: warning: context 'orphan2' is unreachable"));
	assert_true(diags_have(&diags, "warning: context 'nosuchentry' (a peer's context=)"));
	assert_false(diags_have(&diags, "'inc' is unreachable"));
	assert_false(diags_have(&diags, "'gosubbed' is unreachable"));
	assert_int_equal(diags_count(&diags, CONF_ERROR), 5);
	assert_int_equal(diags_count(&diags, CONF_WARNING), 4);
	conf_diags_reset(&diags);
	dialplan_free(dp);
}

/* ---- media applications ---------------------------------------------------------------------- */

struct say_case {
	bool number;
	const char *in;
	int err;
	const char *files;
};

static const struct say_case say_cases[] = {
    {true, "0", 0, "digits/0"},
    {true, "7", 0, "digits/7"},
    {true, "15", 0, "digits/15"},
    {true, "20", 0, "digits/20"},
    {true, "42", 0, "digits/40&digits/2"},
    {true, "100", 0, "digits/1&digits/hundred"},
    {true, "305", 0, "digits/3&digits/hundred&digits/5"},
    {true, "1999", 0, "digits/1&digits/thousand&digits/9&digits/hundred&digits/90&digits/9"},
    {true, "2000000", 0, "digits/2&digits/million"},
    {true, "-3", 0, "digits/minus&digits/3"},
    {true, "12a", EINVAL, ""},
    {true, "", EINVAL, ""},
    {true, "1000000000", EINVAL, ""},
    {false, "12*#", 0, "digits/1&digits/2&digits/star&digits/pound"},
    {false, "a-9", 0, "letters/a&digits/minus&digits/9"},
    {false, "?", 0, ""},
};

static void test_say(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(say_cases); i++) {
		const struct say_case *c = &say_cases[i];
		struct mbuf mb;

		mbuf_init(&mb);
		int err = c->number ? pbx_say_number(c->in, &mb) : pbx_say_digits(c->in, &mb);
		assert_int_equal(err, c->err);
		if (!err) {
			mbuf_write(&mb, "", 1);
			assert_string_equal((char *)mb.buf, c->files);
		}
		mbuf_reset(&mb);
	}
}

static void test_split_files(void **state)
{
	char list[] = " a & b&&c ";
	const char *files[2];

	(void)state;
	assert_int_equal(pbx_split_files(list, files, 2), 2);
	assert_string_equal(files[0], "a");
	assert_string_equal(files[1], "b");
}

static struct pbx_chan *chan_at(struct dialplan *dp, const char *exten)
{
	struct pbx_chan *ch = NULL;

	assert_int_equal(pbx_chan_alloc(&ch, dp, "m", exten, "801", "Alice"), 0);
	return ch;
}

static void test_media_apps(void **state)
{
	struct dialplan *dp;
	struct pbx_chan *ch;
	struct pbx_action act;

	(void)state;
	dp = load_ok("[m]\n"
		     "exten => 600,1,Playback(hello-world&/tmp/x,noanswer)\n"
		     " same => n,Playback(again,skip)\n"
		     " same => n,Hangup()\n"
		     "exten => 610,1,Set(TIMEOUT(digit)=2.5)\n"
		     " same => n,Set(CHANNEL(language)=ja)\n"
		     " same => n,Background(menu,n,,other)\n"
		     " same => n,WaitExten(3,m(jazz))\n"
		     " same => n,Hangup()\n"
		     "exten => 12,1,NoOp()\n"
		     "exten => 123,1,Log(NOTICE,t=${TIMEOUT(digit)} l=${CHANNEL(language)})\n"
		     "exten => i,1,Hangup(1)\n"
		     "exten => t,1,Hangup(2)\n"
		     "exten => 620,1,Read(PIN,enter-pin,4,,2,5)\n"
		     " same => n,Hangup()\n"
		     "exten => 630,1,Record(msg/x.wav,3,60,qk)\n"
		     " same => n,Record(y)\n"
		     " same => n,MixMonitor(/tmp/m.wav)\n"
		     " same => n,StopMixMonitor()\n"
		     " same => n,Echo()\n"
		     " same => n,Milliwatt()\n"
		     " same => n,MusicOnHold(jazz,10)\n"
		     " same => n,SayDigits(12)\n"
		     " same => n,SayNumber(x)\n"
		     " same => n,Hangup()\n"
		     "[other]\n"
		     "exten => 5,1,Hangup(5)\n");

	/* Playback: files, noanswer; PLAYBACKSTATUS from the host's outcome. */
	ch = chan_at(dp, "600");
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(act.media.nfiles, 2);
	assert_string_equal(act.media.files[0], "hello-world");
	assert_string_equal(act.media.files[1], "/tmp/x");
	assert_false(act.media.answer);
	assert_int_equal(act.media.max_digits, 0);
	assert_string_equal(act.media.language, "");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_FAILED, NULL), 0);
	assert_string_equal(pbx_chan_get_var(ch, "PLAYBACKSTATUS"), "FAILED");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), EINVAL); /* none pending */
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_true(act.media.answer);
	assert_true(act.media.skip_unanswered);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	assert_string_equal(pbx_chan_get_var(ch, "PLAYBACKSTATUS"), "SUCCESS");
	run_expect(ch, PBX_ACT_HANGUP, &act);
	pbx_chan_free(ch);

	/* Background in another context, a digit, more digits while they can match more. */
	ch = chan_at(dp, "610");
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "menu");
	assert_string_equal(act.media.language, "ja");
	assert_false(act.media.answer);
	assert_int_equal(act.media.max_digits, 1);
	assert_non_null(strchr(act.media.stop_digits, '5'));
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "5"), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 5); /* other,5,1 */
	pbx_chan_free(ch);

	ch = chan_at(dp, "610");
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	assert_string_equal(pbx_chan_get_var(ch, "BACKGROUNDSTATUS"), "SUCCESS");
	run_expect(ch, PBX_ACT_PLAY, &act); /* WaitExten(3,m(jazz)) */
	assert_int_equal(act.media.nfiles, 0);
	assert_int_equal(act.media.timeout_ms, 3000);
	assert_string_equal(act.media.moh_class, "jazz");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "1"), 0);
	run_expect(ch, PBX_ACT_PLAY, &act); /* "1" can grow into 12, 123 */
	assert_int_equal(act.media.timeout_ms, 2500);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "2"), 0);
	run_expect(ch, PBX_ACT_PLAY, &act); /* 12 exists but 123 too */
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_TIMEOUT, NULL), 0);
	assert_string_equal(pbx_chan_exten(ch), "12"); /* timed out on 12: it runs */
	pbx_chan_free(ch);

	ch = chan_at(dp, "610");
	run_expect(ch, PBX_ACT_PLAY, &act);
	pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL);
	run_expect(ch, PBX_ACT_PLAY, &act);
	pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "1");
	run_expect(ch, PBX_ACT_PLAY, &act);
	pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "2");
	run_expect(ch, PBX_ACT_PLAY, &act);
	pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "3");
	assert_string_equal(pbx_chan_exten(ch), "123");
	pbx_chan_free(ch);

	/* A digit no extension starts with: `i`; no digit: `t`. */
	ch = chan_at(dp, "610");
	run_expect(ch, PBX_ACT_PLAY, &act);
	pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL);
	run_expect(ch, PBX_ACT_PLAY, &act);
	pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "9");
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 1);
	assert_string_equal(pbx_chan_get_var(ch, "INVALID_EXTEN"), "9");
	pbx_chan_free(ch);
	ch = chan_at(dp, "610");
	run_expect(ch, PBX_ACT_PLAY, &act);
	pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL);
	run_expect(ch, PBX_ACT_PLAY, &act);
	pbx_chan_media_done(ch, PBX_MEDIA_TIMEOUT, NULL);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 2);
	pbx_chan_free(ch);

	/* Read: prompt, 4 digits, '#', 5 s; a timeout retries once (attempts 2). */
	ch = chan_at(dp, "620");
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "enter-pin");
	assert_int_equal(act.media.max_digits, 4);
	assert_string_equal(act.media.term_digits, "#");
	assert_int_equal(act.media.timeout_ms, 5000);
	assert_true(act.media.answer);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_TIMEOUT, ""), 0);
	run_expect(ch, PBX_ACT_PLAY, &act); /* the second attempt */
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_TIMEOUT, ""), 0);
	assert_string_equal(pbx_chan_get_var(ch, "READSTATUS"), "TIMEOUT");
	assert_string_equal(pbx_chan_get_var(ch, "PIN"), "");
	pbx_chan_free(ch);
	ch = chan_at(dp, "620");
	run_expect(ch, PBX_ACT_PLAY, &act);
	pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "4321");
	assert_string_equal(pbx_chan_get_var(ch, "PIN"), "4321");
	assert_string_equal(pbx_chan_get_var(ch, "READSTATUS"), "OK");
	pbx_chan_free(ch);

	/* Record and the rest. */
	ch = chan_at(dp, "630");
	run_expect(ch, PBX_ACT_RECORD, &act);
	assert_string_equal(act.media.path, "msg/x");
	assert_string_equal(act.media.format, "wav");
	assert_int_equal(act.media.silence_ms, 3000);
	assert_int_equal(act.media.max_ms, 60000);
	assert_int_equal(act.media.rec_opts, PBX_REC_OPT_q | PBX_REC_OPT_k);
	assert_string_equal(act.media.end_digits, "#");
	pbx_chan_media_done(ch, PBX_MEDIA_SILENCE, NULL);
	assert_string_equal(pbx_chan_get_var(ch, "RECORD_STATUS"), "SILENCE");
	assert_string_equal(pbx_chan_get_var(ch, "RECORDED_FILE"), "msg/x");
	run_expect(ch, PBX_ACT_MIXMONITOR, &act); /* Record(y) has no format: skipped */
	assert_string_equal(pbx_chan_get_var(ch, "RECORD_STATUS"), "ERROR");
	assert_string_equal(act.media.path, "/tmp/m");
	run_expect(ch, PBX_ACT_STOPMIXMONITOR, &act);
	run_expect(ch, PBX_ACT_ECHO, &act);
	pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL);
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_string_equal(act.media.tone, "1004");
	pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL);
	run_expect(ch, PBX_ACT_MOH, &act);
	assert_string_equal(act.media.moh_class, "jazz");
	assert_int_equal(act.media.duration_ms, 10000);
	pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(act.media.nfiles, 2);
	assert_string_equal(act.media.files[1], "digits/2");
	pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL);
	run_expect(ch, PBX_ACT_HANGUP, &act); /* SayNumber(x): warned, skipped */
	pbx_chan_free(ch);

	/* In h, media applications are skipped. */
	ch = chan_at(dp, "630");
	assert_int_equal(pbx_chan_hangup(ch), ENOENT);
	pbx_chan_free(ch);
	dialplan_free(dp);
}

/* VoiceMail left with '*' / '0' during the greeting: to a / o of the context when they exist
 * (VMSTATUS=USEREXIT), else on to the next priority. */
static void test_voicemail_exit(void **state)
{
	static const struct {
		const char *ctx, *digit;
		enum pbx_media_status st;
		unsigned cause; /* of the Hangup reached */
		const char *vmstatus;
	} cases[] = {
	    {"ao", "*", PBX_MEDIA_DIGITS, 11, "USEREXIT"}, /* a,1 */
	    {"ao", "0", PBX_MEDIA_DIGITS, 12, "USEREXIT"}, /* o,1 */
	    {"ao", NULL, PBX_MEDIA_OK, 10, "SUCCESS"},	   /* n */
	    {"ao", NULL, PBX_MEDIA_FAILED, 10, "FAILED"},
	    {"none", "*", PBX_MEDIA_DIGITS, 20, "USEREXIT"}, /* no a: the next priority */
	    {"none", "0", PBX_MEDIA_DIGITS, 20, "USEREXIT"},
	};
	struct dialplan *dp;
	struct pbx_action act;

	(void)state;
	dp = load_ok("[ao]\n"
		     "exten => 800,1,VoiceMail(801@default,u)\n"
		     " same => n,Hangup(10)\n"
		     "exten => a,1,Hangup(11)\n"
		     "exten => o,1,Hangup(12)\n"
		     "[none]\n"
		     "exten => 800,1,VoiceMail(801)\n"
		     " same => n,Hangup(20)\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pbx_chan *ch = NULL;

		assert_int_equal(pbx_chan_alloc(&ch, dp, cases[i].ctx, "800", "801", ""), 0);
		run_expect(ch, PBX_ACT_VOICEMAIL, &act);
		assert_true(pbx_chan_exten_exists(ch, "800"));
		assert_int_equal(pbx_chan_exten_exists(ch, "a"), !strcmp(cases[i].ctx, "ao"));
		assert_int_equal(pbx_chan_media_done(ch, cases[i].st, cases[i].digit), 0);
		assert_string_equal(pbx_chan_get_var(ch, "VMSTATUS"), cases[i].vmstatus);
		run_expect(ch, PBX_ACT_HANGUP, &act);
		assert_int_equal(act.cause, cases[i].cause);
		pbx_chan_free(ch);
	}
	dialplan_free(dp);
}

static void test_media_check(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp;
	const char *entries[] = {"a"};

	(void)state;
	dp = load_ok("[a]\n"
		     "exten => s,1,Record(x)\n"
		     " same => n,Record(x.gsm)\n"
		     " same => n,Record(x.wav,,,z)\n"
		     " same => n,Read()\n"
		     " same => n,Playback()\n"
		     " same => n,Playback(x,loud)\n"
		     " same => n,SayNumber(12x)\n"
		     " same => n,MixMonitor(${F}.wav)\n"
		     " same => n,WaitExten(abc)\n"
		     " same => n,Record(ok.wav,2,10,qk)\n"
		     " same => n,Authenticate()\n"
		     " same => n,Authenticate(1234,dx)\n"
		     " same => n,ChanIsAvail()\n"
		     " same => n,SendDTMF(12x)\n"
		     " same => n,SendDTMF(12w#)\n");
	assert_int_equal(dialplan_check(dp, entries, 1, &diags), EINVAL);
	if (getenv("PBX_TEST_VERBOSE"))
		conf_diags_print(&diags);
	assert_true(diags_have(&diags, "t.conf:2: error: Record: the file needs a format"));
	assert_true(diags_have(&diags, "t.conf:3: error: Record: format 'gsm' is not supported"));
	assert_true(diags_have(&diags, "t.conf:4: warning: Record: unknown or unsupported option 'z'"));
	assert_true(diags_have(&diags, "t.conf:5: error: Read: needs a variable name"));
	assert_true(diags_have(&diags, "t.conf:6: error: Playback: needs a file name"));
	assert_true(diags_have(&diags, "t.conf:7: warning: Playback: unknown option 'loud'"));
	assert_true(diags_have(&diags, "t.conf:8: error: SayNumber: '12x' is not a number"));
	assert_true(diags_have(&diags, "t.conf:10: error: WaitExten: 'abc' is not a number"));
	assert_true(diags_have(&diags, "t.conf:12: error: Authenticate: needs a password"));
	assert_true(diags_have(&diags, "t.conf:13: warning: Authenticate: unknown or unsupported option 'x'"));
	assert_true(diags_have(&diags, "t.conf:14: error: ChanIsAvail: needs a device"));
	assert_true(diags_have(&diags, "t.conf:15: warning: SendDTMF: '12x' holds"));
	assert_int_equal(diags_count(&diags, CONF_ERROR), 8);
	assert_int_equal(diags_count(&diags, CONF_WARNING), 4);
	conf_diags_reset(&diags);
	dialplan_free(dp);
}

static void test_match_more(void **state)
{
	(void)state;
	assert_true(dp_ext_match_more("123", "1"));
	assert_true(dp_ext_match_more("1-23", "12"));
	assert_false(dp_ext_match_more("123", "123"));
	assert_false(dp_ext_match_more("123", "2"));
	assert_true(dp_ext_match_more("_1XX", "1"));
	assert_true(dp_ext_match_more("_1XX", "12"));
	assert_false(dp_ext_match_more("_1XX", "123"));
	assert_false(dp_ext_match_more("_1XX", "2"));
	assert_true(dp_ext_match_more("_0.", "0"));
	assert_true(dp_ext_match_more("_0.", "012"));
	assert_true(dp_ext_match_more("_[2-4]N", "3"));
	assert_false(dp_ext_match_more("_[2-4]N", "5"));
	assert_false(dp_ext_match_more("_[2-4]N", "31"));
}

/* ---- reload
 * -------------------------------------------------------------------------------------- */

static int hint_each(const char *ctx, const char *exten, const char *devs, void *arg)
{
	struct mbuf *mb = arg;

	mbuf_printf(mb, "%s@%s=%s;", exten, ctx, devs);
	return 0;
}

/* exten => NAME,hint,DEVICES: found in the context and through includes, listed, shown. */
static void test_hints(void **state)
{
	struct dialplan *dp = load_ok("[phones]\ninclude => blf\nexten => 801,1,Dial(SIP/801)\n"
				      "[blf]\nexten => 801,hint,SIP/801\n"
				      "exten => 810,hint,SIP/801&PJSIP/802\nexten => 810,1,NoOp()\n");
	struct mbuf mb;

	(void)state;
	assert_string_equal(dialplan_hint(dp, "blf", "801"), "SIP/801");
	assert_string_equal(dialplan_hint(dp, "phones", "810"), "SIP/801&PJSIP/802");
	assert_null(dialplan_hint(dp, "phones", "802"));
	assert_null(dialplan_hint(dp, "nosuch", "801"));
	assert_null(dialplan_hint(dp, "blf", ""));
	/* a hint alone makes no priority: 801 still runs phones' Dial */
	assert_int_equal(dialplan_find(dp, "phones", "801", 1, NULL), 0);
	mbuf_init(&mb);
	dialplan_hint_foreach(dp, hint_each, &mb);
	mbuf_write(&mb, "", 1);
	assert_string_equal((const char *)mb.buf, "801@blf=SIP/801;810@blf=SIP/801&PJSIP/802;");
	mbuf_reset(&mb);
	mbuf_init(&mb);
	dialplan_show(dp, "blf", &mb);
	mbuf_write(&mb, "", 1);
	assert_non_null(strstr((const char *)mb.buf, "'810' =>          hint: SIP/801&PJSIP/802"));
	assert_non_null(strstr((const char *)mb.buf, "1. NoOp()"));
	mbuf_reset(&mb);
	assert_true(dialplan_hint_tech_ok("SIP/801", 7));
	assert_true(dialplan_hint_tech_ok("pjsip/801", 9));
	assert_false(dialplan_hint_tech_ok("SIP/", 4));
	assert_false(dialplan_hint_tech_ok("IAX2/801", 8));
	dialplan_free(dp);
}

static void test_reload_refcount(void **state)
{
	struct dialplan *dp1, *dp2;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;

	(void)state;
	dp1 = load_ok("[c]\nexten => s,1,Wait(1)\n same => n,Hangup(5)\n");
	assert_int_equal(pbx_chan_alloc(&ch, dp1, "c", "s", NULL, NULL), 0);
	assert_int_equal(mem_nrefs(dp1), 2);
	run_expect(ch, PBX_ACT_WAIT, &act);
	/* Reload: the daemon swaps in dp2 and drops dp1; the call keeps running dp1. */
	dp2 = load_ok("[c]\nexten => s,1,Hangup(6)\n");
	dialplan_free(dp1);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 5);
	pbx_chan_free(ch);
	assert_int_equal(pbx_chan_alloc(&ch, dp2, "c", "s", NULL, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 6);
	pbx_chan_free(ch);
	assert_ptr_equal(dialplan_ref(dp2), dp2);
	dialplan_free(dp2);
	dialplan_free(dp2);
}

/* ---- time conditions ------------------------------------------------------------------------- */

#define TZ_DATA "tests/unit/data/zoneinfo"

static time_t fake_now;

static time_t fake_clock(void)
{
	return fake_now;
}

/* UTC date and time to an epoch. */
static time_t utc(int y, int mo, int d, int h, int mi, int sec)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return timegm(&tm);
}

struct time_case {
	const char *spec;
	int y, mo, d, h, mi, s; /* UTC (the tests' local time is UTC too) */
	bool match;
};

/* 2026-12-04 is a Friday. */
static const struct time_case time_cases[] = {
    /* minute edges; the end minute is included */
    {"08:00-18:00,*,*,*", 2026, 12, 4, 7, 59, 59, false},
    {"08:00-18:00,*,*,*", 2026, 12, 4, 8, 0, 0, true},
    {"08:00-18:00,*,*,*", 2026, 12, 4, 18, 0, 59, true},
    {"08:00-18:00,*,*,*", 2026, 12, 4, 18, 1, 0, false},
    {"8:00-9:5", 2026, 12, 4, 9, 5, 30, true},
    {"12:30", 2026, 12, 4, 12, 29, 59, false},
    {"12:30", 2026, 12, 4, 12, 30, 0, true},
    {"12:30", 2026, 12, 4, 12, 31, 0, false},
    {"08:00-09:00&17:00-18:00,*,*,*", 2026, 12, 4, 12, 0, 0, false},
    {"08:00-09:00&17:00-18:00,*,*,*", 2026, 12, 4, 17, 30, 0, true},
    /* midnight wrap */
    {"22:00-06:00,*,*,*", 2026, 12, 4, 21, 59, 59, false},
    {"22:00-06:00,*,*,*", 2026, 12, 4, 22, 0, 0, true},
    {"22:00-06:00,*,*,*", 2026, 12, 4, 23, 59, 59, true},
    {"22:00-06:00,*,*,*", 2026, 12, 5, 0, 0, 0, true},
    {"22:00-06:00,*,*,*", 2026, 12, 5, 6, 0, 59, true},
    {"22:00-06:00,*,*,*", 2026, 12, 5, 6, 1, 0, false},
    /* weekdays, wrapping, lists, numbers (1 = Sunday), case */
    {"*,fri-mon,*,*", 2026, 12, 3, 23, 59, 59, false},
    {"*,fri-mon,*,*", 2026, 12, 4, 0, 0, 0, true},
    {"*,fri-mon,*,*", 2026, 12, 6, 12, 0, 0, true},
    {"*,fri-mon,*,*", 2026, 12, 7, 23, 59, 59, true},
    {"*,fri-mon,*,*", 2026, 12, 8, 0, 0, 0, false},
    {"*,mon&wed&fri,*,*", 2026, 12, 2, 10, 0, 0, true},
    {"*,mon&wed&fri,*,*", 2026, 12, 1, 10, 0, 0, false},
    {"*,2-6,*,*", 2026, 12, 1, 10, 0, 0, true},
    {"*,2-6,*,*", 2026, 12, 6, 10, 0, 0, false},
    {"*,SAT-Sun,*,*", 2026, 12, 5, 10, 0, 0, true},
    {"*,SAT-Sun,*,*", 2026, 12, 4, 10, 0, 0, false},
    /* days of the month, wrapping over the month's end */
    {"*,*,25-5,*", 2026, 12, 24, 23, 59, 59, false},
    {"*,*,25-5,*", 2026, 12, 25, 0, 0, 0, true},
    {"*,*,25-5,*", 2026, 12, 31, 12, 0, 0, true},
    {"*,*,25-5,*", 2027, 1, 1, 0, 0, 0, true},
    {"*,*,25-5,*", 2027, 1, 5, 23, 59, 59, true},
    {"*,*,25-5,*", 2027, 1, 6, 0, 0, 0, false},
    {"*,*,1&15,*", 2027, 1, 15, 0, 0, 0, true},
    /* months, wrapping over the year's end */
    {"*,*,*,nov-feb", 2026, 10, 31, 23, 59, 59, false},
    {"*,*,*,nov-feb", 2026, 11, 1, 0, 0, 0, true},
    {"*,*,*,nov-feb", 2027, 2, 28, 23, 59, 59, true},
    {"*,*,*,nov-feb", 2027, 3, 1, 0, 0, 0, false},
    {"*,*,*,jan-mar", 2027, 3, 31, 0, 0, 0, true},
    {"*,*,*,12", 2026, 12, 4, 0, 0, 0, true},
    /* the older '|' separator, fewer fields, empty fields */
    {"08:00-18:00|mon-fri|*|*", 2026, 12, 4, 9, 0, 0, true},
    {"08:00-18:00|mon-fri|*|*", 2026, 12, 5, 9, 0, 0, false},
    {"08:00-18:00", 2026, 12, 5, 9, 0, 0, true},
    {",sat", 2026, 12, 5, 9, 0, 0, true},
    {" 08:00 - 18:00 , mon - fri , * , * ", 2026, 12, 4, 9, 0, 0, true},
    /* Asia/Tokyo (UTC+9, no DST): hours, the day and the year turn before UTC's */
    {"09:00-17:00,*,*,*,Asia/Tokyo", 2026, 12, 4, 0, 0, 0, true},
    {"09:00-17:00,*,*,*,Asia/Tokyo", 2026, 12, 3, 23, 59, 59, false},
    {"09:00-17:00,*,*,*,Asia/Tokyo", 2026, 12, 4, 8, 0, 59, true},
    {"09:00-17:00,*,*,*,Asia/Tokyo", 2026, 12, 4, 8, 1, 0, false},
    {"*,sat,*,*,Asia/Tokyo", 2026, 12, 4, 14, 59, 59, false},
    {"*,sat,*,*,Asia/Tokyo", 2026, 12, 4, 15, 0, 0, true},
    {"*,*,1,jan,Asia/Tokyo", 2026, 12, 31, 14, 59, 59, false},
    {"*,*,1,jan,Asia/Tokyo", 2026, 12, 31, 15, 0, 0, true},
    {"*,*,1,jan|Asia/Tokyo", 2026, 12, 31, 15, 0, 0, true},
    /* America/New_York: EST (UTC-5) and EDT (UTC-4); 2026-03-08 02:00 EST becomes 03:00 EDT,
     * 2026-11-01 02:00 EDT becomes 01:00 EST */
    {"09:00-09:00,*,*,*,America/New_York", 2026, 1, 15, 14, 0, 0, true},
    {"09:00-09:00,*,*,*,America/New_York", 2026, 7, 15, 13, 0, 0, true},
    {"09:00-09:00,*,*,*,America/New_York", 2026, 7, 15, 14, 0, 0, false},
    {"01:59,*,*,*,America/New_York", 2026, 3, 8, 6, 59, 59, true},
    {"03:00,*,*,*,America/New_York", 2026, 3, 8, 7, 0, 0, true},
    {"02:00-02:59,*,*,*,America/New_York", 2026, 3, 8, 7, 0, 0, false},
    {"01:00-01:59,*,*,*,America/New_York", 2026, 11, 1, 5, 30, 0, true},
    {"01:00-01:59,*,*,*,America/New_York", 2026, 11, 1, 6, 30, 0, true},
    {"01:00-01:59,*,*,*,America/New_York", 2026, 11, 1, 7, 0, 0, false},
    /* past the file's transitions (2037): its POSIX rule EST5EDT,M3.2.0,M11.1.0 */
    {"09:00,*,*,*,America/New_York", 2040, 7, 4, 13, 0, 0, true},
    {"08:00,*,*,*,America/New_York", 2040, 1, 4, 13, 0, 0, true},
    {"03:00,*,*,*,America/New_York", 2045, 3, 12, 7, 0, 0, true},
    {"01:00,*,*,*,America/New_York", 2045, 11, 5, 6, 0, 0, true},
};

static const char *const bad_specs[] = {
    "24:00-25:00,*,*,*", "8-9,*,*,*", "08:60,*,*,*", "08:00-,*,*,*", "08:00-18:00,funday,*,*",
    "*,mon-,*,*", "*,*,0,*", "*,*,32,*", "*,*,1-,*", "*,*,*,smarch", "*,*,*,13",
    "*,*,*,*,No/Such_Zone", "*,*,*,*,../../etc/passwd", "*,*,*,*,/etc/localtime",
    "a,b,c,d,e,f", "*,*,*,*,Asia/Tokyo,x", "123:00,*,*,*",
};

static void test_timing(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(time_cases); i++) {
		const struct time_case *c = &time_cases[i];
		struct pbx_timing t;
		char why[160];
		time_t now = utc(c->y, c->mo, c->d, c->h, c->mi, c->s);
		int err = pbx_timing_parse(&t, c->spec, strlen(c->spec), why, sizeof(why));

		if (err)
			fail_msg("case %zu '%s': %s", i, c->spec, why);
		if (pbx_timing_match(&t, now) != c->match)
			fail_msg("case %zu '%s' at %04d-%02d-%02d %02d:%02d:%02d UTC: want %s", i,
				 c->spec, c->y, c->mo, c->d, c->h, c->mi, c->s,
				 c->match ? "match" : "no match");
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_specs); i++) {
		struct pbx_timing t;
		char why[160] = "";

		if (pbx_timing_parse(&t, bad_specs[i], strlen(bad_specs[i]), why, sizeof(why)) !=
			EINVAL ||
		    !why[0])
			fail_msg("bad spec '%s' accepted", bad_specs[i]);
	}
}

/* Our TZif reading against glibc's reading the same file, every 7 hours and 13 minutes from
 * 1900 to 2100 (transitions, the rule after them, and before the first one). */
static void test_tz_vs_libc(void **state)
{
	static const char *const zones[] = {"Asia/Tokyo", "America/New_York"};

	(void)state;
	for (size_t z = 0; z < ARRAY_SIZE(zones); z++) {
		const struct pbx_tz *tz = NULL;
		char env[512], cwd[256];

		assert_int_equal(pbx_tz_get(zones[z], strlen(zones[z]), &tz), 0);
		assert_string_equal(pbx_tz_name(tz), zones[z]);
		assert_non_null(getcwd(cwd, sizeof(cwd)));
		snprintf(env, sizeof(env), ":%s/%s/%s", cwd, TZ_DATA, zones[z]);
		setenv("TZ", env, 1);
		tzset();
		for (time_t t = utc(1900, 1, 1, 0, 0, 0); t < utc(2100, 1, 1, 0, 0, 0);
		     t += 7 * 3600 + 13 * 60) {
			struct tm a, b;

			assert_int_equal(pbx_tz_localtime(tz, t, &a), 0);
			assert_non_null(localtime_r(&t, &b));
			if (a.tm_hour != b.tm_hour || a.tm_min != b.tm_min || a.tm_mday != b.tm_mday ||
			    a.tm_gmtoff != b.tm_gmtoff || a.tm_isdst != b.tm_isdst ||
			    strcmp(a.tm_zone, b.tm_zone))
				fail_msg("%s at %lld: %02d:%02d %s (%ld) vs libc %02d:%02d %s (%ld)",
					 zones[z], (long long)t, a.tm_hour, a.tm_min, a.tm_zone,
					 a.tm_gmtoff, b.tm_hour, b.tm_min, b.tm_zone, b.tm_gmtoff);
		}
	}
	setenv("TZ", "UTC0", 1);
	tzset();
}

static const char time_dialplan[] =
    "[in]\n"
    "include => day,08:00-17:59,mon-fri,*,*\n"
    "include => tokyo|09:00-09:59|*|*|*|Asia/Tokyo\n"
    "include => night\n"
    "[day]\n"
    "exten => 100,1,Dial(SIP/801,20)\n"
    "[tokyo]\n"
    "exten => 100,1,Playback(tokyo)\n"
    "[night]\n"
    "exten => 100,1,VoiceMail(801@default,u)\n"
    "exten => 200,1,GotoIfTime(22:00-06:00,*,*,*?closed,1:open,1)\n"
    "exten => 201,1,GotoIfTime(22:00-06:00,*,*,*?closed,1)\n"
    " same => n,Goto(open,1)\n"
    "exten => 202,1,GotoIfTime(09:00-17:00,mon-fri,*,*,Asia/Tokyo?:closed,1)\n"
    " same => n,Goto(open,1)\n"
    "exten => 203,1,ExecIfTime(22:00-06:00,*,*,*?Set(NIGHT=yes))\n"
    " same => n,ExecIfTime(*,*,*,*?Dial(SIP/802,15,r))\n"
    "exten => 204,1,Set(W=${IFTIME(22:00-06:00,*,*,*?night:day)}"
    "${IFTIME(*,sat-sun,*,*?-weekend)})\n"
    " same => n,Set(S=25:00,*,*,*)\n"
    " same => n,GotoIfTime(${S}?closed,1)\n"
    " same => n,Set(B=${IFTIME(${S}?yes:no)})\n"
    " same => n,Hangup(21)\n"
    "exten => closed,1,Hangup(17)\n"
    "exten => open,1,Hangup(16)\n";

/* Which application runs first for 100@in at `now`. */
static enum pbx_act_type first_act(struct dialplan *dp, const char *exten, time_t now)
{
	struct pbx_chan *ch = NULL;
	struct pbx_action act;

	fake_now = now;
	assert_int_equal(pbx_chan_alloc(&ch, dp, "in", exten, "0312345678", ""), 0);
	assert_int_equal(pbx_chan_run(ch, &act), 0);
	pbx_chan_free(ch);
	return act.type;
}

static unsigned hangup_cause(struct dialplan *dp, const char *exten, time_t now)
{
	struct pbx_chan *ch = NULL;
	struct pbx_action act;

	fake_now = now;
	assert_int_equal(pbx_chan_alloc(&ch, dp, "in", exten, "0312345678", ""), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	pbx_chan_free(ch);
	return act.cause;
}

static void test_time_dialplan(void **state)
{
	struct dialplan *dp = load_ok(time_dialplan);
	const char *entries[] = {"in"};
	struct conf_diags diags = {0};
	struct pbx_chan *ch = NULL;
	struct pbx_action act;
	struct mbuf mb;

	(void)state;
	log_set_level(LOG_NONE);
	/* The time-restricted include: Friday office hours dial, the Tokyo hour plays, else
	 * voicemail; an include outside its time is passed over. */
	assert_int_equal(first_act(dp, "100", utc(2026, 12, 4, 7, 59, 59)), PBX_ACT_VOICEMAIL);
	assert_int_equal(first_act(dp, "100", utc(2026, 12, 4, 8, 0, 0)), PBX_ACT_DIAL);
	assert_int_equal(first_act(dp, "100", utc(2026, 12, 4, 17, 59, 59)), PBX_ACT_DIAL);
	assert_int_equal(first_act(dp, "100", utc(2026, 12, 4, 18, 0, 0)), PBX_ACT_VOICEMAIL);
	assert_int_equal(first_act(dp, "100", utc(2026, 12, 5, 12, 0, 0)), PBX_ACT_VOICEMAIL);
	assert_int_equal(first_act(dp, "100", utc(2026, 12, 5, 0, 30, 0)), PBX_ACT_PLAY);
	assert_int_equal(first_act(dp, "100", utc(2026, 12, 5, 1, 0, 0)), PBX_ACT_VOICEMAIL);
	fake_now = utc(2026, 12, 5, 12, 0, 0);
	assert_int_equal(dialplan_find(dp, "in", "100", 1, NULL), 0);
	/* The checks do not depend on the time; show lists the include as written. */
	assert_int_equal(dialplan_check(dp, entries, 1, &diags), 0);
	conf_diags_reset(&diags);
	mbuf_init(&mb);
	assert_int_equal(dialplan_show(dp, "in", &mb), 0);
	mbuf_write(&mb, "", 1);
	assert_non_null(strstr((char *)mb.buf, "Include =>        'day,08:00-17:59,mon-fri,*,*'"));
	assert_non_null(strstr((char *)mb.buf, "'tokyo,09:00-09:59|*|*|*|Asia/Tokyo'"));
	mbuf_reset(&mb);

	/* GotoIfTime: both labels, only the true one, only the false one (Tokyo hours). */
	assert_int_equal(hangup_cause(dp, "200", utc(2026, 12, 4, 21, 59, 59)), 16);
	assert_int_equal(hangup_cause(dp, "200", utc(2026, 12, 4, 22, 0, 0)), 17);
	assert_int_equal(hangup_cause(dp, "201", utc(2026, 12, 5, 6, 0, 0)), 17);
	assert_int_equal(hangup_cause(dp, "201", utc(2026, 12, 5, 6, 1, 0)), 16);
	assert_int_equal(hangup_cause(dp, "202", utc(2026, 12, 4, 0, 0, 0)), 16);  /* Fri 09:00 JST */
	assert_int_equal(hangup_cause(dp, "202", utc(2026, 12, 4, 8, 1, 0)), 17);  /* Fri 17:01 JST */
	assert_int_equal(hangup_cause(dp, "202", utc(2026, 12, 5, 0, 0, 0)), 17);  /* Sat */

	/* ExecIfTime runs the application (with commas in its arguments) or goes on. */
	fake_now = utc(2026, 12, 4, 23, 0, 0);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "in", "203", "", ""), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_string_equal(pbx_chan_get_var(ch, "NIGHT"), "yes");
	assert_string_equal(act.dial.targets[0].peer, "802");
	assert_int_equal(act.dial.timeout_s, 15);
	assert_int_equal(act.dial.opts, PBX_DIAL_OPT_r);
	pbx_chan_free(ch);
	fake_now = utc(2026, 12, 4, 12, 0, 0);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "in", "203", "", ""), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_null(pbx_chan_get_var(ch, "NIGHT"));
	pbx_chan_free(ch);

	/* IFTIME; a bad specification at run time warns, counts as false and the call goes on. */
	fake_now = utc(2026, 12, 5, 23, 0, 0);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "in", "204", "", ""), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 21);
	assert_string_equal(pbx_chan_get_var(ch, "W"), "night-weekend");
	assert_string_equal(pbx_chan_get_var(ch, "B"), "no");
	pbx_chan_free(ch);
	fake_now = utc(2026, 12, 4, 12, 0, 0);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "in", "204", "", ""), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_string_equal(pbx_chan_get_var(ch, "W"), "day");
	pbx_chan_free(ch);
	dialplan_free(dp);
}

static void test_conditional_apps(void **state)
{
	struct dialplan *dp;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;

	(void)state;
	log_set_level(LOG_NONE);
	dp = load_ok("[c]\n"
		     "exten => s,1,ExecIf($[1 = 1]?Set(A=1):Set(A=2))\n"
		     " same => n,ExecIf($[1 = 2]?Set(B=1):Set(B=2))\n"
		     " same => n,ExecIf(0?Set(C=1))\n"
		     " same => n,ExecIf(${IF(1?1:0)}?Set(D=${IF(0?x:y)}))\n"
		     " same => n,MSet(E=1,F=\"a,b\",G=f(x,y),H=a\\,b, I = two words )\n"
		     " same => n,GosubIf($[${A} = 1]?sub,s,1(p1,p2):sub,s,2)\n"
		     " same => n,Set(R1=${GOSUB_RETVAL})\n"
		     " same => n,GosubIf(0?sub,s,1)\n"
		     " same => n,GosubIf(0?sub,s,1:sub,s,3(q))\n"
		     " same => n,Set(R2=${GOSUB_RETVAL})\n"
		     " same => n,ExecIf(1?ExecIf(1?Goto(t,1)))\n"
		     " same => n,Hangup(1)\n"
		     "exten => t,1,ExecIf(1?Dial(SIP/801&SIP/802,25,t))\n"
		     " same => n,ExecIf(${X}?Wait(2):Ringing())\n"
		     " same => n,ExecIf(1?${APP}(1))\n"
		     " same => n,Hangup(2)\n"
		     "exten => h,1,ExecIf(1?Dial(SIP/801))\n"
		     " same => n,ExecIf(1?Set(HSEEN=1))\n"
		     "[sub]\n"
		     "exten => s,1,Return(${ARG1}-${ARG2})\n"
		     " same => n,Return(two)\n"
		     " same => n,Return(three-${ARG1})\n");
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", NULL, "", ""), 0);
	pbx_chan_set_var(ch, "APP", "NoSuchApp");
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_string_equal(pbx_chan_get_var(ch, "A"), "1");
	assert_string_equal(pbx_chan_get_var(ch, "B"), "2");
	assert_null(pbx_chan_get_var(ch, "C"));
	assert_string_equal(pbx_chan_get_var(ch, "D"), "y");
	assert_string_equal(pbx_chan_get_var(ch, "E"), "1");
	assert_string_equal(pbx_chan_get_var(ch, "F"), "a,b");
	assert_string_equal(pbx_chan_get_var(ch, "G"), "f(x,y)");
	assert_string_equal(pbx_chan_get_var(ch, "H"), "a,b");
	assert_string_equal(pbx_chan_get_var(ch, "I"), "two words");
	assert_string_equal(pbx_chan_get_var(ch, "R1"), "p1-p2");
	assert_string_equal(pbx_chan_get_var(ch, "R2"), "three-q");
	assert_int_equal(act.dial.ntargets, 2);
	assert_int_equal(act.dial.timeout_s, 25);
	assert_int_equal(act.dial.opts, PBX_DIAL_OPT_t);
	run_expect(ch, PBX_ACT_RINGING, &act);
	/* An application that does not exist hangs up, as Asterisk. */
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, PBX_CAUSE_FAILURE);
	/* In h, what needs the call is skipped inside ExecIf too. */
	assert_int_equal(pbx_chan_hangup(ch), 0);
	run_expect(ch, PBX_ACT_END, &act);
	assert_string_equal(pbx_chan_get_var(ch, "HSEEN"), "1");
	pbx_chan_free(ch);
	dialplan_free(dp);

	/* ExecIf nested without end is bounded. */
	dp = load_ok("[c]\nexten => s,1,ExecIf(1?ExecIf(1?ExecIf(1?ExecIf(1?ExecIf(1?ExecIf(1?ExecIf(1?"
		     "ExecIf(1?ExecIf(1?ExecIf(1?NoOp()))))))))))\n");
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", NULL, "", ""), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, PBX_CAUSE_FAILURE);
	pbx_chan_free(ch);
	dialplan_free(dp);
}

/* Asterisk's string and list functions, each against what Asterisk gives for the same input. */
static const struct eval_case str_cases[] = {
    {"${CUT(LIST,\\,,2)}", "802"},
    {"${CUT(LIST,\\,,2-3)}", "802,803"},
    {"${CUT(LIST,\\,,3-)}", "803,804"},
    {"${CUT(LIST,\\,,-2)}", "801,802"},
    {"${CUT(LIST,\\,,1&4)}", "801,804"},
    {"${CUT(LIST,\\,,9)}", ""},
    {"${CUT(DATE,,2)}", "12"},
    {"${CUT(DATE,-,3)}", "05"},
    {"${CUT(LIST,\\,,x)}", ""},
    {"${CUT(UNSET,\\,,1)}", ""},
    {"${FIELDQTY(LIST,\\,)}", "4"},
    {"${FIELDQTY(DATE,-)}", "3"},
    {"${FIELDQTY(UNSET,\\,)}", "0"},
    {"${FIELDQTY(DATE,)}", "3"},
    {"${FIELDNUM(LIST,\\,,803)}", "3"},
    {"${FIELDNUM(LIST,\\,,899)}", "0"},
    {"${LISTFILTER(LIST,\\,,802)}", "801,803,804"},
    {"${LISTFILTER(LIST,\\,,801)}", "802,803,804"},
    {"${TOUPPER(abc-Def1)}", "ABC-DEF1"},
    {"${TOLOWER(ABC-Def1)}", "abc-def1"},
    {"${FILTER(0-9,+81-3-1234-5678)}", "81312345678"},
    {"${FILTER(0-9*#,*86#x)}", "*86#"},
    {"${FILTER(0-9\\,,1,2;3)}", "1,23"},
    {"${REPLACE(DATE,-)}", "20261205"},
    {"${REPLACE(DATE,-,/)}", "2026/12/05"},
    {"${STRREPLACE(PHRASE,o,0)}", "f00 b00"},
    {"${STRREPLACE(PHRASE,o,0,1)}", "f0o boo"},
    {"${STRREPLACE(PHRASE,oo)}", "f b"},
    {"${REGEX(\"^0[5-9]0\" 09012345678)}", "1"},
    {"${REGEX(\"^0[5-9]0\" 0312345678)}", "0"},
    {"${REGEX(\"^[0-9]+$\" ${CALLERID(num)})}", "1"},
    {"${REGEX(\"(\" x)}", ""},
    {"${REGEX(\"(a)\\1\" aa)}", ""},
    {"${REGEX(\"((a+)+)+b\" aaaa)}", "0"},
    {"${QUOTE(say \"hi\" \\ there)}", "\"say \\\"hi\\\" \\\\ there\""},
    {"${CSV_QUOTE(a\"b)}", "\"a\"\"b\""},
    {"${RAND(7,7)}", "7"},
    {"${RAND(9,9)}", "9"},
    {"${SPRINTF(%05d,42)}", "00042"},
    {"${SPRINTF(%s-%s,a,b)}", "a-b"},
    {"${SPRINTF(%.2f%%,12.345)}", "12.35%"},
    {"${SPRINTF(%x/%c,255,Zed)}", "ff/Z"},
    {"${SPRINTF(%-4s|,ab)}", "ab  |"},
    {"${SPRINTF(%n,1)}", ""},
};

static void test_string_funcs(void **state)
{
	struct dialplan *dp = eval_dp();
	struct pbx_chan *ch = NULL;
	struct pbx_action act;
	struct mbuf mb;

	(void)state;
	log_set_level(LOG_NONE);
	assert_int_equal(pbx_chan_alloc(&ch, dp, "t", "0312345678", "801", "Alice"), 0);
	assert_int_equal(pbx_chan_set_var(ch, "LIST", "801,802,803,804"), 0);
	assert_int_equal(pbx_chan_set_var(ch, "DATE", "2026-12-05"), 0);
	assert_int_equal(pbx_chan_set_var(ch, "PHRASE", "foo boo"), 0);
	mbuf_init(&mb);
	for (size_t i = 0; i < ARRAY_SIZE(str_cases); i++) {
		mb.end = 0;
		assert_int_equal(pbx_chan_eval(ch, str_cases[i].in, &mb), 0);
		if (mb.end != strlen(str_cases[i].want) || memcmp(mb.buf, str_cases[i].want, mb.end))
			fail_msg("eval(%s) = '%.*s', want '%s'", str_cases[i].in, (int)mb.end,
				 mb.buf ? (char *)mb.buf : "", str_cases[i].want);
	}
	/* RAND stays in its bounds and is not constant. */
	{
		bool seen[4] = {false};

		for (int i = 0; i < 200; i++) {
			mb.end = 0;
			assert_int_equal(pbx_chan_eval(ch, "${RAND(1,3)}", &mb), 0);
			assert_int_equal(mb.end, 1);
			assert_true(mb.buf[0] >= '1' && mb.buf[0] <= '3');
			seen[mb.buf[0] - '0'] = true;
		}
		assert_true(seen[1] && seen[2] && seen[3]);
	}
	/* SHIFT and POP take items off the variable; PUSH and UNSHIFT put them on. */
	mb.end = 0;
	assert_int_equal(pbx_chan_eval(ch, "${SHIFT(LIST)}/${POP(LIST)}", &mb), 0);
	assert_int_equal(mbuf_write(&mb, "", 1), 0);
	assert_string_equal((char *)mb.buf, "801/804");
	assert_string_equal(pbx_chan_get_var(ch, "LIST"), "802,803");
	assert_int_equal(pbx_chan_set_var(ch, "PUSH(LIST)", "805"), 0);
	assert_int_equal(pbx_chan_set_var(ch, "UNSHIFT(LIST)", "800"), 0);
	assert_string_equal(pbx_chan_get_var(ch, "LIST"), "800,802,803,805");
	assert_int_equal(pbx_chan_set_var(ch, "PUSH(NEW,-)", "a"), 0);
	assert_int_equal(pbx_chan_set_var(ch, "PUSH(NEW,-)", "b"), 0);
	assert_string_equal(pbx_chan_get_var(ch, "NEW"), "a-b");
	mb.end = 0;
	assert_int_equal(pbx_chan_eval(ch, "${SHIFT(NEW,-)}${SHIFT(NEW,-)}${SHIFT(NEW,-)}|", &mb), 0);
	assert_int_equal(mbuf_write(&mb, "", 1), 0);
	assert_string_equal((char *)mb.buf, "ab|");
	assert_string_equal(pbx_chan_get_var(ch, "NEW"), "");
	mb.end = 0;
	assert_int_equal(pbx_chan_eval(ch, "${INC(N)},${INC(N)},${DEC(N)}", &mb), 0);
	assert_int_equal(mbuf_write(&mb, "", 1), 0);
	assert_string_equal((char *)mb.buf, "1,2,1");
	mbuf_reset(&mb);
	pbx_chan_free(ch);
	dialplan_free(dp);

	/* SendDTMF(digits,gap,duration) hands the digits to the host; empty: nothing. */
	dp = load_ok("[c]\nexten => s,1,SendDTMF(12w#,200,80)\n same => n,SendDTMF()\n"
		     " same => n,Hangup(3)\n");
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", NULL, "", ""), 0);
	run_expect(ch, PBX_ACT_SENDDTMF, &act);
	assert_string_equal(act.dtmf.digits, "12w#");
	assert_int_equal(act.dtmf.gap_ms, 200);
	assert_int_equal(act.dtmf.duration_ms, 80);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 3);
	pbx_chan_free(ch);
	dialplan_free(dp);

	/* The loop apps with the list functions: ring each number of a list in turn. */
	dp = load_ok("[c]\n"
		     "exten => s,1,Set(L=801&802&803)\n"
		     " same => n,Set(I=0)\n"
		     " same => n,While($[${I} < ${FIELDQTY(L,&)}])\n"
		     " same => n,Set(I=$[${I} + 1])\n"
		     " same => n,ExecIf($[${I} = 2]?ContinueWhile())\n"
		     " same => n,Set(J=0)\n"
		     " same => n,While(1)\n"
		     " same => n,Set(J=$[${J} + 1])\n"
		     " same => n,ExecIf($[${J} >= 3]?ExitWhile())\n"
		     " same => n,EndWhile()\n"
		     " same => n,Set(SEEN=${SEEN}${CUT(L,&,${I})}x${J}.)\n"
		     " same => n,EndWhile()\n"
		     " same => n,Exec(Dial(SIP/${CUT(L,&,3)},20))\n"
		     " same => n,While(0)\n"
		     " same => n,Set(NEVER=1)\n"
		     " same => n,EndWhile\n"
		     " same => n,Hangup()\n");
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", NULL, "", ""), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_string_equal(pbx_chan_get_var(ch, "SEEN"), "801x3.803x3.");
	assert_int_equal(act.dial.ntargets, 1);
	assert_int_equal(act.dial.timeout_s, 20);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_null(pbx_chan_get_var(ch, "NEVER"));
	pbx_chan_free(ch);
	dialplan_free(dp);

	/* A While without its EndWhile hangs up when it ends; the check names both. */
	{
		struct conf_diags diags = {0};
		const char *entries[] = {"c"};

		dp = load_ok("[c]\n"
			     "exten => s,1,While(0)\n"
			     " same => n,Hangup()\n"
			     "exten => t,1,EndWhile()\n"
			     " same => n,ExitWhile()\n"
			     " same => n,Hangup(17)\n");
		assert_int_equal(dialplan_check(dp, entries, 1, &diags), 0);
		assert_true(diags_have(&diags, "t.conf:2: warning: While: no EndWhile after it"));
		assert_true(diags_have(&diags, "t.conf:4: warning: EndWhile: no While before it"));
		assert_true(diags_have(&diags, "t.conf:5: warning: ExitWhile: not inside a While"));
		conf_diags_reset(&diags);
		assert_int_equal(pbx_chan_alloc(&ch, dp, "c", NULL, "", ""), 0);
		run_expect(ch, PBX_ACT_HANGUP, &act);
		assert_int_equal(act.cause, PBX_CAUSE_FAILURE);
		pbx_chan_free(ch);
		assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "t", "", ""), 0);
		run_expect(ch, PBX_ACT_HANGUP, &act);
		assert_int_equal(act.cause, 17);
		pbx_chan_free(ch);
		dialplan_free(dp);
	}
	log_set_level(LOG_INFO);
}

/* Set(PJSIP_HEADER(add|update|remove,...)) keeps headers as SIPAddHeader does; a dialplan that
 * reads headers says so (the call then keeps its INVITE). */
static void test_pjsip_header(void **state)
{
	struct dialplan *dp;
	struct pbx_chan *ch = NULL;
	struct pbx_action act;
	struct mbuf mb;

	(void)state;
	log_set_level(LOG_NONE);
	dp = load_ok("[c]\n"
		     "exten => s,1,SIPAddHeader(X-A: 1)\n"
		     " same => n,Set(PJSIP_HEADER(add,X-B)=2)\n"
		     " same => n,Set(PJSIP_HEADER(add,X-C)=3)\n"
		     " same => n,Set(PJSIP_HEADER(update,X-B)=4)\n"
		     " same => n,Set(PJSIP_HEADER(remove,X-A)=)\n"
		     " same => n,Set(PJSIP_HEADER(add,Via)=forged)\n"
		     " same => n,Set(PJSIP_HEADER(bogus,X-D)=5)\n"
		     " same => n,Dial(SIP/801)\n"
		     " same => n,Set(PJSIP_HEADER(remove,*)=)\n"
		     " same => n,Dial(SIP/801)\n");
	assert_false(dialplan_reads_sip_headers(dp));
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", NULL, "", ""), 0);
	mbuf_init(&mb);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_int_equal(pbx_chan_added_headers(ch, &mb), 0);
	assert_int_equal(mbuf_write(&mb, "", 1), 0);
	assert_string_equal((char *)mb.buf, "X-B: 4\r\nX-C: 3\r\n");
	run_expect(ch, PBX_ACT_DIAL, &act);
	mb.end = 0;
	assert_int_equal(pbx_chan_added_headers(ch, &mb), 0);
	assert_int_equal(mb.end, 0);
	mbuf_reset(&mb);
	pbx_chan_free(ch);
	dialplan_free(dp);

	dp = load_ok("[c]\nexten => s,1,Set(X=${PJSIP_HEADER(read,X-Foo)})\n");
	assert_true(dialplan_reads_sip_headers(dp));
	dialplan_free(dp);
	dp = load_ok("[c]\nexten => s,1,GotoIf($[\"${sip_header(X-Foo)}\" = \"\"]?2)\n"
		     " same => n,NoOp()\n");
	assert_true(dialplan_reads_sip_headers(dp));
	dialplan_free(dp);
	log_set_level(LOG_INFO);
}

/* The database's DB() for Authenticate's 'd' option, through the host's functions. */
static char auth_db_value[32] = "2468";
static bool auth_db_deleted;

static int auth_host_h(struct pbx_chan *ch, const char *name, const char *args, struct mbuf *out,
		       void *arg)
{
	(void)ch;
	(void)arg;
	if (!strcmp(name, "DB") && !strcmp(args, "pin/801"))
		return auth_db_deleted ? 0 : mbuf_write_str(out, auth_db_value);
	if (!strcmp(name, "DB_DELETE") && !strcmp(args, "pin/801")) {
		auth_db_deleted = true;
		return 0;
	}
	return ENOENT;
}

/* Authenticate(): the prompts in order, three tries, the password from the text, a file or the
 * database. */
static void test_authenticate(void **state)
{
	struct dialplan *dp;
	struct pbx_chan *ch;
	struct pbx_action act;
	char path[] = "/tmp/mikaka-auth-XXXXXX";
	int fd = mkstemp(path);
	char text[1024];

	(void)state;
	log_set_level(LOG_NONE);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "1111\n2222\n", 10), 10);
	close(fd);
	snprintf(text, sizeof(text),
		 "[m]\n"
		 "exten => 1,1,Authenticate(4321)\n"
		 " same => n,Dial(SIP/801)\n"
		 "exten => 2,1,Authenticate(%s,,4,enter-pin)\n"
		 " same => n,Dial(SIP/802)\n"
		 "exten => 3,1,Authenticate(/pin/801,dr)\n"
		 " same => n,Dial(SIP/803)\n"
		 "exten => 4,1,Authenticate()\n",
		 path);
	dp = load_ok(text);

	/* Wrong, wrong, right: agent-pass, auth-incorrect twice, auth-thankyou, then Dial. */
	ch = chan_at(dp, "1");
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "agent-pass");
	assert_true(act.media.answer);
	assert_string_equal(act.media.term_digits, "#");
	assert_int_equal(act.media.max_digits, PBX_DIGITS_MAX);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "1234"), 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "auth-incorrect");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_TIMEOUT, ""), 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "auth-incorrect");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "4321"), 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "auth-thankyou");
	assert_int_equal(act.media.max_digits, 0);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_string_equal(act.dial.targets[0].peer, "801");
	pbx_chan_free(ch);

	/* Three wrong: vm-goodbye, then a hang-up; nothing dialled. */
	ch = chan_at(dp, "1");
	for (int i = 0; i < 3; i++) {
		run_expect(ch, PBX_ACT_PLAY, &act);
		assert_string_equal(act.media.files[0], i ? "auth-incorrect" : "agent-pass");
		assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "9"), 0);
	}
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "vm-goodbye");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	pbx_chan_free(ch);

	/* A password file, its own prompt and at most 4 digits. */
	ch = chan_at(dp, "2");
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "enter-pin");
	assert_int_equal(act.media.max_digits, 4);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "2222"), 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "auth-thankyou");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	pbx_chan_free(ch);

	/* The database (d), removed once used (r): a second call cannot use it again. */
	for (int round = 0; round < 2; round++) {
		ch = chan_at(dp, "3");
		pbx_chan_set_func_h(ch, auth_host_h, NULL);
		run_expect(ch, PBX_ACT_PLAY, &act);
		assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "2468"), 0);
		run_expect(ch, PBX_ACT_PLAY, &act);
		assert_string_equal(act.media.files[0], round ? "auth-incorrect" : "auth-thankyou");
		assert_int_equal(auth_db_deleted, true);
		pbx_chan_free(ch);
	}

	/* An abandoned prompt (the caller hung up) does not carry over. */
	ch = chan_at(dp, "1");
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(pbx_chan_hangup(ch), ENOENT); /* no h: the channel is done */
	pbx_chan_free(ch);

	/* No password: the call fails. */
	ch = chan_at(dp, "4");
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, PBX_CAUSE_FAILURE);
	pbx_chan_free(ch);
	dialplan_free(dp);
	unlink(path);
	log_set_level(LOG_INFO);
}

/* exten => NAME/CID: caller ID matching, the extension for that caller found first. */
static void test_callerid_match(void **state)
{
	static const struct {
		const char *exten, *cid;
		enum pbx_act_type type;
		unsigned cause;
	} cases[] = {
	    {"100", "0399998888", PBX_ACT_BUSY, 0},	   {"100", "03-9999-8888", PBX_ACT_BUSY, 0},
	    {"100", "0120123456", PBX_ACT_HANGUP, 21},	   {"100", "0311112222", PBX_ACT_CONGESTION, 0},
	    {"100", "", PBX_ACT_CONGESTION, 0},	   {"555", "0990000000", PBX_ACT_HANGUP, 17},
	    {"100", "0990000000", PBX_ACT_HANGUP, 17}, {"555", "0311112222", PBX_ACT_HANGUP, 18},
	    {"200", "801", PBX_ACT_HANGUP, 19},	   {"200", "802", PBX_ACT_HANGUP, 20},
	};
	struct conf_diags diags = {0};
	const char *entries[] = {"c"};
	struct dialplan *dp;
	struct pbx_action act;
	struct mbuf mb;

	(void)state;
	log_set_level(LOG_NONE);
	dp = load_ok("[c]\n"
		     "exten => 100/0399998888,1,Busy()\n"
		     "exten => 100/_0120.,1,Hangup(21)\n"
		     "exten => 100,1,Congestion()\n"
		     "exten => _X./_0990.,1,Hangup(17)\n"
		     "exten => _X.,1,Hangup(18)\n"
		     "exten => 200,1,Goto(target,1)\n"
		     "exten => target/801,1,Hangup(19)\n"
		     "exten => target,1,Hangup(20)\n"
		     "exten => 300,1,Goto(only-cid,1)\n"
		     "exten => only-cid/801,1,Hangup()\n");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pbx_chan *ch = NULL;

		assert_int_equal(pbx_chan_alloc(&ch, dp, "c", cases[i].exten, cases[i].cid, ""), 0);
		assert_int_equal(pbx_chan_run(ch, &act), 0);
		if (act.type != cases[i].type || (cases[i].cause && act.cause != cases[i].cause))
			fail_msg("%s from '%s': action %d cause %u, want %d cause %u",
				 cases[i].exten, cases[i].cid, act.type, act.cause, cases[i].type,
				 cases[i].cause);
		pbx_chan_free(ch);
	}
	/* The checks count an extension for some caller ID as there. */
	assert_int_equal(dialplan_check(dp, entries, 1, &diags), 0);
	assert_false(diags_have(&diags, "does not exist"));
	conf_diags_reset(&diags);
	mbuf_init(&mb);
	assert_int_equal(dialplan_show(dp, "c", &mb), 0);
	assert_int_equal(mbuf_write(&mb, "", 1), 0);
	assert_non_null(strstr((char *)mb.buf, "'100/0399998888' =>"));
	assert_non_null(strstr((char *)mb.buf, "'_X./_0990.' =>"));
	mbuf_reset(&mb);
	dialplan_free(dp);

	/* Malformed: file:line. */
	dp = NULL;
	assert_int_equal(load_text(&dp, "[c]\nexten => 100/,1,NoOp()\nexten => /801,1,NoOp()\n"
				   "exten => 100/_[,1,NoOp()\nexten => 1/2/3,1,NoOp()\n",
				   NULL, &diags),
			 EINVAL);
	assert_true(diags_have(&diags, "t.conf:2: error: invalid extension '100/'"));
	assert_true(diags_have(&diags, "t.conf:3: error: invalid extension '/801'"));
	assert_true(diags_have(&diags, "t.conf:4: error: invalid extension '100/_['"));
	assert_true(diags_have(&diags, "t.conf:5: error: invalid extension '1/2/3'"));
	conf_diags_reset(&diags);
	dialplan_free(dp);
	log_set_level(LOG_INFO);
}

/* ConfBridge(room) and MeetMe([room]): the host joins the caller to the room. */
static void test_conference_apps(void **state)
{
	struct dialplan *dp;
	struct pbx_chan *ch;
	struct pbx_action act;

	(void)state;
	dp = load_ok("[m]\n"
		     "exten => 1,1,ConfBridge(family,default_bridge,default_user)\n"
		     "exten => 77,1,MeetMe()\n"
		     "exten => h,1,ConfBridge(never)\n"
		     " same => n,Set(HRAN=1)\n");
	ch = chan_at(dp, "1");
	run_expect(ch, PBX_ACT_CONF, &act);
	assert_string_equal(act.media.path, "family");
	assert_true(act.media.answer);
	assert_string_equal(act.media.app, "ConfBridge");
	pbx_chan_free(ch);
	ch = chan_at(dp, "77");
	run_expect(ch, PBX_ACT_CONF, &act);
	assert_string_equal(act.media.path, "77");
	assert_string_equal(act.media.app, "MeetMe");
	/* In h, nothing can join: skipped. */
	assert_int_equal(pbx_chan_hangup(ch), 0);
	run_expect(ch, PBX_ACT_END, &act);
	assert_string_equal(pbx_chan_get_var(ch, "HRAN"), "1");
	pbx_chan_free(ch);
	dialplan_free(dp);
}

/* Macro(): the older form of Gosub, as Asterisk's sample stdexten uses it. */
static void test_macro(void **state)
{
	struct conf_diags diags = {0};
	const char *entries[] = {"c"};
	struct dialplan *dp;
	struct pbx_chan *ch;
	struct pbx_action act;

	(void)state;
	log_set_level(LOG_NONE);
	dp = load_ok("[macro-stdexten]\n"
		     "exten => s,1,Set(SEEN=${MACRO_EXTEN}@${MACRO_CONTEXT}:${MACRO_PRIORITY}"
		     "/${EXTEN}/${ARG1}/${ARG2})\n"
		     " same => n,Dial(${ARG2},20)\n"
		     " same => n,Goto(s-${DIALSTATUS},1)\n"
		     "exten => s-BUSY,1,VoiceMail(${ARG1},b)\n"
		     "exten => _s-.,1,Set(OTHER=1)\n"
		     " same => n,MacroExit()\n"
		     " same => n,Set(NEVER=1)\n"
		     "[macro-jump]\n"
		     "exten => s,1,Set(MACRO_RESULT=GOTO:c^done^1)\n"
		     "[macro-inner]\n"
		     "exten => s,1,Set(INNER=${MACRO_EXTEN})\n"
		     "[macro-outer]\n"
		     "exten => s,1,Macro(inner)\n"
		     " same => n,Set(OUTER_AFTER=${MACRO_EXTEN})\n"
		     "[c]\n"
		     "exten => 801,1,Macro(stdexten,801,SIP/801)\n"
		     " same => n,Set(AFTER=${MACRO_EXTEN}x${EXTEN})\n"
		     " same => n,Hangup(16)\n"
		     "exten => 802,1,Macro(jump)\n"
		     " same => n,Hangup(1)\n"
		     "exten => done,1,Hangup(17)\n"
		     "exten => 803,1,Macro(outer)\n"
		     " same => n,Hangup(18)\n"
		     "exten => 804,1,Macro(nosuch)\n");
	/* Busy: the macro's voicemail, then back after the Macro line. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "801", "802", ""), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_string_equal(pbx_chan_get_var(ch, "SEEN"), "801@c:1/s/801/SIP/801");
	assert_int_equal(act.dial.timeout_s, 20);
	assert_int_equal(pbx_chan_set_var(ch, "DIALSTATUS", "BUSY"), 0);
	run_expect(ch, PBX_ACT_VOICEMAIL, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 16);
	assert_string_equal(pbx_chan_get_var(ch, "AFTER"), "x801");
	pbx_chan_free(ch);
	/* No answer: MacroExit() leaves at once. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "801", "802", ""), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_int_equal(pbx_chan_set_var(ch, "DIALSTATUS", "NOANSWER"), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_string_equal(pbx_chan_get_var(ch, "OTHER"), "1");
	assert_null(pbx_chan_get_var(ch, "NEVER"));
	pbx_chan_free(ch);
	/* MACRO_RESULT=GOTO:context^exten^priority. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "802", "", ""), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 17);
	pbx_chan_free(ch);
	/* Nested: the inner one sees the outer's place; the outer's own comes back after. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "803", "", ""), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, 18);
	assert_string_equal(pbx_chan_get_var(ch, "INNER"), "s");
	assert_string_equal(pbx_chan_get_var(ch, "OUTER_AFTER"), "803");
	pbx_chan_free(ch);
	/* A macro that does not exist: the call fails; -t says so. */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", "804", "", ""), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_int_equal(act.cause, PBX_CAUSE_FAILURE);
	pbx_chan_free(ch);
	assert_int_equal(dialplan_check(dp, entries, 1, &diags), EINVAL);
	assert_true(diags_have(&diags, "Macro: context 'macro-nosuch' does not exist"));
	assert_false(diags_have(&diags, "unreachable"));
	conf_diags_reset(&diags);
	dialplan_free(dp);
	log_set_level(LOG_INFO);
}

static int avail_host_h(struct pbx_chan *ch, const char *name, const char *args,
			struct mbuf *out, void *arg)
{
	(void)ch;
	(void)arg;
	if (strcmp(name, "DEVICE_STATE"))
		return ENOENT;
	return mbuf_write_str(out, !strcmp(args, "SIP/801")   ? "UNAVAILABLE"
				   : !strcmp(args, "SIP/802") ? "INUSE"
				   : !strcmp(args, "SIP/803") ? "NOT_INUSE"
							      : "INVALID");
}

/* ChanIsAvail(): the first device that can take a call, by the host's device states. */
static void test_chanisavail(void **state)
{
	static const struct {
		const char *args, *orig, *status;
	} cases[] = {
	    {"SIP/801&SIP/802&SIP/803", "SIP/802", "2"},
	    {"SIP/801&SIP/802&SIP/803,s", "SIP/803", "1"},
	    {"SIP/801&SIP/802&SIP/803,as", "SIP/803", "1"},
	    {"SIP/801&SIP/802&SIP/803,a", "SIP/802&SIP/803", "2"},
	    {"SIP/801&SIP/999", "", ""},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[256];
		struct dialplan *dp;
		struct pbx_chan *ch = NULL;
		struct pbx_action act;

		snprintf(text, sizeof(text), "[c]\nexten => s,1,ChanIsAvail(%s)\n same => n,Busy()\n",
			 cases[i].args);
		dp = load_ok(text);
		assert_int_equal(pbx_chan_alloc(&ch, dp, "c", NULL, "", ""), 0);
		pbx_chan_set_func_h(ch, avail_host_h, NULL);
		run_expect(ch, PBX_ACT_BUSY, &act);
		assert_string_equal(pbx_chan_get_var(ch, "AVAILORIGCHAN"), cases[i].orig);
		assert_string_equal(pbx_chan_get_var(ch, "AVAILCHAN"), cases[i].orig);
		assert_string_equal(pbx_chan_get_var(ch, "AVAILSTATUS"), cases[i].status);
		pbx_chan_free(ch);
		dialplan_free(dp);
	}
}

static void test_time_funcs(void **state)
{
	struct dialplan *dp = load_ok("[c]\nexten => s,1,NoOp()\n");
	struct pbx_chan *ch = NULL;
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"${EPOCH}", "1796428800"},
	    {"${STRFTIME(0,Asia/Tokyo,%Y-%m-%d %H:%M:%S %Z)}", "1970-01-01 09:00:00 JST"},
	    {"${STRFTIME(,Asia/Tokyo,%a %H:%M, %d %b)}", "Sat 09:00, 05 Dec"},
	    {"${STRFTIME(,,%H:%M %Z)}", "00:00 UTC"},
	    {"${STRFTIME(${EPOCH},America/New_York,%H:%M %Z %z)}", "19:00 EST -0500"},
	    {"${STRFTIME(1783000000,America/New_York,%H:%M %Z)}", "09:46 EDT"},
	    {"${STRFTIME(1.25,Asia/Tokyo,%S.%q|%1q|%6q|%%q)}", "01.250|2|250000|%q"},
	    {"${STRFTIME(x,Nowhere/Zone,%Y)}", "2026"},
	    {"${STRFTIME(0)}", "Thu Jan  1 00:00:00 1970"},
	    {"${STRFTIME(1783000000,America/New_York,%s %H)}", "1783000000 09"},
	    {"${ISNULL()}${ISNULL(x)}${EXISTS()}${EXISTS(${EPOCH})}", "1001"},
	    {"${SET(V=a b)}/${V}", "a b/a b"},
	    {"${SET(CALLERID(num)=0399)}${CALLERID(num)}", "03990399"},
	    {"${IFTIME(*,sat,*,*,Asia/Tokyo?tokyo-saturday:no)}", "tokyo-saturday"},
	    {"${IFTIME(*,sat,*,*?utc-saturday)}", "utc-saturday"},
	    {"${IFTIME(*,fri,*,*?yes)}", ""},
	    {"${IFTIME(*,fri,*,*?:not-friday)}", "not-friday"},
	    {"${IFTIME(nonsense?a:b)}", "b"},
	    {"${IFTIME(*,*,*,*)}", ""},
	};

	(void)state;
	log_set_level(LOG_NONE);
	fake_now = utc(2026, 12, 5, 0, 0, 0); /* Saturday 00:00 UTC, 09:00 JST */
	assert_int_equal(pbx_chan_alloc(&ch, dp, "c", NULL, "", ""), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mbuf mb;

		mbuf_init(&mb);
		assert_int_equal(pbx_chan_eval(ch, cases[i].in, &mb), 0);
		mbuf_write(&mb, "", 1);
		if (strcmp((char *)mb.buf, cases[i].out))
			fail_msg("%s: '%s', want '%s'", cases[i].in, (char *)mb.buf, cases[i].out);
		mbuf_reset(&mb);
	}
	/* A channel variable named EPOCH does not hide the time (as Asterisk). */
	pbx_chan_set_var(ch, "EPOCH", "5");
	assert_string_equal(pbx_chan_get_var(ch, "EPOCH"), "1796428800");
	pbx_chan_free(ch);
	dialplan_free(dp);
}

/* A lookup through contexts without time-restricted includes never reads the clock. */
static unsigned clock_reads;
static time_t counting_clock(void)
{
	clock_reads++;
	return fake_now;
}

static void test_time_lookup_cost(void **state)
{
	struct dialplan *dp = load_ok("[a]\ninclude => b\ninclude => c,08:00-09:00\n"
				      "[b]\nexten => 1,1,NoOp()\n[c]\nexten => 2,1,NoOp()\n");

	(void)state;
	pbx_set_clock(counting_clock);
	fake_now = utc(2026, 12, 4, 8, 30, 0);
	clock_reads = 0;
	assert_int_equal(dialplan_find(dp, "b", "1", 1, NULL), 0);
	assert_int_equal(dialplan_find(dp, "a", "1", 1, NULL), 0);
	assert_int_equal(clock_reads, 0);
	assert_int_equal(dialplan_find(dp, "a", "2", 1, NULL), 0);
	assert_int_equal(clock_reads, 1);
	fake_now = utc(2026, 12, 4, 9, 1, 0);
	assert_int_equal(dialplan_find(dp, "a", "2", 1, NULL), ENOENT);
	pbx_set_clock(fake_clock);
	dialplan_free(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seed),
	    cmocka_unit_test(test_callerpres_and_host_funcs),
	    cmocka_unit_test(test_patterns),
	    cmocka_unit_test(test_ext_cmp),
	    cmocka_unit_test(test_lookup_rules),
	    cmocka_unit_test(test_eval),
	    cmocka_unit_test(test_string_funcs),
	    cmocka_unit_test(test_pjsip_header),
	    cmocka_unit_test(test_callerid_match),
	    cmocka_unit_test(test_apps), cmocka_unit_test(test_pickup_apps),
	    cmocka_unit_test(test_dial_parse),
	    cmocka_unit_test(test_park),
	    cmocka_unit_test(test_include_loops),
	    cmocka_unit_test(test_asterisk_only_app),
	    cmocka_unit_test(test_gosub),
	    cmocka_unit_test(test_bad_dialplans),
	    cmocka_unit_test(test_special_extens),
	    cmocka_unit_test(test_labels_priorities),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_globals_and_merge),
	    cmocka_unit_test(test_show),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_reload_refcount),
	    cmocka_unit_test(test_hints),
	    cmocka_unit_test(test_say),
	    cmocka_unit_test(test_split_files),
	    cmocka_unit_test(test_media_apps),
	    cmocka_unit_test(test_authenticate),
	    cmocka_unit_test(test_conference_apps),
	    cmocka_unit_test(test_macro),
	    cmocka_unit_test(test_chanisavail),
	    cmocka_unit_test(test_media_check),
	    cmocka_unit_test(test_voicemail_exit),
	    cmocka_unit_test(test_match_more),
	    cmocka_unit_test(test_timing),
	    cmocka_unit_test(test_tz_vs_libc),
	    cmocka_unit_test(test_time_dialplan),
	    cmocka_unit_test(test_conditional_apps),
	    cmocka_unit_test(test_time_funcs),
	    cmocka_unit_test(test_time_lookup_cost),
	};
	int rc;

	/* Time conditions without a zone use the local time: UTC here; zones come from copies
	 * in the repository; the clock is the tests'. */
	setenv("TZ", "UTC0", 1);
	tzset();
	pbx_tz_set_dir(TZ_DATA);
	pbx_set_clock(fake_clock);
	rc = cmocka_run_group_tests_name("pbx", tests, NULL, NULL);
	pbx_tz_cache_clear();
	return rc;
}
