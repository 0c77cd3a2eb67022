/* list: intrusive doubly linked lists and the hash functions used by lookup tables. */
#include <string.h>

#include "base.h"

void list_init(struct list *list)
{
	list->head = list->tail = NULL;
	list->count = 0;
}

void list_append(struct list *list, struct le *le, void *data)
{
	le->list = list;
	le->data = data;
	le->next = NULL;
	le->prev = list->tail;
	if (list->tail)
		list->tail->next = le;
	else
		list->head = le;
	list->tail = le;
	list->count++;
}

void list_prepend(struct list *list, struct le *le, void *data)
{
	le->list = list;
	le->data = data;
	le->prev = NULL;
	le->next = list->head;
	if (list->head)
		list->head->prev = le;
	else
		list->tail = le;
	list->head = le;
	list->count++;
}

void list_unlink(struct le *le)
{
	struct list *list = le->list;

	if (!list)
		return;
	if (le->prev)
		le->prev->next = le->next;
	else
		list->head = le->next;
	if (le->next)
		le->next->prev = le->prev;
	else
		list->tail = le->prev;
	list->count--;
	le->prev = le->next = NULL;
	le->list = NULL;
}

/* Short keys (branches, Call-IDs, addresses) hashed eight bytes at a time: a byte loop (FNV-1a)
 * over a 30-byte branch was a few hundred instructions, and a call hashes about ten keys. Each
 * word is multiplied in, and the end mixes every bit into the low ones (tables index by the low
 * bits). No adversarial pressure worth a keyed hash: buckets are bounded lists and lookups
 * compare full keys. */
#define HASH_K1 0x9e3779b97f4a7c15ull
#define HASH_K2 0xbf58476d1ce4e5b9ull

static inline uint64_t hash_load(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

/* The last 1-7 bytes, as a little-endian load of them would give (no call to memcpy). */
static inline uint64_t hash_tail(const uint8_t *p, size_t n)
{
	uint64_t w = 0;

	while (n--)
		w = w << 8 | p[n];
	return w;
}

static inline uint64_t hash_step(uint64_t h, uint64_t w)
{
	h ^= w * HASH_K1;
	return (h << 29 | h >> 35) * HASH_K2;
}

static inline uint32_t hash_final(uint64_t h)
{
	h ^= h >> 31;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 29;
	return (uint32_t)(h ^ h >> 32);
}

/* The A-Z bytes of w in lower case (0x20 added), every other byte as it is: bit 7 of each
 * byte's low seven bits + offset says >= 'A' and > 'Z' without a carry into the next byte. */
static inline uint64_t hash_fold(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t low = w & 0x7f * ones;
	uint64_t ge_a = low + (0x80 - 'A') * ones;
	uint64_t gt_z = low + (0x80 - 'Z' - 1) * ones;

	return w | ((ge_a & ~gt_z & ~w & 0x80 * ones) >> 2);
}

uint32_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = HASH_K2 ^ n;

	for (; n >= 8; b += 8, n -= 8)
		h = hash_step(h, hash_load(b));
	if (n)
		h = hash_step(h, hash_tail(b, n));
	return hash_final(h);
}

uint32_t hash_pl_case(const struct pl *pl)
{
	const uint8_t *b = (const uint8_t *)pl->p;
	size_t n = pl->l;
	uint64_t h = HASH_K2 ^ n;

	for (; n >= 8; b += 8, n -= 8)
		h = hash_step(h, hash_fold(hash_load(b)));
	if (n)
		h = hash_step(h, hash_fold(hash_tail(b, n)));
	return hash_final(h);
}
