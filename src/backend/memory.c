/* Anonymous memory as a backing store: for tests and benchmarks that should
 * measure the target rather than a disk. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend/store.h"
#include "util/macros.h"

enum { MEMORY_KEY_SIZE, MEMORY_KEY_THIN, MEMORY_KEY_ZERO_COPY };

static const struct backend_key backend_memory_keys[] = {
	[MEMORY_KEY_SIZE] = { .name = "size", .type = BACKEND_KEY_SIZE, .required = true,
			      .help = "bytes of zero-filled memory, lost at exit" },
	[MEMORY_KEY_THIN] = { .name = "thin", .type = BACKEND_KEY_BOOL,
			      .help = "thin provisioned: UNMAP and WRITE SAME with UNMAP deallocate" },
	[MEMORY_KEY_ZERO_COPY] = { .name = "zero_copy", .type = BACKEND_KEY_BOOL,
				   .help = "reads are sent from the store's memory, not a copy (default true)" },
};

struct backend_memory {
	bool lends; /* backend_lend answers (zero_copy) */
	char *mem;
	/* bit i: page i holds written data (backend_lba_status); set by
	 * writes, cleared when DISCARD gives the page back, from any thread */
	_Atomic uint64_t *mapped;
	uint64_t page;
};

static void mapped_set(struct backend_memory *ms, uint64_t first, uint64_t last, bool on)
{
	for (uint64_t p = first; p <= last; p++) {
		uint64_t bit = 1ull << (p % 64);
		if (on)
			atomic_fetch_or_explicit(&ms->mapped[p / 64], bit, memory_order_relaxed);
		else
			atomic_fetch_and_explicit(&ms->mapped[p / 64], ~bit, memory_order_relaxed);
	}
}

static bool mapped_get(const struct backend_memory *ms, uint64_t p)
{
	return atomic_load_explicit(&ms->mapped[p / 64], memory_order_relaxed) & (1ull << (p % 64));
}

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
	ms->page = (uint64_t)sysconf(_SC_PAGESIZE);
	ms->mapped = calloc(DIV_ROUND_UP(DIV_ROUND_UP(size, ms->page), 64), sizeof(*ms->mapped));
	if (!ms->mapped) {
		munmap(mem, size);
		return backend_fail(what, ENOMEM, "the map of written pages");
	}
	ms->mem = mem;
	const struct backend_value *zero_copy = &cfg->values[MEMORY_KEY_ZERO_COPY];
	ms->lends = !zero_copy->given || zero_copy->flag;
	/* Reads are copied into the socket straight from these pages
	 * (zero_copy): with 4 KiB pages that copy misses the TLB at every
	 * page. Advice only: without transparent huge pages it changes
	 * nothing. */
	madvise(mem, size, MADV_HUGEPAGE);
	bs->size = size;
	const struct backend_value *thin = &cfg->values[MEMORY_KEY_THIN];
	bs->thin = thin->given ? thin->flag : true;
	/* A write is one copy on one thread, which the SCSI core's range lock
	 * keeps apart from other writes; a crash loses every block alike. */
	bs->atomic_max = UINT32_MAX;
	return 0;
}

/* Deallocation: whole pages go back to the kernel (a private anonymous
 * page dropped with MADV_DONTNEED reads as zeros again), the partial
 * pages at either end are zeroed. */
static void backend_memory_discard(struct backend_memory *ms, uint64_t off, uint64_t len)
{
	char *mem = ms->mem;
	uint64_t page = ms->page;
	uint64_t end = off + len;
	uint64_t first = DIV_ROUND_UP(off, page) * page;
	uint64_t last = end / page * page;
	if (first >= last || madvise(mem + first, last - first, MADV_DONTNEED) < 0) {
		memset(mem + off, 0, len);
		return;
	}
	mapped_set(ms, first / page, last / page - 1, false);
	memset(mem + off, 0, first - off);
	memset(mem + last, 0, end - last);
}

static void backend_memory_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	struct backend_memory *ms = bs->priv;
	char *at = ms->mem + io->offset;
	if (io->op == BACKEND_READ) {
		backend_io_scatter(io, at);
	} else if (io->op == BACKEND_WRITE && io->len) {
		backend_io_gather(io, at);
		mapped_set(ms, io->offset / ms->page, (io->offset + io->len - 1) / ms->page, true);
	} else if (io->op == BACKEND_DISCARD) {
		backend_memory_discard(ms, io->offset, io->discard_len);
	}
	io->completed = io->len;
	backend_complete_via_nop(loop, io);
}

static void *backend_memory_lend(struct backend *bs, uint64_t offset, uint32_t len)
{
	struct backend_memory *ms = bs->priv;
	return ms->lends ? ms->mem + offset : NULL;
}

static void backend_memory_close(struct backend *bs)
{
	struct backend_memory *ms = bs->priv;
	if (ms->mem)
		munmap(ms->mem, bs->size);
	ms->mem = NULL;
	free(ms->mapped);
	ms->mapped = NULL;
}

/* A page is mapped from its first write until DISCARD gives it back
 * whole; a logical block shares its page's status (a page holds whole
 * blocks). */
static int backend_memory_lba_status(const struct backend *bs, uint64_t offset, bool *mapped, uint64_t *extent)
{
	const struct backend_memory *ms = bs->priv;
	uint64_t p = offset / ms->page;
	uint64_t last = DIV_ROUND_UP(bs->size, ms->page);
	bool status = mapped_get(ms, p);
	uint64_t q = p + 1;
	while (q < last && mapped_get(ms, q) == status)
		q++;
	*mapped = status;
	*extent = min_u64(q * ms->page, bs->size) - offset;
	return 0;
}

const struct backend_type backend_memory_type = {
	.name = "memory",
	.keys = backend_memory_keys,
	.nkeys = ARRAY_SIZE(backend_memory_keys),
	.priv_size = sizeof(struct backend_memory),
	.open = backend_memory_open,
	.submit = backend_memory_submit,
	.lend = backend_memory_lend,
	.close = backend_memory_close,
	.lba_status = backend_memory_lba_status,
};
