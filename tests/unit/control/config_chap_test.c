/* Unit tests for CHAP accounts in the config file (config_chap.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/config.h"

static char err[512];

#define TARGET_HEAD \
	"targets = ( { name = \"iqn.2026-11.org.lunar:t\";\n" \
	"  luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } );\n"
#define TARGET_TAIL "} );\n"

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

static void target_accounts(void **state)
{
	struct lunar_config cfg;
	const struct config_chap *c;

	(void)state;
	assert_int_equal(load(TARGET_HEAD
			      "  chap = { users = ( { user = \"alice\"; secret = \"alice-secret-12\"; },\n"
			      "                     { user = \"bob\"; secret = \"bob-secret-0123\"; } );\n"
			      "           mutual = { user = \"lunar\"; secret = \"target-secret-9\"; }; };\n"
			      TARGET_TAIL, &cfg), 0);
	c = &cfg.targets[0].chap;
	assert_int_equal(c->nusers, 2);
	assert_string_equal(c->users[0].user, "alice");
	assert_string_equal(c->users[0].secret, "alice-secret-12");
	assert_string_equal(c->users[1].user, "bob");
	assert_string_equal(c->mutual.user, "lunar");
	assert_string_equal(c->mutual.secret, "target-secret-9");
	assert_true(c->required);
	assert_null(cfg.discovery_chap.users);
	config_free(&cfg);
}

static void optional_chap(void **state)
{
	struct lunar_config cfg;

	(void)state;
	assert_int_equal(load(TARGET_HEAD
			      "  chap = { users = ( { user = \"a\"; secret = \"0123456789ab\"; } ); required = false; };\n"
			      TARGET_TAIL, &cfg), 0);
	assert_false(cfg.targets[0].chap.required);
	assert_null(cfg.targets[0].chap.mutual.user);
	config_free(&cfg);
}

static void no_chap_key_means_none(void **state)
{
	struct lunar_config cfg;

	(void)state;
	assert_int_equal(load(TARGET_HEAD TARGET_TAIL, &cfg), 0);
	assert_int_equal(cfg.targets[0].chap.nusers, 0);
	assert_false(cfg.targets[0].chap.required);
	config_free(&cfg);
}

static void discovery_accounts(void **state)
{
	struct lunar_config cfg;

	(void)state;
	assert_int_equal(load("discovery = { chap = { users = ( { user = \"d\"; secret = \"discovery-secret\"; } ); }; };\n",
			      &cfg), 0);
	assert_int_equal(cfg.discovery_chap.nusers, 1);
	assert_string_equal(cfg.discovery_chap.users[0].user, "d");
	assert_true(cfg.discovery_chap.required);
	config_free(&cfg);
}

static void short_secret_is_refused(void **state)
{
	(void)state;
	load_fails(TARGET_HEAD "  chap = { users = ( { user = \"a\"; secret = \"12345678901\"; } ); };\n" TARGET_TAIL,
		   "test.conf:3: key 'targets.[0].chap.users.[0].secret'", "96 bits");
}

static void short_secret_is_not_echoed(void **state)
{
	(void)state;
	load_fails(TARGET_HEAD "  chap = { users = ( { user = \"a\"; secret = \"hunter2\"; } ); };\n" TARGET_TAIL,
		   "secret", "12..255 bytes, not 7");
	assert_null(strstr(err, "hunter2"));
}

static void long_secret_is_refused(void **state)
{
	char text[1024];
	char secret[257];

	(void)state;
	memset(secret, 's', 256);
	secret[256] = '\0';
	snprintf(text, sizeof(text), TARGET_HEAD "  chap = { users = ( { user = \"a\"; secret = \"%s\"; } ); };\n"
		 TARGET_TAIL, secret);
	load_fails(text, "secret", "12..255 bytes");
}

static void mutual_secret_equal_to_a_user_secret(void **state)
{
	(void)state;
	load_fails(TARGET_HEAD
		   "  chap = { users = ( { user = \"a\"; secret = \"same-secret-123\"; } );\n"
		   "           mutual = { user = \"t\"; secret = \"same-secret-123\"; }; };\n" TARGET_TAIL,
		   "chap.mutual.secret", "must differ");
}

static void structure_errors(void **state)
{
	(void)state;
	load_fails(TARGET_HEAD "  chap = { required = true; };\n" TARGET_TAIL, "chap.users", "is required");
	load_fails(TARGET_HEAD "  chap = { users = (); };\n" TARGET_TAIL, "chap.users", "at least one user");
	load_fails(TARGET_HEAD "  chap = { users = ( { user = \"a\"; secret = \"0123456789ab\"; } ); pasword = 1; };\n"
		   TARGET_TAIL, "chap.pasword", "unknown key");
	load_fails(TARGET_HEAD "  chap = { users = ( { user = \"a\"; } ); };\n" TARGET_TAIL,
		   "chap.users.[0].secret", "is required");
	load_fails(TARGET_HEAD "  chap = { users = ( { user = \"\"; secret = \"0123456789ab\"; } ); };\n" TARGET_TAIL,
		   "chap.users.[0].user", "1..255 bytes");
	load_fails(TARGET_HEAD "  chap = { users = ( { user = \"a\"; secret = \"0123456789ab\"; },\n"
		   "  { user = \"a\"; secret = \"0123456789ac\"; } ); };\n" TARGET_TAIL,
		   "chap.users.[1].user", "already listed");
	load_fails(TARGET_HEAD "  chap = { users = ( { user = \"a\"; secret = \"0123456789ab\"; } ); required = 1; };\n"
		   TARGET_TAIL, "chap.required", "true or false");
	load_fails(TARGET_HEAD "  chap = \"x\";\n" TARGET_TAIL, "chap", "must be a group");
	load_fails("discovery = { users = 1; };\n", "discovery.users", "unknown key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(target_accounts),
		cmocka_unit_test(optional_chap),
		cmocka_unit_test(no_chap_key_means_none),
		cmocka_unit_test(discovery_accounts),
		cmocka_unit_test(short_secret_is_refused),
		cmocka_unit_test(short_secret_is_not_echoed),
		cmocka_unit_test(long_secret_is_refused),
		cmocka_unit_test(mutual_secret_equal_to_a_user_secret),
		cmocka_unit_test(structure_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
