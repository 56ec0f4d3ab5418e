/* The loop's cross-thread queue: posting order, and remote completions that
 * run exactly once, on the loop's thread; completions queued on the loop's
 * own thread run in order before it waits; a loop created on one thread
 * submits from the thread that runs it; polling before a wait ends when
 * work comes, and backs off when none does. */
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util/clock.h"
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

#define MS 1000000ull

/* Three waits for a 30 ms timer, each after asking for a 5 ms poll. */
struct poll_rounds {
	struct loop loop;
	struct loop_op timer_op;
	struct __kernel_timespec ts;
	struct loop_poll_stats at[4]; /* the counts as each round starts, and at the end */
	unsigned round;
};

static void queue_timer(struct poll_rounds *r)
{
	struct io_uring_sqe *sqe = loop_get_sqe(&r->loop);
	io_uring_prep_timeout(sqe, &r->ts, 0, 0);
	loop_sqe_set_op(sqe, &r->timer_op);
	loop_want_poll(&r->loop, true);
	loop_read_poll_stats(&r->loop, &r->at[r->round]);
}

static void on_round_timer(struct loop_op *op, int res)
{
	struct poll_rounds *r = container_of(op, struct poll_rounds, timer_op);
	if (++r->round == 3) {
		loop_read_poll_stats(&r->loop, &r->at[3]);
		r->loop.stop = true;
		return;
	}
	queue_timer(r);
}

/* The first poll finds nothing for its 5 ms and gives up: the loop sleeps
 * out the rest of the timer. It then skips one poll, and tries again. */
static void a_poll_that_finds_nothing_sleeps_and_backs_off(void **state)
{
	struct poll_rounds *r = calloc(1, sizeof(*r));
	assert_int_equal(loop_init(&r->loop, 8), 0);
	loop_set_poll(&r->loop, 5 * MS);
	r->timer_op.cb = on_round_timer;
	r->ts.tv_nsec = 30 * MS;
	queue_timer(r);
	uint64_t wall = clock_now_ns();
	assert_int_equal(loop_run(&r->loop), 0);
	wall = clock_now_ns() - wall;
	assert_true(wall >= 90 * MS);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(r->at[i].found, 0);
	assert_int_equal(r->at[1].missed - r->at[0].missed, 1); /* polled in vain */
	assert_int_equal(r->at[2].missed - r->at[1].missed, 0); /* skipped */
	assert_int_equal(r->at[3].missed - r->at[2].missed, 1); /* tried again */
	/* Each poll lasts its 5 ms of wall time, and no longer. */
	assert_true(r->at[3].ns >= 10 * MS && r->at[3].ns < 100 * MS);
	loop_fini(&r->loop);
	free(r);
}

/* A loop polling for up to 2 s, and what ends its poll. */
struct poll_wake {
	struct loop loop;
	struct loop_op op;
	int fds[2];
	char byte;
	bool ran;
	bool wake_failed;
};

static void on_poll_wake(struct loop_op *op, int res)
{
	struct poll_wake *w = container_of(op, struct poll_wake, op);
	w->ran = res >= 0;
	w->loop.stop = true;
}

/* Long enough after the loop starts that it is polling by then. */
static void *wake_later(void *arg)
{
	struct poll_wake *w = arg;
	usleep(100000);
	if (w->fds[1] >= 0)
		w->wake_failed = write(w->fds[1], "x", 1) != 1;
	else
		loop_complete_remote(&w->loop, &w->op, 0);
	return NULL;
}

/* Checks that the one poll ended on the wake, not on its 2 s budget. */
static void poll_until_woken(struct poll_wake *w)
{
	loop_set_poll(&w->loop, 2000 * MS);
	loop_want_poll(&w->loop, true);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, wake_later, w), 0);
	uint64_t wall = clock_now_ns();
	assert_int_equal(loop_run(&w->loop), 0);
	wall = clock_now_ns() - wall;
	pthread_join(th, NULL);
	assert_false(w->wake_failed);
	assert_true(w->ran);
	assert_true(wall < 1000 * MS);
	struct loop_poll_stats ps;
	loop_read_poll_stats(&w->loop, &ps);
	assert_int_equal(ps.found, 1);
	assert_int_equal(ps.missed, 0);
	assert_true(ps.ns >= 50 * MS && ps.ns < 1000 * MS);
}

/* A remote completion is seen in shared memory. */
static void a_remote_completion_ends_a_poll(void **state)
{
	struct poll_wake *w = calloc(1, sizeof(*w));
	assert_int_equal(loop_init(&w->loop, 8), 0);
	w->op.cb = on_poll_wake;
	w->fds[0] = w->fds[1] = -1;
	poll_until_woken(w);
	loop_fini(&w->loop);
	free(w);
}

/* A socket receive completes through task work (DEFER_TASKRUN): its
 * flag in the shared ring ends the poll. */
static void a_socket_receive_ends_a_poll(void **state)
{
	struct poll_wake *w = calloc(1, sizeof(*w));
	assert_int_equal(loop_init(&w->loop, 8), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, w->fds), 0);
	w->op.cb = on_poll_wake;
	struct io_uring_sqe *sqe = loop_get_sqe(&w->loop);
	io_uring_prep_recv(sqe, w->fds[0], &w->byte, 1, 0);
	loop_sqe_set_op(sqe, &w->op);
	poll_until_woken(w);
	assert_int_equal(w->byte, 'x');
	close(w->fds[0]);
	close(w->fds[1]);
	loop_fini(&w->loop);
	free(w);
}

/* Work already there once the loop has submitted (a NOP completes inside
 * the submit) ends the wait, not a poll: nothing counts. */
static void work_ready_at_the_submit_is_not_a_poll(void **state)
{
	struct nop_run *r = calloc(1, sizeof(*r));
	assert_int_equal(loop_init(&r->loop, 8), 0);
	loop_set_poll(&r->loop, 2000 * MS);
	r->nop.cb = on_nop;
	struct io_uring_sqe *sqe = loop_get_sqe(&r->loop);
	io_uring_prep_nop(sqe);
	loop_sqe_set_op(sqe, &r->nop);
	loop_want_poll(&r->loop, true);
	assert_int_equal(loop_run(&r->loop), 0);
	assert_int_equal(r->nops, 1);
	struct loop_poll_stats ps;
	loop_read_poll_stats(&r->loop, &ps);
	assert_int_equal(ps.found + ps.missed, 0);
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
		cmocka_unit_test(a_poll_that_finds_nothing_sleeps_and_backs_off),
		cmocka_unit_test(a_remote_completion_ends_a_poll),
		cmocka_unit_test(a_socket_receive_ends_a_poll),
		cmocka_unit_test(work_ready_at_the_submit_is_not_a_poll),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
