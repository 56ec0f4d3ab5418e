/* SANITIZE (SBC-4 5.30): the service actions served and the OVERWRITE
 * parameter list checks. Private to the SCSI core and its tests. */
#ifndef LUNAR_SCSI_SBC_SANITIZE_H
#define LUNAR_SCSI_SBC_SANITIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/scsi.h"
#include "scsi/sense.h"

/* SBC-4 5.30.1 table 45 */
#define SBC_SANITIZE_OVERWRITE 0x01
#define SBC_SANITIZE_BLOCK_ERASE 0x02
#define SBC_SANITIZE_EXIT_FAILURE_MODE 0x1F

struct sbc_overwrite_params {
	bool invert;
	uint8_t passes;         /* OVERWRITE COUNT, 1 to 31 */
	const uint8_t *pattern; /* inside the list checked */
	uint16_t pattern_len;   /* 1 to the block size */
};

/* Checks an OVERWRITE parameter list of len bytes (the CDB's PARAMETER
 * LIST LENGTH) for an LU of block_size; on success fills out. On error
 * detail points at the CDB's length field or at the list's field. */
enum sense_reason sbc_sanitize_check_overwrite(const uint8_t *p, uint32_t len,
					       uint32_t block_size,
					       struct sbc_overwrite_params *out,
					       struct scsi_sense_detail *detail);
/* Lays the pattern out over len bytes (whole blocks), starting again at
 * each block. */
void sbc_sanitize_fill(uint8_t *buf, uint32_t len, uint32_t block_size, const uint8_t *pattern,
		       uint16_t pattern_len);

#endif
