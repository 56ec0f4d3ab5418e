/* Waiting for chunks: one queue per thread in front of its bufpool_cache.
 *
 * A task asks for the chunks of a byte range (a read's whole transfer when
 * it executes, a write's next burst before its R2T goes out). If the
 * budget cannot give them now it waits, in arrival order on its thread,
 * and ready runs on the loop once they are taken. Only the head of the
 * queue takes: a newcomer never passes a waiting task, so a large request
 * is not starved by a stream of small ones.
 *
 * Why waiting cannot deadlock. A write holds the chunks of the bursts it
 * has received while it waits for its next burst's, so if every holder
 * waited for more with the budget spent, none would ever finish. The
 * budget's last reserve_chunks (at least the chunks of the largest
 * transfer, SCSI_MAX_XFER_BYTES) are kept back for that: only the one
 * request that holds the reserve (bufpool_reserve_take) may use them, and
 * a request takes the reserve only as the head of its thread's queue when
 * the rest of the budget cannot serve it. It keeps the reserve until it
 * asks for its last chunks (last), so it never waits behind another
 * holder; on its thread it goes before every other waiter. Now suppose
 * tasks wait and nothing else runs: every task that is not waiting either
 * finished or has all its chunks and will finish (the backend completes,
 * the initiator sends what R2Ts ask for), giving its chunks back. That
 * holds for a task the SCSI task set holds back behind older ones too,
 * because no task waits for chunks inside the task set: a read takes its
 * chunks before it joins it (scsi.h), a write before it executes. So the
 * chunks in use are those of waiting tasks. Each was taken outside the
 * reserve, when at most max - reserve chunks were in use, except those of
 * the holder; so at most max - reserve chunks are held by non-holders,
 * and the holder, whose whole transfer fits in the reserve, finds what it
 * asks for: a contradiction. When no one holds the reserve the head of
 * some queue takes it on its next try. Tries happen when chunks come back
 * on the thread and, while anyone waits, on a timer (chunks and the
 * reserve may come back on another thread, which does not wake this one).
 *
 * The minimum guarantee. Chunks held for ever by a group that never lets
 * them go (an initiator that stops reading its Data-In holds a window of
 * reads until its connection times out) could spend the budget, and every
 * other group would then wait that long. So a request may name the group
 * it draws for (its account, an iSCSI session); a group holding fewer
 * than the pool's minimum_chunks, this request included, gets it at once
 * from the overdraft beyond the budget when the budget cannot give it
 * without passing a waiter. The overdraft is bounded and counted apart
 * from the budget, so the argument above, which is about the budget,
 * stands unchanged; and no request waits for the overdraft (one it
 * cannot serve takes the ordinary path), so it adds no waiting to
 * deadlock over. A group above its minimum waits or is refused as
 * before.
 *
 * Requests that cannot wait (a write's unsolicited data is already on the
 * wire) use bufwait_get_now: outside the reserve, passing the queue, then
 * the overdraft if guaranteed, and refused when neither can give them. */
#ifndef LUNAR_UTIL_BUFWAIT_H
#define LUNAR_UTIL_BUFWAIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/bufpool.h"
#include "util/loop.h"

/* What one group of requesters holds, for the minimum guarantee; it
 * lives on the loop of its requests' queue. */
struct bufwait_account {
	size_t chunks;
};

/* One requester: a series of requests whose chunks it keeps, in order,
 * until bufwait_release gives them all back. Zeroed before its first. */
struct bufwait_entry {
	/* set by the caller for each request */
	struct iovec *iov;   /* where the chunks go */
	unsigned max_iov;
	uint32_t len;        /* bytes to cover */
	bool last;           /* the requester will ask for nothing more */
	struct bufwait_account *account; /* its group, or NULL: no guarantee */
	void (*ready)(struct bufwait_entry *e); /* chunks taken while it waited */
	/* set by bufwait */
	unsigned got;        /* entries of iov filled */
	unsigned held;       /* chunks of all its requests, until released */
	unsigned over;       /* of those, from the overdraft */
	bool queued;
	struct bufwait_entry *next;
};

struct bufwait {
	struct bufpool_cache cache;
	struct loop *loop;
	struct bufwait_entry *head, *tail;
	struct loop_defer serve_defer;
	struct loop_op retry_op;
	struct __kernel_timespec retry_ts;
	bool retry_armed;
};

/* keep: free chunks the thread's cache holds on to (bufpool.h). */
void bufwait_init(struct bufwait *bw, struct bufpool *pool, struct loop *loop, unsigned keep);
/* No request may be waiting; a retry timer still armed dies with the loop. */
void bufwait_fini(struct bufwait *bw);

/* The calling thread's queue, for code that only knows it runs on a loop
 * (the SCSI core); bind once on each thread that executes tasks. */
void bufwait_bind(struct bufwait *bw);
struct bufwait *bufwait_here(void);

/* Takes the chunks for e->len bytes into e->iov: returns how many entries,
 * or 0 when e now waits (ready runs later, on the loop), or -E2BIG. */
int bufwait_get(struct bufwait *bw, struct bufwait_entry *e);
/* The same without waiting: -ENOBUFS when the budget cannot give them now. */
int bufwait_get_now(struct bufwait *bw, struct bufwait_entry *e);
/* The requester stops asking: it leaves the queue and lets go of the
 * reserve; it keeps the chunks it holds. */
void bufwait_cancel(struct bufwait *bw, struct bufwait_entry *e);
/* The requester goes: bufwait_cancel, then every chunk its requests got
 * (e->held, which it keeps from iov[0] on) goes back, to the budget or the
 * overdraft it came from. */
void bufwait_release(struct bufwait *bw, struct bufwait_entry *e, const struct iovec *iov);
/* Gives back chunks taken from the budget without an entry; waiters are
 * served before the loop next sleeps. */
void bufwait_put(struct bufwait *bw, const struct iovec *iov, unsigned n);

#endif
