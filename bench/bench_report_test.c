#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench_report.h"

static char *report_of(const char *const *lines, size_t n)
{
	struct bench_report *r = bench_report_new();
	char err[160], *text = NULL;
	size_t len = 0;

	assert_non_null(r);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(bench_report_add(r, lines[i], err, sizeof(err)), 0);
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	bench_report_print(r, out);
	fclose(out);
	bench_report_free(r);
	return text;
}

#define RUN(round, target, iops, cpu) \
	"round=" #round " workload=randread-4k-qd32 target=" target " rw=randread bs=4096" \
	" qd=32 conns=1 ios=" #iops "0 reads=1 secs=10 iops=" #iops " lat_mean_us=10" \
	" lat_p50_us=9 lat_p99_us=20 sess_min_pct=100 target_cpu_s=" #cpu "\n"

static void medians_and_ratio_against_the_first_target(void **state)
{
	const char *const lines[] = {
		RUN(1, "lunar", 90000, 1.0), RUN(1, "peer", 30000, 1.0),
		RUN(2, "lunar", 100000, 1.0), RUN(2, "peer", 50000, 1.0),
		RUN(3, "lunar", 80000, 1.0), RUN(3, "peer", 40000, 1.0),
		"round=1 ceiling=tcp_rtt round_trips=5 rtt_mean_us=30.0 rtt_p50_us=29.0\n",
		"round=1 ceiling=iperf3 mbps=1765\n",
	};
	char *text = report_of(lines, sizeof(lines) / sizeof(lines[0]));

	assert_non_null(strstr(text, "| workload | lunar | peer |"));
	assert_non_null(strstr(text, "| randread-4k-qd32 IOPS | 90.0K | 40.0K (2.25x) |"));
	assert_non_null(strstr(text, "median of 3 rounds"));
	assert_non_null(strstr(text, "30.0 µs mean"));
	assert_non_null(strstr(text, "1765 MB/s"));
	/* 80K, 90K, 100K: (100 - 80) / 90 */
	assert_non_null(strstr(text, "| randread-4k-qd32 | 22% | 50% |"));
	free(text);
}

static void cpu_per_io_divides_by_commands_done(void **state)
{
	/* 2.5 s of target CPU over 250000 commands: 10 µs each. */
	const char *const lines[] = { RUN(1, "lunar", 25000, 2.5) };
	char *text = report_of(lines, 1);

	assert_non_null(strstr(text, "| randread-4k-qd32 | 10.0 µs |"));
	assert_null(strstr(text, "Spread"));
	free(text);
}

static void bandwidth_rows_show_mb_per_s_and_cpu_per_gb(void **state)
{
	/* 10000 x 128 KiB in 1 s = 1310.72 MB/s; 1.31072 GB for 0.655 s of CPU. */
	const char *const lines[] = {
		"round=1 workload=read-128k target=t bs=131072 qd=8 conns=1 ios=10000"
		" iops=10000 lat_mean_us=800 lat_p50_us=790 lat_p99_us=900 target_cpu_s=0.65536\n",
	};
	char *text = report_of(lines, 1);

	assert_non_null(strstr(text, "| read-128k MB/s | 1311 |"));
	assert_non_null(strstr(text, "65.5 µs, 0.50 s/GB"));
	free(text);
}

static void failed_runs_are_counted_not_averaged(void **state)
{
	const char *const lines[] = {
		RUN(1, "lunar", 90000, 1.0),
		"round=1 workload=randread-4k-qd32 target=peer failed=1\n",
	};
	char *text = report_of(lines, 2);

	assert_non_null(strstr(text, "| randread-4k-qd32 IOPS | 90.0K | failed |"));
	free(text);
}

static void qd1_rows_are_set_against_the_round_trip(void **state)
{
	const char *const lines[] = {
		"round=1 workload=randread-4k-qd1 target=lunar bs=4096 qd=1 conns=1 ios=100"
		" iops=20000 lat_mean_us=45 lat_p50_us=44 lat_p99_us=60\n",
		"round=1 ceiling=tcp_rtt rtt_mean_us=30 rtt_p50_us=29\n",
	};
	char *text = report_of(lines, 2);

	assert_non_null(strstr(text, "randread-4k-qd1 mean latency over the TCP round trip: lunar 1.50x."));
	free(text);
}

