/* Login key negotiation (RFC 7143 §6.2, §13) as one table row per key and
 * a small loop over result functions. */
#include "iscsi/params.h"

#include <errno.h>
#include <string.h>

#include "iscsi/pdu.h"
#include "iscsi/textkv.h"

void iscsi_target_limits_default(struct iscsi_target_limits *l)
{
	*l = (struct iscsi_target_limits){
		.max_recv_dsl = 262144,
		.max_burst = 1048576,
		.first_burst = 65536,
		.max_outstanding_r2t = 1,
		.initial_r2t = false,
		.immediate_data = true,
		.max_connections = 1,
		.default_time2wait = 2,
		.default_time2retain = 20,
		.max_erl = 0,
	};
}

/* RFC 7143 §13: the value of every key before (or without) negotiation. */
void iscsi_params_default(struct iscsi_params *p)
{
	*p = (struct iscsi_params){
		.header_digest = false,
		.data_digest = false,
		.max_recv_dsl = 8192,
		.max_send_dsl = 8192,
		.max_connections = 1,
		.initial_r2t = true,
		.immediate_data = true,
		.max_burst = 262144,
		.first_burst = 65536,
		.default_time2wait = 2,
		.default_time2retain = 20,
		.max_outstanding_r2t = 1,
		.data_pdu_in_order = true,
		.data_seq_in_order = true,
		.erl = 0,
	};
}

/* Result functions and key kinds, RFC 7143 §6.2.2 and §13. */
enum neg_rule {
	NEG_AND,            /* Boolean, result is AND */
	NEG_OR,             /* Boolean, result is OR */
	NEG_MIN,            /* numerical, result is the minimum */
	NEG_MAX,            /* numerical, result is the maximum */
	NEG_LIST,           /* the first offered value we support */
	NEG_DECLARE_NUMBER, /* declarative, no answer */
	NEG_DECLARE_TEXT,
	NEG_DECLARE_CHOICE, /* declarative with a fixed set of values */
	NEG_OBSOLETE,       /* RFC 7143 §13 "Obsoleted Keys": fixed answer */
	NEG_REQUEST,        /* a request answered outside negotiation (SendTargets) */
};

/* Where a key may appear (RFC 7143 §6.3, §13 "Use"). */
#define NEG_SEC (1u << ISCSI_STAGE_SECURITY)
#define NEG_OPER (1u << ISCSI_STAGE_OPERATIONAL)
#define NEG_FFP (1u << ISCSI_STAGE_FULL_FEATURE)
#define NEG_LOGIN (NEG_SEC | NEG_OPER)

#define NEG_LEADING_ONLY (1u << 0)   /* "LO": Irrelevant on other connections */
#define NEG_NORMAL_ONLY (1u << 1)    /* Irrelevant when SessionType=Discovery */
#define NEG_TARGET_SENDS (1u << 2)   /* "Senders: Target" */
#define NEG_FIRST_ONLY (1u << 3)     /* belongs in the first Login Request (§6.3) */
#define NEG_UNSOLICITED (1u << 4)    /* Irrelevant when InitialR2T=Yes and ImmediateData=No */
#define NEG_TARGET_DECLARES (1u << 5) /* the target declares its own value */
#define NEG_LOGIN_OFFERS (1u << 6)   /* the login says which choices it accepts (iscsi_neg.offer) */

enum neg_width { NEG_W_NONE, NEG_W_BOOL, NEG_W_U8, NEG_W_U32, NEG_W_TEXT };

struct neg_field {
	uint16_t off;
	uint8_t width;  /* enum neg_width */
};

#define NEG_IN(member, w) { offsetof(struct iscsi_neg, member), (w) }
#define NEG_LIMIT(member, w) { offsetof(struct iscsi_target_limits, member), (w) }
#define NEG_NONE { 0, NEG_W_NONE }

struct neg_choice {
	const char *name;
	uint32_t code;
};

