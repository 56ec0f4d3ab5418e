/* I/O counters of the SCSI core, per logical unit and per I_T nexus, and
 * the snapshot the control side reads them through (docs/METRICS.md).
 *
 * Written where the work happens, with no lock and no shared cache line:
 * - an LU is used by every data-plane thread, so its counters are split
 *   into one shard per thread (scsi_stats_bind_thread), each on cache
 *   lines of its own, and a thread writes only its own shard;
 * - an I_T nexus's tasks all run on its one loop: one shard, one writer.
 * A writer updates a counter with a relaxed load and store (it is the only
 * writer), so readers on other threads see whole values without a
 * read-modify-write on the hot path. A task is counted when it is
 * prepared (in flight) and when it is released (done, with its kind,
 * bytes, status and latency); nothing is allocated per command.
 *
 * Counters live in blocks that outlive their LU or nexus until a reader
 * has let go: the owner marks its block closed and never touches it
 * again, and the registry frees closed blocks under a lock that only
 * readers and registration take, never a data-plane loop. */
#ifndef LUNAR_SCSI_STATS_H
#define LUNAR_SCSI_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/macros.h"

/* What a command did, by its opcode-table row: moved blocks from the
 * medium, to the medium, or anything else (INQUIRY, SYNCHRONIZE CACHE,
 * UNMAP, ...). */
enum scsi_stats_kind {
	SCSI_STATS_READ,
	SCSI_STATS_WRITE,
	SCSI_STATS_OTHER,
	SCSI_STATS_NKINDS,
};

/* Latency buckets: upper bounds 2^13 ns (8.192 us) to 2^33 ns (8.59 s),
 * doubling; one more counts what took longer. */
#define SCSI_STATS_LAT_SHIFT_MIN 13
#define SCSI_STATS_LAT_BUCKETS 21
#define SCSI_STATS_SENSE_KEYS 16
/* RFC 7143 §4.2.7.1: iSCSI names are at most 223 bytes. */
#define SCSI_STATS_NAME_MAX 223

/* One writer's counters. */
struct scsi_io_counters {
	_Atomic uint64_t started;                      /* tasks prepared */
	_Atomic uint64_t done[SCSI_STATS_NKINDS];      /* tasks released, by kind */
	_Atomic uint64_t bytes_read, bytes_written;    /* medium data moved */
	_Atomic uint64_t check_condition[SCSI_STATS_SENSE_KEYS]; /* by sense key */
	_Atomic uint64_t lat_bucket[SCSI_STATS_LAT_BUCKETS + 1]; /* not cumulative */
	_Atomic uint64_t lat_sum_ns;
};

/* A shard takes whole cache lines, so two writers never share one. */
#define SCSI_STATS_CACHE_LINE 64
union scsi_io_shard {
	struct scsi_io_counters c;
	char pad[DIV_ROUND_UP(sizeof(struct scsi_io_counters), SCSI_STATS_CACHE_LINE) *
		 SCSI_STATS_CACHE_LINE];
};

/* The sum of shards, as plain numbers. */
struct scsi_io_totals {
	uint64_t started;
	uint64_t done[SCSI_STATS_NKINDS];
	uint64_t bytes_read, bytes_written;
	uint64_t check_condition[SCSI_STATS_SENSE_KEYS];
	uint64_t lat_bucket[SCSI_STATS_LAT_BUCKETS + 1];
	uint64_t lat_sum_ns;
};

enum scsi_stats_owner { SCSI_STATS_LU, SCSI_STATS_NEXUS };

struct scsi_stats_block {
	struct scsi_stats_block *next;   /* the registry's */
	_Atomic bool closed;             /* the owner is gone and writes no more */
	enum scsi_stats_owner owner;
	uint16_t lun;                    /* SCSI_STATS_LU: the target's LUN */
	char target[SCSI_STATS_NAME_MAX + 1];
	char initiator[SCSI_STATS_NAME_MAX + 1]; /* SCSI_STATS_NEXUS: the initiator's name */
	char isid[15];                   /* SCSI_STATS_NEXUS: "0x" and 12 hex digits, or "" */
	unsigned nshards;
	union scsi_io_shard *shards;     /* nshards of them, cache-line aligned */
};

/* Start-up, control thread, before the first LU: data-plane threads
 * 0..nthreads-1 will write shards 1..nthreads; shard 0 is every other
 * thread's (the control thread, unit tests). */
void scsi_stats_set_threads(unsigned nthreads);
unsigned scsi_stats_nshards(void);
/* Called by data-plane thread index at its start. */
void scsi_stats_bind_thread(unsigned index);
/* The calling thread's shard (< scsi_stats_nshards()). */
unsigned scsi_stats_shard_self(void);

/* New blocks, registered for readers; NULL when out of memory (the owner
 * then counts nothing). Any thread. initiator_port is the SCSI initiator
 * port name, "NAME,i,0xISID" (RFC 7143 §10.1.2). */
struct scsi_stats_block *scsi_stats_lu_open(const char *target, uint16_t lun);
struct scsi_stats_block *scsi_stats_nexus_open(const char *target, const char *initiator_port);
/* The owner's last word: it writes the block no more. NULL is ignored. */
void scsi_stats_close(struct scsi_stats_block *b);

struct scsi_task;
/* The hot-path hooks (task.c): a task prepared, with its LU known; a task
 * released. now_ns is the release time, or 0 for no latency sample. */
void scsi_stats_task_begin(const struct scsi_task *task);
void scsi_stats_task_end(const struct scsi_task *task, uint64_t now_ns);

/* Pure: adds n shards into t. */
void scsi_stats_merge(struct scsi_io_totals *t, const union scsi_io_shard *shards, unsigned n);
/* Tasks in flight: prepared and not yet released. */
uint64_t scsi_stats_in_flight(const struct scsi_io_totals *t);
/* The latency bucket of a duration (SCSI_STATS_LAT_BUCKETS: above the last bound). */
unsigned scsi_stats_lat_bucket(uint64_t ns);
/* The sense key of sense data in fixed or descriptor format (SPC-4 4.5), 0 when none. */
unsigned scsi_stats_sense_key(const uint8_t *sense, unsigned len);

/* What the control side reads: one entry per live LU and nexus. */
struct scsi_stats_entry {
	enum scsi_stats_owner owner;
	uint16_t lun;
	char target[SCSI_STATS_NAME_MAX + 1];
	char initiator[SCSI_STATS_NAME_MAX + 1];
	char isid[15];
	struct scsi_io_totals totals;
};

struct scsi_stats_snapshot {
	struct scsi_stats_entry *entries;
	size_t n;
};

/* Copies and merges every live block's shards; frees the closed ones.
 * Any thread but a data-plane loop's (it takes the registry's lock, which
 * no data-plane loop ever waits for). Returns 0 or -ENOMEM. */
int scsi_stats_snapshot(struct scsi_stats_snapshot *out);
void scsi_stats_snapshot_free(struct scsi_stats_snapshot *s);
/* Shutdown, once every LU and nexus is gone: frees the registry. */
void scsi_stats_registry_free(void);

#endif
