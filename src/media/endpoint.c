/* endpoint: mikaka as the far end of a leg: sources (sound players, spandsp tones, echo, the
 * conference mixer) paced by the relay's 20 ms timerfd, the recorder and the mixing monitor. State is made on the loop
 * thread when an endpoint starts; the relay thread only reads and writes it under the lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <spandsp.h>

#include "media_int.h"

#define LOG_MODULE "media"

int16_t media_ulaw2lin(uint8_t u)
{
	return ulaw_to_linear(u);
}

int16_t media_alaw2lin(uint8_t a)
{
	return alaw_to_linear(a);
}

uint8_t media_lin2ulaw(int16_t s)
{
	return linear_to_ulaw(s);
}

uint8_t media_lin2alaw(int16_t s)
{
	return linear_to_alaw(s);
}

static void lock(struct media_leg *leg)
{
	pthread_mutex_lock(&leg->m->mu);
}

static void unlock(struct media_leg *leg)
{
	pthread_mutex_unlock(&leg->m->mu);
}

static void timer_arm(struct media *m, bool on)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (on) {
		its.it_interval.tv_nsec = MEDIA_TICK_MS * 1000000L;
		its.it_value.tv_nsec = MEDIA_TICK_MS * 1000000L;
	}
	if (m->timerfd >= 0 && timerfd_settime(m->timerfd, 0, &its, NULL) < 0)
		log_warn("timerfd_settime: %s", strerror(errno));
}

/* The leg's endpoint state, made on first use (loop thread, before the lock is taken). */
static int ep_get(struct media_leg *leg, struct media_ep **epp)
{
	struct media *m = leg->m;

	if (!m)
		return EINVAL;
	if (!leg->ep) {
		struct media_ep *ep = calloc(1, sizeof(*ep));

		if (!ep)
			return ENOMEM;
		lock(leg);
		leg->ep = ep;
		/* An unbridged in-band leg needs its detector now. */
		media_leg_recompute(leg);
		unlock(leg);
		if (m->neps++ == 0)
			timer_arm(m, true);
	}
	*epp = leg->ep;
	return 0;
}

static bool codec_ok(const struct media_leg *leg)
{
	return leg->fmt.nfmt &&
	       (leg->fmt.fmt[0].codec == SDP_CODEC_PCMU || leg->fmt.fmt[0].codec == SDP_CODEC_PCMA);
}

/* Loop thread, lock not held: what the previous source owned. */
struct src_old {
	struct media_sound *sounds[MEDIA_PLAY_MAX];
	size_t nsounds;
	struct media_tone_part parts[MEDIA_TONE_PARTS];
	size_t nparts;
	void *tg;
};

/* Under the lock: the member leaves its room; the room goes with its last member. */
static void conf_leave(struct media_ep *ep)
{
	struct media_conf *cf = ep->conf;

	if (!cf)
		return;
	for (size_t i = 0; i < cf->n; i++) {
		if (cf->member[i] == ep) {
			cf->member[i] = cf->member[--cf->n];
			break;
		}
	}
	ep->conf = NULL;
	if (!cf->n) {
		for (struct media_conf **pp = &cf->m->confs; *pp; pp = &(*pp)->next) {
			if (*pp == cf) {
				*pp = cf->next;
				break;
			}
		}
		free(cf);
	}
}

/* Under the lock: detaches the source; its resources go to old (released after unlock). */
static void src_take(struct media_ep *ep, struct src_old *old)
{
	conf_leave(ep);
	memcpy(old->sounds, ep->sounds, sizeof(old->sounds));
	old->nsounds = ep->nsounds;
	memcpy(old->parts, ep->parts, sizeof(old->parts));
	old->nparts = ep->nparts;
	old->tg = ep->tg;
	memset(ep->sounds, 0, sizeof(ep->sounds));
	memset(ep->parts, 0, sizeof(ep->parts));
	ep->nsounds = ep->nparts = ep->cur = ep->pos = ep->part = 0;
	ep->part_done = 0;
	ep->tg = NULL;
	ep->src = MEDIA_SRC_NONE;
	ep->src_started = false;
	ep->played = 0;
	ep->loop = false;
}

