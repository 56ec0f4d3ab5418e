#include "bench_report.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stats.h"

/* Figures taken from each run, in the order of enum bench_metric. */
enum bench_metric {
	M_IOPS, M_MBPS, M_LAT_MEAN, M_LAT_P50, M_LAT_P99,
	M_CPU_US_PER_IO, M_CPU_S_PER_GB, M_SESS_MIN_PCT,
	M_RSS_KIB_PER_SESSION, M_RSS_KIB_TIMED, M_COUNT,
};

enum bench_ceiling { C_RTT_MEAN, C_RTT_P50, C_IPERF_MBPS, C_COUNT };

/* From this transfer size on, a row is about bandwidth, not commands. */
#define BENCH_REPORT_BANDWIDTH_BS 65536.0

struct bench_samples {
	unsigned n;
	double v[BENCH_REPORT_MAX_ROUNDS];
};

struct bench_cell {
	struct bench_samples m[M_COUNT];
	unsigned failed;
};

struct bench_workload {
	double bs, qd, conns;
};

struct bench_report {
	unsigned nworkloads, ntargets;
	char workload_names[BENCH_REPORT_MAX_WORKLOADS][48];
	struct bench_workload workloads[BENCH_REPORT_MAX_WORKLOADS];
	char targets[BENCH_REPORT_MAX_TARGETS][32];
	struct bench_cell cells[BENCH_REPORT_MAX_WORKLOADS][BENCH_REPORT_MAX_TARGETS];
	struct bench_samples ceilings[C_COUNT];
};

struct bench_report *bench_report_new(void)
{
	return calloc(1, sizeof(struct bench_report));
}

void bench_report_free(struct bench_report *r)
{
	free(r);
}

static void bench_samples_add(struct bench_samples *s, double v)
{
	if (s->n < BENCH_REPORT_MAX_ROUNDS)
		s->v[s->n++] = v;
}

static double bench_samples_median(const struct bench_samples *s)
{
	struct bench_samples copy = *s;

	return bench_median(copy.v, copy.n);
}

static double bench_samples_spread(const struct bench_samples *s)
{
	struct bench_samples copy = *s;

	return bench_spread_pct(copy.v, copy.n);
}

static int bench_report_ceiling(struct bench_report *r, const char *line,
				const char *kind, char *err, size_t errlen)
{
	static const struct { const char *kind, *key; enum bench_ceiling c; } keys[] = {
		{ "tcp_rtt", "rtt_mean_us", C_RTT_MEAN },
		{ "tcp_rtt", "rtt_p50_us", C_RTT_P50 },
		{ "iperf3", "mbps", C_IPERF_MBPS },
	};
	bool known = false;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		double v;

		if (strcmp(kind, keys[i].kind) != 0)
			continue;
		known = true;
		if (bench_kv_number(line, keys[i].key, &v) == 0)
			bench_samples_add(&r->ceilings[keys[i].c], v);
	}
	if (!known)
		snprintf(err, errlen, "unknown ceiling '%s'", kind);
	return known ? 0 : -1;
}

/* Index of name among the n names of a table of max names of len bytes,
 * added if new; -1 when the table is full or the name too long. */
static int bench_report_index(char *names, size_t len, unsigned *n, unsigned max,
			      const char *name)
{
	for (unsigned i = 0; i < *n; i++)
		if (strcmp(names + i * len, name) == 0)
			return (int)i;
	if (*n == max || strlen(name) >= len)
		return -1;
	memcpy(names + *n * len, name, strlen(name) + 1);
	return (int)(*n)++;
}

/* The target's resident set around a run: what logging the sessions in
 * added, per session, and what the timed phase added. */
static void bench_report_rss(struct bench_cell *cell, const struct bench_workload *w,
			     const char *line)
{
	double before, logged_in, end;

	if (bench_kv_number(line, "target_rss_kib_before", &before) != 0 ||
	    bench_kv_number(line, "target_rss_kib_logged_in", &logged_in) != 0 ||
	    bench_kv_number(line, "target_rss_kib_end", &end) != 0)
		return;
	if (w->conns >= 1)
		bench_samples_add(&cell->m[M_RSS_KIB_PER_SESSION], (logged_in - before) / w->conns);
	bench_samples_add(&cell->m[M_RSS_KIB_TIMED], end - logged_in);
}

