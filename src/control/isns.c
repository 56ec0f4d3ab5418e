#include "control/isns.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libisns/isns.h>
#include <libisns/attrs.h>
#include <libisns/isns-proto.h>

#include "control/targets.h"
#include "util/log.h"

/* How long one exchange with the server may take (libisns retries the
 * connection meanwhile): it bounds how late shutdown deregisters. */
#define ISNS_CALL_TIMEOUT_S 3
/* Refresh period when the server does not say its registration period,
 * and the longest one used even when it allows more. */
#define ISNS_REFRESH_DEFAULT_S 60
#define ISNS_REFRESH_MAX_S 900
/* After a failed registration, the next try. */
#define ISNS_RETRY_S 5

/* What to register: a copy of the configuration's targets and portals,
 * each portal with its group's tag, and which target is reached through
 * which portal (reach[t * nportals + p], from the target's groups). */
struct isns_want {
	char **targets;
	size_t ntargets;
	struct sockaddr_storage *portals;
	uint16_t *tags;
	size_t nportals;
	bool *reach;
};

/* The client thread's view of the server: whether the last exchange
 * failed (then the rest of a round is skipped, and the failure is logged
 * once, not at every retry), and whether the entity is registered. */
static bool server_down;
static bool entity_registered;

/* Logs a failed exchange once per outage. */
static void exchange_failed(const char *what, int status)
{
	if (!server_down)
		log_warn("isns: %s with %s failed: %s; retrying every %d s", what,
			 isns_config.ic_server_name, isns_strerror(status), ISNS_RETRY_S);
	server_down = true;
}

/* Who may see each target, as read from the server. */
struct isns_domain_view {
	char *target;
	char **members; /* iSCSI names sharing a discovery domain with target */
	size_t nmembers;
};

static struct {
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;       /* everything below */
	pthread_cond_t wake;
	bool stop;
	bool changed;               /* want is newer than the registration */
	struct isns_want *want;
	struct isns_domain_view *view;
	size_t nview;
	unsigned dd_refresh_s;
	char eid[300];
} isns = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void want_free(struct isns_want *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->ntargets; i++)
		free(w->targets[i]);
	free(w->targets);
	free(w->portals);
	free(w->tags);
	free(w->reach);
	free(w);
}

static struct isns_want *want_from_config(const struct lunar_config *cfg)
{
	struct isns_want *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->targets = calloc(cfg->ntargets + 1, sizeof(*w->targets));
	w->portals = calloc(cfg->nportals + 1, sizeof(*w->portals));
	w->tags = calloc(cfg->nportals + 1, sizeof(*w->tags));
	w->reach = calloc(cfg->ntargets * cfg->nportals + 1, sizeof(*w->reach));
	if (!w->targets || !w->portals || !w->tags || !w->reach) {
		want_free(w);
		return NULL;
	}
	for (size_t i = 0; i < cfg->ntargets; i++) {
		w->targets[i] = strdup(cfg->targets[i].name);
		if (!w->targets[i]) {
			want_free(w);
			return NULL;
		}
		w->ntargets++;
	}
	for (size_t i = 0; i < cfg->nportals; i++) {
		memcpy(&w->portals[i], &cfg->portals[i].addr, cfg->portals[i].addrlen);
		w->tags[i] = cfg->portals[i].tag;
		for (size_t t = 0; t < cfg->ntargets; t++)
			w->reach[t * cfg->nportals + i] = config_target_in_group(cfg, &cfg->targets[t], w->tags[i]);
	}
	w->nportals = cfg->nportals;
	return w;
}

static void view_free(struct isns_domain_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].target);
		for (size_t j = 0; j < v[i].nmembers; j++)
			free(v[i].members[j]);
		free(v[i].members);
	}
	free(v);
}

bool lunar_isns_visible(const char *target, const char *initiator)
{
	bool seen = false;
	pthread_mutex_lock(&isns.lock);
	for (size_t i = 0; i < isns.nview && !seen; i++) {
		if (strcmp(isns.view[i].target, target) != 0)
			continue;
		/* RFC 3722: iSCSI names compare case-insensitively. */
		for (size_t j = 0; j < isns.view[i].nmembers && !seen; j++)
			seen = strcasecmp(isns.view[i].members[j], initiator) == 0;
	}
	pthread_mutex_unlock(&isns.lock);
	return seen;
}

/* ---- the client thread: everything below talks to the server ---- */

