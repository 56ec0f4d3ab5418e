/* Admission of new connections against struct iscsi_login_limits: how
 * many connections lunar holds in all, how many are logging in, and how
 * many come from each source address. Any thread may call these (a
 * connection ends on its session's loop). */
#ifndef LUNAR_ISCSI_CONN_ADMIT_H
#define LUNAR_ISCSI_CONN_ADMIT_H

#include <sys/socket.h>

struct iscsi_login_limits;

enum iscsi_admit {
	ISCSI_ADMIT_OK,
	ISCSI_ADMIT_TOO_MANY_LOGINS,
	ISCSI_ADMIT_TOO_MANY_CONNECTIONS,
	ISCSI_ADMIT_TOO_MANY_FROM_ADDRESS,
	ISCSI_ADMIT_TOO_MANY_LOGINS_FROM_ADDRESS,
	ISCSI_ADMIT_NO_MEMORY,
};

const char *iscsi_admit_why(enum iscsi_admit a);
/* Counts a new connection from peer (its port is ignored) as logging in,
 * or says which cap it is over and counts nothing. */
enum iscsi_admit iscsi_admit_conn(const struct iscsi_login_limits *lim, const struct sockaddr *peer);
/* An admitted connection from peer has left its login phase (logged in
 * or closed). */
void iscsi_admit_login_over(const struct sockaddr *peer);
/* An admitted connection from peer has gone. */
void iscsi_admit_release(const struct sockaddr *peer);

#endif
