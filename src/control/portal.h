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
void portals_close(void);

#endif
