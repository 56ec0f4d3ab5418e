/* Resets that reach tasks beyond one loop callback (SAM-5 6.3, 7): LOGICAL
 * UNIT RESET and TARGET WARM/COLD RESET across every I_T nexus of a
 * target, I_T NEXUS RESET and ABORT TASK SET on the asking nexus alone.
 *
 * Each nexus's tasks belong to its own loop, so the reset sends one part to
 * every loop that owns a nexus it covers; the part resets the nexuses of
 * its loop. The reset counts what it waits for: one per part still to
 * run, one per aborted task still executing, and one for its setup. The
 * last to finish posts done to the loop the reset came from. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/mode.h"
#include "scsi/nexus.h"
#include "scsi/pr.h"
#include "scsi/task.h"
#include "util/log.h"
#include "util/macros.h"

struct lu_reset_part {
	struct loop_msg msg;
	struct scsi_lu_reset *reset;
	struct loop *loop;
};

struct scsi_lu_reset {
	struct scsi_target *target;
	struct scsi_nexus *only;    /* the one nexus it covers; NULL: all of target */
	/* and of those, the ones match accepts (NULL: all): PREEMPT AND
	 * ABORT narrows a LUN's reset to the preempted nexuses */
	bool (*match)(const struct scsi_nexus *n, void *arg);
	void *match_arg;
	int lun;                    /* the target's LUN, or -1: every LUN */
	enum scsi_ua ua;            /* established for each LUN it covers; 0: none */
	struct scsi_nexus *from;    /* the nexus that asked */
	bool end;                   /* then end every nexus but from (ops->end) */
	_Atomic unsigned pending;
	struct loop *origin;
	struct loop_msg done_msg;
	void (*done)(void *arg);
	void *arg;
	unsigned nparts;
	struct lu_reset_part parts[];
};

static void reset_finish(struct loop_msg *msg)
{
	struct scsi_lu_reset *r = container_of(msg, struct scsi_lu_reset, done_msg);
	r->done(r->arg);
	free(r);
}

void scsi_lu_reset_put(struct scsi_lu_reset *r)
{
	if (atomic_fetch_sub_explicit(&r->pending, 1, memory_order_acq_rel) == 1)
		loop_post(r->origin, &r->done_msg);
}

static void reset_removed(struct scsi_task *task, void *arg)
{
	struct scsi_nexus *n = arg;
	n->ops->removed(task, n);
}

/* One LU's share of the reset on nexus n. */
static void reset_nexus_lun(struct scsi_lu_reset *r, struct scsi_nexus *n, uint16_t target_lun)
{
	if (r->match && !r->match(n, r->match_arg))
		return;
	/* Tasks carry the LUN as their initiator numbers it; a nexus whose
	 * view leaves the LU out has none for it. */
	int lun = scsi_nexus_initiator_lun(n, target_lun);
	if (lun >= 0) {
		n->ops->drop_unexecuted(n, (uint16_t)lun);
		unsigned executing = scsi_task_set_abort_for(n, lun, reset_removed, n, r);
		atomic_fetch_add_explicit(&r->pending, executing, memory_order_relaxed);
	}
	if (r->ua)
		scsi_ua_establish(n, target_lun, r->ua);
}

/* One nexus's share of the reset, on its loop. */
static void reset_nexus(struct scsi_lu_reset *r, struct scsi_nexus *n)
{
	if (r->lun >= 0) {
		reset_nexus_lun(r, n, (uint16_t)r->lun);
		return;
	}
	const struct scsi_lun_map *map = scsi_target_lun_map(r->target);
	for (uint16_t lun = 0; lun < SCSI_MAX_LUNS; lun++)
		if (map->lus[lun])
			reset_nexus_lun(r, n, lun);
}

static bool reset_covers(const struct scsi_lu_reset *r, const struct scsi_nexus *x,
			 const struct loop *loop)
{
	return x->loop == loop && (!r->only || r->only == x);
}

