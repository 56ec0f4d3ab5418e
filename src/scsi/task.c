#include "scsi/task.h"

#include <stdlib.h>
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/nexus.h"
#include "scsi/opcodes.h"
#include "scsi/pr.h"
#include "scsi/stats.h"
#include "scsi/sbc_sanitize.h"
#include "scsi/xcopy.h"
#include "util/be.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/macros.h"

#define TASK_BUF_ALIGN 4096

static void task_reset(struct scsi_task *task)
{
	task->lu = NULL;
	task->op = NULL;
	task->dir = SCSI_DIR_NONE;
	task->xfer_len = 0;
	task->buf = NULL;
	task->data_chunked = false;
	task->data_iovcnt = 0;
	task->bufs = NULL;
	memset(&task->data_wait, 0, sizeof(task->data_wait));
	task->data_len = 0;
	task->data_lent = false;
	task->status = SCSI_STATUS_GOOD;
	task->sense_len = 0;
	task->lba = 0;
	task->nblocks = 0;
	memset(&task->detail, 0, sizeof(task->detail));
	task->verify_buf = NULL;
	task->xcopy = NULL;
	task->state = SCSI_TASK_IDLE;
	task->aborted = false;
	task->lu_reset = NULL;
	task->range_held = false;
}

void scsi_task_set_result(struct scsi_task *task, enum sense_reason reason)
{
	task->status = sense_status_of(reason);
	task->sense_len = 0;
	if (task->status == SCSI_STATUS_GOOD)
		return;
	if (task->status == SCSI_STATUS_CHECK_CONDITION) {
		bool descriptor = task->lu && scsi_lu_mode_has(task->lu, SCSI_MODE_D_SENSE);
		task->sense_len = (uint8_t)sense_build(task->sense, reason, &task->detail,
						       descriptor);
	}
	log_debug("scsi: %s on LUN %d: %s", task->op ? task->op->name : "opcode",
		  scsi_lun_decode(task->lun_raw), sense_reason_name(reason));
}

/* Responses are short and go to the flat buffer (scsi.h). */
uint32_t scsi_task_data_out_sent(const struct scsi_task *task)
{
	return min_u32(task->data_out_len, task->xfer_len);
}

void scsi_task_reply(struct scsi_task *task, const void *data, size_t len)
{
	task->data_len = len < task->xfer_len ? (uint32_t)len : task->xfer_len;
	if (task->data_len)
		memcpy(task->buf, data, task->data_len);
}

static enum sense_reason task_decode_blocks(struct scsi_task *task)
{
	const struct scsi_opdef *op = task->op;
	const struct scsi_lu *lu = task->lu;
	uint64_t count = be_get(task->cdb + op->count.off, op->count.size);
	/* SBC-3 VERIFY, WRITE AND VERIFY: BYTCHK 00b checks the medium only,
	 * 01b compares it with data-out; the other values are not supported. */
	unsigned bytchk = (op->flags & OP_BYTCHK) ? (task->cdb[1] >> 1) & 0x3 : 0;
	if (bytchk > 1)
		return scsi_invalid_cdb_field(&task->detail, 1, 2);
	bool moves_data = op->xfer == OP_XFER_BLOCKS ||
			  (op->xfer == OP_XFER_VERIFY && bytchk == 1);
	if (count == 0 && (op->flags & OP_LEN0_IS_256))
		count = 256;
	if (moves_data) {
		uint64_t bytes = count * lu->block_size * ((op->flags & OP_DATA_TWICE) ? 2 : 1);
		if (bytes > SCSI_MAX_XFER_BYTES)
			return scsi_invalid_cdb_field(&task->detail, op->count.off, -1);
		task->xfer_len = (uint32_t)bytes;
		task->dir = op->dir;
	}
	/* SBC-3 WRITE SAME: one block of data-out whatever the range, none
	 * with NDOB. */
	if ((op->flags & OP_ONE_BLOCK_OUT) && !((op->flags & OP_NDOB) && (task->cdb[1] & 0x01))) {
		task->xfer_len = lu->block_size;
		task->dir = SCSI_DIR_WRITE;
	}
	if (!scsi_lu_range_ok(lu, task->lba, count))
		return SENSE_LBA_OUT_OF_RANGE;
	task->nblocks = (uint32_t)count;
	if ((op->flags & OP_WRITES_MEDIUM) && lu->readonly)
		return SENSE_WRITE_PROTECTED;
	/* SPC-4 7.5.8: with SWP set, writes to the medium are refused; the
	 * additional sense code says the protection is software's. */
	if ((op->flags & OP_WRITES_MEDIUM) && scsi_lu_mode_has(lu, SCSI_MODE_SWP))
		return SENSE_SOFTWARE_WRITE_PROTECTED;
	return SENSE_NONE;
}

