/* RESERVE(6)/(10) and RELEASE(6)/(10) (SPC-2 7.21, 7.11): the reservation
 * of a whole LU by one I_T nexus, as older clusters take it. It lives
 * beside the persistent reservations, under the same lock, and ends with
 * a RELEASE from its holder, a LOGICAL UNIT RESET or the I_T nexus's loss
 * (SPC-2 5.5.1). */
#include <string.h>

#include "scsi/handlers.h"
#include "scsi/pr.h"
#include "scsi/pr_state.h"

/* SPC-4 5.12.3 (CRH 0): while persistent reservations are in use, the
 * SPC-2 commands meet RESERVATION CONFLICT; also while a change to them
 * is being saved (pr.c), which may bring them into use. */
static bool reserve_pr_in_use(const struct scsi_lu *lu)
{
	return lu->pr->nregs > 0 || lu->pr->type != PR_TYPE_NONE || lu->pr_save;
}

enum sense_reason spc_reserve(struct scsi_task *task)
{
	struct scsi_lu *lu = task->lu;
	enum sense_reason r = SENSE_NONE;
	pthread_mutex_lock(&lu->pr_lock);
	if (reserve_pr_in_use(lu) || (lu->spc2_holder && lu->spc2_holder != task->nexus))
		r = SENSE_RESERVATION_CONFLICT;
	else
		lu->spc2_holder = task->nexus;
	scsi_pr_update_flag(lu);
	pthread_mutex_unlock(&lu->pr_lock);
	return r;
}

/* SPC-2 7.11: a RELEASE from another nexus than the holder is GOOD and
 * changes nothing. */
enum sense_reason spc_release(struct scsi_task *task)
{
	struct scsi_lu *lu = task->lu;
	enum sense_reason r = SENSE_NONE;
	pthread_mutex_lock(&lu->pr_lock);
	if (reserve_pr_in_use(lu))
		r = SENSE_RESERVATION_CONFLICT;
	else if (lu->spc2_holder == task->nexus)
		lu->spc2_holder = NULL;
	scsi_pr_update_flag(lu);
	pthread_mutex_unlock(&lu->pr_lock);
	return r;
}

/* Releases lu's SPC-2 reservation if nexus (NULL: anyone) holds it. */
static void reserve_release_for(struct scsi_lu *lu, const struct scsi_nexus *nexus)
{
	pthread_mutex_lock(&lu->pr_lock);
	if (lu->spc2_holder && (!nexus || lu->spc2_holder == nexus))
		lu->spc2_holder = NULL;
	scsi_pr_update_flag(lu);
	pthread_mutex_unlock(&lu->pr_lock);
}

void scsi_reserve_lu_reset(struct scsi_lu *lu)
{
	reserve_release_for(lu, NULL);
}

void scsi_reserve_nexus_gone(struct scsi_nexus *nexus)
{
	/* The LUs are taken under the target's lock and released after it:
	 * pr_lock is taken before a target's lock, never after. */
	struct scsi_target *t = nexus->target;
	struct scsi_lu *lus[SCSI_MAX_LUNS];
	unsigned n = 0;
	pthread_mutex_lock(&t->lock);
	const struct scsi_lun_map *map = atomic_load(&t->luns);
	for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++)
		if (map->lus[lun])
			lus[n++] = scsi_lu_get(map->lus[lun]);
	pthread_mutex_unlock(&t->lock);
	for (unsigned i = 0; i < n; i++) {
		reserve_release_for(lus[i], nexus);
		scsi_lu_put(lus[i]);
	}
}
