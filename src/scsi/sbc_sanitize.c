/* SANITIZE (SBC-4 5.30): BLOCK ERASE deallocates the whole medium of a
 * thin LU in one DISCARD; EXIT FAILURE MODE has nothing to leave, since
 * no sanitize here leaves a failure mode behind. CRYPTOGRAPHIC ERASE has
 * no row: no store encrypts. OVERWRITE has none yet: a pass over a large
 * medium outlives any one task, so it waits for a sanitize the LU owns
 * (surviving aborts and resets, SBC-4 4.11) with other commands answered
 * NOT READY, SANITIZE IN PROGRESS meanwhile. */

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/sbc_sanitize.h"
#include "scsi/sbc_thin.h"
#include "scsi/task.h"

/* The CDB's PARAMETER LIST LENGTH field (byte 7). */
#define SANITIZE_PARAM_LEN_BYTE 7

static enum sense_reason sanitize_writable(const struct scsi_lu *lu)
{
	if (lu->readonly)
		return SENSE_WRITE_PROTECTED;
	if (scsi_lu_mode_has(lu, SCSI_MODE_SWP))
		return SENSE_SOFTWARE_WRITE_PROTECTED;
	return SENSE_NONE;
}

static void block_erase_submit(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	scsi_task_io_step(task, sbc_io_finish);
	sbc_io_discard(task, 0, lu->nblocks * lu->block_size);
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
	case SBC_SANITIZE_BLOCK_ERASE:
		return sanitize_block_erase(task);
	default:
		return sanitize_exit_failure_mode(task);
	}
}
