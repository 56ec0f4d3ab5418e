#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "bench_hist.h"

static struct bench_hist *hist_new(void)
{
	struct bench_hist *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	return h;
}

static void empty_histogram_reports_zero(void **state)
{
	struct bench_hist *h = hist_new();

	assert_int_equal(bench_hist_quantile(h, 0.5), 0);
	free(h);
}

static void small_values_are_exact(void **state)
{
	struct bench_hist *h = hist_new();

	for (uint64_t v = 1; v <= 100; v++)
		bench_hist_record(h, v);
	assert_int_equal(h->count, 100);
	assert_int_equal(bench_hist_quantile(h, 0.50), 50);
	assert_int_equal(bench_hist_quantile(h, 0.99), 99);
	assert_int_equal(bench_hist_quantile(h, 1.0), 100);
	free(h);
}

static void large_values_are_within_two_percent_below(void **state)
{
	static const uint64_t values[] = {
		128, 129, 1000, 4095, 4096, 123456, 987654321, 1ull << 40, UINT64_MAX,
	};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct bench_hist *h = hist_new();

		bench_hist_record(h, values[i]);
		uint64_t got = bench_hist_quantile(h, 0.5);
		assert_true(got <= values[i]);
		assert_true((double)(values[i] - got) <= (double)values[i] / 64.0);
		free(h);
	}
}

static void quantiles_pick_the_right_rank(void **state)
{
	struct bench_hist *h = hist_new();

	for (int i = 0; i < 990; i++)
		bench_hist_record(h, 20000);
	for (int i = 0; i < 10; i++)
		bench_hist_record(h, 5000000);
	uint64_t p50 = bench_hist_quantile(h, 0.50);
	uint64_t p99 = bench_hist_quantile(h, 0.99);
	uint64_t p999 = bench_hist_quantile(h, 0.999);
	assert_true(p50 > 19600 && p50 <= 20000);
	assert_int_equal(p99, p50);
	assert_true(p999 > 4900000 && p999 <= 5000000);
	free(h);
}

static void buckets_increase_with_value(void **state)
{
	uint64_t previous = 0;

	for (uint64_t v = 1; v < (1ull << 30); v = v * 5 / 4 + 1) {
		struct bench_hist *h = hist_new();

		bench_hist_record(h, v);
		uint64_t got = bench_hist_quantile(h, 1.0);
		assert_true(got >= previous);
		previous = got;
		free(h);
	}
}

static void mean_is_exact(void **state)
{
	struct bench_hist *h = hist_new();

	assert_true(bench_hist_mean(h) == 0);
	bench_hist_record(h, 1000);
	bench_hist_record(h, 123457);
	assert_true(bench_hist_mean(h) == 62228.5);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_histogram_reports_zero),
		cmocka_unit_test(small_values_are_exact),
		cmocka_unit_test(large_values_are_within_two_percent_below),
		cmocka_unit_test(quantiles_pick_the_right_rank),
		cmocka_unit_test(buckets_increase_with_value),
		cmocka_unit_test(mean_is_exact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
