/* JSON-RPC 2.0 (https://www.jsonrpc.org/specification) for the management
 * socket: one request text (a call, a notification or a batch) in, one
 * response text out (or none), given a table of methods. Pure: no
 * sockets, no loop; a method may answer later (session.list asks every
 * data-plane loop first), and the response is handed over once every call
 * of the request has answered. */
#ifndef LUNAR_CONTROL_MGMT_RPC_H
#define LUNAR_CONTROL_MGMT_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* JSON-RPC 2.0 §5.1 */
#define MGMT_ERR_PARSE -32700
#define MGMT_ERR_INVALID_REQUEST -32600
#define MGMT_ERR_NO_METHOD -32601
#define MGMT_ERR_INVALID_PARAMS -32602
#define MGMT_ERR_INTERNAL -32603
/* lunard's own, in the range §5.1 keeps for implementation-defined errors */
#define MGMT_ERR_REFUSED -32000      /* the configuration refused the change (the loader's message) */
#define MGMT_ERR_NOT_FOUND -32001    /* no such target, LUN, initiator, user or portal */
#define MGMT_ERR_EXISTS -32002       /* already there */
#define MGMT_ERR_BUSY -32003         /* in use by sessions: retry with force */
#define MGMT_ERR_PERMISSION -32004   /* the client may not use the socket */
#define MGMT_ERR_UNAVAILABLE -32005  /* this lunard cannot do that (e.g. shutting down) */
#define MGMT_ERR_TOO_LARGE -32006    /* the request line exceeds the cap */

/* More calls than this in one batch are refused as a whole. */
#define MGMT_BATCH_MAX 64

struct mgmt_call;

/* A method: reads params (always an object; {} when the request had none)
 * and answers, now or later, with exactly one mgmt_call_result or
 * mgmt_call_error. ctx is the caller's (the server passes its own). */
typedef void (*mgmt_method_fn)(struct mgmt_call *call, json_t *params, void *ctx);

struct mgmt_method {
	const char *name;
	mgmt_method_fn fn;
};

struct mgmt_methods {
	const struct mgmt_method *list;
	size_t n;
	void *ctx;
};

/* The whole response text of one request, newline-terminated and
 * malloc'd (the receiver frees it), or NULL when nothing is to be sent
 * (notifications only). */
typedef void (*mgmt_reply_fn)(void *arg, char *text);

/* Handles one request text of len bytes. reply runs exactly once: inside
 * this call when every method answered at once, else from the last
 * answer. */
void mgmt_rpc_handle(const struct mgmt_methods *m, const char *text, size_t len, mgmt_reply_fn reply,
		     void *reply_arg);

/* The answers; each takes the reference to result / data (may be NULL). */
void mgmt_call_result(struct mgmt_call *call, json_t *result);
void mgmt_call_error(struct mgmt_call *call, int code, json_t *data, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* One error response text ("{...}\n", malloc'd) for a request that never
 * reached the parser (too large, refused client); id null. */
char *mgmt_rpc_error_text(int code, const char *message);

/* Parameter readers: each answers the call with -32602 naming the key and
 * returns -1 when the key has the wrong type (or is required and absent);
 * an absent optional key leaves *out as it was and returns 0. */
int mgmt_param_string(struct mgmt_call *call, json_t *params, const char *key, bool required,
		      const char **out);
int mgmt_param_bool(struct mgmt_call *call, json_t *params, const char *key, bool *out);
int mgmt_param_uint(struct mgmt_call *call, json_t *params, const char *key, bool required,
		    unsigned long long max, unsigned long long *out);

#endif
