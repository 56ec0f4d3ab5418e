/* Portal groups and per-target iSCSI parameters in the config file
 * (config.c) and in the difference between two configurations
 * (reconfig.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/config.h"
#include "control/reconfig.h"

#define T_A "iqn.2026-11.org.lunar:a"
#define LUN0 "luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } );"
#define TARGET(extra) "targets = ( { name = \"" T_A "\"; open = true; " LUN0 " " extra " } );\n"
#define GROUPS "portal_groups = ( { tag = 1; portals = [ \"127.0.0.1:3260\" ]; },\n" \
	       "                  { tag = 2; portals = [ \"127.0.0.2:3260\", \"[::1]:3261\" ]; } );\n"

static struct lunar_config cfg, new_cfg;
static struct reconfig_plan plan;
static char err[512];

static void load_ok(const char *text, struct lunar_config *out)
{
	if (config_load_string(text, "test.conf", out, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
}

/* Expects "test.conf:LINE: key 'KEY': ...WHY...". */
static void load_fails(const char *text, int line, const char *key, const char *why)
{
	struct lunar_config c;
	assert_int_equal(config_load_string(text, "test.conf", &c, err, sizeof(err)), -1);
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "test.conf:%d: key '%s': ", line, key);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, why))
		fail_msg("got \"%s\", wanted \"%s...%s...\"", err, prefix, why);
}

static int teardown(void **state)
{
	(void)state;
	reconfig_plan_free(&plan);
	config_free(&cfg);
	config_free(&new_cfg);
	return 0;
}

static void portals_list_is_group_one(void **state)
{
	(void)state;
	load_ok("portals = [ \"127.0.0.1:3260\", \"[::1]:3260\" ];\n" TARGET(""), &cfg);
	assert_int_equal(cfg.ngroups, 1);
	assert_int_equal(cfg.groups[0], 1);
	assert_false(cfg.grouped);
	assert_int_equal(cfg.nportals, 2);
	assert_int_equal(cfg.portals[0].tag, 1);
	assert_int_equal(cfg.portals[1].tag, 1);
	assert_null(cfg.targets[0].portal_groups);
	assert_true(config_target_in_group(&cfg, &cfg.targets[0], 1));
	assert_false(config_target_in_group(&cfg, &cfg.targets[0], 2));
}

static void default_portals_are_group_one(void **state)
{
	(void)state;
	load_ok(TARGET(""), &cfg);
	assert_int_equal(cfg.ngroups, 1);
	assert_int_equal(cfg.groups[0], 1);
	assert_int_equal(cfg.portals[0].tag, 1);
}

static void groups_tag_their_portals(void **state)
{
	(void)state;
	load_ok(GROUPS TARGET(""), &cfg);
	assert_true(cfg.grouped);
	assert_int_equal(cfg.ngroups, 2);
	assert_int_equal(cfg.nportals, 3);
	assert_int_equal(cfg.portals[0].tag, 1);
	assert_int_equal(cfg.portals[1].tag, 2);
	assert_int_equal(cfg.portals[2].tag, 2);
	assert_string_equal(cfg.portals[2].text, "[::1]:3261");
	/* no portal_groups: every group */
	uint16_t tags[CONFIG_MAX_PORTAL_GROUPS];
	assert_int_equal(config_target_groups(&cfg, &cfg.targets[0], tags), 2);
	assert_true(config_target_in_group(&cfg, &cfg.targets[0], 2));
}

static void target_names_its_groups(void **state)
{
	(void)state;
	load_ok(GROUPS TARGET("portal_groups = [ 2 ];"), &cfg);
	assert_int_equal(cfg.targets[0].nportal_groups, 1);
	assert_false(config_target_in_group(&cfg, &cfg.targets[0], 1));
	assert_true(config_target_in_group(&cfg, &cfg.targets[0], 2));
	assert_false(config_target_in_group(&cfg, &cfg.targets[0], 3));
	uint16_t tags[CONFIG_MAX_PORTAL_GROUPS];
	assert_int_equal(config_target_groups(&cfg, &cfg.targets[0], tags), 1);
	assert_int_equal(tags[0], 2);
}

