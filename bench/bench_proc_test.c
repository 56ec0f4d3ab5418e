#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench_proc.h"

static void utime_and_stime_are_summed(void **state)
{
	uint64_t t = 0;

	assert_int_equal(bench_proc_parse_cpu_ticks(
		"1234 (tgtd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 17 0 99\n",
		&t), 0);
	assert_int_equal(t, 325);
}

static void comm_with_spaces_and_parentheses_is_skipped(void **state)
{
	uint64_t t = 0;

	assert_int_equal(bench_proc_parse_cpu_ticks(
		"42 (a) b (c) d) R 1 42 42 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 5", &t), 0);
	assert_int_equal(t, 15);
}

static void truncated_or_garbled_text_is_refused(void **state)
{
	uint64_t t = 9;

	assert_int_equal(bench_proc_parse_cpu_ticks("", &t), -1);
	assert_int_equal(bench_proc_parse_cpu_ticks("42 no parenthesis S 1 2", &t), -1);
	assert_int_equal(bench_proc_parse_cpu_ticks("42 (x) S 1 42 42 0 -1 0 0 0 0 0 7", &t), -1);
	assert_int_equal(bench_proc_parse_cpu_ticks("42 (x) S 1 42 42 0 -1 0 0 0 0 0 7 -8 0", &t), -1);
	assert_int_equal(bench_proc_parse_cpu_ticks("42 (x) S 1 42 42 0 -1 0 0 0 0 0 7x 8 0", &t), -1);
	assert_int_equal(t, 9);
}

static void rss_anon_is_read_in_kib(void **state)
{
	uint64_t kib = 0;

	assert_int_equal(bench_proc_parse_rss_kib(
		"Name:\tlunard\nVmPeak:\t  123456 kB\nVmHWM:\t    9000 kB\n"
		"VmRSS:\t    8421 kB\nRssAnon:\t    5000 kB\nThreads:\t4\n", &kib), 0);
	assert_int_equal(kib, 5000);
}

static void status_without_rss_anon_is_refused(void **state)
{
	uint64_t kib = 7;

	/* A kernel thread's status has no Vm or Rss lines. */
	assert_int_equal(bench_proc_parse_rss_kib("Name:\tkthreadd\nThreads:\t1\n", &kib), -1);
	/* Only a line's start counts: RssAnon inside another name does not. */
	assert_int_equal(bench_proc_parse_rss_kib("Name:\tx\nNotRssAnon:\t1 kB\n", &kib), -1);
	assert_int_equal(bench_proc_parse_rss_kib("Name:\tx\nRssAnon:\t12 MB\n", &kib), -1);
	assert_int_equal(bench_proc_parse_rss_kib("Name:\tx\nRssAnon:\t-1 kB\n", &kib), -1);
	assert_int_equal(kib, 7);
}

static void own_process_is_readable(void **state)
{
	uint64_t ns, kib = 0;

	assert_int_equal(bench_proc_cpu_ns((long)getpid(), &ns), 0);
	assert_int_equal(bench_proc_rss_kib((long)getpid(), &kib), 0);
	assert_true(kib > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utime_and_stime_are_summed),
		cmocka_unit_test(comm_with_spaces_and_parentheses_is_skipped),
		cmocka_unit_test(truncated_or_garbled_text_is_refused),
		cmocka_unit_test(rss_anon_is_read_in_kib),
		cmocka_unit_test(status_without_rss_anon_is_refused),
		cmocka_unit_test(own_process_is_readable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
