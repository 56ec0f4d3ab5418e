#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/task.h"
#include "util/log.h"
#include "util/macros.h"

#define FUA_BIT 0x08 /* byte 1 of READ/WRITE(10, 12, 16); SBC-3 5.x */

static struct scsi_task *io_task(struct backend_io *io)
{
	return container_of(io, struct scsi_task, io);
}

/* The backend reports -errno; the initiator sees a sense reason. */
static enum sense_reason io_reason(const struct scsi_task *task, int err)
{
	switch (err) {
	case 0:
		return SENSE_NONE;
	case -EROFS:
	case -EPERM:
	case -EACCES:
		return SENSE_WRITE_PROTECTED;
	case -ENOSPC:
	case -EDQUOT:
		return SENSE_SPACE_ALLOC_FAILED;
	case -EIO:
	case -ENODATA:
		return task->io.op == BACKEND_READ ? SENSE_READ_ERROR : SENSE_WRITE_ERROR;
	default:
		return SENSE_INTERNAL_TARGET_FAILURE;
	}
}

static void io_log_error(const struct scsi_task *task, int err)
{
	log_error("scsi: LUN %u %s LBA %llu, %u blocks: %s", task->lu->lun, task->op->name,
		  (unsigned long long)task->lba, task->nblocks, strerror(-err));
}

static void io_submit(struct scsi_task *task, enum backend_op op, void *buf, uint32_t len,
		      bool fua, void (*done)(struct backend_io *, int))
{
	struct backend_io *io = &task->io;
	memset(io, 0, sizeof(*io));
	io->op = op;
	io->fua = fua;
	io->offset = task->lba * task->lu->block_size;
	backend_io_set_buf(io, buf, len);
	io->done = done;
	backend_submit(task->lu->bs, task->loop, io);
}

static void io_done(struct backend_io *io, int err)
{
	struct scsi_task *task = io_task(io);
	if (err)
		io_log_error(task, err);
	else if (io->op == BACKEND_READ)
		task->data_len = task->xfer_len;
	scsi_task_finish(task, io_reason(task, err));
}

/* Page-cache and O_DIRECT reads both see every completed write, so a read
 * with FUA needs no flush first (SBC-3 5.8). */
enum sense_reason sbc_read(struct scsi_task *task)
{
	io_submit(task, BACKEND_READ, task->buf, task->xfer_len, false, io_done);
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
	io_submit(task, BACKEND_WRITE, task->buf, len, fua, io_done);
	return SENSE_NONE;
}

/* SBC-3 5.22: the backend flushes the whole store, which covers any range;
 * the range was checked against the capacity in prepare. IMMED is met by
 * answering after the flush. */
enum sense_reason sbc_sync_cache(struct scsi_task *task)
{
	io_submit(task, BACKEND_FLUSH, NULL, 0, false, io_done);
	return SENSE_NONE;
}

/* The medium's blocks were read into verify_buf: compare them with the
 * io->len bytes of data-out they should equal. */
static void verify_done(struct backend_io *io, int err)
{
	struct scsi_task *task = io_task(io);
	if (err) {
		io_log_error(task, err);
		scsi_task_finish(task, io_reason(task, err));
		return;
	}
	for (uint32_t i = 0; i < io->len; i++) {
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

/* Only BYTCHK 01b gets here with data (BYTCHK 00b moves none and completes
 * after the range check): compare data-out with the medium. */
enum sense_reason sbc_verify(struct scsi_task *task)
{
	enum sense_reason r = verify_alloc(task, task->xfer_len);
	if (r != SENSE_NONE)
		return r;
	io_submit(task, BACKEND_READ, task->verify_buf, task->xfer_len, false, verify_done);
	return SENSE_NONE;
}

static void write_verify_written(struct backend_io *io, int err)
{
	struct scsi_task *task = io_task(io);
	if (err) {
		io_log_error(task, err);
		scsi_task_finish(task, io_reason(task, err));
		return;
	}
	io_submit(task, BACKEND_READ, task->verify_buf, io->len, false, verify_done);
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
	io_submit(task, BACKEND_WRITE, task->buf, len, true, write_verify_written);
	return SENSE_NONE;
}
