/* Loading lunard's config file: a libconfig tree walked against one table
 * of keys per group, so every key is typed, range-checked and unknown keys
 * are caught as typos. */
#include "control/config.h"
#include "control/config_file.h"
#include "control/config_walk.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macros.h"

/* RFC 7143 §13.12: MaxRecvDataSegmentLength and the burst lengths. */
#define ISCSI_DSL_MIN 512
#define ISCSI_DSL_MAX 16777215

static void config_setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *chain[32];
	size_t n = 0;
	for (; s && !config_setting_is_root(s) && n < 32; s = config_setting_parent(s))
		chain[n++] = s;
	size_t at = 0;
	buf[0] = 0;
	while (n-- > 0 && at < len) {
		const char *name = config_setting_name(chain[n]);
		int w = name ? snprintf(buf + at, len - at, "%s%s", at ? "." : "", name)
			     : snprintf(buf + at, len - at, "%s[%d]", at ? "." : "", config_setting_index(chain[n]));
		at += w > 0 ? (size_t)w : 0;
	}
}

/* "FILE:LINE: key 'PATH[.child]': why" about s (or its missing child). */
int config_fail(struct config_ctx *c, const config_setting_t *s, const char *child, const char *fmt, ...)
{
	char path[256], why[256];
	config_setting_path(s, path, sizeof(path));
	if (child)
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s%s", path[0] ? "." : "", child);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	const char *file = config_setting_source_file(s) ? config_setting_source_file(s) : c->file;
	snprintf(c->err, c->errlen, "%s:%u: key '%s': %s", file, config_setting_source_line(s), path, why);
	return -1;
}

/* libconfig 1.5 keeps an integer literal without an 'L' suffix in 32 bits
 * and silently wraps it (4294967301 reads as 5). Find the literal on the
 * setting's line and refuse any that did not fit. */
static bool config_int_truncated(const struct config_ctx *c, const config_setting_t *s)
{
	const char *name = config_setting_name(s);
	if (config_setting_type(s) != CONFIG_TYPE_INT || !name || !c->text || config_setting_source_file(s))
		return false;
	const char *line = c->text;
	for (unsigned n = 1; n < config_setting_source_line(s) && line; n++) {
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	if (!line)
		return false;
	const char *eol = strchrnul(line, '\n');
	size_t nlen = strlen(name);
	for (const char *p = line; p < eol && (p = strstr(p, name)) && p < eol; p += nlen) {
		const char *v = p + nlen;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=' && *v != ':')
			continue;
		for (v++; *v == ' ' || *v == '\t' || *v == '-' || *v == '+'; v++)
			;
		bool hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
		errno = 0;
		char *end;
		unsigned long long lit = strtoull(v, &end, hex ? 16 : 10);
		if (end == v || *end == 'L')
			continue;
		if (errno == ERANGE || lit > (hex ? UINT32_MAX : (unsigned long long)INT32_MAX))
			return true;
	}
	return false;
}

static int config_get_int(struct config_ctx *c, const config_setting_t *s, long long *v)
{
	int type = config_setting_type(s);
	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
		return config_fail(c, s, NULL, "must be an integer");
	if (config_int_truncated(c, s))
		return config_fail(c, s, NULL, "integer too large for 32 bits; add an 'L' suffix (libconfig)");
	*v = config_setting_get_int64(s);
	return 0;
}

int config_get_string(struct config_ctx *c, const config_setting_t *s, const char **v)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return config_fail(c, s, NULL, "must be a string");
	*v = config_setting_get_string(s);
	if (!**v)
		return config_fail(c, s, NULL, "must not be empty");
	return 0;
}

int config_store_string(struct config_ctx *c, const config_setting_t *s, char **dst, const char *v)
{
	char *copy = strdup(v);
	if (!copy)
		return config_fail(c, s, NULL, "%s", strerror(ENOMEM));
	free(*dst);
	*dst = copy;
	return 0;
}

int config_key_uint(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	long long v;
	if (config_get_int(c, s, &v) < 0)
		return -1;
	if (v < k->min || v > k->max)
		return config_fail(c, s, NULL, "must be in %lld..%lld", k->min, k->max);
	char *dst = (char *)obj + k->off;
	switch (k->width) {
	case sizeof(uint16_t): *(uint16_t *)dst = (uint16_t)v; break;
	case sizeof(uint32_t): *(uint32_t *)dst = (uint32_t)v; break;
	default: *(uint64_t *)dst = (uint64_t)v; break;
	}
	return 0;
}

