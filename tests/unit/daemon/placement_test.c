/* Session placement: the least-loaded data-plane thread, ties in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "daemon/placement.h"
#include "util/macros.h"

static void equal_loads_are_taken_in_turn(void **state)
{
	unsigned load[3] = { 0 };
	unsigned from = 0;
	for (unsigned k = 0; k < 6; k++) {
		unsigned i = placement_pick(load, 3, from);
		assert_int_equal(i, k % 3);
		from = (i + 1) % 3;
	}
}

static void the_least_loaded_thread_wins_wherever_the_turn_is(void **state)
{
	unsigned load[4] = { 2, 2, 1, 2 };
	for (unsigned from = 0; from < 4; from++)
		assert_int_equal(placement_pick(load, 4, from), 2);
}

static void a_tie_goes_to_the_first_at_or_after_the_turn(void **state)
{
	unsigned load[4] = { 1, 3, 1, 3 };
	assert_int_equal(placement_pick(load, 4, 0), 0);
	assert_int_equal(placement_pick(load, 4, 1), 2);
	assert_int_equal(placement_pick(load, 4, 2), 2);
	assert_int_equal(placement_pick(load, 4, 3), 0);
}

static void one_thread_takes_everything(void **state)
{
	unsigned load[1] = { 7 };
	assert_int_equal(placement_pick(load, 1, 0), 0);
}

/* Four sessions on two threads, the two on thread 0 end, two more come:
 * both go to thread 0, as round robin would not have done. */
static void threads_emptied_by_ended_sessions_fill_first(void **state)
{
	unsigned load[2] = { 0 };
	unsigned from = 0;
	for (unsigned k = 0; k < 4; k++) {
		unsigned i = placement_pick(load, ARRAY_SIZE(load), from);
		load[i]++;
		from = (i + 1) % 2;
	}
	assert_int_equal(load[0], 2);
	assert_int_equal(load[1], 2);
	load[0] = 0;
	for (unsigned k = 0; k < 2; k++) {
		unsigned i = placement_pick(load, ARRAY_SIZE(load), from);
		assert_int_equal(i, 0);
		load[i]++;
		from = (i + 1) % 2;
	}
	assert_int_equal(load[0], 2);
	assert_int_equal(load[1], 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(equal_loads_are_taken_in_turn),
		cmocka_unit_test(the_least_loaded_thread_wins_wherever_the_turn_is),
		cmocka_unit_test(a_tie_goes_to_the_first_at_or_after_the_turn),
		cmocka_unit_test(one_thread_takes_everything),
		cmocka_unit_test(threads_emptied_by_ended_sessions_fill_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
