/* Windows ODX (SBC-3 5.9, 5.46; SPC-4 6.18.6): the POPULATE TOKEN and
 * WRITE USING TOKEN parameter lists, and the commands over a fixture
 * target: copies within and between LUs, tokens cancelled by writes to
 * their blocks, the zero ROD token, overlapping copies, reservations, the
 * token limit and what RECEIVE ROD TOKEN INFORMATION returns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/odx.h"
#include "scsi/sbc_sanitize.h"
#include "scsi_fixture.h"
#include "util/be.h"

/* A parameter list: header, then descriptors added one by one. */
struct plist {
	uint8_t p[ODX_WUT_PARAM_MAX];
	unsigned header, list_len_at, n;
	uint32_t len;
};

static void plist_init(struct plist *l, bool write)
{
	memset(l, 0, sizeof(*l));
	l->header = write ? ODX_WUT_HEADER_LEN : ODX_PT_HEADER_LEN;
	l->list_len_at = write ? ODX_WUT_LIST_LEN_AT : ODX_PT_LIST_LEN_AT;
}

static void plist_range(struct plist *l, uint64_t lba, uint32_t nblocks)
{
	uint8_t *d = l->p + l->header + l->n * ODX_RANGE_LEN;
	be64_put(d, lba);
	be32_put(d + 8, nblocks);
	l->n++;
	l->len = l->header + l->n * ODX_RANGE_LEN;
	be16_put(l->p, (uint16_t)(l->len - 2));
	be16_put(l->p + l->list_len_at, (uint16_t)(l->n * ODX_RANGE_LEN));
}

static void test_parse_populate_reads_header_and_ranges(void **state)
{
	(void)state;
	struct plist l;
	plist_init(&l, false);
	l.p[2] = 0x03; /* RTV, IMMED */
	be32_put(l.p + 4, 30);
	be32_put(l.p + 8, ROD_TYPE_PIT_VULNERABLE);
	plist_range(&l, 7, 100);
	plist_range(&l, 1000, 5);
	struct odx_populate pt;
	struct scsi_sense_detail d = { 0 };
	assert_int_equal(odx_parse_populate(l.p, l.len, &pt, &d), SENSE_NONE);
	assert_true(pt.rtv && pt.immed);
	assert_int_equal(pt.timeout_s, 30);
	assert_int_equal(pt.rod_type, ROD_TYPE_PIT_VULNERABLE);
	assert_int_equal(pt.nranges, 2);
	assert_int_equal(pt.ranges[1].lba, 1000);
	assert_int_equal(pt.ranges[1].nblocks, 5);
}

