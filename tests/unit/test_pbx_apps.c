/* test_pbx_apps: PrivacyManager(), Zapateller(), SayAlpha(), SayPhonetic(), DISA() and SayUnixTime() in the
 * dialplan interpreter, the host's media actions played by hand. */
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

static struct dialplan *load_ok(const char *text, struct conf_diags *diags)
{
	struct conf *conf = NULL;
	struct dialplan *dp = NULL;

	assert_int_equal(conf_load_string(&conf, "t.conf", text, diags), 0);
	assert_int_equal(dialplan_load(&dp, conf, NULL, diags), 0);
	conf_free(conf);
	return dp;
}

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

static void run_expect(struct pbx_chan *ch, enum pbx_act_type type, struct pbx_action *act)
{
	assert_int_equal(pbx_chan_run(ch, act), 0);
	assert_int_equal(act->type, type);
}

static const char dialplan_text[] =
    "[m]\n"
    "exten => 1,1,PrivacyManager()\n"
    " same => n,Set(R=${PRIVACYMGRSTATUS}|${CALLERID(num)}|${CALLERID(name)})\n"
    " same => n,Dial(SIP/801)\n"
    "exten => 2,1,PrivacyManager(2,4,,known)\n"
    " same => n,Set(R=${PRIVACYMGRSTATUS}|${CALLERID(num)})\n"
    " same => n,Dial(SIP/802)\n"
    "exten => 3,1,Zapateller(answer|nocallerid)\n"
    " same => n,Dial(SIP/803)\n"
    "exten => 4,1,Zapateller()\n"
    " same => n,SayAlpha(Ab9.z)\n"
    " same => n,SayPhonetic(Ab9)\n"
    " same => n,Hangup()\n"
    "[known]\n"
    "exten => _0X.,1,NoOp()\n";

static struct pbx_chan *chan(struct dialplan *dp, const char *exten, const char *cid)
{
	struct pbx_chan *ch = NULL;

	assert_int_equal(pbx_chan_alloc(&ch, dp, "m", exten, cid, ""), 0);
	return ch;
}

/* A caller with a number goes straight on, nothing asked and nothing set (as Asterisk). */
static void test_privacy_number_present(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp = load_ok(dialplan_text, &diags);
	struct pbx_chan *ch = chan(dp, "1", "0312345678");
	struct pbx_action act;

	(void)state;
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_string_equal(pbx_chan_get_var(ch, "R"), "|0312345678|");
	pbx_chan_free(ch);
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

/* Withheld ("anonymous", as a SIP From says it) or empty: unident + prompt, a short number
 * refused (incorrect + prompt), a good one thanked; the number becomes the caller ID. */
static void test_privacy_asks(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp = load_ok(dialplan_text, &diags);
	const char *cids[] = {"anonymous", ""};
	struct pbx_action act;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct pbx_chan *ch = chan(dp, "1", cids[i]);

		run_expect(ch, PBX_ACT_PLAY, &act);
		assert_true(act.media.answer);
		assert_int_equal(act.media.nfiles, 2);
		assert_string_equal(act.media.files[0], "privacy-unident");
		assert_string_equal(act.media.files[1], "privacy-prompt");
		assert_string_equal(act.media.term_digits, "#");
		assert_true(act.media.max_digits >= 20);
		assert_int_equal(act.media.timeout_ms, 5000);
		assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "12345"), 0);
		run_expect(ch, PBX_ACT_PLAY, &act);
		assert_string_equal(act.media.files[0], "privacy-incorrect");
		assert_string_equal(act.media.files[1], "privacy-prompt");
		assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "0312345678"), 0);
		run_expect(ch, PBX_ACT_PLAY, &act);
		assert_int_equal(act.media.nfiles, 1);
		assert_string_equal(act.media.files[0], "privacy-thankyou");
		assert_int_equal(act.media.max_digits, 0);
		assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
		run_expect(ch, PBX_ACT_DIAL, &act);
		assert_string_equal(pbx_chan_get_var(ch, "R"), "SUCCESS|0312345678|Privacy Manager");
		assert_string_equal(pbx_chan_callerid_num(ch), "0312345678");
		pbx_chan_free(ch);
	}
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

/* Two tries, four digits at least, and the number must be an extension of [known]: a number
 * that is long enough but not there counts as a miss; after the last miss "privacy-incorrect"
 * plays once more, FAILED is set and the dialplan goes on with the caller ID unchanged. */
