/* Unit tests for CHAP (RFC 1994, RFC 7143 §12.1.3) and the binary value
 * encodings (RFC 7143 §6.1). The expected digests were computed apart
 * from lunar, with Python's hashlib:
 *   hashlib.new(alg, bytes([0x2a]) + b"lunar-secret-123" + challenge) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iscsi/chap.h"

#define SECRET "lunar-secret-123"
#define ID 0x2a

static void challenge_bytes(uint8_t *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		c[i] = (uint8_t)(0x10 + i);
}

static void unhex(const char *s, uint8_t *out)
{
	assert_int_equal(chap_decode_binary(s, strlen(s), out, CHAP_DIGEST_MAX),
			 (int)(strlen(s) - 2) / 2);
}

static void check_vector(unsigned code, size_t challenge_len, const char *expect_hex)
{
	const struct chap_alg *alg = chap_alg_find(code);
	uint8_t chal[32], got[CHAP_DIGEST_MAX], expect[CHAP_DIGEST_MAX];

	assert_non_null(alg);
	challenge_bytes(chal, challenge_len);
	unhex(expect_hex, expect);
	assert_int_equal(chap_response(alg, ID, (const uint8_t *)SECRET, strlen(SECRET), chal,
				       challenge_len, got), 0);
	assert_memory_equal(got, expect, alg->digest_len);
	assert_true(chap_verify(alg, ID, (const uint8_t *)SECRET, strlen(SECRET), chal, challenge_len,
				expect, alg->digest_len));
	/* One bit off, a different id, a truncated response: refused. */
	expect[alg->digest_len - 1] ^= 1;
	assert_false(chap_verify(alg, ID, (const uint8_t *)SECRET, strlen(SECRET), chal,
				 challenge_len, expect, alg->digest_len));
	expect[alg->digest_len - 1] ^= 1;
	assert_false(chap_verify(alg, ID + 1, (const uint8_t *)SECRET, strlen(SECRET), chal,
				 challenge_len, expect, alg->digest_len));
	assert_false(chap_verify(alg, ID, (const uint8_t *)SECRET, strlen(SECRET), chal,
				 challenge_len, expect, alg->digest_len - 1));
}

static void test_md5_vector(void **state)
{
	(void)state;
	check_vector(5, 16, "0x7d945869093ede78051ecec5ae679221");
}

static void test_sha1_vector(void **state)
{
	(void)state;
	check_vector(6, 32, "0x9d88ae03bb37cfaedcc3d86550b117a2c03d0b08");
}

static void test_sha256_vector(void **state)
{
	(void)state;
	check_vector(7, 32, "0x945ad93c5c618db000572e2e2a878fdbe2c7dfe26f3cc3f73a8e3101eaa13560");
}

static void test_sha3_256_vector(void **state)
{
	(void)state;
	check_vector(8, 32, "0xd885ea84ac844fcdc93f09a7a8177c3bd14824a0d446d34b85711bdeca567d51");
}

static void test_alg_table(void **state)
{
	(void)state;
	assert_int_equal(chap_alg_find(5)->digest_len, 16);
	assert_int_equal(chap_alg_find(6)->digest_len, 20);
	assert_int_equal(chap_alg_find(7)->digest_len, 32);
	assert_int_equal(chap_alg_find(8)->digest_len, 32);
	assert_null(chap_alg_find(0));
	assert_null(chap_alg_find(4));
	assert_null(chap_alg_find(9));
}

static unsigned choose(const char *list)
{
	const struct chap_alg *a = chap_alg_choose(list, strlen(list));
	return a ? a->code : 0;
}

static void test_alg_choose_initiator_order(void **state)
{
	(void)state;
	assert_int_equal(choose("5"), 5);
	assert_int_equal(choose("7,5"), 7);
	assert_int_equal(choose("8,7,6,5"), 8);
	assert_int_equal(choose("1,2,6"), 6);     /* unknown codes skipped */
	assert_int_equal(choose("0x5"), 5);
	assert_int_equal(choose("4"), 0);
	assert_int_equal(choose(""), 0);
	assert_int_equal(choose("5,"), 0);        /* empty element */
	assert_int_equal(choose("5,x"), 0);       /* not a number */
	assert_int_equal(choose("05"), 0);        /* leading zero */
	assert_int_equal(choose("99999,5"), 0);
}

static void test_challenge_fresh(void **state)
{
	struct chap_challenge a, b;

	(void)state;
	assert_int_equal(chap_make_challenge(chap_alg_find(5), &a), 0);
	assert_int_equal(a.len, 16);
	assert_int_equal(chap_make_challenge(chap_alg_find(5), &b), 0);
	assert_memory_not_equal(a.bytes, b.bytes, a.len);
	assert_int_equal(chap_make_challenge(chap_alg_find(6), &a), 0);
	assert_int_equal(a.len, 20);
	assert_int_equal(chap_make_challenge(chap_alg_find(8), &a), 0);
	assert_int_equal(a.len, 32);
}

