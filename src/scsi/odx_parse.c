/* The POPULATE TOKEN and WRITE USING TOKEN parameter lists (SBC-3 5.9.2
 * table 74, 5.46.2 table 175): a header, then block device range
 * descriptors of 16 bytes (LBA, NUMBER OF LOGICAL BLOCKS, reserved). */
#include <string.h>

#include "scsi/odx.h"
#include "scsi/opcodes.h"
#include "util/be.h"

#define PT_IMMED 0x01
#define PT_RTV 0x02
#define WUT_IMMED 0x01
#define WUT_DEL_TKN 0x02

/* The descriptor list at list_len_at (its length) and what follows. */
static enum sense_reason parse_ranges(const uint8_t *p, uint32_t len, unsigned list_len_at,
				      unsigned *n, struct rod_range *ranges,
				      struct scsi_sense_detail *detail)
{
	unsigned header = list_len_at + 2;
	/* The DATA LENGTH counts the bytes after itself; a list that claims
	 * more than was sent, or less than its own header, is cut short. */
	uint32_t data_len = be16_get(p);
	if (data_len + 2u > len || data_len + 2u < header)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	uint32_t list_len = be16_get(p + list_len_at);
	if (list_len == 0 || list_len % ODX_RANGE_LEN || header + list_len > data_len + 2u)
		return scsi_invalid_param_field(detail, list_len_at, -1);
	if (list_len / ODX_RANGE_LEN > ROD_MAX_RANGES)
		return SENSE_TOO_MANY_SEGMENT_DESCRIPTORS;
	*n = list_len / ODX_RANGE_LEN;
	for (unsigned i = 0; i < *n; i++) {
		const uint8_t *d = p + header + i * ODX_RANGE_LEN;
		ranges[i].lba = be64_get(d);
		ranges[i].nblocks = be32_get(d + 8);
	}
	return SENSE_NONE;
}

enum sense_reason odx_parse_populate(const uint8_t *p, uint32_t len, struct odx_populate *out,
				     struct scsi_sense_detail *detail)
{
	if (len < ODX_PT_HEADER_LEN)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	out->immed = p[2] & PT_IMMED;
	out->rtv = p[2] & PT_RTV;
	out->timeout_s = be32_get(p + 4);
	out->rod_type = be32_get(p + 8);
	return parse_ranges(p, len, ODX_PT_LIST_LEN_AT, &out->nranges, out->ranges, detail);
}

enum sense_reason odx_parse_write(const uint8_t *p, uint32_t len, struct odx_write *out,
				  struct scsi_sense_detail *detail)
{
	if (len < ODX_WUT_HEADER_LEN)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	out->immed = p[2] & WUT_IMMED;
	out->del_tkn = p[2] & WUT_DEL_TKN;
	out->offset = be64_get(p + 8);
	out->token = p + 16;
	return parse_ranges(p, len, ODX_WUT_LIST_LEN_AT, &out->nranges, out->ranges, detail);
}

enum sense_reason odx_check_ranges(const struct rod_range *r, unsigned n, uint64_t lu_nblocks,
				   unsigned list_at, uint64_t *total,
				   struct scsi_sense_detail *detail)
{
	*total = 0;
	for (unsigned i = 0; i < n; i++) {
		if (r[i].lba > lu_nblocks || r[i].nblocks > lu_nblocks - r[i].lba)
			return SENSE_LBA_OUT_OF_RANGE;
		for (unsigned k = 0; k < i; k++) {
			if (r[i].nblocks && r[k].nblocks && r[i].lba < r[k].lba + r[k].nblocks &&
			    r[k].lba < r[i].lba + r[i].nblocks)
				return scsi_invalid_param_field(detail, list_at + i * ODX_RANGE_LEN,
								-1);
		}
		*total += r[i].nblocks;
	}
	if (*total > ODX_MAX_TOKEN_BLOCKS)
		return scsi_invalid_param_field(detail, list_at - 2, -1);
	return SENSE_NONE;
}