static void bench_report_run(struct bench_cell *cell, struct bench_workload *w,
			     const char *line)
{
	double ios, iops, cpu, v;

	if ((bench_kv_number(line, "failed", &v) == 0 && v != 0) ||
	    bench_kv_number(line, "ios", &ios) != 0 ||
	    bench_kv_number(line, "iops", &iops) != 0 ||
	    bench_kv_number(line, "bs", &w->bs) != 0) {
		cell->failed++;
		return;
	}
	bench_kv_number(line, "qd", &w->qd);
	bench_kv_number(line, "conns", &w->conns);
	bench_samples_add(&cell->m[M_IOPS], iops);
	bench_samples_add(&cell->m[M_MBPS], iops * w->bs / 1e6);
	static const struct { const char *key; enum bench_metric m; } direct[] = {
		{ "lat_mean_us", M_LAT_MEAN }, { "lat_p50_us", M_LAT_P50 },
		{ "lat_p99_us", M_LAT_P99 }, { "sess_min_pct", M_SESS_MIN_PCT },
	};
	for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++)
		if (bench_kv_number(line, direct[i].key, &v) == 0)
			bench_samples_add(&cell->m[direct[i].m], v);
	if (ios > 0 && bench_kv_number(line, "target_cpu_s", &cpu) == 0) {
		bench_samples_add(&cell->m[M_CPU_US_PER_IO], cpu * 1e6 / ios);
		bench_samples_add(&cell->m[M_CPU_S_PER_GB], cpu / (ios * w->bs / 1e9));
	}
	bench_report_rss(cell, w, line);
}

int bench_report_add(struct bench_report *r, const char *line, char *err, size_t errlen)
{
	char workload[64], target[64], kind[32];

	if (bench_kv_text(line, "ceiling", kind, sizeof(kind)) == 0)
		return bench_report_ceiling(r, line, kind, err, errlen);
	if (bench_kv_text(line, "workload", workload, sizeof(workload)) != 0)
		return 0;
	if (bench_kv_text(line, "target", target, sizeof(target)) != 0) {
		snprintf(err, errlen, "workload %s without target=", workload);
		return -1;
	}
	int w = bench_report_index(r->workload_names[0], sizeof(r->workload_names[0]),
				   &r->nworkloads, BENCH_REPORT_MAX_WORKLOADS, workload);
	int t = bench_report_index(r->targets[0], sizeof(r->targets[0]), &r->ntargets,
				   BENCH_REPORT_MAX_TARGETS, target);
	if (w < 0 || t < 0) {
		snprintf(err, errlen, "more than %u workloads or %u targets, or a name too long",
			 BENCH_REPORT_MAX_WORKLOADS, BENCH_REPORT_MAX_TARGETS);
		return -1;
	}
	bench_report_run(&r->cells[w][t], &r->workloads[w], line);
	return 0;
}

static bool bench_workload_is_bandwidth(const struct bench_workload *w)
{
	return w->bs >= BENCH_REPORT_BANDWIDTH_BS;
}

static void bench_report_header(const struct bench_report *r, FILE *out)
{
	fputs("| workload |", out);
	for (unsigned t = 0; t < r->ntargets; t++)
		fprintf(out, " %s |", r->targets[t]);
	fputs("\n|---|", out);
	for (unsigned t = 0; t < r->ntargets; t++)
		fputs("---|", out);
	fputc('\n', out);
}

/* A cell with no figure says why: every run failed, or none was made. */
static bool bench_report_missing(const struct bench_cell *c, enum bench_metric m, FILE *out)
{
	if (c->m[m].n > 0)
		return false;
	fputs(c->failed > 0 ? " failed |" : " - |", out);
	return true;
}

