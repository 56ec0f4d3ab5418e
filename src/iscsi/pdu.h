/* iSCSI PDU codec (RFC 7143 §11): the 48-byte Basic Header Segment to and
 * from host structs. Pure functions: no I/O, no allocation. */
#ifndef LUNAR_ISCSI_PDU_H
#define LUNAR_ISCSI_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISCSI_BHS_LEN 48
#define ISCSI_DIGEST_LEN 4
#define ISCSI_RSVD_TAG 0xffffffffu
/* Largest data segment the 24-bit DataSegmentLength can describe. */
#define ISCSI_MAX_DSL 0xffffffu

/* Opcodes, RFC 7143 §11.1.1. */
enum iscsi_opcode {
	/* initiator to target */
	ISCSI_OP_NOP_OUT = 0x00,
	ISCSI_OP_SCSI_CMD = 0x01,
	ISCSI_OP_TMF_REQ = 0x02,
	ISCSI_OP_LOGIN_REQ = 0x03,
	ISCSI_OP_TEXT_REQ = 0x04,
	ISCSI_OP_DATA_OUT = 0x05,
	ISCSI_OP_LOGOUT_REQ = 0x06,
	ISCSI_OP_SNACK_REQ = 0x10,
	/* target to initiator */
	ISCSI_OP_NOP_IN = 0x20,
	ISCSI_OP_SCSI_RSP = 0x21,
	ISCSI_OP_TMF_RSP = 0x22,
	ISCSI_OP_LOGIN_RSP = 0x23,
	ISCSI_OP_TEXT_RSP = 0x24,
	ISCSI_OP_DATA_IN = 0x25,
	ISCSI_OP_LOGOUT_RSP = 0x26,
	ISCSI_OP_R2T = 0x31,
	ISCSI_OP_ASYNC_MSG = 0x32,
	ISCSI_OP_REJECT = 0x3f,
};

/* Reject reasons, RFC 7143 §11.17.1. */
enum iscsi_reject_reason {
	ISCSI_REJECT_DATA_DIGEST = 0x02,
	ISCSI_REJECT_SNACK = 0x03,
	ISCSI_REJECT_PROTOCOL_ERROR = 0x04,
	ISCSI_REJECT_CMD_NOT_SUPPORTED = 0x05,
	ISCSI_REJECT_IMMEDIATE_CMD = 0x06,
	ISCSI_REJECT_TASK_IN_PROGRESS = 0x07,
	ISCSI_REJECT_INVALID_DATA_ACK = 0x08,
	ISCSI_REJECT_INVALID_PDU_FIELD = 0x09,
	ISCSI_REJECT_OUT_OF_RESOURCES = 0x0a,
	ISCSI_REJECT_NEGOTIATION_RESET = 0x0b,
	ISCSI_REJECT_WAITING_FOR_LOGOUT = 0x0c,
};

/* Login status class and detail, RFC 7143 §11.13.5, as (class << 8 | detail). */
enum iscsi_login_status {
	ISCSI_LOGIN_SUCCESS = 0x0000,
	ISCSI_LOGIN_TARGET_MOVED_TEMP = 0x0101,
	ISCSI_LOGIN_TARGET_MOVED_PERM = 0x0102,
	ISCSI_LOGIN_INITIATOR_ERROR = 0x0200,
	ISCSI_LOGIN_AUTH_FAILED = 0x0201,
	ISCSI_LOGIN_NOT_AUTHORIZED = 0x0202,
	ISCSI_LOGIN_TARGET_NOT_FOUND = 0x0203,
	ISCSI_LOGIN_TARGET_REMOVED = 0x0204,
	ISCSI_LOGIN_UNSUPPORTED_VERSION = 0x0205,
	ISCSI_LOGIN_TOO_MANY_CONNECTIONS = 0x0206,
	ISCSI_LOGIN_MISSING_PARAMETER = 0x0207,
	ISCSI_LOGIN_CANT_INCLUDE_IN_SESSION = 0x0208,
	ISCSI_LOGIN_SESSION_TYPE_UNSUPPORTED = 0x0209,
	ISCSI_LOGIN_SESSION_DOES_NOT_EXIST = 0x020a,
	ISCSI_LOGIN_INVALID_DURING_LOGIN = 0x020b,
	ISCSI_LOGIN_TARGET_ERROR = 0x0300,
	ISCSI_LOGIN_SERVICE_UNAVAILABLE = 0x0301,
	ISCSI_LOGIN_OUT_OF_RESOURCES = 0x0302,
};