static int decode(const char *s, uint8_t *out, size_t cap)
{
	return chap_decode_binary(s, strlen(s), out, cap);
}

static void test_decode_hex(void **state)
{
	uint8_t b[8];

	(void)state;
	assert_int_equal(decode("0x00ff7A", b, sizeof(b)), 3);
	assert_int_equal(b[0], 0x00);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(b[2], 0x7a);
	assert_int_equal(decode("0XAB", b, sizeof(b)), 1);
	assert_int_equal(b[0], 0xab);
	/* odd digit count: implied leading zero */
	assert_int_equal(decode("0xabc", b, sizeof(b)), 2);
	assert_int_equal(b[0], 0x0a);
	assert_int_equal(b[1], 0xbc);
	assert_int_equal(decode("0x", b, sizeof(b)), -EINVAL);
	assert_int_equal(decode("0xg0", b, sizeof(b)), -EINVAL);
	assert_int_equal(decode("0x 1", b, sizeof(b)), -EINVAL);
	assert_int_equal(decode("1234", b, sizeof(b)), -EINVAL);  /* decimal is no binary value here */
	assert_int_equal(decode("0", b, sizeof(b)), -EINVAL);
	assert_int_equal(decode("", b, sizeof(b)), -EINVAL);
	assert_int_equal(decode("0x0102030405060708", b, sizeof(b)), 8);
	assert_int_equal(decode("0x010203040506070809", b, sizeof(b)), -E2BIG);
}

static void test_decode_base64(void **state)
{
	static const uint8_t want[] = { 0x01, 0x02, 0x03, 0xfe, 0xff };
	uint8_t b[8];

	(void)state;
	assert_int_equal(decode("0bAQID/v8=", b, sizeof(b)), 5);
	assert_memory_equal(b, want, 5);
	assert_int_equal(decode("0BAQID", b, sizeof(b)), 3);
	assert_memory_equal(b, want, 3);
	assert_int_equal(decode("0bAQ==", b, sizeof(b)), 1);
	assert_int_equal(b[0], 0x01);
	assert_int_equal(decode("0b", b, sizeof(b)), -EINVAL);
	assert_int_equal(decode("0bAQI", b, sizeof(b)), -EINVAL);     /* not whole groups */
	assert_int_equal(decode("0bA===", b, sizeof(b)), -EINVAL);
	assert_int_equal(decode("0bA=ID", b, sizeof(b)), -EINVAL);    /* padding inside */
	assert_int_equal(decode("0bAQ-D", b, sizeof(b)), -EINVAL);
	assert_int_equal(decode("0bAQIDBAUGBwgJ", b, sizeof(b)), -E2BIG);
}

static void test_decode_limit(void **state)
{
	static char big[2 + 2 * (CHAP_BINARY_MAX + 1) + 1];
	static uint8_t out[CHAP_BINARY_MAX];

	(void)state;
	memset(big, '7', sizeof(big) - 1);
	big[0] = '0';
	big[1] = 'x';
	big[2 + 2 * CHAP_BINARY_MAX] = '\0';
	assert_int_equal(decode(big, out, sizeof(out)), CHAP_BINARY_MAX);
	big[2 + 2 * CHAP_BINARY_MAX] = '7';
	assert_int_equal(decode(big, out, sizeof(out)), -E2BIG);
}

static void test_parse_id(void **state)
{
	(void)state;
	assert_int_equal(chap_parse_id("0", 1), 0);
	assert_int_equal(chap_parse_id("255", 3), 255);
	assert_int_equal(chap_parse_id("0xff", 4), 255);
	assert_int_equal(chap_parse_id("256", 3), -1);
	assert_int_equal(chap_parse_id("-1", 2), -1);
	assert_int_equal(chap_parse_id("", 0), -1);
	assert_int_equal(chap_parse_id("007", 3), -1);
}

static void test_encode_hex(void **state)
{
	static const uint8_t b[] = { 0x00, 0x9f, 0xa0 };
	char out[CHAP_HEX_MAX(3)];
	uint8_t back[3];

	(void)state;
	chap_encode_hex(b, sizeof(b), out);
	assert_string_equal(out, "0x009fa0");
	assert_int_equal(decode(out, back, sizeof(back)), 3);
	assert_memory_equal(back, b, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md5_vector),
		cmocka_unit_test(test_sha1_vector),
		cmocka_unit_test(test_sha256_vector),
		cmocka_unit_test(test_sha3_256_vector),
		cmocka_unit_test(test_alg_table),
		cmocka_unit_test(test_alg_choose_initiator_order),
		cmocka_unit_test(test_challenge_fresh),
		cmocka_unit_test(test_decode_hex),
		cmocka_unit_test(test_decode_base64),
		cmocka_unit_test(test_decode_limit),
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test(test_encode_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
