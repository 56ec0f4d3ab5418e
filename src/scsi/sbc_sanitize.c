/* SANITIZE (SBC-4 5.30): OVERWRITE writes an initialization pattern over
 * the whole medium, pass after pass; BLOCK ERASE deallocates the whole
 * medium of a thin LU; EXIT FAILURE MODE has nothing to leave, since a
 * sanitize that fails here leaves no failure mode behind. CRYPTOGRAPHIC
 * ERASE has no row: there is no key to change. */
#include <stdlib.h>
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/sbc_sanitize.h"
#include "scsi/sbc_thin.h"
#include "scsi/task.h"
#include "util/be.h"
#include "util/log.h"
#include "util/macros.h"

/* The pattern laid out block after block into one buffer of at most this
 * many bytes, which each write of a step sends again at its own offset. */
#define SANITIZE_BUF_MAX (1u << 20)

/* SBC-4 5.30.3.2 table 47: the OVERWRITE parameter list. */
#define OW_INVERT 0x80
#define OW_TEST_MASK 0x60
#define OW_COUNT_MASK 0x1F
#define OW_HEADER_LEN 4u

/* The CDB's PARAMETER LIST LENGTH field (byte 7). */
#define SANITIZE_PARAM_LEN_BYTE 7

enum sense_reason sbc_sanitize_check_overwrite(const uint8_t *p, uint32_t len,
					       uint32_t block_size,
					       struct sbc_overwrite_params *out,
					       struct scsi_sense_detail *detail)
{
	/* SBC-4 5.30.3.2: a list shorter than header and one byte of pattern,
	 * or longer than header and one block, is an invalid CDB field. */
	if (len < OW_HEADER_LEN + 1 || len > OW_HEADER_LEN + block_size)
		return scsi_invalid_cdb_field(detail, SANITIZE_PARAM_LEN_BYTE, -1);
	if (p[0] & OW_TEST_MASK)
		return scsi_invalid_param_field(detail, 0, 6);
	if ((p[0] & OW_COUNT_MASK) == 0)
		return scsi_invalid_param_field(detail, 0, 4);
	if (p[1])
		return scsi_invalid_param_field(detail, 1, 7);
	uint16_t plen = be16_get(p + 2);
	if (plen == 0 || plen > block_size || plen > len - OW_HEADER_LEN)
		return scsi_invalid_param_field(detail, 2, -1);
	out->invert = p[0] & OW_INVERT;
	out->passes = p[0] & OW_COUNT_MASK;
	out->pattern = p + OW_HEADER_LEN;
	out->pattern_len = plen;
	return SENSE_NONE;
}

static enum sense_reason sanitize_writable(const struct scsi_lu *lu)
{
	if (lu->readonly)
		return SENSE_WRITE_PROTECTED;
	if (scsi_lu_mode_has(lu, SCSI_MODE_SWP))
		return SENSE_SOFTWARE_WRITE_PROTECTED;
	return SENSE_NONE;
}

/* Bytes one write of the pattern buffer covers: the buffer, or less at the
 * end of the medium. */
static uint32_t overwrite_buf_len(const struct scsi_lu *lu)
{
	uint64_t size = lu->nblocks * lu->block_size;
	uint32_t max = SANITIZE_BUF_MAX - SANITIZE_BUF_MAX % lu->block_size;
	return size < max ? (uint32_t)size : max;
}

static void overwrite_step(struct scsi_task *task, int err);

/* Up to SCSI_TASK_MAX_IOS writes of the buffer, from stride ios_next of
 * the medium to ios_end; step_at counts the passes still to begin. */
static void overwrite_submit(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	uint64_t size = lu->nblocks * lu->block_size;
	uint32_t stride = (uint32_t)task->verify_iov.iov_len;
	bool fua = !scsi_lu_mode_has(lu, SCSI_MODE_WCE);
	scsi_task_io_step(task, overwrite_step);
	for (unsigned i = 0; i < SCSI_TASK_MAX_IOS && task->ios_next < task->ios_end; i++) {
		uint64_t offset = (uint64_t)task->ios_next * stride;
		struct backend_io *io = scsi_task_io_slot(task);
		io->op = BACKEND_WRITE;
		io->fua = fua;
		io->offset = offset;
		backend_io_set_buf(io, task->verify_buf, (uint32_t)min_u64(stride, size - offset));
		backend_submit(lu->bs, task->loop, io);
		task->ios_next++;
	}
}

