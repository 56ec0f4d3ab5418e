#include "backend/backend.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend/store.h"
#include "util/log.h"
#include "util/macros.h"

static const struct {
	const char *name;
	const struct backend_ops *ops;
} backend_kinds[] = {
	[BACKEND_FILE] = { "file", &backend_file_ops },
	[BACKEND_BLOCKDEV] = { "blockdev", &backend_blockdev_ops },
	[BACKEND_MEMORY] = { "memory", &backend_memory_ops },
};

#define BACKEND_NKINDS (sizeof(backend_kinds) / sizeof(backend_kinds[0]))

const char *backend_kind_name(enum backend_kind kind)
{
	if ((size_t)kind >= BACKEND_NKINDS)
		return "unknown";
	return backend_kinds[kind].name;
}

int backend_kind_parse(const char *name, enum backend_kind *kind)
{
	for (size_t i = 0; i < BACKEND_NKINDS; i++) {
		if (strcmp(name, backend_kinds[i].name) == 0) {
			*kind = (enum backend_kind)i;
			return 0;
		}
	}
	return -1;
}

int backend_fail(const char *what, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("backend %s: %s: %s", what, msg, strerror(err));
	return -err;
}

int backend_open(const struct backend_config *cfg, struct backend **out)
{
	const char *what = cfg->path ? cfg->path : backend_kind_name(cfg->kind);
	if ((size_t)cfg->kind >= BACKEND_NKINDS)
		return backend_fail(what, EINVAL, "unknown kind %d", (int)cfg->kind);
	struct backend *bs = calloc(1, sizeof(*bs));
	if (!bs || (cfg->path && !(bs->path = strdup(cfg->path)))) {
		free(bs);
		return backend_fail(what, ENOMEM, "allocating the store");
	}
	bs->ops = backend_kinds[cfg->kind].ops;
	bs->fd = -1;
	bs->readonly = cfg->readonly;
	bs->direct = cfg->direct;
	int ret = bs->ops->open(bs, cfg);
	if (ret < 0) {
		free(bs->path);
		free(bs);
		return ret;
	}
	*out = bs;
	return 0;
}

/* The SCSI core checks LBA ranges and write protection before it submits;
 * this is the store's own guard, so a bug there cannot touch bytes outside
 * the LU or write to a read-only store. */
static int backend_io_check(const struct backend *bs, const struct backend_io *io)
{
	switch (io->op) {
	case BACKEND_FLUSH:
		return 0;
	case BACKEND_WRITE:
		if (bs->readonly)
			return -EROFS;
		/* fall through */
	case BACKEND_READ:
		if (io->len == 0 || io->offset > bs->size || io->len > bs->size - io->offset)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

static void backend_on_rejected(struct loop_op *op, int res)
{
	struct backend_io *io = container_of(op, struct backend_io, lop);
	io->done(io, backend_io_check(io->bs, io));
}

void backend_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	io->bs = bs;
	io->loop = loop;
	io->completed = 0;
	if (backend_io_check(bs, io) < 0) {
		struct io_uring_sqe *sqe = loop_get_sqe(loop);
		io_uring_prep_nop(sqe);
		io->lop.cb = backend_on_rejected;
		loop_sqe_set_op(sqe, &io->lop);
		return;
	}
	bs->ops->submit(bs, loop, io);
}

void backend_close(struct backend *bs)
{
	if (!bs)
		return;
	bs->ops->close(bs);
	free(bs->path);
	free(bs);
}

static void backend_on_nop(struct loop_op *op, int res)
{
	struct backend_io *io = container_of(op, struct backend_io, lop);
	io->done(io, res < 0 ? res : 0);
}

void backend_complete_via_nop(struct loop *loop, struct backend_io *io)
{
	struct io_uring_sqe *sqe = loop_get_sqe(loop);
	io_uring_prep_nop(sqe);
	io->lop.cb = backend_on_nop;
	loop_sqe_set_op(sqe, &io->lop);
}
