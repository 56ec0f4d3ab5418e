/* SANITIZE (SBC-4 5.30) through the core: OVERWRITE (its parameter list,
 * passes, INVERT, the LU-wide state while it runs and after it fails, and
 * its life beyond an aborted command), BLOCK ERASE on thin and fully
 * provisioned LUs, EXIT FAILURE MODE, the CDB checks, and the service
 * actions REPORT SUPPORTED OPERATION CODES lists. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/opcodes.h"
#include "scsi/sbc_sanitize.h"
#include "scsi_fixture.h"
#include "util/be.h"

static int setup(void **state)
{
	struct fixture *f = fixture_new(false);
	f->store.bs.thin = true;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static void sanitize_cdb(uint8_t *cdb, uint8_t byte1, uint16_t param_len)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x48;
	cdb[1] = byte1;
	be16_put(cdb + 7, param_len);
}

static void expect_invalid_cdb_field(const struct fixture *f, int byte, int bit)
{
	int got_bit;
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	assert_int_equal(fixture_field_pointer(f, &got_bit), byte);
	assert_int_equal(got_bit, bit);
}

static void block_erase_deallocates_the_whole_medium(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	memset(f->store.mem, 'a', FIX_NBLOCKS * FIX_BLOCK);
	sanitize_cdb(cdb, SBC_SANITIZE_BLOCK_ERASE, 0);
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.ndiscards, 1);
	for (size_t i = 0; i < FIX_NBLOCKS * FIX_BLOCK; i++)
		assert_int_equal(f->store.mem[i], 0);
}

static void block_erase_with_a_parameter_list_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16], list[8] = { 0 };
	sanitize_cdb(cdb, SBC_SANITIZE_BLOCK_ERASE, sizeof(list));
	assert_true(fixture_run(f, 0, cdb, list));
	expect_invalid_cdb_field(f, 7, -1);
	assert_int_equal(f->store.ndiscards, 0);
}

static void block_erase_on_a_fully_provisioned_lu_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	f->store.bs.thin = false;
	uint8_t cdb[16];
	sanitize_cdb(cdb, SBC_SANITIZE_BLOCK_ERASE, 0);
	assert_false(fixture_run(f, 0, cdb, NULL));
	expect_invalid_cdb_field(f, 1, 4);
	assert_int_equal(f->store.ndiscards, 0);
}

static void block_erase_on_a_readonly_lu_is_write_protected(void **state)
{
	struct fixture *f = *state;
	f->lus[0]->readonly = true;
	uint8_t cdb[16];
	sanitize_cdb(cdb, SBC_SANITIZE_BLOCK_ERASE, 0);
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x07, 0x27, 0x00));
	assert_int_equal(f->store.ndiscards, 0);
}

static void block_erase_under_software_write_protect_is_refused(void **state)
{
	struct fixture *f = *state;
	scsi_lu_mode_change(f->lus[0], SCSI_MODE_SWP, SCSI_MODE_SWP);
	uint8_t cdb[16];
	sanitize_cdb(cdb, SBC_SANITIZE_BLOCK_ERASE, 0);
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x07, 0x27, 0x02));
	assert_int_equal(f->store.ndiscards, 0);
}

static void exit_failure_mode_is_good(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	sanitize_cdb(cdb, SBC_SANITIZE_EXIT_FAILURE_MODE, 0);
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.nsubmits, 0);
}

static void exit_failure_mode_with_a_parameter_list_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16], list[8] = { 0 };
	sanitize_cdb(cdb, SBC_SANITIZE_EXIT_FAILURE_MODE, sizeof(list));
	assert_true(fixture_run(f, 0, cdb, list));
	expect_invalid_cdb_field(f, 7, -1);
}

/* libiscsi's Sanitize.InvalidServiceAction: every other action, and
 * CRYPTOGRAPHIC ERASE (03h), which is not served. */
static void unserved_service_actions_are_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	for (uint8_t sa = 0; sa <= 0x1F; sa++) {
		if (sa == SBC_SANITIZE_OVERWRITE || sa == SBC_SANITIZE_BLOCK_ERASE ||
		    sa == SBC_SANITIZE_EXIT_FAILURE_MODE)
			continue;
		uint8_t cdb[16];
		sanitize_cdb(cdb, sa, 0);
		assert_false(fixture_prepare(f, 0, cdb));
		expect_invalid_cdb_field(f, 1, 4);
	}
}

