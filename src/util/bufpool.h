/* Fixed-size, 4096-aligned chunks for task buffers, with a budget.
 *
 * A struct bufpool is shared by every thread: chunk size and a cap on the
 * chunks handed out at once, counted with an atomic. Each thread takes and
 * returns chunks through its own struct bufpool_cache, a free list no
 * other thread touches, so taking a chunk is a pointer pop plus one atomic
 * add per batch. A cache keeps at most keep free chunks (more go back to
 * the system, unmapped); those idle chunks are outside the budget, so the memory
 * held is at most the budget plus keep chunks per thread. Counting chunks
 * in use rather than chunks alive means a chunk given back on one thread
 * is at once budget another thread can take. A chunk may be returned on
 * another thread than the one it came from.
 *
 * The last reserve chunks of the budget are for one taker at a time: the
 * one that holds the reserve (bufwait.h explains why that keeps waiting
 * tasks from deadlocking).
 *
 * Beyond the budget lies an overdraft, counted apart: chunks for requests
 * that bufwait.h guarantees (a group holding less than minimum chunks),
 * so that what other groups hold of the budget never shuts it out. The
 * memory held is then at most budget + overdraft + keep chunks per
 * thread. The pool also carries share_bytes, what one group should claim
 * of the budget, so every thread reads the same figure. */
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
	size_t overdraft_chunks; /* beyond the budget, for guaranteed requests only */
	size_t minimum_chunks;   /* a group holding less may draw on the overdraft */
	size_t share_bytes;      /* what one group should claim of the budget (0: no share) */
	_Atomic size_t in_use;   /* handed out of the budget */
	_Atomic size_t over_in_use; /* handed out of the overdraft */
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
/* The overdraft (0 after bufpool_init: none), the minimum a group is
 * guaranteed, and the share it should claim; each rounded up to chunks
 * but share_bytes. */
void bufpool_set_guarantee(struct bufpool *pool, size_t overdraft_bytes, size_t minimum_bytes,
			   size_t share_bytes);
/* Chunks handed out of the budget; those still out when the pool goes are
 * the caller's leak. */
size_t bufpool_chunks(struct bufpool *pool);
/* Chunks handed out of the overdraft. */
size_t bufpool_overdraft_in_use(struct bufpool *pool);

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
/* The same against the overdraft: chunks taken with the first go back
 * with the second. */
int bufpool_get_iov_overdraft(struct bufpool_cache *cache, uint32_t len, struct iovec *iov,
			      unsigned max_iov);
void bufpool_put_iov_overdraft(struct bufpool_cache *cache, const struct iovec *iov, unsigned n);

/* The reserve: who takes it if nobody holds it (returns true, also when
 * who holds it already); drop lets it go if who holds it. */
bool bufpool_reserve_take(struct bufpool *pool, const void *who);
void bufpool_reserve_drop(struct bufpool *pool, const void *who);

#endif
