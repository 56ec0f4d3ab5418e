#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/clock.h"

static enum log_level current_level = LL_INFO;

static const char *const level_names[] = {
	[LL_ERROR] = "error", [LL_WARN] = "warn", [LL_INFO] = "info", [LL_DEBUG] = "debug",
};

/* Call sites' limits may be shared by every loop thread. */
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

int log_parse_level(const char *name, enum log_level *level)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

__attribute__((format(printf, 3, 0)))
static void log_vmsg(enum log_level level, unsigned suppressed, const char *fmt, va_list ap)
{
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	/* One fprintf per line so lines from data-plane threads do not interleave. */
	if (suppressed)
		fprintf(stderr, "lunard[%s]: %s (%u similar messages suppressed)\n",
			level_names[level], line, suppressed);
	else
		fprintf(stderr, "lunard[%s]: %s\n", level_names[level], line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, 0, fmt, ap);
	va_end(ap);
}

bool log_limit_allow(struct log_limit *l, uint64_t now_ms, unsigned *suppressed)
{
	if (l->in_window == 0 || now_ms - l->window_start_ms >= LOG_LIMIT_WINDOW_MS) {
		l->window_start_ms = now_ms;
		l->in_window = 0;
	}
	if (l->in_window == LOG_LIMIT_BURST) {
		l->suppressed++;
		return false;
	}
	l->in_window++;
	*suppressed = l->suppressed;
	l->suppressed = 0;
	return true;
}

void log_msg_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
{
	if (level > current_level)
		return;
	unsigned suppressed;
	pthread_mutex_lock(&limit_lock);
	bool allowed = log_limit_allow(l, clock_now_ms(), &suppressed);
	pthread_mutex_unlock(&limit_lock);
	if (!allowed)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, suppressed, fmt, ap);
	va_end(ap);
}
