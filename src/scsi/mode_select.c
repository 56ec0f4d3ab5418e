/* MODE SELECT (6) and (10), SPC-4 6.9 and 6.10: the parameter list is a
 * mode parameter header, an optional block descriptor and mode pages. Only
 * the bits mode.c lists as changeable may differ from the current values;
 * the whole list is checked before anything is changed. */
#include <string.h>

#include "util/be.h"
#include "scsi/handlers.h"
#include "scsi/mode.h"
#include "scsi/nexus.h"
#include "scsi/opcodes.h"
#include "scsi/task.h"

#define MS_PF 0x10
#define MS_PAGE_PS 0x80  /* reserved in MODE SELECT (SPC-4 7.5.7) */
#define MS_PAGE_SPF 0x40 /* sub_page format: lunar's pages have no subpages */
#define MS_PAGE_CODE 0x3F
#define MS_LONGLBA 0x01

/* The parameter list as the transport delivered it. */
struct ms_list {
	const uint8_t *p;
	uint32_t len;
	bool ten;
};

static int ms_left_most_bit(uint8_t bits)
{
	int bit = 7;
	while (!(bits & (1u << bit)))
		bit--;
	return bit;
}

/* SPC-4 7.5.5 mode parameter header: MODE DATA LENGTH is reserved for
 * MODE SELECT, MEDIUM TYPE is 00h for SBC devices (SBC-3 6.4.1), and the
 * DEVICE-SPECIFIC PARAMETER (WP, DPOFUA) is ignored (SBC-3 6.4.1). */
static enum sense_reason ms_check_header(struct scsi_task *task, const struct ms_list *l,
					 size_t *bd_len, bool *longlba)
{
	size_t hdr = l->ten ? 8 : 4;
	if (l->len < hdr)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	unsigned medium_type = l->ten ? 2 : 1;
	if (l->p[medium_type])
		return scsi_invalid_param_field(&task->detail, medium_type, -1);
	*longlba = false;
	if (l->ten) {
		uint8_t reserved = l->p[4] & (uint8_t)~MS_LONGLBA;
		if (reserved)
			return scsi_invalid_param_field(&task->detail, 4,
							ms_left_most_bit(reserved));
		if (l->p[5])
			return scsi_invalid_param_field(&task->detail, 5,
							ms_left_most_bit(l->p[5]));
		*longlba = l->p[4] & MS_LONGLBA;
	}
	*bd_len = l->ten ? be16_get(l->p + 6) : l->p[3];
	if (*bd_len != 0 && *bd_len != (*longlba ? 16u : 8u))
		return scsi_invalid_param_field(&task->detail, l->ten ? 6 : 3, -1);
	if (hdr + *bd_len > l->len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	return SENSE_NONE;
}

/* SBC-3 6.4.2: the capacity and block size cannot be changed, so a block
 * descriptor must state the current ones; NUMBER OF LOGICAL BLOCKS 0 means
 * "no change". */
static enum sense_reason ms_check_block_descriptor(struct scsi_task *task, const uint8_t *bd,
						   size_t off, bool longlba)
{
	const struct scsi_lu *lu = task->lu;
	uint64_t blocks = longlba ? be64_get(bd) : be32_get(bd);
	uint64_t current = longlba || lu->nblocks <= UINT32_MAX ? lu->nblocks : UINT32_MAX;
	if (blocks != 0 && blocks != current)
		return scsi_invalid_param_field(&task->detail, off, -1);
	size_t reserved_off = longlba ? 8 : 4, reserved_len = longlba ? 4 : 1;
	for (size_t i = reserved_off; i < reserved_off + reserved_len; i++)
		if (bd[i])
			return scsi_invalid_param_field(&task->detail, off + i,
							ms_left_most_bit(bd[i]));
	size_t bl_off = longlba ? 12 : 5;
	uint32_t block_len = longlba ? be32_get(bd + bl_off) : be24_get(bd + bl_off);
	if (block_len != lu->block_size)
		return scsi_invalid_param_field(&task->detail, off + bl_off, -1);
	return SENSE_NONE;
}

/* SPC-4 7.5.7: one page in page_0 format at off; *page_len gets its length. */
static enum sense_reason ms_check_page(struct scsi_task *task, const struct ms_list *l,
				       size_t off, size_t *page_len)
{
	if (off + 2 > l->len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	const uint8_t *page = l->p + off;
	if (page[0] & MS_PAGE_PS)
		return scsi_invalid_param_field(&task->detail, off, 7);
	if (page[0] & MS_PAGE_SPF)
		return scsi_invalid_param_field(&task->detail, off, 6);
	uint8_t code = page[0] & MS_PAGE_CODE;
	uint8_t current[MODE_PAGE_MAX], changeable[MODE_PAGE_MAX];
	size_t len = mode_page_build(task->lu, code, PC_CURRENT, current);
	if (len == 0)
		return scsi_invalid_param_field(&task->detail, off, 5);
	if (page[1] != len - 2)
		return scsi_invalid_param_field(&task->detail, off + 1, -1);
	if (off + len > l->len)
		return SENSE_PARAM_LIST_LENGTH_ERROR;
	mode_page_build(task->lu, code, PC_CHANGEABLE, changeable);
	for (size_t i = 2; i < len; i++) {
		uint8_t bad = (uint8_t)((page[i] ^ current[i]) & ~changeable[i]);
		if (bad)
			return scsi_invalid_param_field(&task->detail, off + i,
							ms_left_most_bit(bad));
	}
	*page_len = len;
	return SENSE_NONE;
}

enum sense_reason spc_mode_select(struct scsi_task *task)
{
	/* PF 0 would mean vendor-specific pages, of which lunar has none. */
	if (!(task->cdb[1] & MS_PF))
		return scsi_invalid_cdb_field(&task->detail, 1, 4);
	struct ms_list l = {
		.p = task->buf,
		.len = scsi_task_data_out_sent(task),
		.ten = task->op->cdb_len == 10,
	};
	size_t bd_len = 0;
	bool longlba = false;
	enum sense_reason r = ms_check_header(task, &l, &bd_len, &longlba);
	if (r != SENSE_NONE)
		return r;
	size_t pages = (l.ten ? 8u : 4u) + bd_len;
	if (bd_len) {
		r = ms_check_block_descriptor(task, l.p + pages - bd_len, pages - bd_len, longlba);
		if (r != SENSE_NONE)
			return r;
	}
	size_t page_len = 0;
	for (size_t off = pages; off < l.len; off += page_len) {
		r = ms_check_page(task, &l, off, &page_len);
		if (r != SENSE_NONE)
			return r;
	}
	/* Every page of the list takes effect at once: one update of the
	 * LU's mode word. */
	uint32_t mask = 0, bits = 0;
	for (size_t off = pages; off < l.len; off += l.p[off + 1] + 2u)
		mode_page_collect(l.p[off] & MS_PAGE_CODE, l.p + off, &mask, &bits);
	scsi_lu_mode_change(task->lu, mask, bits);
	/* SPC-4: the pages are the LU's, shared by every I_T nexus, so the
	 * others learn of the change through MODE PARAMETERS CHANGED. */
	if (l.len > pages)
		scsi_ua_establish_others(task->nexus, task->lu->lun, SCSI_UA_MODE_CHANGED);
	return SENSE_NONE;
}
