#include "scsi/scsi.h"

/* SAM-5 4.6.6 and 4.6.10: byte 0 carries the address method in bits 7:6
 * (00b peripheral device, 01b flat space); a single-level LUN leaves bytes
 * 2-7 zero. */
#define LUN_METHOD_PERIPHERAL 0x0
#define LUN_METHOD_FLAT 0x1

uint64_t scsi_lun_encode(uint16_t lun)
{
	if (lun < 256)
		return (uint64_t)lun << 48;
	return (uint64_t)(LUN_METHOD_FLAT << 14 | (lun & 0x3FFF)) << 48;
}

int scsi_lun_decode(uint64_t lun_raw)
{
	if (lun_raw & 0x0000FFFFFFFFFFFFull)
		return -1;
	unsigned first = (unsigned)(lun_raw >> 48);
	unsigned method = first >> 14;
	unsigned lun;
	if (method == LUN_METHOD_PERIPHERAL) {
		/* Bits 13:8 are the bus identifier: only bus 0 is served. */
		if (first & 0x3F00)
			return -1;
		lun = first & 0xFF;
	} else if (method == LUN_METHOD_FLAT) {
		lun = first & 0x3FFF;
	} else {
		return -1;
	}
	return lun < SCSI_MAX_LUNS ? (int)lun : -1;
}
