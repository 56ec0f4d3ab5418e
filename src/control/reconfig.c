/* The difference between two parsed configurations (reconfig.h). Targets
 * are matched by name, LUNs by number within a target, portals by
 * address. */
#include "control/reconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool chap_account_same(const struct config_chap_account *a, const struct config_chap_account *b)
{
	return str_same(a->user, b->user) && str_same(a->secret, b->secret);
}

static bool chap_same(const struct config_chap *a, const struct config_chap *b)
{
	if (a->nusers != b->nusers || a->required != b->required || !chap_account_same(&a->mutual, &b->mutual))
		return false;
	for (size_t i = 0; i < a->nusers; i++)
		if (!chap_account_same(&a->users[i], &b->users[i]))
			return false;
	return true;
}

static bool acl_entry_same(const struct config_acl *a, const struct config_acl *b)
{
	return str_same(a->initiator, b->initiator) && str_same(a->chap_user, b->chap_user) &&
	       a->nluns == b->nluns && (a->nluns == 0 || memcmp(a->luns, b->luns, a->nluns * sizeof(*a->luns)) == 0);
}

static bool access_same(const struct config_target *a, const struct config_target *b)
{
	if (!str_same(a->alias, b->alias) || a->open != b->open || a->nacl != b->nacl || !chap_same(&a->chap, &b->chap))
		return false;
	for (size_t i = 0; i < a->nacl; i++)
		if (!acl_entry_same(&a->acl[i], &b->acl[i]))
			return false;
	return true;
}

static bool value_same(enum backend_key_type type, const struct backend_value *a, const struct backend_value *b)
{
	if (a->given != b->given)
		return false;
	if (!a->given)
		return true;
	switch (type) {
	case BACKEND_KEY_STRING:
	case BACKEND_KEY_PATH:
		return strcmp(a->str, b->str) == 0;
	case BACKEND_KEY_BOOL:
		return a->flag == b->flag;
	case BACKEND_KEY_SIZE:
		return a->size == b->size;
	case BACKEND_KEY_INT:
		return a->num == b->num;
	}
	return false;
}

/* A store that can grow while served (backend.h current_size) grows
 * through its "size" key; any other key's change makes another store. */
static bool key_is_growable_size(const struct backend_type *type, size_t j)
{
	return type->current_size && type->keys[j].type == BACKEND_KEY_SIZE && strcmp(type->keys[j].name, "size") == 0;
}

enum lun_delta { LUN_SAME, LUN_GROWS, LUN_SHRINKS, LUN_OTHER };

static enum lun_delta lun_compare(const struct config_lun *a, const struct config_lun *b)
{
	const struct backend_config *x = &a->bs, *y = &b->bs;
	if (x->type != y->type || x->block_size != y->block_size ||
	    x->physical_block_size != y->physical_block_size || x->readonly != y->readonly ||
	    !str_same(a->serial, b->serial))
		return LUN_OTHER;
	enum lun_delta delta = LUN_SAME;
	for (size_t j = 0; j < x->type->nkeys; j++) {
		const struct backend_value *u = &x->values[j], *v = &y->values[j];
		if (!key_is_growable_size(x->type, j)) {
			if (!value_same(x->type->keys[j].type, u, v))
				return LUN_OTHER;
			continue;
		}
		/* No size in the new one: the store keeps the size it has. */
		if (!v->given || (u->given && u->size == v->size))
			continue;
		delta = u->given && v->size < u->size ? LUN_SHRINKS : LUN_GROWS;
	}
	return delta;
}

static const struct config_lun *lun_find(const struct config_target *t, uint16_t lun, size_t *at)
{
	for (size_t i = 0; i < t->nluns; i++) {
		if (t->luns[i].lun == lun) {
			*at = i;
			return &t->luns[i];
		}
	}
	return NULL;
}

static const struct config_target *target_find(const struct lunar_config *cfg, const char *name, size_t *at)
{
	for (size_t i = 0; i < cfg->ntargets; i++) {
		if (strcmp(cfg->targets[i].name, name) == 0) {
			*at = i;
			return &cfg->targets[i];
		}
	}
	return NULL;
}

static const struct config_portal *portal_find(const struct lunar_config *cfg, const struct config_portal *p)
{
	for (size_t i = 0; i < cfg->nportals; i++)
		if (cfg->portals[i].addrlen == p->addrlen && memcmp(&cfg->portals[i].addr, &p->addr, p->addrlen) == 0)
			return &cfg->portals[i];
	return NULL;
}

static bool portal_in(const struct lunar_config *cfg, const struct config_portal *p)
{
	return portal_find(cfg, p) != NULL;
}

static bool group_in(const struct lunar_config *cfg, uint16_t tag)
{
	for (size_t i = 0; i < cfg->ngroups; i++)
		if (cfg->groups[i] == tag)
			return true;
	return false;
}

