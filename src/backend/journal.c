/* Atomic writes for a file store through a small journal file (the file
 * store's `atomic_journal` key): all or none of a write's blocks land,
 * even if the daemon or the machine dies half way, which the page cache
 * alone cannot promise (writeback may store some pages of a write and
 * not others).
 *
 * The journal has JOURNAL_SLOTS slots, each a 4 KiB header and room for
 * JOURNAL_MAX_BYTES of data. One atomic write:
 *   1. writes header + data into a free slot, RWF_DSYNC: once done, the
 *      record is on stable storage and its checksum holds;
 *   2. writes the data in place, RWF_DSYNC;
 *   3. clears the header, RWF_DSYNC, and only then completes.
 * A crash before 1 ends leaves a record whose checksum fails (or no
 * record), and nothing written in place: none. A crash after it leaves a
 * valid record, which backend_journal_open replays before the store is
 * served: all. Step 3 comes before completion so that no later write to
 * those blocks can be overwritten by a stale replay. Concurrent atomic
 * writes to the same blocks are excluded by the SCSI core's range lock,
 * so at most one valid record covers any block. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "backend/store.h"
#include "util/be.h"
#include "util/log.h"
#include "util/macros.h"

#define JOURNAL_HDR 4096u
#define JOURNAL_SLOT (JOURNAL_HDR + JOURNAL_MAX_BYTES)
#define JOURNAL_MAGIC 0x4c554e41524a4e31ull /* "LUNARJN1" */
/* The data of one record arrives in at most this many entries: the SCSI
 * core's 64 KiB chunks give 16 for 1 MiB. */
#define JOURNAL_MAX_IOV 64

/* Header fields (big-endian): magic, offset, length, checksum. */
enum { H_MAGIC = 0, H_OFFSET = 8, H_LEN = 16, H_SUM = 24 };

enum journal_stage { J_RECORD, J_IN_PLACE, J_CLEAR };

struct journal_slot {
	struct backend_journal *j;
	unsigned index;
	enum journal_stage stage;
	struct backend_io *io;
	struct loop_op lop;
	uint8_t *hdr; /* JOURNAL_HDR bytes, 4096-aligned */
	struct iovec iov[1 + JOURNAL_MAX_IOV];
};

struct backend_journal {
	int fd;
	char *path;
	_Atomic uint32_t busy; /* bit i: slot i holds a write in flight */
	/* A write failed after its record was whole: the record stays, and a
	 * replay at the next open would put it over any later write to those
	 * blocks, so the store takes no write until it is opened again. */
	_Atomic bool failed;
	struct journal_slot slots[JOURNAL_SLOTS];
};

