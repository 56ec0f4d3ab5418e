#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scsi/scsi.h"

static void test_small_lun_uses_peripheral_addressing(void **state)
{
	assert_int_equal(scsi_lun_encode(0), 0);
	assert_int_equal(scsi_lun_encode(5), 0x0005000000000000ull);
	assert_int_equal(scsi_lun_encode(255), 0x00FF000000000000ull);
}

static void test_large_lun_uses_flat_space(void **state)
{
	assert_int_equal(scsi_lun_encode(256), 0x4100000000000000ull);
	assert_int_equal(scsi_lun_encode(0x3FFF), 0x7FFF000000000000ull);
}

static void test_decode_peripheral(void **state)
{
	assert_int_equal(scsi_lun_decode(0x0007000000000000ull), 7);
}

static void test_decode_flat_space_below_256(void **state)
{
	assert_int_equal(scsi_lun_decode(0x4003000000000000ull), 3);
}

static void test_decode_rejects_nonzero_bus(void **state)
{
	assert_int_equal(scsi_lun_decode(0x0107000000000000ull), -1);
}

static void test_decode_rejects_second_level(void **state)
{
	assert_int_equal(scsi_lun_decode(0x0001000100000000ull), -1);
	assert_int_equal(scsi_lun_decode(0x0000000000000001ull), -1);
}

static void test_decode_rejects_lun_beyond_max(void **state)
{
	assert_int_equal(scsi_lun_decode(scsi_lun_encode(SCSI_MAX_LUNS)), -1);
}

static void test_decode_rejects_other_address_methods(void **state)
{
	assert_int_equal(scsi_lun_decode(0x8001000000000000ull), -1);
	assert_int_equal(scsi_lun_decode(0xC001000000000000ull), -1);
}

static void test_encode_decode_round_trip(void **state)
{
	for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++)
		assert_int_equal(scsi_lun_decode(scsi_lun_encode((uint16_t)lun)), lun);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_lun_uses_peripheral_addressing),
		cmocka_unit_test(test_large_lun_uses_flat_space),
		cmocka_unit_test(test_decode_peripheral),
		cmocka_unit_test(test_decode_flat_space_below_256),
		cmocka_unit_test(test_decode_rejects_nonzero_bus),
		cmocka_unit_test(test_decode_rejects_second_level),
		cmocka_unit_test(test_decode_rejects_lun_beyond_max),
		cmocka_unit_test(test_decode_rejects_other_address_methods),
		cmocka_unit_test(test_encode_decode_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
