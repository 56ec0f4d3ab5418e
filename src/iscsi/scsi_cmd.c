/* SCSI Command, Data-Out, R2T, Data-In and SCSI Response (RFC 7143 §10,
 * §11.3-11.8): moving a task's data over the connection and reporting its
 * status with the residual counts of §11.4.5. */
#include <stdlib.h>
#include <string.h>

#include "iscsi/conn.h"
#include "iscsi/ffp.h"
#include "iscsi/reply.h"
#include "iscsi/session.h"
#include "iscsi/task.h"
#include "iscsi/thread_cache.h"
#include "util/clock.h"
#include "util/escape.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/macros.h"

/* conn.c's tx_flush sends a PDU only if its pieces fit one sendmsg: a
 * Data-In's header, its data over every chunk of the largest transfer, and
 * padding. A PDU that could not fit would be sent as nothing, forever. */
_Static_assert(1 + SCSI_TASK_MAX_CHUNKS + 1 <= ISCSI_TX_IOV_MAX, "a Data-In PDU fits one sendmsg");

/* ---- the fence ----
 *
 * A SIMPLE read of a store that lends its memory (backend_lend) sends its
 * data from there: the bytes are copied into the socket when its Data-In
 * goes out, after the read completed in the SCSI task set. Until then a
 * write would change what the read returns. SAM-5 lets that happen to a
 * SIMPLE read and a concurrent write (QUEUE ALGORITHM MODIFIER 1, mode.c),
 * and the initiator cannot see the read complete before its data is in
 * (the status follows it on the connection). An ORDERED command may not
 * start before every older command has completed (SAM-5 8.6.3), so it must
 * not change what an older read still sends: it, and every command after
 * it but HEAD OF QUEUE ones (whose place it takes), waits here until the
 * session's lendable reads have been sent and freed. An ORDERED read is
 * never lendable, since younger commands wait for it to complete; the task
 * set holds nothing else back for an older read, so with these two rules
 * no command that must follow a read changes what it still sends. */

static unsigned session_lendable_inflight(const struct iscsi_session *s)
{
	unsigned n = 0;
	for (const struct iscsi_conn *c = s->conns; c; c = c->session_next)
		if (c->ffp)
			n += c->ffp->lendable_inflight;
	return n;
}

static void task_execute_now(struct iscsi_task *t);

static void fence_remove(struct iscsi_task *t)
{
	struct iscsi_ffp_conn *f = t->conn->ffp;
	struct iscsi_task **pp = &f->fence_head, *prev = NULL;
	while (*pp && *pp != t) {
		prev = *pp;
		pp = &(*pp)->fence_next;
	}
	if (!*pp)
		return;
	*pp = t->fence_next;
	if (f->fence_tail == t)
		f->fence_tail = prev;
	t->fenced = false;
}

/* Executes the held commands in their order, up to an ORDERED one that
 * must still wait. */
static void fence_release(struct loop_defer *d)
{
	struct iscsi_ffp_conn *f = container_of(d, struct iscsi_ffp_conn, fence_defer);
	struct iscsi_conn *conn = f->fence_conn;
	struct iscsi_task *t;
	while ((t = f->fence_head) && conn->phase != CONN_CLOSING) {
		if (t->scsi.attr == SCSI_ATTR_ORDERED && session_lendable_inflight(t->session))
			break;
		fence_remove(t);
		task_execute_now(t);
	}
	iscsi_conn_put(conn);
}

static void fence_lendable_done(struct iscsi_conn *conn)
{
	struct iscsi_ffp_conn *f = conn->ffp;
	f->lendable_inflight--;
	if (f->lendable_inflight || !f->fence_head || f->fence_defer.queued)
		return;
	f->fence_defer.fn = fence_release;
	f->fence_conn = conn;
	iscsi_conn_get(conn);
	loop_defer(conn->loop, &f->fence_defer);
}

void iscsi_task_put(struct iscsi_task *task)
{
	if (--task->refs > 0)
		return;
	struct iscsi_conn *conn = task->conn;
	struct iscsi_session *s = task->session;
	s->data_claimed -= task->claim;
	if (task->lendable)
		fence_lendable_done(conn);
	scsi_task_release(&task->scsi);
	iscsi_task_free(task);
	/* Its window slot frees only now that its response (if any) has left:
	 * what an initiator that stops reading makes lunard hold stays within
	 * the window. */
	iscsi_session_cmd_done(s);
	iscsi_conn_put(conn);
	iscsi_session_put(s);
}

