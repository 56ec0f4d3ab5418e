/* The opcode table: everything the core knows about each command it serves.
 * Dispatch, CDB validation and REPORT SUPPORTED OPERATION CODES all read
 * this one table. Ordering between commands is the task set's (SAM-5 8.6):
 * SBC-3 asks for no ordering by overlapping LBA ranges, except that
 * COMPARE AND WRITE and ORWRITE are atomic against other writes to their
 * blocks, which the LU's range lock sees to (range_lock.h). */
#ifndef LUNAR_SCSI_OPCODES_H
#define LUNAR_SCSI_OPCODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"

/* How the transfer length follows from the CDB. */
enum op_xfer {
	OP_XFER_NONE,
	OP_XFER_ALLOC,  /* count: allocation length of data-in, capped at resp_max */
	OP_XFER_BLOCKS, /* count: logical blocks moved in dir */
	OP_XFER_RANGE,  /* count: logical blocks touched, no data (0: to the last LBA) */
	OP_XFER_VERIFY, /* count: logical blocks; data-out only when BYTCHK = 01b */
	OP_XFER_PARAM,  /* count: parameter list length of data-out */
};

enum op_flags {
	OP_UA_EXEMPT = 1u << 0,     /* SAM-5 5.14: runs with a unit attention pending */
	OP_ANY_LUN = 1u << 1,       /* SPC-4 4.6.2: answers for a LUN that is absent */
	OP_WRITES_MEDIUM = 1u << 2, /* refused on a read-only LU */
	OP_LEN0_IS_256 = 1u << 3,   /* SBC-3 5.15, 5.35: 6-byte READ/WRITE */
	OP_EMPTY_IS_GOOD = 1u << 4, /* no blocks to move: GOOD without I/O */
	OP_ASYNC = 1u << 5,         /* the handler completes the task itself */
	OP_BYTCHK = 1u << 6,        /* BYTCHK in byte 1 bits 2:1 (SBC-3 VERIFY) */
	OP_DATA_TWICE = 1u << 7,    /* data-out: two blocks per block (SBC-4 5.3) */
	OP_ONE_BLOCK_OUT = 1u << 8, /* one logical block of data-out for any range (WRITE SAME) */
	OP_NDOB = 1u << 9,          /* NDOB in byte 1 bit 0: no data-out (SBC-3 WRITE SAME(16)) */
	OP_THIN_ONLY = 1u << 10,    /* served by thin LUs only (scsi_opdef_served) */
	OP_ATOMIC_ONLY = 1u << 11,  /* served where the store writes atomically */
};

/* The conflict column: what a command may do while another I_T nexus
 * holds a persistent reservation (SPC-4 5.12.1 table 61, SBC-3 4.16.2
 * table 13). The zero value conflicts, so a row that says nothing is
 * refused rather than let through. */
enum op_pr {
	OP_PR_CONFLICT, /* refused under every reservation type */
	OP_PR_READ,     /* allowed under Write Exclusive types, refused under Exclusive Access */
	OP_PR_ALLOWED,  /* never refused */
};

struct op_field {
	uint8_t off, size; /* size 0: the CDB has no such field */
};

typedef enum sense_reason (*scsi_handler)(struct scsi_task *task);

struct scsi_opdef {
	uint8_t opcode;
	int16_t service_action; /* -1: the opcode has none */
	const char *name;
	uint8_t cdb_len;
	/* Per CDB byte, the bits the command accepts (SPC-4 4.5.2.4.2: any other
	 * set bit is an invalid field). The control byte accepts none: NACA and
	 * LINK are not supported. */
	uint8_t usage[SCSI_CDB_MAX];
	enum scsi_dir dir;
	enum op_xfer xfer;
	struct op_field lba, count;
	uint16_t resp_max; /* OP_XFER_ALLOC: the largest response built;
			    * OP_XFER_PARAM: if not 0, the longest parameter
			    * list accepted */
	unsigned flags;
	scsi_handler handler;
	enum op_pr pr;
};

extern const struct scsi_opdef scsi_opdefs[];
extern const size_t scsi_nopdefs;

/* SPC-4 4.2.5.2: the SERVICE ACTION field of commands that carry one. */
#define OP_SA_BYTE 1
#define OP_SA_MASK 0x1F

/* REPORT SUPPORTED OPERATION CODES (SPC-4 6.35.2): a 4-byte header and a
 * 20-byte descriptor (with command timeouts) for up to 64 table entries. */
#define RSOC_DESC_LEN 8
#define RSOC_TIMEOUTS_LEN 12
#define RSOC_MAX_ENTRIES 80
#define RSOC_RESP_MAX (4 + RSOC_MAX_ENTRIES * (RSOC_DESC_LEN + RSOC_TIMEOUTS_LEN))

/* The entry for opcode and service_action (-1 for an opcode without
 * service actions), or NULL. */
const struct scsi_opdef *scsi_opdef_find(uint8_t opcode, int service_action);
/* True when the table serves opcode with service actions. */
bool scsi_opcode_has_service_actions(uint8_t opcode);

/* Whether lu serves op (OP_THIN_ONLY, OP_ATOMIC_ONLY; a NULL lu: a command
 * that needs none). One that does not answers as if the row did not
 * exist, and REPORT SUPPORTED OPERATION CODES leaves it out for that LU. */
bool scsi_opdef_served(const struct scsi_opdef *op, const struct scsi_lu *lu);
/* op is in the table but lu does not serve it: the sense of a row that does
 * not exist (an invalid service action, or an invalid opcode). */
enum sense_reason scsi_opdef_not_served(const struct scsi_opdef *op, struct scsi_sense_detail *detail);
/* Finds the entry for cdb. On failure *op is NULL and the reason says why
 * (INVALID_OPCODE, or INVALID_FIELD_IN_CDB for an unknown service action). */
enum sense_reason scsi_opdef_lookup(const uint8_t *cdb, const struct scsi_opdef **op,
				    struct scsi_sense_detail *detail);
/* Checks cdb against op's usage mask; points detail at the first bad bit. */
enum sense_reason scsi_cdb_check_usage(const struct scsi_opdef *op, const uint8_t *cdb,
				       struct scsi_sense_detail *detail);
/* Sets detail to point at a CDB byte (and bit, or -1 for the whole field). */
enum sense_reason scsi_invalid_cdb_field(struct scsi_sense_detail *detail, unsigned byte,
					 int bit);
/* The same for a byte of the parameter list (data-out). */
enum sense_reason scsi_invalid_param_field(struct scsi_sense_detail *detail, unsigned byte,
					   int bit);

#endif
