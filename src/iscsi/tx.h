/* A PDU on its way to the initiator: its header, where its data segment
 * is, and what to do once the connection is done with it. */
#ifndef LUNAR_ISCSI_TX_H
#define LUNAR_ISCSI_TX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "iscsi/pdu.h"

/* The data segment is data_len bytes: at data (flat, e.g. following the
 * struct: inline), or, when data_iov is set, from byte data_off of the
 * data_iovcnt entries there (a task's chunks; one PDU may span several,
 * and they are sent from where they are). sent() runs once the PDU is no
 * longer needed: on the wire (or, if kept for retransmission,
 * acknowledged), or with the connection torn down. */
struct iscsi_tx {
	struct iscsi_tx *next;
	uint8_t bhs[ISCSI_BHS_LEN];
	const uint8_t *data;
	const struct iovec *data_iov;
	unsigned data_iovcnt;
	uint32_t data_off;
	uint32_t data_len;
	uint32_t inline_cap;        /* bytes of inline_data asked for (thread_cache.c may
				     * have allocated more) */
	bool keep;                  /* kept after sending until ExpStatSN passes it */
	void (*sent)(struct iscsi_tx *tx);
	void *owner;
	uint8_t inline_data[];
};

#endif
