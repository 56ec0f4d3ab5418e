#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/config.h"
#include "util/macros.h"

/* The example from the design brief, line for line. */
static const char brief_example[] =
	"state_dir = \"/var/lib/lunar\";      # relative LUN paths are relative to this\n"
	"threads = 0;\n"
	"portals = [ \"0.0.0.0:3260\", \"[::]:3260\" ];\n"
	"iscsi = {\n"
	"  max_recv_data_segment_length = 262144;\n"
	"  max_burst_length = 1048576;\n"
	"  first_burst_length = 65536;\n"
	"  max_outstanding_r2t = 1;\n"
	"  immediate_data = true;\n"
	"  initial_r2t = false;\n"
	"};\n"
	"targets = (\n"
	"  {\n"
	"    name = \"iqn.2026-11.org.lunar:disk1\";\n"
	"    alias = \"disk1\";\n"
	"    luns = (\n"
	"      { lun = 0; backend = \"file\"; path = \"disk1.img\"; size = \"10G\"; direct = false; },\n"
	"      { lun = 1; backend = \"blockdev\"; path = \"/dev/sdb\"; },\n"
	"      { lun = 2; backend = \"memory\"; size = \"512M\"; block_size = 4096; readonly = false; serial = \"abc123\"; }\n"
	"    );\n"
	"  }\n"
	");\n";

static char err[512];

static struct lunar_config load_ok(const char *text)
{
	struct lunar_config cfg;
	err[0] = 0;
	int ret = config_load_string(text, "test.conf", &cfg, err, sizeof(err));
	if (ret != 0)
		fail_msg("unexpected error: %s", err);
	return cfg;
}

/* Expects the load to fail with exactly "test.conf:LINE: key 'KEY': ..."
 * and WHY somewhere in the reason. */
static void load_fails(const char *text, int line, const char *key, const char *why)
{
	struct lunar_config cfg;
	memset(&cfg, 0xa5, sizeof(cfg));
	assert_int_equal(config_load_string(text, "test.conf", &cfg, err, sizeof(err)), -1);
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "test.conf:%d: key '%s': ", line, key);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, why))
		fail_msg("got \"%s\", wanted \"%s...%s...\"", err, prefix, why);
}

#define TARGET(luns) "targets = ( { name = \"iqn.2026-11.org.lunar:t\";\n luns = (\n" luns "\n); } );\n"

static void brief_example_parses_to_the_right_structs(void **state)
{
	struct lunar_config cfg = load_ok(brief_example);
	assert_string_equal(cfg.state_dir, "/var/lib/lunar");
	assert_int_equal(cfg.threads, 0);
	assert_int_equal(cfg.nportals, 2);
	assert_string_equal(cfg.portals[0].text, "0.0.0.0:3260");
	assert_int_equal(cfg.portals[0].addr.ss_family, AF_INET);
	assert_string_equal(cfg.portals[1].text, "[::]:3260");
	assert_int_equal(cfg.portals[1].addr.ss_family, AF_INET6);
	assert_int_equal(cfg.limits.max_recv_dsl, 262144);
	assert_int_equal(cfg.limits.max_burst, 1048576);
	assert_int_equal(cfg.limits.first_burst, 65536);
	assert_int_equal(cfg.limits.max_outstanding_r2t, 1);
	assert_true(cfg.limits.immediate_data);
	assert_false(cfg.limits.initial_r2t);

	assert_int_equal(cfg.ntargets, 1);
	struct config_target *t = &cfg.targets[0];
	assert_string_equal(t->name, "iqn.2026-11.org.lunar:disk1");
	assert_string_equal(t->alias, "disk1");
	assert_int_equal(t->nluns, 3);

	assert_int_equal(t->luns[0].lun, 0);
	assert_ptr_equal(t->luns[0].bs.type, backend_type_find("file"));
	assert_string_equal(backend_config_value(&t->luns[0].bs, "path")->str, "/var/lib/lunar/disk1.img");
	assert_int_equal(backend_config_value(&t->luns[0].bs, "size")->size, 10ull << 30);
	assert_true(backend_config_value(&t->luns[0].bs, "direct")->given);
	assert_false(backend_config_value(&t->luns[0].bs, "direct")->flag);
	assert_null(t->luns[0].serial);

	assert_int_equal(t->luns[1].lun, 1);
	assert_ptr_equal(t->luns[1].bs.type, backend_type_find("blockdev"));
	assert_string_equal(backend_config_value(&t->luns[1].bs, "path")->str, "/dev/sdb");
	assert_null(backend_config_value(&t->luns[1].bs, "size"));
	assert_false(backend_config_value(&t->luns[1].bs, "direct")->given);

	assert_int_equal(t->luns[2].lun, 2);
	assert_ptr_equal(t->luns[2].bs.type, backend_type_find("memory"));
	assert_null(backend_config_value(&t->luns[2].bs, "path"));
	assert_int_equal(backend_config_value(&t->luns[2].bs, "size")->size, 512ull << 20);
	assert_int_equal(t->luns[2].bs.block_size, 4096);
	assert_false(t->luns[2].bs.readonly);
	assert_string_equal(t->luns[2].serial, "abc123");
	config_free(&cfg);
	assert_null(cfg.targets);
}

