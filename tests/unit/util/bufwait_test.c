/* The per-thread wait queue for chunks: arrival order, no passing, the
 * reserve's holder first, chunks given back elsewhere found by the retry
 * timer, and the overdraft for groups under their minimum. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util/bufwait.h"

#define CHUNK (64 * 1024)

struct req {
	struct bufwait_entry e;
	struct iovec iov[8];
};

struct bench {
	struct loop loop;
	struct bufpool pool;
	struct bufwait bw;
	struct bufwait_entry *served[8];
	unsigned nserved;
	unsigned stop_at;
};

static struct bench *cur;

static void on_ready(struct bufwait_entry *e)
{
	cur->served[cur->nserved++] = e;
	if (cur->nserved >= cur->stop_at)
		cur->loop.stop = true;
}

/* A pool of budget chunks, reserve of them kept back. */
static int setup_pool(void **state, unsigned budget, unsigned reserve)
{
	struct bench *b = calloc(1, sizeof(*b));
	assert_non_null(b);
	assert_int_equal(loop_init(&b->loop, 16), 0);
	assert_int_equal(bufpool_init(&b->pool, CHUNK, (size_t)budget * CHUNK, (size_t)reserve * CHUNK), 0);
	bufwait_init(&b->bw, &b->pool, &b->loop, 8);
	cur = b;
	*state = b;
	return 0;
}

static int setup(void **state)
{
	return setup_pool(state, 4, 1);
}

static int teardown(void **state)
{
	struct bench *b = *state;
	bufwait_fini(&b->bw);
	loop_fini(&b->loop);
	free(b);
	return 0;
}

static void request(struct req *r, unsigned chunks, bool last)
{
	r->e = (struct bufwait_entry){ .iov = r->iov, .max_iov = 8, .len = chunks * CHUNK,
				       .last = last, .ready = on_ready };
}

static void run_until_served(struct bench *b, unsigned n)
{
	b->stop_at = n;
	while (b->nserved < n) {
		b->loop.stop = false;
		loop_run(&b->loop);
	}
}

static void a_request_within_the_budget_is_served_at_once(void **state)
{
	struct bench *b = *state;
	struct req r;
	request(&r, 3, true);
	assert_int_equal(bufwait_get(&b->bw, &r.e), 3);
	assert_false(r.e.queued);
	assert_int_equal(bufpool_chunks(&b->pool), 3);
	bufwait_put(&b->bw, r.iov, 3);
	assert_int_equal(bufpool_chunks(&b->pool), 0);
}

static void waiters_are_served_in_arrival_order_and_not_passed(void **state)
{
	struct bench *b = *state;
	struct req hog, big, small, late;
	int someone = 0;
	assert_true(bufpool_reserve_take(&b->pool, &someone));
	request(&hog, 3, true);
	assert_int_equal(bufwait_get(&b->bw, &hog.e), 3);
	request(&big, 2, true);
	assert_int_equal(bufwait_get(&b->bw, &big.e), 0);
	request(&small, 1, true);
	assert_int_equal(bufwait_get(&b->bw, &small.e), 0);
	/* One chunk back: enough for small, but big is first. */
	bufwait_put(&b->bw, hog.iov, 1);
	request(&late, 1, true);
	assert_int_equal(bufwait_get(&b->bw, &late.e), 0);
	bufwait_put(&b->bw, hog.iov + 1, 2);
	run_until_served(b, 1);
	assert_ptr_equal(b->served[0], &big.e);
	assert_int_equal(big.e.got, 2);
	bufwait_put(&b->bw, big.iov, 2);
	run_until_served(b, 3);
	assert_ptr_equal(b->served[1], &small.e);
	assert_ptr_equal(b->served[2], &late.e);
	bufwait_put(&b->bw, small.iov, 1);
	bufwait_put(&b->bw, late.iov, 1);
	bufpool_reserve_drop(&b->pool, &someone);
	assert_int_equal(bufpool_chunks(&b->pool), 0);
}

/* A writer asking burst after burst with one entry, as a task does. */
struct writer {
	struct bufwait_entry e;
	struct iovec iov[8];
	unsigned n;
};

static void on_writer_ready(struct bufwait_entry *e)
{
	struct writer *w = (struct writer *)((char *)e - offsetof(struct writer, e));
	w->n += e->got;
	on_ready(e);
}

