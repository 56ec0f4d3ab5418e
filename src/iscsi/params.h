/* Operational parameters of a session and connection (RFC 7143 §13), as
 * negotiated at login. The negotiation rules live in params.c as one table
 * row per key. */
#ifndef LUNAR_ISCSI_PARAMS_H
#define LUNAR_ISCSI_PARAMS_H

#include <stdbool.h>
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

#endif
