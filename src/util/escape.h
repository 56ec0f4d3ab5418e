/* Text from the wire made safe for a log line: an initiator can put any
 * byte into a name, key or value, and a log reader must not be fooled by
 * a forged line break, a terminal escape or a runaway length. */
#ifndef LUNAR_UTIL_ESCAPE_H
#define LUNAR_UTIL_ESCAPE_H

#include <stddef.h>

/* A buffer for one escaped field: about 120 bytes of a name, or fewer
 * when many need escaping, then "...". */
#define LOG_ESCAPE_BUF 128

/* Writes src[0..len) into out[0..cap) (cap >= 8): printable ASCII as
 * it is, except '"' and '\\', and every other byte as \xNN. What does
 * not fit is cut at a whole character and marked with "...". Always
 * NUL-terminates; returns out, so it can stand in a log argument list. */
const char *log_escape(char *out, size_t cap, const void *src, size_t len);
/* The same for a NUL-terminated string. */
const char *log_escape_str(char *out, size_t cap, const char *s);

#endif
