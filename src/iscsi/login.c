/* Login phase state machine (RFC 7143 §6.3, §11.12, §11.13). Keys go to the
 * negotiation table in params.c; this file owns stages, continuation,
 * identity checks and sequence numbers. */
#include "iscsi/login.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "iscsi/textkv.h"

/* RFC 7143 §13 MaxRecvDataSegmentLength: its default, 8192, holds for
 * every Login PDU, whatever is declared. */
#define LOGIN_PDU_DATA_MAX 8192u
/* Text accumulated over Login Requests with C=1, and our answer to it. */
#define LOGIN_TEXT_MAX 65536u
#define LOGIN_PAIRS_MAX 512u
#define LOGIN_NAME_LEN_MAX (ISCSI_NAME_MAX - 1)

struct iscsi_login_priv {
	struct iscsi_neg neg;
	bool started;            /* the first request has fixed ISID, TSIH, CID, versions */
	bool finished;           /* a final or a reject response was built */
	bool identity_checked;   /* the first complete request was processed */
	uint8_t version_max, version_min;
	uint32_t next_statsn;
	/* initiator continuation, RFC 7143 §6.3 C bit */
	uint8_t req_text[LOGIN_TEXT_MAX];
	size_t req_len;
	/* our answer, sent in parts when it exceeds one PDU */
	uint8_t rsp_text[LOGIN_TEXT_MAX];
	size_t rsp_len, rsp_sent;
	bool rsp_transit;        /* the answer ends with a stage transition */
	uint8_t rsp_nsg;
	struct iscsi_text_pair pairs[LOGIN_PAIRS_MAX];
};

int iscsi_login_init(struct iscsi_login *lg, const struct iscsi_login_env *env)
{
	uint32_t statsn = 0;

	memset(lg, 0, sizeof(*lg));
	lg->env = env;
	lg->priv = calloc(1, sizeof(*lg->priv));
	if (!lg->priv)
		return -ENOMEM;
	/* RFC 7143 §11.13.4: the target chooses the connection's first StatSN. */
	if (getrandom(&statsn, sizeof(statsn), GRND_NONBLOCK) != sizeof(statsn))
		statsn = 1;
	lg->priv->next_statsn = statsn;
	lg->stage = ISCSI_STAGE_SECURITY;
	iscsi_params_default(&lg->params);
	iscsi_neg_init(&lg->priv->neg, &env->limits, true);
	return 0;
}

void iscsi_login_fini(struct iscsi_login *lg)
{
	free(lg->priv);
	lg->priv = NULL;
}

void iscsi_login_set_initial_statsn(struct iscsi_login *lg, uint32_t statsn)
{
	lg->priv->next_statsn = statsn;
}

static void login_fill_rsp(struct iscsi_login *lg, const struct iscsi_hdr *req,
			   struct iscsi_login_rsp *r, uint16_t status)
{
	memset(r, 0, sizeof(*r));
	r->csg = req->login.csg;
	memcpy(r->isid, req->login.isid, sizeof(r->isid));
	r->tsih = req->login.tsih;
	r->itt = req->itt;
	/* RFC 7143 §11.13.4: every login response takes the next StatSN. */
	r->statsn = lg->priv->next_statsn++;
	lg->statsn = r->statsn;
	/* Login requests are immediate: CmdSN is not advanced (RFC 7143 §11.12). */
	r->exp_cmdsn = req->login.cmdsn;
	r->max_cmdsn = req->login.cmdsn + lg->env->cmd_window - 1;
	r->status = status;
}

static enum iscsi_login_result login_reject(struct iscsi_login *lg, const struct iscsi_hdr *req,
					    uint16_t status, uint8_t *rsp_bhs, size_t *rsp_len)
{
	struct iscsi_login_rsp r;

	login_fill_rsp(lg, req, &r, status);
	iscsi_build_login_rsp(rsp_bhs, &r);
	*rsp_len = 0;
	lg->priv->finished = true;
	return ISCSI_LOGIN_REJECTED;
}

static bool login_stage_valid(uint8_t stage)
{
	return stage == ISCSI_STAGE_SECURITY || stage == ISCSI_STAGE_OPERATIONAL ||
	       stage == ISCSI_STAGE_FULL_FEATURE;
}

