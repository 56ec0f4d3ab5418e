/* The per-call-site log limit: a burst passes, the rest of the window is
 * dropped and counted, and the next line that passes carries the count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/log.h"

static void a_burst_passes_without_a_count(void **state)
{
	struct log_limit l = { 0 };
	unsigned suppressed = 99;
	for (unsigned i = 0; i < LOG_LIMIT_BURST; i++) {
		assert_true(log_limit_allow(&l, 5000 + i, &suppressed));
		assert_int_equal(suppressed, 0);
	}
}

static void lines_past_the_burst_are_dropped_within_the_window(void **state)
{
	struct log_limit l = { 0 };
	unsigned suppressed;
	for (unsigned i = 0; i < LOG_LIMIT_BURST; i++)
		log_limit_allow(&l, 5000, &suppressed);
	assert_false(log_limit_allow(&l, 5000, &suppressed));
	assert_false(log_limit_allow(&l, 5000 + LOG_LIMIT_WINDOW_MS - 1, &suppressed));
	assert_int_equal(l.suppressed, 2);
}

static void the_next_window_reports_what_was_dropped_once(void **state)
{
	struct log_limit l = { 0 };
	unsigned suppressed;
	for (unsigned i = 0; i < LOG_LIMIT_BURST + 3; i++)
		log_limit_allow(&l, 5000, &suppressed);
	assert_true(log_limit_allow(&l, 5000 + LOG_LIMIT_WINDOW_MS, &suppressed));
	assert_int_equal(suppressed, 3);
	assert_true(log_limit_allow(&l, 5000 + LOG_LIMIT_WINDOW_MS, &suppressed));
	assert_int_equal(suppressed, 0);
}

static void a_quiet_call_site_starts_a_fresh_window(void **state)
{
	struct log_limit l = { 0 };
	unsigned suppressed;
	assert_true(log_limit_allow(&l, 1000, &suppressed));
	for (unsigned i = 1; i < LOG_LIMIT_BURST; i++)
		assert_true(log_limit_allow(&l, 90000 + i, &suppressed));
	assert_true(log_limit_allow(&l, 90000 + LOG_LIMIT_BURST, &suppressed));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_burst_passes_without_a_count),
		cmocka_unit_test(lines_past_the_burst_are_dropped_within_the_window),
		cmocka_unit_test(the_next_window_reports_what_was_dropped_once),
		cmocka_unit_test(a_quiet_call_site_starts_a_fresh_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
