/* The iSCSI text format (RFC 7143 §6.1): "key=value" pairs, each followed
 * by one NUL. Pure parser and bounded builder; no allocation. */
#ifndef LUNAR_ISCSI_TEXTKV_H
#define LUNAR_ISCSI_TEXTKV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 7143 §6.1: key names up to 63 bytes; values up to 255 bytes unless
 * the key allows more (SendTargets responses, CHAP binary values: 8192). */
#define ISCSI_TEXT_KEY_MAX 63
#define ISCSI_TEXT_VALUE_MAX 255
#define ISCSI_TEXT_LONG_VALUE_MAX 8192

enum iscsi_text_error {
	ISCSI_TEXT_OK = 0,
	ISCSI_TEXT_NO_EQUALS,        /* a pair without '=' */
	ISCSI_TEXT_EMPTY_KEY,
	ISCSI_TEXT_KEY_TOO_LONG,
	ISCSI_TEXT_BAD_KEY_CHAR,     /* outside RFC 7143 §6.1 key-name characters */
	ISCSI_TEXT_VALUE_TOO_LONG,
	ISCSI_TEXT_UNTERMINATED,     /* the last pair is not NUL-terminated */
	ISCSI_TEXT_DUPLICATE,        /* RFC 7143 §6.2: a key sent twice */
	ISCSI_TEXT_TOO_MANY,         /* more pairs than the caller has room for */
};

/* One pair, pointing into the parsed buffer. The value is NUL-terminated
 * there; the key is not (it ends at '='). */
struct iscsi_text_pair {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
};

/* Splits buf[0..len) into at most cap pairs; values longer than value_max
 * are an error. *npairs gets the count (also on error: the pairs before
 * the bad one). */
enum iscsi_text_error iscsi_text_parse(const uint8_t *buf, size_t len, size_t value_max,
				       struct iscsi_text_pair *pairs, size_t cap,
				       size_t *npairs);

/* True when the pair's key is exactly `key`. */
bool iscsi_text_key_is(const struct iscsi_text_pair *p, const char *key);
/* RFC 7143 §6.1: a decimal-constant (no leading zeros) or a hex-constant
 * (0x...) of len bytes; false if it is neither or exceeds 64 bits. */
bool iscsi_text_parse_number(const char *s, size_t len, uint64_t *out);

const char *iscsi_text_error_str(enum iscsi_text_error e);

/* A bounded output buffer. Appends either add a whole "key=value\0" or
 * nothing. */
struct iscsi_text_buf {
	uint8_t *data;
	size_t cap;
	size_t len;
};

void iscsi_text_buf_init(struct iscsi_text_buf *b, uint8_t *data, size_t cap);
/* Returns 0, or -ENOSPC and leaves the buffer unchanged. */
int iscsi_text_append(struct iscsi_text_buf *b, const char *key, const char *value);
int iscsi_text_append_n(struct iscsi_text_buf *b, const char *key, const char *value,
			size_t value_len);
int iscsi_text_append_u32(struct iscsi_text_buf *b, const char *key, uint32_t value);

#endif
