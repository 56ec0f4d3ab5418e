/* Runs backend I/Os through a real struct loop for the backend tests. */
#ifndef LUNAR_TEST_BACKEND_IO_RUNNER_H
#define LUNAR_TEST_BACKEND_IO_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "util/loop.h"

struct io_runner {
	struct loop loop;
	unsigned pending;
	bool in_submit;
	bool done_inside_submit;
};

struct runner_io {
	struct backend_io io;
	struct io_runner *runner;
	int err;
	bool fired;
};

static inline void runner_on_done(struct backend_io *io, int err)
{
	struct runner_io *rio = (struct runner_io *)io;
	struct io_runner *r = rio->runner;
	if (r->in_submit)
		r->done_inside_submit = true;
	rio->err = err;
	rio->fired = true;
	if (--r->pending == 0)
		r->loop.stop = true;
}

static inline void runner_prep(struct io_runner *r, struct runner_io *rio, enum backend_op op,
			       uint64_t offset, void *buf, uint32_t len, bool fua)
{
	memset(rio, 0, sizeof(*rio));
	rio->io.op = op;
	rio->io.fua = fua;
	rio->io.offset = offset;
	backend_io_set_buf(&rio->io, buf, len);
	rio->io.done = runner_on_done;
	rio->runner = r;
	rio->err = 1;
}

/* Submits n prepared I/Os and runs the loop until all have completed. */
static inline void runner_run(struct io_runner *r, struct backend *bs, struct runner_io *rios, unsigned n)
{
	r->pending = n;
	r->loop.stop = false;
	r->in_submit = true;
	for (unsigned i = 0; i < n; i++)
		backend_submit(bs, &r->loop, &rios[i].io);
	r->in_submit = false;
	loop_run(&r->loop);
}

/* One I/O; returns its err. */
static inline int runner_one(struct io_runner *r, struct backend *bs, enum backend_op op,
			     uint64_t offset, void *buf, uint32_t len, bool fua)
{
	struct runner_io rio;
	runner_prep(r, &rio, op, offset, buf, len, fua);
	runner_run(r, bs, &rio, 1);
	return rio.err;
}

/* One DISCARD of len bytes at offset; returns its err. */
static inline int runner_discard(struct io_runner *r, struct backend *bs, uint64_t offset, uint64_t len)
{
	struct runner_io rio;
	runner_prep(r, &rio, BACKEND_DISCARD, offset, NULL, 0, false);
	rio.io.iov = NULL;
	rio.io.iovcnt = 0;
	rio.io.discard_len = len;
	runner_run(r, bs, &rio, 1);
	return rio.err;
}

/* A config of the store TYPE; PATH (not copied: the test owns it) and
 * SIZE only when not NULL or 0, BLOCK_SIZE 0 for the store's default. */
static inline struct backend_config runner_cfg(const char *type, char *path, uint64_t size, uint32_t block_size)
{
	struct backend_config cfg;
	backend_config_init(&cfg, backend_type_find(type));
	cfg.block_size = block_size;
	size_t i;
	if (path && backend_type_key(cfg.type, "path", &i))
		cfg.values[i] = (struct backend_value){ .given = true, .str = path };
	if (size && backend_config_set_size(&cfg, "size", size) < 0)
		abort();
	return cfg;
}

static inline void *runner_buf(size_t len, int seed)
{
	void *buf = aligned_alloc(4096, len);
	unsigned char *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seed + i * 7 + i / 512);
	return buf;
}

/* backend_lba_status at offset succeeds and answers mapped and extent
 * (the includer has included cmocka.h). */
static inline void assert_lba_status(const struct backend *bs, uint64_t offset, bool mapped, uint64_t extent)
{
	/* Outputs that were never written must not pass. */
	bool got_mapped = !mapped;
	uint64_t got_extent = extent + 1;
	assert_int_equal(backend_lba_status(bs, offset, &got_mapped, &got_extent), 0);
	assert_int_equal(got_mapped, mapped);
	assert_int_equal(got_extent, extent);
}

#endif