static void src_release(struct src_old *old)
{
	for (size_t i = 0; i < old->nsounds; i++)
		mem_deref(old->sounds[i]);
	for (size_t i = 0; i < old->nparts; i++)
		tone_gen_descriptor_free(old->parts[i].desc);
	if (old->tg)
		tone_gen_free(old->tg);
}

int media_leg_play(struct media_leg *leg, struct media_sound *const *sounds, size_t n, bool loop)
{
	struct media_ep *ep;
	struct src_old old;
	int err;

	if (!leg || (n && !sounds) || n > MEDIA_PLAY_MAX)
		return EINVAL;
	if (!codec_ok(leg))
		return ENOTSUP;
	err = ep_get(leg, &ep);
	if (err)
		return err;
	lock(leg);
	src_take(ep, &old);
	for (size_t i = 0; i < n; i++)
		ep->sounds[i] = mem_ref(sounds[i]);
	ep->nsounds = n;
	ep->loop = loop;
	ep->src = MEDIA_SRC_PLAY;
	unlock(leg);
	src_release(&old);
	return 0;
}

/* "f1[+f2][/ms]" with an optional leading '!'. */
static int tone_part_parse(const char *s, size_t len, struct media_tone_part *p, bool single)
{
	char buf[64], *end;
	unsigned long f1, f2 = 0, ms = 0;
	int level;

	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (!len || len >= sizeof(buf))
		return EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	s = buf;
	p->once = *s == '!';
	if (p->once)
		s++;
	f1 = strtoul(s, &end, 10);
	if (end == s || f1 > 4000)
		return EINVAL;
	if (*end == '+' || *end == '*') {
		s = end + 1;
		f2 = strtoul(s, &end, 10);
		if (end == s || f2 > 4000)
			return EINVAL;
	}
	if (*end == '/') {
		s = end + 1;
		ms = strtoul(s, &end, 10);
		if (end == s || ms > 3600000)
			return EINVAL;
	}
	if (*end)
		return EINVAL;
	/* Milliwatt: one 1004 Hz tone at 0 dBm0; other tones at Asterisk's usual level. */
	level = single && f1 == 1004 && !f2 ? 0 : -10;
	p->desc = tone_gen_descriptor_init(NULL, (int)f1, level, (int)f2, f2 ? level : 0,
					   ms ? (int)ms : 1000, 0, 0, 0, 1);
	if (!p->desc)
		return ENOMEM;
	p->samples = (uint32_t)ms * (MEDIA_RATE / 1000);
	return 0;
}

int media_leg_tone(struct media_leg *leg, const char *spec)
{
	struct media_tone_part parts[MEDIA_TONE_PARTS];
	size_t np = 0;
	struct media_ep *ep;
	struct src_old old;
	const char *s = spec;
	void *tg;
	int err = 0;

	if (!leg || !spec || !*spec)
		return EINVAL;
	if (!codec_ok(leg))
		return ENOTSUP;
	memset(parts, 0, sizeof(parts));
	bool single = !strchr(spec, ',');
	for (;;) {
		const char *c = strchr(s, ',');
		size_t len = c ? (size_t)(c - s) : strlen(s);

		if (np == MEDIA_TONE_PARTS) {
			err = EINVAL;
			break;
		}
		err = tone_part_parse(s, len, &parts[np], single);
		if (err)
			break;
		np++;
		if (!c)
			break;
		s = c + 1;
	}
	tg = err ? NULL : tone_gen_init(NULL, parts[0].desc);
	if (!err && !tg)
		err = ENOMEM;
	if (!err)
		err = ep_get(leg, &ep);
	if (err) {
		for (size_t i = 0; i < np; i++)
			tone_gen_descriptor_free(parts[i].desc);
		if (tg)
			tone_gen_free(tg);
		return err;
	}
	lock(leg);
	src_take(ep, &old);
	memcpy(ep->parts, parts, sizeof(parts));
	ep->nparts = np;
	ep->tg = tg;
	ep->src = MEDIA_SRC_TONE;
	unlock(leg);
	src_release(&old);
	return 0;
}

int media_leg_echo(struct media_leg *leg)
{
	struct media_ep *ep;
	struct src_old old;
	int err;

	if (!leg)
		return EINVAL;
	err = ep_get(leg, &ep);
	if (err)
		return err;
	lock(leg);
	src_take(ep, &old);
	ep->src = MEDIA_SRC_ECHO;
	unlock(leg);
	src_release(&old);
	return 0;
}

