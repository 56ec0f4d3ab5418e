/* Full feature phase PDUs beside SCSI data (RFC 7143 §11.5, §11.10,
 * §11.14, §11.18): NOP ping, long Text responses, SendTargets, Logout and
 * ABORT TASK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/be.h"
#include "wire_check.h"
#include "wire_scenarios.h"
#include "wire_xfer.h"

#define NOP_DATA_LEN 1000u
/* The smallest MaxRecvDataSegmentLength an initiator may declare (§13.12). */
#define TEXT_MRDSL 512u
#define TEXT_PARTS_MAX 64u
#define TEXT_CAP (64u * 1024u)
#define UNUSED_ITT 0x7ffffff1u
#define ABORT_LBA 8600u

/* Logout reasons (§11.14.1), Logout responses (§11.15.1), TMF function and
 * responses (§11.5.1, §11.6.1). */
enum { LOGOUT_CLOSE_SESSION = 0, LOGOUT_REMOVE_FOR_RECOVERY = 2 };
enum { LOGOUT_RSP_OK = 0, LOGOUT_RSP_RECOVERY_UNSUPPORTED = 2 };
enum { TMF_ABORT_TASK = 1, TMF_LUN_RESET = 5 };
enum { TMF_RSP_COMPLETE = 0, TMF_RSP_NO_TASK = 1 };

/* Scenario 8: a NOP-Out with a valid ITT is a ping answered by a NOP-In
 * echoing its data, TTT 0xffffffff (§11.19.1); with ITT 0xffffffff no
 * answer is wanted (§11.18.3). */
static void check_nop(const struct wire_target *t)
{
	static const char *const names[] = {
		"nop_ping_echoes_data", "nop_ping_ttt_reserved", "nop_itt_reserved_not_answered",
	};
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint8_t bhs[ISCSI_BHS_LEN], data[NOP_DATA_LEN];
	struct wire_pdu p;

	if (!wire_session_open(&c, t, NULL, why, sizeof(why))) {
		wire_check_unreached(names, 3, why);
		return;
	}
	wire_fill_pattern(data, sizeof(data), 0x3e);
	uint32_t itt = c.next_itt++;
	wire_build_nop_out(bhs, &c, itt, ISCSI_RSVD_TAG, true, sizeof(data));
	enum wire_io r = wire_send_pdu(&c, bhs, data, sizeof(data));
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	if (r != WIRE_IO_OK || !wire_expect(&c, &p, ISCSI_OP_NOP_IN, itt, why, sizeof(why))) {
		wire_check_unreached(names, 3, why);
		wire_close(&c);
		return;
	}
	wire_check(names[0], p.data_len == sizeof(data) && !memcmp(p.data, data, sizeof(data)),
		   "NOP-In carries %u bytes%s", p.data_len,
		   p.data_len == sizeof(data) ? " that differ from the ping's" : "");
	wire_check(names[1], be32_get(p.bhs + 20) == ISCSI_RSVD_TAG, "TTT 0x%x", be32_get(p.bhs + 20));
	wire_pdu_free(&p);
	wire_build_nop_out(bhs, &c, ISCSI_RSVD_TAG, ISCSI_RSVD_TAG, true, 0);
	r = wire_send_pdu(&c, bhs, NULL, 0);
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	else
		wire_silent(&c, WIRE_SILENCE_MS, why, sizeof(why));
	wire_check_why(names[2], why);
	wire_close(&c);
}

struct text_part {
	uint8_t flags;
	uint32_t ttt, len;
};

/* Sends one Text Request (non-immediate, F=1) and collects the answer,
 * asking for each further part with an empty request echoing the TTT
 * (§11.10.2, §11.11.2). text gets the reassembled data, NUL-terminated. */
