/* Access decisions for logins. Until CHAP accounts are configurable, no
 * target requires CHAP; initiator ACLs are the targets' (targets.h). */
#include "control/access.h"

#include "control/targets.h"

static bool access_chap_required(void *target)
{
	(void)target;
	return false;
}

static bool access_chap_initiator_secret(void *target, const char *user,
					 struct iscsi_chap_secret *out)
{
	(void)target;
	(void)user;
	(void)out;
	return false;
}

static bool access_chap_target_account(void *target, char user[ISCSI_CHAP_NAME_MAX],
				       struct iscsi_chap_secret *out)
{
	(void)target;
	(void)user;
	(void)out;
	return false;
}

static bool access_authorize(void *target, const char *initiator_name, const char *chap_user)
{
	return targets_authorize(target, initiator_name, chap_user);
}

const struct iscsi_access access_ops = {
	.chap_required = access_chap_required,
	.chap_initiator_secret = access_chap_initiator_secret,
	.chap_target_account = access_chap_target_account,
	.authorize = access_authorize,
};