static void tx_put_task(struct iscsi_tx *tx)
{
	iscsi_task_put(tx->owner);
	iscsi_tx_free(tx);
}

/* RFC 7143 §11.4.5: residuals compare what the command would move with
 * the Expected Data Transfer Length. */
static void task_residual(const struct iscsi_task *t, bool *over, bool *under, uint32_t *residual)
{
	const struct scsi_task *st = &t->scsi;
	uint32_t would = st->dir == SCSI_DIR_READ ? st->data_len
		       : st->dir == SCSI_DIR_WRITE ? st->xfer_len : 0;
	*over = would > t->edtl;
	*under = would < t->edtl;
	*residual = *over ? would - t->edtl : *under ? t->edtl - would : 0;
}

static void task_send_data_in(struct iscsi_task *t, uint32_t len, bool with_status)
{
	struct iscsi_conn *conn = t->conn;
	struct iscsi_session *s = t->session;
	uint32_t burst_left = s->params.max_burst;
	for (uint32_t off = 0; off < len;) {
		uint32_t n = min_u32(min_u32(len - off, conn->params.max_send_dsl), burst_left);
		bool last = off + n == len;
		burst_left -= n;
		struct iscsi_tx *tx = iscsi_reply_alloc(conn, 0, "Data-In");
		if (!tx)
			return;
		struct iscsi_data_in d = {
			.itt = t->itt, .ttt = ISCSI_RSVD_TAG, .lun = t->lun,
			.datasn = t->datasn++, .offset = off, .data_len = n,
			/* A sequence ends at MaxBurstLength (RFC 7143 §11.7.1). */
			.final = last || burst_left == 0,
		};
		if (last && with_status) {
			d.has_status = true;
			d.status = t->scsi.status;
			task_residual(t, &d.overflow, &d.underflow, &d.residual);
		}
		iscsi_build_data_in(tx->bhs, &d);
		/* Straight from the task's chunks: the PDU holds a reference. */
		tx->data_iov = t->scsi.data_iov;
		tx->data_iovcnt = t->scsi.data_iovcnt;
		tx->data_off = off;
		tx->data_len = n;
		tx->owner = t;
		tx->sent = tx_put_task;
		t->refs++;
		if (d.has_status)
			iscsi_reply_queue_status(conn, tx);
		else
			iscsi_reply_queue(conn, tx);
		if (burst_left == 0)
			burst_left = s->params.max_burst;
		off += n;
	}
}

static void task_send_response(struct iscsi_task *t)
{
	struct iscsi_conn *conn = t->conn;
	const struct scsi_task *st = &t->scsi;
	uint32_t seg = st->sense_len ? 2u + st->sense_len : 0;
	struct iscsi_tx *tx = iscsi_reply_alloc(conn, seg, "SCSI Response");
	if (!tx)
		return;
	if (seg) {
		/* Sense data is preceded by its 2-byte length (RFC 7143 §11.4.7.2). */
		tx->inline_data[0] = 0;
		tx->inline_data[1] = st->sense_len;
		memcpy(tx->inline_data + 2, st->sense, st->sense_len);
	}
	struct iscsi_scsi_rsp r = {
		.itt = t->itt,
		.exp_datasn = st->dir == SCSI_DIR_WRITE ? t->r2tsn : t->datasn,
		.response = 0, .status = st->status, .data_len = seg,
	};
	task_residual(t, &r.overflow, &r.underflow, &r.residual);
	iscsi_build_scsi_rsp(tx->bhs, &r);
	tx->owner = t;
	tx->sent = tx_put_task;
	t->refs++;
	iscsi_reply_queue_status(conn, tx);
}

