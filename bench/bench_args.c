#include "bench_args.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const bench_pattern_names[] = {
	[BENCH_READ] = "read",
	[BENCH_WRITE] = "write",
	[BENCH_RANDREAD] = "randread",
	[BENCH_RANDWRITE] = "randwrite",
	[BENCH_RANDRW] = "randrw",
};

const char bench_args_usage[] =
	"usage: lunar-bench --url iscsi://HOST:PORT/IQN/LUN [options]\n"
	"  --rw read|write|randread|randwrite|randrw   (default randread)\n"
	"  --rwmix-read PCT    with randrw: percent of reads (default 70)\n"
	"  --bs BYTES          transfer size, e.g. 4k, 128k (default 4k)\n"
	"  --qd N              commands in flight per connection (default 32, max 256)\n"
	"  --seconds S         run time (default 5, max 60)\n"
	"  --max-ios N         stop after N completions (max 100000000)\n"
	"  --span BYTES        region of the LUN to touch (default 256M)\n"
	"  --seed N            seed of the random offsets (default 1)\n"
	"  --connections C     independent sessions in this process (default 1, max 128)\n"
	"  --cpu-pid PID       report the CPU time PID (the target) spent during the run,\n"
	"                      and its resident memory before the logins, after them and at the end\n"
	"  --verify            stamp each written block with its offset, check every read\n"
	"                      (its buffers, qd x connections x bs, at most 1 GiB)\n";

const char *bench_pattern_name(enum bench_pattern p)
{
	return bench_pattern_names[p];
}

bool bench_pattern_is_write(enum bench_pattern p)
{
	return p == BENCH_WRITE || p == BENCH_RANDWRITE;
}

bool bench_pattern_is_random(enum bench_pattern p)
{
	return p == BENCH_RANDREAD || p == BENCH_RANDWRITE || p == BENCH_RANDRW;
}

