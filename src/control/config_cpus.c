/* The top-level cpu_affinity list: the CPUs the data-plane threads are
 * pinned to, in turn. A CPU must exist and be one lunard may run on now
 * (its affinity mask: taskset, a cgroup's cpuset), so a typo is refused
 * at start or reload rather than failing when a thread is created. */
#include "control/config.h"
#include "control/config_walk.h"

#include <errno.h>
#include <libconfig.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The CPUs in set as "0-3,6", cut short if it does not fit. */
static void cpus_format(const cpu_set_t *set, char *out, size_t len)
{
	size_t at = 0;
	out[0] = '\0';
	for (int cpu = 0; cpu < CPU_SETSIZE && at < len; cpu++) {
		if (!CPU_ISSET(cpu, set))
			continue;
		int last = cpu;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
			last++;
		int w = last == cpu ? snprintf(out + at, len - at, "%s%d", at ? "," : "", cpu)
				    : snprintf(out + at, len - at, "%s%d-%d", at ? "," : "", cpu, last);
		at += w > 0 ? (size_t)w : 0;
		cpu = last;
	}
}

const char *config_cpu_check(long cpu, char *why, size_t len)
{
	long exist = sysconf(_SC_NPROCESSORS_CONF);
	if (cpu < 0 || cpu >= CPU_SETSIZE || (exist > 0 && cpu >= exist)) {
		snprintf(why, len, "CPU %ld does not exist (this machine has CPUs 0-%ld)", cpu,
			 exist > 0 ? exist - 1 : (long)CPU_SETSIZE - 1);
		return why;
	}
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && !CPU_ISSET((int)cpu, &allowed)) {
		char list[128];
		cpus_format(&allowed, list, sizeof(list));
		snprintf(why, len, "CPU %ld is not one lunard may run on (its allowed CPUs: %s)", cpu, list);
		return why;
	}
	return NULL;
}

int config_key_cpu_affinity(struct config_ctx *c, const config_setting_t *s, const struct config_key *k,
			    void *obj)
{
	struct config_cpus *out = (struct config_cpus *)((char *)obj + k->off);
	int n = config_setting_length(s);
	if ((!config_setting_is_array(s) && !config_setting_is_list(s)) || n == 0)
		return config_fail(c, s, NULL, "must be a list of CPU numbers, e.g. [0, 1]; leave it out for no pinning");
	unsigned *cpus = calloc((size_t)n, sizeof(*cpus));
	if (!cpus)
		return config_fail(c, s, NULL, "%s", strerror(ENOMEM));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char why[256];
		if (config_setting_type(e) != CONFIG_TYPE_INT) {
			free(cpus);
			return config_fail(c, e, NULL, "must be a CPU number");
		}
		int cpu = config_setting_get_int(e);
		if (config_cpu_check(cpu, why, sizeof(why))) {
			free(cpus);
			return config_fail(c, e, NULL, "%s", why);
		}
		cpus[i] = (unsigned)cpu;
	}
	free(out->cpu);
	out->cpu = cpus;
	out->n = (size_t)n;
	return 0;
}

int config_cpus_parse(const char *text, struct config_cpus *out, char *why, size_t len)
{
	*out = (struct config_cpus){ 0 };
	const char *p = text;
	for (;;) {
		char *end;
		errno = 0;
		long first = strtol(p, &end, 10), last = first;
		if (end != p && *end == '-') {
			const char *q = end + 1;
			last = strtol(q, &end, 10);
			if (end == q)
				end = (char *)p;
		}
		if (end == p || errno || (*end && *end != ',') || last < first) {
			snprintf(why, len, "want CPU numbers and ranges, e.g. 0,1 or 2-5");
			config_cpus_free(out);
			return -1;
		}
		for (long cpu = first; cpu <= last; cpu++) {
			if (config_cpu_check(cpu, why, len)) {
				config_cpus_free(out);
				return -1;
			}
			unsigned *grown = realloc(out->cpu, (out->n + 1) * sizeof(*grown));
			if (!grown) {
				snprintf(why, len, "%s", strerror(ENOMEM));
				config_cpus_free(out);
				return -1;
			}
			out->cpu = grown;
			out->cpu[out->n++] = (unsigned)cpu;
		}
		if (!*end)
			return 0;
		p = end + 1;
	}
}

int config_cpus_copy(struct config_cpus *dst, const struct config_cpus *src)
{
	unsigned *cpus = NULL;
	if (src->n) {
		cpus = malloc(src->n * sizeof(*cpus));
		if (!cpus)
			return -ENOMEM;
		memcpy(cpus, src->cpu, src->n * sizeof(*cpus));
	}
	free(dst->cpu);
	dst->cpu = cpus;
	dst->n = src->n;
	return 0;
}

bool config_cpus_same(const struct config_cpus *a, const struct config_cpus *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->cpu, b->cpu, a->n * sizeof(*a->cpu)) == 0);
}

void config_cpus_free(struct config_cpus *cpus)
{
	free(cpus->cpu);
	*cpus = (struct config_cpus){ 0 };
}
