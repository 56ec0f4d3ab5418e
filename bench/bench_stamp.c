#include "bench_stamp.h"

static const char bench_motif[] = "lunar-bench fixed write pattern.";
#define MOTIF_LEN (sizeof(bench_motif) - 1)

static unsigned char bench_motif_at(size_t i)
{
	return (unsigned char)bench_motif[i % MOTIF_LEN];
}

static unsigned char bench_stamp_byte(uint64_t block_offset, unsigned i)
{
	return (unsigned char)(block_offset >> (8 * i));
}

void bench_stamp_motif(unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = bench_motif_at(i);
}

void bench_stamp_fill(unsigned char *buf, size_t len, uint64_t offset)
{
	bench_stamp_motif(buf, len);
	for (size_t b = 0; b < len; b += BENCH_STAMP_BLOCK)
		for (unsigned i = 0; i < 8; i++)
			buf[b + i] = bench_stamp_byte(offset + b, i);
}

long bench_stamp_check(const unsigned char *buf, size_t len, uint64_t offset)
{
	for (size_t i = 0; i < len; i++) {
		size_t in_block = i % BENCH_STAMP_BLOCK;
		unsigned char want = in_block < 8
			? bench_stamp_byte(offset + i - in_block, (unsigned)in_block)
			: bench_motif_at(i);
		if (buf[i] != want)
			return (long)i;
	}
	return -1;
}
