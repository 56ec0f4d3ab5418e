/* Unit tests for changes applied to a served registry (running.c with
 * targets.c), with a logged-in I_T nexus on a real data-plane loop: what
 * is in use is refused without RUNNING_FORCE and ends cleanly with it, a
 * grown LUN tells every nexus, access follows the new document, and a
 * change that fails halfway is undone. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/running.h"
#include "control/targets.h"
#include "util/log.h"

#define T_A "iqn.2026-11.org.lunar:a"
#define T_B "iqn.2026-11.org.lunar:b"
#define T_C "iqn.2026-11.org.lunar:c"
#define MEM(n) "{ lun = " #n "; backend = \"memory\"; size = \"1M\"; }"

static char dir[64];
static char err[512];
static struct loop dp;
static pthread_t dp_thread;
static struct loop *const readers[] = { &dp };
static struct iscsi_host host;
static struct lunar_target *held; /* the session's reference to T_A */
static struct scsi_nexus nexus;
static _Atomic unsigned ends;

static void nexus_drop(struct scsi_nexus *n, uint16_t lun)
{
	(void)n;
	(void)lun;
}

static void nexus_removed(struct scsi_task *task, void *arg)
{
	(void)task;
	(void)arg;
}

static void nexus_end(struct scsi_nexus *n)
{
	(void)n;
	atomic_fetch_add(&ends, 1);
}

static const struct scsi_nexus_ops nexus_ops = {
	.drop_unexecuted = nexus_drop, .removed = nexus_removed, .end = nexus_end,
};

static void *dp_main(void *arg)
{
	(void)arg;
	loop_run(&dp);
	return NULL;
}

static void stop_here(struct loop_msg *msg)
{
	(void)msg;
	dp.stop = true;
}

/* The document: T_A (open or not) with a file LUN 0 of a0_size and LUN 1,
 * T_B with LUN 0 and extra (more targets). */
