/* The copy engine of EXTENDED COPY and WRITE USING TOKEN (xcopy.h). */
#include <stdlib.h>
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/rod_token.h"
#include "scsi/task.h"
#include "scsi/xcopy.h"
#include "util/log.h"
#include "util/macros.h"

struct xcopy_state *xcopy_job_new(struct scsi_task *task, unsigned npieces,
				  const struct xcopy_ops *ops)
{
	struct xcopy_state *x = calloc(1, sizeof(*x) + npieces * sizeof(x->pieces[0]));
	if (!x) {
		log_error("scsi: LUN %u %s: out of memory", task->lu->lun, task->op->name);
		return NULL;
	}
	x->task = task;
	x->ops = ops;
	x->npieces = npieces;
	task->xcopy = x;
	return x;
}

static void xcopy_unlock(struct xcopy_state *x)
{
	if (!x->range_held)
		return;
	x->range_held = false;
	range_lock_release(&x->range_lu->range_lock, &x->range);
}

void xcopy_task_release(struct scsi_task *task)
{
	struct xcopy_state *x = task->xcopy;
	if (!x)
		return;
	xcopy_unlock(x);
	if (x->ops->release)
		x->ops->release(task);
	for (unsigned i = 0; i < XCOPY_MAX_LUS; i++)
		scsi_lu_put(x->lus[i]);
	free(x);
	task->xcopy = NULL;
}

static void xcopy_end(struct scsi_task *task, enum sense_reason reason)
{
	struct xcopy_state *x = task->xcopy;
	xcopy_unlock(x);
	x->ops->result(task, reason);
	scsi_task_finish(task, reason);
}

/* Moves past finished (and empty) pieces; true when none is left. */
static bool xcopy_advance(struct xcopy_state *x)
{
	while (x->piece < x->npieces && x->piece_done == x->pieces[x->piece].nblocks) {
		x->piece++;
		x->piece_done = 0;
	}
	return x->piece == x->npieces;
}

static void xcopy_next(struct scsi_task *task);

static void xcopy_written(struct scsi_task *task, int err)
{
	struct xcopy_state *x = task->xcopy;
	xcopy_unlock(x);
	if (err) {
		xcopy_end(task, scsi_task_io_reason(task, err));
		return;
	}
	x->piece_done += x->step_blocks;
	x->blocks_done += x->step_blocks;
	x->bytes_done += (uint64_t)x->step_blocks * x->range_lu->block_size;
	xcopy_next(task);
}

static void xcopy_submit(struct scsi_task *task, struct scsi_lu *lu, enum backend_op op,
			 uint64_t lba, bool fua)
{
	struct xcopy_state *x = task->xcopy;
	struct backend_io *io = scsi_task_io_slot(task);
	io->op = op;
	io->fua = fua;
	io->offset = lba * lu->block_size;
	backend_io_set_buf(io, task->verify_buf, x->step_blocks * lu->block_size);
	backend_submit(lu->bs, task->loop, io);
}

static void xcopy_read(struct scsi_task *task, int err)
{
	struct xcopy_state *x = task->xcopy;
	if (err) {
		xcopy_end(task, scsi_task_io_reason(task, err));
		return;
	}
	enum sense_reason r = x->ops->check ? x->ops->check(task) : SENSE_NONE;
	if (r != SENSE_NONE) {
		xcopy_end(task, r);
		return;
	}
	struct scsi_lu *dst = x->range_lu;
	rod_token_note_write(dst, x->step_dst, x->step_blocks, x->token, &x->self_changes);
	scsi_task_io_step(task, xcopy_written);
	xcopy_submit(task, dst, BACKEND_WRITE, x->step_dst, sbc_write_through(dst));
}

static void xcopy_locked(struct scsi_task *task)
{
	struct xcopy_state *x = task->xcopy;
	const struct xcopy_piece *p = &x->pieces[x->piece];
	x->range_held = true;
	if (p->src == XCOPY_ZEROS) {
		xcopy_read(task, 0);
		return;
	}
	scsi_task_io_step(task, xcopy_read);
	xcopy_submit(task, x->lus[p->src], BACKEND_READ, x->step_src, false);
}

static void xcopy_granted(struct loop_msg *msg)
{
	struct xcopy_state *x = container_of(msg, struct xcopy_state, range.granted);
	struct scsi_task *task = x->task;
	x->range_held = true;
	/* An abort that came while the step waited ends it before any I/O. */
	if (task->aborted) {
		xcopy_unlock(x);
		scsi_task_finish(task, SENSE_TASK_ABORTED);
		return;
	}
	xcopy_locked(task);
}

/* Starts the next step: the rest of the piece, or the next piece. A
 * backward piece takes its steps from its end. */
static void xcopy_next(struct scsi_task *task)
{
	struct xcopy_state *x = task->xcopy;
	if (xcopy_advance(x)) {
		xcopy_end(task, SENSE_NONE);
		return;
	}
	const struct xcopy_piece *p = &x->pieces[x->piece];
	struct scsi_lu *dst = x->lus[p->dst];
	uint32_t left = p->nblocks - x->piece_done;
	x->step_blocks = min_u32(XCOPY_STEP_BYTES / dst->block_size, left);
	uint32_t off = p->backward ? left - x->step_blocks : x->piece_done;
	x->step_src = p->src_lba + off;
	x->step_dst = p->dst_lba + off;
	x->range_lu = dst;
	x->range = (struct range_lock_req){
		.lba = x->step_dst,
		.nblocks = x->step_blocks,
		.loop = task->loop,
	};
	x->range.granted.fn = xcopy_granted;
	if (range_lock_acquire(&dst->range_lock, &x->range))
		xcopy_locked(task);
}

enum sense_reason xcopy_job_start(struct scsi_task *task)
{
	struct xcopy_state *x = task->xcopy;
	/* Nothing to copy completes on the next loop turn: a handler must
	 * not complete its task before it returns. */
	if (xcopy_advance(x)) {
		x->ops->result(task, SENSE_NONE);
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	enum sense_reason r = sbc_flat_buf(task, XCOPY_STEP_BYTES);
	if (r != SENSE_NONE)
		return r;
	for (unsigned i = 0; i < x->npieces; i++) {
		if (x->pieces[i].src == XCOPY_ZEROS) {
			memset(task->verify_buf, 0, XCOPY_STEP_BYTES);
			break;
		}
	}
	xcopy_next(task);
	return SENSE_NONE;
}
