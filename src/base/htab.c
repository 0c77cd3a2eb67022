/* htab: a chained hash table of intrusive list elements that doubles as it fills. */
#include <errno.h>
#include <stdlib.h>

#include "base.h"

/* Average chain length that triggers doubling. */
#define HTAB_LOAD 2

int htab_init(struct htab *h, size_t nbuckets)
{
	size_t n = 16;

	while (n < nbuckets)
		n *= 2;
	h->buckets = calloc(n, sizeof(*h->buckets));
	if (!h->buckets)
		return ENOMEM;
	h->nbuckets = n;
	h->count = 0;
	return 0;
}

void htab_reset(struct htab *h)
{
	free(h->buckets);
	h->buckets = NULL;
	h->nbuckets = 0;
	h->count = 0;
}

static void htab_grow(struct htab *h)
{
	size_t n = h->nbuckets * 2;
	struct list *nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct list *old = &h->buckets[i];

		while (old->head) {
			struct le *le = old->head;
			void *data = le->data;

			list_unlink(le);
			list_append(&nb[le->key & (n - 1)], le, data);
		}
	}
	free(h->buckets);
	h->buckets = nb;
	h->nbuckets = n;
}

void htab_add(struct htab *h, struct le *le, uint32_t key, void *data)
{
	if (h->count >= h->nbuckets * HTAB_LOAD)
		htab_grow(h);
	le->key = key;
	list_append(htab_bucket(h, key), le, data);
	h->count++;
}

void htab_unlink(struct htab *h, struct le *le)
{
	if (!le->list)
		return;
	list_unlink(le);
	h->count--;
}
