/* lunard's configuration: portals, targets, LUNs and their backing stores.
 * Read from a libconfig file, or built from the embedded default. */
#ifndef LUNAR_CONTROL_CONFIG_H
#define LUNAR_CONTROL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "backend/backend.h"
#include "control/config_chap.h"
#include "control/config_metrics.h"
#include "iscsi/peer_limits.h"
#include "iscsi/params.h"

#define LUNAR_DEFAULT_TARGET "iqn.2026-11.org.lunar:default"
#define LUNAR_DEFAULT_STATE_DIR "/var/lib/lunar"
#define LUNAR_DEFAULT_PORT 3260
#define CONFIG_MAX_THREADS 256
/* poll_us: how long a data-plane thread polls for the next command of an
 * initiator that sends one at a time, before it sleeps (util/loop.h). */
#define CONFIG_DEFAULT_POLL_US 50
#define CONFIG_MAX_POLL_US 1000

struct config_portal {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[80];               /* as given, e.g. "[::]:3260" */
	uint16_t tag;                /* its portal group (RFC 7143 §4.2.1 TPGT) */
};

/* Portal group tags are 1..65535: each group is also a SCSI target port
 * (relative port identifier = target port group = tag, SPC-4 7.8.6.6), and
 * relative port 0 is reserved. */
#define CONFIG_MAX_PORTAL_GROUPS 64
#define CONFIG_DEFAULT_PORTAL_GROUP 1

struct config_lun {
	uint16_t lun;
	struct backend_config bs;    /* its strings owned by the config */
	char *serial;                /* NULL: derived */
	uint64_t sanitize_rate;      /* SANITIZE OVERWRITE bytes/s; 0: unpaced */
};

/* One initiator a target admits (docs/CONFIG.md "Access control"). */
struct config_acl_lun {
	uint16_t lun;                /* as the initiator sees it */
	uint16_t target_lun;         /* the target's LUN behind it */
};

struct config_acl {
	char *initiator;             /* an iSCSI name, lowercase (RFC 3722) */
	char *chap_user;             /* NULL: any login (with CHAP or without) */
	struct config_acl_lun *luns; /* NULL: every LUN under its own number */
	size_t nluns;
};

struct config_target {
	char *name;
	char *alias;                 /* NULL: none */
	struct config_lun *luns;
	size_t nluns;
	struct config_chap chap;     /* no users: CHAP not offered */
	bool open;                   /* any initiator may log in */
	struct config_acl *acl;      /* the initiators allowed in, and what they see */
	size_t nacl;
	uint16_t *portal_groups;     /* the groups it is reached through; NULL: all */
	size_t nportal_groups;
	/* what its logins offer: the top-level iscsi group overridden by the
	 * target's own (own_limits) */
	struct iscsi_target_limits limits;
	bool own_limits;
};

/* isns = { server = "addr:port"; dd_refresh_s = N; } (config_isns.c) */
struct config_isns {
	bool enabled;                /* the group is present */
	struct config_portal server; /* port 3205 when the text has none */
	unsigned dd_refresh_s;       /* discovery-domain membership re-read */
};
#define CONFIG_ISNS_PORT 3205
#define CONFIG_ISNS_DD_REFRESH_S 10
/* The management socket (docs/MANAGEMENT.md); NULL / 0: the defaults. */
struct config_management {
	char *socket;
	unsigned mode;               /* of the socket file; 0: 0600 */
	char *group;                 /* whose members may connect too */
};

/* cpu_affinity (config_cpus.c): the CPUs the data-plane threads are
 * pinned to, thread k to cpu[k % n]; n 0: no pinning. */
struct config_cpus {
	unsigned *cpu;
	size_t n;
};

