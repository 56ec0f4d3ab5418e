/* Connection framing and lifetime: PDUs taken from batches of received
 * bytes, each header first, then its data segment to where the layer
 * above wants it (RFC 7143 §11.1), one gathered sendmsg at a time for
 * everything queued, and teardown once nothing is in flight. */
#include "iscsi/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iscsi/conn_admit.h"
#include "iscsi/thread_cache.h"
#include "iscsi/transport_stats.h"
#include "util/addr.h"
#include "util/clock.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/macros.h"


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
	iscsi_stats_conn_opened();
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
	iscsi_stats_conn_closed();
}

unsigned iscsi_conn_live_count(void)
{
	pthread_mutex_lock(&all_lock);
	unsigned n = all_count;
	pthread_mutex_unlock(&all_lock);
	return n;
}

/* Applies act to every connection living on loop that wants it. Acting
 * may free connections of this loop, so collect first; only this thread
 * frees its connections, so they stay valid meanwhile. act must make the
 * connection unwanted, or the walk would not end. */
static void each_on(struct loop *loop, bool (*wanted)(const struct iscsi_conn *c),
		    void (*act)(struct iscsi_conn *c, uint16_t arg), uint16_t arg)
{
	struct iscsi_conn *mine[256];
	unsigned n;
	do {
		n = 0;
		pthread_mutex_lock(&all_lock);
		for (struct iscsi_conn *c = all_head; c && n < 256; c = c->all_next)
			if (c->loop == loop && !c->handoff_pending && c->phase != CONN_CLOSING &&
			    wanted(c))
				mine[n++] = c;
		pthread_mutex_unlock(&all_lock);
		for (unsigned i = 0; i < n; i++)
			act(mine[i], arg);
	} while (n == 256);
}

static bool any_conn(const struct iscsi_conn *c)
{
	return true;
}

static void close_for_shutdown(struct iscsi_conn *c, uint16_t unused)
{
	iscsi_conn_close(c, "target shutting down");
}

void iscsi_conn_close_all_on(struct loop *loop)
{
	each_on(loop, any_conn, close_for_shutdown, 0);
}

static bool not_asked(const struct iscsi_conn *c)
{
	return !c->logout_asked;
}

static void ask_logout(struct iscsi_conn *c, uint16_t seconds)
{
	c->logout_asked = true;
	if (!c->upper->ask_logout || !c->upper->ask_logout(c, seconds))
		iscsi_conn_close(c, "target shutting down");
}

void iscsi_conn_ask_logout_all_on(struct loop *loop, uint16_t seconds)
{
	each_on(loop, not_asked, ask_logout, seconds);
}

static void rx_resume(struct iscsi_conn *conn);

void iscsi_conn_get(struct iscsi_conn *conn)
{
	conn->refs++;
}

/* The connection no longer holds a place among those logging in. */
static void conn_login_over(struct iscsi_conn *conn)
{
	if (conn->counted_in_login) {
		conn->counted_in_login = false;
		iscsi_admit_login_over((const struct sockaddr *)&conn->peer);
	}
}

static void conn_destroy(struct iscsi_conn *conn)
{
	all_remove(conn);
	conn_login_over(conn);
	iscsi_admit_release((const struct sockaddr *)&conn->peer);
	conn->upper->free(conn);
	free(conn->rx_buf);
	free(conn->rx_stage);
	close(conn->fd);
	log_debug("connection %s: freed", conn->peer_text);
	free(conn);
}

void iscsi_conn_put(struct iscsi_conn *conn)
{
	if (--conn->refs == 0)
		conn_destroy(conn);
}

/* What a queued PDU makes lunard hold: itself and the room allocated for
 * its inline data, however little of it is used (a Login Response has
 * room for 8 KiB). Data in a task's chunks is under the pool's budget
 * already. */
static uint32_t tx_cost(const struct iscsi_tx *tx)
{
	return (uint32_t)sizeof(*tx) + tx->inline_cap;
}

/* Whether the send queue holds too much to read another request. During
 * login the initiator waits for each response before it sends the next
 * request (RFC 7143 §6.3), so a peer with a response still unsent is not
 * reading: nothing more is read from it until the response has gone. In
 * the full feature phase, pausing at tx_queue_bytes and resuming at half
 * keeps the queue bounded without stopping at every reply. */
