/* Persistent reservations of an LU as tasks meet them (pr.c); private to
 * the SCSI core. */
#ifndef LUNAR_SCSI_PR_H
#define LUNAR_SCSI_PR_H

#include <stdbool.h>

#include "scsi/opcodes.h"
#include "scsi/scsi.h"

/* Sets up lu's reservation state: what its APTPL file under state_dir
 * holds (NULL: no file, and APTPL is not supported), else none. 0 or
 * -ENOMEM / -ENAMETOOLONG; an unreadable file is logged and ignored. */
int scsi_pr_init(struct scsi_lu *lu, const char *state_dir, const char *target_name);
void scsi_pr_fini(struct scsi_lu *lu);

/* Under pr_lock, after any change: pr_reserved follows the state. */
void scsi_pr_update_flag(struct scsi_lu *lu);

/* reserve.c: the SPC-2 reservation ends with a LOGICAL UNIT RESET of lu,
 * and with the loss of the I_T nexus that holds it (from scsi_nexus_fini,
 * without the target's lock). */
void scsi_reserve_lu_reset(struct scsi_lu *lu);
void scsi_reserve_nexus_gone(struct scsi_nexus *nexus);

bool scsi_pr_conflicts_locked(struct scsi_lu *lu, const struct scsi_nexus *nexus,
			      enum op_pr access);

/* True when a command of class access from nexus meets RESERVATION
 * CONFLICT: a persistent reservation by the opcode table's column, an
 * SPC-2 reservation of another nexus for every command but the allowed
 * ones (SPC-2 5.5.1). Without a reservation this is one relaxed load. */
static inline bool scsi_pr_conflicts(struct scsi_lu *lu, const struct scsi_nexus *nexus,
				     enum op_pr access)
{
	if (access == OP_PR_ALLOWED ||
	    !atomic_load_explicit(&lu->pr_reserved, memory_order_relaxed))
		return false;
	return scsi_pr_conflicts_locked(lu, nexus, access);
}

#endif
