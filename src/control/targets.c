#include "control/targets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/acl.h"
#include "iscsi/sendtargets.h"
#include "util/addr.h"
#include "util/escape.h"
#include "util/log.h"
#include "util/quiesce.h"

/* The list is read and changed on the control thread only. */
static struct lunar_target **targets;
static size_t ntargets;
static const struct lunar_config *config;
static struct loop *const *readers;
static unsigned nreaders;

/* Opens the store cl describes and creates its LU over it. */
static int target_lu_open(const char *target_name, const struct config_lun *cl,
			  struct scsi_lu **out)
{
	struct backend *bs;
	int ret = backend_open(&cl->bs, &bs);
	if (ret < 0) {
		log_error("target %s LUN %u: cannot open its backing store", target_name, cl->lun);
		return ret;
	}
	struct scsi_lu_config lc = {
		.lun = cl->lun, .bs = bs, .close_bs = backend_close, .serial = cl->serial,
		.state_dir = config->state_dir, .sanitize_rate = cl->sanitize_rate,
	};
	*out = scsi_lu_create(&lc, target_name);
	if (!*out) {
		backend_close(bs);
		return -EINVAL;
	}
	char what[256];
	backend_config_describe(&cl->bs, what, sizeof(what));
	log_info("target %s LUN %u: %s, %llu bytes in %u-byte blocks", target_name, cl->lun, what,
		 (unsigned long long)bs->size, bs->block_size);
	return 0;
}

static void target_retire_map(void *map)
{
	scsi_lun_map_free(map);
}

/* After a publication: frees the replaced map once no data-plane
 * callback can still be reading it. */
static int target_retire(struct scsi_lun_map *retired)
{
	return quiesce_then(readers, nreaders, target_retire_map, retired);
}

/* Serves lu (taking over the caller's reference) on t. */
static int target_publish_lu(struct lunar_target *t, struct scsi_lu *lu)
{
	struct scsi_lun_map *retired;
	int ret = scsi_target_add_lu(&t->scsi, lu, &retired);
	if (ret < 0) {
		scsi_lu_put(lu);
		return ret;
	}
	if (target_retire(retired) < 0) {
		/* The new map is out: the old one may be in use, so it is kept. */
		log_error("target %s: out of memory: a replaced LUN table is leaked",
			  t->scsi.name);
	}
	return 0;
}

/* Opens the store cl describes and serves it as LUN cl->lun of t. */
static int target_serve_lun(struct lunar_target *t, const struct config_lun *cl)
{
	struct scsi_lu *lu;
	int ret = target_lu_open(t->scsi.name, cl, &lu);
	return ret < 0 ? ret : target_publish_lu(t, lu);
}

static struct lunar_target *target_build(const struct config_target *ct)
{
	struct lunar_target *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	atomic_init(&t->refs, 1);
	t->scsi.name = strdup(ct->name);
	t->alias = ct->alias ? strdup(ct->alias) : NULL;
	t->config = ct;
	t->scsi.rel_port = 1;
	t->scsi.tpg = LUNAR_TPGT;
	if (!t->scsi.name || (ct->alias && !t->alias) || scsi_target_init(&t->scsi) < 0) {
		free(t->scsi.name);
		free(t->alias);
		free(t);
		return NULL;
	}
	return t;
}

