/* Unit tests for the BHS codec (src/iscsi/pdu.c): every initiator opcode
 * parsed from hand-written wire bytes, every encoder checked byte for byte
 * against RFC 7143 §11 layouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/pdu.h"

/* Writes v big-endian into n bytes at p: tests build wire bytes with this
 * rather than with the codec's own helpers, so a helper bug cannot hide. */
static void put_be(uint8_t *p, unsigned n, uint64_t v)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* A BHS with the common fields set: opcode byte, byte 1, AHS length, data
 * length, bytes 8-15 and ITT. */
static void bhs_common(uint8_t *b, uint8_t byte0, uint8_t byte1, uint8_t ahs, uint32_t dlen,
		       uint64_t lun, uint32_t itt)
{
	memset(b, 0, ISCSI_BHS_LEN);
	b[0] = byte0;
	b[1] = byte1;
	b[4] = ahs;
	put_be(b + 5, 3, dlen);
	put_be(b + 8, 8, lun);
	put_be(b + 16, 4, itt);
}

static void parse_ok(const uint8_t *b, struct iscsi_hdr *h)
{
	assert_int_equal(iscsi_parse_bhs(b, h), ISCSI_PARSE_OK);
}

/* ---- parsing, RFC 7143 §11.18 .. §11.16 ---- */

static void parse_nop_out_decodes_all_fields(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, 0x40 | ISCSI_OP_NOP_OUT, 0x80, 0, 5, 0x0001000000000000ull, 0x11223344);
	put_be(b + 20, 4, 0xffffffff);
	put_be(b + 24, 4, 7);
	put_be(b + 28, 4, 9);
	parse_ok(b, &h);
	assert_int_equal(h.opcode, ISCSI_OP_NOP_OUT);
	assert_true(h.immediate);
	assert_true(h.final);
	assert_int_equal(h.data_len, 5);
	assert_int_equal(h.lun, 0x0001000000000000ull);
	assert_int_equal(h.itt, 0x11223344);
	assert_int_equal(h.nop_out.ttt, 0xffffffff);
	assert_int_equal(h.nop_out.cmdsn, 7);
	assert_int_equal(h.nop_out.exp_statsn, 9);
}

static void parse_scsi_cmd_decodes_all_fields(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	/* WRITE(10), F W, ATTR simple, one AHS word, 512 bytes immediate data */
	bhs_common(b, ISCSI_OP_SCSI_CMD, 0x80 | 0x20 | 0x01, 1, 512, 0x0002000000000000ull, 0xa);
	put_be(b + 20, 4, 4096);
	put_be(b + 24, 4, 0x12345678);
	put_be(b + 28, 4, 0x9abcdef0);
	for (unsigned i = 0; i < 16; i++)
		b[32 + i] = (uint8_t)(0x2a + i);
	parse_ok(b, &h);
	assert_int_equal(h.opcode, ISCSI_OP_SCSI_CMD);
	assert_false(h.immediate);
	assert_true(h.final);
	assert_int_equal(h.ahs_len, 1);
	assert_int_equal(h.data_len, 512);
	assert_int_equal(h.lun, 0x0002000000000000ull);
	assert_int_equal(h.itt, 0xa);
	assert_false(h.cmd.read);
	assert_true(h.cmd.write);
	assert_int_equal(h.cmd.attr, 1);
	assert_int_equal(h.cmd.edtl, 4096);
	assert_int_equal(h.cmd.cmdsn, 0x12345678);
	assert_int_equal(h.cmd.exp_statsn, 0x9abcdef0);
	assert_memory_equal(h.cmd.cdb, b + 32, 16);
}

static void parse_scsi_cmd_accepts_bidirectional(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, ISCSI_OP_SCSI_CMD, 0x80 | 0x40 | 0x20 | 0x02, 0, 0, 0, 1);
	parse_ok(b, &h);
	assert_true(h.cmd.read);
	assert_true(h.cmd.write);
	assert_int_equal(h.cmd.attr, 2);
}

static void parse_scsi_cmd_without_final_is_valid(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	/* F clear: unsolicited Data-Out PDUs follow (RFC 7143 §11.3.1). */
	bhs_common(b, ISCSI_OP_SCSI_CMD, 0x20, 0, 0, 0, 1);
	parse_ok(b, &h);
	assert_false(h.final);
}