int media_leg_conf(struct media_leg *leg, const char *name)
{
	struct media_conf *cf, *fresh;
	struct media_ep *ep;
	struct src_old old;
	int err;

	if (!leg || !name || !*name || strlen(name) >= sizeof(cf->name))
		return EINVAL;
	err = ep_get(leg, &ep);
	if (err)
		return err;
	fresh = calloc(1, sizeof(*fresh)); /* made outside the lock; freed when not needed */
	if (!fresh)
		return ENOMEM;
	lock(leg);
	src_take(ep, &old);
	for (cf = leg->m->confs; cf && strcmp(cf->name, name); cf = cf->next)
		;
	if (!cf) {
		cf = fresh;
		fresh = NULL;
		cf->m = leg->m;
		strcpy(cf->name, name);
		cf->next = leg->m->confs;
		leg->m->confs = cf;
	}
	if (cf->n == MEDIA_CONF_MAX) {
		err = EBUSY;
	} else {
		cf->member[cf->n++] = ep;
		ep->conf = cf;
		ep->conf_age = UINT8_MAX; /* nothing heard from it yet */
		ep->src = MEDIA_SRC_CONF;
	}
	unlock(leg);
	free(fresh);
	src_release(&old);
	return err;
}

void media_leg_stop(struct media_leg *leg)
{
	struct src_old old;

	if (!leg || !leg->m || !leg->ep)
		return;
	lock(leg);
	src_take(leg->ep, &old);
	unlock(leg);
	src_release(&old);
}

int media_leg_ep_state(const struct media_leg *leg, struct media_ep_state *out)
{
	if (!leg || !out || !leg->m)
		return EINVAL;
	memset(out, 0, sizeof(*out));
	lock((struct media_leg *)leg);
	out->bridged = leg->peer != NULL;
	if (leg->ep) {
		const struct media_ep *ep = leg->ep;

		out->src = ep->src;
		out->loop = ep->loop;
		out->played_ms = (uint32_t)(ep->played / (MEDIA_RATE / 1000));
		out->recording = ep->rec != NULL;
		out->monitoring = ep->mon != NULL;
		if (ep->rec)
			out->recorded_ms = ep->rec->samples / (MEDIA_RATE / 1000);
	}
	unlock((struct media_leg *)leg);
	return 0;
}

/* ---- recorder ------------------------------------------------------------------------------ */

static void rec_free(struct media_rec *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r->path);
	free(r->tmp);
	free(r);
}

/* Opens path.tmp (taking over an existing recording of ours when appending). */
static int rec_open(struct media_rec **rp, const char *path, bool append)
{
	struct media_rec *r = calloc(1, sizeof(*r));
	uint8_t hdr[44];
	int err;

	if (!r)
		return ENOMEM;
	r->fd = -1;
	r->path = strdup(path);
	r->tmp = malloc(strlen(path) + 5);
	r->buf = malloc(MEDIA_REC_BUF * sizeof(int16_t));
	if (!r->path || !r->tmp || !r->buf) {
		rec_free(r);
		return ENOMEM;
	}
	sprintf(r->tmp, "%s.tmp", path);
	if (append) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;

		if (fd >= 0 && read(fd, hdr, 44) == 44 && !memcmp(hdr, "RIFF", 4) &&
		    !memcmp(hdr + 8, "WAVEfmt ", 8) && hdr[20] == 1 && hdr[22] == 1 &&
		    hdr[34] == 16 && !memcmp(hdr + 36, "data", 4) && !fstat(fd, &st) &&
		    st.st_size >= 44 && rename(path, r->tmp) == 0) {
			close(fd);
			r->fd = open(r->tmp, O_RDWR | O_CLOEXEC);
			if (r->fd >= 0) {
				r->samples = (uint32_t)((st.st_size - 44) / 2);
				if (lseek(r->fd, 44 + (off_t)r->samples * 2, SEEK_SET) < 0) {
					err = errno;
					rec_free(r);
					return err;
				}
				*rp = r;
				return 0;
			}
		} else if (fd >= 0) {
			close(fd);
		}
	}
	r->fd = open(r->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (r->fd < 0) {
		err = errno;
		rec_free(r);
		return err;
	}
	media_wav_header(hdr, 0);
	if (write(r->fd, hdr, 44) != 44) {
		err = errno ? errno : EIO;
		unlink(r->tmp);
		rec_free(r);
		return err;
	}
	*rp = r;
	return 0;
}

