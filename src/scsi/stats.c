#include "scsi/stats.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/opcodes.h"
#include "scsi/task.h"

/* ---- shards by thread ---- */

static unsigned nshards = 1;
static _Thread_local unsigned shard_self;

void scsi_stats_set_threads(unsigned nthreads)
{
	nshards = nthreads + 1;
}

unsigned scsi_stats_nshards(void)
{
	return nshards;
}

void scsi_stats_bind_thread(unsigned index)
{
	shard_self = index + 1 < nshards ? index + 1 : 0;
}

unsigned scsi_stats_shard_self(void)
{
	return shard_self;
}

/* The only writer of c: a plain add that other threads can read whole. */
static inline void counter_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* ---- the registry ---- */

/* Blocks are pushed lock-free (any thread may register) and moved to the
 * list by whoever holds the lock next; readers and registration take it,
 * the latter only when it is free, so no caller ever waits on a loop. */
static _Atomic(struct scsi_stats_block *) incoming;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct scsi_stats_block *live_head, *live_tail;

static void block_free(struct scsi_stats_block *b)
{
	free(b->shards);
	free(b);
}

/* Under reg_lock: incoming blocks join the list in registration order,
 * and closed blocks leave it. */
static void registry_tidy_locked(void)
{
	struct scsi_stats_block *in = atomic_exchange_explicit(&incoming, NULL, memory_order_acquire);
	struct scsi_stats_block *ordered = NULL;
	while (in) {
		struct scsi_stats_block *next = in->next;
		in->next = ordered;
		ordered = in;
		in = next;
	}
	if (live_tail)
		live_tail->next = ordered;
	else
		live_head = ordered;
	struct scsi_stats_block *prev = NULL;
	live_tail = NULL;
	for (struct scsi_stats_block *b = live_head, *next; b; b = next) {
		next = b->next;
		if (atomic_load_explicit(&b->closed, memory_order_acquire)) {
			if (prev)
				prev->next = next;
			else
				live_head = next;
			block_free(b);
			continue;
		}
		prev = b;
		live_tail = b;
	}
}

static void registry_add(struct scsi_stats_block *b)
{
	struct scsi_stats_block *head = atomic_load_explicit(&incoming, memory_order_relaxed);
	do {
		b->next = head;
	} while (!atomic_compare_exchange_weak_explicit(&incoming, &head, b, memory_order_release,
							 memory_order_relaxed));
	/* Closed blocks are freed here too, so they do not pile up in a
	 * daemon nobody scrapes. */
	if (pthread_mutex_trylock(&reg_lock) == 0) {
		registry_tidy_locked();
		pthread_mutex_unlock(&reg_lock);
	}
}

static struct scsi_stats_block *block_new(enum scsi_stats_owner owner, const char *target, unsigned n)
{
	struct scsi_stats_block *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->shards = aligned_alloc(SCSI_STATS_CACHE_LINE, n * sizeof(*b->shards));
	if (!b->shards) {
		free(b);
		return NULL;
	}
	memset(b->shards, 0, n * sizeof(*b->shards));
	b->nshards = n;
	b->owner = owner;
	snprintf(b->target, sizeof(b->target), "%s", target ? target : "");
	return b;
}

struct scsi_stats_block *scsi_stats_lu_open(const char *target, uint16_t lun)
{
	struct scsi_stats_block *b = block_new(SCSI_STATS_LU, target, nshards);
	if (!b)
		return NULL;
	b->lun = lun;
	registry_add(b);
	return b;
}

struct scsi_stats_block *scsi_stats_nexus_open(const char *target, const char *initiator_port)
{
	struct scsi_stats_block *b = block_new(SCSI_STATS_NEXUS, target, 1);
	if (!b)
		return NULL;
	/* RFC 7143 §10.1.2: the port name is the initiator's name, ",i,0x"
	 * and the ISID; a name cannot hold a comma, so the last ",i," splits. */
	const char *port = initiator_port ? initiator_port : "";
	const char *sep = strstr(port, ",i,");
	for (const char *s = sep; s; s = strstr(s + 1, ",i,"))
		sep = s;
	size_t len = sep ? (size_t)(sep - port) : strlen(port);
	snprintf(b->initiator, sizeof(b->initiator), "%.*s", (int)min_u64(len, SCSI_STATS_NAME_MAX), port);
	if (sep)
		snprintf(b->isid, sizeof(b->isid), "%s", sep + 3);
	registry_add(b);
	return b;
}

void scsi_stats_close(struct scsi_stats_block *b)
{
	if (b)
		atomic_store_explicit(&b->closed, true, memory_order_release);
}

/* ---- the hot path ---- */

static enum scsi_stats_kind task_kind(const struct scsi_task *task)
{
	const struct scsi_opdef *op = task->op;
	if (!op || op->xfer != OP_XFER_BLOCKS)
		return SCSI_STATS_OTHER;
	return op->dir == SCSI_DIR_READ ? SCSI_STATS_READ
	       : op->dir == SCSI_DIR_WRITE ? SCSI_STATS_WRITE : SCSI_STATS_OTHER;
}

static struct scsi_io_counters *lu_counters(const struct scsi_task *task)
{
	struct scsi_stats_block *b = task->lu ? task->lu->stats : NULL;
	if (!b)
		return NULL;
	unsigned s = shard_self;
	return &b->shards[s < b->nshards ? s : 0].c;
}

static struct scsi_io_counters *nexus_counters(const struct scsi_task *task)
{
	struct scsi_stats_block *b = task->nexus ? task->nexus->stats : NULL;
	return b ? &b->shards[0].c : NULL;
}

