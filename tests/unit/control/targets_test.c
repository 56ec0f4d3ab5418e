/* The target registry changing at run time while a real data-plane loop
 * thread runs I/O: a LUN removed under in-flight commands, a LUN added. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/targets.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/macros.h"

#define NAME "iqn.2024-01.org.lunar:registry"
#define NIO 8
#define STORE_SIZE (1u << 20)

/* ---- a memory store whose I/O waits until the test opens a gate ---- */

static const struct backend_type *memory_type;
static struct backend_type gated_type;
static struct backend_io *held[NIO + 4]; /* loop thread only */
static _Atomic unsigned nheld;
static _Atomic unsigned ncloses;
static _Atomic int done_at_close = -1;

/* ---- the data-plane loop thread and the tasks it runs ---- */

struct io_task {
	struct scsi_task scsi;
	_Atomic bool done;
	uint8_t status, key, asc, ascq;
	uint32_t data_len;
	uint8_t data[16];
};

static struct loop dp;
static struct bufpool dp_pool;
static struct bufwait dp_bufs; /* the loop thread's task data */
static pthread_t dp_thread;
static struct loop *const readers[] = { &dp };
static struct lunar_target *target;
static struct scsi_nexus nexus;
static struct io_task ios[NIO];
static struct io_task probe;
static _Atomic unsigned ndone;

static void gated_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	io->bs = bs;
	held[atomic_fetch_add(&nheld, 1)] = io;
}

static void gated_close(struct backend *bs)
{
	atomic_store(&done_at_close, (int)atomic_load(&ndone));
	atomic_fetch_add(&ncloses, 1);
	memory_type->close(bs);
}

static void io_done(struct scsi_task *st)
{
	struct io_task *t = container_of(st, struct io_task, scsi);
	t->status = st->status;
	t->data_len = st->data_len;
	if (st->data_len)
		iov_gather(st->data_iov, st->data_iovcnt, 0, t->data,
			   st->data_len < sizeof(t->data) ? st->data_len : sizeof(t->data));
	if (st->sense_len) {
		t->key = st->sense[2] & 0xF;
		t->asc = st->sense[12];
		t->ascq = st->sense[13];
	}
	atomic_fetch_add(&ndone, 1);
	scsi_task_release(st);
	atomic_store(&t->done, true);
}

/* Prepares and (when accepted) executes cdb on LUN 0; on the loop thread. */
static void io_start(struct io_task *t, const uint8_t *cdb)
{
	memset(t, 0, sizeof(*t));
	t->scsi.nexus = &nexus;
	t->scsi.lun_raw = scsi_lun_encode(0);
	memcpy(t->scsi.cdb, cdb, SCSI_CDB_MAX);
	t->scsi.attr = SCSI_ATTR_SIMPLE;
	t->scsi.loop = &dp;
	t->scsi.done = io_done;
	if (scsi_task_prepare(&t->scsi))
		scsi_task_execute(&t->scsi);
	else
		io_done(&t->scsi);
}

