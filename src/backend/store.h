/* What each backing store implements, and the pieces they share. Private to
 * src/backend/ (and its unit tests); the rest of lunar uses backend.h. */
#ifndef LUNAR_BACKEND_STORE_H
#define LUNAR_BACKEND_STORE_H

#include "backend/backend.h"

extern const struct backend_ops backend_file_ops;
extern const struct backend_ops backend_blockdev_ops;
extern const struct backend_ops backend_memory_ops;

/* Logs "backend WHAT: <fmt...>: strerror(err)" as one line; returns -err. */
int backend_fail(const char *what, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The io_uring path of the fd-backed stores (file and blockdev). */
void backend_fd_submit(struct backend *bs, struct loop *loop, struct backend_io *io);
void backend_fd_close(struct backend *bs);
/* With O_DIRECT, checks that block_size and 4096-aligned buffers satisfy
 * what the kernel asks of this fd. Returns 0 or -errno, logged. */
int backend_fd_check_direct(const struct backend *bs);

/* Accounts a read or write completion of res bytes. Returns a negative errno
 * to report, 0 when all bytes are done, 1 when the remainder (from
 * io->completed) must be resubmitted. */
int backend_io_advance(struct backend_io *io, int res);

/* Queues a NOP whose completion calls io->done(io, 0), so a store that
 * finishes inside submit still completes from the loop. */
void backend_complete_via_nop(struct loop *loop, struct backend_io *io);

#endif
