/* A SCSI command as the iSCSI transport carries it: the SCSI core's task
 * plus what moves its data on the wire (immediate and unsolicited data,
 * R2Ts, Data-In sequencing) and RFC 7143 residual accounting. */
#ifndef LUNAR_ISCSI_TASK_H
#define LUNAR_ISCSI_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "iscsi/pdu.h"
#include "scsi/scsi.h"

struct iscsi_conn;
struct iscsi_session;

/* R2Ts a task keeps outstanding at most, whatever MaxOutstandingR2T allows. */
#define ISCSI_TASK_MAX_R2T 8

struct iscsi_r2t_slot {
	bool used;
	uint32_t ttt, offset, len, got, next_datasn;
};

struct iscsi_task {
	struct scsi_task scsi;
	struct iscsi_session *session; /* holds a reference */
	/* The connection the command arrived on, which carries everything
	 * about the task back (RFC 7143, connection allegiance); holds a
	 * reference. */
	struct iscsi_conn *conn;
	struct iscsi_task *hnext;   /* ITT hash chain in the session */
	uint32_t itt, edtl;
	uint32_t claim;             /* bytes it counts in session->data_claimed */
	uint64_t data_at_ns;        /* created, or its last Data-Out came in */
	uint64_t lun;
	bool prepared;              /* scsi_task_prepare succeeded */
	bool executing;             /* handed to the SCSI core */
	uint32_t want;              /* write bytes we take in: min(EDTL, CDB length) */
	uint32_t got;               /* write bytes received so far, from offset 0 */
	bool unsol_pending;         /* unsolicited Data-Out expected (command F=0) */
	uint32_t unsol_next;        /* offset the next unsolicited Data-Out must have */
	uint32_t unsol_datasn;
	uint32_t r2t_offset;        /* next offset to ask for */
	bool r2t_waiting;           /* the next R2T waits for its burst's chunks */
	uint32_t r2tsn;
	struct iscsi_r2t_slot r2t[ISCSI_TASK_MAX_R2T];
	uint32_t datasn;            /* next DataSN of Data-In */
	unsigned refs;              /* queued PDUs pointing into its data, plus one while live */
	bool aborted;               /* ABORT TASK arrived while executing */
	bool reset;                 /* a LU reset dropped it while its data was being received */
	uint32_t abort_itt;         /* that TMF's ITT, answered when execution ends */
	/* A read (not ORDERED) whose data may be sent from the store's memory
	 * (scsi_cmd.c): counted in lendable_inflight from execution to free. */
	bool lendable;
	/* Waiting in the connection's fence queue for older lendable reads
	 * to be sent before it executes (an ORDERED command, or one after it). */
	bool fenced;
	struct iscsi_task *fence_next;
};

/* Receive side, called by the full feature phase upper (ffp_rx.c). begin
 * decides where the data segment of a SCSI Command or Data-Out goes
 * (conn->ffp->rx_task and offsets; no task: the connection's sink); done
 * runs once it is there. */
void iscsi_cmd_rx_begin(struct iscsi_conn *conn, const struct iscsi_hdr *h);
void iscsi_cmd_rx_done(struct iscsi_conn *conn, const struct iscsi_hdr *h);
void iscsi_data_out_rx_begin(struct iscsi_conn *conn, const struct iscsi_hdr *h);
void iscsi_data_out_rx_done(struct iscsi_conn *conn, const struct iscsi_hdr *h);
/* A held (out-of-order) command whose data segment was buffered. */
void iscsi_cmd_run_buffered(struct iscsi_conn *conn, const struct iscsi_hdr *h,
			    const uint8_t *data, uint32_t len);

/* Drops a reference; frees the task once nothing points at it. */
void iscsi_task_put(struct iscsi_task *task);
/* ABORT TASK (RFC 7143 §11.5.1): a task still collecting data is dropped
 * now (returns true); an executing one is answered with a TMF Response
 * for tmf_itt when the SCSI core is done with it, instead of its status.
 * The one place where aborting reaches into the SCSI core. */
bool iscsi_task_abort(struct iscsi_task *task, uint32_t tmf_itt);
/* How a LOGICAL UNIT RESET from any I_T nexus reaches a session's tasks. */
extern const struct scsi_nexus_ops iscsi_nexus_ops;
/* Sends a Task Management Function Response. */
void iscsi_send_tmf_rsp(struct iscsi_conn *conn, uint32_t itt, uint8_t response);
/* Ends, with CHECK CONDITION, the writes of conn whose initiator has sent
 * none of the data they wait for since data_out_timeout_s before now_ns. */
void iscsi_task_expire_data_out(struct iscsi_conn *conn, uint64_t now_ns);
/* A connection is closing: its tasks (connection allegiance) leave the
 * session's table; the ones not waiting on the SCSI core are freed. */
void iscsi_task_abort_conn(struct iscsi_conn *conn);

#endif
