/* lunar-wire-test: sends malformed or out-of-order iSCSI traffic to a target
 * over a raw TCP socket and checks that it answers as RFC 7143 and SPC/SBC
 * say, and that it keeps serving sessions afterwards.
 *
 * usage: lunar-wire-test [--lun N] [--listed-portal ADDR:PORT]... HOST PORT TARGETNAME
 * Prints "ok NAME" or "FAIL NAME: why" per check, then "N passed, N failed". */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/be.h"
#include "wire_check.h"
#include "wire_conn.h"
#include "wire_scenarios.h"
#include "wire_scsi.h"
#include "wire_xfer.h"

/* The whole run is bounded: each check needs a few 5 s timeouts at most. */
#define WIRE_RUN_TIMEOUT_S 300
#define WIRE_LISTED_MAX 64
#define WIRE_PATTERN_LBA 100
#define WHY_LEN 256

/* A fresh session logs in and INQUIRY returns GOOD. */
static void check_fresh_session(const struct wire_target *t, const char *name)
{
	struct wire_conn c;
	char why[WHY_LEN] = "";
	bool ok = wire_session_open(&c, t, NULL, why, sizeof(why)) && wire_inquiry(&c, why, sizeof(why));

	wire_check(name, ok, "%s", why);
	wire_close(&c);
}

/* Scenario a: RFC 7143 §11.17.1 reason 0x05 for an opcode the target does
 * not support, with the rejected BHS as data; the session stays usable. */
static void check_bad_opcode(const struct wire_target *t, uint8_t opcode, const char *name,
			     const char *name_after)
{
	struct wire_conn c;
	char why[WHY_LEN] = "";
	uint8_t bhs[ISCSI_BHS_LEN];
	struct wire_pdu p;

	if (!wire_session_open(&c, t, NULL, why, sizeof(why))) {
		wire_check(name, false, "%s", why);
		wire_check(name_after, false, "%s", why);
		return;
	}
	/* Immediate, so that no CmdSN is consumed whatever the target does. */
	wire_build_nop_out(bhs, &c, c.next_itt++, ISCSI_RSVD_TAG, true, 0);
	bhs[0] = 0x40 | opcode;
	enum wire_io r = wire_send_pdu(&c, bhs, NULL, 0);
	if (r == WIRE_IO_OK)
		r = wire_recv_reply(&c, &p, WIRE_IO_TIMEOUT_S * 1000);
	if (r != WIRE_IO_OK) {
		wire_check(name, false, "no Reject: %s", wire_io_name(r));
		wire_check(name_after, false, "session lost: %s", wire_io_name(r));
		wire_close(&c);
		return;
	}
	uint8_t op = p.bhs[0] & 0x3f;
	if (op != ISCSI_OP_REJECT)
		wire_check(name, false, "got opcode 0x%02x, expected Reject (0x3f)", op);
	else if (p.bhs[2] != ISCSI_REJECT_CMD_NOT_SUPPORTED)
		wire_check(name, false, "Reject reason 0x%02x, expected 0x05", p.bhs[2]);
	else if (p.data_len < ISCSI_BHS_LEN || memcmp(p.data, bhs, ISCSI_BHS_LEN))
		wire_check(name, false, "Reject data (%u bytes) is not the rejected header", p.data_len);
	else
		wire_check(name, true, "%s", "");
	if (op == ISCSI_OP_REJECT && iscsi_sn_lt(c.cmdsn, be32_get(p.bhs + 28)))
		c.cmdsn = be32_get(p.bhs + 28);
	wire_pdu_free(&p);
	bool ok = wire_inquiry(&c, why, sizeof(why));
	wire_check(name_after, ok, "%s", why);
	wire_close(&c);
}

/* Scenario b: a peer that vanishes mid-header must not hurt the target. */
static void check_truncated_header(const struct wire_target *t)
{
	struct wire_conn c;
	char why[WHY_LEN] = "";
	uint8_t bhs[ISCSI_BHS_LEN];

	if (!wire_connect(&c, t, why, sizeof(why))) {
		wire_check("truncated_header_sent", false, "%s", why);
		wire_check("truncated_header_then_new_session", false, "%s", why);
		return;
	}
	wire_build_login(bhs, &c, wire_login_flags(true, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL),
			 0, 0);
	enum wire_io r = wire_send(&c, bhs, 20);
	wire_close(&c);
	wire_check("truncated_header_sent", r == WIRE_IO_OK, "%s", wire_io_name(r));
	check_fresh_session(t, "truncated_header_then_new_session");
}

