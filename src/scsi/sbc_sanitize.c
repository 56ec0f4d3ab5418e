/* SANITIZE (SBC-4 5.30): OVERWRITE writes a pattern over every block,
 * count times; BLOCK ERASE deallocates the whole medium of a thin LU in
 * one DISCARD; EXIT FAILURE MODE leaves the failure an OVERWRITE with
 * AUSE 1 left behind. CRYPTOGRAPHIC ERASE has no row: no store encrypts.
 *
 * An OVERWRITE outlives its command: SBC-4 4.11 wants it to go on through
 * aborts, resets and logouts, while every other command but INQUIRY,
 * REPORT LUNS and REQUEST SENSE gets NOT READY, SANITIZE IN PROGRESS. So
 * the LU owns it (struct sanitize_run, on the loop of the command that
 * started it, with a reference to the LU): the command only waits for it
 * and, when aborted, completes as aborted at the next step while the
 * overwrite goes on. The run holds the whole medium exclusively in the
 * range lock, so writes that were in flight when it started land first. */
#include <stdlib.h>
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/rod_token.h"
#include "scsi/sbc_sanitize.h"
#include "scsi/sbc_thin.h"
#include "scsi/task.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/macros.h"

/* The CDB's PARAMETER LIST LENGTH field (byte 7). */
#define SANITIZE_PARAM_LEN_BYTE 7

static enum sense_reason sanitize_writable(const struct scsi_lu *lu)
{
	if (lu->readonly)
		return SENSE_WRITE_PROTECTED;
	if (scsi_lu_mode_has(lu, SCSI_MODE_SWP))
		return SENSE_SOFTWARE_WRITE_PROTECTED;
	return SENSE_NONE;
}

static void block_erase_submit(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	scsi_task_io_step(task, sbc_io_finish);
	sbc_io_discard(task, 0, lu->nblocks * lu->block_size);
}

/* SBC-4 5.30.3.3: on a thin LU every block is deallocated, and reads as
 * zeros (LBPRZ); a fully provisioned LU has no block erase (the row's
 * `served`). */
static enum sense_reason sanitize_block_erase(struct scsi_task *task)
{
	if (task->xfer_len)
		return scsi_invalid_cdb_field(&task->detail, SANITIZE_PARAM_LEN_BYTE, -1);
	enum sense_reason r = sanitize_writable(task->lu);
	if (r != SENSE_NONE)
		return r;
	scsi_task_range_lock_span(task, 0, task->lu->nblocks, true, block_erase_submit);
	return SENSE_NONE;
}

/* SBC-4 5.30.3.5: no parameter list. After a failed sanitize it is
 * served only if that one had AUSE 1. */
static enum sense_reason sanitize_exit_failure_mode(struct scsi_task *task)
{
	if (task->xfer_len)
		return scsi_invalid_cdb_field(&task->detail, SANITIZE_PARAM_LEN_BYTE, -1);
	int failed = SBC_SANITIZE_FAILED_AUSE;
	if (!atomic_compare_exchange_strong(&task->lu->sanitize, &failed, SBC_SANITIZE_IDLE) &&
	    failed == SBC_SANITIZE_FAILED)
		return scsi_invalid_cdb_field(&task->detail, OP_SA_BYTE, 4);
	scsi_task_finish_later(task, SENSE_NONE);
	return SENSE_NONE;
}

/* SBC-4 5.30.2.2: the OVERWRITE parameter list. */
#define OW_INVERT 0x80
#define OW_TEST 0x60
#define OW_COUNT 0x1F
#define OW_HDR 4

struct sanitize_run {
	struct scsi_lu *lu;        /* a reference, for as long as the run */
	struct loop *loop;         /* everything below runs here */
	struct scsi_task *task;    /* the SANITIZE command, until it completes */
	bool ause;
	bool invert;
	unsigned passes, pass;
	uint64_t at, end;          /* bytes of the current pass */
	uint64_t start_ns, written;
	uint8_t *buf;              /* SBC_SANITIZE_STEP bytes: the pattern, block after block */
	struct range_lock_req range;
	struct backend_io io;
	struct loop_op timer;
	struct __kernel_timespec timer_ts;
};

static void run_next(struct sanitize_run *run);

/* Each block holds the pattern from its first byte on, repeated (SBC-4
 * 5.30.2.2); INVERT flips every bit on every other pass. */
static void run_fill(struct sanitize_run *run, const uint8_t *pattern, uint32_t len)
{
	uint32_t bs = run->lu->block_size;
	for (uint32_t b = 0; b < bs; b++)
		run->buf[b] = pattern[b % len];
	for (uint32_t at = bs; at < SBC_SANITIZE_STEP; at += bs)
		memcpy(run->buf + at, run->buf, bs);
}

