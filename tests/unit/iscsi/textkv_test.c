/* Unit tests for the iSCSI text format parser and builder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/textkv.h"

#define PAIRS_CAP 16

static enum iscsi_text_error parse(const char *text, size_t len, size_t value_max,
				   struct iscsi_text_pair *pairs, size_t *n)
{
	return iscsi_text_parse((const uint8_t *)text, len, value_max, pairs, PAIRS_CAP, n);
}

static void test_parse_two_pairs(void **state)
{
	static const char text[] = "HeaderDigest=None\0MaxBurstLength=4096";
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	assert_int_equal(parse(text, sizeof(text), 255, p, &n), ISCSI_TEXT_OK);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].key_len, 12);
	assert_memory_equal(p[0].key, "HeaderDigest", 12);
	assert_string_equal(p[0].value, "None");
	assert_int_equal(p[0].value_len, 4);
	assert_true(iscsi_text_key_is(&p[1], "MaxBurstLength"));
	assert_false(iscsi_text_key_is(&p[1], "MaxBurst"));
	assert_string_equal(p[1].value, "4096");
}

static void test_parse_empty_buffer_has_no_pairs(void **state)
{
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n = 99;

	(void)state;
	assert_int_equal(parse("", 0, 255, p, &n), ISCSI_TEXT_OK);
	assert_int_equal(n, 0);
}

static void test_parse_value_may_be_empty_or_contain_equals(void **state)
{
	static const char text[] = "SendTargets=\0X-a=b=c";
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	assert_int_equal(parse(text, sizeof(text), 255, p, &n), ISCSI_TEXT_OK);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].value_len, 0);
	assert_string_equal(p[1].value, "b=c");
}

static void test_parse_rejects_missing_equals(void **state)
{
	static const char text[] = "A=1\0HeaderDigest";
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	assert_int_equal(parse(text, sizeof(text), 255, p, &n), ISCSI_TEXT_NO_EQUALS);
	assert_int_equal(n, 1);
}

static void test_parse_rejects_lone_nul(void **state)
{
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	assert_int_equal(parse("A=1\0\0", 5, 255, p, &n), ISCSI_TEXT_NO_EQUALS);
}

static void test_parse_rejects_empty_key(void **state)
{
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	assert_int_equal(parse("=Yes", 5, 255, p, &n), ISCSI_TEXT_EMPTY_KEY);
}

static void test_parse_accepts_63_byte_key_rejects_64(void **state)
{
	char text[80];
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	memset(text, 'K', 63);
	memcpy(text + 63, "=v", 3);
	assert_int_equal(parse(text, 66, 255, p, &n), ISCSI_TEXT_OK);
	assert_int_equal(p[0].key_len, 63);
	memset(text, 'K', 64);
	memcpy(text + 64, "=v", 3);
	assert_int_equal(parse(text, 67, 255, p, &n), ISCSI_TEXT_KEY_TOO_LONG);
}

static void test_parse_rejects_bad_key_character(void **state)
{
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	assert_int_equal(parse("Max Burst=1", 12, 255, p, &n), ISCSI_TEXT_BAD_KEY_CHAR);
	assert_int_equal(parse("A#b=1", 6, 255, p, &n), ISCSI_TEXT_BAD_KEY_CHAR);
}

static void test_parse_accepts_extension_key_names(void **state)
{
	static const char text[] = "X-com.example.a_b+c@d=1\0X#NodeArchitecture=x";
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	assert_int_equal(parse(text, sizeof(text), 255, p, &n), ISCSI_TEXT_OK);
	assert_int_equal(n, 2);
}

static void test_parse_value_limit_is_the_callers(void **state)
{
	char text[300];
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	text[0] = 'A';
	text[1] = '=';
	memset(text + 2, 'v', 256);
	text[258] = '\0';
	assert_int_equal(parse(text, 259, 255, p, &n), ISCSI_TEXT_VALUE_TOO_LONG);
	assert_int_equal(parse(text, 259, 256, p, &n), ISCSI_TEXT_OK);
	assert_int_equal(p[0].value_len, 256);
}

static void test_parse_rejects_unterminated_last_pair(void **state)
{
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	/* The length stops before the final NUL: the parser must not look past it. */
	assert_int_equal(parse("A=1\0B=2", 7, 255, p, &n), ISCSI_TEXT_UNTERMINATED);
	assert_int_equal(n, 1);
}

