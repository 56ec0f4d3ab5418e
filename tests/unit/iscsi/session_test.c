/* The CmdSN window of a session (RFC 7143 §4.2.2.1): which commands run
 * now, which wait for a gap to close, which are dropped, and MaxCmdSN;
 * and the session's task table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/conn.h"
#include "iscsi/session.h"
#include "iscsi/task.h"

static struct iscsi_session *session_at(uint32_t exp_cmdsn, unsigned window)
{
	struct iscsi_session *s = calloc(1, sizeof(*s));
	s->exp_cmdsn = exp_cmdsn;
	s->window = window;
	s->max_cmdsn = exp_cmdsn + window - 1;
	s->max_cmdsn_told = s->max_cmdsn;
	return s;
}

static struct iscsi_hdr cmd(uint32_t cmdsn, bool immediate)
{
	struct iscsi_hdr h = { .opcode = ISCSI_OP_SCSI_CMD, .immediate = immediate };
	h.cmd.cmdsn = cmdsn;
	return h;
}

static struct iscsi_held_pdu *held(uint32_t cmdsn)
{
	struct iscsi_held_pdu *p = calloc(1, sizeof(*p));
	p->hdr = cmd(cmdsn, false);
	return p;
}

static void free_held(struct iscsi_session *s)
{
	while (s->held) {
		struct iscsi_held_pdu *p = s->held;
		s->held = p->next;
		free(p);
	}
	free(s);
}

static void test_in_order_command_runs_and_advances_expcmdsn(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	struct iscsi_hdr h = cmd(10, false);
	bool hold;
	assert_true(iscsi_session_admit(s, &h, &hold));
	assert_false(hold);
	assert_int_equal(s->exp_cmdsn, 11);
	free(s);
}

static void test_immediate_command_runs_without_advancing(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	struct iscsi_hdr h = cmd(10, true);
	bool hold;
	assert_true(iscsi_session_admit(s, &h, &hold));
	assert_int_equal(s->exp_cmdsn, 10);
	free(s);
}

static void test_command_ahead_in_window_is_held(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	struct iscsi_hdr h = cmd(13, false);
	bool hold;
	assert_false(iscsi_session_admit(s, &h, &hold));
	assert_true(hold);
	assert_int_equal(s->exp_cmdsn, 10);
	free(s);
}

static void test_command_beyond_maxcmdsn_is_dropped(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	struct iscsi_hdr h = cmd(18, false); /* MaxCmdSN is 17 */
	bool hold;
	assert_false(iscsi_session_admit(s, &h, &hold));
	assert_false(hold);
	free(s);
}

static void test_command_below_expcmdsn_is_dropped(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	struct iscsi_hdr h = cmd(9, false);
	bool hold;
	assert_false(iscsi_session_admit(s, &h, &hold));
	assert_false(hold);
	assert_int_equal(s->exp_cmdsn, 10);
	free(s);
}

static void test_window_wraps_at_2_32(void **state)
{
	struct iscsi_session *s = session_at(0xfffffffeu, 8); /* MaxCmdSN = 5 */
	bool hold;
	struct iscsi_hdr ahead = cmd(3, false);
	assert_false(iscsi_session_admit(s, &ahead, &hold));
	assert_true(hold);
	struct iscsi_hdr beyond = cmd(6, false);
	assert_false(iscsi_session_admit(s, &beyond, &hold));
	assert_false(hold);
	struct iscsi_hdr now = cmd(0xfffffffeu, false);
	assert_true(iscsi_session_admit(s, &now, &hold));
	assert_int_equal(s->exp_cmdsn, 0xffffffffu);
	free(s);
}

static void test_held_commands_come_back_in_cmdsn_order_when_due(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	iscsi_session_hold(s, held(12));
	iscsi_session_hold(s, held(11));
	assert_null(iscsi_session_next_held(s)); /* 10 has not arrived */

	struct iscsi_hdr h = cmd(10, false);
	bool hold;
	assert_true(iscsi_session_admit(s, &h, &hold));
	struct iscsi_held_pdu *p = iscsi_session_next_held(s);
	assert_non_null(p);
	assert_int_equal(p->hdr.cmd.cmdsn, 11);
	free(p);
	p = iscsi_session_next_held(s);
	assert_non_null(p);
	assert_int_equal(p->hdr.cmd.cmdsn, 12);
	free(p);
	assert_null(iscsi_session_next_held(s));
	assert_int_equal(s->exp_cmdsn, 13);
	free_held(s);
}

static void test_duplicate_held_cmdsn_keeps_the_first(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	struct iscsi_held_pdu *first = held(12);
	first->len = 1;
	iscsi_session_hold(s, first);
	iscsi_session_hold(s, held(12));
	assert_int_equal(s->nheld, 1);
	assert_ptr_equal(s->held, first);
	free_held(s);
}

