/* One SCSI command at a time over the raw-wire connection (RFC 7143 §11.3
 * to §11.8): immediate data, R2T-driven Data-Out, Data-In reassembly. */
#include "wire_scsi.h"

#include <stdio.h>
#include <string.h>

#include "util/be.h"

#define UA_CLEAR_TRIES 3

/* Sense data, SPC-4 4.5: fixed (0x70/0x71) or descriptor (0x72/0x73). The
 * iSCSI data segment starts with a 2-byte SenseLength (RFC 7143 §11.4.7). */
static void decode_sense(const uint8_t *data, uint32_t len, struct wire_scsi_result *res)
{
	if (len < 2)
		return;
	uint32_t slen = be16_get(data);
	const uint8_t *s = data + 2;

	if (slen > len - 2)
		slen = len - 2;
	uint8_t code = slen ? s[0] & 0x7f : 0;
	if ((code == 0x70 || code == 0x71) && slen >= 14) {
		res->has_sense = true;
		res->sense_key = s[2] & 0x0f;
		res->asc = s[12];
		res->ascq = s[13];
	} else if ((code == 0x72 || code == 0x73) && slen >= 4) {
		res->has_sense = true;
		res->sense_key = s[1] & 0x0f;
		res->asc = s[2];
		res->ascq = s[3];
	}
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Sends [offset, offset+len) of buf as Data-Out PDUs no larger than the
 * target's MaxRecvDataSegmentLength (RFC 7143 §11.7). */
static enum wire_io send_data_out(struct wire_conn *c, uint32_t itt, uint32_t ttt, const uint8_t *buf,
				  uint32_t offset, uint32_t len)
{
	uint32_t datasn = 0;

	while (len) {
		uint32_t seg = min_u32(len, c->target_mrdsl);
		uint8_t bhs[ISCSI_BHS_LEN];

		wire_build_data_out(bhs, c, itt, ttt, datasn++, offset, seg, seg == len);
		enum wire_io r = wire_send_pdu(c, bhs, buf + offset, seg);
		if (r != WIRE_IO_OK)
			return r;
		offset += seg;
		len -= seg;
	}
	return WIRE_IO_OK;
}

bool wire_scsi_exec(struct wire_conn *c, const uint8_t *cdb, size_t cdb_len, enum wire_dir dir,
		    void *buf, uint32_t len, struct wire_scsi_result *res, char *why, size_t why_len)
{
	uint32_t itt = c->next_itt++;
	uint32_t immediate = 0;
	uint8_t bhs[ISCSI_BHS_LEN];
	enum wire_io r;

	memset(res, 0, sizeof(*res));
	if (dir == WIRE_DIR_WRITE && c->immediate_data)
		immediate = min_u32(len, min_u32(c->first_burst, c->target_mrdsl));
	wire_build_scsi_cmd(bhs, c, itt, dir == WIRE_DIR_READ, dir == WIRE_DIR_WRITE,
			    dir == WIRE_DIR_NONE ? 0 : len, cdb, cdb_len, immediate);
	c->cmdsn++;
	r = wire_send_pdu(c, bhs, buf, immediate);
	for (int pdus = 0; r == WIRE_IO_OK; pdus++) {
		struct wire_pdu p;

		r = wire_recv_reply(c, &p, WIRE_IO_TIMEOUT_S * 1000);
		if (r != WIRE_IO_OK)
			break;
		uint8_t op = p.bhs[0] & 0x3f;
		uint32_t off = be32_get(p.bhs + 40);
		if (op == ISCSI_OP_REJECT) {
			snprintf(why, why_len, "Reject reason 0x%02x", p.bhs[2]);
		} else if (be32_get(p.bhs + 16) != itt) {
			snprintf(why, why_len, "opcode 0x%02x for ITT 0x%x, expected 0x%x", op,
				 be32_get(p.bhs + 16), itt);
		} else if (op == ISCSI_OP_DATA_IN && (dir != WIRE_DIR_READ || off > len ||
						       p.data_len > len - off)) {
			snprintf(why, why_len, "Data-In offset %u len %u outside the %u-byte buffer", off,
				 p.data_len, len);
		} else if (op == ISCSI_OP_DATA_IN) {
			memcpy((uint8_t *)buf + off, p.data, p.data_len);
			res->data_in += p.data_len;
			bool done = p.bhs[1] & 0x01;
			res->status = p.bhs[3];
			wire_pdu_free(&p);
			if (done)
				return true;
			continue;
		} else if (op == ISCSI_OP_R2T && dir == WIRE_DIR_WRITE &&
			   off <= len && be32_get(p.bhs + 44) <= len - off) {
			r = send_data_out(c, itt, be32_get(p.bhs + 20), buf, off, be32_get(p.bhs + 44));
			wire_pdu_free(&p);
			continue;
		} else if (op == ISCSI_OP_SCSI_RSP) {
			res->response = p.bhs[2];
			res->status = p.bhs[3];
			decode_sense(p.data, p.data_len, res);
			wire_pdu_free(&p);
			return true;
		} else {
			snprintf(why, why_len, "unexpected opcode 0x%02x", op);
		}
		wire_pdu_free(&p);
		return false;
	}
	snprintf(why, why_len, "%s", wire_io_name(r));
	return false;
}

bool wire_scsi_good(struct wire_conn *c, const uint8_t *cdb, size_t cdb_len, enum wire_dir dir,
		    void *buf, uint32_t len, char *why, size_t why_len)
{
	struct wire_scsi_result res;

	if (!wire_scsi_exec(c, cdb, cdb_len, dir, buf, len, &res, why, why_len))
		return false;
	if (res.response || res.status != WIRE_SCSI_GOOD) {
		snprintf(why, why_len, "CDB 0x%02x: response 0x%02x status 0x%02x sense %x/%02x/%02x",
			 cdb[0], res.response, res.status, res.sense_key, res.asc, res.ascq);
		return false;
	}
	return true;
}

bool wire_inquiry(struct wire_conn *c, char *why, size_t why_len)
{
	const uint8_t cdb[6] = { 0x12, 0, 0, 0, 96, 0 };
	uint8_t data[96];

	return wire_scsi_good(c, cdb, sizeof(cdb), WIRE_DIR_READ, data, sizeof(data), why, why_len);
}

bool wire_read_capacity(struct wire_conn *c, uint64_t *blocks, uint32_t *block_size, char *why,
			size_t why_len)
{
	const uint8_t rc10[10] = { 0x25 };
	const uint8_t rc16[16] = { 0x9e, 0x10, [13] = 32 };
	uint8_t data[32];

	if (!wire_scsi_good(c, rc10, sizeof(rc10), WIRE_DIR_READ, data, 8, why, why_len))
		return false;
	/* SBC-4 5.20.2: 0xffffffff means "use READ CAPACITY(16)". */
	if (be32_get(data) != 0xffffffffu) {
		*blocks = (uint64_t)be32_get(data) + 1;
		*block_size = be32_get(data + 4);
		return true;
	}
	if (!wire_scsi_good(c, rc16, sizeof(rc16), WIRE_DIR_READ, data, sizeof(data), why, why_len))
		return false;
	*blocks = be64_get(data) + 1;
	*block_size = be32_get(data + 8);
	return true;
}

void wire_cdb_rw10(uint8_t cdb[10], uint8_t opcode, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 10);
	cdb[0] = opcode;
	be32_put(cdb + 2, lba);
	be16_put(cdb + 7, blocks);
}

