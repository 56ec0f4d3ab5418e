#include "iscsi/session.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/conn.h"
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

static uint16_t table_alloc_tsih(void)
{
	/* TSIH 0 means "new session" on the wire (RFC 7143 §11.12.6). */
	for (;;) {
		uint16_t tsih = next_tsih++;
		if (tsih != 0 && !table_tsih_used(tsih))
			return tsih;
	}
}

/* Runs on the old session's loop: only that loop frees it, so finding it
 * in the table under the lock means it is still there to close. */
static void kill_on_owner(struct loop_msg *msg)
{
	struct kill_request *req = (struct kill_request *)msg;
	pthread_mutex_lock(&table_lock);
	struct iscsi_session *s = table_find_id(req->id);
	struct iscsi_conn *conn = s ? s->conn : NULL;
	pthread_mutex_unlock(&table_lock);
	/* A connection still on its way here is closed when it arrives. */
	if (conn && conn->loop == s->loop)
		iscsi_conn_close(conn, "session reinstated");
	else if (s)
		s->killed = true;
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
	struct iscsi_session *s = calloc(1, sizeof(*s));
	if (!s)
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	memcpy(s->isid, lg->isid, sizeof(s->isid));
	snprintf(s->initiator_name, sizeof(s->initiator_name), "%s", lg->initiator_name);
	snprintf(s->target_name, sizeof(s->target_name), "%s", lg->target_name);
	s->discovery = lg->discovery;
	s->target = lg->target;
	s->params = lg->params;
	s->exp_cmdsn = lg->cmdsn;
	s->window = host->cmd_window;
	s->max_cmdsn = lg->cmdsn + s->window - 1;
	s->conn = conn;
	s->cid = lg->cid;
	s->loop = s->discovery ? conn->loop : host->pick_dataplane();
	if (!s->discovery) {
		char port[sizeof(s->nexus.initiator_port)];
		format_initiator_port(port, sizeof(port), s->initiator_name, s->isid);
		scsi_nexus_init(&s->nexus, host->scsi_target(s->target), port);
	}

	pthread_mutex_lock(&table_lock);
	/* Reinstatement (RFC 7143 §6.3.5): same initiator, ISID and target. */
	for (struct iscsi_session *old = table; old; old = old->next) {
		if (!old->discovery && !s->discovery && old->target == s->target &&
		    memcmp(old->isid, s->isid, sizeof(s->isid)) == 0 &&
		    strcmp(old->initiator_name, s->initiator_name) == 0) {
			log_info("session %s tsih %u: reinstated by a new login",
				 old->initiator_name, old->tsih);
			request_kill(old);
		}
	}
	s->id = next_id++;
	s->tsih = table_alloc_tsih();
	s->next = table;
	table = s;
	pthread_mutex_unlock(&table_lock);

	conn->session = s;
	*tsih = s->tsih;
	return ISCSI_LOGIN_SUCCESS;
}

void iscsi_session_destroy(struct iscsi_session *s)
{
	pthread_mutex_lock(&table_lock);
	for (struct iscsi_session **pp = &table; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	pthread_mutex_unlock(&table_lock);
	if (!s->discovery)
		scsi_nexus_fini(&s->nexus);
	while (s->held) {
		struct iscsi_held_pdu *p = s->held;
		s->held = p->next;
		free(p);
	}
	log_info("session %s tsih %u%s: closed", s->initiator_name, s->tsih,
		 s->discovery ? " (discovery)" : "");
	free(s);
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

uint32_t iscsi_session_max_cmdsn(struct iscsi_session *s)
{
	/* Commands accepted but unanswered use window slots, so the initiator
	 * can never have more than 'window' commands in the target. */
	unsigned free_slots = s->active < s->window ? s->window - s->active : 0;
	uint32_t candidate = s->exp_cmdsn + free_slots - 1;
	if (iscsi_sn_lt(s->max_cmdsn, candidate))
		s->max_cmdsn = candidate;
	return s->max_cmdsn;
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
	if (h->immediate)
		return true;
	if (cmdsn == s->exp_cmdsn) {
		s->exp_cmdsn++;
		return true;
	}
	/* RFC 7143 §4.2.2.1: outside [ExpCmdSN, MaxCmdSN] is silently ignored. */
	if (iscsi_sn_lt(cmdsn, s->exp_cmdsn) || iscsi_sn_lt(s->max_cmdsn, cmdsn)) {
		log_debug("session %s tsih %u: CmdSN %u outside window [%u, %u], dropped",
			  s->initiator_name, s->tsih, cmdsn, s->exp_cmdsn, s->max_cmdsn);
		return false;
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
	s->exp_cmdsn++;
	return p;
}