static void test_privacy_fails(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp = load_ok(dialplan_text, &diags);
	struct pbx_chan *ch = chan(dp, "2", "anonymous");
	struct pbx_action act;

	(void)state;
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "privacy-unident");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "9999"), 0); /* not in [known] */
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "privacy-incorrect");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_TIMEOUT, ""), 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(act.media.nfiles, 1);
	assert_string_equal(act.media.files[0], "privacy-incorrect");
	assert_int_equal(act.media.max_digits, 0);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_string_equal(pbx_chan_get_var(ch, "R"), "FAILED|anonymous");
	pbx_chan_free(ch);

	/* A number of [known] on the first try. */
	ch = chan(dp, "2", "");
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "0452"), 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_string_equal(act.media.files[0], "privacy-thankyou");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	assert_string_equal(pbx_chan_get_var(ch, "R"), "SUCCESS|0452");
	pbx_chan_free(ch);

	/* A prompt abandoned (the caller hung up) does not carry over to the next run. */
	ch = chan(dp, "2", "");
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(pbx_chan_hangup(ch), ENOENT);
	pbx_chan_free(ch);
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

/* Zapateller: the three SIT tones and a second of silence, answered with 'answer'; with
 * 'nocallerid' a caller with a number hears nothing. Then SayAlpha/SayPhonetic's files. */
static void test_zapateller_and_say(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp = load_ok(dialplan_text, &diags);
	struct pbx_chan *ch = chan(dp, "3", "0312345678");
	struct pbx_action act;

	(void)state;
	run_expect(ch, PBX_ACT_DIAL, &act);
	pbx_chan_free(ch);

	ch = chan(dp, "3", "anonymous");
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_true(act.media.answer);
	assert_string_equal(act.media.tone, "!950/330,!1400/330,!1800/330,!0/1000");
	assert_int_equal(act.media.duration_ms, 1990);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_DIAL, &act);
	pbx_chan_free(ch);

	ch = chan(dp, "4", "0312345678");
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_false(act.media.answer);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(act.media.nfiles, 5);
	assert_string_equal(act.media.files[0], "letters/a");
	assert_string_equal(act.media.files[1], "letters/b");
	assert_string_equal(act.media.files[2], "digits/9");
	assert_string_equal(act.media.files[3], "letters/dot");
	assert_string_equal(act.media.files[4], "letters/z");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(act.media.nfiles, 3);
	assert_string_equal(act.media.files[0], "phonetic/a_p");
	assert_string_equal(act.media.files[1], "phonetic/b_p");
	assert_string_equal(act.media.files[2], "phonetic/9_p");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	pbx_chan_free(ch);
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

static void test_say_alpha_files(void **state)
{
	static const struct {
		const char *in;
		bool phonetic;
		const char *files;
	} cases[] = {
	    {"Hi-5", false, "letters/h&letters/i&letters/dash&digits/5"},
	    {"a@b.c", false, "letters/a&letters/at&letters/b&letters/dot&letters/c"},
	    {"#* !", false, "digits/pound&letters/asterisk&letters/space&letters/exclaimation-point"},
	    {"?", false, "letters/ascii63"},
	    {"x\x01\xe3\x81\x82", false, "letters/x"},
	    {"Zulu 19", true, "phonetic/z_p&phonetic/u_p&phonetic/l_p&phonetic/u_p&letters/space&"
			      "digits/1&phonetic/9_p"},
	    {"", true, ""},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mbuf mb;

		mbuf_init(&mb);
		assert_int_equal(pbx_say_alpha(cases[i].in, cases[i].phonetic, &mb), 0);
		assert_int_equal(mbuf_write(&mb, "", 1), 0);
		assert_string_equal((char *)mb.buf, cases[i].files);
		mbuf_reset(&mb);
	}
}

/* The applications load without a warning now (they were Asterisk-only before), and their
 * arguments are checked. */
