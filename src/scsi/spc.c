#include <string.h>

#include "util/be.h"
#include "scsi/handlers.h"
#include "scsi/nexus.h"
#include "scsi/opcodes.h"
#include "scsi/sbc_sanitize.h"
#include "scsi/task.h"

enum sense_reason spc_test_unit_ready(struct scsi_task *task)
{
	return SENSE_NONE;
}

/* SPC-4 6.29: reports a pending unit attention (and clears it), LOGICAL
 * UNIT NOT SUPPORTED for an absent LUN, else NO SENSE; GOOD status either
 * way. DESC picks descriptor format. */
enum sense_reason spc_request_sense(struct scsi_task *task)
{
	bool descriptor = task->cdb[1] & 0x01;
	enum sense_reason pending = SENSE_LUN_NOT_SUPPORTED;
	struct scsi_sense_detail detail = { 0 };
	if (task->lu)
		pending = scsi_ua_take(task->nexus, task->lu->lun);
	if (task->lu && pending == SENSE_NONE)
		pending = sbc_sanitize_sense(task->lu, &detail);
	uint8_t sense[SENSE_DESC_MAX_LEN];
	size_t len = sense_build(sense, pending, &detail, descriptor);
	scsi_task_reply(task, sense, len);
	return SENSE_NONE;
}

/* SPC-4 6.33 */
enum sense_reason spc_report_luns(struct scsi_task *task)
{
	enum { SELECT_ALL_LOGICAL = 0x00, SELECT_WELL_KNOWN = 0x01, SELECT_ALL = 0x02 };
	uint8_t select = task->cdb[2];
	if (select != SELECT_ALL_LOGICAL && select != SELECT_WELL_KNOWN && select != SELECT_ALL)
		return scsi_invalid_cdb_field(&task->detail, 2, -1);
	if (be32_get(task->cdb + 6) < 16)
		return scsi_invalid_cdb_field(&task->detail, 6, -1);

	uint8_t resp[8 + 8 * SCSI_MAX_LUNS];
	size_t len = 8;
	memset(resp, 0, len);
	/* lunar has no well-known logical units. The list is the nexus's view,
	 * in the initiator's numbering (SAM-5 4.6.2). */
	if (select != SELECT_WELL_KNOWN) {
		const struct scsi_lun_map *map = scsi_target_lun_map(task->nexus->target);
		for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++) {
			int target_lun = scsi_nexus_target_lun(task->nexus, (int)lun);
			if (target_lun < 0 || !map->lus[target_lun])
				continue;
			be64_put(resp + len, scsi_lun_encode((uint16_t)lun));
			len += 8;
		}
	}
	be32_put(resp, (uint32_t)(len - 8));
	scsi_task_reply(task, resp, len);
	return SENSE_NONE;
}
