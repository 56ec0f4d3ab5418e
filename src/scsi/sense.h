/* How a command ended, and the one mapping from that reason to a status
 * (SAM-5 5.3) and sense data (SPC-4 4.5). Handlers return a reason; only
 * sense.c knows statuses and builds sense bytes. */
#ifndef LUNAR_SCSI_SENSE_H
#define LUNAR_SCSI_SENSE_H

#include <stddef.h>
#include <stdint.h>

#include "scsi/scsi.h"

enum sense_reason {
	SENSE_NONE,
	SENSE_INVALID_OPCODE,
	SENSE_INVALID_FIELD_IN_CDB,
	SENSE_INVALID_FIELD_IN_PARAM_LIST,
	SENSE_INVALID_FIELD_IN_COMMAND_IU,
	SENSE_PARAM_LIST_LENGTH_ERROR,
	SENSE_LBA_OUT_OF_RANGE,
	SENSE_LUN_NOT_SUPPORTED,
	SENSE_WRITE_PROTECTED,
	SENSE_SOFTWARE_WRITE_PROTECTED,
	SENSE_SPACE_ALLOC_FAILED,
	SENSE_READ_ERROR,
	SENSE_WRITE_ERROR,
	SENSE_SANITIZE_IN_PROGRESS,
	SENSE_SANITIZE_FAILED,
	SENSE_MISCOMPARE,
	SENSE_POWER_ON_UA,
	SENSE_CAPACITY_CHANGED_UA,
	SENSE_MODE_PARAMS_CHANGED_UA,
	SENSE_REPORTED_LUNS_CHANGED_UA,
	SENSE_LU_RESET_UA,
	SENSE_IT_NEXUS_LOSS_UA,
	SENSE_RESERVATIONS_PREEMPTED_UA,
	SENSE_RESERVATIONS_RELEASED_UA,
	SENSE_REGISTRATIONS_PREEMPTED_UA,
	SENSE_INVALID_RELEASE_OF_PR,
	SENSE_INSUFFICIENT_REGISTRATION_RESOURCES,
	SENSE_SAVING_PARAMS_UNSUPPORTED,
	SENSE_INTERNAL_TARGET_FAILURE,
	SENSE_DATA_PHASE_ERROR,
	SENSE_TOO_MANY_TARGET_DESCRIPTORS,
	SENSE_UNSUPPORTED_TARGET_DESCRIPTOR_TYPE,
	SENSE_TOO_MANY_SEGMENT_DESCRIPTORS,
	SENSE_UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE,
	SENSE_COPY_TARGET_UNREACHABLE,
	SENSE_OPERATION_IN_PROGRESS,
	SENSE_INSUFFICIENT_RESOURCES_FOR_ROD_TOKEN,
	SENSE_TOKEN_INVALID,
	SENSE_REMOTE_TOKEN_USAGE_UNSUPPORTED,
	SENSE_TOKEN_UNKNOWN,
	SENSE_TOKEN_EXPIRED,
	SENSE_TOKEN_CANCELLED,
	/* statuses other than CHECK CONDITION: no sense data */
	SENSE_CONDITION_MET,
	SENSE_BUSY,
	SENSE_RESERVATION_CONFLICT,
	SENSE_TASK_SET_FULL,
	SENSE_TASK_ABORTED,
	SENSE_REASON_COUNT,
};

/* SPC-4 4.5.6 sense keys */
enum sense_key {
	SENSE_KEY_NO_SENSE = 0x0,
	SENSE_KEY_NOT_READY = 0x2,
	SENSE_KEY_MEDIUM_ERROR = 0x3,
	SENSE_KEY_HARDWARE_ERROR = 0x4,
	SENSE_KEY_ILLEGAL_REQUEST = 0x5,
	SENSE_KEY_UNIT_ATTENTION = 0x6,
	SENSE_KEY_DATA_PROTECT = 0x7,
	SENSE_KEY_COPY_ABORTED = 0xA,
	SENSE_KEY_ABORTED_COMMAND = 0xB,
	SENSE_KEY_MISCOMPARE = 0xE,
};

struct sense_code {
	uint8_t key, asc, ascq;
};

/* Fixed format (70h) is 18 bytes; descriptor format (72h) is 8 bytes plus
 * an information descriptor (12) and a sense-key specific descriptor (8). */
#define SENSE_FIXED_LEN 18
#define SENSE_DESC_MAX_LEN (8 + 12 + 8)

/* The SAM-5 status (enum scsi_status) a task ending for reason returns. */
uint8_t sense_status_of(enum sense_reason reason);
struct sense_code sense_code_of(enum sense_reason reason);
const char *sense_reason_name(enum sense_reason reason);

/* Writes current-error sense data for reason into out (at least
 * SENSE_DESC_MAX_LEN bytes); detail may be NULL. Returns its length. */
size_t sense_build(uint8_t *out, enum sense_reason reason,
		   const struct scsi_sense_detail *detail, bool descriptor);

#endif
