#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "scsi/nexus.h"
#include "scsi/pr.h"
#include "scsi/stats.h"

/* Pending unit attentions in the order they are reported (SAM-5 5.14: a
 * power-on condition outranks the others, then the other resets). */
static const struct {
	enum scsi_ua ua;
	enum sense_reason reason;
} ua_by_priority[] = {
	{ SCSI_UA_POWER_ON, SENSE_POWER_ON_UA },
	{ SCSI_UA_LU_RESET, SENSE_LU_RESET_UA },
	{ SCSI_UA_IT_NEXUS_LOSS, SENSE_IT_NEXUS_LOSS_UA },
	{ SCSI_UA_CAPACITY_CHANGED, SENSE_CAPACITY_CHANGED_UA },
	{ SCSI_UA_MODE_CHANGED, SENSE_MODE_PARAMS_CHANGED_UA },
	{ SCSI_UA_LUNS_CHANGED, SENSE_REPORTED_LUNS_CHANGED_UA },
	{ SCSI_UA_RESERVATIONS_PREEMPTED, SENSE_RESERVATIONS_PREEMPTED_UA },
	{ SCSI_UA_RESERVATIONS_RELEASED, SENSE_RESERVATIONS_RELEASED_UA },
	{ SCSI_UA_REGISTRATIONS_PREEMPTED, SENSE_REGISTRATIONS_PREEMPTED_UA },
};

void scsi_nexus_init(struct scsi_nexus *nexus, struct scsi_target *target,
		     const char *initiator_port, struct loop *loop,
		     const struct scsi_nexus_ops *ops)
{
	scsi_nexus_init_port(nexus, target, target->rel_port, initiator_port, loop, ops);
}

void scsi_nexus_init_port(struct scsi_nexus *nexus, struct scsi_target *target, uint16_t rel_port,
			  const char *initiator_port, struct loop *loop, const struct scsi_nexus_ops *ops)
{
	memset(nexus, 0, sizeof(*nexus));
	nexus->target = target;
	nexus->rel_port = rel_port;
	nexus->loop = loop;
	nexus->ops = ops;
	snprintf(nexus->initiator_port, sizeof(nexus->initiator_port), "%s",
		 initiator_port ? initiator_port : "");
	nexus->stats = scsi_stats_nexus_open(target->name, nexus->initiator_port);
	/* A new I_T nexus sees every LU as just powered on (SAM-5 6.3.1).
	 * Under the lock the map cannot be replaced, so either this nexus
	 * sees a new LU here or the change reaches it through the list. */
	pthread_mutex_lock(&target->lock);
	const struct scsi_lun_map *map = atomic_load(&target->luns);
	for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++)
		if (map->lus[lun])
			nexus->ua[lun] = SCSI_UA_POWER_ON;
	nexus->next = target->nexuses;
	target->nexuses = nexus;
	pthread_mutex_unlock(&target->lock);
}

void scsi_nexus_fini(struct scsi_nexus *nexus)
{
	scsi_nexus_fence_leave(nexus);
	/* SPC-2 5.5.1: an I_T nexus loss releases its reservations. */
	scsi_reserve_nexus_gone(nexus);
	pthread_mutex_lock(&nexus->target->lock);
	scsi_nexus_fence_release(nexus);
	for (struct scsi_nexus **pp = &nexus->target->nexuses; *pp; pp = &(*pp)->next) {
		if (*pp == nexus) {
			*pp = nexus->next;
			break;
		}
	}
	pthread_mutex_unlock(&nexus->target->lock);
	scsi_nexus_set_view(nexus, NULL);
	scsi_stats_close(nexus->stats);
	nexus->stats = NULL;
}

void scsi_ua_establish(struct scsi_nexus *nexus, uint16_t lun, enum scsi_ua ua)
{
	if (lun < SCSI_MAX_LUNS)
		atomic_fetch_or(&nexus->ua[lun], (uint32_t)ua);
}

void scsi_ua_establish_others(struct scsi_nexus *self, uint16_t lun, enum scsi_ua ua)
{
	pthread_mutex_lock(&self->target->lock);
	for (struct scsi_nexus *n = self->target->nexuses; n; n = n->next)
		if (n != self)
			atomic_fetch_or(&n->ua[lun], (uint32_t)ua);
	pthread_mutex_unlock(&self->target->lock);
}

bool scsi_ua_pending(const struct scsi_nexus *from, uint16_t lun)
{
	int target_lun = scsi_nexus_target_lun(from, lun);
	return target_lun >= 0 && atomic_load(&from->ua[target_lun]) != 0;
}

enum sense_reason scsi_ua_take(struct scsi_nexus *nexus, uint16_t lun)
{
	if (lun >= SCSI_MAX_LUNS)
		return SENSE_NONE;
	/* Nearly always nothing is pending: one load, not a locked
	 * read-modify-write per kind. A bit set just after this load is one
	 * raised after this command, reported with the next. */
	if (atomic_load_explicit(&nexus->ua[lun], memory_order_relaxed) == 0)
		return SENSE_NONE;
	for (size_t i = 0; i < sizeof(ua_by_priority) / sizeof(ua_by_priority[0]); i++) {
		/* Only this nexus's thread clears bits; others only set them. */
		enum scsi_ua ua = ua_by_priority[i].ua;
		if (!(atomic_fetch_and(&nexus->ua[lun], ~(uint32_t)ua) & ua))
			continue;
		/* SPC-4 LUICLR: reported through one LU, REPORTED LUNS DATA
		 * HAS CHANGED is cleared for every LU of this I_T nexus. */
		if (ua == SCSI_UA_LUNS_CHANGED)
			for (unsigned other = 0; other < SCSI_MAX_LUNS; other++)
				atomic_fetch_and(&nexus->ua[other], ~(uint32_t)ua);
		return ua_by_priority[i].reason;
	}
	return SENSE_NONE;
}
