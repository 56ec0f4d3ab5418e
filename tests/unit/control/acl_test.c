/* The access-control matcher: who may log in, and the LUNs each sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control/acl.h"
#include "util/macros.h"

static struct config_acl_lun host1_luns[] = { { .lun = 0, .target_lun = 2 }, { .lun = 3, .target_lun = 0 } };
static struct config_acl entries[] = {
	{ .initiator = "iqn.1994-05.com.redhat:host1", .luns = host1_luns, .nluns = ARRAY_SIZE(host1_luns) },
	{ .initiator = "iqn.1994-05.com.redhat:host2" },
	{ .initiator = "iqn.1994-05.com.redhat:host3", .chap_user = "alice" },
};
static struct config_target closed = { .name = "iqn.2026-11.org.lunar:t", .acl = entries,
					.nacl = ARRAY_SIZE(entries) };

static void names_compare_ignoring_ascii_case(void **state)
{
	(void)state;
	assert_true(acl_name_equal("iqn.1994-05.com.RedHat:Host1", "iqn.1994-05.com.redhat:host1"));
	assert_true(acl_name_equal("EUI.02004567A425678D", "eui.02004567a425678d"));
	assert_false(acl_name_equal("iqn.1994-05.com.redhat:host1", "iqn.1994-05.com.redhat:host10"));
	assert_false(acl_name_equal("iqn.1994-05.com.redhat:host10", "iqn.1994-05.com.redhat:host1"));
	assert_false(acl_name_equal("", "iqn.x"));
	/* Beyond ASCII bytes compare as they are. */
	assert_false(acl_name_equal("iqn.x:\xc3\x89", "iqn.x:\xc3\xa9"));
	char name[] = "IQN.2026-11.Org:A-b.C";
	acl_name_fold(name);
	assert_string_equal(name, "iqn.2026-11.org:a-b.c");
}

static void listed_initiator_is_allowed_any_case(void **state)
{
	(void)state;
	assert_true(acl_allows(&closed, "iqn.1994-05.com.redhat:host1", ""));
	assert_true(acl_allows(&closed, "IQN.1994-05.COM.REDHAT:HOST2", ""));
	assert_ptr_equal(acl_find(&closed, "iqn.1994-05.com.redhat:HOST2"), &entries[1]);
}

static void unlisted_initiator_is_refused_unless_open(void **state)
{
	(void)state;
	assert_false(acl_allows(&closed, "iqn.1994-05.com.redhat:host9", ""));
	assert_false(acl_lists(&closed, "iqn.1994-05.com.redhat:host9"));
	struct config_target open = closed;
	open.open = true;
	assert_true(acl_allows(&open, "iqn.1994-05.com.redhat:host9", ""));
	assert_true(acl_lists(&open, "iqn.1994-05.com.redhat:host9"));
	struct config_target none = { .name = "iqn.2026-11.org.lunar:t" };
	assert_false(acl_allows(&none, "iqn.1994-05.com.redhat:host1", ""));
}

static void entry_with_chap_user_needs_that_user(void **state)
{
	(void)state;
	const char *host3 = "iqn.1994-05.com.redhat:host3";
	assert_true(acl_allows(&closed, host3, "alice"));
	assert_false(acl_allows(&closed, host3, "Alice"));
	assert_false(acl_allows(&closed, host3, "bob"));
	assert_false(acl_allows(&closed, host3, ""));
	assert_true(acl_lists(&closed, host3));
	/* Even an open target holds a listed initiator to its entry. */
	struct config_target open = closed;
	open.open = true;
	assert_false(acl_allows(&open, host3, "bob"));
}

static void entry_without_luns_sees_every_lun(void **state)
{
	(void)state;
	uint16_t map[4];
	assert_false(acl_lun_map(&closed, "iqn.1994-05.com.redhat:host2", map, ARRAY_SIZE(map)));
	struct config_target open = closed;
	open.open = true;
	assert_false(acl_lun_map(&open, "iqn.1994-05.com.redhat:host9", map, ARRAY_SIZE(map)));
}

static void entry_with_luns_maps_and_masks(void **state)
{
	(void)state;
	uint16_t map[4];
	assert_true(acl_lun_map(&closed, "iqn.1994-05.com.redhat:Host1", map, ARRAY_SIZE(map)));
	assert_int_equal(map[0], 2);
	assert_int_equal(map[1], ACL_LUN_NONE);
	assert_int_equal(map[2], ACL_LUN_NONE);
	assert_int_equal(map[3], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_compare_ignoring_ascii_case),
		cmocka_unit_test(listed_initiator_is_allowed_any_case),
		cmocka_unit_test(unlisted_initiator_is_refused_unless_open),
		cmocka_unit_test(entry_with_chap_user_needs_that_user),
		cmocka_unit_test(entry_without_luns_sees_every_lun),
		cmocka_unit_test(entry_with_luns_maps_and_masks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
