#include "iscsi/reply_seq.h"

#include "util/be.h"

/* Offsets shared by every target PDU (RFC 7143 §11). */
#define BHS_STATSN 24
#define BHS_EXP_CMDSN 28
#define BHS_MAX_CMDSN 32
#define BHS_ITT 16
#define DATA_IN_S_BIT 0x01

enum statsn_use { STATSN_TAKE, STATSN_PEEK, STATSN_RESERVED };

static enum statsn_use statsn_use(const uint8_t *bhs)
{
	switch (bhs[0] & 0x3f) {
	case ISCSI_OP_DATA_IN:
		return bhs[1] & DATA_IN_S_BIT ? STATSN_TAKE : STATSN_RESERVED;
	case ISCSI_OP_R2T:
		return STATSN_PEEK;
	case ISCSI_OP_NOP_IN:
		/* RFC 7143 §11.19: with ITT 0xffffffff StatSN does not advance. */
		return be32_get(bhs + BHS_ITT) == ISCSI_RSVD_TAG ? STATSN_PEEK : STATSN_TAKE;
	default:
		return STATSN_TAKE;
	}
}

void iscsi_reply_seq_stamp(struct iscsi_reply_seq *q, struct iscsi_tx *tx,
			   uint32_t exp_cmdsn, uint32_t max_cmdsn)
{
	switch (statsn_use(tx->bhs)) {
	case STATSN_TAKE:
		be32_put(tx->bhs + BHS_STATSN, q->next_statsn++);
		tx->keep = q->retain;
		break;
	case STATSN_PEEK:
		be32_put(tx->bhs + BHS_STATSN, q->next_statsn);
		break;
	case STATSN_RESERVED:
		break;
	}
	be32_put(tx->bhs + BHS_EXP_CMDSN, exp_cmdsn);
	be32_put(tx->bhs + BHS_MAX_CMDSN, max_cmdsn);
}

void iscsi_reply_seq_sent(struct iscsi_reply_seq *q, struct iscsi_tx *tx)
{
	if (!tx->keep) {
		tx->sent(tx);
		return;
	}
	tx->next = NULL;
	if (q->kept_tail)
		q->kept_tail->next = tx;
	else
		q->kept_head = tx;
	q->kept_tail = tx;
}

static void release_head(struct iscsi_reply_seq *q)
{
	struct iscsi_tx *tx = q->kept_head;
	q->kept_head = tx->next;
	if (!q->kept_head)
		q->kept_tail = NULL;
	tx->sent(tx);
}

void iscsi_reply_seq_ack(struct iscsi_reply_seq *q, uint32_t exp_statsn)
{
	while (q->kept_head && iscsi_sn_lt(be32_get(q->kept_head->bhs + BHS_STATSN), exp_statsn))
		release_head(q);
}

void iscsi_reply_seq_release_all(struct iscsi_reply_seq *q)
{
	while (q->kept_head)
		release_head(q);
}
