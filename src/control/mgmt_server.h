/* The management socket: a Unix stream socket served on the control loop
 * (docs/MANAGEMENT.md). Each client sends one JSON-RPC request per line
 * and gets one line back per request that has an answer; requests of one
 * client are handled in order, one at a time. Nothing here blocks the loop:
 * accept, receive and send are io_uring operations. */
#ifndef LUNAR_CONTROL_MGMT_SERVER_H
#define LUNAR_CONTROL_MGMT_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include "control/mgmt_rpc.h"
#include "util/loop.h"

#define MGMT_DEFAULT_SOCKET "/run/lunar/lunar.sock"
#define MGMT_DEFAULT_MODE 0600
/* A request line longer than this is answered with MGMT_ERR_TOO_LARGE and
 * the client is closed. */
#define MGMT_REQUEST_MAX (1u << 20)
#define MGMT_CLIENTS_MAX 16
/* A client that sends nothing for this long is closed. */
#define MGMT_IDLE_S 60

struct mgmt_server_options {
	const char *path;
	mode_t mode;                 /* of the socket file */
	/* besides uid 0 and lunard's own user, members of this group may
	 * connect (the socket file is chown'd to it) */
	bool has_group;
	gid_t gid;
};

/* Binds and listens on o->path (creating its missing parent directories
 * 0755, replacing a stale socket file that nobody answers on) and serves
 * methods on loop. Returns 0 or -errno (logged, naming the path). */
int mgmt_server_start(struct loop *loop, const struct mgmt_server_options *o, const struct mgmt_methods *methods);
/* Closes the socket and every client, and removes the socket file. After
 * the loop has stopped. */
void mgmt_server_stop(void);

#endif
