#include "backend/backend.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend/store.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/macros.h"

#define BACKEND_MAX_TYPES 16

/* Registered before any thread starts and never removed, so lookups from
 * any thread need no lock. */
static const struct backend_type *backend_types[BACKEND_MAX_TYPES] = {
	&backend_file_type,
	&backend_blockdev_type,
	&backend_memory_type,
};
static size_t backend_ntypes = 3;

int backend_type_register(const struct backend_type *type)
{
	if (backend_type_find(type->name))
		return -EEXIST;
	if (type->nkeys > BACKEND_MAX_KEYS)
		return -E2BIG;
	for (size_t i = 0; i < type->nkeys; i++)
		if ((unsigned)type->keys[i].type > BACKEND_KEY_INT)
			return -EINVAL;
	if (backend_ntypes == BACKEND_MAX_TYPES)
		return -ENOSPC;
	backend_types[backend_ntypes++] = type;
	return 0;
}

const struct backend_type *backend_type_find(const char *name)
{
	for (size_t i = 0; i < backend_ntypes; i++)
		if (strcmp(backend_types[i]->name, name) == 0)
			return backend_types[i];
	return NULL;
}

const struct backend_type *backend_type_at(size_t i)
{
	return i < backend_ntypes ? backend_types[i] : NULL;
}

const struct backend_key *backend_type_key(const struct backend_type *type, const char *name, size_t *index)
{
	for (size_t i = 0; i < type->nkeys; i++) {
		if (strcmp(type->keys[i].name, name) == 0) {
			if (index)
				*index = i;
			return &type->keys[i];
		}
	}
	return NULL;
}

void backend_config_init(struct backend_config *cfg, const struct backend_type *type)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = type;
}

#define BACKEND_KEY_BIT(t) (1u << (t))

/* KEY's value in cfg, if its type is in the mask WANT. */
static int backend_config_slot(struct backend_config *cfg, const char *key, unsigned want, struct backend_value **v)
{
	size_t i;
	const struct backend_key *k = cfg->type ? backend_type_key(cfg->type, key, &i) : NULL;
	if (!k)
		return -ENOENT;
	if (!(want & BACKEND_KEY_BIT(k->type)))
		return -EINVAL;
	*v = &cfg->values[i];
	return 0;
}

int backend_config_set_str(struct backend_config *cfg, const char *key, const char *value)
{
	struct backend_value *v;
	int ret = backend_config_slot(cfg, key, BACKEND_KEY_BIT(BACKEND_KEY_STRING) | BACKEND_KEY_BIT(BACKEND_KEY_PATH),
				      &v);
	if (ret < 0)
		return ret;
	char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	free(v->str);
	v->str = copy;
	v->given = true;
	return 0;
}

int backend_config_set_bool(struct backend_config *cfg, const char *key, bool value)
{
	struct backend_value *v;
	int ret = backend_config_slot(cfg, key, BACKEND_KEY_BIT(BACKEND_KEY_BOOL), &v);
	if (ret < 0)
		return ret;
	v->flag = value;
	v->given = true;
	return 0;
}

int backend_config_set_size(struct backend_config *cfg, const char *key, uint64_t value)
{
	struct backend_value *v;
	int ret = backend_config_slot(cfg, key, BACKEND_KEY_BIT(BACKEND_KEY_SIZE), &v);
	if (ret < 0)
		return ret;
	v->size = value;
	v->given = true;
	return 0;
}

const struct backend_value *backend_config_value(const struct backend_config *cfg, const char *key)
{
	size_t i;
	if (!cfg->type || !backend_type_key(cfg->type, key, &i))
		return NULL;
	return &cfg->values[i];
}

void backend_config_clear(struct backend_config *cfg)
{
	for (size_t i = 0; cfg->type && i < cfg->type->nkeys; i++) {
		enum backend_key_type t = cfg->type->keys[i].type;
		if (t == BACKEND_KEY_STRING || t == BACKEND_KEY_PATH)
			free(cfg->values[i].str);
	}
	memset(cfg->values, 0, sizeof(cfg->values));
}

