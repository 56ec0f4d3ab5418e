/* The thin provisioning commands: UNMAP (SBC-3 5.28), deallocation
 * through the store's DISCARD, and GET LBA STATUS (SBC-3 5.20). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/sbc_thin.h"
#include "scsi/task.h"
#include "util/be.h"
#include "util/log.h"

enum sense_reason sbc_unmap_decode(const struct scsi_lu *lu, const uint8_t *p, uint32_t len,
				   struct sbc_unmap_desc *out, unsigned *n,
				   struct scsi_sense_detail *detail)
{
	*n = 0;
	if (len == 0)
		return SENSE_NONE;
	/* SBC-3 5.28.1: a list too short for its header. */
	if (len < SBC_UNMAP_HEADER_LEN)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	/* SBC-3 5.28.2: descriptors past the parameter list, or the bytes of
	 * a last partial one, are not there to process. */
	uint32_t bd_len = be16_get(p + 2);
	if (bd_len > len - SBC_UNMAP_HEADER_LEN)
		bd_len = len - SBC_UNMAP_HEADER_LEN;
	unsigned count = bd_len / SBC_UNMAP_DESC_LEN;
	if (count > SBC_UNMAP_MAX_DESCRIPTORS)
		return scsi_invalid_param_field(detail, 2, -1);
	uint64_t blocks = 0;
	for (unsigned i = 0; i < count; i++) {
		const uint8_t *d = p + SBC_UNMAP_HEADER_LEN + i * SBC_UNMAP_DESC_LEN;
		uint64_t lba = be64_get(d);
		uint32_t nb = be32_get(d + 8);
		if (!scsi_lu_range_ok(lu, lba, nb)) {
			detail->info_valid = true;
			detail->info = lba;
			return SENSE_LBA_OUT_OF_RANGE;
		}
		blocks += nb;
		if (blocks > SBC_UNMAP_MAX_BLOCKS)
			return scsi_invalid_param_field(detail, SBC_UNMAP_HEADER_LEN + i * SBC_UNMAP_DESC_LEN + 8,
							-1);
		out[i] = (struct sbc_unmap_desc){ .lba = lba, .count = nb };
	}
	*n = count;
	return SENSE_NONE;
}

/* The decoded descriptors live in the task's parameter buffer, each over
 * its own 16 bytes, so the command needs no memory beyond the list. */
static struct sbc_unmap_desc *unmap_descs(struct scsi_task *task)
{
	return (struct sbc_unmap_desc *)task->buf;
}

static void unmap_step(struct scsi_task *task, int err);

/* Up to SCSI_TASK_MAX_IOS discards at a time, from descriptor ios_next
 * to ios_end; descriptors of 0 blocks deallocate nothing (SBC-3 5.28.2). */
static void unmap_submit(struct scsi_task *task)
{
	const struct sbc_unmap_desc *descs = unmap_descs(task);
	scsi_task_io_step(task, unmap_step);
	unsigned used = 0;
	while (task->ios_next < task->ios_end && used < SCSI_TASK_MAX_IOS) {
		const struct sbc_unmap_desc *d = &descs[task->ios_next++];
		if (d->count == 0)
			continue;
		sbc_io_discard(task, d->lba * task->lu->block_size,
			       (uint64_t)d->count * task->lu->block_size);
		used++;
	}
	if (used == 0)
		scsi_task_finish_later(task, SENSE_NONE);
}

static void unmap_step(struct scsi_task *task, int err)
{
	if (err || task->ios_next >= task->ios_end)
		scsi_task_finish(task, scsi_task_io_reason(task, err));
	else
		unmap_submit(task);
}

