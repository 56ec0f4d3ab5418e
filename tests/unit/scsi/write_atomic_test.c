/* WRITE ATOMIC(16) (SBC-4 5.48): the write reaches the store as one atomic
 * write, its limits come from the store, and VPD B0h says them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_fixture.h"

/* The fake store's atomic limit in these tests: 16 blocks. */
#define ATOMIC_MAX (16 * FIX_BLOCK)

static int setup(void **state)
{
	struct fixture *f = fixture_new(false);
	f->store.bs.atomic_max = ATOMIC_MAX;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static void wa_cdb(uint8_t cdb[16], uint64_t lba, uint16_t nblocks)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x9C;
	for (int i = 0; i < 8; i++)
		cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	cdb[12] = (uint8_t)(nblocks >> 8);
	cdb[13] = (uint8_t)nblocks;
}

static void write_reaches_the_store_as_one_atomic_write(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	wa_cdb(cdb, 10, 16);
	uint8_t *d = malloc(ATOMIC_MAX);
	memset(d, 'W', ATOMIC_MAX);
	assert_true(fixture_run(f, 0, cdb, d));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_true(f->store.last_atomic);
	assert_int_equal(f->store.nsubmits, 1);
	assert_memory_equal(f->store.mem + 10 * FIX_BLOCK, d, ATOMIC_MAX);
	free(d);
}

static void fua_reaches_the_store(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	wa_cdb(cdb, 0, 1);
	cdb[1] = 0x08;
	uint8_t d[FIX_BLOCK] = { 1 };
	assert_true(fixture_run(f, 0, cdb, d));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_true(f->store.last_fua);
}

static void longer_than_the_atomic_maximum_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	wa_cdb(cdb, 0, 17);
	uint8_t *d = calloc(17, FIX_BLOCK);
	assert_true(fixture_run(f, 0, cdb, d));
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 12);
	assert_int_equal(f->store.nsubmits, 0);
	free(d);
}

static void partial_data_out_is_refused_not_written_in_part(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	wa_cdb(cdb, 0, 4);
	uint8_t d[4 * FIX_BLOCK] = { 0 };
	assert_true(fixture_run_partial(f, 0, cdb, d, 2 * FIX_BLOCK));
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	assert_int_equal(f->store.nsubmits, 0);
}

static void atomic_boundary_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	wa_cdb(cdb, 0, 1);
	cdb[11] = 1;
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
}

static void store_without_atomic_writes_has_no_such_command(void **state)
{
	struct fixture *f = *state;
	f->store.bs.atomic_max = 0;
	uint8_t cdb[16];
	wa_cdb(cdb, 0, 1);
	uint8_t d[FIX_BLOCK] = { 0 };
	assert_false(fixture_run(f, 0, cdb, d));
	assert_true(fixture_check(f, 0x05, 0x20, 0x00));
	assert_int_equal(f->store.nsubmits, 0);
}

static const uint8_t *block_limits(struct fixture *f)
{
	const uint8_t cdb[16] = { 0x12, 0x01, 0xB0, 0x01, 0x00, 0x00 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	return fixture_read_data(f);
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* SBC-4 6.6.4: MAXIMUM ATOMIC TRANSFER LENGTH at byte 44, then alignment,
 * granularity and the boundary fields, all 0. */
static void block_limits_give_the_atomic_limits(void **state)
{
	const uint8_t *r = block_limits(*state);
	assert_int_equal(be32_at(r + 44), 16);
	for (unsigned at = 48; at < 64; at += 4)
		assert_int_equal(be32_at(r + at), 0);
}

static void block_limits_say_no_atomic_writes_for_a_store_without(void **state)
{
	struct fixture *f = *state;
	f->store.bs.atomic_max = 0;
	const uint8_t *r = block_limits(f);
	assert_int_equal(be32_at(r + 44), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(write_reaches_the_store_as_one_atomic_write),
		T(fua_reaches_the_store),
		T(longer_than_the_atomic_maximum_is_an_invalid_field),
		T(partial_data_out_is_refused_not_written_in_part),
		T(atomic_boundary_is_an_invalid_field),
		T(store_without_atomic_writes_has_no_such_command),
		T(block_limits_give_the_atomic_limits),
		T(block_limits_say_no_atomic_writes_for_a_store_without),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
