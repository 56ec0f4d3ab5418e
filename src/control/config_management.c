/* The "management" group: where the management socket lives and who may
 * use it (docs/MANAGEMENT.md). Read at start-up; a reload does not move
 * the socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "control/config_walk.h"

/* A socket path fits struct sockaddr_un with its NUL. */
#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static int config_key_socket(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
			     void *obj)
{
	const char *v;
	if (config_get_string(c, s, &v) < 0)
		return -1;
	if (v[0] != '/')
		return config_fail(c, s, NULL, "must be an absolute path");
	if (strlen(v) > SOCKET_PATH_MAX)
		return config_fail(c, s, NULL, "must be at most %zu bytes (a Unix socket's path)", SOCKET_PATH_MAX);
	return config_store_string(c, s, (char **)((char *)obj + k->off), v);
}

/* Octal digits as chmod takes them: `mode = 0660;` (libconfig reads the
 * literal as decimal 660, whose digits are what the user wrote) or
 * `mode = "0660";`. */
static int config_key_mode(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
			   void *obj)
{
	char digits[24];
	int type = config_setting_type(s);
	if (type == CONFIG_TYPE_STRING)
		snprintf(digits, sizeof(digits), "%s", config_setting_get_string(s));
	else if (type == CONFIG_TYPE_INT && config_setting_get_int(s) >= 0)
		snprintf(digits, sizeof(digits), "%d", config_setting_get_int(s));
	else
		digits[0] = '\0';
	char *end;
	errno = 0;
	unsigned long mode = strtoul(digits, &end, 8);
	if (!digits[0] || *end || errno || mode > 0777)
		return config_fail(c, s, NULL, "must be a file mode in octal, like 0600 or \"0660\"");
	/* Connecting needs write permission; a mode that gives the owner none
	 * locks root out too, when lunard runs as another user. */
	if (!(mode & 0200))
		return config_fail(c, s, NULL, "must let the owner write (0600 or more)");
	*(unsigned *)((char *)obj + k->off) = (unsigned)mode;
	return 0;
}

static const struct config_key management_keys[] = {
	{ KEY("socket", config_key_socket, struct config_management, socket) },
	{ KEY("mode", config_key_mode, struct config_management, mode) },
	/* a group name; POSIX puts no limit, 255 catches garbage */
	{ KEY("group", config_key_string, struct config_management, group), .max = 255 },
};

int config_key_management(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
			  void *obj)
{
	return config_walk_group(c, s, management_keys, ARRAY_SIZE(management_keys), (char *)obj + k->off, NULL);
}

void config_management_free(struct config_management *m)
{
	free(m->socket);
	free(m->group);
	memset(m, 0, sizeof(*m));
}
