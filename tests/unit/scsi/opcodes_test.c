#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/opcodes.h"

static const struct scsi_opdef *lookup(const uint8_t *cdb, enum sense_reason *r,
				       struct scsi_sense_detail *d)
{
	const struct scsi_opdef *op;
	memset(d, 0, sizeof(*d));
	*r = scsi_opdef_lookup(cdb, &op, d);
	return op;
}

static void test_lookup_finds_read10(void **state)
{
	uint8_t cdb[16] = { 0x28 };
	enum sense_reason r;
	struct scsi_sense_detail d;
	const struct scsi_opdef *op = lookup(cdb, &r, &d);
	assert_int_equal(r, SENSE_NONE);
	assert_non_null(op);
	assert_string_equal(op->name, "READ(10)");
	assert_int_equal(op->cdb_len, 10);
}

static void test_lookup_unknown_opcode_is_invalid_opcode(void **state)
{
	uint8_t cdb[16] = { 0xC5 };
	enum sense_reason r;
	struct scsi_sense_detail d;
	assert_null(lookup(cdb, &r, &d));
	assert_int_equal(r, SENSE_INVALID_OPCODE);
}

static void test_lookup_service_action_selects_read_capacity16(void **state)
{
	uint8_t cdb[16] = { 0x9E, 0x10 };
	enum sense_reason r;
	struct scsi_sense_detail d;
	const struct scsi_opdef *op = lookup(cdb, &r, &d);
	assert_non_null(op);
	assert_string_equal(op->name, "READ CAPACITY(16)");
}

static void test_lookup_unknown_service_action_points_at_it(void **state)
{
	uint8_t cdb[16] = { 0x9E, 0x1F };
	enum sense_reason r;
	struct scsi_sense_detail d;
	assert_null(lookup(cdb, &r, &d));
	assert_int_equal(r, SENSE_INVALID_FIELD_IN_CDB);
	assert_true(d.field_valid && d.in_cdb);
	assert_int_equal(d.field, 1);
	assert_int_equal(d.bit, 4);
}

static void test_every_entry_is_found_by_its_own_cdb(void **state)
{
	for (size_t i = 0; i < scsi_nopdefs; i++) {
		uint8_t cdb[16] = { scsi_opdefs[i].opcode };
		if (scsi_opdefs[i].service_action >= 0)
			cdb[1] = (uint8_t)scsi_opdefs[i].service_action;
		enum sense_reason r;
		struct scsi_sense_detail d;
		assert_ptr_equal(lookup(cdb, &r, &d), &scsi_opdefs[i]);
	}
}

/* The per-opcode index agrees with the table, for all 256 opcodes: which
 * have service actions, and the row of each that has none. */
static void test_an_opcode_has_service_actions_when_a_row_of_it_has_one(void **state)
{
	(void)state;
	for (unsigned opcode = 0; opcode < 256; opcode++) {
		bool any = false;
		for (size_t i = 0; i < scsi_nopdefs; i++)
			any |= scsi_opdefs[i].opcode == opcode && scsi_opdefs[i].service_action >= 0;
		assert_int_equal(scsi_opcode_has_service_actions((uint8_t)opcode), any);
		if (any)
			continue;
		uint8_t cdb[16] = { (uint8_t)opcode };
		enum sense_reason r;
		struct scsi_sense_detail d;
		assert_ptr_equal(lookup(cdb, &r, &d), scsi_opdef_find((uint8_t)opcode, -1));
	}
}

static void test_every_entry_rejects_control_byte_naca_and_link(void **state)
{
	for (size_t i = 0; i < scsi_nopdefs; i++) {
		const struct scsi_opdef *op = &scsi_opdefs[i];
		for (int bit = 0; bit <= 2; bit += 2) {
			uint8_t cdb[16] = { op->opcode };
			cdb[op->cdb_len - 1] = (uint8_t)(1u << bit);
			struct scsi_sense_detail d = { 0 };
			assert_int_equal(scsi_cdb_check_usage(op, cdb, &d),
					 SENSE_INVALID_FIELD_IN_CDB);
			assert_int_equal(d.field, op->cdb_len - 1);
			assert_int_equal(d.bit, bit);
		}
	}
}

/* Each bit outside an entry's mask is refused with a pointer to that very
 * byte and bit; each bit inside it passes. */
