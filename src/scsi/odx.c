/* POPULATE TOKEN, WRITE USING TOKEN (SBC-3 5.9, 5.46) and RECEIVE ROD
 * TOKEN INFORMATION (SPC-4 6.18.6): Windows ODX.
 *
 * POPULATE TOKEN checks its ranges, holds their span exclusively in the
 * LU's range lock (so no write to them is in flight) and makes a token
 * (rod_token.h); no data moves. WRITE USING TOKEN finds the token, the
 * LU it names in the nexus's view of its own target, and copies through
 * the copy engine (xcopy.h): ROD offsets map onto the destination ranges
 * as pieces. After each step's read the token must still be intact, so a
 * write to its blocks before the copy read them ends the copy with TOKEN
 * CANCELLED; the copy's own writes into its token's blocks do not, and
 * the pieces run forwards or backwards so that no block is read after
 * the copy wrote it. Results are held per I_T nexus by LIST IDENTIFIER. */
#include <stdlib.h>
#include <string.h>

#include "scsi/odx.h"
#include "scsi/opcodes.h"
#include "scsi/pr.h"
#include "scsi/task.h"
#include "scsi/xcopy.h"
#include "util/be.h"
#include "util/macros.h"

/* SPC-4 6.18.6 table 144: COPY OPERATION STATUS. */
#define OP_COMPLETED 0x01
#define OP_FAILED 0x02
#define OP_PARTIAL 0x03    /* completed, with partial ROD token usage */
#define OP_RUNNING 0x10    /* in progress, foreground */
#define OP_TERMINATED 0x60
#define UNITS_BLOCKS 0xF1  /* TRANSFER COUNT UNITS: logical blocks */

static uint32_t list_id_of(const struct scsi_task *task)
{
	return be32_get(task->cdb + 6);
}

static struct scsi_odx_result *result_find(struct scsi_nexus *n, uint32_t id)
{
	for (unsigned i = 0; i < SCSI_ODX_RESULTS; i++)
		if (n->odx_results[i].held && n->odx_results[i].list_id == id)
			return &n->odx_results[i];
	return NULL;
}

/* SPC-4 6.3.1: a LIST IDENTIFIER in use by a running operation of the
 * nexus is refused. Otherwise the result goes to its old slot, a free
 * one or the oldest finished one; when all run, it is not held. */
static enum sense_reason result_begin(struct scsi_task *task, uint8_t sa)
{
	struct scsi_nexus *n = task->nexus;
	uint32_t id = list_id_of(task);
	struct scsi_odx_result *slot = result_find(n, id);
	if (slot && slot->running)
		return SENSE_OPERATION_IN_PROGRESS;
	uint64_t newest = 0;
	struct scsi_odx_result *free_slot = NULL, *oldest = NULL;
	for (unsigned i = 0; i < SCSI_ODX_RESULTS; i++) {
		struct scsi_odx_result *r = &n->odx_results[i];
		if (r->age > newest)
			newest = r->age;
		if (!r->held && !free_slot)
			free_slot = r;
		if (r->held && !r->running && (!oldest || r->age < oldest->age))
			oldest = r;
	}
	if (!slot)
		slot = free_slot ? free_slot : oldest;
	if (!slot)
		return SENSE_NONE;
	*slot = (struct scsi_odx_result){
		.held = true,
		.running = true,
		.service_action = sa,
		.status = OP_RUNNING,
		.list_id = id,
		.age = newest + 1,
	};
	return SENSE_NONE;
}

/* The command ends with reason: its result, if held, says so. */
static void result_end(struct scsi_task *task, enum sense_reason reason, uint64_t blocks,
		       bool partial, const uint8_t *token)
{
	struct scsi_odx_result *slot = result_find(task->nexus, list_id_of(task));
	uint8_t sa = task->cdb[1] & OP_SA_MASK;
	if (!slot || !slot->running || slot->service_action != sa)
		return;
	slot->running = false;
	slot->blocks = blocks;
	slot->scsi_status = sense_status_of(reason);
	if (reason == SENSE_TASK_ABORTED) {
		slot->status = OP_TERMINATED;
		return;
	}
	if (reason != SENSE_NONE) {
		slot->status = OP_FAILED;
		if (slot->scsi_status == SCSI_STATUS_CHECK_CONDITION)
			slot->sense_len = (uint8_t)sense_build(slot->sense, reason, &task->detail,
							       false);
		return;
	}
	slot->status = partial ? OP_PARTIAL : OP_COMPLETED;
	if (token) {
		slot->has_token = true;
		memcpy(slot->token, token, ROD_TOKEN_LEN);
	}
}

