/* A target with LUs over an in-memory fake backend and a real loop, for
 * driving tasks through prepare / execute / done in unit tests. */
#ifndef LUNAR_TESTS_SCSI_FIXTURE_H
#define LUNAR_TESTS_SCSI_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/scsi.h"

#define FIX_TARGET "iqn.2024-01.org.lunar:disk1"
#define FIX_BLOCK 512u
#define FIX_NBLOCKS 2048u
/* Room for a few largest transfers beside the reserve. */
#define FIX_POOL_BYTES (4u * SCSI_MAX_XFER_BYTES)

struct fake_store {
	struct backend bs;
	uint8_t *mem;
	int fail_err;        /* non-zero: every I/O completes with this */
	bool flip_write;     /* store byte flip_at of each write inverted */
	uint32_t flip_at;
	unsigned nsubmits, nflushes, ndiscards;
	unsigned ncloses;    /* LUs over this store that dropped their last reference */
	bool last_fua;
	bool last_atomic;
	/* not 0: the store's size now, as if extended under the LU (no
	 * memory behind the new blocks) */
	uint64_t grown_size;
};

/* An LU's close_bs for a fake store: counts, the fixture frees it. */
void fake_store_close(struct backend *bs);

struct fixture {
	struct loop loop;
	struct bufpool pool;   /* task data: FIX_POOL_BYTES */
	struct bufwait bufs;   /* bound to the test's thread */
	uint8_t *read_data;    /* fixture_read_data's copy */
	struct scsi_target target;
	struct scsi_lu *lus[SCSI_MAX_LUNS]; /* the test's own references */
	struct scsi_nexus nexus;
	struct fake_store store;
	struct scsi_task task;
	unsigned ndone;
	bool in_execute;
	bool done_in_execute;
};

/* Target with LU 0 over the fake store; the power-on UA is cleared unless
 * keep_ua. */
struct fixture *fixture_new(bool keep_ua);
void fixture_free(struct fixture *f);
/* Adds LU lun over a second view of the same store, as if it had been
 * configured from the start (no REPORTED LUNS DATA HAS CHANGED). */
void fixture_add_lu(struct fixture *f, uint16_t lun);
/* Takes LU lun out of the target; f->lus[lun] keeps the test's reference
 * until fixture_free. */
void fixture_remove_lu(struct fixture *f, uint16_t lun);
/* Sets up f->task for cdb on lun and runs scsi_task_prepare on it. */
bool fixture_prepare(struct fixture *f, uint16_t lun, const uint8_t *cdb);
/* Gives the prepared write f->task memory for all its data and copies len
 * bytes of data into it, as a transport would. */
void fixture_fill_data_out(struct fixture *f, const void *data, uint32_t len);
/* The data a read left in f->task, as one flat copy. */
const uint8_t *fixture_read_data(struct fixture *f);
/* Runs one command on lun: prepare, then (when prepare accepts it) copy
 * data_out into its data, execute and run the loop until done. Returns
 * what prepare returned. Every chunk must be back when the fixture goes. */
bool fixture_run(struct fixture *f, uint16_t lun, const uint8_t *cdb, const void *data_out);
/* Runs a command without data-out from another I_T nexus of the
 * fixture's target, to its end on the fixture's loop; returns its status. */
uint8_t fixture_run_on(struct fixture *f, struct scsi_nexus *nexus, uint16_t lun, const uint8_t *cdb);
/* Same, with the transport delivering only data_out_len bytes of data-out. */
bool fixture_run_partial(struct fixture *f, uint16_t lun, const uint8_t *cdb,
			 const void *data_out, uint32_t data_out_len);
/* Sense key / ASC / ASCQ of the task's fixed- or descriptor-format sense. */
void fixture_sense(const struct fixture *f, uint8_t *key, uint8_t *asc, uint8_t *ascq);
/* True when the task ended in CHECK CONDITION with this key/ASC/ASCQ. */
bool fixture_check(const struct fixture *f, uint8_t key, uint8_t asc, uint8_t ascq);
/* The field pointer of fixed-format sense: byte, or -1 if SKSV is clear;
 * *bit gets the bit pointer or -1. */
int fixture_field_pointer(const struct fixture *f, int *bit);

#endif