static bool tx_backlogged(const struct iscsi_conn *conn, bool resuming)
{
	if (conn->phase == CONN_LOGIN)
		return conn->tx_queued > 0;
	unsigned limit = conn->host->conn_limits.tx_queue_bytes;
	return limit && conn->tx_queued > (resuming ? limit / 2 : limit);
}

static void tx_drain(struct iscsi_conn *conn)
{
	while (conn->tx_head) {
		struct iscsi_tx *tx = conn->tx_head;
		conn->tx_head = tx->next;
		conn->tx_queued -= tx_cost(tx);
		tx->sent(tx);
	}
	conn->tx_tail = NULL;
	conn->tx_skip = 0;
}

void iscsi_conn_close(struct iscsi_conn *conn, const char *why)
{
	if (conn->phase == CONN_CLOSING)
		return;
	log_info_limited("connection %s: closing: %s", conn->peer_text, why);
	conn->phase = CONN_CLOSING;
	/* Completes the receive (and any send) in flight, so refs drain. */
	shutdown(conn->fd, SHUT_RDWR);
	/* The upper lets go of what a receive may be writing into (a task's
	 * buffer) only once no receive is in flight: on_rx calls it then. */
	if (!conn->rx_busy)
		conn->upper->close(conn);
	if (!conn->tx_busy)
		tx_drain(conn);
	iscsi_reply_seq_release_all(&conn->reply_seq);
	if (conn->idle_armed) {
		/* The timer completes with -ECANCELED and lets go of its
		 * reference; the removal's own completion carries no op. */
		struct io_uring_sqe *sqe = loop_get_sqe(conn->loop);
		io_uring_prep_timeout_remove(sqe, (__u64)(uintptr_t)&conn->idle_op, 0);
		loop_sqe_set_op(sqe, NULL);
	}
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

struct iscsi_tx *iscsi_conn_alloc_tx(uint32_t inline_len)
{
	struct iscsi_tx *tx = iscsi_tx_alloc(inline_len);
	if (!tx)
		return NULL;
	tx->sent = iscsi_tx_free;
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
		if (res == -ECANCELED)
			iscsi_stats_dropped(ISCSI_STATS_DROP_SEND_STALL);
		iscsi_conn_close(conn, res == -ECANCELED ? "the peer accepted nothing within the send timeout"
				 : strerror(-res));
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
		conn->tx_queued -= tx_cost(tx);
		iscsi_reply_seq_sent(&conn->reply_seq, tx);
	}
	rx_resume(conn);
	if (conn->tx_head) {
		tx_flush(conn);
	} else if (conn->close_why) {
		iscsi_conn_close(conn, conn->close_why);
	} else if (conn->handoff_pending) {
		/* The last login response is out: from here on the connection
		 * belongs to its data-plane loop, and this thread lets go. */
		struct loop *target = conn->handoff_to;
		iscsi_conn_put(conn);
		loop_post(target, &conn->handoff_msg);
		return;
	}
	iscsi_conn_put(conn);
}

/* Iovecs the PDU's data segment needs. */
static unsigned tx_data_pieces(const struct iscsi_tx *tx)
{
	if (!tx->data_len)
		return 0;
	if (!tx->data_iov)
		return 1;
	return iov_slice_count(tx->data_iov, tx->data_iovcnt, tx->data_off, tx->data_len);
}

