#include <pthread.h>
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

/* Each of the target's ports is a group of its own (in iSCSI, a portal
 * group: relative port and group are the portal group tag), which the
 * configuration sets; with one lunar process serving them all, every
 * group is active/optimized. Several gateways in front of the same store
 * will each serve their own groups, their states from their
 * configuration: this is the one place to read them from. */
enum scsi_tpg_state scsi_tpg_state(const struct scsi_target *target, uint16_t tpg)
{
	return SCSI_TPG_ACTIVE_OPTIMIZED;
}

void scsi_target_set_ports(struct scsi_target *target, const uint16_t *ports, unsigned n)
{
	if (n > SCSI_MAX_PORTS)
		n = SCSI_MAX_PORTS;
	pthread_mutex_lock(&target->lock);
	if (n)
		memcpy(target->ports, ports, n * sizeof(*ports));
	target->nports = n;
	pthread_mutex_unlock(&target->lock);
}

/* SPC-4 6.36: REPORT TARGET PORT GROUPS. TPGS is implicit (01b): the
 * states change only by the target's own doing, so there is no SET
 * TARGET PORT GROUPS, and no implicit transition takes time. The groups
 * change only with the configuration, so the handler may take the
 * target's lock briefly to copy them. */
enum sense_reason spc_report_target_port_groups(struct scsi_task *task)
{
	struct scsi_target *tgt = task->nexus->target;
	unsigned format = task->cdb[1] >> 5;
	if (format != RTPG_FORMAT_LENGTH_ONLY && format != RTPG_FORMAT_EXTENDED)
		return scsi_invalid_cdb_field(&task->detail, 1, 7);

	uint16_t ports[SCSI_MAX_PORTS];
	pthread_mutex_lock(&tgt->lock);
	unsigned nports = tgt->nports;
	memcpy(ports, tgt->ports, nports * sizeof(*ports));
	pthread_mutex_unlock(&tgt->lock);
	if (nports == 0) {
		ports[0] = task->nexus->rel_port;
		nports = 1;
	}

	uint8_t resp[RTPG_RESP_MAX];
	memset(resp, 0, sizeof(resp));
	size_t len = 4;
	if (format == RTPG_FORMAT_EXTENDED) {
		resp[4] = RTPG_FORMAT_EXTENDED << 4;
		len = 8; /* IMPLICIT TRANSITION TIME 0 */
	}
	for (unsigned i = 0; i < nports; i++) {
		uint8_t *d = resp + len;
		d[0] = 0x80 | scsi_tpg_state(tgt, ports[i]); /* PREF: every group is preferred */
		d[1] = TPG_AO_SUP;
		be16_put(d + 2, ports[i]);
		d[7] = 1; /* TARGET PORT COUNT */
		be16_put(d + 10, ports[i]);
		len += 12;
	}
	be32_put(resp, (uint32_t)(len - 4));
	scsi_task_reply(task, resp, len);
	return SENSE_NONE;
}
