/* iSCSI Basic Header Segment codec, RFC 7143 §11. Byte offsets below are
 * the ones of the RFC's PDU figures. */
#include "iscsi/pdu.h"

#include <string.h>

#include "util/be.h"

#define BHS_I_BIT 0x40u
#define BHS_OPCODE_MASK 0x3fu
#define BHS_F_BIT 0x80u

/* RFC 7143 §11.3: byte 1 of a SCSI Command. */
#define CMD_R_BIT 0x40u
#define CMD_W_BIT 0x20u
#define CMD_ATTR_MASK 0x07u

/* RFC 7143 §11.10, §11.12: Text and Login continue/transit bits. */
#define TEXT_C_BIT 0x40u
#define LOGIN_T_BIT 0x80u
#define LOGIN_C_BIT 0x40u

/* RFC 7143 §11.5.1, §11.14.1, §11.16.1: 7- and 4-bit fields under F. */
#define TMF_FUNCTION_MASK 0x7fu
#define LOGOUT_REASON_MASK 0x7fu
#define SNACK_TYPE_MASK 0x0fu
#define LOGOUT_REASON_MAX 2u
#define SNACK_TYPE_MAX 3u

/* RFC 7143 §11.4.1 and §11.7: residual bits of SCSI Response / Data-In. */
#define RSP_BIDI_OVERFLOW 0x10u
#define RSP_BIDI_UNDERFLOW 0x08u
#define RSP_OVERFLOW 0x04u
#define RSP_UNDERFLOW 0x02u
#define DATA_IN_A_BIT 0x40u
#define DATA_IN_S_BIT 0x01u

typedef enum iscsi_parse_error (*bhs_parser)(const uint8_t *bhs, struct iscsi_hdr *h);

static enum iscsi_parse_error parse_nop_out(const uint8_t *bhs, struct iscsi_hdr *h)
{
	h->nop_out.ttt = be32_get(bhs + 20);
	h->nop_out.cmdsn = be32_get(bhs + 24);
	h->nop_out.exp_statsn = be32_get(bhs + 28);
	return ISCSI_PARSE_OK;
}

/* R and W both set is a bidirectional command, legal (RFC 7143 §11.3.1). */
static enum iscsi_parse_error parse_scsi_cmd(const uint8_t *bhs, struct iscsi_hdr *h)
{
	h->cmd.read = bhs[1] & CMD_R_BIT;
	h->cmd.write = bhs[1] & CMD_W_BIT;
	h->cmd.attr = bhs[1] & CMD_ATTR_MASK;
	h->cmd.edtl = be32_get(bhs + 20);
	h->cmd.cmdsn = be32_get(bhs + 24);
	h->cmd.exp_statsn = be32_get(bhs + 28);
	memcpy(h->cmd.cdb, bhs + 32, sizeof(h->cmd.cdb));
	return ISCSI_PARSE_OK;
}

/* An unknown function is answered with "Function rejected" by the TMF
 * handler (RFC 7143 §11.6.1), not rejected as a PDU. */
static enum iscsi_parse_error parse_tmf(const uint8_t *bhs, struct iscsi_hdr *h)
{
	h->tmf.function = bhs[1] & TMF_FUNCTION_MASK;
	h->tmf.ref_itt = be32_get(bhs + 20);
	h->tmf.cmdsn = be32_get(bhs + 24);
	h->tmf.exp_statsn = be32_get(bhs + 28);
	h->tmf.ref_cmdsn = be32_get(bhs + 32);
	h->tmf.exp_datasn = be32_get(bhs + 36);
	return ISCSI_PARSE_OK;
}

/* RFC 7143 §11.12.2-3: C and T are exclusive; CSG is never FullFeature
 * (a login request is sent before it) nor the reserved 2; with T set, NSG
 * is not the reserved 2 and does not go back. NSG is reserved when T is
 * clear, so it is not checked then. */
static enum iscsi_parse_error parse_login(const uint8_t *bhs, struct iscsi_hdr *h)
{
	h->login.transit = bhs[1] & LOGIN_T_BIT;
	h->login.cont = bhs[1] & LOGIN_C_BIT;
	h->login.csg = (bhs[1] >> 2) & 3u;
	h->login.nsg = bhs[1] & 3u;
	h->login.version_max = bhs[2];
	h->login.version_min = bhs[3];
	memcpy(h->login.isid, bhs + 8, sizeof(h->login.isid));
	h->login.tsih = be16_get(bhs + 14);
	h->login.cid = be16_get(bhs + 20);
	h->login.cmdsn = be32_get(bhs + 24);
	h->login.exp_statsn = be32_get(bhs + 28);
	/* The Login BHS has no F bit: byte 1 bit 7 is T. */
	h->final = false;

