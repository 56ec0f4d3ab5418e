/* The SCSI core's counters: what a task adds where, the shards of an LU
 * merged into totals, and blocks leaving the snapshot once closed. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/opcodes.h"
#include "scsi/scsi.h"
#include "scsi/stats.h"

static const struct scsi_opdef read_row = { .name = "READ", .dir = SCSI_DIR_READ, .xfer = OP_XFER_BLOCKS };
static const struct scsi_opdef write_row = { .name = "WRITE", .dir = SCSI_DIR_WRITE, .xfer = OP_XFER_BLOCKS };
static const struct scsi_opdef inquiry_row = { .name = "INQUIRY", .dir = SCSI_DIR_READ, .xfer = OP_XFER_ALLOC };

static const struct scsi_stats_entry *find(const struct scsi_stats_snapshot *s, enum scsi_stats_owner owner,
					   const char *target)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->entries[i].owner == owner && strcmp(s->entries[i].target, target) == 0)
			return &s->entries[i];
	return NULL;
}

static void latency_buckets_are_powers_of_two(void **state)
{
	(void)state;
	assert_int_equal(scsi_stats_lat_bucket(0), 0);
	assert_int_equal(scsi_stats_lat_bucket(8192), 0);
	assert_int_equal(scsi_stats_lat_bucket(8193), 1);
	assert_int_equal(scsi_stats_lat_bucket(16384), 1);
	assert_int_equal(scsi_stats_lat_bucket(1000000), 7);   /* 1 ms <= 2^20 ns */
	assert_int_equal(scsi_stats_lat_bucket(1ull << 33), SCSI_STATS_LAT_BUCKETS - 1);
	assert_int_equal(scsi_stats_lat_bucket((1ull << 33) + 1), SCSI_STATS_LAT_BUCKETS);
	assert_int_equal(scsi_stats_lat_bucket(UINT64_MAX), SCSI_STATS_LAT_BUCKETS);
}

static void sense_key_from_either_format(void **state)
{
	(void)state;
	const uint8_t fixed[18] = { 0x70, 0, 0x05, [7] = 10, [12] = 0x24 };
	const uint8_t descriptor[8] = { 0x72, 0x06, 0x29, 0x00 };
	assert_int_equal(scsi_stats_sense_key(fixed, sizeof(fixed)), 5);
	assert_int_equal(scsi_stats_sense_key(descriptor, sizeof(descriptor)), 6);
	assert_int_equal(scsi_stats_sense_key(fixed, 2), 0);
	assert_int_equal(scsi_stats_sense_key(NULL, 0), 0);
}

static void merge_adds_every_shard(void **state)
{
	(void)state;
	union scsi_io_shard shards[3];
	memset(shards, 0, sizeof(shards));
	for (unsigned i = 0; i < 3; i++) {
		atomic_store(&shards[i].c.started, 10 * (i + 1));
		atomic_store(&shards[i].c.done[SCSI_STATS_WRITE], 9 * (i + 1));
		atomic_store(&shards[i].c.bytes_written, 4096);
		atomic_store(&shards[i].c.check_condition[6], 1);
		atomic_store(&shards[i].c.lat_bucket[i], 2);
		atomic_store(&shards[i].c.lat_sum_ns, 100);
	}
	struct scsi_io_totals t = { 0 };
	scsi_stats_merge(&t, shards, 3);
	assert_int_equal(t.started, 60);
	assert_int_equal(t.done[SCSI_STATS_WRITE], 54);
	assert_int_equal(t.bytes_written, 3 * 4096);
	assert_int_equal(t.check_condition[6], 3);
	assert_int_equal(t.lat_bucket[0] + t.lat_bucket[1] + t.lat_bucket[2], 6);
	assert_int_equal(t.lat_sum_ns, 300);
	assert_int_equal(scsi_stats_in_flight(&t), 6);
	/* A release seen before its prepare reads as none in flight. */
	t.started = 50;
	assert_int_equal(scsi_stats_in_flight(&t), 0);
	assert_int_equal(sizeof(shards[0]) % SCSI_STATS_CACHE_LINE, 0);
}

/* What a transport and the core leave in a task by its release. */
static struct scsi_task task_for(struct scsi_nexus *n, struct scsi_lu *lu, const struct scsi_opdef *op)
{
	return (struct scsi_task){ .nexus = n, .lu = lu, .op = op, .status = SCSI_STATUS_GOOD };
}

