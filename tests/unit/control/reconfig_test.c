/* Unit tests for the difference between two configurations (reconfig.c):
 * each test loads an old and a new document and checks the plan. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/reconfig.h"

#define T_A "iqn.2026-11.org.lunar:a"
#define T_B "iqn.2026-11.org.lunar:b"

#define LUN0 "{ lun = 0; backend = \"file\"; path = \"/tmp/a0.img\"; size = \"1M\"; }"
#define LUN1 "{ lun = 1; backend = \"memory\"; size = \"1M\"; }"
#define TARGET(name, extra, luns) "{ name = \"" name "\"; " extra " luns = ( " luns " ); }"
#define DOC(targets) "portals = [ \"127.0.0.1:3260\" ];\ntargets = ( " targets " );\n"

static struct lunar_config old_cfg, new_cfg;
static struct reconfig_plan plan;
static char err[512];

static int diff(const char *old_text, const char *new_text)
{
	assert_int_equal(config_load_string(old_text, "old.conf", &old_cfg, err, sizeof(err)), 0);
	if (config_load_string(new_text, "new.conf", &new_cfg, err, sizeof(err)) < 0)
		fail_msg("new: %s", err);
	err[0] = '\0';
	return reconfig_diff(&old_cfg, &new_cfg, &plan, err, sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	reconfig_plan_free(&plan);
	config_free(&old_cfg);
	config_free(&new_cfg);
	return 0;
}

/* The plan's lines, joined with "; ". */
static const char *lines(void)
{
	static char out[4096];
	out[0] = '\0';
	for (size_t i = 0; i < plan.n; i++) {
		char line[512];
		reconfig_describe(&plan.changes[i], &old_cfg, &new_cfg, line, sizeof(line));
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? "; " : "", line);
	}
	return out;
}

static void same_document_changes_nothing(void **state)
{
	(void)state;
	const char *doc = DOC(TARGET(T_A, "open = true;", LUN0 ", " LUN1));
	assert_int_equal(diff(doc, doc), 0);
	assert_int_equal(plan.n, 0);
}

static void target_added_and_removed(void **state)
{
	(void)state;
	assert_int_equal(diff(DOC(TARGET(T_A, "", LUN0)), DOC(TARGET(T_B, "", LUN1))), 0);
	assert_string_equal(lines(), "removed target " T_A "; added target " T_B);
	assert_int_equal(plan.changes[0].kind, RECONFIG_TARGET_REMOVE);
	assert_int_equal(plan.changes[1].kind, RECONFIG_TARGET_ADD);
}

static void lun_added_and_removed(void **state)
{
	(void)state;
	assert_int_equal(diff(DOC(TARGET(T_A, "", LUN0 ", " LUN1)),
			      DOC(TARGET(T_A, "", LUN0 ", { lun = 2; backend = \"memory\"; size = \"1M\"; }"))), 0);
	assert_string_equal(lines(), "removed LUN 1 from target " T_A "; added LUN 2 to target " T_A);
}

static void larger_size_grows_the_lun(void **state)
{
	(void)state;
	assert_int_equal(diff(DOC(TARGET(T_A, "", LUN0)),
			      DOC(TARGET(T_A, "", "{ lun = 0; backend = \"file\"; path = \"/tmp/a0.img\"; size = \"2M\"; }"))),
			 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.changes[0].kind, RECONFIG_LUN_GROW);
	assert_string_equal(lines(), "grew LUN 0 of target " T_A " to 2097152 bytes");
}

static void smaller_size_is_refused(void **state)
{
	(void)state;
	assert_int_equal(diff(DOC(TARGET(T_A, "", LUN0)),
			      DOC(TARGET(T_A, "", "{ lun = 0; backend = \"file\"; path = \"/tmp/a0.img\"; size = \"512K\"; }"))),
			 -EINVAL);
	assert_non_null(strstr(err, "LUN 0"));
	assert_non_null(strstr(err, "never shrunk"));
	assert_int_equal(plan.n, 0);
}

static void size_left_out_keeps_the_store(void **state)
{
	(void)state;
	assert_int_equal(diff(DOC(TARGET(T_A, "", LUN0)),
			      DOC(TARGET(T_A, "", "{ lun = 0; backend = \"file\"; path = \"/tmp/a0.img\"; }"))), 0);
	assert_int_equal(plan.n, 0);
}

static void another_path_replaces_the_store(void **state)
{
	(void)state;
	assert_int_equal(diff(DOC(TARGET(T_A, "", LUN0)),
			      DOC(TARGET(T_A, "", "{ lun = 0; backend = \"file\"; path = \"/tmp/b.img\"; size = \"1M\"; }"))),
			 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.changes[0].kind, RECONFIG_LUN_REPLACE);
}

/* Memory cannot grow while served: a new size is a new store. */
static void memory_size_replaces_the_store(void **state)
{
	(void)state;
	assert_int_equal(diff(DOC(TARGET(T_A, "", LUN1)),
			      DOC(TARGET(T_A, "", "{ lun = 1; backend = \"memory\"; size = \"2M\"; }"))), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.changes[0].kind, RECONFIG_LUN_REPLACE);
}

static void readonly_replaces_the_store(void **state)
{
	(void)state;
	assert_int_equal(diff(DOC(TARGET(T_A, "", LUN1)),
			      DOC(TARGET(T_A, "", "{ lun = 1; backend = \"memory\"; size = \"1M\"; readonly = true; }"))),
			 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.changes[0].kind, RECONFIG_LUN_REPLACE);
}

