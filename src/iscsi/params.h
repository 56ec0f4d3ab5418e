/* Operational parameters of a session and connection (RFC 7143 §13), as
 * negotiated at login. The negotiation rules live in params.c as one table
 * row per key. */
#ifndef LUNAR_ISCSI_PARAMS_H
#define LUNAR_ISCSI_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What this target offers or accepts; from the config, with defaults. */
struct iscsi_target_limits {
	uint32_t max_recv_dsl;        /* our MaxRecvDataSegmentLength, 512..2^24-1 */
	uint32_t max_burst;           /* upper bound we accept for MaxBurstLength */
	uint32_t first_burst;         /* upper bound for FirstBurstLength */
	uint32_t max_outstanding_r2t; /* upper bound for MaxOutstandingR2T */
	bool initial_r2t;             /* what we want: No lets unsolicited data in */
	bool immediate_data;          /* what we want */
	uint32_t max_connections;
	uint32_t default_time2wait, default_time2retain;
	uint8_t max_erl;              /* highest ErrorRecoveryLevel we accept */
};

/* Result of negotiation; before it, RFC 7143 defaults. */
struct iscsi_params {
	/* connection-only */
	bool header_digest, data_digest;   /* CRC32C when true */
	uint32_t max_recv_dsl;  /* largest data segment we accept (declared by us) */
	uint32_t max_send_dsl;  /* largest data segment we may send (declared by the initiator) */
	/* session-wide */
	uint32_t max_connections;
	bool initial_r2t, immediate_data;
	uint32_t max_burst, first_burst;
	uint32_t default_time2wait, default_time2retain;
	uint32_t max_outstanding_r2t;
	bool data_pdu_in_order, data_seq_in_order;
	uint8_t erl;
};

void iscsi_target_limits_default(struct iscsi_target_limits *l);
void iscsi_params_default(struct iscsi_params *p);

/* One negotiation: the keys of a login (or, later, of a text exchange in
 * full feature phase) answered one batch at a time against the key table
 * in params.c. */
#define ISCSI_NEG_TEXT_MAX 256   /* RFC 7143 §6.1: values up to 255 bytes */

/* AuthMethod values (RFC 7143 §12.1); UNSET until negotiated. */
enum iscsi_auth_method { ISCSI_AUTH_UNSET, ISCSI_AUTH_NONE, ISCSI_AUTH_CHAP };

struct iscsi_neg {
	const struct iscsi_target_limits *limits;
	bool leading;            /* leading connection (TSIH 0): LO keys allowed */
	bool discovery;          /* SessionType=Discovery */
	bool first_batch_done;   /* keys that belong in the first request are over */
	struct iscsi_params params;
	/* declarations of the initiator, empty when not sent */
	char initiator_name[ISCSI_NEG_TEXT_MAX];
	char target_name[ISCSI_NEG_TEXT_MAX];
	char initiator_alias[ISCSI_NEG_TEXT_MAX];
	uint64_t received;       /* table rows the initiator sent (RFC 7143 §6.2: once) */
	uint64_t declared;       /* table rows the target declared */
	uint8_t auth_method;     /* enum iscsi_auth_method */
	/* What this login accepts for a key whose offer depends on the login
	 * (AuthMethod: on the target, known by the time the key is handled,
	 * since the keys of the first request come first in the table): sets
	 * *codes to a mask of 1 << choice code, or returns the login status
	 * that ends the login. NULL: every choice of the table. */
	uint16_t (*offer)(void *arg, const char *key, uint32_t *codes);
	void *offer_arg;
};

struct iscsi_text_pair;
struct iscsi_text_buf;

void iscsi_neg_init(struct iscsi_neg *n, const struct iscsi_target_limits *l, bool leading);
/* Answers one complete batch of initiator keys received in `stage`
 * (enum iscsi_login_stage), appending the answers to out. Returns 0
 * (ISCSI_LOGIN_SUCCESS) or the login status that ends the login. */
uint16_t iscsi_neg_answer(struct iscsi_neg *n, int stage, const struct iscsi_text_pair *pairs,
			  size_t npairs, struct iscsi_text_buf *out);
/* Appends the target's own declarations not made yet (our
 * MaxRecvDataSegmentLength); returns 0 or -ENOSPC. */
int iscsi_neg_declare(struct iscsi_neg *n, struct iscsi_text_buf *out);
/* Applies the cross-key rules once negotiation is over (RFC 7143 §13.14:
 * FirstBurstLength never exceeds MaxBurstLength). */
void iscsi_neg_finish(struct iscsi_neg *n);

#endif
