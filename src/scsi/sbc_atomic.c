/* Commands atomic against every other write to their blocks: COMPARE AND
 * WRITE (SBC-4 5.3) reads, compares and writes, ORWRITE (SBC-4 5.13)
 * reads, ORs and writes, each while it holds its range exclusively in the
 * LU's range lock (range_lock.h), so no write from any session or thread
 * lands between its read and its write. WRITE ATOMIC(16) (SBC-4 5.48)
 * holds its range the same way and asks the store for a write that lands
 * whole or not at all, across a crash too (backend_io.atomic).
 *
 * Memory: data-out sits in the task's chunks as for any write. COMPARE
 * AND WRITE reads the medium's blocks into further chunks of the same
 * pool, placed after data-out's in data_iov, and puts the slice of
 * data-out to write after those. ORWRITE may move the largest transfer,
 * whose chunks fill data_iov, so it reads the medium in rounds into one
 * bounded buffer, as VERIFY does, and ORs each round into data-out. */
#include <stdlib.h>
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/task.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/macros.h"

#define CAW_NLB_BYTE 13 /* NUMBER OF LOGICAL BLOCKS */
/* ORWRITE reads this much of the medium per round. */
#define OR_ROUND (4 * SCSI_DATA_CHUNK)

static unsigned chunks_for(uint64_t len)
{
	return (unsigned)DIV_ROUND_UP(len, SCSI_DATA_CHUNK);
}

/* Bytes of the blocks the command acts on: one half of its data-out. */
static uint32_t atomic_len(const struct scsi_task *task)
{
	return task->nblocks * task->lu->block_size;
}

/* The medium's blocks go to the entries right after data-out's. */
static struct iovec *medium_iov(struct scsi_task *task)
{
	return task->data_iov + chunks_for(task->xfer_len);
}

/* Takes the chunks the medium's blocks are read into. Without waiting:
 * a task inside the task set never waits for memory (ARCHITECTURE.md,
 * "Why waiting cannot deadlock"), so a pool that cannot serve them now
 * gets BUSY (SAM-5 5.3), which the initiator retries. */
static enum sense_reason medium_take(struct scsi_task *task)
{
	uint32_t len = atomic_len(task);
	unsigned first = chunks_for(task->xfer_len);
	if (task->data_iovcnt != first)
		return SENSE_INTERNAL_TARGET_FAILURE;
	struct bufwait_entry *e = &task->data_wait;
	e->iov = task->data_iov + first;
	e->max_iov = SCSI_TASK_MAX_CHUNKS - first;
	e->len = len;
	e->last = true;
	e->account = task->data_account;
	int n = bufwait_get_now(task->bufs, e);
	if (n <= 0) {
		log_warn("scsi: LUN %u %s: no buffer room for %u bytes to compare: BUSY",
			 task->lu->lun, task->op->name, len);
		return SENSE_BUSY;
	}
	task->data_iovcnt += (unsigned)n;
	for (unsigned i = 0; i < (unsigned)n; i++)
		e->iov[i].iov_len = min_u32(SCSI_DATA_CHUNK, len - i * SCSI_DATA_CHUNK);
	return SENSE_NONE;
}

/* SBC-4 5.3 step c: the offset of the first byte of the verify half of
 * data-out (its first len bytes) that differs from the medium, or len.
 * Both start at byte 0 of their chunks, so chunk i meets chunk i. */
static uint32_t caw_mismatch(struct scsi_task *task, uint32_t len)
{
	const struct iovec *medium = medium_iov(task);
	for (unsigned i = 0; i < chunks_for(len); i++) {
		const uint8_t *want = task->data_iov[i].iov_base;
		const uint8_t *have = medium[i].iov_base;
		uint32_t n = min_u32(SCSI_DATA_CHUNK, len - i * SCSI_DATA_CHUNK);
		if (memcmp(want, have, n) == 0)
			continue;
		uint32_t at = 0;
		while (want[at] == have[at])
			at++;
		return i * SCSI_DATA_CHUNK + at;
	}
	return len;
}

static void caw_read(struct scsi_task *task, int err)
{
	if (err) {
		sbc_io_finish(task, err);
		return;
	}
	uint32_t len = atomic_len(task);
	uint32_t at = caw_mismatch(task, len);
	if (at < len) {
		/* SBC-4 5.3: MISCOMPARE, INFORMATION = the offset in data-out. */
		task->detail.info_valid = true;
		task->detail.info = at;
		scsi_task_finish(task, SENSE_MISCOMPARE);
		return;
	}
	unsigned used = chunks_for(task->xfer_len) + chunks_for(len);
	struct iovec *write_iov = task->data_iov + used;
	unsigned n = iov_slice(task->data_iov, chunks_for(task->xfer_len), len, len, write_iov,
			       SCSI_TASK_MAX_CHUNKS - used);
	scsi_task_io_step(task, sbc_io_finish);
	sbc_io_submit(task, BACKEND_WRITE, write_iov, n, sbc_write_fua(task));
}

static void caw_locked(struct scsi_task *task)
{
	scsi_task_io_step(task, caw_read);
	sbc_io_submit(task, BACKEND_READ, medium_iov(task), chunks_for(atomic_len(task)), false);
}

/* SBC-4 5.3. Data-out is the verify instance then the write instance, each
 * NUMBER OF LOGICAL BLOCKS long; NUMBER OF LOGICAL BLOCKS 0 moves nothing
 * and is GOOD, unless data-out comes with it. */
