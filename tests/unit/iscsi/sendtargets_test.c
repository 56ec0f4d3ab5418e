/* Unit tests for the SendTargets response builder (RFC 7143 §12.3). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/sendtargets.h"

static const struct iscsi_st_portal portals_a[] = {
	{ "127.0.0.1:3260", 1 },
	{ "[::1]:3260", 2 },
};
static const struct iscsi_st_portal portals_b[] = {
	{ "127.0.0.1:3261", 7 },
};
static const struct iscsi_st_target targets[] = {
	{ "iqn.2024-01.org.lunar:a", portals_a, 2 },
	{ "iqn.2024-01.org.lunar:b", portals_b, 1 },
};

#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

static const char expect_a[] =
	"TargetName=iqn.2024-01.org.lunar:a\0"
	"TargetAddress=127.0.0.1:3260,1\0"
	"TargetAddress=[::1]:3260,2";
static const char expect_b[] =
	"TargetName=iqn.2024-01.org.lunar:b\0"
	"TargetAddress=127.0.0.1:3261,7";

static void test_all_in_discovery_lists_every_target(void **state)
{
	uint8_t buf[512];
	size_t len;

	(void)state;
	assert_int_equal(iscsi_sendtargets_build("All", true, NULL, targets, NTARGETS, buf,
						 sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(expect_a) + sizeof(expect_b));
	assert_memory_equal(buf, expect_a, sizeof(expect_a));
	assert_memory_equal(buf + sizeof(expect_a), expect_b, sizeof(expect_b));
}

static void test_named_target_lists_only_it(void **state)
{
	uint8_t buf[512];
	size_t len;

	(void)state;
	assert_int_equal(iscsi_sendtargets_build("iqn.2024-01.org.lunar:b", true, NULL, targets,
						 NTARGETS, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(expect_b));
	assert_memory_equal(buf, expect_b, sizeof(expect_b));
}

static void test_unknown_name_gives_empty_answer(void **state)
{
	uint8_t buf[512];
	size_t len = 99;

	(void)state;
	assert_int_equal(iscsi_sendtargets_build("iqn.2024-01.org.lunar:zz", true, NULL, targets,
						 NTARGETS, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
}

static void test_empty_value_in_normal_session_gives_session_target(void **state)
{
	uint8_t buf[512];
	size_t len;

	(void)state;
	assert_int_equal(iscsi_sendtargets_build("", false, "iqn.2024-01.org.lunar:a", targets,
						 NTARGETS, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(expect_a));
	assert_memory_equal(buf, expect_a, sizeof(expect_a));
}

static void test_empty_value_in_discovery_gives_empty_answer(void **state)
{
	uint8_t buf[512];
	size_t len;

	(void)state;
	assert_int_equal(iscsi_sendtargets_build("", true, NULL, targets, NTARGETS, buf,
						 sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
}

static void test_all_in_normal_session_gives_session_target(void **state)
{
	uint8_t buf[512];
	size_t len;

	(void)state;
	assert_int_equal(iscsi_sendtargets_build("All", false, "iqn.2024-01.org.lunar:a", targets,
						 NTARGETS, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(expect_a));
	assert_memory_equal(buf, expect_a, sizeof(expect_a));
}

static void test_other_target_in_normal_session_gives_empty_answer(void **state)
{
	uint8_t buf[512];
	size_t len = 99;

	(void)state;
	assert_int_equal(iscsi_sendtargets_build("iqn.2024-01.org.lunar:b", false,
						 "iqn.2024-01.org.lunar:a", targets, NTARGETS, buf,
						 sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
}

static void test_value_that_is_no_name_is_rejected(void **state)
{
	static const char expect[] = "SendTargets=Reject";
	static const char *const values[] = { "Alle", "A", "all", "iqn" };
	uint8_t buf[512];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_int_equal(iscsi_sendtargets_build(values[i], true, NULL, targets, NTARGETS,
							 buf, sizeof(buf), &len), 0);
		assert_int_equal(len, sizeof(expect));
		assert_memory_equal(buf, expect, sizeof(expect));
	}
}

static void test_name_over_223_bytes_is_rejected(void **state)
{
	static const char expect[] = "SendTargets=Reject";
	char name[225];
	uint8_t buf[512];
	size_t len;

	(void)state;
	memcpy(name, "iqn.", 4);
	memset(name + 4, 'a', sizeof(name) - 5);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(iscsi_sendtargets_build(name, true, NULL, targets, NTARGETS, buf,
						 sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(expect));
	name[223] = '\0';
	assert_int_equal(iscsi_sendtargets_build(name, true, NULL, targets, NTARGETS, buf,
						 sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
}

static void test_overflow_stops_at_a_whole_pair(void **state)
{
	uint8_t buf[sizeof(expect_a) - 1];
	size_t len;

	(void)state;
	assert_int_equal(iscsi_sendtargets_build("All", true, NULL, targets, NTARGETS, buf,
						 sizeof(buf), &len), -ENOSPC);
	/* TargetName and the first address fit; the second address does not. */
	assert_int_equal(len, strlen(expect_a) + 1 + strlen("TargetAddress=127.0.0.1:3260,1") + 1);
}

static void test_overlong_address_is_invalid(void **state)
{
	char addr[300];
	struct iscsi_st_portal p = { addr, 1 };
	struct iscsi_st_target t = { "iqn.2024-01.org.lunar:x", &p, 1 };
	uint8_t buf[1024];
	size_t len;

	(void)state;
	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	assert_int_equal(iscsi_sendtargets_build("All", true, NULL, &t, 1, buf, sizeof(buf), &len),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_in_discovery_lists_every_target),
		cmocka_unit_test(test_named_target_lists_only_it),
		cmocka_unit_test(test_unknown_name_gives_empty_answer),
		cmocka_unit_test(test_empty_value_in_normal_session_gives_session_target),
		cmocka_unit_test(test_empty_value_in_discovery_gives_empty_answer),
		cmocka_unit_test(test_all_in_normal_session_gives_session_target),
		cmocka_unit_test(test_other_target_in_normal_session_gives_empty_answer),
		cmocka_unit_test(test_value_that_is_no_name_is_rejected),
		cmocka_unit_test(test_name_over_223_bytes_is_rejected),
		cmocka_unit_test(test_overflow_stops_at_a_whole_pair),
		cmocka_unit_test(test_overlong_address_is_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
