/* The login phase of one connection (RFC 7143 §6, §11.12-11.13) as a pure
 * state machine: Login Request in, Login Response out. It knows nothing of
 * sockets or threads; what it needs from the rest of lunar comes through
 * struct iscsi_login_env. */
#ifndef LUNAR_ISCSI_LOGIN_H
#define LUNAR_ISCSI_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iscsi/access.h"
#include "iscsi/params.h"
#include "iscsi/pdu.h"

#define ISCSI_NAME_MAX 224   /* RFC 7143 §4.2.7.1: 223 bytes + NUL */
#define ISCSI_ALIAS_MAX 256

struct iscsi_login;

struct iscsi_login_env {
	void *ctx;
	/* Returns an opaque target handle or NULL if the name is unknown. The
	 * handle may hold a reference: whoever ends the login without binding
	 * a session (which takes lg->target over) releases it. */
	void *(*find_target)(void *ctx, const char *target_name);
	/* Target's alias (may be NULL) for the TargetAlias key. */
	const char *(*target_alias)(void *ctx, void *target);
	/* Called once, just before the final response of a successful login
	 * is built: find or create the session (TSIH 0 = new session, with
	 * reinstatement of an old one having the same initiator name + ISID;
	 * TSIH != 0 = add this connection to that session). Sets *tsih and
	 * returns ISCSI_LOGIN_SUCCESS or the login status to fail with. */
	uint16_t (*bind_session)(void *ctx, struct iscsi_login *lg, uint16_t *tsih);
	/* Authentication and authorization (access.h). */
	const struct iscsi_access *access;
	struct iscsi_target_limits limits;
	uint16_t tpgt;          /* TargetPortalGroupTag of the portal logged in to */
	uint32_t cmd_window;    /* commands the target accepts beyond ExpCmdSN */
};

enum iscsi_login_result {
	ISCSI_LOGIN_CONTINUE,     /* send the response, wait for the next request */
	ISCSI_LOGIN_DONE,         /* send the response, then full feature phase */
	ISCSI_LOGIN_REJECTED,     /* send the response, then close the connection */
};

struct iscsi_login {
	const struct iscsi_login_env *env;
	/* identity, filled as the keys arrive */
	char initiator_name[ISCSI_NAME_MAX];
	char initiator_alias[ISCSI_ALIAS_MAX];
	char target_name[ISCSI_NAME_MAX];
	void *target;            /* from env->find_target; NULL for discovery */
	char chap_user[ISCSI_CHAP_NAME_MAX]; /* the CHAP_N it authenticated as; "" without CHAP */
	bool discovery;          /* SessionType=Discovery */
	uint8_t isid[6];
	uint16_t tsih;           /* as requested, then as bound */
	uint16_t cid;
	/* sequence numbers for the full feature phase that follows */
	uint32_t cmdsn;          /* the initiator's CmdSN: the next ExpCmdSN */
	uint32_t statsn;         /* StatSN of the last login response sent */
	/* negotiation */
	enum iscsi_login_stage stage; /* current stage */
	struct iscsi_params params;   /* final once the result is ISCSI_LOGIN_DONE */
	/* implementation state, private to login.c */
	struct iscsi_login_priv *priv;
};

/* Returns 0, or -ENOMEM. */
int iscsi_login_init(struct iscsi_login *lg, const struct iscsi_login_env *env);
void iscsi_login_fini(struct iscsi_login *lg);

/* Sets the StatSN of the first login response (otherwise random, RFC 7143
 * §11.13.4); for tests and reproducible traces. */
void iscsi_login_set_initial_statsn(struct iscsi_login *lg, uint32_t statsn);

/* Handles one Login Request (req + its data segment) and builds the Login
 * Response in rsp_bhs/rsp_data (at most rsp_cap bytes; *rsp_len gets the
 * data segment length). Malformed input gets the login status RFC 7143
 * names (e.g. 0x0200 initiator error, 0x0207 missing parameter, 0x0203
 * target not found, 0x0205 unsupported version) and ISCSI_LOGIN_REJECTED. */
enum iscsi_login_result iscsi_login_step(struct iscsi_login *lg, const struct iscsi_hdr *req,
					 const uint8_t *data, size_t len,
					 uint8_t rsp_bhs[ISCSI_BHS_LEN], uint8_t *rsp_data,
					 size_t rsp_cap, size_t *rsp_len);

#endif
