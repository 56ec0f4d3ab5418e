/* A regular file as a backing store, created sparse when missing. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/store.h"
#include "util/macros.h"

enum {
	FILE_KEY_SIZE = BACKEND_FD_NKEYS,
	FILE_KEY_ATOMIC_JOURNAL,
	FILE_KEY_INLINE_READS,
	FILE_KEY_ZERO_COPY,
	FILE_NKEYS
};

static const struct backend_key backend_file_keys[] = {
	BACKEND_FD_KEYS,
	[FILE_KEY_INLINE_READS] = { .name = "inline_reads", .type = BACKEND_KEY_BOOL,
				    .help = "serve page-cache hits on the loop's thread (default: only for tmpfs and ramfs files)" },
	[FILE_KEY_SIZE] = { .name = "size", .type = BACKEND_KEY_SIZE,
			    .help = "bytes; the file is created or grown (sparse) to it" },
	[FILE_KEY_ATOMIC_JOURNAL] = { .name = "atomic_journal", .type = BACKEND_KEY_PATH,
				      .help = "journal file that makes WRITE ATOMIC all-or-none across a crash" },
	[FILE_KEY_ZERO_COPY] = { .name = "zero_copy", .type = BACKEND_KEY_BOOL,
				 .help = "reads are sent from the page cache, not a copy (default true; false with direct)" },
};

static int backend_file_size(struct backend *bs, const struct backend_config *cfg)
{
	const struct backend_fd *fs = backend_fd(bs);
	struct stat st;
	if (fstat(fs->fd, &st) < 0)
		return backend_fail(fs->path, errno, "fstat");
	if (!S_ISREG(st.st_mode))
		return backend_fail(fs->path, EINVAL, "not a regular file (use backend \"blockdev\" for devices)");
	uint64_t want = cfg->values[FILE_KEY_SIZE].size;
	uint64_t size = want ? want : (uint64_t)st.st_size;
	if ((uint64_t)st.st_size < size) {
		if (cfg->readonly)
			return backend_fail(fs->path, EINVAL, "read-only and only %llu bytes, less than the size %llu",
					    (unsigned long long)st.st_size, (unsigned long long)size);
		/* Growing with ftruncate keeps the file sparse. */
		if (ftruncate(fs->fd, (off_t)size) < 0)
			return backend_fail(fs->path, errno, "growing to %llu bytes", (unsigned long long)size);
	}
	size -= size % bs->block_size;
	if (size == 0)
		return backend_fail(fs->path, EINVAL, "smaller than one %u-byte block", bs->block_size);
	bs->size = size;
	return 0;
}

static int backend_file_open_fd(struct backend *bs, const struct backend_config *cfg, bool *created)
{
	struct backend_fd *fs = backend_fd(bs);
	int flags = O_CLOEXEC | (cfg->readonly ? O_RDONLY : O_RDWR) | (fs->direct ? O_DIRECT : 0);
	/* An initiator's reads are not what anyone reads a backing file's
	 * atime for, and even relatime checks it on every read (1.3% of
	 * lunard's CPU for 4 KiB reads from tmpfs). O_NOATIME needs the
	 * file's owner or CAP_FOWNER: without, atime stays on. */
	flags |= O_NOATIME;
	fs->fd = open(fs->path, flags);
	if (fs->fd < 0 && errno == EPERM) {
		flags &= ~O_NOATIME;
		fs->fd = open(fs->path, flags);
	}
	if (fs->fd < 0 && errno == ENOENT && !cfg->readonly) {
		if (cfg->values[FILE_KEY_SIZE].size == 0)
			return backend_fail(fs->path, ENOENT, "missing, and no size given to create it");
		fs->fd = open(fs->path, flags | O_CREAT | O_EXCL, 0600);
		*created = fs->fd >= 0;
	}
	if (fs->fd < 0)
		return backend_fail(fs->path, errno, "open");
	return 0;
}

/* zero_copy maps the page cache, which O_DIRECT bypasses: asking for both
 * is a mistake in the configuration, and direct alone turns lending off. */
static int backend_file_zero_copy(const struct backend *bs, const struct backend_config *cfg, bool *lend)
{
	const struct backend_fd *fs = backend_fd(bs);
	const struct backend_value *zero_copy = &cfg->values[FILE_KEY_ZERO_COPY];
	*lend = !fs->direct && (!zero_copy->given || zero_copy->flag);
	if (fs->direct && zero_copy->given && zero_copy->flag)
		return backend_fail(fs->path, EINVAL, "zero_copy sends reads from the page cache, which direct bypasses");
	return 0;
}