static enum sense_reason task_decode(struct scsi_task *task)
{
	const struct scsi_opdef *op = task->op;
	enum sense_reason r = scsi_cdb_check_usage(op, task->cdb, &task->detail);
	if (r != SENSE_NONE)
		return r;
	task->lba = be_get(task->cdb + op->lba.off, op->lba.size);
	switch (op->xfer) {
	case OP_XFER_NONE:
		return SENSE_NONE;
	case OP_XFER_ALLOC: {
		uint64_t alloc = op->count.size ? be_get(task->cdb + op->count.off, op->count.size)
						: op->resp_max;
		task->xfer_len = alloc < op->resp_max ? (uint32_t)alloc : op->resp_max;
		task->dir = task->xfer_len ? SCSI_DIR_READ : SCSI_DIR_NONE;
		return SENSE_NONE;
	}
	case OP_XFER_PARAM:
		task->xfer_len = (uint32_t)be_get(task->cdb + op->count.off, op->count.size);
		if (op->resp_max && task->xfer_len > op->resp_max)
			return SENSE_PARAM_LIST_LENGTH_ERROR;
		task->dir = task->xfer_len ? SCSI_DIR_WRITE : SCSI_DIR_NONE;
		return SENSE_NONE;
	case OP_XFER_BLOCKS:
	case OP_XFER_RANGE:
	case OP_XFER_VERIFY:
		return task_decode_blocks(task);
	}
	return SENSE_INTERNAL_TARGET_FAILURE;
}

/* Block data gets its chunks later (scsi.h, "Data buffers"); anything
 * else one small flat buffer now. */
static enum sense_reason task_alloc_buf(struct scsi_task *task)
{
	/* Until the transport says otherwise, all write data will be there. */
	task->data_out_len = task->dir == SCSI_DIR_WRITE ? task->xfer_len : 0;
	enum op_xfer xfer = task->op->xfer;
	if ((xfer == OP_XFER_BLOCKS || xfer == OP_XFER_VERIFY) && task->xfer_len) {
		task->bufs = bufwait_here();
		task->data_chunked = task->bufs != NULL;
		if (!task->bufs) {
			log_error("scsi: %s: no buffer pool on this thread", task->op->name);
			return SENSE_INTERNAL_TARGET_FAILURE;
		}
		return SENSE_NONE;
	}
	if (task->xfer_len == 0)
		return SENSE_NONE;
	void *buf;
	if (posix_memalign(&buf, TASK_BUF_ALIGN, task->xfer_len) != 0) {
		log_error("scsi: %s: cannot allocate %u bytes", task->op->name, task->xfer_len);
		return SENSE_INTERNAL_TARGET_FAILURE;
	}
	task->buf = buf;
	task->data_iov[0] = (struct iovec){ buf, task->xfer_len };
	task->data_iovcnt = 1;
	return SENSE_NONE;
}

/* The chunks from data_iovcnt on that bring the memory up to end. */
static void task_data_request(struct scsi_task *task, uint32_t end, bool last)
{
	uint64_t upto = DIV_ROUND_UP((uint64_t)end, SCSI_DATA_CHUNK) * SCSI_DATA_CHUNK;
	if (upto > task->xfer_len)
		upto = task->xfer_len;
	struct bufwait_entry *e = &task->data_wait;
	e->iov = task->data_iov + task->data_iovcnt;
	e->max_iov = SCSI_TASK_MAX_CHUNKS - task->data_iovcnt;
	e->len = (uint32_t)(upto - (uint64_t)task->data_iovcnt * SCSI_DATA_CHUNK);
	e->last = last;
	e->account = task->data_account;
}

