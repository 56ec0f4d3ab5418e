#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/nexus.h"
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

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void fill_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void test_read_capacity10(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x25 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 8);
	assert_int_equal(be32(f->task.buf), FIX_NBLOCKS - 1);
	assert_int_equal(be32(f->task.buf + 4), FIX_BLOCK);
}

static void test_read_capacity10_saturates_beyond_32_bits(void **state)
{
	struct fixture *f = *state;
	f->lus[0]->nblocks = 0x100000001ull;
	uint8_t cdb[16] = { 0x25 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(be32(f->task.buf), 0xFFFFFFFF);
}

static void test_read_capacity10_lba_without_pmi_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x25, 0, 0, 0, 0, 1 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
}

static void test_read_capacity10_lba_with_pmi_is_accepted(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x25, 0, 0, 0, 0, 1, 0, 0, 1 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

static void test_read_capacity16(void **state)
{
	struct fixture *f = *state;
	f->lus[0]->nblocks = 0x100000001ull;
	uint8_t cdb[16] = { 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.data_len, 32);
	assert_int_equal(be64(f->task.buf), 0x100000000ull);
	assert_int_equal(be32(f->task.buf + 8), FIX_BLOCK);
	assert_int_equal(f->task.buf[14] & 0x80, 0);
}

static void test_read_capacity16_honours_allocation_length(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.data_len, 12);
}

