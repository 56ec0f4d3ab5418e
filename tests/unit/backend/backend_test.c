#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "io_runner.h"

static void kind_names_round_trip(void **state)
{
	const enum backend_kind kinds[] = { BACKEND_FILE, BACKEND_BLOCKDEV, BACKEND_MEMORY };
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		enum backend_kind k = (enum backend_kind)-1;
		assert_int_equal(backend_kind_parse(backend_kind_name(kinds[i]), &k), 0);
		assert_int_equal(k, kinds[i]);
	}
	assert_string_equal(backend_kind_name(BACKEND_BLOCKDEV), "blockdev");
}

static void unknown_kind_name_is_rejected(void **state)
{
	enum backend_kind k;
	assert_int_equal(backend_kind_parse("File", &k), -1);
	assert_int_equal(backend_kind_parse("", &k), -1);
}

static void rejected_io(enum backend_op op, uint64_t offset, uint32_t len, bool readonly, int expect)
{
	struct io_runner r = { 0 };
	assert_int_equal(loop_init(&r.loop, 8), 0);
	struct backend_config cfg = { .kind = BACKEND_MEMORY, .size = 1 << 20, .readonly = readonly };
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	void *buf = runner_buf(8192, 0);
	assert_int_equal(runner_one(&r, bs, op, offset, buf, len, false), expect);
	assert_false(r.done_inside_submit);
	free(buf);
	backend_close(bs);
	loop_fini(&r.loop);
}

static void io_beyond_the_end_fails_with_einval(void **state)
{
	rejected_io(BACKEND_READ, (1 << 20) - 512, 1024, false, -EINVAL);
}

static void io_with_offset_past_the_end_fails_with_einval(void **state)
{
	rejected_io(BACKEND_WRITE, 1ull << 40, 512, false, -EINVAL);
}

static void zero_length_io_fails_with_einval(void **state)
{
	rejected_io(BACKEND_READ, 0, 0, false, -EINVAL);
}

static void write_to_readonly_store_fails_with_erofs(void **state)
{
	rejected_io(BACKEND_WRITE, 0, 512, true, -EROFS);
}

static void io_ending_exactly_at_the_end_succeeds(void **state)
{
	rejected_io(BACKEND_WRITE, (1 << 20) - 8192, 8192, false, 0);
}

static void unknown_kind_is_rejected_at_open(void **state)
{
	struct backend_config cfg = { .kind = (enum backend_kind)7, .size = 1 << 20 };
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -EINVAL);
}

static void regular_file_is_not_a_blockdev(void **state)
{
	char path[] = "/tmp/lunar-blockdev-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	struct backend_config cfg = { .kind = BACKEND_BLOCKDEV, .path = path };
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -ENOTBLK);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kind_names_round_trip),
		cmocka_unit_test(unknown_kind_name_is_rejected),
		cmocka_unit_test(io_beyond_the_end_fails_with_einval),
		cmocka_unit_test(io_with_offset_past_the_end_fails_with_einval),
		cmocka_unit_test(zero_length_io_fails_with_einval),
		cmocka_unit_test(write_to_readonly_store_fails_with_erofs),
		cmocka_unit_test(io_ending_exactly_at_the_end_succeeds),
		cmocka_unit_test(unknown_kind_is_rejected_at_open),
		cmocka_unit_test(regular_file_is_not_a_blockdev),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
