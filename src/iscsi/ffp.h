/* The full feature phase: the upper layer over conn.c once login is over
 * (ffp_rx.c routes each PDU), SCSI data movement (scsi_cmd.c) and the
 * other requests (ffp.c: NOP, Text, Logout, TMF). */
#ifndef LUNAR_ISCSI_FFP_H
#define LUNAR_ISCSI_FFP_H

#include <stdbool.h>
#include <stdint.h>

#include "iscsi/pdu.h"
#include "util/loop.h"

struct iscsi_conn;
struct iscsi_held_pdu;
struct iscsi_r2t_slot;
struct iscsi_task;

/* Where the data segment of the PDU being received goes. */
enum iscsi_rx_route {
	RX_TO_BUF,      /* the connection's buffer, handled when complete */
	RX_TO_TASK,     /* a SCSI Command's immediate data: the task's buffer */
	RX_TO_DATA_OUT, /* Data-Out: the task's buffer at its offset */
	RX_TO_HOLD,     /* a PDU ahead of ExpCmdSN: kept until its turn */
	RX_TO_SINK,     /* dropped (out of window, rejected) */
};

/* A connection's state in the full feature phase (conn->ffp). */
struct iscsi_ffp_conn {
	const uint8_t *cur_bhs;     /* raw header of the PDU being handled (for Reject) */
	enum iscsi_rx_route route;
	struct iscsi_held_pdu *held; /* the PDU being received ahead of its turn */
	struct iscsi_task *rx_task; /* task whose buffer the data segment lands in */
	uint32_t rx_task_off, rx_task_len;
	struct iscsi_r2t_slot *rx_r2t; /* the R2T a Data-Out answers, if solicited */
	/* A Text exchange over several PDUs (RFC 7143 §11.10, §11.11): a
	 * request continued with C=1 (text_in), an answer longer than one PDU
	 * (text_pending), or an initiator that asked to go on (F=0). */
	bool text_open;             /* text_itt and text_ttt name the exchange */
	uint8_t *text_pending;
	uint32_t text_pending_len, text_pending_off, text_ttt, text_itt;
	uint8_t *text_in;
	uint32_t text_in_len;
	/* Reads executing or sending from a store's own memory, and the
	 * commands held until they are sent (scsi_cmd.c, "the fence"). */
	unsigned lendable_inflight;
	struct iscsi_task *fence_head, *fence_tail;
	struct loop_defer fence_defer;
	struct iscsi_conn *fence_conn; /* held while fence_defer is queued */
	unsigned lone_cmds;         /* SCSI commands in a row sent alone (ffp_rx.c want_poll) */
	uint64_t last_status_ns;    /* CLOCK_MONOTONIC when a SCSI status was last queued */
};

/* Login is over (conn->session bound): the full feature phase takes the
 * connection's PDUs from now on. Fails only for lack of memory. */
int iscsi_ffp_start(struct iscsi_conn *conn);
/* Rejects the PDU being handled (RFC 7143 §11.17): its header is
 * conn->ffp->cur_bhs. */
void iscsi_ffp_reject(struct iscsi_conn *conn, uint8_t reason);
/* Full feature phase PDUs other than SCSI Command and Data-Out (ffp.c). */
void iscsi_ffp_handle(struct iscsi_conn *conn, const struct iscsi_hdr *h,
		      const uint8_t *data, uint32_t len);
/* Shutdown: sends the Async Message that asks the initiator to log out
 * within seconds; false for a discovery session (close it instead). */
bool iscsi_ffp_ask_logout(struct iscsi_conn *conn, uint16_t seconds);

#endif
