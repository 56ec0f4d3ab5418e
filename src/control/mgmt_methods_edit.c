/* The management methods that change lunard: each copies the running
 * document, edits it (config_edit.h) and hands it to running_apply_doc,
 * which validates it with the loader, applies the difference live and
 * saves it. So a change over the socket is checked, and worded, exactly as
 * the same change in the file would be at start-up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/config_edit.h"
#include "control/mgmt_methods.h"
#include "control/running.h"
#include "util/macros.h"

/* The config's LUN range (SAM-5 4.7.3, single-level LUNs). */
#define LUN_MAX 255

static int code_of_edit(int err)
{
	switch (err) {
	case -ENOENT:
		return MGMT_ERR_NOT_FOUND;
	case -EEXIST:
		return MGMT_ERR_EXISTS;
	case -EINVAL:
		return MGMT_ERR_INVALID_PARAMS;
	default:
		return MGMT_ERR_INTERNAL;
	}
}

/* running_apply_*: -EBUSY is "in use, force to do it"; anything else is
 * the change refused, with the loader's or the store's reason. */
static int code_of_apply(int err)
{
	return err == -EBUSY ? MGMT_ERR_BUSY : MGMT_ERR_REFUSED;
}

static json_t *report_json(struct running_report *rep)
{
	json_t *lines = json_array();
	for (size_t i = 0; lines && i < rep->n; i++)
		json_array_append_new(lines, json_string(rep->lines[i]));
	running_report_free(rep);
	return lines;
}

/* The answer to an applied change: {"changes": [lines], ...extra}. */
static void answer_applied(struct mgmt_call *call, int ret, struct running_report *rep, const char *err,
			   json_t *extra)
{
	if (ret < 0) {
		running_report_free(rep);
		json_decref(extra);
		mgmt_call_error(call, code_of_apply(ret), json_pack("{s:s}", "reason", strerror(-ret)), "%s", err);
		return;
	}
	json_t *out = extra ? extra : json_object();
	json_object_set_new(out, "changes", report_json(rep));
	mgmt_call_result(call, out);
}

/* A change in the making: a copy of the running document, why an edit
 * failed, and what the answer to the applied change adds (NULL: nothing). */
struct change {
	config_t doc;
	char err[512];
	json_t *extra;
};

/* One method's own edit of the document, with what it read from its params
 * (arg). Returns 0, or -errno with c->err saying why. */
typedef int change_edit_fn(struct change *c, const void *arg);

/* Copies the running document, edits it, applies it (force: even what is
 * in use) and answers. */
static void change_running(struct mgmt_call *call, change_edit_fn *edit, const void *arg, bool force)
{
	struct change c = { .extra = NULL };
	if (running_doc_copy(&c.doc) != 0) {
		mgmt_call_error(call, MGMT_ERR_INTERNAL, NULL, "out of memory");
		return;
	}
	int ret = edit(&c, arg);
	if (ret < 0) {
		config_destroy(&c.doc);
		json_decref(c.extra);
		mgmt_call_error(call, code_of_edit(ret), NULL, "%s", c.err);
		return;
	}
	struct running_report rep = { 0 };
	ret = running_apply_doc(&c.doc, force ? RUNNING_FORCE : 0, &rep, c.err, sizeof(c.err));
	config_destroy(&c.doc);
	answer_applied(call, ret, &rep, c.err, c.extra);
}

static enum config_edit_flag flag_param(json_t *params, const char *key)
{
	json_t *v = json_object_get(params, key);
	return !v ? CONFIG_EDIT_KEEP : json_is_true(v) ? CONFIG_EDIT_TRUE : CONFIG_EDIT_FALSE;
}

struct target_args {
	const char *name, *alias;
	enum config_edit_flag open;
	json_t *list;   /* target.create: its LUNs; target.set: its portal groups */
};

