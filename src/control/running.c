/* The running configuration (running.h): its document, where it is
 * saved, and turning a new document into live changes. */
#include "control/running.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/access.h"
#include "control/config_file.h"
#include "control/reconfig.h"
#include "control/reconfig_apply.h"
#include "control/targets.h"
#include "util/log.h"
#include "util/macros.h"

#define RUNNING_FILE "lunar.conf"

static struct {
	config_t *doc;               /* on the heap: its settings point back at it */
	/* effective: the document's plus the overrides. On the heap and
	 * replaced whole: SendTargets on a data-plane loop reads it (under
	 * the registry's lock, targets.c), so it is never changed in place. */
	struct lunar_config *cfg;
	char *path;                  /* where the document is saved */
	struct running_options o;    /* the overrides; the caller's arrays outlive us */
	struct loop *loop;           /* NULL until running_serve: nothing to apply to */
	struct iscsi_host *host;
	struct {
		running_listener_fn fn;
		void *arg;
	} listeners[RUNNING_MAX_LISTENERS];
	size_t nlisteners;
} run;

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static int report_add(struct running_report *rep, const char *line)
{
	log_info("configuration: %s", line);
	if (!rep)
		return 0;
	char **grown = realloc(rep->lines, (rep->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	rep->lines = grown;
	grown[rep->n] = strdup(line);
	if (!grown[rep->n])
		return -ENOMEM;
	rep->n++;
	return 0;
}

void running_report_free(struct running_report *rep)
{
	if (!rep)
		return;
	for (size_t i = 0; i < rep->n; i++)
		free(rep->lines[i]);
	free(rep->lines);
	*rep = (struct running_report){ 0 };
}

static int doc_text(const config_t *doc, char **text)
{
	size_t len = 0;
	*text = NULL;
	FILE *mem = open_memstream(text, &len);
	if (!mem)
		return -ENOMEM;
	config_write(doc, mem);
	if (fclose(mem) != 0) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Parses text into doc; include_dir resolves @include (NULL: none). On
 * error doc is left destroyed. */
static int doc_parse(config_t *doc, const char *text, const char *include_dir, const char *name, char *err,
		     size_t errlen)
{
	config_init(doc);
	if (include_dir)
		config_set_include_dir(doc, include_dir);
	if (config_read_string(doc, text))
		return 0;
	fail(err, errlen, -EINVAL, "%s:%d: %s", config_error_file(doc) ? config_error_file(doc) : name,
	     config_error_line(doc), config_error_text(doc));
	config_destroy(doc);
	return -EINVAL;
}

/* The command-line overrides, over a configuration just loaded. */
static int apply_overrides(struct lunar_config *cfg)
{
	for (size_t i = 0; i < run.o.nlimits; i++)
		iscsi_limit_put(&cfg->peer_limits, run.o.limits[i].key, run.o.limits[i].value);
	if (run.o.nlisten && config_set_portals(cfg, run.o.listen, run.o.nlisten) < 0)
		return -ENOMEM;
	if (run.o.cpu_affinity && config_cpus_copy(&cfg->cpu_affinity, run.o.cpu_affinity) < 0)
		return -ENOMEM;
	if (run.o.threads)
		cfg->threads = run.o.threads;
	if (cfg->threads == 0 && cfg->cpu_affinity.n) {
		/* One thread per CPU it is pinned to. */
		cfg->threads = (unsigned)min_u64(cfg->cpu_affinity.n, CONFIG_MAX_THREADS);
	} else if (cfg->threads == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->threads = cpus > 0 ? (unsigned)cpus : 1;
	}
	return 0;
}

static void doc_free(config_t *doc)
{
	if (!doc)
		return;
	config_destroy(doc);
	free(doc);
}

static void cfg_free(struct lunar_config *cfg)
{
	if (!cfg)
		return;
	config_free(cfg);
	free(cfg);
}

/* Validates text (named name in messages; read from file, if not NULL)
 * as the loader does at start: the effective configuration and the
 * document. */
static int load(const char *text, const char *name, const char *file, struct lunar_config **out,
		config_t **doc, char *err, size_t errlen)
{
	struct lunar_config *cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	int ret = file ? config_load_file(file, cfg, err, errlen) : config_load_string(text, name, cfg, err, errlen);
	if (ret < 0) {
		free(cfg);
		return -EINVAL;
	}
	char *dir = file ? strdup(file) : NULL;
	*doc = malloc(sizeof(**doc));
	if ((file && !dir) || !*doc) {
		ret = fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	} else if ((ret = doc_parse(*doc, text, dir ? dirname(dir) : NULL, name, err, errlen)) == 0 &&
		   apply_overrides(cfg) < 0) {
		config_destroy(*doc);
		ret = fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	}
	free(dir);
	if (ret < 0) {
		free(*doc);
		*doc = NULL;
		cfg_free(cfg);
		return ret;
	}
	*out = cfg;
	return 0;
}

int running_init(const struct running_options *o, char *err, size_t errlen)
{
	run.o = *o;
	const char *given = o->state_dir ? o->state_dir : LUNAR_DEFAULT_STATE_DIR;
	char dir[PATH_MAX];
	if (o->config_path) {
		/* Absolute, because lunard leaves its working directory when it
		 * detaches; and a symbolic link's target is what is rewritten. */
		run.path = realpath(o->config_path, NULL);
		if (!run.path && errno != ENOMEM)
			return fail(err, errlen, -errno, "%s: %s", o->config_path, strerror(errno));
	} else {
		if (mkdir(given, 0700) < 0 && errno != EEXIST)
			return fail(err, errlen, -errno, "state directory %s: %s", given, strerror(errno));
		/* The document names it, and the loader wants it absolute. */
		if (!realpath(given, dir))
			return fail(err, errlen, -errno, "state directory %s: %s", given, strerror(errno));
		if (asprintf(&run.path, "%s/%s", dir, RUNNING_FILE) < 0)
			run.path = NULL;
	}
	if (!run.path)
		return fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	int ret;
	char *text = config_file_read(run.path);
	if (text) {
		ret = load(text, run.path, run.path, &run.cfg, &run.doc, err, errlen);
	} else if (o->config_path || errno != ENOENT) {
		ret = fail(err, errlen, -errno, "%s: %s", run.path, strerror(errno));
	} else if ((ret = config_default_text(dir, &text)) < 0) {
		text = NULL;
		fail(err, errlen, ret, "state directory %s: %s", dir,
		     ret == -EINVAL ? "a quote or backslash in its name" : strerror(-ret));
	} else {
		ret = load(text, "the embedded default configuration", NULL, &run.cfg, &run.doc, err, errlen);
	}
	free(text);
	return ret;
}

void running_serve(struct loop *control, struct iscsi_host *host)
{
	run.loop = control;
	run.host = host;
	host->limits = run.cfg->limits;
	host->login_limits = run.cfg->peer_limits.login;
	host->conn_limits = run.cfg->peer_limits.conn;
	host->access = access_ops;
	access_configure(run.cfg);
}

const struct lunar_config *running_config(void)
{
	return run.cfg;
}

int running_listen(running_listener_fn fn, void *arg)
{
	if (run.nlisteners == RUNNING_MAX_LISTENERS)
		return -ENOSPC;
	run.listeners[run.nlisteners].fn = fn;
	run.listeners[run.nlisteners++].arg = arg;
	return 0;
}

const char *running_path(void)
{
	return run.path;
}

int running_export(char **text)
{
	return doc_text(run.doc, text);
}

int running_doc_copy(config_t *out)
{
	char *text;
	int ret = running_export(&text);
	if (ret < 0)
		return ret;
	ret = doc_parse(out, text, NULL, "the running configuration", NULL, 0);
	free(text);
	return ret < 0 ? -ENOMEM : 0;
}

/* changed: something differs, for the listeners. */
static void make_running(struct lunar_config *cfg, config_t *doc, bool changed)
{
	struct lunar_config *old = run.cfg;
	run.cfg = cfg;
	doc_free(run.doc);
	run.doc = doc;
	if (run.loop) {
		targets_reconfigure(cfg);
		access_configure(cfg);
		/* Read at login on this thread: they apply to new logins. The
		 * connection limits are read on the data plane: at restart. */
		run.host->limits = cfg->limits;
		run.host->login_limits = cfg->peer_limits.login;
	}
	cfg_free(old);
	for (size_t i = 0; changed && i < run.nlisteners; i++)
		run.listeners[i].fn(cfg, run.listeners[i].arg);
}

/* Applies the configuration cfg (with its document doc; both taken over
 * on success) to the running daemon; saves text when save is set. */
static int apply(struct lunar_config *cfg, config_t *doc, const char *text, bool save, unsigned flags,
		 struct running_report *rep, char *err, size_t errlen)
{
	struct reconfig_plan plan;
	int ret = reconfig_diff(run.cfg, cfg, &plan, err, errlen);
	if (ret < 0)
		return ret == -ENOMEM ? ret : -EINVAL;
	struct reconfig_applied *applied = NULL;
	if (run.loop)
		ret = reconfig_apply(&plan, run.cfg, cfg, flags & RUNNING_FORCE, &applied, err, errlen);
	if (ret == 0 && save && (ret = config_file_save(run.path, text)) < 0) {
		fail(err, errlen, -EIO, "cannot save the configuration to %s: %s; nothing changed", run.path,
		     strerror(-ret));
		ret = -EIO;
	}
	if (ret < 0) {
		if (applied)
			reconfig_undo(applied);
	} else {
		if (applied)
			reconfig_commit(applied);
		for (size_t i = 0; i < plan.n; i++) {
			char line[512];
			reconfig_describe(&plan.changes[i], run.cfg, cfg, line, sizeof(line));
			report_add(rep, line);
		}
		make_running(cfg, doc, plan.n > 0);
		for (size_t i = 0; run.loop && i < plan.n; i++)
			if (plan.changes[i].kind == RECONFIG_TARGET_ACCESS)
				targets_end_unlisted(run.cfg->targets[plan.changes[i].new_target].name);
		if (run.loop && plan.n > 0)
			targets_end_outside_groups();
	}
	reconfig_plan_free(&plan);
	return ret;
}

int running_apply_text(const char *text, unsigned flags, struct running_report *rep, char *err, size_t errlen)
{
	struct lunar_config *cfg;
	config_t *doc;
	int ret = load(text, "the new configuration", NULL, &cfg, &doc, err, errlen);
	if (ret < 0)
		return ret;
	/* What is saved is the document as libconfig writes it, so that the
	 * file and the running document agree. */
	char *saved;
	ret = doc_text(doc, &saved);
	if (ret == 0)
		ret = apply(cfg, doc, saved, true, flags, rep, err, errlen);
	else
		fail(err, errlen, ret, "%s", strerror(-ret));
	free(saved);
	if (ret < 0) {
		cfg_free(cfg);
		doc_free(doc);
	}
	return ret;
}

int running_apply_doc(config_t *doc, unsigned flags, struct running_report *rep, char *err, size_t errlen)
{
	char *text;
	if (doc_text(doc, &text) < 0)
		return fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	int ret = running_apply_text(text, flags, rep, err, errlen);
	free(text);
	return ret;
}

int running_reload_file(struct running_report *rep, char *err, size_t errlen)
{
	char *text = config_file_read(run.path);
	if (!text)
		return fail(err, errlen, -errno, "%s: %s", run.path, strerror(errno));
	struct lunar_config *cfg;
	config_t *doc;
	int ret = load(text, run.path, run.path, &cfg, &doc, err, errlen);
	if (ret == 0) {
		ret = apply(cfg, doc, text, false, 0, rep, err, errlen);
		if (ret < 0) {
			cfg_free(cfg);
			doc_free(doc);
		}
	}
	free(text);
	/* A store that grew by itself is noticed too. */
	if (ret == 0 && run.loop)
		targets_refresh_sizes();
	return ret;
}

void running_fini(void)
{
	doc_free(run.doc);
	cfg_free(run.cfg);
	free(run.path);
	run = (typeof(run)){ 0 };
}
