/* Every Text Request gets an answer (RFC 7143 §11.10, §11.11, §12.3): a
 * SendTargets value the target cannot serve, a key it does not know, bad
 * syntax, a request continued over several PDUs (C bit) or one that asks
 * to go on (F=0); and SendTargets in a Normal session as libiscsi sends
 * it (SendTargets=All). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/be.h"
#include "wire_check.h"
#include "wire_scenarios.h"
#include "wire_xfer.h"

#define TEXT_F 0x80u
#define TEXT_C 0x40u
#define LONG_VALUE_LEN 300u
#define NO_SUCH_TARGET "iqn.2026-11.org.lunar:no-such-target"

/* One Text Request PDU (F and C as given, a new ITT unless itt is set)
 * and the one PDU that answers it. */
static bool text_one(struct wire_conn *c, uint32_t itt, uint32_t ttt, uint8_t flags,
		     const void *data, uint32_t len, struct wire_pdu *p, char *why)
{
	uint8_t bhs[ISCSI_BHS_LEN];
	wire_build_text(bhs, c, itt, ttt, true, len);
	bhs[1] = flags;
	enum wire_io r = wire_send_pdu(c, bhs, data, len);
	if (r == WIRE_IO_OK)
		r = wire_recv_reply(c, p, WIRE_IO_TIMEOUT_S * 1000);
	if (r != WIRE_IO_OK) {
		snprintf(why, WIRE_WHY_LEN, "no answer: %s", wire_io_name(r));
		return false;
	}
	return true;
}

/* True when data[0..len) holds the pair key=value. */
static bool has_pair(const uint8_t *data, uint32_t len, const char *key, const char *value)
{
	char pair[512];
	int n = snprintf(pair, sizeof(pair), "%s=%s", key, value);
	for (uint32_t i = 0; i < len; i += (uint32_t)strnlen((const char *)data + i, len - i) + 1)
		if (strnlen((const char *)data + i, len - i) == (size_t)n && !memcmp(data + i, pair, (size_t)n))
			return true;
	return false;
}

static unsigned count_key(const uint8_t *data, uint32_t len, const char *key)
{
	size_t klen = strlen(key);
	unsigned n = 0;
	for (uint32_t i = 0; i < len; i += (uint32_t)strnlen((const char *)data + i, len - i) + 1)
		if (len - i > klen && !memcmp(data + i, key, klen) && data[i + klen] == '=')
			n++;
	return n;
}

/* A final Text Response (F=1, C=0, TTT reserved, §11.11.1) to a request
 * sent as text: why stays empty if its data passes want(). */
static void text_expect_final(struct wire_conn *c, const char *text, uint32_t len,
			      bool (*want)(const struct wire_pdu *p, const void *arg), const void *arg,
			      char *why)
{
	struct wire_pdu p;
	uint32_t itt = c->next_itt++;
	if (!text_one(c, itt, ISCSI_RSVD_TAG, TEXT_F, text, len, &p, why))
		return;
	uint8_t op = p.bhs[0] & 0x3f;
	if (op != ISCSI_OP_TEXT_RSP)
		snprintf(why, WIRE_WHY_LEN, "opcode 0x%02x (reason 0x%02x), expected Text Response", op,
			 p.bhs[2]);
	else if (be32_get(p.bhs + 16) != itt)
		snprintf(why, WIRE_WHY_LEN, "ITT 0x%x, expected 0x%x", be32_get(p.bhs + 16), itt);
	else if (p.bhs[1] != TEXT_F || be32_get(p.bhs + 20) != ISCSI_RSVD_TAG)
		snprintf(why, WIRE_WHY_LEN, "flags 0x%02x TTT 0x%x, expected F=1 C=0 TTT reserved",
			 p.bhs[1], be32_get(p.bhs + 20));
	else if (!want(&p, arg))
		snprintf(why, WIRE_WHY_LEN, "answer of %u bytes: %.*s", p.data_len, (int)p.data_len,
			 p.data ? (const char *)p.data : "");
	wire_pdu_free(&p);
}

static bool names_no_target(const struct wire_pdu *p, const void *arg)
{
	(void)arg;
	return count_key(p->data, p->data_len, "TargetName") == 0;
}

static bool has_this_pair(const struct wire_pdu *p, const void *arg)
{
	const char *const *kv = arg;
	return has_pair(p->data, p->data_len, kv[0], kv[1]);
}

static bool names_target(const struct wire_pdu *p, const void *arg)
{
	return has_pair(p->data, p->data_len, "TargetName", arg);
}

static bool names_only(const struct wire_pdu *p, const void *arg)
{
	return count_key(p->data, p->data_len, "TargetName") == 1 &&
	       has_pair(p->data, p->data_len, "TargetName", arg) &&
	       count_key(p->data, p->data_len, "TargetAddress") >= 1;
}

