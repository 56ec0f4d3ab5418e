/* Pure parsers for the values a config holds: sizes, iSCSI names, portals. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"

static const struct {
	char suffix;
	unsigned shift;
} config_size_units[] = {
	{ 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
};

int config_parse_size(const char *text, uint64_t *bytes)
{
	if (!isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	char *end;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno || n == 0)
		return -1;
	unsigned shift = 0;
	if (*end) {
		size_t i, nunits = sizeof(config_size_units) / sizeof(config_size_units[0]);
		for (i = 0; i < nunits; i++)
			if (toupper((unsigned char)*end) == config_size_units[i].suffix)
				break;
		if (i == nunits || end[1])
			return -1;
		shift = config_size_units[i].shift;
	}
	if (n > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)n << shift;
	return 0;
}

static bool config_name_char_ok(char c)
{
	/* RFC 3722 normalizes names to lowercase; of ASCII it allows
	 * letters, digits, '-', '.' and ':'. */
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':';
}

static const char *config_check_hex(const char *s, size_t n1, size_t n2)
{
	size_t len = strlen(s);
	if (len != n1 && len != n2)
		return n1 == n2 ? "needs exactly 16 hex digits after the type" : "needs 16 or 32 hex digits after \"naa.\"";
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return "has a character that is not a hex digit";
	return NULL;
}

/* RFC 7143 §4.2.7.4: "iqn." yyyy-mm "." reversed-domain [":" anything]. */
static const char *config_check_iqn(const char *s)
{
	if (!(isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]) &&
	      isdigit((unsigned char)s[3]) && s[4] == '-' && isdigit((unsigned char)s[5]) &&
	      isdigit((unsigned char)s[6]) && s[7] == '.'))
		return "needs a date yyyy-mm and a '.' after \"iqn.\"";
	int month = (s[5] - '0') * 10 + (s[6] - '0');
	if (month < 1 || month > 12)
		return "has a month outside 01..12";
	const char *p = s + 8;
	size_t label = 0;
	for (; *p && *p != ':'; p++) {
		if (*p == '.') {
			if (label == 0)
				return "has an empty label in the reversed domain name";
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-') {
			label++;
		} else {
			return "has a character not allowed in a domain name";
		}
	}
	if (label == 0)
		return "needs a reversed domain name after the date, e.g. \"org.example\"";
	if (*p == ':' && p[1] == 0)
		return "has nothing after ':'";
	return NULL;
}

const char *config_check_iscsi_name(const char *name)
{
	size_t len = strlen(name);
	/* RFC 7143 §4.2.7.1 */
	if (len > 223)
		return "is longer than 223 bytes";
	for (size_t i = 0; i < len; i++) {
		if (isupper((unsigned char)name[i]))
			return "must be lowercase (iSCSI names are compared in normalized, lowercase form)";
		if (!config_name_char_ok(name[i]))
			return "may only contain a-z, 0-9, '-', '.' and ':'";
	}
	if (strncmp(name, "iqn.", 4) == 0)
		return config_check_iqn(name + 4);
	if (strncmp(name, "eui.", 4) == 0)
		return config_check_hex(name + 4, 16, 16);
	if (strncmp(name, "naa.", 4) == 0)
		return config_check_hex(name + 4, 16, 32);
	return "must start with \"iqn.\", \"eui.\" or \"naa.\"";
}

static const char *config_parse_port(const char *s, uint16_t *port)
{
	if (!*s)
		return "has no port after ':'";
	unsigned long n = 0;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p) || p - s >= 5)
			return "has a port that is not a number in 1..65535";
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n < 1 || n > 65535)
		return "has a port that is not a number in 1..65535";
	*port = (uint16_t)n;
	return NULL;
}

const char *config_parse_portal_why(const char *text, struct config_portal *portal)
{
	size_t len = strlen(text);
	if (len == 0)
		return "is empty";
	if (len >= sizeof(portal->text))
		return "is too long";
	char host[sizeof(portal->text)];
	const char *port_text = NULL;
	bool v6 = text[0] == '[';
	if (v6) {
		const char *close = strchr(text, ']');
		if (!close)
			return "has '[' without ']'";
		memcpy(host, text + 1, (size_t)(close - text - 1));
		host[close - text - 1] = 0;
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1])
			return "needs ':' and a port after ']'";
	} else {
		const char *colon = strchr(text, ':');
		if (colon && strchr(colon + 1, ':'))
			return "looks like an IPv6 address without brackets; write it as \"[addr]:port\"";
		size_t hlen = colon ? (size_t)(colon - text) : len;
		memcpy(host, text, hlen);
		host[hlen] = 0;
		if (colon)
			port_text = colon + 1;
	}

	uint16_t port = LUNAR_DEFAULT_PORT;
	const char *why = port_text ? config_parse_port(port_text, &port) : NULL;
	if (why)
		return why;

	struct config_portal p = { 0 };
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p.addr;
		if (strchr(host, '%'))
			return "has an IPv6 zone index, which is not supported";
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return "has no valid IPv6 address inside the brackets";
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		p.addrlen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&p.addr;
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			for (const char *c = host; *c; c++)
				if (isalpha((unsigned char)*c))
					return "is a host name; only numeric addresses are accepted (A.B.C.D or [IPv6])";
			return "is not a dotted-quad IPv4 address A.B.C.D";
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		p.addrlen = sizeof(*sin);
	}
	memcpy(p.text, text, len + 1);
	*portal = p;
	return NULL;
}

int config_parse_portal(const char *text, struct config_portal *portal)
{
	return config_parse_portal_why(text, portal) ? -1 : 0;
}
