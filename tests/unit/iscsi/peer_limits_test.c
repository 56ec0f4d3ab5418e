/* The limits (iscsi/peer_limits.h): lunard's defaults, and setting one by the
 * name it is configured by, within its range. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/peer_limits.h"

static void defaults_turn_every_limit_on(void **state)
{
	struct iscsi_limits l;
	iscsi_limits_default(&l);
	for (size_t i = 0; i < ISCSI_LIMIT_NKEYS; i++) {
		unsigned v = *(unsigned *)((char *)&l + iscsi_limit_keys[i].offset);
		if (v == ISCSI_SESSION_DATA_FROM_POOL)
			continue; /* the pool's figure, known once it exists */
		if (v == 0)
			fail_msg("%s is off by default", iscsi_limit_keys[i].name);
		if (v < iscsi_limit_keys[i].min || v > iscsi_limit_keys[i].max)
			fail_msg("%s's default %u is outside its range", iscsi_limit_keys[i].name, v);
	}
	/* LIO's NOP-In cadence. */
	assert_int_equal(l.conn.nop_interval_s, 15);
	assert_int_equal(l.conn.nop_timeout_s, 15);
	assert_int_equal(l.conn.session_data_bytes, ISCSI_SESSION_DATA_FROM_POOL);
	/* One address holds fewer login slots than there are. */
	assert_true(l.login.max_logins_per_address < l.login.max_logins);
}

static void a_limit_is_set_by_its_name(void **state)
{
	struct iscsi_limits l;
	iscsi_limits_default(&l);
	assert_int_equal(iscsi_limits_set(&l, "nop_timeout_s", 3), 0);
	assert_int_equal(l.conn.nop_timeout_s, 3);
	assert_int_equal(l.conn.nop_interval_s, 15);
	assert_int_equal(iscsi_limits_set(&l, "tx_queue_bytes", 0), 0);
	assert_int_equal(l.conn.tx_queue_bytes, 0);
	assert_int_equal(iscsi_limits_set(&l, "max_logins_per_address", 2), 0);
	assert_int_equal(l.login.max_logins_per_address, 2);
	assert_int_equal(iscsi_limits_set(&l, "auth_fail_delay_ms", 0), 0);
	assert_int_equal(l.login.auth_fail_delay_ms, 0);
}

static void unknown_names_and_values_out_of_range_change_nothing(void **state)
{
	struct iscsi_limits l, before;
	iscsi_limits_default(&l);
	before = l;
	assert_int_equal(iscsi_limits_set(&l, "nop_interval", 1), -ENOENT);
	/* A login timeout of 0 would end every login at once. */
	assert_int_equal(iscsi_limits_set(&l, "login_timeout_s", 0), -ERANGE);
	assert_int_equal(iscsi_limits_set(&l, "keepalive_count", 128), -ERANGE);
	assert_memory_equal(&l, &before, sizeof(l));
	assert_null(iscsi_limit_find("limits"));
	assert_non_null(iscsi_limit_find("session_data_bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_turn_every_limit_on),
		cmocka_unit_test(a_limit_is_set_by_its_name),
		cmocka_unit_test(unknown_names_and_values_out_of_range_change_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