int config_key_bool(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return config_fail(c, s, NULL, "must be true or false");
	*(bool *)((char *)obj + k->off) = config_setting_get_bool(s);
	return 0;
}

static int config_key_size(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	uint64_t *dst = (uint64_t *)((char *)obj + k->off);
	int type = config_setting_type(s);
	if (type == CONFIG_TYPE_STRING) {
		if (config_parse_size(config_setting_get_string(s), dst) == 0)
			return 0;
	} else if ((type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) && !config_int_truncated(c, s)) {
		long long v = config_setting_get_int64(s);
		if (v > 0) {
			*dst = (uint64_t)v;
			return 0;
		}
	}
	return config_fail(c, s, NULL, "must be a size like \"10G\"");
}

static int config_key_block_size(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
				 void *obj)
{
	long long v;
	if (config_get_int(c, s, &v) < 0)
		return -1;
	/* SBC-4 6.6.2: the LOGICAL BLOCK LENGTH lunar supports. */
	if (v != 512 && v != 4096)
		return config_fail(c, s, NULL, "must be 512 or 4096");
	*(uint32_t *)((char *)obj + k->off) = (uint32_t)v;
	return 0;
}

int config_key_string(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	const char *v;
	if (config_get_string(c, s, &v) < 0)
		return -1;
	if (k->max && strlen(v) > (size_t)k->max)
		return config_fail(c, s, NULL, "must be at most %lld bytes", k->max);
	return config_store_string(c, s, (char **)((char *)obj + k->off), v);
}

/* SPC-4 4.3.1: ASCII data fields hold printable characters only. */
static int config_key_serial(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	const char *v;
	if (config_get_string(c, s, &v) < 0)
		return -1;
	for (const char *p = v; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return config_fail(c, s, NULL, "must be printable ASCII");
	return config_key_string(c, s, k, obj);
}

static int config_key_iscsi_name(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
				 void *obj)
{
	const char *v;
	if (config_get_string(c, s, &v) < 0)
		return -1;
	const char *why = config_check_iscsi_name(v);
	if (why)
		return config_fail(c, s, NULL, "not an iSCSI name: %s", why);
	return config_store_string(c, s, (char **)((char *)obj + k->off), v);
}

static int config_key_state_dir(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
				void *obj)
{
	const char *v;
	if (config_get_string(c, s, &v) < 0)
		return -1;
	if (v[0] != '/')
		return config_fail(c, s, NULL, "must be an absolute path");
	return config_store_string(c, s, (char **)((char *)obj + k->off), v);
}

static int config_key_backend(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	const char *v;
	if (config_get_string(c, s, &v) < 0)
		return -1;
	const struct backend_type *type = backend_type_find(v);
	if (!type) {
		char known[256] = "";
		for (size_t i = 0; backend_type_at(i); i++)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s\"%s\"",
				 i == 0 ? "" : backend_type_at(i + 1) ? ", " : " or ", backend_type_at(i)->name);
		return config_fail(c, s, NULL, "must be %s", known);
	}
	*(const struct backend_type **)((char *)obj + k->off) = type;
	return 0;
}

/* Relative paths are relative to state_dir, resolved now so the daemon's
 * working directory does not matter. */
static int config_key_path(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	const char *v;
	if (config_get_string(c, s, &v) < 0)
		return -1;
	char *abs;
	if (v[0] == '/')
		abs = strdup(v);
	else if (asprintf(&abs, "%s/%s", c->cfg->state_dir, v) < 0)
		abs = NULL;
	if (!abs)
		return config_fail(c, s, NULL, "%s", strerror(ENOMEM));
	char **dst = (char **)((char *)obj + k->off);
	free(*dst);
	*dst = abs;
	return 0;
}

static bool config_any_store_has_key(const char *name)
{
	for (size_t i = 0; backend_type_at(i); i++)
		if (backend_type_key(backend_type_at(i), name, NULL))
			return true;
	return false;
}

/* "a, b, c": the keys of the table, and with STORES those of every
 * backend, each name once. */
