#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/opcodes.h"
#include "scsi/pr_state.h"

static const struct pr_id A = { "iqn.2026-11.org.lunar:a,i,0x23d000000001", 1 };
static const struct pr_id B = { "iqn.2026-11.org.lunar:b,i,0x23d000000001", 1 };
static const struct pr_id C = { "iqn.2026-11.org.lunar:c,i,0x23d000000001", 1 };

struct events {
	unsigned n;
	char to[8][PR_PORT_NAME_MAX + 1];
	enum pr_event ev[8];
};

static void record(const struct pr_reg *reg, enum pr_event ev, void *arg)
{
	struct events *e = arg;
	assert_true(e->n < 8);
	strcpy(e->to[e->n], reg->initiator);
	e->ev[e->n++] = ev;
}

static enum sense_reason out(struct pr_state *s, const struct pr_id *id, uint8_t sa,
			     enum pr_type type, uint64_t key, uint64_t sa_key, struct events *e)
{
	struct events none = { 0 };
	struct pr_out o = { .service_action = sa, .type = type, .key = key, .sa_key = sa_key };
	return pr_state_out(s, id, &o, record, e ? e : &none);
}

static void reg(struct pr_state *s, const struct pr_id *id, uint64_t key)
{
	assert_int_equal(out(s, id, PR_OUT_REGISTER_IGNORE, 0, 0, key, NULL), SENSE_NONE);
}

static void test_register_checks_the_key_and_counts_generations(void **state)
{
	struct pr_state s;
	pr_state_init(&s);
	/* SPC-4 5.12.7: an unregistered nexus must quote key 0. */
	assert_int_equal(out(&s, &A, PR_OUT_REGISTER, 0, 5, 0xA, NULL), SENSE_RESERVATION_CONFLICT);
	assert_int_equal(out(&s, &A, PR_OUT_REGISTER, 0, 0, 0xA, NULL), SENSE_NONE);
	assert_int_equal(s.nregs, 1);
	assert_int_equal(s.generation, 1);
	assert_int_equal(out(&s, &A, PR_OUT_REGISTER, 0, 0xB, 0xC, NULL),
			 SENSE_RESERVATION_CONFLICT);
	assert_int_equal(out(&s, &A, PR_OUT_REGISTER, 0, 0xA, 0xC, NULL), SENSE_NONE);
	assert_int_equal(s.regs[0].key, 0xC);
	assert_int_equal(out(&s, &A, PR_OUT_REGISTER, 0, 0xC, 0, NULL), SENSE_NONE);
	assert_int_equal(s.nregs, 0);
	assert_int_equal(s.generation, 3);
}

static void test_register_and_ignore_replaces_any_key(void **state)
{
	struct pr_state s;
	pr_state_init(&s);
	reg(&s, &A, 1);
	reg(&s, &A, 2);
	assert_int_equal(s.nregs, 1);
	assert_int_equal(s.regs[0].key, 2);
}

static void test_registrations_are_bounded(void **state)
{
	struct pr_state s;
	pr_state_init(&s);
	char names[PR_MAX_REGS + 1][32];
	for (unsigned i = 0; i <= PR_MAX_REGS; i++) {
		snprintf(names[i], sizeof(names[i]), "iqn.x:%u,i,0x1", i);
		struct pr_id id = { names[i], 1 };
		enum sense_reason r = out(&s, &id, PR_OUT_REGISTER_IGNORE, 0, 0, i + 1, NULL);
		assert_int_equal(r, i < PR_MAX_REGS ? SENSE_NONE
						    : SENSE_INSUFFICIENT_REGISTRATION_RESOURCES);
	}
}

static void test_reserve_needs_registration_and_key(void **state)
{
	struct pr_state s;
	pr_state_init(&s);
	assert_int_equal(out(&s, &A, PR_OUT_RESERVE, PR_TYPE_WE, 0, 0, NULL),
			 SENSE_RESERVATION_CONFLICT);
	reg(&s, &A, 0xA);
	assert_int_equal(out(&s, &A, PR_OUT_RESERVE, PR_TYPE_WE, 0xB, 0, NULL),
			 SENSE_RESERVATION_CONFLICT);
	assert_int_equal(out(&s, &A, PR_OUT_RESERVE, 2, 0xA, 0, NULL), SENSE_INVALID_FIELD_IN_CDB);
	assert_int_equal(out(&s, &A, PR_OUT_RESERVE, PR_TYPE_WE, 0xA, 0, NULL), SENSE_NONE);
	assert_true(pr_state_is_holder(&s, &A));
	/* the same reservation again is GOOD, another type conflicts */
	assert_int_equal(out(&s, &A, PR_OUT_RESERVE, PR_TYPE_WE, 0xA, 0, NULL), SENSE_NONE);
	assert_int_equal(out(&s, &A, PR_OUT_RESERVE, PR_TYPE_EA, 0xA, 0, NULL),
			 SENSE_RESERVATION_CONFLICT);
	reg(&s, &B, 0xB);
	assert_int_equal(out(&s, &B, PR_OUT_RESERVE, PR_TYPE_WE, 0xB, 0, NULL),
			 SENSE_RESERVATION_CONFLICT);
	/* reserving changes no generation (SPC-4 6.15.2) */
	assert_int_equal(s.generation, 2);
}

