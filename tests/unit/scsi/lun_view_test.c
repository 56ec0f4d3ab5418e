/* LUN masking and mapping: what an I_T nexus sees through its view. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/nexus.h"
#include "scsi_fixture.h"

static const uint8_t tur[16] = { 0x00 };
static const uint8_t report_luns[16] = { 0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };

/* Target LUs 0, 1 and 2; the nexus sees target LUN 2 as its LUN 0 and
 * target LUN 0 as its LUN 5, and nothing else. */
static int setup(void **state)
{
	struct fixture *f = fixture_new(false);
	fixture_add_lu(f, 1);
	fixture_add_lu(f, 2);
	uint16_t map[SCSI_MAX_LUNS];
	for (unsigned i = 0; i < SCSI_MAX_LUNS; i++)
		map[i] = SCSI_LUN_NONE;
	map[0] = 2;
	map[5] = 0;
	struct scsi_lun_view *v = scsi_lun_view_create(map);
	assert_non_null(v);
	scsi_nexus_set_view(&f->nexus, v);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static void test_mapped_lun_reaches_its_target_lu(void **state)
{
	struct fixture *f = *state;
	assert_true(fixture_prepare(f, 0, tur));
	assert_int_equal(f->task.lu->lun, 2);
	scsi_task_release(&f->task);
	assert_true(fixture_prepare(f, 5, tur));
	assert_int_equal(f->task.lu->lun, 0);
}

static void test_masked_lun_is_not_supported(void **state)
{
	struct fixture *f = *state;
	/* LUN 1 exists on the target, LUN 2 only under another number. */
	assert_false(fixture_run(f, 1, tur, NULL));
	assert_true(fixture_check(f, 0x05, 0x25, 0x00));
	assert_false(fixture_run(f, 2, tur, NULL));
	assert_true(fixture_check(f, 0x05, 0x25, 0x00));
}

static void test_report_luns_lists_the_view_in_initiator_numbers(void **state)
{
	struct fixture *f = *state;
	assert_true(fixture_run(f, 0, report_luns, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	const uint8_t *p = f->task.buf;
	assert_int_equal(p[3], 16);
	assert_memory_equal(p + 8, "\0\0\0\0\0\0\0\0", 8);
	assert_memory_equal(p + 16, "\0\5\0\0\0\0\0\0", 8);
}

static void test_report_luns_skips_a_mapped_lun_the_target_lacks(void **state)
{
	struct fixture *f = *state;
	fixture_remove_lu(f, 0);
	memset(f->nexus.ua, 0, sizeof(f->nexus.ua));
	assert_true(fixture_run(f, 0, report_luns, NULL));
	assert_int_equal(f->task.buf[3], 8);
	assert_false(fixture_run(f, 5, tur, NULL));
	assert_true(fixture_check(f, 0x05, 0x25, 0x00));
}

static void test_unit_attention_of_the_lu_shows_under_its_mapped_lun(void **state)
{
	struct fixture *f = *state;
	scsi_ua_establish(&f->nexus, 2, SCSI_UA_MODE_CHANGED);
	assert_false(fixture_run(f, 0, tur, NULL));
	assert_true(fixture_check(f, 0x06, 0x2A, 0x01));
	assert_true(fixture_run(f, 0, tur, NULL));
}

static void test_reset_of_a_masked_lun_is_refused(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(scsi_lu_reset(&f->nexus, 1, NULL, NULL), -ENOENT);
}

static void test_view_refuses_one_lu_under_two_numbers(void **state)
{
	(void)state;
	uint16_t map[SCSI_MAX_LUNS];
	for (unsigned i = 0; i < SCSI_MAX_LUNS; i++)
		map[i] = SCSI_LUN_NONE;
	map[0] = 3;
	map[1] = 3;
	assert_null(scsi_lun_view_create(map));
	map[1] = SCSI_MAX_LUNS;
	assert_null(scsi_lun_view_create(map));
}

static void test_view_is_freed_with_the_last_reference(void **state)
{
	(void)state;
	uint16_t map[SCSI_MAX_LUNS];
	for (unsigned i = 0; i < SCSI_MAX_LUNS; i++)
		map[i] = (uint16_t)i;
	struct scsi_lun_view *v = scsi_lun_view_create(map);
	assert_non_null(v);
	assert_ptr_equal(scsi_lun_view_get(v), v);
	scsi_lun_view_put(v);
	assert_int_equal(atomic_load(&v->refs), 1);
	scsi_lun_view_put(v);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_mapped_lun_reaches_its_target_lu),
		T(test_masked_lun_is_not_supported),
		T(test_report_luns_lists_the_view_in_initiator_numbers),
		T(test_report_luns_skips_a_mapped_lun_the_target_lacks),
		T(test_unit_attention_of_the_lu_shows_under_its_mapped_lun),
		T(test_reset_of_a_masked_lun_is_refused),
		cmocka_unit_test(test_view_refuses_one_lu_under_two_numbers),
		cmocka_unit_test(test_view_is_freed_with_the_last_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
