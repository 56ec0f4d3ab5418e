/* Thin provisioning: the UNMAP parameter list decoder, UNMAP, WRITE SAME
 * and GET LBA STATUS through the core, and what VPD B0h/B2h and READ
 * CAPACITY(16) say of a thin LU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/sbc_thin.h"
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

/* An UNMAP parameter list of n descriptors (lba[i], count[i]). */
static uint32_t unmap_list(uint8_t *p, unsigned n, const uint64_t *lba, const uint32_t *count)
{
	uint32_t len = 8 + 16 * n;
	memset(p, 0, len);
	be16_put(p, (uint16_t)(len - 2));
	be16_put(p + 2, (uint16_t)(16 * n));
	for (unsigned i = 0; i < n; i++) {
		be64_put(p + 8 + 16 * i, lba[i]);
		be32_put(p + 16 + 16 * i, count[i]);
	}
	return len;
}

static void unmap_cdb(uint8_t *cdb, uint16_t len)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x42;
	be16_put(cdb + 7, len);
}

static enum sense_reason decode(struct fixture *f, const uint8_t *p, uint32_t len, unsigned *n,
				struct sbc_unmap_desc *out, struct scsi_sense_detail *d)
{
	memset(d, 0, sizeof(*d));
	return sbc_unmap_decode(f->lus[0], p, len, out, n, d);
}

static void empty_list_decodes_to_nothing(void **state)
{
	struct sbc_unmap_desc out[SBC_UNMAP_MAX_DESCRIPTORS];
	struct scsi_sense_detail d;
	unsigned n = 9;
	assert_int_equal(decode(*state, NULL, 0, &n, out, &d), SENSE_NONE);
	assert_int_equal(n, 0);
}

static void list_shorter_than_its_header_is_a_length_error(void **state)
{
	uint8_t p[8] = { 0 };
	struct sbc_unmap_desc out[SBC_UNMAP_MAX_DESCRIPTORS];
	struct scsi_sense_detail d;
	unsigned n;
	assert_int_equal(decode(*state, p, 7, &n, out, &d), SENSE_PARAM_LIST_LENGTH_ERROR);
}

static void descriptors_are_decoded_in_order(void **state)
{
	uint8_t p[64];
	const uint64_t lba[2] = { 100, 7 };
	const uint32_t count[2] = { 8, 0 };
	uint32_t len = unmap_list(p, 2, lba, count);
	struct sbc_unmap_desc out[SBC_UNMAP_MAX_DESCRIPTORS];
	struct scsi_sense_detail d;
	unsigned n;
	assert_int_equal(decode(*state, p, len, &n, out, &d), SENSE_NONE);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].lba, 100);
	assert_int_equal(out[0].count, 8);
	assert_int_equal(out[1].lba, 7);
	assert_int_equal(out[1].count, 0);
}

static void descriptors_past_the_list_are_not_read(void **state)
{
	uint8_t p[64];
	const uint64_t lba[2] = { 1, 2 };
	const uint32_t count[2] = { 1, 1 };
	unmap_list(p, 2, lba, count);
	struct sbc_unmap_desc out[SBC_UNMAP_MAX_DESCRIPTORS];
	struct scsi_sense_detail d;
	unsigned n;
	/* The list ends inside the second descriptor. */
	assert_int_equal(decode(*state, p, 8 + 16 + 10, &n, out, &d), SENSE_NONE);
	assert_int_equal(n, 1);
}

