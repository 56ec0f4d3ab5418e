#include <stdlib.h>
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/task.h"
#include "util/iov.h"
#include "util/log.h"

/* byte 1 of every write CDB but WRITE(6), whose byte 1 holds LBA bits */
#define FUA_BIT 0x08

/* The one place that fills a backend_io: a slot of the task's current
 * step, at byte offset of the store, over iovcnt entries of iov (none for
 * a flush). */
void sbc_io_submit_at(struct scsi_task *task, enum backend_op op, const struct iovec *iov,
		      unsigned iovcnt, uint64_t offset, bool fua)
{
	struct backend_io *io = scsi_task_io_slot(task);
	if (!io)
		return;
	io->op = op;
	io->fua = fua;
	io->offset = offset;
	io->iov = iov;
	io->iovcnt = iovcnt;
	backend_submit(task->lu->bs, task->loop, io);
}

void sbc_io_submit(struct scsi_task *task, enum backend_op op, const struct iovec *iov,
		   unsigned iovcnt, bool fua)
{
	sbc_io_submit_at(task, op, iov, iovcnt, task->lba * task->lu->block_size, fua);
}

void sbc_io_submit_buf(struct scsi_task *task, enum backend_op op, void *buf, uint32_t len,
		       uint64_t offset, bool fua)
{
	struct backend_io *io = scsi_task_io_slot(task);
	if (!io)
		return;
	io->op = op;
	io->fua = fua;
	io->offset = offset;
	backend_io_set_buf(io, buf, len);
	backend_submit(task->lu->bs, task->loop, io);
}

void sbc_io_discard(struct scsi_task *task, uint64_t offset, uint64_t len)
{
	struct backend_io *io = scsi_task_io_slot(task);
	if (!io)
		return;
	io->op = BACKEND_DISCARD;
	io->offset = offset;
	io->discard_len = len;
	backend_submit(task->lu->bs, task->loop, io);
}

bool sbc_write_through(const struct scsi_lu *lu)
{
	return !scsi_lu_mode_has(lu, SCSI_MODE_WCE);
}

bool sbc_write_fua(const struct scsi_task *task)
{
	return (task->op->cdb_len > 6 && (task->cdb[1] & FUA_BIT)) || sbc_write_through(task->lu);
}

/* The entries of data_iov that hold the first len bytes of data, the
 * last one trimmed to end there: a write acts on whole blocks only, and
 * nothing reads the bytes past them again. */
unsigned sbc_data_prefix(struct scsi_task *task, uint32_t len)
{
	unsigned n = 0;
	for (uint32_t at = 0; at < len && n < task->data_iovcnt; n++) {
		struct iovec *v = &task->data_iov[n];
		if (v->iov_len > len - at)
			v->iov_len = len - at;
		at += (uint32_t)v->iov_len;
	}
	return n;
}

void sbc_io_finish(struct scsi_task *task, int err)
{
	scsi_task_finish(task, scsi_task_io_reason(task, err));
}

static void read_done(struct scsi_task *task, int err)
{
	if (!err)
		task->data_len = task->xfer_len;
	sbc_io_finish(task, err);
}

bool sbc_read_lend(struct scsi_task *task)
{
	if (!task->data_in_lendable || task->op->handler != sbc_read)
		return false;
	void *at = backend_lend(task->lu->bs, task->lba * task->lu->block_size, task->xfer_len);
	if (!at)
		return false;
	task->data_chunked = false;
	task->data_lent = true;
	task->data_iov[0] = (struct iovec){ at, task->xfer_len };
	task->data_iovcnt = 1;
	return true;
}

/* Page-cache and O_DIRECT reads both see every completed write, so a read
 * with FUA needs no flush first (SBC-3 5.8). The chunks were taken when
 * the task started (task.c), unless the store lent its memory then
 * (sbc_read_lend): the data is sent from there, copied once, into the
 * socket. What it returns is what the blocks hold when that copy is made,
 * later than now but before the initiator can see the command complete
 * (its status follows the data on the connection), which SAM-5 allows a
 * SIMPLE command; the transport holds back an ORDERED one until the copy
 * is made (data_in_lendable). */
