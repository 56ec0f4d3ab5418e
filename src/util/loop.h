/* The event loop every lunar thread runs: one io_uring per thread.
 *
 * Anything that waits for the kernel (a socket receive, a send, a backing
 * store read, a timer) embeds a struct loop_op and puts its address in the
 * SQE's user_data; the loop calls op->cb with the CQE's result. Callbacks
 * run on the loop's own thread, never from inside a submit call.
 *
 * Other threads reach a loop through one lock-free queue (loop_post for
 * work, loop_complete_remote for completions, e.g. from a library's own
 * threads) and the loop's eventfd, written once per batch.
 *
 * The ring has one submitter: the thread that first runs the loop. Any
 * thread may create it (loop_init), but only that thread may take SQEs,
 * submit or register anything on it afterwards (io_uring's SINGLE_ISSUER:
 * another thread's io_uring_enter or io_uring_register fails with EEXIST).
 * loop_init itself queues the eventfd read, which the first loop_run
 * submits. */
#ifndef LUNAR_UTIL_LOOP_H
#define LUNAR_UTIL_LOOP_H

#include <liburing.h>
#include <stdatomic.h>
#include <stdbool.h>

struct loop_op;
typedef void (*loop_cb)(struct loop_op *op, int res);

struct loop_op {
	loop_cb cb;
	/* private to the loop: while queued by loop_complete_remote or
	 * loop_complete_soon */
	struct loop_op *remote_next;
	int remote_res;
};

/* Work posted to a loop from another thread. */
struct loop_msg {
	void (*fn)(struct loop_msg *msg);
	struct loop_op op; /* private to the loop */
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
	int wake_fd; /* eventfd written when the remote queue stops being empty */
	struct loop_op wake_op;
	unsigned long long wake_buf;
	_Atomic(struct loop_op *) remote; /* LIFO from other threads; run in posting order */
	struct loop_defer *deferred;
	struct loop_op *soon_head, *soon_tail; /* loop_complete_soon, in queueing order */
	unsigned long long poll_ns; /* loop_set_poll */
	bool poll_wanted;           /* loop_want_poll */
	unsigned poll_backoff, poll_skip; /* after polls that found nothing (loop.c) */
	/* loop_read_poll_stats; written by the loop's thread only */
	_Atomic unsigned long long polls_found, polls_missed, poll_ns_spent;
	bool disabled; /* created disabled: the first loop_run enables it on its thread */
	bool stop;
};

/* Returns 0 or -errno (the ring or the eventfd could not be made). */
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
/* Runs until loop->stop is set (from a callback or loop_post), then
 * returns 0; -errno, logged, when the ring fails. Every call must come
 * from the same thread (see above). */
int loop_run(struct loop *loop);
/* Before it sleeps, the loop may poll for up to poll_ns for a completion
 * instead: a peer that waits for each reply before it sends the next
 * request then finds the loop awake, rather than paying for a wake-up on
 * every request. It polls only while the work in sight asks for it
 * (loop_want_poll); 0, the default, never. */
void loop_set_poll(struct loop *loop, unsigned long long poll_ns);
/* What the loop's polls came to, for the metrics: polls that found work
 * and polls that gave up, and the time spent in both. Any thread; each
 * figure is current when read, not the three together. */
struct loop_poll_stats {
	unsigned long long found, missed, ns;
};
void loop_read_poll_stats(const struct loop *loop, struct loop_poll_stats *out);
/* Whether the loop should poll before it next sleeps: set from what
 * arrives (e.g. a request whose sender waits on it alone); a poll that
 * finds nothing clears it, so an idle loop sleeps. Loop thread only. */
static inline void loop_want_poll(struct loop *loop, bool want)
{
	loop->poll_wanted = want;
}
/* Runs d->fn before the loop next waits; a no-op if d is already queued.
 * Loop thread only. */
void loop_defer(struct loop *loop, struct loop_defer *d);
/* op->cb(op, res) runs on this loop before it next waits, after the
 * completions queued before it: for work that finished inside the call
 * that started it (a read the page cache served at once, a memory store's
 * copy), which must still complete from the loop and not inside that
 * call, without a round trip through the ring. Loop thread only; op must
 * not be queued twice at once. */
void loop_complete_soon(struct loop *loop, struct loop_op *op, int res);
/* Thread-safe: queues msg->fn to run on the loop's thread. */
void loop_post(struct loop *loop, struct loop_msg *msg);
/* Thread-safe and lock-free: op->cb(op, res) runs on the loop's thread, as
 * if an SQE of op's had completed with res. Everything the caller wrote
 * before the call is visible to the callback. op must not be queued twice
 * at once, and the loop must outlive the call. */
void loop_complete_remote(struct loop *loop, struct loop_op *op, int res);

#endif