struct neg_key {
	const char *name;
	enum neg_rule rule;
	uint8_t stages;
	uint8_t flags;
	uint32_t min, max;              /* valid range of numerical values */
	struct neg_field result;        /* the outcome, in struct iscsi_neg */
	struct neg_field ours;          /* our value or bound, in struct iscsi_target_limits */
	uint32_t ours_fixed;            /* our value when `ours` is NEG_W_NONE */
	struct neg_field cap;           /* a negotiated value that also bounds this one */
	struct neg_field declared;      /* where our own declaration goes */
	const struct neg_choice *choices; /* NULL-terminated, for LIST and DECLARE_CHOICE */
	uint16_t no_choice_status;      /* login status when nothing offered is acceptable */
	const char *fixed_answer;       /* NEG_OBSOLETE */
};

static const struct neg_choice neg_session_types[] = {
	{ "Normal", 0 }, { "Discovery", 1 }, { NULL, 0 } };
/* RFC 7143 §12.1: the CHAP exchange itself is login.c's; which of these a
 * login accepts depends on its target (iscsi_neg.offer). */
static const struct neg_choice neg_auth_methods[] = {
	{ "CHAP", ISCSI_AUTH_CHAP }, { "None", ISCSI_AUTH_NONE }, { NULL, 0 } };
/* CRC32C digests come later; the code is the value of the bool in params. */
static const struct neg_choice neg_digests[] = { { "None", 0 }, { NULL, 0 } };
/* RFC 7143 §13 TaskReporter: only the RFC 3720 semantics. */
static const struct neg_choice neg_task_reporters[] = { { "RFC3720", 0 }, { NULL, 0 } };

#define NEG_DSL_MAX 16777215u   /* 2^24 - 1 */

/* Rows are processed in this order, so a key another key depends on comes
 * first: SessionType before everything Irrelevant in Discovery, InitialR2T
 * and ImmediateData and MaxBurstLength before FirstBurstLength. */
