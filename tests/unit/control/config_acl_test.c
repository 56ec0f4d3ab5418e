/* A target's "open" key and "acl" list: what they parse to and every
 * error, with its key path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/config.h"

static char err[512];

/* A target with LUNs 0, 1 and 2; ACL is the rest of its group, from line 3. */
#define TARGET(acl)                                                                         \
	"targets = ( { name = \"iqn.2026-11.org.lunar:t\";\n"                              \
	" luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; }, { lun = 1; backend = " \
	"\"memory\"; size = \"1M\"; }, { lun = 2; backend = \"memory\"; size = \"1M\"; } );\n" acl "\n} );\n"

static struct lunar_config load_ok(const char *text)
{
	struct lunar_config cfg;
	if (config_load_string(text, "test.conf", &cfg, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
	return cfg;
}

static void load_fails(const char *text, int line, const char *key, const char *why)
{
	struct lunar_config cfg;
	assert_int_equal(config_load_string(text, "test.conf", &cfg, err, sizeof(err)), -1);
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "test.conf:%d: key '%s': ", line, key);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, why))
		fail_msg("got \"%s\", wanted \"%s...%s...\"", err, prefix, why);
}

static void target_without_acl_is_closed(void **state)
{
	(void)state;
	struct lunar_config cfg = load_ok(TARGET(""));
	assert_false(cfg.targets[0].open);
	assert_int_equal(cfg.targets[0].nacl, 0);
	config_free(&cfg);
}

static void open_target_parses(void **state)
{
	(void)state;
	struct lunar_config cfg = load_ok(TARGET("open = true;"));
	assert_true(cfg.targets[0].open);
	config_free(&cfg);
}

static void acl_entries_parse_to_structs(void **state)
{
	(void)state;
	struct lunar_config cfg = load_ok(TARGET(
		"acl = ( { initiator = \"iqn.1994-05.com.RedHat:Host1\"; chap_user = \"Host1\";\n"
		"          luns = ( { lun = 0; target_lun = 2; }, { lun = 1; target_lun = 0; } ); },\n"
		"        { initiator = \"eui.02004567A425678D\"; } );"));
	struct config_target *t = &cfg.targets[0];
	assert_false(t->open);
	assert_int_equal(t->nacl, 2);
	assert_string_equal(t->acl[0].initiator, "iqn.1994-05.com.redhat:host1");
	assert_string_equal(t->acl[0].chap_user, "Host1");
	assert_int_equal(t->acl[0].nluns, 2);
	assert_int_equal(t->acl[0].luns[0].lun, 0);
	assert_int_equal(t->acl[0].luns[0].target_lun, 2);
	assert_int_equal(t->acl[0].luns[1].lun, 1);
	assert_int_equal(t->acl[0].luns[1].target_lun, 0);
	assert_string_equal(t->acl[1].initiator, "eui.02004567a425678d");
	assert_null(t->acl[1].chap_user);
	assert_null(t->acl[1].luns);
	config_free(&cfg);
}

static void default_target_is_open(void **state)
{
	(void)state;
	struct lunar_config cfg;
	assert_int_equal(config_load_default(&cfg, "/tmp"), 0);
	assert_true(cfg.targets[0].open);
	config_free(&cfg);
}

static void errors_name_their_key(void **state)
{
	(void)state;
	load_fails(TARGET("open = 1;"), 3, "targets.[0].open", "true or false");
	load_fails(TARGET("acl = { initiator = \"iqn.2026-11.org.x:a\"; };"), 3, "targets.[0].acl",
		   "must be a list");
	load_fails(TARGET("acl = ();"), 3, "targets.[0].acl", "at least one initiator");
	load_fails(TARGET("acl = ( { } );"), 3, "targets.[0].acl.[0].initiator", "is required");
	load_fails(TARGET("acl = ( { initiator = \"host1\"; } );"), 3, "targets.[0].acl.[0].initiator",
		   "not an iSCSI name");
	load_fails(TARGET("acl = ( { initiator = \"iqn.2026-11.org.x:a\"; who = 1; } );"), 3,
		   "targets.[0].acl.[0].who", "unknown key");
	load_fails(TARGET("acl = ( { initiator = \"iqn.2026-11.org.x:a\"; },\n"
			  "        { initiator = \"IQN.2026-11.org.X:A\"; } );"),
		   4, "targets.[0].acl.[1].initiator", "already listed at line 3");
	load_fails(TARGET("acl = ( { initiator = \"iqn.2026-11.org.x:a\"; chap_user = \"\"; } );"), 3,
		   "targets.[0].acl.[0].chap_user", "must not be empty");
	load_fails(TARGET("acl = ( { initiator = \"iqn.2026-11.org.x:a\"; luns = (); } );"), 3,
		   "targets.[0].acl.[0].luns", "at least one LUN");
	load_fails(TARGET("acl = ( { initiator = \"iqn.2026-11.org.x:a\"; luns = ( { lun = 0; } ); } );"), 3,
		   "targets.[0].acl.[0].luns.[0].target_lun", "is required");
	load_fails(TARGET("acl = ( { initiator = \"iqn.2026-11.org.x:a\"; luns = ( { lun = 256; target_lun = 0; } ); } );"),
		   3, "targets.[0].acl.[0].luns.[0].lun", "0..255");
	load_fails(TARGET("acl = ( { initiator = \"iqn.2026-11.org.x:a\"; luns = ( { lun = 0; target_lun = 7; } ); } );"),
		   3, "targets.[0].acl.[0].luns.[0].target_lun", "the target has no LUN 7");
	load_fails(TARGET("acl = ( { initiator = \"iqn.2026-11.org.x:a\"; luns = (\n"
			  "  { lun = 0; target_lun = 1; },\n  { lun = 0; target_lun = 2; } ); } );"),
		   5, "targets.[0].acl.[0].luns.[1].lun", "LUN 0 is already mapped at line 4");
	load_fails(TARGET("acl = ( { initiator = \"iqn.2026-11.org.x:a\"; luns = (\n"
			  "  { lun = 0; target_lun = 1; },\n  { lun = 1; target_lun = 1; } ); } );"),
		   5, "targets.[0].acl.[0].luns.[1].target_lun", "target LUN 1 is already mapped at line 4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(target_without_acl_is_closed),
		cmocka_unit_test(open_target_parses),
		cmocka_unit_test(acl_entries_parse_to_structs),
		cmocka_unit_test(default_target_is_open),
		cmocka_unit_test(errors_name_their_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