/* The task is finished at the SCSI level: send its data and status. */
static void task_respond(struct iscsi_task *t)
{
	struct iscsi_conn *conn = t->conn;
	iscsi_session_remove_task(t->session, t);
	if (conn->phase != CONN_CLOSING) {
		const struct scsi_task *st = &t->scsi;
		uint32_t send = st->dir == SCSI_DIR_READ ? min_u32(st->data_len, t->edtl) : 0;
		/* Status rides in the last Data-In unless there is sense to send
		 * (RFC 7143 §11.7.4: no sense data in a Data-In). */
		bool collapse = send > 0 && st->sense_len == 0;
		if (send)
			task_send_data_in(t, send, collapse);
		if (!collapse)
			task_send_response(t);
	}
	iscsi_task_put(t);
}

/* The task ends without a word to the initiator (aborted). */
static void task_drop(struct iscsi_task *t)
{
	if (t->fenced)
		fence_remove(t);
	iscsi_session_remove_task(t->session, t);
	t->executing = false;
	iscsi_task_put(t);
}

/* A write whose initiator will not send the data it owes ends with CHECK
 * CONDITION, ABORTED COMMAND (scsi_task_fail_transfer). */
static void task_fail_transfer(struct iscsi_task *t)
{
	scsi_task_fail_transfer(&t->scsi);
	t->prepared = false;
	task_respond(t);
}

static void task_scsi_done(struct scsi_task *st)
{
	struct iscsi_task *t = st->transport_priv;
	t->executing = false;
	if (t->conn->phase == CONN_CLOSING) {
		/* Nobody will see its status. The connection's close takes its
		 * tasks out of the table only once no receive is in flight
		 * (iscsi_task_abort_conn), so this one may still be there. */
		if (iscsi_session_find_task(t->session, t->itt) == t)
			task_drop(t);
		else
			iscsi_task_put(t);
	} else if (t->aborted) {
		/* Already out of the table; RFC 7143 §11.5.1: no SCSI Response for it. */
		iscsi_send_tmf_rsp(t->conn, t->abort_itt, 0);
		iscsi_task_put(t);
	} else if (st->aborted) {
		/* A LOGICAL UNIT RESET aborted it; with TAS 0 no status is sent. */
		task_drop(t);
	} else {
		task_respond(t);
	}
}

static void task_execute_now(struct iscsi_task *t)
{
	t->executing = true;
	t->scsi.data_out_len = t->got;
	/* A digest would be computed over bytes that could change before
	 * they are sent: then the data is read into the task's chunks. */
	t->lendable = t->scsi.dir == SCSI_DIR_READ && t->scsi.attr != SCSI_ATTR_ORDERED &&
		      !t->conn->params.data_digest;
	t->scsi.data_in_lendable = t->lendable;
	if (t->lendable)
		t->conn->ffp->lendable_inflight++;
	scsi_task_execute(&t->scsi);
}

static void task_execute(struct iscsi_task *t)
{
	struct iscsi_ffp_conn *f = t->conn->ffp;
	bool after_fence = f->fence_head && t->scsi.attr != SCSI_ATTR_HEAD_OF_QUEUE;
	if (after_fence || (t->scsi.attr == SCSI_ATTR_ORDERED && session_lendable_inflight(t->session))) {
		t->fenced = true;
		t->fence_next = NULL;
		if (f->fence_tail)
			f->fence_tail->fence_next = t;
		else
			f->fence_head = t;
		f->fence_tail = t;
		return;
	}
	task_execute_now(t);
}

static void task_send_r2ts(struct iscsi_task *t);

static void task_r2t_chunks_ready(struct scsi_task *st)
{
	struct iscsi_task *t = st->transport_priv;
	t->r2t_waiting = false;
	task_send_r2ts(t);
}

/* Each burst gets its chunks just before its R2T goes out, so a write
 * holds memory for the data it has asked for, not for its whole length;
 * with the budget spent the R2T waits (util/bufwait.h says why that
 * cannot deadlock). */
