/* Edits of a configuration document (a libconfig tree in the format of
 * docs/CONFIG.md), one per management method that changes something. They
 * only shape the tree: whether the result is a valid configuration is the
 * loader's to say when the document is applied, so its messages are the
 * same as at start-up.
 *
 * Each returns 0, or a negative errno with err saying why: -ENOENT (no
 * such target, LUN, initiator, user or portal), -EEXIST (already there),
 * -EINVAL (a value the document cannot hold), -ENOMEM. */
#ifndef LUNAR_CONTROL_CONFIG_EDIT_H
#define LUNAR_CONTROL_CONFIG_EDIT_H

#include <jansson.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

/* A boolean that may be left as it is. */
enum config_edit_flag { CONFIG_EDIT_KEEP = -1, CONFIG_EDIT_FALSE = 0, CONFIG_EDIT_TRUE = 1 };

/* A new target: name, alias (NULL: none), open; no LUNs yet. */
int config_edit_target_add(config_t *doc, const char *name, const char *alias, enum config_edit_flag open,
			   char *err, size_t errlen);
int config_edit_target_delete(config_t *doc, const char *name, char *err, size_t errlen);
/* alias NULL: kept; "" removes it. */
int config_edit_target_set(config_t *doc, const char *name, const char *alias, enum config_edit_flag open,
			   char *err, size_t errlen);

/* A LUN of target from lun (a JSON object: "backend" and the backend's
 * keys as the config names them, each a string, integer or boolean;
 * "lun" optional). Without "lun" the lowest free number is taken; *number
 * gets the LUN's number either way. */
int config_edit_lun_add(config_t *doc, const char *target, json_t *lun, unsigned *number, char *err,
			size_t errlen);
int config_edit_lun_delete(config_t *doc, const char *target, unsigned lun, char *err, size_t errlen);
/* size: an integer of bytes or a size text like "20G". */
int config_edit_lun_resize(config_t *doc, const char *target, unsigned lun, json_t *size, char *err,
			   size_t errlen);

/* An acl entry: chap_user NULL for any login; luns NULL for every LUN
 * under its own number, else a JSON array of {lun, target_lun}. */
int config_edit_acl_add(config_t *doc, const char *target, const char *initiator, const char *chap_user,
			json_t *luns, char *err, size_t errlen);
int config_edit_acl_remove(config_t *doc, const char *target, const char *initiator, char *err,
			   size_t errlen);

/* CHAP accounts of target, or of discovery sessions when target is NULL. */
int config_edit_chap_add(config_t *doc, const char *target, const char *user, const char *secret, char *err,
			 size_t errlen);
int config_edit_chap_remove(config_t *doc, const char *target, const char *user, char *err, size_t errlen);
int config_edit_chap_mutual_set(config_t *doc, const char *target, const char *user, const char *secret,
				char *err, size_t errlen);
int config_edit_chap_mutual_clear(config_t *doc, const char *target, char *err, size_t errlen);

/* Portals: a document without a list stands for the default one, which
 * the first edit writes out. group 0: the flat list, or the first group of
 * a document with portal groups; another group (other than 1) rewrites a
 * flat document as portal groups (its portals in group 1) first.
 * -ENOENT: no such group. */
int config_edit_portal_add(config_t *doc, const char *address, unsigned group, char *err, size_t errlen);
int config_edit_portal_remove(config_t *doc, const char *address, char *err, size_t errlen);
/* Portal groups (a flat document is rewritten as groups first): a new
 * empty group with tag (1..65535; -EEXIST), or one removed with its
 * portals (-ENOENT). */
int config_edit_portal_group_add(config_t *doc, unsigned tag, char *err, size_t errlen);
int config_edit_portal_group_delete(config_t *doc, unsigned tag, char *err, size_t errlen);
/* The portal groups target is reached through: a JSON array of tags; []
 * for every group. */
int config_edit_target_groups(config_t *doc, const char *name, json_t *groups, char *err, size_t errlen);

/* A key of the "iscsi" group (negotiation limits) or of the "limits"
 * group (what one peer may make lunard hold); value an integer or a
 * boolean. With target, the key goes to that target's own "iscsi" group
 * (a limits key is refused: -EINVAL). *group gets the group's name. */
int config_edit_param_set(config_t *doc, const char *target, const char *key, json_t *value, const char **group,
			  char *err, size_t errlen);

#endif
