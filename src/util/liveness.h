/* Whether a set of loops still turn, asked by another thread without a
 * lock: each check posts every loop a message (util/loop.h) and the next
 * check looks whether each one ran. A loop stuck in a callback (a blocking
 * call, an endless loop, a deadlock) never runs it, so the checks stay
 * false until it turns again. The systemd watchdog is fed only while they
 * are true (daemon/main.c). */
#ifndef LUNAR_UTIL_LIVENESS_H
#define LUNAR_UTIL_LIVENESS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "util/loop.h"

struct liveness_probe {
	struct loop_msg msg; /* queued on loop while !answered */
	struct loop *loop;
	atomic_bool answered;
};

struct liveness {
	struct liveness_probe *probes;
	unsigned n;
};

int liveness_init(struct liveness *l, struct loop *const *loops, unsigned n);
/* After the loops stopped for good (a probe may still be queued on one). */
void liveness_fini(struct liveness *l);
/* Whether every loop ran the probe the previous call sent (true the first
 * time); probes again the loops that answered, so a probe is never queued
 * twice. One thread only. *stuck gets the index of a loop that did not
 * answer. */
bool liveness_check(struct liveness *l, unsigned *stuck);

#endif
