#include "iscsi/reply.h"

#include <string.h>

#include "iscsi/conn.h"
#include "iscsi/ffp.h"
#include "iscsi/session.h"
#include "iscsi/transport_stats.h"
#include "util/be.h"
#include "util/clock.h"
#include "util/log.h"

struct iscsi_tx *iscsi_reply_alloc(struct iscsi_conn *conn, uint32_t inline_len, const char *what)
{
	struct iscsi_tx *tx = iscsi_conn_alloc_tx(inline_len);
	if (!tx) {
		log_warn("connection %s: out of memory for %s", conn->peer_text, what);
		iscsi_conn_close(conn, "out of memory for a reply");
	}
	return tx;
}

static void reply_queue(struct iscsi_conn *conn, struct iscsi_tx *tx, bool ending)
{
	struct iscsi_session *s = conn->session;
	iscsi_reply_seq_stamp(&conn->reply_seq, tx, s->exp_cmdsn,
			      iscsi_session_tell_max_cmdsn(s, ending));
	iscsi_conn_queue(conn, tx);
}

void iscsi_reply_queue(struct iscsi_conn *conn, struct iscsi_tx *tx)
{
	reply_queue(conn, tx, false);
}

void iscsi_reply_queue_status(struct iscsi_conn *conn, struct iscsi_tx *tx)
{
	/* The turnaround want_poll (ffp_rx.c) measures; with polling off
	 * there is nothing to measure it for. */
	if (conn->loop->poll_ns)
		conn->ffp->last_status_ns = clock_now_ns();
	reply_queue(conn, tx, true);
}

/* Only the opcodes that reach the full feature phase upper. */
static uint32_t hdr_exp_statsn(const struct iscsi_hdr *h)
{
	switch (h->opcode) {
	case ISCSI_OP_SCSI_CMD: return h->cmd.exp_statsn;
	case ISCSI_OP_DATA_OUT: return h->data_out.exp_statsn;
	case ISCSI_OP_NOP_OUT: return h->nop_out.exp_statsn;
	case ISCSI_OP_TMF_REQ: return h->tmf.exp_statsn;
	case ISCSI_OP_TEXT_REQ: return h->text.exp_statsn;
	case ISCSI_OP_LOGOUT_REQ: return h->logout.exp_statsn;
	case ISCSI_OP_SNACK_REQ: return h->snack.exp_statsn;
	default: return h->login.exp_statsn;
	}
}

void iscsi_reply_acked(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	if (conn->reply_seq.kept_head)
		iscsi_reply_seq_ack(&conn->reply_seq, hdr_exp_statsn(h));
}

void iscsi_reply_nop_in(struct iscsi_conn *conn, uint32_t ttt)
{
	struct iscsi_tx *tx = iscsi_reply_alloc(conn, 0, "NOP-In");
	if (!tx)
		return;
	const struct iscsi_nop_in n = { .itt = ISCSI_RSVD_TAG, .ttt = ttt };
	iscsi_build_nop_in(tx->bhs, &n);
	iscsi_reply_queue(conn, tx);
}

void iscsi_reply_reject(struct iscsi_conn *conn, const uint8_t *bhs, uint8_t reason)
{
	log_info_limited("connection %s: Reject reason 0x%02x for opcode 0x%02x itt 0x%08x",
		 conn->peer_text, reason, bhs[0] & 0x3f, be32_get(bhs + 16));
	struct iscsi_tx *tx = iscsi_reply_alloc(conn, ISCSI_BHS_LEN, "Reject");
	if (!tx)
		return;
	memcpy(tx->inline_data, bhs, ISCSI_BHS_LEN);
	const struct iscsi_reject r = { .reason = reason, .data_len = ISCSI_BHS_LEN };
	iscsi_stats_reject_sent();
	iscsi_build_reject(tx->bhs, &r);
	iscsi_reply_queue(conn, tx);
}
