/* The task set of an I_T nexus (SAM-5 8.6): ORDERED waits for every older
 * task and holds back every newer one; HEAD OF QUEUE starts at once. */
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
};

static struct run *current;

static void record_done(struct scsi_task *t)
{
	current->order[current->ndone++] = (int)(t - current->tasks);
	if (current->ndone == NTASKS)
		current->f->loop.stop = true;
}

static const uint8_t read10[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t tur[16] = { 0x00 };

/* Prepares and executes task i (without running the loop). */
static void start(struct run *r, int i, const uint8_t *cdb, enum scsi_task_attr attr)
{
	struct scsi_task *t = &r->tasks[i];
	memset(t, 0, sizeof(*t));
	t->nexus = &r->f->nexus;
	t->lun_raw = scsi_lun_encode(0);
	memcpy(t->cdb, cdb, SCSI_CDB_MAX);
	t->attr = attr;
	t->loop = &r->f->loop;
	t->done = record_done;
	assert_true(scsi_task_prepare(t));
	scsi_task_execute(t);
}

static void finish(struct run *r)
{
	r->f->loop.stop = false;
	loop_run(&r->f->loop);
	for (int i = 0; i < NTASKS; i++) {
		assert_int_equal(r->tasks[i].status, SCSI_STATUS_GOOD);
		scsi_task_release(&r->tasks[i]);
	}
	assert_int_equal(r->f->nexus.running, 0);
	assert_null(r->f->nexus.waiting_head);
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
	assert_int_equal(r->f->nexus.running, 2);
	assert_ptr_equal(r->f->nexus.waiting_head, &r->tasks[2]);
	assert_ptr_equal(r->f->nexus.waiting_tail, &r->tasks[3]);
	finish(r);
	assert_int_equal(r->order[2], 2);
	assert_int_equal(r->order[3], 3);
}

static void test_simple_tasks_run_together(void **state)
{
	struct run *r = *state;
	for (int i = 0; i < NTASKS; i++)
		start(r, i, read10, SCSI_ATTR_SIMPLE);
	assert_int_equal(r->f->nexus.running, NTASKS);
	assert_null(r->f->nexus.waiting_head);
	finish(r);
}

static void test_head_of_queue_passes_a_waiting_ordered_task(void **state)
{
	struct run *r = *state;
	start(r, 0, read10, SCSI_ATTR_SIMPLE);
	start(r, 1, tur, SCSI_ATTR_ORDERED);
	start(r, 2, tur, SCSI_ATTR_HEAD_OF_QUEUE);
	start(r, 3, tur, SCSI_ATTR_SIMPLE);
	assert_int_equal(r->f->nexus.running, 2); /* the SIMPLE read and HEAD OF QUEUE */
	assert_ptr_equal(r->f->nexus.waiting_head, &r->tasks[1]);
	finish(r);
	assert_int_equal(r->order[2], 1);
	assert_int_equal(r->order[3], 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ordered_waits_for_older_and_holds_back_newer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simple_tasks_run_together, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_of_queue_passes_a_waiting_ordered_task, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
