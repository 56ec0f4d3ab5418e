/* The Prometheus text exposition format 0.0.4 of lunar's counters
 * (docs/METRICS.md). Pure: snapshots in, text out. */
#ifndef LUNAR_CONTROL_METRICS_TEXT_H
#define LUNAR_CONTROL_METRICS_TEXT_H

#include <stddef.h>

#include "iscsi/transport_stats.h"
#include "scsi/stats.h"
#include "util/loop.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A label value as the format wants it between double quotes: backslash,
 * double quote and line feed escaped (\\, \", \n); bytes that are not
 * UTF-8, and other control characters, become '?', since a peer chose
 * them. Always NUL-terminated; a value that does not fit is cut at a
 * character boundary. Returns the length written. */
size_t metrics_escape_label(char *out, size_t cap, const char *in);

/* The whole exposition: daemon-wide counters from t, the data-plane
 * threads' polls from polls, one series set per LU and one per (target,
 * initiator) from s, the sessions of one initiator to one target added
 * up. Returns malloc'd NUL-terminated text and its length in *len, or
 * NULL when it would pass max bytes or memory ran out. */
char *metrics_text(const struct scsi_stats_snapshot *s, const struct iscsi_stats_totals *t,
		   const struct loop_poll_stats *polls, size_t max, size_t *len);

#endif
