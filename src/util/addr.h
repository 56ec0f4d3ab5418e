/* Socket addresses as lunar prints them: "A.B.C.D:port" and "[v6]:port",
 * the form iSCSI uses in TargetAddress (RFC 7143 §13.8). */
#ifndef LUNAR_UTIL_ADDR_H
#define LUNAR_UTIL_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest text addr_format writes, with its NUL. */
#define ADDR_TEXT_MAX 64

uint16_t addr_port(const struct sockaddr *sa);
/* Formats sa's host with the given port; anything not IPv4 or IPv6 is
 * "local socket". */
void addr_format(const struct sockaddr *sa, uint16_t port, char *out, size_t cap);

#endif
