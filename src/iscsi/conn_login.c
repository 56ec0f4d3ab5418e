/* A connection's login phase, the first upper layer over conn.c: feeds
 * Login Requests to the login state machine, sends its responses, and at
 * the end hands the connection to the full feature phase, either here
 * (discovery) or on its session's data-plane loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/auth_throttle.h"
#include "iscsi/conn.h"
#include "iscsi/ffp.h"
#include "iscsi/session.h"
#include "iscsi/transport_stats.h"
#include "util/clock.h"
#include "util/escape.h"
#include "util/log.h"
#include "util/macros.h"

/* RFC 7143 §13.12: login data segments stay within 8192 bytes. */
#define LOGIN_RSP_MAX 8192u
/* Failures by source address; logins all run on the control thread. */
static struct auth_throttle login_throttle;

/* A 0201 response waiting for its delay. The connection stops reading
 * meanwhile; closing it cancels the wait. */
struct login_delay {
	struct loop_op op;
	struct __kernel_timespec ts;
	struct iscsi_conn *conn;   /* holds a reference */
	struct iscsi_tx *tx;
	struct login_delay *next;
};

static struct login_delay *login_delays;

static void *env_find_target(void *ctx, const char *name)
{
	struct iscsi_conn *conn = ctx;
	return conn->host->find_target(name);
}

static const char *env_target_alias(void *ctx, void *target)
{
	struct iscsi_conn *conn = ctx;
	return conn->host->target_alias(target);
}

static bool env_target_here(void *ctx, void *target)
{
	struct iscsi_conn *conn = ctx;
	return conn->host->target_on_portal(target, conn->login_env.tpgt);
}

static bool env_target_limits(void *ctx, const char *name, struct iscsi_target_limits *out)
{
	struct iscsi_conn *conn = ctx;
	return conn->host->target_limits(name, out);
}

static uint16_t env_bind_session(void *ctx, struct iscsi_login *lg, uint16_t *tsih)
{
	return iscsi_session_bind(ctx, lg, tsih);
}

/* Ends the login state machine. A target it found but never bound to a
 * session (the login failed or the connection went) lets go of it here. */
static void login_end(struct iscsi_conn *conn)
{
	if (conn->login.target)
		conn->host->put_target(conn->login.target);
	iscsi_login_fini(&conn->login);
	conn->login_active = false;
}

/* Runs on the data-plane loop the session was placed on. */
static void on_handoff(struct loop_msg *msg)
{
	struct iscsi_conn *conn = container_of(msg, struct iscsi_conn, handoff_msg);
	conn->loop = conn->session->loop;
	conn->handoff_pending = false;
	if (conn->session->killed) {
		iscsi_conn_close(conn, "session reinstated");
		return;
	}
	iscsi_conn_rx_start(conn);
}

static void login_finish(struct iscsi_conn *conn)
{
	struct iscsi_session *s = conn->session;
	conn->params = conn->login.params;
	login_end(conn);
	conn->phase = CONN_FULL_FEATURE;
	if (iscsi_ffp_start(conn) < 0) {
		iscsi_conn_close(conn, "out of memory for the full feature phase");
		return;
	}
	if (iscsi_conn_size_rx_buf(conn, conn->params.max_recv_dsl) < 0) {
		iscsi_conn_close(conn, "out of memory for the receive buffer");
		return;
	}
	char who[LOG_ESCAPE_BUF], what[LOG_ESCAPE_BUF];
	const struct log_fields f = {
		.initiator = log_escape_str(who, sizeof(who), s->initiator_name),
		.target = s->discovery ? NULL : log_escape_str(what, sizeof(what), s->target_name),
	};
	log_info_limited_fields(&f, "connection %s: %s session tsih %u for %s%s%s", conn->peer_text,
		 s->discovery ? "discovery" : "normal", s->tsih, f.initiator,
		 s->discovery ? "" : " to ", s->discovery ? "" : f.target);
	if (s->discovery)
		return;
	conn->handoff_to = s->loop;
	conn->handoff_msg.fn = on_handoff;
	conn->handoff_pending = true;
}

static void login_delay_unlink(struct login_delay *d)
{
	struct login_delay **p = &login_delays;
	while (*p != d)
		p = &(*p)->next;
	*p = d->next;
}

static void on_login_delay(struct loop_op *op, int res)
{
	struct login_delay *d = container_of(op, struct login_delay, op);
	struct iscsi_conn *conn = d->conn;
	login_delay_unlink(d);
	if (res == -ETIME && conn->phase != CONN_CLOSING) {
		iscsi_conn_queue(conn, d->tx);
		iscsi_conn_close_after_tx(conn, "authentication failed");
	} else {
		d->tx->sent(d->tx);
	}
	free(d);
	iscsi_conn_put(conn);
}

