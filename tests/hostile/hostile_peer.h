/* The well-behaved peers that run beside an attack, each in a child
 * process of its own (its own ISIDs, and no thread shares wire_conn's
 * state): one session doing 4 KiB WRITE-then-READ pairs in the good region
 * and checking what it reads, and one that logs in afresh every
 * PEER_LOGIN_INTERVAL_MS. Each measures latencies and the longest time
 * without a completion until the runner stops it. */
#ifndef LUNAR_HOSTILE_PEER_H
#define LUNAR_HOSTILE_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hostile.h"
#include "wire_check.h"

#define PEER_IO_BYTES 4096u
#define PEER_LOGIN_INTERVAL_MS 250

enum peer_kind { PEER_IO, PEER_LOGIN };

struct peer_result {
	bool ok;
	char why[WIRE_WHY_LEN];
	uint64_t ops;            /* commands completed, or logins */
	uint64_t busy;           /* BUSY or TASK SET FULL answers, retried */
	uint32_t p50_us, p99_us, max_us;
	uint32_t max_gap_ms;     /* longest time without a completion */
	uint32_t elapsed_ms;
};

struct peer {
	pid_t pid;
	int stop_fd;             /* a byte written here tells the child to stop */
	int result_fd;
};

/* Forks the peer and waits until it is logged in and running. */
bool peer_start(struct peer *p, enum peer_kind kind, const struct hostile_env *env, char *why,
		size_t why_len);
/* Stops the peer and collects its result; a peer that does not answer in
 * time is killed and reported as failed. */
void peer_finish(struct peer *p, struct peer_result *r);

#endif
