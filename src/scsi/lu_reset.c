/* LOGICAL UNIT RESET across every I_T nexus of a target (SAM-5 6.3.3).
 *
 * Each nexus's tasks belong to its own loop, so the reset sends one part to
 * every loop that owns a nexus of the target; the part resets the nexuses
 * of its loop. The reset counts what it waits for: one per part still to
 * run, one per aborted task still executing, and one for its setup. The
 * last to finish posts done to the loop the reset came from. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

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
	uint16_t lun;               /* the target's LUN */
	_Atomic unsigned pending;
	struct loop *origin;
	struct loop_msg done_msg;
	void (*done)(void *arg);
	void *arg;
	/* the nexuses it reaches (NULL: all) and the unit attention they get
	 * (0: none); PREEMPT AND ABORT narrows both */
	bool (*match)(const struct scsi_nexus *n, void *arg);
	void *match_arg;
	enum scsi_ua ua;
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

/* One nexus's share of the reset, on its loop. */
static void reset_nexus(struct scsi_lu_reset *r, struct scsi_nexus *n)
{
	if (r->match && !r->match(n, r->match_arg))
		return;
	/* Tasks carry the LUN as their initiator numbers it; a nexus whose
	 * view leaves the LU out has none for it. */
	int lun = scsi_nexus_initiator_lun(n, r->lun);
	if (lun >= 0) {
		n->ops->drop_unexecuted(n, (uint16_t)lun);
		unsigned executing = scsi_task_set_abort_for(n, lun, reset_removed, n, r);
		atomic_fetch_add_explicit(&r->pending, executing, memory_order_relaxed);
	}
	if (r->ua)
		scsi_ua_establish(n, r->lun, r->ua);
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
		n += x->loop == p->loop;
	struct scsi_nexus **mine = n ? calloc(n, sizeof(*mine)) : NULL;
	unsigned k = 0;
	for (struct scsi_nexus *x = t->nexuses; mine && x; x = x->next)
		if (x->loop == p->loop)
			mine[k++] = x;
	pthread_mutex_unlock(&t->lock);
	if (n && !mine) {
		/* Out of memory for the list: try again on the loop's next turn. */
		log_warn("target %s: LUN %u reset: out of memory, retrying", t->name, r->lun);
		loop_post(p->loop, &p->msg);
		return;
	}
	for (unsigned i = 0; i < k; i++)
		reset_nexus(r, mine[i]);
	free(mine);
	scsi_lu_reset_put(r);
}

static int lu_abort_start(struct scsi_nexus *from, uint16_t lun,
			  bool (*match)(const struct scsi_nexus *n, void *arg), void *match_arg,
			  enum scsi_ua ua, void (*done)(void *arg), void *arg)
{
	int target_lun = scsi_nexus_target_lun(from, lun);
	if (target_lun < 0)
		return -ENOENT;
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
	/* One part per distinct loop among the nexuses. */
	for (struct scsi_nexus *x = t->nexuses; x; x = x->next) {
		unsigned i = 0;
		while (i < r->nparts && r->parts[i].loop != x->loop)
			i++;
		if (i == r->nparts)
			r->parts[r->nparts++] = (struct lu_reset_part){ .reset = r, .loop = x->loop };
	}
	pthread_mutex_unlock(&t->lock);
	r->target = t;
	r->lun = (uint16_t)target_lun;
	r->origin = from->loop;
	r->done = done;
	r->arg = arg;
	r->match = match;
	r->match_arg = match_arg;
	r->ua = ua;
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
	int ret = lu_abort_start(from, lun, NULL, NULL, SCSI_UA_LU_RESET, done, arg);
	/* SPC-2 5.5.1: a LOGICAL UNIT RESET releases the SPC-2 reservation
	 * (persistent reservations stay, SPC-4 5.12.2). */
	struct scsi_lu *lu = ret == 0 ? scsi_target_lu_get(from->target,
							   scsi_nexus_target_lun(from, lun)) : NULL;
	if (lu) {
		scsi_reserve_lu_reset(lu);
		scsi_lu_put(lu);
	}
	return ret;
}

int scsi_lu_abort_nexuses(struct scsi_nexus *from, uint16_t lun,
			  bool (*match)(const struct scsi_nexus *n, void *arg), void *match_arg,
			  void (*done)(void *arg), void *arg)
{
	return lu_abort_start(from, lun, match, match_arg, 0, done, arg);
}