static void docs_example_file_loads(void **state)
{
	char src[PATH_MAX], path[PATH_MAX + 64];
	snprintf(src, sizeof(src), "%s", __FILE__);
	snprintf(path, sizeof(path), "%s/../../../docs/lunar.conf.example", dirname(src));
	struct lunar_config cfg;
	if (config_load_file(path, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(cfg.ntargets >= 1);
	config_free(&cfg);
}

static void absent_keys_take_defaults(void **state)
{
	struct lunar_config cfg = load_ok("");
	struct iscsi_target_limits def;
	iscsi_target_limits_default(&def);
	assert_string_equal(cfg.state_dir, LUNAR_DEFAULT_STATE_DIR);
	assert_int_equal(cfg.threads, 0);
	assert_int_equal(cfg.nportals, 2);
	assert_string_equal(cfg.portals[1].text, "[::]:3260");
	assert_int_equal(cfg.ntargets, 0);
	assert_int_equal(cfg.limits.max_recv_dsl, def.max_recv_dsl);
	assert_int_equal(cfg.limits.max_burst, def.max_burst);
	assert_int_equal(cfg.limits.first_burst, def.first_burst);
	assert_int_equal(cfg.limits.max_outstanding_r2t, def.max_outstanding_r2t);
	assert_int_equal(cfg.limits.immediate_data, def.immediate_data);
	assert_int_equal(cfg.limits.initial_r2t, def.initial_r2t);
	assert_int_equal(cfg.limits.max_connections, def.max_connections);
	config_free(&cfg);
}

static void relative_path_is_resolved_against_state_dir(void **state)
{
	struct lunar_config cfg = load_ok("state_dir = \"/srv/luns\";\n"
					  TARGET("{ lun = 3; backend = \"file\"; path = \"a/b.img\"; }"));
	assert_string_equal(backend_config_value(&cfg.targets[0].luns[0].bs, "path")->str, "/srv/luns/a/b.img");
	assert_int_equal(cfg.targets[0].luns[0].lun, 3);
	config_free(&cfg);
}

static void integer_size_and_int64_literal_are_bytes(void **state)
{
	struct lunar_config cfg = load_ok(TARGET("{ lun = 0; backend = \"memory\"; size = 1048576; },\n"
						 "{ lun = 1; backend = \"memory\"; size = 10737418240L; }"));
	assert_int_equal(backend_config_value(&cfg.targets[0].luns[0].bs, "size")->size, 1048576);
	assert_int_equal(backend_config_value(&cfg.targets[0].luns[1].bs, "size")->size, 10ull << 30);
	config_free(&cfg);
}

static void integer_wrapped_by_libconfig_is_an_error(void **state)
{
	load_fails(TARGET("{ lun = 0; backend = \"memory\"; size = 4294967301; }"), 3,
		   "targets.[0].luns.[0].size", "must be a size");
	load_fails("threads = 4294967297;\n", 1, "threads", "'L' suffix");
}

static void several_luns_on_one_line_do_not_confuse_the_wrap_check(void **state)
{
	struct lunar_config cfg = load_ok(TARGET("{ lun = 0; backend = \"memory\"; size = 4096; }, "
						 "{ lun = 1; backend = \"memory\"; size = 8192; }"));
	assert_int_equal(backend_config_value(&cfg.targets[0].luns[1].bs, "size")->size, 8192);
	config_free(&cfg);
}

static void syntax_error_names_file_and_line(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(config_load_string("threads = 1;\nportals = [ \"x\" \n", "test.conf", &cfg, err, sizeof(err)),
			 -1);
	assert_int_equal(strncmp(err, "test.conf:3: ", 13), 0);
}

static void unknown_key_is_an_error(void **state)
{
	load_fails(TARGET("{ lun = 0; backend = \"memory\"; size = \"1M\"; raedonly = true; }"), 3,
		   "targets.[0].luns.[0].raedonly", "unknown key");
	load_fails("thread = 4;\n", 1, "thread", "unknown key");
	load_fails("iscsi = { max_burst = 4096; };\n", 1, "iscsi.max_burst", "unknown key");
}

static void wrong_type_is_an_error(void **state)
{
	load_fails("threads = \"4\";\n", 1, "threads", "must be an integer");
	load_fails("\n\niscsi = { immediate_data = 1; };\n", 3, "iscsi.immediate_data", "true or false");
	load_fails("portals = \"127.0.0.1\";\n", 1, "portals", "array");
	load_fails("targets = { name = \"iqn.2026-11.org.lunar:t\"; };\n", 1, "targets", "must be a list");
	load_fails(TARGET("{ lun = \"0\"; backend = \"memory\"; size = \"1M\"; }"), 3, "targets.[0].luns.[0].lun",
		   "must be an integer");
}

static void thin_is_a_boolean_every_backend_takes(void **state)
{
	struct lunar_config cfg = load_ok(TARGET("{ lun = 0; backend = \"blockdev\"; path = \"/dev/sdb\"; thin = true; }"));
	assert_true(backend_config_value(&cfg.targets[0].luns[0].bs, "thin")->flag);
	config_free(&cfg);
	cfg = load_ok(TARGET("{ lun = 0; backend = \"memory\"; size = \"1M\"; thin = false; }"));
	assert_true(backend_config_value(&cfg.targets[0].luns[0].bs, "thin")->given);
	assert_false(backend_config_value(&cfg.targets[0].luns[0].bs, "thin")->flag);
	config_free(&cfg);
	load_fails(TARGET("{ lun = 0; backend = \"file\"; path = \"d.img\"; size = \"1M\"; thin = 1; }"), 3,
		   "targets.[0].luns.[0].thin", "true or false");
}

static void missing_required_keys_are_errors(void **state)
{
	load_fails("targets = ( { luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } ); } );\n", 1,
		   "targets.[0].name", "is required");
	load_fails("targets = (\n { name = \"iqn.2026-11.org.lunar:t\"; }\n);\n", 2, "targets.[0].luns",
		   "is required");
	load_fails(TARGET("{ backend = \"memory\"; size = \"1M\"; }"), 3, "targets.[0].luns.[0].lun", "is required");
	load_fails(TARGET("{ lun = 0; size = \"1M\"; }"), 3, "targets.[0].luns.[0].backend", "is required");
	load_fails(TARGET("{ lun = 0; backend = \"memory\"; }"), 3, "targets.[0].luns.[0].size",
		   "required for backend \"memory\"");
	load_fails(TARGET("{ lun = 0; backend = \"file\"; size = \"1M\"; }"), 3, "targets.[0].luns.[0].path",
		   "required for backend \"file\"");
	load_fails(TARGET("{ lun = 0; backend = \"blockdev\"; }"), 3, "targets.[0].luns.[0].path",
		   "required for backend \"blockdev\"");
}

static void key_that_does_not_apply_to_the_backend_is_an_error(void **state)
{
	load_fails(TARGET("{ lun = 0; backend = \"blockdev\"; path = \"/dev/sdb\"; size = \"1G\"; }"), 3,
		   "targets.[0].luns.[0].size", "does not apply to backend \"blockdev\"");
	load_fails(TARGET("{ lun = 0; backend = \"memory\"; size = \"1G\"; path = \"x\"; }"), 3,
		   "targets.[0].luns.[0].path", "does not apply");
}

static void bad_size_names_the_lun_key(void **state)
{
	load_fails(TARGET("{ lun = 0; backend = \"memory\"; size = \"1M\"; },\n"
			  "{ lun = 1; backend = \"memory\"; size = \"10X\"; }"),
		   4, "targets.[0].luns.[1].size", "must be a size like \"10G\"");
	load_fails(TARGET("{ lun = 0; backend = \"memory\"; size = 0; }"), 3, "targets.[0].luns.[0].size",
		   "must be a size");
}

/* A store registered from outside src/control: its keys are parsed and
 * checked from its table alone. */
static const struct backend_key test_store_keys[] = {
	{ .name = "pool", .type = BACKEND_KEY_STRING, .required = true, .help = "pool name" },
	{ .name = "depth", .type = BACKEND_KEY_INT, .min = 1, .max = 64, .help = "queue depth" },
	{ .name = "conf", .type = BACKEND_KEY_PATH, .help = "cluster config file" },
};

static const struct backend_type test_store = {
	.name = "teststore", .keys = test_store_keys, .nkeys = ARRAY_SIZE(test_store_keys),
};

static void registered_backend_keys_are_parsed_from_its_table(void **state)
{
	struct lunar_config cfg = load_ok(TARGET("{ lun = 0; backend = \"teststore\"; pool = \"rbd\"; depth = 8; "
						 "conf = \"ceph.conf\"; block_size = 4096; }"));
	const struct backend_config *bs = &cfg.targets[0].luns[0].bs;
	assert_ptr_equal(bs->type, &test_store);
	assert_string_equal(backend_config_value(bs, "pool")->str, "rbd");
	assert_int_equal(backend_config_value(bs, "depth")->num, 8);
	assert_string_equal(backend_config_value(bs, "conf")->str, "/var/lib/lunar/ceph.conf");
	assert_int_equal(bs->block_size, 4096);
	char what[128];
	backend_config_describe(bs, what, sizeof(what));
	assert_string_equal(what, "teststore rbd /var/lib/lunar/ceph.conf");
	config_free(&cfg);
}

static void registered_backend_key_errors_name_the_key(void **state)
{
	load_fails(TARGET("{ lun = 0; backend = \"teststore\"; }"), 3, "targets.[0].luns.[0].pool",
		   "is required for backend \"teststore\" (pool name)");
	load_fails(TARGET("{ lun = 0; backend = \"teststore\"; pool = \"p\"; depth = 65; }"), 3,
		   "targets.[0].luns.[0].depth", "must be in 1..64");
	load_fails(TARGET("{ lun = 0; backend = \"teststore\"; pool = \"p\"; path = \"x\"; }"), 3,
		   "targets.[0].luns.[0].path", "does not apply to backend \"teststore\"");
	load_fails(TARGET("{ lun = 0; backend = \"memory\"; size = \"1M\"; pool = \"p\"; }"), 3,
		   "targets.[0].luns.[0].pool", "does not apply to backend \"memory\"");
	load_fails(TARGET("{ lun = 0; backend = \"tape\"; }"), 3, "targets.[0].luns.[0].backend",
		   "must be \"file\", \"blockdev\", \"memory\" or \"teststore\"");
}

static void unknown_lun_key_lists_the_keys_of_every_backend(void **state)
{
	load_fails(TARGET("{ lun = 0; backend = \"memory\"; size = \"1M\"; sise = 1; }"), 3,
		   "targets.[0].luns.[0].sise",
		   "unknown key (known here: backend, lun, block_size, physical_block_size, readonly, serial, sanitize_rate, path, direct, thin, size, atomic_journal, inline_reads, zero_copy, pool, "
		   "depth, conf)");
}

static void unknown_backend_is_an_error(void **state)
{
	load_fails(TARGET("{ lun = 0; backend = \"rbd\"; }"), 3, "targets.[0].luns.[0].backend", "\"memory\"");
}

static void duplicate_lun_is_an_error(void **state)
{
	load_fails(TARGET("{ lun = 4; backend = \"memory\"; size = \"1M\"; },\n"
			  "{ lun = 4; backend = \"memory\"; size = \"1M\"; }"),
		   4, "targets.[0].luns.[1].lun", "LUN 4 is already defined at line 3");
}

static void lun_above_255_is_an_error(void **state)
{
	load_fails(TARGET("{ lun = 256; backend = \"memory\"; size = \"1M\"; }"), 3, "targets.[0].luns.[0].lun",
		   "0..255");
}

/* A target whose LUNs are added later (lunarctl target create, then lun
 * create), or whose last LUN was deleted. */
static void target_without_luns_is_allowed(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(config_load_string("targets = ( { name = \"iqn.2026-11.org.lunar:t\"; luns = (); } );\n",
					    "test.conf", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ntargets, 1);
	assert_int_equal(cfg.targets[0].nluns, 0);
	config_free(&cfg);
}

static void duplicate_target_name_is_an_error(void **state)
{
	load_fails("targets = (\n"
		   "{ name = \"iqn.2026-11.org.lunar:t\"; luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } ); },\n"
		   "{ name = \"iqn.2026-11.org.lunar:t\"; luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } ); }\n"
		   ");\n",
		   3, "targets.[1].name", "already defined at line 2");
}

static void invalid_target_name_is_an_error(void **state)
{
	load_fails("targets = ( { name = \"iqn.2026-11.org.Lunar:t\"; luns = ( { lun = 0; backend = \"memory\"; "
		   "size = \"1M\"; } ); } );\n",
		   1, "targets.[0].name", "lowercase");
	load_fails("targets = ( { name = \"disk1\"; luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } ); } );\n",
		   1, "targets.[0].name", "not an iSCSI name");
}

static void physical_block_size_is_read(void **state)
{
	struct lunar_config cfg = load_ok(TARGET("{ lun = 0; backend = \"memory\"; size = \"1M\"; "
						 "physical_block_size = 4096; }"));
	assert_int_equal(cfg.targets[0].luns[0].bs.physical_block_size, 4096);
	assert_int_equal(cfg.targets[0].luns[0].bs.block_size, 0);
	config_free(&cfg);
}

static void physical_block_size_other_than_512_or_4096_is_an_error(void **state)
{
	load_fails(TARGET("{ lun = 0; backend = \"memory\"; size = \"1M\"; physical_block_size = 2048; }"), 3,
		   "targets.[0].luns.[0].physical_block_size", "512 or 4096");
}

static void block_size_other_than_512_or_4096_is_an_error(void **state)
{
	load_fails(TARGET("{ lun = 0; backend = \"memory\"; size = \"1M\"; block_size = 1024; }"), 3,
		   "targets.[0].luns.[0].block_size", "512 or 4096");
}

static void serial_must_be_printable_ascii(void **state)
{
	load_fails(TARGET("{ lun = 0; backend = \"memory\"; size = \"1M\"; serial = \"a\\tb\"; }"), 3,
		   "targets.[0].luns.[0].serial", "printable");
}

static void threads_out_of_range_is_an_error(void **state)
{
	load_fails("threads = 257;\n", 1, "threads", "0..256");
	load_fails("threads = -1;\n", 1, "threads", "0..256");
}

static void poll_us_defaults_on_and_is_bounded(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(config_load_string("threads = 1;\n", "test.conf", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.poll_us, CONFIG_DEFAULT_POLL_US);
	config_free(&cfg);
	assert_int_equal(config_load_string("poll_us = 0;\n", "test.conf", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.poll_us, 0);
	config_free(&cfg);
	load_fails("poll_us = 1001;\n", 1, "poll_us", "0..1000");
}

static void memory_budget_is_a_size_in_range(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(config_load_string("memory_budget = \"256M\";\n", "test.conf", &cfg, err,
					    sizeof(err)), 0);
	assert_int_equal(cfg.memory_budget, 256ull << 20);
	config_free(&cfg);
	assert_int_equal(config_load_string("threads = 1;\n", "test.conf", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.memory_budget, 0);
	config_free(&cfg);
	load_fails("memory_budget = \"8M\";\n", 1, "memory_budget", "16M and 1T");
	load_fails("memory_budget = \"2T\";\n", 1, "memory_budget", "16M and 1T");
	load_fails("memory_budget = \"lots\";\n", 1, "memory_budget", "size");
}

/* The CPUs this test may run on: the only ones cpu_affinity accepts. */
static int allowed_cpus(int *cpus, int max)
{
	cpu_set_t set;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	int n = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus[n++] = cpu;
	return n;
}

static void cpu_affinity_lists_cpus_lunard_may_run_on(void **state)
{
	int cpus[2];
	int n = allowed_cpus(cpus, 2);
	char text[128];
	snprintf(text, sizeof(text), "cpu_affinity = [ %d, %d ];\n", cpus[0], cpus[n - 1]);
	struct lunar_config cfg;
	assert_int_equal(config_load_string(text, "test.conf", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.cpu_affinity.n, 2);
	assert_int_equal(cfg.cpu_affinity.cpu[0], cpus[0]);
	assert_int_equal(cfg.cpu_affinity.cpu[1], cpus[n - 1]);
	config_free(&cfg);
	assert_int_equal(config_load_string("threads = 1;\n", "test.conf", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.cpu_affinity.n, 0);
	config_free(&cfg);
	load_fails("cpu_affinity = [];\n", 1, "cpu_affinity", "list of CPU numbers");
	load_fails("cpu_affinity = 0;\n", 1, "cpu_affinity", "list of CPU numbers");
	load_fails("cpu_affinity = [ \"0\" ];\n", 1, "cpu_affinity.[0]", "must be a CPU number");
	load_fails("cpu_affinity = [ 100000 ];\n", 1, "cpu_affinity.[0]", "CPU 100000 does not exist");
	load_fails("cpu_affinity = [ -1 ];\n", 1, "cpu_affinity.[0]", "CPU -1 does not exist");
}

/* A CPU that exists but is outside the process's affinity mask (taskset,
 * a cpuset) is refused by name. */
static void cpu_affinity_refuses_a_cpu_outside_the_allowed_set(void **state)
{
	int cpus[2];
	if (allowed_cpus(cpus, 2) < 2)
		skip();
	cpu_set_t all, one;
	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	CPU_ZERO(&one);
	CPU_SET(cpus[0], &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	char text[128], why[128];
	snprintf(text, sizeof(text), "cpu_affinity = [ %d ];\n", cpus[1]);
	snprintf(why, sizeof(why), "CPU %d is not one lunard may run on (its allowed CPUs: %d)", cpus[1], cpus[0]);
	load_fails(text, 1, "cpu_affinity.[0]", why);
	assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);
}

static void cpu_affinity_option_takes_numbers_and_ranges(void **state)
{
	int cpus[2];
	int n = allowed_cpus(cpus, 2);
	char text[64], why[256];
	struct config_cpus got;
	snprintf(text, sizeof(text), "%d,%d-%d", cpus[n - 1], cpus[0], cpus[0]);
	assert_int_equal(config_cpus_parse(text, &got, why, sizeof(why)), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.cpu[0], cpus[n - 1]);
	assert_int_equal(got.cpu[1], cpus[0]);
	config_cpus_free(&got);
	const char *bad[] = { "", "x", "0,", ",0", "1-", "3-2", "0;1" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(config_cpus_parse(bad[i], &got, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "want CPU numbers and ranges"));
		assert_int_equal(got.n, 0);
	}
	assert_int_equal(config_cpus_parse("100000", &got, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "CPU 100000 does not exist"));
}

static void limits_group_sets_each_limit_in_its_range(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(config_load_string("limits = { nop_interval_s = 5; max_logins_per_address = 2;\n"
					    "  tx_queue_bytes = 0; };\n", "test.conf", &cfg, err,
					    sizeof(err)), 0);
	assert_int_equal(cfg.peer_limits.conn.nop_interval_s, 5);
	assert_int_equal(cfg.peer_limits.login.max_logins_per_address, 2);
	assert_int_equal(cfg.peer_limits.conn.tx_queue_bytes, 0);
	/* The rest keep lunard's defaults. */
	assert_int_equal(cfg.peer_limits.conn.nop_timeout_s, 15);
	assert_int_equal(cfg.peer_limits.login.login_timeout_s, 30);
	config_free(&cfg);
	load_fails("limits = {\n nop_interval = 5; };\n", 2, "limits.nop_interval", "unknown");
	load_fails("limits = {\n login_timeout_s = 0; };\n", 2, "limits.login_timeout_s", "1..3600");
	load_fails("limits = {\n keepalive_count = \"6\"; };\n", 2, "limits.keepalive_count", "integer");
}

static void bad_portal_is_an_error(void **state)
{
	load_fails("portals = [\n \"127.0.0.1:3260\",\n \"localhost:3260\" ];\n", 3, "portals.[1]", "host name");
	load_fails("portals = [ \"127.0.0.1:3260\", \"127.0.0.1\" ];\n", 1, "portals.[1]", "is already a portal");
	load_fails("portals = [ ];\n", 1, "portals", "at least one");
}

static void iscsi_limits_out_of_range_are_errors(void **state)
{
	load_fails("iscsi = { max_recv_data_segment_length = 511; };\n", 1, "iscsi.max_recv_data_segment_length",
		   "512..16777215");
	load_fails("iscsi = { max_burst_length = 16777216; };\n", 1, "iscsi.max_burst_length", "512..16777215");
	load_fails("iscsi = { max_outstanding_r2t = 0; };\n", 1, "iscsi.max_outstanding_r2t", "1..65535");
}

static void first_burst_above_max_burst_is_an_error(void **state)
{
	load_fails("iscsi = {\n max_burst_length = 8192;\n first_burst_length = 16384;\n};\n", 3,
		   "iscsi.first_burst_length", "exceeds max_burst_length");
	load_fails("iscsi = {\n max_burst_length = 8192;\n};\n", 2, "iscsi.max_burst_length",
		   "below first_burst_length");
}

static void relative_state_dir_is_an_error(void **state)
{
	load_fails("state_dir = \"luns\";\n", 1, "state_dir", "absolute");
}

static void missing_file_error_names_the_path(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(config_load_file("/nonexistent/lunar.conf", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/lunar.conf: No such file or directory");
}

static void file_errors_name_the_file(void **state)
{
	char path[] = "/tmp/lunar-config-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "\nthreads = 999;\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	struct lunar_config cfg;
	assert_int_equal(config_load_file(path, &cfg, err, sizeof(err)), -1);
	unlink(path);
	char want[128];
	snprintf(want, sizeof(want), "%s:2: key 'threads': must be in 0..256", path);
	assert_string_equal(err, want);
}

static void default_config_has_one_target_with_a_1g_file_lun(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(config_load_default(&cfg, "/tmp/lunar-state"), 0);
	assert_string_equal(cfg.state_dir, "/tmp/lunar-state");
	assert_int_equal(cfg.nportals, 2);
	assert_string_equal(cfg.portals[0].text, "0.0.0.0:3260");
	assert_string_equal(cfg.portals[1].text, "[::]:3260");
	assert_int_equal(cfg.ntargets, 1);
	assert_string_equal(cfg.targets[0].name, LUNAR_DEFAULT_TARGET);
	assert_string_equal(cfg.targets[0].alias, "default");
	assert_int_equal(cfg.targets[0].nluns, 1);
	const struct config_lun *l = &cfg.targets[0].luns[0];
	assert_int_equal(l->lun, 0);
	assert_ptr_equal(l->bs.type, backend_type_find("file"));
	assert_string_equal(backend_config_value(&l->bs, "path")->str, "/tmp/lunar-state/default-lun0.img");
	assert_int_equal(backend_config_value(&l->bs, "size")->size, 1ull << 30);
	assert_int_equal(l->bs.block_size, 512);
	assert_null(config_check_iscsi_name(cfg.targets[0].name));
	config_free(&cfg);
}

static void set_portals_replaces_the_list(void **state)
{
	struct lunar_config cfg;
	assert_int_equal(config_load_default(&cfg, NULL), 0);
	assert_string_equal(cfg.state_dir, LUNAR_DEFAULT_STATE_DIR);
	struct config_portal p;
	assert_int_equal(config_parse_portal("127.0.0.1:3261", &p), 0);
	assert_int_equal(config_set_portals(&cfg, &p, 1), 0);
	assert_int_equal(cfg.nportals, 1);
	assert_string_equal(cfg.portals[0].text, "127.0.0.1:3261");
	config_free(&cfg);
}

int main(void)
{
	if (backend_type_register(&test_store) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(brief_example_parses_to_the_right_structs),
		cmocka_unit_test(docs_example_file_loads),
		cmocka_unit_test(absent_keys_take_defaults),
		cmocka_unit_test(relative_path_is_resolved_against_state_dir),
		cmocka_unit_test(integer_size_and_int64_literal_are_bytes),
		cmocka_unit_test(integer_wrapped_by_libconfig_is_an_error),
		cmocka_unit_test(several_luns_on_one_line_do_not_confuse_the_wrap_check),
		cmocka_unit_test(syntax_error_names_file_and_line),
		cmocka_unit_test(unknown_key_is_an_error),
		cmocka_unit_test(registered_backend_keys_are_parsed_from_its_table),
		cmocka_unit_test(registered_backend_key_errors_name_the_key),
		cmocka_unit_test(unknown_lun_key_lists_the_keys_of_every_backend),
		cmocka_unit_test(wrong_type_is_an_error),
		cmocka_unit_test(thin_is_a_boolean_every_backend_takes),
		cmocka_unit_test(missing_required_keys_are_errors),
		cmocka_unit_test(key_that_does_not_apply_to_the_backend_is_an_error),
		cmocka_unit_test(bad_size_names_the_lun_key),
		cmocka_unit_test(unknown_backend_is_an_error),
		cmocka_unit_test(duplicate_lun_is_an_error),
		cmocka_unit_test(lun_above_255_is_an_error),
		cmocka_unit_test(target_without_luns_is_allowed),
		cmocka_unit_test(duplicate_target_name_is_an_error),
		cmocka_unit_test(invalid_target_name_is_an_error),
		cmocka_unit_test(block_size_other_than_512_or_4096_is_an_error),
		cmocka_unit_test(physical_block_size_is_read),
		cmocka_unit_test(physical_block_size_other_than_512_or_4096_is_an_error),
		cmocka_unit_test(serial_must_be_printable_ascii),
		cmocka_unit_test(threads_out_of_range_is_an_error),
		cmocka_unit_test(poll_us_defaults_on_and_is_bounded),
		cmocka_unit_test(memory_budget_is_a_size_in_range),
		cmocka_unit_test(cpu_affinity_lists_cpus_lunard_may_run_on),
		cmocka_unit_test(cpu_affinity_refuses_a_cpu_outside_the_allowed_set),
		cmocka_unit_test(cpu_affinity_option_takes_numbers_and_ranges),
		cmocka_unit_test(limits_group_sets_each_limit_in_its_range),
		cmocka_unit_test(bad_portal_is_an_error),
		cmocka_unit_test(iscsi_limits_out_of_range_are_errors),
		cmocka_unit_test(first_burst_above_max_burst_is_an_error),
		cmocka_unit_test(relative_state_dir_is_an_error),
		cmocka_unit_test(missing_file_error_names_the_path),
		cmocka_unit_test(file_errors_name_the_file),
		cmocka_unit_test(default_config_has_one_target_with_a_1g_file_lun),
		cmocka_unit_test(set_portals_replaces_the_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
