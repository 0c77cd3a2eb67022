/* test_peer: the meaning of sip.conf: [general], register =>, peers, ACLs, codecs, caller IDs,
 * unknown/unimplemented keys and errors with file:line, and the `sip show` outputs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "peer.h"

#define SEED "tests/unit/data/seed-sip.conf"

static int load(const char *text, struct sipcfg **cfgp, struct conf_diags *diags)
{
	struct conf *conf = NULL;
	int err;

	assert_int_equal(conf_load_string(&conf, "sip.conf", text, diags), 0);
	err = sipcfg_load(cfgp, conf, diags);
	conf_free(conf); /* the snapshot must not point into the conf */
	return err;
}

/* How many diagnostics of this severity are on `line` and contain `text` (line 0: any). */
static size_t diag_count(const struct conf_diags *d, enum conf_severity sev, unsigned line,
			 const char *text)
{
	size_t n = 0;

	for (size_t i = 0; i < d->count; i++) {
		if (d->items[i].severity == sev && (!line || d->items[i].origin.line == line) &&
		    strstr(d->items[i].message, text))
			n++;
	}
	return n;
}

static void dump_diags(const struct conf_diags *d)
{
	char buf[512];

	for (size_t i = 0; i < d->count; i++) {
		conf_diag_format(&d->items[i], buf, sizeof(buf));
		print_message("  %s\n", buf);
	}
}

static void assert_codecs(const struct peer *p, const char *expect)
{
	char buf[128] = "";
	size_t n = 0;

	for (size_t i = 0; i < p->ncodecs; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "",
				      peer_codec_name((enum peer_codec)p->codecs[i]));
	assert_string_equal(buf, expect);
}

/* ---------------------------------------------------------------------------------------------
 * The user's post, placeholders filled.
 */
static void test_seed(void **state)
{
	struct conf_diags diags = {0};
	struct conf *conf = NULL;
	struct sipcfg *cfg = NULL;
	const struct sipcfg_general *g;
	const struct sipcfg_register *reg;
	const struct peer *p;
	char buf[SA_STRLEN];
	size_t nreg;

	(void)state;
	assert_int_equal(conf_load(&conf, SEED, &diags), 0);
	assert_int_equal(sipcfg_load(&cfg, conf, &diags), 0);
	conf_free(conf);
	assert_int_equal(diags.errors, 0);

	g = sipcfg_general(cfg);
	assert_string_equal(g->context, "public");
	assert_int_equal(g->allowoverlap, PEER_OVERLAP_NO);
	assert_string_equal(g->realm, "ntt-east.ne.jp");
	assert_true(g->srvlookup);
	assert_false(g->allowguest);
	assert_true(g->alwaysauthreject);
	assert_int_equal(g->defaults->transports, PEER_TP_UDP);

	reg = sipcfg_registers(cfg, &nreg);
	assert_int_equal(nreg, 1);
	assert_string_equal(reg->user, "0312345678");
	assert_null(reg->domain);
	assert_string_equal(reg->host, "ntt-east.ne.jp");
	assert_int_equal(reg->port, 5060);
	assert_string_equal(reg->contact, "0312345678");
	assert_null(reg->secret);
	assert_int_equal(reg->transport, PEER_TP_UDP);
	assert_int_equal(reg->expiry, 120);
	assert_false(reg->expiry_given);
	assert_string_equal(reg->origin.file, SEED);
	assert_int_equal(reg->origin.line, 10);

	/* [authentication] and the templates are not peers. */
	assert_int_equal(sipcfg_peer_count(cfg), 2);
	assert_null(peer_find(cfg, "authentication"));
	assert_null(peer_find(cfg, "basic-options"));

	p = peer_find(cfg, "mikaka-gw");
	assert_non_null(p);
	assert_int_equal(p->type, PEER_TYPE_PEER);
	assert_false(p->dynamic);
	assert_string_equal(p->host, "10.0.0.1");
	assert_string_equal(sa_fmt(&p->addr, buf, sizeof(buf)), "10.0.0.1:5060");
	assert_string_equal(p->context, "from_mikaka");
	assert_codecs(p, "ulaw");
	assert_int_equal(p->dtmfmode, PEER_DTMF_INBAND);
	assert_int_equal(p->qualify_ms, 0);
	assert_false(p->directmedia);
	assert_null(p->secret);
	assert_int_equal(peer_origin(p, PEER_KEY_HOST).line, 37);
	assert_string_equal(peer_origin(p, PEER_KEY_HOST).file, SEED);

	/* [801] has no type=: a friend, with a warning naming where it is. */
	p = peer_find(cfg, "801");
	assert_non_null(p);
	assert_int_equal(p->type, PEER_TYPE_FRIEND);
	assert_true(p->type_guessed);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 45, "[801] has no type="), 1);
	assert_true(p->dynamic);
	assert_null(p->host);
	assert_false(sa_isset(&p->addr));
	assert_string_equal(p->secret, "s3cr3t-801");
	assert_string_equal(p->context, "from_phone");
	assert_int_equal(p->dtmfmode, PEER_DTMF_RFC2833);
	assert_codecs(p, "ulaw,alaw");
	assert_null(peer_origin(p, PEER_KEY_CODECS).file);

	/* The unused template still gets its codecs checked. */
	assert_int_equal(diag_count(&diags, CONF_WARNING, 25, "'ilbc' is not supported"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 28, "'g723' is not supported"), 1);
	assert_int_equal(diags.count, 3);

	/* The snapshot is refcounted: a holder keeps it across a "reload". */
	assert_ptr_equal(mem_ref(cfg), cfg);
	mem_deref(cfg);
	assert_string_equal(peer_find(cfg, "801")->secret, "s3cr3t-801");
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

static void test_defaults(void **state)
{
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	const struct sipcfg_general *g;
	size_t n;

	(void)state;
	assert_int_equal(sipcfg_load(&cfg, NULL, &diags), 0);
	g = sipcfg_general(cfg);
	assert_string_equal(g->context, "default");
	assert_false(g->allowguest);
	assert_true(g->alwaysauthreject);
	assert_string_equal(g->realm, "mikaka");
	assert_int_equal(g->tos_sip, 0x80);
	assert_int_equal(g->tos_audio, 0x80);
	assert_int_equal(g->minexpiry, 60);
	assert_int_equal(g->maxexpiry, 3600);
	assert_int_equal(g->defaultexpiry, 120);
	assert_true(g->srvlookup);
	assert_int_equal(g->allowoverlap, PEER_OVERLAP_YES);
	assert_non_null(strstr(g->useragent, "mikaka/"));
	assert_int_equal(sipcfg_peer_count(cfg), 0);
	assert_null(sipcfg_peer_at(cfg, 0));
	assert_null(peer_find(cfg, "x"));
	sipcfg_registers(cfg, &n);
	assert_int_equal(n, 0);
	assert_int_equal(diags.count, 0);
	mem_deref(cfg);
}

