#include "daemon/dataplane.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/placement.h"
#include "iscsi/conn.h"
#include "iscsi/session.h"
#include "scsi/scsi.h"
#include "scsi/stats.h"
#include "util/bufwait.h"
#include "util/log.h"
#include "util/macros.h"

/* Room for the sockets' receives and sends plus queued-depth backing I/O. */
#define DATAPLANE_RING_ENTRIES 4096

/* The task-data budget: memory for the chunks of commands in flight on
 * every thread together (util/bufpool.h). An eighth of physical memory,
 * at least 64 MiB and at most 4 GiB: sane whatever the machine, and far
 * more than one session's window of typical commands needs, while 128
 * commands of 8 MiB from each of many sessions now wait for their turn
 * instead of claiming memory. Its last SCSI_MAX_XFER_BYTES are the
 * reserve that keeps waiting writes from deadlocking (util/bufwait.h).
 * The config key memory_budget replaces it. */
#define DATAPLANE_BUDGET_MIN (64ull << 20)
#define DATAPLANE_BUDGET_MAX (4ull << 30)
#define DATAPLANE_BUDGET_RAM_SHARE 8
/* The minimum guarantee (util/bufwait.h): a session holding less than
 * DATAPLANE_MINIMUM of task memory gets its command's chunks from an
 * overdraft beyond the budget when the budget is spent, so sessions that
 * hold their chunks for ever (initiators that stop reading their Data-In)
 * cannot stall a light one. 1 MiB covers a queue of small commands, and
 * is what a session with nothing in flight can always move. The overdraft
 * is a quarter of the budget, at most 32 MiB: room for the minimum of
 * many sessions, while the whole stays bounded by budget + overdraft +
 * the chunks the threads keep. */
#define DATAPLANE_MINIMUM (1u << 20)
#define DATAPLANE_OVERDRAFT_SHARE 4
#define DATAPLANE_OVERDRAFT_MAX (32u << 20)
/* What one session may claim of the budget before its window stops
 * opening (unless session_data_bytes says otherwise): an eighth, so that
 * a few busy sessions cannot take it all, but at least one largest
 * command. */
#define DATAPLANE_SESSION_SHARE 8
/* Free chunks each thread keeps for its next commands (one largest
 * transfer's worth), outside the budget. */
#define DATAPLANE_CHUNKS_KEPT (SCSI_MAX_XFER_BYTES / SCSI_DATA_CHUNK)

static size_t dataplane_budget(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	unsigned long long share = pages > 0 && page > 0
		? (unsigned long long)pages * (unsigned long long)page / DATAPLANE_BUDGET_RAM_SHARE
		: DATAPLANE_BUDGET_MIN;
	if (share < DATAPLANE_BUDGET_MIN)
		share = DATAPLANE_BUDGET_MIN;
	if (share > DATAPLANE_BUDGET_MAX)
		share = DATAPLANE_BUDGET_MAX;
	return (size_t)share;
}

static struct bufpool data_pool;

struct dp_thread {
	pthread_t tid;
	struct loop loop;
	struct bufwait bufs; /* this thread's chunks of data_pool */
	unsigned index;
	bool started;
	struct loop_msg stop_msg; /* embedded: stopping must not depend on an allocation */
};

static struct dp_thread *threads;
static struct loop **loops; /* each thread's loop, for dataplane_loops */
static unsigned nthreads;
static unsigned next_pick;
static unsigned *pick_load; /* dataplane_pick's count per thread */

static atomic_bool loop_failed; /* a thread's loop_run failed */

static void *dp_main(void *arg)
{
	struct dp_thread *t = arg;
	char name[16];
	snprintf(name, sizeof(name), "lunar-dp%u", t->index);
	pthread_setname_np(pthread_self(), name);
	bufwait_bind(&t->bufs);
	scsi_stats_bind_thread(t->index);
	if (loop_run(&t->loop) < 0) {
		/* The sessions placed here would hang: stop the daemon, in
		 * order, and have it exit with a failure. */
		log_error("data-plane thread %u stopped: lunard shuts down", t->index);
		atomic_store(&loop_failed, true);
		kill(getpid(), SIGTERM);
	}
	return NULL;
}

bool dataplane_failed(void)
{
	return atomic_load(&loop_failed);
}

/* Thread k is pinned to cpus[k % ncpus] from its first instruction, so
 * its ring's memory and its first chunks are allocated there. */
static int dp_create(struct dp_thread *t, const unsigned *cpus, size_t ncpus)
{
	pthread_attr_t attr;
	int ret = pthread_attr_init(&attr);
	if (ret != 0)
		return ret;
	if (ncpus) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpus[t->index % ncpus], &set);
		ret = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	if (ret == 0)
		ret = pthread_create(&t->tid, &attr, dp_main, t);
	pthread_attr_destroy(&attr);
	return ret;
}

/* The CPUs the data-plane threads may run on: cpu_affinity's distinct
 * entries, else this process's affinity (taskset, a cgroup's cpuset). A
 * thread polling on the only one would hold back the others, and any
 * initiator beside lunard. */