static void immed_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	sanitize_cdb(cdb, 0x80 | SBC_SANITIZE_BLOCK_ERASE, 0);
	assert_false(fixture_prepare(f, 0, cdb));
	expect_invalid_cdb_field(f, 1, 7);
	assert_int_equal(f->store.ndiscards, 0);
}

static void reserved_bytes_are_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	for (int byte = 2; byte < 7; byte++) {
		uint8_t cdb[16];
		sanitize_cdb(cdb, SBC_SANITIZE_BLOCK_ERASE, 0);
		cdb[byte] = 1;
		assert_false(fixture_prepare(f, 0, cdb));
		expect_invalid_cdb_field(f, byte, 0);
	}
	assert_int_equal(f->store.ndiscards, 0);
}

static void the_table_serves_all_but_crypto_erase(void **state)
{
	(void)state;
	assert_non_null(scsi_opdef_find(0x48, SBC_SANITIZE_OVERWRITE));
	assert_non_null(scsi_opdef_find(0x48, SBC_SANITIZE_BLOCK_ERASE));
	assert_non_null(scsi_opdef_find(0x48, SBC_SANITIZE_EXIT_FAILURE_MODE));
	assert_null(scsi_opdef_find(0x48, 0x03));
}

/* An OVERWRITE parameter list: INVERT and OVERWRITE COUNT, then the
 * pattern; returns its length. */
static uint16_t overwrite_params(uint8_t *p, uint8_t byte0, const char *pattern)
{
	uint16_t len = (uint16_t)strlen(pattern);
	memset(p, 0, 4);
	p[0] = byte0;
	be16_put(p + 2, len);
	memcpy(p + 4, pattern, len);
	return (uint16_t)(4 + len);
}

static void overwrite(struct fixture *f, uint8_t byte1, uint8_t byte0, const char *pattern)
{
	uint8_t p[4 + FIX_BLOCK];
	uint16_t len = overwrite_params(p, byte0, pattern);
	uint8_t cdb[16];
	sanitize_cdb(cdb, byte1 | SBC_SANITIZE_OVERWRITE, len);
	assert_true(fixture_run(f, 0, cdb, p));
}

static void expect_medium_filled_with(const struct fixture *f, const char *pattern, uint8_t xor)
{
	size_t len = strlen(pattern);
	for (size_t i = 0; i < FIX_NBLOCKS * FIX_BLOCK; i++)
		assert_int_equal(f->store.mem[i], (uint8_t)(pattern[(i % FIX_BLOCK) % len] ^ xor));
}

static void overwrite_writes_the_pattern_over_every_block_each_pass(void **state)
{
	struct fixture *f = *state;
	memset(f->store.mem, 'x', FIX_NBLOCKS * FIX_BLOCK);
	overwrite(f, 0, 3, "abc");
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	expect_medium_filled_with(f, "abc", 0);
	/* each pass ends on the medium */
	assert_int_equal(f->store.nflushes, 3);
	assert_int_equal(f->lus[0]->sanitize, SBC_SANITIZE_IDLE);
}

static void overwrite_with_invert_flips_the_pattern_every_other_pass(void **state)
{
	struct fixture *f = *state;
	overwrite(f, 0, 0x80 | 2, "ab");
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	expect_medium_filled_with(f, "ab", 0xFF);
}

static void overwrite_parameter_list_length_outside_5_to_block_plus_4_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	uint8_t p[FIX_BLOCK + 8];
	memset(p, 0, sizeof(p));
	p[0] = 1;
	be16_put(p + 2, 1);
	const uint16_t bad[] = { 0, 1, 2, 3, 4, FIX_BLOCK + 5 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t cdb[16];
		sanitize_cdb(cdb, SBC_SANITIZE_OVERWRITE, bad[i]);
		assert_true(fixture_run(f, 0, cdb, p));
		expect_invalid_cdb_field(f, 7, -1);
	}
	assert_int_equal(f->store.nsubmits, 0);
}

