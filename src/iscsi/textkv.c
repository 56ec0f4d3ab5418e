/* RFC 7143 §6.1 text format: parse and build "key=value\0" sequences. */
#include "iscsi/textkv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* RFC 7143 §6.1: key-name characters are letters, digits, '.', '-', '+',
 * '@' and '_'; '#' appears in public extension keys ("X#name", §13). */
static bool text_key_char_ok(const char *key, size_t i)
{
	char c = key[i];

	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	if (c == '.' || c == '-' || c == '+' || c == '@' || c == '_')
		return true;
	return c == '#' && i == 1 && key[0] == 'X';
}

static bool text_same_key(const struct iscsi_text_pair *a, const struct iscsi_text_pair *b)
{
	return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

static enum iscsi_text_error text_parse_pair(const char *s, size_t n, size_t value_max,
					     struct iscsi_text_pair *p)
{
	const char *eq = memchr(s, '=', n);

	if (!eq)
		return ISCSI_TEXT_NO_EQUALS;
	p->key = s;
	p->key_len = (size_t)(eq - s);
	p->value = eq + 1;
	p->value_len = n - p->key_len - 1;
	if (p->key_len == 0)
		return ISCSI_TEXT_EMPTY_KEY;
	if (p->key_len > ISCSI_TEXT_KEY_MAX)
		return ISCSI_TEXT_KEY_TOO_LONG;
	for (size_t i = 0; i < p->key_len; i++)
		if (!text_key_char_ok(s, i))
			return ISCSI_TEXT_BAD_KEY_CHAR;
	if (p->value_len > value_max)
		return ISCSI_TEXT_VALUE_TOO_LONG;
	return ISCSI_TEXT_OK;
}

enum iscsi_text_error iscsi_text_parse(const uint8_t *buf, size_t len, size_t value_max,
				       struct iscsi_text_pair *pairs, size_t cap,
				       size_t *npairs)
{
	size_t off = 0;

	*npairs = 0;
	while (off < len) {
		const char *s = (const char *)buf + off;
		const char *nul = memchr(s, '\0', len - off);
		struct iscsi_text_pair p;
		enum iscsi_text_error e;

		if (!nul)
			return ISCSI_TEXT_UNTERMINATED;
		e = text_parse_pair(s, (size_t)(nul - s), value_max, &p);
		if (e != ISCSI_TEXT_OK)
			return e;
		/* RFC 7143 §6.2: a key negotiated twice is a protocol error. */
		for (size_t i = 0; i < *npairs; i++)
			if (text_same_key(&pairs[i], &p))
				return ISCSI_TEXT_DUPLICATE;
		if (*npairs == cap)
			return ISCSI_TEXT_TOO_MANY;
		pairs[(*npairs)++] = p;
		off += (size_t)(nul - s) + 1;
	}
	return ISCSI_TEXT_OK;
}

bool iscsi_text_key_is(const struct iscsi_text_pair *p, const char *key)
{
	return strlen(key) == p->key_len && memcmp(p->key, key, p->key_len) == 0;
}

const char *iscsi_text_error_str(enum iscsi_text_error e)
{
	static const char *const names[] = {
		[ISCSI_TEXT_OK] = "ok",
		[ISCSI_TEXT_NO_EQUALS] = "pair without '='",
		[ISCSI_TEXT_EMPTY_KEY] = "empty key",
		[ISCSI_TEXT_KEY_TOO_LONG] = "key longer than 63 bytes",
		[ISCSI_TEXT_BAD_KEY_CHAR] = "invalid character in key",
		[ISCSI_TEXT_VALUE_TOO_LONG] = "value too long",
		[ISCSI_TEXT_UNTERMINATED] = "last pair not NUL-terminated",
		[ISCSI_TEXT_DUPLICATE] = "duplicate key",
		[ISCSI_TEXT_TOO_MANY] = "too many keys",
	};

	if ((size_t)e >= sizeof(names) / sizeof(names[0]))
		return "unknown text error";
	return names[e];
}

void iscsi_text_buf_init(struct iscsi_text_buf *b, uint8_t *data, size_t cap)
{
	b->data = data;
	b->cap = cap;
	b->len = 0;
}

int iscsi_text_append_n(struct iscsi_text_buf *b, const char *key, const char *value,
			size_t value_len)
{
	size_t key_len = strlen(key);
	size_t need = key_len + 1 + value_len + 1;

	if (need > b->cap - b->len)
		return -ENOSPC;
	memcpy(b->data + b->len, key, key_len);
	b->data[b->len + key_len] = '=';
	memcpy(b->data + b->len + key_len + 1, value, value_len);
	b->data[b->len + need - 1] = '\0';
	b->len += need;
	return 0;
}

int iscsi_text_append(struct iscsi_text_buf *b, const char *key, const char *value)
{
	return iscsi_text_append_n(b, key, value, strlen(value));
}

int iscsi_text_append_u32(struct iscsi_text_buf *b, const char *key, uint32_t value)
{
	char num[16];
	int n = snprintf(num, sizeof(num), "%u", value);

	return iscsi_text_append_n(b, key, num, (size_t)n);
}

bool iscsi_text_parse_number(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	unsigned base = 10;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	} else if (len == 0 || (len > 1 && s[0] == '0')) {
		return false;
	}
	for (; i < len; i++) {
		unsigned d;

		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned)(s[i] - '0');
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = (unsigned)(s[i] - 'a' + 10);
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = (unsigned)(s[i] - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}
