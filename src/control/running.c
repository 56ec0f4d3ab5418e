/* The running configuration (running.h): its document, where it is
 * saved, and turning a new document into live changes. */
#include "control/running.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/access.h"
#include "control/portal.h"
#include "control/reconfig.h"
#include "control/targets.h"
#include "util/log.h"

#define RUNNING_FILE "lunar.conf"

static struct {
	config_t *doc;               /* on the heap: its settings point back at it */
	struct lunar_config cfg;     /* effective: the document's plus the overrides */
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

/* The whole file as a NUL-terminated string; NULL with errno set. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;
	while (mem && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	int read_err = ferror(f) ? errno : 0;
	fclose(f);
	if (!mem || fclose(mem) != 0 || read_err) {
		free(text);
		errno = read_err ? read_err : ENOMEM;
		return NULL;
	}
	return text;
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
	if (run.o.threads)
		cfg->threads = run.o.threads;
	if (cfg->threads == 0) {
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

/* Validates text (named name in messages; read from file, if not NULL)
 * as the loader does at start: the effective configuration and the
 * document. */
static int load(const char *text, const char *name, const char *file, struct lunar_config *cfg,
		config_t **doc, char *err, size_t errlen)
{
	int ret = file ? config_load_file(file, cfg, err, errlen) : config_load_string(text, name, cfg, err, errlen);
	if (ret < 0)
		return -EINVAL;
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
		config_free(cfg);
	}
	return ret;
}

int running_init(const struct running_options *o, char *err, size_t errlen)
{
	run.o = *o;
	const char *given = o->state_dir ? o->state_dir : LUNAR_DEFAULT_STATE_DIR;
	char dir[PATH_MAX];
	if (o->config_path) {
		run.path = strdup(o->config_path);
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
	char *text = read_text(run.path);
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
	host->limits = run.cfg.limits;
	host->login_limits = run.cfg.peer_limits.login;
	host->conn_limits = run.cfg.peer_limits.conn;
	host->access = access_ops;
	access_configure(&run.cfg);
}

const struct lunar_config *running_config(void)
{
	return &run.cfg;
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

/* ---- saving: write a temporary file, fsync, rename, fsync the directory ---- */

static int save_text(const char *path, const char *text)
{
	char *tmp = NULL, *dir_copy = strdup(path);
	if (!dir_copy || asprintf(&tmp, "%s.tmp", path) < 0) {
		free(dir_copy);
		return -ENOMEM;
	}
	/* 0600: the document holds CHAP secrets. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int ret = fd < 0 ? -errno : 0;
	size_t len = strlen(text), off = 0;
	while (ret == 0 && off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno != EINTR)
			ret = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	/* A temporary file a crash left behind keeps its mode through
	 * O_TRUNC, and the umask may narrow 0600: make it exactly that. */
	if (ret == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0))
		ret = -errno;
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
	} else {
		/* The rename is durable once the directory is. It has been
		 * made, so the new document is the file's now: a failure here
		 * is only logged. */
		int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) < 0)
			log_warn("configuration saved to %s, but syncing its directory failed: %s", path,
				 strerror(errno));
		if (dfd >= 0)
			close(dfd);
	}
	free(tmp);
	free(dir_copy);
	return ret;
}

/* ---- applying a plan: each step, and its undo ---- */

struct step {
	const struct reconfig_change *c;
	struct lunar_target *detached;   /* TARGET_REMOVE: held until commit */
	struct scsi_lu *lu;              /* LUN_REMOVE: held until commit */
};

struct apply {
	const struct lunar_config *old, *new;
	unsigned flags;
	struct step *steps;
	size_t done;
	char *err;
	size_t errlen;
};

static const struct config_target *old_target(const struct apply *a, const struct reconfig_change *c)
{
	return &a->old->targets[c->old_target];
}

static const struct config_target *new_target(const struct apply *a, const struct reconfig_change *c)
{
	return &a->new->targets[c->new_target];
}

static uint64_t lun_size(const struct config_lun *cl)
{
	const struct backend_value *v = backend_config_value(&cl->bs, "size");
	return v && v->given ? v->size : 0;
}

