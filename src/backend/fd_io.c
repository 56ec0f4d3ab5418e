/* The io_uring data path shared by the file and blockdev stores. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/store.h"
#include "util/macros.h"

/* Buffers handed to backend_submit are at least this aligned (backend.h). */
#define BACKEND_BUF_ALIGN 4096u

int backend_io_advance(struct backend_io *io, int res)
{
	if (res < 0)
		return res;
	uint32_t remaining = io->len - io->completed;
	/* The store is sized to the LU, so a read returning 0 means the file
	 * shrank under us; a write returning 0 would loop forever. */
	if (res == 0 || (uint32_t)res > remaining)
		return -EIO;
	io->completed += (uint32_t)res;
	/* Move the cursor through the iovecs, past empty ones too. */
	uint32_t left = (uint32_t)res;
	while (io->cur_iov < io->iovcnt) {
		uint32_t in_this = (uint32_t)io->iov[io->cur_iov].iov_len - io->cur_off;
		if (left < in_this) {
			io->cur_off += left;
			break;
		}
		left -= in_this;
		io->cur_iov++;
		io->cur_off = 0;
	}
	return io->completed < io->len;
}

static void backend_fd_on_inline(struct loop_op *op, int res)
{
	struct backend_io *io = container_of(op, struct backend_io, lop);
	io->done(io, res);
}

/* A read the page cache holds is copied here, on the loop's thread: the
 * ring would hand a buffered read it cannot finish without waiting to an
 * io-wq worker (always, on tmpfs, which has no RWF_NOWAIT), and the wake-up,
 * the switch and the completion sent back cost more than the copy. With
 * RWF_NOWAIT the kernel copies only what is cached and never waits; a
 * tmpfs or ramfs file is memory, which the memory store copies on the loop
 * as well, and there writes are copies too (RWF_DSYNC for FUA costs
 * nothing more there). Returns false when the ring must do the rest
 * (nothing cached, a short copy, or an error the ring will report in its
 * turn). */
static bool backend_fd_copy_now(struct backend_io *io)
{
	const struct backend_fd *fs = backend_fd(io->bs);
	const struct iovec *iov = io->iov + io->cur_iov;
	int n = (int)(io->iovcnt - io->cur_iov);
	ssize_t got;
	if (io->op == BACKEND_WRITE)
		got = pwritev2(fs->fd, iov, n, (off_t)io->offset, io->fua ? RWF_DSYNC : 0);
	else
		got = preadv2(fs->fd, iov, n, (off_t)io->offset,
			      fs->read_inline == BACKEND_FD_INLINE_NOWAIT ? RWF_NOWAIT : 0);
	if (got <= 0 || backend_io_advance(io, (int)got) != 0)
		return false;
	io->lop.cb = backend_fd_on_inline;
	loop_complete_soon(io->loop, &io->lop, 0);
	return true;
}

/* Whether io may be tried on the loop's thread (backend_fd_copy_now). */
static bool backend_fd_copies_now(const struct backend_io *io)
{
	enum backend_fd_inline mode = backend_fd(io->bs)->read_inline;
	if (io->cur_iov >= io->iovcnt)
		return false;
	if (io->op == BACKEND_READ)
		return mode != BACKEND_FD_INLINE_NONE;
	return io->op == BACKEND_WRITE && mode == BACKEND_FD_INLINE_MEMORY;
}

static void backend_fd_queue(struct backend_io *io);

static void backend_fd_on_complete(struct loop_op *op, int res)
{
	struct backend_io *io = container_of(op, struct backend_io, lop);
	if (io->op == BACKEND_FLUSH || io->op == BACKEND_DISCARD) {
		io->done(io, res < 0 ? res : 0);
		return;
	}
	int ret = backend_io_advance(io, res);
	if (ret > 0)
		backend_fd_queue(io);
	else
		io->done(io, ret);
}

/* From the cursor on: the rest of one iovec goes as IORING_OP_READ/WRITE
 * (no iovec array for the kernel to copy in; also the only way to start
 * inside an entry without writing to the caller's array), whole entries
 * as READV/WRITEV. */
static void backend_fd_prep_rw(struct io_uring_sqe *sqe, struct backend_io *io, int fd, uint64_t off)
{
	const struct iovec *v = &io->iov[io->cur_iov];
	unsigned nvec = io->iovcnt - io->cur_iov;
	bool write = io->op == BACKEND_WRITE;
	if (nvec == 1 || io->cur_off) {
		char *buf = (char *)v->iov_base + io->cur_off;
		unsigned len = (unsigned)(v->iov_len - io->cur_off);
		if (write)
			io_uring_prep_write(sqe, fd, buf, len, off);
		else
			io_uring_prep_read(sqe, fd, buf, len, off);
	} else if (write) {
		io_uring_prep_writev(sqe, fd, v, nvec, off);
	} else {
		io_uring_prep_readv(sqe, fd, v, nvec, off);
	}
}

