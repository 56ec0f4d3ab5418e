#include <stdlib.h>
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/task.h"
#include "util/log.h"

#define FUA_BIT 0x08 /* byte 1 of READ/WRITE(10, 12, 16); SBC-3 5.x */

/* The one place that fills a backend_io: a slot of the task's current
 * step, at the command's LBA. */
static void io_submit(struct scsi_task *task, enum backend_op op, void *buf, uint32_t len,
		      bool fua)
{
	struct backend_io *io = scsi_task_io_slot(task);
	if (!io)
		return;
	io->op = op;
	io->fua = fua;
	io->offset = task->lba * task->lu->block_size;
	backend_io_set_buf(io, buf, len);
	backend_submit(task->lu->bs, task->loop, io);
}

static void io_finish(struct scsi_task *task, int err)
{
	scsi_task_finish(task, scsi_task_io_reason(task, err));
}

static void read_done(struct scsi_task *task, int err)
{
	if (!err)
		task->data_len = task->xfer_len;
	io_finish(task, err);
}

/* Page-cache and O_DIRECT reads both see every completed write, so a read
 * with FUA needs no flush first (SBC-3 5.8). */
enum sense_reason sbc_read(struct scsi_task *task)
{
	scsi_task_io_step(task, read_done);
	io_submit(task, BACKEND_READ, task->buf, task->xfer_len, false);
	return SENSE_NONE;
}

/* Bytes of data-out to act on: when the transport delivered less than the
 * CDB asks for (iSCSI EDTL below the transfer length, RFC 7143 §11.4.5),
 * only the whole blocks that arrived, so no block gets unsent bytes. */
static uint32_t data_out_whole_blocks(const struct scsi_task *task)
{
	uint32_t len = task->data_out_len < task->xfer_len ? task->data_out_len : task->xfer_len;
	return len - len % task->lu->block_size;
}

enum sense_reason sbc_write(struct scsi_task *task)
{
	/* WRITE(6) has no FUA bit: byte 1 holds LBA bits there. With WCE
	 * cleared (SBC-3 6.4.4) every write must reach the medium before GOOD. */
	bool fua = (task->op->cdb_len > 6 && (task->cdb[1] & FUA_BIT)) ||
		   !scsi_lu_mode_has(task->lu, SCSI_MODE_WCE);
	uint32_t len = data_out_whole_blocks(task);
	if (len == 0) {
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	scsi_task_io_step(task, io_finish);
	io_submit(task, BACKEND_WRITE, task->buf, len, fua);
	return SENSE_NONE;
}

/* SBC-3 5.22: the backend flushes the whole store, which covers any range;
 * the range was checked against the capacity in prepare. IMMED is met by
 * answering after the flush. */
enum sense_reason sbc_sync_cache(struct scsi_task *task)
{
	scsi_task_io_step(task, io_finish);
	io_submit(task, BACKEND_FLUSH, NULL, 0, false);
	return SENSE_NONE;
}

/* The medium's blocks were read into verify_buf: compare them with the
 * len bytes of data-out they should equal. */
static void verify_compare(struct scsi_task *task, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		if (task->buf[i] != task->verify_buf[i]) {
			/* SBC-3 5.31: INFORMATION holds the offset of the first
			 * byte that differs, from the start of data-out. */
			task->detail.info_valid = true;
			task->detail.info = i;
			scsi_task_finish(task, SENSE_MISCOMPARE);
			return;
		}
	}
	scsi_task_finish(task, SENSE_NONE);
}

static enum sense_reason verify_alloc(struct scsi_task *task, uint32_t len)
{
	void *buf;
	if (posix_memalign(&buf, 4096, len) != 0) {
		log_error("scsi: LUN %u %s: cannot allocate %u bytes", task->lu->lun,
			  task->op->name, len);
		return SENSE_INTERNAL_TARGET_FAILURE;
	}
	task->verify_buf = buf;
	return SENSE_NONE;
}

static void verify_read(struct scsi_task *task, int err)
{
	if (err)
		io_finish(task, err);
	else
		verify_compare(task, task->xfer_len);
}

/* Only BYTCHK 01b gets here with data (BYTCHK 00b moves none and completes
 * after the range check): compare data-out with the medium. */
enum sense_reason sbc_verify(struct scsi_task *task)
{
	enum sense_reason r = verify_alloc(task, task->xfer_len);
	if (r != SENSE_NONE)
		return r;
	scsi_task_io_step(task, verify_read);
	io_submit(task, BACKEND_READ, task->verify_buf, task->xfer_len, false);
	return SENSE_NONE;
}

static void write_verify_read(struct scsi_task *task, int err)
{
	if (err)
		io_finish(task, err);
	else
		verify_compare(task, data_out_whole_blocks(task));
}

static void write_verify_written(struct scsi_task *task, int err)
{
	if (err) {
		io_finish(task, err);
		return;
	}
	scsi_task_io_step(task, write_verify_read);
	io_submit(task, BACKEND_READ, task->verify_buf, data_out_whole_blocks(task), false);
}

/* SBC-3 WRITE AND VERIFY (10), (12), (16): the write goes out with FUA so the
 * read-back sees the medium, not a cache in front of it; both BYTCHK 00b
 * (verify the medium) and 01b (compare with data-out) are then met by
 * comparing what was read back with what was sent. */
enum sense_reason sbc_write_verify(struct scsi_task *task)
{
	uint32_t len = data_out_whole_blocks(task);
	if (len == 0) {
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	enum sense_reason r = verify_alloc(task, len);
	if (r != SENSE_NONE)
		return r;
	scsi_task_io_step(task, write_verify_written);
	io_submit(task, BACKEND_WRITE, task->buf, len, true);
	return SENSE_NONE;
}
