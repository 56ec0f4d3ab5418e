/* Writes interrupted while their data is still coming (RFC 7143
 * §11.5.1): ABORT TASK, LOGICAL UNIT RESET and a lost connection each end a
 * WRITE that has had half of its solicited data. It must end silently (no
 * SCSI Response), give back what it held, and leave its blocks to other
 * commands: a COMPARE AND WRITE over them, which needs them exclusively
 * (SBC-4 5.3), then ends GOOD and writes what it says. A write the target
 * kept alive leaves that command, or the reset, unanswered until the
 * tool's timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/be.h"
#include "wire_check.h"
#include "wire_scenarios.h"
#include "wire_xfer.h"

/* Blocks no other scenario writes. Each check has its own INTR_BLOCKS, so
 * that a write one check leaves behind does not fail the next one's round. */
#define INTR_LBA 40000u
#define INTR_BLOCKS 16u
/* A step's own words, with room left in a why for the step's name. */
#define STEP_WHY_LEN (WIRE_WHY_LEN / 2)

/* TMF functions (§11.5.1), the response wanted (§11.6.1), and the unit
 * attention a LOGICAL UNIT RESET leaves (SAM-5 6.3.3, 29h/03h). */
enum { TMF_ABORT_TASK = 1, TMF_LUN_RESET = 5 };
enum { TMF_RSP_COMPLETE = 0 };
enum { ASC_RESET = 0x29, ASCQ_LU_RESET = 0x03 };

/* How a check interrupts its write. */
enum interruption { BY_ABORT_TASK, BY_LU_RESET, BY_LOST_CONNECTION };

/* A session with a WRITE of INTR_BLOCKS at lba left half sent. */
struct half_write {
	struct wire_conn c;
	struct wire_cmd cmd;
	uint8_t cdb[10];
	uint32_t lba, bs;
};

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Sends the first half of a burst of len bytes from offset 0: Data-Outs of
 * a quarter of it each (so that DataSN counts), F clear on all of them,
 * so the target goes on waiting for the rest. */
static enum wire_io send_half_burst(struct wire_conn *c, uint32_t itt, uint32_t ttt, uint32_t len)
{
	uint32_t half = len / 2, seg = min_u32(half / 2 ? half / 2 : half, c->target_mrdsl);
	uint8_t *data = malloc(half);
	enum wire_io r = data ? WIRE_IO_OK : WIRE_IO_ERROR;

	if (data)
		wire_fill_pattern(data, half, 0x6d);
	for (uint32_t datasn = 0, done = 0; r == WIRE_IO_OK && done < half; datasn++) {
		uint32_t n = min_u32(half - done, seg);
		uint8_t bhs[ISCSI_BHS_LEN];

		wire_build_data_out(bhs, c, itt, ttt, datasn, done, n, false);
		r = wire_send_pdu(c, bhs, data + done, n);
		done += n;
	}
	free(data);
	return r;
}

/* Opens a session and leaves a WRITE(10) of INTR_BLOCKS at lba half done:
 * the command with F set and no data (all of it solicited), its R2T, and
 * the first half of that burst. A ping answered next shows that the
 * target has taken all of that in and has not ended the write. */
