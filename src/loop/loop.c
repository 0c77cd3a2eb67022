/* loop: the single-threaded event loop: epoll for fds, timers in a binary min-heap and in FIFO
 * queues per delay, signalfd. */
/*
 * One loop turn (loop_run_once), in this order:
 *
 *  1. Compute the wait: 0 when a timer is already due, otherwise the time to the nearest timer
 *     (capped at LOOP_MAX_WAIT_MS so a clock jump cannot park us for days), -1 when no timer is
 *     armed; the caller's max_wait_ms bounds it further. A lazy timer (loop_timer_start_lazy)
 *     counts as due LOOP_LAZY_MS after its time: the loop does not wake up for it alone before.
 *  2. epoll_wait(). EINTR counts as "no events", not as an error.
 *  3. Dispatch every fd event of the batch, in the order epoll returned them. A handler may remove
 *     (and close) any fd, including ones later in the same batch: each registration carries a
 *     generation number in the epoll data, and an event whose fd is no longer registered, or was
 *     re-registered (same number, new generation) after the batch was read, is dropped.
 *  4. Fire expired timers (loop_timers_run), in (expires, seq) order. The clock is read once at
 *     the start; timers armed while firing wait for the next turn even when already due, so a
 *     timer re-armed with delay 0 in its own handler cannot spin one turn forever.
 *     Timers run after fds so that work triggered by I/O (a retransmission answered, a timer
 *     cancelled by the response that just arrived) is seen before the timer would fire.
 *  5. Run the after-turn hooks in registration order (batching: e.g. one store transaction per
 *     turn covers everything the fd and timer handlers changed), then the hooks added with
 *     loop_after_add_last() (the transport's UDP send queue, which the store's done callbacks
 *     fill with the turn's 200s).
 *  6. When background hooks are registered (loop_after_add_background(): the web console's
 *     libuv turn), run them, then the ordinary and last hooks once more. Work that must not
 *     delay signalling thus starts only after the turn's datagrams have been sent.
 *
 * loop_run repeats turns until loop_stop(); the stop flag is checked between turns, so the turn
 * in which loop_stop() is called completes (its timers and hooks still run).
 *
 * Timers: most are armed with one of a few delays (the transactions' 32 s, T1, T4), and those
 * with the same delay expire in the order they were armed. So a timer whose delay has a queue
 * (LOOP_QUEUES of them, taken by the first delays used, an empty one reused for a new delay)
 * is appended to that queue's ring, O(1), and cancelled by clearing its entry, O(1); the others
 * go into the binary heap. Lazy timers have queues of their own (a queue is lazy or not), so the
 * wait is the earliest of the heap's top, the plain queues' heads and the lazy queues' heads plus
 * LOOP_LAZY_MS; a lazy timer that finds no queue goes into the heap and fires on time. The next timer is the earliest of the heap's top and the queues'
 * heads, by (expires, seq) as before. With hundreds of thousands of finished transactions
 * waiting for their 32 s, the heap's O(log n) walks through cold memory were a few per cent of
 * a call. A queued timer's heap_idx holds LOOP_QUEUED | queue << LOOP_Q_SHIFT | its position.
 */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#define LOOP_MAX_WAIT_MS (3600 * 1000)
#define LOOP_MAX_EVENTS 64
#define LOOP_QUEUES 12
#define LOOP_QUEUED ((size_t)1 << 63)
#define LOOP_Q_SHIFT 59
#define LOOP_POS_MASK (((size_t)1 << LOOP_Q_SHIFT) - 1)

/* The timers armed with one delay, in arming order: positions head..tail-1 of a ring (absolute
 * positions, slot = position & (cap - 1)); a cancelled timer leaves a NULL that the head skips. */
struct loop_tqueue {
	uint64_t delay;
	bool lazy; /* holds lazy timers only (loop_timer_start_lazy) */
	uint64_t last_expires; /* of the last appended: a later one may not expire earlier */
	struct loop_timer **ring;
	size_t cap; /* power of two; 0 before the first use */
	size_t head, tail;
	size_t live; /* non-NULL entries */
};

struct loop_fd {
	loop_fd_h *h; /* NULL: not registered */
	void *arg;
	uint32_t events;
	uint32_t gen;
};

enum loop_after_kind {
	LOOP_AFTER_ORDINARY,
	LOOP_AFTER_LAST,       /* loop_after_add_last(): runs after every ordinary hook */
	LOOP_AFTER_BACKGROUND, /* loop_after_add_background(): after the last hooks */
};