static unsigned dataplane_cpus_usable(const unsigned *cpus, size_t ncpus)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (ncpus) {
		for (size_t i = 0; i < ncpus; i++)
			if (cpus[i] < CPU_SETSIZE)
				CPU_SET(cpus[i], &set);
	} else if (sched_getaffinity(0, sizeof(set), &set) < 0) {
		return 1;
	}
	return (unsigned)CPU_COUNT(&set);
}

int dataplane_start(unsigned n, uint64_t budget_bytes, const unsigned *cpus, size_t ncpus,
		    unsigned poll_us)
{
	threads = calloc(n, sizeof(*threads));
	loops = calloc(n, sizeof(*loops));
	pick_load = calloc(n, sizeof(*pick_load));
	if (!threads || !loops || !pick_load)
		return -ENOMEM;
	nthreads = n;
	size_t budget = budget_bytes ? (size_t)budget_bytes : dataplane_budget();
	if (bufpool_init(&data_pool, SCSI_DATA_CHUNK, budget, SCSI_MAX_XFER_BYTES) < 0)
		return -EINVAL;
	size_t overdraft = min_u64(budget / DATAPLANE_OVERDRAFT_SHARE, DATAPLANE_OVERDRAFT_MAX);
	size_t share = budget / DATAPLANE_SESSION_SHARE;
	if (share < SCSI_MAX_XFER_BYTES)
		share = SCSI_MAX_XFER_BYTES;
	bufpool_set_guarantee(&data_pool, overdraft, DATAPLANE_MINIMUM, share);
	log_info("data plane: %u thread(s), %zu MiB for task data (+%zu MiB overdraft for sessions "
		 "holding under %u KiB; %zu MiB per session)",
		 n, budget >> 20, overdraft >> 20, DATAPLANE_MINIMUM >> 10, share >> 20);
	if (poll_us && dataplane_cpus_usable(cpus, ncpus) < 2) {
		log_info("data plane: the threads have one CPU, so they do not poll (poll_us ignored)");
		poll_us = 0;
	}
	for (unsigned i = 0; i < n; i++) {
		struct dp_thread *t = &threads[i];
		t->index = i;
		int ret = loop_init(&t->loop, DATAPLANE_RING_ENTRIES);
		if (ret < 0) {
			log_error("data-plane thread %u: io_uring setup: %s", i, strerror(-ret));
			return ret;
		}
		loop_set_poll(&t->loop, poll_us * 1000ull);
		bufwait_init(&t->bufs, &data_pool, &t->loop, DATAPLANE_CHUNKS_KEPT);
		ret = dp_create(t, cpus, ncpus);
		if (ret != 0) {
			log_error("data-plane thread %u: %s", i, strerror(ret));
			return -ret;
		}
		if (ncpus)
			log_info("data-plane thread %u: pinned to CPU %u", i, cpus[i % ncpus]);
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

static void count_connections(const struct iscsi_session *s, void *arg)
{
	unsigned *load = arg;
	/* A session between connections (ERL 2) keeps its place. */
	*load += s->nconns ? s->nconns : 1;
}

/* The session table is the count: a session is in it from its bind (the
 * caller, on this thread, so the previous pick is counted) until it ends
 * on its loop, so a thread whose sessions ended is chosen next. New
 * sessions only: a later connection of a session joins the session's
 * loop. */
struct loop *dataplane_pick(void)
{
	for (unsigned i = 0; i < nthreads; i++) {
		pick_load[i] = 0;
		iscsi_session_foreach_on(&threads[i].loop, count_connections, &pick_load[i]);
	}
	unsigned i = placement_pick(pick_load, nthreads, next_pick);
	next_pick = (i + 1) % nthreads;
	log_debug("data plane: new session on thread %u, which had %u connection(s)", i, pick_load[i]);
	return &threads[i].loop;
}

struct loop_job {
	struct loop_msg msg;
	struct loop *loop;
	bool ask_logout;  /* else close */
	uint16_t seconds; /* to log out in */
};

static void connections_job_here(struct loop_msg *msg)
{
	struct loop_job *job = (struct loop_job *)msg;
	if (job->ask_logout)
		iscsi_conn_ask_logout_all_on(job->loop, job->seconds);
	else
		iscsi_conn_close_all_on(job->loop);
	free(job);
}

static void stop_here(struct loop_msg *msg)
{
	struct dp_thread *t = container_of(msg, struct dp_thread, stop_msg);
	t->loop.stop = true;
}

/* Shutdown asks again every few milliseconds, so a lost request (no
 * memory for it) only delays it. */
static void post_connections_job(bool ask_logout, uint16_t seconds)
{
	for (unsigned i = 0; i < nthreads; i++) {
		struct loop_job *job = calloc(1, sizeof(*job));
		if (!job)
			continue;
		job->msg.fn = connections_job_here;
		job->loop = &threads[i].loop;
		job->ask_logout = ask_logout;
		job->seconds = seconds;
		loop_post(&threads[i].loop, &job->msg);
	}
}

void dataplane_close_connections(void)
{
	post_connections_job(false, 0);
}

void dataplane_ask_logout(uint16_t seconds)
{
	post_connections_job(true, seconds);
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
		bufwait_fini(&threads[i].bufs);
		loop_fini(&threads[i].loop);
	}
	free(threads);
	threads = NULL;
	free(loops);
	loops = NULL;
	free(pick_load);
	pick_load = NULL;
	nthreads = 0;
}
