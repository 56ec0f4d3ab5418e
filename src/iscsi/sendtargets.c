/* SendTargets response builder, RFC 7143 §12.3. */
#include "iscsi/sendtargets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iscsi/textkv.h"

/* RFC 7143 §4.2.7.1: an iSCSI name is at most 223 bytes. */
#define ST_NAME_LEN_MAX 223

/* "<addr>,<tpgt>" is at most 255 bytes, RFC 7143 §6.1. */
static int st_append_target(struct iscsi_text_buf *b, const struct iscsi_st_target *t)
{
	if (iscsi_text_append(b, "TargetName", t->name))
		return -ENOSPC;
	for (size_t i = 0; i < t->nportals; i++) {
		char addr[ISCSI_TEXT_VALUE_MAX + 1];
		int n = snprintf(addr, sizeof(addr), "%s,%u", t->portals[i].addr,
				 (unsigned)t->portals[i].tpgt);

		if (n < 0 || (size_t)n >= sizeof(addr))
			return -EINVAL;
		if (iscsi_text_append_n(b, "TargetAddress", addr, (size_t)n))
			return -ENOSPC;
	}
	return 0;
}

static const struct iscsi_st_target *st_find(const struct iscsi_st_target *targets,
					     size_t ntargets, const char *name)
{
	for (size_t i = 0; i < ntargets; i++)
		if (strcmp(targets[i].name, name) == 0)
			return &targets[i];
	return NULL;
}

/* Whether value could name a target: one of the three name types of RFC
 * 7143 §4.2.7.2, at most 223 bytes (§4.2.7.1). Anything else is a value
 * SendTargets does not take, answered with Reject (§6.2). */
static bool st_value_is_name(const char *value)
{
	static const char *const types[] = { "iqn.", "eui.", "naa." };
	if (strlen(value) > ST_NAME_LEN_MAX)
		return false;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strncmp(value, types[i], strlen(types[i])) == 0)
			return true;
	return false;
}

int iscsi_sendtargets_build(const char *request, bool discovery, const char *session_target,
			    const struct iscsi_st_target *targets, size_t ntargets,
			    uint8_t *buf, size_t cap, size_t *len)
{
	struct iscsi_text_buf b;
	int rc = 0;

	iscsi_text_buf_init(&b, buf, cap);
	if (discovery && strcmp(request, "All") == 0) {
		for (size_t i = 0; i < ntargets && rc == 0; i++)
			rc = st_append_target(&b, &targets[i]);
	} else if (request[0] && strcmp(request, "All") != 0 && !st_value_is_name(request)) {
		rc = iscsi_text_append(&b, "SendTargets", "Reject");
	} else {
		/* RFC 7143 §12.3: a Normal session learns about its own target
		 * only. "All" is not for Normal sessions, but libiscsi sends it
		 * there, so it gets what an empty value gets. */
		const char *name = request[0] && strcmp(request, "All") != 0 ? request : session_target;
		if (!discovery && name && session_target && strcmp(name, session_target) != 0)
			name = NULL;
		const struct iscsi_st_target *t = name ? st_find(targets, ntargets, name) : NULL;
		if (t)
			rc = st_append_target(&b, t);
	}
	*len = b.len;
	return rc;
}
