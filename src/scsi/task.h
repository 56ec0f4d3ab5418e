/* What handlers use to answer a task; private to the SCSI core. */
#ifndef LUNAR_SCSI_TASK_H
#define LUNAR_SCSI_TASK_H

#include <stddef.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"

/* Data-in: copies as much of a len-byte response as the allocation length
 * allows into buf (SPC-4 4.2.5.6). */
void scsi_task_reply(struct scsi_task *task, const void *data, size_t len);
/* Sets the status the reason table gives for reason, and for a CHECK
 * CONDITION the sense data (using task->detail); no other status carries
 * sense. Handlers never set status or build sense themselves. */
void scsi_task_set_result(struct scsi_task *task, enum sense_reason reason);
/* Bytes of data-out the initiator sent: at most the CDB's transfer length
 * (an iSCSI EDTL may be below it, RFC 7143 §11.4.5). */
uint32_t scsi_task_data_out_sent(const struct scsi_task *task);
/* Completes the task now; only from a callback running on task->loop. */
void scsi_task_finish(struct scsi_task *task, enum sense_reason reason);
/* Completes the task from the loop on its next turn. */
void scsi_task_finish_later(struct scsi_task *task, enum sense_reason reason);

/* Backend I/O in steps (task_io.c). A step is one or more I/Os submitted
 * together from one callback; completions never arrive inside
 * backend_submit, so the step cannot end before its last I/O is out. When
 * its last I/O completes, then(task, err) runs with the step's first error
 * (0 or -errno, already logged) and either starts the next step or
 * finishes the task. A task aborted while a step is in flight finishes as
 * aborted when the step ends; then is not called. */
void scsi_task_io_step(struct scsi_task *task, void (*then)(struct scsi_task *task, int err));
/* A zeroed backend_io of the current step with its done set: the caller
 * fills in the rest and submits it. NULL when the step already has
 * SCSI_TASK_MAX_IOS: the caller submits nothing more and the step ends
 * with an error. */
struct backend_io *scsi_task_io_slot(struct scsi_task *task);
/* scsi_task_set_abort, with the executing tasks it aborts counted for
 * reset (lu_reset.c), which then waits for their completion; returns how
 * many it counted. */
unsigned scsi_task_set_abort_for(struct scsi_nexus *nexus, int lun, scsi_task_removed_fn removed,
				 void *arg, struct scsi_lu_reset *reset);
/* Starts the waiting tasks of n that nothing holds back any more, oldest
 * first; on n's loop. */
void scsi_task_set_start_waiting(struct scsi_nexus *n);
/* PREEMPT AND ABORT (SPC-4 5.12.11.4.5) through scsi_lu_reset's
 * machinery (lu_reset.c): the tasks for the LU from sees as lun are
 * aborted on the nexuses match accepts, as a LOGICAL UNIT RESET aborts
 * them, but with no unit attention. match runs on each nexus's loop, so
 * what it reads must stay unchanged until done(arg) runs on from's loop,
 * once every aborted task has completed. 0, -ENOENT or -ENOMEM. */
int scsi_lu_abort_nexuses(struct scsi_nexus *from, uint16_t lun,
			  bool (*match)(const struct scsi_nexus *n, void *arg), void *match_arg,
			  void (*done)(void *arg), void *arg);
/* An aborted task the reset counted has completed (task.c). */
void scsi_lu_reset_put(struct scsi_lu_reset *reset);

/* Holds the task's blocks (lba, nblocks) in its LU's range lock, then
 * calls then: at once, or later from the loop once what overlaps has gone
 * (a task aborted meanwhile finishes as aborted instead). Exclusive: no
 * other write to those blocks runs until the task completes; otherwise
 * the task only waits for exclusive holders. task_complete lets go. */
void scsi_task_range_lock(struct scsi_task *task, bool exclusive,
			  void (*then)(struct scsi_task *task));
/* The same for blocks [lba, lba + nblocks) other than the CDB's range:
 * UNMAP's descriptors. */
void scsi_task_range_lock_span(struct scsi_task *task, uint64_t lba, uint64_t nblocks, bool exclusive,
			       void (*then)(struct scsi_task *task));
void scsi_task_range_unlock(struct scsi_task *task);

/* The sense reason for a step's error. */
enum sense_reason scsi_task_io_reason(const struct scsi_task *task, int err);

#endif
