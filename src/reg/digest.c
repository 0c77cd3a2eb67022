/* digest: HTTP digest authentication for SIP (RFC 7616 with MD5 and SHA-256, RFC 2617, RFC 3261
 * §22.4): hashes through nettle, the credentials/challenge syntax, stateless nonces bound to
 * this process by an HMAC key, and the one challenge and check that both the registrar
 * (REGISTER) and the call engine (INVITE) apply. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <nettle/hmac.h>
#include <nettle/md5.h>
#include <nettle/sha2.h>

#include "reg_int.h"

static const char hexdig[] = "0123456789abcdef";

static void hex_write(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[b[i] >> 4];
		out[2 * i + 1] = hexdig[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t reg_digest_hexlen(enum reg_alg alg)
{
	return alg == REG_DIGEST_SHA256 ? 2 * SHA256_DIGEST_SIZE : 2 * MD5_DIGEST_SIZE;
}

const char *reg_digest_name(enum reg_alg alg)
{
	return alg == REG_DIGEST_SHA256 ? "SHA-256" : "MD5";
}

void reg_digest_hash(enum reg_alg alg, const struct pl *parts, size_t n, char *out)
{
	uint8_t d[SHA256_DIGEST_SIZE];

	if (alg == REG_DIGEST_SHA256) {
		struct sha256_ctx c;

		sha256_init(&c);
		for (size_t i = 0; i < n; i++) {
			if (i)
				sha256_update(&c, 1, (const uint8_t *)":");
			if (parts[i].l)
				sha256_update(&c, parts[i].l, (const uint8_t *)parts[i].p);
		}
		sha256_digest(&c, SHA256_DIGEST_SIZE, d);
		hex_write(d, SHA256_DIGEST_SIZE, out);
	} else {
		struct md5_ctx c;

		md5_init(&c);
		for (size_t i = 0; i < n; i++) {
			if (i)
				md5_update(&c, 1, (const uint8_t *)":");
			if (parts[i].l)
				md5_update(&c, parts[i].l, (const uint8_t *)parts[i].p);
		}
		md5_digest(&c, MD5_DIGEST_SIZE, d);
		hex_write(d, MD5_DIGEST_SIZE, out);
	}
}

void reg_digest_ha1(enum reg_alg alg, const struct pl *user, const struct pl *realm,
		    const struct pl *password, char *out)
{
	struct pl parts[3] = {*user, *realm, *password};

	reg_digest_hash(alg, parts, 3, out);
}

void reg_digest_response(enum reg_alg alg, const char *ha1, const struct pl *nonce,
			 const struct pl *nc, const struct pl *cnonce, const struct pl *qop,
			 const struct pl *method, const struct pl *uri, char *out)
{
	char ha2[REG_HASH_HEX_MAX];
	struct pl a2[2] = {*method, *uri};

	reg_digest_hash(alg, a2, 2, ha2);
	if (pl_isset(qop) && qop->l) {
		struct pl p[6] = {pl_from_str(ha1), *nonce, *nc, *cnonce, *qop, pl_from_str(ha2)};

		reg_digest_hash(alg, p, 6, out);
	} else {
		struct pl p[3] = {pl_from_str(ha1), *nonce, pl_from_str(ha2)};

		reg_digest_hash(alg, p, 3, out);
	}
}

int reg_alg_from(const struct pl *name, enum reg_alg *alg)
{
	if (!pl_isset(name) || !name->l || pl_caseeq_str(name, "MD5")) {
		*alg = REG_DIGEST_MD5;
		return 0;
	}
	if (pl_caseeq_str(name, "SHA-256")) {
		*alg = REG_DIGEST_SHA256;
		return 0;
	}
	return EINVAL;
}

/* ---------------------------------------------------------------------------------------------
 * "Digest" LWS auth-param *(COMMA auth-param) (RFC 3261 §25.1, RFC 7616 §3.4).
 */
