/* Shaping a configuration document for the management methods: find the
 * group a change is about, add, replace or remove settings. Validation is
 * left to the loader (config.c), which reads the result as it reads a
 * file. */
#include "control/config_edit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "iscsi/peer_limits.h"

/* RFC 7143 §13.5 / the config's "lun" range */
#define EDIT_LUN_MAX 255

static int edit_fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int edit_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

static config_setting_t *member_or_add(config_setting_t *parent, const char *name, int type)
{
	config_setting_t *s = config_setting_get_member(parent, name);
	if (s && config_setting_type(s) != type) {
		config_setting_remove(parent, name);
		s = NULL;
	}
	return s ? s : config_setting_add(parent, name, type);
}

static int set_string(config_setting_t *parent, const char *name, const char *value)
{
	config_setting_t *s = member_or_add(parent, name, CONFIG_TYPE_STRING);
	return s && config_setting_set_string(s, value) ? 0 : -ENOMEM;
}

static int set_bool(config_setting_t *parent, const char *name, bool value)
{
	config_setting_t *s = member_or_add(parent, name, CONFIG_TYPE_BOOL);
	return s && config_setting_set_bool(s, value) ? 0 : -ENOMEM;
}

static int set_int(config_setting_t *parent, const char *name, long long value)
{
	/* libconfig keeps INT in 32 bits; larger numbers need INT64 (and the
	 * 'L' suffix it writes for them). */
	bool wide = value > INT32_MAX || value < INT32_MIN;
	config_setting_t *s = member_or_add(parent, name, wide ? CONFIG_TYPE_INT64 : CONFIG_TYPE_INT);
	if (!s)
		return -ENOMEM;
	return (wide ? config_setting_set_int64(s, value) : config_setting_set_int(s, (int)value)) ? 0 : -ENOMEM;
}

/* A JSON scalar as setting name of parent. */
static int set_json(config_setting_t *parent, const char *name, json_t *v, char *err, size_t errlen)
{
	int ret;
	if (json_is_string(v))
		ret = set_string(parent, name, json_string_value(v));
	else if (json_is_boolean(v))
		ret = set_bool(parent, name, json_is_true(v));
	else if (json_is_integer(v))
		ret = set_int(parent, name, json_integer_value(v));
	else
		return edit_fail(err, errlen, -EINVAL, "key '%s': must be a string, an integer or a boolean", name);
	if (ret < 0 && !config_setting_get_member(parent, name))
		return edit_fail(err, errlen, -EINVAL, "'%s' is not a key name", name);
	return ret < 0 ? edit_fail(err, errlen, ret, "%s", strerror(-ret)) : 0;
}

static const char *string_member(const config_setting_t *g, const char *name)
{
	const char *v = NULL;
	return g && config_setting_lookup_string(g, name, &v) ? v : NULL;
}

/* The element of list whose key is value (compared by eq), or -1. */
static int list_find(const config_setting_t *list, const char *key, const char *value,
		     int (*eq)(const char *, const char *))
{
	for (int i = 0; list && i < config_setting_length(list); i++) {
		const char *v = string_member(config_setting_get_elem(list, (unsigned)i), key);
		if (v && eq(v, value) == 0)
			return i;
	}
	return -1;
}

static config_setting_t *list_or_add(config_setting_t *parent, const char *name)
{
	config_setting_t *l = config_setting_get_member(parent, name);
	return l && config_setting_is_list(l) ? l : member_or_add(parent, name, CONFIG_TYPE_LIST);
}

static config_setting_t *target_find(config_t *doc, const char *name, char *err, size_t errlen)
{
	config_setting_t *targets = config_setting_get_member(config_root_setting(doc), "targets");
	int i = list_find(targets, "name", name, strcmp);
	if (i < 0) {
		edit_fail(err, errlen, -ENOENT, "no target %s", name);
		return NULL;
	}
	return config_setting_get_elem(targets, (unsigned)i);
}

