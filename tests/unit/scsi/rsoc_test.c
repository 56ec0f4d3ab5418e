#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/opcodes.h"
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

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* REPORT SUPPORTED OPERATION CODES: byte 2 carries RCTD and REPORTING
 * OPTIONS. */
static bool rsoc(struct fixture *f, uint8_t byte2, uint8_t opcode, uint16_t sa, uint32_t alloc)
{
	uint8_t cdb[16] = { 0xA3, 0x0C, byte2, opcode, (uint8_t)(sa >> 8), (uint8_t)sa,
			    (uint8_t)(alloc >> 24), (uint8_t)(alloc >> 16), (uint8_t)(alloc >> 8),
			    (uint8_t)alloc };
	return fixture_run(f, 0, cdb, NULL);
}

static void assert_invalid_cdb_field(const struct fixture *f, int byte, int bit)
{
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
	int got_bit;
	assert_int_equal(fixture_field_pointer(f, &got_bit), byte);
	assert_int_equal(got_bit, bit);
}

/* The rows LU 0 serves, in table order. */
static size_t served_rows(const struct fixture *f, const struct scsi_opdef **rows)
{
	size_t n = 0;
	for (size_t i = 0; i < scsi_nopdefs; i++)
		if (scsi_opdef_served(&scsi_opdefs[i], f->lus[0]))
			rows[n++] = &scsi_opdefs[i];
	return n;
}

static void test_all_lists_every_served_table_entry_in_order(void **state)
{
	struct fixture *f = *state;
	const struct scsi_opdef *rows[RSOC_MAX_ENTRIES];
	size_t n = served_rows(f, rows);
	assert_true(rsoc(f, 0x00, 0, 0, 4096));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	const uint8_t *p = f->task.buf;
	assert_int_equal(be32(p), n * 8);
	assert_int_equal(f->task.data_len, 4 + n * 8);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *d = p + 4 + 8 * i;
		const struct scsi_opdef *op = rows[i];
		assert_int_equal(d[0], op->opcode);
		assert_int_equal(be16(d + 2), op->service_action >= 0 ? op->service_action : 0);
		assert_int_equal(d[5], op->service_action >= 0 ? 0x01 : 0x00);
		assert_int_equal(be16(d + 6), op->cdb_len);
	}
}

/* UNMAP is a thin LU's and WRITE ATOMIC(16) an atomic store's: an LU
 * without them reports them unsupported, alone and in the list. */
static void test_commands_an_lu_does_not_serve_are_left_out(void **state)
{
	struct fixture *f = *state;
	f->store.bs.thin = false;
	f->store.bs.atomic_max = 0;
	assert_true(rsoc(f, 0x01, 0x42, 0, 4096));
	assert_int_equal(f->task.buf[1] & 0x07, 0x01);
	assert_true(rsoc(f, 0x01, 0x9C, 0, 4096));
	assert_int_equal(f->task.buf[1] & 0x07, 0x01);
	assert_true(rsoc(f, 0x00, 0, 0, 4096));
	const uint8_t *p = f->task.buf;
	for (uint32_t off = 4; off < 4 + be32(p); off += 8)
		assert_true(p[off] != 0x42 && p[off] != 0x9C);
	f->store.bs.thin = true;
	f->store.bs.atomic_max = 1 << 20;
	assert_true(rsoc(f, 0x01, 0x42, 0, 4096));
	assert_int_equal(f->task.buf[1] & 0x07, 0x03);
	assert_true(rsoc(f, 0x01, 0x9C, 0, 4096));
	assert_int_equal(f->task.buf[1] & 0x07, 0x03);
}

static void test_all_includes_itself_with_its_service_action(void **state)
{
	struct fixture *f = *state;
	assert_true(rsoc(f, 0x00, 0, 0, 4096));
	const uint8_t *p = f->task.buf;
	bool found = false;
	for (uint32_t off = 4; off < 4 + be32(p); off += 8)
		if (p[off] == 0xA3 && be16(p + off + 2) == 0x0C && (p[off + 5] & 0x01))
			found = true;
	assert_true(found);
}

static void test_all_with_rctd_adds_timeouts_descriptors(void **state)
{
	struct fixture *f = *state;
	const struct scsi_opdef *rows[RSOC_MAX_ENTRIES];
	size_t n = served_rows(f, rows);
	assert_true(rsoc(f, 0x80, 0, 0, 4096));
	const uint8_t *p = f->task.buf;
	assert_int_equal(be32(p), n * 20);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *d = p + 4 + 20 * i;
		assert_int_equal(d[0], rows[i]->opcode);
		assert_true(d[5] & 0x02);
		assert_int_equal(be16(d + 8), 0x0A);
	}
}

static void test_all_honours_allocation_length(void **state)
{
	struct fixture *f = *state;
	const struct scsi_opdef *rows[RSOC_MAX_ENTRIES];
	size_t n = served_rows(f, rows);
	assert_true(rsoc(f, 0x00, 0, 0, 12));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 12);
	assert_int_equal(be32(f->task.buf), n * 8);
}

static void test_table_fits_the_largest_report(void **state)
{
	assert_true(4 + scsi_nopdefs * 20 <= RSOC_RESP_MAX);
}

