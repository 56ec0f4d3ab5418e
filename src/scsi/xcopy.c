/* EXTENDED COPY (LID1, SPC-4 6.3) and RECEIVE COPY RESULTS OPERATING
 * PARAMETERS (SPC-4 6.18.4).
 *
 * The copy resolves every CSCD the segments name to an LU of the task's
 * target that the I_T nexus sees (by its NAA designator, VPD 83h), holds
 * a reference to each, and checks every segment before it copies
 * anything. It then copies in steps of at most XCOPY_STEP_BYTES through
 * one buffer of that size: each step holds its destination blocks shared
 * in the destination LU's range lock (so it waits for a COMPARE AND
 * WRITE on them, as a write does), reads the source, writes the
 * destination and lets go. */
#include <stdlib.h>
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/task.h"
#include "scsi/xcopy.h"
#include "util/be.h"
#include "util/log.h"
#include "util/macros.h"

#define XCOPY_STEP_BYTES (1u << 20)

struct xcopy_state {
	struct scsi_task *task;
	struct xcopy_list list;
	struct scsi_lu *lus[XCOPY_MAX_CSCDS]; /* references; NULL where no segment names it */
	unsigned seg;                 /* the segment being copied */
	uint32_t seg_done;            /* its blocks copied so far */
	uint32_t step_blocks;         /* blocks of the step in flight */
	struct range_lock_req range;  /* on the destination LU while range_held */
	bool range_held;
	uint64_t bytes_done;          /* for COPY STATUS */
};

static void xcopy_unlock(struct xcopy_state *x)
{
	if (!x->range_held)
		return;
	x->range_held = false;
	range_lock_release(&x->lus[x->list.segments[x->seg].dst]->range_lock, &x->range);
}

void xcopy_task_release(struct scsi_task *task)
{
	struct xcopy_state *x = task->xcopy;
	if (!x)
		return;
	xcopy_unlock(x);
	for (unsigned i = 0; i < XCOPY_MAX_CSCDS; i++)
		scsi_lu_put(x->lus[i]);
	free(x);
	task->xcopy = NULL;
}

/* The LU of the task's target the nexus sees with c's designator. Inside
 * the handler's callback, where the LUN map is valid. */
static struct scsi_lu *xcopy_find_lu(struct scsi_task *task, const struct xcopy_cscd *c)
{
	enum { DESIG_NAA = 3 };
	if (c->desig_type != DESIG_NAA || c->desig_len != sizeof(task->lu->naa))
		return NULL;
	const struct scsi_lun_map *map = scsi_target_lun_map(task->nexus->target);
	for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++) {
		struct scsi_lu *lu = map->lus[lun];
		if (lu && scsi_nexus_initiator_lun(task->nexus, (uint16_t)lun) >= 0 &&
		    memcmp(lu->naa, c->desig, sizeof(lu->naa)) == 0)
			return scsi_lu_get(lu);
	}
	return NULL;
}

/* Resolves the CSCDs the segments name and checks each segment: same
 * block size on both sides, within both LUs, destination writable. */
static enum sense_reason xcopy_check(struct scsi_task *task, struct xcopy_state *x)
{
	for (unsigned i = 0; i < x->list.nsegments; i++) {
		const struct xcopy_segment *s = &x->list.segments[i];
		uint16_t idx[2] = { s->src, s->dst };
		for (unsigned k = 0; k < 2; k++) {
			if (!x->lus[idx[k]])
				x->lus[idx[k]] = xcopy_find_lu(task, &x->list.cscds[idx[k]]);
			if (!x->lus[idx[k]])
				return SENSE_COPY_TARGET_UNREACHABLE;
		}
		const struct scsi_lu *src = x->lus[s->src], *dst = x->lus[s->dst];
		/* SPC-4 6.3.7.5: the copy manager does not convert between
		 * block sizes; an LBA range beyond either LU aborts the copy. */
		if (src->block_size != dst->block_size ||
		    !scsi_lu_range_ok(src, s->src_lba, s->nblocks) ||
		    !scsi_lu_range_ok(dst, s->dst_lba, s->nblocks))
			return SENSE_COPY_TARGET_UNREACHABLE;
		if ((uint64_t)s->nblocks * src->block_size > XCOPY_MAX_SEGMENT_BYTES)
			return scsi_invalid_param_field(&task->detail,
							XCOPY_HEADER_LEN, -1);
		if (dst->readonly || scsi_lu_mode_has(dst, SCSI_MODE_SWP))
			return SENSE_WRITE_PROTECTED;
	}
	return SENSE_NONE;
}

static void xcopy_next(struct scsi_task *task);

/* SPC-4 6.3.1 table 106: LIST ID USAGE 00b asks the copy manager to hold
 * the results for RECEIVE COPY RESULTS. */
