/* lunard's command line: the option table (longopts and the switch in
 * options_parse), the help text, and the check of each value. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/mgmt_server.h"
#include "daemon/options.h"
#include "iscsi/peer_limits.h"
#include "util/log.h"

/* How long initiators have to log out at SIGTERM unless --shutdown-timeout
 * says otherwise. */
#define SHUTDOWN_LOGOUT_DEFAULT_S 10

static void usage(FILE *out)
{
	struct iscsi_limits defaults;
	iscsi_limits_default(&defaults);
	fprintf(out,
		"usage: lunard [options]\n"
		"  -c, --config FILE       targets, LUNs and portals (default: one target with a\n"
		"                          1 GiB sparse-file LUN in the state directory)\n"
		"  -f, --foreground        do not detach; log to stderr\n"
		"  -l, --listen ADDR:PORT  portal to listen on, repeatable (replaces the config's);\n"
		"                          e.g. 0.0.0.0:3260, [::]:3260, 127.0.0.1:3261\n"
		"  -s, --state-dir DIR     where the default LUN lives (default %s)\n"
		"  -t, --threads N         data-plane threads (default: online CPUs)\n"
		"      --cpu-affinity LIST pin the data-plane threads to these CPUs in turn,\n"
		"                          e.g. 0,1 or 2-5 (replaces the config's cpu_affinity)\n"
		"  -T, --login-timeout S   close a connection that has not logged in S seconds\n"
		"                          after it was accepted (default %u)\n"
		"      --max-conns-per-address N\n"
		"                          connections one source address may hold (default %u)\n"
		"  -C, --limit NAME=N      a limit of the config's limits group (docs/CONFIG.md),\n"
		"                          e.g. nop_interval_s=15; 0 turns most off\n"
		"      --metrics ADDR:PORT serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                          (docs/METRICS.md), e.g. 127.0.0.1:9470; loopback only\n"
		"                          unless the config's metrics group has allow_remote\n"
		"  -L, --log-level LEVEL   error, warn, info (default) or debug\n"
		"      --shutdown-timeout S\n"
		"                          on SIGTERM, initiators are asked to log out and\n"
		"                          have S seconds to do it (default %u); 0 closes at once\n"
		"      --mgmt-socket PATH  the management socket for lunarctl (default: the\n"
		"                          config's management.socket, else %s)\n"
		"  -V, --version           print the version\n"
		"  -h, --help              this text\n",
		LUNAR_DEFAULT_STATE_DIR, defaults.login.login_timeout_s,
		defaults.login.max_connections_per_address, SHUTDOWN_LOGOUT_DEFAULT_S,
		MGMT_DEFAULT_SOCKET);
}

static int parse_bounded(const char *option, const char *text, unsigned min, unsigned max,
			 unsigned *out);

/* Records limit name = text for load_config to apply over the config's. */
static int add_limit(struct options *o, const char *option, const char *name, const char *text)
{
	const struct iscsi_limit_key *k = iscsi_limit_find(name);
	if (!k) {
		fprintf(stderr, "lunard: %s: no limit called %s\n", option, name);
		return -1;
	}
	if (o->nlimits == OPTIONS_MAX_LIMITS) {
		fprintf(stderr, "lunard: %s: at most %d limits on the command line\n", option,
			OPTIONS_MAX_LIMITS);
		return -1;
	}
	unsigned value;
	if (parse_bounded(option, text, k->min, k->max, &value) < 0)
		return -1;
	o->limits[o->nlimits].key = k;
	o->limits[o->nlimits++].value = value;
	return 0;
}

/* A decimal option value within [min, max]; says what it wants otherwise. */
static int parse_bounded(const char *option, const char *text, unsigned min, unsigned max,
			 unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(text, &end, 10);
	if (*text == '\0' || *end != '\0' || errno || n < min || n > max) {
		fprintf(stderr, "lunard: %s %s: want a number from %u to %u\n", option, text, min, max);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

/* Long options without a short form. */
enum { OPT_MAX_PER_ADDRESS = 256, OPT_METRICS, OPT_SHUTDOWN_TIMEOUT, OPT_MGMT_SOCKET, OPT_CPU_AFFINITY };

int options_parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "listen", required_argument, NULL, 'l' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "cpu-affinity", required_argument, NULL, OPT_CPU_AFFINITY },
		{ "login-timeout", required_argument, NULL, 'T' },
		{ "max-conns-per-address", required_argument, NULL, OPT_MAX_PER_ADDRESS },
		{ "mgmt-socket", required_argument, NULL, OPT_MGMT_SOCKET },
		{ "limit", required_argument, NULL, 'C' },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "log-level", required_argument, NULL, 'L' },
		{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	o->logout_timeout_s = SHUTDOWN_LOGOUT_DEFAULT_S;
	int c;
	while ((c = getopt_long(argc, argv, "c:fl:s:t:T:C:L:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'l': {
			if (o->nlisten == OPTIONS_MAX_LISTEN) {
				fprintf(stderr, "lunard: at most %d --listen portals\n", OPTIONS_MAX_LISTEN);
				return -1;
			}
			const char *why = config_parse_portal_why(optarg, &o->listen[o->nlisten]);
			if (why) {
				fprintf(stderr, "lunard: --listen %s: %s\n", optarg, why);
				return -1;
			}
			o->nlisten++;
			break;
		}
		case 's':
			o->state_dir = optarg;
			break;
		case 't':
			if (parse_bounded("--threads", optarg, 1, 256, &o->threads) < 0)
				return -1;
			o->threads_set = true;
			break;
		case OPT_CPU_AFFINITY: {
			char why[256];
			if (config_cpus_parse(optarg, &o->cpu_affinity, why, sizeof(why)) < 0) {
				fprintf(stderr, "lunard: --cpu-affinity %s: %s\n", optarg, why);
				return -1;
			}
			break;
		}
		case 'T':
			if (add_limit(o, "--login-timeout", "login_timeout_s", optarg) < 0)
				return -1;
			break;
		case OPT_MAX_PER_ADDRESS:
			if (add_limit(o, "--max-conns-per-address", "max_connections_per_address", optarg) < 0)
				return -1;
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			/* Parameter3 of the Async Message is 16 bits of seconds. */
			if (parse_bounded("--shutdown-timeout", optarg, 0, 3600, &o->logout_timeout_s) < 0)
				return -1;
			break;
		case OPT_MGMT_SOCKET:
			if (optarg[0] != '/') {
				fprintf(stderr, "lunard: --mgmt-socket %s: want an absolute path\n", optarg);
				return -1;
			}
			o->mgmt_socket = optarg;
			break;
		case 'C': {
			const char *eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, "lunard: --limit %s: want NAME=N\n", optarg);
				return -1;
			}
			char *name = strndup(optarg, (size_t)(eq - optarg));
			int ret = name ? add_limit(o, "--limit", name, eq + 1) : -1;
			free(name);
			if (ret < 0)
				return -1;
			break;
		}
		case 'L': {
			enum log_level level;
			if (log_parse_level(optarg, &level) < 0) {
				fprintf(stderr, "lunard: --log-level %s: want error, warn, info or debug\n", optarg);
				return -1;
			}
			log_set_level(level);
			break;
		}
		case OPT_METRICS:
			o->metrics = optarg;
			break;
		case 'V':
			printf("lunard %s\n", LUNAR_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lunard: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}
