/* web: the console's HTTP server. libwebsockets runs on a libuv loop (its "foreign loop"), and that
 * libuv loop is embedded in mikaka's epoll loop the way libuv documents it: uv_backend_fd() is an
 * epoll descriptor our loop watches, uv_backend_timeout() arms a loop timer, and both run
 * uv_run(UV_RUN_NOWAIT). So HTTP is served on the loop thread and never waits.
 *
 * A password check costs tens of milliseconds (yescrypt, by design): it runs on a short-lived
 * worker thread, one login at a time (a second concurrent login gets 503), and the result comes
 * back through an eventfd. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "call.h"
#include "conf.h"
#include "loop.h"
#include "reg.h"
#include "screen.h"
#include "sip.h"
#include "store.h"
#include "vm.h"
#include "web.h"
#include "web_int.h"

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "web_lib.h" /* every lws_ and uv_ call goes through the dlopen table */

#define LOG_MODULE "web"

#define BODY_MAX    4096 /* largest request body read */
#define COOKIE_NAME "mikaka_session"
#define SID_BYTES   32 /* session id: 256 random bits */
#define SSE_MAX	    16 /* live-update streams at once */
#define HEAD_POOL   64 /* request heads buffered at once (libwebsockets' header pool) */
#define SSE_PING_MS 15000 /* a comment on an idle stream: a dead client is found */
#define FILE_CHUNK  16384 /* a voicemail WAV is sent in pieces this big, one per writable */
#define SECURITY_HEADERS                                                                           \
	X("content-security-policy:", "default-src 'self'; script-src 'self'; style-src 'self'; "  \
				      "img-src 'self'; connect-src 'self'; frame-ancestors "       \
				      "'none'; base-uri 'none'; form-action 'self'")               \
	X("x-content-type-options:", "nosniff")                                                    \
	X("x-frame-options:", "DENY")                                                              \
	X("referrer-policy:", "no-referrer")                                                       \
	X("cache-control:", "no-store")

struct web_session {
	struct le le; /* in web.sessions, least recently used first */
	char id[2 * SID_BYTES + 1];
	char csrf[2 * SID_BYTES + 1];
	char user[WEB_USER_MAX + 1];
	uint64_t last; /* loop ms */
};

struct web_req;
struct web;

static void kick(struct web *w, uint64_t delay_ms);

/* One password check on the worker thread. */
struct web_login {
	struct web *w;
	struct web_req *req; /* NULL once the connection closed */
	struct sa peer;
	char user[WEB_USER_MAX + 1];
	char password[256];
	char hash[WEB_HASH_MAX];
	bool known; /* the user exists */
	bool ok;
	pthread_t thread;
};

/* Per HTTP connection (libwebsockets' per-session data, zeroed by it). */
struct web_req {
	struct web *w;
	struct lws *wsi;
	char uri[256];
	enum { M_OTHER, M_GET, M_POST } method;
	char body[BODY_MAX + 1];
	size_t blen;
	bool too_big;
	uint64_t deadline; /* loop ms by which the body must be in (0: none) */
	bool answered;	   /* a response (or a login check) is under way: the rest is ignored */
	bool close;	   /* the connection is closed once the answer is out (bad framing) */
	struct sa peer;
	struct web_session *sess; /* authenticated by cookie */
	bool bearer;		  /* authenticated by the bearer token */
	bool metrics_bearer;	  /* carries the /metrics token */
	struct web_login *login;  /* a password check in flight */
	/* the response */
	uint8_t *resp; /* LWS_PRE bytes, then the body */
	size_t resp_len;
	/* or a file (a voicemail WAV) sent from fd in pieces: file_left bytes still to send */
	bool file;
	int fd;
	uint64_t file_left;
	/* a live-update stream (GET /api/events): in web.sse while open */
	struct le sse_le;
	bool sse;
	char sse_sid[2 * SID_BYTES + 1]; /* its session ("": the bearer token) */
	uint64_t sse_gen;		 /* the last event sent (web.ev_gen) */
	bool sse_ping;			 /* a keep-alive comment is due */
	bool sse_end;			 /* the stream is to be closed (its session ended) */
};

struct web {
	struct loop *loop;
	struct store *st;
	struct web_settings set;
	uv_loop_t uv;
	bool uv_ok;
	bool uv_due; /* libuv has work: run it in the turn's background hook (bg_h) */
	bool bg_hook;
	struct lws_context *ctx;
	int uvfd;
	struct loop_timer tmr;
	struct list sessions;
	size_t nsessions;
	struct reg_bans bans;
	int efd; /* eventfd: the worker is done */
	struct web_login *login;
	char dummy_hash[WEB_HASH_MAX]; /* checked for unknown users */
	uint64_t logins_ok, logins_failed, logins_banned;
	/* what /metrics reports (web_set_sources) */
	struct call_eng *calls;
	struct screen_db *screen; /* the block list and phonebook (web_set_screen) */
	struct vm *vm;		  /* voicemail (web_set_vm) */
	uint64_t vm_seen;	  /* vm_changes() when vm_new/vm_old were counted */
	unsigned vm_new, vm_old;  /* messages in every box's INBOX, Old */
	bool vm_counted;
	struct reg *reg;
	struct sip_stack *stack;
	/* loop lag: a timer every second measures how late it fires */
	struct loop_timer lag_tmr;
	uint64_t lag_due;	     /* loop ms the lag timer should fire at */
	uint64_t lag_ms, lag_max_ms; /* last, worst */
	uint64_t scrapes;
	/* live updates: the status as last pushed, LWS_PRE bytes then "event: status\ndata: ...";
	 * ev_cmp bytes of it (all but the time) say whether anything changed */
	struct list sse;
	size_t nsse;
	uint8_t *ev;
	size_t ev_len, ev_cmp;
	uint64_t ev_gen, ev_ping;
	/* the configuration page */
	char **check_argv;
	web_reload_h *reload;
	void *reload_arg;
	struct web_check *check;
	struct web_req *check_req; /* the request the running check answers (NULL: gone) */
};

/* ---------------------------------------------------------------------------------------------
 * Settings.
 */
int web_settings_load(struct web_settings *set, const struct conf *mikakaconf,
		      struct conf_diags *diags)
{
	const struct conf_section *sec;
	const struct conf_var *listen = NULL, *cert = NULL, *key = NULL;
	int err = 0;

	memset(set, 0, sizeof(*set));
	sa_decode(&set->listen, WEB_DEFAULT_LISTEN, 8088);
	set->session_idle = 1800;
	set->session_max = 64;
	set->ban_failures = 5;
	set->ban_window = 300;
	set->ban_time = 900;
	set->timeout = 10;
	sec = mikakaconf ? conf_section_find(mikakaconf, "web") : NULL;
	if (!sec)
		return 0;
	set->enabled = true;
	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		const char *k = v->name;

		if (!strcasecmp(k, "listen")) {
			struct sa sa;

			if (sa_decode(&sa, v->value, 8088) || !sa_port(&sa)) {
				conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
					      "[web] listen: '%s' is not ADDRESS:PORT", v->value);
				err |= EINVAL;
				continue;
			}
			set->listen = sa;
			listen = v;
			if (sa_is_any(&sa) ||
			    !(sa_af(&sa) == AF_INET ? (ntohl(sa.u.in.sin_addr.s_addr) >> 24) == 127
						    : IN6_IS_ADDR_LOOPBACK(&sa.u.in6.sin6_addr)))
				conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
					      "[web] listen: %s is not loopback: the console is "
					      "reachable from the network",
					      v->value);
		} else if (!strcasecmp(k, "session_idle")) {
			err |= conf_var_u32(v, "web", 60, 86400 * 30, &set->session_idle, diags);
		} else if (!strcasecmp(k, "session_max")) {
			err |= conf_var_u32(v, "web", 1, 100000, &set->session_max, diags);
		} else if (!strcasecmp(k, "ban_failures")) {
			err |= conf_var_u32(v, "web", 0, 1000000, &set->ban_failures, diags);
		} else if (!strcasecmp(k, "ban_window")) {
			err |= conf_var_u32(v, "web", 1, 86400, &set->ban_window, diags);
		} else if (!strcasecmp(k, "ban_time")) {
			err |= conf_var_u32(v, "web", 1, 86400 * 30, &set->ban_time, diags);
		} else if (!strcasecmp(k, "timeout")) {
			err |= conf_var_u32(v, "web", 1, 300, &set->timeout, diags);
		} else if (!strcasecmp(k, "tls") || !strcasecmp(k, "tlsenable")) {
			err |= conf_var_bool(v, "web", &set->tls, diags);
		} else if (!strcasecmp(k, "certfile") || !strcasecmp(k, "tlscertfile") ||
			   !strcasecmp(k, "keyfile") || !strcasecmp(k, "tlsprivatekey")) {
			bool is_cert = !strcasecmp(k, "certfile") || !strcasecmp(k, "tlscertfile");
			char *dst = is_cert ? set->certfile : set->keyfile;

			if (!*v->value || strlen(v->value) >= sizeof(set->certfile)) {
				conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
					      "[web] %s: '%s' is not a file name (1-%zu characters)",
					      k, v->value, sizeof(set->certfile) - 1);
				err |= EINVAL;
				continue;
			}
			snprintf(dst, sizeof(set->certfile), "%s", v->value);
			*(is_cert ? &cert : &key) = v;
		} else if (!strcasecmp(k, "hsts")) {
			bool on;

			/* yes: a year; no; or the max-age in seconds */
			if (!strcasecmp(v->value, "yes") || !strcasecmp(v->value, "no") ||
			    !strcasecmp(v->value, "on") || !strcasecmp(v->value, "off") ||
			    !strcasecmp(v->value, "true") || !strcasecmp(v->value, "false")) {
				err |= conf_var_bool(v, "web", &on, diags);
				set->hsts = on ? 31536000 : 0;
			} else {
				err |= conf_var_u32(v, "web", 0, 2 * 31536000, &set->hsts, diags);
			}
		} else {
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[web] unknown key '%s'; ignored", k);
		}
	}
	if (set->tls && !listen)
		sa_decode(&set->listen, WEB_DEFAULT_TLS_LISTEN, 8089);
	if (key && !cert) {
		conf_diag_add(diags, CONF_ERROR, key->origin.file, key->origin.line,
			      "[web] %s without certfile", key->name);
		err |= EINVAL;
	} else if (cert) {
		char why[320];
		int e = sip_tls_check_files(set->certfile, key ? set->keyfile : NULL, why,
					    sizeof(why));

		if (e) {
			const struct conf_var *at = e == ENOKEY && key ? key : cert;

			conf_diag_add(diags, CONF_ERROR, at->origin.file, at->origin.line,
				      "[web] %s: %s", at->name, why);
			err |= EINVAL;
		}
		if (!set->tls)
			conf_diag_add(diags, CONF_WARNING, cert->origin.file, cert->origin.line,
				      "[web] %s is set but tls is not yes: the console stays HTTP",
				      cert->name);
	}
	return err ? EINVAL : 0;
}

/* ---------------------------------------------------------------------------------------------
 * Sessions: in memory only (a restart logs everyone out), bounded, least recently used evicted.
 */