static void task_data_arrived(struct bufwait_entry *e)
{
	struct scsi_task *task = container_of(e, struct scsi_task, data_wait);
	task->data_iovcnt += e->got;
	task->data_ready(task);
}

bool scsi_task_data_get(struct scsi_task *task, uint32_t end, bool last,
			void (*ready)(struct scsi_task *task))
{
	if (scsi_task_data_room(task) >= end)
		return true;
	task_data_request(task, end, last);
	task->data_wait.ready = task_data_arrived;
	task->data_ready = ready;
	int n = bufwait_get(task->bufs, &task->data_wait);
	if (n == 0)
		return false;
	/* -E2BIG cannot happen: xfer_len is at most SCSI_MAX_XFER_BYTES. */
	task->data_iovcnt += (unsigned)n;
	return true;
}

static void task_drop_data(struct scsi_task *task)
{
	if (task->data_chunked) {
		bufwait_release(task->bufs, &task->data_wait, task->data_iov);
	} else {
		free(task->buf);
	}
	task->buf = NULL;
	task->data_chunked = false;
	task->data_iovcnt = 0;
}

bool scsi_task_data_get_now(struct scsi_task *task, uint32_t end)
{
	if (scsi_task_data_room(task) >= end)
		return true;
	task_data_request(task, end, false);
	int n = bufwait_get_now(task->bufs, &task->data_wait);
	if (n > 0) {
		task->data_iovcnt += (unsigned)n;
		return true;
	}
	log_warn("scsi: %s: no buffer room for %u bytes of data on their way: BUSY",
		 task->op->name, end);
	task_drop_data(task);
	task->xfer_len = 0;
	task->dir = SCSI_DIR_NONE;
	scsi_task_set_result(task, SENSE_BUSY);
	return false;
}

/* A write whose expected data transfer length (SAM-5 Execute Command)
 * is below the CDB's moves the whole blocks that arrive, with an
 * underflow residual; one whose expected length ends inside a logical
 * block cannot be carried out as asked. Like Linux LIO, lunar refuses it
 * with INVALID FIELD IN COMMAND INFORMATION UNIT (SPC-4 ASC 0Eh/03h)
 * rather than drop the partial block and answer GOOD. */
static bool task_write_ends_mid_block(const struct scsi_task *task)
{
	enum op_xfer xfer = task->op->xfer;
	if (task->dir != SCSI_DIR_WRITE || !task->lu ||
	    (xfer != OP_XFER_BLOCKS && xfer != OP_XFER_VERIFY))
		return false;
	return task->expected_len < task->xfer_len && task->expected_len % task->lu->block_size;
}

/* A task the transport ends before it executes: no data moves. */
static void task_end_unexecuted(struct scsi_task *task, enum sense_reason reason)
{
	task_drop_data(task);
	task->xfer_len = 0;
	task->dir = SCSI_DIR_NONE;
	scsi_task_set_result(task, reason);
}

void scsi_task_fail_transfer(struct scsi_task *task)
{
	task_end_unexecuted(task, SENSE_DATA_PHASE_ERROR);
}

void scsi_task_refuse_full(struct scsi_task *task)
{
	task_end_unexecuted(task, SENSE_TASK_SET_FULL);
}

/* The order of checks follows SAM-5 5.14 and SPC-4 4.6.2: an absent LUN is
 * reported first, then a pending unit attention, then CDB errors. */
static enum sense_reason task_check(struct scsi_task *task)
{
	struct scsi_sense_detail lookup_detail = { 0 };
	const struct scsi_opdef *op;
	enum sense_reason lookup = scsi_opdef_lookup(task->cdb, &op, &lookup_detail);
	unsigned flags = op ? op->flags : 0;
	/* A LUN outside the nexus's view is as absent as one never configured. */
	int lun = scsi_nexus_target_lun(task->nexus, scsi_lun_decode(task->lun_raw));