/* FNV-1a 64: enough to tell a torn record from a whole one. */
static uint64_t fnv_add(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ull

static uint64_t record_sum(const uint8_t *hdr, const struct iovec *iov, unsigned n)
{
	uint64_t h = fnv_add(FNV_INIT, hdr, H_SUM);
	for (unsigned i = 0; i < n; i++)
		h = fnv_add(h, iov[i].iov_base, iov[i].iov_len);
	return h;
}

static uint64_t slot_offset(unsigned index)
{
	return (uint64_t)index * JOURNAL_SLOT;
}

static void journal_release(struct journal_slot *s)
{
	atomic_fetch_and(&s->j->busy, ~(1u << s->index));
}

static void journal_queue(struct journal_slot *s, struct loop *loop);

static void journal_step_done(struct loop_op *op, int res)
{
	struct journal_slot *s = container_of(op, struct journal_slot, lop);
	struct backend_io *io = s->io;
	uint32_t want = s->stage == J_RECORD ? JOURNAL_HDR + io->len
		      : s->stage == J_IN_PLACE ? io->len : JOURNAL_HDR;
	int err = res < 0 ? res : (uint32_t)res == want ? 0 : -EIO;
	if (err) {
		/* A failed record never reached the blocks: the slot is free
		 * again. After a valid record, the blocks may be torn until
		 * the record is replayed at the next open, so the slot keeps
		 * it, and the store refuses writes until then: a write that
		 * landed meanwhile would be overwritten by that replay. */
		log_error("backend %s: atomic write of %u bytes at %llu: step %d: %s", s->j->path, io->len,
			  (unsigned long long)io->offset, (int)s->stage, strerror(-err));
		if (s->stage == J_RECORD) {
			journal_release(s);
		} else if (!atomic_exchange(&s->j->failed, true)) {
			log_error("backend %s: a whole record is left to replay: the store refuses writes "
				  "until it is opened again (restart lunard, or replace the LUN's store)",
				  s->j->path);
		}
		io->done(io, err);
		return;
	}
	if (s->stage == J_CLEAR) {
		io->completed = io->len;
		journal_release(s);
		io->done(io, 0);
		return;
	}
	s->stage++;
	journal_queue(s, io->loop);
}

static void journal_queue(struct journal_slot *s, struct loop *loop)
{
	struct backend_io *io = s->io;
	struct io_uring_sqe *sqe = loop_get_sqe(loop);
	switch (s->stage) {
	case J_RECORD:
		io_uring_prep_writev(sqe, s->j->fd, s->iov, 1 + io->iovcnt, slot_offset(s->index));
		break;
	case J_IN_PLACE:
		io_uring_prep_writev(sqe, backend_fd(io->bs)->fd, io->iov, io->iovcnt, io->offset);
		break;
	case J_CLEAR:
		memset(s->hdr, 0, JOURNAL_HDR);
		io_uring_prep_write(sqe, s->j->fd, s->hdr, JOURNAL_HDR, slot_offset(s->index));
		break;
	}
	sqe->rw_flags = RWF_DSYNC;
	s->lop.cb = journal_step_done;
	loop_sqe_set_op(sqe, &s->lop);
}

static void journal_refused(struct loop_op *op, int res)
{
	struct backend_io *io = container_of(op, struct backend_io, lop);
	io->done(io, res);
}

/* Completes io with err from the loop, never inside submit. */
static void journal_refuse(struct loop *loop, struct backend_io *io, int err)
{
	io->lop.cb = journal_refused;
	loop_complete_remote(loop, &io->lop, err);
}

static int journal_take(struct backend_journal *j)
{
	uint32_t busy = atomic_load(&j->busy);
	for (;;) {
		uint32_t free_bits = ~busy & ((1u << JOURNAL_SLOTS) - 1);
		if (!free_bits)
			return -1;
		unsigned i = (unsigned)__builtin_ctz(free_bits);
		if (atomic_compare_exchange_weak(&j->busy, &busy, busy | (1u << i)))
			return (int)i;
	}
}

void backend_journal_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	struct backend_journal *j = backend_fd(bs)->journal;
	int err = 0;
	int i = -1;
	if (backend_journal_failed(j))
		err = -EIO;
	else if (io->len > JOURNAL_MAX_BYTES || io->iovcnt > JOURNAL_MAX_IOV)
		err = -EINVAL;
	else if ((i = journal_take(j)) < 0)
		/* Every slot holds a write in flight: the initiator retries. */
		err = -EBUSY;
	if (err) {
		journal_refuse(loop, io, err);
		return;
	}
	struct journal_slot *s = &j->slots[i];
	s->io = io;
	s->stage = J_RECORD;
	memset(s->hdr, 0, JOURNAL_HDR);
	be64_put(s->hdr + H_MAGIC, JOURNAL_MAGIC);
	be64_put(s->hdr + H_OFFSET, io->offset);
	be32_put(s->hdr + H_LEN, io->len);
	be64_put(s->hdr + H_SUM, record_sum(s->hdr, io->iov, io->iovcnt));
	s->iov[0] = (struct iovec){ s->hdr, JOURNAL_HDR };
	memcpy(&s->iov[1], io->iov, io->iovcnt * sizeof(*io->iov));
	journal_queue(s, loop);
}

bool backend_journal_failed(const struct backend_journal *j)
{
	return atomic_load_explicit(&j->failed, memory_order_relaxed);
}

