#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/task.h"
#include "scsi_fixture.h"

static int setup(void **state)
{
	*state = fixture_new(false);
	return 0;
}

static int setup_with_ua(void **state)
{
	*state = fixture_new(true);
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}


/* One row per opcode: what prepare decodes from the CDB. */
static const struct {
	uint8_t cdb[16];
	enum scsi_dir dir;
	uint32_t xfer_len;
	uint64_t lba;
	uint32_t nblocks;
} decode_rows[] = {
	{ { 0x00 }, SCSI_DIR_NONE, 0, 0, 0 },
	{ { 0x03, 0, 0, 0, 18 }, SCSI_DIR_READ, 18, 0, 0 },
	{ { 0x08, 0x00, 0x01, 0x02, 4 }, SCSI_DIR_READ, 4 * FIX_BLOCK, 0x0102, 4 },
	{ { 0x0A, 0x00, 0x00, 0x10, 2 }, SCSI_DIR_WRITE, 2 * FIX_BLOCK, 0x10, 2 },
	{ { 0x12, 0, 0, 0x01, 0x00 }, SCSI_DIR_READ, 256, 0, 0 },
	{ { 0x1A, 0, 0x3F, 0, 0xC0 }, SCSI_DIR_READ, 0xC0, 0, 0 },
	{ { 0x1B, 0, 0, 0, 0x01 }, SCSI_DIR_NONE, 0, 0, 0 },
	{ { 0x25 }, SCSI_DIR_READ, 8, 0, 0 },
	{ { 0x28, 0, 0, 0, 0x01, 0x00, 0, 0x00, 0x08 }, SCSI_DIR_READ, 8 * FIX_BLOCK, 0x100, 8 },
	{ { 0x2A, 0x08, 0, 0, 0, 0x07, 0, 0x00, 0x01 }, SCSI_DIR_WRITE, FIX_BLOCK, 7, 1 },
	{ { 0x2F, 0x02, 0, 0, 0, 0x03, 0, 0x00, 0x02 }, SCSI_DIR_WRITE, 2 * FIX_BLOCK, 3, 2 },
	{ { 0x2F, 0x00, 0, 0, 0, 0x03, 0, 0x00, 0x02 }, SCSI_DIR_NONE, 0, 3, 2 },
	{ { 0x35, 0x02, 0, 0, 0, 0x09, 0, 0x00, 0x00 }, SCSI_DIR_NONE, 0, 9, 0 },
	{ { 0x5A, 0, 0x08, 0, 0, 0, 0, 0x01, 0x00 }, SCSI_DIR_READ, 256, 0, 0 },
	{ { 0x88, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0, 0, 0, 0x10 },
	  SCSI_DIR_READ, 16 * FIX_BLOCK, 0x200, 16 },
	{ { 0x8A, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0, 0x03 },
	  SCSI_DIR_WRITE, 3 * FIX_BLOCK, 5, 3 },
	{ { 0x8F, 0x02, 0, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0, 0x01 },
	  SCSI_DIR_WRITE, FIX_BLOCK, 5, 1 },
	{ { 0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0, 0x04 }, SCSI_DIR_NONE, 0, 5, 4 },
	{ { 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20 }, SCSI_DIR_READ, 32, 0, 0 },
	{ { 0xA0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00 }, SCSI_DIR_READ, 8 + 8 * SCSI_MAX_LUNS, 0, 0 },
	{ { 0xA8, 0, 0, 0, 0, 0x20, 0, 0, 0, 0x04 }, SCSI_DIR_READ, 4 * FIX_BLOCK, 0x20, 4 },
	{ { 0xAA, 0x08, 0, 0, 0, 0x21, 0, 0, 0, 0x01 }, SCSI_DIR_WRITE, FIX_BLOCK, 0x21, 1 },
};

static void test_decode_every_opcode(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < sizeof(decode_rows) / sizeof(decode_rows[0]); i++) {
		assert_true(fixture_prepare(f, 0, decode_rows[i].cdb));
		assert_int_equal(f->task.dir, decode_rows[i].dir);
		assert_int_equal(f->task.xfer_len, decode_rows[i].xfer_len);
		assert_int_equal(f->task.lba, decode_rows[i].lba);
		assert_int_equal(f->task.nblocks, decode_rows[i].nblocks);
		/* Block data waits for its chunks; the rest has its buffer. */
		assert_true(decode_rows[i].xfer_len == 0 || f->task.buf != NULL ||
			    f->task.data_chunked);
		assert_int_equal((uintptr_t)f->task.buf % 4096, 0);
	}
}

static void test_read6_length_zero_means_256_blocks(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x08, 0, 0, 0, 0 };
	assert_true(fixture_prepare(f, 0, cdb));
	assert_int_equal(f->task.nblocks, 256);
	assert_int_equal(f->task.xfer_len, 256 * FIX_BLOCK);
}

static void test_read10_length_zero_moves_nothing(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x28 };
	assert_true(fixture_prepare(f, 0, cdb));
	assert_int_equal(f->task.xfer_len, 0);
	assert_null(f->task.buf);
}

