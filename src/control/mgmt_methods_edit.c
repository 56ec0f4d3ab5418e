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

static bool doc_open(struct mgmt_call *call, config_t *doc)
{
	if (running_doc_copy(doc) == 0)
		return true;
	mgmt_call_error(call, MGMT_ERR_INTERNAL, NULL, "out of memory");
	return false;
}

/* Applies doc after an edit that returned edit_ret (err saying why it
 * failed), and answers; destroys doc. */
static void doc_apply(struct mgmt_call *call, config_t *doc, int edit_ret, char *err, size_t errlen, bool force,
		      json_t *extra)
{
	if (edit_ret < 0) {
		config_destroy(doc);
		json_decref(extra);
		mgmt_call_error(call, code_of_edit(edit_ret), NULL, "%s", err);
		return;
	}
	struct running_report rep = { 0 };
	int ret = running_apply_doc(doc, force ? RUNNING_FORCE : 0, &rep, err, errlen);
	config_destroy(doc);
	answer_applied(call, ret, &rep, err, extra);
}

static enum config_edit_flag flag_param(json_t *params, const char *key)
{
	json_t *v = json_object_get(params, key);
	return !v ? CONFIG_EDIT_KEEP : json_is_true(v) ? CONFIG_EDIT_TRUE : CONFIG_EDIT_FALSE;
}

static void m_target_create(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *name, *alias = NULL;
	bool open = false;
	json_t *luns = json_object_get(params, "luns");
	if (mgmt_param_string(call, params, "name", true, &name) < 0 ||
	    mgmt_param_string(call, params, "alias", false, &alias) < 0 || mgmt_param_bool(call, params, "open", &open) < 0)
		return;
	if (luns && !json_is_array(luns)) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "luns"),
				"param \"luns\": must be an array of LUN objects");
		return;
	}
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_target_add(&doc, name, alias, flag_param(params, "open"), err, sizeof(err));
	size_t i;
	json_t *l;
	json_array_foreach(luns, i, l) {
		unsigned n;
		if (ret == 0)
			ret = config_edit_lun_add(&doc, name, l, &n, err, sizeof(err));
	}
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

static void m_target_delete(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *name;
	bool force = false;
	if (mgmt_param_string(call, params, "name", true, &name) < 0 || mgmt_param_bool(call, params, "force", &force) < 0)
		return;
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_target_delete(&doc, name, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), force, NULL);
}

