/* The Prometheus exposition of lunar's counters: label escaping, families
 * with HELP and TYPE, cumulative histogram buckets, one series per
 * initiator however many sessions it has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/metrics_text.h"

static void escape_is(const char *in, const char *want)
{
	char out[64];
	size_t n = metrics_escape_label(out, sizeof(out), in);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void labels_escape_backslash_quote_and_newline(void **state)
{
	(void)state;
	escape_is("iqn.2026-11.org.lunar:a", "iqn.2026-11.org.lunar:a");
	escape_is("a\\b", "a\\\\b");
	escape_is("say \"hi\"", "say \\\"hi\\\"");
	escape_is("two\nlines", "two\\nlines");
}

static void labels_replace_what_is_not_utf8(void **state)
{
	(void)state;
	escape_is("tab\there", "tab?here");
	escape_is("del\x7f", "del?");
	escape_is("bad\xff\xfe", "bad??");
	escape_is("cut\xc3", "cut?");         /* a lead byte without its continuation */
	escape_is("\xc0\xaf", "??");          /* an overlong '/' */
	escape_is("caf\xc3\xa9", "caf\xc3\xa9"); /* é stays */
	escape_is("\xe2\x82\xac", "\xe2\x82\xac"); /* € stays */
}

static void labels_are_cut_whole(void **state)
{
	(void)state;
	char out[5];
	metrics_escape_label(out, sizeof(out), "ab\"cd");
	assert_string_equal(out, "ab\\\"");
	metrics_escape_label(out, sizeof(out), "abc\"d");
	assert_string_equal(out, "abc"); /* the escape does not fit: nothing of it */
	metrics_escape_label(out, sizeof(out), "a\xe2\x82\xac");
	assert_string_equal(out, "a\xe2\x82\xac");
	metrics_escape_label(out, sizeof(out), "ab\xe2\x82\xac");
	assert_string_equal(out, "ab");
	/* The longest iSCSI name, all of it escaped, fits twice its length. */
	char name[SCSI_STATS_NAME_MAX + 1], big[2 * SCSI_STATS_NAME_MAX + 1];
	memset(name, '"', SCSI_STATS_NAME_MAX);
	name[SCSI_STATS_NAME_MAX] = '\0';
	assert_int_equal(metrics_escape_label(big, sizeof(big), name), 2 * SCSI_STATS_NAME_MAX);
}

static struct scsi_stats_entry entry(enum scsi_stats_owner owner, const char *target, uint16_t lun,
				     const char *initiator)
{
	struct scsi_stats_entry e = { .owner = owner, .lun = lun };
	snprintf(e.target, sizeof(e.target), "%s", target);
	snprintf(e.initiator, sizeof(e.initiator), "%s", initiator);
	return e;
}