static void parse_tmf_decodes_all_fields(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, 0x40 | ISCSI_OP_TMF_REQ, 0x80 | 0x01, 0, 0, 0x0003000000000000ull, 0x20);
	put_be(b + 20, 4, 0x10);
	put_be(b + 24, 4, 100);
	put_be(b + 28, 4, 200);
	put_be(b + 32, 4, 99);
	put_be(b + 36, 4, 3);
	parse_ok(b, &h);
	assert_int_equal(h.opcode, ISCSI_OP_TMF_REQ);
	assert_true(h.immediate);
	assert_int_equal(h.lun, 0x0003000000000000ull);
	assert_int_equal(h.tmf.function, 1);
	assert_int_equal(h.tmf.ref_itt, 0x10);
	assert_int_equal(h.tmf.cmdsn, 100);
	assert_int_equal(h.tmf.exp_statsn, 200);
	assert_int_equal(h.tmf.ref_cmdsn, 99);
	assert_int_equal(h.tmf.exp_datasn, 3);
}

static void parse_tmf_leaves_unknown_function_to_handler(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, ISCSI_OP_TMF_REQ, 0x80 | 0x7f, 0, 0, 0, 1);
	parse_ok(b, &h);
	assert_int_equal(h.tmf.function, 0x7f);
}

static void parse_login_decodes_all_fields(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	const uint8_t isid[6] = { 0x80, 0x12, 0x34, 0x56, 0x78, 0x9a };
	struct iscsi_hdr h;

	/* T, CSG=0, NSG=1 */
	bhs_common(b, 0x40 | ISCSI_OP_LOGIN_REQ, 0x80 | 0x01, 0, 300, 0, 0x77);
	b[2] = 0x00;
	b[3] = 0x00;
	memcpy(b + 8, isid, 6);
	put_be(b + 14, 2, 0x0102);
	put_be(b + 20, 2, 3);
	put_be(b + 24, 4, 1);
	put_be(b + 28, 4, 0xdeadbeef);
	parse_ok(b, &h);
	assert_int_equal(h.opcode, ISCSI_OP_LOGIN_REQ);
	assert_true(h.immediate);
	assert_int_equal(h.data_len, 300);
	assert_int_equal(h.itt, 0x77);
	assert_true(h.login.transit);
	assert_false(h.login.cont);
	assert_int_equal(h.login.csg, ISCSI_STAGE_SECURITY);
	assert_int_equal(h.login.nsg, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(h.login.version_max, 0);
	assert_int_equal(h.login.version_min, 0);
	assert_memory_equal(h.login.isid, isid, 6);
	assert_int_equal(h.login.tsih, 0x0102);
	assert_int_equal(h.login.cid, 3);
	assert_int_equal(h.login.cmdsn, 1);
	assert_int_equal(h.login.exp_statsn, 0xdeadbeef);
	assert_int_equal(h.lun, 0);
}

static void parse_login_operational_to_full_feature_is_valid(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, 0x43, 0x80 | (1 << 2) | 3, 0, 0, 0, 1);
	parse_ok(b, &h);
	assert_int_equal(h.login.csg, ISCSI_STAGE_OPERATIONAL);
	assert_int_equal(h.login.nsg, ISCSI_STAGE_FULL_FEATURE);
}

static void parse_login_security_to_full_feature_is_valid(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, 0x43, 0x80 | (0 << 2) | 3, 0, 0, 0, 1);
	parse_ok(b, &h);
}

static void parse_login_ignores_nsg_without_transit(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	/* NSG is reserved when T is clear (RFC 7143 §11.12.3). */
	bhs_common(b, 0x43, (1 << 2) | 2, 0, 0, 0, 1);
	parse_ok(b, &h);
	assert_false(h.login.transit);
}

static void parse_login_continue_without_transit_is_valid(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, 0x43, 0x40 | (1 << 2), 0, 0, 0, 1);
	parse_ok(b, &h);
	assert_true(h.login.cont);
}

static void parse_text_decodes_all_fields(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, 0x40 | ISCSI_OP_TEXT_REQ, 0x80, 0, 16, 0, 0x31);
	put_be(b + 20, 4, 0xffffffff);
	put_be(b + 24, 4, 5);
	put_be(b + 28, 4, 6);
	parse_ok(b, &h);
	assert_int_equal(h.opcode, ISCSI_OP_TEXT_REQ);
	assert_true(h.final);
	assert_false(h.text.cont);
	assert_int_equal(h.data_len, 16);
	assert_int_equal(h.text.ttt, 0xffffffff);
	assert_int_equal(h.text.cmdsn, 5);
	assert_int_equal(h.text.exp_statsn, 6);
}

static void parse_text_continue_is_valid(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, ISCSI_OP_TEXT_REQ, 0x40, 0, 0, 0, 1);
	parse_ok(b, &h);
	assert_true(h.text.cont);
	assert_false(h.final);
}

