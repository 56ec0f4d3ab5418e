/* EXTENDED COPY (SPC-4 6.3): the parameter list parser's limits and
 * descriptor checks, a copy from one LU of the target to another, and
 * RECEIVE COPY RESULTS (SPC-4 6.18). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/xcopy.h"
#include "scsi_fixture.h"
#include "util/be.h"

#define CSCD_LEN 32
#define SEG_LEN 28
#define LIST_MAX (XCOPY_HEADER_LEN + 16 * CSCD_LEN + 16 * SEG_LEN)

struct list_builder {
	uint8_t p[LIST_MAX];
	unsigned ncscds, nsegs;
	uint32_t len;
};

static int setup(void **state)
{
	struct fixture *f = fixture_new(false);
	fixture_add_lu(f, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

/* An identification descriptor CSCD naming an NAA designator. */
static void add_cscd(struct list_builder *b, uint8_t type, const uint8_t naa[16])
{
	uint8_t *d = b->p + XCOPY_HEADER_LEN + b->ncscds * CSCD_LEN;
	memset(d, 0, CSCD_LEN);
	d[0] = type;
	d[4] = 0x01;  /* code set: binary */
	d[5] = 0x03;  /* association LU, designator type NAA */
	d[7] = 16;
	if (naa)
		memcpy(d + 8, naa, 16);
	be24_put(d + 29, FIX_BLOCK);
	b->ncscds++;
}

static void add_seg(struct list_builder *b, uint8_t type, uint16_t src, uint16_t dst,
		    uint16_t nblocks, uint64_t src_lba, uint64_t dst_lba)
{
	uint8_t *d = b->p + XCOPY_HEADER_LEN + b->ncscds * CSCD_LEN + b->nsegs * SEG_LEN;
	memset(d, 0, SEG_LEN);
	d[0] = type;
	be16_put(d + 2, SEG_LEN - 4);
	be16_put(d + 4, src);
	be16_put(d + 6, dst);
	be16_put(d + 10, nblocks);
	be64_put(d + 12, src_lba);
	be64_put(d + 20, dst_lba);
	b->nsegs++;
}

/* The header, for a list id that holds its results. */
static uint32_t finish_list(struct list_builder *b, uint8_t list_id)
{
	memset(b->p, 0, XCOPY_HEADER_LEN);
	b->p[0] = list_id;
	be16_put(b->p + 2, (uint16_t)(b->ncscds * CSCD_LEN));
	be32_put(b->p + 8, b->nsegs * SEG_LEN);
	b->len = XCOPY_HEADER_LEN + b->ncscds * CSCD_LEN + b->nsegs * SEG_LEN;
	return b->len;
}

static enum sense_reason parse(struct list_builder *b, struct xcopy_list *out)
{
	struct scsi_sense_detail detail = { 0 };
	return xcopy_parse(b->p, b->len, out, &detail);
}

static const uint8_t some_naa[16] = { 0x60, 1, 2, 3 };

static void test_parse_reads_cscds_and_segment(void **state)
{
	(void)state;
	struct list_builder b = { 0 };
	struct xcopy_list l;
	add_cscd(&b, XCOPY_CSCD_ID, some_naa);
	add_cscd(&b, XCOPY_CSCD_ID, some_naa);
	add_seg(&b, XCOPY_SEG_B2B, 0, 1, 77, 5, 900);
	finish_list(&b, 1);
	assert_int_equal(parse(&b, &l), SENSE_NONE);
	assert_int_equal(l.ncscds, 2);
	assert_int_equal(l.cscds[1].desig_type, 3);
	assert_int_equal(l.cscds[1].desig_len, 16);
	assert_memory_equal(l.cscds[1].desig, some_naa, 16);
	assert_int_equal(l.cscds[0].block_size, FIX_BLOCK);
	assert_int_equal(l.nsegments, 1);
	assert_int_equal(l.segments[0].src, 0);
	assert_int_equal(l.segments[0].dst, 1);
	assert_int_equal(l.segments[0].nblocks, 77);
	assert_int_equal(l.segments[0].src_lba, 5);
	assert_int_equal(l.segments[0].dst_lba, 900);
}