static int backend_file_open(struct backend *bs, const struct backend_config *cfg)
{
	/* Files are created sparse: thin unless the configuration says not. */
	int ret = backend_fd_init(bs, cfg, true);
	struct backend_fd *fs = backend_fd(bs);
	bool created = false, lend = false;
	if (ret == 0)
		ret = backend_file_zero_copy(bs, cfg, &lend);
	if (ret == 0)
		ret = backend_choose_block_size(bs, cfg, 512, fs->path);
	if (ret == 0)
		ret = backend_file_open_fd(bs, cfg, &created);
	/* Two daemons serving one file would corrupt it; readers may share. */
	if (ret == 0 && flock(fs->fd, (cfg->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		ret = errno == EWOULDBLOCK
			? backend_fail(fs->path, EBUSY, "locked by another process (another lunard serving it?)")
			: backend_fail(fs->path, errno, "flock");
	if (ret == 0)
		ret = backend_file_size(bs, cfg);
	/* By default only a file in memory is read on the loop's thread: the
	 * ring would hand each of its reads to a worker thread, while on a
	 * file system with RWF_NOWAIT io_uring itself first tries the read
	 * without waiting, for less CPU than preadv2 (docs/CONFIG.md). */
	const struct backend_value *inline_reads = &cfg->values[FILE_KEY_INLINE_READS];
	if (ret == 0 && (!inline_reads->given || inline_reads->flag))
		backend_fd_probe_inline(bs, inline_reads->given);
	if (ret == 0 && fs->direct)
		ret = backend_fd_check_direct(bs);
	/* Replayed before the store is served, with the file locked. */
	if (ret == 0 && cfg->values[FILE_KEY_ATOMIC_JOURNAL].given && !cfg->readonly)
		ret = backend_journal_open(bs, cfg->values[FILE_KEY_ATOMIC_JOURNAL].str);
	if (ret < 0) {
		if (created)
			unlink(fs->path);
		backend_fd_close(bs);
		return ret;
	}
	if (lend)
		backend_fd_lend_open(bs);
	return 0;
}

static void backend_file_close(struct backend *bs)
{
	backend_fd_lend_close(bs);
	backend_fd_close(bs);
}

/* A hole is where the file system holds no blocks: deallocated. Its
 * edges fall on the file system's blocks, which may be smaller than a
 * logical block; a logical block with any data in it is mapped. */
static int backend_file_lba_status(const struct backend *bs, uint64_t offset, bool *mapped, uint64_t *extent)
{
	const struct backend_fd *fs = backend_fd(bs);
	uint64_t bsize = bs->block_size;
	off_t data = lseek(fs->fd, (off_t)offset, SEEK_DATA);
	if (data < 0 && errno != ENXIO)
		return -errno;
	/* ENXIO: no data from offset to the end of the file. */
	uint64_t hole_len = data < 0 ? UINT64_MAX : (uint64_t)data - offset;
	if (hole_len >= bsize) {
		*mapped = false;
		*extent = hole_len - hole_len % bsize;
		return 0;
	}
	off_t hole = lseek(fs->fd, data, SEEK_HOLE);
	if (hole < 0)
		return -errno;
	uint64_t data_len = (uint64_t)hole - offset;
	*mapped = true;
	*extent = DIV_ROUND_UP(data_len, bsize) * bsize;
	return 0;
}

/* Someone may extend the file while it is served (to grow the LU). */
static int backend_file_current_size(const struct backend *bs, uint64_t *size)
{
	const struct backend_fd *fs = backend_fd(bs);
	struct stat st;
	if (fstat(fs->fd, &st) < 0)
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

const struct backend_type backend_file_type = {
	.name = "file",
	.keys = backend_file_keys,
	.nkeys = ARRAY_SIZE(backend_file_keys),
	.priv_size = sizeof(struct backend_fd),
	.open = backend_file_open,
	.submit = backend_fd_submit,
	.close = backend_file_close,
	.lba_status = backend_file_lba_status,
	.current_size = backend_file_current_size,
	.lend = backend_fd_lend,
};
