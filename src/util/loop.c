#include "util/loop.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/macros.h"

/* The remote queue is a lock-free LIFO of loop_ops (a Treiber stack)
 * that the loop empties whole; it is reversed to run in posting order.
 *
 * Memory ordering: a producer writes op->remote_res and op->remote_next,
 * then publishes op with a release compare-and-swap on loop->remote. The
 * loop takes the whole list with an acquire exchange. Every successful
 * push is a read-modify-write on loop->remote, so all pushes since the
 * last exchange form one release sequence: the acquire reads its last
 * value and so synchronizes with each of them, making every op's fields,
 * and anything its producer wrote before pushing (I/O data), visible to
 * the callback. Producers never dereference other nodes and the loop only
 * takes the whole list, so there is no ABA problem.
 *
 * Wake-ups coalesce: only the push that finds the queue empty writes the
 * eventfd. Every later push lands in a list whose first op's producer has
 * written (or is about to write) the eventfd, and the loop exchanges only
 * after reading it, so no op is stranded; a batch of any size costs one
 * write and one read. */
static void loop_push_remote(struct loop *loop, struct loop_op *op)
{
	struct loop_op *head = atomic_load_explicit(&loop->remote, memory_order_relaxed);
	do {
		op->remote_next = head;
	} while (!atomic_compare_exchange_weak_explicit(&loop->remote, &head, op, memory_order_release,
							memory_order_relaxed));
	if (head)
		return;
	unsigned long long one = 1;
	if (write(loop->wake_fd, &one, sizeof(one)) < 0)
		log_error("loop: eventfd write failed: %s", strerror(errno));
}

static void loop_drain_remote(struct loop *loop)
{
	struct loop_op *lifo = atomic_exchange_explicit(&loop->remote, NULL, memory_order_acquire);
	struct loop_op *fifo = NULL;
	while (lifo) {
		struct loop_op *next = lifo->remote_next;
		lifo->remote_next = fifo;
		fifo = lifo;
		lifo = next;
	}
	while (fifo) {
		struct loop_op *next = fifo->remote_next;
		fifo->cb(fifo, fifo->remote_res);
		fifo = next;
	}
}

static void loop_arm_wake(struct loop *loop);

static void loop_on_wake(struct loop_op *op, int res)
{
	struct loop *loop = container_of(op, struct loop, wake_op);
	if (res < 0 && res != -EINTR && res != -EAGAIN)
		log_error("loop: eventfd read failed: %s", strerror(-res));
	loop_drain_remote(loop);
	/* Re-armed even when stopping: a later loop_run must still see posts. */
	loop_arm_wake(loop);
}

static void loop_arm_wake(struct loop *loop)
{
	struct io_uring_sqe *sqe = loop_get_sqe(loop);
	io_uring_prep_read(sqe, loop->wake_fd, &loop->wake_buf, sizeof(loop->wake_buf), 0);
	loop_sqe_set_op(sqe, &loop->wake_op);
}

/* How each ring is set up, best first. DEFER_TASKRUN (kernel 6.1) runs
 * the completion work of sockets and io-wq (task work) only when the loop
 * asks for completions, in one batch on its own thread, instead of
 * interrupting it for each; it needs SINGLE_ISSUER, so the ring starts
 * disabled and the thread that runs it enables it (loop_run): loops are
 * created on the main thread. Older kernels refuse it with EINVAL; there
 * COOP_TASKRUN (5.19) at least stops the interrupts. With either,
 * TASKRUN_FLAG sets IORING_SQ_TASKRUN in the shared ring when task work
 * waits: liburing's peek then runs it, and loop_poll watches for it. */
static const struct loop_setup {
	unsigned flags;
	const char *name;
} loop_setups[] = {
	{ IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_R_DISABLED,
	  "DEFER_TASKRUN" },
	{ IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "COOP_TASKRUN" },
	{ 0, "plain" },
};

static atomic_bool loop_setup_reported;

