/* The opt-in Prometheus endpoint (docs/METRICS.md): GET /metrics over
 * HTTP (libmicrohttpd), served by libmicrohttpd's own thread. */
#ifndef LUNAR_CONTROL_METRICS_H
#define LUNAR_CONTROL_METRICS_H

#include "control/config_metrics.h"
#include "util/loop.h"

/* Starts serving on m's address when m->enabled; a no-op otherwise.
 * After the signal mask is set, so the server's thread inherits it.
 * Returns 0, or -1 (logged) when it cannot listen. */
int metrics_start(const struct config_metrics *m);
/* The data-plane loops, whose polls the exposition adds up; set once,
 * before metrics_start. */
void metrics_set_loops(struct loop *const *loops, unsigned n);
void metrics_stop(void);

#endif