static void tx_flush(struct iscsi_conn *conn)
{
	if (conn->tx_busy || !conn->tx_head || conn->phase == CONN_CLOSING)
		return;
	unsigned n = 0, pdus = 0;
	for (struct iscsi_tx *tx = conn->tx_head; tx && pdus < ISCSI_TX_BATCH; tx = tx->next, pdus++) {
		unsigned pieces = tx_data_pieces(tx);
		if (n + pieces + 2 > ISCSI_TX_IOV_MAX)
			break;
		conn->tx_iov[n++] = (struct iovec){ tx->bhs, ISCSI_BHS_LEN };
		if (!tx->data_len)
			continue;
		if (tx->data_iov)
			n += iov_slice(tx->data_iov, tx->data_iovcnt, tx->data_off, tx->data_len,
				       conn->tx_iov + n, pieces);
		else
			conn->tx_iov[n++] = (struct iovec){ (void *)tx->data, tx->data_len };
		uint32_t pad = iscsi_pad4(tx->data_len) - tx->data_len;
		if (pad)
			conn->tx_iov[n++] = (struct iovec){ (void *)zero_pad, pad };
	}
	memset(&conn->tx_msg, 0, sizeof(conn->tx_msg));
	conn->tx_msg.msg_iov = conn->tx_iov;
	conn->tx_msg.msg_iovlen = n;
	msg_advance(&conn->tx_msg, conn->tx_skip);
	loop_reserve(conn->loop, 2);
	struct io_uring_sqe *sqe = loop_get_sqe(conn->loop);
	io_uring_prep_sendmsg(sqe, conn->fd, &conn->tx_msg, MSG_NOSIGNAL);
	loop_sqe_set_op(sqe, &conn->tx_op);
	unsigned stall_s = conn->host->conn_limits.tx_stall_s;
	/* Stamped for every send: the liveness timer may start while one
	 * that carries its own timeout is still in flight (tx_stalled). */
	if (stall_s)
		conn->tx_since_ns = clock_now_ns();
	if (stall_s && !conn->idle_armed) {
		/* Until the liveness timer runs on this connection's loop
		 * (the login phase, and the last login response): a send
		 * completes as soon as any bytes move, so one that does not
		 * complete in time means the peer stopped reading; it fails
		 * with -ECANCELED. */
		sqe->flags |= IOSQE_IO_LINK;
		conn->tx_timeout = (struct __kernel_timespec){ .tv_sec = stall_s };
		struct io_uring_sqe *tsqe = loop_get_sqe(conn->loop);
		io_uring_prep_link_timeout(tsqe, &conn->tx_timeout, 0);
		loop_sqe_set_op(tsqe, NULL);
	}
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
	conn->tx_queued += tx_cost(tx);
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
	uint8_t *buf = realloc(conn->rx_buf, max_dsl + ISCSI_RX_SLACK);
	if (!buf)
		return -ENOMEM;
	conn->rx_buf = buf;
	return 0;
}

/* ---- liveness ---- */

static uint64_t s_to_ns(unsigned s)
{
	return (uint64_t)s * CLOCK_NS_PER_S;
}

static void idle_arm(struct iscsi_conn *conn, uint64_t ns)
{
	conn->idle_ts = (struct __kernel_timespec){
		.tv_sec = (long long)(ns / CLOCK_NS_PER_S), .tv_nsec = (long long)(ns % CLOCK_NS_PER_S),
	};
	struct io_uring_sqe *sqe = loop_get_sqe(conn->loop);
	io_uring_prep_timeout(sqe, &conn->idle_ts, 0, 0);
	loop_sqe_set_op(sqe, &conn->idle_op);
	conn->idle_armed = true;
	iscsi_conn_get(conn);
}

/* How the liveness timer watches the send stall: it runs at least this
 * often while tx_stall_s is set, so a send that moves nothing is found
 * between tx_stall_s and 1.25 times that. */
#define TX_STALL_TICKS 4u
#define NO_WAIT UINT64_MAX

/* Acts on the idle policy at now: a discovery session silent for
 * discovery_idle_s ends; a full-feature connection silent for
 * nop_interval_s gets a ping, and is dropped if no answer comes within
 * nop_timeout_s. While reading is paused the peer's silence is ours, and
 * the send stall watches it instead. Returns the policy's next wait, or
 * NO_WAIT when it watches nothing (or closed the connection). */