static void test_every_bit_outside_mask_is_pointed_at(void **state)
{
	for (size_t i = 0; i < scsi_nopdefs; i++) {
		const struct scsi_opdef *op = &scsi_opdefs[i];
		for (unsigned byte = 1; byte < op->cdb_len; byte++) {
			for (int bit = 0; bit < 8; bit++) {
				uint8_t cdb[16] = { op->opcode };
				cdb[byte] = (uint8_t)(1u << bit);
				struct scsi_sense_detail d = { 0 };
				enum sense_reason r = scsi_cdb_check_usage(op, cdb, &d);
				if (op->usage[byte] & (1u << bit)) {
					assert_int_equal(r, SENSE_NONE);
					continue;
				}
				assert_int_equal(r, SENSE_INVALID_FIELD_IN_CDB);
				assert_int_equal(d.field, byte);
				assert_int_equal(d.bit, bit);
			}
		}
	}
}

static void test_read10_rdprotect_is_invalid_field(void **state)
{
	uint8_t cdb[16] = { 0x28, 0x20 };
	const struct scsi_opdef *op;
	struct scsi_sense_detail d = { 0 };
	scsi_opdef_lookup(cdb, &op, &d);
	assert_int_equal(scsi_cdb_check_usage(op, cdb, &d), SENSE_INVALID_FIELD_IN_CDB);
	assert_int_equal(d.field, 1);
	assert_int_equal(d.bit, 5);
}

static void test_read10_dpo_fua_accepted(void **state)
{
	uint8_t cdb[16] = { 0x28, 0x18 };
	const struct scsi_opdef *op;
	struct scsi_sense_detail d = { 0 };
	scsi_opdef_lookup(cdb, &op, &d);
	assert_int_equal(scsi_cdb_check_usage(op, cdb, &d), SENSE_NONE);
}

static void test_inquiry_cmddt_is_invalid_field(void **state)
{
	uint8_t cdb[16] = { 0x12, 0x02 };
	const struct scsi_opdef *op;
	struct scsi_sense_detail d = { 0 };
	scsi_opdef_lookup(cdb, &op, &d);
	assert_int_equal(scsi_cdb_check_usage(op, cdb, &d), SENSE_INVALID_FIELD_IN_CDB);
	assert_int_equal(d.field, 1);
	assert_int_equal(d.bit, 1);
}

static void test_left_most_bad_bit_is_reported(void **state)
{
	uint8_t cdb[16] = { 0x2A, 0xE4 };
	const struct scsi_opdef *op;
	struct scsi_sense_detail d = { 0 };
	scsi_opdef_lookup(cdb, &op, &d);
	assert_int_equal(scsi_cdb_check_usage(op, cdb, &d), SENSE_INVALID_FIELD_IN_CDB);
	assert_int_equal(d.bit, 7);
}

static void test_exempt_flags_cover_inquiry_report_luns_request_sense(void **state)
{
	for (size_t i = 0; i < scsi_nopdefs; i++) {
		const struct scsi_opdef *op = &scsi_opdefs[i];
		bool exempt = op->opcode == 0x12 || op->opcode == 0xA0 || op->opcode == 0x03;
		assert_int_equal(!!(op->flags & OP_UA_EXEMPT), exempt);
		assert_int_equal(!!(op->flags & OP_ANY_LUN), exempt);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_finds_read10),
		cmocka_unit_test(test_lookup_unknown_opcode_is_invalid_opcode),
		cmocka_unit_test(test_lookup_service_action_selects_read_capacity16),
		cmocka_unit_test(test_lookup_unknown_service_action_points_at_it),
		cmocka_unit_test(test_every_entry_is_found_by_its_own_cdb),
		cmocka_unit_test(test_an_opcode_has_service_actions_when_a_row_of_it_has_one),
		cmocka_unit_test(test_every_entry_rejects_control_byte_naca_and_link),
		cmocka_unit_test(test_every_bit_outside_mask_is_pointed_at),
		cmocka_unit_test(test_read10_rdprotect_is_invalid_field),
		cmocka_unit_test(test_read10_dpo_fua_accepted),
		cmocka_unit_test(test_inquiry_cmddt_is_invalid_field),
		cmocka_unit_test(test_left_most_bad_bit_is_reported),
		cmocka_unit_test(test_exempt_flags_cover_inquiry_report_luns_request_sense),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