static void test_check(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp = load_ok("[m]\n"
				      "exten => 1,1,PrivacyManager(x,10)\n"
				      " same => n,Zapateller(answer|loud)\n"
				      " same => n,SayAlpha(abc)\n"
				      " same => n,Zapateller(answer, nocallerid)\n",
				      &diags);
	struct conf_diags ck = {0};

	(void)state;
	assert_int_equal(diags.count, 0);
	dialplan_check(dp, (const char *[]){"m"}, 1, &ck);
	assert_true(diags_have(&ck, "t.conf:2: warning: PrivacyManager: tries and minimum length"));
	assert_true(diags_have(&ck, "t.conf:3: warning: Zapateller: unknown option 'loud'"));
	assert_false(diags_have(&ck, "SayAlpha"));
	assert_false(diags_have(&ck, "t.conf:5:")); /* a space after the comma is fine */
	conf_diags_reset(&ck);
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

static const char disa_text[] =
    "[m]\n"
    "exten => 1,1,DISA(1234,out,\"Home\" <0312345678>)\n"
    " same => n,Hangup()\n"
    "exten => 2,1,DISA(no-password,out)\n"
    "exten => 3,1,DISA(%s)\n"
    "[out]\n"
    "exten => 117,1,NoOp()\n"
    "exten => 1170,1,NoOp()\n"
    "exten => _0X.,1,NoOp()\n"
    "[disa]\n"
    "exten => 5,1,NoOp()\n"
    "[other]\n"
    "exten => 9,1,NoOp()\n";

/* DISA: the dial tone answers and waits 20 s for the passcode (collected up to '#'); right: the
 * dial tone again until the first digit, then digit by digit without a tone until no longer
 * extension can match ('#' or a pause end it too); the call goes on there with the caller ID. */
static void test_disa(void **state)
{
	char text[1024], path[] = "/tmp/mikaka-disa-XXXXXX";
	int fd = mkstemp(path);
	struct conf_diags diags = {0};
	struct dialplan *dp;
	struct pbx_chan *ch;
	struct pbx_action act;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "# codes\n4321,other\n5555\n", 24), 24);
	close(fd);
	snprintf(text, sizeof(text), disa_text, path);
	dp = load_ok(text, &diags);

	ch = chan(dp, "1", "09011112222");
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_true(act.media.answer);
	assert_string_equal(act.media.tone, "400");
	assert_int_equal(act.media.duration_ms, 20000);
	assert_string_equal(act.media.term_digits, "#");
	assert_true(act.media.max_digits >= 10);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "1234"), 0);
	run_expect(ch, PBX_ACT_TONE, &act); /* the dial tone again, until the first digit */
	assert_string_equal(act.media.tone, "400");
	assert_int_equal(act.media.max_digits, 1);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "1"), 0);
	run_expect(ch, PBX_ACT_PLAY, &act); /* no tone now */
	assert_int_equal(act.media.nfiles, 0);
	assert_int_equal(act.media.max_digits, 1);
	assert_int_equal(act.media.timeout_ms, 10000);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "1"), 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "7"), 0);
	run_expect(ch, PBX_ACT_PLAY, &act); /* 1170 may follow */
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "0"), 0);
	/* 1170 exists and nothing longer can match: the call goes on there */
	run_expect(ch, PBX_ACT_END, &act);
	assert_string_equal(pbx_chan_context(ch), "out");
	assert_string_equal(pbx_chan_exten(ch), "1170");
	assert_string_equal(pbx_chan_callerid_num(ch), "0312345678");
	assert_string_equal(pbx_chan_callerid_name(ch), "Home");
	pbx_chan_free(ch);

	/* A pause after 117 (which 1170 could extend): 117 it is. */
	ch = chan(dp, "2", "");
	run_expect(ch, PBX_ACT_TONE, &act);
	for (const char *d = "117"; *d; d++) {
		char one[2] = {*d, 0};

		assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, one), 0);
		assert_int_equal(pbx_chan_run(ch, &act), 0);
		assert_int_equal(act.type, PBX_ACT_PLAY);
	}
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_TIMEOUT, ""), 0);
	run_expect(ch, PBX_ACT_END, &act);
	assert_string_equal(pbx_chan_exten(ch), "117");
	pbx_chan_free(ch);

	/* A wrong passcode, and a number of no extension: the reorder tone, then a hang-up. */
	ch = chan(dp, "1", "");
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "9999"), 0);
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_string_equal(act.media.tone, "400/500,0/500");
	assert_int_equal(act.media.max_digits, 0);
	assert_int_equal(act.media.duration_ms, 10000);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	pbx_chan_free(ch);
	ch = chan(dp, "2", "");
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "8"), 0);
	run_expect(ch, PBX_ACT_TONE, &act); /* no extension starts with 8 */
	assert_string_equal(act.media.tone, "400/500,0/500");
	pbx_chan_free(ch);

	/* A passcode file: its line's context applies; the default context is disa. */
	ch = chan(dp, "3", "");
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "4321"), 0);
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "9"), 0);
	run_expect(ch, PBX_ACT_END, &act);
	assert_string_equal(pbx_chan_context(ch), "other");
	pbx_chan_free(ch);
	ch = chan(dp, "3", "");
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, "5555"), 0);
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, "5"), 0);
	run_expect(ch, PBX_ACT_END, &act);
	assert_string_equal(pbx_chan_context(ch), "disa");
	pbx_chan_free(ch);

	/* Nothing keyed in 20 s: reorder. An abandoned wait leaves nothing behind. */
	ch = chan(dp, "1", "");
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_TIMEOUT, ""), 0);
	run_expect(ch, PBX_ACT_TONE, &act);
	assert_string_equal(act.media.tone, "400/500,0/500");
	assert_int_equal(pbx_chan_hangup(ch), ENOENT);
	pbx_chan_free(ch);
	dialplan_free(dp);
	conf_diags_reset(&diags);
	unlink(path);
}

