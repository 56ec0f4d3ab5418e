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
/* Completes the task now; only from a callback running on task->loop. */
void scsi_task_finish(struct scsi_task *task, enum sense_reason reason);
/* Completes the task from the loop on its next turn. */
void scsi_task_finish_later(struct scsi_task *task, enum sense_reason reason);

/* nexus.c: takes the highest-priority pending unit attention for lun
 * (SAM-5 5.14), or returns SENSE_NONE. */
enum sense_reason scsi_ua_take(struct scsi_nexus *nexus, uint16_t lun);
/* Establishes ua for lun on every other I_T nexus of self's target. */
void scsi_ua_establish_others(struct scsi_nexus *self, uint16_t lun, enum scsi_ua ua);

#endif