static void test_release_by_holder_of_the_wrong_type_is_invalid(void **state)
{
	struct pr_state s;
	pr_state_init(&s);
	reg(&s, &A, 0xA);
	reg(&s, &B, 0xB);
	out(&s, &A, PR_OUT_RESERVE, PR_TYPE_EA, 0xA, 0, NULL);
	/* a registrant that holds nothing releases nothing, GOOD */
	assert_int_equal(out(&s, &B, PR_OUT_RELEASE, PR_TYPE_EA, 0xB, 0, NULL), SENSE_NONE);
	assert_int_equal(s.type, PR_TYPE_EA);
	assert_int_equal(out(&s, &A, PR_OUT_RELEASE, PR_TYPE_WE, 0xA, 0, NULL),
			 SENSE_INVALID_RELEASE_OF_PR);
	assert_int_equal(out(&s, &A, PR_OUT_RELEASE, PR_TYPE_EA, 0xA, 0, NULL), SENSE_NONE);
	assert_int_equal(s.type, PR_TYPE_NONE);
}

static void test_release_of_registrants_only_tells_the_others(void **state)
{
	struct pr_state s;
	struct events e = { 0 };
	pr_state_init(&s);
	reg(&s, &A, 0xA);
	reg(&s, &B, 0xB);
	out(&s, &A, PR_OUT_RESERVE, PR_TYPE_WE_RO, 0xA, 0, NULL);
	assert_int_equal(out(&s, &A, PR_OUT_RELEASE, PR_TYPE_WE_RO, 0xA, 0, &e), SENSE_NONE);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.to[0], B.initiator);
	assert_int_equal(e.ev[0], PR_EV_RESERVATIONS_RELEASED);
}

static void test_holder_unregistering_releases_unless_all_registrants(void **state)
{
	struct pr_state s;
	pr_state_init(&s);
	reg(&s, &A, 0xA);
	reg(&s, &B, 0xB);
	out(&s, &A, PR_OUT_RESERVE, PR_TYPE_EA_RO, 0xA, 0, NULL);
	out(&s, &A, PR_OUT_REGISTER, 0, 0xA, 0, NULL);
	assert_int_equal(s.type, PR_TYPE_NONE);

	reg(&s, &A, 0xA);
	out(&s, &A, PR_OUT_RESERVE, PR_TYPE_EA_AR, 0xA, 0, NULL);
	out(&s, &A, PR_OUT_REGISTER, 0, 0xA, 0, NULL);
	assert_int_equal(s.type, PR_TYPE_EA_AR);
	assert_true(pr_state_is_holder(&s, &B));
	/* the last registrant takes the reservation with it */
	out(&s, &B, PR_OUT_REGISTER, 0, 0xB, 0, NULL);
	assert_int_equal(s.type, PR_TYPE_NONE);
}

static void test_clear_drops_everything_and_tells_the_others(void **state)
{
	struct pr_state s;
	struct events e = { 0 };
	pr_state_init(&s);
	reg(&s, &A, 0xA);
	reg(&s, &B, 0xB);
	out(&s, &B, PR_OUT_RESERVE, PR_TYPE_WE, 0xB, 0, NULL);
	assert_int_equal(out(&s, &A, PR_OUT_CLEAR, 0, 0xA, 0, &e), SENSE_NONE);
	assert_int_equal(s.nregs, 0);
	assert_int_equal(s.type, PR_TYPE_NONE);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.to[0], B.initiator);
	assert_int_equal(e.ev[0], PR_EV_RESERVATIONS_PREEMPTED);
}

