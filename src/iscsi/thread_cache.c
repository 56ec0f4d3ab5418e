#include "iscsi/thread_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/task.h"
#include "iscsi/tx.h"

/* A full window of a busy session (MaxCmdSN runs 128 ahead) and then
 * some; what a thread keeps beyond that goes back to the heap. */
#define TASK_CACHE_MAX 256u
/* Replies queued on a thread at once: a window of Data-In and status for
 * each of a few busy sessions. */
#define TX_CACHE_MAX 512u
/* Replies with at most this much inline data (a SCSI Response's sense, a
 * Reject's copy of a header) are recycled, each block holding this much;
 * larger ones (login and Text responses, pings with data) are not. */
#define TX_CACHE_INLINE 128u

/* Free blocks are chained through their first bytes. */
struct free_block {
	struct free_block *next;
};

struct free_list {
	struct free_block *head;
	unsigned n;
};

static __thread struct free_list tasks, txs;
static __thread bool exit_key_set;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void list_drain(struct free_list *l)
{
	while (l->head) {
		struct free_block *b = l->head;
		l->head = b->next;
		free(b);
	}
	l->n = 0;
}

/* A thread's lists are freed when the thread ends: they would be
 * unreachable, a leak, once the thread-local variables are gone. */
static void cache_drain(void *unused)
{
	(void)unused;
	list_drain(&tasks);
	list_drain(&txs);
}

static void exit_key_create(void)
{
	pthread_key_create(&exit_key, cache_drain);
}

static void *list_take(struct free_list *l)
{
	struct free_block *b = l->head;
	if (b) {
		l->head = b->next;
		l->n--;
	}
	return b;
}

/* Keeps p unless the list is full: then the caller frees it. */
static bool list_give(struct free_list *l, void *p, unsigned max)
{
	if (l->n >= max)
		return false;
	if (!exit_key_set) {
		/* The destructor runs only for a thread whose key is set. */
		pthread_once(&exit_key_once, exit_key_create);
		pthread_setspecific(exit_key, &tasks);
		exit_key_set = true;
	}
	struct free_block *b = p;
	b->next = l->head;
	l->head = b;
	l->n++;
	return true;
}

_Static_assert(sizeof(struct iscsi_task) >= sizeof(struct free_block), "a task holds the free-list link");
_Static_assert(sizeof(struct iscsi_tx) >= sizeof(struct free_block), "a PDU holds the free-list link");

struct iscsi_task *iscsi_task_alloc(void)
{
	struct iscsi_task *task = list_take(&tasks);
	if (!task)
		return calloc(1, sizeof(*task));
	memset(task, 0, sizeof(*task));
	return task;
}

void iscsi_task_free(struct iscsi_task *task)
{
	if (!list_give(&tasks, task, TASK_CACHE_MAX))
		free(task);
}

struct iscsi_tx *iscsi_tx_alloc(uint32_t inline_len)
{
	struct iscsi_tx *tx;
	if (inline_len > TX_CACHE_INLINE) {
		tx = calloc(1, sizeof(*tx) + inline_len);
	} else if ((tx = list_take(&txs))) {
		memset(tx, 0, sizeof(*tx) + inline_len);
	} else {
		tx = calloc(1, sizeof(*tx) + TX_CACHE_INLINE);
	}
	if (tx)
		tx->inline_cap = inline_len;
	return tx;
}

void iscsi_tx_free(struct iscsi_tx *tx)
{
	if (tx->inline_cap > TX_CACHE_INLINE || !list_give(&txs, tx, TX_CACHE_MAX))
		free(tx);
}