static void test_read_capacity_sees_grown_store_and_tells_other_nexuses(void **state)
{
	struct fixture *f = *state;
	struct scsi_nexus other;
	scsi_nexus_init(&other, &f->target, "iqn.2024-01.org.test:other,i,0x1", &f->loop, NULL);
	memset(other.ua, 0, sizeof(other.ua));
	f->store.grown_size = (uint64_t)(FIX_NBLOCKS + 8) * FIX_BLOCK + 100;
	uint8_t cdb[16] = { 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(be64(f->task.buf), FIX_NBLOCKS + 7);
	assert_int_equal(f->store.bs.size, (uint64_t)(FIX_NBLOCKS + 8) * FIX_BLOCK);
	assert_int_equal(scsi_ua_take(&other, 0), SENSE_CAPACITY_CHANGED_UA);
	/* The nexus that asked has the new capacity already. */
	assert_int_equal(f->nexus.ua[0], 0);
	/* Told once: the next READ CAPACITY finds nothing new. */
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(scsi_ua_take(&other, 0), SENSE_NONE);
	scsi_nexus_fini(&other);
}

static void test_read_capacity16_512e_exponent(void **state)
{
	struct fixture *f = *state;
	f->lus[0]->physical_block_size = 4096;
	uint8_t cdb[16] = { 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(be32(f->task.buf + 8), 512);
	assert_int_equal(f->task.buf[13] & 0x0F, 3);
	assert_int_equal(f->task.buf[14] & 0x3F, 0);
	assert_int_equal(f->task.buf[15], 0);
}

static void test_read_capacity16_native_exponent_is_0(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.buf[13], 0);
}

static void test_read_capacity_never_shrinks(void **state)
{
	struct fixture *f = *state;
	f->store.grown_size = FIX_BLOCK;
	uint8_t cdb[16] = { 0x25 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(be32(f->task.buf), FIX_NBLOCKS - 1);
}

static void test_write_then_read_round_trip(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4 * FIX_BLOCK];
	fill_pattern(data, sizeof(data), 3);
	uint8_t wr[16] = { 0x2A, 0, 0, 0, 0, 10, 0, 0, 4 };
	assert_true(fixture_run(f, 0, wr, data));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(f->store.mem + 10 * FIX_BLOCK, data, sizeof(data));

	uint8_t rd[16] = { 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 4 };
	assert_true(fixture_run(f, 0, rd, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, sizeof(data));
	assert_memory_equal(fixture_read_data(f), data, sizeof(data));
}

static void test_write_short_data_out_writes_only_whole_blocks_sent(void **state)
{
	struct fixture *f = *state;
	uint8_t old[2 * FIX_BLOCK], data[2 * FIX_BLOCK];
	fill_pattern(old, sizeof(old), 1);
	fill_pattern(data, sizeof(data), 200);
	memcpy(f->store.mem + 20 * FIX_BLOCK, old, sizeof(old));
	uint8_t wr[16] = { 0x2A, 0, 0, 0, 0, 20, 0, 0, 2 };
	assert_true(fixture_run_partial(f, 0, wr, data, FIX_BLOCK + 100));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(f->store.mem + 20 * FIX_BLOCK, data, FIX_BLOCK);
	assert_memory_equal(f->store.mem + 21 * FIX_BLOCK, old + FIX_BLOCK, FIX_BLOCK);
}

static void test_write_less_than_a_block_of_data_out_writes_nothing(void **state)
{
	struct fixture *f = *state;
	uint8_t old[FIX_BLOCK], data[FIX_BLOCK];
	fill_pattern(old, sizeof(old), 5);
	fill_pattern(data, sizeof(data), 77);
	memcpy(f->store.mem + 30 * FIX_BLOCK, old, sizeof(old));
	unsigned before = f->store.nsubmits;
	uint8_t wr[16] = { 0x2A, 0, 0, 0, 0, 30, 0, 0, 1 };
	assert_true(fixture_run_partial(f, 0, wr, data, 200));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.nsubmits, before);
	assert_memory_equal(f->store.mem + 30 * FIX_BLOCK, old, sizeof(old));
}

static void test_read6_reads_from_lba(void **state)
{
	struct fixture *f = *state;
	fill_pattern(f->store.mem + 0x102 * FIX_BLOCK, FIX_BLOCK, 9);
	uint8_t rd[16] = { 0x08, 0x00, 0x01, 0x02, 1 };
	assert_true(fixture_run(f, 0, rd, NULL));
	assert_memory_equal(fixture_read_data(f), f->store.mem + 0x102 * FIX_BLOCK, FIX_BLOCK);
}

static void test_write_fua_reaches_backend(void **state)
{
	struct fixture *f = *state;
	uint8_t data[FIX_BLOCK] = { 1 };
	uint8_t wr[16] = { 0x2A, 0x08, 0, 0, 0, 0, 0, 0, 1 };
	assert_true(fixture_run(f, 0, wr, data));
	assert_true(f->store.last_fua);
	uint8_t wr12[16] = { 0xAA, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_true(fixture_run(f, 0, wr12, data));
	assert_false(f->store.last_fua);
}

static void test_write6_never_sets_fua(void **state)
{
	struct fixture *f = *state;
	uint8_t data[FIX_BLOCK] = { 1 };
	uint8_t wr[16] = { 0x0A, 0x00, 0x00, 0x08, 1 };
	assert_true(fixture_run(f, 0, wr, data));
	assert_false(f->store.last_fua);
	assert_memory_equal(f->store.mem + 8 * FIX_BLOCK, data, FIX_BLOCK);
}

static void test_zero_length_transfer_does_no_io(void **state)
{
	struct fixture *f = *state;
	uint8_t rd[16] = { 0x28, 0, 0, 0, 0, 5 };
	assert_true(fixture_run(f, 0, rd, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.nsubmits, 0);
	assert_int_equal(f->ndone, 1);
}

static void test_read_eio_is_medium_error(void **state)
{
	struct fixture *f = *state;
	f->store.fail_err = -EIO;
	uint8_t rd[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_true(fixture_run(f, 0, rd, NULL));
	assert_true(fixture_check(f, 0x3, 0x11, 0x00));
	assert_int_equal(f->task.data_len, 0);
}

static void test_write_eio_is_write_error(void **state)
{
	struct fixture *f = *state;
	f->store.fail_err = -EIO;
	uint8_t data[FIX_BLOCK] = { 0 };
	uint8_t wr[16] = { 0x2A, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_true(fixture_run(f, 0, wr, data));
	assert_true(fixture_check(f, 0x3, 0x0C, 0x00));
}

static void test_write_enospc_is_space_allocation_failed(void **state)
{
	struct fixture *f = *state;
	f->store.fail_err = -ENOSPC;
	uint8_t data[FIX_BLOCK] = { 0 };
	uint8_t wr[16] = { 0x2A, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_true(fixture_run(f, 0, wr, data));
	assert_true(fixture_check(f, 0x7, 0x27, 0x07));
}

static void test_other_backend_error_is_hardware_error(void **state)
{
	struct fixture *f = *state;
	f->store.fail_err = -ENOMEM;
	uint8_t rd[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_true(fixture_run(f, 0, rd, NULL));
	assert_true(fixture_check(f, 0x4, 0x44, 0x00));
}

static void test_sync_cache_flushes(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x35, 0x02 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.nflushes, 1);
	uint8_t cdb16[16] = { 0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8 };
	assert_true(fixture_run(f, 0, cdb16, NULL));
	assert_int_equal(f->store.nflushes, 2);
}

static void test_verify_without_bytchk_checks_range_only(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x2F, 0, 0, 0, 0, 0, 0, 0, 8 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.nsubmits, 0);
}

static void test_verify_bytchk_match_is_good(void **state)
{
	struct fixture *f = *state;
	fill_pattern(f->store.mem + 4 * FIX_BLOCK, 2 * FIX_BLOCK, 5);
	uint8_t cdb[16] = { 0x2F, 0x02, 0, 0, 0, 4, 0, 0, 2 };
	assert_true(fixture_run(f, 0, cdb, f->store.mem + 4 * FIX_BLOCK));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

static void test_verify_bytchk_mismatch_reports_offset(void **state)
{
	struct fixture *f = *state;
	uint8_t data[2 * FIX_BLOCK];
	fill_pattern(f->store.mem + 4 * FIX_BLOCK, sizeof(data), 5);
	memcpy(data, f->store.mem + 4 * FIX_BLOCK, sizeof(data));
	data[FIX_BLOCK + 3] ^= 0xFF;
	uint8_t cdb[16] = { 0x8F, 0x02, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 2 };
	assert_true(fixture_run(f, 0, cdb, data));
	assert_true(fixture_check(f, 0xE, 0x1D, 0x00));
	assert_true(f->task.sense[0] & 0x80);
	assert_int_equal(be32(f->task.sense + 3), FIX_BLOCK + 3);
}

static void assert_invalid_cdb_field(const struct fixture *f, int byte, int bit)
{
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
	int got_bit;
	assert_int_equal(fixture_field_pointer(f, &got_bit), byte);
	assert_int_equal(got_bit, bit);
}

static void test_verify12_without_bytchk_checks_range_only(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0xAF, 0x10, 0, 0, 0, 0, 0, 0, 0, 8 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.dir, SCSI_DIR_NONE);
	assert_int_equal(f->store.nsubmits, 0);
}

static void test_verify12_bytchk_mismatch_reports_offset(void **state)
{
	struct fixture *f = *state;
	uint8_t data[3 * FIX_BLOCK];
	fill_pattern(f->store.mem + 7 * FIX_BLOCK, sizeof(data), 9);
	memcpy(data, f->store.mem + 7 * FIX_BLOCK, sizeof(data));
	data[2 * FIX_BLOCK + 1] ^= 0x01;
	uint8_t cdb[16] = { 0xAF, 0x02, 0, 0, 0, 7, 0, 0, 0, 3 };
	assert_true(fixture_run(f, 0, cdb, data));
	assert_int_equal(f->task.xfer_len, sizeof(data));
	assert_true(fixture_check(f, 0xE, 0x1D, 0x00));
	assert_int_equal(be32(f->task.sense + 3), 2 * FIX_BLOCK + 1);
}

static void test_verify12_bytchk_match_is_good(void **state)
{
	struct fixture *f = *state;
	fill_pattern(f->store.mem, FIX_BLOCK, 2);
	uint8_t cdb[16] = { 0xAF, 0x02, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_true(fixture_run(f, 0, cdb, f->store.mem));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

static void test_verify12_beyond_end_is_lba_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0xAF, 0, 0, 0, (FIX_NBLOCKS - 1) >> 8, (FIX_NBLOCKS - 1) & 0xFF,
			    0, 0, 0, 2 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x21, 0x00));
}

static void test_verify12_bytchk_10b_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0xAF, 0x04, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_invalid_cdb_field(f, 1, 2);
}

static void test_verify12_vrprotect_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0xAF, 0x20, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_invalid_cdb_field(f, 1, 5);
}

static void test_write_verify10_writes_with_fua_and_reads_back(void **state)
{
	struct fixture *f = *state;
	uint8_t data[2 * FIX_BLOCK];
	fill_pattern(data, sizeof(data), 11);
	uint8_t cdb[16] = { 0x2E, 0x10, 0, 0, 0, 30, 0, 0, 2 };
	assert_true(fixture_run(f, 0, cdb, data));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(f->store.mem + 30 * FIX_BLOCK, data, sizeof(data));
	assert_true(f->store.last_fua);
	assert_int_equal(f->store.nsubmits, 2);
}

static void test_write_verify_bytchk_compares_too(void **state)
{
	struct fixture *f = *state;
	uint8_t data[FIX_BLOCK];
	fill_pattern(data, sizeof(data), 12);
	uint8_t cdb[16] = { 0x2E, 0x02, 0, 0, 0, 31, 0, 0, 1 };
	assert_true(fixture_run(f, 0, cdb, data));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(f->store.mem + 31 * FIX_BLOCK, data, sizeof(data));
}

static void test_write_verify_read_back_difference_is_miscompare(void **state)
{
	struct fixture *f = *state;
	uint8_t data[2 * FIX_BLOCK];
	fill_pattern(data, sizeof(data), 13);
	f->store.flip_write = true;
	f->store.flip_at = FIX_BLOCK + 7;
	uint8_t cdb[16] = { 0x2E, 0x00, 0, 0, 0, 40, 0, 0, 2 };
	assert_true(fixture_run(f, 0, cdb, data));
	assert_true(fixture_check(f, 0xE, 0x1D, 0x00));
	assert_true(f->task.sense[0] & 0x80);
	assert_int_equal(be32(f->task.sense + 3), FIX_BLOCK + 7);
}

static void test_write_verify_short_data_out_verifies_whole_blocks_sent(void **state)
{
	struct fixture *f = *state;
	uint8_t old[2 * FIX_BLOCK], data[2 * FIX_BLOCK];
	fill_pattern(old, sizeof(old), 1);
	fill_pattern(data, sizeof(data), 99);
	memcpy(f->store.mem + 50 * FIX_BLOCK, old, sizeof(old));
	f->store.flip_write = true;
	f->store.flip_at = FIX_BLOCK + 1;
	uint8_t cdb[16] = { 0x2E, 0, 0, 0, 0, 50, 0, 0, 2 };
	assert_true(fixture_run_partial(f, 0, cdb, data, FIX_BLOCK + 100));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(f->store.mem + 50 * FIX_BLOCK, data, FIX_BLOCK);
	assert_memory_equal(f->store.mem + 51 * FIX_BLOCK, old + FIX_BLOCK, FIX_BLOCK);
}

static void test_write_verify_less_than_a_block_sent_does_no_io(void **state)
{
	struct fixture *f = *state;
	uint8_t data[FIX_BLOCK] = { 1 };
	uint8_t cdb[16] = { 0x2E, 0, 0, 0, 0, 50, 0, 0, 1 };
	assert_true(fixture_run_partial(f, 0, cdb, data, FIX_BLOCK - 1));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.nsubmits, 0);
}

static void test_write_verify_zero_blocks_is_good_without_io(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x2E, 0, 0, 0, 0, 0, 0, 0, 0 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.nsubmits, 0);
}

