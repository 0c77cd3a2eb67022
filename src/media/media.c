/* media: the engine and leg API used by the call engine on the loop thread: lazy start of the
 * relay thread, port pairs, sockets with DSCP, remote addresses, formats, bridges, DTMF injection,
 * statistics, and the event queue drained on the loop thread. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "media_int.h"

#define LOG_MODULE "media"

#define MEDIA_STACK_SIZE (256u * 1024u)

static void events_h(int fd, uint32_t events, void *arg);
static void pool_trim(struct media *m, uint64_t now, bool all);

int media_alloc(struct media **mp, struct loop *loop, const struct media_config *cfg)
{
	struct media *m;

	if (!mp)
		return EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return ENOMEM;
	m->loop = loop;
	if (cfg)
		m->cfg = *cfg;
	else
		media_config_init(&m->cfg);
	m->epfd = m->wakefd = m->eventfd = m->timerfd = -1;
	*mp = m;
	return 0;
}

/* Everything the relay needs, made when the first leg is allocated (an idle daemon keeps its
 * 2 MiB budget). */
static int media_start(struct media *m)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
	sigset_t all, old;
	int err;

	if (m->started)
		return 0;
	err = media_ports_init(&m->ports, m->cfg.rtpstart, m->cfg.rtpend);
	if (err)
		return err;
	m->rxbuf = malloc((size_t)MEDIA_BATCH * MEDIA_PKT_STRIDE);
	m->evq = calloc(MEDIA_EVQ, sizeof(*m->evq));
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	m->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!m->rxbuf || !m->evq || m->epfd < 0 || m->wakefd < 0 || m->eventfd < 0) {
		err = m->rxbuf && m->evq ? errno : ENOMEM;
		goto fail;
	}
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->wakefd, &ev) < 0) {
		err = errno;
		goto fail;
	}
	/* The local endpoints' 20 ms clock: disarmed (costs nothing) while no leg has one. */
	m->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.u64 = UINT64_MAX - 1;
	if (m->timerfd < 0 || epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->timerfd, &ev) < 0) {
		err = errno;
		goto fail;
	}
	if (m->loop) {
		err = loop_fd_listen(m->loop, m->eventfd, LOOP_READ, events_h, m);
		if (err)
			goto fail;
	}
	err = pthread_mutex_init(&m->mu, NULL);
	if (err)
		goto fail_loop;
	media_g711_init();
	/* The relay thread takes no signals: the loop's signalfd gets them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* Its deepest use is one recvmmsg batch (about 9 KiB) plus spandsp's tone code: 256 KiB of
	 * address space instead of the default 8 MiB (only touched pages are ever resident). */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, MEDIA_STACK_SIZE);
	err = pthread_create(&m->thread, &attr, media_relay_main, m);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_mutex_destroy(&m->mu);
		goto fail_loop;
	}
	m->started = true;
	return 0;
fail_loop:
	if (m->loop)
		loop_fd_remove(m->loop, m->eventfd);
fail:
	free(m->rxbuf);
	m->rxbuf = NULL;
	free(m->evq);
	m->evq = NULL;
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->wakefd >= 0)
		close(m->wakefd);
	if (m->eventfd >= 0)
		close(m->eventfd);
	if (m->timerfd >= 0)
		close(m->timerfd);
	m->epfd = m->wakefd = m->eventfd = m->timerfd = -1;
	media_ports_reset(&m->ports);
	return err;
}

void media_free(struct media *m)
{
	if (!m)
		return;
	if (m->started) {
		pthread_mutex_lock(&m->mu);
		m->stopping = true;
		pthread_mutex_unlock(&m->mu);
		media_relay_wake(m);
		pthread_join(m->thread, NULL);
		pthread_mutex_destroy(&m->mu);
		if (m->loop)
			loop_fd_remove(m->loop, m->eventfd);
		close(m->epfd);
		close(m->wakefd);
		close(m->eventfd);
		close(m->timerfd);
		for (uint32_t i = 0; i < m->nslots; i++) {
			if (m->slots[i]) /* a leg the caller forgot: detach it from the engine */
				m->slots[i]->m = NULL;
		}
		loop_timer_cancel(&m->pool_tmr);
		for (uint32_t i = 0; i < m->npairs; i++) {
			struct media_pair *pr = m->pairs[i];
			if (pr && !pr->leg) { /* pooled; a forgotten leg closes its own */
				close(pr->fd[0]);
				close(pr->fd[1]);
				free(pr);
			}
		}
	}
	free(m->pairs);
	free(m->pools);
	free(m->slots);
	free(m->free_slots);
	free(m->rxbuf);
	free(m->evq);
	media_ports_reset(&m->ports);
	free(m);
}

