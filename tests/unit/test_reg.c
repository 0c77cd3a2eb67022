/* test_reg: the registration module's pure parts: digest vectors from RFC 2617 and RFC 7616 (MD5
 * and SHA-256), the credentials syntax, nonces on a given clock, the back-off schedule, the ban
 * window, the [registrar] settings, and the digest check the registrar and the call engine share
 * (challenge lines, which of several credentials is judged). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "reg_int.h"

/* ---------------------------------------------------------------------------------------------
 * Digest vectors.
 */
struct digest_vector {
	const char *name;
	enum reg_alg alg;
	const char *user, *realm, *password, *nonce, *nc, *cnonce, *qop, *method, *uri;
	const char *ha1; /* NULL: not checked */
	const char *response;
};

static const struct digest_vector vectors[] = {
    /* RFC 2617 §3.5 */
    {"rfc2617", REG_DIGEST_MD5, "Mufasa", "testrealm@host.com", "Circle Of Life",
     "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b", "auth", "GET", "/dir/index.html",
     "939e7578ed9e3c518a452acee763bce9", "6629fae49393a05397450978507c4ef1"},
    /* RFC 7616 §3.9.1, MD5 */
    {"rfc7616-md5", REG_DIGEST_MD5, "Mufasa", "http-auth@example.org", "Circle of Life",
     "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
     "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", "GET", "/dir/index.html", NULL,
     "8ca523f5e9506fed4657c9700eebdbec"},
    /* RFC 7616 §3.9.1, SHA-256 */
    {"rfc7616-sha256", REG_DIGEST_SHA256, "Mufasa", "http-auth@example.org", "Circle of Life",
     "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
     "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", "GET", "/dir/index.html", NULL,
     "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
};

static void test_digest_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		const struct digest_vector *v = &vectors[i];
		char ha1[REG_HASH_HEX_MAX], resp[REG_HASH_HEX_MAX];
		struct pl u = pl_from_str(v->user), r = pl_from_str(v->realm);
		struct pl pw = pl_from_str(v->password), n = pl_from_str(v->nonce);
		struct pl nc = pl_from_str(v->nc), cn = pl_from_str(v->cnonce);
		struct pl q = pl_from_str(v->qop), m = pl_from_str(v->method);
		struct pl uri = pl_from_str(v->uri);

		reg_digest_ha1(v->alg, &u, &r, &pw, ha1);
		if (v->ha1)
			assert_string_equal(ha1, v->ha1);
		assert_int_equal(strlen(ha1), reg_digest_hexlen(v->alg));
		reg_digest_response(v->alg, ha1, &n, &nc, &cn, &q, &m, &uri, resp);
		if (strcmp(resp, v->response))
			fail_msg("%s: got %s", v->name, resp);
	}
}

static void test_digest_rfc2069(void **state)
{
	/* Without qop: H(HA1:nonce:HA2) (RFC 2617 §3.2.2.1, the RFC 2069 form). */
	char ha1[REG_HASH_HEX_MAX], resp[REG_HASH_HEX_MAX], expect[REG_HASH_HEX_MAX],
	    ha2[REG_HASH_HEX_MAX];
	struct pl u = PL("u"), r = PL("r"), pw = PL("p"), n = PL("abc"), none = PL_INIT;
	struct pl m = PL("REGISTER"), uri = PL("sip:x");

	(void)state;
	reg_digest_ha1(REG_DIGEST_MD5, &u, &r, &pw, ha1);
	reg_digest_response(REG_DIGEST_MD5, ha1, &n, &none, &none, &none, &m, &uri, resp);
	{
		struct pl a2[2] = {m, uri};
		reg_digest_hash(REG_DIGEST_MD5, a2, 2, ha2);
	}
	{
		struct pl p[3] = {pl_from_str(ha1), n, pl_from_str(ha2)};
		reg_digest_hash(REG_DIGEST_MD5, p, 3, expect);
	}
	assert_string_equal(resp, expect);
}

/* ---------------------------------------------------------------------------------------------
 * Credentials syntax.
 */
static void test_auth_parse_ok(void **state)
{
	struct reg_auth a;
	struct pl v = PL("Digest username=\"801\",realm=\"mikaka\", nonce=\"abc, def\" ,uri=\"sip:"
			 "127.0.0.1\",\r\n response=\"0123\", algorithm=SHA-256, qop=auth, "
			 "nc=00000001, cnonce=\"xyz\", opaque=\"\", unknown=whatever");

	(void)state;
	assert_int_equal(reg_auth_parse(&a, &v), 0);
	assert_true(pl_eq_str(&a.username, "801"));
	assert_true(pl_eq_str(&a.realm, "mikaka"));
	assert_true(pl_eq_str(&a.nonce, "abc, def"));
	assert_true(pl_eq_str(&a.uri, "sip:127.0.0.1"));
	assert_true(pl_eq_str(&a.algorithm, "SHA-256"));
	assert_true(pl_eq_str(&a.qop, "auth"));
	assert_true(pl_eq_str(&a.nc, "00000001"));
	assert_true(pl_eq_str(&a.cnonce, "xyz"));
	assert_true(pl_isset(&a.opaque));
	assert_int_equal(a.opaque.l, 0);
	assert_false(pl_isset(&a.stale));
}

/* Every parameter name, in any case, lands in its own slot; names of the same length that are
 * not ours (or one letter off) are skipped. */