static void test_write_verify_write_error_skips_read_back(void **state)
{
	struct fixture *f = *state;
	uint8_t data[FIX_BLOCK] = { 0 };
	f->store.fail_err = -EIO;
	uint8_t cdb[16] = { 0x2E, 0, 0, 0, 0, 1, 0, 0, 1 };
	assert_true(fixture_run(f, 0, cdb, data));
	assert_true(fixture_check(f, 0x3, 0x0C, 0x00));
	assert_int_equal(f->store.nsubmits, 1);
}

static void test_write_verify_wrprotect_is_invalid(void **state)
{
	struct fixture *f = *state;
	for (uint8_t wrprotect = 1; wrprotect < 8; wrprotect++) {
		uint8_t cdb[16] = { 0x2E, (uint8_t)(wrprotect << 5), 0, 0, 0, 0, 0, 0, 1 };
		assert_false(fixture_run(f, 0, cdb, NULL));
		int top = wrprotect & 4 ? 7 : wrprotect & 2 ? 6 : 5;
		assert_invalid_cdb_field(f, 1, top);
	}
}

static void test_write_verify_bytchk_10b_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x2E, 0x04, 0, 0, 0, 0, 0, 0, 1 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_invalid_cdb_field(f, 1, 2);
}

static void test_write_verify_on_readonly_lu_is_write_protected(void **state)
{
	struct fixture *f = *state;
	f->lus[0]->readonly = true;
	uint8_t cdb[16] = { 0x2E, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x7, 0x27, 0x00));
}

