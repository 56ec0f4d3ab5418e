/* Unit tests for the per-address limit on failed authentications. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/auth_throttle.h"

/* lunard's defaults (iscsi/peer_limits.c). */
#define AUTH_THROTTLE_FAILURES 5
#define AUTH_THROTTLE_WINDOW_MS 60000u

static struct auth_throttle t;

static int setup(void **state)
{
	(void)state;
	memset(&t, 0, sizeof(t));
	t.max_failures = AUTH_THROTTLE_FAILURES;
	t.window_ms = AUTH_THROTTLE_WINDOW_MS;
	return 0;
}

static struct sockaddr_storage v4(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	in->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	in6->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static void fail_n(const struct sockaddr_storage *a, unsigned n, uint64_t now)
{
	for (unsigned i = 0; i < n; i++)
		auth_throttle_failed(&t, SA(*a), now);
}

static void test_blocked_after_the_limit(void **state)
{
	struct sockaddr_storage a = v4("192.0.2.1");

	(void)state;
	fail_n(&a, AUTH_THROTTLE_FAILURES - 1, 1000);
	assert_false(auth_throttle_blocked(&t, SA(a), 1000));
	auth_throttle_failed(&t, SA(a), 2000);
	assert_true(auth_throttle_blocked(&t, SA(a), 2000));
}

static void test_window_counts_from_the_first_failure(void **state)
{
	struct sockaddr_storage a = v4("192.0.2.1");

	(void)state;
	fail_n(&a, AUTH_THROTTLE_FAILURES, 1000);
	assert_true(auth_throttle_blocked(&t, SA(a), 1000 + AUTH_THROTTLE_WINDOW_MS - 1));
	assert_false(auth_throttle_blocked(&t, SA(a), 1000 + AUTH_THROTTLE_WINDOW_MS));
	/* A new window starts with the next failure. */
	auth_throttle_failed(&t, SA(a), 1000 + AUTH_THROTTLE_WINDOW_MS);
	assert_false(auth_throttle_blocked(&t, SA(a), 1000 + AUTH_THROTTLE_WINDOW_MS));
}

static void test_failures_spread_out_never_block(void **state)
{
	struct sockaddr_storage a = v4("192.0.2.1");

	(void)state;
	for (uint64_t i = 0; i < 20; i++) {
		auth_throttle_failed(&t, SA(a), i * (AUTH_THROTTLE_WINDOW_MS / 2));
		auth_throttle_failed(&t, SA(a), i * (AUTH_THROTTLE_WINDOW_MS / 2) + 1);
		assert_false(auth_throttle_blocked(&t, SA(a), i * (AUTH_THROTTLE_WINDOW_MS / 2) + 1));
	}
}

static void test_addresses_are_counted_apart(void **state)
{
	struct sockaddr_storage a = v4("192.0.2.1"), b = v4("192.0.2.2");

	(void)state;
	fail_n(&a, AUTH_THROTTLE_FAILURES, 0);
	assert_true(auth_throttle_blocked(&t, SA(a), 0));
	assert_false(auth_throttle_blocked(&t, SA(b), 0));
}

static void test_ipv6_counts_by_slash_64(void **state)
{
	struct sockaddr_storage a = v6("2001:db8:1:2::1"), b = v6("2001:db8:1:2:ffff::7"),
				c = v6("2001:db8:1:3::1");

	(void)state;
	fail_n(&a, AUTH_THROTTLE_FAILURES - 1, 0);
	auth_throttle_failed(&t, SA(b), 0);
	assert_true(auth_throttle_blocked(&t, SA(a), 0));
	assert_true(auth_throttle_blocked(&t, SA(b), 0));
	assert_false(auth_throttle_blocked(&t, SA(c), 0));
}

static void test_v4_mapped_counts_as_ipv4(void **state)
{
	struct sockaddr_storage a = v4("198.51.100.9"), m = v6("::ffff:198.51.100.9");

	(void)state;
	fail_n(&m, AUTH_THROTTLE_FAILURES, 0);
	assert_true(auth_throttle_blocked(&t, SA(a), 0));
}

static void test_full_table_forgets_the_oldest(void **state)
{
	struct sockaddr_storage first = v4("10.0.0.1");

	(void)state;
	fail_n(&first, AUTH_THROTTLE_FAILURES, 0);
	for (unsigned i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
		struct sockaddr_storage a = v4("10.1.0.0");

		((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(0x0a010000u + i);
		auth_throttle_failed(&t, SA(a), 10 + i);
	}
	assert_false(auth_throttle_blocked(&t, SA(first), 1000));
}

static void test_other_families_are_not_counted(void **state)
{
	struct sockaddr_storage u;

	(void)state;
	memset(&u, 0, sizeof(u));
	u.ss_family = AF_UNIX;
	fail_n(&u, AUTH_THROTTLE_FAILURES * 2, 0);
	assert_false(auth_throttle_blocked(&t, SA(u), 0));
}

static void test_no_maximum_turns_it_off(void **state)
{
	struct sockaddr_storage a = v4("192.0.2.1");

	t.max_failures = 0;
	fail_n(&a, 100, 1000);
	assert_false(auth_throttle_blocked(&t, SA(a), 1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_blocked_after_the_limit, setup),
		cmocka_unit_test_setup(test_window_counts_from_the_first_failure, setup),
		cmocka_unit_test_setup(test_failures_spread_out_never_block, setup),
		cmocka_unit_test_setup(test_addresses_are_counted_apart, setup),
		cmocka_unit_test_setup(test_ipv6_counts_by_slash_64, setup),
		cmocka_unit_test_setup(test_v4_mapped_counts_as_ipv4, setup),
		cmocka_unit_test_setup(test_full_table_forgets_the_oldest, setup),
		cmocka_unit_test_setup(test_other_families_are_not_counted, setup),
		cmocka_unit_test_setup(test_no_maximum_turns_it_off, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
