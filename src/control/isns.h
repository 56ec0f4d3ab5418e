/* lunard's iSNS client (RFC 4171), through open-isns' libisns. When the
 * configuration has an isns group, lunard registers its network entity,
 * its portals and its targets (a portal group object for each target and
 * each portal of the target's groups, with the group's tag) with the server, refreshes the registration before the
 * server's registration period runs out, and deregisters at shutdown.
 * It also reads, for every target, the discovery domains the target is
 * in (DevGetNext over DD objects with the target as source) and keeps
 * their members: SendTargets lists a target only to the initiators that
 * share a discovery domain with it (lunar_isns_visible).
 *
 * libisns does blocking socket I/O, so everything that talks to the server
 * runs on a thread of its own; the control loop only hands it a snapshot
 * of the configuration and never waits for the server. The membership
 * known last keeps applying while the server cannot be reached.
 *
 * The prefix is lunar_isns_: libisns owns isns_. */
#ifndef LUNAR_CONTROL_ISNS_H
#define LUNAR_CONTROL_ISNS_H

#include <stdbool.h>

#include "control/config.h"

/* Starts the client thread when cfg->isns.enabled (else does nothing).
 * Returns 0, or a negative errno when the thread could not start. */
int lunar_isns_start(const struct lunar_config *cfg);
/* The targets or portals changed (control thread; call it after a
 * reconfiguration is applied): the registration is replaced by one of
 * cfg's targets and portals, soon, on the client thread. */
void lunar_isns_update(const struct lunar_config *cfg);
/* Deregisters (bounded by libisns' call timeout) and joins the thread. */
void lunar_isns_stop(void);
/* Whether the initiator shares a discovery domain with the target, as last
 * read from the server. Any thread; a short lock, never the network. */
bool lunar_isns_visible(const char *target, const char *initiator);

#endif
