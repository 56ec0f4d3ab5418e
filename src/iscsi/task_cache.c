#include "iscsi/task_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/task.h"

/* A full window of a busy session (MaxCmdSN runs 128 ahead) and then
 * some; what a thread keeps beyond that goes back to the heap. */
#define TASK_CACHE_MAX 256u

/* Free tasks are chained through their first bytes. */
struct free_task {
	struct free_task *next;
};

static __thread struct free_task *cache;
static __thread unsigned cached;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

/* A thread's cache is freed when the thread ends: its list would be
 * unreachable, a leak, once the thread-local variables are gone. */
static void cache_drain(void *unused)
{
	while (cache) {
		struct free_task *f = cache;
		cache = f->next;
		free(f);
	}
	cached = 0;
}

static void exit_key_create(void)
{
	pthread_key_create(&exit_key, cache_drain);
}

_Static_assert(sizeof(struct iscsi_task) >= sizeof(struct free_task), "a task holds the free-list link");

struct iscsi_task *iscsi_task_alloc(void)
{
	struct free_task *f = cache;
	if (!f)
		return calloc(1, sizeof(struct iscsi_task));
	cache = f->next;
	cached--;
	memset(f, 0, sizeof(struct iscsi_task));
	return (struct iscsi_task *)f;
}

void iscsi_task_free(struct iscsi_task *task)
{
	if (cached >= TASK_CACHE_MAX) {
		free(task);
		return;
	}
	if (!cache) {
		/* The destructor runs only for a thread whose key is set. */
		pthread_once(&exit_key_once, exit_key_create);
		pthread_setspecific(exit_key, &cache);
	}
	struct free_task *f = (struct free_task *)task;
	f->next = cache;
	cache = f;
	cached++;
}
