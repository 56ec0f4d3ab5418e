/* Block commands' data in pool chunks (scsi.h, "Data buffers"): with the
 * budget spent a read waits and then completes, in arrival order, and a
 * write takes its chunks burst by burst, as a transport's R2Ts ask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_fixture.h"
#include "util/iov.h"

#define CHUNK_BLOCKS (SCSI_DATA_CHUNK / FIX_BLOCK)
/* Writes of four chunks, asked for one chunk (one burst) at a time. */
#define WRITE_CHUNKS 4

struct bench {
	struct fixture *f;
	struct scsi_task tasks[3];
	int order[8];
	unsigned nevents;
	unsigned stop_at;
};

static struct bench *cur;

static int index_of(const struct scsi_task *t)
{
	return (int)(t - cur->tasks);
}

static void record(const struct scsi_task *t)
{
	cur->order[cur->nevents++] = index_of(t);
	if (cur->nevents >= cur->stop_at)
		cur->f->loop.stop = true;
}

static void on_done(struct scsi_task *t)
{
	record(t);
}

static void on_burst_ready(struct scsi_task *t)
{
	record(t);
}

/* The fixture's pool, made small: budget chunks, reserve of them kept
 * back (bufwait.h), nothing in use yet. */
static void small_pool(struct fixture *f, unsigned budget, unsigned reserve)
{
	bufwait_fini(&f->bufs);
	assert_int_equal(bufpool_init(&f->pool, SCSI_DATA_CHUNK, (size_t)budget * SCSI_DATA_CHUNK,
				      (size_t)reserve * SCSI_DATA_CHUNK), 0);
	bufwait_init(&f->bufs, &f->pool, &f->loop, 2);
}

static int setup(void **state)
{
	struct bench *b = calloc(1, sizeof(*b));
	assert_non_null(b);
	b->f = fixture_new(false);
	cur = b;
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct bench *b = *state;
	for (unsigned i = 0; i < 3; i++)
		scsi_task_release(&b->tasks[i]);
	fixture_free(b->f);
	free(b);
	return 0;
}

static void prepare(struct bench *b, int i, const uint8_t *cdb)
{
	struct scsi_task *t = &b->tasks[i];
	memset(t, 0, sizeof(*t));
	t->nexus = &b->f->nexus;
	t->lun_raw = scsi_lun_encode(0);
	memcpy(t->cdb, cdb, SCSI_CDB_MAX);
	t->attr = SCSI_ATTR_SIMPLE;
	t->loop = &b->f->loop;
	t->done = on_done;
	assert_true(scsi_task_prepare(t));
}

static void run_until(struct bench *b, unsigned nevents)
{
	b->stop_at = nevents;
	while (b->nevents < nevents) {
		b->f->loop.stop = false;
		loop_run(&b->f->loop);
	}
}

/* READ(10) of one chunk at lba. */
static void read_chunk(struct bench *b, int i, uint8_t lba)
{
	const uint8_t cdb[16] = { 0x28, 0, 0, 0, 0, lba, 0, 0, CHUNK_BLOCKS };
	prepare(b, i, cdb);
	scsi_task_execute(&b->tasks[i]);
}

static void reads_wait_for_chunks_then_complete_in_arrival_order(void **state)
{
	struct bench *b = *state;
	struct fixture *f = b->f;
	small_pool(f, 3, 1);
	memset(f->store.mem, 0xA1, SCSI_DATA_CHUNK);
	memset(f->store.mem + SCSI_DATA_CHUNK, 0xB2, SCSI_DATA_CHUNK);
	/* Someone else holds the budget and the reserve. */
	struct iovec held[2];
	assert_int_equal(bufpool_get_iov(&f->bufs.cache, 2 * SCSI_DATA_CHUNK, held, 2, false), 2);
	int other = 0;
	assert_true(bufpool_reserve_take(&f->pool, &other));

	read_chunk(b, 0, 0);
	read_chunk(b, 1, CHUNK_BLOCKS);
	assert_true(b->tasks[0].data_wait.queued);
	assert_true(b->tasks[1].data_wait.queued);
	assert_int_equal(f->store.nsubmits, 0);

	/* One chunk back: the older read gets it and completes. */
	bufwait_put(&f->bufs, held, 1);
	run_until(b, 1);
	assert_int_equal(b->order[0], 0);
	assert_true(b->tasks[1].data_wait.queued);
	assert_int_equal(b->tasks[0].status, SCSI_STATUS_GOOD);
	assert_int_equal(iov_mismatch(b->tasks[0].data_iov, b->tasks[0].data_iovcnt, f->store.mem,
				      SCSI_DATA_CHUNK), SCSI_DATA_CHUNK);

	/* Then the other. */
	bufwait_put(&f->bufs, held + 1, 1);
	run_until(b, 2);
	assert_int_equal(b->order[1], 1);
	assert_int_equal(b->tasks[1].status, SCSI_STATUS_GOOD);
	assert_int_equal(iov_mismatch(b->tasks[1].data_iov, b->tasks[1].data_iovcnt,
				      f->store.mem + SCSI_DATA_CHUNK, SCSI_DATA_CHUNK),
			 SCSI_DATA_CHUNK);
	bufpool_reserve_drop(&f->pool, &other);
}