static void test_write_verify_beyond_end_is_lba_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x2E, 0, 0, 0, FIX_NBLOCKS >> 8, FIX_NBLOCKS & 0xFF, 0, 0, 1 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x21, 0x00));
}

static void test_write_verify12_and_16_decode_lba_and_length(void **state)
{
	struct fixture *f = *state;
	uint8_t data[3 * FIX_BLOCK];
	fill_pattern(data, sizeof(data), 21);
	uint8_t cdb12[16] = { 0xAE, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 3 };
	assert_true(fixture_run(f, 0, cdb12, data));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(f->store.mem + 256 * FIX_BLOCK, data, sizeof(data));

	fill_pattern(data, sizeof(data), 22);
	uint8_t cdb16[16] = { 0x8E, 0x02, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0, 0, 0, 3 };
	assert_true(fixture_run(f, 0, cdb16, data));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(f->store.mem + 512 * FIX_BLOCK, data, sizeof(data));
}

static void test_prefetch10_in_range_is_good_without_io(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x34, 0, 0, 0, (FIX_NBLOCKS - 8) >> 8, (FIX_NBLOCKS - 8) & 0xFF,
			    0, 0, 8 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.nsubmits, 0);
}

static void test_prefetch10_immed_and_group_are_accepted(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x34, 0x02, 0, 0, 0, 0, 0x03, 0, 1 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

static void test_prefetch10_beyond_end_is_lba_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x34, 0, 0, 0, (FIX_NBLOCKS - 1) >> 8, (FIX_NBLOCKS - 1) & 0xFF,
			    0, 0, 2 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x21, 0x00));
}

