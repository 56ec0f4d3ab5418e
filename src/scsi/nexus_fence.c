/* A new I_T nexus waiting for the ones it replaces (scsi_nexus_replace).
 *
 * Threads: the old nexus ends on its loop and only counts the fence down;
 * the last one posts open_msg to the waiter's loop, where the waiter's
 * own fini also runs, so waiter needs no lock. The fence lives while the
 * waiter or any old nexus (or the posted message) holds it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/nexus.h"
#include "scsi/task.h"
#include "util/macros.h"

struct scsi_fence_link {
	struct scsi_nexus_fence *fence;
	struct scsi_fence_link *next;
};

static void fence_put(struct scsi_nexus_fence *f)
{
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
		free(f);
}

/* On the waiter's loop: the last old nexus is gone. */
static void fence_open(struct loop_msg *msg)
{
	struct scsi_nexus_fence *f = container_of(msg, struct scsi_nexus_fence, open_msg);
	if (f->waiter)
		scsi_task_set_start_waiting(f->waiter);
	fence_put(f);
}

/* next waits for prev too; under target->lock. */
static int fence_follow(struct scsi_nexus *next, struct scsi_nexus *prev)
{
	struct scsi_fence_link *link = malloc(sizeof(*link));
	if (!link)
		return -ENOMEM;
	struct scsi_nexus_fence *f = next->fence;
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f) {
			free(link);
			return -ENOMEM;
		}
		atomic_init(&f->refs, 1);
		f->waiter = next;
		f->waiter_loop = next->loop;
		f->open_msg.fn = fence_open;
		next->fence = f;
	}
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&f->pending, 1, memory_order_release);
	link->fence = f;
	link->next = prev->blocks;
	prev->blocks = link;
	return 0;
}

int scsi_nexus_replace(struct scsi_nexus *next)
{
	int ret = 0;
	pthread_mutex_lock(&next->target->lock);
	for (struct scsi_nexus *n = next->target->nexuses; n && ret == 0; n = n->next)
		if (n != next && n->rel_port == next->rel_port && strcmp(n->initiator_port, next->initiator_port) == 0)
			ret = fence_follow(next, n);
	pthread_mutex_unlock(&next->target->lock);
	return ret;
}

void scsi_nexus_fence_leave(struct scsi_nexus *n)
{
	struct scsi_nexus_fence *f = n->fence;
	if (!f)
		return;
	n->fence = NULL;
	f->waiter = NULL;
	fence_put(f);
}

void scsi_nexus_fence_release(struct scsi_nexus *prev)
{
	struct scsi_fence_link *link = prev->blocks;
	prev->blocks = NULL;
	while (link) {
		struct scsi_fence_link *next = link->next;
		struct scsi_nexus_fence *f = link->fence;
		/* The reference the link held goes with the message. */
		if (atomic_fetch_sub_explicit(&f->pending, 1, memory_order_acq_rel) == 1)
			loop_post(f->waiter_loop, &f->open_msg);
		else
			fence_put(f);
		free(link);
		link = next;
	}
}
