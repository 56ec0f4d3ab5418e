/* The management methods that show things: the daemon, targets, LUNs,
 * acl entries, CHAP accounts (never their secrets), portals and iSCSI
 * parameters, from the running configuration and the live registry. */
#include "control/mgmt_methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/running.h"
#include "control/targets.h"
#include "iscsi/conn.h"
#include "iscsi/session.h"
#include "util/clock.h"
#include "util/macros.h"

static const struct config_target *target_or_fail(struct mgmt_call *call, const struct lunar_config *cfg,
						  const char *name)
{
	for (size_t i = 0; i < cfg->ntargets; i++)
		if (strcmp(cfg->targets[i].name, name) == 0)
			return &cfg->targets[i];
	mgmt_call_error(call, MGMT_ERR_NOT_FOUND, json_pack("{s:s}", "target", name), "no target %s", name);
	return NULL;
}

static void m_daemon_status(struct mgmt_call *call, json_t *params, void *ctx)
{
	const struct mgmt_env *env = ctx;
	const struct lunar_config *cfg = env->config();
	size_t luns = 0;
	for (size_t i = 0; i < cfg->ntargets; i++)
		luns += cfg->targets[i].nluns;
	mgmt_call_result(call, json_pack("{s:s, s:i, s:s, s:I, s:i, s:I, s:I, s:I, s:i, s:i}",
					 "version", LUNAR_VERSION, "pid", (int)getpid(), "config", running_path(),
					 "uptime_s", (json_int_t)((clock_now_ns() - env->started_ns) / CLOCK_NS_PER_S),
					 "threads", (int)env->nloops, "targets", (json_int_t)cfg->ntargets,
					 "luns", (json_int_t)luns, "portals", (json_int_t)cfg->nportals,
					 "sessions", (int)iscsi_session_count(), "connections",
					 (int)iscsi_conn_live_count()));
}

static const char *access_text(const struct config_target *t)
{
	return t->open ? "open" : t->nacl ? "acl" : "closed";
}

/* The tags of the portal groups t is reached through. */
static json_t *target_groups_json(const struct lunar_config *cfg, const struct config_target *t)
{
	uint16_t tags[CONFIG_MAX_PORTAL_GROUPS];
	size_t n = config_target_groups(cfg, t, tags);
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(tags[i]));
	return a;
}

static void m_target_list(struct mgmt_call *call, json_t *params, void *ctx)
{
	const struct mgmt_env *env = ctx;
	const struct lunar_config *cfg = env->config();
	json_t *out = json_array();
	for (size_t i = 0; out && i < cfg->ntargets; i++) {
		const struct config_target *t = &cfg->targets[i];
		json_array_append_new(out, json_pack("{s:s, s:s?, s:b, s:s, s:I, s:I, s:b, s:o, s:b}", "name", t->name,
						     "alias", t->alias, "open", t->open, "access", access_text(t),
						     "luns", (json_int_t)t->nluns, "acl", (json_int_t)t->nacl,
						     "chap", t->chap.nusers > 0, "portal_groups",
						     target_groups_json(cfg, t), "own_iscsi", t->own_limits));
	}
	mgmt_call_result(call, out);
}

bool mgmt_lun_state(const char *target, uint16_t lun, struct mgmt_lun_state *st)
{
	struct lunar_target *t = targets_get(target);
	struct scsi_lu *lu = t ? scsi_target_lu_get(&t->scsi, lun) : NULL;
	if (lu) {
		st->bytes = atomic_load_explicit(&lu->nblocks, memory_order_relaxed) * lu->block_size;
		st->block_size = lu->block_size;
		snprintf(st->serial, sizeof(st->serial), "%s", lu->serial);
		scsi_lu_put(lu);
	}
	if (t)
		targets_put(t);
	return lu != NULL;
}

static void lun_live(const char *target, uint16_t lun, json_t *o)
{
	struct mgmt_lun_state st;
	bool online = mgmt_lun_state(target, lun, &st);
	if (online) {
		json_object_set_new(o, "size", json_integer((json_int_t)st.bytes));
		json_object_set_new(o, "block_size", json_integer(st.block_size));
		json_object_set_new(o, "serial", json_string(st.serial));
	}
	json_object_set_new(o, "online", json_boolean(online));
}

