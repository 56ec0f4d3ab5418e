#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/bufpool.h"

#define CHUNK (64 * 1024)

static void bad_sizes_are_refused(void **state)
{
	struct bufpool pool;
	assert_int_equal(bufpool_init(&pool, 1000, 1 << 20, 0), -EINVAL);
	assert_int_equal(bufpool_init(&pool, 0, 1 << 20, 0), -EINVAL);
	assert_int_equal(bufpool_init(&pool, CHUNK, CHUNK - 1, 0), -EINVAL);
	assert_int_equal(bufpool_init(&pool, CHUNK, 2 * CHUNK, 2 * CHUNK), -EINVAL);
}

static void chunks_are_aligned_and_whole(void **state)
{
	struct bufpool pool;
	struct bufpool_cache c;
	assert_int_equal(bufpool_init(&pool, CHUNK, 4 * CHUNK, 0), 0);
	bufpool_cache_init(&c, &pool, 4);
	char *chunk = bufpool_get(&c);
	assert_non_null(chunk);
	assert_int_equal((uintptr_t)chunk % 4096, 0);
	memset(chunk, 0xab, CHUNK);
	bufpool_put(&c, chunk);
	bufpool_cache_fini(&c);
	assert_int_equal(bufpool_chunks(&pool), 0);
}

static void a_returned_chunk_is_reused(void **state)
{
	struct bufpool pool;
	struct bufpool_cache c;
	assert_int_equal(bufpool_init(&pool, CHUNK, 4 * CHUNK, 0), 0);
	bufpool_cache_init(&c, &pool, 4);
	void *a = bufpool_get(&c);
	bufpool_put(&c, a);
	assert_ptr_equal(bufpool_get(&c), a);
	assert_int_equal(bufpool_chunks(&pool), 1);
	bufpool_put(&c, a);
	bufpool_cache_fini(&c);
}

static void the_budget_caps_live_chunks(void **state)
{
	struct bufpool pool;
	struct bufpool_cache c;
	assert_int_equal(bufpool_init(&pool, CHUNK, 3 * CHUNK + 100, 0), 0);
	bufpool_cache_init(&c, &pool, 8);
	void *got[3];
	for (int i = 0; i < 3; i++)
		assert_non_null(got[i] = bufpool_get(&c));
	assert_null(bufpool_get(&c));
	bufpool_put(&c, got[1]);
	assert_non_null(got[1] = bufpool_get(&c));
	for (int i = 0; i < 3; i++)
		bufpool_put(&c, got[i]);
	bufpool_cache_fini(&c);
	assert_int_equal(bufpool_chunks(&pool), 0);
}

static void chunks_beyond_keep_go_back_to_the_system(void **state)
{
	struct bufpool pool;
	struct bufpool_cache c;
	assert_int_equal(bufpool_init(&pool, CHUNK, 8 * CHUNK, 0), 0);
	bufpool_cache_init(&c, &pool, 1);
	void *a = bufpool_get(&c);
	void *b = bufpool_get(&c);
	assert_int_equal(bufpool_chunks(&pool), 2);
	bufpool_put(&c, a);
	bufpool_put(&c, b);
	assert_int_equal(c.nfree, 1);
	/* The cached chunk is idle: no longer counted against the budget. */
	assert_int_equal(bufpool_chunks(&pool), 0);
	bufpool_cache_fini(&c);
	assert_int_equal(bufpool_chunks(&pool), 0);
}

static void iov_covers_the_length_in_chunks(void **state)
{
	struct bufpool pool;
	struct bufpool_cache c;
	assert_int_equal(bufpool_init(&pool, CHUNK, 4 * CHUNK, 0), 0);
	bufpool_cache_init(&c, &pool, 4);
	struct iovec iov[4];
	assert_int_equal(bufpool_get_iov(&c, 2 * CHUNK + 512, iov, 4, false), 3);
	assert_int_equal(iov[0].iov_len, CHUNK);
	assert_int_equal(iov[1].iov_len, CHUNK);
	assert_int_equal(iov[2].iov_len, 512);
	/* One chunk left in the budget: all or nothing. */
	struct iovec more[2];
	assert_int_equal(bufpool_get_iov(&c, 2 * CHUNK, more, 2, false), -ENOBUFS);
	assert_int_equal(bufpool_chunks(&pool), 3);
	assert_int_equal(bufpool_get_iov(&c, 5 * CHUNK, more, 2, false), -E2BIG);
	bufpool_put_iov(&c, iov, 3);
	bufpool_cache_fini(&c);
	assert_int_equal(bufpool_chunks(&pool), 0);
}

