/* Unit tests for the event loop: timers on a fake clock, fd dispatch, after-turn hooks, signals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "loop.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static struct loop *fake_loop(void)
{
	struct loop *loop = NULL;

	assert_int_equal(loop_alloc(&loop), 0);
	assert_non_null(loop);
	fake_now = 1000;
	loop_clock_set(loop, fake_clock, NULL);
	return loop;
}

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------------------------------
 * Timers
 */

struct rec {
	int order[8192];
	size_t n;
};

struct tnode {
	struct loop_timer t;
	struct rec *rec;
	int id;
};

static void rec_h(void *arg)
{
	struct tnode *n = arg;

	assert_false(loop_timer_active(&n->t));
	assert_true(n->rec->n < ARRAY_SIZE(n->rec->order));
	n->rec->order[n->rec->n++] = n->id;
}

static void test_timer_order(void **state)
{
	static const struct {
		uint64_t delay;
	} vec[] = {{30}, {10}, {20}, {10}, {0}, {20}, {10}};
	/* Equal expiries fire in arming order. */
	static const int expect_early[] = {4, 1, 3, 6};
	static const int expect_late[] = {2, 5, 0};
	struct tnode nodes[ARRAY_SIZE(vec)];
	struct rec rec = {.n = 0};
	struct loop *loop = fake_loop();

	for (size_t i = 0; i < ARRAY_SIZE(vec); i++) {
		loop_timer_init(&nodes[i].t);
		nodes[i].rec = &rec;
		nodes[i].id = (int)i;
		assert_int_equal(
			loop_timer_start(loop, &nodes[i].t, vec[i].delay, rec_h, &nodes[i]), 0);
		assert_true(loop_timer_active(&nodes[i].t));
	}
	assert_int_equal(loop_timer_count(loop), ARRAY_SIZE(vec));

	fake_now += 9;
	assert_int_equal(loop_timers_run(loop), 1);
	fake_now += 1;
	assert_int_equal(loop_timers_run(loop), 3);
	assert_int_equal(rec.n, ARRAY_SIZE(expect_early));
	assert_memory_equal(rec.order, expect_early, sizeof(expect_early));

	fake_now += 100;
	assert_int_equal(loop_timers_run(loop), 3);
	assert_int_equal(rec.n, ARRAY_SIZE(expect_early) + ARRAY_SIZE(expect_late));
	assert_memory_equal(rec.order + ARRAY_SIZE(expect_early), expect_late,
			    sizeof(expect_late));
	assert_int_equal(loop_timer_count(loop), 0);
	assert_int_equal(loop_timers_run(loop), 0);
	loop_free(loop);
}

static void test_timer_random_cancel(void **state)
{
	enum { N = 1000 };
	struct tnode *nodes = calloc(N, sizeof(*nodes));
	bool cancelled[N] = {false};
	struct rec *rec = calloc(1, sizeof(*rec));
	struct loop *loop = fake_loop();
	size_t ncancel = 0;

	assert_non_null(nodes);
	assert_non_null(rec);
	srand(4711);
	for (int i = 0; i < N; i++) {
		nodes[i].rec = rec;
		nodes[i].id = i;
		uint64_t delay = (uint64_t)(rand() % 300);

		assert_int_equal(loop_timer_start(loop, &nodes[i].t, delay, rec_h, &nodes[i]), 0);
	}
	/* Cancel a random half, which mostly removes from the middle of the heap. */
	while (ncancel < N / 2) {
		int i = rand() % N;

		if (cancelled[i])
			continue;
		loop_timer_cancel(&nodes[i].t);
		assert_false(loop_timer_active(&nodes[i].t));
		cancelled[i] = true;
		ncancel++;
	}
	/* A second cancel is a no-op. */
	loop_timer_cancel(&nodes[0].t);
	assert_int_equal(loop_timer_count(loop), N - N / 2);

	/* Advance in steps so expiry against the clock is checked, not only the order. */
	for (int step = 0; step < 300 + 7; step += 7) {
		size_t before = rec->n;

		fake_now = 1000 + (uint64_t)step;
		loop_timers_run(loop);
		for (size_t k = before; k < rec->n; k++)
			assert_true(nodes[rec->order[k]].t.expires <= fake_now);
	}
	assert_int_equal(rec->n, N - N / 2);
	assert_int_equal(loop_timer_count(loop), 0);
	for (size_t k = 0; k < rec->n; k++) {
		assert_false(cancelled[rec->order[k]]);
		if (k > 0) {
			const struct loop_timer *a = &nodes[rec->order[k - 1]].t;
			const struct loop_timer *b = &nodes[rec->order[k]].t;

			assert_true(a->expires < b->expires ||
				    (a->expires == b->expires && a->seq < b->seq));
		}
	}
	loop_free(loop);
	free(rec);
	free(nodes);
}