static void test_allocation_length_is_capped_at_largest_response(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0xA0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF };
	assert_true(fixture_prepare(f, 0, cdb));
	assert_int_equal(f->task.xfer_len, 8 + 8 * SCSI_MAX_LUNS);
}

static void test_transfer_above_max_points_at_length_field(void **state)
{
	struct fixture *f = *state;
	uint32_t blocks = SCSI_MAX_XFER_BYTES / FIX_BLOCK + 1;
	uint8_t cdb[16] = { 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			    (uint8_t)(blocks >> 24), (uint8_t)(blocks >> 16),
			    (uint8_t)(blocks >> 8), (uint8_t)blocks };
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 10);
	assert_int_equal(bit, -1);
	assert_null(f->task.buf);
}

static void test_lba_past_end_is_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint32_t last = FIX_NBLOCKS - 1;
	uint8_t cdb[16] = { 0x28, 0, 0, 0, (uint8_t)(last >> 8), (uint8_t)last, 0, 0, 2 };
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x5, 0x21, 0x00));
}

static void test_last_block_is_in_range(void **state)
{
	struct fixture *f = *state;
	uint32_t last = FIX_NBLOCKS - 1;
	uint8_t cdb[16] = { 0x28, 0, 0, 0, (uint8_t)(last >> 8), (uint8_t)last, 0, 0, 1 };
	assert_true(fixture_prepare(f, 0, cdb));
}

static void test_lba_wrap_around_is_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x88, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
			    0, 0, 0, 2 };
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x5, 0x21, 0x00));
}

static void test_sync_cache_lba_beyond_capacity_is_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x35, 0, 0, 0, 0x10, 0x01 };
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x5, 0x21, 0x00));
}

static void test_write_to_readonly_lu_is_write_protected(void **state)
{
	struct fixture *f = *state;
	f->lus[0]->readonly = true;
	uint8_t cdb[16] = { 0x2A, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x7, 0x27, 0x00));
}

static void test_verify_bytchk_11b_is_invalid_field(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x2F, 0x06, 0, 0, 0, 0, 0, 0, 1 };
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 1);
	assert_int_equal(bit, 2);
}

static void test_unknown_opcode_is_invalid_opcode(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0xC0 };
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x5, 0x20, 0x00));
	assert_null(f->task.op);
}

static void test_absent_lun_is_not_supported(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x00 };
	assert_false(fixture_prepare(f, 3, cdb));
	assert_true(fixture_check(f, 0x5, 0x25, 0x00));
}

static void test_absent_lun_wins_over_unknown_opcode(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0xC0 };
	assert_false(fixture_prepare(f, 3, cdb));
	assert_true(fixture_check(f, 0x5, 0x25, 0x00));
}

static void test_undecodable_lun_is_not_supported(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x00 };
	struct scsi_task *t = &f->task;
	memset(t, 0, sizeof(*t));
	t->nexus = &f->nexus;
	t->lun_raw = 0x8000000000000000ull;
	memcpy(t->cdb, cdb, sizeof(cdb));
	assert_false(scsi_task_prepare(t));
	assert_true(fixture_check(f, 0x5, 0x25, 0x00));
}

static void test_inquiry_allowed_on_absent_lun(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x12, 0, 0, 0, 36 };
	assert_true(fixture_prepare(f, 9, cdb));
}

static void test_pending_ua_reported_then_cleared(void **state)
{
	struct fixture *f = *state;
	uint8_t tur[16] = { 0x00 };
	assert_false(fixture_prepare(f, 0, tur));
	assert_true(fixture_check(f, 0x6, 0x29, 0x00));
	assert_true(fixture_prepare(f, 0, tur));
}

static void test_ua_not_reported_to_inquiry(void **state)
{
	struct fixture *f = *state;
	uint8_t inq[16] = { 0x12, 0, 0, 0, 36 };
	uint8_t tur[16] = { 0x00 };
	assert_true(fixture_prepare(f, 0, inq));
	assert_false(fixture_prepare(f, 0, tur));
	assert_true(fixture_check(f, 0x6, 0x29, 0x00));
}

static void test_ua_reported_before_cdb_errors(void **state)
{
	struct fixture *f = *state;
	uint8_t bad[16] = { 0xC0 };
	assert_false(fixture_prepare(f, 0, bad));
	assert_true(fixture_check(f, 0x6, 0x29, 0x00));
}

static void test_ua_power_on_outranks_capacity_changed(void **state)
{
	struct fixture *f = *state;
	f->nexus.ua[0] |= SCSI_UA_CAPACITY_CHANGED;
	uint8_t tur[16] = { 0x00 };
	assert_false(fixture_prepare(f, 0, tur));
	assert_true(fixture_check(f, 0x6, 0x29, 0x00));
	assert_false(fixture_prepare(f, 0, tur));
	assert_true(fixture_check(f, 0x6, 0x2A, 0x09));
	assert_true(fixture_prepare(f, 0, tur));
}

