#include "control/targets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/sendtargets.h"
#include "util/addr.h"
#include "util/log.h"

static struct lunar_target *targets;
static size_t ntargets;
static const struct lunar_config *config;

static int target_build(struct lunar_target *t, const struct config_target *ct)
{
	t->scsi.name = strdup(ct->name);
	t->alias = ct->alias ? strdup(ct->alias) : NULL;
	t->scsi.rel_port = 1;
	t->scsi.tpg = LUNAR_TPGT;
	if (!t->scsi.name || (ct->alias && !t->alias))
		return -ENOMEM;
	for (size_t i = 0; i < ct->nluns; i++) {
		const struct config_lun *cl = &ct->luns[i];
		struct backend *bs;
		int ret = backend_open(&cl->bs, &bs);
		if (ret < 0) {
			log_error("target %s LUN %u: cannot open its backing store", ct->name, cl->lun);
			return ret;
		}
		t->stores[cl->lun] = bs;
		struct scsi_lu_config lc = { .lun = cl->lun, .bs = bs, .serial = cl->serial };
		t->scsi.lus[cl->lun] = scsi_lu_create(&lc, ct->name);
		if (!t->scsi.lus[cl->lun])
			return -EINVAL;
		char what[256];
		backend_config_describe(&cl->bs, what, sizeof(what));
		log_info("target %s LUN %u: %s, %llu bytes in %u-byte blocks", ct->name, cl->lun, what,
			 (unsigned long long)bs->size, bs->block_size);
	}
	return 0;
}

int targets_build(const struct lunar_config *cfg)
{
	config = cfg;
	targets = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*targets));
	if (!targets)
		return -ENOMEM;
	ntargets = cfg->ntargets;
	for (size_t i = 0; i < cfg->ntargets; i++) {
		int ret = target_build(&targets[i], &cfg->targets[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void targets_free(void)
{
	for (size_t i = 0; i < ntargets; i++) {
		struct lunar_target *t = &targets[i];
		for (unsigned l = 0; l < SCSI_MAX_LUNS; l++) {
			if (t->scsi.lus[l])
				scsi_lu_destroy(t->scsi.lus[l]);
			if (t->stores[l])
				backend_close(t->stores[l]);
		}
		free(t->scsi.name);
		free(t->alias);
	}
	free(targets);
	targets = NULL;
	ntargets = 0;
}

size_t targets_count(void)
{
	return ntargets;
}

struct lunar_target *targets_at(size_t i)
{
	return &targets[i];
}

void *targets_find(const char *name)
{
	for (size_t i = 0; i < ntargets; i++)
		if (strcmp(targets[i].scsi.name, name) == 0)
			return &targets[i];
	return NULL;
}

struct scsi_target *targets_scsi(void *target)
{
	return &((struct lunar_target *)target)->scsi;
}

const char *targets_alias(void *target)
{
	return ((struct lunar_target *)target)->alias;
}

#define MAX_ST_PORTALS 64

struct portal_list {
	struct iscsi_st_portal portals[MAX_ST_PORTALS];
	char text[MAX_ST_PORTALS][ADDR_TEXT_MAX];
	size_t n;
};

static void portal_list_add(struct portal_list *pl, const struct sockaddr *sa, uint16_t port)
{
	if (pl->n == MAX_ST_PORTALS)
		return;
	/* Link-local addresses need a zone the initiator cannot know. */
	if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)sa)->sin6_addr))
		return;
	char *out = pl->text[pl->n];
	addr_format(sa, port, out, sizeof(pl->text[0]));
	pl->portals[pl->n] = (struct iscsi_st_portal){ .addr = out, .tpgt = LUNAR_TPGT };
	pl->n++;
}

static bool addr_is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static void portal_list_build(struct portal_list *pl)
{
	struct ifaddrs *ifs = NULL;
	for (size_t i = 0; i < config->nportals; i++) {
		const struct sockaddr_storage *ss = &config->portals[i].addr;
		uint16_t port = addr_port((const struct sockaddr *)ss);
		if (!addr_is_wildcard(ss)) {
			portal_list_add(pl, (const struct sockaddr *)ss, port);
			continue;
		}
		if (!ifs && getifaddrs(&ifs) < 0) {
			log_warn("SendTargets: getifaddrs: %s", strerror(errno));
			continue;
		}
		for (struct ifaddrs *ifa = ifs; ifa; ifa = ifa->ifa_next)
			if (ifa->ifa_addr && ifa->ifa_addr->sa_family == ss->ss_family)
				portal_list_add(pl, ifa->ifa_addr, port);
	}
	if (ifs)
		freeifaddrs(ifs);
}

int targets_sendtargets(const char *value, const char *session_target,
			char *out, size_t cap)
{
	struct portal_list *pl = calloc(1, sizeof(*pl));
	struct iscsi_st_target *st = calloc(ntargets ? ntargets : 1, sizeof(*st));
	int ret = -ENOMEM;
	if (pl && st) {
		portal_list_build(pl);
		for (size_t i = 0; i < ntargets; i++)
			st[i] = (struct iscsi_st_target){
				.name = targets[i].scsi.name, .portals = pl->portals, .nportals = pl->n,
			};
		size_t len = 0;
		ret = iscsi_sendtargets_build(value, session_target == NULL, session_target, st,
					      ntargets, (uint8_t *)out, cap, &len);
		/* Too long: the whole pairs that fit are still a useful answer. */
		if (ret == 0 || ret == -ENOSPC)
			ret = (int)len;
	}
	free(pl);
	free(st);
	return ret;
}
