/* The target's memory as the kernel counts it: VmRSS sampled from
 * /proc/PID/status on a thread of its own while an attack runs, and VmHWM
 * (the peak) reset before it through /proc/PID/clear_refs. */
#ifndef LUNAR_HOSTILE_RSS_H
#define LUNAR_HOSTILE_RSS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RSS_SAMPLE_MS 50

struct rss_probe {
	pid_t pid;
	pthread_t tid;
	atomic_bool done;        /* tells the sampler to end */
	bool hwm_reset;          /* clear_refs took: VmHWM is this attack's peak */
	uint64_t base_kib;       /* before the attack */
	uint64_t peak_kib;       /* the largest sample, or VmHWM if larger */
	uint64_t last_kib;       /* the last sample */
	unsigned samples;
	uint64_t stop_above_kib; /* growth at which *stop is set */
	atomic_bool *stop;
};

/* Reads VmRSS and VmHWM of pid in KiB; false if the process is gone. */
bool rss_read(pid_t pid, uint64_t *rss_kib, uint64_t *hwm_kib);
/* Resets the peak, takes the baseline and starts sampling; sets *stop
 * once the resident set has grown by more than stop_above_kib. */
bool rss_probe_start(struct rss_probe *p, pid_t pid, uint64_t stop_above_kib, atomic_bool *stop,
		     char *why, size_t why_len);
/* Stops sampling and folds VmHWM into the peak. */
void rss_probe_stop(struct rss_probe *p);

#endif
