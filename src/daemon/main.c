/* lunard: the control thread. Parses options, loads the configuration,
 * opens backing stores, starts the data-plane threads, then runs the
 * control loop (accept, login, discovery, signals) until told to stop. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "control/config.h"
#include "control/metrics.h"
#include "control/isns.h"
#include "control/mgmt_methods.h"
#include "control/mgmt_server.h"
#include "control/portal.h"
#include "control/running.h"
#include "control/targets.h"
#include "daemon/dataplane.h"
#include "iscsi/conn.h"
#include "iscsi/transport_stats.h"
#include "scsi/stats.h"
#include "iscsi/session.h"
#include "util/liveness.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/macros.h"

/* Commands the target accepts beyond ExpCmdSN (MaxCmdSN - ExpCmdSN + 1). */
#define CMD_WINDOW 128
#define CONTROL_RING_ENTRIES 256
/* After the initiators had their chance to log out (RFC 7143 §11.9.1
 * AsyncEvent 1, --shutdown-timeout), how long closing what remains may
 * take. */
#define SHUTDOWN_GRACE_MS 5000
#define SHUTDOWN_POLL_MS 20
#define SHUTDOWN_LOGOUT_DEFAULT_S 10
/* systemd's STATUS= line is refreshed at most this often. */
#define STATUS_INTERVAL_MS 1000
#define MAX_LISTEN 16
#define MAX_LIMIT_OPTIONS 32

struct options {
	const char *config_path;
	const char *state_dir;
	const char *mgmt_socket;
	bool foreground;
	unsigned threads;
	bool threads_set;
	struct config_cpus cpu_affinity; /* --cpu-affinity; n 0: the config's */
	unsigned logout_timeout_s; /* graceful shutdown: initiators log out within it */
	bool logout_timeout_set;
	/* --limit NAME=N and its shorthands, applied over the config's */
	struct running_limit_override limits[MAX_LIMIT_OPTIONS];
	size_t nlimits;
	struct config_portal listen[MAX_LISTEN];
	size_t nlisten;
	const char *metrics; /* --metrics ADDR:PORT */
};

static void usage(FILE *out)
{
	struct iscsi_limits defaults;
	iscsi_limits_default(&defaults);
	fprintf(out,
		"usage: lunard [options]\n"
		"  -c, --config FILE       targets, LUNs and portals (default: one target with a\n"
		"                          1 GiB sparse-file LUN in the state directory)\n"
		"  -f, --foreground        do not detach; log to stderr\n"
		"  -l, --listen ADDR:PORT  portal to listen on, repeatable (replaces the config's);\n"
		"                          e.g. 0.0.0.0:3260, [::]:3260, 127.0.0.1:3261\n"
		"  -s, --state-dir DIR     where the default LUN lives (default %s)\n"
		"  -t, --threads N         data-plane threads (default: online CPUs)\n"
		"      --cpu-affinity LIST pin the data-plane threads to these CPUs in turn,\n"
		"                          e.g. 0,1 or 2-5 (replaces the config's cpu_affinity)\n"
		"  -T, --login-timeout S   close a connection that has not logged in S seconds\n"
		"                          after it was accepted (default %u)\n"
		"      --max-conns-per-address N\n"
		"                          connections one source address may hold (default %u)\n"
		"  -C, --limit NAME=N      a limit of the config's limits group (docs/CONFIG.md),\n"
		"                          e.g. nop_interval_s=15; 0 turns most off\n"
		"      --metrics ADDR:PORT serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                          (docs/METRICS.md), e.g. 127.0.0.1:9470; loopback only\n"
		"                          unless the config's metrics group has allow_remote\n"
		"  -L, --log-level LEVEL   error, warn, info (default) or debug\n"
		"      --shutdown-timeout S\n"
		"                          on SIGTERM, initiators are asked to log out and\n"
		"                          have S seconds to do it (default %u); 0 closes at once\n"
		"      --mgmt-socket PATH  the management socket for lunarctl (default: the\n"
		"                          config's management.socket, else %s)\n"
		"  -V, --version           print the version\n"
		"  -h, --help              this text\n",
		LUNAR_DEFAULT_STATE_DIR, defaults.login.login_timeout_s,
		defaults.login.max_connections_per_address, SHUTDOWN_LOGOUT_DEFAULT_S,
		MGMT_DEFAULT_SOCKET);
}