static void an_empty_group_is_allowed(void **state)
{
	(void)state;
	load_ok("portal_groups = ( { tag = 1; portals = [ \"127.0.0.1:3260\" ]; }, { tag = 9; } );\n"
		TARGET("portal_groups = [ 9 ];"), &cfg);
	assert_int_equal(cfg.ngroups, 2);
	assert_int_equal(cfg.nportals, 1);
}

static void group_errors_name_the_key(void **state)
{
	(void)state;
	load_fails("portals = [ \"127.0.0.1\" ];\nportal_groups = ( { tag = 1; portals = [ \"127.0.0.2\" ]; } );\n",
		   2, "portal_groups", "not both");
	load_fails("portal_groups = ( { tag = 0; portals = [ \"127.0.0.2\" ]; } );\n", 1, "portal_groups.[0].tag",
		   "1..65535");
	load_fails("portal_groups = ( { portals = [ \"127.0.0.2\" ]; } );\n", 1, "portal_groups.[0].tag",
		   "required");
	load_fails("portal_groups = ( { tag = 1; portals = [ \"127.0.0.2\" ]; },\n { tag = 1; } );\n", 2,
		   "portal_groups.[1].tag", "already defined at line 1");
	load_fails("portal_groups = ( { tag = 1; portals = [ \"127.0.0.2\" ]; },\n"
		   " { tag = 2; portals = [ \"127.0.0.2:3260\" ]; } );\n",
		   2, "portal_groups.[1].portals.[0]", "already a portal (of group 1)");
	load_fails("portal_groups = ( { tag = 4; } );\n", 1, "portal_groups", "no group has a portal");
	load_fails("portal_groups = ( { tag = 1; portals = [ \"127.0.0.2\" ]; sise = 1; } );\n", 1,
		   "portal_groups.[0].sise", "unknown key");
	load_fails(GROUPS TARGET("portal_groups = [ 3 ];"), 3, "targets.[0].portal_groups.[0]",
		   "no portal group has tag 3");
	load_fails(GROUPS TARGET("portal_groups = [ 2, 2 ];"), 3, "targets.[0].portal_groups.[1]", "listed twice");
	load_fails(GROUPS TARGET("portal_groups = [ ];"), 3, "targets.[0].portal_groups", "must be an array");
}

static void listen_puts_portals_in_group_one(void **state)
{
	(void)state;
	load_ok("portal_groups = ( { tag = 5; portals = [ \"127.0.0.1:3260\" ]; } );\n" TARGET(""), &cfg);
	struct config_portal p;
	assert_int_equal(config_parse_portal("127.0.0.9:3262", &p), 0);
	assert_int_equal(config_set_portals(&cfg, &p, 1), 0);
	assert_int_equal(cfg.nportals, 1);
	assert_int_equal(cfg.portals[0].tag, 1);
	assert_int_equal(cfg.ngroups, 2);
	assert_true(config_target_in_group(&cfg, &cfg.targets[0], 1));
}

static void target_iscsi_overrides_the_global_keys(void **state)
{
	(void)state;
	load_ok("iscsi = { max_burst_length = 524288; immediate_data = false; };\n"
		"targets = ( { name = \"" T_A "\"; open = true; " LUN0 "\n"
		"  iscsi = { max_recv_data_segment_length = 65536; first_burst_length = 8192; }; },\n"
		" { name = \"iqn.2026-11.org.lunar:b\"; open = true; " LUN0 " } );\n", &cfg);
	const struct config_target *a = &cfg.targets[0], *b = &cfg.targets[1];
	assert_true(a->own_limits);
	assert_int_equal(a->limits.max_recv_dsl, 65536);
	assert_int_equal(a->limits.first_burst, 8192);
	/* the rest as the top-level group says */
	assert_int_equal(a->limits.max_burst, 524288);
	assert_false(a->limits.immediate_data);
	assert_false(b->own_limits);
	assert_int_equal(b->limits.max_recv_dsl, cfg.limits.max_recv_dsl);
}

