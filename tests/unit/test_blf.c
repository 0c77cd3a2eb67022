/* test_blf: busy-lamp states (a device from its registration and calls, a hint's devices combined
 * as Asterisk does, the words of `core show hints`) and the dialog-info and PIDF bodies (states,
 * version, escaping). The SUBSCRIBE/NOTIFY exchange is in tests/e2e/blf.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <errno.h>
#include <string.h>

#include "blf.h"
#include "call.h"

#define R CALL_PEER_RINGING
#define U CALL_PEER_INUSE
#define H CALL_PEER_ONHOLD

static void test_device_state(void **state)
{
	static const struct {
		bool known, reachable;
		unsigned busy;
		enum blf_devstate want;
	} cases[] = {
	    {false, true, 0, BLF_DEV_INVALID},
	    {true, false, 0, BLF_DEV_UNAVAILABLE},
	    {true, true, 0, BLF_DEV_NOT_INUSE},
	    {true, true, R, BLF_DEV_RINGING},
	    {true, true, U, BLF_DEV_INUSE},
	    {true, true, U | R, BLF_DEV_RINGINUSE},
	    {true, true, U | H, BLF_DEV_ONHOLD},
	    {true, false, U, BLF_DEV_INUSE}, /* a call counts while its binding is renewed */
	    {true, false, R, BLF_DEV_RINGING},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (blf_device_state(cases[i].known, cases[i].reachable, cases[i].busy) !=
		    cases[i].want)
			fail_msg("case %zu", i);
	}
}

static void test_aggregate(void **state)
{
#define N  BLF_DEV_NOT_INUSE
#define I  BLF_DEV_INUSE
#define X  BLF_DEV_UNAVAILABLE
#define V  BLF_DEV_INVALID
#define G  BLF_DEV_RINGING
#define GI BLF_DEV_RINGINUSE
#define O  BLF_DEV_ONHOLD
	static const struct {
		enum blf_devstate d[3];
		size_t n;
		const char *want;
	} cases[] = {
	    {{N}, 1, "Idle"},
	    {{X}, 1, "Unavailable"},
	    {{V}, 1, "Unavailable"},
	    {{BLF_DEV_UNKNOWN}, 0, "Unavailable"},
	    {{I}, 1, "InUse"},
	    {{G}, 1, "Ringing"},
	    {{GI}, 1, "InUse&Ringing"},
	    {{O}, 1, "Hold"},
	    {{N, X}, 2, "Idle"}, /* one phone of two is there */
	    {{X, V}, 2, "Unavailable"},
	    {{I, N}, 2, "InUse"},	  /* any in use */
	    {{I, G}, 2, "InUse&Ringing"}, /* in use at one, ringing at the other */
	    {{G, N, X}, 3, "Ringing"},
	    {{O, I}, 2, "InUse"},
	    {{O, N}, 2, "Hold"},
	    {{O, G}, 2, "Ringing"},
	    {{BLF_DEV_BUSY}, 1, "Busy"}, /* a custom device state */
	    {{BLF_DEV_BUSY, N}, 2, "Busy"},
	    {{BLF_DEV_UNKNOWN}, 1, "Idle"}, /* a custom state never set */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = blf_extstate_name(blf_aggregate(cases[i].d, cases[i].n));

		if (strcmp(got, cases[i].want))
			fail_msg("case %zu: %s, want %s", i, got, cases[i].want);
	}
	assert_string_equal(blf_extstate_name(BLF_EXT_BUSY), "Busy");
	assert_string_equal(blf_extstate_name(BLF_EXT_INUSE | BLF_EXT_ONHOLD), "InUse&Hold");
	assert_string_equal(blf_dialog_state(BLF_EXT_NOT_INUSE), "terminated");
	assert_string_equal(blf_dialog_state(BLF_EXT_UNAVAILABLE), "terminated");
	assert_string_equal(blf_dialog_state(BLF_EXT_RINGING), "early");
	assert_string_equal(blf_dialog_state(BLF_EXT_INUSE), "confirmed");
	assert_string_equal(blf_dialog_state(BLF_EXT_ONHOLD), "confirmed");
	assert_string_equal(blf_dialog_state(BLF_EXT_INUSE | BLF_EXT_RINGING), "confirmed");
}

