/* Full feature phase PDUs that are not SCSI data movement: NOP-Out,
 * Text (SendTargets), Logout and Task Management (RFC 7143 §11.5, §11.10,
 * §11.14, §11.18). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/conn.h"
#include "iscsi/ffp.h"
#include "iscsi/reply.h"
#include "iscsi/session.h"
#include "iscsi/task.h"
#include "iscsi/textkv.h"
#include "util/log.h"
#include "util/macros.h"

/* The largest Text response lunar builds (all targets x all portals). */
#define TEXT_RSP_MAX (64u * 1024u)
/* The longest request lunar collects over C=1 parts: 64 pairs of the
 * longest key and value with room to spare. */
#define TEXT_REQ_MAX (32u * 1024u)
#define TEXT_MAX_PAIRS 64

static void handle_nop_out(struct iscsi_conn *conn, const struct iscsi_hdr *h,
			   const uint8_t *data, uint32_t len)
{
	/* A Target Transfer Tag: the answer to our ping (RFC 7143 §11.18.2). */
	if (h->nop_out.ttt != ISCSI_RSVD_TAG)
		iscsi_conn_pong(conn, h->nop_out.ttt);
	/* ITT 0xffffffff: no answer wanted (RFC 7143 §11.18.3). */
	if (h->itt == ISCSI_RSVD_TAG)
		return;
	uint32_t echo = min_u32(len, conn->params.max_send_dsl);
	struct iscsi_tx *tx = iscsi_reply_alloc(conn, echo, "NOP-In");
	if (!tx)
		return;
	memcpy(tx->inline_data, data, echo);
	const struct iscsi_nop_in n = {
		.itt = h->itt, .ttt = ISCSI_RSVD_TAG, .lun = h->lun, .data_len = echo,
	};
	iscsi_build_nop_in(tx->bhs, &n);
	iscsi_reply_queue(conn, tx);
}

/* Ends the Text exchange in progress, if any: a new request resets it
 * (RFC 7143 §11.10.4: TTT 0xffffffff restarts the exchange). */
static void text_end(struct iscsi_ffp_conn *f)
{
	free(f->text_pending);
	f->text_pending = NULL;
	free(f->text_in);
	f->text_in = NULL;
	f->text_in_len = 0;
	f->text_open = false;
}

/* Queues one Text Response of the exchange. F=1 ends it (TTT reserved);
 * F=0 keeps it open under a new TTT the initiator echoes (§11.11.1,
 * §11.11.4). */
static void text_send(struct iscsi_conn *conn, const uint8_t *data, uint32_t n, bool final,
		      bool cont)
{
	struct iscsi_ffp_conn *f = conn->ffp;
	struct iscsi_tx *tx = iscsi_reply_alloc(conn, n, "Text Response");
	if (!tx)
		return;
	if (n)
		memcpy(tx->inline_data, data, n);
	f->text_ttt = final ? ISCSI_RSVD_TAG : iscsi_session_new_ttt(conn->session);
	const struct iscsi_text_rsp r = {
		.final = final, .cont = cont, .itt = f->text_itt, .ttt = f->text_ttt, .data_len = n,
	};
	iscsi_build_text_rsp(tx->bhs, &r);
	iscsi_reply_queue(conn, tx);
	if (final)
		text_end(f);
	else
		f->text_open = true;
}

/* Sends the next part of the pending answer: C=1 while more follows
 * (§11.11.2); the last part is final only if the request was (F=1 to a
 * request with F=0 is a protocol error, §11.11.1). */
static void text_send_part(struct iscsi_conn *conn, bool request_final)
{
	struct iscsi_ffp_conn *f = conn->ffp;
	uint32_t left = f->text_pending_len - f->text_pending_off;
	uint32_t n = min_u32(left, conn->params.max_send_dsl);
	bool more = n < left;
	const uint8_t *part = f->text_pending + f->text_pending_off;
	f->text_pending_off += n;
	text_send(conn, part, n, !more && request_final, more);
}

