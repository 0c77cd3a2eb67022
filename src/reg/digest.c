/* digest: HTTP digest authentication for SIP (RFC 7616 with MD5 and SHA-256, RFC 2617, RFC 3261
 * §22.4): hashes through nettle, the credentials/challenge syntax, and stateless nonces bound to
 * this process by an HMAC key. */
#include <errno.h>
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
	static const struct {
		const char *name;
		size_t off;
	} slots[] = {
	    {"username", offsetof(struct reg_auth, username)},
	    {"realm", offsetof(struct reg_auth, realm)},
	    {"nonce", offsetof(struct reg_auth, nonce)},
	    {"uri", offsetof(struct reg_auth, uri)},
	    {"response", offsetof(struct reg_auth, response)},
	    {"algorithm", offsetof(struct reg_auth, algorithm)},
	    {"cnonce", offsetof(struct reg_auth, cnonce)},
	    {"opaque", offsetof(struct reg_auth, opaque)},
	    {"qop", offsetof(struct reg_auth, qop)},
	    {"nc", offsetof(struct reg_auth, nc)},
	    {"stale", offsetof(struct reg_auth, stale)},
	    {"domain", offsetof(struct reg_auth, domain)},
	};

	for (size_t i = 0; i < ARRAY_SIZE(slots); i++) {
		if (pl_caseeq_str(name, slots[i].name))
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

void reg_nonce_key_init(struct reg_nonce_key *k)
{
	rand_bytes(k->key, sizeof(k->key));
}

static void nonce_mac(const struct reg_nonce_key *k, const uint8_t *data, size_t n, uint8_t *mac)
{
	struct hmac_sha256_ctx c;

	hmac_sha256_set_key(&c, sizeof(k->key), k->key);
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