static int edit_target_create(struct change *c, const void *arg)
{
	const struct target_args *a = arg;
	int ret = config_edit_target_add(&c->doc, a->name, a->alias, a->open, c->err, sizeof(c->err));
	size_t i;
	json_t *l;
	json_array_foreach(a->list, i, l) {
		unsigned n;
		if (ret == 0)
			ret = config_edit_lun_add(&c->doc, a->name, l, &n, c->err, sizeof(c->err));
	}
	return ret;
}

static void m_target_create(struct mgmt_call *call, json_t *params, void *ctx)
{
	struct target_args a = { .alias = NULL, .list = json_object_get(params, "luns") };
	bool open = false;
	if (mgmt_param_string(call, params, "name", true, &a.name) < 0 ||
	    mgmt_param_string(call, params, "alias", false, &a.alias) < 0 || mgmt_param_bool(call, params, "open", &open) < 0)
		return;
	if (a.list && !json_is_array(a.list)) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "luns"),
				"param \"luns\": must be an array of LUN objects");
		return;
	}
	a.open = flag_param(params, "open");
	change_running(call, edit_target_create, &a, false);
}

static int edit_target_delete(struct change *c, const void *name)
{
	return config_edit_target_delete(&c->doc, name, c->err, sizeof(c->err));
}

static void m_target_delete(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *name;
	bool force = false;
	if (mgmt_param_string(call, params, "name", true, &name) < 0 || mgmt_param_bool(call, params, "force", &force) < 0)
		return;
	change_running(call, edit_target_delete, name, force);
}

static int edit_target_set(struct change *c, const void *arg)
{
	const struct target_args *a = arg;
	int ret = config_edit_target_set(&c->doc, a->name, a->alias, a->open, c->err, sizeof(c->err));
	if (ret == 0 && a->list)
		ret = config_edit_target_groups(&c->doc, a->name, a->list, c->err, sizeof(c->err));
	return ret;
}

static void m_target_set(struct mgmt_call *call, json_t *params, void *ctx)
{
	struct target_args a = { .list = json_object_get(params, "portal_groups") };
	bool open = false;
	json_t *alias = json_object_get(params, "alias");
	if (mgmt_param_string(call, params, "name", true, &a.name) < 0 || mgmt_param_bool(call, params, "open", &open) < 0)
		return;
	/* "" takes the alias away, so the generic reader (non-empty) does not do. */
	if (alias && !json_is_string(alias)) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "alias"),
				"param \"alias\": must be a string (\"\" removes it)");
		return;
	}
	if (a.list && !json_is_array(a.list)) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "portal_groups"),
				"param \"portal_groups\": must be an array of tags ([] for every group)");
		return;
	}
	a.alias = alias ? json_string_value(alias) : NULL;
	a.open = flag_param(params, "open");
	change_running(call, edit_target_set, &a, false);
}

struct lun_args {
	const char *target;
	unsigned lun;
	json_t *value;   /* lun.create: the LUN object; lun.resize: its size */
};

static int edit_lun_create(struct change *c, const void *arg)
{
	const struct lun_args *a = arg;
	unsigned n = 0;
	int ret = config_edit_lun_add(&c->doc, a->target, a->value, &n, c->err, sizeof(c->err));
	c->extra = json_pack("{s:s, s:i}", "target", a->target, "lun", (int)n);
	return ret;
}

static void m_lun_create(struct mgmt_call *call, json_t *params, void *ctx)
{
	struct lun_args a;
	const char *backend;
	if (mgmt_param_string(call, params, "target", true, &a.target) < 0 ||
	    mgmt_param_string(call, params, "backend", true, &backend) < 0)
		return;
	a.value = json_copy(params);
	if (!a.value) {
		mgmt_call_error(call, MGMT_ERR_INTERNAL, NULL, "out of memory");
		return;
	}
	json_object_del(a.value, "target");
	change_running(call, edit_lun_create, &a, false);
	json_decref(a.value);
}

static int edit_lun_delete(struct change *c, const void *arg)
{
	const struct lun_args *a = arg;
	return config_edit_lun_delete(&c->doc, a->target, a->lun, c->err, sizeof(c->err));
}