static bool start_half_write(struct half_write *w, const struct wire_target *t, uint32_t lba,
			     char *why)
{
	char got[STEP_WHY_LEN] = "";
	uint64_t blocks;
	struct wire_pdu p;

	w->lba = lba;
	if (!wire_session_open_capacity(&w->c, t, NULL, &blocks, &w->bs, got, sizeof(got))) {
		snprintf(why, WIRE_WHY_LEN, "session: %s", got);
		return false;
	}
	if (!wire_lba_room(blocks, lba, INTR_BLOCKS * w->bs, w->bs, why, WIRE_WHY_LEN))
		return false;
	wire_cdb_rw10(w->cdb, 0x2a, lba, INTR_BLOCKS);
	w->cmd = (struct wire_cmd){
		.itt = w->c.next_itt++, .cmdsn = w->c.cmdsn++, .cdb = w->cdb, .cdb_len = sizeof(w->cdb),
		.dir = WIRE_DIR_WRITE, .edtl = INTR_BLOCKS * w->bs, .final = true,
		.attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = wire_send_cmd(&w->c, &w->cmd);
	if (r != WIRE_IO_OK) {
		snprintf(why, WIRE_WHY_LEN, "sending the WRITE: %s", wire_io_name(r));
		return false;
	}
	if (!wire_expect(&w->c, &p, ISCSI_OP_R2T, w->cmd.itt, got, sizeof(got))) {
		snprintf(why, WIRE_WHY_LEN, "no R2T for the WRITE: %s", got);
		return false;
	}
	uint32_t ttt = be32_get(p.bhs + 20), offset = be32_get(p.bhs + 40), len = be32_get(p.bhs + 44);
	wire_pdu_free(&p);
	/* With the default MaxBurstLength the first R2T asks for all of it. */
	if (offset != 0 || len < 2 || len > w->cmd.edtl) {
		snprintf(why, WIRE_WHY_LEN, "the R2T asks for [%u, +%u) of a %u-byte WRITE", offset, len,
			 w->cmd.edtl);
		return false;
	}
	r = send_half_burst(&w->c, w->cmd.itt, ttt, len);
	if (r != WIRE_IO_OK) {
		snprintf(why, WIRE_WHY_LEN, "sending half the burst: %s", wire_io_name(r));
		return false;
	}
	if (!wire_nothing_pending(&w->c, got, sizeof(got))) {
		snprintf(why, WIRE_WHY_LEN, "after half the burst: %s", got);
		return false;
	}
	return true;
}

/* Sends a TMF and waits for its response, which must be "function
 * complete"; the interrupted write must end silently, so a SCSI Response
 * to it, before the TMF Response or after, fails. */
static bool tmf_over_write(struct half_write *w, uint8_t function, char *why)
{
	const char *what = function == TMF_ABORT_TASK ? "ABORT TASK" : "LOGICAL UNIT RESET";
	char got[STEP_WHY_LEN] = "";
	uint8_t bhs[ISCSI_BHS_LEN];
	uint32_t itt = w->c.next_itt++;

	if (function == TMF_ABORT_TASK)
		wire_build_tmf(bhs, &w->c, itt, function, w->cmd.itt, w->cmd.cmdsn);
	else
		wire_build_tmf(bhs, &w->c, itt, function, ISCSI_RSVD_TAG, 0);
	enum wire_io r = wire_send_pdu(&w->c, bhs, NULL, 0);
	if (r != WIRE_IO_OK) {
		snprintf(why, WIRE_WHY_LEN, "sending %s: %s", what, wire_io_name(r));
		return false;
	}
	struct wire_pdu p;
	r = wire_recv_reply(&w->c, &p, WIRE_IO_TIMEOUT_S * 1000);
	if (r != WIRE_IO_OK) {
		snprintf(why, WIRE_WHY_LEN, "%s: no TMF Response: %s", what, wire_io_name(r));
		return false;
	}
	uint8_t op = p.bhs[0] & 0x3f, response = p.bhs[2], status = p.bhs[3];
	uint32_t got_itt = be32_get(p.bhs + 16);
	wire_pdu_free(&p);
	if (op == ISCSI_OP_SCSI_RSP && got_itt == w->cmd.itt) {
		snprintf(why, WIRE_WHY_LEN, "%s: a SCSI Response (status 0x%02x) to the interrupted "
			 "WRITE before the TMF Response", what, status);
		return false;
	}
	if (op != ISCSI_OP_TMF_RSP || got_itt != itt) {
		snprintf(why, WIRE_WHY_LEN, "%s: opcode 0x%02x ITT 0x%x instead of the TMF Response",
			 what, op, got_itt);
		return false;
	}
	if (response != TMF_RSP_COMPLETE) {
		snprintf(why, WIRE_WHY_LEN, "%s: response %u, want %u (function complete)", what,
			 response, TMF_RSP_COMPLETE);
		return false;
	}
	if (!wire_nothing_pending(&w->c, got, sizeof(got))) {
		snprintf(why, WIRE_WHY_LEN, "after the %s response: %s", what, got);
		return false;
	}
	return true;
}

/* The reset's unit attention on this nexus, or GOOD (a target that keeps
 * none): either way the round after meets no unit attention. */
static bool after_reset(struct wire_conn *c, char *why)
{
	char got[WIRE_WHY_LEN] = "";
	int ua = wire_tur_ua(c, got, sizeof(got));

	if (ua == 0 || ua == (ASC_RESET << 8 | ASCQ_LU_RESET))
		return true;
	if (ua > 0)
		snprintf(why, WIRE_WHY_LEN, "TEST UNIT READY after the reset: unit attention "
			 "%02x/%02x, want GOOD or 29/03", ua >> 8, ua & 0xff);
	else
		snprintf(why, WIRE_WHY_LEN, "TEST UNIT READY after the reset: %.*s", STEP_WHY_LEN, got);
	return false;
}

/* A new session of the same initiator (each login has a new ISID), its
 * unit attentions (the new nexus's, or one the lost connection left)
 * cleared by wire_session_open. */
static bool reopen(struct wire_conn *c, const struct wire_target *t, char *why)
{
	char got[STEP_WHY_LEN] = "";

	if (wire_session_open(c, t, NULL, got, sizeof(got)))
		return true;
	snprintf(why, WIRE_WHY_LEN, "new session: %s", got);
	return false;
}

/* Interrupts the half-done write as how says, and leaves w->c a session
 * ready for the round: the same one after a TMF, a new one after the
 * connection was dropped without a Logout. */
static bool interrupt(struct half_write *w, const struct wire_target *t, enum interruption how,
		      char *why)
{
	switch (how) {
	case BY_ABORT_TASK:
		return tmf_over_write(w, TMF_ABORT_TASK, why);
	case BY_LU_RESET:
		return tmf_over_write(w, TMF_LUN_RESET, why) && after_reset(&w->c, why);
	case BY_LOST_CONNECTION:
		wire_close(&w->c);
		return reopen(&w->c, t, why);
	}
	return false;
}

/* COMPARE AND WRITE of the first block of the interrupted write (SBC-4
 * 5.3): the compare half what a READ finds there now (the half burst may
 * have landed, as an aborted write's data may), the write half a pattern
 * other than that. It must end GOOD and the block read back as the
 * pattern. A write that kept its blocks leaves the command waiting. */
static void compare_and_write_round(struct wire_conn *c, uint32_t lba, uint32_t bs, char *why)
{
	uint8_t cdb[16] = { 0x89 };
	uint8_t *data = malloc(2 * (size_t)bs), *back = malloc(bs);
	char got[STEP_WHY_LEN] = "";
	struct wire_scsi_result res;

	if (!data || !back) {
		snprintf(why, WIRE_WHY_LEN, "out of memory");
		goto out;
	}
	if (!wire_read_lba(c, lba, data, bs, bs, got, sizeof(got))) {
		snprintf(why, WIRE_WHY_LEN, "READ before COMPARE AND WRITE: %s", got);
		goto out;
	}
	uint8_t *pattern = data + bs;
	wire_fill_pattern(pattern, bs, (uint8_t)lba);
	if (!memcmp(pattern, data, bs))
		wire_fill_pattern(pattern, bs, (uint8_t)~lba);
	be64_put(cdb + 2, lba);
	cdb[13] = 1;
	if (!wire_scsi_exec(c, cdb, sizeof(cdb), WIRE_DIR_WRITE, data, 2 * bs, &res, got, sizeof(got)))
		snprintf(why, WIRE_WHY_LEN, "COMPARE AND WRITE: %s", got);
	else if (res.response || res.status != WIRE_SCSI_GOOD)
		snprintf(why, WIRE_WHY_LEN, "COMPARE AND WRITE: response 0x%02x status 0x%02x sense "
			 "%x/%02x/%02x", res.response, res.status, res.sense_key, res.asc, res.ascq);
	else if (!wire_read_lba(c, lba, back, bs, bs, got, sizeof(got)))
		snprintf(why, WIRE_WHY_LEN, "read back after COMPARE AND WRITE: %s", got);
	else if (memcmp(back, pattern, bs))
		snprintf(why, WIRE_WHY_LEN, "read back: LBA %u is not what COMPARE AND WRITE wrote", lba);
out:
	free(data);
	free(back);
}

static void check_interrupted(const struct wire_target *t, const char *name, enum interruption how,
			      uint32_t lba)
{
	struct half_write w;
	char why[WIRE_WHY_LEN] = "";

	if (start_half_write(&w, t, lba, why) && interrupt(&w, t, how, why))
		compare_and_write_round(&w.c, lba, w.bs, why);
	wire_check_why(name, why);
	wire_close(&w.c);
}

void wire_interrupted_checks(const struct wire_target *t)
{
	check_interrupted(t, "interrupted_write_abort_task_lets_go", BY_ABORT_TASK, INTR_LBA);
	check_interrupted(t, "interrupted_write_lost_connection_lets_go", BY_LOST_CONNECTION,
			  INTR_LBA + INTR_BLOCKS);
	/* The reset last: it waits for every task of the LU, so it also waits
	 * for a write an earlier check left behind, and a reset that never
	 * ends must not be what fails the checks after it. */
	check_interrupted(t, "interrupted_write_lu_reset_lets_go", BY_LU_RESET,
			  INTR_LBA + 2 * INTR_BLOCKS);
}
