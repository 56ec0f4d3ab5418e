#include "bench_hist.h"

#include <math.h>

#define HALF (1u << (BENCH_HIST_PRECISION_BITS - 1))

static unsigned bench_hist_index(uint64_t v)
{
	if (v < (1u << BENCH_HIST_PRECISION_BITS))
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - BENCH_HIST_PRECISION_BITS + 1;
	return shift * HALF + (unsigned)(v >> shift);
}

static uint64_t bench_hist_lower_bound(unsigned index)
{
	if (index < (1u << BENCH_HIST_PRECISION_BITS))
		return index;
	unsigned shift = index / HALF - 1;
	return (uint64_t)(index - shift * HALF) << shift;
}

void bench_hist_record(struct bench_hist *h, uint64_t value)
{
	h->buckets[bench_hist_index(value)]++;
	h->count++;
	h->sum += value;
}

double bench_hist_mean(const struct bench_hist *h)
{
	return h->count == 0 ? 0 : (double)h->sum / (double)h->count;
}

uint64_t bench_hist_quantile(const struct bench_hist *h, double q)
{
	if (h->count == 0)
		return 0;
	uint64_t rank = (uint64_t)ceil(q * (double)h->count);
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			return bench_hist_lower_bound(i);
	}
	return bench_hist_lower_bound(BENCH_HIST_BUCKETS - 1);
}
