/* iSCSI sessions: identity (initiator name + ISID, TSIH), the connections
 * of the session, its tasks by Initiator Task Tag, the command window (RFC
 * 7143 §4.2.2.1) and the I_T nexus the SCSI core sees. The session table
 * is shared by the control plane (login, reinstatement) and the data-plane
 * threads (teardown); everything else in a session belongs to its loop.
 *
 * All connections of a session live on the session's loop: its tasks,
 * window and nexus are then touched by one thread only, with no lock. A
 * login that adds a connection to a session (MC/S) hands the new
 * connection to that loop, as the leading login does today. */
#ifndef LUNAR_ISCSI_SESSION_H
#define LUNAR_ISCSI_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "iscsi/login.h"
#include "iscsi/params.h"
#include "scsi/scsi.h"
#include "util/loop.h"

struct iscsi_conn;
struct iscsi_host;
struct iscsi_task;

/* Buckets of the session's task table (by ITT). */
#define ISCSI_ITT_BUCKETS 256

/* A PDU that arrived ahead of ExpCmdSN, kept until the gap closes. */
struct iscsi_held_pdu {
	struct iscsi_held_pdu *next;
	bool aborted;               /* ABORT TASK named it: its turn passes, it never runs */
	struct iscsi_hdr hdr;
	uint8_t bhs[ISCSI_BHS_LEN];
	uint32_t len;
	uint8_t data[];
};

struct iscsi_session {
	uint64_t id;
	uint16_t tsih;
	uint8_t isid[6];
	char initiator_name[ISCSI_NAME_MAX];
	void *target;               /* host handle, referenced; NULL for discovery */
	const struct iscsi_host *host;
	char target_name[ISCSI_NAME_MAX];
	char chap_user[ISCSI_CHAP_NAME_MAX]; /* as the login authenticated; "" without CHAP */
	bool discovery;
	struct iscsi_params params;
	struct scsi_nexus nexus;
	struct loop *loop;          /* the loop the session and all its connections run on */
	unsigned refs;              /* its connections and its tasks */
	bool killed;                /* reinstated before its connection reached this loop */

	/* connections in full feature phase or on their way to it (by CID);
	 * MaxConnections=1 is negotiated, so at most one for now */
	struct iscsi_conn *conns;
	unsigned nconns;
	/* RFC 7143 §6.2.2: at ErrorRecoveryLevel 2 a session whose last
	 * connection failed waits DefaultTime2Retain seconds for a new one
	 * before it ends. lunar negotiates ERL 0, so this timer is never
	 * armed; connection recovery will arm it. */
	struct loop_op time2retain_timer;

	/* command window */
	uint32_t exp_cmdsn, max_cmdsn;
	uint32_t max_cmdsn_told;    /* the MaxCmdSN of the last PDU queued to the initiator */
	unsigned window;            /* commands in flight the target accepts */
	/* commands accepted whose response has not left yet (immediate ones
	 * included) */
	unsigned active;
	/* transfer lengths of the live tasks; at data_share or more the
	 * window opens no further (0: no share) */
	uint64_t data_claimed, data_share;
	/* the pool chunks its tasks hold, for the guaranteed minimum
	 * (util/bufwait.h) */
	struct bufwait_account data_held;
	struct iscsi_held_pdu *held; /* sorted by CmdSN */
	unsigned nheld;
	uint64_t held_bytes;        /* their data segments */

	/* tasks, by ITT */
	struct iscsi_task *tasks[ISCSI_ITT_BUCKETS];
	unsigned ntasks;
	uint32_t next_ttt;

	struct iscsi_session *next;
};

/* Login's bind_session step (see login.h): creates the session, reinstating
 * an older one of the same initiator name and ISID, with conn as its first
 * connection. Control-plane only. */
uint16_t iscsi_session_bind(struct iscsi_conn *conn, struct iscsi_login *lg, uint16_t *tsih);
void iscsi_session_get(struct iscsi_session *s);
/* Frees the session once neither a connection nor a task holds it. */
void iscsi_session_put(struct iscsi_session *s);
/* A connection of the session is closing: it leaves the session's list.
 * When it was the last one the session ends (ERL 0), see time2retain_timer. */
void iscsi_session_remove_conn(struct iscsi_session *s, struct iscsi_conn *conn);
unsigned iscsi_session_count(void);
/* Calls fn for every session placed on loop, under the session table's
 * lock (session_list.c takes its snapshots so): fn only copies. */
void iscsi_session_foreach_on(struct loop *loop, void (*fn)(const struct iscsi_session *s, void *arg), void *arg);

/* The command window. MaxCmdSN is recomputed whenever ExpCmdSN or the
 * count of active commands changes, and never moves back. */
static inline uint32_t iscsi_session_max_cmdsn(const struct iscsi_session *s)
{
	return s->max_cmdsn;
}
/* The MaxCmdSN a PDU queued now tells the initiator, never less than one
 * told before. ending: the PDU carries a command's status, and that
 * command's slot frees once the PDU has left, which is before the
 * initiator can read the number, so it already counts as free. */
uint32_t iscsi_session_tell_max_cmdsn(struct iscsi_session *s, bool ending);
/* Checks a CmdSN-carrying PDU against the window: returns true if it must
 * be processed now (advancing ExpCmdSN for non-immediate ones; a SCSI
 * Command then counts as active), false if it is to be dropped or held
 * (*hold set when it is ahead in the window). */
bool iscsi_session_admit(struct iscsi_session *s, const struct iscsi_hdr *h, bool *hold);
void iscsi_session_hold(struct iscsi_session *s, struct iscsi_held_pdu *p);
/* The held PDU whose turn it is now, or NULL; advances ExpCmdSN (and
 * counts a SCSI Command that is to run as active). */
struct iscsi_held_pdu *iscsi_session_next_held(struct iscsi_session *s);
/* An admitted command's response has left (its task is freed), or it was
 * aborted without one, or it never became a task. When this opens a
 * window the initiator last heard was closed, a NOP-In says so. */
void iscsi_session_cmd_done(struct iscsi_session *s);
/* No room for an immediate SCSI Command: the commands lunard holds
 * (active and held) fill the window. RFC 7143 §4.2.2.1 lets an immediate
 * command's CmdSN lie outside [ExpCmdSN, MaxCmdSN], so the window's
 * numbers cannot bound immediate commands; this count does. */
bool iscsi_session_window_full(const struct iscsi_session *s);
/* ABORT TASK for a command that is not a task (RFC 7143 §11.5.1): if
 * ref_cmdsn is in the window and older than the TMF, the command counts as
 * received and will never run (held or yet to come); returns true. */
bool iscsi_session_abort_cmdsn(struct iscsi_session *s, uint32_t ref_cmdsn, uint32_t tmf_cmdsn);

/* The task table. */
struct iscsi_task *iscsi_session_find_task(const struct iscsi_session *s, uint32_t itt);
void iscsi_session_add_task(struct iscsi_session *s, struct iscsi_task *t);
void iscsi_session_remove_task(struct iscsi_session *s, struct iscsi_task *t);
/* A Target Transfer Tag for an R2T or a Text continuation. */
uint32_t iscsi_session_new_ttt(struct iscsi_session *s);

#endif