/* Without RUNNING_FORCE, nothing a logged-in session uses is deleted. */
static int check_in_use(const struct apply *a, const struct reconfig_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct reconfig_change *c = &plan->changes[i];
		if (c->kind != RECONFIG_TARGET_REMOVE && c->kind != RECONFIG_LUN_REMOVE &&
		    c->kind != RECONFIG_LUN_REPLACE)
			continue;
		const struct config_target *t = old_target(a, c);
		unsigned n = targets_sessions(t->name);
		if (n == 0 || (a->flags & RUNNING_FORCE))
			continue;
		const char *s = n == 1 ? "" : "s";
		if (c->kind == RECONFIG_TARGET_REMOVE)
			return fail(a->err, a->errlen, -EBUSY, "target %s is in use by %u session%s (force to delete)",
				    t->name, n, s);
		return fail(a->err, a->errlen, -EBUSY, "target %s: LUN %u is in use by %u session%s (force to %s)",
			    t->name, t->luns[c->old_lun].lun, n, s,
			    c->kind == RECONFIG_LUN_REMOVE ? "delete" : "replace its store");
	}
	return 0;
}

static int step_do(struct apply *a, struct step *s)
{
	const struct reconfig_change *c = s->c;
	switch (c->kind) {
	case RECONFIG_TARGET_ADD:
		return targets_add(new_target(a, c));
	case RECONFIG_TARGET_REMOVE:
		s->detached = targets_detach(old_target(a, c)->name);
		return s->detached ? 0 : -ENOENT;
	case RECONFIG_LUN_ADD:
		return targets_add_lun(new_target(a, c)->name, &new_target(a, c)->luns[c->new_lun]);
	case RECONFIG_LUN_REMOVE:
		s->lu = targets_detach_lun(old_target(a, c)->name, old_target(a, c)->luns[c->old_lun].lun);
		return s->lu ? 0 : -ENOMEM;
	case RECONFIG_LUN_REPLACE: {
		const struct config_target *t = old_target(a, c);
		int ret = targets_replace_lun(t->name, &new_target(a, c)->luns[c->new_lun]);
		if (ret < 0 && ret != -EBUSY && targets_add_lun(t->name, &t->luns[c->old_lun]) < 0)
			log_error("target %s LUN %u: its old store would not open again: the LUN is gone",
				  t->name, t->luns[c->old_lun].lun);
		return ret;
	}
	case RECONFIG_LUN_GROW: {
		const struct config_lun *cl = &new_target(a, c)->luns[c->new_lun];
		return targets_grow_lun(new_target(a, c)->name, cl, lun_size(cl));
	}
	case RECONFIG_PORTAL_ADD:
		return portals_add(&a->new->portals[c->portal]);
	case RECONFIG_PORTAL_REMOVE:
		return portals_remove(&a->old->portals[c->portal]);
	case RECONFIG_DISCOVERY_CHAP:
	case RECONFIG_TARGET_ACCESS:
	case RECONFIG_ISCSI_PARAMS:
	case RECONFIG_LOGIN_LIMITS:
	case RECONFIG_AT_RESTART:
		/* Swapped all at once at commit. */
		return 0;
	}
	return 0;
}

static void step_undo(struct apply *a, struct step *s)
{
	const struct reconfig_change *c = s->c;
	int ret = 0;
	switch (c->kind) {
	case RECONFIG_TARGET_ADD: {
		struct lunar_target *t = targets_detach(new_target(a, c)->name);
		if (t)
			targets_retire(t, false);
		break;
	}
	case RECONFIG_TARGET_REMOVE:
		ret = targets_attach(s->detached);
		s->detached = NULL;
		break;
	case RECONFIG_LUN_ADD:
		ret = targets_remove_lun(new_target(a, c)->name, new_target(a, c)->luns[c->new_lun].lun);
		break;
	case RECONFIG_LUN_REMOVE:
		ret = targets_attach_lun(old_target(a, c)->name, s->lu);
		s->lu = NULL;
		break;
	case RECONFIG_LUN_REPLACE:
		ret = targets_replace_lun(old_target(a, c)->name, &old_target(a, c)->luns[c->old_lun]);
		break;
	case RECONFIG_PORTAL_ADD:
		ret = portals_remove(&a->new->portals[c->portal]);
		break;
	case RECONFIG_PORTAL_REMOVE:
		ret = portals_add(&a->old->portals[c->portal]);
		break;
	case RECONFIG_LUN_GROW:
		/* A LUN never shrinks: it stays grown. */
	case RECONFIG_DISCOVERY_CHAP:
	case RECONFIG_TARGET_ACCESS:
	case RECONFIG_ISCSI_PARAMS:
	case RECONFIG_LOGIN_LIMITS:
	case RECONFIG_AT_RESTART:
		break;
	}
	if (ret < 0) {
		char what[512];
		reconfig_describe(c, a->old, a->new, what, sizeof(what));
		log_error("configuration: cannot undo \"%s\": %s", what, strerror(-ret));
	}
}

