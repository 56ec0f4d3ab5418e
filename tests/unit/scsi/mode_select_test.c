#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/nexus.h"
#include "scsi/task.h"
#include "scsi_fixture.h"

static int setup(void **state)
{
	*state = fixture_new(false);
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

/* The current page code as MODE SENSE(6) with DBD returns it. */
static size_t current_page(struct fixture *f, uint8_t code, uint8_t *page)
{
	uint8_t cdb[16] = { 0x1A, 0x08, code, 0, 255 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	size_t len = f->task.buf[5] + 2u;
	memcpy(page, f->task.buf + 4, len);
	return len;
}

/* MODE SELECT(6) with PF and a 4-byte header before body. */
static bool select6(struct fixture *f, uint8_t byte1, const uint8_t *body, size_t body_len)
{
	uint8_t list[255] = { 0 };
	memcpy(list + 4, body, body_len);
	uint8_t cdb[16] = { 0x15, byte1, 0, 0, (uint8_t)(4 + body_len) };
	return fixture_run(f, 0, cdb, list);
}

static bool select6_list(struct fixture *f, const uint8_t *list, uint8_t len)
{
	uint8_t cdb[16] = { 0x15, 0x10, 0, 0, len };
	return fixture_run(f, 0, cdb, list);
}

static void assert_invalid_param_field(const struct fixture *f, int byte, int bit)
{
	assert_true(fixture_check(f, 0x5, 0x26, 0x00));
	int got_bit;
	assert_int_equal(fixture_field_pointer(f, &got_bit), byte);
	assert_int_equal(got_bit, bit);
	assert_int_equal(f->task.sense[15] & 0x40, 0); /* C/D: parameter list */
}

static void assert_invalid_cdb_field(const struct fixture *f, int byte, int bit)
{
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
	int got_bit;
	assert_int_equal(fixture_field_pointer(f, &got_bit), byte);
	assert_int_equal(got_bit, bit);
}

static void test_clearing_wce_turns_write_cache_off(void **state)
{
	struct fixture *f = *state;
	uint8_t page[32];
	size_t len = current_page(f, 0x08, page);
	assert_true(page[2] & 0x04);
	page[2] &= (uint8_t)~0x04;
	assert_true(select6(f, 0x10, page, len));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_false(scsi_lu_mode_has(f->lus[0], SCSI_MODE_WCE));
	current_page(f, 0x08, page);
	assert_int_equal(page[2] & 0x04, 0);
}

static void test_change_raises_mode_parameters_changed_on_other_nexuses_only(void **state)
{
	struct fixture *f = *state;
	struct scsi_nexus other;
	scsi_nexus_init(&other, &f->target, "iqn.2024-01.org.test:other,i,0x2", &f->loop, NULL);
	assert_int_equal(scsi_ua_take(&other, 0), SENSE_POWER_ON_UA);
	uint8_t page[32];
	size_t len = current_page(f, 0x08, page);
	page[2] &= (uint8_t)~0x04;
	assert_true(select6(f, 0x10, page, len));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(scsi_ua_take(&other, 0), SENSE_MODE_PARAMS_CHANGED_UA);
	assert_int_equal(scsi_ua_take(&other, 0), SENSE_NONE);
	assert_int_equal(scsi_ua_take(&f->nexus, 0), SENSE_NONE);
	scsi_nexus_fini(&other);
}

static void test_header_only_select_raises_no_unit_attention(void **state)
{
	struct fixture *f = *state;
	struct scsi_nexus other;
	scsi_nexus_init(&other, &f->target, "iqn.2024-01.org.test:other,i,0x2", &f->loop, NULL);
	scsi_ua_take(&other, 0);
	uint8_t header[4] = { 0 };
	assert_true(select6_list(f, header, sizeof(header)));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(scsi_ua_take(&other, 0), SENSE_NONE);
	scsi_nexus_fini(&other);
}

static void test_write_cache_off_makes_every_write_fua(void **state)
{
	struct fixture *f = *state;
	uint8_t page[32];
	size_t len = current_page(f, 0x08, page);
	page[2] &= (uint8_t)~0x04;
	assert_true(select6(f, 0x10, page, len));
	uint8_t data[FIX_BLOCK] = { 0 };
	uint8_t wr6[16] = { 0x0A, 0, 0, 1, 1 };
	assert_true(fixture_run(f, 0, wr6, data));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_true(f->store.last_fua);
}

static void test_setting_d_sense_gives_descriptor_sense(void **state)
{
	struct fixture *f = *state;
	uint8_t page[32];
	size_t len = current_page(f, 0x0A, page);
	page[2] |= 0x04;
	assert_true(select6(f, 0x10, page, len));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	uint8_t bad[16] = { 0xC5 };
	assert_false(fixture_run(f, 0, bad, NULL));
	assert_int_equal(f->task.sense[0], 0x72);
}

static void test_setting_swp_refuses_writes_as_software_protected(void **state)
{
	struct fixture *f = *state;
	uint8_t page[32];
	size_t len = current_page(f, 0x0A, page);
	page[4] |= 0x08;
	assert_true(select6(f, 0x10, page, len));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);

	uint8_t wr[16] = { 0x2A, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_false(fixture_run(f, 0, wr, NULL));
	assert_true(fixture_check(f, 0x7, 0x27, 0x02));
	uint8_t rd[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_true(fixture_run(f, 0, rd, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	uint8_t sense[16] = { 0x1A, 0x08, 0x0A, 0, 255 };
	assert_true(fixture_run(f, 0, sense, NULL));
	assert_true(f->task.buf[2] & 0x80); /* WP */
}

static void test_clearing_swp_allows_writes_again(void **state)
{
	struct fixture *f = *state;
	scsi_lu_mode_change(f->lus[0], SCSI_MODE_SWP, SCSI_MODE_SWP);
	uint8_t page[32];
	size_t len = current_page(f, 0x0A, page);
	page[4] &= (uint8_t)~0x08;
	assert_true(select6(f, 0x10, page, len));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	uint8_t data[FIX_BLOCK] = { 0 };
	uint8_t wr[16] = { 0x2A, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_true(fixture_run(f, 0, wr, data));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

static void test_changing_a_fixed_bit_points_at_it(void **state)
{
	struct fixture *f = *state;
	uint8_t page[32];
	size_t len = current_page(f, 0x0A, page);
	page[4] |= 0x08 | 0x40; /* SWP may change, RAC may not */
	assert_true(select6(f, 0x10, page, len));
	assert_invalid_param_field(f, 4 + 4, 6);
	assert_false(scsi_lu_mode_has(f->lus[0], SCSI_MODE_SWP));
}

static void test_error_in_a_later_page_changes_nothing(void **state)
{
	struct fixture *f = *state;
	uint8_t body[64];
	size_t len = current_page(f, 0x08, body);
	body[2] &= (uint8_t)~0x04;
	size_t len2 = current_page(f, 0x01, body + len);
	body[len + 3] = 0x05; /* READ RETRY COUNT is not changeable */
	assert_true(select6(f, 0x10, body, len + len2));
	assert_invalid_param_field(f, (int)(4 + len + 3), 2);
	assert_true(scsi_lu_mode_has(f->lus[0], SCSI_MODE_WCE));
}

static void test_unknown_page_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t body[8] = { 0x1C, 0x06 };
	assert_true(select6(f, 0x10, body, sizeof(body)));
	assert_invalid_param_field(f, 4, 5);
}

static void test_wrong_page_length_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t page[32];
	size_t len = current_page(f, 0x08, page);
	page[1] = 0x0A;
	assert_true(select6(f, 0x10, page, len));
	assert_invalid_param_field(f, 5, -1);
}

static void test_ps_bit_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t page[32];
	size_t len = current_page(f, 0x08, page);
	page[0] |= 0x80;
	assert_true(select6(f, 0x10, page, len));
	assert_invalid_param_field(f, 4, 7);
}

static void test_subpage_format_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t body[8] = { 0x48, 0x01, 0x00, 0x04 };
	assert_true(select6(f, 0x10, body, sizeof(body)));
	assert_invalid_param_field(f, 4, 6);
}

static void test_page_cut_short_is_parameter_list_length_error(void **state)
{
	struct fixture *f = *state;
	uint8_t page[32];
	current_page(f, 0x08, page);
	assert_true(select6(f, 0x10, page, 10));
	assert_true(fixture_check(f, 0x5, 0x1A, 0x00));
}

static void test_list_shorter_than_header_is_parameter_list_length_error(void **state)
{
	struct fixture *f = *state;
	uint8_t list[4] = { 0 };
	assert_true(select6_list(f, list, 3));
	assert_true(fixture_check(f, 0x5, 0x1A, 0x00));
}

static void test_short_data_out_is_parameter_list_length_error(void **state)
{
	struct fixture *f = *state;
	uint8_t list[24] = { 0 };
	current_page(f, 0x0A, list + 4);
	uint8_t cdb[16] = { 0x15, 0x10, 0, 0, 16 };
	assert_true(fixture_run_partial(f, 0, cdb, list, 10));
	assert_true(fixture_check(f, 0x5, 0x1A, 0x00));
}

static void test_header_only_is_good(void **state)
{
	struct fixture *f = *state;
	uint8_t list[4] = { 0 };
	assert_true(select6_list(f, list, 4));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

static void test_zero_parameter_list_length_is_good(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x15, 0x10, 0, 0, 0 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.dir, SCSI_DIR_NONE);
}

static void test_medium_type_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t list[4] = { 0, 0x01 };
	assert_true(select6_list(f, list, 4));
	assert_invalid_param_field(f, 1, -1);
}

static void test_matching_block_descriptor_is_accepted(void **state)
{
	struct fixture *f = *state;
	uint8_t list[12] = { 0, 0, 0, 8, 0, 0, FIX_NBLOCKS >> 8, FIX_NBLOCKS & 0xFF,
			     0, 0, FIX_BLOCK >> 8, FIX_BLOCK & 0xFF };
	assert_true(select6_list(f, list, 12));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	list[6] = list[7] = 0; /* 0 blocks: no change */
	assert_true(select6_list(f, list, 12));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
}

static void test_block_descriptor_other_block_size_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t list[12] = { 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x10, 0x00 };
	assert_true(select6_list(f, list, 12));
	assert_invalid_param_field(f, 4 + 5, -1);
}

static void test_block_descriptor_other_block_count_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t list[12] = { 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, FIX_BLOCK >> 8, 0 };
	assert_true(select6_list(f, list, 12));
	assert_invalid_param_field(f, 4, -1);
}