static void session_free(struct web *w, struct web_session *s)
{
	list_unlink(&s->le);
	w->nsessions--;
	explicit_bzero(s, sizeof(*s));
	free(s);
}

static struct web_session *session_new(struct web *w, const char *user)
{
	struct web_session *s;

	while (w->nsessions >= w->set.session_max && w->sessions.head)
		session_free(w, w->sessions.head->data);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	web_random_hex(s->id, SID_BYTES);
	web_random_hex(s->csrf, SID_BYTES);
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->last = loop_now(w->loop);
	list_append(&w->sessions, &s->le, s);
	w->nsessions++;
	return s;
}

static bool ct_equal(const char *a, const char *b)
{
	size_t n = strlen(a);
	unsigned char diff = 0;

	if (n != strlen(b))
		return false;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static struct web_session *session_find(struct web *w, const char *id)
{
	uint64_t now = loop_now(w->loop);
	struct le *le = w->sessions.head;

	while (le) {
		struct web_session *s = le->data;

		le = le->next;
		if (now - s->last >= (uint64_t)w->set.session_idle * 1000) {
			session_free(w, s);
			continue;
		}
		if (ct_equal(s->id, id)) {
			s->last = now;
			list_unlink(&s->le);
			list_append(&w->sessions, &s->le, s);
			return s;
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Responses. Every one carries the security headers (Content-Security-Policy first), and on
 * HTTPS the Strict-Transport-Security header when `hsts` asks for it.
 */
static int add_headers(struct web_req *r, const char *const *hdrs, uint8_t **p, uint8_t *end)
{
	struct lws *wsi = r->wsi;

#define X(name, value)                                                                             \
	if (lws_add_http_header_by_name(wsi, (const uint8_t *)name, (const uint8_t *)value,        \
					(int)strlen(value), p, end))                               \
		return -1;
	SECURITY_HEADERS
#undef X
	if (r->w->set.tls && r->w->set.hsts) {
		char v[48];

		snprintf(v, sizeof(v), "max-age=%u", r->w->set.hsts);
		if (lws_add_http_header_by_name(wsi, (const uint8_t *)"strict-transport-security:",
						(const uint8_t *)v, (int)strlen(v), p, end))
			return -1;
	}
	for (size_t i = 0; hdrs && hdrs[i]; i += 2)
		if (lws_add_http_header_by_name(wsi, (const uint8_t *)hdrs[i],
						(const uint8_t *)hdrs[i + 1],
						(int)strlen(hdrs[i + 1]), p, end))
			return -1;
	return 0;
}

/* hdrs: more headers, name/value pairs ("set-cookie:", "..."), NULL-terminated; NULL: none. */
static int respond(struct web_req *r, unsigned status, const char *ctype, const char *body,
		   size_t len, const char *const *hdrs)
{
	uint8_t hdr[LWS_PRE + 2048], *start = hdr + LWS_PRE, *p = start,
				     *end = hdr + sizeof(hdr) - 1;
	struct lws *wsi = r->wsi;

	free(r->resp);
	r->resp = malloc(LWS_PRE + len + 1);
	if (!r->resp)
		return -1;
	memcpy(r->resp + LWS_PRE, body, len);
	r->resp_len = len;
	if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end))
		return -1;
	if (add_headers(r, hdrs, &p, end))
		return -1;
	if (status == 401 &&
	    lws_add_http_header_by_name(wsi, (const uint8_t *)"www-authenticate:",
					(const uint8_t *)"Bearer realm=\"mikaka\"", 21, &p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

/* 303 to a page of ours (a page without a session goes to /login). */
static int redirect(struct web_req *r, const char *where)
{
	static const char body[] = "{\"error\":\"log in first\"}\n";
	const char *hdrs[] = {"location:", where, NULL};

	return respond(r, 303, "application/json", body, sizeof(body) - 1, hdrs);
}

static int respond_json(struct web_req *r, unsigned status, const char *json)
{
	return respond(r, status, "application/json", json, strlen(json), NULL);
}

static int respond_error(struct web_req *r, unsigned status, const char *error)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "{\"error\":\"%s\"}\n", error);
	return respond_json(r, status, buf);
}

/* ---------------------------------------------------------------------------------------------
 * Requests.
 */

/* The value of name in an application/x-www-form-urlencoded body, decoded into out. */
static bool form_get(const char *body, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);

	for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		size_t o = 0;

		if (strncmp(p, name, nl) || p[nl] != '=')
			continue;
		for (p += nl + 1; *p && *p != '&'; p++) {
			int c = (unsigned char)*p;

			if (c == '+') {
				c = ' ';
			} else if (c == '%') {
				unsigned v;

				if (sscanf(p + 1, "%2x", &v) != 1 || !p[1] || !p[2])
					return false;
				c = (int)v;
				p += 2;
			}
			if (!c || o + 1 >= size)
				return false;
			out[o++] = (char)c;
		}
		out[o] = '\0';
		return true;
	}
	return false;
}

static void peer_addr(struct lws *wsi, struct sa *sa)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *s;

	memset(sa, 0, sizeof(*sa));
	if (!lws_get_peer_simple(wsi, buf, sizeof(buf)))
		return;
	s = !strncmp(buf, "::ffff:", 7) && strchr(buf, '.') ? buf + 7 : buf;
	sa_set_str(sa, s, 0);
}

/* Who the request is: a session cookie or the bearer token. */
static void authenticate(struct web_req *r)
{
	struct web *w = r->w;
	char buf[1024];
	int n;

	r->sess = NULL;
	r->bearer = false;
	r->metrics_bearer = false;
	n = lws_hdr_copy(r->wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n > 7 && !strncasecmp(buf, "Bearer ", 7)) {
		r->bearer = web_token_check(w->st, WEB_KV_TOKEN, buf + 7);
		r->metrics_bearer =
		    !r->bearer && web_token_check(w->st, WEB_KV_METRICS_TOKEN, buf + 7);
		explicit_bzero(buf, sizeof(buf));
		return;
	}
	n = lws_hdr_copy(r->wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_COOKIE);
	for (char *save = NULL, *c = n > 0 ? strtok_r(buf, ";", &save) : NULL; c;
	     c = strtok_r(NULL, ";", &save)) {
		while (*c == ' ')
			c++;
		if (!strncmp(c, COOKIE_NAME "=", sizeof(COOKIE_NAME)) &&
		    strlen(c + sizeof(COOKIE_NAME)) == 2 * SID_BYTES) {
			r->sess = session_find(w, c + sizeof(COOKIE_NAME));
			break;
		}
	}
	explicit_bzero(buf, sizeof(buf));
}

/* A change (POST) made with a session cookie must carry the session's CSRF token in
 * X-CSRF-Token; the bearer token is not sent by browsers on their own, so it needs none. */
static bool csrf_ok(struct web_req *r)
{
	char buf[2 * SID_BYTES + 2];
	int n;

	if (r->bearer)
		return true;
	if (!r->sess)
		return false;
	n = lws_hdr_custom_copy(r->wsi, buf, sizeof(buf), "x-csrf-token:", 13);
	return n == 2 * SID_BYTES && ct_equal(buf, r->sess->csrf);
}

static void *login_thread(void *arg)
{
	struct web_login *l = arg;
	uint64_t one = 1;

	/* An unknown user costs a hash too, so timing does not tell which names exist. */
	l->ok = web_check_password(l->password, l->known ? l->hash : l->w->dummy_hash) && l->known;
	explicit_bzero(l->password, sizeof(l->password));
	if (write(l->w->efd, &one, sizeof(one)) < 0)
		log_error("eventfd: %s", strerror(errno));
	return NULL;
}

static void login_finish(struct web *w, struct web_login *l)
{
	struct web_req *r = l->req;
	char ab[64];

	sa_ntop(&l->peer, ab, sizeof(ab));
	if (l->ok) {
		w->logins_ok++;
		reg_bans_remove(&w->bans, &l->peer);
		log_notice("user %s logged in from %s", l->user, ab);
	} else {
		w->logins_failed++;
		if (reg_bans_fail(&w->bans, &l->peer, loop_now(w->loop))) {
			w->logins_banned++;
			log_warn("%s banned for %u s after %u failed logins", ab, w->set.ban_time,
				 w->set.ban_failures);
		}
		log_warn("failed login for user '%s' from %s", l->user, ab);
	}
	if (r) {
		r->login = NULL;
		if (l->ok) {
			struct web_session *s = session_new(w, l->user);
			char cookie[160], body[160];

			if (!s) {
				respond_error(r, 503, "no memory");
			} else {
				const char *hdrs[] = {"set-cookie:", cookie, NULL};

				/* Secure on HTTPS: the browser never sends it over plain HTTP */
				snprintf(cookie, sizeof(cookie),
					 COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict%s",
					 s->id, w->set.tls ? "; Secure" : "");
				snprintf(body, sizeof(body), "{\"user\":\"%s\",\"csrf\":\"%s\"}\n",
					 s->user, s->csrf);
				respond(r, 200, "application/json", body, strlen(body), hdrs);
				explicit_bzero(cookie, sizeof(cookie));
			}
		} else {
			respond_error(r, 403, "wrong user or password");
		}
	}
	explicit_bzero(l, sizeof(*l));
	free(l);
}

static void efd_h(int fd, uint32_t events, void *arg)
{
	struct web *w = arg;
	uint64_t v;
	struct web_login *l = w->login;

	if (read(fd, &v, sizeof(v)) != sizeof(v) || !l)
		return;
	pthread_join(l->thread, NULL);
	w->login = NULL;
	login_finish(w, l);
	/* libuv applies watcher changes (our response wants POLLOUT) only inside uv_run */
	kick(w, 0);
}

static int do_login(struct web_req *r)
{
	struct web *w = r->w;
	struct web_login *l;
	int err;

	if (reg_bans_banned(&w->bans, &r->peer, loop_now(w->loop))) {
		w->logins_banned++;
		return respond_error(r, 429, "too many failed logins; try later");
	}
	if (w->login)
		return respond_error(r, 503, "another login is being checked; try again");
	l = calloc(1, sizeof(*l));
	if (!l)
		return respond_error(r, 503, "no memory");
	l->w = w;
	l->peer = r->peer;
	if (!form_get(r->body, "user", l->user, sizeof(l->user)) ||
	    !form_get(r->body, "password", l->password, sizeof(l->password)) ||
	    !web_user_name_ok(l->user)) {
		explicit_bzero(l, sizeof(*l));
		free(l);
		return respond_error(r, 400, "expected user and password (form-encoded)");
	}
	l->known = web_user_hash(w->st, l->user, l->hash, sizeof(l->hash)) == 0;
	l->req = r;
	err = pthread_create(&l->thread, NULL, login_thread, l);
	if (err) {
		explicit_bzero(l, sizeof(*l));
		free(l);
		return respond_error(r, 503, "cannot check the password now");
	}
	w->login = l;
	r->login = l;
	return 0; /* answered from efd_h */
}

static int route(struct web_req *r);