static void tasks_count_on_their_lu_and_nexus(void **state)
{
	(void)state;
	struct scsi_lu lu = { .stats = scsi_stats_lu_open("iqn.2026-11.org.lunar:counts", 2) };
	struct scsi_nexus n = {
		.stats = scsi_stats_nexus_open("iqn.2026-11.org.lunar:counts", "iqn.2026-11.org.test:i,i,0x23d000000001"),
	};
	assert_non_null(lu.stats);
	assert_non_null(n.stats);

	struct scsi_task rd = task_for(&n, &lu, &read_row);
	rd.data_len = 8192;
	rd.arrived_ns = 1000000;
	scsi_stats_task_begin(&rd);
	struct scsi_task wr = task_for(&n, &lu, &write_row);
	wr.xfer_len = wr.data_out_len = 4096;
	scsi_stats_task_begin(&wr);
	struct scsi_task bad = task_for(&n, NULL, &inquiry_row);
	bad.status = SCSI_STATUS_CHECK_CONDITION;
	bad.sense[0] = 0x70;
	bad.sense[2] = 0x05;
	bad.sense_len = 18;
	scsi_stats_task_begin(&bad);

	struct scsi_stats_snapshot s;
	assert_int_equal(scsi_stats_snapshot(&s), 0);
	const struct scsi_stats_entry *e = find(&s, SCSI_STATS_LU, "iqn.2026-11.org.lunar:counts");
	assert_non_null(e);
	assert_int_equal(e->lun, 2);
	assert_int_equal(scsi_stats_in_flight(&e->totals), 2);
	e = find(&s, SCSI_STATS_NEXUS, "iqn.2026-11.org.lunar:counts");
	assert_non_null(e);
	assert_string_equal(e->initiator, "iqn.2026-11.org.test:i");
	assert_string_equal(e->isid, "0x23d000000001");
	assert_int_equal(scsi_stats_in_flight(&e->totals), 3);
	scsi_stats_snapshot_free(&s);

	scsi_stats_task_end(&rd, 1000000 + 50000);
	scsi_stats_task_end(&wr, 0);
	scsi_stats_task_end(&bad, 0);
	assert_int_equal(scsi_stats_snapshot(&s), 0);
	e = find(&s, SCSI_STATS_LU, "iqn.2026-11.org.lunar:counts");
	assert_int_equal(e->totals.done[SCSI_STATS_READ], 1);
	assert_int_equal(e->totals.done[SCSI_STATS_WRITE], 1);
	assert_int_equal(e->totals.done[SCSI_STATS_OTHER], 0); /* the INQUIRY had no LU */
	assert_int_equal(e->totals.bytes_read, 8192);
	assert_int_equal(e->totals.bytes_written, 4096);
	assert_int_equal(e->totals.lat_bucket[scsi_stats_lat_bucket(50000)], 1);
	assert_int_equal(e->totals.lat_sum_ns, 50000);
	assert_int_equal(scsi_stats_in_flight(&e->totals), 0);
	e = find(&s, SCSI_STATS_NEXUS, "iqn.2026-11.org.lunar:counts");
	assert_int_equal(e->totals.done[SCSI_STATS_OTHER], 1);
	assert_int_equal(e->totals.check_condition[SENSE_KEY_ILLEGAL_REQUEST], 1);
	assert_int_equal(scsi_stats_in_flight(&e->totals), 0);
	scsi_stats_snapshot_free(&s);

	/* Closed blocks leave the next snapshot. */
	scsi_stats_close(lu.stats);
	scsi_stats_close(n.stats);
	assert_int_equal(scsi_stats_snapshot(&s), 0);
	assert_null(find(&s, SCSI_STATS_LU, "iqn.2026-11.org.lunar:counts"));
	assert_null(find(&s, SCSI_STATS_NEXUS, "iqn.2026-11.org.lunar:counts"));
	scsi_stats_snapshot_free(&s);
}

struct writer {
	struct scsi_lu *lu;
	unsigned index;
	unsigned count;
};

static void *write_from_thread(void *arg)
{
	struct writer *w = arg;
	scsi_stats_bind_thread(w->index);
	struct scsi_task t = { .lu = w->lu, .op = &read_row, .status = SCSI_STATUS_GOOD, .data_len = 512 };
	for (unsigned i = 0; i < w->count; i++) {
		scsi_stats_task_begin(&t);
		scsi_stats_task_end(&t, 0);
	}
	return NULL;
}

static void each_thread_writes_its_own_shard(void **state)
{
	(void)state;
	scsi_stats_set_threads(2);
	struct scsi_lu lu = { .stats = scsi_stats_lu_open("iqn.2026-11.org.lunar:shards", 0) };
	assert_int_equal(lu.stats->nshards, 3);
	struct writer w[2] = { { &lu, 0, 100000 }, { &lu, 1, 50000 } };
	pthread_t tid[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, write_from_thread, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	assert_int_equal(atomic_load(&lu.stats->shards[0].c.started), 0);
	assert_int_equal(atomic_load(&lu.stats->shards[1].c.started), 100000);
	assert_int_equal(atomic_load(&lu.stats->shards[2].c.started), 50000);
	struct scsi_stats_snapshot s;
	assert_int_equal(scsi_stats_snapshot(&s), 0);
	const struct scsi_stats_entry *e = find(&s, SCSI_STATS_LU, "iqn.2026-11.org.lunar:shards");
	assert_int_equal(e->totals.done[SCSI_STATS_READ], 150000);
	assert_int_equal(e->totals.bytes_read, 150000ull * 512);
	scsi_stats_snapshot_free(&s);
	scsi_stats_close(lu.stats);
	scsi_stats_set_threads(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(latency_buckets_are_powers_of_two),
		cmocka_unit_test(sense_key_from_either_format),
		cmocka_unit_test(merge_adds_every_shard),
		cmocka_unit_test(tasks_count_on_their_lu_and_nexus),
		cmocka_unit_test(each_thread_writes_its_own_shard),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	scsi_stats_registry_free();
	return ret;
}
