/* PERSISTENT RESERVE IN / OUT through the core: the handlers, the
 * conflict check in task_check, unit attentions and PREEMPT AND ABORT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scsi/pr_state.h"
#include "scsi_fixture.h"
#include "util/be.h"
#include "util/iov.h"

#define ME "iqn.2024-01.org.test:init,i,0x1"
#define OTHER "iqn.2024-01.org.test:other,i,0x000000000002"

static const uint8_t read10[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
static const uint8_t write10[16] = { 0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
static const uint8_t tur[16] = { 0x00 };

static void removed_nothing(struct scsi_task *t, void *arg)
{
}

static void drop_nothing(struct scsi_nexus *n, uint16_t lun)
{
}

static const struct scsi_nexus_ops other_ops = {
	.drop_unexecuted = drop_nothing,
	.removed = removed_nothing,
};

struct pr {
	struct fixture *f;
	struct scsi_nexus other; /* OTHER's nexus, for its unit attentions */
	uint8_t block[FIX_BLOCK];
};

static int setup(void **state)
{
	struct pr *p = calloc(1, sizeof(*p));
	p->f = fixture_new(false);
	p->f->nexus.ops = &other_ops;
	scsi_nexus_init(&p->other, &p->f->target, OTHER, &p->f->loop, &other_ops);
	memset(p->other.ua, 0, sizeof(p->other.ua));
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pr *p = *state;
	scsi_nexus_fini(&p->other);
	fixture_free(p->f);
	free(p);
	return 0;
}

/* Commands run on the fixture's nexus under the identity of who. */
static void as(struct pr *p, const char *who)
{
	snprintf(p->f->nexus.initiator_port, sizeof(p->f->nexus.initiator_port), "%s", who);
}