/* -t: a missing passcode is an error, a missing context a warning, and the DISA context counts
 * as reached. */
static void test_disa_check(void **state)
{
	struct conf_diags diags = {0}, ck = {0};
	struct dialplan *dp = load_ok("[m]\n"
				      "exten => 1,1,DISA()\n"
				      " same => n,DISA(1234,nosuch)\n"
				      " same => n,DISA(1234,out)\n"
				      "[out]\n"
				      "exten => 1,1,NoOp()\n",
				      &diags);

	(void)state;
	assert_int_equal(diags.count, 0);
	dialplan_check(dp, (const char *[]){"m"}, 1, &ck);
	assert_true(diags_have(&ck, "t.conf:2: error: DISA: needs a passcode"));
	assert_true(diags_have(&ck, "t.conf:3: warning: DISA: context 'nosuch' does not exist"));
	assert_false(diags_have(&ck, "'out' is unreachable"));
	conf_diags_reset(&ck);
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

static time_t fake_now;

static time_t fake_clock(void)
{
	return fake_now;
}

/* SayUnixTime: Asterisk's English default, format letters, today/yesterday. The moment:
 * Saturday 2026-12-05 09:17:09 in Tokyo. */
static void test_say_time(void **state)
{
	static const struct {
		const char *zone, *format;
		time_t t;
		const char *files;
	} cases[] = {
	    {"Asia/Tokyo", "", 1796429829,
	     "digits/day-6&digits/mon-11&digits/h-5&digits/2&digits/thousand&digits/20&digits/6&"
	     "digits/at&digits/9&digits/17&digits/a-m"},
	    {"Asia/Tokyo", "IMp", 1796429829 - 9 * 3600, "digits/12&digits/17&digits/a-m"},
	    {"Asia/Tokyo", "HM", 1796429829 - 9 * 3600, "digits/oh&digits/0&digits/17"},
	    {"Asia/Tokyo", "IMP", 1796429829 + 6 * 3600 - 17 * 60 - 9, "digits/3&digits/oclock&digits/p-m"},
	    {"Asia/Tokyo", "R 'beep&beep'", 1796429829 - 9 * 3600 - 12 * 60,
	     "digits/oh&digits/0&digits/oh&digits/5&beep&beep"},
	    {"Asia/Tokyo", "d", 1796429829 + 16 * 86400, "digits/20&digits/h-1"},
	    {"Asia/Tokyo", "Q", 1796429829, "digits/today"},
	    {"Asia/Tokyo", "Q", 1796429829 - 86400, "digits/yesterday"},
	    {"Asia/Tokyo", "q", 1796429829, ""},
	    {"Asia/Tokyo", "q", 1796429829 - 3 * 86400, "digits/day-3"},
	    {"Asia/Tokyo", "Bd Y", 549514800, "digits/mon-5&digits/h-1&digits/19&digits/80&digits/7"},
	};
	const struct pbx_tz *tz;

	(void)state;
	pbx_tz_set_dir("tests/unit/data/zoneinfo");
	pbx_set_clock(fake_clock);
	fake_now = 1796429829;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mbuf mb;

		assert_int_equal(pbx_tz_get(cases[i].zone, strlen(cases[i].zone), &tz), 0);
		mbuf_init(&mb);
		assert_int_equal(pbx_say_time(cases[i].t, tz, cases[i].format, &mb), 0);
		assert_int_equal(mbuf_write(&mb, "", 1), 0);
		assert_string_equal((char *)mb.buf, cases[i].files);
		mbuf_reset(&mb);
	}
	pbx_set_clock(NULL);
}