int config_edit_target_add(config_t *doc, const char *name, const char *alias, enum config_edit_flag open,
			   char *err, size_t errlen)
{
	config_setting_t *targets = list_or_add(config_root_setting(doc), "targets");
	if (!targets)
		return edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	if (list_find(targets, "name", name, strcmp) >= 0)
		return edit_fail(err, errlen, -EEXIST, "target %s exists", name);
	config_setting_t *t = config_setting_add(targets, NULL, CONFIG_TYPE_GROUP);
	int ret = t ? set_string(t, "name", name) : -ENOMEM;
	if (ret == 0 && alias)
		ret = set_string(t, "alias", alias);
	if (ret == 0 && open != CONFIG_EDIT_KEEP)
		ret = set_bool(t, "open", open == CONFIG_EDIT_TRUE);
	if (ret == 0 && !config_setting_add(t, "luns", CONFIG_TYPE_LIST))
		ret = -ENOMEM;
	return ret < 0 ? edit_fail(err, errlen, ret, "%s", strerror(-ret)) : 0;
}

int config_edit_target_delete(config_t *doc, const char *name, char *err, size_t errlen)
{
	config_setting_t *t = target_find(doc, name, err, errlen);
	if (!t)
		return -ENOENT;
	config_setting_remove_elem(config_setting_parent(t), (unsigned)config_setting_index(t));
	return 0;
}

int config_edit_target_set(config_t *doc, const char *name, const char *alias, enum config_edit_flag open,
			   char *err, size_t errlen)
{
	config_setting_t *t = target_find(doc, name, err, errlen);
	if (!t)
		return -ENOENT;
	int ret = 0;
	if (alias && alias[0])
		ret = set_string(t, "alias", alias);
	else if (alias && config_setting_get_member(t, "alias"))
		config_setting_remove(t, "alias");
	if (ret == 0 && open != CONFIG_EDIT_KEEP)
		ret = set_bool(t, "open", open == CONFIG_EDIT_TRUE);
	return ret < 0 ? edit_fail(err, errlen, ret, "%s", strerror(-ret)) : 0;
}

/* The index in luns of LUN number n, or -1. */
static int lun_find(const config_setting_t *luns, unsigned n)
{
	for (int i = 0; luns && i < config_setting_length(luns); i++) {
		int v;
		if (config_setting_lookup_int(config_setting_get_elem(luns, (unsigned)i), "lun", &v) && v >= 0 &&
		    (unsigned)v == n)
			return i;
	}
	return -1;
}

int config_edit_lun_add(config_t *doc, const char *target, json_t *lun, unsigned *number, char *err,
			size_t errlen)
{
	config_setting_t *t = target_find(doc, target, err, errlen);
	if (!t)
		return -ENOENT;
	if (!json_is_object(lun) || !json_is_string(json_object_get(lun, "backend")))
		return edit_fail(err, errlen, -EINVAL, "a LUN needs a backend");
	config_setting_t *luns = list_or_add(t, "luns");
	if (!luns)
		return edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	json_t *jn = json_object_get(lun, "lun");
	unsigned n = 0;
	if (jn) {
		if (!json_is_integer(jn) || json_integer_value(jn) < 0 || json_integer_value(jn) > EDIT_LUN_MAX)
			return edit_fail(err, errlen, -EINVAL, "lun must be an integer from 0 to %d", EDIT_LUN_MAX);
		n = (unsigned)json_integer_value(jn);
		if (lun_find(luns, n) >= 0)
			return edit_fail(err, errlen, -EEXIST, "target %s: LUN %u exists", target, n);
	} else {
		while (n <= EDIT_LUN_MAX && lun_find(luns, n) >= 0)
			n++;
		if (n > EDIT_LUN_MAX)
			return edit_fail(err, errlen, -EEXIST, "target %s: every LUN number is taken", target);
	}
	config_setting_t *g = config_setting_add(luns, NULL, CONFIG_TYPE_GROUP);
	if (!g || set_int(g, "lun", n) < 0)
		return edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	const char *key;
	json_t *v;
	json_object_foreach(lun, key, v) {
		if (strcmp(key, "lun") == 0)
			continue;
		int ret = set_json(g, key, v, err, errlen);
		if (ret < 0) {
			config_setting_remove_elem(luns, (unsigned)config_setting_index(g));
			return ret;
		}
	}
	*number = n;
	return 0;
}

static config_setting_t *lun_get(config_t *doc, const char *target, unsigned lun, char *err, size_t errlen)
{
	config_setting_t *t = target_find(doc, target, err, errlen);
	if (!t)
		return NULL;
	config_setting_t *luns = config_setting_get_member(t, "luns");
	int i = lun_find(luns, lun);
	if (i < 0) {
		edit_fail(err, errlen, -ENOENT, "target %s has no LUN %u", target, lun);
		return NULL;
	}
	return config_setting_get_elem(luns, (unsigned)i);
}

