/* Thin provisioning (SBC-3 4.7): the limits lunar advertises and the
 * UNMAP parameter list decoder. Private to the SCSI core and its tests. */
#ifndef LUNAR_SCSI_SBC_THIN_H
#define LUNAR_SCSI_SBC_THIN_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"

/* Block Limits VPD (SBC-3 6.5.3). 256 descriptors is what fstrim and
 * ESXi send at most; 2^20 blocks a command (512 MiB to 4 GiB) bounds how
 * long one UNMAP holds its task slot (a hole punched over many extents is
 * not free), and is the most initiators' sanity checks (libiscsi's)
 * accept short of "no limit". */
#define SBC_UNMAP_MAX_DESCRIPTORS 256u
#define SBC_UNMAP_MAX_BLOCKS (1u << 20)
#define SBC_UNMAP_HEADER_LEN 8u
#define SBC_UNMAP_DESC_LEN 16u

/* MAXIMUM WRITE SAME LENGTH (Block Limits VPD): what one WRITE may move.
 * A larger range would be cheap for us, but initiators check a range
 * written with WRITE SAME by reading it back in one command. */
static inline uint32_t sbc_write_same_max_blocks(const struct scsi_lu *lu)
{
	return SCSI_MAX_XFER_BYTES / lu->block_size;
}

/* GET LBA STATUS (SBC-3 5.20): descriptors one answer carries at most. */
#define SBC_LBA_STATUS_MAX_DESCRIPTORS 32u
#define SBC_LBA_STATUS_RESP_MAX (8u + 16u * SBC_LBA_STATUS_MAX_DESCRIPTORS)

struct sbc_unmap_desc {
	uint64_t lba;
	uint32_t count;
};

/* The LU serves UNMAP and reports LBPME: its store is thin. */
static inline bool sbc_lu_is_thin(const struct scsi_lu *lu)
{
	return lu->bs->thin;
}

/* Decodes and checks an UNMAP parameter list of len bytes (SBC-3 5.28.2)
 * against lu: every descriptor inside the medium, the count of
 * descriptors and of blocks within the Block Limits. On success *n
 * descriptors are in out (room for SBC_UNMAP_MAX_DESCRIPTORS); on error
 * detail points at the field and nothing may be unmapped. */
enum sense_reason sbc_unmap_decode(const struct scsi_lu *lu, const uint8_t *p, uint32_t len,
				   struct sbc_unmap_desc *out, unsigned *n,
				   struct scsi_sense_detail *detail);

#endif
