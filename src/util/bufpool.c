#include "util/bufpool.h"

#include <errno.h>
#include <sys/mman.h>

#include "util/macros.h"

#define BUFPOOL_ALIGN 4096u /* O_DIRECT, as backend.h asks of I/O buffers */

int bufpool_init(struct bufpool *pool, size_t chunk_size, size_t max_bytes, size_t reserve_bytes)
{
	if (chunk_size == 0 || chunk_size % BUFPOOL_ALIGN || max_bytes < chunk_size)
		return -EINVAL;
	pool->chunk_size = chunk_size;
	pool->max_chunks = max_bytes / chunk_size;
	pool->reserve_chunks = DIV_ROUND_UP(reserve_bytes, chunk_size);
	if (pool->reserve_chunks >= pool->max_chunks)
		return -EINVAL;
	pool->overdraft_chunks = 0;
	pool->minimum_chunks = 0;
	pool->share_bytes = 0;
	atomic_init(&pool->in_use, 0);
	atomic_init(&pool->over_in_use, 0);
	atomic_init(&pool->reserve_holder, NULL);
	return 0;
}

void bufpool_set_guarantee(struct bufpool *pool, size_t overdraft_bytes, size_t minimum_bytes,
			   size_t share_bytes)
{
	size_t size = pool->chunk_size;
	pool->overdraft_chunks = DIV_ROUND_UP(overdraft_bytes, size);
	pool->minimum_chunks = DIV_ROUND_UP(minimum_bytes, size);
	pool->share_bytes = share_bytes;
}

size_t bufpool_chunks(struct bufpool *pool)
{
	return atomic_load_explicit(&pool->in_use, memory_order_relaxed);
}

size_t bufpool_overdraft_in_use(struct bufpool *pool)
{
	return atomic_load_explicit(&pool->over_in_use, memory_order_relaxed);
}

/* The counter guards no other memory (chunks come from mmap or a
 * thread's own cache), so relaxed atomics are enough; the compare-and-swap
 * keeps it from ever passing the cap, even for a moment. */
static bool count_out(_Atomic size_t *counter, size_t cap, size_t n)
{
	size_t used = atomic_load_explicit(counter, memory_order_relaxed);
	do {
		if (n > cap || used > cap - n)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(counter, &used, used + n,
							memory_order_relaxed, memory_order_relaxed));
	return true;
}

static bool bufpool_count_out(struct bufpool *pool, size_t n, bool from_reserve)
{
	return count_out(&pool->in_use, pool->max_chunks - (from_reserve ? 0 : pool->reserve_chunks), n);
}

static void bufpool_count_back(struct bufpool *pool, size_t n)
{
	atomic_fetch_sub_explicit(&pool->in_use, n, memory_order_relaxed);
}

void bufpool_cache_init(struct bufpool_cache *cache, struct bufpool *pool, unsigned keep)
{
	*cache = (struct bufpool_cache){ .pool = pool, .keep = keep };
}

/* Chunks are pages of their own, mapped and unmapped whole, not heap
 * memory: interleaved with the small allocations of tasks and replies,
 * 64 KiB blocks aligned to 4 KiB left the heap fragmented, and what a
 * cache gives back then stayed resident (measured: a dp thread's heap
 * held 10 MiB free of 48 MiB under the hostile suite's unread READs). The
 * cost, a mapping and its pages, is paid only past the cache's keep. */
static void *chunk_map(size_t size)
{
	void *chunk = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return chunk == MAP_FAILED ? NULL : chunk;
}

static void chunk_unmap(const struct bufpool_cache *cache, void *chunk)
{
	munmap(chunk, cache->pool->chunk_size);
}

void bufpool_cache_fini(struct bufpool_cache *cache)
{
	while (cache->free) {
		void *chunk = cache->free;
		cache->free = *(void **)chunk;
		chunk_unmap(cache, chunk);
	}
	cache->nfree = 0;
}