/* Login stages, RFC 7143 §11.12.3. */
enum iscsi_login_stage {
	ISCSI_STAGE_SECURITY = 0,
	ISCSI_STAGE_OPERATIONAL = 1,
	ISCSI_STAGE_FULL_FEATURE = 3,
};

/* Why a BHS could not be decoded. */
enum iscsi_parse_error {
	ISCSI_PARSE_OK = 0,
	ISCSI_PARSE_BAD_OPCODE,      /* not an initiator opcode: Reject 0x05 */
	ISCSI_PARSE_INVALID_FIELD,   /* a field holds a value the RFC forbids: Reject 0x09 */
};

/* A decoded initiator-to-target BHS. Fields common to every opcode first;
 * the union member named after the opcode holds the rest. */
struct iscsi_hdr {
	enum iscsi_opcode opcode;
	bool immediate;          /* I bit */
	bool final;              /* F bit (byte 1, bit 7) */
	uint8_t ahs_len;         /* TotalAHSLength, in 4-byte words */
	uint32_t data_len;       /* DataSegmentLength, bytes (without padding) */
	uint64_t lun;            /* bytes 8-15, big-endian decoded */
	uint32_t itt;            /* Initiator Task Tag */
	union {
		struct {
			bool read, write;
			uint8_t attr;    /* enum scsi_task_attr */
			uint32_t edtl;   /* Expected Data Transfer Length */
			uint32_t cmdsn, exp_statsn;
			uint8_t cdb[16];
		} cmd;
		struct {
			uint32_t ttt, exp_statsn, datasn, offset;
		} data_out;
		struct {
			uint32_t ttt, cmdsn, exp_statsn;
		} nop_out;
		struct {
			uint8_t function;
			uint32_t ref_itt, cmdsn, exp_statsn, ref_cmdsn, exp_datasn;
		} tmf;
		struct {
			bool cont;       /* C bit */
			uint32_t ttt, cmdsn, exp_statsn;
		} text;
		struct {
			bool transit, cont; /* T and C bits */
			uint8_t csg, nsg;
			uint8_t version_max, version_min;
			uint8_t isid[6];
			uint16_t tsih, cid;
			uint32_t cmdsn, exp_statsn;
		} login;
		struct {
			uint8_t reason;
			uint16_t cid;
			uint32_t cmdsn, exp_statsn;
		} logout;
		struct {
			uint8_t type;
			uint32_t ttt, exp_statsn, begrun, runlength;
		} snack;
	};
};

/* Decodes an initiator-to-target BHS. On error *h holds what could be
 * decoded (at least opcode, itt and the lengths). */
enum iscsi_parse_error iscsi_parse_bhs(const uint8_t bhs[ISCSI_BHS_LEN], struct iscsi_hdr *h);

/* Bytes on the wire after the BHS: AHS, header digest, padded data segment,
 * data digest. */
size_t iscsi_pdu_tail_len(const struct iscsi_hdr *h, bool header_digest, bool data_digest);
static inline uint32_t iscsi_pad4(uint32_t len)
{
	return (len + 3u) & ~3u;
}

/* Encoders for target-to-initiator PDUs. Each fills all 48 bytes. The
 * sequence numbers are what the target sends; data_len is the data segment
 * length the caller will send after the header. */
