/* Persistent reservations of one logical unit (SPC-4 5.12): the
 * registrations, the reservation and the rules of PERSISTENT RESERVE OUT,
 * as pure state. No I/O and no locks: the LU's owner (pr.c) serializes the
 * calls and turns the events they report into unit attentions. */
#ifndef LUNAR_SCSI_PR_STATE_H
#define LUNAR_SCSI_PR_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/opcodes.h"
#include "scsi/sense.h"

/* Registrations one LU keeps; a REGISTER beyond them is refused with
 * INSUFFICIENT REGISTRATION RESOURCES (SPC-4 5.12.7). */
#define PR_MAX_REGS 32
/* An initiator port name: an iSCSI name (at most 223 bytes, RFC 7143
 * §4.2.7.1) with ",i,0x" and a 12-digit ISID. */
#define PR_PORT_NAME_MAX 244

/* PERSISTENT RESERVE OUT's parameter list (SPC-4 6.16.3), and the
 * longest: with SPEC_I_PT, a TransportID for each registration. */
#define PR_OUT_PARAM_LEN 24
/* The longest PERSISTENT RESERVE IN response: READ FULL STATUS, a header
 * and, per registration, a 24-byte descriptor with an iSCSI TransportID
 * of 4 bytes and the name padded to 4 (SPC-4 6.15.5, 7.6.4.6). */
#define PR_TRANSPORT_ID_MAX (4 + ((PR_PORT_NAME_MAX + 1 + 3) & ~3))
#define PR_IN_RESP_MAX (8 + PR_MAX_REGS * (24 + PR_TRANSPORT_ID_MAX))
#define PR_OUT_PARAM_MAX (PR_OUT_PARAM_LEN + 4 + PR_MAX_REGS * PR_TRANSPORT_ID_MAX)

/* SPC-4 6.16.3 table 212: the TYPE field. */
enum pr_type {
	PR_TYPE_NONE = 0,
	PR_TYPE_WE = 1,
	PR_TYPE_EA = 3,
	PR_TYPE_WE_RO = 5,
	PR_TYPE_EA_RO = 6,
	PR_TYPE_WE_AR = 7,
	PR_TYPE_EA_AR = 8,
};

/* An I_T nexus as reservations know it: initiator port and target port. */
struct pr_id {
	const char *initiator;
	uint16_t rel_port;
};

struct pr_reg {
	char initiator[PR_PORT_NAME_MAX + 1];
	uint16_t rel_port;
	uint64_t key;
};

struct pr_state {
	uint32_t generation;  /* PRgeneration, SPC-4 6.15.2 */
	unsigned nregs;
	struct pr_reg regs[PR_MAX_REGS];
	enum pr_type type;    /* PR_TYPE_NONE: no persistent reservation */
	int holder;           /* index in regs; unused for the all-registrants types */
	bool aptpl;           /* the APTPL bit of the last REGISTER */
};

/* What a PERSISTENT RESERVE OUT did to the other I_T nexuses. */
enum pr_event {
	PR_EV_RESERVATIONS_PREEMPTED,  /* unit attention 2Ah/03h */
	PR_EV_RESERVATIONS_RELEASED,   /* unit attention 2Ah/04h */
	PR_EV_REGISTRATIONS_PREEMPTED, /* unit attention 2Ah/05h */
};
typedef void (*pr_event_fn)(const struct pr_reg *reg, enum pr_event ev, void *arg);

/* The decoded parameter list and CDB of a PERSISTENT RESERVE OUT. */
struct pr_out {
	uint8_t service_action; /* SPC-4 6.16.2 table 209 */
	enum pr_type type;
	uint64_t key;           /* RESERVATION KEY */
	uint64_t sa_key;        /* SERVICE ACTION RESERVATION KEY */
	bool aptpl;
	/* REGISTER with ALL_TG_PT (SPC-4 5.12.7): the new registration is
	 * made through every target port of the target, tg_ports (the
	 * sender's among them) */
	bool all_tg_pt;
	unsigned ntg_ports;
	const uint16_t *tg_ports;
	/* REGISTER with SPEC_I_PT (SPC-4 5.12.7): the other initiator ports
	 * to register through the same target port; nports 0: none */
	bool spec_i_pt;
	unsigned nports;
	const char (*ports)[PR_PORT_NAME_MAX + 1];
	/* REGISTER AND MOVE (SPC-4 5.12.8): where the reservation goes, and
	 * whether the sender's registration goes too */
	struct pr_id move_to;
	bool unreg;
};

enum pr_out_sa {
	PR_OUT_REGISTER = 0x00,
	PR_OUT_RESERVE = 0x01,
	PR_OUT_RELEASE = 0x02,
	PR_OUT_CLEAR = 0x03,
	PR_OUT_PREEMPT = 0x04,
	PR_OUT_PREEMPT_AND_ABORT = 0x05, /* PREEMPT, then pr.c aborts the preempted's tasks */
	PR_OUT_REGISTER_IGNORE = 0x06,
	PR_OUT_REGISTER_AND_MOVE = 0x07,
};

void pr_state_init(struct pr_state *s);
/* True when s is consistent: no nexus registered twice, and a
 * reservation of a valid type held by a registration (restored state is
 * checked with it). */
bool pr_state_valid(const struct pr_state *s);
/* Index of id's registration, or -1. */
int pr_state_find(const struct pr_state *s, const struct pr_id *id);
/* True when id holds the reservation (SPC-4 5.12.10: with an
 * all-registrants type every registrant does). */
bool pr_state_is_holder(const struct pr_state *s, const struct pr_id *id);
/* True when a command of access class access from id is refused with
 * RESERVATION CONFLICT (SPC-4 5.12.1 table 61, SBC-3 table 13). */
bool pr_state_conflicts(const struct pr_state *s, const struct pr_id *id, enum op_pr access);
/* Carries out a PERSISTENT RESERVE OUT from id; events for the other
 * nexuses go to ev. Returns SENSE_NONE or why it was refused (then s is
 * unchanged). */
enum sense_reason pr_state_out(struct pr_state *s, const struct pr_id *id,
			       const struct pr_out *out, pr_event_fn ev, void *arg);

#endif