/* The address a wildcard portal (0.0.0.0, [::]) is reached at: the one
 * lunard's own socket to the server has, with the portal's port. */
static void portal_info(isns_client_t *clnt, const struct sockaddr_storage *ss,
			isns_portal_info_t *pi)
{
	isns_portal_init(pi, (const struct sockaddr *)ss, IPPROTO_TCP);
	struct sockaddr_storage local;
	if (isns_portal_is_wildcard(pi) && isns_socket_get_local_addr(clnt->ic_socket, &local)) {
		isns_addr_set_port((struct sockaddr *)&local,
				   (unsigned)isns_addr_get_port((const struct sockaddr *)ss));
		isns_portal_init(pi, (const struct sockaddr *)&local, IPPROTO_TCP);
	}
}

/* RFC 4171 §5.6.5.1 DevAttrReg with the Replace flag: the entity, then
 * its portals, its targets and a portal group for each target and portal.
 * Returns the server's registration period in seconds (0: none), or -1. */
static long isns_register(isns_client_t *clnt, const struct isns_want *w)
{
	isns_object_list_t objects = ISNS_OBJECT_LIST_INIT;
	isns_object_t *entity = isns_create_entity(ISNS_ENTITY_PROTOCOL_ISCSI, isns.eid);
	isns_object_t **portals = calloc(w->nportals + 1, sizeof(*portals));
	size_t *from = calloc(w->nportals + 1, sizeof(*from)); /* each object's index in w->portals */
	long period = -1;
	if (!entity || !portals || !from)
		goto out;
	size_t nportals = 0;
	for (size_t i = 0; i < w->nportals; i++) {
		isns_portal_info_t pi;
		portal_info(clnt, &w->portals[i], &pi);
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++) {
			isns_portal_info_t other;
			portal_info(clnt, &w->portals[j], &other);
			seen = isns_portal_equal(&pi, &other);
		}
		if (seen)
			continue;
		portals[nportals] = isns_create_portal(&pi, entity);
		from[nportals] = i;
		if (portals[nportals])
			isns_object_list_append(&objects, portals[nportals++]);
	}
	for (size_t t = 0; t < w->ntargets; t++) {
		isns_object_t *node = isns_create_iscsi_target(w->targets[t], entity);
		if (!node)
			continue;
		isns_object_list_append(&objects, node);
		/* RFC 4171 §5.6.5.1: a PG object per (target, portal) the
		 * target is reached through, with the portal's group tag. */
		for (size_t p = 0; p < nportals; p++) {
			size_t i = from[p];
			if (!w->reach[t * w->nportals + i])
				continue;
			isns_object_t *pg = isns_create_portal_group(portals[p], node, w->tags[i]);
			if (pg) {
				isns_object_list_append(&objects, pg);
				isns_object_release(pg);
			}
		}
		isns_object_release(node);
	}
	/* The source of a registration is one of the entity's nodes (§5.6.1). */
	isns_source_t *source = isns_source_create_iscsi(w->targets[0]);
	isns_simple_t *reg = isns_create_registration2(clnt, entity, source);
	isns_registration_set_replace(reg, 1);
	for (unsigned i = 0; i < objects.iol_count; i++)
		isns_registration_add_object(reg, objects.iol_data[i]);
	int status = isns_client_call(clnt, &reg);
	if (status == ISNS_SUCCESS) {
		period = ISNS_REFRESH_DEFAULT_S * 2;
		isns_object_list_t got = ISNS_OBJECT_LIST_INIT;
		if (isns_registration_response_get_objects(reg, &got) == ISNS_SUCCESS)
			for (unsigned i = 0; i < got.iol_count; i++) {
				uint32_t v;
				if (isns_object_is_entity(got.iol_data[i]) &&
				    isns_object_get_uint32(got.iol_data[i], ISNS_TAG_REGISTRATION_PERIOD, &v))
					period = (long)v;
			}
		isns_object_list_destroy(&got);
		if (server_down || !entity_registered)
			log_info("isns: registered entity %s: %zu target(s), %zu portal(s)", isns.eid,
				 w->ntargets, nportals);
		server_down = false;
		entity_registered = true;
	} else {
		exchange_failed("registration", status);
	}
	isns_simple_free(reg);
	isns_source_release(source);
	for (size_t i = 0; i < nportals; i++)
		isns_object_release(portals[i]);
out:
	free(portals);
	free(from);
	isns_object_list_destroy(&objects);
	if (entity)
		isns_object_release(entity);
	return period;
}