/* Relay or loop thread (under the lock or after detaching): writes the batch. */
static void rec_flush(struct media_rec *r)
{
	size_t bytes = (size_t)r->nbuf * 2, done = 0;
	uint8_t *p = (uint8_t *)r->buf;

	if (r->err || !r->nbuf)
		return;
	/* The file is little-endian; so are the machines this runs on (checked at build). */
	while (done < bytes) {
		ssize_t w = write(r->fd, p + done, bytes - done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			r->err = errno;
			return;
		}
		done += (size_t)w;
	}
	r->nbuf = 0;
}

/* Appends samples; true when a write error just happened. */
static bool rec_put(struct media_rec *r, const int16_t *s, size_t n)
{
	if (r->err)
		return false;
	while (n) {
		size_t k = MIN(n, (size_t)(MEDIA_REC_BUF - r->nbuf));

		memcpy(r->buf + r->nbuf, s, k * sizeof(*s));
		r->nbuf += (uint32_t)k;
		r->samples += (uint32_t)k;
		s += k;
		n -= k;
		if (r->nbuf == MEDIA_REC_BUF) {
			rec_flush(r);
			if (r->err)
				return true;
		}
	}
	return false;
}

/* Finishes the file: trim, header, rename. Frees r. */
static int rec_finish(struct media_rec *r, uint32_t trim, struct media_rec_result *res)
{
	uint8_t hdr[44];
	int err;

	if (trim >= r->samples)
		trim = r->samples;
	if (trim <= r->nbuf) {
		r->nbuf -= trim;
		r->samples -= trim;
		rec_flush(r);
	} else {
		rec_flush(r);
		r->samples -= trim;
		if (!r->err && ftruncate(r->fd, 44 + (off_t)r->samples * 2) < 0)
			r->err = errno;
	}
	media_wav_header(hdr, r->samples);
	if (!r->err && pwrite(r->fd, hdr, 44, 0) != 44)
		r->err = errno ? errno : EIO;
	/* Closed whatever happened: an unlinked file kept open would hold its disk space. */
	if (close(r->fd) < 0 && !r->err)
		r->err = errno;
	r->fd = -1;
	if (!r->err && rename(r->tmp, r->path) < 0)
		r->err = errno;
	err = r->err;
	if (err)
		unlink(r->tmp);
	if (res) {
		res->samples = r->samples;
		res->heard = r->heard;
	}
	rec_free(r);
	return err;
}

int media_leg_record(struct media_leg *leg, const char *path, const struct media_rec_opts *o)
{
	struct media_rec *r;
	struct media_ep *ep;
	int err;

	if (!leg || !path || !*path)
		return EINVAL;
	err = ep_get(leg, &ep);
	if (err)
		return err;
	if (ep->rec)
		return EBUSY;
	err = rec_open(&r, path, o && o->append);
	if (err)
		return err;
	r->silence_ms = o ? o->silence_ms : 0;
	r->threshold = o && o->threshold ? o->threshold : MEDIA_SILENCE_THRESHOLD;
	lock(leg);
	ep->rec = r;
	unlock(leg);
	return 0;
}

int media_leg_record_stop(struct media_leg *leg, uint32_t trim_ms, struct media_rec_result *res)
{
	struct media_rec *r;

	if (!leg || !leg->m || !leg->ep || !leg->ep->rec)
		return ENOENT;
	lock(leg);
	r = leg->ep->rec;
	leg->ep->rec = NULL;
	unlock(leg);
	return rec_finish(r, trim_ms * (MEDIA_RATE / 1000), res);
}

int media_leg_monitor(struct media_leg *leg, const char *path)
{
	struct media_mon *mon;
	struct media_rec *r;
	struct media_ep *ep;
	int err;

	if (!leg || !path || !*path)
		return EINVAL;
	err = ep_get(leg, &ep);
	if (err)
		return err;
	if (ep->mon)
		return EBUSY;
	mon = calloc(1, sizeof(*mon));
	if (!mon)
		return ENOMEM;
	err = rec_open(&r, path, false);
	if (err) {
		free(mon);
		return err;
	}
	mon->rec = *r;
	free(r); /* its buffers now belong to mon->rec */
	mon->pos[0] = mon->pos[1] = MEDIA_MON_LAG;
	lock(leg);
	ep->mon = mon;
	unlock(leg);
	return 0;
}