static void test_odd_block_descriptor_length_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t list[12] = { 0, 0, 0, 4 };
	assert_true(select6_list(f, list, 12));
	assert_invalid_param_field(f, 3, -1);
}

static void test_block_descriptor_past_list_is_parameter_list_length_error(void **state)
{
	struct fixture *f = *state;
	uint8_t list[8] = { 0, 0, 0, 8 };
	assert_true(select6_list(f, list, 8));
	assert_true(fixture_check(f, 0x5, 0x1A, 0x00));
}

static void test_mode_select10_long_lba_descriptor_and_page(void **state)
{
	struct fixture *f = *state;
	uint8_t list[64] = { 0 };
	list[4] = 0x01; /* LONGLBA */
	list[7] = 16;
	list[8 + 6] = FIX_NBLOCKS >> 8;
	list[8 + 7] = FIX_NBLOCKS & 0xFF;
	list[8 + 14] = FIX_BLOCK >> 8;
	size_t len = current_page(f, 0x08, list + 24);
	list[24 + 2] &= (uint8_t)~0x04;
	uint8_t cdb[16] = { 0x55, 0x10, 0, 0, 0, 0, 0, 0, (uint8_t)(24 + len) };
	assert_true(fixture_run(f, 0, cdb, list));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_false(scsi_lu_mode_has(f->lus[0], SCSI_MODE_WCE));
}

