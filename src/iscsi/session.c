/* Sessions: the table shared with the control plane, and each session's
 * connections, window and tasks, which only its own loop touches. */
#include "iscsi/session.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/conn.h"
#include "iscsi/reply.h"
#include "iscsi/task.h"
#include "iscsi/transport_stats.h"
#include "util/escape.h"
#include "util/log.h"

/* The table of live sessions. Control plane inserts (login) and asks for
 * reinstatement; each session is unlinked and freed by its own loop. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct iscsi_session *table;
static uint16_t next_tsih = 1;
static uint64_t next_id = 1;

struct kill_request {
	struct loop_msg msg;
	uint64_t id;
};

static struct iscsi_session *table_find_id(uint64_t id)
{
	for (struct iscsi_session *s = table; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static bool table_tsih_used(uint16_t tsih)
{
	for (struct iscsi_session *s = table; s; s = s->next)
		if (s->tsih == tsih)
			return true;
	return false;
}

/* A TSIH no live session has, or 0 when all 65535 are taken. */
static uint16_t table_alloc_tsih(void)
{
	/* TSIH 0 means "new session" on the wire (RFC 7143 §11.12.6). */
	for (unsigned tries = 0; tries < UINT16_MAX; tries++) {
		if (next_tsih == 0)
			next_tsih = 1;
		uint16_t tsih = next_tsih++;
		if (!table_tsih_used(tsih))
			return tsih;
	}
	return 0;
}

/* Runs on the old session's loop: only that loop frees it, so finding it
 * in the table under the lock means it is still there to close. Each
 * round closes one connection living here, which may end the session; a
 * closing one stays listed until its receive in flight completes, so it
 * is passed over. */
static void kill_on_owner(struct loop_msg *msg)
{
	struct kill_request *req = (struct kill_request *)msg;
	for (;;) {
		struct iscsi_conn *conn = NULL;
		pthread_mutex_lock(&table_lock);
		struct iscsi_session *s = table_find_id(req->id);
		for (struct iscsi_conn *c = s ? s->conns : NULL; c; c = c->session_next) {
			if (c->loop == s->loop && c->phase != CONN_CLOSING)
				conn = c;
			else
				s->killed = true; /* closed when it arrives here */
		}
		pthread_mutex_unlock(&table_lock);
		if (!conn)
			break;
		iscsi_conn_close(conn, "session reinstated");
	}
	free(req);
}

static void request_kill(struct iscsi_session *old)
{
	struct kill_request *req = calloc(1, sizeof(*req));
	if (!req)
		return;
	req->id = old->id;
	req->msg.fn = kill_on_owner;
	loop_post(old->loop, &req->msg);
}

static void format_initiator_port(char *out, size_t cap, const char *name, const uint8_t isid[6])
{
	/* SCSI initiator port name for iSCSI (RFC 7143 §10.1.2 via SAM-5). */
	snprintf(out, cap, "%s,i,0x%02x%02x%02x%02x%02x%02x", name, isid[0], isid[1],
		 isid[2], isid[3], isid[4], isid[5]);
}

/* Is old the live normal session a new one for target, isid and name
 * reinstates (RFC 7143 §6.3.5: same initiator name, ISID and target)?
 * Under table_lock. */
/* RFC 7143 §4.4.3: a session is named by the initiator, the target and
 * its SSID (ISID and TPGT): the same ISID through another portal group is
 * another session, and another I_T nexus. */
static bool session_same_nexus(const struct iscsi_session *old, const void *target, uint16_t tpgt,
			       const uint8_t isid[6], const char *initiator_name)
{
	return !old->discovery && old->target == target && old->nexus.rel_port == tpgt &&
	       memcmp(old->isid, isid, sizeof(old->isid)) == 0 && strcmp(old->initiator_name, initiator_name) == 0;
}

/* Only whoever proved the old session's credentials may end it: a login
 * that authenticated as another CHAP user (or without CHAP, against a
 * session that used it) is refused. RFC 7143 §11.13.5: 0202 is for an
 * initiator that authenticated but is not allowed what it asks for. */