	if (h->login.transit && h->login.cont)
		return ISCSI_PARSE_INVALID_FIELD;
	if (h->login.csg != ISCSI_STAGE_SECURITY && h->login.csg != ISCSI_STAGE_OPERATIONAL)
		return ISCSI_PARSE_INVALID_FIELD;
	if (h->login.transit && (h->login.nsg == 2 || h->login.nsg < h->login.csg))
		return ISCSI_PARSE_INVALID_FIELD;
	return ISCSI_PARSE_OK;
}

/* RFC 7143 §11.10.2: a request with C set must have F clear. */
static enum iscsi_parse_error parse_text(const uint8_t *bhs, struct iscsi_hdr *h)
{
	h->text.cont = bhs[1] & TEXT_C_BIT;
	h->text.ttt = be32_get(bhs + 20);
	h->text.cmdsn = be32_get(bhs + 24);
	h->text.exp_statsn = be32_get(bhs + 28);
	return h->final && h->text.cont ? ISCSI_PARSE_INVALID_FIELD : ISCSI_PARSE_OK;
}

static enum iscsi_parse_error parse_data_out(const uint8_t *bhs, struct iscsi_hdr *h)
{
	h->data_out.ttt = be32_get(bhs + 20);
	h->data_out.exp_statsn = be32_get(bhs + 28);
	h->data_out.datasn = be32_get(bhs + 36);
	h->data_out.offset = be32_get(bhs + 40);
	return ISCSI_PARSE_OK;
}

/* RFC 7143 §11.14.1: reason codes 0-2 are the only ones defined. */
static enum iscsi_parse_error parse_logout(const uint8_t *bhs, struct iscsi_hdr *h)
{
	h->logout.reason = bhs[1] & LOGOUT_REASON_MASK;
	h->logout.cid = be16_get(bhs + 20);
	h->logout.cmdsn = be32_get(bhs + 24);
	h->logout.exp_statsn = be32_get(bhs + 28);
	return h->logout.reason > LOGOUT_REASON_MAX ? ISCSI_PARSE_INVALID_FIELD : ISCSI_PARSE_OK;
}

/* RFC 7143 §11.16.1: SNACK types 0-3 are the only ones defined. */
static enum iscsi_parse_error parse_snack(const uint8_t *bhs, struct iscsi_hdr *h)
{
	h->snack.type = bhs[1] & SNACK_TYPE_MASK;
	h->snack.ttt = be32_get(bhs + 20);
	h->snack.exp_statsn = be32_get(bhs + 28);
	h->snack.begrun = be32_get(bhs + 40);
	h->snack.runlength = be32_get(bhs + 44);
	return h->snack.type > SNACK_TYPE_MAX ? ISCSI_PARSE_INVALID_FIELD : ISCSI_PARSE_OK;
}

/* Initiator opcodes (RFC 7143 §11.1.1). has_lun: bytes 8-15 are a LUN
 * rather than ISID/TSIH (Login) or reserved (Logout). */
static const struct {
	bhs_parser parse;
	bool has_lun;
} bhs_parsers[BHS_OPCODE_MASK + 1] = {
	[ISCSI_OP_NOP_OUT] = { parse_nop_out, true },
	[ISCSI_OP_SCSI_CMD] = { parse_scsi_cmd, true },
	[ISCSI_OP_TMF_REQ] = { parse_tmf, true },
	[ISCSI_OP_LOGIN_REQ] = { parse_login, false },
	[ISCSI_OP_TEXT_REQ] = { parse_text, true },
	[ISCSI_OP_DATA_OUT] = { parse_data_out, true },
	[ISCSI_OP_LOGOUT_REQ] = { parse_logout, false },
	[ISCSI_OP_SNACK_REQ] = { parse_snack, true },
};

enum iscsi_parse_error iscsi_parse_bhs(const uint8_t bhs[ISCSI_BHS_LEN], struct iscsi_hdr *h)
{
	unsigned op = bhs[0] & BHS_OPCODE_MASK;