static int handle(struct web_req *r)
{
	if (r->answered)
		return 0;
	r->answered = true;
	return route(r);
}

/* /metrics: Prometheus text format 0.0.4. Open when no metrics token was made; then it needs
 * that token (or the API's token, or a session). */
static int do_metrics(struct web_req *r)
{
	struct web *w = r->w;
	struct mbuf mb, tok;
	long pages = 0, rss = 0;
	bool locked;
	int err = 0;
	FILE *f;

	if (r->method != M_GET)
		return respond_error(r, 405, "method not allowed");
	mbuf_init(&tok);
	locked = store_kv_get(w->st, WEB_KV_METRICS_TOKEN, &tok) == 0;
	mbuf_reset(&tok);
	if (locked && !r->metrics_bearer && !r->bearer && !r->sess)
		return respond_error(r, 401, "metrics token required");
	w->scrapes++;
	f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	if (f)
		fclose(f);
	mbuf_init(&mb);
	if (w->calls)
		err |= call_metrics(w->calls, &mb);
	if (w->reg)
		err |= reg_metrics(w->reg, &mb);
	err |= store_metrics(w->st, &mb);
	if (w->stack) {
		struct sip_transp_load ld;

		sip_transp_load(sip_stack_transp(w->stack), &ld);
		err |= mbuf_printf(
		    &mb,
		    "# HELP mikaka_overload Whether the SIP transport sees overload now (1) "
		    "or not (0).\n"
		    "# TYPE mikaka_overload gauge\n"
		    "mikaka_overload %d\n"
		    "# HELP mikaka_overload_onsets_total Times overload began.\n"
		    "# TYPE mikaka_overload_onsets_total counter\n"
		    "mikaka_overload_onsets_total %llu\n"
		    "# HELP mikaka_overload_503_total New calls shed with a stateless 503 "
		    "under overload.\n"
		    "# TYPE mikaka_overload_503_total counter\n"
		    "mikaka_overload_503_total %llu\n"
		    "# HELP mikaka_sip_queue_delay_seconds UDP queueing delay last measured.\n"
		    "# TYPE mikaka_sip_queue_delay_seconds gauge\n"
		    "mikaka_sip_queue_delay_seconds %u.%06u\n",
		    ld.overloaded ? 1 : 0, (unsigned long long)ld.onsets,
		    (unsigned long long)sip_stack_shed_count(w->stack),
		    (unsigned)(ld.delay_us / 1000000), (unsigned)(ld.delay_us % 1000000));
	}
	err |= mbuf_printf(
	    &mb,
	    "# HELP mikaka_web_logins_total Web console logins by result (banned: refused "
	    "while the address was banned).\n"
	    "# TYPE mikaka_web_logins_total counter\n"
	    "mikaka_web_logins_total{result=\"ok\"} %llu\n"
	    "mikaka_web_logins_total{result=\"failed\"} %llu\n"
	    "mikaka_web_logins_total{result=\"banned\"} %llu\n"
	    "# HELP mikaka_web_bans_total Addresses banned for failed web logins.\n"
	    "# TYPE mikaka_web_bans_total counter\n"
	    "mikaka_web_bans_total %llu\n"
	    "# HELP mikaka_web_sessions Web console sessions open.\n"
	    "# TYPE mikaka_web_sessions gauge\n"
	    "mikaka_web_sessions %zu\n"
	    "# HELP mikaka_loop_lag_seconds How late the event loop ran a timer, last "
	    "measured (every second).\n"
	    "# TYPE mikaka_loop_lag_seconds gauge\n"
	    "mikaka_loop_lag_seconds %llu.%03llu\n"
	    "# HELP mikaka_loop_lag_max_seconds The worst loop lag since start.\n"
	    "# TYPE mikaka_loop_lag_max_seconds gauge\n"
	    "mikaka_loop_lag_max_seconds %llu.%03llu\n"
	    "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
	    "# TYPE process_resident_memory_bytes gauge\n"
	    "process_resident_memory_bytes %lld\n",
	    (unsigned long long)w->logins_ok, (unsigned long long)w->logins_failed,
	    (unsigned long long)w->logins_banned, (unsigned long long)w->bans.banned_total,
	    w->nsessions, (unsigned long long)(w->lag_ms / 1000),
	    (unsigned long long)(w->lag_ms % 1000), (unsigned long long)(w->lag_max_ms / 1000),
	    (unsigned long long)(w->lag_max_ms % 1000), (long long)rss * sysconf(_SC_PAGESIZE));
	if (err)
		err = respond_error(r, 503, "no memory");
	else
		err = respond(r, 200, "text/plain; version=0.0.4; charset=utf-8",
			      (const char *)mb.buf, mb.end, NULL);
	mbuf_reset(&mb);
	return err;
}

/* One call record as JSON. */
static int cdr_json(const struct store_cdr *c, struct mbuf *out, bool first)
{
	int err = 0;

	err |= mbuf_printf(out, "%s{\"id\":%lld,\"src\":", first ? "" : ",", (long long)c->id);
	err |= mbuf_write_json(out, c->src.p ? c->src.p : "", c->src.l);
	err |= mbuf_write_str(out, ",\"dst\":");
	err |= mbuf_write_json(out, c->dst.p ? c->dst.p : "", c->dst.l);
	err |= mbuf_write_str(out, ",\"clid\":");
	err |= mbuf_write_json(out, c->clid.p ? c->clid.p : "", c->clid.l);
	err |= mbuf_write_str(out, ",\"disposition\":");
	err |= mbuf_write_json(out, store_cdr_disp_name(c->disposition),
			       strlen(store_cdr_disp_name(c->disposition)));
	err |= mbuf_printf(out,
			   ",\"start_ms\":%lld,\"answer_ms\":%lld,\"end_ms\":%lld,"
			   "\"duration\":%lld,\"billsec\":%lld,\"hangupcause\":%u}",
			   (long long)c->start_ms, (long long)c->answer_ms, (long long)c->end_ms,
			   (long long)c->duration, (long long)c->billsec, c->hangupcause);
	return err ? ENOMEM : 0;
}

/* A CSV field, quoted, quotes doubled. Text from the network (caller names) that a spreadsheet
 * would take for a formula (= + - @ first) gets a leading apostrophe. */
static int csv_field(struct mbuf *out, const struct pl *v, const char *sep)
{
	int err = mbuf_write_str(out, "\"");

	if (v->p && v->l && strchr("=+-@\t\r", v->p[0]))
		err |= mbuf_write_str(out, "'");
	for (size_t i = 0; v->p && i < v->l; i++) {
		if (v->p[i] == '"')
			err |= mbuf_write_str(out, "\"");
		err |= mbuf_write(out, &v->p[i], 1);
	}
	err |= mbuf_printf(out, "\"%s", sep);
	return err;
}

static void csv_time(struct mbuf *out, int64_t ms, const char *sep)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[40] = "";

	if (ms && gmtime_r(&t, &tm))
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	mbuf_printf(out, "%s%s", buf, sep);
}

#define HISTORY_CSV_HEAD                                                                           \
	"id,start,answer,end,src,dst,clid,disposition,duration,billsec,hangupcause\r\n"

static int cdr_csv(const struct store_cdr *c, struct mbuf *out)
{
	const char *d = store_cdr_disp_name(c->disposition);
	int err;

	err = mbuf_printf(out, "%lld,", (long long)c->id);
	csv_time(out, c->start_ms, ",");
	csv_time(out, c->answer_ms, ",");
	csv_time(out, c->end_ms, ",");
	err |= csv_field(out, &c->src, ",");
	err |= csv_field(out, &c->dst, ",");
	err |= csv_field(out, &c->clid, ",");
	err |= mbuf_printf(out, "%s,%lld,%lld,%u\r\n", d, (long long)c->duration,
			   (long long)c->billsec, c->hangupcause);
	return err ? ENOMEM : 0;
}

/* The history's filter and page (docs/API.md, GET /api/history). */
struct history_q {
	char number[33]; /* "": any; else a part of src, dst or clid */
	int disp;	 /* -1: any */
	int64_t from_ms, to_ms; /* start_ms in [from, to); 0: open */
	uint64_t offset, limit; /* limit 0: all (CSV) */
	bool csv;
	/* the answer */
	struct mbuf *out;
	uint64_t matched, written;
};

static bool pl_has(const struct pl *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; hay->p && i + n <= hay->l; i++)
		if (!strncasecmp(hay->p + i, needle, n))
			return true;
	return false;
}

static int history_each(const struct store_cdr *c, void *arg)
{
	struct history_q *q = arg;

	if (q->number[0] && !pl_has(&c->src, q->number) && !pl_has(&c->dst, q->number) &&
	    !pl_has(&c->clid, q->number))
		return 0;
	if (q->disp >= 0 && (int)c->disposition != q->disp)
		return 0;
	if ((q->from_ms && c->start_ms < q->from_ms) || (q->to_ms && c->start_ms >= q->to_ms))
		return 0;
	q->matched++;
	if (q->matched <= q->offset || (q->limit && q->written >= q->limit))
		return 0;
	q->written++;
	return q->csv ? cdr_csv(c, q->out) : cdr_json(c, q->out, q->written == 1);
}

/* A whole number from an argument, in [min, max]; false when not one. */
static bool arg_num(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (!*v || !isdigit((unsigned char)*v))
		return false;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return false;
	*out = n;
	return true;
}

/* GET /api/history[.csv]: call records, newest first, filtered and paged; the number of
 * records that match in X-Total-Count. */