static uint8_t prout(struct pr *p, uint8_t sa, uint8_t type, uint64_t key, uint64_t sa_key,
		     uint8_t flags)
{
	uint8_t cdb[16] = { 0x5F, sa, type, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t param[24] = { 0 };
	be64_put(param, key);
	be64_put(param + 8, sa_key);
	param[20] = flags;
	assert_true(fixture_run(p->f, 0, cdb, param));
	return p->f->task.status;
}

static const uint8_t *prin(struct pr *p, uint8_t sa)
{
	uint8_t cdb[16] = { 0x5E, sa, 0, 0, 0, 0, 0, 0x20, 0x00, 0 };
	assert_true(fixture_run(p->f, 0, cdb, NULL));
	assert_int_equal(p->f->task.status, SCSI_STATUS_GOOD);
	return fixture_read_data(p->f);
}

static uint8_t run(struct pr *p, const uint8_t *cdb)
{
	fixture_run(p->f, 0, cdb, cdb[0] == 0x2A ? p->block : NULL);
	return p->f->task.status;
}

/* Runs a command without data on OTHER's own nexus; returns its status. */
static uint8_t run_other(struct pr *p, const uint8_t *cdb)
{
	return fixture_run_on(p->f, &p->other, 0, cdb);
}

static const uint8_t reserve6[16] = { 0x16 };
static const uint8_t release6[16] = { 0x17 };
static const uint8_t reserve10[16] = { 0x56 };
static const uint8_t release10[16] = { 0x57 };
static const uint8_t inquiry[16] = { 0x12, 0, 0, 0, 36, 0 };

static void test_reserve6_holds_off_other_nexuses(void **state)
{
	struct pr *p = *state;
	assert_int_equal(run(p, reserve6), SCSI_STATUS_GOOD);
	assert_int_equal(run(p, reserve6), SCSI_STATUS_GOOD);
	assert_int_equal(run_other(p, reserve6), SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(run_other(p, read10), SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(run_other(p, inquiry), SCSI_STATUS_GOOD);
	/* SPC-2 7.11: another nexus's RELEASE is GOOD and releases nothing */
	assert_int_equal(run_other(p, release6), SCSI_STATUS_GOOD);
	assert_int_equal(run_other(p, read10), SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(run(p, write10), SCSI_STATUS_GOOD);
	assert_int_equal(run(p, release6), SCSI_STATUS_GOOD);
	assert_int_equal(run_other(p, reserve10), SCSI_STATUS_GOOD);
	assert_int_equal(run(p, read10), SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(run_other(p, release10), SCSI_STATUS_GOOD);
	assert_int_equal(run(p, read10), SCSI_STATUS_GOOD);
}

static void reset_done(void *arg)
{
	struct pr *p = arg;
	p->f->loop.stop = true;
}

static void test_reserve6_ends_with_a_lu_reset(void **state)
{
	struct pr *p = *state;
	assert_int_equal(run_other(p, reserve6), SCSI_STATUS_GOOD);
	assert_int_equal(scsi_lu_reset(&p->f->nexus, 0, reset_done, p), 0);
	p->f->loop.stop = false;
	loop_run(&p->f->loop);
	p->f->loop.stop = false;
	memset(p->f->nexus.ua, 0, sizeof(p->f->nexus.ua));
	assert_int_equal(run(p, reserve6), SCSI_STATUS_GOOD);
}

static void test_reserve6_ends_with_its_nexus(void **state)
{
	struct pr *p = *state;
	assert_int_equal(run_other(p, reserve6), SCSI_STATUS_GOOD);
	assert_int_equal(run(p, read10), SCSI_STATUS_RESERVATION_CONFLICT);
	scsi_nexus_fini(&p->other);
	assert_int_equal(run(p, read10), SCSI_STATUS_GOOD);
	scsi_nexus_init(&p->other, &p->f->target, OTHER, &p->f->loop, &other_ops);
}

/* SPC-4 5.12.3 with CRH 0: registrations make RESERVE and RELEASE conflict,
 * and an SPC-2 reservation makes another nexus's PERSISTENT RESERVE
 * commands conflict. */
static void test_reserve6_and_persistent_reservations_exclude_each_other(void **state)
{
	struct pr *p = *state;
	assert_int_equal(run_other(p, reserve6), SCSI_STATUS_GOOD);
	assert_int_equal(prout(p, 0x06, 0, 0, 0xAA, 0), SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(run_other(p, release6), SCSI_STATUS_GOOD);
	assert_int_equal(prout(p, 0x06, 0, 0, 0xAA, 0), SCSI_STATUS_GOOD);
	assert_int_equal(run(p, reserve6), SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(run(p, release10), SCSI_STATUS_RESERVATION_CONFLICT);
}

/* REGISTER with SPEC_I_PT naming OTHER, then READ FULL STATUS shows both
 * with their TransportIDs (SPC-4 6.15.5). */
static void test_spec_i_pt_and_read_full_status(void **state)
{
	struct pr *p = *state;
	uint8_t param[24 + 4 + 48] = { 0 };
	be64_put(param + 8, 0xAA);
	param[20] = 0x08; /* SPEC_I_PT */
	be32_put(param + 24, 48);
	param[28] = 0x45;
	be16_put(param + 30, 44);
	memcpy(param + 32, OTHER, strlen(OTHER));
	uint8_t cdb[16] = { 0x5F, 0x00, 0, 0, 0, 0, 0, 0, sizeof(param), 0 };
	assert_true(fixture_run(p->f, 0, cdb, param));
	assert_int_equal(p->f->task.status, SCSI_STATUS_GOOD);
	as(p, OTHER);
	assert_int_equal(prout(p, 0x01, 0x01, 0xAA, 0, 0), SCSI_STATUS_GOOD);
	const uint8_t *d = prin(p, 0x03);
	assert_int_equal(be32_get(d), 1);
	size_t off = 8;
	const char *want[] = { ME, OTHER };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(be64_get(d + off), 0xAA);
		assert_int_equal(d[off + 12], i == 1 ? 0x01 : 0x00); /* R_HOLDER */
		assert_int_equal(be16_get(d + off + 18), 1);
		uint32_t tid = be32_get(d + off + 20);
		assert_int_equal(d[off + 24], 0x45);
		assert_string_equal((const char *)d + off + 28, want[i]);
		off += 24 + tid;
	}
	assert_int_equal(be32_get(d + 4), off - 8);
}

/* REGISTER AND MOVE (SPC-4 6.16.4) to OTHER through target port 1. */
static void test_register_and_move(void **state)
{
	struct pr *p = *state;
	assert_int_equal(prout(p, 0x06, 0, 0, 0xAA, 0), SCSI_STATUS_GOOD);
	assert_int_equal(prout(p, 0x01, 0x03, 0xAA, 0, 0), SCSI_STATUS_GOOD);
	uint8_t param[24 + 48] = { 0 };
	be64_put(param, 0xAA);
	be64_put(param + 8, 0xBB);
	param[17] = 0x02; /* UNREG */
	be16_put(param + 18, 1);
	be32_put(param + 20, 48);
	param[24] = 0x45;
	be16_put(param + 26, 44);
	memcpy(param + 28, OTHER, strlen(OTHER));
	uint8_t cdb[16] = { 0x5F, 0x07, 0x03, 0, 0, 0, 0, 0, sizeof(param), 0 };
	assert_true(fixture_run(p->f, 0, cdb, param));
	assert_int_equal(p->f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(run(p, read10), SCSI_STATUS_RESERVATION_CONFLICT);
	as(p, OTHER);
	const uint8_t *d = prin(p, 0x01);
	assert_int_equal(be64_get(d + 8), 0xBB);
	assert_int_equal(run(p, write10), SCSI_STATUS_GOOD);
	/* a target port that is not this target's */
	be16_put(param + 18, 9);
	be64_put(param, 0xBB);
	assert_true(fixture_run(p->f, 0, cdb, param));
	assert_true(fixture_check(p->f, 0x5, 0x26, 0x00));
}

static void test_read_keys_lists_registrations(void **state)
{
	struct pr *p = *state;
	assert_int_equal(prout(p, 0x06, 0, 0, 0xAA, 0), SCSI_STATUS_GOOD);
	as(p, OTHER);
	assert_int_equal(prout(p, 0x00, 0, 0, 0xBB, 0), SCSI_STATUS_GOOD);
	const uint8_t *d = prin(p, 0x00);
	assert_int_equal(be32_get(d), 2);     /* PRgeneration */
	assert_int_equal(be32_get(d + 4), 16);
	assert_int_equal(be64_get(d + 8), 0xAA);
	assert_int_equal(be64_get(d + 16), 0xBB);
}

static void test_exclusive_access_refuses_the_others(void **state)
{
	struct pr *p = *state;
	assert_int_equal(prout(p, 0x06, 0, 0, 0xAA, 0), SCSI_STATUS_GOOD);
	assert_int_equal(prout(p, 0x01, 0x03, 0xAA, 0, 0), SCSI_STATUS_GOOD);
	const uint8_t *d = prin(p, 0x01);
	assert_int_equal(be32_get(d + 4), 16);
	assert_int_equal(be64_get(d + 8), 0xAA);
	assert_int_equal(d[21], 0x03);
	assert_int_equal(run(p, read10), SCSI_STATUS_GOOD);
	assert_int_equal(run(p, write10), SCSI_STATUS_GOOD);
	as(p, OTHER);
	assert_int_equal(run(p, read10), SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(run(p, write10), SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(run(p, tur), SCSI_STATUS_GOOD);
	/* an unregistered nexus may only register (SPC-4 5.12.8) */
	assert_int_equal(prout(p, 0x01, 0x03, 0, 0, 0), SCSI_STATUS_RESERVATION_CONFLICT);
	as(p, ME);
	assert_int_equal(prout(p, 0x02, 0x03, 0xAA, 0, 0), SCSI_STATUS_GOOD);
	as(p, OTHER);
	assert_int_equal(run(p, read10), SCSI_STATUS_GOOD);
}

static void test_preempt_raises_registrations_preempted(void **state)
{
	struct pr *p = *state;
	as(p, OTHER);
	assert_int_equal(prout(p, 0x06, 0, 0, 0xBB, 0), SCSI_STATUS_GOOD);
	as(p, ME);
	assert_int_equal(prout(p, 0x06, 0, 0, 0xAA, 0), SCSI_STATUS_GOOD);
	assert_int_equal(prout(p, 0x04, 0x01, 0xAA, 0xBB, 0), SCSI_STATUS_GOOD);
	assert_true(atomic_load(&p->other.ua[0]) & SCSI_UA_REGISTRATIONS_PREEMPTED);
	assert_false(atomic_load(&p->f->nexus.ua[0]) & SCSI_UA_REGISTRATIONS_PREEMPTED);
}

/* PREEMPT AND ABORT completes after the preempted nexus's tasks were
 * aborted, on the core's task-set machinery. */
static void test_preempt_and_abort_completes(void **state)
{
	struct pr *p = *state;
	as(p, OTHER);
	assert_int_equal(prout(p, 0x06, 0, 0, 0xBB, 0), SCSI_STATUS_GOOD);
	assert_int_equal(prout(p, 0x01, 0x01, 0xBB, 0, 0), SCSI_STATUS_GOOD);
	as(p, ME);
	assert_int_equal(prout(p, 0x06, 0, 0, 0xAA, 0), SCSI_STATUS_GOOD);
	assert_int_equal(run(p, write10), SCSI_STATUS_RESERVATION_CONFLICT);
	assert_int_equal(prout(p, 0x05, 0x03, 0xAA, 0xBB, 0), SCSI_STATUS_GOOD);
	assert_true(atomic_load(&p->other.ua[0]) & SCSI_UA_REGISTRATIONS_PREEMPTED);
	assert_int_equal(run(p, write10), SCSI_STATUS_GOOD);
	const uint8_t *d = prin(p, 0x01);
	assert_int_equal(be64_get(d + 8), 0xAA);
	assert_int_equal(d[21], 0x03);
}

/* SPC-4 6.16.3: 24 bytes without SPEC_I_PT; never more than the
 * TransportIDs of every registration. */
static void test_parameter_list_length_is_checked(void **state)
{
	struct pr *p = *state;
	uint8_t param[25] = { 0 };
	uint8_t cdb[16] = { 0x5F, 0x06, 0, 0, 0, 0, 0, 0, 25, 0 };
	assert_true(fixture_run(p->f, 0, cdb, param));
	assert_true(fixture_check(p->f, 0x5, 0x1A, 0x00));
	uint8_t huge[16] = { 0x5F, 0x06, 0, 0, 0, 0, 0x01, 0, 0, 0 };
	assert_false(fixture_prepare(p->f, 0, huge));
	assert_true(fixture_check(p->f, 0x5, 0x1A, 0x00));
}

/* Without a state directory the LU cannot persist through power loss. */
static void test_aptpl_without_state_dir_is_invalid(void **state)
{
	struct pr *p = *state;
	assert_int_equal(prout(p, 0x06, 0, 0, 0xAA, 0x01), SCSI_STATUS_CHECK_CONDITION);
	assert_true(fixture_check(p->f, 0x5, 0x26, 0x00));
	const uint8_t *d = prin(p, 0x02);
	assert_int_equal(d[2] & 0x01, 0); /* PTPL_C */
}

/* A change whose APTPL file cannot be written is rolled back (SPC-4
 * 5.12.4) and, never having happened, raises no unit attention. */
static void test_failed_aptpl_save_tells_no_one(void **state)
{
	struct pr *p = *state;
	struct scsi_lu *lu = p->f->lus[0];
	char dir[] = "/tmp/lunar-pr-test-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pr.state", dir);
	lu->pr_path = strdup(path);
	as(p, OTHER);
	assert_int_equal(prout(p, 0x06, 0, 0, 0xBB, 0), SCSI_STATUS_GOOD);
	as(p, ME);
	assert_int_equal(prout(p, 0x06, 0, 0, 0xAA, 0x01), SCSI_STATUS_GOOD);
	/* The file can no longer be replaced. */
	free(lu->pr_path);
	lu->pr_path = strdup("/nonexistent-lunar-dir/pr.state");
	assert_int_equal(prout(p, 0x04, 0x01, 0xAA, 0xBB, 0), SCSI_STATUS_CHECK_CONDITION);
	assert_true(fixture_check(p->f, 0x4, 0x44, 0x00));
	assert_false(atomic_load(&p->other.ua[0]) & SCSI_UA_REGISTRATIONS_PREEMPTED);
	/* OTHER is still registered. */
	const uint8_t *d = prin(p, 0x00);
	assert_int_equal(be32_get(d + 4), 16);
	unlink(path);
	rmdir(dir);
}

static const uint8_t register_ignore_cdb[16] = { 0x5F, 0x06, 0, 0, 0, 0, 0, 0, 24, 0 };

/* The fixture's nexus starts REGISTER AND IGNORE EXISTING KEY of 0xAA with
 * APTPL, its state file in dir (a mkdtemp template): the save is in flight
 * when this returns. */
static void start_aptpl_register(struct pr *p, char *dir, char *path, size_t pathlen)
{
	assert_non_null(mkdtemp(dir));
	snprintf(path, pathlen, "%s/pr.state", dir);
	p->f->lus[0]->pr_path = strdup(path);
	uint8_t param[24] = { 0 };
	be64_put(param + 8, 0xAA);
	param[20] = 0x01; /* APTPL */
	assert_true(fixture_prepare(p->f, 0, register_ignore_cdb));
	fixture_fill_data_out(p->f, param, sizeof(param));
	scsi_task_execute(&p->f->task);
}

/* SPC-4 5.12.4: an APTPL change takes effect once it is on stable storage.
 * The save runs on the saver thread; until its completion reaches the
 * loop, the LU keeps its old state and the command its status. */
static void test_aptpl_change_takes_effect_once_saved(void **state)
{
	struct pr *p = *state;
	struct scsi_lu *lu = p->f->lus[0];
	char dir[] = "/tmp/lunar-pr-test-XXXXXX", path[64];
	start_aptpl_register(p, dir, path, sizeof(path));
	assert_int_equal(p->f->ndone, 0);
	pthread_mutex_lock(&lu->pr_lock);
	assert_int_equal(lu->pr->nregs, 0);
	assert_non_null(lu->pr_save);
	pthread_mutex_unlock(&lu->pr_lock);
	p->f->loop.stop = false;
	loop_run(&p->f->loop);
	assert_int_equal(p->f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(lu->pr->nregs, 1);
	assert_null(lu->pr_save);
	assert_int_equal(access(path, F_OK), 0);
	/* APTPL 0 takes the file away, through the saver too. */
	assert_int_equal(prout(p, 0x06, 0, 0xAA, 0xAB, 0), SCSI_STATUS_GOOD);
	assert_int_equal(access(path, F_OK), -1);
	rmdir(dir);
}

static void other_waiter_done(struct scsi_task *t)
{
	*(bool *)t->transport_priv = true;
	t->loop->stop = true;
}

/* A PERSISTENT RESERVE OUT that waits for another command's APTPL save
 * and is aborted meanwhile changes nothing when the save completes: it
 * ends as aborted, not applied. */
static void test_pr_out_aborted_while_waiting_for_a_save_changes_nothing(void **state)
{
	struct pr *p = *state;
	struct scsi_lu *lu = p->f->lus[0];
	char dir[] = "/tmp/lunar-pr-test-XXXXXX", path[64];
	start_aptpl_register(p, dir, path, sizeof(path));

	/* OTHER registers too, behind the save in flight */
	bool other_done_flag = false;
	struct scsi_task t;
	memset(&t, 0, sizeof(t));
	t.nexus = &p->other;
	t.lun_raw = scsi_lun_encode(0);
	memcpy(t.cdb, register_ignore_cdb, SCSI_CDB_MAX);
	t.attr = SCSI_ATTR_SIMPLE;
	t.loop = &p->f->loop;
	t.done = other_waiter_done;
	t.transport_priv = &other_done_flag;
	assert_true(scsi_task_prepare(&t));
	assert_non_null(scsi_task_data_get(&t, t.xfer_len, true, NULL));
	uint8_t other_param[24] = { 0 };
	be64_put(other_param + 8, 0xCC);
	iov_scatter(t.data_iov, t.data_iovcnt, 0, other_param, sizeof(other_param));
	scsi_task_execute(&t);
	assert_false(other_done_flag);
	scsi_task_abort(&t);

	/* each completion stops the loop: two turns see both */
	for (int i = 0; i < 2 && (p->f->ndone == 0 || !other_done_flag); i++) {
		p->f->loop.stop = false;
		loop_run(&p->f->loop);
	}
	p->f->loop.stop = false;
	assert_int_equal(p->f->task.status, SCSI_STATUS_GOOD);
	assert_true(other_done_flag);
	assert_int_equal(t.status, SCSI_STATUS_TASK_ABORTED);
	scsi_task_release(&t);
	assert_int_equal(lu->pr->nregs, 1);
	assert_int_equal(prout(p, 0x06, 0, 0xAA, 0xAB, 0), SCSI_STATUS_GOOD);
	rmdir(dir);
}

/* While a change is being saved, RESERVE cannot know whether persistent
 * reservations will be in use: it is refused, as when they are. */
static void test_reserve6_during_an_aptpl_save_conflicts(void **state)
{
	struct pr *p = *state;
	struct scsi_lu *lu = p->f->lus[0];
	/* opaque here: only that a save is in flight counts */
	static char saving;
	lu->pr_save = (struct pr_save *)&saving;
	assert_int_equal(run(p, reserve6), SCSI_STATUS_RESERVATION_CONFLICT);
	lu->pr_save = NULL;
	assert_int_equal(run(p, reserve6), SCSI_STATUS_GOOD);
}

static void test_service_action_out_of_range_is_invalid(void **state)
{
	struct pr *p = *state;
	uint8_t cdb[16] = { 0x5E, 0x04, 0, 0, 0, 0, 0, 0x20, 0x00, 0 };
	assert_false(fixture_prepare(p->f, 0, cdb));
	assert_true(fixture_check(p->f, 0x5, 0x24, 0x00));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_read_keys_lists_registrations),
		T(test_spec_i_pt_and_read_full_status),
		T(test_register_and_move),
		T(test_exclusive_access_refuses_the_others),
		T(test_preempt_raises_registrations_preempted),
		T(test_preempt_and_abort_completes),
		T(test_parameter_list_length_is_checked),
		T(test_aptpl_without_state_dir_is_invalid),
		T(test_failed_aptpl_save_tells_no_one),
		T(test_aptpl_change_takes_effect_once_saved),
		T(test_reserve6_during_an_aptpl_save_conflicts),
		T(test_pr_out_aborted_while_waiting_for_a_save_changes_nothing),
		T(test_service_action_out_of_range_is_invalid),
		T(test_reserve6_holds_off_other_nexuses),
		T(test_reserve6_ends_with_a_lu_reset),
		T(test_reserve6_ends_with_its_nexus),
		T(test_reserve6_and_persistent_reservations_exclude_each_other),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