static void too_many_descriptors_is_an_invalid_field(void **state)
{
	static uint8_t p[8 + 16 * 257];
	static uint64_t lba[257];
	static uint32_t count[257];
	uint32_t len = unmap_list(p, 257, lba, count);
	struct sbc_unmap_desc out[SBC_UNMAP_MAX_DESCRIPTORS];
	struct scsi_sense_detail d;
	unsigned n;
	assert_int_equal(decode(*state, p, len, &n, out, &d), SENSE_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(d.field, 2);
	assert_false(d.in_cdb);
}

static void descriptor_past_the_last_lba_is_out_of_range(void **state)
{
	uint8_t p[64];
	const uint64_t lba[2] = { 0, FIX_NBLOCKS - 1 };
	const uint32_t count[2] = { 1, 2 };
	uint32_t len = unmap_list(p, 2, lba, count);
	struct sbc_unmap_desc out[SBC_UNMAP_MAX_DESCRIPTORS];
	struct scsi_sense_detail d;
	unsigned n;
	assert_int_equal(decode(*state, p, len, &n, out, &d), SENSE_LBA_OUT_OF_RANGE);
	assert_int_equal(n, 0);
}

static void zero_blocks_at_the_end_of_the_lu_is_in_range(void **state)
{
	uint8_t p[64];
	const uint64_t lba[1] = { FIX_NBLOCKS };
	const uint32_t count[1] = { 0 };
	uint32_t len = unmap_list(p, 1, lba, count);
	struct sbc_unmap_desc out[SBC_UNMAP_MAX_DESCRIPTORS];
	struct scsi_sense_detail d;
	unsigned n;
	assert_int_equal(decode(*state, p, len, &n, out, &d), SENSE_NONE);
}

static void unmap_zeroes_the_blocks_of_each_descriptor(void **state)
{
	struct fixture *f = *state;
	memset(f->store.mem, 0xAA, 64 * FIX_BLOCK);
	uint8_t p[128], cdb[16];
	const uint64_t lba[6] = { 1, 10, 20, 30, 40, 50 };
	const uint32_t count[6] = { 2, 0, 1, 1, 1, 3 };
	uint32_t len = unmap_list(p, 6, lba, count);
	unmap_cdb(cdb, (uint16_t)len);
	assert_true(fixture_run(f, 0, cdb, p));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	/* Five non-empty descriptors: two steps of backend discards. */
	assert_int_equal(f->store.ndiscards, 5);
	static const uint8_t zero[3 * FIX_BLOCK];
	assert_memory_equal(f->store.mem + FIX_BLOCK, zero, 2 * FIX_BLOCK);
	assert_memory_equal(f->store.mem + 50 * FIX_BLOCK, zero, 3 * FIX_BLOCK);
	assert_int_equal(f->store.mem[0], 0xAA);
	assert_int_equal(f->store.mem[3 * FIX_BLOCK], 0xAA);
	assert_int_equal(f->store.mem[10 * FIX_BLOCK], 0xAA);
}

static void unmap_without_a_list_is_good(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	unmap_cdb(cdb, 0);
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.ndiscards, 0);
}

static void unmap_with_anchor_is_an_invalid_field_in_cdb(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	unmap_cdb(cdb, 0);
	cdb[1] = 0x01;
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 1);
	assert_int_equal(bit, 0);
}

static void unmap_on_a_fully_provisioned_lu_is_an_invalid_opcode(void **state)
{
	struct fixture *f = *state;
	f->store.bs.thin = false;
	uint8_t p[64], cdb[16];
	const uint64_t lba[1] = { 0 };
	const uint32_t count[1] = { 1 };
	uint32_t len = unmap_list(p, 1, lba, count);
	unmap_cdb(cdb, (uint16_t)len);
	assert_false(fixture_run(f, 0, cdb, p));
	assert_true(fixture_check(f, 0x05, 0x20, 0x00));
	assert_int_equal(f->store.ndiscards, 0);
}