static void parse_data_out_decodes_all_fields(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, ISCSI_OP_DATA_OUT, 0x80, 0, 8192, 0x0004000000000000ull, 0x41);
	put_be(b + 20, 4, 0x55);
	put_be(b + 28, 4, 12);
	put_be(b + 36, 4, 2);
	put_be(b + 40, 4, 16384);
	parse_ok(b, &h);
	assert_int_equal(h.opcode, ISCSI_OP_DATA_OUT);
	assert_true(h.final);
	assert_int_equal(h.data_len, 8192);
	assert_int_equal(h.lun, 0x0004000000000000ull);
	assert_int_equal(h.itt, 0x41);
	assert_int_equal(h.data_out.ttt, 0x55);
	assert_int_equal(h.data_out.exp_statsn, 12);
	assert_int_equal(h.data_out.datasn, 2);
	assert_int_equal(h.data_out.offset, 16384);
}

static void parse_logout_decodes_all_fields(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, 0x40 | ISCSI_OP_LOGOUT_REQ, 0x80 | 0x02, 0, 0, 0, 0x51);
	put_be(b + 20, 2, 7);
	put_be(b + 24, 4, 40);
	put_be(b + 28, 4, 41);
	parse_ok(b, &h);
	assert_int_equal(h.opcode, ISCSI_OP_LOGOUT_REQ);
	assert_int_equal(h.logout.reason, 2);
	assert_int_equal(h.logout.cid, 7);
	assert_int_equal(h.logout.cmdsn, 40);
	assert_int_equal(h.logout.exp_statsn, 41);
}

static void parse_snack_decodes_all_fields(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, ISCSI_OP_SNACK_REQ, 0x80 | 0x03, 0, 0, 0x0005000000000000ull, 0x61);
	put_be(b + 20, 4, 0x62);
	put_be(b + 28, 4, 63);
	put_be(b + 40, 4, 64);
	put_be(b + 44, 4, 65);
	parse_ok(b, &h);
	assert_int_equal(h.opcode, ISCSI_OP_SNACK_REQ);
	assert_int_equal(h.lun, 0x0005000000000000ull);
	assert_int_equal(h.snack.type, 3);
	assert_int_equal(h.snack.ttt, 0x62);
	assert_int_equal(h.snack.exp_statsn, 63);
	assert_int_equal(h.snack.begrun, 64);
	assert_int_equal(h.snack.runlength, 65);
}

static void parse_ignores_reserved_bit_7_of_byte_0(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, 0x80 | ISCSI_OP_NOP_OUT, 0x80, 0, 0, 0, 1);
	parse_ok(b, &h);
	assert_int_equal(h.opcode, ISCSI_OP_NOP_OUT);
	assert_false(h.immediate);
}

static void parse_decodes_largest_data_segment_length(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, ISCSI_OP_NOP_OUT, 0x80, 0xff, ISCSI_MAX_DSL, 0, 1);
	parse_ok(b, &h);
	assert_int_equal(h.data_len, ISCSI_MAX_DSL);
	assert_int_equal(h.ahs_len, 0xff);
}

/* ---- rejected headers ---- */

static void parse_rejects_every_target_opcode(void **state)
{
	static const uint8_t target_ops[] = { 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
					      0x26, 0x31, 0x32, 0x3f };
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	for (size_t i = 0; i < sizeof(target_ops); i++) {
		bhs_common(b, target_ops[i], 0x80, 0, 48, 0, 0x1234);
		assert_int_equal(iscsi_parse_bhs(b, &h), ISCSI_PARSE_BAD_OPCODE);
		assert_int_equal(h.opcode, target_ops[i]);
		assert_int_equal(h.itt, 0x1234);
		assert_int_equal(h.data_len, 48);
	}
}

static void parse_rejects_every_undefined_opcode(void **state)
{
	static const uint8_t valid[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10 };
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;
	unsigned rejected = 0;

	for (unsigned op = 0; op < 0x40; op++) {
		bhs_common(b, (uint8_t)op, 0x80, 0, 0, 0, 1);
		enum iscsi_parse_error e = iscsi_parse_bhs(b, &h);
		bool is_valid = memchr(valid, (int)op, sizeof(valid)) != NULL;

		assert_int_equal(e == ISCSI_PARSE_BAD_OPCODE, !is_valid);
		rejected += e == ISCSI_PARSE_BAD_OPCODE;
	}
	assert_int_equal(rejected, 0x40 - sizeof(valid));
}

static void parse_rejects_vendor_opcode_0x1f(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, 0x1f, 0x80, 0, 0, 0, 9);
	assert_int_equal(iscsi_parse_bhs(b, &h), ISCSI_PARSE_BAD_OPCODE);
	assert_int_equal(h.opcode, 0x1f);
	assert_int_equal(h.itt, 9);
}