static void test_auth_parse_every_name(void **state)
{
	struct pl v = PL("Digest NC=1, URI=2, Qop=3, realM=4, Nonce=5, stalE=6, CNONCE=7, "
			 "opaque=8, Domain=9, UserName=10, RESPONSE=11, Algorithm=12, ur=x, "
			 "urj=x, nonc=x, nonces=x, usernamex=x, algorithms=x, n=x, xc=x, qo=x");
	struct reg_auth a;

	(void)state;
	assert_int_equal(reg_auth_parse(&a, &v), 0);
	assert_true(pl_eq_str(&a.nc, "1"));
	assert_true(pl_eq_str(&a.uri, "2"));
	assert_true(pl_eq_str(&a.qop, "3"));
	assert_true(pl_eq_str(&a.realm, "4"));
	assert_true(pl_eq_str(&a.nonce, "5"));
	assert_true(pl_eq_str(&a.stale, "6"));
	assert_true(pl_eq_str(&a.cnonce, "7"));
	assert_true(pl_eq_str(&a.opaque, "8"));
	assert_true(pl_eq_str(&a.domain, "9"));
	assert_true(pl_eq_str(&a.username, "10"));
	assert_true(pl_eq_str(&a.response, "11"));
	assert_true(pl_eq_str(&a.algorithm, "12"));
}

static void test_auth_parse_bad(void **state)
{
	static const struct {
		const char *text;
		int err;
	} cases[] = {
	    {"Basic dXNlcjpwYXNz", EPROTO},
	    {"Digestusername=\"a\"", EPROTO},
	    {"Digest username=\"a\", username=\"b\"", EBADMSG}, /* duplicated */
	    {"Digest nonce=\"a\", NONCE=\"b\"", EBADMSG},	/* duplicated, any case */
	    {"Digest username=\"a", EBADMSG},			/* unterminated */
	    {"Digest username", EBADMSG},			/* no value */
	    {"Digest username=", EBADMSG},			/* empty token */
	    {"Digest =\"a\"", EBADMSG},				/* no name */
	    {"Digest username=\"a\" realm=\"b\"", EBADMSG},	/* no comma */
	};
	struct reg_auth a;
	char big[12000];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pl v = pl_from_str(cases[i].text);

		if (reg_auth_parse(&a, &v) != cases[i].err)
			fail_msg("case %zu: %s", i, cases[i].text);
	}
	/* A 10 KB nonce. */
	memcpy(big, "Digest nonce=\"", 14);
	memset(big + 14, 'a', 10240);
	memcpy(big + 14 + 10240, "\"", 2);
	{
		struct pl v = pl_from_str(big);
		assert_int_equal(reg_auth_parse(&a, &v), EBADMSG);
	}
	/* Algorithms. */
	{
		enum reg_alg alg;
		struct pl md5 = PL("md5"), sha = PL("SHA-256"), sess = PL("MD5-sess"),
			  none = PL_INIT;

		assert_int_equal(reg_alg_from(&md5, &alg), 0);
		assert_int_equal(alg, REG_DIGEST_MD5);
		assert_int_equal(reg_alg_from(&sha, &alg), 0);
		assert_int_equal(alg, REG_DIGEST_SHA256);
		assert_int_equal(reg_alg_from(&none, &alg), 0);
		assert_int_equal(alg, REG_DIGEST_MD5);
		assert_int_equal(reg_alg_from(&sess, &alg), EINVAL);
	}
}

/* ---------------------------------------------------------------------------------------------
 * Nonces.
 */
static void test_nonce(void **state)
{
	struct reg_nonce_key k, other;
	char n1[REG_NONCE_LEN + 1], n2[REG_NONCE_LEN + 1];
	uint64_t tag1 = 0, tag2 = 0;
	struct pl p1, p2;

	(void)state;
	reg_nonce_key_init(&k);
	reg_nonce_key_init(&other);
	reg_nonce_make(&k, 1000000, n1);
	reg_nonce_make(&k, 1000000, n2);
	assert_int_equal(strlen(n1), REG_NONCE_LEN);
	assert_string_not_equal(n1, n2); /* same millisecond, still different */
	p1 = pl_from_str(n1);
	p2 = pl_from_str(n2);
	assert_int_equal(reg_nonce_check(&k, &p1, 1000000, 30000, &tag1), REG_NONCE_OK);
	assert_int_equal(reg_nonce_check(&k, &p2, 1000000, 30000, &tag2), REG_NONCE_OK);
	assert_true(tag1 != tag2);
	/* Valid until the lifetime has passed, stale after. */
	assert_int_equal(reg_nonce_check(&k, &p1, 1030000, 30000, NULL), REG_NONCE_OK);
	assert_int_equal(reg_nonce_check(&k, &p1, 1030001, 30000, NULL), REG_NONCE_STALE);
	/* Another process's key (a restart): not ours. */
	assert_int_equal(reg_nonce_check(&other, &p1, 1000000, 30000, NULL), REG_NONCE_BAD);
	/* Tampered: one hex digit of the time changed. */
	n1[5] = n1[5] == '0' ? '1' : '0';
	assert_int_equal(reg_nonce_check(&k, &p1, 1000000, 30000, NULL), REG_NONCE_BAD);
	/* Wrong length, not hex. */
	p1.l--;
	assert_int_equal(reg_nonce_check(&k, &p1, 1000000, 30000, NULL), REG_NONCE_BAD);
	memset(n2, 'z', REG_NONCE_LEN);
	assert_int_equal(reg_nonce_check(&k, &p2, 1000000, 30000, NULL), REG_NONCE_BAD);
}

