/* The control thread's loop and what reaches it from outside lunard:
 * signals (control.c: SIGHUP reloads the configuration, SIGINT and SIGTERM
 * shut down in order) and systemd's notify protocol (control_systemd.c:
 * the STATUS= line and the watchdog). */
#ifndef LUNAR_DAEMON_CONTROL_H
#define LUNAR_DAEMON_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include "util/liveness.h"
#include "util/loop.h"

struct control {
	struct loop loop;
	int sigfd;
	struct signalfd_siginfo siginfo;
	struct loop_op sig_op;
	struct loop_op tick_op;
	struct __kernel_timespec tick;
	unsigned waited_ms;
	bool shutting_down;
	bool closing;               /* the logout wait is over: what remains is closed */
	unsigned logout_timeout_s;
	/* systemd (sd_notify): STATUS= and the watchdog */
	struct loop_op status_op;
	struct __kernel_timespec status_ts;
	char status[128];
	struct loop_op watchdog_op;
	struct __kernel_timespec watchdog_ts;
	uint64_t watchdog_ns;       /* between pings: half systemd's interval */
	struct liveness liveness;   /* the data-plane loops, asked at each ping */
	bool watchdog_starved;      /* a loop did not answer: pings withheld */
};

/* Blocks the signals the control loop reads, before any thread starts, so
 * that every thread inherits the mask. */
void control_block_signals(void);
/* The loop and its signalfd; logout_timeout_s is how long initiators have
 * to log out at SIGINT/SIGTERM (RFC 7143 §11.9.1). */
int control_init(struct control *c, unsigned logout_timeout_s);
/* From here on the loop reads signals. */
void control_watch_signals(struct control *c);
void control_fini(struct control *c);

/* op runs once ns have passed (ts holds the time for the kernel). */
void control_arm_timer(struct control *c, struct loop_op *op, struct __kernel_timespec *ts, uint64_t ns);

/* control_systemd.c: STATUS= when systemd listens, watchdog pings when the
 * unit asks for them; once the data-plane threads run. */
int control_start_systemd(struct control *c);
/* After the data-plane threads have stopped. */
void control_stop_systemd(struct control *c);

#endif
