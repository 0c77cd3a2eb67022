/* test_cfg: the native form's phones (src/cfg): secrets generated once and kept in the state
 * file, ranges, bad names, [sip] bind, an unusable state file, and the default etc/mikaka.conf. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "cfg.h"
#include "conf.h"
#include "pbx.h"
#include "peer.h"

struct fx {
	char dir[64];	/* the configuration directory */
	char state[96]; /* STATEDIR/phones.secrets */
};

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/mikaka-test-cfg.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->state, sizeof(fx->state), "%s/state/%s", fx->dir, CFG_SECRETS_FILE);
	*state = fx;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void write_conf(const struct fx *fx, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/mikaka.conf", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 4096);

	if (!f) {
		free(buf);
		return NULL;
	}
	buf[fread(buf, 1, 4095, f)] = '\0';
	fclose(f);
	return buf;
}

/* Loads fx->dir with a fresh secrets store over fx->state; returns cfg_load_secrets' result. */
static int load(const struct fx *fx, struct cfg **cfgp, struct cfg_secrets **sp,
		struct conf_diags *diags)
{
	int err = cfg_secrets_open(sp, fx->state, diags);

	if (err)
		return err;
	return cfg_load_secrets(cfgp, fx->dir, NULL, *sp, diags);
}

static bool has_diag(const struct conf_diags *d, const char *text)
{
	for (size_t i = 0; i < d->count; i++) {
		if (strstr(d->items[i].message, text))
			return true;
	}
	return false;
}

