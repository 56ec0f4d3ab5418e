/* Fixed-size, 4096-aligned chunks for task buffers, with a budget.
 *
 * A struct bufpool is shared by every thread: chunk size and a cap on the
 * bytes of chunks alive at once (handed out or cached), counted with an
 * atomic. Each thread takes and returns chunks through its own
 * struct bufpool_cache, a free list no other thread touches, so the hot
 * path is a pointer pop or push; the shared counter moves only when a
 * chunk is created or given back to the system. A chunk may be returned
 * on another thread than the one it came from. */
#ifndef LUNAR_UTIL_BUFPOOL_H
#define LUNAR_UTIL_BUFPOOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct bufpool {
	size_t chunk_size;
	size_t max_chunks;       /* the budget */
	_Atomic size_t chunks;   /* alive: handed out or in some cache */
};

struct bufpool_cache {
	struct bufpool *pool;
	void *free;              /* free list, linked through each chunk's first bytes */
	unsigned nfree;
	unsigned keep;           /* more free chunks than this go back to the system */
};

/* chunk_size: a multiple of 4096; max_bytes: the budget, at least one
 * chunk. Returns 0 or -EINVAL. */
int bufpool_init(struct bufpool *pool, size_t chunk_size, size_t max_bytes);
/* Chunks still alive when the pool goes are the caller's leak. */
size_t bufpool_chunks(struct bufpool *pool);

void bufpool_cache_init(struct bufpool_cache *cache, struct bufpool *pool, unsigned keep);
/* Frees the cached chunks and gives their budget back. */
void bufpool_cache_fini(struct bufpool_cache *cache);

/* A chunk of pool->chunk_size bytes, or NULL when the budget is spent or
 * memory is short: the caller waits for chunks to come back. */
void *bufpool_get(struct bufpool_cache *cache);
void bufpool_put(struct bufpool_cache *cache, void *chunk);

/* Chunks for LEN bytes as iovecs (each chunk_size, the last the
 * remainder): all of them, or none and -ENOBUFS (budget or memory) or
 * -E2BIG (more than max_iov). Returns how many entries. */
int bufpool_get_iov(struct bufpool_cache *cache, uint32_t len, struct iovec *iov, unsigned max_iov);
void bufpool_put_iov(struct bufpool_cache *cache, const struct iovec *iov, unsigned n);

#endif
