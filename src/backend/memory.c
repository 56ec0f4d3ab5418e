/* Anonymous memory as a backing store: for tests and benchmarks that should
 * measure the target rather than a disk. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "backend/store.h"

static int backend_memory_open(struct backend *bs, const struct backend_config *cfg)
{
	const char *what = "memory";
	bs->block_size = cfg->block_size ? cfg->block_size : 512;
	if (bs->block_size != 512 && bs->block_size != 4096)
		return backend_fail(what, EINVAL, "block size %u is not 512 or 4096", bs->block_size);
	uint64_t size = cfg->size - cfg->size % bs->block_size;
	if (size == 0)
		return backend_fail(what, EINVAL, "size %llu is less than one %u-byte block",
				    (unsigned long long)cfg->size, bs->block_size);
	/* Pages are zero and only materialize when written, like a sparse
	 * file; MAP_NORESERVE lets a large LU be configured on a small host. */
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return backend_fail(what, errno, "mapping %llu bytes", (unsigned long long)size);
	bs->mem = mem;
	bs->size = size;
	return 0;
}

static void backend_memory_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	char *at = (char *)bs->mem + io->offset;
	if (io->op == BACKEND_READ)
		memcpy(io->buf, at, io->len);
	else if (io->op == BACKEND_WRITE)
		memcpy(at, io->buf, io->len);
	io->completed = io->len;
	backend_complete_via_nop(loop, io);
}

static void backend_memory_close(struct backend *bs)
{
	if (bs->mem)
		munmap(bs->mem, bs->size);
	bs->mem = NULL;
}

const struct backend_ops backend_memory_ops = {
	.name = "memory",
	.open = backend_memory_open,
	.submit = backend_memory_submit,
	.close = backend_memory_close,
};