/* SAM-5 5.14: the reset conditions (29h) are reported before the others. */
static void test_ua_lu_reset_comes_after_power_on_and_before_mode_changed(void **state)
{
	struct fixture *f = *state;
	f->nexus.ua[0] |= SCSI_UA_MODE_CHANGED | SCSI_UA_LU_RESET;
	uint8_t tur[16] = { 0x00 };
	assert_false(fixture_prepare(f, 0, tur));
	assert_true(fixture_check(f, 0x6, 0x29, 0x00));
	assert_false(fixture_prepare(f, 0, tur));
	assert_true(fixture_check(f, 0x6, 0x29, 0x03));
	assert_false(fixture_prepare(f, 0, tur));
	assert_true(fixture_check(f, 0x6, 0x2A, 0x01));
	assert_true(fixture_prepare(f, 0, tur));
}

static void test_ua_established_per_lun(void **state)
{
	struct fixture *f = *state;
	fixture_add_lu(f, 1);
	scsi_nexus_init(&f->nexus, &f->target, "init", &f->loop, NULL);
	uint8_t tur[16] = { 0x00 };
	assert_false(fixture_prepare(f, 0, tur));
	assert_false(fixture_prepare(f, 1, tur));
	assert_true(fixture_check(f, 0x6, 0x29, 0x00));
	assert_true(fixture_prepare(f, 1, tur));
	assert_int_equal(f->nexus.ua[2], 0);
}

static void test_descriptor_sense_follows_d_sense(void **state)
{
	struct fixture *f = *state;
	scsi_lu_mode_change(f->lus[0], SCSI_MODE_D_SENSE, SCSI_MODE_D_SENSE);
	uint8_t cdb[16] = { 0xC0 };
	assert_false(fixture_prepare(f, 0, cdb));
	assert_int_equal(f->task.sense[0], 0x72);
	assert_true(fixture_check(f, 0x5, 0x20, 0x00));
}

static void test_done_runs_from_loop_not_from_execute(void **state)
{
	struct fixture *f = *state;
	uint8_t tur[16] = { 0x00 };
	assert_true(fixture_run(f, 0, tur, NULL));
	assert_int_equal(f->ndone, 1);
	assert_false(f->done_in_execute);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

static void test_status_only_reasons_carry_no_sense(void **state)
{
	static const struct {
		enum sense_reason r;
		uint8_t status;
	} rows[] = {
		{ SENSE_CONDITION_MET, SCSI_STATUS_CONDITION_MET },
		{ SENSE_BUSY, SCSI_STATUS_BUSY },
		{ SENSE_RESERVATION_CONFLICT, SCSI_STATUS_RESERVATION_CONFLICT },
		{ SENSE_TASK_SET_FULL, SCSI_STATUS_TASK_SET_FULL },
		{ SENSE_TASK_ABORTED, SCSI_STATUS_TASK_ABORTED },
	};
	struct fixture *f = *state;
	uint8_t tur[16] = { 0x00 };
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_true(fixture_prepare(f, 0, tur));
		scsi_task_set_result(&f->task, SENSE_INVALID_FIELD_IN_CDB);
		scsi_task_set_result(&f->task, rows[i].r);
		assert_int_equal(f->task.status, rows[i].status);
		assert_int_equal(f->task.sense_len, 0);
	}
}

static void test_check_condition_builds_sense(void **state)
{
	struct fixture *f = *state;
	uint8_t tur[16] = { 0x00 };
	assert_true(fixture_prepare(f, 0, tur));
	scsi_task_set_result(&f->task, SENSE_WRITE_ERROR);
	assert_int_equal(f->task.sense_len, 18);
	assert_true(fixture_check(f, 0x3, 0x0C, 0x00));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define TUA(name) cmocka_unit_test_setup_teardown(name, setup_with_ua, teardown)
	const struct CMUnitTest tests[] = {
		T(test_decode_every_opcode),
		T(test_read6_length_zero_means_256_blocks),
		T(test_read10_length_zero_moves_nothing),
		T(test_allocation_length_is_capped_at_largest_response),
		T(test_transfer_above_max_points_at_length_field),
		T(test_lba_past_end_is_out_of_range),
		T(test_last_block_is_in_range),
		T(test_lba_wrap_around_is_out_of_range),
		T(test_sync_cache_lba_beyond_capacity_is_out_of_range),
		T(test_write_to_readonly_lu_is_write_protected),
		T(test_verify_bytchk_11b_is_invalid_field),
		T(test_unknown_opcode_is_invalid_opcode),
		T(test_absent_lun_is_not_supported),
		T(test_absent_lun_wins_over_unknown_opcode),
		T(test_undecodable_lun_is_not_supported),
		T(test_inquiry_allowed_on_absent_lun),
		TUA(test_pending_ua_reported_then_cleared),
		TUA(test_ua_not_reported_to_inquiry),
		TUA(test_ua_reported_before_cdb_errors),
		TUA(test_ua_power_on_outranks_capacity_changed),
		TUA(test_ua_lu_reset_comes_after_power_on_and_before_mode_changed),
		T(test_ua_established_per_lun),
		T(test_descriptor_sense_follows_d_sense),
		T(test_done_runs_from_loop_not_from_execute),
		T(test_status_only_reasons_carry_no_sense),
		T(test_check_condition_builds_sense),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