static void config_known_keys(const struct config_key *keys, size_t nkeys, bool stores, char *buf, size_t len)
{
	buf[0] = 0;
	for (size_t j = 0; j < nkeys; j++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", j ? ", " : "", keys[j].name);
	for (size_t t = 0; stores && backend_type_at(t); t++) {
		const struct backend_type *type = backend_type_at(t);
		for (size_t j = 0; j < type->nkeys; j++) {
			size_t u = 0;
			while (u < t && !backend_type_key(backend_type_at(u), type->keys[j].name, NULL))
				u++;
			if (u == t)
				snprintf(buf + strlen(buf), len - strlen(buf), ", %s", type->keys[j].name);
		}
	}
}

static const struct config_key *config_find_key(const struct config_key *keys, size_t nkeys, const char *name)
{
	for (size_t j = 0; j < nkeys; j++)
		if (strcmp(keys[j].name, name) == 0)
			return &keys[j];
	return NULL;
}

/* Parses the keys of the LUN's backend (backend.h) into store->values: a
 * key of another backend does not apply, a missing required one is an
 * error. The parsers are the ones for common keys, so values read alike. */
static int config_walk_store(struct config_ctx *c, const config_setting_t *s, const struct config_key *keys,
			     size_t nkeys, struct backend_config *store)
{
	static const config_key_fn parsers[] = {
		[BACKEND_KEY_STRING] = config_key_string,
		[BACKEND_KEY_PATH] = config_key_path,
		[BACKEND_KEY_BOOL] = config_key_bool,
		[BACKEND_KEY_SIZE] = config_key_size,
		[BACKEND_KEY_INT] = config_key_uint,
	};
	const struct backend_type *type = store->type;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(m);
		if (!config_find_key(keys, nkeys, name) && !backend_type_key(type, name, NULL))
			return config_fail(c, m, NULL, "does not apply to backend \"%s\"", type->name);
	}
	for (size_t j = 0; j < type->nkeys; j++) {
		const struct backend_key *bk = &type->keys[j];
		const config_setting_t *m = config_setting_get_member(s, bk->name);
		if (!m) {
			if (bk->required)
				return config_fail(c, s, bk->name, "is required for backend \"%s\" (%s)", type->name,
						   bk->help ? bk->help : bk->name);
			continue;
		}
		const struct config_key k = {
			.name = bk->name, .off = 0, .width = sizeof(store->values[j].num), .min = bk->min, .max = bk->max,
		};
		/* The union's members all start where the value does. */
		if (parsers[bk->type](c, m, &k, &store->values[j].str) < 0)
			return -1;
		store->values[j].given = true;
	}
	return 0;
}

/* Walks group s against keys: unknown keys are refused, required ones must
 * be present. With STORE (a LUN), the keys of the chosen backend are
 * accepted too and parsed into STORE once the table's keys (among them
 * "backend") are. */
int config_walk_group(struct config_ctx *c, const config_setting_t *s, const struct config_key *keys,
		      size_t nkeys, void *obj, struct backend_config *store)
{
	if (!config_setting_is_group(s))
		return config_fail(c, s, NULL, "must be a group { ... }");
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(m);
		if (config_find_key(keys, nkeys, name) || (store && config_any_store_has_key(name)))
			continue;
		char known[512];
		config_known_keys(keys, nkeys, store != NULL, known, sizeof(known));
		return config_fail(c, m, NULL, "unknown key (known here: %s)", known);
	}
	for (size_t j = 0; j < nkeys; j++) {
		const struct config_key *k = &keys[j];
		const config_setting_t *m = config_setting_get_member(s, k->name);
		if (!m) {
			if (k->required)
				return config_fail(c, s, k->name, "is required");
			continue;
		}
		if (k->parse(c, m, k, obj) < 0)
			return -1;
	}
	return store ? config_walk_store(c, s, keys, nkeys, store) : 0;
}

static const struct config_key config_lun_keys[] = {
	/* The keys every store takes; each backend adds its own (backend.h). */
	{ KEY("backend", config_key_backend, struct config_lun, bs.type), .required = true },
	/* SAM-5 4.7.3: single-level LUNs 0..255 (peripheral addressing). */
	{ KEY("lun", config_key_uint, struct config_lun, lun), .min = 0, .max = 255, .required = true },
	{ KEY("block_size", config_key_block_size, struct config_lun, bs.block_size) },
	{ KEY("physical_block_size", config_key_block_size, struct config_lun, bs.physical_block_size) },
	{ KEY("readonly", config_key_bool, struct config_lun, bs.readonly) },
	{ KEY("serial", config_key_serial, struct config_lun, serial), .max = 64 },
	{ KEY("sanitize_rate", config_key_size, struct config_lun, sanitize_rate) },
};

