/* Write data paths (RFC 7143 §10.7, §11.7, §11.8): the R2T sequence of a
 * WRITE without immediate data, unsolicited data after immediate data, and
 * Data-Out PDUs the target has to refuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/be.h"
#include "wire_check.h"
#include "wire_scenarios.h"
#include "wire_xfer.h"

/* Each scenario writes its own LBAs, away from the other checks'. */
#define R2T_LBA 2048u
#define UNSOL_LBA 4096u
#define BAD_DATA_OUT_LBA 8500u
#define BURST 65536u
/* Data-Out size the tool chooses below the target's limit, so that a
 * burst has several PDUs and DataSN counts. */
#define DATA_OUT_SEG 16384u
/* Long enough for a target that wrongly runs ahead to show it. */
#define AHEAD_MS 200
#define PDUS_MAX 64
/* An ITT this tool never gives out (its ITTs count up from 1). */
#define UNUSED_ITT 0x7ffffff0u

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

struct r2t_seen {
	uint32_t ttt, r2tsn, offset, len;
};

/* What the target did with one WRITE: its R2Ts, whether it sent anything
 * before the burst asked for was complete, and its status. */
struct write_run {
	struct r2t_seen r2t[PDUS_MAX];
	unsigned nr2t;
	char ahead[WIRE_WHY_LEN];
	uint8_t response, status;
};

/* Answers each R2T of itt with one burst of buf, in Data-Outs of seg
 * bytes, until the SCSI Response. Before each burst it waits AHEAD_MS: with
 * MaxOutstandingR2T=1 nothing may come until the burst is complete. */
static bool drive_write(struct wire_conn *c, uint32_t itt, const uint8_t *buf, uint32_t total,
			uint32_t seg, struct write_run *w, char *why)
{
	memset(w, 0, sizeof(*w));
	for (unsigned i = 0; i < PDUS_MAX; i++) {
		struct wire_pdu p;
		enum wire_io r = wire_recv_reply(c, &p, WIRE_IO_TIMEOUT_S * 1000);

		if (r != WIRE_IO_OK) {
			snprintf(why, WIRE_WHY_LEN, "after %u R2Ts: %s", w->nr2t, wire_io_name(r));
			return false;
		}
		uint8_t op = p.bhs[0] & 0x3f;
		bool ours = be32_get(p.bhs + 16) == itt;
		if (ours && op == ISCSI_OP_SCSI_RSP) {
			w->response = p.bhs[2];
			w->status = p.bhs[3];
			wire_pdu_free(&p);
			return true;
		}
		if (!ours || op != ISCSI_OP_R2T) {
			snprintf(why, WIRE_WHY_LEN, "after %u R2Ts: opcode 0x%02x ITT 0x%x (reason 0x%02x)",
				 w->nr2t, op, be32_get(p.bhs + 16), p.bhs[2]);
			wire_pdu_free(&p);
			return false;
		}
		struct r2t_seen *s = &w->r2t[w->nr2t++];
		*s = (struct r2t_seen){
			.ttt = be32_get(p.bhs + 20), .r2tsn = be32_get(p.bhs + 36),
			.offset = be32_get(p.bhs + 40), .len = be32_get(p.bhs + 44),
		};
		wire_pdu_free(&p);
		char early[WIRE_WHY_LEN / 2] = "";
		if (!wire_silent(c, AHEAD_MS, early, sizeof(early))) {
			snprintf(w->ahead, sizeof(w->ahead), "before the burst of R2T %u was sent: %s",
				 w->nr2t - 1, early);
			snprintf(why, WIRE_WHY_LEN, "target ran ahead: %s", early);
			return false;
		}
		if (s->offset > total || s->len > total - s->offset) {
			snprintf(why, WIRE_WHY_LEN, "R2T %u asks for [%u, +%u) of a %u-byte write",
				 w->nr2t - 1, s->offset, s->len, total);
			return false;
		}
		r = wire_send_burst(c, itt, s->ttt, buf, s->offset, s->len, seg);
		if (r != WIRE_IO_OK) {
			snprintf(why, WIRE_WHY_LEN, "sending burst: %s", wire_io_name(r));
			return false;
		}
	}
	snprintf(why, WIRE_WHY_LEN, "more than %d PDUs for one WRITE", PDUS_MAX);
	return false;
}