/* notifyringing= and notifyhold= on what a watcher is sent. */
static void test_notified_state(void **state)
{
	static const struct {
		unsigned ext;
		enum peer_notifyringing ringing;
		bool hold;
		const char *want;
	} cases[] = {
	    {0, PEER_NOTIFYRINGING_YES, false, "Idle"},
	    {BLF_EXT_RINGING, PEER_NOTIFYRINGING_YES, false, "Ringing"},
	    {BLF_EXT_RINGING, PEER_NOTIFYRINGING_NO, false, "Idle"},
	    {BLF_EXT_RINGING, PEER_NOTIFYRINGING_NOTINUSE, false, "Ringing"},
	    {BLF_EXT_INUSE | BLF_EXT_RINGING, PEER_NOTIFYRINGING_YES, false, "InUse&Ringing"},
	    {BLF_EXT_INUSE | BLF_EXT_RINGING, PEER_NOTIFYRINGING_NO, false, "InUse"},
	    {BLF_EXT_INUSE | BLF_EXT_RINGING, PEER_NOTIFYRINGING_NOTINUSE, false, "InUse"},
	    {BLF_EXT_ONHOLD, PEER_NOTIFYRINGING_YES, false, "InUse"}, /* chan_sip's default */
	    {BLF_EXT_ONHOLD, PEER_NOTIFYRINGING_YES, true, "Hold"},
	    {BLF_EXT_UNAVAILABLE, PEER_NOTIFYRINGING_NO, false, "Unavailable"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = blf_extstate_name(
		    blf_notified_state(cases[i].ext, cases[i].ringing, cases[i].hold));

		if (strcmp(got, cases[i].want))
			fail_msg("case %zu: %s, want %s", i, got, cases[i].want);
	}
}

/* Asterisk's device state words, both ways (devstate change, DEVICE_STATE()). */
static void test_devstate_words(void **state)
{
	static const char *const words[] = {"UNKNOWN", "NOT_INUSE", "INUSE",
					    "BUSY",    "INVALID",   "UNAVAILABLE",
					    "RINGING", "RINGINUSE", "ONHOLD"};
	enum blf_devstate st;

	(void)state;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		assert_int_equal(blf_devstate_parse(words[i], &st), 0);
		assert_string_equal(blf_devstate_name(st), words[i]);
	}
	assert_int_equal(blf_devstate_parse("inuse", &st), 0);
	assert_int_equal(st, BLF_DEV_INUSE);
	assert_int_equal(blf_devstate_parse("SLEEPY", &st), EINVAL);
	assert_int_equal(blf_devstate_parse("", &st), EINVAL);
}

static char *body(struct mbuf *mb)
{
	mbuf_write(mb, "", 1);
	return (char *)mb->buf;
}

static void test_dialog_body(void **state)
{
	struct mbuf mb;
	char *s;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(blf_dialog_body(&mb, "sip:801@192.0.2.1", "801", 7, BLF_EXT_RINGING), 0);
	s = body(&mb);
	assert_non_null(strstr(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<dialog-info "
				  "xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"7\" "
				  "state=\"full\" entity=\"sip:801@192.0.2.1\">"));
	assert_non_null(strstr(s, "<dialog id=\"801\" direction=\"recipient\">\r\n"
				  "<state>early</state>\r\n</dialog>\r\n</dialog-info>\r\n"));
	mbuf_reset(&mb);
	mbuf_init(&mb);
	blf_dialog_body(&mb, "sip:a\"b<c>&'d@x", "8&0", 0, BLF_EXT_NOT_INUSE);
	s = body(&mb);
	assert_non_null(strstr(s, "entity=\"sip:a&quot;b&lt;c&gt;&amp;&apos;d@x\""));
	assert_non_null(strstr(s, "<dialog id=\"8&amp;0\">\r\n<state>terminated</state>"));
	assert_null(strstr(s, "direction"));
	mbuf_reset(&mb);
	mbuf_init(&mb);
	blf_dialog_body(&mb, "sip:801@x", "801", 2, BLF_EXT_INUSE);
	assert_non_null(strstr(body(&mb), "<state>confirmed</state>"));
	mbuf_reset(&mb);
}

/* notifycid=yes: a ringing lamp names the dialog and the caller (RFC 4235 order: state, local,
 * remote); a lamp that does not ring does not, even when given one. */
