/* mem: refcounted allocations with destructors, for objects that several owners can find. */
#include <stdlib.h>
#include <string.h>

#include "base.h"

/* The header sits in front of the user's block; max_align_t keeps that block aligned. */
struct mem_hdr {
	union {
		struct {
			uint32_t nrefs;
			mem_destroy_h *dh;
		} s;
		max_align_t align;
	} u;
};

static struct mem_hdr *hdr_of(const void *data)
{
	return (struct mem_hdr *)((uintptr_t)data - sizeof(struct mem_hdr));
}

void *mem_zalloc(size_t size, mem_destroy_h *dh)
{
	struct mem_hdr *m;

	if (size > SIZE_MAX - sizeof(*m))
		return NULL;
	m = calloc(1, sizeof(*m) + size);
	if (!m)
		return NULL;
	m->u.s.nrefs = 1;
	m->u.s.dh = dh;
	return m + 1;
}

void *mem_alloc(size_t size, mem_destroy_h *dh)
{
	struct mem_hdr *m;

	if (size > SIZE_MAX - sizeof(*m))
		return NULL;
	m = malloc(sizeof(*m) + size);
	if (!m)
		return NULL;
	m->u.s.nrefs = 1;
	m->u.s.dh = dh;
	return m + 1;
}

void *mem_ref(void *data)
{
	if (data)
		hdr_of(data)->u.s.nrefs++;
	return data;
}

void *mem_deref(void *data)
{
	struct mem_hdr *m;

	if (!data)
		return NULL;
	m = hdr_of(data);
	if (--m->u.s.nrefs > 0)
		return NULL;
	if (m->u.s.dh)
		m->u.s.dh(data);
	free(m);
	return NULL;
}

uint32_t mem_nrefs(const void *data)
{
	return data ? hdr_of(data)->u.s.nrefs : 0;
}
