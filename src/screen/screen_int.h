/* screen_int: the screen module's private structures: a set of numbers and prefixes. */
#ifndef MIKAKA_SCREEN_INT_H
#define MIKAKA_SCREEN_INT_H

#include "screen.h"

/* One number (or prefix, written "0120*") with its note and when it was added. */
struct numset_ent {
	struct le he;	 /* in the exact or the prefix table */
	struct le order; /* in the set's list, oldest first */
	char *num;	 /* without the '*' */
	char *note;	 /* may be NULL; the phonebook keeps the name here */
	bool prefix;
	int64_t added; /* Unix seconds */
};

/* Exact numbers and prefixes in two hash tables: a lookup is one probe for the number and one
 * per length that some prefix has (a bit mask of the lengths in use), so it stays O(1) for
 * 100,000 entries. */
struct numset {
	struct htab exact;
	struct htab prefix;
	struct list order;
	uint64_t plens; /* bit n: some prefix has n digits (n < 64) */
};

int numset_init(struct numset *s);
void numset_reset(struct numset *s);
/* "NUM" or "NUM*"; replaces the note of an existing entry. *entp (may be NULL) set. */
int numset_add(struct numset *s, const char *spec, const char *note, int64_t added,
	       struct numset_ent **entp);
struct numset_ent *numset_find(const struct numset *s, const char *spec);
/* The entry matching num (exact first, then the longest prefix), or NULL. */
const struct numset_ent *numset_match(const struct numset *s, const char *num);
void numset_del(struct numset *s, struct numset_ent *e);
static inline size_t numset_count(const struct numset *s)
{
	return list_count(&s->order);
}

/* A number or prefix as written in a rule or on the CLI, normalized ("0120-12*" -> "012012*"). */
int screen_spec_norm(const char *in, char *out, size_t size);

#endif /* MIKAKA_SCREEN_INT_H */