static const char *doc(bool a_open, const char *a0_size, bool a_lun1, const char *b_luns, const char *extra)
{
	static char text[2048];
	snprintf(text, sizeof(text),
		 "state_dir = \"%s\";\n"
		 "targets = ( { name = \"" T_A "\"; open = %s;\n"
		 "  luns = ( { lun = 0; backend = \"file\"; path = \"a0.img\"; size = \"%s\"; }%s ); },\n"
		 "  { name = \"" T_B "\"; open = true; luns = ( %s ); }%s );\n",
		 dir, a_open ? "true" : "false", a0_size, a_lun1 ? ", " MEM(1) : "", b_luns, extra);
	return text;
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LL_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/lunar-live.XXXXXX");
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/lunar.conf", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(doc(true, "1M", true, MEM(0), ""), f);
	fclose(f);
	struct running_options o = { .config_path = path };
	assert_int_equal(running_init(&o, err, sizeof(err)), 0);
	assert_int_equal(targets_build(running_config()), 0);
	assert_int_equal(loop_init(&dp, 64), 0);
	assert_int_equal(pthread_create(&dp_thread, NULL, dp_main, NULL), 0);
	targets_set_readers(readers, 1);
	running_serve(&dp, &host);
	held = targets_get(T_A);
	assert_non_null(held);
	scsi_nexus_init(&nexus, &held->scsi, "iqn.2026-11.org.test:init,i,0x1", &dp, &nexus_ops);
	memset(nexus.ua, 0, sizeof(nexus.ua));
	atomic_store(&ends, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	scsi_nexus_fini(&nexus);
	targets_put(held);
	static struct loop_msg stop = { .fn = stop_here };
	loop_post(&dp, &stop);
	pthread_join(dp_thread, NULL);
	targets_free();
	loop_fini(&dp);
	running_fini();
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int apply(const char *text, unsigned flags)
{
	err[0] = '\0';
	return running_apply_text(text, flags, NULL, err, sizeof(err));
}

static bool served(const char *name, uint16_t lun)
{
	struct lunar_target *t = targets_get(name);
	bool yes = t && scsi_target_lun_map(&t->scsi)->lus[lun];
	targets_put(t);
	return yes;
}

static void wait_for_end(void)
{
	for (int i = 0; i < 5000 && atomic_load(&ends) == 0; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&ends), 1);
}

static void lun_in_use_is_kept_without_force(void **state)
{
	(void)state;
	assert_int_equal(apply(doc(true, "1M", false, MEM(0), ""), 0), -EBUSY);
	assert_string_equal(err, "target " T_A ": LUN 1 is in use by 1 session (force to delete)");
	assert_true(served(T_A, 1));
	assert_int_equal(running_config()->targets[0].nluns, 2);
}

static void forced_lun_delete_tells_the_other_luns(void **state)
{
	(void)state;
	assert_int_equal(apply(doc(true, "1M", false, MEM(0), ""), RUNNING_FORCE), 0);
	assert_false(served(T_A, 1));
	assert_true(served(T_A, 0));
	assert_true(atomic_load(&nexus.ua[0]) & SCSI_UA_LUNS_CHANGED);
	assert_int_equal(atomic_load(&ends), 0);
}

static void target_in_use_is_kept_without_force(void **state)
{
	(void)state;
	const char *without_a = "targets = ( { name = \"" T_B "\"; open = true; luns = ( " MEM(0) " ); } );\n";
	assert_int_equal(apply(without_a, 0), -EBUSY);
	assert_string_equal(err, "target " T_A " is in use by 1 session (force to delete)");
	assert_true(served(T_A, 0));
}

static void forced_target_delete_ends_its_sessions(void **state)
{
	(void)state;
	const char *without_a = "targets = ( { name = \"" T_B "\"; open = true; luns = ( " MEM(0) " ); } );\n";
	assert_int_equal(apply(without_a, RUNNING_FORCE), 0);
	assert_null(targets_get(T_A));
	wait_for_end();
	/* The session's target serves nothing and admits no one. */
	assert_null(scsi_target_lun_map(&held->scsi)->lus[0]);
	assert_null(scsi_target_lun_map(&held->scsi)->lus[1]);
	assert_false(targets_authorize(held, "iqn.2026-11.org.test:init", ""));
}

static void unrelated_target_goes_without_force(void **state)
{
	(void)state;
	assert_int_equal(apply(doc(true, "1M", true, MEM(0), ", { name = \"" T_C "\"; luns = ( " MEM(0) " ); }"), 0),
			 0);
	assert_true(served(T_C, 0));
	assert_int_equal(apply(doc(true, "1M", true, MEM(0), ""), 0), 0);
	assert_null(targets_get(T_C));
	usleep(20000);
	assert_int_equal(atomic_load(&ends), 0);
	assert_true(served(T_A, 1));
}

/* lunarctl's order: a target, then its LUNs; and back to none. */
static void target_without_luns_then_with_one(void **state)
{
	(void)state;
	assert_int_equal(apply(doc(true, "1M", true, MEM(0), ", { name = \"" T_C "\"; luns = ( ); }"), 0), 0);
	struct lunar_target *c = targets_get(T_C);
	assert_non_null(c);
	targets_put(c);
	assert_false(served(T_C, 0));
	assert_int_equal(apply(doc(true, "1M", true, MEM(0), ", { name = \"" T_C "\"; luns = ( " MEM(0) " ); }"), 0), 0);
	assert_true(served(T_C, 0));
	assert_int_equal(apply(doc(true, "1M", true, MEM(0), ", { name = \"" T_C "\"; luns = ( ); }"), 0), 0);
	assert_false(served(T_C, 0));
}

static void grown_lun_tells_every_nexus(void **state)
{
	(void)state;
	assert_int_equal(apply(doc(true, "2M", true, MEM(0), ""), 0), 0);
	assert_true(atomic_load(&nexus.ua[0]) & SCSI_UA_CAPACITY_CHANGED);
	assert_int_equal(atomic_load(&scsi_target_lun_map(&held->scsi)->lus[0]->nblocks), 4096);
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "%s/a0.img", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 2 << 20);
}

static void access_follows_the_document(void **state)
{
	(void)state;
	assert_true(targets_authorize(held, "iqn.2026-11.org.test:other", ""));
	assert_int_equal(apply(doc(false, "1M", true, MEM(0), ""), 0), 0);
	assert_false(targets_authorize(held, "iqn.2026-11.org.test:other", ""));
}