static void test_parse_refuses_too_many_cscds(void **state)
{
	(void)state;
	struct list_builder b = { 0 };
	struct xcopy_list l;
	for (int i = 0; i <= XCOPY_MAX_CSCDS; i++)
		add_cscd(&b, XCOPY_CSCD_ID, some_naa);
	add_seg(&b, XCOPY_SEG_B2B, 0, 0, 1, 0, 1);
	finish_list(&b, 1);
	assert_int_equal(parse(&b, &l), SENSE_TOO_MANY_TARGET_DESCRIPTORS);
}

static void test_parse_refuses_too_many_segments(void **state)
{
	(void)state;
	struct list_builder b = { 0 };
	struct xcopy_list l;
	add_cscd(&b, XCOPY_CSCD_ID, some_naa);
	for (int i = 0; i <= XCOPY_MAX_SEGMENTS; i++)
		add_seg(&b, XCOPY_SEG_B2B, 0, 0, 1, 0, 1);
	finish_list(&b, 1);
	assert_int_equal(parse(&b, &l), SENSE_TOO_MANY_SEGMENT_DESCRIPTORS);
}

static void test_parse_refuses_unsupported_descriptor_types(void **state)
{
	(void)state;
	struct list_builder b = { 0 };
	struct xcopy_list l;
	add_cscd(&b, 0xE0, some_naa); /* Fibre Channel N_Port_Name */
	add_seg(&b, XCOPY_SEG_B2B, 0, 0, 1, 0, 1);
	finish_list(&b, 1);
	assert_int_equal(parse(&b, &l), SENSE_UNSUPPORTED_TARGET_DESCRIPTOR_TYPE);

	memset(&b, 0, sizeof(b));
	add_cscd(&b, XCOPY_CSCD_ID, some_naa);
	add_seg(&b, 0x01, 0, 0, 1, 0, 1); /* block to stream */
	finish_list(&b, 1);
	assert_int_equal(parse(&b, &l), SENSE_UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE);
}

static void test_parse_refuses_lists_longer_than_sent_or_allowed(void **state)
{
	(void)state;
	struct list_builder b = { 0 };
	struct xcopy_list l;
	add_cscd(&b, XCOPY_CSCD_ID, some_naa);
	add_seg(&b, XCOPY_SEG_B2B, 0, 0, 1, 0, 1);
	finish_list(&b, 1);
	b.len--; /* the segment cut short */
	assert_int_equal(parse(&b, &l), SENSE_PARAM_LIST_LENGTH_ERROR);
	b.len = XCOPY_HEADER_LEN - 1;
	assert_int_equal(parse(&b, &l), SENSE_PARAM_LIST_LENGTH_ERROR);

	finish_list(&b, 1);
	be32_put(b.p + 8, XCOPY_MAX_DESC_LIST); /* with the CSCD, past the maximum */
	assert_int_equal(parse(&b, &l), SENSE_PARAM_LIST_LENGTH_ERROR);
}

static void test_parse_refuses_index_naming_no_cscd(void **state)
{
	(void)state;
	struct list_builder b = { 0 };
	struct xcopy_list l;
	add_cscd(&b, XCOPY_CSCD_ID, some_naa);
	add_seg(&b, XCOPY_SEG_B2B, 0, 1, 1, 0, 1);
	finish_list(&b, 1);
	assert_int_equal(parse(&b, &l), SENSE_COPY_TARGET_UNREACHABLE);
}

static void xcopy_cdb(uint8_t cdb[16], uint32_t len)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x83;
	be32_put(cdb + 10, len);
}

static uint8_t *store_block(struct fixture *f, uint64_t lba)
{
	return f->store.mem + lba * FIX_BLOCK;
}