static int loop_ring_init(struct loop *loop, unsigned entries)
{
	int ret = -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(loop_setups); i++) {
		struct io_uring_params params = {
			/* Completions can outnumber SQ entries when many sockets
			 * and backing-store I/Os are in flight; let the kernel
			 * buffer them. */
			.flags = IORING_SETUP_CQSIZE | loop_setups[i].flags,
			.cq_entries = entries * 4,
		};
		ret = io_uring_queue_init_params(entries, &loop->ring, &params);
		if (ret == -EINVAL)
			continue;
		if (ret == 0) {
			loop->disabled = loop_setups[i].flags & IORING_SETUP_R_DISABLED;
			if (i > 0 && !atomic_exchange(&loop_setup_reported, true))
				log_info("io_uring: the kernel refused %s, rings use %s", loop_setups[0].name,
					 loop_setups[i].name);
		}
		return ret;
	}
	return ret;
}

int loop_init(struct loop *loop, unsigned entries)
{
	memset(loop, 0, sizeof(*loop));
	int ret = loop_ring_init(loop, entries);
	if (ret < 0)
		return ret;
	loop->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (loop->wake_fd < 0) {
		ret = -errno;
		io_uring_queue_exit(&loop->ring);
		return ret;
	}
	atomic_init(&loop->remote, NULL);
	loop->wake_op.cb = loop_on_wake;
	loop_arm_wake(loop);
	return 0;
}

void loop_fini(struct loop *loop)
{
	io_uring_queue_exit(&loop->ring);
	close(loop->wake_fd);
}

struct io_uring_sqe *loop_get_sqe(struct loop *loop)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);
	while (!sqe) {
		io_uring_submit(&loop->ring);
		sqe = io_uring_get_sqe(&loop->ring);
	}
	return sqe;
}

void loop_defer(struct loop *loop, struct loop_defer *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = loop->deferred;
	loop->deferred = d;
}

void loop_complete_soon(struct loop *loop, struct loop_op *op, int res)
{
	op->remote_res = res;
	op->remote_next = NULL;
	if (loop->soon_tail)
		loop->soon_tail->remote_next = op;
	else
		loop->soon_head = op;
	loop->soon_tail = op;
}

/* Completions first, so that what they queue (replies) leaves with the
 * deferred work of the same round; either may queue more of both. */
static void loop_run_pending(struct loop *loop)
{
	while (loop->soon_head || loop->deferred) {
		while (loop->soon_head) {
			struct loop_op *op = loop->soon_head;
			loop->soon_head = op->remote_next;
			if (!loop->soon_head)
				loop->soon_tail = NULL;
			op->cb(op, op->remote_res);
		}
		while (loop->deferred) {
			struct loop_defer *d = loop->deferred;
			loop->deferred = d->next;
			d->queued = false;
			d->fn(d);
		}
	}
}

void loop_reserve(struct loop *loop, unsigned n)
{
	if (io_uring_sq_space_left(&loop->ring) < n)
		io_uring_submit(&loop->ring);
}

/* liburing 2.3 (Debian 12) declares io_uring_enable_rings but its
 * library does not export it (added to the map file in 2.4). */
