#include "control/reconfig_apply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/portal.h"
#include "control/targets.h"
#include "util/log.h"

struct step {
	const struct reconfig_change *c;
	struct lunar_target *detached;   /* TARGET_REMOVE: held until commit */
	struct scsi_lu *lu;              /* LUN_REMOVE: held until commit */
};

struct reconfig_applied {
	const struct lunar_config *old, *new;
	struct step *steps;
	size_t done;
};

static const struct config_target *old_target(const struct reconfig_applied *a, const struct reconfig_change *c)
{
	return &a->old->targets[c->old_target];
}

static const struct config_target *new_target(const struct reconfig_applied *a, const struct reconfig_change *c)
{
	return &a->new->targets[c->new_target];
}

static uint64_t lun_size(const struct config_lun *cl)
{
	const struct backend_value *v = backend_config_value(&cl->bs, "size");
	return v && v->given ? v->size : 0;
}

/* Unless forced, nothing a logged-in session uses is deleted. */
static int check_in_use(const struct reconfig_applied *a, const struct reconfig_plan *plan, char *err,
			size_t errlen)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct reconfig_change *c = &plan->changes[i];
		if (c->kind != RECONFIG_TARGET_REMOVE && c->kind != RECONFIG_LUN_REMOVE &&
		    c->kind != RECONFIG_LUN_REPLACE)
			continue;
		const struct config_target *t = old_target(a, c);
		unsigned n = targets_sessions(t->name);
		if (n == 0)
			continue;
		const char *s = n == 1 ? "" : "s";
		if (c->kind == RECONFIG_TARGET_REMOVE)
			snprintf(err, errlen, "target %s is in use by %u session%s (force to delete)", t->name, n, s);
		else
			snprintf(err, errlen, "target %s: LUN %u is in use by %u session%s (force to %s)", t->name,
				 t->luns[c->old_lun].lun, n, s,
				 c->kind == RECONFIG_LUN_REMOVE ? "delete" : "replace its store");
		return -EBUSY;
	}
	return 0;
}

static int step_do(struct reconfig_applied *a, struct step *s)
{
	const struct reconfig_change *c = s->c;
	switch (c->kind) {
	case RECONFIG_TARGET_ADD:
		return targets_add(new_target(a, c));
	case RECONFIG_TARGET_REMOVE:
		s->detached = targets_detach(old_target(a, c)->name);
		return s->detached ? 0 : -ENOENT;
	case RECONFIG_LUN_ADD:
		return targets_add_lun(new_target(a, c)->name, &new_target(a, c)->luns[c->new_lun]);
	case RECONFIG_LUN_REMOVE:
		s->lu = targets_detach_lun(old_target(a, c)->name, old_target(a, c)->luns[c->old_lun].lun);
		return s->lu ? 0 : -ENOMEM;
	case RECONFIG_LUN_REPLACE: {
		const struct config_target *t = old_target(a, c);
		int ret = targets_replace_lun(t->name, &new_target(a, c)->luns[c->new_lun]);
		if (ret < 0 && ret != -EBUSY && targets_add_lun(t->name, &t->luns[c->old_lun]) < 0)
			log_error("target %s LUN %u: its old store would not open again: the LUN is gone",
				  t->name, t->luns[c->old_lun].lun);
		return ret;
	}
	case RECONFIG_LUN_GROW: {
		const struct config_lun *cl = &new_target(a, c)->luns[c->new_lun];
		return targets_grow_lun(new_target(a, c)->name, cl, lun_size(cl));
	}
	case RECONFIG_PORTAL_ADD:
		return portals_add(&a->new->portals[c->portal]);
	case RECONFIG_PORTAL_REMOVE:
		return portals_remove(&a->old->portals[c->portal]);
	case RECONFIG_DISCOVERY_CHAP:
	case RECONFIG_TARGET_ACCESS:
	case RECONFIG_ISCSI_PARAMS:
	case RECONFIG_LOGIN_LIMITS:
	case RECONFIG_AT_RESTART:
	case RECONFIG_PORTAL_MOVE:
	case RECONFIG_GROUP_ADD:
	case RECONFIG_GROUP_REMOVE:
	case RECONFIG_TARGET_GROUPS:
	case RECONFIG_TARGET_PARAMS:
		/* Swapped all at once at commit (running.c ends the sessions
		 * through groups their target left). */
		return 0;
	}
	return 0;
}