/* ---------------------------------------------------------------------------------------------
 * Back-off and refresh.
 */
static void test_backoff_schedule(void **state)
{
	static const uint32_t expect[] = {30, 60, 120, 240, 480, 960, 1800, 1800, 1800};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(expect); i++) {
		uint32_t lo = reg_backoff_delay(30, 1800, i + 1, 0);
		uint32_t hi = reg_backoff_delay(30, 1800, i + 1, UINT32_MAX);

		assert_int_equal(lo, expect[i]);
		assert_true(hi >= lo);
		assert_true(hi <= expect[i] + expect[i] / 4);
		assert_true(hi <= 1800);
	}
	/* Jitter really varies with the random input. */
	assert_true(reg_backoff_delay(30, 1800, 3, UINT32_MAX / 2) > 120);
	/* A huge failure count does not overflow. */
	assert_int_equal(reg_backoff_delay(30, 1800, 1000, 0), 1800);
	/* Refresh before half the grant. */
	assert_true(reg_refresh_delay_ms(3600) < 1800000);
	assert_true(reg_refresh_delay_ms(3600) > 1500000);
	assert_true(reg_refresh_delay_ms(10) < 5000);
	assert_int_equal(reg_refresh_delay_ms(0), 500);
}

/* ---------------------------------------------------------------------------------------------
 * Ban.
 */
static void test_ban_window(void **state)
{
	struct reg_bans b;
	struct sa a, other, v6;
	uint64_t t = 5000000;

	(void)state;
	sa_set_str(&a, "192.0.2.7", 5060);
	sa_set_str(&other, "192.0.2.8", 5060);
	sa_set_str(&v6, "2001:db8::7", 5060);
	assert_int_equal(reg_bans_init(&b, 10, 60, 900, 4), 0);

	/* Nine failures in the window: not banned. */
	for (int i = 0; i < 9; i++)
		assert_false(reg_bans_fail(&b, &a, t + (uint64_t)i * 1000));
	assert_false(reg_bans_banned(&b, &a, t + 9000));
	/* The tenth within 60 s bans, for 900 s; another address is not affected. */
	assert_true(reg_bans_fail(&b, &a, t + 59000));
	assert_true(reg_bans_banned(&b, &a, t + 59000));
	assert_false(reg_bans_banned(&b, &other, t + 59000));
	assert_true(reg_bans_banned(&b, &a, t + 59000 + 899999));
	assert_false(reg_bans_banned(&b, &a, t + 59000 + 900000));
	/* Failures while banned do not extend it (nor start a second ban). */
	assert_false(reg_bans_fail(&b, &a, t + 60000));
	assert_int_equal(b.banned_total, 1);

	/* Failures spread over more than the window never ban. */
	for (int i = 0; i < 30; i++)
		assert_false(reg_bans_fail(&b, &other, t + (uint64_t)i * 7000));
	assert_false(reg_bans_banned(&b, &other, t + 30 * 7000));

	/* unban */
	for (int i = 0; i < 10; i++)
		reg_bans_fail(&b, &v6, t);
	assert_true(reg_bans_banned(&b, &v6, t));
	assert_int_equal(reg_bans_remove(&b, &v6), 0);
	assert_false(reg_bans_banned(&b, &v6, t));
	assert_int_equal(reg_bans_remove(&b, &v6), ENOENT);

	/* The table is bounded: 4 entries at most, the least recently touched goes. */
	for (int i = 0; i < 100; i++) {
		struct sa x;
		char ip[32];

		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		sa_set_str(&x, ip, 0);
		reg_bans_fail(&b, &x, t);
		assert_true(reg_bans_count(&b) <= 4);
	}
	/* Purge drops entries whose window is over. */
	reg_bans_purge(&b, t + 3600000);
	assert_int_equal(reg_bans_count(&b), 0);
	reg_bans_reset(&b);
}

static void test_ban_off(void **state)
{
	struct reg_bans b;
	struct sa a;

	(void)state;
	sa_set_str(&a, "192.0.2.7", 5060);
	assert_int_equal(reg_bans_init(&b, 0, 60, 900, 16), 0);
	for (int i = 0; i < 100; i++)
		assert_false(reg_bans_fail(&b, &a, 1000));
	assert_false(reg_bans_banned(&b, &a, 1000));
	reg_bans_reset(&b);
}

/* ---------------------------------------------------------------------------------------------
 * Settings.
 */
