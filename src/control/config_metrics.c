/* Parsing the `metrics` group. Counters name initiators and targets, so
 * the endpoint stays on loopback unless the file says otherwise. */
#include "control/config_metrics.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "control/config.h"
#include "control/config_walk.h"

const char *config_metrics_set_listen(struct config_metrics *m, const char *text)
{
	/* config_parse_portal would default the port to iSCSI's 3260. */
	const char *close = text[0] == '[' ? strchr(text, ']') : NULL;
	if (text[0] == '[' ? !close || close[1] != ':' : !strchr(text, ':'))
		return "must be ADDRESS:PORT (e.g. 127.0.0.1:9470 or [::1]:9470)";
	struct config_portal p;
	const char *why = config_parse_portal_why(text, &p);
	if (why)
		return why;
	m->addr = p.addr;
	m->addrlen = p.addrlen;
	snprintf(m->text, sizeof(m->text), "%s", p.text);
	m->enabled = true;
	return NULL;
}

static bool addr_is_loopback(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (a->ss_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(in6) || (IN6_IS_ADDR_V4MAPPED(in6) && in6->s6_addr[12] == 127);
	}
	return false;
}

const char *config_metrics_check(const struct config_metrics *m)
{
	if (m->enabled && !m->allow_remote && !addr_is_loopback(&m->addr))
		return "is not a loopback address: metrics name initiators and targets, so serving them "
		       "elsewhere needs allow_remote = true in the metrics group";
	return NULL;
}

static int config_key_metrics_listen(struct config_ctx *c, const config_setting_t *s,
				     const struct config_key *k, void *obj)
{
	(void)k;
	const char *text;
	if (config_get_string(c, s, &text) < 0)
		return -1;
	const char *why = config_metrics_set_listen(obj, text);
	return why ? config_fail(c, s, NULL, "\"%s\" %s", text, why) : 0;
}

static const struct config_key metrics_keys[] = {
	{ .name = "listen", .parse = config_key_metrics_listen, .required = true },
	{ KEY("allow_remote", config_key_bool, struct config_metrics, allow_remote) },
};

int config_key_metrics(struct config_ctx *c, const config_setting_t *s, const struct config_key *k, void *obj)
{
	struct config_metrics *m = (struct config_metrics *)((char *)obj + k->off);
	if (config_walk_group(c, s, metrics_keys, ARRAY_SIZE(metrics_keys), m, NULL) < 0)
		return -1;
	const char *why = config_metrics_check(m);
	return why ? config_fail(c, config_setting_get_member(s, "listen"), NULL, "\"%s\" %s", m->text, why) : 0;
}