static void parse_login_rejects(uint8_t byte1)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, 0x43, byte1, 0, 0, 0, 0x99);
	assert_int_equal(iscsi_parse_bhs(b, &h), ISCSI_PARSE_INVALID_FIELD);
	assert_int_equal(h.opcode, ISCSI_OP_LOGIN_REQ);
	assert_int_equal(h.itt, 0x99);
}

static void parse_login_rejects_csg_full_feature(void **state)
{
	parse_login_rejects((3 << 2) | 3);
	parse_login_rejects(0x80 | (3 << 2) | 3);
}

static void parse_login_rejects_csg_reserved(void **state)
{
	parse_login_rejects(2 << 2);
}

static void parse_login_rejects_transit_to_nsg_reserved(void **state)
{
	parse_login_rejects(0x80 | (1 << 2) | 2);
}

static void parse_login_rejects_transit_backwards(void **state)
{
	parse_login_rejects(0x80 | (1 << 2) | 0);
}

static void parse_login_rejects_transit_with_continue(void **state)
{
	parse_login_rejects(0x80 | 0x40 | 1);
}

static void parse_text_rejects_final_with_continue(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, ISCSI_OP_TEXT_REQ, 0x80 | 0x40, 0, 0, 0, 1);
	assert_int_equal(iscsi_parse_bhs(b, &h), ISCSI_PARSE_INVALID_FIELD);
}

static void parse_logout_rejects_reason_above_2(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, ISCSI_OP_LOGOUT_REQ, 0x80 | 0x03, 0, 0, 0, 1);
	assert_int_equal(iscsi_parse_bhs(b, &h), ISCSI_PARSE_INVALID_FIELD);
	assert_int_equal(h.logout.reason, 3);
}

static void parse_snack_rejects_undefined_type(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	bhs_common(b, ISCSI_OP_SNACK_REQ, 0x80 | 0x04, 0, 0, 0, 1);
	assert_int_equal(iscsi_parse_bhs(b, &h), ISCSI_PARSE_INVALID_FIELD);
}

/* ---- lengths ---- */

static void pad4_rounds_up_to_multiple_of_4(void **state)
{
	assert_int_equal(iscsi_pad4(0), 0);
	assert_int_equal(iscsi_pad4(1), 4);
	assert_int_equal(iscsi_pad4(3), 4);
	assert_int_equal(iscsi_pad4(4), 4);
	assert_int_equal(iscsi_pad4(5), 8);
	assert_int_equal(iscsi_pad4(ISCSI_MAX_DSL), 0x1000000);
}

static size_t tail_of(uint8_t ahs, uint32_t dlen, bool hd, bool dd)
{
	struct iscsi_hdr h = { .ahs_len = ahs, .data_len = dlen };

	return iscsi_pdu_tail_len(&h, hd, dd);
}

static void tail_len_is_zero_for_bare_header(void **state)
{
	assert_int_equal(tail_of(0, 0, false, false), 0);
}

static void tail_len_pads_data_segment(void **state)
{
	assert_int_equal(tail_of(0, 1, false, false), 4);
	assert_int_equal(tail_of(0, 13, false, false), 16);
	assert_int_equal(tail_of(0, 8192, false, false), 8192);
}

static void tail_len_counts_ahs_in_words(void **state)
{
	assert_int_equal(tail_of(2, 0, false, false), 8);
	assert_int_equal(tail_of(255, 0, false, false), 1020);
}

static void tail_len_adds_header_digest(void **state)
{
	assert_int_equal(tail_of(0, 0, true, false), 4);
	assert_int_equal(tail_of(1, 5, true, false), 4 + 4 + 8);
}

static void tail_len_adds_data_digest_only_with_data(void **state)
{
	assert_int_equal(tail_of(0, 0, false, true), 0);
	assert_int_equal(tail_of(0, 6, false, true), 8 + 4);
	assert_int_equal(tail_of(3, 6, true, true), 12 + 4 + 8 + 4);
}

static void tail_len_of_largest_pdu(void **state)
{
	assert_int_equal(tail_of(255, ISCSI_MAX_DSL, true, true), 1020 + 4 + 0x1000000 + 4);
}

/* ---- encoders ---- */

