#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "backend/store.h"

static struct backend_io io_of_len(uint32_t len)
{
	return (struct backend_io){ .op = BACKEND_READ, .len = len };
}

static void full_transfer_is_done(void **state)
{
	struct backend_io io = io_of_len(8192);
	assert_int_equal(backend_io_advance(&io, 8192), 0);
	assert_int_equal(io.completed, 8192);
}

static void short_transfer_asks_for_the_remainder(void **state)
{
	struct backend_io io = io_of_len(8192);
	assert_int_equal(backend_io_advance(&io, 3000), 1);
	assert_int_equal(io.completed, 3000);
	assert_int_equal(backend_io_advance(&io, 5000), 1);
	assert_int_equal(io.completed, 8000);
	assert_int_equal(backend_io_advance(&io, 192), 0);
	assert_int_equal(io.completed, 8192);
}

static void zero_bytes_is_eio(void **state)
{
	struct backend_io io = io_of_len(4096);
	assert_int_equal(backend_io_advance(&io, 0), -EIO);
}

static void more_than_remaining_is_eio(void **state)
{
	struct backend_io io = io_of_len(4096);
	assert_int_equal(backend_io_advance(&io, 1000), 1);
	assert_int_equal(backend_io_advance(&io, 4096), -EIO);
}

static void kernel_error_is_passed_through(void **state)
{
	struct backend_io io = io_of_len(4096);
	assert_int_equal(backend_io_advance(&io, -ENOSPC), -ENOSPC);
	assert_int_equal(io.completed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_transfer_is_done),
		cmocka_unit_test(short_transfer_asks_for_the_remainder),
		cmocka_unit_test(zero_bytes_is_eio),
		cmocka_unit_test(more_than_remaining_is_eio),
		cmocka_unit_test(kernel_error_is_passed_through),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