static const uint8_t *inquiry_vpd(struct fixture *f, uint8_t page)
{
	const uint8_t cdb[16] = { 0x12, 0x01, page, 0x01, 0x00, 0x00 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	return fixture_read_data(f);
}

static void block_limits_give_the_unmap_limits_of_a_thin_lu(void **state)
{
	const uint8_t *r = inquiry_vpd(*state, 0xB0);
	assert_int_equal(be32_get(r + 20), 1u << 20);
	assert_int_equal(be32_get(r + 24), 256);
	assert_int_equal(be32_get(r + 28), 4096 / FIX_BLOCK);
}

static void block_limits_of_a_fully_provisioned_lu_have_no_unmap(void **state)
{
	struct fixture *f = *state;
	f->store.bs.thin = false;
	const uint8_t *r = inquiry_vpd(f, 0xB0);
	assert_int_equal(be32_get(r + 20), 0);
	assert_int_equal(be32_get(r + 24), 0);
}

static void provisioning_page_of_a_thin_lu_sets_lbpu_and_lbprz(void **state)
{
	const uint8_t *r = inquiry_vpd(*state, 0xB2);
	assert_int_equal(be16_get(r + 2), 4);
	assert_int_equal(r[5], 0xC4);
	assert_int_equal(r[6] & 0x07, 0x02);
}

static void provisioning_page_of_a_fully_provisioned_lu_is_zero(void **state)
{
	struct fixture *f = *state;
	f->store.bs.thin = false;
	const uint8_t *r = inquiry_vpd(f, 0xB2);
	assert_int_equal(r[5], 0);
	assert_int_equal(r[6], 0);
}

static const uint8_t *read_capacity16(struct fixture *f)
{
	uint8_t cdb[16] = { 0x9E, 0x10 };
	cdb[13] = 32;
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	return fixture_read_data(f);
}

static void read_capacity16_of_a_thin_lu_sets_lbpme_and_lbprz(void **state)
{
	assert_int_equal(read_capacity16(*state)[14] & 0xC0, 0xC0);
}

static void read_capacity16_of_a_fully_provisioned_lu_clears_lbpme(void **state)
{
	struct fixture *f = *state;
	f->store.bs.thin = false;
	assert_int_equal(read_capacity16(f)[14] & 0xC0, 0);
}

static void write_same16_cdb(uint8_t *cdb, uint64_t lba, uint32_t count, uint8_t byte1)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x93;
	cdb[1] = byte1;
	be64_put(cdb + 2, lba);
	be32_put(cdb + 10, count);
}

static void write_same_repeats_the_block_over_the_range(void **state)
{
	struct fixture *f = *state;
	uint8_t block[FIX_BLOCK], cdb[16];
	for (unsigned i = 0; i < FIX_BLOCK; i++)
		block[i] = (uint8_t)(i * 3 + 1);
	write_same16_cdb(cdb, 5, 300, 0);
	assert_true(fixture_run(f, 0, cdb, block));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	for (unsigned b = 5; b < 305; b++)
		assert_memory_equal(f->store.mem + b * FIX_BLOCK, block, FIX_BLOCK);
	assert_int_equal(f->store.mem[4 * FIX_BLOCK], 0);
	assert_int_equal(f->store.mem[305 * FIX_BLOCK], 0);
	assert_int_equal(f->store.ndiscards, 0);
}

/* 4096 blocks of 512 bytes: 2 MiB, more than one pattern buffer (1 MiB),
 * so the range takes several writes. */
static void write_same_of_more_than_one_pattern_takes_several_writes(void **state)
{
	struct fixture *f = *state;
	f->store.bs.size = 4096ull * FIX_BLOCK;
	f->store.mem = realloc(f->store.mem, f->store.bs.size);
	memset(f->store.mem, 0, f->store.bs.size);
	f->lus[0]->nblocks = 4096;
	uint8_t block[FIX_BLOCK], cdb[16];
	memset(block, 0x5A, sizeof(block));
	write_same16_cdb(cdb, 0, 0, 0);
	assert_true(fixture_run(f, 0, cdb, block));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.nsubmits, 2);
	assert_int_equal(f->store.mem[0], 0x5A);
	assert_int_equal(f->store.mem[4096 * FIX_BLOCK - 1], 0x5A);
}

static void write_same_with_unmap_and_zeros_deallocates(void **state)
{
	struct fixture *f = *state;
	memset(f->store.mem, 0xEE, 16 * FIX_BLOCK);
	uint8_t block[FIX_BLOCK] = { 0 }, cdb[16];
	write_same16_cdb(cdb, 2, 8, 0x08);
	assert_true(fixture_run(f, 0, cdb, block));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.ndiscards, 1);
	assert_int_equal(f->store.mem[2 * FIX_BLOCK], 0);
	assert_int_equal(f->store.mem[10 * FIX_BLOCK - 1], 0);
	assert_int_equal(f->store.mem[10 * FIX_BLOCK], 0xEE);
}

static void write_same_with_unmap_and_data_writes_the_data(void **state)
{
	struct fixture *f = *state;
	uint8_t block[FIX_BLOCK], cdb[16];
	memset(block, 0x77, sizeof(block));
	write_same16_cdb(cdb, 0, 4, 0x08);
	assert_true(fixture_run(f, 0, cdb, block));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.ndiscards, 0);
	assert_int_equal(f->store.mem[4 * FIX_BLOCK - 1], 0x77);
}

