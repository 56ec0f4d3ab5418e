/* Unit tests for the login state machine (RFC 7143 §6.3, §11.12-11.13). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/login.h"

#define TARGET "iqn.2024-01.org.lunar:disk1"
#define INITIATOR "iqn.1993-08.org.debian:01:abcdef"
#define FIRST_STATSN 1000u
#define CMDSN 77u
#define WINDOW 32u
#define BOUND_TSIH 0x1234u

static int the_target;

struct fake {
	struct iscsi_login_env env;
	const char *alias;
	int find_calls, bind_calls;
	uint16_t bind_status;
	uint16_t bind_tsih_in;
	struct iscsi_login lg;
	uint8_t isid[6];
	uint16_t tsih, cid;
	uint32_t itt;
};

static struct fake fk;

/* A decoded Login Response, from the bytes of RFC 7143 §11.13. */
struct rsp {
	bool t, c;
	uint8_t csg, nsg, version_max, version_active;
	uint8_t isid[6];
	uint16_t tsih, status;
	uint32_t itt, statsn, exp_cmdsn, max_cmdsn, dsl;
	uint8_t data[9000];
	size_t len;
	enum iscsi_login_result result;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void decode(const uint8_t *bhs, struct rsp *r)
{
	assert_int_equal(bhs[0], ISCSI_OP_LOGIN_RSP);
	r->t = bhs[1] & 0x80;
	r->c = bhs[1] & 0x40;
	r->csg = (bhs[1] >> 2) & 3;
	r->nsg = bhs[1] & 3;
	r->version_max = bhs[2];
	r->version_active = bhs[3];
	r->dsl = be32(bhs + 4) & 0xffffff;
	memcpy(r->isid, bhs + 8, 6);
	r->tsih = (uint16_t)(bhs[14] << 8 | bhs[15]);
	r->itt = be32(bhs + 16);
	r->statsn = be32(bhs + 24);
	r->exp_cmdsn = be32(bhs + 28);
	r->max_cmdsn = be32(bhs + 32);
	r->status = (uint16_t)(bhs[36] << 8 | bhs[37]);
}

static void *fake_find_target(void *ctx, const char *name)
{
	struct fake *f = ctx;

	f->find_calls++;
	return strcmp(name, TARGET) == 0 ? &the_target : NULL;
}

static const char *fake_target_alias(void *ctx, void *target)
{
	struct fake *f = ctx;

	assert_ptr_equal(target, &the_target);
	return f->alias;
}

static uint16_t fake_bind_session(void *ctx, struct iscsi_login *lg, uint16_t *tsih)
{
	struct fake *f = ctx;

	f->bind_calls++;
	f->bind_tsih_in = lg->tsih;
	*tsih = lg->tsih ? lg->tsih : BOUND_TSIH;
	return f->bind_status;
}

static int setup(void **state)
{
	static const uint8_t isid[6] = { 0x00, 0x02, 0x3d, 0x00, 0x00, 0x01 };

	(void)state;
	memset(&fk, 0, sizeof(fk));
	fk.env.ctx = &fk;
	fk.env.find_target = fake_find_target;
	fk.env.target_alias = fake_target_alias;
	fk.env.bind_session = fake_bind_session;
	iscsi_target_limits_default(&fk.env.limits);
	fk.env.tpgt = 1;
	fk.env.cmd_window = WINDOW;
	memcpy(fk.isid, isid, 6);
	fk.cid = 0;
	fk.itt = 0x10;
	assert_int_equal(iscsi_login_init(&fk.lg, &fk.env), 0);
	iscsi_login_set_initial_statsn(&fk.lg, FIRST_STATSN);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	iscsi_login_fini(&fk.lg);
	return 0;
}

static void make_req(struct iscsi_hdr *h, uint8_t csg, uint8_t nsg, bool t, bool c, size_t len)
{
	memset(h, 0, sizeof(*h));
	h->opcode = ISCSI_OP_LOGIN_REQ;
	h->immediate = true;
	h->data_len = (uint32_t)len;
	h->itt = fk.itt;
	h->login.transit = t;
	h->login.cont = c;
	h->login.csg = csg;
	h->login.nsg = t ? nsg : 0;
	memcpy(h->login.isid, fk.isid, 6);
	h->login.tsih = fk.tsih;
	h->login.cid = fk.cid;
	h->login.cmdsn = CMDSN;
}

static void run(const struct iscsi_hdr *h, const uint8_t *data, size_t len, struct rsp *r)
{
	uint8_t bhs[ISCSI_BHS_LEN];

	memset(r, 0, sizeof(*r));
	r->result = iscsi_login_step(&fk.lg, h, data, len, bhs, r->data, 8192, &r->len);
	decode(bhs, r);
	assert_int_equal(r->dsl, r->len);
}

/* Sends "K=V\n..." as one Login Request. */
static void send_text(uint8_t csg, uint8_t nsg, bool t, bool c, const char *lines, struct rsp *r)
{
	uint8_t text[9000];
	size_t len = strlen(lines);
	struct iscsi_hdr h;

	assert_true(len < sizeof(text));
	for (size_t i = 0; i < len; i++)
		text[i] = lines[i] == '\n' ? '\0' : (uint8_t)lines[i];
	make_req(&h, csg, nsg, t, c, len);
	run(&h, text, len, r);
}

/* The value answered for `key` in r, or NULL. */
static const char *value(const struct rsp *r, const char *key)
{
	static char v[300];
	size_t off = 0, klen = strlen(key);

	while (off < r->len) {
		const char *s = (const char *)r->data + off;
		size_t n = strnlen(s, r->len - off);

		if (n > klen && strncmp(s, key, klen) == 0 && s[klen] == '=') {
			snprintf(v, sizeof(v), "%.*s", (int)(n - klen - 1), s + klen + 1);
			return v;
		}
		off += n + 1;
	}
	return NULL;
}

static void assert_rejected(const struct rsp *r, uint16_t status)
{
	assert_int_equal(r->result, ISCSI_LOGIN_REJECTED);
	assert_int_equal(r->status, status);
	assert_false(r->t);
	assert_int_equal(r->len, 0);
}

#define SEC ISCSI_STAGE_SECURITY
#define OPER ISCSI_STAGE_OPERATIONAL
#define FFP ISCSI_STAGE_FULL_FEATURE

/* What open-iscsi's iscsid sends for a normal session without CHAP. */
static const char open_iscsi_security[] =
	"InitiatorName=" INITIATOR "\nInitiatorAlias=host1\nTargetName=" TARGET "\n"
	"SessionType=Normal\nAuthMethod=None\n";
static const char open_iscsi_operational[] =
	"HeaderDigest=None\nDataDigest=None\nDefaultTime2Wait=2\nDefaultTime2Retain=0\n"
	"IFMarker=No\nOFMarker=No\nErrorRecoveryLevel=0\nInitialR2T=No\nImmediateData=Yes\n"
	"MaxBurstLength=16776192\nFirstBurstLength=262144\nMaxOutstandingR2T=1\n"
	"MaxConnections=1\nDataPDUInOrder=Yes\nDataSequenceInOrder=Yes\n"
	"MaxRecvDataSegmentLength=262144\n";

static void test_open_iscsi_normal_login(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	assert_int_equal(r.status, 0);
	assert_true(r.t);
	assert_false(r.c);
	assert_int_equal(r.csg, SEC);
	assert_int_equal(r.nsg, OPER);
	assert_int_equal(r.version_max, 0);
	assert_int_equal(r.version_active, 0);
	assert_memory_equal(r.isid, fk.isid, 6);
	assert_int_equal(r.tsih, 0);
	assert_int_equal(r.itt, fk.itt);
	assert_int_equal(r.statsn, FIRST_STATSN);
	assert_int_equal(r.exp_cmdsn, CMDSN);
	assert_int_equal(r.max_cmdsn, CMDSN + WINDOW - 1);
	assert_string_equal(value(&r, "AuthMethod"), "None");
	assert_string_equal(value(&r, "TargetPortalGroupTag"), "1");
	assert_null(value(&r, "TargetAlias"));
	assert_null(value(&r, "MaxRecvDataSegmentLength"));
	assert_int_equal(fk.find_calls, 1);
	assert_ptr_equal(fk.lg.target, &the_target);
	assert_string_equal(fk.lg.initiator_name, INITIATOR);
	assert_string_equal(fk.lg.initiator_alias, "host1");
	assert_string_equal(fk.lg.target_name, TARGET);

	send_text(OPER, FFP, true, false, open_iscsi_operational, &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_int_equal(r.status, 0);
	assert_true(r.t);
	assert_int_equal(r.csg, OPER);
	assert_int_equal(r.nsg, FFP);
	assert_int_equal(r.tsih, BOUND_TSIH);
	assert_int_equal(r.statsn, FIRST_STATSN + 1);
	assert_string_equal(value(&r, "HeaderDigest"), "None");
	assert_string_equal(value(&r, "DefaultTime2Retain"), "0");
	assert_string_equal(value(&r, "InitialR2T"), "No");
	assert_string_equal(value(&r, "ImmediateData"), "Yes");
	assert_string_equal(value(&r, "MaxBurstLength"), "1048576");
	assert_string_equal(value(&r, "FirstBurstLength"), "65536");
	assert_string_equal(value(&r, "IFMarker"), "No");
	assert_string_equal(value(&r, "MaxRecvDataSegmentLength"), "262144");
	assert_int_equal(fk.bind_calls, 1);
	assert_int_equal(fk.lg.tsih, BOUND_TSIH);
	assert_int_equal(fk.lg.stage, FFP);
	assert_int_equal(fk.lg.statsn, FIRST_STATSN + 1);
	assert_int_equal(fk.lg.cmdsn, CMDSN);
	assert_int_equal(fk.lg.params.max_send_dsl, 262144);
	assert_int_equal(fk.lg.params.max_recv_dsl, 262144);
	assert_int_equal(fk.lg.params.max_burst, 1048576);
	assert_int_equal(fk.lg.params.first_burst, 65536);
	assert_false(fk.lg.params.initial_r2t);
	assert_true(fk.lg.params.immediate_data);
	assert_int_equal(fk.lg.params.default_time2retain, 0);
}

/* What libiscsi sends (lib/login.c) for a normal session without CHAP. */
static void test_libiscsi_normal_login(void **state)
{
	struct rsp r;

	(void)state;
	fk.alias = "lunar disk";
	send_text(SEC, OPER, true, false,
		  "InitiatorName=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test\n"
		  "TargetName=" TARGET "\nSessionType=Normal\nAuthMethod=None\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	assert_string_equal(value(&r, "TargetAlias"), "lunar disk");
	send_text(OPER, FFP, true, false,
		  "HeaderDigest=None,CRC32C\nDataDigest=None\nInitialR2T=Yes\nImmediateData=Yes\n"
		  "MaxBurstLength=262144\nFirstBurstLength=262144\n"
		  "MaxRecvDataSegmentLength=262144\nDataPDUInOrder=Yes\nDefaultTime2Wait=2\n"
		  "DefaultTime2Retain=0\nIFMarker=No\nOFMarker=No\nErrorRecoveryLevel=0\n"
		  "MaxConnections=1\nDataSequenceInOrder=Yes\nMaxOutstandingR2T=1\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_string_equal(value(&r, "HeaderDigest"), "None");
	assert_string_equal(value(&r, "InitialR2T"), "Yes");
	assert_string_equal(value(&r, "MaxBurstLength"), "262144");
	assert_string_equal(value(&r, "FirstBurstLength"), "65536");
	assert_true(fk.lg.params.initial_r2t);
	assert_int_equal(fk.lg.params.max_burst, 262144);
}

static void test_discovery_login_never_looks_up_a_target(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false,
		  "InitiatorName=" INITIATOR "\nInitiatorAlias=host1\nSessionType=Discovery\n"
		  "AuthMethod=None\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	assert_null(value(&r, "TargetPortalGroupTag"));
	send_text(OPER, FFP, true, false,
		  "HeaderDigest=None\nDataDigest=None\nDefaultTime2Wait=2\nDefaultTime2Retain=0\n"
		  "IFMarker=No\nOFMarker=No\nErrorRecoveryLevel=0\nMaxRecvDataSegmentLength=32768\n",
		  &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_int_equal(fk.find_calls, 0);
	assert_true(fk.lg.discovery);
	assert_null(fk.lg.target);
	assert_int_equal(fk.bind_calls, 1);
	assert_int_equal(fk.lg.params.max_send_dsl, 32768);
}

static void test_discovery_with_target_name_is_fine(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, FFP, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=iqn.2024-01.org.other:x\n"
		  "SessionType=Discovery\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_int_equal(fk.find_calls, 0);
}

static void test_discovery_answers_normal_only_keys_irrelevant(void **state)
{
	struct rsp r;

	(void)state;
	send_text(OPER, FFP, true, false,
		  "InitiatorName=" INITIATOR "\nSessionType=Discovery\nInitialR2T=No\n"
		  "MaxBurstLength=4096\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_string_equal(value(&r, "InitialR2T"), "Irrelevant");
	assert_string_equal(value(&r, "MaxBurstLength"), "Irrelevant");
}

static void test_login_may_start_in_operational_stage(void **state)
{
	struct rsp r;

	(void)state;
	send_text(OPER, FFP, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nMaxBurstLength=4096\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_int_equal(r.csg, OPER);
	assert_string_equal(value(&r, "TargetPortalGroupTag"), "1");
	assert_string_equal(value(&r, "MaxRecvDataSegmentLength"), "262144");
	assert_int_equal(fk.lg.params.max_burst, 4096);
	assert_int_equal(fk.lg.params.first_burst, 4096);
}

static void test_jump_from_security_to_full_feature(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, FFP, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nAuthMethod=None\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_true(r.t);
	assert_int_equal(r.csg, SEC);
	assert_int_equal(r.nsg, FFP);
	assert_string_equal(value(&r, "MaxRecvDataSegmentLength"), "262144");
	assert_int_equal(fk.lg.params.max_recv_dsl, 262144);
	assert_int_equal(fk.lg.params.max_send_dsl, 8192);
	assert_int_equal(fk.lg.params.max_burst, 262144);
}

static void test_no_transit_unless_initiator_asks(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, 0, false, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nAuthMethod=None\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	assert_false(r.t);
	assert_int_equal(r.csg, SEC);
	assert_int_equal(fk.lg.stage, SEC);
	send_text(SEC, OPER, true, false, "", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	assert_true(r.t);
	assert_int_equal(r.nsg, OPER);
	assert_int_equal(fk.lg.stage, OPER);
	assert_int_equal(r.statsn, FIRST_STATSN + 1);
}

static void test_missing_initiator_name(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, "TargetName=" TARGET "\nAuthMethod=None\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_MISSING_PARAMETER);
}

static void test_normal_session_without_target_name(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, "InitiatorName=" INITIATOR "\nAuthMethod=None\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_MISSING_PARAMETER);
	assert_int_equal(fk.find_calls, 0);
}

static void test_unknown_target(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=iqn.2024-01.org.lunar:nope\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_TARGET_NOT_FOUND);
}

static void test_overlong_initiator_name(void **state)
{
	char text[400];
	struct rsp r;

	(void)state;
	snprintf(text, sizeof(text), "InitiatorName=iqn.2024-01.org.x:%0230d\nTargetName=" TARGET "\n", 0);
	send_text(SEC, OPER, true, false, text, &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_unsupported_version(void **state)
{
	struct iscsi_hdr h;
	struct rsp r;

	(void)state;
	make_req(&h, SEC, OPER, true, false, 0);
	h.login.version_max = 2;
	h.login.version_min = 1;
	run(&h, NULL, 0, &r);
	assert_rejected(&r, ISCSI_LOGIN_UNSUPPORTED_VERSION);
}

static void test_version_change_mid_login(void **state)
{
	struct iscsi_hdr h;
	struct rsp r;

	(void)state;
	send_text(SEC, 0, false, false, open_iscsi_security, &r);
	make_req(&h, SEC, OPER, true, false, 0);
	h.login.version_max = 1;
	run(&h, NULL, 0, &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_not_a_login_request(void **state)
{
	struct iscsi_hdr h;
	struct rsp r;

	(void)state;
	make_req(&h, SEC, OPER, true, false, 0);
	h.opcode = ISCSI_OP_TEXT_REQ;
	run(&h, NULL, 0, &r);
	assert_rejected(&r, ISCSI_LOGIN_INVALID_DURING_LOGIN);
}

static void test_wrong_current_stage(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	send_text(SEC, OPER, true, false, "", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_stage_not_advanced_without_transit(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, 0, false, false, open_iscsi_security, &r);
	send_text(OPER, FFP, true, false, "", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_transit_backwards(void **state)
{
	struct rsp r;

	(void)state;
	send_text(OPER, SEC, true, false, "InitiatorName=" INITIATOR "\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_transit_to_reserved_stage(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, 2, true, false, open_iscsi_security, &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_first_request_in_full_feature_stage(void **state)
{
	struct rsp r;

	(void)state;
	send_text(FFP, FFP, false, false, "InitiatorName=" INITIATOR "\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_transit_and_continue_together(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, true, "InitiatorName=" INITIATOR "\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_operational_key_in_security_stage(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nMaxBurstLength=4096\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_auth_method_in_operational_stage(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	send_text(OPER, FFP, true, false, "AuthMethod=None\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_chap_only_fails_authentication(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nAuthMethod=CHAP\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_AUTH_FAILED);
}

static void test_isid_change_mid_login(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	fk.isid[5] ^= 1;
	send_text(OPER, FFP, true, false, "", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_tsih_change_mid_login(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	fk.tsih = 5;
	send_text(OPER, FFP, true, false, "", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_cid_change_mid_login(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	fk.cid = 1;
	send_text(OPER, FFP, true, false, "", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_duplicate_key_in_one_request(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nInitiatorName=x\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_key_repeated_in_later_request(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	send_text(OPER, 0, false, false, "MaxBurstLength=4096\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	send_text(OPER, FFP, true, false, "MaxBurstLength=8192\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_malformed_text(void **state)
{
	struct iscsi_hdr h;
	struct rsp r;
	static const uint8_t text[] = "InitiatorName=" INITIATOR; /* NUL not counted */

	(void)state;
	make_req(&h, SEC, OPER, true, false, sizeof(text) - 1);
	run(&h, text, sizeof(text) - 1, &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_unknown_keys_not_understood(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nX-com.example.v=1\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	assert_string_equal(value(&r, "X-com.example.v"), "NotUnderstood");
}

static void test_initiator_continuation(void **state)
{
	struct rsp r;

	(void)state;
	/* The split falls inside the TargetName pair. */
	send_text(SEC, 0, false, true, "InitiatorName=" INITIATOR "\nTargetN", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	assert_int_equal(r.status, 0);
	assert_false(r.t);
	assert_false(r.c);
	assert_int_equal(r.len, 0);
	assert_int_equal(fk.find_calls, 0);
	send_text(SEC, OPER, true, false, "ame=" TARGET "\nAuthMethod=None\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	assert_true(r.t);
	assert_string_equal(value(&r, "AuthMethod"), "None");
	assert_int_equal(fk.find_calls, 1);
	assert_int_equal(r.statsn, FIRST_STATSN + 1);
}

/* Enough unknown keys that the NotUnderstood answers exceed 8192 bytes
 * while the request stays within one PDU. */
static size_t many_unknown_keys(char *text, size_t cap)
{
	size_t off = 0;

	off += (size_t)snprintf(text + off, cap - off, "InitiatorName=%s\nTargetName=%s\n",
				INITIATOR, TARGET);
	for (int i = 0; i < 400; i++)
		off += (size_t)snprintf(text + off, cap - off, "X-a.%03d=1\n", i);
	return off;
}

static void test_target_continuation(void **state)
{
	char text[12000];
	uint8_t all[20000];
	size_t total = 0;
	struct iscsi_hdr h;
	struct rsp r;
	int parts = 0;

	(void)state;
	many_unknown_keys(text, sizeof(text));
	send_text(SEC, FFP, true, false, text, &r);
	while (r.c) {
		assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
		assert_false(r.t);
		assert_int_equal(r.len, 8192);
		memcpy(all + total, r.data, r.len);
		total += r.len;
		parts++;
		make_req(&h, SEC, FFP, true, false, 0);
		run(&h, NULL, 0, &r);
	}
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_true(r.t);
	assert_int_equal(r.statsn, FIRST_STATSN + (uint32_t)parts);
	memcpy(all + total, r.data, r.len);
	total += r.len;
	assert_true(parts >= 1);
	/* Every answer arrived whole: 400 NotUnderstood plus TPGT and MRDSL. */
	size_t pairs = 0;
	for (size_t i = 0; i < total; i++)
		pairs += all[i] == '\0';
	assert_int_equal(pairs, 402);
	assert_int_equal(all[total - 1], '\0');
}

static void test_request_with_data_during_target_continuation(void **state)
{
	char text[12000];
	struct rsp r;

	(void)state;
	many_unknown_keys(text, sizeof(text));
	send_text(SEC, FFP, true, false, text, &r);
	assert_true(r.c);
	send_text(SEC, FFP, true, false, "InitiatorAlias=x\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_INITIATOR_ERROR);
}

static void test_bind_failure_ends_login(void **state)
{
	struct rsp r;

	(void)state;
	fk.bind_status = ISCSI_LOGIN_TOO_MANY_CONNECTIONS;
	send_text(SEC, FFP, true, false, "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_TOO_MANY_CONNECTIONS);
	assert_int_equal(fk.bind_calls, 1);
}

static void test_connection_joining_a_session(void **state)
{
	struct rsp r;

	(void)state;
	fk.tsih = 0x0042;
	fk.cid = 1;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	assert_int_equal(r.tsih, 0x0042);
	send_text(OPER, FFP, true, false, open_iscsi_operational, &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_int_equal(fk.bind_tsih_in, 0x0042);
	assert_int_equal(r.tsih, 0x0042);
	assert_string_equal(value(&r, "MaxBurstLength"), "Irrelevant");
	assert_int_equal(fk.lg.params.max_send_dsl, 262144);
	assert_int_equal(fk.lg.cid, 1);
}

static void test_request_after_done_is_refused(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, FFP, true, false, "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	send_text(FFP, FFP, true, false, "", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_REJECTED);
}

static void test_statsn_and_cmdsn_bookkeeping(void **state)
{
	struct iscsi_hdr h;
	struct rsp r;

	(void)state;
	fk.env.cmd_window = 1;
	send_text(SEC, 0, false, false, open_iscsi_security, &r);
	assert_int_equal(r.statsn, FIRST_STATSN);
	assert_int_equal(r.max_cmdsn, CMDSN);
	make_req(&h, SEC, OPER, true, false, 0);
	h.login.cmdsn = 0xffffffffu;
	run(&h, NULL, 0, &r);
	assert_int_equal(r.statsn, FIRST_STATSN + 1);
	assert_int_equal(r.exp_cmdsn, 0xffffffffu);
	assert_int_equal(r.max_cmdsn, 0xffffffffu);
	assert_int_equal(fk.lg.cmdsn, 0xffffffffu);
	assert_int_equal(fk.lg.statsn, FIRST_STATSN + 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_iscsi_normal_login),
		T(test_libiscsi_normal_login),
		T(test_discovery_login_never_looks_up_a_target),
		T(test_discovery_with_target_name_is_fine),
		T(test_discovery_answers_normal_only_keys_irrelevant),
		T(test_login_may_start_in_operational_stage),
		T(test_jump_from_security_to_full_feature),
		T(test_no_transit_unless_initiator_asks),
		T(test_missing_initiator_name),
		T(test_normal_session_without_target_name),
		T(test_unknown_target),
		T(test_overlong_initiator_name),
		T(test_unsupported_version),
		T(test_version_change_mid_login),
		T(test_not_a_login_request),
		T(test_wrong_current_stage),
		T(test_stage_not_advanced_without_transit),
		T(test_transit_backwards),
		T(test_transit_to_reserved_stage),
		T(test_first_request_in_full_feature_stage),
		T(test_transit_and_continue_together),
		T(test_operational_key_in_security_stage),
		T(test_auth_method_in_operational_stage),
		T(test_chap_only_fails_authentication),
		T(test_isid_change_mid_login),
		T(test_tsih_change_mid_login),
		T(test_cid_change_mid_login),
		T(test_duplicate_key_in_one_request),
		T(test_key_repeated_in_later_request),
		T(test_malformed_text),
		T(test_unknown_keys_not_understood),
		T(test_initiator_continuation),
		T(test_target_continuation),
		T(test_request_with_data_during_target_continuation),
		T(test_bind_failure_ends_login),
		T(test_connection_joining_a_session),
		T(test_request_after_done_is_refused),
		T(test_statsn_and_cmdsn_bookkeeping),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