static void build_scsi_rsp_golden_bytes(void **state)
{
	const struct iscsi_scsi_rsp r = {
		.itt = 0x01020304, .statsn = 0x11, .exp_cmdsn = 0x22, .max_cmdsn = 0x33,
		.exp_datasn = 0x44, .response = 0x00, .status = 0x02,
		.underflow = true, .bidi_overflow = true,
		.residual = 0x200, .bidi_residual = 0x300, .data_len = 20,
	};
	uint8_t want[ISCSI_BHS_LEN] = { 0x21, 0x80 | 0x10 | 0x02, 0x00, 0x02, 0, 0, 0, 20 };
	uint8_t got[ISCSI_BHS_LEN];

	put_be(want + 16, 4, 0x01020304);
	put_be(want + 24, 4, 0x11);
	put_be(want + 28, 4, 0x22);
	put_be(want + 32, 4, 0x33);
	put_be(want + 36, 4, 0x44);
	put_be(want + 40, 4, 0x300);
	put_be(want + 44, 4, 0x200);
	memset(got, 0xee, sizeof(got));
	iscsi_build_scsi_rsp(got, &r);
	assert_memory_equal(got, want, ISCSI_BHS_LEN);
}

static void build_scsi_rsp_sets_each_residual_bit(void **state)
{
	uint8_t got[ISCSI_BHS_LEN];

	iscsi_build_scsi_rsp(got, &(struct iscsi_scsi_rsp){ .overflow = true });
	assert_int_equal(got[1], 0x84);
	iscsi_build_scsi_rsp(got, &(struct iscsi_scsi_rsp){ .underflow = true });
	assert_int_equal(got[1], 0x82);
	iscsi_build_scsi_rsp(got, &(struct iscsi_scsi_rsp){ .bidi_overflow = true });
	assert_int_equal(got[1], 0x90);
	iscsi_build_scsi_rsp(got, &(struct iscsi_scsi_rsp){ .bidi_underflow = true });
	assert_int_equal(got[1], 0x88);
}

static void build_data_in_with_status_golden_bytes(void **state)
{
	const struct iscsi_data_in d = {
		.itt = 0xa0a0a0a0, .ttt = ISCSI_RSVD_TAG, .statsn = 5, .exp_cmdsn = 6,
		.max_cmdsn = 70, .datasn = 2, .offset = 0x10000, .lun = 0x0001000000000000ull,
		.final = true, .has_status = true, .status = 0x00, .underflow = true,
		.residual = 512, .data_len = 0x2000,
	};
	uint8_t want[ISCSI_BHS_LEN] = { 0x25, 0x80 | 0x02 | 0x01, 0, 0x00, 0, 0x00, 0x20, 0x00 };
	uint8_t got[ISCSI_BHS_LEN];

	put_be(want + 8, 8, 0x0001000000000000ull);
	put_be(want + 16, 4, 0xa0a0a0a0);
	put_be(want + 20, 4, 0xffffffff);
	put_be(want + 24, 4, 5);
	put_be(want + 28, 4, 6);
	put_be(want + 32, 4, 70);
	put_be(want + 36, 4, 2);
	put_be(want + 40, 4, 0x10000);
	put_be(want + 44, 4, 512);
	memset(got, 0xee, sizeof(got));
	iscsi_build_data_in(got, &d);
	assert_memory_equal(got, want, ISCSI_BHS_LEN);
}

static void build_data_in_without_status_zeroes_status_fields(void **state)
{
	const struct iscsi_data_in d = {
		.itt = 1, .ttt = ISCSI_RSVD_TAG, .statsn = 5, .exp_cmdsn = 6, .max_cmdsn = 7,
		.datasn = 0, .offset = 0, .final = false, .has_status = false, .status = 0x02,
		.overflow = true, .residual = 99, .data_len = 4,
	};
	uint8_t want[ISCSI_BHS_LEN] = { 0x25, 0x00, 0, 0, 0, 0, 0, 4 };
	uint8_t got[ISCSI_BHS_LEN];

	put_be(want + 16, 4, 1);
	put_be(want + 20, 4, 0xffffffff);
	put_be(want + 28, 4, 6);
	put_be(want + 32, 4, 7);
	iscsi_build_data_in(got, &d);
	assert_memory_equal(got, want, ISCSI_BHS_LEN);
}

static void build_data_in_status_implies_final(void **state)
{
	uint8_t got[ISCSI_BHS_LEN];

	iscsi_build_data_in(got, &(struct iscsi_data_in){ .has_status = true });
	assert_int_equal(got[1], 0x81);
}

static void build_data_in_sets_ack_bit(void **state)
{
	uint8_t got[ISCSI_BHS_LEN];

	iscsi_build_data_in(got, &(struct iscsi_data_in){ .final = true, .ack = true });
	assert_int_equal(got[1], 0xc0);
}

