/* The transport's daemon-wide counters: refused logins by their status,
 * and sessions and connections now as opened minus closed over shards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/pdu.h"
#include "iscsi/transport_stats.h"

static void login_failures_count_by_status(void **state)
{
	(void)state;
	struct iscsi_stats_totals before, after;
	iscsi_stats_read(&before);
	iscsi_stats_login_failed(ISCSI_LOGIN_AUTH_FAILED);
	iscsi_stats_login_failed(ISCSI_LOGIN_NOT_AUTHORIZED);
	iscsi_stats_login_failed(ISCSI_LOGIN_NOT_AUTHORIZED);
	iscsi_stats_login_failed(ISCSI_LOGIN_TARGET_NOT_FOUND);
	iscsi_stats_login_failed(ISCSI_LOGIN_INITIATOR_ERROR);
	iscsi_stats_login_failed(ISCSI_LOGIN_OUT_OF_RESOURCES);
	iscsi_stats_login_done(true);
	iscsi_stats_auth_failed();
	iscsi_stats_reject_sent();
	iscsi_stats_dropped(ISCSI_STATS_DROP_SEND_STALL);
	iscsi_stats_read(&after);
	assert_int_equal(after.login_failures[ISCSI_STATS_FAIL_AUTHENTICATION] -
			 before.login_failures[ISCSI_STATS_FAIL_AUTHENTICATION], 1);
	assert_int_equal(after.login_failures[ISCSI_STATS_FAIL_AUTHORIZATION] -
			 before.login_failures[ISCSI_STATS_FAIL_AUTHORIZATION], 2);
	assert_int_equal(after.login_failures[ISCSI_STATS_FAIL_NOT_FOUND] -
			 before.login_failures[ISCSI_STATS_FAIL_NOT_FOUND], 1);
	assert_int_equal(after.login_failures[ISCSI_STATS_FAIL_OTHER] -
			 before.login_failures[ISCSI_STATS_FAIL_OTHER], 2);
	assert_int_equal(after.logins[ISCSI_STATS_DISCOVERY] - before.logins[ISCSI_STATS_DISCOVERY], 1);
	assert_int_equal(after.logins[ISCSI_STATS_NORMAL], before.logins[ISCSI_STATS_NORMAL]);
	assert_int_equal(after.auth_failures - before.auth_failures, 1);
	assert_int_equal(after.rejects - before.rejects, 1);
	assert_int_equal(after.drops[ISCSI_STATS_DROP_SEND_STALL] - before.drops[ISCSI_STATS_DROP_SEND_STALL], 1);
}

static void now_is_opened_minus_closed_over_shards(void **state)
{
	(void)state;
	union iscsi_stats_shard s[3];
	memset(s, 0, sizeof(s));
	/* Opened on the control thread (shard 0), closed on data-plane ones. */
	atomic_store(&s[0].c.sessions_opened[ISCSI_STATS_NORMAL], 5);
	atomic_store(&s[1].c.sessions_closed[ISCSI_STATS_NORMAL], 2);
	atomic_store(&s[2].c.sessions_closed[ISCSI_STATS_NORMAL], 1);
	atomic_store(&s[0].c.sessions_opened[ISCSI_STATS_DISCOVERY], 1);
	atomic_store(&s[0].c.sessions_closed[ISCSI_STATS_DISCOVERY], 1);
	atomic_store(&s[0].c.conns_opened, 7);
	atomic_store(&s[2].c.conns_closed, 3);
	atomic_store(&s[1].c.logins[ISCSI_STATS_NORMAL], 4);
	struct iscsi_stats_totals t;
	iscsi_stats_merge(&t, s, 3);
	assert_int_equal(t.sessions_now[ISCSI_STATS_NORMAL], 2);
	assert_int_equal(t.sessions_now[ISCSI_STATS_DISCOVERY], 0);
	assert_int_equal(t.conns_now, 4);
	assert_int_equal(t.logins[ISCSI_STATS_NORMAL], 4);
	/* A close read before its open is nothing open, not a huge number. */
	atomic_store(&s[2].c.conns_closed, 9);
	iscsi_stats_merge(&t, s, 3);
	assert_int_equal(t.conns_now, 0);
	assert_int_equal(sizeof(s[0]) % SCSI_STATS_CACHE_LINE, 0);
}

static void init_gives_each_thread_a_shard(void **state)
{
	(void)state;
	scsi_stats_set_threads(3);
	assert_int_equal(iscsi_stats_init(), 0);
	iscsi_stats_conn_opened();
	scsi_stats_bind_thread(1);
	iscsi_stats_conn_closed();
	iscsi_stats_conn_opened();
	struct iscsi_stats_totals t;
	iscsi_stats_read(&t);
	assert_int_equal(t.conns_now, 1);
	iscsi_stats_fini();
	scsi_stats_set_threads(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(login_failures_count_by_status),
		cmocka_unit_test(now_is_opened_minus_closed_over_shards),
		cmocka_unit_test(init_gives_each_thread_a_shard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
