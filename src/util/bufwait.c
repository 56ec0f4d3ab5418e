#include "util/bufwait.h"

#include <errno.h>

#include "util/macros.h"

/* How soon a waiting thread looks again for chunks another thread gave
 * back; only armed while something waits. */
#define BUFWAIT_RETRY_NS 1000000

static __thread struct bufwait *bufwait_current;

void bufwait_bind(struct bufwait *bw)
{
	bufwait_current = bw;
}

struct bufwait *bufwait_here(void)
{
	return bufwait_current;
}

static void serve(struct bufwait *bw);

static void on_serve_defer(struct loop_defer *d)
{
	serve(container_of(d, struct bufwait, serve_defer));
}

static void on_retry(struct loop_op *op, int res)
{
	struct bufwait *bw = container_of(op, struct bufwait, retry_op);
	bw->retry_armed = false;
	serve(bw);
}

void bufwait_init(struct bufwait *bw, struct bufpool *pool, struct loop *loop, unsigned keep)
{
	*bw = (struct bufwait){ .loop = loop };
	bufpool_cache_init(&bw->cache, pool, keep);
	bw->serve_defer.fn = on_serve_defer;
	bw->retry_op.cb = on_retry;
}

void bufwait_fini(struct bufwait *bw)
{
	bufpool_cache_fini(&bw->cache);
}

static void arm_retry(struct bufwait *bw)
{
	if (bw->retry_armed)
		return;
	bw->retry_ts = (struct __kernel_timespec){ .tv_nsec = BUFWAIT_RETRY_NS };
	struct io_uring_sqe *sqe = loop_get_sqe(bw->loop);
	io_uring_prep_timeout(sqe, &bw->retry_ts, 0, 0);
	loop_sqe_set_op(sqe, &bw->retry_op);
	bw->retry_armed = true;
}

/* Whether e's group, with this request, stays within its minimum. */
static bool guaranteed(const struct bufwait *bw, const struct bufwait_entry *e)
{
	const struct bufpool *pool = bw->cache.pool;
	size_t need = DIV_ROUND_UP(e->len, pool->chunk_size);
	return e->account && e->account->chunks + need <= pool->minimum_chunks;
}

/* One try for e, in this order: the budget outside the reserve (budget),
 * the overdraft if e is guaranteed, the reserve if e holds it or may take
 * it (reserve: head of its queue, or no queue). */
static int try_take(struct bufwait *bw, struct bufwait_entry *e, bool budget, bool reserve)
{
	struct bufpool *pool = bw->cache.pool;
	int n = -ENOBUFS;
	bool over = false;
	if (budget)
		n = bufpool_get_iov(&bw->cache, e->len, e->iov, e->max_iov, false);
	if (n == -ENOBUFS && guaranteed(bw, e)) {
		n = bufpool_get_iov_overdraft(&bw->cache, e->len, e->iov, e->max_iov);
		over = n >= 0;
	}
	if (n == -ENOBUFS && reserve && bufpool_reserve_take(pool, e))
		n = bufpool_get_iov(&bw->cache, e->len, e->iov, e->max_iov, true);
	if (n >= 0) {
		e->got = (unsigned)n;
		e->held += (unsigned)n;
		if (over)
			e->over += (unsigned)n;
		if (e->account)
			e->account->chunks += (size_t)n;
		if (e->last)
			bufpool_reserve_drop(pool, e);
	}
	return n;
}

static bool holds_reserve(struct bufwait *bw, const struct bufwait_entry *e)
{
	return atomic_load_explicit(&bw->cache.pool->reserve_holder, memory_order_relaxed) == e;
}

static void queue_remove(struct bufwait *bw, struct bufwait_entry *e)
{
	struct bufwait_entry **pp = &bw->head, *prev = NULL;
	while (*pp && *pp != e) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = e->next;
	if (bw->tail == e)
		bw->tail = prev;
	e->next = NULL;
	e->queued = false;
}

static void serve(struct bufwait *bw)
{
	while (bw->head) {
		struct bufwait_entry *e = bw->head;
		int n = try_take(bw, e, true, true);
		if (n == -ENOBUFS) {
			arm_retry(bw);
			return;
		}
		queue_remove(bw, e);
		/* -E2BIG cannot reach here: bufwait_get refuses it up front. */
		e->ready(e);
	}
}

int bufwait_get(struct bufwait *bw, struct bufwait_entry *e)
{
	bool holder = holds_reserve(bw, e);
	e->got = 0;
	if (e->len > e->max_iov * bw->cache.pool->chunk_size)
		return -E2BIG;
	/* A newcomer takes nothing of the budget past a waiter; the
	 * overdraft it may take, being no one else's turn. */
	bool first = !bw->head || holder;
	int n = try_take(bw, e, first, first);
	if (n != -ENOBUFS)
		return n;
	/* The holder goes first: the head could not take the reserve from it. */
	e->queued = true;
	if (holder || !bw->head) {
		e->next = bw->head;
		bw->head = e;
		if (!bw->tail)
			bw->tail = e;
	} else {
		e->next = NULL;
		bw->tail->next = e;
		bw->tail = e;
	}
	arm_retry(bw);
	return 0;
}

int bufwait_get_now(struct bufwait *bw, struct bufwait_entry *e)
{
	e->got = 0;
	return try_take(bw, e, true, false);
}

void bufwait_cancel(struct bufwait *bw, struct bufwait_entry *e)
{
	if (e->queued)
		queue_remove(bw, e);
	if (holds_reserve(bw, e)) {
		bufpool_reserve_drop(bw->cache.pool, e);
		if (bw->head && !bw->serve_defer.queued)
			loop_defer(bw->loop, &bw->serve_defer);
	}
}

void bufwait_release(struct bufwait *bw, struct bufwait_entry *e, const struct iovec *iov)
{
	bufwait_cancel(bw, e);
	/* Chunks are alike: which of them go back as overdraft is all one. */
	bufpool_put_iov_overdraft(&bw->cache, iov, e->over);
	bufpool_put_iov(&bw->cache, iov + e->over, e->held - e->over);
	if (e->account)
		e->account->chunks -= e->held;
	e->held = 0;
	e->over = 0;
	if (bw->head && !bw->serve_defer.queued)
		loop_defer(bw->loop, &bw->serve_defer);
}

void bufwait_put(struct bufwait *bw, const struct iovec *iov, unsigned n)
{
	bufpool_put_iov(&bw->cache, iov, n);
	if (bw->head && !bw->serve_defer.queued)
		loop_defer(bw->loop, &bw->serve_defer);
}
