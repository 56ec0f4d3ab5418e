/* The file store's atomic-write journal (src/backend/journal.c) and the
 * atomic writes of the memory store. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "backend/store.h"
#include "file_fixture.h"
#include "util/be.h"

/* The journal's on-disk format, as journal.c writes it: slots of a 4 KiB
 * header and 1 MiB of data; the header holds magic, offset, length and an
 * FNV-1a 64 sum over those 24 bytes and the data, big-endian. */
#define SLOT_HDR 4096u
#define SLOT_DATA (1u << 20)
#define SLOT (SLOT_HDR + SLOT_DATA)
#define MAGIC 0x4c554e41524a4e31ull

struct jfix {
	struct file_fixture *f;
	char journal[PATH_MAX];
};

static int setup(void **state)
{
	if (file_fixture_setup(state, "lunar-journal-test") < 0)
		return -1;
	struct file_fixture *f = *state;
	struct jfix *j = calloc(1, sizeof(*j));
	j->f = f;
	snprintf(j->journal, sizeof(j->journal), "%s/lun.journal", f->dir);
	*state = j;
	return 0;
}

static int teardown(void **state)
{
	struct jfix *j = *state;
	unlink(j->journal);
	*state = j->f;
	free(j);
	return file_fixture_teardown(state);
}

static struct backend *open_file(struct jfix *j, bool journal)
{
	struct backend_config cfg = runner_cfg("file", j->f->path, 16 << 20, 512);
	size_t i;
	if (journal && backend_type_key(cfg.type, "atomic_journal", &i))
		cfg.values[i] = (struct backend_value){ .given = true, .str = j->journal };
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	return bs;
}

static int atomic_write(struct io_runner *r, struct backend *bs, uint64_t off, void *buf, uint32_t len)
{
	struct runner_io rio;
	runner_prep(r, &rio, BACKEND_WRITE, off, buf, len, false);
	rio.io.atomic = true;
	runner_run(r, bs, &rio, 1);
	return rio.err;
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Leaves in slot `slot` the record a crash after step 1 would leave. */
static void write_record(const char *path, unsigned slot, uint64_t off, const uint8_t *data, uint32_t len,
			 bool torn)
{
	uint8_t hdr[SLOT_HDR] = { 0 };
	be64_put(hdr, MAGIC);
	be64_put(hdr + 8, off);
	be32_put(hdr + 16, len);
	be64_put(hdr + 24, fnv(fnv(0xcbf29ce484222325ull, hdr, 24), data, len));
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, hdr, SLOT_HDR, (off_t)slot * SLOT), SLOT_HDR);
	uint8_t *copy = malloc(len);
	memcpy(copy, data, len);
	if (torn)
		copy[len / 2] ^= 0xFF;
	assert_int_equal(pwrite(fd, copy, len, (off_t)slot * SLOT + SLOT_HDR), (ssize_t)len);
	free(copy);
	close(fd);
}

static bool slot_header_is_clear(const char *path, unsigned slot)
{
	uint8_t hdr[SLOT_HDR];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, hdr, SLOT_HDR, (off_t)slot * SLOT), SLOT_HDR);
	close(fd);
	for (unsigned i = 0; i < SLOT_HDR; i++)
		if (hdr[i])
			return false;
	return true;
}

static void atomic_write_lands_and_leaves_no_record(void **state)
{
	struct jfix *j = *state;
	struct backend *bs = open_file(j, true);
	assert_int_equal(bs->atomic_max, SLOT_DATA);
	uint32_t len = 256 * 1024;
	uint8_t *out = runner_buf(len, 7);
	uint8_t *in = runner_buf(len, 0);
	assert_int_equal(atomic_write(&j->f->runner, bs, 3 << 20, out, len), 0);
	assert_int_equal(runner_one(&j->f->runner, bs, BACKEND_READ, 3 << 20, in, len, false), 0);
	assert_memory_equal(in, out, len);
	assert_true(slot_header_is_clear(j->journal, 0));
	free(out);
	free(in);
	backend_close(bs);
}

static void whole_record_left_by_a_crash_is_replayed_at_open(void **state)
{
	struct jfix *j = *state;
	backend_close(open_file(j, true));
	uint32_t len = 64 * 1024;
	uint8_t *data = runner_buf(len, 99);
	write_record(j->journal, 5, 1 << 20, data, len, false);
	struct backend *bs = open_file(j, true);
	uint8_t *in = runner_buf(len, 0);
	assert_int_equal(runner_one(&j->f->runner, bs, BACKEND_READ, 1 << 20, in, len, false), 0);
	assert_memory_equal(in, data, len);
	assert_true(slot_header_is_clear(j->journal, 5));
	free(data);
	free(in);
	backend_close(bs);
}

/* The in-place step fails (the store's descriptor made read-only for it):
 * the whole record stays for the next open, so until then the store takes
 * no write, atomic or not, that its replay would overwrite. */
