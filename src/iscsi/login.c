/* Login phase state machine (RFC 7143 §6.3, §11.12, §11.13). Keys go to the
 * negotiation table in params.c; this file owns stages, continuation,
 * identity checks, authentication (the CHAP exchange, RFC 7143 §12.1.3)
 * and sequence numbers. */
#include "iscsi/login.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "iscsi/chap.h"
#include "iscsi/textkv.h"
#include "util/macros.h"

/* RFC 7143 §13 MaxRecvDataSegmentLength: its default, 8192, holds for
 * every Login PDU, whatever is declared. */
#define LOGIN_PDU_DATA_MAX 8192u
/* Text accumulated over Login Requests with C=1, and our answer to it. */
#define LOGIN_TEXT_MAX 65536u
#define LOGIN_PAIRS_MAX 512u
#define LOGIN_NAME_LEN_MAX (ISCSI_NAME_MAX - 1)

/* The CHAP keys (RFC 7143 §12.1.3): not negotiated, so they bypass the
 * negotiation table. */
enum login_chap_key { CHAP_KEY_A, CHAP_KEY_I, CHAP_KEY_C, CHAP_KEY_N, CHAP_KEY_R, CHAP_NKEYS };

static const char *const login_chap_keys[CHAP_NKEYS] = {
	[CHAP_KEY_A] = "CHAP_A", [CHAP_KEY_I] = "CHAP_I", [CHAP_KEY_C] = "CHAP_C",
	[CHAP_KEY_N] = "CHAP_N", [CHAP_KEY_R] = "CHAP_R",
};

enum login_auth {
	AUTH_UNSETTLED,          /* no AuthMethod yet */
	AUTH_CHAP_WAIT_A,        /* AuthMethod=CHAP: CHAP_A comes next */
	AUTH_CHAP_WAIT_R,        /* our challenge is out: CHAP_N and CHAP_R come next */
	AUTH_SETTLED,            /* None, or CHAP verified */
};