struct loop_after {
	loop_after_h *h;
	void *arg;
	enum loop_after_kind kind;
};

struct loop {
	int epfd;
	int sigfd;
	bool stopped;

	struct loop_fd *fds; /* indexed by fd number */
	size_t nfds;
	uint32_t gen;

	struct loop_timer **heap;
	size_t heap_len;
	size_t heap_cap;
	uint64_t seq;
	struct loop_tqueue tq[LOOP_QUEUES];
	size_t ntq; /* queues taken so far: tq[0..ntq) */

	loop_clock_h *clock;
	void *clock_arg;

	struct loop_after *after;
	size_t after_len;
	bool after_dirty; /* a hook was removed: compact after the hooks have run */
	bool in_turn;	  /* dispatching fds, timers or ordinary hooks; the last hooks follow */
	size_t nbackground; /* background hooks registered */

	loop_signal_h *sig_h;
	void *sig_arg;
};

static uint64_t loop_clock_monotonic(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int loop_alloc(struct loop **lp)
{
	struct loop *loop;
	int err;

	if (!lp)
		return EINVAL;
	loop = calloc(1, sizeof(*loop));
	if (!loop)
		return ENOMEM;
	loop->sigfd = -1;
	loop->clock = loop_clock_monotonic;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		err = errno;
		goto fail;
	}
	*lp = loop;
	return 0;

fail:
	free(loop);
	return err;
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	/* Disarm what is left so an owner cancelling afterwards does not touch the freed loop. */
	for (size_t i = 0; i < loop->heap_len; i++) {
		loop->heap[i]->heap_idx = 0;
		loop->heap[i]->loop = NULL;
	}
	for (size_t q = 0; q < LOOP_QUEUES; q++) {
		struct loop_tqueue *tq = &loop->tq[q];

		for (size_t pos = tq->head; pos < tq->tail; pos++) {
			struct loop_timer *t = tq->ring[pos & (tq->cap - 1)];

			if (t) {
				t->heap_idx = 0;
				t->loop = NULL;
			}
		}
		free(tq->ring);
	}
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	free(loop->heap);
	free(loop->fds);
	free(loop->after);
	free(loop);
}

/* ---------------------------------------------------------------------------------------------
 * File descriptors
 */

static uint32_t loop_events_to_epoll(uint32_t events)
{
	uint32_t ev = 0;

	if (events & LOOP_READ)
		ev |= EPOLLIN;
	if (events & LOOP_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

static int loop_fds_grow(struct loop *loop, int fd)
{
	size_t n = loop->nfds ? loop->nfds : 16;
	struct loop_fd *fds;

	if ((size_t)fd < loop->nfds)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	fds = realloc(loop->fds, n * sizeof(*fds));
	if (!fds)
		return ENOMEM;
	memset(fds + loop->nfds, 0, (n - loop->nfds) * sizeof(*fds));
	loop->fds = fds;
	loop->nfds = n;
	return 0;
}

int loop_fd_listen(struct loop *loop, int fd, uint32_t events, loop_fd_h *h, void *arg)
{
	struct epoll_event ev = {0};
	struct loop_fd *e;
	uint32_t gen;
	int err;

	if (!loop || fd < 0 || !h)
		return EINVAL;
	err = loop_fds_grow(loop, fd);
	if (err)
		return err;
	e = &loop->fds[fd];
	/* A modified registration keeps its generation: it is the same registration, and events
	 * already read for it are still meant for it. */
	gen = e->h ? e->gen : ++loop->gen;
	ev.events = loop_events_to_epoll(events);
	ev.data.u64 = (uint64_t)gen << 32 | (uint32_t)fd;
	if (e->h) {
		/* The owner may have closed the fd without removing it (epoll then forgot it)
		 * and got the same number back: fall back to adding it. */
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
			if (errno != ENOENT)
				return errno;
			if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
				return errno;
		}
	} else if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (errno != EEXIST)
			return errno;
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			return errno;
	}
	e->h = h;
	e->arg = arg;
	e->events = events;
	e->gen = gen;
	return 0;
}