static void only_the_holder_takes_the_reserve(void **state)
{
	struct bufpool pool;
	struct bufpool_cache c;
	int a = 0, b = 0;
	assert_int_equal(bufpool_init(&pool, CHUNK, 4 * CHUNK, 2 * CHUNK), 0);
	bufpool_cache_init(&c, &pool, 4);
	struct iovec iov[4], more[2];
	assert_int_equal(bufpool_get_iov(&c, 2 * CHUNK, iov, 4, false), 2);
	assert_int_equal(bufpool_get_iov(&c, CHUNK, more, 2, false), -ENOBUFS);
	assert_true(bufpool_reserve_take(&pool, &a));
	assert_true(bufpool_reserve_take(&pool, &a));
	assert_false(bufpool_reserve_take(&pool, &b));
	assert_int_equal(bufpool_get_iov(&c, 2 * CHUNK, more, 2, true), 2);
	assert_int_equal(bufpool_get_iov(&c, CHUNK, iov + 2, 2, true), -ENOBUFS);
	bufpool_reserve_drop(&pool, &b);
	assert_false(bufpool_reserve_take(&pool, &b));
	bufpool_reserve_drop(&pool, &a);
	assert_true(bufpool_reserve_take(&pool, &b));
	bufpool_put_iov(&c, iov, 2);
	bufpool_put_iov(&c, more, 2);
	assert_int_equal(bufpool_chunks(&pool), 0);
	bufpool_cache_fini(&c);
}

static void the_overdraft_is_counted_apart_and_bounded(void **state)
{
	struct bufpool pool;
	struct bufpool_cache c;
	assert_int_equal(bufpool_init(&pool, CHUNK, 2 * CHUNK, 0), 0);
	bufpool_cache_init(&c, &pool, 4);
	struct iovec iov[2], over[4];
	assert_int_equal(bufpool_get_iov_overdraft(&c, CHUNK, over, 4), -ENOBUFS); /* none yet */
	bufpool_set_guarantee(&pool, 2 * CHUNK + 1, CHUNK, 5 * CHUNK);
	assert_int_equal(pool.overdraft_chunks, 3);
	assert_int_equal(pool.share_bytes, 5 * CHUNK);
	assert_int_equal(bufpool_get_iov(&c, 2 * CHUNK, iov, 2, false), 2);
	assert_int_equal(bufpool_get_iov_overdraft(&c, 4 * CHUNK, over, 3), -E2BIG);
	assert_int_equal(bufpool_get_iov_overdraft(&c, 4 * CHUNK, over, 4), -ENOBUFS);
	assert_int_equal(bufpool_get_iov_overdraft(&c, 2 * CHUNK + 512, over, 4), 3);
	assert_int_equal(over[2].iov_len, 512);
	assert_int_equal(bufpool_chunks(&pool), 2);
	assert_int_equal(bufpool_overdraft_in_use(&pool), 3);
	bufpool_put_iov_overdraft(&c, over, 3);
	assert_int_equal(bufpool_overdraft_in_use(&pool), 0);
	assert_int_equal(bufpool_chunks(&pool), 2);
	bufpool_put_iov(&c, iov, 2);
	assert_int_equal(bufpool_chunks(&pool), 0);
	bufpool_cache_fini(&c);
}

#define NTHREADS 4
#define ROUNDS 20000

struct worker {
	struct bufpool *pool;
	unsigned refused;
	size_t most;
};

/* Each thread its own cache, chunks handed between threads' caches
 * through the shared budget; it must never be passed. */
static void *churn(void *arg)
{
	struct worker *w = arg;
	struct bufpool_cache c;
	bufpool_cache_init(&c, w->pool, 2);
	void *held[3] = { 0 };
	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned slot = r % 3;
		if (held[slot]) {
			bufpool_put(&c, held[slot]);
			held[slot] = NULL;
		} else if (!(held[slot] = bufpool_get(&c))) {
			w->refused++;
		} else {
			*(unsigned *)held[slot] = r;
		}
		size_t now = bufpool_chunks(w->pool);
		if (now > w->most)
			w->most = now;
	}
	for (unsigned i = 0; i < 3; i++)
		if (held[i])
			bufpool_put(&c, held[i]);
	bufpool_cache_fini(&c);
	return NULL;
}

static void threads_share_the_budget_without_passing_it(void **state)
{
	struct bufpool pool;
	assert_int_equal(bufpool_init(&pool, CHUNK, 6 * CHUNK, 0), 0);
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	for (unsigned i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .pool = &pool };
		assert_int_equal(pthread_create(&th[i], NULL, churn, &w[i]), 0);
	}
	for (unsigned i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_true(w[i].most <= 6);
	}
	assert_int_equal(bufpool_chunks(&pool), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_sizes_are_refused),
		cmocka_unit_test(chunks_are_aligned_and_whole),
		cmocka_unit_test(a_returned_chunk_is_reused),
		cmocka_unit_test(the_budget_caps_live_chunks),
		cmocka_unit_test(chunks_beyond_keep_go_back_to_the_system),
		cmocka_unit_test(iov_covers_the_length_in_chunks),
		cmocka_unit_test(only_the_holder_takes_the_reserve),
		cmocka_unit_test(the_overdraft_is_counted_apart_and_bounded),
		cmocka_unit_test(threads_share_the_budget_without_passing_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
