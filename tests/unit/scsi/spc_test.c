#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

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

static const uint8_t *run_ok(struct fixture *f, uint16_t lun, const uint8_t *cdb)
{
	assert_true(fixture_run(f, lun, cdb, NULL));
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	return f->task.buf;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Runs INQUIRY EVPD for page with a generous allocation length. */
static const uint8_t *vpd(struct fixture *f, uint8_t page)
{
	uint8_t cdb[16] = { 0x12, 0x01, page, 0x04, 0x00 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(p[0], 0x00);
	assert_int_equal(p[1], page);
	assert_int_equal(f->task.data_len, 4u + be16(p + 2));
	return p;
}

static void test_inquiry_standard_data(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x12, 0, 0, 0, 0xFF };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(p[0], 0x00);
	assert_int_equal(p[1] & 0x80, 0);
	assert_int_equal(p[2], 0x06);
	assert_int_equal(p[3] & 0x0F, 2);
	assert_true(p[3] & 0x10);
	assert_true(p[7] & 0x02);
	assert_int_equal(f->task.data_len, p[4] + 5u);
	assert_true(f->task.data_len >= 36);
	assert_memory_equal(p + 8, "LUNAR   ", 8);
	assert_memory_equal(p + 16, "lunar disk      ", 16);
	assert_int_equal(be16(p + 62), 0x0460);
}

static void test_inquiry_reports_implicit_alua(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x12, 0, 0, 0, 0xFF };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal((p[5] >> 4) & 3, 1);
}

static void test_inquiry_honours_allocation_length(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x12, 0, 0, 0, 5 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(f->task.data_len, 5);
	assert_true(p[4] > 31);
}

static void test_inquiry_absent_lun_has_qualifier_3(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x12, 0, 0, 0, 36 };
	const uint8_t *p = run_ok(f, 7, cdb);
	assert_int_equal(p[0], 0x7F);
}

static void test_inquiry_page_code_without_evpd_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x12, 0, 0x80, 0, 36 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 2);
}

static void test_inquiry_unknown_vpd_page_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x12, 0x01, 0x99, 0, 255 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
}

static void test_vpd_supported_pages_lists_every_page(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p = vpd(f, 0x00);
	static const uint8_t want[] = { 0x00, 0x80, 0x83, 0x86, 0x8F, 0xB0, 0xB1, 0xB2 };
	assert_int_equal(be16(p + 2), sizeof(want));
	assert_memory_equal(p + 4, want, sizeof(want));
}

static void test_vpd_unit_serial_is_16_hex_digits(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p = vpd(f, 0x80);
	assert_int_equal(be16(p + 2), 16);
	for (int i = 0; i < 16; i++)
		assert_non_null(strchr("0123456789abcdef", p[4 + i]));
	assert_memory_equal(p + 4, f->lus[0]->serial, 16);
}

static void test_serial_is_stable_and_differs_per_lun(void **state)
{
	struct fixture *f = *state;
	struct scsi_lu_config c0 = { .lun = 0, .bs = &f->store.bs, .close_bs = fake_store_close };
	struct scsi_lu_config c1 = { .lun = 1, .bs = &f->store.bs, .close_bs = fake_store_close };
	struct scsi_lu *a = scsi_lu_create(&c0, FIX_TARGET);
	struct scsi_lu *b = scsi_lu_create(&c1, FIX_TARGET);
	assert_string_equal(a->serial, f->lus[0]->serial);
	assert_memory_equal(a->naa, f->lus[0]->naa, 16);
	assert_string_not_equal(a->serial, b->serial);
	assert_memory_not_equal(a->naa, b->naa, 16);
	scsi_lu_put(a);
	scsi_lu_put(b);
}

static void test_configured_serial_with_space_is_refused(void **state)
{
	struct fixture *f = *state;
	struct scsi_lu_config c = { .lun = 1, .bs = &f->store.bs, .serial = "a b" };
	assert_null(scsi_lu_create(&c, FIX_TARGET));
}

/* Walks the designation descriptors of page 83h. */
static const uint8_t *find_designator(const uint8_t *p, unsigned assoc, unsigned type)
{
	size_t end = 4u + be16(p + 2);
	for (size_t off = 4; off + 4 <= end; off += 4u + p[off + 3]) {
		const uint8_t *d = p + off;
		if (((d[1] >> 4) & 3) == assoc && (d[1] & 0xF) == type)
			return d;
	}
	return NULL;
}

