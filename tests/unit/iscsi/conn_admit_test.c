/* Admission caps: connections in login, in all, and per source address;
 * what is released makes room again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "iscsi/conn.h"
#include "iscsi/conn_admit.h"

static struct sockaddr_in v4(const char *text, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, text, &a.sin_addr);
	return a;
}

#define SA(a) ((const struct sockaddr *)&(a))

static void one_address_is_capped_whatever_its_ports(void **state)
{
	const struct iscsi_login_limits lim = { .max_connections_per_address = 2 };
	struct sockaddr_in a1 = v4("10.0.0.1", 1000), a2 = v4("10.0.0.1", 1001);
	struct sockaddr_in a3 = v4("10.0.0.1", 1002), b = v4("10.0.0.2", 1000);
	assert_int_equal(iscsi_admit_conn(&lim, SA(a1)), ISCSI_ADMIT_OK);
	assert_int_equal(iscsi_admit_conn(&lim, SA(a2)), ISCSI_ADMIT_OK);
	assert_int_equal(iscsi_admit_conn(&lim, SA(a3)), ISCSI_ADMIT_TOO_MANY_FROM_ADDRESS);
	assert_int_equal(iscsi_admit_conn(&lim, SA(b)), ISCSI_ADMIT_OK);
	iscsi_admit_release(SA(a1));
	assert_int_equal(iscsi_admit_conn(&lim, SA(a3)), ISCSI_ADMIT_OK);
	iscsi_admit_release(SA(a2));
	iscsi_admit_release(SA(a3));
	iscsi_admit_release(SA(b));
	iscsi_admit_login_over(SA(a3));
	iscsi_admit_login_over(SA(a3));
	iscsi_admit_login_over(SA(a3));
	iscsi_admit_login_over(SA(b));
}

static void logins_are_capped_until_one_is_over(void **state)
{
	const struct iscsi_login_limits lim = { .max_logins = 1 };
	struct sockaddr_in a = v4("10.0.0.1", 1), b = v4("10.0.0.2", 1);
	assert_int_equal(iscsi_admit_conn(&lim, SA(a)), ISCSI_ADMIT_OK);
	assert_int_equal(iscsi_admit_conn(&lim, SA(b)), ISCSI_ADMIT_TOO_MANY_LOGINS);
	iscsi_admit_login_over(SA(a));
	assert_int_equal(iscsi_admit_conn(&lim, SA(b)), ISCSI_ADMIT_OK);
	iscsi_admit_login_over(SA(b));
	iscsi_admit_release(SA(a));
	iscsi_admit_release(SA(b));
}

static void connections_in_all_are_capped(void **state)
{
	const struct iscsi_login_limits lim = { .max_connections = 2 };
	struct sockaddr_in a = v4("10.0.0.1", 1), b = v4("10.0.0.2", 1), c = v4("10.0.0.3", 1);
	assert_int_equal(iscsi_admit_conn(&lim, SA(a)), ISCSI_ADMIT_OK);
	assert_int_equal(iscsi_admit_conn(&lim, SA(b)), ISCSI_ADMIT_OK);
	iscsi_admit_login_over(SA(a));
	iscsi_admit_login_over(SA(b));
	assert_int_equal(iscsi_admit_conn(&lim, SA(c)), ISCSI_ADMIT_TOO_MANY_CONNECTIONS);
	iscsi_admit_release(SA(b));
	assert_int_equal(iscsi_admit_conn(&lim, SA(c)), ISCSI_ADMIT_OK);
	iscsi_admit_login_over(SA(c));
	iscsi_admit_release(SA(a));
	iscsi_admit_release(SA(c));
}

static void v6_addresses_count_apart_from_v4(void **state)
{
	const struct iscsi_login_limits lim = { .max_connections_per_address = 1 };
	struct sockaddr_in6 six = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, "::1", &six.sin6_addr);
	struct sockaddr_in four = v4("0.0.0.0", 1);
	assert_int_equal(iscsi_admit_conn(&lim, SA(six)), ISCSI_ADMIT_OK);
	assert_int_equal(iscsi_admit_conn(&lim, SA(four)), ISCSI_ADMIT_OK);
	assert_int_equal(iscsi_admit_conn(&lim, SA(six)), ISCSI_ADMIT_TOO_MANY_FROM_ADDRESS);
	iscsi_admit_login_over(SA(six));
	iscsi_admit_login_over(SA(four));
	iscsi_admit_release(SA(six));
	iscsi_admit_release(SA(four));
}

static struct sockaddr_in6 v6(const char *text)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, text, &a.sin6_addr);
	return a;
}

/* A host holds its IPv6 /64 whole: rotating addresses in it does not
 * leave the per-address cap; an IPv4-mapped address is its IPv4 host. */