static void task_send_r2ts(struct iscsi_task *t)
{
	struct iscsi_conn *conn = t->conn;
	struct iscsi_session *s = t->session;
	if (t->r2t_waiting)
		return;
	unsigned limit = min_u32(s->params.max_outstanding_r2t, ISCSI_TASK_MAX_R2T);
	unsigned used = 0;
	for (unsigned i = 0; i < ISCSI_TASK_MAX_R2T; i++)
		used += t->r2t[i].used;
	for (unsigned i = 0; i < ISCSI_TASK_MAX_R2T && used < limit && t->r2t_offset < t->want; i++) {
		struct iscsi_r2t_slot *slot = &t->r2t[i];
		if (slot->used)
			continue;
		uint32_t end = t->r2t_offset + min_u32(t->want - t->r2t_offset, s->params.max_burst);
		if (!scsi_task_data_get(&t->scsi, end, end == t->want, task_r2t_chunks_ready)) {
			t->r2t_waiting = true;
			return;
		}
		struct iscsi_tx *tx = iscsi_reply_alloc(conn, 0, "R2T");
		if (!tx)
			return;
		*slot = (struct iscsi_r2t_slot){
			.used = true, .ttt = iscsi_session_new_ttt(s), .offset = t->r2t_offset,
			.len = min_u32(t->want - t->r2t_offset, s->params.max_burst),
		};
		struct iscsi_r2t r = {
			.itt = t->itt, .ttt = slot->ttt, .lun = t->lun,
			.r2tsn = t->r2tsn++, .offset = slot->offset, .length = slot->len,
		};
		iscsi_build_r2t(tx->bhs, &r);
		iscsi_reply_queue(conn, tx);
		t->r2t_offset += slot->len;
		used++;
	}
}

/* Decides what a task waits for next: unsolicited data, solicited data
 * (sending R2Ts), or nothing (execute, or answer a command that failed
 * before it could run). */
static void task_advance(struct iscsi_task *t)
{
	if (t->unsol_pending)
		return;
	if (!t->prepared) {
		task_respond(t);
		return;
	}
	if (t->got < t->want) {
		task_send_r2ts(t);
		return;
	}
	task_execute(t);
}

/* The unsolicited data a SCSI Command brings or announces, against what
 * was negotiated; NULL when it is allowed, else what it breaks. Each is a
 * protocol error, answered with Reject (RFC 7143 §11.17.1) before the
 * command becomes a task. */
static const char *cmd_unsolicited_violation(const struct iscsi_params *p, const struct iscsi_hdr *h)
{
	if (h->data_len && !p->immediate_data)
		return "immediate data with ImmediateData=No (RFC 7143 §13.11)";
	if (!h->final && p->initial_r2t)
		return "unsolicited Data-Out announced with InitialR2T=Yes (RFC 7143 §13.10)";
	if (h->data_len > p->first_burst)
		return "immediate data beyond FirstBurstLength (RFC 7143 §13.14)";
	return NULL;
}

/* A task counts its transfer in the session's claims until it is freed.
 * One that would take its session past its share while others hold some
 * gets TASK SET FULL instead: the window stops opening at the share
 * (session.c), but the commands of the window already open could claim a
 * whole window of the largest transfers. The first claim always fits, so
 * a session never stalls for good. */
static void task_claim(struct iscsi_session *s, struct iscsi_task *t)
{
	/* The pool's figure is read here, on the session's loop, where its
	 * pool is; until the first claim the share matters to no one. */
	if (s->data_share == ISCSI_SESSION_DATA_FROM_POOL) {
		struct bufwait *bw = bufwait_here();
		s->data_share = bw ? bw->cache.pool->share_bytes : 0;
	}
	uint32_t claim = min_u32(t->edtl, t->scsi.xfer_len);
	if (s->data_share && s->data_claimed && s->data_claimed + claim > s->data_share) {
		scsi_task_refuse_full(&t->scsi);
		t->prepared = false;
		return;
	}
	t->claim = claim;
	s->data_claimed += claim;
}

