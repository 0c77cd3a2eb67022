/* numset: a set of numbers and number prefixes with O(1) lookups (blocklist, allow-list,
 * phonebook). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screen_int.h"

int screen_spec_norm(const char *in, char *out, size_t size)
{
	size_t n;
	bool prefix;
	int err;

	if (!in)
		return EINVAL;
	n = strlen(in);
	while (n && (in[n - 1] == ' ' || in[n - 1] == '\t'))
		n--;
	prefix = n && in[n - 1] == '*';
	if (prefix)
		n--;
	if (size < 2)
		return EINVAL;
	err = screen_number_norm(in, n, out, size - 1);
	if (err)
		return err;
	if (prefix)
		strcat(out, "*");
	return 0;
}

int numset_init(struct numset *s)
{
	memset(s, 0, sizeof(*s));
	if (htab_init(&s->exact, 64) || htab_init(&s->prefix, 8)) {
		htab_reset(&s->exact);
		return ENOMEM;
	}
	return 0;
}

static void ent_free(struct numset_ent *e)
{
	free(e->num);
	free(e->note);
	free(e);
}

void numset_reset(struct numset *s)
{
	while (s->order.head) {
		struct numset_ent *e = s->order.head->data;

		list_unlink(&e->order);
		ent_free(e);
	}
	htab_reset(&s->exact);
	htab_reset(&s->prefix);
	s->plens = 0;
}

static struct numset_ent *lookup(const struct htab *h, const char *num, size_t n)
{
	uint32_t key = hash_bytes(num, n);

	if (!h->nbuckets)
		return NULL;
	LIST_FOREACH(htab_bucket(h, key), le)
	{
		struct numset_ent *e = le->data;

		if (!strncmp(e->num, num, n) && e->num[n] == '\0')
			return e;
	}
	return NULL;
}

struct numset_ent *numset_find(const struct numset *s, const char *spec)
{
	size_t n = strlen(spec);

	if (n && spec[n - 1] == '*')
		return lookup(&s->prefix, spec, n - 1);
	return lookup(&s->exact, spec, n);
}

const struct numset_ent *numset_match(const struct numset *s, const char *num)
{
	size_t n = num ? strlen(num) : 0;
	const struct numset_ent *e;

	if (!n)
		return NULL;
	e = lookup(&s->exact, num, n);
	if (e)
		return e;
	for (size_t l = n < 63 ? n : 63; l > 0 && s->plens; l--) {
		if (!(s->plens & (1ull << l)))
			continue;
		e = lookup(&s->prefix, num, l);
		if (e)
			return e;
	}
	return NULL;
}

int numset_add(struct numset *s, const char *spec, const char *note, int64_t added,
	       struct numset_ent **entp)
{
	size_t n = strlen(spec);
	bool prefix = n && spec[n - 1] == '*';
	struct numset_ent *e = numset_find(s, spec);
	char *nn = NULL;

	if (prefix)
		n--;
	if (!n || n >= 63)
		return EINVAL;
	if (note && *note && !(nn = strdup(note)))
		return ENOMEM;
	if (e) {
		free(e->note);
		e->note = nn;
		if (entp)
			*entp = e;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->num = strndup(spec, n))) {
		free(e);
		free(nn);
		return ENOMEM;
	}
	e->note = nn;
	e->prefix = prefix;
	e->added = added;
	htab_add(prefix ? &s->prefix : &s->exact, &e->he, hash_bytes(e->num, n), e);
	list_append(&s->order, &e->order, e);
	if (prefix)
		s->plens |= 1ull << n;
	if (entp)
		*entp = e;
	return 0;
}

void numset_del(struct numset *s, struct numset_ent *e)
{
	bool prefix = e->prefix;

	htab_unlink(prefix ? &s->prefix : &s->exact, &e->he);
	list_unlink(&e->order);
	ent_free(e);
	if (prefix) {
		/* Recompute the lengths in use (prefixes are few). */
		s->plens = 0;
		LIST_FOREACH(&s->order, le)
		{
			const struct numset_ent *x = le->data;

			if (x->prefix)
				s->plens |= 1ull << strlen(x->num);
		}
	}
}