/* The groups a target names (not the effective ones: a group added or
 * removed is a change of its own). */
static bool target_groups_same(const struct config_target *a, const struct config_target *b)
{
	if ((a->portal_groups == NULL) != (b->portal_groups == NULL) || a->nportal_groups != b->nportal_groups)
		return false;
	for (size_t i = 0; i < a->nportal_groups; i++) {
		bool found = false;
		for (size_t j = 0; j < b->nportal_groups && !found; j++)
			found = a->portal_groups[i] == b->portal_groups[j];
		if (!found)
			return false;
	}
	return true;
}

static bool iscsi_params_same(const struct iscsi_target_limits *a, const struct iscsi_target_limits *b);

static bool target_params_same(const struct config_target *a, const struct config_target *b)
{
	return a->own_limits == b->own_limits && (!a->own_limits || iscsi_params_same(&a->limits, &b->limits));
}

static bool iscsi_params_same(const struct iscsi_target_limits *a, const struct iscsi_target_limits *b)
{
	return a->max_recv_dsl == b->max_recv_dsl && a->max_burst == b->max_burst &&
	       a->first_burst == b->first_burst && a->max_outstanding_r2t == b->max_outstanding_r2t &&
	       a->initial_r2t == b->initial_r2t && a->immediate_data == b->immediate_data &&
	       a->max_connections == b->max_connections && a->default_time2wait == b->default_time2wait &&
	       a->default_time2retain == b->default_time2retain && a->max_erl == b->max_erl;
}

/* The plan is built in passes, one per group of kinds, which gives the
 * order reconfig_diff promises. */
enum diff_pass { PASS_REMOVE, PASS_CHANGE, PASS_ADD, PASS_COUNT };

struct diff {
	const struct lunar_config *old, *new;
	struct reconfig_plan *plan;
	size_t cap;
	char *err;
	size_t errlen;
};

static int diff_push(struct diff *d, struct reconfig_change c)
{
	if (d->plan->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 8;
		struct reconfig_change *grown = realloc(d->plan->changes, cap * sizeof(*grown));
		if (!grown) {
			snprintf(d->err, d->errlen, "%s", strerror(ENOMEM));
			return -ENOMEM;
		}
		d->plan->changes = grown;
		d->cap = cap;
	}
	d->plan->changes[d->plan->n++] = c;
	return 0;
}

static struct reconfig_change change(enum reconfig_kind kind, size_t old_target, size_t new_target)
{
	return (struct reconfig_change){
		.kind = kind, .old_target = old_target, .new_target = new_target,
		.old_lun = RECONFIG_NONE, .new_lun = RECONFIG_NONE, .portal = RECONFIG_NONE,
	};
}

static int diff_luns(struct diff *d, size_t ot, size_t nt, enum diff_pass pass)
{
	const struct config_target *a = &d->old->targets[ot], *b = &d->new->targets[nt];
	int ret = 0;
	for (size_t i = 0; pass != PASS_ADD && i < a->nluns && ret == 0; i++) {
		size_t j;
		const struct config_lun *nl = lun_find(b, a->luns[i].lun, &j);
		struct reconfig_change c = change(RECONFIG_LUN_REMOVE, ot, nt);
		c.old_lun = i;
		c.new_lun = nl ? j : RECONFIG_NONE;
		if (!nl) {
			if (pass == PASS_REMOVE)
				ret = diff_push(d, c);
			continue;
		}
		enum lun_delta delta = lun_compare(&a->luns[i], nl);
		if (delta == LUN_SHRINKS) {
			snprintf(d->err, d->errlen,
				 "target %s: LUN %u: size %llu is below its %llu bytes: a LUN is never shrunk",
				 a->name, nl->lun, (unsigned long long)backend_config_value(&nl->bs, "size")->size,
				 (unsigned long long)backend_config_value(&a->luns[i].bs, "size")->size);
			return -EINVAL;
		}
		/* A replaced store goes with the removals, so that its new one
		 * may open the same file. */
		if (delta == LUN_OTHER && pass == PASS_REMOVE) {
			c.kind = RECONFIG_LUN_REPLACE;
			ret = diff_push(d, c);
		} else if (delta == LUN_GROWS && pass == PASS_CHANGE) {
			c.kind = RECONFIG_LUN_GROW;
			ret = diff_push(d, c);
		}
	}
	for (size_t j = 0; pass == PASS_ADD && j < b->nluns && ret == 0; j++) {
		size_t i;
		if (lun_find(a, b->luns[j].lun, &i))
			continue;
		struct reconfig_change c = change(RECONFIG_LUN_ADD, ot, nt);
		c.new_lun = j;
		ret = diff_push(d, c);
	}
	return ret;
}