/* Sends text and expects a Reject PDU with reason 0x04 carrying our header
 * (§11.17.1): a request the target cannot parse. */
static void text_expect_reject(struct wire_conn *c, const void *text, uint32_t len, char *why)
{
	struct wire_pdu p;
	if (!text_one(c, c->next_itt++, ISCSI_RSVD_TAG, TEXT_F, text, len, &p, why))
		return;
	uint8_t op = p.bhs[0] & 0x3f;
	if (op != ISCSI_OP_REJECT || p.bhs[2] != ISCSI_REJECT_PROTOCOL_ERROR)
		snprintf(why, WIRE_WHY_LEN, "opcode 0x%02x reason 0x%02x, expected Reject 0x04", op,
			 p.bhs[2]);
	wire_pdu_free(&p);
}

#define TEXT_Z(s) s, sizeof(s)

static void check_discovery_values(const struct wire_target *t)
{
	static const char *const names[] = {
		"text_sendtargets_unknown_name_empty_answer",
		"text_sendtargets_empty_value_in_discovery_answered",
		"text_sendtargets_value_over_255_rejected_per_key",
		"text_sendtargets_not_a_name_rejected_per_key",
		"text_unknown_key_not_understood",
		"text_key_case_matters",
		"text_pair_without_equals_reject_pdu",
		"text_unterminated_pair_reject_pdu",
		"text_after_errors_session_usable",
	};
	static const char *const st_reject[] = { "SendTargets", "Reject" };
	static const char *const unknown[] = { "SendTargetsPlease", "NotUnderstood" };
	static const char *const cased[] = { "sENDtARGETS", "NotUnderstood" };
	struct wire_login_params lp;
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	unsigned i = 0;

	wire_login_params_default(&lp);
	lp.discovery = true;
	if (!wire_login_with(&c, t, &lp, why, sizeof(why))) {
		wire_check_unreached(names, 9, why);
		return;
	}
	text_expect_final(&c, TEXT_Z("SendTargets=" NO_SUCH_TARGET), names_no_target, NULL, why);
	wire_check_why(names[i++], why);
	*why = '\0';
	text_expect_final(&c, TEXT_Z("SendTargets="), names_no_target, NULL, why);
	wire_check_why(names[i++], why);
	*why = '\0';
	char long_req[sizeof("SendTargets=") + LONG_VALUE_LEN];
	uint32_t n = (uint32_t)snprintf(long_req, sizeof(long_req), "SendTargets=iqn.2026-11.x:");
	memset(long_req + n, 'a', sizeof(long_req) - 1 - n);
	long_req[sizeof(long_req) - 1] = '\0';
	text_expect_final(&c, long_req, sizeof(long_req), has_this_pair, st_reject, why);
	wire_check_why(names[i++], why);
	*why = '\0';
	text_expect_final(&c, TEXT_Z("SendTargets=Alle"), has_this_pair, st_reject, why);
	wire_check_why(names[i++], why);
	*why = '\0';
	text_expect_final(&c, TEXT_Z("SendTargetsPlease=All"), has_this_pair, unknown, why);
	wire_check_why(names[i++], why);
	*why = '\0';
	text_expect_final(&c, TEXT_Z("sENDtARGETS=aLL"), has_this_pair, cased, why);
	wire_check_why(names[i++], why);
	*why = '\0';
	text_expect_reject(&c, TEXT_Z("SendTargets"), why);
	wire_check_why(names[i++], why);
	*why = '\0';
	text_expect_reject(&c, "SendTargets=All", sizeof("SendTargets=All") - 1, why);
	wire_check_why(names[i++], why);
	*why = '\0';
	text_expect_final(&c, TEXT_Z("SendTargets=All"), names_target, t->name, why);
	wire_check_why(names[i++], why);
	wire_close(&c);
}

/* §11.10.2: a request with C=1 is incomplete; each such part is answered
 * with an empty Text Response, F=0 and a TTT the next part echoes. The
 * whole request is then answered as one. */