static int ask(struct bench *b, struct writer *w, unsigned chunks, bool last)
{
	w->e.iov = w->iov + w->n;
	w->e.max_iov = 8 - w->n;
	w->e.len = chunks * CHUNK;
	w->e.last = last;
	w->e.ready = on_writer_ready;
	int n = bufwait_get(&b->bw, &w->e);
	if (n > 0)
		w->n += (unsigned)n;
	return n;
}

static int setup_two_writers(void **state)
{
	return setup_pool(state, 5, 2);
}

/* Two writes each hold part of what they need when the budget runs out:
 * the one that took the reserve goes before the other and finishes; the
 * other gets its burst once the first gives its chunks back. */
static void the_reserve_holder_goes_first_and_finishes(void **state)
{
	struct bench *b = *state;
	struct req hog;
	struct writer w1 = { 0 }, w2 = { 0 };
	request(&hog, 1, true);
	assert_int_equal(bufwait_get(&b->bw, &hog.e), 1);
	assert_int_equal(ask(b, &w1, 1, false), 1);
	assert_int_equal(ask(b, &w2, 1, false), 1);
	/* Outside the reserve the budget is spent: w1 takes the reserve. */
	assert_int_equal(ask(b, &w1, 1, false), 1);
	assert_int_equal(ask(b, &w2, 1, true), 0);
	/* w1's last burst does not fit yet; as the holder it queues first. */
	assert_int_equal(ask(b, &w1, 2, true), 0);
	assert_ptr_equal(b->bw.head, &w1.e);
	bufwait_put(&b->bw, hog.iov, 1);
	run_until_served(b, 1);
	assert_ptr_equal(b->served[0], &w1.e);
	assert_int_equal(w1.n, 4);
	assert_true(w2.e.queued);
	/* w1 executes and gives everything back: w2 gets its burst. */
	bufwait_put(&b->bw, w1.iov, w1.n);
	run_until_served(b, 2);
	assert_ptr_equal(b->served[1], &w2.e);
	assert_int_equal(w2.n, 2);
	bufwait_put(&b->bw, w2.iov, w2.n);
	assert_int_equal(bufpool_chunks(&b->pool), 0);
	int other = 0;
	assert_true(bufpool_reserve_take(&b->pool, &other)); /* let go after the last */
	bufpool_reserve_drop(&b->pool, &other);
}

static void a_cancelled_waiter_leaves_and_lets_the_reserve_go(void **state)
{
	struct bench *b = *state;
	struct req hog, w, next;
	request(&hog, 3, true);
	assert_int_equal(bufwait_get(&b->bw, &hog.e), 3);
	request(&w, 2, true);
	assert_int_equal(bufwait_get(&b->bw, &w.e), 0); /* took the reserve, still short */
	request(&next, 1, true);
	assert_int_equal(bufwait_get(&b->bw, &next.e), 0);
	bufwait_cancel(&b->bw, &w.e);
	assert_false(w.e.queued);
	/* next is the head now and may take the reserve. */
	run_until_served(b, 1);
	assert_ptr_equal(b->served[0], &next.e);
	bufwait_put(&b->bw, next.iov, 1);
	bufwait_put(&b->bw, hog.iov, 3);
	assert_int_equal(bufpool_chunks(&b->pool), 0);
}

static void chunks_given_back_through_another_cache_reach_a_waiter(void **state)
{
	struct bench *b = *state;
	struct bufpool_cache other;
	bufpool_cache_init(&other, &b->pool, 8);
	struct iovec elsewhere[4];
	int someone = 0;
	assert_true(bufpool_reserve_take(&b->pool, &someone));
	assert_int_equal(bufpool_get_iov(&other, 3 * CHUNK, elsewhere, 4, false), 3);
	struct req r;
	request(&r, 2, true);
	assert_int_equal(bufwait_get(&b->bw, &r.e), 0);
	/* Nothing on this thread comes back: the retry timer finds them. */
	bufpool_put_iov(&other, elsewhere, 3);
	run_until_served(b, 1);
	assert_int_equal(r.e.got, 2);
	bufwait_put(&b->bw, r.iov, 2);
	bufpool_reserve_drop(&b->pool, &someone);
	bufpool_cache_fini(&other);
}

