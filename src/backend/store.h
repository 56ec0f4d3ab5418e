/* What each backing store implements, and the pieces they share. Private to
 * src/backend/ (and its unit tests); the rest of lunar uses backend.h. */
#ifndef LUNAR_BACKEND_STORE_H
#define LUNAR_BACKEND_STORE_H

#include "backend/backend.h"
#include "util/macros.h"

extern const struct backend_type backend_file_type;
extern const struct backend_type backend_blockdev_type;
extern const struct backend_type backend_memory_type;

/* Logs "backend WHAT: <fmt...>: strerror(err)" as one line; returns -err. */
int backend_fail(const char *what, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets bs->block_size to the configured size, else to store_default, and
 * checks it is one lunar serves. Returns 0 or -EINVAL, logged as WHAT's. */
int backend_choose_block_size(struct backend *bs, const struct backend_config *cfg, uint32_t store_default,
			      const char *what);

/* Which buffered I/O is done on the loop's own thread
 * (backend_fd_probe_inline); the rest goes to the ring. */
enum backend_fd_inline {
	BACKEND_FD_INLINE_NONE,
	BACKEND_FD_INLINE_NOWAIT, /* reads: preadv2 RWF_NOWAIT, page-cache hits; the rest to the ring */
	BACKEND_FD_INLINE_MEMORY, /* tmpfs or ramfs: every read and write is a memory copy */
};

/* The state of the fd-backed stores (file and blockdev), at bs->priv. */
struct backend_journal;

struct backend_fd {
	enum backend_fd_inline read_inline;
	int fd;
	bool direct; /* O_DIRECT instead of the page cache */
	char *path;
	struct backend_journal *journal; /* atomic writes; NULL: none */
	/* The file mapped for lending (fd_lend.c); NULL: reads are copied */
	char *lend_map;
	uint64_t lend_len; /* bytes mapped: the store's size at open */
};

/* The keys file and blockdev share come first in both tables, in this
 * order, so one index names them in either. */
enum { BACKEND_FD_KEY_PATH, BACKEND_FD_KEY_DIRECT, BACKEND_FD_KEY_THIN, BACKEND_FD_NKEYS };
#define BACKEND_FD_KEYS                                                                   \
	[BACKEND_FD_KEY_PATH] = { .name = "path", .type = BACKEND_KEY_PATH, .required = true, \
				  .help = "the file or device holding the blocks" },            \
	[BACKEND_FD_KEY_DIRECT] = { .name = "direct", .type = BACKEND_KEY_BOOL,               \
				    .help = "O_DIRECT: bypass the page cache" },                  \
	[BACKEND_FD_KEY_THIN] = { .name = "thin", .type = BACKEND_KEY_BOOL,                   \
				  .help = "thin provisioned: UNMAP and WRITE SAME with UNMAP deallocate" }

static inline struct backend_fd *backend_fd(const struct backend *bs)
{
	return bs->priv;
}

/* Copies path and direct from cfg into bs's state, and thin into bs->thin
 * (thin_default when the key is not given); the fd is -1.
 * Returns 0 or -ENOMEM, logged. */
int backend_fd_init(struct backend *bs, const struct backend_config *cfg, bool thin_default);
/* The io_uring path of the fd-backed stores (file and blockdev). */
void backend_fd_submit(struct backend *bs, struct loop *loop, struct backend_io *io);
/* Chooses read_inline for the open fd: a file kept in memory (tmpfs,
 * ramfs) is always read on the loop's thread; page-cache hits of a file
 * system that serves RWF_NOWAIT reads only when page_cache_hits is set.
 * Never with O_DIRECT. */
void backend_fd_probe_inline(struct backend *bs, bool page_cache_hits);
/* Closes the fd and frees the path; for a failed open too. */
void backend_fd_close(struct backend *bs);
/* With O_DIRECT, checks that block_size and 4096-aligned buffers satisfy
 * what the kernel asks of this fd. Returns 0 or -errno, logged. */
int backend_fd_check_direct(const struct backend *bs);

/* Lending the page cache (fd_lend.c), for zero_copy: reads of fewer bytes
 * than this are copied. Below it the mincore call and the copy through
 * 4 KiB mappings cost more than the copy they save: on tmpfs (kernel 6.18,
 * 2 cores, random reads at QD32, medians of 5 interleaved runs) lending
 * cost 10.5 us of lunard's CPU per 4 KiB read against 8.0 copied, 10.7
 * against 8.8 per 8 KiB, and saved from 16 KiB on (11.5 against 12.1). */
#define BACKEND_FD_LEND_MIN (16u * 1024u)
/* Maps the open fd's first bs->size bytes shared and read-only; without
 * the mapping (logged) the store copies every read. Never with O_DIRECT. */
void backend_fd_lend_open(struct backend *bs);
/* backend_type.lend: bytes [offset, offset + len) in the mapping when they
 * are inside it, at least BACKEND_FD_LEND_MIN long and all in memory. */
void *backend_fd_lend(struct backend *bs, uint64_t offset, uint32_t len);
void backend_fd_lend_close(struct backend *bs);
/* The pure parts of backend_fd_lend: whether the range may be lent from a
 * mapping of mapped bytes, and whether mincore's vector says all npages
 * are resident. */
bool backend_fd_lend_fits(uint64_t mapped, uint64_t offset, uint32_t len);
bool backend_fd_lend_all_resident(const unsigned char *vec, size_t npages);

/* The file store's atomic-write journal (journal.c): slots of this much
 * data each. */
#define JOURNAL_MAX_BYTES (1u << 20)
#define JOURNAL_SLOTS 8
/* Opens (creating) the journal at path, replays the whole records a crash
 * left in it into bs's file, and sets bs->atomic_max. 0 or -errno, logged. */
int backend_journal_open(struct backend *bs, const char *path);
/* An atomic write through the journal; completes on the loop. */
void backend_journal_submit(struct backend *bs, struct loop *loop, struct backend_io *io);
/* A write failed after its record was whole: no write may reach the store
 * until it is opened again and the record replayed (any thread). */
bool backend_journal_failed(const struct backend_journal *j);
void backend_journal_close(struct backend *bs);

/* Accounts a read or write completion of res bytes. Returns a negative errno
 * to report, 0 when all bytes are done, 1 when the remainder (from
 * io->completed) must be resubmitted. */
int backend_io_advance(struct backend_io *io, int res);

/* Queues a NOP whose completion calls io->done(io, 0), so a store that
 * finishes inside submit still completes from the loop. */
void backend_complete_via_nop(struct loop *loop, struct backend_io *io);

#endif
