/* Unit attentions of an I_T nexus (nexus.c); private to the SCSI core. */
#ifndef LUNAR_SCSI_NEXUS_H
#define LUNAR_SCSI_NEXUS_H

#include <stdint.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"

/* Takes the highest-priority pending unit attention for lun (SAM-5 5.14),
 * or returns SENSE_NONE. */
enum sense_reason scsi_ua_take(struct scsi_nexus *nexus, uint16_t lun);
/* Session reinstatement (nexus_fence.c), from scsi_nexus_fini: nexus
 * stops waiting behind its fence (on its loop), and, under target->lock,
 * opens the fences of the nexuses that replaced it once they wait for
 * nothing else. */
void scsi_nexus_fence_leave(struct scsi_nexus *nexus);
void scsi_nexus_fence_release(struct scsi_nexus *prev);
/* Establishes ua for lun on nexus; any thread. */
void scsi_ua_establish(struct scsi_nexus *nexus, uint16_t lun, enum scsi_ua ua);
/* Establishes ua for lun on every other I_T nexus of self's target. */
void scsi_ua_establish_others(struct scsi_nexus *self, uint16_t lun, enum scsi_ua ua);

#endif
