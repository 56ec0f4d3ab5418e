/* What a peer may not make the target do (RFC 7143 §13 keys as
 * negotiated, the command window, liveness): unsolicited data the login
 * did not allow is refused, a short R2T burst ends its task, an immediate
 * command cannot grow the commands held past the window; and, against a
 * lunard run with short limits, idle connections are pinged and dropped
 * and a peer that stops reading neither grows lunard's memory nor keeps
 * its connection. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/be.h"
#include "wire_check.h"
#include "wire_scenarios.h"
#include "wire_xfer.h"

/* Away from the LBAs the other scenarios write. */
#define LIMITS_LBA 9000u
#define SMALL_FIRST_BURST 16384u
/* tests/wire/limits.sh starts lunard with these. */
#define NOP_INTERVAL_S 1
#define NOP_TIMEOUT_S 2
#define DISCOVERY_IDLE_S 2
#define TX_STALL_S 3
#define DATA_OUT_TIMEOUT_S 1
/* The stopped reader sends this much at most; a target that queued the
 * echoes without bound would grow by about as much. */
#define FLOOD_BYTES (256u << 20)
#define FLOOD_SEG 65536u
#define RSS_GROWTH_MAX_KB (64u << 10)
/* The stopped reader of READs asks for this much per command, up to
 * READS_MAX commands (the window drops the ones beyond MaxCmdSN). */
#define READ_BYTES (1u << 20)
#define READS_MAX 1024u
#define SENSE_KEY_ABORTED_COMMAND 0x0b

/* RFC 7143 §11.17.1: the Reject for the PDU whose header is bhs, with
 * reason; why says what came instead. */
static void expect_reject(struct wire_conn *c, const uint8_t *bhs, uint8_t reason, char *why,
			  size_t why_len)
{
	struct wire_pdu p;
	enum wire_io r = wire_recv_reply(c, &p, WIRE_IO_TIMEOUT_S * 1000);

	if (r != WIRE_IO_OK) {
		snprintf(why, why_len, "no Reject: %s", wire_io_name(r));
		return;
	}
	uint8_t op = p.bhs[0] & 0x3f;
	if (op != ISCSI_OP_REJECT)
		snprintf(why, why_len, "got opcode 0x%02x ITT 0x%x, expected a Reject", op,
			 be32_get(p.bhs + 16));
	else if (p.bhs[2] != reason)
		snprintf(why, why_len, "Reject reason 0x%02x, expected 0x%02x", p.bhs[2], reason);
	else if (p.data_len < ISCSI_BHS_LEN || memcmp(p.data, bhs, 20) != 0)
		snprintf(why, why_len, "the Reject does not carry the refused header");
	wire_pdu_free(&p);
}

/* A SCSI Command as wire_send_cmd sends it, with its header kept for the
 * Reject check. */
static enum wire_io send_cmd_keep(struct wire_conn *c, const struct wire_cmd *cmd,
				  uint8_t bhs[ISCSI_BHS_LEN])
{
	wire_build_scsi_cmd(bhs, c, cmd->itt, cmd->dir == WIRE_DIR_READ, cmd->dir == WIRE_DIR_WRITE,
			    cmd->edtl, cmd->cdb, cmd->cdb_len, cmd->imm_len);
	if (cmd->immediate)
		bhs[0] |= 0x40;
	bhs[1] = (uint8_t)((cmd->final ? 0x80 : 0) | (bhs[1] & 0x60) | (cmd->attr & 7));
	be32_put(bhs + 24, cmd->cmdsn);
	return wire_send_pdu(c, bhs, cmd->imm, cmd->imm_len);
}

/* Sends a one-block-or-more WRITE(10) at LIMITS_LBA and expects it
 * Rejected with reason; then the session still answers INQUIRY. */
