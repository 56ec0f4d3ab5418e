/* Walking iovec arrays: a task's data is a row of pool chunks, and a PDU,
 * a backend I/O or a comparison covers any byte range of it. */
#ifndef LUNAR_UTIL_IOV_H
#define LUNAR_UTIL_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Fills dst with the entries that cover bytes [off, off + len) of src's n
 * entries (the first and last trimmed), at most max of them. Returns how
 * many; they cover less than len only when src or max runs out. */
unsigned iov_slice(const struct iovec *src, unsigned n, size_t off, size_t len,
		   struct iovec *dst, unsigned max);
/* How many entries iov_slice would fill for that range. */
unsigned iov_slice_count(const struct iovec *src, unsigned n, size_t off, size_t len);
/* Copies len flat bytes into the iovecs from byte off on (scatter), or
 * from them (gather); stops where the iovecs end. */
void iov_scatter(const struct iovec *iov, unsigned n, size_t off, const void *src, size_t len);
void iov_gather(const struct iovec *iov, unsigned n, size_t off, void *dst, size_t len);
/* The offset of the first of len bytes where the iovecs and flat differ
 * (bytes past the iovecs' end count as different), or len when they are
 * equal. */
size_t iov_mismatch(const struct iovec *iov, unsigned n, const uint8_t *flat, size_t len);

#endif
