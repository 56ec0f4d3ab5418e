/* The targets lunard serves, built from the configuration at start-up:
 * each target's LUs over their opened backing stores, and the answers the
 * transport asks the control plane for (find a target, SendTargets). */
#ifndef LUNAR_CONTROL_TARGETS_H
#define LUNAR_CONTROL_TARGETS_H

#include <stddef.h>
#include <sys/socket.h>

#include "control/config.h"
#include "scsi/scsi.h"

/* The one portal group every portal belongs to, for now. */
#define LUNAR_TPGT 1

struct lunar_target {
	struct scsi_target scsi;
	char *alias;
	struct backend *stores[SCSI_MAX_LUNS];
};

/* Opens every backing store and creates the LUs. Returns 0 or -errno
 * (logged, naming the target and LUN). */
int targets_build(const struct lunar_config *cfg);
void targets_free(void);
size_t targets_count(void);
struct lunar_target *targets_at(size_t i);

void *targets_find(const char *name);
struct scsi_target *targets_scsi(void *target);
const char *targets_alias(void *target);
/* SendTargets (RFC 7143 §12.3) over every portal; a wildcard portal is
 * listed as each address of this host in its family. Returns the bytes
 * written or -errno. */
int targets_sendtargets(const char *value, const char *session_target,
			char *out, size_t cap);

#endif