static void target_iscsi_errors_name_the_key(void **state)
{
	(void)state;
	load_fails(TARGET("iscsi = { max_burst_length = 100; };"), 1, "targets.[0].iscsi.max_burst_length",
		   "512..16777215");
	load_fails(TARGET("iscsi = { first_burst_length = 2097152; };"), 1,
		   "targets.[0].iscsi.first_burst_length", "exceeds max_burst_length");
	load_fails(TARGET("iscsi = { max_connections = 2; };"), 1, "targets.[0].iscsi.max_connections",
		   "unknown key");
}

static const char *diff_lines(const char *old_text, const char *new_text)
{
	load_ok(old_text, &cfg);
	load_ok(new_text, &new_cfg);
	assert_int_equal(reconfig_diff(&cfg, &new_cfg, &plan, err, sizeof(err)), 0);
	static char out[4096];
	out[0] = '\0';
	for (size_t i = 0; i < plan.n; i++) {
		char line[512];
		reconfig_describe(&plan.changes[i], &cfg, &new_cfg, line, sizeof(line));
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? "; " : "", line);
	}
	return out;
}

static void old_portals_as_group_one_change_nothing(void **state)
{
	(void)state;
	assert_string_equal(diff_lines("portals = [ \"127.0.0.1:3260\" ];\n" TARGET(""),
				       "portal_groups = ( { tag = 1; portals = [ \"127.0.0.1:3260\" ]; } );\n"
				       TARGET("")), "");
}

static void a_new_group_opens_its_portals(void **state)
{
	(void)state;
	assert_string_equal(diff_lines("portals = [ \"127.0.0.1:3260\" ];\n" TARGET(""), GROUPS TARGET("")),
			    "opened portal 127.0.0.2:3260; opened portal [::1]:3261; added portal group 2");
}

static void a_removed_group_closes_its_portals(void **state)
{
	(void)state;
	assert_string_equal(diff_lines(GROUPS TARGET(""), "portals = [ \"127.0.0.1:3260\" ];\n" TARGET("")),
			    "closed portal 127.0.0.2:3260; closed portal [::1]:3261; removed portal group 2");
}

static void a_portal_moved_to_another_group_keeps_listening(void **state)
{
	(void)state;
	assert_string_equal(diff_lines(GROUPS TARGET(""),
				       "portal_groups = ( { tag = 1; portals = [ \"127.0.0.1:3260\", \"127.0.0.2:3260\" ]; },\n"
				       " { tag = 2; portals = [ \"[::1]:3261\" ]; } );\n" TARGET("")),
			    "moved portal 127.0.0.2:3260 to portal group 1: applies to new logins");
}

static void a_target_s_groups_changed(void **state)
{
	(void)state;
	assert_string_equal(diff_lines(GROUPS TARGET(""), GROUPS TARGET("portal_groups = [ 1 ];")),
			    "changed the portal groups of target " T_A ": apply to new logins");
	teardown(NULL);
	/* the same groups in another order are the same */
	assert_string_equal(diff_lines(GROUPS TARGET("portal_groups = [ 1, 2 ];"),
				       GROUPS TARGET("portal_groups = [ 2, 1 ];")), "");
}

static void a_target_s_iscsi_changed(void **state)
{
	(void)state;
	assert_string_equal(diff_lines(TARGET(""), TARGET("iscsi = { max_outstanding_r2t = 4; };")),
			    "changed the iscsi parameters of target " T_A ": apply to new logins");
	teardown(NULL);
	/* the top-level group alone is one change, not one per target */
	assert_string_equal(diff_lines(TARGET(""), "iscsi = { max_outstanding_r2t = 4; };\n" TARGET("")),
			    "changed iscsi parameters: apply to new logins");
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, teardown)
	const struct CMUnitTest tests[] = {
		T(portals_list_is_group_one),
		T(default_portals_are_group_one),
		T(groups_tag_their_portals),
		T(target_names_its_groups),
		T(an_empty_group_is_allowed),
		T(group_errors_name_the_key),
		T(listen_puts_portals_in_group_one),
		T(target_iscsi_overrides_the_global_keys),
		T(target_iscsi_errors_name_the_key),
		T(old_portals_as_group_one_change_nothing),
		T(a_new_group_opens_its_portals),
		T(a_removed_group_closes_its_portals),
		T(a_portal_moved_to_another_group_keeps_listening),
		T(a_target_s_groups_changed),
		T(a_target_s_iscsi_changed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
