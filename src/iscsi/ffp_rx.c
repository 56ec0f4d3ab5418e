/* The full feature phase as the upper layer over conn.c: for each header
 * it decides where the data segment goes (RFC 7143 §4.2.2.1: the CmdSN
 * window admits, holds or drops; a SCSI Command's immediate data and a
 * Data-Out go straight into the task's buffer, across its chunks), and it
 * hands each complete PDU to the code that answers it. */
#include <stdlib.h>
#include <string.h>

#include "iscsi/conn.h"
#include "iscsi/ffp.h"
#include "iscsi/reply.h"
#include "iscsi/session.h"
#include "iscsi/task.h"
#include "util/iov.h"
#include "util/log.h"

/* A Data-Out may land in every chunk of the largest transfer. */
_Static_assert(SCSI_TASK_MAX_CHUNKS + 1 <= ISCSI_RX_DEST_MAX, "rx destination too short");

void iscsi_ffp_reject(struct iscsi_conn *conn, uint8_t reason)
{
	iscsi_reply_reject(conn, conn->ffp->cur_bhs, reason);
}

/* Commands in a row that find nothing else of their session in flight,
 * each the thread's first since the last of the same connection, and each
 * sent soon after the status before it, before the loop polls for the
 * next (util/loop.h). */
#define POLL_AFTER_LONE_CMDS 16

/* The connection of the thread's last SCSI command, as a number: only
 * compared, never followed. */
static __thread uintptr_t last_cmd_conn;

/* An initiator that sends each command alone, after the status of the
 * one before, waits on every reply: its next command is worth the loop
 * polling for rather than sleeping. (ExpStatSN would say what it has seen,
 * but libiscsi, for one, leaves it at 1.) A deeper queue, or other
 * connections' commands in between, hide the wake-up, and polling would
 * only burn CPU the initiators may need. So would polling for an
 * initiator that takes longer to answer than a poll lasts (a real
 * network's round trip): the turnaround, from the last status queued to
 * this command's arrival, must be within twice poll_ns, the allowance for
 * the wake-up it includes while the loop does not poll yet. */
static void want_poll(struct iscsi_conn *conn)
{
	struct iscsi_ffp_conn *f = conn->ffp;
	uint64_t poll_ns = conn->loop->poll_ns;
	if (!poll_ns)
		return;
	bool quick = f->last_status_ns && conn->rx_last_ns >= f->last_status_ns &&
		     conn->rx_last_ns - f->last_status_ns <= 2 * poll_ns;
	bool lone = quick && conn->session->ntasks <= 1 && last_cmd_conn == (uintptr_t)conn;
	last_cmd_conn = (uintptr_t)conn;
	if (!lone)
		f->lone_cmds = 0;
	else if (f->lone_cmds < POLL_AFTER_LONE_CMDS)
		f->lone_cmds++;
	loop_want_poll(conn->loop, f->lone_cmds == POLL_AFTER_LONE_CMDS);
}

/* Decides the route of a PDU from its header; may start a task (SCSI
 * Command) or find one (Data-Out). */
static enum iscsi_rx_route route(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	struct iscsi_session *s = conn->session;
	struct iscsi_ffp_conn *f = conn->ffp;
	iscsi_reply_acked(conn, h);
	if (s->discovery && h->opcode != ISCSI_OP_TEXT_REQ && h->opcode != ISCSI_OP_LOGOUT_REQ &&
	    h->opcode != ISCSI_OP_NOP_OUT) {
		/* RFC 7143 §4.3: a discovery session carries Text, Logout and NOP only. */
		iscsi_ffp_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR);
		return RX_TO_SINK;
	}
	switch (h->opcode) {
	case ISCSI_OP_DATA_OUT:
		iscsi_data_out_rx_begin(conn, h);
		return RX_TO_DATA_OUT;
	case ISCSI_OP_SNACK_REQ:
		/* SNACK needs ErrorRecoveryLevel > 0, which lunar does not offer. */
		iscsi_ffp_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR);
		return RX_TO_SINK;
	case ISCSI_OP_LOGIN_REQ:
		/* RFC 7143 §6: a Login Request in full feature phase is a protocol error. */
		iscsi_ffp_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR);
		return RX_TO_SINK;
	default:
		break;
	}
	if (h->opcode == ISCSI_OP_SCSI_CMD && h->immediate && iscsi_session_window_full(s)) {
		/* An immediate command may carry any CmdSN (RFC 7143
		 * §4.2.2.1), so only a count keeps it from growing what lunard
		 * holds past the window: Reject reason 0x06, "too many
		 * immediate commands" (§11.17.1). */
		iscsi_ffp_reject(conn, ISCSI_REJECT_IMMEDIATE_CMD);
		return RX_TO_SINK;
	}
	bool hold;
	if (!iscsi_session_admit(s, h, &hold)) {
		if (!hold)
			return RX_TO_SINK;
		unsigned limit = conn->host->conn_limits.held_bytes;
		if (limit && s->held_bytes + h->data_len > limit) {
			/* With one connection per session nothing arrives out of
			 * order unless a PDU was lost, which at ErrorRecoveryLevel
			 * 0 ends the session anyway: only a hostile initiator
			 * fills the gaps' room. */
			iscsi_conn_close(conn, "too much data held out of CmdSN order");
			return RX_TO_SINK;
		}
		f->held = calloc(1, sizeof(*f->held) + iscsi_pad4(h->data_len) + ISCSI_RX_SLACK);
		if (!f->held) {
			iscsi_conn_close(conn, "out of memory holding a command");
			return RX_TO_SINK;
		}
		f->held->hdr = *h;
		memcpy(f->held->bhs, conn->rx_bhs, ISCSI_BHS_LEN);
		return RX_TO_HOLD;
	}
	if (h->opcode == ISCSI_OP_SCSI_CMD) {
		iscsi_cmd_rx_begin(conn, h);
		want_poll(conn);
		return RX_TO_TASK;
	}
	return RX_TO_BUF;
}

