/* loop: the single-threaded event loop: epoll for file descriptors, timers (FIFO queues per
 * delay and a heap) on the monotonic clock (replaceable, so tests drive timers without sleeping)
 * and signals via signalfd. */
#ifndef MIKAKA_LOOP_H
#define MIKAKA_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

enum loop_events {
	LOOP_READ = 1 << 0,
	LOOP_WRITE = 1 << 1,
	LOOP_ERROR = 1 << 2, /* EPOLLERR or EPOLLHUP; always reported */
};

/* Called when fd is ready; `events` is a mask of enum loop_events. The handler may call
 * loop_fd_remove() on its own fd (or any other) and close it. */
typedef void(loop_fd_h)(int fd, uint32_t events, void *arg);

/* Called once when a timer expires. The timer is no longer active when this runs; the handler may
 * restart it or free the object that embeds it. */
typedef void(loop_timer_h)(void *arg);

/* Returns the current time in milliseconds on a monotonic scale. */
typedef uint64_t(loop_clock_h)(void *arg);

enum loop_signal { LOOP_SIG_TERM = 1, LOOP_SIG_HUP };
typedef void(loop_signal_h)(enum loop_signal sig, void *arg);

/* A timer is embedded in the object it belongs to, so arming it does not allocate an object.
 * Zero-initialised memory (or loop_timer_init) is an inactive timer. */
struct loop_timer {
	struct loop *loop;
	uint64_t expires; /* absolute, in the loop clock's milliseconds */
	uint64_t seq;	  /* insertion order: equal expiry times fire first-armed first */
	size_t heap_idx;  /* index + 1 in the loop's heap; 0 = not armed */
	loop_timer_h *h;
	void *arg;
};

int loop_alloc(struct loop **lp);
/* Frees the loop. Timers still armed are simply forgotten (their owners must not use them after). */
void loop_free(struct loop *loop);

/* Registers fd (or changes its event mask and handler when it is already registered). */
int loop_fd_listen(struct loop *loop, int fd, uint32_t events, loop_fd_h *h, void *arg);
/* Stops watching fd; does not close it. Safe to call from inside any handler. */
void loop_fd_remove(struct loop *loop, int fd);

/* Runs until loop_stop(). Each turn: wait for fds (up to the nearest timer), dispatch ready fds,
 * then fire every timer that has expired, then run the after-turn hooks. Returns 0, or an errno
 * value when epoll fails. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);
/* Runs a single turn, waiting at most max_wait_ms for events (-1: until the next timer). */
int loop_run_once(struct loop *loop, int max_wait_ms);

/* Blocks SIGTERM, SIGINT and SIGHUP for normal delivery and reports them through the loop
 * (TERM for SIGTERM/SIGINT, HUP for SIGHUP). */
int loop_signals_listen(struct loop *loop, loop_signal_h *h, void *arg);

/* Time now, in milliseconds, from the loop's clock. */
uint64_t loop_now(const struct loop *loop);
/* Replaces the clock (NULL restores CLOCK_MONOTONIC). For tests: a fake clock plus
 * loop_timers_run() exercises timer logic without sleeping. */
void loop_clock_set(struct loop *loop, loop_clock_h *clock, void *arg);

void loop_timer_init(struct loop_timer *t);
/* Arms (or re-arms) t to fire after delay_ms. Returns ENOMEM when the heap cannot grow. */
int loop_timer_start(struct loop *loop, struct loop_timer *t, uint64_t delay_ms, loop_timer_h *h,
		     void *arg);
/* As loop_timer_start, for a timer that only frees state (a finished transaction's end, its
 * tomb's): it fires when due if the loop takes a turn anyway, but the loop does not wake up for
 * it alone before LOOP_LAZY_MS after its time. So the lazy timers of a second's calls end in one
 * wake-up, or in turns the loop takes for datagrams, instead of one wake-up each (a B2BUA call
 * left four, 5 and 32 s after it). */
#define LOOP_LAZY_MS 1000
int loop_timer_start_lazy(struct loop *loop, struct loop_timer *t, uint64_t delay_ms,
			  loop_timer_h *h, void *arg);
/* How long loop_run_once() would wait for the timers, in ms (-1: no timer armed). */
int loop_timer_wait(struct loop *loop);
/* Disarms t; safe on a timer that is not armed. */
void loop_timer_cancel(struct loop_timer *t);
bool loop_timer_active(const struct loop_timer *t);
/* Milliseconds until t fires (0 when due or not armed). */
uint64_t loop_timer_remaining(const struct loop_timer *t);
/* Fires every timer whose time has come by the loop's clock, in expiry order; returns how many. */
unsigned loop_timers_run(struct loop *loop);
/* Number of armed timers (tests use it to check nothing was left behind). */
size_t loop_timer_count(const struct loop *loop);

/* A hook run at the end of every loop turn (batching: one store transaction per turn). */
typedef void(loop_after_h)(void *arg);
int loop_after_add(struct loop *loop, loop_after_h *h, void *arg);
/* A hook run after every ordinary hook of the turn: for a queue the others fill (the SIP
 * transport's UDP sends). */
int loop_after_add_last(struct loop *loop, loop_after_h *h, void *arg);
/* A hook run after the last hooks of every turn, the ordinary and last hooks then running again:
 * for work that must not delay what the turn sends (the web console's HTTP, which would otherwise
 * hold back the SIP a datagram of the same turn caused). */
int loop_after_add_background(struct loop *loop, loop_after_h *h, void *arg);
/* Removes a hook added with the same h and arg (safe from inside any hook); ENOENT if absent. */
int loop_after_remove(struct loop *loop, loop_after_h *h, void *arg);
/* True while a turn of loop_run_once() dispatches fds, fires timers or runs its ordinary
 * after-turn hooks, i.e. when the last hooks are still to run in this turn (work deferred to
 * them will be done shortly); false in the last hooks and outside the loop. */
bool loop_in_turn(const struct loop *loop);

#endif /* MIKAKA_LOOP_H */
