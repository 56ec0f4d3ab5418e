#include "util/bufpool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#define BUFPOOL_ALIGN 4096u /* O_DIRECT, as backend.h asks of I/O buffers */

int bufpool_init(struct bufpool *pool, size_t chunk_size, size_t max_bytes)
{
	if (chunk_size == 0 || chunk_size % BUFPOOL_ALIGN || max_bytes < chunk_size)
		return -EINVAL;
	pool->chunk_size = chunk_size;
	pool->max_chunks = max_bytes / chunk_size;
	atomic_init(&pool->chunks, 0);
	return 0;
}

size_t bufpool_chunks(struct bufpool *pool)
{
	return atomic_load_explicit(&pool->chunks, memory_order_relaxed);
}

/* The counter guards no other memory (each chunk comes from malloc, which
 * orders itself), so relaxed atomics are enough; the compare-and-swap
 * keeps it from ever passing the cap, even for a moment. */
static bool bufpool_reserve(struct bufpool *pool)
{
	size_t n = atomic_load_explicit(&pool->chunks, memory_order_relaxed);
	do {
		if (n >= pool->max_chunks)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&pool->chunks, &n, n + 1, memory_order_relaxed,
							memory_order_relaxed));
	return true;
}

static void bufpool_release(struct bufpool *pool)
{
	atomic_fetch_sub_explicit(&pool->chunks, 1, memory_order_relaxed);
}

void bufpool_cache_init(struct bufpool_cache *cache, struct bufpool *pool, unsigned keep)
{
	*cache = (struct bufpool_cache){ .pool = pool, .keep = keep };
}

void bufpool_cache_fini(struct bufpool_cache *cache)
{
	while (cache->free) {
		void *chunk = cache->free;
		cache->free = *(void **)chunk;
		free(chunk);
		bufpool_release(cache->pool);
	}
	cache->nfree = 0;
}

void *bufpool_get(struct bufpool_cache *cache)
{
	void *chunk = cache->free;
	if (chunk) {
		cache->free = *(void **)chunk;
		cache->nfree--;
		return chunk;
	}
	if (!bufpool_reserve(cache->pool))
		return NULL;
	if (posix_memalign(&chunk, BUFPOOL_ALIGN, cache->pool->chunk_size) != 0) {
		bufpool_release(cache->pool);
		return NULL;
	}
	return chunk;
}

void bufpool_put(struct bufpool_cache *cache, void *chunk)
{
	if (cache->nfree >= cache->keep) {
		free(chunk);
		bufpool_release(cache->pool);
		return;
	}
	*(void **)chunk = cache->free;
	cache->free = chunk;
	cache->nfree++;
}

int bufpool_get_iov(struct bufpool_cache *cache, uint32_t len, struct iovec *iov, unsigned max_iov)
{
	size_t size = cache->pool->chunk_size;
	size_t n = (len + size - 1) / size;
	if (n > max_iov)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		void *chunk = bufpool_get(cache);
		if (!chunk) {
			bufpool_put_iov(cache, iov, (unsigned)i);
			return -ENOBUFS;
		}
		size_t left = len - i * size;
		iov[i] = (struct iovec){ .iov_base = chunk, .iov_len = left < size ? left : size };
	}
	return (int)n;
}

void bufpool_put_iov(struct bufpool_cache *cache, const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		bufpool_put(cache, iov[i].iov_base);
}
