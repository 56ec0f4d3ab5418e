/* The well-behaved peers. Each child writes one byte when it is ready
 * (or a failed result at once) and its struct peer_result once a byte
 * arrives on its stop pipe (a byte, not EOF: a later child holds a copy
 * of an earlier one's write end). */
#include "hostile_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wire_scsi.h"
#include "wire_xfer.h"

#define PEER_READY 'R'
#define PEER_FAILED 'F'
/* Bounds on a child whatever the parent does: samples kept, and life. */
#define PEER_MAX_SAMPLES 400000u
#define PEER_MAX_LIFE_MS 120000
#define PEER_START_WAIT_MS 15000
/* The child finishes the exchange in flight (at most WIRE_IO_TIMEOUT_S per
 * PDU) before it answers. */
#define PEER_FINISH_WAIT_MS ((WIRE_IO_TIMEOUT_S * 3 + 5) * 1000)
/* SAM-5 5.3: statuses that ask the initiator to try again later. */
#define SCSI_STATUS_BUSY 0x08
#define SCSI_STATUS_TASK_SET_FULL 0x28
#define PEER_BUSY_BACKOFF_MS 1
#define PEER_BUSY_MAX_TRIES 1000000u

struct samples {
	uint32_t *us;
	uint32_t n;
	int64_t last_ms;         /* the last completion, or the start */
	uint32_t max_gap_ms;
};

