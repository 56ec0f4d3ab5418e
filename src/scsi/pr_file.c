#include "scsi/pr_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

#define PR_FILE_MAGIC "lunar persistent reservations 1"
/* The text of PR_MAX_REGS registrations with the longest names. */
#define PR_FILE_MAX (256 + PR_MAX_REGS * (PR_PORT_NAME_MAX + 48))

int pr_file_path(char *buf, size_t cap, const char *dir, const char *target, uint16_t lun)
{
	int n = snprintf(buf, cap, "%s/pr-", dir);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	size_t len = (size_t)n;
	/* An iSCSI name has no '/', but the file name must not depend on it. */
	for (const char *c = target; *c && len + 1 < cap; c++)
		buf[len++] = (*c == '/' || *c == ' ') ? '_' : *c;
	n = snprintf(buf + len, cap - len, "-lun%u.state", lun);
	if (n < 0 || (size_t)n >= cap - len)
		return -ENAMETOOLONG;
	return 0;
}

/* Appends to buf; false when it does not fit. */
__attribute__((format(printf, 4, 5)))
static bool pr_file_append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *len)
		return false;
	*len += (size_t)n;
	return true;
}

size_t pr_file_format(const struct pr_state *s, char *buf, size_t cap)
{
	size_t len = 0;
	if (!pr_file_append(buf, cap, &len, "%s\ngeneration %" PRIu32 "\nreservation %d %d\n",
			    PR_FILE_MAGIC, s->generation, (int)s->type, s->holder))
		return 0;
	for (unsigned i = 0; i < s->nregs; i++)
		if (!pr_file_append(buf, cap, &len, "registration %016" PRIx64 " %u %s\n",
				    s->regs[i].key, s->regs[i].rel_port, s->regs[i].initiator))
			return 0;
	if (!pr_file_append(buf, cap, &len, "end %u\n", s->nregs))
		return 0;
	return len;
}

/* The next line of *text, NUL-terminated in place; NULL at the end. */
static char *pr_file_line(char **text)
{
	char *line = *text;
	char *nl = strchr(line, '\n');
	if (!nl)
		return NULL;
	*nl = '\0';
	*text = nl + 1;
	return line;
}

static int pr_file_parse_reg(const char *line, struct pr_reg *reg)
{
	uint64_t key;
	unsigned port;
	int name_at = 0;
	if (sscanf(line, "registration %" SCNx64 " %u %n", &key, &port, &name_at) != 2 ||
	    !name_at || port > UINT16_MAX)
		return -EINVAL;
	const char *name = line + name_at;
	size_t len = strlen(name);
	if (len == 0 || len > PR_PORT_NAME_MAX || strchr(name, ' '))
		return -EINVAL;
	memcpy(reg->initiator, name, len + 1);
	reg->key = key;
	reg->rel_port = (uint16_t)port;
	return 0;
}

static int pr_file_parse_in(char *text, struct pr_state *s)
{
	char *line = pr_file_line(&text);
	if (!line || strcmp(line, PR_FILE_MAGIC) != 0)
		return -EINVAL;
	if (!(line = pr_file_line(&text)) || sscanf(line, "generation %" SCNu32, &s->generation) != 1)
		return -EINVAL;
	int type, holder;
	if (!(line = pr_file_line(&text)) || sscanf(line, "reservation %d %d", &type, &holder) != 2)
		return -EINVAL;
	unsigned end;
	while ((line = pr_file_line(&text))) {
		if (sscanf(line, "end %u", &end) == 1)
			break;
		if (s->nregs == PR_MAX_REGS || pr_file_parse_reg(line, &s->regs[s->nregs]) < 0)
			return -EINVAL;
		s->nregs++;
	}
	/* The end line makes a file cut short anywhere unreadable. */
	if (!line || end != s->nregs || *text)
		return -EINVAL;
	s->type = (enum pr_type)type;
	s->holder = holder;
	s->aptpl = true;
	return pr_state_valid(s) ? 0 : -EINVAL;
}

int pr_file_parse(const char *text, struct pr_state *s)
{
	char *copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	pr_state_init(s);
	int ret = pr_file_parse_in(copy, s);
	free(copy);
	if (ret < 0)
		pr_state_init(s);
	return ret;
}

static int pr_file_sync_dir(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int ret = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static int pr_file_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int pr_file_save(const char *path, const struct pr_state *s)
{
	char *text = malloc(PR_FILE_MAX);
	char tmp[4096];
	if (!text)
		return -ENOMEM;
	size_t len = pr_file_format(s, text, PR_FILE_MAX);
	int ret = -ENAMETOOLONG;
	if (len && (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) < sizeof(tmp)) {
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		ret = fd < 0 ? -errno : pr_file_write_all(fd, text, len);
		if (fd >= 0 && ret == 0 && fsync(fd) < 0)
			ret = -errno;
		if (fd >= 0)
			close(fd);
		if (ret == 0 && rename(tmp, path) < 0)
			ret = -errno;
		if (ret == 0)
			ret = pr_file_sync_dir(path);
		if (ret < 0 && fd >= 0)
			unlink(tmp);
	}
	free(text);
	if (ret < 0)
		log_error("persistent reservations: cannot save %s: %s", path, strerror(-ret));
	return ret;
}

int pr_file_remove(const char *path)
{
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : -errno;
	return pr_file_sync_dir(path);
}

int pr_file_load(const char *path, struct pr_state *s)
{
	pr_state_init(s);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char *text = malloc(PR_FILE_MAX + 1);
	size_t len = text ? fread(text, 1, PR_FILE_MAX + 1, f) : 0;
	int ret = !text ? -ENOMEM : ferror(f) ? -EIO : len > PR_FILE_MAX ? -EINVAL : 0;
	fclose(f);
	if (ret == 0) {
		text[len] = '\0';
		ret = strlen(text) == len ? pr_file_parse(text, s) : -EINVAL;
	}
	free(text);
	if (ret < 0)
		log_error("persistent reservations: %s is unreadable (%s): starting without them",
			  path, strerror(-ret));
	return ret;
}
