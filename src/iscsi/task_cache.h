/* Memory for iSCSI tasks, recycled per thread: one task is made and freed
 * for every command, and at about 3 KiB it is past glibc's own per-thread
 * cache, so each would otherwise go through the shared heap. */
#ifndef LUNAR_ISCSI_TASK_CACHE_H
#define LUNAR_ISCSI_TASK_CACHE_H

struct iscsi_task;

/* A zeroed task, or NULL when memory is short. */
struct iscsi_task *iscsi_task_alloc(void);
/* Gives back a task from iscsi_task_alloc; any thread may, but a task
 * goes back to the cache of the thread that frees it. */
void iscsi_task_free(struct iscsi_task *task);

#endif