/* The applications: SayUnixTime(epoch,zone,format) plays the files; DateTime is the same. */
static void test_say_time_app(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp = load_ok("[m]\n"
				      "exten => 1,1,SayUnixTime(1796429829,Asia/Tokyo,IMp)\n"
				      " same => n,DateTime(1796429829,Asia/Tokyo,A)\n",
				      &diags);
	struct pbx_chan *ch = chan(dp, "1", "");
	struct pbx_action act;

	(void)state;
	pbx_tz_set_dir("tests/unit/data/zoneinfo");
	assert_int_equal(diags.count, 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(act.media.nfiles, 3);
	assert_string_equal(act.media.files[0], "digits/9");
	assert_string_equal(act.media.files[1], "digits/17");
	assert_string_equal(act.media.files[2], "digits/a-m");
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_PLAY, &act);
	assert_int_equal(act.media.nfiles, 1);
	assert_string_equal(act.media.files[0], "digits/day-6");
	pbx_chan_free(ch);
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

static int vm_stub(struct pbx_chan *ch, const char *name, const char *args, struct mbuf *out,
		   void *arg)
{
	(void)ch;
	(void)arg;
	if (strcmp(name, "MAILBOX_EXISTS"))
		return ENOENT;
	return mbuf_write_str(out, !strcmp(args, "801@home") ? "1" : "0");
}

/* MailboxExists asks the host; WaitUntil waits to the moment (PAST, FAILURE otherwise);
 * WaitMusicOnHold is MusicOnHold(default,seconds). */
static void test_small_apps(void **state)
{
	char text[512];
	struct conf_diags diags = {0};
	struct dialplan *dp;
	struct pbx_chan *ch;
	struct pbx_action act;
	time_t now = time(NULL);

	(void)state;
	snprintf(text, sizeof(text),
		 "[m]\n"
		 "exten => 1,1,MailboxExists(801@home)\n"
		 " same => n,Set(A=${VMBOXEXISTSSTATUS})\n"
		 " same => n,MailboxExists(802@home,x)\n"
		 " same => n,Set(B=${VMBOXEXISTSSTATUS})\n"
		 " same => n,WaitUntil(1000)\n"
		 " same => n,Set(C=${WAITUNTILSTATUS})\n"
		 " same => n,WaitUntil(soon)\n"
		 " same => n,Set(D=${WAITUNTILSTATUS})\n"
		 " same => n,WaitUntil(%lld.5)\n"
		 " same => n,Set(E=${WAITUNTILSTATUS})\n"
		 " same => n,WaitMusicOnHold(5)\n"
		 " same => n,WaitMusicOnHold()\n"
		 " same => n,Hangup()\n",
		 (long long)now + 100);
	dp = load_ok(text, &diags);
	assert_int_equal(diags.count, 0);
	ch = chan(dp, "1", "");
	pbx_chan_set_func_h(ch, vm_stub, NULL);
	run_expect(ch, PBX_ACT_WAIT, &act);
	assert_string_equal(pbx_chan_get_var(ch, "A"), "SUCCESS");
	assert_string_equal(pbx_chan_get_var(ch, "B"), "FAILED");
	assert_string_equal(pbx_chan_get_var(ch, "C"), "PAST");
	assert_string_equal(pbx_chan_get_var(ch, "D"), "FAILURE");
	assert_true(act.wait_ms > 98000 && act.wait_ms < 101500);
	run_expect(ch, PBX_ACT_MOH, &act);
	assert_string_equal(pbx_chan_get_var(ch, "E"), "OK");
	assert_string_equal(act.media.moh_class, "default");
	assert_int_equal(act.media.duration_ms, 5000);
	assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, NULL), 0);
	run_expect(ch, PBX_ACT_HANGUP, &act); /* WaitMusicOnHold() of nothing: no wait */
	pbx_chan_free(ch);
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

/* SetCallerPres() sets what CALLERPRES() reads; an unknown word changes nothing; Proceeding()
 * goes on. */
