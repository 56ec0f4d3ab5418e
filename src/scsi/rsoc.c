/* REPORT SUPPORTED OPERATION CODES (SPC-4 6.35), generated from the opcode
 * table so the report can never disagree with what the core accepts. */
#include <string.h>

#include "util/be.h"
#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/task.h"

/* SPC-4 6.35.1 REPORTING OPTIONS */
enum rsoc_options {
	RSOC_ALL = 0,          /* every command, command descriptor format */
	RSOC_OPCODE = 1,       /* one opcode that has no service actions */
	RSOC_OPCODE_SA = 2,    /* one opcode and service action */
	RSOC_OPCODE_ANY_SA = 3, /* one opcode, with the service action if it has any */
};

/* SPC-4 6.35.3 SUPPORT field */
enum rsoc_support { RSOC_NOT_SUPPORTED = 1, RSOC_SUPPORTED = 3 };

#define RSOC_CDB_RCTD 0x80
#define RSOC_CDB_OPTIONS 0x07
#define RSOC_DESC_SERVACTV 0x01
#define RSOC_DESC_CTDP 0x02
#define RSOC_ONE_CTDP 0x80
#define RSOC_ONE_HDR_LEN 4

/* SPC-4 6.35.4: lunar states no timeouts; zero means "not specified". */
static size_t rsoc_put_timeouts(uint8_t *p)
{
	memset(p, 0, RSOC_TIMEOUTS_LEN);
	be16_put(p, RSOC_TIMEOUTS_LEN - 2);
	return RSOC_TIMEOUTS_LEN;
}

static uint16_t rsoc_service_action(const struct scsi_opdef *op)
{
	return op->service_action >= 0 ? (uint16_t)op->service_action : 0;
}

/* SPC-4 6.35.2 command descriptor */
static size_t rsoc_put_descriptor(const struct scsi_opdef *op, bool rctd, uint8_t *p)
{
	memset(p, 0, RSOC_DESC_LEN);
	p[0] = op->opcode;
	be16_put(p + 2, rsoc_service_action(op));
	p[5] = (uint8_t)((rctd ? RSOC_DESC_CTDP : 0) |
			 (op->service_action >= 0 ? RSOC_DESC_SERVACTV : 0));
	be16_put(p + 6, op->cdb_len);
	if (!rctd)
		return RSOC_DESC_LEN;
	return RSOC_DESC_LEN + rsoc_put_timeouts(p + RSOC_DESC_LEN);
}

static enum sense_reason rsoc_all(struct scsi_task *task, bool rctd)
{
	uint8_t resp[RSOC_RESP_MAX];
	size_t desc_max = RSOC_DESC_LEN + RSOC_TIMEOUTS_LEN;
	size_t len = 4;
	for (size_t i = 0; i < scsi_nopdefs; i++) {
		if (!scsi_opdef_served(&scsi_opdefs[i], task->lu))
			continue;
		if (len + desc_max > sizeof(resp))
			return SENSE_INTERNAL_TARGET_FAILURE;
		len += rsoc_put_descriptor(&scsi_opdefs[i], rctd, resp + len);
	}
	be32_put(resp, (uint32_t)(len - 4));
	scsi_task_reply(task, resp, len);
	return SENSE_NONE;
}

/* SPC-4 6.35.3: the CDB USAGE DATA is the usage mask, with the opcode in
 * byte 0 and the service action value in the SERVICE ACTION field. */
static size_t rsoc_put_usage(const struct scsi_opdef *op, uint8_t *p)
{
	memcpy(p, op->usage, op->cdb_len);
	p[0] = op->opcode;
	if (op->service_action >= 0)
		p[OP_SA_BYTE] = (uint8_t)((p[OP_SA_BYTE] & ~OP_SA_MASK) | op->service_action);
	return op->cdb_len;
}

static enum sense_reason rsoc_one(struct scsi_task *task, enum rsoc_options options,
				  bool rctd)
{
	uint8_t opcode = task->cdb[3];
	int sa = be16_get(task->cdb + 4);
	bool has_sa = scsi_opcode_has_service_actions(opcode);

	/* SPC-4 6.35.1: 001b is for opcodes without service actions and
	 * 010b for opcodes with them; the option does not fit the opcode. */
	if ((options == RSOC_OPCODE && has_sa) || (options == RSOC_OPCODE_SA && !has_sa))
		return scsi_invalid_cdb_field(&task->detail, 2, 2);
	const struct scsi_opdef *op = scsi_opdef_find(opcode, has_sa ? sa : -1);
	if (op && !scsi_opdef_served(op, task->lu))
		op = NULL;

	uint8_t resp[RSOC_ONE_HDR_LEN + SCSI_CDB_MAX + RSOC_TIMEOUTS_LEN];
	size_t len = RSOC_ONE_HDR_LEN;
	memset(resp, 0, len);
	resp[1] = (uint8_t)((rctd ? RSOC_ONE_CTDP : 0) |
			    (op ? RSOC_SUPPORTED : RSOC_NOT_SUPPORTED));
	if (op) {
		be16_put(resp + 2, op->cdb_len);
		len += rsoc_put_usage(op, resp + len);
	}
	if (rctd)
		len += rsoc_put_timeouts(resp + len);
	scsi_task_reply(task, resp, len);
	return SENSE_NONE;
}

enum sense_reason spc_report_supported_opcodes(struct scsi_task *task)
{
	bool rctd = task->cdb[2] & RSOC_CDB_RCTD;
	unsigned options = task->cdb[2] & RSOC_CDB_OPTIONS;
	switch (options) {
	case RSOC_ALL:
		return rsoc_all(task, rctd);
	case RSOC_OPCODE:
	case RSOC_OPCODE_SA:
	case RSOC_OPCODE_ANY_SA:
		return rsoc_one(task, (enum rsoc_options)options, rctd);
	default:
		return scsi_invalid_cdb_field(&task->detail, 2, 2);
	}
}
