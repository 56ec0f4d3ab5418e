/* Session reinstatement in the core: a nexus that replaces another starts
 * no task until the old one is gone (scsi_nexus_replace). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_fixture.h"

static const uint8_t read10[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t tur[16] = { 0x00 };

static struct fixture *fx;
static struct scsi_task tasks[2];
static int order[4];
static unsigned ndone, expect;

static void record_done(struct scsi_task *t)
{
	order[ndone++] = (int)(t - tasks);
	if (ndone == expect)
		fx->loop.stop = true;
}

static void start(int i, struct scsi_nexus *n, const uint8_t *cdb, enum scsi_task_attr attr)
{
	struct scsi_task *t = &tasks[i];
	memset(t, 0, sizeof(*t));
	t->nexus = n;
	t->lun_raw = scsi_lun_encode(0);
	memcpy(t->cdb, cdb, SCSI_CDB_MAX);
	t->attr = attr;
	t->loop = &fx->loop;
	t->done = record_done;
	assert_true(scsi_task_prepare(t));
	scsi_task_execute(t);
}

static void run_until(unsigned n)
{
	expect = n;
	fx->loop.stop = false;
	if (ndone < n)
		loop_run(&fx->loop);
	assert_int_equal(ndone, n);
}

static void stop_loop(struct loop_msg *msg)
{
	(void)msg;
	fx->loop.stop = true;
}

/* Runs what is posted to the loop so far. */
static void drain(void)
{
	static struct loop_msg stop = { .fn = stop_loop };
	fx->loop.stop = false;
	loop_post(&fx->loop, &stop);
	loop_run(&fx->loop);
}

static int setup(void **state)
{
	(void)state;
	fx = fixture_new(false);
	ndone = 0;
	memset(tasks, 0, sizeof(tasks));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		scsi_task_release(&tasks[i]);
	fixture_free(fx);
	return 0;
}

static void new_nexus_waits_until_the_old_one_is_gone(void **state)
{
	(void)state;
	struct scsi_nexus old;
	scsi_nexus_init(&old, &fx->target, "iqn.2024-01.org.test:init,i,0x1", &fx->loop, NULL);
	memset(old.ua, 0, sizeof(old.ua));
	start(0, &old, read10, SCSI_ATTR_SIMPLE);
	assert_int_equal(scsi_nexus_replace(&fx->nexus), 0);
	/* Not even HEAD OF QUEUE passes the fence. */
	start(1, &fx->nexus, tur, SCSI_ATTR_HEAD_OF_QUEUE);
	assert_int_equal(tasks[1].state, SCSI_TASK_WAITING);
	run_until(1);
	assert_int_equal(order[0], 0);
	assert_int_equal(tasks[1].state, SCSI_TASK_WAITING);
	/* A nexus ends after its last task (scsi_nexus_fini). */
	scsi_task_release(&tasks[0]);
	memset(&tasks[0], 0, sizeof(tasks[0]));
	scsi_nexus_fini(&old);
	run_until(2);
	assert_int_equal(order[1], 1);
	assert_int_equal(tasks[1].status, SCSI_STATUS_GOOD);
	/* Once open the fence holds nothing back. */
	scsi_task_release(&tasks[1]);
	start(1, &fx->nexus, tur, SCSI_ATTR_SIMPLE);
	run_until(3);
}

static void nexus_follows_every_old_one(void **state)
{
	(void)state;
	struct scsi_nexus a, b;
	scsi_nexus_init(&a, &fx->target, "iqn.2024-01.org.test:init,i,0x1", &fx->loop, NULL);
	scsi_nexus_init(&b, &fx->target, "iqn.2024-01.org.test:init,i,0x1", &fx->loop, NULL);
	assert_int_equal(scsi_nexus_replace(&fx->nexus), 0);
	memset(fx->nexus.ua, 0, sizeof(fx->nexus.ua));
	start(0, &fx->nexus, tur, SCSI_ATTR_SIMPLE);
	scsi_nexus_fini(&a);
	drain();
	assert_int_equal(tasks[0].state, SCSI_TASK_WAITING);
	scsi_nexus_fini(&b);
	run_until(1);
}

static void other_initiator_ports_are_not_waited_for(void **state)
{
	(void)state;
	struct scsi_nexus other;
	scsi_nexus_init(&other, &fx->target, "iqn.2024-01.org.test:init,i,0x2", &fx->loop, NULL);
	struct scsi_nexus next;
	scsi_nexus_init(&next, &fx->target, "iqn.2024-01.org.test:other,i,0x1", &fx->loop, NULL);
	assert_int_equal(scsi_nexus_replace(&next), 0);
	assert_null(next.fence);
	scsi_nexus_fini(&next);
	scsi_nexus_fini(&other);
}

/* The same initiator port through another target port (another portal
 * group) is another I_T nexus: it is not replaced. */
static void other_target_ports_are_not_waited_for(void **state)
{
	(void)state;
	struct scsi_nexus other;
	scsi_nexus_init_port(&other, &fx->target, 2, "iqn.2024-01.org.test:init,i,0x1", &fx->loop, NULL);
	struct scsi_nexus next;
	scsi_nexus_init_port(&next, &fx->target, 3, "iqn.2024-01.org.test:init,i,0x1", &fx->loop, NULL);
	assert_int_equal(scsi_nexus_replace(&next), 0);
	assert_null(next.fence);
	scsi_nexus_fini(&next);
	scsi_nexus_fini(&other);
}

static void waiter_may_end_before_the_old_nexus(void **state)
{
	(void)state;
	struct scsi_nexus old, next;
	scsi_nexus_init(&old, &fx->target, "iqn.2024-01.org.test:other,i,0x2", &fx->loop, NULL);
	scsi_nexus_init(&next, &fx->target, "iqn.2024-01.org.test:other,i,0x2", &fx->loop, NULL);
	assert_int_equal(scsi_nexus_replace(&next), 0);
	scsi_nexus_fini(&next);
	memset(&next, 0xa5, sizeof(next));
	scsi_nexus_fini(&old);
	/* The open message finds no waiter (ASan: nothing freed is touched). */
	drain();
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(new_nexus_waits_until_the_old_one_is_gone),
		T(nexus_follows_every_old_one),
		T(other_initiator_ports_are_not_waited_for),
		T(other_target_ports_are_not_waited_for),
		T(waiter_may_end_before_the_old_nexus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