static void test_vpd_device_id_naa6(void **state)
{
	struct fixture *f = *state;
	const uint8_t *d = find_designator(vpd(f, 0x83), 0, 3);
	assert_non_null(d);
	assert_int_equal(d[0] & 0xF, 1);
	assert_int_equal(d[3], 16);
	assert_int_equal(d[4] >> 4, 6);
	assert_memory_equal(d + 4, f->lus[0]->naa, 16);
}

static void test_vpd_device_id_t10_vendor(void **state)
{
	struct fixture *f = *state;
	const uint8_t *d = find_designator(vpd(f, 0x83), 0, 1);
	assert_non_null(d);
	assert_int_equal(d[0] & 0xF, 2);
	assert_int_equal(d[3], 8 + strlen(f->lus[0]->serial));
	assert_memory_equal(d + 4, "LUNAR   ", 8);
}

/* The port the command came through (the nexus's), in the group of the
 * same number: each portal group is a target port and a group of its own. */
static void test_vpd_device_id_relative_port_and_group(void **state)
{
	struct fixture *f = *state;
	f->nexus.rel_port = 0x0102;
	const uint8_t *p = vpd(f, 0x83);
	const uint8_t *rp = find_designator(p, 1, 4);
	const uint8_t *tpg = find_designator(p, 1, 5);
	assert_non_null(rp);
	assert_non_null(tpg);
	assert_int_equal(rp[0] >> 4, 5);
	assert_true(rp[1] & 0x80);
	assert_int_equal(be16(rp + 6), 0x0102);
	assert_int_equal(be16(tpg + 6), 0x0102);
}

static void test_vpd_device_id_scsi_name_string(void **state)
{
	struct fixture *f = *state;
	const uint8_t *d = find_designator(vpd(f, 0x83), 2, 8);
	assert_non_null(d);
	assert_int_equal(d[0] & 0xF, 3);
	assert_int_equal(d[3] % 4, 0);
	assert_true(d[3] > strlen(FIX_TARGET));
	assert_memory_equal(d + 4, FIX_TARGET, strlen(FIX_TARGET) + 1);
}

/* Finds the designator of assoc and type whose value starts with prefix. */
static const uint8_t *find_name(const uint8_t *p, unsigned assoc, const char *prefix)
{
	size_t end = 4u + be16(p + 2);
	for (size_t off = 4; off + 4 <= end; off += 4u + p[off + 3]) {
		const uint8_t *d = p + off;
		if (((d[1] >> 4) & 3) == assoc && (d[1] & 0xF) == 8 &&
		    memcmp(d + 4, prefix, strlen(prefix)) == 0)
			return d;
	}
	return NULL;
}

static void test_vpd_device_id_target_port_name(void **state)
{
	struct fixture *f = *state;
	f->nexus.rel_port = 0x2a;
	const char *want = FIX_TARGET ",t,0x002a";
	const uint8_t *d = find_name(vpd(f, 0x83), 1, FIX_TARGET);
	assert_non_null(d);
	assert_int_equal(d[0], 0x50 | 3);
	assert_true(d[1] & 0x80);
	assert_int_equal(d[3] % 4, 0);
	assert_memory_equal(d + 4, want, strlen(want) + 1);
}

static void test_vpd_device_id_keeps_lu_designators(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p = vpd(f, 0x83);
	assert_non_null(find_designator(p, 0, 3));
	assert_non_null(find_designator(p, 0, 1));
	assert_non_null(find_name(p, 2, FIX_TARGET));
}

static void test_vpd_extended_inquiry(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p = vpd(f, 0x86);
	assert_int_equal(be16(p + 2), 0x3C);
	assert_int_equal(p[4], 0);
	assert_int_equal(p[5], 0x07); /* HEADSUP, ORDSUP, SIMPSUP */
	assert_int_equal(p[6], 0x01); /* V_SUP; WU_SUP, CRD_SUP, NV_SUP 0 */
	assert_int_equal(p[7], 0x01); /* LUICLR */
}

static void test_vpd_block_limits(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p = vpd(f, 0xB0);
	assert_int_equal(be16(p + 2), 0x3C);
	assert_int_equal(be16(p + 6), 4096 / FIX_BLOCK);
	assert_int_equal(be32(p + 8), SCSI_MAX_XFER_BYTES / FIX_BLOCK);
	assert_int_equal(be32(p + 20), 0);
	assert_int_equal(be32(p + 24), 0);
}

static void test_vpd_block_characteristics(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p = vpd(f, 0xB1);
	assert_int_equal(be16(p + 2), 0x3C);
	assert_int_equal(be16(p + 4), 1);
	assert_int_equal(p[7] & 0xF, 0);
}

static void test_vpd_lb_provisioning_not_thin(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p = vpd(f, 0xB2);
	assert_int_equal(be16(p + 2), 4);
	assert_int_equal(p[5] & 0xE0, 0);
}

