/* Unit tests for the JSON-RPC 2.0 framing (mgmt_rpc.c): ids, notifications,
 * batches, the §5.1 error codes, parameter readers and late answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/mgmt_rpc.h"

static struct mgmt_call *parked;

static void m_echo(struct mgmt_call *call, json_t *params, void *ctx)
{
	mgmt_call_result(call, json_incref(params));
}

static void m_fail(struct mgmt_call *call, json_t *params, void *ctx)
{
	mgmt_call_error(call, MGMT_ERR_NOT_FOUND, json_pack("{s:s}", "target", "t"), "no target %s", "t");
}

static void m_later(struct mgmt_call *call, json_t *params, void *ctx)
{
	parked = call;
}

static void m_typed(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *name = NULL;
	bool force = false;
	unsigned long long lun = 0;
	if (mgmt_param_string(call, params, "name", true, &name) < 0 ||
	    mgmt_param_bool(call, params, "force", &force) < 0 ||
	    mgmt_param_uint(call, params, "lun", false, 255, &lun) < 0)
		return;
	mgmt_call_result(call, json_pack("{s:s, s:b, s:I}", "name", name, "force", force, "lun", (json_int_t)lun));
}

static const struct mgmt_method methods[] = {
	{ "echo", m_echo }, { "fail", m_fail }, { "later", m_later }, { "typed", m_typed },
};
static const struct mgmt_methods table = { methods, sizeof(methods) / sizeof(methods[0]), NULL };

static char *answer;
static int replies;

static void on_reply(void *arg, char *text)
{
	free(answer);
	answer = text;
	replies++;
}

/* The response to text, parsed; NULL when there was none. */
static json_t *call(const char *text)
{
	replies = 0;
	free(answer);
	answer = NULL;
	mgmt_rpc_handle(&table, text, strlen(text), on_reply, NULL);
	assert_int_equal(replies, 1);
	if (!answer)
		return NULL;
	/* one line: the only newline ends it */
	assert_ptr_equal(strchr(answer, '\n'), answer + strlen(answer) - 1);
	json_t *v = json_loads(answer, 0, NULL);
	assert_non_null(v);
	return v;
}

static int error_code(json_t *r)
{
	json_t *e = json_object_get(r, "error");
	assert_non_null(e);
	assert_null(json_object_get(r, "result"));
	assert_string_equal(json_string_value(json_object_get(r, "jsonrpc")), "2.0");
	return (int)json_integer_value(json_object_get(e, "code"));
}

static void result_echoes_params_and_id(void **state)
{
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo\",\"params\":{\"a\":1}}");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "result"), "a")), 1);
	assert_null(json_object_get(r, "error"));
	json_decref(r);
}

static void string_and_null_ids_come_back(void **state)
{
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"id\":\"x-1\",\"method\":\"echo\"}");
	assert_string_equal(json_string_value(json_object_get(r, "id")), "x-1");
	assert_true(json_is_object(json_object_get(r, "result")));
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"echo\"}");
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);
}

static void notification_gets_no_answer(void **state)
{
	assert_null(call("{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}"));
	assert_null(call("{\"jsonrpc\":\"2.0\",\"method\":\"nosuch\"}"));
}

static void parse_error(void **state)
{
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"method\":");
	assert_int_equal(error_code(r), MGMT_ERR_PARSE);
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"echo\"}");
	assert_int_equal(error_code(r), MGMT_ERR_PARSE);
	json_decref(r);
}

static void invalid_requests(void **state)
{
	static const char *const bad[] = {
		"{\"id\":1,\"method\":\"echo\"}",
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"echo\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":\"x\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"echo\"}",
		"{\"jsonrpc\":\"2.0\",\"method\":1,\"params\":\"bar\"}",
		"42",
		"[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *r = call(bad[i]);
		assert_int_equal(error_code(r), MGMT_ERR_INVALID_REQUEST);
		json_decref(r);
	}
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"echo\"}");
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);
}

static void unknown_method(void **state)
{
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nosuch\"}");
	assert_int_equal(error_code(r), MGMT_ERR_NO_METHOD);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 3);
	json_decref(r);
}