/* The span of the ranges that name blocks; false when none does. */
static bool ranges_span(const struct rod_range *r, unsigned n, uint64_t *lo, uint64_t *hi)
{
	bool any = false;
	for (unsigned i = 0; i < n; i++) {
		if (!r[i].nblocks)
			continue;
		if (!any || r[i].lba < *lo)
			*lo = r[i].lba;
		if (!any || r[i].lba + r[i].nblocks > *hi)
			*hi = r[i].lba + r[i].nblocks;
		any = true;
	}
	return any;
}

/* POPULATE TOKEN's parameter list, checked: SBC-3 5.9.2. */
static enum sense_reason pt_decode(struct scsi_task *task, struct odx_populate *pt,
				   uint32_t *type, unsigned *timeout_s, uint64_t *total)
{
	uint32_t len = scsi_task_data_out_sent(task);
	if (len < task->xfer_len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	enum sense_reason r = odx_parse_populate(task->buf, len, pt, &task->detail);
	if (r != SENSE_NONE)
		return r;
	if (pt->timeout_s > ROD_MAX_TIMEOUT_S)
		return scsi_invalid_param_field(&task->detail, 4, -1);
	*timeout_s = pt->timeout_s ? pt->timeout_s : ROD_DEFAULT_TIMEOUT_S;
	*type = ROD_TYPE_PIT_DEFAULT;
	if (pt->rtv) {
		if (pt->rod_type != ROD_TYPE_PIT_DEFAULT && pt->rod_type != ROD_TYPE_PIT_VULNERABLE)
			return scsi_invalid_param_field(&task->detail, 8, -1);
		*type = pt->rod_type;
	}
	return odx_check_ranges(pt->ranges, pt->nranges, atomic_load(&task->lu->nblocks),
				ODX_PT_HEADER_LEN, total, &task->detail);
}

/* Nothing writes to the ranges now: the token may be made. */
static void pt_locked(struct scsi_task *task)
{
	struct odx_populate pt;
	uint32_t type;
	unsigned timeout_s;
	uint64_t total;
	uint8_t token[ROD_TOKEN_LEN];
	enum sense_reason r = pt_decode(task, &pt, &type, &timeout_s, &total);
	if (r == SENSE_NONE)
		r = rod_token_create(task->nexus->target, task->lu, pt.ranges, pt.nranges, type,
				     timeout_s, token);
	result_end(task, r, total, false, token);
	scsi_task_finish_later(task, r);
}

static void pt_granted(struct loop_msg *msg)
{
	struct scsi_task *task = container_of(msg, struct scsi_task, range.granted);
	task->range_held = true;
	if (task->aborted) {
		result_end(task, SENSE_TASK_ABORTED, 0, false, NULL);
		scsi_task_finish(task, SENSE_TASK_ABORTED);
		return;
	}
	pt_locked(task);
}

enum sense_reason sbc_populate_token(struct scsi_task *task)
{
	struct odx_populate pt;
	uint32_t type;
	unsigned timeout_s;
	uint64_t total, lo = 0, hi = 0;
	enum sense_reason r = pt_decode(task, &pt, &type, &timeout_s, &total);
	if (r == SENSE_NONE)
		r = result_begin(task, ODX_SA_POPULATE_TOKEN);
	if (r != SENSE_NONE)
		return r;
	if (!ranges_span(pt.ranges, pt.nranges, &lo, &hi)) {
		pt_locked(task);
		return SENSE_NONE;
	}
	/* Not through scsi_task_range_lock: that is for writes, which
	 * cancel tokens; this only waits for the writes in flight. */
	task->range = (struct range_lock_req){
		.lba = lo,
		.nblocks = hi - lo,
		.exclusive = true,
		.loop = task->loop,
	};
	task->range.granted.fn = pt_granted;
	if (range_lock_acquire(&task->lu->range_lock, &task->range)) {
		task->range_held = true;
		pt_locked(task);
	}
	return SENSE_NONE;
}

/* WRITE USING TOKEN's parameter list, checked: SBC-3 5.46.2. */
static enum sense_reason wut_decode(struct scsi_task *task, struct odx_write *w, uint64_t *total)
{
	uint32_t len = scsi_task_data_out_sent(task);
	if (len < task->xfer_len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	enum sense_reason r = odx_parse_write(task->buf, len, w, &task->detail);
	if (r != SENSE_NONE)
		return r;
	return odx_check_ranges(w->ranges, w->nranges, atomic_load(&task->lu->nblocks),
				ODX_WUT_HEADER_LEN, total, &task->detail);
}

static enum sense_reason wut_check(struct scsi_task *task)
{
	struct xcopy_state *x = task->xcopy;
	if (x->token && !rod_token_intact(x->token, x->self_changes))
		return SENSE_TOKEN_CANCELLED;
	return SENSE_NONE;
}

static void wut_result(struct scsi_task *task, enum sense_reason reason)
{
	struct odx_write w;
	uint64_t total = 0;
	wut_decode(task, &w, &total);
	uint64_t done = task->xcopy->blocks_done;
	result_end(task, reason, done, done < total, NULL);
}

static void wut_release(struct scsi_task *task)
{
	struct xcopy_state *x = task->xcopy;
	/* Ended before it ran, or aborted: the result says so. */
	result_end(task, task->aborted ? SENSE_TASK_ABORTED : SENSE_INTERNAL_TARGET_FAILURE,
		   x->blocks_done, false, NULL);
	if (x->token) {
		struct odx_write w;
		uint64_t total;
		bool del = wut_decode(task, &w, &total) == SENSE_NONE && w.del_tkn;
		rod_token_unuse(x->token, del);
		x->token = NULL;
	}
}

static const struct xcopy_ops wut_ops = {
	.check = wut_check,
	.result = wut_result,
	.release = wut_release,
};

/* The source LU the token names, as this nexus sees its target. */
static struct scsi_lu *wut_find_source(struct scsi_task *task, const struct scsi_lu *want)
{
	const struct scsi_lun_map *map = scsi_target_lun_map(task->nexus->target);
	for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++) {
		struct scsi_lu *lu = map->lus[lun];
		if (lu && lu == want && scsi_nexus_initiator_lun(task->nexus, (uint16_t)lun) >= 0)
			return scsi_lu_get(lu);
	}
	return NULL;
}

/* Maps the ROD from offset onto the destination ranges: pieces from LU
 * index 1 (the token's) to LU index 0, in ROD order. */
static void wut_pieces(struct xcopy_state *x, const struct rod_token *t, uint64_t offset,
		       const struct odx_write *w)
{
	unsigned si = 0, di = 0, n = 0;
	uint64_t s_off = 0, d_off = 0;
	while (si < t->nranges && offset) {
		uint64_t skip = min_u64(offset, t->ranges[si].nblocks);
		offset -= skip;
		s_off = skip;
		if (s_off == t->ranges[si].nblocks) {
			si++;
			s_off = 0;
		}
	}
	while (si < t->nranges && di < w->nranges) {
		uint64_t s_left = t->ranges[si].nblocks - s_off;
		uint64_t d_left = w->ranges[di].nblocks - d_off;
		if (!s_left || !d_left) {
			si += !s_left;
			s_off = s_left ? s_off : 0;
			di += !d_left;
			d_off = d_left ? d_off : 0;
			continue;
		}
		uint32_t k = (uint32_t)min_u64(s_left, d_left);
		x->pieces[n++] = (struct xcopy_piece){
			.src_lba = t->ranges[si].lba + s_off,
			.dst_lba = w->ranges[di].lba + d_off,
			.nblocks = k,
			.src = 1,
			.dst = 0,
		};
		s_off += k;
		d_off += k;
	}
	x->npieces = n;
}

/* On one store, a write at ROD offset o to a block another piece reads at
 * ROD offset o + d must come after that read: forward order needs d <= 0
 * for every such pair, backward order d >= 0. Pieces then run in the order
 * that works, or the copy is refused before it writes anything. */
static bool wut_order(struct xcopy_state *x)
{
	if (x->lus[0]->bs != x->lus[1]->bs)
		return true;
	bool fwd_ok = true, back_ok = true;
	int64_t oa = 0;
	for (unsigned a = 0; a < x->npieces; a++) {
		const struct xcopy_piece *pa = &x->pieces[a];
		int64_t ob = 0;
		for (unsigned b = 0; b < x->npieces; b++) {
			const struct xcopy_piece *pb = &x->pieces[b];
			if (pa->dst_lba < pb->src_lba + pb->nblocks &&
			    pb->src_lba < pa->dst_lba + pa->nblocks) {
				int64_t d = ((int64_t)pa->dst_lba - oa) - ((int64_t)pb->src_lba - ob);
				fwd_ok &= d <= 0;
				back_ok &= d >= 0;
			}
			ob += pb->nblocks;
		}
		oa += pa->nblocks;
	}
	if (fwd_ok)
		return true;
	if (!back_ok)
		return false;
	for (unsigned i = 0; i < x->npieces / 2; i++) {
		struct xcopy_piece tmp = x->pieces[i];
		x->pieces[i] = x->pieces[x->npieces - 1 - i];
		x->pieces[x->npieces - 1 - i] = tmp;
	}
	for (unsigned i = 0; i < x->npieces; i++)
		x->pieces[i].backward = true;
	return true;
}

static enum sense_reason wut_from_token(struct scsi_task *task, struct xcopy_state *x,
					const struct odx_write *w)
{
	struct rod_token *t;
	struct scsi_lu *want;
	enum sense_reason r = rod_token_use(w->token, task->nexus->target, &t, &want);
	if (r != SENSE_NONE)
		return r;
	x->token = t;
	x->lus[1] = wut_find_source(task, want);
	/* The LU went, or this nexus does not see it; or (checked once we
	 * hold it) another LU took its place since the token was found. */
	if (!x->lus[1] || !rod_token_lu_is(t, x->lus[1]))
		return SENSE_TOKEN_INVALID;
	if (x->lus[1]->block_size != task->lu->block_size)
		return SENSE_TOKEN_INVALID;
	if (scsi_pr_conflicts(x->lus[1], task->nexus, OP_PR_READ))
		return SENSE_RESERVATION_CONFLICT;
	if (w->offset >= t->nblocks)
		return scsi_invalid_param_field(&task->detail, 8, -1);
	wut_pieces(x, t, w->offset, w);
	if (!wut_order(x))
		return scsi_invalid_param_field(&task->detail, ODX_WUT_LIST_LEN_AT, -1);
	return SENSE_NONE;
}

static enum sense_reason wut_start(struct scsi_task *task, const struct odx_write *w)
{
	bool zero = be32_get(w->token) == ROD_TYPE_BLOCK_ZERO;
	unsigned npieces = w->nranges + (zero ? 0 : ROD_MAX_RANGES);
	struct xcopy_state *x = xcopy_job_new(task, npieces, &wut_ops);
	if (!x)
		return SENSE_INTERNAL_TARGET_FAILURE;
	x->lus[0] = scsi_lu_get(task->lu);
	if (zero) {
		/* SBC-3 5.46.1: the block device zero ROD token writes zeros. */
		for (unsigned i = 0; i < w->nranges; i++)
			x->pieces[i] = (struct xcopy_piece){
				.dst_lba = w->ranges[i].lba,
				.nblocks = w->ranges[i].nblocks,
				.src = XCOPY_ZEROS,
			};
	} else {
		enum sense_reason r = wut_from_token(task, x, w);
		if (r != SENSE_NONE)
			return r;
	}
	return xcopy_job_start(task);
}

enum sense_reason sbc_write_using_token(struct scsi_task *task)
{
	struct odx_write w;
	uint64_t total;
	enum sense_reason r = wut_decode(task, &w, &total);
	if (r != SENSE_NONE)
		return r;
	if (task->lu->readonly)
		return SENSE_WRITE_PROTECTED;
	if (scsi_lu_mode_has(task->lu, SCSI_MODE_SWP))
		return SENSE_SOFTWARE_WRITE_PROTECTED;
	r = result_begin(task, ODX_SA_WRITE_USING_TOKEN);
	if (r != SENSE_NONE)
		return r;
	r = wut_start(task, &w);
	if (r != SENSE_NONE)
		result_end(task, r, 0, false, NULL);
	return r;
}

/* SPC-4 6.18.6 */
enum sense_reason spc_receive_rod_token_info(struct scsi_task *task)
{
	const struct scsi_odx_result *s = result_find(task->nexus, be32_get(task->cdb + 2));
	if (!s)
		return scsi_invalid_cdb_field(&task->detail, 2, -1);
	uint8_t r[ODX_RRTI_RESP_MAX];
	memset(r, 0, sizeof(r));
	r[4] = s->service_action;
	r[5] = s->status;
	/* ESTIMATED STATUS UPDATE DELAY, in milliseconds */
	be32_put(r + 8, s->running ? 100 : 0);
	r[12] = s->scsi_status;
	r[13] = s->sense_len;
	r[14] = s->sense_len;
	r[15] = UNITS_BLOCKS;
	be64_put(r + 16, s->blocks);
	memcpy(r + 32, s->sense, s->sense_len);
	size_t len = 32 + s->sense_len;
	if (s->has_token) {
		be32_put(r + len, 2 + ROD_TOKEN_LEN);
		memcpy(r + len + 6, s->token, ROD_TOKEN_LEN);
		len += 4 + 2 + ROD_TOKEN_LEN;
	} else {
		len += 4;
	}
	be32_put(r, (uint32_t)(len - 4));
	scsi_task_reply(task, r, len);
	return SENSE_NONE;
}

/* SPC-4 7.8.17.4, 7.8.17.7, 7.8.17.8 and SBC-3 6.6.x: what the copy
 * manager does with ROD tokens, each descriptor a multiple of 4 bytes. */
size_t odx_vpd_descriptors(uint8_t *p)
{
	memset(p, 0, ODX_VPD_MAX);
	size_t len = 0;

	/* Block Device ROD Token Limits (SBC-3) */
	be16_put(p, 0x0000);
	be16_put(p + 2, 0x20);
	be16_put(p + 10, ROD_MAX_RANGES);
	be32_put(p + 12, ROD_MAX_TIMEOUT_S);
	be32_put(p + 16, ROD_DEFAULT_TIMEOUT_S);
	be64_put(p + 20, ODX_MAX_TOKEN_BLOCKS);
	be64_put(p + 28, ODX_MAX_TOKEN_BLOCKS);
	len += 36;

	/* ROD Token Features: no remote tokens; the block device type
	 * specific part reports nothing beyond the limits above. */
	uint8_t *f = p + len;
	be16_put(f, 0x0106);
	be16_put(f + 2, 48 - 4 + 48);
	be32_put(f + 16, 1);
	be32_put(f + 20, UINT32_MAX);
	be32_put(f + 24, ROD_MAX_TIMEOUT_S);
	be16_put(f + 46, 48);
	be16_put(f + 48 + 2, 0x2C);
	len += 96;

	/* Supported ROD Types: TOKEN_IN and TOKEN_OUT for the point in time
	 * types made, TOKEN_IN for the block device zero ROD token. */
	static const struct {
		uint32_t type;
		uint8_t flags;
	} types[] = {
		{ ROD_TYPE_PIT_DEFAULT, 0x03 },
		{ ROD_TYPE_PIT_VULNERABLE, 0x03 },
		{ ROD_TYPE_BLOCK_ZERO, 0x02 },
	};
	uint8_t *t = p + len;
	be16_put(t, 0x0108);
	be16_put(t + 2, (uint16_t)(4 + 64 * ARRAY_SIZE(types)));
	be16_put(t + 6, (uint16_t)(64 * ARRAY_SIZE(types)));
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		be32_put(t + 8 + 64 * i, types[i].type);
		t[8 + 64 * i + 4] = types[i].flags;
	}
	len += 8 + 64 * ARRAY_SIZE(types);
	return len;
}