static const struct neg_key neg_keys[] = {
	{ .name = "SessionType", .rule = NEG_DECLARE_CHOICE, .stages = NEG_LOGIN,
	  .flags = NEG_FIRST_ONLY, .result = NEG_IN(discovery, NEG_W_BOOL),
	  .choices = neg_session_types, .no_choice_status = ISCSI_LOGIN_SESSION_TYPE_UNSUPPORTED },
	{ .name = "InitiatorName", .rule = NEG_DECLARE_TEXT, .stages = NEG_LOGIN,
	  .flags = NEG_FIRST_ONLY, .result = NEG_IN(initiator_name, NEG_W_TEXT) },
	{ .name = "TargetName", .rule = NEG_DECLARE_TEXT, .stages = NEG_LOGIN,
	  .flags = NEG_FIRST_ONLY, .result = NEG_IN(target_name, NEG_W_TEXT) },
	{ .name = "InitiatorAlias", .rule = NEG_DECLARE_TEXT, .stages = NEG_LOGIN | NEG_FFP,
	  .result = NEG_IN(initiator_alias, NEG_W_TEXT) },
	{ .name = "TargetAlias", .rule = NEG_DECLARE_TEXT, .stages = NEG_LOGIN | NEG_FFP,
	  .flags = NEG_TARGET_SENDS },
	{ .name = "TargetAddress", .rule = NEG_DECLARE_TEXT, .stages = NEG_LOGIN | NEG_FFP,
	  .flags = NEG_TARGET_SENDS },
	{ .name = "TargetPortalGroupTag", .rule = NEG_DECLARE_NUMBER, .stages = NEG_LOGIN,
	  .flags = NEG_TARGET_SENDS, .max = 65535 },
	{ .name = "AuthMethod", .rule = NEG_LIST, .stages = NEG_SEC, .flags = NEG_LOGIN_OFFERS,
	  .result = NEG_IN(auth_method, NEG_W_U8),
	  .choices = neg_auth_methods, .no_choice_status = ISCSI_LOGIN_AUTH_FAILED },
	{ .name = "HeaderDigest", .rule = NEG_LIST, .stages = NEG_OPER,
	  .result = NEG_IN(params.header_digest, NEG_W_BOOL), .choices = neg_digests },
	{ .name = "DataDigest", .rule = NEG_LIST, .stages = NEG_OPER,
	  .result = NEG_IN(params.data_digest, NEG_W_BOOL), .choices = neg_digests },
	{ .name = "MaxRecvDataSegmentLength", .rule = NEG_DECLARE_NUMBER,
	  .stages = NEG_LOGIN | NEG_FFP, .flags = NEG_TARGET_DECLARES,
	  .min = 512, .max = NEG_DSL_MAX,
	  .result = NEG_IN(params.max_send_dsl, NEG_W_U32),
	  .ours = NEG_LIMIT(max_recv_dsl, NEG_W_U32),
	  .declared = NEG_IN(params.max_recv_dsl, NEG_W_U32) },
	{ .name = "MaxConnections", .rule = NEG_MIN, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY | NEG_NORMAL_ONLY, .min = 1, .max = 65535,
	  .result = NEG_IN(params.max_connections, NEG_W_U32),
	  .ours = NEG_LIMIT(max_connections, NEG_W_U32) },
	{ .name = "InitialR2T", .rule = NEG_OR, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY | NEG_NORMAL_ONLY,
	  .result = NEG_IN(params.initial_r2t, NEG_W_BOOL),
	  .ours = NEG_LIMIT(initial_r2t, NEG_W_BOOL) },
	{ .name = "ImmediateData", .rule = NEG_AND, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY | NEG_NORMAL_ONLY,
	  .result = NEG_IN(params.immediate_data, NEG_W_BOOL),
	  .ours = NEG_LIMIT(immediate_data, NEG_W_BOOL) },
	{ .name = "MaxBurstLength", .rule = NEG_MIN, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY | NEG_NORMAL_ONLY, .min = 512, .max = NEG_DSL_MAX,
	  .result = NEG_IN(params.max_burst, NEG_W_U32),
	  .ours = NEG_LIMIT(max_burst, NEG_W_U32) },
	{ .name = "FirstBurstLength", .rule = NEG_MIN, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY | NEG_NORMAL_ONLY | NEG_UNSOLICITED,
	  .min = 512, .max = NEG_DSL_MAX,
	  .result = NEG_IN(params.first_burst, NEG_W_U32),
	  .ours = NEG_LIMIT(first_burst, NEG_W_U32),
	  /* RFC 7143 §13.14: FirstBurstLength MUST NOT exceed MaxBurstLength. */
	  .cap = NEG_IN(params.max_burst, NEG_W_U32) },
	{ .name = "DefaultTime2Wait", .rule = NEG_MAX, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY, .min = 0, .max = 3600,
	  .result = NEG_IN(params.default_time2wait, NEG_W_U32),
	  .ours = NEG_LIMIT(default_time2wait, NEG_W_U32) },
	{ .name = "DefaultTime2Retain", .rule = NEG_MIN, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY, .min = 0, .max = 3600,
	  .result = NEG_IN(params.default_time2retain, NEG_W_U32),
	  .ours = NEG_LIMIT(default_time2retain, NEG_W_U32) },
	{ .name = "MaxOutstandingR2T", .rule = NEG_MIN, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY | NEG_NORMAL_ONLY, .min = 1, .max = 65535,
	  .result = NEG_IN(params.max_outstanding_r2t, NEG_W_U32),
	  .ours = NEG_LIMIT(max_outstanding_r2t, NEG_W_U32) },
	/* lunar only handles data in order, so it answers Yes: with OR the
	 * result is then always Yes. */
	{ .name = "DataPDUInOrder", .rule = NEG_OR, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY | NEG_NORMAL_ONLY,
	  .result = NEG_IN(params.data_pdu_in_order, NEG_W_BOOL), .ours_fixed = 1 },
	{ .name = "DataSequenceInOrder", .rule = NEG_OR, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY | NEG_NORMAL_ONLY,
	  .result = NEG_IN(params.data_seq_in_order, NEG_W_BOOL), .ours_fixed = 1 },
	{ .name = "ErrorRecoveryLevel", .rule = NEG_MIN, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY, .min = 0, .max = 2,
	  .result = NEG_IN(params.erl, NEG_W_U8), .ours = NEG_LIMIT(max_erl, NEG_W_U8) },
	/* RFC 7143 §13 iSCSIProtocolLevel: this document is level 1. */
	{ .name = "iSCSIProtocolLevel", .rule = NEG_MIN, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY, .min = 0, .max = 31, .ours_fixed = 1 },
	{ .name = "TaskReporter", .rule = NEG_LIST, .stages = NEG_OPER,
	  .flags = NEG_LEADING_ONLY | NEG_NORMAL_ONLY, .choices = neg_task_reporters },
	/* RFC 7143 §13 "Obsoleted Keys": markers are gone; xFMarker SHOULD get Reject or
	 * MAY get No (initiators written for RFC 3720 expect No), xFMarkInt
	 * MUST get Reject. */
	{ .name = "IFMarker", .rule = NEG_OBSOLETE, .stages = NEG_OPER, .fixed_answer = "No" },
	{ .name = "OFMarker", .rule = NEG_OBSOLETE, .stages = NEG_OPER, .fixed_answer = "No" },
	{ .name = "IFMarkInt", .rule = NEG_OBSOLETE, .stages = NEG_OPER, .fixed_answer = "Reject" },
	{ .name = "OFMarkInt", .rule = NEG_OBSOLETE, .stages = NEG_OPER, .fixed_answer = "Reject" },
	{ .name = "SendTargets", .rule = NEG_REQUEST, .stages = NEG_FFP },
};

