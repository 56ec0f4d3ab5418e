/* Unit tests for the login key negotiation table (RFC 7143 §6.2, §13). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/params.h"
#include "iscsi/pdu.h"
#include "iscsi/textkv.h"

struct fixture {
	struct iscsi_target_limits limits;
	struct iscsi_neg neg;
	uint8_t out[4096];
	struct iscsi_text_buf buf;
	char answer[64];
};

static struct fixture fx;

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	iscsi_target_limits_default(&fx.limits);
	iscsi_neg_init(&fx.neg, &fx.limits, true);
	iscsi_text_buf_init(&fx.buf, fx.out, sizeof(fx.out));
	return 0;
}

/* Offers keys given as "K=V\n..." in one batch. */
static uint16_t offer(int stage, const char *lines)
{
	uint8_t text[1024];
	struct iscsi_text_pair pairs[32];
	size_t len = strlen(lines), n;

	assert_true(len < sizeof(text));
	for (size_t i = 0; i < len; i++)
		text[i] = lines[i] == '\n' ? '\0' : (uint8_t)lines[i];
	assert_int_equal(iscsi_text_parse(text, len, 255, pairs, 32, &n), ISCSI_TEXT_OK);
	return iscsi_neg_answer(&fx.neg, stage, pairs, n, &fx.buf);
}

static uint16_t offer_op(const char *lines)
{
	return offer(ISCSI_STAGE_OPERATIONAL, lines);
}

/* The answer to `key`, or NULL when there is none. */
static const char *answer(const char *key)
{
	size_t off = 0, klen = strlen(key);

	while (off < fx.buf.len) {
		const char *s = (const char *)fx.out + off;

		if (strncmp(s, key, klen) == 0 && s[klen] == '=') {
			snprintf(fx.answer, sizeof(fx.answer), "%s", s + klen + 1);
			return fx.answer;
		}
		off += strlen(s) + 1;
	}
	return NULL;
}

static void test_defaults_are_rfc_values(void **state)
{
	struct iscsi_params p;

	(void)state;
	iscsi_params_default(&p);
	assert_int_equal(p.max_recv_dsl, 8192);
	assert_int_equal(p.max_send_dsl, 8192);
	assert_int_equal(p.max_burst, 262144);
	assert_int_equal(p.first_burst, 65536);
	assert_true(p.initial_r2t);
	assert_true(p.immediate_data);
	assert_int_equal(p.default_time2wait, 2);
	assert_int_equal(p.default_time2retain, 20);
	assert_int_equal(p.max_outstanding_r2t, 1);
	assert_int_equal(p.max_connections, 1);
	assert_true(p.data_pdu_in_order);
	assert_true(p.data_seq_in_order);
	assert_int_equal(p.erl, 0);
	assert_false(p.header_digest);
	assert_false(p.data_digest);
}

static void test_limits_defaults(void **state)
{
	struct iscsi_target_limits l;

	(void)state;
	iscsi_target_limits_default(&l);
	assert_int_equal(l.max_recv_dsl, 262144);
	assert_int_equal(l.max_burst, 1048576);
	assert_int_equal(l.first_burst, 65536);
	assert_int_equal(l.max_outstanding_r2t, 1);
	assert_false(l.initial_r2t);
	assert_true(l.immediate_data);
	assert_int_equal(l.max_connections, 1);
	assert_int_equal(l.default_time2wait, 2);
	assert_int_equal(l.default_time2retain, 20);
	assert_int_equal(l.max_erl, 0);
}

static void test_and_is_no_when_initiator_says_no(void **state)
{
	(void)state;
	assert_int_equal(offer_op("ImmediateData=No\n"), 0);
	assert_string_equal(answer("ImmediateData"), "No");
	assert_false(fx.neg.params.immediate_data);
}

static void test_and_is_no_when_target_says_no(void **state)
{
	(void)state;
	fx.limits.immediate_data = false;
	assert_int_equal(offer_op("ImmediateData=Yes\n"), 0);
	assert_string_equal(answer("ImmediateData"), "No");
	assert_false(fx.neg.params.immediate_data);
}

static void test_or_follows_initiator_when_target_says_no(void **state)
{
	(void)state;
	assert_int_equal(offer_op("InitialR2T=No\n"), 0);
	assert_string_equal(answer("InitialR2T"), "No");
	assert_false(fx.neg.params.initial_r2t);
}

