/* The management methods (docs/MANAGEMENT.md lists them with their params,
 * results and errors): what lunard shows (mgmt_methods.c, session.list in
 * mgmt_sessions.c) and what changes its running configuration
 * (mgmt_methods_edit.c). Control thread only. */
#ifndef LUNAR_CONTROL_MGMT_METHODS_H
#define LUNAR_CONTROL_MGMT_METHODS_H

#include <stdbool.h>
#include <stdint.h>

#include "control/config.h"
#include "control/mgmt_rpc.h"
#include "util/loop.h"

/* What the methods read besides the registry and the running
 * configuration. */
struct mgmt_env {
	struct loop *control;
	struct loop *const *loops;   /* the data-plane loops */
	unsigned nloops;
	uint64_t started_ns;         /* CLOCK_MONOTONIC at start-up */
	/* the configuration served now (overrides applied) */
	const struct lunar_config *(*config)(void);
};

/* The table of every method, reading env (which must outlive it). */
void mgmt_methods_init(struct mgmt_methods *m, struct mgmt_env *env);

/* LUN lun of target as served now (its size follows a store that grew);
 * false when it is not served. */
struct mgmt_lun_state {
	uint64_t bytes;
	uint32_t block_size;
	char serial[33];
};
bool mgmt_lun_state(const char *target, uint16_t lun, struct mgmt_lun_state *st);

/* mgmt_methods_edit.c: the methods that change the running configuration */
#define MGMT_EDIT_NMETHODS 20
extern const struct mgmt_method mgmt_edit_methods[MGMT_EDIT_NMETHODS];

/* mgmt_sessions.c */
void mgmt_session_list(struct mgmt_call *call, json_t *params, void *ctx);
/* mgmt_stats.c */
void mgmt_stats_get(struct mgmt_call *call, json_t *params, void *ctx);

#endif