/* Scenario c: a data segment over the declared MaxRecvDataSegmentLength is
 * a protocol error (RFC 7143 §13.12): Reject 0x04 then close, or
 * close. */
static void check_oversized_segment(const struct wire_target *t)
{
	const char *name = "oversized_data_segment_closes";
	struct wire_conn c;
	char why[WHY_LEN] = "";
	uint8_t bhs[ISCSI_BHS_LEN];
	struct wire_pdu p;

	if (!wire_session_open(&c, t, NULL, why, sizeof(why))) {
		wire_check(name, false, "%s", why);
		check_fresh_session(t, "oversized_data_segment_then_new_session");
		return;
	}
	uint32_t len = 2 * c.target_mrdsl;
	uint8_t *data = calloc(1, len);
	if (!data) {
		wire_check(name, false, "out of memory");
		wire_close(&c);
		check_fresh_session(t, "oversized_data_segment_then_new_session");
		return;
	}
	printf("# NOP-Out with %u bytes of data; target declared MaxRecvDataSegmentLength=%u\n", len,
	       c.target_mrdsl);
	wire_build_nop_out(bhs, &c, c.next_itt++, ISCSI_RSVD_TAG, true, len);
	enum wire_io r = wire_send_pdu(&c, bhs, data, len);
	free(data);
	bool rejected = false;
	if (r == WIRE_IO_OK)
		r = wire_recv_pdu(&c, &p, WIRE_IO_TIMEOUT_S * 1000);
	if (r == WIRE_IO_OK) {
		uint8_t op = p.bhs[0] & 0x3f;

		rejected = op == ISCSI_OP_REJECT && p.bhs[2] == ISCSI_REJECT_PROTOCOL_ERROR;
		if (!rejected)
			snprintf(why, sizeof(why), "answered opcode 0x%02x (reason 0x%02x)", op, p.bhs[2]);
		wire_pdu_free(&p);
		if (rejected)
			r = wire_wait_close(&c, WIRE_IO_TIMEOUT_S * 1000);
	}
	if (!*why && r != WIRE_IO_CLOSED)
		snprintf(why, sizeof(why), "%sconnection not closed: %s", rejected ? "Reject 0x04 but " : "",
			 wire_io_name(r));
	wire_check(name, !*why, "%s", why);
	wire_close(&c);
	check_fresh_session(t, "oversized_data_segment_then_new_session");
}

/* Sends one Login Request as the first PDU of a connection and expects a
 * Login Response with status class 2 followed by a close (RFC 7143
 * §11.13.5: initiator errors end the login). */
static void check_login_rejected(const struct wire_target *t, const char *name, uint8_t flags,
				 bool with_initiator_name)
{
	struct wire_conn c;
	char why[WHY_LEN] = "";
	char text[512];
	uint32_t len = 0;
	uint8_t bhs[ISCSI_BHS_LEN];
	struct wire_pdu p;

	if (!wire_connect(&c, t, why, sizeof(why))) {
		wire_check(name, false, "%s", why);
		return;
	}
	if (with_initiator_name)
		wire_text_add(text, sizeof(text), &len, "InitiatorName", WIRE_INITIATOR_NAME);
	wire_text_add(text, sizeof(text), &len, "SessionType", "Normal");
	wire_text_add(text, sizeof(text), &len, "TargetName", t->name);
	wire_text_add(text, sizeof(text), &len, "AuthMethod", "None");
	wire_build_login(bhs, &c, flags, c.next_itt++, len);
	enum wire_io r = wire_send_pdu(&c, bhs, text, len);
	if (r == WIRE_IO_OK)
		r = wire_recv_pdu(&c, &p, WIRE_IO_TIMEOUT_S * 1000);
	if (r != WIRE_IO_OK) {
		wire_check(name, false, "no Login Response: %s", wire_io_name(r));
		wire_close(&c);
		return;
	}
	uint8_t op = p.bhs[0] & 0x3f;
	uint16_t status = be16_get(p.bhs + 36);
	wire_pdu_free(&p);
	if (op != ISCSI_OP_LOGIN_RSP)
		snprintf(why, sizeof(why), "got opcode 0x%02x, expected Login Response", op);
	else if (status >> 8 != 0x02)
		snprintf(why, sizeof(why), "status 0x%04x, expected class 2 (initiator error)", status);
	else if ((r = wire_wait_close(&c, WIRE_IO_TIMEOUT_S * 1000)) != WIRE_IO_CLOSED)
		snprintf(why, sizeof(why), "status 0x%04x but connection not closed: %s", status,
			 wire_io_name(r));
	wire_check(name, !*why, "%s", why);
	wire_close(&c);
}