static char *render(struct scsi_stats_entry *e, size_t n, const struct iscsi_stats_totals *t)
{
	struct scsi_stats_snapshot s = { .entries = e, .n = n };
	size_t len = 0;
	const struct loop_poll_stats polls = { .found = 7, .missed = 2, .ns = 1500000 };
	char *text = metrics_text(&s, t, &polls, 1u << 20, &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	return text;
}

static void has_line(const char *text, const char *line)
{
	char want[1024];
	snprintf(want, sizeof(want), "\n%s\n", line);
	if (!strstr(text, want))
		fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void daemon_counters_have_help_type_and_labels(void **state)
{
	(void)state;
	struct iscsi_stats_totals t = { .sessions_now = { 2, 1 }, .conns_now = 3, .logins = { 5, 4 },
					.login_failures = { 7, 1, 2, 3 }, .auth_failures = 6, .rejects = 8,
					.drops = { 9, 10, 11 } };
	char *text = render(NULL, 0, &t);
	assert_memory_equal(text, "# HELP lunar_sessions ", strlen("# HELP lunar_sessions "));
	has_line(text, "# TYPE lunar_sessions gauge");
	has_line(text, "lunar_sessions{type=\"normal\"} 2");
	has_line(text, "lunar_sessions{type=\"discovery\"} 1");
	has_line(text, "lunar_connections 3");
	has_line(text, "# TYPE lunar_logins_total counter");
	has_line(text, "lunar_logins_total{type=\"discovery\"} 4");
	has_line(text, "lunar_login_failures_total{reason=\"authentication\"} 7");
	has_line(text, "lunar_login_failures_total{reason=\"authorization\"} 1");
	has_line(text, "lunar_login_failures_total{reason=\"not_found\"} 2");
	has_line(text, "lunar_login_failures_total{reason=\"other\"} 3");
	has_line(text, "lunar_authentication_failures_total 6");
	has_line(text, "lunar_rejects_sent_total 8");
	has_line(text, "lunar_connections_dropped_total{reason=\"send_stall\"} 11");
	has_line(text, "# TYPE lunar_dataplane_polls_total counter");
	has_line(text, "lunar_dataplane_polls_total{outcome=\"found_work\"} 7");
	has_line(text, "lunar_dataplane_polls_total{outcome=\"timed_out\"} 2");
	has_line(text, "lunar_dataplane_poll_seconds_total 0.001500");
	/* Families without series still say what they are. */
	has_line(text, "# TYPE lunar_lu_command_latency_seconds histogram");
	assert_int_equal(text[strlen(text) - 1], '\n');
	free(text);
}

static void lu_series_carry_every_family(void **state)
{
	(void)state;
	struct scsi_stats_entry e = entry(SCSI_STATS_LU, "iqn.2026-11.org.lunar:t", 3, "");
	e.totals.started = 12;
	e.totals.done[SCSI_STATS_READ] = 4;
	e.totals.done[SCSI_STATS_WRITE] = 5;
	e.totals.done[SCSI_STATS_OTHER] = 1;
	e.totals.bytes_read = 16384;
	e.totals.bytes_written = 20480;
	e.totals.check_condition[5] = 2;
	e.totals.lat_bucket[0] = 1;               /* <= 8.192 us */
	e.totals.lat_bucket[3] = 6;               /* <= 65.536 us */
	e.totals.lat_bucket[SCSI_STATS_LAT_BUCKETS] = 2; /* > 8.59 s */
	e.totals.lat_sum_ns = 20000000123ull;
	struct iscsi_stats_totals t = { 0 };
	char *text = render(&e, 1, &t);
	const char *l = "target=\"iqn.2026-11.org.lunar:t\",lun=\"3\"";
	char line[512];
#define LINE(...) (snprintf(line, sizeof(line), __VA_ARGS__), has_line(text, line))
	LINE("lunar_lu_commands_total{%s,kind=\"read\"} 4", l);
	LINE("lunar_lu_commands_total{%s,kind=\"write\"} 5", l);
	LINE("lunar_lu_commands_total{%s,kind=\"other\"} 1", l);
	LINE("lunar_lu_read_bytes_total{%s} 16384", l);
	LINE("lunar_lu_written_bytes_total{%s} 20480", l);
	LINE("lunar_lu_check_conditions_total{%s,sense_key=\"illegal_request\"} 2", l);
	assert_null(strstr(text, "sense_key=\"no_sense\""));
	LINE("lunar_lu_commands_in_flight{%s} 2", l);
	LINE("lunar_lu_command_latency_seconds_bucket{%s,le=\"0.000008192\"} 1", l);
	LINE("lunar_lu_command_latency_seconds_bucket{%s,le=\"0.000032768\"} 1", l);
	LINE("lunar_lu_command_latency_seconds_bucket{%s,le=\"0.000065536\"} 7", l);
	LINE("lunar_lu_command_latency_seconds_bucket{%s,le=\"8.589934592\"} 7", l);
	LINE("lunar_lu_command_latency_seconds_bucket{%s,le=\"+Inf\"} 9", l);
	LINE("lunar_lu_command_latency_seconds_sum{%s} 20.000000123", l);
	LINE("lunar_lu_command_latency_seconds_count{%s} 9", l);
#undef LINE
	free(text);
}

static void sessions_of_one_initiator_make_one_series(void **state)
{
	(void)state;
	struct scsi_stats_entry e[3] = {
		entry(SCSI_STATS_NEXUS, "iqn.2026-11.org.lunar:t", 0, "iqn.2026-11.org.test:b"),
		entry(SCSI_STATS_NEXUS, "iqn.2026-11.org.lunar:t", 0, "iqn.2026-11.org.test:a"),
		entry(SCSI_STATS_NEXUS, "iqn.2026-11.org.lunar:t", 0, "iqn.2026-11.org.test:b"),
	};
	e[0].totals.done[SCSI_STATS_WRITE] = 3;
	e[1].totals.done[SCSI_STATS_WRITE] = 10;
	e[2].totals.done[SCSI_STATS_WRITE] = 4;
	struct iscsi_stats_totals t = { 0 };
	char *text = render(e, 3, &t);
	has_line(text, "lunar_initiator_commands_total{target=\"iqn.2026-11.org.lunar:t\","
		 "initiator=\"iqn.2026-11.org.test:b\",kind=\"write\"} 7");
	has_line(text, "lunar_initiator_commands_total{target=\"iqn.2026-11.org.lunar:t\","
		 "initiator=\"iqn.2026-11.org.test:a\",kind=\"write\"} 10");
	const char *first = strstr(text, "initiator=\"iqn.2026-11.org.test:b\",kind=\"write\"");
	assert_non_null(first);
	assert_null(strstr(first + 1, "initiator=\"iqn.2026-11.org.test:b\",kind=\"write\""));
	free(text);
}

static void hostile_names_stay_inside_their_quotes(void **state)
{
	(void)state;
	struct scsi_stats_entry e = entry(SCSI_STATS_NEXUS, "iqn.2026-11.org.lunar:t", 0,
					  "evil\"} 1\nlunar_fake 9\n#\\");
	struct iscsi_stats_totals t = { 0 };
	char *text = render(&e, 1, &t);
	assert_null(strstr(text, "\nlunar_fake"));
	assert_non_null(strstr(text, "initiator=\"evil\\\"} 1\\nlunar_fake 9\\n#\\\\\""));
	free(text);
}

static void output_past_the_cap_is_refused(void **state)
{
	(void)state;
	struct scsi_stats_entry e = entry(SCSI_STATS_LU, "iqn.2026-11.org.lunar:t", 0, "");
	struct scsi_stats_snapshot s = { .entries = &e, .n = 1 };
	struct iscsi_stats_totals t = { 0 };
	size_t len = 0;
	struct loop_poll_stats polls = { 0 };
	assert_null(metrics_text(&s, &t, &polls, 1000, &len));
	char *text = metrics_text(&s, &t, &polls, 1u << 20, &len);
	assert_non_null(text);
	assert_null(metrics_text(&s, &t, &polls, len - 1, &len));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(labels_escape_backslash_quote_and_newline),
		cmocka_unit_test(labels_replace_what_is_not_utf8),
		cmocka_unit_test(labels_are_cut_whole),
		cmocka_unit_test(daemon_counters_have_help_type_and_labels),
		cmocka_unit_test(lu_series_carry_every_family),
		cmocka_unit_test(sessions_of_one_initiator_make_one_series),
		cmocka_unit_test(hostile_names_stay_inside_their_quotes),
		cmocka_unit_test(output_past_the_cap_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