static void test_settings(void **state)
{
	struct conf_diags diags = {0};
	struct reg_settings set;
	struct conf *conf = NULL;

	(void)state;
	assert_int_equal(reg_settings_load(&set, NULL, &diags), 0);
	assert_int_equal(set.ban_failures, 10);
	assert_int_equal(set.ban_window, 60);
	assert_int_equal(set.ban_time, 900);
	/* MD5 only by default (Debian 12's baresip, Twinkle); SHA-256 is an opt-in. */
	assert_int_equal(set.digest.algorithms, REG_ALG_MD5);
	assert_false(set.digest.sha256_first);
	assert_int_equal(set.digest.nonce_lifetime, 300);
	assert_int_equal(set.backoff_min, 30);
	assert_int_equal(set.backoff_max, 1800);

	assert_int_equal(
	    conf_load_string(&conf, "mikaka.conf",
			     "[registrar]\nban_failures=3\nban_window=10\nban_time=20\n"
			     "digest_algorithms=sha-256, md5\nline_number=0312345678\n"
			     "register_backoff_min=1\n",
			     &diags),
	    0);
	assert_int_equal(reg_settings_load(&set, conf, &diags), 0);
	assert_int_equal(set.ban_failures, 3);
	assert_int_equal(set.ban_window, 10);
	assert_int_equal(set.ban_time, 20);
	assert_int_equal(set.digest.algorithms, REG_ALG_MD5 | REG_ALG_SHA256);
	assert_true(set.digest.sha256_first);
	assert_string_equal(set.line_number, "0312345678");
	assert_int_equal(set.backoff_min, 1);
	conf_free(conf);
	conf = NULL;

	assert_int_equal(conf_load_string(&conf, "mikaka.conf",
					  "[registrar]\nban_failures=-1\ndigest_algorithms=sha-1\n"
					  "line_number=210VALUE\nfoo=bar\n",
					  &diags),
			 0);
	assert_int_equal(reg_settings_load(&set, conf, &diags), EINVAL);
	assert_int_equal(diags.errors, 3);
	conf_free(conf);
	conf_diags_reset(&diags);
}

/* ---------------------------------------------------------------------------------------------
 * The shared digest check (reg_digest_challenge / reg_digest_verify).
 */
#define DG_NOW 1000000u

static const struct peer dg_peer = {.name = "801", .secret = "pw801", .context = "phones"};
static const struct peer dg_md5only = {
    .name = "802",
    /* md5("802:mikaka:pw802") is not needed: only the offer is checked with it */
    .md5secret = "00000000000000000000000000000000",
    .context = "phones"};

/* Credentials of alg for an INVITE to sip:700@mikaka with the given nonce; wrong: a response
 * made with another password. */
static void dg_auth(char *out, size_t size, const char *hname, enum reg_alg alg, const char *nonce,
		    bool wrong)
{
	char ha1[REG_HASH_HEX_MAX], resp[REG_HASH_HEX_MAX];
	struct pl u = PL("801"), r = PL("mikaka"), pw = wrong ? PL("nope") : PL("pw801");
	struct pl n = pl_from_str(nonce), nc = PL("00000001"), cn = PL("abc"), q = PL("auth");
	struct pl m = PL("INVITE"), uri = PL("sip:700@mikaka");

	reg_digest_ha1(alg, &u, &r, &pw, ha1);
	reg_digest_response(alg, ha1, &n, &nc, &cn, &q, &m, &uri, resp);
	snprintf(out, size,
		 "%s: Digest username=\"801\", realm=\"mikaka\", nonce=\"%s\", "
		 "uri=\"sip:700@mikaka\", response=\"%s\", algorithm=%s, qop=auth, "
		 "nc=00000001, cnonce=\"abc\"\r\n",
		 hname, nonce, resp, reg_digest_name(alg));
}

static struct sip_msg *dg_invite(const char *auth_lines)
{
	char text[4096];
	struct sip_msg *msg = NULL;
	struct sip_parse_error perr;
	size_t used;

	snprintf(text, sizeof(text),
		 "INVITE sip:700@mikaka SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-dg\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:801@mikaka>;tag=a\r\n"
		 "To: <sip:700@mikaka>\r\n"
		 "Call-ID: dg-1\r\n"
		 "CSeq: 2 INVITE\r\n"
		 "%s"
		 "Content-Length: 0\r\n\r\n",
		 auth_lines);
	assert_int_equal(sip_msg_parse(&msg, text, strlen(text), true, &used, &perr), 0);
	return msg;
}