static bool session_may_reinstate(const struct iscsi_login *lg, uint16_t tpgt)
{
	bool ok = true;
	pthread_mutex_lock(&table_lock);
	for (const struct iscsi_session *old = table; old; old = old->next) {
		if (session_same_nexus(old, lg->target, tpgt, lg->isid, lg->initiator_name) &&
		    strcmp(old->chap_user, lg->chap_user) != 0) {
			char who[LOG_ESCAPE_BUF], user[LOG_ESCAPE_BUF], owner[LOG_ESCAPE_BUF];
			log_warn_limited("session %s tsih %u: a login as CHAP user \"%s\" may not reinstate it (\"%s\")",
				 log_escape_str(who, sizeof(who), old->initiator_name), old->tsih,
				 log_escape_str(user, sizeof(user), lg->chap_user),
				 log_escape_str(owner, sizeof(owner), old->chap_user));
			ok = false;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return ok;
}

uint16_t iscsi_session_bind(struct iscsi_conn *conn, struct iscsi_login *lg, uint16_t *tsih)
{
	const struct iscsi_host *host = conn->host;
	if (lg->tsih != 0) {
		/* Adding a connection to an existing session: MaxConnections=1,
		 * and ERL 0 has no connection recovery. */
		pthread_mutex_lock(&table_lock);
		bool exists = table_tsih_used(lg->tsih);
		pthread_mutex_unlock(&table_lock);
		return exists ? ISCSI_LOGIN_TOO_MANY_CONNECTIONS : ISCSI_LOGIN_SESSION_DOES_NOT_EXIST;
	}
	/* The last gate before a session exists: the login authorized the
	 * initiator once its CHAP exchange was over (login.c); here, whether
	 * it may end a session of that name, and what the nexus will see. */
	struct scsi_lun_view *view = NULL;
	if (!lg->discovery) {
		if (!session_may_reinstate(lg, conn->login_env.tpgt))
			return ISCSI_LOGIN_NOT_AUTHORIZED;
		if (host->lun_view(lg->target, lg->initiator_name, &view) < 0)
			return ISCSI_LOGIN_OUT_OF_RESOURCES;
	}
	struct iscsi_session *s = calloc(1, sizeof(*s));
	if (!s) {
		scsi_lun_view_put(view);
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	}
	memcpy(s->isid, lg->isid, sizeof(s->isid));
	snprintf(s->chap_user, sizeof(s->chap_user), "%s", lg->chap_user);
	snprintf(s->initiator_name, sizeof(s->initiator_name), "%s", lg->initiator_name);
	snprintf(s->target_name, sizeof(s->target_name), "%s", lg->target_name);
	s->discovery = lg->discovery;
	/* The session takes over the login's reference to its target. */
	s->target = lg->target;
	lg->target = NULL;
	s->host = host;
	s->params = lg->params;
	s->exp_cmdsn = lg->cmdsn;
	s->window = host->cmd_window;
	s->max_cmdsn = lg->cmdsn + s->window - 1;
	s->max_cmdsn_told = s->max_cmdsn;
	s->data_share = host->conn_limits.session_data_bytes;
	/* One reference while the session lives (see session_end), one for
	 * its first connection. */
	s->refs = 2;
	conn->cid = lg->cid;
	s->conns = conn;
	s->nconns = 1;
	s->loop = s->discovery ? conn->loop : host->pick_dataplane();
	if (!s->discovery) {
		char port[sizeof(s->nexus.initiator_port)];
		format_initiator_port(port, sizeof(port), s->initiator_name, s->isid);
		/* The target port is the portal group logged in through. */
		scsi_nexus_init_port(&s->nexus, host->scsi_target(s->target), conn->login_env.tpgt, port,
				     s->loop, &iscsi_nexus_ops);
		scsi_nexus_set_view(&s->nexus, view);
		char who[LOG_ESCAPE_BUF];
		if (scsi_nexus_replace(&s->nexus) < 0)
			log_error("session %s: out of memory: it may not wait for the commands of the session it replaces",
				  log_escape_str(who, sizeof(who), s->initiator_name));
	}

	pthread_mutex_lock(&table_lock);
	uint16_t new_tsih = table_alloc_tsih();
	if (new_tsih == 0) {
		pthread_mutex_unlock(&table_lock);
		log_warn_limited("connection %s: every TSIH is in use, login refused", conn->peer_text);
		if (!s->discovery)
			scsi_nexus_fini(&s->nexus);
		/* The login keeps its target reference and drops it as usual. */
		lg->target = s->target;
		free(s);
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	}
	/* Reinstatement (RFC 7143 §6.3.5): same initiator, ISID and target.
	 * Its commands in flight finish or abort before the new session's
	 * run: the same initiator port, the new nexus waits (scsi_nexus_replace). */
	for (struct iscsi_session *old = table; old; old = old->next) {
		if (!s->discovery && session_same_nexus(old, s->target, s->nexus.rel_port, s->isid, s->initiator_name)) {
			char who[LOG_ESCAPE_BUF];
			log_info("session %s tsih %u: reinstated by a new login",
				 log_escape_str(who, sizeof(who), old->initiator_name), old->tsih);
			request_kill(old);
		}
	}
	s->id = next_id++;
	s->tsih = new_tsih;
	s->next = table;
	table = s;
	pthread_mutex_unlock(&table_lock);
	iscsi_stats_session_opened(s->discovery);

	conn->session = s;
	*tsih = s->tsih;
	return ISCSI_LOGIN_SUCCESS;
}

void iscsi_session_get(struct iscsi_session *s)
{
	s->refs++;
}

static void table_remove(struct iscsi_session *s)
{
	pthread_mutex_lock(&table_lock);
	for (struct iscsi_session **pp = &table; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			iscsi_stats_session_closed(s->discovery);
			break;
		}
	}
	pthread_mutex_unlock(&table_lock);
}

void iscsi_session_put(struct iscsi_session *s)
{
	if (--s->refs > 0)
		return;
	if (!s->discovery) {
		scsi_nexus_fini(&s->nexus);
		s->host->put_target(s->target);
	}
	while (s->held) {
		struct iscsi_held_pdu *p = s->held;
		s->held = p->next;
		free(p);
	}
	char who[LOG_ESCAPE_BUF];
	log_debug("session %s tsih %u: freed", log_escape_str(who, sizeof(who), s->initiator_name),
		  s->tsih);
	free(s);
}

/* The session is over for the initiator: no login can find or reinstate
 * it. Tasks still executing keep it (and its nexus) until they finish. */
static void session_end(struct iscsi_session *s)
{
	table_remove(s);
	char who[LOG_ESCAPE_BUF], what[LOG_ESCAPE_BUF];
	const struct log_fields f = {
		.initiator = log_escape_str(who, sizeof(who), s->initiator_name),
		.target = s->discovery ? NULL : log_escape_str(what, sizeof(what), s->target_name),
	};
	log_msg_fields(LL_INFO, &f, "session %s tsih %u%s: closed", f.initiator, s->tsih,
		       s->discovery ? " (discovery)" : "");
	iscsi_session_put(s);
}

void iscsi_session_remove_conn(struct iscsi_session *s, struct iscsi_conn *conn)
{
	pthread_mutex_lock(&table_lock);
	for (struct iscsi_conn **pp = &s->conns; *pp; pp = &(*pp)->session_next) {
		if (*pp == conn) {
			*pp = conn->session_next;
			s->nconns--;
			break;
		}
	}
	unsigned left = s->nconns;
	pthread_mutex_unlock(&table_lock);
	/* ERL 0: the last connection gone ends the session. At ERL 2 this is
	 * where time2retain_timer would be armed instead. */
	if (left == 0)
		session_end(s);
}

void iscsi_session_foreach_on(struct loop *loop, void (*fn)(const struct iscsi_session *s, void *arg), void *arg)
{
	pthread_mutex_lock(&table_lock);
	for (const struct iscsi_session *s = table; s; s = s->next)
		if (s->loop == loop)
			fn(s, arg);
	pthread_mutex_unlock(&table_lock);
}

unsigned iscsi_session_count(void)
{
	unsigned n = 0;
	pthread_mutex_lock(&table_lock);
	for (struct iscsi_session *s = table; s; s = s->next)
		n++;
	pthread_mutex_unlock(&table_lock);
	return n;
}

/* Commands accepted but unanswered use window slots, so the initiator
 * can never have more than 'window' commands in the target. Called after
 * every change of ExpCmdSN or of the active count; never moves back. */
static void window_update(struct iscsi_session *s)
{
	/* A session with its share of task memory claimed gets no new slots
	 * until a task ends: its initiator sends fewer commands, rather than
	 * lunard answering BUSY to data already on the wire or making every
	 * other session wait for chunks. */
	if (s->data_share && s->data_claimed >= s->data_share)
		return;
	unsigned free_slots = s->active < s->window ? s->window - s->active : 0;
	uint32_t candidate = s->exp_cmdsn + free_slots - 1;
	if (iscsi_sn_lt(s->max_cmdsn, candidate))
		s->max_cmdsn = candidate;
}

void iscsi_session_cmd_done(struct iscsi_session *s)
{
	s->active--;
	window_update(s);
	/* A slot frees only once the response has left, so the last PDU the
	 * initiator got may have closed the window (MaxCmdSN = ExpCmdSN - 1)
	 * with nothing left to send that would open it again: an unsolicited
	 * NOP-In carries the new MaxCmdSN (RFC 7143 §4.2.2.1, §11.19). */
	struct iscsi_conn *conn = s->conns;
	if (iscsi_sn_lt(s->max_cmdsn_told, s->exp_cmdsn) && !iscsi_sn_lt(s->max_cmdsn, s->exp_cmdsn) &&
	    conn && conn->phase == CONN_FULL_FEATURE && !conn->handoff_pending)
		iscsi_reply_nop_in(conn, ISCSI_RSVD_TAG);
}

uint32_t iscsi_session_tell_max_cmdsn(struct iscsi_session *s, bool ending)
{
	uint32_t max = s->max_cmdsn;
	if (ending && s->active > 0 && s->active <= s->window) {
		uint32_t after = s->exp_cmdsn + (s->window - s->active + 1) - 1;
		if (iscsi_sn_lt(max, after))
			max = after;
	}
	if (iscsi_sn_lt(s->max_cmdsn_told, max))
		s->max_cmdsn_told = max;
	return s->max_cmdsn_told;
}

bool iscsi_session_window_full(const struct iscsi_session *s)
{
	return s->active + s->nheld >= s->window;
}

/* Only the PDUs iscsi_session_admit is called for carry a CmdSN. */
static uint32_t hdr_cmdsn(const struct iscsi_hdr *h)
{
	switch (h->opcode) {
	case ISCSI_OP_SCSI_CMD: return h->cmd.cmdsn;
	case ISCSI_OP_NOP_OUT: return h->nop_out.cmdsn;
	case ISCSI_OP_TMF_REQ: return h->tmf.cmdsn;
	case ISCSI_OP_TEXT_REQ: return h->text.cmdsn;
	default: return h->logout.cmdsn;
	}
}

bool iscsi_session_admit(struct iscsi_session *s, const struct iscsi_hdr *h, bool *hold)
{
	uint32_t cmdsn = hdr_cmdsn(h);
	*hold = false;
	/* RFC 7143 §4.2.2.1: a non-immediate command outside [ExpCmdSN,
	 * MaxCmdSN] is silently ignored, the next in order too when the
	 * window is closed. The MaxCmdSN told may run one slot ahead while a
	 * status PDU that announced its command's slot is still leaving. An
	 * immediate command's CmdSN may lie outside: the count of commands
	 * held bounds it (iscsi_session_window_full). */
	uint32_t max = iscsi_sn_lt(s->max_cmdsn, s->max_cmdsn_told) ? s->max_cmdsn_told : s->max_cmdsn;
	if (!h->immediate && (iscsi_sn_lt(cmdsn, s->exp_cmdsn) || iscsi_sn_lt(max, cmdsn))) {
		char who[LOG_ESCAPE_BUF];
		log_debug("session %s tsih %u: CmdSN %u outside window [%u, %u], dropped",
			  log_escape_str(who, sizeof(who), s->initiator_name), s->tsih, cmdsn,
			  s->exp_cmdsn, max);
		return false;
	}
	if (h->immediate || cmdsn == s->exp_cmdsn) {
		if (!h->immediate)
			s->exp_cmdsn++;
		/* A command is in the target from the moment it is accepted. */
		if (h->opcode == ISCSI_OP_SCSI_CMD)
			s->active++;
		window_update(s);
		return true;
	}
	*hold = true;
	return false;
}

static uint32_t held_cmdsn(const struct iscsi_held_pdu *p)
{
	return hdr_cmdsn(&p->hdr);
}

void iscsi_session_hold(struct iscsi_session *s, struct iscsi_held_pdu *p)
{
	struct iscsi_held_pdu **pp = &s->held;
	while (*pp && iscsi_sn_lt(held_cmdsn(*pp), held_cmdsn(p)))
		pp = &(*pp)->next;
	if (*pp && held_cmdsn(*pp) == held_cmdsn(p)) {
		/* A duplicate CmdSN: keep the first one. */
		free(p);
		return;
	}
	p->next = *pp;
	*pp = p;
	s->nheld++;
	s->held_bytes += p->hdr.data_len;
}

bool iscsi_session_abort_cmdsn(struct iscsi_session *s, uint32_t ref_cmdsn, uint32_t tmf_cmdsn)
{
	if (iscsi_sn_lt(ref_cmdsn, s->exp_cmdsn) || iscsi_sn_lt(s->max_cmdsn, ref_cmdsn) ||
	    !iscsi_sn_lt(ref_cmdsn, tmf_cmdsn))
		return false;
	for (struct iscsi_held_pdu *p = s->held; p; p = p->next) {
		if (hdr_cmdsn(&p->hdr) == ref_cmdsn) {
			p->aborted = true;
			return true;
		}
	}
	/* Not arrived yet: a placeholder takes its turn; the real command,
	 * if it comes, is then a duplicate or below ExpCmdSN and dropped. */
	struct iscsi_held_pdu *p = calloc(1, sizeof(*p));
	if (!p)
		return false;
	p->aborted = true;
	p->hdr.opcode = ISCSI_OP_SCSI_CMD;
	p->hdr.cmd.cmdsn = ref_cmdsn;
	iscsi_session_hold(s, p);
	return true;
}

struct iscsi_held_pdu *iscsi_session_next_held(struct iscsi_session *s)
{
	struct iscsi_held_pdu *p = s->held;
	if (!p || held_cmdsn(p) != s->exp_cmdsn)
		return NULL;
	s->held = p->next;
	s->nheld--;
	s->held_bytes -= p->hdr.data_len;
	s->exp_cmdsn++;
	if (p->hdr.opcode == ISCSI_OP_SCSI_CMD && !p->aborted)
		s->active++;
	window_update(s);
	return p;
}

static unsigned itt_bucket(uint32_t itt)
{
	return (itt ^ (itt >> 8) ^ (itt >> 16) ^ (itt >> 24)) % ISCSI_ITT_BUCKETS;
}

struct iscsi_task *iscsi_session_find_task(const struct iscsi_session *s, uint32_t itt)
{
	for (struct iscsi_task *t = s->tasks[itt_bucket(itt)]; t; t = t->hnext)
		if (t->itt == itt)
			return t;
	return NULL;
}

void iscsi_session_add_task(struct iscsi_session *s, struct iscsi_task *t)
{
	struct iscsi_task **head = &s->tasks[itt_bucket(t->itt)];
	t->hnext = *head;
	*head = t;
	s->ntasks++;
}

void iscsi_session_remove_task(struct iscsi_session *s, struct iscsi_task *t)
{
	for (struct iscsi_task **pp = &s->tasks[itt_bucket(t->itt)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			s->ntasks--;
			return;
		}
	}
}

uint32_t iscsi_session_new_ttt(struct iscsi_session *s)
{
	/* 0xffffffff means "no tag" on the wire (RFC 7143 §11.8.1). */
	if (++s->next_ttt == ISCSI_RSVD_TAG)
		s->next_ttt = 1;
	return s->next_ttt;
}
