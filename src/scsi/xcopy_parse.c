/* The EXTENDED COPY (LID1) parameter list (SPC-4 6.3.1): a 16-byte
 * header, the CSCD descriptors, the segment descriptors, inline data. */
#include <string.h>

#include "scsi/opcodes.h"
#include "scsi/xcopy.h"
#include "util/be.h"

#define CSCD_LEN 32        /* SPC-4 6.3.6.1: types E0h-E9h */
#define CSCD_LONG_LEN 64   /* the other types */
#define SEG_HDR_LEN 4      /* type, flags, DESCRIPTOR LENGTH */
#define SEG_B2B_LEN 0x18   /* DESCRIPTOR LENGTH of a block to block segment */
#define PERIPHERAL_MASK 0x1F

static enum sense_reason parse_cscd(const uint8_t *d, unsigned at, struct xcopy_cscd *c,
				    struct scsi_sense_detail *detail)
{
	/* SPC-4 6.3.6.1: only block devices (peripheral type 00h) are served;
	 * LU ID TYPE and NUL are ignored (SPC-4 made them obsolete). */
	if (d[1] & PERIPHERAL_MASK)
		return scsi_invalid_param_field(detail, at + 1, 4);
	/* SPC-4 6.3.6.4: a designation descriptor of 20 bytes. */
	const uint8_t *desig = d + 4;
	if (desig[3] > sizeof(c->desig))
		return scsi_invalid_param_field(detail, at + 7, -1);
	c->desig_type = desig[1] & 0x0F;
	c->desig_len = desig[3];
	memset(c->desig, 0, sizeof(c->desig));
	memcpy(c->desig, desig + 4, c->desig_len);
	c->block_size = be24_get(d + 29);
	return SENSE_NONE;
}

static enum sense_reason parse_cscds(const uint8_t *p, unsigned len, struct xcopy_list *out,
				     struct scsi_sense_detail *detail)
{
	out->ncscds = 0;
	for (unsigned at = 0; at < len;) {
		const uint8_t *d = p + at;
		unsigned dlen = d[0] >= 0xE0 && d[0] <= 0xE9 ? CSCD_LEN : CSCD_LONG_LEN;
		if (at + dlen > len)
			return SENSE_PARAM_LIST_LENGTH_ERROR;
		if (out->ncscds == XCOPY_MAX_CSCDS)
			return SENSE_TOO_MANY_TARGET_DESCRIPTORS;
		if (d[0] != XCOPY_CSCD_ID)
			return SENSE_UNSUPPORTED_TARGET_DESCRIPTOR_TYPE;
		enum sense_reason r = parse_cscd(d, XCOPY_HEADER_LEN + at,
						 &out->cscds[out->ncscds], detail);
		if (r != SENSE_NONE)
			return r;
		out->ncscds++;
		at += dlen;
	}
	return SENSE_NONE;
}

static enum sense_reason parse_segments(const uint8_t *p, unsigned base, unsigned len,
					struct xcopy_list *out, struct scsi_sense_detail *detail)
{
	out->nsegments = 0;
	for (unsigned at = 0; at < len;) {
		const uint8_t *d = p + at;
		if (at + SEG_HDR_LEN > len)
			return SENSE_PARAM_LIST_LENGTH_ERROR;
		unsigned dlen = SEG_HDR_LEN + be16_get(d + 2);
		if (at + dlen > len)
			return SENSE_PARAM_LIST_LENGTH_ERROR;
		if (out->nsegments == XCOPY_MAX_SEGMENTS)
			return SENSE_TOO_MANY_SEGMENT_DESCRIPTORS;
		if (d[0] != XCOPY_SEG_B2B)
			return SENSE_UNSUPPORTED_SEGMENT_DESCRIPTOR_TYPE;
		if (dlen != SEG_HDR_LEN + SEG_B2B_LEN)
			return scsi_invalid_param_field(detail, base + at + 2, -1);
		struct xcopy_segment *s = &out->segments[out->nsegments++];
		s->src = be16_get(d + 4);
		s->dst = be16_get(d + 6);
		s->nblocks = be16_get(d + 10);
		s->src_lba = be64_get(d + 12);
		s->dst_lba = be64_get(d + 20);
		/* SPC-4 6.3.7.1: an index naming no CSCD is a copy target the
		 * copy manager cannot reach. */
		if (s->src >= out->ncscds || s->dst >= out->ncscds)
			return SENSE_COPY_TARGET_UNREACHABLE;
		at += dlen;
	}
	return SENSE_NONE;
}

enum sense_reason xcopy_parse(const uint8_t *p, uint32_t len, struct xcopy_list *out,
			      struct scsi_sense_detail *detail)
{
	if (len < XCOPY_HEADER_LEN)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	uint32_t cscd_len = be16_get(p + 2);
	uint32_t seg_len = be32_get(p + 8);
	uint32_t inline_len = be32_get(p + 12);
	/* SPC-4 6.3.1: lists longer than the MAXIMUM DESCRIPTOR LIST LENGTH,
	 * inline data beyond its maximum (0), or lists that do not fit the
	 * parameter list are a PARAMETER LIST LENGTH ERROR. */
	if ((uint64_t)cscd_len + seg_len > XCOPY_MAX_DESC_LIST || inline_len != 0)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	if (XCOPY_HEADER_LEN + cscd_len + seg_len > len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	enum sense_reason r = parse_cscds(p + XCOPY_HEADER_LEN, cscd_len, out, detail);
	if (r != SENSE_NONE)
		return r;
	return parse_segments(p + XCOPY_HEADER_LEN + cscd_len, XCOPY_HEADER_LEN + cscd_len,
			      seg_len, out, detail);
}
