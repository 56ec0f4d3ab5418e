/* lunard's limits and their names, one table row per limit. */
#include "iscsi/peer_limits.h"

#include <errno.h>
#include <string.h>

#include "util/macros.h"

/* The NOP-In cadence is LIO's (15 s, 15 s); keepalive is Linux's cadence
 * shortened to what a storage path wants; the login caps let one address
 * hold at most an eighth of the login slots. */
void iscsi_limits_default(struct iscsi_limits *l)
{
	*l = (struct iscsi_limits){
		.login = {
			.login_timeout_s = 30,
			.login_pdu_timeout_s = 15,
			.max_logins = 64,
			.max_connections = 1024,
			.max_connections_per_address = 64,
			.max_logins_per_address = 8,
			.auth_fail_delay_ms = 1000,
			.auth_fail_max = 5,
			.auth_fail_window_s = 60,
		},
		.conn = {
			.tx_queue_bytes = 4u << 20,
			.tx_stall_s = 30,
			.nop_interval_s = 15,
			.nop_timeout_s = 15,
			.discovery_idle_s = 60,
			.keepalive_idle_s = 60,
			.keepalive_interval_s = 10,
			.keepalive_count = 6,
			.session_data_bytes = ISCSI_SESSION_DATA_FROM_POOL,
			/* sixteen data segments of the default 256 KiB */
			.held_bytes = 4u << 20,
			.data_out_timeout_s = 30,
		},
	};
}

#define LOGIN(f) #f, offsetof(struct iscsi_limits, login.f)
#define CONN(f) #f, offsetof(struct iscsi_limits, conn.f)
#define HOUR 3600u

const struct iscsi_limit_key iscsi_limit_keys[ISCSI_LIMIT_NKEYS] = {
	/* A login timeout of 0 would end every login at once: at least 1 s. */
	{ LOGIN(login_timeout_s), 1, HOUR },
	{ LOGIN(login_pdu_timeout_s), 1, HOUR },
	{ LOGIN(max_logins), 0, 65535 },
	{ LOGIN(max_connections), 0, 65535 },
	{ LOGIN(max_connections_per_address), 0, 65535 },
	{ LOGIN(max_logins_per_address), 0, 65535 },
	{ LOGIN(auth_fail_delay_ms), 0, 60000 },
	{ LOGIN(auth_fail_max), 0, 1000 },
	{ LOGIN(auth_fail_window_s), 1, HOUR },
	{ CONN(tx_queue_bytes), 0, 1u << 30 },
	{ CONN(tx_stall_s), 0, HOUR },
	{ CONN(nop_interval_s), 0, HOUR },
	{ CONN(nop_timeout_s), 0, HOUR },
	{ CONN(discovery_idle_s), 0, HOUR },
	{ CONN(keepalive_idle_s), 0, 32767 },   /* TCP_KEEPIDLE's limit */
	{ CONN(keepalive_interval_s), 0, 32767 },
	{ CONN(keepalive_count), 0, 127 },
	{ CONN(session_data_bytes), 0, 1u << 31 },
	{ CONN(held_bytes), 0, 1u << 30 },
	{ CONN(data_out_timeout_s), 0, HOUR },
};

/* Every row filled: a row left out of the table would be an empty name. */
_Static_assert(ARRAY_SIZE(iscsi_limit_keys) == ISCSI_LIMIT_NKEYS, "ISCSI_LIMIT_NKEYS");

const struct iscsi_limit_key *iscsi_limit_find(const char *name)
{
	for (size_t i = 0; i < ISCSI_LIMIT_NKEYS; i++)
		if (strcmp(name, iscsi_limit_keys[i].name) == 0)
			return &iscsi_limit_keys[i];
	return NULL;
}

int iscsi_limits_set(struct iscsi_limits *l, const char *name, unsigned value)
{
	const struct iscsi_limit_key *k = iscsi_limit_find(name);
	if (!k)
		return -ENOENT;
	if (value < k->min || value > k->max)
		return -ERANGE;
	iscsi_limit_put(l, k, value);
	return 0;
}

void iscsi_limit_put(struct iscsi_limits *l, const struct iscsi_limit_key *k, unsigned value)
{
	*(unsigned *)((char *)l + k->offset) = value;
}
