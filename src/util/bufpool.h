/* Fixed-size, 4096-aligned chunks for task buffers, with a budget.
 *
 * A struct bufpool is shared by every thread: chunk size and a cap on the
 * chunks handed out at once, counted with an atomic. Each thread takes and
 * returns chunks through its own struct bufpool_cache, a free list no
 * other thread touches, so taking a chunk is a pointer pop plus one atomic
 * add per batch. A cache keeps at most keep free chunks (more go back to
 * the system); those idle chunks are outside the budget, so the memory
 * held is at most the budget plus keep chunks per thread. Counting chunks
 * in use rather than chunks alive means a chunk given back on one thread
 * is at once budget another thread can take. A chunk may be returned on
 * another thread than the one it came from.
 *
 * The last reserve chunks of the budget are for one taker at a time: the
 * one that holds the reserve (bufwait.h explains why that keeps waiting
 * tasks from deadlocking). */
#ifndef LUNAR_UTIL_BUFPOOL_H
#define LUNAR_UTIL_BUFPOOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct bufpool {
	size_t chunk_size;
	size_t max_chunks;       /* the budget */
	size_t reserve_chunks;   /* of those, the ones only the reserve's holder takes */
	_Atomic size_t in_use;   /* handed out */
	_Atomic(const void *) reserve_holder;
};

struct bufpool_cache {
	struct bufpool *pool;
	void *free;              /* free list, linked through each chunk's first bytes */
	unsigned nfree;
	unsigned keep;           /* more free chunks than this go back to the system */
};

/* chunk_size: a multiple of 4096; max_bytes: the budget, at least one
 * chunk more than reserve_bytes. Returns 0 or -EINVAL. */
int bufpool_init(struct bufpool *pool, size_t chunk_size, size_t max_bytes, size_t reserve_bytes);
/* Chunks handed out; those still out when the pool goes are the caller's leak. */
size_t bufpool_chunks(struct bufpool *pool);

void bufpool_cache_init(struct bufpool_cache *cache, struct bufpool *pool, unsigned keep);
/* Frees the cached chunks. */
void bufpool_cache_fini(struct bufpool_cache *cache);

/* A chunk of pool->chunk_size bytes, leaving the reserve alone, or NULL
 * when the budget is spent or memory is short. */
void *bufpool_get(struct bufpool_cache *cache);
void bufpool_put(struct bufpool_cache *cache, void *chunk);

/* Chunks for LEN bytes as iovecs (each chunk_size, the last the
 * remainder): all of them, or none and -ENOBUFS (budget or memory) or
 * -E2BIG (more than max_iov). from_reserve: the caller holds the reserve
 * and may take its chunks. Returns how many entries. */
int bufpool_get_iov(struct bufpool_cache *cache, uint32_t len, struct iovec *iov, unsigned max_iov,
		    bool from_reserve);
void bufpool_put_iov(struct bufpool_cache *cache, const struct iovec *iov, unsigned n);

/* The reserve: who takes it if nobody holds it (returns true, also when
 * who holds it already); drop lets it go if who holds it. */
bool bufpool_reserve_take(struct bufpool *pool, const void *who);
void bufpool_reserve_drop(struct bufpool *pool, const void *who);

#endif
