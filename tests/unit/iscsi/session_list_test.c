/* Session snapshots (session_list.c): each loop copies its own sessions
 * when asked, and the answer comes once every loop has replied. The loops
 * here are run by hand, one posted batch at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/conn.h"
#include "iscsi/session.h"
#include "iscsi/session_list.h"
#include "util/log.h"
#include "util/macros.h"

#define INITIATOR "iqn.2026-11.org.test:host1"
#define TARGET "iqn.2026-11.org.lunar:t"

static struct scsi_target target;
static struct loop control, dataplane;

static void *host_find_target(const char *name)
{
	return &target;
}

static void host_put_target(void *t)
{
}

static struct scsi_target *host_scsi_target(void *t)
{
	return t;
}

static int host_lun_view(void *t, const char *initiator_name, struct scsi_lun_view **view)
{
	*view = NULL;
	return 0;
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

static void login(struct attempt *a, uint8_t isid_last, bool discovery)
{
	memset(a, 0, sizeof(*a));
	a->conn.host = &host;
	a->conn.loop = &control;
	snprintf(a->conn.peer_text, sizeof(a->conn.peer_text), "192.0.2.%u:40000", isid_last);
	snprintf(a->lg.initiator_name, sizeof(a->lg.initiator_name), "%s", INITIATOR);
	a->lg.isid[5] = isid_last;
	a->lg.cid = isid_last;
	a->lg.discovery = discovery;
	if (!discovery) {
		snprintf(a->lg.target_name, sizeof(a->lg.target_name), "%s", TARGET);
		a->lg.target = &target;
	}
	a->lg.params.max_burst = 65536;
	assert_int_equal(iscsi_session_bind(&a->conn, &a->lg, &a->tsih), ISCSI_LOGIN_SUCCESS);
}

static void end(struct attempt *a)
{
	struct iscsi_session *s = a->conn.session;
	iscsi_session_remove_conn(s, &a->conn);
	iscsi_session_put(s);
}

struct stopper {
	struct loop_msg msg;
	struct loop *loop;
};

static void stop(struct loop_msg *msg)
{
	container_of(msg, struct stopper, msg)->loop->stop = true;
}

/* Runs what was posted to loop so far. */
static void drain(struct loop *loop)
{
	struct stopper s = { .msg.fn = stop, .loop = loop };
	loop->stop = false;
	loop_post(loop, &s.msg);
	loop_run(loop);
}

static struct iscsi_session_list got;
static int got_err;
static int calls;

static void on_done(struct iscsi_session_list *list, int err, void *arg)
{
	got = *list;
	got_err = err;
	calls++;
	assert_ptr_equal(arg, &got);
}

static int setup(void **state)
{
	log_set_level(LL_ERROR);
	assert_int_equal(loop_init(&control, 8), 0);
	assert_int_equal(loop_init(&dataplane, 8), 0);
	target.name = TARGET;
	assert_int_equal(scsi_target_init(&target), 0);
	calls = 0;
	memset(&got, 0, sizeof(got));
	return 0;
}

static int teardown(void **state)
{
	iscsi_session_list_free(&got);
	drain(&dataplane);
	assert_int_equal(iscsi_session_count(), 0);
	scsi_target_fini(&target);
	loop_fini(&dataplane);
	loop_fini(&control);
	return 0;
}

static void answer_waits_for_every_loop(void **state)
{
	struct loop *loops[] = { &dataplane };
	struct attempt normal, disc;
	login(&normal, 1, false);
	login(&disc, 2, true);
	assert_int_equal(iscsi_session_list_gather(&control, loops, 1, on_done, &got), 0);
	assert_int_equal(calls, 0);
	drain(&dataplane);
	assert_int_equal(calls, 0);
	drain(&control);
	assert_int_equal(calls, 1);
	assert_int_equal(got_err, 0);
	assert_int_equal(got.n, 2);
	const struct iscsi_session_info *n = &got.v[0], *d = &got.v[1];
	if (n->discovery) {
		n = &got.v[1];
		d = &got.v[0];
	}
	assert_false(n->discovery);
	assert_int_equal(n->tsih, normal.tsih);
	assert_int_equal(n->isid[5], 1);
	assert_string_equal(n->initiator, INITIATOR);
	assert_string_equal(n->target, TARGET);
	assert_int_equal(n->thread, 0);
	assert_int_equal(n->params.max_burst, 65536);
	assert_int_equal(n->nconns, 1);
	assert_int_equal(n->conns[0].cid, 1);
	assert_string_equal(n->conns[0].peer, "192.0.2.1:40000");
	assert_true(d->discovery);
	assert_int_equal(d->thread, -1);
	assert_string_equal(d->target, "");
	end(&normal);
	end(&disc);
}

static void no_loops_answers_at_once(void **state)
{
	assert_int_equal(iscsi_session_list_gather(&control, NULL, 0, on_done, &got), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(got.n, 0);
	assert_null(got.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(answer_waits_for_every_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(no_loops_answers_at_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
