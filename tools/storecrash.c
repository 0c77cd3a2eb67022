/* storecrash: crash-safety test tool for the store (tests/e2e/store-crash.sh).
 *   storecrash write DB FIRST_ID [SECONDS [KILL_AFTER]]: writes registrations (and a call record
 *     every tenth, a deletion now and then) through the loop's per-turn batch until killed or
 *     SECONDS pass (default 30), printing "reg ID", "cdr ID", "del ID" on stdout from each
 *     write's done callback, i.e. only once the write is committed. With KILL_AFTER it sends
 *     itself SIGKILL right after printing that many lines: the worst moment, the instant a
 *     write was reported committed. "try ID" precedes the queuing of a deletion.
 *   storecrash check DB LOG...: opens DB and verifies that every "reg" and "cdr" line of the logs
 *     is in it and every "del" is not; exits 0 when nothing committed was lost. */
#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "loop.h"
#include "store.h"

#define LOG_MODULE "storecrash"
#define RING	   1024

static int64_t ring[RING]; /* committed registrations that may be deleted later */
static size_t ring_n;
static long kill_after = -1; /* lines left before SIGKILL; negative: never */

static void out(const char *kind, int64_t id)
{
	char line[48];
	int n = snprintf(line, sizeof(line), "%s %" PRId64 "\n", kind, id);

	/* Straight to the file, unbuffered: a kill -9 right after must not lose the line. */
	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		exit(3);
	if (kind[0] != 't' && kill_after >= 0 && --kill_after < 0)
		kill(getpid(), SIGKILL);
}

static void reg_done(int err, void *arg)
{
	int64_t id = (int64_t)(intptr_t)arg;

	if (err)
		return;
	out("reg", id);
	if (ring_n < RING)
		ring[ring_n++] = id;
	else
		ring[(size_t)id % RING] = id;
}

static void cdr_done(int err, void *arg)
{
	if (!err)
		out("cdr", (int64_t)(intptr_t)arg);
}

static void del_done(int err, void *arg)
{
	if (!err)
		out("del", (int64_t)(intptr_t)arg);
}

static int put(struct store *st, int64_t id)
{
	char peer[32], contact[64], uid[32];
	struct store_reg r = {
	    .transport = PL("udp"),
	    .user_agent = PL("storecrash/1"),
	    .call_id = PL("crash-test-call-id@127.0.0.1"),
	    .cseq = (uint32_t)id,
	    .expires = (int64_t)time(NULL) + 86400,
	    .registered_at = (int64_t)time(NULL),
	};
	int err;

	snprintf(peer, sizeof(peer), "c%" PRId64, id);
	snprintf(contact, sizeof(contact), "sip:c%" PRId64 "@127.0.0.1:5060;transport=udp", id);
	r.peer = pl_from_str(peer);
	r.contact = pl_from_str(contact);
	sa_set_str(&r.source, "127.0.0.1", (uint16_t)(1024 + id % 60000));
	err = store_reg_put(st, &r, reg_done, (void *)(intptr_t)id);
	if (!err && id % 10 == 0) {
		struct store_cdr c = {
		    .src = PL("0312345678"),
		    .dst = PL("801"),
		    .dcontext = PL("from-line"),
		    .lastapp = PL("Dial"),
		    .start_ms = (int64_t)time(NULL) * 1000,
		    .end_ms = (int64_t)time(NULL) * 1000 + 1000,
		    .duration = 1,
		    .disposition = STORE_CDR_NO_ANSWER,
		};

		snprintf(uid, sizeof(uid), "%" PRId64, id);
		c.uniqueid = pl_from_str(uid);
		err = store_cdr_add(st, &c, cdr_done, (void *)(intptr_t)id);
	}
	return err;
}

static int del_one(struct store *st)
{
	char peer[32], contact[64];
	size_t i;
	int64_t id;
	struct pl p, c;

	if (!ring_n)
		return 0;
	i = (size_t)rand() % ring_n;
	id = ring[i];
	ring[i] = ring[--ring_n];
	/* Said before it is queued: a deletion that commits but dies before its "del" line
	 * explains a missing registration. */
	out("try", id);
	snprintf(peer, sizeof(peer), "c%" PRId64, id);
	snprintf(contact, sizeof(contact), "sip:c%" PRId64 "@127.0.0.1:5060;transport=udp", id);
	p = pl_from_str(peer);
	c = pl_from_str(contact);
	return store_reg_del(st, &p, &c, del_done, (void *)(intptr_t)id);
}

static int cmd_write(const char *db, int64_t id, int seconds)
{
	struct loop *loop = NULL;
	struct store *st = NULL;
	time_t end = time(NULL) + seconds;
	unsigned turns = 0;
	int err;

	srand((unsigned)getpid());
	err = loop_alloc(&loop);
	if (!err)
		err = store_open(&st, loop, db);
	if (err) {
		fprintf(stderr, "storecrash: open %s: %s\n", db, strerror(err));
		goto out;
	}
	while (time(NULL) < end) {
		int k = 1 + rand() % 64;

		for (int i = 0; i < k && !err; i++)
			err = put(st, id++);
		if (!err && ++turns % 7 == 0)
			err = del_one(st);
		if (!err)
			err = loop_run_once(loop, 0);
		if (err) {
			fprintf(stderr, "storecrash: %s\n", strerror(err));
			break;
		}
	}
out:
	store_close(st);
	loop_free(loop);
	return err ? 1 : 0;
}

