/* Unit tests for the document edits of the management methods
 * (config_edit.c): each edit is written out as text and read back by the
 * loader, as running a changed document does. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/config.h"
#include "control/config_edit.h"

#define T1 "iqn.2026-11.org.lunar:t1"
#define T2 "iqn.2026-11.org.lunar:t2"

static const char base[] =
	"portals = [ \"127.0.0.1:3260\" ];\n"
	"targets = ( { name = \"" T1 "\"; open = true;\n"
	"  luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } ); } );\n";

static char err[512];
static config_t doc;
static struct lunar_config cfg;

static int setup(void **state)
{
	config_init(&doc);
	assert_true(config_read_string(&doc, base));
	err[0] = '\0';
	memset(&cfg, 0, sizeof(cfg));
	return 0;
}

static int teardown(void **state)
{
	config_destroy(&doc);
	config_free(&cfg);
	return 0;
}

/* The document as the loader sees it; 0 or -1 (err says why). */
static int reload(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	config_write(&doc, f);
	fclose(f);
	config_free(&cfg);
	int ret = config_load_string(text, "edited", &cfg, err, sizeof(err));
	free(text);
	return ret;
}

static const struct config_target *target(const char *name)
{
	for (size_t i = 0; i < cfg.ntargets; i++)
		if (strcmp(cfg.targets[i].name, name) == 0)
			return &cfg.targets[i];
	return NULL;
}

static uint64_t lun_size(const struct config_lun *cl)
{
	return backend_config_value(&cl->bs, "size")->size;
}

static json_t *memory_lun(void)
{
	return json_pack("{s:s, s:s}", "backend", "memory", "size", "2M");
}

static void target_add_then_lun(void **state)
{
	assert_int_equal(config_edit_target_add(&doc, T2, "two", CONFIG_EDIT_TRUE, err, sizeof(err)), 0);
	json_t *l = memory_lun();
	unsigned n = 99;
	assert_int_equal(config_edit_lun_add(&doc, T2, l, &n, err, sizeof(err)), 0);
	json_decref(l);
	assert_int_equal(n, 0);
	assert_int_equal(reload(), 0);
	const struct config_target *t = target(T2);
	assert_non_null(t);
	assert_string_equal(t->alias, "two");
	assert_true(t->open);
	assert_int_equal(t->nluns, 1);
	assert_int_equal(lun_size(&t->luns[0]), 2 << 20);
}

static void target_add_twice_is_eexist(void **state)
{
	assert_int_equal(config_edit_target_add(&doc, T1, NULL, CONFIG_EDIT_KEEP, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, T1));
}