/* A full ring at most half live is compacted instead of doubled: the live timers keep their
 * order and can still be cancelled at their new places. 64 timers fill the first ring; every
 * other one is cancelled (timer B/F at the response, a transaction made a tomb), then 40 more
 * are armed, the first of which compacts. */
static void test_timer_queue_compaction(void **state)
{
	struct tnode *nodes = calloc(104, sizeof(*nodes));
	struct rec *rec = calloc(1, sizeof(*rec));
	struct loop *loop = fake_loop();
	int expect[104], ne = 0;

	assert_non_null(nodes);
	assert_non_null(rec);
	for (int i = 0; i < 104; i++) {
		nodes[i].rec = rec;
		nodes[i].id = i;
	}
	for (int i = 0; i < 64; i++)
		assert_int_equal(loop_timer_start(loop, &nodes[i].t, 1000, rec_h, &nodes[i]), 0);
	for (int i = 1; i < 64; i += 2) /* the head (0) stays: holes in the middle */
		loop_timer_cancel(&nodes[i].t);
	for (int i = 64; i < 104; i++)
		assert_int_equal(loop_timer_start(loop, &nodes[i].t, 1000, rec_h, &nodes[i]), 0);
	/* Moved by the compaction, cancelled at the new place; and one appended after it. */
	loop_timer_cancel(&nodes[34].t);
	loop_timer_cancel(&nodes[62].t);
	loop_timer_cancel(&nodes[80].t);
	assert_false(loop_timer_active(&nodes[34].t));
	assert_true(loop_timer_active(&nodes[36].t));
	for (int i = 0; i < 104; i++) {
		if ((i < 64 && i % 2 == 1) || i == 34 || i == 62 || i == 80)
			continue;
		expect[ne++] = i;
	}
	assert_int_equal(loop_timer_count(loop), (size_t)ne);
	fake_now += 999;
	assert_int_equal(loop_timers_run(loop), 0);
	fake_now += 1;
	assert_int_equal(loop_timers_run(loop), (unsigned)ne);
	assert_int_equal(rec->n, (size_t)ne);
	for (int k = 0; k < ne; k++)
		assert_int_equal(rec->order[k], expect[k]);
	assert_int_equal(loop_timer_count(loop), 0);
	loop_free(loop);
	free(rec);
	free(nodes);
	(void)state;
}

/* Timers of a few delays (the delay queues) mixed with many delays (the heap): random
 * cancels and restarts, rings that grow and wrap, a queue freed and taken by another delay,
 * the clock going back (a timer that would expire before the queue's tail goes to the heap):
 * every timer fires once, at its time, in (expires, seq) order. */
static void test_timer_queues(void **state)
{
	enum { N = 3000 };
	static const uint64_t delays[] = {32000, 500, 5000, 200, 64000, 1000, 4000, 2000, 30, 7};
	struct tnode *nodes = calloc(N, sizeof(*nodes));
	struct rec *rec = calloc(1, sizeof(*rec));
	bool *cancelled = calloc(N, sizeof(*cancelled));
	struct loop *loop = fake_loop();
	size_t live = 0;

	assert_non_null(nodes);
	assert_non_null(rec);
	assert_non_null(cancelled);
	srand(4712);
	for (int i = 0; i < N; i++) {
		uint64_t delay = i % 5 == 4 ? (uint64_t)(rand() % 70000) : delays[rand() % 10];

		nodes[i].rec = rec;
		nodes[i].id = i;
		if (i % 100 == 0)
			fake_now += (uint64_t)(rand() % 50);
		if (i == N / 2 + 1)
			fake_now -= 60; /* the clock goes back once */
		/* A third lazy: their own queues, the same firing order. */
		assert_int_equal((i % 3 ? loop_timer_start : loop_timer_start_lazy)(
				     loop, &nodes[i].t, delay, rec_h, &nodes[i]),
				 0);
		live++;
		if (i > 10 && rand() % 3 == 0) {
			int k = rand() % i;

			if (!cancelled[k] && loop_timer_active(&nodes[k].t)) {
				loop_timer_cancel(&nodes[k].t);
				assert_false(loop_timer_active(&nodes[k].t));
				cancelled[k] = true;
				live--;
			}
		}
		if (i > 10 && rand() % 7 == 0) { /* restarted: a new place, maybe a new queue */
			int k = rand() % i;

			if (!loop_timer_active(&nodes[k].t))
				live++;
			cancelled[k] = false;
			assert_int_equal(loop_timer_start(loop, &nodes[k].t, delays[rand() % 10],
							  rec_h, &nodes[k]),
					 0);
		}
		assert_int_equal(loop_timer_count(loop), live);
		if (i % 500 == 499) { /* fire what is due now and then, as the loop would */
			size_t before = rec->n;

			live -= loop_timers_run(loop);
			for (size_t k = before; k < rec->n; k++)
				assert_true(nodes[rec->order[k]].t.expires <= fake_now);
		}
	}
	for (int step = 0; step < 140; step++) {
		size_t before = rec->n;

		fake_now += 1000;
		live -= loop_timers_run(loop);
		for (size_t k = before; k < rec->n; k++) {
			assert_true(nodes[rec->order[k]].t.expires <= fake_now);
			if (k > before) {
				const struct loop_timer *a = &nodes[rec->order[k - 1]].t;
				const struct loop_timer *b = &nodes[rec->order[k]].t;

				assert_true(a->expires < b->expires ||
					    (a->expires == b->expires && a->seq < b->seq));
			}
		}
	}
	assert_int_equal(live, 0);
	assert_int_equal(loop_timer_count(loop), 0);
	for (int i = 0; i < N; i++)
		assert_false(loop_timer_active(&nodes[i].t));
	/* Armed again after the queues emptied: the queues are reused. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(loop_timer_start(loop, &nodes[i].t, 100 + (uint64_t)i, rec_h,
						  &nodes[i]),
				 0);
	assert_int_equal(loop_timer_count(loop), 10);
	loop_free(loop); /* armed timers are forgotten, and disarmed */
	for (int i = 0; i < 10; i++)
		assert_false(loop_timer_active(&nodes[i].t));
	free(cancelled);
	free(rec);
	free(nodes);
}