static int config_key_luns(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	struct config_target *t = obj;
	if (!config_setting_is_list(s))
		return config_fail(c, s, NULL, "must be a list ( { ... }, ... )");
	/* None is a target whose LUNs come later (a management change): it
	 * answers REPORT LUNS with an empty list, like a target whose last
	 * LUN was removed. */
	size_t n = (size_t)config_setting_length(s);
	t->luns = calloc(n ? n : 1, sizeof(*t->luns));
	if (!t->luns)
		return config_fail(c, s, NULL, "%s", strerror(ENOMEM));
	t->nluns = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (config_walk_group(c, e, config_lun_keys, ARRAY_SIZE(config_lun_keys), &t->luns[i], &t->luns[i].bs) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (t->luns[j].lun == t->luns[i].lun)
				return config_fail(c, config_setting_get_member(e, "lun"), NULL,
						   "LUN %u is already defined at line %u", t->luns[i].lun,
						   config_setting_source_line(config_setting_get_elem(s, (unsigned)j)));
	}
	return 0;
}

static int config_key_iscsi(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj);

/* A target's own iscsi group: its keys over the top-level values, which
 * config_key_targets copied in first. */
static int config_key_target_iscsi(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
				   void *obj)
{
	struct config_target *t = obj;
	t->own_limits = true;
	return config_key_iscsi(c, s, k, obj);
}

static bool config_has_group(const struct lunar_config *cfg, uint16_t tag)
{
	for (size_t i = 0; i < cfg->ngroups; i++)
		if (cfg->groups[i] == tag)
			return true;
	return false;
}

/* portal_groups = [ 1, 2 ]: tags of groups the file defines, each once. */
static int config_key_target_groups(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
				    void *obj)
{
	struct config_target *t = obj;
	if (!config_setting_is_array(s) || config_setting_length(s) == 0)
		return config_fail(c, s, NULL, "must be an array of portal group tags [ 1, 2 ]");
	size_t n = (size_t)config_setting_length(s);
	t->portal_groups = calloc(n, sizeof(*t->portal_groups));
	if (!t->portal_groups)
		return config_fail(c, s, NULL, "%s", strerror(ENOMEM));
	t->nportal_groups = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		long long v;
		if (config_get_int(c, e, &v) < 0)
			return -1;
		if (v < 1 || v > UINT16_MAX || !config_has_group(c->cfg, (uint16_t)v))
			return config_fail(c, e, NULL, "no portal group has tag %lld", v);
		t->portal_groups[i] = (uint16_t)v;
		for (size_t j = 0; j < i; j++)
			if (t->portal_groups[j] == t->portal_groups[i])
				return config_fail(c, e, NULL, "portal group %lld is listed twice", v);
	}
	return 0;
}

static const struct config_key config_target_keys[] = {
	{ KEY("name", config_key_iscsi_name, struct config_target, name), .required = true },
	/* RFC 7143 §13.6: TargetAlias is at most 255 bytes. */
	{ KEY("alias", config_key_string, struct config_target, alias), .max = 255 },
	{ .name = "luns", .parse = config_key_luns, .required = true },
	{ KEY("chap", config_key_chap, struct config_target, chap) },
	{ KEY("open", config_key_bool, struct config_target, open) },
	/* after "luns": its entries name the target's LUNs */
	{ .name = "acl", .parse = config_key_acl },
	{ .name = "portal_groups", .parse = config_key_target_groups },
	{ .name = "iscsi", .parse = config_key_target_iscsi, .off = offsetof(struct config_target, limits) },
};