static void one_host_is_its_v6_prefix_or_its_v4_address(void **state)
{
	const struct iscsi_login_limits lim = { .max_connections_per_address = 1 };
	struct sockaddr_in6 a = v6("2001:db8:1:2::10"), b = v6("2001:db8:1:2::20");
	struct sockaddr_in6 other = v6("2001:db8:1:3::10"), mapped = v6("::ffff:192.0.2.7");
	struct sockaddr_in four = v4("192.0.2.7", 1);
	assert_int_equal(iscsi_admit_conn(&lim, SA(a)), ISCSI_ADMIT_OK);
	assert_int_equal(iscsi_admit_conn(&lim, SA(b)), ISCSI_ADMIT_TOO_MANY_FROM_ADDRESS);
	assert_int_equal(iscsi_admit_conn(&lim, SA(other)), ISCSI_ADMIT_OK);
	assert_int_equal(iscsi_admit_conn(&lim, SA(four)), ISCSI_ADMIT_OK);
	assert_int_equal(iscsi_admit_conn(&lim, SA(mapped)), ISCSI_ADMIT_TOO_MANY_FROM_ADDRESS);
	for (int i = 0; i < 3; i++)
		iscsi_admit_login_over(i == 0 ? SA(a) : i == 1 ? SA(other) : SA(four));
	iscsi_admit_release(SA(a));
	iscsi_admit_release(SA(other));
	iscsi_admit_release(SA(four));
}

static void no_caps_admit_many(void **state)
{
	const struct iscsi_login_limits lim = { 0 };
	struct sockaddr_in a = v4("10.0.0.9", 1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(iscsi_admit_conn(&lim, SA(a)), ISCSI_ADMIT_OK);
	for (int i = 0; i < 100; i++) {
		iscsi_admit_login_over(SA(a));
		iscsi_admit_release(SA(a));
	}
}

static void logins_from_one_address_are_capped_below_the_rest(void **state)
{
	const struct iscsi_login_limits lim = { .max_logins = 4, .max_logins_per_address = 2 };
	struct sockaddr_in a = v4("10.0.0.1", 1), b = v4("10.0.0.2", 1);
	assert_int_equal(iscsi_admit_conn(&lim, SA(a)), ISCSI_ADMIT_OK);
	assert_int_equal(iscsi_admit_conn(&lim, SA(a)), ISCSI_ADMIT_OK);
	assert_int_equal(iscsi_admit_conn(&lim, SA(a)), ISCSI_ADMIT_TOO_MANY_LOGINS_FROM_ADDRESS);
	/* Another address still logs in. */
	assert_int_equal(iscsi_admit_conn(&lim, SA(b)), ISCSI_ADMIT_OK);
	/* A logged-in connection makes room for a login from its address. */
	iscsi_admit_login_over(SA(a));
	assert_int_equal(iscsi_admit_conn(&lim, SA(a)), ISCSI_ADMIT_OK);
	iscsi_admit_login_over(SA(a));
	iscsi_admit_login_over(SA(a));
	iscsi_admit_login_over(SA(b));
	for (int i = 0; i < 3; i++)
		iscsi_admit_release(SA(a));
	iscsi_admit_release(SA(b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_address_is_capped_whatever_its_ports),
		cmocka_unit_test(logins_are_capped_until_one_is_over),
		cmocka_unit_test(connections_in_all_are_capped),
		cmocka_unit_test(v6_addresses_count_apart_from_v4),
		cmocka_unit_test(one_host_is_its_v6_prefix_or_its_v4_address),
		cmocka_unit_test(no_caps_admit_many),
		cmocka_unit_test(logins_from_one_address_are_capped_below_the_rest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
