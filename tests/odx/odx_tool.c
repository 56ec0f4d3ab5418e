/* lunar-odx-tool: ODX token copy and EXTENDED COPY against a running
 * lunard, through libiscsi (tests/odx/run.sh starts it). Target T1 has
 * LUN 0 and LUN 1 (64 MiB each, 512-byte blocks), target T2 one LUN.
 * Each check prints "ok - ..." or "FAIL - ..."; the last line is
 * "N passed, N failed".
 *
 *   lunar-odx-tool --portal HOST:PORT --target T1 --other-target T2
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define BLOCK 512u
#define TOKEN_LEN 512
#define PT_HEADER 16
#define WUT_HEADER 536
#define RANGE_LEN 16
#define STEP_BLOCKS 2048u /* 1 MiB: the copy step */

static const char *portal, *target1, *target2;
static unsigned passed, failed;

static void check(bool ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "FAIL", what);
	if (ok)
		passed++;
	else
		failed++;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

static struct iscsi_context *login(const char *target, const char *initiator, int lun)
{
	struct iscsi_context *c = iscsi_create_context(initiator);
	if (!c)
		return NULL;
	iscsi_set_targetname(c, target);
	iscsi_set_session_type(c, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(c, ISCSI_HEADER_DIGEST_NONE);
	if (iscsi_full_connect_sync(c, portal, lun) != 0) {
		fprintf(stderr, "odx-tool: login to %s: %s\n", target, iscsi_get_error(c));
		iscsi_destroy_context(c);
		return NULL;
	}
	return c;
}

/* A command with a parameter list (dir write) or a response (read);
 * retried once past a unit attention. The caller frees the task. */
static struct scsi_task *command(struct iscsi_context *c, int lun, uint8_t cdb[16], int dir,
				 uint8_t *out, uint32_t len)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct scsi_task *t = scsi_create_task(16, cdb, dir, (int)len);
		if (!t)
			return NULL;
		struct iscsi_data d = { .size = len, .data = out };
		t = iscsi_scsi_command_sync(c, lun, t, dir == SCSI_XFER_WRITE ? &d : NULL);
		if (t && t->status == SCSI_STATUS_CHECK_CONDITION &&
		    t->sense.key == SCSI_SENSE_UNIT_ATTENTION && attempt == 0) {
			scsi_free_scsi_task(t);
			continue;
		}
		return t;
	}
	return NULL;
}

static bool sense_is(const struct scsi_task *t, int key, int asc, int ascq)
{
	return t && t->status == SCSI_STATUS_CHECK_CONDITION && (int)t->sense.key == key &&
	       t->sense.ascq == (asc << 8 | ascq);
}

static void describe(char *buf, size_t n, const char *what, const struct scsi_task *t)
{
	if (!t)
		snprintf(buf, n, "%s (no answer)", what);
	else if (t->status == SCSI_STATUS_CHECK_CONDITION)
		snprintf(buf, n, "%s (got sense %x/%04x)", what, t->sense.key, t->sense.ascq);
	else
		snprintf(buf, n, "%s (got status 0x%x)", what, t->status);
}

static bool write_blocks(struct iscsi_context *c, int lun, uint64_t lba, uint8_t *data,
			 uint32_t nblocks)
{
	for (uint32_t done = 0; done < nblocks;) {
		uint32_t n = nblocks - done < STEP_BLOCKS ? nblocks - done : STEP_BLOCKS;
		struct scsi_task *t = iscsi_write16_sync(c, lun, lba + done, data + done * BLOCK,
							 n * BLOCK, BLOCK, 0, 0, 0, 0, 0);
		bool ok = t && t->status == SCSI_STATUS_GOOD;
		if (t)
			scsi_free_scsi_task(t);
		if (!ok)
			return false;
		done += n;
	}
	return true;
}

static bool read_blocks(struct iscsi_context *c, int lun, uint64_t lba, uint8_t *data,
			uint32_t nblocks)
{
	for (uint32_t done = 0; done < nblocks;) {
		uint32_t n = nblocks - done < STEP_BLOCKS ? nblocks - done : STEP_BLOCKS;
		struct scsi_task *t = iscsi_read16_sync(c, lun, lba + done, n * BLOCK, BLOCK, 0, 0,
							0, 0, 0);
		bool ok = t && t->status == SCSI_STATUS_GOOD && t->datain.size == (int)(n * BLOCK);
		if (ok)
			memcpy(data + done * BLOCK, t->datain.data, n * BLOCK);
		if (t)
			scsi_free_scsi_task(t);
		if (!ok)
			return false;
		done += n;
	}
	return true;
}