static void check_continued_request(const struct wire_target *t)
{
	static const char *const names[] = {
		"text_continued_request_part_acknowledged", "text_continued_request_answered",
	};
	struct wire_login_params lp;
	struct wire_conn c;
	struct wire_pdu p;
	char why[WIRE_WHY_LEN] = "";

	wire_login_params_default(&lp);
	lp.discovery = true;
	if (!wire_login_with(&c, t, &lp, why, sizeof(why))) {
		wire_check_unreached(names, 2, why);
		return;
	}
	uint32_t itt = c.next_itt++;
	if (!text_one(&c, itt, ISCSI_RSVD_TAG, TEXT_C, "SendTar", 7, &p, why)) {
		wire_check_unreached(names, 2, why);
		wire_close(&c);
		return;
	}
	uint32_t ttt = be32_get(p.bhs + 20);
	if ((p.bhs[0] & 0x3f) != ISCSI_OP_TEXT_RSP || p.bhs[1] != 0 || p.data_len ||
	    ttt == ISCSI_RSVD_TAG || be32_get(p.bhs + 16) != itt)
		snprintf(why, sizeof(why), "opcode 0x%02x flags 0x%02x TTT 0x%x, %u bytes; expected an "
			 "empty Text Response, F=0, with a TTT", p.bhs[0] & 0x3f, p.bhs[1], ttt, p.data_len);
	wire_pdu_free(&p);
	wire_check_why(names[0], why);
	if (*why) {
		wire_check_unreached(names + 1, 1, "first part not acknowledged");
		wire_close(&c);
		return;
	}
	if (text_one(&c, itt, ttt, TEXT_F, TEXT_Z("gets=All"), &p, why)) {
		if ((p.bhs[0] & 0x3f) != ISCSI_OP_TEXT_RSP || p.bhs[1] != TEXT_F ||
		    !names_only(&p, t->name))
			snprintf(why, sizeof(why), "opcode 0x%02x flags 0x%02x, %u bytes without %s",
				 p.bhs[0] & 0x3f, p.bhs[1], p.data_len, t->name);
		wire_pdu_free(&p);
	}
	wire_check_why(names[1], why);
	wire_close(&c);
}

/* §11.11.1: a Text Response with F=1 to a request with F=0 is a protocol
 * error; the target answers F=0 with a TTT, and F=1 once the initiator
 * sends F=1. */
static void check_request_without_final(const struct wire_target *t)
{
	static const char *const names[] = {
		"text_request_f0_answered_f0_with_ttt", "text_request_f0_then_f1_ends",
	};
	struct wire_conn c;
	struct wire_pdu p;
	char why[WIRE_WHY_LEN] = "";

	if (!wire_session_open(&c, t, NULL, why, sizeof(why))) {
		wire_check_unreached(names, 2, why);
		return;
	}
	uint32_t itt = c.next_itt++;
	if (!text_one(&c, itt, ISCSI_RSVD_TAG, 0, TEXT_Z("SendTargets="), &p, why)) {
		wire_check_unreached(names, 2, why);
		wire_close(&c);
		return;
	}
	uint32_t ttt = be32_get(p.bhs + 20);
	if ((p.bhs[0] & 0x3f) != ISCSI_OP_TEXT_RSP || (p.bhs[1] & TEXT_F) || ttt == ISCSI_RSVD_TAG)
		snprintf(why, sizeof(why), "opcode 0x%02x flags 0x%02x TTT 0x%x", p.bhs[0] & 0x3f,
			 p.bhs[1], ttt);
	wire_pdu_free(&p);
	wire_check_why(names[0], why);
	if (!*why && text_one(&c, itt, ttt, TEXT_F, NULL, 0, &p, why)) {
		if ((p.bhs[0] & 0x3f) != ISCSI_OP_TEXT_RSP || p.bhs[1] != TEXT_F ||
		    be32_get(p.bhs + 20) != ISCSI_RSVD_TAG)
			snprintf(why, sizeof(why), "opcode 0x%02x flags 0x%02x TTT 0x%x", p.bhs[0] & 0x3f,
				 p.bhs[1], be32_get(p.bhs + 20));
		wire_pdu_free(&p);
	}
	wire_check_why(names[1], why);
	wire_close(&c);
}

/* §12.3: in a Normal session SendTargets names only the session's target:
 * for an empty value, and for "All", which libiscsi sends there. */
static void check_normal_session(const struct wire_target *t)
{
	static const char *const names[] = {
		"sendtargets_empty_in_normal_session_names_own_target",
		"sendtargets_all_in_normal_session_names_own_target_only",
		"sendtargets_other_name_in_normal_session_empty",
	};
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";

	if (!wire_session_open(&c, t, NULL, why, sizeof(why))) {
		wire_check_unreached(names, 3, why);
		return;
	}
	text_expect_final(&c, TEXT_Z("SendTargets="), names_only, t->name, why);
	wire_check_why(names[0], why);
	*why = '\0';
	text_expect_final(&c, TEXT_Z("SendTargets=All"), names_only, t->name, why);
	wire_check_why(names[1], why);
	*why = '\0';
	text_expect_final(&c, TEXT_Z("SendTargets=" NO_SUCH_TARGET), names_no_target, NULL, why);
	wire_check_why(names[2], why);
	wire_close(&c);
}

void wire_text_checks(const struct wire_target *t)
{
	check_discovery_values(t);
	check_continued_request(t);
	check_request_without_final(t);
	check_normal_session(t);
}