static void get_now_never_waits_nor_takes_the_reserve(void **state)
{
	struct bench *b = *state;
	struct req r, now;
	request(&r, 2, true);
	assert_int_equal(bufwait_get(&b->bw, &r.e), 2);
	request(&now, 2, false);
	assert_int_equal(bufwait_get_now(&b->bw, &now.e), -ENOBUFS);
	assert_false(now.e.queued);
	request(&now, 1, false);
	assert_int_equal(bufwait_get_now(&b->bw, &now.e), 1);
	bufwait_put(&b->bw, r.iov, 2);
	bufwait_put(&b->bw, now.iov, 1);
}

/* The pool of setup (4 chunks, 1 reserved) with an overdraft of 2 and a
 * minimum of 2 per group. */
static int setup_guarantee(void **state)
{
	setup_pool(state, 4, 1);
	struct bench *b = *state;
	bufpool_set_guarantee(&b->pool, 2 * CHUNK, 2 * CHUNK, 0);
	return 0;
}

static void grouped(struct req *r, struct bufwait_account *group, unsigned chunks)
{
	request(r, chunks, true);
	r->e.account = group;
}

static void a_group_under_its_minimum_draws_on_the_overdraft(void **state)
{
	struct bench *b = *state;
	struct bufwait_account light = { 0 };
	struct req hog, r;
	request(&hog, 3, true);
	assert_int_equal(bufwait_get(&b->bw, &hog.e), 3); /* the budget is spent */
	grouped(&r, &light, 1);
	assert_int_equal(bufwait_get(&b->bw, &r.e), 1);
	assert_int_equal(r.e.over, 1);
	assert_int_equal(light.chunks, 1);
	assert_int_equal(bufpool_overdraft_in_use(&b->pool), 1);
	assert_int_equal(bufpool_chunks(&b->pool), 3);
	bufwait_release(&b->bw, &r.e, r.iov);
	assert_int_equal(light.chunks, 0);
	assert_int_equal(bufpool_overdraft_in_use(&b->pool), 0);
	bufwait_put(&b->bw, hog.iov, 3);
	assert_int_equal(bufpool_chunks(&b->pool), 0);
}

static void a_group_at_its_minimum_waits_for_the_budget(void **state)
{
	struct bench *b = *state;
	struct bufwait_account group = { 0 };
	struct req hog, first, second;
	int someone = 0;
	assert_true(bufpool_reserve_take(&b->pool, &someone)); /* nobody else's to take */
	request(&hog, 3, true);
	assert_int_equal(bufwait_get(&b->bw, &hog.e), 3);
	grouped(&first, &group, 2);
	assert_int_equal(bufwait_get(&b->bw, &first.e), 2);
	grouped(&second, &group, 1); /* 3 chunks would pass its minimum */
	assert_int_equal(bufwait_get(&b->bw, &second.e), 0);
	assert_true(second.e.queued);
	bufpool_reserve_drop(&b->pool, &someone);
	bufwait_put(&b->bw, hog.iov, 3);
	run_until_served(b, 1);
	assert_int_equal(second.e.over, 0);
	assert_int_equal(group.chunks, 3);
	bufwait_release(&b->bw, &second.e, second.iov);
	bufwait_release(&b->bw, &first.e, first.iov);
	assert_int_equal(group.chunks, 0);
	assert_int_equal(bufpool_chunks(&b->pool), 0);
	assert_int_equal(bufpool_overdraft_in_use(&b->pool), 0);
}

static void a_guaranteed_newcomer_takes_the_overdraft_not_a_waiters_turn(void **state)
{
	struct bench *b = *state;
	struct bufwait_account light = { 0 };
	struct req hog, big, r;
	request(&hog, 2, true);
	assert_int_equal(bufwait_get(&b->bw, &hog.e), 2);
	request(&big, 3, true);
	assert_int_equal(bufwait_get(&b->bw, &big.e), 0);
	grouped(&r, &light, 1); /* the budget has a chunk, but big waits for it */
	assert_int_equal(bufwait_get(&b->bw, &r.e), 1);
	assert_int_equal(r.e.over, 1);
	assert_int_equal(bufpool_chunks(&b->pool), 2);
	bufwait_put(&b->bw, hog.iov, 2);
	run_until_served(b, 1);
	assert_ptr_equal(b->served[0], &big.e);
	bufwait_put(&b->bw, big.iov, 3);
	bufwait_release(&b->bw, &r.e, r.iov);
	assert_int_equal(bufpool_chunks(&b->pool), 0);
	assert_int_equal(bufpool_overdraft_in_use(&b->pool), 0);
}