static void test_report_luns_lists_served_luns(void **state)
{
	struct fixture *f = *state;
	fixture_add_lu(f, 3);
	uint8_t cdb[16] = { 0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(be32(p), 16);
	assert_int_equal(f->task.data_len, 24);
	assert_memory_equal(p + 8, "\0\0\0\0\0\0\0\0", 8);
	assert_memory_equal(p + 16, "\0\3\0\0\0\0\0\0", 8);
}

static void test_report_luns_well_known_is_empty(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0xA0, 0, 0x01, 0, 0, 0, 0, 0, 1, 0 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(be32(p), 0);
	assert_int_equal(f->task.data_len, 8);
}

static void test_report_luns_truncates_but_keeps_list_length(void **state)
{
	struct fixture *f = *state;
	fixture_add_lu(f, 1);
	fixture_add_lu(f, 2);
	uint8_t cdb[16] = { 0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 16 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(f->task.data_len, 16);
	assert_int_equal(be32(p), 24);
}

static void test_report_luns_short_allocation_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 15 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 6);
}

static void test_report_luns_bad_select_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0xA0, 0, 0x05, 0, 0, 0, 0, 0, 1, 0 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 2);
}

static void test_request_sense_returns_and_clears_ua(void **state)
{
	struct fixture *f = *state;
	f->nexus.ua[0] = SCSI_UA_POWER_ON;
	uint8_t cdb[16] = { 0x03, 0, 0, 0, 252 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(f->task.data_len, 18);
	assert_int_equal(p[0], 0x70);
	assert_int_equal(p[2], 0x06);
	assert_int_equal(p[12], 0x29);
	assert_int_equal(f->nexus.ua[0], 0);
	p = run_ok(f, 0, cdb);
	assert_int_equal(p[2], 0x00);
	assert_int_equal(p[12], 0x00);
}

static void test_request_sense_desc_bit_gives_descriptor_format(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x03, 0x01, 0, 0, 252 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(p[0], 0x72);
	assert_int_equal(f->task.data_len, 8);
}

static void test_request_sense_absent_lun_reports_not_supported(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x03, 0, 0, 0, 252 };
	const uint8_t *p = run_ok(f, 5, cdb);
	assert_int_equal(p[2], 0x05);
	assert_int_equal(p[12], 0x25);
}

/* MODE SENSE(6) header, block descriptor and pages. */
static void test_mode_sense6_all_pages(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x1A, 0, 0x3F, 0, 255 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(f->task.data_len, p[0] + 1u);
	assert_int_equal(p[2], 0x10);
	assert_int_equal(p[3], 8);
	assert_int_equal(be32(p + 4), FIX_NBLOCKS);
	assert_int_equal(be32(p + 8) & 0xFFFFFF, FIX_BLOCK);
	const uint8_t *pg = p + 12;
	assert_int_equal(pg[0], 0x01);
	assert_int_equal(pg[1], 0x0A);
	pg += 2 + pg[1];
	assert_int_equal(pg[0], 0x08);
	assert_int_equal(pg[1], 0x12);
	assert_true(pg[2] & 0x04);
	pg += 2 + pg[1];
	assert_int_equal(pg[0], 0x0A);
	assert_int_equal(pg[1], 0x0A);
	pg += 2 + pg[1];
	assert_ptr_equal(pg, p + f->task.data_len);
}

static void test_mode_sense_caching_reflects_write_cache(void **state)
{
	struct fixture *f = *state;
	scsi_lu_mode_change(f->lus[0], SCSI_MODE_WCE, 0);
	uint8_t cdb[16] = { 0x1A, 0x08, 0x08, 0, 255 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(p[3], 0);
	assert_int_equal(p[4], 0x08);
	assert_int_equal(p[6] & 0x04, 0);
	assert_int_equal(f->task.data_len, 4 + 20);
}

static void test_mode_sense_control_reflects_d_sense(void **state)
{
	struct fixture *f = *state;
	scsi_lu_mode_change(f->lus[0], SCSI_MODE_D_SENSE, SCSI_MODE_D_SENSE);
	uint8_t cdb[16] = { 0x1A, 0x08, 0x0A, 0, 255 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(p[4], 0x0A);
	assert_true(p[6] & 0x04);
}

/* Exactly WCE, D_SENSE and SWP are changeable, so exactly those bits are
 * set in the changeable values of all pages. */
static void test_mode_sense_changeable_is_wce_d_sense_swp(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x1A, 0x08, 0x40 | 0x3F, 0, 255 };
	const uint8_t *p = run_ok(f, 0, cdb);
	uint8_t want[256] = { 0 };
	size_t off = 4;
	want[off] = 0x01, want[off + 1] = 0x0A;
	off += 12;
	want[off] = 0x08, want[off + 1] = 0x12, want[off + 2] = 0x04;
	off += 20;
	want[off] = 0x0A, want[off + 1] = 0x0A, want[off + 2] = 0x04, want[off + 4] = 0x08;
	off += 12;
	assert_int_equal(f->task.data_len, off);
	assert_memory_equal(p + 4, want + 4, off - 4);
}

static void test_mode_sense_saved_is_unsupported(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x1A, 0, 0xC0 | 0x3F, 0, 255 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x39, 0x00));
}