int media_leg_monitor_stop(struct media_leg *leg)
{
	struct media_mon *mon;
	struct media_rec *r;

	if (!leg || !leg->m || !leg->ep || !leg->ep->mon)
		return ENOENT;
	lock(leg);
	mon = leg->ep->mon;
	leg->ep->mon = NULL;
	unlock(leg);
	r = malloc(sizeof(*r));
	if (!r) {
		close(mon->rec.fd);
		unlink(mon->rec.tmp);
		free(mon->rec.buf);
		free(mon->rec.path);
		free(mon->rec.tmp);
		free(mon);
		return ENOMEM;
	}
	*r = mon->rec;
	free(mon);
	return rec_finish(r, 0, NULL);
}

void media_ep_free(struct media_leg *leg)
{
	struct media_ep *ep = leg->ep;
	struct media_rec *rec;
	struct media_mon *mon;
	struct src_old old;

	if (!ep)
		return;
	/* Detached under the lock (when the engine is still there), finished outside it. */
	if (leg->m)
		lock(leg);
	rec = ep->rec;
	mon = ep->mon;
	ep->rec = NULL;
	ep->mon = NULL;
	src_take(ep, &old);
	leg->ep = NULL;
	if (leg->m)
		unlock(leg);
	if (rec)
		rec_finish(rec, 0, NULL);
	if (mon) {
		struct media_rec *r = malloc(sizeof(*r));

		if (r) {
			*r = mon->rec;
			rec_finish(r, 0, NULL);
		} else {
			close(mon->rec.fd);
			unlink(mon->rec.tmp);
			free(mon->rec.buf);
			free(mon->rec.path);
			free(mon->rec.tmp);
		}
		free(mon);
	}
	src_release(&old);
	free(ep);
	if (leg->m && --leg->m->neps == 0)
		timer_arm(leg->m, false);
}

/* ---- relay thread ------------------------------------------------------------------------- */

static void decode_g711(int16_t *out, const uint8_t *pl, size_t n, enum sdp_codec codec)
{
	if (codec == SDP_CODEC_PCMA)
		for (size_t i = 0; i < n; i++)
			out[i] = alaw_to_linear(pl[i]);
	else
		for (size_t i = 0; i < n; i++)
			out[i] = ulaw_to_linear(pl[i]);
}

static void mon_put(struct media_mon *mon, int dir, const int16_t *s, size_t n)
{
	uint64_t p = mon->pos[dir];

	/* Behind the output (a pause in this direction): start again just ahead of it. */
	if (p < mon->out_pos)
		p = mon->out_pos + MEDIA_MON_LAG;
	/* Too far ahead (the sender's clock runs fast): drop. */
	if (p + n > mon->out_pos + MEDIA_MON_RING)
		return;
	for (size_t i = 0; i < n; i++)
		mon->ring[(p + i) % MEDIA_MON_RING] += s[i];
	mon->pos[dir] = p + n;
}

static void mon_tick(struct media *m, struct media_leg *leg, struct media_mon *mon)
{
	int16_t fr[MEDIA_FRAME];

	for (size_t i = 0; i < MEDIA_FRAME; i++) {
		int32_t *v = &mon->ring[(mon->out_pos + i) % MEDIA_MON_RING];

		fr[i] = (int16_t)(*v > 32767 ? 32767 : *v < -32768 ? -32768 : *v);
		*v = 0;
	}
	mon->out_pos += MEDIA_FRAME;
	if (rec_put(&mon->rec, fr, MEDIA_FRAME)) {
		struct media_event ev = {.type = MEDIA_EV_REC_ERROR};
		media_ev_push(m, leg, &ev);
	}
}

void media_ep_tx(struct media_leg *leg, const uint8_t *pl, size_t len, enum sdp_codec codec)
{
	int16_t s[256];

	if (!leg->ep || !leg->ep->mon || len > ARRAY_SIZE(s))
		return;
	decode_g711(s, pl, len, codec);
	mon_put(leg->ep->mon, 1, s, len);
}