static void test_templates(void **state)
{
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	const struct peer *p;

	(void)state;
	assert_int_equal(load("[general]\n"
			      "context=public\n"
			      "[phone](!)\n"	       /* 3 */
			      "type=friend\n"	       /* 4 */
			      "host=dynamic\n"	       /* 5 */
			      "context=from_phone\n"   /* 6 */
			      "disallow=all\n"	       /* 7 */
			      "allow=ulaw\n"	       /* 8 */
			      "[fast](!,phone)\n"      /* 9 */
			      "allow=opus\n"	       /* 10 */
			      "[802](fast)\n"	       /* 11 */
			      "secret=two\n"	       /* 12 */
			      "allow=!ulaw,alaw\n"     /* 13 */
			      "[803](phone)\n"	       /* 14 */
			      "secret=three\n"	       /* 15 */
			      "context=other\n"	       /* 16 */
			      "[gw]\n"		       /* 17 */
			      "type=peer\n"	       /* 18 */
			      "host=gw.example.net\n", /* 19 */
			      &cfg, &diags),
			 0);
	p = peer_find(cfg, "802");
	assert_non_null(p);
	assert_int_equal(p->type, PEER_TYPE_FRIEND);
	assert_false(p->type_guessed);
	assert_true(p->dynamic);
	assert_string_equal(p->context, "from_phone");
	assert_int_equal(peer_origin(p, PEER_KEY_CONTEXT).line, 6);
	assert_codecs(p, "opus,alaw");
	assert_int_equal(peer_origin(p, PEER_KEY_CODECS).line, 13);
	p = peer_find(cfg, "803");
	assert_string_equal(p->context, "other");
	assert_codecs(p, "ulaw");
	/* A peer without context= takes [general]'s. */
	p = peer_find(cfg, "GW"); /* names are case-insensitive */
	assert_non_null(p);
	assert_string_equal(p->name, "gw");
	assert_string_equal(p->context, "public");
	assert_string_equal(p->host, "gw.example.net");
	assert_false(sa_isset(&p->addr));
	assert_int_equal(peer_origin(p, PEER_KEY_CONTEXT).line, 2);
	/* Iteration is sorted by name. */
	assert_int_equal(sipcfg_peer_count(cfg), 3);
	assert_string_equal(sipcfg_peer_at(cfg, 0)->name, "802");
	assert_string_equal(sipcfg_peer_at(cfg, 1)->name, "803");
	assert_string_equal(sipcfg_peer_at(cfg, 2)->name, "gw");
	assert_int_equal(diags.count, 0);
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

/* Every key a peer implements, and the [general] ones. */
static void test_every_key(void **state)
{
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	const struct sipcfg_general *g;
	const struct peer *p;
	char buf[SA_STRLEN];

	(void)state;
	assert_int_equal(load("[general]\n"
			      "context=incoming\n"
			      "allowguest=yes\n"
			      "alwaysauthreject=no\n"
			      "realm=example.org\n"
			      "udpbindaddr=127.0.0.1\n"
			      "bindport=5070\n"
			      "tcpenable=yes\n"
			      "tcpbindaddr=127.0.0.1\n"
			      "transport=tcp,udp\n"
			      "srvlookup=no\n"
			      "allowoverlap=dtmf\n"
			      "useragent=Test UA\n"
			      "tos_sip=ef\n"
			      "tos_audio=0xb8\n"
			      "minexpiry=30\n"
			      "maxexpiry=7200\n"
			      "defaultexpiry=600\n"
			      "nat=no\n"
			      "qualify=yes\n"
			      "disallow=all\n"
			      "allow=g722,ulaw\n"
			      "language=en\n"
			      "[trunk]\n"
			      "type=peer\n"
			      "host=192.0.2.10\n"
			      "port=5080\n"
			      "secret=pw\n"
			      "md5secret=0123456789abcdef0123456789ABCDEF\n"
			      "defaultuser=du\n"
			      "fromuser=fu\n"
			      "mailbox=801@default,802\n"
			      "language=ja\n"
			      "mohsuggest=jazz\n"
			      "fromdomain=example.net\n"
			      "context=from_trunk\n"
			      "directmedia=nonat\n"
			      "dtmfmode=auto\n"
			      "qualify=250\n"
			      "qualifyfreq=30\n"
			      "insecure=port,invite\n"
			      "nat=force_rport,comedia\n"
			      "callerid=\"Front Desk\" <0312345678>\n"
			      "call-limit=4\n"
			      "deny=0.0.0.0/0.0.0.0\n"
			      "permit=192.0.2.0/24\n"
			      "transport=udp\n"
			      "[v6]\n"
			      "type=user\n"
			      "username=old\n"
			      "canreinvite=yes\n"
			      "secret=x\n"
			      "host=[2001:db8::5]\n",
			      &cfg, &diags),
			 0);
	if (diags.count)
		dump_diags(&diags);
	assert_int_equal(diags.count, 0);
	g = sipcfg_general(cfg);
	assert_string_equal(g->context, "incoming");
	assert_true(g->allowguest);
	assert_false(g->alwaysauthreject);
	assert_string_equal(g->realm, "example.org");
	assert_false(g->srvlookup);
	assert_int_equal(g->allowoverlap, PEER_OVERLAP_DTMF);
	assert_string_equal(g->useragent, "Test UA");
	assert_int_equal(g->tos_sip, 46 << 2);
	assert_int_equal(g->tos_audio, 0xb8);
	assert_int_equal(g->minexpiry, 30);
	assert_int_equal(g->maxexpiry, 7200);
	assert_int_equal(g->defaultexpiry, 600);
	assert_int_equal(g->defaults->transports, PEER_TP_UDP | PEER_TP_TCP);
	assert_int_equal(g->defaults->transport, PEER_TP_TCP);
	assert_int_equal(g->defaults->qualify_ms, 2000);

	p = peer_find(cfg, "trunk");
	assert_int_equal(p->type, PEER_TYPE_PEER);
	assert_string_equal(sa_fmt(&p->addr, buf, sizeof(buf)), "192.0.2.10:5080");
	assert_int_equal(p->port, 5080);
	assert_string_equal(p->secret, "pw");
	assert_string_equal(p->md5secret, "0123456789abcdef0123456789ABCDEF");
	assert_string_equal(p->defaultuser, "du");
	assert_string_equal(p->fromuser, "fu");
	assert_string_equal(p->mailbox, "801@default,802");
	assert_string_equal(p->language, "ja");
	assert_string_equal(p->mohsuggest, "jazz");
	assert_string_equal(g->defaults->language, "en"); /* [general] language=: every peer's */
	assert_null(g->defaults->mohsuggest);
	assert_string_equal(peer_find(cfg, "v6")->language, "en");
	assert_string_equal(p->fromdomain, "example.net");
	assert_string_equal(p->context, "from_trunk");
	assert_true(p->directmedia);
	assert_int_equal(p->dtmfmode, PEER_DTMF_AUTO);
	assert_int_equal(p->qualify_ms, 250);
	assert_int_equal(p->qualifyfreq, 30);
	assert_int_equal(p->insecure, PEER_INSECURE_PORT | PEER_INSECURE_INVITE);
	assert_int_equal(p->nat, PEER_NAT_FORCE_RPORT | PEER_NAT_COMEDIA);
	assert_string_equal(p->cid_name, "Front Desk");
	assert_string_equal(p->cid_num, "0312345678");
	assert_int_equal(p->call_limit, 4);
	assert_int_equal(p->nacl, 2);
	assert_false(p->acl[0].permit);
	assert_true(p->acl[1].permit);
	assert_int_equal(p->acl[1].origin.line, 46);
	assert_int_equal(p->transports, PEER_TP_UDP);
	assert_int_equal(p->transport, PEER_TP_UDP);
	assert_codecs(p, "g722,ulaw"); /* from [general] */
	assert_int_equal(peer_origin(p, PEER_KEY_CODECS).line, 22);

	p = peer_find(cfg, "v6");
	assert_int_equal(p->type, PEER_TYPE_USER);
	assert_string_equal(p->defaultuser, "old");
	assert_true(p->directmedia);
	assert_string_equal(sa_fmt(&p->addr, buf, sizeof(buf)), "[2001:db8::5]:5060");
	assert_int_equal(p->nat, 0); /* nat=no in [general] */
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

/* Unknown keys: one warning per line; a template's line once however many inherit it;
 * unimplemented Asterisk keys: once, with the count of other places. */
static void test_unknown_keys(void **state)
{
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;

	(void)state;
	assert_int_equal(load("[general]\n"
			      "secret=x\n"	      /* 2: a peer key */
			      "externip=192.0.2.1\n"  /* 3: not implemented */
			      "bogus=1\n"	      /* 4: unknown */
			      "[t](!)\n"	      /* 5 */
			      "fooo=1\n"	      /* 6: unknown, inherited by three */
			      "videosupport=yes\n"    /* 7: not implemented */
			      "host=dynamic\n"	      /* 8 */
			      "secret=s\n"	      /* 9 */
			      "[a](t)\n"	      /* 10 */
			      "[b](t)\n"	      /* 11 */
			      "videosupport=no\n"     /* 12 */
			      "realm=x\n"	      /* 13: a [general] key */
			      "allowoverlap=no\n"     /* 14: Asterisk has it per peer */
			      "[c](t)\n"	      /* 15 */
			      "BOGUS=2\n"	      /* 16 */
			      "t38pt_udptl=yes\n"     /* 17 */
			      "[authentication]\n"    /* 18 */
			      "auth=user:pw@realm\n", /* 19 */
			      &cfg, &diags),
			 0);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 2, "'secret' is a peer key"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 3,
				    "'externip' is an Asterisk key mikaka does not implement"),
			 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 4, "unknown key 'bogus' ignored"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 0, "'fooo'"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 6, "unknown key 'fooo' ignored"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 0, "'videosupport'"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 7, "(here and on 1 other line)"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 13, "'realm' belongs in [general]"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 14, "does not implement per peer"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 16, "unknown key 'BOGUS' ignored"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 17, "'t38pt_udptl'"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 19, "'auth'"), 1);
	assert_string_equal(diags.items[0].origin.file, "sip.conf");
	assert_int_equal(diag_count(&diags, CONF_WARNING, 0, "has no type="), 3);
	if (diags.count != 13)
		dump_diags(&diags);
	assert_int_equal(diags.count, 13);
	assert_int_equal(diags.errors, 0);
	assert_int_equal(sipcfg_peer_count(cfg), 3);
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

