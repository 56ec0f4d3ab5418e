/* EXTENDED COPY (LID1, SPC-4 6.3) and RECEIVE COPY RESULTS OPERATING
 * PARAMETERS (SPC-4 6.18.4).
 *
 * The copy resolves every CSCD the segments name to an LU of the task's
 * target that the I_T nexus sees (by its NAA designator, VPD 83h), holds
 * a reference to each, and checks every segment before it copies
 * anything, then hands the segments to the copy engine (xcopy_engine.c).
 * A segment whose destination overlaps its source after it on the same
 * store is copied backwards, so it copies as if its whole source had
 * been read first. */
#include <string.h>

#include "scsi/odx.h"
#include "scsi/opcodes.h"
#include "scsi/pr.h"
#include "scsi/task.h"
#include "scsi/xcopy.h"
#include "util/be.h"

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
 * block size on both sides, within both LUs, destination writable, no
 * reservation of another initiator in the way; then makes it a piece. */
static enum sense_reason xcopy_check(struct scsi_task *task, const struct xcopy_list *l,
				     struct xcopy_state *x)
{
	for (unsigned i = 0; i < l->nsegments; i++) {
		const struct xcopy_segment *s = &l->segments[i];
		uint16_t idx[2] = { s->src, s->dst };
		for (unsigned k = 0; k < 2; k++) {
			if (!x->lus[idx[k]])
				x->lus[idx[k]] = xcopy_find_lu(task, &l->cscds[idx[k]]);
			if (!x->lus[idx[k]])
				return SENSE_COPY_TARGET_UNREACHABLE;
		}
		struct scsi_lu *src = x->lus[s->src], *dst = x->lus[s->dst];
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
		/* SPC-4 5.12.1: each LU is read or written as a READ or a
		 * WRITE from this I_T nexus would be, whichever LU the
		 * command was sent to. */
		if (scsi_pr_conflicts(src, task->nexus, OP_PR_READ) ||
		    scsi_pr_conflicts(dst, task->nexus, OP_PR_CONFLICT))
			return SENSE_RESERVATION_CONFLICT;
		x->pieces[i] = (struct xcopy_piece){
			.src_lba = s->src_lba,
			.dst_lba = s->dst_lba,
			.nblocks = s->nblocks,
			.src = (uint8_t)s->src,
			.dst = (uint8_t)s->dst,
			.backward = src->bs == dst->bs && s->dst_lba > s->src_lba &&
				    s->dst_lba < s->src_lba + s->nblocks,
		};
	}
	return SENSE_NONE;
}

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
			.segments = (uint16_t)x->piece,
			.kib = (uint32_t)(x->bytes_done >> 10),
		};
	}
}

static const struct xcopy_ops xcopy_lid1_ops = { .result = xcopy_hold_result };

/* SPC-4 6.3. A parameter list of length 0 copies nothing and is GOOD
 * (OP_EMPTY_IS_GOOD). */
enum sense_reason spc_extended_copy(struct scsi_task *task)
{
	uint32_t len = scsi_task_data_out_sent(task);
	if (len < task->xfer_len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	struct xcopy_list list;
	enum sense_reason r = xcopy_parse(task->buf, len, &list, &task->detail);
	if (r != SENSE_NONE)
		return r;
	struct xcopy_state *x = xcopy_job_new(task, list.nsegments, &xcopy_lid1_ops);
	if (!x)
		return SENSE_INTERNAL_TARGET_FAILURE;
	r = xcopy_check(task, &list, x);
	if (r != SENSE_NONE)
		return r;
	return xcopy_job_start(task);
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
 * Descriptors third-party copy descriptors, then ODX's (odx.c), each
 * padded to 4 bytes. */
size_t xcopy_vpd_third_party_copy(uint8_t *p)
{
	static const uint8_t commands[] = {
		0x83, 3, 0x00, ODX_SA_POPULATE_TOKEN, ODX_SA_WRITE_USING_TOKEN,
		/* RECEIVE COPY RESULTS: COPY STATUS, OPERATING PARAMETERS,
		 * RECEIVE ROD TOKEN INFORMATION */
		0x84, 3, 0x00, 0x03, ODX_SA_RECEIVE_ROD_TOKEN_INFO,
	};
	static const uint8_t descriptors[] = { XCOPY_SEG_B2B, XCOPY_CSCD_ID };
	memset(p, 0, XCOPY_VPD_MAX);
	size_t len = 0;

	size_t cmd_len = (1 + sizeof(commands) + 3) & ~(size_t)3;
	be16_put(p + len, 0x0001);
	be16_put(p + len + 2, (uint16_t)cmd_len);
	p[len + 4] = sizeof(commands);
	memcpy(p + len + 5, commands, sizeof(commands));
	len += 4 + cmd_len;

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
	return len + odx_vpd_descriptors(p + len);
}