static unsigned count_lines(const char *s, const char *needle)
{
	unsigned n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_digest_challenge_offer(void **state)
{
	struct reg_settings set;
	struct reg_nonce_key key;
	struct reg_digest_ctx dc;
	struct mbuf mb;
	const char *text;

	(void)state;
	reg_settings_default(&set);
	reg_nonce_key_init(&key);
	dc = (struct reg_digest_ctx){
	    .realm = "mikaka", .set = &set.digest, .key = &key, .now_ms = DG_NOW};

	/* Default: one challenge, MD5 (a SHA-256 one makes Debian 12's baresip give up, and
	 * Twinkle keeps only the last one). */
	mbuf_init(&mb);
	assert_int_equal(reg_digest_challenge(&dc, &dg_peer, false, "WWW-Authenticate", &mb), 0);
	mbuf_write(&mb, "", 1);
	text = (const char *)mb.buf;
	assert_int_equal(count_lines(text, "WWW-Authenticate: Digest "), 1);
	assert_non_null(strstr(text, "algorithm=MD5, qop=\"auth\""));
	assert_null(strstr(text, "SHA-256"));
	assert_null(strstr(text, "stale"));
	mbuf_reset(&mb);

	/* Opt-in, in the order written: SHA-256 then MD5, one nonce, stale on both. */
	set.digest.algorithms = REG_ALG_MD5 | REG_ALG_SHA256;
	set.digest.sha256_first = true;
	mbuf_init(&mb);
	assert_int_equal(reg_digest_challenge(&dc, &dg_peer, true, "Proxy-Authenticate", &mb), 0);
	mbuf_write(&mb, "", 1);
	text = (const char *)mb.buf;
	assert_int_equal(count_lines(text, "Proxy-Authenticate: Digest "), 2);
	assert_true(strstr(text, "algorithm=SHA-256") < strstr(text, "algorithm=MD5"));
	assert_int_equal(count_lines(text, "stale=true"), 2);
	mbuf_reset(&mb);

	/* md5secret only: MD5 alone whatever is configured. */
	assert_int_equal(reg_digest_offer(&set.digest, &dg_md5only), REG_ALG_MD5);
	assert_int_equal(reg_digest_offer(&set.digest, &dg_peer), REG_ALG_MD5 | REG_ALG_SHA256);
	assert_int_equal(reg_digest_offer(&set.digest, NULL), REG_ALG_MD5 | REG_ALG_SHA256);
}

static enum reg_digest_verdict dg_verify(const struct reg_digest_ctx *dc, const char *lines,
					 struct reg_digest_result *res)
{
	struct sip_msg *m = dg_invite(lines);
	enum reg_digest_verdict v = reg_digest_verify(dc, m, &dg_peer, res);

	mem_deref(m);
	return v;
}

static void test_digest_verify_credentials(void **state)
{
	struct reg_settings set;
	struct reg_nonce_key key;
	struct reg_digest_ctx dc;
	struct reg_digest_result res;
	char nonce[REG_NONCE_LEN + 1], a1[1024], a2[1024], lines[2100];

	(void)state;
	reg_settings_default(&set);
	reg_nonce_key_init(&key);
	reg_nonce_make(&key, DG_NOW, nonce);
	dc = (struct reg_digest_ctx){
	    .realm = "mikaka", .set = &set.digest, .key = &key, .now_ms = DG_NOW + 1000};

	/* None for our realm: challenge. */
	assert_int_equal(dg_verify(&dc, "", NULL), REG_DIGEST_NONE);
	assert_int_equal(dg_verify(&dc,
				   "Authorization: Digest username=\"801\", realm=\"other\", "
				   "nonce=\"x\", uri=\"sip:a\", response=\"0\"\r\n",
				   NULL),
			 REG_DIGEST_NONE);

	/* liblinphone: SHA-256 credentials then MD5 ones. With the default (MD5 only) the
	 * SHA-256 ones are skipped, the MD5 ones judged (before: 400 for two credentials). */
	dg_auth(a1, sizeof(a1), "Authorization", REG_DIGEST_SHA256, nonce, true);
	dg_auth(a2, sizeof(a2), "Authorization", REG_DIGEST_MD5, nonce, false);
	snprintf(lines, sizeof(lines), "%s%s", a1, a2);
	assert_int_equal(dg_verify(&dc, lines, &res), REG_DIGEST_OK);
	assert_int_equal(res.alg, REG_DIGEST_MD5);
	assert_int_equal(res.nc, 1);

	/* Both offered: the first one in an offered algorithm is judged, here the (wrong)
	 * SHA-256 one, even though the MD5 one after it is right. */
	set.digest.algorithms = REG_ALG_MD5 | REG_ALG_SHA256;
	assert_int_equal(dg_verify(&dc, lines, NULL), REG_DIGEST_FAIL);
	dg_auth(a1, sizeof(a1), "Authorization", REG_DIGEST_SHA256, nonce, false);
	dg_auth(a2, sizeof(a2), "Authorization", REG_DIGEST_MD5, nonce, true);
	snprintf(lines, sizeof(lines), "%s%s", a1, a2);
	assert_int_equal(dg_verify(&dc, lines, &res), REG_DIGEST_OK);
	assert_int_equal(res.alg, REG_DIGEST_SHA256);

	/* Proxy-Authorization counts as well (an INVITE after a 407 elsewhere). */
	dg_auth(a1, sizeof(a1), "Proxy-Authorization", REG_DIGEST_MD5, nonce, false);
	assert_int_equal(dg_verify(&dc, a1, &res), REG_DIGEST_OK);

	/* Only SHA-256 credentials while SHA-256 is not offered: 400. */
	set.digest.algorithms = REG_ALG_MD5;
	dg_auth(a1, sizeof(a1), "Authorization", REG_DIGEST_SHA256, nonce, false);
	assert_int_equal(dg_verify(&dc, a1, NULL), REG_DIGEST_BAD);

	/* No qop (RFC 2069 form) while qop="auth" was asked for: 400, for INVITEs as for
	 * REGISTERs. */
	assert_int_equal(dg_verify(&dc,
				   "Authorization: Digest username=\"801\", realm=\"mikaka\", "
				   "nonce=\"x\", uri=\"sip:700@mikaka\", response=\"0\"\r\n",
				   NULL),
			 REG_DIGEST_BAD);

	/* Right password, old nonce: stale. */
	dg_auth(a1, sizeof(a1), "Authorization", REG_DIGEST_MD5, nonce, false);
	dc.now_ms = DG_NOW + 301000;
	assert_int_equal(dg_verify(&dc, a1, NULL), REG_DIGEST_STALE);
}

/* ---------------------------------------------------------------------------------------------
 * The line decision (lineid.c) across the forms of sip.conf that name the line.
 */
#define NUM "0312345678"
#define DOM "ntt-east.ne.jp"
#define SRV "192.0.2.1"

/* A fake resolver: NAME=ADDR[,ADDR...] pairs separated by spaces. */
static int fake_resolve(const char *host, struct sa *out, size_t max, void *arg)
{
	const char *table = arg;
	char buf[512], *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", table ? table : "");
	for (char *e = strtok_r(buf, " ", &save); e; e = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(e, '='), *s2 = NULL;

		if (!eq)
			continue;
		*eq = '\0';
		if (strcasecmp(e, host))
			continue;
		for (char *a = strtok_r(eq + 1, ",", &s2); a && (size_t)n < max;
		     a = strtok_r(NULL, ",", &s2))
			assert_int_equal(sa_set_str(&out[n++], a, 0), 0);
		return n;
	}
	return -ENOENT;
}

struct decided {
	struct sipcfg *cfg;
	struct reg_line_view v;
	struct conf_diags diags;
	char text[4096]; /* the diagnostics, formatted */
};

/* Loads sip.conf text and decides, with the resolver table (NULL: no resolver) and, when
 * found_server is set, a discovered line (found_server, DOM, NUM, our address 203.0.113.6). */
static void decide(struct decided *d, const char *sipconf, const char *table,
		   const char *found_server, const char *line_number)
{
	struct conf *conf = NULL;
	struct reg_settings set;
	struct reg_line_found f;

	memset(d, 0, sizeof(*d));
	assert_int_equal(conf_load_string(&conf, "sip.conf", sipconf, &d->diags), 0);
	if (sipcfg_load(&d->cfg, conf, &d->diags)) {
		conf_diags_print(&d->diags);
		fail();
	}
	conf_free(conf);
	conf_diags_reset(&d->diags);
	reg_settings_default(&set);
	if (line_number)
		snprintf(set.line_number, sizeof(set.line_number), "%s", line_number);
	memset(&f, 0, sizeof(f));
	if (found_server) {
		f.up = true;
		snprintf(f.numbers[0], sizeof(f.numbers[0]), NUM);
		f.nnumbers = 1;
		snprintf(f.domain, sizeof(f.domain), DOM);
		assert_int_equal(sa_set_str(&f.server, found_server, 5060), 0);
		assert_int_equal(sa_set_str(&f.local, "203.0.113.6", 0), 0);
	}
	assert_int_equal(reg_line_decide(&d->v, d->cfg, &set, &f, table ? fake_resolve : NULL,
					 (void *)table, &d->diags),
			 0);
	for (size_t i = 0; i < d->diags.count; i++) {
		char buf[600];

		conf_diag_format(&d->diags.items[i], buf, sizeof(buf));
		snprintf(d->text + strlen(d->text), sizeof(d->text) - strlen(d->text), "%s\n", buf);
	}
}

static void decided_free(struct decided *d)
{
	reg_line_view_reset(&d->v);
	conf_diags_reset(&d->diags);
	mem_deref(d->cfg);
}

static const struct reg_dest *dest(const struct decided *d, const char *peer)
{
	for (size_t i = 0; i < d->v.npeers; i++) {
		if (!strcmp(d->v.peers[i].name, peer))
			return &d->v.peers[i];
	}
	fail_msg("no peer %s", peer);
	return NULL;
}

/* The line, its server SRV:5060 (or `server`), domain DOM and (when `num`) number NUM, and
 * peer [gw] is it. */
static void assert_line(const struct decided *d, const char *server, bool num)
{
	char buf[SA_STRLEN];

	if (!d->v.line.known)
		fprintf(stderr, "diagnostics:\n%s", d->text);
	assert_true(d->v.line.known);
	assert_string_equal(sa_fmt(&d->v.line.server, buf, sizeof(buf)), server);
	assert_string_equal(d->v.line.domain, DOM);
	if (num) {
		assert_int_equal(d->v.line.nnumbers, 1);
		assert_string_equal(d->v.line.numbers[0], NUM);
	} else {
		assert_int_equal(d->v.line.nnumbers, 0);
	}
	assert_true(dest(d, "gw")->line);
	assert_false(dest(d, "801")->line);
	assert_string_equal(d->v.line.peer, "gw");
}

#define PHONE "[801]\ntype=friend\nhost=dynamic\nsecret=x\n"

static void test_line_post_forms(void **state)
{
	struct decided d;

	(void)state;
	/* The post: register by domain (resolved as the post's extra_hosts did), the peer by
	 * address. Without discovery. */
	decide(&d,
	       "[general]\nregister => " NUM "@" DOM "/" NUM "\n[gw]\ntype=peer\nhost=" SRV
	       "\n" PHONE,
	       DOM "=" SRV, NULL, NULL);
	assert_line(&d, SRV ":5060", true);
	assert_int_equal(d.v.line.reg_index, 0);
	assert_false(d.v.line.discovered);
	assert_string_equal(d.text, "");
	decided_free(&d);

	/* The same with the line discovered: no resolver needed. */
	decide(&d,
	       "[general]\nregister => " NUM "@" DOM "/" NUM "\n[gw]\ntype=peer\nhost=" SRV
	       "\n" PHONE,
	       NULL, SRV, NULL);
	assert_line(&d, SRV ":5060", true);
	assert_true(d.v.line.discovered);
	assert_int_equal(d.v.line.reg_index, 0);
	decided_free(&d);

	/* Register by address, the peer by domain (from discovery). */
	decide(&d,
	       "[general]\nregister => " NUM "@" SRV "/" NUM "\n[gw]\ntype=peer\nhost=" DOM
	       "\n" PHONE,
	       NULL, SRV, NULL);
	assert_line(&d, SRV ":5060", true);
	assert_int_equal(d.v.line.reg_index, 0);
	decided_free(&d);

	/* user@domain@host: the domain maps to the address without discovery or resolver, so a
	 * peer with host= the domain is the line too. */
	decide(&d,
	       "[general]\nregister => " NUM "@" DOM "@" SRV "/" NUM "\n[gw]\ntype=peer\nhost=" DOM
	       "\n" PHONE,
	       NULL, NULL, NULL);
	assert_line(&d, SRV ":5060", true);
	decided_free(&d);

	/* user@domain:secret:authuser@host:port/extension (a secret the line never asks for). */
	decide(&d,
	       "[general]\nregister => " NUM "@" DOM ":unused:" NUM "@" SRV ":5060/" NUM
	       "\n[gw]\ntype=peer\nhost=" DOM "\n" PHONE,
	       NULL, NULL, NULL);
	assert_line(&d, SRV ":5060", true);
	assert_int_equal(d.v.line.reg_index, 0);
	decided_free(&d);

	/* outboundproxy= and fromdomain=: requests go to the proxy, which is the server. */
	decide(&d,
	       "[general]\nregister => " NUM "@" DOM "/" NUM "\n[gw]\ntype=peer\nhost=" DOM
	       "\noutboundproxy=sip:" SRV ":5060,force\nfromdomain=" DOM "\n" PHONE,
	       NULL, NULL, NULL);
	assert_line(&d, SRV ":5060", true);
	assert_true(dest(&d, "gw")->via_proxy);
	decided_free(&d);

	/* [general] outboundproxy: the registration goes there. */
	decide(&d,
	       "[general]\noutboundproxy=" SRV "\nregister => " NUM "@" DOM "/" NUM
	       "\n[gw]\ntype=peer\nhost=" SRV "\n" PHONE,
	       NULL, NULL, NULL);
	assert_line(&d, SRV ":5060", true);
	decided_free(&d);

	/* peer?user@domain: the named peer's address. */
	decide(&d,
	       "[general]\nregister => gw?" NUM "@" DOM "/" NUM "\n[gw]\ntype=peer\nhost=" SRV
	       "\n" PHONE,
	       NULL, NULL, NULL);
	assert_line(&d, SRV ":5060", true);
	decided_free(&d);

	/* The native configuration's [line], no register => at all. */
	decide(&d,
	       "[line]\ntype=peer\nhost=" SRV "\nfromdomain=" DOM "\nfromuser=" NUM
	       "\n[gw]\ntype=peer\nhost=" SRV "\n" PHONE,
	       NULL, NULL, NULL);
	assert_line(&d, SRV ":5060", true);
	assert_true(dest(&d, "line")->line);
	decided_free(&d);
}

static void test_line_210value(void **state)
{
	struct decided d;

	(void)state;
	/* The post's literal line: the firmware host as user and extension is not a number. */
	decide(&d,
	       "[general]\nregister => www.verinfo.hgw.flets-east.jp@" DOM
	       "/www.verinfo.hgw.flets-east.jp\n[gw]\ntype=peer\nhost=" SRV "\n" PHONE,
	       DOM "=" SRV, NULL, NULL);
	assert_line(&d, SRV ":5060", false);
	decided_free(&d);
	/* ... with [registrar] line_number, or discovered: the number. */
	decide(&d,
	       "[general]\nregister => www.verinfo.hgw.flets-east.jp@" DOM
	       "/www.verinfo.hgw.flets-east.jp\n[gw]\ntype=peer\nhost=" SRV "\n" PHONE,
	       DOM "=" SRV, NULL, NUM);
	assert_line(&d, SRV ":5060", true);
	decided_free(&d);
	decide(&d,
	       "[general]\nregister => www.verinfo.hgw.flets-east.jp@" DOM
	       "/www.verinfo.hgw.flets-east.jp\n[gw]\ntype=peer\nhost=" SRV "\n" PHONE,
	       NULL, SRV, NULL);
	assert_line(&d, SRV ":5060", true);
	decided_free(&d);
}

static void test_line_not_the_line(void **state)
{
	struct decided d;

	(void)state;
	/* An ITSP trunk with credentials is not the line (rport, its own From). */
	decide(&d,
	       "[general]\nregister => trunk@itsp.example:pw@198.51.100.7\n[gw]\ntype=peer\n"
	       "host=198.51.100.7\n" PHONE,
	       NULL, NULL, NULL);
	assert_false(d.v.line.known);
	assert_false(dest(&d, "gw")->line);
	assert_int_equal(d.v.line.reg_index, -1);
	decided_free(&d);
	/* The line discovered elsewhere: that trunk is still not it, nor a peer on another
	 * port of the server's address. */
	decide(&d,
	       "[general]\nregister => trunk@itsp.example:pw@198.51.100.7\n[gw]\ntype=peer\n"
	       "host=198.51.100.7\n[other]\ntype=peer\nhost=" SRV "\nport=5070\n" PHONE,
	       NULL, SRV, NULL);
	assert_true(d.v.line.known);
	assert_int_equal(d.v.line.reg_index, -1);
	assert_false(dest(&d, "gw")->line);
	assert_false(dest(&d, "other")->line);
	decided_free(&d);
}

static void test_line_bad_names(void **state)
{
	struct decided d;
	const struct reg_dest *pd;
	struct sa a;

	(void)state;
	/* A register => host that does not resolve: a warning at its file:line, the line has no
	 * server yet (retried), and the other peers are still resolved. */
	decide(&d,
	       "[general]\nregister => " NUM "@nowhere.example/" NUM "\n[gw]\ntype=peer\nhost=" SRV
	       "\n[itsp]\ntype=peer\nhost=sip.itsp.example\n" PHONE,
	       "sip.itsp.example=198.51.100.9", NULL, NULL);
	assert_true(d.v.unresolved);
	assert_non_null(strstr(d.text, "sip.conf:2: warning: register => " NUM
				       "@nowhere.example: 'nowhere.example' does not resolve"));
	assert_true(d.v.line.known);
	assert_false(sa_isset(&d.v.line.server));
	assert_false(dest(&d, "gw")->line);
	pd = dest(&d, "itsp");
	assert_int_equal(pd->n, 1);
	assert_int_equal(sa_port(&pd->addrs[0]), 5060);
	decided_free(&d);

	/* A peer whose host= resolves to several addresses: a warning naming them at the host=
	 * line; requests go to the first, the line is recognised on any of them. */
	decide(&d,
	       "[general]\nregister => " NUM "@" DOM "/" NUM "\n[gw]\ntype=peer\n"
	       "host=gw.example\n" PHONE,
	       DOM "=" SRV " gw.example=198.51.100.1," SRV, NULL, NULL);
	assert_non_null(strstr(d.text, "sip.conf:5: warning: [gw] host: 'gw.example' resolves to "
				       "2 addresses (198.51.100.1, " SRV ")"));
	assert_false(d.v.unresolved);
	pd = dest(&d, "gw");
	assert_int_equal(pd->n, 2);
	assert_true(pd->line);
	assert_int_equal(sa_set_str(&a, "198.51.100.1", 5060), 0);
	assert_true(sa_eq(&pd->addrs[0], &a));
	decided_free(&d);

	/* A peer host that does not resolve: warned, not the line, nothing else lost. */
	decide(&d,
	       "[general]\nregister => " NUM "@" DOM "@" SRV "/" NUM "\n[gw]\ntype=peer\n"
	       "host=gone.example\n" PHONE,
	       "", NULL, NULL);
	assert_non_null(strstr(d.text, "sip.conf:5: warning: [gw] host: 'gone.example' does not "
				       "resolve"));
	assert_true(d.v.unresolved);
	assert_true(d.v.line.known);
	assert_false(dest(&d, "gw")->line);
	assert_int_equal(d.v.line.reg_index, 0);
	decided_free(&d);
}

/* With discovery configured, the NGN domain is never asked of the resolver (the public DNS must
 * not say where the line is) and not warned about before the lease. */
static int counting_resolve(const char *host, struct sa *out, size_t max, void *arg)
{
	(void)host;
	(void)out;
	(void)max;
	(*(int *)arg)++;
	return -ENOENT;
}

static void test_line_discovery_pending(void **state)
{
	struct conf *conf = NULL;
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	struct reg_settings set;
	struct reg_line_view v;
	int calls = 0;

	(void)state;
	assert_int_equal(conf_load_string(&conf, "sip.conf",
					  "[general]\nregister => " NUM "@" DOM "/" NUM
					  "\n[gw]\ntype=peer\nhost=" DOM "\n",
					  &diags),
			 0);
	assert_int_equal(sipcfg_load(&cfg, conf, &diags), 0);
	conf_free(conf);
	reg_settings_default(&set);
	set.line_discovery = true;
	assert_int_equal(reg_line_decide(&v, cfg, &set, NULL, counting_resolve, &calls, &diags), 0);
	assert_int_equal(calls, 0);
	assert_int_equal(diags.count, 0);
	assert_true(v.unresolved);
	assert_false(sa_isset(&v.line.server));
	reg_line_view_reset(&v);
	/* Without discovery the resolver is asked (the post's /etc/hosts), and it is warned. */
	set.line_discovery = false;
	assert_int_equal(reg_line_decide(&v, cfg, &set, NULL, counting_resolve, &calls, &diags), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(diags.count, 2);
	reg_line_view_reset(&v);
	conf_diags_reset(&diags);
	mem_deref(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_digest_vectors),
	    cmocka_unit_test(test_digest_rfc2069),
	    cmocka_unit_test(test_auth_parse_ok),
	    cmocka_unit_test(test_auth_parse_every_name),
	    cmocka_unit_test(test_auth_parse_bad),
	    cmocka_unit_test(test_nonce),
	    cmocka_unit_test(test_backoff_schedule),
	    cmocka_unit_test(test_ban_window),
	    cmocka_unit_test(test_ban_off),
	    cmocka_unit_test(test_settings),
	    cmocka_unit_test(test_digest_challenge_offer),
	    cmocka_unit_test(test_digest_verify_credentials),
	    cmocka_unit_test(test_line_post_forms),
	    cmocka_unit_test(test_line_210value),
	    cmocka_unit_test(test_line_not_the_line),
	    cmocka_unit_test(test_line_bad_names),
	    cmocka_unit_test(test_line_discovery_pending),
	};
	return cmocka_run_group_tests_name("reg", tests, NULL, NULL);
}
