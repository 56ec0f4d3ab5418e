/* Needs root to attach a loop device; every test skips without one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "io_runner.h"

struct fixture {
	char image[64];
	char dev[64];
	struct io_runner runner;
};

static int attach(struct fixture *f, unsigned sector_size)
{
	strcpy(f->image, "/tmp/lunar-blockdev-XXXXXX");
	int fd = mkstemp(f->image);
	if (fd < 0 || ftruncate(fd, 8 << 20) < 0)
		return -1;
	close(fd);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "losetup -f --show --sector-size %u %s 2>/dev/null", sector_size, f->image);
	FILE *p = geteuid() == 0 ? popen(cmd, "r") : NULL;
	if (!p || !fgets(f->dev, sizeof(f->dev), p))
		f->dev[0] = 0;
	if (p)
		pclose(p);
	f->dev[strcspn(f->dev, "\n")] = 0;
	return 0;
}

static int setup_with(void **state, unsigned sector_size)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (attach(f, sector_size) < 0 || loop_init(&f->runner.loop, 32) < 0)
		return -1;
	*state = f;
	return 0;
}

static int setup_512(void **state)
{
	return setup_with(state, 512);
}

static int setup_4096(void **state)
{
	return setup_with(state, 4096);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->dev[0]) {
		char cmd[96];
		snprintf(cmd, sizeof(cmd), "losetup -d %s", f->dev);
		if (system(cmd) != 0)
			fprintf(stderr, "could not detach %s\n", f->dev);
	}
	unlink(f->image);
	loop_fini(&f->runner.loop);
	free(f);
	return 0;
}

static struct fixture *need_device(void **state)
{
	struct fixture *f = *state;
	if (!f->dev[0])
		skip();
	return f;
}

static void size_and_block_size_come_from_the_device(void **state)
{
	struct fixture *f = need_device(state);
	struct backend_config cfg = runner_cfg("blockdev", f->dev, 0, 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(bs->size, 8 << 20);
	assert_int_equal(bs->block_size, 4096);
	backend_close(bs);
}

static void block_size_below_the_sector_size_is_rejected(void **state)
{
	struct fixture *f = need_device(state);
	struct backend_config cfg = runner_cfg("blockdev", f->dev, 0, 512);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -EINVAL);
}

static void block_size_multiple_of_the_sector_size_is_accepted(void **state)
{
	struct fixture *f = need_device(state);
	struct backend_config cfg = runner_cfg("blockdev", f->dev, 0, 4096);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(bs->block_size, 4096);
	backend_close(bs);
}

static void second_open_is_busy(void **state)
{
	struct fixture *f = need_device(state);
	struct backend_config cfg = runner_cfg("blockdev", f->dev, 0, 0);
	struct backend *first, *second;
	assert_int_equal(backend_open(&cfg, &first), 0);
	assert_int_equal(backend_open(&cfg, &second), -EBUSY);
	backend_close(first);
}

static void direct_write_then_read_returns_the_data(void **state)
{
	struct fixture *f = need_device(state);
	struct backend_config cfg = runner_cfg("blockdev", f->dev, 0, 0);
	assert_int_equal(backend_config_set_bool(&cfg, "direct", true), 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	void *out = runner_buf(65536, 11);
	void *in = runner_buf(65536, 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_WRITE, 1 << 20, out, 65536, true), 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_FLUSH, 0, NULL, 0, false), 0);
	assert_int_equal(runner_one(&f->runner, bs, BACKEND_READ, 1 << 20, in, 65536, false), 0);
	assert_memory_equal(in, out, 65536);
	assert_false(f->runner.done_inside_submit);
	free(out);
	free(in);
	backend_close(bs);
}

/* The device grows under lunar (truncate the image, losetup -c): the next
 * refresh reports the new size, rounded to whole blocks. */
static void refresh_sees_a_grown_device(void **state)
{
	struct fixture *f = need_device(state);
	struct backend_config cfg = runner_cfg("blockdev", f->dev, 0, 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(backend_refresh_size(bs), 8 << 20);

	assert_int_equal(truncate(f->image, (12 << 20) + 100), 0);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "losetup -c %s", f->dev);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(backend_refresh_size(bs), 12 << 20);
	assert_int_equal(bs->size, 12 << 20);
	backend_close(bs);
}

/* A device that shrank is never reported smaller: blocks an initiator
 * was told about stay addressable (and fail with an I/O error). */
static void refresh_never_shrinks(void **state)
{
	struct fixture *f = need_device(state);
	struct backend_config cfg = runner_cfg("blockdev", f->dev, 0, 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	assert_int_equal(truncate(f->image, 4 << 20), 0);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "losetup -c %s", f->dev);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(backend_refresh_size(bs), 8 << 20);
	backend_close(bs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(size_and_block_size_come_from_the_device, setup_4096, teardown),
		cmocka_unit_test_setup_teardown(block_size_below_the_sector_size_is_rejected, setup_4096, teardown),
		cmocka_unit_test_setup_teardown(block_size_multiple_of_the_sector_size_is_accepted, setup_512, teardown),
		cmocka_unit_test_setup_teardown(second_open_is_busy, setup_512, teardown),
		cmocka_unit_test_setup_teardown(direct_write_then_read_returns_the_data, setup_512, teardown),
		cmocka_unit_test_setup_teardown(refresh_sees_a_grown_device, setup_512, teardown),
		cmocka_unit_test_setup_teardown(refresh_never_shrinks, setup_512, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
