/* test_notify: [notify] checked with file:line, the bodies of each format, and POSTs through
 * libcurl on our loop to an HTTP server played by the test on 127.0.0.1: one accepted, one
 * answered 500 then retried, one to a closed port given up and counted; the loop never waits
 * for them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "notify.h"

static struct conf *load(const char *text, struct conf_diags *d)
{
	struct conf *c = NULL;

	assert_int_equal(conf_load_string(&c, "mikaka.conf", text, d), 0);
	return c;
}

static char *diag_text(const struct conf_diags *d)
{
	struct mbuf out;

	mbuf_init(&out);
	for (size_t i = 0; i < d->count; i++) {
		char line[400];

		conf_diag_format(&d->items[i], line, sizeof(line));
		mbuf_printf(&out, "%s\n", line);
	}
	mbuf_write(&out, "", 1);
	return (char *)out.buf;
}

static void test_cfg_errors(void **state)
{
	struct conf_diags d = {0};
	struct notify_cfg *c = NULL;
	struct conf *cf = load("[notify]\n"
			       "url = ftp://example.org/x\n"	  /* 2 */
			       "url = http://127.0.0.1:9/ok\n"	  /* 3: fine */
			       "events = ringing, lunch\n"	  /* 4 */
			       "format = xml\n"			  /* 5 */
			       "template = {\"a\":\"${nope}\"}\n" /* 6 */
			       "timeout = 0\n"			  /* 7 */
			       "shape = round\n",		  /* 8 */
			       &d);
	struct notify_event ev = {NOTIFY_RINGING, "1.1", 0, "0901234567", "", "number", "03", 0};
	struct mbuf body;
	const char *ct;
	char *t;

	/* Warnings with file:line; what is usable is used. */
	assert_int_equal(notify_cfg_load(&c, cf, &d), 0);
	assert_non_null(c);
	assert_int_equal(d.errors, 0);
	t = diag_text(&d);
	printf("%s", t);
	assert_non_null(strstr(t, "mikaka.conf:2: warning: [notify] url: 'ftp://example.org/x'"));
	assert_non_null(strstr(t, "mikaka.conf:4: warning: [notify] events: 'lunch'"));
	assert_non_null(strstr(t, "mikaka.conf:5: warning: [notify] format: 'xml'"));
	assert_non_null(
	    strstr(t, "mikaka.conf:6: warning: [notify] template: unknown variable ${nope}"));
	assert_non_null(strstr(t, "mikaka.conf:7: warning: [notify] timeout: '0'"));
	assert_non_null(strstr(t, "mikaka.conf:8: warning"));
	free(t);
	/* One URL kept, ringing only, JSON. */
	mbuf_init(&body);
	assert_int_equal(notify_format(c, &ev, &body, &ct, NULL), 0);
	assert_string_equal(ct, "application/json");
	mbuf_reset(&body);
	notify_cfg_free(c);
	conf_free(cf);
	conf_diags_reset(&d);

	/* A template with an unknown variable: the rest of it is sent. */
	cf = load("[notify]\nurl = https://ntfy.sh/x\nformat = template\n"
		  "template = ${number} ${what} ${name}\n",
		  &d);
	assert_int_equal(notify_cfg_load(&c, cf, &d), 0);
	mbuf_init(&body);
	ev.name = "Taro";
	assert_int_equal(notify_format(c, &ev, &body, &ct, NULL), 0);
	mbuf_write(&body, "", 1);
	assert_string_equal((char *)body.buf, "0901234567  Taro");
	mbuf_reset(&body);
	notify_cfg_free(c);
	conf_free(cf);
	conf_diags_reset(&d);

	cf = load("[notify]\nurl = https://ntfy.sh/x\nformat = template\n", &d);
	assert_int_equal(notify_cfg_load(&c, cf, &d), 0);
	assert_true(d.count == 1);
	notify_cfg_free(c);
	conf_free(cf);
	conf_diags_reset(&d);
	cf = load("[web]\n", &d);
	assert_int_equal(notify_cfg_load(&c, cf, &d), 0);
	assert_null(c);
	conf_free(cf);
	conf_diags_reset(&d);
}

static struct notify_cfg *cfg_of(const char *text)
{
	struct conf_diags d = {0};
	struct notify_cfg *c = NULL;
	struct conf *cf = load(text, &d);

	assert_int_equal(notify_cfg_load(&c, cf, &d), 0);
	assert_int_equal(d.errors, 0);
	conf_free(cf);
	conf_diags_reset(&d);
	return c;
}

