#include "iscsi/conn_admit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/conn.h"
#include "util/addr.h"

/* One source (addr_host_key: an IPv6 host by its /64, so that a peer
 * cannot leave its caps by rotating addresses it holds) with
 * connections. The table holds only sources with at least one, so it
 * never has more rows than max_connections. */
struct admit_peer {
	uint8_t key[ADDR_HOST_KEY_LEN];
	unsigned conns;
	unsigned logins;         /* of those, in their login phase */
};

static pthread_mutex_t admit_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned nconns, nlogins;
static struct admit_peer *peers;
static size_t npeers, peers_cap;

const char *iscsi_admit_why(enum iscsi_admit a)
{
	switch (a) {
	case ISCSI_ADMIT_OK:
		return "admitted";
	case ISCSI_ADMIT_TOO_MANY_LOGINS:
		return "too many connections logging in";
	case ISCSI_ADMIT_TOO_MANY_CONNECTIONS:
		return "too many connections";
	case ISCSI_ADMIT_TOO_MANY_FROM_ADDRESS:
		return "too many connections from this address";
	case ISCSI_ADMIT_TOO_MANY_LOGINS_FROM_ADDRESS:
		return "too many connections logging in from this address";
	case ISCSI_ADMIT_NO_MEMORY:
		return "out of memory";
	}
	return "?";
}

static struct admit_peer peer_key(const struct sockaddr *sa)
{
	struct admit_peer k = { 0 };
	addr_host_key(sa, k.key);
	return k;
}

static struct admit_peer *peer_find(const struct admit_peer *k)
{
	for (size_t i = 0; i < npeers; i++)
		if (memcmp(peers[i].key, k->key, ADDR_HOST_KEY_LEN) == 0)
			return &peers[i];
	return NULL;
}

static struct admit_peer *peer_add(const struct admit_peer *k)
{
	if (npeers == peers_cap) {
		size_t cap = peers_cap ? 2 * peers_cap : 16;
		struct admit_peer *more = realloc(peers, cap * sizeof(*more));
		if (!more)
			return NULL;
		peers = more;
		peers_cap = cap;
	}
	peers[npeers] = *k;
	return &peers[npeers++];
}

static bool over(unsigned count, unsigned cap)
{
	return cap && count >= cap;
}

enum iscsi_admit iscsi_admit_conn(const struct iscsi_login_limits *lim, const struct sockaddr *peer)
{
	struct admit_peer k = peer_key(peer);
	enum iscsi_admit a = ISCSI_ADMIT_OK;
	pthread_mutex_lock(&admit_lock);
	struct admit_peer *p = peer_find(&k);
	if (over(nconns, lim->max_connections))
		a = ISCSI_ADMIT_TOO_MANY_CONNECTIONS;
	else if (over(nlogins, lim->max_logins))
		a = ISCSI_ADMIT_TOO_MANY_LOGINS;
	else if (p && over(p->conns, lim->max_connections_per_address))
		a = ISCSI_ADMIT_TOO_MANY_FROM_ADDRESS;
	else if (p && over(p->logins, lim->max_logins_per_address))
		a = ISCSI_ADMIT_TOO_MANY_LOGINS_FROM_ADDRESS;
	else if (!p && !(p = peer_add(&k)))
		a = ISCSI_ADMIT_NO_MEMORY;
	if (a == ISCSI_ADMIT_OK) {
		p->conns++;
		p->logins++;
		nconns++;
		nlogins++;
	}
	pthread_mutex_unlock(&admit_lock);
	return a;
}

void iscsi_admit_login_over(const struct sockaddr *peer)
{
	struct admit_peer k = peer_key(peer);
	pthread_mutex_lock(&admit_lock);
	struct admit_peer *p = peer_find(&k);
	if (p)
		p->logins--;
	nlogins--;
	pthread_mutex_unlock(&admit_lock);
}

void iscsi_admit_release(const struct sockaddr *peer)
{
	struct admit_peer k = peer_key(peer);
	pthread_mutex_lock(&admit_lock);
	struct admit_peer *p = peer_find(&k);
	if (p && --p->conns == 0)
		*p = peers[--npeers];
	nconns--;
	if (npeers == 0) {
		/* The last one gone: give the table back (leak checkers, and
		 * the memory a flood of addresses once took). */
		free(peers);
		peers = NULL;
		peers_cap = 0;
	}
	pthread_mutex_unlock(&admit_lock);
}