static void test_mode_sense_unknown_page_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x1A, 0, 0x1C, 0, 255 };
	assert_true(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 2);
}

static void test_mode_sense_readonly_sets_wp(void **state)
{
	struct fixture *f = *state;
	f->lus[0]->readonly = true;
	uint8_t cdb[16] = { 0x1A, 0x08, 0x3F, 0, 255 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_true(p[2] & 0x80);
}

static void test_mode_sense10_long_lba_descriptor(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x5A, 0x10, 0x08, 0, 0, 0, 0, 0x01, 0x00 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(be16(p) + 2u, f->task.data_len);
	assert_int_equal(p[4] & 1, 1);
	assert_int_equal(be16(p + 6), 16);
	assert_int_equal(be32(p + 8 + 4), FIX_NBLOCKS);
	assert_int_equal(be32(p + 8 + 12), FIX_BLOCK);
	assert_int_equal(p[24], 0x08);
}

static void test_mode_sense_honours_allocation_length(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x1A, 0, 0x3F, 0, 4 };
	const uint8_t *p = run_ok(f, 0, cdb);
	assert_int_equal(f->task.data_len, 4);
	assert_true(p[0] > 3);
}

static void test_test_unit_ready_good(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x00 };
	run_ok(f, 0, cdb);
	assert_int_equal(f->task.sense_len, 0);
}

static void test_start_stop_unit_accepted(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x1B, 0x01, 0, 0, 0x02 };
	run_ok(f, 0, cdb);
}

static void test_start_stop_power_condition_is_invalid(void **state)
{
	struct fixture *f = *state;
	uint8_t cdb[16] = { 0x1B, 0, 0, 0, 0x20 };
	assert_false(fixture_run(f, 0, cdb, NULL));
	assert_true(fixture_check(f, 0x5, 0x24, 0x00));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_inquiry_standard_data),
		T(test_inquiry_reports_implicit_alua),
		T(test_inquiry_honours_allocation_length),
		T(test_inquiry_absent_lun_has_qualifier_3),
		T(test_inquiry_page_code_without_evpd_is_invalid),
		T(test_inquiry_unknown_vpd_page_is_invalid),
		T(test_vpd_supported_pages_lists_every_page),
		T(test_vpd_unit_serial_is_16_hex_digits),
		T(test_serial_is_stable_and_differs_per_lun),
		T(test_configured_serial_with_space_is_refused),
		T(test_vpd_device_id_naa6),
		T(test_vpd_device_id_t10_vendor),
		T(test_vpd_device_id_relative_port_and_group),
		T(test_vpd_device_id_scsi_name_string),
		T(test_vpd_device_id_target_port_name),
		T(test_vpd_device_id_keeps_lu_designators),
		T(test_vpd_extended_inquiry),
		T(test_vpd_block_limits),
		T(test_vpd_block_characteristics),
		T(test_vpd_lb_provisioning_not_thin),
		T(test_report_luns_lists_served_luns),
		T(test_report_luns_well_known_is_empty),
		T(test_report_luns_truncates_but_keeps_list_length),
		T(test_report_luns_short_allocation_is_invalid),
		T(test_report_luns_bad_select_is_invalid),
		T(test_request_sense_returns_and_clears_ua),
		T(test_request_sense_desc_bit_gives_descriptor_format),
		T(test_request_sense_absent_lun_reports_not_supported),
		T(test_mode_sense6_all_pages),
		T(test_mode_sense_caching_reflects_write_cache),
		T(test_mode_sense_control_reflects_d_sense),
		T(test_mode_sense_changeable_is_wce_d_sense_swp),
		T(test_mode_sense_saved_is_unsupported),
		T(test_mode_sense_unknown_page_is_invalid),
		T(test_mode_sense_readonly_sets_wp),
		T(test_mode_sense10_long_lba_descriptor),
		T(test_mode_sense_honours_allocation_length),
		T(test_test_unit_ready_good),
		T(test_start_stop_unit_accepted),
		T(test_start_stop_power_condition_is_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