/* A lazy timer fires when due in any turn the loop takes, but the loop waits for it alone only
 * until LOOP_LAZY_MS after its time; plain timers keep their exact wait. */
static void test_timer_lazy(void **state)
{
	static struct rec rec;
	struct loop *loop = fake_loop(); /* now 1000 */
	struct tnode a = {.rec = &rec, .id = 1}, b = {.rec = &rec, .id = 2}, c = {.rec = &rec, .id = 3};

	(void)state;
	rec.n = 0;
	assert_int_equal(loop_timer_wait(loop), -1);
	assert_int_equal(loop_timer_start_lazy(loop, &a.t, 5000, rec_h, &a), 0); /* due 6000 */
	assert_int_equal(loop_timer_wait(loop), 5000 + LOOP_LAZY_MS);
	assert_int_equal(loop_timer_start(loop, &b.t, 7000, rec_h, &b), 0); /* due 8000 */
	assert_int_equal(loop_timer_wait(loop), 5000 + LOOP_LAZY_MS);
	assert_int_equal(loop_timer_start(loop, &c.t, 3000, rec_h, &c), 0); /* due 4000 */
	assert_int_equal(loop_timer_wait(loop), 3000);
	fake_now = 4000;
	assert_int_equal(loop_timer_wait(loop), 0);
	assert_int_equal(loop_timers_run(loop), 1);
	assert_int_equal(rec.order[0], 3);
	assert_int_equal(loop_timer_wait(loop), 3000); /* a's 6000 + 1000 before b's 8000 */
	/* Due but lazy: no wake-up for it yet; a turn taken anyway (a datagram) runs it. */
	fake_now = 6500;
	assert_int_equal(loop_timer_wait(loop), 500);
	assert_int_equal(loop_timers_run(loop), 1);
	assert_int_equal(rec.order[1], 1);
	assert_int_equal(loop_timer_wait(loop), 1500);
	/* Past its slack: the loop wakes up for it at once. */
	assert_int_equal(loop_timer_start_lazy(loop, &a.t, 100, rec_h, &a), 0); /* due 6600 */
	assert_int_equal(loop_timer_wait(loop), 1100);
	fake_now = 7600;
	assert_int_equal(loop_timer_wait(loop), 0);
	/* The same delay lazy and plain: each in its own queue, fired in expiry order. */
	assert_int_equal(loop_timer_start(loop, &c.t, 100, rec_h, &c), 0); /* due 7700 */
	fake_now = 8000;
	assert_int_equal(loop_timers_run(loop), 3);
	assert_int_equal(rec.order[2], 1);
	assert_int_equal(rec.order[3], 3);
	assert_int_equal(rec.order[4], 2);
	assert_int_equal(loop_timer_wait(loop), -1);
	assert_int_equal(loop_timer_count(loop), 0);
	loop_free(loop);
}

