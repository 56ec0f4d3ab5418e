/* Read data paths (RFC 7143 §11.4, §11.7): how a READ is split into Data-In
 * PDUs and sequences, status carried in the last Data-In, and status with
 * sense data sent as a SCSI Response. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/be.h"
#include "wire_check.h"
#include "wire_scenarios.h"
#include "wire_xfer.h"

#define DATAIN_LBA 6144u
#define DATAIN_MRDSL 4096u
#define DATAIN_BURST 16384u
#define DATAIN_TOTAL 65536u
#define DATAIN_PDUS (DATAIN_TOTAL / DATAIN_MRDSL)

struct data_in_seen {
	uint8_t flags, status;
	uint32_t len, statsn, exp_cmdsn, max_cmdsn, datasn, offset;
};

/* Reads Data-In PDUs of itt until one has S set; false (why) on anything
 * else, including a SCSI Response, which must not come when there is no
 * sense data (§11.7.4). */
static bool collect_data_in(struct wire_conn *c, uint32_t itt, uint8_t *buf, struct data_in_seen *seen,
			    unsigned *n, char *why)
{
	for (*n = 0; *n < DATAIN_PDUS * 2;) {
		struct wire_pdu p;

		if (!wire_expect(c, &p, ISCSI_OP_DATA_IN, itt, why, WIRE_WHY_LEN))
			return false;
		struct data_in_seen *s = &seen[(*n)++];
		*s = (struct data_in_seen){
			.flags = p.bhs[1], .status = p.bhs[3], .len = p.data_len,
			.statsn = be32_get(p.bhs + 24), .exp_cmdsn = be32_get(p.bhs + 28),
			.max_cmdsn = be32_get(p.bhs + 32), .datasn = be32_get(p.bhs + 36),
			.offset = be32_get(p.bhs + 40),
		};
		if (s->offset <= DATAIN_TOTAL && s->len <= DATAIN_TOTAL - s->offset)
			memcpy(buf + s->offset, p.data, s->len);
		wire_pdu_free(&p);
		if (s->flags & 0x01)
			return true;
	}
	snprintf(why, WIRE_WHY_LEN, "more than %u Data-In PDUs without status", *n);
	return false;
}

static void judge_lengths(const struct data_in_seen *s, unsigned n, uint32_t target_mrdsl, char *why)
{
	if (n != DATAIN_PDUS)
		snprintf(why, WIRE_WHY_LEN, "%u Data-In PDUs, expected %u", n, DATAIN_PDUS);
	for (unsigned i = 0; i < n && !*why; i++)
		if (s[i].len != DATAIN_MRDSL)
			snprintf(why, WIRE_WHY_LEN, "Data-In %u carries %u bytes, expected %u (target MRDSL %u)",
				 i, s[i].len, DATAIN_MRDSL, target_mrdsl);
}

static void judge_numbering(const struct data_in_seen *s, unsigned n, char *why)
{
	for (unsigned i = 0; i < n && !*why; i++)
		if (s[i].datasn != i || s[i].offset != i * DATAIN_MRDSL)
			snprintf(why, WIRE_WHY_LEN, "Data-In %u: DataSN %u offset %u, expected %u/%u", i,
				 s[i].datasn, s[i].offset, i, i * DATAIN_MRDSL);
}

/* §11.7.1: F ends each sequence of at most MaxBurstLength, and the last. */
static void judge_final_bits(const struct data_in_seen *s, unsigned n, char *why)
{
	const unsigned per_burst = DATAIN_BURST / DATAIN_MRDSL;

	for (unsigned i = 0; i < n && !*why; i++) {
		bool want = (i + 1) % per_burst == 0 || i + 1 == n;

		if (!!(s[i].flags & 0x80) != want)
			snprintf(why, WIRE_WHY_LEN, "Data-In %u (offset %u): F=%d, expected %d", i,
				 s[i].offset, !!(s[i].flags & 0x80), want);
	}
}

