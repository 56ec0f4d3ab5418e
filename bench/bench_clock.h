/* The one clock every bench measurement uses. */
#ifndef LUNAR_BENCH_CLOCK_H
#define LUNAR_BENCH_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

#endif