	task->op = op;
	task->lu = scsi_target_lu_get(task->nexus->target, lun);
	if (!task->lu && !(flags & OP_ANY_LUN))
		return SENSE_LUN_NOT_SUPPORTED;
	if (task->lu && !(flags & OP_UA_EXEMPT)) {
		enum sense_reason ua = scsi_ua_take(task->nexus, task->lu->lun);
		if (ua != SENSE_NONE)
			return ua;
	}
	if (lookup == SENSE_NONE && !scsi_opdef_served(op, task->lu))
		lookup = scsi_opdef_not_served(op, &lookup_detail);
	if (lookup != SENSE_NONE) {
		task->detail = lookup_detail;
		return lookup;
	}
	/* SBC-4 4.11: while a sanitize runs or after one failed, only the
	 * commands a unit attention lets through are served. */
	if (task->lu && !(flags & OP_UA_EXEMPT)) {
		enum sense_reason s = sbc_sanitize_check(task->lu, op);
		if (s != SENSE_NONE)
			return s;
	}
	/* SPC-4 5.12.1: the opcode table's conflict column decides. */
	if (task->lu && scsi_pr_conflicts(task->lu, task->nexus, op->pr))
		return SENSE_RESERVATION_CONFLICT;
	enum sense_reason r = task_decode(task);
	if (r != SENSE_NONE)
		return r;
	return task_alloc_buf(task);
}

bool scsi_task_prepare(struct scsi_task *task)
{
	task_reset(task);
	enum sense_reason r = task_check(task);
	scsi_stats_task_begin(task);
	if (r == SENSE_NONE && task_write_ends_mid_block(task)) {
		/* No data moves, but direction and length stay as the CDB says:
		 * the transport's residual tells the initiator how far its
		 * expected length fell short (LIO reports it too). */
		task_drop_data(task);
		scsi_task_set_result(task, SENSE_INVALID_FIELD_IN_COMMAND_IU);
		return false;
	}
	if (r == SENSE_NONE)
		return true;
	task_end_unexecuted(task, r);
	return false;
}

static void task_set_leave(struct scsi_task *task);

/* An aborted task reports TASK ABORTED whatever its handler concluded;
 * the data it read is not sent. */
static void task_complete(struct scsi_task *task)
{
	if (task->aborted) {
		task->data_len = 0;
		scsi_task_set_result(task, SENSE_TASK_ABORTED);
	}
	if (task->state == SCSI_TASK_ENDING)
		task->state = SCSI_TASK_IDLE;
	scsi_task_range_unlock(task);
	/* A copy holds a range on its destination LU, not on task->lu: it
	 * lets go here too, also when an abort ended it between steps. */
	xcopy_task_release(task);
	task_set_leave(task);
	/* done may free the task: take what the reset needs first. */
	struct scsi_lu_reset *reset = task->lu_reset;
	task->lu_reset = NULL;
	task->done(task);
	if (reset)
		scsi_lu_reset_put(reset);
}

void scsi_task_finish(struct scsi_task *task, enum sense_reason reason)
{
	scsi_task_set_result(task, reason);
	task_complete(task);
}

static void task_on_complete(struct loop_op *lop, int res)
{
	task_complete(container_of(lop, struct scsi_task, complete_op));
}

void scsi_task_finish_later(struct scsi_task *task, enum sense_reason reason)
{
	scsi_task_set_result(task, reason);
	task->complete_op.cb = task_on_complete;
	struct io_uring_sqe *sqe = loop_get_sqe(task->loop);
	io_uring_prep_nop(sqe);
	loop_sqe_set_op(sqe, &task->complete_op);
}

static void task_run(struct scsi_task *task)
{
	const struct scsi_opdef *op = task->op;
	if ((op->flags & OP_EMPTY_IS_GOOD) && task->xfer_len == 0) {
		scsi_task_finish_later(task, SENSE_NONE);
		return;
	}
	enum sense_reason r = op->handler(task);
	if (r != SENSE_NONE || !(op->flags & OP_ASYNC))
		scsi_task_finish_later(task, r);
}

