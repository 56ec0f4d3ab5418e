/* Access decisions for logins, from the configuration: CHAP accounts per
 * target and for discovery (config_chap.h), and the targets' initiator
 * ACLs (targets.h). */
#include "control/access.h"

#include <stdio.h>
#include <string.h>

#include "control/targets.h"

static const struct lunar_config *access_cfg;

void access_configure(const struct lunar_config *cfg)
{
	access_cfg = cfg;
}

/* The CHAP accounts of target (NULL: discovery), or NULL. */
static const struct config_chap *access_chap(void *target)
{
	if (target)
		return &((const struct lunar_target *)target)->config->chap;
	return access_cfg ? &access_cfg->discovery_chap : NULL;
}

static bool access_chap_required(void *target)
{
	const struct config_chap *chap = access_chap(target);

	return chap && chap->required;
}

static bool access_chap_offered(void *target)
{
	const struct config_chap *chap = access_chap(target);

	return chap && chap->nusers > 0;
}

static void access_copy_secret(const char *secret, struct iscsi_chap_secret *out)
{
	out->len = strlen(secret);
	if (out->len > sizeof(out->bytes))
		out->len = sizeof(out->bytes);
	memcpy(out->bytes, secret, out->len);
}

static bool access_chap_initiator_secret(void *target, const char *user,
					 struct iscsi_chap_secret *out)
{
	const struct config_chap *chap = access_chap(target);

	for (size_t i = 0; chap && i < chap->nusers; i++) {
		if (strcmp(chap->users[i].user, user) == 0) {
			access_copy_secret(chap->users[i].secret, out);
			return true;
		}
	}
	return false;
}

static bool access_chap_target_account(void *target, char user[ISCSI_CHAP_NAME_MAX],
				       struct iscsi_chap_secret *out)
{
	const struct config_chap *chap = access_chap(target);

	if (!chap || !chap->mutual.user)
		return false;
	snprintf(user, ISCSI_CHAP_NAME_MAX, "%s", chap->mutual.user);
	access_copy_secret(chap->mutual.secret, out);
	return true;
}

/* Discovery is open to every initiator that passed discovery CHAP (if
 * any): what it may learn is filtered per initiator by SendTargets. */
static bool access_authorize(void *target, const char *initiator_name, const char *chap_user)
{
	return !target || targets_authorize(target, initiator_name, chap_user);
}

const struct iscsi_access access_ops = {
	.chap_required = access_chap_required,
	.chap_offered = access_chap_offered,
	.chap_initiator_secret = access_chap_initiator_secret,
	.chap_target_account = access_chap_target_account,
	.authorize = access_authorize,
};
