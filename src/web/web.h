/* web: the web console's HTTP server inside mikakad (libwebsockets on a libuv loop that is itself
 * embedded in the daemon's epoll loop: no thread of its own), its users, sessions, CSRF tokens,
 * the login ban and the bearer token (docs/WEB.md). */
#ifndef MIKAKA_WEB_H
#define MIKAKA_WEB_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

struct conf;
struct conf_diags;
struct loop;
struct store;
struct ctl;
struct web;

#define WEB_DEFAULT_LISTEN     "127.0.0.1:8088"
#define WEB_DEFAULT_TLS_LISTEN "127.0.0.1:8089" /* Asterisk's https port */

/* mikaka.conf [web]. The console runs only when the section is there. */
struct web_settings {
	bool enabled;	       /* a [web] section exists */
	struct sa listen;      /* listen = ADDR:PORT (default 127.0.0.1:8088) */
	uint32_t session_idle; /* session_idle: seconds a session lives unused (1800) */
	uint32_t session_max;  /* session_max: sessions at most (64) */
	uint32_t ban_failures; /* ban_failures: failed logins that ban (5; 0: off) */
	uint32_t ban_window;   /* ban_window: seconds they are counted over (300) */
	uint32_t ban_time;     /* ban_time: seconds an address stays banned (900) */
	uint32_t timeout;      /* timeout: seconds a client may take to send a request (10) */
	bool tls;	       /* tls (tlsenable) = yes: HTTPS only, TLS 1.2 and later */
	char certfile[256];    /* certfile (tlscertfile): "" = SIP's, else the self-signed one */
	char keyfile[256];     /* keyfile (tlsprivatekey): "" = in certfile */
	uint32_t hsts;	       /* hsts: Strict-Transport-Security max-age in seconds (0: none) */
};

/* Reads mikaka.conf [web] (NULL: defaults, disabled). Problems go to diags; returns EINVAL on an
 * error. A listen address that is not loopback is a warning: the console is then on the LAN. */
int web_settings_load(struct web_settings *set, const struct conf *mikakaconf,
		      struct conf_diags *diags);

/* Starts listening. The store holds the users and the bearer token's hash. */
int web_alloc(struct web **wp, struct loop *loop, struct store *st, const struct web_settings *set);
void web_free(struct web *w);
struct call_eng;
struct reg;
struct sip_stack;
/* What /metrics reports on (each may be NULL); w NULL is accepted. */
void web_set_sources(struct web *w, struct call_eng *calls, struct reg *reg,
		     struct sip_stack *stack);
struct screen_db;
/* The block list and phonebook pages (/api/blocklist, /api/phonebook) change db (may be NULL:
 * they answer 503). */
void web_set_screen(struct web *w, struct screen_db *db);
struct vm;
/* The voicemail page (/api/voicemail): the messages of vm's boxes, listed from its index, played,
 * marked heard and deleted through vm's own calls (so the lamps follow as from the CLI). NULL:
 * the voicemail API answers 503. */
void web_set_vm(struct web *w, struct vm *vm);
/* The configuration page: check_argv runs `mikakad -C DIR -t` (copied; argv[0] the executable)
 * for its findings; reload applies the files as the `reload` command does (out: its reply; 0, or
 * an errno value when refused). */
typedef int(web_reload_h)(struct mbuf *out, void *arg);
void web_set_admin(struct web *w, const char *const *check_argv, web_reload_h *reload, void *arg);
/* Registers `web passwd NAME HASH`, `web users`, `web deluser NAME`, `web token`,
 * `web metrics-token`. */
int web_ctl_register(struct ctl *ctl, struct store *st);

/* Password hashes (yescrypt through libcrypt's crypt_r). web_hash_password writes a
 * "$y$..." string; web_check_password compares in constant time. */
int web_hash_password(const char *password, char *out, size_t size);
bool web_check_password(const char *password, const char *hash);
/* Whether hash is a hash this build accepts for a user (yescrypt, or another slow crypt(5)
 * scheme: sha512crypt, bcrypt, scrypt, gost-yescrypt), not a plain or fast one. */
bool web_hash_acceptable(const char *hash);

#endif /* MIKAKA_WEB_H */
