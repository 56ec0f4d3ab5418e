/* WRITE SAME (10) and (16) (SBC-3 5.42, 5.43): one logical block written
 * over a range, or the range deallocated (UNMAP bit, thin LUs). */
#include <stdlib.h>
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/sbc_thin.h"
#include "scsi/task.h"
#include "util/log.h"
#include "util/macros.h"

#define WS_UNMAP 0x08 /* byte 1 */
#define WS_NDOB 0x01  /* byte 1, WRITE SAME(16) */

/* The block repeated into one buffer of at most this many bytes, which
 * each write of a step sends again at its own offset. */
#define WS_PATTERN_MAX (1u << 20)

static void write_same_step(struct scsi_task *task, int err);

/* Up to SCSI_TASK_MAX_IOS writes of the pattern, from block ios_next (of
 * the command's range) to ios_end. */
static void write_same_submit(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	uint32_t pattern_blocks = (uint32_t)(task->verify_iov.iov_len / lu->block_size);
	bool fua = sbc_write_through(lu);
	scsi_task_io_step(task, write_same_step);
	for (unsigned i = 0; i < SCSI_TASK_MAX_IOS && task->ios_next < task->ios_end; i++) {
		uint32_t n = min_u32(pattern_blocks, task->ios_end - task->ios_next);
		sbc_io_submit_buf(task, BACKEND_WRITE, task->verify_buf, n * lu->block_size,
				  (task->lba + task->ios_next) * lu->block_size, fua);
		task->ios_next += n;
	}
}

static void write_same_step(struct scsi_task *task, int err)
{
	if (err || task->ios_next >= task->ios_end)
		scsi_task_finish(task, scsi_task_io_reason(task, err));
	else
		write_same_submit(task);
}

/* The data-out block (zeros with NDOB) repeated as often as fits. */
static enum sense_reason write_same_pattern(struct scsi_task *task, const uint8_t *block)
{
	uint32_t bs = task->lu->block_size;
	uint64_t total = (uint64_t)task->nblocks * bs;
	uint32_t len = total < WS_PATTERN_MAX ? (uint32_t)total : WS_PATTERN_MAX;
	enum sense_reason r = sbc_flat_buf(task, len);
	if (r != SENSE_NONE)
		return r;
	uint8_t *buf = task->verify_buf;
	for (uint32_t at = 0; at < len; at += bs) {
		if (block)
			memcpy(buf + at, block, bs);
		else
			memset(buf + at, 0, bs);
	}
	task->verify_iov = (struct iovec){ buf, len };
	return SENSE_NONE;
}

static bool block_is_zero(const uint8_t *p, uint32_t len)
{
	return p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}

/* SBC-3 4.7.3.4.2: with LBPRZ 1, a deallocated block reads as zeros, so
 * the range may be deallocated instead of written only when the block
 * is zeros; any other block is written as asked. */
static void write_same_unmap(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	scsi_task_io_step(task, sbc_io_finish);
	sbc_io_discard(task, task->lba * lu->block_size, (uint64_t)task->nblocks * lu->block_size);
}

enum sense_reason sbc_write_same(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	bool unmap = task->cdb[1] & WS_UNMAP;
	bool ndob = (task->op->flags & OP_NDOB) && (task->cdb[1] & WS_NDOB);
	/* LBPWS 0: a fully provisioned LU does not deallocate (SBC-3 6.5.4);
	 * LBPWS10 0: nor does the 10-byte form (opcodes.c). */
	if (unmap && (!sbc_lu_is_thin(lu) || task->op->cdb_len == 10))
		return scsi_invalid_cdb_field(&task->detail, 1, 3);
	/* SBC-3 5.42: 0 blocks is every block from the LBA to the last (WSNZ
	 * 0); more than MAXIMUM WRITE SAME LENGTH is an invalid field. */
	uint64_t count = task->nblocks ? task->nblocks : lu->nblocks - task->lba;
	if (count > sbc_write_same_max_blocks(lu))
		return scsi_invalid_cdb_field(&task->detail, task->op->count.off, -1);
	task->nblocks = (uint32_t)count;
	if (count == 0) {
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	const uint8_t *block = NULL;
	if (!ndob) {
		if (scsi_task_data_out_sent(task) < lu->block_size)
			return SENSE_INVALID_FIELD_IN_COMMAND_IU;
		block = task->buf;
	}
	if (unmap && (!block || block_is_zero(block, lu->block_size))) {
		scsi_task_range_lock(task, false, write_same_unmap);
		return SENSE_NONE;
	}
	enum sense_reason r = write_same_pattern(task, block);
	if (r != SENSE_NONE)
		return r;
	task->ios_next = 0;
	task->ios_end = task->nblocks;
	/* Like any write, it waits for a COMPARE AND WRITE on its blocks. */
	scsi_task_range_lock(task, false, write_same_submit);
	return SENSE_NONE;
}
