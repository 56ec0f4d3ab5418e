/* Who may log in: what the login phase asks the control plane once it
 * knows the initiator's name and the target it wants (RFC 7143 §12.1 CHAP,
 * §11.13.5 statuses 0201 authentication failure and 0202 authorization
 * failure). The control plane answers from its configuration; the login
 * state machine (login.c) runs the CHAP exchange itself.
 *
 * target is the handle find_target returned, or NULL in a discovery
 * session (which has credentials of its own). Every callback runs on the
 * control thread and must not block. */
#ifndef LUNAR_ISCSI_ACCESS_H
#define LUNAR_ISCSI_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISCSI_CHAP_NAME_MAX 256     /* CHAP_N, with its NUL */
#define ISCSI_CHAP_SECRET_MAX 256   /* bytes of a CHAP secret */

struct iscsi_chap_secret {
	uint8_t bytes[ISCSI_CHAP_SECRET_MAX];
	size_t len;
};

struct iscsi_access {
	/* true: the initiator must authenticate with CHAP; a login offering
	 * only AuthMethod=None fails with 0201. */
	bool (*chap_required)(void *target);
	/* true: CHAP accounts exist for target, so a login offering CHAP
	 * authenticates with it; false: only AuthMethod=None is offered. */
	bool (*chap_offered)(void *target);
	/* The secret an initiator calling itself CHAP_N=user proves it holds
	 * for target; false when no such user is configured (0201). */
	bool (*chap_initiator_secret)(void *target, const char *user, struct iscsi_chap_secret *out);
	/* The target's own CHAP name and secret, for mutual CHAP; false when
	 * none is configured (a login asking for mutual CHAP then fails with
	 * 0201). */
	bool (*chap_target_account)(void *target, char user[ISCSI_CHAP_NAME_MAX],
				    struct iscsi_chap_secret *out);
	/* After authentication: may the initiator called initiator_name
	 * (authenticated as chap_user, "" without CHAP) log in to target?
	 * false fails the login with 0202. */
	bool (*authorize)(void *target, const char *initiator_name, const char *chap_user);
};

#endif