static void undo_all(struct apply *a)
{
	while (a->done > 0)
		step_undo(a, &a->steps[--a->done]);
}

/* The steps that cannot be undone, once the new document is kept. */
static void commit_steps(struct apply *a)
{
	for (size_t i = 0; i < a->done; i++) {
		struct step *s = &a->steps[i];
		if (s->detached)
			targets_retire(s->detached, true);
		scsi_lu_put(s->lu);
	}
}

/* changed: something differs, for the listeners. */
static void make_running(struct lunar_config *cfg, config_t *doc, bool changed)
{
	struct lunar_config old = run.cfg;
	run.cfg = *cfg;
	doc_free(run.doc);
	run.doc = doc;
	if (run.loop) {
		targets_reconfigure(&run.cfg);
		access_configure(&run.cfg);
		/* Read at login on this thread: they apply to new logins. The
		 * connection limits are read on the data plane: at restart. */
		run.host->limits = run.cfg.limits;
		run.host->login_limits = run.cfg.peer_limits.login;
	}
	config_free(&old);
	for (size_t i = 0; changed && i < run.nlisteners; i++)
		run.listeners[i].fn(&run.cfg, run.listeners[i].arg);
}

/* Applies the configuration cfg (with its document doc; both taken over
 * on success) to the running daemon; saves text when save is set. */
static int apply(struct lunar_config *cfg, config_t *doc, const char *text, bool save, unsigned flags,
		 struct running_report *rep, char *err, size_t errlen)
{
	struct reconfig_plan plan;
	int ret = reconfig_diff(&run.cfg, cfg, &plan, err, errlen);
	if (ret < 0)
		return ret == -ENOMEM ? ret : -EINVAL;
	struct apply a = { .old = &run.cfg, .new = cfg, .flags = flags, .err = err, .errlen = errlen };
	a.steps = calloc(plan.n ? plan.n : 1, sizeof(*a.steps));
	if (!a.steps) {
		reconfig_plan_free(&plan);
		return fail(err, errlen, -ENOMEM, "%s", strerror(ENOMEM));
	}
	ret = run.loop ? check_in_use(&a, &plan) : 0;
	for (size_t i = 0; run.loop && ret == 0 && i < plan.n; i++) {
		a.steps[i].c = &plan.changes[i];
		ret = step_do(&a, &a.steps[i]);
		if (ret < 0) {
			char what[512];
			reconfig_describe(&plan.changes[i], a.old, a.new, what, sizeof(what));
			fail(err, errlen, ret, "cannot apply \"%s\": %s; nothing changed", what, strerror(-ret));
		} else {
			a.done++;
		}
	}
	if (ret == 0 && save && (ret = save_text(run.path, text)) < 0) {
		fail(err, errlen, -EIO, "cannot save the configuration to %s: %s; nothing changed", run.path,
		     strerror(-ret));
		ret = -EIO;
	}
	if (ret < 0) {
		undo_all(&a);
	} else {
		commit_steps(&a);
		for (size_t i = 0; i < plan.n; i++) {
			char line[512];
			reconfig_describe(&plan.changes[i], a.old, a.new, line, sizeof(line));
			report_add(rep, line);
		}
		make_running(cfg, doc, plan.n > 0);
	}
	free(a.steps);
	reconfig_plan_free(&plan);
	return ret;
}

int running_apply_text(const char *text, unsigned flags, struct running_report *rep, char *err, size_t errlen)
{
	struct lunar_config cfg;
	config_t *doc;
	int ret = load(text, "the new configuration", NULL, &cfg, &doc, err, errlen);
	if (ret < 0)
		return ret;
	/* What is saved is the document as libconfig writes it, so that the
	 * file and the running document agree. */
	char *saved;
	ret = doc_text(doc, &saved);
	if (ret == 0)
		ret = apply(&cfg, doc, saved, true, flags, rep, err, errlen);
	else
		fail(err, errlen, ret, "%s", strerror(-ret));
	free(saved);
	if (ret < 0) {
		config_free(&cfg);
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
	char *text = read_text(run.path);
	if (!text)
		return fail(err, errlen, -errno, "%s: %s", run.path, strerror(errno));
	struct lunar_config cfg;
	config_t *doc;
	int ret = load(text, run.path, run.path, &cfg, &doc, err, errlen);
	if (ret == 0) {
		ret = apply(&cfg, doc, text, false, 0, rep, err, errlen);
		if (ret < 0) {
			config_free(&cfg);
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
	config_free(&run.cfg);
	free(run.path);
	run = (typeof(run)){ 0 };
}
