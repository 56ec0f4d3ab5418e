/* iSCSI sessions: identity (initiator name + ISID, TSIH), the command
 * window (RFC 7143 §4.2.2.1) and the I_T nexus the SCSI core sees. The
 * session table is shared by the control plane (login, reinstatement) and
 * the data-plane threads (teardown). */
#ifndef LUNAR_ISCSI_SESSION_H
#define LUNAR_ISCSI_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "iscsi/login.h"
#include "iscsi/params.h"
#include "scsi/scsi.h"
#include "util/loop.h"

struct iscsi_conn;

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
	void *target;               /* host handle; NULL for discovery */
	char target_name[ISCSI_NAME_MAX];
	bool discovery;
	struct iscsi_params params;
	struct scsi_nexus nexus;
	struct loop *loop;          /* the loop the session's connection runs on */
	struct iscsi_conn *conn;    /* MaxConnections=1 */
	uint16_t cid;
	bool killed;                /* reinstated before its connection reached this loop */
	uint32_t exp_cmdsn, max_cmdsn;
	unsigned window;            /* commands in flight the target accepts */
	unsigned active;            /* commands accepted and not yet answered */
	struct iscsi_held_pdu *held; /* sorted by CmdSN */
	unsigned nheld;
	struct iscsi_session *next;
};

/* Login's bind_session step (see login.h): creates the session, reinstating
 * an older one of the same initiator name and ISID. Control-plane only. */
uint16_t iscsi_session_bind(struct iscsi_conn *conn, struct iscsi_login *lg, uint16_t *tsih);
/* Connection gone: session ends (ERL 0). Runs on the session's loop. */
void iscsi_session_destroy(struct iscsi_session *s);
/* Moves MaxCmdSN forward as far as the window allows; never back. */
uint32_t iscsi_session_max_cmdsn(struct iscsi_session *s);
/* Checks a CmdSN-carrying PDU against the window: returns true if it must
 * be processed now (advancing ExpCmdSN for non-immediate ones), false if
 * it is to be dropped or held (*hold set when it is ahead in the window). */
bool iscsi_session_admit(struct iscsi_session *s, const struct iscsi_hdr *h, bool *hold);
void iscsi_session_hold(struct iscsi_session *s, struct iscsi_held_pdu *p);
/* The held PDU whose turn it is now, or NULL; advances ExpCmdSN. */
struct iscsi_held_pdu *iscsi_session_next_held(struct iscsi_session *s);
/* ABORT TASK for a command that is not a task (RFC 7143 §11.5.1): if
 * ref_cmdsn is in the window and older than the TMF, the command counts as
 * received and will never run (held or yet to come); returns true. */
bool iscsi_session_abort_cmdsn(struct iscsi_session *s, uint32_t ref_cmdsn, uint32_t tmf_cmdsn);
unsigned iscsi_session_count(void);

#endif
