/*
 * The tables of bench/run.sh: reads the raw result lines (lunar-bench's,
 * prefixed with round=, workload= and target=; and the machine's ceilings,
 * ceiling=tcp_rtt or ceiling=iperf3) and prints medians over rounds as
 * Markdown tables, workloads down, targets across, the first target the
 * reference of the ratios.
 */
#ifndef LUNAR_BENCH_REPORT_H
#define LUNAR_BENCH_REPORT_H

#include <stdio.h>

#define BENCH_REPORT_MAX_ROUNDS    20u
#define BENCH_REPORT_MAX_WORKLOADS 24u
#define BENCH_REPORT_MAX_TARGETS   8u

struct bench_report;

struct bench_report *bench_report_new(void);
void bench_report_free(struct bench_report *r);

/* Takes one raw line. Lines with neither workload= nor ceiling= (blank,
 * comments) are skipped. Returns 0, or -1 with a message in err when the
 * line is malformed or exceeds a limit above. */
int bench_report_add(struct bench_report *r, const char *line, char *err, size_t errlen);

void bench_report_print(const struct bench_report *r, FILE *out);

#endif