int wire_tur_ua(struct wire_conn *c, char *why, size_t why_len)
{
	static const uint8_t tur[6];
	struct wire_scsi_result res;
	if (!wire_scsi_exec(c, tur, sizeof(tur), WIRE_DIR_NONE, NULL, 0, &res, why, why_len))
		return -1;
	if (!res.response && res.status == WIRE_SCSI_GOOD)
		return 0;
	if (res.status == WIRE_SCSI_CHECK_CONDITION && res.has_sense && res.sense_key == 0x6)
		return res.asc << 8 | res.ascq;
	snprintf(why, why_len, "response 0x%02x status 0x%02x, sense %x/%02x/%02x", res.response,
		 res.status, res.sense_key, res.asc, res.ascq);
	return -1;
}

bool wire_session_open(struct wire_conn *c, const struct wire_target *t,
		       const struct wire_login_params *lp, char *why, size_t why_len)
{
	const uint8_t tur[6] = { 0x00 };

	if (!(lp ? wire_login_with(c, t, lp, why, why_len) : wire_login(c, t, why, why_len)))
		return false;
	for (int i = 0; i < UA_CLEAR_TRIES; i++) {
		if (wire_scsi_good(c, tur, sizeof(tur), WIRE_DIR_NONE, NULL, 0, why, why_len)) {
			*why = '\0';
			return true;
		}
	}
	wire_close(c);
	return false;
}