/* Sends tx (a 0201 response) after auth_fail_delay_ms, reading nothing
 * more from the initiator meanwhile. */
static void login_send_delayed(struct iscsi_conn *conn, struct iscsi_tx *tx)
{
	struct login_delay *d = calloc(1, sizeof(*d));
	if (!d) {
		iscsi_conn_queue(conn, tx);
		iscsi_conn_close_after_tx(conn, "authentication failed");
		return;
	}
	/* No further receive is armed after this PDU (conn.c reads the flag
	 * once the upper has handled it). */
	conn->rx_stopped = true;
	d->op.cb = on_login_delay;
	unsigned delay_ms = conn->host->login_limits.auth_fail_delay_ms;
	d->ts.tv_sec = delay_ms / 1000;
	d->ts.tv_nsec = (long long)(delay_ms % 1000) * 1000000;
	d->conn = conn;
	d->tx = tx;
	d->next = login_delays;
	login_delays = d;
	iscsi_conn_get(conn);
	struct io_uring_sqe *sqe = loop_get_sqe(conn->loop);
	io_uring_prep_timeout(sqe, &d->ts, 0, 0);
	loop_sqe_set_op(sqe, &d->op);
}

/* The connection is closing: a response still waiting is dropped now
 * rather than holding the connection for the rest of its delay. */
static void login_delay_cancel(struct iscsi_conn *conn)
{
	for (struct login_delay *d = login_delays; d; d = d->next) {
		if (d->conn != conn)
			continue;
		struct io_uring_sqe *sqe = loop_get_sqe(conn->loop);
		io_uring_prep_timeout_remove(sqe, (__u64)(uintptr_t)&d->op, 0);
		loop_sqe_set_op(sqe, NULL);
	}
}

/* Sends r, a response that ends the login, and closes once it is out. */
static void login_end_with(struct iscsi_conn *conn, const struct iscsi_login_rsp *r, const char *why)
{
	struct iscsi_tx *tx = iscsi_conn_alloc_tx(0);
	if (!tx) {
		iscsi_conn_close(conn, "out of memory for Login Response");
		return;
	}
	iscsi_build_login_rsp(tx->bhs, r);
	iscsi_conn_queue(conn, tx);
	iscsi_conn_close_after_tx(conn, why);
}

/* Answers a Login Request from an address over its failure limit with
 * 0201 at once, without running the login. */
static void login_refuse_throttled(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	struct iscsi_login_rsp r = {
		.itt = h->itt, .csg = h->login.csg, .tsih = h->login.tsih,
		.statsn = conn->login.statsn + 1, .exp_cmdsn = h->login.cmdsn,
		.max_cmdsn = h->login.cmdsn, .status = ISCSI_LOGIN_AUTH_FAILED,
	};
	memcpy(r.isid, h->login.isid, sizeof(r.isid));
	log_warn_limited("connection %s: login refused: too many failed authentications from this address",
		 conn->peer_text);
	iscsi_stats_login_failed(r.status);
	login_end_with(conn, &r, "too many failed authentications");
}

/* A Login Request with impossible stage fields (e.g. CSG=3) is an
 * initiator error: answer 0x0200 and close (RFC 7143 §11.13.5). */
static void login_reject_malformed(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	struct iscsi_login_rsp r = { .itt = h->itt, .status = ISCSI_LOGIN_INITIATOR_ERROR };
	memcpy(r.isid, conn->rx_bhs + 8, sizeof(r.isid));
	iscsi_stats_login_failed(r.status);
	login_end_with(conn, &r, "malformed Login Request");
}

/* A refused login, with the names the initiator sent as journal fields. */
static void log_refusal(const struct iscsi_conn *conn)
{
	if (log_get_level() < LL_WARN)
		return;
	char who[LOG_ESCAPE_BUF], what[LOG_ESCAPE_BUF];
	log_escape_str(who, sizeof(who), conn->login.initiator_name);
	log_escape_str(what, sizeof(what), conn->login.target_name);
	const struct log_fields f = {
		.initiator = who[0] ? who : NULL,
		.target = !conn->login.discovery && what[0] ? what : NULL,
	};
	if (conn->login.status == ISCSI_LOGIN_AUTH_FAILED)
		log_warn_limited_fields(&f, "connection %s: authentication failed for %s: %s",
					conn->peer_text, who[0] ? who : "an unnamed initiator",
					conn->login.fail_reason ? conn->login.fail_reason : "refused");
	else if (conn->login.status == ISCSI_LOGIN_NOT_AUTHORIZED)
		log_warn_limited_fields(&f, "connection %s: %s not authorized for %s", conn->peer_text,
					who, conn->login.discovery ? "discovery" : what);
}