#define LIST_ID_USAGE_MASK 0x18
#define LIST_ID_USAGE_HOLD 0x00
#define COPY_STATUS_GOOD 0x00
#define COPY_STATUS_FAILED 0x01

static void xcopy_hold_result(struct scsi_task *task, enum sense_reason reason)
{
	struct xcopy_state *x = task->xcopy;
	if ((task->buf[1] & LIST_ID_USAGE_MASK) == LIST_ID_USAGE_HOLD) {
		task->nexus->copy_result = (struct scsi_copy_result){
			.held = true,
			.list_id = task->buf[0],
			.status = reason == SENSE_NONE ? COPY_STATUS_GOOD : COPY_STATUS_FAILED,
			.segments = (uint16_t)x->seg,
			.kib = (uint32_t)(x->bytes_done >> 10),
		};
	}
}

static void xcopy_finish(struct scsi_task *task, enum sense_reason reason)
{
	xcopy_hold_result(task, reason);
	scsi_task_finish(task, reason);
}

/* Moves past finished (and empty) segments; true when none is left. */
static bool xcopy_advance(struct xcopy_state *x)
{
	while (x->seg < x->list.nsegments && x->seg_done == x->list.segments[x->seg].nblocks) {
		x->seg++;
		x->seg_done = 0;
	}
	return x->seg == x->list.nsegments;
}

static void xcopy_written(struct scsi_task *task, int err)
{
	struct xcopy_state *x = task->xcopy;
	xcopy_unlock(x);
	if (err) {
		xcopy_finish(task, scsi_task_io_reason(task, err));
		return;
	}
	x->seg_done += x->step_blocks;
	x->bytes_done += (uint64_t)x->step_blocks * x->lus[x->list.segments[x->seg].dst]->block_size;
	xcopy_next(task);
}

static void xcopy_submit(struct scsi_task *task, struct scsi_lu *lu, enum backend_op op,
			 uint64_t lba, bool fua)
{
	struct xcopy_state *x = task->xcopy;
	struct backend_io *io = scsi_task_io_slot(task);
	io->op = op;
	io->fua = fua;
	io->offset = lba * lu->block_size;
	backend_io_set_buf(io, task->verify_buf, x->step_blocks * lu->block_size);
	backend_submit(lu->bs, task->loop, io);
}

static void xcopy_read(struct scsi_task *task, int err)
{
	struct xcopy_state *x = task->xcopy;
	if (err) {
		xcopy_unlock(x);
		xcopy_finish(task, scsi_task_io_reason(task, err));
		return;
	}
	const struct xcopy_segment *s = &x->list.segments[x->seg];
	struct scsi_lu *dst = x->lus[s->dst];
	scsi_task_io_step(task, xcopy_written);
	xcopy_submit(task, dst, BACKEND_WRITE, s->dst_lba + x->seg_done,
		     sbc_write_through(dst));
}

static void xcopy_locked(struct scsi_task *task)
{
	struct xcopy_state *x = task->xcopy;
	const struct xcopy_segment *s = &x->list.segments[x->seg];
	x->range_held = true;
	scsi_task_io_step(task, xcopy_read);
	xcopy_submit(task, x->lus[s->src], BACKEND_READ, s->src_lba + x->seg_done, false);
}

static void xcopy_granted(struct loop_msg *msg)
{
	struct xcopy_state *x = container_of(msg, struct xcopy_state, range.granted);
	struct scsi_task *task = x->task;
	x->range_held = true;
	/* An abort that came while the step waited ends it before any I/O. */
	if (task->aborted) {
		xcopy_unlock(x);
		scsi_task_finish(task, SENSE_TASK_ABORTED);
		return;
	}
	xcopy_locked(task);
}

/* Starts the next step: the rest of the segment, or the next segment. */
static void xcopy_next(struct scsi_task *task)
{
	struct xcopy_state *x = task->xcopy;
	if (xcopy_advance(x)) {
		xcopy_finish(task, SENSE_NONE);
		return;
	}
	const struct xcopy_segment *s = &x->list.segments[x->seg];
	struct scsi_lu *dst = x->lus[s->dst];
	x->step_blocks = min_u32(XCOPY_STEP_BYTES / dst->block_size, s->nblocks - x->seg_done);
	x->range = (struct range_lock_req){
		.lba = s->dst_lba + x->seg_done,
		.nblocks = x->step_blocks,
		.loop = task->loop,
	};
	x->range.granted.fn = xcopy_granted;
	if (range_lock_acquire(&dst->range_lock, &x->range))
		xcopy_locked(task);
}

/* SPC-4 6.3. A parameter list of length 0 copies nothing and is GOOD
 * (OP_EMPTY_IS_GOOD). */
