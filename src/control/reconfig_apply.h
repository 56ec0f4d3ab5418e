/* A reconfiguration plan (reconfig.h) applied to the running daemon: the
 * target registry (targets.h) and the portals (portal.h), one change at a
 * time, each with its undo, so that a change is all or nothing. What
 * cannot be undone (ending the sessions of a removed target, closing a
 * removed LUN's store) waits for reconfig_commit. Swapping the
 * configuration pointers (access, limits) is the caller's, at commit.
 * Control thread. */
#ifndef LUNAR_CONTROL_RECONFIG_APPLY_H
#define LUNAR_CONTROL_RECONFIG_APPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "control/reconfig.h"

struct reconfig_applied;

/* Refuses (-EBUSY) to delete or replace what a logged-in session uses
 * unless force, then applies plan's changes from old to new. On error
 * undoes what it did and returns -errno with err saying why. On success
 * *out goes to reconfig_commit once the new configuration is kept, or to
 * reconfig_undo. old, new and plan must live until then. */
int reconfig_apply(const struct reconfig_plan *plan, const struct lunar_config *old,
		   const struct lunar_config *new, bool force, struct reconfig_applied **out, char *err,
		   size_t errlen);
void reconfig_commit(struct reconfig_applied *a);
void reconfig_undo(struct reconfig_applied *a);

#endif
