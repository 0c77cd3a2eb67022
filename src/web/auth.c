/* web/auth.c: the console's users and bearer token, kept in the store's key/value table, and
 * their control-socket commands. Passwords are hashed with yescrypt (libcrypt's crypt_r); the
 * bearer token is 256 random bits, so the store keeps only its SHA-256. */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "ctl.h"
#include "store.h"
#include "web.h"
#include "web_int.h"

#define LOG_MODULE "web"

int web_hash_password(const char *password, char *out, size_t size)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int err = 0;

	/* NULL entropy: libcrypt draws the salt from the kernel (getrandom). Count 0: the
	 * scheme's default cost. */
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)))
		return errno ? errno : EINVAL;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return ENOMEM;
	h = crypt_r(password, salt, cd);
	if (!h || h[0] == '*' || strlen(h) >= size)
		err = EINVAL;
	else
		memcpy(out, h, strlen(h) + 1);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return err;
}

bool web_check_password(const char *password, const char *hash)
{
	struct crypt_data *cd;
	const char *h;
	bool ok = false;

	if (!web_hash_acceptable(hash))
		return false;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	h = crypt_r(password, hash, cd);
	if (h && h[0] != '*' && strlen(h) == strlen(hash)) {
		unsigned char diff = 0;

		for (size_t i = 0; h[i]; i++)
			diff |= (unsigned char)(h[i] ^ hash[i]);
		ok = diff == 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

bool web_hash_acceptable(const char *hash)
{
	static const char *const slow[] = {"$y$", "$gy$", "$7$", "$2b$", "$2y$", "$6$"};

	if (!hash || strlen(hash) < 20 || strlen(hash) >= WEB_HASH_MAX || strpbrk(hash, " \t\r\n:"))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(slow); i++) {
		if (!strncmp(hash, slow[i], strlen(slow[i])))
			return true;
	}
	return false;
}

bool web_user_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= WEB_USER_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
		   n;
}