struct iscsi_scsi_rsp {
	uint32_t itt, statsn, exp_cmdsn, max_cmdsn, exp_datasn;
	uint8_t response;        /* 0x00 command completed at target */
	uint8_t status;          /* SCSI status */
	bool overflow, underflow;
	bool bidi_overflow, bidi_underflow;
	uint32_t residual, bidi_residual;
	uint32_t data_len;       /* sense: 2-byte SenseLength + sense bytes */
};
void iscsi_build_scsi_rsp(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_scsi_rsp *r);

struct iscsi_data_in {
	uint32_t itt, ttt, statsn, exp_cmdsn, max_cmdsn, datasn, offset;
	uint64_t lun;
	bool final;              /* F: last PDU of the sequence */
	bool ack;                /* A: request DataACK (ERL > 0) */
	bool has_status;         /* S: status carried in this PDU (implies final) */
	uint8_t status;
	bool overflow, underflow;
	uint32_t residual;
	uint32_t data_len;
};
void iscsi_build_data_in(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_data_in *d);

struct iscsi_r2t {
	uint32_t itt, ttt, statsn, exp_cmdsn, max_cmdsn, r2tsn, offset, length;
	uint64_t lun;
};
void iscsi_build_r2t(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_r2t *r);

struct iscsi_nop_in {
	uint32_t itt, ttt, statsn, exp_cmdsn, max_cmdsn;
	uint64_t lun;
	uint32_t data_len;
};
void iscsi_build_nop_in(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_nop_in *n);

struct iscsi_tmf_rsp {
	uint32_t itt, statsn, exp_cmdsn, max_cmdsn;
	uint8_t response;        /* RFC 7143 §11.6.1 */
};
void iscsi_build_tmf_rsp(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_tmf_rsp *r);

struct iscsi_login_rsp {
	bool transit, cont;
	uint8_t csg, nsg;
	uint8_t version_max, version_active;
	uint8_t isid[6];
	uint16_t tsih;
	uint32_t itt, statsn, exp_cmdsn, max_cmdsn;
	uint16_t status;         /* enum iscsi_login_status */
	uint32_t data_len;
};
void iscsi_build_login_rsp(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_login_rsp *r);

struct iscsi_text_rsp {
	bool final, cont;
	uint32_t itt, ttt, statsn, exp_cmdsn, max_cmdsn;
	uint64_t lun;
	uint32_t data_len;
};
void iscsi_build_text_rsp(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_text_rsp *r);

struct iscsi_logout_rsp {
	uint8_t response;        /* RFC 7143 §11.15.1 */
	uint32_t itt, statsn, exp_cmdsn, max_cmdsn;
	uint16_t time2wait, time2retain;
};
void iscsi_build_logout_rsp(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_logout_rsp *r);

struct iscsi_reject {
	uint8_t reason;          /* enum iscsi_reject_reason */
	uint32_t statsn, exp_cmdsn, max_cmdsn, datasn_r2tsn;
	uint32_t data_len;       /* the rejected BHS goes in the data segment: 48 */
};
void iscsi_build_reject(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_reject *r);

/* AsyncEvent codes, RFC 7143 §11.9.1. */
enum iscsi_async_event {
	ISCSI_ASYNC_LOGOUT_REQUEST = 1,
};

struct iscsi_async_msg {
	uint8_t event, vcode;    /* event: enum iscsi_async_event */
	uint16_t param1, param2, param3;
	uint32_t statsn, exp_cmdsn, max_cmdsn;
	uint64_t lun;
	uint32_t data_len;
};
void iscsi_build_async_msg(uint8_t bhs[ISCSI_BHS_LEN], const struct iscsi_async_msg *m);

/* Serial number arithmetic on 32-bit sequence numbers (RFC 1982, as
 * RFC 7143 §4.2.2.1 requires for CmdSN and StatSN). */
static inline bool iscsi_sn_lt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) < 0;
}
static inline bool iscsi_sn_le(uint32_t a, uint32_t b)
{
	return a == b || (int32_t)(a - b) < 0;
}

#endif