/* The store's own keys as the configuration gives them. */
static json_t *lun_keys(const struct backend_config *bs)
{
	json_t *keys = json_object();
	for (size_t i = 0; keys && i < bs->type->nkeys; i++) {
		const struct backend_key *k = &bs->type->keys[i];
		const struct backend_value *v = &bs->values[i];
		if (!v->given)
			continue;
		json_t *j = NULL;
		switch (k->type) {
		case BACKEND_KEY_STRING:
		case BACKEND_KEY_PATH:
			j = json_string(v->str);
			break;
		case BACKEND_KEY_BOOL:
			j = json_boolean(v->flag);
			break;
		case BACKEND_KEY_SIZE:
			j = json_integer((json_int_t)v->size);
			break;
		case BACKEND_KEY_INT:
			j = json_integer((json_int_t)v->num);
			break;
		}
		json_object_set_new(keys, k->name, j);
	}
	return keys;
}

static json_t *lun_json(const struct config_target *t, const struct config_lun *l)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:b, s:o}", "target", t->name, "lun", l->lun, "backend",
			      l->bs.type->name, "readonly", l->bs.readonly, "keys", lun_keys(&l->bs));
	if (o)
		lun_live(t->name, l->lun, o);
	return o;
}

static void m_lun_list(struct mgmt_call *call, json_t *params, void *ctx)
{
	const struct mgmt_env *env = ctx;
	const struct lunar_config *cfg = env->config();
	const char *name = NULL;
	if (mgmt_param_string(call, params, "target", false, &name) < 0)
		return;
	if (name && !target_or_fail(call, cfg, name))
		return;
	json_t *out = json_array();
	for (size_t i = 0; out && i < cfg->ntargets; i++) {
		const struct config_target *t = &cfg->targets[i];
		if (name && strcmp(name, t->name) != 0)
			continue;
		for (size_t l = 0; l < t->nluns; l++)
			json_array_append_new(out, lun_json(t, &t->luns[l]));
	}
	mgmt_call_result(call, out);
}

static json_t *acl_json(const struct config_acl *a)
{
	json_t *luns = NULL;
	if (a->luns) {
		luns = json_array();
		for (size_t i = 0; luns && i < a->nluns; i++)
			json_array_append_new(luns, json_pack("{s:i, s:i}", "lun", a->luns[i].lun, "target_lun",
							      a->luns[i].target_lun));
	}
	return json_pack("{s:s, s:s?, s:o?}", "initiator", a->initiator, "chap_user", a->chap_user, "luns", luns);
}

static void m_acl_list(struct mgmt_call *call, json_t *params, void *ctx)
{
	const struct mgmt_env *env = ctx;
	const char *name;
	const struct config_target *t;
	if (mgmt_param_string(call, params, "target", true, &name) < 0 ||
	    !(t = target_or_fail(call, env->config(), name)))
		return;
	json_t *out = json_array();
	for (size_t i = 0; out && i < t->nacl; i++)
		json_array_append_new(out, acl_json(&t->acl[i]));
	mgmt_call_result(call, out);
}

/* Names only: a secret never leaves lunard. */
static json_t *chap_json(const char *owner, const struct config_chap *c)
{
	json_t *users = json_array();
	for (size_t i = 0; users && i < c->nusers; i++)
		json_array_append_new(users, json_string(c->users[i].user));
	return json_pack("{s:s, s:o, s:s?, s:b}", "target", owner, "users", users, "mutual_user", c->mutual.user,
			 "required", c->nusers > 0 && c->required);
}

static void m_chap_list(struct mgmt_call *call, json_t *params, void *ctx)
{
	const struct mgmt_env *env = ctx;
	const struct lunar_config *cfg = env->config();
	const char *name = NULL;
	bool discovery = false;
	if (mgmt_param_string(call, params, "target", false, &name) < 0 ||
	    mgmt_param_bool(call, params, "discovery", &discovery) < 0)
		return;
	if (name && !target_or_fail(call, cfg, name))
		return;
	json_t *out = json_array();
	if (!name)
		json_array_append_new(out, chap_json("discovery", &cfg->discovery_chap));
	for (size_t i = 0; out && !discovery && i < cfg->ntargets; i++)
		if (!name || strcmp(name, cfg->targets[i].name) == 0)
			json_array_append_new(out, chap_json(cfg->targets[i].name, &cfg->targets[i].chap));
	mgmt_call_result(call, out);
}

static void m_portal_list(struct mgmt_call *call, json_t *params, void *ctx)
{
	const struct mgmt_env *env = ctx;
	const struct lunar_config *cfg = env->config();
	json_t *out = json_array();
	for (size_t i = 0; out && i < cfg->nportals; i++)
		json_array_append_new(out, json_pack("{s:s, s:i}", "address", cfg->portals[i].text, "group",
						     (int)cfg->portals[i].tag));
	mgmt_call_result(call, out);
}