/* A new serial is a new store on the same file, which the old store
 * holds locked until it is closed. */
static void forced_replace_reopens_the_same_file(void **state)
{
	(void)state;
	char text[2048];
	snprintf(text, sizeof(text),
		 "state_dir = \"%s\";\n"
		 "targets = ( { name = \"" T_A "\"; open = true;\n"
		 "  luns = ( { lun = 0; backend = \"file\"; path = \"a0.img\"; size = \"1M\"; serial = \"new\"; }, "
		 MEM(1) " ); },\n"
		 "  { name = \"" T_B "\"; open = true; luns = ( " MEM(0) " ); } );\n", dir);
	assert_string_not_equal(scsi_target_lun_map(&held->scsi)->lus[0]->serial, "new");
	assert_int_equal(apply(text, 0), -EBUSY);
	assert_string_equal(err, "target " T_A ": LUN 0 is in use by 1 session (force to replace its store)");
	assert_int_equal(apply(text, RUNNING_FORCE), 0);
	assert_string_equal(scsi_target_lun_map(&held->scsi)->lus[0]->serial, "new");
	assert_true(atomic_load(&nexus.ua[1]) & SCSI_UA_LUNS_CHANGED);
	assert_true(served(T_A, 1));
}

static const char *doc_acl(const char *initiator)
{
	static char text[2048];
	snprintf(text, sizeof(text),
		 "state_dir = \"%s\";\n"
		 "targets = ( { name = \"" T_A "\"; acl = ( { initiator = \"%s\"; } );\n"
		 "  luns = ( { lun = 0; backend = \"file\"; path = \"a0.img\"; size = \"1M\"; }, " MEM(1) " ); },\n"
		 "  { name = \"" T_B "\"; open = true; luns = ( " MEM(0) " ); } );\n", dir, initiator);
	return text;
}

static void revoked_initiator_loses_its_session(void **state)
{
	(void)state;
	assert_int_equal(apply(doc_acl("iqn.2026-11.org.test:someone-else"), 0), 0);
	wait_for_end();
}

static void initiator_still_listed_keeps_its_session(void **state)
{
	(void)state;
	/* Names compare without ASCII case (RFC 3722). */
	assert_int_equal(apply(doc_acl("iqn.2026-11.org.test:INIT"), 0), 0);
	usleep(20000);
	assert_int_equal(atomic_load(&ends), 0);
}

static void change_failing_halfway_is_undone(void **state)
{
	(void)state;
	const char *bad = doc(true, "1M", true, MEM(0) ", " MEM(2),
			      ", { name = \"" T_C "\"; luns = ( { lun = 0; backend = \"file\";"
			      " path = \"/nonexistent/lunar/c.img\"; size = \"1M\"; } ); }");
	assert_int_equal(apply(bad, 0), -ENOENT);
	assert_non_null(strstr(err, "added target " T_C));
	assert_false(served(T_B, 2));
	assert_null(targets_get(T_C));
	assert_int_equal(running_config()->ntargets, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lun_in_use_is_kept_without_force, setup, teardown),
		cmocka_unit_test_setup_teardown(forced_lun_delete_tells_the_other_luns, setup, teardown),
		cmocka_unit_test_setup_teardown(target_in_use_is_kept_without_force, setup, teardown),
		cmocka_unit_test_setup_teardown(forced_target_delete_ends_its_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(unrelated_target_goes_without_force, setup, teardown),
		cmocka_unit_test_setup_teardown(target_without_luns_then_with_one, setup, teardown),
		cmocka_unit_test_setup_teardown(grown_lun_tells_every_nexus, setup, teardown),
		cmocka_unit_test_setup_teardown(access_follows_the_document, setup, teardown),
		cmocka_unit_test_setup_teardown(forced_replace_reopens_the_same_file, setup, teardown),
		cmocka_unit_test_setup_teardown(revoked_initiator_loses_its_session, setup, teardown),
		cmocka_unit_test_setup_teardown(initiator_still_listed_keeps_its_session, setup, teardown),
		cmocka_unit_test_setup_teardown(change_failing_halfway_is_undone, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