/* One chunk already counted out: from the cache, else from the system. */
static void *cache_pop(struct bufpool_cache *cache)
{
	void *chunk = cache->free;
	if (chunk) {
		cache->free = *(void **)chunk;
		cache->nfree--;
		return chunk;
	}
	return chunk_map(cache->pool->chunk_size);
}

static void cache_push(struct bufpool_cache *cache, void *chunk)
{
	if (cache->nfree >= cache->keep) {
		chunk_unmap(cache, chunk);
		return;
	}
	*(void **)chunk = cache->free;
	cache->free = chunk;
	cache->nfree++;
}

void *bufpool_get(struct bufpool_cache *cache)
{
	if (!bufpool_count_out(cache->pool, 1, false))
		return NULL;
	void *chunk = cache_pop(cache);
	if (!chunk)
		bufpool_count_back(cache->pool, 1);
	return chunk;
}

void bufpool_put(struct bufpool_cache *cache, void *chunk)
{
	cache_push(cache, chunk);
	bufpool_count_back(cache->pool, 1);
}

/* n chunks already counted out on counter into iov, or none (the count
 * given back) when memory is short. */
static int fill_iov(struct bufpool_cache *cache, _Atomic size_t *counter, uint32_t len,
		    struct iovec *iov, size_t n)
{
	size_t size = cache->pool->chunk_size;
	for (size_t i = 0; i < n; i++) {
		void *chunk = cache_pop(cache);
		if (!chunk) {
			for (size_t j = 0; j < i; j++)
				cache_push(cache, iov[j].iov_base);
			atomic_fetch_sub_explicit(counter, n, memory_order_relaxed);
			return -ENOBUFS;
		}
		size_t left = len - i * size;
		iov[i] = (struct iovec){ .iov_base = chunk, .iov_len = left < size ? left : size };
	}
	return (int)n;
}

int bufpool_get_iov(struct bufpool_cache *cache, uint32_t len, struct iovec *iov, unsigned max_iov,
		    bool from_reserve)
{
	size_t size = cache->pool->chunk_size;
	size_t n = DIV_ROUND_UP(len, size);
	if (n > max_iov)
		return -E2BIG;
	if (!bufpool_count_out(cache->pool, n, from_reserve))
		return -ENOBUFS;
	return fill_iov(cache, &cache->pool->in_use, len, iov, n);
}

void bufpool_put_iov(struct bufpool_cache *cache, const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		cache_push(cache, iov[i].iov_base);
	if (n)
		bufpool_count_back(cache->pool, n);
}

int bufpool_get_iov_overdraft(struct bufpool_cache *cache, uint32_t len, struct iovec *iov,
			      unsigned max_iov)
{
	struct bufpool *pool = cache->pool;
	size_t n = DIV_ROUND_UP(len, pool->chunk_size);
	if (n > max_iov)
		return -E2BIG;
	if (!count_out(&pool->over_in_use, pool->overdraft_chunks, n))
		return -ENOBUFS;
	return fill_iov(cache, &pool->over_in_use, len, iov, n);
}

void bufpool_put_iov_overdraft(struct bufpool_cache *cache, const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		cache_push(cache, iov[i].iov_base);
	if (n)
		atomic_fetch_sub_explicit(&cache->pool->over_in_use, n, memory_order_relaxed);
}

bool bufpool_reserve_take(struct bufpool *pool, const void *who)
{
	const void *none = NULL;
	return atomic_compare_exchange_strong_explicit(&pool->reserve_holder, &none, who,
						       memory_order_relaxed, memory_order_relaxed) ||
	       none == who;
}

void bufpool_reserve_drop(struct bufpool *pool, const void *who)
{
	const void *held = who;
	atomic_compare_exchange_strong_explicit(&pool->reserve_holder, &held, NULL,
						memory_order_relaxed, memory_order_relaxed);
}