static void test_mode_select10_reserved_header_bit_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t list[8] = { 0, 0, 0, 0, 0x02 };
	uint8_t cdb[16] = { 0x55, 0x10, 0, 0, 0, 0, 0, 0, 8 };
	assert_true(fixture_run(f, 0, cdb, list));
	assert_invalid_param_field(f, 4, 1);
}

static void test_pf_zero_is_invalid_cdb_field(void **state)
{
	struct fixture *f = *state;
	uint8_t page[32];
	size_t len = current_page(f, 0x08, page);
	assert_true(select6(f, 0x00, page, len));
	assert_invalid_cdb_field(f, 1, 4);
}

static void test_sp_is_invalid_cdb_field(void **state)
{
	struct fixture *f = *state;
	uint8_t page[32];
	size_t len = current_page(f, 0x08, page);
	assert_false(select6(f, 0x11, page, len));
	assert_invalid_cdb_field(f, 1, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_clearing_wce_turns_write_cache_off),
		T(test_change_raises_mode_parameters_changed_on_other_nexuses_only),
		T(test_header_only_select_raises_no_unit_attention),
		T(test_write_cache_off_makes_every_write_fua),
		T(test_setting_d_sense_gives_descriptor_sense),
		T(test_setting_swp_refuses_writes_as_software_protected),
		T(test_clearing_swp_allows_writes_again),
		T(test_changing_a_fixed_bit_points_at_it),
		T(test_error_in_a_later_page_changes_nothing),
		T(test_unknown_page_is_invalid),
		T(test_wrong_page_length_is_invalid),
		T(test_ps_bit_is_invalid),
		T(test_subpage_format_is_invalid),
		T(test_page_cut_short_is_parameter_list_length_error),
		T(test_list_shorter_than_header_is_parameter_list_length_error),
		T(test_short_data_out_is_parameter_list_length_error),
		T(test_header_only_is_good),
		T(test_zero_parameter_list_length_is_good),
		T(test_medium_type_is_invalid),
		T(test_matching_block_descriptor_is_accepted),
		T(test_block_descriptor_other_block_size_is_invalid),
		T(test_block_descriptor_other_block_count_is_invalid),
		T(test_odd_block_descriptor_length_is_invalid),
		T(test_block_descriptor_past_list_is_parameter_list_length_error),
		T(test_mode_select10_long_lba_descriptor_and_page),
		T(test_mode_select10_reserved_header_bit_is_invalid),
		T(test_pf_zero_is_invalid_cdb_field),
		T(test_sp_is_invalid_cdb_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
