/*
 * lunar-bench: a libiscsi load generator that keeps QD commands in flight
 * on one or more sessions and prints one key=value line of results.
 * See bench/README.md.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_args.h"
#include "bench_hist.h"
#include "bench_proc.h"
#include "bench_session.h"
#include "bench_stamp.h"

/* A target that answers nothing for this long is reported, not waited on. */
#define BENCH_STALL_NS   (10ull * 1000000000ull)
#define BENCH_POLL_MS    100

static int bench_poll_once(struct bench_session **sessions, unsigned n,
			   struct pollfd *pfds, int timeout_ms)
{
	for (unsigned i = 0; i < n; i++) {
		pfds[i].fd = bench_session_fd(sessions[i]);
		pfds[i].events = bench_session_events(sessions[i]);
		pfds[i].revents = 0;
	}
	if (poll(pfds, n, timeout_ms) < 0) {
		perror("lunar-bench: poll");
		return -1;
	}
	for (unsigned i = 0; i < n; i++)
		if (pfds[i].revents != 0 &&
		    bench_session_service(sessions[i], pfds[i].revents) != 0)
			return -1;
	return 0;
}

static unsigned bench_inflight(struct bench_session **sessions, unsigned n)
{
	unsigned total = 0;

	for (unsigned i = 0; i < n; i++)
		total += bench_session_inflight(sessions[i]);
	return total;
}

static int bench_drive(struct bench_run *run, struct bench_session **sessions,
		       unsigned n)
{
	struct pollfd pfds[BENCH_MAX_CONNECTIONS];

	for (unsigned i = 0; i < n; i++)
		bench_session_fill(sessions[i]);
	while (!run->failed && bench_inflight(sessions, n) > 0) {
		if (bench_poll_once(sessions, n, pfds, BENCH_POLL_MS) != 0)
			return -1;
		uint64_t now = bench_now_ns();
		if (now >= run->deadline_ns)
			run->stopping = true;
		if (now - run->last_completion_ns > BENCH_STALL_NS) {
			fprintf(stderr, "lunar-bench: no completion for 10 s with %u commands in flight\n",
				bench_inflight(sessions, n));
			run->failed = true;
		}
	}
	return run->failed ? -1 : 0;
}

/* The machine's use at one moment: lunar-bench's own CPU time (it shares
 * the machine) and, with --cpu-pid, the target's CPU time and resident set.
 * The timed phase's CPU time is the difference of two samples, logins and
 * logouts left out. */
struct bench_sample {
	uint64_t target_ns;
	uint64_t self_ns;
	uint64_t target_rss_kib;
};

static uint64_t bench_self_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

static int bench_sample_take(const struct bench_args *a, struct bench_sample *s)
{
	s->self_ns = bench_self_cpu_ns();
	s->target_ns = 0;
	s->target_rss_kib = 0;
	if (a->cpu_pid == 0)
		return 0;
	if (bench_proc_cpu_ns(a->cpu_pid, &s->target_ns) != 0) {
		fprintf(stderr, "lunar-bench: --cpu-pid %ld: ", a->cpu_pid);
		perror("/proc/PID/stat");
		return -1;
	}
	if (bench_proc_rss_kib(a->cpu_pid, &s->target_rss_kib) != 0) {
		fprintf(stderr, "lunar-bench: --cpu-pid %ld: ", a->cpu_pid);
		perror("/proc/PID/status");
		return -1;
	}
	return 0;
}

/* Fewest commands any session completed, in percent of the mean: 100 when
 * every session was served alike. */
static double bench_min_share(struct bench_session **sessions, unsigned n,
			      uint64_t completed)
{
	uint64_t least = UINT64_MAX;

	for (unsigned i = 0; i < n; i++) {
		uint64_t c = bench_session_completed(sessions[i]);
		if (c < least)
			least = c;
	}
	return completed == 0 ? 0 : 100.0 * (double)least * n / (double)completed;
}

/* The three samples of a run: before the first login, once every session
 * is logged in (the timed phase starts), and when the last command is done. */
enum bench_moment { BENCH_BEFORE_LOGIN, BENCH_LOGGED_IN, BENCH_END, BENCH_MOMENTS };

