/* send: the POSTs, through libcurl's multi interface on our loop: libcurl tells which sockets to
 * watch (CURLMOPT_SOCKETFUNCTION) and when to call it back (CURLMOPT_TIMERFUNCTION); nothing
 * here waits. libcurl is dlopened (libcurl.so.4) at the first notify_alloc, so a daemon without
 * [notify] never maps it. Failed POSTs are retried with a doubling back-off, then counted. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The type-checking macros of curl.h would wrap our pointers to the functions. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "loop.h"
#include "notify_int.h"

#define LOG_MODULE "notify"

/* Requests queued or in flight at once; more are dropped (and counted): a dead receiver must not
 * make the daemon's memory grow. */
#define NOTIFY_PENDING_MAX 64

#define CURL_FUNCS                                                                                 \
	X(curl_global_init)                                                                        \
	X(curl_multi_init)                                                                         \
	X(curl_multi_setopt)                                                                       \
	X(curl_multi_socket_action)                                                                \
	X(curl_multi_info_read)                                                                    \
	X(curl_multi_add_handle)                                                                   \
	X(curl_multi_remove_handle)                                                                \
	X(curl_multi_cleanup)                                                                      \
	X(curl_easy_init)                                                                          \
	X(curl_easy_setopt)                                                                        \
	X(curl_easy_getinfo)                                                                       \
	X(curl_easy_cleanup)                                                                       \
	X(curl_easy_strerror)                                                                      \
	X(curl_slist_append)                                                                       \
	X(curl_slist_free_all)

static struct {
#define X(f) __typeof__(f) *f;
	CURL_FUNCS
#undef X
} cl;

static int curl_load(void)
{
	static void *h;

	if (h)
		return 0;
	h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		log_error("[notify]: cannot load libcurl: %s (package libcurl4)", dlerror());
		return ENOENT;
	}
#define X(f)                                                                                       \
	*(void **)&cl.f = dlsym(h, #f);                                                            \
	if (!cl.f) {                                                                               \
		log_error("[notify]: libcurl has no %s", #f);                                      \
		dlclose(h);                                                                        \
		h = NULL;                                                                          \
		return ENOENT;                                                                     \
	}
	CURL_FUNCS
#undef X
	if (cl.curl_global_init(CURL_GLOBAL_DEFAULT)) {
		log_error("[notify]: curl_global_init failed");
		return ENOENT;
	}
	return 0;
}

struct notify_req {
	struct le le;
	struct notify *n;
	CURL *easy;
	struct curl_slist *hdrs;
	char *url; /* a copy: a reload may replace the configuration meanwhile */
	char *body;
	char *event;	  /* for the log */
	unsigned attempt; /* POSTs done */
	bool active;	  /* added to the multi handle */
	struct loop_timer retry;
};

struct notify {
	struct loop *loop;
	struct notify_cfg *cfg;
	CURLM *multi;
	struct loop_timer tmr;
	struct list reqs;
	uint64_t sent, failed, retries, dropped;
};

static void req_free(struct notify_req *r)
{
	if (r->active)
		cl.curl_multi_remove_handle(r->n->multi, r->easy);
	if (r->easy)
		cl.curl_easy_cleanup(r->easy);
	if (r->hdrs)
		cl.curl_slist_free_all(r->hdrs);
	loop_timer_cancel(&r->retry);
	list_unlink(&r->le);
	free(r->body);
	free(r->event);
	free(r->url);
	free(r);
}

static void check_done(struct notify *n);

static void fd_h(int fd, uint32_t events, void *arg)
{
	struct notify *n = arg;
	int running = 0, ev = 0;

	if (events & LOOP_READ)
		ev |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		ev |= CURL_CSELECT_OUT;
	if (events & LOOP_ERROR)
		ev |= CURL_CSELECT_ERR;
	cl.curl_multi_socket_action(n->multi, fd, ev, &running);
	check_done(n);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct notify *n = userp;

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		loop_fd_remove(n->loop, s);
		return 0;
	}
	loop_fd_listen(n->loop, s,
		       (what & CURL_POLL_IN ? LOOP_READ : 0) |
			   (what & CURL_POLL_OUT ? LOOP_WRITE : 0),
		       fd_h, n);
	return 0;
}

static void timer_h(void *arg)
{
	struct notify *n = arg;
	int running = 0;

	cl.curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(n);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct notify *n = userp;

	(void)multi;
	if (timeout_ms < 0)
		loop_timer_cancel(&n->tmr);
	else
		loop_timer_start(n->loop, &n->tmr, (uint64_t)timeout_ms, timer_h, n);
	return 0;
}

static int req_start(struct notify_req *r)
{
	if (cl.curl_multi_add_handle(r->n->multi, r->easy) != CURLM_OK)
		return EIO;
	r->active = true;
	r->attempt++;
	return 0;
}

static void retry_h(void *arg)
{
	struct notify_req *r = arg;

	r->n->retries++;
	if (req_start(r)) {
		r->n->failed++;
		req_free(r);
	}
}

static void check_done(struct notify *n)
{
	CURLMsg *m;
	int left;

	while ((m = cl.curl_multi_info_read(n->multi, &left))) {
		struct notify_req *r = NULL;
		long code = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		cl.curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (!r)
			continue;
		cl.curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		cl.curl_multi_remove_handle(n->multi, r->easy);
		r->active = false;
		if (m->data.result == CURLE_OK && code >= 200 && code < 300) {
			n->sent++;
			log_debug("%s sent to %s (%ld)", r->event, r->url, code);
			req_free(r);
			continue;
		}
		if (r->attempt <= n->cfg->retries) {
			/* 1 s, 2 s, 4 s, ... */
			uint64_t wait = 1000ull << (r->attempt - 1 < 6 ? r->attempt - 1 : 6);

			log_info(
			    "%s to %s failed (%s, HTTP %ld); retry %u in %llu ms", r->event, r->url,
			    m->data.result ? cl.curl_easy_strerror(m->data.result) : "answered",
			    code, r->attempt, (unsigned long long)wait);
			loop_timer_start(n->loop, &r->retry, wait, retry_h, r);
			continue;
		}
		n->failed++;
		log_warn("%s to %s failed after %u attempt%s (%s, HTTP %ld); dropped", r->event,
			 r->url, r->attempt, r->attempt == 1 ? "" : "s",
			 m->data.result ? cl.curl_easy_strerror(m->data.result) : "answered", code);
		req_free(r);
	}
}

