/* An LBA range lock per LU, shared by every data-plane thread: a command
 * that must be atomic against other writes to its blocks (COMPARE AND
 * WRITE, SBC-4 5.3; ORWRITE, 5.13) holds its range exclusively, and every
 * write overlapping it waits.
 *
 * Plain writes pay one atomic add and one load while no exclusive range
 * is held or asked for: they only count themselves (fast). Once an
 * exclusive request exists, writes register their range under the mutex
 * (shared), and the exclusive request also waits for the fast writes
 * still in flight to drain.
 *
 * Nobody blocks: a request that cannot be granted joins a FIFO queue and
 * its `granted` message is later posted to its own loop (loop_post), by
 * whichever thread released what held it back. A request is granted when
 * it conflicts with no held range and no older waiter (so an exclusive
 * request is not starved by a stream of writes). Two ranges conflict when
 * they overlap and one of them is exclusive. */
#ifndef LUNAR_SCSI_RANGE_LOCK_H
#define LUNAR_SCSI_RANGE_LOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/loop.h"

struct range_lock_req {
	uint64_t lba;
	uint64_t nblocks;
	bool exclusive;
	bool fast;                /* counted in fast_writers, not in a list */
	struct loop *loop;        /* where granted runs if the request waited */
	struct loop_msg granted;  /* granted.fn: set by the caller */
	struct range_lock_req *prev, *next; /* in held or waiting */
};

struct range_lock {
	pthread_mutex_t mu;
	_Atomic unsigned exclusive;    /* exclusive requests held or waiting */
	_Atomic unsigned fast_writers; /* shared holders not in the held list */
	struct range_lock_req *held_head;
	struct range_lock_req *wait_head, *wait_tail;
};

void range_lock_init(struct range_lock *rl);
void range_lock_fini(struct range_lock *rl);

/* Asks for req's range (lba, nblocks, exclusive, loop, granted.fn set by
 * the caller). True: held now, granted will not run. False: queued;
 * granted.fn runs on req->loop once it is held. */
bool range_lock_acquire(struct range_lock *rl, struct range_lock_req *req);
/* Lets go of a held range; any thread. */
void range_lock_release(struct range_lock *rl, struct range_lock_req *req);

#endif