int media_reconfig(struct media *m, const struct media_config *cfg)
{
	if (!m || !cfg)
		return EINVAL;
	if (!m->started) {
		m->cfg = *cfg;
		return 0;
	}
	if (cfg->rtpstart != m->cfg.rtpstart || cfg->rtpend != m->cfg.rtpend)
		pool_trim(m, 0, true); /* pooled pairs hold ports of the old range */
	pthread_mutex_lock(&m->mu);
	if (cfg->rtpstart != m->cfg.rtpstart || cfg->rtpend != m->cfg.rtpend) {
		/* The port map only grows into a new range once every leg of the old one is gone.
		 */
		if (m->ports.used == 0) {
			struct media_ports np;
			if (!media_ports_init(&np, cfg->rtpstart, cfg->rtpend)) {
				media_ports_reset(&m->ports);
				m->ports = np;
			}
		}
	}
	m->cfg = *cfg;
	pthread_mutex_unlock(&m->mu);
	return 0;
}

void media_counters_get(const struct media *m, struct media_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (!m)
		return;
	if (m->started)
		pthread_mutex_lock((pthread_mutex_t *)&m->mu);
	*out = m->cnt;
	out->legs = m->nlegs;
	if (m->started)
		pthread_mutex_unlock((pthread_mutex_t *)&m->mu);
}

/* ---------------------------------------------------------------------------------------------
 * Events: queued by the relay thread, handed to each leg's handler here on the loop thread.
 */
static struct media_leg *slot_leg(struct media *m, uint32_t slot, uint32_t gen)
{
	struct media_leg *leg = slot < m->nslots ? m->slots[slot] : NULL;

	return leg && leg->gen == gen ? leg : NULL;
}

static void events_h(int fd, uint32_t events, void *arg)
{
	struct media *m = arg;
	struct media_ev_item items[16];
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: drained by an earlier turn */
	}
	for (;;) {
		unsigned n = 0;
		pthread_mutex_lock(&m->mu);
		while (n < ARRAY_SIZE(items) && m->evq_count) {
			items[n++] = m->evq[m->evq_head];
			m->evq_head = (m->evq_head + 1) % MEDIA_EVQ;
			m->evq_count--;
		}
		pthread_mutex_unlock(&m->mu);
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++) {
			/* Looked up one by one: a handler may free other legs. */
			struct media_leg *leg = slot_leg(m, items[i].slot, items[i].gen);
			if (leg && leg->eh)
				leg->eh(leg, &items[i].ev, leg->arg);
		}
	}
}

/* ---------------------------------------------------------------------------------------------
 * Legs.
 */
struct bind_ctx {
	const struct sa *local;
	int tos;
	int fd[2];
};

