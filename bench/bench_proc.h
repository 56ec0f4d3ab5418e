/* The CPU time a process (the target under test) has spent, from Linux's
 * /proc/PID/stat: user plus system time of all its threads, live or gone. */
#ifndef LUNAR_BENCH_PROC_H
#define LUNAR_BENCH_PROC_H

#include <stdint.h>

/* Parses the text of /proc/PID/stat: utime + stime, in clock ticks.
 * Returns 0, or -1 when the text is not in that format. */
int bench_proc_parse_cpu_ticks(const char *stat_text, uint64_t *ticks);

/* utime + stime of pid in nanoseconds; -1 (errno set) when unreadable. */
int bench_proc_cpu_ns(long pid, uint64_t *ns);

#endif