/* RFC 4171 §5.6.5.4 DevDereg of the whole entity. */
static void isns_deregister(isns_client_t *clnt, const char *source_target)
{
	isns_attr_list_t key = ISNS_ATTR_LIST_INIT;
	isns_attr_list_append_string(&key, ISNS_TAG_ENTITY_IDENTIFIER, isns.eid);
	isns_source_t *saved = clnt->ic_source;
	clnt->ic_source = isns_source_create_iscsi(source_target);
	isns_simple_t *dereg = isns_create_deregistration(clnt, &key);
	int status = isns_client_call(clnt, &dereg);
	if (status == ISNS_SUCCESS)
		log_info("isns: deregistered entity %s", isns.eid);
	else
		exchange_failed("deregistration", status);
	isns_simple_free(dereg);
	isns_source_release(clnt->ic_source);
	clnt->ic_source = saved;
	isns_attr_list_destroy(&key);
}

/* Appends to v the member names of one DD object. */
static int add_members(struct isns_domain_view *v, isns_object_t *dd)
{
	isns_attr_list_t attrs = ISNS_ATTR_LIST_INIT;
	int ret = 0;
	if (!isns_object_get_attrlist(dd, &attrs, NULL))
		return 0;
	for (unsigned i = 0; i < attrs.ial_count && ret == 0; i++) {
		const isns_attr_t *a = attrs.ial_data[i];
		if (a->ia_tag_id != ISNS_TAG_DD_MEMBER_ISCSI_NAME || !ISNS_ATTR_IS_STRING(a))
			continue;
		char **grown = realloc(v->members, (v->nmembers + 1) * sizeof(*grown));
		char *name = strdup(a->ia_value.iv_string);
		if (!grown || !name) {
			free(name);
			if (grown)
				v->members = grown;
			ret = -ENOMEM;
			continue;
		}
		v->members = grown;
		v->members[v->nmembers++] = name;
	}
	isns_attr_list_destroy(&attrs);
	return ret;
}

/* RFC 4171 §5.6.5.3 DevGetNext over DD objects, with target as the source:
 * the server answers with the domains target is in. Returns 0, or -1 when
 * the server could not be asked (the old view then stays). */
static int read_domains(isns_client_t *clnt, const char *target, struct isns_domain_view *v)
{
	isns_attr_list_t keys = ISNS_ATTR_LIST_INIT;
	isns_source_t *saved = clnt->ic_source;
	clnt->ic_source = isns_source_create_iscsi(target);
	isns_simple_t *q = isns_create_getnext(clnt, &isns_dd_template, &keys);
	int status;
	int ret = 0;
	for (;;) {
		status = isns_client_call(clnt, &q);
		if (status != ISNS_SUCCESS)
			break;
		isns_object_t *dd = NULL;
		status = isns_getnext_response_get_object(q, &dd);
		if (status != ISNS_SUCCESS)
			break;
		if (add_members(v, dd) < 0)
			ret = -1;
		isns_object_release(dd);
		isns_simple_t *next = isns_create_getnext_followup(clnt, q, &keys);
		isns_simple_free(q);
		q = next;
	}
	/* NO_SUCH_ENTRY ends the walk (§5.6.5.3). */
	if (status != ISNS_NO_SUCH_ENTRY) {
		exchange_failed("reading discovery domains", status);
		ret = -1;
	}
	isns_simple_free(q);
	isns_source_release(clnt->ic_source);
	clnt->ic_source = saved;
	return ret;
}

static void refresh_domains(isns_client_t *clnt, const struct isns_want *w)
{
	struct isns_domain_view *v = calloc(w->ntargets + 1, sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < w->ntargets; i++) {
		v[i].target = strdup(w->targets[i]);
		if (!v[i].target || read_domains(clnt, w->targets[i], &v[i]) < 0) {
			view_free(v, i + 1);
			return;
		}
	}
	pthread_mutex_lock(&isns.lock);
	struct isns_domain_view *old = isns.view;
	size_t nold = isns.nview;
	isns.view = v;
	isns.nview = w->ntargets;
	pthread_mutex_unlock(&isns.lock);
	view_free(old, nold);
}

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Sleeps until deadline (CLOCK_MONOTONIC seconds), a change or stop. */
static void wait_until(time_t deadline)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec = deadline;
	pthread_mutex_lock(&isns.lock);
	while (!isns.stop && !isns.changed && now_s() < deadline)
		if (pthread_cond_timedwait(&isns.wake, &isns.lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&isns.lock);
}