static void test_copy_between_two_lus(void **state)
{
	struct fixture *f = *state;
	for (uint32_t i = 0; i < 600; i++)
		memset(store_block(f, i), (int)(i & 0xFF), FIX_BLOCK);
	memset(store_block(f, 1024), 0, 600 * FIX_BLOCK);
	struct list_builder b = { 0 };
	add_cscd(&b, XCOPY_CSCD_ID, f->lus[0]->naa);
	add_cscd(&b, XCOPY_CSCD_ID, f->lus[1]->naa);
	add_seg(&b, XCOPY_SEG_B2B, 0, 1, 500, 0, 1024);
	add_seg(&b, XCOPY_SEG_B2B, 0, 1, 100, 500, 1524);
	uint8_t cdb[16];
	xcopy_cdb(cdb, finish_list(&b, 7));
	assert_true(fixture_run(f, 0, cdb, b.p));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(store_block(f, 1024), store_block(f, 0), 600 * FIX_BLOCK);

	/* SPC-4 6.18.3: the results of list 7 are held. */
	uint8_t rcr[16] = { 0x84, 0x00, 7 };
	be32_put(rcr + 10, 64);
	assert_true(fixture_run(f, 0, rcr, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	const uint8_t *r = fixture_read_data(f);
	assert_int_equal(f->task.data_len, XCOPY_COPY_STATUS_LEN);
	assert_int_equal(r[4], 0x00);
	assert_int_equal(be16_get(r + 5), 2);
	assert_int_equal(be32_get(r + 8), 600 * FIX_BLOCK / 1024);

	rcr[2] = 8;
	assert_true(fixture_run(f, 0, rcr, NULL));
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
}

static void test_copy_to_unknown_lu_or_past_the_end_aborts(void **state)
{
	struct fixture *f = *state;
	struct list_builder b = { 0 };
	add_cscd(&b, XCOPY_CSCD_ID, f->lus[0]->naa);
	add_cscd(&b, XCOPY_CSCD_ID, some_naa);
	add_seg(&b, XCOPY_SEG_B2B, 0, 1, 1, 0, 1);
	uint8_t cdb[16];
	xcopy_cdb(cdb, finish_list(&b, 1));
	assert_true(fixture_run(f, 0, cdb, b.p));
	assert_true(fixture_check(f, 0xA, 0x0D, 0x02));

	memset(&b, 0, sizeof(b));
	add_cscd(&b, XCOPY_CSCD_ID, f->lus[0]->naa);
	add_seg(&b, XCOPY_SEG_B2B, 0, 0, 2, 0, FIX_NBLOCKS - 1);
	xcopy_cdb(cdb, finish_list(&b, 1));
	assert_true(fixture_run(f, 0, cdb, b.p));
	assert_true(fixture_check(f, 0xA, 0x0D, 0x02));
}

/* LU 2 over a store of BIG_BLOCKS, so a segment spans several 1 MiB
 * steps of the copy. */
#define BIG_BLOCKS 8192u

static void grow_store_add_lu2(struct fixture *f)
{
	uint64_t size = (uint64_t)BIG_BLOCKS * FIX_BLOCK;
	uint8_t *mem = realloc(f->store.mem, size);
	if (!mem)
		abort();
	memset(mem + f->store.bs.size, 0, size - f->store.bs.size);
	f->store.mem = mem;
	f->store.bs.size = size;
	fixture_add_lu(f, 2);
}

static void fill_pattern(uint8_t *p, uint32_t nblocks)
{
	for (uint32_t i = 0; i < nblocks; i++)
		for (uint32_t j = 0; j < FIX_BLOCK; j += 4)
			be32_put(p + i * FIX_BLOCK + j, i * 977u + j);
}

/* SPC-4 6.3.7.5: a segment copies as if its whole source were read before
 * anything is written, also when source and destination overlap on one
 * LU with the destination after the source, over more than one step. */
static void test_copy_forward_overlap_on_one_lu(void **state)
{
	struct fixture *f = *state;
	grow_store_add_lu2(f);
	enum { N = 5000, SRC = 100, DST = 1300 };
	uint8_t *want = malloc((size_t)N * FIX_BLOCK);
	fill_pattern(want, N);
	memcpy(store_block(f, SRC), want, (size_t)N * FIX_BLOCK);
	struct list_builder b = { 0 };
	add_cscd(&b, XCOPY_CSCD_ID, f->lus[2]->naa);
	add_seg(&b, XCOPY_SEG_B2B, 0, 0, N, SRC, DST);
	uint8_t cdb[16];
	xcopy_cdb(cdb, finish_list(&b, 1));
	assert_true(fixture_run(f, 2, cdb, b.p));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(store_block(f, DST), want, (size_t)N * FIX_BLOCK);

	/* and the other way round, the destination before the source */
	memcpy(store_block(f, DST), want, (size_t)N * FIX_BLOCK);
	memset(&b, 0, sizeof(b));
	add_cscd(&b, XCOPY_CSCD_ID, f->lus[2]->naa);
	add_seg(&b, XCOPY_SEG_B2B, 0, 0, N, DST, SRC);
	xcopy_cdb(cdb, finish_list(&b, 1));
	assert_true(fixture_run(f, 2, cdb, b.p));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(store_block(f, SRC), want, (size_t)N * FIX_BLOCK);
	free(want);
}

/* RESERVE(6) of lun from another I_T nexus. */
static void reserve_from(struct fixture *f, struct scsi_nexus *other, uint16_t lun)
{
	static const uint8_t reserve6[16] = { 0x16 };
	assert_int_equal(fixture_run_on(f, other, lun, reserve6), SCSI_STATUS_GOOD);
}

/* SPC-4 5.12.1: a copy into or out of an LU another initiator holds
 * reserved meets RESERVATION CONFLICT, as a direct write or read would,
 * whichever LU the EXTENDED COPY was sent to. */
static void test_copy_meets_reservations_of_the_lus_it_names(void **state)
{
	struct fixture *f = *state;
	struct scsi_nexus other;
	scsi_nexus_init(&other, &f->target, "iqn.2024-01.org.test:other,i,0x2", &f->loop, NULL);
	memset(other.ua, 0, sizeof(other.ua));
	reserve_from(f, &other, 1);
	memset(store_block(f, 0), 0x5A, FIX_BLOCK);
	memset(store_block(f, 10), 0, FIX_BLOCK);

	struct list_builder b = { 0 };
	add_cscd(&b, XCOPY_CSCD_ID, f->lus[0]->naa);
	add_cscd(&b, XCOPY_CSCD_ID, f->lus[1]->naa);
	add_seg(&b, XCOPY_SEG_B2B, 0, 1, 1, 0, 10); /* into the reserved LU */
	uint8_t cdb[16];
	xcopy_cdb(cdb, finish_list(&b, 1));
	assert_true(fixture_run(f, 0, cdb, b.p));
	assert_int_equal(f->task.status, SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(store_block(f, 10)[0], 0);

	memset(&b, 0, sizeof(b));
	add_cscd(&b, XCOPY_CSCD_ID, f->lus[0]->naa);
	add_cscd(&b, XCOPY_CSCD_ID, f->lus[1]->naa);
	add_seg(&b, XCOPY_SEG_B2B, 1, 0, 1, 0, 10); /* out of it */
	xcopy_cdb(cdb, finish_list(&b, 1));
	assert_true(fixture_run(f, 0, cdb, b.p));
	assert_int_equal(f->task.status, SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(store_block(f, 10)[0], 0);
	scsi_nexus_fini(&other);
}

static void test_operating_parameters_give_the_limits(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x84, 0x03 };
	be32_put(cdb + 10, 256);
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	const uint8_t *r = fixture_read_data(f);
	assert_int_equal(f->task.data_len, XCOPY_OP_PARAMS_LEN);
	assert_int_equal(be16_get(r + 8), XCOPY_MAX_CSCDS);
	assert_int_equal(be16_get(r + 10), XCOPY_MAX_SEGMENTS);
	assert_int_equal(be32_get(r + 12), XCOPY_MAX_DESC_LIST);
	assert_int_equal(r[43], 2);
	assert_int_equal(r[44], XCOPY_SEG_B2B);
	assert_int_equal(r[45], XCOPY_CSCD_ID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_reads_cscds_and_segment),
		cmocka_unit_test(test_parse_refuses_too_many_cscds),
		cmocka_unit_test(test_parse_refuses_too_many_segments),
		cmocka_unit_test(test_parse_refuses_unsupported_descriptor_types),
		cmocka_unit_test(test_parse_refuses_lists_longer_than_sent_or_allowed),
		cmocka_unit_test(test_parse_refuses_index_naming_no_cscd),
		cmocka_unit_test_setup_teardown(test_copy_between_two_lus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_to_unknown_lu_or_past_the_end_aborts,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_operating_parameters_give_the_limits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_copy_forward_overlap_on_one_lu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_meets_reservations_of_the_lus_it_names,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