static const uint8_t read10[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
static const uint8_t tur[16] = { 0x00 };
static const uint8_t report_luns[16] = { 0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };

struct job {
	struct loop_msg msg;
	void (*fn)(void);
};

static void job_run(struct loop_msg *msg)
{
	struct job *j = (struct job *)msg;
	j->fn();
	free(j);
}

/* Runs fn on the loop thread. */
static void on_loop(void (*fn)(void))
{
	struct job *j = calloc(1, sizeof(*j));
	assert_non_null(j);
	j->msg.fn = job_run;
	j->fn = fn;
	loop_post(&dp, &j->msg);
}

static void start_reads(void)
{
	for (unsigned i = 0; i < NIO; i++)
		io_start(&ios[i], read10);
}

static void open_gate(void)
{
	unsigned n = atomic_exchange(&nheld, 0);
	for (unsigned i = 0; i < n; i++)
		memory_type->submit(held[i]->bs, &dp, held[i]);
}

static const uint8_t *probe_cdb;

static void run_probe(void)
{
	io_start(&probe, probe_cdb);
}

static void stop_loop(void)
{
	dp.stop = true;
}

static void *dp_main(void *arg)
{
	bufwait_bind(&dp_bufs);
	loop_run(&dp);
	return NULL;
}

/* Waits (up to 10 s) until cond() holds. */
static void wait_for(bool (*cond)(void))
{
	for (int i = 0; i < 10000 && !cond(); i++)
		usleep(1000);
	assert_true(cond());
}

static bool all_reads_held(void)
{
	return atomic_load(&nheld) == NIO;
}

static bool all_reads_done(void)
{
	return atomic_load(&ndone) >= NIO;
}

static bool probe_done(void)
{
	return atomic_load(&probe.done);
}

static bool store_closed(void)
{
	return atomic_load(&ncloses) == 1;
}

static struct scsi_lu *lu0;

static bool only_tasks_and_test_hold_lu0(void)
{
	return atomic_load(&lu0->refs) == NIO + 1;
}

static void probe_on_lun0(const uint8_t *cdb)
{
	probe_cdb = cdb;
	atomic_store(&probe.done, false);
	on_loop(run_probe);
	wait_for(probe_done);
}

static struct config_lun memory_lun(uint16_t lun)
{
	struct config_lun cl = { .lun = lun };
	backend_config_init(&cl.bs, backend_type_find("memory"));
	cl.bs.block_size = 512;
	assert_int_equal(backend_config_set_size(&cl.bs, "size", STORE_SIZE), 0);
	return cl;
}

static int setup(void **state)
{
	log_set_level(LL_ERROR);
	static struct config_lun luns[1];
	static struct config_target ct = { .name = NAME, .luns = luns, .nluns = 1 };
	static struct lunar_config cfg = { .targets = &ct, .ntargets = 1 };
	luns[0] = memory_lun(0);
	assert_int_equal(targets_build(&cfg), 0);
	assert_int_equal(loop_init(&dp, 64), 0);
	assert_int_equal(bufpool_init(&dp_pool, SCSI_DATA_CHUNK, 2 * SCSI_MAX_XFER_BYTES,
				      SCSI_MAX_XFER_BYTES), 0);
	bufwait_init(&dp_bufs, &dp_pool, &dp, 4);
	assert_int_equal(pthread_create(&dp_thread, NULL, dp_main, NULL), 0);
	targets_set_readers(readers, 1);

	target = targets_get(NAME);
	assert_non_null(target);
	/* The control thread is the only writer, so it may read the map. */
	lu0 = scsi_target_lun_map(&target->scsi)->lus[0];
	memory_type = lu0->bs->type;
	gated_type = *memory_type;
	gated_type.submit = gated_submit;
	gated_type.close = gated_close;
	lu0->bs->type = &gated_type;

	scsi_nexus_init(&nexus, &target->scsi, "iqn.2024-01.org.test:init,i,0x1", &dp, NULL);
	memset(nexus.ua, 0, sizeof(nexus.ua));
	atomic_store(&nheld, 0);
	atomic_store(&ncloses, 0);
	atomic_store(&ndone, 0);
	atomic_store(&done_at_close, -1);
	return 0;
}

static int teardown(void **state)
{
	on_loop(stop_loop);
	pthread_join(dp_thread, NULL);
	assert_int_equal(bufpool_chunks(&dp_pool), 0);
	bufwait_fini(&dp_bufs);
	loop_fini(&dp);
	scsi_nexus_fini(&nexus);
	targets_put(target);
	targets_free();
	return 0;
}

static void test_lun_removed_under_io_finishes_it_then_closes_store(void **state)
{
	on_loop(start_reads);
	wait_for(all_reads_held);

	scsi_lu_get(lu0);
	assert_int_equal(targets_remove_lun(NAME, 0), 0);
	/* The grace period has passed once the retired map let go of lu0. */
	wait_for(only_tasks_and_test_hold_lu0);
	scsi_lu_put(lu0);

	probe_on_lun0(tur);
	assert_int_equal(probe.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(probe.key, 0x5);
	assert_int_equal(probe.asc, 0x25);
	assert_int_equal(probe.ascq, 0x00);

	probe_on_lun0(report_luns);
	assert_int_equal(probe.status, SCSI_STATUS_GOOD);
	assert_memory_equal(probe.data, "\0\0\0\0", 4);
	assert_int_equal(atomic_load(&ncloses), 0);

	on_loop(open_gate);
	wait_for(all_reads_done);
	for (unsigned i = 0; i < NIO; i++) {
		assert_int_equal(ios[i].status, SCSI_STATUS_GOOD);
		assert_int_equal(ios[i].data_len, 512);
	}
	wait_for(store_closed);
	/* Counted before the last task's release dropped the LU. */
	assert_int_equal(atomic_load(&done_at_close), NIO + 2);
}

static void test_idle_lun_removed_closes_store_after_grace(void **state)
{
	assert_int_equal(targets_remove_lun(NAME, 0), 0);
	wait_for(store_closed);
	probe_on_lun0(tur);
	assert_int_equal(probe.asc, 0x25);
}

static void test_lun_added_at_run_time_is_reported_and_announced(void **state)
{
	struct config_lun cl = memory_lun(3);
	assert_int_equal(targets_add_lun(NAME, &cl), 0);
	probe_on_lun0(tur);
	assert_int_equal(probe.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(probe.key, 0x6);
	assert_int_equal(probe.asc, 0x3F);
	assert_int_equal(probe.ascq, 0x0E);
	probe_on_lun0(report_luns);
	assert_int_equal(probe.data_len, 8 + 2 * 8);
	assert_memory_equal(probe.data, "\0\0\0\x10\0\0\0\0", 8);
	assert_memory_equal(probe.data + 8, "\0\0\0\0\0\0\0\0", 8);
}

static void test_adding_a_served_lun_is_refused(void **state)
{
	struct config_lun cl = memory_lun(0);
	assert_int_equal(targets_add_lun(NAME, &cl), -EEXIST);
}

static void test_unknown_target_is_refused(void **state)
{
	struct config_lun cl = memory_lun(1);
	assert_int_equal(targets_add_lun("iqn.2024-01.org.lunar:none", &cl), -ENOENT);
	assert_int_equal(targets_remove_lun("iqn.2024-01.org.lunar:none", 0), -ENOENT);
	assert_null(targets_get("iqn.2024-01.org.lunar:none"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_lun_removed_under_io_finishes_it_then_closes_store),
		T(test_idle_lun_removed_closes_store_after_grace),
		T(test_lun_added_at_run_time_is_reported_and_announced),
		T(test_adding_a_served_lun_is_refused),
		T(test_unknown_target_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