static void overwrite_step(struct scsi_task *task, int err)
{
	if (err) {
		scsi_task_finish(task, scsi_task_io_reason(task, err));
		return;
	}
	if (task->ios_next < task->ios_end) {
		overwrite_submit(task);
		return;
	}
	if (--task->step_at == 0) {
		scsi_task_finish(task, SENSE_NONE);
		return;
	}
	/* SBC-4 5.30.3.2: INVERT turns the pattern over between passes. */
	if (task->buf[0] & OW_INVERT)
		for (size_t i = 0; i < task->verify_iov.iov_len; i++)
			task->verify_buf[i] = (uint8_t)~task->verify_buf[i];
	task->ios_next = 0;
	overwrite_submit(task);
}

static enum sense_reason sanitize_overwrite(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	uint32_t len = task->xfer_len;
	if (len && scsi_task_data_out_sent(task) < len)
		return SENSE_INVALID_FIELD_IN_COMMAND_IU;
	struct sbc_overwrite_params params;
	enum sense_reason r = sbc_sanitize_check_overwrite(task->buf, len, lu->block_size,
							   &params, &task->detail);
	if (r != SENSE_NONE)
		return r;
	r = sanitize_writable(lu);
	if (r != SENSE_NONE)
		return r;
	uint32_t buf_len = overwrite_buf_len(lu);
	void *buf;
	if (posix_memalign(&buf, 4096, buf_len) != 0) {
		log_error("scsi: LUN %u %s: cannot allocate %u bytes", lu->lun, task->op->name,
			  buf_len);
		return SENSE_INTERNAL_TARGET_FAILURE;
	}
	/* SBC-4 5.30.3.2: the pattern starts again at each logical block. */
	sbc_sanitize_fill(buf, buf_len, lu->block_size, params.pattern, params.pattern_len);
	task->verify_buf = buf;
	task->verify_iov = (struct iovec){ buf, buf_len };
	uint64_t size = lu->nblocks * lu->block_size;
	task->ios_next = 0;
	task->ios_end = (uint32_t)((size + buf_len - 1) / buf_len);
	task->step_at = params.passes;
	if (task->ios_end == 0) {
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	/* No other command writes the medium while the passes run. */
	scsi_task_range_lock_span(task, 0, lu->nblocks, true, overwrite_submit);
	return SENSE_NONE;
}

void sbc_sanitize_fill(uint8_t *buf, uint32_t len, uint32_t block_size, const uint8_t *pattern,
		       uint16_t pattern_len)
{
	for (uint32_t at = 0; at < len; at += block_size)
		for (uint32_t i = 0; i < block_size; i += pattern_len)
			memcpy(buf + at + i, pattern, min_u32(pattern_len, block_size - i));
}

static void block_erase_done(struct scsi_task *task, int err)
{
	scsi_task_finish(task, scsi_task_io_reason(task, err));
}

static void block_erase_submit(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	scsi_task_io_step(task, block_erase_done);
	struct backend_io *io = scsi_task_io_slot(task);
	io->op = BACKEND_DISCARD;
	io->offset = 0;
	io->discard_len = lu->nblocks * lu->block_size;
	backend_submit(lu->bs, task->loop, io);
}

/* SBC-4 5.30.3.3: on a thin LU every block is deallocated, and reads as
 * zeros (LBPRZ); a fully provisioned LU has no block erase. */
static enum sense_reason sanitize_block_erase(struct scsi_task *task)
{
	if (!sbc_lu_is_thin(task->lu))
		return scsi_invalid_cdb_field(&task->detail, OP_SA_BYTE, 4);
	if (task->xfer_len)
		return scsi_invalid_cdb_field(&task->detail, SANITIZE_PARAM_LEN_BYTE, -1);
	enum sense_reason r = sanitize_writable(task->lu);
	if (r != SENSE_NONE)
		return r;
	scsi_task_range_lock_span(task, 0, task->lu->nblocks, true, block_erase_submit);
	return SENSE_NONE;
}

/* SBC-4 5.30.3.5: no parameter list. */
static enum sense_reason sanitize_exit_failure_mode(struct scsi_task *task)
{
	if (task->xfer_len)
		return scsi_invalid_cdb_field(&task->detail, SANITIZE_PARAM_LEN_BYTE, -1);
	scsi_task_finish_later(task, SENSE_NONE);
	return SENSE_NONE;
}

enum sense_reason sbc_sanitize(struct scsi_task *task)
{
	switch (task->op->service_action) {
	case SBC_SANITIZE_OVERWRITE:
		return sanitize_overwrite(task);
	case SBC_SANITIZE_BLOCK_ERASE:
		return sanitize_block_erase(task);
	default:
		return sanitize_exit_failure_mode(task);
	}
}