static void step_undo(struct reconfig_applied *a, struct step *s)
{
	const struct reconfig_change *c = s->c;
	int ret = 0;
	switch (c->kind) {
	case RECONFIG_TARGET_ADD: {
		struct lunar_target *t = targets_detach(new_target(a, c)->name);
		if (t)
			targets_retire(t, false);
		break;
	}
	case RECONFIG_TARGET_REMOVE:
		ret = targets_attach(s->detached);
		s->detached = NULL;
		break;
	case RECONFIG_LUN_ADD:
		ret = targets_remove_lun(new_target(a, c)->name, new_target(a, c)->luns[c->new_lun].lun);
		break;
	case RECONFIG_LUN_REMOVE:
		ret = targets_attach_lun(old_target(a, c)->name, s->lu);
		s->lu = NULL;
		break;
	case RECONFIG_LUN_REPLACE:
		ret = targets_replace_lun(old_target(a, c)->name, &old_target(a, c)->luns[c->old_lun]);
		break;
	case RECONFIG_PORTAL_ADD:
		ret = portals_remove(&a->new->portals[c->portal]);
		break;
	case RECONFIG_PORTAL_REMOVE:
		ret = portals_add(&a->old->portals[c->portal]);
		break;
	case RECONFIG_LUN_GROW:
		/* A LUN never shrinks: it stays grown. */
	case RECONFIG_PORTAL_MOVE:
	case RECONFIG_GROUP_ADD:
	case RECONFIG_GROUP_REMOVE:
	case RECONFIG_TARGET_GROUPS:
	case RECONFIG_TARGET_PARAMS:
	case RECONFIG_DISCOVERY_CHAP:
	case RECONFIG_TARGET_ACCESS:
	case RECONFIG_ISCSI_PARAMS:
	case RECONFIG_LOGIN_LIMITS:
	case RECONFIG_AT_RESTART:
		break;
	}
	if (ret < 0) {
		char what[512];
		reconfig_describe(c, a->old, a->new, what, sizeof(what));
		log_error("configuration: cannot undo \"%s\": %s", what, strerror(-ret));
	}
}

void reconfig_undo(struct reconfig_applied *a)
{
	while (a->done > 0)
		step_undo(a, &a->steps[--a->done]);
	free(a->steps);
	free(a);
}

void reconfig_commit(struct reconfig_applied *a)
{
	for (size_t i = 0; i < a->done; i++) {
		struct step *s = &a->steps[i];
		if (s->detached)
			targets_retire(s->detached, true);
		scsi_lu_put(s->lu);
	}
	free(a->steps);
	free(a);
}

int reconfig_apply(const struct reconfig_plan *plan, const struct lunar_config *old,
		   const struct lunar_config *new, bool force, struct reconfig_applied **out, char *err,
		   size_t errlen)
{
	struct reconfig_applied *a = calloc(1, sizeof(*a));
	if (a)
		a->steps = calloc(plan->n ? plan->n : 1, sizeof(*a->steps));
	if (!a || !a->steps) {
		free(a);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	a->old = old;
	a->new = new;
	int ret = force ? 0 : check_in_use(a, plan, err, errlen);
	for (size_t i = 0; ret == 0 && i < plan->n; i++) {
		a->steps[i].c = &plan->changes[i];
		ret = step_do(a, &a->steps[i]);
		if (ret < 0) {
			char what[512];
			reconfig_describe(&plan->changes[i], old, new, what, sizeof(what));
			snprintf(err, errlen, "cannot apply \"%s\": %s; nothing changed", what, strerror(-ret));
		} else {
			a->done++;
		}
	}
	if (ret < 0) {
		reconfig_undo(a);
		return ret;
	}
	*out = a;
	return 0;
}
