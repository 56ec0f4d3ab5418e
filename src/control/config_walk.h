/* The walker behind config.c, shared with the parsers of its topics
 * (config_chap.c, config_acl.c): every group is walked against a table of
 * typed keys, and every error names the file, line and key path. Private
 * to src/control. */
#ifndef LUNAR_CONTROL_CONFIG_WALK_H
#define LUNAR_CONTROL_CONFIG_WALK_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "control/config.h"
#include "util/macros.h"

struct config_ctx {
	const char *file;            /* names the text in messages */
	const char *text;            /* the main text, see config_int_truncated */
	char *err;
	size_t errlen;
	struct lunar_config *cfg;
};

struct config_key;
typedef int (*config_key_fn)(struct config_ctx *c, const config_setting_t *s,
			     const struct config_key *k, void *obj);

struct config_key {
	const char *name;
	config_key_fn parse;
	size_t off, width;           /* where in obj the value goes */
	long long min, max;          /* integer keys */
	bool required;
};

#define KEY(n, fn, type, field) \
	.name = (n), .parse = (fn), .off = offsetof(type, field), .width = sizeof(((type *)0)->field)

/* Writes "FILE:LINE: key 'PATH[.child]': why" about s (or its missing
 * child) and returns -1. */
int config_fail(struct config_ctx *c, const config_setting_t *s, const char *child, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A non-empty string. */
int config_get_string(struct config_ctx *c, const config_setting_t *s, const char **v);
/* Replaces *dst with a copy of v. */
int config_store_string(struct config_ctx *c, const config_setting_t *s, char **dst, const char *v);
/* Key parsers for tables: an integer in k->min..k->max, a boolean, a
 * string of at most k->max bytes (0: any). */
int config_key_uint(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj);
int config_key_bool(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj);
int config_key_string(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj);
/* Walks group s against keys into obj: unknown keys are refused, required
 * ones must be present. With store (a LUN), the keys of the chosen backend
 * are accepted and parsed into it. */
int config_walk_group(struct config_ctx *c, const config_setting_t *s, const struct config_key *keys,
		      size_t nkeys, void *obj, struct backend_config *store);

/* config_chap.c: a `chap` group into the struct config_chap at k->off,
 * and the top-level `discovery` group, which holds one. */
int config_key_chap(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj);
int config_key_discovery(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
			 void *obj);

/* config_metrics.c: the top-level `metrics` group. */
int config_key_metrics(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj);

/* config_acl.c: the "acl" list of target t (after its "luns"). */
int config_key_acl(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj);
void config_acl_free(struct config_target *t);

/* config_isns.c: the top-level "isns" group. */
int config_key_isns(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj);
/* config_management.c: the "management" group (the management socket). */
int config_key_management(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
			  void *obj);
void config_management_free(struct config_management *m);
/* config_cpus.c: the top-level "cpu_affinity" list. */
int config_key_cpu_affinity(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
			    void *obj);

#endif