static int do_history(struct web_req *r, bool csv)
{
	struct history_q q = {.disp = -1, .limit = 50};
	char buf[64], total[24];
	const char *v;
	struct mbuf mb;
	uint64_t n;
	int err;

	v = lws_get_urlarg_by_name(r->wsi, "format=", buf, sizeof(buf));
	if (v && !strcmp(v, "csv"))
		csv = true;
	else if (v && strcmp(v, "json"))
		return respond_error(r, 400, "format: csv or json");
	q.csv = csv;
	if (csv)
		q.limit = 0; /* a download has every matching record unless limited */
	if ((v = lws_get_urlarg_by_name(r->wsi, "limit=", buf, sizeof(buf))) &&
	    !arg_num(v, 1, csv ? 1000000 : 1000, &q.limit))
		return respond_error(r, 400, csv ? "limit: a number from 1 to 1000000"
						 : "limit: a number from 1 to 1000");
	if ((v = lws_get_urlarg_by_name(r->wsi, "offset=", buf, sizeof(buf))) &&
	    !arg_num(v, 0, 1000000000, &q.offset))
		return respond_error(r, 400, "offset: a number from 0");
	if ((v = lws_get_urlarg_by_name(r->wsi, "from=", buf, sizeof(buf)))) {
		if (!arg_num(v, 0, 1ULL << 50, &n))
			return respond_error(r, 400, "from: Unix time in milliseconds");
		q.from_ms = (int64_t)n;
	}
	if ((v = lws_get_urlarg_by_name(r->wsi, "to=", buf, sizeof(buf)))) {
		if (!arg_num(v, 0, 1ULL << 50, &n))
			return respond_error(r, 400, "to: Unix time in milliseconds");
		q.to_ms = (int64_t)n;
	}
	if ((v = lws_get_urlarg_by_name(r->wsi, "disposition=", buf, sizeof(buf))) && *v) {
		static const char *const names[] = {"ANSWERED", "NO ANSWER", "BUSY", "FAILED"};

		for (char *p = (char *)v; *p; p++)
			*p = *p == '_' || *p == '+' ? ' ' : (char)toupper((unsigned char)*p);
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			if (!strcmp(v, names[i]))
				q.disp = (int)i;
		if (q.disp < 0)
			return respond_error(r, 400,
					     "disposition: ANSWERED, NO ANSWER, BUSY or FAILED");
	}
	if ((v = lws_get_urlarg_by_name(r->wsi, "number=", buf, sizeof(buf)))) {
		if (strlen(v) >= sizeof(q.number))
			return respond_error(r, 400, "number: at most 32 characters");
		snprintf(q.number, sizeof(q.number), "%s", v);
	}
	mbuf_init(&mb);
	q.out = &mb;
	err = mbuf_write_str(&mb, csv ? HISTORY_CSV_HEAD : "[");
	/* every record is looked at: a household's history is thousands, not millions */
	if (!err)
		err = store_cdr_list(r->w->st, 0, history_each, &q);
	if (!err && !csv)
		err = mbuf_write_str(&mb, "]\n");
	snprintf(total, sizeof(total), "%llu", (unsigned long long)q.matched);
	if (err) {
		err = respond_error(r, 503, "cannot read the call records");
	} else if (csv) {
		const char *hdrs[] = {"x-total-count:", total, "content-disposition:",
				      "attachment; filename=\"mikaka-history.csv\"", NULL};

		err = respond(r, 200, "text/csv; charset=utf-8", (const char *)mb.buf, mb.end, hdrs);
	} else {
		const char *hdrs[] = {"x-total-count:", total, NULL};

		err = respond(r, 200, "application/json", (const char *)mb.buf, mb.end, hdrs);
	}
	mbuf_reset(&mb);
	return err;
}

static int vm_count_box(const struct vm_box *b, void *arg)
{
	struct web *w = arg;
	unsigned n = 0, o = 0;

	vm_counts(w->vm, b->box, b->context, &n, &o);
	w->vm_new += n;
	w->vm_old += o;
	return 0;
}

/* The totals of every box, counted again only after a change (vm_changes). */
static void vm_recount(struct web *w)
{
	uint64_t g = vm_changes(w->vm);

	if (w->vm_counted && g == w->vm_seen)
		return;
	w->vm_new = w->vm_old = 0;
	vm_box_foreach(w->vm, NULL, vm_count_box, w);
	w->vm_seen = g;
	w->vm_counted = true;
}

/* The status as JSON: version, the line, the phones' bindings, the calls in progress, then the
 * time. *cmp: the length before the time (what the live updates compare). */
static int status_build(struct web *w, struct mbuf *mb, size_t *cmp)
{
	int err;

	err = mbuf_printf(mb, "{\"version\":\"%s\",", MIKAKA_VERSION);
	if (w->reg)
		err |= reg_status_json(w->reg, mb);
	else
		err |= mbuf_write_str(mb, "\"line\":[],\"phones\":[]");
	err |= mbuf_write_str(mb, ",\"calls\":");
	err |= w->calls ? call_status_json(w->calls, mb) : mbuf_write_str(mb, "[]");
	if (w->vm) {
		vm_recount(w);
		err |= mbuf_printf(mb, ",\"voicemail\":{\"new\":%u,\"old\":%u,\"changes\":%llu}",
				   w->vm_new, w->vm_old, (unsigned long long)w->vm_seen);
	}
	if (cmp)
		*cmp = mb->end;
	err |= mbuf_printf(mb, ",\"time_ms\":%lld}", (long long)time(NULL) * 1000);
	return err ? ENOMEM : 0;
}

/* GET /api/calls: the calls in progress alone (the "calls" of /api/status), for scripts. */
static int do_calls(struct web_req *r)
{
	struct mbuf mb;
	int err;

	mbuf_init(&mb);
	err = r->w->calls ? call_status_json(r->w->calls, &mb) : mbuf_write_str(&mb, "[]");
	err |= mbuf_write_str(&mb, "\n");
	err = err ? respond_error(r, 503, "no memory")
		  : respond(r, 200, "application/json", (const char *)mb.buf, mb.end, NULL);
	mbuf_reset(&mb);
	return err;
}

static int do_history_json(struct web_req *r)
{
	return do_history(r, false);
}

static int do_history_csv(struct web_req *r)
{
	return do_history(r, true);
}

/* GET /api/status */
static int do_status(struct web_req *r)
{
	struct mbuf mb;
	int err;

	mbuf_init(&mb);
	err = status_build(r->w, &mb, NULL);
	err |= mbuf_write_str(&mb, "\n");
	err = err ? respond_error(r, 503, "no memory")
		  : respond(r, 200, "application/json", (const char *)mb.buf, mb.end, NULL);
	mbuf_reset(&mb);
	return err;
}

/* ---------------------------------------------------------------------------------------------
 * Live updates: GET /api/events is a server-sent event stream. Once a second (the loop-lag timer)
 * the status is built again when a stream is open; when anything but the time differs from the
 * last one pushed, every stream gets it as an "event: status". Calls in progress change every
 * second (their duration), so during a call the page is updated every second; when nothing
 * changes, a comment every 15 s finds dead clients. Nothing polls faster than 1 s.
 */
static void sse_close(struct web *w, struct web_req *r)
{
	if (!r->sse)
		return;
	list_unlink(&r->sse_le);
	r->sse = false;
	if (!--w->nsse) { /* no one watches: the last status is not kept */
		free(w->ev);
		w->ev = NULL;
		w->ev_len = w->ev_cmp = 0;
	}
}

/* The session of a stream still exists (a logout or expiry ends the stream); does not refresh it:
 * an open page alone does not keep a session alive. */
static bool sse_session_ok(struct web *w, const struct web_req *r)
{
	uint64_t now = loop_now(w->loop);

	if (!r->sse_sid[0])
		return true; /* the bearer token */
	for (struct le *le = w->sessions.head; le; le = le->next) {
		const struct web_session *s = le->data;

		if (ct_equal(s->id, r->sse_sid))
			return now - s->last < (uint64_t)w->set.session_idle * 1000;
	}
	return false;
}

/* The client has closed its end. A stream's client sends nothing after its request, and
 * libwebsockets does not notice the close of an event stream until a write fails (a keep-alive
 * later, up to 30 s): looked at here once a second, so closed streams do not hold places. */
static bool sse_gone(struct web_req *r)
{
	struct pollfd p = {.fd = lws_get_socket_fd(r->wsi), .events = POLLRDHUP};

	return p.fd < 0 || (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)));
}

/* Builds the status; a new event when it changed. */
static void sse_refresh(struct web *w, bool force)
{
	static const char pre[] = "event: status\ndata: ";
	struct mbuf mb;
	size_t cmp = 0;
	uint8_t *ev;

	mbuf_init(&mb);
	if (status_build(w, &mb, &cmp) || mbuf_write_str(&mb, "\n\n")) {
		mbuf_reset(&mb);
		return;
	}
	if (!force && w->ev && w->ev_cmp == sizeof(pre) - 1 + cmp &&
	    !memcmp(w->ev + LWS_PRE + sizeof(pre) - 1, mb.buf, cmp)) {
		mbuf_reset(&mb);
		return;
	}
	ev = malloc(LWS_PRE + sizeof(pre) - 1 + mb.end);
	if (ev) {
		memcpy(ev + LWS_PRE, pre, sizeof(pre) - 1);
		memcpy(ev + LWS_PRE + sizeof(pre) - 1, mb.buf, mb.end);
		free(w->ev);
		w->ev = ev;
		w->ev_len = sizeof(pre) - 1 + mb.end;
		w->ev_cmp = sizeof(pre) - 1 + cmp;
		w->ev_gen++;
	}
	mbuf_reset(&mb);
}

/* Once a second, and after a change made through the console (the hang-up). */
static void sse_tick(struct web *w, bool force)
{
	uint64_t now = loop_now(w->loop);
	bool ping = now - w->ev_ping >= SSE_PING_MS;
	struct le *le;

	if (!w->nsse)
		return;
	sse_refresh(w, force);
	if (ping)
		w->ev_ping = now;
	for (le = w->sse.head; le;) {
		struct web_req *r = le->data;

		le = le->next;
		if (!sse_session_ok(w, r) || sse_gone(r)) {
			/* closed from its writable callback, the way libwebsockets closes */
			sse_close(w, r);
			r->sse_end = true;
			lws_callback_on_writable(r->wsi);
			continue;
		}
		if (ping)
			r->sse_ping = true;
		if (r->sse_gen != w->ev_gen || r->sse_ping)
			lws_callback_on_writable(r->wsi);
	}
	kick(w, 0);
}

static int sse_write(struct web_req *r)
{
	struct web *w = r->w;
	static const char ping[] = ": keep-alive\n\n";
	uint8_t buf[LWS_PRE + sizeof(ping)];

	if (r->sse_gen != w->ev_gen && w->ev) {
		r->sse_gen = w->ev_gen;
		/* a due keep-alive still follows: during a call the status changes every second,
		 * and the keep-alive must not depend on what else is sent (one write per callback) */
		if (r->sse_ping)
			lws_callback_on_writable(r->wsi);
		return lws_write(r->wsi, w->ev + LWS_PRE, w->ev_len, LWS_WRITE_HTTP) < 0 ? -1 : 0;
	}
	if (r->sse_ping) {
		r->sse_ping = false;
		memcpy(buf + LWS_PRE, ping, sizeof(ping) - 1);
		return lws_write(r->wsi, buf + LWS_PRE, sizeof(ping) - 1, LWS_WRITE_HTTP) < 0 ? -1
											      : 0;
	}
	return 0;
}

