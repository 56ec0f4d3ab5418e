#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "control/config.h"

static uint64_t size_of(const char *text)
{
	uint64_t v = 0;
	assert_int_equal(config_parse_size(text, &v), 0);
	return v;
}

static void size_without_suffix_is_bytes(void **state)
{
	assert_int_equal(size_of("4096"), 4096);
}

static void size_suffixes_are_powers_of_1024(void **state)
{
	assert_int_equal(size_of("3K"), 3ull << 10);
	assert_int_equal(size_of("512M"), 512ull << 20);
	assert_int_equal(size_of("10G"), 10ull << 30);
	assert_int_equal(size_of("2T"), 2ull << 40);
}

static void size_suffix_may_be_lowercase(void **state)
{
	assert_int_equal(size_of("10g"), 10ull << 30);
}

static void size_rejects_zero_junk_and_overflow(void **state)
{
	const char *bad[] = { "", "0", "0G", "G", "-1G", " 1G", "1G ", "1.5G", "1GB", "1P", "20000000T",
			      "99999999999999999999" };
	uint64_t v;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(config_parse_size(bad[i], &v), -1);
}

static void iqn_with_and_without_suffix_is_valid(void **state)
{
	assert_null(config_check_iscsi_name("iqn.2026-11.org.lunar:disk1"));
	assert_null(config_check_iscsi_name("iqn.2001-04.com.example"));
	assert_null(config_check_iscsi_name("iqn.1995-10.com.example:storage:disk.2-a"));
}

static void eui_and_naa_names_are_valid(void **state)
{
	assert_null(config_check_iscsi_name("eui.02004567a425678d"));
	assert_null(config_check_iscsi_name("naa.52004567ba64678d"));
	assert_null(config_check_iscsi_name("naa.62004567ba64678d0123456789abcdef"));
}

static void invalid_iscsi_names_say_why(void **state)
{
	const struct {
		const char *name, *why;
	} cases[] = {
		{ "IQN.2026-11.org.lunar:x", "lowercase" },
		{ "iqn.2026-11.org.Lunar:x", "lowercase" },
		{ "iqn.26-11.org.lunar", "yyyy-mm" },
		{ "iqn.2026-13.org.lunar", "month" },
		{ "iqn.2026-11", "yyyy-mm" },
		{ "iqn.2026-11.:x", "reversed domain" },
		{ "iqn.2026-11.org..lunar", "empty label" },
		{ "iqn.2026-11.org.lunar:", "nothing after" },
		{ "iqn.2026-11.org.lunar:a b", "may only contain" },
		{ "eui.02004567a425678", "16 hex" },
		{ "eui.02004567a425678g", "hex digit" },
		{ "naa.0123", "16 or 32" },
		{ "disk1", "must start with" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = config_check_iscsi_name(cases[i].name);
		assert_non_null(why);
		assert_non_null(strstr(why, cases[i].why));
	}
}

static void iscsi_name_longer_than_223_bytes_is_invalid(void **state)
{
	char name[260] = "iqn.2026-11.org.lunar:";
	memset(name + strlen(name), 'a', 240 - strlen(name));
	assert_non_null(strstr(config_check_iscsi_name(name), "223"));
	name[223] = 0;
	assert_null(config_check_iscsi_name(name));
}

static void ipv4_portal_with_port_parses(void **state)
{
	struct config_portal p;
	assert_int_equal(config_parse_portal("127.0.0.1:3261", &p), 0);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&p.addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 3261);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(p.addrlen, sizeof(struct sockaddr_in));
	assert_string_equal(p.text, "127.0.0.1:3261");
}

static void ipv4_portal_without_port_uses_3260(void **state)
{
	struct config_portal p;
	assert_int_equal(config_parse_portal("0.0.0.0", &p), 0);
	assert_int_equal(ntohs(((const struct sockaddr_in *)&p.addr)->sin_port), 3260);
}

static void ipv6_portal_with_port_parses(void **state)
{
	struct config_portal p;
	assert_int_equal(config_parse_portal("[::1]:860", &p), 0);
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&p.addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 860);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_int_equal(p.addrlen, sizeof(struct sockaddr_in6));
}

static void ipv6_portal_without_port_uses_3260(void **state)
{
	struct config_portal p;
	assert_int_equal(config_parse_portal("[::]", &p), 0);
	assert_int_equal(ntohs(((const struct sockaddr_in6 *)&p.addr)->sin6_port), 3260);
}

static void hostname_portal_is_rejected_saying_so(void **state)
{
	struct config_portal p;
	assert_int_equal(config_parse_portal("localhost:3260", &p), -1);
	assert_non_null(strstr(config_parse_portal_why("localhost:3260", &p), "host name"));
}

static void bad_portals_are_rejected(void **state)
{
	const struct {
		const char *text, *why;
	} cases[] = {
		{ "", "empty" },
		{ "127.0.0.1:0", "port" },
		{ "127.0.0.1:65536", "port" },
		{ "127.0.0.1:", "no port" },
		{ "127.0.0.1:32a", "port" },
		{ "127.0.0.1:0003260", "port" },
		{ "::1", "brackets" },
		{ "[::1", "without ']'" },
		{ "[::1]3260", "after ']'" },
		{ "[127.0.0.1]:3260", "IPv6" },
		{ "[fe80::1%eth0]:3260", "zone" },
		{ "127.1:3260", "dotted-quad" },
		{ "256.0.0.1", "dotted-quad" },
	};
	struct config_portal p;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = config_parse_portal_why(cases[i].text, &p);
		assert_non_null(why);
		assert_non_null(strstr(why, cases[i].why));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(size_without_suffix_is_bytes),
		cmocka_unit_test(size_suffixes_are_powers_of_1024),
		cmocka_unit_test(size_suffix_may_be_lowercase),
		cmocka_unit_test(size_rejects_zero_junk_and_overflow),
		cmocka_unit_test(iqn_with_and_without_suffix_is_valid),
		cmocka_unit_test(eui_and_naa_names_are_valid),
		cmocka_unit_test(invalid_iscsi_names_say_why),
		cmocka_unit_test(iscsi_name_longer_than_223_bytes_is_invalid),
		cmocka_unit_test(ipv4_portal_with_port_parses),
		cmocka_unit_test(ipv4_portal_without_port_uses_3260),
		cmocka_unit_test(ipv6_portal_with_port_parses),
		cmocka_unit_test(ipv6_portal_without_port_uses_3260),
		cmocka_unit_test(hostname_portal_is_rejected_saying_so),
		cmocka_unit_test(bad_portals_are_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