static void test_parse_rejects_duplicate_key(void **state)
{
	static const char text[] = "A=1\0B=2\0A=1";
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	assert_int_equal(parse(text, sizeof(text), 255, p, &n), ISCSI_TEXT_DUPLICATE);
}

static void test_parse_reports_too_many_pairs(void **state)
{
	static const char text[] = "A=1\0B=2\0C=3";
	struct iscsi_text_pair p[2];
	size_t n;

	(void)state;
	assert_int_equal(iscsi_text_parse((const uint8_t *)text, sizeof(text), 255, p, 2, &n),
			 ISCSI_TEXT_TOO_MANY);
	assert_int_equal(n, 2);
}

static void test_error_strings_are_distinct(void **state)
{
	(void)state;
	assert_string_equal(iscsi_text_error_str(ISCSI_TEXT_DUPLICATE), "duplicate key");
	assert_string_not_equal(iscsi_text_error_str(ISCSI_TEXT_NO_EQUALS),
				iscsi_text_error_str(ISCSI_TEXT_EMPTY_KEY));
}

static void test_append_writes_pairs(void **state)
{
	uint8_t buf[64];
	struct iscsi_text_buf b;

	(void)state;
	iscsi_text_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(iscsi_text_append(&b, "AuthMethod", "None"), 0);
	assert_int_equal(iscsi_text_append_u32(&b, "MaxBurstLength", 262144), 0);
	assert_int_equal(b.len, 16 + 22);
	assert_memory_equal(buf, "AuthMethod=None\0MaxBurstLength=262144\0", 38);
}

static void test_append_overflow_leaves_buffer_unchanged(void **state)
{
	uint8_t buf[20];
	struct iscsi_text_buf b;

	(void)state;
	iscsi_text_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(iscsi_text_append(&b, "AuthMethod", "None"), 0);
	assert_int_equal(iscsi_text_append(&b, "DataDigest", "None"), -ENOSPC);
	assert_int_equal(b.len, 16);
	/* Exactly filling the buffer is fine: "A=1\0" needs 4 of the 4 left. */
	assert_int_equal(iscsi_text_append(&b, "A", "1"), 0);
	assert_int_equal(b.len, 20);
	assert_int_equal(iscsi_text_append(&b, "B", ""), -ENOSPC);
}

static void test_built_text_parses_back(void **state)
{
	uint8_t buf[128];
	struct iscsi_text_buf b;
	struct iscsi_text_pair p[PAIRS_CAP];
	size_t n;

	(void)state;
	iscsi_text_buf_init(&b, buf, sizeof(buf));
	assert_int_equal(iscsi_text_append(&b, "TargetName", "iqn.2024-01.org.lunar:a"), 0);
	assert_int_equal(iscsi_text_append_n(&b, "TargetAddress", "[::1]:3260,1xyz", 12), 0);
	assert_int_equal(iscsi_text_parse(buf, b.len, 255, p, PAIRS_CAP, &n), ISCSI_TEXT_OK);
	assert_int_equal(n, 2);
	assert_string_equal(p[1].value, "[::1]:3260,1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_two_pairs),
		cmocka_unit_test(test_parse_empty_buffer_has_no_pairs),
		cmocka_unit_test(test_parse_value_may_be_empty_or_contain_equals),
		cmocka_unit_test(test_parse_rejects_missing_equals),
		cmocka_unit_test(test_parse_rejects_lone_nul),
		cmocka_unit_test(test_parse_rejects_empty_key),
		cmocka_unit_test(test_parse_accepts_63_byte_key_rejects_64),
		cmocka_unit_test(test_parse_rejects_bad_key_character),
		cmocka_unit_test(test_parse_accepts_extension_key_names),
		cmocka_unit_test(test_parse_value_limit_is_the_callers),
		cmocka_unit_test(test_parse_rejects_unterminated_last_pair),
		cmocka_unit_test(test_parse_rejects_duplicate_key),
		cmocka_unit_test(test_parse_reports_too_many_pairs),
		cmocka_unit_test(test_error_strings_are_distinct),
		cmocka_unit_test(test_append_writes_pairs),
		cmocka_unit_test(test_append_overflow_leaves_buffer_unchanged),
		cmocka_unit_test(test_built_text_parses_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