void loop_fd_remove(struct loop *loop, int fd)
{
	struct loop_fd *e;

	if (!loop || fd < 0 || (size_t)fd >= loop->nfds)
		return;
	e = &loop->fds[fd];
	if (!e->h)
		return;
	/* Fails harmlessly (EBADF/ENOENT) when the owner already closed the fd. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	e->h = NULL;
	e->arg = NULL;
	e->events = 0;
}

static void loop_fd_dispatch(struct loop *loop, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	uint32_t events = 0;
	struct loop_fd *e;

	if ((size_t)fd >= loop->nfds)
		return;
	e = &loop->fds[fd];
	/* Removed by an earlier handler of this batch, or removed and re-registered: stale. */
	if (!e->h || e->gen != gen)
		return;
	if ((ev->events & EPOLLIN) && (e->events & LOOP_READ))
		events |= LOOP_READ;
	if ((ev->events & EPOLLOUT) && (e->events & LOOP_WRITE))
		events |= LOOP_WRITE;
	if (ev->events & (EPOLLERR | EPOLLHUP))
		events |= LOOP_ERROR;
	if (!events)
		return;
	e->h(fd, events, e->arg);
}

/* ---------------------------------------------------------------------------------------------
 * Clock and timers
 */

uint64_t loop_now(const struct loop *loop)
{
	return loop->clock(loop->clock_arg);
}

void loop_clock_set(struct loop *loop, loop_clock_h *clock, void *arg)
{
	if (!loop)
		return;
	loop->clock = clock ? clock : loop_clock_monotonic;
	loop->clock_arg = clock ? arg : NULL;
}

static bool loop_timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	if (a->expires != b->expires)
		return a->expires < b->expires;
	return a->seq < b->seq;
}

static void loop_heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
	loop->heap[i] = t;
	t->heap_idx = i + 1;
}

static void loop_heap_up(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!loop_timer_before(t, loop->heap[parent]))
			break;
		loop_heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	loop_heap_set(loop, i, t);
}

static void loop_heap_down(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];
	size_t n = loop->heap_len;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && loop_timer_before(loop->heap[c + 1], loop->heap[c]))
			c++;
		if (!loop_timer_before(loop->heap[c], t))
			break;
		loop_heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	loop_heap_set(loop, i, t);
}

void loop_timer_init(struct loop_timer *t)
{
	if (t)
		memset(t, 0, sizeof(*t));
}

/* Drops the cancelled entries at a queue's head, so that its head is a live timer. */
static void tq_skip(struct loop_tqueue *tq)
{
	while (tq->head < tq->tail && !tq->ring[tq->head & (tq->cap - 1)])
		tq->head++;
	if (tq->head == tq->tail)
		tq->head = tq->tail = 0; /* empty: start again at slot 0 */
}

static struct loop_timer *tq_first(const struct loop_tqueue *tq)
{
	return tq->head < tq->tail ? tq->ring[tq->head & (tq->cap - 1)] : NULL;
}

void loop_timer_cancel(struct loop_timer *t)
{
	struct loop *loop;
	size_t i;

	if (!t || !t->heap_idx || !t->loop)
		return;
	loop = t->loop;
	if (t->heap_idx & LOOP_QUEUED) {
		struct loop_tqueue *tq = &loop->tq[(t->heap_idx & ~LOOP_QUEUED) >> LOOP_Q_SHIFT];
		size_t pos = t->heap_idx & LOOP_POS_MASK;

		t->heap_idx = 0;
		tq->ring[pos & (tq->cap - 1)] = NULL;
		tq->live--;
		if (pos == tq->head)
			tq_skip(tq);
		return;
	}
	i = t->heap_idx - 1;
	t->heap_idx = 0;
	loop->heap_len--;
	if (i == loop->heap_len)
		return;
	/* Move the last element into the hole; it may need to go either way. */
	loop_heap_set(loop, i, loop->heap[loop->heap_len]);
	if (i > 0 && loop_timer_before(loop->heap[i], loop->heap[(i - 1) / 2]))
		loop_heap_up(loop, i);
	else
		loop_heap_down(loop, i);
}

/* The queue for delay and laziness (one of the same, else an empty one), or NULL: the heap. */
static struct loop_tqueue *tq_for(struct loop *loop, uint64_t delay, uint64_t expires, bool lazy)
{
	struct loop_tqueue *spare = NULL;

	for (size_t q = 0; q < loop->ntq; q++) {
		struct loop_tqueue *tq = &loop->tq[q];

		if (tq->delay == delay && tq->lazy == lazy)
			return tq->head == tq->tail || tq->last_expires <= expires ? tq : NULL;
		if (!spare && tq->head == tq->tail)
			spare = tq;
	}
	if (!spare && loop->ntq < LOOP_QUEUES)
		spare = &loop->tq[loop->ntq++];
	if (spare) {
		spare->delay = delay;
		spare->lazy = lazy;
	}
	return spare;
}