static void positional_params_refused(void **state)
{
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\",\"params\":[1]}");
	assert_int_equal(error_code(r), MGMT_ERR_INVALID_PARAMS);
	json_decref(r);
}

static void application_error_has_data(void **state)
{
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"fail\"}");
	assert_int_equal(error_code(r), MGMT_ERR_NOT_FOUND);
	json_t *e = json_object_get(r, "error");
	assert_string_equal(json_string_value(json_object_get(e, "message")), "no target t");
	assert_string_equal(json_string_value(json_object_get(json_object_get(e, "data"), "target")), "t");
	json_decref(r);
}

static void params_typed(void **state)
{
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"typed\",\"params\":{\"name\":\"n\",\"lun\":3}}");
	json_t *res = json_object_get(r, "result");
	assert_string_equal(json_string_value(json_object_get(res, "name")), "n");
	assert_int_equal(json_integer_value(json_object_get(res, "lun")), 3);
	assert_true(json_is_false(json_object_get(res, "force")));
	json_decref(r);
	static const char *const bad[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"typed\",\"params\":{}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"typed\",\"params\":{\"name\":\"\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"typed\",\"params\":{\"name\":\"n\",\"force\":1}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"typed\",\"params\":{\"name\":\"n\",\"lun\":256}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"typed\",\"params\":{\"name\":\"n\",\"lun\":-1}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"typed\",\"params\":{\"name\":\"n\",\"lun\":1.5}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call(bad[i]);
		assert_int_equal(error_code(r), MGMT_ERR_INVALID_PARAMS);
		json_decref(r);
	}
}

static void batch_answers_each_call_but_notifications(void **state)
{
	json_t *r = call("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"},"
			 "{\"jsonrpc\":\"2.0\",\"method\":\"echo\"},"
			 "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nosuch\"}, 7]");
	assert_true(json_is_array(r));
	assert_int_equal(json_array_size(r), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 0), "id")), 1);
	assert_int_equal(error_code(json_array_get(r, 1)), MGMT_ERR_NO_METHOD);
	assert_int_equal(error_code(json_array_get(r, 2)), MGMT_ERR_INVALID_REQUEST);
	json_decref(r);
	assert_null(call("[{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}]"));
}

static void batch_too_large_refused(void **state)
{
	size_t cap = 64 * 48 + 16;
	char *text = malloc(cap);
	size_t at = 0;
	text[at++] = '[';
	for (int i = 0; i <= MGMT_BATCH_MAX; i++)
		at += (size_t)snprintf(text + at, cap - at, "%s{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}", i ? "," : "");
	text[at++] = ']';
	text[at] = '\0';
	json_t *r = call(text);
	assert_int_equal(error_code(r), MGMT_ERR_INVALID_REQUEST);
	json_decref(r);
	free(text);
}

static void late_answer_completes_request(void **state)
{
	const char *text = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"later\"},{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\"}]";
	replies = 0;
	parked = NULL;
	mgmt_rpc_handle(&table, text, strlen(text), on_reply, NULL);
	assert_int_equal(replies, 0);
	assert_non_null(parked);
	mgmt_call_result(parked, json_string("done"));
	assert_int_equal(replies, 1);
	json_t *r = json_loads(answer, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "result")), "done");
	json_decref(r);
}

static void error_text_for_unparsed_request(void **state)
{
	char *t = mgmt_rpc_error_text(MGMT_ERR_TOO_LARGE, "request too large");
	json_t *r = json_loads(t, 0, NULL);
	assert_int_equal(error_code(r), MGMT_ERR_TOO_LARGE);
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(result_echoes_params_and_id),
		cmocka_unit_test(string_and_null_ids_come_back),
		cmocka_unit_test(notification_gets_no_answer),
		cmocka_unit_test(parse_error),
		cmocka_unit_test(invalid_requests),
		cmocka_unit_test(unknown_method),
		cmocka_unit_test(positional_params_refused),
		cmocka_unit_test(application_error_has_data),
		cmocka_unit_test(params_typed),
		cmocka_unit_test(batch_answers_each_call_but_notifications),
		cmocka_unit_test(batch_too_large_refused),
		cmocka_unit_test(late_answer_completes_request),
		cmocka_unit_test(error_text_for_unparsed_request),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	free(answer);
	return failed;
}
