/* A target's LUN table changing under its I_T nexus: what tasks, REPORT
 * LUNS and unit attentions see when an LU is removed or added. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi_fixture.h"

static const uint8_t tur[16] = { 0x00 };
static const uint8_t report_luns[16] = { 0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };

static int setup(void **state)
{
	struct fixture *f = fixture_new(false);
	fixture_add_lu(f, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static struct scsi_lun_map *add_lu(struct fixture *f, uint16_t lun)
{
	struct scsi_lu_config cfg = { .lun = lun, .bs = &f->store.bs, .close_bs = fake_store_close };
	struct scsi_lu *lu = scsi_lu_create(&cfg, f->target.name);
	assert_non_null(lu);
	struct scsi_lun_map *retired;
	assert_int_equal(scsi_target_add_lu(&f->target, lu, &retired), 0);
	return retired;
}

static void test_removed_lun_is_not_supported(void **state)
{
	struct fixture *f = *state;
	fixture_remove_lu(f, 1);
	assert_false(fixture_run(f, 1, tur, NULL));
	assert_true(fixture_check(f, 0x5, 0x25, 0x00));
}

static void test_removed_lun_leaves_report_luns(void **state)
{
	struct fixture *f = *state;
	fixture_remove_lu(f, 1);
	f->nexus.ua[0] = 0;
	assert_true(fixture_run(f, 0, report_luns, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 16);
	assert_memory_equal(f->task.buf, "\0\0\0\x08\0\0\0\0", 8);
}

static void test_task_holding_removed_lu_completes_good(void **state)
{
	struct fixture *f = *state;
	uint8_t read10[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	assert_true(fixture_prepare(f, 1, read10));
	fixture_remove_lu(f, 1);
	scsi_task_execute(&f->task);
	loop_run(&f->loop);
	f->loop.stop = false;
	assert_int_equal(f->ndone, 1);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, FIX_BLOCK);
}

static void test_store_closes_when_last_task_releases_removed_lu(void **state)
{
	struct fixture *f = *state;
	uint8_t read10[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	scsi_lu_put(f->lus[1]);
	f->lus[1] = NULL;
	assert_true(fixture_prepare(f, 1, read10));
	fixture_remove_lu(f, 1);
	assert_int_equal(f->store.ncloses, 0);
	scsi_task_release(&f->task);
	assert_int_equal(f->store.ncloses, 1);
}

static void test_adding_lu_establishes_reported_luns_changed(void **state)
{
	struct fixture *f = *state;
	scsi_lun_map_free(add_lu(f, 2));
	assert_false(fixture_prepare(f, 0, tur));
	assert_true(fixture_check(f, 0x6, 0x3F, 0x0E));
}

static void test_reported_luns_changed_clears_on_every_lun(void **state)
{
	struct fixture *f = *state;
	scsi_lun_map_free(add_lu(f, 2));
	assert_false(fixture_prepare(f, 1, tur));
	assert_true(fixture_prepare(f, 0, tur));
	assert_true(fixture_prepare(f, 2, tur));
}

static void test_removing_lu_establishes_reported_luns_changed(void **state)
{
	struct fixture *f = *state;
	fixture_remove_lu(f, 1);
	assert_false(fixture_prepare(f, 0, tur));
	assert_true(fixture_check(f, 0x6, 0x3F, 0x0E));
}

static void test_readded_lun_drops_attentions_of_its_predecessor(void **state)
{
	struct fixture *f = *state;
	f->nexus.ua[1] = SCSI_UA_MODE_CHANGED;
	fixture_remove_lu(f, 1);
	scsi_lun_map_free(add_lu(f, 1));
	assert_int_equal(f->nexus.ua[1], SCSI_UA_LUNS_CHANGED);
}

static void test_adding_taken_lun_is_refused_and_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct scsi_lu_config cfg = { .lun = 1, .bs = &f->store.bs, .close_bs = fake_store_close };
	struct scsi_lu *lu = scsi_lu_create(&cfg, f->target.name);
	struct scsi_lun_map *retired = NULL;
	assert_int_equal(scsi_target_add_lu(&f->target, lu, &retired), -EEXIST);
	assert_null(retired);
	assert_int_equal(f->nexus.ua[0], 0);
	scsi_lu_put(lu);
}

static void test_removing_absent_lun_is_refused(void **state)
{
	struct fixture *f = *state;
	struct scsi_lun_map *retired = NULL;
	assert_int_equal(scsi_target_remove_lu(&f->target, 7, &retired), -ENOENT);
	assert_int_equal(scsi_target_remove_lu(&f->target, SCSI_MAX_LUNS, &retired), -ENOENT);
	assert_null(retired);
}

static void test_new_nexus_sees_added_lu_powered_on(void **state)
{
	struct fixture *f = *state;
	scsi_lun_map_free(add_lu(f, 5));
	struct scsi_nexus n;
	scsi_nexus_init(&n, &f->target, "iqn.2024-01.org.test:other,i,0x2", &f->loop, NULL);
	assert_int_equal(n.ua[5], SCSI_UA_POWER_ON);
	assert_int_equal(n.ua[3], 0);
	scsi_nexus_fini(&n);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_removed_lun_is_not_supported),
		T(test_removed_lun_leaves_report_luns),
		T(test_task_holding_removed_lu_completes_good),
		T(test_store_closes_when_last_task_releases_removed_lu),
		T(test_adding_lu_establishes_reported_luns_changed),
		T(test_reported_luns_changed_clears_on_every_lun),
		T(test_removing_lu_establishes_reported_luns_changed),
		T(test_readded_lun_drops_attentions_of_its_predecessor),
		T(test_adding_taken_lun_is_refused_and_changes_nothing),
		T(test_removing_absent_lun_is_refused),
		T(test_new_nexus_sees_added_lu_powered_on),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