static int diff_targets(struct diff *d, enum diff_pass pass)
{
	int ret = 0;
	for (size_t i = 0; i < d->old->ntargets && ret == 0; i++) {
		size_t j;
		const struct config_target *b = target_find(d->new, d->old->targets[i].name, &j);
		if (!b) {
			if (pass == PASS_REMOVE)
				ret = diff_push(d, change(RECONFIG_TARGET_REMOVE, i, RECONFIG_NONE));
			continue;
		}
		if (pass == PASS_CHANGE && !access_same(&d->old->targets[i], b))
			ret = diff_push(d, change(RECONFIG_TARGET_ACCESS, i, j));
		if (ret == 0 && pass == PASS_CHANGE && !target_groups_same(&d->old->targets[i], b))
			ret = diff_push(d, change(RECONFIG_TARGET_GROUPS, i, j));
		if (ret == 0 && pass == PASS_CHANGE && !target_params_same(&d->old->targets[i], b))
			ret = diff_push(d, change(RECONFIG_TARGET_PARAMS, i, j));
		if (ret == 0)
			ret = diff_luns(d, i, j, pass);
	}
	for (size_t j = 0; pass == PASS_ADD && j < d->new->ntargets && ret == 0; j++) {
		size_t i;
		if (!target_find(d->old, d->new->targets[j].name, &i))
			ret = diff_push(d, change(RECONFIG_TARGET_ADD, RECONFIG_NONE, j));
	}
	return ret;
}

static int diff_portals(struct diff *d, enum diff_pass pass)
{
	const struct lunar_config *from = pass == PASS_REMOVE ? d->old : d->new;
	const struct lunar_config *to = pass == PASS_REMOVE ? d->new : d->old;
	enum reconfig_kind kind = pass == PASS_REMOVE ? RECONFIG_PORTAL_REMOVE : RECONFIG_PORTAL_ADD;
	int ret = 0;
	for (size_t i = 0; pass != PASS_CHANGE && i < from->nportals && ret == 0; i++) {
		if (portal_in(to, &from->portals[i]))
			continue;
		struct reconfig_change c = change(kind, RECONFIG_NONE, RECONFIG_NONE);
		c.portal = i;
		ret = diff_push(d, c);
	}
	/* A portal that stays but changes group keeps listening: the group
	 * is looked up at each login. */
	for (size_t i = 0; pass == PASS_CHANGE && i < d->new->nportals && ret == 0; i++) {
		const struct config_portal *p = &d->new->portals[i];
		const struct config_portal *was = portal_find(d->old, p);
		if (!was || was->tag == p->tag)
			continue;
		struct reconfig_change c = change(RECONFIG_PORTAL_MOVE, RECONFIG_NONE, RECONFIG_NONE);
		c.portal = i;
		ret = diff_push(d, c);
	}
	kind = pass == PASS_REMOVE ? RECONFIG_GROUP_REMOVE : RECONFIG_GROUP_ADD;
	for (size_t i = 0; pass != PASS_CHANGE && i < from->ngroups && ret == 0; i++) {
		if (group_in(to, from->groups[i]))
			continue;
		struct reconfig_change c = change(kind, RECONFIG_NONE, RECONFIG_NONE);
		c.portal = i;
		ret = diff_push(d, c);
	}
	return ret;
}

static int diff_at_restart(struct diff *d, bool differs, const char *setting)
{
	if (!differs)
		return 0;
	struct reconfig_change c = change(RECONFIG_AT_RESTART, RECONFIG_NONE, RECONFIG_NONE);
	c.setting = setting;
	return diff_push(d, c);
}

static int diff_settings(struct diff *d)
{
	const struct lunar_config *a = d->old, *b = d->new;
	int ret = 0;
	if (!chap_same(&a->discovery_chap, &b->discovery_chap))
		ret = diff_push(d, change(RECONFIG_DISCOVERY_CHAP, RECONFIG_NONE, RECONFIG_NONE));
	if (ret == 0 && !iscsi_params_same(&a->limits, &b->limits))
		ret = diff_push(d, change(RECONFIG_ISCSI_PARAMS, RECONFIG_NONE, RECONFIG_NONE));
	if (ret == 0 && memcmp(&a->peer_limits.login, &b->peer_limits.login, sizeof(a->peer_limits.login)))
		ret = diff_push(d, change(RECONFIG_LOGIN_LIMITS, RECONFIG_NONE, RECONFIG_NONE));
	if (ret == 0)
		ret = diff_at_restart(d, memcmp(&a->peer_limits.conn, &b->peer_limits.conn,
						sizeof(a->peer_limits.conn)) != 0, "limits (of connections)");
	if (ret == 0)
		ret = diff_at_restart(d, a->threads != b->threads, "threads");
	if (ret == 0)
		ret = diff_at_restart(d, a->memory_budget != b->memory_budget, "memory_budget");
	if (ret == 0)
		ret = diff_at_restart(d, !config_cpus_same(&a->cpu_affinity, &b->cpu_affinity), "cpu_affinity");
	if (ret == 0)
		ret = diff_at_restart(d, a->poll_us != b->poll_us, "poll_us");
	if (ret == 0)
		ret = diff_at_restart(d, !str_same(a->state_dir, b->state_dir), "state_dir");
	return ret;
}