void iscsi_cmd_rx_begin(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	struct iscsi_session *s = conn->session;
	conn->ffp->rx_task = NULL;
	const char *violation = cmd_unsolicited_violation(&s->params, h);
	if (violation) {
		char who[LOG_ESCAPE_BUF], what[LOG_ESCAPE_BUF];
		const struct log_fields f = {
			.initiator = log_escape_str(who, sizeof(who), s->initiator_name),
			.target = log_escape_str(what, sizeof(what), s->target_name),
			.itt = h->itt, .has_itt = true,
		};
		log_info_limited_fields(&f, "connection %s: ITT 0x%08x: %s", conn->peer_text, h->itt,
					violation);
		iscsi_session_cmd_done(s);
		iscsi_ffp_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR);
		return;
	}
	if (iscsi_session_find_task(s, h->itt)) {
		iscsi_session_cmd_done(s);
		iscsi_ffp_reject(conn, ISCSI_REJECT_TASK_IN_PROGRESS);
		return;
	}
	struct iscsi_task *t = iscsi_task_alloc();
	if (!t) {
		iscsi_session_cmd_done(s);
		iscsi_conn_close(conn, "out of memory for a task");
		return;
	}
	iscsi_conn_get(conn);
	iscsi_session_get(s);
	t->conn = conn;
	t->session = s;
	t->refs = 1;
	t->itt = h->itt;
	t->edtl = h->cmd.edtl;
	t->lun = h->lun;
	t->scsi.nexus = &s->nexus;
	t->scsi.lun_raw = h->lun;
	memcpy(t->scsi.cdb, h->cmd.cdb, sizeof(t->scsi.cdb));
	t->scsi.attr = h->cmd.attr;
	t->scsi.loop = conn->loop;
	t->scsi.done = task_scsi_done;
	t->scsi.transport_priv = t;
	t->scsi.expected_len = h->cmd.edtl;
	t->scsi.data_account = &s->data_held;
	/* The clock conn.c read when this PDU's bytes came in (stats.h). */
	t->scsi.arrived_ns = conn->rx_last_ns;
	t->prepared = scsi_task_prepare(&t->scsi);
	if (t->prepared)
		task_claim(s, t);
	if (t->prepared && t->scsi.dir == SCSI_DIR_WRITE) {
		t->want = min_u32(t->edtl, t->scsi.xfer_len);
		/* Immediate and unsolicited data are on the wire already: their
		 * chunks now, or BUSY (SAM-5 5.3.1) and the data is dropped. */
		uint32_t unsol = h->final ? h->data_len : s->params.first_burst;
		if (!scsi_task_data_get_now(&t->scsi, min_u32(unsol, t->want))) {
			t->prepared = false;
			t->want = 0;
		}
	}
	t->unsol_pending = !h->final;
	/* The connection stamped this PDU's arrival (its idle clock). */
	t->data_at_ns = conn->rx_last_ns;
	iscsi_session_add_task(s, t);

	conn->ffp->rx_task = t;
	conn->ffp->rx_task_off = 0;
	conn->ffp->rx_task_len = min_u32(h->data_len, t->want);
}

void iscsi_cmd_rx_done(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	struct iscsi_task *t = conn->ffp->rx_task;
	conn->ffp->rx_task = NULL;
	if (!t)
		return;
	if (t->reset) {
		task_drop(t);
		return;
	}
	t->got = conn->ffp->rx_task_len;
	t->unsol_next = h->data_len;
	t->r2t_offset = min_u32(t->unsol_next, t->want);
	task_advance(t);
}

void iscsi_cmd_run_buffered(struct iscsi_conn *conn, const struct iscsi_hdr *h,
			    const uint8_t *data, uint32_t len)
{
	iscsi_cmd_rx_begin(conn, h);
	struct iscsi_task *t = conn->ffp->rx_task;
	if (t && conn->ffp->rx_task_len)
		iov_scatter(t->scsi.data_iov, t->scsi.data_iovcnt, 0, data,
			    min_u32(len, conn->ffp->rx_task_len));
	iscsi_cmd_rx_done(conn, h);
}

static struct iscsi_r2t_slot *task_find_r2t(struct iscsi_task *t, uint32_t ttt)
{
	for (unsigned i = 0; i < ISCSI_TASK_MAX_R2T; i++)
		if (t->r2t[i].used && t->r2t[i].ttt == ttt)
			return &t->r2t[i];
	return NULL;
}

