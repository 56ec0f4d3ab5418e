/* The control loop and the signals that reach it: SIGHUP applies the
 * configuration file live, SIGINT and SIGTERM start an orderly shutdown
 * (initiators asked to log out, then what remains closed). */
#include <signal.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "control/portal.h"
#include "control/running.h"
#include "daemon/control.h"
#include "daemon/dataplane.h"
#include "iscsi/conn.h"
#include "util/log.h"
#include "util/macros.h"

#define CONTROL_RING_ENTRIES 256
/* After the initiators had their chance to log out (RFC 7143 §11.9.1
 * AsyncEvent 1, --shutdown-timeout), how long closing what remains may
 * take. */
#define SHUTDOWN_GRACE_MS 5000
#define SHUTDOWN_POLL_MS 20

void control_arm_timer(struct control *c, struct loop_op *op, struct __kernel_timespec *ts, uint64_t ns)
{
	*ts = (struct __kernel_timespec){ .tv_sec = (long long)(ns / 1000000000u),
					  .tv_nsec = (long long)(ns % 1000000000u) };
	struct io_uring_sqe *sqe = loop_get_sqe(&c->loop);
	io_uring_prep_timeout(sqe, ts, 0, 0);
	loop_sqe_set_op(sqe, op);
}

void control_watch_signals(struct control *c)
{
	struct io_uring_sqe *sqe = loop_get_sqe(&c->loop);
	io_uring_prep_read(sqe, c->sigfd, &c->siginfo, sizeof(c->siginfo), 0);
	loop_sqe_set_op(sqe, &c->sig_op);
}

static void control_arm_tick(struct control *c)
{
	control_arm_timer(c, &c->tick_op, &c->tick, SHUTDOWN_POLL_MS * 1000000ull);
}

/* Asks the initiators to log out, or (once the wait is over) closes what
 * remains, here and on every data-plane loop; asked again at each tick in
 * case a connection was on its way to a data-plane loop the first time. */
static void shutdown_sweep(struct control *c)
{
	if (c->closing) {
		iscsi_conn_close_all_on(&c->loop);
		dataplane_close_connections();
	} else {
		iscsi_conn_ask_logout_all_on(&c->loop, (uint16_t)c->logout_timeout_s);
		dataplane_ask_logout((uint16_t)c->logout_timeout_s);
	}
}

/* Graceful shutdown (RFC 7143 §11.9.1): the initiators were asked to log
 * out within logout_timeout_s while their commands in flight complete;
 * then whatever is left is closed, and SHUTDOWN_GRACE_MS bounds that. */
static void on_tick(struct loop_op *op, int res)
{
	struct control *c = container_of(op, struct control, tick_op);
	c->waited_ms += SHUTDOWN_POLL_MS;
	unsigned live = iscsi_conn_live_count();
	if (live == 0) {
		log_info("shutdown: every connection ended");
		c->loop.stop = true;
		return;
	}
	if (!c->closing && c->waited_ms >= c->logout_timeout_s * 1000u) {
		if (c->logout_timeout_s)
			log_warn("shutdown: %u connection(s) did not log out within %u s: closing them",
				 live, c->logout_timeout_s);
		c->closing = true;
		c->waited_ms = 0;
	} else if (c->closing && c->waited_ms >= SHUTDOWN_GRACE_MS) {
		log_warn("shutdown: %u connection(s) still open after %u ms", live, c->waited_ms);
		c->loop.stop = true;
		return;
	}
	shutdown_sweep(c);
	control_arm_tick(c);
}

/* SIGHUP: the configuration file as it is now, applied live (ctld
 * style); a refused one leaves everything as it was. */
static void control_reload(void)
{
	sd_notify(0, "RELOADING=1");
	struct running_report rep = { 0 };
	char err[512];
	log_info("SIGHUP: reloading %s", running_path());
	if (running_reload_file(&rep, err, sizeof(err)) < 0)
		log_error("SIGHUP: configuration not reloaded: %s", err);
	else
		log_info("SIGHUP: configuration reloaded, %zu change%s", rep.n, rep.n == 1 ? "" : "s");
	running_report_free(&rep);
	sd_notify(0, "READY=1");
}

static void on_signal(struct loop_op *op, int res)
{
	struct control *c = container_of(op, struct control, sig_op);
	if (res < 0) {
		log_error("signalfd read: %s", strerror(-res));
		return;
	}
	if (c->shutting_down)
		return;
	if (c->siginfo.ssi_signo == SIGHUP) {
		control_reload();
		control_watch_signals(c);
		return;
	}
	c->shutting_down = true;
	log_info("signal %u: shutting down; initiators have %u s to log out", c->siginfo.ssi_signo,
		 c->logout_timeout_s);
	sd_notify(0, "STOPPING=1");
	/* No new logins from here on. */
	portals_close();
	c->closing = c->logout_timeout_s == 0;
	shutdown_sweep(c);
	control_arm_tick(c);
}

static void control_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGHUP);
}

/* Signals arrive through a signalfd on the control loop, never as
 * handlers; a peer gone mid-send is an error return, not SIGPIPE. */
void control_block_signals(void)
{
	sigset_t mask;
	control_signals(&mask);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int control_init(struct control *c, unsigned logout_timeout_s)
{
	*c = (struct control){ .sig_op.cb = on_signal, .tick_op.cb = on_tick, .logout_timeout_s = logout_timeout_s };
	sigset_t mask;
	control_signals(&mask);
	c->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (c->sigfd < 0 || loop_init(&c->loop, CONTROL_RING_ENTRIES) < 0)
		return -1;
	return 0;
}

void control_fini(struct control *c)
{
	loop_fini(&c->loop);
	close(c->sigfd);
}
