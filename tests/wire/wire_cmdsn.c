/* Command numbering (RFC 7143 §3.2.2.1, §4.2.2.1): a command ahead of
 * ExpCmdSN waits for the gap, an old CmdSN is ignored, an immediate
 * command leaves ExpCmdSN alone, and MaxCmdSN opens the window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/be.h"
#include "wire_check.h"
#include "wire_scenarios.h"
#include "wire_xfer.h"

#define HELD_LBA 8192u
#define OLD_LBA 8300u
#define WINDOW_LBA 8400u
#define ORDERED_LBA 8500u
#define ORDERED_READ_BYTES (8u << 20)
#define ORDERED_READS 6u
#define WINDOW_CMDS 8u
/* A held command answered within this time was not held. */
#define HELD_WAIT_MS 300

/* Scenario 5: READ with CmdSN N+1 first, then WRITE with CmdSN N to the
 * same block. The target delivers commands in CmdSN order (§3.2.2.1), so
 * the READ waits for the WRITE; ORDERED (SAM-5 8.6) makes the READ see the
 * WRITE's data whatever the SCSI layer reorders. */
static void check_held_command(const struct wire_target *t)
{
	static const char *const names[] = {
		"held_command_waits_for_gap", "held_both_answered_good", "held_answers_in_cmdsn_order",
		"held_read_returns_written_data",
	};
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t rcdb[10], wcdb[10];

	if (!wire_session_open_capacity(&c, t, NULL, &blocks, &bs, why, sizeof(why))) {
		wire_check_unreached(names, 4, why);
		return;
	}
	uint8_t *old = malloc(bs), *new = malloc(bs), *got = calloc(1, bs);
	if (!old || !new || !got || blocks <= HELD_LBA || !c.immediate_data ||
	    bs > c.target_mrdsl || bs > c.first_burst) {
		wire_check_unreached(names, 4, "no buffer, small LUN or no room for immediate data");
		goto out;
	}
	wire_fill_pattern(old, bs, 0x11);
	wire_fill_pattern(new, bs, 0x77);
	if (!wire_write_lba(&c, HELD_LBA, old, bs, bs, why, sizeof(why))) {
		wire_check_unreached(names, 4, why);
		goto out;
	}
	uint32_t n = c.cmdsn;
	wire_cdb_rw10(rcdb, 0x28, HELD_LBA, 1);
	wire_cdb_rw10(wcdb, 0x2a, HELD_LBA, 1);
	struct wire_cmd rd = {
		.itt = c.next_itt++, .cmdsn = n + 1, .cdb = rcdb, .cdb_len = sizeof(rcdb),
		.dir = WIRE_DIR_READ, .edtl = bs, .final = true, .attr = WIRE_ATTR_ORDERED,
	};
	struct wire_cmd wr = {
		.itt = c.next_itt++, .cmdsn = n, .cdb = wcdb, .cdb_len = sizeof(wcdb),
		.dir = WIRE_DIR_WRITE, .edtl = bs, .imm = new, .imm_len = bs, .final = true,
		.attr = WIRE_ATTR_SIMPLE,
	};
	c.cmdsn = n + 2;
	enum wire_io r = wire_send_cmd(&c, &rd);
	if (r != WIRE_IO_OK) {
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
		wire_check_unreached(names, 4, why);
		goto out;
	}
	wire_silent(&c, HELD_WAIT_MS, why, sizeof(why));
	wire_check_why(names[0], why);
	if (*why) {
		wire_check_unreached(names + 1, 3, why);
		goto out;
	}
	r = wire_send_cmd(&c, &wr);
	/* Which answer came first, and with what status. */
	int order = 0, read_at = 0, write_at = 0;
	uint8_t read_status = 0xff, write_status = 0xff;
	while (r == WIRE_IO_OK && (!read_at || !write_at) && !*why) {
		struct wire_pdu p;

		r = wire_recv_reply(&c, &p, WIRE_IO_TIMEOUT_S * 1000);
		if (r != WIRE_IO_OK)
			break;
		uint8_t op = p.bhs[0] & 0x3f;
		uint32_t itt = be32_get(p.bhs + 16), off = be32_get(p.bhs + 40);
		if (itt == wr.itt && op == ISCSI_OP_SCSI_RSP) {
			write_at = ++order;
			write_status = p.bhs[3];
		} else if (itt == rd.itt && op == ISCSI_OP_DATA_IN && off <= bs && p.data_len <= bs - off) {
			memcpy(got + off, p.data, p.data_len);
			if (p.bhs[1] & 0x01) {
				read_at = ++order;
				read_status = p.bhs[3];
			}
		} else if (itt == rd.itt && op == ISCSI_OP_SCSI_RSP) {
			read_at = ++order;
			read_status = p.bhs[3];
		} else {
			snprintf(why, sizeof(why), "unexpected opcode 0x%02x ITT 0x%x", op, itt);
		}
		wire_pdu_free(&p);
	}
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "READ %sanswered, WRITE %sanswered: %s", read_at ? "" : "not ",
			 write_at ? "" : "not ", wire_io_name(r));
	if (*why) {
		wire_check_unreached(names + 1, 3, why);
		goto out;
	}
	wire_check(names[1], read_status == WIRE_SCSI_GOOD && write_status == WIRE_SCSI_GOOD,
		   "READ status 0x%02x, WRITE status 0x%02x", read_status, write_status);
	wire_check(names[2], write_at < read_at, "the READ (CmdSN %u) was answered before the WRITE "
		   "(CmdSN %u)", rd.cmdsn, wr.cmdsn);
	wire_check(names[3], !memcmp(got, new, bs), "the READ returned %s",
		   !memcmp(got, old, bs) ? "the data from before the WRITE" : "neither pattern");
