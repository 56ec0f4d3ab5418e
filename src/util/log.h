/* Logging to stderr, one line per event naming the object it concerns.
 * When stderr is journald's stream (JOURNAL_STREAM names its device and
 * inode), lines go to the journal directly instead, with their PRIORITY
 * and, from the call sites that know them, the fields TARGET=,
 * INITIATOR= and ITT= (journalctl TARGET=iqn...). */
#ifndef LUNAR_UTIL_LOG_H
#define LUNAR_UTIL_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LL_ERROR, LL_WARN, LL_INFO, LL_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; returns 0 or -1. */
int log_parse_level(const char *name, enum log_level *level);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* What a line is about, for the journal's fields; NULL / has_itt false
 * where unknown. The message text names them too: on plain stderr the
 * fields are not printed. */
struct log_fields {
	const char *target, *initiator;
	uint32_t itt;
	bool has_itt;
};

void log_msg_fields(enum log_level level, const struct log_fields *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LL_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { if (log_get_level() >= LL_DEBUG) log_msg(LL_DEBUG, __VA_ARGS__); } while (0)

/* Messages a peer can trigger at will (a connection flood, a stream of bad
 * requests) go through a limit per call site, so that no peer can fill the
 * log: at most LOG_LIMIT_BURST lines per LOG_LIMIT_WINDOW_MS, and the
 * first line after a quiet spell says how many were dropped. */
#define LOG_LIMIT_BURST 10u
#define LOG_LIMIT_WINDOW_MS 1000u

struct log_limit {
	uint64_t window_start_ms;
	unsigned in_window;   /* lines logged since window_start_ms */
	unsigned suppressed;  /* lines dropped since the last one logged */
};

/* Pure: whether a line at now_ms may go out; when it may, *suppressed gets
 * the count dropped before it (and the limit forgets them). */
bool log_limit_allow(struct log_limit *l, uint64_t now_ms, unsigned *suppressed);
void log_msg_limited(struct log_limit *l, enum log_level level, const struct log_fields *f,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Each use is its own call site with its own limit. Below the log level
 * the arguments (escaped names) are not even computed. */
#define log_limited_(level, fields, ...) \
	do { \
		static struct log_limit log_limit_; \
		if (log_get_level() >= (level)) \
			log_msg_limited(&log_limit_, level, fields, __VA_ARGS__); \
	} while (0)
#define log_warn_limited(...) log_limited_(LL_WARN, NULL, __VA_ARGS__)
#define log_info_limited(...) log_limited_(LL_INFO, NULL, __VA_ARGS__)
/* The same with journal fields (a const struct log_fields *). */
#define log_warn_limited_fields(fields, ...) log_limited_(LL_WARN, fields, __VA_ARGS__)
#define log_info_limited_fields(fields, ...) log_limited_(LL_INFO, fields, __VA_ARGS__)

#endif