static uint64_t idle_policy(struct iscsi_conn *conn, uint64_t now)
{
	const struct iscsi_conn_limits *l = &conn->host->conn_limits;
	uint64_t idle = now - conn->rx_last_ns;
	switch (conn->idle_policy) {
	case CONN_IDLE_CLOSE:
		if (!l->discovery_idle_s)
			return NO_WAIT;
		if (idle >= s_to_ns(l->discovery_idle_s)) {
			iscsi_stats_dropped(ISCSI_STATS_DROP_DISCOVERY_IDLE);
			iscsi_conn_close(conn, "discovery session idle");
			return NO_WAIT;
		}
		return s_to_ns(l->discovery_idle_s) - idle;
	case CONN_IDLE_PING:
		conn->upper->tick(conn, now);
		if (conn->phase == CONN_CLOSING || !l->nop_interval_s || !l->nop_timeout_s)
			return NO_WAIT;
		if (conn->ping_out) {
			uint64_t waited = now - conn->ping_sent_ns;
			if (waited >= s_to_ns(l->nop_timeout_s)) {
				iscsi_stats_dropped(ISCSI_STATS_DROP_NOP_TIMEOUT);
				iscsi_conn_close(conn, "no NOP-Out answered the NOP-In ping");
				return NO_WAIT;
			}
			return s_to_ns(l->nop_timeout_s) - waited;
		}
		if (conn->rx_paused || idle < s_to_ns(l->nop_interval_s))
			return s_to_ns(l->nop_interval_s) - (conn->rx_paused ? 0 : idle);
		conn->ping_ttt = conn->upper->ping(conn);
		conn->ping_out = true;
		conn->ping_sent_ns = now;
		return conn->phase == CONN_CLOSING ? NO_WAIT : s_to_ns(l->nop_timeout_s);
	case CONN_IDLE_NONE:
		break;
	}
	return NO_WAIT;
}

/* Arms the timer for min(wait, the send stall's tick), if either is set. */
static void idle_rearm(struct iscsi_conn *conn, uint64_t wait)
{
	unsigned stall_s = conn->host->conn_limits.tx_stall_s;
	if (stall_s)
		wait = min_u64(wait, s_to_ns(stall_s) / TX_STALL_TICKS);
	if (wait != NO_WAIT)
		idle_arm(conn, wait);
}

/* A send has moved nothing since it was queued tx_stall_s ago: the peer
 * stopped reading. (Sends before this timer runs, the login phase's,
 * carry a linked timeout instead: tx_flush.) */
static bool tx_stalled(const struct iscsi_conn *conn, uint64_t now)
{
	unsigned stall_s = conn->host->conn_limits.tx_stall_s;
	return stall_s && conn->tx_busy && now - conn->tx_since_ns >= s_to_ns(stall_s);
}

static void idle_check(struct iscsi_conn *conn)
{
	uint64_t now = clock_now_ns();
	if (tx_stalled(conn, now)) {
		iscsi_stats_dropped(ISCSI_STATS_DROP_SEND_STALL);
		iscsi_conn_close(conn, "the peer accepted nothing within the send timeout");
		return;
	}
	uint64_t wait = idle_policy(conn, now);
	if (conn->phase != CONN_CLOSING)
		idle_rearm(conn, wait);
}

static void on_idle_timer(struct loop_op *op, int res)
{
	struct iscsi_conn *conn = container_of(op, struct iscsi_conn, idle_op);
	conn->idle_armed = false;
	if (conn->phase == CONN_FULL_FEATURE && res == -ETIME)
		idle_check(conn);
	iscsi_conn_put(conn);
}

/* The full feature phase reads its first PDU on the loop it lives on. */
static void idle_start(struct iscsi_conn *conn)
{
	const struct iscsi_conn_limits *l = &conn->host->conn_limits;
	conn->rx_last_ns = clock_now_ns();
	uint64_t wait = NO_WAIT;
	if (conn->idle_policy == CONN_IDLE_CLOSE && l->discovery_idle_s)
		wait = s_to_ns(l->discovery_idle_s);
	else if (conn->idle_policy == CONN_IDLE_PING && l->nop_interval_s && l->nop_timeout_s)
		wait = s_to_ns(l->nop_interval_s);
	idle_rearm(conn, wait);
}

void iscsi_conn_pong(struct iscsi_conn *conn, uint32_t ttt)
{
	if (conn->ping_out && ttt == conn->ping_ttt)
		conn->ping_out = false;
}

/* ---- receive ----
 *
 * A receive takes whatever the socket holds, up to ISCSI_RX_STAGE bytes,
 * into the connection's stage, and every PDU found there is handled before
 * the next receive: a window of small commands (48-byte READ headers, 4 KiB
 * writes with their data) costs one receive, and their replies leave in one
 * sendmsg (iscsi_conn_queue). The header of each PDU is handled as soon as
 * it is whole, as before batching; its tail (AHS, header digest, data
 * segment, data digest) is copied from the stage into the places the upper
 * chose (rx_plan_tail). What is still to come of a tail of at least
 * ISCSI_RX_DIRECT_MIN bytes is received straight into those places, with no
 * copy; a shorter rest comes through the stage, with whatever follows it. */