out:
	free(old);
	free(new);
	free(got);
	wire_close(&c);
}

/* Scenario 5b: READs (SIMPLE) of 8 MiB each, more than loopback's socket
 * buffers hold, then at once a WRITE (ORDERED) of new data to the last
 * blocks they read. ORDERED starts only once every older command has
 * completed (SAM-5 8.6.3), so every READ returns the old data, also where
 * it is sent straight from a memory store's pages after it completed and
 * still waits in the send queue (the transport's fence, scsi_cmd.c).
 * Answers may come in any order. */
static void check_ordered_write_after_read(const struct wire_target *t)
{
	static const char *const names[] = {
		"ordered_write_after_read_all_good", "ordered_write_after_read_returns_old_data",
	};
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t rcdb[10], wcdb[10];

	if (!wire_session_open_capacity(&c, t, NULL, &blocks, &bs, why, sizeof(why))) {
		wire_check_unreached(names, 2, why);
		return;
	}
	uint32_t rlen = ORDERED_READ_BYTES, wlen = 16 * bs, rblocks = rlen / bs;
	uint32_t wlba = ORDERED_LBA + rblocks - 16, tail = rlen - wlen;
	uint8_t *old = malloc(wlen), *new = malloc(wlen), *got = calloc(ORDERED_READS, wlen);
	if (!old || !new || !got || blocks <= ORDERED_LBA + rblocks || rblocks > 0xffff ||
	    !c.immediate_data || wlen > c.target_mrdsl || wlen > c.first_burst) {
		wire_check_unreached(names, 2, "no buffer, small LUN or no room for immediate data");
		goto out;
	}
	wire_fill_pattern(old, wlen, 0x23);
	wire_fill_pattern(new, wlen, 0x5c);
	if (!wire_write_lba(&c, wlba, old, wlen, bs, why, sizeof(why))) {
		wire_check_unreached(names, 2, why);
		goto out;
	}
	wire_cdb_rw10(rcdb, 0x28, ORDERED_LBA, (uint16_t)rblocks);
	wire_cdb_rw10(wcdb, 0x2a, wlba, 16);
	enum wire_io r = WIRE_IO_OK;
	uint32_t first_itt = c.next_itt;
	for (unsigned i = 0; i < ORDERED_READS && r == WIRE_IO_OK; i++) {
		struct wire_cmd rd = {
			.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = rcdb, .cdb_len = sizeof(rcdb),
			.dir = WIRE_DIR_READ, .edtl = rlen, .final = true, .attr = WIRE_ATTR_SIMPLE,
		};
		r = wire_send_cmd(&c, &rd);
	}
	struct wire_cmd wr = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = wcdb, .cdb_len = sizeof(wcdb),
		.dir = WIRE_DIR_WRITE, .edtl = wlen, .imm = new, .imm_len = wlen, .final = true,
		.attr = WIRE_ATTR_ORDERED,
	};
	if (r == WIRE_IO_OK)
		r = wire_send_cmd(&c, &wr);
	unsigned answered = 0;
	bool all_good = true;
	while (r == WIRE_IO_OK && answered < ORDERED_READS + 1 && !*why) {
		struct wire_pdu p;

		r = wire_recv_reply(&c, &p, WIRE_IO_TIMEOUT_S * 1000);
		if (r != WIRE_IO_OK)
			break;
		uint8_t op = p.bhs[0] & 0x3f;
		uint32_t itt = be32_get(p.bhs + 16), off = be32_get(p.bhs + 40);
		uint32_t i = itt - first_itt;
		if (itt == wr.itt && op == ISCSI_OP_SCSI_RSP) {
			answered++;
			all_good &= p.bhs[3] == WIRE_SCSI_GOOD;
		} else if (i < ORDERED_READS && op == ISCSI_OP_DATA_IN && off <= rlen &&
			   p.data_len <= rlen - off) {
			/* Only the blocks the WRITE changes are kept. */
			uint32_t from = off > tail ? off : tail, to = off + p.data_len;
			if (to > from)
				memcpy(got + (size_t)i * wlen + (from - tail), p.data + (from - off), to - from);
			if (p.bhs[1] & 0x01) {
				answered++;
				all_good &= p.bhs[3] == WIRE_SCSI_GOOD;
			}
		} else if (i < ORDERED_READS && op == ISCSI_OP_SCSI_RSP) {
			answered++;
			all_good = false;
		} else {
			snprintf(why, sizeof(why), "unexpected opcode 0x%02x ITT 0x%x", op, itt);
		}
		wire_pdu_free(&p);
	}
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "%u of %u commands answered: %s", answered, ORDERED_READS + 1,
			 wire_io_name(r));
	if (*why) {
		wire_check_unreached(names, 2, why);
		goto out;
	}
	wire_check(names[0], all_good, "a command ended with a status other than GOOD");
	unsigned changed = ORDERED_READS;
	for (unsigned i = 0; i < ORDERED_READS; i++)
		if (!memcmp(got + (size_t)i * wlen, old, wlen))
			changed--;
	wire_check(names[1], changed == 0, "%u of %u READs returned other data than the old", changed,
		   ORDERED_READS);
