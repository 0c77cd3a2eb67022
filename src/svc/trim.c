/* svc/trim: after start-up, give back the pages only start-up used: the code and read-only data
 * of the program and its libraries that opening the database, compiling SQLite's statements and
 * reading the configuration touched (SQLite's parser and code generator alone are about 1 MiB),
 * and the heap's free pages. Like a kernel freeing its init sections, but by page: whatever runs
 * again faults back in from the page cache. */
#include <link.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "svc.h"

/* Whether the object patches its own read-only segments (text relocations): then those pages
 * are no longer the file's and must stay. */
static bool has_textrel(const struct dl_phdr_info *info)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const ElfW(Dyn) * dyn;

		if (ph->p_type != PT_DYNAMIC)
			continue;
		for (dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
		     dyn->d_tag != DT_NULL; dyn++) {
			if (dyn->d_tag == DT_TEXTREL ||
			    (dyn->d_tag == DT_FLAGS && (dyn->d_un.d_val & DF_TEXTREL)))
				return true;
		}
	}
	return false;
}

static bool overlaps_relro(const struct dl_phdr_info *info, uintptr_t start, uintptr_t end)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_GNU_RELRO && a < end && a + ph->p_memsz > start)
			return true;
	}
	return false;
}

/* For every loaded object: its segments that are never written (no PF_W, not RELRO, no text
 * relocations) hold only the file's bytes, so dropping this process's mapping of their pages
 * loses nothing; the next access maps them again from the page cache. The kernel's reclaim may
 * drop such clean pages at any time anyway: this only does it early. Only whole pages inside a
 * segment are dropped. */
static int drop_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
	size_t *dropped = arg;
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	(void)size;
	if (info->dlpi_name && !strncmp(info->dlpi_name, "linux-", 6))
		return 0; /* the vDSO: no file behind it */
	if (has_textrel(info))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start, end;

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || !ph->p_memsz)
			continue;
		start = (info->dlpi_addr + ph->p_vaddr + page - 1) & ~(page - 1);
		end = (info->dlpi_addr + ph->p_vaddr + ph->p_filesz) & ~(page - 1);
		if (end <= start || overlaps_relro(info, start, end))
			continue;
		if (madvise((void *)start, end - start, MADV_DONTNEED) == 0)
			*dropped += end - start;
	}
	return 0;
}

size_t svc_release_startup(void)
{
	size_t dropped = 0;

#ifdef __GLIBC__
	malloc_trim(0); /* the heap's free pages (and its top) back to the kernel */
#endif
	dl_iterate_phdr(drop_segments, &dropped);
	return dropped;
}