static void overwrite_count_0_or_a_bad_pattern_length_is_an_invalid_parameter(void **state)
{
	struct fixture *f = *state;
	uint8_t p[4 + FIX_BLOCK];
	uint8_t cdb[16];
	sanitize_cdb(cdb, SBC_SANITIZE_OVERWRITE, overwrite_params(p, 0, "abcd"));
	assert_true(fixture_run(f, 0, cdb, p));
	assert_true(fixture_check(f, 0x05, 0x26, 0x00));
	be16_put(p + 2, 0);
	p[0] = 1;
	assert_true(fixture_run(f, 0, cdb, p));
	assert_true(fixture_check(f, 0x05, 0x26, 0x00));
	be16_put(p + 2, 5); /* longer than the list holds */
	assert_true(fixture_run(f, 0, cdb, p));
	assert_true(fixture_check(f, 0x05, 0x26, 0x00));
	assert_int_equal(f->store.nsubmits, 0);
}

static void overwrite_on_a_readonly_lu_is_write_protected(void **state)
{
	struct fixture *f = *state;
	f->lus[0]->readonly = true;
	uint8_t p[4 + FIX_BLOCK];
	uint8_t cdb[16];
	sanitize_cdb(cdb, SBC_SANITIZE_OVERWRITE, overwrite_params(p, 1, "a"));
	assert_true(fixture_run(f, 0, cdb, p));
	assert_true(fixture_check(f, 0x07, 0x27, 0x00));
	assert_int_equal(f->store.nsubmits, 0);
}

/* SBC-4 4.11.2: NOT READY, SANITIZE IN PROGRESS for all but INQUIRY,
 * REPORT LUNS and REQUEST SENSE. */
