/* The control plane's answers to "who may log in" (iscsi/access.h), from
 * the configuration: CHAP accounts and initiator ACLs per target and for
 * discovery. */
#ifndef LUNAR_CONTROL_ACCESS_H
#define LUNAR_CONTROL_ACCESS_H

#include "control/config.h"
#include "iscsi/access.h"

/* The callbacks the transport calls (struct iscsi_host.access). */
extern const struct iscsi_access access_ops;

/* The configuration the callbacks answer from; it must outlive every
 * login. Control thread, before the portals open. */
void access_configure(const struct lunar_config *cfg);

#endif
