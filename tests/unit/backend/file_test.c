#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "backend/store.h"
#include "file_fixture.h"

static int fixture_setup(void **state)
{
	return file_fixture_setup(state, "lunar-file-test");
}


static void make_file(const char *path, off_t size)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static struct backend_config file_cfg(const struct file_fixture *f, uint64_t size)
{
	return runner_cfg("file", (char *)f->path, size, 512);
}

static void missing_file_is_created_sparse_at_size(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1ull << 30);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(bs->size, 1ull << 30);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 1ll << 30);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(st.st_blocks < 64);
	backend_close(bs);
}

static void existing_file_size_is_used_when_size_is_zero(void **state)
{
	struct file_fixture *f = *state;
	make_file(f->path, 3 << 20);
	struct backend_config cfg = file_cfg(f, 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(bs->size, 3u << 20);
	backend_close(bs);
}

static void smaller_existing_file_is_grown(void **state)
{
	struct file_fixture *f = *state;
	make_file(f->path, 4096);
	struct backend_config cfg = file_cfg(f, 8 << 20);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(bs->size, 8u << 20);
	assert_int_equal(file_size(f->path), 8 << 20);
	backend_close(bs);
}

static void larger_existing_file_is_not_shrunk(void **state)
{
	struct file_fixture *f = *state;
	make_file(f->path, 8 << 20);
	struct backend_config cfg = file_cfg(f, 1 << 20);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(bs->size, 1u << 20);
	assert_int_equal(file_size(f->path), 8 << 20);
	backend_close(bs);
}

static void size_is_rounded_down_to_block_size(void **state)
{
	struct file_fixture *f = *state;
	make_file(f->path, 3 * 4096 + 1000);
	struct backend_config cfg = file_cfg(f, 0);
	cfg.block_size = 4096;
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(bs->size, 3 * 4096);
	assert_int_equal(bs->block_size, 4096);
	backend_close(bs);
}

static void file_smaller_than_one_block_is_rejected(void **state)
{
	struct file_fixture *f = *state;
	make_file(f->path, 511);
	struct backend_config cfg = file_cfg(f, 0);
	struct backend *bs = NULL;
	assert_int_equal(backend_open(&cfg, &bs), -EINVAL);
	assert_null(bs);
}

static void failed_create_leaves_no_file(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 100);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -EINVAL);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void missing_file_without_size_is_rejected(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -ENOENT);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void missing_directory_is_rejected(void **state)
{
	struct file_fixture *f = *state;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/no/such/dir/lun.img", f->dir);
	struct backend_config cfg = runner_cfg("file", path, 1 << 20, 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -ENOENT);
}

static void block_size_other_than_512_or_4096_is_rejected(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	cfg.block_size = 1024;
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -EINVAL);
}

static void file_locked_by_another_open_is_rejected(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	struct backend *first, *second;
	assert_int_equal(backend_open(&cfg, &first), 0);
	assert_int_equal(backend_open(&cfg, &second), -EBUSY);
	backend_close(first);
	assert_int_equal(backend_open(&cfg, &second), 0);
	backend_close(second);
}

static void readonly_opens_share_the_file(void **state)
{
	struct file_fixture *f = *state;
	make_file(f->path, 1 << 20);
	struct backend_config cfg = file_cfg(f, 0);
	cfg.readonly = true;
	struct backend *a, *b;
	assert_int_equal(backend_open(&cfg, &a), 0);
	assert_int_equal(backend_open(&cfg, &b), 0);
	assert_true(a->readonly);
	backend_close(a);
	backend_close(b);
}

static void readonly_missing_file_is_not_created(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	cfg.readonly = true;
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -ENOENT);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void write_to_readonly_file_fails_with_erofs(void **state)
{
	struct file_fixture *f = *state;
	make_file(f->path, 1 << 20);
	struct backend_config cfg = file_cfg(f, 0);
	cfg.readonly = true;
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	void *buf = runner_buf(4096, 1);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, 0, buf, 4096, false), -EROFS);
	free(buf);
	backend_close(bs);
}

static void fifo_is_not_a_regular_file(void **state)
{
	struct file_fixture *f = *state;
	assert_int_equal(mkfifo(f->path, 0600), 0);
	struct backend_config cfg = file_cfg(f, 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -EINVAL);
}

static void round_trip(struct file_fixture *f, bool direct, uint32_t block_size)
{
	struct backend_config cfg = file_cfg(f, 16 << 20);
	assert_int_equal(backend_config_set_bool(&cfg, "direct", direct), 0);
	cfg.block_size = block_size;
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	uint32_t len = 256 * 1024;
	void *out = runner_buf(len, 42);
	void *in = runner_buf(len, 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, 1 << 20, out, len, false), 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, 1 << 20, in, len, false), 0);
	assert_memory_equal(in, out, len);
	free(out);
	free(in);
	backend_close(bs);
}

