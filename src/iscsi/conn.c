/* Connection framing and lifetime: header first, then the data segment
 * straight to where it belongs (RFC 7143 §11.1), one gathered sendmsg at a
 * time for everything queued, and teardown once nothing is in flight. */
#include "iscsi/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iscsi/reply.h"
#include "iscsi/session.h"
#include "iscsi/task.h"
#include "util/addr.h"
#include "util/log.h"
#include "util/macros.h"

/* RFC 7143 §13.12: before a value is declared, data segments are <= 8192. */
#define LOGIN_MAX_DSL 8192u
/* Room after a data segment in rx_buf: padding and a data digest. */
#define RX_BUF_SLACK 8u

static const uint8_t zero_pad[4];

/* Every live connection, whichever loop it is on; only shutdown walks it. */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct iscsi_conn *all_head;
static unsigned all_count;

static void all_add(struct iscsi_conn *conn)
{
	pthread_mutex_lock(&all_lock);
	conn->all_next = all_head;
	if (all_head)
		all_head->all_prev = conn;
	all_head = conn;
	all_count++;
	pthread_mutex_unlock(&all_lock);
}

static void all_remove(struct iscsi_conn *conn)
{
	pthread_mutex_lock(&all_lock);
	if (conn->all_prev)
		conn->all_prev->all_next = conn->all_next;
	else
		all_head = conn->all_next;
	if (conn->all_next)
		conn->all_next->all_prev = conn->all_prev;
	all_count--;
	pthread_mutex_unlock(&all_lock);
}

unsigned iscsi_conn_live_count(void)
{
	pthread_mutex_lock(&all_lock);
	unsigned n = all_count;
	pthread_mutex_unlock(&all_lock);
	return n;
}

void iscsi_conn_close_all_on(struct loop *loop)
{
	/* Closing may free connections of this loop, so collect first. Only
	 * this thread frees its connections, so they stay valid meanwhile. */
	struct iscsi_conn *mine[256];
	unsigned n;
	do {
		n = 0;
		pthread_mutex_lock(&all_lock);
		for (struct iscsi_conn *c = all_head; c && n < 256; c = c->all_next)
			if (c->loop == loop && !c->handoff_pending && c->phase != CONN_CLOSING)
				mine[n++] = c;
		pthread_mutex_unlock(&all_lock);
		for (unsigned i = 0; i < n; i++)
			iscsi_conn_close(mine[i], "target shutting down");
	} while (n == 256);
}

static void rx_arm(struct iscsi_conn *conn);

void iscsi_conn_get(struct iscsi_conn *conn)
{
	conn->refs++;
}

static void conn_destroy(struct iscsi_conn *conn)
{
	all_remove(conn);
	if (conn->login_active)
		iscsi_login_fini(&conn->login);
	if (conn->session)
		iscsi_session_put(conn->session);
	free(conn->rx_held);
	free(conn->rx_buf);
	free(conn->text_pending);
	close(conn->fd);
	log_debug("connection %s: freed", conn->peer_text);
	free(conn);
}

void iscsi_conn_put(struct iscsi_conn *conn)
{
	if (--conn->refs == 0)
		conn_destroy(conn);
}

static void tx_drain(struct iscsi_conn *conn)
{
	while (conn->tx_head) {
		struct iscsi_tx *tx = conn->tx_head;
		conn->tx_head = tx->next;
		tx->sent(tx);
	}
	conn->tx_tail = NULL;
	conn->tx_skip = 0;
}

void iscsi_conn_close(struct iscsi_conn *conn, const char *why)
{
	if (conn->phase == CONN_CLOSING)
		return;
	log_info("connection %s: closing: %s", conn->peer_text, why);
	conn->phase = CONN_CLOSING;
	/* Completes the receive (and any send) in flight, so refs drain. */
	shutdown(conn->fd, SHUT_RDWR);
	if (conn->session) {
		if (!conn->session->discovery)
			iscsi_task_abort_conn(conn);
		iscsi_session_remove_conn(conn->session, conn);
	}
	if (!conn->tx_busy)
		tx_drain(conn);
	iscsi_reply_seq_release_all(&conn->reply_seq);
	iscsi_conn_put(conn);
}

void iscsi_conn_close_after_tx(struct iscsi_conn *conn, const char *why)
{
	conn->rx_stopped = true;
	if (conn->tx_head || conn->tx_busy)
		conn->close_why = why;
	else
		iscsi_conn_close(conn, why);
}

