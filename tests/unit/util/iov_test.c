/* Walking iovec arrays: slices across entries, copies in and out, and
 * comparison against flat bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/iov.h"

static uint8_t a[10], b[6], c[8];
static const struct iovec three[] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };

static void a_slice_inside_one_entry_is_one_entry(void **state)
{
	struct iovec out[3];
	assert_int_equal(iov_slice(three, 3, 2, 5, out, 3), 1);
	assert_ptr_equal(out[0].iov_base, a + 2);
	assert_int_equal(out[0].iov_len, 5);
	assert_int_equal(iov_slice_count(three, 3, 2, 5), 1);
}

static void a_slice_across_entries_trims_both_ends(void **state)
{
	struct iovec out[3];
	assert_int_equal(iov_slice(three, 3, 8, 12, out, 3), 3);
	assert_ptr_equal(out[0].iov_base, a + 8);
	assert_int_equal(out[0].iov_len, 2);
	assert_ptr_equal(out[1].iov_base, b);
	assert_int_equal(out[1].iov_len, 6);
	assert_ptr_equal(out[2].iov_base, c);
	assert_int_equal(out[2].iov_len, 4);
	assert_int_equal(iov_slice_count(three, 3, 8, 12), 3);
}

static void a_slice_starting_on_a_boundary_skips_the_entry_before(void **state)
{
	struct iovec out[3];
	assert_int_equal(iov_slice(three, 3, 10, 6, out, 3), 1);
	assert_ptr_equal(out[0].iov_base, b);
	assert_int_equal(out[0].iov_len, 6);
}

static void a_slice_stops_at_max_and_at_the_end(void **state)
{
	struct iovec out[3];
	assert_int_equal(iov_slice(three, 3, 0, 24, out, 2), 2);
	assert_int_equal(iov_slice(three, 3, 20, 100, out, 3), 1);
	assert_int_equal(out[0].iov_len, 4);
	assert_int_equal(iov_slice(three, 3, 24, 1, out, 3), 0);
}

static void scatter_and_gather_cross_entries(void **state)
{
	uint8_t in[24], back[24];
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i + 1);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(c, 0, sizeof(c));
	iov_scatter(three, 3, 5, in, 15);
	assert_int_equal(a[4], 0);
	assert_int_equal(a[5], 1);
	assert_int_equal(b[0], 6);
	assert_int_equal(c[3], 15);
	assert_int_equal(c[4], 0);
	memset(back, 0, sizeof(back));
	iov_gather(three, 3, 5, back, 15);
	assert_memory_equal(back, in, 15);
}

static void mismatch_finds_the_first_differing_byte_in_a_later_entry(void **state)
{
	uint8_t flat[24];
	for (unsigned i = 0; i < sizeof(flat); i++)
		flat[i] = (uint8_t)i;
	iov_scatter(three, 3, 0, flat, sizeof(flat));
	assert_int_equal(iov_mismatch(three, 3, flat, 24), 24);
	b[3] ^= 0xFF;
	assert_int_equal(iov_mismatch(three, 3, flat, 24), 13);
	/* Only the bytes asked for are compared. */
	assert_int_equal(iov_mismatch(three, 3, flat, 13), 13);
	/* Bytes past the iovecs count as different. */
	b[3] ^= 0xFF;
	assert_int_equal(iov_mismatch(three, 2, flat, 20), 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_slice_inside_one_entry_is_one_entry),
		cmocka_unit_test(a_slice_across_entries_trims_both_ends),
		cmocka_unit_test(a_slice_starting_on_a_boundary_skips_the_entry_before),
		cmocka_unit_test(a_slice_stops_at_max_and_at_the_end),
		cmocka_unit_test(scatter_and_gather_cross_entries),
		cmocka_unit_test(mismatch_finds_the_first_differing_byte_in_a_later_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
