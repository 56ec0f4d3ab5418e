/* A block device as a backing store; its size and sector size come from the
 * device. Shares the file store's I/O path. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/store.h"

static int backend_blockdev_size(struct backend *bs, const struct backend_config *cfg)
{
	struct stat st;
	if (fstat(bs->fd, &st) < 0)
		return backend_fail(bs->path, errno, "fstat");
	if (!S_ISBLK(st.st_mode))
		return backend_fail(bs->path, ENOTBLK, "not a block device (use backend \"file\")");

	uint64_t dev_size;
	int logical;
	if (ioctl(bs->fd, BLKGETSIZE64, &dev_size) < 0)
		return backend_fail(bs->path, errno, "ioctl BLKGETSIZE64");
	if (ioctl(bs->fd, BLKSSZGET, &logical) < 0)
		return backend_fail(bs->path, errno, "ioctl BLKSSZGET");

	bs->block_size = cfg->block_size ? cfg->block_size : (uint32_t)logical;
	if (bs->block_size != 512 && bs->block_size != 4096)
		return backend_fail(bs->path, EINVAL, "block size %u is not 512 or 4096", bs->block_size);
	/* A block smaller than a sector would need read-modify-write. */
	if (logical <= 0 || bs->block_size % (uint32_t)logical)
		return backend_fail(bs->path, EINVAL, "block size %u is not a multiple of the device's %d-byte sectors",
				    bs->block_size, logical);

	uint64_t size = dev_size;
	if (cfg->size) {
		if (cfg->size > dev_size)
			return backend_fail(bs->path, EINVAL, "device has %llu bytes, less than the size %llu",
					    (unsigned long long)dev_size, (unsigned long long)cfg->size);
		size = cfg->size;
	}
	size -= size % bs->block_size;
	if (size == 0)
		return backend_fail(bs->path, EINVAL, "smaller than one %u-byte block", bs->block_size);
	bs->size = size;
	return 0;
}

static int backend_blockdev_open(struct backend *bs, const struct backend_config *cfg)
{
	/* O_EXCL on a block device: fail with EBUSY if it is mounted or
	 * another process holds it exclusively, and keep others out. */
	int flags = O_CLOEXEC | O_EXCL | (cfg->readonly ? O_RDONLY : O_RDWR) | (cfg->direct ? O_DIRECT : 0);
	bs->fd = open(bs->path, flags);
	if (bs->fd < 0)
		return backend_fail(bs->path, errno, errno == EBUSY ? "in use (mounted or opened exclusively)" : "open");
	int ret = backend_blockdev_size(bs, cfg);
	if (ret == 0 && cfg->direct)
		ret = backend_fd_check_direct(bs);
	if (ret < 0)
		backend_fd_close(bs);
	return ret;
}

const struct backend_ops backend_blockdev_ops = {
	.name = "blockdev",
	.open = backend_blockdev_open,
	.submit = backend_fd_submit,
	.close = backend_fd_close,
};
