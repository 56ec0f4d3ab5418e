/* libFuzzer target for the text key parser: any bytes must parse without
 * reading past the buffer, every pair it returns must obey RFC 7143 §6.1,
 * and an accepted text must rebuild byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/textkv.h"

#define FUZZ_PAIRS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iscsi_text_pair pairs[FUZZ_PAIRS];
	size_t n, value_max;
	enum iscsi_text_error e;
	uint8_t *copy, *rebuilt;
	struct iscsi_text_buf b;

	if (size < 1)
		return 0;
	/* The first byte picks the value limit, so both limits get exercised. */
	value_max = data[0] & 1 ? ISCSI_TEXT_LONG_VALUE_MAX : ISCSI_TEXT_VALUE_MAX;
	size--;
	/* An exact-size heap copy lets ASan catch any read past the end. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size);
	e = iscsi_text_parse(copy, size, value_max, pairs, FUZZ_PAIRS, &n);
	if (n > FUZZ_PAIRS || (e == ISCSI_TEXT_OK) != (iscsi_text_error_str(e)[0] == 'o'))
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct iscsi_text_pair *p = &pairs[i];

		if (p->key_len == 0 || p->key_len > ISCSI_TEXT_KEY_MAX || p->value_len > value_max)
			abort();
		if ((const uint8_t *)p->key < copy || (const uint8_t *)p->value + p->value_len >= copy + size)
			abort();
		if (p->key[p->key_len] != '=' || p->value[p->value_len] != '\0' ||
		    memchr(p->key, '\0', p->key_len))
			abort();
		for (size_t j = 0; j < i; j++)
			if (pairs[j].key_len == p->key_len && !memcmp(pairs[j].key, p->key, p->key_len))
				abort();
	}
	if (e == ISCSI_TEXT_OK) {
		rebuilt = malloc(size ? size : 1);
		if (!rebuilt)
			abort();
		iscsi_text_buf_init(&b, rebuilt, size);
		for (size_t i = 0; i < n; i++) {
			char key[ISCSI_TEXT_KEY_MAX + 1];

			memcpy(key, pairs[i].key, pairs[i].key_len);
			key[pairs[i].key_len] = '\0';
			if (iscsi_text_append_n(&b, key, pairs[i].value, pairs[i].value_len))
				abort();
		}
		if (b.len != size || memcmp(rebuilt, copy, size) != 0)
			abort();
		free(rebuilt);
	}
	free(copy);
	return 0;
}
