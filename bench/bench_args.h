/* Command-line options of lunar-bench, parsed without side effects. */
#ifndef LUNAR_BENCH_ARGS_H
#define LUNAR_BENCH_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bench_pattern {
	BENCH_READ,
	BENCH_WRITE,
	BENCH_RANDREAD,
	BENCH_RANDWRITE,
	BENCH_RANDRW,          /* random, each command a read with --rwmix-read % */
};

struct bench_args {
	const char *url;
	enum bench_pattern pattern;
	uint32_t bs;
	unsigned qd;           /* commands in flight per connection */
	unsigned seconds;
	uint64_t max_ios;      /* 0: bounded by time only */
	uint64_t span;
	uint64_t seed;
	unsigned connections;
	unsigned rwmix_read;   /* percent of reads in BENCH_RANDRW */
	long cpu_pid;          /* 0: no target CPU or RSS sampling */
	bool verify;           /* stamp writes with their offset, check reads */
};

/* Every option's accepted range; the load must stay bounded. */
#define BENCH_MAX_SECONDS     60u
#define BENCH_MAX_IOS         100000000ull
#define BENCH_MAX_QD          256u
/* One socket each (libiscsi keeps one fd per context, polled here), far
 * below the usual 1024-descriptor soft limit. */
#define BENCH_MAX_CONNECTIONS 128u
/* --verify gives every command slot its own buffer: qd x connections x bs. */
#define BENCH_MAX_VERIFY_BYTES (1ull << 30)
#define BENCH_MIN_BS          512u
#define BENCH_MAX_BS          (16u << 20)
#define BENCH_MAX_PID         4194304u   /* the kernel's PID_MAX_LIMIT */

const char *bench_pattern_name(enum bench_pattern p);
/* True for the patterns that only write; BENCH_RANDRW decides per command. */
bool bench_pattern_is_write(enum bench_pattern p);
bool bench_pattern_is_random(enum bench_pattern p);

/* "4096", "4k", "128K", "1M", "1g": binary multiples. */
int bench_parse_size(const char *text, uint64_t *out);

/* Returns 0, or -1 with a message in err. Resets getopt's state itself. */
int bench_args_parse(int argc, char **argv, struct bench_args *out,
		     char *err, size_t errlen);

extern const char bench_args_usage[];

#endif
