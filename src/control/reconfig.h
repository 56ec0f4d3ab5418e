/* The difference between two configurations (ctld style): what a reload
 * or an edit asks the running daemon to change. Pure: it compares two
 * parsed configurations and opens, binds or frees nothing; running.c
 * applies the changes.
 *
 * What applies live, and to whom (docs/CONFIG.md "Reloading"):
 * - targets, LUNs, portals and portal groups: at once (a target's
 *   portal groups and per-target iscsi group: new logins; its sessions
 *   through a group it is no longer reached through are ended);
 * - a target's alias, open, acl and chap, discovery CHAP, the iscsi group
 *   and the login limits: to logins from then on; sessions already logged
 *   in keep what they negotiated and the LUN view they got, except that
 *   those of an initiator a target no longer admits are ended;
 * - threads, memory_budget, state_dir and the connection limits: only at
 *   the next start (the change is reported, not applied). */
#ifndef LUNAR_CONTROL_RECONFIG_H
#define LUNAR_CONTROL_RECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "control/config.h"

enum reconfig_kind {
	RECONFIG_TARGET_ADD,      /* new->targets[new_target] */
	RECONFIG_TARGET_REMOVE,   /* old->targets[old_target] */
	RECONFIG_TARGET_ACCESS,   /* alias, open, acl or chap of a target in both */
	RECONFIG_LUN_ADD,         /* new_target's luns[new_lun] */
	RECONFIG_LUN_REMOVE,      /* old_target's luns[old_lun] */
	RECONFIG_LUN_GROW,        /* only its size key grew */
	RECONFIG_LUN_REPLACE,     /* another store key changed: removed, then added */
	RECONFIG_PORTAL_ADD,      /* new->portals[portal] */
	RECONFIG_PORTAL_REMOVE,   /* old->portals[portal] */
	RECONFIG_PORTAL_MOVE,     /* new->portals[portal] is in another group now */
	RECONFIG_GROUP_ADD,       /* new->groups[portal] */
	RECONFIG_GROUP_REMOVE,    /* old->groups[portal] */
	RECONFIG_TARGET_GROUPS,   /* a target's portal_groups: new logins; sessions through a group it left end */
	RECONFIG_TARGET_PARAMS,   /* a target's own iscsi group: new logins */
	RECONFIG_DISCOVERY_CHAP,
	RECONFIG_ISCSI_PARAMS,    /* the iscsi group: new logins */
	RECONFIG_LOGIN_LIMITS,    /* limits read at login: new logins */
	RECONFIG_AT_RESTART,      /* setting: applies at the next start */
};

#define RECONFIG_NONE ((size_t)-1)

struct reconfig_change {
	enum reconfig_kind kind;
	size_t old_target, new_target; /* indices, or RECONFIG_NONE */
	size_t old_lun, new_lun;       /* indices in the targets' luns */
	size_t portal;                 /* index in portals, or in groups */
	const char *setting;           /* RECONFIG_AT_RESTART: its key */
};

struct reconfig_plan {
	struct reconfig_change *changes;
	size_t n;
};

/* The changes that turn old into new, in the order they are applied:
 * removals first (so a LUN number or portal can be reused), then
 * changes, then additions. Returns 0, or -1 with err saying why new
 * cannot replace old live (a LUN shrunk) or -ENOMEM. */
int reconfig_diff(const struct lunar_config *old, const struct lunar_config *new,
		  struct reconfig_plan *plan, char *err, size_t errlen);
void reconfig_plan_free(struct reconfig_plan *plan);
/* One line for the change, such as "added LUN 1 to target iqn...". */
void reconfig_describe(const struct reconfig_change *c, const struct lunar_config *old,
		       const struct lunar_config *new, char *buf, size_t len);

#endif
