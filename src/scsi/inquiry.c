#include <stdio.h>
#include <string.h>

#include "util/be.h"
#include "scsi/handlers.h"
#include "scsi/opcodes.h"
#include "scsi/sbc_thin.h"
#include "scsi/task.h"
#include "scsi/tpg.h"
#include "scsi/xcopy.h"

#define INQ_RESP_MAX 1024

/* SPC-4 6.4.2: peripheral qualifier 000b / device type 00h (direct access
 * block device) for a served LU; 011b / 1Fh where no LU is. */
#define PERIPHERAL_DISK 0x00
#define PERIPHERAL_NO_LU 0x7F

/* Version descriptors (SPC-4 table 145): SAM-5, iSCSI, SPC-4, SBC-3. */
static const uint16_t inq_versions[] = { 0x00A0, 0x0960, 0x0460, 0x04C0 };

/* Copies s into a fixed-width field, space padded (SPC-4 4.4.1). */
static void inq_put_ascii(uint8_t *dst, size_t width, const char *s)
{
	size_t n = strnlen(s, width);
	memset(dst, ' ', width);
	memcpy(dst, s, n);
}

static size_t inq_standard(const struct scsi_task *task, uint8_t *r)
{
	const struct scsi_lu *lu = task->lu;
	size_t len = 58 + 2 * sizeof(inq_versions) / sizeof(inq_versions[0]);
	memset(r, 0, len);
	r[0] = lu ? PERIPHERAL_DISK : PERIPHERAL_NO_LU;
	r[2] = 0x06;        /* VERSION: SPC-4 */
	r[3] = 0x10 | 0x02; /* HISUP, RESPONSE DATA FORMAT 2 */
	r[4] = (uint8_t)(len - 5);
	r[5] = 0x10;        /* TPGS 01b: implicit ALUA only (tpg.c) */
	r[7] = 0x02;        /* CMDQUE */
	inq_put_ascii(r + 8, 8, lu ? lu->vendor : "LUNAR");
	inq_put_ascii(r + 16, 16, lu ? lu->product : "");
	inq_put_ascii(r + 32, 4, lu ? lu->revision : "");
	for (size_t i = 0; i < sizeof(inq_versions) / sizeof(inq_versions[0]); i++)
		be16_put(r + 58 + 2 * i, inq_versions[i]);
	return len;
}

/* Each VPD builder writes the page payload after the 4-byte header and
 * returns the payload length. */
typedef size_t (*vpd_builder)(const struct scsi_task *task, uint8_t *p);

static size_t vpd_supported_pages(const struct scsi_task *task, uint8_t *p);

/* SPC-4 7.8.15 */
static size_t vpd_unit_serial(const struct scsi_task *task, uint8_t *p)
{
	size_t n = strlen(task->lu->serial);
	memcpy(p, task->lu->serial, n);
	return n;
}

/* SPC-4 7.8.6: one designation descriptor. */
enum {
	CODE_SET_BINARY = 1, CODE_SET_ASCII = 2, CODE_SET_UTF8 = 3,
	ASSOC_LU = 0, ASSOC_PORT = 1, ASSOC_TARGET = 2,
	DESIG_T10 = 1, DESIG_NAA = 3, DESIG_REL_PORT = 4, DESIG_TPG = 5, DESIG_NAME = 8,
	PROTOCOL_ISCSI = 5,
};

static size_t vpd_designator(uint8_t *p, unsigned code_set, unsigned assoc, unsigned type,
			     const void *id, size_t id_len, size_t padded_len)
{
	/* PIV: the protocol identifier is valid for port and target designators. */
	bool piv = assoc != ASSOC_LU;
	p[0] = (uint8_t)((piv ? PROTOCOL_ISCSI << 4 : 0) | code_set);
	p[1] = (uint8_t)((piv ? 0x80 : 0) | assoc << 4 | type);
	p[2] = 0;
	p[3] = (uint8_t)padded_len;
	memset(p + 4, 0, padded_len);
	memcpy(p + 4, id, id_len);
	return 4 + padded_len;
}

/* A SCSI name string with its terminator and padding, in the one-byte
 * DESIGNATOR LENGTH: at most 252 bytes (a multiple of 4). */
#define VPD_NAME_MAX 252

static size_t vpd_name_designator(uint8_t *p, unsigned assoc, const char *name)
{
	size_t name_len = strnlen(name, VPD_NAME_MAX - 1);
	size_t padded = (name_len + 1 + 3) & ~(size_t)3;
	return vpd_designator(p, CODE_SET_UTF8, assoc, DESIG_NAME, name, name_len, padded);
}