int config_edit_lun_delete(config_t *doc, const char *target, unsigned lun, char *err, size_t errlen)
{
	config_setting_t *g = lun_get(doc, target, lun, err, errlen);
	if (!g)
		return -ENOENT;
	config_setting_remove_elem(config_setting_parent(g), (unsigned)config_setting_index(g));
	return 0;
}

int config_edit_lun_resize(config_t *doc, const char *target, unsigned lun, json_t *size, char *err,
			   size_t errlen)
{
	config_setting_t *g = lun_get(doc, target, lun, err, errlen);
	if (!g)
		return -ENOENT;
	if (!json_is_string(size) && !(json_is_integer(size) && json_integer_value(size) > 0))
		return edit_fail(err, errlen, -EINVAL, "size must be a number of bytes or a size like \"20G\"");
	return set_json(g, "size", size, err, errlen);
}

/* Removes element i of list, and the list from parent when it empties:
 * the loader wants at least one element in a list that is there. */
static void list_remove(config_setting_t *parent, config_setting_t *list, int i)
{
	config_setting_remove_elem(list, (unsigned)i);
	if (config_setting_length(list) == 0)
		config_setting_remove(parent, config_setting_name(list));
}

static int acl_entry_luns(config_setting_t *entry, json_t *luns, char *err, size_t errlen)
{
	if (!json_is_array(luns))
		return edit_fail(err, errlen, -EINVAL, "luns must be an array of {lun, target_lun}");
	config_setting_t *list = config_setting_add(entry, "luns", CONFIG_TYPE_LIST);
	if (!list)
		return edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	size_t i;
	json_t *m;
	json_array_foreach(luns, i, m) {
		json_t *l = json_object_get(m, "lun"), *tl = json_object_get(m, "target_lun");
		if (!json_is_integer(l) || !json_is_integer(tl))
			return edit_fail(err, errlen, -EINVAL, "luns[%zu] must be {lun, target_lun} integers", i);
		config_setting_t *g = config_setting_add(list, NULL, CONFIG_TYPE_GROUP);
		if (!g || set_int(g, "lun", json_integer_value(l)) < 0 ||
		    set_int(g, "target_lun", json_integer_value(tl)) < 0)
			return edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	}
	return 0;
}

int config_edit_acl_add(config_t *doc, const char *target, const char *initiator, const char *chap_user,
			json_t *luns, char *err, size_t errlen)
{
	config_setting_t *t = target_find(doc, target, err, errlen);
	if (!t)
		return -ENOENT;
	config_setting_t *acl = list_or_add(t, "acl");
	if (!acl)
		return edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	/* RFC 3722: iSCSI names compare without regard to case. */
	if (list_find(acl, "initiator", initiator, strcasecmp) >= 0)
		return edit_fail(err, errlen, -EEXIST, "target %s: initiator %s is on the acl", target, initiator);
	config_setting_t *e = config_setting_add(acl, NULL, CONFIG_TYPE_GROUP);
	int ret = e ? set_string(e, "initiator", initiator) : -ENOMEM;
	if (ret == 0 && chap_user)
		ret = set_string(e, "chap_user", chap_user);
	if (ret < 0)
		ret = edit_fail(err, errlen, ret, "%s", strerror(-ret));
	else if (luns)
		ret = acl_entry_luns(e, luns, err, errlen);
	if (ret < 0 && e)
		list_remove(t, acl, config_setting_index(e));
	else if (ret < 0 && config_setting_length(acl) == 0)
		config_setting_remove(t, "acl");
	return ret;
}

int config_edit_acl_remove(config_t *doc, const char *target, const char *initiator, char *err, size_t errlen)
{
	config_setting_t *t = target_find(doc, target, err, errlen);
	if (!t)
		return -ENOENT;
	config_setting_t *acl = config_setting_get_member(t, "acl");
	int i = list_find(acl, "initiator", initiator, strcasecmp);
	if (i < 0)
		return edit_fail(err, errlen, -ENOENT, "target %s: initiator %s is not on the acl", target, initiator);
	list_remove(t, acl, i);
	return 0;
}

