/* SANITIZE (SBC-4 5.30): the service actions served. Private to the SCSI
 * core and its tests. */
#ifndef LUNAR_SCSI_SBC_SANITIZE_H
#define LUNAR_SCSI_SBC_SANITIZE_H

/* SBC-4 5.30.1 table 45 */
#define SBC_SANITIZE_BLOCK_ERASE 0x02
#define SBC_SANITIZE_EXIT_FAILURE_MODE 0x1F

#endif
