/* Anonymous memory as a backing store: for tests and benchmarks that should
 * measure the target rather than a disk. */
#include <errno.h>
#include <sys/mman.h>

#include "backend/store.h"

enum { MEMORY_KEY_SIZE };

static const struct backend_key backend_memory_keys[] = {
	[MEMORY_KEY_SIZE] = { .name = "size", .type = BACKEND_KEY_SIZE, .required = true,
			      .help = "bytes of zero-filled memory, lost at exit" },
};

struct backend_memory {
	char *mem;
};

static int backend_memory_open(struct backend *bs, const struct backend_config *cfg)
{
	const char *what = "memory";
	struct backend_memory *ms = bs->priv;
	int ret = backend_choose_block_size(bs, cfg, 512, what);
	if (ret < 0)
		return ret;
	uint64_t want = cfg->values[MEMORY_KEY_SIZE].size;
	uint64_t size = want - want % bs->block_size;
	if (size == 0)
		return backend_fail(what, EINVAL, "size %llu is less than one %u-byte block",
				    (unsigned long long)want, bs->block_size);
	/* Pages are zero and only materialize when written, like a sparse
	 * file; MAP_NORESERVE lets a large LU be configured on a small host. */
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return backend_fail(what, errno, "mapping %llu bytes", (unsigned long long)size);
	ms->mem = mem;
	bs->size = size;
	return 0;
}

static void backend_memory_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	struct backend_memory *ms = bs->priv;
	char *at = ms->mem + io->offset;
	if (io->op == BACKEND_READ)
		backend_io_scatter(io, at);
	else if (io->op == BACKEND_WRITE)
		backend_io_gather(io, at);
	io->completed = io->len;
	backend_complete_via_nop(loop, io);
}

static void backend_memory_close(struct backend *bs)
{
	struct backend_memory *ms = bs->priv;
	if (ms->mem)
		munmap(ms->mem, bs->size);
	ms->mem = NULL;
}

const struct backend_type backend_memory_type = {
	.name = "memory",
	.keys = backend_memory_keys,
	.nkeys = ARRAY_SIZE(backend_memory_keys),
	.priv_size = sizeof(struct backend_memory),
	.open = backend_memory_open,
	.submit = backend_memory_submit,
	.close = backend_memory_close,
};
