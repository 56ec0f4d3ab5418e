/* PDU-level building blocks for the transport scenarios (RFC 7143 §11.3,
 * §11.7, §11.18). */
#include "wire_xfer.h"

#include <stdio.h>
#include <string.h>

#include "util/be.h"

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

enum wire_io wire_send_cmd(struct wire_conn *c, const struct wire_cmd *cmd)
{
	uint8_t bhs[ISCSI_BHS_LEN];

	wire_build_scsi_cmd(bhs, c, cmd->itt, cmd->dir == WIRE_DIR_READ, cmd->dir == WIRE_DIR_WRITE,
			    cmd->edtl, cmd->cdb, cmd->cdb_len, cmd->imm_len);
	if (cmd->immediate)
		bhs[0] |= 0x40;
	bhs[1] = (uint8_t)((cmd->final ? 0x80 : 0) | (bhs[1] & 0x60) | (cmd->attr & 7));
	be32_put(bhs + 24, cmd->cmdsn);
	return wire_send_pdu(c, bhs, cmd->imm, cmd->imm_len);
}

enum wire_io wire_send_burst(struct wire_conn *c, uint32_t itt, uint32_t ttt, const uint8_t *buf,
			     uint32_t offset, uint32_t len, uint32_t seg)
{
	for (uint32_t datasn = 0, done = 0; done < len; datasn++) {
		uint32_t n = min_u32(len - done, seg);
		uint8_t bhs[ISCSI_BHS_LEN];

		wire_build_data_out(bhs, c, itt, ttt, datasn, offset + done, n, done + n == len);
		enum wire_io r = wire_send_pdu(c, bhs, buf + offset + done, n);
		if (r != WIRE_IO_OK)
			return r;
		done += n;
	}
	return WIRE_IO_OK;
}

bool wire_expect(struct wire_conn *c, struct wire_pdu *p, uint8_t opcode, uint32_t itt,
		 char *why, size_t why_len)
{
	enum wire_io r = wire_recv_reply(c, p, WIRE_IO_TIMEOUT_S * 1000);

	if (r != WIRE_IO_OK) {
		snprintf(why, why_len, "waiting for opcode 0x%02x ITT 0x%x: %s", opcode, itt,
			 wire_io_name(r));
		return false;
	}
	uint8_t op = p->bhs[0] & 0x3f;
	if (op == opcode && be32_get(p->bhs + 16) == itt)
		return true;
	snprintf(why, why_len, "expected opcode 0x%02x ITT 0x%x, got opcode 0x%02x ITT 0x%x%s", opcode,
		 itt, op, be32_get(p->bhs + 16), op == ISCSI_OP_REJECT ? " (Reject)" : "");
	if (op == ISCSI_OP_REJECT)
		snprintf(why + strlen(why), why_len - strlen(why), " reason 0x%02x", p->bhs[2]);
	wire_pdu_free(p);
	return false;
}

bool wire_nothing_pending(struct wire_conn *c, char *why, size_t why_len)
{
	uint32_t itt = c->next_itt++;
	uint8_t bhs[ISCSI_BHS_LEN];
	struct wire_pdu p;

	wire_build_nop_out(bhs, c, itt, ISCSI_RSVD_TAG, true, 0);
	enum wire_io r = wire_send_pdu(c, bhs, NULL, 0);
	if (r != WIRE_IO_OK) {
		snprintf(why, why_len, "ping: %s", wire_io_name(r));
		return false;
	}
	if (!wire_expect(c, &p, ISCSI_OP_NOP_IN, itt, why, why_len))
		return false;
	wire_pdu_free(&p);
	return true;
}

bool wire_silent(struct wire_conn *c, int ms, char *why, size_t why_len)
{
	struct wire_pdu p;
	enum wire_io r = wire_recv_reply(c, &p, ms);

	if (r == WIRE_IO_TIMEOUT)
		return true;
	if (r == WIRE_IO_OK) {
		snprintf(why, why_len, "got opcode 0x%02x ITT 0x%x", p.bhs[0] & 0x3f, be32_get(p.bhs + 16));
		wire_pdu_free(&p);
	} else {
		snprintf(why, why_len, "%s", wire_io_name(r));
	}
	return false;
}

bool wire_session_open_capacity(struct wire_conn *c, const struct wire_target *t,
				const struct wire_login_params *lp, uint64_t *blocks, uint32_t *bs,
				char *why, size_t why_len)
{
	if (!wire_session_open(c, t, lp, why, why_len))
		return false;
	if (wire_read_capacity(c, blocks, bs, why, why_len))
		return true;
	wire_close(c);
	return false;
}

bool wire_lba_room(uint64_t blocks, uint32_t lba, uint32_t len, uint32_t bs, char *why,
		   size_t why_len)
{
	if (len % bs == 0 && lba + len / bs <= blocks && len / bs <= 0xffff)
		return true;
	snprintf(why, why_len, "LUN of %llu blocks of %u bytes too small for %u bytes at LBA %u",
		 (unsigned long long)blocks, bs, len, lba);
	return false;
}

void wire_fill_pattern(uint8_t *buf, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed ^ i ^ (i >> 8));
}

bool wire_write_lba(struct wire_conn *c, uint32_t lba, const uint8_t *buf, uint32_t len,
		    uint32_t bs, char *why, size_t why_len)
{
	uint8_t cdb[10];

	wire_cdb_rw10(cdb, 0x2a, lba, (uint16_t)(len / bs));
	return wire_scsi_good(c, cdb, sizeof(cdb), WIRE_DIR_WRITE, (void *)buf, len, why, why_len);
}

bool wire_read_lba(struct wire_conn *c, uint32_t lba, uint8_t *buf, uint32_t len, uint32_t bs,
		   char *why, size_t why_len)
{
	uint8_t cdb[10];

	wire_cdb_rw10(cdb, 0x28, lba, (uint16_t)(len / bs));
	return wire_scsi_good(c, cdb, sizeof(cdb), WIRE_DIR_READ, buf, len, why, why_len);
}