static void m_target_set(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *name;
	bool open = false;
	json_t *alias = json_object_get(params, "alias");
	if (mgmt_param_string(call, params, "name", true, &name) < 0 || mgmt_param_bool(call, params, "open", &open) < 0)
		return;
	/* "" takes the alias away, so the generic reader (non-empty) does not do. */
	if (alias && !json_is_string(alias)) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "alias"),
				"param \"alias\": must be a string (\"\" removes it)");
		return;
	}
	json_t *groups = json_object_get(params, "portal_groups");
	if (groups && !json_is_array(groups)) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "portal_groups"),
				"param \"portal_groups\": must be an array of tags ([] for every group)");
		return;
	}
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_target_set(&doc, name, alias ? json_string_value(alias) : NULL, flag_param(params, "open"),
					 err, sizeof(err));
	if (ret == 0 && groups)
		ret = config_edit_target_groups(&doc, name, groups, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

static void m_lun_create(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *target, *backend;
	if (mgmt_param_string(call, params, "target", true, &target) < 0 ||
	    mgmt_param_string(call, params, "backend", true, &backend) < 0)
		return;
	json_t *lun = json_copy(params);
	config_t doc;
	char err[512];
	if (!lun) {
		mgmt_call_error(call, MGMT_ERR_INTERNAL, NULL, "out of memory");
		return;
	}
	json_object_del(lun, "target");
	if (!doc_open(call, &doc)) {
		json_decref(lun);
		return;
	}
	unsigned n = 0;
	int ret = config_edit_lun_add(&doc, target, lun, &n, err, sizeof(err));
	json_decref(lun);
	doc_apply(call, &doc, ret, err, sizeof(err), false, json_pack("{s:s, s:i}", "target", target, "lun", (int)n));
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
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_lun_delete(&doc, target, (unsigned)lun, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), force, NULL);
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
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_lun_resize(&doc, target, (unsigned)lun, size, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

static void m_acl_add(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *target, *initiator, *chap_user = NULL;
	if (mgmt_param_string(call, params, "target", true, &target) < 0 ||
	    mgmt_param_string(call, params, "initiator", true, &initiator) < 0 ||
	    mgmt_param_string(call, params, "chap_user", false, &chap_user) < 0)
		return;
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_acl_add(&doc, target, initiator, chap_user, json_object_get(params, "luns"), err,
				      sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

static void m_acl_remove(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *target, *initiator;
	if (mgmt_param_string(call, params, "target", true, &target) < 0 ||
	    mgmt_param_string(call, params, "initiator", true, &initiator) < 0)
		return;
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_acl_remove(&doc, target, initiator, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

/* CHAP methods name a target, or discovery: true. *target NULL means
 * discovery. Returns -1 once the call is answered. */
static int chap_owner_param(struct mgmt_call *call, json_t *params, const char **target)
{
	bool discovery = false;
	*target = NULL;
	if (mgmt_param_string(call, params, "target", false, target) < 0 ||
	    mgmt_param_bool(call, params, "discovery", &discovery) < 0)
		return -1;
	if (!*target == !discovery) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "target"),
				"give either \"target\" or \"discovery\": true");
		return -1;
	}
	return 0;
}

static void m_chap_add(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *target, *user, *secret;
	if (chap_owner_param(call, params, &target) < 0 || mgmt_param_string(call, params, "user", true, &user) < 0 ||
	    mgmt_param_string(call, params, "secret", true, &secret) < 0)
		return;
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_chap_add(&doc, target, user, secret, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

static void m_chap_remove(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *target, *user;
	if (chap_owner_param(call, params, &target) < 0 || mgmt_param_string(call, params, "user", true, &user) < 0)
		return;
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_chap_remove(&doc, target, user, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

static void m_chap_mutual_set(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *target, *user, *secret;
	if (chap_owner_param(call, params, &target) < 0 || mgmt_param_string(call, params, "user", true, &user) < 0 ||
	    mgmt_param_string(call, params, "secret", true, &secret) < 0)
		return;
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_chap_mutual_set(&doc, target, user, secret, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

static void m_chap_mutual_clear(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *target;
	if (chap_owner_param(call, params, &target) < 0)
		return;
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_chap_mutual_clear(&doc, target, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

static void m_portal_add(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *address;
	unsigned long long group = 0;
	if (mgmt_param_string(call, params, "address", true, &address) < 0 ||
	    mgmt_param_uint(call, params, "group", false, UINT16_MAX, &group) < 0)
		return;
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_portal_add(&doc, address, (unsigned)group, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
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
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_portal_group_add(&doc, (unsigned)tag, err, sizeof(err));
	size_t i;
	json_t *v;
	json_array_foreach(portals, i, v) {
		if (ret < 0)
			break;
		if (!json_is_string(v)) {
			snprintf(err, sizeof(err), "portals: must be addresses \"addr:port\"");
			ret = -EINVAL;
			break;
		}
		ret = config_edit_portal_add(&doc, json_string_value(v), (unsigned)tag, err, sizeof(err));
	}
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

static void m_portal_group_delete(struct mgmt_call *call, json_t *params, void *ctx)
{
	unsigned long long tag;
	if (mgmt_param_uint(call, params, "tag", true, UINT16_MAX, &tag) < 0)
		return;
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_portal_group_delete(&doc, (unsigned)tag, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

static void m_portal_remove(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *address;
	if (mgmt_param_string(call, params, "address", true, &address) < 0)
		return;
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_portal_remove(&doc, address, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
}

static void m_param_set(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *key, *target = NULL, *group;
	json_t *value = json_object_get(params, "value");
	if (mgmt_param_string(call, params, "key", true, &key) < 0 ||
	    mgmt_param_string(call, params, "target", false, &target) < 0)
		return;
	if (!value) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", "value"),
				"param \"value\": required");
		return;
	}
	config_t doc;
	char err[512];
	if (!doc_open(call, &doc))
		return;
	int ret = config_edit_param_set(&doc, target, key, value, &group, err, sizeof(err));
	doc_apply(call, &doc, ret, err, sizeof(err), false, NULL);
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