static void rx_submit(struct iscsi_conn *conn, bool direct)
{
	if (conn->phase == CONN_FULL_FEATURE && !conn->idle_armed && !conn->rx_last_ns)
		idle_start(conn);
	loop_reserve(conn->loop, 2);
	struct io_uring_sqe *sqe = loop_get_sqe(conn->loop);
	conn->rx_direct = direct;
	if (direct) {
		io_uring_prep_recvmsg(sqe, conn->fd, &conn->rx_msg, 0);
	} else {
		/* What is left is less than a header, or nothing. */
		uint32_t left = conn->rx_stage_len - conn->rx_stage_pos;
		memmove(conn->rx_stage, conn->rx_stage + conn->rx_stage_pos, left);
		conn->rx_stage_pos = 0;
		conn->rx_stage_len = left;
		io_uring_prep_recv(sqe, conn->fd, conn->rx_stage + left, ISCSI_RX_STAGE - left, 0);
	}
	loop_sqe_set_op(sqe, &conn->rx_op);
	iscsi_conn_get(conn);
	conn->rx_busy = true;
	if (conn->phase != CONN_LOGIN) {
		conn_login_over(conn);
		return;
	}
	/* A client that stops talking mid-login, or dribbles bytes, must not
	 * hold a connection: each receive may wait the per-PDU time, but no
	 * longer than what is left of the whole login's, and then fails with
	 * -ECANCELED. The kernel reads the timespec when the SQE is
	 * submitted, so it lives in the connection; the timeout's own
	 * completion carries no op. */
	sqe->flags |= IOSQE_IO_LINK;
	uint64_t pdu_ns = conn->host->login_limits.login_pdu_timeout_s * CLOCK_NS_PER_S;
	uint64_t now = clock_now_ns();
	uint64_t left = conn->login_deadline_ns > now ? conn->login_deadline_ns - now : 0;
	/* Past the deadline: a timeout that fires at once. */
	uint64_t wait = left < pdu_ns ? (left ? left : 1) : pdu_ns;
	conn->login_timeout = (struct __kernel_timespec){
		.tv_sec = (long long)(wait / CLOCK_NS_PER_S), .tv_nsec = (long long)(wait % CLOCK_NS_PER_S),
	};
	struct io_uring_sqe *tsqe = loop_get_sqe(conn->loop);
	io_uring_prep_link_timeout(tsqe, &conn->login_timeout, 0);
	loop_sqe_set_op(tsqe, NULL);
}

/* Where the tail goes: AHS (and header digest) to rx_ahs, then the data
 * segment to the upper's destination, then what nobody keeps to the sink. */
static void rx_plan_tail(struct iscsi_conn *conn, uint32_t data)
{
	const struct iscsi_hdr *h = &conn->rx_hdr;
	uint32_t ahs = h->ahs_len * 4u + (conn->params.header_digest ? ISCSI_DIGEST_LEN : 0);
	unsigned n = 0;
	if (ahs)
		conn->rx_iov[n++] = (struct iovec){ conn->rx_ahs, ahs };
	uint32_t placed = 0;
	for (unsigned i = 0; i < ISCSI_RX_DEST_MAX && conn->rx_dest[i].iov_len; i++) {
		conn->rx_iov[n++] = conn->rx_dest[i];
		placed += (uint32_t)conn->rx_dest[i].iov_len;
	}
	if (data > placed)
		conn->rx_iov[n++] = (struct iovec){ conn->rx_buf, data - placed };
	memset(&conn->rx_msg, 0, sizeof(conn->rx_msg));
	conn->rx_msg.msg_iov = conn->rx_iov;
	conn->rx_msg.msg_iovlen = n;
	conn->rx_tail_len = ahs + data;
	conn->rx_got = 0;
}

/* The header at the stage's read position is whole: the upper routes it
 * and says where its data segment goes. */