#define NEG_NKEYS (sizeof(neg_keys) / sizeof(neg_keys[0]))
_Static_assert(NEG_NKEYS <= 64, "struct iscsi_neg tracks rows in a uint64_t");

static uint32_t neg_get(const void *base, struct neg_field f)
{
	const uint8_t *p = (const uint8_t *)base + f.off;

	switch (f.width) {
	case NEG_W_BOOL:
		return *(const bool *)p;
	case NEG_W_U8:
		return *p;
	case NEG_W_U32:
		return *(const uint32_t *)p;
	default:
		return 0;
	}
}

static void neg_set(void *base, struct neg_field f, uint32_t v)
{
	uint8_t *p = (uint8_t *)base + f.off;

	switch (f.width) {
	case NEG_W_BOOL:
		*(bool *)p = v != 0;
		break;
	case NEG_W_U8:
		*p = (uint8_t)v;
		break;
	case NEG_W_U32:
		*(uint32_t *)p = v;
		break;
	default:
		break;
	}
}

static uint32_t neg_ours(const struct iscsi_neg *n, const struct neg_key *k)
{
	if (k->ours.width == NEG_W_NONE)
		return k->ours_fixed;
	return neg_get(n->limits, k->ours);
}

static const struct neg_key *neg_lookup(const char *key, size_t key_len, uint64_t *bit)
{
	for (size_t i = 0; i < NEG_NKEYS; i++) {
		if (strlen(neg_keys[i].name) == key_len && memcmp(neg_keys[i].name, key, key_len) == 0) {
			*bit = 1ull << i;
			return &neg_keys[i];
		}
	}
	return NULL;
}

static bool neg_parse_bool(const char *s, size_t len, uint32_t *out)
{
	if (len == 3 && memcmp(s, "Yes", 3) == 0)
		*out = 1;
	else if (len == 2 && memcmp(s, "No", 2) == 0)
		*out = 0;
	else
		return false;
	return true;
}

static const struct neg_choice *neg_choose(const struct neg_choice *c, const char *s, size_t len)
{
	for (; c->name; c++)
		if (strlen(c->name) == len && memcmp(c->name, s, len) == 0)
			return c;
	return NULL;
}

/* RFC 7143 §6.2: the first value of the offered list we support (among
 * the codes in accepted); an empty list element makes the whole offer
 * invalid. */
static const struct neg_choice *neg_choose_from_list(const struct neg_choice *c, uint32_t accepted,
						     const char *s, size_t len, bool *malformed)
{
	const struct neg_choice *found = NULL;
	size_t start = 0;

	*malformed = false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		if (i == start) {
			*malformed = true;
			return NULL;
		}
		if (!found) {
			found = neg_choose(c, s + start, i - start);
			if (found && !(accepted & (1u << found->code)))
				found = NULL;
		}
		start = i + 1;
	}
	return found;
}

/* The negotiated result functions (RFC 7143 §6.2.2). An invalid or
 * out-of-range offer is answered "Reject" and the value stays what it was
 * (RFC 7143 §6.2). Returns 0 or the login status that ends the login. */