static void task_list_append(struct scsi_task_list *l, struct scsi_task *task)
{
	task->set_next = NULL;
	task->set_prev = l->tail;
	if (l->tail)
		l->tail->set_next = task;
	else
		l->head = task;
	l->tail = task;
}

static void task_list_remove(struct scsi_task_list *l, struct scsi_task *task)
{
	if (task->set_prev)
		task->set_prev->set_next = task->set_next;
	else
		l->head = task->set_next;
	if (task->set_next)
		task->set_next->set_prev = task->set_prev;
	else
		l->tail = task->set_prev;
	task->set_prev = task->set_next = NULL;
}

/* SAM-5 8.6 with one task set per I_T nexus. head_of_waiting: the task is
 * the oldest of those held back, so only running tasks can stop it. */
static bool task_set_may_start(const struct scsi_nexus *n, const struct scsi_task *task,
			       bool head_of_waiting)
{
	/* A nexus that replaced another starts nothing before the old one's
	 * tasks have all completed (scsi_nexus_replace). */
	if (n->fence && atomic_load_explicit(&n->fence->pending, memory_order_acquire))
		return false;
	bool older_waiting = !head_of_waiting && n->waiting.head;
	switch (task->attr) {
	case SCSI_ATTR_HEAD_OF_QUEUE:
		return true;
	case SCSI_ATTR_ORDERED:
		return n->nrunning == 0 && !older_waiting;
	default:
		return !n->ordered_running && !older_waiting;
	}
}

static void task_set_start(struct scsi_task *task)
{
	struct scsi_nexus *n = task->nexus;
	n->nrunning++;
	if (task->attr == SCSI_ATTR_ORDERED)
		n->ordered_running = true;
	task->state = SCSI_TASK_RUNNING;
	task_list_append(&n->running, task);
	task_run(task);
}

/* Starts the waiting tasks that nothing holds back any more, oldest first. */
void scsi_task_set_start_waiting(struct scsi_nexus *n)
{
	while (n->waiting.head && task_set_may_start(n, n->waiting.head, true)) {
		struct scsi_task *next = n->waiting.head;
		task_list_remove(&n->waiting, next);
		task_set_start(next);
	}
}

/* A task is done: start whatever it was holding back. */
static void task_set_leave(struct scsi_task *task)
{
	if (task->state != SCSI_TASK_RUNNING)
		return;
	struct scsi_nexus *n = task->nexus;
	task_list_remove(&n->running, task);
	task->state = SCSI_TASK_IDLE;
	n->nrunning--;
	if (task->attr == SCSI_ATTR_ORDERED)
		n->ordered_running = false;
	scsi_task_set_start_waiting(n);
}

static void task_set_enter(struct scsi_task *task)
{
	struct scsi_nexus *n = task->nexus;
	if (task_set_may_start(n, task, false)) {
		task_set_start(task);
		return;
	}
	task->state = SCSI_TASK_WAITING;
	task_list_append(&n->waiting, task);
}

static void task_data_then_enter(struct scsi_task *task)
{
	task_list_remove(&task->nexus->awaiting_data, task);
	task->state = SCSI_TASK_IDLE;
	task_set_enter(task);
}

/* A read takes its chunks first, waiting for them if it must; one whose
 * data the store lends (sbc_read_lend) needs none. */
void scsi_task_execute(struct scsi_task *task)
{
	if (task->dir == SCSI_DIR_READ && !sbc_read_lend(task) &&
	    !scsi_task_data_get(task, task->xfer_len, true, task_data_then_enter)) {
		task->state = SCSI_TASK_AWAITING_DATA;
		task_list_append(&task->nexus->awaiting_data, task);
		return;
	}
	task_set_enter(task);
}

/* Takes a waiting task out of the task set; the caller starts whatever it
 * held back once it has removed all it means to. */
