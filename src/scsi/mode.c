#include <string.h>

#include "scsi/cdb.h"
#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/task.h"

/* SPC-4 6.11 / 6.12 page control */
enum mode_pc { PC_CURRENT = 0, PC_CHANGEABLE = 1, PC_DEFAULT = 2, PC_SAVED = 3 };

#define MODE_ALL_PAGES 0x3F
#define MODE_ALL_SUBPAGES 0xFF
#define MODE_RESP_MAX 512

/* A page builder writes the whole page (header included) for page control
 * pc and returns its length. No parameter is changeable: lunar has no
 * MODE SELECT, so the changeable mask is all zeroes. */
typedef size_t (*mode_builder)(const struct scsi_lu *lu, enum mode_pc pc, uint8_t *p);

static size_t mode_page_header(uint8_t *p, uint8_t code, uint8_t len)
{
	memset(p, 0, 2u + len);
	p[0] = code;
	p[1] = len;
	return 2u + len;
}

/* SBC-3 6.4.5 */
static size_t mode_rw_error_recovery(const struct scsi_lu *lu, enum mode_pc pc, uint8_t *p)
{
	size_t len = mode_page_header(p, 0x01, 0x0A);
	if (pc != PC_CHANGEABLE)
		p[2] = 0x80 | 0x40; /* AWRE, ARRE: reassignment is the store's job */
	return len;
}

/* SBC-3 6.4.4 */
static size_t mode_caching(const struct scsi_lu *lu, enum mode_pc pc, uint8_t *p)
{
	size_t len = mode_page_header(p, 0x08, 0x12);
	if (pc == PC_DEFAULT || (pc == PC_CURRENT && lu->write_cache))
		p[2] = 0x04; /* WCE */
	return len;
}

/* SPC-4 7.5.8 */
static size_t mode_control(const struct scsi_lu *lu, enum mode_pc pc, uint8_t *p)
{
	size_t len = mode_page_header(p, 0x0A, 0x0A);
	if (pc == PC_CURRENT && lu->descriptor_sense)
		p[2] = 0x04; /* D_SENSE */
	if (pc != PC_CHANGEABLE)
		put_be16(p + 8, 0xFFFF); /* BUSY TIMEOUT PERIOD: unlimited */
	return len;
}

static const struct {
	uint8_t code;
	mode_builder build;
} mode_pages[] = {
	{ 0x01, mode_rw_error_recovery },
	{ 0x08, mode_caching },
	{ 0x0A, mode_control },
};

#define MODE_NPAGES (sizeof(mode_pages) / sizeof(mode_pages[0]))

static size_t mode_block_descriptor(const struct scsi_lu *lu, bool long_lba, uint8_t *p)
{
	if (long_lba) {
		/* SBC-3 6.4.2.3 */
		memset(p, 0, 16);
		put_be64(p, lu->nblocks);
		put_be32(p + 12, lu->block_size);
		return 16;
	}
	/* SBC-3 6.4.2.2: a block count that does not fit reads FFFFFFFFh. */
	memset(p, 0, 8);
	put_be32(p, lu->nblocks > UINT32_MAX ? UINT32_MAX : (uint32_t)lu->nblocks);
	put_be32(p + 4, lu->block_size & 0xFFFFFF);
	return 8;
}

/* SPC-4 6.11 MODE SENSE(6) and 6.12 MODE SENSE(10) */
enum sense_reason spc_mode_sense(struct scsi_task *task)
{
	const struct scsi_lu *lu = task->lu;
	bool ten = task->cdb[0] == 0x5A;
	bool dbd = task->cdb[1] & 0x08;
	bool llbaa = ten && (task->cdb[1] & 0x10);
	enum mode_pc pc = (enum mode_pc)(task->cdb[2] >> 6);
	uint8_t page = task->cdb[2] & 0x3F;
	uint8_t subpage = task->cdb[3];

	if (pc == PC_SAVED)
		return SENSE_SAVING_PARAMS_UNSUPPORTED;
	/* No page here has subpages; 3Fh/FFh asks for every page and subpage. */
	if (subpage != 0 && !(page == MODE_ALL_PAGES && subpage == MODE_ALL_SUBPAGES))
		return scsi_invalid_cdb_field(&task->detail, 3, -1);

	uint8_t resp[MODE_RESP_MAX];
	size_t hdr = ten ? 8 : 4;
	size_t len = hdr;
	memset(resp, 0, hdr);
	if (!dbd)
		len += mode_block_descriptor(lu, llbaa, resp + len);
	size_t bd_len = len - hdr;
	bool found = false;
	for (size_t i = 0; i < MODE_NPAGES; i++) {
		if (page != MODE_ALL_PAGES && page != mode_pages[i].code)
			continue;
		len += mode_pages[i].build(lu, pc, resp + len);
		found = true;
	}
	if (!found)
		return scsi_invalid_cdb_field(&task->detail, 2, 5);

	/* SBC-3 6.4.1: WP, and DPOFUA because DPO and FUA are honoured. */
	uint8_t device_specific = (uint8_t)((lu->readonly ? 0x80 : 0) | 0x10);
	if (ten) {
		put_be16(resp, (uint16_t)(len - 2));
		resp[3] = device_specific;
		resp[4] = bd_len == 16 ? 0x01 : 0; /* LONGLBA */
		put_be16(resp + 6, (uint16_t)bd_len);
	} else {
		resp[0] = (uint8_t)(len - 1);
		resp[2] = device_specific;
		resp[3] = (uint8_t)bd_len;
	}
	scsi_task_reply(task, resp, len);
	return SENSE_NONE;
}
