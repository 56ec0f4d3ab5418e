/* Access decisions for logins. Until ACLs and CHAP accounts are
 * configurable, every target is open and none requires CHAP. */
#include "control/access.h"

static bool access_chap_required(void *target)
{
	(void)target;
	return false;
}

static bool access_chap_offered(void *target)
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
	(void)target;
	(void)initiator_name;
	(void)chap_user;
	return true;
}

const struct iscsi_access access_ops = {
	.chap_required = access_chap_required,
	.chap_offered = access_chap_offered,
	.chap_initiator_secret = access_chap_initiator_secret,
	.chap_target_account = access_chap_target_account,
	.authorize = access_authorize,
};
