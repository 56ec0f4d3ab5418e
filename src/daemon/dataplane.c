#include "daemon/dataplane.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/conn.h"
#include "util/log.h"
#include "util/macros.h"

/* Room for the sockets' receives and sends plus queued-depth backing I/O. */
#define DATAPLANE_RING_ENTRIES 4096

struct dp_thread {
	pthread_t tid;
	struct loop loop;
	unsigned index;
	bool started;
	struct loop_msg stop_msg; /* embedded: stopping must not depend on an allocation */
};

static struct dp_thread *threads;
static struct loop **loops; /* each thread's loop, for dataplane_loops */
static unsigned nthreads;
static unsigned next_pick;

static void *dp_main(void *arg)
{
	struct dp_thread *t = arg;
	char name[16];
	snprintf(name, sizeof(name), "lunar-dp%u", t->index);
	pthread_setname_np(pthread_self(), name);
	loop_run(&t->loop);
	return NULL;
}

int dataplane_start(unsigned n)
{
	threads = calloc(n, sizeof(*threads));
	loops = calloc(n, sizeof(*loops));
	if (!threads || !loops)
		return -ENOMEM;
	nthreads = n;
	for (unsigned i = 0; i < n; i++) {
		struct dp_thread *t = &threads[i];
		t->index = i;
		int ret = loop_init(&t->loop, DATAPLANE_RING_ENTRIES);
		if (ret < 0) {
			log_error("data-plane thread %u: io_uring setup: %s", i, strerror(-ret));
			return ret;
		}
		ret = pthread_create(&t->tid, NULL, dp_main, t);
		if (ret != 0) {
			log_error("data-plane thread %u: %s", i, strerror(ret));
			return -ret;
		}
		t->started = true;
		loops[i] = &t->loop;
	}
	return 0;
}

unsigned dataplane_count(void)
{
	return nthreads;
}

struct loop *const *dataplane_loops(void)
{
	return loops;
}

struct loop *dataplane_pick(void)
{
	struct loop *loop = &threads[next_pick].loop;
	next_pick = (next_pick + 1) % nthreads;
	return loop;
}

struct loop_job {
	struct loop_msg msg;
	struct loop *loop;
};

static void close_connections_here(struct loop_msg *msg)
{
	struct loop_job *job = (struct loop_job *)msg;
	iscsi_conn_close_all_on(job->loop);
	free(job);
}

static void stop_here(struct loop_msg *msg)
{
	struct dp_thread *t = container_of(msg, struct dp_thread, stop_msg);
	t->loop.stop = true;
}

/* Shutdown asks again every few milliseconds, so a lost request (no
 * memory for it) only delays the close. */
void dataplane_close_connections(void)
{
	for (unsigned i = 0; i < nthreads; i++) {
		struct loop_job *job = calloc(1, sizeof(*job));
		if (!job)
			continue;
		job->msg.fn = close_connections_here;
		job->loop = &threads[i].loop;
		loop_post(&threads[i].loop, &job->msg);
	}
}

void dataplane_stop(void)
{
	for (unsigned i = 0; i < nthreads; i++) {
		threads[i].stop_msg.fn = stop_here;
		loop_post(&threads[i].loop, &threads[i].stop_msg);
	}
	for (unsigned i = 0; i < nthreads; i++) {
		if (threads[i].started)
			pthread_join(threads[i].tid, NULL);
		loop_fini(&threads[i].loop);
	}
	free(threads);
	threads = NULL;
	free(loops);
	loops = NULL;
	nthreads = 0;
}
