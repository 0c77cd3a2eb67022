/* list: intrusive doubly linked lists and the hash functions used by lookup tables. */
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

/* FNV-1a: short keys (branches, Call-IDs), no adversarial pressure worth a keyed hash since
 * buckets are bounded lists and lookups compare full keys. */
uint32_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

uint32_t hash_pl_case(const struct pl *pl)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < pl->l; i++) {
		uint8_t c = (uint8_t)pl->p[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 32);
		h ^= c;
		h *= 16777619u;
	}
	return h;
}