static void test_preempt_without_reservation_removes_registrations(void **state)
{
	struct pr_state s;
	struct events e = { 0 };
	pr_state_init(&s);
	reg(&s, &A, 0xA);
	reg(&s, &B, 0xB);
	uint32_t gen = s.generation;
	assert_int_equal(out(&s, &B, PR_OUT_PREEMPT, PR_TYPE_EA, 0xB, 0x99, NULL),
			 SENSE_RESERVATION_CONFLICT);
	assert_int_equal(out(&s, &B, PR_OUT_PREEMPT, PR_TYPE_EA, 0xB, 0, NULL),
			 SENSE_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(out(&s, &B, PR_OUT_PREEMPT, PR_TYPE_EA, 0xB, 0xA, &e), SENSE_NONE);
	assert_int_equal(s.nregs, 1);
	assert_int_equal(s.regs[0].key, 0xB);
	assert_int_equal(s.generation, gen + 1);
	assert_int_equal(s.type, PR_TYPE_NONE);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.ev[0], PR_EV_REGISTRATIONS_PREEMPTED);
}

static void test_preempt_of_the_holder_takes_the_reservation(void **state)
{
	struct pr_state s;
	struct events e = { 0 };
	pr_state_init(&s);
	reg(&s, &A, 0xA);
	reg(&s, &B, 0xB);
	reg(&s, &C, 0xC);
	out(&s, &A, PR_OUT_RESERVE, PR_TYPE_WE, 0xA, 0, NULL);
	assert_int_equal(out(&s, &B, PR_OUT_PREEMPT, PR_TYPE_EA, 0xB, 0xA, &e), SENSE_NONE);
	assert_true(pr_state_is_holder(&s, &B));
	assert_int_equal(s.type, PR_TYPE_EA);
	assert_int_equal(pr_state_find(&s, &A), -1);
	/* A's registration was preempted; the type changed, so C hears
	 * its reservation was released */
	assert_int_equal(e.n, 2);
	assert_string_equal(e.to[0], A.initiator);
	assert_int_equal(e.ev[0], PR_EV_REGISTRATIONS_PREEMPTED);
	assert_string_equal(e.to[1], C.initiator);
	assert_int_equal(e.ev[1], PR_EV_RESERVATIONS_RELEASED);
}

static void test_preempt_all_registrants_with_key_zero_takes_over(void **state)
{
	struct pr_state s;
	pr_state_init(&s);
	reg(&s, &A, 0xA);
	reg(&s, &B, 0xB);
	reg(&s, &C, 0xC);
	out(&s, &A, PR_OUT_RESERVE, PR_TYPE_WE_AR, 0xA, 0, NULL);
	assert_int_equal(out(&s, &C, PR_OUT_PREEMPT, PR_TYPE_WE, 0xC, 0, NULL), SENSE_NONE);
	assert_int_equal(s.nregs, 1);
	assert_true(pr_state_is_holder(&s, &C));
	assert_int_equal(s.type, PR_TYPE_WE);
}

static enum sense_reason register_ports(struct pr_state *s, const struct pr_id *id, uint8_t sa,
				       uint64_t key, const char (*ports)[PR_PORT_NAME_MAX + 1],
				       unsigned n)
{
	struct pr_out o = { .service_action = sa, .sa_key = key, .spec_i_pt = true,
			    .ports = ports, .nports = n };
	struct events none = { 0 };
	return pr_state_out(s, id, &o, record, &none);
}

/* SPC-4 5.12.7: SPEC_I_PT registers the sender and the ports it names, all
 * or none. */