static void access_changes_are_one_change(void **state)
{
	(void)state;
	assert_int_equal(diff(DOC(TARGET(T_A, "", LUN0)),
			      DOC(TARGET(T_A, "open = true; alias = \"disk\";"
					      " acl = ( { initiator = \"iqn.2026-11.org.test:h\"; } );"
					      " chap = { users = ( { user = \"u\"; secret = \"secret-secret-1\"; } ); };",
					      LUN0))), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.changes[0].kind, RECONFIG_TARGET_ACCESS);
}

static void acl_lun_map_change_is_an_access_change(void **state)
{
	(void)state;
	const char *a = DOC(TARGET(T_A, "acl = ( { initiator = \"iqn.2026-11.org.test:h\"; luns = ( { lun = 0; target_lun = 0; } ); } );",
				   LUN0 ", " LUN1));
	const char *b = DOC(TARGET(T_A, "acl = ( { initiator = \"iqn.2026-11.org.test:h\"; luns = ( { lun = 0; target_lun = 1; } ); } );",
				   LUN0 ", " LUN1));
	assert_int_equal(diff(a, b), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.changes[0].kind, RECONFIG_TARGET_ACCESS);
}

static void chap_secret_change_is_an_access_change(void **state)
{
	(void)state;
	assert_int_equal(diff(DOC(TARGET(T_A, "chap = { users = ( { user = \"u\"; secret = \"secret-secret-1\"; } ); };", LUN0)),
			      DOC(TARGET(T_A, "chap = { users = ( { user = \"u\"; secret = \"secret-secret-2\"; } ); };", LUN0))),
			 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.changes[0].kind, RECONFIG_TARGET_ACCESS);
}

static void portals_added_and_removed(void **state)
{
	(void)state;
	assert_int_equal(diff("portals = [ \"127.0.0.1:3260\", \"127.0.0.1:3261\" ];\n",
			      "portals = [ \"127.0.0.1:3261\", \"[::1]:3260\" ];\n"), 0);
	assert_string_equal(lines(), "closed portal 127.0.0.1:3260; opened portal [::1]:3260");
}

static void settings_say_when_they_apply(void **state)
{
	(void)state;
	assert_int_equal(diff("threads = 2;\n",
			      "threads = 4;\n"
			      "iscsi = { max_burst_length = 65536; first_burst_length = 65536; };\n"
			      "limits = { max_logins = 7; nop_interval_s = 3; };\n"
			      "discovery = { chap = { users = ( { user = \"d\"; secret = \"discovery-secret\"; } ); }; };\n"),
			 0);
	assert_string_equal(lines(),
			    "changed discovery CHAP: applies to new discovery logins; "
			    "changed iscsi parameters: apply to new logins; "
			    "changed login limits: apply to new connections; "
			    "changed limits (of connections): applies at the next start; "
			    "changed threads: applies at the next start");
}

static void cpu_affinity_applies_at_the_next_start(void **state)
{
	(void)state;
	cpu_set_t set;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	int cpu = 0;
	while (!CPU_ISSET(cpu, &set))
		cpu++;
	char text[64];
	snprintf(text, sizeof(text), "threads = 2;\ncpu_affinity = [ %d ];\n", cpu);
	assert_int_equal(diff("threads = 2;\n", text), 0);
	assert_string_equal(lines(), "changed cpu_affinity: applies at the next start");
}

static void poll_us_applies_at_the_next_start(void **state)
{
	(void)state;
	assert_int_equal(diff("threads = 2;\n", "threads = 2;\npoll_us = 0;\n"), 0);
	assert_string_equal(lines(), "changed poll_us: applies at the next start");
}

/* Removals come first, so a LUN number or a file can be reused. */
static void removals_come_before_additions(void **state)
{
	(void)state;
	assert_int_equal(diff(DOC(TARGET(T_A, "", LUN0 ", " LUN1) ", " TARGET(T_B, "", LUN1)),
			      DOC(TARGET(T_A, "open = true;", LUN0 ", { lun = 3; backend = \"memory\"; size = \"1M\"; }"))),
			 0);
	assert_string_equal(lines(), "removed LUN 1 from target " T_A "; removed target " T_B
			    "; changed access (alias, open, acl, chap) of target " T_A ": applies to new logins"
			    "; added LUN 3 to target " T_A);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(same_document_changes_nothing, teardown),
		cmocka_unit_test_teardown(target_added_and_removed, teardown),
		cmocka_unit_test_teardown(lun_added_and_removed, teardown),
		cmocka_unit_test_teardown(larger_size_grows_the_lun, teardown),
		cmocka_unit_test_teardown(smaller_size_is_refused, teardown),
		cmocka_unit_test_teardown(size_left_out_keeps_the_store, teardown),
		cmocka_unit_test_teardown(another_path_replaces_the_store, teardown),
		cmocka_unit_test_teardown(memory_size_replaces_the_store, teardown),
		cmocka_unit_test_teardown(readonly_replaces_the_store, teardown),
		cmocka_unit_test_teardown(access_changes_are_one_change, teardown),
		cmocka_unit_test_teardown(acl_lun_map_change_is_an_access_change, teardown),
		cmocka_unit_test_teardown(chap_secret_change_is_an_access_change, teardown),
		cmocka_unit_test_teardown(portals_added_and_removed, teardown),
		cmocka_unit_test_teardown(settings_say_when_they_apply, teardown),
		cmocka_unit_test_teardown(cpu_affinity_applies_at_the_next_start, teardown),
		cmocka_unit_test_teardown(poll_us_applies_at_the_next_start, teardown),
		cmocka_unit_test_teardown(removals_come_before_additions, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