static void backend_fd_queue(struct backend_io *io)
{
	struct io_uring_sqe *sqe = loop_get_sqe(io->loop);
	int fd = backend_fd(io->bs)->fd;
	uint64_t off = io->offset + io->completed;

	switch (io->op) {
	case BACKEND_READ:
		backend_fd_prep_rw(sqe, io, fd, off);
		break;
	case BACKEND_WRITE:
		backend_fd_prep_rw(sqe, io, fd, off);
		/* SBC-4 5.42 FUA: the data must be on the medium before
		 * GOOD; RWF_DSYNC syncs this write's data and the metadata
		 * needed to read it back. */
		if (io->fua)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case BACKEND_FLUSH:
		/* SBC-4 5.26 SYNCHRONIZE CACHE: fdatasync semantics. */
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case BACKEND_DISCARD:
		/* A hole in a file frees its blocks and reads as zeros. On a
		 * block device (kernel 6.1 blkdev_fallocate) the same mode is
		 * WRITE ZEROES that may unmap, never a slow fallback of
		 * written zeros: deallocation with zeros read back, what
		 * LBPRZ promises, where a plain BLKDISCARD promises nothing
		 * about the data. io_uring runs it on its own workers, so the
		 * loop never waits, and no thread of lunar's is needed. */
		io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)io->offset,
					(off_t)io->discard_len);
		break;
	}
	io->lop.cb = backend_fd_on_complete;
	loop_sqe_set_op(sqe, &io->lop);
}

static void backend_fd_refused(struct loop_op *op, int res)
{
	struct backend_io *io = container_of(op, struct backend_io, lop);
	io->done(io, res);
}

void backend_fd_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	const struct backend_journal *j = backend_fd(bs)->journal;
	if (j && (io->op == BACKEND_WRITE || io->op == BACKEND_DISCARD) && !io->atomic &&
	    backend_journal_failed(j)) {
		io->lop.cb = backend_fd_refused;
		loop_complete_remote(loop, &io->lop, -EIO);
		return;
	}
	if (io->op == BACKEND_WRITE && io->atomic) {
		if (backend_fd(bs)->journal) {
			backend_journal_submit(bs, loop, io);
		} else {
			io->lop.cb = backend_fd_refused;
			loop_complete_remote(loop, &io->lop, -EOPNOTSUPP);
		}
		return;
	}
	/* Leading empty entries: the cursor starts at the first byte. */
	while (io->cur_iov < io->iovcnt && io->iov[io->cur_iov].iov_len == 0)
		io->cur_iov++;
	if (backend_fd_copies_now(io) && backend_fd_copy_now(io))
		return;
	backend_fd_queue(io);
}

void backend_fd_probe_inline(struct backend *bs, bool page_cache_hits)
{
	struct backend_fd *fs = backend_fd(bs);
	fs->read_inline = BACKEND_FD_INLINE_NONE;
	if (fs->direct)
		return;
	/* A file system without RWF_NOWAIT refuses it with EOPNOTSUPP; one
	 * that has it reads the byte or says it is not cached. (An empty
	 * read returns before the flags are looked at.) */
	char byte;
	struct iovec one = { &byte, 1 };
	if (preadv2(fs->fd, &one, 1, 0, RWF_NOWAIT) >= 0 || errno == EAGAIN) {
		if (page_cache_hits)
			fs->read_inline = BACKEND_FD_INLINE_NOWAIT;
		return;
	}
	/* tmpfs pages are never read from a device; like the memory store's,
	 * they wait only if swapped out. */
	struct statfs sfs;
	if (fstatfs(fs->fd, &sfs) == 0 && (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC))
		fs->read_inline = BACKEND_FD_INLINE_MEMORY;
}

int backend_fd_init(struct backend *bs, const struct backend_config *cfg, bool thin_default)
{
	struct backend_fd *fs = backend_fd(bs);
	const char *path = cfg->values[BACKEND_FD_KEY_PATH].str;
	const struct backend_value *thin = &cfg->values[BACKEND_FD_KEY_THIN];
	fs->fd = -1;
	fs->direct = cfg->values[BACKEND_FD_KEY_DIRECT].flag;
	bs->thin = thin->given ? thin->flag : thin_default;
	if (!path)
		return backend_fail(cfg->type->name, EINVAL, "no path");
	fs->path = strdup(path);
	if (!fs->path)
		return backend_fail(path, ENOMEM, "allocating the store");
	return 0;
}

void backend_fd_close(struct backend *bs)
{
	struct backend_fd *fs = backend_fd(bs);
	backend_journal_close(bs);
	if (fs->fd >= 0)
		close(fs->fd);
	fs->fd = -1;
	free(fs->path);
	fs->path = NULL;
}

int backend_fd_check_direct(const struct backend *bs)
{
	const struct backend_fd *fs = backend_fd(bs);
	struct statx stx;
	if (statx(fs->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) < 0)
		return backend_fail(fs->path, errno, "statx");
	/* Kernels before 6.1 do not report the alignment; our block sizes
	 * (512, 4096) meet the classic 512-byte rule. */
	if (!(stx.stx_mask & STATX_DIOALIGN))
		return 0;
	if (stx.stx_dio_offset_align == 0)
		return backend_fail(fs->path, EINVAL, "direct I/O is not supported on this file");
	if (bs->block_size % stx.stx_dio_offset_align || BACKEND_BUF_ALIGN % stx.stx_dio_mem_align)
		return backend_fail(fs->path, EINVAL,
				    "O_DIRECT needs %u-byte offsets and %u-byte buffers, block size is %u",
				    stx.stx_dio_offset_align, stx.stx_dio_mem_align, bs->block_size);
	return 0;
}
