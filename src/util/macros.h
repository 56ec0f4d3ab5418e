/* The few helpers every layer needs: the struct that embeds a member, an
 * array's length, a division rounded up and the smaller of two values. One copy, so no file writes its own. */
#ifndef LUNAR_UTIL_MACROS_H
#define LUNAR_UTIL_MACROS_H

#include <stddef.h>
#include <stdint.h>

/* The object of type 'type' whose member 'member' is at ptr. */
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* n divided by d, rounded up: how many d-sized pieces hold n. */
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

#endif
