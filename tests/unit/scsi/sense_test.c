#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/sense.h"

static void test_fixed_sense_carries_key_asc_ascq(void **state)
{
	uint8_t s[SENSE_DESC_MAX_LEN];
	size_t len = sense_build(s, SENSE_LBA_OUT_OF_RANGE, NULL, false);
	assert_int_equal(len, 18);
	assert_int_equal(s[0], 0x70);
	assert_int_equal(s[2], 0x05);
	assert_int_equal(s[7], 10);
	assert_int_equal(s[12], 0x21);
	assert_int_equal(s[13], 0x00);
	assert_int_equal(s[15], 0);
}

static void test_fixed_sense_field_pointer_with_bit(void **state)
{
	struct scsi_sense_detail d = { .field_valid = true, .in_cdb = true, .bit = 5, .field = 1 };
	uint8_t s[SENSE_DESC_MAX_LEN];
	sense_build(s, SENSE_INVALID_FIELD_IN_CDB, &d, false);
	assert_int_equal(s[12], 0x24);
	assert_int_equal(s[15], 0x80 | 0x40 | 0x08 | 5);
	assert_int_equal(s[16], 0);
	assert_int_equal(s[17], 1);
}

static void test_fixed_sense_field_pointer_without_bit(void **state)
{
	struct scsi_sense_detail d = { .field_valid = true, .in_cdb = true, .bit = -1, .field = 0x1234 };
	uint8_t s[SENSE_DESC_MAX_LEN];
	sense_build(s, SENSE_INVALID_FIELD_IN_CDB, &d, false);
	assert_int_equal(s[15], 0xC0);
	assert_int_equal(s[16], 0x12);
	assert_int_equal(s[17], 0x34);
}

static void test_fixed_sense_information_sets_valid(void **state)
{
	struct scsi_sense_detail d = { .info_valid = true, .info = 0x01020304 };
	uint8_t s[SENSE_DESC_MAX_LEN];
	sense_build(s, SENSE_MISCOMPARE, &d, false);
	assert_int_equal(s[0], 0xF0);
	assert_int_equal(s[2], 0x0E);
	assert_memory_equal(s + 3, "\x01\x02\x03\x04", 4);
	assert_int_equal(s[12], 0x1D);
}

static void test_fixed_sense_omits_information_too_wide(void **state)
{
	struct scsi_sense_detail d = { .info_valid = true, .info = 1ull << 40 };
	uint8_t s[SENSE_DESC_MAX_LEN];
	sense_build(s, SENSE_MISCOMPARE, &d, false);
	assert_int_equal(s[0], 0x70);
	assert_memory_equal(s + 3, "\0\0\0\0", 4);
}

static void test_descriptor_sense_header_only(void **state)
{
	uint8_t s[SENSE_DESC_MAX_LEN];
	size_t len = sense_build(s, SENSE_WRITE_PROTECTED, NULL, true);
	assert_int_equal(len, 8);
	assert_int_equal(s[0], 0x72);
	assert_int_equal(s[1], 0x07);
	assert_int_equal(s[2], 0x27);
	assert_int_equal(s[3], 0x00);
	assert_int_equal(s[7], 0);
}

static void test_descriptor_sense_field_pointer_descriptor(void **state)
{
	struct scsi_sense_detail d = { .field_valid = true, .in_cdb = true, .bit = 2, .field = 9 };
	uint8_t s[SENSE_DESC_MAX_LEN];
	size_t len = sense_build(s, SENSE_INVALID_FIELD_IN_CDB, &d, true);
	assert_int_equal(len, 16);
	assert_int_equal(s[7], 8);
	assert_int_equal(s[8], 0x02);
	assert_int_equal(s[9], 0x06);
	assert_int_equal(s[12], 0x80 | 0x40 | 0x08 | 2);
	assert_int_equal(s[13], 0);
	assert_int_equal(s[14], 9);
}