/* The users are one key, "web.users": a line "NAME HASH" per user. */
int web_user_hash(struct store *st, const char *name, char *hash, size_t size)
{
	struct mbuf mb;
	int err;

	mbuf_init(&mb);
	err = store_kv_get(st, "web.users", &mb);
	if (!err)
		err = mbuf_write(&mb, "", 1);
	if (err) {
		mbuf_reset(&mb);
		return err == ENOENT ? ENOENT : err;
	}
	err = ENOENT;
	for (char *save = NULL, *l = strtok_r((char *)mb.buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');

		if (!sp || (size_t)(sp - l) != strlen(name) || strncmp(l, name, strlen(name)))
			continue;
		if (strlen(sp + 1) >= size) {
			err = ENOSPC;
			break;
		}
		memcpy(hash, sp + 1, strlen(sp + 1) + 1);
		err = 0;
		break;
	}
	explicit_bzero(mb.buf, mb.size);
	mbuf_reset(&mb);
	return err;
}

/* Rewrites "web.users" with name set to hash (NULL: removed). ENOENT: removing a missing user. */
static int users_update(struct store *st, const char *name, const char *hash)
{
	struct mbuf old, nw;
	bool found = false;
	struct pl v;
	int err;

	mbuf_init(&old);
	mbuf_init(&nw);
	err = store_kv_get(st, "web.users", &old);
	if (err == ENOENT)
		err = 0;
	if (!err)
		err = mbuf_write(&old, "", 1);
	for (char *save = NULL, *l = err ? NULL : strtok_r((char *)old.buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');

		if (sp && (size_t)(sp - l) == strlen(name) && !strncmp(l, name, strlen(name))) {
			found = true;
			continue;
		}
		err |= mbuf_printf(&nw, "%s\n", l);
	}
	if (hash)
		err |= mbuf_printf(&nw, "%s %s\n", name, hash);
	else if (!err && !found)
		err = ENOENT;
	if (!err) {
		v.p = (const char *)nw.buf;
		v.l = nw.end;
		err = nw.end ? store_kv_set(st, "web.users", &v, NULL, NULL)
			     : store_kv_del(st, "web.users", NULL, NULL);
	}
	mbuf_reset(&old);
	mbuf_reset(&nw);
	return err;
}

void web_sha256_hex(const char *s, char out[65])
{
	uint8_t d[SHA256_DIGEST_SIZE];
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, strlen(s), (const uint8_t *)s);
	sha256_digest(&c, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++) {
		out[2 * i] = "0123456789abcdef"[d[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
	}
	out[64] = '\0';
}

void web_random_hex(char *out, size_t nbytes)
{
	uint8_t b[64];

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	rand_bytes(b, nbytes);
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = "0123456789abcdef"[b[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[b[i] & 15];
	}
	out[2 * nbytes] = '\0';
	explicit_bzero(b, sizeof(b));
}

bool web_token_check(struct store *st, const char *key, const char *token)
{
	char want[80], got[65];
	struct mbuf mb;
	unsigned char diff = 0;

	mbuf_init(&mb);
	if (store_kv_get(st, key, &mb) || mb.end != 64) {
		mbuf_reset(&mb);
		return false;
	}
	memcpy(want, mb.buf, 64);
	mbuf_reset(&mb);
	web_sha256_hex(token, got);
	for (size_t i = 0; i < 64; i++)
		diff |= (unsigned char)(want[i] ^ got[i]);
	return diff == 0;
}

/* ---------------------------------------------------------------------------------------------
 * Commands. The client hashes the password (mikaka web passwd NAME): only the hash crosses the
 * control socket.
 */
static int cmd_passwd(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct store *st = arg;
	int err;

	if (argc != 2 || !web_user_name_ok(argv[0])) {
		mbuf_write_str(out,
			       "usage: web passwd NAME HASH (NAME: 1-32 of A-Z a-z 0-9 . _ -); "
			       "the mikaka client asks for the password and sends its hash\n");
		return EINVAL;
	}
	if (!web_hash_acceptable(argv[1])) {
		mbuf_write_str(out, "refused: not a password hash (yescrypt $y$, or $gy$, $7$, "
				    "$2b$, $6$)\n");
		return EINVAL;
	}
	err = users_update(st, argv[0], argv[1]);
	if (err)
		return err;
	log_notice("password set for user %s", argv[0]);
	return mbuf_printf(out, "Password set for web user %s.\n", argv[0]);
}

static int cmd_deluser(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct store *st = arg;
	int err;

	if (argc != 1 || !web_user_name_ok(argv[0]))
		return EINVAL;
	err = users_update(st, argv[0], NULL);
	if (err)
		return err;
	log_notice("user %s removed", argv[0]);
	return mbuf_printf(out, "Web user %s removed.\n", argv[0]);
}

static int cmd_users(struct mbuf *out, int argc, char **argv, void *arg)
{
	struct store *st = arg;
	struct mbuf mb;
	int err;

	if (argc)
		return EINVAL;
	mbuf_init(&mb);
	err = store_kv_get(st, "web.users", &mb);
	if (!err)
		err = mbuf_write(&mb, "", 1);
	for (char *save = NULL, *l = err ? NULL : strtok_r((char *)mb.buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');

		if (sp)
			mbuf_printf(out, "%.*s\n", (int)(sp - l), l);
	}
	mbuf_reset(&mb);
	return err == ENOENT ? 0 : err;
}

/* `web token` / `web metrics-token`: a new bearer token, printed once; the store keeps its
 * SHA-256 (the old token stops working). `revoke` removes it. */
static int token_cmd(struct store *st, const char *key, const char *what, struct mbuf *out,
		     int argc, char **argv)
{
	char tok[65], h[65];
	struct pl v;
	int err;

	if (argc == 1 && !strcasecmp(argv[0], "revoke")) {
		err = store_kv_del(st, key, NULL, NULL);
		if (!err)
			mbuf_printf(out, "%s revoked.\n", what);
		return err;
	}
	if (argc)
		return EINVAL;
	web_random_hex(tok, 32);
	web_sha256_hex(tok, h);
	v.p = h;
	v.l = 64;
	err = store_kv_set(st, key, &v, NULL, NULL);
	if (!err) {
		log_notice("a new %s was made", what);
		mbuf_printf(out, "%s\n", tok);
	}
	explicit_bzero(tok, sizeof(tok));
	return err;
}

static int cmd_token(struct mbuf *out, int argc, char **argv, void *arg)
{
	return token_cmd(arg, WEB_KV_TOKEN, "bearer token", out, argc, argv);
}

static int cmd_metrics_token(struct mbuf *out, int argc, char **argv, void *arg)
{
	return token_cmd(arg, WEB_KV_METRICS_TOKEN, "metrics token", out, argc, argv);
}

int web_ctl_register(struct ctl *ctl, struct store *st)
{
	const struct ctl_cmd cmds[] = {
	    {"web passwd",
	     "web passwd NAME: set a web console user's password (asked by the "
	     "client)",
	     cmd_passwd, st},
	    {"web deluser", "web deluser NAME: remove a web console user", cmd_deluser, st},
	    {"web users", "list the web console's users", cmd_users, st},
	    {"web token", "web token [revoke]: a new bearer token for the HTTP API (printed once)",
	     cmd_token, st},
	    {"web metrics-token",
	     "web metrics-token [revoke]: a new bearer token /metrics then requires (printed once)",
	     cmd_metrics_token, st},
	};
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cmds) && !err; i++)
		err = ctl_register(ctl, &cmds[i]);
	return err;
}
