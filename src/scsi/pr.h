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

bool scsi_pr_conflicts_locked(struct scsi_lu *lu, const struct scsi_nexus *nexus,
			      enum op_pr access);

/* True when a command of class access from nexus meets RESERVATION
 * CONFLICT. Without a reservation this is one relaxed load. */
static inline bool scsi_pr_conflicts(struct scsi_lu *lu, const struct scsi_nexus *nexus,
				     enum op_pr access)
{
	if (access == OP_PR_ALLOWED ||
	    !atomic_load_explicit(&lu->pr_reserved, memory_order_relaxed))
		return false;
	return scsi_pr_conflicts_locked(lu, nexus, access);
}

#endif
