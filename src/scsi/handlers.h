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
/* tpg.c */
enum sense_reason spc_report_target_port_groups(struct scsi_task *task);
/* rsoc.c */
enum sense_reason spc_report_supported_opcodes(struct scsi_task *task);
/* tmf_report.c */
enum sense_reason spc_report_supported_tmfs(struct scsi_task *task);
/* mode.c */
enum sense_reason spc_mode_sense(struct scsi_task *task);
/* mode_select.c */
enum sense_reason spc_mode_select(struct scsi_task *task);
/* pr.c */
enum sense_reason spc_pr_in(struct scsi_task *task);
enum sense_reason spc_pr_out(struct scsi_task *task);
/* reserve.c */
enum sense_reason spc_reserve(struct scsi_task *task);
enum sense_reason spc_release(struct scsi_task *task);
/* sbc.c */
enum sense_reason sbc_read_capacity10(struct scsi_task *task);
enum sense_reason sbc_read_capacity16(struct scsi_task *task);
enum sense_reason sbc_start_stop_unit(struct scsi_task *task);
enum sense_reason sbc_prevent_allow(struct scsi_task *task);
enum sense_reason sbc_prefetch(struct scsi_task *task);
enum sense_reason sbc_read_defect_data(struct scsi_task *task);
/* sbc_io.c: OP_ASYNC handlers */
enum sense_reason sbc_read(struct scsi_task *task);
/* Before a read takes chunks: asks the store to lend the bytes it reads
 * (backend_lend) and, when it does, points the task's data there, so
 * sbc_read sends them from the store's memory and the task needs no chunks
 * of its own. False: the read takes chunks and copies, as any other. */
bool sbc_read_lend(struct scsi_task *task);
enum sense_reason sbc_write(struct scsi_task *task);
enum sense_reason sbc_sync_cache(struct scsi_task *task);
enum sense_reason sbc_verify(struct scsi_task *task);
enum sense_reason sbc_write_verify(struct scsi_task *task);
/* sbc_io.c, for the other block commands: one backend I/O of the current
 * step at the command's LBA or at a byte offset; a step's end that
 * finishes the task; the bytes of data-out to act on (whole blocks) and
 * the entries of data_iov holding the first len of them. */
void sbc_io_submit(struct scsi_task *task, enum backend_op op, const struct iovec *iov,
		   unsigned iovcnt, bool fua);
void sbc_io_submit_at(struct scsi_task *task, enum backend_op op, const struct iovec *iov,
		      unsigned iovcnt, uint64_t offset, bool fua);
/* The same over one flat buffer, and a deallocation of len bytes. */
void sbc_io_submit_buf(struct scsi_task *task, enum backend_op op, void *buf, uint32_t len,
		       uint64_t offset, bool fua);
void sbc_io_discard(struct scsi_task *task, uint64_t offset, uint64_t len);
void sbc_io_finish(struct scsi_task *task, int err);
/* SBC-3 6.4.4: with WCE cleared every write reaches the medium before
 * GOOD. sbc_write_fua adds the CDB's FUA bit (byte 1 bit 3 of every
 * write CDB longer than 6 bytes). */
bool sbc_write_through(const struct scsi_lu *lu);
/* A flat, page-aligned buffer of len bytes in task->verify_buf (freed
 * with the task), outside the chunk budget: for the medium's side of the
 * rare commands that read before they compare or write. */
enum sense_reason sbc_flat_buf(struct scsi_task *task, uint32_t len);
bool sbc_write_fua(const struct scsi_task *task);
uint32_t sbc_data_out_whole_blocks(const struct scsi_task *task);
unsigned sbc_data_prefix(struct scsi_task *task, uint32_t len);
/* sbc_atomic.c: OP_ASYNC handlers */
enum sense_reason sbc_compare_and_write(struct scsi_task *task);
enum sense_reason sbc_orwrite(struct scsi_task *task);
enum sense_reason sbc_write_atomic(struct scsi_task *task);
/* VPD B0h's MAXIMUM ATOMIC TRANSFER LENGTH: 0 where the store has no
 * atomic writes. */
uint32_t sbc_atomic_max_blocks(const struct scsi_lu *lu);
/* Whether lu's store writes atomically at all (the WRITE ATOMIC row's
 * `served`). */
bool sbc_lu_has_atomic_write(const struct scsi_lu *lu);
/* sbc_thin.c: OP_ASYNC handlers */
enum sense_reason sbc_unmap(struct scsi_task *task);
enum sense_reason sbc_get_lba_status(struct scsi_task *task);
/* sbc_sanitize.c: OP_ASYNC */
enum sense_reason sbc_sanitize(struct scsi_task *task);
/* sbc_write_same.c: OP_ASYNC */
enum sense_reason sbc_write_same(struct scsi_task *task);

#endif
