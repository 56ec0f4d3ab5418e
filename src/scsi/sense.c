#include "scsi/sense.h"

#include <string.h>

#include "util/be.h"

/* Every reason but the status-only ones at the end is a CHECK CONDITION;
 * those carry no sense data (SAM-5 5.3.1). */
#define CC SCSI_STATUS_CHECK_CONDITION

static const struct {
	const char *name;
	uint8_t status; /* enum scsi_status */
	struct sense_code code;
} sense_table[SENSE_REASON_COUNT] = {
	[SENSE_NONE] = { "no sense", SCSI_STATUS_GOOD, { SENSE_KEY_NO_SENSE, 0x00, 0x00 } },
	[SENSE_INVALID_OPCODE] = { "invalid command operation code", CC,
				   { SENSE_KEY_ILLEGAL_REQUEST, 0x20, 0x00 } },
	[SENSE_INVALID_FIELD_IN_CDB] = { "invalid field in CDB", CC,
					 { SENSE_KEY_ILLEGAL_REQUEST, 0x24, 0x00 } },
	[SENSE_INVALID_FIELD_IN_PARAM_LIST] = { "invalid field in parameter list", CC,
						{ SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x00 } },
	[SENSE_INVALID_FIELD_IN_COMMAND_IU] = { "invalid field in command information unit", CC,
						{ SENSE_KEY_ILLEGAL_REQUEST, 0x0E, 0x03 } },
	[SENSE_PARAM_LIST_LENGTH_ERROR] = { "parameter list length error", CC,
					    { SENSE_KEY_ILLEGAL_REQUEST, 0x1A, 0x00 } },
	[SENSE_LBA_OUT_OF_RANGE] = { "logical block address out of range", CC,
				     { SENSE_KEY_ILLEGAL_REQUEST, 0x21, 0x00 } },
	[SENSE_LUN_NOT_SUPPORTED] = { "logical unit not supported", CC,
				      { SENSE_KEY_ILLEGAL_REQUEST, 0x25, 0x00 } },
	[SENSE_WRITE_PROTECTED] = { "write protected", CC,
				    { SENSE_KEY_DATA_PROTECT, 0x27, 0x00 } },
	[SENSE_SOFTWARE_WRITE_PROTECTED] = { "logical unit software write protected", CC,
					     { SENSE_KEY_DATA_PROTECT, 0x27, 0x02 } },
	[SENSE_SPACE_ALLOC_FAILED] = { "space allocation failed write protect", CC,
				       { SENSE_KEY_DATA_PROTECT, 0x27, 0x07 } },
	[SENSE_READ_ERROR] = { "unrecovered read error", CC,
			       { SENSE_KEY_MEDIUM_ERROR, 0x11, 0x00 } },
	[SENSE_WRITE_ERROR] = { "write error", CC, { SENSE_KEY_MEDIUM_ERROR, 0x0C, 0x00 } },
	[SENSE_SANITIZE_IN_PROGRESS] = { "logical unit not ready, sanitize in progress", CC,
					 { SENSE_KEY_NOT_READY, 0x04, 0x1B } },
	[SENSE_SANITIZE_FAILED] = { "sanitize command failed", CC,
				    { SENSE_KEY_MEDIUM_ERROR, 0x31, 0x03 } },
	[SENSE_MISCOMPARE] = { "miscompare during verify operation", CC,
			       { SENSE_KEY_MISCOMPARE, 0x1D, 0x00 } },
	[SENSE_POWER_ON_UA] = { "power on, reset, or bus device reset occurred", CC,
				{ SENSE_KEY_UNIT_ATTENTION, 0x29, 0x00 } },
	[SENSE_CAPACITY_CHANGED_UA] = { "capacity data has changed", CC,
					{ SENSE_KEY_UNIT_ATTENTION, 0x2A, 0x09 } },
	[SENSE_MODE_PARAMS_CHANGED_UA] = { "mode parameters changed", CC,
					   { SENSE_KEY_UNIT_ATTENTION, 0x2A, 0x01 } },
	[SENSE_REPORTED_LUNS_CHANGED_UA] = { "reported luns data has changed", CC,
					     { SENSE_KEY_UNIT_ATTENTION, 0x3F, 0x0E } },
	[SENSE_LU_RESET_UA] = { "bus device reset function occurred", CC,
				{ SENSE_KEY_UNIT_ATTENTION, 0x29, 0x03 } },
	[SENSE_IT_NEXUS_LOSS_UA] = { "i_t nexus loss occurred", CC,
				     { SENSE_KEY_UNIT_ATTENTION, 0x29, 0x07 } },
	[SENSE_RESERVATIONS_PREEMPTED_UA] = { "reservations preempted", CC,
					      { SENSE_KEY_UNIT_ATTENTION, 0x2A, 0x03 } },
	[SENSE_RESERVATIONS_RELEASED_UA] = { "reservations released", CC,
					     { SENSE_KEY_UNIT_ATTENTION, 0x2A, 0x04 } },
	[SENSE_REGISTRATIONS_PREEMPTED_UA] = { "registrations preempted", CC,
					       { SENSE_KEY_UNIT_ATTENTION, 0x2A, 0x05 } },
	[SENSE_INVALID_RELEASE_OF_PR] = { "invalid release of persistent reservation", CC,
					  { SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x04 } },
	[SENSE_INSUFFICIENT_REGISTRATION_RESOURCES] = {
		"insufficient registration resources", CC,
		{ SENSE_KEY_ILLEGAL_REQUEST, 0x55, 0x04 } },
	[SENSE_SAVING_PARAMS_UNSUPPORTED] = { "saving parameters not supported", CC,
					      { SENSE_KEY_ILLEGAL_REQUEST, 0x39, 0x00 } },
	[SENSE_INTERNAL_TARGET_FAILURE] = { "internal target failure", CC,
					    { SENSE_KEY_HARDWARE_ERROR, 0x44, 0x00 } },
	[SENSE_DATA_PHASE_ERROR] = { "data phase error", CC,
				     { SENSE_KEY_ABORTED_COMMAND, 0x4B, 0x00 } },
	/* SPC-4 6.3: EXTENDED COPY's parameter list and copy manager. */
	[SENSE_TOO_MANY_TARGET_DESCRIPTORS] = { "too many target descriptors", CC,
						{ SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x06 } },
	[SENSE_UNSUPPORTED_TARGET_DESCRIPTOR_TYPE] = {
		"unsupported target descriptor type code", CC,
		{ SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x07 } },
	[SENSE_TOO_MANY_SEGMENT_DESCRIPTORS] = { "too many segment descriptors", CC,
						 { SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x08 } },
	[SENSE_UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE] = {
		"unsupported segment descriptor type code", CC,
		{ SENSE_KEY_ILLEGAL_REQUEST, 0x26, 0x09 } },
	[SENSE_COPY_TARGET_UNREACHABLE] = { "copy target device not reachable", CC,
					    { SENSE_KEY_COPY_ABORTED, 0x0D, 0x02 } },
	/* SPC-4 6.3, SBC-3 5.9, 5.46: copy operations and ROD tokens. */
	[SENSE_OPERATION_IN_PROGRESS] = { "operation in progress", CC,
					  { SENSE_KEY_ILLEGAL_REQUEST, 0x00, 0x16 } },
	[SENSE_INSUFFICIENT_RESOURCES_FOR_ROD_TOKEN] = {
		"insufficient resources to create rod token", CC,
		{ SENSE_KEY_ILLEGAL_REQUEST, 0x55, 0x0D } },
	[SENSE_TOKEN_INVALID] = { "invalid token operation, cause not reportable", CC,
				  { SENSE_KEY_ILLEGAL_REQUEST, 0x23, 0x00 } },
	[SENSE_REMOTE_TOKEN_USAGE_UNSUPPORTED] = {
		"invalid token operation, remote token usage not supported", CC,
		{ SENSE_KEY_ILLEGAL_REQUEST, 0x23, 0x02 } },
	[SENSE_TOKEN_UNKNOWN] = { "invalid token operation, token unknown", CC,
				  { SENSE_KEY_ILLEGAL_REQUEST, 0x23, 0x04 } },
	[SENSE_TOKEN_EXPIRED] = { "invalid token operation, token expired", CC,
				  { SENSE_KEY_ILLEGAL_REQUEST, 0x23, 0x07 } },
	[SENSE_TOKEN_CANCELLED] = { "invalid token operation, token cancelled", CC,
				    { SENSE_KEY_ILLEGAL_REQUEST, 0x23, 0x08 } },
	[SENSE_CONDITION_MET] = { "condition met", SCSI_STATUS_CONDITION_MET, { 0 } },
	[SENSE_BUSY] = { "busy", SCSI_STATUS_BUSY, { 0 } },
	[SENSE_RESERVATION_CONFLICT] = { "reservation conflict",
					 SCSI_STATUS_RESERVATION_CONFLICT, { 0 } },
	[SENSE_TASK_SET_FULL] = { "task set full", SCSI_STATUS_TASK_SET_FULL, { 0 } },
	[SENSE_TASK_ABORTED] = { "task aborted", SCSI_STATUS_TASK_ABORTED, { 0 } },
};