static void bench_report_throughput(const struct bench_report *r, FILE *out)
{
	bench_report_header(r, out);
	for (unsigned w = 0; w < r->nworkloads; w++) {
		const struct bench_workload *wl = &r->workloads[w];
		enum bench_metric m = bench_workload_is_bandwidth(wl) ? M_MBPS : M_IOPS;
		double ref = bench_samples_median(&r->cells[w][0].m[m]);

		fprintf(out, "| %s %s |", r->workload_names[w], m == M_MBPS ? "MB/s" : "IOPS");
		for (unsigned t = 0; t < r->ntargets; t++) {
			const struct bench_cell *c = &r->cells[w][t];
			char text[16];

			if (bench_report_missing(c, m, out))
				continue;
			double v = bench_samples_median(&c->m[m]);
			if (m == M_MBPS)
				snprintf(text, sizeof(text), "%.0f", v);
			else
				bench_format_count(v, text, sizeof(text));
			fprintf(out, " %s", text);
			if (t != 0 && !isnan(ref) && v > 0)
				fprintf(out, " (%.2fx)", ref / v);
			if (c->failed > 0)
				fprintf(out, ", %u failed", c->failed);
			fputs(" |", out);
		}
		fputc('\n', out);
	}
}

static void bench_report_latency(const struct bench_report *r, FILE *out)
{
	bench_report_header(r, out);
	for (unsigned w = 0; w < r->nworkloads; w++) {
		fprintf(out, "| %s |", r->workload_names[w]);
		for (unsigned t = 0; t < r->ntargets; t++) {
			const struct bench_cell *c = &r->cells[w][t];

			if (bench_report_missing(c, M_LAT_P50, out))
				continue;
			fprintf(out, " %.1f / %.1f / %.0f |", bench_samples_median(&c->m[M_LAT_MEAN]),
				bench_samples_median(&c->m[M_LAT_P50]),
				bench_samples_median(&c->m[M_LAT_P99]));
		}
		fputc('\n', out);
	}
}

static void bench_report_cpu(const struct bench_report *r, FILE *out)
{
	bench_report_header(r, out);
	for (unsigned w = 0; w < r->nworkloads; w++) {
		bool bandwidth = bench_workload_is_bandwidth(&r->workloads[w]);

		fprintf(out, "| %s |", r->workload_names[w]);
		for (unsigned t = 0; t < r->ntargets; t++) {
			const struct bench_cell *c = &r->cells[w][t];

			if (bench_report_missing(c, M_CPU_US_PER_IO, out))
				continue;
			fprintf(out, " %.1f µs", bench_samples_median(&c->m[M_CPU_US_PER_IO]));
			if (bandwidth)
				fprintf(out, ", %.2f s/GB", bench_samples_median(&c->m[M_CPU_S_PER_GB]));
			fputs(" |", out);
		}
		fputc('\n', out);
	}
}

static void bench_report_spread(const struct bench_report *r, FILE *out)
{
	bench_report_header(r, out);
	for (unsigned w = 0; w < r->nworkloads; w++) {
		fprintf(out, "| %s |", r->workload_names[w]);
		for (unsigned t = 0; t < r->ntargets; t++) {
			const struct bench_cell *c = &r->cells[w][t];

			if (bench_report_missing(c, M_IOPS, out))
				continue;
			fprintf(out, " %.0f%% |", bench_samples_spread(&c->m[M_IOPS]));
		}
		fputc('\n', out);
	}
}

static void bench_report_sessions(const struct bench_report *r, FILE *out)
{
	bool any = false;

	for (unsigned w = 0; w < r->nworkloads; w++) {
		if (r->workloads[w].conns <= 1)
			continue;
		if (!any) {
			fputs("\nLeast-served session's completions, in percent of the sessions' mean"
			      " (100: all served alike):\n\n", out);
			bench_report_header(r, out);
			any = true;
		}
		fprintf(out, "| %s |", r->workload_names[w]);
		for (unsigned t = 0; t < r->ntargets; t++) {
			const struct bench_cell *c = &r->cells[w][t];

			if (!bench_report_missing(c, M_SESS_MIN_PCT, out))
				fprintf(out, " %.0f%% |", bench_samples_median(&c->m[M_SESS_MIN_PCT]));
		}
		fputc('\n', out);
	}
}

static void bench_report_rss_row(const struct bench_report *r, unsigned w,
				 enum bench_metric m, FILE *out)
{
	fprintf(out, "| %s |", r->workload_names[w]);
	for (unsigned t = 0; t < r->ntargets; t++) {
		const struct bench_cell *c = &r->cells[w][t];

		if (!bench_report_missing(c, m, out))
			fprintf(out, " %+.0f |", bench_samples_median(&c->m[m]));
	}
	fputc('\n', out);
}

