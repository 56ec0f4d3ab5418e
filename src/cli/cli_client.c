/* One request line out, one answer line back, over the Unix socket. */
#include "cli/cli_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Longer than any change lunard makes: opening a store, saving the
 * document. */
#define CALL_TIMEOUT_S 120

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "lunarctl: %s: path too long for a socket\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = CALL_TIMEOUT_S };
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "lunarctl: cannot reach lunard at %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The answer line, malloc'd without its newline; NULL with errno set
 * (0: lunard closed before a whole line). */
static char *recv_line(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	while (buf) {
		if (len == cap) {
			char *b = realloc(buf, cap * 2);
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n == 0 ? 0 : errno;
			break;
		}
		char *nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			*nl = '\0';
			return buf;
		}
	}
	free(buf);
	return NULL;
}

enum cli_exit cli_call(const char *path, const char *method, json_t *params, bool raw, json_t **result)
{
	json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 1, "method", method, "params",
				params ? params : json_object());
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text) {
		fprintf(stderr, "lunarctl: out of memory\n");
		return CLI_UNREACHABLE;
	}
	int fd = connect_to(path);
	if (fd < 0) {
		free(text);
		return CLI_UNREACHABLE;
	}
	/* A refused client gets its answer at once and the socket closed, so
	 * the request may not go out; the answer is read all the same. */
	bool sent = send_all(fd, text, strlen(text)) == 0 && send_all(fd, "\n", 1) == 0;
	int send_err = errno;
	char *line = recv_line(fd);
	int err = !line && !sent ? send_err : errno;
	close(fd);
	free(text);
	if (!line) {
		fprintf(stderr, "lunarctl: no answer from lunard at %s: %s\n", path,
			err ? strerror(err) : "it closed the connection");
		return CLI_UNREACHABLE;
	}
	json_t *answer = json_loads(line, 0, NULL);
	free(line);
	json_t *error = json_object_get(answer, "error");
	if (error) {
		if (raw) {
			char *e = json_dumps(error, JSON_INDENT(2));
			fprintf(stderr, "%s\n", e ? e : "");
			free(e);
		} else {
			fprintf(stderr, "lunarctl: %s\n", json_string_value(json_object_get(error, "message")));
		}
		json_decref(answer);
		return CLI_REFUSED;
	}
	json_t *res = json_object_get(answer, "result");
	if (!res) {
		fprintf(stderr, "lunarctl: lunard at %s gave no result\n", path);
		json_decref(answer);
		return CLI_UNREACHABLE;
	}
	*result = json_incref(res);
	json_decref(answer);
	return CLI_OK;
}