static void run_invert(struct sanitize_run *run)
{
	for (uint32_t i = 0; i < SBC_SANITIZE_STEP; i++)
		run->buf[i] ^= 0xFF;
}

static void run_end(struct sanitize_run *run, int err)
{
	struct scsi_lu *lu = run->lu;
	range_lock_release(&lu->range_lock, &run->range);
	if (err)
		log_error("scsi: LUN %u: SANITIZE OVERWRITE failed in pass %u at byte %llu: %s", lu->lun,
			  run->pass + 1, (unsigned long long)run->at, strerror(-err));
	atomic_store(&lu->sanitize, !err ? SBC_SANITIZE_IDLE
				    : run->ause ? SBC_SANITIZE_FAILED_AUSE : SBC_SANITIZE_FAILED);
	if (run->task)
		scsi_task_finish(run->task, err ? SENSE_SANITIZE_FAILED : SENSE_NONE);
	scsi_lu_put(lu);
	free(run->buf);
	free(run);
}

static void run_io_done(struct backend_io *io, int err)
{
	struct sanitize_run *run = container_of(io, struct sanitize_run, io);
	if (err) {
		run_end(run, err);
		return;
	}
	if (io->op == BACKEND_FLUSH) {
		run->pass++;
		run->at = 0;
		if (run->invert)
			run_invert(run);
	} else {
		run->at += io->len;
		run->written += io->len;
	}
	run_next(run);
}

/* For REQUEST SENSE: the share of all passes' bytes written. */
static void run_progress(struct sanitize_run *run)
{
	double total = (double)run->passes * (double)run->end;
	double done = (double)run->pass * (double)run->end + (double)run->at;
	uint32_t p = total > 0 ? (uint32_t)(done / total * 65536.0) : 0;
	atomic_store_explicit(&run->lu->sanitize_progress, min_u32(p, 65535), memory_order_relaxed);
}

static void run_timer_done(struct loop_op *op, int res)
{
	(void)res; /* -ETIME: the pause is over */
	run_next(container_of(op, struct sanitize_run, timer));
}

/* With a rate, the bytes written so far may not run ahead of it. */
static bool run_pace(struct sanitize_run *run)
{
	uint64_t rate = run->lu->sanitize_rate;
	if (!rate)
		return false;
	uint64_t due = run->start_ns + (uint64_t)((double)run->written * CLOCK_NS_PER_S / (double)rate);
	uint64_t now = clock_now_ns();
	if (due <= now)
		return false;
	run->timer_ts.tv_sec = (long long)((due - now) / CLOCK_NS_PER_S);
	run->timer_ts.tv_nsec = (long long)((due - now) % CLOCK_NS_PER_S);
	struct io_uring_sqe *sqe = loop_get_sqe(run->loop);
	io_uring_prep_timeout(sqe, &run->timer_ts, 0, 0);
	run->timer.cb = run_timer_done;
	loop_sqe_set_op(sqe, &run->timer);
	return true;
}

static void run_submit(struct sanitize_run *run, enum backend_op op)
{
	struct backend_io *io = &run->io;
	memset(io, 0, sizeof(*io));
	io->op = op;
	io->offset = run->at;
	io->done = run_io_done;
	if (op == BACKEND_WRITE)
		backend_io_set_buf(io, run->buf, (uint32_t)min_u64(SBC_SANITIZE_STEP, run->end - run->at));
	backend_submit(run->lu->bs, run->loop, io);
}

/* One step: a write, the flush that ends a pass, or the end. The command
 * learns here that it was aborted (a reset, a logout): it completes, and
 * the overwrite goes on. */
static void run_next(struct sanitize_run *run)
{
	if (run->task && run->task->aborted) {
		scsi_task_finish(run->task, SENSE_TASK_ABORTED);
		run->task = NULL;
	}
	if (run->pass == run->passes) {
		run_end(run, 0);
		return;
	}
	run_progress(run);
	if (run->at == run->end) {
		/* A pass is over once it is on the medium (SBC-4 4.11.1). */
		run_submit(run, BACKEND_FLUSH);
		return;
	}
	if (run_pace(run))
		return;
	run_submit(run, BACKEND_WRITE);
}

static void run_start(struct sanitize_run *run)
{
	/* Every block is about to be overwritten: ROD tokens over them are
	 * cancelled, as by any write holding its blocks (rod_token.h). */
	rod_token_note_write_fast(run->lu, 0, run->range.nblocks);
	run->end = atomic_load(&run->lu->nblocks) * run->lu->block_size;
	run->start_ns = clock_now_ns();
	run_next(run);
}

static void run_granted(struct loop_msg *msg)
{
	run_start(container_of(msg, struct sanitize_run, range.granted));
}

/* SBC-4 5.30.2.2: PARAMETER LIST LENGTH is the 4-byte header and a
 * pattern of 1 to one block's bytes. */
