/* The registry's access answers: authorization, the LUN view a session
 * gets, and SendTargets listing only what the initiator may log in to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/targets.h"
#include "util/log.h"
#include "util/macros.h"

#define HOST1 "iqn.2026-11.org.test:host1"
#define HOST2 "iqn.2026-11.org.test:host2"
#define NOBODY "iqn.2026-11.org.test:nobody"
#define T_ACL "iqn.2026-11.org.lunar:acl"
#define T_CLOSED "iqn.2026-11.org.lunar:closed"
#define T_OPEN "iqn.2026-11.org.lunar:open"

static struct config_lun luns[3][3];
static struct config_acl_lun host1_luns[] = { { .lun = 0, .target_lun = 2 }, { .lun = 1, .target_lun = 0 } };
static struct config_acl acl[] = {
	{ .initiator = HOST1, .luns = host1_luns, .nluns = ARRAY_SIZE(host1_luns) },
	{ .initiator = HOST2 },
};
static struct config_target cts[] = {
	{ .name = T_ACL, .luns = luns[0], .nluns = 3, .acl = acl, .nacl = ARRAY_SIZE(acl) },
	{ .name = T_CLOSED, .luns = luns[1], .nluns = 1 },
	{ .name = T_OPEN, .luns = luns[2], .nluns = 1, .open = true },
};
static struct lunar_config cfg = { .targets = cts, .ntargets = ARRAY_SIZE(cts) };

static int setup(void **state)
{
	(void)state;
	log_set_level(LL_ERROR);
	for (unsigned t = 0; t < 3; t++) {
		for (uint16_t l = 0; l < 3; l++) {
			struct config_lun *cl = &luns[t][l];
			*cl = (struct config_lun){ .lun = l };
			backend_config_init(&cl->bs, backend_type_find("memory"));
			cl->bs.block_size = 512;
			assert_int_equal(backend_config_set_size(&cl->bs, "size", 1u << 20), 0);
		}
	}
	assert_int_equal(targets_build(&cfg), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	targets_free();
	for (unsigned t = 0; t < 3; t++)
		for (unsigned l = 0; l < 3; l++)
			backend_config_clear(&luns[t][l].bs);
	return 0;
}

static bool authorize(const char *target_name, const char *initiator)
{
	void *t = targets_find(target_name);
	assert_non_null(t);
	bool ok = targets_authorize(t, initiator, "");
	targets_release(t);
	return ok;
}

static void listed_initiators_are_authorized(void **state)
{
	(void)state;
	assert_true(authorize(T_ACL, HOST1));
	assert_true(authorize(T_ACL, "IQN.2026-11.ORG.TEST:HOST2"));
	assert_false(authorize(T_ACL, NOBODY));
	assert_false(authorize(T_CLOSED, HOST1));
	assert_true(authorize(T_OPEN, NOBODY));
}

static void lun_view_follows_the_entry(void **state)
{
	(void)state;
	void *t = targets_find(T_ACL);
	struct scsi_lun_view *v;
	assert_int_equal(targets_lun_view(t, HOST1, &v), 0);
	assert_non_null(v);
	assert_int_equal(v->target_lun[0], 2);
	assert_int_equal(v->target_lun[1], 0);
	assert_int_equal(v->target_lun[2], SCSI_LUN_NONE);
	assert_int_equal(v->initiator_lun[2], 0);
	scsi_lun_view_put(v);
	assert_int_equal(targets_lun_view(t, HOST2, &v), 0);
	assert_null(v);
	targets_release(t);
}

/* The answer's TargetName values, joined by spaces. */
static const char *sendtargets(const char *value, const char *initiator)
{
	static char names[512];
	char out[4096];
	int len = targets_sendtargets(value, initiator, NULL, out, sizeof(out));
	assert_true(len >= 0);
	names[0] = 0;
	for (int at = 0; at < len; at += (int)strlen(out + at) + 1)
		if (strncmp(out + at, "TargetName=", 11) == 0)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? " " : "",
				 out + at + 11);
	return names;
}

static void sendtargets_lists_only_what_the_initiator_may_use(void **state)
{
	(void)state;
	assert_string_equal(sendtargets("All", HOST1), T_ACL " " T_OPEN);
	assert_string_equal(sendtargets("All", NOBODY), T_OPEN);
	assert_string_equal(sendtargets(T_ACL, HOST2), T_ACL);
	assert_string_equal(sendtargets(T_ACL, NOBODY), "");
	assert_string_equal(sendtargets(T_CLOSED, HOST1), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(listed_initiators_are_authorized),
		cmocka_unit_test(lun_view_follows_the_entry),
		cmocka_unit_test(sendtargets_lists_only_what_the_initiator_may_use),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