static bool stop_asked(void)
{
	pthread_mutex_lock(&isns.lock);
	bool stop = isns.stop;
	pthread_mutex_unlock(&isns.lock);
	return stop;
}

/* The seconds until the registration is refreshed: half the server's
 * registration period, so one lost exchange does not let it expire. */
static long refresh_after(long period)
{
	if (period < 0)
		return ISNS_RETRY_S;
	if (period == 0 || period / 2 > ISNS_REFRESH_MAX_S)
		return ISNS_REFRESH_MAX_S;
	return period / 2 ? period / 2 : 1;
}

static void *isns_main(void *arg)
{
	isns_client_t *clnt = arg;
	struct isns_want *w = NULL;
	time_t next_register = 0, next_domains = 0;
	for (;;) {
		pthread_mutex_lock(&isns.lock);
		bool stop = isns.stop;
		if (isns.changed) {
			want_free(w);
			w = isns.want;
			isns.want = NULL;
			isns.changed = false;
			next_register = next_domains = 0;
		}
		pthread_mutex_unlock(&isns.lock);
		if (stop)
			break;
		time_t now = now_s();
		/* An entity without a storage node has no source to register
		 * with (§5.6.1): a target-less lunard is not registered. */
		if (w && w->ntargets && now >= next_register)
			next_register = now + refresh_after(isns_register(clnt, w));
		if (w && now >= next_domains && !server_down && !stop_asked()) {
			refresh_domains(clnt, w);
			next_domains = now + isns.dd_refresh_s;
		} else if (server_down) {
			next_domains = next_register;
		}
		wait_until(next_register < next_domains ? next_register : next_domains);
	}
	/* An unreachable server would only make shutdown wait. */
	if (w && w->ntargets && entity_registered && !server_down)
		isns_deregister(clnt, w->targets[0]);
	want_free(w);
	isns_client_destroy(clnt);
	return NULL;
}

int lunar_isns_start(const struct lunar_config *cfg)
{
	if (!cfg->isns.enabled)
		return 0;
	char host[256];
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(isns.eid, sizeof(isns.eid), "lunar:%s", host);
	isns.dd_refresh_s = cfg->isns.dd_refresh_s;
	/* libisns takes its settings from this global (isns_config(5)). No
	 * DSA authentication: the server must run with Security = 0. */
	isns_config.ic_server_name = strdup(cfg->isns.server.text);
	isns_config.ic_source_name = strdup(cfg->ntargets ? cfg->targets[0].name : LUNAR_DEFAULT_TARGET);
	isns_config.ic_security = 0;
	isns_config.ic_network.call_timeout = ISNS_CALL_TIMEOUT_S;
	if (!isns_config.ic_server_name || !isns_config.ic_source_name)
		return -ENOMEM;
	isns_client_t *clnt = isns_create_client(NULL, isns_config.ic_source_name);
	if (!clnt) {
		log_error("isns: cannot set up a client for %s", cfg->isns.server.text);
		return -EINVAL;
	}
	/* wait_until's deadlines are CLOCK_MONOTONIC. */
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&isns.wake, &attr);
	pthread_condattr_destroy(&attr);
	lunar_isns_update(cfg);
	int ret = pthread_create(&isns.thread, NULL, isns_main, clnt);
	if (ret != 0) {
		isns_client_destroy(clnt);
		return -ret;
	}
	isns.running = true;
	log_info("isns: registering with %s as entity %s", cfg->isns.server.text, isns.eid);
	return 0;
}

void lunar_isns_update(const struct lunar_config *cfg)
{
	if (!cfg->isns.enabled)
		return;
	struct isns_want *w = want_from_config(cfg);
	if (!w) {
		log_warn("isns: out of memory: the registration stays as it was");
		return;
	}
	pthread_mutex_lock(&isns.lock);
	want_free(isns.want);
	isns.want = w;
	isns.changed = true;
	pthread_cond_signal(&isns.wake);
	pthread_mutex_unlock(&isns.lock);
}

void lunar_isns_stop(void)
{
	if (!isns.running)
		return;
	pthread_mutex_lock(&isns.lock);
	isns.stop = true;
	pthread_cond_signal(&isns.wake);
	pthread_mutex_unlock(&isns.lock);
	pthread_join(isns.thread, NULL);
	isns.running = false;
	want_free(isns.want);
	isns.want = NULL;
	view_free(isns.view, isns.nview);
	isns.view = NULL;
	isns.nview = 0;
}
