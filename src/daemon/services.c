/* The control thread's services beside the data plane: portals, metrics,
 * iSNS and the management socket, wired to the running configuration. */
#include <grp.h>
#include <stdio.h>

#include "control/isns.h"
#include "control/metrics.h"
#include "control/mgmt_methods.h"
#include "control/mgmt_server.h"
#include "control/portal.h"
#include "control/running.h"
#include "control/targets.h"
#include "daemon/dataplane.h"
#include "daemon/services.h"
#include "util/log.h"

/* The metrics endpoint as started: the configuration's group with
 * --metrics over it. */
static struct config_metrics metrics_cfg;

int services_configure(const struct options *o)
{
	/* The metrics endpoint is read once, at start: --metrics applies
	 * over the configuration's group and is never saved into it. */
	metrics_cfg = running_config()->metrics;
	const char *why = o->metrics ? config_metrics_set_listen(&metrics_cfg, o->metrics) : NULL;
	if (!why)
		why = config_metrics_check(&metrics_cfg);
	if (why) {
		fprintf(stderr, "lunard: metrics %s: %s\n", metrics_cfg.text[0] ? metrics_cfg.text : o->metrics, why);
		return -1;
	}
	return 0;
}

/* ---- iSNS: the registration follows the running configuration ---- */

static void isns_on_change(const struct lunar_config *cfg, void *arg)
{
	lunar_isns_update(cfg);
}

static int isns_follow_changes(const struct lunar_config *cfg)
{
	return cfg->isns.enabled ? running_listen(isns_on_change, NULL) : 0;
}

/* ---- the management socket ---- */

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

int services_start(const struct options *o, const struct lunar_config *cfg, struct loop *loop,
		   const struct iscsi_host *host, uint64_t started_ns)
{
	if (cfg->isns.enabled)
		targets_set_sendtargets_filter(lunar_isns_visible);
	if (portals_open(cfg, loop, host) < 0 || metrics_start(&metrics_cfg) < 0)
		return -1;
	if (lunar_isns_start(cfg) < 0 || isns_follow_changes(cfg) < 0)
		return -1;
	mgmt_env.started_ns = started_ns;
	mgmt_start(o, cfg, loop);
	return 0;
}

void services_stop(void)
{
	mgmt_server_stop();
	metrics_stop();
	portals_close();
	lunar_isns_stop();
}