static void build_r2t_golden_bytes(void **state)
{
	const struct iscsi_r2t r = {
		.itt = 0x10, .ttt = 0x20, .statsn = 0x30, .exp_cmdsn = 0x40, .max_cmdsn = 0x50,
		.r2tsn = 1, .offset = 65536, .length = 262144, .lun = 0x0007000000000000ull,
	};
	uint8_t want[ISCSI_BHS_LEN] = { 0x31, 0x80 };
	uint8_t got[ISCSI_BHS_LEN];

	put_be(want + 8, 8, 0x0007000000000000ull);
	put_be(want + 16, 4, 0x10);
	put_be(want + 20, 4, 0x20);
	put_be(want + 24, 4, 0x30);
	put_be(want + 28, 4, 0x40);
	put_be(want + 32, 4, 0x50);
	put_be(want + 36, 4, 1);
	put_be(want + 40, 4, 65536);
	put_be(want + 44, 4, 262144);
	memset(got, 0xee, sizeof(got));
	iscsi_build_r2t(got, &r);
	assert_memory_equal(got, want, ISCSI_BHS_LEN);
}

static void build_nop_in_golden_bytes(void **state)
{
	const struct iscsi_nop_in n = {
		.itt = ISCSI_RSVD_TAG, .ttt = 0x1234, .statsn = 8, .exp_cmdsn = 9, .max_cmdsn = 10,
		.lun = 0x0001000000000000ull, .data_len = 3,
	};
	uint8_t want[ISCSI_BHS_LEN] = { 0x20, 0x80, 0, 0, 0, 0, 0, 3 };
	uint8_t got[ISCSI_BHS_LEN];

	put_be(want + 8, 8, 0x0001000000000000ull);
	put_be(want + 16, 4, 0xffffffff);
	put_be(want + 20, 4, 0x1234);
	put_be(want + 24, 4, 8);
	put_be(want + 28, 4, 9);
	put_be(want + 32, 4, 10);
	memset(got, 0xee, sizeof(got));
	iscsi_build_nop_in(got, &n);
	assert_memory_equal(got, want, ISCSI_BHS_LEN);
}

static void build_tmf_rsp_golden_bytes(void **state)
{
	const struct iscsi_tmf_rsp r = {
		.itt = 0x77, .statsn = 1, .exp_cmdsn = 2, .max_cmdsn = 3, .response = 0x05,
	};
	uint8_t want[ISCSI_BHS_LEN] = { 0x22, 0x80, 0x05 };
	uint8_t got[ISCSI_BHS_LEN];

	put_be(want + 16, 4, 0x77);
	put_be(want + 24, 4, 1);
	put_be(want + 28, 4, 2);
	put_be(want + 32, 4, 3);
	memset(got, 0xee, sizeof(got));
	iscsi_build_tmf_rsp(got, &r);
	assert_memory_equal(got, want, ISCSI_BHS_LEN);
}

static void build_login_rsp_golden_bytes(void **state)
{
	const struct iscsi_login_rsp r = {
		.transit = true, .csg = ISCSI_STAGE_OPERATIONAL, .nsg = ISCSI_STAGE_FULL_FEATURE,
		.version_max = 0, .version_active = 0,
		.isid = { 0x80, 1, 2, 3, 4, 5 }, .tsih = 0x0abc,
		.itt = 0x42, .statsn = 0x1000, .exp_cmdsn = 2, .max_cmdsn = 65,
		.status = ISCSI_LOGIN_SUCCESS, .data_len = 0x1234,
	};
	uint8_t want[ISCSI_BHS_LEN] = { 0x23, 0x80 | (1 << 2) | 3, 0x00, 0x00, 0, 0x00, 0x12, 0x34,
					0x80, 1, 2, 3, 4, 5, 0x0a, 0xbc };
	uint8_t got[ISCSI_BHS_LEN];

	put_be(want + 16, 4, 0x42);
	put_be(want + 24, 4, 0x1000);
	put_be(want + 28, 4, 2);
	put_be(want + 32, 4, 65);
	memset(got, 0xee, sizeof(got));
	iscsi_build_login_rsp(got, &r);
	assert_memory_equal(got, want, ISCSI_BHS_LEN);
}

static void build_login_rsp_puts_status_class_and_detail(void **state)
{
	uint8_t got[ISCSI_BHS_LEN];

	iscsi_build_login_rsp(got, &(struct iscsi_login_rsp){
		.cont = true, .status = ISCSI_LOGIN_TARGET_NOT_FOUND });
	assert_int_equal(got[1], 0x40);
	assert_int_equal(got[36], 0x02);
	assert_int_equal(got[37], 0x03);
}