static void task_set_drop_waiting(struct scsi_task *task)
{
	task_list_remove(&task->nexus->waiting, task);
	task->state = SCSI_TASK_IDLE;
	task->aborted = true;
}

/* A read still waiting for its chunks stops waiting and completes as
 * aborted, as an executing task would. Until its completion runs it is
 * ENDING, not IDLE: a second abort (a lost connection's, after its task
 * set's) must leave it to done rather than have the transport free it
 * under the queued completion. */
static void task_abort_awaiting_data(struct scsi_task *task)
{
	bufwait_cancel(task->bufs, &task->data_wait);
	task_list_remove(&task->nexus->awaiting_data, task);
	task->state = SCSI_TASK_ENDING;
	task->aborted = true;
	scsi_task_finish_later(task, SENSE_TASK_ABORTED);
}

enum scsi_abort_result scsi_task_abort(struct scsi_task *task)
{
	switch (task->state) {
	case SCSI_TASK_AWAITING_DATA:
		task_abort_awaiting_data(task);
		return SCSI_ABORT_RUNNING;
	case SCSI_TASK_RUNNING:
		task->aborted = true;
		return SCSI_ABORT_RUNNING;
	case SCSI_TASK_ENDING:
		return SCSI_ABORT_RUNNING;
	case SCSI_TASK_WAITING:
		task_set_drop_waiting(task);
		scsi_task_set_start_waiting(task->nexus);
		return SCSI_ABORT_NOT_RUN;
	case SCSI_TASK_IDLE:
		break;
	}
	task->aborted = true;
	return SCSI_ABORT_NOT_RUN;
}

static bool task_of_lun(const struct scsi_task *task, int lun)
{
	return lun < 0 || scsi_lun_decode(task->lun_raw) == lun;
}

/* An executing task an abort reached: counted for reset, if any, unless
 * an earlier reset already waits for it. */
static unsigned task_counted(struct scsi_task *t, struct scsi_lu_reset *reset)
{
	if (!reset || t->lu_reset)
		return 0;
	t->lu_reset = reset;
	return 1;
}

unsigned scsi_task_set_abort_for(struct scsi_nexus *nexus, int lun, scsi_task_removed_fn removed,
				 void *arg, struct scsi_lu_reset *reset)
{
	unsigned executing = 0;
	for (struct scsi_task *t = nexus->running.head; t; t = t->set_next) {
		if (task_of_lun(t, lun)) {
			t->aborted = true;
			executing += reset ? task_counted(t, reset) : 1;
		}
	}
	struct scsi_task *next_t;
	for (struct scsi_task *t = nexus->awaiting_data.head; t; t = next_t) {
		next_t = t->set_next;
		if (task_of_lun(t, lun)) {
			task_abort_awaiting_data(t);
			executing += reset ? task_counted(t, reset) : 1;
		}
	}
	struct scsi_task *next;
	for (struct scsi_task *t = nexus->waiting.head; t; t = next) {
		next = t->set_next;
		if (task_of_lun(t, lun)) {
			task_set_drop_waiting(t);
			removed(t, arg);
		}
	}
	/* Tasks of other LUNs may have been waiting behind the removed ones. */
	scsi_task_set_start_waiting(nexus);
	return executing;
}

unsigned scsi_task_set_abort(struct scsi_nexus *nexus, int lun, scsi_task_removed_fn removed,
			     void *arg)
{
	return scsi_task_set_abort_for(nexus, lun, removed, arg, NULL);
}

void scsi_task_release(struct scsi_task *task)
{
	if (task->state == SCSI_TASK_AWAITING_DATA) {
		task_list_remove(&task->nexus->awaiting_data, task);
		task->state = SCSI_TASK_IDLE;
	}
	xcopy_task_release(task);
	/* The transport stamped the command's arrival from the clock read
	 * it already makes per PDU; this is the one read per command. */
	scsi_stats_task_end(task, task->arrived_ns ? clock_now_ns() : 0);
	scsi_lu_put(task->lu);
	task->lu = NULL;
	task_drop_data(task);
	free(task->verify_buf);
	task->verify_buf = NULL;
}