/* SPC-4 7.8.6 */
static size_t vpd_device_id(const struct scsi_task *task, uint8_t *p)
{
	const struct scsi_lu *lu = task->lu;
	const struct scsi_target *tgt = task->nexus->target;
	size_t len = 0;

	len += vpd_designator(p + len, CODE_SET_BINARY, ASSOC_LU, DESIG_NAA, lu->naa,
			      sizeof(lu->naa), sizeof(lu->naa));

	/* SPC-4 7.8.6.4: T10 vendor ID, then a vendor specific identifier. */
	uint8_t t10[8 + sizeof(lu->serial)];
	inq_put_ascii(t10, 8, lu->vendor);
	size_t serial_len = strlen(lu->serial);
	memcpy(t10 + 8, lu->serial, serial_len);
	len += vpd_designator(p + len, CODE_SET_ASCII, ASSOC_LU, DESIG_T10, t10,
			      8 + serial_len, 8 + serial_len);

	/* The port the command came through: each of the target's portal
	 * groups is a target port, in a target port group of its own. */
	uint16_t rel_port = task->nexus->rel_port;
	uint8_t port[4] = { 0 };
	be16_put(port + 2, rel_port);
	len += vpd_designator(p + len, CODE_SET_BINARY, ASSOC_PORT, DESIG_REL_PORT, port, 4, 4);
	be16_put(port + 2, rel_port);
	len += vpd_designator(p + len, CODE_SET_BINARY, ASSOC_PORT, DESIG_TPG, port, 4, 4);

	/* SPC-4 7.8.6.11: null-terminated, padded to a multiple of 4, at most
	 * 256 bytes; iSCSI names are at most 223 bytes (RFC 7143 §4.2.7.1). */
	if (tgt->name) {
		len += vpd_name_designator(p + len, ASSOC_TARGET, tgt->name);
		/* RFC 7143 §10.1 (SPC-4 7.8.6.11): the target port's SCSI
		 * name is the target name, ",t,0x" and the portal group tag. */
		char port_name[VPD_NAME_MAX];
		snprintf(port_name, sizeof(port_name), "%s,t,0x%04x", tgt->name, rel_port);
		len += vpd_name_designator(p + len, ASSOC_PORT, port_name);
	}
	return len;
}

/* SBC-3 6.5.3 */
static size_t vpd_block_limits(const struct scsi_task *task, uint8_t *p)
{
	uint32_t bs = task->lu->block_size;
	uint32_t max_blocks = SCSI_MAX_XFER_BYTES / bs;
	/* Transfers in whole physical blocks and whole 4 KiB pages avoid
	 * read-modify-write below. */
	uint32_t unit = task->lu->physical_block_size > 4096 ? task->lu->physical_block_size : 4096;
	uint16_t granularity = bs < unit ? (uint16_t)(unit / bs) : 1;
	memset(p, 0, 0x3C);
	p[1] = SCSI_CAW_MAX_BLOCKS; /* page byte 5: MAXIMUM COMPARE AND WRITE LENGTH */
	be16_put(p + 2, granularity);
	be32_put(p + 4, max_blocks);
	be32_put(p + 8, max_blocks);
	/* UNMAP limits only where UNMAP is served; zero says "none". A hole
	 * is punched in whole 4 KiB pages, partial ones are zeroed, so that
	 * is the granularity worth unmapping in (UGAVALID 0: any alignment). */
	be64_put(p + 32, sbc_write_same_max_blocks(task->lu));
	if (sbc_lu_is_thin(task->lu)) {
		be32_put(p + 16, SBC_UNMAP_MAX_BLOCKS);
		be32_put(p + 20, SBC_UNMAP_MAX_DESCRIPTORS);
		be32_put(p + 24, granularity);
	}
	/* SBC-4 6.6.4: MAXIMUM ATOMIC TRANSFER LENGTH; ATOMIC ALIGNMENT and
	 * ATOMIC TRANSFER LENGTH GRANULARITY 0 (none asked); no boundaries. */
	be32_put(p + 40, sbc_atomic_max_blocks(task->lu));
	return 0x3C;
}

