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

/* What the target was started with, for the checks of its login caps;
 * 0: unknown, those checks are skipped. */
struct wire_login_limits {
	unsigned deadline_s;     /* the whole login's deadline */
	unsigned per_address;    /* connections one source address may hold */
};

/* wire_login_limits.c: a dribbled login ends at the deadline; connections
 * over the per-address cap are closed unanswered. */
void wire_login_limits_checks(const struct wire_target *t, const struct wire_login_limits *lim);
/* wire_text.c: every Text Request is answered, SendTargets in each
 * session type. */
void wire_text_checks(const struct wire_target *t);
/* wire_edtl.c: a write whose EDTL ends inside a block is refused. */
void wire_edtl_checks(const struct wire_target *t);
/* wire_tmf.c: ABORT TASK SET, CLEAR TASK SET, I_T NEXUS RESET and the
 * target resets with writes in flight, the queries, CLEAR ACA. */
void wire_tmf_checks(const struct wire_target *t);
/* wire_interrupted.c: a WRITE half received, then ABORT TASK, LOGICAL UNIT
 * RESET or a lost connection: its blocks are free for the next command. */
void wire_interrupted_checks(const struct wire_target *t);

#endif
