/* Where a new session goes: the data-plane thread with the least load,
 * ties taken in turn. Pure, so it is tested without threads. */
#ifndef LUNAR_DAEMON_PLACEMENT_H
#define LUNAR_DAEMON_PLACEMENT_H

/* The index in [0, n) of the smallest load[i]; among equal ones the first
 * at or after from, counting on from n - 1 to 0. n > 0, from < n. */
unsigned placement_pick(const unsigned *load, unsigned n, unsigned from);

#endif
