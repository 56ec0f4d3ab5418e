/* What a peer may hold before it logs in: a login has a deadline as a
 * whole, however the peer paces its bytes, and one source address holds
 * at most so many connections (lunard's --login-timeout and
 * --max-conns-per-address; RFC 7143 leaves both to the target). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/be.h"
#include "wire_check.h"
#include "wire_scenarios.h"

/* How late after the deadline the close may come (a loaded machine). */
#define DEADLINE_SLACK_S 4
#define DRIBBLE_INTERVAL_MS 1000
#define CAP_CONNS_MAX 64
/* A connection's end reaches the target's count within this. */
#define RELEASE_WAIT_MS 500

static double elapsed_s(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* A Login Request header sent one byte a second: every byte comes well
 * within any per-PDU wait, so only the whole login's deadline ends it. */
static void check_dribbled_login(const struct wire_target *t, unsigned deadline_s)
{
	const char *name = "dribbled_login_closed_at_deadline";
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint8_t bhs[ISCSI_BHS_LEN];

	if (!wire_connect(&c, t, why, sizeof(why))) {
		wire_check(name, false, "%s", why);
		return;
	}
	wire_build_login(bhs, &c, wire_login_flags(true, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL),
			 c.next_itt++, 0);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	enum wire_io r = WIRE_IO_TIMEOUT;
	for (unsigned i = 0; i < ISCSI_BHS_LEN - 1 && r == WIRE_IO_TIMEOUT; i++) {
		r = wire_send(&c, bhs + i, 1);
		if (r == WIRE_IO_OK)
			r = wire_wait_close(&c, DRIBBLE_INTERVAL_MS);
		if (elapsed_s(&start) > deadline_s + DEADLINE_SLACK_S)
			break;
	}
	double took = elapsed_s(&start);
	if (r != WIRE_IO_CLOSED)
		snprintf(why, sizeof(why), "still open after %.1f s: %s", took, wire_io_name(r));
	else if (took < deadline_s - 1 || took > deadline_s + DEADLINE_SLACK_S)
		snprintf(why, sizeof(why), "closed after %.1f s, deadline %u s", took, deadline_s);
	wire_note("dribbled login closed after %.1f s (deadline %u s)", took, deadline_s);
	wire_check_why(name, why);
	wire_close(&c);
}

/* Sends a Login Request and expects the connection closed without any
 * answer: the target turned it away at accept. */
static void expect_refused(struct wire_conn *c, char *why, size_t why_len)
{
	uint8_t bhs[ISCSI_BHS_LEN];
	wire_build_login(bhs, c, wire_login_flags(true, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL),
			 c->next_itt++, 0);
	enum wire_io r = wire_send(c, bhs, sizeof(bhs));
	struct wire_pdu p;
	if (r == WIRE_IO_OK)
		r = wire_recv_pdu(c, &p, WIRE_IO_TIMEOUT_S * 1000);
	if (r == WIRE_IO_OK) {
		snprintf(why, why_len, "answered with opcode 0x%02x", p.bhs[0] & 0x3f);
		wire_pdu_free(&p);
	} else if (r != WIRE_IO_CLOSED) {
		snprintf(why, why_len, "not closed: %s", wire_io_name(r));
	}
}

/* cap connections from this address are served (the last one logs in),
 * the next is closed unanswered, and closing one makes room again. */
static void check_per_address_cap(const struct wire_target *t, unsigned cap)
{
	static const char *const names[] = {
		"per_address_cap_connections_served", "per_address_cap_next_refused",
		"per_address_cap_room_after_close",
	};
	struct wire_conn held[CAP_CONNS_MAX], extra;
	char why[WIRE_WHY_LEN] = "";
	unsigned n = 0;

	if (cap < 1 || cap > CAP_CONNS_MAX) {
		wire_check_unreached(names, 3, "cap out of the tool's range");
		return;
	}
	/* Connections of earlier checks may still be on their way out. */
	usleep(RELEASE_WAIT_MS * 1000);
	while (n + 1 < cap && wire_connect(&held[n], t, why, sizeof(why)))
		n++;
	bool served = n + 1 == cap && wire_login(&held[n], t, why, sizeof(why));
	if (served)
		n++;
	wire_check(names[0], served, "%u of %u connections: %s", n, cap, why);
	if (!served) {
		wire_check_unreached(names + 1, 2, "the cap's own connections failed");
		goto out;
	}
	if (wire_connect(&extra, t, why, sizeof(why))) {
		expect_refused(&extra, why, sizeof(why));
		wire_close(&extra);
	}
	wire_check_why(names[1], why);
	*why = '\0';
	wire_close(&held[--n]);
	usleep(RELEASE_WAIT_MS * 1000);
	if (wire_login(&extra, t, why, sizeof(why)))
		wire_close(&extra);
	wire_check_why(names[2], why);
out:
	while (n)
		wire_close(&held[--n]);
}

void wire_login_limits_checks(const struct wire_target *t, const struct wire_login_limits *lim)
{
	if (lim->deadline_s)
		check_dribbled_login(t, lim->deadline_s);
	else
		wire_note("no --login-deadline: dribbled login check skipped");
	if (lim->per_address)
		check_per_address_cap(t, lim->per_address);
	else
		wire_note("no --per-address-cap: per-address cap checks skipped");
}
