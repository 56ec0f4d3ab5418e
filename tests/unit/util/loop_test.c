/* The loop's cross-thread queue: posting order, and remote completions that
 * run exactly once, on the loop's thread; completions queued on the loop's
 * own thread run in order before it waits; a loop created on one thread
 * submits from the thread that runs it. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util/loop.h"
#include "util/macros.h"

#define NTHREADS 4
#define PER_THREAD 25000
#define NOPS (NTHREADS * PER_THREAD)

struct counted_op {
	struct loop_op op;
	unsigned thread, seq;
};

struct remote_run {
	struct loop loop;
	pthread_t loop_thread;
	struct counted_op *ops;
	unsigned char *runs; /* per op: times its callback ran */
	unsigned next_seq[NTHREADS];
	unsigned done;
	bool wrong_thread, out_of_order, wrong_res;
};

static struct remote_run *run;

static void on_remote(struct loop_op *op, int res)
{
	struct counted_op *c = container_of(op, struct counted_op, op);
	size_t i = (size_t)(c - run->ops);
	run->runs[i]++;
	if (!pthread_equal(pthread_self(), run->loop_thread))
		run->wrong_thread = true;
	if (res != (int)i)
		run->wrong_res = true;
	/* One producer's completions keep their order. */
	if (c->seq != run->next_seq[c->thread])
		run->out_of_order = true;
	run->next_seq[c->thread] = c->seq + 1;
	if (++run->done == NOPS)
		run->loop.stop = true;
}

static void *producer(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	for (unsigned s = 0; s < PER_THREAD; s++) {
		size_t i = (size_t)t * PER_THREAD + s;
		loop_complete_remote(&run->loop, &run->ops[i].op, (int)i);
	}
	return NULL;
}

static void remote_completions_run_once_each_on_the_loop_thread(void **state)
{
	run = calloc(1, sizeof(*run));
	run->ops = calloc(NOPS, sizeof(*run->ops));
	run->runs = calloc(NOPS, 1);
	assert_int_equal(loop_init(&run->loop, 64), 0);
	run->loop_thread = pthread_self();
	for (unsigned t = 0; t < NTHREADS; t++)
		for (unsigned s = 0; s < PER_THREAD; s++)
			run->ops[t * PER_THREAD + s] = (struct counted_op){ .op.cb = on_remote, .thread = t, .seq = s };
	pthread_t th[NTHREADS];
	for (unsigned t = 0; t < NTHREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, producer, (void *)(uintptr_t)t), 0);
	loop_run(&run->loop);
	for (unsigned t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	assert_int_equal(run->done, NOPS);
	for (size_t i = 0; i < NOPS; i++)
		assert_int_equal(run->runs[i], 1);
	assert_false(run->wrong_thread);
	assert_false(run->wrong_res);
	assert_false(run->out_of_order);
	loop_fini(&run->loop);
	free(run->runs);
	free(run->ops);
	free(run);
}

struct seq_msg {
	struct loop_msg msg;
	unsigned seq;
	unsigned *next;
	bool *in_order;
	struct loop *loop;
	bool last;
};

static void on_seq_msg(struct loop_msg *msg)
{
	struct seq_msg *m = container_of(msg, struct seq_msg, msg);
	if (m->seq != *m->next)
		*m->in_order = false;
	*m->next = m->seq + 1;
	if (m->last)
		m->loop->stop = true;
}

static void posts_run_in_posting_order(void **state)
{
	struct loop loop;
	assert_int_equal(loop_init(&loop, 8), 0);
	enum { N = 1000 };
	struct seq_msg *msgs = calloc(N, sizeof(*msgs));
	unsigned next = 0;
	bool in_order = true;
	for (unsigned i = 0; i < N; i++) {
		msgs[i] = (struct seq_msg){ .msg.fn = on_seq_msg, .seq = i, .next = &next, .in_order = &in_order,
					    .loop = &loop, .last = i == N - 1 };
		loop_post(&loop, &msgs[i].msg);
	}
	loop_run(&loop);
	assert_int_equal(next, N);
	assert_true(in_order);
	free(msgs);
	loop_fini(&loop);
}

struct soon_op {
	struct loop_op op;
	struct loop *loop;
	unsigned seq;
	unsigned *next;
	bool *in_order;
	struct soon_op *then; /* queued from this op's callback */
};

static void on_soon(struct loop_op *op, int res)
{
	struct soon_op *s = container_of(op, struct soon_op, op);
	if (s->seq != *s->next || res != (int)s->seq)
		*s->in_order = false;
	*s->next = s->seq + 1;
	if (s->then)
		loop_complete_soon(s->loop, &s->then->op, (int)s->then->seq);
	else
		s->loop->stop = true;
}

/* Nothing else is in flight: the loop must run them rather than wait. */
static void soon_completions_run_in_order_before_the_loop_waits(void **state)
{
	struct loop loop;
	assert_int_equal(loop_init(&loop, 8), 0);
	unsigned next = 0;
	bool in_order = true;
	struct soon_op ops[4];
	for (unsigned i = 0; i < 4; i++)
		ops[i] = (struct soon_op){ .op.cb = on_soon, .loop = &loop, .seq = i, .next = &next,
					   .in_order = &in_order };
	/* 0, 1 and 2 queued now; 3 by 2's callback, after the others. */
	ops[2].then = &ops[3];
	for (unsigned i = 0; i < 3; i++)
		loop_complete_soon(&loop, &ops[i].op, (int)i);
	assert_int_equal(next, 0);
	loop_run(&loop);
	assert_int_equal(next, 4);
	assert_true(in_order);
	loop_fini(&loop);
}

struct nop_run {
	struct loop loop;
	struct loop_msg msg;
	struct loop_op nop;
	int nop_res;
	unsigned nops;
};

static void on_nop(struct loop_op *op, int res)
{
	struct nop_run *r = container_of(op, struct nop_run, nop);
	r->nop_res = res;
	r->nops++;
	r->loop.stop = true;
}

static void queue_nop(struct loop_msg *msg)
{
	struct nop_run *r = container_of(msg, struct nop_run, msg);
	struct io_uring_sqe *sqe = loop_get_sqe(&r->loop);
	io_uring_prep_nop(sqe);
	loop_sqe_set_op(sqe, &r->nop);
}

/* Twice: a second loop_run on the same thread keeps working. */
static void *run_nops(void *arg)
{
	struct nop_run *r = arg;
	for (unsigned i = 0; i < 2; i++) {
		r->loop.stop = false;
		loop_post(&r->loop, &r->msg);
		loop_run(&r->loop);
	}
	return NULL;
}

/* As the data plane does: loop_init on the main thread, loop_run and
 * every submission on the loop's own thread. */
static void a_loop_made_on_one_thread_submits_from_the_thread_that_runs_it(void **state)
{
	struct nop_run *r = calloc(1, sizeof(*r));
	assert_int_equal(loop_init(&r->loop, 8), 0);
	r->msg.fn = queue_nop;
	r->nop.cb = on_nop;
	r->nop_res = -1;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, run_nops, r), 0);
	pthread_join(th, NULL);
	assert_int_equal(r->nops, 2);
	assert_int_equal(r->nop_res, 0);
	loop_fini(&r->loop);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(soon_completions_run_in_order_before_the_loop_waits),
		cmocka_unit_test(posts_run_in_posting_order),
		cmocka_unit_test(remote_completions_run_once_each_on_the_loop_thread),
		cmocka_unit_test(a_loop_made_on_one_thread_submits_from_the_thread_that_runs_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
