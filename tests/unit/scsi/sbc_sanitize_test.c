/* SANITIZE (SBC-4 5.30) through the core: BLOCK ERASE on thin and fully
 * provisioned LUs, EXIT FAILURE MODE, the CDB checks, and the service
 * actions REPORT SUPPORTED OPERATION CODES lists. */
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
	assert_true(fixture_run(f, 0, cdb, NULL));
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
 * CRYPTOGRAPHIC ERASE (03h) and OVERWRITE (01h), which are not served. */
static void unserved_service_actions_are_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	for (uint8_t sa = 0; sa <= 0x1F; sa++) {
		if (sa == SBC_SANITIZE_BLOCK_ERASE || sa == SBC_SANITIZE_EXIT_FAILURE_MODE)
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

static void the_table_serves_block_erase_and_exit_failure_mode_only(void **state)
{
	(void)state;
	assert_non_null(scsi_opdef_find(0x48, SBC_SANITIZE_BLOCK_ERASE));
	assert_non_null(scsi_opdef_find(0x48, SBC_SANITIZE_EXIT_FAILURE_MODE));
	assert_null(scsi_opdef_find(0x48, 0x01));
	assert_null(scsi_opdef_find(0x48, 0x03));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
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
		T(the_table_serves_block_erase_and_exit_failure_mode_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
