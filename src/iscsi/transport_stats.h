/* Daemon-wide counters of the iSCSI transport (docs/METRICS.md): logins
 * and why they failed, sessions and connections now, Rejects sent,
 * connections the liveness timers dropped.
 *
 * None of these is on the per-command path, but they are kept the same
 * way as the SCSI core's (scsi/stats.h): one shard per thread, each on
 * cache lines of its own and written only by its thread with a relaxed
 * load and store; a reader adds the shards up. A session or connection
 * is counted opened on one thread and closed on another, so "now" is
 * opened minus closed over every shard. */
#ifndef LUNAR_ISCSI_TRANSPORT_STATS_H
#define LUNAR_ISCSI_TRANSPORT_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "scsi/stats.h"
#include "util/macros.h"

enum iscsi_stats_session { ISCSI_STATS_NORMAL, ISCSI_STATS_DISCOVERY, ISCSI_STATS_NSESSION };

/* Why a login failed: its Status-Class/Detail (RFC 7143 §11.13.5). */
enum iscsi_stats_login_fail {
	ISCSI_STATS_FAIL_AUTHENTICATION, /* 0201 */
	ISCSI_STATS_FAIL_AUTHORIZATION,  /* 0202 */
	ISCSI_STATS_FAIL_NOT_FOUND,      /* 0203 */
	ISCSI_STATS_FAIL_OTHER,
	ISCSI_STATS_NFAIL,
};

/* Which liveness timer dropped a connection (conn.c). */
enum iscsi_stats_drop {
	ISCSI_STATS_DROP_NOP_TIMEOUT,    /* no answer to a NOP-In ping */
	ISCSI_STATS_DROP_DISCOVERY_IDLE, /* a silent discovery session */
	ISCSI_STATS_DROP_SEND_STALL,     /* the peer read nothing for tx_stall_s */
	ISCSI_STATS_NDROP,
};

struct iscsi_stats_counters {
	_Atomic uint64_t logins[ISCSI_STATS_NSESSION];
	_Atomic uint64_t login_failures[ISCSI_STATS_NFAIL];
	_Atomic uint64_t auth_failures;
	_Atomic uint64_t rejects;
	_Atomic uint64_t drops[ISCSI_STATS_NDROP];
	_Atomic uint64_t sessions_opened[ISCSI_STATS_NSESSION];
	_Atomic uint64_t sessions_closed[ISCSI_STATS_NSESSION];
	_Atomic uint64_t conns_opened, conns_closed;
};

union iscsi_stats_shard {
	struct iscsi_stats_counters c;
	char pad[DIV_ROUND_UP(sizeof(struct iscsi_stats_counters), SCSI_STATS_CACHE_LINE) *
		 SCSI_STATS_CACHE_LINE];
};

struct iscsi_stats_totals {
	uint64_t logins[ISCSI_STATS_NSESSION];
	uint64_t login_failures[ISCSI_STATS_NFAIL];
	uint64_t auth_failures;
	uint64_t rejects;
	uint64_t drops[ISCSI_STATS_NDROP];
	uint64_t sessions_now[ISCSI_STATS_NSESSION];
	uint64_t conns_now;
};

/* Start-up, after scsi_stats_set_threads and before the first
 * connection: one shard per thread. Returns 0 or -ENOMEM (then every
 * thread counts in one shard, and counts may be lost). */
int iscsi_stats_init(void);
/* Shutdown, once no thread counts any more. */
void iscsi_stats_fini(void);

/* The login phase, on the control thread. */
void iscsi_stats_login_done(bool discovery);
void iscsi_stats_login_failed(uint16_t status);
/* A CHAP exchange that did not prove the initiator's (or the target's)
 * identity; its login also counts as failed with 0201. */
void iscsi_stats_auth_failed(void);
void iscsi_stats_reject_sent(void);
void iscsi_stats_dropped(enum iscsi_stats_drop why);
void iscsi_stats_session_opened(bool discovery);
void iscsi_stats_session_closed(bool discovery);
void iscsi_stats_conn_opened(void);
void iscsi_stats_conn_closed(void);

/* Pure: the totals of n shards. */
void iscsi_stats_merge(struct iscsi_stats_totals *t, const union iscsi_stats_shard *shards, unsigned n);
/* Any thread: the totals now. */
void iscsi_stats_read(struct iscsi_stats_totals *t);

#endif
