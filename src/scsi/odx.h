/* Windows ODX token copy (SBC-3 5.9 POPULATE TOKEN, 5.46 WRITE USING
 * TOKEN, SPC-4 6.18.6 RECEIVE ROD TOKEN INFORMATION). The parameter list
 * parsers are pure (odx_parse.c); the commands run in odx.c, over the ROD
 * token registry (rod_token.h) and the copy engine (xcopy.h). */
#ifndef LUNAR_SCSI_ODX_H
#define LUNAR_SCSI_ODX_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/rod_token.h"
#include "scsi/scsi.h"
#include "scsi/sense.h"

#define ODX_SA_POPULATE_TOKEN 0x10
#define ODX_SA_WRITE_USING_TOKEN 0x11
#define ODX_SA_RECEIVE_ROD_TOKEN_INFO 0x07

#define ODX_RANGE_LEN 16
#define ODX_PT_HEADER_LEN 16
#define ODX_WUT_HEADER_LEN 536
#define ODX_PT_PARAM_MAX (ODX_PT_HEADER_LEN + ROD_MAX_RANGES * ODX_RANGE_LEN)
#define ODX_WUT_PARAM_MAX (ODX_WUT_HEADER_LEN + ROD_MAX_RANGES * ODX_RANGE_LEN)
/* Where the parameter lists keep their range descriptor list length. */
#define ODX_PT_LIST_LEN_AT 14
#define ODX_WUT_LIST_LEN_AT 534
/* VPD 8Fh MAXIMUM TOKEN TRANSFER SIZE, in logical blocks: what one
 * POPULATE TOKEN may represent and one WRITE USING TOKEN may write. */
#define ODX_MAX_TOKEN_BLOCKS (1u << 16)
/* RECEIVE ROD TOKEN INFORMATION: header, sense, token descriptor. */
#define ODX_RRTI_RESP_MAX (32 + SCSI_ODX_SENSE_MAX + 4 + 2 + ROD_TOKEN_LEN)

struct odx_populate {
	bool immed;
	bool rtv;              /* ROD TYPE is valid */
	uint32_t rod_type;
	uint32_t timeout_s;    /* INACTIVITY TIMEOUT; 0: the default */
	unsigned nranges;
	struct rod_range ranges[ROD_MAX_RANGES];
};

struct odx_write {
	bool immed;
	bool del_tkn;          /* delete the token once written (SBC-4) */
	uint64_t offset;       /* OFFSET INTO ROD, in logical blocks */
	const uint8_t *token;  /* ROD_TOKEN_LEN bytes inside the list */
	unsigned nranges;
	struct rod_range ranges[ROD_MAX_RANGES];
};

/* Parse a parameter list of len bytes (SBC-3 tables 74 and 175). On error
 * detail points at the field to blame where one is. */
enum sense_reason odx_parse_populate(const uint8_t *p, uint32_t len, struct odx_populate *out,
				     struct scsi_sense_detail *detail);
enum sense_reason odx_parse_write(const uint8_t *p, uint32_t len, struct odx_write *out,
				  struct scsi_sense_detail *detail);
/* Checks block device range descriptors against an LU of lu_nblocks:
 * each within it, none overlapping another (SBC-3 5.9.3), their sum at
 * most ODX_MAX_TOKEN_BLOCKS, which goes to *total. list_at: where the
 * descriptors start in the parameter list, for the field pointer. */
enum sense_reason odx_check_ranges(const struct rod_range *r, unsigned n, uint64_t lu_nblocks,
				   unsigned list_at, uint64_t *total,
				   struct scsi_sense_detail *detail);

/* The third-party copy VPD descriptors of ODX (SPC-4 7.8.17.x, SBC-3
 * 6.6.x): block device ROD limits, ROD token features, supported ROD
 * types; written at p, returns their length (at most ODX_VPD_MAX). */
#define ODX_VPD_MAX 340
size_t odx_vpd_descriptors(uint8_t *p);

/* OP_ASYNC handlers. */
enum sense_reason sbc_populate_token(struct scsi_task *task);
enum sense_reason sbc_write_using_token(struct scsi_task *task);
enum sense_reason spc_receive_rod_token_info(struct scsi_task *task);

#endif
