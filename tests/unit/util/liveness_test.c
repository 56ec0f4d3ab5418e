/* Liveness checks: a loop that does not turn makes the check false, and
 * it is true again once the loop answers. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "util/liveness.h"
#include "util/macros.h"

struct turning {
	struct loop loop;
	pthread_t thread;
	struct loop_msg stop;
};

static void *run_loop(void *arg)
{
	loop_run(arg);
	return NULL;
}

static void stop_here(struct loop_msg *msg)
{
	struct turning *t = container_of(msg, struct turning, stop);
	t->loop.stop = true;
}

/* Waits (at most 5 s) until every probe is answered. */
static bool all_answered(struct liveness *l)
{
	for (int tries = 0; tries < 5000; tries++) {
		bool all = true;
		for (unsigned i = 0; i < l->n; i++)
			all = all && atomic_load(&l->probes[i].answered);
		if (all)
			return true;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return false;
}

static void stuck_loop_fails_the_check_until_it_turns(void **state)
{
	struct turning t[2] = { 0 };
	struct loop *loops[2] = { &t[0].loop, &t[1].loop };
	for (int i = 0; i < 2; i++)
		assert_int_equal(loop_init(&t[i].loop, 8), 0);
	struct liveness l;
	assert_int_equal(liveness_init(&l, loops, 2), 0);
	unsigned stuck = 99;

	assert_true(liveness_check(&l, &stuck));
	assert_int_equal(pthread_create(&t[0].thread, NULL, run_loop, &t[0].loop), 0);
	/* Loop 1 does not run: its probe stays queued. */
	nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
	assert_false(liveness_check(&l, &stuck));
	assert_int_equal(stuck, 1);
	assert_false(liveness_check(&l, &stuck));

	assert_int_equal(pthread_create(&t[1].thread, NULL, run_loop, &t[1].loop), 0);
	assert_true(all_answered(&l));
	assert_true(liveness_check(&l, &stuck));
	assert_true(all_answered(&l));
	assert_true(liveness_check(&l, &stuck));

	for (int i = 0; i < 2; i++) {
		t[i].stop.fn = stop_here;
		loop_post(&t[i].loop, &t[i].stop);
		pthread_join(t[i].thread, NULL);
	}
	liveness_fini(&l);
	for (int i = 0; i < 2; i++)
		loop_fini(&t[i].loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stuck_loop_fails_the_check_until_it_turns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
