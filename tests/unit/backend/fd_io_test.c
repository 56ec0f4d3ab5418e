#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "backend/store.h"

static char bytes[16384];

/* An I/O over the iovecs of the given lengths, as backend_submit leaves it. */
static struct backend_io io_of(struct iovec *iov, const uint32_t *lens, unsigned n)
{
	uint32_t total = 0;
	for (unsigned i = 0; i < n; i++) {
		iov[i] = (struct iovec){ .iov_base = bytes + total, .iov_len = lens[i] };
		total += lens[i];
	}
	return (struct backend_io){ .op = BACKEND_READ, .iov = iov, .iovcnt = n, .len = total };
}

static void full_transfer_is_done(void **state)
{
	struct iovec iov[1];
	struct backend_io io = io_of(iov, (const uint32_t[]){ 8192 }, 1);
	assert_int_equal(backend_io_advance(&io, 8192), 0);
	assert_int_equal(io.completed, 8192);
}

static void short_transfer_asks_for_the_remainder(void **state)
{
	struct iovec iov[1];
	struct backend_io io = io_of(iov, (const uint32_t[]){ 8192 }, 1);
	assert_int_equal(backend_io_advance(&io, 3000), 1);
	assert_int_equal(io.completed, 3000);
	assert_int_equal(io.cur_off, 3000);
	assert_int_equal(backend_io_advance(&io, 5000), 1);
	assert_int_equal(io.completed, 8000);
	assert_int_equal(backend_io_advance(&io, 192), 0);
	assert_int_equal(io.completed, 8192);
}

static void short_transfer_moves_the_cursor_through_the_iovecs(void **state)
{
	struct iovec iov[3];
	struct backend_io io = io_of(iov, (const uint32_t[]){ 4096, 4096, 8192 }, 3);
	assert_int_equal(backend_io_advance(&io, 5000), 1);
	assert_int_equal(io.cur_iov, 1);
	assert_int_equal(io.cur_off, 904);
	assert_int_equal(backend_io_advance(&io, 3192), 1);
	assert_int_equal(io.cur_iov, 2);
	assert_int_equal(io.cur_off, 0);
	assert_int_equal(backend_io_advance(&io, 8192), 0);
	assert_int_equal(io.completed, 16384);
}

static void empty_iovecs_are_stepped_over(void **state)
{
	struct iovec iov[4];
	struct backend_io io = io_of(iov, (const uint32_t[]){ 4096, 0, 0, 4096 }, 4);
	assert_int_equal(backend_io_advance(&io, 4096), 1);
	assert_int_equal(io.cur_iov, 3);
	assert_int_equal(io.cur_off, 0);
}

static void zero_bytes_is_eio(void **state)
{
	struct iovec iov[1];
	struct backend_io io = io_of(iov, (const uint32_t[]){ 4096 }, 1);
	assert_int_equal(backend_io_advance(&io, 0), -EIO);
}

static void more_than_remaining_is_eio(void **state)
{
	struct iovec iov[1];
	struct backend_io io = io_of(iov, (const uint32_t[]){ 4096 }, 1);
	assert_int_equal(backend_io_advance(&io, 1000), 1);
	assert_int_equal(backend_io_advance(&io, 4096), -EIO);
}

static void kernel_error_is_passed_through(void **state)
{
	struct iovec iov[1];
	struct backend_io io = io_of(iov, (const uint32_t[]){ 4096 }, 1);
	assert_int_equal(backend_io_advance(&io, -ENOSPC), -ENOSPC);
	assert_int_equal(io.completed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_transfer_is_done),
		cmocka_unit_test(short_transfer_asks_for_the_remainder),
		cmocka_unit_test(short_transfer_moves_the_cursor_through_the_iovecs),
		cmocka_unit_test(empty_iovecs_are_stepped_over),
		cmocka_unit_test(zero_bytes_is_eio),
		cmocka_unit_test(more_than_remaining_is_eio),
		cmocka_unit_test(kernel_error_is_passed_through),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