/* Adds a part of a request continued over several PDUs (C=1, §11.10.2). */
static int text_collect(struct iscsi_ffp_conn *f, const uint8_t *data, uint32_t len)
{
	if (len > TEXT_REQ_MAX - f->text_in_len)
		return -ENOSPC;
	uint8_t *in = realloc(f->text_in, f->text_in_len + len + 1);
	if (!in)
		return -ENOMEM;
	memcpy(in + f->text_in_len, data, len);
	f->text_in = in;
	f->text_in_len += len;
	return 0;
}

/* Answers the keys of a whole request: SendTargets (§12.3), anything
 * else NotUnderstood (§6.2; operational keys are renegotiated only at
 * login for now). Text that does not parse is a protocol error. */
static void text_answer(struct iscsi_conn *conn, const uint8_t *data, uint32_t len,
			bool request_final)
{
	struct iscsi_text_pair pairs[TEXT_MAX_PAIRS];
	size_t npairs;
	enum iscsi_text_error err = iscsi_text_parse(data, len, ISCSI_TEXT_LONG_VALUE_MAX,
						     pairs, TEXT_MAX_PAIRS, &npairs);
	if (err != ISCSI_TEXT_OK) {
		log_info_limited("connection %s: bad Text Request: %s", conn->peer_text,
				 iscsi_text_error_str(err));
		text_end(conn->ffp);
		iscsi_ffp_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR);
		return;
	}
	uint8_t *out = malloc(TEXT_RSP_MAX);
	if (!out) {
		iscsi_conn_close(conn, "out of memory for Text Response");
		return;
	}
	struct iscsi_text_buf buf;
	iscsi_text_buf_init(&buf, out, TEXT_RSP_MAX);
	struct iscsi_session *s = conn->session;
	for (size_t i = 0; i < npairs; i++) {
		const struct iscsi_text_pair *p = &pairs[i];
		if (iscsi_text_key_is(p, "SendTargets")) {
			int n = conn->host->sendtargets(p->value, s->initiator_name,
							s->discovery ? NULL : s->target_name,
							(char *)out + buf.len,
							buf.cap - buf.len);
			if (n > 0)
				buf.len += (size_t)n;
		} else {
			char key[ISCSI_TEXT_KEY_MAX + 1];
			memcpy(key, p->key, p->key_len);
			key[p->key_len] = '\0';
			iscsi_text_append(&buf, key, "NotUnderstood");
		}
	}
	/* The pairs pointed into the collected request: done with it. A
	 * follow-on request may bring new keys after the last answer was
	 * all sent: that answer goes too. */
	free(conn->ffp->text_pending);
	free(conn->ffp->text_in);
	conn->ffp->text_in = NULL;
	conn->ffp->text_in_len = 0;
	conn->ffp->text_pending = out;
	conn->ffp->text_pending_len = (uint32_t)buf.len;
	conn->ffp->text_pending_off = 0;
	text_send_part(conn, request_final);
}

static void handle_text(struct iscsi_conn *conn, const struct iscsi_hdr *h,
			const uint8_t *data, uint32_t len)
{
	struct iscsi_ffp_conn *f = conn->ffp;
	if (h->text.ttt != ISCSI_RSVD_TAG) {
		/* A follow-on request keeps the exchange's ITT and echoes our
		 * TTT (§11.10.4). */
		if (!f->text_open || h->text.ttt != f->text_ttt || h->itt != f->text_itt) {
			iscsi_reply_reject(conn, f->cur_bhs, ISCSI_REJECT_INVALID_PDU_FIELD);
			return;
		}
		if (f->text_pending && f->text_pending_off < f->text_pending_len) {
			text_send_part(conn, h->final);
			return;
		}
	} else {
		text_end(f);
		f->text_itt = h->itt;
	}
	if (h->text.cont || f->text_in) {
		if (text_collect(f, data, len) < 0) {
			text_end(f);
			iscsi_reply_reject(conn, f->cur_bhs, ISCSI_REJECT_OUT_OF_RESOURCES);
			return;
		}
		/* Each incomplete part gets an empty answer that invites the
		 * next (§11.10.2). */
		if (h->text.cont) {
			text_send(conn, NULL, 0, false, false);
			return;
		}
		data = f->text_in;
		len = f->text_in_len;
	}
	text_answer(conn, data, len, h->final);
}