/* ---------------------------------------------------------------------------------------------
 * Tables.
 */
static void test_acl(void **state)
{
	static const struct {
		const char *rules; /* one rule per line */
		const char *addr;
		bool allowed;
	} cases[] = {
	    {"", "198.51.100.1", true},
	    {"deny=0.0.0.0/0.0.0.0\npermit=192.168.1.0/255.255.255.0\n", "192.168.1.77", true},
	    {"deny=0.0.0.0/0.0.0.0\npermit=192.168.1.0/255.255.255.0\n", "192.168.2.1", false},
	    /* last match wins: a later deny overrides the permit */
	    {"permit=192.168.1.0/24\ndeny=0.0.0.0/0\n", "192.168.1.5", false},
	    {"deny=10.0.0.0/8\n", "10.255.0.1", false},
	    {"deny=10.0.0.0/8\n", "11.0.0.1", true},
	    {"deny=0.0.0.0/0\npermit=192.0.2.7\n", "192.0.2.7", true},
	    {"deny=0.0.0.0/0\npermit=192.0.2.7\n", "192.0.2.8", false},
	    {"deny=0.0.0.0/0\npermit=192.0.2.0/25\n", "192.0.2.127", true},
	    {"deny=0.0.0.0/0\npermit=192.0.2.0/25\n", "192.0.2.128", false},
	    /* IPv4 rules do not apply to IPv6 addresses, but do to IPv4-mapped ones */
	    {"deny=0.0.0.0/0\n", "2001:db8::1", true},
	    {"deny=0.0.0.0/0\n", "::ffff:192.0.2.1", false},
	    {"deny=::/0\npermit=2001:db8:1::/48\n", "2001:db8:1:2::3", true},
	    {"deny=::/0\npermit=2001:db8:1::/48\n", "2001:db8:2::3", false},
	    {"deny=::/0\n", "192.0.2.1", false}, /* compared as ::ffff:192.0.2.1 */
	    {"deny=::ffff:0:0/96\n", "192.0.2.1", false},
	    {"deny=[2001:db8::]/ffff:ffff::\n", "2001:db8:ffff::1", false},
	    {"deny=[2001:db8::]/ffff:ffff::\n", "2001:db9::1", true},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conf_diags diags = {0};
		struct sipcfg *cfg = NULL;
		char text[512];
		struct sa sa;

		snprintf(text, sizeof(text), "[p]\ntype=peer\nhost=192.0.2.1\n%s", cases[i].rules);
		assert_int_equal(load(text, &cfg, &diags), 0);
		assert_int_equal(sa_set_str(&sa, cases[i].addr, 5060), 0);
		if (peer_acl_allows(peer_find(cfg, "p"), &sa) != cases[i].allowed)
			fail_msg("case %zu: %s from %s", i, cases[i].rules, cases[i].addr);
		mem_deref(cfg);
		conf_diags_reset(&diags);
	}
}