static void test_setcallerpres(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp = load_ok("[m]\n"
				      "exten => 1,1,Proceeding()\n"
				      " same => n,SetCallerPres(prohib_passed_screen)\n"
				      " same => n,Set(A=${CALLERPRES()})\n"
				      " same => n,SetCallerPres(nonsense)\n"
				      " same => n,Set(B=${CALLERPRES()})\n"
				      " same => n,Hangup()\n",
				      &diags);
	struct pbx_chan *ch = chan(dp, "1", "0312345678");
	struct pbx_action act;

	(void)state;
	assert_int_equal(diags.count, 0);
	run_expect(ch, PBX_ACT_HANGUP, &act);
	assert_string_equal(pbx_chan_get_var(ch, "A"), "prohib_passed_screen");
	assert_string_equal(pbx_chan_get_var(ch, "B"), "prohib_passed_screen");
	pbx_chan_free(ch);
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

/* ReadExten: the prompt once, then a digit at a time until no longer extension can match; OK
 * with the extension, INVALID, TIMEOUT; the context argument. */
static void test_readexten(void **state)
{
	struct conf_diags diags = {0};
	struct dialplan *dp = load_ok("[m]\n"
				      "exten => 1,1,ReadExten(X,menu,ivr)\n"
				      " same => n,Set(R=${READEXTENSTATUS}|${X})\n"
				      " same => n,Hangup()\n"
				      "exten => 2,1,ReadExten(X,,,n,3)\n"
				      " same => n,Set(R=${READEXTENSTATUS}|${X})\n"
				      " same => n,Hangup()\n"
				      "[ivr]\n"
				      "exten => 12,1,NoOp()\n"
				      "exten => 123,1,NoOp()\n"
				      "exten => 5,1,NoOp()\n",
				      &diags);
	struct pbx_chan *ch;
	struct pbx_action act;
	static const struct {
		const char *exten, *keys, *result;
	} cases[] = {
	    {"1", "5", "OK|5"},		/* nothing longer: at once */
	    {"1", "123", "OK|123"},	/* 12 could grow; 123 cannot */
	    {"1", "12.", "OK|12"},	/* a pause after 12 */
	    {"1", "9", "INVALID|9"},	/* nothing in ivr starts with 9 */
	    {"1", "1#", "INVALID|1"},	/* '#' after 1 */
	    {"1", ".", "TIMEOUT|"},	/* nothing keyed */
	    {"2", "2", "OK|2"},		/* the current context; no prompt; n: not answered */
	};

	(void)state;
	assert_int_equal(diags.count, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ch = chan(dp, cases[i].exten, "");
		run_expect(ch, PBX_ACT_PLAY, &act);
		if (cases[i].exten[0] == '1') {
			assert_int_equal(act.media.nfiles, 1);
			assert_string_equal(act.media.files[0], "menu");
			assert_true(act.media.answer);
		} else {
			assert_int_equal(act.media.nfiles, 0);
			assert_false(act.media.answer);
			assert_int_equal(act.media.timeout_ms, 3000);
		}
		for (const char *k = cases[i].keys; *k; k++) {
			char one[2] = {*k, 0};

			if (k != cases[i].keys) {
				run_expect(ch, PBX_ACT_PLAY, &act);
				assert_int_equal(act.media.nfiles, 0); /* the prompt only once */
			}
			if (*k == '.')
				assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_TIMEOUT, ""), 0);
			else if (*k == '#')
				assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_OK, ""), 0);
			else
				assert_int_equal(pbx_chan_media_done(ch, PBX_MEDIA_DIGITS, one), 0);
		}
		run_expect(ch, PBX_ACT_HANGUP, &act);
		assert_string_equal(pbx_chan_get_var(ch, "R"), cases[i].result);
		pbx_chan_free(ch);
	}
	dialplan_free(dp);
	conf_diags_reset(&diags);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_privacy_number_present),
	    cmocka_unit_test(test_privacy_asks),
	    cmocka_unit_test(test_privacy_fails),
	    cmocka_unit_test(test_zapateller_and_say),
	    cmocka_unit_test(test_say_alpha_files),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_disa),
	    cmocka_unit_test(test_disa_check),
	    cmocka_unit_test(test_say_time),
	    cmocka_unit_test(test_say_time_app),
	    cmocka_unit_test(test_small_apps),
	    cmocka_unit_test(test_setcallerpres),
	    cmocka_unit_test(test_readexten),
	};

	log_set_level(LOG_NONE);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