static bool text_exchange(struct wire_conn *c, const char *request, struct text_part *parts,
			  unsigned *nparts, char *text, uint32_t *text_len, char *why)
{
	uint32_t itt = c->next_itt++, ttt = ISCSI_RSVD_TAG;
	uint32_t req_len = request ? (uint32_t)strlen(request) + 1 : 0;

	*nparts = 0;
	*text_len = 0;
	while (*nparts < TEXT_PARTS_MAX) {
		uint8_t bhs[ISCSI_BHS_LEN];
		struct wire_pdu p;

		wire_build_text(bhs, c, itt, ttt, false, req_len);
		c->cmdsn++;
		enum wire_io r = wire_send_pdu(c, bhs, request, req_len);
		if (r != WIRE_IO_OK) {
			snprintf(why, WIRE_WHY_LEN, "Text Request: %s", wire_io_name(r));
			return false;
		}
		if (!wire_expect(c, &p, ISCSI_OP_TEXT_RSP, itt, why, WIRE_WHY_LEN))
			return false;
		struct text_part *part = &parts[(*nparts)++];
		*part = (struct text_part){
			.flags = p.bhs[1], .ttt = be32_get(p.bhs + 20), .len = p.data_len,
		};
		uint32_t n = p.data_len < TEXT_CAP - 1 - *text_len ? p.data_len : TEXT_CAP - 1 - *text_len;
		memcpy(text + *text_len, p.data, n);
		*text_len += n;
		text[*text_len] = '\0';
		wire_pdu_free(&p);
		if (part->flags & 0x80)
			return true;
		request = NULL;
		req_len = 0;
		ttt = part->ttt;
	}
	snprintf(why, WIRE_WHY_LEN, "no final Text Response after %u parts", *nparts);
	return false;
}

/* True if the pairs in text[0..len) hold key=value exactly, or, with
 * prefix, key=value followed by more characters. */
static bool text_has(const char *text, uint32_t len, const char *key, const char *value, bool prefix)
{
	size_t klen = strlen(key), vlen = strlen(value);

	for (uint32_t i = 0; i < len; i += (uint32_t)strnlen(text + i, len - i) + 1) {
		const char *pair = text + i;
		size_t plen = strnlen(pair, len - i);

		if (plen >= klen + 1 + vlen && !memcmp(pair, key, klen) && pair[klen] == '=' &&
		    !memcmp(pair + klen + 1, value, vlen) && (prefix || plen == klen + 1 + vlen))
			return true;
	}
	return false;
}

/* The continuation of a Text exchange keeps its ITT (RFC 7143 §11.10):
 * asking for the next part under another ITT gets a Reject. */
static void check_text_other_itt(struct wire_conn *c, const char *name)
{
	static const char request[] = "SendTargets=All";
	char why[WIRE_WHY_LEN] = "";
	uint8_t bhs[ISCSI_BHS_LEN];
	struct wire_pdu p;
	uint32_t itt = c->next_itt++;

	wire_build_text(bhs, c, itt, ISCSI_RSVD_TAG, false, sizeof(request));
	c->cmdsn++;
	if (wire_send_pdu(c, bhs, request, sizeof(request)) != WIRE_IO_OK ||
	    !wire_expect(c, &p, ISCSI_OP_TEXT_RSP, itt, why, sizeof(why))) {
		wire_check(name, false, "first part: %s", *why ? why : "send failed");
		return;
	}
	uint32_t ttt = be32_get(p.bhs + 20);
	wire_pdu_free(&p);
	wire_build_text(bhs, c, c->next_itt++, ttt, false, 0);
	c->cmdsn++;
	if (wire_send_pdu(c, bhs, NULL, 0) != WIRE_IO_OK ||
	    !wire_expect(c, &p, ISCSI_OP_REJECT, ISCSI_RSVD_TAG, why, sizeof(why))) {
		wire_check(name, false, "%s", *why ? why : "send failed");
		return;
	}
	wire_check(name, p.bhs[2] == ISCSI_REJECT_INVALID_PDU_FIELD, "Reject reason 0x%02x",
		   p.bhs[2]);
	wire_pdu_free(&p);
}

/* Scenario 10: in a discovery session that declared MaxRecvDataSegmentLength
 * 512, a SendTargets=All answer longer than that comes in parts: C=1, F=0
 * and a TTT on each but the last (§11.11.2), which has F=1, C=0 and TTT
 * 0xffffffff; together they name every portal. */