static void test_or_is_yes_when_target_wants_r2t(void **state)
{
	(void)state;
	fx.limits.initial_r2t = true;
	assert_int_equal(offer_op("InitialR2T=No\n"), 0);
	assert_string_equal(answer("InitialR2T"), "Yes");
	assert_true(fx.neg.params.initial_r2t);
}

static void test_data_order_keys_are_or_and_stay_yes(void **state)
{
	(void)state;
	assert_int_equal(offer_op("DataPDUInOrder=No\nDataSequenceInOrder=No\n"), 0);
	assert_string_equal(answer("DataPDUInOrder"), "Yes");
	assert_string_equal(answer("DataSequenceInOrder"), "Yes");
	assert_true(fx.neg.params.data_pdu_in_order);
	assert_true(fx.neg.params.data_seq_in_order);
}

static void test_min_caps_at_target_limit(void **state)
{
	(void)state;
	assert_int_equal(offer_op("MaxBurstLength=16776192\nMaxOutstandingR2T=8\n"), 0);
	assert_string_equal(answer("MaxBurstLength"), "1048576");
	assert_int_equal(fx.neg.params.max_burst, 1048576);
	assert_string_equal(answer("MaxOutstandingR2T"), "1");
}

static void test_min_takes_smaller_offer(void **state)
{
	(void)state;
	assert_int_equal(offer_op("MaxBurstLength=4096\nDefaultTime2Retain=0\n"), 0);
	assert_string_equal(answer("MaxBurstLength"), "4096");
	assert_int_equal(fx.neg.params.max_burst, 4096);
	assert_string_equal(answer("DefaultTime2Retain"), "0");
	assert_int_equal(fx.neg.params.default_time2retain, 0);
}

static void test_max_takes_larger_value(void **state)
{
	(void)state;
	assert_int_equal(offer_op("DefaultTime2Wait=0\n"), 0);
	assert_string_equal(answer("DefaultTime2Wait"), "2");
	assert_int_equal(fx.neg.params.default_time2wait, 2);
}

static void test_max_accepts_larger_offer(void **state)
{
	(void)state;
	assert_int_equal(offer_op("DefaultTime2Wait=10\n"), 0);
	assert_string_equal(answer("DefaultTime2Wait"), "10");
	assert_int_equal(fx.neg.params.default_time2wait, 10);
}

static void test_error_recovery_level_capped_by_max_erl(void **state)
{
	(void)state;
	fx.limits.max_erl = 1;
	assert_int_equal(offer_op("ErrorRecoveryLevel=2\n"), 0);
	assert_string_equal(answer("ErrorRecoveryLevel"), "1");
	assert_int_equal(fx.neg.params.erl, 1);
}

static void test_max_connections_capped(void **state)
{
	(void)state;
	fx.limits.max_connections = 4;
	assert_int_equal(offer_op("MaxConnections=8\n"), 0);
	assert_string_equal(answer("MaxConnections"), "4");
	assert_int_equal(fx.neg.params.max_connections, 4);
}

static void test_out_of_range_is_rejected_and_keeps_default(void **state)
{
	(void)state;
	assert_int_equal(offer_op("MaxBurstLength=511\nErrorRecoveryLevel=3\n"
				  "MaxOutstandingR2T=0\nDefaultTime2Wait=3601\n"), 0);
	assert_string_equal(answer("MaxBurstLength"), "Reject");
	assert_string_equal(answer("ErrorRecoveryLevel"), "Reject");
	assert_string_equal(answer("MaxOutstandingR2T"), "Reject");
	assert_string_equal(answer("DefaultTime2Wait"), "Reject");
	assert_int_equal(fx.neg.params.max_burst, 262144);
}

static void test_malformed_numbers_are_rejected(void **state)
{
	(void)state;
	assert_int_equal(offer_op("MaxBurstLength=08192\nFirstBurstLength=12k\n"
				  "DefaultTime2Retain=\nMaxConnections=99999999999999999999999\n"), 0);
	assert_string_equal(answer("MaxBurstLength"), "Reject");
	assert_string_equal(answer("FirstBurstLength"), "Reject");
	assert_string_equal(answer("DefaultTime2Retain"), "Reject");
	assert_string_equal(answer("MaxConnections"), "Reject");
}

