#include <string.h>

#include "util/be.h"
#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/sbc_thin.h"
#include "scsi/task.h"

/* A file the LU sits on may have been extended; READ CAPACITY is where an
 * initiator looks for the new size (after a rescan), so the one fstat is
 * spent here rather than on every I/O. */
static uint64_t sbc_current_nblocks(struct scsi_task *task)
{
	scsi_lu_refresh_size(task->lu, task->nexus);
	return atomic_load(&task->lu->nblocks);
}

/* SBC-3 5.16 */
enum sense_reason sbc_read_capacity10(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	bool pmi = task->cdb[8] & 0x01;
	if (!pmi && task->lba != 0)
		return scsi_invalid_cdb_field(&task->detail, 2, -1);
	uint64_t last = sbc_current_nblocks(task) - 1;
	uint8_t resp[8];
	/* FFFFFFFFh sends the initiator to READ CAPACITY(16). */
	be32_put(resp, last >= UINT32_MAX ? UINT32_MAX : (uint32_t)last);
	be32_put(resp + 4, lu->block_size);
	scsi_task_reply(task, resp, sizeof(resp));
	return SENSE_NONE;
}

/* SBC-3 5.17 */
enum sense_reason sbc_read_capacity16(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	bool pmi = task->cdb[14] & 0x01;
	if (!pmi && task->lba != 0)
		return scsi_invalid_cdb_field(&task->detail, 2, -1);
	uint8_t resp[32];
	memset(resp, 0, sizeof(resp));
	be64_put(resp, sbc_current_nblocks(task) - 1);
	be32_put(resp + 8, lu->block_size);
	/* No protection information; LOGICAL BLOCKS PER PHYSICAL BLOCK
	 * EXPONENT (3 for 512e), lowest aligned LBA 0. A thin LU sets LBPME and LBPRZ (SBC-3 4.7.3):
	 * deallocated blocks read as zeros. */
	resp[13] = (uint8_t)__builtin_ctz(lu->physical_block_size / lu->block_size);
	if (sbc_lu_is_thin(lu))
		resp[14] = 0x80 | 0x40;
	scsi_task_reply(task, resp, sizeof(resp));
	return SENSE_NONE;
}

/* SBC-3 5.25: the medium is not removable and has no power conditions, so
 * START, STOP and LOEJ leave the LU as it is, ready. */
enum sense_reason sbc_start_stop_unit(struct scsi_task *task)
{
	return SENSE_NONE;
}

/* SBC-3 PREVENT ALLOW MEDIUM REMOVAL: the LU reports RMB 0, so there is no
 * medium to lock; 00b (allow) and 01b (prevent) are accepted and change
 * nothing, 10b and 11b are obsolete. */
enum sense_reason sbc_prevent_allow(struct scsi_task *task)
{
	if ((task->cdb[4] & 0x03) > 1)
		return scsi_invalid_cdb_field(&task->detail, 4, 1);
	return SENSE_NONE;
}

/* SBC-3 PRE-FETCH (10) and (16): CONDITION MET promises that the whole
 * range now sits in a cache of the LU; GOOD is the answer for a cache
 * that cannot hold it. lunar keeps no cache of its own (the page cache is
 * the kernel's, and O_DIRECT stores have none), so it promises nothing:
 * the range was checked in prepare, IMMED changes nothing, GOOD. */
enum sense_reason sbc_prefetch(struct scsi_task *task)
{
	return SENSE_NONE;
}

/* SBC-3 READ DEFECT DATA (10) and (12): the store hides its defects, so the
 * list is empty, and an empty list can be given in any defined format:
 * 000b short block, 001b extended bytes from index, 010b extended
 * physical sector, 011b long block, 100b bytes from index, 101b physical
 * sector. 110b (vendor specific) and 111b (reserved) are refused. */
#define DEFECT_FORMAT_LAST_DEFINED 0x5
#define DEFECT_REQ_LISTS 0x18 /* REQ_PLIST, REQ_GLIST; PLISTV, GLISTV alike */
#define DEFECT_FORMAT 0x07

enum sense_reason sbc_read_defect_data(struct scsi_task *task)
{
	bool twelve = task->op->cdb_len == 12;
	unsigned byte = twelve ? 1 : 2;
	uint8_t format = task->cdb[byte] & DEFECT_FORMAT;
	if (format > DEFECT_FORMAT_LAST_DEFINED)
		return scsi_invalid_cdb_field(&task->detail, byte, 2);
	/* The header: the lists asked for are the (empty) lists returned, in
	 * the format asked for; DEFECT LIST LENGTH 0 and, for (12), GENERATION
	 * CODE 0 (not supported). */
	uint8_t resp[8] = { 0 };
	resp[1] = (uint8_t)((task->cdb[byte] & DEFECT_REQ_LISTS) | format);
	scsi_task_reply(task, resp, twelve ? 8 : 4);
	return SENSE_NONE;
}