out:
	free(old);
	free(new);
	free(got);
	wire_close(&c);
}

/* Scenario 6: a non-immediate command with a CmdSN below ExpCmdSN (a
 * duplicate) is outside the window: ignored, not executed (§4.2.2.1). */
static void check_old_cmdsn(const struct wire_target *t)
{
	static const char *const names[] = {
		"old_cmdsn_ignored", "old_cmdsn_then_session_works", "old_cmdsn_not_executed",
	};
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t cdb[10];

	if (!wire_session_open_capacity(&c, t, NULL, &blocks, &bs, why, sizeof(why))) {
		wire_check_unreached(names, 3, why);
		return;
	}
	uint8_t *first = malloc(bs), *dup = malloc(bs), *got = calloc(1, bs);
	if (!first || !dup || !got || blocks <= OLD_LBA || !c.immediate_data ||
	    bs > c.target_mrdsl || bs > c.first_burst) {
		wire_check_unreached(names, 3, "no buffer, small LUN or no room for immediate data");
		goto out;
	}
	wire_fill_pattern(first, bs, 0x21);
	wire_fill_pattern(dup, bs, 0x84);
	if (!wire_write_lba(&c, OLD_LBA, first, bs, bs, why, sizeof(why))) {
		wire_check_unreached(names, 3, why);
		goto out;
	}
	wire_cdb_rw10(cdb, 0x2a, OLD_LBA, 1);
	struct wire_cmd cmd = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn - 1, .cdb = cdb, .cdb_len = sizeof(cdb),
		.dir = WIRE_DIR_WRITE, .edtl = bs, .imm = dup, .imm_len = bs, .final = true,
		.attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = wire_send_cmd(&c, &cmd);
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	else
		wire_silent(&c, WIRE_SILENCE_MS, why, sizeof(why));
	wire_check_why(names[0], why);
	*why = '\0';
	bool ok = wire_read_lba(&c, OLD_LBA, got, bs, bs, why, sizeof(why));
	wire_check(names[1], ok, "%s", why);
	wire_check(names[2], ok && !memcmp(got, first, bs), "%s",
		   !ok ? "not reached" : !memcmp(got, dup, bs) ? "the duplicate WRITE was executed"
							     : "the block holds neither pattern");
out:
	free(first);
	free(dup);
	free(got);
	wire_close(&c);
}

