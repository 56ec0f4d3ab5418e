/* One iSCSI connection, the bottom of the transport: framing on the
 * socket (header first, then the data segment straight into the
 * destination the layer above chooses), the ordered send queue with its
 * StatSN, and close. What a PDU means is the business of the layer above
 * (struct iscsi_conn_upper): the login phase (conn_login.c), then the full
 * feature phase (ffp_rx.c). conn.c knows neither sessions nor tasks.
 *
 * A connection lives on exactly one loop at a time: the control-plane loop
 * while it logs in (and for its whole life if it is a discovery session),
 * then its session's data-plane loop for a normal session's full feature
 * phase. */
#ifndef LUNAR_ISCSI_CONN_H
#define LUNAR_ISCSI_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "iscsi/access.h"
#include "iscsi/peer_limits.h"
#include "iscsi/login.h"
#include "iscsi/params.h"
#include "iscsi/pdu.h"
#include "iscsi/reply_seq.h"
#include "iscsi/tx.h"
#include "util/addr.h"
#include "util/loop.h"

#define ISCSI_TX_BATCH 64
/* Iovecs of one sendmsg (IOV_MAX is 1024): PDUs are added while they fit,
 * and one PDU needs at most its header, a data segment spread over every
 * chunk of the largest transfer, and padding. */
#define ISCSI_TX_IOV_MAX 512
/* Pieces a data segment's destination may have: a Data-Out landing in a
 * task's chunks (ffp_rx.c checks that they fit), and the empty entry that
 * ends the list. */
#define ISCSI_RX_DEST_MAX 132
/* RFC 7143 §13.12: before a value is declared, data segments are <= 8192. */
#define ISCSI_LOGIN_MAX_DSL 8192u
/* Room a data segment's destination needs past the data: padding and a
 * data digest. */
#define ISCSI_RX_SLACK 8u
/* The receive stage (conn.c): what one receive may take in, a window of
 * READ headers or several 4 KiB writes with their data. */
#define ISCSI_RX_STAGE (32u * 1024)
/* The rest of a tail at least this long is received straight into place
 * rather than through the stage (one copy saved, at the price of a
 * receive that brings nothing else). */
#define ISCSI_RX_DIRECT_MIN (16u * 1024)
/* PDUs one connection handles from its stage before the others of its
 * loop have their turn: a window of small commands. */
#define ISCSI_RX_BATCH_PDUS 32u

struct iscsi_conn;
struct iscsi_ffp_conn;
struct iscsi_session;
struct scsi_target;
struct scsi_lun_view;

/* What the transport needs from the control plane. */
struct iscsi_host {
	/* The target of that name with a reference held for the caller, or
	 * NULL; put_target drops it. A session holds its target from login
	 * to its end, so a target removed at run time outlives its sessions. */
	void *(*find_target)(const char *name);
	void (*put_target)(void *target);
	struct scsi_target *(*scsi_target)(void *target);
	const char *(*target_alias)(void *target);
	/* SendTargets answer for value (All / a name / "" = the session's
	 * target); session_target is NULL in a discovery session. Lists only
	 * targets the initiator called initiator_name may log in to. */
	int (*sendtargets)(const char *value, const char *initiator_name,
			   const char *session_target, char *out, size_t cap);
	/* Who may log in (access.h). */
	struct iscsi_access access;
	/* The LUNs initiator_name sees of target, for the nexus of its new
	 * session (*view NULL: every LUN as numbered). Returns 0 or -ENOMEM. */
	int (*lun_view)(void *target, const char *initiator_name, struct scsi_lun_view **view);
	/* The data-plane loop a new normal session should live on. */
	struct loop *(*pick_dataplane)(void);
	struct iscsi_target_limits limits;
	uint16_t tpgt;
	/* Portal groups (RFC 7143 §4.2.1), on the control thread at login;
	 * NULL: every portal is in group tpgt and serves every target. The
	 * tag of the portal whose socket has address local (0: none now). */
	uint16_t (*portal_tag)(const struct sockaddr_storage *local);
	/* Whether target is reached through portal group tag. */
	bool (*target_on_portal)(void *target, uint16_t tag);
	/* The limits logins to the target called name offer, when it has its
	 * own (else false: limits above). */
	bool (*target_limits)(const char *name, struct iscsi_target_limits *out);
	uint32_t cmd_window;
	struct iscsi_login_limits login_limits;
	struct iscsi_conn_limits conn_limits;
};

enum iscsi_conn_phase { CONN_LOGIN, CONN_FULL_FEATURE, CONN_CLOSING };

/* What the connection does when its peer falls silent (the upper
 * chooses when the full feature phase starts). */