static void check_text_continuation(const struct wire_target *t, const char *const *listed,
				    size_t nlisted)
{
	static const char *const names[] = {
		"text_answer_in_several_parts", "text_parts_within_mrdsl",
		"text_nonfinal_parts_continue", "text_final_part_f1_ttt_reserved",
		"text_lists_every_portal", "text_continuation_other_itt_rejected",
	};
	struct wire_login_params lp;
	struct wire_conn c;
	struct text_part parts[TEXT_PARTS_MAX];
	char why[WIRE_WHY_LEN] = "", v[WIRE_WHY_LEN] = "";
	unsigned n;
	uint32_t len;

	wire_login_params_default(&lp);
	lp.discovery = true;
	lp.our_mrdsl = TEXT_MRDSL;
	char *text = malloc(TEXT_CAP);
	if (!text || !wire_login_with(&c, t, &lp, why, sizeof(why))) {
		wire_check_unreached(names, 6, text ? why : "out of memory");
		free(text);
		return;
	}
	if (!text_exchange(&c, "SendTargets=All", parts, &n, text, &len, why)) {
		wire_check_unreached(names, 6, why);
		goto out;
	}
	wire_check(names[0], n >= 2, "the answer (%u bytes) came in one part: give the target more "
		   "portals (run.sh --lunard does)", len);
	for (unsigned i = 0; i < n && !*v; i++)
		if (parts[i].len > TEXT_MRDSL)
			snprintf(v, sizeof(v), "part %u of %u carries %u bytes", i + 1, n, parts[i].len);
	wire_check_why(names[1], v);
	*v = '\0';
	for (unsigned i = 0; i + 1 < n && !*v; i++)
		if ((parts[i].flags & 0xc0) != 0x40 || parts[i].ttt == ISCSI_RSVD_TAG)
			snprintf(v, sizeof(v), "part %u of %u: F=%d C=%d TTT 0x%x", i + 1, n,
				 !!(parts[i].flags & 0x80), !!(parts[i].flags & 0x40), parts[i].ttt);
	wire_check_why(names[2], v);
	const struct text_part *last = &parts[n - 1];
	wire_check(names[3], (last->flags & 0xc0) == 0x80 && last->ttt == ISCSI_RSVD_TAG,
		   "last part: F=%d C=%d TTT 0x%x", !!(last->flags & 0x80), !!(last->flags & 0x40),
		   last->ttt);
	*v = '\0';
	if (!text_has(text, len, "TargetName", t->name, false))
		snprintf(v, sizeof(v), "no TargetName=%s in %u bytes", t->name, len);
	for (size_t i = 0; i < nlisted && !*v; i++) {
		char addr[128];

		snprintf(addr, sizeof(addr), "%s,", listed[i]);
		if (!text_has(text, len, "TargetAddress", addr, true))
			snprintf(v, sizeof(v), "no TargetAddress=%s<tag> among %zu portals", addr, nlisted);
	}
	wire_check_why(names[4], v);
	check_text_other_itt(&c, names[5]);
out:
	free(text);
	wire_close(&c);
}

/* Sends the request in bhs (no data) and waits for its answer of
 * rsp_opcode; *response gets the answer's Response field (byte 2). */
static bool request(struct wire_conn *c, const uint8_t *bhs, uint32_t itt, uint8_t rsp_opcode,
		    uint8_t *response, char *why)
{
	struct wire_pdu p;
	enum wire_io r = wire_send_pdu(c, bhs, NULL, 0);
	if (r != WIRE_IO_OK) {
		snprintf(why, WIRE_WHY_LEN, "%s", wire_io_name(r));
		return false;
	}
	if (!wire_expect(c, &p, rsp_opcode, itt, why, WIRE_WHY_LEN))
		return false;
	*response = p.bhs[2];
	wire_pdu_free(&p);
	return true;
}

static bool logout(struct wire_conn *c, uint8_t reason, uint8_t *response, char *why)
{
	uint32_t itt = c->next_itt++;
	uint8_t bhs[ISCSI_BHS_LEN];
	wire_build_logout(bhs, c, itt, reason);
	return request(c, bhs, itt, ISCSI_OP_LOGOUT_RSP, response, why);
}

/* Scenario 12: Logout "close the session" is answered 0 and the target
 * closes the connection (§11.15); "remove the connection for recovery"
 * needs ErrorRecoveryLevel 2, so at ERL 0 the answer is 2 (§11.15.1) and
 * the session goes on. */
