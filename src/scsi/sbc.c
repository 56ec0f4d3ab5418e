#include <string.h>

#include "scsi/cdb.h"
#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/task.h"

/* SBC-3 5.16 */
enum sense_reason sbc_read_capacity10(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	bool pmi = task->cdb[8] & 0x01;
	if (!pmi && task->lba != 0)
		return scsi_invalid_cdb_field(&task->detail, 2, -1);
	uint64_t last = lu->nblocks - 1;
	uint8_t resp[8];
	/* FFFFFFFFh sends the initiator to READ CAPACITY(16). */
	put_be32(resp, last >= UINT32_MAX ? UINT32_MAX : (uint32_t)last);
	put_be32(resp + 4, lu->block_size);
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
	put_be64(resp, lu->nblocks - 1);
	put_be32(resp + 8, lu->block_size);
	/* No protection information, LBPME 0 (fully provisioned), one logical
	 * block per physical block, lowest aligned LBA 0. */
	scsi_task_reply(task, resp, sizeof(resp));
	return SENSE_NONE;
}

/* SBC-3 5.25: the medium is not removable and has no power conditions, so
 * START, STOP and LOEJ leave the LU as it is, ready. */
enum sense_reason sbc_start_stop_unit(struct scsi_task *task)
{
	return SENSE_NONE;
}