static void pattern(uint8_t *p, uint32_t nblocks, uint32_t seed)
{
	for (uint32_t i = 0; i < nblocks * BLOCK; i += 4)
		put32(p + i, seed * 2654435761u + i);
}

struct range {
	uint64_t lba;
	uint32_t n;
};

static uint32_t list_put(uint8_t *p, unsigned header, const struct range *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		put64(p + header + i * RANGE_LEN, r[i].lba);
		put32(p + header + i * RANGE_LEN + 8, r[i].n);
	}
	uint32_t len = header + n * RANGE_LEN;
	put16(p, (uint16_t)(len - 2));
	put16(p + header - 2, (uint16_t)(n * RANGE_LEN));
	return len;
}

static void odx_cdb(uint8_t cdb[16], uint8_t op, uint8_t sa, uint32_t list_id, uint32_t len)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	cdb[1] = sa;
	put32(cdb + (op == 0x83 ? 6 : 2), list_id);
	put32(cdb + 10, len);
}

static struct scsi_task *populate(struct iscsi_context *c, int lun, uint32_t list_id,
				  const struct range *r, unsigned n, uint32_t timeout_s)
{
	uint8_t p[PT_HEADER + 64 * RANGE_LEN] = { 0 };
	put32(p + 4, timeout_s);
	uint32_t len = list_put(p, PT_HEADER, r, n);
	uint8_t cdb[16];
	odx_cdb(cdb, 0x83, 0x10, list_id, len);
	return command(c, lun, cdb, SCSI_XFER_WRITE, p, len);
}

/* RECEIVE ROD TOKEN INFORMATION for list_id: its token, if any. */
static struct scsi_task *rrti(struct iscsi_context *c, int lun, uint32_t list_id)
{
	uint8_t cdb[16];
	odx_cdb(cdb, 0x84, 0x07, list_id, 1024);
	return command(c, lun, cdb, SCSI_XFER_READ, NULL, 1024);
}