/* The group holding the chap group: a target, or "discovery". */
static config_setting_t *chap_owner(config_t *doc, const char *target, bool create, char *err, size_t errlen)
{
	if (target)
		return target_find(doc, target, err, errlen);
	config_setting_t *root = config_root_setting(doc);
	config_setting_t *d = config_setting_get_member(root, "discovery");
	if (!d && create)
		d = config_setting_add(root, "discovery", CONFIG_TYPE_GROUP);
	if (!d && create)
		edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	else if (!d)
		edit_fail(err, errlen, -ENOENT, "discovery has no CHAP");
	return d;
}

static const char *owner_name(const char *target)
{
	return target ? target : "discovery";
}

static int account_set(config_setting_t *g, const char *user, const char *secret)
{
	return set_string(g, "user", user) < 0 || set_string(g, "secret", secret) < 0 ? -ENOMEM : 0;
}

int config_edit_chap_add(config_t *doc, const char *target, const char *user, const char *secret, char *err,
			 size_t errlen)
{
	config_setting_t *owner = chap_owner(doc, target, true, err, errlen);
	if (!owner)
		return target ? -ENOENT : -ENOMEM;
	config_setting_t *chap = member_or_add(owner, "chap", CONFIG_TYPE_GROUP);
	config_setting_t *users = chap ? list_or_add(chap, "users") : NULL;
	if (!users)
		return edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	if (list_find(users, "user", user, strcmp) >= 0)
		return edit_fail(err, errlen, -EEXIST, "%s: CHAP user %s exists", owner_name(target), user);
	config_setting_t *g = config_setting_add(users, NULL, CONFIG_TYPE_GROUP);
	if (!g || account_set(g, user, secret) < 0)
		return edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	return 0;
}

int config_edit_chap_remove(config_t *doc, const char *target, const char *user, char *err, size_t errlen)
{
	config_setting_t *owner = chap_owner(doc, target, false, err, errlen);
	if (!owner)
		return -ENOENT;
	config_setting_t *chap = config_setting_get_member(owner, "chap");
	config_setting_t *users = chap ? config_setting_get_member(chap, "users") : NULL;
	int i = list_find(users, "user", user, strcmp);
	if (i < 0)
		return edit_fail(err, errlen, -ENOENT, "%s has no CHAP user %s", owner_name(target), user);
	list_remove(chap, users, i);
	/* Without users the group is no CHAP configuration at all (mutual
	 * alone authenticates no one). */
	if (!config_setting_get_member(chap, "users"))
		config_setting_remove(owner, "chap");
	return 0;
}

int config_edit_chap_mutual_set(config_t *doc, const char *target, const char *user, const char *secret,
				char *err, size_t errlen)
{
	config_setting_t *owner = chap_owner(doc, target, false, err, errlen);
	config_setting_t *chap = owner ? config_setting_get_member(owner, "chap") : NULL;
	if (!chap)
		return edit_fail(err, errlen, -ENOENT, "%s has no CHAP users: add one before the mutual account",
				 owner_name(target));
	config_setting_t *m = member_or_add(chap, "mutual", CONFIG_TYPE_GROUP);
	if (!m || account_set(m, user, secret) < 0)
		return edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	return 0;
}

int config_edit_chap_mutual_clear(config_t *doc, const char *target, char *err, size_t errlen)
{
	config_setting_t *owner = chap_owner(doc, target, false, err, errlen);
	config_setting_t *chap = owner ? config_setting_get_member(owner, "chap") : NULL;
	if (!chap || !config_setting_get_member(chap, "mutual"))
		return edit_fail(err, errlen, -ENOENT, "%s has no mutual CHAP account", owner_name(target));
	config_setting_remove(chap, "mutual");
	return 0;
}

/* docs/CONFIG.md: what a document without "portals" listens on. */
static const char *const default_portals[] = { "0.0.0.0:3260", "[::]:3260" };

static int edit_nomem(char *err, size_t errlen)
{
	return edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
}

static int portal_find(const config_setting_t *p, const char *address)
{
	for (int i = 0; p && i < config_setting_length(p); i++) {
		const char *v = config_setting_get_string_elem(p, i);
		if (v && strcmp(v, address) == 0)
			return i;
	}
	return -1;
}

