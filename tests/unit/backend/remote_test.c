/* A store whose I/O completes on threads of its own, as librbd's does: a
 * pool of workers does the I/O and hands each completion back through
 * loop_complete_remote. Under load every done must run exactly once, on
 * the loop's thread, and see the data its worker moved. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "util/macros.h"

#define WORKERS 3
#define INFLIGHT 256
#define TOTAL 100000
#define BLOCK 512

/* The store's state at bs->priv: memory, and a job queue for the pool.
 * The workers lock it; the loop's side of a completion takes no lock. */
struct threaded_store {
	char *mem;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct backend_io *jobs[INFLIGHT];
	unsigned head, count;
	bool stop;
	pthread_t workers[WORKERS];
};

static void threaded_on_complete(struct loop_op *op, int res)
{
	struct backend_io *io = container_of(op, struct backend_io, lop);
	io->done(io, res);
}

static void *threaded_worker(void *arg)
{
	struct threaded_store *ts = arg;
	for (;;) {
		pthread_mutex_lock(&ts->lock);
		while (ts->count == 0 && !ts->stop)
			pthread_cond_wait(&ts->cond, &ts->lock);
		if (ts->count == 0) {
			pthread_mutex_unlock(&ts->lock);
			return NULL;
		}
		struct backend_io *io = ts->jobs[ts->head];
		ts->head = (ts->head + 1) % INFLIGHT;
		ts->count--;
		pthread_mutex_unlock(&ts->lock);
		if (io->op == BACKEND_READ)
			backend_io_scatter(io, ts->mem + io->offset);
		else if (io->op == BACKEND_WRITE)
			backend_io_gather(io, ts->mem + io->offset);
		loop_complete_remote(io->loop, &io->lop, 0);
	}
}

static int threaded_open(struct backend *bs, const struct backend_config *cfg)
{
	struct threaded_store *ts = bs->priv;
	bs->block_size = BLOCK;
	bs->size = (uint64_t)INFLIGHT * BLOCK;
	ts->mem = calloc(INFLIGHT, BLOCK);
	pthread_mutex_init(&ts->lock, NULL);
	pthread_cond_init(&ts->cond, NULL);
	for (unsigned i = 0; i < WORKERS; i++)
		if (pthread_create(&ts->workers[i], NULL, threaded_worker, ts) != 0)
			abort();
	return 0;
}

static void threaded_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	struct threaded_store *ts = bs->priv;
	io->lop.cb = threaded_on_complete;
	pthread_mutex_lock(&ts->lock);
	if (ts->count == INFLIGHT)
		abort();
	ts->jobs[(ts->head + ts->count) % INFLIGHT] = io;
	ts->count++;
	pthread_cond_signal(&ts->cond);
	pthread_mutex_unlock(&ts->lock);
}

static void threaded_close(struct backend *bs)
{
	struct threaded_store *ts = bs->priv;
	pthread_mutex_lock(&ts->lock);
	ts->stop = true;
	pthread_cond_broadcast(&ts->cond);
	pthread_mutex_unlock(&ts->lock);
	for (unsigned i = 0; i < WORKERS; i++)
		pthread_join(ts->workers[i], NULL);
	pthread_cond_destroy(&ts->cond);
	pthread_mutex_destroy(&ts->lock);
	free(ts->mem);
}

static const struct backend_type threaded_type = {
	.name = "threaded",
	.priv_size = sizeof(struct threaded_store),
	.open = threaded_open,
	.submit = threaded_submit,
	.close = threaded_close,
};

/* Slot s owns block s and alternates: write a pattern, read it back. */
struct slot {
	struct backend_io io;
	unsigned id, round;
	unsigned n; /* the I/O's number, in submission order */
	unsigned char buf[BLOCK] __attribute__((aligned(4096)));
};

struct run {
	struct loop loop;
	struct backend *bs;
	pthread_t loop_thread;
	struct slot *slots;
	unsigned char *dones; /* per I/O number: times its done ran */
	unsigned issued, completed;
	bool wrong_thread, bad_data, failed;
};

static struct run *run;

static unsigned char pattern(const struct slot *s)
{
	return (unsigned char)(s->id * 7 + s->round / 2);
}

static void slot_submit(struct slot *s);

static void slot_done(struct backend_io *io, int err)
{
	struct slot *s = container_of(io, struct slot, io);
	if (!pthread_equal(pthread_self(), run->loop_thread))
		run->wrong_thread = true;
	if (err)
		run->failed = true;
	if (io->op == BACKEND_READ)
		for (unsigned i = 0; i < BLOCK; i++)
			if (s->buf[i] != pattern(s))
				run->bad_data = true;
	run->dones[s->n]++;
	run->completed++;
	s->round++;
	if (run->issued < TOTAL)
		slot_submit(s);
	else if (run->completed == TOTAL)
		run->loop.stop = true;
}

static void slot_submit(struct slot *s)
{
	bool write = s->round % 2 == 0;
	memset(&s->io, 0, sizeof(s->io));
	if (write)
		memset(s->buf, pattern(s), BLOCK);
	else
		memset(s->buf, 0, BLOCK);
	s->io.op = write ? BACKEND_WRITE : BACKEND_READ;
	s->io.offset = (uint64_t)s->id * BLOCK;
	backend_io_set_buf(&s->io, s->buf, BLOCK);
	s->io.done = slot_done;
	s->n = run->issued++;
	backend_submit(run->bs, &run->loop, &s->io);
}

static void every_remote_completion_runs_once_on_the_loop_thread(void **state)
{
	run = calloc(1, sizeof(*run));
	run->slots = aligned_alloc(4096, INFLIGHT * sizeof(*run->slots));
	run->dones = calloc(TOTAL, 1);
	memset(run->slots, 0, INFLIGHT * sizeof(*run->slots));
	assert_int_equal(loop_init(&run->loop, 64), 0);
	run->loop_thread = pthread_self();
	struct backend_config cfg;
	backend_config_init(&cfg, backend_type_find("threaded"));
	assert_int_equal(backend_open(&cfg, &run->bs), 0);
	for (unsigned i = 0; i < INFLIGHT; i++) {
		run->slots[i].id = i;
		slot_submit(&run->slots[i]);
	}
	loop_run(&run->loop);
	assert_int_equal(run->completed, TOTAL);
	for (unsigned n = 0; n < TOTAL; n++)
		assert_int_equal(run->dones[n], 1);
	assert_false(run->wrong_thread);
	assert_false(run->failed);
	assert_false(run->bad_data);
	backend_close(run->bs);
	loop_fini(&run->loop);
	free(run->dones);
	free(run->slots);
	free(run);
}

int main(void)
{
	if (backend_type_register(&threaded_type) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_remote_completion_runs_once_on_the_loop_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