static void test_descriptor_sense_information_descriptor_is_64_bit(void **state)
{
	struct scsi_sense_detail d = { .info_valid = true, .info = 0x0102030405060708ull };
	uint8_t s[SENSE_DESC_MAX_LEN];
	size_t len = sense_build(s, SENSE_MISCOMPARE, &d, true);
	assert_int_equal(len, 20);
	assert_int_equal(s[7], 12);
	assert_int_equal(s[8], 0x00);
	assert_int_equal(s[9], 0x0A);
	assert_int_equal(s[10], 0x80);
	assert_memory_equal(s + 12, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
}

static void test_every_reason_maps_to_its_code(void **state)
{
	static const struct {
		enum sense_reason r;
		uint8_t key, asc, ascq;
	} want[] = {
		{ SENSE_NONE, 0x0, 0x00, 0x00 },
		{ SENSE_INVALID_OPCODE, 0x5, 0x20, 0x00 },
		{ SENSE_INVALID_FIELD_IN_CDB, 0x5, 0x24, 0x00 },
		{ SENSE_INVALID_FIELD_IN_PARAM_LIST, 0x5, 0x26, 0x00 },
		{ SENSE_INVALID_FIELD_IN_COMMAND_IU, 0x5, 0x0E, 0x03 },
		{ SENSE_PARAM_LIST_LENGTH_ERROR, 0x5, 0x1A, 0x00 },
		{ SENSE_LBA_OUT_OF_RANGE, 0x5, 0x21, 0x00 },
		{ SENSE_LUN_NOT_SUPPORTED, 0x5, 0x25, 0x00 },
		{ SENSE_WRITE_PROTECTED, 0x7, 0x27, 0x00 },
		{ SENSE_SOFTWARE_WRITE_PROTECTED, 0x7, 0x27, 0x02 },
		{ SENSE_SPACE_ALLOC_FAILED, 0x7, 0x27, 0x07 },
		{ SENSE_READ_ERROR, 0x3, 0x11, 0x00 },
		{ SENSE_WRITE_ERROR, 0x3, 0x0C, 0x00 },
		{ SENSE_SANITIZE_IN_PROGRESS, 0x2, 0x04, 0x1B },
		{ SENSE_SANITIZE_FAILED, 0x3, 0x31, 0x03 },
		{ SENSE_MISCOMPARE, 0xE, 0x1D, 0x00 },
		{ SENSE_POWER_ON_UA, 0x6, 0x29, 0x00 },
		{ SENSE_CAPACITY_CHANGED_UA, 0x6, 0x2A, 0x09 },
		{ SENSE_MODE_PARAMS_CHANGED_UA, 0x6, 0x2A, 0x01 },
		{ SENSE_REPORTED_LUNS_CHANGED_UA, 0x6, 0x3F, 0x0E },
		{ SENSE_LU_RESET_UA, 0x6, 0x29, 0x03 },
		{ SENSE_IT_NEXUS_LOSS_UA, 0x6, 0x29, 0x07 },
		{ SENSE_RESERVATIONS_PREEMPTED_UA, 0x6, 0x2A, 0x03 },
		{ SENSE_RESERVATIONS_RELEASED_UA, 0x6, 0x2A, 0x04 },
		{ SENSE_REGISTRATIONS_PREEMPTED_UA, 0x6, 0x2A, 0x05 },
		{ SENSE_INVALID_RELEASE_OF_PR, 0x5, 0x26, 0x04 },
		{ SENSE_INSUFFICIENT_REGISTRATION_RESOURCES, 0x5, 0x55, 0x04 },
		{ SENSE_SAVING_PARAMS_UNSUPPORTED, 0x5, 0x39, 0x00 },
		{ SENSE_INTERNAL_TARGET_FAILURE, 0x4, 0x44, 0x00 },
		{ SENSE_DATA_PHASE_ERROR, 0xB, 0x4B, 0x00 },
		{ SENSE_TOO_MANY_TARGET_DESCRIPTORS, 0x5, 0x26, 0x06 },
		{ SENSE_UNSUPPORTED_TARGET_DESCRIPTOR_TYPE, 0x5, 0x26, 0x07 },
		{ SENSE_TOO_MANY_SEGMENT_DESCRIPTORS, 0x5, 0x26, 0x08 },
		{ SENSE_UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE, 0x5, 0x26, 0x09 },
		{ SENSE_COPY_TARGET_UNREACHABLE, 0xA, 0x0D, 0x02 },
		{ SENSE_OPERATION_IN_PROGRESS, 0x5, 0x00, 0x16 },
		{ SENSE_INSUFFICIENT_RESOURCES_FOR_ROD_TOKEN, 0x5, 0x55, 0x0D },
		{ SENSE_TOKEN_INVALID, 0x5, 0x23, 0x00 },
		{ SENSE_REMOTE_TOKEN_USAGE_UNSUPPORTED, 0x5, 0x23, 0x02 },
		{ SENSE_TOKEN_UNKNOWN, 0x5, 0x23, 0x04 },
		{ SENSE_TOKEN_EXPIRED, 0x5, 0x23, 0x07 },
		{ SENSE_TOKEN_CANCELLED, 0x5, 0x23, 0x08 },
		{ SENSE_CONDITION_MET, 0x0, 0x00, 0x00 },
		{ SENSE_BUSY, 0x0, 0x00, 0x00 },
		{ SENSE_RESERVATION_CONFLICT, 0x0, 0x00, 0x00 },
		{ SENSE_TASK_SET_FULL, 0x0, 0x00, 0x00 },
		{ SENSE_TASK_ABORTED, 0x0, 0x00, 0x00 },
	};
	assert_int_equal(sizeof(want) / sizeof(want[0]), SENSE_REASON_COUNT);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct sense_code c = sense_code_of(want[i].r);
		assert_int_equal(c.key, want[i].key);
		assert_int_equal(c.asc, want[i].asc);
		assert_int_equal(c.ascq, want[i].ascq);
	}
}

