#include "util/escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char ellipsis[] = "...";

static bool escape_plain(uint8_t c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static size_t escaped_len(uint8_t c)
{
	return escape_plain(c) ? 1 : 4;
}

const char *log_escape(char *out, size_t cap, const void *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *in = src;
	size_t whole = 0;
	for (size_t i = 0; i < len && whole < cap; i++)
		whole += escaped_len(in[i]);
	/* Cut text keeps room for the ellipsis and the NUL. */
	size_t room = whole < cap ? cap - 1 : cap - sizeof(ellipsis);
	size_t o = 0, i = 0;
	for (; i < len && o + escaped_len(in[i]) <= room; i++) {
		if (escape_plain(in[i])) {
			out[o++] = (char)in[i];
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[in[i] >> 4];
			out[o++] = hex[in[i] & 0xf];
		}
	}
	if (i < len) {
		memcpy(out + o, ellipsis, sizeof(ellipsis) - 1);
		o += sizeof(ellipsis) - 1;
	}
	out[o] = '\0';
	return out;
}

const char *log_escape_str(char *out, size_t cap, const char *s)
{
	return log_escape(out, cap, s, strlen(s));
}
