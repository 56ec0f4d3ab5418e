#include "util/iov.h"

#include <string.h>

/* The entry that holds byte *off, with *off made relative to it. */
static unsigned iov_seek(const struct iovec *iov, unsigned n, size_t *off)
{
	unsigned i = 0;
	while (i < n && *off >= iov[i].iov_len) {
		*off -= iov[i].iov_len;
		i++;
	}
	return i;
}

unsigned iov_slice(const struct iovec *src, unsigned n, size_t off, size_t len,
		   struct iovec *dst, unsigned max)
{
	unsigned i = iov_seek(src, n, &off), out = 0;
	for (; i < n && len && out < max; i++, off = 0) {
		size_t take = src[i].iov_len - off;
		if (take > len)
			take = len;
		dst[out++] = (struct iovec){ (char *)src[i].iov_base + off, take };
		len -= take;
	}
	return out;
}

unsigned iov_slice_count(const struct iovec *src, unsigned n, size_t off, size_t len)
{
	unsigned i = iov_seek(src, n, &off), out = 0;
	for (; i < n && len; i++, off = 0) {
		size_t take = src[i].iov_len - off;
		len -= take < len ? take : len;
		out++;
	}
	return out;
}

void iov_scatter(const struct iovec *iov, unsigned n, size_t off, const void *src, size_t len)
{
	const char *p = src;
	for (unsigned i = iov_seek(iov, n, &off); i < n && len; i++, off = 0) {
		size_t take = iov[i].iov_len - off;
		if (take > len)
			take = len;
		memcpy((char *)iov[i].iov_base + off, p, take);
		p += take;
		len -= take;
	}
}

void iov_gather(const struct iovec *iov, unsigned n, size_t off, void *dst, size_t len)
{
	char *p = dst;
	for (unsigned i = iov_seek(iov, n, &off); i < n && len; i++, off = 0) {
		size_t take = iov[i].iov_len - off;
		if (take > len)
			take = len;
		memcpy(p, (const char *)iov[i].iov_base + off, take);
		p += take;
		len -= take;
	}
}

size_t iov_mismatch(const struct iovec *iov, unsigned n, const uint8_t *flat, size_t len)
{
	size_t at = 0;
	for (unsigned i = 0; i < n && at < len; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t take = iov[i].iov_len < len - at ? iov[i].iov_len : len - at;
		if (memcmp(p, flat + at, take) != 0) {
			for (size_t k = 0; k < take; k++)
				if (p[k] != flat[at + k])
					return at + k;
		}
		at += take;
	}
	return at < len ? at : len;
}
