#include <string.h>

#include "util/be.h"
#include "scsi/handlers.h"
#include "scsi/mode.h"
#include "scsi/opcodes.h"
#include "scsi/task.h"

#define MODE_ALL_PAGES 0x3F
#define MODE_ALL_SUBPAGES 0xFF
#define MODE_RESP_MAX 512

/* A page builder writes the page header and the parameters no one can
 * change for page control pc and returns the page length; the changeable
 * ones come from mode_params. */
typedef size_t (*mode_builder)(enum mode_pc pc, uint8_t *p);

static size_t mode_page_header(uint8_t *p, uint8_t code, uint8_t len)
{
	memset(p, 0, 2u + len);
	p[0] = code;
	p[1] = len;
	return 2u + len;
}

/* SBC-3 6.4.5 */
static size_t mode_rw_error_recovery(enum mode_pc pc, uint8_t *p)
{
	size_t len = mode_page_header(p, 0x01, 0x0A);
	if (pc != PC_CHANGEABLE)
		p[2] = 0x80 | 0x40; /* AWRE, ARRE: reassignment is the store's job */
	return len;
}

/* SBC-3 6.4.4 */
static size_t mode_caching(enum mode_pc pc, uint8_t *p)
{
	return mode_page_header(p, 0x08, 0x12);
}

/* SPC-4 7.5.8 */
static size_t mode_control(enum mode_pc pc, uint8_t *p)
{
	size_t len = mode_page_header(p, 0x0A, 0x0A);
	if (pc != PC_CHANGEABLE) {
		/* TST 001b: a task set per I_T nexus; QUEUE ALGORITHM MODIFIER
		 * 1: SIMPLE tasks may run in any order (they run concurrently).
		 * QERR 00b: a CHECK CONDITION aborts no other task; TAS 0: a
		 * task aborted by another I_T nexus's reset ends without a
		 * status (lu_reset.c). Neither is changeable, so MODE SELECT
		 * refuses other values (SPC-4 7.5.8). */
		p[2] |= 0x20;
		p[3] |= 0x10;
		be16_put(p + 8, 0xFFFF); /* BUSY TIMEOUT PERIOD: unlimited */
	}
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

/* The parameters MODE SELECT may change, each one bit of a page kept as
 * one bit of the LU's mode word. MODE SENSE reports exactly these bits as
 * changeable. */
static const struct {
	uint8_t page, byte, mask;
	bool dflt;
	enum scsi_lu_mode lu_bit;
} mode_params[] = {
	{ 0x08, 2, 0x04, true, SCSI_MODE_WCE },
	{ 0x0A, 2, 0x04, false, SCSI_MODE_D_SENSE },
	{ 0x0A, 4, 0x08, false, SCSI_MODE_SWP },
};

#define MODE_NPARAMS (sizeof(mode_params) / sizeof(mode_params[0]))

static bool mode_param_value(const struct scsi_lu *lu, size_t i, enum mode_pc pc)
{
	switch (pc) {
	case PC_CHANGEABLE:
		return true;
	case PC_DEFAULT:
		return mode_params[i].dflt;
	case PC_CURRENT:
	case PC_SAVED:
		break;
	}
	return scsi_lu_mode_has(lu, mode_params[i].lu_bit);
}

size_t mode_page_build(const struct scsi_lu *lu, uint8_t code, enum mode_pc pc, uint8_t *p)
{
	for (size_t i = 0; i < MODE_NPAGES; i++) {
		if (mode_pages[i].code != code)
			continue;
		size_t len = mode_pages[i].build(pc, p);
		for (size_t j = 0; j < MODE_NPARAMS; j++)
			if (mode_params[j].page == code && mode_param_value(lu, j, pc))
				p[mode_params[j].byte] |= mode_params[j].mask;
		return len;
	}
	return 0;
}

void mode_page_collect(uint8_t code, const uint8_t *page, uint32_t *mask, uint32_t *bits)
{
	for (size_t j = 0; j < MODE_NPARAMS; j++) {
		if (mode_params[j].page != code)
			continue;
		*mask |= mode_params[j].lu_bit;
		if (page[mode_params[j].byte] & mode_params[j].mask)
			*bits |= mode_params[j].lu_bit;
		else
			*bits &= ~(uint32_t)mode_params[j].lu_bit;
	}
}

void mode_restore_defaults(struct scsi_lu *lu)
{
	uint32_t mask = 0, bits = 0;
	for (size_t j = 0; j < MODE_NPARAMS; j++) {
		mask |= mode_params[j].lu_bit;
		if (mode_params[j].dflt)
			bits |= mode_params[j].lu_bit;
	}
	scsi_lu_mode_change(lu, mask, bits);
}

static size_t mode_block_descriptor(const struct scsi_lu *lu, bool long_lba, uint8_t *p)
{
	if (long_lba) {
		/* SBC-3 6.4.2.3 */
		memset(p, 0, 16);
		be64_put(p, lu->nblocks);
		be32_put(p + 12, lu->block_size);
		return 16;
	}
	/* SBC-3 6.4.2.2: a block count that does not fit reads FFFFFFFFh. */
	memset(p, 0, 8);
	be32_put(p, lu->nblocks > UINT32_MAX ? UINT32_MAX : (uint32_t)lu->nblocks);
	be32_put(p + 4, lu->block_size & 0xFFFFFF);
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
		len += mode_page_build(lu, mode_pages[i].code, pc, resp + len);
		found = true;
	}
	if (!found)
		return scsi_invalid_cdb_field(&task->detail, 2, 5);

	/* SBC-3 6.4.1: WP, set by the store or by SWP in the Control page, and
	 * DPOFUA because DPO and FUA are honoured. */
	bool wp = lu->readonly || scsi_lu_mode_has(lu, SCSI_MODE_SWP);
	uint8_t device_specific = (uint8_t)((wp ? 0x80 : 0) | 0x10);
	if (ten) {
		be16_put(resp, (uint16_t)(len - 2));
		resp[3] = device_specific;
		resp[4] = bd_len == 16 ? 0x01 : 0; /* LONGLBA */
		be16_put(resp + 6, (uint16_t)bd_len);
	} else {
		resp[0] = (uint8_t)(len - 1);
		resp[2] = device_specific;
		resp[3] = (uint8_t)bd_len;
	}
	scsi_task_reply(task, resp, len);
	return SENSE_NONE;
}
