/* The file store's zero_copy: reads lent from its page cache (fd_lend.c). */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "backend/store.h"
#include "file_fixture.h"

static int fixture_setup(void **state)
{
	return file_fixture_setup(state, "lunar-fd-lend-test");
}

static struct backend *open_file(struct file_fixture *f, uint64_t size)
{
	struct backend_config cfg = runner_cfg("file", f->path, size, 512);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	return bs;
}

/* Writes len bytes of pattern seed at offset through the store. */
static void *write_pattern(struct file_fixture *f, struct backend *bs, uint64_t offset, uint32_t len, int seed)
{
	void *out = runner_buf(len, seed);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, offset, out, len, false), 0);
	return out;
}

static void fits_inside_the_mapping_only(void **state)
{
	uint64_t mapped = 1 << 20;
	assert_true(backend_fd_lend_fits(mapped, 0, 65536));
	assert_true(backend_fd_lend_fits(mapped, mapped - 65536, 65536));
	assert_false(backend_fd_lend_fits(mapped, mapped - 65536, 65536 + 512));
	assert_false(backend_fd_lend_fits(mapped, mapped, 65536));
	assert_false(backend_fd_lend_fits(mapped, mapped + 4096, 65536));
	assert_false(backend_fd_lend_fits(mapped, UINT64_MAX - 4096, 65536));
	assert_false(backend_fd_lend_fits(0, 0, 65536));
}

static void fits_from_the_threshold_up(void **state)
{
	uint64_t mapped = 1 << 20;
	assert_true(backend_fd_lend_fits(mapped, 0, BACKEND_FD_LEND_MIN));
	assert_false(backend_fd_lend_fits(mapped, 0, BACKEND_FD_LEND_MIN - 512));
	assert_false(backend_fd_lend_fits(mapped, 0, 0));
}

/* mincore sets bit 0 of a page's byte when it is resident; the other
 * bits are reserved and say nothing. */
static void resident_only_when_every_page_is(void **state)
{
	unsigned char all[4] = { 1, 1, 1, 1 };
	unsigned char one_missing[4] = { 1, 1, 0, 1 };
	unsigned char other_bits[2] = { 1, 2 };
	assert_true(backend_fd_lend_all_resident(all, 4));
	assert_false(backend_fd_lend_all_resident(one_missing, 4));
	assert_true(backend_fd_lend_all_resident(one_missing, 2));
	assert_false(backend_fd_lend_all_resident(other_bits, 2));
	assert_true(backend_fd_lend_all_resident(all, 0));
}

/* What the store lends is its page cache: a later write shows in it. */
static void lent_bytes_are_the_page_cache(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_file(f, 1 << 20);
	uint32_t len = 128 * 1024;
	void *out = write_pattern(f, bs, 8192, len, 3);
	const void *at = backend_lend(bs, 8192, len);
	assert_non_null(at);
	assert_memory_equal(at, out, len);
	free(out);
	out = write_pattern(f, bs, 8192, len, 4);
	assert_memory_equal(at, out, len);
	free(out);
	backend_close(bs);
}

/* A page that is not in memory would be read by sendmsg on the loop's
 * thread, and a hole would be allocated (tmpfs): both are copied. */
static void a_hole_is_not_lent(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_file(f, 4 << 20);
	free(write_pattern(f, bs, 0, 65536, 1));
	assert_non_null(backend_lend(bs, 0, 65536));
	assert_null(backend_lend(bs, 2 << 20, 65536));
	assert_null(backend_lend(bs, 0, 65536 + 4096));
	backend_close(bs);
}

static void pages_dropped_from_the_cache_are_not_lent(void **state)
{
	struct file_fixture *f = *state;
	struct statfs sfs;
	assert_int_equal(statfs(f->dir, &sfs), 0);
	/* tmpfs and ramfs keep their pages: there is no cache to drop. */
	if (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC)
		skip();
	struct backend *bs = open_file(f, 1 << 20);
	uint32_t len = 256 * 1024;
	void *out = write_pattern(f, bs, 0, len, 2);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_FLUSH, 0, NULL, 0, false), 0);
	/* The whole file: a page cache of large folios drops none partly. */
	assert_int_equal(posix_fadvise(backend_fd(bs)->fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	assert_null(backend_lend(bs, 0, len));
	/* A copied read brings the pages back, and later reads are lent. */
	void *in = runner_buf(len, 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, 0, in, len, false), 0);
	const void *at = backend_lend(bs, 0, len);
	assert_non_null(at);
	assert_memory_equal(at, out, len);
	free(in);
	free(out);
	backend_close(bs);
}

/* The mapping is the size at open: a file grown while served is copied
 * past it, and lent as before below it. */
static void growth_past_the_mapping_is_copied(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_file(f, 1 << 20);
	int fd = open(f->path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 << 20), 0);
	close(fd);
	assert_int_equal(backend_refresh_size(bs), 2 << 20);
	free(write_pattern(f, bs, (1 << 20) - 65536, 2 * 65536, 5));
	assert_non_null(backend_lend(bs, (1 << 20) - 65536, 65536));
	assert_null(backend_lend(bs, 1 << 20, 65536));
	assert_null(backend_lend(bs, (1 << 20) - 65536, 2 * 65536));
	backend_close(bs);
}

static void zero_copy_false_lends_nothing(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = runner_cfg("file", f->path, 1 << 20, 512);
	assert_int_equal(backend_config_set_bool(&cfg, "zero_copy", false), 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	free(write_pattern(f, bs, 0, 65536, 6));
	assert_null(backend_lend(bs, 0, 65536));
	backend_close(bs);
}

static void direct_lends_nothing(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = runner_cfg("file", f->path, 1 << 20, 4096);
	assert_int_equal(backend_config_set_bool(&cfg, "direct", true), 0);
	struct backend *bs;
	if (backend_open(&cfg, &bs) < 0)
		skip(); /* a file system without O_DIRECT */
	free(write_pattern(f, bs, 0, 65536, 7));
	assert_null(backend_lend(bs, 0, 65536));
	backend_close(bs);
}

static void zero_copy_with_direct_is_refused(void **state)
{
	struct file_fixture *f = *state;
	struct backend_config cfg = runner_cfg("file", f->path, 1 << 20, 4096);
	assert_int_equal(backend_config_set_bool(&cfg, "direct", true), 0);
	assert_int_equal(backend_config_set_bool(&cfg, "zero_copy", true), 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -EINVAL);
	assert_int_equal(access(f->path, F_OK), -1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, file_fixture_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fits_inside_the_mapping_only),
		cmocka_unit_test(fits_from_the_threshold_up),
		cmocka_unit_test(resident_only_when_every_page_is),
		T(lent_bytes_are_the_page_cache),
		T(a_hole_is_not_lent),
		T(pages_dropped_from_the_cache_are_not_lent),
		T(growth_past_the_mapping_is_copied),
		T(zero_copy_false_lends_nothing),
		T(direct_lends_nothing),
		T(zero_copy_with_direct_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
