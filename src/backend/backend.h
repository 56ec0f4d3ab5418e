/* Backing stores: where a logical unit's blocks live.
 *
 * The SCSI core talks to every store through struct backend_ops and never
 * knows whether the blocks are in a file, a block device or memory. I/O is
 * asynchronous on the calling thread's loop: submit queues the work and
 * io->done runs later from that loop (never from inside submit). */
#ifndef LUNAR_BACKEND_BACKEND_H
#define LUNAR_BACKEND_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "util/loop.h"

enum backend_kind {
	BACKEND_FILE,     /* regular file; created sparse at 'size' if missing */
	BACKEND_BLOCKDEV, /* block device; size from the device */
	BACKEND_MEMORY,   /* anonymous memory; contents lost at exit */
};

struct backend_config {
	enum backend_kind kind;
	const char *path;    /* file and blockdev */
	uint64_t size;       /* bytes; file (when creating or growing) and memory */
	uint32_t block_size; /* logical block size: 512 or 4096 */
	bool direct;         /* O_DIRECT instead of the page cache */
	bool readonly;
};

enum backend_op { BACKEND_READ, BACKEND_WRITE, BACKEND_FLUSH };

struct backend;

struct backend_io {
	/* set by the caller */
	enum backend_op op;
	bool fua;        /* write: reach stable storage before done (RWF_DSYNC) */
	uint64_t offset; /* bytes */
	void *buf;       /* 4096-aligned, so O_DIRECT works */
	uint32_t len;    /* bytes; 0 for FLUSH */
	void (*done)(struct backend_io *io, int err); /* err: 0 or -errno */
	/* private to the backend */
	struct backend *bs;
	struct loop *loop;
	struct loop_op lop;
	uint32_t completed; /* bytes done so far; short transfers are resubmitted */
};

struct backend_ops {
	const char *name;
	int (*open)(struct backend *bs, const struct backend_config *cfg);
	void (*submit)(struct backend *bs, struct loop *loop, struct backend_io *io);
	void (*close)(struct backend *bs);
};

struct backend {
	const struct backend_ops *ops;
	uint64_t size; /* bytes, a multiple of block_size */
	uint32_t block_size;
	bool readonly;
	bool direct;
	int fd;        /* file and blockdev; -1 otherwise */
	void *mem;     /* memory */
	char *path;
};

/* Opens the store cfg describes. On failure returns -errno and logs why,
 * naming the path. */
int backend_open(const struct backend_config *cfg, struct backend **out);
/* Thread-safe for concurrent submits from different loops. */
void backend_submit(struct backend *bs, struct loop *loop, struct backend_io *io);
void backend_close(struct backend *bs);
const char *backend_kind_name(enum backend_kind kind);
int backend_kind_parse(const char *name, enum backend_kind *kind);

#endif
