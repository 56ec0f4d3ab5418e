/* A task's backend I/Os in steps: several I/Os of one step run in
 * parallel and end it together; a sequence of steps stops at the first
 * error; an abort stops it after the step in flight. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/task.h"
#include "scsi_fixture.h"

#define NBLOCKS_USED 3

static uint8_t data[NBLOCKS_USED][FIX_BLOCK] __attribute__((aligned(4096)));
static unsigned nsteps_ended;
static int step_errs[4];

static int setup(void **state)
{
	*state = fixture_new(false);
	nsteps_ended = 0;
	memset(step_errs, 0, sizeof(step_errs));
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static void submit(struct scsi_task *task, enum backend_op op, uint64_t lba, void *buf)
{
	struct backend_io *io = scsi_task_io_slot(task);
	assert_non_null(io);
	io->op = op;
	io->offset = lba * FIX_BLOCK;
	backend_io_set_buf(io, buf, FIX_BLOCK);
	backend_submit(task->lu->bs, task->loop, io);
}

static void end_task(struct scsi_task *task, int err)
{
	step_errs[nsteps_ended++] = err;
	scsi_task_finish(task, scsi_task_io_reason(task, err));
}

/* Prepares a TEST UNIT READY on LUN 0 to carry the I/Os. */
static struct scsi_task *carrier(struct fixture *f)
{
	static const uint8_t tur[16] = { 0x00 };
	assert_true(fixture_prepare(f, 0, tur));
	return &f->task;
}

static void run(struct fixture *f)
{
	f->loop.stop = false;
	loop_run(&f->loop);
}

static void test_parallel_ios_end_their_step_once(void **state)
{
	struct fixture *f = *state;
	struct scsi_task *task = carrier(f);
	for (unsigned i = 0; i < NBLOCKS_USED; i++)
		memset(data[i], 0xA0 + i, FIX_BLOCK);
	scsi_task_io_step(task, end_task);
	for (unsigned i = 0; i < NBLOCKS_USED; i++)
		submit(task, BACKEND_WRITE, 10 + i, data[i]);
	assert_int_equal(f->store.nsubmits, NBLOCKS_USED);
	run(f);
	assert_int_equal(nsteps_ended, 1);
	assert_int_equal(f->ndone, 1);
	assert_int_equal(step_errs[0], 0);
	assert_int_equal(task->status, SCSI_STATUS_GOOD);
	for (unsigned i = 0; i < NBLOCKS_USED; i++)
		assert_memory_equal(f->store.mem + (10 + i) * FIX_BLOCK, data[i], FIX_BLOCK);
}

static void test_a_step_beyond_its_slots_ends_failed(void **state)
{
	struct fixture *f = *state;
	struct scsi_task *task = carrier(f);
	scsi_task_io_step(task, end_task);
	for (unsigned i = 0; i < SCSI_TASK_MAX_IOS; i++)
		submit(task, BACKEND_READ, i, data[0]);
	assert_null(scsi_task_io_slot(task));
	run(f);
	assert_int_equal(nsteps_ended, 1);
	assert_int_equal(f->ndone, 1);
	assert_true(fixture_check(f, 0x4, 0x44, 0x00));
}

/* Step 1 writes; step 2 reads with the store failing; step 3 never comes. */
static void chain_second(struct scsi_task *task, int err);

static void chain_third(struct scsi_task *task, int err)
{
	fail_msg("a step after a failed one ran");
}

static void chain_first(struct scsi_task *task, int err)
{
	struct fixture *f = task->transport_priv;
	step_errs[nsteps_ended++] = err;
	f->store.fail_err = -EIO;
	scsi_task_io_step(task, chain_second);
	submit(task, BACKEND_READ, 20, data[1]);
}

static void chain_second(struct scsi_task *task, int err)
{
	step_errs[nsteps_ended++] = err;
	if (err) {
		scsi_task_finish(task, scsi_task_io_reason(task, err));
		return;
	}
	scsi_task_io_step(task, chain_third);
	submit(task, BACKEND_WRITE, 21, data[2]);
}

static void test_chain_stops_at_first_error(void **state)
{
	struct fixture *f = *state;
	struct scsi_task *task = carrier(f);
	scsi_task_io_step(task, chain_first);
	submit(task, BACKEND_WRITE, 20, data[0]);
	run(f);
	assert_int_equal(nsteps_ended, 2);
	assert_int_equal(step_errs[0], 0);
	assert_int_equal(step_errs[1], -EIO);
	assert_int_equal(f->store.nsubmits, 2);
	assert_int_equal(f->ndone, 1);
	assert_true(fixture_check(f, 0x3, 0x11, 0x00)); /* the read failed */
}

/* WRITE AND VERIFY(10) of one block is a write step then a read step. */
static void test_abort_stops_a_chain_after_the_step_in_flight(void **state)
{
	struct fixture *f = *state;
	static const uint8_t wv10[16] = { 0x2E, 0, 0, 0, 0, 5, 0, 0, 1, 0 };
	assert_true(fixture_prepare(f, 0, wv10));
	uint8_t pattern[FIX_BLOCK];
	memset(pattern, 0x5A, sizeof(pattern));
	fixture_fill_data_out(f, pattern, sizeof(pattern));
	scsi_task_execute(&f->task);
	assert_int_equal(scsi_task_abort(&f->task), SCSI_ABORT_RUNNING);
	run(f);
	assert_int_equal(f->ndone, 1);
	assert_int_equal(f->store.nsubmits, 1);
	assert_int_equal(f->store.mem[5 * FIX_BLOCK], 0x5A);
	assert_int_equal(f->task.status, SCSI_STATUS_TASK_ABORTED);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_parallel_ios_end_their_step_once),
		T(test_a_step_beyond_its_slots_ends_failed),
		T(test_chain_stops_at_first_error),
		T(test_abort_stops_a_chain_after_the_step_in_flight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