#define SESSIONS(target, conns, before, logged_in, end) \
	"round=1 workload=randread-4k-" #conns "x1 target=" target " rw=randread bs=4096" \
	" qd=1 conns=" #conns " ios=1000 reads=1000 secs=1 iops=1000 lat_mean_us=10" \
	" lat_p50_us=9 lat_p99_us=20 sess_min_pct=80 target_cpu_s=0.1" \
	" target_rss_kib_before=" #before " target_rss_kib_logged_in=" #logged_in \
	" target_rss_kib_end=" #end "\n"

static void sixty_four_sessions_have_every_table_row(void **state)
{
	const char *const lines[] = {
		SESSIONS("lunar", 64, 10000, 16400, 16500),
		SESSIONS("peer", 64, 20000, 52000, 51000),
	};
	char *text = report_of(lines, 2);

	assert_non_null(strstr(text, "| randread-4k-64x1 IOPS | 1.00K | 1.00K (1.00x) |"));
	assert_non_null(strstr(text, "| randread-4k-64x1 | 10.0 / 9.0 / 20 | 10.0 / 9.0 / 20 |"));
	assert_non_null(strstr(text, "| randread-4k-64x1 | 100.0 µs | 100.0 µs |"));
	assert_non_null(strstr(text, "| randread-4k-64x1 | 80% | 80% |"));
	/* (16400 - 10000) / 64 = 100 KiB a session; (52000 - 20000) / 64 = 500. */
	assert_non_null(strstr(text, "growth per session at login"));
	assert_non_null(strstr(text, "| randread-4k-64x1 | +100 | +500 |"));
	assert_non_null(strstr(text, "| randread-4k-64x1 | +100 | -1000 |"));
	free(text);
}

static void rss_tables_need_rss_figures(void **state)
{
	const char *const lines[] = { RUN(1, "lunar", 25000, 2.5) };
	char *text = report_of(lines, 1);

	assert_null(strstr(text, "RSS"));
	free(text);
}

static void one_session_rows_show_only_timed_growth(void **state)
{
	const char *const lines[] = { SESSIONS("lunar", 1, 10000, 10100, 10356) };
	char *text = report_of(lines, 1);

	assert_null(strstr(text, "growth per session at login"));
	assert_non_null(strstr(text, "during the timed phase"));
	assert_non_null(strstr(text, "| randread-4k-1x1 | +256 |"));
	free(text);
}

static void malformed_lines_are_refused(void **state)
{
	struct bench_report *r = bench_report_new();
	char err[160];

	assert_int_equal(bench_report_add(r, "# comment\n", err, sizeof(err)), 0);
	assert_int_equal(bench_report_add(r, "workload=x iops=1\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "target"));
	assert_int_equal(bench_report_add(r, "ceiling=ping rtt=1\n", err, sizeof(err)), -1);
	for (unsigned i = 0; i < 8; i++) {
		char line[64];

		snprintf(line, sizeof(line), "workload=w target=t%u failed=1", i);
		assert_int_equal(bench_report_add(r, line, err, sizeof(err)), 0);
	}
	assert_int_equal(bench_report_add(r, "workload=w target=t8 failed=1", err, sizeof(err)), -1);
	bench_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(medians_and_ratio_against_the_first_target),
		cmocka_unit_test(cpu_per_io_divides_by_commands_done),
		cmocka_unit_test(bandwidth_rows_show_mb_per_s_and_cpu_per_gb),
		cmocka_unit_test(failed_runs_are_counted_not_averaged),
		cmocka_unit_test(qd1_rows_are_set_against_the_round_trip),
		cmocka_unit_test(sixty_four_sessions_have_every_table_row),
		cmocka_unit_test(rss_tables_need_rss_figures),
		cmocka_unit_test(one_session_rows_show_only_timed_growth),
		cmocka_unit_test(malformed_lines_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