static int parse_bounded(const char *option, const char *text, unsigned min, unsigned max,
			 unsigned *out);

/* Records limit name = text for load_config to apply over the config's. */
static int add_limit(struct options *o, const char *option, const char *name, const char *text)
{
	const struct iscsi_limit_key *k = iscsi_limit_find(name);
	if (!k) {
		fprintf(stderr, "lunard: %s: no limit called %s\n", option, name);
		return -1;
	}
	if (o->nlimits == MAX_LIMIT_OPTIONS) {
		fprintf(stderr, "lunard: %s: at most %d limits on the command line\n", option,
			MAX_LIMIT_OPTIONS);
		return -1;
	}
	unsigned value;
	if (parse_bounded(option, text, k->min, k->max, &value) < 0)
		return -1;
	o->limits[o->nlimits].key = k;
	o->limits[o->nlimits++].value = value;
	return 0;
}

/* A decimal option value within [min, max]; says what it wants otherwise. */
static int parse_bounded(const char *option, const char *text, unsigned min, unsigned max,
			 unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(text, &end, 10);
	if (*text == '\0' || *end != '\0' || errno || n < min || n > max) {
		fprintf(stderr, "lunard: %s %s: want a number from %u to %u\n", option, text, min, max);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

/* Long options without a short form. */
enum { OPT_MAX_PER_ADDRESS = 256, OPT_METRICS, OPT_SHUTDOWN_TIMEOUT, OPT_MGMT_SOCKET, OPT_CPU_AFFINITY };

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "listen", required_argument, NULL, 'l' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "cpu-affinity", required_argument, NULL, OPT_CPU_AFFINITY },
		{ "login-timeout", required_argument, NULL, 'T' },
		{ "max-conns-per-address", required_argument, NULL, OPT_MAX_PER_ADDRESS },
		{ "mgmt-socket", required_argument, NULL, OPT_MGMT_SOCKET },
		{ "limit", required_argument, NULL, 'C' },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "log-level", required_argument, NULL, 'L' },
		{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:fl:s:t:T:C:L:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'l': {
			if (o->nlisten == MAX_LISTEN) {
				fprintf(stderr, "lunard: at most %d --listen portals\n", MAX_LISTEN);
				return -1;
			}
			const char *why = config_parse_portal_why(optarg, &o->listen[o->nlisten]);
			if (why) {
				fprintf(stderr, "lunard: --listen %s: %s\n", optarg, why);
				return -1;
			}
			o->nlisten++;
			break;
		}
		case 's':
			o->state_dir = optarg;
			break;
		case 't':
			if (parse_bounded("--threads", optarg, 1, 256, &o->threads) < 0)
				return -1;
			o->threads_set = true;
			break;
		case OPT_CPU_AFFINITY: {
			char why[256];
			if (config_cpus_parse(optarg, &o->cpu_affinity, why, sizeof(why)) < 0) {
				fprintf(stderr, "lunard: --cpu-affinity %s: %s\n", optarg, why);
				return -1;
			}
			break;
		}
		case 'T':
			if (add_limit(o, "--login-timeout", "login_timeout_s", optarg) < 0)
				return -1;
			break;
		case OPT_MAX_PER_ADDRESS:
			if (add_limit(o, "--max-conns-per-address", "max_connections_per_address", optarg) < 0)
				return -1;
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			/* Parameter3 of the Async Message is 16 bits of seconds. */
			if (parse_bounded("--shutdown-timeout", optarg, 0, 3600, &o->logout_timeout_s) < 0)
				return -1;
			o->logout_timeout_set = true;
			break;
		case OPT_MGMT_SOCKET:
			if (optarg[0] != '/') {
				fprintf(stderr, "lunard: --mgmt-socket %s: want an absolute path\n", optarg);
				return -1;
			}
			o->mgmt_socket = optarg;
			break;
		case 'C': {
			const char *eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, "lunard: --limit %s: want NAME=N\n", optarg);
				return -1;
			}
			char *name = strndup(optarg, (size_t)(eq - optarg));
			int ret = name ? add_limit(o, "--limit", name, eq + 1) : -1;
			free(name);
			if (ret < 0)
				return -1;
			break;
		}
		case 'L': {
			enum log_level level;
			if (log_parse_level(optarg, &level) < 0) {
				fprintf(stderr, "lunard: --log-level %s: want error, warn, info or debug\n", optarg);
				return -1;
			}
			log_set_level(level);
			break;
		}
		case OPT_METRICS:
			o->metrics = optarg;
			break;
		case 'V':
			printf("lunard %s\n", LUNAR_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lunard: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* The metrics endpoint as started: the configuration's group with
 * --metrics over it. */
static struct config_metrics metrics_cfg;

/* The running configuration (control/running.h), with the command
 * line's overrides. */
static int load_config(const struct options *o)
{
	const struct running_options ro = {
		.config_path = o->config_path, .state_dir = o->state_dir,
		.listen = o->listen, .nlisten = o->nlisten,
		.limits = o->limits, .nlimits = o->nlimits,
		.threads = o->threads_set ? o->threads : 0,
		.cpu_affinity = o->cpu_affinity.n ? &o->cpu_affinity : NULL,
	};
	char err[512];
	if (running_init(&ro, err, sizeof(err)) < 0) {
		fprintf(stderr, "lunard: %s\n", err);
		return -1;
	}
	/* The metrics endpoint is read once, at start: --metrics applies
	 * over the configuration's group and is never saved into it. */
	metrics_cfg = running_config()->metrics;
	const char *why = o->metrics ? config_metrics_set_listen(&metrics_cfg, o->metrics) : NULL;
	if (!why)
		why = config_metrics_check(&metrics_cfg);
	if (why) {
		fprintf(stderr, "lunard: metrics %s: %s\n", metrics_cfg.text[0] ? metrics_cfg.text : o->metrics, why);
		running_fini();
		return -1;
	}
	return 0;
}

static void print_banner(const struct lunar_config *cfg)
{
	printf("lunard: serving %zu target%s with %u data-plane thread%s\n", cfg->ntargets,
	       cfg->ntargets == 1 ? "" : "s", cfg->threads, cfg->threads == 1 ? "" : "s");
	for (size_t i = 0; i < cfg->ntargets; i++) {
		const struct config_target *t = &cfg->targets[i];
		printf("  target %s (%s)\n", t->name,
		       t->open ? "open: any initiator may log in"
		       : t->nacl ? "initiators on its acl list only" : "no acl and not open: refuses every login");
		for (size_t l = 0; l < t->nluns; l++) {
			char what[256];
			backend_config_describe(&t->luns[l].bs, what, sizeof(what));
			printf("    LUN %u: %s\n", t->luns[l].lun, what);
		}
	}
	printf("  portals:");
	for (size_t i = 0; i < cfg->nportals; i++)
		printf(" %s", cfg->portals[i].text);
	const char *first = cfg->ntargets ? cfg->targets[0].name : "TARGET";
	printf("\nconnect with open-iscsi:\n"
	       "  iscsiadm -m discovery -t sendtargets -p HOST\n"
	       "  iscsiadm -m node -T %s -p HOST --login\n"
	       "or list it with libiscsi: iscsi-ls -s iscsi://HOST:PORT\n", first);
	fflush(stdout);
}

/* ---- control loop: signals and orderly shutdown ---- */

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

static void control_arm_timer(struct control *c, struct loop_op *op, struct __kernel_timespec *ts,
			      uint64_t ns)
{
	*ts = (struct __kernel_timespec){ .tv_sec = (long long)(ns / 1000000000u),
					  .tv_nsec = (long long)(ns % 1000000000u) };
	struct io_uring_sqe *sqe = loop_get_sqe(&c->loop);
	io_uring_prep_timeout(sqe, ts, 0, 0);
	loop_sqe_set_op(sqe, op);
}

static void control_arm_signal(struct control *c)
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
		control_arm_signal(c);
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
static int control_start_systemd(struct control *c)
{
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

/* ---- the management socket ---- */

/* ---- iSNS: the registration follows the running configuration ---- */

static void isns_on_change(const struct lunar_config *cfg, void *arg)
{
	lunar_isns_update(cfg);
}

static int isns_follow_changes(const struct lunar_config *cfg)
{
	return cfg->isns.enabled ? running_listen(isns_on_change, NULL) : 0;
}

static struct mgmt_env mgmt_env = { .config = running_config };
static struct mgmt_methods mgmt_methods;

/* Serves lunarctl. Without it lunard still serves iSCSI: a second lunard
 * on the default path, say, only warns. */
static void mgmt_start(const struct options *o, const struct lunar_config *cfg, struct loop *loop)
{
	const struct config_management *m = &cfg->management;
	struct mgmt_server_options so = {
		.path = o->mgmt_socket ? o->mgmt_socket : m->socket ? m->socket : MGMT_DEFAULT_SOCKET,
		.mode = m->mode ? m->mode : MGMT_DEFAULT_MODE,
	};
	if (m->group) {
		struct group *g = getgrnam(m->group);
		if (!g) {
			log_warn("management socket: no group %s; only root may connect", m->group);
		} else {
			so.has_group = true;
			so.gid = g->gr_gid;
		}
	}
	mgmt_env.control = loop;
	mgmt_env.loops = dataplane_loops();
	mgmt_env.nloops = dataplane_count();
	mgmt_methods_init(&mgmt_methods, &mgmt_env);
	if (mgmt_server_start(loop, &so, &mgmt_methods) < 0)
		log_warn("management socket %s: not served; lunarctl cannot reach this lunard", so.path);
}

static struct iscsi_host host = {
	.find_target = targets_find,
	.put_target = targets_release,
	.scsi_target = targets_scsi,
	.target_alias = targets_alias,
	.sendtargets = targets_sendtargets,
	.lun_view = targets_lun_view,
	.pick_dataplane = dataplane_pick,
	.tpgt = LUNAR_TPGT,
	.portal_tag = targets_portal_tag,
	.target_on_portal = targets_on_portal,
	.target_limits = targets_limits,
	.cmd_window = CMD_WINDOW,
};

int main(int argc, char **argv)
{
	struct options opts = { 0 };
	mgmt_env.started_ns = clock_now_ns();
	if (parse_options(argc, argv, &opts) < 0 || load_config(&opts) < 0)
		return 2;
	const struct lunar_config *cfg = running_config();

	/* Signals arrive through a signalfd on the control loop; every thread
	 * created below inherits the blocked mask. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!opts.foreground && daemon(0, 1) < 0) {
		fprintf(stderr, "lunard: daemon: %s\n", strerror(errno));
		return 1;
	}
	int status = 1;
	struct control ctl = {
		.sig_op.cb = on_signal, .tick_op.cb = on_tick, .status_op.cb = on_status,
		.watchdog_op.cb = on_watchdog,
		.logout_timeout_s = opts.logout_timeout_set ? opts.logout_timeout_s
				    : SHUTDOWN_LOGOUT_DEFAULT_S,
	};
	ctl.sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (ctl.sigfd < 0 || loop_init(&ctl.loop, CONTROL_RING_ENTRIES) < 0) {
		log_error("control loop setup failed");
		goto out_config;
	}
	/* Before the first LU: each gets a counter shard per thread. */
	scsi_stats_set_threads(cfg->threads);
	if (iscsi_stats_init() < 0) {
		log_error("out of memory for the per-thread counters");
		goto out_targets;
	}
	if (targets_build(cfg) < 0)
		goto out_targets;
	running_serve(&ctl.loop, &host);
	if (dataplane_start(cfg->threads, cfg->memory_budget, cfg->cpu_affinity.cpu, cfg->cpu_affinity.n) < 0)
		goto out_dataplane;
	targets_set_readers(dataplane_loops(), dataplane_count());
	if (cfg->isns.enabled)
		targets_set_sendtargets_filter(lunar_isns_visible);
	if (portals_open(cfg, &ctl.loop, &host) < 0 || metrics_start(&metrics_cfg) < 0)
		goto out_portals;
	if (lunar_isns_start(cfg) < 0 || isns_follow_changes(cfg) < 0)
		goto out_portals;
	mgmt_start(&opts, cfg, &ctl.loop);
	control_arm_signal(&ctl);
	print_banner(cfg);
	if (control_start_systemd(&ctl) < 0)
		goto out_portals;
	sd_notify(0, "READY=1");
	loop_run(&ctl.loop);
	status = 0;
out_portals:
	mgmt_server_stop();
	metrics_stop();
	portals_close();
	lunar_isns_stop();
out_dataplane:
	dataplane_stop();
	liveness_fini(&ctl.liveness);
out_targets:
	targets_free();
	scsi_stats_registry_free();
	iscsi_stats_fini();
	loop_fini(&ctl.loop);
	close(ctl.sigfd);
out_config:
	running_fini();
	config_cpus_free(&opts.cpu_affinity);
	log_info("stopped");
	return status;
}
