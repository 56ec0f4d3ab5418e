/* Parsing the "isns" group: the iSNS server lunard registers with
 * (RFC 4171), and how often it re-reads discovery-domain membership. */
#include <stdio.h>
#include <string.h>

#include "control/config_walk.h"

/* "A.B.C.D[:port]" or "[IPv6][:port]"; the iSNS port when none is given
 * (config_parse_portal's default is iSCSI's). */
static int config_key_isns_server(struct config_ctx *c, const config_setting_t *s,
				  const struct config_key *k, void *obj)
{
	struct config_isns *isns = obj;
	const char *text;
	if (config_get_string(c, s, &text) < 0)
		return -1;
	const char *why = config_parse_portal_why(text, &isns->server);
	if (why)
		return config_fail(c, s, NULL, "\"%s\" %s", text, why);
	const char *bracket = strrchr(text, ']');
	bool has_port = bracket ? bracket[1] == ':' : strchr(text, ':') != NULL;
	if (!has_port) {
		char with_port[sizeof(isns->server.text)];
		snprintf(with_port, sizeof(with_port), "%s:%u", text, CONFIG_ISNS_PORT);
		why = config_parse_portal_why(with_port, &isns->server);
		if (why)
			return config_fail(c, s, NULL, "\"%s\" %s", text, why);
	}
	return 0;
}

static const struct config_key isns_keys[] = {
	{ .name = "server", .parse = config_key_isns_server, .required = true },
	{ KEY("dd_refresh_s", config_key_uint, struct config_isns, dd_refresh_s), .min = 1, .max = 3600 },
};

int config_key_isns(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	struct config_isns *isns = (struct config_isns *)((char *)obj + k->off);
	isns->dd_refresh_s = CONFIG_ISNS_DD_REFRESH_S;
	if (config_walk_group(c, s, isns_keys, ARRAY_SIZE(isns_keys), isns, NULL) < 0)
		return -1;
	isns->enabled = true;
	return 0;
}