static void test_hex_numbers_are_accepted(void **state)
{
	(void)state;
	assert_int_equal(offer_op("MaxBurstLength=0x1000\n"), 0);
	assert_string_equal(answer("MaxBurstLength"), "4096");
}

static void test_malformed_boolean_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(offer_op("ImmediateData=yes\n"), 0);
	assert_string_equal(answer("ImmediateData"), "Reject");
	assert_true(fx.neg.params.immediate_data);
}

static void test_first_burst_capped_by_max_burst_in_same_batch(void **state)
{
	(void)state;
	assert_int_equal(offer_op("FirstBurstLength=65536\nMaxBurstLength=16384\n"
				  "InitialR2T=No\n"), 0);
	assert_string_equal(answer("MaxBurstLength"), "16384");
	assert_string_equal(answer("FirstBurstLength"), "16384");
	assert_int_equal(fx.neg.params.first_burst, 16384);
}

static void test_finish_caps_default_first_burst(void **state)
{
	(void)state;
	assert_int_equal(offer_op("MaxBurstLength=8192\n"), 0);
	assert_int_equal(fx.neg.params.first_burst, 65536);
	iscsi_neg_finish(&fx.neg);
	assert_int_equal(fx.neg.params.first_burst, 8192);
}

static void test_first_burst_irrelevant_without_unsolicited_data(void **state)
{
	(void)state;
	fx.limits.initial_r2t = true;
	assert_int_equal(offer_op("InitialR2T=Yes\nImmediateData=No\nFirstBurstLength=4096\n"), 0);
	assert_string_equal(answer("FirstBurstLength"), "Irrelevant");
	assert_int_equal(fx.neg.params.first_burst, 65536);
}

static void test_declared_mrdsl_sets_send_limit_without_answer(void **state)
{
	(void)state;
	assert_int_equal(offer_op("MaxRecvDataSegmentLength=65536\n"), 0);
	assert_null(answer("MaxRecvDataSegmentLength"));
	assert_int_equal(fx.neg.params.max_send_dsl, 65536);
	assert_int_equal(fx.neg.params.max_recv_dsl, 8192);
}

static void test_declared_mrdsl_out_of_range_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(offer_op("MaxRecvDataSegmentLength=16777216\n"), 0);
	assert_string_equal(answer("MaxRecvDataSegmentLength"), "Reject");
	assert_int_equal(fx.neg.params.max_send_dsl, 8192);
}

static void test_target_declares_mrdsl_once(void **state)
{
	(void)state;
	fx.limits.max_recv_dsl = 131072;
	assert_int_equal(iscsi_neg_declare(&fx.neg, &fx.buf), 0);
	assert_string_equal(answer("MaxRecvDataSegmentLength"), "131072");
	assert_int_equal(fx.neg.params.max_recv_dsl, 131072);
	size_t len = fx.buf.len;
	assert_int_equal(iscsi_neg_declare(&fx.neg, &fx.buf), 0);
	assert_int_equal(fx.buf.len, len);
}

static void test_list_picks_first_supported_value(void **state)
{
	(void)state;
	assert_int_equal(offer_op("HeaderDigest=CRC32C,None\nDataDigest=None\n"), 0);
	assert_string_equal(answer("HeaderDigest"), "None");
	assert_string_equal(answer("DataDigest"), "None");
	assert_false(fx.neg.params.header_digest);
}

static void test_list_without_supported_value_is_rejected(void **state)
{
	(void)state;
	assert_int_equal(offer_op("HeaderDigest=CRC32C\nDataDigest=None,,CRC32C\n"), 0);
	assert_string_equal(answer("HeaderDigest"), "Reject");
	assert_string_equal(answer("DataDigest"), "Reject");
}

static uint32_t offered_auth;

static uint16_t offer_auth(void *arg, const char *key, uint32_t *codes)
{
	(void)arg;
	assert_string_equal(key, "AuthMethod");
	*codes = offered_auth;
	return 0;
}

