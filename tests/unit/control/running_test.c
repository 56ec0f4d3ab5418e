/* Unit tests for the running configuration's document (running.c) before
 * anything is served: where it comes from, overrides, validation, export,
 * and the atomic save (mode 0600: it holds CHAP secrets). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/reconfig.h"
#include "control/running.h"

#define T_A "iqn.2026-11.org.lunar:a"

static char dir[64];
static char path[128];
static char err[512];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/lunar-running.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lunar.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	running_fini();
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *doc(void)
{
	static char text[1024];
	snprintf(text, sizeof(text),
		 "# a comment\nstate_dir = \"%s\";\n"
		 "targets = ( { name = \"" T_A "\"; open = true;\n"
		 "  chap = { users = ( { user = \"u\"; secret = \"secret-secret-1\"; } ); };\n"
		 "  luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } ); } );\n", dir);
	return text;
}

static void without_a_file_the_default_is_used_and_not_written(void **state)
{
	(void)state;
	struct running_options o = { .state_dir = dir };
	assert_int_equal(running_init(&o, err, sizeof(err)), 0);
	const struct lunar_config *cfg = running_config();
	assert_int_equal(cfg->ntargets, 1);
	assert_string_equal(cfg->targets[0].name, LUNAR_DEFAULT_TARGET);
	assert_string_equal(running_path(), path);
	assert_int_equal(access(path, F_OK), -1);
}

static void the_state_dir_file_is_read(void **state)
{
	(void)state;
	write_file(doc());
	struct running_options o = { .state_dir = dir };
	assert_int_equal(running_init(&o, err, sizeof(err)), 0);
	assert_string_equal(running_config()->targets[0].name, T_A);
}

static void a_bad_file_is_refused_with_its_line(void **state)
{
	(void)state;
	write_file("targets = ( { name = \"not a name\"; luns = ( ); } );\n");
	struct running_options o = { .config_path = path };
	assert_int_equal(running_init(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "lunar.conf:1"));
}

static void overrides_apply_and_are_not_saved(void **state)
{
	(void)state;
	write_file(doc());
	struct config_portal listen;
	assert_int_equal(config_parse_portal("127.0.0.1:3999", &listen), 0);
	struct running_options o = { .config_path = path, .listen = &listen, .nlisten = 1, .threads = 3 };
	assert_int_equal(running_init(&o, err, sizeof(err)), 0);
	assert_int_equal(running_config()->threads, 3);
	assert_int_equal(running_config()->nportals, 1);
	char *text;
	assert_int_equal(running_export(&text), 0);
	assert_null(strstr(text, "3999"));
	assert_null(strstr(text, "threads"));
	free(text);
}

static void a_change_is_saved_0600_without_comments(void **state)
{
	(void)state;
	write_file(doc());
	chmod(path, 0644);
	struct running_options o = { .config_path = path };
	assert_int_equal(running_init(&o, err, sizeof(err)), 0);
	char text[1024];
	snprintf(text, sizeof(text),
		 "state_dir = \"%s\";\n"
		 "targets = ( { name = \"" T_A "\"; open = true;\n"
		 "  luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; },\n"
		 "           { lun = 1; backend = \"memory\"; size = \"1M\"; } ); } );\n", dir);
	struct running_report rep = { 0 };
	assert_int_equal(running_apply_text(text, 0, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.n, 2);
	assert_string_equal(rep.lines[0], "changed access (alias, open, acl, chap) of target " T_A ": applies to new logins");
	assert_string_equal(rep.lines[1], "added LUN 1 to target " T_A);
	running_report_free(&rep);
	assert_int_equal(running_config()->targets[0].nluns, 2);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	struct lunar_config again;
	assert_int_equal(config_load_file(path, &again, err, sizeof(err)), 0);
	assert_int_equal(again.targets[0].nluns, 2);
	config_free(&again);
	FILE *f = fopen(path, "r");
	char saved[2048] = "";
	assert_non_null(f);
	assert_true(fread(saved, 1, sizeof(saved) - 1, f) > 0);
	fclose(f);
	assert_null(strstr(saved, "# a comment"));
	assert_int_equal(access(path, F_OK), 0);
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);
}

static void a_refused_change_keeps_everything(void **state)
{
	(void)state;
	write_file(doc());
	struct running_options o = { .config_path = path };
	assert_int_equal(running_init(&o, err, sizeof(err)), 0);
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(running_apply_text("targets = ( { name = \"x\"; } );\n", 0, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not an iSCSI name"));
	assert_int_equal(running_apply_text("targets = (", 0, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	assert_int_equal(running_config()->targets[0].chap.nusers, 1);
}

/* libconfig writes an empty list back in a form it reads again. */
static void saved_empty_lun_list_loads_again(void **state)
{
	(void)state;
	write_file(doc());
	struct running_options o = { .config_path = path };
	assert_int_equal(running_init(&o, err, sizeof(err)), 0);
	char text[512];
	snprintf(text, sizeof(text), "state_dir = \"%s\";\ntargets = ( { name = \"" T_A "\"; luns = ( ); } );\n", dir);
	assert_int_equal(running_apply_text(text, 0, NULL, err, sizeof(err)), 0);
	struct lunar_config again;
	if (config_load_file(path, &again, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(again.targets[0].nluns, 0);
	config_free(&again);
}

/* What lunard saves loads to the same configuration: big integers keep
 * their L suffix, strings their escapes, groups and lists their shape. */
static void saved_document_loads_to_the_same_configuration(void **state)
{
	(void)state;
	char text[2048];
	snprintf(text, sizeof(text),
		 "state_dir = \"%s\";\n"
		 "threads = 3;\nmemory_budget = 17179869184L;\n"
		 "portals = [ \"127.0.0.1:3999\", \"[::1]:3998\" ];\n"
		 "iscsi = { max_burst_length = 65536; first_burst_length = 65536; immediate_data = false; };\n"
		 "limits = { max_logins = 7; nop_interval_s = 0; };\n"
		 "discovery = { chap = { users = ( { user = \"d\"; secret = \"disc\\\"overy-secret\"; } ); }; };\n"
		 "targets = ( { name = \"" T_A "\"; alias = \"a \\\\ b\"; open = false;\n"
		 "  chap = { users = ( { user = \"u\"; secret = \"secret-secret-1\"; } );\n"
		 "           mutual = { user = \"t\"; secret = \"mutual-secret-1\"; }; };\n"
		 "  acl = ( { initiator = \"iqn.2026-11.org.test:h\"; chap_user = \"u\"; luns = ( { lun = 0; target_lun = 1; } ); } );\n"
		 "  luns = ( { lun = 0; backend = \"memory\"; size = 10737418240L; block_size = 4096; thin = false; },\n"
		 "           { lun = 1; backend = \"file\"; path = \"x.img\"; size = \"1M\"; readonly = true; serial = \"s1\"; } ); } );\n",
		 dir);
	struct lunar_config a, b;
	if (config_load_string(text, "orig", &a, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	write_file(text);
	struct running_options o = { .config_path = path };
	assert_int_equal(running_init(&o, err, sizeof(err)), 0);
	char *saved;
	assert_int_equal(running_export(&saved), 0);
	if (config_load_string(saved, "saved", &b, err, sizeof(err)) < 0)
		fail_msg("%s\n%s", err, saved);
	struct reconfig_plan plan;
	assert_int_equal(reconfig_diff(&a, &b, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.n, 0);
	assert_int_equal(b.memory_budget, 17179869184ull);
	assert_string_equal(b.discovery_chap.users[0].secret, "disc\"overy-secret");
	assert_string_equal(b.targets[0].alias, "a \\ b");
	reconfig_plan_free(&plan);
	free(saved);
	config_free(&a);
	config_free(&b);
}

static unsigned heard;

static void listener(const struct lunar_config *cfg, void *arg)
{
	assert_ptr_equal(cfg, running_config());
	assert_ptr_equal(arg, &heard);
	heard++;
}

static void listeners_hear_of_changes_only(void **state)
{
	(void)state;
	write_file(doc());
	struct running_options o = { .config_path = path };
	assert_int_equal(running_init(&o, err, sizeof(err)), 0);
	heard = 0;
	assert_int_equal(running_listen(listener, &heard), 0);
	assert_int_equal(running_apply_text(doc(), 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(heard, 0);
	char text[1024];
	snprintf(text, sizeof(text), "%s", doc());
	memcpy(strstr(text, "open = true"), "open= false", 11);
	assert_int_equal(running_apply_text(text, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(heard, 1);
}

static void doc_copy_edits_round_trip(void **state)
{
	(void)state;
	write_file(doc());
	struct running_options o = { .config_path = path };
	assert_int_equal(running_init(&o, err, sizeof(err)), 0);
	config_t copy;
	assert_int_equal(running_doc_copy(&copy), 0);
	config_setting_t *t = config_setting_get_elem(config_lookup(&copy, "targets"), 0);
	config_setting_t *alias = config_setting_add(t, "alias", CONFIG_TYPE_STRING);
	assert_non_null(alias);
	config_setting_set_string(alias, "edited");
	assert_int_equal(running_apply_doc(&copy, 0, NULL, err, sizeof(err)), 0);
	config_destroy(&copy);
	assert_string_equal(running_config()->targets[0].alias, "edited");
	char *text;
	assert_int_equal(running_export(&text), 0);
	assert_non_null(strstr(text, "edited"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(without_a_file_the_default_is_used_and_not_written, setup, teardown),
		cmocka_unit_test_setup_teardown(the_state_dir_file_is_read, setup, teardown),
		cmocka_unit_test_setup_teardown(a_bad_file_is_refused_with_its_line, setup, teardown),
		cmocka_unit_test_setup_teardown(overrides_apply_and_are_not_saved, setup, teardown),
		cmocka_unit_test_setup_teardown(a_change_is_saved_0600_without_comments, setup, teardown),
		cmocka_unit_test_setup_teardown(a_refused_change_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(doc_copy_edits_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(listeners_hear_of_changes_only, setup, teardown),
		cmocka_unit_test_setup_teardown(saved_empty_lun_list_loads_again, setup, teardown),
		cmocka_unit_test_setup_teardown(saved_document_loads_to_the_same_configuration, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
