/* The task set of an I_T nexus (SAM-5 8.6): ORDERED waits for every older
 * task and holds back every newer one; HEAD OF QUEUE starts at once.
 * Task management takes tasks out of it: a waiting task never runs, an
 * executing one finishes its I/O and completes once, as aborted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_fixture.h"

#define NTASKS 4

struct run {
	struct fixture *f;
	struct scsi_task tasks[NTASKS];
	int order[NTASKS];   /* indexes of tasks in completion order */
	unsigned ndone;
	unsigned ndone_of[NTASKS];
	unsigned expect;     /* done calls after which the loop stops */
	int removed[NTASKS]; /* indexes passed to the removed callback */
	unsigned nremoved;
};

static struct run *current;

static int index_of(const struct scsi_task *t)
{
	return (int)(t - current->tasks);
}

static void record_done(struct scsi_task *t)
{
	current->ndone_of[index_of(t)]++;
	current->order[current->ndone++] = index_of(t);
	if (current->ndone == current->expect)
		current->f->loop.stop = true;
}

static void record_removed(struct scsi_task *t, void *arg)
{
	struct run *r = arg;
	r->removed[r->nremoved++] = index_of(t);
}

static const uint8_t read10[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t tur[16] = { 0x00 };

/* Sets up and prepares task i on lun, without executing it. */
static void prepare_on(struct run *r, int i, uint16_t lun, const uint8_t *cdb,
		       enum scsi_task_attr attr)
{
	struct scsi_task *t = &r->tasks[i];
	memset(t, 0, sizeof(*t));
	t->nexus = &r->f->nexus;
	t->lun_raw = scsi_lun_encode(lun);
	memcpy(t->cdb, cdb, SCSI_CDB_MAX);
	t->attr = attr;
	t->loop = &r->f->loop;
	t->done = record_done;
	assert_true(scsi_task_prepare(t));
}

static void start_on(struct run *r, int i, uint16_t lun, const uint8_t *cdb,
		     enum scsi_task_attr attr)
{
	prepare_on(r, i, lun, cdb, attr);
	scsi_task_execute(&r->tasks[i]);
}

/* Prepares and executes task i on LUN 0 (without running the loop). */
static void start(struct run *r, int i, const uint8_t *cdb, enum scsi_task_attr attr)
{
	start_on(r, i, 0, cdb, attr);
}

/* Runs the loop until expect tasks are done; the task set is then empty. */
static void run_until(struct run *r, unsigned expect)
{
	r->expect = expect;
	r->f->loop.stop = false;
	if (r->ndone < expect)
		loop_run(&r->f->loop);
	assert_int_equal(r->ndone, expect);
	assert_int_equal(r->f->nexus.nrunning, 0);
	assert_null(r->f->nexus.running.head);
	assert_null(r->f->nexus.waiting.head);
	for (int i = 0; i < NTASKS; i++)
		scsi_task_release(&r->tasks[i]);
}

static void finish(struct run *r)
{
	run_until(r, NTASKS);
	for (int i = 0; i < NTASKS; i++)
		assert_int_equal(r->tasks[i].status, SCSI_STATUS_GOOD);
}

static int setup(void **state)
{
	static struct run r;
	memset(&r, 0, sizeof(r));
	r.f = fixture_new(false);
	current = &r;
	*state = &r;
	return 0;
}

static int teardown(void **state)
{
	fixture_free(((struct run *)*state)->f);
	return 0;
}

static void test_ordered_waits_for_older_and_holds_back_newer(void **state)
{
	struct run *r = *state;
	start(r, 0, read10, SCSI_ATTR_SIMPLE);
	start(r, 1, read10, SCSI_ATTR_SIMPLE);
	start(r, 2, tur, SCSI_ATTR_ORDERED);
	start(r, 3, tur, SCSI_ATTR_SIMPLE);
	assert_int_equal(r->f->nexus.nrunning, 2);
	assert_ptr_equal(r->f->nexus.waiting.head, &r->tasks[2]);
	assert_ptr_equal(r->f->nexus.waiting.tail, &r->tasks[3]);
	finish(r);
	assert_int_equal(r->order[2], 2);
	assert_int_equal(r->order[3], 3);
}

static void test_simple_tasks_run_together(void **state)
{
	struct run *r = *state;
	for (int i = 0; i < NTASKS; i++)
		start(r, i, read10, SCSI_ATTR_SIMPLE);
	assert_int_equal(r->f->nexus.nrunning, NTASKS);
	assert_null(r->f->nexus.waiting.head);
	finish(r);
}

static void test_head_of_queue_passes_a_waiting_ordered_task(void **state)
{
	struct run *r = *state;
	start(r, 0, read10, SCSI_ATTR_SIMPLE);
	start(r, 1, tur, SCSI_ATTR_ORDERED);
	start(r, 2, tur, SCSI_ATTR_HEAD_OF_QUEUE);
	start(r, 3, tur, SCSI_ATTR_SIMPLE);
	assert_int_equal(r->f->nexus.nrunning, 2); /* the SIMPLE read and HEAD OF QUEUE */
	assert_ptr_equal(r->f->nexus.waiting.head, &r->tasks[1]);
	finish(r);
	assert_int_equal(r->order[2], 1);
	assert_int_equal(r->order[3], 3);
}

static void test_abort_of_waiting_task_never_executes_it(void **state)
{
	struct run *r = *state;
	start(r, 0, read10, SCSI_ATTR_SIMPLE);
	start(r, 1, read10, SCSI_ATTR_ORDERED);
	assert_int_equal(r->f->store.nsubmits, 1);
	assert_int_equal(scsi_task_abort(&r->tasks[1]), SCSI_ABORT_NOT_RUN);
	assert_null(r->f->nexus.waiting.head);
	run_until(r, 1);
	assert_int_equal(r->order[0], 0);
	assert_int_equal(r->ndone_of[1], 0);
	assert_int_equal(r->f->store.nsubmits, 1);
	assert_int_equal(r->tasks[0].status, SCSI_STATUS_GOOD);
}

static void test_abort_of_executing_task_completes_it_once_as_aborted(void **state)
{
	struct run *r = *state;
	start(r, 0, read10, SCSI_ATTR_SIMPLE);
	assert_int_equal(scsi_task_abort(&r->tasks[0]), SCSI_ABORT_RUNNING);
	run_until(r, 1);
	assert_int_equal(r->ndone_of[0], 1);
	assert_true(r->tasks[0].aborted);
	assert_int_equal(r->tasks[0].status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(r->tasks[0].sense_len, 0);
	assert_int_equal(r->tasks[0].data_len, 0);
	assert_int_equal(r->f->store.nsubmits, 1);
}

static void test_abort_of_prepared_task_not_yet_executed(void **state)
{
	struct run *r = *state;
	prepare_on(r, 0, 0, read10, SCSI_ATTR_SIMPLE);
	assert_int_equal(scsi_task_abort(&r->tasks[0]), SCSI_ABORT_NOT_RUN);
	assert_null(r->f->nexus.running.head);
	assert_null(r->f->nexus.waiting.head);
	assert_int_equal(r->f->store.nsubmits, 0);
	scsi_task_release(&r->tasks[0]);
}

/* Task 0 is aborted while running: the ORDERED task behind it still waits
 * for its I/O to end. */
static void test_ordered_waits_for_an_aborted_task_still_executing(void **state)
{
	struct run *r = *state;
	start(r, 0, read10, SCSI_ATTR_SIMPLE);
	start(r, 1, read10, SCSI_ATTR_ORDERED);
	assert_int_equal(scsi_task_abort(&r->tasks[0]), SCSI_ABORT_RUNNING);
	assert_ptr_equal(r->f->nexus.waiting.head, &r->tasks[1]);
	run_until(r, 2);
	assert_int_equal(r->order[0], 0);
	assert_int_equal(r->order[1], 1);
	assert_int_equal(r->tasks[0].status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(r->tasks[1].status, SCSI_STATUS_GOOD);
}

/* A waiting ORDERED task is aborted: the SIMPLE task behind it starts at
 * once, the ORDERED task behind that still waits for both. */
static void test_abort_of_waiting_ordered_releases_the_tasks_behind_it(void **state)
{
	struct run *r = *state;
	start(r, 0, read10, SCSI_ATTR_SIMPLE);
	start(r, 1, tur, SCSI_ATTR_ORDERED);
	start(r, 2, read10, SCSI_ATTR_SIMPLE);
	start(r, 3, tur, SCSI_ATTR_ORDERED);
	assert_int_equal(scsi_task_abort(&r->tasks[1]), SCSI_ABORT_NOT_RUN);
	assert_int_equal(r->f->nexus.nrunning, 2);
	assert_ptr_equal(r->f->nexus.waiting.head, &r->tasks[3]);
	run_until(r, 3);
	assert_int_equal(r->ndone_of[1], 0);
	assert_int_equal(r->order[2], 3);
}

static void test_abort_all_removes_waiting_and_marks_executing(void **state)
{
	struct run *r = *state;
	start(r, 0, read10, SCSI_ATTR_SIMPLE);
	start(r, 1, read10, SCSI_ATTR_SIMPLE);
	start(r, 2, read10, SCSI_ATTR_ORDERED);
	start(r, 3, read10, SCSI_ATTR_SIMPLE);
	assert_int_equal(scsi_task_set_abort(&r->f->nexus, -1, record_removed, r), 2);
	assert_int_equal(r->nremoved, 2);
	assert_int_equal(r->removed[0], 2);
	assert_int_equal(r->removed[1], 3);
	assert_null(r->f->nexus.waiting.head);
	run_until(r, 2);
	assert_int_equal(r->tasks[0].status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(r->tasks[1].status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(r->ndone_of[2] + r->ndone_of[3], 0);
	assert_int_equal(r->f->store.nsubmits, 2);
}

static void test_abort_all_of_one_lun_leaves_the_others(void **state)
{
	struct run *r = *state;
	fixture_add_lu(r->f, 1);
	start_on(r, 0, 1, read10, SCSI_ATTR_SIMPLE);
	start_on(r, 1, 0, read10, SCSI_ATTR_SIMPLE);
	start_on(r, 2, 1, tur, SCSI_ATTR_ORDERED);
	start_on(r, 3, 0, tur, SCSI_ATTR_SIMPLE);
	assert_int_equal(scsi_task_set_abort(&r->f->nexus, 1, record_removed, r), 1);
	assert_int_equal(r->nremoved, 1);
	assert_int_equal(r->removed[0], 2);
	/* task 3 waited only behind the removed ORDERED task */
	assert_null(r->f->nexus.waiting.head);
	assert_int_equal(r->f->nexus.nrunning, 3);
	run_until(r, 3);
	assert_int_equal(r->tasks[0].status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(r->tasks[1].status, SCSI_STATUS_GOOD);
	assert_int_equal(r->tasks[3].status, SCSI_STATUS_GOOD);
}

/* What a LOGICAL UNIT RESET asked of the transports (scsi_nexus_ops). */
static struct {
	unsigned ndrops;          /* drop_unexecuted calls */
	int drop_lun;
	bool done;                /* the reset's done ran */
	unsigned task0_done_then; /* task 0's done calls when it did */
	struct loop *other_loop;
	unsigned other_events;    /* completions and removals on the other nexus */
} rs;

static void rs_drop_unexecuted(struct scsi_nexus *n, uint16_t lun)
{
	rs.ndrops++;
	rs.drop_lun = lun;
}

static void rs_other_event(void)
{
	if (++rs.other_events == 2)
		rs.other_loop->stop = true;
}

static void rs_removed(struct scsi_task *t, void *arg)
{
	if (t->nexus == &current->f->nexus)
		record_removed(t, current);
	else
		rs_other_event();
}

static const struct scsi_nexus_ops rs_ops = {
	.drop_unexecuted = rs_drop_unexecuted,
	.removed = rs_removed,
};

static void rs_done(void *arg)
{
	struct run *r = arg;
	rs.done = true;
	rs.task0_done_then = r->ndone_of[0];
	r->f->loop.stop = true;
}

static void test_lu_reset_aborts_its_tasks_and_raises_29h_03h(void **state)
{
	struct run *r = *state;
	memset(&rs, 0, sizeof(rs));
	fixture_add_lu(r->f, 1);
	r->f->nexus.ops = &rs_ops;
	start_on(r, 0, 1, read10, SCSI_ATTR_SIMPLE);
	start_on(r, 1, 0, read10, SCSI_ATTR_SIMPLE);
	start_on(r, 2, 1, tur, SCSI_ATTR_ORDERED);
	assert_int_equal(scsi_lu_reset(&r->f->nexus, 1, rs_done, r), 0);
	assert_false(rs.done); /* never inside the call */
	r->expect = NTASKS + 1; /* only rs_done stops the loop */
	r->f->loop.stop = false;
	loop_run(&r->f->loop);
	assert_true(rs.done);
	/* the executing task ended, as aborted, before the reset did */
	assert_int_equal(rs.task0_done_then, 1);
	assert_int_equal(r->tasks[0].status, SCSI_STATUS_TASK_ABORTED);
	/* the waiting one left the set without running */
	assert_int_equal(r->nremoved, 1);
	assert_int_equal(r->removed[0], 2);
	assert_int_equal(r->ndone_of[2], 0);
	assert_int_equal(rs.ndrops, 1);
	assert_int_equal(rs.drop_lun, 1);
	run_until(r, 2);
	assert_int_equal(r->tasks[1].status, SCSI_STATUS_GOOD);
	assert_true(fixture_run(r->f, 0, tur, NULL));
	assert_int_equal(r->f->task.status, SCSI_STATUS_GOOD);
	assert_false(fixture_prepare(r->f, 1, tur));
	assert_true(fixture_check(r->f, 0x6, 0x29, 0x03));
	assert_true(fixture_prepare(r->f, 1, tur));
}

static void other_done(struct scsi_task *t)
{
	rs_other_event();
}

/* Starts t on LUN 1 of another I_T nexus, whose tasks run on loop. */
static void start_other(struct scsi_task *t, struct scsi_nexus *other, struct loop *loop,
			enum scsi_task_attr attr)
{
	memset(t, 0, sizeof(*t));
	t->nexus = other;
	t->lun_raw = scsi_lun_encode(1);
	memcpy(t->cdb, tur, SCSI_CDB_MAX);
	t->attr = attr;
	t->loop = loop;
	t->done = other_done;
	assert_true(scsi_task_prepare(t));
	scsi_task_execute(t);
}

/* Each nexus's share runs on its own loop, and the reset ends on the loop
 * it came from only after both shares and every task they aborted. */
static void test_lu_reset_reaches_every_nexus_on_its_own_loop(void **state)
{
	struct run *r = *state;
	memset(&rs, 0, sizeof(rs));
	fixture_add_lu(r->f, 1);
	r->f->nexus.ops = &rs_ops;
	struct loop other_loop;
	assert_int_equal(loop_init(&other_loop, 64), 0);
	rs.other_loop = &other_loop;
	struct scsi_nexus other;
	scsi_nexus_init(&other, &r->f->target, "iqn.2024-01.org.test:other,i,0x2", &other_loop,
			&rs_ops);
	memset(other.ua, 0, sizeof(other.ua));
	static struct scsi_task other_tasks[2];
	start_other(&other_tasks[0], &other, &other_loop, SCSI_ATTR_SIMPLE);
	start_other(&other_tasks[1], &other, &other_loop, SCSI_ATTR_ORDERED);
	start_on(r, 0, 1, tur, SCSI_ATTR_SIMPLE);

	assert_int_equal(scsi_lu_reset(&r->f->nexus, 1, rs_done, r), 0);
	/* The other loop: its share, and its two tasks completed or removed. */
	loop_run(&other_loop);
	assert_false(rs.done);
	r->expect = NTASKS + 1;
	r->f->loop.stop = false;
	loop_run(&r->f->loop);
	assert_true(rs.done);
	assert_int_equal(rs.task0_done_then, 1);
	assert_int_equal(rs.ndrops, 2);
	assert_true(atomic_load(&other.ua[1]) & SCSI_UA_LU_RESET);
	assert_true(atomic_load(&r->f->nexus.ua[1]) & SCSI_UA_LU_RESET);
	assert_false(atomic_load(&other.ua[0]) & SCSI_UA_LU_RESET);
	assert_null(other.running.head);
	assert_null(other.waiting.head);
	scsi_task_release(&other_tasks[0]);
	scsi_task_release(&other_tasks[1]);
	scsi_task_release(&r->tasks[0]);
	scsi_nexus_fini(&other);
	loop_fini(&other_loop);
}

/* ABORT TASK SET (and CLEAR TASK SET, TST 001b): this nexus's tasks for
 * one LUN, nothing else, and no unit attention. */
static void test_abort_task_set_aborts_one_lun_of_this_nexus_only(void **state)
{
	struct run *r = *state;
	memset(&rs, 0, sizeof(rs));
	fixture_add_lu(r->f, 1);
	r->f->nexus.ops = &rs_ops;
	start_on(r, 0, 1, read10, SCSI_ATTR_SIMPLE);
	start_on(r, 1, 0, read10, SCSI_ATTR_SIMPLE);
	start_on(r, 2, 1, tur, SCSI_ATTR_ORDERED);
	assert_int_equal(scsi_abort_task_set(&r->f->nexus, 1, rs_done, r), 0);
	assert_false(rs.done);
	r->expect = NTASKS + 1;
	r->f->loop.stop = false;
	loop_run(&r->f->loop);
	assert_true(rs.done);
	assert_int_equal(rs.task0_done_then, 1);
	assert_int_equal(r->tasks[0].status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(r->nremoved, 1);
	assert_int_equal(r->removed[0], 2);
	assert_int_equal(rs.ndrops, 1);
	assert_int_equal(rs.drop_lun, 1);
	run_until(r, 2);
	assert_int_equal(r->tasks[1].status, SCSI_STATUS_GOOD);
	assert_int_equal(atomic_load(&r->f->nexus.ua[1]), 0);
}

/* I_T NEXUS RESET: every LU's tasks of this nexus, then 29h/07h on each. */
static void test_it_nexus_reset_aborts_every_lun_and_raises_29h_07h(void **state)
{
	struct run *r = *state;
	memset(&rs, 0, sizeof(rs));
	fixture_add_lu(r->f, 1);
	r->f->nexus.ops = &rs_ops;
	start_on(r, 0, 1, read10, SCSI_ATTR_SIMPLE);
	start_on(r, 1, 0, read10, SCSI_ATTR_SIMPLE);
	assert_int_equal(scsi_it_nexus_reset(&r->f->nexus, rs_done, r), 0);
	r->expect = NTASKS + 1;
	r->f->loop.stop = false;
	loop_run(&r->f->loop);
	assert_true(rs.done);
	assert_int_equal(r->ndone, 2);
	assert_int_equal(r->tasks[0].status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(r->tasks[1].status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(rs.ndrops, 2);
	scsi_task_release(&r->tasks[0]);
	scsi_task_release(&r->tasks[1]);
	assert_true(scsi_ua_pending(&r->f->nexus, 0));
	assert_false(fixture_prepare(r->f, 0, tur));
	assert_true(fixture_check(r->f, 0x6, 0x29, 0x07));
	assert_false(fixture_prepare(r->f, 1, tur));
	assert_true(fixture_check(r->f, 0x6, 0x29, 0x07));
	assert_false(scsi_ua_pending(&r->f->nexus, 0));
}

/* TARGET RESET: every nexus of the target gets 29h/00h, but only while
 * one initiator alone uses the target. */
/* SAM-5 6.3.3 d): the LU's MODE SELECT parameters go back to their
 * defaults (WCE on, D_SENSE and SWP off); other LUs keep theirs. */
static void test_lu_reset_returns_mode_parameters_to_their_defaults(void **state)
{
	struct run *r = *state;
	memset(&rs, 0, sizeof(rs));
	fixture_add_lu(r->f, 1);
	r->f->nexus.ops = &rs_ops;
	const uint32_t all = SCSI_MODE_WCE | SCSI_MODE_D_SENSE | SCSI_MODE_SWP;
	scsi_lu_mode_change(r->f->lus[0], all, SCSI_MODE_SWP);
	scsi_lu_mode_change(r->f->lus[1], all, SCSI_MODE_SWP | SCSI_MODE_D_SENSE);
	assert_int_equal(scsi_lu_reset(&r->f->nexus, 1, rs_done, r), 0);
	r->expect = NTASKS + 1;
	r->f->loop.stop = false;
	loop_run(&r->f->loop);
	assert_true(rs.done);
	assert_int_equal(atomic_load(&r->f->lus[1]->mode), SCSI_MODE_WCE);
	assert_int_equal(atomic_load(&r->f->lus[0]->mode), SCSI_MODE_SWP);
	scsi_lu_mode_change(r->f->lus[0], all, SCSI_MODE_WCE);
}

static void test_target_reset_returns_every_lu_to_its_mode_defaults(void **state)
{
	struct run *r = *state;
	memset(&rs, 0, sizeof(rs));
	fixture_add_lu(r->f, 1);
	r->f->nexus.ops = &rs_ops;
	const uint32_t all = SCSI_MODE_WCE | SCSI_MODE_D_SENSE | SCSI_MODE_SWP;
	scsi_lu_mode_change(r->f->lus[0], all, SCSI_MODE_D_SENSE);
	scsi_lu_mode_change(r->f->lus[1], all, SCSI_MODE_SWP);
	assert_int_equal(scsi_target_reset(&r->f->nexus, false, rs_done, r), 0);
	r->expect = NTASKS + 1;
	r->f->loop.stop = false;
	loop_run(&r->f->loop);
	assert_true(rs.done);
	assert_int_equal(atomic_load(&r->f->lus[0]->mode), SCSI_MODE_WCE);
	assert_int_equal(atomic_load(&r->f->lus[1]->mode), SCSI_MODE_WCE);
}

static void test_target_reset_only_by_the_only_initiator(void **state)
{
	struct run *r = *state;
	memset(&rs, 0, sizeof(rs));
	r->f->nexus.ops = &rs_ops;
	struct scsi_nexus other;
	scsi_nexus_init(&other, &r->f->target, "iqn.2024-01.org.test:someone-else,i,0x1",
			&r->f->loop, &rs_ops);
	assert_int_equal(scsi_target_reset(&r->f->nexus, false, rs_done, r), -EPERM);
	scsi_nexus_fini(&other);
	/* a second path of the same initiator (another ISID) */
	scsi_nexus_init(&other, &r->f->target, "iqn.2024-01.org.test:init,i,0x2", &r->f->loop,
			&rs_ops);
	memset(other.ua, 0, sizeof(other.ua));
	start_on(r, 0, 0, read10, SCSI_ATTR_SIMPLE);
	assert_int_equal(scsi_target_reset(&r->f->nexus, false, rs_done, r), 0);
	r->expect = NTASKS + 1;
	r->f->loop.stop = false;
	loop_run(&r->f->loop);
	assert_true(rs.done);
	assert_int_equal(r->tasks[0].status, SCSI_STATUS_TASK_ABORTED);
	scsi_task_release(&r->tasks[0]);
	assert_true(atomic_load(&other.ua[0]) & SCSI_UA_POWER_ON);
	assert_false(fixture_prepare(r->f, 0, tur));
	assert_true(fixture_check(r->f, 0x6, 0x29, 0x00));
	scsi_nexus_fini(&other);
}

static struct scsi_nexus *ended[2];
static unsigned nended;

static void rs_end(struct scsi_nexus *n)
{
	ended[nended++] = n;
}

/* TARGET COLD RESET ends every other nexus, after resetting it, and
 * leaves the asking one to its transport. */
static void test_target_cold_reset_ends_the_other_nexuses(void **state)
{
	static const struct scsi_nexus_ops end_ops = {
		.drop_unexecuted = rs_drop_unexecuted, .removed = rs_removed, .end = rs_end,
	};
	struct run *r = *state;
	memset(&rs, 0, sizeof(rs));
	nended = 0;
	r->f->nexus.ops = &end_ops;
	struct scsi_nexus other;
	scsi_nexus_init(&other, &r->f->target, "iqn.2024-01.org.test:init,i,0x2", &r->f->loop,
			&end_ops);
	assert_int_equal(scsi_target_reset(&r->f->nexus, true, rs_done, r), 0);
	r->expect = NTASKS + 1;
	r->f->loop.stop = false;
	loop_run(&r->f->loop);
	assert_true(rs.done);
	assert_int_equal(nended, 1);
	assert_ptr_equal(ended[0], &other);
	assert_int_equal(rs.ndrops, 2);
	scsi_nexus_fini(&other);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ordered_waits_for_older_and_holds_back_newer),
		T(test_simple_tasks_run_together),
		T(test_head_of_queue_passes_a_waiting_ordered_task),
		T(test_abort_of_waiting_task_never_executes_it),
		T(test_abort_of_executing_task_completes_it_once_as_aborted),
		T(test_abort_of_prepared_task_not_yet_executed),
		T(test_ordered_waits_for_an_aborted_task_still_executing),
		T(test_abort_of_waiting_ordered_releases_the_tasks_behind_it),
		T(test_abort_all_removes_waiting_and_marks_executing),
		T(test_abort_all_of_one_lun_leaves_the_others),
		T(test_lu_reset_aborts_its_tasks_and_raises_29h_03h),
		T(test_lu_reset_reaches_every_nexus_on_its_own_loop),
		T(test_abort_task_set_aborts_one_lun_of_this_nexus_only),
		T(test_it_nexus_reset_aborts_every_lun_and_raises_29h_07h),
		T(test_lu_reset_returns_mode_parameters_to_their_defaults),
		T(test_target_reset_returns_every_lu_to_its_mode_defaults),
		T(test_target_reset_only_by_the_only_initiator),
		T(test_target_cold_reset_ends_the_other_nexuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
