/* The last step of a login (iscsi_session_bind), after login.c has
 * authorized the initiator: the LUN view the nexus gets, and reinstatement (RFC 7143 §6.3.5), which only the
 * CHAP user of the old session may do and which makes the new nexus wait
 * for the old one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/conn.h"
#include "iscsi/session.h"
#include "util/log.h"

#define INITIATOR "iqn.2026-11.org.test:host1"

static struct scsi_target target;
static struct loop control, dataplane;
static int view_err;
static unsigned target_puts;

static void *host_find_target(const char *name)
{
	(void)name;
	return &target;
}

static void host_put_target(void *t)
{
	(void)t;
	target_puts++;
}

static struct scsi_target *host_scsi_target(void *t)
{
	return t;
}

static int host_lun_view(void *t, const char *initiator_name, struct scsi_lun_view **view)
{
	(void)t;
	(void)initiator_name;
	*view = NULL;
	return view_err;
}

static struct loop *host_pick_dataplane(void)
{
	return &dataplane;
}

static const struct iscsi_host host = {
	.find_target = host_find_target,
	.put_target = host_put_target,
	.scsi_target = host_scsi_target,
	.lun_view = host_lun_view,
	.pick_dataplane = host_pick_dataplane,
	.cmd_window = 16,
};

struct attempt {
	struct iscsi_conn conn;
	struct iscsi_login lg;
	uint16_t tsih;
};

/* A login of INITIATOR with ISID isid_last as chap_user through portal
 * group tpgt, at bind. Its connection lives on the control loop, so a
 * kill only marks it. */
static uint16_t login_bind_through(struct attempt *a, uint8_t isid_last, const char *chap_user, uint16_t tpgt)
{
	memset(a, 0, sizeof(*a));
	a->conn.login_env.tpgt = tpgt;
	a->conn.host = &host;
	a->conn.loop = &control;
	snprintf(a->lg.initiator_name, sizeof(a->lg.initiator_name), "%s", INITIATOR);
	snprintf(a->lg.chap_user, sizeof(a->lg.chap_user), "%s", chap_user);
	a->lg.isid[5] = isid_last;
	a->lg.target = &target;
	return iscsi_session_bind(&a->conn, &a->lg, &a->tsih);
}

static uint16_t login_bind(struct attempt *a, uint8_t isid_last, const char *chap_user)
{
	return login_bind_through(a, isid_last, chap_user, 1);
}

/* The session ends as when its connection goes, then is freed. */
static void end(struct attempt *a)
{
	struct iscsi_session *s = a->conn.session;
	iscsi_session_remove_conn(s, &a->conn);
	iscsi_session_put(s);
}

static void stop(struct loop_msg *msg)
{
	(void)msg;
	dataplane.stop = true;
}

/* Runs what was posted to the data-plane loop (kills, fences opening). */
static void drain(void)
{
	static struct loop_msg msg = { .fn = stop };
	dataplane.stop = false;
	loop_post(&dataplane, &msg);
	loop_run(&dataplane);
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LL_ERROR);
	assert_int_equal(loop_init(&control, 8), 0);
	assert_int_equal(loop_init(&dataplane, 8), 0);
	target.name = "iqn.2026-11.org.lunar:t";
	assert_int_equal(scsi_target_init(&target), 0);
	view_err = 0;
	target_puts = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	drain();
	assert_int_equal(iscsi_session_count(), 0);
	scsi_target_fini(&target);
	loop_fini(&dataplane);
	loop_fini(&control);
	return 0;
}

static void lun_view_out_of_memory_fails_the_login(void **state)
{
	(void)state;
	struct attempt a;
	view_err = -ENOMEM;
	assert_int_equal(login_bind(&a, 1, ""), ISCSI_LOGIN_OUT_OF_RESOURCES);
	/* The login still holds its target reference, to release it. */
	assert_ptr_equal(a.lg.target, &target);
	assert_null(a.conn.session);
}

static void reinstatement_needs_the_same_chap_user(void **state)
{
	(void)state;
	struct attempt old, other, same;
	assert_int_equal(login_bind(&old, 1, "alice"), ISCSI_LOGIN_SUCCESS);
	assert_int_equal(login_bind(&other, 1, "mallory"), ISCSI_LOGIN_NOT_AUTHORIZED);
	assert_int_equal(login_bind(&other, 1, ""), ISCSI_LOGIN_NOT_AUTHORIZED);
	assert_int_equal(iscsi_session_count(), 1);
	assert_int_equal(login_bind(&same, 1, "alice"), ISCSI_LOGIN_SUCCESS);
	drain();
	assert_true(old.conn.session->killed);
	/* The new nexus waits for the old one, and only for it. */
	assert_non_null(same.conn.session->nexus.fence);
	assert_int_equal(atomic_load(&same.conn.session->nexus.fence->pending), 1);
	end(&old);
	drain();
	assert_int_equal(atomic_load(&same.conn.session->nexus.fence->pending), 0);
	end(&same);
	assert_int_equal(target_puts, 2);
}

static void another_isid_is_another_session(void **state)
{
	(void)state;
	struct attempt a, b;
	assert_int_equal(login_bind(&a, 1, "alice"), ISCSI_LOGIN_SUCCESS);
	assert_int_equal(login_bind(&b, 2, "bob"), ISCSI_LOGIN_SUCCESS);
	drain();
	assert_false(a.conn.session->killed);
	assert_null(b.conn.session->nexus.fence);
	end(&a);
	end(&b);
}

/* RFC 7143 §4.4.3: the same ISID through another portal group is another
 * session (its SSID has another TPGT) and another I_T nexus: nothing is
 * reinstated, whatever CHAP user it proved. */
static void another_portal_group_is_another_session(void **state)
{
	(void)state;
	struct attempt a, b;
	assert_int_equal(login_bind_through(&a, 1, "alice", 1), ISCSI_LOGIN_SUCCESS);
	assert_int_equal(login_bind_through(&b, 1, "bob", 2), ISCSI_LOGIN_SUCCESS);
	drain();
	assert_false(a.conn.session->killed);
	assert_null(b.conn.session->nexus.fence);
	assert_int_equal(b.conn.session->nexus.rel_port, 2);
	end(&a);
	end(&b);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(lun_view_out_of_memory_fails_the_login),
		T(reinstatement_needs_the_same_chap_user),
		T(another_isid_is_another_session),
		T(another_portal_group_is_another_session),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