void scsi_stats_task_begin(const struct scsi_task *task)
{
	struct scsi_io_counters *c = lu_counters(task);
	if (c)
		counter_add(&c->started, 1);
	c = nexus_counters(task);
	if (c)
		counter_add(&c->started, 1);
}

static void task_count(struct scsi_io_counters *c, const struct scsi_task *task,
		       enum scsi_stats_kind kind, uint64_t now_ns)
{
	counter_add(&c->done[kind], 1);
	if (kind == SCSI_STATS_READ && task->data_len)
		counter_add(&c->bytes_read, task->data_len);
	else if (kind == SCSI_STATS_WRITE && task->status == SCSI_STATUS_GOOD)
		counter_add(&c->bytes_written, scsi_task_data_out_sent(task));
	if (task->status == SCSI_STATUS_CHECK_CONDITION)
		counter_add(&c->check_condition[scsi_stats_sense_key(task->sense, task->sense_len)], 1);
	if (now_ns && task->arrived_ns && now_ns >= task->arrived_ns) {
		uint64_t ns = now_ns - task->arrived_ns;
		counter_add(&c->lat_bucket[scsi_stats_lat_bucket(ns)], 1);
		counter_add(&c->lat_sum_ns, ns);
	}
}

void scsi_stats_task_end(const struct scsi_task *task, uint64_t now_ns)
{
	enum scsi_stats_kind kind = task_kind(task);
	struct scsi_io_counters *c = lu_counters(task);
	if (c)
		task_count(c, task, kind, now_ns);
	c = nexus_counters(task);
	if (c)
		task_count(c, task, kind, now_ns);
}

/* ---- pure helpers ---- */

unsigned scsi_stats_lat_bucket(uint64_t ns)
{
	if (ns <= 1ull << SCSI_STATS_LAT_SHIFT_MIN)
		return 0;
	/* The smallest k with ns <= 2^k. */
	unsigned k = 64u - (unsigned)__builtin_clzll(ns - 1);
	unsigned i = k - SCSI_STATS_LAT_SHIFT_MIN;
	return i < SCSI_STATS_LAT_BUCKETS ? i : SCSI_STATS_LAT_BUCKETS;
}

unsigned scsi_stats_sense_key(const uint8_t *sense, unsigned len)
{
	if (len < 2)
		return 0;
	uint8_t code = sense[0] & 0x7f;
	if (code == 0x72 || code == 0x73)
		return sense[1] & 0x0f;
	if ((code == 0x70 || code == 0x71) && len >= 3)
		return sense[2] & 0x0f;
	return 0;
}

static uint64_t counter_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void scsi_stats_merge(struct scsi_io_totals *t, const union scsi_io_shard *shards, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct scsi_io_counters *c = &shards[i].c;
		t->started += counter_get(&c->started);
		for (unsigned k = 0; k < SCSI_STATS_NKINDS; k++)
			t->done[k] += counter_get(&c->done[k]);
		t->bytes_read += counter_get(&c->bytes_read);
		t->bytes_written += counter_get(&c->bytes_written);
		for (unsigned k = 0; k < SCSI_STATS_SENSE_KEYS; k++)
			t->check_condition[k] += counter_get(&c->check_condition[k]);
		for (unsigned k = 0; k <= SCSI_STATS_LAT_BUCKETS; k++)
			t->lat_bucket[k] += counter_get(&c->lat_bucket[k]);
		t->lat_sum_ns += counter_get(&c->lat_sum_ns);
	}
}

uint64_t scsi_stats_in_flight(const struct scsi_io_totals *t)
{
	uint64_t done = 0;
	for (unsigned k = 0; k < SCSI_STATS_NKINDS; k++)
		done += t->done[k];
	/* Shards are read one after another while tasks move, so a release
	 * may be seen without its prepare. */
	return t->started > done ? t->started - done : 0;
}

/* ---- the control side ---- */

int scsi_stats_snapshot(struct scsi_stats_snapshot *out)
{
	*out = (struct scsi_stats_snapshot){ 0 };
	pthread_mutex_lock(&reg_lock);
	registry_tidy_locked();
	size_t n = 0;
	for (struct scsi_stats_block *b = live_head; b; b = b->next)
		n++;
	struct scsi_stats_entry *e = n ? calloc(n, sizeof(*e)) : NULL;
	if (n && !e) {
		pthread_mutex_unlock(&reg_lock);
		return -ENOMEM;
	}
	size_t i = 0;
	for (struct scsi_stats_block *b = live_head; b; b = b->next, i++) {
		e[i].owner = b->owner;
		e[i].lun = b->lun;
		memcpy(e[i].target, b->target, sizeof(e[i].target));
		memcpy(e[i].initiator, b->initiator, sizeof(e[i].initiator));
		memcpy(e[i].isid, b->isid, sizeof(e[i].isid));
		scsi_stats_merge(&e[i].totals, b->shards, b->nshards);
	}
	pthread_mutex_unlock(&reg_lock);
	out->entries = e;
	out->n = n;
	return 0;
}

void scsi_stats_snapshot_free(struct scsi_stats_snapshot *s)
{
	free(s->entries);
	*s = (struct scsi_stats_snapshot){ 0 };
}

void scsi_stats_registry_free(void)
{
	pthread_mutex_lock(&reg_lock);
	registry_tidy_locked();
	while (live_head) {
		struct scsi_stats_block *b = live_head;
		live_head = b->next;
		block_free(b);
	}
	live_tail = NULL;
	pthread_mutex_unlock(&reg_lock);
}
