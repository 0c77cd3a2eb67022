/* mem: refcounted allocations with destructors, for objects that several owners can find. */
#include <stdlib.h>
#include <string.h>

#include "base.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define MEM_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define MEM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define MEM_POISON(p, n) ((void)0)
#define MEM_UNPOISON(p, n) ((void)0)
#endif

/* The header sits in front of the user's block; max_align_t keeps that block aligned. cls: the
 * block's size class in the cache below (0: a plain malloc'ed block of the asked size). */
struct mem_hdr {
	union {
		struct {
			uint32_t nrefs;
			uint16_t cls;
			mem_destroy_h *dh;
		} s;
		max_align_t align;
	} u;
};

/* A cache of freed blocks between 1 and 4 KiB, on the thread that enabled it (the daemon's
 * loop): every SIP message is one such block (the parsed message and its bytes), allocated and
 * freed within a turn or two, and glibc serves that size from its general bins (its per-thread
 * cache stops at 1 KiB), which cost a few per cent of a B2BUA call under load. Blocks come in
 * classes of MEM_CACHE_STEP bytes; at most MEM_CACHE_DEPTH are kept per class (about 200 KiB
 * in all). A cached block is poisoned for AddressSanitizer, so a use after free is still caught. */
#define MEM_CACHE_MIN 1024
#define MEM_CACHE_STEP 256
#define MEM_CACHE_CLASSES 12
#define MEM_CACHE_DEPTH 8

struct mem_cache_class {
	struct mem_hdr *b[MEM_CACHE_DEPTH];
	uint32_t n;
};

static struct mem_cache_class mem_cache[MEM_CACHE_CLASSES];
static _Thread_local bool mem_cache_on;

/* Size class of a block of total bytes (header included), 0 when the cache does not take it. */
static uint16_t mem_cls(size_t total)
{
	if (total <= MEM_CACHE_MIN || total > MEM_CACHE_MIN + MEM_CACHE_CLASSES * MEM_CACHE_STEP)
		return 0;
	return (uint16_t)((total - MEM_CACHE_MIN + MEM_CACHE_STEP - 1) / MEM_CACHE_STEP);
}

static size_t mem_cls_size(uint16_t cls)
{
	return MEM_CACHE_MIN + (size_t)cls * MEM_CACHE_STEP;
}

void mem_cache_enable(bool on)
{
	mem_cache_on = on;
	if (on)
		return;
	for (size_t c = 0; c < MEM_CACHE_CLASSES; c++) {
		while (mem_cache[c].n) {
			struct mem_hdr *m = mem_cache[c].b[--mem_cache[c].n];

			MEM_UNPOISON(m, mem_cls_size((uint16_t)(c + 1)));
			free(m);
		}
	}
}

static struct mem_hdr *mem_get(size_t size, bool zero)
{
	size_t total;
	uint16_t cls = 0;
	struct mem_hdr *m;

	if (size > SIZE_MAX - sizeof(*m))
		return NULL;
	total = sizeof(*m) + size;
	if (mem_cache_on)
		cls = mem_cls(total);
	if (cls && mem_cache[cls - 1].n) {
		m = mem_cache[cls - 1].b[--mem_cache[cls - 1].n];
		MEM_UNPOISON(m, mem_cls_size(cls));
		if (zero)
			memset(m, 0, total);
	} else if (cls) {
		/* Only the bytes asked for are zeroed, as from the cache above. */
		m = malloc(mem_cls_size(cls));
		if (m && zero)
			memset(m, 0, total);
	} else {
		m = zero ? mem_zmalloc(total) : malloc(total);
	}
	if (!m)
		return NULL;
	m->u.s.nrefs = 1;
	m->u.s.cls = cls;
	return m;
}

static void mem_put(struct mem_hdr *m)
{
	uint16_t cls = m->u.s.cls;

	if (cls && mem_cache_on && mem_cache[cls - 1].n < MEM_CACHE_DEPTH) {
		mem_cache[cls - 1].b[mem_cache[cls - 1].n++] = m;
		MEM_POISON(m, mem_cls_size(cls));
		return;
	}
	free(m);
}

static struct mem_hdr *hdr_of(const void *data)
{
	return (struct mem_hdr *)((uintptr_t)data - sizeof(struct mem_hdr));
}

void *mem_zalloc(size_t size, mem_destroy_h *dh)
{
	struct mem_hdr *m = mem_get(size, true);

	if (!m)
		return NULL;
	m->u.s.dh = dh;
	return m + 1;
}

void *mem_alloc(size_t size, mem_destroy_h *dh)
{
	struct mem_hdr *m = mem_get(size, false);

	if (!m)
		return NULL;
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
	mem_put(m);
	return NULL;
}

uint32_t mem_nrefs(const void *data)
{
	return data ? hdr_of(data)->u.s.nrefs : 0;
}
