#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scsi/pr_tpid.h"

static size_t tpid(uint8_t *buf, uint8_t head, const char *name, size_t add)
{
	memset(buf, 0, 4 + add);
	buf[0] = head;
	buf[2] = (uint8_t)(add >> 8);
	buf[3] = (uint8_t)add;
	memcpy(buf + 4, name, strlen(name));
	return 4 + add;
}

static void test_port_round_trip(void **state)
{
	const char *port = "iqn.2026-11.org.lunar:a,i,0x23d000000001";
	uint8_t buf[256];
	size_t len = pr_tpid_len(port);
	assert_int_equal(len % 4, 0);
	pr_tpid_put(buf, port);
	assert_int_equal(buf[0], 0x45);
	char back[256];
	assert_int_equal(pr_tpid_parse(buf, len, back, sizeof(back)), (long)len);
	assert_string_equal(back, port);
}

/* A short name still takes the 20-byte minimum (SPC-4 7.6.4.6). */
static void test_short_name_is_padded_to_20(void **state)
{
	assert_int_equal(pr_tpid_len("a,i,0x1"), 24);
}

/* The separator in any case, the ISID in any case and width: lunar's form. */
static void test_isid_is_normalized(void **state)
{
	uint8_t buf[64];
	char port[64];
	size_t len = tpid(buf, 0x45, "iqn.x:y,I,0X23D0000000AB", 28);
	assert_int_equal(pr_tpid_parse(buf, len, port, sizeof(port)), (long)len);
	assert_string_equal(port, "iqn.x:y,i,0x23d0000000ab");
	len = tpid(buf, 0x45, "iqn.x:y,i,0x1", 20);
	assert_int_equal(pr_tpid_parse(buf, len, port, sizeof(port)), (long)len);
	assert_string_equal(port, "iqn.x:y,i,0x000000000001");
}

static void test_malformed_transport_ids_are_refused(void **state)
{
	uint8_t buf[64];
	char port[64];
	/* format 00b names no port; another protocol (FC) */
	size_t len = tpid(buf, 0x05, "iqn.x:y", 20);
	assert_int_equal(pr_tpid_parse(buf, len, port, sizeof(port)), -1);
	len = tpid(buf, 0x40, "iqn.x:y,i,0x1", 20);
	assert_int_equal(pr_tpid_parse(buf, len, port, sizeof(port)), -1);
	/* no ISID, no name, a bad digit, too many digits */
	len = tpid(buf, 0x45, "iqn.x:y,i,0x", 20);
	assert_int_equal(pr_tpid_parse(buf, len, port, sizeof(port)), -1);
	len = tpid(buf, 0x45, ",i,0x1", 20);
	assert_int_equal(pr_tpid_parse(buf, len, port, sizeof(port)), -1);
	len = tpid(buf, 0x45, "iqn.x:y,i,0x1g", 20);
	assert_int_equal(pr_tpid_parse(buf, len, port, sizeof(port)), -1);
	len = tpid(buf, 0x45, "iqn.x:y,i,0x1234567890abc", 28);
	assert_int_equal(pr_tpid_parse(buf, len, port, sizeof(port)), -1);
	/* a length not a multiple of 4, below 20, past the data */
	len = tpid(buf, 0x45, "iqn.x:y,i,0x1", 21);
	assert_int_equal(pr_tpid_parse(buf, len, port, sizeof(port)), -1);
	len = tpid(buf, 0x45, "i,i,0x1", 16);
	assert_int_equal(pr_tpid_parse(buf, len, port, sizeof(port)), -1);
	len = tpid(buf, 0x45, "iqn.x:y,i,0x1", 20);
	assert_int_equal(pr_tpid_parse(buf, len - 1, port, sizeof(port)), -1);
	/* no NUL within the length */
	memset(buf + 4, 'a', 20);
	assert_int_equal(pr_tpid_parse(buf, 24, port, sizeof(port)), -1);
	/* too long for the caller */
	len = tpid(buf, 0x45, "iqn.x:y,i,0x1", 20);
	assert_int_equal(pr_tpid_parse(buf, len, port, 10), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_round_trip),
		cmocka_unit_test(test_short_name_is_padded_to_20),
		cmocka_unit_test(test_isid_is_normalized),
		cmocka_unit_test(test_malformed_transport_ids_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
