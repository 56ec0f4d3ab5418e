/* A block device as a backing store; its size and sector size come from the
 * device, and its size is read again when asked (a grown LV or LUN, a loop
 * device after `losetup -c`). Shares the file store's I/O path. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/store.h"

static const struct backend_key backend_blockdev_keys[] = {
	BACKEND_FD_KEYS,
};

static int backend_blockdev_size(struct backend *bs, const struct backend_config *cfg)
{
	const struct backend_fd *fs = backend_fd(bs);
	struct stat st;
	if (fstat(fs->fd, &st) < 0)
		return backend_fail(fs->path, errno, "fstat");
	if (!S_ISBLK(st.st_mode))
		return backend_fail(fs->path, ENOTBLK, "not a block device (use backend \"file\")");

	uint64_t dev_size;
	int logical;
	if (ioctl(fs->fd, BLKGETSIZE64, &dev_size) < 0)
		return backend_fail(fs->path, errno, "ioctl BLKGETSIZE64");
	if (ioctl(fs->fd, BLKSSZGET, &logical) < 0)
		return backend_fail(fs->path, errno, "ioctl BLKSSZGET");

	int ret = backend_choose_block_size(bs, cfg, (uint32_t)logical, fs->path);
	if (ret < 0)
		return ret;
	/* A block smaller than a sector would need read-modify-write. */
	if (logical <= 0 || bs->block_size % (uint32_t)logical)
		return backend_fail(fs->path, EINVAL, "block size %u is not a multiple of the device's %d-byte sectors",
				    bs->block_size, logical);

	/* A 512e disk (4096-byte sectors behind 512-byte ones) tells the
	 * initiator to align to its physical sectors (SBC-3 4.6.2). */
	int physical;
	if (!cfg->physical_block_size && ioctl(fs->fd, BLKPBSZGET, &physical) == 0 &&
	    physical > 0 && (uint32_t)physical > bs->block_size &&
	    (uint32_t)physical % bs->block_size == 0 &&
	    __builtin_popcount((unsigned)physical / bs->block_size) == 1)
		bs->physical_block_size = (uint32_t)physical;

	uint64_t size = dev_size - dev_size % bs->block_size;
	if (size == 0)
		return backend_fail(fs->path, EINVAL, "smaller than one %u-byte block", bs->block_size);
	bs->size = size;
	return 0;
}

static int backend_blockdev_open(struct backend *bs, const struct backend_config *cfg)
{
	/* Whether a device deallocates and reads zeros back (WRITE ZEROES
	 * with unmap) only its operator knows: thin only when configured. */
	int ret = backend_fd_init(bs, cfg, false);
	if (ret < 0) {
		backend_fd_close(bs);
		return ret;
	}
	struct backend_fd *fs = backend_fd(bs);
	/* O_EXCL on a block device: fail with EBUSY if it is mounted or
	 * another process holds it exclusively, and keep others out. */
	int flags = O_CLOEXEC | O_EXCL | (cfg->readonly ? O_RDONLY : O_RDWR) | (fs->direct ? O_DIRECT : 0);
	fs->fd = open(fs->path, flags);
	if (fs->fd < 0)
		ret = backend_fail(fs->path, errno, errno == EBUSY ? "in use (mounted or opened exclusively)" : "open");
	if (ret == 0)
		ret = backend_blockdev_size(bs, cfg);
	if (ret == 0 && fs->direct)
		ret = backend_fd_check_direct(bs);
	if (ret < 0)
		backend_fd_close(bs);
	return ret;
}

/* BLKGETSIZE64 asks the block layer, which already knows a resize the
 * driver announced: no I/O, so it may run on a data-plane loop for READ
 * CAPACITY like the file store's fstat. */
static int backend_blockdev_current_size(const struct backend *bs, uint64_t *size)
{
	const struct backend_fd *fs = backend_fd(bs);
	return ioctl(fs->fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
}

const struct backend_type backend_blockdev_type = {
	.name = "blockdev",
	.keys = backend_blockdev_keys,
	.nkeys = ARRAY_SIZE(backend_blockdev_keys),
	.priv_size = sizeof(struct backend_fd),
	.open = backend_blockdev_open,
	.submit = backend_fd_submit,
	.close = backend_fd_close,
	.current_size = backend_blockdev_current_size,
};
