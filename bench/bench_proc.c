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

int bench_proc_cpu_ns(long pid, uint64_t *ns)
{
	char path[64], text[1024];
	uint64_t ticks;
	long hz = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, text, sizeof(text) - 1);
	int saved = errno;
	close(fd);
	if (n <= 0) {
		errno = n < 0 ? saved : EIO;
		return -1;
	}
	text[n] = '\0';
	if (hz <= 0 || bench_proc_parse_cpu_ticks(text, &ticks) != 0) {
		errno = EPROTO;
		return -1;
	}
	*ns = ticks * (1000000000ull / (uint64_t)hz);
	return 0;
}