enum sense_reason spc_extended_copy(struct scsi_task *task)
{
	uint32_t len = scsi_task_data_out_sent(task);
	if (len < task->xfer_len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	struct xcopy_state *x = calloc(1, sizeof(*x));
	if (!x) {
		log_error("scsi: LUN %u %s: out of memory", task->lu->lun, task->op->name);
		return SENSE_INTERNAL_TARGET_FAILURE;
	}
	x->task = task;
	task->xcopy = x;
	enum sense_reason r = xcopy_parse(task->buf, len, &x->list, &task->detail);
	if (r == SENSE_NONE)
		r = xcopy_check(task, x);
	if (r != SENSE_NONE)
		return r;
	/* A list with no blocks to copy completes on the next loop turn: a
	 * handler must not complete its task before it returns. */
	if (xcopy_advance(x)) {
		xcopy_hold_result(task, SENSE_NONE);
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	r = sbc_flat_buf(task, XCOPY_STEP_BYTES);
	if (r != SENSE_NONE)
		return r;
	xcopy_next(task);
	return SENSE_NONE;
}

/* SPC-4 6.18.3: the held results of the copy with this LIST IDENTIFIER;
 * one it does not know is an invalid field. */
enum sense_reason spc_receive_copy_status(struct scsi_task *task)
{
	const struct scsi_copy_result *c = &task->nexus->copy_result;
	if (!c->held || c->list_id != task->cdb[2])
		return scsi_invalid_cdb_field(&task->detail, 2, -1);
	uint8_t r[XCOPY_COPY_STATUS_LEN] = { 0 };
	be32_put(r, XCOPY_COPY_STATUS_LEN - 4);
	r[4] = c->status;
	be16_put(r + 5, c->segments);
	r[7] = 0x01; /* TRANSFER COUNT UNITS: kibibytes */
	be32_put(r + 8, c->kib);
	scsi_task_reply(task, r, sizeof(r));
	return SENSE_NONE;
}

/* SPC-4 6.18.4 */
enum sense_reason spc_receive_copy_op_params(struct scsi_task *task)
{
	uint8_t r[XCOPY_OP_PARAMS_LEN] = { 0 };
	be32_put(r, XCOPY_OP_PARAMS_LEN - 4);
	r[4] = 0x01; /* SNLID: no list identifier is kept (LID1 results are not held) */
	be16_put(r + 8, XCOPY_MAX_CSCDS);
	be16_put(r + 10, XCOPY_MAX_SEGMENTS);
	be32_put(r + 12, XCOPY_MAX_DESC_LIST);
	be32_put(r + 16, XCOPY_MAX_SEGMENT_BYTES);
	/* MAXIMUM INLINE DATA LENGTH, HELD DATA LIMIT, MAXIMUM STREAM DEVICE
	 * TRANSFER SIZE and the concurrent copies (no results are held): 0. */
	r[37] = 9; /* DATA SEGMENT GRANULARITY: 512 bytes */
	r[43] = 2; /* IMPLEMENTED DESCRIPTOR LIST LENGTH */
	r[44] = XCOPY_SEG_B2B;
	r[45] = XCOPY_CSCD_ID;
	scsi_task_reply(task, r, sizeof(r));
	return SENSE_NONE;
}

/* SPC-4 7.8.17: the Supported Commands, Parameter Data and Supported
 * Descriptors third-party copy descriptors, each padded to 4 bytes. */
size_t xcopy_vpd_third_party_copy(uint8_t *p)
{
	static const uint8_t commands[] = {
		0x83, 1, 0x00, /* EXTENDED COPY (LID1) */
		0x84, 2, 0x00, 0x03, /* RECEIVE COPY RESULTS: COPY STATUS, OPERATING PARAMETERS */
	};
	static const uint8_t descriptors[] = { XCOPY_SEG_B2B, XCOPY_CSCD_ID };
	memset(p, 0, XCOPY_VPD_MAX);
	size_t len = 0;

	be16_put(p + len, 0x0001);
	be16_put(p + len + 2, 8);
	p[len + 4] = sizeof(commands);
	memcpy(p + len + 5, commands, sizeof(commands));
	len += 12;

	be16_put(p + len, 0x0004);
	be16_put(p + len + 2, 0x1C);
	be16_put(p + len + 8, XCOPY_MAX_CSCDS);
	be16_put(p + len + 10, XCOPY_MAX_SEGMENTS);
	be32_put(p + len + 12, XCOPY_MAX_DESC_LIST);
	len += 32;

	be16_put(p + len, 0x0008);
	be16_put(p + len + 2, 4);
	p[len + 4] = sizeof(descriptors);
	memcpy(p + len + 5, descriptors, sizeof(descriptors));
	len += 8;
	return len;
}