/* Logout response codes, RFC 7143 §11.15.1. */
enum { LOGOUT_OK = 0, LOGOUT_CID_NOT_FOUND = 1, LOGOUT_RECOVERY_UNSUPPORTED = 2 };
/* Logout reason codes, RFC 7143 §11.14.1. */
enum { LOGOUT_CLOSE_SESSION = 0, LOGOUT_CLOSE_CONNECTION = 1, LOGOUT_REMOVE_FOR_RECOVERY = 2 };

static void handle_logout(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	uint8_t response = LOGOUT_OK;
	if (h->logout.reason == LOGOUT_REMOVE_FOR_RECOVERY)
		response = LOGOUT_RECOVERY_UNSUPPORTED;
	else if (h->logout.reason == LOGOUT_CLOSE_CONNECTION && h->logout.cid != conn->cid)
		response = LOGOUT_CID_NOT_FOUND;
	struct iscsi_tx *tx = iscsi_reply_alloc(conn, 0, "Logout Response");
	if (!tx)
		return;
	const struct iscsi_params *p = &conn->session->params;
	const struct iscsi_logout_rsp r = {
		.response = response, .itt = h->itt,
		.time2wait = (uint16_t)p->default_time2wait,
		.time2retain = (uint16_t)p->default_time2retain,
	};
	iscsi_build_logout_rsp(tx->bhs, &r);
	iscsi_reply_queue(conn, tx);
	if (response == LOGOUT_OK)
		iscsi_conn_close_after_tx(conn, "logout");
}

/* RFC 7143 §11.9.1 AsyncEvent 1: the target requests a Logout, which the
 * initiator sends on this connection within Parameter3 seconds (Parameters
 * 1 and 2 are reserved for this event). A discovery session is simply
 * closed: it holds nothing the initiator would lose. */
bool iscsi_ffp_ask_logout(struct iscsi_conn *conn, uint16_t seconds)
{
	if (conn->session->discovery)
		return false;
	struct iscsi_tx *tx = iscsi_reply_alloc(conn, 0, "Async Message");
	if (!tx)
		return true;
	const struct iscsi_async_msg m = { .event = ISCSI_ASYNC_LOGOUT_REQUEST, .param3 = seconds };
	iscsi_build_async_msg(tx->bhs, &m);
	iscsi_reply_queue(conn, tx);
	return true;
}

/* TMF functions, RFC 7143 §11.5.1. */
enum {
	TMF_ABORT_TASK = 1, TMF_ABORT_TASK_SET = 2, TMF_CLEAR_ACA = 3, TMF_CLEAR_TASK_SET = 4,
	TMF_LUN_RESET = 5, TMF_TARGET_WARM_RESET = 6, TMF_TARGET_COLD_RESET = 7,
	TMF_TASK_REASSIGN = 8, TMF_QUERY_TASK = 9, TMF_QUERY_TASK_SET = 10,
	TMF_IT_NEXUS_RESET = 11, TMF_QUERY_ASYNC_EVENT = 12,
};
/* TMF responses, RFC 7143 §11.6.1. */
enum {
	TMF_COMPLETE = 0, TMF_NO_TASK = 1, TMF_NO_LUN = 2, TMF_NOT_SUPPORTED = 5,
	TMF_AUTH_FAILED = 6, TMF_SUCCEEDED = 7, TMF_REJECTED = 255,
};

/* A TMF that waits for the tasks it aborted: answered once the SCSI core
 * is done with them (its done runs on this connection's loop). */
struct tmf_pending {
	struct iscsi_conn *conn;    /* holds a reference */
	uint32_t itt;
	bool close;                 /* TARGET COLD RESET: the connection ends after */
};

static void tmf_pending_done(void *arg)
{
	struct tmf_pending *r = arg;
	if (r->conn->phase == CONN_FULL_FEATURE) {
		iscsi_send_tmf_rsp(r->conn, r->itt, TMF_COMPLETE);
		/* RFC 7143 §11.5.1: after a TARGET COLD RESET the target
		 * drops its connections. */
		if (r->close)
			iscsi_conn_close_after_tx(r->conn, "target cold reset");
	}
	iscsi_conn_put(r->conn);
	free(r);
}