/* Moves msg past the first skip bytes of its iovecs: what a short
 * transfer already moved. */
static void msg_advance(struct msghdr *msg, size_t skip)
{
	while (skip && skip >= msg->msg_iov->iov_len) {
		skip -= msg->msg_iov->iov_len;
		msg->msg_iov++;
		msg->msg_iovlen--;
	}
	if (skip) {
		msg->msg_iov->iov_base = (char *)msg->msg_iov->iov_base + skip;
		msg->msg_iov->iov_len -= skip;
	}
}

static void tx_free(struct iscsi_tx *tx)
{
	free(tx);
}

struct iscsi_tx *iscsi_conn_alloc_tx(uint32_t inline_len)
{
	struct iscsi_tx *tx = calloc(1, sizeof(*tx) + inline_len);
	if (!tx)
		return NULL;
	tx->sent = tx_free;
	if (inline_len) {
		tx->data = tx->inline_data;
		tx->data_len = inline_len;
	}
	return tx;
}

static uint32_t tx_wire_len(const struct iscsi_tx *tx)
{
	return ISCSI_BHS_LEN + iscsi_pad4(tx->data_len);
}

static void tx_flush(struct iscsi_conn *conn);

static void on_tx(struct loop_op *op, int res)
{
	struct iscsi_conn *conn = container_of(op, struct iscsi_conn, tx_op);
	conn->tx_busy = false;
	if (conn->phase == CONN_CLOSING) {
		tx_drain(conn);
		iscsi_conn_put(conn);
		return;
	}
	if (res < 0) {
		iscsi_conn_close(conn, strerror(-res));
		iscsi_conn_put(conn);
		return;
	}
	uint32_t bytes = (uint32_t)res + conn->tx_skip;
	conn->tx_skip = 0;
	while (conn->tx_head) {
		struct iscsi_tx *tx = conn->tx_head;
		uint32_t len = tx_wire_len(tx);
		if (bytes < len) {
			conn->tx_skip = bytes;
			break;
		}
		bytes -= len;
		conn->tx_head = tx->next;
		if (!conn->tx_head)
			conn->tx_tail = NULL;
		iscsi_reply_seq_sent(&conn->reply_seq, tx);
	}
	if (conn->tx_head) {
		tx_flush(conn);
	} else if (conn->close_why) {
		iscsi_conn_close(conn, conn->close_why);
	} else if (conn->handoff_pending) {
		/* The last login response is out: from here on the connection
		 * belongs to its data-plane loop, and this thread lets go. */
		struct loop *target = conn->session->loop;
		iscsi_conn_put(conn);
		loop_post(target, &conn->handoff_msg);
		return;
	}
	iscsi_conn_put(conn);
}

static void tx_flush(struct iscsi_conn *conn)
{
	if (conn->tx_busy || !conn->tx_head || conn->phase == CONN_CLOSING)
		return;
	unsigned n = 0, pdus = 0;
	for (struct iscsi_tx *tx = conn->tx_head; tx && pdus < ISCSI_TX_BATCH; tx = tx->next, pdus++) {
		conn->tx_iov[n++] = (struct iovec){ tx->bhs, ISCSI_BHS_LEN };
		if (tx->data_len) {
			conn->tx_iov[n++] = (struct iovec){ (void *)tx->data, tx->data_len };
			uint32_t pad = iscsi_pad4(tx->data_len) - tx->data_len;
			if (pad)
				conn->tx_iov[n++] = (struct iovec){ (void *)zero_pad, pad };
		}
	}
	memset(&conn->tx_msg, 0, sizeof(conn->tx_msg));
	conn->tx_msg.msg_iov = conn->tx_iov;
	conn->tx_msg.msg_iovlen = n;
	msg_advance(&conn->tx_msg, conn->tx_skip);
	struct io_uring_sqe *sqe = loop_get_sqe(conn->loop);
	io_uring_prep_sendmsg(sqe, conn->fd, &conn->tx_msg, MSG_NOSIGNAL);
	loop_sqe_set_op(sqe, &conn->tx_op);
	conn->tx_busy = true;
	iscsi_conn_get(conn);
}

static void on_tx_defer(struct loop_defer *d)
{
	struct iscsi_conn *conn = container_of(d, struct iscsi_conn, tx_defer);
	tx_flush(conn);
	iscsi_conn_put(conn);
}