/* RFC 7143 §11.12: what the BHS of each Login Request must satisfy. */
static uint16_t login_check_header(struct iscsi_login *lg, const struct iscsi_hdr *req)
{
	struct iscsi_login_priv *pv = lg->priv;

	if (pv->finished)
		return ISCSI_LOGIN_INITIATOR_ERROR;
	if (req->opcode != ISCSI_OP_LOGIN_REQ)
		return ISCSI_LOGIN_INVALID_DURING_LOGIN;
	if (!pv->started) {
		/* RFC 7143 §11.12: lunar speaks version 0x00 only. */
		if (req->login.version_min > 0)
			return ISCSI_LOGIN_UNSUPPORTED_VERSION;
		if (req->login.csg != ISCSI_STAGE_SECURITY && req->login.csg != ISCSI_STAGE_OPERATIONAL)
			return ISCSI_LOGIN_INITIATOR_ERROR;
		pv->started = true;
		pv->version_max = req->login.version_max;
		pv->version_min = req->login.version_min;
		memcpy(lg->isid, req->login.isid, sizeof(lg->isid));
		lg->tsih = req->login.tsih;
		lg->cid = req->login.cid;
		lg->stage = req->login.csg;
		pv->neg.leading = req->login.tsih == 0;
	} else if (memcmp(lg->isid, req->login.isid, sizeof(lg->isid)) != 0 ||
		   lg->tsih != req->login.tsih || lg->cid != req->login.cid ||
		   pv->version_max != req->login.version_max ||
		   pv->version_min != req->login.version_min) {
		/* RFC 7143 §11.12: these stay the same for the whole login. */
		return ISCSI_LOGIN_INITIATOR_ERROR;
	}
	if (req->login.csg != lg->stage)
		return ISCSI_LOGIN_INITIATOR_ERROR;
	if (req->login.transit && req->login.cont)
		return ISCSI_LOGIN_INITIATOR_ERROR;
	if (req->login.transit &&
	    (!login_stage_valid(req->login.nsg) || req->login.nsg <= req->login.csg))
		return ISCSI_LOGIN_INITIATOR_ERROR;
	return ISCSI_LOGIN_SUCCESS;
}

/* RFC 7143 §6.3: InitiatorName always, TargetName unless Discovery, both
 * in the first Login Request; TargetPortalGroupTag and TargetAlias are
 * then declared in the response to it (§13 TargetPortalGroupTag). */
static uint16_t login_check_identity(struct iscsi_login *lg, struct iscsi_text_buf *out)
{
	struct iscsi_neg *n = &lg->priv->neg;
	const struct iscsi_login_env *env = lg->env;
	const char *alias;

	if (n->initiator_name[0] == '\0')
		return ISCSI_LOGIN_MISSING_PARAMETER;
	if (strlen(n->initiator_name) > LOGIN_NAME_LEN_MAX ||
	    strlen(n->target_name) > LOGIN_NAME_LEN_MAX ||
	    strlen(n->initiator_alias) >= ISCSI_ALIAS_MAX)
		return ISCSI_LOGIN_INITIATOR_ERROR;
	strcpy(lg->initiator_name, n->initiator_name);
	strcpy(lg->initiator_alias, n->initiator_alias);
	strcpy(lg->target_name, n->target_name);
	lg->discovery = n->discovery;
	if (lg->discovery)
		return ISCSI_LOGIN_SUCCESS;
	if (n->target_name[0] == '\0')
		return ISCSI_LOGIN_MISSING_PARAMETER;
	lg->target = env->find_target(env->ctx, lg->target_name);
	if (!lg->target)
		return ISCSI_LOGIN_TARGET_NOT_FOUND;
	if (iscsi_text_append_u32(out, "TargetPortalGroupTag", env->tpgt))
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	alias = env->target_alias ? env->target_alias(env->ctx, lg->target) : NULL;
	if (alias && alias[0] && iscsi_text_append(out, "TargetAlias", alias))
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	return ISCSI_LOGIN_SUCCESS;
}

/* Answers one complete request text (all its C=1 parts) into rsp_text. */
static uint16_t login_answer(struct iscsi_login *lg, const struct iscsi_hdr *req)
{
	struct iscsi_login_priv *pv = lg->priv;
	struct iscsi_text_buf out;
	size_t npairs;
	uint16_t st;

	iscsi_text_buf_init(&out, pv->rsp_text, sizeof(pv->rsp_text));
	if (iscsi_text_parse(pv->req_text, pv->req_len, ISCSI_TEXT_LONG_VALUE_MAX, pv->pairs,
			     LOGIN_PAIRS_MAX, &npairs) != ISCSI_TEXT_OK)
		return ISCSI_LOGIN_INITIATOR_ERROR;
	st = iscsi_neg_answer(&pv->neg, lg->stage, pv->pairs, npairs, &out);
	if (st)
		return st;
	if (!pv->identity_checked) {
		st = login_check_identity(lg, &out);
		if (st)
			return st;
		pv->identity_checked = true;
	}
	pv->rsp_transit = req->login.transit;
	pv->rsp_nsg = req->login.nsg;
	/* Our MaxRecvDataSegmentLength is declared in the operational stage,
	 * or with the final response when the initiator skips that stage. */
	if ((lg->stage == ISCSI_STAGE_OPERATIONAL ||
	     (pv->rsp_transit && pv->rsp_nsg == ISCSI_STAGE_FULL_FEATURE)) &&
	    iscsi_neg_declare(&pv->neg, &out))
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	pv->rsp_len = out.len;
	pv->rsp_sent = 0;
	pv->req_len = 0;
	return ISCSI_LOGIN_SUCCESS;
}