static int config_key_targets(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	struct lunar_config *cfg = obj;
	if (!config_setting_is_list(s))
		return config_fail(c, s, NULL, "must be a list ( { ... }, ... )");
	size_t n = (size_t)config_setting_length(s);
	cfg->targets = calloc(n ? n : 1, sizeof(*cfg->targets));
	if (!cfg->targets)
		return config_fail(c, s, NULL, "%s", strerror(ENOMEM));
	cfg->ntargets = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		cfg->targets[i].limits = cfg->limits;
		if (config_walk_group(c, e, config_target_keys, ARRAY_SIZE(config_target_keys), &cfg->targets[i], NULL) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->targets[j].name, cfg->targets[i].name) == 0)
				return config_fail(c, config_setting_get_member(e, "name"), NULL,
						   "target \"%s\" is already defined at line %u", cfg->targets[i].name,
						   config_setting_source_line(config_setting_get_elem(s, (unsigned)j)));
	}
	return 0;
}

/* The portal strings of array s, tagged tag, appended to *portals (of
 * every group so far, *n of them): an address appears once in the file. */
static int config_add_portals(struct config_ctx *c, const config_setting_t *s, uint16_t tag,
			      struct config_portal **portals, size_t *n)
{
	if (!config_setting_is_array(s))
		return config_fail(c, s, NULL, "must be an array of strings [ \"addr:port\", ... ]");
	size_t add = (size_t)config_setting_length(s);
	struct config_portal *grown = realloc(*portals, (*n + add + 1) * sizeof(*grown));
	if (!grown)
		return config_fail(c, s, NULL, "%s", strerror(ENOMEM));
	*portals = grown;
	for (size_t i = 0; i < add; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct config_portal *p = &grown[*n];
		const char *text;
		const char *why;
		memset(p, 0, sizeof(*p));
		if (config_get_string(c, e, &text) < 0)
			return -1;
		if ((why = config_parse_portal_why(text, p)))
			return config_fail(c, e, NULL, "\"%s\" %s", text, why);
		p->tag = tag;
		for (size_t j = 0; j < *n; j++)
			if (grown[j].addrlen == p->addrlen && memcmp(&grown[j].addr, &p->addr, p->addrlen) == 0)
				return config_fail(c, e, NULL, "\"%s\" is already a portal (of group %u)", text,
						   grown[j].tag);
		(*n)++;
	}
	return 0;
}

/* portals = [ ... ]: one group, tag 1, as before portal groups existed. */
static int config_key_portals(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	struct lunar_config *cfg = obj;
	if (config_setting_is_array(s) && config_setting_length(s) == 0)
		return config_fail(c, s, NULL, "must list at least one portal");
	struct config_portal *portals = NULL;
	size_t n = 0;
	if (config_add_portals(c, s, CONFIG_DEFAULT_PORTAL_GROUP, &portals, &n) < 0) {
		free(portals);
		return -1;
	}
	free(cfg->portals);
	cfg->portals = portals;
	cfg->nportals = n;
	return 0;
}

struct config_portal_group {
	uint16_t tag;
};

/* A group's portals are read once its tag is known (config_add_portals). */
static int config_key_later(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	return 0;
}

static const struct config_key config_portal_group_keys[] = {
	{ KEY("tag", config_key_uint, struct config_portal_group, tag), .min = 1, .max = UINT16_MAX, .required = true },
	{ .name = "portals", .parse = config_key_later },
};

/* portal_groups = ( { tag = 1; portals = [ ... ]; }, ... ): RFC 7143
 * §4.2.1 target portal groups. A group may have no portal yet (a
 * management change fills it); at least one portal in all. */
static int config_key_portal_groups(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
				    void *obj)
{
	struct lunar_config *cfg = obj;
	if (config_setting_get_member(config_setting_parent(s), "portals"))
		return config_fail(c, s, NULL, "give either portals or portal_groups, not both");
	if (!config_setting_is_list(s) || config_setting_length(s) == 0)
		return config_fail(c, s, NULL, "must be a list of groups ( { tag = 1; portals = [ ... ]; }, ... )");
	size_t ngroups = (size_t)config_setting_length(s);
	if (ngroups > CONFIG_MAX_PORTAL_GROUPS)
		return config_fail(c, s, NULL, "at most %d portal groups", CONFIG_MAX_PORTAL_GROUPS);
	uint16_t *groups = calloc(ngroups, sizeof(*groups));
	struct config_portal *portals = NULL;
	size_t n = 0;
	int ret = groups ? 0 : config_fail(c, s, NULL, "%s", strerror(ENOMEM));
	for (size_t i = 0; i < ngroups && ret == 0; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct config_portal_group g = { 0 };
		ret = config_walk_group(c, e, config_portal_group_keys, ARRAY_SIZE(config_portal_group_keys), &g,
					NULL);
		if (ret < 0)
			break;
		groups[i] = g.tag;
		for (size_t j = 0; j < i && ret == 0; j++)
			if (groups[j] == groups[i])
				ret = config_fail(c, config_setting_get_member(e, "tag"), NULL,
						  "portal group %u is already defined at line %u", g.tag,
						  config_setting_source_line(config_setting_get_elem(s, (unsigned)j)));
		const config_setting_t *list = config_setting_get_member(e, "portals");
		if (ret == 0 && list)
			ret = config_add_portals(c, list, groups[i], &portals, &n);
	}
	if (ret == 0 && n == 0)
		ret = config_fail(c, s, NULL, "no group has a portal: lunard would listen nowhere");
	if (ret < 0) {
		free(groups);
		free(portals);
		return -1;
	}
	free(cfg->portals);
	free(cfg->groups);
	cfg->portals = portals;
	cfg->nportals = n;
	cfg->groups = groups;
	cfg->ngroups = ngroups;
	cfg->grouped = true;
	return 0;
}