static int target_add_luns(struct lunar_target *t, const struct config_target *ct)
{
	for (size_t i = 0; i < ct->nluns; i++) {
		int ret = target_serve_lun(t, &ct->luns[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void target_log_access(const struct config_target *ct)
{
	if (ct->open)
		log_info("target %s is open: any initiator may log in", ct->name);
	else if (ct->nacl == 0)
		log_warn("target %s: no acl and not open: every login is refused (0202)", ct->name);
	else
		log_info("target %s: %zu initiator%s on its acl list", ct->name, ct->nacl, ct->nacl == 1 ? "" : "s");
}

int targets_build(const struct lunar_config *cfg)
{
	config = cfg;
	targets = calloc(cfg->ntargets ? cfg->ntargets : 1, sizeof(*targets));
	if (!targets)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->ntargets; i++) {
		struct lunar_target *t = target_build(&cfg->targets[i]);
		if (!t)
			return -ENOMEM;
		targets[ntargets++] = t;
		target_log_access(&cfg->targets[i]);
		int ret = target_add_luns(t, &cfg->targets[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void targets_free(void)
{
	for (size_t i = 0; i < ntargets; i++)
		targets_put(targets[i]);
	free(targets);
	targets = NULL;
	ntargets = 0;
	readers = NULL;
	nreaders = 0;
}

void targets_set_readers(struct loop *const *loops, unsigned n)
{
	readers = loops;
	nreaders = n;
}

static struct lunar_target *targets_lookup(const char *name)
{
	for (size_t i = 0; i < ntargets; i++)
		if (strcmp(targets[i]->scsi.name, name) == 0)
			return targets[i];
	return NULL;
}

struct lunar_target *targets_get(const char *name)
{
	struct lunar_target *t = targets_lookup(name);
	if (t)
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void targets_put(struct lunar_target *t)
{
	if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	scsi_target_fini(&t->scsi);
	free(t->scsi.name);
	free(t->alias);
	free(t);
}

int targets_add_lun(const char *name, const struct config_lun *cl)
{
	struct lunar_target *t = targets_lookup(name);
	if (!t)
		return -ENOENT;
	int ret = target_serve_lun(t, cl);
	if (ret == -EEXIST)
		log_error("target %s: LUN %u is already served", name, cl->lun);
	return ret;
}

int targets_remove_lun(const char *name, uint16_t lun)
{
	struct lunar_target *t = targets_lookup(name);
	if (!t)
		return -ENOENT;
	struct scsi_lun_map *retired;
	int ret = scsi_target_remove_lu(&t->scsi, lun, &retired);
	if (ret < 0)
		return ret;
	log_info("target %s LUN %u: removed", name, lun);
	if (target_retire(retired) < 0)
		log_error("target %s: out of memory: LUN %u's store stays open", name, lun);
	return 0;
}

void *targets_find(const char *name)
{
	return targets_get(name);
}

void targets_release(void *target)
{
	targets_put(target);
}

struct scsi_target *targets_scsi(void *target)
{
	return &((struct lunar_target *)target)->scsi;
}

const char *targets_alias(void *target)
{
	return ((struct lunar_target *)target)->alias;
}

bool targets_authorize(void *target, const char *initiator_name, const char *chap_user)
{
	const struct lunar_target *t = target;
	if (acl_allows(t->config, initiator_name, chap_user))
		return true;
	char who[LOG_ESCAPE_BUF], user[LOG_ESCAPE_BUF];
	log_escape_str(who, sizeof(who), initiator_name);
	if (acl_find(t->config, initiator_name))
		log_warn_limited("target %s: initiator %s authenticated as \"%s\", not as its access entry's CHAP user: refused",
				 t->scsi.name, who, log_escape_str(user, sizeof(user), chap_user));
	else
		log_warn_limited("target %s: initiator %s is not on its access list: refused",
				 t->scsi.name, who);
	return false;
}

_Static_assert(ACL_LUN_NONE == SCSI_LUN_NONE, "acl.h and scsi.h mark a masked LUN alike");

int targets_lun_view(void *target, const char *initiator_name, struct scsi_lun_view **view)
{
	const struct lunar_target *t = target;
	uint16_t map[SCSI_MAX_LUNS];
	*view = NULL;
	if (!acl_lun_map(t->config, initiator_name, map, SCSI_MAX_LUNS))
		return 0;
	/* The configuration maps no LUN twice (config_acl.c), so only memory
	 * can fail here. */
	*view = scsi_lun_view_create(map);
	return *view ? 0 : -ENOMEM;
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

int targets_sendtargets(const char *value, const char *initiator_name,
			const char *session_target, char *out, size_t cap)
{
	struct portal_list *pl = calloc(1, sizeof(*pl));
	struct iscsi_st_target *st = calloc(ntargets ? ntargets : 1, sizeof(*st));
	int ret = -ENOMEM;
	if (pl && st) {
		portal_list_build(pl);
		/* Discovery has not authenticated for any target: what counts
		 * is whether the name could log in at all. */
		size_t nst = 0;
		for (size_t i = 0; i < ntargets; i++)
			if (acl_lists(targets[i]->config, initiator_name))
				st[nst++] = (struct iscsi_st_target){
					.name = targets[i]->scsi.name, .portals = pl->portals, .nportals = pl->n,
				};
		size_t len = 0;
		ret = iscsi_sendtargets_build(value, session_target == NULL, session_target, st,
					      nst, (uint8_t *)out, cap, &len);
		/* Too long: the whole pairs that fit are still a useful answer. */
		if (ret == 0 || ret == -ENOSPC)
			ret = (int)len;
	}
	free(pl);
	free(st);
	return ret;
}
