/* call auth: digest challenge and verification of INVITEs from phones (allowguest=no), on top
 * of the registrar's digest primitives, with its failed-authentication ban. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "call_int.h"
#include "cfg.h"
#include "peer.h"
#include "reg.h"

#define LOG_MODULE "call"

int call_auth_init(struct call_eng *eng)
{
	struct reg_nonce_key *k = calloc(1, sizeof(*k));

	if (!k)
		return ENOMEM;
	reg_nonce_key_init(k);
	eng->nkey = k;
	return 0;
}

void call_auth_free(struct call_eng *eng)
{
	free(eng->nkey);
	eng->nkey = NULL;
}

static const char *realm_of(const struct call_eng *eng)
{
	const char *r = sipcfg_general(eng->cfg->peers)->realm;

	return r ? r : "mikaka";
}

static void challenge(struct call_eng *eng, struct sip_strans *st, bool stale)
{
	char nonce[REG_NONCE_LEN + 1];
	char hdr[512];

	reg_nonce_make(eng->nkey, loop_now(eng->loop), nonce);
	snprintf(hdr, sizeof(hdr),
		 "WWW-Authenticate: Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5, "
		 "qop=\"auth\"%s\r\n",
		 realm_of(eng), nonce, stale ? ", stale=true" : "");
	sip_strans_reply(st, 401, "Unauthorized", hdr, NULL, NULL);
}

static bool hex_eq(const struct pl *a, const char *b)
{
	size_t n = strlen(b);

	return a->l == n && strncasecmp(a->p, b, n) == 0;
}

enum call_auth call_auth_check(struct call_eng *eng, struct sip_strans *st,
			       const struct sip_msg *msg, const struct peer *p)
{
	const char *realm = realm_of(eng);
	char ha1[REG_HASH_HEX_MAX], expect[REG_HASH_HEX_MAX];
	struct reg_auth a, cur;
	bool found = false, known;
	enum reg_alg alg;
	uint64_t tag;

	for (size_t i = 0; i < msg->nhdrs; i++) {
		const struct sip_hdr *h = &msg->hdrs[i];

		if (h->id != SIP_HDR_AUTHORIZATION && h->id != SIP_HDR_PROXY_AUTHORIZATION)
			continue;
		if (reg_auth_parse(&cur, &h->value))
			continue;
		if (pl_isset(&cur.realm) && pl_eq_str(&cur.realm, realm)) {
			a = cur;
			found = true;
			break;
		}
	}
	if (!found) {
		call_refused(eng, msg, "no credentials: challenged");
		challenge(eng, st, false);
		return CALL_AUTH_ANSWERED;
	}
	if (!pl_isset(&a.username) || !pl_isset(&a.nonce) || !pl_isset(&a.uri) ||
	    !pl_isset(&a.response) || reg_alg_from(&a.algorithm, &alg)) {
		call_refused(eng, msg, "bad Authorization header");
		sip_strans_reply(st, 400, "Bad Authorization Header", NULL, NULL, NULL);
		return CALL_AUTH_ANSWERED;
	}
	known = p && (pl_caseeq_str(&a.username, p->name) ||
		      (p->defaultuser && pl_eq_str(&a.username, p->defaultuser)));
	if (known && p->secret) {
		struct pl pw = pl_from_str(p->secret), rl = pl_from_str(realm);

		reg_digest_ha1(alg, &a.username, &rl, &pw, ha1);
	} else if (known && p->md5secret && alg == REG_DIGEST_MD5) {
		snprintf(ha1, sizeof(ha1), "%s", p->md5secret);
	} else {
		struct pl pw = PL("\x01 no password"), rl = pl_from_str(realm);

		known = false;
		reg_digest_ha1(alg, &a.username, &rl, &pw, ha1);
	}
	reg_digest_response(alg, ha1, &a.nonce, &a.nc, &a.cnonce, &a.qop, &msg->method, &a.uri,
			    expect);
	if (!known || !hex_eq(&a.response, expect)) {
		call_refused(eng, msg, "wrong user or password");
		if (eng->reg)
			reg_auth_failed(eng->reg, &msg->src);
		sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
		return CALL_AUTH_ANSWERED;
	}
	if (reg_nonce_check(eng->nkey, &a.nonce, loop_now(eng->loop),
			    (uint64_t)eng->set.nonce_lifetime * 1000, &tag) != REG_NONCE_OK) {
		challenge(eng, st, true);
		return CALL_AUTH_ANSWERED;
	}
	return CALL_AUTH_OK;
}