/* Printed only when the runs carry the target's RSS (lunar-bench with
 * --cpu-pid). Login growth only on the rows of several sessions: with one,
 * it is mostly the allocator's noise. */
static void bench_report_memory(const struct bench_report *r, FILE *out)
{
	bool any = false, sessions = false;

	for (unsigned w = 0; w < r->nworkloads; w++) {
		for (unsigned t = 0; t < r->ntargets; t++)
			any |= r->cells[w][t].m[M_RSS_KIB_TIMED].n > 0;
		sessions |= r->workloads[w].conns > 1;
	}
	if (!any)
		return;
	if (sessions) {
		fputs("\nTarget RSS growth per session at login, KiB: (RSS with every session"
		      " logged in - RSS before the logins) / sessions:\n\n", out);
		bench_report_header(r, out);
		for (unsigned w = 0; w < r->nworkloads; w++)
			if (r->workloads[w].conns > 1)
				bench_report_rss_row(r, w, M_RSS_KIB_PER_SESSION, out);
	}
	fputs("\nTarget RSS growth during the timed phase, KiB (RSS at the end - RSS once"
	      " logged in):\n\n", out);
	bench_report_header(r, out);
	for (unsigned w = 0; w < r->nworkloads; w++)
		bench_report_rss_row(r, w, M_RSS_KIB_TIMED, out);
}

/* QD1 rows against the TCP round trip: how far a command's latency is
 * from the machine's floor. */
static void bench_report_floor(const struct bench_report *r, FILE *out)
{
	double rtt = bench_samples_median(&r->ceilings[C_RTT_MEAN]);

	if (isnan(rtt) || rtt <= 0)
		return;
	for (unsigned w = 0; w < r->nworkloads; w++) {
		if (r->workloads[w].qd != 1 || r->workloads[w].conns != 1)
			continue;
		const char *sep = ":";

		fprintf(out, "\n%s mean latency over the TCP round trip", r->workload_names[w]);
		for (unsigned t = 0; t < r->ntargets; t++) {
			double lat = bench_samples_median(&r->cells[w][t].m[M_LAT_MEAN]);
			if (isnan(lat))
				continue;
			fprintf(out, "%s %s %.2fx", sep, r->targets[t], lat / rtt);
			sep = ",";
		}
		fputs(".\n", out);
	}
}

void bench_report_print(const struct bench_report *r, FILE *out)
{
	unsigned rounds = 0;

	for (unsigned w = 0; w < r->nworkloads; w++)
		for (unsigned t = 0; t < r->ntargets; t++)
			if (r->cells[w][t].m[M_IOPS].n + r->cells[w][t].failed > rounds)
				rounds = r->cells[w][t].m[M_IOPS].n + r->cells[w][t].failed;
	fprintf(out, "Machine ceilings, same run (median of %u): TCP round trip of 48 bytes"
		" on loopback %.1f µs mean, %.1f µs p50; one TCP stream (iperf3) %.0f MB/s.\n",
		r->ceilings[C_RTT_MEAN].n, bench_samples_median(&r->ceilings[C_RTT_MEAN]),
		bench_samples_median(&r->ceilings[C_RTT_P50]),
		bench_samples_median(&r->ceilings[C_IPERF_MBPS]));
	if (r->ntargets == 0) {
		fputs("\nNo runs.\n", out);
		return;
	}
	fprintf(out, "\nThroughput, median of %u rounds (in brackets: %s's figure over this"
		" column's; above 1, %s did more):\n\n", rounds, r->targets[0], r->targets[0]);
	bench_report_throughput(r, out);
	fputs("\nLatency in µs, mean / p50 / p99 (medians over rounds):\n\n", out);
	bench_report_latency(r, out);
	fputs("\nTarget CPU time (user + system, all its threads) per I/O, and per GB"
	      " moved on the bandwidth rows:\n\n", out);
	bench_report_cpu(r, out);
	bench_report_sessions(r, out);
	bench_report_memory(r, out);
	bench_report_floor(r, out);
	if (rounds < 2)
		return;
	fputs("\nSpread of IOPS over rounds, (max - min) / median (above ~20%: a busy"
	      " machine, rerun):\n\n", out);
	bench_report_spread(r, out);
}
