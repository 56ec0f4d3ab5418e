/* Unit tests for the "management" group of the config file
 * (config_management.c). */
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

static void absent_means_defaults(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(load("threads = 1;\n", &cfg), 0);
	assert_null(cfg.management.socket);
	assert_int_equal(cfg.management.mode, 0);
	assert_null(cfg.management.group);
	config_free(&cfg);
}

static void all_keys(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(load("management = { socket = \"/run/x/l.sock\"; mode = 0660; group = \"disk\"; };\n", &cfg), 0);
	assert_string_equal(cfg.management.socket, "/run/x/l.sock");
	assert_int_equal(cfg.management.mode, 0660);
	assert_string_equal(cfg.management.group, "disk");
	config_free(&cfg);
	assert_int_equal(load("management = { mode = \"0640\"; };\n", &cfg), 0);
	assert_int_equal(cfg.management.mode, 0640);
	config_free(&cfg);
}

static void refused(const char *text, const char *why)
{
	struct lunar_config cfg;
	assert_int_equal(load(text, &cfg), -1);
	if (!strstr(err, why))
		fail_msg("error \"%s\" lacks \"%s\"", err, why);
}

static void bad_values(void **state)
{
	refused("management = { socket = \"rel.sock\"; };\n", "absolute path");
	refused("management = { socket = \"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"; };\n",
		"Unix socket");
	refused("management = { mode = 0680; };\n", "octal");
	refused("management = { mode = \"1777\"; };\n", "octal");
	refused("management = { mode = 0400; };\n", "owner write");
	refused("management = { mode = true; };\n", "octal");
	refused("management = { sock = \"/x\"; };\n", "management.sock");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(absent_means_defaults),
		cmocka_unit_test(all_keys),
		cmocka_unit_test(bad_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