void iscsi_data_out_rx_begin(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	conn->ffp->rx_task = NULL;
	conn->ffp->rx_r2t = NULL;
	struct iscsi_task *t = iscsi_session_find_task(conn->session, h->itt);
	uint32_t off = h->data_out.offset, len = h->data_len;
	if (!t || t->executing) {
		iscsi_ffp_reject(conn, ISCSI_REJECT_INVALID_PDU_FIELD);
		return;
	}
	if (h->data_out.ttt == ISCSI_RSVD_TAG) {
		/* Unsolicited data continues where the previous PDU ended
		 * (DataPDUInOrder=Yes) and its DataSN counts from 0. */
		if (!t->unsol_pending || off != t->unsol_next ||
		    h->data_out.datasn != t->unsol_datasn ||
		    len > conn->session->params.first_burst - min_u32(off, conn->session->params.first_burst)) {
			/* RFC 7143 §13.14: unsolicited data stops at FirstBurstLength. */
			iscsi_ffp_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR);
			return;
		}
		t->unsol_next += len;
		t->unsol_datasn++;
		if (h->final)
			t->unsol_pending = false;
	} else {
		struct iscsi_r2t_slot *slot = task_find_r2t(t, h->data_out.ttt);
		if (!slot) {
			iscsi_ffp_reject(conn, ISCSI_REJECT_INVALID_PDU_FIELD);
			return;
		}
		if (off != slot->offset + slot->got || len > slot->len - slot->got ||
		    h->data_out.datasn != slot->next_datasn) {
			iscsi_ffp_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR);
			return;
		}
		slot->next_datasn++;
		conn->ffp->rx_r2t = slot;
	}
	conn->ffp->rx_task = t;
	/* Bytes past what the command moves (EDTL > CDB length) are dropped. */
	conn->ffp->rx_task_off = off;
	conn->ffp->rx_task_len = off < t->want ? min_u32(len, t->want - off) : 0;
}

void iscsi_data_out_rx_done(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	struct iscsi_task *t = conn->ffp->rx_task;
	struct iscsi_r2t_slot *slot = conn->ffp->rx_r2t;
	conn->ffp->rx_task = NULL;
	conn->ffp->rx_r2t = NULL;
	if (!t)
		return;
	if (t->reset) {
		task_drop(t);
		return;
	}
	t->got += conn->ffp->rx_task_len;
	t->data_at_ns = conn->rx_last_ns;
	if (slot) {
		slot->got += h->data_len;
		if (slot->got == slot->len) {
			slot->used = false;
		} else if (h->final) {
			/* RFC 7143 §11.7.1: F ends the sequence the R2T asked
			 * for, so the rest will never come; waiting would hold
			 * the task and its chunks for ever. */
			log_info_limited("connection %s: ITT 0x%08x: R2T burst of %u bytes ended after %u",
				 conn->peer_text, t->itt, slot->len, slot->got);
			task_fail_transfer(t);
			return;
		}
	} else if (t->unsol_pending) {
		return;
	} else {
		/* The unsolicited burst is over: R2Ts ask for what follows it. */
		t->r2t_offset = min_u32(t->unsol_next, t->want);
	}
	task_advance(t);
}

void iscsi_send_tmf_rsp(struct iscsi_conn *conn, uint32_t itt, uint8_t response)
{
	struct iscsi_tx *tx = iscsi_reply_alloc(conn, 0, "TMF Response");
	if (!tx)
		return;
	const struct iscsi_tmf_rsp r = { .itt = itt, .response = response };
	iscsi_build_tmf_rsp(tx->bhs, &r);
	iscsi_reply_queue(conn, tx);
}

bool iscsi_task_abort(struct iscsi_task *t, uint32_t tmf_itt)
{
	/* One still waiting in the SCSI task set (behind an ORDERED task)
	 * leaves it and never runs; one running finishes the I/O in flight
	 * and ends through task_scsi_done, which answers the TMF. */
	if (t->executing && scsi_task_abort(&t->scsi) == SCSI_ABORT_RUNNING) {
		iscsi_session_remove_task(t->session, t);
		t->aborted = true;
		t->abort_itt = tmf_itt;
		return false;
	}
	task_drop(t);
	return true;
}

