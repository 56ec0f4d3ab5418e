/* Unit tests for the login state machine (RFC 7143 §6.3, §11.12-11.13). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/chap.h"
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

/* Portal groups: this connection's group (fk.env.tpgt) does not serve the
 * target. */
static bool fake_target_elsewhere(void *ctx, void *target)
{
	return false;
}

static bool fake_target_here(void *ctx, void *target)
{
	return true;
}

static void test_target_not_at_this_portal_group(void **state)
{
	struct rsp r;

	(void)state;
	fk.env.target_here = fake_target_elsewhere;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	/* RFC 7143 §11.13.5: 0203, not at this address */
	assert_rejected(&r, ISCSI_LOGIN_TARGET_NOT_FOUND);
}

static void test_portal_group_tag_declared(void **state)
{
	struct rsp r;

	(void)state;
	fk.env.target_here = fake_target_here;
	fk.env.tpgt = 7;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(value(&r, "TargetPortalGroupTag"), "7");
}

/* A target with limits of its own: MaxRecvDataSegmentLength 16384,
 * MaxBurstLength 131072. */
static bool fake_target_limits(void *ctx, const char *name, struct iscsi_target_limits *out)
{
	if (strcmp(name, TARGET) != 0)
		return false;
	iscsi_target_limits_default(out);
	out->max_recv_dsl = 16384;
	out->max_burst = 131072;
	out->first_burst = 8192;
	return true;
}