/* Scenario d, second half: the Login Phase starts with a Login Request
 * (RFC 7143 §6.3.1); anything else first is a protocol error, and the
 * target must not execute it. It may answer with a Login Response reject or
 * a Reject before closing; it must close. */
static void check_command_before_login(const struct wire_target *t)
{
	const char *name = "scsi_command_before_login_closes";
	const uint8_t inquiry[6] = { 0x12, 0, 0, 0, 96, 0 };
	struct wire_conn c;
	char why[WHY_LEN] = "";
	uint8_t bhs[ISCSI_BHS_LEN];
	struct wire_pdu p;

	if (!wire_connect(&c, t, why, sizeof(why))) {
		wire_check(name, false, "%s", why);
		return;
	}
	wire_build_scsi_cmd(bhs, &c, c.next_itt++, true, false, 96, inquiry, sizeof(inquiry), 0);
	enum wire_io r = wire_send_pdu(&c, bhs, NULL, 0);
	for (int i = 0; r == WIRE_IO_OK && i < 4 && !*why; i++) {
		r = wire_recv_pdu(&c, &p, WIRE_IO_TIMEOUT_S * 1000);
		if (r != WIRE_IO_OK)
			break;
		uint8_t op = p.bhs[0] & 0x3f;
		if (op != ISCSI_OP_LOGIN_RSP && op != ISCSI_OP_REJECT)
			snprintf(why, sizeof(why), "target answered opcode 0x%02x", op);
		wire_pdu_free(&p);
	}
	if (!*why && r != WIRE_IO_CLOSED)
		snprintf(why, sizeof(why), "connection not closed: %s", wire_io_name(r));
	wire_check(name, !*why, "%s", why);
	wire_close(&c);
}

/* Scenario e: RFC 7143 §4.2.2.1, a non-immediate command outside
 * [ExpCmdSN, MaxCmdSN] is silently ignored: no answer, no effect. */