static void m_lun_delete(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *target;
	unsigned long long lun;
	bool force = false;
	if (mgmt_param_string(call, params, "target", true, &target) < 0 ||
	    mgmt_param_uint(call, params, "lun", true, LUN_MAX, &lun) < 0 ||
	    mgmt_param_bool(call, params, "force", &force) < 0)
		return;
	change_running(call, edit_lun_delete, &(struct lun_args){ target, (unsigned)lun, NULL }, force);
}

static int edit_lun_resize(struct change *c, const void *arg)
{
	const struct lun_args *a = arg;
	return config_edit_lun_resize(&c->doc, a->target, a->lun, a->value, c->err, sizeof(c->err));
}

static void m_lun_resize(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *target;
	unsigned long long lun;
	json_t *size = json_object_get(params, "size");
	if (mgmt_param_string(call, params, "target", true, &target) < 0 ||
	    mgmt_param_uint(call, params, "lun", true, LUN_MAX, &lun) < 0)
		return;
	if (!size) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "size"),
				"param \"size\": required");
		return;
	}
	/* SBC-3 4.5: an initiator may hold on to the capacity it read; a
	 * shrink would take away blocks it believes in. Resize only grows. */
	struct mgmt_lun_state st = { 0 };
	uint64_t bytes = 0, now = mgmt_lun_state(target, (uint16_t)lun, &st) ? st.bytes : 0;
	if ((json_is_string(size) && config_parse_size(json_string_value(size), &bytes) == 0) ||
	    (json_is_integer(size) && json_integer_value(size) > 0 && (bytes = (uint64_t)json_integer_value(size)))) {
		if (bytes < now) {
			mgmt_call_error(call, MGMT_ERR_REFUSED, json_pack("{s:I}", "size", (json_int_t)now),
					"target %s: LUN %llu serves %llu bytes and a resize only grows it (delete and "
					"create it to shrink)", target, lun, (unsigned long long)now);
			return;
		}
	}
	change_running(call, edit_lun_resize, &(struct lun_args){ target, (unsigned)lun, size }, false);
}

struct acl_args {
	const char *target, *initiator, *chap_user;
	json_t *luns;
};

static int edit_acl_add(struct change *c, const void *arg)
{
	const struct acl_args *a = arg;
	return config_edit_acl_add(&c->doc, a->target, a->initiator, a->chap_user, a->luns, c->err, sizeof(c->err));
}

static void m_acl_add(struct mgmt_call *call, json_t *params, void *ctx)
{
	struct acl_args a = { .chap_user = NULL, .luns = json_object_get(params, "luns") };
	if (mgmt_param_string(call, params, "target", true, &a.target) < 0 ||
	    mgmt_param_string(call, params, "initiator", true, &a.initiator) < 0 ||
	    mgmt_param_string(call, params, "chap_user", false, &a.chap_user) < 0)
		return;
	change_running(call, edit_acl_add, &a, false);
}

static int edit_acl_remove(struct change *c, const void *arg)
{
	const struct acl_args *a = arg;
	return config_edit_acl_remove(&c->doc, a->target, a->initiator, c->err, sizeof(c->err));
}

static void m_acl_remove(struct mgmt_call *call, json_t *params, void *ctx)
{
	struct acl_args a = { 0 };
	if (mgmt_param_string(call, params, "target", true, &a.target) < 0 ||
	    mgmt_param_string(call, params, "initiator", true, &a.initiator) < 0)
		return;
	change_running(call, edit_acl_remove, &a, false);
}

/* What a CHAP method names: a target, or discovery (target NULL). */
struct chap_args {
	const char *target, *user, *secret;
};

/* CHAP methods name a target, or discovery: true; with_user and
 * with_secret, the methods that take them. Returns -1 once the call is
 * answered. */
static int chap_params(struct mgmt_call *call, json_t *params, bool with_user, bool with_secret, struct chap_args *a)
{
	bool discovery = false;
	*a = (struct chap_args){ 0 };
	if (mgmt_param_string(call, params, "target", false, &a->target) < 0 ||
	    mgmt_param_bool(call, params, "discovery", &discovery) < 0)
		return -1;
	if (!a->target == !discovery) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "target"),
				"give either \"target\" or \"discovery\": true");
		return -1;
	}
	if ((with_user && mgmt_param_string(call, params, "user", true, &a->user) < 0) ||
	    (with_secret && mgmt_param_string(call, params, "secret", true, &a->secret) < 0))
		return -1;
	return 0;
}

