#include "control/targets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/acl.h"
#include "iscsi/sendtargets.h"
#include "scsi/tpg.h"
#include "util/addr.h"
#include "util/escape.h"
#include "util/log.h"
#include "util/macros.h"
#include "util/quiesce.h"

/* The list, the targets' config pointers and config are changed on the
 * control thread only, under registry_lock. The control thread reads
 * them without it; SendTargets also runs on data-plane loops (a Text
 * Request in a normal session's full feature phase) and reads them under
 * it. */
static struct lunar_target **targets;
static size_t ntargets, targets_cap;
static const struct lunar_config *config;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
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

static bool str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
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

/* Each portal group the target is reached through is one of its SCSI
 * target ports (tpg.c). */
static void target_set_ports(struct lunar_target *t)
{
	uint16_t tags[CONFIG_MAX_PORTAL_GROUPS];
	size_t n = config_target_groups(config, t->config, tags);
	scsi_target_set_ports(&t->scsi, tags, (unsigned)n);
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
	t->scsi.rel_port = LUNAR_TPGT;
	t->scsi.tpg = LUNAR_TPGT;
	if (!t->scsi.name || (ct->alias && !t->alias) || scsi_target_init(&t->scsi) < 0) {
		free(t->scsi.name);
		free(t->alias);
		free(t);
		return NULL;
	}
	target_set_ports(t);
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

/* Puts t in the list, taking over the caller's reference. */
static int targets_insert(struct lunar_target *t)
{
	if (ntargets == targets_cap) {
		size_t cap = targets_cap ? 2 * targets_cap : 8;
		struct lunar_target **grown = malloc(cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		if (ntargets)
			memcpy(grown, targets, ntargets * sizeof(*grown));
		pthread_mutex_lock(&registry_lock);
		struct lunar_target **old = targets;
		targets = grown;
		targets_cap = cap;
		pthread_mutex_unlock(&registry_lock);
		free(old);
	}
	pthread_mutex_lock(&registry_lock);
	targets[ntargets++] = t;
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

/* Builds the target ct describes with every LUN, unlisted. */
static int target_create(const struct config_target *ct, struct lunar_target **out)
{
	struct lunar_target *t = target_build(ct);
	if (!t)
		return -ENOMEM;
	int ret = target_add_luns(t, ct);
	if (ret < 0) {
		targets_put(t);
		return ret;
	}
	*out = t;
	return 0;
}

int targets_build(const struct lunar_config *cfg)
{
	config = cfg;
	for (size_t i = 0; i < cfg->ntargets; i++) {
		struct lunar_target *t;
		target_log_access(&cfg->targets[i]);
		int ret = target_create(&cfg->targets[i], &t);
		if (ret < 0)
			return ret;
		ret = targets_insert(t);
		if (ret < 0) {
			targets_put(t);
			return ret;
		}
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
	targets_cap = 0;
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

int targets_add(const struct config_target *ct)
{
	if (targets_lookup(ct->name))
		return -EEXIST;
	struct lunar_target *t;
	int ret = target_create(ct, &t);
	if (ret == 0) {
		ret = targets_insert(t);
		if (ret < 0)
			targets_put(t);
	}
	if (ret == 0)
		target_log_access(ct);
	return ret;
}

struct lunar_target *targets_detach(const char *name)
{
	for (size_t i = 0; i < ntargets; i++) {
		struct lunar_target *t = targets[i];
		if (strcmp(t->scsi.name, name) != 0)
			continue;
		pthread_mutex_lock(&registry_lock);
		memmove(&targets[i], &targets[i + 1], (ntargets - i - 1) * sizeof(*targets));
		ntargets--;
		pthread_mutex_unlock(&registry_lock);
		return t;
	}
	return NULL;
}

int targets_attach(struct lunar_target *t)
{
	return targets_insert(t);
}

/* Who may log in to a target that is gone: no one. A session of it may
 * still add a connection; this answers it. */
static const struct config_target target_gone_config = { .name = "" };

/* Ending sessions from the control thread: one job per data-plane loop
 * ends the sessions of its loop, since only that loop may touch them. */
struct target_end_job {
	struct loop_msg msg;
	struct lunar_target *target;
	struct loop *loop;
	char **names;    /* the initiators whose sessions end; NULL: all */
	size_t nnames;
	bool outside_groups; /* only sessions through a portal group the target left */
};

/* The iSCSI initiator name of a nexus: its initiator port name up to
 * ",i," (RFC 7143 §10.1). */
static void nexus_initiator_name(const struct scsi_nexus *n, char *out, size_t len)
{
	const char *sep = strstr(n->initiator_port, ",i,");
	size_t l = sep ? (size_t)(sep - n->initiator_port) : strlen(n->initiator_port);
	snprintf(out, len, "%.*s", (int)l, n->initiator_port);
}

/* Under target->lock. A target given no ports (a configuration built
 * without groups) has every nexus's. */
static bool target_has_port(const struct scsi_target *st, uint16_t rel_port)
{
	if (st->nports == 0)
		return true;
	for (unsigned i = 0; i < st->nports; i++)
		if (st->ports[i] == rel_port)
			return true;
	return false;
}

static bool end_job_covers(const struct target_end_job *job, const struct scsi_nexus *n)
{
	if (n->loop != job->loop)
		return false;
	if (job->outside_groups)
		return !target_has_port(&job->target->scsi, n->rel_port);
	if (!job->names)
		return true;
	char name[sizeof(n->initiator_port)];
	nexus_initiator_name(n, name, sizeof(name));
	for (size_t i = 0; i < job->nnames; i++)
		if (acl_name_equal(job->names[i], name))
			return true;
	return false;
}

static void end_job_free(struct target_end_job *job)
{
	for (size_t i = 0; i < job->nnames; i++)
		free(job->names[i]);
	free(job->names);
	targets_put(job->target);
	free(job);
}

/* On a data-plane loop: ends the job's sessions that live on it. Only
 * this loop frees them, so they stay valid while it runs. */
static void target_end_here(struct loop_msg *msg)
{
	struct target_end_job *job = container_of(msg, struct target_end_job, msg);
	struct scsi_target *st = &job->target->scsi;
	pthread_mutex_lock(&st->lock);
	unsigned n = 0;
	for (struct scsi_nexus *x = st->nexuses; x; x = x->next)
		n += end_job_covers(job, x);
	struct scsi_nexus **mine = n ? calloc(n, sizeof(*mine)) : NULL;
	unsigned k = 0;
	for (struct scsi_nexus *x = st->nexuses; mine && x; x = x->next)
		if (end_job_covers(job, x))
			mine[k++] = x;
	pthread_mutex_unlock(&st->lock);
	if (n && !mine) {
		log_warn("target %s: out of memory ending its sessions; retrying", st->name);
		loop_post(job->loop, &job->msg);
		return;
	}
	for (unsigned i = 0; i < k; i++)
		if (mine[i]->ops && mine[i]->ops->end)
			mine[i]->ops->end(mine[i]);
	free(mine);
	end_job_free(job);
}

/* Posts a job ending t's sessions (of the initiators in names, each
 * copied; NULL: all; with outside_groups, those through a port t no
 * longer has) to every data-plane loop. */
static void target_end_sessions(struct lunar_target *t, char *const *names, size_t nnames, bool outside_groups)
{
	for (unsigned i = 0; i < nreaders; i++) {
		struct target_end_job *job = calloc(1, sizeof(*job));
		bool ok = job != NULL;
		if (ok) {
			atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
			*job = (struct target_end_job){ .msg.fn = target_end_here, .target = t, .loop = readers[i],
							 .outside_groups = outside_groups };
		}
		if (ok && names) {
			job->names = calloc(nnames, sizeof(*job->names));
			ok = job->names != NULL;
			for (size_t j = 0; ok && j < nnames; j++, job->nnames++)
				ok = (job->names[j] = strdup(names[j])) != NULL;
		}
		if (!ok) {
			log_error("target %s: out of memory: sessions on loop %u that should end stay until they log out",
				  t->scsi.name, i);
			if (job)
				end_job_free(job);
			continue;
		}
		loop_post(readers[i], &job->msg);
	}
}

void targets_retire(struct lunar_target *t, bool end_sessions)
{
	/* New commands get LOGICAL UNIT NOT SUPPORTED from here on. */
	for (uint16_t lun = 0; lun < SCSI_MAX_LUNS; lun++) {
		struct scsi_lun_map *retired;
		if (!scsi_target_lun_map(&t->scsi)->lus[lun] || scsi_target_remove_lu(&t->scsi, lun, &retired) < 0)
			continue;
		if (target_retire(retired) < 0)
			log_error("target %s: out of memory: LUN %u's store stays open", t->scsi.name, lun);
	}
	t->config = &target_gone_config;
	if (end_sessions)
		target_end_sessions(t, NULL, 0, false);
	log_info("target %s: removed", t->scsi.name);
	targets_put(t);
}

void targets_end_unlisted(const char *name)
{
	struct lunar_target *t = targets_lookup(name);
	if (!t)
		return;
	char **names = NULL;
	size_t n = 0;
	bool ok = true;
	pthread_mutex_lock(&t->scsi.lock);
	for (struct scsi_nexus *x = t->scsi.nexuses; x && ok; x = x->next) {
		char who[sizeof(x->initiator_port)];
		nexus_initiator_name(x, who, sizeof(who));
		if (acl_lists(t->config, who))
			continue;
		char **grown = realloc(names, (n + 1) * sizeof(*names));
		ok = grown && (grown[n] = strdup(who)) != NULL;
		if (grown)
			names = grown;
		n += ok;
	}
	pthread_mutex_unlock(&t->scsi.lock);
	if (!ok)
		log_error("target %s: out of memory: sessions of initiators no longer allowed stay until they log out",
			  name);
	else if (n) {
		for (size_t i = 0; i < n; i++)
			log_info("target %s: initiator %s is no longer allowed: ending its sessions", name, names[i]);
		target_end_sessions(t, names, n, false);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void targets_end_outside_groups(void)
{
	for (size_t i = 0; i < ntargets; i++) {
		struct lunar_target *t = targets[i];
		unsigned n = 0;
		pthread_mutex_lock(&t->scsi.lock);
		for (struct scsi_nexus *x = t->scsi.nexuses; x; x = x->next)
			n += !target_has_port(&t->scsi, x->rel_port);
		pthread_mutex_unlock(&t->scsi.lock);
		if (n) {
			log_info("target %s: ending %u session%s through portal groups it is no longer reached through",
				 t->scsi.name, n, n == 1 ? "" : "s");
			target_end_sessions(t, NULL, 0, true);
		}
	}
}

unsigned targets_sessions(const char *name)
{
	struct lunar_target *t = targets_lookup(name);
	unsigned n = 0;
	if (!t)
		return 0;
	pthread_mutex_lock(&t->scsi.lock);
	for (struct scsi_nexus *x = t->scsi.nexuses; x; x = x->next)
		n++;
	pthread_mutex_unlock(&t->scsi.lock);
	return n;
}

struct scsi_lu *targets_detach_lun(const char *name, uint16_t lun)
{
	struct lunar_target *t = targets_lookup(name);
	if (!t || lun >= SCSI_MAX_LUNS || !scsi_target_lun_map(&t->scsi)->lus[lun])
		return NULL;
	struct scsi_lu *lu = scsi_lu_get(scsi_target_lun_map(&t->scsi)->lus[lun]);
	if (targets_remove_lun(name, lun) < 0) {
		scsi_lu_put(lu);
		return NULL;
	}
	return lu;
}

/* How long targets_replace_lun waits for a removed LU to be let go: a
 * grace period of the data-plane loops and the commands in flight. */
#define LU_RELEASE_WAIT_MS 5000

static bool lu_wait_last_reference(struct scsi_lu *lu)
{
	for (int ms = 0; ms < LU_RELEASE_WAIT_MS && atomic_load(&lu->refs) > 1; ms++)
		usleep(1000);
	return atomic_load(&lu->refs) == 1;
}

int targets_replace_lun(const char *name, const struct config_lun *cl)
{
	struct scsi_lu *old = targets_detach_lun(name, cl->lun);
	if (!old)
		return -ENOMEM;
	/* The new store may be the old one's file, which stays locked
	 * (flock) until the old LU is closed: wait for that, briefly. */
	if (!lu_wait_last_reference(old)) {
		log_error("target %s LUN %u: still in use %d ms after its removal: not replaced", name, cl->lun,
			  LU_RELEASE_WAIT_MS);
		targets_attach_lun(name, old);
		return -EBUSY;
	}
	scsi_lu_put(old);
	return targets_add_lun(name, cl);
}

int targets_attach_lun(const char *name, struct scsi_lu *lu)
{
	struct lunar_target *t = targets_lookup(name);
	if (!t) {
		scsi_lu_put(lu);
		return -ENOENT;
	}
	return target_publish_lu(t, lu);
}

int targets_grow_lun(const char *name, const struct config_lun *cl, uint64_t size)
{
	struct lunar_target *t = targets_lookup(name);
	struct scsi_lu *lu = t ? scsi_target_lu_get(&t->scsi, cl->lun) : NULL;
	if (!lu)
		return -ENOENT;
	const struct backend_value *path = backend_config_value(&cl->bs, "path");
	int ret = 0;
	if (lu->readonly) {
		ret = -EROFS;
	} else if (path && path->given) {
		/* The store's own descriptor is private to it; the size is the
		 * file's, whoever changes it. ftruncate never shrinks here. */
		int fd = open(path->str, O_WRONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0 || ((uint64_t)st.st_size < size && ftruncate(fd, (off_t)size) < 0))
			ret = -errno;
		if (fd >= 0)
			close(fd);
	}
	if (ret < 0)
		log_error("target %s LUN %u: cannot grow to %llu bytes: %s", name, cl->lun,
			  (unsigned long long)size, strerror(-ret));
	else
		scsi_lu_refresh_size_all(lu, &t->scsi);
	scsi_lu_put(lu);
	return ret;
}

void targets_refresh_sizes(void)
{
	for (size_t i = 0; i < ntargets; i++) {
		const struct scsi_lun_map *map = scsi_target_lun_map(&targets[i]->scsi);
		for (unsigned lun = 0; lun < SCSI_MAX_LUNS; lun++)
			if (map->lus[lun])
				scsi_lu_refresh_size_all(map->lus[lun], &targets[i]->scsi);
	}
}

void targets_reconfigure(const struct lunar_config *cfg)
{
	pthread_mutex_lock(&registry_lock);
	config = cfg;
	for (size_t i = 0; i < ntargets; i++) {
		struct lunar_target *t = targets[i];
		for (size_t j = 0; j < cfg->ntargets; j++) {
			if (strcmp(cfg->targets[j].name, t->scsi.name) == 0) {
				t->config = &cfg->targets[j];
				break;
			}
		}
	}
	pthread_mutex_unlock(&registry_lock);
	for (size_t i = 0; i < ntargets; i++)
		target_set_ports(targets[i]);
	for (size_t i = 0; i < ntargets; i++) {
		struct lunar_target *t = targets[i];
		const char *alias = t->config->alias;
		if (str_differs(alias, t->alias)) {
			char *copy = alias ? strdup(alias) : NULL;
			if (alias && !copy) {
				log_error("target %s: out of memory: it keeps its old alias", t->scsi.name);
				continue;
			}
			free(t->alias);
			t->alias = copy;
		}
	}
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

static bool addr_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
		      sizeof(struct in6_addr)) == 0;
}

static bool addr_is_wildcard(const struct sockaddr_storage *ss);

uint16_t targets_portal_tag(const struct sockaddr_storage *local)
{
	/* Linux lets a wildcard and a specific address share a port only
	 * with SO_REUSEPORT, which portals do not set: one of them matches. */
	uint16_t port = addr_port((const struct sockaddr *)local);
	uint16_t wildcard = 0;
	for (size_t i = 0; i < config->nportals; i++) {
		const struct config_portal *p = &config->portals[i];
		if (addr_is_wildcard(&p->addr)) {
			if (p->addr.ss_family == local->ss_family && addr_port((const struct sockaddr *)&p->addr) == port)
				wildcard = p->tag;
			continue;
		}
		if (addr_port((const struct sockaddr *)&p->addr) == port && addr_same_host(&p->addr, local))
			return p->tag;
	}
	return wildcard;
}

bool targets_on_portal(void *target, uint16_t tag)
{
	const struct lunar_target *t = target;
	return tag && config_target_in_group(config, t->config, tag);
}

bool targets_limits(const char *name, struct iscsi_target_limits *out)
{
	const struct lunar_target *t = targets_lookup(name);
	if (!t || !t->config->own_limits)
		return false;
	*out = t->config->limits;
	return true;
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

static void portal_list_add(struct portal_list *pl, const struct sockaddr *sa, uint16_t port, uint16_t tag)
{
	if (pl->n == MAX_ST_PORTALS)
		return;
	/* Link-local addresses need a zone the initiator cannot know. */
	if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)sa)->sin6_addr))
		return;
	char *out = pl->text[pl->n];
	addr_format(sa, port, out, sizeof(pl->text[0]));
	pl->portals[pl->n] = (struct iscsi_st_portal){ .addr = out, .tpgt = tag };
	pl->n++;
}

static bool addr_is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* The portals, with each wildcard one expanded to ifs's addresses of its
 * family (ifs NULL: none known). */
static void portal_list_build(struct portal_list *pl, const struct ifaddrs *ifs)
{
	for (size_t i = 0; i < config->nportals; i++) {
		const struct sockaddr_storage *ss = &config->portals[i].addr;
		uint16_t port = addr_port((const struct sockaddr *)ss);
		if (!addr_is_wildcard(ss)) {
			portal_list_add(pl, (const struct sockaddr *)ss, port, config->portals[i].tag);
			continue;
		}
		for (const struct ifaddrs *ifa = ifs; ifa; ifa = ifa->ifa_next)
			if (ifa->ifa_addr && ifa->ifa_addr->sa_family == ss->ss_family)
				portal_list_add(pl, ifa->ifa_addr, port, config->portals[i].tag);
	}
}

static bool (*sendtargets_filter)(const char *target, const char *initiator);

void targets_set_sendtargets_filter(bool (*visible)(const char *target, const char *initiator))
{
	sendtargets_filter = visible;
}

int targets_sendtargets(const char *value, const char *initiator_name,
			const char *session_target, char *out, size_t cap)
{
	struct portal_list *pl = calloc(1, sizeof(*pl));
	int ret = -ENOMEM;
	/* The host's addresses, for wildcard portals: a netlink round trip,
	 * so before the lock the control thread takes to publish changes. */
	struct ifaddrs *ifs = NULL;
	if (getifaddrs(&ifs) < 0) {
		log_warn("SendTargets: getifaddrs: %s", strerror(errno));
		ifs = NULL;
	}
	pthread_mutex_lock(&registry_lock);
	size_t n = ntargets ? ntargets : 1;
	struct iscsi_st_target *st = calloc(n, sizeof(*st));
	/* each target's portals: those of its portal groups */
	struct iscsi_st_portal *mine = calloc(n * MAX_ST_PORTALS, sizeof(*mine));
	if (pl && st && mine) {
		portal_list_build(pl, ifs);
		/* Discovery has not authenticated for any target: what counts
		 * is whether the name could log in at all. */
		size_t nst = 0;
		for (size_t i = 0; i < ntargets; i++) {
			const struct lunar_target *t = targets[i];
			if (!acl_lists(t->config, initiator_name) ||
			    (sendtargets_filter && !sendtargets_filter(t->scsi.name, initiator_name)))
				continue;
			struct iscsi_st_portal *own = &mine[nst * MAX_ST_PORTALS];
			size_t nown = 0;
			for (size_t p = 0; p < pl->n; p++)
				if (config_target_in_group(config, t->config, pl->portals[p].tpgt))
					own[nown++] = pl->portals[p];
			st[nst++] = (struct iscsi_st_target){ .name = t->scsi.name, .portals = own, .nportals = nown };
		}
		size_t len = 0;
		ret = iscsi_sendtargets_build(value, session_target == NULL, session_target, st,
					      nst, (uint8_t *)out, cap, &len);
		/* Too long: the whole pairs that fit are still a useful answer. */
		if (ret == 0 || ret == -ENOSPC)
			ret = (int)len;
	}
	pthread_mutex_unlock(&registry_lock);
	if (ifs)
		freeifaddrs(ifs);
	free(pl);
	free(st);
	free(mine);
	return ret;
}
