#include "iscsi/transport_stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/pdu.h"
#include "scsi/stats.h"

/* Until iscsi_stats_init (and in unit tests) every thread counts here. */
static union iscsi_stats_shard shard_zero;
static union iscsi_stats_shard *shards = &shard_zero;
static unsigned nshards = 1;

int iscsi_stats_init(void)
{
	unsigned n = scsi_stats_nshards();
	union iscsi_stats_shard *s = aligned_alloc(SCSI_STATS_CACHE_LINE, n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s, 0, n * sizeof(*s));
	shards = s;
	nshards = n;
	return 0;
}

void iscsi_stats_fini(void)
{
	if (shards != &shard_zero)
		free(shards);
	shards = &shard_zero;
	nshards = 1;
}

static struct iscsi_stats_counters *mine(void)
{
	unsigned s = scsi_stats_shard_self();
	return &shards[s < nshards ? s : 0].c;
}

/* Only this thread writes its shard (scsi/stats.h). */
static void bump(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

void iscsi_stats_login_done(bool discovery)
{
	bump(&mine()->logins[discovery ? ISCSI_STATS_DISCOVERY : ISCSI_STATS_NORMAL]);
}

void iscsi_stats_login_failed(uint16_t status)
{
	enum iscsi_stats_login_fail why = status == ISCSI_LOGIN_AUTH_FAILED ? ISCSI_STATS_FAIL_AUTHENTICATION
		: status == ISCSI_LOGIN_NOT_AUTHORIZED ? ISCSI_STATS_FAIL_AUTHORIZATION
		: status == ISCSI_LOGIN_TARGET_NOT_FOUND ? ISCSI_STATS_FAIL_NOT_FOUND
		: ISCSI_STATS_FAIL_OTHER;
	bump(&mine()->login_failures[why]);
}

void iscsi_stats_auth_failed(void)
{
	bump(&mine()->auth_failures);
}

void iscsi_stats_reject_sent(void)
{
	bump(&mine()->rejects);
}

void iscsi_stats_dropped(enum iscsi_stats_drop why)
{
	bump(&mine()->drops[why]);
}

void iscsi_stats_session_opened(bool discovery)
{
	bump(&mine()->sessions_opened[discovery ? ISCSI_STATS_DISCOVERY : ISCSI_STATS_NORMAL]);
}

void iscsi_stats_session_closed(bool discovery)
{
	bump(&mine()->sessions_closed[discovery ? ISCSI_STATS_DISCOVERY : ISCSI_STATS_NORMAL]);
}

void iscsi_stats_conn_opened(void)
{
	bump(&mine()->conns_opened);
}

void iscsi_stats_conn_closed(void)
{
	bump(&mine()->conns_closed);
}

static uint64_t get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Shards are read one after another while things move: a close seen
 * without its open reads as nothing open, not as a huge number. */
static uint64_t now_of(uint64_t opened, uint64_t closed)
{
	return opened > closed ? opened - closed : 0;
}

void iscsi_stats_merge(struct iscsi_stats_totals *t, const union iscsi_stats_shard *s, unsigned n)
{
	uint64_t sess_open[ISCSI_STATS_NSESSION] = { 0 }, sess_closed[ISCSI_STATS_NSESSION] = { 0 };
	uint64_t conn_open = 0, conn_closed = 0;
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < n; i++) {
		const struct iscsi_stats_counters *c = &s[i].c;
		for (unsigned k = 0; k < ISCSI_STATS_NSESSION; k++) {
			t->logins[k] += get(&c->logins[k]);
			sess_open[k] += get(&c->sessions_opened[k]);
			sess_closed[k] += get(&c->sessions_closed[k]);
		}
		for (unsigned k = 0; k < ISCSI_STATS_NFAIL; k++)
			t->login_failures[k] += get(&c->login_failures[k]);
		for (unsigned k = 0; k < ISCSI_STATS_NDROP; k++)
			t->drops[k] += get(&c->drops[k]);
		t->auth_failures += get(&c->auth_failures);
		t->rejects += get(&c->rejects);
		conn_open += get(&c->conns_opened);
		conn_closed += get(&c->conns_closed);
	}
	for (unsigned k = 0; k < ISCSI_STATS_NSESSION; k++)
		t->sessions_now[k] = now_of(sess_open[k], sess_closed[k]);
	t->conns_now = now_of(conn_open, conn_closed);
}

void iscsi_stats_read(struct iscsi_stats_totals *t)
{
	iscsi_stats_merge(t, shards, nshards);
}