/* The core's task-set functions, each answered in tmf_pending_done. */
enum tmf_scope { SCOPE_TASK_SET, SCOPE_LU, SCOPE_NEXUS, SCOPE_TARGET };

static int tmf_start(struct iscsi_session *s, enum tmf_scope scope, uint16_t lun,
		     struct tmf_pending *r)
{
	switch (scope) {
	case SCOPE_TASK_SET:
		return scsi_abort_task_set(&s->nexus, lun, tmf_pending_done, r);
	case SCOPE_LU:
		return scsi_lu_reset(&s->nexus, lun, tmf_pending_done, r);
	case SCOPE_NEXUS:
		return scsi_it_nexus_reset(&s->nexus, tmf_pending_done, r);
	case SCOPE_TARGET:
		return scsi_target_reset(&s->nexus, r->close, tmf_pending_done, r);
	}
	return -EINVAL;
}

static void handle_task_set_tmf(struct iscsi_conn *conn, const struct iscsi_hdr *h,
				enum tmf_scope scope, uint16_t lun, bool close)
{
	struct tmf_pending *r = malloc(sizeof(*r));
	if (!r) {
		iscsi_send_tmf_rsp(conn, h->itt, TMF_REJECTED);
		return;
	}
	*r = (struct tmf_pending){ .conn = conn, .itt = h->itt, .close = close };
	iscsi_conn_get(conn);
	int err = tmf_start(conn->session, scope, lun, r);
	if (err == 0)
		return;
	iscsi_conn_put(conn);
	free(r);
	if (err == -EPERM)
		log_info_limited("connection %s: target reset refused: other initiators use the target",
				 conn->peer_text);
	iscsi_send_tmf_rsp(conn, h->itt, err == -EPERM ? TMF_AUTH_FAILED : TMF_REJECTED);
}

/* Whether the session has a task for lun (itt: only that one, else any)
 * the initiator has not seen the end of: SAM-5 7.9, 7.10. */
static bool session_has_task(struct iscsi_session *s, int lun, bool any, uint32_t itt)
{
	for (unsigned b = 0; b < ISCSI_ITT_BUCKETS; b++)
		for (struct iscsi_task *t = s->tasks[b]; t; t = t->hnext)
			if (scsi_lun_decode(t->lun) == lun && (any || t->itt == itt))
				return true;
	return false;
}

static void handle_abort_task(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	struct iscsi_task *t = iscsi_session_find_task(conn->session, h->tmf.ref_itt);
	if (!t) {
		/* RFC 7143 §11.6.1: a command still to come (RefCmdSN in the
		 * window, before the TMF) is aborted by counting it received;
		 * one already answered, or never sent, does not exist. */
		bool pending = iscsi_session_abort_cmdsn(conn->session, h->tmf.ref_cmdsn, h->tmf.cmdsn);
		iscsi_send_tmf_rsp(conn, h->itt, pending ? TMF_COMPLETE : TMF_NO_TASK);
		return;
	}
	if (iscsi_task_abort(t, h->itt))
		iscsi_send_tmf_rsp(conn, h->itt, TMF_COMPLETE);
}