/* Closes the holes cancelled timers left between head and tail: live entries move towards the
 * head, keeping their order, and learn their new positions. */
static void tq_compact(struct loop *loop, struct loop_tqueue *tq)
{
	size_t q = tq->head, mask = tq->cap - 1, qi = (size_t)(tq - loop->tq);

	for (size_t pos = tq->head; pos < tq->tail; pos++) {
		struct loop_timer *t = tq->ring[pos & mask];

		if (!t)
			continue;
		if (q != pos) {
			tq->ring[q & mask] = t;
			tq->ring[pos & mask] = NULL;
			t->heap_idx = LOOP_QUEUED | qi << LOOP_Q_SHIFT | q;
		}
		q++;
	}
	tq->tail = q;
}

/* Appends t (expires and seq set) to tq; ENOMEM when the ring cannot grow. A full ring at most
 * half live is compacted rather than doubled: timers cancelled long before their expiry (timer
 * B/F at the response, a finished transaction's timer when it becomes a tomb) would otherwise
 * make the 32-s ring four times the size of its live timers. */
static int tq_append(struct loop *loop, struct loop_tqueue *tq, struct loop_timer *t)
{
	if (tq->cap && tq->tail - tq->head == tq->cap && tq->live <= tq->cap / 2)
		tq_compact(loop, tq);
	if (tq->tail - tq->head == tq->cap) {
		size_t cap = tq->cap ? tq->cap * 2 : 64;
		struct loop_timer **ring = malloc(cap * sizeof(*ring));

		if (!ring)
			return ENOMEM;
		/* Absolute positions keep their meaning: each entry moves to pos & (cap - 1). */
		for (size_t pos = tq->head; pos < tq->tail; pos++)
			ring[pos & (cap - 1)] = tq->ring[pos & (tq->cap - 1)];
		free(tq->ring);
		tq->ring = ring;
		tq->cap = cap;
	}
	tq->ring[tq->tail & (tq->cap - 1)] = t;
	t->heap_idx = LOOP_QUEUED | (size_t)(tq - loop->tq) << LOOP_Q_SHIFT | tq->tail;
	tq->tail++;
	tq->live++;
	tq->last_expires = t->expires;
	return 0;
}

