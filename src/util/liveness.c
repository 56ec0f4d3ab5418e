#include "util/liveness.h"

#include <errno.h>
#include <stdlib.h>

#include "util/macros.h"

static void probe_answer(struct loop_msg *msg)
{
	struct liveness_probe *p = container_of(msg, struct liveness_probe, msg);
	/* The last touch of the probe on the loop's thread: after it, the
	 * checking thread may post it again (loop.c reads nothing of a
	 * message once its function ran). */
	atomic_store_explicit(&p->answered, true, memory_order_release);
}

int liveness_init(struct liveness *l, struct loop *const *loops, unsigned n)
{
	l->probes = calloc(n, sizeof(*l->probes));
	if (!l->probes)
		return -ENOMEM;
	l->n = n;
	for (unsigned i = 0; i < n; i++) {
		l->probes[i].loop = loops[i];
		l->probes[i].msg.fn = probe_answer;
		atomic_init(&l->probes[i].answered, true);
	}
	return 0;
}

void liveness_fini(struct liveness *l)
{
	free(l->probes);
	l->probes = NULL;
	l->n = 0;
}

bool liveness_check(struct liveness *l, unsigned *stuck)
{
	bool all = true;
	for (unsigned i = 0; i < l->n; i++) {
		struct liveness_probe *p = &l->probes[i];
		if (!atomic_load_explicit(&p->answered, memory_order_acquire)) {
			if (all)
				*stuck = i;
			all = false;
			continue;
		}
		atomic_store_explicit(&p->answered, false, memory_order_relaxed);
		loop_post(p->loop, &p->msg);
	}
	return all;
}
