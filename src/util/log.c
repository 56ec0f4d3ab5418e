#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
/* CODE_FILE= and friends would name this file, not the call site. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "util/clock.h"

static enum log_level current_level = LL_INFO;

static const char *const level_names[] = {
	[LL_ERROR] = "error", [LL_WARN] = "warn", [LL_INFO] = "info", [LL_DEBUG] = "debug",
};

static const int level_priorities[] = {
	[LL_ERROR] = LOG_ERR, [LL_WARN] = LOG_WARNING, [LL_INFO] = LOG_INFO, [LL_DEBUG] = LOG_DEBUG,
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

static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
static bool to_journal;

/* systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected
 * stdout/stderr to; a redirected stderr keeps its plain lines. */
static void journal_detect(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (env && sscanf(env, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
		to_journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* One journal entry: MESSAGE, PRIORITY and the fields known. */
static void journal_line(enum log_level level, const struct log_fields *f, const char *line)
{
	char fields[6][1100];
	struct iovec iov[6];
	unsigned n = 0;
	snprintf(fields[n++], sizeof(fields[0]), "MESSAGE=%s", line);
	snprintf(fields[n++], sizeof(fields[0]), "PRIORITY=%d", level_priorities[level]);
	snprintf(fields[n++], sizeof(fields[0]), "SYSLOG_IDENTIFIER=lunard");
	if (f && f->target)
		snprintf(fields[n++], sizeof(fields[0]), "TARGET=%s", f->target);
	if (f && f->initiator)
		snprintf(fields[n++], sizeof(fields[0]), "INITIATOR=%s", f->initiator);
	if (f && f->has_itt)
		snprintf(fields[n++], sizeof(fields[0]), "ITT=0x%08x", f->itt);
	for (unsigned i = 0; i < n; i++)
		iov[i] = (struct iovec){ .iov_base = fields[i], .iov_len = strlen(fields[i]) };
	sd_journal_sendv(iov, (int)n);
}

__attribute__((format(printf, 4, 0)))
static void log_vmsg(enum log_level level, unsigned suppressed, const struct log_fields *f,
		     const char *fmt, va_list ap)
{
	char line[1024];
	int len = vsnprintf(line, sizeof(line), fmt, ap);
	pthread_once(&journal_once, journal_detect);
	if (to_journal) {
		if (suppressed && len >= 0 && (size_t)len < sizeof(line))
			snprintf(line + len, sizeof(line) - (size_t)len,
				 " (%u similar messages suppressed)", suppressed);
		journal_line(level, f, line);
		return;
	}
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
	log_vmsg(level, 0, NULL, fmt, ap);
	va_end(ap);
}

void log_msg_fields(enum log_level level, const struct log_fields *f, const char *fmt, ...)
{
	if (level > current_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, 0, f, fmt, ap);
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

void log_msg_limited(struct log_limit *l, enum log_level level, const struct log_fields *f,
		     const char *fmt, ...)
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
	log_vmsg(level, suppressed, f, fmt, ap);
	va_end(ap);
}
