/* What a process (the target under test) has spent and holds, from Linux's
 * /proc/PID: CPU time (user plus system, all its threads, live or gone)
 * from stat, and its anonymous resident set (RssAnon) from status: the
 * memory it allocated itself, not file pages it maps, such as a file
 * LUN's page cache mapped to send reads from (lunard's zero_copy). */
#ifndef LUNAR_BENCH_PROC_H
#define LUNAR_BENCH_PROC_H

#include <stdint.h>

/* Parses the text of /proc/PID/stat: utime + stime, in clock ticks.
 * Returns 0, or -1 when the text is not in that format. */
int bench_proc_parse_cpu_ticks(const char *stat_text, uint64_t *ticks);

/* Parses the text of /proc/PID/status: the RssAnon line, in KiB. Returns 0,
 * or -1 when the line is missing (a kernel thread, a zombie) or garbled. */
int bench_proc_parse_rss_kib(const char *status_text, uint64_t *kib);

/* utime + stime of pid in nanoseconds; -1 (errno set) when unreadable. */
int bench_proc_cpu_ns(long pid, uint64_t *ns);

/* RssAnon of pid in KiB; -1 (errno set) when unreadable. */
int bench_proc_rss_kib(long pid, uint64_t *kib);

#endif
