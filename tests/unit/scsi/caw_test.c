/* COMPARE AND WRITE (SBC-4 5.3): the compare, the offset a miscompare
 * reports, the checks on its CDB and data-out, and its wait for blocks
 * another command holds. ORWRITE (SBC-4 5.13), its sibling in
 * sbc_atomic.c: the OR, over several read rounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

static void caw_cdb(uint8_t cdb[16], uint64_t lba, uint8_t nlb)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x89;
	for (int i = 0; i < 8; i++)
		cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	cdb[13] = nlb;
}

/* As the iSCSI transport would: expected length from the initiator. */
static bool caw_prepare(struct fixture *f, const uint8_t *cdb, uint32_t expected_blocks)
{
	if (!fixture_prepare(f, 0, cdb))
		return false;
	f->task.expected_len = expected_blocks * FIX_BLOCK;
	return true;
}

static void caw_execute(struct fixture *f, const uint8_t *data)
{
	fixture_fill_data_out(f, data, f->task.xfer_len);
	scsi_task_execute(&f->task);
	f->loop.stop = false;
	loop_run(&f->loop);
}

/* Data-out of nlb blocks of `verify` then nlb blocks of `write`. */
static uint8_t *caw_data(uint8_t nlb, int verify, int write)
{
	size_t half = (size_t)nlb * FIX_BLOCK;
	uint8_t *d = malloc(2 * half);
	assert_non_null(d);
	memset(d, verify, half);
	memset(d + half, write, half);
	return d;
}

static uint32_t fixed_info(const struct fixture *f)
{
	const uint8_t *s = f->task.sense;
	assert_true(s[0] & 0x80); /* VALID */
	return (uint32_t)s[3] << 24 | (uint32_t)s[4] << 16 | (uint32_t)s[5] << 8 | s[6];
}

static void equal_blocks_are_written(void **state)
{
	struct fixture *f = *state;
	memset(f->store.mem + 10 * FIX_BLOCK, 'A', 3 * FIX_BLOCK);
	uint8_t cdb[16];
	caw_cdb(cdb, 10, 3);
	uint8_t *d = caw_data(3, 'A', 'B');
	assert_true(caw_prepare(f, cdb, 6));
	caw_execute(f, d);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	for (unsigned i = 0; i < 3 * FIX_BLOCK; i++)
		assert_int_equal(f->store.mem[10 * FIX_BLOCK + i], 'B');
	assert_int_equal(f->store.mem[13 * FIX_BLOCK], 0);
	free(d);
}

static void miscompare_reports_first_differing_byte(void **state)
{
	struct fixture *f = *state;
	memset(f->store.mem, 'A', 2 * FIX_BLOCK);
	uint8_t cdb[16];
	caw_cdb(cdb, 0, 2);
	uint8_t *d = caw_data(2, 'A', 'B');
	d[700] = 'x';
	d[900] = 'y';
	assert_true(caw_prepare(f, cdb, 4));
	caw_execute(f, d);
	assert_true(fixture_check(f, 0x0E, 0x1D, 0x00));
	assert_int_equal(fixed_info(f), 700);
	for (unsigned i = 0; i < 2 * FIX_BLOCK; i++)
		assert_int_equal(f->store.mem[i], 'A');
	free(d);
}

/* 255 blocks: each half spans two chunks, and the second starts inside
 * one. */
static void miscompare_offset_past_the_first_chunk(void **state)
{
	struct fixture *f = *state;
	memset(f->store.mem, 'A', 255 * FIX_BLOCK);
	uint8_t cdb[16];
	caw_cdb(cdb, 0, 255);
	uint8_t *d = caw_data(255, 'A', 'B');
	d[100000] = 'x';
	assert_true(caw_prepare(f, cdb, 510));
	caw_execute(f, d);
	assert_true(fixture_check(f, 0x0E, 0x1D, 0x00));
	assert_int_equal(fixed_info(f), 100000);
	free(d);
}

static void largest_compare_writes_every_block(void **state)
{
	struct fixture *f = *state;
	memset(f->store.mem + FIX_BLOCK, 'A', 255 * FIX_BLOCK);
	uint8_t cdb[16];
	caw_cdb(cdb, 1, 255);
	uint8_t *d = caw_data(255, 'A', 'B');
	d[255 * FIX_BLOCK + 70000] = 'z';
	assert_true(caw_prepare(f, cdb, 510));
	caw_execute(f, d);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(f->store.mem + FIX_BLOCK, d + 255 * FIX_BLOCK, 255 * FIX_BLOCK);
	free(d);
}

static void fua_reaches_the_store(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	caw_cdb(cdb, 5, 1);
	cdb[1] = 0x08;
	uint8_t *d = caw_data(1, 0, 'B');
	assert_true(caw_prepare(f, cdb, 2));
	caw_execute(f, d);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_true(f->store.last_fua);
	free(d);
}

static void zero_blocks_is_good_without_io(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	caw_cdb(cdb, 0, 0);
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.nsubmits, 0);
}

/* 256 blocks do not fit the field: an initiator that truncates them to 0
 * still sends data-out, which is refused. */
