#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bench_args.h"

#define PARSE(out, err, ...) ({ \
	char *argv_[] = { "lunar-bench", __VA_ARGS__, NULL }; \
	bench_args_parse((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, \
			 (out), (err), sizeof(err)); })

static void size_suffixes_are_binary_multiples(void **state)
{
	uint64_t v;

	assert_int_equal(bench_parse_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(bench_parse_size("128K", &v), 0);
	assert_int_equal(v, 131072);
	assert_int_equal(bench_parse_size("256M", &v), 0);
	assert_int_equal(v, 268435456);
	assert_int_equal(bench_parse_size("1g", &v), 0);
	assert_int_equal(v, 1073741824);
	assert_int_equal(bench_parse_size("512", &v), 0);
	assert_int_equal(v, 512);
}

static void size_rejects_garbage_and_overflow(void **state)
{
	uint64_t v = 7;

	assert_int_equal(bench_parse_size("", &v), -1);
	assert_int_equal(bench_parse_size("k", &v), -1);
	assert_int_equal(bench_parse_size("-4k", &v), -1);
	assert_int_equal(bench_parse_size("4kb", &v), -1);
	assert_int_equal(bench_parse_size("4x", &v), -1);
	assert_int_equal(bench_parse_size("99999999999999999999", &v), -1);
	assert_int_equal(bench_parse_size("17179869184G", &v), -1);
	assert_int_equal(v, 7);
}

static void defaults_apply_when_only_url_given(void **state)
{
	struct bench_args a;
	char err[128];

	assert_int_equal(PARSE(&a, err, "--url", "iscsi://127.0.0.1/iqn.x/0"), 0);
	assert_string_equal(a.url, "iscsi://127.0.0.1/iqn.x/0");
	assert_int_equal(a.pattern, BENCH_RANDREAD);
	assert_int_equal(a.bs, 4096);
	assert_int_equal(a.qd, 32);
	assert_int_equal(a.seconds, 5);
	assert_int_equal(a.max_ios, 0);
	assert_int_equal(a.span, 256ull << 20);
	assert_int_equal(a.connections, 1);
	assert_int_equal(a.rwmix_read, 70);
	assert_int_equal(a.cpu_pid, 0);
	assert_false(a.verify);
}

static void mix_cpu_pid_and_verify_are_stored(void **state)
{
	struct bench_args a;
	char err[128];

	assert_int_equal(PARSE(&a, err, "--url", "u", "--rw", "randrw", "--rwmix-read", "30",
			       "--cpu-pid", "1234", "--verify"), 0);
	assert_int_equal(a.pattern, BENCH_RANDRW);
	assert_int_equal(a.rwmix_read, 30);
	assert_int_equal(a.cpu_pid, 1234);
	assert_true(a.verify);
}

static void mix_percent_and_pid_are_bounded(void **state)
{
	struct bench_args a;
	char err[128];

	assert_int_equal(PARSE(&a, err, "--url", "u", "--rwmix-read", "101"), -1);
	assert_non_null(strstr(err, "--rwmix-read"));
	assert_int_equal(PARSE(&a, err, "--url", "u", "--cpu-pid", "0"), -1);
	assert_int_equal(PARSE(&a, err, "--url", "u", "--cpu-pid", "4194305"), -1);
}

static void every_option_is_stored(void **state)
{
	struct bench_args a;
	char err[128];

	assert_int_equal(PARSE(&a, err, "--url", "u", "--rw", "write", "--bs", "128k",
			       "--qd", "8", "--seconds", "60", "--max-ios", "1000",
			       "--span", "64M", "--seed", "42", "--connections", "2"), 0);
	assert_int_equal(a.pattern, BENCH_WRITE);
	assert_int_equal(a.bs, 131072);
	assert_int_equal(a.qd, 8);
	assert_int_equal(a.seconds, 60);
	assert_int_equal(a.max_ios, 1000);
	assert_int_equal(a.span, 64ull << 20);
	assert_int_equal(a.seed, 42);
	assert_int_equal(a.connections, 2);
}

static void seconds_above_sixty_is_refused(void **state)
{
	struct bench_args a;
	char err[128];

	assert_int_equal(PARSE(&a, err, "--url", "u", "--seconds", "61"), -1);
	assert_non_null(strstr(err, "--seconds"));
}

static void unknown_pattern_is_refused(void **state)
{
	struct bench_args a;
	char err[128];

	assert_int_equal(PARSE(&a, err, "--url", "u", "--rw", "trim"), -1);
	assert_non_null(strstr(err, "trim"));
}

static void block_size_not_multiple_of_512_is_refused(void **state)
{
	struct bench_args a;
	char err[128];

	assert_int_equal(PARSE(&a, err, "--url", "u", "--bs", "1000"), -1);
	assert_non_null(strstr(err, "512"));
}

static void span_not_multiple_of_block_size_is_refused(void **state)
{
	struct bench_args a;
	char err[128];

	assert_int_equal(PARSE(&a, err, "--url", "u", "--bs", "128k", "--span", "200k"), -1);
	assert_non_null(strstr(err, "--span"));
}

static void missing_url_is_refused(void **state)
{
	struct bench_args a;
	char err[128];

	assert_int_equal(PARSE(&a, err, "--qd", "4"), -1);
	assert_non_null(strstr(err, "--url"));
}

static void qd_and_connections_are_bounded(void **state)
{
	struct bench_args a;
	char err[128];

	assert_int_equal(PARSE(&a, err, "--url", "u", "--qd", "0"), -1);
	assert_int_equal(PARSE(&a, err, "--url", "u", "--qd", "257"), -1);
	assert_int_equal(PARSE(&a, err, "--url", "u", "--connections", "64", "--qd", "1"), 0);
	assert_int_equal(a.connections, 64);
	assert_int_equal(PARSE(&a, err, "--url", "u", "--connections", "128"), 0);
	assert_int_equal(PARSE(&a, err, "--url", "u", "--connections", "129"), -1);
	assert_int_equal(PARSE(&a, err, "--url", "u", "--max-ios", "100000001"), -1);
}

static void verify_buffers_are_bounded(void **state)
{
	struct bench_args a;
	char err[160];

	/* 256 x 64 x 64 KiB = 1 GiB: the most --verify may allocate. */
	assert_int_equal(PARSE(&a, err, "--url", "u", "--verify", "--qd", "256",
			       "--connections", "64", "--bs", "64k"), 0);
	assert_int_equal(PARSE(&a, err, "--url", "u", "--verify", "--qd", "256",
			       "--connections", "64", "--bs", "128k"), -1);
	assert_non_null(strstr(err, "1 GiB"));
	/* Without --verify every command shares one buffer. */
	assert_int_equal(PARSE(&a, err, "--url", "u", "--qd", "256",
			       "--connections", "64", "--bs", "128k"), 0);
}

static void pattern_predicates_follow_names(void **state)
{
	assert_true(bench_pattern_is_write(BENCH_RANDWRITE));
	assert_false(bench_pattern_is_write(BENCH_READ));
	assert_true(bench_pattern_is_random(BENCH_RANDREAD));
	assert_false(bench_pattern_is_random(BENCH_WRITE));
	assert_string_equal(bench_pattern_name(BENCH_RANDWRITE), "randwrite");
	assert_true(bench_pattern_is_random(BENCH_RANDRW));
	assert_false(bench_pattern_is_write(BENCH_RANDRW));
	assert_string_equal(bench_pattern_name(BENCH_RANDRW), "randrw");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(size_suffixes_are_binary_multiples),
		cmocka_unit_test(size_rejects_garbage_and_overflow),
		cmocka_unit_test(defaults_apply_when_only_url_given),
		cmocka_unit_test(mix_cpu_pid_and_verify_are_stored),
		cmocka_unit_test(mix_percent_and_pid_are_bounded),
		cmocka_unit_test(every_option_is_stored),
		cmocka_unit_test(seconds_above_sixty_is_refused),
		cmocka_unit_test(unknown_pattern_is_refused),
		cmocka_unit_test(block_size_not_multiple_of_512_is_refused),
		cmocka_unit_test(span_not_multiple_of_block_size_is_refused),
		cmocka_unit_test(missing_url_is_refused),
		cmocka_unit_test(qd_and_connections_are_bounded),
		cmocka_unit_test(verify_buffers_are_bounded),
		cmocka_unit_test(pattern_predicates_follow_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