static void test_generated_once_and_kept(void **state)
{
	struct fx *fx = *state;
	struct conf_diags diags = {0};
	struct cfg_secrets *s = NULL;
	struct cfg *cfg = NULL;
	char s801[CFG_SECRET_LEN + 1], s802[CFG_SECRET_LEN + 1];
	struct stat st;
	struct mbuf out;

	write_conf(fx, "[phones]\n801 =\n802 =\n803 = written-803\n");
	assert_int_equal(load(fx, &cfg, &s, &diags), 0);
	assert_int_equal(cfg->nphones, 3);
	assert_string_equal(cfg->phones[0].name, "801");
	assert_true(cfg->phones[0].generated);
	assert_false(cfg->phones[2].generated);
	assert_string_equal(cfg->phones[2].secret, "written-803");
	assert_int_equal(strlen(cfg->phones[0].secret), CFG_SECRET_LEN);
	assert_string_not_equal(cfg->phones[0].secret, cfg->phones[1].secret);
	snprintf(s801, sizeof(s801), "%s", cfg->phones[0].secret);
	snprintf(s802, sizeof(s802), "%s", cfg->phones[1].secret);
	/* The peers are the generated ones, with the secret. */
	assert_non_null(peer_find(cfg->peers, "801"));
	assert_true(cfg_secrets_is_new(s, "801"));
	assert_false(cfg_secrets_is_new(s, "803")); /* written, never stored */
	assert_null(cfg_secrets_find(s, "803"));

	/* Printed once: only_new lists 801 and 802 until they are marked announced. */
	mbuf_init(&out);
	assert_int_equal(cfg_phones_show(cfg, s, true, &out), 0);
	assert_non_null(strstr((char *)out.buf, s801));
	assert_null(strstr((char *)out.buf, "written-803"));
	mbuf_reset(&out);
	cfg_secrets_announced(s);
	assert_int_equal(cfg_phones_show(cfg, s, true, &out), 0);
	assert_int_equal(out.end, 0);
	assert_int_equal(cfg_phones_show(cfg, s, false, &out), 0);
	mbuf_write(&out, "", 1);
	assert_non_null(strstr((char *)out.buf, s802));
	assert_non_null(strstr((char *)out.buf, "Register to: "));
	mbuf_reset(&out);

	/* The file: private, and holds both. */
	assert_int_equal(stat(fx->state, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	mem_deref(cfg);
	cfg_secrets_free(s);

	/* A restart (a new store read from the file) and a reload get the same secrets. */
	cfg = NULL;
	assert_int_equal(load(fx, &cfg, &s, &diags), 0);
	assert_string_equal(cfg->phones[0].secret, s801);
	assert_string_equal(cfg->phones[1].secret, s802);
	assert_false(cfg_secrets_is_new(s, "801"));
	mem_deref(cfg);
	cfg = NULL;
	assert_int_equal(cfg_load_secrets(&cfg, fx->dir, NULL, s, &diags), 0);
	assert_string_equal(cfg->phones[1].secret, s802);
	mem_deref(cfg);
	cfg_secrets_free(s);
	assert_int_equal(diags.errors, 0);
	conf_diags_reset(&diags);
}

/* Dry mode: a configuration is checked before secrets are handed out for it. */
static void test_dry_mode(void **state)
{
	struct fx *fx = *state;
	struct conf_diags diags = {0};
	struct cfg_secrets *s = NULL;
	struct cfg *cfg = NULL;

	write_conf(fx, "[phones]\n801 =\n802 = written\n803 =\n");
	assert_int_equal(cfg_secrets_open(&s, fx->state, &diags), 0);
	cfg_secrets_set_dry(s, true);
	assert_int_equal(cfg_load_secrets(&cfg, fx->dir, NULL, s, &diags), 0);
	assert_int_equal(cfg_secrets_pending(s), 2);
	assert_int_equal(strlen(cfg->phones[0].secret), CFG_SECRET_LEN);
	assert_null(cfg_secrets_find(s, "801"));
	assert_int_equal(access(fx->state, F_OK), -1);
	mem_deref(cfg);
	cfg_secrets_set_dry(s, false);
	assert_int_equal(cfg_secrets_pending(s), 0);
	cfg = NULL;
	assert_int_equal(cfg_load_secrets(&cfg, fx->dir, NULL, s, &diags), 0);
	assert_string_equal(cfg->phones[0].secret, cfg_secrets_find(s, "801"));
	assert_string_equal(cfg->phones[2].secret, cfg_secrets_find(s, "803"));
	assert_int_equal(access(fx->state, F_OK), 0);
	/* Dry again with everything stored: nothing pending, the stored secrets are used. */
	mem_deref(cfg);
	cfg = NULL;
	cfg_secrets_set_dry(s, true);
	assert_int_equal(cfg_load_secrets(&cfg, fx->dir, NULL, s, &diags), 0);
	assert_int_equal(cfg_secrets_pending(s), 0);
	assert_string_equal(cfg->phones[2].secret, cfg_secrets_find(s, "803"));
	mem_deref(cfg);
	cfg_secrets_free(s);
	assert_int_equal(diags.errors, 0);
	conf_diags_reset(&diags);
}

static void test_range(void **state)
{
	struct fx *fx = *state;
	struct conf_diags diags = {0};
	struct cfg_secrets *s = NULL;
	struct cfg *cfg = NULL;
	char *file;

	write_conf(fx, "[phones]\n801 =\n0803-0805 =\n");
	assert_int_equal(load(fx, &cfg, &s, &diags), 0);
	assert_int_equal(cfg->nphones, 4);
	assert_string_equal(cfg->phones[1].name, "0803");
	assert_string_equal(cfg->phones[3].name, "0805");
	assert_non_null(peer_find(cfg->peers, "0804"));
	file = read_file(fx->state);
	assert_non_null(file);
	assert_non_null(strstr(file, "0805 = "));
	free(file);
	mem_deref(cfg);
	cfg_secrets_free(s);
	conf_diags_reset(&diags);
}

static void test_bad_entries(void **state)
{
	static const struct {
		const char *conf, *diag;
	} cases[] = {
	    {"[phones]\n803-805 = shared\n", "a range takes no secret"},
	    {"[phones]\n805-803 =\n", "from a lower to a higher"},
	    {"[phones]\n1-500 =\n", "at most 100"},
	    {"[phones]\ngeneral = x\n", "is not a phone name"},
	    {"[phones]\nbad name = x\n", "is not a phone name"},
	    {"[phones]\n801 = a\n801 =\n", "named twice"},
	    {"[phones]\n801 = a\n[sip]\nbind = not-an-address\n", "[sip] bind"},
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conf_diags diags = {0};
		struct cfg_secrets *s = NULL;
		struct cfg *cfg = NULL;

		write_conf(fx, cases[i].conf);
		assert_int_equal(load(fx, &cfg, &s, &diags), EINVAL);
		assert_null(cfg);
		if (!has_diag(&diags, cases[i].diag))
			fail_msg("case %zu: no diagnostic '%s'", i, cases[i].diag);
		cfg_secrets_free(s);
		conf_diags_reset(&diags);
	}
}

static void test_bind(void **state)
{
	struct fx *fx = *state;
	struct conf_diags diags = {0};
	struct cfg *cfg = NULL;
	char buf[SA_STRLEN];

	write_conf(fx, "[phones]\n801 = pw\n[sip]\nbind = 127.0.3.9:5070\nbind = 127.0.3.10\n");
	assert_int_equal(cfg_load(&cfg, fx->dir, NULL, &diags), 0);
	assert_int_equal(cfg->server.nlisten, 2);
	assert_string_equal(sa_fmt(&cfg->server.listen[0].addr, buf, sizeof(buf)),
			    "127.0.3.9:5070");
	assert_string_equal(sa_fmt(&cfg->server.listen[1].addr, buf, sizeof(buf)),
			    "127.0.3.10:5060");
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

/* screening: [screening:NUMBER] phones = ... rings those phones for that called number in the
 * generated [from_line]; a bad [screening] line refuses the snapshot with its file:line. */
static void test_screening_numbers(void **state)
{
	struct fx *fx = *state;
	struct conf_diags diags = {0};
	struct cfg *cfg = NULL;
	struct pbx_vars *vars = NULL;
	struct mbuf out;

	assert_int_equal(pbx_vars_alloc(&vars), 0);
	assert_int_equal(pbx_vars_set(vars, "LINE_SERVER", "192.0.2.1"), 0);
	assert_int_equal(pbx_vars_set(vars, "LINE_NUMBER", "0312345678"), 0);
	write_conf(fx, "[phones]\n801 = a\n802 = b\n[screening]\nwithheld = reject\n"
		       "[screening:03-1234-5679]\nphones = 802\n");
	assert_int_equal(cfg_load(&cfg, fx->dir, vars, &diags), 0);
	assert_non_null(cfg->screen);
	mbuf_init(&out);
	assert_int_equal(dialplan_show(cfg->dialplan, "0312345679@from_line", &out), 0);
	mbuf_write(&out, "", 1);
	printf("%s", (char *)out.buf);
	assert_non_null(strstr((char *)out.buf, "Dial(SIP/802,60)"));
	mbuf_reset(&out);
	mbuf_init(&out);
	assert_int_equal(dialplan_show(cfg->dialplan, "0312345678@from_line", &out), 0);
	mbuf_write(&out, "", 1);
	assert_non_null(strstr((char *)out.buf, "Dial(SIP/801&SIP/802,60)"));
	mbuf_reset(&out);
	mem_deref(cfg);
	cfg = NULL;
	conf_diags_reset(&diags);

	write_conf(fx, "[phones]\n801 = a\n[screening]\nwithheld = sometimes\n");
	assert_int_equal(cfg_load(&cfg, fx->dir, vars, &diags), EINVAL);
	assert_null(cfg);
	assert_true(has_diag(&diags, "[screening] withheld: 'sometimes'"));
	assert_int_equal(diags.items[0].origin.line, 4);
	conf_diags_reset(&diags);
	pbx_vars_free(vars);
}

/* The native dialplan reaches the caller's own mailbox by *97 and 1417; phones get mailbox=. */
static void test_voicemail_codes(void **state)
{
	struct fx *fx = *state;
	struct conf_diags diags = {0};
	struct cfg *cfg = NULL;
	const struct conf_section *sec;
	bool c97 = false, c1417 = false;

	write_conf(fx, "[phones]\n801 = pw\n");
	assert_int_equal(cfg_load(&cfg, fx->dir, NULL, &diags), 0);
	sec = conf_section_find(cfg->extensions, "from_phone");
	assert_non_null(sec);
	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		if (!strcmp(v->value, "*97,1,VoiceMailMain(${CALLERID(num)}@default)"))
			c97 = true;
		if (!strcmp(v->value, "1417,1,VoiceMailMain(${CALLERID(num)}@default)"))
			c1417 = true;
	}
	assert_true(c97);
	assert_true(c1417);
	assert_string_equal(peer_find(cfg->peers, "801")->mailbox, "801@default");
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

/* Call pickup: the native form's phones share call and pickup group 1 and **NAME is directed
 * pickup; features.conf pickupexten (default *8; a bad code is an error, other keys warnings). */
static void test_pickup(void **state)
{
	struct fx *fx = *state;
	struct conf_diags diags = {0};
	struct cfg *cfg = NULL;
	const struct conf_section *sec;
	const struct peer *p;
	bool directed = false;
	char path[128];
	FILE *f;

	write_conf(fx, "[phones]\n801 = pw\n802 = pw2\n");
	assert_int_equal(cfg_load(&cfg, fx->dir, NULL, &diags), 0);
	assert_string_equal(cfg->pickupexten, "*8");
	/* Parking at Asterisk's defaults: 700, spaces 701-720, 45 s, context parkedcalls. */
	assert_string_equal(cfg->park.ext, "700");
	assert_int_equal(cfg->park.first, 701);
	assert_int_equal(cfg->park.last, 720);
	assert_int_equal(cfg->park.time_s, 45);
	assert_true(cfg->park.comeback);
	assert_int_equal(dialplan_find(cfg->dialplan, "parkedcalls", "720", 1, NULL), 0);
	assert_false(has_diag(&diags, "unreachable"));
	p = peer_find(cfg->peers, "801");
	assert_true(peer_groups_match(peer_find(cfg->peers, "802"), p));
	sec = conf_section_find(cfg->extensions, "from_phone");
	for (const struct conf_var *v = sec->vars; v; v = v->next)
		directed |= !strcmp(v->value, "_**.,1,PickupChan(SIP/${EXTEN:2},p)");
	assert_true(directed);
	mem_deref(cfg);
	cfg = NULL;
	conf_diags_reset(&diags);

	snprintf(path, sizeof(path), "%s/features.conf", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[general]\npickupexten = #9\nparkext = 900\nparkpos => 901-903\nparkingtime = 60\n"
	      "context = lot\ncomebacktoorigin = no\nparkedmusicclass = x\n"
	      "[featuremap]\nblindxfer = #1\n", f);
	fclose(f);
	assert_int_equal(cfg_load(&cfg, fx->dir, NULL, &diags), 0);
	assert_string_equal(cfg->pickupexten, "#9");
	assert_string_equal(cfg->park.ext, "900");
	assert_int_equal(cfg->park.first, 901);
	assert_int_equal(cfg->park.last, 903);
	assert_int_equal(cfg->park.time_s, 60);
	assert_false(cfg->park.comeback);
	assert_int_equal(dialplan_find(cfg->dialplan, "lot", "900", 1, NULL), 0);
	assert_int_equal(dialplan_find(cfg->dialplan, "lot", "903", 1, NULL), 0);
	assert_int_not_equal(dialplan_find(cfg->dialplan, "lot", "904", 1, NULL), 0);
	assert_true(has_diag(&diags, "parkedmusicclass: not implemented"));
	assert_true(has_diag(&diags, "[featuremap]: in-call features are not implemented"));
	assert_int_equal(diags.errors, 0);
	mem_deref(cfg);
	cfg = NULL;
	conf_diags_reset(&diags);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[general]\npickupexten = pick up\n", f);
	fclose(f);
	assert_int_equal(cfg_load(&cfg, fx->dir, NULL, &diags), EINVAL);
	assert_null(cfg);
	assert_true(has_diag(&diags, "pickupexten: 'pick up' is not a code"));
	assert_string_equal(diags.items[diags.count - 1].origin.file, path);
	conf_diags_reset(&diags);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[general]\nparkpos = 720-701\n", f);
	fclose(f);
	assert_int_equal(cfg_load(&cfg, fx->dir, NULL, &diags), EINVAL);
	assert_true(has_diag(&diags, "parkpos: '720-701' is not FIRST-LAST"));
	assert_int_equal(diags.items[diags.count - 1].origin.line, 2);
	conf_diags_reset(&diags);
}

/* mikakad -t: no store; a phone without a secret still loads (with one nobody knows). */
static void test_check_only(void **state)
{
	struct fx *fx = *state;
	struct conf_diags diags = {0};
	struct cfg *cfg = NULL;

	write_conf(fx, "[phones]\n801 =\n");
	assert_int_equal(cfg_load(&cfg, fx->dir, NULL, &diags), 0);
	assert_int_equal(strlen(cfg->phones[0].secret), CFG_SECRET_LEN);
	assert_int_equal(access(fx->state, F_OK), -1); /* nothing written */
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

/* A state directory that cannot be written: EIO, a diagnostic naming the file and the reason,
 * nothing handed out. (The tests run as root, for whom permissions do not apply: the directory
 * is made impossible instead, a regular file in its place.) */
static void test_state_unwritable(void **state)
{
	struct fx *fx = *state;
	struct conf_diags diags = {0};
	struct cfg_secrets *s = NULL;
	struct cfg *cfg = NULL;
	char statedir[128];
	FILE *f;

	snprintf(statedir, sizeof(statedir), "%s/state", fx->dir);
	f = fopen(statedir, "w");
	assert_non_null(f);
	fclose(f);
	write_conf(fx, "[phones]\n801 = written\n802 =\n803 =\n");
	assert_int_equal(load(fx, &cfg, &s, &diags), EIO);
	assert_null(cfg);
	assert_true(has_diag(&diags, "[phones] 802: no secret written"));
	assert_true(has_diag(&diags, fx->state));
	assert_true(has_diag(&diags, "Not a directory"));
	assert_false(has_diag(&diags, "[phones] 803")); /* said once */
	assert_null(cfg_secrets_find(s, "802"));
	cfg_secrets_free(s);
	conf_diags_reset(&diags);
}

/* A secrets file that exists but cannot be parsed is refused and left as it was. */
static void test_state_corrupt_untouched(void **state)
{
	static const char junk[] = "[phones]\n801 = kept\nthis is not a line\n";
	struct fx *fx = *state;
	struct conf_diags diags = {0};
	struct cfg_secrets *s = NULL;
	char statedir[128];
	char *file;
	FILE *f;

	snprintf(statedir, sizeof(statedir), "%s/state", fx->dir);
	assert_int_equal(mkdir(statedir, 0700), 0);
	f = fopen(fx->state, "w");
	assert_non_null(f);
	fputs(junk, f);
	fclose(f);
	assert_int_equal(cfg_secrets_open(&s, fx->state, &diags), EINVAL);
	assert_null(s);
	assert_true(has_diag(&diags, "left untouched"));
	file = read_file(fx->state);
	assert_string_equal(file, junk);
	free(file);
	conf_diags_reset(&diags);
}

static void test_secrets_path(void **state)
{
	char buf[128];

	(void)state;
	cfg_secrets_path(buf, sizeof(buf), "build/run/mikaka.db");
	assert_string_equal(buf, "build/run/phones.secrets");
	cfg_secrets_path(buf, sizeof(buf), "mikaka.db");
	assert_string_equal(buf, "phones.secrets");
	cfg_secrets_path(buf, sizeof(buf), "/mikaka.db");
	assert_string_equal(buf, "/phones.secrets");
}

/* The default configuration (`make run`): phones 801 and 802 with generated secrets, calling
 * each other, no line, no guest. */
static void test_default_etc(void **state)
{
	struct conf_diags diags = {0};
	struct cfg *cfg = NULL;
	const struct peer *p;

	(void)state;
	assert_int_equal(cfg_load(&cfg, "etc/run", NULL, &diags), 0);
	assert_int_equal(diags.count, 0);
	assert_int_equal(cfg->nphones, 2);
	assert_true(cfg->phones[0].generated && cfg->phones[1].generated);
	assert_non_null((p = peer_find(cfg->peers, "801")));
	assert_non_null(peer_find(cfg->peers, "802"));
	assert_null(peer_find(cfg->peers, "line"));
	assert_false(sipcfg_general(cfg->peers)->allowguest);
	assert_true(sipcfg_general(cfg->peers)->alwaysauthreject);
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_generated_once_and_kept, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_dry_mode, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_range, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_entries, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_bind, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_voicemail_codes, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_pickup, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_check_only, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_screening_numbers, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_state_unwritable, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_state_corrupt_untouched, fx_setup, fx_teardown),
	    cmocka_unit_test(test_secrets_path),
	    cmocka_unit_test(test_default_etc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