struct sense_code sense_code_of(enum sense_reason reason)
{
	if ((unsigned)reason >= SENSE_REASON_COUNT)
		reason = SENSE_INTERNAL_TARGET_FAILURE;
	return sense_table[reason].code;
}

uint8_t sense_status_of(enum sense_reason reason)
{
	if ((unsigned)reason >= SENSE_REASON_COUNT)
		reason = SENSE_INTERNAL_TARGET_FAILURE;
	return sense_table[reason].status;
}

const char *sense_reason_name(enum sense_reason reason)
{
	if ((unsigned)reason >= SENSE_REASON_COUNT)
		return "unknown";
	return sense_table[reason].name;
}

/* The three sense-key specific bytes for a field pointer, SPC-4 4.5.2.4.2. */
static void sense_put_field_pointer(uint8_t *sks, const struct scsi_sense_detail *d)
{
	sks[0] = 0x80; /* SKSV */
	if (d->in_cdb)
		sks[0] |= 0x40;
	if (d->bit >= 0)
		sks[0] |= 0x08 | (uint8_t)(d->bit & 0x7);
	be16_put(sks + 1, d->field);
}

/* SPC-4 4.5.2.4.4: the three sense-key specific bytes for a progress
 * indication. */
static void sense_put_progress(uint8_t *sks, const struct scsi_sense_detail *d)
{
	sks[0] = 0x80; /* SKSV */
	be16_put(sks + 1, d->progress);
}

