/* Parsing CHAP accounts: every user and secret checked where it is
 * written, so a login never meets a secret too short to be safe. */
#include "control/config_chap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "control/config_walk.h"

/* A CHAP name or secret of k->min..k->max bytes. A secret's own bytes
 * never go into the message. */
static int config_key_chap_string(struct config_ctx *c, const config_setting_t *s,
				  const struct config_key *k, void *obj)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return config_fail(c, s, NULL, "must be a string");
	const char *v = config_setting_get_string(s);
	size_t len = strlen(v);
	if (len < (size_t)k->min || len > (size_t)k->max) {
		if (k->min > 1)
			return config_fail(c, s, NULL, "must be %lld..%lld bytes, not %zu (RFC 7143 §9.2.1: "
					   "a CHAP secret has at least 96 bits)", k->min, k->max, len);
		return config_fail(c, s, NULL, "must be 1..%lld bytes", k->max);
	}
	return config_store_string(c, s, (char **)((char *)obj + k->off), v);
}

static const struct config_key chap_account_keys[] = {
	{ KEY("user", config_key_chap_string, struct config_chap_account, user),
	  .min = 1, .max = CONFIG_CHAP_USER_MAX, .required = true },
	{ KEY("secret", config_key_chap_string, struct config_chap_account, secret),
	  .min = CONFIG_CHAP_SECRET_MIN, .max = CONFIG_CHAP_SECRET_MAX, .required = true },
};

static int config_key_chap_users(struct config_ctx *c, const config_setting_t *s,
				 const struct config_key *k, void *obj)
{
	struct config_chap *chap = obj;
	size_t n = (size_t)config_setting_length(s);

	if (!config_setting_is_list(s))
		return config_fail(c, s, NULL, "must be a list ( { user = ...; secret = ...; }, ... )");
	if (n == 0)
		return config_fail(c, s, NULL, "must list at least one user");
	chap->users = calloc(n, sizeof(*chap->users));
	if (!chap->users)
		return config_fail(c, s, NULL, "%s", strerror(ENOMEM));
	chap->nusers = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_walk_group(c, e, chap_account_keys, ARRAY_SIZE(chap_account_keys),
				      &chap->users[i], NULL) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(chap->users[j].user, chap->users[i].user) == 0)
				return config_fail(c, config_setting_get_member(e, "user"), NULL,
						   "user \"%s\" is already listed", chap->users[i].user);
	}
	return 0;
}

/* After "users": RFC 7143 §9.2.1, a secret authenticates one direction
 * only. */
static int config_key_chap_mutual(struct config_ctx *c, const config_setting_t *s,
				  const struct config_key *k, void *obj)
{
	struct config_chap *chap = obj;

	if (config_walk_group(c, s, chap_account_keys, ARRAY_SIZE(chap_account_keys), &chap->mutual, NULL) < 0)
		return -1;
	for (size_t i = 0; i < chap->nusers; i++)
		if (strcmp(chap->users[i].secret, chap->mutual.secret) == 0)
			return config_fail(c, config_setting_get_member(s, "secret"), NULL,
					   "must differ from the secret of user \"%s\" (RFC 7143 §9.2.1)",
					   chap->users[i].user);
	return 0;
}

static const struct config_key chap_keys[] = {
	{ .name = "users", .parse = config_key_chap_users, .required = true },
	{ .name = "mutual", .parse = config_key_chap_mutual },
	{ KEY("required", config_key_bool, struct config_chap, required) },
};

int config_key_chap(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	struct config_chap *chap = (struct config_chap *)((char *)obj + k->off);

	/* Accounts configured: CHAP is asked for unless said otherwise. */
	chap->required = true;
	return config_walk_group(c, s, chap_keys, ARRAY_SIZE(chap_keys), chap, NULL);
}

static const struct config_key discovery_keys[] = {
	{ .name = "chap", .parse = config_key_chap },
};

int config_key_discovery(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
			 void *obj)
{
	return config_walk_group(c, s, discovery_keys, ARRAY_SIZE(discovery_keys), (char *)obj + k->off, NULL);
}

static void chap_account_free(struct config_chap_account *a)
{
	free(a->user);
	if (a->secret)
		OPENSSL_cleanse(a->secret, strlen(a->secret));
	free(a->secret);
}

void config_chap_free(struct config_chap *chap)
{
	for (size_t i = 0; i < chap->nusers; i++)
		chap_account_free(&chap->users[i]);
	free(chap->users);
	chap_account_free(&chap->mutual);
	memset(chap, 0, sizeof(*chap));
}