static void admit_commands(struct iscsi_session *s, uint32_t first, unsigned n, bool immediate)
{
	for (unsigned i = 0; i < n; i++) {
		struct iscsi_hdr h = cmd(first + i, immediate);
		bool hold;
		assert_true(iscsi_session_admit(s, &h, &hold));
	}
}

static void test_maxcmdsn_counts_commands_in_the_target(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	admit_commands(s, 10, 4, false); /* accepted and still running */
	assert_int_equal(s->exp_cmdsn, 14);
	assert_int_equal(iscsi_session_max_cmdsn(s), 17);
	for (unsigned i = 0; i < 4; i++)
		iscsi_session_cmd_done(s);
	assert_int_equal(iscsi_session_max_cmdsn(s), 21);
	free(s);
}

static void test_immediate_commands_fill_the_window_by_count(void **state)
{
	struct iscsi_session *s = session_at(10, 4);
	admit_commands(s, 10, 3, true);
	assert_false(iscsi_session_window_full(s));
	admit_commands(s, 10, 1, true);
	assert_true(iscsi_session_window_full(s));
	iscsi_session_cmd_done(s);
	assert_false(iscsi_session_window_full(s));
	free(s);
}

static void test_status_pdu_tells_its_own_slot_free(void **state)
{
	struct iscsi_session *s = session_at(10, 4);
	admit_commands(s, 10, 4, false);
	assert_int_equal(iscsi_session_tell_max_cmdsn(s, false), 13);
	/* The window is closed: even the next command in order is outside. */
	struct iscsi_hdr h = cmd(14, false);
	bool hold;
	assert_false(iscsi_session_admit(s, &h, &hold));
	assert_false(hold);
	/* The response of one of the four leaves before the initiator reads it. */
	assert_int_equal(iscsi_session_tell_max_cmdsn(s, true), 14);
	/* What was told is never taken back, and the window admits up to it. */
	assert_int_equal(iscsi_session_tell_max_cmdsn(s, false), 14);
	assert_true(iscsi_session_admit(s, &h, &hold));
	free(s);
}

static void test_session_at_its_data_share_opens_no_slots(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	s->data_share = 1000;
	admit_commands(s, 10, 2, false);
	s->data_claimed = 1000;
	iscsi_session_cmd_done(s);
	assert_int_equal(iscsi_session_max_cmdsn(s), 17);
	s->data_claimed = 500;
	iscsi_session_cmd_done(s);
	assert_int_equal(iscsi_session_max_cmdsn(s), 19);
	free(s);
}

static void test_maxcmdsn_never_moves_back(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	/* Immediate commands take slots without moving ExpCmdSN. */
	admit_commands(s, 10, 2, true);
	assert_int_equal(iscsi_session_max_cmdsn(s), 17);
	free(s);
}

static void test_reading_maxcmdsn_changes_nothing(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	admit_commands(s, 10, 3, false);
	s->active = 0; /* changed behind the window's back: not seen until the next update */
	assert_int_equal(iscsi_session_max_cmdsn(s), 17);
	assert_int_equal(iscsi_session_max_cmdsn(s), 17);
	free(s);
}

static void test_held_command_counts_as_active_when_its_turn_comes(void **state)
{
	struct iscsi_session *s = session_at(10, 8);
	iscsi_session_hold(s, held(11));
	admit_commands(s, 10, 1, false);
	struct iscsi_held_pdu *p = iscsi_session_next_held(s);
	assert_non_null(p);
	free(p);
	assert_int_equal(s->active, 2);
	assert_int_equal(iscsi_session_max_cmdsn(s), 17);
	free(s);
}

static void test_abort_of_command_yet_to_come_takes_its_turn(void **state)
{
	struct iscsi_session *s = session_at(5, 8);
	assert_true(iscsi_session_abort_cmdsn(s, 5, 6));
	struct iscsi_held_pdu *p = iscsi_session_next_held(s);
	assert_non_null(p);
	assert_true(p->aborted);
	free(p);
	assert_int_equal(s->exp_cmdsn, 6);
	/* The command itself arriving late is now below ExpCmdSN. */
	struct iscsi_hdr late = cmd(5, false);
	bool hold;
	assert_false(iscsi_session_admit(s, &late, &hold));
	assert_false(hold);
	free(s);
}

static void test_abort_marks_a_held_command(void **state)
{
	struct iscsi_session *s = session_at(5, 8);
	struct iscsi_held_pdu *h7 = held(7);
	iscsi_session_hold(s, h7);
	assert_true(iscsi_session_abort_cmdsn(s, 7, 9));
	assert_true(h7->aborted);
	assert_int_equal(s->nheld, 1);
	free_held(s);
}

static void test_abort_outside_window_or_not_older_than_tmf_is_refused(void **state)
{
	struct iscsi_session *s = session_at(5, 8);
	assert_false(iscsi_session_abort_cmdsn(s, 4, 6));  /* already answered */
	assert_false(iscsi_session_abort_cmdsn(s, 13, 14)); /* beyond MaxCmdSN 12 */
	assert_false(iscsi_session_abort_cmdsn(s, 6, 6));  /* not before the TMF */
	assert_null(s->held);
	free(s);
}