void iscsi_conn_queue(struct iscsi_conn *conn, struct iscsi_tx *tx)
{
	if (conn->phase == CONN_CLOSING) {
		tx->sent(tx);
		return;
	}
	tx->next = NULL;
	if (conn->tx_tail)
		conn->tx_tail->next = tx;
	else
		conn->tx_head = tx;
	conn->tx_tail = tx;
	/* Everything queued in this round of callbacks leaves in one sendmsg. */
	if (!conn->tx_busy && !conn->tx_defer.queued) {
		iscsi_conn_get(conn);
		loop_defer(conn->loop, &conn->tx_defer);
	}
}

int iscsi_conn_size_rx_buf(struct iscsi_conn *conn, uint32_t max_dsl)
{
	uint8_t *buf = realloc(conn->rx_buf, max_dsl + RX_BUF_SLACK);
	if (!buf)
		return -ENOMEM;
	conn->rx_buf = buf;
	return 0;
}

/* ---- receive ---- */

static void rx_submit(struct iscsi_conn *conn)
{
	loop_reserve(conn->loop, 2);
	struct io_uring_sqe *sqe = loop_get_sqe(conn->loop);
	if (!conn->rx_in_tail) {
		io_uring_prep_recv(sqe, conn->fd, conn->rx_bhs + conn->rx_got,
				   ISCSI_BHS_LEN - conn->rx_got, 0);
	} else {
		io_uring_prep_recvmsg(sqe, conn->fd, &conn->rx_msg, 0);
	}
	loop_sqe_set_op(sqe, &conn->rx_op);
	iscsi_conn_get(conn);
	if (conn->phase == CONN_LOGIN) {
		/* A client that stops talking mid-login must not hold a
		 * connection forever: the receive fails with -ECANCELED. The
		 * kernel reads the timespec when the SQE is submitted, so it
		 * lives in the connection; the timeout's own completion
		 * carries no op. */
		sqe->flags |= IOSQE_IO_LINK;
		conn->login_timeout = (struct __kernel_timespec){ .tv_sec = conn->host->login_timeout_s };
		struct io_uring_sqe *tsqe = loop_get_sqe(conn->loop);
		io_uring_prep_link_timeout(tsqe, &conn->login_timeout, 0);
		loop_sqe_set_op(tsqe, NULL);
	}
}

static void rx_arm(struct iscsi_conn *conn)
{
	conn->rx_in_tail = false;
	conn->rx_got = 0;
	rx_submit(conn);
}

void iscsi_conn_rx_start(struct iscsi_conn *conn)
{
	rx_arm(conn);
}

static void dispatch_held(struct iscsi_conn *conn, struct iscsi_held_pdu *p)
{
	if (p->aborted)
		return;
	conn->cur_bhs = p->bhs;
	if (p->hdr.opcode == ISCSI_OP_SCSI_CMD)
		iscsi_cmd_run_buffered(conn, &p->hdr, p->data, p->hdr.data_len);
	else
		iscsi_ffp_handle(conn, &p->hdr, p->data, p->hdr.data_len);
}

static void rx_pdu_done(struct iscsi_conn *conn)
{
	const struct iscsi_hdr *h = &conn->rx_hdr;
	switch (conn->rx_route) {
	case RX_TO_BUF:
		if (conn->phase == CONN_LOGIN)
			iscsi_conn_login_pdu(conn, h, conn->rx_buf, h->data_len);
		else
			iscsi_ffp_handle(conn, h, conn->rx_buf, h->data_len);
		break;
	case RX_TO_TASK:
		iscsi_cmd_rx_done(conn, h);
		break;
	case RX_TO_DATA_OUT:
		iscsi_data_out_rx_done(conn, h);
		break;
	case RX_TO_HOLD:
		iscsi_session_hold(conn->session, conn->rx_held);
		conn->rx_held = NULL;
		break;
	case RX_TO_SINK:
		break;
	}
	if (conn->phase == CONN_FULL_FEATURE) {
		struct iscsi_held_pdu *p;
		while (conn->phase == CONN_FULL_FEATURE &&
		       (p = iscsi_session_next_held(conn->session))) {
			dispatch_held(conn, p);
			free(p);
		}
	}
	if (conn->phase != CONN_CLOSING && !conn->rx_stopped && !conn->handoff_pending)
		rx_arm(conn);
}

/* Decides the route of a full-feature-phase PDU from its header; may start
 * a task (SCSI Command) or find one (Data-Out). */