static void test_one_command_read10_reports_dpo_and_fua(void **state)
{
	struct fixture *f = *state;
	assert_true(rsoc(f, 0x01, 0x28, 0, 512));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	const uint8_t *p = f->task.buf;
	assert_int_equal(p[1] & 0x07, 0x03);
	assert_int_equal(be16(p + 2), 10);
	assert_int_equal(f->task.data_len, 4 + 10);
	assert_int_equal(p[4], 0x28);
	assert_int_equal(p[5] & 0x18, 0x18);
}

static void test_one_command_usage_is_the_table_mask(void **state)
{
	struct fixture *f = *state;
	const struct scsi_opdef *op = scsi_opdef_find(0x2A, -1);
	assert_non_null(op);
	assert_true(rsoc(f, 0x01, 0x2A, 0, 512));
	assert_int_equal(f->task.buf[4], 0x2A);
	assert_memory_equal(f->task.buf + 5, op->usage + 1, op->cdb_len - 1u);
}

static void test_one_command_unsupported_opcode_says_not_supported(void **state)
{
	struct fixture *f = *state;
	assert_true(rsoc(f, 0x01, 0xC5, 0, 512));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.buf[1] & 0x07, 0x01);
	assert_int_equal(be16(f->task.buf + 2), 0);
	assert_int_equal(f->task.data_len, 4);
}

static void test_opcode_only_for_opcode_with_service_actions_is_invalid(void **state)
{
	struct fixture *f = *state;
	assert_true(rsoc(f, 0x01, 0x9E, 0x10, 512));
	assert_invalid_cdb_field(f, 2, 2);
}

static void test_service_action_for_opcode_without_them_is_invalid(void **state)
{
	struct fixture *f = *state;
	assert_true(rsoc(f, 0x02, 0x28, 0, 512));
	assert_invalid_cdb_field(f, 2, 2);
}

static void test_service_action_puts_its_value_in_usage_data(void **state)
{
	struct fixture *f = *state;
	assert_true(rsoc(f, 0x02, 0x9E, 0x10, 512));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	const uint8_t *p = f->task.buf;
	assert_int_equal(p[1] & 0x07, 0x03);
	assert_int_equal(be16(p + 2), 16);
	assert_int_equal(p[4], 0x9E);
	assert_int_equal(p[5], 0x10);
}

static void test_unknown_service_action_says_not_supported(void **state)
{
	struct fixture *f = *state;
	assert_true(rsoc(f, 0x02, 0x9E, 0x11, 512));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.buf[1] & 0x07, 0x01);
}

static void test_option_3_ignores_service_action_of_plain_opcode(void **state)
{
	struct fixture *f = *state;
	assert_true(rsoc(f, 0x03, 0x28, 0x55, 512));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.buf[1] & 0x07, 0x03);
	assert_int_equal(f->task.buf[4], 0x28);
}

static void test_option_3_reports_opcode_with_service_action(void **state)
{
	struct fixture *f = *state;
	assert_true(rsoc(f, 0x03, 0xA3, 0x0C, 512));
	assert_int_equal(f->task.buf[1] & 0x07, 0x03);
	assert_int_equal(f->task.buf[5], 0x0C);
}

static void test_one_command_with_rctd_appends_timeouts(void **state)
{
	struct fixture *f = *state;
	assert_true(rsoc(f, 0x81, 0x28, 0, 512));
	const uint8_t *p = f->task.buf;
	assert_true(p[1] & 0x80);
	assert_int_equal(f->task.data_len, 4 + 10 + 12);
	assert_int_equal(be16(p + 14), 0x0A);
}

static void test_reserved_reporting_options_are_invalid(void **state)
{
	struct fixture *f = *state;
	for (uint8_t opt = 4; opt <= 7; opt++) {
		assert_true(rsoc(f, opt, 0x28, 0, 512));
		assert_invalid_cdb_field(f, 2, 2);
	}
}

static void test_reserved_bits_of_byte_2_are_invalid(void **state)
{
	struct fixture *f = *state;
	assert_false(rsoc(f, 0x08, 0, 0, 512));
	assert_invalid_cdb_field(f, 2, 3);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_all_lists_every_served_table_entry_in_order),
		T(test_commands_an_lu_does_not_serve_are_left_out),
		T(test_all_includes_itself_with_its_service_action),
		T(test_all_with_rctd_adds_timeouts_descriptors),
		T(test_all_honours_allocation_length),
		T(test_table_fits_the_largest_report),
		T(test_one_command_read10_reports_dpo_and_fua),
		T(test_one_command_usage_is_the_table_mask),
		T(test_one_command_unsupported_opcode_says_not_supported),
		T(test_opcode_only_for_opcode_with_service_actions_is_invalid),
		T(test_service_action_for_opcode_without_them_is_invalid),
		T(test_service_action_puts_its_value_in_usage_data),
		T(test_unknown_service_action_says_not_supported),
		T(test_option_3_ignores_service_action_of_plain_opcode),
		T(test_option_3_reports_opcode_with_service_action),
		T(test_one_command_with_rctd_appends_timeouts),
		T(test_reserved_reporting_options_are_invalid),
		T(test_reserved_bits_of_byte_2_are_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