static int timer_start(struct loop *loop, struct loop_timer *t, uint64_t delay_ms, loop_timer_h *h,
		       void *arg, bool lazy)
{
	struct loop_tqueue *tq;
	uint64_t now, expires;

	if (!loop || !t || !h)
		return EINVAL;
	loop_timer_cancel(t);
	now = loop_now(loop);
	expires = delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms;
	tq = tq_for(loop, delay_ms, expires, lazy);
	if (tq) {
		t->loop = loop;
		t->expires = expires;
		t->seq = loop->seq;
		t->h = h;
		t->arg = arg;
		if (!tq_append(loop, tq, t)) {
			loop->seq++;
			return 0;
		}
		t->heap_idx = 0; /* no room in the ring: the heap, if it has room */
	}
	if (loop->heap_len == loop->heap_cap) {
		size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
		struct loop_timer **heap = realloc(loop->heap, cap * sizeof(*heap));

		if (!heap)
			return ENOMEM;
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	t->loop = loop;
	t->expires = expires;
	t->seq = loop->seq++;
	t->h = h;
	t->arg = arg;
	loop->heap_len++;
	loop_heap_set(loop, loop->heap_len - 1, t);
	loop_heap_up(loop, loop->heap_len - 1);
	return 0;
}

int loop_timer_start(struct loop *loop, struct loop_timer *t, uint64_t delay_ms, loop_timer_h *h,
		     void *arg)
{
	return timer_start(loop, t, delay_ms, h, arg, false);
}

int loop_timer_start_lazy(struct loop *loop, struct loop_timer *t, uint64_t delay_ms,
			  loop_timer_h *h, void *arg)
{
	return timer_start(loop, t, delay_ms, h, arg, true);
}

bool loop_timer_active(const struct loop_timer *t)
{
	return t && t->heap_idx != 0;
}

uint64_t loop_timer_remaining(const struct loop_timer *t)
{
	uint64_t now;

	if (!loop_timer_active(t) || !t->loop)
		return 0;
	now = loop_now(t->loop);
	return t->expires > now ? t->expires - now : 0;
}

/* The timer to fire next: the earliest of the heap's top and the queues' heads. */
static struct loop_timer *loop_timer_next(const struct loop *loop)
{
	struct loop_timer *best = loop->heap_len ? loop->heap[0] : NULL;

	for (size_t q = 0; q < loop->ntq; q++) {
		struct loop_timer *t = tq_first(&loop->tq[q]);

		if (t && (!best || loop_timer_before(t, best)))
			best = t;
	}
	return best;
}

unsigned loop_timers_run(struct loop *loop)
{
	uint64_t now = loop_now(loop);
	/* Timers armed from here on (seq >= limit) wait for the next call; with a monotonic
	 * clock they sort after every timer that was due at the start, so stopping at the first
	 * one is exact. */
	uint64_t limit = loop->seq;
	unsigned n = 0;

	for (;;) {
		struct loop_timer *t = loop_timer_next(loop);

		if (!t || t->expires > now || t->seq >= limit)
			break;
		loop_timer_cancel(t);
		n++;
		/* Last use of t: the handler may free it. */
		t->h(t->arg);
	}
	return n;
}

size_t loop_timer_count(const struct loop *loop)
{
	size_t n;

	if (!loop)
		return 0;
	n = loop->heap_len;
	for (size_t q = 0; q < loop->ntq; q++)
		n += loop->tq[q].live;
	return n;
}

/* ---------------------------------------------------------------------------------------------
 * Signals
 */

static void loop_signal_read(int fd, uint32_t events, void *arg)
{
	struct loop *loop = arg;
	struct signalfd_siginfo si;

	/* Bounded: the signalfd is non-blocking and coalesces each pending signal into one read. */
	for (int i = 0; i < 16; i++) {
		ssize_t n = read(fd, &si, sizeof(si));

		if (n != (ssize_t)sizeof(si))
			break;
		if (!loop->sig_h)
			continue;
		if (si.ssi_signo == SIGHUP)
			loop->sig_h(LOOP_SIG_HUP, loop->sig_arg);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			loop->sig_h(LOOP_SIG_TERM, loop->sig_arg);
	}
}

int loop_signals_listen(struct loop *loop, loop_signal_h *h, void *arg)
{
	sigset_t set;
	int err;

	if (!loop || !h)
		return EINVAL;
	loop->sig_h = h;
	loop->sig_arg = arg;
	if (loop->sigfd >= 0)
		return 0;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked so they stay pending for the signalfd instead of running default actions. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return errno;
	/* Sockets write to peers that may have gone; EPIPE from send() is handled, not fatal. */
	signal(SIGPIPE, SIG_IGN);
	loop->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop->sigfd < 0)
		return errno;
	err = loop_fd_listen(loop, loop->sigfd, LOOP_READ, loop_signal_read, loop);
	if (err) {
		close(loop->sigfd);
		loop->sigfd = -1;
	}
	return err;
}

/* ---------------------------------------------------------------------------------------------
 * Running
 */

static int loop_after_push(struct loop *loop, loop_after_h *h, void *arg, enum loop_after_kind kind)
{
	struct loop_after *after;

	if (!loop || !h)
		return EINVAL;
	after = realloc(loop->after, (loop->after_len + 1) * sizeof(*after));
	if (!after)
		return ENOMEM;
	after[loop->after_len].h = h;
	after[loop->after_len].arg = arg;
	after[loop->after_len].kind = kind;
	if (kind == LOOP_AFTER_BACKGROUND)
		loop->nbackground++;
	loop->after = after;
	loop->after_len++;
	return 0;
}

int loop_after_add(struct loop *loop, loop_after_h *h, void *arg)
{
	return loop_after_push(loop, h, arg, LOOP_AFTER_ORDINARY);
}

int loop_after_add_last(struct loop *loop, loop_after_h *h, void *arg)
{
	return loop_after_push(loop, h, arg, LOOP_AFTER_LAST);
}

int loop_after_add_background(struct loop *loop, loop_after_h *h, void *arg)
{
	return loop_after_push(loop, h, arg, LOOP_AFTER_BACKGROUND);
}

int loop_after_remove(struct loop *loop, loop_after_h *h, void *arg)
{
	if (!loop || !h)
		return EINVAL;
	for (size_t i = 0; i < loop->after_len; i++) {
		if (loop->after[i].h == h && loop->after[i].arg == arg) {
			/* Compacted after the hooks have run, so an index in use stays valid. */
			loop->after[i].h = NULL;
			if (loop->after[i].kind == LOOP_AFTER_BACKGROUND)
				loop->nbackground--;
			loop->after_dirty = true;
			return 0;
		}
	}
	return ENOENT;
}