static enum iscsi_rx_route ffp_route(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	struct iscsi_session *s = conn->session;
	iscsi_reply_acked(conn, h);
	if (s->discovery && h->opcode != ISCSI_OP_TEXT_REQ && h->opcode != ISCSI_OP_LOGOUT_REQ &&
	    h->opcode != ISCSI_OP_NOP_OUT) {
		/* RFC 7143 §4.3: a discovery session carries Text, Logout and NOP only. */
		iscsi_reply_reject(conn, conn->cur_bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		return RX_TO_SINK;
	}
	switch (h->opcode) {
	case ISCSI_OP_DATA_OUT:
		iscsi_data_out_rx_begin(conn, h);
		return RX_TO_DATA_OUT;
	case ISCSI_OP_SNACK_REQ:
		/* SNACK needs ErrorRecoveryLevel > 0, which lunar does not offer. */
		iscsi_reply_reject(conn, conn->cur_bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		return RX_TO_SINK;
	case ISCSI_OP_LOGIN_REQ:
		/* RFC 7143 §6: a Login Request in full feature phase is a protocol error. */
		iscsi_reply_reject(conn, conn->cur_bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		return RX_TO_SINK;
	default:
		break;
	}
	bool hold;
	if (!iscsi_session_admit(s, h, &hold)) {
		if (!hold)
			return RX_TO_SINK;
		conn->rx_held = calloc(1, sizeof(*conn->rx_held) + iscsi_pad4(h->data_len) + RX_BUF_SLACK);
		if (!conn->rx_held) {
			iscsi_conn_close(conn, "out of memory holding a command");
			return RX_TO_SINK;
		}
		conn->rx_held->hdr = *h;
		memcpy(conn->rx_held->bhs, conn->rx_bhs, ISCSI_BHS_LEN);
		return RX_TO_HOLD;
	}
	if (h->opcode == ISCSI_OP_SCSI_CMD) {
		iscsi_cmd_rx_begin(conn, h);
		return RX_TO_TASK;
	}
	return RX_TO_BUF;
}

/* Where the tail goes: AHS (and header digest) to rx_ahs, then the data
 * segment to its route's destination, then what nobody keeps to the sink. */
static void rx_plan_tail(struct iscsi_conn *conn)
{
	const struct iscsi_hdr *h = &conn->rx_hdr;
	bool hd = conn->params.header_digest, dd = conn->params.data_digest;
	uint32_t ahs = h->ahs_len * 4u + (hd ? ISCSI_DIGEST_LEN : 0);
	uint32_t data = iscsi_pad4(h->data_len) + (dd && h->data_len ? ISCSI_DIGEST_LEN : 0);
	uint8_t *dest = conn->rx_buf;
	uint32_t dest_len = data;
	if (conn->rx_route == RX_TO_HOLD) {
		dest = conn->rx_held->data;
	} else if ((conn->rx_route == RX_TO_TASK || conn->rx_route == RX_TO_DATA_OUT) &&
		   conn->rx_task && conn->rx_task_len) {
		dest = conn->rx_task->scsi.buf + conn->rx_task_off;
		dest_len = conn->rx_task_len;
	}
	const struct iovec plan[] = {
		{ conn->rx_ahs, ahs }, { dest, dest_len }, { conn->rx_buf, data - dest_len },
	};
	unsigned n = 0;
	for (unsigned i = 0; i < sizeof(plan) / sizeof(plan[0]); i++)
		if (plan[i].iov_len)
			conn->rx_iov[n++] = plan[i];
	memset(&conn->rx_msg, 0, sizeof(conn->rx_msg));
	conn->rx_msg.msg_iov = conn->rx_iov;
	conn->rx_msg.msg_iovlen = n;
	conn->rx_tail_len = ahs + data;
}

/* A Login Request with impossible stage fields (e.g. CSG=3) is an
 * initiator error: answer 0x0200 and close (RFC 7143 §11.13.5). */
static void login_reject_malformed(struct iscsi_conn *conn)
{
	struct iscsi_tx *tx = iscsi_conn_alloc_tx(0);
	if (!tx) {
		iscsi_conn_close(conn, "out of memory for Login Response");
		return;
	}
	struct iscsi_login_rsp r = {
		.itt = conn->rx_hdr.itt, .status = ISCSI_LOGIN_INITIATOR_ERROR,
	};
	memcpy(r.isid, conn->rx_bhs + 8, sizeof(r.isid));
	iscsi_build_login_rsp(tx->bhs, &r);
	iscsi_conn_queue(conn, tx);
	iscsi_conn_close_after_tx(conn, "malformed Login Request");
}

static void rx_header_done(struct iscsi_conn *conn)
{
	struct iscsi_hdr *h = &conn->rx_hdr;
	enum iscsi_parse_error err = iscsi_parse_bhs(conn->rx_bhs, h);
	conn->cur_bhs = conn->rx_bhs;
	uint32_t limit = conn->phase == CONN_LOGIN ? LOGIN_MAX_DSL : conn->params.max_recv_dsl;
	if (h->data_len > limit) {
		/* RFC 7143 §7.2.2: more than MaxRecvDataSegmentLength is a protocol error. */
		log_warn("connection %s: data segment of %u bytes exceeds %u", conn->peer_text,
			 h->data_len, limit);
		if (conn->phase != CONN_LOGIN)
			iscsi_reply_reject(conn, conn->cur_bhs, ISCSI_REJECT_PROTOCOL_ERROR);
		iscsi_conn_close_after_tx(conn, "oversized data segment");
		return;
	}
	if (conn->phase == CONN_LOGIN) {
		if (h->opcode != ISCSI_OP_LOGIN_REQ) {
			/* RFC 7143 §6.3.1: the login phase is Login Requests only. */
			iscsi_conn_close(conn, "not a Login Request during login");
			return;
		}
		if (err != ISCSI_PARSE_OK) {
			login_reject_malformed(conn);
			return;
		}
		conn->rx_route = RX_TO_BUF;
	} else if (err != ISCSI_PARSE_OK) {
		iscsi_reply_reject(conn, conn->cur_bhs, err == ISCSI_PARSE_BAD_OPCODE ? ISCSI_REJECT_CMD_NOT_SUPPORTED
								   : ISCSI_REJECT_INVALID_PDU_FIELD);
		conn->rx_route = RX_TO_SINK;
	} else {
		conn->rx_route = ffp_route(conn, h);
	}
	if (conn->phase == CONN_CLOSING)
		return;
	rx_plan_tail(conn);
	if (conn->rx_tail_len == 0) {
		rx_pdu_done(conn);
		return;
	}
	conn->rx_in_tail = true;
	conn->rx_got = 0;
	rx_submit(conn);
}

static void on_rx(struct loop_op *op, int res)
{
	struct iscsi_conn *conn = container_of(op, struct iscsi_conn, rx_op);
	if (conn->phase == CONN_CLOSING) {
		iscsi_conn_put(conn);
		return;
	}
	if (res <= 0) {
		iscsi_conn_close(conn, res == 0 ? "peer closed the connection"
				 : res == -ECANCELED && conn->phase == CONN_LOGIN ? "login timed out"
				 : strerror(-res));
		iscsi_conn_put(conn);
		return;
	}
	conn->rx_got += (uint32_t)res;
	if (!conn->rx_in_tail) {
		if (conn->rx_got < ISCSI_BHS_LEN)
			rx_submit(conn);
		else
			rx_header_done(conn);
	} else if (conn->rx_got < conn->rx_tail_len) {
		msg_advance(&conn->rx_msg, (size_t)res);
		rx_submit(conn);
	} else {
		rx_pdu_done(conn);
	}
	iscsi_conn_put(conn);
}

int iscsi_conn_start(int fd, struct loop *loop, const struct iscsi_host *host)
{
	struct iscsi_conn *conn = calloc(1, sizeof(*conn));
	if (!conn) {
		close(fd);
		return -ENOMEM;
	}
	conn->fd = fd;
	conn->loop = loop;
	conn->host = host;
	conn->refs = 1;
	conn->rx_op.cb = on_rx;
	conn->tx_op.cb = on_tx;
	conn->tx_defer.fn = on_tx_defer;
	socklen_t len = sizeof(conn->local);
	getsockname(fd, (struct sockaddr *)&conn->local, &len);
	len = sizeof(conn->peer);
	getpeername(fd, (struct sockaddr *)&conn->peer, &len);
	const struct sockaddr *peer = (const struct sockaddr *)&conn->peer;
	addr_format(peer, addr_port(peer), conn->peer_text, sizeof(conn->peer_text));
	/* PDUs are written whole by one sendmsg; don't let Nagle hold the tail. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	iscsi_params_default(&conn->params);
	if (iscsi_conn_size_rx_buf(conn, LOGIN_MAX_DSL) < 0) {
		close(fd);
		free(conn);
		return -ENOMEM;
	}
	conn->phase = CONN_LOGIN;
	all_add(conn);
	iscsi_conn_login_init(conn);
	log_info("connection %s: accepted", conn->peer_text);
	rx_arm(conn);
	return 0;
}