/* Puts back the one record in slot i if it is whole; returns 1 if it was
 * replayed, 0 if the slot held none, or -errno. */
static int journal_replay_slot(struct backend *bs, struct backend_journal *j, unsigned i, uint8_t *buf)
{
	uint8_t *hdr = j->slots[i].hdr;
	ssize_t n = pread(j->fd, hdr, JOURNAL_HDR, (off_t)slot_offset(i));
	if (n < 0)
		return -errno;
	if ((size_t)n < JOURNAL_HDR || be64_get(hdr + H_MAGIC) != JOURNAL_MAGIC)
		return 0;
	uint64_t off = be64_get(hdr + H_OFFSET);
	uint32_t len = be32_get(hdr + H_LEN);
	if (len == 0 || len > JOURNAL_MAX_BYTES || off > bs->size || len > bs->size - off)
		return 0;
	n = pread(j->fd, buf, len, (off_t)(slot_offset(i) + JOURNAL_HDR));
	if (n < 0)
		return -errno;
	struct iovec v = { buf, len };
	/* Torn: the crash came before the record was whole, so nothing of
	 * this write reached the blocks. */
	if ((size_t)n < len || record_sum(hdr, &v, 1) != be64_get(hdr + H_SUM))
		return 0;
	if (pwrite(backend_fd(bs)->fd, buf, len, (off_t)off) != (ssize_t)len)
		return errno ? -errno : -EIO;
	log_info("backend %s: replayed an atomic write of %u bytes at %llu", j->path, len,
		 (unsigned long long)off);
	return 1;
}

/* Replays every whole record, makes the blocks durable, then clears the
 * journal: in that order, so a crash during replay replays again. */
static int journal_replay(struct backend *bs, struct backend_journal *j)
{
	uint8_t *buf;
	if (posix_memalign((void **)&buf, 4096, JOURNAL_MAX_BYTES))
		return -ENOMEM;
	int ret = 0;
	for (unsigned i = 0; i < JOURNAL_SLOTS && ret >= 0; i++) {
		int r = journal_replay_slot(bs, j, i, buf);
		ret = r < 0 ? r : ret + r;
	}
	free(buf);
	if (ret > 0 && fdatasync(backend_fd(bs)->fd) < 0)
		ret = -errno;
	if (ret < 0)
		return ret;
	if (ftruncate(j->fd, 0) < 0 || ftruncate(j->fd, (off_t)(JOURNAL_SLOTS * JOURNAL_SLOT)) < 0 ||
	    fsync(j->fd) < 0)
		return -errno;
	return 0;
}

static void journal_free(struct backend_journal *j)
{
	for (unsigned i = 0; i < JOURNAL_SLOTS; i++)
		free(j->slots[i].hdr);
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

int backend_journal_open(struct backend *bs, const char *path)
{
	struct backend_journal *j = calloc(1, sizeof(*j));
	if (!j)
		return backend_fail(path, ENOMEM, "allocating the atomic-write journal");
	j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	j->path = strdup(path);
	int ret = j->fd < 0 ? -errno : j->path ? 0 : -ENOMEM;
	/* One journal serves one store: two would replay each other's
	 * records into the wrong file. */
	if (ret == 0 && flock(j->fd, LOCK_EX | LOCK_NB) < 0)
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
	for (unsigned i = 0; i < JOURNAL_SLOTS && ret == 0; i++) {
		struct journal_slot *s = &j->slots[i];
		s->j = j;
		s->index = i;
		if (posix_memalign((void **)&s->hdr, 4096, JOURNAL_HDR))
			ret = -ENOMEM;
	}
	if (ret == 0)
		ret = journal_replay(bs, j);
	if (ret < 0) {
		journal_free(j);
		return backend_fail(path, -ret, "atomic-write journal");
	}
	backend_fd(bs)->journal = j;
	bs->atomic_max = JOURNAL_MAX_BYTES;
	return 0;
}

void backend_journal_close(struct backend *bs)
{
	struct backend_fd *fs = backend_fd(bs);
	if (fs->journal)
		journal_free(fs->journal);
	fs->journal = NULL;
}