static void test_auth_method_first_offered_value_the_login_accepts(void **state)
{
	(void)state;
	fx.neg.offer = offer_auth;
	offered_auth = 1u << ISCSI_AUTH_NONE;
	assert_int_equal(offer(ISCSI_STAGE_SECURITY, "AuthMethod=CHAP,None\n"), 0);
	assert_string_equal(answer("AuthMethod"), "None");
	assert_int_equal(fx.neg.auth_method, ISCSI_AUTH_NONE);
}

static void test_auth_method_chap_when_the_login_accepts_it(void **state)
{
	(void)state;
	fx.neg.offer = offer_auth;
	offered_auth = 1u << ISCSI_AUTH_CHAP | 1u << ISCSI_AUTH_NONE;
	assert_int_equal(offer(ISCSI_STAGE_SECURITY, "AuthMethod=CHAP,None\n"), 0);
	assert_string_equal(answer("AuthMethod"), "CHAP");
	assert_int_equal(fx.neg.auth_method, ISCSI_AUTH_CHAP);
}

static void test_auth_method_nothing_accepted_fails_login(void **state)
{
	(void)state;
	fx.neg.offer = offer_auth;
	offered_auth = 1u << ISCSI_AUTH_NONE;
	assert_int_equal(offer(ISCSI_STAGE_SECURITY, "AuthMethod=CHAP\n"), ISCSI_LOGIN_AUTH_FAILED);
}

static void test_unknown_and_extension_keys_not_understood(void **state)
{
	(void)state;
	assert_int_equal(offer_op("FooBar=1\nX-com.example.thing=1\nX#NodeArchitecture=x\n"), 0);
	assert_string_equal(answer("FooBar"), "NotUnderstood");
	assert_string_equal(answer("X-com.example.thing"), "NotUnderstood");
	assert_string_equal(answer("X#NodeArchitecture"), "NotUnderstood");
}

static void test_obsolete_marker_keys(void **state)
{
	(void)state;
	assert_int_equal(offer_op("IFMarker=No\nOFMarker=Yes\nOFMarkInt=2048~8192\n"), 0);
	assert_string_equal(answer("IFMarker"), "No");
	assert_string_equal(answer("OFMarker"), "No");
	assert_string_equal(answer("OFMarkInt"), "Reject");
}

static void test_protocol_level_and_task_reporter(void **state)
{
	(void)state;
	assert_int_equal(offer_op("iSCSIProtocolLevel=2\nTaskReporter=FastAbort,RFC3720\n"), 0);
	assert_string_equal(answer("iSCSIProtocolLevel"), "1");
	assert_string_equal(answer("TaskReporter"), "RFC3720");
}

static void test_normal_session_keys_irrelevant_in_discovery(void **state)
{
	(void)state;
	assert_int_equal(offer(ISCSI_STAGE_SECURITY, "SessionType=Discovery\n"), 0);
	assert_true(fx.neg.discovery);
	assert_int_equal(offer_op("InitialR2T=No\nMaxBurstLength=4096\nMaxConnections=2\n"
				  "ErrorRecoveryLevel=0\n"), 0);
	assert_string_equal(answer("InitialR2T"), "Irrelevant");
	assert_string_equal(answer("MaxBurstLength"), "Irrelevant");
	assert_string_equal(answer("MaxConnections"), "Irrelevant");
	assert_string_equal(answer("ErrorRecoveryLevel"), "0");
	assert_int_equal(fx.neg.params.max_burst, 262144);
}

static void test_session_type_in_same_batch_decides_relevance(void **state)
{
	(void)state;
	assert_int_equal(offer_op("ImmediateData=No\nSessionType=Discovery\n"), 0);
	assert_string_equal(answer("ImmediateData"), "Irrelevant");
}

static void test_unknown_session_type_fails(void **state)
{
	(void)state;
	assert_int_equal(offer(ISCSI_STAGE_SECURITY, "SessionType=Fancy\n"),
			 ISCSI_LOGIN_SESSION_TYPE_UNSUPPORTED);
}

static void test_leading_only_keys_irrelevant_on_other_connections(void **state)
{
	(void)state;
	iscsi_neg_init(&fx.neg, &fx.limits, false);
	assert_int_equal(offer_op("MaxBurstLength=4096\nMaxRecvDataSegmentLength=4096\n"), 0);
	assert_string_equal(answer("MaxBurstLength"), "Irrelevant");
	assert_int_equal(fx.neg.params.max_send_dsl, 4096);
}

