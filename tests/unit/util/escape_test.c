/* Wire text made safe for a log line: what passes, what is escaped, and
 * where it is cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/escape.h"

static void an_iscsi_name_passes_unchanged(void **state)
{
	char out[LOG_ESCAPE_BUF];
	assert_string_equal(log_escape_str(out, sizeof(out), "iqn.2026-11.org.lunar:x y"),
			    "iqn.2026-11.org.lunar:x y");
}

static void control_bytes_quotes_and_backslashes_become_hex(void **state)
{
	char out[LOG_ESCAPE_BUF];
	assert_string_equal(log_escape_str(out, sizeof(out), "a\nb\"c\\d\x1b[2J"),
			    "a\\x0ab\\x22c\\x5cd\\x1b[2J");
}

static void high_bytes_and_nul_inside_the_length_become_hex(void **state)
{
	static const uint8_t in[] = { 'k', 0x00, 0xff, 0x80, '=' };
	char out[LOG_ESCAPE_BUF];
	assert_string_equal(log_escape(out, sizeof(out), in, sizeof(in)), "k\\x00\\xff\\x80=");
}

static void text_that_just_fits_is_not_cut(void **state)
{
	char out[8];
	assert_string_equal(log_escape_str(out, sizeof(out), "1234567"), "1234567");
	assert_string_equal(log_escape_str(out, sizeof(out), "abc\x01"), "abc\\x01");
}

static void long_text_is_cut_and_marked(void **state)
{
	char out[8];
	assert_string_equal(log_escape_str(out, sizeof(out), "12345678"), "1234...");
}

static void a_cut_never_splits_an_escape(void **state)
{
	char out[10];
	assert_string_equal(log_escape_str(out, sizeof(out), "ab\x01\x02xyzw"), "ab\\x01...");
	assert_string_equal(log_escape_str(out, sizeof(out), "abc\x01\x02"), "abc...");
}

static void the_empty_string_stays_empty(void **state)
{
	char out[8];
	assert_string_equal(log_escape(out, sizeof(out), "", 0), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_iscsi_name_passes_unchanged),
		cmocka_unit_test(control_bytes_quotes_and_backslashes_become_hex),
		cmocka_unit_test(high_bytes_and_nul_inside_the_length_become_hex),
		cmocka_unit_test(text_that_just_fits_is_not_cut),
		cmocka_unit_test(long_text_is_cut_and_marked),
		cmocka_unit_test(a_cut_never_splits_an_escape),
		cmocka_unit_test(the_empty_string_stays_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
