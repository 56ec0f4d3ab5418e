/* The targets lunard serves: built from the configuration at start-up,
 * each a reference-counted object whose LUs come and go at run time; and
 * the answers the transport asks the control plane for (find a target,
 * SendTargets).
 *
 * Threads: the registry is changed on the control thread (running.c
 * drives live changes through the functions below). A target lives
 * while someone holds a reference: the registry holds one, and a session
 * should hold one from login to its end (targets_get / targets_put). Its
 * LUN table is read-copy-update (see struct scsi_target): the data plane
 * reads it without locks, targets_add_lun / targets_remove_lun publish a
 * new table and free the old one after every data-plane loop has passed a
 * quiescent point. A removed LU lives on while tasks hold it; its backing
 * store is closed when the last of them is released. */
#ifndef LUNAR_CONTROL_TARGETS_H
#define LUNAR_CONTROL_TARGETS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "control/config.h"
#include "scsi/scsi.h"
#include "util/loop.h"

/* The portal group of a portal the configuration puts in none (portals =
 * [ ... ], --listen), and the port of a target's nexus made without one. */
#define LUNAR_TPGT CONFIG_DEFAULT_PORTAL_GROUP

struct lunar_target {
	struct scsi_target scsi; /* owns the LUs, which own their stores */
	char *alias;
	/* who may log in and what each initiator sees (open, acl; acl.h):
	 * the running configuration's entry, repointed on the control thread
	 * when it changes (targets_reconfigure). Read at login on the control
	 * thread and by SendTargets (any loop, under the registry's lock);
	 * sessions keep the LUN view they got at login. */
	const struct config_target *config;
	_Atomic unsigned refs;
};

/* Opens every backing store and creates the LUs. Returns 0 or -errno
 * (logged, naming the target and LUN). */
int targets_build(const struct lunar_config *cfg);
/* Drops the registry's references; after the data plane has stopped. */
void targets_free(void);
/* The loops whose callbacks read LUN tables: the data-plane loops, set
 * once they run. Until then a change frees the old table at once. */
void targets_set_readers(struct loop *const *loops, unsigned n);

/* The target called name with a reference for the caller, or NULL. */
struct lunar_target *targets_get(const char *name);
/* Drops a reference; the last one frees the target. Any thread. */
void targets_put(struct lunar_target *t);

/* Control thread: opens the store cl describes and serves it as LUN
 * cl->lun of the target called name; every I_T nexus of the target gets
 * REPORTED LUNS DATA HAS CHANGED. Returns 0, -ENOENT (no such target),
 * -EEXIST (LUN taken) or another -errno (logged). */
int targets_add_lun(const char *name, const struct config_lun *cl);
/* Control thread: stops serving LUN lun of the target called name. Tasks
 * already holding the LU finish normally; new ones get LOGICAL UNIT NOT
 * SUPPORTED and REPORT LUNS no longer lists it. Returns 0, -ENOENT or
 * -ENOMEM (nothing changed). */
int targets_remove_lun(const char *name, uint16_t lun);

/* Live reconfiguration (running.c), control thread. */
/* Creates the target ct describes, opens its LUNs and lists it; ct must
 * outlive it or be replaced through targets_reconfigure. Returns 0,
 * -EEXIST or -errno (nothing listed). */
int targets_add(const struct config_target *ct);
/* Unlists the target called name and hands the registry's reference to
 * the caller (NULL: none): new logins no longer find it, its sessions go
 * on. Undone by targets_attach, finished by targets_retire. */
struct lunar_target *targets_detach(const char *name);
int targets_attach(struct lunar_target *t);
/* Finishes a detached target: its LUNs go (new commands get LOGICAL UNIT
 * NOT SUPPORTED), no one may log in to it again, and with end_sessions its
 * sessions are ended (their connections closed, on their own loops).
 * Drops the caller's reference. */
void targets_retire(struct lunar_target *t, bool end_sessions);
/* After the target's access changed (targets_reconfigure): ends the
 * sessions of initiators its access no longer lists (RFC 7143: the
 * target may end a session at any time; they would be refused at their
 * next login). Sessions still allowed keep the LUN view they have. */
void targets_end_unlisted(const char *name);
/* After targets_reconfigure: ends every session that logged in through a
 * portal group its target is no longer reached through. */
void targets_end_outside_groups(void);
/* I_T nexuses (logged-in sessions) of the target called name. */
unsigned targets_sessions(const char *name);
/* targets_remove_lun that hands back the LU with a reference, so that
 * targets_attach_lun can serve it again (NULL: no such LUN or no
 * memory). scsi_lu_put it to finish. */
struct scsi_lu *targets_detach_lun(const char *name, uint16_t lun);
/* Serves lu again (taking over the reference). Returns 0 or -errno. */
int targets_attach_lun(const char *name, struct scsi_lu *lu);
/* Serves the store cl describes as LUN cl->lun in place of the one
 * there, closing the old store first (the new one may be its file): waits
 * on this thread, at most a few seconds, for commands in flight and a
 * grace period to let the old LU go. Returns 0; or -EBUSY (the old one
 * stays) or -errno from opening the new store, and then the LUN is gone
 * (targets_add_lun the old configuration to restore it). */
int targets_replace_lun(const char *name, const struct config_lun *cl);
/* Grows LUN cl->lun's file to size bytes (never shrinks it) and the LU
 * with it: CAPACITY DATA HAS CHANGED on every I_T nexus. Returns 0,
 * -ENOENT, -EROFS or -errno of the file. */
int targets_grow_lun(const char *name, const struct config_lun *cl, uint64_t size);
/* Notices stores that grew by themselves (a file extended by someone
 * else) and tells every I_T nexus, as targets_grow_lun does. */
void targets_refresh_sizes(void);
/* Points every listed target at its entry in cfg (matched by name; its
 * alias follows) and SendTargets at cfg's portals. cfg must list them
 * all and outlive the next call. */
void targets_reconfigure(const struct lunar_config *cfg);

/* The transport's view of targets_get and targets_put: a session holds
 * its target from login to its end. */
void *targets_find(const char *name);
void targets_release(void *target);
struct scsi_target *targets_scsi(void *target);
const char *targets_alias(void *target);
/* Login (iscsi_host): the portal group of the portal a connection's
 * local address belongs to (0: none now); whether target is reached
 * through group tag; the target's own iSCSI limits, when it has some. */
uint16_t targets_portal_tag(const struct sockaddr_storage *local);
bool targets_on_portal(void *target, uint16_t tag);
bool targets_limits(const char *name, struct iscsi_target_limits *out);
/* Login: may initiator_name, authenticated as chap_user ("" without
 * CHAP), use target? Logs a refusal. */
bool targets_authorize(void *target, const char *initiator_name, const char *chap_user);
/* Login: the LUNs initiator_name sees of target, as a view for its I_T
 * nexus (*view NULL: every LUN under its own number). Returns 0 or
 * -ENOMEM. */
int targets_lun_view(void *target, const char *initiator_name, struct scsi_lun_view **view);
/* SendTargets (RFC 7143 §12.3) over every portal; a wildcard portal is
 * listed as each address of this host in its family. Only targets
 * initiator_name may log in to are listed or answered for by name
 * (RFC 7143 §12.3: the response lists the targets the initiator is
 * authorized to access). Returns the bytes written or -errno. */
/* Also lists a target only when visible(target, initiator) says so (iSNS
 * discovery domains, control/isns.h); set before the portals open. */
void targets_set_sendtargets_filter(bool (*visible)(const char *target, const char *initiator));
int targets_sendtargets(const char *value, const char *initiator_name,
			const char *session_target, char *out, size_t cap);

#endif
