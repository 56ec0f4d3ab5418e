/* PDU-level building blocks for the transport scenarios: SCSI commands with
 * a chosen CmdSN and flags, Data-Out bursts, waiting for one given reply,
 * and proving that nothing else is queued behind it. */
#ifndef LUNAR_WIRE_XFER_H
#define LUNAR_WIRE_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire_conn.h"
#include "wire_scsi.h"

/* RFC 7143 §4.2.2.1 gives no time for "silently ignored"; 2 s of silence
 * is long against loopback round trips. */
#define WIRE_SILENCE_MS 2000

/* SAM task attributes as iSCSI carries them (RFC 7143 §11.3.1). */
#define WIRE_ATTR_SIMPLE 1
#define WIRE_ATTR_ORDERED 2

struct wire_cmd {
	uint32_t itt, cmdsn;
	const uint8_t *cdb;
	size_t cdb_len;
	enum wire_dir dir;
	uint32_t edtl;
	const uint8_t *imm;      /* immediate data, imm_len bytes */
	uint32_t imm_len;
	bool final;              /* F: no unsolicited Data-Out follows */
	bool immediate;          /* I: outside the CmdSN order */
	uint8_t attr;
};

enum wire_io wire_send_cmd(struct wire_conn *c, const struct wire_cmd *cmd);
/* Sends buf[offset, offset + len) as Data-Out PDUs of at most seg bytes,
 * DataSN from 0, F on the last (RFC 7143 §11.7). */
enum wire_io wire_send_burst(struct wire_conn *c, uint32_t itt, uint32_t ttt, const uint8_t *buf,
			     uint32_t offset, uint32_t len, uint32_t seg);
/* Receives the next reply (pings answered); false with why unless it has
 * this opcode and ITT. On true the caller frees p. */
bool wire_expect(struct wire_conn *c, struct wire_pdu *p, uint8_t opcode, uint32_t itt,
		 char *why, size_t why_len);
/* An immediate NOP-Out ping whose NOP-In must be the very next PDU: the
 * target has nothing else queued for this connection. */
bool wire_nothing_pending(struct wire_conn *c, char *why, size_t why_len);
/* True when no PDU arrives for ms; else why names what came. */
bool wire_silent(struct wire_conn *c, int ms, char *why, size_t why_len);
/* wire_session_open, then READ CAPACITY. */
bool wire_session_open_capacity(struct wire_conn *c, const struct wire_target *t,
			    const struct wire_login_params *lp, uint64_t *blocks, uint32_t *bs,
			    char *why, size_t why_len);
/* Whether len bytes (whole blocks, at most a WRITE(10)'s 65535) fit at lba
 * of a LUN of blocks blocks of bs bytes; else false, with why. */
bool wire_lba_room(uint64_t blocks, uint32_t lba, uint32_t len, uint32_t bs, char *why,
		   size_t why_len);
void wire_fill_pattern(uint8_t *buf, uint32_t len, uint8_t seed);
/* WRITE(10) / READ(10) of len bytes at lba through wire_scsi_good. */
bool wire_write_lba(struct wire_conn *c, uint32_t lba, const uint8_t *buf, uint32_t len,
		    uint32_t bs, char *why, size_t why_len);
bool wire_read_lba(struct wire_conn *c, uint32_t lba, uint8_t *buf, uint32_t len, uint32_t bs,
		   char *why, size_t why_len);

#endif
