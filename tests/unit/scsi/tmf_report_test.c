/* REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4 6.36): the bits of the
 * functions the iSCSI transport serves, short or extended. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_fixture.h"

static int setup(void **state)
{
	*state = fixture_new(false);
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static bool rstmf(struct fixture *f, uint8_t byte2, uint32_t alloc)
{
	uint8_t cdb[16] = { 0xA3, 0x0D, byte2, 0, 0, 0, (uint8_t)(alloc >> 24),
			    (uint8_t)(alloc >> 16), (uint8_t)(alloc >> 8), (uint8_t)alloc };
	return fixture_run(f, 0, cdb, NULL);
}

static void test_reports_every_function_served(void **state)
{
	struct fixture *f = *state;
	assert_true(rstmf(f, 0x00, 64));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 4);
	const uint8_t *p = f->task.buf;
	/* ATS ATSS CACAS CTSS LURS QTS; QAES QTSS ITNRS */
	assert_int_equal(p[0], 0xFC);
	assert_int_equal(p[1], 0x07);
	assert_int_equal(p[2], 0);
	assert_int_equal(p[3], 0);
}

static void test_repd_gives_the_extended_data(void **state)
{
	struct fixture *f = *state;
	assert_true(rstmf(f, 0x80, 64));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 16);
	const uint8_t *p = f->task.buf;
	assert_int_equal(p[0], 0xFC);
	assert_int_equal(p[3], 12);
	assert_int_equal(p[4] & 0x01, 0); /* TMFTMOV: no timeouts */
}

static void test_allocation_length_truncates(void **state)
{
	struct fixture *f = *state;
	assert_true(rstmf(f, 0x80, 2));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 2);
}

static void test_reserved_bit_in_byte2_is_refused(void **state)
{
	struct fixture *f = *state;
	assert_false(rstmf(f, 0x01, 64));
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_reports_every_function_served),
		T(test_repd_gives_the_extended_data),
		T(test_allocation_length_truncates),
		T(test_reserved_bit_in_byte2_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
