/* The LU's LBA range lock: which requests overlap, who waits, the order
 * waiters are granted in, and grants that cross threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scsi/range_lock.h"
#include "util/macros.h"

struct waiter {
	struct range_lock_req req;
	struct loop *loop;
	int order; /* 0 until granted, then 1, 2, ... */
};

static struct loop main_loop;
static int grants;

static void on_granted(struct loop_msg *msg)
{
	struct waiter *w = container_of(msg, struct waiter, req.granted);
	w->order = ++grants;
	w->loop->stop = true;
}

static void req_init(struct waiter *w, struct loop *loop, uint64_t lba, uint64_t n, bool excl)
{
	w->req = (struct range_lock_req){ .lba = lba, .nblocks = n, .exclusive = excl,
					  .loop = loop };
	w->req.granted.fn = on_granted;
	w->loop = loop;
	w->order = 0;
}

/* Runs the loop until one grant message has run. */
static void run_one(struct loop *loop)
{
	loop->stop = false;
	loop_run(loop);
}

/* Runs the main loop until n grants in all have run. */
static void run_until(int n)
{
	while (grants < n)
		run_one(&main_loop);
}

static int setup(void **state)
{
	(void)state;
	grants = 0;
	return loop_init(&main_loop, 16);
}

static int teardown(void **state)
{
	(void)state;
	loop_fini(&main_loop);
	return 0;
}

static void writes_share_without_waiting(void **state)
{
	(void)state;
	struct range_lock rl;
	range_lock_init(&rl);
	struct waiter a, b;
	req_init(&a, &main_loop, 0, 8, false);
	req_init(&b, &main_loop, 4, 8, false);
	assert_true(range_lock_acquire(&rl, &a.req));
	assert_true(range_lock_acquire(&rl, &b.req));
	assert_true(a.req.fast && b.req.fast);
	range_lock_release(&rl, &a.req);
	range_lock_release(&rl, &b.req);
	range_lock_fini(&rl);
}

static void disjoint_exclusive_ranges_do_not_wait(void **state)
{
	(void)state;
	struct range_lock rl;
	range_lock_init(&rl);
	struct waiter a, b, w;
	req_init(&a, &main_loop, 0, 8, true);
	req_init(&b, &main_loop, 8, 8, true);
	req_init(&w, &main_loop, 16, 1, false);
	assert_true(range_lock_acquire(&rl, &a.req));
	assert_true(range_lock_acquire(&rl, &b.req));
	assert_true(range_lock_acquire(&rl, &w.req));
	assert_false(w.req.fast);
	range_lock_release(&rl, &w.req);
	range_lock_release(&rl, &a.req);
	range_lock_release(&rl, &b.req);
	range_lock_fini(&rl);
}

static void write_overlapping_exclusive_waits(void **state)
{
	(void)state;
	struct range_lock rl;
	range_lock_init(&rl);
	struct waiter caw, w;
	req_init(&caw, &main_loop, 10, 2, true);
	req_init(&w, &main_loop, 11, 1, false);
	assert_true(range_lock_acquire(&rl, &caw.req));
	assert_false(range_lock_acquire(&rl, &w.req));
	range_lock_release(&rl, &caw.req);
	run_one(&main_loop);
	assert_int_equal(w.order, 1);
	range_lock_release(&rl, &w.req);
	range_lock_fini(&rl);
}

static void exclusive_waits_for_fast_write(void **state)
{
	(void)state;
	struct range_lock rl;
	range_lock_init(&rl);
	struct waiter w, caw;
	req_init(&w, &main_loop, 100, 1, false);
	req_init(&caw, &main_loop, 0, 1, true);
	assert_true(range_lock_acquire(&rl, &w.req));
	assert_true(w.req.fast);
	/* The fast write registered no range, so any exclusive request waits. */
	assert_false(range_lock_acquire(&rl, &caw.req));
	range_lock_release(&rl, &w.req);
	run_one(&main_loop);
	assert_int_equal(caw.order, 1);
	range_lock_release(&rl, &caw.req);
	range_lock_fini(&rl);
}

