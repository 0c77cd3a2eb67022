/* ban: counts failed authentications per source address and bans an address that fails too often
 * within a window (fail2ban built in). The table is bounded: when full, the oldest entry goes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reg_int.h"

static void addr_key(const struct sa *sa, uint8_t out[16])
{
	memset(out, 0, 16);
	if (sa_af(sa) == AF_INET6) {
		memcpy(out, &sa->u.in6.sin6_addr, 16);
	} else if (sa_af(sa) == AF_INET) {
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &sa->u.in.sin_addr, 4);
	}
}

int reg_bans_init(struct reg_bans *b, uint32_t failures, uint32_t window_s, uint32_t ban_s,
		  uint32_t max)
{
	memset(b, 0, sizeof(*b));
	b->failures = failures;
	b->window_ms = (uint64_t)window_s * 1000;
	b->ban_ms = (uint64_t)ban_s * 1000;
	b->max = max ? max : 1;
	list_init(&b->order);
	return htab_init(&b->tab, 64);
}

static void entry_free(struct reg_bans *b, struct reg_ban_entry *e)
{
	htab_unlink(&b->tab, &e->le);
	list_unlink(&e->lru);
	free(e);
}

void reg_bans_reset(struct reg_bans *b)
{
	while (b->order.head)
		entry_free(b, b->order.head->data);
	htab_reset(&b->tab);
}

static struct reg_ban_entry *entry_find(const struct reg_bans *b, const uint8_t key[16], uint32_t h)
{
	if (!b->tab.buckets)
		return NULL;
	LIST_FOREACH(htab_bucket(&b->tab, h), le)
	{
		struct reg_ban_entry *e = le->data;

		if (le->key == h && !memcmp(e->addr, key, 16))
			return e;
	}
	return NULL;
}

bool reg_bans_fail(struct reg_bans *b, const struct sa *addr, uint64_t now_ms)
{
	struct reg_ban_entry *e;
	uint8_t key[16];
	uint32_t h;

	if (!b->failures || !b->tab.buckets)
		return false;
	addr_key(addr, key);
	h = hash_bytes(key, 16);
	e = entry_find(b, key, h);
	if (!e) {
		if (b->tab.count >= b->max) {
			/* Full: the entry touched longest ago makes room (a spoofed flood from many
			 * addresses can evict entries, but never grow the table). */
			entry_free(b, b->order.head->data);
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			return false;
		memcpy(e->addr, key, 16);
		e->window_start = now_ms;
		htab_add(&b->tab, &e->le, h, e);
	} else {
		list_unlink(&e->lru);
	}
	list_append(&b->order, &e->lru, e);
	if (e->banned_until && now_ms < e->banned_until)
		return false; /* already banned */
	if (e->banned_until || now_ms - e->window_start >= b->window_ms) {
		/* A new window (also after a ban ran out). */
		e->banned_until = 0;
		e->window_start = now_ms;
		e->failures = 0;
	}
	if (++e->failures < b->failures)
		return false;
	e->banned_until = now_ms + b->ban_ms;
	b->banned_total++;
	return true;
}

bool reg_bans_banned(struct reg_bans *b, const struct sa *addr, uint64_t now_ms)
{
	struct reg_ban_entry *e;
	uint8_t key[16];

	if (!b->tab.count)
		return false;
	addr_key(addr, key);
	e = entry_find(b, key, hash_bytes(key, 16));
	return e && e->banned_until && now_ms < e->banned_until;
}

int reg_bans_remove(struct reg_bans *b, const struct sa *addr)
{
	struct reg_ban_entry *e;
	uint8_t key[16];

	addr_key(addr, key);
	e = entry_find(b, key, hash_bytes(key, 16));
	if (!e)
		return ENOENT;
	entry_free(b, e);
	return 0;
}

void reg_bans_purge(struct reg_bans *b, uint64_t now_ms)
{
	struct le *le = b->order.head;

	while (le) {
		struct reg_ban_entry *e = le->data;

		le = le->next;
		if (e->banned_until ? now_ms >= e->banned_until
				    : now_ms - e->window_start >= b->window_ms)
			entry_free(b, e);
	}
}

size_t reg_bans_count(const struct reg_bans *b)
{
	return b->tab.count;
}
