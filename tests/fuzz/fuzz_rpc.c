/* libFuzzer target for the management socket's request handler: any bytes
 * as one request line, through mgmt_rpc_handle and a table of methods that
 * answer at once, later, or after editing a configuration document with
 * config_edit (as the real methods do). Whatever comes in, the reply runs
 * exactly once, and its text is nothing or one line of JSON-RPC 2.0
 * responses, each with "jsonrpc": "2.0", an id, and exactly one of result
 * and error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/config_edit.h"
#include "control/mgmt_rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5's scanner leaks a string token on some syntax errors (see
 * fuzz_config.c); not the code under test. */
const char *__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

static const char doc_text[] =
	"targets = ( { name = \"iqn.2026-11.org.lunar:t\"; open = true;\n"
	"  luns = ( { lun = 0; backend = \"memory\"; size = \"1M\"; } ); } );\n";

static struct mgmt_call *parked[MGMT_BATCH_MAX];
static size_t nparked;

static void m_echo(struct mgmt_call *call, json_t *params, void *ctx)
{
	mgmt_call_result(call, json_incref(params));
}

static void m_later(struct mgmt_call *call, json_t *params, void *ctx)
{
	parked[nparked++] = call;
}

static void m_typed(struct mgmt_call *call, json_t *params, void *ctx)
{
	const char *s = NULL;
	bool b = false;
	unsigned long long n = 0;
	if (mgmt_param_string(call, params, "target", false, &s) < 0 || mgmt_param_bool(call, params, "force", &b) < 0 ||
	    mgmt_param_uint(call, params, "lun", false, 255, &n) < 0)
		return;
	mgmt_call_error(call, MGMT_ERR_NOT_FOUND, json_pack("{s:s?}", "target", s), "no target %s", s ? s : "-");
}

/* Edits a fresh document with whatever the params say. */
static void m_edit(struct mgmt_call *call, json_t *params, void *ctx)
{
	config_t doc;
	char err[256];
	config_init(&doc);
	if (!config_read_string(&doc, doc_text))
		abort();
	const char *target = json_string_value(json_object_get(params, "target"));
	const char *name = json_string_value(json_object_get(params, "name"));
	const char *group;
	unsigned n;
	int ret = 0;
	if (target && name) {
		ret |= config_edit_acl_add(&doc, target, name, NULL, json_object_get(params, "luns"), err, sizeof(err));
		ret |= config_edit_chap_add(&doc, target, name, name, err, sizeof(err));
		ret |= config_edit_target_set(&doc, target, name, CONFIG_EDIT_TRUE, err, sizeof(err));
	}
	if (target) {
		ret |= config_edit_lun_add(&doc, target, params, &n, err, sizeof(err));
		ret |= config_edit_lun_resize(&doc, target, 0, json_object_get(params, "size"), err, sizeof(err));
	}
	if (name) {
		ret |= config_edit_param_set(&doc, NULL, name, json_object_get(params, "value"), &group, err, sizeof(err));
		ret |= config_edit_portal_add(&doc, name, 0, err, sizeof(err));
		ret |= config_edit_target_add(&doc, name, NULL, CONFIG_EDIT_KEEP, err, sizeof(err));
	}
	config_destroy(&doc);
	mgmt_call_result(call, json_integer(ret));
}

static const struct mgmt_method methods[] = {
	{ "echo", m_echo }, { "later", m_later }, { "typed", m_typed }, { "edit", m_edit },
};
static const struct mgmt_methods table = { methods, sizeof(methods) / sizeof(methods[0]), NULL };

static int replies;
static char *answer;

static void on_reply(void *arg, char *text)
{
	replies++;
	answer = text;
}

static void check_response(json_t *r)
{
	if (!json_is_object(r) || !json_is_string(json_object_get(r, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(r, "jsonrpc")), "2.0") != 0 || !json_object_get(r, "id"))
		abort();
	if (!json_object_get(r, "result") == !json_object_get(r, "error"))
		abort();
	json_t *e = json_object_get(r, "error");
	if (e && (!json_is_integer(json_object_get(e, "code")) || !json_is_string(json_object_get(e, "message"))))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap copy lets ASan catch any read past the end. */
	char *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	replies = 0;
	answer = NULL;
	nparked = 0;
	mgmt_rpc_handle(&table, copy, size, on_reply, NULL);
	free(copy);
	/* The parked calls answer after the handler returned, in turn. */
	for (size_t i = 0; i < nparked; i++) {
		if (replies)
			abort();
		mgmt_call_result(parked[i], json_true());
	}
	if (replies != 1)
		abort();
	if (answer) {
		size_t len = strlen(answer);
		if (len == 0 || answer[len - 1] != '\n' || memchr(answer, '\n', len - 1))
			abort();
		json_t *v = json_loads(answer, 0, NULL);
		if (!v)
			abort();
		if (json_is_array(v)) {
			size_t i;
			json_t *r;
			json_array_foreach(v, i, r)
				check_response(r);
		} else {
			check_response(v);
		}
		json_decref(v);
		free(answer);
	}
	return 0;
}