static void test_target_limits_apply_to_its_logins(void **state)
{
	struct rsp r;

	(void)state;
	fk.env.target_limits = fake_target_limits;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	assert_int_equal(r.status, 0);
	send_text(OPER, FFP, true, false, open_iscsi_operational, &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_string_equal(value(&r, "MaxRecvDataSegmentLength"), "16384");
	assert_string_equal(value(&r, "MaxBurstLength"), "131072");
	assert_int_equal(fk.lg.params.max_recv_dsl, 16384);
	assert_int_equal(fk.lg.params.max_burst, 131072);
	assert_int_equal(fk.lg.params.first_burst, 8192);
}

/* Operational keys in the first request are answered with the target's
 * limits too: they are chosen before any key is. */
static void test_target_limits_chosen_before_the_first_keys(void **state)
{
	struct rsp r;

	(void)state;
	fk.env.target_limits = fake_target_limits;
	send_text(OPER, FFP, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nSessionType=Normal\n"
		  "MaxBurstLength=16776192\nFirstBurstLength=262144\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_string_equal(value(&r, "MaxBurstLength"), "131072");
	assert_string_equal(value(&r, "FirstBurstLength"), "8192");
}

static void test_discovery_keeps_global_limits(void **state)
{
	struct rsp r;

	(void)state;
	fk.env.target_limits = fake_target_limits;
	send_text(OPER, FFP, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nSessionType=Discovery\n"
		  "MaxRecvDataSegmentLength=262144\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
	assert_string_equal(value(&r, "MaxRecvDataSegmentLength"), "262144");
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


/* ---- authentication (RFC 7143 §12.1.3) ---- */

#define USER "alice"
#define USER_SECRET "alice-secret-0123"
#define TUSER "lunar-target"
#define TSECRET "target-secret-4567"

struct fake_access {
	bool required, offered, target_account, authorize;
	void *authorize_target;
	char authorize_initiator[ISCSI_NAME_MAX], authorize_user[ISCSI_CHAP_NAME_MAX];
	int authorize_calls;
	void *secret_target;
};

static struct fake_access fa;

static bool fa_required(void *target)
{
	(void)target;
	return fa.required;
}

static bool fa_offered(void *target)
{
	(void)target;
	return fa.offered;
}

static void fa_set(struct iscsi_chap_secret *out, const char *secret)
{
	out->len = strlen(secret);
	memcpy(out->bytes, secret, out->len);
}

static bool fa_initiator_secret(void *target, const char *user, struct iscsi_chap_secret *out)
{
	fa.secret_target = target;
	if (strcmp(user, USER) != 0)
		return false;
	fa_set(out, USER_SECRET);
	return true;
}

static bool fa_target_account(void *target, char user[ISCSI_CHAP_NAME_MAX], struct iscsi_chap_secret *out)
{
	(void)target;
	if (!fa.target_account)
		return false;
	strcpy(user, TUSER);
	fa_set(out, TSECRET);
	return true;
}

static bool fa_authorize(void *target, const char *initiator_name, const char *chap_user)
{
	fa.authorize_calls++;
	fa.authorize_target = target;
	snprintf(fa.authorize_initiator, sizeof(fa.authorize_initiator), "%s", initiator_name);
	snprintf(fa.authorize_user, sizeof(fa.authorize_user), "%s", chap_user);
	return fa.authorize;
}

static const struct iscsi_access fake_access_ops = {
	.chap_required = fa_required,
	.chap_offered = fa_offered,
	.chap_initiator_secret = fa_initiator_secret,
	.chap_target_account = fa_target_account,
	.authorize = fa_authorize,
};

static int setup_chap(void **state)
{
	setup(state);
	memset(&fa, 0, sizeof(fa));
	fa.required = true;
	fa.offered = true;
	fa.target_account = true;
	fa.authorize = true;
	fk.env.access = &fake_access_ops;
	return 0;
}

static const char chap_first[] =
	"InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nSessionType=Normal\nAuthMethod=CHAP,None\n";

/* The identifier and challenge we were sent, from a CHAP_A answer. */
static void got_challenge(const struct rsp *r, uint8_t *id, uint8_t *c, size_t *clen)
{
	const char *v = value(r, "CHAP_I");
	int n;

	assert_non_null(v);
	*id = (uint8_t)chap_parse_id(v, strlen(v));
	v = value(r, "CHAP_C");
	assert_non_null(v);
	n = chap_decode_binary(v, strlen(v), c, CHAP_DIGEST_MAX);
	assert_true(n >= CHAP_CHALLENGE_MIN);
	*clen = (size_t)n;
}

/* Runs AuthMethod and CHAP_A; returns the challenge. */
static void chap_start(const char *algs, uint8_t *id, uint8_t *c, size_t *clen)
{
	char text[64];
	struct rsp r;

	send_text(SEC, OPER, true, false, chap_first, &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	assert_string_equal(value(&r, "AuthMethod"), "CHAP");
	assert_false(r.t);
	snprintf(text, sizeof(text), "CHAP_A=%s\n", algs);
	send_text(SEC, OPER, true, false, text, &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	assert_int_equal(r.status, 0);
	assert_false(r.t);
	got_challenge(&r, id, c, clen);
}

/* "CHAP_N=<user>\nCHAP_R=0x<H(id || secret || c)>\n" and extra. */
static void chap_reply(unsigned code, const char *user, const char *secret, uint8_t id, const uint8_t *c,
		       size_t clen, const char *extra, struct rsp *r)
{
	uint8_t d[CHAP_DIGEST_MAX];
	char hex[CHAP_HEX_MAX(CHAP_DIGEST_MAX)], text[2600];
	const struct chap_alg *alg = chap_alg_find(code);

	assert_int_equal(chap_response(alg, id, (const uint8_t *)secret, strlen(secret), c, clen, d), 0);
	chap_encode_hex(d, alg->digest_len, hex);
	snprintf(text, sizeof(text), "CHAP_N=%s\nCHAP_R=%s\n%s", user, hex, extra);
	send_text(SEC, OPER, true, false, text, r);
}

static void test_chap_one_way(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	chap_start("5", &id, c, &clen);
	assert_int_equal(clen, 16);
	chap_reply(5, USER, USER_SECRET, id, c, clen, "", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_CONTINUE);
	assert_int_equal(r.status, 0);
	assert_true(r.t);
	assert_int_equal(r.nsg, OPER);
	assert_null(value(&r, "CHAP_N"));
	assert_string_equal(fk.lg.chap_user, USER);
	assert_int_equal(fa.authorize_calls, 1);
	assert_ptr_equal(fa.authorize_target, &the_target);
	assert_ptr_equal(fa.secret_target, &the_target);
	assert_string_equal(fa.authorize_initiator, INITIATOR);
	assert_string_equal(fa.authorize_user, USER);
	send_text(OPER, FFP, true, false, "MaxRecvDataSegmentLength=65536\n", &r);
	assert_int_equal(r.result, ISCSI_LOGIN_DONE);
}

static void test_chap_every_algorithm(void **state)
{
	static const struct { const char *offer; unsigned code; size_t clen; } cases[] = {
		{ "6", 6, 20 }, { "7", 7, 32 }, { "8,7,6,5", 8, 32 }, { "1,7,5", 7, 32 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t id, c[CHAP_DIGEST_MAX];
		size_t clen;
		struct rsp r;

		teardown(state);
		setup_chap(state);
		chap_start(cases[i].offer, &id, &c[0], &clen);
		assert_int_equal(clen, cases[i].clen);
		chap_reply(cases[i].code, USER, USER_SECRET, id, c, clen, "", &r);
		assert_int_equal(r.status, 0);
		assert_true(r.t);
	}
}

static void test_chap_algorithm_answer(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, chap_first, &r);
	send_text(SEC, OPER, true, false, "CHAP_A=7,5\n", &r);
	assert_string_equal(value(&r, "CHAP_A"), "7");
}

static void test_chap_mutual(void **state)
{
	static const uint8_t ic[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	uint8_t id, c[CHAP_DIGEST_MAX], want[CHAP_DIGEST_MAX], got[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;
	const char *v;

	(void)state;
	chap_start("5", &id, c, &clen);
	chap_reply(5, USER, USER_SECRET, id, c, clen, "CHAP_I=77\nCHAP_C=0x0102030405060708090a0b0c0d0e0f10\n", &r);
	assert_int_equal(r.status, 0);
	assert_true(r.t);
	assert_string_equal(value(&r, "CHAP_N"), TUSER);
	v = value(&r, "CHAP_R");
	assert_non_null(v);
	assert_int_equal(chap_decode_binary(v, strlen(v), got, sizeof(got)), 16);
	assert_int_equal(chap_response(chap_alg_find(5), 77, (const uint8_t *)TSECRET, strlen(TSECRET), ic,
				       sizeof(ic), want), 0);
	assert_memory_equal(got, want, 16);
}

static void assert_auth_failed(const struct rsp *r)
{
	assert_rejected(r, ISCSI_LOGIN_AUTH_FAILED);
	assert_non_null(fk.lg.fail_reason);
	assert_int_equal(fa.authorize_calls, 0);
	assert_string_equal(fk.lg.chap_user, "");
}

static void test_chap_wrong_secret(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	chap_start("5", &id, c, &clen);
	chap_reply(5, USER, "not-alices-secret", id, c, clen, "", &r);
	assert_auth_failed(&r);
}

static void test_chap_unknown_user(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	chap_start("5", &id, c, &clen);
	chap_reply(5, "mallory", USER_SECRET, id, c, clen, "", &r);
	assert_auth_failed(&r);
}

static void test_chap_wrong_identifier(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	chap_start("5", &id, c, &clen);
	chap_reply(5, USER, USER_SECRET, (uint8_t)(id + 1), c, clen, "", &r);
	assert_auth_failed(&r);
}

static void test_chap_response_of_other_algorithm(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	chap_start("7", &id, c, &clen);
	chap_reply(8, USER, USER_SECRET, id, c, clen, "", &r);
	assert_auth_failed(&r);
}

static void test_chap_missing_response(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	chap_start("5", &id, c, &clen);
	send_text(SEC, OPER, true, false, "CHAP_N=" USER "\n", &r);
	assert_auth_failed(&r);
}

static void test_chap_missing_name(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	chap_start("5", &id, c, &clen);
	send_text(SEC, OPER, true, false, "CHAP_R=0x00112233445566778899aabbccddeeff\n", &r);
	assert_auth_failed(&r);
}

static void test_chap_malformed_response(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	chap_start("5", &id, c, &clen);
	send_text(SEC, OPER, true, false, "CHAP_N=" USER "\nCHAP_R=12345\n", &r);
	assert_auth_failed(&r);
}

static void test_chap_unsupported_algorithm(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, chap_first, &r);
	send_text(SEC, OPER, true, false, "CHAP_A=4,9\n", &r);
	assert_auth_failed(&r);
}

static void test_chap_response_before_challenge(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, chap_first, &r);
	send_text(SEC, OPER, true, false, "CHAP_N=" USER "\nCHAP_R=0x00\n", &r);
	assert_auth_failed(&r);
}

static void test_chap_key_before_auth_method(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, false, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nCHAP_A=5\n", &r);
	assert_auth_failed(&r);
}

static void test_chap_algorithm_repeated(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	chap_start("5", &id, c, &clen);
	send_text(SEC, OPER, true, false, "CHAP_A=5\n", &r);
	assert_auth_failed(&r);
}

static void test_chap_key_after_authentication(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	chap_start("5", &id, c, &clen);
	chap_reply(5, USER, USER_SECRET, id, c, clen, "", &r);
	assert_int_equal(r.status, 0);
	send_text(OPER, FFP, true, false, "CHAP_I=1\n", &r);
	assert_rejected(&r, ISCSI_LOGIN_AUTH_FAILED);
}

static void mutual_fails(const char *extra)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	chap_start("5", &id, c, &clen);
	chap_reply(5, USER, USER_SECRET, id, c, clen, extra, &r);
	assert_rejected(&r, ISCSI_LOGIN_AUTH_FAILED);
	assert_non_null(fk.lg.fail_reason);
	assert_int_equal(fa.authorize_calls, 0);
}

static void test_chap_mutual_reflected_challenge(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	char hex[CHAP_HEX_MAX(CHAP_DIGEST_MAX)], extra[200];
	size_t clen;
	struct rsp r;

	(void)state;
	chap_start("5", &id, c, &clen);
	chap_encode_hex(c, clen, hex);
	snprintf(extra, sizeof(extra), "CHAP_I=%u\nCHAP_C=%s\n", id, hex);
	chap_reply(5, USER, USER_SECRET, id, c, clen, extra, &r);
	assert_auth_failed(&r);
}

static void test_chap_mutual_short_challenge(void **state)
{
	(void)state;
	mutual_fails("CHAP_I=1\nCHAP_C=0x0102030405060708090a0b0c0d0e0f\n");
}

static void test_chap_mutual_oversized_challenge(void **state)
{
	static char extra[2 + 2 * 1025 + 32];

	(void)state;
	strcpy(extra, "CHAP_I=1\nCHAP_C=0x");
	memset(extra + strlen(extra), 'a', 2 * 1025);
	strcat(extra, "\n");
	mutual_fails(extra);
}

static void test_chap_mutual_without_identifier(void **state)
{
	(void)state;
	mutual_fails("CHAP_C=0x0102030405060708090a0b0c0d0e0f10\n");
}

static void test_chap_mutual_without_target_account(void **state)
{
	(void)state;
	fa.target_account = false;
	mutual_fails("CHAP_I=1\nCHAP_C=0x0102030405060708090a0b0c0d0e0f10\n");
}

static void test_chap_required_but_none_offered(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nAuthMethod=None\n", &r);
	assert_auth_failed(&r);
}

static void test_chap_required_but_security_skipped(void **state)
{
	struct rsp r;

	(void)state;
	send_text(OPER, FFP, true, false, "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\n", &r);
	assert_auth_failed(&r);
}

static void test_chap_required_but_no_auth_method(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\n", &r);
	assert_auth_failed(&r);
}

static void test_chap_negotiated_then_skipped(void **state)
{
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false, chap_first, &r);
	send_text(SEC, OPER, true, false, "", &r);
	assert_auth_failed(&r);
}

static void test_chap_optional_lets_none_in(void **state)
{
	struct rsp r;

	(void)state;
	fa.required = false;
	send_text(SEC, OPER, true, false,
		  "InitiatorName=" INITIATOR "\nTargetName=" TARGET "\nAuthMethod=None\n", &r);
	assert_int_equal(r.status, 0);
	assert_true(r.t);
	assert_int_equal(fa.authorize_calls, 1);
	assert_string_equal(fa.authorize_user, "");
}

static void test_chap_optional_prefers_initiator_order(void **state)
{
	struct rsp r;

	(void)state;
	fa.required = false;
	send_text(SEC, OPER, true, false, chap_first, &r);
	assert_string_equal(value(&r, "AuthMethod"), "CHAP");
	assert_int_equal(fa.authorize_calls, 0);
}

static void test_no_accounts_offers_none_only(void **state)
{
	struct rsp r;

	(void)state;
	fa.required = false;
	fa.offered = false;
	send_text(SEC, OPER, true, false, chap_first, &r);
	assert_string_equal(value(&r, "AuthMethod"), "None");
	assert_int_equal(fa.authorize_calls, 1);
}

static void test_not_authorized(void **state)
{
	struct rsp r;

	(void)state;
	fa.required = false;
	fa.offered = false;
	fa.authorize = false;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	assert_rejected(&r, ISCSI_LOGIN_NOT_AUTHORIZED);
	assert_int_equal(fa.authorize_calls, 1);
}

static void test_not_authorized_after_chap(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	fa.authorize = false;
	chap_start("5", &id, c, &clen);
	chap_reply(5, USER, USER_SECRET, id, c, clen, "", &r);
	assert_rejected(&r, ISCSI_LOGIN_NOT_AUTHORIZED);
	assert_string_equal(fa.authorize_user, USER);
}

static void test_discovery_chap_passes_no_target(void **state)
{
	uint8_t id, c[CHAP_DIGEST_MAX];
	size_t clen;
	struct rsp r;

	(void)state;
	send_text(SEC, OPER, true, false,
		  "InitiatorName=" INITIATOR "\nSessionType=Discovery\nAuthMethod=CHAP\n", &r);
	assert_string_equal(value(&r, "AuthMethod"), "CHAP");
	send_text(SEC, OPER, true, false, "CHAP_A=5\n", &r);
	got_challenge(&r, &id, c, &clen);
	chap_reply(5, USER, USER_SECRET, id, c, clen, "", &r);
	assert_int_equal(r.status, 0);
	assert_null(fa.secret_target);
	assert_null(fa.authorize_target);
	assert_int_equal(fk.find_calls, 0);
}

static void test_chap_required_without_account_callbacks_fails(void **state)
{
	static const struct iscsi_access only_required = { .chap_required = fa_required };
	struct rsp r;

	(void)state;
	fk.env.access = &only_required;
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	assert_rejected(&r, ISCSI_LOGIN_AUTH_FAILED);
}

static void test_state_allocated_at_first_request(void **state)
{
	struct rsp r;

	(void)state;
	assert_null(fk.lg.priv);
	send_text(SEC, OPER, true, false, open_iscsi_security, &r);
	assert_non_null(fk.lg.priv);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_target_not_at_this_portal_group),
		T(test_portal_group_tag_declared),
		T(test_target_limits_apply_to_its_logins),
		T(test_target_limits_chosen_before_the_first_keys),
		T(test_discovery_keeps_global_limits),
#define TC(f) cmocka_unit_test_setup_teardown(f, setup_chap, teardown)
		TC(test_chap_one_way),
		TC(test_chap_every_algorithm),
		TC(test_chap_algorithm_answer),
		TC(test_chap_mutual),
		TC(test_chap_wrong_secret),
		TC(test_chap_unknown_user),
		TC(test_chap_wrong_identifier),
		TC(test_chap_response_of_other_algorithm),
		TC(test_chap_missing_response),
		TC(test_chap_missing_name),
		TC(test_chap_malformed_response),
		TC(test_chap_unsupported_algorithm),
		TC(test_chap_response_before_challenge),
		TC(test_chap_key_before_auth_method),
		TC(test_chap_algorithm_repeated),
		TC(test_chap_key_after_authentication),
		TC(test_chap_mutual_reflected_challenge),
		TC(test_chap_mutual_short_challenge),
		TC(test_chap_mutual_oversized_challenge),
		TC(test_chap_mutual_without_identifier),
		TC(test_chap_mutual_without_target_account),
		TC(test_chap_required_but_none_offered),
		TC(test_chap_required_but_security_skipped),
		TC(test_chap_required_but_no_auth_method),
		TC(test_chap_negotiated_then_skipped),
		TC(test_chap_optional_lets_none_in),
		TC(test_chap_optional_prefers_initiator_order),
		TC(test_no_accounts_offers_none_only),
		TC(test_not_authorized),
		TC(test_not_authorized_after_chap),
		TC(test_discovery_chap_passes_no_target),
		TC(test_chap_required_without_account_callbacks_fails),
		TC(test_state_allocated_at_first_request),
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