static void sample(struct samples *s, int64_t start_us, int64_t end_us)
{
	int64_t end_ms = end_us / 1000;

	if (s->n < PEER_MAX_SAMPLES)
		s->us[s->n++] = (uint32_t)(end_us - start_us);
	if (end_ms - s->last_ms > s->max_gap_ms)
		s->max_gap_ms = (uint32_t)(end_ms - s->last_ms);
	s->last_ms = end_ms;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void summarize(struct samples *s, int64_t start_ms, struct peer_result *r)
{
	int64_t end_ms = hostile_now_ms();

	if (end_ms - s->last_ms > s->max_gap_ms)
		s->max_gap_ms = (uint32_t)(end_ms - s->last_ms);
	r->max_gap_ms = s->max_gap_ms;
	r->elapsed_ms = (uint32_t)(end_ms - start_ms);
	if (!s->n)
		return;
	qsort(s->us, s->n, sizeof(*s->us), cmp_u32);
	r->p50_us = s->us[s->n / 2];
	r->p99_us = s->us[(uint64_t)s->n * 99 / 100];
	r->max_us = s->us[s->n - 1];
}

/* True once the parent has written to the stop pipe (or life has run out). */
static bool stop_requested(int stop_fd, int64_t start_ms, int wait_ms)
{
	struct pollfd pfd = { .fd = stop_fd, .events = POLLIN };

	if (hostile_now_ms() - start_ms > PEER_MAX_LIFE_MS)
		return true;
	return poll(&pfd, 1, wait_ms) > 0;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

enum exec_result { EXEC_GOOD, EXEC_FAILED, EXEC_STOPPED };

/* One 4 KiB command to GOOD status, as an initiator would: BUSY and TASK
 * SET FULL are retried after a millisecond, and the time that takes counts
 * in the command's latency and in the stall. */
static enum exec_result exec_good(struct wire_conn *c, const uint8_t cdb[10], enum wire_dir dir,
				  uint8_t *buf, int stop_fd, int64_t start_ms, struct peer_result *r)
{
	for (unsigned tries = 0; tries < PEER_BUSY_MAX_TRIES; tries++) {
		struct wire_scsi_result res;

		if (!wire_scsi_exec(c, cdb, 10, dir, buf, PEER_IO_BYTES, &res, r->why, sizeof(r->why)))
			return EXEC_FAILED;
		if (!res.response && res.status == WIRE_SCSI_GOOD)
			return EXEC_GOOD;
		if (res.response || (res.status != SCSI_STATUS_BUSY &&
				     res.status != SCSI_STATUS_TASK_SET_FULL)) {
			snprintf(r->why, sizeof(r->why),
				 "CDB 0x%02x: response 0x%02x status 0x%02x sense %x/%02x/%02x", cdb[0],
				 res.response, res.status, res.sense_key, res.asc, res.ascq);
			return EXEC_FAILED;
		}
		r->busy++;
		if (stop_requested(stop_fd, start_ms, PEER_BUSY_BACKOFF_MS))
			return EXEC_STOPPED;
	}
	snprintf(r->why, sizeof(r->why), "CDB 0x%02x: BUSY %u times in a row", cdb[0],
		 PEER_BUSY_MAX_TRIES);
	return EXEC_FAILED;
}

/* WRITE then READ of the same 4 KiB at random places in the good region,
 * each block stamped with the pair's number, so a lost or misplaced write
 * shows. */
static void run_io(const struct hostile_env *env, int stop_fd, int out_fd, struct peer_result *r)
{
	uint8_t want[PEER_IO_BYTES], got[PEER_IO_BYTES];
	uint32_t slots = GOOD_REGION_BYTES / PEER_IO_BYTES;
	uint32_t per_io = PEER_IO_BYTES / env->block_size;
	struct samples s = { .us = calloc(PEER_MAX_SAMPLES, sizeof(uint32_t)) };
	struct wire_conn c;
	uint64_t blocks;
	uint32_t bs;

	if (!s.us || !wire_session_open_capacity(&c, env->target, NULL, &blocks, &bs, r->why,
						 sizeof(r->why))) {
		write_all(out_fd, &(char){ PEER_FAILED }, 1);
		return;
	}
	write_all(out_fd, &(char){ PEER_READY }, 1);
	int64_t start_ms = hostile_now_ms();
	s.last_ms = start_ms;
	srandom((unsigned)getpid());
	for (uint64_t i = 0; i < PEER_MAX_SAMPLES / 2 && !stop_requested(stop_fd, start_ms, 0); i++) {
		uint32_t lba = (uint32_t)((GOOD_REGION_OFFSET / env->block_size) +
					  (uint32_t)random() % slots * per_io);
		int64_t t0 = now_us();

		uint8_t cdb[10];
		enum exec_result e;

		wire_fill_pattern(want, sizeof(want), (uint8_t)i);
		memcpy(want, &i, sizeof(i));
		wire_cdb_rw10(cdb, 0x2a, lba, (uint16_t)per_io);
		e = exec_good(&c, cdb, WIRE_DIR_WRITE, want, stop_fd, start_ms, r);
		if (e != EXEC_GOOD)
			break;
		int64_t t1 = now_us();
		sample(&s, t0, t1);
		wire_cdb_rw10(cdb, 0x28, lba, (uint16_t)per_io);
		e = exec_good(&c, cdb, WIRE_DIR_READ, got, stop_fd, start_ms, r);
		if (e != EXEC_GOOD)
			break;
		sample(&s, t1, now_us());
		r->ops += 2;
		if (memcmp(got, want, sizeof(got))) {
			snprintf(r->why, sizeof(r->why), "LBA %u read back other data than written", lba);
			break;
		}
	}
	r->ok = !*r->why;
	summarize(&s, start_ms, r);
	wire_close(&c);
	free(s.us);
}

static void run_logins(const struct hostile_env *env, int stop_fd, int out_fd,
		       struct peer_result *r)
{
	struct samples s = { .us = calloc(PEER_MAX_SAMPLES, sizeof(uint32_t)) };

	if (!s.us) {
		snprintf(r->why, sizeof(r->why), "out of memory");
		write_all(out_fd, &(char){ PEER_FAILED }, 1);
		return;
	}
	write_all(out_fd, &(char){ PEER_READY }, 1);
	int64_t start_ms = hostile_now_ms();
	s.last_ms = start_ms;
	do {
		struct wire_conn c;
		int64_t t0 = now_us();

		if (!wire_login(&c, env->target, r->why, sizeof(r->why)))
			break;
		sample(&s, t0, now_us());
		wire_close(&c);
		r->ops++;
	} while (r->ops < PEER_MAX_SAMPLES && !stop_requested(stop_fd, start_ms, PEER_LOGIN_INTERVAL_MS));
	r->ok = !*r->why;
	summarize(&s, start_ms, r);
	free(s.us);
}

static void child(enum peer_kind kind, const struct hostile_env *env, int stop_fd, int out_fd)
{
	struct peer_result r = { 0 };

	signal(SIGALRM, SIG_DFL);
	/* A runner killed from outside must not leave its peers running. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (kind == PEER_IO)
		run_io(env, stop_fd, out_fd, &r);
	else
		run_logins(env, stop_fd, out_fd, &r);
	write_all(out_fd, &r, sizeof(r));
	_exit(0);
}

/* Reads exactly len bytes by deadline_ms; false on EOF or timeout. */
static bool read_by(int fd, void *buf, size_t len, int64_t deadline_ms)
{
	uint8_t *p = buf;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline_ms - hostile_now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool peer_start(struct peer *p, enum peer_kind kind, const struct hostile_env *env, char *why,
		size_t why_len)
{
	int stop[2], out[2];
	char ready;

	if (pipe2(stop, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		snprintf(why, why_len, "pipe: %s", strerror(errno));
		return false;
	}
	fflush(stdout);
	p->pid = fork();
	if (p->pid < 0) {
		snprintf(why, why_len, "fork: %s", strerror(errno));
		return false;
	}
	if (p->pid == 0) {
		close(stop[1]);
		close(out[0]);
		child(kind, env, stop[0], out[1]);
	}
	close(stop[0]);
	close(out[1]);
	p->stop_fd = stop[1];
	p->result_fd = out[0];
	if (read_by(p->result_fd, &ready, 1, hostile_now_ms() + PEER_START_WAIT_MS) && ready == PEER_READY)
		return true;
	struct peer_result r;
	peer_finish(p, &r);
	snprintf(why, why_len, "%s", r.why);
	return false;
}

void peer_finish(struct peer *p, struct peer_result *r)
{
	memset(r, 0, sizeof(*r));
	write_all(p->stop_fd, &(char){ 'S' }, 1);
	close(p->stop_fd);
	if (!read_by(p->result_fd, r, sizeof(*r), hostile_now_ms() + PEER_FINISH_WAIT_MS)) {
		memset(r, 0, sizeof(*r));
		snprintf(r->why, sizeof(r->why), "peer did not report within %d s",
			 PEER_FINISH_WAIT_MS / 1000);
		kill(p->pid, SIGKILL);
	}
	close(p->result_fd);
	waitpid(p->pid, NULL, 0);
}
