/* iSCSI TransportIDs (SPC-4 7.6.4.6), as PERSISTENT RESERVE OUT names
 * other I_T nexuses (SPEC_I_PT, REGISTER AND MOVE) and READ FULL STATUS
 * reports them. Pure: no I/O. */
#ifndef LUNAR_SCSI_PR_TPID_H
#define LUNAR_SCSI_PR_TPID_H

#include <stddef.h>
#include <stdint.h>

/* SPC-4 7.6.4.6: protocol identifier 5h (iSCSI), format 01b: an initiator
 * port, "name,i,0x<ISID>". */
#define PR_TPID_ISCSI_PORT 0x45

/* Bytes the TransportID of initiator port name port takes: 4 and the
 * NUL-terminated name padded to a multiple of 4, at least 20 (SPC-4
 * table 508). */
size_t pr_tpid_len(const char *port);
/* Writes it to p (pr_tpid_len(port) bytes). */
void pr_tpid_put(uint8_t *p, const char *port);
/* Reads one TransportID of len available bytes into port (cap bytes) in
 * the form lunar names initiator ports ("name,i,0x" and 12 lower-case hex
 * digits). Returns the bytes it took, or -1 for anything else: another
 * protocol or format (format 00b names no port), a length past len or not
 * a multiple of 4, a name without its ISID or too long for cap. */
long pr_tpid_parse(const uint8_t *p, size_t len, char *port, size_t cap);

#endif