static void test_acl_hostbits(void **state)
{
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	const struct peer *p;
	char a[INET_ADDRSTRLEN];

	(void)state;
	assert_int_equal(
	    load("[p]\ntype=peer\nhost=192.0.2.1\npermit=192.168.1.5/24\n", &cfg, &diags), 0);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 4, "bits set outside its mask"), 1);
	p = peer_find(cfg, "p");
	inet_ntop(AF_INET, p->acl[0].net.addr, a, sizeof(a));
	assert_string_equal(a, "192.168.1.0");
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

static void test_codecs(void **state)
{
	static const struct {
		const char *lines;
		const char *expect;
		size_t warnings;
	} cases[] = {
	    {"", "ulaw,alaw", 0},
	    {"disallow=all\nallow=ulaw\n", "ulaw", 0},
	    {"disallow=all\nallow=g729\nallow=gsm\nallow=ulaw\n", "g729,gsm,ulaw", 0},
	    {"disallow=all\nallow=alaw,ulaw\n", "alaw,ulaw", 0},
	    {"allow=g722\n", "ulaw,alaw,g722", 0},
	    {"allow=ulaw\n", "ulaw,alaw", 0}, /* already there: keeps its place */
	    {"disallow=ulaw\n", "alaw", 0},
	    {"disallow=all\nallow=all\n", "ulaw,alaw,g722,opus,gsm,g729", 0},
	    {"disallow=all\nallow=opus\nallow=ulaw\ndisallow=opus\n", "ulaw", 0},
	    {"disallow=all\nallow=ULAW:20\n", "ulaw", 0},
	    {"disallow=all\nallow=ilbc\nallow=ulaw\n", "ulaw", 1},
	    {"disallow=all\nallow=nosuch,alaw\n", "alaw", 1},
	    {"disallow=all\n", "", 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conf_diags diags = {0};
		struct sipcfg *cfg = NULL;
		char text[512];

		snprintf(text, sizeof(text), "[p]\ntype=peer\nhost=192.0.2.1\n%s", cases[i].lines);
		assert_int_equal(load(text, &cfg, &diags), 0);
		assert_codecs(peer_find(cfg, "p"), cases[i].expect);
		assert_int_equal(diags.count, cases[i].warnings);
		mem_deref(cfg);
		conf_diags_reset(&diags);
	}
}

static void test_callerid(void **state)
{
	static const struct {
		const char *value;
		const char *name;
		const char *num;
	} cases[] = {
	    {"\"Front Desk\" <0312345678>", "Front Desk", "0312345678"},
	    {"Front Desk <0312345678>", "Front Desk", "0312345678"},
	    {"<0312345678>", NULL, "0312345678"},
	    {"0312345678", NULL, "0312345678"},
	    {"+81312345678", NULL, "+81312345678"},
	    {"Kitchen", "Kitchen", NULL},
	    {"\"Kitchen\"", "Kitchen", NULL},
	    {"\"Quote\" <801", "Quote", "801"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conf_diags diags = {0};
		struct sipcfg *cfg = NULL;
		const struct peer *p;
		char text[256];

		snprintf(text, sizeof(text), "[p]\ntype=peer\nhost=192.0.2.1\ncallerid=%s\n",
			 cases[i].value);
		assert_int_equal(load(text, &cfg, &diags), 0);
		p = peer_find(cfg, "p");
		if (cases[i].name)
			assert_string_equal(p->cid_name, cases[i].name);
		else
			assert_null(p->cid_name);
		if (cases[i].num)
			assert_string_equal(p->cid_num, cases[i].num);
		else
			assert_null(p->cid_num);
		mem_deref(cfg);
		conf_diags_reset(&diags);
	}
}

static void test_nat_insecure(void **state)
{
	static const struct {
		const char *line;
		unsigned nat;
		unsigned insecure;
	} cases[] = {
	    {"", PEER_NAT_AUTO_FORCE_RPORT, 0},
	    {"nat=yes", PEER_NAT_FORCE_RPORT | PEER_NAT_COMEDIA, 0},
	    {"nat=no", 0, 0},
	    {"nat=force_rport,no", 0, 0},
	    {"nat=comedia", PEER_NAT_COMEDIA, 0},
	    {"nat=comedia,auto_comedia", PEER_NAT_AUTO_COMEDIA, 0},
	    {"nat=auto_force_rport,auto_comedia", PEER_NAT_AUTO_FORCE_RPORT | PEER_NAT_AUTO_COMEDIA,
	     0},
	    {"insecure=invite", PEER_NAT_AUTO_FORCE_RPORT, PEER_INSECURE_INVITE},
	    {"insecure=port", PEER_NAT_AUTO_FORCE_RPORT, PEER_INSECURE_PORT},
	    {"insecure=no", PEER_NAT_AUTO_FORCE_RPORT, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conf_diags diags = {0};
		struct sipcfg *cfg = NULL;
		char text[256];

		snprintf(text, sizeof(text), "[p]\ntype=peer\nhost=192.0.2.1\n%s\n", cases[i].line);
		assert_int_equal(load(text, &cfg, &diags), 0);
		assert_int_equal(peer_find(cfg, "p")->nat, cases[i].nat);
		assert_int_equal(peer_find(cfg, "p")->insecure, cases[i].insecure);
		mem_deref(cfg);
		conf_diags_reset(&diags);
	}
}

static void test_register(void **state)
{
	static const struct {
		const char *line;
		const char *peer, *user, *domain, *secret, *authuser, *host, *contact;
		unsigned port, domainport, expiry;
		enum peer_transport tp;
	} cases[] = {
	    {"0312345678@ntt-east.ne.jp/0312345678", NULL, "0312345678", NULL, NULL, NULL,
	     "ntt-east.ne.jp", "0312345678", 5060, 0, 120, PEER_TP_UDP},
	    {"name@domain", NULL, "name", NULL, NULL, NULL, "domain", "s", 5060, 0, 120,
	     PEER_TP_UDP},
	    {"name:pass@domain", NULL, "name", NULL, "pass", NULL, "domain", "s", 5060, 0, 120,
	     PEER_TP_UDP},
	    {"name@nd:pass:auth@host/ext", NULL, "name", "nd", "pass", "auth", "host", "ext", 5060,
	     0, 120, PEER_TP_UDP},
	    {"tcp://name@nd:pass:auth@host:5070/ext~3600", NULL, "name", "nd", "pass", "auth",
	     "host", "ext", 5070, 0, 3600, PEER_TP_TCP},
	    {"gw?udp://name@nd:4321:pass:auth@192.0.2.1", "gw", "name", "nd", "pass", "auth",
	     "192.0.2.1", "s", 5060, 4321, 120, PEER_TP_UDP},
	    {"0312345678@ntt-east.ne.jp@192.0.2.1:5060~3600", NULL, "0312345678", "ntt-east.ne.jp",
	     NULL, NULL, "192.0.2.1", "s", 5060, 0, 3600, PEER_TP_UDP},
	    {"u@[2001:db8::1]:5062", NULL, "u", NULL, NULL, NULL, "[2001:db8::1]", "s", 5062, 0,
	     120, PEER_TP_UDP},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conf_diags diags = {0};
		struct sipcfg *cfg = NULL;
		const struct sipcfg_register *r;
		char text[256];
		size_t n;

#define STR_EQ(a, b)                                                                               \
	do {                                                                                       \
		if (b)                                                                             \
			assert_string_equal(a, b);                                                 \
		else                                                                               \
			assert_null(a);                                                            \
	} while (0)
		snprintf(text, sizeof(text), "[general]\n\nregister => %s\n", cases[i].line);
		assert_int_equal(load(text, &cfg, &diags), 0);
		r = sipcfg_registers(cfg, &n);
		assert_int_equal(n, 1);
		STR_EQ(r->peer, cases[i].peer);
		STR_EQ(r->user, cases[i].user);
		STR_EQ(r->domain, cases[i].domain);
		STR_EQ(r->secret, cases[i].secret);
		STR_EQ(r->authuser, cases[i].authuser);
		STR_EQ(r->host, cases[i].host);
		STR_EQ(r->contact, cases[i].contact);
		assert_int_equal(r->port, cases[i].port);
		assert_int_equal(r->domainport, cases[i].domainport);
		assert_int_equal(r->expiry, cases[i].expiry);
		assert_int_equal(r->transport, cases[i].tp);
		assert_int_equal(r->origin.line, 3);
		mem_deref(cfg);
		conf_diags_reset(&diags);
#undef STR_EQ
	}
}

/* defaultexpiry after the register line still applies to it. */
static void test_register_expiry_order(void **state)
{
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	size_t n;

	(void)state;
	assert_int_equal(
	    load("[general]\nregister=>a@b\nregister=>c@d~60\ndefaultexpiry=3600\n", &cfg, &diags),
	    0);
	assert_int_equal(sipcfg_registers(cfg, &n)[0].expiry, 3600);
	assert_int_equal(sipcfg_registers(cfg, &n)[1].expiry, 60);
	assert_true(sipcfg_registers(cfg, &n)[1].expiry_given);
	assert_int_equal(n, 2);
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *msg;
	} cases[] = {
	    {"[p]\ntype=peer\nhost=192.0.2.1\nport=99999\n", 4, "port: '99999' is not"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\nqualify=maybe\n", 4, "qualify: 'maybe'"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\ndtmfmode=xyz\n", 4, "dtmfmode: 'xyz'"},
	    {"[p]\ntype=router\nhost=192.0.2.1\n", 2, "type: 'router' is not friend"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\nnat=sometimes\n", 4, "nat: 'sometimes'"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\ninsecure=very\n", 4, "insecure: 'very'"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\ndirectmedia=maybe\n", 4, "directmedia"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\npermit=192.0.2.300/24\n", 4, "permit"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\ndeny=10.0.0.0/33\n", 4, "deny"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\ntransport=sctp\n", 4, "transport"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\ncall-limit=-1\n", 4, "call-limit"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\nqualifyfreq=0\n", 4, "qualifyfreq"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\nmd5secret=nothex\n", 4, "md5secret"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\nlanguage=../en\n", 4, "language"},
	    {"[general]\nlanguage=a/b\n", 2, "language"},
	    {"[p]\ntype=peer\nhost=192.0.2.1:5060\n", 3, "the port goes in port="},
	    {"[p]\ntype=peer\ncontext=x\n", 1, "[p] has no host="},
	    {"[p]\ntype=friend\nhost=dynamic\n", 1, "[p] has no secret="},
	    {"[p]\ntype=user\n", 1, "anyone could call"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\ncallgroup=64\n", 4, "callgroup: '64'"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\npickupgroup=3-1\n", 4, "pickupgroup: '3-1'"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\npickupgroup=a\n", 4, "pickupgroup: 'a'"},
	    {"[p]\ntype=peer\nhost=192.0.2.1\nnamedcallgroup=a b\n", 4, "namedcallgroup"},
	    {"[general]\nallowguest=perhaps\n", 2, "allowguest"},
	    {"[general]\ntos_sip=cs9\n", 2, "tos_sip"},
	    {"[general]\nminexpiry=x\n", 2, "minexpiry"},
	    {"[general]\nminexpiry=600\nmaxexpiry=60\n", 1, "minexpiry (600) is above"},
	    {"[general]\nregister => nohost\n", 2, "register: 'nohost' is not"},
	    {"[general]\nregister => tls://u@h\n", 2, "transport 'tls'"},
	    {"[general]\nregister => u@h:0\n", 2, "not a port number"},
	    {"[general]\nregister => u@h~x\n", 2, "~expiry"},
	    {"[general]\nqualify=maybe\n", 2, "qualify"},
	    /* an error in a template counts, once, even if nobody uses the template */
	    {"[t](!)\ndtmfmode=xyz\n", 2, "dtmfmode"},
	    {"[t](!)\ndtmfmode=xyz\n[a](t)\nhost=dynamic\nsecret=s\n[b](t)\nhost=dynamic\n"
	     "secret=s\n",
	     2, "dtmfmode"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conf_diags diags = {0};
		struct sipcfg *cfg = NULL;

		if (load(cases[i].text, &cfg, &diags) != EINVAL)
			fail_msg("case %zu was accepted", i);
		assert_null(cfg);
		if (diag_count(&diags, CONF_ERROR, cases[i].line, cases[i].msg) != 1) {
			dump_diags(&diags);
			fail_msg("case %zu: no error '%s' on line %u", i, cases[i].msg,
				 cases[i].line);
		}
		assert_int_equal(diags.errors, 1);
		assert_string_equal(diags.items[0].origin.file, "sip.conf");
		conf_diags_reset(&diags);
	}
}

/* callgroup=/pickupgroup= (0-63, ranges, lists; later lines win, as any key) and the named
 * groups; peer_groups_match: pickup groups of the picker meet call groups of the ringing phone. */
static void test_groups(void **state)
{
	static const char text[] = "[g](!)\ntype=friend\nhost=dynamic\nsecret=s\n"
				   "[a](g)\ncallgroup=1,3-5, 63\nnamedcallgroup=kitchen, hall\n"
				   "[b](g)\npickupgroup=4\n"
				   "[c](g)\npickupgroup=0,2\nnamedpickupgroup=garden,hall\n"
				   "[d](g)\npickupgroup=0\nnamedpickupgroup=kitch\n"
				   "[e](g)\ncallgroup=1\ncallgroup=\n";
	static const struct {
		const char *picker, *ringing;
		bool match;
	} cases[] = {
	    {"b", "a", true},  /* 4 in 3-5 */
	    {"c", "a", true},  /* hall by name */
	    {"d", "a", false}, /* kitch is not kitchen; 0 is not in a's groups */
	    {"a", "b", false}, /* a has no pickup groups */
	    {"b", "e", false}, /* e's callgroup was emptied */
	    {"e", "e", false}, /* no groups at all: no group pickup */
	};
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	const struct peer *a;

	(void)state;
	assert_int_equal(load(text, &cfg, &diags), 0);
	a = peer_find(cfg, "a");
	assert_non_null(a);
	assert_true(a->callgroup == ((1ull << 1) | (7ull << 3) | (1ull << 63)));
	assert_string_equal(a->namedcallgroup, ",kitchen,hall,");
	assert_null(a->namedpickupgroup);
	assert_true(peer_find(cfg, "e")->callgroup == 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (peer_groups_match(peer_find(cfg, cases[i].picker),
				      peer_find(cfg, cases[i].ringing)) != cases[i].match)
			fail_msg("case %zu: %s picking up %s", i, cases[i].picker,
				 cases[i].ringing);
	}
	assert_false(peer_groups_match(NULL, a));
	assert_int_equal(diag_count(&diags, CONF_WARNING, 0, "group"), 0);
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

static void test_warnings_only(void **state)
{
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	const struct peer *p;

	(void)state;
	assert_int_equal(load("[general]\ndefaultexpiry=10000\n"
			      "[p]\ntype=peer\nhost=192.0.2.1\ntransport=wss,tcp\n"
			      "dtmfmode=shortinfo\n"
			      "[p]\ntype=peer\nhost=192.0.2.2\n", /* 8: replaces line 3 */
			      &cfg, &diags),
			 0);
	assert_int_equal(diags.errors, 0);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 1, "defaultexpiry (10000)"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 6, "does not implement 'wss'"), 1);
	assert_int_equal(diag_count(&diags, CONF_WARNING, 3, "defined again at sip.conf:8"), 1);
	p = peer_find(cfg, "p");
	assert_string_equal(p->host, "192.0.2.2");
	assert_int_equal(sipcfg_peer_count(cfg), 1);
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

/* transport=tls (issue 13): accepted, in the order written; the first is the primary. */
static void test_transport_tls(void **state)
{
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	const struct peer *p;

	(void)state;
	assert_int_equal(load("[general]\n[a]\ntype=friend\nhost=dynamic\nsecret=x\ntransport=tls,udp\n"
			      "[b]\ntype=friend\nhost=dynamic\nsecret=y\ntransport=udp,tcp,tls\n",
			      &cfg, &diags),
			 0);
	assert_int_equal(diags.count, 0);
	p = peer_find(cfg, "a");
	assert_int_equal(p->transport, PEER_TP_TLS);
	assert_int_equal(p->transports, PEER_TP_TLS | PEER_TP_UDP);
	p = peer_find(cfg, "b");
	assert_int_equal(p->transport, PEER_TP_UDP);
	assert_int_equal(p->transports, PEER_TP_TLS | PEER_TP_UDP | PEER_TP_TCP);
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

/* ---------------------------------------------------------------------------------------------
 * CLI output.
 */
static const char show_conf[] = "[general]\n"
				"context=public\n"
				"realm=ntt-east.ne.jp\n"
				"allowoverlap=no\n"
				"register => 0312345678@ntt-east.ne.jp/0312345678\n"
				"[mikaka-gw]\n"
				"type=peer\n"
				"host=192.0.2.1\n"
				"context=from_mikaka\n"
				"disallow=all\n"
				"allow=ulaw\n"
				"nat=no\n"
				"dtmfmode=inband\n"
				"qualify=no\n"
				"[801]\n"
				"type=friend\n"
				"host=dynamic\n"
				"secret=s3cr3t-801\n"
				"context=from_phone\n"
				"nat=yes\n"
				"qualify=yes\n"
				"callerid=\"Living room\" <801>\n"
				"deny=0.0.0.0/0.0.0.0\n"
				"permit=192.168.1.0/255.255.255.0\n"
				"[802]\n"
				"type=friend\n"
				"host=dynamic\n"
				"secret=x\n"
				"qualify=200\n"
				"[door]\n"
				"type=user\n"
				"secret=y\n";

static void live_state(const struct peer *p, struct peer_live *out, void *arg)
{
	(void)arg;
	if (!strcmp(p->name, "801")) {
		sa_set_str(&out->addr, "192.168.1.20", 5062);
		snprintf(out->username, sizeof(out->username), "801");
		snprintf(out->useragent, sizeof(out->useragent), "MicroSIP/3.20");
		snprintf(out->contact, sizeof(out->contact), "sip:801@192.168.1.20:5062");
		out->lastms = 12;
		/* two devices: the desk phone over UDP, a mobile over TLS */
		out->nbindings = 2;
		out->bindings[0] = (struct peer_binding){.transport = "UDP", .expires_in = 100,
							 .lastms = 12};
		sa_set_str(&out->bindings[0].addr, "192.168.1.20", 5062);
		snprintf(out->bindings[0].contact, sizeof(out->bindings[0].contact),
			 "sip:801@192.168.1.20:5062");
		snprintf(out->bindings[0].useragent, sizeof(out->bindings[0].useragent),
			 "MicroSIP/3.20");
		out->bindings[1] = (struct peer_binding){.transport = "TLS", .expires_in = 3600,
							 .lastms = -1};
		sa_set_str(&out->bindings[1].addr, "203.0.113.7", 40001);
		snprintf(out->bindings[1].contact, sizeof(out->bindings[1].contact),
			 "sip:801@10.0.0.5:5061;transport=tls");
		snprintf(out->bindings[1].useragent, sizeof(out->bindings[1].useragent),
			 "Linphone/5.2");
	} else if (!strcmp(p->name, "802")) {
		out->lastms = -1;
	}
}

static void assert_mbuf(struct mbuf *mb, const char *expect)
{
	mbuf_write(mb, "", 1);
	if (strcmp((const char *)mb->buf, expect)) {
		print_message("got:\n%s\nexpected:\n%s\n", (const char *)mb->buf, expect);
		fail();
	}
	mbuf_reset(mb);
}

/* outboundproxy=: [general] gives every peer its own unless it has one; [sip:]host[:port][,force].
 */
static void test_outboundproxy(void **state)
{
	struct conf_diags d = {0};
	struct sipcfg *cfg = NULL;
	const struct peer *p;

	(void)state;
	assert_int_equal(
	    load("[general]\noutboundproxy=proxy.example\n"
		 "[a]\ntype=peer\nhost=ntt-east.ne.jp\noutboundproxy=sip:192.0.2.1:5070,force\n"
		 "[b]\ntype=peer\nhost=192.0.2.9\n"
		 "[c]\ntype=peer\nhost=192.0.2.9\noutboundproxy=[2001:db8::1]:5062\n",
		 &cfg, &d),
	    0);
	p = peer_find(cfg, "a");
	assert_string_equal(p->outboundproxy, "192.0.2.1");
	assert_int_equal(p->outboundproxy_port, 5070);
	assert_int_equal(peer_origin(p, PEER_KEY_OUTBOUNDPROXY).line, 6);
	p = peer_find(cfg, "b");
	assert_string_equal(p->outboundproxy, "proxy.example");
	assert_int_equal(p->outboundproxy_port, 0);
	p = peer_find(cfg, "c");
	assert_string_equal(p->outboundproxy, "2001:db8::1");
	assert_int_equal(p->outboundproxy_port, 5062);
	assert_int_equal(diag_count(&d, CONF_WARNING, 0, "outboundproxy"), 0);
	mem_deref(cfg);
	cfg = NULL;
	conf_diags_reset(&d);
	assert_int_equal(
	    load("[a]\ntype=peer\nhost=192.0.2.9\noutboundproxy=bad host:x\n", &cfg, &d), EINVAL);
	assert_int_equal(diag_count(&d, CONF_ERROR, 4, "outboundproxy"), 1);
	conf_diags_reset(&d);
}

static void test_show_peers(void **state)
{
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	struct mbuf mb;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(load(show_conf, &cfg, &diags), 0);

	assert_int_equal(sipcfg_show_peers(cfg, &mb, NULL, NULL), 0);
	assert_mbuf(&mb,
		    "Name/username             Host                                    Dyn "
		    "Forcerport Comedia    ACL Port     Status      Description\n"
		    "801                       (Unspecified)                            D  Yes "
		    "       Yes         A  0        UNKNOWN\n"
		    "802                       (Unspecified)                            D  Auto "
		    "(No)  No             0        UNKNOWN\n"
		    "mikaka-gw                 192.0.2.1                                   No "
		    "        No             5060     Unmonitored\n"
		    "3 sip peers [Monitored: 0 online, 2 offline Unmonitored: 1 online, 0 "
		    "offline]\n");

	assert_int_equal(sipcfg_show_peers(cfg, &mb, live_state, NULL), 0);
	assert_mbuf(&mb,
		    "Name/username             Host                                    Dyn "
		    "Forcerport Comedia    ACL Port     Status      Description\n"
		    "801/801                   192.168.1.20                             D  Yes "
		    "       Yes         A  5062     OK (12 ms)  UDP,TLS\n"
		    "802                       (Unspecified)                            D  Auto "
		    "(No)  No             0        UNREACHABLE\n"
		    "mikaka-gw                 192.0.2.1                                   No "
		    "        No             5060     Unmonitored\n"
		    "3 sip peers [Monitored: 1 online, 1 offline Unmonitored: 1 online, 0 "
		    "offline]\n");
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

static void test_show_peer(void **state)
{
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	struct mbuf mb;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(load(show_conf, &cfg, &diags), 0);
	assert_int_equal(sipcfg_show_peer(cfg, "nosuch", &mb, NULL, NULL), ENOENT);
	assert_int_equal(mb.end, 0);

	assert_int_equal(sipcfg_show_peer(cfg, "801", &mb, live_state, NULL), 0);
	assert_null(memmem(mb.buf, mb.end, "s3cr3t", 6));
	assert_mbuf(&mb, "\n\n"
			 "  * Name       : 801\n"
			 "  Type         : friend\n"
			 "  Defined at   : sip.conf:15\n"
			 "  Secret       : <Set>\n"
			 "  MD5Secret    : <Not set>\n"
			 "  Context      : from_phone\n"
			 "  Call limit   : 0\n"
			 "  Dynamic      : Yes\n"
			 "  Callerid     : \"Living room\" <801>\n"
			 "  Insecure     : no\n"
			 "  Force rport  : Yes\n"
			 "  Symmetric RTP: Yes\n"
			 "  ACL          : Yes\n"
			 "                 deny   0.0.0.0/0.0.0.0\n"
			 "                 permit 192.168.1.0/255.255.255.0\n"
			 "  DirectMedia  : No\n"
			 "  Encryption   : No\n"
			 "  DTMFmode     : rfc2833\n"
			 "  ToHost       :\n"
			 "  Addr->IP     : 192.168.1.20:5062\n"
			 "  Prim.Transp. : UDP\n"
			 "  Allowed.Trsp : UDP\n"
			 "  Def. Username: 801\n"
			 "  Codecs       : (ulaw|alaw)\n"
			 "  Status       : OK (12 ms)\n"
			 "  Useragent    : MicroSIP/3.20\n"
			 "  Reg. Contact : sip:801@192.168.1.20:5062\n"
			 "  Qualify Freq : 60000 ms\n"
			 "  Bindings     : 2\n"
			 "  Binding 1    : sip:801@192.168.1.20:5062\n"
			 "    Transport  : UDP\n"
			 "    Addr->IP   : 192.168.1.20:5062\n"
			 "    Useragent  : MicroSIP/3.20\n"
			 "    Expires in : 100 s\n"
			 "    Status     : OK (12 ms)\n"
			 "  Binding 2    : sip:801@10.0.0.5:5061;transport=tls\n"
			 "    Transport  : TLS\n"
			 "    Addr->IP   : 203.0.113.7:40001\n"
			 "    Useragent  : Linphone/5.2\n"
			 "    Expires in : 3600 s\n"
			 "    Status     : UNREACHABLE\n"
			 "\n");

	assert_int_equal(sipcfg_show_peer(cfg, "MIKAKA-GW", &mb, NULL, NULL), 0);
	assert_mbuf(&mb, "\n\n"
			 "  * Name       : mikaka-gw\n"
			 "  Type         : peer\n"
			 "  Defined at   : sip.conf:6\n"
			 "  Secret       : <Not set>\n"
			 "  MD5Secret    : <Not set>\n"
			 "  Context      : from_mikaka\n"
			 "  Call limit   : 0\n"
			 "  Dynamic      : No\n"
			 "  Callerid     : <unspecified>\n"
			 "  Insecure     : no\n"
			 "  Force rport  : No\n"
			 "  Symmetric RTP: No\n"
			 "  ACL          : No\n"
			 "  DirectMedia  : No\n"
			 "  Encryption   : No\n"
			 "  DTMFmode     : inband\n"
			 "  ToHost       : 192.0.2.1\n"
			 "  Addr->IP     : 192.0.2.1:5060\n"
			 "  Prim.Transp. : UDP\n"
			 "  Allowed.Trsp : UDP\n"
			 "  Def. Username:\n"
			 "  Codecs       : (ulaw)\n"
			 "  Status       : Unmonitored\n"
			 "  Useragent    :\n"
			 "  Reg. Contact :\n"
			 "  Qualify Freq : 60000 ms\n"
			 "\n");
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

static void reg_state(const struct sipcfg_register *r, struct sipcfg_reg_live *out, void *arg)
{
	(void)r;
	(void)arg;
	snprintf(out->state, sizeof(out->state), "Registered");
	out->refresh = 3600;
}

static void test_show_settings_registry(void **state)
{
	struct conf_diags diags = {0};
	struct sipcfg *cfg = NULL;
	struct mbuf mb;

	(void)state;
	mbuf_init(&mb);
	assert_int_equal(load("[general]\ncontext=public\nrealm=ntt-east.ne.jp\n"
			      "allowoverlap=no\nuseragent=mikaka\ntos_audio=ef\n"
			      "register => 0312345678@ntt-east.ne.jp/0312345678\n"
			      "register => tcp://u@example.net:secret@192.0.2.5:5070\n",
			      &cfg, &diags),
			 0);
	assert_int_equal(sipcfg_show_settings(cfg, &mb), 0);
	assert_mbuf(&mb, "\n\nGlobal Settings:\n"
			 "----------------\n"
			 "  Allow unknown access:   No\n"
			 "  Allow overlap dialing:  No\n"
			 "  Our auth realm          ntt-east.ne.jp\n"
			 "  Always auth rejects:    Yes\n"
			 "  User Agent:             mikaka\n"
			 "\nNetwork QoS Settings:\n"
			 "---------------------------\n"
			 "  IP ToS SIP:             CS4\n"
			 "  IP ToS RTP audio:       EF\n"
			 "\nGlobal Signalling Settings:\n"
			 "---------------------------\n"
			 "  Codecs:                 (ulaw|alaw)\n"
			 "  DNS SRV lookup:         Yes\n"
			 "  Reg. min duration       60 secs\n"
			 "  Reg. max duration:      3600 secs\n"
			 "  Reg. default duration:  120 secs\n"
			 "\nDefault Settings:\n"
			 "-----------------\n"
			 "  Allowed transports:     UDP\n"
			 "  Outbound transport:     UDP\n"
			 "  Context:                public\n"
			 "  Force rport:            Auto (No)\n"
			 "  DTMF:                   rfc2833\n"
			 "  Qualify:                0\n"
			 "\n----\n");

	assert_int_equal(sipcfg_show_registry(cfg, &mb, NULL, NULL), 0);
	assert_mbuf(&mb, "Host                                    dnsmgr Username       Refresh "
			 "State                Reg.Time\n"
			 "ntt-east.ne.jp:5060                     N      0312345678         120 "
			 "Unregistered\n"
			 "192.0.2.5:5070                          N      u@example.ne       120 "
			 "Unregistered\n"
			 "2 SIP registrations.\n");
	assert_int_equal(sipcfg_show_registry(cfg, &mb, reg_state, NULL), 0);
	assert_mbuf(&mb, "Host                                    dnsmgr Username       Refresh "
			 "State                Reg.Time\n"
			 "ntt-east.ne.jp:5060                     N      0312345678        3600 "
			 "Registered\n"
			 "192.0.2.5:5070                          N      u@example.ne      3600 "
			 "Registered\n"
			 "2 SIP registrations.\n");
	mem_deref(cfg);
	conf_diags_reset(&diags);
}

/* notifyringing= and notifyhold= (chan_sip's busy-lamp settings) in [general]. */
static void test_notify_settings(void **state)
{
	static const struct {
		const char *text;
		int ringing; /* enum peer_notifyringing, -1: an error */
		bool hold;
	} cases[] = {
	    {"[general]\n", PEER_NOTIFYRINGING_YES, false},
	    {"[general]\nnotifyringing=no\nnotifyhold=yes\n", PEER_NOTIFYRINGING_NO, true},
	    {"[general]\nnotifyringing=notinuse\n", PEER_NOTIFYRINGING_NOTINUSE, false},
	    {"[general]\nnotifyringing=yes\nnotifyhold=no\n", PEER_NOTIFYRINGING_YES, false},
	    {"[general]\nnotifyringing=sometimes\n", -1, false},
	    {"[general]\nnotifyhold=maybe\n", -1, false},
	    {"[general]\nnotifycid=often\n", -1, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf_diags diags = {0};
		struct sipcfg *cfg = NULL;
		int err = load(cases[i].text, &cfg, &diags);

		if (cases[i].ringing < 0) {
			assert_int_equal(err, EINVAL);
			assert_int_equal(diag_count(&diags, CONF_ERROR, 2, "notify"), 1);
		} else {
			if (err)
				dump_diags(&diags);
			assert_int_equal(err, 0);
			assert_int_equal(sipcfg_general(cfg)->notifyringing, cases[i].ringing);
			assert_int_equal(sipcfg_general(cfg)->notifyhold, cases[i].hold);
			assert_false(sipcfg_general(cfg)->notifycid);
			/* Known keys now: no "not implemented" warning. */
			assert_int_equal(diag_count(&diags, CONF_WARNING, 0, "notify"), 0);
		}
		mem_deref(cfg);
		conf_diags_reset(&diags);
	}
	for (size_t i = 0; i < 3; i++) {
		static const char *const on[] = {"yes", "ignore-context", "no"};
		struct conf_diags diags = {0};
		struct sipcfg *cfg = NULL;
		char text[64];

		snprintf(text, sizeof(text), "[general]\nnotifycid=%s\n", on[i]);
		assert_int_equal(load(text, &cfg, &diags), 0);
		assert_int_equal(sipcfg_general(cfg)->notifycid, i < 2);
		mem_deref(cfg);
		conf_diags_reset(&diags);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seed),	  cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_templates),	  cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_unknown_keys),  cmocka_unit_test(test_acl),
	    cmocka_unit_test(test_acl_hostbits),  cmocka_unit_test(test_codecs),
	    cmocka_unit_test(test_callerid),	  cmocka_unit_test(test_nat_insecure),
	    cmocka_unit_test(test_register),	  cmocka_unit_test(test_register_expiry_order),
	    cmocka_unit_test(test_errors),	  cmocka_unit_test(test_warnings_only),
	    cmocka_unit_test(test_groups),
	    cmocka_unit_test(test_transport_tls),
	    cmocka_unit_test(test_outboundproxy), cmocka_unit_test(test_show_peers),
	    cmocka_unit_test(test_show_peer),	  cmocka_unit_test(test_show_settings_registry),
	    cmocka_unit_test(test_notify_settings),
	};

	return cmocka_run_group_tests_name("peer", tests, NULL, NULL);
}