static void zero_blocks_with_data_out_is_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	caw_cdb(cdb, 0, 0);
	assert_true(caw_prepare(f, cdb, 2));
	scsi_task_execute(&f->task);
	f->loop.stop = false;
	loop_run(&f->loop);
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	assert_int_equal(f->store.nsubmits, 0);
}

static void data_out_not_twice_the_blocks_is_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	caw_cdb(cdb, 0, 1);
	uint8_t *d = caw_data(2, 0, 'B');
	/* Four blocks of data-out for one block to compare and write. */
	assert_true(caw_prepare(f, cdb, 4));
	caw_execute(f, d);
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 13);
	assert_int_equal(f->store.nsubmits, 0);
	free(d);
}

static void wrprotect_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	caw_cdb(cdb, 0, 1);
	cdb[1] = 0x20;
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 1);
	assert_int_equal(bit, 5);
}

static void past_the_last_block_is_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	caw_cdb(cdb, FIX_NBLOCKS - 1, 2);
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x05, 0x21, 0x00));
}

static void on_granted(struct loop_msg *msg)
{
	(void)msg;
}

/* Another command holds block 7: the compare waits, then runs. */
static void waits_for_blocks_held_elsewhere(void **state)
{
	struct fixture *f = *state;
	struct range_lock *rl = &f->lus[0]->range_lock;
	struct range_lock_req other = { .lba = 7, .nblocks = 1, .exclusive = true,
					.loop = &f->loop };
	other.granted.fn = on_granted;
	assert_true(range_lock_acquire(rl, &other));
	uint8_t cdb[16];
	caw_cdb(cdb, 6, 2);
	uint8_t *d = caw_data(2, 0, 'B');
	assert_true(caw_prepare(f, cdb, 4));
	fixture_fill_data_out(f, d, f->task.xfer_len);
	scsi_task_execute(&f->task);
	assert_int_equal(f->ndone, 0);
	assert_int_equal(f->store.nsubmits, 0);
	range_lock_release(rl, &other);
	f->loop.stop = false;
	loop_run(&f->loop);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.mem[6 * FIX_BLOCK], 'B');
	assert_null(rl->held_head);
	assert_int_equal(atomic_load(&rl->exclusive), 0);
	free(d);
}

static void orwrite_cdb(uint8_t cdb[16], uint64_t lba, uint32_t nblocks)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x8B;
	for (int i = 0; i < 8; i++)
		cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		cdb[10 + i] = (uint8_t)(nblocks >> (24 - 8 * i));
}

/* 600 blocks: 300 KiB, more than one read round. */
static void orwrite_ors_every_block(void **state)
{
	struct fixture *f = *state;
	const uint32_t n = 600;
	memset(f->store.mem + 3 * FIX_BLOCK, 0x0F, n * FIX_BLOCK);
	f->store.mem[3 * FIX_BLOCK + 280000] = 0x80;
	uint8_t *d = malloc(n * FIX_BLOCK);
	assert_non_null(d);
	memset(d, 0x30, n * FIX_BLOCK);
	uint8_t cdb[16];
	orwrite_cdb(cdb, 3, n);
	assert_true(fixture_run(f, 0, cdb, d));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	for (uint32_t i = 0; i < n * FIX_BLOCK; i++)
		assert_int_equal(f->store.mem[3 * FIX_BLOCK + i], i == 280000 ? 0xB0 : 0x3F);
	assert_int_equal(f->store.mem[2 * FIX_BLOCK], 0);
	assert_int_equal(f->store.mem[(3 + n) * FIX_BLOCK], 0);
	assert_null(f->lus[0]->range_lock.held_head);
	free(d);
}

static void orwrite_fua_reaches_the_store(void **state)
{
	struct fixture *f = *state;
	uint8_t d[FIX_BLOCK] = { 1 };
	uint8_t cdb[16];
	orwrite_cdb(cdb, 0, 1);
	cdb[1] = 0x08;
	assert_true(fixture_run(f, 0, cdb, d));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_true(f->store.last_fua);
}

static void orwrite_orprotect_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	orwrite_cdb(cdb, 0, 1);
	cdb[1] = 0x20;
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(equal_blocks_are_written, setup, teardown),
		cmocka_unit_test_setup_teardown(miscompare_reports_first_differing_byte, setup,
						teardown),
		cmocka_unit_test_setup_teardown(miscompare_offset_past_the_first_chunk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(largest_compare_writes_every_block, setup,
						teardown),
		cmocka_unit_test_setup_teardown(fua_reaches_the_store, setup, teardown),
		cmocka_unit_test_setup_teardown(zero_blocks_is_good_without_io, setup, teardown),
		cmocka_unit_test_setup_teardown(zero_blocks_with_data_out_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(data_out_not_twice_the_blocks_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(wrprotect_is_an_invalid_field, setup, teardown),
		cmocka_unit_test_setup_teardown(past_the_last_block_is_out_of_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(waits_for_blocks_held_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(orwrite_ors_every_block, setup, teardown),
		cmocka_unit_test_setup_teardown(orwrite_fua_reaches_the_store, setup, teardown),
		cmocka_unit_test_setup_teardown(orwrite_orprotect_is_an_invalid_field, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