int notify_alloc(struct notify **np, struct loop *loop, struct notify_cfg *cfg)
{
	struct notify *n;
	int err;

	if (!np || !loop || !cfg)
		return EINVAL;
	err = curl_load();
	if (err)
		return err;
	n = calloc(1, sizeof(*n));
	if (!n)
		return ENOMEM;
	n->loop = loop;
	n->multi = cl.curl_multi_init();
	if (!n->multi) {
		free(n);
		return ENOMEM;
	}
	cl.curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	cl.curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n);
	cl.curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	cl.curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n);
	n->cfg = cfg;
	*np = n;
	log_info("notifications to %zu URL%s", cfg->nurls, cfg->nurls == 1 ? "" : "s");
	return 0;
}

void notify_set_cfg(struct notify *n, struct notify_cfg *cfg)
{
	if (!n)
		return;
	notify_cfg_free(n->cfg);
	n->cfg = cfg;
	if (cfg)
		log_info("notifications to %zu URL%s (reloaded)", cfg->nurls,
			 cfg->nurls == 1 ? "" : "s");
}

void notify_free(struct notify *n)
{
	if (!n)
		return;
	while (n->reqs.head)
		req_free(n->reqs.head->data);
	loop_timer_cancel(&n->tmr);
	cl.curl_multi_cleanup(n->multi);
	notify_cfg_free(n->cfg);
	free(n);
}

static size_t discard_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

void notify_send(struct notify *n, const struct notify_event *ev)
{
	struct mbuf body, hdrs;
	const char *ctype = "application/json";

	if (!n || !n->cfg || !(n->cfg->events & ev->type) || !n->cfg->nurls)
		return;
	mbuf_init(&body);
	mbuf_init(&hdrs);
	if (notify_format(n->cfg, ev, &body, &ctype, &hdrs) || mbuf_write(&body, "", 1) ||
	    mbuf_write(&hdrs, "", 1)) {
		n->dropped += n->cfg->nurls;
		goto out;
	}
	for (size_t i = 0; i < n->cfg->nurls; i++) {
		struct notify_req *r;
		char ct[160];

		if (list_count(&n->reqs) >= NOTIFY_PENDING_MAX) {
			n->dropped++;
			log_warn("%s: %d notifications pending already; dropped",
				 notify_type_name(ev->type), NOTIFY_PENDING_MAX);
			continue;
		}
		r = calloc(1, sizeof(*r));
		if (!r || !(r->body = strdup((const char *)body.buf)) ||
		    !(r->event = strdup(notify_type_name(ev->type))) ||
		    !(r->url = strdup(n->cfg->urls[i])) || !(r->easy = cl.curl_easy_init())) {
			if (r) {
				free(r->body);
				free(r->event);
				free(r->url);
				free(r);
			}
			n->dropped++;
			continue;
		}
		r->n = n;
		list_append(&n->reqs, &r->le, r);
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		r->hdrs = cl.curl_slist_append(NULL, ct);
		r->hdrs = cl.curl_slist_append(r->hdrs, "Expect:");
		for (char *h = (char *)hdrs.buf, *nl; h && *h; h = nl + 1) {
			nl = strchr(h, '\n');
			if (!nl)
				break;
			*nl = '\0';
			r->hdrs = cl.curl_slist_append(r->hdrs, h);
			*nl = '\n';
		}
		cl.curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
		cl.curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
		cl.curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
		cl.curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)n->cfg->timeout_s * 1000);
		cl.curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
				    (long)n->cfg->timeout_s * 1000);
		cl.curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
		cl.curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
		cl.curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
		cl.curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "mikaka/" MIKAKA_VERSION);
		cl.curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, discard_cb);
		cl.curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
		if (req_start(r)) {
			n->failed++;
			req_free(r);
		}
	}
out:
	mbuf_reset(&body);
	mbuf_reset(&hdrs);
}

int notify_metrics(const struct notify *n, struct mbuf *out)
{
	int err = mbuf_printf(
	    out,
	    "# HELP mikaka_notify_sent_total Notifications a webhook accepted (2xx).\n"
	    "# TYPE mikaka_notify_sent_total counter\nmikaka_notify_sent_total %llu\n"
	    "# HELP mikaka_notify_failed_total Notifications given up after their retries.\n"
	    "# TYPE mikaka_notify_failed_total counter\nmikaka_notify_failed_total %llu\n"
	    "# HELP mikaka_notify_retries_total Notification POSTs retried.\n"
	    "# TYPE mikaka_notify_retries_total counter\nmikaka_notify_retries_total %llu\n"
	    "# HELP mikaka_notify_dropped_total Notifications dropped (queue full, no memory).\n"
	    "# TYPE mikaka_notify_dropped_total counter\nmikaka_notify_dropped_total %llu\n",
	    (unsigned long long)(n ? n->sent : 0), (unsigned long long)(n ? n->failed : 0),
	    (unsigned long long)(n ? n->retries : 0), (unsigned long long)(n ? n->dropped : 0));

	return err ? ENOMEM : 0;
}