static void test_dialog_body_cid(void **state)
{
	const struct blf_ringing r = {"abc@192.0.2.1", "phone-tag", "our-tag", "0901234567",
				      "A & B"};
	const struct blf_ringing anon = {"c@h", "t1", "t2", "", ""};
	struct mbuf mb;
	char *s;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(
	    blf_dialog_body_cid(&mb, "sip:801@192.0.2.1", "801", 3, BLF_EXT_RINGING, &r), 0);
	s = body(&mb);
	assert_non_null(strstr(s, "<dialog id=\"801\" call-id=\"abc@192.0.2.1\" "
				  "local-tag=\"phone-tag\" remote-tag=\"our-tag\" "
				  "direction=\"recipient\">\r\n<state>early</state>\r\n"
				  "<local>\r\n<identity>sip:801@192.0.2.1</identity>\r\n"
				  "<target uri=\"sip:801@192.0.2.1\"/>\r\n</local>\r\n"
				  "<remote>\r\n<identity display=\"A &amp; B\">"
				  "sip:0901234567@192.0.2.1</identity>\r\n"
				  "<target uri=\"sip:0901234567@192.0.2.1\"/>\r\n</remote>\r\n"
				  "</dialog>\r\n</dialog-info>\r\n"));
	mbuf_reset(&mb);
	mbuf_init(&mb);
	blf_dialog_body_cid(&mb, "sip:801@x", "801", 4, BLF_EXT_INUSE, &r);
	s = body(&mb);
	assert_null(strstr(s, "call-id"));
	assert_null(strstr(s, "<remote>"));
	mbuf_reset(&mb);
	mbuf_init(&mb);
	blf_dialog_body_cid(&mb, "sip:801@x", "801", 5, BLF_EXT_RINGING, &anon);
	s = body(&mb);
	assert_non_null(strstr(s, "<identity>sip:anonymous@x</identity>"));
	mbuf_reset(&mb);
}

static void test_pidf_body(void **state)
{
	static const struct {
		unsigned ext;
		const char *basic, *note;
		bool phone;
	} cases[] = {
	    {BLF_EXT_NOT_INUSE, "open", "Ready", false},
	    {BLF_EXT_UNAVAILABLE, "closed", "Unavailable", false},
	    {BLF_EXT_INUSE, "open", "On the phone", true},
	    {BLF_EXT_RINGING, "open", "Ringing", true},
	    {BLF_EXT_ONHOLD, "open", "On hold", true},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mbuf mb;
		char want[80], *s;

		mbuf_init(&mb);
		assert_int_equal(blf_pidf_body(&mb, "sip:801@192.0.2.1", "801", cases[i].ext), 0);
		s = body(&mb);
		assert_non_null(strstr(s, "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\""));
		assert_non_null(strstr(s, "entity=\"sip:801@192.0.2.1\">"));
		assert_non_null(strstr(s, "<tuple id=\"801\">"));
		snprintf(want, sizeof(want), "<status><basic>%s</basic></status>", cases[i].basic);
		assert_non_null(strstr(s, want));
		snprintf(want, sizeof(want), "<note>%s</note>", cases[i].note);
		assert_non_null(strstr(s, want));
		assert_true(!!strstr(s, "<rpid:on-the-phone/>") == cases[i].phone);
		assert_non_null(strstr(s, "</presence>\r\n"));
		mbuf_reset(&mb);
	}
}

static void test_xml_escape(void **state)
{
	struct mbuf mb;

	(void)state;
	mbuf_init(&mb);
	blf_xml_escape(&mb, "a<b>&\"'\x01\tz");
	assert_string_equal(body(&mb), "a&lt;b&gt;&amp;&quot;&apos;\tz");
	mbuf_reset(&mb);
	mbuf_init(&mb);
	blf_xml_escape(&mb, NULL);
	assert_int_equal(mb.end, 0);
	mbuf_reset(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_device_state), cmocka_unit_test(test_aggregate),
	    cmocka_unit_test(test_dialog_body),	 cmocka_unit_test(test_pidf_body),
	    cmocka_unit_test(test_xml_escape),	 cmocka_unit_test(test_devstate_words),
	    cmocka_unit_test(test_notified_state),
	    cmocka_unit_test(test_dialog_body_cid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
