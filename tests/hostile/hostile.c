/* lunar-hostile: runs one hostile-peer attack against a live target while
 * well-behaved peers use it, and judges the target by what it costs them.
 *
 * usage: lunar-hostile --attack NAME --pid PID --budget-mib N [--seconds S]
 *                      [--lun N] [--seed N] HOST PORT TARGETNAME
 *        lunar-hostile --list
 *
 * HOST must be a loopback address: this tool attacks.
 * PID is the target's process, whose resident set is sampled. The attack
 * passes when, over its run,
 *   - the target's resident set grows by at most the task-data budget plus
 *     RSS_SLACK_MIB,
 *   - the good session's 4 KiB WRITE/READ pairs keep completing (never
 *     MAX_STALL_MS without one) and read back what they wrote,
 *   - fresh logins keep succeeding, none taking over MAX_STALL_MS,
 *   - the guard region the attack addressed still holds its pattern,
 *   - the target is still running.
 * Prints one "ok NAME: figures" or "FAIL NAME: why | figures" line (and
 * "# " notes); exits 0 on a pass, 1 on a failure, 2 on a usage error. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"
#include "hostile_peer.h"
#include "hostile_rss.h"
#include "wire_check.h"
#include "wire_scsi.h"
#include "wire_xfer.h"

/* Memory the target may use beyond its task-data budget while attacked:
 * connections, sessions, task structs, reply headers and allocator slack. */
#define RSS_SLACK_MIB 32
/* Growth at which an attack is cut short, because the machine is shared:
 * RSS_STOP_EXTRA_MIB past the limit (it has failed already), and never
 * past RSS_STOP_CAP_MIB, whatever the budget (no attack here asks for more
 * than 16 sessions x 128 commands x 64 KiB = 128 MiB of task data). The
 * line then says "cut short"; it fails only if it is over the limit. */
#define RSS_STOP_EXTRA_MIB 256
#define RSS_STOP_CAP_MIB 1024
/* The longest a well-behaved peer may go without a completion. */
#define MAX_STALL_MS 2000
/* Time the target gets after the attack's connections close before the
 * figures are taken, so that work the attack left behind shows too. */
#define SETTLE_MS 500
#define DEFAULT_SECONDS 6
/* setup, peers, settle, teardown and the guard check beyond the attack */
#define RUN_SLACK_S 90
#define WHY_LEN 512

int64_t hostile_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool hostile_attack_over(const struct hostile_env *env)
{
	return atomic_load(env->stop) || hostile_now_ms() >= env->deadline_ms;
}

uint32_t hostile_guard_lba(const struct hostile_env *env)
{
	return GUARD_OFFSET / env->block_size;
}

uint32_t hostile_guard_blocks(const struct hostile_env *env)
{
	return GUARD_BYTES / env->block_size;
}

/* Logs in, learns the block size, and writes (or checks) the guard
 * pattern in ATTACK_IO_BYTES pieces. */