static void write_same_ndob_unmap_moves_no_data_and_deallocates(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	write_same16_cdb(cdb, 0, 4, 0x09);
	assert_true(fixture_prepare(f, 0, cdb));
	assert_int_equal(f->task.dir, SCSI_DIR_NONE);
	assert_int_equal(f->task.xfer_len, 0);
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->store.ndiscards, 1);
}

static void write_same_moves_one_block_of_data_out(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	write_same16_cdb(cdb, 0, 100, 0);
	assert_true(fixture_prepare(f, 0, cdb));
	assert_int_equal(f->task.dir, SCSI_DIR_WRITE);
	assert_int_equal(f->task.xfer_len, FIX_BLOCK);
}

static void write_same_past_the_maximum_length_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	f->store.bs.size = 20000ull * FIX_BLOCK;
	f->store.mem = realloc(f->store.mem, f->store.bs.size);
	f->lus[0]->nblocks = 20000;
	uint8_t block[FIX_BLOCK] = { 0 }, cdb[16];
	write_same16_cdb(cdb, 0, SCSI_MAX_XFER_BYTES / FIX_BLOCK + 1, 0);
	assert_true(fixture_run(f, 0, cdb, block));
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 10);
	assert_int_equal(f->store.nsubmits, 0);
}

static void write_same_with_anchor_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16];
	write_same16_cdb(cdb, 0, 1, 0x18);
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 1);
	assert_int_equal(bit, 4);
}

static void write_same10_with_unmap_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x41, 0x08 };
	cdb[8] = 1;
	uint8_t block[FIX_BLOCK] = { 0 };
	assert_true(fixture_run(f, 0, cdb, block));
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	assert_int_equal(f->store.ndiscards, 0);
}

/* libiscsi's ReadOnly.ReadOnlySBC: write protection is reported first. */
static void write_same10_with_unmap_on_a_readonly_lu_is_write_protected(void **state)
{
	struct fixture *f = *state;
	f->lus[0]->readonly = true;
	uint8_t cdb[16] = { 0x41, 0x08 };
	cdb[8] = 1;
	assert_false(fixture_prepare(f, 0, cdb));
	assert_true(fixture_check(f, 0x07, 0x27, 0x00));
}

static void write_same_with_unmap_on_a_fully_provisioned_lu_is_an_invalid_field(void **state)
{
	struct fixture *f = *state;
	f->store.bs.thin = false;
	uint8_t block[FIX_BLOCK] = { 0 }, cdb[16];
	write_same16_cdb(cdb, 0, 1, 0x08);
	assert_true(fixture_run(f, 0, cdb, block));
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	assert_int_equal(f->store.nsubmits, 0);
}

static void block_limits_give_the_maximum_write_same_length(void **state)
{
	const uint8_t *r = inquiry_vpd(*state, 0xB0);
	assert_int_equal(be64_get(r + 36), SCSI_MAX_XFER_BYTES / FIX_BLOCK);
}

/* A store whose blocks [64, 128) are deallocated, the rest mapped. */
#define HOLE_START (64u * FIX_BLOCK)
#define HOLE_END (128u * FIX_BLOCK)

static int holey_lba_status(const struct backend *bs, uint64_t offset, bool *mapped, uint64_t *extent)
{
	if (offset < HOLE_START) {
		*mapped = true;
		*extent = HOLE_START - offset;
	} else if (offset < HOLE_END) {
		*mapped = false;
		*extent = HOLE_END - offset;
	} else {
		*mapped = true;
		*extent = bs->size - offset;
	}
	return 0;
}

static struct backend_type holey_type;

static void use_holey_store(struct fixture *f)
{
	holey_type = *f->store.bs.type;
	holey_type.lba_status = holey_lba_status;
	f->store.bs.type = &holey_type;
}

static const uint8_t *get_lba_status(struct fixture *f, uint64_t lba, uint32_t alloc)
{
	uint8_t cdb[16] = { 0x9E, 0x12 };
	be64_put(cdb + 2, lba);
	be32_put(cdb + 10, alloc);
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	return fixture_read_data(f);
}

