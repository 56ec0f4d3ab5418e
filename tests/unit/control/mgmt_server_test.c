/* The management socket on a real loop (mgmt_server.c): a client thread
 * talks to it while the test runs the loop; the client stops the loop when
 * it is done. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/mgmt_server.h"
#include "util/log.h"

static struct loop loop;
static char dir[40], path[80];

static void m_echo(struct mgmt_call *call, json_t *params, void *ctx)
{
	mgmt_call_result(call, json_incref(params));
}

static const struct mgmt_method methods[] = { { "echo", m_echo } };
static const struct mgmt_methods table = { methods, 1, NULL };

/* What the client thread saw. */
static char got[4][256];
static int ngot;
static bool closed_after;

struct script {
	const char *send;           /* sent in one write */
	size_t send_len;            /* 0: strlen(send) */
	int answers;                /* lines to read back */
	bool wait_close;            /* then wait for lunard to close */
};

static struct loop_msg stop_msg;

static void stop(struct loop_msg *msg)
{
	loop.stop = true;
}

static int client_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return fd;
}

/* Reads one line into got[ngot]; false at EOF. */
static bool read_line(int fd)
{
	char *at = got[ngot];
	size_t n = 0;
	while (n + 1 < sizeof(got[0])) {
		ssize_t r = recv(fd, at + n, 1, 0);
		if (r <= 0)
			return false;
		if (at[n] == '\n') {
			at[n] = '\0';
			ngot++;
			return true;
		}
		n++;
	}
	return false;
}

static void *client(void *arg)
{
	const struct script *sc = arg;
	int fd = client_connect();
	if (fd >= 0) {
		size_t len = sc->send_len ? sc->send_len : strlen(sc->send);
		size_t off = 0;
		while (off < len) {
			ssize_t w = send(fd, sc->send + off, len - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		for (int i = 0; i < sc->answers && read_line(fd); i++)
			;
		char c;
		/* A Unix socket closed with bytes unread reports ECONNRESET. */
		ssize_t r = sc->wait_close ? recv(fd, &c, 1, 0) : 1;
		closed_after = r == 0 || (r < 0 && errno == ECONNRESET);
		close(fd);
	}
	loop_post(&loop, &stop_msg);
	return NULL;
}

static void run(const struct script *sc)
{
	pthread_t th;
	ngot = 0;
	closed_after = false;
	loop.stop = false;
	assert_int_equal(pthread_create(&th, NULL, client, (void *)sc), 0);
	loop_run(&loop);
	pthread_join(th, NULL);
}

static int setup(void **state)
{
	log_set_level(LL_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/lunar-mgmt-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/l.sock", dir);
	assert_int_equal(loop_init(&loop, 64), 0);
	stop_msg.fn = stop;
	struct mgmt_server_options o = { .path = path, .mode = 0600 };
	assert_int_equal(mgmt_server_start(&loop, &o, &table), 0);
	return 0;
}

static int teardown(void **state)
{
	mgmt_server_stop();
	loop_fini(&loop);
	char sub[64];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	rmdir(sub);
	rmdir(dir);
	return 0;
}

static void socket_file_and_directory_modes(void **state)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	char sub[64];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
}

static void lines_answered_in_order(void **state)
{
	static const struct script sc = {
		.send = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"n\":1}}\n"
		"\n   \n"
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}\n"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\",\"params\":{\"n\":2}}\n",
		.answers = 2,
	};
	run(&sc);
	assert_int_equal(ngot, 2);
	assert_non_null(strstr(got[0], "\"id\":1"));
	assert_non_null(strstr(got[0], "\"n\":1"));
	assert_non_null(strstr(got[1], "\"id\":2"));
}

static void oversized_request_answered_then_closed(void **state)
{
	size_t len = MGMT_REQUEST_MAX + 100;
	char *big = malloc(len);
	memset(big, ' ', len);
	struct script sc = { .send = big, .send_len = len, .answers = 1, .wait_close = true };
	run(&sc);
	free(big);
	assert_int_equal(ngot, 1);
	assert_non_null(strstr(got[0], "-32006"));
	assert_true(closed_after);
}

static void a_request_of_exactly_the_cap_is_served(void **state)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\"}";
	size_t len = MGMT_REQUEST_MAX + 1;
	char *req = malloc(len);
	memset(req, ' ', len);
	memcpy(req, head, sizeof(head) - 1);
	req[len - 1] = '\n';
	struct script sc = { .send = req, .send_len = len, .answers = 1 };
	run(&sc);
	free(req);
	assert_int_equal(ngot, 1);
	assert_non_null(strstr(got[0], "\"id\":3"));
}

static void a_live_socket_is_not_taken_over(void **state)
{
	struct mgmt_server_options o = { .path = path, .mode = 0600 };
	assert_int_equal(mgmt_server_start(&loop, &o, &table), -EADDRINUSE);
}

/* What a lunard killed with SIGKILL leaves behind. */
static void a_stale_socket_file_is_replaced(void **state)
{
	mgmt_server_stop();
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (const struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	struct mgmt_server_options o = { .path = path, .mode = 0600 };
	assert_int_equal(mgmt_server_start(&loop, &o, &table), 0);
	static const struct script sc = { .send = "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"echo\"}\n", .answers = 1 };
	run(&sc);
	assert_int_equal(ngot, 1);
	assert_non_null(strstr(got[0], "\"id\":4"));
}

/* A path where a file that is no socket lies is left alone. */
static void a_file_in_the_way_is_kept(void **state)
{
	mgmt_server_stop();
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	struct mgmt_server_options o = { .path = path, .mode = 0600 };
	assert_int_equal(mgmt_server_start(&loop, &o, &table), -EEXIST);
	assert_int_equal(unlink(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(socket_file_and_directory_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(lines_answered_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(oversized_request_answered_then_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(a_request_of_exactly_the_cap_is_served, setup, teardown),
		cmocka_unit_test_setup_teardown(a_live_socket_is_not_taken_over, setup, teardown),
		cmocka_unit_test_setup_teardown(a_stale_socket_file_is_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(a_file_in_the_way_is_kept, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