/* R2TSN counts from 0, offsets follow each other from first_offset, and
 * each R2T asks for one burst (or what is left). RFC 7143 §11.8.3-11.8.4. */
static void judge_r2ts(const struct write_run *w, uint32_t first_offset, uint32_t total,
		       uint32_t burst, char *why)
{
	uint32_t want_off = first_offset;

	for (unsigned k = 0; k < w->nr2t && !*why; k++) {
		const struct r2t_seen *s = &w->r2t[k];
		uint32_t want_len = min_u32(burst, total - want_off);

		if (s->r2tsn != k || s->offset != want_off || s->len != want_len)
			snprintf(why, WIRE_WHY_LEN,
				 "R2T %u: R2TSN %u offset %u length %u, expected %u/%u/%u", k, s->r2tsn,
				 s->offset, s->len, k, want_off, want_len);
		want_off += s->len;
	}
	if (!*why && want_off != total)
		snprintf(why, WIRE_WHY_LEN, "%u R2Ts cover up to offset %u, expected %u", w->nr2t,
			 want_off, total);
}

static void judge_ttts(const struct write_run *w, char *why)
{
	for (unsigned k = 0; k < w->nr2t && !*why; k++) {
		if (w->r2t[k].ttt == ISCSI_RSVD_TAG)
			snprintf(why, WIRE_WHY_LEN, "R2T %u has the reserved TTT 0xffffffff", k);
		for (unsigned j = 0; j < k && !*why; j++)
			if (w->r2t[j].ttt == w->r2t[k].ttt)
				snprintf(why, WIRE_WHY_LEN, "R2Ts %u and %u share TTT 0x%x", j, k,
					 w->r2t[k].ttt);
	}
}

static void judge_status(const struct write_run *w, char *why)
{
	if (w->response || w->status != WIRE_SCSI_GOOD)
		snprintf(why, WIRE_WHY_LEN, "response 0x%02x status 0x%02x", w->response, w->status);
}

static void judge_read_back(struct wire_conn *c, uint32_t lba, const uint8_t *want, uint32_t len,
			    uint32_t bs, char *why)
{
	uint8_t *got = malloc(len);

	if (!got) {
		snprintf(why, WIRE_WHY_LEN, "out of memory");
		return;
	}
	if (wire_read_lba(c, lba, got, len, bs, why, WIRE_WHY_LEN) && memcmp(got, want, len)) {
		uint32_t i = 0;

		while (got[i] == want[i])
			i++;
		snprintf(why, WIRE_WHY_LEN, "read back differs from the data written at byte %u", i);
	}
	free(got);
}

/* Scenario 1: ImmediateData=No, InitialR2T=Yes, MaxBurstLength 64 KiB,
 * MaxOutstandingR2T 1: a 256 KiB WRITE is asked for in four R2Ts, one
 * burst each, each sent only after the previous burst's F=1. */
