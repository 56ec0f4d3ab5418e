/* Command handlers named in the opcode table. Each returns a sense reason:
 * SENSE_NONE for success; anything else ends the task with the status and
 * sense the reason table (sense.c) gives it. */
#ifndef LUNAR_SCSI_HANDLERS_H
#define LUNAR_SCSI_HANDLERS_H

#include "scsi/scsi.h"
#include "scsi/sense.h"

/* spc.c */
enum sense_reason spc_test_unit_ready(struct scsi_task *task);
enum sense_reason spc_request_sense(struct scsi_task *task);
enum sense_reason spc_report_luns(struct scsi_task *task);
/* inquiry.c */
enum sense_reason spc_inquiry(struct scsi_task *task);
/* rsoc.c */
enum sense_reason spc_report_supported_opcodes(struct scsi_task *task);
/* mode.c */
enum sense_reason spc_mode_sense(struct scsi_task *task);
/* mode_select.c */
enum sense_reason spc_mode_select(struct scsi_task *task);
/* sbc.c */
enum sense_reason sbc_read_capacity10(struct scsi_task *task);
enum sense_reason sbc_read_capacity16(struct scsi_task *task);
enum sense_reason sbc_start_stop_unit(struct scsi_task *task);
enum sense_reason sbc_prevent_allow(struct scsi_task *task);
enum sense_reason sbc_prefetch(struct scsi_task *task);
enum sense_reason sbc_read_defect_data(struct scsi_task *task);
/* sbc_io.c: OP_ASYNC handlers */
enum sense_reason sbc_read(struct scsi_task *task);
enum sense_reason sbc_write(struct scsi_task *task);
enum sense_reason sbc_sync_cache(struct scsi_task *task);
enum sense_reason sbc_verify(struct scsi_task *task);
enum sense_reason sbc_write_verify(struct scsi_task *task);
/* sbc_thin.c: OP_ASYNC handlers */
enum sense_reason sbc_unmap(struct scsi_task *task);
enum sense_reason sbc_get_lba_status(struct scsi_task *task);
/* sbc_write_same.c: OP_ASYNC */
enum sense_reason sbc_write_same(struct scsi_task *task);

#endif