static void test_timer_restart(void **state)
{
	struct rec rec = {.n = 0};
	struct tnode n = {.rec = &rec, .id = 7};
	struct loop *loop = fake_loop();

	assert_int_equal(loop_timer_start(loop, &n.t, 100, rec_h, &n), 0);
	assert_int_equal(loop_timer_start(loop, &n.t, 50, rec_h, &n), 0);
	assert_int_equal(loop_timer_count(loop), 1);
	assert_int_equal(loop_timer_remaining(&n.t), 50);
	fake_now += 50;
	assert_int_equal(loop_timers_run(loop), 1);
	fake_now += 100;
	assert_int_equal(loop_timers_run(loop), 0);
	assert_int_equal(rec.n, 1);

	/* Restart to a later time: the earlier expiry must not fire. */
	assert_int_equal(loop_timer_start(loop, &n.t, 10, rec_h, &n), 0);
	assert_int_equal(loop_timer_start(loop, &n.t, 200, rec_h, &n), 0);
	fake_now += 10;
	assert_int_equal(loop_timers_run(loop), 0);
	fake_now += 190;
	assert_int_equal(loop_timers_run(loop), 1);
	assert_int_equal(rec.n, 2);
	assert_int_equal(loop_timer_count(loop), 0);
	loop_free(loop);
}

struct rearm {
	struct loop *loop;
	struct loop_timer t;
	uint64_t delay;
	int fired;
	int max;
};

static void rearm_h(void *arg)
{
	struct rearm *r = arg;

	r->fired++;
	if (r->fired < r->max)
		assert_int_equal(loop_timer_start(r->loop, &r->t, r->delay, rearm_h, r), 0);
}

static void test_timer_rearm_in_handler(void **state)
{
	struct loop *loop = fake_loop();
	struct rearm r = {.loop = loop, .delay = 10, .max = 3};

	assert_int_equal(loop_timer_start(loop, &r.t, 10, rearm_h, &r), 0);
	for (int i = 1; i <= 3; i++) {
		fake_now += 10;
		assert_int_equal(loop_timers_run(loop), 1);
		assert_int_equal(r.fired, i);
	}
	assert_false(loop_timer_active(&r.t));
	assert_int_equal(loop_timer_count(loop), 0);
	loop_free(loop);
}

static void test_timer_zero_rearm(void **state)
{
	struct loop *loop = fake_loop();
	struct rearm r = {.loop = loop, .delay = 0, .max = 1000};

	assert_int_equal(loop_timer_start(loop, &r.t, 0, rearm_h, &r), 0);
	/* Each call fires it once, even though it is always due. */
	for (int i = 1; i <= 5; i++) {
		assert_int_equal(loop_timers_run(loop), 1);
		assert_int_equal(r.fired, i);
		assert_true(loop_timer_active(&r.t));
	}
	loop_timer_cancel(&r.t);
	assert_int_equal(loop_timer_count(loop), 0);
	loop_free(loop);
}

static void test_timer_remaining(void **state)
{
	struct rec rec = {.n = 0};
	struct tnode n = {.rec = &rec};
	struct loop *loop = fake_loop();

	assert_int_equal(loop_timer_remaining(&n.t), 0);
	assert_false(loop_timer_active(&n.t));
	assert_int_equal(loop_timer_start(loop, &n.t, 100, rec_h, &n), 0);
	assert_int_equal(loop_timer_remaining(&n.t), 100);
	fake_now += 30;
	assert_int_equal(loop_timer_remaining(&n.t), 70);
	fake_now += 200; /* overdue but not yet run */
	assert_int_equal(loop_timer_remaining(&n.t), 0);
	assert_true(loop_timer_active(&n.t));
	loop_timer_cancel(&n.t);
	assert_int_equal(loop_timer_remaining(&n.t), 0);
	assert_int_equal(rec.n, 0);
	loop_free(loop);
}

/* An object whose first timer's handler cancels the others and frees the object. */
struct owner {
	struct loop_timer a, b, c;
	int *fired_b;
};

static void owner_b_h(void *arg)
{
	struct owner *o = arg;

	(*o->fired_b)++;
}

static void owner_a_h(void *arg)
{
	struct owner *o = arg;

	loop_timer_cancel(&o->b);
	loop_timer_cancel(&o->c);
	free(o);
}

static void test_timer_free_in_handler(void **state)
{
	struct loop *loop = fake_loop();
	struct owner *o = calloc(1, sizeof(*o));
	int fired_b = 0;
	struct rec rec = {.n = 0};
	struct tnode other = {.rec = &rec, .id = 1};

	assert_non_null(o);
	o->fired_b = &fired_b;
	assert_int_equal(loop_timer_start(loop, &other.t, 5, rec_h, &other), 0);
	assert_int_equal(loop_timer_start(loop, &o->a, 5, owner_a_h, o), 0);
	assert_int_equal(loop_timer_start(loop, &o->b, 5, owner_b_h, o), 0);
	assert_int_equal(loop_timer_start(loop, &o->c, 50, owner_b_h, o), 0);
	fake_now += 100;
	assert_int_equal(loop_timers_run(loop), 2);
	assert_int_equal(fired_b, 0);
	assert_int_equal(rec.n, 1);
	assert_int_equal(loop_timer_count(loop), 0);
	loop_free(loop);
}

