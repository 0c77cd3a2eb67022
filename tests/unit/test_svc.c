/* Unit tests for svc: sd_notify datagrams (path and abstract sockets, no socket set), READY=1 on
 * the loop's first turn, WATCHDOG=1 every half $WATCHDOG_USEC on the loop's clock and only for the
 * process $WATCHDOG_PID names, exit codes; the start-up pages given back (svc_release_startup);
 * and log.c's journal priority prefixes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "loop.h"
#include "svc.h"

struct fx {
	char dir[64];
	char path[96];
	int fd;
	struct loop *loop;
	uint64_t now;
};

static uint64_t fake_clock(void *arg)
{
	return ((struct fx *)arg)->now;
}

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/mikaka-svc.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/notify", fx->dir);
	memcpy(sun.sun_path, fx->path, strlen(fx->path) + 1);
	fx->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fx->fd >= 0);
	assert_int_equal(bind(fx->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(loop_alloc(&fx->loop), 0);
	fx->now = 1000;
	loop_clock_set(fx->loop, fake_clock, fx);
	setenv("NOTIFY_SOCKET", fx->path, 1);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	svc_stop();
	loop_free(fx->loop);
	close(fx->fd);
	unlink(fx->path);
	rmdir(fx->dir);
	unsetenv("NOTIFY_SOCKET");
	free(fx);
	return 0;
}

/* The next datagram, or "" when none is waiting. */
static const char *next_msg(struct fx *fx)
{
	static char buf[600];
	ssize_t n = recv(fx->fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int count_msgs(struct fx *fx, const char *what)
{
	int n = 0;
	const char *m;

	while (*(m = next_msg(fx)))
		n += strstr(m, what) != NULL;
	return n;
}

static void test_notify_path_and_none(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(svc_notify("STATUS=%s", "hello"), 0);
	assert_string_equal(next_msg(fx), "STATUS=hello");
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(svc_notify("READY=1"), 0); /* no socket: nothing, no error */
	assert_string_equal(next_msg(fx), "");
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(svc_notify("READY=1"), EAFNOSUPPORT);
}

static void test_notify_abstract(void **state)
{
	struct fx *fx = *state;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char name[64], buf[64];
	socklen_t len;
	ssize_t n;
	int fd;

	(void)fx;
	snprintf(name, sizeof(name), "@mikaka-svc-test-%d", (int)getpid());
	memcpy(sun.sun_path, name, strlen(name));
	sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(svc_notify("READY=1"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_int_equal(n, 7);
	buf[n] = '\0';
	assert_string_equal(buf, "READY=1");
	close(fd);
}

static void test_ready_on_first_turn_and_watchdog(void **state)
{
	struct fx *fx = *state;
	char pid[16];

	setenv("WATCHDOG_USEC", "2000000", 1); /* 2 s: WATCHDOG=1 every second */
	assert_int_equal(svc_start(fx->loop, "up"), 0);
	assert_string_equal(next_msg(fx), ""); /* nothing before the loop turns */
	loop_timers_run(fx->loop);
	snprintf(pid, sizeof(pid), "MAINPID=%d", (int)getpid());
	{
		const char *m = next_msg(fx);

		assert_non_null(strstr(m, "READY=1\n"));
		assert_non_null(strstr(m, pid));
		assert_non_null(strstr(m, "STATUS=up"));
	}
	for (int i = 0; i < 10; i++) {
		fx->now += 100;
		loop_timers_run(fx->loop);
	}
	assert_int_equal(count_msgs(fx, "WATCHDOG=1"), 1);
	for (int i = 0; i < 30; i++) {
		fx->now += 100;
		loop_timers_run(fx->loop);
	}
	assert_int_equal(count_msgs(fx, "WATCHDOG=1"), 3);
	svc_reloading();
	assert_non_null(strstr(next_msg(fx), "RELOADING=1\nMONOTONIC_USEC="));
	svc_reloaded(NULL);
	assert_non_null(strstr(next_msg(fx), "READY=1"));
	svc_stopping();
	svc_stopping(); /* once */
	assert_int_equal(count_msgs(fx, "STOPPING=1"), 1);
}

static void test_watchdog_for_another_pid(void **state)
{
	struct fx *fx = *state;

	setenv("WATCHDOG_USEC", "2000000", 1);
	setenv("WATCHDOG_PID", "1", 1); /* meant for another process: not ours to feed */
	assert_int_equal(svc_start(fx->loop, NULL), 0);
	for (int i = 0; i < 50; i++) {
		fx->now += 100;
		loop_timers_run(fx->loop);
	}
	assert_int_equal(count_msgs(fx, "WATCHDOG=1"), 0);
	unsetenv("WATCHDOG_PID");
}

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(svc_exit_for(0), 0);
	assert_int_equal(svc_exit_for(EPROTONOSUPPORT), 78);
	assert_int_equal(svc_exit_for(EINVAL), 78);
	assert_int_equal(svc_exit_for(EACCES), 73);
	assert_int_equal(svc_exit_for(EROFS), 73);
	assert_int_equal(svc_exit_for(ENOSPC), 74);
	assert_int_equal(svc_exit_for(EBUSY), 75);
	assert_int_equal(svc_exit_for(EADDRINUSE), 1);
	assert_int_equal(svc_check_confdir("/nonexistent-mikaka-conf"), ENOENT);
	assert_int_equal(svc_check_confdir("/etc/passwd"), ENOTDIR);
	assert_int_equal(svc_check_confdir("/"), 0);
}

/* Resident KiB of the mapping holding addr, from /proc/self/smaps; -1 when not found. */
static long mapping_rss_kib(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	long rss = -1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's first line */
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (in && !strncmp(line, "Rss:", 4)) {
			rss = strtol(line + 4, NULL, 10);
			break;
		}
	}
	fclose(f);
	return rss;
}

/* Relocated data (a table of pointers: RELRO in a PIE), written data and the GOT must survive:
 * only never-written segments may be dropped. */
static const char *const relro_table[] = {"alpha", "beta", "gamma"};
static size_t (*const relro_fn)(const char *) = strlen;
static int data_counter = 41;

static void test_release_startup(void **state)
{
	char buf[64];
	long before, after;
	size_t dropped;
	void *p;

	(void)state;
	data_counter++;
	before = mapping_rss_kib((const void *)test_release_startup);
	assert_true(before > 0);
	dropped = svc_release_startup();
	after = mapping_rss_kib((const void *)test_release_startup);
	assert_true(dropped > 0);
	assert_true(after >= 0 && after <= before);
	/* Everything still works: relocated pointers, data, calls into libc, the heap. */
	assert_string_equal(relro_table[1], "beta");
	assert_int_equal(relro_fn(relro_table[2]), 5);
	assert_int_equal(data_counter, 42);
	snprintf(buf, sizeof(buf), "%s-%d", relro_table[0], data_counter);
	assert_string_equal(buf, "alpha-42");
	p = malloc(100000);
	assert_non_null(p);
	memset(p, 1, 100000);
	free(p);
	/* Twice is harmless. */
	assert_true(svc_release_startup() > 0);
	assert_string_equal(relro_table[0], "alpha");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_notify_path_and_none, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_notify_abstract, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_ready_on_first_turn_and_watchdog, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_watchdog_for_another_pid, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_exit_codes, fx_setup, fx_teardown),
	    cmocka_unit_test(test_release_startup),
	};

	log_set_level(LOG_NONE);
	return cmocka_run_group_tests_name("svc", tests, NULL, NULL);
}
