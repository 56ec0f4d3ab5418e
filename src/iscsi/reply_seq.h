/* The sequence numbers a connection stamps into what it sends, and the
 * status-carrying PDUs it keeps until the initiator acknowledges them.
 * Pure (no sockets, no loop), so it is unit-tested on its own.
 *
 * StatSN (RFC 7143 §4.2.2.2) counts status-carrying PDUs per connection.
 * Every PDU also reports the session's ExpCmdSN and MaxCmdSN as they are
 * when it is queued, so numbers follow queue order, not build order. */
#ifndef LUNAR_ISCSI_REPLY_SEQ_H
#define LUNAR_ISCSI_REPLY_SEQ_H

#include <stdbool.h>
#include <stdint.h>

#include "iscsi/tx.h"

struct iscsi_reply_seq {
	uint32_t next_statsn;       /* StatSN the next status-carrying PDU gets */
	/* Keep status-carrying PDUs after they are sent until ExpStatSN
	 * passes them, for SNACK and connection recovery (ERL > 0). Off at
	 * ERL 0: a PDU is released as soon as it is on the wire. */
	bool retain;
	struct iscsi_tx *kept_head, *kept_tail; /* in StatSN order */
};

/* Writes StatSN, ExpCmdSN and MaxCmdSN into tx->bhs. A PDU with status
 * takes a new StatSN; an R2T (and a NOP-In that expects no answer) carries
 * the next one without taking it; a Data-In without status leaves the
 * field reserved (RFC 7143 §11.7). */
void iscsi_reply_seq_stamp(struct iscsi_reply_seq *q, struct iscsi_tx *tx,
			   uint32_t exp_cmdsn, uint32_t max_cmdsn);
/* tx has left: kept if it was stamped for retention, else released. */
void iscsi_reply_seq_sent(struct iscsi_reply_seq *q, struct iscsi_tx *tx);
/* The initiator's ExpStatSN: every kept PDU before it is released. */
void iscsi_reply_seq_ack(struct iscsi_reply_seq *q, uint32_t exp_statsn);
/* Connection closed: every kept PDU is released. */
void iscsi_reply_seq_release_all(struct iscsi_reply_seq *q);

#endif
