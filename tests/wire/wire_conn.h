/* Initiator side of the raw-wire tester: one TCP connection to a target,
 * hand-built initiator PDUs, and a minimal normal-session login. Every read
 * and write on the socket is bounded by WIRE_IO_TIMEOUT_S. */
#ifndef LUNAR_WIRE_CONN_H
#define LUNAR_WIRE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iscsi/pdu.h"

#define WIRE_IO_TIMEOUT_S 5
#define WIRE_INITIATOR_NAME "iqn.2026-11.org.lunar:wire-test"
/* What this tool declares as its own MaxRecvDataSegmentLength by default. */
#define WIRE_OUR_MRDSL 65536u

struct wire_target {
	const char *host, *port, *name;
	const char *source;      /* local address to connect from; NULL: the kernel's choice */
	uint64_t lun;            /* SAM LUN, encoded as in bytes 8-15 */
};

/* What a scenario logs in with: the session type and the operational
 * keys it proposes (RFC 7143 §13). */
struct wire_login_params {
	bool discovery;
	uint32_t our_mrdsl;      /* the MaxRecvDataSegmentLength we declare */
	uint32_t max_burst, first_burst, max_outstanding_r2t;
	bool initial_r2t, immediate_data;
};

/* ImmediateData=Yes, InitialR2T=No, FirstBurstLength 64 KiB,
 * MaxBurstLength 256 KiB, MaxOutstandingR2T 1, MaxRecvDataSegmentLength 64 KiB. */
void wire_login_params_default(struct wire_login_params *p);

/* Session state the tool keeps as an initiator (RFC 7143 §4.2.2). */
struct wire_conn {
	int fd;
	const struct wire_target *target;
	uint8_t isid[6];
	uint32_t next_itt;
	uint32_t cmdsn, exp_statsn, max_cmdsn;
	/* What the target declared during login, RFC 7143 §13. */
	uint32_t target_mrdsl, first_burst, max_burst, max_outstanding_r2t;
	bool immediate_data, initial_r2t;
	uint32_t our_mrdsl;
	/* RFC 7143 §4.2.2.1: MaxCmdSN never goes back. Counted over every
	 * PDU received after login, with the first such step. */
	unsigned max_cmdsn_regressions;
	uint32_t regressed_from, regressed_to;
};

/* A received PDU; data is malloc'd (NULL when data_len is 0). */
struct wire_pdu {
	uint8_t bhs[ISCSI_BHS_LEN];
	uint8_t *data;
	uint32_t data_len;
};

enum wire_io {
	WIRE_IO_OK,
	WIRE_IO_CLOSED,          /* EOF or reset by the peer */
	WIRE_IO_TIMEOUT,
	WIRE_IO_ERROR,
};

const char *wire_io_name(enum wire_io r);

/* Opens a TCP connection; false (with why) if it cannot. */
bool wire_connect(struct wire_conn *c, const struct wire_target *t, char *why, size_t why_len);
/* Binds fd to t->source, if set, before it connects. */
bool wire_bind_source(int fd, const struct wire_target *t, char *why, size_t why_len);
void wire_close(struct wire_conn *c);

enum wire_io wire_send(struct wire_conn *c, const void *buf, size_t len);
/* Sends a BHS followed by a data segment padded to 4 bytes. */
enum wire_io wire_send_pdu(struct wire_conn *c, const uint8_t bhs[ISCSI_BHS_LEN], const void *data,
			   uint32_t data_len);
/* Receives one whole PDU (no digests), waiting at most timeout_ms. Updates
 * exp_statsn/max_cmdsn from it. */
enum wire_io wire_recv_pdu(struct wire_conn *c, struct wire_pdu *p, int timeout_ms);
void wire_pdu_free(struct wire_pdu *p);
/* Like wire_recv_pdu but answers target pings (NOP-In with a TTT) and skips
 * Async Messages, so the caller sees only replies to what it sent. */
enum wire_io wire_recv_reply(struct wire_conn *c, struct wire_pdu *p, int timeout_ms);
/* Waits up to timeout_ms for the peer to close, discarding what it sends. */
enum wire_io wire_wait_close(struct wire_conn *c, int timeout_ms);

/* Initiator BHS builders (RFC 7143 §11.3, §11.7, §11.12, §11.18). */
void wire_build_login(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint8_t flags,
		      uint32_t itt, uint32_t data_len);
void wire_build_scsi_cmd(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
			 bool read, bool write, uint32_t edtl, const uint8_t *cdb, size_t cdb_len,
			 uint32_t data_len);
void wire_build_data_out(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
			 uint32_t ttt, uint32_t datasn, uint32_t offset, uint32_t len, bool final);
void wire_build_nop_out(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
			uint32_t ttt, bool immediate, uint32_t data_len);
/* RFC 7143 §11.10: F set; CmdSN is the connection's current one. */
void wire_build_text(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
		     uint32_t ttt, bool immediate, uint32_t data_len);
/* RFC 7143 §11.14, immediate, CID 0 (the only connection). */
void wire_build_logout(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
		       uint8_t reason);
/* RFC 7143 §11.5, immediate. */
void wire_build_tmf(uint8_t bhs[ISCSI_BHS_LEN], const struct wire_conn *c, uint32_t itt,
		    uint8_t function, uint32_t ref_itt, uint32_t ref_cmdsn);

/* Login flag byte: T, CSG, NSG (RFC 7143 §11.12.1). */
static inline uint8_t wire_login_flags(bool transit, unsigned csg, unsigned nsg)
{
	return (uint8_t)((transit ? 0x80u : 0) | (csg & 3u) << 2 | (nsg & 3u));
}

/* Appends "key=value\0" to a text buffer; false if it does not fit. */
bool wire_text_add(char *buf, size_t cap, uint32_t *len, const char *key, const char *value);
/* Finds key in a text data segment; copies its value into out. */
bool wire_text_get(const uint8_t *data, uint32_t len, const char *key, char *out, size_t out_len);

/* Connects and logs in a normal session, security then operational
 * stage, and reads back the target's declarations. */
bool wire_login(struct wire_conn *c, const struct wire_target *t, char *why, size_t why_len);
/* The same with the scenario's session type and keys. */
bool wire_login_with(struct wire_conn *c, const struct wire_target *t,
		     const struct wire_login_params *lp, char *why, size_t why_len);

#endif