static int edit_chap_add(struct change *c, const void *arg)
{
	const struct chap_args *a = arg;
	return config_edit_chap_add(&c->doc, a->target, a->user, a->secret, c->err, sizeof(c->err));
}

static void m_chap_add(struct mgmt_call *call, json_t *params, void *ctx)
{
	struct chap_args a;
	if (chap_params(call, params, true, true, &a) == 0)
		change_running(call, edit_chap_add, &a, false);
}

static int edit_chap_remove(struct change *c, const void *arg)
{
	const struct chap_args *a = arg;
	return config_edit_chap_remove(&c->doc, a->target, a->user, c->err, sizeof(c->err));
}

static void m_chap_remove(struct mgmt_call *call, json_t *params, void *ctx)
{
	struct chap_args a;
	if (chap_params(call, params, true, false, &a) == 0)
		change_running(call, edit_chap_remove, &a, false);
}

static int edit_chap_mutual_set(struct change *c, const void *arg)
{
	const struct chap_args *a = arg;
	return config_edit_chap_mutual_set(&c->doc, a->target, a->user, a->secret, c->err, sizeof(c->err));
}

static void m_chap_mutual_set(struct mgmt_call *call, json_t *params, void *ctx)
{
	struct chap_args a;
	if (chap_params(call, params, true, true, &a) == 0)
		change_running(call, edit_chap_mutual_set, &a, false);
}

static int edit_chap_mutual_clear(struct change *c, const void *arg)
{
	const struct chap_args *a = arg;
	return config_edit_chap_mutual_clear(&c->doc, a->target, c->err, sizeof(c->err));
}

static void m_chap_mutual_clear(struct mgmt_call *call, json_t *params, void *ctx)
{
	struct chap_args a;
	if (chap_params(call, params, false, false, &a) == 0)
		change_running(call, edit_chap_mutual_clear, &a, false);
}

struct portal_args {
	const char *address;
	unsigned group;
	json_t *portals;   /* portal_group.create: its addresses */
};

static int edit_portal_add(struct change *c, const void *arg)
{
	const struct portal_args *a = arg;
	return config_edit_portal_add(&c->doc, a->address, a->group, c->err, sizeof(c->err));
}

static void m_portal_add(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *address;
	unsigned long long group = 0;
	if (mgmt_param_string(call, params, "address", true, &address) < 0 ||
	    mgmt_param_uint(call, params, "group", false, UINT16_MAX, &group) < 0)
		return;
	change_running(call, edit_portal_add, &(struct portal_args){ address, (unsigned)group, NULL }, false);
}

static int edit_portal_group_create(struct change *c, const void *arg)
{
	const struct portal_args *a = arg;
	int ret = config_edit_portal_group_add(&c->doc, a->group, c->err, sizeof(c->err));
	size_t i;
	json_t *v;
	json_array_foreach(a->portals, i, v) {
		if (ret < 0)
			break;
		if (!json_is_string(v)) {
			snprintf(c->err, sizeof(c->err), "portals: must be addresses \"addr:port\"");
			return -EINVAL;
		}
		ret = config_edit_portal_add(&c->doc, json_string_value(v), a->group, c->err, sizeof(c->err));
	}
	return ret;
}

static void m_portal_group_create(struct mgmt_call *call, json_t *params, void *ctx)
{
	unsigned long long tag;
	json_t *portals = json_object_get(params, "portals");
	if (mgmt_param_uint(call, params, "tag", true, UINT16_MAX, &tag) < 0)
		return;
	if (portals && !json_is_array(portals)) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "portals"),
				"param \"portals\": must be an array of addresses");
		return;
	}
	change_running(call, edit_portal_group_create, &(struct portal_args){ NULL, (unsigned)tag, portals }, false);
}

