/* The transport scenarios of the raw-wire tester, one group per file. Each
 * opens its own sessions and reports its checks through wire_check. */
#ifndef LUNAR_WIRE_SCENARIOS_H
#define LUNAR_WIRE_SCENARIOS_H

#include <stddef.h>

#include "wire_conn.h"

/* wire_dataout.c: R2T sequences, unsolicited data, refused Data-Out. */
void wire_dataout_checks(const struct wire_target *t);
/* wire_datain.c: Data-In splitting and status, sense in a SCSI Response. */
void wire_datain_checks(const struct wire_target *t);
/* wire_cmdsn.c: held, old and immediate commands, the MaxCmdSN window. */
void wire_cmdsn_checks(const struct wire_target *t);
/* wire_ffp.c: NOP, Text continuation, SendTargets, Logout, ABORT TASK,
 * LOGICAL UNIT RESET.
 * listed: the portals a SendTargets=All answer must name. */
void wire_ffp_checks(const struct wire_target *t, const char *const *listed, size_t nlisted);
/* wire_limits.c: negotiated unsolicited-data keys enforced, a short R2T
 * burst ends its task, immediate commands bounded by the window. */
void wire_limits_checks(const struct wire_target *t);
/* wire_limits.c, only against a lunard started by tests/wire/limits.sh
 * with short limits: NOP-In pings, idle discovery sessions, a peer that
 * stops reading (server_pid: that lunard, for its memory). */
void wire_limits_timed_checks(const struct wire_target *t, int server_pid);

#endif