void media_ep_rx(struct media *m, struct media_leg *leg, const uint8_t *pl, size_t len,
		 enum sdp_codec codec)
{
	struct media_ep *ep = leg->ep;
	int16_t s[256];

	if (!ep || len > ARRAY_SIZE(s) || (codec != SDP_CODEC_PCMU && codec != SDP_CODEC_PCMA))
		return;
	if (ep->src == MEDIA_SRC_CONF) {
		/* The member's latest 20 ms, for the others' mix (longer packets: the first 20 ms). */
		size_t n = MIN(len, (size_t)MEDIA_FRAME);

		decode_g711(ep->conf_in, pl, n, codec);
		memset(ep->conf_in + n, 0, (MEDIA_FRAME - n) * sizeof(*ep->conf_in));
		ep->conf_age = 0;
	}
	if (ep->src == MEDIA_SRC_ECHO && codec_ok(leg)) {
		uint8_t out[256];
		enum sdp_codec oc = (enum sdp_codec)leg->fmt.fmt[0].codec;
		const uint8_t *q = pl;

		if (oc != codec) {
			const uint8_t *tab = codec == SDP_CODEC_PCMU ? media_u2a : media_a2u;
			for (size_t i = 0; i < len; i++)
				out[i] = tab[pl[i]];
			q = out;
		}
		ep->echo_ts = ep->src_started ? ep->echo_ts + (uint32_t)len : leg->out.last_ts + 160;
		media_send_generated(m, leg, leg->fmt.fmt[0].pt_tx, !ep->src_started, ep->echo_ts, q,
				     len);
		ep->src_started = true;
		ep->played += len;
		if (ep->mon) {
			int16_t e[256];
			decode_g711(e, q, len, oc);
			mon_put(ep->mon, 1, e, len);
		}
	}
	if (!ep->rec && !ep->mon)
		return;
	decode_g711(s, pl, len, codec);
	if (ep->mon)
		mon_put(ep->mon, 0, s, len);
	if (ep->rec) {
		struct media_rec *r = ep->rec;
		uint64_t sum = 0;

		if (rec_put(r, s, len)) {
			struct media_event ev = {.type = MEDIA_EV_REC_ERROR};
			media_ev_push(m, leg, &ev);
		}
		for (size_t i = 0; i < len; i++)
			sum += (uint64_t)(s[i] < 0 ? -(int32_t)s[i] : s[i]);
		if (sum / len < r->threshold) {
			r->silent_ms += (uint32_t)(len / (MEDIA_RATE / 1000));
		} else {
			r->heard = true;
			r->silent_ms = 0;
		}
		if (r->silence_ms && !r->silence_sent && r->silent_ms >= r->silence_ms) {
			struct media_event ev = {.type = MEDIA_EV_SILENCE};
			r->silence_sent = true;
			media_ev_push(m, leg, &ev);
		}
	}
}

/* What a conference member hears: the others who sent within the last 3 ticks, summed and
 * clipped (a late packet is heard twice rather than leaving a gap). */
static void conf_frame(const struct media_ep *ep, int16_t *fr)
{
	int32_t acc[MEDIA_FRAME] = {0};
	const struct media_conf *cf = ep->conf;

	for (size_t k = 0; cf && k < cf->n; k++) {
		const struct media_ep *o = cf->member[k];

		if (o == ep || o->conf_age >= 3)
			continue;
		for (size_t i = 0; i < MEDIA_FRAME; i++)
			acc[i] += o->conf_in[i];
	}
	for (size_t i = 0; i < MEDIA_FRAME; i++)
		fr[i] = (int16_t)(acc[i] > 32767 ? 32767 : acc[i] < -32768 ? -32768 : acc[i]);
}