static void test_timer_free_loop_armed(void **state)
{
	struct loop *loop = fake_loop();
	struct rec rec = {.n = 0};
	struct tnode n = {.rec = &rec};

	assert_int_equal(loop_timer_start(loop, &n.t, 5, rec_h, &n), 0);
	loop_free(loop);
	/* Forgotten by the loop: cancelling afterwards is harmless. */
	assert_false(loop_timer_active(&n.t));
	loop_timer_cancel(&n.t);
	assert_int_equal(rec.n, 0);
}

static void test_timer_invalid(void **state)
{
	struct loop *loop = fake_loop();
	struct loop_timer t;

	loop_timer_init(&t);
	assert_int_equal(loop_timer_start(NULL, &t, 1, owner_b_h, NULL), EINVAL);
	assert_int_equal(loop_timer_start(loop, NULL, 1, owner_b_h, NULL), EINVAL);
	assert_int_equal(loop_timer_start(loop, &t, 1, NULL, NULL), EINVAL);
	/* A huge delay saturates instead of wrapping into the past. */
	assert_int_equal(loop_timer_start(loop, &t, UINT64_MAX, owner_b_h, NULL), 0);
	assert_int_equal(loop_timers_run(loop), 0);
	assert_true(loop_timer_remaining(&t) > 1000000);
	loop_timer_cancel(&t);
	loop_free(loop);
}

/* ---------------------------------------------------------------------------------------------
 * File descriptors
 */

struct fdrec {
	struct loop *loop;
	int calls;
	uint32_t events;
	int fd;
	int other; /* fd this handler removes and closes */
	int *other_slot;
	int fresh; /* fd opened in place of `other` */
};