static void test_operational_key_in_security_stage_fails(void **state)
{
	(void)state;
	assert_int_equal(offer(ISCSI_STAGE_SECURITY, "MaxBurstLength=4096\n"),
			 ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_security_key_in_operational_stage_fails(void **state)
{
	(void)state;
	assert_int_equal(offer_op("AuthMethod=None\n"), ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_send_targets_during_login_fails(void **state)
{
	(void)state;
	assert_int_equal(offer_op("SendTargets=All\n"), ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_target_only_key_from_initiator_fails(void **state)
{
	(void)state;
	assert_int_equal(offer_op("TargetAlias=x\n"), ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_key_renegotiated_in_later_batch_fails(void **state)
{
	(void)state;
	assert_int_equal(offer_op("MaxBurstLength=4096\n"), 0);
	assert_int_equal(offer_op("MaxBurstLength=4096\n"), ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_identity_key_after_first_batch_fails(void **state)
{
	(void)state;
	assert_int_equal(offer(ISCSI_STAGE_SECURITY, "InitiatorName=iqn.2024-01.org.a:i\n"), 0);
	assert_int_equal(offer(ISCSI_STAGE_SECURITY, "TargetName=iqn.2024-01.org.a:t\n"),
			 ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_identity_keys_are_recorded(void **state)
{
	(void)state;
	assert_int_equal(offer(ISCSI_STAGE_SECURITY, "InitiatorName=iqn.2024-01.org.a:i\n"
			       "TargetName=iqn.2024-01.org.a:t\nInitiatorAlias=host1\n"), 0);
	assert_string_equal(fx.neg.initiator_name, "iqn.2024-01.org.a:i");
	assert_string_equal(fx.neg.target_name, "iqn.2024-01.org.a:t");
	assert_string_equal(fx.neg.initiator_alias, "host1");
	assert_false(fx.neg.discovery);
	assert_int_equal(fx.buf.len, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
		T(test_defaults_are_rfc_values),
		T(test_limits_defaults),
		T(test_and_is_no_when_initiator_says_no),
		T(test_and_is_no_when_target_says_no),
		T(test_or_follows_initiator_when_target_says_no),
		T(test_or_is_yes_when_target_wants_r2t),
		T(test_data_order_keys_are_or_and_stay_yes),
		T(test_min_caps_at_target_limit),
		T(test_min_takes_smaller_offer),
		T(test_max_takes_larger_value),
		T(test_max_accepts_larger_offer),
		T(test_error_recovery_level_capped_by_max_erl),
		T(test_max_connections_capped),
		T(test_out_of_range_is_rejected_and_keeps_default),
		T(test_malformed_numbers_are_rejected),
		T(test_hex_numbers_are_accepted),
		T(test_malformed_boolean_is_rejected),
		T(test_first_burst_capped_by_max_burst_in_same_batch),
		T(test_finish_caps_default_first_burst),
		T(test_first_burst_irrelevant_without_unsolicited_data),
		T(test_declared_mrdsl_sets_send_limit_without_answer),
		T(test_declared_mrdsl_out_of_range_is_rejected),
		T(test_target_declares_mrdsl_once),
		T(test_list_picks_first_supported_value),
		T(test_list_without_supported_value_is_rejected),
		T(test_auth_method_first_offered_value_the_login_accepts),
		T(test_auth_method_chap_when_the_login_accepts_it),
		T(test_auth_method_nothing_accepted_fails_login),
		T(test_unknown_and_extension_keys_not_understood),
		T(test_obsolete_marker_keys),
		T(test_protocol_level_and_task_reporter),
		T(test_normal_session_keys_irrelevant_in_discovery),
		T(test_session_type_in_same_batch_decides_relevance),
		T(test_unknown_session_type_fails),
		T(test_leading_only_keys_irrelevant_on_other_connections),
		T(test_operational_key_in_security_stage_fails),
		T(test_security_key_in_operational_stage_fails),
		T(test_send_targets_during_login_fails),
		T(test_target_only_key_from_initiator_fails),
		T(test_key_renegotiated_in_later_batch_fails),
		T(test_identity_key_after_first_batch_fails),
		T(test_identity_keys_are_recorded),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