static void build_text_rsp_golden_bytes(void **state)
{
	const struct iscsi_text_rsp r = {
		.final = false, .cont = true, .itt = 0x5, .ttt = 0x6, .statsn = 7,
		.exp_cmdsn = 8, .max_cmdsn = 9, .lun = 0, .data_len = 8192,
	};
	uint8_t want[ISCSI_BHS_LEN] = { 0x24, 0x40, 0, 0, 0, 0x00, 0x20, 0x00 };
	uint8_t got[ISCSI_BHS_LEN];

	put_be(want + 16, 4, 5);
	put_be(want + 20, 4, 6);
	put_be(want + 24, 4, 7);
	put_be(want + 28, 4, 8);
	put_be(want + 32, 4, 9);
	memset(got, 0xee, sizeof(got));
	iscsi_build_text_rsp(got, &r);
	assert_memory_equal(got, want, ISCSI_BHS_LEN);
}

static void build_text_rsp_final(void **state)
{
	uint8_t got[ISCSI_BHS_LEN];

	iscsi_build_text_rsp(got, &(struct iscsi_text_rsp){ .final = true });
	assert_int_equal(got[1], 0x80);
}

static void build_logout_rsp_golden_bytes(void **state)
{
	const struct iscsi_logout_rsp r = {
		.response = 0x01, .itt = 0x99, .statsn = 10, .exp_cmdsn = 11, .max_cmdsn = 12,
		.time2wait = 2, .time2retain = 20,
	};
	uint8_t want[ISCSI_BHS_LEN] = { 0x26, 0x80, 0x01 };
	uint8_t got[ISCSI_BHS_LEN];

	put_be(want + 16, 4, 0x99);
	put_be(want + 24, 4, 10);
	put_be(want + 28, 4, 11);
	put_be(want + 32, 4, 12);
	put_be(want + 40, 2, 2);
	put_be(want + 42, 2, 20);
	memset(got, 0xee, sizeof(got));
	iscsi_build_logout_rsp(got, &r);
	assert_memory_equal(got, want, ISCSI_BHS_LEN);
}

static void build_reject_golden_bytes(void **state)
{
	const struct iscsi_reject r = {
		.reason = ISCSI_REJECT_CMD_NOT_SUPPORTED, .statsn = 3, .exp_cmdsn = 4,
		.max_cmdsn = 5, .datasn_r2tsn = 0, .data_len = ISCSI_BHS_LEN,
	};
	uint8_t want[ISCSI_BHS_LEN] = { 0x3f, 0x80, 0x05, 0, 0, 0, 0, 48 };
	uint8_t got[ISCSI_BHS_LEN];

	put_be(want + 16, 4, 0xffffffff);
	put_be(want + 24, 4, 3);
	put_be(want + 28, 4, 4);
	put_be(want + 32, 4, 5);
	memset(got, 0xee, sizeof(got));
	iscsi_build_reject(got, &r);
	assert_memory_equal(got, want, ISCSI_BHS_LEN);
}

static void build_async_msg_golden_bytes(void **state)
{
	const struct iscsi_async_msg m = {
		.event = 1, .vcode = 0, .param1 = 0x0102, .param2 = 3, .param3 = 4,
		.statsn = 5, .exp_cmdsn = 6, .max_cmdsn = 7, .lun = 0x0001000000000000ull,
		.data_len = 0,
	};
	uint8_t want[ISCSI_BHS_LEN] = { 0x32, 0x80 };
	uint8_t got[ISCSI_BHS_LEN];

	put_be(want + 8, 8, 0x0001000000000000ull);
	put_be(want + 16, 4, 0xffffffff);
	put_be(want + 24, 4, 5);
	put_be(want + 28, 4, 6);
	put_be(want + 32, 4, 7);
	want[36] = 1;
	want[37] = 0;
	put_be(want + 38, 2, 0x0102);
	put_be(want + 40, 2, 3);
	put_be(want + 42, 2, 4);
	memset(got, 0xee, sizeof(got));
	iscsi_build_async_msg(got, &m);
	assert_memory_equal(got, want, ISCSI_BHS_LEN);
}

static void encoders_write_largest_data_segment_length(void **state)
{
	uint8_t got[ISCSI_BHS_LEN];

	iscsi_build_nop_in(got, &(struct iscsi_nop_in){ .data_len = ISCSI_MAX_DSL });
	assert_int_equal(got[5], 0xff);
	assert_int_equal(got[6], 0xff);
	assert_int_equal(got[7], 0xff);
	assert_int_equal(got[4], 0);
}

/* A target PDU fed back to the parser is refused: the codec never mistakes
 * its own replies for requests (e.g. a reflected packet). */
