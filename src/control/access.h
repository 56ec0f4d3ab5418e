/* The control plane's answers to "who may log in" (iscsi/access.h), from
 * the configuration: CHAP accounts and initiator ACLs per target and for
 * discovery. */
#ifndef LUNAR_CONTROL_ACCESS_H
#define LUNAR_CONTROL_ACCESS_H

#include "iscsi/access.h"

/* The callbacks the transport calls (struct iscsi_host.access). */
extern const struct iscsi_access access_ops;

#endif