static void check_logout(const struct wire_target *t)
{
	static const char *const names[] = {
		"logout_close_session_response_0", "logout_close_session_connection_closed",
		"logout_remove_for_recovery_response_2", "logout_refused_session_continues",
	};
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint8_t response;

	if (!wire_session_open(&c, t, NULL, why, sizeof(why)) ||
	    !logout(&c, LOGOUT_CLOSE_SESSION, &response, why)) {
		wire_check_unreached(names, 2, why);
	} else {
		wire_check(names[0], response == LOGOUT_RSP_OK, "response %u", response);
		enum wire_io r = wire_wait_close(&c, WIRE_IO_TIMEOUT_S * 1000);
		wire_check(names[1], r == WIRE_IO_CLOSED, "connection not closed: %s", wire_io_name(r));
	}
	wire_close(&c);
	*why = '\0';
	if (!wire_session_open(&c, t, NULL, why, sizeof(why)) ||
	    !logout(&c, LOGOUT_REMOVE_FOR_RECOVERY, &response, why)) {
		wire_check_unreached(names + 2, 2, why);
		wire_close(&c);
		return;
	}
	wire_check(names[2], response == LOGOUT_RSP_RECOVERY_UNSUPPORTED, "response %u", response);
	bool ok = wire_inquiry(&c, why, sizeof(why));
	wire_check(names[3], ok, "%s", why);
	wire_close(&c);
}

static bool tmf(struct wire_conn *c, uint8_t function, uint32_t ref_itt, uint32_t ref_cmdsn,
		uint8_t *response, char *why)
{
	uint32_t itt = c->next_itt++;
	uint8_t bhs[ISCSI_BHS_LEN];
	wire_build_tmf(bhs, c, itt, function, ref_itt, ref_cmdsn);
	return request(c, bhs, itt, ISCSI_OP_TMF_RSP, response, why);
}

static bool abort_task(struct wire_conn *c, uint32_t ref_itt, uint32_t ref_cmdsn, uint8_t *response,
		       char *why)
{
	return tmf(c, TMF_ABORT_TASK, ref_itt, ref_cmdsn, response, why);
}

/* Opens a session without immediate data and leaves a one-block WRITE
 * waiting for its data: its R2T has come (*cmd says which command). On
 * failure the connection is closed and why says what broke. */
static bool open_with_waiting_write(struct wire_conn *c, const struct wire_target *t,
				    struct wire_cmd *cmd, uint8_t cdb[10], char *why)
{
	struct wire_login_params lp;
	uint64_t blocks;
	uint32_t bs;
	struct wire_pdu p;

