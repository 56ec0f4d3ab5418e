/* lunarctl's side of the management socket: one JSON-RPC call per
 * connection, waited for. */
#ifndef LUNAR_CLI_CLIENT_H
#define LUNAR_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

/* lunarctl's exit codes (lunarctl(8)). */
enum cli_exit {
	CLI_OK = 0,
	CLI_REFUSED = 1,     /* lunard answered with an error */
	CLI_USAGE = 2,
	CLI_UNREACHABLE = 3, /* no lunard on the socket, or no answer */
};

/* Calls method with params (taken) on the lunard at path. CLI_OK: *result
 * holds the result (the caller's reference). CLI_REFUSED: lunard's message
 * went to stderr (with raw, the whole error object). CLI_UNREACHABLE: why
 * went to stderr. */
enum cli_exit cli_call(const char *path, const char *method, json_t *params, bool raw, json_t **result);

#endif