enum sense_reason sbc_unmap(struct scsi_task *task)
{
	/* SBC-3 4.7.3.2: a fully provisioned LU does not serve UNMAP (LBPU 0):
	 * the row's `served` keeps it from coming here. */
	const struct scsi_lu *lu = task->lu;
	if (lu->readonly)
		return SENSE_WRITE_PROTECTED;
	if (scsi_lu_mode_has(lu, SCSI_MODE_SWP))
		return SENSE_SOFTWARE_WRITE_PROTECTED;
	uint32_t len = scsi_task_data_out_sent(task);
	unsigned n;
	struct sbc_unmap_desc descs[SBC_UNMAP_MAX_DESCRIPTORS];
	enum sense_reason r = sbc_unmap_decode(lu, task->buf, len, descs, &n, &task->detail);
	if (r != SENSE_NONE)
		return r;
	/* Each descriptor is 16 bytes of the list and a decoded one 16 too:
	 * copy them over the list they came from. */
	_Static_assert(sizeof(struct sbc_unmap_desc) <= SBC_UNMAP_DESC_LEN, "descriptor fits its bytes");
	for (unsigned i = 0; i < n; i++)
		unmap_descs(task)[i] = descs[i];
	task->ios_next = 0;
	task->ios_end = n;
	/* Deallocation is a write: it waits for a COMPARE AND WRITE on any
	 * of its blocks, held over the span of the descriptors. */
	uint64_t lo = UINT64_MAX, hi = 0;
	for (unsigned i = 0; i < n; i++) {
		if (descs[i].count == 0)
			continue;
		lo = descs[i].lba < lo ? descs[i].lba : lo;
		hi = descs[i].lba + descs[i].count > hi ? descs[i].lba + descs[i].count : hi;
	}
	if (hi == 0) {
		scsi_task_finish_later(task, SENSE_NONE);
		return SENSE_NONE;
	}
	scsi_task_range_lock_span(task, lo, hi - lo, false, unmap_submit);
	return SENSE_NONE;
}

/* SBC-3 5.20.2: provisioning status of an LBA status descriptor. */
#define LBA_MAPPED 0x0
#define LBA_DEALLOCATED 0x1

/* One descriptor at lba: the extent the store reports, in blocks. A
 * fully provisioned LU is mapped throughout, whatever its store says. */
static int lba_status_desc(const struct scsi_lu *lu, uint64_t lba, uint8_t *d)
{
	bool mapped = true;
	uint64_t bytes = (lu->nblocks - lba) * lu->block_size;
	if (sbc_lu_is_thin(lu)) {
		int err = backend_lba_status(lu->bs, lba * lu->block_size, &mapped, &bytes);
		if (err < 0)
			return err;
	}
	/* At least the block asked about, so the caller always moves on. */
	uint64_t blocks = bytes < lu->block_size ? 1 : bytes / lu->block_size;
	if (blocks > lu->nblocks - lba)
		blocks = lu->nblocks - lba;
	if (blocks > UINT32_MAX)
		blocks = UINT32_MAX;
	memset(d, 0, 16);
	be64_put(d, lba);
	be32_put(d + 8, (uint32_t)blocks);
	d[12] = mapped ? LBA_MAPPED : LBA_DEALLOCATED;
	return 0;
}

/* SBC-3 5.20: the extents from the starting LBA on, as many as the
 * allocation length holds (at least one, cut short by it). */
enum sense_reason sbc_get_lba_status(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	if (task->lba >= lu->nblocks)
		return SENSE_LBA_OUT_OF_RANGE;
	uint8_t resp[SBC_LBA_STATUS_RESP_MAX];
	unsigned room = task->xfer_len > 8 ? (task->xfer_len - 8) / 16 : 0;
	unsigned max = room < 1 ? 1 : room < SBC_LBA_STATUS_MAX_DESCRIPTORS ? room : SBC_LBA_STATUS_MAX_DESCRIPTORS;
	unsigned n = 0;
	memset(resp, 0, 8);
	for (uint64_t lba = task->lba; n < max && lba < lu->nblocks; n++) {
		uint8_t *d = resp + 8 + 16 * n;
		int ret = lba_status_desc(lu, lba, d);
		if (ret < 0) {
			log_error("scsi: LUN %u GET LBA STATUS at LBA %llu: %s", lu->lun, (unsigned long long)lba,
				  strerror(-ret));
			return ret == -EIO ? SENSE_READ_ERROR : SENSE_INTERNAL_TARGET_FAILURE;
		}
		lba += be32_get(d + 8);
	}
	be32_put(resp, 4 + 16 * n);
	scsi_task_reply(task, resp, 8 + 16 * n);
	return SENSE_NONE;
}