static void check_write_refused(struct wire_conn *c, const char *name, uint32_t len,
				uint32_t imm_len, bool final, uint32_t bs)
{
	char why[WIRE_WHY_LEN] = "";
	uint8_t cdb[10], bhs[ISCSI_BHS_LEN];
	uint8_t *buf = calloc(1, len);

	if (!buf) {
		wire_check(name, false, "out of memory");
		return;
	}
	wire_cdb_rw10(cdb, 0x2a, LIMITS_LBA, (uint16_t)(len / bs));
	struct wire_cmd cmd = {
		.itt = c->next_itt++, .cmdsn = c->cmdsn++, .cdb = cdb, .cdb_len = sizeof(cdb),
		.dir = WIRE_DIR_WRITE, .edtl = len, .imm = buf, .imm_len = imm_len, .final = final,
		.attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = send_cmd_keep(c, &cmd, bhs);
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	else
		expect_reject(c, bhs, ISCSI_REJECT_PROTOCOL_ERROR, why, sizeof(why));
	/* The session goes on: the Reject ended only that command. */
	if (!*why)
		wire_inquiry(c, why, sizeof(why));
	wire_check_why(name, why);
	free(buf);
}

/* RFC 7143 §13.10, §13.11: with ImmediateData=No and InitialR2T=Yes a
 * command brings no data and announces no unsolicited Data-Out. */
static void check_no_unsolicited_allowed(const struct wire_target *t)
{
	static const char *const names[] = {
		"immediate_data_refused_with_immediatedata_no",
		"unsolicited_data_out_refused_with_initialr2t_yes",
	};
	struct wire_login_params lp;
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;

	wire_login_params_default(&lp);
	lp.immediate_data = false;
	lp.initial_r2t = true;
	if (!wire_session_open_capacity(&c, t, &lp, &blocks, &bs, why, sizeof(why)) ||
	    c.immediate_data || !c.initial_r2t || blocks <= LIMITS_LBA + 8) {
		if (!*why)
			snprintf(why, sizeof(why), "ImmediateData=No InitialR2T=Yes not negotiated, or small LUN");
		wire_check_unreached(names, 2, why);
		wire_close(&c);
		return;
	}
	check_write_refused(&c, names[0], bs, bs, true, bs);
	check_write_refused(&c, names[1], bs, 0, false, bs);
	wire_close(&c);
}

/* RFC 7143 §13.14: immediate data, and immediate with unsolicited data
 * together, stop at FirstBurstLength. */
static void check_first_burst(const struct wire_target *t)
{
	static const char *const names[] = {
		"immediate_data_beyond_firstburstlength_refused",
		"unsolicited_data_out_beyond_firstburstlength_refused",
	};
	struct wire_login_params lp;
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;

	wire_login_params_default(&lp);
	lp.immediate_data = true;
	lp.initial_r2t = false;
	lp.first_burst = SMALL_FIRST_BURST;
	if (!wire_session_open_capacity(&c, t, &lp, &blocks, &bs, why, sizeof(why)) ||
	    c.first_burst != SMALL_FIRST_BURST || c.target_mrdsl < 2 * SMALL_FIRST_BURST ||
	    c.initial_r2t || blocks <= LIMITS_LBA + 2 * SMALL_FIRST_BURST / 512) {
		if (!*why)
			snprintf(why, sizeof(why), "FirstBurstLength %u, target MRDSL %u, InitialR2T %d",
				 c.first_burst, c.target_mrdsl, c.initial_r2t);
		wire_check_unreached(names, 2, why);
		wire_close(&c);
		return;
	}
	check_write_refused(&c, names[0], 2 * SMALL_FIRST_BURST, 2 * SMALL_FIRST_BURST, true, bs);

	uint8_t cdb[10], bhs[ISCSI_BHS_LEN];
	uint8_t *buf = calloc(1, 2 * SMALL_FIRST_BURST);
	*why = '\0';
	wire_cdb_rw10(cdb, 0x2a, LIMITS_LBA, (uint16_t)(2 * SMALL_FIRST_BURST / bs));
	struct wire_cmd cmd = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = sizeof(cdb),
		.dir = WIRE_DIR_WRITE, .edtl = 2 * SMALL_FIRST_BURST, .final = false,
		.attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = buf ? wire_send_cmd(&c, &cmd) : WIRE_IO_ERROR;
	if (r == WIRE_IO_OK) {
		wire_build_data_out(bhs, &c, cmd.itt, ISCSI_RSVD_TAG, 0, 0, 2 * SMALL_FIRST_BURST, true);
		r = wire_send_pdu(&c, bhs, buf, 2 * SMALL_FIRST_BURST);
	}
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	else
		expect_reject(&c, bhs, ISCSI_REJECT_PROTOCOL_ERROR, why, sizeof(why));
	wire_check_why(names[1], why);
	free(buf);
	wire_close(&c);
}

/* RFC 7143 §11.7.1: F=1 ends the sequence an R2T asked for. Sent short,
 * the rest never comes: the task ends with CHECK CONDITION, ABORTED
 * COMMAND, instead of waiting. */
static void check_short_burst(const struct wire_target *t)
{
	static const char *const names[] = {
		"r2t_burst_ended_short_gets_check_condition", "r2t_burst_ended_short_then_inquiry",
	};
	struct wire_login_params lp;
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t cdb[10], bhs[ISCSI_BHS_LEN];
	struct wire_pdu p;

	wire_login_params_default(&lp);
	lp.immediate_data = false;
	lp.initial_r2t = true;
	if (!wire_session_open_capacity(&c, t, &lp, &blocks, &bs, why, sizeof(why)) ||
	    blocks <= LIMITS_LBA + 8) {
		wire_check_unreached(names, 2, *why ? why : "small LUN");
		wire_close(&c);
		return;
	}
	uint32_t len = 8 * bs;
	uint8_t *buf = calloc(1, len);
	wire_cdb_rw10(cdb, 0x2a, LIMITS_LBA, 8);
	struct wire_cmd cmd = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = sizeof(cdb),
		.dir = WIRE_DIR_WRITE, .edtl = len, .final = true, .attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = buf ? wire_send_cmd(&c, &cmd) : WIRE_IO_ERROR;
	if (r != WIRE_IO_OK || !wire_expect(&c, &p, ISCSI_OP_R2T, cmd.itt, why, sizeof(why))) {
		if (!*why)
			snprintf(why, sizeof(why), "%s", wire_io_name(r));
		wire_check_unreached(names, 2, why);
		goto out;
	}
	uint32_t ttt = be32_get(p.bhs + 20), want = be32_get(p.bhs + 44);
	wire_pdu_free(&p);
	if (want <= bs) {
		wire_check_unreached(names, 2, "the R2T asks for one block only");
		goto out;
	}
	wire_build_data_out(bhs, &c, cmd.itt, ttt, 0, 0, bs, true);
	r = wire_send_pdu(&c, bhs, buf, bs);
	if (r != WIRE_IO_OK) {
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	} else if (wire_expect(&c, &p, ISCSI_OP_SCSI_RSP, cmd.itt, why, sizeof(why))) {
		/* Sense data follows its 2-byte length; fixed (70h) or
		 * descriptor (72h) format. */
		const uint8_t *sense = p.data_len > 2 ? p.data + 2 : NULL;
		uint8_t key = !sense ? 0 : (sense[0] & 0x7f) == 0x72 ? sense[1] & 0x0f
			    : p.data_len > 4 ? sense[2] & 0x0f : 0;
		if (p.bhs[3] != WIRE_SCSI_CHECK_CONDITION || key != SENSE_KEY_ABORTED_COMMAND)
			snprintf(why, sizeof(why), "status 0x%02x sense key 0x%x, expected CHECK "
				 "CONDITION, ABORTED COMMAND", p.bhs[3], key);
		wire_pdu_free(&p);
	}
	wire_check_why(names[0], why);
	*why = '\0';
	wire_inquiry(&c, why, sizeof(why));
	wire_check_why(names[1], why);
out:
	free(buf);
	wire_close(&c);
}

/* RFC 7143 §4.2.2.1 lets an immediate command's CmdSN lie outside the
 * window, so the window's numbers cannot bound immediate commands: with
 * the window full of commands waiting for their data, one more immediate
 * command gets Reject 0x06 ("too many immediate commands", §11.17.1). */
static void check_immediate_beyond_window(const struct wire_target *t)
{
	const char *name = "immediate_command_with_window_full_rejected";
	const char *closed = "command_in_order_with_window_closed_ignored";
	struct wire_login_params lp;
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t cdb[10], bhs[ISCSI_BHS_LEN];

	wire_login_params_default(&lp);
	lp.immediate_data = false;
	lp.initial_r2t = true;
	if (!wire_session_open_capacity(&c, t, &lp, &blocks, &bs, why, sizeof(why)) ||
	    blocks <= LIMITS_LBA) {
		wire_check(name, false, "%s", *why ? why : "small LUN");
		wire_check(closed, false, "%s", *why ? why : "small LUN");
		wire_close(&c);
		return;
	}
	uint32_t window = c.max_cmdsn - c.cmdsn + 1;
	enum wire_io r = WIRE_IO_OK;
	wire_cdb_rw10(cdb, 0x2a, LIMITS_LBA, 1);
	for (uint32_t k = 0; k < window && r == WIRE_IO_OK && !*why; k++) {
		struct wire_cmd cmd = {
			.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = sizeof(cdb),
			.dir = WIRE_DIR_WRITE, .edtl = bs, .final = true, .attr = WIRE_ATTR_SIMPLE,
		};
		struct wire_pdu p;
		r = wire_send_cmd(&c, &cmd);
		if (r == WIRE_IO_OK && wire_expect(&c, &p, ISCSI_OP_R2T, cmd.itt, why, sizeof(why)))
			wire_pdu_free(&p);
	}
	if (r == WIRE_IO_OK && !*why) {
		static const uint8_t tur6[6];
		struct wire_cmd cmd = {
			.itt = c.next_itt++, .cmdsn = c.cmdsn, .cdb = tur6, .cdb_len = sizeof(tur6),
			.dir = WIRE_DIR_NONE, .final = true, .immediate = true,
			.attr = WIRE_ATTR_SIMPLE,
		};
		r = send_cmd_keep(&c, &cmd, bhs);
		if (r == WIRE_IO_OK)
			expect_reject(&c, bhs, ISCSI_REJECT_IMMEDIATE_CMD, why, sizeof(why));
	}
	if (r != WIRE_IO_OK && !*why)
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	wire_check(name, !*why, "window of %u: %s", window, why);
	if (*why) {
		wire_check(closed, false, "not reached: %s", why);
		wire_close(&c);
		return;
	}
	/* The last MaxCmdSN told is ExpCmdSN - 1: even the next command in
	 * order lies outside the window and is silently ignored (§4.2.2.1). */
	static const uint8_t tur[6];
	struct wire_cmd next = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn, .cdb = tur, .cdb_len = sizeof(tur),
		.dir = WIRE_DIR_NONE, .final = true, .attr = WIRE_ATTR_SIMPLE,
	};
	if (c.max_cmdsn != c.cmdsn - 1)
		snprintf(why, sizeof(why), "MaxCmdSN %u with ExpCmdSN %u: the window is open",
			 c.max_cmdsn, c.cmdsn);
	else if ((r = wire_send_cmd(&c, &next)) != WIRE_IO_OK)
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	else
		wire_silent(&c, WIRE_SILENCE_MS, why, sizeof(why));
	wire_check_why(closed, why);
	wire_close(&c);
}

