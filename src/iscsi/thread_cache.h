/* Memory for iSCSI tasks and reply PDUs, recycled per thread: a command
 * makes and frees one task and at least one reply, so the data path takes
 * nothing from the heap once a thread's lists have filled. A task, at
 * about 3 KiB, is past glibc's own per-thread cache, and glibc keeps only
 * 7 blocks of a size there, fewer than a burst of replies. */
#ifndef LUNAR_ISCSI_THREAD_CACHE_H
#define LUNAR_ISCSI_THREAD_CACHE_H

#include <stdint.h>

struct iscsi_task;
struct iscsi_tx;

/* A zeroed task, or NULL when memory is short. */
struct iscsi_task *iscsi_task_alloc(void);
/* Gives back a task from iscsi_task_alloc; any thread may, but a task
 * goes back to the cache of the thread that frees it. */
void iscsi_task_free(struct iscsi_task *task);

/* A zeroed reply PDU with room for inline_len bytes of data after it
 * (its inline_cap, which also tells iscsi_tx_free where it came from), or
 * NULL. */
struct iscsi_tx *iscsi_tx_alloc(uint32_t inline_len);
/* Gives back a PDU from iscsi_tx_alloc, as iscsi_task_free does a task. */
void iscsi_tx_free(struct iscsi_tx *tx);

#endif