enum iscsi_conn_idle {
	CONN_IDLE_NONE,
	CONN_IDLE_PING,   /* NOP-In ping after nop_interval_s, dropped after nop_timeout_s */
	CONN_IDLE_CLOSE,  /* closed after discovery_idle_s */
};

/* The layer above the framing. conn.c calls it on its loop, one PDU at a
 * time. */
struct iscsi_conn_upper {
	/* A BHS is in: h as decoded (err says whether it could be), the raw
	 * bytes in conn->rx_bhs. dest is an array of ISCSI_RX_DEST_MAX
	 * iovecs, used up to the first empty one, where the data segment
	 * goes; it starts as the connection's own buffer (room for
	 * max_recv_dsl set by iscsi_conn_size_rx_buf, padded). The upper
	 * refuses a longer data segment, and may fill dest with other pieces
	 * (together no longer than the padded segment): what does not fit
	 * goes to the connection's buffer as a sink. Closing the connection
	 * or stopping reception (iscsi_conn_close_after_tx) here skips the
	 * rest of the PDU. */
	void (*header)(struct iscsi_conn *conn, const struct iscsi_hdr *h,
		       enum iscsi_parse_error err, struct iovec *dest);
	/* The whole PDU is in; data is where dest[0] pointed. */
	void (*pdu)(struct iscsi_conn *conn, const struct iscsi_hdr *h, const uint8_t *data);
	/* The connection is closing and no receive is in flight any more:
	 * let go of what needs it (tasks, and the buffers a receive was
	 * writing into). */
	void (*close)(struct iscsi_conn *conn);
	/* Nothing refers to the connection any more: free the upper's state. */
	void (*free)(struct iscsi_conn *conn);
	/* CONN_IDLE_PING: send a ping the peer must answer (NOP-In with a
	 * Target Transfer Tag) and return its tag for iscsi_conn_pong. */
	uint32_t (*ping)(struct iscsi_conn *conn);
	/* CONN_IDLE_PING: the liveness timer ran (at least every
	 * nop_interval_s); now_ns is clock_now_ns() (util/clock.h). */
	void (*tick)(struct iscsi_conn *conn, uint64_t now_ns);
	/* Shutdown: asks the initiator to log out within seconds (NULL, or
	 * false returned: nothing to log out of, the connection is closed). */
	bool (*ask_logout)(struct iscsi_conn *conn, uint16_t seconds);
};

#define ISCSI_AHS_MAX (255u * 4u)

struct iscsi_conn {
	int fd;
	struct loop *loop;
	const struct iscsi_host *host;
	struct sockaddr_storage local, peer;
	char peer_text[ADDR_TEXT_MAX];
	enum iscsi_conn_phase phase;
	const struct iscsi_conn_upper *upper;
	struct iscsi_params params; /* negotiated: digests and data segment lengths */
	struct iscsi_reply_seq reply_seq; /* StatSN, and PDUs kept for the initiator's ack */

	/* the layers above; conn.c does not touch these */
	struct iscsi_session *session; /* set by login's bind step; holds a reference */
	uint16_t cid;
	struct iscsi_conn *session_next; /* in session->conns */
	struct iscsi_login login;   /* valid while login_active */
	struct iscsi_login_env login_env;
	bool login_active;
	bool login_bad_header;      /* the Login Request coming in has a malformed BHS */
	struct iscsi_ffp_conn *ffp; /* full feature phase state (ffp.h) */

	/* receive: batches of bytes into the stage; each PDU's BHS, then its
	 * tail (AHS, padded data, digests) copied from there or received
	 * straight into place (conn.c) */
	struct loop_op rx_op;
	struct loop_op rx_more_op;  /* carries on with the stage later (rx_continue_later) */
	bool rx_more_queued;
	uint8_t *rx_stage;          /* ISCSI_RX_STAGE bytes */
	uint32_t rx_stage_len;      /* bytes in the stage */
	uint32_t rx_stage_pos;      /* bytes of it handled */
	bool rx_in_tail;            /* the header is handled, its tail is due */
	bool rx_direct;             /* the receive in flight fills the tail's plan, not the stage */
	bool rx_busy;               /* a receive is in flight */
	bool rx_stopped;            /* no further PDUs are read (see iscsi_conn_close_after_tx) */
	uint8_t rx_bhs[ISCSI_BHS_LEN]; /* the current PDU's header, as received */
	uint32_t rx_got;            /* bytes of the current tail in place */
	struct iscsi_hdr rx_hdr;
	struct iovec rx_dest[ISCSI_RX_DEST_MAX]; /* where the upper wants the data segment */
	struct iovec rx_iov[ISCSI_RX_DEST_MAX + 2]; /* the tail's plan: AHS, destination, sink */
	struct msghdr rx_msg;       /* what of the plan is still to come */
	uint32_t rx_tail_len;
	struct __kernel_timespec login_timeout; /* linked to each login-phase receive */
	uint64_t login_deadline_ns; /* CLOCK_MONOTONIC: the whole login ends by then */
	bool counted_in_login;      /* holds one of login_limits.max_logins */
	uint8_t rx_ahs[ISCSI_AHS_MAX + ISCSI_DIGEST_LEN];
	uint8_t *rx_buf;            /* data segments the upper leaves here, and the sink */