/* SAM-5 5.3.1 status codes. */
static void test_status_only_reasons_map_to_their_status(void **state)
{
	assert_int_equal(sense_status_of(SENSE_CONDITION_MET), 0x04);
	assert_int_equal(sense_status_of(SENSE_BUSY), 0x08);
	assert_int_equal(sense_status_of(SENSE_RESERVATION_CONFLICT), 0x18);
	assert_int_equal(sense_status_of(SENSE_TASK_SET_FULL), 0x28);
	assert_int_equal(sense_status_of(SENSE_TASK_ABORTED), 0x40);
}

static void test_no_sense_is_good_and_errors_are_check_condition(void **state)
{
	assert_int_equal(sense_status_of(SENSE_NONE), SCSI_STATUS_GOOD);
	for (enum sense_reason r = SENSE_NONE + 1; r < SENSE_CONDITION_MET; r++)
		assert_int_equal(sense_status_of(r), SCSI_STATUS_CHECK_CONDITION);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_sense_carries_key_asc_ascq),
		cmocka_unit_test(test_fixed_sense_field_pointer_with_bit),
		cmocka_unit_test(test_fixed_sense_field_pointer_without_bit),
		cmocka_unit_test(test_fixed_sense_information_sets_valid),
		cmocka_unit_test(test_fixed_sense_omits_information_too_wide),
		cmocka_unit_test(test_descriptor_sense_header_only),
		cmocka_unit_test(test_descriptor_sense_field_pointer_descriptor),
		cmocka_unit_test(test_descriptor_sense_information_descriptor_is_64_bit),
		cmocka_unit_test(test_every_reason_maps_to_its_code),
		cmocka_unit_test(test_status_only_reasons_map_to_their_status),
		cmocka_unit_test(test_no_sense_is_good_and_errors_are_check_condition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