static void test_parse_refuses_short_or_odd_lists(void **state)
{
	(void)state;
	struct plist l;
	struct odx_populate pt;
	struct scsi_sense_detail d = { 0 };
	plist_init(&l, false);
	plist_range(&l, 0, 1);
	/* fewer bytes than the header, or than DATA LENGTH claims */
	assert_int_equal(odx_parse_populate(l.p, 15, &pt, &d), SENSE_PARAM_LIST_LENGTH_ERROR);
	assert_int_equal(odx_parse_populate(l.p, l.len - 1, &pt, &d),
			 SENSE_PARAM_LIST_LENGTH_ERROR);
	/* a descriptor list that is not whole descriptors */
	be16_put(l.p + ODX_PT_LIST_LEN_AT, 15);
	assert_int_equal(odx_parse_populate(l.p, l.len, &pt, &d), SENSE_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(d.field, ODX_PT_LIST_LEN_AT);
	/* none at all */
	be16_put(l.p + ODX_PT_LIST_LEN_AT, 0);
	assert_int_equal(odx_parse_populate(l.p, l.len, &pt, &d), SENSE_INVALID_FIELD_IN_PARAM_LIST);

	plist_init(&l, false);
	for (unsigned i = 0; i <= ROD_MAX_RANGES; i++)
		plist_range(&l, i * 2, 1);
	assert_int_equal(odx_parse_populate(l.p, l.len, &pt, &d), SENSE_TOO_MANY_SEGMENT_DESCRIPTORS);
}

static void test_parse_write_reads_offset_token_and_ranges(void **state)
{
	(void)state;
	struct plist l;
	plist_init(&l, true);
	l.p[2] = 0x02; /* DEL_TKN */
	be64_put(l.p + 8, 42);
	memset(l.p + 16, 0xAB, ROD_TOKEN_LEN);
	plist_range(&l, 9, 10);
	struct odx_write w;
	struct scsi_sense_detail d = { 0 };
	assert_int_equal(odx_parse_write(l.p, l.len, &w, &d), SENSE_NONE);
	assert_true(w.del_tkn);
	assert_false(w.immed);
	assert_int_equal(w.offset, 42);
	assert_ptr_equal(w.token, l.p + 16);
	assert_int_equal(w.nranges, 1);
	assert_int_equal(w.ranges[0].lba, 9);
	assert_int_equal(odx_parse_write(l.p, ODX_WUT_HEADER_LEN - 1, &w, &d),
			 SENSE_PARAM_LIST_LENGTH_ERROR);
}

static void test_check_ranges_refuses_overlap_and_the_end(void **state)
{
	(void)state;
	struct scsi_sense_detail d = { 0 };
	uint64_t total;
	struct rod_range r[3] = { { 0, 10 }, { 20, 5 }, { 9, 2 } };
	assert_int_equal(odx_check_ranges(r, 3, 100, 16, &total, &d),
			 SENSE_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(d.field, 16 + 2 * ODX_RANGE_LEN);
	r[2] = (struct rod_range){ 10, 0 }; /* an empty one overlaps nothing */
	assert_int_equal(odx_check_ranges(r, 3, 100, 16, &total, &d), SENSE_NONE);
	assert_int_equal(total, 15);
	r[1] = (struct rod_range){ 95, 6 };
	assert_int_equal(odx_check_ranges(r, 2, 100, 16, &total, &d), SENSE_LBA_OUT_OF_RANGE);
	r[0] = (struct rod_range){ 0, ODX_MAX_TOKEN_BLOCKS + 1 };
	assert_int_equal(odx_check_ranges(r, 1, UINT32_MAX, 16, &total, &d),
			 SENSE_INVALID_FIELD_IN_PARAM_LIST);
}

/* Commands on the fixture: LU 0 and LU 1 share one store; LU 2 has a
 * bigger one, for copies of several steps. */
#define BIG_BLOCKS 8192u

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

static uint8_t *blk(struct fixture *f, uint64_t lba)
{
	return f->store.mem + lba * FIX_BLOCK;
}

static void fill_pattern(struct fixture *f, uint64_t lba, uint32_t nblocks, uint32_t seed)
{
	for (uint32_t i = 0; i < nblocks; i++)
		for (uint32_t j = 0; j < FIX_BLOCK; j += 4)
			be32_put(blk(f, lba + i) + j, seed + i * 977u + j);
}

static void odx_cdb(uint8_t cdb[16], uint8_t sa, uint32_t list_id, uint32_t len)
{
	memset(cdb, 0, 16);
	cdb[0] = 0x83;
	cdb[1] = sa;
	be32_put(cdb + 6, list_id);
	be32_put(cdb + 10, len);
}

/* RECEIVE ROD TOKEN INFORMATION about list_id on lun, answered in at most
 * alloc bytes (fixture_read_data). */
static void receive_token_info(struct fixture *f, uint16_t lun, uint32_t list_id, uint32_t alloc)
{
	uint8_t rrti[16] = { 0x84, ODX_SA_RECEIVE_ROD_TOKEN_INFO };
	be32_put(rrti + 2, list_id);
	be32_put(rrti + 10, alloc);
	assert_true(fixture_run(f, lun, rrti, NULL));
}

/* POPULATE TOKEN over l's ranges on lun, then RECEIVE ROD TOKEN
 * INFORMATION: the token, or false with the task's status left. */
static bool populate(struct fixture *f, uint16_t lun, struct plist *l, uint32_t list_id,
		     uint8_t token[ROD_TOKEN_LEN])
{
	uint8_t cdb[16];
	odx_cdb(cdb, ODX_SA_POPULATE_TOKEN, list_id, l->len);
	assert_true(fixture_run(f, lun, cdb, l->p));
	if (f->task.status != SCSI_STATUS_GOOD)
		return false;
	receive_token_info(f, lun, list_id, ODX_RRTI_RESP_MAX);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	const uint8_t *r = fixture_read_data(f);
	assert_int_equal(r[4], ODX_SA_POPULATE_TOKEN);
	assert_int_equal(r[5], 0x01);
	assert_int_equal(be32_get(r + 32), 2 + ROD_TOKEN_LEN);
	memcpy(token, r + 38, ROD_TOKEN_LEN);
	return true;
}

/* A token over nblocks from lba on lun (list id 1). */
static void populate_range(struct fixture *f, uint16_t lun, uint64_t lba, uint32_t nblocks,
			   uint8_t token[ROD_TOKEN_LEN])
{
	struct plist pt;
	plist_init(&pt, false);
	plist_range(&pt, lba, nblocks);
	assert_true(populate(f, lun, &pt, 1, token));
}

static void write_using(struct fixture *f, uint16_t lun, const uint8_t token[ROD_TOKEN_LEN],
			uint64_t offset, struct plist *l, uint32_t list_id)
{
	memcpy(l->p + 16, token, ROD_TOKEN_LEN);
	be64_put(l->p + 8, offset);
	uint8_t cdb[16];
	odx_cdb(cdb, ODX_SA_WRITE_USING_TOKEN, list_id, l->len);
	assert_true(fixture_run(f, lun, cdb, l->p));
}

static void test_token_copies_within_and_between_lus(void **state)
{
	struct fixture *f = *state;
	fill_pattern(f, 0, 64, 1);
	fill_pattern(f, 200, 16, 2);
	struct plist pt;
	plist_init(&pt, false);
	plist_range(&pt, 0, 64);
	plist_range(&pt, 200, 16);
	uint8_t token[ROD_TOKEN_LEN];
	assert_true(populate(f, 0, &pt, 1, token));
	/* SPC-4 5.17.6.1: type, length, 512 bytes, the bytes represented */
	assert_int_equal(be32_get(token), ROD_TYPE_PIT_DEFAULT);
	assert_int_equal(be16_get(token + 6), 0x1F8);
	assert_int_equal(be64_get(token + 56), 80 * FIX_BLOCK);
	assert_memory_equal(token + 24, f->lus[0]->naa, 16);

	uint8_t *want = malloc(80 * FIX_BLOCK);
	memcpy(want, blk(f, 0), 64 * FIX_BLOCK);
	memcpy(want + 64 * FIX_BLOCK, blk(f, 200), 16 * FIX_BLOCK);
	struct plist w;
	plist_init(&w, true);
	plist_range(&w, 1000, 80);
	write_using(f, 0, token, 0, &w, 2);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(blk(f, 1000), want, 80 * FIX_BLOCK);

	/* on LU 1, from block 10 of the ROD, into two ranges */
	plist_init(&w, true);
	plist_range(&w, 1500, 30);
	plist_range(&w, 1600, 40);
	write_using(f, 1, token, 10, &w, 3);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(blk(f, 1500), want + 10 * FIX_BLOCK, 30 * FIX_BLOCK);
	assert_memory_equal(blk(f, 1600), want + 40 * FIX_BLOCK, 40 * FIX_BLOCK);

	receive_token_info(f, 1, 3, 512);
	const uint8_t *r = fixture_read_data(f);
	assert_int_equal(r[4], ODX_SA_WRITE_USING_TOKEN);
	assert_int_equal(r[5], 0x01);
	assert_int_equal(r[15], 0xF1);
	assert_int_equal(be64_get(r + 16), 70);
	assert_int_equal(be32_get(r + 32), 0); /* no token descriptor */
	free(want);
}

static void test_ranges_past_the_rod_write_what_it_holds(void **state)
{
	struct fixture *f = *state;
	fill_pattern(f, 0, 8, 3);
	uint8_t token[ROD_TOKEN_LEN];
	populate_range(f, 0, 0, 8, token);
	struct plist w;
	plist_init(&w, true);
	plist_range(&w, 100, 20);
	write_using(f, 0, token, 2, &w, 2);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_memory_equal(blk(f, 100), blk(f, 2), 6 * FIX_BLOCK);
	receive_token_info(f, 0, 2, 512);
	const uint8_t *r = fixture_read_data(f);
	assert_int_equal(r[5], 0x03); /* partial ROD token usage */
	assert_int_equal(be64_get(r + 16), 6);
	/* an offset beyond the ROD */
	write_using(f, 0, token, 8, &w, 4);
	assert_true(fixture_check(f, 0x5, 0x26, 0x00));
}

static void write10(struct fixture *f, uint16_t lun, uint32_t lba)
{
	uint8_t cdb[16] = { 0x2A };
	be32_put(cdb + 2, lba);
	be16_put(cdb + 7, 1);
	uint8_t data[FIX_BLOCK];
	memset(data, 0xEE, sizeof(data));
	assert_true(fixture_run(f, lun, cdb, data));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

/* Point in time, change vulnerable: a write to a token's blocks cancels
 * it; a write elsewhere does not. */
static void test_write_to_source_cancels_token(void **state)
{
	struct fixture *f = *state;
	uint8_t token[ROD_TOKEN_LEN];
	populate_range(f, 0, 10, 10, token);
	write10(f, 0, 20);  /* just past it */
	write10(f, 1, 300); /* another LU */
	struct plist w;
	plist_init(&w, true);
	plist_range(&w, 500, 10);
	write_using(f, 0, token, 0, &w, 2);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);

	write10(f, 0, 19);
	memset(blk(f, 700), 0x11, 10 * FIX_BLOCK);
	plist_init(&w, true);
	plist_range(&w, 700, 10);
	write_using(f, 0, token, 0, &w, 3);
	assert_true(fixture_check(f, 0x5, 0x23, 0x08));
	assert_int_equal(blk(f, 700)[0], 0x11);
	assert_int_equal(atomic_load(&f->lus[0]->rod_tokens), 0);
}

/* SANITIZE OVERWRITE writes every block, so it cancels every token over
 * its LU like any other write. */
static void test_sanitize_overwrite_cancels_token(void **state)
{
	struct fixture *f = *state;
	uint8_t token[ROD_TOKEN_LEN];
	populate_range(f, 0, 10, 10, token);
	uint8_t p[8] = { 0x01, 0, 0, 1, 0x5A }; /* one pass of 0x5A */
	uint8_t cdb[16] = { 0x48, SBC_SANITIZE_OVERWRITE };
	be16_put(cdb + 7, 5);
	assert_true(fixture_run(f, 0, cdb, p));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	struct plist w;
	plist_init(&w, true);
	plist_range(&w, 0, 10);
	write_using(f, 1, token, 0, &w, 2);
	assert_true(fixture_check(f, 0x5, 0x23, 0x08));
	assert_int_equal(atomic_load(&f->lus[0]->rod_tokens), 0);
}

static void test_unknown_token_and_deleted_token_are_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t bogus[ROD_TOKEN_LEN] = { 0x00, 0x80, 0x00, 0x00, 0, 0, 0x01, 0xF8 };
	struct plist w;
	plist_init(&w, true);
	plist_range(&w, 500, 1);
	write_using(f, 0, bogus, 0, &w, 2);
	assert_true(fixture_check(f, 0x5, 0x23, 0x04));

	uint8_t token[ROD_TOKEN_LEN];
	populate_range(f, 0, 0, 4, token);
	uint8_t guess[ROD_TOKEN_LEN];
	memcpy(guess, token, ROD_TOKEN_LEN);
	guess[ROD_TOKEN_LEN - 1] ^= 1; /* the unique part must match whole */
	write_using(f, 0, guess, 0, &w, 2);
	assert_true(fixture_check(f, 0x5, 0x23, 0x04));
	w.p[2] = 0x02; /* DEL_TKN */
	write_using(f, 0, token, 0, &w, 3);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	w.p[2] = 0;
	write_using(f, 0, token, 0, &w, 4);
	assert_true(fixture_check(f, 0x5, 0x23, 0x04));
}

static void test_zero_rod_token_writes_zeros(void **state)
{
	struct fixture *f = *state;
	memset(blk(f, 50), 0x77, 40 * FIX_BLOCK);
	uint8_t zero[ROD_TOKEN_LEN] = { 0 };
	be32_put(zero, ROD_TYPE_BLOCK_ZERO);
	be16_put(zero + 6, 0x1F8);
	struct plist w;
	plist_init(&w, true);
	plist_range(&w, 55, 10);
	plist_range(&w, 70, 5);
	write_using(f, 0, zero, 0, &w, 1);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	static const uint8_t zeros[10 * FIX_BLOCK];
	assert_memory_equal(blk(f, 55), zeros, 10 * FIX_BLOCK);
	assert_memory_equal(blk(f, 70), zeros, 5 * FIX_BLOCK);
	assert_int_equal(blk(f, 54)[FIX_BLOCK - 1], 0x77);
	assert_int_equal(blk(f, 65)[0], 0x77);
	assert_int_equal(blk(f, 75)[0], 0x77);
}

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

/* The copy writes what the token held, also where the destination
 * overlaps the token's own blocks, after or before them, over several
 * 1 MiB steps. */
static void test_overlapping_copy_on_one_lu(void **state)
{
	struct fixture *f = *state;
	grow_store_add_lu2(f);
	enum { N = 5000, SRC = 100, DST = 1300 };
	uint8_t *want = malloc((size_t)N * FIX_BLOCK);
	uint64_t from[2] = { SRC, DST }, to[2] = { DST, SRC };
	for (int k = 0; k < 2; k++) {
		fill_pattern(f, from[k], N, 9 + (uint32_t)k);
		memcpy(want, blk(f, from[k]), (size_t)N * FIX_BLOCK);
		uint8_t token[ROD_TOKEN_LEN];
		populate_range(f, 2, from[k], N, token);
		struct plist w;
		plist_init(&w, true);
		plist_range(&w, to[k], N);
		write_using(f, 2, token, 0, &w, 2);
		assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
		assert_memory_equal(blk(f, to[k]), want, (size_t)N * FIX_BLOCK);
		/* the copy changed the token's blocks: it is spent */
		write_using(f, 2, token, 0, &w, 3);
		assert_true(fixture_check(f, 0x5, 0x23, 0x08));
	}
	free(want);
}

/* Two pieces that each need the other read first cannot be copied in
 * place: refused before anything is written. */
static void test_crossed_overlap_is_refused(void **state)
{
	struct fixture *f = *state;
	fill_pattern(f, 0, 20, 5);
	uint8_t before[20 * FIX_BLOCK];
	memcpy(before, blk(f, 0), sizeof(before));
	struct plist pt;
	plist_init(&pt, false);
	plist_range(&pt, 0, 10);
	plist_range(&pt, 10, 10);
	uint8_t token[ROD_TOKEN_LEN];
	assert_true(populate(f, 0, &pt, 1, token));
	struct plist w;
	plist_init(&w, true);
	plist_range(&w, 10, 10); /* swap the halves */
	plist_range(&w, 0, 10);
	write_using(f, 0, token, 0, &w, 2);
	assert_true(fixture_check(f, 0x5, 0x26, 0x00));
	assert_memory_equal(blk(f, 0), before, sizeof(before));
}

/* RESERVE(6) of lun from another I_T nexus. */
static void reserve_from(struct fixture *f, struct scsi_nexus *other, uint16_t lun)
{
	static const uint8_t reserve6[16] = { 0x16 };
	assert_int_equal(fixture_run_on(f, other, lun, reserve6), SCSI_STATUS_GOOD);
}

/* A token's source LU reserved by another initiator: the copy out of it
 * meets RESERVATION CONFLICT like a READ would; so does POPULATE TOKEN. */
static void test_reserved_source_conflicts(void **state)
{
	struct fixture *f = *state;
	struct plist pt;
	plist_init(&pt, false);
	plist_range(&pt, 0, 4);
	uint8_t token[ROD_TOKEN_LEN];
	assert_true(populate(f, 1, &pt, 1, token));
	struct scsi_nexus other;
	scsi_nexus_init(&other, &f->target, "iqn.2024-01.org.test:other,i,0x2", &f->loop, NULL);
	memset(other.ua, 0, sizeof(other.ua));
	reserve_from(f, &other, 1);
	struct plist w;
	plist_init(&w, true);
	plist_range(&w, 900, 4);
	memset(blk(f, 900), 0x33, 4 * FIX_BLOCK);
	write_using(f, 0, token, 0, &w, 2);
	assert_int_equal(f->task.status, SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(blk(f, 900)[0], 0x33);
	uint8_t cdb[16];
	odx_cdb(cdb, ODX_SA_POPULATE_TOKEN, 3, pt.len);
	assert_false(fixture_run(f, 1, cdb, pt.p));
	assert_int_equal(f->task.status, SCSI_STATUS_RESERVATION_CONFLICT);
	scsi_nexus_fini(&other);
}

static void test_token_count_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct plist pt;
	plist_init(&pt, false);
	plist_range(&pt, 0, 1);
	uint8_t token[ROD_TOKEN_LEN];
	for (unsigned i = 0; i < ROD_TOKENS_PER_TARGET; i++)
		assert_true(populate(f, 0, &pt, i, token));
	assert_false(populate(f, 0, &pt, 9999, token));
	assert_true(fixture_check(f, 0x5, 0x55, 0x0D));
	/* RECEIVE ROD TOKEN INFORMATION tells the failure too */
	receive_token_info(f, 0, 9999, 512);
	const uint8_t *r = fixture_read_data(f);
	assert_int_equal(r[5], 0x02);
	assert_int_equal(r[12], SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(r[32 + 12], 0x55);
}

static void test_populate_checks_its_fields(void **state)
{
	struct fixture *f = *state;
	struct plist pt;
	uint8_t token[ROD_TOKEN_LEN];
	plist_init(&pt, false);
	plist_range(&pt, 0, 1);
	be32_put(pt.p + 4, ROD_MAX_TIMEOUT_S + 1);
	assert_false(populate(f, 0, &pt, 1, token));
	assert_true(fixture_check(f, 0x5, 0x26, 0x00));
	be32_put(pt.p + 4, 0);
	pt.p[2] = 0x02; /* RTV with a type lunar does not make */
	be32_put(pt.p + 8, 0x00010000);
	assert_false(populate(f, 0, &pt, 1, token));
	assert_true(fixture_check(f, 0x5, 0x26, 0x00));
	pt.p[2] = 0;
	plist_range(&pt, FIX_NBLOCKS - 1, 2);
	assert_false(populate(f, 0, &pt, 1, token));
	assert_true(fixture_check(f, 0x5, 0x21, 0x00));
	receive_token_info(f, 0, 77, 512);
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
}

/* A read-only or software write protected LU takes no token copy. */
static void test_write_protected_destination_is_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t zero[ROD_TOKEN_LEN] = { 0 };
	be32_put(zero, ROD_TYPE_BLOCK_ZERO);
	struct plist w;
	plist_init(&w, true);
	plist_range(&w, 0, 1);
	memset(blk(f, 0), 0x44, FIX_BLOCK);
	f->lus[0]->readonly = true;
	write_using(f, 0, zero, 0, &w, 1);
	assert_true(fixture_check(f, 0x7, 0x27, 0x00));
	f->lus[0]->readonly = false;
	scsi_lu_mode_change(f->lus[0], SCSI_MODE_SWP, SCSI_MODE_SWP);
	write_using(f, 0, zero, 0, &w, 2);
	assert_true(fixture_check(f, 0x7, 0x27, 0x02));
	scsi_lu_mode_change(f->lus[0], SCSI_MODE_SWP, 0);
	assert_int_equal(blk(f, 0)[0], 0x44);
}

/* SPC-4 7.8.17: VPD 8Fh names the ODX commands and has the block device
 * ROD limits, ROD token features and supported ROD types descriptors. */
static void test_third_party_copy_vpd_describes_odx(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x12, 0x01, 0x8F, 0x04, 0x00 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	const uint8_t *p = fixture_read_data(f);
	size_t len = 4 + be16_get(p + 2);
	assert_true(len <= f->task.data_len);
	bool limits = false, features = false, types = false, commands = false;
	for (size_t at = 4; at + 4 <= len; at += 4 + be16_get(p + at + 2)) {
		const uint8_t *d = p + at;
		switch (be16_get(d)) {
		case 0x0000:
			limits = be16_get(d + 10) == ROD_MAX_RANGES &&
				 be32_get(d + 16) == ROD_DEFAULT_TIMEOUT_S;
			break;
		case 0x0001:
			commands = memmem(d + 5, d[4], "\x83\x03\x00\x10\x11", 5) &&
				   memmem(d + 5, d[4], "\x84\x03\x00\x03\x07", 5);
			break;
		case 0x0106:
			features = be32_get(d + 24) == ROD_MAX_TIMEOUT_S;
			break;
		case 0x0108:
			types = be32_get(d + 8) == ROD_TYPE_PIT_DEFAULT &&
				be32_get(d + 8 + 128) == ROD_TYPE_BLOCK_ZERO;
			break;
		}
		assert_int_equal(be16_get(d + 2) % 4, 0);
	}
	assert_true(limits && features && types && commands);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_populate_reads_header_and_ranges),
		cmocka_unit_test(test_parse_refuses_short_or_odd_lists),
		cmocka_unit_test(test_parse_write_reads_offset_token_and_ranges),
		cmocka_unit_test(test_check_ranges_refuses_overlap_and_the_end),
		T(test_token_copies_within_and_between_lus),
		T(test_ranges_past_the_rod_write_what_it_holds),
		T(test_write_to_source_cancels_token),
		T(test_sanitize_overwrite_cancels_token),
		T(test_unknown_token_and_deleted_token_are_refused),
		T(test_zero_rod_token_writes_zeros),
		T(test_overlapping_copy_on_one_lu),
		T(test_crossed_overlap_is_refused),
		T(test_reserved_source_conflicts),
		T(test_token_count_is_bounded),
		T(test_populate_checks_its_fields),
		T(test_third_party_copy_vpd_describes_odx),
		T(test_write_protected_destination_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