static bool get_token(struct iscsi_context *c, int lun, uint32_t list_id, const struct range *r,
		      unsigned n, uint32_t timeout_s, uint8_t token[TOKEN_LEN])
{
	struct scsi_task *t = populate(c, lun, list_id, r, n, timeout_s);
	bool ok = t && t->status == SCSI_STATUS_GOOD;
	if (t)
		scsi_free_scsi_task(t);
	if (!ok)
		return false;
	t = rrti(c, lun, list_id);
	ok = t && t->status == SCSI_STATUS_GOOD && t->datain.size >= 32 + 4 + 2 + TOKEN_LEN &&
	     t->datain.data[5] == 0x01 && get32(t->datain.data + 32) == 2 + TOKEN_LEN;
	if (ok)
		memcpy(token, t->datain.data + 38, TOKEN_LEN);
	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

static struct scsi_task *write_using(struct iscsi_context *c, int lun, uint32_t list_id,
				     const uint8_t token[TOKEN_LEN], uint64_t offset,
				     const struct range *r, unsigned n)
{
	uint8_t p[WUT_HEADER + 64 * RANGE_LEN] = { 0 };
	put64(p + 8, offset);
	memcpy(p + 16, token, TOKEN_LEN);
	uint32_t len = list_put(p, WUT_HEADER, r, n);
	uint8_t cdb[16];
	odx_cdb(cdb, 0x83, 0x11, list_id, len);
	return command(c, lun, cdb, SCSI_XFER_WRITE, p, len);
}

static bool good(struct scsi_task *t)
{
	bool ok = t && t->status == SCSI_STATUS_GOOD;
	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

/* The check and the task's answer, which goes. */
static void expect_sense(struct scsi_task *t, int key, int asc, int ascq, const char *what)
{
	char buf[256];
	describe(buf, sizeof(buf), what, t);
	check(sense_is(t, key, asc, ascq), buf);
	if (t)
		scsi_free_scsi_task(t);
}

static void expect_status(struct scsi_task *t, int status, const char *what)
{
	char buf[256];
	describe(buf, sizeof(buf), what, t);
	check(t && t->status == status, buf);
	if (t)
		scsi_free_scsi_task(t);
}

static bool blocks_equal(struct iscsi_context *c, int lun, uint64_t lba, const uint8_t *want,
			 uint32_t nblocks)
{
	uint8_t *got = malloc((size_t)nblocks * BLOCK);
	bool ok = got && read_blocks(c, lun, lba, got, nblocks) &&
		  memcmp(got, want, (size_t)nblocks * BLOCK) == 0;
	free(got);
	return ok;
}

/* The NAA designator of lun (VPD 83h), for an EXTENDED COPY CSCD. */
static bool lun_naa(struct iscsi_context *c, int lun, uint8_t naa[16])
{
	struct scsi_task *t = iscsi_inquiry_sync(c, lun, 1, 0x83, 255);
	bool ok = false;
	if (t && t->status == SCSI_STATUS_GOOD) {
		const uint8_t *p = t->datain.data;
		for (int at = 4; at + 4 <= t->datain.size; at += 4 + p[at + 3]) {
			if ((p[at + 1] & 0x3F) == 0x03 && p[at + 3] == 16) {
				memcpy(naa, p + at + 4, 16);
				ok = true;
				break;
			}
		}
	}
	if (t)
		scsi_free_scsi_task(t);
	return ok;
}

/* EXTENDED COPY (LID1) of one block-to-block segment. */
static struct scsi_task *xcopy(struct iscsi_context *c, int lun, const uint8_t src_naa[16],
			       const uint8_t dst_naa[16], uint64_t src, uint64_t dst,
			       uint16_t nblocks)
{
	uint8_t p[16 + 2 * 32 + 28] = { 0 };
	p[1] = 0x18; /* LIST ID USAGE 11b: nothing held */
	put16(p + 2, 64);
	put32(p + 8, 28);
	const uint8_t *naas[2] = { src_naa, dst_naa };
	for (int i = 0; i < 2; i++) {
		uint8_t *d = p + 16 + 32 * i;
		d[0] = 0xE4;
		d[4] = 0x01;
		d[5] = 0x03;
		d[7] = 16;
		memcpy(d + 8, naas[i], 16);
		d[30] = BLOCK >> 8;
		d[31] = BLOCK & 0xFF;
	}
	uint8_t *s = p + 16 + 64;
	s[0] = 0x02;
	put16(s + 2, 24);
	put16(s + 4, 0);
	put16(s + 6, 1);
	put16(s + 10, nblocks);
	put64(s + 12, src);
	put64(s + 20, dst);
	uint8_t cdb[16] = { 0x83 };
	put32(cdb + 10, sizeof(p));
	return command(c, lun, cdb, SCSI_XFER_WRITE, p, sizeof(p));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int run(void)
{
	struct iscsi_context *a = login(target1, "iqn.2026-11.org.test:odx-a", 0);
	struct iscsi_context *b = login(target1, "iqn.2026-11.org.test:odx-b", 0);
	struct iscsi_context *o = login(target2, "iqn.2026-11.org.test:odx-a", 0);
	if (!a || !b || !o)
		return 2;
	enum { N = 4096, M = 1000 };
	uint8_t *src = malloc((N + M) * BLOCK), *want = malloc((N + M) * BLOCK);
	uint8_t token[TOKEN_LEN];
	char what[200];

	/* 1. A token over two ranges of LUN 0, written to LUN 0 and LUN 1. */
	pattern(src, N + M, 1);
	bool ok = write_blocks(a, 0, 0, src, N) && write_blocks(a, 0, 6000, src + N * BLOCK, M);
	struct range two[2] = { { 0, N }, { 6000, M } };
	ok = ok && get_token(a, 0, 1, two, 2, 0, token);
	check(ok, "POPULATE TOKEN over two ranges of LUN 0, token from RECEIVE ROD TOKEN INFORMATION");
	struct range dst0 = { 20000, N + M };
	check(ok && good(write_using(a, 0, 2, token, 0, &dst0, 1)) &&
		      blocks_equal(a, 0, 20000, src, N + M),
	      "WRITE USING TOKEN into LUN 0: byte for byte the token's data");
	struct range dst1[2] = { { 100, 700 }, { 3000, N + M - 700 } };
	check(ok && good(write_using(a, 1, 3, token, 0, dst1, 2)) &&
		      blocks_equal(a, 1, 100, src, 700) &&
		      blocks_equal(a, 1, 3000, src + 700 * BLOCK, N + M - 700),
	      "WRITE USING TOKEN into LUN 1 of the same target, two ranges");
	struct range dst_b = { 10000, N + M };
	check(ok && good(write_using(b, 1, 30, token, 0, &dst_b, 1)) &&
		      blocks_equal(b, 1, 10000, src, N + M),
	      "the token redeemed by another initiator's session (LUN 1)");
	struct scsi_task *t = rrti(a, 1, 3);
	check(t && t->status == SCSI_STATUS_GOOD && t->datain.data[4] == 0x11 &&
		      t->datain.data[5] == 0x01 && t->datain.data[15] == 0xF1 &&
		      get64(t->datain.data + 16) == N + M,
	      "RECEIVE ROD TOKEN INFORMATION of the WRITE USING TOKEN: completed, all blocks");
	if (t)
		scsi_free_scsi_task(t);
	t = rrti(a, 0, 4242);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, 0x24, 0x00,
		     "RECEIVE ROD TOKEN INFORMATION of an unknown list: INVALID FIELD IN CDB");

	/* 2. Overlapping: the destination after the source on one LU, over
	 * more than one 1 MiB step, and before it. */
	struct range ov = { 40000, N };
	ok = write_blocks(a, 0, 40000, src, N) && get_token(a, 0, 5, &ov, 1, 0, token);
	struct range ov_dst = { 40000 + 700, N };
	check(ok && good(write_using(a, 0, 6, token, 0, &ov_dst, 1)) &&
		      blocks_equal(a, 0, 40700, src, N),
	      "WRITE USING TOKEN onto its own source, shifted forward (overlapping)");
	ov = (struct range){ 50700, N };
	ok = write_blocks(a, 0, 50700, src, N) && get_token(a, 0, 7, &ov, 1, 0, token);
	ov_dst = (struct range){ 50000, N };
	check(ok && good(write_using(a, 0, 8, token, 0, &ov_dst, 1)) &&
		      blocks_equal(a, 0, 50000, src, N),
	      "WRITE USING TOKEN onto its own source, shifted backward (overlapping)");

	/* 3. Point in time: a write to the source before the copy cancels
	 * the token (documented choice: change vulnerable). */
	struct range small = { 60000, 16 };
	ok = get_token(a, 0, 9, &small, 1, 0, token);
	uint8_t blk[BLOCK];
	memset(blk, 0xC3, sizeof(blk));
	ok = ok && write_blocks(b, 0, 60005, blk, 1);
	struct range small_dst = { 61000, 16 };
	t = ok ? write_using(a, 0, 10, token, 0, &small_dst, 1) : NULL;
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, 0x23, 0x08,
		     "source written (by another session) before WRITE USING TOKEN: TOKEN CANCELLED");

	/* 4. The inactivity timeout the initiator asked for. */
	ok = get_token(a, 0, 11, &small, 1, 1, token);
	sleep_ms(2200);
	t = ok ? write_using(a, 0, 12, token, 0, &small_dst, 1) : NULL;
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, 0x23, 0x07,
		     "token used after its 1 s inactivity timeout: TOKEN EXPIRED");

	/* 5. A token of another target. */
	struct range other = { 0, 8 };
	ok = get_token(o, 0, 13, &other, 1, 0, token);
	t = ok ? write_using(a, 0, 14, token, 0, &small_dst, 1) : NULL;
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, 0x23, 0x02,
		     "token from another target: REMOTE TOKEN USAGE NOT SUPPORTED");
	memset(token, 0, sizeof(token));
	put32(token, 0x00800000);
	put16(token + 6, 0x1F8);
	t = write_using(a, 0, 15, token, 0, &small_dst, 1);
	expect_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, 0x23, 0x04, "made-up token: TOKEN UNKNOWN");

	/* 6. The block device zero ROD token. */
	memset(src, 0x5A, 64 * BLOCK);
	ok = write_blocks(a, 0, 70000, src, 64);
	memset(token, 0, sizeof(token));
	put32(token, 0xFFFF0001);
	put16(token + 6, 0x1F8);
	struct range z = { 70010, 40 };
	memset(want, 0x5A, 64 * BLOCK);
	memset(want + 10 * BLOCK, 0, 40 * BLOCK);
	check(ok && good(write_using(a, 0, 16, token, 0, &z, 1)) &&
		      blocks_equal(a, 0, 70000, want, 64),
	      "WRITE USING TOKEN with the block device zero ROD token writes zeros, only there");

	/* 7. Reservations: another initiator reserves LUN 1. */
	struct range r1 = { 0, 8 };
	ok = get_token(a, 1, 17, &r1, 1, 0, token);
	uint8_t reserve6[16] = { 0x16 }, release6[16] = { 0x17 };
	ok = ok && good(command(b, 1, reserve6, SCSI_XFER_NONE, NULL, 0));
	check(ok, "RESERVE(6) of LUN 1 by the second initiator");
	struct range r0 = { 80000, 8 };
	t = write_using(a, 0, 18, token, 0, &r0, 1);
	expect_status(t, SCSI_STATUS_RESERVATION_CONFLICT,
		      "WRITE USING TOKEN out of the reserved LUN: RESERVATION CONFLICT");
	ok = get_token(a, 0, 19, &r0, 1, 0, token);
	struct range r1d = { 9000, 8 };
	t = ok ? write_using(a, 1, 20, token, 0, &r1d, 1) : NULL;
	expect_status(t, SCSI_STATUS_RESERVATION_CONFLICT,
		      "WRITE USING TOKEN into the reserved LUN: RESERVATION CONFLICT");
	t = populate(a, 1, 21, &r1, 1, 0);
	expect_status(t, SCSI_STATUS_RESERVATION_CONFLICT,
		      "POPULATE TOKEN on the reserved LUN: RESERVATION CONFLICT");
	uint8_t naa0[16], naa1[16];
	ok = lun_naa(a, 0, naa0) && lun_naa(a, 1, naa1);
	t = ok ? xcopy(a, 0, naa0, naa1, 0, 9000, 8) : NULL;
	expect_status(t, SCSI_STATUS_RESERVATION_CONFLICT,
		      "EXTENDED COPY sent to LUN 0 into the reserved LUN 1: RESERVATION CONFLICT");
	t = ok ? xcopy(a, 0, naa1, naa0, 0, 9000, 8) : NULL;
	expect_status(t, SCSI_STATUS_RESERVATION_CONFLICT,
		      "EXTENDED COPY sent to LUN 0 out of the reserved LUN 1: RESERVATION CONFLICT");
	check(good(command(b, 1, release6, SCSI_XFER_NONE, NULL, 0)), "RELEASE(6) of LUN 1");

	/* 8. EXTENDED COPY, destination overlapping after its source. */
	pattern(src, N, 7);
	ok = ok && write_blocks(a, 0, 90000, src, N);
	check(ok && good(xcopy(a, 0, naa0, naa0, 90000, 90000 + 1500, N)) &&
		      blocks_equal(a, 0, 91500, src, N),
	      "EXTENDED COPY of 2 MiB onto itself shifted forward copies what was read first");

	/* 9. The token limit: POPULATE TOKEN forever meets a bound. */
	unsigned made = 0;
	for (; made < 4096; made++) {
		t = populate(a, 0, 1000 + made, &small, 1, 1);
		if (!t || t->status != SCSI_STATUS_GOOD)
			break;
		scsi_free_scsi_task(t);
	}
	snprintf(what, sizeof(what), "POPULATE TOKEN refused after %u live tokens: "
		 "INSUFFICIENT RESOURCES TO CREATE ROD TOKEN", made);
	expect_sense(made < 4096 ? t : NULL, SCSI_SENSE_ILLEGAL_REQUEST, 0x55, 0x0D, what);
	sleep_ms(2200);
	check(get_token(a, 0, 5000, &small, 1, 0, token),
	      "once their timeout passes, POPULATE TOKEN works again");

	free(src);
	free(want);
	iscsi_logout_sync(a);
	iscsi_logout_sync(b);
	iscsi_logout_sync(o);
	iscsi_destroy_context(a);
	iscsi_destroy_context(b);
	iscsi_destroy_context(o);
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "portal", required_argument, NULL, 'p' },
		{ "target", required_argument, NULL, 't' },
		{ "other-target", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': portal = optarg; break;
		case 't': target1 = optarg; break;
		case 'o': target2 = optarg; break;
		default: return 2;
		}
	}
	if (!portal || !target1 || !target2) {
		fprintf(stderr, "usage: lunar-odx-tool --portal HOST:PORT --target IQN "
				"--other-target IQN\n");
		return 2;
	}
	return run();
}
