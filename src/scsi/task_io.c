/* A task's backend I/Os, issued in steps: WRITE AND VERIFY writes then
 * reads back, COMPARE AND WRITE reads then writes, ORWRITE reads in rounds
 * then writes; XCOPY and WRITE SAME will need fan-outs of their own. */
#include <errno.h>
#include <string.h>

#include "scsi/opcodes.h"
#include "scsi/task.h"
#include "util/log.h"
#include "util/macros.h"

static void task_io_done(struct backend_io *io, int err)
{
	struct scsi_task *task = container_of(io, struct scsi_task_io, io)->task;
	if (err && !task->ios_err) {
		log_error("scsi: LUN %u %s LBA %llu, %u blocks: %s", task->lu->lun,
			  task->op->name, (unsigned long long)task->lba, task->nblocks,
			  strerror(-err));
		task->ios_err = err;
		task->ios_err_op = io->op;
	}
	if (--task->ios_outstanding)
		return;
	/* An abort lets the step in flight finish, and starts no other. */
	if (task->aborted) {
		scsi_task_finish(task, SENSE_TASK_ABORTED);
		return;
	}
	task->ios_then(task, task->ios_err);
}

void scsi_task_io_step(struct scsi_task *task, void (*then)(struct scsi_task *task, int err))
{
	task->ios_used = 0;
	task->ios_outstanding = 0;
	task->ios_err = 0;
	task->ios_then = then;
}

struct backend_io *scsi_task_io_slot(struct scsi_task *task)
{
	if (task->ios_used == SCSI_TASK_MAX_IOS) {
		/* The step's other I/Os are outstanding: they end it, failed. */
		log_error("scsi: %s: more than %u backend I/Os in one step", task->op->name,
			  SCSI_TASK_MAX_IOS);
		if (!task->ios_err)
			task->ios_err = -E2BIG;
		return NULL;
	}
	struct scsi_task_io *slot = &task->ios[task->ios_used++];
	memset(&slot->io, 0, sizeof(slot->io));
	slot->task = task;
	slot->io.done = task_io_done;
	task->ios_outstanding++;
	return &slot->io;
}

enum sense_reason scsi_task_io_reason(const struct scsi_task *task, int err)
{
	switch (err) {
	case 0:
		return SENSE_NONE;
	case -EROFS:
	case -EPERM:
	case -EACCES:
		return SENSE_WRITE_PROTECTED;
	case -EBUSY:
		/* The store is out of a resource for now (an atomic-write
		 * journal slot): the initiator retries (SAM-5 5.3). */
		return SENSE_BUSY;
	case -ENOSPC:
	case -EDQUOT:
		return SENSE_SPACE_ALLOC_FAILED;
	case -EIO:
	case -ENODATA:
		return task->ios_err_op == BACKEND_READ ? SENSE_READ_ERROR : SENSE_WRITE_ERROR;
	default:
		return SENSE_INTERNAL_TARGET_FAILURE;
	}
}