static int open_sock(const struct sa *local, uint16_t port, int tos, int *fdp)
{
	struct sa a = *local;
	int fd = socket(sa_af(local), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return errno;
	if (tos >= 0) {
		int v = tos & 0xff;
		if (sa_af(local) == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v));
		else
			setsockopt(fd, IPPROTO_IP, IP_TOS, &v, sizeof(v));
	}
	sa_set_port(&a, port);
	if (bind(fd, &a.u.sa, a.len) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

static int try_pair(uint16_t port, void *arg)
{
	struct bind_ctx *c = arg;
	int err = open_sock(c->local, port, c->tos, &c->fd[0]);

	if (err)
		return err;
	err = open_sock(c->local, (uint16_t)(port + 1), c->tos, &c->fd[1]);
	if (err) {
		close(c->fd[0]);
		c->fd[0] = -1;
	}
	return err;
}

/* A free slot from the stack of free indices (it was a scan from slot 0: with a few thousand
 * legs alive that walk was the most expensive line of a call's set-up). The lowest indices are
 * handed out first after growing, so the relay's scans stay short on a small system. */
static int slot_take(struct media *m, struct media_leg *leg)
{
	if (!m->nfree) {
		uint32_t n = m->nslots ? m->nslots * 2 : 16;
		struct media_leg **s = realloc(m->slots, n * sizeof(*s));
		uint32_t *f;

		if (!s)
			return ENOMEM;
		m->slots = s;
		f = realloc(m->free_slots, n * sizeof(*f));
		if (!f)
			return ENOMEM;
		m->free_slots = f;
		memset(s + m->nslots, 0, (n - m->nslots) * sizeof(*s));
		for (uint32_t i = n; i > m->nslots; i--)
			m->free_slots[m->nfree++] = i - 1;
		m->nslots = n;
	}
	leg->slot = m->free_slots[--m->nfree];
	m->slots[leg->slot] = leg;
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Socket pairs and their pools (loop thread; the relay thread reads m->pairs under the lock).
 */
static int pool_index(struct media *m, const struct sa *local, int tos, uint32_t *pi)
{
	for (uint32_t i = 0; i < m->npools; i++) {
		if (m->pools[i].tos == tos && sa_eq_addr(&m->pools[i].addr, local)) {
			*pi = i;
			return 0;
		}
	}
	struct media_pool *p = realloc(m->pools, (m->npools + 1) * sizeof(*p));
	if (!p)
		return ENOMEM;
	m->pools = p;
	memset(&p[m->npools], 0, sizeof(p[0]));
	p[m->npools].addr = *local;
	sa_set_port(&p[m->npools].addr, 0);
	p[m->npools].tos = tos;
	*pi = m->npools++;
	return 0;
}

/* Binds a new pair on the next free port of the range and registers it with the relay. */
static int pair_open(struct media *m, uint32_t pi, const struct sa *local, int tos,
		     struct media_pair **pp)
{
	struct bind_ctx bc = {local, tos, {-1, -1}};
	struct media_pair *pr;
	uint32_t idx;
	uint16_t port;
	int err;

	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return ENOMEM;
	/* Port allocation and binding happen on the loop thread only, so the map needs no lock. */
	err = media_ports_alloc(&m->ports, try_pair, &bc, &port);
	if (err) {
		free(pr);
		return err;
	}
	pr->fd[0] = bc.fd[0];
	pr->fd[1] = bc.fd[1];
	pr->port = port;
	pr->pool = pi;
	pthread_mutex_lock(&m->mu);
	for (idx = m->pairs_free; idx < m->npairs && m->pairs[idx]; idx++)
		;
	if (idx == m->npairs) {
		uint32_t n = m->npairs ? m->npairs * 2 : 16;
		struct media_pair **v = realloc(m->pairs, n * sizeof(*v));
		if (!v) {
			err = ENOMEM;
		} else {
			memset(v + m->npairs, 0, (n - m->npairs) * sizeof(*v));
			m->pairs = v;
			m->npairs = n;
		}
	}
	if (!err) {
		pr->idx = idx;
		for (int k = 0; k < 2 && !err; k++) {
			struct epoll_event ev = {.events = EPOLLIN,
						 .data.u64 = (uint64_t)idx << 1 | (uint64_t)k};
			if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, pr->fd[k], &ev) < 0)
				err = errno;
		}
		if (!err) {
			m->pairs[idx] = pr;
			m->pairs_open++;
			m->pairs_free = idx + 1;
		}
	}
	pthread_mutex_unlock(&m->mu);
	if (err) {
		close(pr->fd[0]); /* also leaves the epoll set */
		close(pr->fd[1]);
		media_ports_release(&m->ports, port);
		free(pr);
		return err;
	}
	*pp = pr;
	return 0;
}

static void pair_close(struct media *m, struct media_pair *pr)
{
	pthread_mutex_lock(&m->mu);
	m->pairs[pr->idx] = NULL; /* an event already taken for it finds nothing */
	if (pr->idx < m->pairs_free)
		m->pairs_free = pr->idx;
	m->pairs_open--;
	pthread_mutex_unlock(&m->mu);
	close(pr->fd[0]);
	close(pr->fd[1]);
	media_ports_release(&m->ports, pr->port);
	free(pr);
}

static struct media_pair *pool_pop(struct media *m, struct media_pool *pl)
{
	struct media_pair *pr = pl->head;

	pl->head = pr->next;
	if (!pl->head)
		pl->tail = NULL;
	pr->next = NULL;
	pl->count--;
	m->pooled--;
	return pr;
}

/* Closes the pooled pairs unused for MEDIA_POOL_IDLE_MS (all of them when `all`). */
static void pool_trim(struct media *m, uint64_t now, bool all)
{
	for (uint32_t i = 0; i < m->npools; i++) {
		struct media_pool *pl = &m->pools[i];
		while (pl->head && (all || now - pl->head->freed_ms >= MEDIA_POOL_IDLE_MS))
			pair_close(m, pool_pop(m, pl));
	}
}

/* Out of ports or descriptors: closes the pair that has been pooled longest, any pool. */
static bool pool_evict_oldest(struct media *m)
{
	struct media_pool *best = NULL;

	for (uint32_t i = 0; i < m->npools; i++) {
		struct media_pool *pl = &m->pools[i];
		if (pl->head && (!best || pl->head->freed_ms < best->head->freed_ms))
			best = pl;
	}
	if (!best)
		return false;
	pair_close(m, pool_pop(m, best));
	return true;
}

static void pool_tmr_h(void *arg)
{
	struct media *m = arg;

	pool_trim(m, media_now_ms(), false);
	if (m->pooled)
		loop_timer_start(m->loop, &m->pool_tmr, MEDIA_POOL_IDLE_MS / 2, pool_tmr_h, m);
}

/* A pair for a new leg: a rested one from the pool of (local, tos), else a new one; when ports
 * or descriptors run out, a pair still resting, or the port of the oldest pooled pair. */
static int pair_take(struct media *m, const struct sa *local, int tos, struct media_pair **pp)
{
	uint64_t now = media_now_ms();
	uint32_t pi;
	int err;

	pool_trim(m, now, false);
	err = pool_index(m, local, tos, &pi);
	if (err)
		return err;
	if (m->pools[pi].head && now - m->pools[pi].head->freed_ms >= MEDIA_POOL_REST_MS) {
		*pp = pool_pop(m, &m->pools[pi]);
		return 0;
	}
	for (;;) {
		err = pair_open(m, pi, local, tos, pp);
		if (err != EADDRINUSE && err != EMFILE && err != ENFILE)
			return err;
		if (m->pools[pi].head) {
			*pp = pool_pop(m, &m->pools[pi]);
			return 0;
		}
		if (!pool_evict_oldest(m))
			return err;
	}
}

static void pair_put(struct media *m, struct media_pair *pr)
{
	struct media_pool *pl = &m->pools[pr->pool];

	pr->freed_ms = media_now_ms();
	pr->next = NULL;
	if (pl->tail)
		pl->tail->next = pr;
	else
		pl->head = pr;
	pl->tail = pr;
	pl->count++;
	m->pooled++;
	if (m->loop && !loop_timer_active(&m->pool_tmr))
		loop_timer_start(m->loop, &m->pool_tmr, MEDIA_POOL_IDLE_MS / 2, pool_tmr_h, m);
}

int media_leg_alloc(struct media_leg **legp, struct media *m, const struct sa *local, int tos,
		    media_event_h *eh, void *arg)
{
	struct media_pair *pr;
	struct media_leg *leg;
	int err;

	if (!legp || !m || !local || !sa_isset(local))
		return EINVAL;
	err = media_start(m);
	if (err)
		return err;
	leg = mem_zmalloc(sizeof(*leg));
	if (!leg)
		return ENOMEM;
	err = pair_take(m, local, tos, &pr);
	if (err) {
		if (err == EADDRINUSE)
			m->cnt.ports_exhausted++;
		free(leg);
		return err;
	}
	leg->m = m;
	leg->pair = pr;
	leg->fd[0] = pr->fd[0];
	leg->fd[1] = pr->fd[1];
	leg->port = pr->port;
	leg->local = *local;
	sa_set_port(&leg->local, pr->port);
	leg->tos = tos;
	leg->eh = eh;
	leg->arg = arg;
	leg->fmt.dir = SDP_SENDRECV;
	leg->fmt.te_pt_tx = leg->fmt.te_pt_rx = -1;
	leg->st.codec = SDP_CODEC_NONE;

	pthread_mutex_lock(&m->mu);
	err = slot_take(m, leg);
	if (!err) {
		leg->gen = ++m->gen & 0x7fffffff;
		pr->leg = leg;
		m->nlegs++;
	}
	pthread_mutex_unlock(&m->mu);
	if (err) {
		pair_put(m, pr);
		free(leg);
		return err;
	}
	*legp = leg;
	return 0;
}

/* self: recompute leg too (not when it is being freed: unbridged, it would get a DTMF detector
 * only to free it at once, a spandsp allocation and set-up per call hung up). */
static void unbridge_locked(struct media_leg *leg, bool self)
{
	struct media_leg *p = leg->peer;

	if (!p)
		return;
	p->peer = NULL;
	leg->peer = NULL;
	media_leg_recompute(p);
	if (self)
		media_leg_recompute(leg);
}

void media_leg_free(struct media_leg *leg)
{
	struct media *m;

	if (!leg)
		return;
	m = leg->m;
	media_ep_free(leg); /* finishes its recordings (also when the engine went first) */
	if (m) {
		pthread_mutex_lock(&m->mu);
		unbridge_locked(leg, false);
		leg->pair->leg = NULL;	    /* from now on its packets are dropped */
		m->slots[leg->slot] = NULL; /* pending events now miss it (slot/gen lookup) */
		m->free_slots[m->nfree++] = leg->slot;
		m->nlegs--;
		pthread_mutex_unlock(&m->mu);
		pair_put(m, leg->pair);
	} else { /* the engine went first: the pair is the leg's alone */
		close(leg->fd[0]);
		close(leg->fd[1]);
		free(leg->pair);
	}
	media_dtmf_free(leg);
	media_srtp_free(leg);
	free(leg);
}

uint16_t media_leg_port(const struct media_leg *leg)
{
	return leg ? leg->port : 0;
}

void media_leg_local(const struct media_leg *leg, struct sa *out)
{
	*out = leg->local;
}

static void lock(struct media_leg *leg)
{
	pthread_mutex_lock(&leg->m->mu);
}

static void unlock(struct media_leg *leg)
{
	pthread_mutex_unlock(&leg->m->mu);
}

int media_leg_set_remote(struct media_leg *leg, const struct sa *rtp, const struct sa *rtcp,
			 unsigned flags)
{
	struct sa r, rc;

	if (!leg || !leg->m || !rtp)
		return EINVAL;
	r = *rtp;
	if (rtcp && sa_isset(rtcp)) {
		rc = *rtcp;
	} else {
		rc = r;
		if (sa_port(&r) && sa_port(&r) < 65535)
			sa_set_port(&rc, (uint16_t)(sa_port(&r) + 1));
	}
	lock(leg);
	bool changed = !leg->remote_set || !sa_eq(&leg->sdp_rtp, &r);
	leg->sdp_rtp = r;
	leg->sdp_rtcp = rc;
	leg->rflags = flags;
	if (changed) {
		/* A new address (re-INVITE, a moved phone): learn the source again. */
		media_latch_reset(&leg->latch);
		leg->rtcp_latched = false;
	}
	if (!leg->remote_set || changed) {
		leg->last_rx_ms = media_now_ms();
		leg->timed_out = false;
	}
	leg->remote_set = true;
	unlock(leg);
	return 0;
}

static bool is_g711(uint8_t c)
{
	return c == SDP_CODEC_PCMU || c == SDP_CODEC_PCMA;
}

/* Whether tones are how this leg carries DTMF. */
static bool leg_inband(const struct media_leg *leg)
{
	return leg->fmt.dtmf == MEDIA_DTMF_INBAND ||
	       ((leg->fmt.dtmf == MEDIA_DTMF_AUTO || leg->fmt.dtmf == MEDIA_DTMF_RFC4733) &&
		leg->fmt.te_pt_tx < 0);
}

static bool leg_events(const struct media_leg *leg)
{
	return leg->fmt.te_pt_tx >= 0 && leg->fmt.dtmf != MEDIA_DTMF_INBAND &&
	       leg->fmt.dtmf != MEDIA_DTMF_INFO;
}

/* Maps pt to x unless the PT already has an entry (the numbers we declared win over the peer's). */
static void xl_set(struct media_leg *in, int pt, const struct media_xlate *x, int *idx)
{
	if (pt < 0 || pt > 127 || in->xl_idx[pt])
		return;
	if (*idx < 0) {
		if (in->nxl == ARRAY_SIZE(in->xlv))
			return;
		*idx = in->nxl;
		in->xlv[in->nxl++] = *x;
	}
	in->xl_idx[pt] = (uint8_t)(*idx + 1);
}

/* Called with the lock held, on the loop thread (it may allocate spandsp state). */
void media_leg_recompute(struct media_leg *in)
{
	struct media_leg *out = in->peer;
	const struct media_format *f = &in->fmt;
	bool detect = false;

	memset(in->xl_idx, 0, sizeof(in->xl_idx));
	in->nxl = 0;
	for (unsigned i = 0; i < f->nfmt; i++) {
		struct media_xlate x = {MEDIA_ACT_DROP, 0, f->fmt[i].codec, 0, f->fmt[i].clock};
		int idx = -1;
		if (!x.clock)
			x.clock = 8000;
		if (out) {
			for (unsigned k = 0; k < out->fmt.nfmt; k++) {
				if (out->fmt.fmt[k].codec == x.codec) {
					x.act = MEDIA_ACT_PASS;
					x.out_pt = out->fmt.fmt[k].pt_tx;
					break;
				}
			}
			if (x.act == MEDIA_ACT_DROP && out->fmt.nfmt &&
			    sdp_codec_bridgeable((enum sdp_codec)x.codec,
						 (enum sdp_codec)out->fmt.fmt[0].codec)) {
				x.act = x.codec == SDP_CODEC_PCMU ? MEDIA_ACT_U2A : MEDIA_ACT_A2U;
				x.out_pt = out->fmt.fmt[0].pt_tx;
			}
			if (is_g711(x.codec) && leg_inband(in) && leg_events(out) &&
			    !media_dtmf_alloc_rx(in))
				x.detect = 1;
		} else if (is_g711(x.codec) && leg_inband(in) && in->fmt.dtmf != MEDIA_DTMF_INFO &&
			   !media_dtmf_alloc_rx(in)) {
			/* Unbridged: the dialplan may be waiting for digits (WaitExten needs no
			 * source of its own), so in-band digits are detected here too. */
			x.detect = 1;
		}
		detect |= x.detect;
		xl_set(in, f->fmt[i].pt_rx, &x, &idx);
		/* Peers sometimes send with their own numbers: accept those too. */
		xl_set(in, f->fmt[i].pt_tx, &x, &idx);
	}
	/* The detector a leg got while unbridged (about 440 bytes of spandsp state) goes once it
	 * is bridged to a peer that takes no events: nothing reads it then, and a relayed call
	 * would keep two for its whole length. Kept while a digit is being detected. */
	if (!detect && in->dtmf_rx && !in->det_digit)
		media_dtmf_free_rx(in);
	if (f->te_pt_rx >= 0) {
		struct media_xlate x = {MEDIA_ACT_TE_ABSORB, 0, SDP_CODEC_TE, 0, 8000};
		int idx = -1;
		if (out && leg_events(out)) {
			x.act = MEDIA_ACT_TE_PASS;
			x.out_pt = (uint8_t)out->fmt.te_pt_tx;
		} else if (out && out->fmt.nfmt && is_g711(out->fmt.fmt[0].codec) &&
			   out->fmt.dtmf != MEDIA_DTMF_INFO && !media_dtmf_alloc_tx(out)) {
			x.act = MEDIA_ACT_TE_INBAND;
		}
		xl_set(in, f->te_pt_rx, &x, &idx);
		xl_set(in, f->te_pt_tx, &x, &idx);
	}
}

int media_leg_set_format(struct media_leg *leg, const struct media_format *fmt)
{
	if (!leg || !leg->m || !fmt || fmt->nfmt > SDP_CODEC_COUNT)
		return EINVAL;
	lock(leg);
	leg->fmt = *fmt;
	media_leg_recompute(leg);
	if (leg->peer)
		media_leg_recompute(leg->peer);
	unlock(leg);
	return 0;
}

int media_leg_set_sdp(struct media_leg *leg, const struct sdp_neg *neg, enum media_dtmf dtmf,
		      unsigned remote_flags)
{
	struct media_format f;
	int err;

	if (!leg || !neg || !neg->ok)
		return EINVAL;
	memset(&f, 0, sizeof(f));
	memcpy(f.fmt, neg->fmt, sizeof(f.fmt));
	f.nfmt = neg->nfmt;
	f.te_pt_tx = neg->te_pt_tx;
	f.te_pt_rx = neg->te_pt_rx;
	f.dtmf = dtmf;
	f.dir = neg->dir;
	err = media_leg_set_format(leg, &f);
	if (!err)
		err = media_leg_set_remote(leg, &neg->remote, &neg->remote_rtcp, remote_flags);
	return err;
}

int media_bridge(struct media_leg *a, struct media_leg *b)
{
	if (!a || !b || a == b || !a->m || a->m != b->m)
		return EINVAL;
	lock(a);
	if (a->peer != b) {
		unbridge_locked(a, true);
		unbridge_locked(b, true);
		a->peer = b;
		b->peer = a;
	}
	media_leg_recompute(a);
	media_leg_recompute(b);
	unlock(a);
	return 0;
}

void media_unbridge(struct media_leg *leg)
{
	if (!leg || !leg->m)
		return;
	lock(leg);
	unbridge_locked(leg, true);
	unlock(leg);
}

int media_leg_send_dtmf(struct media_leg *leg, char digit, uint32_t duration_ms)
{
	int err = 0;

	if (!leg || !leg->m || media_dtmf_code(digit) < 0)
		return EINVAL;
	if (duration_ms == 0)
		duration_ms = 100;
	duration_ms = duration_ms < 40 ? 40 : duration_ms > 5000 ? 5000 : duration_ms;
	if (digit >= 'a' && digit <= 'd')
		digit = (char)(digit - 'a' + 'A');
	lock(leg);
	if (leg->fmt.dtmf == MEDIA_DTMF_INFO) {
		err = ENOTSUP;
	} else if (leg->dout.active) {
		err = EBUSY;
	} else if (leg_events(leg)) {
		media_dtmf_start(leg, digit, false, duration_ms * 8, true, media_now_ms());
	} else if (leg->fmt.nfmt && is_g711(leg->fmt.fmt[0].codec)) {
		err = media_dtmf_alloc_tx(leg);
		if (!err)
			media_dtmf_start(leg, digit, true, duration_ms * 8, true, media_now_ms());
	} else {
		err = ENOTSUP;
	}
	if (!err)
		leg->m->dtmf_scan = true;
	unlock(leg);
	if (!err)
		media_relay_wake(leg->m);
	return err;
}

int media_leg_stats(const struct media_leg *leg, struct media_stats *out)
{
	if (!leg || !out || !leg->m)
		return EINVAL;
	lock((struct media_leg *)leg);
	*out = leg->st;
	out->rx_expected = media_rxstat_expected(&leg->rs);
	out->rx_lost = media_rxstat_lost(&leg->rs);
	out->rx_jitter_ms =
	    leg->last_clock ? (double)media_rxstat_jitter(&leg->rs) * 1000.0 / leg->last_clock : 0;
	out->latched = leg->latch.latched;
	if ((leg->rflags & MEDIA_REMOTE_COMEDIA) && leg->latch.latched)
		out->remote = leg->latch.src;
	else
		out->remote = leg->sdp_rtp;
	unlock((struct media_leg *)leg);
	return 0;
}

int media_stats_format(const struct media_stats *st, struct mbuf *out)
{
	char addr[SA_STRLEN] = "-";
	double pct = st->rx_expected ? 100.0 * (double)st->rx_lost / st->rx_expected : 0;

	if (sa_isset(&st->remote))
		sa_fmt(&st->remote, addr, sizeof(addr));
	return mbuf_printf(out,
			   "%s %s rx %llu pkts lost %d (%.1f%%) jitter %.1fms, tx %llu pkts, "
			   "rtcp rx %llu tx %llu, peer lost %d jitter %.1fms, dtmf rx %u tx %u",
			   addr, st->codec == SDP_CODEC_NONE ? "-" : sdp_codec_name(st->codec),
			   (unsigned long long)st->rx_packets, st->rx_lost, pct, st->rx_jitter_ms,
			   (unsigned long long)st->tx_packets, (unsigned long long)st->rtcp_rx,
			   (unsigned long long)st->rtcp_tx, st->rr_cumulative_lost,
			   st->rr_jitter_ms, st->dtmf_rx, st->dtmf_tx);
}
