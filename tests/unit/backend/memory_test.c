#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "io_runner.h"

static int runner_setup(void **state)
{
	struct io_runner *r = calloc(1, sizeof(*r));
	if (loop_init(&r->loop, 64) < 0)
		return -1;
	*state = r;
	return 0;
}

static int runner_teardown(void **state)
{
	struct io_runner *r = *state;
	assert_false(r->done_inside_submit);
	loop_fini(&r->loop);
	free(r);
	return 0;
}

static struct backend *open_memory(uint64_t size, uint32_t block_size)
{
	struct backend_config cfg = runner_cfg("memory", NULL, size, block_size);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	return bs;
}

/* What the store lends is its own memory: a later write shows in it. */
static void lent_memory_is_the_store_s_own(void **state)
{
	struct io_runner *r = *state;
	struct backend *bs = open_memory(1 << 20, 512);
	const uint8_t *at = backend_lend(bs, 8192, 4096);
	assert_non_null(at);
	void *out = runner_buf(4096, 7);
	assert_int_equal(runner_one(r, bs, BACKEND_WRITE, 8192, out, 4096, false), 0);
	assert_memory_equal(at, out, 4096);
	free(out);
	backend_close(bs);
}

static void lend_past_the_end_is_refused(void **state)
{
	struct backend *bs = open_memory(1 << 20, 512);
	assert_null(backend_lend(bs, (1 << 20) - 4096, 8192));
	assert_null(backend_lend(bs, 2 << 20, 512));
	assert_non_null(backend_lend(bs, (1 << 20) - 4096, 4096));
	backend_close(bs);
}

static void zero_copy_false_lends_nothing(void **state)
{
	struct backend_config cfg = runner_cfg("memory", NULL, 1 << 20, 512);
	assert_int_equal(backend_config_set_bool(&cfg, "zero_copy", false), 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_null(backend_lend(bs, 0, 4096));
	backend_close(bs);
}

static void write_then_read_returns_the_data(void **state)
{
	struct io_runner *r = *state;
	struct backend *bs = open_memory(1 << 20, 512);
	void *out = runner_buf(65536, 5);
	void *in = runner_buf(65536, 0);
	assert_int_equal(runner_one(r, bs, BACKEND_WRITE, 4096, out, 65536, false), 0);
	assert_int_equal(runner_one(r, bs, BACKEND_READ, 4096, in, 65536, false), 0);
	assert_memory_equal(in, out, 65536);
	free(out);
	free(in);
	backend_close(bs);
}

static void scattered_write_then_read_returns_the_data(void **state)
{
	struct io_runner *r = *state;
	struct backend *bs = open_memory(1 << 20, 512);
	char *out = runner_buf(16384, 5);
	char *in = runner_buf(16384, 0);
	const struct iovec wv[3] = { { out, 512 }, { out + 512, 0 }, { out + 512, 15872 } };
	const struct iovec rv[2] = { { in, 8192 }, { in + 8192, 8192 } };
	struct runner_io rio;
	runner_prep(r, &rio, BACKEND_WRITE, 4096, NULL, 0, false);
	rio.io.iov = wv;
	rio.io.iovcnt = 3;
	runner_run(r, bs, &rio, 1);
	assert_int_equal(rio.err, 0);
	runner_prep(r, &rio, BACKEND_READ, 4096, NULL, 0, false);
	rio.io.iov = rv;
	rio.io.iovcnt = 2;
	runner_run(r, bs, &rio, 1);
	assert_int_equal(rio.err, 0);
	assert_memory_equal(in, out, 16384);
	free(out);
	free(in);
	backend_close(bs);
}

static void fresh_store_reads_zeroes(void **state)
{
	struct io_runner *r = *state;
	struct backend *bs = open_memory(1 << 20, 512);
	unsigned char *in = runner_buf(4096, 1);
	assert_int_equal(runner_one(r, bs, BACKEND_READ, 0, in, 4096, false), 0);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(in[i], 0);
	free(in);
	backend_close(bs);
}

static void flush_completes_from_the_loop(void **state)
{
	struct io_runner *r = *state;
	struct backend *bs = open_memory(1 << 20, 512);
	assert_int_equal(runner_one(r, bs, BACKEND_FLUSH, 0, NULL, 0, false), 0);
	backend_close(bs);
}

static void size_is_rounded_down_to_block_size(void **state)
{
	struct backend *bs = open_memory(3 * 4096 + 100, 4096);
	assert_int_equal(bs->size, 3 * 4096);
	assert_int_equal(bs->block_size, 4096);
	backend_close(bs);
}

static void size_below_one_block_is_rejected(void **state)
{
	struct backend_config cfg = runner_cfg("memory", NULL, 100, 512);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -EINVAL);
}

static void fresh_store_is_deallocated_throughout(void **state)
{
	struct backend *bs = open_memory(1 << 20, 512);
	assert_lba_status(bs, 512, false, (1 << 20) - 512);
	backend_close(bs);
}

/* Written pages are mapped; DISCARD of whole pages gives them back, a
 * partial page stays mapped (zeroed). */
static void written_pages_are_mapped_until_discarded(void **state)
{
	struct io_runner *r = *state;
	struct backend *bs = open_memory(1 << 20, 512);
	void *buf = runner_buf(3 * 4096, 5);
	assert_int_equal(runner_one(r, bs, BACKEND_WRITE, 4096, buf, 3 * 4096, false), 0);
	assert_lba_status(bs, 0, false, 4096);
	assert_lba_status(bs, 4096 + 512, true, 3 * 4096 - 512);
	assert_int_equal(runner_discard(r, bs, 4096, 4096 + 512), 0);
	assert_lba_status(bs, 0, false, 2 * 4096);
	assert_lba_status(bs, 2 * 4096, true, 2 * 4096);
	free(buf);
	backend_close(bs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lent_memory_is_the_store_s_own, runner_setup, runner_teardown),
		cmocka_unit_test(lend_past_the_end_is_refused),
		cmocka_unit_test(zero_copy_false_lends_nothing),
		cmocka_unit_test_setup_teardown(write_then_read_returns_the_data, runner_setup, runner_teardown),
		cmocka_unit_test_setup_teardown(scattered_write_then_read_returns_the_data, runner_setup, runner_teardown),
		cmocka_unit_test_setup_teardown(fresh_store_reads_zeroes, runner_setup, runner_teardown),
		cmocka_unit_test_setup_teardown(flush_completes_from_the_loop, runner_setup, runner_teardown),
		cmocka_unit_test(fresh_store_is_deallocated_throughout),
		cmocka_unit_test_setup_teardown(written_pages_are_mapped_until_discarded, runner_setup, runner_teardown),
		cmocka_unit_test(size_is_rounded_down_to_block_size),
		cmocka_unit_test(size_below_one_block_is_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
