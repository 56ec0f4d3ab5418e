#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench_stats.h"

static void median_of_odd_and_even_counts(void **state)
{
	double odd[] = { 5, 1, 3 };
	double even[] = { 4, 1, 3, 10 };
	double one[] = { 7 };

	assert_true(bench_median(odd, 3) == 3);
	assert_true(bench_median(even, 4) == 3.5);
	assert_true(bench_median(one, 1) == 7);
	assert_true(isnan(bench_median(one, 0)));
}

static void spread_is_range_over_median(void **state)
{
	double v[] = { 110, 90, 100 };
	double zeros[] = { 0, 0, 0 };

	assert_true(fabs(bench_spread_pct(v, 3) - 20) < 1e-9);
	assert_true(isnan(bench_spread_pct(zeros, 3)));
	assert_true(isnan(bench_spread_pct(v, 0)));
}

static void keys_match_whole_words_only(void **state)
{
	const char *line = "round=2 workload=read-128k rw=read lat_p50_us=12.5 p50=9\n";
	char text[32];
	double v;

	assert_int_equal(bench_kv_text(line, "workload", text, sizeof(text)), 0);
	assert_string_equal(text, "read-128k");
	assert_int_equal(bench_kv_number(line, "p50", &v), 0);
	assert_true(v == 9);
	assert_int_equal(bench_kv_number(line, "lat_p50_us", &v), 0);
	assert_true(v == 12.5);
	assert_int_equal(bench_kv_text(line, "r", text, sizeof(text)), -1);
	assert_int_equal(bench_kv_text(line, "round", text, 1), -1);
}

static void non_numbers_are_refused(void **state)
{
	double v = 1;

	assert_int_equal(bench_kv_number("iops=12x", "iops", &v), -1);
	assert_int_equal(bench_kv_number("iops=", "iops", &v), -1);
	assert_int_equal(bench_kv_number("iops=inf", "iops", &v), -1);
	assert_int_equal(bench_kv_number("mibps=3", "iops", &v), -1);
	assert_true(v == 1);
}

static void counts_keep_three_significant_digits(void **state)
{
	char s[16];

	bench_format_count(950, s, sizeof(s));
	assert_string_equal(s, "950");
	bench_format_count(1234, s, sizeof(s));
	assert_string_equal(s, "1.23K");
	bench_format_count(86234, s, sizeof(s));
	assert_string_equal(s, "86.2K");
	bench_format_count(123456, s, sizeof(s));
	assert_string_equal(s, "123K");
	bench_format_count(1234567, s, sizeof(s));
	assert_string_equal(s, "1.23M");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(median_of_odd_and_even_counts),
		cmocka_unit_test(spread_is_range_over_median),
		cmocka_unit_test(keys_match_whole_words_only),
		cmocka_unit_test(non_numbers_are_refused),
		cmocka_unit_test(counts_keep_three_significant_digits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