static void test_tasks_are_found_by_itt_until_removed(void **state)
{
	struct iscsi_session *s = session_at(1, 8);
	struct iscsi_task a = { .itt = 7 }, b = { .itt = 7 + 256 }, c = { .itt = 0xffffff00u };
	iscsi_session_add_task(s, &a);
	iscsi_session_add_task(s, &b);
	iscsi_session_add_task(s, &c);
	assert_int_equal(s->ntasks, 3);
	assert_ptr_equal(iscsi_session_find_task(s, 7), &a);
	assert_ptr_equal(iscsi_session_find_task(s, 7 + 256), &b);
	assert_ptr_equal(iscsi_session_find_task(s, 0xffffff00u), &c);
	assert_null(iscsi_session_find_task(s, 8));
	iscsi_session_remove_task(s, &a);
	assert_null(iscsi_session_find_task(s, 7));
	assert_ptr_equal(iscsi_session_find_task(s, 7 + 256), &b);
	assert_int_equal(s->ntasks, 2);
	free(s);
}

static void test_target_transfer_tags_skip_the_reserved_value(void **state)
{
	struct iscsi_session *s = session_at(1, 8);
	s->next_ttt = ISCSI_RSVD_TAG - 1;
	assert_int_equal(iscsi_session_new_ttt(s), 1);
	assert_int_equal(iscsi_session_new_ttt(s), 2);
	free(s);
}

/* A discovery session: no I_T nexus to set up or tear down. */
static struct iscsi_session *session_with_conns(struct iscsi_conn *conns, unsigned n)
{
	struct iscsi_session *s = session_at(1, 8);
	s->discovery = true;
	s->refs = 1 + n; /* alive, and one per connection */
	for (unsigned i = n; i-- > 0;) {
		conns[i].session_next = s->conns;
		s->conns = &conns[i];
	}
	s->nconns = n;
	return s;
}

static void test_session_outlives_one_of_two_connections(void **state)
{
	struct iscsi_conn conns[2] = { 0 };
	struct iscsi_session *s = session_with_conns(conns, 2);
	iscsi_session_remove_conn(s, &conns[0]);
	assert_int_equal(s->nconns, 1);
	assert_ptr_equal(s->conns, &conns[1]);
	assert_int_equal(s->refs, 3); /* not ended */
	iscsi_session_remove_conn(s, &conns[1]);
	iscsi_session_put(s);
	iscsi_session_put(s); /* the last put frees it (the leak checker knows) */
}

static void test_last_connection_gone_ends_the_session_but_a_task_keeps_it(void **state)
{
	struct iscsi_conn conn = { 0 };
	struct iscsi_session *s = session_with_conns(&conn, 1);
	iscsi_session_get(s); /* a task still executing */
	iscsi_session_remove_conn(s, &conn);
	assert_int_equal(s->nconns, 0);
	assert_null(s->conns);
	assert_int_equal(s->refs, 2); /* ERL 0: ended, held by the connection and the task */
	iscsi_session_put(s);         /* the connection is freed */
	assert_int_equal(s->refs, 1);
	iscsi_session_put(s);         /* the task is done: freed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_command_runs_and_advances_expcmdsn),
		cmocka_unit_test(test_immediate_command_runs_without_advancing),
		cmocka_unit_test(test_command_ahead_in_window_is_held),
		cmocka_unit_test(test_command_beyond_maxcmdsn_is_dropped),
		cmocka_unit_test(test_command_below_expcmdsn_is_dropped),
		cmocka_unit_test(test_window_wraps_at_2_32),
		cmocka_unit_test(test_held_commands_come_back_in_cmdsn_order_when_due),
		cmocka_unit_test(test_duplicate_held_cmdsn_keeps_the_first),
		cmocka_unit_test(test_maxcmdsn_counts_commands_in_the_target),
		cmocka_unit_test(test_immediate_commands_fill_the_window_by_count),
		cmocka_unit_test(test_status_pdu_tells_its_own_slot_free),
		cmocka_unit_test(test_session_at_its_data_share_opens_no_slots),
		cmocka_unit_test(test_maxcmdsn_never_moves_back),
		cmocka_unit_test(test_reading_maxcmdsn_changes_nothing),
		cmocka_unit_test(test_held_command_counts_as_active_when_its_turn_comes),
		cmocka_unit_test(test_abort_of_command_yet_to_come_takes_its_turn),
		cmocka_unit_test(test_abort_marks_a_held_command),
		cmocka_unit_test(test_abort_outside_window_or_not_older_than_tmf_is_refused),
		cmocka_unit_test(test_tasks_are_found_by_itt_until_removed),
		cmocka_unit_test(test_target_transfer_tags_skip_the_reserved_value),
		cmocka_unit_test(test_session_outlives_one_of_two_connections),
		cmocka_unit_test(test_last_connection_gone_ends_the_session_but_a_task_keeps_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