void wire_limits_checks(const struct wire_target *t)
{
	check_no_unsolicited_allowed(t);
	check_first_burst(t);
	check_short_burst(t);
	check_immediate_beyond_window(t);
}

/* ---- against a lunard with short limits ---- */

/* Waits up to ms for a NOP-In ping (ITT 0xffffffff, a TTT); other PDUs
 * are skipped. Returns its TTT, or ISCSI_RSVD_TAG with why set. */
static uint32_t await_ping(struct wire_conn *c, int ms, char *why, size_t why_len)
{
	struct wire_pdu p;
	enum wire_io r = wire_recv_pdu(c, &p, ms);

	if (r != WIRE_IO_OK) {
		snprintf(why, why_len, "no NOP-In ping within %d ms: %s", ms, wire_io_name(r));
		return ISCSI_RSVD_TAG;
	}
	uint8_t op = p.bhs[0] & 0x3f;
	uint32_t itt = be32_get(p.bhs + 16), ttt = be32_get(p.bhs + 20);
	wire_pdu_free(&p);
	if (op != ISCSI_OP_NOP_IN || itt != ISCSI_RSVD_TAG || ttt == ISCSI_RSVD_TAG) {
		snprintf(why, why_len, "opcode 0x%02x ITT 0x%x TTT 0x%x, expected a NOP-In ping", op,
			 itt, ttt);
		return ISCSI_RSVD_TAG;
	}
	return ttt;
}

