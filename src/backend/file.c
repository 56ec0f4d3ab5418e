/* A regular file as a backing store, created sparse when missing. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/store.h"

static int backend_file_size(struct backend *bs, const struct backend_config *cfg)
{
	struct stat st;
	if (fstat(bs->fd, &st) < 0)
		return backend_fail(bs->path, errno, "fstat");
	if (!S_ISREG(st.st_mode))
		return backend_fail(bs->path, EINVAL, "not a regular file (use backend \"blockdev\" for devices)");
	uint64_t size = cfg->size ? cfg->size : (uint64_t)st.st_size;
	if ((uint64_t)st.st_size < size) {
		if (cfg->readonly)
			return backend_fail(bs->path, EINVAL, "read-only and only %llu bytes, less than the size %llu",
					    (unsigned long long)st.st_size, (unsigned long long)size);
		/* Growing with ftruncate keeps the file sparse. */
		if (ftruncate(bs->fd, (off_t)size) < 0)
			return backend_fail(bs->path, errno, "growing to %llu bytes", (unsigned long long)size);
	}
	size -= size % bs->block_size;
	if (size == 0)
		return backend_fail(bs->path, EINVAL, "smaller than one %u-byte block", bs->block_size);
	bs->size = size;
	return 0;
}

static int backend_file_open(struct backend *bs, const struct backend_config *cfg)
{
	bs->block_size = cfg->block_size ? cfg->block_size : 512;
	if (bs->block_size != 512 && bs->block_size != 4096)
		return backend_fail(bs->path, EINVAL, "block size %u is not 512 or 4096", bs->block_size);

	int flags = O_CLOEXEC | (cfg->readonly ? O_RDONLY : O_RDWR) | (cfg->direct ? O_DIRECT : 0);
	bool created = false;
	bs->fd = open(bs->path, flags);
	if (bs->fd < 0 && errno == ENOENT && !cfg->readonly) {
		if (cfg->size == 0)
			return backend_fail(bs->path, ENOENT, "missing, and no size given to create it");
		bs->fd = open(bs->path, flags | O_CREAT | O_EXCL, 0600);
		created = bs->fd >= 0;
	}
	if (bs->fd < 0)
		return backend_fail(bs->path, errno, "open");

	/* Two daemons serving one file would corrupt it; readers may share. */
	int ret;
	if (flock(bs->fd, (cfg->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		ret = errno == EWOULDBLOCK
			? backend_fail(bs->path, EBUSY, "locked by another process (another lunard serving it?)")
			: backend_fail(bs->path, errno, "flock");
	else
		ret = backend_file_size(bs, cfg);
	if (ret == 0 && cfg->direct)
		ret = backend_fd_check_direct(bs);
	if (ret < 0) {
		if (created)
			unlink(bs->path);
		backend_fd_close(bs);
	}
	return ret;
}

const struct backend_ops backend_file_ops = {
	.name = "file",
	.open = backend_file_open,
	.submit = backend_fd_submit,
	.close = backend_fd_close,
};