/* The next frame of a player; false when it has ended. */
static bool play_frame(struct media_ep *ep, int16_t *fr)
{
	size_t have = 0;

	while (have < MEDIA_FRAME) {
		if (ep->cur >= ep->nsounds) {
			if (!ep->loop || !ep->nsounds) {
				if (!ep->nsounds) { /* silence until stopped */
					memset(fr, 0, MEDIA_FRAME * sizeof(*fr));
					return true;
				}
				if (!have)
					return false;
				memset(fr + have, 0, (MEDIA_FRAME - have) * sizeof(*fr));
				return true;
			}
			ep->cur = 0;
		}
		const struct media_sound *s = ep->sounds[ep->cur];
		size_t n = media_sound_len(s);
		if (ep->pos >= n) {
			ep->cur++;
			ep->pos = 0;
			/* A looping list of empty sounds must not spin. */
			if (ep->loop && ep->cur >= ep->nsounds && !have) {
				size_t total = 0;
				for (size_t i = 0; i < ep->nsounds; i++)
					total += media_sound_len(ep->sounds[i]);
				if (!total) {
					memset(fr, 0, MEDIA_FRAME * sizeof(*fr));
					return true;
				}
			}
			continue;
		}
		size_t k = MIN(n - ep->pos, (size_t)MEDIA_FRAME - have);
		memcpy(fr + have, media_sound_samples(s) + ep->pos, k * sizeof(*fr));
		ep->pos += k;
		have += k;
	}
	return true;
}

/* The next frame of a tone list; false when a list of "!" parts has ended. */
static bool tone_frame(struct media_ep *ep, int16_t *fr)
{
	size_t have = 0;

	while (have < MEDIA_FRAME) {
		struct media_tone_part *p = &ep->parts[ep->part];
		size_t k = MEDIA_FRAME - have;

		if (p->samples && p->samples - ep->part_done < k)
			k = p->samples - ep->part_done;
		if (k) {
			int got = tone_gen(ep->tg, fr + have, (int)k);
			if (got < (int)k)
				memset(fr + have + got, 0, (k - (size_t)got) * sizeof(*fr));
			have += k;
			ep->part_done += (uint32_t)k;
		}
		if (p->samples && ep->part_done >= p->samples) {
			size_t next = ep->part + 1;

			/* After the last part: back to the first that repeats. */
			if (next >= ep->nparts) {
				next = ep->nparts;
				for (size_t i = 0; i < ep->nparts; i++) {
					if (!ep->parts[i].once) {
						next = i;
						break;
					}
				}
				if (next == ep->nparts) {
					if (have < MEDIA_FRAME)
						memset(fr + have, 0,
						       (MEDIA_FRAME - have) * sizeof(*fr));
					return have > 0;
				}
			}
			ep->part = next;
			ep->part_done = 0;
			tone_gen_init(ep->tg, ep->parts[next].desc);
		}
	}
	return true;
}

void media_ep_tick(struct media *m, struct media_leg *leg)
{
	struct media_ep *ep = leg->ep;
	int16_t fr[MEDIA_FRAME];
	uint8_t pl[MEDIA_FRAME];
	bool more = true;

	if (ep->mon)
		mon_tick(m, leg, ep->mon);
	if (ep->src != MEDIA_SRC_PLAY && ep->src != MEDIA_SRC_TONE && ep->src != MEDIA_SRC_CONF)
		return;
	if (!codec_ok(leg))
		return;
	if (ep->src == MEDIA_SRC_CONF) {
		conf_frame(ep, fr);
		if (ep->conf_age < UINT8_MAX)
			ep->conf_age++;
	} else {
		more = ep->src == MEDIA_SRC_PLAY ? play_frame(ep, fr) : tone_frame(ep, fr);
	}
	if (!more) {
		struct media_event ev = {.type = MEDIA_EV_PLAY_DONE};

		/* The sounds stay referenced until the loop thread replaces or stops the source. */
		ep->src = MEDIA_SRC_NONE;
		media_ev_push(m, leg, &ev);
		return;
	}
	enum sdp_codec oc = (enum sdp_codec)leg->fmt.fmt[0].codec;
	if (oc == SDP_CODEC_PCMA)
		for (size_t i = 0; i < MEDIA_FRAME; i++)
			pl[i] = linear_to_alaw(fr[i]);
	else
		for (size_t i = 0; i < MEDIA_FRAME; i++)
			pl[i] = linear_to_ulaw(fr[i]);
	if (leg->dout.active)
		return; /* a digit being sent replaces the audio */
	media_send_generated(m, leg, leg->fmt.fmt[0].pt_tx, !ep->src_started,
			     leg->out.last_ts + MEDIA_FRAME, pl, MEDIA_FRAME);
	ep->src_started = true;
	ep->played += MEDIA_FRAME;
	if (ep->mon)
		mon_put(ep->mon, 1, fr, MEDIA_FRAME);
}
