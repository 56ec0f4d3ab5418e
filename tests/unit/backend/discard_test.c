/* BACKEND_DISCARD on the stores that can deallocate: file (a hole) and
 * memory (pages dropped); afterwards the range reads as zeros. And
 * backend_lba_status, which tells mapped bytes from deallocated ones. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "file_fixture.h"

#define MIB (1u << 20)

static int fixture_setup(void **state)
{
	return file_fixture_setup(state, "lunar-discard-test");
}


static struct backend *open_store(struct file_fixture *f, const char *type, int thin)
{
	struct backend_config cfg = runner_cfg(type, strcmp(type, "file") ? NULL : f->path, 4 * MIB, 512);
	if (thin >= 0)
		assert_int_equal(backend_config_set_bool(&cfg, "thin", thin), 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	return bs;
}

static long long allocated_bytes(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (long long)st.st_blocks * 512;
}

/* Writes 1 MiB of data at 1 MiB, discards the middle 512 KiB and checks
 * what reads back: zeros there, the data around it. */
static void discard_reads_back_zeros(struct io_runner *r, struct backend *bs)
{
	char *data = runner_buf(MIB, 3);
	char *in = runner_buf(MIB, 0);
	assert_int_equal(runner_one(r, bs, BACKEND_WRITE, MIB, data, MIB, false), 0);
	assert_int_equal(runner_discard(r, bs, MIB + 256 * 1024 + 512, 512 * 1024), 0);
	assert_int_equal(runner_one(r, bs, BACKEND_READ, MIB, in, MIB, false), 0);
	char *zeros = calloc(1, 512 * 1024);
	assert_memory_equal(in, data, 256 * 1024 + 512);
	assert_memory_equal(in + 256 * 1024 + 512, zeros, 512 * 1024);
	assert_memory_equal(in + 768 * 1024 + 512, data + 768 * 1024 + 512, 256 * 1024 - 512);
	free(zeros);
	free(data);
	free(in);
}

static void file_is_thin_by_default(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_store(f, "file", -1);
	assert_true(bs->thin);
	backend_close(bs);
}

static void file_discard_reads_back_zeros(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_store(f, "file", -1);
	discard_reads_back_zeros(&f->runner, bs);
	backend_close(bs);
}

static void file_discard_frees_the_space(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_store(f, "file", -1);
	char *data = runner_buf(2 * MIB, 1);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, 0, data, 2 * MIB, true), 0);
	long long before = allocated_bytes(f->path);
	assert_int_equal(runner_discard(&f->runner, bs, 0, 2 * MIB), 0);
	assert_true(allocated_bytes(f->path) <= before - (long long)MIB);
	free(data);
	backend_close(bs);
}

static void discard_on_a_store_not_thin_fails_with_eopnotsupp(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_store(f, "file", 0);
	assert_false(bs->thin);
	assert_int_equal(runner_discard(&f->runner, bs, 0, 4096), -EOPNOTSUPP);
	backend_close(bs);
}

static void discard_past_the_end_fails_with_einval(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_store(f, "memory", -1);
	assert_int_equal(runner_discard(&f->runner, bs, 4 * MIB - 512, 1024), -EINVAL);
	assert_int_equal(runner_discard(&f->runner, bs, 0, 0), -EINVAL);
	backend_close(bs);
}

static void discard_on_a_readonly_store_fails_with_erofs(void **state)
{
	struct file_fixture *f = *state;
	backend_close(open_store(f, "file", -1));
	struct backend_config cfg = runner_cfg("file", f->path, 0, 512);
	cfg.readonly = true;
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(runner_discard(&f->runner, bs, 0, 4096), -EROFS);
	backend_close(bs);
}

static void memory_discard_reads_back_zeros(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_store(f, "memory", -1);
	assert_true(bs->thin);
	discard_reads_back_zeros(&f->runner, bs);
	backend_close(bs);
}

static void memory_discard_inside_one_page_zeroes_only_its_blocks(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_store(f, "memory", -1);
	char *data = runner_buf(4096, 9);
	char *in = runner_buf(4096, 0);
	char zeros[512] = { 0 };
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, 8192, data, 4096, false), 0);
	assert_int_equal(runner_discard(&f->runner, bs, 8192 + 1024, 512), 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, 8192, in, 4096, false), 0);
	assert_memory_equal(in, data, 1024);
	assert_memory_equal(in + 1024, zeros, 512);
	assert_memory_equal(in + 1536, data + 1536, 4096 - 1536);
	free(data);
	free(in);
	backend_close(bs);
}

static void fresh_file_is_deallocated_to_the_end(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_store(f, "file", -1);
	assert_lba_status(bs, 0, false, 4 * MIB);
	backend_close(bs);
}

static void written_range_is_mapped_between_holes(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_store(f, "file", -1);
	char *data = runner_buf(64 * 1024, 2);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, MIB, data, 64 * 1024, true), 0);
	assert_lba_status(bs, 0, false, MIB);
	assert_lba_status(bs, MIB + 512, true, 64 * 1024 - 512);
	assert_lba_status(bs, MIB + 64 * 1024, false, 3 * MIB - 64 * 1024);
	free(data);
	backend_close(bs);
}

static void discarded_range_is_deallocated(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_store(f, "file", -1);
	char *data = runner_buf(MIB, 4);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, 0, data, MIB, true), 0);
	assert_int_equal(runner_discard(&f->runner, bs, 64 * 1024, 64 * 1024), 0);
	assert_lba_status(bs, 0, true, 64 * 1024);
	assert_lba_status(bs, 64 * 1024, false, 64 * 1024);
	free(data);
	backend_close(bs);
}

/* Memory keeps a map of written pages (memory_test.c has the rest). */
static void fresh_memory_is_deallocated(void **state)
{
	struct file_fixture *f = *state;
	struct backend *bs = open_store(f, "memory", -1);
	assert_lba_status(bs, 512, false, 4 * MIB - 512);
	bool mapped;
	uint64_t extent;
	assert_int_equal(backend_lba_status(bs, 4 * MIB, &mapped, &extent), -EINVAL);
	backend_close(bs);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, file_fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(file_is_thin_by_default),
		T(file_discard_reads_back_zeros),
		T(file_discard_frees_the_space),
		T(discard_on_a_store_not_thin_fails_with_eopnotsupp),
		T(discard_past_the_end_fails_with_einval),
		T(discard_on_a_readonly_store_fails_with_erofs),
		T(memory_discard_reads_back_zeros),
		T(memory_discard_inside_one_page_zeroes_only_its_blocks),
		T(fresh_file_is_deallocated_to_the_end),
		T(written_range_is_mapped_between_holes),
		T(discarded_range_is_deallocated),
		T(fresh_memory_is_deallocated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
