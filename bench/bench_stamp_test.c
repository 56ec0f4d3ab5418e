#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bench_stamp.h"

static void stamped_data_checks_clean(void **state)
{
	unsigned char buf[4096];

	bench_stamp_fill(buf, sizeof(buf), 1 << 20);
	assert_int_equal(bench_stamp_check(buf, sizeof(buf), 1 << 20), -1);
}

static void each_block_carries_its_own_offset(void **state)
{
	unsigned char buf[1024];

	bench_stamp_fill(buf, sizeof(buf), 0x0102030405060000ull);
	assert_int_equal(buf[1], 0x00);
	assert_int_equal(buf[2], 0x06);
	assert_int_equal(buf[7], 0x01);
	assert_int_equal(buf[512 + 1], 0x02);
	assert_memory_equal(buf + 8, "nch fixed write ", 16);
}

static void data_of_another_offset_is_caught(void **state)
{
	unsigned char buf[4096];

	bench_stamp_fill(buf, sizeof(buf), 8192);
	assert_int_equal(bench_stamp_check(buf, sizeof(buf), 4096), 1);
	/* Shifted by one block: offset 512's stamp differs from 0's in byte 1. */
	bench_stamp_fill(buf, sizeof(buf), 512);
	assert_int_equal(bench_stamp_check(buf, sizeof(buf), 0), 1);
}

static void zeros_and_a_flipped_byte_are_caught(void **state)
{
	unsigned char buf[1024];

	memset(buf, 0, sizeof(buf));
	assert_int_equal(bench_stamp_check(buf, sizeof(buf), 0), 8);
	bench_stamp_fill(buf, sizeof(buf), 0);
	buf[700] ^= 1;
	assert_int_equal(bench_stamp_check(buf, sizeof(buf), 0), 700);
}

static void motif_is_the_stamp_without_offsets(void **state)
{
	unsigned char a[512], b[512];

	bench_stamp_motif(a, sizeof(a));
	bench_stamp_fill(b, sizeof(b), 0);
	assert_memory_equal(a + 8, b + 8, sizeof(a) - 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stamped_data_checks_clean),
		cmocka_unit_test(each_block_carries_its_own_offset),
		cmocka_unit_test(data_of_another_offset_is_caught),
		cmocka_unit_test(zeros_and_a_flipped_byte_are_caught),
		cmocka_unit_test(motif_is_the_stamp_without_offsets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
