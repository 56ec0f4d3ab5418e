/* The `metrics` group: where the endpoint listens, loopback unless told
 * otherwise, and the messages for what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>

#include "control/config.h"

static char err[512];

static struct lunar_config load_ok(const char *text)
{
	struct lunar_config cfg;
	if (config_load_string(text, "test.conf", &cfg, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
	return cfg;
}

static void load_fails(const char *text, const char *key, const char *why)
{
	struct lunar_config cfg;
	assert_int_equal(config_load_string(text, "test.conf", &cfg, err, sizeof(err)), -1);
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "test.conf:1: key '%s': ", key);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, why))
		fail_msg("got \"%s\", wanted \"%s...%s...\"", err, prefix, why);
}

static void absent_group_leaves_metrics_off(void **state)
{
	(void)state;
	struct lunar_config cfg = load_ok("threads = 1;\n");
	assert_false(cfg.metrics.enabled);
	config_free(&cfg);
}

static void loopback_listen_parses(void **state)
{
	(void)state;
	struct lunar_config cfg = load_ok("metrics = { listen = \"127.0.0.1:9470\"; };\n");
	assert_true(cfg.metrics.enabled);
	assert_false(cfg.metrics.allow_remote);
	const struct sockaddr_in *in = (const struct sockaddr_in *)&cfg.metrics.addr;
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), 9470);
	config_free(&cfg);
	cfg = load_ok("metrics = { listen = \"[::1]:9471\"; };\n");
	assert_int_equal(cfg.metrics.addr.ss_family, AF_INET6);
	config_free(&cfg);
}

static void wildcard_needs_allow_remote(void **state)
{
	(void)state;
	load_fails("metrics = { listen = \"0.0.0.0:9470\"; };\n", "metrics.listen", "allow_remote = true");
	load_fails("metrics = { listen = \"[::]:9470\"; };\n", "metrics.listen", "is not a loopback address");
	load_fails("metrics = { listen = \"192.0.2.1:9470\"; };\n", "metrics.listen", "is not a loopback address");
	struct lunar_config cfg = load_ok("metrics = { listen = \"0.0.0.0:9470\"; allow_remote = true; };\n");
	assert_true(cfg.metrics.allow_remote);
	config_free(&cfg);
}

static void bad_groups_are_refused(void **state)
{
	(void)state;
	load_fails("metrics = { listen = \"127.0.0.1\"; };\n", "metrics.listen", "must be ADDRESS:PORT");
	load_fails("metrics = { listen = \"[::1]\"; };\n", "metrics.listen", "must be ADDRESS:PORT");
	load_fails("metrics = { listen = \"localhost:x\"; };\n", "metrics.listen", "\"localhost:x\"");
	load_fails("metrics = { listen = 9470; };\n", "metrics.listen", "must be a string");
	load_fails("metrics = { allow_remote = true; };\n", "metrics.listen", "is required");
	load_fails("metrics = { listen = \"127.0.0.1:9470\"; port = 1; };\n", "metrics.port", "");
}

static void check_applies_to_command_line_addresses(void **state)
{
	(void)state;
	struct config_metrics m = { 0 };
	assert_null(config_metrics_set_listen(&m, "0.0.0.0:9470"));
	assert_non_null(config_metrics_check(&m));
	m.allow_remote = true;
	assert_null(config_metrics_check(&m));
	struct config_metrics v4mapped = { 0 };
	assert_null(config_metrics_set_listen(&v4mapped, "[::ffff:127.0.0.1]:9470"));
	assert_null(config_metrics_check(&v4mapped));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(absent_group_leaves_metrics_off),
		cmocka_unit_test(loopback_listen_parses),
		cmocka_unit_test(wildcard_needs_allow_remote),
		cmocka_unit_test(bad_groups_are_refused),
		cmocka_unit_test(check_applies_to_command_line_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