/* RFC 7143 §11.19: an idle connection is pinged; an answered ping keeps
 * it, an unanswered one ends it. */
static void check_nop_ping(const struct wire_target *t)
{
	static const char *const names[] = {
		"idle_connection_gets_nop_in_ping", "answered_ping_keeps_connection",
		"unanswered_ping_drops_connection",
	};
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint8_t bhs[ISCSI_BHS_LEN];

	if (!wire_session_open(&c, t, NULL, why, sizeof(why))) {
		wire_check_unreached(names, 3, why);
		wire_close(&c);
		return;
	}
	const int ms = (NOP_INTERVAL_S + 2) * 1000;
	uint32_t ttt = await_ping(&c, ms, why, sizeof(why));
	wire_check_why(names[0], why);
	if (*why) {
		wire_check_unreached(names + 1, 2, why);
		wire_close(&c);
		return;
	}
	wire_build_nop_out(bhs, &c, ISCSI_RSVD_TAG, ttt, true, 0);
	enum wire_io r = wire_send_pdu(&c, bhs, NULL, 0);
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "answering: %s", wire_io_name(r));
	else
		await_ping(&c, ms + NOP_TIMEOUT_S * 1000, why, sizeof(why));
	wire_check_why(names[1], why);
	r = wire_wait_close(&c, (NOP_TIMEOUT_S + 2) * 1000);
	wire_check(names[2], r == WIRE_IO_CLOSED, "after an unanswered ping: %s", wire_io_name(r));
	wire_close(&c);
}

