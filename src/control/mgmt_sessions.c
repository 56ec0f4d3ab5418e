/* session.list: a snapshot of the sessions gathered from every loop
 * (iscsi/session_list.h), answered once each loop has replied. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/mgmt_methods.h"
#include "iscsi/session_list.h"

struct session_ask {
	struct mgmt_call *call;
	char *target;               /* only this target's sessions; NULL: all */
};

/* RFC 7143 §11.12.5: the ISID as 6 bytes in hex, as initiators show it. */
static json_t *isid_json(const uint8_t isid[6])
{
	char text[13];
	snprintf(text, sizeof(text), "%02x%02x%02x%02x%02x%02x", isid[0], isid[1], isid[2], isid[3], isid[4],
		 isid[5]);
	return json_string(text);
}

static json_t *conn_json(const struct iscsi_conn_info *c)
{
	return json_pack("{s:i, s:s, s:s, s:b, s:b, s:i, s:i}", "cid", c->cid, "address", c->peer, "portal",
			 c->local, "header_digest", c->header_digest, "data_digest", c->data_digest,
			 "max_recv_data_segment_length", (int)c->max_recv_dsl, "max_send_data_segment_length",
			 (int)c->max_send_dsl);
}

/* The session-wide keys of RFC 7143 §13 as negotiated. */
static json_t *params_json(const struct iscsi_params *p)
{
	return json_pack("{s:i, s:b, s:b, s:i, s:i, s:i, s:i, s:i, s:b, s:b, s:i}", "max_connections",
			 (int)p->max_connections, "initial_r2t", p->initial_r2t, "immediate_data", p->immediate_data,
			 "max_burst_length", (int)p->max_burst, "first_burst_length", (int)p->first_burst,
			 "default_time2wait", (int)p->default_time2wait, "default_time2retain",
			 (int)p->default_time2retain, "max_outstanding_r2t", (int)p->max_outstanding_r2t,
			 "data_pdu_in_order", p->data_pdu_in_order, "data_sequence_in_order", p->data_seq_in_order,
			 "error_recovery_level", p->erl);
}

static json_t *session_json(const struct iscsi_session_info *s)
{
	json_t *conns = json_array();
	for (unsigned i = 0; conns && i < s->nconns && i < ISCSI_SESSION_INFO_CONNS; i++)
		json_array_append_new(conns, conn_json(&s->conns[i]));
	return json_pack("{s:i, s:o, s:s, s:s?, s:s?, s:s, s:i, s:o, s:o, s:I, s:I, s:i, s:i}", "tsih", s->tsih,
			 "isid", isid_json(s->isid), "initiator", s->initiator, "target",
			 s->discovery ? NULL : s->target, "chap_user", s->chap_user[0] ? s->chap_user : NULL, "type",
			 s->discovery ? "discovery" : "normal", "thread", s->thread, "connections", conns, "params",
			 params_json(&s->params), "exp_cmdsn", (json_int_t)s->exp_cmdsn, "max_cmdsn",
			 (json_int_t)s->max_cmdsn, "tasks", (int)s->tasks, "active", (int)s->active);
}

static void on_sessions(struct iscsi_session_list *list, int err, void *arg)
{
	struct session_ask *ask = arg;
	if (err) {
		mgmt_call_error(ask->call, MGMT_ERR_INTERNAL, NULL, "out of memory");
	} else {
		json_t *out = json_array();
		for (size_t i = 0; out && i < list->n; i++)
			if (!ask->target || strcmp(ask->target, list->v[i].target) == 0)
				json_array_append_new(out, session_json(&list->v[i]));
		mgmt_call_result(ask->call, out);
	}
	iscsi_session_list_free(list);
	free(ask->target);
	free(ask);
}

void mgmt_session_list(struct mgmt_call *call, json_t *params, void *ctx)
{
	const struct mgmt_env *env = ctx;
	const char *target = NULL;
	if (mgmt_param_string(call, params, "target", false, &target) < 0)
		return;
	struct session_ask *ask = calloc(1, sizeof(*ask));
	if (ask) {
		ask->call = call;
		ask->target = target ? strdup(target) : NULL;
	}
	if (!ask || (target && !ask->target) ||
	    iscsi_session_list_gather(env->control, env->loops, env->nloops, on_sessions, ask) < 0) {
		if (ask)
			free(ask->target);
		free(ask);
		mgmt_call_error(call, MGMT_ERR_INTERNAL, NULL, "out of memory");
	}
}