enum sense_reason sbc_compare_and_write(struct scsi_task *task)
{
	/* SBC-4 5.3: above the Block Limits VPD's maximum is an invalid field. */
	if (task->nblocks > SCSI_CAW_MAX_BLOCKS)
		return scsi_invalid_cdb_field(&task->detail, CAW_NLB_BYTE, -1);
	/* Data-out of any other length than twice the blocks cannot be split
	 * into the two instances: refuse it rather than guess. */
	if (task->expected_len != task->xfer_len || scsi_task_data_out_sent(task) != task->xfer_len)
		return scsi_invalid_cdb_field(&task->detail, CAW_NLB_BYTE, -1);
	if (task->nblocks == 0) {
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	enum sense_reason r = medium_take(task);
	if (r != SENSE_NONE)
		return r;
	scsi_task_range_lock(task, true, caw_locked);
	return SENSE_NONE;
}

static void or_next_round(struct scsi_task *task);

/* ORs the round just read (verify_buf) into data-out from step_at on;
 * rounds start on chunk boundaries. */
static void or_merge(struct scsi_task *task, uint32_t n)
{
	const uint8_t *medium = task->verify_buf;
	unsigned chunk = task->step_at / SCSI_DATA_CHUNK;
	for (uint32_t done = 0; done < n; chunk++) {
		uint8_t *out = task->data_iov[chunk].iov_base;
		uint32_t m = min_u32(SCSI_DATA_CHUNK, n - done);
		for (uint32_t i = 0; i < m; i++)
			out[i] |= medium[done + i];
		done += m;
	}
}

static void or_read(struct scsi_task *task, int err)
{
	if (err) {
		sbc_io_finish(task, err);
		return;
	}
	uint32_t len = sbc_data_out_whole_blocks(task);
	uint32_t n = min_u32(OR_ROUND, len - task->step_at);
	or_merge(task, n);
	task->step_at += n;
	if (task->step_at < len) {
		or_next_round(task);
		return;
	}
	scsi_task_io_step(task, sbc_io_finish);
	sbc_io_submit(task, BACKEND_WRITE, task->data_iov, sbc_data_prefix(task, len),
		      sbc_write_fua(task));
}

static void or_next_round(struct scsi_task *task)
{
	uint32_t n = min_u32(OR_ROUND, sbc_data_out_whole_blocks(task) - task->step_at);
	task->verify_iov = (struct iovec){ task->verify_buf, n };
	scsi_task_io_step(task, or_read);
	sbc_io_submit_at(task, BACKEND_READ, &task->verify_iov, 1,
			 task->lba * task->lu->block_size + task->step_at, false);
}

static void or_locked(struct scsi_task *task)
{
	task->step_at = 0;
	or_next_round(task);
}

/* SBC-4 5.13 ORWRITE(16) with ORPROTECT 0: each block becomes the OR of
 * the medium's and data-out's. Only the whole blocks of data-out that
 * arrived are acted on, as for WRITE. */
enum sense_reason sbc_orwrite(struct scsi_task *task)
{
	uint32_t len = sbc_data_out_whole_blocks(task);
	if (len == 0) {
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	enum sense_reason r = sbc_flat_buf(task, min_u32(OR_ROUND, len));
	if (r != SENSE_NONE)
		return r;
	scsi_task_range_lock(task, true, or_locked);
	return SENSE_NONE;
}

/* The CDB's TRANSFER LENGTH field (WRITE ATOMIC(16) byte 12). */
#define WA_LEN_BYTE 12

static void write_atomic_locked(struct scsi_task *task)
{
	scsi_task_io_step(task, sbc_io_finish);
	struct backend_io *io = scsi_task_io_slot(task);
	if (!io)
		return;
	io->op = BACKEND_WRITE;
	io->atomic = true;
	io->fua = sbc_write_fua(task);
	io->offset = task->lba * task->lu->block_size;
	io->iov = task->data_iov;
	io->iovcnt = sbc_data_prefix(task, task->xfer_len);
	backend_submit(task->lu->bs, task->loop, io);
}

/* A store that cannot promise all-or-none has no atomic write: the command
 * is not served on its LU (VPD B0h says 0). */
bool sbc_lu_has_atomic_write(const struct scsi_lu *lu)
{
	return sbc_atomic_max_blocks(lu) > 0;
}

uint32_t sbc_atomic_max_blocks(const struct scsi_lu *lu)
{
	return min_u32(lu->bs->atomic_max, SCSI_MAX_XFER_BYTES) / lu->block_size;
}

/* SBC-4 5.48 WRITE ATOMIC(16): ATOMIC BOUNDARY is refused by the usage
 * mask (MAXIMUM ATOMIC BOUNDARY SIZE 0); alignment and granularity are one
 * block, so only the length is checked. */
enum sense_reason sbc_write_atomic(struct scsi_task *task)
{
	uint32_t max = sbc_atomic_max_blocks(task->lu);
	if (task->nblocks > max)
		return scsi_invalid_cdb_field(&task->detail, WA_LEN_BYTE, -1);
	/* All or none: a write whose data-out is not all there is refused
	 * rather than written in part. */
	if (scsi_task_data_out_sent(task) != task->xfer_len)
		return scsi_invalid_cdb_field(&task->detail, WA_LEN_BYTE, -1);
	scsi_task_range_lock(task, true, write_atomic_locked);
	return SENSE_NONE;
}
