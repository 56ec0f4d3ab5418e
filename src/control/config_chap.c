/* Parsing CHAP accounts: every user and secret checked where it is
 * written, so a login never meets a secret too short to be safe. */
#include "control/config_chap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct chap_ctx {
	const char *file;
	char *err;
	size_t errlen;
};

static void chap_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent = config_setting_parent(s);
	size_t at;

	buf[0] = '\0';
	if (!s || config_setting_is_root(s))
		return;
	if (parent)
		chap_path(parent, buf, len);
	at = strlen(buf);
	if (config_setting_name(s))
		snprintf(buf + at, len - at, "%s%s", at ? "." : "", config_setting_name(s));
	else
		snprintf(buf + at, len - at, "%s[%d]", at ? "." : "", config_setting_index(s));
}

/* The same "FILE:LINE: key 'PATH': why" as the rest of config.c. */
static int chap_fail(struct chap_ctx *c, const config_setting_t *s, const char *child, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int chap_fail(struct chap_ctx *c, const config_setting_t *s, const char *child, const char *fmt, ...)
{
	char path[256], why[256];
	const char *file = config_setting_source_file(s) ? config_setting_source_file(s) : c->file;
	va_list ap;

	chap_path(s, path, sizeof(path));
	if (child)
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s%s", path[0] ? "." : "", child);
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s:%u: key '%s': %s", file, config_setting_source_line(s), path, why);
	return -1;
}

/* Refuses any member of group s not in names (NULL-terminated). */
static int chap_known_keys(struct chap_ctx *c, const config_setting_t *s, const char *const *names,
			   const char *known)
{
	if (!config_setting_is_group(s))
		return chap_fail(c, s, NULL, "must be a group { ... }");
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *const *n = names;

		while (*n && strcmp(*n, config_setting_name(m)) != 0)
			n++;
		if (!*n)
			return chap_fail(c, m, NULL, "unknown key (known here: %s)", known);
	}
	return 0;
}

static int chap_string(struct chap_ctx *c, const config_setting_t *group, const char *name, size_t min,
		       size_t max, char **out)
{
	const config_setting_t *s = config_setting_get_member(group, name);
	const char *v;
	size_t len;

	if (!s)
		return chap_fail(c, group, name, "is required");
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return chap_fail(c, s, NULL, "must be a string");
	v = config_setting_get_string(s);
	len = strlen(v);
	if (len < min || len > max) {
		/* A secret's own bytes never go into the message. */
		if (min > 1)
			return chap_fail(c, s, NULL, "must be %zu..%zu bytes, not %zu (RFC 7143 §9.2.1: "
					 "a CHAP secret has at least 96 bits)", min, max, len);
		return chap_fail(c, s, NULL, "must be 1..%zu bytes", max);
	}
	*out = strdup(v);
	if (!*out)
		return chap_fail(c, s, NULL, "%s", strerror(ENOMEM));
	return 0;
}

static int chap_account(struct chap_ctx *c, const config_setting_t *s, struct config_chap_account *a)
{
	static const char *const keys[] = { "user", "secret", NULL };

	if (chap_known_keys(c, s, keys, "user, secret") < 0 ||
	    chap_string(c, s, "user", 1, CONFIG_CHAP_USER_MAX, &a->user) < 0 ||
	    chap_string(c, s, "secret", CONFIG_CHAP_SECRET_MIN, CONFIG_CHAP_SECRET_MAX, &a->secret) < 0)
		return -1;
	return 0;
}

static int chap_users(struct chap_ctx *c, const config_setting_t *s, struct config_chap *chap)
{
	size_t n = (size_t)config_setting_length(s);

	if (!config_setting_is_list(s))
		return chap_fail(c, s, NULL, "must be a list ( { user = ...; secret = ...; }, ... )");
	if (n == 0)
		return chap_fail(c, s, NULL, "must list at least one user");
	chap->users = calloc(n, sizeof(*chap->users));
	if (!chap->users)
		return chap_fail(c, s, NULL, "%s", strerror(ENOMEM));
	chap->nusers = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (chap_account(c, e, &chap->users[i]) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(chap->users[j].user, chap->users[i].user) == 0)
				return chap_fail(c, config_setting_get_member(e, "user"), NULL,
						 "user \"%s\" is already listed", chap->users[i].user);
	}
	return 0;
}

int config_chap_parse(const config_setting_t *s, const char *file, struct config_chap *chap,
		      char *err, size_t errlen)
{
	static const char *const keys[] = { "users", "mutual", "required", NULL };
	struct chap_ctx c = { .file = file, .err = err, .errlen = errlen };
	const config_setting_t *users, *mutual, *required;

	if (chap_known_keys(&c, s, keys, "users, mutual, required") < 0)
		return -1;
	users = config_setting_get_member(s, "users");
	mutual = config_setting_get_member(s, "mutual");
	required = config_setting_get_member(s, "required");
	if (!users)
		return chap_fail(&c, s, "users", "is required");
	if (chap_users(&c, users, chap) < 0)
		return -1;
	/* Accounts configured: CHAP is asked for unless said otherwise. */
	chap->required = true;
	if (required) {
		if (config_setting_type(required) != CONFIG_TYPE_BOOL)
			return chap_fail(&c, required, NULL, "must be true or false");
		chap->required = config_setting_get_bool(required);
	}
	if (!mutual)
		return 0;
	if (chap_account(&c, mutual, &chap->mutual) < 0)
		return -1;
	/* RFC 7143 §9.2.1: a secret authenticates one direction only. */
	for (size_t i = 0; i < chap->nusers; i++)
		if (strcmp(chap->users[i].secret, chap->mutual.secret) == 0)
			return chap_fail(&c, config_setting_get_member(mutual, "secret"), NULL,
					 "must differ from the secret of user \"%s\" (RFC 7143 §9.2.1)",
					 chap->users[i].user);
	return 0;
}

int config_chap_parse_discovery(const config_setting_t *s, const char *file,
				struct config_chap *chap, char *err, size_t errlen)
{
	static const char *const keys[] = { "chap", NULL };
	struct chap_ctx c = { .file = file, .err = err, .errlen = errlen };
	const config_setting_t *m;

	if (chap_known_keys(&c, s, keys, "chap") < 0)
		return -1;
	m = config_setting_get_member(s, "chap");
	return m ? config_chap_parse(m, file, chap, err, errlen) : 0;
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