enum sense_reason sbc_read(struct scsi_task *task)
{
	if (task->data_lent) {
		task->data_len = task->xfer_len;
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	scsi_task_io_step(task, read_done);
	sbc_io_submit(task, BACKEND_READ, task->data_iov, task->data_iovcnt, false);
	return SENSE_NONE;
}

/* Bytes of data-out to act on: only the whole blocks that arrived, so no
 * block gets unsent bytes. */
uint32_t sbc_data_out_whole_blocks(const struct scsi_task *task)
{
	uint32_t len = scsi_task_data_out_sent(task);
	return len - len % task->lu->block_size;
}

static void write_locked(struct scsi_task *task)
{
	scsi_task_io_step(task, sbc_io_finish);
	sbc_io_submit(task, BACKEND_WRITE, task->data_iov,
		  sbc_data_prefix(task, sbc_data_out_whole_blocks(task)), sbc_write_fua(task));
}

/* A write waits for any COMPARE AND WRITE on its blocks (SBC-4 5.3). */
enum sense_reason sbc_write(struct scsi_task *task)
{
	if (sbc_data_out_whole_blocks(task) == 0) {
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	scsi_task_range_lock(task, false, write_locked);
	return SENSE_NONE;
}

/* SBC-3 5.22: the backend flushes the whole store, which covers any range;
 * the range was checked against the capacity in prepare. IMMED is met by
 * answering after the flush. */
enum sense_reason sbc_sync_cache(struct scsi_task *task)
{
	scsi_task_io_step(task, sbc_io_finish);
	sbc_io_submit(task, BACKEND_FLUSH, NULL, 0, false);
	return SENSE_NONE;
}

/* The medium's blocks were read into verify_buf: compare them with the
 * len bytes of data-out (in its chunks) they should equal. */
static void verify_compare(struct scsi_task *task, uint32_t len)
{
	size_t at = iov_mismatch(task->data_iov, task->data_iovcnt, task->verify_buf, len);
	if (at < len) {
		/* SBC-3 5.31: INFORMATION holds the offset of the first byte
		 * that differs, from the start of data-out. */
		task->detail.info_valid = true;
		task->detail.info = at;
		scsi_task_finish(task, SENSE_MISCOMPARE);
		return;
	}
	scsi_task_finish(task, SENSE_NONE);
}

enum sense_reason sbc_flat_buf(struct scsi_task *task, uint32_t len)
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
		sbc_io_finish(task, err);
	else
		verify_compare(task, scsi_task_data_out_sent(task));
}

/* Only BYTCHK 01b gets here with data (BYTCHK 00b moves none and completes
 * after the range check): compare the data-out the initiator sent with
 * the medium. */
enum sense_reason sbc_verify(struct scsi_task *task)
{
	enum sense_reason r = sbc_flat_buf(task, task->xfer_len);
	if (r != SENSE_NONE)
		return r;
	task->verify_iov = (struct iovec){ task->verify_buf, task->xfer_len };
	scsi_task_io_step(task, verify_read);
	sbc_io_submit(task, BACKEND_READ, &task->verify_iov, 1, false);
	return SENSE_NONE;
}

static void write_verify_read(struct scsi_task *task, int err)
{
	if (err)
		sbc_io_finish(task, err);
	else
		verify_compare(task, sbc_data_out_whole_blocks(task));
}

static void write_verify_written(struct scsi_task *task, int err)
{
	if (err) {
		sbc_io_finish(task, err);
		return;
	}
	task->verify_iov = (struct iovec){ task->verify_buf, sbc_data_out_whole_blocks(task) };
	scsi_task_io_step(task, write_verify_read);
	sbc_io_submit(task, BACKEND_READ, &task->verify_iov, 1, false);
}

/* SBC-3 WRITE AND VERIFY (10), (12), (16): the write goes out with FUA so the
 * read-back sees the medium, not a cache in front of it; both BYTCHK 00b
 * (verify the medium) and 01b (compare with data-out) are then met by
 * comparing what was read back with what was sent. */
static void write_verify_locked(struct scsi_task *task)
{
	scsi_task_io_step(task, write_verify_written);
	sbc_io_submit(task, BACKEND_WRITE, task->data_iov,
		  sbc_data_prefix(task, sbc_data_out_whole_blocks(task)), true);
}

enum sense_reason sbc_write_verify(struct scsi_task *task)
{
	uint32_t len = sbc_data_out_whole_blocks(task);
	if (len == 0) {
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	enum sense_reason r = sbc_flat_buf(task, len);
	if (r != SENSE_NONE)
		return r;
	scsi_task_range_lock(task, false, write_verify_locked);
	return SENSE_NONE;
}