static void write_then_read_returns_the_data(void **state)
{
	round_trip(*state, false, 512);
}

static void direct_write_then_read_returns_the_data(void **state)
{
	round_trip(*state, true, 4096);
}

/* Written from three iovecs, read back into two split elsewhere. */
static void scattered_round_trip(struct file_fixture *f, bool direct)
{
	struct backend_config cfg = file_cfg(f, 16 << 20);
	assert_int_equal(backend_config_set_bool(&cfg, "direct", direct), 0);
	cfg.block_size = 4096;
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	uint32_t len = 64 * 1024;
	char *out = runner_buf(len, 7);
	char *in = runner_buf(len, 0);
	const struct iovec wv[3] = { { out, 4096 }, { out + 4096, 45056 }, { out + 49152, 16384 } };
	const struct iovec rv[2] = { { in, 32768 }, { in + 32768, 32768 } };
	struct runner_io rio;
	runner_prep(&f->runner, &rio, BACKEND_WRITE, 1 << 20, NULL, 0, false);
	rio.io.iov = wv;
	rio.io.iovcnt = 3;
	runner_run(&f->runner, bs, &rio, 1);
	assert_int_equal(rio.err, 0);
	assert_int_equal(rio.io.len, len);
	runner_prep(&f->runner, &rio, BACKEND_READ, 1 << 20, NULL, 0, false);
	rio.io.iov = rv;
	rio.io.iovcnt = 2;
	runner_run(&f->runner, bs, &rio, 1);
	assert_int_equal(rio.err, 0);
	assert_memory_equal(in, out, len);
	free(out);
	free(in);
	backend_close(bs);
}

static void scattered_write_then_read_returns_the_data(void **state)
{
	scattered_round_trip(*state, false);
}

static void scattered_direct_write_then_read_returns_the_data(void **state)
{
	scattered_round_trip(*state, true);
}

static void concurrent_writes_land_at_their_offsets(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	enum { N = 16, LEN = 8192 };
	struct runner_io rios[N];
	void *bufs[N];
	for (int i = 0; i < N; i++) {
		bufs[i] = runner_buf(LEN, i);
		runner_prep(&f->runner, &rios[i], BACKEND_WRITE, (uint64_t)i * LEN, bufs[i], LEN, i % 2);
	}
	runner_run(&f->runner, bs, rios, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(rios[i].err, 0);
	void *in = runner_buf(N * LEN, 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, 0, in, N * LEN, false), 0);
	for (int i = 0; i < N; i++) {
		assert_memory_equal((char *)in + i * LEN, bufs[i], LEN);
		free(bufs[i]);
	}
	free(in);
	backend_close(bs);
}

static void fua_write_succeeds_and_is_readable(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	void *out = runner_buf(4096, 9);
	void *in = runner_buf(4096, 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, 8192, out, 4096, true), 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, 8192, in, 4096, false), 0);
	assert_memory_equal(in, out, 4096);
	free(out);
	free(in);
	backend_close(bs);
}

static void flush_succeeds(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	void *out = runner_buf(4096, 3);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, 0, out, 4096, false), 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_FLUSH, 0, NULL, 0, false), 0);
	free(out);
	backend_close(bs);
}

static void read_past_the_end_fails_with_einval(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	void *in = runner_buf(8192, 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, (1 << 20) - 4096, in, 8192, false), -EINVAL);
	free(in);
	backend_close(bs);
}

static void read_of_a_shrunk_file_fails_with_eio(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(truncate(f->path, 4096), 0);
	void *in = runner_buf(8192, 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, 8192, in, 8192, false), -EIO);
	free(in);
	backend_close(bs);
}

static void grown_file_grows_the_store_in_whole_blocks(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(truncate(f->path, (2 << 20) + 100), 0);
	assert_int_equal(backend_refresh_size(bs), 2 << 20);
	assert_int_equal(bs->size, 2u << 20);
	void *in = runner_buf(4096, 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, (2 << 20) - 4096, in, 4096, false), 0);
	free(in);
	backend_close(bs);
}

static void shrunk_file_keeps_the_store_size(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(truncate(f->path, 4096), 0);
	assert_int_equal(backend_refresh_size(bs), 1 << 20);
	backend_close(bs);
}

static void physical_block_size_defaults_to_block_size(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(bs->physical_block_size, 512);
	backend_close(bs);
	cfg.physical_block_size = 4096;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(bs->block_size, 512);
	assert_int_equal(bs->physical_block_size, 4096);
	backend_close(bs);
}

static void physical_block_size_below_block_size_is_rejected(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	cfg.block_size = 4096;
	cfg.physical_block_size = 512;
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -EINVAL);
}

static void direct_reads_go_through_the_ring(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	assert_int_equal(backend_config_set_bool(&cfg, "direct", true), 0);
	assert_int_equal(backend_config_set_bool(&cfg, "inline_reads", true), 0);
	cfg.block_size = 4096;
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(backend_fd(bs)->read_inline, BACKEND_FD_INLINE_NONE);
	backend_close(bs);
}