static void test_prefetch_zero_length_past_end_is_lba_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x34, 0, 0, 0, (FIX_NBLOCKS + 1) >> 8, (FIX_NBLOCKS + 1) & 0xFF };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x21, 0x00));
}

static void test_prefetch16_beyond_end_is_lba_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x90, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x21, 0x00));
	uint8_t ok[16] = { 0x90, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16 };
	assert_true(fixture_run(f, 0, ok, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

static void test_prefetch10_reserved_bit_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x34, 0x04, 0, 0, 0, 0, 0, 0, 1 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_invalid_cdb_field(f, 1, 2);
}

static void test_prevent_allow_accepts_allow_and_prevent(void **state)
{
	struct fixture *f = *state;
	for (uint8_t prevent = 0; prevent <= 1; prevent++) {
		uint8_t cdb[16] = { 0x1E, 0, 0, 0, prevent };
		assert_true(fixture_run(f, 0, cdb, NULL));
		assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	}
}

static void test_prevent_allow_obsolete_values_are_invalid(void **state)
{
	struct fixture *f = *state;
	for (uint8_t prevent = 2; prevent <= 3; prevent++) {
		uint8_t cdb[16] = { 0x1E, 0, 0, 0, prevent };
		assert_true(fixture_run(f, 0, cdb, NULL));
		assert_invalid_cdb_field(f, 4, 1);
	}
}

static void test_prevent_allow_reserved_byte_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x1E, 0, 0, 0, 0x04 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_invalid_cdb_field(f, 4, 2);
}

static void test_read_defect_data10_is_empty_in_requested_format(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x37, 0, 0x18 | 0x03, 0, 0, 0, 0, 0, 32 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 4);
	assert_int_equal(f->task.buf[1], 0x18 | 0x03);
	assert_int_equal(f->task.buf[2] << 8 | f->task.buf[3], 0);
}

static void test_read_defect_data10_echoes_only_lists_asked_for(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x37, 0, 0x08 | 0x05, 0, 0, 0, 0, 0, 32 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.buf[1], 0x08 | 0x05);
}

static void test_read_defect_data10_honours_allocation_length(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x37, 0, 0x10, 0, 0, 0, 0, 0, 2 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 2);
	assert_int_equal(f->task.buf[1], 0x10);
}