static void judge_status(const struct data_in_seen *s, unsigned n, char *why)
{
	for (unsigned i = 0; i + 1 < n && !*why; i++)
		if (s[i].flags & 0x01)
			snprintf(why, WIRE_WHY_LEN, "Data-In %u of %u has S set", i, n);
	if (!*why && s[n - 1].status != WIRE_SCSI_GOOD)
		snprintf(why, WIRE_WHY_LEN, "last Data-In status 0x%02x", s[n - 1].status);
}

/* RFC 7143 §4.2.2.1: MaxCmdSN >= ExpCmdSN - 1, in serial arithmetic. */
static void judge_window(const struct data_in_seen *s, unsigned n, uint32_t want_exp, char *why)
{
	for (unsigned i = 0; i < n && !*why; i++) {
		if (s[i].exp_cmdsn != want_exp)
			snprintf(why, WIRE_WHY_LEN, "Data-In %u: ExpCmdSN %u, expected %u", i, s[i].exp_cmdsn,
				 want_exp);
		else if (iscsi_sn_lt(s[i].max_cmdsn, s[i].exp_cmdsn - 1))
			snprintf(why, WIRE_WHY_LEN, "Data-In %u: MaxCmdSN %u below ExpCmdSN %u - 1", i,
				 s[i].max_cmdsn, s[i].exp_cmdsn);
	}
}

/* Scenario 3: the initiator declares MaxRecvDataSegmentLength 4096 and
 * MaxBurstLength 16384; a 64 KiB READ comes as 16 Data-In PDUs in four
 * sequences, status in the last (§11.7.4), no SCSI Response. */
static void check_data_in_split(const struct wire_target *t)
{
	static const char *const names[] = {
		"datain_login_negotiated", "datain_pdu_lengths", "datain_datasn_offsets",
		"datain_f_at_burst_ends", "datain_status_on_last_only", "datain_statsn_on_last",
		"datain_no_separate_response", "datain_cmdsn_fields", "datain_data_equal",
	};
	struct wire_login_params lp;
	struct wire_conn c;
	struct data_in_seen seen[DATAIN_PDUS * 2];
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	unsigned n;
	uint8_t cdb[10];

	wire_login_params_default(&lp);
	lp.our_mrdsl = DATAIN_MRDSL;
	lp.max_burst = DATAIN_BURST;
	lp.first_burst = DATAIN_BURST;
	if (!wire_session_open_capacity(&c, t, &lp, &blocks, &bs, why, sizeof(why))) {
		wire_check_unreached(names, 9, why);
		return;
	}
	wire_check(names[0], c.max_burst == DATAIN_BURST, "MaxBurstLength=%u, expected %u", c.max_burst,
		   DATAIN_BURST);
	uint8_t *want = malloc(DATAIN_TOTAL), *got = calloc(1, DATAIN_TOTAL);
	if (!want || !got || DATAIN_TOTAL % bs || DATAIN_LBA + DATAIN_TOTAL / bs > blocks) {
		wire_check_unreached(names + 1, 8, "no buffer, or the LUN is too small");
		goto out;
	}
	wire_fill_pattern(want, DATAIN_TOTAL, 0x29);
	if (!wire_write_lba(&c, DATAIN_LBA, want, DATAIN_TOTAL, bs, why, sizeof(why))) {
		wire_check_unreached(names + 1, 8, why);
		goto out;
	}
	uint32_t want_statsn = c.exp_statsn;
	wire_cdb_rw10(cdb, 0x28, DATAIN_LBA, (uint16_t)(DATAIN_TOTAL / bs));
	struct wire_cmd cmd = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = sizeof(cdb),
		.dir = WIRE_DIR_READ, .edtl = DATAIN_TOTAL, .final = true, .attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = wire_send_cmd(&c, &cmd);
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	if (r != WIRE_IO_OK || !collect_data_in(&c, cmd.itt, got, seen, &n, why)) {
		wire_check_unreached(names + 1, 8, why);
		goto out;
	}
	char v[WIRE_WHY_LEN] = "";
	judge_lengths(seen, n, c.target_mrdsl, v);
	wire_check_why(names[1], v);
	*v = '\0';
	judge_numbering(seen, n, v);
	wire_check_why(names[2], v);
	*v = '\0';
	judge_final_bits(seen, n, v);
	wire_check_why(names[3], v);
	*v = '\0';
	judge_status(seen, n, v);
	wire_check_why(names[4], v);
	wire_check(names[5], seen[n - 1].statsn == want_statsn, "StatSN %u, expected %u",
		   seen[n - 1].statsn, want_statsn);
	*v = '\0';
	wire_nothing_pending(&c, v, sizeof(v));
	wire_check_why(names[6], v);
	*v = '\0';
	judge_window(seen, n, cmd.cmdsn + 1, v);
	wire_check_why(names[7], v);
	wire_check(names[8], !memcmp(got, want, DATAIN_TOTAL), "data read differs from data written");
out:
	free(want);
	free(got);
	wire_close(&c);
}

