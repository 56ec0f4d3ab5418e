#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/tpg.h"
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

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* REPORT TARGET PORT GROUPS with PARAMETER DATA FORMAT format. */
static const uint8_t *rtpg(struct fixture *f, uint8_t format, uint32_t alloc)
{
	uint8_t cdb[16] = { 0xA3, (uint8_t)(format << 5 | 0x0A), 0, 0, 0, 0,
			    (uint8_t)(alloc >> 24), (uint8_t)(alloc >> 16),
			    (uint8_t)(alloc >> 8), (uint8_t)alloc };
	assert_true(fixture_run(f, 0, cdb, NULL));
	return f->task.buf;
}

/* A group of one port whose relative port is the group's number. */
static void check_group(const uint8_t *d, uint16_t port)
{
	assert_int_equal(d[0], 0x80);     /* PREF, active/optimized */
	assert_int_equal(d[1], 0x01);     /* AO_SUP */
	assert_int_equal(d[2] << 8 | d[3], port);
	assert_int_equal(d[7], 1);        /* one target port */
	assert_int_equal(d[10] << 8 | d[11], port);
}

/* A target whose ports were never set has the nexus's. */
static void test_rtpg_length_only_one_group(void **state)
{
	struct fixture *f = *state;
	f->nexus.rel_port = 3;
	const uint8_t *p = rtpg(f, 0, 256);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 16);
	assert_int_equal(be32(p), 12);
	check_group(p + 4, 3);
}

/* Every portal group of the target is listed, whichever the command came
 * through. */
static void test_rtpg_lists_every_group(void **state)
{
	struct fixture *f = *state;
	const uint16_t ports[] = { 1, 2, 5 };
	scsi_target_set_ports(&f->target, ports, 3);
	f->nexus.rel_port = 2;
	const uint8_t *p = rtpg(f, 0, 256);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 4 + 3 * 12);
	assert_int_equal(be32(p), 3 * 12);
	for (unsigned i = 0; i < 3; i++)
		check_group(p + 4 + 12 * i, ports[i]);
}

static void test_rtpg_extended_header(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p = rtpg(f, 1, 256);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 20);
	assert_int_equal(be32(p), 16);
	assert_int_equal(p[4], 0x10);
	assert_int_equal(p[5], 0);        /* IMPLICIT TRANSITION TIME */
	check_group(p + 8, f->nexus.rel_port);
}

static void test_rtpg_truncates_but_keeps_length(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p = rtpg(f, 0, 4);
	assert_int_equal(f->task.status, SCSI_STATUS_GOOD);
	assert_int_equal(f->task.data_len, 4);
	assert_int_equal(be32(p), 12);
}

static void test_rtpg_unknown_format_is_invalid(void **state)
{
	struct fixture *f = *state;
	rtpg(f, 2, 256);
	assert_true(fixture_check(f, 0x05, 0x24, 0x00));
	int bit;
	assert_int_equal(fixture_field_pointer(f, &bit), 1);
	assert_int_equal(bit, 7);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_rtpg_length_only_one_group),
		T(test_rtpg_lists_every_group),
		T(test_rtpg_extended_header),
		T(test_rtpg_truncates_but_keeps_length),
		T(test_rtpg_unknown_format_is_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
