/* Unit tests for the isns group of the config file (config_isns.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "control/config.h"

static char err[512];

static int load(const char *text, struct lunar_config *cfg)
{
	err[0] = '\0';
	return config_load_string(text, "test.conf", cfg, err, sizeof(err));
}

static void load_fails(const char *text, const char *where, const char *why)
{
	struct lunar_config cfg;
	assert_int_equal(load(text, &cfg), -1);
	if (!strstr(err, where) || !strstr(err, why))
		fail_msg("error \"%s\" lacks \"%s\" or \"%s\"", err, where, why);
}

static uint16_t server_port(const struct lunar_config *cfg)
{
	return ntohs(((const struct sockaddr_in *)&cfg->isns.server.addr)->sin_port);
}

static void absent_group_leaves_isns_off(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(load("", &cfg), 0);
	assert_false(cfg.isns.enabled);
	config_free(&cfg);
}

static void server_with_port_and_refresh(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(load("isns = { server = \"127.0.0.1:3206\"; dd_refresh_s = 2; };\n", &cfg), 0);
	assert_true(cfg.isns.enabled);
	assert_int_equal(server_port(&cfg), 3206);
	assert_int_equal(cfg.isns.dd_refresh_s, 2);
	config_free(&cfg);
}

static void server_without_port_is_on_the_isns_port(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(load("isns = { server = \"10.0.0.1\"; };\n", &cfg), 0);
	assert_int_equal(server_port(&cfg), CONFIG_ISNS_PORT);
	assert_int_equal(cfg.isns.dd_refresh_s, CONFIG_ISNS_DD_REFRESH_S);
	config_free(&cfg);
	assert_int_equal(load("isns = { server = \"[::1]\"; };\n", &cfg), 0);
	assert_int_equal(ntohs(((const struct sockaddr_in6 *)&cfg.isns.server.addr)->sin6_port),
			 CONFIG_ISNS_PORT);
	config_free(&cfg);
}

static void bad_isns_groups_are_errors(void **state)
{
	load_fails("isns = { };\n", "isns", "server");
	load_fails("isns = { server = \"isns.example.com\"; };\n", "isns.server", "isns.example.com");
	load_fails("isns = { server = \"127.0.0.1\"; dd_refresh_s = 0; };\n", "isns.dd_refresh_s", "");
	load_fails("isns = { server = \"127.0.0.1\"; period = 3; };\n", "isns.period", "unknown key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(absent_group_leaves_isns_off),
		cmocka_unit_test(server_with_port_and_refresh),
		cmocka_unit_test(server_without_port_is_on_the_isns_port),
		cmocka_unit_test(bad_isns_groups_are_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