	memset(h, 0, sizeof(*h));
	h->opcode = (enum iscsi_opcode)op;
	h->immediate = bhs[0] & BHS_I_BIT;
	h->final = bhs[1] & BHS_F_BIT;
	h->ahs_len = bhs[4];
	h->data_len = be24_get(bhs + 5);
	h->itt = be32_get(bhs + 16);
	if (!bhs_parsers[op].parse)
		return ISCSI_PARSE_BAD_OPCODE;
	if (bhs_parsers[op].has_lun)
		h->lun = be64_get(bhs + 8);
	return bhs_parsers[op].parse(bhs, h);
}

/* RFC 7143 §11.2: the header digest follows the AHS; the data digest is
 * present only when there is a data segment (§11.1). */
size_t iscsi_pdu_tail_len(const struct iscsi_hdr *h, bool header_digest, bool data_digest)
{
	size_t len = (size_t)h->ahs_len * 4u;

	if (header_digest)
		len += ISCSI_DIGEST_LEN;
	if (h->data_len) {
		len += iscsi_pad4(h->data_len);
		if (data_digest)
			len += ISCSI_DIGEST_LEN;
	}
	return len;
}

/* Starts a target PDU from zeros, so every reserved field is 0 as
 * RFC 7143 §11.2 asks; no encoder here sends an AHS. */
static void bhs_start(uint8_t *bhs, enum iscsi_opcode op, uint8_t flags, uint32_t data_len,
		      uint32_t itt)
{
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = (uint8_t)op;
	bhs[1] = flags;
	be24_put(bhs + 5, data_len);
	be32_put(bhs + 16, itt);
}

static void bhs_put_sns(uint8_t *bhs, uint32_t statsn, uint32_t exp_cmdsn, uint32_t max_cmdsn)
{
	be32_put(bhs + 24, statsn);
	be32_put(bhs + 28, exp_cmdsn);
	be32_put(bhs + 32, max_cmdsn);
}

static uint8_t flag_if(bool cond, unsigned bit)
{
	return cond ? (uint8_t)bit : 0;
}

/* RFC 7143 §11.4 */
void iscsi_build_scsi_rsp(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_scsi_rsp *r)
{
	uint8_t flags = BHS_F_BIT | flag_if(r->bidi_overflow, RSP_BIDI_OVERFLOW) |
			flag_if(r->bidi_underflow, RSP_BIDI_UNDERFLOW) |
			flag_if(r->overflow, RSP_OVERFLOW) | flag_if(r->underflow, RSP_UNDERFLOW);

	bhs_start(bhs, ISCSI_OP_SCSI_RSP, flags, r->data_len, r->itt);
	bhs[2] = r->response;
	bhs[3] = r->status;
	bhs_put_sns(bhs, r->statsn, r->exp_cmdsn, r->max_cmdsn);
	be32_put(bhs + 36, r->exp_datasn);
	be32_put(bhs + 40, r->bidi_residual);
	be32_put(bhs + 44, r->residual);
}

/* RFC 7143 §11.7: S implies F; status, StatSN, the O/U bits and the
 * residual are reserved (zero) unless S is set. */
void iscsi_build_data_in(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_data_in *d)
{
	uint8_t flags = flag_if(d->final || d->has_status, BHS_F_BIT) | flag_if(d->ack, DATA_IN_A_BIT);

	if (d->has_status)
		flags |= DATA_IN_S_BIT | flag_if(d->overflow, RSP_OVERFLOW) |
			 flag_if(d->underflow, RSP_UNDERFLOW);
	bhs_start(bhs, ISCSI_OP_DATA_IN, flags, d->data_len, d->itt);
	be64_put(bhs + 8, d->lun);
	be32_put(bhs + 20, d->ttt);
	bhs_put_sns(bhs, d->has_status ? d->statsn : 0, d->exp_cmdsn, d->max_cmdsn);
	be32_put(bhs + 36, d->datasn);
	be32_put(bhs + 40, d->offset);
	if (d->has_status) {
		bhs[3] = d->status;
		be32_put(bhs + 44, d->residual);
	}
}

