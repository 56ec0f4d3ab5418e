/* systemd's notify protocol on the control loop: a STATUS= line saying
 * what lunard serves, and watchdog pings sent only while every data-plane
 * loop still answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "control/running.h"
#include "daemon/control.h"
#include "daemon/dataplane.h"
#include "iscsi/conn.h"
#include "iscsi/session.h"
#include "util/log.h"
#include "util/macros.h"

/* systemd's STATUS= line is refreshed at most this often. */
#define STATUS_INTERVAL_MS 1000

/* systemd's STATUS= line, sent when it changes. */
static void on_status(struct loop_op *op, int res)
{
	struct control *c = container_of(op, struct control, status_op);
	char now[sizeof(c->status)];
	unsigned conns = iscsi_conn_live_count(), sessions = iscsi_session_count();
	if (c->shutting_down)
		snprintf(now, sizeof(now), "shutting down: %u connection%s left", conns,
			 conns == 1 ? "" : "s");
	else
		snprintf(now, sizeof(now), "serving %zu target%s, %u session%s, %u connection%s",
			 running_config()->ntargets, running_config()->ntargets == 1 ? "" : "s", sessions,
			 sessions == 1 ? "" : "s", conns, conns == 1 ? "" : "s");
	if (strcmp(now, c->status) != 0) {
		memcpy(c->status, now, sizeof(now));
		sd_notifyf(0, "STATUS=%s", c->status);
	}
	control_arm_timer(c, &c->status_op, &c->status_ts, STATUS_INTERVAL_MS * 1000000ull);
}

/* The watchdog is fed only while every data-plane loop answers, so that a
 * stuck one makes systemd restart lunard (WatchdogSec in the unit). */
static void on_watchdog(struct loop_op *op, int res)
{
	struct control *c = container_of(op, struct control, watchdog_op);
	unsigned stuck;
	if (liveness_check(&c->liveness, &stuck)) {
		if (c->watchdog_starved)
			log_warn("watchdog: every data-plane thread answers again");
		c->watchdog_starved = false;
		sd_notify(0, "WATCHDOG=1");
	} else if (!c->watchdog_starved) {
		c->watchdog_starved = true;
		log_error("watchdog: data-plane thread %u does not answer; systemd is no longer told "
			  "lunard is alive", stuck);
	}
	control_arm_timer(c, &c->watchdog_op, &c->watchdog_ts, c->watchdog_ns);
}

/* STATUS= updates when systemd listens; watchdog pings at half the
 * interval when the unit asks for them (WatchdogSec). */
int control_start_systemd(struct control *c)
{
	c->status_op.cb = on_status;
	c->watchdog_op.cb = on_watchdog;
	if (getenv("NOTIFY_SOCKET"))
		on_status(&c->status_op, 0);
	uint64_t usec;
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	int ret = liveness_init(&c->liveness, dataplane_loops(), dataplane_count());
	if (ret < 0)
		return ret;
	log_info("watchdog: pinging systemd every %llu ms while the data plane answers",
		 (unsigned long long)(usec / 2000));
	c->watchdog_ns = usec * 1000 / 2;
	control_arm_timer(c, &c->watchdog_op, &c->watchdog_ts, c->watchdog_ns);
	sd_notify(0, "WATCHDOG=1");
	return 0;
}

void control_stop_systemd(struct control *c)
{
	liveness_fini(&c->liveness);
}