static void efd_write(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static void read_h(int fd, uint32_t events, void *arg)
{
	struct fdrec *r = arg;
	uint64_t v;

	r->calls++;
	r->events = events;
	r->fd = fd;
	if (events & LOOP_READ)
		assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
}

static void test_fd_read(void **state)
{
	struct loop *loop = NULL;
	struct fdrec r = {0};
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(efd >= 0);
	assert_int_equal(loop_alloc(&loop), 0);
	assert_int_equal(loop_fd_listen(loop, efd, LOOP_READ, read_h, &r), 0);

	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(r.calls, 0);
	efd_write(efd);
	assert_int_equal(loop_run_once(loop, 1000), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.events, LOOP_READ);
	assert_int_equal(r.fd, efd);
	/* Consumed: level-triggered epoll reports nothing more. */
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(r.calls, 1);

	/* Re-listening modifies the registration: an eventfd is always writable. */
	assert_int_equal(loop_fd_listen(loop, efd, LOOP_WRITE, read_h, &r), 0);
	assert_int_equal(loop_run_once(loop, 1000), 0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(r.events, LOOP_WRITE);

	loop_fd_remove(loop, efd);
	loop_fd_remove(loop, efd); /* twice is harmless */
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(r.calls, 2);

	assert_int_equal(loop_fd_listen(loop, efd, LOOP_READ, read_h, &r), 0);
	loop_free(loop);
	/* loop_free does not close registered fds. */
	assert_true(fcntl(efd, F_GETFD) >= 0);
	close(efd);
}

static void test_fd_hangup(void **state)
{
	struct loop *loop = NULL;
	struct fdrec r = {0};
	int p[2];

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(loop_alloc(&loop), 0);
	assert_int_equal(loop_fd_listen(loop, p[0], LOOP_READ, read_h, &r), 0);
	close(p[1]);
	assert_int_equal(loop_run_once(loop, 1000), 0);
	assert_int_equal(r.calls, 1);
	assert_true(r.events & LOOP_ERROR);
	loop_free(loop);
	close(p[0]);
}

static void remove_self_h(int fd, uint32_t events, void *arg)
{
	struct fdrec *r = arg;

	r->calls++;
	loop_fd_remove(r->loop, fd);
	close(fd);
}

static void test_fd_remove_self(void **state)
{
	struct loop *loop = NULL;
	struct fdrec r = {0};
	int p[2];

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(loop_alloc(&loop), 0);
	r.loop = loop;
	assert_int_equal(loop_fd_listen(loop, p[0], LOOP_READ, remove_self_h, &r), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(loop_run_once(loop, i == 0 ? 1000 : 0), 0);
	assert_int_equal(r.calls, 1);
	close(p[1]);
	loop_free(loop);
}

static void fresh_h(int fd, uint32_t events, void *arg)
{
	int *calls = arg;

	(*calls)++;
}

static int fresh_calls;

/* Removes and closes the other fd, then opens a new one that takes the same number. */
static void remove_other_h(int fd, uint32_t events, void *arg)
{
	struct fdrec *r = arg;
	uint64_t v;

	r->calls++;
	assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
	if (*r->other_slot < 0)
		return;
	loop_fd_remove(r->loop, *r->other_slot);
	close(*r->other_slot);
	r->fresh = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_int_equal(r->fresh, *r->other_slot);
	assert_int_equal(loop_fd_listen(r->loop, r->fresh, LOOP_READ, fresh_h, &fresh_calls), 0);
	*r->other_slot = -1;
}

static void test_fd_remove_other_same_batch(void **state)
{
	struct loop *loop = NULL;
	struct fdrec ra = {0}, rb = {0};
	int a = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int slot_a = a, slot_b = b;
	int fresh;

	assert_true(a >= 0 && b >= 0);
	assert_int_equal(loop_alloc(&loop), 0);
	fresh_calls = 0;
	ra = (struct fdrec){.loop = loop, .other_slot = &slot_b, .fresh = -1};
	rb = (struct fdrec){.loop = loop, .other_slot = &slot_a, .fresh = -1};
	assert_int_equal(loop_fd_listen(loop, a, LOOP_READ, remove_other_h, &ra), 0);
	assert_int_equal(loop_fd_listen(loop, b, LOOP_READ, remove_other_h, &rb), 0);
	efd_write(a);
	efd_write(b);
	/* Both are ready before the wait, so both events are in one batch; whichever handler runs
	 * first removes the other, whose stale event must be dropped, not given to the new fd. */
	assert_int_equal(loop_run_once(loop, 1000), 0);
	assert_int_equal(ra.calls + rb.calls, 1);
	assert_int_equal(fresh_calls, 0);
	fresh = ra.calls ? ra.fresh : rb.fresh;
	assert_true(fresh >= 0);

	/* The new registration works normally. */
	efd_write(fresh);
	assert_int_equal(loop_run_once(loop, 1000), 0);
	assert_int_equal(fresh_calls, 1);

	loop_free(loop);
	close(fresh);
	close(ra.calls ? a : b);
}

static void test_fd_invalid(void **state)
{
	struct loop *loop = NULL;
	struct fdrec r = {0};

	assert_int_equal(loop_alloc(&loop), 0);
	assert_int_equal(loop_fd_listen(loop, -1, LOOP_READ, read_h, &r), EINVAL);
	assert_int_equal(loop_fd_listen(loop, 0, LOOP_READ, NULL, &r), EINVAL);
	/* A closed fd number: epoll refuses it and the error comes back. */
	assert_int_equal(loop_fd_listen(loop, 999, LOOP_READ, read_h, &r), EBADF);
	loop_fd_remove(loop, 999);
	loop_fd_remove(loop, 1 << 20);
	loop_free(loop);
}

/* ---------------------------------------------------------------------------------------------
 * Running
 */

static void test_run_once_timeout(void **state)
{
	struct loop *loop = NULL;
	uint64_t t0, dt;

	assert_int_equal(loop_alloc(&loop), 0);
	t0 = real_ms();
	assert_int_equal(loop_run_once(loop, 50), 0);
	dt = real_ms() - t0;
	assert_true(dt >= 40 && dt < 2000);

	/* With a fake clock at a due timer, the wait is 0 even with a long max_wait. */
	loop_clock_set(loop, fake_clock, NULL);
	fake_now = 5;
	struct rec rec = {.n = 0};
	struct tnode n = {.rec = &rec};
	assert_int_equal(loop_timer_start(loop, &n.t, 0, rec_h, &n), 0);
	t0 = real_ms();
	assert_int_equal(loop_run_once(loop, 5000), 0);
	assert_true(real_ms() - t0 < 1000);
	assert_int_equal(rec.n, 1);
	loop_free(loop);
}

static void test_run_once_real_timer(void **state)
{
	struct loop *loop = NULL;
	struct rec rec = {.n = 0};
	struct tnode n = {.rec = &rec};
	uint64_t t0 = real_ms();
	int turns = 0;

	assert_int_equal(loop_alloc(&loop), 0);
	loop_clock_set(loop, NULL, NULL);
	assert_int_equal(loop_timer_start(loop, &n.t, 30, rec_h, &n), 0);
	/* -1: wait until the next timer; bounded in turns in case of early wakeups. */
	while (rec.n == 0 && turns++ < 50)
		assert_int_equal(loop_run_once(loop, -1), 0);
	assert_int_equal(rec.n, 1);
	assert_true(real_ms() - t0 >= 30);
	assert_true(real_ms() - t0 < 2000);
	loop_free(loop);
}

static void after_h(void *arg)
{
	int *n = arg;

	(*n)++;
}

struct after_rm {
	struct loop *loop;
	int runs_a, runs_b;
};

static void after_b(void *arg);

/* Hook A removes B (which comes after it) and itself while the hooks run. */
static void after_a(void *arg)
{
	struct after_rm *r = arg;

	r->runs_a++;
	assert_int_equal(loop_after_remove(r->loop, after_b, r), 0);
	assert_int_equal(loop_after_remove(r->loop, after_a, r), 0);
}

static void after_b(void *arg)
{
	((struct after_rm *)arg)->runs_b++;
}

static void test_after_remove(void **state)
{
	struct after_rm r = {0};

	(void)state;
	assert_int_equal(loop_alloc(&r.loop), 0);
	assert_int_equal(loop_after_add(r.loop, after_a, &r), 0);
	assert_int_equal(loop_after_add(r.loop, after_b, &r), 0);
	assert_int_equal(loop_run_once(r.loop, 0), 0);
	assert_int_equal(loop_run_once(r.loop, 0), 0);
	assert_int_equal(r.runs_a, 1);
	assert_int_equal(r.runs_b, 0);
	assert_int_equal(loop_after_remove(r.loop, after_a, &r), ENOENT);
	loop_free(r.loop);
}

static void test_after_hook(void **state)
{
	struct loop *loop = fake_loop();
	int a = 0, b = 0;

	assert_int_equal(loop_after_add(loop, after_h, &a), 0);
	assert_int_equal(loop_after_add(loop, after_h, &b), 0);
	assert_int_equal(loop_after_add(loop, NULL, NULL), EINVAL);
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(a, 2);
	assert_int_equal(b, 2);
	loop_free(loop);
}

struct stopper {
	struct loop *loop;
	struct loop_timer t;
	int fired;
	int hooks_at_stop;
	int *hooks;
};

static void stopper_h(void *arg)
{
	struct stopper *s = arg;

	if (++s->fired < 3) {
		assert_int_equal(loop_timer_start(s->loop, &s->t, 0, stopper_h, s), 0);
		return;
	}
	s->hooks_at_stop = *s->hooks;
	loop_stop(s->loop);
}

static void test_run_stop(void **state)
{
	struct loop *loop = fake_loop();
	int hooks = 0;
	struct stopper s = {.loop = loop, .hooks = &hooks};

	assert_int_equal(loop_after_add(loop, after_h, &hooks), 0);
	assert_int_equal(loop_timer_start(loop, &s.t, 0, stopper_h, &s), 0);
	assert_int_equal(loop_run(loop), 0);
	/* One firing per turn, and the stopping turn still runs its hooks. */
	assert_int_equal(s.fired, 3);
	assert_int_equal(s.hooks_at_stop, 2);
	assert_int_equal(hooks, 3);
	loop_free(loop);
}

/* ---------------------------------------------------------------------------------------------
 * Signals
 */

struct sigrec {
	int hup;
	int term;
};

static void sig_h(enum loop_signal sig, void *arg)
{
	struct sigrec *r = arg;

	if (sig == LOOP_SIG_HUP)
		r->hup++;
	else if (sig == LOOP_SIG_TERM)
		r->term++;
}

static void run_until(struct loop *loop, const int *counter, int want)
{
	for (int i = 0; i < 20 && *counter < want; i++)
		assert_int_equal(loop_run_once(loop, 100), 0);
}

static void test_signals(void **state)
{
	struct loop *loop = NULL;
	struct sigrec r = {0};
	struct sigaction sa;

	assert_int_equal(loop_alloc(&loop), 0);
	assert_int_equal(loop_signals_listen(loop, sig_h, &r), 0);
	assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_IGN);

	assert_int_equal(raise(SIGHUP), 0);
	run_until(loop, &r.hup, 1);
	assert_int_equal(r.hup, 1);
	assert_int_equal(r.term, 0);

	assert_int_equal(raise(SIGTERM), 0);
	run_until(loop, &r.term, 1);
	assert_int_equal(r.term, 1);

	assert_int_equal(raise(SIGINT), 0);
	run_until(loop, &r.term, 2);
	assert_int_equal(r.term, 2);
	assert_int_equal(r.hup, 1);
	loop_free(loop);
}

struct in_turn_rec {
	struct loop *loop;
	int in_timer;
	int in_hook;
	int in_last;
	char order[16];
	size_t n;
};

static void in_turn_tmr_h(void *arg)
{
	struct in_turn_rec *r = arg;

	r->in_timer = loop_in_turn(r->loop);
}

static void in_turn_after_h(void *arg)
{
	struct in_turn_rec *r = arg;

	r->in_hook = loop_in_turn(r->loop);
	if (r->n < sizeof(r->order))
		r->order[r->n++] = 'h';
}

static void in_turn_last_h(void *arg)
{
	struct in_turn_rec *r = arg;

	r->in_last = loop_in_turn(r->loop);
	if (r->n < sizeof(r->order))
		r->order[r->n++] = 'L';
}

/* loop_in_turn(): true in the handlers, timers and ordinary after-turn hooks of a turn, false in
 * the last hooks and outside the loop (the SIP transport queues UDP datagrams only while it is
 * true, and sends them from a last hook). A last hook runs after every ordinary hook, even
 * those added after it. */
static void test_in_turn(void **state)
{
	struct in_turn_rec r = {NULL, -1, -1, -1, {0}, 0};
	struct loop_timer t;

	(void)state;
	assert_int_equal(loop_alloc(&r.loop), 0);
	assert_false(loop_in_turn(r.loop));
	assert_false(loop_in_turn(NULL));
	assert_int_equal(loop_after_add_last(r.loop, in_turn_last_h, &r), 0);
	assert_int_equal(loop_after_add(r.loop, in_turn_after_h, &r), 0);
	assert_int_equal(loop_after_add_last(r.loop, NULL, NULL), EINVAL);
	loop_timer_init(&t);
	assert_int_equal(loop_timer_start(r.loop, &t, 0, in_turn_tmr_h, &r), 0);
	assert_int_equal(loop_run_once(r.loop, 100), 0);
	assert_int_equal(r.in_timer, 1);
	assert_int_equal(r.in_hook, 1);
	assert_int_equal(r.in_last, 0);
	assert_int_equal(r.n, 2);
	assert_memory_equal(r.order, "hL", 2);
	assert_false(loop_in_turn(r.loop));
	assert_int_equal(loop_after_remove(r.loop, in_turn_last_h, &r), 0);
	assert_int_equal(loop_run_once(r.loop, 0), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.order[2], 'h');
	loop_free(r.loop);
}

static void bg_h(void *arg)
{
	struct in_turn_rec *r = arg;

	r->in_timer = loop_in_turn(r->loop);
	if (r->n < sizeof(r->order))
		r->order[r->n++] = 'B';
}

/* A background hook (the web console) runs after the last hooks, so what the turn's fds and
 * timers queued is sent before it; then the ordinary and last hooks run again, sending what the
 * background work queued in the same turn. It counts as in the turn (its sends are queued). A
 * removed background hook no longer runs, nor do the hooks a second time. */
static void test_background_hook(void **state)
{
	struct in_turn_rec r = {NULL, -1, -1, -1, {0}, 0};

	(void)state;
	assert_int_equal(loop_alloc(&r.loop), 0);
	assert_int_equal(loop_after_add_background(r.loop, bg_h, &r), 0);
	assert_int_equal(loop_after_add_last(r.loop, in_turn_last_h, &r), 0);
	assert_int_equal(loop_after_add(r.loop, in_turn_after_h, &r), 0);
	assert_int_equal(loop_after_add_background(r.loop, NULL, NULL), EINVAL);
	assert_int_equal(loop_run_once(r.loop, 0), 0);
	assert_int_equal(r.n, 5);
	assert_memory_equal(r.order, "hLBhL", 5);
	assert_int_equal(r.in_timer, 1);
	assert_int_equal(r.in_last, 0);
	assert_false(loop_in_turn(r.loop));
	assert_int_equal(loop_after_remove(r.loop, bg_h, &r), 0);
	assert_int_equal(loop_run_once(r.loop, 0), 0);
	assert_int_equal(r.n, 7);
	assert_memory_equal(r.order + 5, "hL", 2);
	assert_int_equal(loop_run_once(r.loop, 0), 0);
	assert_int_equal(r.n, 9);
	assert_memory_equal(r.order + 7, "hL", 2);
	loop_free(r.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_timer_random_cancel),
	    cmocka_unit_test(test_timer_queue_compaction),
	    cmocka_unit_test(test_timer_queues),
		cmocka_unit_test(test_timer_restart),
		cmocka_unit_test(test_timer_lazy),
		cmocka_unit_test(test_timer_rearm_in_handler),
		cmocka_unit_test(test_timer_zero_rearm),
		cmocka_unit_test(test_timer_remaining),
		cmocka_unit_test(test_timer_free_in_handler),
		cmocka_unit_test(test_timer_free_loop_armed),
		cmocka_unit_test(test_timer_invalid),
		cmocka_unit_test(test_fd_read),
		cmocka_unit_test(test_fd_hangup),
		cmocka_unit_test(test_fd_remove_self),
		cmocka_unit_test(test_fd_remove_other_same_batch),
		cmocka_unit_test(test_fd_invalid),
		cmocka_unit_test(test_run_once_timeout),
		cmocka_unit_test(test_run_once_real_timer),
		cmocka_unit_test(test_after_hook),
		cmocka_unit_test(test_after_remove),
		cmocka_unit_test(test_run_stop),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_in_turn),
		cmocka_unit_test(test_background_hook),
	};

	/* A broken loop must fail, not hang the test run. */
	alarm(60);
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