static int add_string_elem(config_setting_t *array, const char *v)
{
	config_setting_t *e = config_setting_add(array, NULL, CONFIG_TYPE_STRING);
	return e && config_setting_set_string(e, v) ? 0 : -ENOMEM;
}

/* The flat "portals" list; a document with neither it nor portal groups
 * gets the default one written out. NULL: the document has groups. */
static config_setting_t *portals_flat(config_t *doc, bool *nomem)
{
	config_setting_t *root = config_root_setting(doc);
	config_setting_t *p = config_setting_get_member(root, "portals");
	*nomem = false;
	if (p || config_setting_get_member(root, "portal_groups"))
		return p;
	p = config_setting_add(root, "portals", CONFIG_TYPE_ARRAY);
	for (size_t i = 0; p && i < sizeof(default_portals) / sizeof(default_portals[0]); i++)
		if (add_string_elem(p, default_portals[i]) < 0)
			p = NULL;
	*nomem = p == NULL;
	return p;
}

/* The "portal_groups" list. A document with a flat "portals" list (or
 * none) is rewritten in the grouped form first: its portals become group
 * 1, as the loader reads them. NULL: out of memory. */
static config_setting_t *groups_get(config_t *doc)
{
	config_setting_t *root = config_root_setting(doc);
	config_setting_t *groups = config_setting_get_member(root, "portal_groups");
	if (groups)
		return groups;
	bool nomem;
	config_setting_t *flat = portals_flat(doc, &nomem);
	if (!flat)
		return NULL;
	groups = config_setting_add(root, "portal_groups", CONFIG_TYPE_LIST);
	config_setting_t *g = groups ? config_setting_add(groups, NULL, CONFIG_TYPE_GROUP) : NULL;
	config_setting_t *tag = g ? config_setting_add(g, "tag", CONFIG_TYPE_INT) : NULL;
	config_setting_t *list = tag && config_setting_set_int(tag, 1) ? config_setting_add(g, "portals", CONFIG_TYPE_ARRAY) : NULL;
	for (int i = 0; list && i < config_setting_length(flat); i++)
		if (add_string_elem(list, config_setting_get_string_elem(flat, i)) < 0)
			list = NULL;
	if (!list) {
		if (groups)
			config_setting_remove(root, "portal_groups");
		return NULL;
	}
	config_setting_remove(root, "portals");
	return groups;
}

/* The group of groups with tag, and its index (or NULL). */
static config_setting_t *group_find(const config_setting_t *groups, unsigned tag, int *at)
{
	for (int i = 0; groups && i < config_setting_length(groups); i++) {
		config_setting_t *g = config_setting_get_elem(groups, (unsigned)i);
		int v;
		if (config_setting_lookup_int(g, "tag", &v) && v >= 0 && (unsigned)v == tag) {
			if (at)
				*at = i;
			return g;
		}
	}
	return NULL;
}

/* The portals array holding address (and its index), in either form. */
static config_setting_t *portal_owner(config_t *doc, const char *address, int *at)
{
	config_setting_t *root = config_root_setting(doc);
	config_setting_t *flat = config_setting_get_member(root, "portals");
	if ((*at = portal_find(flat, address)) >= 0)
		return flat;
	config_setting_t *groups = config_setting_get_member(root, "portal_groups");
	for (int i = 0; groups && i < config_setting_length(groups); i++) {
		config_setting_t *list = config_setting_get_member(config_setting_get_elem(groups, (unsigned)i), "portals");
		if ((*at = portal_find(list, address)) >= 0)
			return list;
	}
	return NULL;
}

int config_edit_portal_add(config_t *doc, const char *address, unsigned group, char *err, size_t errlen)
{
	bool nomem;
	config_setting_t *flat = portals_flat(doc, &nomem);
	if (nomem)
		return edit_nomem(err, errlen);
	int at;
	if (portal_owner(doc, address, &at))
		return edit_fail(err, errlen, -EEXIST, "portal %s exists", address);
	config_setting_t *into = flat;
	/* A flat document stays flat unless the portal goes to another group
	 * than 1; without a group, a grouped one takes it in its first. */
	if (!flat || (group && group != 1)) {
		config_setting_t *groups = groups_get(doc);
		if (!groups)
			return edit_nomem(err, errlen);
		config_setting_t *g = group ? group_find(groups, group, NULL) : config_setting_get_elem(groups, 0);
		if (!g)
			return edit_fail(err, errlen, -ENOENT, "no portal group %u", group);
		into = member_or_add(g, "portals", CONFIG_TYPE_ARRAY);
	}
	if (!into || add_string_elem(into, address) < 0)
		return edit_nomem(err, errlen);
	return 0;
}

