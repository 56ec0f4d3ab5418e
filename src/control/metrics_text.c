#include "control/metrics_text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macros.h"

/* ---- label values ---- */

/* The length of the UTF-8 sequence at s (RFC 3629), or 0 if none starts there. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
		   : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

size_t metrics_escape_label(char *out, size_t cap, const char *in)
{
	size_t at = 0;
	if (cap == 0)
		return 0;
	for (const unsigned char *s = (const unsigned char *)in; *s;) {
		char esc[4] = { 0 };
		size_t take = 1, n;
		if (*s == '\\' || *s == '"') {
			esc[0] = '\\';
			esc[1] = (char)*s;
		} else if (*s == '\n') {
			memcpy(esc, "\\n", 2);
		} else if (*s < 0x20 || *s == 0x7f) {
			esc[0] = '?';
		} else if (*s < 0x80) {
			esc[0] = (char)*s;
		} else if ((n = utf8_len(s)) != 0) {
			memcpy(esc, s, n);
			take = n;
		} else {
			esc[0] = '?';
		}
		size_t len = strnlen(esc, sizeof(esc));
		if (at + len >= cap)
			break;
		memcpy(out + at, esc, len);
		at += len;
		s += take;
	}
	out[at] = '\0';
	return at;
}

/* ---- the output ---- */