/* Sends TEST UNIT READY and returns the ExpCmdSN of its SCSI Response. */
static bool tur_exp_cmdsn(struct wire_conn *c, uint32_t cmdsn, bool immediate, uint32_t *exp_cmdsn,
			  char *why)
{
	const uint8_t tur[6] = { 0 };
	struct wire_cmd cmd = {
		.itt = c->next_itt++, .cmdsn = cmdsn, .cdb = tur, .cdb_len = sizeof(tur),
		.dir = WIRE_DIR_NONE, .final = true, .immediate = immediate, .attr = WIRE_ATTR_SIMPLE,
	};
	struct wire_pdu p;
	enum wire_io r = wire_send_cmd(c, &cmd);

	if (r != WIRE_IO_OK) {
		snprintf(why, WIRE_WHY_LEN, "%s", wire_io_name(r));
		return false;
	}
	if (!wire_expect(c, &p, ISCSI_OP_SCSI_RSP, cmd.itt, why, WIRE_WHY_LEN))
		return false;
	*exp_cmdsn = be32_get(p.bhs + 28);
	wire_pdu_free(&p);
	return true;
}

/* Scenario 7: an immediate command carries the current CmdSN without
 * taking it (§3.2.2.1): ExpCmdSN stays, and the next non-immediate command
 * with that same CmdSN is accepted. */
static void check_immediate_command(const struct wire_target *t)
{
	static const char *const names[] = {
		"immediate_cmd_keeps_expcmdsn", "immediate_cmd_then_same_cmdsn_accepted",
	};
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint32_t exp;

	if (!wire_session_open(&c, t, NULL, why, sizeof(why))) {
		wire_check_unreached(names, 2, why);
		return;
	}
	uint32_t n = c.cmdsn;
	if (!tur_exp_cmdsn(&c, n, true, &exp, why))
		wire_check(names[0], false, "%s", why);
	else
		wire_check(names[0], exp == n, "ExpCmdSN %u after an immediate command with CmdSN %u", exp,
			   n);
	*why = '\0';
	if (!tur_exp_cmdsn(&c, n, false, &exp, why))
		wire_check(names[1], false, "CmdSN %u after the immediate command: %s", n, why);
	else
		wire_check(names[1], exp == n + 1, "ExpCmdSN %u, expected %u", exp, n + 1);
	wire_close(&c);
}

/* Scenario 14: eight WRITEs the target cannot finish (InitialR2T=Yes and
 * no data sent) occupy the window: lunard's MaxCmdSN stays put while they
 * are open, moves on when they end, and MaxCmdSN never goes back
 * (§4.2.2.1). */