static void test_spec_i_pt_registers_every_port_named(void **state)
{
	static const char ports[2][PR_PORT_NAME_MAX + 1] = {
		"iqn.2026-11.org.lunar:b,i,0x23d000000001",
		"iqn.2026-11.org.lunar:c,i,0x23d000000001",
	};
	struct pr_state s;
	pr_state_init(&s);
	assert_int_equal(register_ports(&s, &A, PR_OUT_REGISTER_IGNORE, 7, ports, 2),
			 SENSE_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(register_ports(&s, &A, PR_OUT_REGISTER, 0, ports, 2),
			 SENSE_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(register_ports(&s, &A, PR_OUT_REGISTER, 7, ports, 2), SENSE_NONE);
	assert_int_equal(s.nregs, 3);
	assert_int_equal(s.generation, 1);
	assert_true(pr_state_find(&s, &B) >= 0);
	assert_true(pr_state_find(&s, &C) >= 0);
	/* a port already registered: nothing happens */
	static const char again[1][PR_PORT_NAME_MAX + 1] = { "iqn.2026-11.org.lunar:c,i,0x23d000000001" };
	struct pr_id d = { "iqn.2026-11.org.lunar:d,i,0x1", 1 };
	assert_int_equal(register_ports(&s, &d, PR_OUT_REGISTER, 7, again, 1),
			 SENSE_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(s.nregs, 3);
}

static enum sense_reason move(struct pr_state *s, const struct pr_id *id, uint64_t key,
			      uint64_t sa_key, const struct pr_id *to, bool unreg)
{
	struct pr_out o = { .service_action = PR_OUT_REGISTER_AND_MOVE, .key = key,
			    .sa_key = sa_key, .move_to = *to, .unreg = unreg };
	struct events none = { 0 };
	return pr_state_out(s, id, &o, record, &none);
}

/* SPC-4 5.12.8 */
static void test_register_and_move_hands_the_reservation_over(void **state)
{
	struct pr_state s;
	pr_state_init(&s);
	reg(&s, &A, 0xA);
	reg(&s, &B, 0xB);
	assert_int_equal(move(&s, &A, 0xA, 0xC, &C, false), SENSE_RESERVATION_CONFLICT);
	out(&s, &A, PR_OUT_RESERVE, PR_TYPE_WE, 0xA, 0, NULL);
	assert_int_equal(move(&s, &B, 0xB, 0xC, &C, false), SENSE_RESERVATION_CONFLICT);
	assert_int_equal(move(&s, &A, 0xA, 0, &C, false), SENSE_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(move(&s, &A, 0xA, 0xC, &A, false), SENSE_INVALID_FIELD_IN_PARAM_LIST);
	assert_int_equal(move(&s, &A, 0xA, 0xC, &C, true), SENSE_NONE);
	assert_true(pr_state_is_holder(&s, &C));
	assert_int_equal(s.type, PR_TYPE_WE);
	assert_int_equal(pr_state_find(&s, &A), -1);
	assert_int_equal(s.regs[pr_state_find(&s, &C)].key, 0xC);
	/* an all-registrants reservation has no one holder to move */
	out(&s, &C, PR_OUT_RELEASE, PR_TYPE_WE, 0xC, 0, NULL);
	out(&s, &C, PR_OUT_RESERVE, PR_TYPE_WE_AR, 0xC, 0, NULL);
	assert_int_equal(move(&s, &C, 0xC, 0xA, &A, false), SENSE_RESERVATION_CONFLICT);
}

/* iSCSI names compare without case (RFC 3722). */
static void test_initiator_names_compare_without_case(void **state)
{
	struct pr_state s;
	pr_state_init(&s);
	reg(&s, &A, 0xA);
	struct pr_id upper = { "IQN.2026-11.ORG.LUNAR:A,i,0x23D000000001", 1 };
	assert_int_equal(pr_state_find(&s, &upper), 0);
}

/* libiscsi's expectations, SPC-4 5.12.1 table 61: read and write access of
 * a registered and an unregistered nexus that does not hold the
 * reservation, per type. */
static void test_conflicts_follow_the_type(void **state)
{
	static const struct {
		enum pr_type type;
		bool reg_read, reg_write, unreg_read, unreg_write;
	} cases[] = {
		{ PR_TYPE_EA, false, false, false, false },
		{ PR_TYPE_WE, true, false, true, false },
		{ PR_TYPE_EA_RO, true, true, false, false },
		{ PR_TYPE_WE_RO, true, true, true, false },
		{ PR_TYPE_EA_AR, true, true, false, false },
		{ PR_TYPE_WE_AR, true, true, true, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pr_state s;
		pr_state_init(&s);
		reg(&s, &A, 0xA);
		reg(&s, &B, 0xB);
		assert_false(pr_state_conflicts(&s, &C, OP_PR_CONFLICT));
		out(&s, &A, PR_OUT_RESERVE, cases[i].type, 0xA, 0, NULL);
		assert_false(pr_state_conflicts(&s, &A, OP_PR_CONFLICT));
		assert_int_equal(!pr_state_conflicts(&s, &B, OP_PR_READ), cases[i].reg_read);
		assert_int_equal(!pr_state_conflicts(&s, &B, OP_PR_CONFLICT), cases[i].reg_write);
		assert_int_equal(!pr_state_conflicts(&s, &C, OP_PR_READ), cases[i].unreg_read);
		assert_int_equal(!pr_state_conflicts(&s, &C, OP_PR_CONFLICT),
				 cases[i].unreg_write);
		assert_false(pr_state_conflicts(&s, &C, OP_PR_ALLOWED));
	}
}

/* The same initiator through another target port is another I_T nexus. */
static void test_identity_includes_the_target_port(void **state)
{
	struct pr_state s;
	pr_state_init(&s);
	reg(&s, &A, 0xA);
	struct pr_id other_port = { A.initiator, 2 };
	assert_int_equal(pr_state_find(&s, &other_port), -1);
	out(&s, &A, PR_OUT_RESERVE, PR_TYPE_EA, 0xA, 0, NULL);
	assert_true(pr_state_conflicts(&s, &other_port, OP_PR_READ));
}

/* ALL_TG_PT (SPC-4 5.12.7): one REGISTER through port 1 registers the
 * initiator through every port of the target; a port it already has a
 * registration through keeps its key. */
static void test_all_tg_pt_registers_through_every_port(void **state)
{
	struct pr_state s;
	pr_state_init(&s);
	static const uint16_t ports[] = { 1, 2, 5 };
	struct pr_id at5 = { A.initiator, 5 };
	reg(&s, &at5, 0x5);
	struct pr_out o = { .service_action = PR_OUT_REGISTER, .sa_key = 0xA, .all_tg_pt = true,
			    .ntg_ports = 3, .tg_ports = ports };
	assert_int_equal(pr_state_out(&s, &A, &o, record, NULL), SENSE_NONE);
	assert_int_equal(s.nregs, 3);
	struct pr_id at2 = { A.initiator, 2 };
	assert_int_equal(s.regs[pr_state_find(&s, &A)].key, 0xA);
	assert_int_equal(s.regs[pr_state_find(&s, &at2)].key, 0xA);
	assert_int_equal(s.regs[pr_state_find(&s, &at5)].key, 0x5);
	/* without ALL_TG_PT only the sender's port */
	o.all_tg_pt = false;
	assert_int_equal(pr_state_out(&s, &B, &o, record, NULL), SENSE_NONE);
	assert_int_equal(s.nregs, 4);
}

/* The conflict column of the opcode table (SPC-4 table 61, SBC-3 table 13). */
static void test_opcode_table_conflict_column(void **state)
{
	static const struct {
		uint8_t opcode;
		int sa;
		enum op_pr pr;
	} want[] = {
		{ 0x00, -1, OP_PR_ALLOWED },   /* TEST UNIT READY */
		{ 0x12, -1, OP_PR_ALLOWED },   /* INQUIRY */
		{ 0xA0, -1, OP_PR_ALLOWED },   /* REPORT LUNS */
		{ 0x25, -1, OP_PR_ALLOWED },   /* READ CAPACITY(10) */
		{ 0x5E, 0x00, OP_PR_ALLOWED }, /* PERSISTENT RESERVE IN */
		{ 0x5F, 0x00, OP_PR_ALLOWED }, /* PERSISTENT RESERVE OUT */
		{ 0x28, -1, OP_PR_READ },      /* READ(10) */
		{ 0x88, -1, OP_PR_READ },      /* READ(16) */
		{ 0x2F, -1, OP_PR_READ },      /* VERIFY(10) */
		{ 0x2A, -1, OP_PR_CONFLICT },  /* WRITE(10) */
		{ 0x8A, -1, OP_PR_CONFLICT },  /* WRITE(16) */
		{ 0x35, -1, OP_PR_CONFLICT },  /* SYNCHRONIZE CACHE(10) */
		{ 0x15, -1, OP_PR_CONFLICT },  /* MODE SELECT(6) */
		{ 0x1A, -1, OP_PR_CONFLICT },  /* MODE SENSE(6) */
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct scsi_opdef *op = scsi_opdef_find(want[i].opcode, want[i].sa);
		assert_non_null(op);
		assert_int_equal(op->pr, want[i].pr);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_checks_the_key_and_counts_generations),
		cmocka_unit_test(test_register_and_ignore_replaces_any_key),
		cmocka_unit_test(test_registrations_are_bounded),
		cmocka_unit_test(test_reserve_needs_registration_and_key),
		cmocka_unit_test(test_release_by_holder_of_the_wrong_type_is_invalid),
		cmocka_unit_test(test_release_of_registrants_only_tells_the_others),
		cmocka_unit_test(test_holder_unregistering_releases_unless_all_registrants),
		cmocka_unit_test(test_clear_drops_everything_and_tells_the_others),
		cmocka_unit_test(test_preempt_without_reservation_removes_registrations),
		cmocka_unit_test(test_preempt_of_the_holder_takes_the_reservation),
		cmocka_unit_test(test_preempt_all_registrants_with_key_zero_takes_over),
		cmocka_unit_test(test_spec_i_pt_registers_every_port_named),
		cmocka_unit_test(test_register_and_move_hands_the_reservation_over),
		cmocka_unit_test(test_initiator_names_compare_without_case),
		cmocka_unit_test(test_conflicts_follow_the_type),
		cmocka_unit_test(test_identity_includes_the_target_port),
		cmocka_unit_test(test_all_tg_pt_registers_through_every_port),
		cmocka_unit_test(test_opcode_table_conflict_column),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
