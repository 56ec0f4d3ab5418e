/* Asymmetric logical unit access (SPC-4 5.16): the target port groups a
 * LU is reached through and their states, in one place (tpg.c), so that
 * INQUIRY, VPD 83h and REPORT TARGET PORT GROUPS agree. */
#ifndef LUNAR_SCSI_TPG_H
#define LUNAR_SCSI_TPG_H

#include <stdint.h>

#include "scsi/scsi.h"

/* SPC-4 table 171: ASYMMETRIC ACCESS STATE. */
enum scsi_tpg_state {
	SCSI_TPG_ACTIVE_OPTIMIZED = 0x0,
	SCSI_TPG_ACTIVE_NON_OPTIMIZED = 0x1,
	SCSI_TPG_STANDBY = 0x2,
	SCSI_TPG_UNAVAILABLE = 0x3,
};

/* REPORT TARGET PORT GROUPS: the extended header and every group, of one
 * port each (SPC-4 6.36). */
#define RTPG_RESP_MAX (8 + SCSI_MAX_PORTS * (8 + 4))

/* The access state of target's port group tpg. */
enum scsi_tpg_state scsi_tpg_state(const struct scsi_target *target, uint16_t tpg);
/* Control side: the target's ports (relative port = group), at most
 * SCSI_MAX_PORTS; REPORT TARGET PORT GROUPS lists them from then on. */
void scsi_target_set_ports(struct scsi_target *target, const uint16_t *ports, unsigned n);

#endif