static bool sense_has_sks(const struct scsi_sense_detail *d)
{
	return d && (d->field_valid || d->progress_valid);
}

static void sense_put_sks(uint8_t *sks, const struct scsi_sense_detail *d)
{
	if (d->field_valid)
		sense_put_field_pointer(sks, d);
	else
		sense_put_progress(sks, d);
}

static size_t sense_build_fixed(uint8_t *out, struct sense_code code,
				const struct scsi_sense_detail *d)
{
	memset(out, 0, SENSE_FIXED_LEN);
	out[0] = 0x70;
	out[2] = code.key;
	/* SPC-4 4.5.3: a 4-byte INFORMATION field; a value that does not fit
	 * is left out rather than truncated. */
	if (d && d->info_valid && d->info <= UINT32_MAX) {
		out[0] |= 0x80;
		be32_put(out + 3, (uint32_t)d->info);
	}
	out[7] = SENSE_FIXED_LEN - 8;
	out[12] = code.asc;
	out[13] = code.ascq;
	if (sense_has_sks(d))
		sense_put_sks(out + 15, d);
	return SENSE_FIXED_LEN;
}

static size_t sense_build_descriptor(uint8_t *out, struct sense_code code,
				     const struct scsi_sense_detail *d)
{
	memset(out, 0, SENSE_DESC_MAX_LEN);
	out[0] = 0x72;
	out[1] = code.key;
	out[2] = code.asc;
	out[3] = code.ascq;
	size_t len = 8;
	if (d && d->info_valid) {
		/* SPC-4 4.5.2.2 information descriptor */
		out[len] = 0x00;
		out[len + 1] = 0x0A;
		out[len + 2] = 0x80;
		be64_put(out + len + 4, d->info);
		len += 12;
	}
	if (sense_has_sks(d)) {
		/* SPC-4 4.5.2.4 sense key specific descriptor */
		out[len] = 0x02;
		out[len + 1] = 0x06;
		sense_put_sks(out + len + 4, d);
		len += 8;
	}
	out[7] = (uint8_t)(len - 8);
	return len;
}

size_t sense_build(uint8_t *out, enum sense_reason reason,
		   const struct scsi_sense_detail *detail, bool descriptor)
{
	struct sense_code code = sense_code_of(reason);
	if (descriptor)
		return sense_build_descriptor(out, code, detail);
	return sense_build_fixed(out, code, detail);
}
