/* JSON-RPC 2.0 framing: requests, notifications, batches and the error
 * objects of §5.1, around a table of methods that answer now or later. */
#include "control/mgmt_rpc.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mgmt_request;

struct mgmt_call {
	struct mgmt_request *req;
	json_t *id;                 /* referenced; NULL for a notification */
	bool notification;
	bool answered;
	json_t *response;           /* the response object, once answered (not for notifications) */
};

struct mgmt_request {
	mgmt_reply_fn reply;
	void *reply_arg;
	bool batch;
	size_t ncalls;
	size_t pending;             /* calls not yet answered, plus one while mgmt_rpc_handle runs */
	struct mgmt_call calls[];
};

static char *dump_line(json_t *v)
{
	char *body = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	char *line = NULL;
	if (body && asprintf(&line, "%s\n", body) < 0)
		line = NULL;
	free(body);
	return line;
}

static json_t *error_object(int code, const char *message, json_t *data)
{
	json_t *e = json_pack("{s:i, s:s}", "code", code, "message", message);
	if (e && data)
		json_object_set(e, "data", data);
	json_decref(data);
	return e;
}

static json_t *response_object(json_t *id, json_t *result, json_t *error)
{
	json_t *r = json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", id ? id : json_null());
	if (r)
		json_object_set(r, error ? "error" : "result", error ? error : result);
	json_decref(error ? error : result);
	return r;
}

char *mgmt_rpc_error_text(int code, const char *message)
{
	json_t *r = response_object(NULL, NULL, error_object(code, message, NULL));
	char *text = r ? dump_line(r) : NULL;
	json_decref(r);
	return text;
}

static void request_finish(struct mgmt_request *req)
{
	json_t *out = NULL;
	if (req->batch) {
		out = json_array();
		for (size_t i = 0; out && i < req->ncalls; i++)
			if (req->calls[i].response)
				json_array_append(out, req->calls[i].response);
		if (out && json_array_size(out) == 0) {
			json_decref(out);
			out = NULL;
		}
	} else if (req->calls[0].response) {
		out = json_incref(req->calls[0].response);
	}
	char *text = NULL;
	if (out) {
		text = dump_line(out);
		if (!text)
			text = mgmt_rpc_error_text(MGMT_ERR_INTERNAL, "out of memory");
	}
	json_decref(out);
	for (size_t i = 0; i < req->ncalls; i++) {
		json_decref(req->calls[i].id);
		json_decref(req->calls[i].response);
	}
	mgmt_reply_fn reply = req->reply;
	void *arg = req->reply_arg;
	free(req);
	reply(arg, text);
}

static void request_drop(struct mgmt_request *req)
{
	if (--req->pending == 0)
		request_finish(req);
}

static void call_answer(struct mgmt_call *call, json_t *result, json_t *error)
{
	assert(!call->answered);
	call->answered = true;
	if (call->notification) {
		json_decref(result);
		json_decref(error);
	} else {
		call->response = response_object(call->id, result, error);
	}
	request_drop(call->req);
}

void mgmt_call_result(struct mgmt_call *call, json_t *result)
{
	call_answer(call, result ? result : json_null(), NULL);
}

void mgmt_call_error(struct mgmt_call *call, int code, json_t *data, const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	call_answer(call, NULL, error_object(code, message, data));
}

/* §4: an id is a string, a number or null; anything else makes the
 * request invalid, and its answer carries a null id. */
static bool id_valid(const json_t *id)
{
	return json_is_string(id) || json_is_number(id) || json_is_null(id);
}

static const struct mgmt_method *method_find(const struct mgmt_methods *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->list[i].name, name) == 0)
			return &m->list[i];
	return NULL;
}

