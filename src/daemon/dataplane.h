/* The data-plane threads: each runs one loop (one io_uring) for the
 * sockets of the sessions placed on it and their backing-store I/O. */
#ifndef LUNAR_DAEMON_DATAPLANE_H
#define LUNAR_DAEMON_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/loop.h"

/* budget: bytes for the data of commands in flight on every thread
 * together; 0 = a share of physical memory. cpus: thread k runs only on
 * CPU cpus[k % ncpus] (ncpus 0: anywhere). The calling thread stays
 * unpinned. poll_us: how long a thread polls for the next command of an
 * initiator that sends one at a time (loop_set_poll); 0, or threads with
 * one CPU between them, which others may be waiting for: never. */
int dataplane_start(unsigned nthreads, uint64_t budget, const unsigned *cpus, size_t ncpus,
		    unsigned poll_us);
unsigned dataplane_count(void);
/* The dataplane_count() loops, for grace periods over the data plane
 * (util/quiesce.h). */
struct loop *const *dataplane_loops(void);
/* Where the next new session goes: the thread with the fewest
 * connections, ties in turn (placement.h). Control thread only, from the
 * session's bind. */
struct loop *dataplane_pick(void);
/* Asks every data-plane loop to close its connections. */
void dataplane_close_connections(void);
/* Asks every data-plane loop to have its connections' initiators log out
 * within seconds (iscsi_conn_ask_logout_all_on). */
void dataplane_ask_logout(uint16_t seconds);
/* Whether a thread's loop failed (it then sent lunard SIGTERM). */
bool dataplane_failed(void);
/* Stops and joins every thread. */
void dataplane_stop(void);

#endif