struct iscsi_login_priv {
	struct iscsi_neg neg;
	bool started;            /* the first request has fixed ISID, TSIH, CID, versions */
	bool finished;           /* a final or a reject response was built */
	bool identified;         /* names checked and the target found */
	bool identity_declared;  /* TargetPortalGroupTag and TargetAlias sent */
	struct iscsi_target_limits target_limits; /* the target's own, when neg.limits points here */
	uint8_t version_max, version_min;
	/* authentication */
	enum login_auth auth;
	bool authorized;
	const struct chap_alg *chap_alg;
	struct chap_challenge chap_ours;
	unsigned chap_seen;      /* CHAP keys received so far, a bit each */
	struct iscsi_text_pair chap[CHAP_NKEYS]; /* the current request's */
	bool chap_given[CHAP_NKEYS];
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

static uint16_t login_offer(void *arg, const char *key, uint32_t *codes);

int iscsi_login_init(struct iscsi_login *lg, const struct iscsi_login_env *env)
{
	uint32_t statsn = 0;

	memset(lg, 0, sizeof(*lg));
	lg->env = env;
	/* RFC 7143 §11.13.4: the target chooses the connection's first StatSN;
	 * lg->statsn is the one before it until a response is sent. */
	if (getrandom(&statsn, sizeof(statsn), GRND_NONBLOCK) != sizeof(statsn))
		statsn = 1;
	lg->statsn = statsn - 1;
	lg->stage = ISCSI_STAGE_SECURITY;
	iscsi_params_default(&lg->params);
	return 0;
}

/* At the first request, so that an accepted connection that never speaks
 * costs little. */
static int login_alloc(struct iscsi_login *lg)
{
	lg->priv = calloc(1, sizeof(*lg->priv));
	if (!lg->priv)
		return -ENOMEM;
	iscsi_neg_init(&lg->priv->neg, &lg->env->limits, true);
	lg->priv->neg.offer = login_offer;
	lg->priv->neg.offer_arg = lg;
	return 0;
}

void iscsi_login_fini(struct iscsi_login *lg)
{
	if (lg->priv)
		OPENSSL_cleanse(lg->priv, sizeof(*lg->priv));
	free(lg->priv);
	lg->priv = NULL;
}

void iscsi_login_set_initial_statsn(struct iscsi_login *lg, uint32_t statsn)
{
	lg->statsn = statsn - 1;
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
	r->statsn = lg->statsn + 1;
	lg->statsn = r->statsn;
	lg->status = status;
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
	if (lg->priv)
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
 * in the first Login Request. Runs once, when AuthMethod needs the target
 * or else after the first request's keys. */
static uint16_t login_identify(struct iscsi_login *lg)
{
	struct iscsi_login_priv *pv = lg->priv;
	struct iscsi_neg *n = &pv->neg;
	const struct iscsi_login_env *env = lg->env;

	if (pv->identified)
		return ISCSI_LOGIN_SUCCESS;
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
	if (!lg->discovery) {
		if (n->target_name[0] == '\0')
			return ISCSI_LOGIN_MISSING_PARAMETER;
		lg->target = env->find_target(env->ctx, lg->target_name);
		if (!lg->target)
			return ISCSI_LOGIN_TARGET_NOT_FOUND;
		/* RFC 7143 §11.13.5 0203: "the requested iSCSI Target Name
		 * does not exist at this address": the target is served only
		 * through the portals of its portal groups. */
		if (env->target_here && !env->target_here(env->ctx, lg->target))
			return ISCSI_LOGIN_TARGET_NOT_FOUND;
	}
	pv->identified = true;
	return ISCSI_LOGIN_SUCCESS;
}

/* TargetPortalGroupTag and TargetAlias are declared in the response to
 * the first request (RFC 7143 §13 TargetPortalGroupTag). */
static uint16_t login_declare_identity(struct iscsi_login *lg, struct iscsi_text_buf *out)
{
	const struct iscsi_login_env *env = lg->env;
	const char *alias;

	if (lg->discovery)
		return ISCSI_LOGIN_SUCCESS;
	if (iscsi_text_append_u32(out, "TargetPortalGroupTag", env->tpgt))
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	alias = env->target_alias ? env->target_alias(env->ctx, lg->target) : NULL;
	if (alias && alias[0] && iscsi_text_append(out, "TargetAlias", alias))
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	return ISCSI_LOGIN_SUCCESS;
}

static bool login_chap_required(const struct iscsi_login *lg)
{
	const struct iscsi_access *a = lg->env->access;

	return a && a->chap_required && a->chap_required(lg->target);
}

/* CHAP needs every account callback; without them only None is offered. */
static bool login_chap_offered(const struct iscsi_login *lg)
{
	const struct iscsi_access *a = lg->env->access;

	if (!a || !a->chap_offered || !a->chap_initiator_secret || !a->chap_target_account)
		return false;
	return login_chap_required(lg) || a->chap_offered(lg->target);
}

/* Which AuthMethods this login accepts: CHAP alone where it is required,
 * CHAP or None where accounts exist (an initiator set up for CHAP then
 * authenticates, one that is not still logs in), None elsewhere. */
static uint16_t login_offer(void *arg, const char *key, uint32_t *codes)
{
	struct iscsi_login *lg = arg;
	uint16_t st = login_identify(lg);

	(void)key;
	if (st)
		return st;
	if (login_chap_required(lg) && login_chap_offered(lg))
		*codes = 1u << ISCSI_AUTH_CHAP;
	else if (login_chap_required(lg))
		*codes = 0;
	else if (login_chap_offered(lg))
		*codes = 1u << ISCSI_AUTH_CHAP | 1u << ISCSI_AUTH_NONE;
	else
		*codes = 1u << ISCSI_AUTH_NONE;
	return ISCSI_LOGIN_SUCCESS;
}

static uint16_t login_auth_fail(struct iscsi_login *lg, const char *why)
{
	lg->fail_reason = why;
	return ISCSI_LOGIN_AUTH_FAILED;
}

/* Moves the CHAP keys of the request out of pairs into pv->chap; returns
 * how many pairs are left for the negotiation table. */
static size_t login_take_chap_keys(struct iscsi_login_priv *pv, struct iscsi_text_pair *pairs,
				   size_t npairs)
{
	size_t kept = 0;

	memset(pv->chap_given, 0, sizeof(pv->chap_given));
	for (size_t i = 0; i < npairs; i++) {
		size_t k = 0;

		while (k < CHAP_NKEYS && !iscsi_text_key_is(&pairs[i], login_chap_keys[k]))
			k++;
		if (k < CHAP_NKEYS) {
			pv->chap[k] = pairs[i];
			pv->chap_given[k] = true;
		} else {
			pairs[kept++] = pairs[i];
		}
	}
	return kept;
}

/* RFC 7143 §12.1.3: CHAP_A=<A1,A2...> is answered with the algorithm, an
 * identifier and a challenge. */
static uint16_t login_chap_challenge(struct iscsi_login *lg, struct iscsi_text_buf *out)
{
	struct iscsi_login_priv *pv = lg->priv;
	const struct iscsi_text_pair *a = &pv->chap[CHAP_KEY_A];
	char hex[CHAP_HEX_MAX(CHAP_DIGEST_MAX)];

	pv->chap_alg = chap_alg_choose(a->value, a->value_len);
	if (!pv->chap_alg)
		return login_auth_fail(lg, "no CHAP_A algorithm offered that lunar supports");
	if (chap_make_challenge(pv->chap_alg, &pv->chap_ours) < 0)
		return ISCSI_LOGIN_TARGET_ERROR;
	chap_encode_hex(pv->chap_ours.bytes, pv->chap_ours.len, hex);
	if (iscsi_text_append_u32(out, "CHAP_A", pv->chap_alg->code) ||
	    iscsi_text_append_u32(out, "CHAP_I", pv->chap_ours.id) ||
	    iscsi_text_append(out, "CHAP_C", hex))
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	pv->auth = AUTH_CHAP_WAIT_R;
	return ISCSI_LOGIN_SUCCESS;
}

/* Mutual CHAP (RFC 7143 §12.1.3): the initiator's CHAP_I and CHAP_C are
 * answered with the target's name and response. */
static uint16_t login_chap_answer(struct iscsi_login *lg, struct iscsi_text_buf *out)
{
	struct iscsi_login_priv *pv = lg->priv;
	const struct iscsi_text_pair *i = &pv->chap[CHAP_KEY_I], *c = &pv->chap[CHAP_KEY_C];
	const struct iscsi_access *a = lg->env->access;
	uint8_t challenge[CHAP_BINARY_MAX], rsp[CHAP_DIGEST_MAX];
	char user[ISCSI_CHAP_NAME_MAX], hex[CHAP_HEX_MAX(CHAP_DIGEST_MAX)];
	struct iscsi_chap_secret secret;
	int id = chap_parse_id(i->value, i->value_len);
	int len = chap_decode_binary(c->value, c->value_len, challenge, sizeof(challenge));
	int ret;

	if (id < 0)
		return login_auth_fail(lg, "malformed CHAP_I");
	if (len == -E2BIG)
		return login_auth_fail(lg, "CHAP_C longer than 1024 bytes");
	if (len < 0)
		return login_auth_fail(lg, "malformed CHAP_C");
	if (len < CHAP_CHALLENGE_MIN)
		return login_auth_fail(lg, "CHAP_C shorter than 16 bytes");
	/* RFC 7143 §12.1.3: a challenge equal to ours would make us compute
	 * the initiator's answer for it (a reflection attack). */
	if ((size_t)len == pv->chap_ours.len && memcmp(challenge, pv->chap_ours.bytes, (size_t)len) == 0)
		return login_auth_fail(lg, "CHAP_C reflects the target's challenge");
	if (!a->chap_target_account(lg->target, user, &secret))
		return login_auth_fail(lg, "mutual CHAP asked for, but no target account is configured");
	user[ISCSI_CHAP_NAME_MAX - 1] = '\0';
	ret = chap_response(pv->chap_alg, (uint8_t)id, secret.bytes, secret.len, challenge, (size_t)len, rsp);
	OPENSSL_cleanse(&secret, sizeof(secret));
	if (ret < 0)
		return ISCSI_LOGIN_TARGET_ERROR;
	chap_encode_hex(rsp, pv->chap_alg->digest_len, hex);
	OPENSSL_cleanse(rsp, sizeof(rsp));
	if (iscsi_text_append(out, "CHAP_N", user) || iscsi_text_append(out, "CHAP_R", hex))
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	return ISCSI_LOGIN_SUCCESS;
}

/* RFC 7143 §12.1.3: CHAP_N and CHAP_R prove the initiator knows the
 * user's secret; CHAP_I and CHAP_C with them ask for mutual CHAP. */
static uint16_t login_chap_verify(struct iscsi_login *lg, struct iscsi_text_buf *out)
{
	struct iscsi_login_priv *pv = lg->priv;
	const struct iscsi_text_pair *n = &pv->chap[CHAP_KEY_N], *r = &pv->chap[CHAP_KEY_R];
	const struct iscsi_access *a = lg->env->access;
	uint8_t rsp[CHAP_BINARY_MAX];
	char user[ISCSI_CHAP_NAME_MAX];
	struct iscsi_chap_secret secret;
	int len;
	bool ok;
	uint16_t st;

	if (!pv->chap_given[CHAP_KEY_N] || !pv->chap_given[CHAP_KEY_R])
		return login_auth_fail(lg, "CHAP_N or CHAP_R missing");
	if (pv->chap_given[CHAP_KEY_I] != pv->chap_given[CHAP_KEY_C])
		return login_auth_fail(lg, "CHAP_I and CHAP_C must come together");
	if (n->value_len == 0 || n->value_len >= sizeof(user))
		return login_auth_fail(lg, "CHAP_N empty or too long");
	memcpy(user, n->value, n->value_len);
	user[n->value_len] = '\0';
	len = chap_decode_binary(r->value, r->value_len, rsp, sizeof(rsp));
	if (len < 0)
		return login_auth_fail(lg, "malformed CHAP_R");
	if (!a->chap_initiator_secret(lg->target, user, &secret))
		return login_auth_fail(lg, "unknown CHAP user");
	ok = chap_verify(pv->chap_alg, pv->chap_ours.id, secret.bytes, secret.len,
			 pv->chap_ours.bytes, pv->chap_ours.len, rsp, (size_t)len);
	OPENSSL_cleanse(&secret, sizeof(secret));
	if (!ok)
		return login_auth_fail(lg, "wrong CHAP response");
	if (pv->chap_given[CHAP_KEY_I]) {
		st = login_chap_answer(lg, out);
		if (st)
			return st;
	}
	strcpy(lg->chap_user, user);
	pv->auth = AUTH_SETTLED;
	return ISCSI_LOGIN_SUCCESS;
}

/* The CHAP keys of one request, against where the exchange stands. */
static uint16_t login_chap_step(struct iscsi_login *lg, struct iscsi_text_buf *out)
{
	struct iscsi_login_priv *pv = lg->priv;
	unsigned given = 0;

	for (size_t k = 0; k < CHAP_NKEYS; k++)
		given |= pv->chap_given[k] ? 1u << k : 0;
	if (given & pv->chap_seen)
		return login_auth_fail(lg, "CHAP key repeated");
	pv->chap_seen |= given;
	if (lg->stage != ISCSI_STAGE_SECURITY)
		return given ? login_auth_fail(lg, "CHAP key outside the security stage") : 0;
	switch (pv->auth) {
	case AUTH_CHAP_WAIT_A:
		if (!given)
			return ISCSI_LOGIN_SUCCESS;
		if (given != 1u << CHAP_KEY_A)
			return login_auth_fail(lg, "CHAP key out of order");
		return login_chap_challenge(lg, out);
	case AUTH_CHAP_WAIT_R:
		if (given & (1u << CHAP_KEY_A))
			return login_auth_fail(lg, "CHAP key out of order");
		return login_chap_verify(lg, out);
	default:
		return given ? login_auth_fail(lg, "CHAP key out of order") : 0;
	}
}

/* Authentication and then authorization for one answered request: the
 * CHAP exchange advances, and leaving the security stage (or never
 * entering it) needs authentication settled. */
static uint16_t login_authenticate(struct iscsi_login *lg, const struct iscsi_hdr *req,
				   struct iscsi_text_buf *out)
{
	struct iscsi_login_priv *pv = lg->priv;
	const struct iscsi_access *a = lg->env->access;
	bool leaving = lg->stage != ISCSI_STAGE_SECURITY || req->login.transit;
	bool chose_chap = false;
	uint16_t st;

	if (pv->auth == AUTH_UNSETTLED) {
		if (pv->neg.auth_method == ISCSI_AUTH_CHAP) {
			pv->auth = AUTH_CHAP_WAIT_A;
			chose_chap = true;
		} else if (pv->neg.auth_method == ISCSI_AUTH_NONE ||
			   (!login_chap_offered(lg) && !login_chap_required(lg)))
			pv->auth = AUTH_SETTLED;
	}
	st = login_chap_step(lg, out);
	if (st)
		return st;
	if (pv->auth == AUTH_UNSETTLED && leaving) {
		/* RFC 7143 §6.3: no AuthMethod negotiated means none. */
		if (login_chap_required(lg))
			return login_auth_fail(lg, "CHAP is required");
		pv->auth = AUTH_SETTLED;
	}
	if (pv->auth == AUTH_CHAP_WAIT_A && leaving && !chose_chap)
		return login_auth_fail(lg, "CHAP negotiated but not carried out");
	/* The target answers T=0 until the exchange is over (RFC 7143 §6.3,
	 * Appendix B: the initiator asks for the transition all along). */
	if (pv->auth == AUTH_CHAP_WAIT_A || pv->auth == AUTH_CHAP_WAIT_R)
		pv->rsp_transit = false;
	if (pv->auth != AUTH_SETTLED || pv->authorized)
		return ISCSI_LOGIN_SUCCESS;
	if (a && a->authorize && !a->authorize(lg->target, lg->initiator_name, lg->chap_user)) {
		lg->fail_reason = "initiator not authorized";
		return ISCSI_LOGIN_NOT_AUTHORIZED;
	}
	pv->authorized = true;
	return ISCSI_LOGIN_SUCCESS;
}

/* A target may offer limits of its own. The first request names it
 * (RFC 7143 §6.3: TargetName in the first Login Request of a Normal
 * session), and may already carry operational keys, so its limits are
 * chosen before any key is answered. Discovery keeps the global ones. */
static void login_choose_limits(struct iscsi_login *lg, const struct iscsi_text_pair *pairs, size_t npairs)
{
	const struct iscsi_login_env *env = lg->env;
	struct iscsi_login_priv *pv = lg->priv;
	const char *target = NULL;
	if (!env->target_limits)
		return;
	for (size_t i = 0; i < npairs; i++) {
		if (iscsi_text_key_is(&pairs[i], "SessionType") && strcmp(pairs[i].value, "Discovery") == 0)
			return;
		if (iscsi_text_key_is(&pairs[i], "TargetName"))
			target = pairs[i].value;
	}
	if (target && env->target_limits(env->ctx, target, &pv->target_limits))
		pv->neg.limits = &pv->target_limits;
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
	npairs = login_take_chap_keys(pv, pv->pairs, npairs);
	if (!pv->identity_declared)
		login_choose_limits(lg, pv->pairs, npairs);
	st = iscsi_neg_answer(&pv->neg, lg->stage, pv->pairs, npairs, &out);
	if (st == ISCSI_LOGIN_AUTH_FAILED)
		return login_auth_fail(lg, "no AuthMethod offered that the target accepts");
	if (st)
		return st;
	if (!pv->identity_declared) {
		st = login_identify(lg);
		if (!st)
			st = login_declare_identity(lg, &out);
		if (st)
			return st;
		pv->identity_declared = true;
	}
	pv->rsp_transit = req->login.transit;
	pv->rsp_nsg = req->login.nsg;
	st = login_authenticate(lg, req, &out);
	if (st)
		return st;
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
	lg->fail_reason = NULL;
	if (!pv) {
		if (login_alloc(lg) < 0)
			return login_reject(lg, req, ISCSI_LOGIN_OUT_OF_RESOURCES, rsp_bhs, rsp_len);
		pv = lg->priv;
	}
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