static const struct config_key config_iscsi_keys[] = {
	{ KEY("max_recv_data_segment_length", config_key_uint, struct iscsi_target_limits, max_recv_dsl),
	  .min = ISCSI_DSL_MIN, .max = ISCSI_DSL_MAX },
	{ KEY("max_burst_length", config_key_uint, struct iscsi_target_limits, max_burst),
	  .min = ISCSI_DSL_MIN, .max = ISCSI_DSL_MAX },
	{ KEY("first_burst_length", config_key_uint, struct iscsi_target_limits, first_burst),
	  .min = ISCSI_DSL_MIN, .max = ISCSI_DSL_MAX },
	/* RFC 7143 §13.17 */
	{ KEY("max_outstanding_r2t", config_key_uint, struct iscsi_target_limits, max_outstanding_r2t),
	  .min = 1, .max = 65535 },
	{ KEY("immediate_data", config_key_bool, struct iscsi_target_limits, immediate_data) },
	{ KEY("initial_r2t", config_key_bool, struct iscsi_target_limits, initial_r2t) },
};

static int config_key_iscsi(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	struct iscsi_target_limits *l = (struct iscsi_target_limits *)((char *)obj + k->off);
	if (config_walk_group(c, s, config_iscsi_keys, ARRAY_SIZE(config_iscsi_keys), l, NULL) < 0)
		return -1;
	/* RFC 7143 §13.14: FirstBurstLength must not exceed MaxBurstLength. */
	if (l->first_burst > l->max_burst) {
		const config_setting_t *fb = config_setting_get_member(s, "first_burst_length");
		if (fb)
			return config_fail(c, fb, NULL, "%u exceeds max_burst_length %u", l->first_burst, l->max_burst);
		return config_fail(c, config_setting_get_member(s, "max_burst_length"), NULL,
				   "%u is below first_burst_length %u", l->max_burst, l->first_burst);
	}
	return 0;
}

/* Below the largest transfer plus its reserve nothing could run; the top
 * only catches a unit typo. */
#define CONFIG_MEMORY_BUDGET_MIN (16ull << 20)
#define CONFIG_MEMORY_BUDGET_MAX (1ull << 40)

static int config_key_memory_budget(struct config_ctx *c, const config_setting_t *s,
				    const struct config_key *k, void *obj)
{
	if (config_key_size(c, s, k, obj) < 0)
		return -1;
	uint64_t v = *(uint64_t *)((char *)obj + k->off);
	if (v < CONFIG_MEMORY_BUDGET_MIN || v > CONFIG_MEMORY_BUDGET_MAX)
		return config_fail(c, s, NULL, "must be between 16M and 1T");
	return 0;
}

/* The "limits" group: one key per row of iscsi/peer_limits.c's table, each
 * an integer in its range. */
static int config_key_limits(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
			     void *obj)
{
	struct config_key keys[ISCSI_LIMIT_NKEYS];
	for (size_t i = 0; i < ISCSI_LIMIT_NKEYS; i++) {
		const struct iscsi_limit_key *l = &iscsi_limit_keys[i];
		keys[i] = (struct config_key){
			.name = l->name, .parse = config_key_uint, .off = l->offset,
			.width = sizeof(unsigned), .min = l->min, .max = l->max,
		};
	}
	return config_walk_group(c, s, keys, ISCSI_LIMIT_NKEYS, (char *)obj + k->off, NULL);
}

