/* stats.get: the counters behind the metrics endpoint (docs/METRICS.md),
 * per LU and per initiator session of a target, and the transport's,
 * as JSON for lunarctl. */
#include <stdlib.h>
#include <string.h>

#include "control/mgmt_methods.h"
#include "iscsi/transport_stats.h"
#include "scsi/stats.h"

/* The upper bound, in microseconds, of the latency bucket that holds the
 * q-th quantile of the samples; 0 without samples. The last bucket has no
 * bound: it reports the largest one. */
static double lat_quantile_us(const struct scsi_io_totals *t, double q)
{
	uint64_t n = 0;
	for (unsigned b = 0; b <= SCSI_STATS_LAT_BUCKETS; b++)
		n += t->lat_bucket[b];
	if (n == 0)
		return 0;
	uint64_t want = (uint64_t)(q * (double)n), seen = 0;
	unsigned b = 0;
	for (; b < SCSI_STATS_LAT_BUCKETS; b++) {
		seen += t->lat_bucket[b];
		if (seen > want)
			break;
	}
	unsigned shift = SCSI_STATS_LAT_SHIFT_MIN + (b < SCSI_STATS_LAT_BUCKETS ? b : SCSI_STATS_LAT_BUCKETS - 1);
	return (double)(1ull << shift) / 1000.0;
}

static json_t *totals_json(const struct scsi_io_totals *t)
{
	uint64_t done = 0, errors = 0;
	for (unsigned k = 0; k < SCSI_STATS_NKINDS; k++)
		done += t->done[k];
	for (unsigned k = 0; k < SCSI_STATS_SENSE_KEYS; k++)
		errors += t->check_condition[k];
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f}",
			 "reads", (json_int_t)t->done[SCSI_STATS_READ],
			 "writes", (json_int_t)t->done[SCSI_STATS_WRITE],
			 "other", (json_int_t)t->done[SCSI_STATS_OTHER],
			 "bytes_read", (json_int_t)t->bytes_read,
			 "bytes_written", (json_int_t)t->bytes_written,
			 "check_conditions", (json_int_t)errors,
			 "in_flight", (json_int_t)scsi_stats_in_flight(t),
			 "latency_mean_us", done ? (double)t->lat_sum_ns / (double)done / 1000.0 : 0.0,
			 "latency_p50_us", lat_quantile_us(t, 0.50),
			 "latency_p99_us", lat_quantile_us(t, 0.99));
}

static json_t *transport_json(void)
{
	struct iscsi_stats_totals t;
	iscsi_stats_read(&t);
	return json_pack("{s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:{s:I, s:I, s:I}, s:I, s:I, s:I}",
			 "logins", (json_int_t)t.logins[ISCSI_STATS_NORMAL],
			 "discovery_logins", (json_int_t)t.logins[ISCSI_STATS_DISCOVERY],
			 "login_failures",
			 "authentication", (json_int_t)t.login_failures[ISCSI_STATS_FAIL_AUTHENTICATION],
			 "authorization", (json_int_t)t.login_failures[ISCSI_STATS_FAIL_AUTHORIZATION],
			 "not_found", (json_int_t)t.login_failures[ISCSI_STATS_FAIL_NOT_FOUND],
			 "other", (json_int_t)t.login_failures[ISCSI_STATS_FAIL_OTHER],
			 "auth_failures", (json_int_t)t.auth_failures,
			 "rejects", (json_int_t)t.rejects,
			 "drops",
			 "nop_timeout", (json_int_t)t.drops[ISCSI_STATS_DROP_NOP_TIMEOUT],
			 "discovery_idle", (json_int_t)t.drops[ISCSI_STATS_DROP_DISCOVERY_IDLE],
			 "send_stall", (json_int_t)t.drops[ISCSI_STATS_DROP_SEND_STALL],
			 "sessions", (json_int_t)t.sessions_now[ISCSI_STATS_NORMAL],
			 "discovery_sessions", (json_int_t)t.sessions_now[ISCSI_STATS_DISCOVERY],
			 "connections", (json_int_t)t.conns_now);
}

/* One LU or initiator session's entry, with its identity first. */
static json_t *entry_json(const struct scsi_stats_entry *e)
{
	json_t *o = totals_json(&e->totals);
	if (!o)
		return NULL;
	json_object_set_new(o, "target", json_string(e->target));
	if (e->owner == SCSI_STATS_LU) {
		json_object_set_new(o, "lun", json_integer(e->lun));
	} else {
		json_object_set_new(o, "initiator", json_string(e->initiator));
		json_object_set_new(o, "isid", json_string(e->isid));
	}
	return o;
}

/* {target?, lun?}: the LUs (and, without lun, the sessions) they select,
 * and the daemon-wide transport counters. */
void mgmt_stats_get(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *target = NULL;
	unsigned long long lun = 0;
	if (mgmt_param_string(call, params, "target", false, &target) < 0 ||
	    mgmt_param_uint(call, params, "lun", false, UINT16_MAX, &lun) < 0)
		return;
	bool by_lun = json_object_get(params, "lun") != NULL;
	struct scsi_stats_snapshot snap;
	if (scsi_stats_snapshot(&snap) < 0) {
		mgmt_call_error(call, MGMT_ERR_INTERNAL, NULL, "out of memory");
		return;
	}
	json_t *luns = json_array(), *sessions = json_array();
	for (size_t i = 0; luns && sessions && i < snap.n; i++) {
		const struct scsi_stats_entry *e = &snap.entries[i];
		if (target && strcmp(target, e->target) != 0)
			continue;
		if (e->owner == SCSI_STATS_LU && (!by_lun || e->lun == lun))
			json_array_append_new(luns, entry_json(e));
		else if (e->owner == SCSI_STATS_NEXUS && !by_lun)
			json_array_append_new(sessions, entry_json(e));
	}
	scsi_stats_snapshot_free(&snap);
	mgmt_call_result(call, json_pack("{s:o, s:o, s:o}", "transport", transport_json(),
					 "luns", luns, "sessions", sessions));
}
