#include "bench_session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "bench_stamp.h"

struct bench_slot {
	struct bench_session *session;
	uint64_t start_ns;
	uint64_t offset;
	bool is_write;
	struct scsi_iovec own_iov;   /* --verify: this command's own buffer */
};

struct bench_session {
	struct bench_run *run;
	struct iscsi_context *iscsi;
	unsigned index;
	int lun;
	uint32_t block_size;
	uint64_t cursor;        /* next offset of a sequential pattern */
	uint64_t rng;
	unsigned inflight;
	uint64_t completed;
	unsigned nfree;
	struct bench_slot **free_slots;
	struct bench_slot *slots;
	struct scsi_iovec read_iov;
	struct scsi_iovec write_iov;
};

/* xorshift64*: cheap, and the same seed gives the same offsets on both
 * targets and in every callgrind run. */
static uint64_t bench_session_random(struct bench_session *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t bench_session_next_offset(struct bench_session *s)
{
	const struct bench_args *a = s->run->args;
	uint64_t blocks = a->span / a->bs;

	if (bench_pattern_is_random(a->pattern))
		return (bench_session_random(s) % blocks) * a->bs;
	uint64_t offset = s->cursor;
	s->cursor = (s->cursor + a->bs) % a->span;
	return offset;
}

static bool bench_session_next_is_write(struct bench_session *s)
{
	const struct bench_args *a = s->run->args;

	if (a->pattern == BENCH_RANDRW)
		return bench_session_random(s) % 100 >= a->rwmix_read;
	return bench_pattern_is_write(a->pattern);
}

static void bench_session_fail(struct bench_session *s, const char *what)
{
	if (!s->run->failed)
		fprintf(stderr, "lunar-bench: connection %u: %s: %s\n",
			s->index, what, iscsi_get_error(s->iscsi));
	s->run->failed = true;
}

static int bench_session_check_read(struct bench_session *s,
				    const struct bench_slot *slot)
{
	long bad = bench_stamp_check(slot->own_iov.iov_base, slot->own_iov.iov_len,
				     slot->offset);

	if (bad < 0)
		return 0;
	if (!s->run->failed)
		fprintf(stderr, "lunar-bench: connection %u: read at offset %" PRIu64
			" returned wrong data at byte %ld (offset %" PRIu64 ")\n",
			s->index, slot->offset, bad, slot->offset + (uint64_t)bad);
	return -1;
}

static void bench_session_complete(struct iscsi_context *iscsi, int status,
				   void *command_data, void *private_data)
{
	struct scsi_task *task = command_data;
	struct bench_slot *slot = private_data;
	struct bench_session *s = slot->session;
	struct bench_run *run = s->run;
	uint64_t now = bench_now_ns();

	s->inflight--;
	s->free_slots[s->nfree++] = slot;
	if (status != SCSI_STATUS_GOOD) {
		if (!run->failed && task != NULL && status == SCSI_STATUS_CHECK_CONDITION)
			fprintf(stderr, "lunar-bench: connection %u: %s at offset %" PRIu64
				" failed: CHECK CONDITION %s (0x%x) ascq 0x%04x %s\n",
				s->index, slot->is_write ? "write" : "read", slot->offset,
				scsi_sense_key_str(task->sense.key), task->sense.key,
				task->sense.ascq, scsi_sense_ascq_str(task->sense.ascq));
		else if (!run->failed)
			fprintf(stderr, "lunar-bench: connection %u: %s at offset %" PRIu64
				" failed: status 0x%x: %s\n", s->index,
				slot->is_write ? "write" : "read", slot->offset,
				(unsigned)status, iscsi_get_error(iscsi));
		run->failed = true;
	} else if (!slot->is_write && run->args->verify &&
		   bench_session_check_read(s, slot) != 0) {
		run->failed = true;
	} else {
		bench_hist_record(&run->hist, now - slot->start_ns);
		run->completed++;
		run->reads += !slot->is_write;
		s->completed++;
		run->last_completion_ns = now;
	}
	if (task != NULL)
		scsi_free_scsi_task(task);
	bench_session_fill(s);
}

static struct scsi_task *bench_session_submit(struct bench_session *s,
					      struct bench_slot *slot)
{
	const struct bench_args *a = s->run->args;
	uint64_t lba = slot->offset / s->block_size;
	struct scsi_iovec *iov = slot->is_write ? &s->write_iov : &s->read_iov;

	if (a->verify) {
		iov = &slot->own_iov;
		if (slot->is_write)
			bench_stamp_fill(iov->iov_base, iov->iov_len, slot->offset);
	}
	if (slot->is_write)
		return iscsi_write16_iov_task(s->iscsi, s->lun, lba, NULL, a->bs,
					      (int)s->block_size, 0, 0, 0, 0, 0,
					      bench_session_complete, slot, iov, 1);
	return iscsi_read16_iov_task(s->iscsi, s->lun, lba, a->bs,
				     (int)s->block_size, 0, 0, 0, 0, 0,
				     bench_session_complete, slot, iov, 1);
}

void bench_session_fill(struct bench_session *s)
{
	struct bench_run *run = s->run;
	const struct bench_args *a = run->args;

	while (s->inflight < a->qd && !run->stopping && !run->failed) {
		if (a->max_ios != 0 && run->issued >= a->max_ios)
			return;
		uint64_t now = bench_now_ns();
		if (now >= run->deadline_ns) {
			run->stopping = true;
			return;
		}
		struct bench_slot *slot = s->free_slots[--s->nfree];
		slot->offset = bench_session_next_offset(s);
		slot->is_write = bench_session_next_is_write(s);
		slot->start_ns = now;
		if (bench_session_submit(s, slot) == NULL) {
			s->free_slots[s->nfree++] = slot;
			bench_session_fail(s, "cannot queue command");
			return;
		}
		s->inflight++;
		run->issued++;
	}
}

static int bench_session_check_capacity(struct bench_session *s)
{
	const struct bench_args *a = s->run->args;
	struct scsi_task *task = iscsi_readcapacity16_sync(s->iscsi, s->lun);
	struct scsi_readcapacity16 *rc;
	int ret = -1;

	if (task == NULL || task->status != SCSI_STATUS_GOOD) {
		bench_session_fail(s, "READ CAPACITY(16)");
		goto out;
	}
	rc = scsi_datain_unmarshall(task);
	if (rc == NULL || rc->block_length == 0) {
		fprintf(stderr, "lunar-bench: connection %u: bad READ CAPACITY(16) data\n",
			s->index);
		goto out;
	}
	uint64_t capacity = (rc->returned_lba + 1) * rc->block_length;
	if (a->bs % rc->block_length != 0 || a->span > capacity) {
		fprintf(stderr, "lunar-bench: LUN has %" PRIu64 " bytes in %" PRIu32
			"-byte blocks; --bs %" PRIu32 " --span %" PRIu64 " do not fit\n",
			capacity, rc->block_length, a->bs, a->span);
		goto out;
	}
	s->block_size = rc->block_length;
	ret = 0;
out:
	if (task != NULL)
		scsi_free_scsi_task(task);
	return ret;
}

static int bench_session_login(struct bench_session *s)
{
	struct iscsi_url *url = iscsi_parse_full_url(s->iscsi, s->run->args->url);
	int ret = -1;

	if (url == NULL) {
		bench_session_fail(s, "bad --url");
		return -1;
	}
	s->lun = url->lun;
	/* Digests off and no silent reconnects: a dropped connection must
	 * fail the run, not be hidden inside its figures. */
	if (iscsi_set_targetname(s->iscsi, url->target) != 0 ||
	    iscsi_set_session_type(s->iscsi, ISCSI_SESSION_NORMAL) != 0 ||
	    iscsi_set_header_digest(s->iscsi, ISCSI_HEADER_DIGEST_NONE) != 0) {
		bench_session_fail(s, "session setup");
		goto out;
	}
	iscsi_set_noautoreconnect(s->iscsi, 1);
	if (iscsi_full_connect_sync(s->iscsi, url->portal, url->lun) != 0) {
		bench_session_fail(s, "login");
		goto out;
	}
	ret = 0;
out:
	iscsi_destroy_url(url);
	return ret;
}

struct bench_session *bench_session_open(struct bench_run *run, unsigned index)
{
	const struct bench_args *a = run->args;
	char initiator[96];
	struct bench_session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		perror("lunar-bench: session");
		return NULL;
	}
	s->run = run;
	s->index = index;
	s->rng = a->seed * 0x9E3779B97F4A7C15ull + index + 1;
	/* Sequential sessions start at evenly spaced points of the span so
	 * they do not all hit the same blocks. */
	s->cursor = (a->span / a->bs / a->connections) * index * a->bs;
	s->read_iov = (struct scsi_iovec){ .iov_base = run->read_buf, .iov_len = a->bs };
	s->write_iov = (struct scsi_iovec){ .iov_base = run->write_buf, .iov_len = a->bs };
	s->slots = calloc(a->qd, sizeof(*s->slots));
	s->free_slots = calloc(a->qd, sizeof(*s->free_slots));
	if (s->slots == NULL || s->free_slots == NULL) {
		perror("lunar-bench: slots");
		bench_session_close(s, false);
		return NULL;
	}
	for (unsigned i = 0; i < a->qd; i++) {
		s->slots[i].session = s;
		s->free_slots[s->nfree++] = &s->slots[i];
		if (!a->verify)
			continue;
		s->slots[i].own_iov.iov_len = a->bs;
		s->slots[i].own_iov.iov_base = malloc(a->bs);
		if (s->slots[i].own_iov.iov_base == NULL) {
			perror("lunar-bench: verify buffers");
			bench_session_close(s, false);
			return NULL;
		}
	}
	snprintf(initiator, sizeof(initiator),
		 "iqn.2026-11.org.lunar:bench-%ld-%u", (long)getpid(), index);
	s->iscsi = iscsi_create_context(initiator);
	if (s->iscsi == NULL) {
		fprintf(stderr, "lunar-bench: cannot create iSCSI context\n");
		bench_session_close(s, false);
		return NULL;
	}
	if (bench_session_login(s) != 0 || bench_session_check_capacity(s) != 0) {
		bench_session_close(s, false);
		return NULL;
	}
	return s;
}

void bench_session_close(struct bench_session *s, bool logout)
{
	if (s->iscsi != NULL) {
		if (logout && iscsi_logout_sync(s->iscsi) != 0)
			fprintf(stderr, "lunar-bench: connection %u: logout: %s\n",
				s->index, iscsi_get_error(s->iscsi));
		iscsi_destroy_context(s->iscsi);
	}
	for (unsigned i = 0; s->slots != NULL && i < s->run->args->qd; i++)
		free(s->slots[i].own_iov.iov_base);
	free(s->free_slots);
	free(s->slots);
	free(s);
}

uint64_t bench_session_completed(const struct bench_session *s)
{
	return s->completed;
}

unsigned bench_session_inflight(const struct bench_session *s)
{
	return s->inflight;
}

int bench_session_fd(const struct bench_session *s)
{
	return iscsi_get_fd(s->iscsi);
}

short bench_session_events(const struct bench_session *s)
{
	return (short)iscsi_which_events(s->iscsi);
}

int bench_session_service(struct bench_session *s, short revents)
{
	if (iscsi_service(s->iscsi, revents) < 0) {
		bench_session_fail(s, "connection");
		return -1;
	}
	return 0;
}
