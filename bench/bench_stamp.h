/*
 * The data lunar-bench writes: a fixed motif, and with --verify the byte
 * offset of each 512-byte block stamped at its start, so a read that returns
 * another block's data, stale data or zeros is caught.
 */
#ifndef LUNAR_BENCH_STAMP_H
#define LUNAR_BENCH_STAMP_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_STAMP_BLOCK 512u

/* The motif alone: what every write carries without --verify. */
void bench_stamp_motif(unsigned char *buf, size_t len);

/* The motif with each 512-byte block's offset on the LUN (offset + i * 512)
 * in its first 8 bytes, little-endian. len is a multiple of 512. */
void bench_stamp_fill(unsigned char *buf, size_t len, uint64_t offset);

/* -1 when buf is what bench_stamp_fill(buf, len, offset) wrote, else the
 * index of the first byte that differs. */
long bench_stamp_check(const unsigned char *buf, size_t len, uint64_t offset);

#endif
