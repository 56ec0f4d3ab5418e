/* lunar-hostile: what the attacks, the well-behaved peers and the runner
 * share. One attack runs per invocation (tests/hostile/run.sh runs them
 * all), against a target with a file-backed LUN of at least GUARD_END. */
#ifndef LUNAR_HOSTILE_H
#define LUNAR_HOSTILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "wire_conn.h"

/* The LUN's byte ranges. The good session reads and writes its own
 * region; attackers address only the guard region, whose contents no
 * attack may change (the runner fills it with a known pattern first). */
#define GOOD_REGION_OFFSET 0u
#define GOOD_REGION_BYTES (16u << 20)
#define GUARD_OFFSET (256u << 20)
#define GUARD_BYTES (4u << 20)
#define GUARD_SEED 0xa5

/* The longest an attack may run (--seconds). */
#define HOSTILE_MAX_SECONDS 60

/* The size of an attacker's READ or WRITE. */
#define ATTACK_IO_BYTES (64u * 1024u)

struct hostile_env {
	const struct wire_target *target;
	/* The same target reached from another loopback address (127.0.0.2
	 * when the target is on 127.0.0.0/8): caps per source address then
	 * bound the attacker, not the good peers beside it, as on a real
	 * network where they are different hosts. */
	const struct wire_target *attacker;
	uint32_t block_size;
	int64_t deadline_ms;     /* when the attack stops (CLOCK_MONOTONIC) */
	/* Set by the memory sampler once the target is far over its limit:
	 * the attack has made its point, and the machine is shared. */
	atomic_bool *stop;
};

/* True once the attack must end: its deadline passed, or env->stop. */
bool hostile_attack_over(const struct hostile_env *env);

/* What an attack did, printed beside the figures. */
struct attack_stats {
	unsigned conns;          /* connections opened */
	unsigned closed;         /* of those, closed by the target */
	uint64_t pdus;           /* PDUs sent, or bytes where unit says so */
	const char *unit;        /* what pdus counts; NULL means "PDUs" */
};

struct attack {
	const char *name;
	const char *what;
	/* Runs until hostile_attack_over() and closes everything it opened. */
	void (*run)(const struct hostile_env *env, struct attack_stats *st);
};

const struct attack *hostile_attack_find(const char *name);
/* The attacks' random choices (junk bytes, LBAs, stray CmdSNs) follow it. */
void hostile_attacks_seed(uint64_t seed);
void hostile_attacks_list(void);

int64_t hostile_now_ms(void);
uint32_t hostile_guard_lba(const struct hostile_env *env);
uint32_t hostile_guard_blocks(const struct hostile_env *env);

#endif
