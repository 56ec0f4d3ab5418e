#include "bench_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* proc(5): after "pid (comm) " come state (field 3) ... utime (14) and
 * stime (15). comm may hold spaces and parentheses, so fields are counted
 * from its last ')'. */
#define PROC_FIELDS_AFTER_COMM_TO_UTIME 11

int bench_proc_parse_cpu_ticks(const char *stat_text, uint64_t *ticks)
{
	const char *p = strrchr(stat_text, ')');
	uint64_t v[2];

	if (p == NULL)
		return -1;
	p++;
	for (unsigned field = 0; field < PROC_FIELDS_AFTER_COMM_TO_UTIME; field++) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return -1;
		p += strcspn(p, " ");
	}
	for (unsigned i = 0; i < 2; i++) {
		char *end;

		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (errno != 0 || (*end != ' ' && *end != '\0' && *end != '\n'))
			return -1;
		p = end;
	}
	*ticks = v[0] + v[1];
	return 0;
}

/* Reads /proc/PID/NAME whole into text (NUL-terminated); -1 (errno set)
 * when unreadable, or EOVERFLOW when it does not fit. */
static int bench_proc_read(long pid, const char *name, char *text, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/%s", pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, text, len - 1);
	int saved = errno;
	close(fd);
	if (n <= 0) {
		errno = n < 0 ? saved : EIO;
		return -1;
	}
	if ((size_t)n == len - 1) {
		errno = EOVERFLOW;
		return -1;
	}
	text[n] = '\0';
	return 0;
}

int bench_proc_parse_rss_kib(const char *status_text, uint64_t *kib)
{
	static const char key[] = "\nRssAnon:";
	const char *p = strstr(status_text, key);
	char *end;

	if (p == NULL)
		return -1;
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	uint64_t v = strtoull(p, &end, 10);
	if (errno != 0 || strncmp(end, " kB\n", 4) != 0)
		return -1;
	*kib = v;
	return 0;
}

int bench_proc_cpu_ns(long pid, uint64_t *ns)
{
	char text[1024];
	uint64_t ticks;
	long hz = sysconf(_SC_CLK_TCK);

	if (bench_proc_read(pid, "stat", text, sizeof(text)) != 0)
		return -1;
	if (hz <= 0 || bench_proc_parse_cpu_ticks(text, &ticks) != 0) {
		errno = EPROTO;
		return -1;
	}
	*ns = ticks * (1000000000ull / (uint64_t)hz);
	return 0;
}

int bench_proc_rss_kib(long pid, uint64_t *kib)
{
	/* status is about 1.5 KiB on Linux 6; room for fields yet to come. */
	char text[8192];

	if (bench_proc_read(pid, "status", text, sizeof(text)) != 0)
		return -1;
	if (bench_proc_parse_rss_kib(text, kib) != 0) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}
