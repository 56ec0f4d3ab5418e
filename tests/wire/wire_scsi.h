/* SCSI commands over a raw-wire connection: one command in flight, its
 * Data-In/R2T/Response exchange, and the status and sense it ended with. */
#ifndef LUNAR_WIRE_SCSI_H
#define LUNAR_WIRE_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire_conn.h"

#define WIRE_SCSI_GOOD 0x00
#define WIRE_SCSI_CHECK_CONDITION 0x02
#define WIRE_SENSE_ILLEGAL_REQUEST 0x5

enum wire_dir { WIRE_DIR_NONE, WIRE_DIR_READ, WIRE_DIR_WRITE };

struct wire_scsi_result {
	uint8_t response, status;
	bool has_sense;
	uint8_t sense_key, asc, ascq;
	uint32_t data_in;        /* bytes of Data-In received */
};

/* Runs one command with the connection's next CmdSN. False (with why) if
 * the exchange broke: socket error, Reject, or an unexpected PDU. */
bool wire_scsi_exec(struct wire_conn *c, const uint8_t *cdb, size_t cdb_len, enum wire_dir dir,
		    void *buf, uint32_t len, struct wire_scsi_result *res, char *why, size_t why_len);

/* Runs a command and requires GOOD status. */
bool wire_scsi_good(struct wire_conn *c, const uint8_t *cdb, size_t cdb_len, enum wire_dir dir,
		    void *buf, uint32_t len, char *why, size_t why_len);

bool wire_inquiry(struct wire_conn *c, char *why, size_t why_len);
/* Capacity in blocks (last LBA + 1) and block size, via READ CAPACITY(10)
 * or, on a LUN too large for it, READ CAPACITY(16). */
bool wire_read_capacity(struct wire_conn *c, uint64_t *blocks, uint32_t *block_size, char *why,
			size_t why_len);
void wire_cdb_rw10(uint8_t cdb[10], uint8_t opcode, uint32_t lba, uint16_t blocks);
/* What a TEST UNIT READY on c reports: 0 for GOOD, else asc << 8 | ascq of
 * its unit attention; -1 (with why) for anything else. */
int wire_tur_ua(struct wire_conn *c, char *why, size_t why_len);

/* Logs in (with lp, or the default keys when NULL) and clears pending unit
 * attentions (SAM-5 5.14: a new I_T nexus may see one on its first media
 * command) with up to 3 TEST UNIT READY. */
bool wire_session_open(struct wire_conn *c, const struct wire_target *t,
		       const struct wire_login_params *lp, char *why, size_t why_len);

#endif