static void failed_in_place_write_stops_writes_until_the_replay(void **state)
{
	struct jfix *j = *state;
	struct backend *bs = open_file(j, true);
	int data_fd = backend_fd(bs)->fd;
	int saved = dup(data_fd), ro = open(j->f->path, O_RDONLY);
	assert_true(saved >= 0 && ro >= 0);
	assert_true(dup2(ro, data_fd) >= 0);
	uint32_t len = 64 * 1024;
	uint8_t *data = runner_buf(len, 42), *other = runner_buf(len, 43), *in = runner_buf(len, 0);
	assert_int_not_equal(atomic_write(&j->f->runner, bs, 2 << 20, data, len), 0);
	assert_true(dup2(saved, data_fd) >= 0);
	/* the duplicates would keep the file's lock past the store's close */
	close(saved);
	close(ro);
	assert_int_equal(runner_one(&j->f->runner, bs, BACKEND_WRITE, 2 << 20, other, len, false), -EIO);
	assert_int_equal(runner_discard(&j->f->runner, bs, 2 << 20, len), -EIO);
	assert_int_equal(atomic_write(&j->f->runner, bs, 8 << 20, other, len), -EIO);
	backend_close(bs);
	bs = open_file(j, true);
	assert_int_equal(runner_one(&j->f->runner, bs, BACKEND_READ, 2 << 20, in, len, false), 0);
	assert_memory_equal(in, data, len);
	assert_int_equal(runner_one(&j->f->runner, bs, BACKEND_WRITE, 2 << 20, other, len, false), 0);
	free(data);
	free(other);
	free(in);
	backend_close(bs);
}

static void torn_record_is_not_replayed(void **state)
{
	struct jfix *j = *state;
	backend_close(open_file(j, true));
	uint32_t len = 64 * 1024;
	uint8_t *data = runner_buf(len, 99);
	write_record(j->journal, 0, 1 << 20, data, len, true);
	struct backend *bs = open_file(j, true);
	uint8_t *in = runner_buf(len, 1);
	uint8_t *zeros = calloc(1, len);
	assert_int_equal(runner_one(&j->f->runner, bs, BACKEND_READ, 1 << 20, in, len, false), 0);
	assert_memory_equal(in, zeros, len);
	assert_true(slot_header_is_clear(j->journal, 0));
	free(data);
	free(in);
	free(zeros);
	backend_close(bs);
}

static void record_past_the_end_of_the_store_is_not_replayed(void **state)
{
	struct jfix *j = *state;
	backend_close(open_file(j, true));
	uint8_t data[4096];
	memset(data, 0xAB, sizeof(data));
	write_record(j->journal, 1, 16 << 20, data, sizeof(data), false);
	struct backend *bs = open_file(j, true);
	assert_int_equal(bs->size, 16 << 20);
	backend_close(bs);
}

static void journal_of_another_store_is_refused(void **state)
{
	struct jfix *j = *state;
	struct backend *bs = open_file(j, true);
	char other[PATH_MAX];
	snprintf(other, sizeof(other), "%s/other.img", j->f->dir);
	struct backend_config cfg = runner_cfg("file", other, 1 << 20, 512);
	size_t i;
	assert_non_null(backend_type_key(cfg.type, "atomic_journal", &i));
	cfg.values[i] = (struct backend_value){ .given = true, .str = j->journal };
	struct backend *second;
	assert_int_equal(backend_open(&cfg, &second), -EBUSY);
	assert_int_equal(access(other, F_OK), -1);
	backend_close(bs);
}

static void atomic_write_without_a_journal_is_refused(void **state)
{
	struct jfix *j = *state;
	struct backend *bs = open_file(j, false);
	assert_int_equal(bs->atomic_max, 0);
	uint8_t *buf = runner_buf(4096, 1);
	assert_int_equal(atomic_write(&j->f->runner, bs, 0, buf, 4096), -EOPNOTSUPP);
	free(buf);
	backend_close(bs);
}

static void atomic_write_larger_than_a_slot_is_refused(void **state)
{
	struct jfix *j = *state;
	struct backend *bs = open_file(j, true);
	uint8_t *buf = runner_buf(SLOT_DATA + 4096, 1);
	assert_int_equal(atomic_write(&j->f->runner, bs, 0, buf, SLOT_DATA + 4096), -EINVAL);
	free(buf);
	backend_close(bs);
}

/* Eight slots: a ninth write in flight at once gets BUSY, the others land. */
static void ninth_concurrent_atomic_write_is_busy(void **state)
{
	struct jfix *j = *state;
	struct backend *bs = open_file(j, true);
	struct runner_io rios[9];
	uint8_t *bufs[9];
	for (unsigned i = 0; i < 9; i++) {
		bufs[i] = runner_buf(4096, (int)i);
		runner_prep(&j->f->runner, &rios[i], BACKEND_WRITE, i * 4096, bufs[i], 4096, false);
		rios[i].io.atomic = true;
	}
	runner_run(&j->f->runner, bs, rios, 9);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(rios[i].err, 0);
	assert_int_equal(rios[8].err, -EBUSY);
	for (unsigned i = 0; i < 9; i++)
		free(bufs[i]);
	backend_close(bs);
}

static void memory_store_writes_atomically(void **state)
{
	struct jfix *j = *state;
	struct backend_config cfg = runner_cfg("memory", NULL, 16 << 20, 4096);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_true(bs->atomic_max >= (8u << 20));
	uint8_t *out = runner_buf(8192, 3);
	uint8_t *in = runner_buf(8192, 0);
	assert_int_equal(atomic_write(&j->f->runner, bs, 4096, out, 8192), 0);
	assert_int_equal(runner_one(&j->f->runner, bs, BACKEND_READ, 4096, in, 8192, false), 0);
	assert_memory_equal(in, out, 8192);
	free(out);
	free(in);
	backend_close(bs);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(atomic_write_lands_and_leaves_no_record),
		T(whole_record_left_by_a_crash_is_replayed_at_open),
		T(failed_in_place_write_stops_writes_until_the_replay),
		T(torn_record_is_not_replayed),
		T(record_past_the_end_of_the_store_is_not_replayed),
		T(journal_of_another_store_is_refused),
		T(atomic_write_without_a_journal_is_refused),
		T(atomic_write_larger_than_a_slot_is_refused),
		T(ninth_concurrent_atomic_write_is_busy),
		T(memory_store_writes_atomically),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