static void the_overdraft_runs_out_and_then_groups_wait_or_are_refused(void **state)
{
	struct bench *b = *state;
	struct bufwait_account one = { 0 }, two = { 0 }, three = { 0 };
	struct req hog, a, c, now;
	int someone = 0;
	assert_true(bufpool_reserve_take(&b->pool, &someone));
	request(&hog, 3, true);
	assert_int_equal(bufwait_get(&b->bw, &hog.e), 3);
	grouped(&a, &one, 1);
	assert_int_equal(bufwait_get(&b->bw, &a.e), 1);
	grouped(&now, &two, 2); /* within two's minimum, past what is left */
	assert_int_equal(bufwait_get_now(&b->bw, &now.e), -ENOBUFS);
	grouped(&now, &two, 1);
	assert_int_equal(bufwait_get_now(&b->bw, &now.e), 1);
	assert_int_equal(now.e.over, 1);
	grouped(&c, &three, 1);
	assert_int_equal(bufwait_get(&b->bw, &c.e), 0);
	assert_int_equal(bufpool_overdraft_in_use(&b->pool), 2);
	/* Overdraft coming back serves the waiter, from the overdraft. */
	bufwait_release(&b->bw, &a.e, a.iov);
	run_until_served(b, 1);
	assert_ptr_equal(b->served[0], &c.e);
	assert_int_equal(c.e.over, 1);
	bufwait_release(&b->bw, &c.e, c.iov);
	bufwait_release(&b->bw, &now.e, now.iov);
	bufwait_put(&b->bw, hog.iov, 3);
	bufpool_reserve_drop(&b->pool, &someone);
	assert_int_equal(bufpool_chunks(&b->pool), 0);
	assert_int_equal(bufpool_overdraft_in_use(&b->pool), 0);
	assert_int_equal(one.chunks + two.chunks + three.chunks, 0);
}

static void release_gives_each_chunk_back_where_it_came_from(void **state)
{
	struct bench *b = *state;
	struct bufwait_account group = { 0 };
	struct req hog, r;
	request(&hog, 2, true);
	assert_int_equal(bufwait_get(&b->bw, &hog.e), 2);
	/* One requester, two requests: the first from the budget, the second
	 * from the overdraft, kept one after the other in its iov. */
	grouped(&r, &group, 1);
	r.e.last = false;
	assert_int_equal(bufwait_get(&b->bw, &r.e), 1);
	r.e.iov = r.iov + 1;
	r.e.last = true;
	assert_int_equal(bufwait_get(&b->bw, &r.e), 1);
	assert_int_equal(r.e.held, 2);
	assert_int_equal(r.e.over, 1);
	assert_int_equal(bufpool_chunks(&b->pool), 3);
	bufwait_release(&b->bw, &r.e, r.iov);
	assert_int_equal(r.e.held, 0);
	assert_int_equal(group.chunks, 0);
	assert_int_equal(bufpool_chunks(&b->pool), 2);
	assert_int_equal(bufpool_overdraft_in_use(&b->pool), 0);
	bufwait_put(&b->bw, hog.iov, 2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_request_within_the_budget_is_served_at_once),
		T(waiters_are_served_in_arrival_order_and_not_passed),
		cmocka_unit_test_setup_teardown(the_reserve_holder_goes_first_and_finishes,
						setup_two_writers, teardown),
		T(a_cancelled_waiter_leaves_and_lets_the_reserve_go),
		T(chunks_given_back_through_another_cache_reach_a_waiter),
		T(get_now_never_waits_nor_takes_the_reserve),
#define G(name) cmocka_unit_test_setup_teardown(name, setup_guarantee, teardown)
		G(a_group_under_its_minimum_draws_on_the_overdraft),
		G(a_group_at_its_minimum_waits_for_the_budget),
		G(a_guaranteed_newcomer_takes_the_overdraft_not_a_waiters_turn),
		G(the_overdraft_runs_out_and_then_groups_wait_or_are_refused),
		G(release_gives_each_chunk_back_where_it_came_from),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