static void bench_report(const struct bench_run *run, uint64_t start_ns,
			 struct bench_session **sessions,
			 const struct bench_sample at[BENCH_MOMENTS])
{
	const struct bench_args *a = run->args;
	double secs = (double)(run->last_completion_ns - start_ns) / 1e9;
	double iops = secs > 0 ? (double)run->completed / secs : 0;

	printf("rw=%s bs=%" PRIu32 " qd=%u conns=%u ios=%" PRIu64 " reads=%" PRIu64
	       " secs=%.3f iops=%.0f mibps=%.1f lat_mean_us=%.1f lat_p50_us=%.1f"
	       " lat_p99_us=%.1f sess_min_pct=%.0f bench_cpu_s=%.3f",
	       bench_pattern_name(a->pattern), a->bs, a->qd, a->connections,
	       run->completed, run->reads, secs, iops, iops * a->bs / (1024.0 * 1024.0),
	       bench_hist_mean(&run->hist) / 1e3,
	       (double)bench_hist_quantile(&run->hist, 0.50) / 1e3,
	       (double)bench_hist_quantile(&run->hist, 0.99) / 1e3,
	       bench_min_share(sessions, a->connections, run->completed),
	       (double)(at[BENCH_END].self_ns - at[BENCH_LOGGED_IN].self_ns) / 1e9);
	if (a->cpu_pid != 0)
		printf(" target_cpu_s=%.3f target_rss_kib_before=%" PRIu64
		       " target_rss_kib_logged_in=%" PRIu64 " target_rss_kib_end=%" PRIu64,
		       (double)(at[BENCH_END].target_ns - at[BENCH_LOGGED_IN].target_ns) / 1e9,
		       at[BENCH_BEFORE_LOGIN].target_rss_kib, at[BENCH_LOGGED_IN].target_rss_kib,
		       at[BENCH_END].target_rss_kib);
	putchar('\n');
}

int main(int argc, char **argv)
{
	struct bench_args args;
	struct bench_session *sessions[BENCH_MAX_CONNECTIONS] = { 0 };
	struct bench_sample at[BENCH_MOMENTS];
	char err[256];
	int status = EXIT_FAILURE;
	unsigned opened = 0;

	if (bench_args_parse(argc, argv, &args, err, sizeof(err)) != 0) {
		if (strcmp(err, "help") == 0) {
			fputs(bench_args_usage, stdout);
			return EXIT_SUCCESS;
		}
		fprintf(stderr, "lunar-bench: %s\n%s", err, bench_args_usage);
		return 2;
	}
	struct bench_run *run = calloc(1, sizeof(*run));
	if (run == NULL) {
		perror("lunar-bench");
		return EXIT_FAILURE;
	}
	run->args = &args;
	run->read_buf = malloc(args.bs);
	run->write_buf = malloc(args.bs);
	if (run->read_buf == NULL || run->write_buf == NULL) {
		perror("lunar-bench: buffers");
		goto out;
	}
	bench_stamp_motif(run->write_buf, args.bs);
	run->deadline_ns = UINT64_MAX;
	if (bench_sample_take(&args, &at[BENCH_BEFORE_LOGIN]) != 0)
		goto out;
	for (opened = 0; opened < args.connections; opened++) {
		struct pollfd pfds[BENCH_MAX_CONNECTIONS];

		/* A login can be slow (istgt accepts one connection a second):
		 * the sessions already in answer the target's NOP-In pings
		 * meanwhile, or it would drop them (RFC 7143 §11.19). */
		if (bench_poll_once(sessions, opened, pfds, 0) != 0)
			goto out;
		sessions[opened] = bench_session_open(run, opened);
		if (sessions[opened] == NULL)
			goto out;
	}
	if (bench_sample_take(&args, &at[BENCH_LOGGED_IN]) != 0)
		goto out;
	uint64_t start = bench_now_ns();
	run->deadline_ns = start + (uint64_t)args.seconds * 1000000000ull;
	run->last_completion_ns = start;
	if (bench_drive(run, sessions, opened) != 0 ||
	    bench_sample_take(&args, &at[BENCH_END]) != 0)
		goto out;
	bench_report(run, start, sessions, at);
	status = EXIT_SUCCESS;
out:
	for (unsigned i = 0; i < opened; i++)
		bench_session_close(sessions[i], status == EXIT_SUCCESS);
	free(run->read_buf);
	free(run->write_buf);
	free(run);
	return status;
}