static const struct config_key config_root_keys[] = {
	/* First: LUN paths are resolved against it. */
	{ KEY("state_dir", config_key_state_dir, struct lunar_config, state_dir) },
	{ KEY("threads", config_key_uint, struct lunar_config, threads), .max = CONFIG_MAX_THREADS },
	{ KEY("memory_budget", config_key_memory_budget, struct lunar_config, memory_budget) },
	{ KEY("cpu_affinity", config_key_cpu_affinity, struct lunar_config, cpu_affinity) },
	{ KEY("poll_us", config_key_uint, struct lunar_config, poll_us), .max = CONFIG_MAX_POLL_US },
	{ KEY("limits", config_key_limits, struct lunar_config, peer_limits) },
	{ .name = "portals", .parse = config_key_portals },
	/* after "portals", before "targets", whose portal_groups name them */
	{ .name = "portal_groups", .parse = config_key_portal_groups },
	{ KEY("iscsi", config_key_iscsi, struct lunar_config, limits) },
	{ .name = "targets", .parse = config_key_targets },
	{ KEY("discovery", config_key_discovery, struct lunar_config, discovery_chap) },
	{ KEY("metrics", config_key_metrics, struct lunar_config, metrics) },
	{ KEY("isns", config_key_isns, struct lunar_config, isns) },
	{ KEY("management", config_key_management, struct lunar_config, management) },
};

static const char *const config_default_portals[] = { "0.0.0.0:3260", "[::]:3260" };

static int config_init_defaults(struct lunar_config *cfg, const char *state_dir)
{
	size_t n = ARRAY_SIZE(config_default_portals);
	memset(cfg, 0, sizeof(*cfg));
	cfg->poll_us = CONFIG_DEFAULT_POLL_US;
	iscsi_target_limits_default(&cfg->limits);
	iscsi_limits_default(&cfg->peer_limits);
	cfg->state_dir = strdup(state_dir);
	cfg->portals = calloc(n, sizeof(*cfg->portals));
	cfg->groups = calloc(1, sizeof(*cfg->groups));
	if (!cfg->state_dir || !cfg->portals || !cfg->groups)
		return -1;
	for (size_t i = 0; i < n; i++) {
		config_parse_portal(config_default_portals[i], &cfg->portals[i]);
		cfg->portals[i].tag = CONFIG_DEFAULT_PORTAL_GROUP;
	}
	cfg->nportals = n;
	cfg->groups[0] = CONFIG_DEFAULT_PORTAL_GROUP;
	cfg->ngroups = 1;
	return 0;
}

