/* What one I_T nexus sees of its target's LUNs (struct scsi_lun_view). */
#include <stdlib.h>

#include "scsi/scsi.h"

struct scsi_lun_view *scsi_lun_view_create(const uint16_t target_lun[SCSI_MAX_LUNS])
{
	struct scsi_lun_view *v = malloc(sizeof(*v));
	if (!v)
		return NULL;
	atomic_init(&v->refs, 1);
	for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++)
		v->initiator_lun[lun] = SCSI_LUN_NONE;
	for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++) {
		uint16_t t = target_lun[lun];
		v->target_lun[lun] = t;
		if (t == SCSI_LUN_NONE)
			continue;
		/* One LU under two numbers would make its unit attentions and
		 * resets ambiguous on this nexus. */
		if (t >= SCSI_MAX_LUNS || v->initiator_lun[t] != SCSI_LUN_NONE) {
			free(v);
			return NULL;
		}
		v->initiator_lun[t] = (uint16_t)lun;
	}
	return v;
}

struct scsi_lun_view *scsi_lun_view_get(struct scsi_lun_view *view)
{
	atomic_fetch_add_explicit(&view->refs, 1, memory_order_relaxed);
	return view;
}

void scsi_lun_view_put(struct scsi_lun_view *view)
{
	if (view && atomic_fetch_sub_explicit(&view->refs, 1, memory_order_acq_rel) == 1)
		free(view);
}

void scsi_nexus_set_view(struct scsi_nexus *nexus, struct scsi_lun_view *view)
{
	scsi_lun_view_put(atomic_exchange_explicit(&nexus->view, view, memory_order_acq_rel));
}