static void ffp_header(struct iscsi_conn *conn, const struct iscsi_hdr *h,
		       enum iscsi_parse_error err, struct iovec *dest)
{
	struct iscsi_ffp_conn *f = conn->ffp;
	f->cur_bhs = conn->rx_bhs;
	f->route = RX_TO_SINK;
	if (h->data_len > conn->params.max_recv_dsl) {
		/* RFC 7143 §7.2.2: more than MaxRecvDataSegmentLength is a protocol error. */
		log_warn_limited("connection %s: data segment of %u bytes exceeds %u", conn->peer_text,
			 h->data_len, conn->params.max_recv_dsl);
		iscsi_ffp_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR);
		iscsi_conn_close_after_tx(conn, "oversized data segment");
		return;
	}
	if (err != ISCSI_PARSE_OK) {
		iscsi_ffp_reject(conn, err == ISCSI_PARSE_BAD_OPCODE ? ISCSI_REJECT_CMD_NOT_SUPPORTED
							   : ISCSI_REJECT_INVALID_PDU_FIELD);
		return;
	}
	f->route = route(conn, h);
	if (f->route == RX_TO_HOLD)
		dest->iov_base = f->held->data;
	else if ((f->route == RX_TO_TASK || f->route == RX_TO_DATA_OUT) && f->rx_task &&
		 f->rx_task_len) {
		const struct scsi_task *st = &f->rx_task->scsi;
		unsigned n = iov_slice(st->data_iov, st->data_iovcnt, f->rx_task_off, f->rx_task_len,
				       dest, ISCSI_RX_DEST_MAX - 1);
		dest[n] = (struct iovec){ 0 };
	}
}

static void dispatch_held(struct iscsi_conn *conn, struct iscsi_held_pdu *p)
{
	if (p->aborted)
		return;
	conn->ffp->cur_bhs = p->bhs;
	if (p->hdr.opcode == ISCSI_OP_SCSI_CMD)
		iscsi_cmd_run_buffered(conn, &p->hdr, p->data, p->hdr.data_len);
	else
		iscsi_ffp_handle(conn, &p->hdr, p->data, p->hdr.data_len);
	/* p is freed next: nothing may keep pointing into it. */
	conn->ffp->cur_bhs = conn->rx_bhs;
}

static void ffp_pdu(struct iscsi_conn *conn, const struct iscsi_hdr *h, const uint8_t *data)
{
	struct iscsi_ffp_conn *f = conn->ffp;
	switch (f->route) {
	case RX_TO_BUF:
		iscsi_ffp_handle(conn, h, data, h->data_len);
		break;
	case RX_TO_TASK:
		iscsi_cmd_rx_done(conn, h);
		break;
	case RX_TO_DATA_OUT:
		iscsi_data_out_rx_done(conn, h);
		break;
	case RX_TO_HOLD:
		iscsi_session_hold(conn->session, f->held);
		f->held = NULL;
		break;
	case RX_TO_SINK:
		break;
	}
	/* Held PDUs whose turn has come run now, in CmdSN order. */
	struct iscsi_held_pdu *p;
	while (conn->phase == CONN_FULL_FEATURE && (p = iscsi_session_next_held(conn->session))) {
		dispatch_held(conn, p);
		free(p);
	}
}

static void ffp_close(struct iscsi_conn *conn)
{
	if (!conn->session->discovery)
		iscsi_task_abort_conn(conn);
	iscsi_session_remove_conn(conn->session, conn);
}

static void ffp_free(struct iscsi_conn *conn)
{
	free(conn->ffp->held);
	free(conn->ffp->text_pending);
	free(conn->ffp->text_in);
	free(conn->ffp);
	iscsi_session_put(conn->session);
}

/* RFC 7143 §11.19: a NOP-In with a Target Transfer Tag asks the initiator
 * for a NOP-Out with that tag. */
static uint32_t ffp_ping(struct iscsi_conn *conn)
{
	uint32_t ttt = iscsi_session_new_ttt(conn->session);
	iscsi_reply_nop_in(conn, ttt);
	return ttt;
}

static void ffp_tick(struct iscsi_conn *conn, uint64_t now_ns)
{
	iscsi_task_expire_data_out(conn, now_ns);
}

static const struct iscsi_conn_upper ffp_upper = {
	.header = ffp_header,
	.pdu = ffp_pdu,
	.close = ffp_close,
	.free = ffp_free,
	.ping = ffp_ping,
	.tick = ffp_tick,
	.ask_logout = iscsi_ffp_ask_logout,
};

int iscsi_ffp_start(struct iscsi_conn *conn)
{
	conn->ffp = calloc(1, sizeof(*conn->ffp));
	if (!conn->ffp)
		return -1;
	conn->upper = &ffp_upper;
	/* A discovery session has nothing to keep alive: it ends when idle. */
	conn->idle_policy = conn->session->discovery ? CONN_IDLE_CLOSE : CONN_IDLE_PING;
	/* Status is resent (status SNACK, connection recovery) only at
	 * ErrorRecoveryLevel 1 and above; at ERL 0 a PDU is freed once it is
	 * on the wire. */
	conn->reply_seq.retain = conn->params.erl > 0;
	return 0;
}