static void reset_part_run(struct loop_msg *msg)
{
	struct lu_reset_part *p = container_of(msg, struct lu_reset_part, msg);
	struct scsi_lu_reset *r = p->reset;
	struct scsi_target *t = r->target;
	/* The nexuses of this loop, taken under the lock and reset after it:
	 * resetting may start tasks that were waiting (a MODE SELECT takes
	 * the lock) or end a session (nexus_fini takes it). Only this thread
	 * frees a nexus of this loop, and none is freed before this callback
	 * returns: a session ends once its connection has gone, and that
	 * already dropped every task the reset could release. */
	pthread_mutex_lock(&t->lock);
	unsigned n = 0;
	for (struct scsi_nexus *x = t->nexuses; x; x = x->next)
		n += reset_covers(r, x, p->loop);
	struct scsi_nexus **mine = n ? calloc(n, sizeof(*mine)) : NULL;
	unsigned k = 0;
	for (struct scsi_nexus *x = t->nexuses; mine && x; x = x->next)
		if (reset_covers(r, x, p->loop))
			mine[k++] = x;
	pthread_mutex_unlock(&t->lock);
	if (n && !mine) {
		/* Out of memory for the list: try again on the loop's next turn. */
		log_warn("target %s: reset: out of memory, retrying", t->name);
		loop_post(p->loop, &p->msg);
		return;
	}
	for (unsigned i = 0; i < k; i++)
		reset_nexus(r, mine[i]);
	/* Ending one nexus never frees another, and none is touched after. */
	for (unsigned i = 0; r->end && i < k; i++)
		if (mine[i] != r->from && mine[i]->ops->end)
			mine[i]->ops->end(mine[i]);
	free(mine);
	scsi_lu_reset_put(r);
}

/* Starts a reset of lun (the target's; -1: all) on only (NULL: every
 * nexus of from's target), establishing ua, with done posted to from's
 * loop at the end. */
static int reset_start(struct scsi_nexus *from, struct scsi_nexus *only,
		       bool (*match)(const struct scsi_nexus *n, void *arg), void *match_arg, int lun,
		       enum scsi_ua ua, bool end, void (*done)(void *arg), void *arg)
{
	struct scsi_target *t = from->target;
	pthread_mutex_lock(&t->lock);
	unsigned nexuses = 0;
	for (struct scsi_nexus *x = t->nexuses; x; x = x->next)
		nexuses++;
	struct scsi_lu_reset *r = calloc(1, sizeof(*r) + nexuses * sizeof(r->parts[0]));
	if (!r) {
		pthread_mutex_unlock(&t->lock);
		return -ENOMEM;
	}
	/* One part per distinct loop among the nexuses it covers. */
	for (struct scsi_nexus *x = t->nexuses; x; x = x->next) {
		if (only && x != only)
			continue;
		unsigned i = 0;
		while (i < r->nparts && r->parts[i].loop != x->loop)
			i++;
		if (i == r->nparts)
			r->parts[r->nparts++] = (struct lu_reset_part){ .reset = r, .loop = x->loop };
	}
	pthread_mutex_unlock(&t->lock);
	r->target = t;
	r->only = only;
	r->match = match;
	r->match_arg = match_arg;
	r->lun = lun;
	r->ua = ua;
	r->from = from;
	r->end = end;
	r->origin = from->loop;
	r->done = done;
	r->arg = arg;
	r->done_msg.fn = reset_finish;
	atomic_init(&r->pending, r->nparts + 1);
	for (unsigned i = 0; i < r->nparts; i++) {
		r->parts[i].msg.fn = reset_part_run;
		loop_post(r->parts[i].loop, &r->parts[i].msg);
	}
	scsi_lu_reset_put(r);
	return 0;
}