static void check_r2t_sequence(const struct wire_target *t)
{
	static const char *const names[] = {
		"r2t_login_negotiated", "r2t_sn_offsets_lengths", "r2t_distinct_ttts",
		"r2t_one_outstanding", "r2t_write_good", "r2t_read_back_equal",
	};
	const uint32_t total = 256u * 1024u;
	struct wire_login_params lp;
	struct wire_conn c;
	struct write_run w;
	char why[WIRE_WHY_LEN] = "", seq[WIRE_WHY_LEN] = "", ttts[WIRE_WHY_LEN] = "";
	char status[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t cdb[10];

	wire_login_params_default(&lp);
	lp.immediate_data = false;
	lp.initial_r2t = true;
	lp.max_burst = BURST;
	lp.first_burst = BURST;
	lp.max_outstanding_r2t = 1;
	if (!wire_session_open_capacity(&c, t, &lp, &blocks, &bs, why, sizeof(why))) {
		wire_check_unreached(names, 6, why);
		return;
	}
	wire_check(names[0], !c.immediate_data && c.initial_r2t && c.max_burst == BURST &&
		   c.max_outstanding_r2t == 1,
		   "ImmediateData=%s InitialR2T=%s MaxBurstLength=%u MaxOutstandingR2T=%u",
		   c.immediate_data ? "Yes" : "No", c.initial_r2t ? "Yes" : "No", c.max_burst,
		   c.max_outstanding_r2t);
	uint8_t *buf = malloc(total);
	if (!buf || !wire_lba_room(blocks, R2T_LBA, total, bs, why, WIRE_WHY_LEN)) {
		if (!*why)
			snprintf(why, sizeof(why), "out of memory");
		wire_check_unreached(names + 1, 5, why);
		goto out;
	}
	wire_fill_pattern(buf, total, 0x31);
	wire_cdb_rw10(cdb, 0x2a, R2T_LBA, (uint16_t)(total / bs));
	struct wire_cmd cmd = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = sizeof(cdb),
		.dir = WIRE_DIR_WRITE, .edtl = total, .final = true, .attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = wire_send_cmd(&c, &cmd);
	if (r != WIRE_IO_OK) {
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
		wire_check_unreached(names + 1, 5, why);
		goto out;
	}
	if (!drive_write(&c, cmd.itt, buf, total, min_u32(DATA_OUT_SEG, c.target_mrdsl), &w, why)) {
		wire_check_unreached(names + 1, 2, why);
		if (*w.ahead)
			wire_check_why(names[3], w.ahead);
		else
			wire_check_unreached(names + 3, 1, why);
		wire_check_unreached(names + 4, 2, why);
		goto out;
	}
	judge_r2ts(&w, 0, total, BURST, seq);
	if (!*seq && w.nr2t != total / BURST)
		snprintf(seq, sizeof(seq), "%u R2Ts, expected %u", w.nr2t, total / BURST);
	wire_check_why(names[1], seq);
	judge_ttts(&w, ttts);
	wire_check_why(names[2], ttts);
	wire_check_why(names[3], w.ahead);
	judge_status(&w, status);
	wire_check_why(names[4], status);
	judge_read_back(&c, R2T_LBA, buf, total, bs, why);
	wire_check_why(names[5], why);
out:
	free(buf);
	wire_close(&c);
}

/* Scenario 2: InitialR2T=No, ImmediateData=Yes, FirstBurstLength 64 KiB.
 * A 192 KiB WRITE carries 16 KiB of immediate data (F=0), then unsolicited
 * Data-Out (TTT 0xffffffff) up to FirstBurstLength with F on the last; the
 * target asks for the rest with R2Ts from offset 65536 (§10.7.2, §11.7.1). */
static void check_unsolicited(const struct wire_target *t)
{
	static const char *const names[] = {
		"unsol_login_negotiated", "unsol_r2ts_start_after_first_burst", "unsol_write_good",
		"unsol_read_back_equal",
	};
	const uint32_t total = 192u * 1024u, imm = 16384u;
	struct wire_login_params lp;
	struct wire_conn c;
	struct write_run w;
	char why[WIRE_WHY_LEN] = "", seq[WIRE_WHY_LEN] = "", status[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t cdb[10];

	wire_login_params_default(&lp);
	lp.immediate_data = true;
	lp.initial_r2t = false;
	lp.first_burst = BURST;
	lp.max_burst = BURST;
	lp.max_outstanding_r2t = 1;
	if (!wire_session_open_capacity(&c, t, &lp, &blocks, &bs, why, sizeof(why))) {
		wire_check_unreached(names, 4, why);
		return;
	}
	wire_check(names[0], c.immediate_data && !c.initial_r2t && c.first_burst == BURST &&
		   c.max_burst == BURST && c.target_mrdsl >= imm,
		   "ImmediateData=%s InitialR2T=%s FirstBurstLength=%u MaxBurstLength=%u target MRDSL %u",
		   c.immediate_data ? "Yes" : "No", c.initial_r2t ? "Yes" : "No", c.first_burst,
		   c.max_burst, c.target_mrdsl);
	uint8_t *buf = malloc(total);
	if (!buf || !wire_lba_room(blocks, UNSOL_LBA, total, bs, why, WIRE_WHY_LEN)) {
		if (!*why)
			snprintf(why, sizeof(why), "out of memory");
		wire_check_unreached(names + 1, 3, why);
		goto out;
	}
	wire_fill_pattern(buf, total, 0x47);
	wire_cdb_rw10(cdb, 0x2a, UNSOL_LBA, (uint16_t)(total / bs));
	struct wire_cmd cmd = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = sizeof(cdb),
		.dir = WIRE_DIR_WRITE, .edtl = total, .imm = buf, .imm_len = imm, .final = false,
		.attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = wire_send_cmd(&c, &cmd);
	if (r == WIRE_IO_OK)
		r = wire_send_burst(&c, cmd.itt, ISCSI_RSVD_TAG, buf, imm, BURST - imm,
				    min_u32(DATA_OUT_SEG, c.target_mrdsl));
	if (r != WIRE_IO_OK) {
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
		wire_check_unreached(names + 1, 3, why);
		goto out;
	}
	if (!drive_write(&c, cmd.itt, buf, total, min_u32(DATA_OUT_SEG, c.target_mrdsl), &w, why)) {
		wire_check_unreached(names + 1, 3, why);
		goto out;
	}
	judge_r2ts(&w, BURST, total, c.max_burst, seq);
	wire_check_why(names[1], seq);
	judge_status(&w, status);
	wire_check_why(names[2], status);
	judge_read_back(&c, UNSOL_LBA, buf, total, bs, why);
	wire_check_why(names[3], why);
out:
	free(buf);
	wire_close(&c);
}

/* RFC 7143 §11.17.1: a Reject carries the complete header of the PDU it
 * refuses. */
static bool is_reject_of(const struct wire_pdu *p, const uint8_t *bhs)
{
	return (p->bhs[0] & 0x3f) == ISCSI_OP_REJECT && p->data_len >= ISCSI_BHS_LEN &&
	       !memcmp(p->data, bhs, ISCSI_BHS_LEN);
}

/* Scenario 9a: a Data-Out for an ITT with no task is an invalid field
 * (Reject 0x09; 0x04 "protocol error" also describes it), and only that PDU
 * is refused: the session goes on. */
static void check_data_out_unknown_itt(const struct wire_target *t)
{
	const char *name = "data_out_unknown_itt_rejected";
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint8_t bhs[ISCSI_BHS_LEN], data[512] = { 0 };
	struct wire_pdu p;

	if (!wire_session_open(&c, t, NULL, why, sizeof(why))) {
		wire_check(name, false, "%s", why);
		wire_check("data_out_unknown_itt_then_inquiry", false, "%s", why);
		return;
	}
	wire_build_data_out(bhs, &c, UNUSED_ITT, ISCSI_RSVD_TAG, 0, 0, sizeof(data), true);
	enum wire_io r = wire_send_pdu(&c, bhs, data, sizeof(data));
	if (r == WIRE_IO_OK)
		r = wire_recv_reply(&c, &p, WIRE_IO_TIMEOUT_S * 1000);
	if (r != WIRE_IO_OK) {
		snprintf(why, sizeof(why), "no Reject: %s", wire_io_name(r));
	} else {
		if (!is_reject_of(&p, bhs))
			snprintf(why, sizeof(why), "got opcode 0x%02x (%u bytes of data), expected a "
				 "Reject carrying the Data-Out header", p.bhs[0] & 0x3f, p.data_len);
		else if (p.bhs[2] != ISCSI_REJECT_INVALID_PDU_FIELD &&
			 p.bhs[2] != ISCSI_REJECT_PROTOCOL_ERROR)
			snprintf(why, sizeof(why), "Reject reason 0x%02x, expected 0x09 or 0x04", p.bhs[2]);
		wire_pdu_free(&p);
	}
	wire_check_why(name, why);
	*why = '\0';
	bool ok = r == WIRE_IO_OK && wire_inquiry(&c, why, sizeof(why));
	wire_check("data_out_unknown_itt_then_inquiry", ok, "%s", *why ? why : wire_io_name(r));
	wire_close(&c);
}

/* Scenario 9b: a Data-Out that does not fit its R2T (wrong BufferOffset or
 * DataSN). RFC 7143 §7 "Sequence Errors" treats an out-of-order DataSN as
 * a lost PDU ("Digest Errors"); at ErrorRecoveryLevel 0 the target may
 * Reject the PDU ("Usage of Reject PDU in Recovery": the Reject does not end
 * the task, a response must still conclude it), end the task with CHECK
 * CONDITION, or drop the connection (session recovery). */
static void check_data_out_mismatch(const struct wire_target *t, const char *refused,
				    const char *concludes, uint32_t bad_offset, uint32_t bad_datasn)
{
	const uint32_t len = 4096;
	struct wire_login_params lp;
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t cdb[10], bhs[ISCSI_BHS_LEN];
	uint8_t buf[4096];
	struct wire_pdu p;

	wire_login_params_default(&lp);
	lp.immediate_data = false;
	lp.initial_r2t = true;
	if (!wire_session_open_capacity(&c, t, &lp, &blocks, &bs, why, sizeof(why)) ||
	    !wire_lba_room(blocks, BAD_DATA_OUT_LBA, len, bs, why, WIRE_WHY_LEN)) {
		wire_check(refused, false, "%s", why);
		wire_check(concludes, false, "%s", why);
		wire_close(&c);
		return;
	}
	wire_fill_pattern(buf, len, 0x63);
	wire_cdb_rw10(cdb, 0x2a, BAD_DATA_OUT_LBA, (uint16_t)(len / bs));
	struct wire_cmd cmd = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = sizeof(cdb),
		.dir = WIRE_DIR_WRITE, .edtl = len, .final = true, .attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = wire_send_cmd(&c, &cmd);
	if (r != WIRE_IO_OK || !wire_expect(&c, &p, ISCSI_OP_R2T, cmd.itt, why, sizeof(why))) {
		if (!*why)
			snprintf(why, sizeof(why), "%s", wire_io_name(r));
		wire_check(refused, false, "no R2T: %s", why);
		wire_check(concludes, false, "no R2T: %s", why);
		wire_close(&c);
		return;
	}
	uint32_t ttt = be32_get(p.bhs + 20);
	wire_pdu_free(&p);
	wire_build_data_out(bhs, &c, cmd.itt, ttt, bad_datasn, bad_offset, len - bad_offset, true);
	r = wire_send_pdu(&c, bhs, buf + bad_offset, len - bad_offset);
	if (r == WIRE_IO_OK)
		r = wire_recv_reply(&c, &p, WIRE_IO_TIMEOUT_S * 1000);
	if (r == WIRE_IO_CLOSED) {
		wire_note("%s: the target dropped the connection", refused);
		wire_check(refused, true, "%s", "");
		wire_check(concludes, true, "%s", "");
		wire_close(&c);
		return;
	}
	if (r != WIRE_IO_OK) {
		wire_check(refused, false, "no answer: %s", wire_io_name(r));
		wire_check(concludes, false, "no answer: %s", wire_io_name(r));
		wire_close(&c);
		return;
	}
	uint8_t op = p.bhs[0] & 0x3f;
	bool ours = be32_get(p.bhs + 16) == cmd.itt;
	if (ours && op == ISCSI_OP_SCSI_RSP && p.bhs[3] == WIRE_SCSI_CHECK_CONDITION) {
		wire_pdu_free(&p);
		wire_check(refused, true, "%s", "");
		wire_check(concludes, true, "%s", "");
		wire_close(&c);
		return;
	}
	if (!is_reject_of(&p, bhs))
		snprintf(why, sizeof(why), "got opcode 0x%02x ITT 0x%x status 0x%02x, expected a Reject "
			 "of the Data-Out, CHECK CONDITION or a closed connection", op,
			 be32_get(p.bhs + 16), p.bhs[3]);
	else if (p.bhs[2] != ISCSI_REJECT_PROTOCOL_ERROR && p.bhs[2] != ISCSI_REJECT_INVALID_PDU_FIELD)
		snprintf(why, sizeof(why), "Reject reason 0x%02x, expected 0x04", p.bhs[2]);
	bool rejected = !*why;
	wire_pdu_free(&p);
	wire_check_why(refused, why);
	if (!rejected) {
		wire_check(concludes, false, "not reached: %s", why);
		wire_close(&c);
		return;
	}
	/* The task lives on after a Reject: the burst sent right must end it. */
	r = wire_send_burst(&c, cmd.itt, ttt, buf, 0, len, len);
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "resending the burst: %s", wire_io_name(r));
	else if (wire_expect(&c, &p, ISCSI_OP_SCSI_RSP, cmd.itt, why, sizeof(why)))
		wire_pdu_free(&p);
	wire_check_why(concludes, why);
	wire_close(&c);
}

void wire_dataout_checks(const struct wire_target *t)
{
	check_r2t_sequence(t);
	check_unsolicited(t);
	check_data_out_unknown_itt(t);
	check_data_out_mismatch(t, "data_out_wrong_offset_refused", "data_out_wrong_offset_task_concludes",
				512, 0);
	check_data_out_mismatch(t, "data_out_wrong_datasn_refused", "data_out_wrong_datasn_task_concludes",
				0, 1);
}
