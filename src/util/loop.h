/* The event loop every lunar thread runs: one io_uring per thread.
 *
 * Anything that waits for the kernel (a socket receive, a send, a backing
 * store read, a timer) embeds a struct loop_op and puts its address in the
 * SQE's user_data; the loop calls op->cb with the CQE's result. Callbacks
 * run on the loop's own thread, never from inside a submit call. */
#ifndef LUNAR_UTIL_LOOP_H
#define LUNAR_UTIL_LOOP_H

#include <liburing.h>
#include <stdbool.h>
#include <pthread.h>

struct loop_op;
typedef void (*loop_cb)(struct loop_op *op, int res);

struct loop_op {
	loop_cb cb;
};

/* Work posted to a loop from another thread. */
struct loop_msg {
	struct loop_msg *next;
	void (*fn)(struct loop_msg *msg);
};

/* Work to run once before the loop next waits for completions, e.g. to
 * gather everything queued during one round of callbacks into one send. */
struct loop_defer {
	struct loop_defer *next;
	void (*fn)(struct loop_defer *d);
	bool queued;
};

struct loop {
	struct io_uring ring;
	int wake_fd; /* eventfd other threads write to after posting a message */
	struct loop_op wake_op;
	unsigned long long wake_buf;
	pthread_mutex_t inbox_lock;
	struct loop_msg *inbox; /* LIFO; drained in posting order */
	struct loop_defer *deferred;
	bool stop;
};

int loop_init(struct loop *loop, unsigned entries);
void loop_fini(struct loop *loop);
/* Returns a zeroed SQE; submits pending SQEs first if the ring is full. */
struct io_uring_sqe *loop_get_sqe(struct loop *loop);
/* Makes room for n SQEs, so a linked chain is not split by a submit. */
void loop_reserve(struct loop *loop, unsigned n);
static inline void loop_sqe_set_op(struct io_uring_sqe *sqe, struct loop_op *op)
{
	io_uring_sqe_set_data(sqe, op);
}
/* Runs until loop->stop is set (from a callback or loop_post). */
void loop_run(struct loop *loop);
/* Runs d->fn before the loop next waits; a no-op if d is already queued.
 * Loop thread only. */
void loop_defer(struct loop *loop, struct loop_defer *d);
/* Thread-safe: queues msg->fn to run on the loop's thread. */
void loop_post(struct loop *loop, struct loop_msg *msg);

#endif