static void commands_during_a_sanitize_are_not_ready(void **state)
{
	struct fixture *f = *state;
	f->lus[0]->sanitize = SBC_SANITIZE_RUNNING;
	const uint8_t tur[16] = { 0x00 };
	assert_false(fixture_prepare(f, 0, tur));
	assert_true(fixture_check(f, 0x02, 0x04, 0x1B));
	const uint8_t read10[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	assert_false(fixture_prepare(f, 0, read10));
	assert_true(fixture_check(f, 0x02, 0x04, 0x1B));
	const uint8_t inquiry[16] = { 0x12, 0, 0, 0, 96, 0 };
	assert_true(fixture_run(f, 0, inquiry, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	f->lus[0]->sanitize = SBC_SANITIZE_IDLE;
}

/* SBC-4 4.11.2: REQUEST SENSE, still served, tells how far it is
 * (SPC-4 4.5.2.4.4 progress indication), in either sense format. */
static void request_sense_during_a_sanitize_gives_its_progress(void **state)
{
	struct fixture *f = *state;
	f->lus[0]->sanitize = SBC_SANITIZE_RUNNING;
	f->lus[0]->sanitize_progress = 0x4000;
	const uint8_t fixed[16] = { 0x03, 0, 0, 0, 252, 0 };
	assert_true(fixture_run(f, 0, fixed, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	const uint8_t *d = fixture_read_data(f);
	assert_int_equal(d[2] & 0x0F, 0x02);
	assert_int_equal(d[12], 0x04);
	assert_int_equal(d[13], 0x1B);
	assert_int_equal(d[15], 0x80);
	assert_int_equal(be16_get(d + 16), 0x4000);
	const uint8_t desc[16] = { 0x03, 0x01, 0, 0, 252, 0 };
	assert_true(fixture_run(f, 0, desc, NULL));
	d = fixture_read_data(f);
	assert_int_equal(d[0], 0x72);
	assert_int_equal(d[8], 0x02); /* sense key specific descriptor */
	assert_int_equal(d[12], 0x80);
	assert_int_equal(be16_get(d + 13), 0x4000);
	f->lus[0]->sanitize = SBC_SANITIZE_FAILED;
	assert_true(fixture_run(f, 0, fixed, NULL));
	d = fixture_read_data(f);
	assert_int_equal(d[2] & 0x0F, 0x03);
	assert_int_equal(d[12], 0x31);
	assert_int_equal(d[13], 0x03);
	f->lus[0]->sanitize = SBC_SANITIZE_IDLE;
}

/* SBC-4 4.11.3: after a failed sanitize, MEDIUM ERROR, SANITIZE COMMAND
 * FAILED until one succeeds; with AUSE 0 EXIT FAILURE MODE is refused. */
static void failed_overwrite_fails_commands_until_a_sanitize_succeeds(void **state)
{
	struct fixture *f = *state;
	f->store.fail_err = -EIO;
	overwrite(f, 0, 1, "z");
	assert_true(fixture_check(f, 0x03, 0x31, 0x03));
	f->store.fail_err = 0;
	const uint8_t tur[16] = { 0x00 };
	assert_false(fixture_prepare(f, 0, tur));
	assert_true(fixture_check(f, 0x03, 0x31, 0x03));
	uint8_t cdb[16];
	sanitize_cdb(cdb, SBC_SANITIZE_EXIT_FAILURE_MODE, 0);
	assert_true(fixture_run(f, 0, cdb, NULL));
	expect_invalid_cdb_field(f, 1, 4);
	overwrite(f, 0, 1, "z");
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_true(fixture_run(f, 0, tur, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

static void exit_failure_mode_leaves_the_failure_of_an_ause_overwrite(void **state)
{
	struct fixture *f = *state;
	f->store.fail_err = -EIO;
	overwrite(f, 0x20, 1, "z");
	assert_true(fixture_check(f, 0x03, 0x31, 0x03));
	f->store.fail_err = 0;
	uint8_t cdb[16];
	sanitize_cdb(cdb, SBC_SANITIZE_EXIT_FAILURE_MODE, 0);
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	const uint8_t tur[16] = { 0x00 };
	assert_true(fixture_run(f, 0, tur, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

struct loop_stopper {
	struct loop_op op;
	struct fixture *f;
};

static void stop_loop(struct loop_op *op, int res)
{
	(void)res;
	((struct loop_stopper *)op)->f->loop.stop = true;
}

/* SBC-4 4.11.1: an abort (a reset, a logout) ends the command, not the
 * sanitize, which goes on to the end with the LU not ready meanwhile. */
static void aborted_overwrite_command_completes_and_the_overwrite_goes_on(void **state)
{
	struct fixture *f = *state;
	uint8_t p[4 + FIX_BLOCK];
	uint8_t cdb[16];
	sanitize_cdb(cdb, SBC_SANITIZE_OVERWRITE, overwrite_params(p, 2, "q"));
	assert_true(fixture_prepare(f, 0, cdb));
	fixture_fill_data_out(f, p, f->task.xfer_len);
	scsi_task_execute(&f->task);
	scsi_task_abort(&f->task);
	f->loop.stop = false;
	loop_run(&f->loop);
	assert_int_equal(f->task.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(f->lus[0]->sanitize, SBC_SANITIZE_RUNNING);
	/* Let the overwrite finish: nothing else is queued after it. */
	struct __kernel_timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
	struct loop_stopper stopper = { .op = { .cb = stop_loop }, .f = f };
	struct io_uring_sqe *sqe = loop_get_sqe(&f->loop);
	io_uring_prep_timeout(sqe, &ts, 0, 0);
	loop_sqe_set_op(sqe, &stopper.op);
	f->loop.stop = false;
	loop_run(&f->loop);
	assert_int_equal(f->lus[0]->sanitize, SBC_SANITIZE_IDLE);
	expect_medium_filled_with(f, "q", 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(overwrite_writes_the_pattern_over_every_block_each_pass),
		T(overwrite_with_invert_flips_the_pattern_every_other_pass),
		T(overwrite_parameter_list_length_outside_5_to_block_plus_4_is_an_invalid_field),
		T(overwrite_count_0_or_a_bad_pattern_length_is_an_invalid_parameter),
		T(overwrite_on_a_readonly_lu_is_write_protected),
		T(commands_during_a_sanitize_are_not_ready),
		T(request_sense_during_a_sanitize_gives_its_progress),
		T(failed_overwrite_fails_commands_until_a_sanitize_succeeds),
		T(exit_failure_mode_leaves_the_failure_of_an_ause_overwrite),
		T(aborted_overwrite_command_completes_and_the_overwrite_goes_on),
		T(block_erase_deallocates_the_whole_medium),
		T(block_erase_with_a_parameter_list_is_an_invalid_field),
		T(block_erase_on_a_fully_provisioned_lu_is_an_invalid_field),
		T(block_erase_on_a_readonly_lu_is_write_protected),
		T(block_erase_under_software_write_protect_is_refused),
		T(exit_failure_mode_is_good),
		T(exit_failure_mode_with_a_parameter_list_is_an_invalid_field),
		T(unserved_service_actions_are_an_invalid_field),
		T(immed_is_an_invalid_field),
		T(reserved_bytes_are_an_invalid_field),
		T(the_table_serves_all_but_crypto_erase),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
