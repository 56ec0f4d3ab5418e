/* The connection limits (struct iscsi_conn_limits): lunard's defaults and
 * setting one by the name its configuration key will have. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "iscsi/conn.h"

static void test_defaults_turn_every_limit_on(void **state)
{
	struct iscsi_conn_limits l;
	iscsi_conn_limits_default(&l);
	assert_true(l.tx_queue_bytes > 0 && l.tx_stall_s > 0);
	/* LIO's NOP-In cadence. */
	assert_int_equal(l.nop_interval_s, 15);
	assert_int_equal(l.nop_timeout_s, 15);
	assert_true(l.discovery_idle_s > 0 && l.data_out_timeout_s > 0);
	assert_true(l.keepalive_idle_s > 0 && l.keepalive_interval_s > 0 && l.keepalive_count > 0);
	assert_true(l.session_data_bytes > 0);
}

static void test_a_limit_is_set_by_its_field_name(void **state)
{
	struct iscsi_conn_limits l;
	iscsi_conn_limits_default(&l);
	assert_int_equal(iscsi_conn_limits_set(&l, "nop_timeout_s", 3), 0);
	assert_int_equal(l.nop_timeout_s, 3);
	assert_int_equal(l.nop_interval_s, 15);
	assert_int_equal(iscsi_conn_limits_set(&l, "tx_queue_bytes", 0), 0);
	assert_int_equal(l.tx_queue_bytes, 0);
	assert_int_equal(iscsi_conn_limits_set(&l, "data_out_timeout_s", 7), 0);
	assert_int_equal(l.data_out_timeout_s, 7);
}

static void test_an_unknown_limit_is_refused(void **state)
{
	struct iscsi_conn_limits l;
	iscsi_conn_limits_default(&l);
	struct iscsi_conn_limits before = l;
	assert_int_equal(iscsi_conn_limits_set(&l, "nop_interval", 1), -ENOENT);
	assert_memory_equal(&l, &before, sizeof(l));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_turn_every_limit_on),
		cmocka_unit_test(test_a_limit_is_set_by_its_field_name),
		cmocka_unit_test(test_an_unknown_limit_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
