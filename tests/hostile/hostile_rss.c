/* Sampling a process's resident set from /proc (proc(5)). */
#include "hostile_rss.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The baseline is the largest of a few samples, so that noise before the
 * attack does not count as growth during it. */
#define RSS_BASE_SAMPLES 5
/* Ten minutes of samples: a bound besides the flag that ends the thread. */
#define RSS_MAX_SAMPLES (600000 / RSS_SAMPLE_MS)

bool rss_read(pid_t pid, uint64_t *rss_kib, uint64_t *hwm_kib)
{
	char path[64], line[256];
	unsigned long long v;
	bool have_rss = false, have_hwm = false;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %llu kB", &v) == 1) {
			*rss_kib = v;
			have_rss = true;
		} else if (sscanf(line, "VmHWM: %llu kB", &v) == 1) {
			*hwm_kib = v;
			have_hwm = true;
		}
	}
	fclose(f);
	/* A zombie has a status file without the Vm lines. */
	return have_rss && have_hwm;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* proc(5): writing 5 to clear_refs resets the peak resident set size. */
static bool reset_hwm(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = write(fd, "5", 1) == 1;
	close(fd);
	return ok;
}

static void *sampler(void *arg)
{
	struct rss_probe *p = arg;
	uint64_t rss, hwm;

	for (unsigned i = 0; i < RSS_MAX_SAMPLES && !atomic_load(&p->done); i++) {
		if (rss_read(p->pid, &rss, &hwm)) {
			if (rss > p->peak_kib)
				p->peak_kib = rss;
			if (rss > p->base_kib + p->stop_above_kib)
				atomic_store(p->stop, true);
			p->last_kib = rss;
			p->samples++;
		}
		sleep_ms(RSS_SAMPLE_MS);
	}
	return NULL;
}

bool rss_probe_start(struct rss_probe *p, pid_t pid, uint64_t stop_above_kib, atomic_bool *stop,
		     char *why, size_t why_len)
{
	uint64_t rss, hwm;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->stop_above_kib = stop_above_kib;
	p->stop = stop;
	p->hwm_reset = reset_hwm(pid);
	for (int i = 0; i < RSS_BASE_SAMPLES; i++) {
		if (!rss_read(pid, &rss, &hwm)) {
			snprintf(why, why_len, "cannot read /proc/%d/status", (int)pid);
			return false;
		}
		if (rss > p->base_kib)
			p->base_kib = rss;
		sleep_ms(RSS_SAMPLE_MS);
	}
	p->peak_kib = p->last_kib = p->base_kib;
	atomic_store(&p->done, false);
	int err = pthread_create(&p->tid, NULL, sampler, p);
	if (err) {
		snprintf(why, why_len, "sampler thread: %s", strerror(err));
		return false;
	}
	return true;
}

void rss_probe_stop(struct rss_probe *p)
{
	uint64_t rss, hwm;

	atomic_store(&p->done, true);
	pthread_join(p->tid, NULL);
	if (p->hwm_reset && rss_read(p->pid, &rss, &hwm) && hwm > p->peak_kib)
		p->peak_kib = hwm;
}