int reconfig_diff(const struct lunar_config *old, const struct lunar_config *new,
		  struct reconfig_plan *plan, char *err, size_t errlen)
{
	char spare[8];
	struct diff d = { .old = old, .new = new, .plan = plan,
			  .err = errlen ? err : spare, .errlen = errlen ? errlen : sizeof(spare) };
	*plan = (struct reconfig_plan){ 0 };
	int ret = 0;
	for (enum diff_pass pass = PASS_REMOVE; pass < PASS_COUNT && ret == 0; pass++) {
		ret = diff_targets(&d, pass);
		if (ret == 0)
			ret = diff_portals(&d, pass);
		if (ret == 0 && pass == PASS_CHANGE)
			ret = diff_settings(&d);
	}
	if (ret < 0)
		reconfig_plan_free(plan);
	return ret;
}

void reconfig_plan_free(struct reconfig_plan *plan)
{
	free(plan->changes);
	*plan = (struct reconfig_plan){ 0 };
}

void reconfig_describe(const struct reconfig_change *c, const struct lunar_config *old,
		       const struct lunar_config *new, char *buf, size_t len)
{
	const struct config_target *ot = c->old_target != RECONFIG_NONE ? &old->targets[c->old_target] : NULL;
	const struct config_target *nt = c->new_target != RECONFIG_NONE ? &new->targets[c->new_target] : NULL;
	const struct config_lun *ol = ot && c->old_lun != RECONFIG_NONE ? &ot->luns[c->old_lun] : NULL;
	const struct config_lun *nl = nt && c->new_lun != RECONFIG_NONE ? &nt->luns[c->new_lun] : NULL;
	switch (c->kind) {
	case RECONFIG_TARGET_ADD:
		snprintf(buf, len, "added target %s", nt->name);
		break;
	case RECONFIG_TARGET_REMOVE:
		snprintf(buf, len, "removed target %s", ot->name);
		break;
	case RECONFIG_TARGET_ACCESS:
		snprintf(buf, len, "changed access (alias, open, acl, chap) of target %s: applies to new logins",
			 nt->name);
		break;
	case RECONFIG_LUN_ADD:
		snprintf(buf, len, "added LUN %u to target %s", nl->lun, nt->name);
		break;
	case RECONFIG_LUN_REMOVE:
		snprintf(buf, len, "removed LUN %u from target %s", ol->lun, ot->name);
		break;
	case RECONFIG_LUN_GROW:
		snprintf(buf, len, "grew LUN %u of target %s to %llu bytes", nl->lun, nt->name,
			 (unsigned long long)backend_config_value(&nl->bs, "size")->size);
		break;
	case RECONFIG_LUN_REPLACE:
		snprintf(buf, len, "replaced the store of LUN %u of target %s", nl->lun, nt->name);
		break;
	case RECONFIG_PORTAL_ADD:
		snprintf(buf, len, "opened portal %s", new->portals[c->portal].text);
		break;
	case RECONFIG_PORTAL_REMOVE:
		snprintf(buf, len, "closed portal %s", old->portals[c->portal].text);
		break;
	case RECONFIG_PORTAL_MOVE:
		snprintf(buf, len, "moved portal %s to portal group %u: applies to new logins",
			 new->portals[c->portal].text, new->portals[c->portal].tag);
		break;
	case RECONFIG_GROUP_ADD:
		snprintf(buf, len, "added portal group %u", new->groups[c->portal]);
		break;
	case RECONFIG_GROUP_REMOVE:
		snprintf(buf, len, "removed portal group %u", old->groups[c->portal]);
		break;
	case RECONFIG_TARGET_GROUPS:
		snprintf(buf, len, "changed the portal groups of target %s: apply to new logins", nt->name);
		break;
	case RECONFIG_TARGET_PARAMS:
		snprintf(buf, len, "changed the iscsi parameters of target %s: apply to new logins", nt->name);
		break;
	case RECONFIG_DISCOVERY_CHAP:
		snprintf(buf, len, "changed discovery CHAP: applies to new discovery logins");
		break;
	case RECONFIG_ISCSI_PARAMS:
		snprintf(buf, len, "changed iscsi parameters: apply to new logins");
		break;
	case RECONFIG_LOGIN_LIMITS:
		snprintf(buf, len, "changed login limits: apply to new connections");
		break;
	case RECONFIG_AT_RESTART:
		snprintf(buf, len, "changed %s: applies at the next start", c->setting);
		break;
	}
}