static void rx_header(struct iscsi_conn *conn)
{
	memcpy(conn->rx_bhs, conn->rx_stage + conn->rx_stage_pos, ISCSI_BHS_LEN);
	conn->rx_stage_pos += ISCSI_BHS_LEN;
	struct iscsi_hdr *h = &conn->rx_hdr;
	enum iscsi_parse_error err = iscsi_parse_bhs(conn->rx_bhs, h);
	/* The padded data segment and its digest (RFC 7143 §11.1). */
	uint32_t data = iscsi_pad4(h->data_len) +
			(conn->params.data_digest && h->data_len ? ISCSI_DIGEST_LEN : 0);
	conn->rx_dest[0] = (struct iovec){ conn->rx_buf, data };
	conn->rx_dest[1] = (struct iovec){ 0 };
	conn->upper->header(conn, h, err, conn->rx_dest);
	if (conn->phase == CONN_CLOSING || conn->rx_stopped)
		return;
	rx_plan_tail(conn, data);
	conn->rx_in_tail = true;
}

/* Copies what the stage holds of the tail still to come into its place. */
static void rx_tail_from_stage(struct iscsi_conn *conn)
{
	uint32_t n = min_u32(conn->rx_tail_len - conn->rx_got, conn->rx_stage_len - conn->rx_stage_pos);
	if (!n)
		return;
	iov_scatter(conn->rx_msg.msg_iov, (unsigned)conn->rx_msg.msg_iovlen, 0,
		    conn->rx_stage + conn->rx_stage_pos, n);
	msg_advance(&conn->rx_msg, n);
	conn->rx_stage_pos += n;
	conn->rx_got += n;
}

/* Handles every PDU the stage holds, then arms the receive that brings
 * the rest, unless the connection stops reading: closing, stopped, being
 * handed to another loop (which carries on from the stage), or paused
 * while the peer does not read its replies (rx_resume carries on). */
static void rx_continue_later(struct iscsi_conn *conn);

/* The caller holds a reference: a PDU may close the connection. */
static void rx_continue(struct iscsi_conn *conn)
{
	unsigned handled = 0;
	for (;;) {
		if (conn->phase == CONN_CLOSING || conn->rx_stopped || conn->handoff_pending)
			return;
		if (conn->rx_in_tail) {
			rx_tail_from_stage(conn);
			if (conn->rx_got < conn->rx_tail_len) {
				rx_submit(conn, conn->rx_tail_len - conn->rx_got >= ISCSI_RX_DIRECT_MIN);
				return;
			}
			conn->rx_in_tail = false;
			conn->upper->pdu(conn, &conn->rx_hdr, conn->rx_dest[0].iov_base);
			handled++;
			continue;
		}
		if (handled == ISCSI_RX_BATCH_PDUS) {
			rx_continue_later(conn);
			return;
		}
		if (tx_backlogged(conn, false)) {
			/* The peer does not read what it asked for: read no more
			 * requests from it until the replies have gone. */
			log_debug("connection %s: %u bytes of replies queued, reading paused",
				  conn->peer_text, conn->tx_queued);
			conn->rx_paused = true;
			return;
		}
		if (conn->rx_stage_len - conn->rx_stage_pos < ISCSI_BHS_LEN) {
			rx_submit(conn, false);
			return;
		}
		rx_header(conn);
	}
}

static void on_rx_more(struct loop_op *op, int res)
{
	struct iscsi_conn *conn = container_of(op, struct iscsi_conn, rx_more_op);
	conn->rx_more_queued = false;
	rx_continue(conn);
	iscsi_conn_put(conn);
}

/* Carries on with the stage behind the completions already queued on the
 * loop (loop_complete_soon runs them in order), among them the other
 * connections' turns: one connection's batch does not take a thread's
 * commands (and the task memory they claim) from the others. Also keeps
 * reading out of a send's completion. */
static void rx_continue_later(struct iscsi_conn *conn)
{
	if (conn->rx_more_queued)
		return;
	conn->rx_more_queued = true;
	iscsi_conn_get(conn);
	loop_complete_soon(conn->loop, &conn->rx_more_op, 0);
}

