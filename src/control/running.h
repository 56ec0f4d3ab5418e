/* The running configuration: the libconfig document lunard serves from
 * (docs/CONFIG.md "Persistence and reload").
 *
 * Every change, from any source (a management request, SIGHUP, an
 * import), is a whole new document: it is validated by the loader
 * (config_load_string, with the loader's messages), compared with the
 * running configuration (reconfig.h), the difference applied live, the
 * document saved atomically and only then made the running one. On any
 * error nothing changed.
 *
 * Where the document lives: the -c FILE, read at start; else
 * STATE_DIR/lunar.conf if it exists, else the embedded default (one open
 * target with a 1 GiB sparse-file LUN) written there at the first change.
 * Command-line overrides (--listen, --limit, --threads) apply on top and
 * are never saved. libconfig keeps no comments: a document written back
 * has none.
 *
 * Control thread only. */
#ifndef LUNAR_CONTROL_RUNNING_H
#define LUNAR_CONTROL_RUNNING_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "control/config.h"
#include "iscsi/conn.h"
#include "iscsi/peer_limits.h"
#include "util/loop.h"

/* Delete LUNs and targets that sessions use (running_apply_doc). */
#define RUNNING_FORCE 1u

struct running_limit_override {
	const struct iscsi_limit_key *key;
	unsigned value;
};

struct running_options {
	const char *config_path;     /* -c FILE, or NULL */
	const char *state_dir;       /* -s DIR, or NULL: LUNAR_DEFAULT_STATE_DIR */
	/* overrides, applied over every document and never saved */
	const struct config_portal *listen;
	size_t nlisten;
	const struct running_limit_override *limits;
	size_t nlimits;
	unsigned threads;            /* 0: the document's */
	const struct config_cpus *cpu_affinity; /* NULL: the document's */
};

/* What one change did: one human line per change. */
struct running_report {
	char **lines;
	size_t n;
};

/* Start-up: reads the document (see above) and applies the overrides.
 * Returns 0, or -errno with err saying why (-EINVAL: the loader's
 * message, with the file's line). */
int running_init(const struct running_options *o, char *err, size_t errlen);
/* Once the registry is built (targets_build(running_config())), before
 * the portals open: changes are applied live from now on, and host's
 * limits and access follow the running configuration. control is the
 * control thread's loop. */
void running_serve(struct loop *control, struct iscsi_host *host);
/* The effective configuration (overrides applied). Valid until the next
 * change. */
const struct lunar_config *running_config(void);
/* A copy of the running document to edit; the caller config_destroy()s
 * it. Returns 0 or -ENOMEM. */
int running_doc_copy(config_t *out);
/* Replaces the running document by doc (which stays the caller's):
 * validate, diff, apply live, save, in that order. flags: RUNNING_FORCE.
 * Returns 0, or -errno with err saying why and nothing changed: -EINVAL
 * (the document is refused: the loader's message, or a LUN would shrink),
 * -EBUSY (deleting or replacing a LUN or target a session uses, without
 * RUNNING_FORCE), -EIO (the document could not be saved: the change was
 * undone), another -errno (a store would not open...). rep (may be NULL)
 * gets a line per change; running_report_free it. */
int running_apply_doc(config_t *doc, unsigned flags, struct running_report *rep, char *err, size_t errlen);
/* The same with the document as text (an import). */
int running_apply_text(const char *text, unsigned flags, struct running_report *rep, char *err,
		       size_t errlen);
/* SIGHUP: applies the file the document lives in as it is now. The file
 * is the source, so it is not written back (its comments stay). Without
 * RUNNING_FORCE: a reload deletes nothing in use. */
int running_reload_file(struct running_report *rep, char *err, size_t errlen);
/* The running document as text (malloc'd, NUL-terminated). Returns 0 or
 * -ENOMEM. */
int running_export(char **text);
/* Calls fn(cfg, arg) on the control thread after every change that
 * became the running configuration (cfg is running_config()), e.g. to
 * tell an iSNS server. At most RUNNING_MAX_LISTENERS; returns 0 or
 * -ENOSPC. */
#define RUNNING_MAX_LISTENERS 4
typedef void (*running_listener_fn)(const struct lunar_config *cfg, void *arg);
int running_listen(running_listener_fn fn, void *arg);
/* Where the document is saved. */
const char *running_path(void);
void running_report_free(struct running_report *rep);
/* At exit: frees the document and the configuration. */
void running_fini(void);

#endif