void backend_config_describe(const struct backend_config *cfg, char *buf, size_t len)
{
	size_t at = (size_t)snprintf(buf, len, "%s", cfg->type ? cfg->type->name : "(none)");
	for (size_t i = 0; cfg->type && i < cfg->type->nkeys && at < len; i++) {
		const struct backend_key *k = &cfg->type->keys[i];
		const struct backend_value *v = &cfg->values[i];
		const char *word = NULL;
		if (!v->given)
			continue;
		if (k->type == BACKEND_KEY_STRING || k->type == BACKEND_KEY_PATH)
			word = v->str;
		else if (k->type == BACKEND_KEY_BOOL && v->flag)
			word = k->name;
		if (word)
			at += (size_t)snprintf(buf + at, len - at, " %s", word);
	}
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

int backend_choose_block_size(struct backend *bs, const struct backend_config *cfg, uint32_t store_default,
			      const char *what)
{
	bs->block_size = cfg->block_size ? cfg->block_size : store_default;
	/* SBC-4 6.6.2: the LOGICAL BLOCK LENGTHs lunar serves. */
	if (bs->block_size != 512 && bs->block_size != 4096)
		return backend_fail(what, EINVAL, "block size %u is not 512 or 4096", bs->block_size);
	bs->physical_block_size = cfg->physical_block_size ? cfg->physical_block_size : bs->block_size;
	if (bs->physical_block_size < bs->block_size)
		return backend_fail(what, EINVAL, "physical block size %u is less than the block size %u",
				    bs->physical_block_size, bs->block_size);
	return 0;
}

/* The store's state follows struct backend in the same allocation. */
#define BACKEND_PRIV_OFFSET ((sizeof(struct backend) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

int backend_open(const struct backend_config *cfg, struct backend **out)
{
	if (!cfg->type)
		return backend_fail("(none)", EINVAL, "no backend type");
	const char *what = cfg->type->name;
	struct backend *bs = calloc(1, BACKEND_PRIV_OFFSET + cfg->type->priv_size);
	if (!bs)
		return backend_fail(what, ENOMEM, "allocating the store");
	bs->type = cfg->type;
	bs->readonly = cfg->readonly;
	bs->priv = (char *)bs + BACKEND_PRIV_OFFSET;
	int ret = bs->type->open(bs, cfg);
	if (ret < 0) {
		free(bs);
		return ret;
	}
	*out = bs;
	return 0;
}

void backend_io_set_buf(struct backend_io *io, void *buf, uint32_t len)
{
	io->one = (struct iovec){ .iov_base = buf, .iov_len = len };
	io->iov = &io->one;
	io->iovcnt = 1;
}

void backend_io_gather(const struct backend_io *io, void *dst)
{
	iov_gather(io->iov, io->iovcnt, 0, dst, io->len);
}

void backend_io_scatter(const struct backend_io *io, const void *src)
{
	iov_scatter(io->iov, io->iovcnt, 0, src, io->len);
}

/* Sums the iovecs into io->len; -EINVAL if there are too many or the sum
 * does not fit. */
static int backend_io_sum(struct backend_io *io)
{
	uint64_t len = 0;
	if (io->iovcnt > BACKEND_MAX_IOV)
		return -EINVAL;
	for (unsigned i = 0; i < io->iovcnt; i++)
		len += io->iov[i].iov_len;
	if (len > UINT32_MAX)
		return -EINVAL;
	io->len = (uint32_t)len;
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
	case BACKEND_DISCARD:
		if (bs->readonly)
			return -EROFS;
		if (!bs->thin)
			return -EOPNOTSUPP;
		if (io->discard_len == 0 || io->offset > bs->size || io->discard_len > bs->size - io->offset)
			return -EINVAL;
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
	int err = backend_io_sum(io);
	io->done(io, err < 0 ? err : backend_io_check(io->bs, io));
}

void backend_submit(struct backend *bs, struct loop *loop, struct backend_io *io)
{
	io->bs = bs;
	io->loop = loop;
	io->completed = 0;
	io->cur_iov = 0;
	io->cur_off = 0;
	if (backend_io_sum(io) < 0 || backend_io_check(bs, io) < 0) {
		struct io_uring_sqe *sqe = loop_get_sqe(loop);
		io_uring_prep_nop(sqe);
		io->lop.cb = backend_on_rejected;
		loop_sqe_set_op(sqe, &io->lop);
		return;
	}
	bs->type->submit(bs, loop, io);
}

int backend_lba_status(const struct backend *bs, uint64_t offset, bool *mapped, uint64_t *extent)
{
	if (offset >= bs->size)
		return -EINVAL;
	uint64_t left = bs->size - offset;
	if (!bs->type->lba_status) {
		*mapped = true;
		*extent = left;
		return 0;
	}
	int ret = bs->type->lba_status(bs, offset, mapped, extent);
	if (ret == 0 && (*extent > left || *extent == 0))
		*extent = left;
	return ret;
}

void backend_close(struct backend *bs)
{
	if (!bs)
		return;
	bs->type->close(bs);
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

void *backend_lend(struct backend *bs, uint64_t offset, uint32_t len)
{
	uint64_t size = atomic_load(&bs->size);
	if (!bs->type->lend || offset > size || len > size - offset)
		return NULL;
	return bs->type->lend(bs, offset, len);
}

int64_t backend_refresh_size(struct backend *bs)
{
	uint64_t now = atomic_load(&bs->size);
	if (!bs->type->current_size)
		return (int64_t)now;
	uint64_t size;
	int ret = bs->type->current_size(bs, &size);
	if (ret < 0)
		return ret;
	size -= size % bs->block_size;
	/* Grow only: blocks already reported stay addressable. */
	while (size > now && !atomic_compare_exchange_weak(&bs->size, &now, size))
		;
	return (int64_t)atomic_load(&bs->size);
}