static void waiters_are_granted_in_order(void **state)
{
	(void)state;
	struct range_lock rl;
	range_lock_init(&rl);
	struct waiter first, second, third, later_write;
	req_init(&first, &main_loop, 0, 4, true);
	req_init(&second, &main_loop, 2, 4, true);
	req_init(&third, &main_loop, 3, 1, true);
	req_init(&later_write, &main_loop, 5, 1, false);
	assert_true(range_lock_acquire(&rl, &first.req));
	assert_false(range_lock_acquire(&rl, &second.req));
	assert_false(range_lock_acquire(&rl, &third.req));
	/* No conflict with what is held, but with an older waiter. */
	assert_false(range_lock_acquire(&rl, &later_write.req));
	range_lock_release(&rl, &first.req);
	run_one(&main_loop);
	assert_int_equal(second.order, 1);
	assert_int_equal(third.order, 0);
	range_lock_release(&rl, &second.req);
	run_until(3);
	assert_int_equal(third.order, 2);
	assert_int_equal(later_write.order, 3);
	range_lock_release(&rl, &third.req);
	range_lock_release(&rl, &later_write.req);
	range_lock_fini(&rl);
}

struct releaser {
	struct range_lock *rl;
	struct range_lock_req *req;
};

static void *release_elsewhere(void *arg)
{
	struct releaser *r = arg;
	range_lock_release(r->rl, r->req);
	return NULL;
}

static void grant_crosses_threads(void **state)
{
	(void)state;
	struct range_lock rl;
	range_lock_init(&rl);
	struct waiter caw, w;
	req_init(&caw, NULL, 0, 4, true);
	req_init(&w, &main_loop, 0, 4, false);
	assert_true(range_lock_acquire(&rl, &caw.req));
	assert_false(range_lock_acquire(&rl, &w.req));
	struct releaser r = { &rl, &caw.req };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, release_elsewhere, &r), 0);
	run_one(&main_loop);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.order, 1);
	range_lock_release(&rl, &w.req);
	range_lock_fini(&rl);
}

/* Two threads hammer one block, one with exclusive requests, one with
 * writes: no write ever runs while the exclusive holder does. */
#define ROUNDS 2000

struct hammer {
	struct range_lock *rl;
	bool exclusive;
	_Atomic int *inside_exclusive;
	_Atomic int *inside_write;
	int violations;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	struct loop loop;
	if (loop_init(&loop, 16) < 0)
		return NULL;
	for (int i = 0; i < ROUNDS; i++) {
		struct waiter w;
		req_init(&w, &loop, 7, 1, h->exclusive);
		if (!range_lock_acquire(h->rl, &w.req))
			run_one(&loop);
		_Atomic int *mine = h->exclusive ? h->inside_exclusive : h->inside_write;
		_Atomic int *theirs = h->exclusive ? h->inside_write : h->inside_exclusive;
		atomic_fetch_add(mine, 1);
		if (atomic_load(theirs))
			h->violations++;
		atomic_fetch_sub(mine, 1);
		range_lock_release(h->rl, &w.req);
	}
	loop_fini(&loop);
	return NULL;
}

static void exclusive_holds_off_writes_across_threads(void **state)
{
	(void)state;
	struct range_lock rl;
	range_lock_init(&rl);
	_Atomic int in_excl = 0, in_write = 0;
	struct hammer h[3] = {
		{ &rl, true, &in_excl, &in_write, 0 },
		{ &rl, false, &in_excl, &in_write, 0 },
		{ &rl, false, &in_excl, &in_write, 0 },
	};
	pthread_t t[ARRAY_SIZE(h)];
	for (size_t i = 0; i < ARRAY_SIZE(h); i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
	for (size_t i = 0; i < ARRAY_SIZE(h); i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(h[i].violations, 0);
	}
	assert_int_equal(atomic_load(&rl.exclusive), 0);
	assert_int_equal(atomic_load(&rl.fast_writers), 0);
	assert_null(rl.held_head);
	assert_null(rl.wait_head);
	range_lock_fini(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(writes_share_without_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(disjoint_exclusive_ranges_do_not_wait, setup,
						teardown),
		cmocka_unit_test_setup_teardown(write_overlapping_exclusive_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(exclusive_waits_for_fast_write, setup, teardown),
		cmocka_unit_test_setup_teardown(waiters_are_granted_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(grant_crosses_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(exclusive_holds_off_writes_across_threads, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
