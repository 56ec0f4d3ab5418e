/*
 * Latency histogram with log-linear buckets: exact below 128 ns, then 64
 * buckets per power of two, so any value is known within 1.6% using a fixed
 * 30 KiB table whatever the run length.
 */
#ifndef LUNAR_BENCH_HIST_H
#define LUNAR_BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_PRECISION_BITS 7
#define BENCH_HIST_BUCKETS \
	((64 - BENCH_HIST_PRECISION_BITS + 2) << (BENCH_HIST_PRECISION_BITS - 1))

struct bench_hist {
	uint64_t count;
	uint64_t sum;          /* exact, for the mean */
	uint64_t buckets[BENCH_HIST_BUCKETS];
};

void bench_hist_record(struct bench_hist *h, uint64_t value);

/* Lower bound of the bucket holding the value at quantile q (0 < q <= 1);
 * 0 for an empty histogram. */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);

/* Exact mean of the recorded values; 0 for an empty histogram. */
double bench_hist_mean(const struct bench_hist *h);

#endif