static void target_delete(void **state)
{
	assert_int_equal(config_edit_target_delete(&doc, T1, err, sizeof(err)), 0);
	assert_int_equal(reload(), 0);
	assert_int_equal(cfg.ntargets, 0);
	assert_int_equal(config_edit_target_delete(&doc, T1, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no target " T1);
}

static void target_set_alias_and_open(void **state)
{
	assert_int_equal(config_edit_target_set(&doc, T1, "disk", CONFIG_EDIT_FALSE, err, sizeof(err)), 0);
	assert_int_equal(reload(), 0);
	assert_string_equal(target(T1)->alias, "disk");
	assert_false(target(T1)->open);
	assert_int_equal(config_edit_target_set(&doc, T1, "", CONFIG_EDIT_KEEP, err, sizeof(err)), 0);
	assert_int_equal(reload(), 0);
	assert_null(target(T1)->alias);
	assert_false(target(T1)->open);
}

static void lun_numbers_lowest_free_or_given(void **state)
{
	unsigned n;
	json_t *l = memory_lun();
	assert_int_equal(config_edit_lun_add(&doc, T1, l, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	json_object_set_new(l, "lun", json_integer(7));
	assert_int_equal(config_edit_lun_add(&doc, T1, l, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 7);
	assert_int_equal(config_edit_lun_add(&doc, T1, l, &n, err, sizeof(err)), -EEXIST);
	json_object_set_new(l, "lun", json_integer(256));
	assert_int_equal(config_edit_lun_add(&doc, T1, l, &n, err, sizeof(err)), -EINVAL);
	json_decref(l);
	assert_int_equal(reload(), 0);
	assert_int_equal(target(T1)->nluns, 3);
}

static void lun_keys_typed_and_checked_by_loader(void **state)
{
	unsigned n;
	json_t *l = json_pack("{s:s, s:I, s:i, s:b}", "backend", "memory", "size", (json_int_t)(8ll << 30),
			      "block_size", 4096, "readonly", 1);
	assert_int_equal(config_edit_lun_add(&doc, T1, l, &n, err, sizeof(err)), 0);
	json_decref(l);
	assert_int_equal(reload(), 0);
	const struct config_lun *cl = &target(T1)->luns[1];
	assert_int_equal(lun_size(cl), 8ull << 30);
	assert_int_equal(cl->bs.block_size, 4096);
	assert_true(cl->bs.readonly);

	l = json_pack("{s:s, s:s, s:s}", "backend", "memory", "size", "1M", "path", "/x");
	assert_int_equal(config_edit_lun_add(&doc, T1, l, &n, err, sizeof(err)), 0);
	json_decref(l);
	assert_int_equal(reload(), -1);
	assert_non_null(strstr(err, "path"));
}

static void lun_value_not_scalar_refused_and_undone(void **state)
{
	unsigned n;
	json_t *l = json_pack("{s:s, s:[i]}", "backend", "memory", "size", 1);
	assert_int_equal(config_edit_lun_add(&doc, T1, l, &n, err, sizeof(err)), -EINVAL);
	json_decref(l);
	assert_int_equal(reload(), 0);
	assert_int_equal(target(T1)->nluns, 1);
	l = json_pack("{s:s}", "size", "1M");
	assert_int_equal(config_edit_lun_add(&doc, T1, l, &n, err, sizeof(err)), -EINVAL);
	json_decref(l);
	l = memory_lun();
	assert_int_equal(config_edit_lun_add(&doc, T2, l, &n, err, sizeof(err)), -ENOENT);
	json_decref(l);
}

static void lun_delete_and_resize(void **state)
{
	json_t *size = json_string("3M");
	assert_int_equal(config_edit_lun_resize(&doc, T1, 0, size, err, sizeof(err)), 0);
	json_decref(size);
	assert_int_equal(reload(), 0);
	assert_int_equal(lun_size(&target(T1)->luns[0]), 3 << 20);
	size = json_integer(4 << 20);
	assert_int_equal(config_edit_lun_resize(&doc, T1, 0, size, err, sizeof(err)), 0);
	assert_int_equal(config_edit_lun_resize(&doc, T1, 5, size, err, sizeof(err)), -ENOENT);
	json_decref(size);
	size = json_integer(0);
	assert_int_equal(config_edit_lun_resize(&doc, T1, 0, size, err, sizeof(err)), -EINVAL);
	json_decref(size);
	assert_int_equal(reload(), 0);
	assert_int_equal(lun_size(&target(T1)->luns[0]), 4 << 20);
	assert_int_equal(config_edit_lun_delete(&doc, T1, 0, err, sizeof(err)), 0);
	assert_int_equal(config_edit_lun_delete(&doc, T1, 0, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "target " T1 " has no LUN 0");
}

static void acl_add_and_remove(void **state)
{
	json_t *map = json_pack("[{s:i, s:i}]", "lun", 0, "target_lun", 0);
	assert_int_equal(config_edit_acl_add(&doc, T1, "iqn.1994-05.com.redhat:h1", "u1", map, err, sizeof(err)), 0);
	assert_int_equal(config_edit_acl_add(&doc, T1, "IQN.1994-05.com.redhat:H1", NULL, NULL, err, sizeof(err)),
			 -EEXIST);
	json_decref(map);
	assert_int_equal(config_edit_acl_add(&doc, T1, "iqn.1994-05.com.redhat:h2", NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(reload(), 0);
	const struct config_target *t = target(T1);
	assert_int_equal(t->nacl, 2);
	assert_string_equal(t->acl[0].chap_user, "u1");
	assert_int_equal(t->acl[0].nluns, 1);
	assert_null(t->acl[1].luns);
	assert_int_equal(config_edit_acl_remove(&doc, T1, "iqn.1994-05.com.redhat:h1", err, sizeof(err)), 0);
	assert_int_equal(config_edit_acl_remove(&doc, T1, "iqn.1994-05.com.redhat:h2", err, sizeof(err)), 0);
	assert_int_equal(config_edit_acl_remove(&doc, T1, "iqn.1994-05.com.redhat:h2", err, sizeof(err)), -ENOENT);
	/* the emptied list goes: the loader wants at least one entry */
	assert_int_equal(reload(), 0);
	assert_int_equal(target(T1)->nacl, 0);
}

static void acl_bad_map_refused_and_undone(void **state)
{
	json_t *map = json_pack("[{s:s}]", "lun", "x");
	assert_int_equal(config_edit_acl_add(&doc, T1, "iqn.1994-05.com.redhat:h1", NULL, map, err, sizeof(err)),
			 -EINVAL);
	json_decref(map);
	assert_int_equal(reload(), 0);
	assert_int_equal(target(T1)->nacl, 0);
}

static void chap_target_and_discovery(void **state)
{
	assert_int_equal(config_edit_chap_mutual_set(&doc, T1, "lunar", "target-secret-9", err, sizeof(err)), -ENOENT);
	assert_int_equal(config_edit_chap_add(&doc, T1, "alice", "alice-secret-12", err, sizeof(err)), 0);
	assert_int_equal(config_edit_chap_add(&doc, T1, "alice", "alice-secret-13", err, sizeof(err)), -EEXIST);
	assert_int_equal(config_edit_chap_mutual_set(&doc, T1, "lunar", "target-secret-9", err, sizeof(err)), 0);
	assert_int_equal(config_edit_chap_add(&doc, NULL, "disc", "discovery-secret", err, sizeof(err)), 0);
	assert_int_equal(reload(), 0);
	assert_int_equal(target(T1)->chap.nusers, 1);
	assert_string_equal(target(T1)->chap.mutual.user, "lunar");
	assert_int_equal(cfg.discovery_chap.nusers, 1);

	assert_int_equal(config_edit_chap_mutual_clear(&doc, T1, err, sizeof(err)), 0);
	assert_int_equal(config_edit_chap_mutual_clear(&doc, T1, err, sizeof(err)), -ENOENT);
	assert_int_equal(config_edit_chap_remove(&doc, T1, "alice", err, sizeof(err)), 0);
	assert_int_equal(config_edit_chap_remove(&doc, T1, "alice", err, sizeof(err)), -ENOENT);
	assert_int_equal(config_edit_chap_remove(&doc, NULL, "disc", err, sizeof(err)), 0);
	assert_int_equal(reload(), 0);
	assert_int_equal(target(T1)->chap.nusers, 0);
	assert_int_equal(cfg.discovery_chap.nusers, 0);
}

static void chap_short_secret_left_to_loader(void **state)
{
	assert_int_equal(config_edit_chap_add(&doc, T1, "bob", "short", err, sizeof(err)), 0);
	assert_int_equal(reload(), -1);
	assert_non_null(strstr(err, "RFC 7143"));
	assert_null(strstr(err, "short"));
}

static void portals_add_remove(void **state)
{
	assert_int_equal(config_edit_portal_add(&doc, "127.0.0.1:3261", 0, err, sizeof(err)), 0);
	assert_int_equal(config_edit_portal_add(&doc, "127.0.0.1:3261", 0, err, sizeof(err)), -EEXIST);
	assert_int_equal(reload(), 0);
	assert_int_equal(cfg.nportals, 2);
	assert_int_equal(config_edit_portal_remove(&doc, "127.0.0.1:3260", err, sizeof(err)), 0);
	assert_int_equal(config_edit_portal_remove(&doc, "127.0.0.1:3260", err, sizeof(err)), -ENOENT);
	assert_int_equal(reload(), 0);
	assert_int_equal(cfg.nportals, 1);
	assert_string_equal(cfg.portals[0].text, "127.0.0.1:3261");
}

static void portals_default_list_written_out(void **state)
{
	config_setting_remove(config_root_setting(&doc), "portals");
	assert_int_equal(config_edit_portal_add(&doc, "127.0.0.1:3261", 0, err, sizeof(err)), 0);
	assert_int_equal(reload(), 0);
	assert_int_equal(cfg.nportals, 3);
}

static void param_to_its_group(void **state)
{
	const char *group;
	json_t *v = json_integer(65536);
	assert_int_equal(config_edit_param_set(&doc, NULL, "max_recv_data_segment_length", v, &group, err, sizeof(err)), 0);
	assert_string_equal(group, "iscsi");
	json_decref(v);
	v = json_integer(20);
	assert_int_equal(config_edit_param_set(&doc, NULL, "nop_interval_s", v, &group, err, sizeof(err)), 0);
	assert_string_equal(group, "limits");
	json_decref(v);
	v = json_false();
	assert_int_equal(config_edit_param_set(&doc, NULL, "immediate_data", v, &group, err, sizeof(err)), 0);
	assert_int_equal(reload(), 0);
	assert_int_equal(cfg.limits.max_recv_dsl, 65536);
	assert_false(cfg.limits.immediate_data);
	assert_int_equal(cfg.peer_limits.conn.nop_interval_s, 20);
	v = json_string("x");
	assert_int_equal(config_edit_param_set(&doc, NULL, "initial_r2t", v, &group, err, sizeof(err)), -EINVAL);
	json_decref(v);
	v = json_integer(1);
	assert_int_equal(config_edit_param_set(&doc, NULL, "no_such_key", v, &group, err, sizeof(err)), 0);
	json_decref(v);
	assert_int_equal(reload(), -1);
	assert_non_null(strstr(err, "no_such_key"));
}

/* A portal for another group than 1 turns the flat list into group 1. */
static void portal_to_a_new_group_rewrites_portals_as_groups(void **state)
{
	assert_int_equal(config_edit_portal_add(&doc, "127.0.0.1:3262", 2, err, sizeof(err)), -ENOENT);
	assert_int_equal(config_edit_portal_group_add(&doc, 2, err, sizeof(err)), 0);
	assert_int_equal(config_edit_portal_group_add(&doc, 2, err, sizeof(err)), -EEXIST);
	assert_int_equal(config_edit_portal_group_add(&doc, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(config_edit_portal_add(&doc, "127.0.0.1:3262", 2, err, sizeof(err)), 0);
	assert_int_equal(config_edit_portal_add(&doc, "127.0.0.1:3260", 2, err, sizeof(err)), -EEXIST);
	assert_null(config_setting_get_member(config_root_setting(&doc), "portals"));
	assert_int_equal(reload(), 0);
	assert_true(cfg.grouped);
	assert_int_equal(cfg.ngroups, 2);
	assert_int_equal(cfg.nportals, 2);
	assert_string_equal(cfg.portals[0].text, "127.0.0.1:3260");
	assert_int_equal(cfg.portals[0].tag, 1);
	assert_string_equal(cfg.portals[1].text, "127.0.0.1:3262");
	assert_int_equal(cfg.portals[1].tag, 2);
	/* without a group, a grouped document takes it in its first group */
	assert_int_equal(config_edit_portal_add(&doc, "127.0.0.1:3263", 0, err, sizeof(err)), 0);
	assert_int_equal(config_edit_portal_remove(&doc, "127.0.0.1:3262", err, sizeof(err)), 0);
	assert_int_equal(reload(), 0);
	assert_int_equal(cfg.nportals, 2);
	assert_int_equal(cfg.portals[1].tag, 1);
}

static void portal_group_delete_and_target_groups(void **state)
{
	assert_int_equal(config_edit_portal_group_add(&doc, 7, err, sizeof(err)), 0);
	json_t *groups = json_pack("[i]", 7);
	assert_int_equal(config_edit_target_groups(&doc, T1, groups, err, sizeof(err)), 0);
	assert_int_equal(config_edit_target_groups(&doc, "iqn.2026-11.org.lunar:none", groups, err, sizeof(err)),
			 -ENOENT);
	json_decref(groups);
	assert_int_equal(reload(), 0);
	assert_int_equal(target(T1)->nportal_groups, 1);
	assert_false(config_target_in_group(&cfg, target(T1), 1));
	assert_true(config_target_in_group(&cfg, target(T1), 7));
	/* a group a target names cannot go: the loader says why */
	assert_int_equal(config_edit_portal_group_delete(&doc, 7, err, sizeof(err)), 0);
	assert_int_equal(config_edit_portal_group_delete(&doc, 7, err, sizeof(err)), -ENOENT);
	assert_int_equal(reload(), -1);
	assert_non_null(strstr(err, "no portal group has tag 7"));
	groups = json_array();
	assert_int_equal(config_edit_target_groups(&doc, T1, groups, err, sizeof(err)), 0);
	json_decref(groups);
	assert_int_equal(reload(), 0);
	assert_null(target(T1)->portal_groups);
	groups = json_pack("[s]", "x");
	assert_int_equal(config_edit_target_groups(&doc, T1, groups, err, sizeof(err)), -EINVAL);
	json_decref(groups);
}

static void param_of_one_target(void **state)
{
	const char *group;
	json_t *v = json_integer(16384);
	assert_int_equal(config_edit_param_set(&doc, T1, "max_recv_data_segment_length", v, &group, err, sizeof(err)),
			 0);
	assert_string_equal(group, "iscsi");
	assert_int_equal(config_edit_param_set(&doc, "iqn.2026-11.org.lunar:none", "max_burst_length", v, &group, err,
					       sizeof(err)),
			 -ENOENT);
	json_decref(v);
	v = json_integer(20);
	assert_int_equal(config_edit_param_set(&doc, T1, "nop_interval_s", v, &group, err, sizeof(err)), -EINVAL);
	json_decref(v);
	assert_int_equal(reload(), 0);
	assert_true(target(T1)->own_limits);
	assert_int_equal(target(T1)->limits.max_recv_dsl, 16384);
	assert_int_equal(target(T1)->limits.max_burst, cfg.limits.max_burst);
	assert_int_equal(cfg.limits.max_recv_dsl, 262144);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(target_add_then_lun),
		T(portal_to_a_new_group_rewrites_portals_as_groups),
		T(portal_group_delete_and_target_groups),
		T(param_of_one_target),
		T(target_add_twice_is_eexist),
		T(target_delete),
		T(target_set_alias_and_open),
		T(lun_numbers_lowest_free_or_given),
		T(lun_keys_typed_and_checked_by_loader),
		T(lun_value_not_scalar_refused_and_undone),
		T(lun_delete_and_resize),
		T(acl_add_and_remove),
		T(acl_bad_map_refused_and_undone),
		T(chap_target_and_discovery),
		T(chap_short_secret_left_to_loader),
		T(portals_add_remove),
		T(portals_default_list_written_out),
		T(param_to_its_group),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