static int edit_portal_group_delete(struct change *c, const void *arg)
{
	const struct portal_args *a = arg;
	return config_edit_portal_group_delete(&c->doc, a->group, c->err, sizeof(c->err));
}

static void m_portal_group_delete(struct mgmt_call *call, json_t *params, void *ctx)
{
	unsigned long long tag;
	if (mgmt_param_uint(call, params, "tag", true, UINT16_MAX, &tag) < 0)
		return;
	change_running(call, edit_portal_group_delete, &(struct portal_args){ NULL, (unsigned)tag, NULL }, false);
}

static int edit_portal_remove(struct change *c, const void *arg)
{
	const struct portal_args *a = arg;
	return config_edit_portal_remove(&c->doc, a->address, c->err, sizeof(c->err));
}

static void m_portal_remove(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *address;
	if (mgmt_param_string(call, params, "address", true, &address) < 0)
		return;
	change_running(call, edit_portal_remove, &(struct portal_args){ address, 0, NULL }, false);
}

struct param_args {
	const char *target, *key;
	json_t *value;
};

static int edit_param_set(struct change *c, const void *arg)
{
	const struct param_args *a = arg;
	const char *group;
	return config_edit_param_set(&c->doc, a->target, a->key, a->value, &group, c->err, sizeof(c->err));
}

static void m_param_set(struct mgmt_call *call, json_t *params, void *ctx)
{
	struct param_args a = { .target = NULL, .value = json_object_get(params, "value") };
	if (mgmt_param_string(call, params, "key", true, &a.key) < 0 ||
	    mgmt_param_string(call, params, "target", false, &a.target) < 0)
		return;
	if (!a.value) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "value"),
				"param \"value\": required");
		return;
	}
	change_running(call, edit_param_set, &a, false);
}

static void m_config_export(struct mgmt_call *call, json_t *params, void *ctx)
{
	char *text;
	if (running_export(&text) < 0) {
		mgmt_call_error(call, MGMT_ERR_INTERNAL, NULL, "out of memory");
		return;
	}
	mgmt_call_result(call, json_pack("{s:s, s:s}", "text", text, "path", running_path()));
	free(text);
}

static void m_config_import(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *text;
	bool force = false;
	if (mgmt_param_string(call, params, "text", true, &text) < 0 || mgmt_param_bool(call, params, "force", &force) < 0)
		return;
	struct running_report rep = { 0 };
	char err[512];
	int ret = running_apply_text(text, force ? RUNNING_FORCE : 0, &rep, err, sizeof(err));
	answer_applied(call, ret, &rep, err, NULL);
}

static void m_config_reload(struct mgmt_call *call, json_t *params, void *ctx)
{
	struct running_report rep = { 0 };
	char err[512];
	int ret = running_reload_file(&rep, err, sizeof(err));
	answer_applied(call, ret, &rep, err, NULL);
}

const struct mgmt_method mgmt_edit_methods[MGMT_EDIT_NMETHODS] = {
	{ "target.create", m_target_create },
	{ "target.delete", m_target_delete },
	{ "target.set", m_target_set },
	{ "lun.create", m_lun_create },
	{ "lun.delete", m_lun_delete },
	{ "lun.resize", m_lun_resize },
	{ "acl.add", m_acl_add },
	{ "acl.remove", m_acl_remove },
	{ "chap.add", m_chap_add },
	{ "chap.remove", m_chap_remove },
	{ "chap.mutual.set", m_chap_mutual_set },
	{ "chap.mutual.clear", m_chap_mutual_clear },
	{ "portal.add", m_portal_add },
	{ "portal.remove", m_portal_remove },
	{ "portal_group.create", m_portal_group_create },
	{ "portal_group.delete", m_portal_group_delete },
	{ "param.set", m_param_set },
	{ "config.export", m_config_export },
	{ "config.import", m_config_import },
	{ "config.reload", m_config_reload },
};
_Static_assert(ARRAY_SIZE(mgmt_edit_methods) == MGMT_EDIT_NMETHODS, "MGMT_EDIT_NMETHODS is the table's length");