static void call_run(const struct mgmt_methods *m, struct mgmt_call *call, json_t *v)
{
	json_t *id = json_is_object(v) ? json_object_get(v, "id") : NULL;
	if (id && id_valid(id))
		call->id = json_incref(id);
	json_t *version = json_object_get(v, "jsonrpc");
	json_t *method = json_object_get(v, "method");
	json_t *params = json_object_get(v, "params");
	/* An invalid request is answered even without an id: it cannot be
	 * known to be a notification (§5, the examples of §7). */
	if (!json_is_object(v) || (id && !id_valid(id)) || !json_is_string(version) ||
	    strcmp(json_string_value(version), "2.0") != 0 || !json_is_string(method) ||
	    (params && !json_is_object(params) && !json_is_array(params))) {
		mgmt_call_error(call, MGMT_ERR_INVALID_REQUEST, NULL, "invalid request");
		return;
	}
	call->notification = id == NULL;
	const struct mgmt_method *fn = method_find(m, json_string_value(method));
	if (!fn) {
		mgmt_call_error(call, MGMT_ERR_NO_METHOD, NULL, "no method \"%s\"", json_string_value(method));
		return;
	}
	/* §4.2 allows positional params; every lunar method names its own. */
	if (json_is_array(params)) {
		mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, NULL, "params must be an object");
		return;
	}
	json_t *p = params ? json_incref(params) : json_object();
	if (!p) {
		mgmt_call_error(call, MGMT_ERR_INTERNAL, NULL, "out of memory");
		return;
	}
	fn->fn(call, p, m->ctx);
	json_decref(p);
}

static void reply_single_error(mgmt_reply_fn reply, void *arg, int code, const char *message)
{
	reply(arg, mgmt_rpc_error_text(code, message));
}

void mgmt_rpc_handle(const struct mgmt_methods *m, const char *text, size_t len, mgmt_reply_fn reply,
		     void *reply_arg)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		reply_single_error(reply, reply_arg, MGMT_ERR_PARSE, "parse error");
		return;
	}
	bool batch = json_is_array(root);
	size_t n = batch ? json_array_size(root) : 1;
	/* §6: an empty batch is one invalid request, answered once. */
	if (batch && n == 0) {
		json_decref(root);
		reply_single_error(reply, reply_arg, MGMT_ERR_INVALID_REQUEST, "empty batch");
		return;
	}
	if (batch && n > MGMT_BATCH_MAX) {
		json_decref(root);
		reply_single_error(reply, reply_arg, MGMT_ERR_INVALID_REQUEST, "a batch holds at most 64 calls");
		return;
	}
	struct mgmt_request *req = calloc(1, sizeof(*req) + n * sizeof(req->calls[0]));
	if (!req) {
		json_decref(root);
		reply_single_error(reply, reply_arg, MGMT_ERR_INTERNAL, "out of memory");
		return;
	}
	*req = (struct mgmt_request){
		.reply = reply, .reply_arg = reply_arg, .batch = batch, .ncalls = n, .pending = n + 1,
	};
	for (size_t i = 0; i < n; i++) {
		req->calls[i].req = req;
		call_run(m, &req->calls[i], batch ? json_array_get(root, i) : root);
	}
	json_decref(root);
	request_drop(req);
}

static int param_fail(struct mgmt_call *call, const char *key, const char *want)
{
	mgmt_call_error(call, MGMT_ERR_INVALID_PARAMS, json_pack("{s:s}", "param", key), "param \"%s\": %s",
			key, want);
	return -1;
}

int mgmt_param_string(struct mgmt_call *call, json_t *params, const char *key, bool required, const char **out)
{
	json_t *v = json_object_get(params, key);
	if (!v)
		return required ? param_fail(call, key, "required") : 0;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return param_fail(call, key, "must be a non-empty string");
	*out = json_string_value(v);
	return 0;
}

int mgmt_param_bool(struct mgmt_call *call, json_t *params, const char *key, bool *out)
{
	json_t *v = json_object_get(params, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return param_fail(call, key, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

int mgmt_param_uint(struct mgmt_call *call, json_t *params, const char *key, bool required,
		    unsigned long long max, unsigned long long *out)
{
	json_t *v = json_object_get(params, key);
	if (!v)
		return required ? param_fail(call, key, "required") : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (unsigned long long)json_integer_value(v) > max) {
		char want[64];
		snprintf(want, sizeof(want), "must be an integer from 0 to %llu", max);
		return param_fail(call, key, want);
	}
	*out = (unsigned long long)json_integer_value(v);
	return 0;
}