static void check_window(const struct wire_target *t)
{
	static const char *const names[] = {
		"window_maxcmdsn_flat_while_outstanding", "window_writes_good",
		"window_maxcmdsn_grows_after_completion", "window_maxcmdsn_never_decreases",
	};
	struct wire_login_params lp;
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "", flat[WIRE_WHY_LEN] = "", good[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs, itts[WINDOW_CMDS], ttts[WINDOW_CMDS];
	uint8_t cdb[10];

	wire_login_params_default(&lp);
	lp.immediate_data = false;
	lp.initial_r2t = true;
	if (!wire_session_open_capacity(&c, t, &lp, &blocks, &bs, why, sizeof(why))) {
		wire_check_unreached(names, 4, why);
		return;
	}
	uint8_t *buf = malloc(bs);
	uint32_t before = c.max_cmdsn;
	if (!buf || blocks <= WINDOW_LBA + WINDOW_CMDS ||
	    iscsi_sn_lt(before, c.cmdsn + WINDOW_CMDS - 1)) {
		snprintf(why, sizeof(why), "no buffer, small LUN, or window [%u, %u] too small", c.cmdsn,
			 before);
		wire_check_unreached(names, 4, why);
		goto out;
	}
	wire_fill_pattern(buf, bs, 0x5c);
	enum wire_io r = WIRE_IO_OK;
	for (unsigned k = 0; k < WINDOW_CMDS && r == WIRE_IO_OK; k++) {
		wire_cdb_rw10(cdb, 0x2a, WINDOW_LBA + k, 1);
		struct wire_cmd cmd = {
			.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = sizeof(cdb),
			.dir = WIRE_DIR_WRITE, .edtl = bs, .final = true, .attr = WIRE_ATTR_SIMPLE,
		};
		itts[k] = cmd.itt;
		r = wire_send_cmd(&c, &cmd);
	}
	/* lunard answers each command at once with its one R2T, in order. */
	for (unsigned k = 0; k < WINDOW_CMDS && r == WIRE_IO_OK && !*why; k++) {
		struct wire_pdu p;

		if (!wire_expect(&c, &p, ISCSI_OP_R2T, itts[k], why, sizeof(why)))
			break;
		ttts[k] = be32_get(p.bhs + 20);
		uint32_t max = be32_get(p.bhs + 32);
		if (max != before && !*flat)
			snprintf(flat, sizeof(flat), "R2T of command %u of %u: MaxCmdSN %u, was %u before",
				 k + 1, WINDOW_CMDS, max, before);
		wire_pdu_free(&p);
	}
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	if (*why) {
		wire_check_unreached(names, 4, why);
		goto out;
	}
	wire_check_why(names[0], flat);
	uint32_t last_max = before;
	for (unsigned k = 0; k < WINDOW_CMDS && r == WIRE_IO_OK && !*good; k++) {
		struct wire_pdu p;

		r = wire_send_burst(&c, itts[k], ttts[k], buf, 0, bs, bs);
		if (r != WIRE_IO_OK) {
			snprintf(good, sizeof(good), "%s", wire_io_name(r));
		} else if (wire_expect(&c, &p, ISCSI_OP_SCSI_RSP, itts[k], good, sizeof(good))) {
			if (p.bhs[3] != WIRE_SCSI_GOOD)
				snprintf(good, sizeof(good), "WRITE %u: status 0x%02x", k, p.bhs[3]);
			last_max = be32_get(p.bhs + 32);
			wire_pdu_free(&p);
		}
	}
	wire_check_why(names[1], good);
	wire_check(names[2], !*good && iscsi_sn_lt(before, last_max),
		   "MaxCmdSN %u after the writes ended, %u while they were open", last_max, before);
	wire_check(names[3], c.max_cmdsn_regressions == 0, "%u PDUs lowered MaxCmdSN, first from %u to %u",
		   c.max_cmdsn_regressions, c.regressed_from, c.regressed_to);
out:
	free(buf);
	wire_close(&c);
}

void wire_cmdsn_checks(const struct wire_target *t)
{
	check_held_command(t);
	check_ordered_write_after_read(t);
	check_old_cmdsn(t);
	check_immediate_command(t);
	check_window(t);
}
