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
	/* Optional: whether target is reached through this connection's
	 * portal group (tpgt); no: 0203, the target is not at this address. */
	bool (*target_here)(void *ctx, void *target);
	/* Optional: the limits logins to the target called target_name
	 * offer when it has its own, copied to *out (false: limits below).
	 * Asked at the first request, before its keys are answered. */
	bool (*target_limits)(void *ctx, const char *target_name, struct iscsi_target_limits *out);
	/* Target's alias (may be NULL) for the TargetAlias key. */
	const char *(*target_alias)(void *ctx, void *target);
	/* Called once, just before the final response of a successful login
	 * is built: find or create the session (TSIH 0 = new session, with
	 * reinstatement of an old one having the same initiator name + ISID;
	 * TSIH != 0 = add this connection to that session). Sets *tsih and
	 * returns ISCSI_LOGIN_SUCCESS or the login status to fail with. */
	uint16_t (*bind_session)(void *ctx, struct iscsi_login *lg, uint16_t *tsih);
	/* Authentication and authorization (access.h). NULL, or callbacks
	 * left NULL: no CHAP (required without the account callbacks: every
	 * login fails with 0201), every initiator authorized. */
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
	bool discovery;          /* SessionType=Discovery */
	uint8_t isid[6];
	uint16_t tsih;           /* as requested, then as bound */
	uint16_t cid;
	/* sequence numbers for the full feature phase that follows */
	uint32_t cmdsn;          /* the initiator's CmdSN: the next ExpCmdSN */
	uint32_t statsn;         /* StatSN of the last login response sent */
	/* authentication */
	char chap_user[ISCSI_CHAP_NAME_MAX]; /* CHAP_N the initiator proved, "" without CHAP */
	uint16_t status;         /* status of the last response built */
	const char *fail_reason; /* why the login failed, when login.c knows more than
				  * the status says; never holds a secret */
	/* negotiation */
	enum iscsi_login_stage stage; /* current stage */
	struct iscsi_params params;   /* final once the result is ISCSI_LOGIN_DONE */
	/* implementation state, private to login.c */
	struct iscsi_login_priv *priv;
};

/* Cheap: the state a login needs (about 130 KB) is allocated when the
 * first request arrives. Returns 0. */
int iscsi_login_init(struct iscsi_login *lg, const struct iscsi_login_env *env);
void iscsi_login_fini(struct iscsi_login *lg);

/* Sets the StatSN of the first login response (otherwise random, RFC 7143
 * §11.13.4); for tests and reproducible traces. */
void iscsi_login_set_initial_statsn(struct iscsi_login *lg, uint32_t statsn);

/* Handles one Login Request (req + its data segment) and builds the Login
 * Response in rsp_bhs/rsp_data (at most rsp_cap bytes; *rsp_len gets the
 * data segment length). Malformed input gets the login status RFC 7143
 * names (e.g. 0x0200 initiator error, 0x0207 missing parameter, 0x0203
 * target not found, 0x0205 unsupported version) and ISCSI_LOGIN_REJECTED.
 *
 * Authentication (RFC 7143 §12.1): AuthMethod offers CHAP alone when the
 * target (NULL: discovery) requires it, CHAP and None when it has CHAP
 * accounts, None otherwise. The CHAP exchange (CHAP_A; CHAP_N, CHAP_R and
 * for mutual CHAP CHAP_I, CHAP_C) fails with 0x0201 on a wrong response,
 * an unknown user, a missing or malformed key, an algorithm we do not
 * offer, a reflected, short or oversized challenge, or a key out of
 * order. Once authentication is settled, access->authorize decides
 * (0x0202 when it says no). */
enum iscsi_login_result iscsi_login_step(struct iscsi_login *lg, const struct iscsi_hdr *req,
					 const uint8_t *data, size_t len,
					 uint8_t rsp_bhs[ISCSI_BHS_LEN], uint8_t *rsp_data,
					 size_t rsp_cap, size_t *rsp_len);

#endif
