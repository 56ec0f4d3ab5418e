/* Initiator access control of one target: who may log in, and which of
 * its LUNs each initiator sees under which numbers. Pure: it reads the
 * parsed configuration (struct config_target) and nothing else.
 *
 * Names compare as RFC 3722 says iSCSI names do, after stringprep: that
 * profile maps upper case to lower case and normalizes Unicode (NFKC).
 * lunar folds ASCII letters only. eui. and naa. names are hex digits and
 * iqn. names are ASCII in practice (RFC 7143 §4.2.7.2 recommends it), so
 * ASCII folding is what matters; bytes beyond ASCII compare as they are. */
#ifndef LUNAR_CONTROL_ACL_H
#define LUNAR_CONTROL_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/config.h"

/* In a LUN map: the initiator's LUN is masked. */
#define ACL_LUN_NONE 0xFFFF

/* true when a and b are the same iSCSI name. */
bool acl_name_equal(const char *a, const char *b);
/* Folds name in place to the form acl_name_equal compares. */
void acl_name_fold(char *name);

/* The entry t lists for initiator_name, or NULL. */
const struct config_acl *acl_find(const struct config_target *t, const char *initiator_name);
/* May initiator_name, authenticated with CHAP as chap_user ("" without
 * CHAP), log in to t? A listed initiator may when its entry names no CHAP
 * user or names this one; an unlisted one only when t is open. */
bool acl_allows(const struct config_target *t, const char *initiator_name, const char *chap_user);
/* Would t let initiator_name log in with some credentials? (SendTargets
 * answers before any login to the target authenticates.) */
bool acl_lists(const struct config_target *t, const char *initiator_name);
/* What initiator_name sees of t. Returns false when it sees every LUN
 * under its own number; otherwise fills target_lun[0..n) (indexed by the
 * initiator's LUN: the target's LUN behind it, or ACL_LUN_NONE) and
 * returns true. */
bool acl_lun_map(const struct config_target *t, const char *initiator_name, uint16_t *target_lun,
		 size_t n);

#endif
