/* A target's "acl" list: the initiators it admits, the CHAP user each must
 * have authenticated as, and the LUNs each sees (docs/CONFIG.md "Access
 * control"). Checked strictly: a name that is not an iSCSI name, an
 * initiator listed twice, a LUN mapped twice or to a LUN the target does
 * not have are errors, each with its key path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/acl.h"
#include "control/config_walk.h"
#include "iscsi/access.h"

static int config_key_acl_initiator(struct config_ctx *c, const config_setting_t *s,
				    const struct config_key *k, void *obj)
{
	char **dst = (char **)((char *)obj + k->off);
	const char *v;
	if (config_get_string(c, s, &v) < 0 || config_store_string(c, s, dst, v) < 0)
		return -1;
	/* Any case is accepted: names compare case-insensitively (acl.h). */
	acl_name_fold(*dst);
	const char *why = config_check_iscsi_name(*dst);
	if (why)
		return config_fail(c, s, NULL, "not an iSCSI name: %s", why);
	return 0;
}

static const struct config_key config_acl_lun_keys[] = {
	/* SAM-5 4.7.3: single-level LUNs 0..255, as in the target's "luns". */
	{ KEY("lun", config_key_uint, struct config_acl_lun, lun), .min = 0, .max = 255, .required = true },
	{ KEY("target_lun", config_key_uint, struct config_acl_lun, target_lun), .min = 0, .max = 255,
	  .required = true },
};

static int config_key_acl_luns(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
			       void *obj)
{
	struct config_acl *e = obj;
	if (!config_setting_is_list(s))
		return config_fail(c, s, NULL, "must be a list ( { lun = N; target_lun = M; }, ... )");
	size_t n = (size_t)config_setting_length(s);
	if (n == 0)
		return config_fail(c, s, NULL, "must map at least one LUN (leave \"luns\" out to show every LUN)");
	e->luns = calloc(n, sizeof(*e->luns));
	if (!e->luns)
		return config_fail(c, s, NULL, "%s", strerror(ENOMEM));
	e->nluns = n;
	for (size_t i = 0; i < n; i++)
		if (config_walk_group(c, config_setting_get_elem(s, (unsigned)i), config_acl_lun_keys,
				      ARRAY_SIZE(config_acl_lun_keys), &e->luns[i], NULL) < 0)
			return -1;
	return 0;
}

static const struct config_key config_acl_keys[] = {
	{ KEY("initiator", config_key_acl_initiator, struct config_acl, initiator), .required = true },
	{ KEY("chap_user", config_key_string, struct config_acl, chap_user), .max = ISCSI_CHAP_NAME_MAX - 1 },
	{ .name = "luns", .parse = config_key_acl_luns },
};

static bool config_target_has_lun(const struct config_target *t, uint16_t lun)
{
	for (size_t i = 0; i < t->nluns; i++)
		if (t->luns[i].lun == lun)
			return true;
	return false;
}

/* Each mapping names a LUN of the target, and neither side twice: one LU
 * under two numbers would make its unit attentions ambiguous. */
static int config_acl_check_luns(struct config_ctx *c, const config_setting_t *entry,
				 const struct config_target *t, const struct config_acl *e)
{
	const config_setting_t *list = config_setting_get_member(entry, "luns");
	for (size_t i = 0; i < e->nluns; i++) {
		const config_setting_t *m = config_setting_get_elem(list, (unsigned)i);
		const struct config_acl_lun *l = &e->luns[i];
		if (!config_target_has_lun(t, l->target_lun))
			return config_fail(c, m, "target_lun", "the target has no LUN %u", l->target_lun);
		for (size_t j = 0; j < i; j++) {
			unsigned line = config_setting_source_line(config_setting_get_elem(list, (unsigned)j));
			if (e->luns[j].lun == l->lun)
				return config_fail(c, m, "lun", "LUN %u is already mapped at line %u", l->lun, line);
			if (e->luns[j].target_lun == l->target_lun)
				return config_fail(c, m, "target_lun", "target LUN %u is already mapped at line %u",
						   l->target_lun, line);
		}
	}
	return 0;
}

int config_key_acl(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	struct config_target *t = obj;
	if (!config_setting_is_list(s))
		return config_fail(c, s, NULL, "must be a list ( { initiator = \"iqn...\"; }, ... )");
	size_t n = (size_t)config_setting_length(s);
	if (n == 0)
		return config_fail(c, s, NULL,
				   "must list at least one initiator (for a target anyone may use, set open = true)");
	t->acl = calloc(n, sizeof(*t->acl));
	if (!t->acl)
		return config_fail(c, s, NULL, "%s", strerror(ENOMEM));
	t->nacl = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (config_walk_group(c, e, config_acl_keys, ARRAY_SIZE(config_acl_keys), &t->acl[i], NULL) < 0 ||
		    config_acl_check_luns(c, e, t, &t->acl[i]) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (acl_name_equal(t->acl[j].initiator, t->acl[i].initiator))
				return config_fail(c, config_setting_get_member(e, "initiator"), NULL,
						   "initiator \"%s\" is already listed at line %u", t->acl[i].initiator,
						   config_setting_source_line(config_setting_get_elem(s, (unsigned)j)));
	}
	return 0;
}

void config_acl_free(struct config_target *t)
{
	for (size_t i = 0; i < t->nacl; i++) {
		free(t->acl[i].initiator);
		free(t->acl[i].chap_user);
		free(t->acl[i].luns);
	}
	free(t->acl);
	t->acl = NULL;
	t->nacl = 0;
}
