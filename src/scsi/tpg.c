#include <string.h>

#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/task.h"
#include "scsi/tpg.h"
#include "util/be.h"

/* SPC-4 6.36 table 170: PARAMETER DATA FORMAT in CDB byte 1 bits 7:5. */
#define RTPG_FORMAT_LENGTH_ONLY 0x0
#define RTPG_FORMAT_EXTENDED 0x1

/* SPC-4 table 171, byte 1: the states this group can be in. */
#define TPG_AO_SUP 0x01

/* The target has one port (relative port target->rel_port) in one group
 * (target->tpg), which the configuration sets; with one lunar process per
 * port the group is active/optimized. Several gateways in front of the
 * same store will each serve their own group, its state from their
 * configuration: this is the one place to read it from. */
enum scsi_tpg_state scsi_tpg_state(const struct scsi_target *target)
{
	return SCSI_TPG_ACTIVE_OPTIMIZED;
}

/* SPC-4 6.36: REPORT TARGET PORT GROUPS. TPGS is implicit (01b): the
 * states change only by the target's own doing, so there is no SET
 * TARGET PORT GROUPS, and no implicit transition takes time. */
enum sense_reason spc_report_target_port_groups(struct scsi_task *task)
{
	const struct scsi_target *tgt = task->nexus->target;
	unsigned format = task->cdb[1] >> 5;
	if (format != RTPG_FORMAT_LENGTH_ONLY && format != RTPG_FORMAT_EXTENDED)
		return scsi_invalid_cdb_field(&task->detail, 1, 7);

	uint8_t resp[RTPG_RESP_MAX];
	memset(resp, 0, sizeof(resp));
	size_t len = 4;
	if (format == RTPG_FORMAT_EXTENDED) {
		resp[4] = RTPG_FORMAT_EXTENDED << 4;
		len = 8; /* IMPLICIT TRANSITION TIME 0 */
	}
	uint8_t *d = resp + len;
	d[0] = 0x80 | scsi_tpg_state(tgt); /* PREF: the group to prefer */
	d[1] = TPG_AO_SUP;
	be16_put(d + 2, tgt->tpg);
	d[7] = 1; /* TARGET PORT COUNT */
	be16_put(d + 10, tgt->rel_port);
	len += 12;
	be32_put(resp, (uint32_t)(len - 4));
	scsi_task_reply(task, resp, len);
	return SENSE_NONE;
}