/* Unless the file is in memory (TMPDIR on tmpfs), where it is copied. */
static void reads_go_through_the_ring_by_default(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 1 << 20);
	struct statfs sfs;
	assert_int_equal(statfs(f->dir, &sfs), 0);
	bool in_memory = sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC;
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(backend_fd(bs)->read_inline,
			 in_memory ? BACKEND_FD_INLINE_MEMORY : BACKEND_FD_INLINE_NONE);
	uint32_t len = 64 * 1024;
	void *out = runner_buf(len, 3);
	void *in = runner_buf(len, 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, 4096, out, len, false), 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, 4096, in, len, false), 0);
	assert_memory_equal(in, out, len);
	free(out);
	free(in);
	backend_close(bs);
}

/* With RWF_NOWAIT only the cached first half is copied inline; the ring
 * reads the half the page cache dropped, from where the copy stopped. */
static void read_half_cached_is_finished_by_the_ring(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = file_cfg(f, 16 << 20);
	assert_int_equal(backend_config_set_bool(&cfg, "inline_reads", true), 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	if (backend_fd(bs)->read_inline != BACKEND_FD_INLINE_NOWAIT) {
		backend_close(bs);
		skip();
	}
	uint32_t len = 512 * 1024;
	void *out = runner_buf(len, 9);
	void *in = runner_buf(len, 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, 1 << 20, out, len, false), 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_FLUSH, 0, NULL, 0, false), 0);
	int fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(posix_fadvise(fd, (1 << 20) + len / 2, len / 2, POSIX_FADV_DONTNEED), 0);
	close(fd);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, 1 << 20, in, len, false), 0);
	assert_memory_equal(in, out, len);
	free(out);
	free(in);
	backend_close(bs);
}

/* tmpfs has no RWF_NOWAIT: its reads are plain copies on the loop, by
 * default, unless inline_reads = false. */
static void tmpfs_reads_are_memory_copies(void **state)
{
	struct file_fixture *f = *state;
	struct statfs sfs;
	char dir[] = "/dev/shm/lunar-file-test-XXXXXX";
	if (statfs("/dev/shm", &sfs) != 0 || sfs.f_type != TMPFS_MAGIC || !mkdtemp(dir))
		skip();
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/lun.img", dir);
	struct backend_config cfg = runner_cfg("file", path, 1 << 20, 512);
	assert_int_equal(backend_config_set_bool(&cfg, "inline_reads", false), 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(backend_fd(bs)->read_inline, BACKEND_FD_INLINE_NONE);
	backend_close(bs);
	cfg = runner_cfg("file", path, 1 << 20, 512);
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(backend_fd(bs)->read_inline, BACKEND_FD_INLINE_MEMORY);
	uint32_t len = 128 * 1024;
	void *out = runner_buf(len, 5);
	void *in = runner_buf(len, 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, 8192, out, len, false), 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, 8192, in, len, false), 0);
	assert_memory_equal(in, out, len);
	free(out);
	free(in);
	backend_close(bs);
	unlink(path);
	rmdir(dir);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, file_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(missing_file_is_created_sparse_at_size),
		T(existing_file_size_is_used_when_size_is_zero),
		T(smaller_existing_file_is_grown),
		T(larger_existing_file_is_not_shrunk),
		T(size_is_rounded_down_to_block_size),
		T(file_smaller_than_one_block_is_rejected),
		T(failed_create_leaves_no_file),
		T(missing_file_without_size_is_rejected),
		T(missing_directory_is_rejected),
		T(block_size_other_than_512_or_4096_is_rejected),
		T(file_locked_by_another_open_is_rejected),
		T(readonly_opens_share_the_file),
		T(readonly_missing_file_is_not_created),
		T(write_to_readonly_file_fails_with_erofs),
		T(fifo_is_not_a_regular_file),
		T(write_then_read_returns_the_data),
		T(direct_write_then_read_returns_the_data),
		T(scattered_write_then_read_returns_the_data),
		T(scattered_direct_write_then_read_returns_the_data),
		T(concurrent_writes_land_at_their_offsets),
		T(fua_write_succeeds_and_is_readable),
		T(flush_succeeds),
		T(read_past_the_end_fails_with_einval),
		T(read_of_a_shrunk_file_fails_with_eio),
		T(grown_file_grows_the_store_in_whole_blocks),
		T(shrunk_file_keeps_the_store_size),
		T(physical_block_size_defaults_to_block_size),
		T(physical_block_size_below_block_size_is_rejected),
		T(direct_reads_go_through_the_ring),
		T(reads_go_through_the_ring_by_default),
		T(read_half_cached_is_finished_by_the_ring),
		T(tmpfs_reads_are_memory_copies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