static int config_load_text(const char *text, const char *name, const char *include_dir,
			    struct lunar_config *out, char *err, size_t errlen)
{
	char spare[8];
	if (!err || errlen == 0) {
		err = spare;
		errlen = sizeof(spare);
	}
	struct lunar_config cfg;
	if (config_init_defaults(&cfg, LUNAR_DEFAULT_STATE_DIR) < 0) {
		config_free(&cfg);
		snprintf(err, errlen, "%s: %s", name, strerror(ENOMEM));
		return -1;
	}
	config_t lc;
	config_init(&lc);
	if (include_dir)
		config_set_include_dir(&lc, include_dir);
	int ret = -1;
	if (!config_read_string(&lc, text)) {
		snprintf(err, errlen, "%s:%d: %s", config_error_file(&lc) ? config_error_file(&lc) : name,
			 config_error_line(&lc), config_error_text(&lc));
	} else {
		struct config_ctx c = { .file = name, .text = text, .err = err, .errlen = errlen, .cfg = &cfg };
		ret = config_walk_group(&c, config_root_setting(&lc), config_root_keys, ARRAY_SIZE(config_root_keys),
					&cfg, NULL);
	}
	config_destroy(&lc);
	if (ret < 0) {
		config_free(&cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int config_load_string(const char *text, const char *name, struct lunar_config *cfg, char *err, size_t errlen)
{
	return config_load_text(text, name, NULL, cfg, err, errlen);
}

int config_load_file(const char *path, struct lunar_config *cfg, char *err, size_t errlen)
{
	char *text = config_file_read(path);
	if (!text) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *dir_copy = strdup(path);
	int ret = dir_copy ? config_load_text(text, path, dirname(dir_copy), cfg, err, errlen) : -1;
	if (!dir_copy)
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
	free(dir_copy);
	free(text);
	return ret;
}

/* The portals and limits are the loader's defaults. */
static const char config_default_fmt[] =
	"state_dir = \"%s\";\n"
	"targets = (\n"
	"  {\n"
	"    name = \"" LUNAR_DEFAULT_TARGET "\";\n"
	"    alias = \"default\";\n"
	"    open = true; # a quick start with no configuration: anyone may log in\n"
	"    luns = ( { lun = 0; backend = \"file\"; path = \"default-lun0.img\"; size = \"1G\"; block_size = 512; } );\n"
	"  }\n"
	");\n";

int config_default_text(const char *state_dir, char **text)
{
	if (!state_dir)
		state_dir = LUNAR_DEFAULT_STATE_DIR;
	/* It goes into the document between quotes. */
	if (strpbrk(state_dir, "\"\\"))
		return -EINVAL;
	return asprintf(text, config_default_fmt, state_dir) < 0 ? -ENOMEM : 0;
}

int config_load_default(struct lunar_config *cfg, const char *state_dir)
{
	char *text;
	int ret = config_default_text(state_dir, &text);
	if (ret < 0)
		return ret;
	char err[256];
	ret = config_load_string(text, "the embedded default configuration", cfg, err, sizeof(err)) < 0 ? -EINVAL : 0;
	free(text);
	return ret;
}

int config_set_portals(struct lunar_config *cfg, const struct config_portal *portals, size_t n)
{
	if (n == 0)
		return -1;
	struct config_portal *copy = calloc(n, sizeof(*copy));
	uint16_t *groups = calloc(cfg->ngroups + 1, sizeof(*groups));
	if (!copy || !groups) {
		free(copy);
		free(groups);
		return -1;
	}
	memcpy(copy, portals, n * sizeof(*copy));
	for (size_t i = 0; i < n; i++)
		copy[i].tag = CONFIG_DEFAULT_PORTAL_GROUP;
	if (cfg->ngroups)
		memcpy(groups, cfg->groups, cfg->ngroups * sizeof(*groups));
	size_t ngroups = cfg->ngroups;
	if (!config_has_group(cfg, CONFIG_DEFAULT_PORTAL_GROUP))
		groups[ngroups++] = CONFIG_DEFAULT_PORTAL_GROUP;
	free(cfg->portals);
	free(cfg->groups);
	cfg->portals = copy;
	cfg->nportals = n;
	cfg->groups = groups;
	cfg->ngroups = ngroups;
	return 0;
}

bool config_target_in_group(const struct lunar_config *cfg, const struct config_target *ct, uint16_t tag)
{
	if (!ct->portal_groups)
		return config_has_group(cfg, tag);
	for (size_t i = 0; i < ct->nportal_groups; i++)
		if (ct->portal_groups[i] == tag)
			return true;
	return false;
}

size_t config_target_groups(const struct lunar_config *cfg, const struct config_target *ct, uint16_t *tags)
{
	const uint16_t *from = ct->portal_groups ? ct->portal_groups : cfg->groups;
	size_t n = ct->portal_groups ? ct->nportal_groups : cfg->ngroups;
	if (n > CONFIG_MAX_PORTAL_GROUPS)
		n = CONFIG_MAX_PORTAL_GROUPS;
	if (n)
		memcpy(tags, from, n * sizeof(*tags));
	return n;
}

void config_free(struct lunar_config *cfg)
{
	for (size_t i = 0; i < cfg->ntargets; i++) {
		struct config_target *t = &cfg->targets[i];
		for (size_t j = 0; j < t->nluns; j++) {
			backend_config_clear(&t->luns[j].bs);
			free(t->luns[j].serial);
		}
		free(t->luns);
		config_acl_free(t);
		free(t->name);
		free(t->alias);
		free(t->portal_groups);
		config_chap_free(&t->chap);
	}
	config_chap_free(&cfg->discovery_chap);
	config_management_free(&cfg->management);
	config_cpus_free(&cfg->cpu_affinity);
	free(cfg->targets);
	free(cfg->portals);
	free(cfg->groups);
	free(cfg->state_dir);
	memset(cfg, 0, sizeof(*cfg));
}
