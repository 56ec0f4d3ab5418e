#include "scsi/pr_tpid.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/be.h"

#define PR_TPID_MIN 24 /* 4 bytes of header and at least 20 of name */
#define PR_TPID_SEP ",i,0x"
#define PR_ISID_DIGITS 12

size_t pr_tpid_len(const char *port)
{
	size_t len = 4 + ((strlen(port) + 1 + 3) & ~(size_t)3);
	return len < PR_TPID_MIN ? PR_TPID_MIN : len;
}

void pr_tpid_put(uint8_t *p, const char *port)
{
	size_t len = pr_tpid_len(port);
	memset(p, 0, len);
	p[0] = PR_TPID_ISCSI_PORT;
	be16_put(p + 2, (uint16_t)(len - 4));
	memcpy(p + 4, port, strlen(port));
}

long pr_tpid_parse(const uint8_t *p, size_t len, char *port, size_t cap)
{
	if (len < 4 || p[0] != PR_TPID_ISCSI_PORT)
		return -1;
	size_t add = be16_get(p + 2);
	if (add % 4 || add < PR_TPID_MIN - 4 || add > len - 4)
		return -1;
	const char *name = (const char *)p + 4;
	size_t name_len = strnlen(name, add);
	if (name_len == add)
		return -1; /* not NUL-terminated */
	/* SPC-4 7.6.4.6: the separator is ",i,0x" in any case, then the
	 * ISID in hexadecimal. */
	const char *sep = NULL;
	for (size_t i = 0; i + strlen(PR_TPID_SEP) <= name_len; i++)
		if (strncasecmp(name + i, PR_TPID_SEP, strlen(PR_TPID_SEP)) == 0)
			sep = name + i;
	if (!sep || sep == name)
		return -1;
	const char *isid = sep + strlen(PR_TPID_SEP);
	size_t digits = name_len - (size_t)(isid - name);
	if (digits == 0 || digits > PR_ISID_DIGITS)
		return -1;
	unsigned long long v = 0;
	for (size_t i = 0; i < digits; i++) {
		if (!isxdigit((unsigned char)isid[i]))
			return -1;
		v = v << 4 | (unsigned)(isdigit((unsigned char)isid[i]) ? isid[i] - '0'
					: tolower((unsigned char)isid[i]) - 'a' + 10);
	}
	int n = snprintf(port, cap, "%.*s" PR_TPID_SEP "%012llx", (int)(sep - name), name, v);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return (long)(4 + add);
}
