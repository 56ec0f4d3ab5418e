/*
 * One iSCSI session of lunar-bench: logs in with libiscsi and keeps the
 * configured number of READ(16)/WRITE(16) commands in flight, timing each.
 */
#ifndef LUNAR_BENCH_SESSION_H
#define LUNAR_BENCH_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_args.h"
#include "bench_clock.h"
#include "bench_hist.h"

/* State shared by every session of one run (the process is single-threaded). */
struct bench_run {
	const struct bench_args *args;
	struct bench_hist hist;
	uint64_t issued;
	uint64_t completed;
	uint64_t reads;            /* completed reads; writes are the rest */
	uint64_t deadline_ns;
	uint64_t last_completion_ns;
	bool stopping;
	bool failed;
	unsigned char *read_buf;   /* read data is discarded: one sink for all */
	unsigned char *write_buf;  /* fixed pattern: no per-I/O generation cost */
};

struct bench_session;

/* Connects, logs in and checks the LUN can hold the span; NULL after
 * printing why on stderr. */
struct bench_session *bench_session_open(struct bench_run *run, unsigned index);
void bench_session_close(struct bench_session *s, bool logout);

/* Issues commands until qd are in flight or the run is stopping. */
void bench_session_fill(struct bench_session *s);

unsigned bench_session_inflight(const struct bench_session *s);
/* Commands this session completed: how evenly sessions were served. */
uint64_t bench_session_completed(const struct bench_session *s);
int bench_session_fd(const struct bench_session *s);
short bench_session_events(const struct bench_session *s);
/* Returns -1 (after printing why) when the connection failed. */
int bench_session_service(struct bench_session *s, short revents);

#endif