/* GET /api/events: the stream's head, then the current status at once. */
static int do_events(struct web_req *r)
{
	struct web *w = r->w;
	uint8_t hdr[LWS_PRE + 2048], *start = hdr + LWS_PRE, *p = start,
				     *end = hdr + sizeof(hdr) - 1;

	if (w->nsse >= SSE_MAX)
		return respond_error(r, 503, "too many live-update streams");
	if (lws_add_http_common_headers(r->wsi, 200, "text/event-stream",
					LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
	    add_headers(r, NULL, &p, end) || lws_finalize_write_http_header(r->wsi, start, &p, end))
		return -1;
	/* The request's header buffer goes back to the pool (16 of them: streams holding them
	 * would stall every other request), and no timeout: open until either side ends.
	 * (lws_http_mark_sse does both for HTTP/2 streams only in libwebsockets 4.1.) */
	lws_http_headers_detach(r->wsi);
	lws_set_timeout(r->wsi, NO_PENDING_TIMEOUT, 0);
	snprintf(r->sse_sid, sizeof(r->sse_sid), "%s", r->sess ? r->sess->id : "");
	r->sse = true;
	list_append(&w->sse, &r->sse_le, r);
	w->nsse++;
	if (w->nsse == 1 || !w->ev)
		sse_refresh(w, true);
	r->sse_gen = w->ev_gen - 1; /* the current status is due */
	lws_callback_on_writable(r->wsi);
	return 0;
}

/* POST /api/hangup, form channel=NAME: what `channel request hangup NAME` does. */
static int do_hangup(struct web_req *r)
{
	char name[128], body[320];
	struct mbuf out;
	int err;

	if (!form_get(r->body, "channel", name, sizeof(name)) || !name[0])
		return respond_error(r, 400, "expected channel (form-encoded)");
	if (!r->w->calls)
		return respond_error(r, 503, "no call engine");
	mbuf_init(&out);
	err = call_hangup_channel(r->w->calls, name, &out);
	mbuf_reset(&out);
	if (err == ENOENT)
		return respond_error(r, 404, "no such channel");
	if (err)
		return respond_error(r, 400, "cannot hang up that channel");
	log_notice("%s hung up %s from the web console",
		   r->sess ? r->sess->user : "the bearer token", name);
	sse_tick(r->w, true);
	mbuf_init(&out);
	err = mbuf_write_str(&out, "{\"hungup\":") || mbuf_write_json(&out, name, strlen(name)) ||
	      mbuf_write_str(&out, "}\n");
	snprintf(body, sizeof(body), "%.*s", (int)out.end, out.buf ? (const char *)out.buf : "");
	mbuf_reset(&out);
	return err ? respond_error(r, 503, "no memory") : respond_json(r, 200, body);
}

/* ---------------------------------------------------------------------------------------------
 * The block list and the phonebook (docs/SCREENING.md): the same screen_db calls as the
 * `block ...` and `phonebook ...` commands, so a change here is a change there.
 */

/* A number as typed: "０９０－１２３４－５６７８" is 39 bytes for 11 digits (3 bytes a full-width
 * character); screen_number_norm decides what is a number. */
#define FORM_NUM_MAX (3 * SCREEN_NUM_MAX + 2)

/* Control characters would break the lines `phonebook show` and `block show` print. */
bool web_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, k = 9;
		uint32_t cp;

		if (c < 0x80)
			k = 0;
		else if (c >= 0xc2 && c < 0xe0)
			k = 1;
		else if (c >= 0xe0 && c < 0xf0)
			k = 2;
		else if (c >= 0xf0 && c < 0xf5)
			k = 3;
		if (k == 9 || (k == 0 && (c < 0x20 || c == 0x7f)))
			return false;
		cp = k ? c & (0x3fu >> k) : c;
		for (unsigned j = 1; j <= k; j++) {
			if ((p[j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		p += k + 1;
	}
	return true;
}

struct ent_json {
	struct mbuf *mb;
	bool first;
	bool block;
	int err;
};

static void ent_json_h(const char *num, bool prefix, int64_t added, const char *note, void *arg)
{
	struct ent_json *j = arg;
	char n[SCREEN_NUM_MAX + 2];

	snprintf(n, sizeof(n), "%s%s", num, prefix ? "*" : "");
	j->err |= mbuf_write_str(j->mb, j->first ? "{\"number\":" : ",{\"number\":");
	j->err |= mbuf_write_json(j->mb, n, strlen(n));
	if (j->block) {
		j->err |= mbuf_printf(j->mb, ",\"prefix\":%s,\"added\":%lld,\"note\":",
				      prefix ? "true" : "false", (long long)added);
	} else {
		j->err |= mbuf_write_str(j->mb, ",\"name\":");
	}
	j->err |= mbuf_write_json(j->mb, note, strlen(note));
	j->err |= mbuf_write_str(j->mb, "}");
	j->first = false;
}

static int screen_list(struct web_req *r, bool block)
{
	struct ent_json j = {.first = true, .block = block};
	struct mbuf mb;
	int ret;

	if (!r->w->screen)
		return respond_error(r, 503, "no block list");
	mbuf_init(&mb);
	j.mb = &mb;
	if (block) {
		j.err |= mbuf_printf(&mb, "{\"count\":%zu,\"last\":",
				     screen_db_block_count(r->w->screen));
		j.err |= mbuf_write_json(&mb, screen_db_last(r->w->screen),
					 strlen(screen_db_last(r->w->screen)));
		j.err |= mbuf_write_str(&mb, ",\"entries\":[");
		screen_db_block_foreach(r->w->screen, ent_json_h, &j);
	} else {
		j.err |= mbuf_printf(&mb, "{\"count\":%zu,\"entries\":[",
				     screen_db_pb_count(r->w->screen));
		screen_db_pb_foreach(r->w->screen, ent_json_h, &j);
	}
	j.err |= mbuf_write_str(&mb, "]}\n");
	if (j.err) {
		mbuf_reset(&mb);
		return respond_error(r, 503, "no memory");
	}
	ret = respond(r, 200, "application/json", (const char *)mb.buf, mb.end, NULL);
	mbuf_reset(&mb);
	return ret;
}

/* The answer to a change: {"number":N}, N as given. */
static int screen_done(struct web_req *r, const char *num)
{
	struct mbuf mb;
	int ret;

	mbuf_init(&mb);
	if (mbuf_write_str(&mb, "{\"number\":") || mbuf_write_json(&mb, num, strlen(num)) ||
	    mbuf_write_str(&mb, "}\n")) {
		mbuf_reset(&mb);
		return respond_error(r, 503, "no memory");
	}
	ret = respond(r, 200, "application/json", (const char *)mb.buf, mb.end, NULL);
	mbuf_reset(&mb);
	return ret;
}

/* GET /api/blocklist, or POST form number=N[&note=TEXT]: what `block add N TEXT` does. */
static int do_blocklist(struct web_req *r)
{
	char num[FORM_NUM_MAX], note[200] = "";
	int err;

	if (r->method == M_GET)
		return screen_list(r, true);
	if (!r->w->screen)
		return respond_error(r, 503, "no block list");
	if (!form_get(r->body, "number", num, sizeof(num)) || !num[0])
		return respond_error(r, 400, "expected number (form-encoded)");
	if (!form_get(r->body, "note", note, sizeof(note)))
		note[0] = '\0';
	if (!web_text_ok(note))
		return respond_error(r, 400, "note: not UTF-8 text");
	err = screen_db_block_add(r->w->screen, num, note);
	if (err == EINVAL)
		return respond_error(r, 400, "not a number or a prefix like 0120*");
	if (err)
		return respond_error(r, 503, "no memory");
	log_notice("%s blocked %s from the web console",
		   r->sess ? r->sess->user : "the bearer token", num);
	return screen_done(r, num);
}

/* POST /api/blocklist/del, form number=N: what `block del N` does. */
static int do_blocklist_del(struct web_req *r)
{
	char num[FORM_NUM_MAX];
	int err;

	if (!r->w->screen)
		return respond_error(r, 503, "no block list");
	if (!form_get(r->body, "number", num, sizeof(num)) || !num[0])
		return respond_error(r, 400, "expected number (form-encoded)");
	err = screen_db_block_del(r->w->screen, num);
	if (err == ENOENT)
		return respond_error(r, 404, "not in the block list");
	if (err)
		return respond_error(r, 400, "not a number");
	log_notice("%s unblocked %s from the web console",
		   r->sess ? r->sess->user : "the bearer token", num);
	return screen_done(r, num);
}

/* GET /api/phonebook, or POST form number=N&name=NAME: adds or renames one entry. */
static int do_phonebook(struct web_req *r)
{
	char num[FORM_NUM_MAX], name[SCREEN_NAME_MAX + 1];
	int err;

	if (r->method == M_GET)
		return screen_list(r, false);
	if (!r->w->screen)
		return respond_error(r, 503, "no phonebook");
	if (!form_get(r->body, "number", num, sizeof(num)) || !num[0] ||
	    !form_get(r->body, "name", name, sizeof(name)) || !name[0])
		return respond_error(r, 400, "expected number and name (form-encoded)");
	if (!web_text_ok(name))
		return respond_error(r, 400, "name: not UTF-8 text");
	err = screen_db_pb_set(r->w->screen, num, name);
	if (err == EINVAL)
		return respond_error(r, 400, "not a number");
	if (err)
		return respond_error(r, 503, "no memory");
	return screen_done(r, num);
}

/* POST /api/phonebook/del, form number=N: what `phonebook del N` does. */
static int do_phonebook_del(struct web_req *r)
{
	char num[FORM_NUM_MAX];
	int err;

	if (!r->w->screen)
		return respond_error(r, 503, "no phonebook");
	if (!form_get(r->body, "number", num, sizeof(num)) || !num[0])
		return respond_error(r, 400, "expected number (form-encoded)");
	err = screen_db_pb_del(r->w->screen, num);
	if (err == ENOENT)
		return respond_error(r, 404, "not in the phonebook");
	if (err)
		return respond_error(r, 400, "not a number");
	return screen_done(r, num);
}

/* ---------------------------------------------------------------------------------------------
 * Voicemail (docs/VOICEMAIL.md): the list comes from the vm module's index, the audio from its
 * spool, and heard/delete are vm_msg_move/vm_msg_delete, the calls VoiceMailMain and the CLI
 * make, so the files, the index and the phones' lamps (MWI) follow in the same way. A message's
 * id is its WAV's inode number (vm.h): the path of the file served is always built by the vm
 * module from the box and the message number found for that id, never from the URL.
 */

/* The number in a caller ID: "Name" <0312345678> -> 0312345678; "Unknown" -> "". */
static struct pl callerid_number(const char *cid)
{
	const char *lt = strrchr(cid, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	if (lt && gt)
		return pl_from(lt + 1, (size_t)(gt - lt - 1));
	if (!strcasecmp(cid, "Unknown"))
		return pl_from("", 0);
	return pl_from(cid, strlen(cid));
}

/* The name in a caller ID: "Name" <num> -> Name; else "". */
static struct pl callerid_name(const char *cid)
{
	const char *q = cid[0] == '"' ? strchr(cid + 1, '"') : NULL;

	return q ? pl_from(cid + 1, (size_t)(q - cid - 1)) : pl_from("", 0);
}

struct vm_json {
	struct mbuf *mb;
	unsigned n;
	int err;
};

static int vm_json_h(const struct vm_msg_entry *m, void *arg)
{
	struct vm_json *j = arg;
	struct pl num = callerid_number(m->callerid), name = callerid_name(m->callerid);
	struct mbuf *mb = j->mb;

	j->err |= mbuf_printf(mb, "%s{\"id\":%llu,\"box\":", j->n++ ? "," : "",
			      (unsigned long long)m->id);
	j->err |= mbuf_write_json(mb, m->box->box, strlen(m->box->box));
	j->err |= mbuf_write_str(mb, ",\"context\":");
	j->err |= mbuf_write_json(mb, m->box->context, strlen(m->box->context));
	j->err |= mbuf_printf(mb, ",\"folder\":\"%s\",\"msgnum\":%u,\"from\":",
			      vm_folder_name(m->folder), m->msgnum);
	j->err |= mbuf_write_json(mb, num.p, num.l);
	j->err |= mbuf_write_str(mb, ",\"name\":");
	j->err |= mbuf_write_json(mb, name.p, name.l);
	j->err |= mbuf_write_str(mb, ",\"callerid\":");
	j->err |= mbuf_write_json(mb, m->callerid, strlen(m->callerid));
	j->err |= mbuf_printf(mb, ",\"received_ms\":%lld,\"duration\":%u,\"heard\":%s}",
			      (long long)m->origtime * 1000, m->duration,
			      m->folder == VM_INBOX ? "false" : "true");
	return j->err ? ENOMEM : 0;
}

/* GET /api/voicemail: every message of every box, newest first. */
static int do_vm_list(struct web_req *r)
{
	struct web *w = r->w;
	struct vm_json j = {0};
	struct mbuf mb;
	int err;

	if (!w->vm)
		return respond_error(r, 503, "no voicemail");
	vm_recount(w);
	mbuf_init(&mb);
	j.mb = &mb;
	err = mbuf_write_str(&mb, "{\"messages\":[");
	if (!err)
		err = vm_msg_list(w->vm, vm_json_h, &j);
	if (!err)
		err = mbuf_printf(&mb, "],\"new\":%u,\"old\":%u,\"changes\":%llu}\n", w->vm_new,
				  w->vm_old, (unsigned long long)w->vm_seen);
	err = err ? respond_error(r, 503, "cannot read the voicemail index")
		  : respond(r, 200, "application/json", (const char *)mb.buf, mb.end, NULL);
	mbuf_reset(&mb);
	return err;
}

/* A message id: 1 to 20 digits, nothing else (no sign, no space, no "0x"). */
static bool vm_id_parse(const char *s, size_t len, uint64_t *id)
{
	uint64_t v = 0;

	if (!len || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*id = v;
	return v != 0;
}

int web_range_parse(const char *v, uint64_t size, uint64_t *start, uint64_t *len)
{
	unsigned long long a = 0, b = 0;
	const char *p;
	char *end;

	if (strncasecmp(v, "bytes=", 6) || strchr(v, ','))
		return 0;
	p = v + 6;
	while (*p == ' ')
		p++;
	if (*p == '-') { /* the last N bytes */
		if (!isdigit((unsigned char)p[1]))
			return 0;
		errno = 0;
		b = strtoull(p + 1, &end, 10);
		if (errno || *end)
			return 0;
		if (!b || !size)
			return -1;
		if (b > size)
			b = size;
		*start = size - b;
		*len = b;
		return 1;
	}
	if (!isdigit((unsigned char)*p))
		return 0;
	errno = 0;
	a = strtoull(p, &end, 10);
	if (errno || *end != '-')
		return 0;
	p = end + 1;
	if (!*p) {
		b = size ? size - 1 : 0;
	} else {
		if (!isdigit((unsigned char)*p))
			return 0;
		b = strtoull(p, &end, 10);
		if (errno || *end || b < a)
			return 0;
		if (b >= size)
			b = size ? size - 1 : 0;
	}
	if (a >= size)
		return -1;
	*start = a;
	*len = b - a + 1;
	return 1;
}

/* GET /api/voicemail/ID.wav: the message's WAV, whole or the Range asked for (206), sent from the
 * file in pieces (a 5-minute message is 4.8 MB: never read whole into memory). */
static int do_vm_wav(struct web_req *r)
{
	static const char pre[] = "/api/voicemail/";
	struct web *w = r->w;
	const char *idp = r->uri + sizeof(pre) - 1, *dot = strchr(idp, '.');
	uint8_t hdr[LWS_PRE + 2048], *start = hdr + LWS_PRE, *p = start,
				     *end = hdr + sizeof(hdr) - 1;
	char path[4096], crange[80], disp[64], rh[128];
	uint64_t id, from = 0, len;
	unsigned status = 200;
	struct vm_msg_entry m;
	struct stat sb;
	int fd, err, rng = 0;

	if (r->method != M_GET)
		return respond_error(r, 405, "method not allowed");
	if (!dot || strcmp(dot, ".wav") || !vm_id_parse(idp, (size_t)(dot - idp), &id))
		return respond_error(r, 400, "expected /api/voicemail/ID.wav, ID digits only");
	if (!w->vm)
		return respond_error(r, 503, "no voicemail");
	err = vm_msg_find(w->vm, id, &m);
	if (err == ENOENT)
		return respond_error(r, 404, "no such message");
	if (err || vm_msg_path(w->vm, m.box, m.folder, m.msgnum, "wav", path, sizeof(path)))
		return respond_error(r, 503, "cannot read the voicemail index");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return respond_error(r, 404, "no such message");
	/* the file opened is the one listed (not renamed over since the lookup) */
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_ino != id) {
		close(fd);
		return respond_error(r, 404, "no such message");
	}
	len = (uint64_t)sb.st_size;
	if (lws_hdr_copy(r->wsi, rh, sizeof(rh), WSI_TOKEN_HTTP_RANGE) > 0)
		rng = web_range_parse(rh, (uint64_t)sb.st_size, &from, &len);
	if (rng < 0) {
		const char *hdrs[] = {"content-range:", crange, NULL};
		static const char body[] = "{\"error\":\"range not satisfiable\"}\n";

		close(fd);
		snprintf(crange, sizeof(crange), "bytes */%llu", (unsigned long long)sb.st_size);
		return respond(r, 416, "application/json", body, sizeof(body) - 1, hdrs);
	}
	if (rng > 0) {
		status = 206;
		snprintf(crange, sizeof(crange), "bytes %llu-%llu/%llu", (unsigned long long)from,
			 (unsigned long long)(from + len - 1), (unsigned long long)sb.st_size);
	}
	if (from && lseek(fd, (off_t)from, SEEK_SET) < 0) {
		close(fd);
		return respond_error(r, 503, "cannot read the message");
	}
	snprintf(disp, sizeof(disp), "inline; filename=\"msg%04u.wav\"", m.msgnum);
	{
		const char *hdrs[] = {"accept-ranges:", "bytes", "content-disposition:", disp,
				      status == 206 ? "content-range:" : NULL, crange, NULL};

		if (lws_add_http_common_headers(r->wsi, status, "audio/wav", len, &p, end) ||
		    add_headers(r, hdrs, &p, end) ||
		    lws_finalize_write_http_header(r->wsi, start, &p, end)) {
			close(fd);
			return -1;
		}
	}
	r->file = true;
	r->fd = fd;
	r->file_left = len;
	lws_callback_on_writable(r->wsi);
	return 0;
}

static void file_close(struct web_req *r)
{
	if (!r->file)
		return;
	close(r->fd);
	r->file = false;
	r->file_left = 0;
}

/* One piece of the file per writable callback; the last one ends the transaction. */
static int file_write(struct web_req *r)
{
	uint8_t buf[LWS_PRE + FILE_CHUNK];
	size_t n = r->file_left < FILE_CHUNK ? (size_t)r->file_left : FILE_CHUNK;
	ssize_t got = n ? read(r->fd, buf + LWS_PRE, n) : 0;
	bool last;

	if (got < 0 || (size_t)got != n) /* shorter than at the start: truncated under us */
		return -1;
	r->file_left -= n;
	last = !r->file_left;
	if (lws_write(r->wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
	    (int)n)
		return -1;
	if (!last) {
		lws_callback_on_writable(r->wsi);
		return 0;
	}
	file_close(r);
	return lws_http_transaction_completed(r->wsi) ? -1 : 0;
}

/* POST /api/voicemail/heard and /api/voicemail/delete, form id=ID. */
static int vm_change(struct web_req *r, bool del)
{
	struct web *w = r->w;
	struct vm_msg_entry m;
	char ids[32], body[96];
	uint64_t id;
	int err;

	if (!w->vm)
		return respond_error(r, 503, "no voicemail");
	if (!form_get(r->body, "id", ids, sizeof(ids)) || !vm_id_parse(ids, strlen(ids), &id))
		return respond_error(r, 400, "expected id=ID (form-encoded, digits only)");
	err = vm_msg_find(w->vm, id, &m);
	if (err == ENOENT)
		return respond_error(r, 404, "no such message");
	if (err)
		return respond_error(r, 503, "cannot read the voicemail index");
	if (del)
		err = vm_msg_delete(w->vm, m.box, m.folder, m.msgnum);
	else if (m.folder == VM_INBOX)
		err = vm_msg_move(w->vm, m.box, m.folder, m.msgnum, VM_OLD);
	if (err == ENOSPC)
		return respond_error(r, 409, "the Old folder is full (maxmsg)");
	if (err)
		return respond_error(r, 503, "the spool could not be changed");
	snprintf(body, sizeof(body), "{\"id\":%llu,\"%s\":true}\n", (unsigned long long)id,
		 del ? "deleted" : "heard");
	if (!del && m.folder != VM_INBOX) /* already heard: nothing changed */
		return respond_json(r, 200, body);
	log_notice("%s %s voicemail message %s %u of %s@%s from the web console",
		   r->sess ? r->sess->user : "the bearer token", del ? "deleted" : "marked heard",
		   vm_folder_name(m.folder), m.msgnum, m.box->box, m.box->context);
	sse_tick(w, true); /* the other pages open see it at once */
	return respond_json(r, 200, body);
}

static int do_vm_heard(struct web_req *r)
{
	return vm_change(r, false);
}

static int do_vm_delete(struct web_req *r)
{
	return vm_change(r, true);
}

void web_set_vm(struct web *w, struct vm *vm)
{
	if (w)
		w->vm = vm;
}

/* ---------------------------------------------------------------------------------------------
 * The configuration page: GET /api/config runs `mikakad -t` (check.c) and answers its findings;
 * POST /api/config/reload applies the files as `reload` does.
 */

/* "file:line: error: message" lines into {"file","line","severity","message"} objects. */
static int findings_json(const struct mbuf *text, struct mbuf *out, unsigned *nerr,
			 unsigned *nwarn)
{
	const char *p = (const char *)text->buf, *e = p + text->end;
	bool first = true;
	int err = mbuf_write_str(out, "[");

	*nerr = *nwarn = 0;
	while (p && p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p)), *le = nl ? nl : e;
		const char *sev = NULL, *msg = NULL, *colon;
		unsigned line = 0;
		bool is_err = false;

		for (const char *q = p; q + 3 < le; q++) {
			if (q + 9 <= le && !memcmp(q, ": error: ", 9)) {
				sev = q, msg = q + 9, is_err = true;
				break;
			}
			if (q + 11 <= le && !memcmp(q, ": warning: ", 11)) {
				sev = q, msg = q + 11;
				break;
			}
		}
		if (sev) {
			/* FILE:LINE or FILE alone before the severity */
			colon = sev;
			while (colon > p && isdigit((unsigned char)colon[-1]))
				colon--;
			if (colon > p && colon < sev && colon[-1] == ':') {
				line = (unsigned)strtoul(colon, NULL, 10);
				colon--;
			} else {
				colon = sev;
			}
			err |= mbuf_printf(out, "%s{\"file\":", first ? "" : ",");
			err |= mbuf_write_json(out, p, (size_t)(colon - p));
			err |= mbuf_printf(out, ",\"line\":%u,\"severity\":\"%s\",\"message\":", line,
					   is_err ? "error" : "warning");
			err |= mbuf_write_json(out, msg, (size_t)(le - msg));
			err |= mbuf_write_str(out, "}");
			first = false;
			(*(is_err ? nerr : nwarn))++;
		}
		p = nl ? nl + 1 : e;
	}
	return err | mbuf_write_str(out, "]");
}

static void check_done(int status, struct mbuf *text, void *arg)
{
	struct web *w = arg;
	struct web_req *r = w->check_req;
	unsigned nerr, nwarn;
	struct mbuf mb;
	int err;

	w->check_req = NULL;
	if (!r)
		goto out;
	mbuf_init(&mb);
	err = mbuf_write_str(&mb, "{\"findings\":");
	err |= findings_json(text, &mb, &nerr, &nwarn);
	err |= mbuf_printf(&mb, ",\"ok\":%s,\"exit\":%d,\"errors\":%u,\"warnings\":%u,\"output\":",
			   status == 0 ? "true" : "false", status, nerr, nwarn);
	err |= mbuf_write_json(&mb, text->buf ? (const char *)text->buf : "", text->end);
	err |= mbuf_write_str(&mb, "}\n");
	if (err)
		respond_error(r, 503, "no memory");
	else
		respond(r, 200, "application/json", (const char *)mb.buf, mb.end, NULL);
	mbuf_reset(&mb);
	kick(w, 0); /* libuv applies the response's POLLOUT inside uv_run */
out:
	web_check_free(w->check);
	w->check = NULL;
}

static int do_config_check(struct web_req *r)
{
	struct web *w = r->w;
	int err;

	if (!w->check_argv)
		return respond_error(r, 503, "no configuration to check");
	if (w->check)
		return respond_error(r, 503, "a check is running; try again");
	err = web_check_start(&w->check, w->loop, w->check_argv, check_done, w);
	if (err) {
		log_error("cannot run the configuration check: %s", strerror(err));
		return respond_error(r, 503, "cannot run the check");
	}
	w->check_req = r;
	return 0; /* answered from check_done */
}

static int do_config_reload(struct web_req *r)
{
	struct web *w = r->w;
	struct mbuf out, mb;
	int err, rc;

	if (!w->reload)
		return respond_error(r, 503, "no configuration to reload");
	log_notice("%s reloads the configuration from the web console",
		   r->sess ? r->sess->user : "the bearer token");
	mbuf_init(&out);
	rc = w->reload(&out, w->reload_arg);
	mbuf_init(&mb);
	err = mbuf_printf(&mb, "{\"ok\":%s,\"output\":", rc ? "false" : "true");
	err |= mbuf_write_json(&mb, out.buf ? (const char *)out.buf : "", out.end);
	err |= mbuf_write_str(&mb, "}\n");
	mbuf_reset(&out);
	err = err ? respond_error(r, 503, "no memory")
		  : respond(r, 200, "application/json", (const char *)mb.buf, mb.end, NULL);
	mbuf_reset(&mb);
	sse_tick(w, true);
	return err;
}

void web_set_admin(struct web *w, const char *const *check_argv, web_reload_h *reload, void *arg)
{
	size_t n = 0;

	if (!w)
		return;
	while (check_argv && check_argv[n])
		n++;
	w->check_argv = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; w->check_argv && i < n; i++)
		w->check_argv[i] = strdup(check_argv[i]);
	w->reload = reload;
	w->reload_arg = arg;
}

/* The browser's language: Japanese when Accept-Language puts ja before en, else English. */
static bool wants_japanese(struct web_req *r)
{
	char al[256];
	const char *ja, *en;

	if (lws_hdr_copy(r->wsi, al, sizeof(al), WSI_TOKEN_HTTP_ACCEPT_LANGUAGE) <= 0)
		return false;
	for (char *p = al; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	ja = strstr(al, "ja");
	en = strstr(al, "en");
	return ja && (!en || ja < en);
}

/* The static files: the status page, the login page, their script and style. */
static int do_static(struct web_req *r, const char *name)
{
	const struct web_file *f = web_file_find(name, wants_japanese(r));

	if (!f)
		return respond_error(r, 404, "not found");
	return respond(r, 200, f->type, f->body, strlen(f->body), NULL);
}

static int route(struct web_req *r)
{
	struct web *w = r->w;
	char body[256];

	if (r->method == M_OTHER)
		return respond_error(r, 405, "method not allowed");
	if (r->too_big)
		return respond_error(r, 413, "request body too large");
	if (r->method == M_POST && !strcmp(r->uri, "/api/login"))
		return do_login(r);
	authenticate(r);
	if (!strcmp(r->uri, "/metrics"))
		return do_metrics(r);
	/* what a browser needs before it has a session: the login page, the script, the style */
	if (r->method == M_GET && (!strcmp(r->uri, "/login") || !strcmp(r->uri, "/app.js") ||
				   !strcmp(r->uri, "/app.css")))
		return do_static(r, r->uri);
	if (!r->sess && !r->bearer) {
		if (r->method == M_GET && web_file_find(r->uri, false))
			return redirect(r, "/login"); /* a page */
		return respond_error(r, 401, "log in first");
	}
	if (r->method == M_POST && !csrf_ok(r))
		return respond_error(r, 403, "missing or wrong CSRF token");
	/* the pages (each a web_file; adding one is a line in pages.c's table) */
	if (r->method == M_GET && r->uri[0] == '/' && !strchr(r->uri + 1, '/') &&
	    web_file_find(r->uri, false))
		return do_static(r, r->uri);
	{
		static const struct {
			const char *path;
			bool post;
			int (*h)(struct web_req *r);
		} api[] = {
		    {"/api/status", false, do_status},
		    {"/api/calls", false, do_calls},
		    {"/api/history", false, do_history_json},
		    {"/api/history.csv", false, do_history_csv},
		    {"/api/events", false, do_events},
		    {"/api/hangup", true, do_hangup},
		    {"/api/config", false, do_config_check},
		    {"/api/config/reload", true, do_config_reload},
		    {"/api/blocklist/del", true, do_blocklist_del},
		    {"/api/phonebook/del", true, do_phonebook_del},
		    {"/api/voicemail", false, do_vm_list},
		    {"/api/voicemail/heard", true, do_vm_heard},
		    {"/api/voicemail/delete", true, do_vm_delete},
		};

		/* GET lists, POST adds */
		if (!strcmp(r->uri, "/api/blocklist"))
			return do_blocklist(r);
		if (!strcmp(r->uri, "/api/phonebook"))
			return do_phonebook(r);

		for (size_t i = 0; i < ARRAY_SIZE(api); i++) {
			if (strcmp(r->uri, api[i].path))
				continue;
			if ((r->method == M_POST) != api[i].post)
				return respond_error(r, 405, "method not allowed");
			return api[i].h(r);
		}
		/* GET /api/voicemail/ID.wav (anything else under it: 400) */
		if (!strncmp(r->uri, "/api/voicemail/", 15))
			return do_vm_wav(r);
	}
	if (web_file_find(r->uri, false))
		return respond_error(r, 405, "method not allowed");
	if (!strcmp(r->uri, "/api/session")) {
		if (r->method != M_GET)
			return respond_error(r, 405, "method not allowed");
		if (r->bearer)
			snprintf(body, sizeof(body), "{\"auth\":\"bearer\"}\n");
		else
			snprintf(body, sizeof(body),
				 "{\"auth\":\"session\",\"user\":\"%s\",\"csrf\":\"%s\"}\n",
				 r->sess->user, r->sess->csrf);
		return respond_json(r, 200, body);
	}
	if (!strcmp(r->uri, "/api/logout")) {
		if (r->method != M_POST)
			return respond_error(r, 405, "method not allowed");
		if (r->sess) {
			log_info("user %s logged out", r->sess->user);
			session_free(w, r->sess);
			r->sess = NULL;
		}
		{
			const char *hdrs[] = {"set-cookie:",
					      w->set.tls ? COOKIE_NAME "=; Path=/; HttpOnly; "
								 "SameSite=Strict; Secure; Max-Age=0"
							 : COOKIE_NAME "=; Path=/; HttpOnly; "
								 "SameSite=Strict; Max-Age=0",
					      NULL};

			return respond(r, 200, "application/json", "{}\n", 3, hdrs);
		}
	}
	return respond_error(r, 404, "not found");
}

static void req_reset(struct web_req *r)
{
	file_close(r);
	free(r->resp);
	r->resp = NULL;
	r->resp_len = 0;
	r->blen = 0;
	r->too_big = false;
	r->deadline = 0;
	r->answered = false;
	r->close = false;
	r->sess = NULL;
	r->bearer = false;
	r->sse_end = false;
}

/* Request smuggling: libwebsockets 4.1 reads a body by Content-Length only and refuses two
 * different ones, but it passes a Transfer-Encoding request on with no body, and the chunks then
 * parse as a second request on the same connection; a Content-Length like "-1" it takes as a
 * length. Such a request is answered (400 when both lengths are given, 501 for a transfer coding
 * alone, 400 for a length that is not digits) and its connection closed: nothing after it is
 * read. */
static bool framing_bad(struct web_req *r)
{
	static const char both[] = "{\"error\":\"both Content-Length and Transfer-Encoding\"}\n",
			  te[] = "{\"error\":\"Transfer-Encoding is not accepted; send "
				 "Content-Length\"}\n",
			  nan[] = "{\"error\":\"Content-Length is not a number\"}\n";
	const char *hdrs[] = {"connection:", "close", NULL}, *why = NULL;
	int cln = lws_hdr_total_length(r->wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
	char cl[24] = "";
	unsigned status = 400;

	if (cln > 0 && (cln >= (int)sizeof(cl) ||
			lws_hdr_copy(r->wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) != cln ||
			strspn(cl, "0123456789") != (size_t)cln))
		why = nan;
	else if (lws_hdr_total_length(r->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
		why = cln > 0 ? both : (status = 501, te);
	if (!why)
		return false;
	r->answered = true;
	r->close = true;
	if (respond(r, status, "application/json", why, strlen(why), hdrs)) {
		free(r->resp); /* nothing to send: the writable callback closes */
		r->resp = NULL;
	}
	lws_callback_on_writable(r->wsi);
	return true;
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		   size_t len)
{
	struct web_req *r = user;
	struct web *w = lws_context_user(lws_get_context(wsi));

	if (!r) /* a connection that never got as far as a request (bad headers) */
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		req_reset(r);
		r->w = w;
		r->wsi = wsi;
		snprintf(r->uri, sizeof(r->uri), "%s", (const char *)in);
		r->method = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI)    ? M_GET
			    : lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) ? M_POST
									    : M_OTHER;
		peer_addr(wsi, &r->peer);
		if (framing_bad(r))
			return 0; /* answered; closed after it */
		if (r->method == M_POST) {
			char cl[24];

			if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
			    strtoul(cl, NULL, 10) > BODY_MAX) {
				r->too_big = true;
				return handle(r) ? -1 : 0;
			}
			if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
			    strtoul(cl, NULL, 10) > 0) {
				/* the body follows, all of it within timeout: a sender that stops
				 * is closed by libwebsockets' timeout, one that trickles here */
				r->deadline = loop_now(w->loop) + (uint64_t)w->set.timeout * 1000;
				return 0;
			}
		}
		r->body[0] = '\0';
		return handle(r) ? -1 : 0;
	case LWS_CALLBACK_HTTP_BODY:
		if (r->deadline && loop_now(w->loop) > r->deadline)
			return -1; /* too slow: closed */
		if (r->answered)
			return 0;
		if (r->blen + len > BODY_MAX) {
			r->too_big = true;
			return 0;
		}
		memcpy(r->body + r->blen, in, len);
		r->blen += len;
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		r->body[r->blen] = '\0';
		{
			int rc = handle(r);

			explicit_bzero(r->body, sizeof(r->body));
			return rc ? -1 : 0;
		}
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (r->sse_end)
			return -1;
		if (r->sse)
			return sse_write(r) ? -1 : 0;
		if (r->file)
			return file_write(r);
		if (!r->resp)
			return r->close ? -1 : 0;
		if (lws_write(wsi, r->resp + LWS_PRE, r->resp_len, LWS_WRITE_HTTP_FINAL) !=
		    (int)r->resp_len)
			return -1;
		free(r->resp);
		r->resp = NULL;
		if (r->close)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (r->login)
			r->login->req = NULL;
		if (w && w->check_req == r)
			w->check_req = NULL;
		if (w)
			sse_close(w, r);
		req_reset(r);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* tx_packet_size: libwebsockets otherwise hands the kernel 4 KiB per loop turn, so a /metrics of
 * 1,000 phones (60 KiB) took 15 turns of epoll changes; now the kernel takes what it can at once
 * and libwebsockets keeps only what it did not (docs/BENCHMARKS.md, web console). */
#define TX_PACKET_MAX (256 * 1024)
static const struct lws_protocols protocols[] = {
    {"http", http_cb, sizeof(struct web_req), 0, 0, NULL, TX_PACKET_MAX},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---------------------------------------------------------------------------------------------
 * The libuv loop inside ours.
 */
static void uv_turn(struct web *w)
{
	int t;

	uv_run(&w->uv, UV_RUN_NOWAIT);
	t = uv_backend_timeout(&w->uv);
	/* -1: nothing due; still look every second (session expiry, the ban's purge) */
	kick(w, t < 0 || t > 1000 ? 1000 : (uint64_t)t);
}

static void tmr_h(void *arg)
{
	struct web *w = arg;

	reg_bans_purge(&w->bans, loop_now(w->loop));
	w->uv_due = true;
}

/* libuv runs after the turn's SIP has been sent (loop_after_add_background): a request that
 * became ready in the same turn as an INVITE would otherwise hold the INVITE's forward back by
 * the time it takes to build (62 KB of /metrics), measured as slower call set-up under load. */
static void bg_h(void *arg)
{
	struct web *w = arg;

	if (!w->uv_due)
		return;
	w->uv_due = false;
	uv_turn(w);
}

static void lag_h(void *arg)
{
	struct web *w = arg;
	uint64_t now = loop_now(w->loop);

	w->lag_ms = now > w->lag_due ? now - w->lag_due : 0;
	if (w->lag_ms > w->lag_max_ms)
		w->lag_max_ms = w->lag_ms;
	w->lag_due = now + 1000;
	loop_timer_start(w->loop, &w->lag_tmr, 1000, lag_h, w);
	sse_tick(w, false); /* live updates: at most once a second */
}

void web_set_screen(struct web *w, struct screen_db *db)
{
	if (w)
		w->screen = db;
}

void web_set_sources(struct web *w, struct call_eng *calls, struct reg *reg,
		     struct sip_stack *stack)
{
	if (!w)
		return;
	w->calls = calls;
	w->reg = reg;
	w->stack = stack;
}

/* Runs libuv after delay_ms (0: on this turn's timers). */
static void kick(struct web *w, uint64_t delay_ms)
{
	loop_timer_start(w->loop, &w->tmr, delay_ms, tmr_h, w);
}

static void uvfd_h(int fd, uint32_t events, void *arg)
{
	struct web *w = arg;

	w->uv_due = true;
}

/* libwebsockets logs a line for each malformed request (an oversize head: "Ran out of header
 * data space"), so a client could fill the log: at most LWS_LOG_BURST of its lines a minute, and
 * the number left out is said with the first line of a later minute. */
#define LWS_LOG_BURST 10

static void lws_log(int level, const char *line)
{
	static uint64_t minute;
	static unsigned lines, left_out;
	struct timespec ts;
	size_t n = strlen(line);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if ((uint64_t)ts.tv_sec / 60 != minute) {
		if (left_out)
			log_msg(LOG_WARN, "web", "libwebsockets: %u more lines left out", left_out);
		minute = (uint64_t)ts.tv_sec / 60;
		lines = left_out = 0;
	}
	if (lines++ >= LWS_LOG_BURST) {
		left_out++;
		return;
	}
	/* libwebsockets' own lines end in a newline; they never hold a header's value */
	log_msg(level & LLL_ERR ? LOG_ERROR : LOG_WARN, "web", "libwebsockets: %.*s",
		(int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
}

int web_alloc(struct web **wp, struct loop *loop, struct store *st, const struct web_settings *set)
{
	struct lws_context_creation_info info;
	char iface[INET6_ADDRSTRLEN];
	void *foreign[1];
	struct web *w;
	int err;

	{
		char why[256];

		err = web_lib_load(why, sizeof(why));
		if (err) {
			log_error("web console: cannot load libwebsockets: %s", why);
			return err;
		}
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return ENOMEM;
	w->loop = loop;
	w->st = st;
	w->set = *set;
	w->efd = -1;
	w->uvfd = -1;
	list_init(&w->sessions);
	list_init(&w->sse);
	loop_timer_init(&w->tmr);
	loop_timer_init(&w->lag_tmr);
	err = reg_bans_init(&w->bans, set->ban_failures, set->ban_window, set->ban_time, 4096);
	if (!err && uv_loop_init(&w->uv))
		err = ENOMEM;
	else if (!err)
		w->uv_ok = true;
	if (!err) {
		w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->efd < 0)
			err = errno;
	}
	if (!err) {
		char pw[33];

		web_random_hex(pw, 16);
		err = web_hash_password(pw, w->dummy_hash, sizeof(w->dummy_hash));
	}
	if (err)
		goto out;

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	memset(&info, 0, sizeof(info));
	foreign[0] = &w->uv;
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS |
		       LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.foreign_loops = foreign;
	info.protocols = protocols;
	info.user = w;
	sa_ntop(&set->listen, iface, sizeof(iface));
	info.iface = iface;
	info.port = sa_port(&set->listen);
	if (sa_af(&set->listen) == AF_INET)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.max_http_header_data = 4096; /* a longer header line: the request is refused */
	/* request heads being read at once: a slow sender holds one until it times out, so there are
	 * more than a few slow clients take (64 x 4 KiB at worst, allocated only while in use) */
	info.max_http_header_pool = HEAD_POOL;
	info.timeout_secs = set->timeout;
	info.keepalive_timeout = (int)set->timeout;
	/* the whole request head must arrive within timeout (a slow sender holds a header buffer)
	 */
	info.timeout_secs_ah_idle = set->timeout;
	info.server_string = "mikaka";
	info.count_threads = 1;
	if (set->tls) {
		/* the files: [web]'s own, or SIP's (tlscertfile), or the self-signed one in the
		 * state directory (mikakad fills certfile in before this) */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = set->certfile;
		info.ssl_private_key_filepath = set->keyfile[0] ? set->keyfile : set->certfile;
		/* TLS 1.2 and 1.3 only */
		info.ssl_options_set = (long)(SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
		/* HTTP/1.1 only: libwebsockets 4.1 does not find custom headers (X-CSRF-Token) on
		 * HTTP/2 streams, and a status page needs one stream */
		info.alpn = "http/1.1";
	}
	w->ctx = lws_create_context(&info);
	if (!w->ctx) {
		err = EADDRNOTAVAIL;
		goto out;
	}
	w->uvfd = uv_backend_fd(&w->uv);
	err = loop_fd_listen(loop, w->uvfd, LOOP_READ, uvfd_h, w);
	if (!err)
		err = loop_fd_listen(loop, w->efd, LOOP_READ, efd_h, w);
	if (!err) {
		err = loop_after_add_background(loop, bg_h, w);
		w->bg_hook = !err;
	}
	if (err)
		goto out;
	kick(w, 0);
	w->lag_due = loop_now(loop) + 1000;
	loop_timer_start(loop, &w->lag_tmr, 1000, lag_h, w);
	{
		char ab[80];

		char fp[128] = "";

		/* the fingerprint: what a user compares with the browser's for a self-signed one */
		if (set->tls && sip_tls_fingerprint(set->certfile, fp, sizeof(fp)))
			fp[0] = '\0';
		log_notice("web console on %s://%s/%s%s%s%s", set->tls ? "https" : "http",
			   sa_fmt(&set->listen, ab, sizeof(ab)), set->tls ? " certificate " : "",
			   set->tls ? set->certfile : "", fp[0] ? ", SHA-256 fingerprint " : "", fp);
	}
	*wp = w;
	return 0;
out:
	log_error("cannot listen on %s: %s", iface, strerror(err));
	web_free(w);
	return err;
}

void web_free(struct web *w)
{
	if (!w)
		return;
	if (w->login) { /* wait for the worker: it writes into the login and the eventfd */
		pthread_join(w->login->thread, NULL);
		explicit_bzero(w->login, sizeof(*w->login));
		free(w->login);
	}
	loop_timer_cancel(&w->tmr);
	loop_timer_cancel(&w->lag_tmr);
	if (w->bg_hook)
		loop_after_remove(w->loop, bg_h, w);
	if (w->uvfd >= 0)
		loop_fd_remove(w->loop, w->uvfd);
	if (w->efd >= 0) {
		loop_fd_remove(w->loop, w->efd);
		close(w->efd);
	}
	/* On a foreign loop libwebsockets is destroyed in two steps: the first call closes its
	 * libuv handles, the loop runs their close callbacks, the second call frees the context. */
	if (w->ctx)
		lws_context_destroy(w->ctx);
	if (w->uv_ok) {
		for (int i = 0; i < 100 && uv_run(&w->uv, UV_RUN_NOWAIT); i++)
			;
		if (w->ctx)
			lws_context_destroy(w->ctx);
		for (int i = 0; i < 100 && uv_run(&w->uv, UV_RUN_NOWAIT); i++)
			;
		if (uv_loop_close(&w->uv))
			log_warn("libuv loop not empty at exit");
	}
	while (w->sessions.head)
		session_free(w, w->sessions.head->data);
	reg_bans_reset(&w->bans);
	web_check_free(w->check);
	for (size_t i = 0; w->check_argv && w->check_argv[i]; i++)
		free(w->check_argv[i]);
	free(w->check_argv);
	free(w->ev);
	free(w);
}