static void test_read_defect_data_vendor_and_reserved_formats_are_invalid(void **state)
{
	struct fixture *f = *state;
	for (uint8_t format = 6; format <= 7; format++) {
		uint8_t cdb10[16] = { 0x37, 0, format, 0, 0, 0, 0, 0, 32 };
		assert_true(fixture_run(f, 0, cdb10, NULL));
		assert_invalid_cdb_field(f, 2, 2);
		uint8_t cdb12[16] = { 0xB7, format, 0, 0, 0, 0, 0, 0, 0, 32 };
		assert_true(fixture_run(f, 0, cdb12, NULL));
		assert_invalid_cdb_field(f, 1, 2);
	}
}

static void test_read_defect_data12_has_eight_byte_header(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0xB7, 0x10 | 0x04, 0, 0, 0, 0, 0, 0, 0, 64 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 8);
	assert_int_equal(f->task.buf[1], 0x10 | 0x04);
	assert_int_equal(be32(f->task.buf + 4), 0);
}

static void test_read_defect_data10_reserved_byte_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x37, 0x01, 0, 0, 0, 0, 0, 0, 32 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_invalid_cdb_field(f, 1, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_read_capacity10),
		T(test_read_capacity10_saturates_beyond_32_bits),
		T(test_read_capacity10_lba_without_pmi_is_invalid),
		T(test_read_capacity10_lba_with_pmi_is_accepted),
		T(test_read_capacity16),
		T(test_read_capacity16_honours_allocation_length),
		T(test_read_capacity_sees_grown_store_and_tells_other_nexuses),
		T(test_read_capacity_never_shrinks),
		T(test_read_capacity16_512e_exponent),
		T(test_read_capacity16_native_exponent_is_0),
		T(test_write_then_read_round_trip),
		T(test_write_short_data_out_writes_only_whole_blocks_sent),
		T(test_write_less_than_a_block_of_data_out_writes_nothing),
		T(test_read6_reads_from_lba),
		T(test_write_fua_reaches_backend),
		T(test_write6_never_sets_fua),
		T(test_zero_length_transfer_does_no_io),
		T(test_read_eio_is_medium_error),
		T(test_write_eio_is_write_error),
		T(test_write_enospc_is_space_allocation_failed),
		T(test_other_backend_error_is_hardware_error),
		T(test_sync_cache_flushes),
		T(test_verify_without_bytchk_checks_range_only),
		T(test_verify_bytchk_match_is_good),
		T(test_verify_bytchk_mismatch_reports_offset),
		T(test_verify12_without_bytchk_checks_range_only),
		T(test_verify12_bytchk_mismatch_reports_offset),
		T(test_verify12_bytchk_match_is_good),
		T(test_verify12_beyond_end_is_lba_out_of_range),
		T(test_verify12_bytchk_10b_is_invalid),
		T(test_verify12_vrprotect_is_invalid),
		T(test_write_verify10_writes_with_fua_and_reads_back),
		T(test_write_verify_bytchk_compares_too),
		T(test_write_verify_read_back_difference_is_miscompare),
		T(test_write_verify_short_data_out_verifies_whole_blocks_sent),
		T(test_write_verify_less_than_a_block_sent_does_no_io),
		T(test_write_verify_zero_blocks_is_good_without_io),
		T(test_write_verify_write_error_skips_read_back),
		T(test_write_verify_wrprotect_is_invalid),
		T(test_write_verify_bytchk_10b_is_invalid),
		T(test_write_verify_on_readonly_lu_is_write_protected),
		T(test_write_verify_beyond_end_is_lba_out_of_range),
		T(test_write_verify12_and_16_decode_lba_and_length),
		T(test_prefetch10_in_range_is_good_without_io),
		T(test_prefetch10_immed_and_group_are_accepted),
		T(test_prefetch10_beyond_end_is_lba_out_of_range),
		T(test_prefetch_zero_length_past_end_is_lba_out_of_range),
		T(test_prefetch16_beyond_end_is_lba_out_of_range),
		T(test_prefetch10_reserved_bit_is_invalid),
		T(test_prevent_allow_accepts_allow_and_prevent),
		T(test_prevent_allow_obsolete_values_are_invalid),
		T(test_prevent_allow_reserved_byte_is_invalid),
		T(test_read_defect_data10_is_empty_in_requested_format),
		T(test_read_defect_data10_echoes_only_lists_asked_for),
		T(test_read_defect_data10_honours_allocation_length),
		T(test_read_defect_data_vendor_and_reserved_formats_are_invalid),
		T(test_read_defect_data12_has_eight_byte_header),
		T(test_read_defect_data10_reserved_byte_is_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