struct lunar_config {
	char *state_dir;
	unsigned threads;            /* data-plane threads; 0 = one per cpu_affinity CPU, else online CPUs */
	uint64_t memory_budget;      /* bytes for task data; 0 = a share of RAM */
	struct config_cpus cpu_affinity;
	unsigned poll_us;            /* 0: data-plane threads never poll */
	struct iscsi_limits peer_limits; /* what one peer may make lunard hold (iscsi/peer_limits.h) */
	struct config_portal *portals; /* of every group, each with its tag */
	size_t nportals;
	uint16_t *groups;            /* the portal groups' tags, as listed */
	size_t ngroups;
	bool grouped;                /* written as portal_groups, not portals */
	struct config_target *targets;
	size_t ntargets;
	struct iscsi_target_limits limits;
	struct config_chap discovery_chap;
	struct config_metrics metrics; /* the Prometheus endpoint; off unless configured */
	struct config_isns isns;
	struct config_management management;
};

/* NULL if cpu exists and this process may run on it now; else why not,
 * in why. */
const char *config_cpu_check(long cpu, char *why, size_t len);
/* "0,2,4-7" (--cpu-affinity) into out, each CPU checked. Returns 0, or -1
 * with why said and out empty. */
int config_cpus_parse(const char *text, struct config_cpus *out, char *why, size_t len);
/* Replaces dst by a copy of src. Returns 0 or -ENOMEM. */
int config_cpus_copy(struct config_cpus *dst, const struct config_cpus *src);
bool config_cpus_same(const struct config_cpus *a, const struct config_cpus *b);
void config_cpus_free(struct config_cpus *cpus);

/* Parses FILE. On error returns -1 and writes "FILE:LINE: key 'K': why" to err. */
int config_load_file(const char *path, struct lunar_config *cfg, char *err, size_t errlen);
/* Same as config_load_file, from TEXT in memory; NAME stands for the file in
 * messages. */
int config_load_string(const char *text, const char *name, struct lunar_config *cfg,
		       char *err, size_t errlen);
/* The embedded default: target LUNAR_DEFAULT_TARGET, open to any
 * initiator, with LUN 0 a 1 GiB sparse file in state_dir (absolute; NULL:
 * LUNAR_DEFAULT_STATE_DIR), portals 0.0.0.0:3260 and [::]:3260. Returns 0,
 * -EINVAL (state_dir not absolute, or with a quote or backslash) or
 * -ENOMEM. */
int config_load_default(struct lunar_config *cfg, const char *state_dir);
/* The same as a document (malloc'd text): what lunard saves once it is
 * changed. Returns 0, -EINVAL or -ENOMEM. */
int config_default_text(const char *state_dir, char **text);
/* "0.0.0.0:3260", "[::1]:3260", "127.0.0.1" (port 3260). Returns 0 or -1. */
int config_parse_portal(const char *text, struct config_portal *portal);
/* Same as config_parse_portal; returns NULL or why TEXT is not a portal. */
const char *config_parse_portal_why(const char *text, struct config_portal *portal);
/* "4096", "512M", "10G": bytes; K, M, G, T are powers of 1024. Returns 0 or
 * -1 (not a size, zero, or too large). */
int config_parse_size(const char *text, uint64_t *bytes);
/* RFC 7143 §4.2.7: NULL if NAME is an iqn., eui. or naa. name in its
 * normalized (lowercase) form, else why not. */
const char *config_check_iscsi_name(const char *name);
/* Replaces the portal list (for --listen): every portal goes in group
 * CONFIG_DEFAULT_PORTAL_GROUP, which is added if missing. */
int config_set_portals(struct lunar_config *cfg, const struct config_portal *portals, size_t n);
/* Whether the target ct is reached through portal group tag. */
bool config_target_in_group(const struct lunar_config *cfg, const struct config_target *ct, uint16_t tag);
/* The groups ct is reached through into tags[CONFIG_MAX_PORTAL_GROUPS];
 * returns how many. */
size_t config_target_groups(const struct lunar_config *cfg, const struct config_target *ct, uint16_t *tags);
void config_free(struct lunar_config *cfg);

#endif
