/* The SendTargets text response (RFC 7143 §12.3):
 * a pure builder from a list of targets and their portals. */
#ifndef LUNAR_ISCSI_SENDTARGETS_H
#define LUNAR_ISCSI_SENDTARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iscsi_st_portal {
	const char *addr;   /* "127.0.0.1:3260" or "[::1]:3260" */
	uint16_t tpgt;
};

struct iscsi_st_target {
	const char *name;
	const struct iscsi_st_portal *portals;
	size_t nportals;
};

/* Builds the answer to SendTargets=<request> into buf[0..cap) (RFC 7143
 * §12.3):
 *   "All"       in a Discovery session every target; in a Normal session
 *               (where the RFC does not define it, yet libiscsi sends it)
 *               the session's target, as for "",
 *   a name      that target, if it is in the list (in a Normal session
 *               only the session's own),
 *   ""          the session's target (session_target; NULL in Discovery),
 *   other       (not an iSCSI name, or over 223 bytes) "SendTargets=Reject".
 * Each target gives "TargetName=<name>\0" then one
 * "TargetAddress=<addr>,<tpgt>\0" per portal. Returns 0, or -ENOSPC when
 * the answer does not fit (*len then covers the whole pairs that did), or
 * -EINVAL when one "addr,tpgt" exceeds 255 bytes. */
int iscsi_sendtargets_build(const char *request, bool discovery, const char *session_target,
			    const struct iscsi_st_target *targets, size_t ntargets,
			    uint8_t *buf, size_t cap, size_t *len);

#endif