static void encoded_target_pdus_parse_as_bad_opcode(void **state)
{
	uint8_t b[ISCSI_BHS_LEN];
	struct iscsi_hdr h;

	iscsi_build_scsi_rsp(b, &(struct iscsi_scsi_rsp){ .itt = 0x31, .data_len = 18 });
	assert_int_equal(iscsi_parse_bhs(b, &h), ISCSI_PARSE_BAD_OPCODE);
	assert_int_equal(h.opcode, ISCSI_OP_SCSI_RSP);
	assert_int_equal(h.itt, 0x31);
	assert_int_equal(h.data_len, 18);

	iscsi_build_reject(b, &(struct iscsi_reject){ .data_len = 48 });
	assert_int_equal(iscsi_parse_bhs(b, &h), ISCSI_PARSE_BAD_OPCODE);
	assert_int_equal(h.opcode, ISCSI_OP_REJECT);
	assert_int_equal(h.itt, ISCSI_RSVD_TAG);
	assert_int_equal(iscsi_pdu_tail_len(&h, false, false), 48);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_nop_out_decodes_all_fields),
		cmocka_unit_test(parse_scsi_cmd_decodes_all_fields),
		cmocka_unit_test(parse_scsi_cmd_accepts_bidirectional),
		cmocka_unit_test(parse_scsi_cmd_without_final_is_valid),
		cmocka_unit_test(parse_tmf_decodes_all_fields),
		cmocka_unit_test(parse_tmf_leaves_unknown_function_to_handler),
		cmocka_unit_test(parse_login_decodes_all_fields),
		cmocka_unit_test(parse_login_operational_to_full_feature_is_valid),
		cmocka_unit_test(parse_login_security_to_full_feature_is_valid),
		cmocka_unit_test(parse_login_ignores_nsg_without_transit),
		cmocka_unit_test(parse_login_continue_without_transit_is_valid),
		cmocka_unit_test(parse_text_decodes_all_fields),
		cmocka_unit_test(parse_text_continue_is_valid),
		cmocka_unit_test(parse_data_out_decodes_all_fields),
		cmocka_unit_test(parse_logout_decodes_all_fields),
		cmocka_unit_test(parse_snack_decodes_all_fields),
		cmocka_unit_test(parse_ignores_reserved_bit_7_of_byte_0),
		cmocka_unit_test(parse_decodes_largest_data_segment_length),
		cmocka_unit_test(parse_rejects_every_target_opcode),
		cmocka_unit_test(parse_rejects_every_undefined_opcode),
		cmocka_unit_test(parse_rejects_vendor_opcode_0x1f),
		cmocka_unit_test(parse_login_rejects_csg_full_feature),
		cmocka_unit_test(parse_login_rejects_csg_reserved),
		cmocka_unit_test(parse_login_rejects_transit_to_nsg_reserved),
		cmocka_unit_test(parse_login_rejects_transit_backwards),
		cmocka_unit_test(parse_login_rejects_transit_with_continue),
		cmocka_unit_test(parse_text_rejects_final_with_continue),
		cmocka_unit_test(parse_logout_rejects_reason_above_2),
		cmocka_unit_test(parse_snack_rejects_undefined_type),
		cmocka_unit_test(pad4_rounds_up_to_multiple_of_4),
		cmocka_unit_test(tail_len_is_zero_for_bare_header),
		cmocka_unit_test(tail_len_pads_data_segment),
		cmocka_unit_test(tail_len_counts_ahs_in_words),
		cmocka_unit_test(tail_len_adds_header_digest),
		cmocka_unit_test(tail_len_adds_data_digest_only_with_data),
		cmocka_unit_test(tail_len_of_largest_pdu),
		cmocka_unit_test(build_scsi_rsp_golden_bytes),
		cmocka_unit_test(build_scsi_rsp_sets_each_residual_bit),
		cmocka_unit_test(build_data_in_with_status_golden_bytes),
		cmocka_unit_test(build_data_in_without_status_zeroes_status_fields),
		cmocka_unit_test(build_data_in_status_implies_final),
		cmocka_unit_test(build_data_in_sets_ack_bit),
		cmocka_unit_test(build_r2t_golden_bytes),
		cmocka_unit_test(build_nop_in_golden_bytes),
		cmocka_unit_test(build_tmf_rsp_golden_bytes),
		cmocka_unit_test(build_login_rsp_golden_bytes),
		cmocka_unit_test(build_login_rsp_puts_status_class_and_detail),
		cmocka_unit_test(build_text_rsp_golden_bytes),
		cmocka_unit_test(build_text_rsp_final),
		cmocka_unit_test(build_logout_rsp_golden_bytes),
		cmocka_unit_test(build_reject_golden_bytes),
		cmocka_unit_test(build_async_msg_golden_bytes),
		cmocka_unit_test(encoders_write_largest_data_segment_length),
		cmocka_unit_test(encoded_target_pdus_parse_as_bad_opcode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
