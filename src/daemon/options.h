/* lunard's command line: the option table, its help text and the check of
 * each value. An option is added here and nowhere else. */
#ifndef LUNAR_DAEMON_OPTIONS_H
#define LUNAR_DAEMON_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "control/config.h"
#include "control/running.h"

#define OPTIONS_MAX_LISTEN 16
#define OPTIONS_MAX_LIMITS 32

struct options {
	const char *config_path;
	const char *state_dir;
	const char *mgmt_socket;
	bool foreground;
	unsigned threads;
	bool threads_set;
	struct config_cpus cpu_affinity; /* --cpu-affinity; n 0: the config's */
	unsigned logout_timeout_s; /* graceful shutdown: initiators log out within it */
	/* --limit NAME=N and its shorthands, applied over the config's */
	struct running_limit_override limits[OPTIONS_MAX_LIMITS];
	size_t nlimits;
	struct config_portal listen[OPTIONS_MAX_LISTEN];
	size_t nlisten;
	const char *metrics; /* --metrics ADDR:PORT */
};

/* Fills o (zeroed by the caller) from argv, defaults included. --version
 * and --help print and exit 0; -1 once stderr says what is wrong. */
int options_parse(int argc, char **argv, struct options *o);

#endif
