/* SendTargets response builder, RFC 7143 §12.3. */
#include "iscsi/sendtargets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "iscsi/textkv.h"

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

int iscsi_sendtargets_build(const char *request, bool discovery, const char *session_target,
			    const struct iscsi_st_target *targets, size_t ntargets,
			    uint8_t *buf, size_t cap, size_t *len)
{
	struct iscsi_text_buf b;
	const struct iscsi_st_target *t;
	int rc = 0;

	iscsi_text_buf_init(&b, buf, cap);
	if (strcmp(request, "All") == 0) {
		/* RFC 7143 §12.3: "All" is only for Discovery sessions; a
		 * Normal session learns about its own target only. */
		if (!discovery)
			rc = iscsi_text_append(&b, "SendTargets", "Reject");
		for (size_t i = 0; discovery && i < ntargets && rc == 0; i++)
			rc = st_append_target(&b, &targets[i]);
	} else {
		const char *name = request[0] ? request : session_target;

		t = name ? st_find(targets, ntargets, name) : NULL;
		if (t)
			rc = st_append_target(&b, t);
	}
	*len = b.len;
	return rc;
}