/* Sorted ids present in the database. */
struct idset {
	int64_t *v;
	size_t n, cap;
};

static int idset_add(struct idset *s, int64_t id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		int64_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = id;
	return 0;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static bool idset_has(const struct idset *s, int64_t id)
{
	return s->n && bsearch(&id, s->v, s->n, sizeof(id), cmp64) != NULL;
}

static int pl_id(const struct pl *pl, size_t skip, int64_t *id)
{
	uint64_t v;
	struct pl num;

	if (!pl->p || pl->l <= skip)
		return EINVAL;
	num = pl_from(pl->p + skip, pl->l - skip);
	if (pl_u64(&num, &v))
		return EINVAL;
	*id = (int64_t)v;
	return 0;
}

static int reg_each(const struct store_reg *r, void *arg)
{
	int64_t id;

	return pl_id(&r->peer, 1, &id) ? 0 : idset_add(arg, id);
}

static int cdr_each(const struct store_cdr *c, void *arg)
{
	int64_t id;

	return pl_id(&c->uniqueid, 0, &id) ? 0 : idset_add(arg, id);
}

/* Reads every "KIND ID" line of the logs; kind is 'r', 'c', 'd' or 't'. */
static int logs_each(int nlogs, char **logs, int (*h)(char kind, int64_t id, void *arg), void *arg)
{
	for (int i = 0; i < nlogs; i++) {
		FILE *f = fopen(logs[i], "r");
		char kind[8];
		int64_t id;
		int err = 0;

		if (!f) {
			fprintf(stderr, "storecrash: %s: %s\n", logs[i], strerror(errno));
			return errno;
		}
		/* A line cut short by the kill simply fails to parse and ends the file. */
		while (!err && fscanf(f, "%7s %" SCNd64, kind, &id) == 2)
			err = h(kind[0], id, arg);
		fclose(f);
		if (err)
			return err;
	}
	return 0;
}

struct check {
	struct idset regs, cdrs, dels; /* dels: deletions attempted ("try") */
	size_t nreg, ncdr, ndel, lost;
};

static int collect_del(char kind, int64_t id, void *arg)
{
	struct check *c = arg;

	return kind == 't' ? idset_add(&c->dels, id) : 0;
}

static int verify(char kind, int64_t id, void *arg)
{
	struct check *c = arg;
	bool bad = false;

	switch (kind) {
	case 'r': /* present, unless its deletion was queued (and may have committed) */
		c->nreg++;
		bad = !idset_has(&c->regs, id) && !idset_has(&c->dels, id);
		break;
	case 'c':
		c->ncdr++;
		bad = !idset_has(&c->cdrs, id);
		break;
	case 'd':
		c->ndel++;
		bad = idset_has(&c->regs, id);
		break;
	}
	if (bad && ++c->lost <= 10)
		printf("# LOST: %c %" PRId64 "\n", kind, id);
	return 0;
}

static int cmd_check(const char *db, int nlogs, char **logs)
{
	struct check c = {0};
	struct store *st = NULL;
	int err;

	err = store_open(&st, NULL, db);
	if (err) {
		fprintf(stderr, "storecrash: open %s: %s\n", db, strerror(err));
		return 1;
	}
	err = store_reg_load_all(st, (int64_t)time(NULL), reg_each, &c.regs);
	if (!err)
		err = store_cdr_list(st, 0, cdr_each, &c.cdrs);
	if (!err)
		err = logs_each(nlogs, logs, collect_del, &c);
	if (err) {
		fprintf(stderr, "storecrash: read: %s\n", strerror(err));
		goto out;
	}
	qsort(c.regs.v, c.regs.n, sizeof(*c.regs.v), cmp64);
	qsort(c.cdrs.v, c.cdrs.n, sizeof(*c.cdrs.v), cmp64);
	qsort(c.dels.v, c.dels.n, sizeof(*c.dels.v), cmp64);
	err = logs_each(nlogs, logs, verify, &c);
	printf("# logs say committed: %zu reg, %zu cdr, %zu del; database holds %zu reg, %zu cdr; "
	       "lost %zu\n",
	       c.nreg, c.ncdr, c.ndel, c.regs.n, c.cdrs.n, c.lost);
out:
	free(c.regs.v);
	free(c.cdrs.v);
	free(c.dels.v);
	store_close(st);
	return err || c.lost ? 1 : 0;
}

int main(int argc, char **argv)
{
	log_set_level(LOG_WARN);
	if (argc >= 6)
		kill_after = atol(argv[5]);
	if (argc >= 4 && !strcmp(argv[1], "write"))
		return cmd_write(argv[2], strtoll(argv[3], NULL, 10),
				 argc > 4 ? atoi(argv[4]) : 30);
	if (argc >= 4 && !strcmp(argv[1], "check"))
		return cmd_check(argv[2], argc - 3, argv + 3);
	fprintf(stderr, "usage: storecrash write DB FIRST_ID [SECONDS] | check DB LOG...\n");
	return 2;
}
