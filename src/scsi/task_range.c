/* A task's hold on its blocks in the LU's range lock (range_lock.h):
 * taken before a write's I/O, let go when the task completes. */
#include "scsi/rod_token.h"
#include "scsi/task.h"
#include "util/macros.h"

/* Every write holds its blocks here before its I/O: the place where the
 * ROD tokens over them are cancelled (rod_token.h). */
static void task_range_held(struct scsi_task *task)
{
	task->range_held = true;
	rod_token_note_write_fast(task->lu, task->range.lba, task->range.nblocks);
}

static void task_range_granted(struct loop_msg *msg)
{
	struct scsi_task *task = container_of(msg, struct scsi_task, range.granted);
	task_range_held(task);
	/* An abort that came while the task waited ends it before any I/O. */
	if (task->aborted) {
		scsi_task_finish(task, SENSE_TASK_ABORTED);
		return;
	}
	task->range_then(task);
}

void scsi_task_range_lock(struct scsi_task *task, bool exclusive,
			  void (*then)(struct scsi_task *task))
{
	scsi_task_range_lock_span(task, task->lba, task->nblocks, exclusive, then);
}

void scsi_task_range_lock_span(struct scsi_task *task, uint64_t lba, uint64_t nblocks, bool exclusive,
			       void (*then)(struct scsi_task *task))
{
	task->range = (struct range_lock_req){
		.lba = lba,
		.nblocks = nblocks,
		.exclusive = exclusive,
		.loop = task->loop,
	};
	task->range.granted.fn = task_range_granted;
	task->range_then = then;
	if (!range_lock_acquire(&task->lu->range_lock, &task->range))
		return;
	task_range_held(task);
	then(task);
}

void scsi_task_range_unlock(struct scsi_task *task)
{
	if (!task->range_held)
		return;
	task->range_held = false;
	range_lock_release(&task->lu->range_lock, &task->range);
}