struct out {
	char *buf;
	size_t len, cap, max;
	bool failed;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct out *o, const char *fmt, ...)
{
	if (o->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t want = o->cap * 2 > o->len + (size_t)n + 1 ? o->cap * 2 : o->len + (size_t)n + 1;
		if (want > o->max + 1)
			want = o->max + 1;
		char *grown = o->len + (size_t)n + 1 <= want ? realloc(o->buf, want) : NULL;
		if (!grown) {
			o->failed = true;
			return;
		}
		o->buf = grown;
		o->cap = want;
	}
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	emit(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Nanoseconds as seconds, exactly: at most 9 decimals, no trailing zeros. */
static const char *seconds(char buf[32], uint64_t ns)
{
	int n = snprintf(buf, 32, "%llu.%09llu", (unsigned long long)(ns / 1000000000u),
			 (unsigned long long)(ns % 1000000000u));
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

/* ---- the series of the SCSI counters ---- */

/* One labelled set of I/O counters: an LU, or an initiator's sessions to
 * one target added up. */
struct series {
	char labels[8 + 2 * SCSI_STATS_NAME_MAX + 16 + 2 * SCSI_STATS_NAME_MAX + 2];
	struct scsi_io_totals t;
};

static const char *const kind_names[SCSI_STATS_NKINDS] = { "read", "write", "other" };

/* SPC-4 table 28. */
static const char *const sense_key_names[SCSI_STATS_SENSE_KEYS] = {
	"no_sense", "recovered_error", "not_ready", "medium_error", "hardware_error",
	"illegal_request", "unit_attention", "data_protect", "blank_check", "vendor_specific",
	"copy_aborted", "aborted_command", "obsolete", "volume_overflow", "miscompare", "completed",
};

static void add_totals(struct scsi_io_totals *a, const struct scsi_io_totals *b)
{
	a->started += b->started;
	for (unsigned k = 0; k < SCSI_STATS_NKINDS; k++)
		a->done[k] += b->done[k];
	a->bytes_read += b->bytes_read;
	a->bytes_written += b->bytes_written;
	for (unsigned k = 0; k < SCSI_STATS_SENSE_KEYS; k++)
		a->check_condition[k] += b->check_condition[k];
	for (unsigned k = 0; k <= SCSI_STATS_LAT_BUCKETS; k++)
		a->lat_bucket[k] += b->lat_bucket[k];
	a->lat_sum_ns += b->lat_sum_ns;
}

static void io_families(struct out *o, const char *prefix, const char *whose, const struct series *v,
			size_t n)
{
	char name[64], help[160], sec[32];

	snprintf(name, sizeof(name), "%s_commands_total", prefix);
	snprintf(help, sizeof(help), "SCSI commands answered, by kind (read and write move medium blocks); %s.", whose);
	family(o, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < SCSI_STATS_NKINDS; k++)
			emit(o, "%s{%s,kind=\"%s\"} %llu\n", name, v[i].labels, kind_names[k],
			     (unsigned long long)v[i].t.done[k]);

	snprintf(name, sizeof(name), "%s_read_bytes_total", prefix);
	snprintf(help, sizeof(help), "Bytes of medium data read; %s.", whose);
	family(o, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		emit(o, "%s{%s} %llu\n", name, v[i].labels, (unsigned long long)v[i].t.bytes_read);

	snprintf(name, sizeof(name), "%s_written_bytes_total", prefix);
	snprintf(help, sizeof(help), "Bytes of medium data written by commands that completed GOOD; %s.", whose);
	family(o, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		emit(o, "%s{%s} %llu\n", name, v[i].labels, (unsigned long long)v[i].t.bytes_written);

	snprintf(name, sizeof(name), "%s_check_conditions_total", prefix);
	snprintf(help, sizeof(help), "Commands that ended in CHECK CONDITION, by sense key (keys seen only); %s.", whose);
	family(o, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < SCSI_STATS_SENSE_KEYS; k++)
			if (v[i].t.check_condition[k])
				emit(o, "%s{%s,sense_key=\"%s\"} %llu\n", name, v[i].labels, sense_key_names[k],
				     (unsigned long long)v[i].t.check_condition[k]);

	snprintf(name, sizeof(name), "%s_commands_in_flight", prefix);
	snprintf(help, sizeof(help), "SCSI commands received and not yet answered (queue depth); %s.", whose);
	family(o, name, "gauge", help);
	for (size_t i = 0; i < n; i++)
		emit(o, "%s{%s} %llu\n", name, v[i].labels, (unsigned long long)scsi_stats_in_flight(&v[i].t));

	snprintf(name, sizeof(name), "%s_command_latency_seconds", prefix);
	snprintf(help, sizeof(help), "Time from a SCSI command's arrival to its response sent; %s.", whose);
	family(o, name, "histogram", help);
	for (size_t i = 0; i < n; i++) {
		uint64_t cum = 0;
		for (unsigned k = 0; k < SCSI_STATS_LAT_BUCKETS; k++) {
			cum += v[i].t.lat_bucket[k];
			emit(o, "%s_bucket{%s,le=\"%s\"} %llu\n", name, v[i].labels,
			     seconds(sec, 1ull << (SCSI_STATS_LAT_SHIFT_MIN + k)), (unsigned long long)cum);
		}
		cum += v[i].t.lat_bucket[SCSI_STATS_LAT_BUCKETS];
		emit(o, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, v[i].labels, (unsigned long long)cum);
		emit(o, "%s_sum{%s} %s\n", name, v[i].labels, seconds(sec, v[i].t.lat_sum_ns));
		emit(o, "%s_count{%s} %llu\n", name, v[i].labels, (unsigned long long)cum);
	}
}

static int entry_cmp(const void *a, const void *b)
{
	const struct scsi_stats_entry *x = *(const struct scsi_stats_entry *const *)a;
	const struct scsi_stats_entry *y = *(const struct scsi_stats_entry *const *)b;
	int c = strcmp(x->target, y->target);
	if (c)
		return c;
	c = strcmp(x->initiator, y->initiator);
	if (c)
		return c;
	return x->lun < y->lun ? -1 : x->lun > y->lun;
}

/* The entries of owner, sorted; those of one (target, initiator) added
 * up into one series. Returns how many series, or -1 out of memory. */
static long build_series(const struct scsi_stats_snapshot *s, enum scsi_stats_owner owner,
			 struct series **out)
{
	const struct scsi_stats_entry **e = calloc(s->n ? s->n : 1, sizeof(*e));
	struct series *v = calloc(s->n ? s->n : 1, sizeof(*v));
	if (!e || !v) {
		free(e);
		free(v);
		return -1;
	}
	size_t n = 0, nv = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->entries[i].owner == owner)
			e[n++] = &s->entries[i];
	qsort(e, n, sizeof(*e), entry_cmp);
	char target[2 * SCSI_STATS_NAME_MAX + 1], who[2 * SCSI_STATS_NAME_MAX + 1];
	for (size_t i = 0; i < n; i++) {
		if (owner == SCSI_STATS_NEXUS && nv && strcmp(e[i]->target, e[i - 1]->target) == 0 &&
		    strcmp(e[i]->initiator, e[i - 1]->initiator) == 0) {
			add_totals(&v[nv - 1].t, &e[i]->totals);
			continue;
		}
		metrics_escape_label(target, sizeof(target), e[i]->target);
		if (owner == SCSI_STATS_LU) {
			snprintf(v[nv].labels, sizeof(v[nv].labels), "target=\"%s\",lun=\"%u\"", target, e[i]->lun);
		} else {
			metrics_escape_label(who, sizeof(who), e[i]->initiator);
			snprintf(v[nv].labels, sizeof(v[nv].labels), "target=\"%s\",initiator=\"%s\"", target, who);
		}
		v[nv++].t = e[i]->totals;
	}
	free(e);
	*out = v;
	return (long)nv;
}

/* ---- daemon-wide ---- */

static void transport_families(struct out *o, const struct iscsi_stats_totals *t)
{
	static const char *const types[ISCSI_STATS_NSESSION] = { "normal", "discovery" };
	static const char *const fails[ISCSI_STATS_NFAIL] = {
		"authentication", "authorization", "not_found", "other",
	};
	static const char *const drops[ISCSI_STATS_NDROP] = { "nop_timeout", "discovery_idle", "send_stall" };

	family(o, "lunar_sessions", "gauge", "iSCSI sessions now, by session type.");
	for (unsigned k = 0; k < ISCSI_STATS_NSESSION; k++)
		emit(o, "lunar_sessions{type=\"%s\"} %llu\n", types[k], (unsigned long long)t->sessions_now[k]);
	family(o, "lunar_connections", "gauge", "TCP connections now, logging in or logged in.");
	emit(o, "lunar_connections %llu\n", (unsigned long long)t->conns_now);
	family(o, "lunar_logins_total", "counter", "Logins that succeeded, by session type.");
	for (unsigned k = 0; k < ISCSI_STATS_NSESSION; k++)
		emit(o, "lunar_logins_total{type=\"%s\"} %llu\n", types[k], (unsigned long long)t->logins[k]);
	family(o, "lunar_login_failures_total", "counter",
	       "Logins refused, by reason: Status-Class/Detail 0201, 0202, 0203, or any other.");
	for (unsigned k = 0; k < ISCSI_STATS_NFAIL; k++)
		emit(o, "lunar_login_failures_total{reason=\"%s\"} %llu\n", fails[k],
		     (unsigned long long)t->login_failures[k]);
	family(o, "lunar_authentication_failures_total", "counter",
	       "CHAP exchanges that did not prove the initiator's identity.");
	emit(o, "lunar_authentication_failures_total %llu\n", (unsigned long long)t->auth_failures);
	family(o, "lunar_rejects_sent_total", "counter", "Reject PDUs sent (RFC 7143 11.17).");
	emit(o, "lunar_rejects_sent_total %llu\n", (unsigned long long)t->rejects);
	family(o, "lunar_connections_dropped_total", "counter",
	       "Connections closed by a liveness timer, by which one.");
	for (unsigned k = 0; k < ISCSI_STATS_NDROP; k++)
		emit(o, "lunar_connections_dropped_total{reason=\"%s\"} %llu\n", drops[k],
		     (unsigned long long)t->drops[k]);
}

static void poll_families(struct out *o, const struct loop_poll_stats *p)
{
	family(o, "lunar_dataplane_polls_total", "counter",
	       "Polls of the data-plane threads for an initiator's next command (poll_us), by outcome.");
	emit(o, "lunar_dataplane_polls_total{outcome=\"found_work\"} %llu\n", p->found);
	emit(o, "lunar_dataplane_polls_total{outcome=\"timed_out\"} %llu\n", p->missed);
	family(o, "lunar_dataplane_poll_seconds_total", "counter",
	       "Time the data-plane threads spent polling, on a CPU each.");
	emit(o, "lunar_dataplane_poll_seconds_total %.6f\n", (double)p->ns / 1e9);
}

char *metrics_text(const struct scsi_stats_snapshot *s, const struct iscsi_stats_totals *t,
		   const struct loop_poll_stats *polls, size_t max, size_t *len)
{
	struct out o = { .cap = max < 4096 ? max + 1 : 4096, .max = max };
	o.buf = malloc(o.cap);
	if (!o.buf)
		return NULL;
	transport_families(&o, t);
	poll_families(&o, polls);
	struct series *v = NULL;
	long n = build_series(s, SCSI_STATS_LU, &v);
	if (n < 0)
		o.failed = true;
	else
		io_families(&o, "lunar_lu", "per logical unit", v, (size_t)n);
	free(v);
	v = NULL;
	n = build_series(s, SCSI_STATS_NEXUS, &v);
	if (n < 0)
		o.failed = true;
	else
		io_families(&o, "lunar_initiator", "per initiator and target, its sessions added up", v, (size_t)n);
	free(v);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}