static int loop_enable_ring(struct loop *loop)
{
	return (int)syscall(__NR_io_uring_register, loop->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
}

void loop_set_poll(struct loop *loop, unsigned long long poll_ns)
{
	loop->poll_ns = poll_ns;
}

#define LOOP_POLL_BACKOFF_MAX 255u

static inline void loop_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* Whether anything waits for the loop: a completion posted, task work
 * that will post one when the loop enters the kernel (a socket became
 * readable, an io-wq read finished, a timer fired), or a remote post. Read
 * from shared memory, without a system call. */
static bool loop_has_work(struct loop *loop)
{
	return (IO_URING_READ_ONCE(*loop->ring.sq.kflags) & IORING_SQ_TASKRUN) ||
	       io_uring_cq_ready(&loop->ring) ||
	       atomic_load_explicit(&loop->remote, memory_order_relaxed);
}

/* Whether to poll this time. After a poll that found nothing (a peer
 * slower than poll_ns) the loop sleeps through the next 1, 3, 7 ... up to
 * LOOP_POLL_BACKOFF_MAX waits it would have polled before, before it tries
 * again, so polling in vain costs little. */
static bool loop_poll_turn(struct loop *loop)
{
	if (loop->poll_skip == 0)
		return true;
	loop->poll_skip--;
	return false;
}

static void loop_count(_Atomic unsigned long long *counter, unsigned long long n)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

void loop_read_poll_stats(const struct loop *loop, struct loop_poll_stats *out)
{
	out->found = atomic_load_explicit(&loop->polls_found, memory_order_relaxed);
	out->missed = atomic_load_explicit(&loop->polls_missed, memory_order_relaxed);
	out->ns = atomic_load_explicit(&loop->poll_ns_spent, memory_order_relaxed);
}

/* Submits, then polls for up to poll_ns; the wait that follows returns
 * at once if work came. A poll that finds nothing clears poll_wanted and
 * backs off (loop_poll_turn). Work there at once after the submit (a send
 * that completed inside it) is not a poll: it neither counts nor resets
 * the back-off, which only the peer coming back in time should do. The
 * flag shows the task work the kernel has queued; should a run of it
 * leave some for later, the wait that follows runs it. */
static void loop_poll(struct loop *loop)
{
	io_uring_submit(&loop->ring);
	if (loop_has_work(loop))
		return;
	unsigned long long start = clock_now_ns(), now = start, end = start + loop->poll_ns;
	do {
		/* The clock is read once per few dozen checks. */
		for (int i = 0; i < 32; i++) {
			if (loop_has_work(loop)) {
				loop->poll_skip = loop->poll_backoff = 0;
				loop_count(&loop->polls_found, 1);
				loop_count(&loop->poll_ns_spent, clock_now_ns() - start);
				return;
			}
			loop_cpu_relax();
		}
		now = clock_now_ns();
	} while (now < end);
	loop_count(&loop->polls_missed, 1);
	loop_count(&loop->poll_ns_spent, now - start);
	loop->poll_wanted = false;
	loop->poll_backoff = loop->poll_backoff ? loop->poll_backoff * 2 + 1 : 1;
	if (loop->poll_backoff > LOOP_POLL_BACKOFF_MAX)
		loop->poll_backoff = LOOP_POLL_BACKOFF_MAX;
	loop->poll_skip = loop->poll_backoff;
}

int loop_run(struct loop *loop)
{
	if (loop->disabled) {
		if (loop_enable_ring(loop) < 0) {
			int err = errno;
			log_error("loop: enabling the ring: %s", strerror(err));
			return -err;
		}
		loop->disabled = false;
	}
	while (!loop->stop) {
		loop_run_pending(loop);
		if (loop->stop)
			break;
		if (loop->poll_ns && loop->poll_wanted && loop_poll_turn(loop))
			loop_poll(loop);
		int ret = io_uring_submit_and_wait(&loop->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EBUSY) {
			log_error("loop: io_uring_submit_and_wait: %s", strerror(-ret));
			return ret;
		}
		/* Only what the kernel has posted: with TASKRUN_FLAG, a peek at
		 * an empty ring would enter the kernel to run task work that
		 * just arrived, and keep this round from ending. */
		struct io_uring_cqe *cqe;
		while (io_uring_cq_ready(&loop->ring) && io_uring_peek_cqe(&loop->ring, &cqe) == 0) {
			struct loop_op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;
			/* Consume first: the callback may queue SQEs and reap again. */
			io_uring_cqe_seen(&loop->ring, cqe);
			if (op)
				op->cb(op, res);
		}
	}
	return 0;
}

static void loop_on_msg(struct loop_op *op, int res)
{
	struct loop_msg *msg = container_of(op, struct loop_msg, op);
	msg->fn(msg);
}

void loop_post(struct loop *loop, struct loop_msg *msg)
{
	msg->op.cb = loop_on_msg;
	loop_push_remote(loop, &msg->op);
}

void loop_complete_remote(struct loop *loop, struct loop_op *op, int res)
{
	op->remote_res = res;
	loop_push_remote(loop, op);
}