	/* send: one sendmsg in flight, gathering many queued PDUs */
	struct loop_op tx_op;
	struct loop_defer tx_defer;
	struct iscsi_tx *tx_head, *tx_tail;
	bool tx_busy;
	const char *close_why;      /* set: close once the queue is empty */
	struct iovec tx_iov[ISCSI_TX_IOV_MAX];
	struct msghdr tx_msg;
	uint32_t tx_skip;           /* bytes of tx_head already sent */

	unsigned refs;              /* SQEs, tasks and deferred work outstanding, plus one while open */
	/* set: once the queue is empty, the connection moves to handoff_to
	 * (handoff_msg runs there) and this loop lets go of it */
	bool handoff_pending;
	struct loop *handoff_to;
	struct loop_msg handoff_msg;
	struct iscsi_conn *all_prev, *all_next; /* every live connection, for shutdown */
	bool logout_asked;          /* shutdown asked the upper once (ask_logout) */

	/* limits (struct iscsi_conn_limits) */
	uint32_t tx_queued;         /* memory the send queue holds (tx_queue_bytes) */
	bool rx_paused;             /* not reading until the send queue drains */
	struct __kernel_timespec tx_timeout; /* linked to a send the liveness timer does not watch */
	uint64_t tx_since_ns;       /* CLOCK_MONOTONIC when the send in flight was queued */
	enum iscsi_conn_idle idle_policy;
	struct loop_op idle_op;     /* the liveness timer */
	struct __kernel_timespec idle_ts;
	bool idle_armed;
	uint64_t rx_last_ns;        /* CLOCK_MONOTONIC when bytes last came in */
	bool ping_out;              /* a ping waits for its answer */
	uint32_t ping_ttt;
	uint64_t ping_sent_ns;
};

/* Takes ownership of an accepted socket and starts the login phase on loop. */
int iscsi_conn_start(int fd, struct loop *loop, const struct iscsi_host *host);

/* A PDU to queue, with room for inline_len bytes of data (tx->data points
 * there when inline_len > 0). Its sent() defaults to freeing it
 * (iscsi_tx_free: small PDUs are recycled per thread, thread_cache.h). */
struct iscsi_tx *iscsi_conn_alloc_tx(uint32_t inline_len);
/* Queues a PDU as it is (login phase); full feature phase PDUs go
 * through iscsi_reply_queue, which stamps their sequence numbers. */
void iscsi_conn_queue(struct iscsi_conn *conn, struct iscsi_tx *tx);
/* Starts tearing the connection down; it is freed when nothing is in flight. */
void iscsi_conn_close(struct iscsi_conn *conn, const char *why);
/* Stops reading and closes once everything queued is sent: for a reply
 * that ends the connection (failed login, logout, protocol error). */
void iscsi_conn_close_after_tx(struct iscsi_conn *conn, const char *why);
void iscsi_conn_get(struct iscsi_conn *conn);
void iscsi_conn_put(struct iscsi_conn *conn);

/* The login phase upper (conn_login.c): sets conn->upper; fails only
 * for lack of memory. */
int iscsi_conn_login_init(struct iscsi_conn *conn);
/* Resizes rx_buf for the negotiated MaxRecvDataSegmentLength. */
int iscsi_conn_size_rx_buf(struct iscsi_conn *conn, uint32_t max_dsl);
/* CLOCK_MONOTONIC in nanoseconds, the liveness timer's clock. */
/* A NOP-Out answering a ping (RFC 7143 §11.18) came with this TTT. */
void iscsi_conn_pong(struct iscsi_conn *conn, uint32_t ttt);
/* Starts reading PDUs on conn->loop (used after a handoff). */
void iscsi_conn_rx_start(struct iscsi_conn *conn);
/* Shutdown: closes every connection living on loop (call on its thread). */
void iscsi_conn_close_all_on(struct loop *loop);
/* Graceful shutdown, first step: asks every connection living on loop to
 * log out within seconds (once each; later calls reach the connections
 * that arrived since), and closes those with nothing to log out of. */
void iscsi_conn_ask_logout_all_on(struct loop *loop, uint16_t seconds);
unsigned iscsi_conn_live_count(void);

#endif