/* SBC-3 6.5.2 */
static size_t vpd_block_characteristics(const struct scsi_task *task, uint8_t *p)
{
	memset(p, 0, 0x3C);
	/* 0001h: non-rotating medium, the usual store being SSD or memory;
	 * nominal form factor 0: not reported. */
	be16_put(p, 0x0001);
	/* WABEREQ 01b: after SANITIZE BLOCK ERASE a read is GOOD (zeros,
	 * LBPRZ), on the thin LUs that serve it (SBC-4 6.6.2). */
	if (sbc_lu_is_thin(task->lu))
		p[3] = 0x40;
	return 0x3C;
}

/* SBC-3 6.5.4. A thin LU serves UNMAP (LBPU) and WRITE SAME(16) with
 * UNMAP (LBPWS; not the 10-byte form, see opcodes.c), and reads
 * deallocated blocks as zeros (LBPRZ): its store's DISCARD guarantees it. ANC_SUP 0
 * (no anchored state), DP 0 (no descriptor), no thresholds. */
#define LBP_LBPU 0x80
#define LBP_LBPWS 0x40
#define LBP_LBPRZ 0x04
#define LBP_TYPE_THIN 0x02

static size_t vpd_lb_provisioning(const struct scsi_task *task, uint8_t *p)
{
	memset(p, 0, 4);
	if (sbc_lu_is_thin(task->lu)) {
		p[1] = LBP_LBPU | LBP_LBPWS | LBP_LBPRZ;
		p[2] = LBP_TYPE_THIN;
	}
	return 4;
}

/* SPC-4 7.8.7. The task set runs SIMPLE, ORDERED and HEAD OF QUEUE
 * tasks (SAM-5 8.6). The page cache is a volatile cache (V_SUP) that
 * FUA and SYNCHRONIZE CACHE write through; there is no non-volatile one.
 * WRITE LONG is not served, so no WU_SUP or CRD_SUP. LUICLR: REPORTED
 * LUNS DATA HAS CHANGED clears on every LU at once (nexus.c). */
#define EXT_HEADSUP 0x04
#define EXT_ORDSUP 0x02
#define EXT_SIMPSUP 0x01
#define EXT_V_SUP 0x01
#define EXT_LUICLR 0x01

static size_t vpd_extended_inquiry(const struct scsi_task *task, uint8_t *p)
{
	memset(p, 0, 0x3C);
	p[1] = EXT_HEADSUP | EXT_ORDSUP | EXT_SIMPSUP;
	p[2] = EXT_V_SUP;
	p[3] = EXT_LUICLR;
	return 0x3C;
}

/* SPC-4 7.8.17 */
static size_t vpd_third_party_copy(const struct scsi_task *task, uint8_t *p)
{
	(void)task;
	return xcopy_vpd_third_party_copy(p);
}

static const struct {
	uint8_t code;
	vpd_builder build;
} vpd_pages[] = {
	{ 0x00, vpd_supported_pages },
	{ 0x80, vpd_unit_serial },
	{ 0x83, vpd_device_id },
	{ 0x86, vpd_extended_inquiry },
	{ 0x8F, vpd_third_party_copy },
	{ 0xB0, vpd_block_limits },
	{ 0xB1, vpd_block_characteristics },
	{ 0xB2, vpd_lb_provisioning },
};

#define VPD_NPAGES (sizeof(vpd_pages) / sizeof(vpd_pages[0]))

/* SPC-4 7.8.13 */
static size_t vpd_supported_pages(const struct scsi_task *task, uint8_t *p)
{
	for (size_t i = 0; i < VPD_NPAGES; i++)
		p[i] = vpd_pages[i].code;
	return VPD_NPAGES;
}

/* SPC-4 6.4 */
enum sense_reason spc_inquiry(struct scsi_task *task)
{
	uint8_t resp[INQ_RESP_MAX];
	bool evpd = task->cdb[1] & 0x01;
	uint8_t page = task->cdb[2];

	if (!evpd) {
		if (page != 0)
			return scsi_invalid_cdb_field(&task->detail, 2, -1);
		scsi_task_reply(task, resp, inq_standard(task, resp));
		return SENSE_NONE;
	}
	if (!task->lu)
		return SENSE_LUN_NOT_SUPPORTED;
	for (size_t i = 0; i < VPD_NPAGES; i++) {
		if (vpd_pages[i].code != page)
			continue;
		size_t len = vpd_pages[i].build(task, resp + 4);
		resp[0] = PERIPHERAL_DISK;
		resp[1] = page;
		be16_put(resp + 2, (uint16_t)len);
		scsi_task_reply(task, resp, 4 + len);
		return SENSE_NONE;
	}
	return scsi_invalid_cdb_field(&task->detail, 2, -1);
}
