/* The optional `metrics` group of the config file (docs/METRICS.md): where
 * the Prometheus endpoint listens, and whether it may listen beyond the
 * loopback interface. */
#ifndef LUNAR_CONTROL_CONFIG_METRICS_H
#define LUNAR_CONTROL_CONFIG_METRICS_H

#include <stdbool.h>
#include <sys/socket.h>

#define CONFIG_METRICS_DEFAULT_LISTEN "127.0.0.1:9470"

struct config_metrics {
	bool enabled;                /* a listen address is set */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[80];               /* as given */
	bool allow_remote;           /* addresses other than loopback are allowed */
};

/* "127.0.0.1:9470", "[::1]:9470": an address and a port, both required.
 * Sets m's address and enabled. Returns NULL or why text is refused. */
const char *config_metrics_set_listen(struct config_metrics *m, const char *text);
/* NULL, or why m may not serve: an address other than loopback (the
 * wildcard ones included) without allow_remote. */
const char *config_metrics_check(const struct config_metrics *m);

#endif
