/* lunard: the control thread. Parses options, loads the configuration,
 * opens backing stores, starts the data-plane threads and the services,
 * then runs the control loop (accept, login, discovery, signals) until
 * told to stop. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "control/config.h"
#include "control/metrics.h"
#include "control/running.h"
#include "control/targets.h"
#include "daemon/control.h"
#include "daemon/dataplane.h"
#include "daemon/options.h"
#include "daemon/services.h"
#include "iscsi/session.h"
#include "iscsi/transport_stats.h"
#include "scsi/stats.h"
#include "util/clock.h"
#include "util/log.h"

/* Commands the target accepts beyond ExpCmdSN (MaxCmdSN - ExpCmdSN + 1). */
#define CMD_WINDOW 128

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
	if (services_configure(o) < 0) {
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
	/* The management API's uptime counts from here. */
	const uint64_t started_ns = clock_now_ns();
	struct options opts = { 0 };
	if (options_parse(argc, argv, &opts) < 0 || load_config(&opts) < 0)
		return 2;
	const struct lunar_config *cfg = running_config();

	control_block_signals();
	if (!opts.foreground && daemon(0, 1) < 0) {
		fprintf(stderr, "lunard: daemon: %s\n", strerror(errno));
		return 1;
	}
	int status = 1;
	struct control ctl;
	if (control_init(&ctl, opts.logout_timeout_s) < 0) {
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
	if (dataplane_start(cfg->threads, cfg->memory_budget, cfg->cpu_affinity.cpu, cfg->cpu_affinity.n,
			    cfg->poll_us) < 0)
		goto out_dataplane;
	targets_set_readers(dataplane_loops(), dataplane_count());
	metrics_set_loops(dataplane_loops(), dataplane_count());
	if (services_start(&opts, cfg, &ctl.loop, &host, started_ns) < 0)
		goto out_services;
	control_watch_signals(&ctl);
	print_banner(cfg);
	if (control_start_systemd(&ctl) < 0)
		goto out_services;
	sd_notify(0, "READY=1");
	status = loop_run(&ctl.loop) < 0 || dataplane_failed() ? 1 : 0;
out_services:
	services_stop();
out_dataplane:
	dataplane_stop();
	control_stop_systemd(&ctl);
out_targets:
	targets_free();
	scsi_stats_registry_free();
	iscsi_stats_fini();
	control_fini(&ctl);
out_config:
	running_fini();
	config_cpus_free(&opts.cpu_affinity);
	log_info("stopped");
	return status;
}