int bench_parse_size(const char *text, uint64_t *out)
{
	static const struct { char suffix; unsigned shift; } units[] = {
		{ 'k', 10 }, { 'm', 20 }, { 'g', 30 }, { 't', 40 },
	};
	char *end;
	unsigned shift = 0;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	uint64_t v = strtoull(text, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if ((end[0] | 0x20) == units[i].suffix)
				break;
		if (i == sizeof(units) / sizeof(units[0]) || end[1] != '\0')
			return -1;
		shift = units[i].shift;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

static int bench_parse_ranged(const char *text, uint64_t min, uint64_t max,
			      uint64_t *out)
{
	uint64_t v;

	if (bench_parse_size(text, &v) != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int bench_parse_pattern(const char *text, enum bench_pattern *out)
{
	for (size_t i = 0; i < sizeof(bench_pattern_names) / sizeof(bench_pattern_names[0]); i++) {
		if (strcmp(text, bench_pattern_names[i]) == 0) {
			*out = (enum bench_pattern)i;
			return 0;
		}
	}
	return -1;
}

enum {
	OPT_URL = 256, OPT_RW, OPT_BS, OPT_QD, OPT_SECONDS, OPT_MAX_IOS,
	OPT_SPAN, OPT_SEED, OPT_CONNECTIONS, OPT_RWMIX_READ, OPT_CPU_PID,
	OPT_VERIFY, OPT_HELP,
};

static const struct option bench_options[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "rw", required_argument, NULL, OPT_RW },
	{ "bs", required_argument, NULL, OPT_BS },
	{ "qd", required_argument, NULL, OPT_QD },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "max-ios", required_argument, NULL, OPT_MAX_IOS },
	{ "span", required_argument, NULL, OPT_SPAN },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "connections", required_argument, NULL, OPT_CONNECTIONS },
	{ "rwmix-read", required_argument, NULL, OPT_RWMIX_READ },
	{ "cpu-pid", required_argument, NULL, OPT_CPU_PID },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Accepted range of each numeric option. */
static const struct {
	int code;
	const char *name;
	uint64_t min, max;
} bench_ranges[] = {
	{ OPT_BS, "--bs", BENCH_MIN_BS, BENCH_MAX_BS },
	{ OPT_QD, "--qd", 1, BENCH_MAX_QD },
	{ OPT_SECONDS, "--seconds", 1, BENCH_MAX_SECONDS },
	{ OPT_MAX_IOS, "--max-ios", 1, BENCH_MAX_IOS },
	{ OPT_SPAN, "--span", BENCH_MIN_BS, UINT64_MAX },
	{ OPT_SEED, "--seed", 0, UINT64_MAX },
	{ OPT_CONNECTIONS, "--connections", 1, BENCH_MAX_CONNECTIONS },
	{ OPT_RWMIX_READ, "--rwmix-read", 0, 100 },
	{ OPT_CPU_PID, "--cpu-pid", 1, BENCH_MAX_PID },
};

static void bench_store_number(struct bench_args *a, int code, uint64_t v)
{
	switch (code) {
	case OPT_BS: a->bs = (uint32_t)v; break;
	case OPT_QD: a->qd = (unsigned)v; break;
	case OPT_SECONDS: a->seconds = (unsigned)v; break;
	case OPT_MAX_IOS: a->max_ios = v; break;
	case OPT_SPAN: a->span = v; break;
	case OPT_SEED: a->seed = v; break;
	case OPT_CONNECTIONS: a->connections = (unsigned)v; break;
	case OPT_RWMIX_READ: a->rwmix_read = (unsigned)v; break;
	case OPT_CPU_PID: a->cpu_pid = (long)v; break;
	}
}

static int bench_args_check(const struct bench_args *a, char *err, size_t errlen)
{
	if (a->url == NULL) {
		snprintf(err, errlen, "--url is required");
		return -1;
	}
	if (a->bs % BENCH_MIN_BS != 0) {
		snprintf(err, errlen, "--bs %" PRIu32 " is not a multiple of 512", a->bs);
		return -1;
	}
	if (a->span < a->bs || a->span % a->bs != 0) {
		snprintf(err, errlen, "--span %" PRIu64 " is not a positive multiple of --bs %" PRIu32,
			 a->span, a->bs);
		return -1;
	}
	if (a->verify && (uint64_t)a->qd * a->connections * a->bs > BENCH_MAX_VERIFY_BYTES) {
		snprintf(err, errlen, "--verify with --qd %u x --connections %u x --bs %" PRIu32
			 " needs more than 1 GiB of buffers", a->qd, a->connections, a->bs);
		return -1;
	}
	return 0;
}

int bench_args_parse(int argc, char **argv, struct bench_args *out,
		     char *err, size_t errlen)
{
	struct bench_args a = {
		.pattern = BENCH_RANDREAD,
		.bs = 4096,
		.qd = 32,
		.seconds = 5,
		.span = 256ull << 20,
		.seed = 1,
		.connections = 1,
		.rwmix_read = 70,
	};
	int code;

	optind = 0;
	opterr = 0;
	while ((code = getopt_long(argc, argv, "", bench_options, NULL)) != -1) {
		if (code == OPT_URL) {
			a.url = optarg;
			continue;
		}
		if (code == OPT_RW) {
			if (bench_parse_pattern(optarg, &a.pattern) != 0) {
				snprintf(err, errlen, "--rw: unknown pattern '%s'", optarg);
				return -1;
			}
			continue;
		}
		if (code == OPT_VERIFY) {
			a.verify = true;
			continue;
		}
		if (code == OPT_HELP || code == '?' || code == ':') {
			snprintf(err, errlen, "%s", code == OPT_HELP ? "help"
				 : "unknown option or missing argument");
			return -1;
		}
		for (size_t i = 0; i < sizeof(bench_ranges) / sizeof(bench_ranges[0]); i++) {
			uint64_t v;

			if (bench_ranges[i].code != code)
				continue;
			if (bench_parse_ranged(optarg, bench_ranges[i].min,
					       bench_ranges[i].max, &v) != 0) {
				snprintf(err, errlen, "%s '%s': expected %" PRIu64 "..%" PRIu64,
					 bench_ranges[i].name, optarg,
					 bench_ranges[i].min, bench_ranges[i].max);
				return -1;
			}
			bench_store_number(&a, code, v);
		}
	}
	if (optind != argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (bench_args_check(&a, err, errlen) != 0)
		return -1;
	*out = a;
	return 0;
}