static uint16_t neg_negotiate(struct iscsi_neg *n, const struct neg_key *k,
			      const struct iscsi_text_pair *p, struct iscsi_text_buf *out)
{
	uint32_t ours = neg_ours(n, k), offer, result;
	uint64_t num;
	const struct neg_choice *c;
	uint32_t accepted = UINT32_MAX;
	bool malformed;
	uint16_t st;

	switch (k->rule) {
	case NEG_AND:
	case NEG_OR:
		if (!neg_parse_bool(p->value, p->value_len, &offer))
			return iscsi_text_append(out, k->name, "Reject") ? ISCSI_LOGIN_OUT_OF_RESOURCES : 0;
		result = k->rule == NEG_AND ? (offer && ours) : (offer || ours);
		neg_set(n, k->result, result);
		return iscsi_text_append(out, k->name, result ? "Yes" : "No")
			? ISCSI_LOGIN_OUT_OF_RESOURCES : 0;
	case NEG_MIN:
	case NEG_MAX:
		if (!iscsi_text_parse_number(p->value, p->value_len, &num) || num < k->min || num > k->max)
			return iscsi_text_append(out, k->name, "Reject") ? ISCSI_LOGIN_OUT_OF_RESOURCES : 0;
		offer = (uint32_t)num;
		if (k->rule == NEG_MIN) {
			result = offer < ours ? offer : ours;
			if (k->cap.width != NEG_W_NONE && result > neg_get(n, k->cap))
				result = neg_get(n, k->cap);
		} else {
			result = offer > ours ? offer : ours;
		}
		neg_set(n, k->result, result);
		return iscsi_text_append_u32(out, k->name, result) ? ISCSI_LOGIN_OUT_OF_RESOURCES : 0;
	case NEG_LIST:
		if ((k->flags & NEG_LOGIN_OFFERS) && n->offer &&
		    (st = n->offer(n->offer_arg, k->name, &accepted)) != 0)
			return st;
		c = neg_choose_from_list(k->choices, accepted, p->value, p->value_len, &malformed);
		if (!c && !malformed && k->no_choice_status)
			return k->no_choice_status;
		if (!c)
			return iscsi_text_append(out, k->name, "Reject") ? ISCSI_LOGIN_OUT_OF_RESOURCES : 0;
		neg_set(n, k->result, c->code);
		return iscsi_text_append(out, k->name, c->name) ? ISCSI_LOGIN_OUT_OF_RESOURCES : 0;
	default:
		return ISCSI_LOGIN_TARGET_ERROR;
	}
}

static uint16_t neg_declared_by_initiator(struct iscsi_neg *n, const struct neg_key *k,
					  const struct iscsi_text_pair *p,
					  struct iscsi_text_buf *out)
{
	const struct neg_choice *c;
	uint64_t num;

	switch (k->rule) {
	case NEG_DECLARE_NUMBER:
		/* A declaration out of range cannot take effect; the value stays
		 * at its default (RFC 7143 §6.2). */
		if (!iscsi_text_parse_number(p->value, p->value_len, &num) || num < k->min || num > k->max)
			return iscsi_text_append(out, k->name, "Reject") ? ISCSI_LOGIN_OUT_OF_RESOURCES : 0;
		neg_set(n, k->result, (uint32_t)num);
		return 0;
	case NEG_DECLARE_TEXT:
		if (p->value_len >= ISCSI_NEG_TEXT_MAX)
			return ISCSI_LOGIN_INITIATOR_ERROR;
		if (k->result.width == NEG_W_TEXT) {
			char *dst = (char *)n + k->result.off;

			memcpy(dst, p->value, p->value_len);
			dst[p->value_len] = '\0';
		}
		return 0;
	case NEG_DECLARE_CHOICE:
		c = neg_choose(k->choices, p->value, p->value_len);
		if (!c)
			return k->no_choice_status;
		neg_set(n, k->result, c->code);
		return 0;
	case NEG_OBSOLETE:
		return iscsi_text_append(out, k->name, k->fixed_answer) ? ISCSI_LOGIN_OUT_OF_RESOURCES : 0;
	default:
		return ISCSI_LOGIN_TARGET_ERROR;
	}
}

