/* Reads sent from a file's page cache: the file store's backend_lend.
 *
 * A read that is copied goes twice through user space's hands: the ring
 * copies the page cache into the task's chunks, then sendmsg copies the
 * chunks into the socket. The file is mapped shared and read-only at open
 * instead, and a read whose pages are all in memory is lent from the
 * mapping, so sendmsg's copy out of the page cache is the only one.
 *
 * The mapping covers the store's size at open and is never moved, so the
 * loops read its address and length without any ordering beyond the
 * store's publication. A file grown while served (backend_refresh_size)
 * lends only what was mapped; a read past it is copied, as are reads of
 * blocks not in memory and reads under BACKEND_FD_LEND_MIN (16 KiB). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend/store.h"
#include "util/log.h"
#include "util/macros.h"

/* mincore's vector for this many pages (1 MiB of 4 KiB pages) sits on the
 * stack; a longer read asks in several calls. */
#define LEND_VEC_PAGES 256u

bool backend_fd_lend_fits(uint64_t mapped, uint64_t offset, uint32_t len)
{
	return len >= BACKEND_FD_LEND_MIN && offset <= mapped && len <= mapped - offset;
}

bool backend_fd_lend_all_resident(const unsigned char *vec, size_t npages)
{
	for (size_t i = 0; i < npages; i++)
		if (!(vec[i] & 1))
			return false;
	return true;
}

/* Whether every page of [at, at + len) is in the page cache. A data-plane
 * thread must never wait for a disk: a page that is not would be read by
 * the kernel's copy in sendmsg, on the loop's thread. On tmpfs and ramfs
 * too, where a page is never read from a device, a page that is not there
 * is a hole (or swapped out): the copy through the mapping would allocate
 * it, where a READ of a hole copies the zero page and allocates nothing.
 * mincore answers from the page cache itself for pages this process has
 * not touched yet when lunard owns the file or may write it; otherwise it
 * counts only pages already mapped here, so such a file lends only what an
 * earlier lent read faulted in, and copies the rest. */
static bool lend_resident(const char *at, uint32_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t first = (uintptr_t)at & ~(page - 1);
	uintptr_t end = (uintptr_t)at + len;
	unsigned char vec[LEND_VEC_PAGES];
	while (first < end) {
		size_t npages = min_u64(DIV_ROUND_UP(end - first, page), LEND_VEC_PAGES);
		if (mincore((void *)first, npages * page, vec) < 0 || !backend_fd_lend_all_resident(vec, npages))
			return false;
		first += npages * page;
	}
	return true;
}

/* The answer holds when it is given: a page may be evicted between this
 * check and the send, and the kernel's copy then reads it back on the
 * loop's thread. That costs that read its latency (and the loop's), not
 * its correctness. */
void *backend_fd_lend(struct backend *bs, uint64_t offset, uint32_t len)
{
	const struct backend_fd *fs = backend_fd(bs);
	if (!fs->lend_map || !backend_fd_lend_fits(fs->lend_len, offset, len))
		return NULL;
	char *at = fs->lend_map + offset;
	return lend_resident(at, len) ? at : NULL;
}

void backend_fd_lend_open(struct backend *bs)
{
	struct backend_fd *fs = backend_fd(bs);
	uint64_t len = atomic_load(&bs->size);
	void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fs->fd, 0);
	if (map == MAP_FAILED) {
		log_warn("backend %s: cannot map it for zero_copy (%s): reads are copied", fs->path,
			 strerror(errno));
		return;
	}
	fs->lend_map = map;
	fs->lend_len = len;
}

void backend_fd_lend_close(struct backend *bs)
{
	struct backend_fd *fs = backend_fd(bs);
	if (fs->lend_map)
		munmap(fs->lend_map, fs->lend_len);
	fs->lend_map = NULL;
	fs->lend_len = 0;
}
