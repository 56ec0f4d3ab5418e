/* SANITIZE (SBC-4 5.30): the service actions served, and the LU-wide state
 * a sanitize leaves while it runs or after it failed. Private to the SCSI
 * core and its tests. */
#ifndef LUNAR_SCSI_SBC_SANITIZE_H
#define LUNAR_SCSI_SBC_SANITIZE_H

#include "scsi/scsi.h"
#include "scsi/sense.h"

/* SBC-4 5.30.1 table 45 */
#define SBC_SANITIZE_OVERWRITE 0x01
#define SBC_SANITIZE_BLOCK_ERASE 0x02
#define SBC_SANITIZE_EXIT_FAILURE_MODE 0x1F

/* scsi_lu.sanitize */
enum sbc_sanitize_state {
	SBC_SANITIZE_IDLE,
	SBC_SANITIZE_RUNNING,
	SBC_SANITIZE_FAILED,      /* the failed one had AUSE 0: only a new sanitize leaves */
	SBC_SANITIZE_FAILED_AUSE, /* AUSE 1: EXIT FAILURE MODE leaves too */
};

/* An OVERWRITE writes the medium in steps of this many bytes. */
#define SBC_SANITIZE_STEP (1u << 20)

struct scsi_opdef;

/* SBC-4 4.11.2: what a command other than INQUIRY, REPORT LUNS and
 * REQUEST SENSE gets from lu's sanitize state: NOT READY, SANITIZE IN
 * PROGRESS while one runs; MEDIUM ERROR, SANITIZE COMMAND FAILED after
 * one failed, but for SANITIZE itself; else SENSE_NONE. Any thread. */
enum sense_reason sbc_sanitize_check(const struct scsi_lu *lu, const struct scsi_opdef *op);
/* What REQUEST SENSE reports of lu's sanitize when no unit attention is
 * pending (SBC-4 4.11.2): SANITIZE IN PROGRESS with its progress, SANITIZE
 * COMMAND FAILED, or SENSE_NONE. */
enum sense_reason sbc_sanitize_sense(const struct scsi_lu *lu, struct scsi_sense_detail *detail);

#endif
