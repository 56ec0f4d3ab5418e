#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "io_runner.h"

static void builtin_types_are_found_by_name(void **state)
{
	const char *names[] = { "file", "blockdev", "memory" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct backend_type *t = backend_type_find(names[i]);
		assert_non_null(t);
		assert_string_equal(t->name, names[i]);
	}
}

static void unknown_type_name_is_not_found(void **state)
{
	assert_null(backend_type_find("File"));
	assert_null(backend_type_find(""));
}

static void type_name_can_be_registered_once(void **state)
{
	static const struct backend_type again = { .name = "memory" };
	static const struct backend_type extra = { .name = "extra" };
	assert_int_equal(backend_type_register(&again), -EEXIST);
	assert_int_equal(backend_type_register(&extra), 0);
	assert_ptr_equal(backend_type_find("extra"), &extra);
	assert_int_equal(backend_type_register(&extra), -EEXIST);
	static const struct backend_key odd_keys[] = { { .name = "x", .type = (enum backend_key_type)99 } };
	static const struct backend_type odd = { .name = "odd", .keys = odd_keys, .nkeys = 1 };
	assert_int_equal(backend_type_register(&odd), -EINVAL);
	assert_null(backend_type_find("odd"));
}

static void config_setters_follow_the_key_table(void **state)
{
	struct backend_config cfg;
	backend_config_init(&cfg, backend_type_find("file"));
	assert_int_equal(backend_config_set_str(&cfg, "path", "/srv/a.img"), 0);
	assert_int_equal(backend_config_set_str(&cfg, "path", "/srv/b.img"), 0);
	assert_int_equal(backend_config_set_bool(&cfg, "direct", true), 0);
	assert_int_equal(backend_config_set_str(&cfg, "direct", "yes"), -EINVAL);
	assert_int_equal(backend_config_set_size(&cfg, "path", 1), -EINVAL);
	assert_int_equal(backend_config_set_bool(&cfg, "pool", true), -ENOENT);
	assert_null(backend_config_value(&cfg, "pool"));
	char what[64];
	backend_config_describe(&cfg, what, sizeof(what));
	assert_string_equal(what, "file /srv/b.img direct");
	backend_config_clear(&cfg);
	assert_false(backend_config_value(&cfg, "path")->given);
}

static void rejected_io(enum backend_op op, uint64_t offset, uint32_t len, bool readonly, int expect)
{
	struct io_runner r = { 0 };
	assert_int_equal(loop_init(&r.loop, 8), 0);
	struct backend_config cfg = runner_cfg("memory", NULL, 1 << 20, 0);
	cfg.readonly = readonly;
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

static void too_many_iovecs_fail_with_einval(void **state)
{
	struct io_runner r = { 0 };
	assert_int_equal(loop_init(&r.loop, 8), 0);
	struct backend_config cfg = runner_cfg("memory", NULL, 1 << 20, 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), 0);
	char *buf = runner_buf(4096, 0);
	struct iovec *iov = calloc(BACKEND_MAX_IOV + 1, sizeof(*iov));
	for (unsigned i = 0; i <= BACKEND_MAX_IOV; i++)
		iov[i] = (struct iovec){ .iov_base = buf, .iov_len = i == 0 ? 512 : 0 };
	struct runner_io rio;
	runner_prep(&r, &rio, BACKEND_READ, 0, NULL, 0, false);
	rio.io.iov = iov;
	rio.io.iovcnt = BACKEND_MAX_IOV + 1;
	runner_run(&r, bs, &rio, 1);
	assert_int_equal(rio.err, -EINVAL);
	free(iov);
	free(buf);
	backend_close(bs);
	loop_fini(&r.loop);
}

static void config_without_a_type_is_rejected_at_open(void **state)
{
	struct backend_config cfg;
	backend_config_init(&cfg, NULL);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -EINVAL);
}

static void regular_file_is_not_a_blockdev(void **state)
{
	char path[] = "/tmp/lunar-blockdev-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	struct backend_config cfg = runner_cfg("blockdev", path, 0, 0);
	struct backend *bs;
	assert_int_equal(backend_open(&cfg, &bs), -ENOTBLK);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(builtin_types_are_found_by_name),
		cmocka_unit_test(unknown_type_name_is_not_found),
		cmocka_unit_test(type_name_can_be_registered_once),
		cmocka_unit_test(config_setters_follow_the_key_table),
		cmocka_unit_test(io_beyond_the_end_fails_with_einval),
		cmocka_unit_test(io_with_offset_past_the_end_fails_with_einval),
		cmocka_unit_test(zero_length_io_fails_with_einval),
		cmocka_unit_test(write_to_readonly_store_fails_with_erofs),
		cmocka_unit_test(io_ending_exactly_at_the_end_succeeds),
		cmocka_unit_test(too_many_iovecs_fail_with_einval),
		cmocka_unit_test(config_without_a_type_is_rejected_at_open),
		cmocka_unit_test(regular_file_is_not_a_blockdev),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
