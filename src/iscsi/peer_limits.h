/* What one peer may make lunard hold, and how long lunard waits for it:
 * every such limit and timeout, with lunard's defaults and the name each
 * is configured by (the `limits` group of the config file, docs/CONFIG.md;
 * lunard's --limit NAME=N). A limit at 0 is off: unit tests and the fuzzer
 * build hosts without limits. Pure: no I/O. */
#ifndef LUNAR_ISCSI_PEER_LIMITS_H
#define LUNAR_ISCSI_PEER_LIMITS_H

#include <limits.h>
#include <stddef.h>

/* Before and during login, so that no one can tie up the target without
 * logging in (RFC 7143 leaves these to the target). A connection over a
 * cap is closed at accept, before anything is read. */
struct iscsi_login_limits {
	unsigned login_timeout_s;     /* the whole login, from accept to the full feature phase */
	unsigned login_pdu_timeout_s; /* longest wait for each PDU during login */
	unsigned max_logins;          /* connections in their login phase at once */
	unsigned max_connections;     /* connections in all, logging in or logged in */
	unsigned max_connections_per_address; /* connections from one source address */
	/* connections from one source address in their login phase: below
	 * max_logins, so that one address cannot hold every login slot */
	unsigned max_logins_per_address;
	/* A failed authentication (0201) is answered after this delay; after
	 * auth_fail_max failures from one address within auth_fail_window_s,
	 * logins from it fail at once until the window has passed. */
	unsigned auth_fail_delay_ms;
	unsigned auth_fail_max;
	unsigned auth_fail_window_s;
};

/* In the full feature phase. */
struct iscsi_conn_limits {
	/* Memory of the replies queued on one connection (their headers and
	 * the data they own; Data-In data lives in task chunks, under the
	 * pool's budget) above which lunard stops reading from the peer
	 * until half of it has gone. */
	unsigned tx_queue_bytes;
	/* A send that moves nothing for this long drops the connection: the
	 * peer stopped reading. */
	unsigned tx_stall_s;
	/* RFC 7143 §11.19: a full-feature connection that sent nothing for
	 * nop_interval_s gets a NOP-In ping; without the NOP-Out answer
	 * within nop_timeout_s it is dropped. */
	unsigned nop_interval_s, nop_timeout_s;
	/* A discovery session that sends nothing for this long is closed. */
	unsigned discovery_idle_s;
	/* TCP keepalive on every accepted socket: probes start after
	 * keepalive_idle_s of silence, every keepalive_interval_s, and
	 * keepalive_count unanswered ones drop the connection. */
	unsigned keepalive_idle_s, keepalive_interval_s, keepalive_count;
	/* A session whose commands may move this many bytes of task data
	 * (their transfer lengths) gets no new CmdSN slots until some end:
	 * its share of the buffer pool's budget. ISCSI_SESSION_DATA_FROM_POOL
	 * (the default) takes the pool's own figure for one session
	 * (util/bufpool.h share_bytes). */
	unsigned session_data_bytes;
	/* Data segments of commands held until the ones before them in
	 * CmdSN order arrive, per session; past it the connection is
	 * closed. */
	unsigned held_bytes;
	/* A write whose initiator sends none of the data it owes (an R2T's
	 * burst, unsolicited data) for this long ends with CHECK CONDITION:
	 * it would hold its chunks, perhaps the pool's reserve, for ever.
	 * Checked on the liveness timer, so only with nop_interval_s set. */
	unsigned data_out_timeout_s;
};

#define ISCSI_SESSION_DATA_FROM_POOL UINT_MAX

struct iscsi_limits {
	struct iscsi_login_limits login;
	struct iscsi_conn_limits conn;
};

/* lunard's defaults. */
void iscsi_limits_default(struct iscsi_limits *l);

/* One limit: its name, where it lives in struct iscsi_limits, and the
 * values it takes. */
struct iscsi_limit_key {
	const char *name;
	size_t offset;
	unsigned min, max;
};

#define ISCSI_LIMIT_NKEYS 20

extern const struct iscsi_limit_key iscsi_limit_keys[ISCSI_LIMIT_NKEYS];

/* The key called name, or NULL. */
const struct iscsi_limit_key *iscsi_limit_find(const char *name);
/* Sets the limit called name: 0, -ENOENT (no such limit) or -ERANGE
 * (value outside the key's range; nothing changes). */
int iscsi_limits_set(struct iscsi_limits *l, const char *name, unsigned value);
/* Sets the limit k names to value, which the caller has checked against
 * k's range. */
void iscsi_limit_put(struct iscsi_limits *l, const struct iscsi_limit_key *k, unsigned value);

#endif