/* RFC 7143 §13: when a key is Irrelevant for this session or connection. */
static bool neg_irrelevant(const struct iscsi_neg *n, const struct neg_key *k)
{
	if ((k->flags & NEG_NORMAL_ONLY) && n->discovery)
		return true;
	if ((k->flags & NEG_LEADING_ONLY) && !n->leading)
		return true;
	return (k->flags & NEG_UNSOLICITED) && n->params.initial_r2t && !n->params.immediate_data;
}

static uint16_t neg_one(struct iscsi_neg *n, const struct neg_key *k, uint64_t bit, int stage,
			const struct iscsi_text_pair *p, struct iscsi_text_buf *out)
{
	/* RFC 7143 §6.3: keys outside their stage, keys only a target sends,
	 * and keys negotiated twice in one login are initiator errors. */
	if (!(k->stages & (1u << stage)) || (k->flags & NEG_TARGET_SENDS) || (n->received & bit))
		return ISCSI_LOGIN_INITIATOR_ERROR;
	if ((k->flags & NEG_FIRST_ONLY) && n->first_batch_done)
		return ISCSI_LOGIN_INITIATOR_ERROR;
	n->received |= bit;
	if (k->rule == NEG_REQUEST)
		return 0;
	if (p->value_len > ISCSI_TEXT_VALUE_MAX)
		return ISCSI_LOGIN_INITIATOR_ERROR;
	if (neg_irrelevant(n, k))
		return iscsi_text_append(out, k->name, "Irrelevant") ? ISCSI_LOGIN_OUT_OF_RESOURCES : 0;
	switch (k->rule) {
	case NEG_AND:
	case NEG_OR:
	case NEG_MIN:
	case NEG_MAX:
	case NEG_LIST:
		return neg_negotiate(n, k, p, out);
	default:
		return neg_declared_by_initiator(n, k, p, out);
	}
}

void iscsi_neg_init(struct iscsi_neg *n, const struct iscsi_target_limits *l, bool leading)
{
	memset(n, 0, sizeof(*n));
	n->limits = l;
	n->leading = leading;
	iscsi_params_default(&n->params);
}

uint16_t iscsi_neg_answer(struct iscsi_neg *n, int stage, const struct iscsi_text_pair *pairs,
			  size_t npairs, struct iscsi_text_buf *out)
{
	uint64_t bit;

	for (size_t r = 0; r < NEG_NKEYS; r++) {
		for (size_t i = 0; i < npairs; i++) {
			uint16_t st;

			if (!iscsi_text_key_is(&pairs[i], neg_keys[r].name))
				continue;
			st = neg_one(n, &neg_keys[r], 1ull << r, stage, &pairs[i], out);
			if (st)
				return st;
		}
	}
	/* RFC 7143 §6.2: unknown keys, X- and X# extension keys included. */
	for (size_t i = 0; i < npairs; i++) {
		char key[ISCSI_TEXT_KEY_MAX + 1];

		if (neg_lookup(pairs[i].key, pairs[i].key_len, &bit))
			continue;
		if (pairs[i].key_len > ISCSI_TEXT_KEY_MAX)
			return ISCSI_LOGIN_INITIATOR_ERROR;
		memcpy(key, pairs[i].key, pairs[i].key_len);
		key[pairs[i].key_len] = '\0';
		if (iscsi_text_append(out, key, "NotUnderstood"))
			return ISCSI_LOGIN_OUT_OF_RESOURCES;
	}
	n->first_batch_done = true;
	return 0;
}

int iscsi_neg_declare(struct iscsi_neg *n, struct iscsi_text_buf *out)
{
	for (size_t r = 0; r < NEG_NKEYS; r++) {
		const struct neg_key *k = &neg_keys[r];
		uint32_t v;

		if (!(k->flags & NEG_TARGET_DECLARES) || (n->declared & (1ull << r)))
			continue;
		v = neg_ours(n, k);
		if (v < k->min)
			v = k->min;
		if (v > k->max)
			v = k->max;
		if (iscsi_text_append_u32(out, k->name, v))
			return -ENOSPC;
		neg_set(n, k->declared, v);
		n->declared |= 1ull << r;
	}
	return 0;
}

void iscsi_neg_finish(struct iscsi_neg *n)
{
	if (n->params.first_burst > n->params.max_burst)
		n->params.first_burst = n->params.max_burst;
}