/* Reading resumes once the send queue has drained enough (tx_backlogged). */
static void rx_resume(struct iscsi_conn *conn)
{
	if (!conn->rx_paused || conn->phase == CONN_CLOSING || conn->rx_stopped ||
	    tx_backlogged(conn, true))
		return;
	conn->rx_paused = false;
	rx_continue_later(conn);
}

void iscsi_conn_rx_start(struct iscsi_conn *conn)
{
	iscsi_conn_get(conn);
	rx_continue(conn);
	iscsi_conn_put(conn);
}

static void on_rx(struct loop_op *op, int res)
{
	struct iscsi_conn *conn = container_of(op, struct iscsi_conn, rx_op);
	conn->rx_busy = false;
	if (conn->phase == CONN_CLOSING) {
		/* Closed while this receive was in flight (iscsi_conn_close). */
		conn->upper->close(conn);
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
	if (conn->rx_last_ns)
		conn->rx_last_ns = clock_now_ns();
	if (conn->rx_direct) {
		conn->rx_got += (uint32_t)res;
		msg_advance(&conn->rx_msg, (size_t)res);
	} else {
		conn->rx_stage_len += (uint32_t)res;
	}
	rx_continue(conn);
	iscsi_conn_put(conn);
}

/* A peer that vanishes without a FIN or RST (power loss, a cut link) is
 * found by TCP keepalive even while lunard waits for nothing from it. */
static void socket_keepalive(int fd, const struct iscsi_conn_limits *l)
{
	if (!l->keepalive_idle_s || !l->keepalive_interval_s || !l->keepalive_count)
		return;
	int on = 1, idle = (int)l->keepalive_idle_s, intvl = (int)l->keepalive_interval_s,
	    cnt = (int)l->keepalive_count;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

int iscsi_conn_start(int fd, struct loop *loop, const struct iscsi_host *host)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0) {
		/* Gone before we looked: nothing to serve. */
		close(fd);
		return -ENOTCONN;
	}
	const struct sockaddr *peer_sa = (const struct sockaddr *)&peer;
	enum iscsi_admit admit = iscsi_admit_conn(&host->login_limits, peer_sa);
	if (admit != ISCSI_ADMIT_OK) {
		/* Closed before reading anything: answering with a Login
		 * Response would mean waiting for the peer's first PDU, which
		 * is what the caps are there to stop. */
		char text[ADDR_TEXT_MAX];
		addr_format(peer_sa, addr_port(peer_sa), text, sizeof(text));
		log_warn_limited("connection %s: refused: %s", text, iscsi_admit_why(admit));
		close(fd);
		return -EBUSY;
	}
	struct iscsi_conn *conn = calloc(1, sizeof(*conn));
	if (!conn) {
		iscsi_admit_login_over(peer_sa);
		iscsi_admit_release(peer_sa);
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
	conn->rx_more_op.cb = on_rx_more;
	conn->idle_op.cb = on_idle_timer;
	conn->peer = peer;
	conn->counted_in_login = true;
	conn->login_deadline_ns = clock_now_ns() + host->login_limits.login_timeout_s * CLOCK_NS_PER_S;
	len = sizeof(conn->local);
	getsockname(fd, (struct sockaddr *)&conn->local, &len);
	addr_format(peer_sa, addr_port(peer_sa), conn->peer_text, sizeof(conn->peer_text));
	/* PDUs are written whole by one sendmsg; don't let Nagle hold the tail. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	socket_keepalive(fd, &host->conn_limits);
	iscsi_params_default(&conn->params);
	conn->phase = CONN_LOGIN;
	/* Nothing is in flight yet: a failure here frees the connection at
	 * once, before anything else can see it. */
	conn->rx_stage = malloc(ISCSI_RX_STAGE);
	if (!conn->rx_stage || iscsi_conn_size_rx_buf(conn, ISCSI_LOGIN_MAX_DSL) < 0 ||
	    iscsi_conn_login_init(conn) < 0) {
		log_warn("connection %s: out of memory for a new connection", conn->peer_text);
		iscsi_admit_login_over(peer_sa);
		iscsi_admit_release(peer_sa);
		free(conn->rx_buf);
		free(conn->rx_stage);
		close(fd);
		free(conn);
		return -ENOMEM;
	}
	all_add(conn);
	log_info_limited("connection %s: accepted", conn->peer_text);
	rx_continue(conn);
	return 0;
}