static void an_aborted_read_stops_waiting(void **state)
{
	struct bench *b = *state;
	struct fixture *f = b->f;
	small_pool(f, 3, 1);
	struct iovec held[2];
	assert_int_equal(bufpool_get_iov(&f->bufs.cache, 2 * SCSI_DATA_CHUNK, held, 2, false), 2);
	int other = 0;
	assert_true(bufpool_reserve_take(&f->pool, &other));
	read_chunk(b, 0, 0);
	assert_int_equal(scsi_task_abort(&b->tasks[0]), SCSI_ABORT_RUNNING);
	assert_false(b->tasks[0].data_wait.queued);
	run_until(b, 1);
	assert_int_equal(b->tasks[0].status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(f->store.nsubmits, 0);
	bufwait_put(&f->bufs, held, 2);
	bufpool_reserve_drop(&f->pool, &other);
}

static void noop_removed(struct scsi_task *t, void *arg)
{
}

/* It joins the task set only with its chunks: an ORDERED read waiting
 * for memory holds nothing back, and a task set abort still finds it. */
static void a_read_waiting_for_chunks_is_outside_the_task_set_but_aborted_with_it(void **state)
{
	struct bench *b = *state;
	struct fixture *f = b->f;
	small_pool(f, 3, 1);
	struct iovec held[2];
	assert_int_equal(bufpool_get_iov(&f->bufs.cache, 2 * SCSI_DATA_CHUNK, held, 2, false), 2);
	int other = 0;
	assert_true(bufpool_reserve_take(&f->pool, &other));
	const uint8_t rd[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, CHUNK_BLOCKS };
	prepare(b, 0, rd);
	b->tasks[0].attr = SCSI_ATTR_ORDERED;
	scsi_task_execute(&b->tasks[0]);
	const uint8_t tur[16] = { 0 };
	prepare(b, 1, tur);
	scsi_task_execute(&b->tasks[1]);
	run_until(b, 1);
	assert_int_equal(b->order[0], 1);
	assert_int_equal(scsi_task_set_abort(&f->nexus, -1, noop_removed, NULL), 1);
	run_until(b, 2);
	assert_int_equal(b->order[1], 0);
	assert_int_equal(b->tasks[0].status, SCSI_STATUS_TASK_ABORTED);
	bufwait_put(&f->bufs, held, 2);
	bufpool_reserve_drop(&f->pool, &other);
}

/* A lost connection aborts the task set, then each of its tasks: the
 * second abort of a read that stopped awaiting its chunks must leave it
 * to its queued completion, which runs once, not have it released. */
static void a_read_aborted_twice_while_awaiting_chunks_completes_once(void **state)
{
	struct bench *b = *state;
	struct fixture *f = b->f;
	small_pool(f, 3, 1);
	struct iovec held[2];
	assert_int_equal(bufpool_get_iov(&f->bufs.cache, 2 * SCSI_DATA_CHUNK, held, 2, false), 2);
	int other = 0;
	assert_true(bufpool_reserve_take(&f->pool, &other));
	read_chunk(b, 0, 0);
	assert_int_equal(scsi_task_set_abort(&f->nexus, -1, noop_removed, NULL), 1);
	assert_int_equal(scsi_task_abort(&b->tasks[0]), SCSI_ABORT_RUNNING);
	run_until(b, 1);
	assert_int_equal(b->order[0], 0);
	assert_int_equal(b->tasks[0].status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(b->tasks[0].state, SCSI_TASK_IDLE);
	bufwait_put(&f->bufs, held, 2);
	bufpool_reserve_drop(&f->pool, &other);
}

/* A task's chunks count in its transport's account (the iSCSI session's)
 * while it holds them, and an account under the pool's minimum gets them
 * from the overdraft when the budget is spent. */
static void a_task_charges_its_chunks_to_its_account(void **state)
{
	struct bench *b = *state;
	struct fixture *f = b->f;
	small_pool(f, 3, 1);
	bufpool_set_guarantee(&f->pool, 2 * SCSI_DATA_CHUNK, 2 * SCSI_DATA_CHUNK, 0);
	struct iovec held[2];
	assert_int_equal(bufpool_get_iov(&f->bufs.cache, 2 * SCSI_DATA_CHUNK, held, 2, false), 2);
	int other = 0;
	assert_true(bufpool_reserve_take(&f->pool, &other));
	struct bufwait_account account = { 0 };
	const uint8_t cdb[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, CHUNK_BLOCKS };
	prepare(b, 0, cdb);
	b->tasks[0].data_account = &account;
	scsi_task_execute(&b->tasks[0]);
	assert_int_equal(account.chunks, 1);
	assert_int_equal(bufpool_overdraft_in_use(&f->pool), 1);
	run_until(b, 1);
	assert_int_equal(b->tasks[0].status, SCSI_STATUS_GOOD);
	scsi_task_release(&b->tasks[0]);
	assert_int_equal(account.chunks, 0);
	assert_int_equal(bufpool_overdraft_in_use(&f->pool), 0);
	bufwait_put(&f->bufs, held, 2);
	bufpool_reserve_drop(&f->pool, &other);
}

/* WRITE(10) of WRITE_CHUNKS chunks at lba, data not yet arrived. */
static void write_prepare(struct bench *b, int i, uint16_t lba)
{
	const uint8_t cdb[16] = { 0x2A, 0, 0, 0, (uint8_t)(lba >> 8), (uint8_t)lba, 0, (WRITE_CHUNKS * CHUNK_BLOCKS) >> 8,
				  (WRITE_CHUNKS * CHUNK_BLOCKS) & 0xFF };
	prepare(b, i, cdb);
}

/* The transport's R2T for burst k (1-based) of task i: its chunk. */
static bool burst(struct bench *b, int i, unsigned k)
{
	return scsi_task_data_get(&b->tasks[i], k * SCSI_DATA_CHUNK, k == WRITE_CHUNKS,
				  on_burst_ready);
}

/* The initiator's data for task i, all of it, then execute. */
static void write_data_and_run(struct bench *b, int i, uint8_t fill, unsigned nevents)
{
	struct scsi_task *t = &b->tasks[i];
	for (unsigned k = 0; k < t->data_iovcnt; k++)
		memset(t->data_iov[k].iov_base, fill, t->data_iov[k].iov_len);
	scsi_task_execute(t);
	run_until(b, nevents);
	assert_int_equal(t->status, SCSI_STATUS_GOOD);
}

/* Two writes of four chunks in a budget of six: more than both need at
 * once outside the reserve. Each takes a chunk per burst; the one that
 * runs out takes the reserve and finishes, the other waits for its next
 * burst until the first gives its chunks back, then finishes too. */
static void writes_take_chunks_per_burst_and_complete_as_chunks_come_back(void **state)
{
	struct bench *b = *state;
	struct fixture *f = b->f;
	small_pool(f, 6, WRITE_CHUNKS);
	write_prepare(b, 0, 0);
	write_prepare(b, 1, 4 * CHUNK_BLOCKS);
	assert_int_equal(bufpool_chunks(&f->pool), 0);

	assert_true(burst(b, 0, 1));
	assert_true(burst(b, 1, 1));
	assert_int_equal(bufpool_chunks(&f->pool), 2);
	assert_true(burst(b, 0, 2)); /* from the reserve */
	assert_false(burst(b, 1, 2)); /* waits */
	assert_true(burst(b, 0, 3));
	assert_true(burst(b, 0, 4));
	assert_int_equal(bufpool_chunks(&f->pool), WRITE_CHUNKS + 1);
	assert_int_equal(b->tasks[1].data_iovcnt, 1);

	write_data_and_run(b, 0, 0x11, 1);
	assert_int_equal(b->order[0], 0);
	/* The first write is done with its chunks: the second's burst goes. */
	scsi_task_release(&b->tasks[0]);
	run_until(b, 2);
	assert_int_equal(b->order[1], 1);
	assert_int_equal(b->tasks[1].data_iovcnt, 2);
	assert_true(burst(b, 1, 3));
	assert_true(burst(b, 1, 4));
	write_data_and_run(b, 1, 0x22, 3);

	for (unsigned i = 0; i < WRITE_CHUNKS * SCSI_DATA_CHUNK; i++) {
		assert_int_equal(f->store.mem[i], 0x11);
		assert_int_equal(f->store.mem[WRITE_CHUNKS * SCSI_DATA_CHUNK + i], 0x22);
	}
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(reads_wait_for_chunks_then_complete_in_arrival_order),
		T(an_aborted_read_stops_waiting),
		T(a_read_waiting_for_chunks_is_outside_the_task_set_but_aborted_with_it),
		T(a_read_aborted_twice_while_awaiting_chunks_completes_once),
		T(a_task_charges_its_chunks_to_its_account),
		T(writes_take_chunks_per_burst_and_complete_as_chunks_come_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
