/* A snapshot of the sessions, for the management API: each loop copies the
 * sessions it runs (their counters belong to it) when a message asks, and
 * the copies are gathered on the control loop. No lock on the data path:
 * a data-plane loop takes the session table's lock once per snapshot, as
 * it does when a session ends. */
#ifndef LUNAR_ISCSI_SESSION_LIST_H
#define LUNAR_ISCSI_SESSION_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iscsi/access.h"
#include "iscsi/login.h"
#include "iscsi/params.h"
#include "util/addr.h"
#include "util/loop.h"

/* Connections listed per session (MaxConnections=1 is negotiated today). */
#define ISCSI_SESSION_INFO_CONNS 4

struct iscsi_conn_info {
	uint16_t cid;
	char peer[ADDR_TEXT_MAX];   /* the initiator's address */
	char local[ADDR_TEXT_MAX];  /* the portal address it reached */
	bool header_digest, data_digest;
	uint32_t max_recv_dsl, max_send_dsl;
};

struct iscsi_session_info {
	uint16_t tsih;
	uint8_t isid[6];
	char initiator[ISCSI_NAME_MAX];
	char target[ISCSI_NAME_MAX];   /* "" for a discovery session */
	char chap_user[ISCSI_CHAP_NAME_MAX];
	bool discovery;
	int thread;                 /* index of its data-plane loop; -1: the control loop */
	struct iscsi_params params; /* the session-wide ones, as negotiated */
	uint32_t exp_cmdsn, max_cmdsn;
	unsigned tasks;             /* in the task table */
	unsigned active;            /* admitted commands not yet answered */
	unsigned nconns;            /* how many it has; at most ISCSI_SESSION_INFO_CONNS listed */
	struct iscsi_conn_info conns[ISCSI_SESSION_INFO_CONNS];
};

struct iscsi_session_list {
	struct iscsi_session_info *v;
	size_t n;
};

/* Runs on the control loop with the snapshot (list->v NULL and err
 * -ENOMEM when memory ran out); list is the callee's to free
 * (iscsi_session_list_free). */
typedef void (*iscsi_session_list_done)(struct iscsi_session_list *list, int err, void *arg);

/* Control thread: asks control's own sessions (discovery) at once and
 * each of loops by message; done runs on control when every loop has
 * answered (inside this call when there are none). Returns 0, or -ENOMEM
 * (done does not run). */
int iscsi_session_list_gather(struct loop *control, struct loop *const *loops, unsigned nloops,
			      iscsi_session_list_done done, void *arg);
void iscsi_session_list_free(struct iscsi_session_list *list);

#endif