	wire_login_params_default(&lp);
	lp.immediate_data = false;
	lp.initial_r2t = true;
	if (!wire_session_open_capacity(c, t, &lp, &blocks, &bs, why, WIRE_WHY_LEN))
		return false;
	wire_cdb_rw10(cdb, 0x2a, ABORT_LBA, 1);
	*cmd = (struct wire_cmd){
		.itt = c->next_itt++, .cmdsn = c->cmdsn++, .cdb = cdb, .cdb_len = 10,
		.dir = WIRE_DIR_WRITE, .edtl = bs, .final = true, .attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = wire_send_cmd(c, cmd);
	if (r != WIRE_IO_OK)
		snprintf(why, WIRE_WHY_LEN, "%s", wire_io_name(r));
	if (r != WIRE_IO_OK || !wire_expect(c, &p, ISCSI_OP_R2T, cmd->itt, why, WIRE_WHY_LEN)) {
		wire_close(c);
		return false;
	}
	wire_pdu_free(&p);
	return true;
}

/* Scenario 13 (§11.5.1, ABORT TASK): a WRITE waiting for its data is
 * aborted ("Function complete", and never a SCSI Response for it); an ITT
 * never used with a RefCmdSN outside the window is "Task does not exist";
 * an ITT never received whose RefCmdSN is in the window and below the
 * TMF's CmdSN is a lost command: "Function complete", and its CmdSN counts
 * as received. */
static void check_abort_task(const struct wire_target *t)
{
	static const char *const names[] = {
		"abort_waiting_write_function_complete", "abort_waiting_write_no_scsi_response",
		"abort_unknown_task_does_not_exist", "abort_lost_command_function_complete",
		"abort_lost_command_cmdsn_counts_as_received",
	};
	struct wire_conn c;
	struct wire_cmd cmd;
	char why[WIRE_WHY_LEN] = "";
	uint8_t cdb[10], response;

	if (!open_with_waiting_write(&c, t, &cmd, cdb, why)) {
		wire_check_unreached(names, 5, why);
		return;
	}
	if (!abort_task(&c, cmd.itt, cmd.cmdsn, &response, why)) {
		wire_check_unreached(names, 2, why);
	} else {
		wire_check(names[0], response == TMF_RSP_COMPLETE, "response %u", response);
		wire_nothing_pending(&c, why, sizeof(why));
		wire_check_why(names[1], why);
	}
	*why = '\0';
	/* cmd.cmdsn is below ExpCmdSN now: outside the window. */
	if (!abort_task(&c, UNUSED_ITT, cmd.cmdsn, &response, why))
		wire_check(names[2], false, "%s", why);
	else
		wire_check(names[2], response == TMF_RSP_NO_TASK, "response %u", response);
	*why = '\0';
	uint32_t lost_cmdsn = c.cmdsn++, lost_itt = c.next_itt++;
	if (!abort_task(&c, lost_itt, lost_cmdsn, &response, why))
		wire_check(names[3], false, "%s", why);
	else
		wire_check(names[3], response == TMF_RSP_COMPLETE,
			   "response %u for ITT 0x%x, RefCmdSN %u = ExpCmdSN, TMF CmdSN %u", response,
			   lost_itt, lost_cmdsn, lost_cmdsn + 1);
	*why = '\0';
	bool ok = wire_inquiry(&c, why, sizeof(why));
	wire_check(names[4], ok, "the next command (CmdSN %u) got no answer: %s", lost_cmdsn + 1, why);
	wire_close(&c);
}

/* True if a TEST UNIT READY on c ends in CHECK CONDITION with the unit
 * attention BUS DEVICE RESET FUNCTION OCCURRED (29h/03h). */
static bool tur_sees_lu_reset(struct wire_conn *c, char *why)
{
	static const uint8_t tur[6];
	struct wire_scsi_result res;
	if (!wire_scsi_exec(c, tur, sizeof(tur), WIRE_DIR_NONE, NULL, 0, &res, why, WIRE_WHY_LEN))
		return false;
	if (res.status == WIRE_SCSI_CHECK_CONDITION && res.has_sense && res.sense_key == 0x6 &&
	    res.asc == 0x29 && res.ascq == 0x03)
		return true;
	snprintf(why, WIRE_WHY_LEN, "status 0x%02x, sense %x/%02x/%02x", res.status,
		 res.sense_key, res.asc, res.ascq);
	return false;
}

/* Scenario 14 (SAM-5 6.3.3, LOGICAL UNIT RESET): a WRITE waiting for its
 * data is aborted without a SCSI Response, the TMF is answered "Function
 * complete", and both the I_T nexus that asked and another one (another
 * session, likely on another data-plane thread) see 29h/03h next. */
static void check_lun_reset(const struct wire_target *t)
{
	static const char *const names[] = {
		"lun_reset_function_complete", "lun_reset_waiting_write_no_scsi_response",
		"lun_reset_ua_on_its_nexus", "lun_reset_ua_on_another_nexus",
	};
	struct wire_conn c, other;
	struct wire_cmd cmd;
	char why[WIRE_WHY_LEN] = "";
	uint8_t cdb[10], response;

	if (!wire_session_open(&other, t, NULL, why, sizeof(why))) {
		wire_check_unreached(names, 4, why);
		return;
	}
	if (!open_with_waiting_write(&c, t, &cmd, cdb, why) ||
	    !tmf(&c, TMF_LUN_RESET, ISCSI_RSVD_TAG, 0, &response, why)) {
		wire_check_unreached(names, 4, why);
		wire_close(&other);
		wire_close(&c);
		return;
	}
	wire_check(names[0], response == TMF_RSP_COMPLETE, "response %u", response);
	wire_nothing_pending(&c, why, sizeof(why));
	wire_check_why(names[1], why);
	*why = '\0';
	wire_check(names[2], tur_sees_lu_reset(&c, why), "%s", why);
	*why = '\0';
	wire_check(names[3], tur_sees_lu_reset(&other, why), "%s", why);
	wire_close(&other);
	wire_close(&c);
}

void wire_ffp_checks(const struct wire_target *t, const char *const *listed, size_t nlisted)
{
	check_nop(t);
	check_text_continuation(t, listed, nlisted);
	check_logout(t);
	check_abort_task(t);
	check_lun_reset(t);
}