int config_edit_portal_remove(config_t *doc, const char *address, char *err, size_t errlen)
{
	bool nomem;
	portals_flat(doc, &nomem);
	if (nomem)
		return edit_nomem(err, errlen);
	int at;
	config_setting_t *list = portal_owner(doc, address, &at);
	if (!list)
		return edit_fail(err, errlen, -ENOENT, "no portal %s", address);
	config_setting_remove_elem(list, (unsigned)at);
	return 0;
}

int config_edit_portal_group_add(config_t *doc, unsigned tag, char *err, size_t errlen)
{
	if (tag < 1 || tag > UINT16_MAX)
		return edit_fail(err, errlen, -EINVAL, "a portal group tag is 1..65535, not %u", tag);
	config_setting_t *groups = groups_get(doc);
	if (!groups)
		return edit_nomem(err, errlen);
	if (group_find(groups, tag, NULL))
		return edit_fail(err, errlen, -EEXIST, "portal group %u exists", tag);
	config_setting_t *g = config_setting_add(groups, NULL, CONFIG_TYPE_GROUP);
	if (!g || set_int(g, "tag", tag) < 0 || !config_setting_add(g, "portals", CONFIG_TYPE_ARRAY))
		return edit_nomem(err, errlen);
	return 0;
}

int config_edit_portal_group_delete(config_t *doc, unsigned tag, char *err, size_t errlen)
{
	config_setting_t *groups = groups_get(doc);
	if (!groups)
		return edit_nomem(err, errlen);
	int at;
	if (!group_find(groups, tag, &at))
		return edit_fail(err, errlen, -ENOENT, "no portal group %u", tag);
	config_setting_remove_elem(groups, (unsigned)at);
	return 0;
}

int config_edit_target_groups(config_t *doc, const char *name, json_t *groups, char *err, size_t errlen)
{
	config_setting_t *t = target_find(doc, name, err, errlen);
	if (!t)
		return -ENOENT;
	if (!json_is_array(groups))
		return edit_fail(err, errlen, -EINVAL, "portal_groups: must be an array of tags");
	if (config_setting_get_member(t, "portal_groups"))
		config_setting_remove(t, "portal_groups");
	/* [] is every group: the key's absence. */
	if (json_array_size(groups) == 0)
		return 0;
	config_setting_t *a = config_setting_add(t, "portal_groups", CONFIG_TYPE_ARRAY);
	size_t i;
	json_t *v;
	json_array_foreach(groups, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > UINT16_MAX)
			return edit_fail(err, errlen, -EINVAL, "portal_groups: a tag is an integer 1..65535");
		config_setting_t *e = a ? config_setting_add(a, NULL, CONFIG_TYPE_INT) : NULL;
		if (!e || !config_setting_set_int(e, (int)json_integer_value(v)))
			return edit_nomem(err, errlen);
	}
	return 0;
}

int config_edit_param_set(config_t *doc, const char *target, const char *key, json_t *value, const char **group,
			  char *err, size_t errlen)
{
	/* A limit of iscsi/peer_limits.c's table goes to "limits"; every other
	 * key to "iscsi", whose walker refuses one it does not know. A target
	 * has an iscsi group of its own, not limits. */
	*group = iscsi_limit_find(key) ? "limits" : "iscsi";
	if (target && strcmp(*group, "limits") == 0)
		return edit_fail(err, errlen, -EINVAL, "limits.%s: applies to every target, not to one", key);
	if (!json_is_integer(value) && !json_is_boolean(value))
		return edit_fail(err, errlen, -EINVAL, "%s.%s: value must be an integer or a boolean", *group, key);
	config_setting_t *owner = config_root_setting(doc);
	if (target && !(owner = target_find(doc, target, err, errlen)))
		return -ENOENT;
	config_setting_t *g = member_or_add(owner, *group, CONFIG_TYPE_GROUP);
	if (!g)
		return edit_fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	return set_json(g, key, value, err, errlen);
}