static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-.!%*_+`'~", c);
}

static struct pl *auth_slot(struct reg_auth *a, const struct pl *name)
{
	/* Indexed by the name's length, so that each parameter is compared with the one or two
	 * names of its length rather than with all twelve (every REGISTER with credentials
	 * parses seven to ten of them). */
	static const struct {
		const char *name;
		size_t off;
	} slots[] = {
	    {"nc", offsetof(struct reg_auth, nc)},
	    {"uri", offsetof(struct reg_auth, uri)},
	    {"qop", offsetof(struct reg_auth, qop)},
	    {"realm", offsetof(struct reg_auth, realm)},
	    {"nonce", offsetof(struct reg_auth, nonce)},
	    {"stale", offsetof(struct reg_auth, stale)},
	    {"cnonce", offsetof(struct reg_auth, cnonce)},
	    {"opaque", offsetof(struct reg_auth, opaque)},
	    {"domain", offsetof(struct reg_auth, domain)},
	    {"username", offsetof(struct reg_auth, username)},
	    {"response", offsetof(struct reg_auth, response)},
	    {"algorithm", offsetof(struct reg_auth, algorithm)},
	};
	/* [len]: the first slot of that length and how many follow. */
	static const uint8_t first[10] = {0, 0, 0, 1, 0, 3, 6, 0, 9, 11};
	static const uint8_t count[10] = {0, 0, 1, 2, 0, 3, 3, 0, 2, 1};

	if (name->l >= ARRAY_SIZE(first))
		return NULL;
	for (size_t i = first[name->l]; i < (size_t)first[name->l] + count[name->l]; i++) {
		if (strncasecmp(name->p, slots[i].name, name->l) == 0)
			return (struct pl *)((char *)a + slots[i].off);
	}
	return NULL;
}

int reg_auth_parse(struct reg_auth *a, const struct pl *value)
{
	const char *p, *end;

	memset(a, 0, sizeof(*a));
	if (!pl_isset(value))
		return EBADMSG;
	p = value->p;
	end = p + value->l;
	while (p < end && is_lws(*p))
		p++;
	if ((size_t)(end - p) < 6 || strncasecmp(p, "Digest", 6) != 0 ||
	    (p + 6 < end && !is_lws(p[6])))
		return EPROTO;
	p += 6;

	for (;;) {
		struct pl name, val;
		struct pl *slot;

		while (p < end && (is_lws(*p) || *p == ','))
			p++;
		if (p >= end)
			break;
		name.p = p;
		while (p < end && is_token_char(*p))
			p++;
		name.l = (size_t)(p - name.p);
		if (!name.l)
			return EBADMSG;
		while (p < end && is_lws(*p))
			p++;
		if (p >= end || *p != '=')
			return EBADMSG;
		p++;
		while (p < end && is_lws(*p))
			p++;
		if (p < end && *p == '"') {
			p++;
			val.p = p;
			while (p < end && *p != '"') {
				if (*p == '\\' && p + 1 < end)
					p++;
				p++;
			}
			if (p >= end)
				return EBADMSG;
			val.l = (size_t)(p - val.p);
			p++;
		} else {
			val.p = p;
			while (p < end && is_token_char(*p))
				p++;
			val.l = (size_t)(p - val.p);
			if (!val.l)
				return EBADMSG;
		}
		if (val.l > REG_AUTH_PARAM_MAX)
			return EBADMSG;
		while (p < end && is_lws(*p))
			p++;
		if (p < end && *p != ',')
			return EBADMSG;
		slot = auth_slot(a, &name);
		if (slot) {
			if (slot->p) {
				a->dup = true;
				return EBADMSG;
			}
			*slot = val;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Nonces. Stateless: whatever we issued can be recognised by the MAC and aged by the time in
 * it, so a flood of challenges costs no memory. The key is random per process: nonces do not
 * survive a restart, and a phone presenting an old one gets stale=true.
 */
#define NONCE_TIME 8
#define NONCE_RAND 4
#define NONCE_MAC  12

_Static_assert(sizeof(struct hmac_sha256_ctx) <= sizeof(((struct reg_nonce_key *)0)->keyed),
	       "reg_nonce_key.keyed cannot hold nettle's HMAC state");

void reg_nonce_key_init(struct reg_nonce_key *k)
{
	struct hmac_sha256_ctx c;

	rand_bytes(k->key, sizeof(k->key));
	hmac_sha256_set_key(&c, sizeof(k->key), k->key);
	memcpy(k->keyed, &c, sizeof(c));
}

static void nonce_mac(const struct reg_nonce_key *k, const uint8_t *data, size_t n, uint8_t *mac)
{
	struct hmac_sha256_ctx c;

	/* A copy of the keyed state: hmac_sha256_digest() leaves the state it works on keyed
	 * again, but the key is shared (const) and copying 300 bytes is cheaper than keying. */
	memcpy(&c, k->keyed, sizeof(c));
	hmac_sha256_update(&c, n, data);
	hmac_sha256_digest(&c, NONCE_MAC, mac);
}

void reg_nonce_make(const struct reg_nonce_key *k, uint64_t now_ms, char *out)
{
	uint8_t b[NONCE_TIME + NONCE_RAND + NONCE_MAC];

	for (int i = 0; i < NONCE_TIME; i++)
		b[i] = (uint8_t)(now_ms >> (8 * (NONCE_TIME - 1 - i)));
	rand_bytes(b + NONCE_TIME, NONCE_RAND);
	nonce_mac(k, b, NONCE_TIME + NONCE_RAND, b + NONCE_TIME + NONCE_RAND);
	hex_write(b, sizeof(b), out);
}

enum reg_nonce_check reg_nonce_check(const struct reg_nonce_key *k, const struct pl *nonce,
				     uint64_t now_ms, uint64_t lifetime_ms, uint64_t *tag)
{
	uint8_t b[NONCE_TIME + NONCE_RAND + NONCE_MAC], mac[NONCE_MAC];
	uint64_t t = 0;
	uint8_t diff = 0;

	if (!pl_isset(nonce) || nonce->l != REG_NONCE_LEN)
		return REG_NONCE_BAD;
	for (size_t i = 0; i < sizeof(b); i++) {
		int hi = hex_val(nonce->p[2 * i]), lo = hex_val(nonce->p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return REG_NONCE_BAD;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	nonce_mac(k, b, NONCE_TIME + NONCE_RAND, mac);
	for (size_t i = 0; i < NONCE_MAC; i++)
		diff |= mac[i] ^ b[NONCE_TIME + NONCE_RAND + i];
	if (diff)
		return REG_NONCE_BAD;
	for (int i = 0; i < NONCE_TIME; i++)
		t = t << 8 | b[i];
	if (tag) {
		*tag = 0;
		for (int i = 0; i < 8; i++)
			*tag = *tag << 8 | b[NONCE_TIME + NONCE_RAND + i];
	}
	if (t > now_ms || now_ms - t > lifetime_ms)
		return REG_NONCE_STALE;
	return REG_NONCE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The check every request from a phone goes through (REGISTER in registrar.c, INVITE in
 * src/call/auth.c): one challenge, one verification.
 */
void reg_digest_set_default(struct reg_digest_set *ds)
{
	memset(ds, 0, sizeof(*ds));
	/* MD5 only, as Asterisk, FreeSWITCH and Kamailio: Debian 12's baresip (libre 1.1) gives
	 * up on a SHA-256 challenge instead of skipping it, and Twinkle keeps only the last
	 * challenge of a 401 and knows MD5 only. SHA-256 is an opt-in (digest_algorithms). */
	ds->algorithms = REG_ALG_MD5;
	ds->sha256_first = false;
	ds->nonce_lifetime = 300;
}

static unsigned alg_flag(enum reg_alg alg)
{
	return alg == REG_DIGEST_SHA256 ? REG_ALG_SHA256 : REG_ALG_MD5;
}

unsigned reg_digest_offer(const struct reg_digest_set *set, const struct peer *p)
{
	/* A peer with only md5secret can answer MD5 only: offering SHA-256 first would make a
	 * phone that prefers it fail forever. */
	if (p && !p->secret && p->md5secret)
		return REG_ALG_MD5;
	return set->algorithms;
}

int reg_digest_challenge(const struct reg_digest_ctx *dc, const struct peer *p, bool stale,
			 const char *name, struct mbuf *mb)
{
	unsigned algs = reg_digest_offer(dc->set, p);
	char nonce[REG_NONCE_LEN + 1];
	enum reg_alg order[2] = {REG_DIGEST_MD5, REG_DIGEST_SHA256};
	int err = 0;

	if (dc->set->sha256_first) {
		order[0] = REG_DIGEST_SHA256;
		order[1] = REG_DIGEST_MD5;
	}
	reg_nonce_make(dc->key, dc->now_ms, nonce);
	for (int i = 0; i < 2; i++) {
		if (!(algs & alg_flag(order[i])))
			continue;
		/* Joined rather than printed: every REGISTER and INVITE from a phone is challenged
		 * once, and vfprintf cost more than the rest of the 401. */
		err |= mbuf_write_str(mb, name);
		err |= mbuf_write_str(mb, ": Digest realm=\"");
		err |= mbuf_write_str(mb, dc->realm);
		err |= mbuf_write_str(mb, "\", nonce=\"");
		err |= mbuf_write_str(mb, nonce);
		err |= mbuf_write_str(mb, "\", algorithm=");
		err |= mbuf_write_str(mb, reg_digest_name(order[i]));
		err |= mbuf_write_str(mb, stale ? ", qop=\"auth\", stale=true\r\n"
						: ", qop=\"auth\"\r\n");
	}
	return err ? ENOMEM : 0;
}

static bool hex_eq(const struct pl *a, const char *b)
{
	size_t n = strlen(b);

	return a->l == n && strncasecmp(a->p, b, n) == 0;
}

/* nc: exactly 8 hex digits (RFC 7616 §3.4). */
static int nc_parse(const struct pl *nc, uint32_t *out)
{
	uint32_t v = 0;

	if (nc->l != 8)
		return EINVAL;
	for (size_t i = 0; i < 8; i++) {
		int d = hex_val(nc->p[i]);

		if (d < 0)
			return EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

/* The credentials to judge: the first for our realm in an algorithm offered. NONE when there is
 * no credentials for our realm; BAD when one does not parse or when those for our realm are all
 * in algorithms not offered. */
static enum reg_digest_verdict credentials_pick(const struct reg_digest_ctx *dc,
						const struct sip_msg *msg, struct reg_auth *a,
						enum reg_alg *alg)
{
	bool ours = false;

	for (size_t i = 0; i < msg->nhdrs; i++) {
		const struct sip_hdr *h = &msg->hdrs[i];
		struct reg_auth cur;
		enum reg_alg x;
		int err;

		if (h->id != SIP_HDR_AUTHORIZATION && h->id != SIP_HDR_PROXY_AUTHORIZATION)
			continue;
		err = reg_auth_parse(&cur, &h->value);
		if (err == EPROTO)
			continue; /* another scheme */
		if (err)
			return REG_DIGEST_BAD;
		if (!pl_isset(&cur.realm) || !pl_eq_str(&cur.realm, dc->realm))
			continue;
		ours = true;
		if (reg_alg_from(&cur.algorithm, &x) || !(dc->set->algorithms & alg_flag(x)))
			continue;
		*a = cur;
		*alg = x;
		return REG_DIGEST_OK;
	}
	return ours ? REG_DIGEST_BAD : REG_DIGEST_NONE;
}

enum reg_digest_verdict reg_digest_verify(const struct reg_digest_ctx *dc,
					  const struct sip_msg *msg, const struct peer *p,
					  struct reg_digest_result *res)
{
	char ha1[REG_HASH_HEX_MAX], expect[REG_HASH_HEX_MAX];
	struct pl realm = pl_from_str(dc->realm);
	enum reg_digest_verdict v;
	struct reg_digest_result r = {0};
	struct reg_auth a;
	bool known;

	v = credentials_pick(dc, msg, &a, &r.alg);
	if (v != REG_DIGEST_OK)
		return v;
	if (!pl_isset(&a.username) || !pl_isset(&a.nonce) || !pl_isset(&a.uri) ||
	    !pl_isset(&a.response) || !pl_isset(&a.qop) || !pl_isset(&a.nc) ||
	    !pl_isset(&a.cnonce) || !pl_caseeq_str(&a.qop, "auth") || nc_parse(&a.nc, &r.nc))
		return REG_DIGEST_BAD;

	/* The username must be the peer's name (or its defaultuser). The hash is computed
	 * whatever happens, so an unknown user costs the same time as a known one. */
	known = p && (pl_caseeq_str(&a.username, p->name) ||
		      (p->defaultuser && pl_eq_str(&a.username, p->defaultuser)));
	if (known && p->secret) {
		struct pl pw = pl_from_str(p->secret);

		reg_digest_ha1(r.alg, &a.username, &realm, &pw, ha1);
	} else if (known && p->md5secret && r.alg == REG_DIGEST_MD5) {
		snprintf(ha1, sizeof(ha1), "%s", p->md5secret);
	} else {
		struct pl pw = PL("\x01 no password");

		known = false;
		reg_digest_ha1(r.alg, &a.username, &realm, &pw, ha1);
	}
	reg_digest_response(r.alg, ha1, &a.nonce, &a.nc, &a.cnonce, &a.qop, &msg->method, &a.uri,
			    expect);
	if (!known || !hex_eq(&a.response, expect))
		return REG_DIGEST_FAIL;

	/* The password is right. Now the nonce: ours and fresh, else a new one (stale=true, so
	 * the phone retries without asking its user). */
	if (reg_nonce_check(dc->key, &a.nonce, dc->now_ms, (uint64_t)dc->set->nonce_lifetime * 1000,
			    &r.tag) != REG_NONCE_OK)
		return REG_DIGEST_STALE;
	if (res)
		*res = r;
	return REG_DIGEST_OK;
}
