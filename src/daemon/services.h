/* What the control thread serves besides the data plane, started together
 * once the data-plane threads run and stopped together: the iSCSI portals,
 * the metrics endpoint, iSNS registration (which follows every applied
 * change) and the management socket for lunarctl. */
#ifndef LUNAR_DAEMON_SERVICES_H
#define LUNAR_DAEMON_SERVICES_H

#include <stdint.h>

#include "control/config.h"
#include "daemon/options.h"
#include "iscsi/session.h"
#include "util/loop.h"

/* At start-up, with the running configuration loaded: the metrics endpoint
 * it asks for, with --metrics over it; -1 once stderr says what is wrong. */
int services_configure(const struct options *o);
/* On the control loop; the management API's uptime counts from started_ns
 * (CLOCK_MONOTONIC). */
int services_start(const struct options *o, const struct lunar_config *cfg, struct loop *loop,
		   const struct iscsi_host *host, uint64_t started_ns);
void services_stop(void);

#endif
