#include "control/config_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

char *config_file_read(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;
	while (mem && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	int read_err = ferror(f) ? errno : 0;
	fclose(f);
	if (!mem || fclose(mem) != 0 || read_err) {
		free(text);
		errno = read_err ? read_err : ENOMEM;
		return NULL;
	}
	return text;
}

int config_file_save(const char *path, const char *text)
{
	char *tmp = NULL, *dir_copy = strdup(path);
	if (!dir_copy || asprintf(&tmp, "%s.tmp", path) < 0) {
		free(dir_copy);
		return -ENOMEM;
	}
	/* 0600: the document holds CHAP secrets. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int ret = fd < 0 ? -errno : 0;
	size_t len = strlen(text), off = 0;
	while (ret == 0 && off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno != EINTR)
			ret = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	/* A temporary file a crash left behind keeps its mode through
	 * O_TRUNC, and the umask may narrow 0600: make it exactly that. */
	if (ret == 0 && (fchmod(fd, 0600) < 0 || fsync(fd) < 0))
		ret = -errno;
	if (fd >= 0 && close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
	} else {
		/* The rename is durable once the directory is. It has been
		 * made, so the new document is the file's now: a failure here
		 * is only logged. */
		int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) < 0)
			log_warn("configuration saved to %s, but syncing its directory failed: %s", path,
				 strerror(errno));
		if (dfd >= 0)
			close(dfd);
	}
	free(tmp);
	free(dir_copy);
	return ret;
}