static void m_portal_group_list(struct mgmt_call *call, json_t *params, void *ctx)
{
	const struct mgmt_env *env = ctx;
	const struct lunar_config *cfg = env->config();
	json_t *out = json_array();
	for (size_t g = 0; out && g < cfg->ngroups; g++) {
		json_t *portals = json_array(), *targets = json_array();
		for (size_t i = 0; portals && i < cfg->nportals; i++)
			if (cfg->portals[i].tag == cfg->groups[g])
				json_array_append_new(portals, json_string(cfg->portals[i].text));
		for (size_t t = 0; targets && t < cfg->ntargets; t++)
			if (config_target_in_group(cfg, &cfg->targets[t], cfg->groups[g]))
				json_array_append_new(targets, json_string(cfg->targets[t].name));
		json_array_append_new(out, json_pack("{s:i, s:o, s:o}", "tag", (int)cfg->groups[g], "portals",
						     portals, "targets", targets));
	}
	mgmt_call_result(call, out);
}

/* The negotiation limits by their config keys (docs/CONFIG.md "iscsi"). */
static json_t *iscsi_params_json(const struct iscsi_target_limits *l)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:b, s:b}", "max_recv_data_segment_length", (int)l->max_recv_dsl,
			 "max_burst_length", (int)l->max_burst, "first_burst_length", (int)l->first_burst,
			 "max_outstanding_r2t", (int)l->max_outstanding_r2t, "immediate_data", l->immediate_data,
			 "initial_r2t", l->initial_r2t);
}

static void m_param_get(struct mgmt_call *call, json_t *params, void *ctx)
{
	const struct mgmt_env *env = ctx;
	const struct lunar_config *cfg = env->config();
	const char *key = NULL, *target = NULL;
	if (mgmt_param_string(call, params, "key", false, &key) < 0 ||
	    mgmt_param_string(call, params, "target", false, &target) < 0)
		return;
	const struct config_target *t = NULL;
	if (target && !(t = target_or_fail(call, cfg, target)))
		return;
	/* A target's parameters are its own iscsi group over the global one;
	 * the limits are lunard's. */
	const struct iscsi_target_limits *iscsi = t ? &t->limits : &cfg->limits;
	json_t *limits = json_object();
	for (size_t i = 0; limits && i < ISCSI_LIMIT_NKEYS; i++) {
		const struct iscsi_limit_key *k = &iscsi_limit_keys[i];
		unsigned v = *(const unsigned *)((const char *)&cfg->peer_limits + k->offset);
		json_object_set_new(limits, k->name, json_integer(v));
	}
	json_t *out = json_pack("{s:o, s:o}", "iscsi", iscsi_params_json(iscsi), "limits", limits);
	if (!key || !out) {
		mgmt_call_result(call, out);
		return;
	}
	const char *group = json_object_get(json_object_get(out, "limits"), key) ? "limits" : "iscsi";
	json_t *v = json_object_get(json_object_get(out, group), key);
	if (!v) {
		json_decref(out);
		mgmt_call_error(call, MGMT_ERR_NOT_FOUND, json_pack("{s:s}", "key", key), "no parameter %s", key);
		return;
	}
	json_t *one = json_pack("{s:s, s:s, s:O}", "group", group, "key", key, "value", v);
	json_decref(out);
	mgmt_call_result(call, one);
}

static const struct mgmt_method show_methods[] = {
	{ "daemon.status", m_daemon_status },
	{ "target.list", m_target_list },
	{ "lun.list", m_lun_list },
	{ "acl.list", m_acl_list },
	{ "chap.list", m_chap_list },
	{ "portal.list", m_portal_list },
	{ "portal_group.list", m_portal_group_list },
	{ "param.get", m_param_get },
	{ "session.list", mgmt_session_list },
	{ "stats.get", mgmt_stats_get },
};

static struct mgmt_method all_methods[ARRAY_SIZE(show_methods) + MGMT_EDIT_NMETHODS];

void mgmt_methods_init(struct mgmt_methods *m, struct mgmt_env *env)
{
	memcpy(all_methods, show_methods, sizeof(show_methods));
	memcpy(all_methods + ARRAY_SIZE(show_methods), mgmt_edit_methods, sizeof(mgmt_edit_methods));
	*m = (struct mgmt_methods){ .list = all_methods, .n = ARRAY_SIZE(all_methods), .ctx = env };
}