static void check_discovery_idle(const struct wire_target *t)
{
	const char *name = "idle_discovery_session_closed";
	struct wire_login_params lp;
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";

	wire_login_params_default(&lp);
	lp.discovery = true;
	if (!wire_login_with(&c, t, &lp, why, sizeof(why))) {
		wire_check(name, false, "%s", why);
		wire_close(&c);
		return;
	}
	enum wire_io r = wire_wait_close(&c, (DISCOVERY_IDLE_S + 3) * 1000);
	wire_check(name, r == WIRE_IO_CLOSED, "%s", wire_io_name(r));
	wire_close(&c);
}

/* A field of /proc/PID/status in kB, or 0. */
static unsigned long proc_status_kb(int pid, const char *field)
{
	char path[64], line[256];
	unsigned long kb = 0;
	size_t flen = strlen(field);

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, flen) == 0 && line[flen] == ':')
			kb = strtoul(line + flen + 1, NULL, 10);
	fclose(f);
	return kb;
}

/* A peer that sends NOP-Out pings with data and never reads the echoes:
 * lunard stops reading from it once the replies queue up, so its memory
 * stays bounded, and once nothing it sends moves for TX_STALL_S it drops
 * the connection. */
static void check_stopped_reader(const struct wire_target *t, int pid)
{
	static const char *const names[] = {
		"stopped_reader_rss_bounded", "stopped_reader_dropped",
	};
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint8_t bhs[ISCSI_BHS_LEN];

	unsigned long before = proc_status_kb(pid, "VmRSS");
	uint8_t *buf = calloc(1, FLOOD_SEG);
	if (!buf || !before || !wire_session_open(&c, t, NULL, why, sizeof(why))) {
		wire_check_unreached(names, 2, *why ? why : "no buffer or no /proc status for lunard");
		free(buf);
		return;
	}
	uint32_t seg = c.target_mrdsl < FLOOD_SEG ? c.target_mrdsl : FLOOD_SEG;
	uint64_t sent = 0;
	enum wire_io r = WIRE_IO_OK;
	while (sent < FLOOD_BYTES && r == WIRE_IO_OK) {
		wire_build_nop_out(bhs, &c, c.next_itt++, ISCSI_RSVD_TAG, true, seg);
		r = wire_send_pdu(&c, bhs, buf, seg);
		sent += seg;
	}
	unsigned long peak = proc_status_kb(pid, "VmHWM");
	wire_note("stopped reader: sent %llu KiB (%s); lunard VmRSS %lu kB before, VmHWM %lu kB",
		  (unsigned long long)(sent >> 10), wire_io_name(r), before, peak);
	wire_check(names[0], peak && peak - before < RSS_GROWTH_MAX_KB,
		   "VmHWM %lu kB after %llu KiB sent, VmRSS %lu kB before", peak,
		   (unsigned long long)(sent >> 10), before);
	/* Still not reading: the state of the socket tells whether lunard
	 * gave up on it (reading now would let its sends move again). */
	sleep(TX_STALL_S + 2);
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	bool gone = getsockopt(c.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
		    ti.tcpi_state != TCP_ESTABLISHED;
	wire_check(names[1], gone, "the connection is still established %d s after the peer "
		   "stopped reading", TX_STALL_S + 2);
	free(buf);
	wire_close(&c);
}

/* A write whose R2T is never answered (the initiator answers pings, so it
 * is alive) ends with CHECK CONDITION, ABORTED COMMAND, once the target
 * has waited DATA_OUT_TIMEOUT_S: it would hold its chunks for ever. */
static void check_data_out_timeout(const struct wire_target *t)
{
	const char *name = "unanswered_r2t_ends_task";
	struct wire_login_params lp;
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t cdb[10];
	struct wire_pdu p;

	wire_login_params_default(&lp);
	lp.immediate_data = false;
	lp.initial_r2t = true;
	if (!wire_session_open_capacity(&c, t, &lp, &blocks, &bs, why, sizeof(why)) ||
	    blocks <= LIMITS_LBA) {
		wire_check(name, false, "%s", *why ? why : "small LUN");
		wire_close(&c);
		return;
	}
	wire_cdb_rw10(cdb, 0x2a, LIMITS_LBA, 1);
	struct wire_cmd cmd = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = sizeof(cdb),
		.dir = WIRE_DIR_WRITE, .edtl = bs, .final = true, .attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = wire_send_cmd(&c, &cmd);
	if (r != WIRE_IO_OK) {
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	} else if (wire_expect(&c, &p, ISCSI_OP_R2T, cmd.itt, why, sizeof(why))) {
		wire_pdu_free(&p);
		/* wire_expect answers the pings meanwhile. */
		if (wire_expect(&c, &p, ISCSI_OP_SCSI_RSP, cmd.itt, why, sizeof(why))) {
			if (p.bhs[3] != WIRE_SCSI_CHECK_CONDITION)
				snprintf(why, sizeof(why), "status 0x%02x, expected CHECK CONDITION",
					 p.bhs[3]);
			wire_pdu_free(&p);
		}
	}
	wire_check_why(name, why);
	wire_close(&c);
}

/* A peer that sends READs and never reads the data: the commands of the
 * window past the session's share (16 MiB in tests/wire/limits.sh) get
 * TASK SET FULL, so lunard holds the share, not a window of transfers. */
static void check_stopped_read_reader(const struct wire_target *t, int pid)
{
	const char *name = "stopped_reader_of_reads_rss_bounded";
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t cdb[10];

	unsigned long before = proc_status_kb(pid, "VmRSS");
	if (!before || !wire_session_open_capacity(&c, t, NULL, &blocks, &bs, why, sizeof(why)) ||
	    blocks < 64 * (uint64_t)(READ_BYTES / bs)) {
		wire_check(name, false, "%s", *why ? why : "no /proc status for lunard, or small LUN");
		wire_close(&c);
		return;
	}
	uint32_t per = READ_BYTES / bs;
	enum wire_io r = WIRE_IO_OK;
	unsigned n = 0;
	for (; n < READS_MAX && r == WIRE_IO_OK; n++) {
		wire_cdb_rw10(cdb, 0x28, (n % 64) * per, (uint16_t)per);
		struct wire_cmd cmd = {
			.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = sizeof(cdb),
			.dir = WIRE_DIR_READ, .edtl = READ_BYTES, .final = true,
			.attr = WIRE_ATTR_SIMPLE,
		};
		r = wire_send_cmd(&c, &cmd);
	}
	/* Time for lunard to execute what it admitted. */
	sleep(1);
	unsigned long peak = proc_status_kb(pid, "VmHWM");
	wire_note("stopped reader of READs: %u READs of %u KiB sent (%s); lunard VmRSS %lu kB "
		  "before, VmHWM %lu kB", n, READ_BYTES >> 10, wire_io_name(r), before, peak);
	wire_check(name, peak && peak - before < RSS_GROWTH_MAX_KB,
		   "VmHWM %lu kB, VmRSS %lu kB before", peak, before);
	wire_close(&c);
}

void wire_limits_timed_checks(const struct wire_target *t, int server_pid)
{
	check_data_out_timeout(t);
	check_nop_ping(t);
	check_discovery_idle(t);
	check_stopped_reader(t, server_pid);
	check_stopped_read_reader(t, server_pid);
}