static void login_pdu(struct iscsi_conn *conn, const struct iscsi_hdr *h, const uint8_t *data)
{
	if (conn->login_bad_header) {
		login_reject_malformed(conn, h);
		return;
	}
	/* A failed authentication is answered late (auth_fail_delay_ms), so
	 * guessing a secret costs time per try, and tries per address are
	 * capped. */
	const struct iscsi_login_limits *lim = &conn->host->login_limits;
	login_throttle.max_failures = lim->auth_fail_max;
	login_throttle.window_ms = (uint64_t)lim->auth_fail_window_s * 1000;
	if (auth_throttle_blocked(&login_throttle, (const struct sockaddr *)&conn->peer, clock_now_ms())) {
		login_refuse_throttled(conn, h);
		return;
	}
	struct iscsi_tx *tx = iscsi_conn_alloc_tx(LOGIN_RSP_MAX);
	if (!tx) {
		iscsi_conn_close(conn, "out of memory for Login Response");
		return;
	}
	size_t rsp_len = 0;
	enum iscsi_login_result res = iscsi_login_step(&conn->login, h, data, h->data_len, tx->bhs,
						       tx->inline_data, LOGIN_RSP_MAX, &rsp_len);
	tx->data_len = (uint32_t)rsp_len;
	conn->reply_seq.next_statsn = conn->login.statsn + 1;
	if (res == ISCSI_LOGIN_REJECTED)
		log_refusal(conn);
	if (res == ISCSI_LOGIN_REJECTED && conn->login.status == ISCSI_LOGIN_AUTH_FAILED) {
		auth_throttle_failed(&login_throttle, (const struct sockaddr *)&conn->peer, clock_now_ms());
		iscsi_stats_auth_failed();
		iscsi_stats_login_failed(conn->login.status);
		login_send_delayed(conn, tx);
		return;
	}
	iscsi_conn_queue(conn, tx);
	switch (res) {
	case ISCSI_LOGIN_CONTINUE:
		break;
	case ISCSI_LOGIN_REJECTED:
		iscsi_stats_login_failed(conn->login.status);
		iscsi_conn_close_after_tx(conn, "login rejected");
		break;
	case ISCSI_LOGIN_DONE:
		iscsi_stats_login_done(conn->login.discovery);
		login_finish(conn);
		break;
	}
}

static void login_header(struct iscsi_conn *conn, const struct iscsi_hdr *h,
			 enum iscsi_parse_error err, struct iovec *dest)
{
	(void)dest; /* login data goes to the connection's buffer */
	if (h->data_len > ISCSI_LOGIN_MAX_DSL) {
		log_warn_limited("connection %s: data segment of %u bytes exceeds %u", conn->peer_text,
			 h->data_len, ISCSI_LOGIN_MAX_DSL);
		iscsi_conn_close_after_tx(conn, "oversized data segment");
		return;
	}
	if (h->opcode != ISCSI_OP_LOGIN_REQ) {
		/* RFC 7143 §6.3.1: the login phase is Login Requests only. */
		iscsi_conn_close(conn, "not a Login Request during login");
		return;
	}
	/* A malformed Login Request is answered once its data segment is in
	 * (login_pdu): closing with it unread would make the kernel reset the
	 * connection, and a reset can destroy the answer before the initiator
	 * reads it. */
	conn->login_bad_header = err != ISCSI_PARSE_OK;
}

/* A connection can close between the bind step and the full feature
 * phase; the session it joined then lets go of it. */
static void login_close(struct iscsi_conn *conn)
{
	login_delay_cancel(conn);
	if (conn->session)
		iscsi_session_remove_conn(conn->session, conn);
}

static void login_free(struct iscsi_conn *conn)
{
	if (conn->login_active)
		login_end(conn);
	if (conn->session)
		iscsi_session_put(conn->session);
}

static const struct iscsi_conn_upper login_upper = {
	.header = login_header,
	.pdu = login_pdu,
	.close = login_close,
	.free = login_free,
};

int iscsi_conn_login_init(struct iscsi_conn *conn)
{
	struct iscsi_login_env *env = &conn->login_env;
	env->ctx = conn;
	env->find_target = env_find_target;
	env->target_alias = env_target_alias;
	env->bind_session = env_bind_session;
	env->access = &conn->host->access;
	env->limits = conn->host->limits;
	env->tpgt = conn->host->portal_tag ? conn->host->portal_tag(&conn->local) : conn->host->tpgt;
	if (conn->host->target_on_portal)
		env->target_here = env_target_here;
	if (conn->host->target_limits)
		env->target_limits = env_target_limits;
	env->cmd_window = conn->host->cmd_window;
	if (iscsi_login_init(&conn->login, env) < 0)
		return -1;
	conn->login_active = true;
	conn->upper = &login_upper;
	return 0;
}
