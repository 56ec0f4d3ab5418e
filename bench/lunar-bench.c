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

#include "bench_args.h"
#include "bench_hist.h"
#include "bench_session.h"

/* A target that answers nothing for this long is reported, not waited on. */
#define BENCH_STALL_NS   (10ull * 1000000000ull)
#define BENCH_POLL_MS    100

static int bench_poll_once(struct bench_session **sessions, unsigned n,
			   struct pollfd *pfds)
{
	for (unsigned i = 0; i < n; i++) {
		pfds[i].fd = bench_session_fd(sessions[i]);
		pfds[i].events = bench_session_events(sessions[i]);
		pfds[i].revents = 0;
	}
	if (poll(pfds, n, BENCH_POLL_MS) < 0) {
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
		if (bench_poll_once(sessions, n, pfds) != 0)
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

static void bench_report(const struct bench_run *run, uint64_t start_ns)
{
	const struct bench_args *a = run->args;
	double secs = (double)(run->last_completion_ns - start_ns) / 1e9;
	double iops = secs > 0 ? (double)run->completed / secs : 0;

	printf("rw=%s bs=%" PRIu32 " qd=%u conns=%u ios=%" PRIu64
	       " secs=%.3f iops=%.0f mibps=%.1f lat_p50_us=%.1f lat_p99_us=%.1f\n",
	       bench_pattern_name(a->pattern), a->bs, a->qd, a->connections,
	       run->completed, secs, iops, iops * a->bs / (1024.0 * 1024.0),
	       (double)bench_hist_quantile(&run->hist, 0.50) / 1e3,
	       (double)bench_hist_quantile(&run->hist, 0.99) / 1e3);
}

static unsigned char *bench_pattern_buffer(uint32_t bs)
{
	static const char motif[] = "lunar-bench fixed write pattern.";
	unsigned char *buf = malloc(bs);

	if (buf == NULL)
		return NULL;
	for (uint32_t i = 0; i < bs; i++)
		buf[i] = (unsigned char)motif[i % (sizeof(motif) - 1)];
	return buf;
}

int main(int argc, char **argv)
{
	struct bench_args args;
	struct bench_session *sessions[BENCH_MAX_CONNECTIONS] = { 0 };
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
	run->write_buf = bench_pattern_buffer(args.bs);
	if (run->read_buf == NULL || run->write_buf == NULL) {
		perror("lunar-bench: buffers");
		goto out;
	}
	run->deadline_ns = UINT64_MAX;
	for (opened = 0; opened < args.connections; opened++) {
		sessions[opened] = bench_session_open(run, opened);
		if (sessions[opened] == NULL)
			goto out;
	}
	uint64_t start = bench_now_ns();
	run->deadline_ns = start + (uint64_t)args.seconds * 1000000000ull;
	run->last_completion_ns = start;
	if (bench_drive(run, sessions, opened) != 0)
		goto out;
	bench_report(run, start);
	status = EXIT_SUCCESS;
out:
	for (unsigned i = 0; i < opened; i++)
		bench_session_close(sessions[i], status == EXIT_SUCCESS);
	free(run->read_buf);
	free(run->write_buf);
	free(run);
	return status;
}