static void test_formats(void **state)
{
	static const struct {
		const char *conf;
		enum notify_type type;
		const char *body, *ctype, *hdrs;
	} t[] = {
	    {"[notify]\nurl = http://h/\n", NOTIFY_RINGING,
	     "{\"event\":\"ringing\",\"call_id\":\"1764806400.7\",\"time\":\"2025-12-04T00:00:"
	     "00Z\","
	     "\"time_ms\":1764806400000,\"number\":\"0901234567\",\"name\":\"Yamada \\\"T\\\"\","
	     "\"reason\":\"number\",\"called\":\"0312345678\"}",
	     "application/json", ""},
	    {"[notify]\nurl = http://h/\n", NOTIFY_VOICEMAIL,
	     "{\"event\":\"voicemail\",\"call_id\":\"1764806400.7\",\"time\":\"2025-12-04T00:00:"
	     "00Z\","
	     "\"time_ms\":1764806400000,\"number\":\"0901234567\",\"name\":\"Yamada \\\"T\\\"\","
	     "\"reason\":\"number\",\"called\":\"0312345678\",\"duration\":42}",
	     "application/json", ""},
	    {"[notify]\nurl = http://h/\nformat = ntfy\n", NOTIFY_MISSED,
	     "missed call from 0901234567 (Yamada \"T\") to 0312345678",
	     "text/plain; charset=utf-8", "Title: mikaka: missed\nTags: telephone_receiver\n"},
	    {"[notify]\nurl = http://h/\nformat = slack\n", NOTIFY_ANSWERED,
	     "{\"text\":\"answered call from 0901234567 (Yamada \\\"T\\\") to 0312345678\"}",
	     "application/json", ""},
	    {"[notify]\nurl = http://h/\nformat = discord\n", NOTIFY_RINGING,
	     "{\"content\":\"ringing call from 0901234567 (Yamada \\\"T\\\") to 0312345678\"}",
	     "application/json", ""},
	    {"[notify]\nurl = http://h/\nformat = template\n"
	     "template = {\"msg\":\"${event} ${number} ${name} ${time} ${duration}\"}\n",
	     NOTIFY_RINGING,
	     "{\"msg\":\"ringing 0901234567 Yamada \\\"T\\\" 2025-12-04T00:00:00Z 42\"}",
	     "application/json", ""},
	    {"[notify]\nurl = http://h/\nformat = template\ntemplate = ${number} calls ${called}\n"
	     "content_type = text/x-mine\n",
	     NOTIFY_RINGING, "0901234567 calls 0312345678", "text/x-mine", ""},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct notify_cfg *c = cfg_of(t[i].conf);
		struct notify_event ev = {
		    t[i].type,	    "1764806400.7", 1764806400000LL, "0901234567",
		    "Yamada \"T\"", "number",	    "0312345678",    42};
		struct mbuf body, hdrs;
		const char *ct = NULL;

		mbuf_init(&body);
		mbuf_init(&hdrs);
		assert_int_equal(notify_format(c, &ev, &body, &ct, &hdrs), 0);
		mbuf_write(&body, "", 1);
		mbuf_write(&hdrs, "", 1);
		printf("# %zu %s\n", i, (char *)body.buf);
		assert_string_equal((char *)body.buf, t[i].body);
		assert_string_equal(ct, t[i].ctype);
		assert_string_equal((char *)hdrs.buf, t[i].hdrs);
		mbuf_reset(&body);
		mbuf_reset(&hdrs);
		notify_cfg_free(c);
	}
}

/* A minimal HTTP server on the test's loop: answers each request with codes[i] in turn. */
struct srv {
	struct loop *loop;
	int lfd;
	int codes[8];
	size_t ncodes, served;
	char bodies[8][512];
};

struct conn {
	struct srv *s;
	int fd;
	char buf[4096];
	size_t len;
};