/* Scenario 4: a READ past the last LBA fails before any data moves: no
 * Data-In, a SCSI Response with CHECK CONDITION whose data segment is
 * SenseLength then sense (§11.4.7), and ExpDataSN 0 (§11.4.8: the number
 * of Data-In PDUs sent). */
static void check_read_beyond_end(const struct wire_target *t)
{
	static const char *const names[] = {
		"read_beyond_end_no_data_in", "read_beyond_end_sense_length_prefix",
		"read_beyond_end_expdatasn_zero",
	};
	struct wire_conn c;
	char why[WIRE_WHY_LEN] = "";
	uint64_t blocks;
	uint32_t bs;
	uint8_t cdb[16] = { 0 };
	size_t cdb_len = 16;
	struct wire_pdu p;

	if (!wire_session_open_capacity(&c, t, NULL, &blocks, &bs, why, sizeof(why))) {
		wire_check_unreached(names, 3, why);
		return;
	}
	if (blocks <= 0xffffffffu) {
		wire_cdb_rw10(cdb, 0x28, (uint32_t)blocks, 1);
		cdb_len = 10;
	} else {
		cdb[0] = 0x88;
		be64_put(cdb + 2, blocks);
		be32_put(cdb + 10, 1);
	}
	struct wire_cmd cmd = {
		.itt = c.next_itt++, .cmdsn = c.cmdsn++, .cdb = cdb, .cdb_len = cdb_len,
		.dir = WIRE_DIR_READ, .edtl = bs, .final = true, .attr = WIRE_ATTR_SIMPLE,
	};
	enum wire_io r = wire_send_cmd(&c, &cmd);
	if (r != WIRE_IO_OK)
		snprintf(why, sizeof(why), "%s", wire_io_name(r));
	if (r != WIRE_IO_OK || !wire_expect(&c, &p, ISCSI_OP_SCSI_RSP, cmd.itt, why, sizeof(why))) {
		wire_check_unreached(names, 3, why);
		wire_close(&c);
		return;
	}
	wire_check(names[0], p.bhs[3] == WIRE_SCSI_CHECK_CONDITION, "status 0x%02x, expected 0x02",
		   p.bhs[3]);
	uint32_t slen = p.data_len >= 2 ? be16_get(p.data) : 0;
	wire_check(names[1], slen >= 8 && slen + 2 <= p.data_len,
		   "data segment of %u bytes with SenseLength %u", p.data_len, slen);
	wire_check(names[2], be32_get(p.bhs + 36) == 0, "ExpDataSN %u", be32_get(p.bhs + 36));
	wire_pdu_free(&p);
	wire_close(&c);
}

void wire_datain_checks(const struct wire_target *t)
{
	check_data_in_split(t);
	check_read_beyond_end(t);
}
