/* The access-control matcher (acl.h). */
#include "control/acl.h"

#include <string.h>

bool acl_name_equal(const char *a, const char *b)
{
	/* Not strcasecmp: its folding follows the locale. */
	for (; *a && *b; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return *a == *b;
}

void acl_name_fold(char *name)
{
	for (; *name; name++)
		if (*name >= 'A' && *name <= 'Z')
			*name = (char)(*name - 'A' + 'a');
}

const struct config_acl *acl_find(const struct config_target *t, const char *initiator_name)
{
	for (size_t i = 0; i < t->nacl; i++)
		if (acl_name_equal(t->acl[i].initiator, initiator_name))
			return &t->acl[i];
	return NULL;
}

bool acl_allows(const struct config_target *t, const char *initiator_name, const char *chap_user)
{
	const struct config_acl *e = acl_find(t, initiator_name);
	if (!e)
		return t->open;
	/* CHAP_N compares exactly (RFC 1994 names are opaque strings). */
	return !e->chap_user || strcmp(e->chap_user, chap_user) == 0;
}

bool acl_lists(const struct config_target *t, const char *initiator_name)
{
	return t->open || acl_find(t, initiator_name);
}

bool acl_lun_map(const struct config_target *t, const char *initiator_name, uint16_t *target_lun,
		 size_t n)
{
	const struct config_acl *e = acl_find(t, initiator_name);
	if (!e || !e->luns)
		return false;
	for (size_t i = 0; i < n; i++)
		target_lun[i] = ACL_LUN_NONE;
	for (size_t i = 0; i < e->nluns; i++)
		if (e->luns[i].lun < n)
			target_lun[e->luns[i].lun] = e->luns[i].target_lun;
	return true;
}
