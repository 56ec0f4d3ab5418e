/* The one way a full-feature-phase PDU goes to the initiator: allocated
 * here (running out of memory closes the connection, once, here), and
 * stamped with StatSN, ExpCmdSN and MaxCmdSN when it is queued. */
#ifndef LUNAR_ISCSI_REPLY_H
#define LUNAR_ISCSI_REPLY_H

#include <stdint.h>

#include "iscsi/tx.h"

struct iscsi_conn;

/* A PDU with room for inline_len bytes of data (tx->data points there when
 * inline_len > 0), freed once sent. NULL when memory ran out: the
 * connection is then closing and the caller just stops. what names the
 * PDU for the log. */
struct iscsi_tx *iscsi_reply_alloc(struct iscsi_conn *conn, uint32_t inline_len, const char *what);
/* Queues a PDU whose header the caller built, sequence numbers aside. */
void iscsi_reply_queue(struct iscsi_conn *conn, struct iscsi_tx *tx);
/* The same for the PDU with a command's status, which must hold a
 * reference to its task: the command's window slot frees when it has
 * left, and the MaxCmdSN it carries counts that slot as free already. */
void iscsi_reply_queue_status(struct iscsi_conn *conn, struct iscsi_tx *tx);
/* The ExpStatSN an initiator PDU carries releases the kept PDUs before it. */
void iscsi_reply_acked(struct iscsi_conn *conn, const struct iscsi_hdr *h);
/* An unsolicited NOP-In (ITT 0xffffffff, RFC 7143 §11.19): a ping the
 * initiator answers when ttt is a tag, else news of the window. */
void iscsi_reply_nop_in(struct iscsi_conn *conn, uint32_t ttt);
/* Rejects the PDU whose header is bhs (RFC 7143 §11.17). */
void iscsi_reply_reject(struct iscsi_conn *conn, const uint8_t *bhs, uint8_t reason);

#endif
