/* call auth: digest challenge and verification of INVITEs from phones (allowguest=no): the
 * registrar's check (reg_digest_verify, src/reg/digest.c) with the registrar's settings
 * (digest_algorithms, nonce_lifetime) and its failed-authentication ban. */
#include <errno.h>
#include <stdlib.h>

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

static void digest_ctx(const struct call_eng *eng, struct reg_digest_ctx *dc)
{
	dc->realm = realm_of(eng);
	dc->set = &eng->set.digest;
	dc->key = eng->nkey;
	dc->now_ms = loop_now(eng->loop);
}

/* 401 with the same challenges a REGISTER of this peer gets (digest_algorithms). */
static void challenge(struct call_eng *eng, struct sip_strans *st, const struct peer *p, bool stale)
{
	struct reg_digest_ctx dc;
	struct mbuf mb;

	digest_ctx(eng, &dc);
	mbuf_init(&mb);
	reg_digest_challenge(&dc, p, stale, "WWW-Authenticate", &mb);
	mbuf_write(&mb, "", 1);
	sip_strans_reply(st, 401, "Unauthorized", (const char *)mb.buf, NULL, NULL);
	mbuf_reset(&mb);
}

enum call_auth call_auth_check(struct call_eng *eng, struct sip_strans *st,
			       const struct sip_msg *msg, const struct peer *p)
{
	struct reg_digest_ctx dc;

	digest_ctx(eng, &dc);
	switch (reg_digest_verify(&dc, msg, p, NULL)) {
	case REG_DIGEST_NONE:
		call_refused(eng, msg, "no credentials: challenged");
		challenge(eng, st, p, false);
		break;
	case REG_DIGEST_BAD:
		call_refused(eng, msg, "bad Authorization header");
		sip_strans_reply(st, 400, "Bad Authorization Header", NULL, NULL, NULL);
		break;
	case REG_DIGEST_FAIL:
		call_refused(eng, msg, "wrong user or password");
		if (eng->reg)
			reg_auth_failed(eng->reg, &msg->src);
		sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
		break;
	case REG_DIGEST_STALE:
		challenge(eng, st, p, true);
		break;
	case REG_DIGEST_OK:
		return CALL_AUTH_OK;
	}
	return CALL_AUTH_ANSWERED;
}

const struct peer *call_eng_authenticate(struct call_eng *eng, struct sip_strans *st,
					 const struct sip_msg *msg)
{
	const struct sipcfg *pc = eng->cfg->peers;
	const struct peer *p;
	char user[64];

	if (eng->reg && reg_is_banned(eng->reg, &msg->src)) {
		sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
		return NULL;
	}
	p = eng->reg ? reg_peer_by_addr(eng->reg, pc, &msg->src) : NULL;
	if (!p || p->dynamic) {
		struct pl u = msg->from.uri.user;

		p = NULL;
		if (pl_strcpy(&u, user, sizeof(user)) == 0)
			p = peer_find(pc, user);
		if (p && p->type == PEER_TYPE_PEER)
			p = NULL;
	}
	/* A peer without a secret is known by its address or name alone, as for calls. */
	if ((!p || p->secret || p->md5secret) && call_auth_check(eng, st, msg, p) != CALL_AUTH_OK)
		return NULL;
	if (!p || !peer_acl_allows(p, &msg->src)) {
		sip_strans_reply(st, 403, "Forbidden", NULL, NULL, NULL);
		return NULL;
	}
	return p;
}