/* Sends the next part of our answer; the last part carries the stage
 * transition, which needs T=1 in the request it answers (§11.13). */
static enum iscsi_login_result login_send_part(struct iscsi_login *lg, const struct iscsi_hdr *req,
					       uint8_t *rsp_bhs, uint8_t *rsp_data,
					       size_t rsp_cap, size_t *rsp_len)
{
	struct iscsi_login_priv *pv = lg->priv;
	struct iscsi_login_rsp r;
	size_t left = pv->rsp_len - pv->rsp_sent;
	size_t part = left;
	uint16_t tsih = lg->tsih;
	bool last;

	if (part > LOGIN_PDU_DATA_MAX)
		part = LOGIN_PDU_DATA_MAX;
	if (part > rsp_cap)
		part = rsp_cap;
	if (part == 0 && left > 0)
		return login_reject(lg, req, ISCSI_LOGIN_TARGET_ERROR, rsp_bhs, rsp_len);
	last = part == left;
	if (last && pv->rsp_transit && req->login.transit &&
	    pv->rsp_nsg == ISCSI_STAGE_FULL_FEATURE) {
		uint16_t st;

		iscsi_neg_finish(&pv->neg);
		lg->params = pv->neg.params;
		st = lg->env->bind_session(lg->env->ctx, lg, &tsih);
		if (st != ISCSI_LOGIN_SUCCESS)
			return login_reject(lg, req, st, rsp_bhs, rsp_len);
	}
	login_fill_rsp(lg, req, &r, ISCSI_LOGIN_SUCCESS);
	r.cont = !last;
	r.transit = last && pv->rsp_transit && req->login.transit;
	if (r.transit)
		r.nsg = pv->rsp_nsg;
	r.data_len = (uint32_t)part;
	memcpy(rsp_data, pv->rsp_text + pv->rsp_sent, part);
	pv->rsp_sent += part;
	*rsp_len = part;
	lg->params = pv->neg.params;
	if (!r.transit) {
		iscsi_build_login_rsp(rsp_bhs, &r);
		return ISCSI_LOGIN_CONTINUE;
	}
	lg->stage = r.nsg;
	if (r.nsg != ISCSI_STAGE_FULL_FEATURE) {
		iscsi_build_login_rsp(rsp_bhs, &r);
		return ISCSI_LOGIN_CONTINUE;
	}
	/* RFC 7143 §11.13.3: the TSIH goes in the final response. */
	r.tsih = tsih;
	lg->tsih = tsih;
	pv->finished = true;
	iscsi_build_login_rsp(rsp_bhs, &r);
	return ISCSI_LOGIN_DONE;
}

enum iscsi_login_result iscsi_login_step(struct iscsi_login *lg, const struct iscsi_hdr *req,
					 const uint8_t *data, size_t len,
					 uint8_t rsp_bhs[ISCSI_BHS_LEN], uint8_t *rsp_data,
					 size_t rsp_cap, size_t *rsp_len)
{
	struct iscsi_login_priv *pv = lg->priv;
	uint16_t st;

	*rsp_len = 0;
	st = login_check_header(lg, req);
	if (st)
		return login_reject(lg, req, st, rsp_bhs, rsp_len);
	lg->cmdsn = req->login.cmdsn;
	if (pv->rsp_sent < pv->rsp_len) {
		/* RFC 7143 §6.3: while the target continues, the initiator
		 * sends empty requests. */
		if (len != 0 || req->login.cont)
			return login_reject(lg, req, ISCSI_LOGIN_INITIATOR_ERROR, rsp_bhs, rsp_len);
		return login_send_part(lg, req, rsp_bhs, rsp_data, rsp_cap, rsp_len);
	}
	if (len > LOGIN_PDU_DATA_MAX)
		return login_reject(lg, req, ISCSI_LOGIN_INITIATOR_ERROR, rsp_bhs, rsp_len);
	if (len > sizeof(pv->req_text) - pv->req_len)
		return login_reject(lg, req, ISCSI_LOGIN_OUT_OF_RESOURCES, rsp_bhs, rsp_len);
	if (len)
		memcpy(pv->req_text + pv->req_len, data, len);
	pv->req_len += len;
	if (req->login.cont) {
		struct iscsi_login_rsp r;

		/* RFC 7143 §6.3: each part gets an empty response. */
		login_fill_rsp(lg, req, &r, ISCSI_LOGIN_SUCCESS);
		iscsi_build_login_rsp(rsp_bhs, &r);
		return ISCSI_LOGIN_CONTINUE;
	}
	st = login_answer(lg, req);
	if (st)
		return login_reject(lg, req, st, rsp_bhs, rsp_len);
	return login_send_part(lg, req, rsp_bhs, rsp_data, rsp_cap, rsp_len);
}
