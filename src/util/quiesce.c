#include "util/quiesce.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "util/macros.h"

struct quiesce;

struct quiesce_ack {
	struct loop_msg msg;
	struct quiesce *q;
};

struct quiesce {
	_Atomic unsigned left;
	void (*fn)(void *arg);
	void *arg;
	struct quiesce_ack acks[];
};

static void quiesce_on_ack(struct loop_msg *msg)
{
	struct quiesce *q = container_of(msg, struct quiesce_ack, msg)->q;
	if (atomic_fetch_sub_explicit(&q->left, 1, memory_order_acq_rel) != 1)
		return;
	q->fn(q->arg);
	free(q);
}

int quiesce_then(struct loop *const *loops, unsigned n, void (*fn)(void *arg), void *arg)
{
	if (n == 0) {
		fn(arg);
		return 0;
	}
	struct quiesce *q = malloc(sizeof(*q) + n * sizeof(q->acks[0]));
	if (!q)
		return -ENOMEM;
	atomic_init(&q->left, n);
	q->fn = fn;
	q->arg = arg;
	for (unsigned i = 0; i < n; i++) {
		q->acks[i] = (struct quiesce_ack){ .msg.fn = quiesce_on_ack, .q = q };
		loop_post(loops[i], &q->acks[i].msg);
	}
	return 0;
}