static enum sense_reason overwrite_decode(struct scsi_task *task, const uint8_t **pattern, uint32_t *len)
{
	uint32_t bs = task->lu->block_size;
	if (task->xfer_len <= OW_HDR || task->xfer_len > bs + OW_HDR)
		return scsi_invalid_cdb_field(&task->detail, SANITIZE_PARAM_LEN_BYTE, -1);
	if (scsi_task_data_out_sent(task) != task->xfer_len)
		return scsi_invalid_cdb_field(&task->detail, SANITIZE_PARAM_LEN_BYTE, -1);
	const uint8_t *p = task->buf;
	/* TEST is for vendor tests of the failure handling: none here. */
	if (p[0] & OW_TEST)
		return scsi_invalid_param_field(&task->detail, 0, 6);
	if ((p[0] & OW_COUNT) == 0)
		return scsi_invalid_param_field(&task->detail, 0, 4);
	uint32_t plen = (uint32_t)p[2] << 8 | p[3];
	if (plen == 0 || plen > bs || plen > task->xfer_len - OW_HDR)
		return scsi_invalid_param_field(&task->detail, 2, -1);
	*pattern = p + OW_HDR;
	*len = plen;
	return SENSE_NONE;
}

static enum sense_reason sanitize_overwrite(struct scsi_task *task)
{
	const uint8_t *pattern = NULL;
	uint32_t plen = 0;
	enum sense_reason r = overwrite_decode(task, &pattern, &plen);
	if (r == SENSE_NONE)
		r = sanitize_writable(task->lu);
	if (r != SENSE_NONE)
		return r;
	struct scsi_lu *lu = task->lu;
	struct sanitize_run *run = calloc(1, sizeof(*run));
	if (!run || posix_memalign((void **)&run->buf, 4096, SBC_SANITIZE_STEP)) {
		free(run);
		log_error("scsi: LUN %u: no memory for SANITIZE OVERWRITE", lu->lun);
		return SENSE_INTERNAL_TARGET_FAILURE;
	}
	/* The one place a sanitize starts: a second one (from another
	 * thread, past the check in task.c) finds it running. */
	int was = atomic_load(&lu->sanitize);
	do {
		if (was == SBC_SANITIZE_RUNNING) {
			free(run->buf);
			free(run);
			return SENSE_SANITIZE_IN_PROGRESS;
		}
	} while (!atomic_compare_exchange_weak(&lu->sanitize, &was, SBC_SANITIZE_RUNNING));
	atomic_store(&lu->sanitize_progress, 0);
	run->lu = scsi_lu_get(lu);
	run->loop = task->loop;
	run->task = task;
	run->ause = task->cdb[1] & 0x20;
	run->invert = task->buf[0] & OW_INVERT;
	run->passes = task->buf[0] & OW_COUNT;
	run_fill(run, pattern, plen);
	run->range = (struct range_lock_req){
		.lba = 0,
		.nblocks = atomic_load(&lu->nblocks),
		.exclusive = true,
		.loop = task->loop,
	};
	run->range.granted.fn = run_granted;
	if (range_lock_acquire(&lu->range_lock, &run->range))
		run_start(run);
	return SENSE_NONE;
}

enum sense_reason sbc_sanitize(struct scsi_task *task)
{
	switch (task->op->service_action) {
	case SBC_SANITIZE_OVERWRITE:
		return sanitize_overwrite(task);
	case SBC_SANITIZE_BLOCK_ERASE:
		return sanitize_block_erase(task);
	default:
		return sanitize_exit_failure_mode(task);
	}
}

enum sense_reason sbc_sanitize_check(const struct scsi_lu *lu, const struct scsi_opdef *op)
{
	switch (atomic_load_explicit(&lu->sanitize, memory_order_acquire)) {
	case SBC_SANITIZE_RUNNING:
		return SENSE_SANITIZE_IN_PROGRESS;
	case SBC_SANITIZE_FAILED:
	case SBC_SANITIZE_FAILED_AUSE:
		/* SBC-4 4.11.3: a new SANITIZE may start over a failed one. */
		return op->opcode == 0x48 ? SENSE_NONE : SENSE_SANITIZE_FAILED;
	default:
		return SENSE_NONE;
	}
}

enum sense_reason sbc_sanitize_sense(const struct scsi_lu *lu, struct scsi_sense_detail *detail)
{
	switch (atomic_load_explicit(&lu->sanitize, memory_order_acquire)) {
	case SBC_SANITIZE_RUNNING:
		detail->progress_valid = true;
		detail->progress = (uint16_t)atomic_load_explicit(&lu->sanitize_progress, memory_order_relaxed);
		return SENSE_SANITIZE_IN_PROGRESS;
	case SBC_SANITIZE_FAILED:
	case SBC_SANITIZE_FAILED_AUSE:
		return SENSE_SANITIZE_FAILED;
	default:
		return SENSE_NONE;
	}
}