static bool guard_pass(struct hostile_env *env, bool write, char *why, size_t why_len)
{
	uint8_t *want = malloc(GUARD_BYTES), *got = malloc(ATTACK_IO_BYTES);
	struct wire_conn c;
	uint64_t blocks;
	uint32_t bs;
	bool ok = false;

	if (!want || !got) {
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	if (!wire_session_open_capacity(&c, env->target, NULL, &blocks, &bs, why, why_len))
		goto out;
	env->block_size = bs;
	if (blocks * bs < (uint64_t)GUARD_OFFSET + GUARD_BYTES) {
		snprintf(why, why_len, "LUN of %llu bytes is smaller than the guard region's end",
			 (unsigned long long)(blocks * bs));
		goto close;
	}
	wire_fill_pattern(want, GUARD_BYTES, GUARD_SEED);
	for (uint32_t off = 0; off < GUARD_BYTES; off += ATTACK_IO_BYTES) {
		uint32_t lba = (GUARD_OFFSET + off) / bs;

		if (write) {
			if (!wire_write_lba(&c, lba, want + off, ATTACK_IO_BYTES, bs, why, why_len))
				goto close;
			continue;
		}
		if (!wire_read_lba(&c, lba, got, ATTACK_IO_BYTES, bs, why, why_len))
			goto close;
		for (uint32_t i = 0; i < ATTACK_IO_BYTES; i += bs) {
			if (memcmp(got + i, want + off + i, bs)) {
				snprintf(why, why_len, "guard LBA %u changed", lba + i / bs);
				goto close;
			}
		}
	}
	ok = true;
close:
	wire_close(&c);
out:
	free(want);
	free(got);
	return ok;
}

static double mib(uint64_t kib)
{
	return (double)kib / 1024.0;
}

/* Appends "; " and a reason to the failure text. */
__attribute__((format(printf, 3, 4)))
static void fail(char *why, size_t len, const char *fmt, ...)
{
	size_t used = strlen(why);
	va_list ap;

	if (used && used + 2 < len) {
		memcpy(why + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(why + used, len - used, fmt, ap);
	va_end(ap);
}

/* The good session must never go MAX_STALL_MS without a completion; the
 * login peer pauses between logins, so for it the bound is on one login. */
static void judge_peer(const char *who, const struct peer_result *r, bool by_gap, char *why,
		       size_t len)
{
	if (!r->ok)
		fail(why, len, "%s failed: %s", who, r->why);
	else if (!r->ops)
		fail(why, len, "%s completed nothing", who);
	if (by_gap && r->max_gap_ms > MAX_STALL_MS)
		fail(why, len, "%s stalled %u ms (limit %d)", who, r->max_gap_ms, MAX_STALL_MS);
	if (!by_gap && r->max_us / 1000 > MAX_STALL_MS)
		fail(why, len, "%s took %u ms (limit %d)", who, r->max_us / 1000, MAX_STALL_MS);
}

struct outcome {
	struct rss_probe rss;
	uint64_t limit_kib;
	bool cut_short;
	struct peer_result io, login;
	struct attack_stats st;
};

static void print_outcome(const char *name, const char *why, const struct outcome *o)
{
	const struct rss_probe *rss = &o->rss;
	uint64_t grown = rss->peak_kib - rss->base_kib;
	uint64_t after = rss->last_kib > rss->base_kib ? rss->last_kib - rss->base_kib : 0;
	double secs = o->io.elapsed_ms ? o->io.elapsed_ms / 1000.0 : 1.0;

	printf("%s %s: %s%s", *why ? "FAIL" : "ok", name, why, *why ? " | " : "");
	printf("rss +%.1f MiB (limit %.0f, base %.1f, after +%.1f%s); ", mib(grown),
	       mib(o->limit_kib), mib(rss->base_kib), mib(after), o->cut_short ? ", cut short" : "");
	printf("good %.0f IOPS (%llu ops, %llu busy) p50 %.2f ms p99 %.2f ms stall %u ms; ",
	       (double)o->io.ops / secs, (unsigned long long)o->io.ops,
	       (unsigned long long)o->io.busy, o->io.p50_us / 1000.0, o->io.p99_us / 1000.0,
	       o->io.max_gap_ms);
	printf("logins %llu max %.1f ms; attack %llu %s on %u conns, %u closed by target\n",
	       (unsigned long long)o->login.ops, o->login.max_us / 1000.0,
	       (unsigned long long)o->st.pdus, o->st.unit ? o->st.unit : "PDUs", o->st.conns,
	       o->st.closed);
}

struct run {
	const struct attack *attack;
	pid_t pid;
	unsigned budget_mib, seconds;
	struct hostile_env env;
};

static int run_attack(struct run *run)
{
	char why[WHY_LEN] = "", setup[WIRE_WHY_LEN] = "";
	struct peer io, logins;
	struct outcome o = { .limit_kib = ((uint64_t)run->budget_mib + RSS_SLACK_MIB) * 1024 };
	const char *name = run->attack->name;
	atomic_bool stop = false;

	run->env.stop = &stop;
	if (!guard_pass(&run->env, true, setup, sizeof(setup))) {
		printf("FAIL %s: setup: writing the guard pattern: %s\n", name, setup);
		return 1;
	}
	if (!peer_start(&io, PEER_IO, &run->env, setup, sizeof(setup))) {
		printf("FAIL %s: setup: good session: %s\n", name, setup);
		return 1;
	}
	if (!peer_start(&logins, PEER_LOGIN, &run->env, setup, sizeof(setup))) {
		printf("FAIL %s: setup: login peer: %s\n", name, setup);
		peer_finish(&io, &o.io);
		return 1;
	}
	uint64_t stop_kib = o.limit_kib + RSS_STOP_EXTRA_MIB * 1024;
	if (stop_kib > RSS_STOP_CAP_MIB * 1024)
		stop_kib = RSS_STOP_CAP_MIB * 1024;
	if (!rss_probe_start(&o.rss, run->pid, stop_kib, &stop, setup, sizeof(setup))) {
		printf("FAIL %s: setup: %s\n", name, setup);
		peer_finish(&io, &o.io);
		peer_finish(&logins, &o.login);
		return 1;
	}
	if (!o.rss.hwm_reset)
		printf("# %s: could not reset VmHWM; the peak is the sampled one\n", name);
	run->env.deadline_ms = hostile_now_ms() + run->seconds * 1000;
	run->attack->run(&run->env, &o.st);
	struct timespec settle = { .tv_sec = SETTLE_MS / 1000, .tv_nsec = SETTLE_MS % 1000 * 1000000L };
	nanosleep(&settle, NULL);
	peer_finish(&io, &o.io);
	peer_finish(&logins, &o.login);
	rss_probe_stop(&o.rss);
	o.cut_short = atomic_load(&stop);

	if (o.rss.peak_kib - o.rss.base_kib > o.limit_kib)
		fail(why, sizeof(why), "resident set grew %.1f MiB (limit %.0f MiB)",
		     mib(o.rss.peak_kib - o.rss.base_kib), mib(o.limit_kib));
	judge_peer("good session", &o.io, true, why, sizeof(why));
	judge_peer("login peer", &o.login, false, why, sizeof(why));
	if (!guard_pass(&run->env, false, setup, sizeof(setup)))
		fail(why, sizeof(why), "guard check: %s", setup);
	uint64_t rss_now, hwm;
	if (kill(run->pid, 0) < 0 || !rss_read(run->pid, &rss_now, &hwm))
		fail(why, sizeof(why), "target process %d is gone", (int)run->pid);
	print_outcome(name, why, &o);
	return *why ? 1 : 0;
}

static void on_run_timeout(int sig)
{
	static const char msg[] = "FAIL run_timeout: lunar-hostile exceeded its time bound\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(1);
}

/* Where the attackers connect from, beside peers on 127.0.0.1. */
#define ATTACKER_SOURCE "127.0.0.2"

/* An attack tool aims only at this machine: 127.0.0.0/8 or ::1. */
static bool is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return ntohl(a4.s_addr) >> 24 == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Hundreds of attacker sockets: take the hard limit on descriptors. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static bool parse_uint(const char *text, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(text, &end, 0);
	return *text && !*end && !errno && *out <= max;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s --attack NAME --pid PID --budget-mib N [--seconds S] [--lun N]\n"
		"          [--seed N] HOST PORT TARGETNAME\n"
		"       %s --list\n", prog, prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "attack", required_argument, NULL, 'a' },
		{ "pid", required_argument, NULL, 'p' },
		{ "budget-mib", required_argument, NULL, 'b' },
		{ "seconds", required_argument, NULL, 's' },
		{ "lun", required_argument, NULL, 'l' },
		{ "seed", required_argument, NULL, 'r' },
		{ "list", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct wire_target t = { 0 };
	struct run run = { .seconds = DEFAULT_SECONDS };
	unsigned long v, seed = (unsigned long)time(NULL) ^ (unsigned long)getpid();
	int o;

	while ((o = getopt_long(argc, argv, "a:p:b:s:l:r:Lh", opts, NULL)) != -1) {
		switch (o) {
		case 'a':
			run.attack = hostile_attack_find(optarg);
			if (!run.attack) {
				fprintf(stderr, "%s: no attack %s; --list shows them\n", argv[0], optarg);
				return 2;
			}
			continue;
		case 'p':
			if (!parse_uint(optarg, 4194304, &v) || !v)
				break;
			run.pid = (pid_t)v;
			continue;
		case 'b':
			if (!parse_uint(optarg, 1u << 20, &v) || !v)
				break;
			run.budget_mib = (unsigned)v;
			continue;
		case 's':
			if (!parse_uint(optarg, HOSTILE_MAX_SECONDS, &v) || !v)
				break;
			run.seconds = (unsigned)v;
			continue;
		case 'l':
			/* SAM-5 4.7.7 peripheral addressing: LUNs below 256. */
			if (!parse_uint(optarg, 255, &v))
				break;
			t.lun = (uint64_t)v << 48;
			continue;
		case 'r':
			if (!parse_uint(optarg, ~0ul, &seed))
				break;
			continue;
		case 'L':
			hostile_attacks_list();
			return 0;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		}
		usage(stderr, argv[0]);
		return 2;
	}
	if (argc - optind != 3 || !run.attack || !run.pid || !run.budget_mib) {
		usage(stderr, argv[0]);
		return 2;
	}
	t.host = argv[optind];
	t.port = argv[optind + 1];
	t.name = argv[optind + 2];
	if (!is_loopback(t.host)) {
		fprintf(stderr, "%s: HOST must be a loopback address (127.0.0.0/8 or ::1)\n", argv[0]);
		return 2;
	}
	run.env.target = &t;
	struct wire_target attacker = t;
	if (strncmp(t.host, "127.", 4) == 0)
		attacker.source = ATTACKER_SOURCE;
	run.env.attacker = &attacker;
	raise_fd_limit();
	/* A peer that ended early has closed its stop pipe; writing to it must
	 * fail, not kill the runner. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_run_timeout);
	alarm(run.seconds + RUN_SLACK_S);
	printf("# %s: %s for %u s, seed %lu\n", run.attack->name, run.attack->what, run.seconds, seed);
	hostile_attacks_seed(seed);
	return run_attack(&run);
}