static void handle_tmf(struct iscsi_conn *conn, const struct iscsi_hdr *h)
{
	struct iscsi_session *s = conn->session;
	uint8_t function = h->tmf.function & 0x7f;
	int lun = scsi_lun_decode(h->lun);
	int target_lun = scsi_nexus_target_lun(&s->nexus, lun);
	bool lun_exists = target_lun >= 0 && scsi_target_lun_map(s->nexus.target)->lus[target_lun];
	/* The functions addressed to one LU (SAM-5 7.1) need it to exist. */
	switch (function) {
	case TMF_ABORT_TASK_SET: case TMF_CLEAR_ACA: case TMF_CLEAR_TASK_SET: case TMF_LUN_RESET:
	case TMF_QUERY_TASK: case TMF_QUERY_TASK_SET: case TMF_QUERY_ASYNC_EVENT:
		if (!lun_exists) {
			iscsi_send_tmf_rsp(conn, h->itt, TMF_NO_LUN);
			return;
		}
		break;
	default:
		break;
	}
	switch (function) {
	case TMF_ABORT_TASK:
		handle_abort_task(conn, h);
		return;
	case TMF_ABORT_TASK_SET:
	case TMF_CLEAR_TASK_SET:
		/* The Control page's TST 001b: the task set is this I_T
		 * nexus's, so CLEAR TASK SET aborts what ABORT TASK SET does
		 * and no other nexus is told (SAM-5 7.5). */
		handle_task_set_tmf(conn, h, SCOPE_TASK_SET, (uint16_t)lun, false);
		return;
	case TMF_CLEAR_ACA:
		/* lunard refuses NACA=1 in every CDB, so no ACA condition ever
		 * exists: there is nothing to clear (SAM-5 7.3, 5.9). */
		iscsi_send_tmf_rsp(conn, h->itt, TMF_COMPLETE);
		return;
	case TMF_LUN_RESET:
		log_info_limited("connection %s: LOGICAL UNIT RESET of LUN %d", conn->peer_text, lun);
		handle_task_set_tmf(conn, h, SCOPE_LU, (uint16_t)lun, false);
		return;
	case TMF_TARGET_WARM_RESET:
	case TMF_TARGET_COLD_RESET:
		log_info_limited("connection %s: TARGET %s RESET", conn->peer_text,
				 function == TMF_TARGET_COLD_RESET ? "COLD" : "WARM");
		handle_task_set_tmf(conn, h, SCOPE_TARGET, 0, function == TMF_TARGET_COLD_RESET);
		return;
	case TMF_IT_NEXUS_RESET:
		log_info_limited("connection %s: I_T NEXUS RESET", conn->peer_text);
		handle_task_set_tmf(conn, h, SCOPE_NEXUS, 0, false);
		return;
	case TMF_QUERY_TASK:
		/* SAM-5 7.9, RFC 7143 §11.6.1: FUNCTION SUCCEEDED when the task
		 * is in the task set, FUNCTION COMPLETE when it is not. */
		iscsi_send_tmf_rsp(conn, h->itt,
				   session_has_task(s, lun, false, h->tmf.ref_itt) ? TMF_SUCCEEDED
										  : TMF_COMPLETE);
		return;
	case TMF_QUERY_TASK_SET:
		iscsi_send_tmf_rsp(conn, h->itt,
				   session_has_task(s, lun, true, 0) ? TMF_SUCCEEDED : TMF_COMPLETE);
		return;
	case TMF_QUERY_ASYNC_EVENT:
		/* SAM-5 7.11: FUNCTION SUCCEEDED when a unit attention is
		 * pending (lunard reports no deferred errors). */
		iscsi_send_tmf_rsp(conn, h->itt,
				   scsi_ua_pending(&s->nexus, (uint16_t)lun) ? TMF_SUCCEEDED
									     : TMF_COMPLETE);
		return;
	default:
		/* TASK REASSIGN needs ErrorRecoveryLevel 2 (RFC 7143 §11.5.1). */
		log_info_limited("connection %s: task management function %u not supported",
				 conn->peer_text, function);
		iscsi_send_tmf_rsp(conn, h->itt, TMF_NOT_SUPPORTED);
		return;
	}
}

void iscsi_ffp_handle(struct iscsi_conn *conn, const struct iscsi_hdr *h,
		      const uint8_t *data, uint32_t len)
{
	switch (h->opcode) {
	case ISCSI_OP_NOP_OUT:
		handle_nop_out(conn, h, data, len);
		break;
	case ISCSI_OP_TEXT_REQ:
		handle_text(conn, h, data, len);
		break;
	case ISCSI_OP_LOGOUT_REQ:
		handle_logout(conn, h);
		break;
	case ISCSI_OP_TMF_REQ:
		handle_tmf(conn, h);
		break;
	default:
		iscsi_ffp_reject(conn, ISCSI_REJECT_CMD_NOT_SUPPORTED);
		break;
	}
}
