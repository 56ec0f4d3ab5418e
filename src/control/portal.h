/* Listening portals: the control plane's accept loop. Each accepted
 * socket starts a connection in its login phase on the control loop. */
#ifndef LUNAR_CONTROL_PORTAL_H
#define LUNAR_CONTROL_PORTAL_H

#include "control/config.h"
#include "iscsi/conn.h"
#include "util/loop.h"

struct portal;

/* Binds and listens on every configured portal. Returns 0 or -errno
 * (logged, naming the address). */
int portals_open(const struct lunar_config *cfg, struct loop *loop, const struct iscsi_host *host);
/* Live reconfiguration, control thread: starts or stops listening on one
 * portal (matched by address). Connections it accepted go on. A portal of
 * an address family this host lacks is skipped, as at start. Return 0 or
 * -errno (logged). */
int portals_add(const struct config_portal *cp);
int portals_remove(const struct config_portal *cp);
void portals_close(void);

#endif