int scsi_lu_reset(struct scsi_nexus *from, uint16_t lun, void (*done)(void *arg), void *arg)
{
	int target_lun = scsi_nexus_target_lun(from, lun);
	if (target_lun < 0)
		return -ENOENT;
	int ret = reset_start(from, NULL, NULL, NULL, target_lun, SCSI_UA_LU_RESET, false, done, arg);
	/* SPC-2 5.5.1: a LOGICAL UNIT RESET releases the SPC-2 reservation
	 * (persistent reservations stay, SPC-4 5.12.2); SAM-5 6.3.3: mode
	 * parameters go back to their defaults, for every I_T nexus, since
	 * the LU keeps one set for all. */
	struct scsi_lu *lu = ret == 0 ? scsi_target_lu_get(from->target, target_lun) : NULL;
	if (lu) {
		scsi_reserve_lu_reset(lu);
		mode_restore_defaults(lu);
		scsi_lu_put(lu);
	}
	return ret;
}

int scsi_lu_abort_nexuses(struct scsi_nexus *from, uint16_t lun,
			  bool (*match)(const struct scsi_nexus *n, void *arg), void *match_arg,
			  void (*done)(void *arg), void *arg)
{
	int target_lun = scsi_nexus_target_lun(from, lun);
	if (target_lun < 0)
		return -ENOENT;
	return reset_start(from, NULL, match, match_arg, target_lun, 0, false, done, arg);
}

int scsi_abort_task_set(struct scsi_nexus *from, uint16_t lun, void (*done)(void *arg), void *arg)
{
	int target_lun = scsi_nexus_target_lun(from, lun);
	if (target_lun < 0)
		return -ENOENT;
	return reset_start(from, from, NULL, NULL, target_lun, 0, false, done, arg);
}

int scsi_it_nexus_reset(struct scsi_nexus *from, void (*done)(void *arg), void *arg)
{
	int ret = reset_start(from, from, NULL, NULL, -1, SCSI_UA_IT_NEXUS_LOSS, false, done, arg);
	/* An I_T nexus loss releases the SPC-2 reservations it held. */
	if (ret == 0)
		scsi_reserve_nexus_gone(from);
	return ret;
}

/* The initiator port name up to its ",i," (the iSCSI initiator name,
 * RFC 7143 §10.1): the ports of one initiator share it. */
static size_t initiator_name_len(const struct scsi_nexus *n)
{
	const char *sep = strstr(n->initiator_port, ",i,");
	return sep ? (size_t)(sep - n->initiator_port) : strlen(n->initiator_port);
}

static bool same_initiator(const struct scsi_nexus *a, const struct scsi_nexus *b)
{
	size_t len = initiator_name_len(a);
	return len == initiator_name_len(b) && memcmp(a->initiator_port, b->initiator_port, len) == 0;
}

int scsi_target_reset(struct scsi_nexus *from, bool cold, void (*done)(void *arg), void *arg)
{
	/* A target reset aborts every initiator's commands. An initiator may
	 * reset what it alone uses (its own sessions, as multipath has), not
	 * others' I/O: RFC 7143 §11.5.1 lets the target refuse. */
	struct scsi_target *t = from->target;
	pthread_mutex_lock(&t->lock);
	bool alone = true;
	for (struct scsi_nexus *x = t->nexuses; x; x = x->next)
		alone &= same_initiator(from, x);
	pthread_mutex_unlock(&t->lock);
	if (!alone)
		return -EPERM;
	/* SAM-5 6.3.2: a hard reset leaves every I_T nexus a unit attention
	 * for every LU; 29h/00h names any reset. */
	int ret = reset_start(from, NULL, NULL, NULL, -1, SCSI_UA_POWER_ON, cold, done, arg);
	/* A target reset is a LOGICAL UNIT RESET of every LU: SPC-2
	 * reservations go (SPC-2 5.5.1), persistent ones stay, mode
	 * parameters go back to their defaults (SAM-5 6.3.3). */
	if (ret == 0) {
		const struct scsi_lun_map *map = scsi_target_lun_map(from->target);
		for (uint16_t lun = 0; lun < SCSI_MAX_LUNS; lun++) {
			if (!map->lus[lun])
				continue;
			scsi_reserve_lu_reset(map->lus[lun]);
			mode_restore_defaults(map->lus[lun]);
		}
	}
	return ret;
}
