/* Small statistics and text helpers of the bench report: medians over
 * rounds, spreads, key=value lookups in lunar-bench's result lines. */
#ifndef LUNAR_BENCH_STATS_H
#define LUNAR_BENCH_STATS_H

#include <stddef.h>

/* Median of n values (sorts v in place); NAN when n is 0. */
double bench_median(double *v, size_t n);

/* (max - min) / median in percent (sorts v in place); NAN when n is 0 or
 * the median is 0. */
double bench_spread_pct(double *v, size_t n);

/* The value of key in a line of blank-separated key=value words, copied
 * into out. Returns 0, or -1 when the key is absent or out is too small. */
int bench_kv_text(const char *line, const char *key, char *out, size_t outlen);

/* The same value as a finite number; -1 when absent or not a number. */
int bench_kv_number(const char *line, const char *key, double *out);

/* A count in three significant digits: "950", "86.2K", "1.23M". */
void bench_format_count(double v, char *out, size_t outlen);

#endif