static void check_cmdsn_window(const struct wire_target *t)
{
	struct wire_conn c;
	char why[WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t cdb[10];
	uint8_t bhs[ISCSI_BHS_LEN];
	struct wire_pdu p;

	if (!wire_session_open(&c, t, NULL, why, sizeof(why)) ||
	    !wire_read_capacity(&c, &blocks, &bs, why, sizeof(why))) {
		wire_check("cmdsn_out_of_window_ignored", false, "%s", why);
		wire_check("cmdsn_out_of_window_not_executed", false, "%s", why);
		wire_close(&c);
		return;
	}
	uint8_t *good = malloc(bs), *bad = malloc(bs), *got = malloc(bs);
	if (!good || !bad || !got || blocks <= WIRE_PATTERN_LBA) {
		snprintf(why, sizeof(why), "no buffer or LUN smaller than %d blocks", WIRE_PATTERN_LBA + 1);
		goto fail;
	}
	wire_fill_pattern(good, bs, 0x5a);
	wire_fill_pattern(bad, bs, 0xa5);
	wire_cdb_rw10(cdb, 0x2a, WIRE_PATTERN_LBA, 1);
	if (!wire_scsi_good(&c, cdb, sizeof(cdb), WIRE_DIR_WRITE, good, bs, why, sizeof(why)))
		goto fail;

	uint32_t saved_cmdsn = c.cmdsn;
	c.cmdsn = c.max_cmdsn + 10;
	wire_build_scsi_cmd(bhs, &c, c.next_itt++, false, true, bs, cdb, sizeof(cdb),
			    c.immediate_data ? bs : 0);
	c.cmdsn = saved_cmdsn;
	enum wire_io r = wire_send_pdu(&c, bhs, bad, c.immediate_data ? bs : 0);
	if (r == WIRE_IO_OK)
		r = wire_recv_reply(&c, &p, WIRE_SILENCE_MS);
	if (r == WIRE_IO_OK) {
		snprintf(why, sizeof(why), "target answered opcode 0x%02x", p.bhs[0] & 0x3f);
		wire_pdu_free(&p);
		goto fail;
	}
	if (r != WIRE_IO_TIMEOUT) {
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
		goto fail;
	}
	wire_check("cmdsn_out_of_window_ignored", true, "%s", "");

	wire_cdb_rw10(cdb, 0x28, WIRE_PATTERN_LBA, 1);
	bool ok = wire_scsi_good(&c, cdb, sizeof(cdb), WIRE_DIR_READ, got, bs, why, sizeof(why));
	if (ok && !memcmp(got, bad, bs))
		snprintf(why, sizeof(why), "LBA %d holds the out-of-window data", WIRE_PATTERN_LBA);
	else if (ok && memcmp(got, good, bs))
		snprintf(why, sizeof(why), "LBA %d holds neither pattern", WIRE_PATTERN_LBA);
	wire_check("cmdsn_out_of_window_not_executed", ok && !*why, "%s", why);
	goto out;
fail:
	wire_check("cmdsn_out_of_window_ignored", false, "%s", why);
	wire_check("cmdsn_out_of_window_not_executed", false, "not reached");
out:
	free(good);
	free(bad);
	free(got);
	wire_close(&c);
}

/* Runs a command expected to end in CHECK CONDITION with ILLEGAL REQUEST
 * and the given ASC/ASCQ (SPC-4 4.5.6). */
static void check_illegal_request(struct wire_conn *c, const char *name, const uint8_t *cdb,
				  size_t cdb_len, enum wire_dir dir, uint32_t len, uint8_t asc)
{
	struct wire_scsi_result res;
	char why[WHY_LEN] = "";
	uint8_t *buf = len ? malloc(len) : NULL;

	if (len && !buf) {
		wire_check(name, false, "out of memory");
		return;
	}
	bool ok = wire_scsi_exec(c, cdb, cdb_len, dir, buf, len, &res, why, sizeof(why));
	free(buf);
	if (!ok)
		wire_check(name, false, "%s", why);
	else if (res.status != WIRE_SCSI_CHECK_CONDITION || !res.has_sense)
		wire_check(name, false, "status 0x%02x, %s sense", res.status, res.has_sense ? "with" : "no");
	else
		wire_check(name, res.sense_key == WIRE_SENSE_ILLEGAL_REQUEST && res.asc == asc && !res.ascq,
		      "sense %x/%02x/%02x, expected 5/%02x/00", res.sense_key, res.asc, res.ascq, asc);
}

/* Scenarios f and g: SPC-4 "invalid command operation code" (20h/00h) and
 * SBC-4 "logical block address out of range" (21h/00h). */
static void check_scsi_errors(const struct wire_target *t)
{
	/* 0xC0 is vendor specific (SPC-4 table E.2): no disk has to know it. */
	const uint8_t unsupported[6] = { 0xc0 };
	struct wire_conn c;
	char why[WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;

	if (!wire_session_open(&c, t, NULL, why, sizeof(why)) ||
	    !wire_read_capacity(&c, &blocks, &bs, why, sizeof(why))) {
		wire_check("unsupported_opcode_illegal_request", false, "%s", why);
		wire_check("read_beyond_end_lba_out_of_range", false, "%s", why);
		wire_close(&c);
		return;
	}
	check_illegal_request(&c, "unsupported_opcode_illegal_request", unsupported,
			      sizeof(unsupported), WIRE_DIR_NONE, 0, 0x20);
	if (blocks <= 0xffffffffu) {
		uint8_t cdb[10];

		wire_cdb_rw10(cdb, 0x28, (uint32_t)blocks, 1);
		check_illegal_request(&c, "read_beyond_end_lba_out_of_range", cdb, sizeof(cdb),
				      WIRE_DIR_READ, bs, 0x21);
	} else {
		uint8_t cdb[16] = { 0x88 };

		be64_put(cdb + 2, blocks);
		be32_put(cdb + 10, 1);
		check_illegal_request(&c, "read_beyond_end_lba_out_of_range", cdb, sizeof(cdb),
				      WIRE_DIR_READ, bs, 0x21);
	}
	wire_close(&c);
}

/* Scenario h: after everything above, a new session still logs in, reads
 * and finds the pattern written by scenario e. */
static void check_final_session(const struct wire_target *t)
{
	struct wire_conn c;
	char why[WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t cdb[10];

	bool ok = wire_session_open(&c, t, NULL, why, sizeof(why)) && wire_inquiry(&c, why, sizeof(why)) &&
		  wire_read_capacity(&c, &blocks, &bs, why, sizeof(why));
	uint8_t *got = ok ? malloc(bs) : NULL;
	uint8_t *want = ok ? malloc(bs) : NULL;

	if (ok && (!got || !want)) {
		ok = false;
		snprintf(why, sizeof(why), "out of memory");
	}
	if (ok) {
		wire_cdb_rw10(cdb, 0x28, WIRE_PATTERN_LBA, 1);
		ok = wire_scsi_good(&c, cdb, sizeof(cdb), WIRE_DIR_READ, got, bs, why, sizeof(why));
	}
	if (ok) {
		wire_fill_pattern(want, bs, 0x5a);
		ok = !memcmp(got, want, bs);
		if (!ok)
			snprintf(why, sizeof(why), "LBA %d lost the pattern written earlier",
				 WIRE_PATTERN_LBA);
	}
	wire_check("final_session_logs_in_and_reads", ok, "%s", why);
	free(got);
	free(want);
	wire_close(&c);
}

static void on_run_timeout(int sig)
{
	static const char msg[] = "FAIL run_timeout: the run exceeded its time bound\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(2);
}

/* SAM-5 4.7.7: peripheral addressing below 256, flat space up to 16383. */
static bool encode_lun(const char *arg, uint64_t *lun)
{
	char *end;
	unsigned long n = strtoul(arg, &end, 10);

	if (*arg == '\0' || *end || n > 16383)
		return false;
	*lun = n < 256 ? (uint64_t)n << 48 : (uint64_t)(0x4000 | n) << 48;
	return true;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--lun N] [--listed-portal ADDR:PORT]... [--limits PID] HOST PORT TARGETNAME\n"
		"  --listed-portal: a portal SendTargets=All must name (repeatable)\n"
		"  --login-deadline S, --per-address-cap N: the target's login limits, to check\n"
		"  --limits PID: only the scenarios of a lunard with short limits, whose\n"
		"                process is PID (tests/wire/limits.sh)\n", prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lun", required_argument, NULL, 'l' },
		{ "listed-portal", required_argument, NULL, 'p' },
		{ "login-deadline", required_argument, NULL, 'd' },
		{ "per-address-cap", required_argument, NULL, 'a' },
		{ "limits", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct wire_target t = { 0 };
	const char *listed[WIRE_LISTED_MAX];
	size_t nlisted = 0;
	struct wire_login_limits limits = { 0 };
	int o, limits_pid = 0;

	while ((o = getopt_long(argc, argv, "l:p:d:a:m:h", opts, NULL)) != -1) {
		if (o == 'd' && (limits.deadline_s = (unsigned)atoi(optarg)) > 0)
			continue;
		if (o == 'a' && (limits.per_address = (unsigned)atoi(optarg)) > 0)
			continue;
		if (o == 'm' && (limits_pid = atoi(optarg)) > 0)
			continue;
		if (o == 'l' && encode_lun(optarg, &t.lun))
			continue;
		if (o == 'p' && nlisted < WIRE_LISTED_MAX) {
			listed[nlisted++] = optarg;
			continue;
		}
		usage(argv[0]);
		return o == 'h' ? 0 : 64;
	}
	if (argc - optind != 3) {
		usage(argv[0]);
		return 64;
	}
	t.host = argv[optind];
	t.port = argv[optind + 1];
	t.name = argv[optind + 2];
	signal(SIGALRM, on_run_timeout);
	alarm(WIRE_RUN_TIMEOUT_S);
	if (limits_pid) {
		wire_limits_timed_checks(&t, limits_pid);
		return wire_check_summary() ? 1 : 0;
	}

	check_fresh_session(&t, "baseline_session");
	wire_login_limits_checks(&t, &limits);
	check_bad_opcode(&t, 0x1f, "undefined_opcode_rejected", "undefined_opcode_then_inquiry");
	check_bad_opcode(&t, ISCSI_OP_SCSI_RSP, "target_opcode_rejected", "target_opcode_then_inquiry");
	check_truncated_header(&t);
	check_oversized_segment(&t);
	check_login_rejected(&t, "login_csg_full_feature_rejected",
			     wire_login_flags(false, ISCSI_STAGE_FULL_FEATURE, 0), true);
	check_login_rejected(&t, "login_without_initiator_name_rejected",
			     wire_login_flags(true, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL), false);
	check_command_before_login(&t);
	check_cmdsn_window(&t);
	check_scsi_errors(&t);
	wire_dataout_checks(&t);
	wire_datain_checks(&t);
	wire_cmdsn_checks(&t);
	wire_ffp_checks(&t, listed, nlisted);
	wire_text_checks(&t);
	wire_edtl_checks(&t);
	wire_tmf_checks(&t);
	wire_interrupted_checks(&t);
	wire_limits_checks(&t);
	check_final_session(&t);

	return wire_check_summary() ? 1 : 0;
}