static void conn_h(int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	ssize_t n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	char *hend, *cl;
	size_t want;

	if (n <= 0) {
		loop_fd_remove(c->s->loop, fd);
		close(fd);
		free(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	hend = strstr(c->buf, "\r\n\r\n");
	if (!hend)
		return;
	cl = strcasestr(c->buf, "Content-Length:");
	want = (size_t)(hend + 4 - c->buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
	if (c->len < want)
		return;
	{
		struct srv *s = c->s;
		int code = s->served < s->ncodes ? s->codes[s->served] : 200;
		char resp[128];

		if (s->served < 8)
			snprintf(s->bodies[s->served], sizeof(s->bodies[0]), "%s", hend + 4);
		s->served++;
		snprintf(resp, sizeof(resp),
			 "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", code);
		assert_true(write(fd, resp, strlen(resp)) > 0);
		loop_fd_remove(s->loop, fd);
		close(fd);
		free(c);
	}
}

static void accept_h(int fd, uint32_t events, void *arg)
{
	struct srv *s = arg;
	int cfd = accept(fd, NULL, NULL);
	struct conn *c;

	if (cfd < 0)
		return;
	c = calloc(1, sizeof(*c));
	c->s = s;
	c->fd = cfd;
	loop_fd_listen(s->loop, cfd, LOOP_READ, conn_h, c);
}

static int listen_local(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void run_until(struct loop *loop, bool (*done)(void *), void *arg, int max_ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		loop_run_once(loop, 20);
		if (done(arg))
			return;
		clock_gettime(CLOCK_MONOTONIC, &b);
		if ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 > max_ms)
			return;
	}
}

static struct notify *g_n;
static bool metrics_has(const char *want)
{
	struct mbuf m;
	bool ok;

	mbuf_init(&m);
	notify_metrics(g_n, &m);
	mbuf_write(&m, "", 1);
	ok = strstr((char *)m.buf, want) != NULL;
	mbuf_reset(&m);
	return ok;
}

static bool done_sent2_failed2(void *arg)
{
	(void)arg;
	return metrics_has("mikaka_notify_sent_total 2\n") &&
	       metrics_has("mikaka_notify_failed_total 2\n");
}

static void test_send(void **state)
{
	struct loop *loop = NULL;
	struct srv s = {0};
	uint16_t port, dead;
	char conf[512];
	struct notify_cfg *c;
	struct notify *n = NULL;
	struct notify_event ev = {NOTIFY_RINGING, "1.1",    1764806400000LL, "0901234567",
				  "Taro",	  "number", "0312345678",    0};
	struct timespec a, b;
	long us;
	int dfd;

	assert_int_equal(loop_alloc(&loop), 0);
	s.loop = loop;
	s.lfd = listen_local(&port);
	s.codes[0] = 200; /* the first POST (ringing) */
	s.codes[1] = 500; /* the second one fails, its retry is accepted */
	s.codes[2] = 200;
	s.ncodes = 3;
	assert_int_equal(loop_fd_listen(loop, s.lfd, LOOP_READ, accept_h, &s), 0);
	/* A port with nobody: bound, never listened to, so connections are refused. */
	dfd = listen_local(&dead);
	close(dfd);
	snprintf(conf, sizeof(conf),
		 "[notify]\nurl = http://127.0.0.1:%u/hook\nretries = 1\ntimeout = 2\n", port);
	c = cfg_of(conf);
	assert_int_equal(notify_alloc(&n, loop, c), 0);
	g_n = n;
	clock_gettime(CLOCK_MONOTONIC, &a);
	notify_send(n, &ev);
	ev.type = NOTIFY_ANSWERED;
	notify_send(n, &ev);
	ev.type = NOTIFY_REJECTED; /* not in the default events: nothing sent */
	notify_send(n, &ev);
	clock_gettime(CLOCK_MONOTONIC, &b);
	us = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	printf("# three notify_send calls took %ld us\n", us);
	assert_true(us < 50000); /* queued, never waited for */
	notify_free(n);

	/* The same with a second, dead URL: given up after one retry, counted. */
	snprintf(conf, sizeof(conf),
		 "[notify]\nurl = http://127.0.0.1:%u/hook\nurl = http://127.0.0.1:%u/dead\n"
		 "retries = 1\ntimeout = 2\n",
		 port, dead);
	s.served = 0;
	c = cfg_of(conf);
	n = NULL;
	assert_int_equal(notify_alloc(&n, loop, c), 0);
	g_n = n;
	ev.type = NOTIFY_RINGING;
	notify_send(n, &ev);
	ev.type = NOTIFY_MISSED;
	notify_send(n, &ev);
	run_until(loop, done_sent2_failed2, NULL, 8000);
	{
		struct mbuf m;

		mbuf_init(&m);
		notify_metrics(n, &m);
		mbuf_write(&m, "", 1);
		printf("%s", (char *)m.buf);
		mbuf_reset(&m);
	}
	/* ringing 200; missed 500 then its retry 200 = 3 requests served; the dead URL: each
	 * event given up after its retry; three retries in all. */
	assert_true(metrics_has("mikaka_notify_sent_total 2\n"));
	assert_true(metrics_has("mikaka_notify_failed_total 2\n"));
	assert_true(metrics_has("mikaka_notify_retries_total 3\n"));
	assert_int_equal(s.served, 3);
	printf("# %s\n", s.bodies[0]);
	assert_non_null(strstr(s.bodies[0], "\"event\":\"ringing\""));
	assert_non_null(strstr(s.bodies[0], "\"number\":\"0901234567\""));
	assert_non_null(strstr(s.bodies[1], "\"event\":\"missed\""));
	assert_string_equal(s.bodies[1], s.bodies[2]);
	notify_free(n);
	loop_fd_remove(loop, s.lfd);
	close(s.lfd);
	loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cfg_errors),
	    cmocka_unit_test(test_formats),
	    cmocka_unit_test(test_send),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