static void lba_status_lists_the_extents_from_the_lba(void **state)
{
	struct fixture *f = *state;
	use_holey_store(f);
	const uint8_t *r = get_lba_status(f, 10, 1024);
	assert_int_equal(f->task.data_len, 8 + 3 * 16);
	assert_int_equal(be32_get(r), 4 + 3 * 16);
	assert_int_equal(be64_get(r + 8), 10);
	assert_int_equal(be32_get(r + 16), 54);
	assert_int_equal(r[20], 0);
	assert_int_equal(be64_get(r + 24), 64);
	assert_int_equal(be32_get(r + 32), 64);
	assert_int_equal(r[36], 1);
	assert_int_equal(be64_get(r + 40), 128);
	assert_int_equal(be32_get(r + 48), FIX_NBLOCKS - 128);
	assert_int_equal(r[52], 0);
}

static void lba_status_gives_as_many_descriptors_as_fit(void **state)
{
	struct fixture *f = *state;
	use_holey_store(f);
	const uint8_t *r = get_lba_status(f, 70, 24);
	assert_int_equal(f->task.data_len, 24);
	assert_int_equal(be32_get(r), 4 + 16);
	assert_int_equal(be64_get(r + 8), 70);
	assert_int_equal(be32_get(r + 16), 58);
	assert_int_equal(r[20], 1);
}

static void lba_status_of_a_fully_provisioned_lu_is_mapped(void **state)
{
	struct fixture *f = *state;
	use_holey_store(f);
	f->store.bs.thin = false;
	const uint8_t *r = get_lba_status(f, 100, 1024);
	assert_int_equal(be32_get(r), 4 + 16);
	assert_int_equal(be32_get(r + 16), FIX_NBLOCKS - 100);
	assert_int_equal(r[20], 0);
}

static void lba_status_past_the_last_lba_is_out_of_range(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x9E, 0x12 };
	be64_put(cdb + 2, FIX_NBLOCKS);
	be32_put(cdb + 10, 24);
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x05, 0x21, 0x00));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(empty_list_decodes_to_nothing),
		T(list_shorter_than_its_header_is_a_length_error),
		T(descriptors_are_decoded_in_order),
		T(descriptors_past_the_list_are_not_read),
		T(too_many_descriptors_is_an_invalid_field),
		T(descriptor_past_the_last_lba_is_out_of_range),
		T(zero_blocks_at_the_end_of_the_lu_is_in_range),
		T(unmap_zeroes_the_blocks_of_each_descriptor),
		T(unmap_without_a_list_is_good),
		T(unmap_with_anchor_is_an_invalid_field_in_cdb),
		T(unmap_on_a_fully_provisioned_lu_is_an_invalid_opcode),
		T(block_limits_give_the_unmap_limits_of_a_thin_lu),
		T(block_limits_of_a_fully_provisioned_lu_have_no_unmap),
		T(provisioning_page_of_a_thin_lu_sets_lbpu_and_lbprz),
		T(provisioning_page_of_a_fully_provisioned_lu_is_zero),
		T(read_capacity16_of_a_thin_lu_sets_lbpme_and_lbprz),
		T(read_capacity16_of_a_fully_provisioned_lu_clears_lbpme),
		T(write_same_repeats_the_block_over_the_range),
		T(write_same_of_more_than_one_pattern_takes_several_writes),
		T(write_same_with_unmap_and_zeros_deallocates),
		T(write_same_with_unmap_and_data_writes_the_data),
		T(write_same_ndob_unmap_moves_no_data_and_deallocates),
		T(write_same_moves_one_block_of_data_out),
		T(write_same_past_the_maximum_length_is_an_invalid_field),
		T(write_same_with_anchor_is_an_invalid_field),
		T(write_same10_with_unmap_is_an_invalid_field),
		T(write_same10_with_unmap_on_a_readonly_lu_is_write_protected),
		T(write_same_with_unmap_on_a_fully_provisioned_lu_is_an_invalid_field),
		T(block_limits_give_the_maximum_write_same_length),
		T(lba_status_lists_the_extents_from_the_lba),
		T(lba_status_gives_as_many_descriptors_as_fit),
		T(lba_status_of_a_fully_provisioned_lu_is_mapped),
		T(lba_status_past_the_last_lba_is_out_of_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