/* RFC 7143 §11.8 */
void iscsi_build_r2t(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_r2t *r)
{
	bhs_start(bhs, ISCSI_OP_R2T, BHS_F_BIT, 0, r->itt);
	be64_put(bhs + 8, r->lun);
	be32_put(bhs + 20, r->ttt);
	bhs_put_sns(bhs, r->statsn, r->exp_cmdsn, r->max_cmdsn);
	be32_put(bhs + 36, r->r2tsn);
	be32_put(bhs + 40, r->offset);
	be32_put(bhs + 44, r->length);
}

/* RFC 7143 §11.19 */
void iscsi_build_nop_in(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_nop_in *n)
{
	bhs_start(bhs, ISCSI_OP_NOP_IN, BHS_F_BIT, n->data_len, n->itt);
	be64_put(bhs + 8, n->lun);
	be32_put(bhs + 20, n->ttt);
	bhs_put_sns(bhs, n->statsn, n->exp_cmdsn, n->max_cmdsn);
}

/* RFC 7143 §11.6 */
void iscsi_build_tmf_rsp(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_tmf_rsp *r)
{
	bhs_start(bhs, ISCSI_OP_TMF_RSP, BHS_F_BIT, 0, r->itt);
	bhs[2] = r->response;
	bhs_put_sns(bhs, r->statsn, r->exp_cmdsn, r->max_cmdsn);
}

/* RFC 7143 §11.13 */
void iscsi_build_login_rsp(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_login_rsp *r)
{
	uint8_t flags = flag_if(r->transit, LOGIN_T_BIT) | flag_if(r->cont, LOGIN_C_BIT) |
			(uint8_t)((r->csg & 3u) << 2) | (r->nsg & 3u);

	bhs_start(bhs, ISCSI_OP_LOGIN_RSP, flags, r->data_len, r->itt);
	bhs[2] = r->version_max;
	bhs[3] = r->version_active;
	memcpy(bhs + 8, r->isid, sizeof(r->isid));
	be16_put(bhs + 14, r->tsih);
	bhs_put_sns(bhs, r->statsn, r->exp_cmdsn, r->max_cmdsn);
	bhs[36] = (uint8_t)(r->status >> 8);
	bhs[37] = (uint8_t)r->status;
}

/* RFC 7143 §11.11 */
void iscsi_build_text_rsp(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_text_rsp *r)
{
	uint8_t flags = flag_if(r->final, BHS_F_BIT) | flag_if(r->cont, TEXT_C_BIT);

	bhs_start(bhs, ISCSI_OP_TEXT_RSP, flags, r->data_len, r->itt);
	be64_put(bhs + 8, r->lun);
	be32_put(bhs + 20, r->ttt);
	bhs_put_sns(bhs, r->statsn, r->exp_cmdsn, r->max_cmdsn);
}

/* RFC 7143 §11.15 */
void iscsi_build_logout_rsp(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_logout_rsp *r)
{
	bhs_start(bhs, ISCSI_OP_LOGOUT_RSP, BHS_F_BIT, 0, r->itt);
	bhs[2] = r->response;
	bhs_put_sns(bhs, r->statsn, r->exp_cmdsn, r->max_cmdsn);
	be16_put(bhs + 40, r->time2wait);
	be16_put(bhs + 42, r->time2retain);
}

/* RFC 7143 §11.17: the ITT field is 0xffffffff; the rejected header travels
 * in the data segment. */
void iscsi_build_reject(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_reject *r)
{
	bhs_start(bhs, ISCSI_OP_REJECT, BHS_F_BIT, r->data_len, ISCSI_RSVD_TAG);
	bhs[2] = r->reason;
	bhs_put_sns(bhs, r->statsn, r->exp_cmdsn, r->max_cmdsn);
	be32_put(bhs + 36, r->datasn_r2tsn);
}

/* RFC 7143 §11.9: the ITT field is 0xffffffff. */
void iscsi_build_async_msg(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_async_msg *m)
{
	bhs_start(bhs, ISCSI_OP_ASYNC_MSG, BHS_F_BIT, m->data_len, ISCSI_RSVD_TAG);
	be64_put(bhs + 8, m->lun);
	bhs_put_sns(bhs, m->statsn, m->exp_cmdsn, m->max_cmdsn);
	bhs[36] = m->event;
	bhs[37] = m->vcode;
	be16_put(bhs + 38, m->param1);
	be16_put(bhs + 40, m->param2);
	be16_put(bhs + 42, m->param3);
}