void iscsi_task_expire_data_out(struct iscsi_conn *conn, uint64_t now_ns)
{
	uint64_t limit = (uint64_t)conn->host->conn_limits.data_out_timeout_s * CLOCK_NS_PER_S;
	struct iscsi_session *s = conn->session;
	if (!limit)
		return;
	for (unsigned b = 0; b < ISCSI_ITT_BUCKETS; b++) {
		struct iscsi_task *next;
		for (struct iscsi_task *t = s->tasks[b]; t; t = next) {
			next = t->hnext;
			/* Only a write waiting for its initiator: not one waiting
			 * for chunks (r2t_waiting), nor one whose Data-Out is
			 * being received into its chunks right now. */
			if (t->conn != conn || t->executing || !t->prepared || t->r2t_waiting ||
			    conn->ffp->rx_task == t || (t->got >= t->want && !t->unsol_pending))
				continue;
			/* While lunard does not read, the initiator cannot send:
			 * that time does not count against it. */
			if (conn->rx_paused)
				t->data_at_ns = now_ns;
			if (now_ns - t->data_at_ns < limit)
				continue;
			log_info_limited("connection %s: ITT 0x%08x: no write data for %u s", conn->peer_text,
				 t->itt, conn->host->conn_limits.data_out_timeout_s);
			task_fail_transfer(t);
		}
	}
}

/* LOGICAL UNIT RESET reaches this session (scsi_lu_reset): its tasks for
 * lun that are still collecting data never run. One whose data segment is
 * being received right now is dropped when that receive is done. */
static void nexus_drop_unexecuted(struct scsi_nexus *nexus, uint16_t lun)
{
	struct iscsi_session *s = container_of(nexus, struct iscsi_session, nexus);
	for (unsigned b = 0; b < ISCSI_ITT_BUCKETS; b++) {
		struct iscsi_task *next;
		for (struct iscsi_task *t = s->tasks[b]; t; t = next) {
			next = t->hnext;
			if (t->executing || scsi_lun_decode(t->lun) != lun)
				continue;
			if (t->conn->ffp->rx_task == t)
				t->reset = true;
			else
				task_drop(t);
		}
	}
}

/* A waiting task the SCSI core took out of its task set for the reset. */
static void nexus_removed(struct scsi_task *st, void *arg)
{
	(void)arg;
	task_drop(st->transport_priv);
}

/* A TARGET COLD RESET asked on another session ends this one: its
 * connections close (RFC 7143 §11.5.1). The reference keeps the session
 * while its last connection closes. */
static void nexus_end(struct scsi_nexus *nexus)
{
	struct iscsi_session *s = container_of(nexus, struct iscsi_session, nexus);
	iscsi_session_get(s);
	for (;;) {
		struct iscsi_conn *c = s->conns;
		while (c && c->phase == CONN_CLOSING)
			c = c->session_next;
		if (!c)
			break;
		iscsi_conn_close(c, "target cold reset");
	}
	iscsi_session_put(s);
}

const struct scsi_nexus_ops iscsi_nexus_ops = {
	.drop_unexecuted = nexus_drop_unexecuted,
	.removed = nexus_removed,
	.end = nexus_end,
};

/* A task the SCSI core took out of its task set before it ran. */
static void task_dropped(struct scsi_task *st, void *arg)
{
	struct iscsi_task *t = st->transport_priv;
	(void)arg;
	t->executing = false;
}

void iscsi_task_abort_conn(struct iscsi_conn *conn)
{
	struct iscsi_session *s = conn->session;
	/* At ErrorRecoveryLevel 0 a lost connection is a lost session, with
	 * every task of its I_T nexus. The core drops all waiting tasks in one
	 * step, so none starts merely because an older one left the set. */
	scsi_task_set_abort(&s->nexus, -1, task_dropped, NULL);
	while (conn->ffp->fence_head)
		fence_remove(conn->ffp->fence_head);
	for (unsigned b = 0; b < ISCSI_ITT_BUCKETS; b++) {
		struct iscsi_task **pp = &s->tasks[b];
		while (*pp) {
			struct iscsi_task *t = *pp;
			if (t->conn != conn) {
				pp = &t->hnext;
				continue;
			}
			*pp = t->hnext;
			s->ntasks--;
			/* Nobody will see its status: one waiting in the task set
			 * never runs, one running stops after the I/O in flight
			 * and is released by its completion. */
			if (!t->executing || scsi_task_abort(&t->scsi) == SCSI_ABORT_NOT_RUN)
				iscsi_task_put(t);
		}
	}
}