static void loop_after_compact(struct loop *loop)
{
	size_t k = 0;

	loop->nbackground = 0;
	for (size_t i = 0; i < loop->after_len; i++) {
		if (!loop->after[i].h)
			continue;
		if (loop->after[i].kind == LOOP_AFTER_BACKGROUND)
			loop->nbackground++;
		loop->after[k++] = loop->after[i];
	}
	loop->after_len = k;
	loop->after_dirty = false;
}

/* When the loop must wake up for its timers: the earliest of the heap's top, the plain queues'
 * heads and the lazy queues' heads plus LOOP_LAZY_MS; false when no timer is armed. */
static bool loop_wake_at(const struct loop *loop, uint64_t *at)
{
	bool any = loop->heap_len > 0;

	*at = any ? loop->heap[0]->expires : UINT64_MAX;
	for (size_t q = 0; q < loop->ntq; q++) {
		const struct loop_tqueue *tq = &loop->tq[q];
		const struct loop_timer *t = tq_first(tq);
		uint64_t e;

		if (!t)
			continue;
		e = t->expires;
		if (tq->lazy)
			e = e > UINT64_MAX - LOOP_LAZY_MS ? UINT64_MAX : e + LOOP_LAZY_MS;
		if (!any || e < *at)
			*at = e;
		any = true;
	}
	return any;
}

int loop_timer_wait(struct loop *loop)
{
	uint64_t at, now;

	if (!loop || !loop_wake_at(loop, &at))
		return -1;
	now = loop_now(loop);
	if (at <= now)
		return 0;
	return at - now > LOOP_MAX_WAIT_MS ? LOOP_MAX_WAIT_MS : (int)(at - now);
}

static int loop_wait_ms(struct loop *loop, int max_wait_ms)
{
	int wait = loop_timer_wait(loop);

	if (max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms))
		wait = max_wait_ms;
	return wait;
}

/* The ordinary after-turn hooks, then the last ones. Hooks may be added while running; the array
 * may move, so it is indexed afresh each time. The ordinary hooks still count as the turn: what
 * they send (the store's commit sends the turn's 200s from its done callbacks) is queued, and the
 * last hooks (the transport's send queue) send it together. */
static void loop_hooks_run(struct loop *loop, bool was_in_turn)
{
	for (size_t i = 0; i < loop->after_len; i++) {
		if (loop->after[i].h && loop->after[i].kind == LOOP_AFTER_ORDINARY)
			loop->after[i].h(loop->after[i].arg);
	}
	loop->in_turn = was_in_turn;
	for (size_t i = 0; i < loop->after_len; i++) {
		if (loop->after[i].h && loop->after[i].kind == LOOP_AFTER_LAST)
			loop->after[i].h(loop->after[i].arg);
	}
}

int loop_run_once(struct loop *loop, int max_wait_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	bool was_in_turn;
	int n;

	if (!loop)
		return EINVAL;
	n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, loop_wait_ms(loop, max_wait_ms));
	if (n < 0) {
		if (errno != EINTR)
			return errno;
		n = 0;
	}
	was_in_turn = loop->in_turn; /* a turn run from inside a handler: restore after it */
	loop->in_turn = true;
	for (int i = 0; i < n; i++)
		loop_fd_dispatch(loop, &evs[i]);
	loop_timers_run(loop);
	loop_hooks_run(loop, was_in_turn);
	/* Background work (the web console) after the turn's messages have been sent, so an HTTP
	 * request that became ready beside a SIP datagram never delays what the datagram caused;
	 * what the background work queues itself goes out with a second pass of the hooks. */
	if (loop->nbackground) {
		loop->in_turn = true;
		for (size_t i = 0; i < loop->after_len; i++) {
			if (loop->after[i].h && loop->after[i].kind == LOOP_AFTER_BACKGROUND)
				loop->after[i].h(loop->after[i].arg);
		}
		loop_hooks_run(loop, was_in_turn);
	}
	if (loop->after_dirty)
		loop_after_compact(loop);
	return 0;
}

bool loop_in_turn(const struct loop *loop)
{
	return loop && loop->in_turn;
}

int loop_run(struct loop *loop)
{
	int err = 0;

	if (!loop)
		return EINVAL;
	loop->stopped = false;
	while (!loop->stopped) {
		err = loop_run_once(loop, -1);
		if (err)
			break;
	}
	return err;
}

void loop_stop(struct loop *loop)
{
	if (loop)
		loop->stopped = true;
}
