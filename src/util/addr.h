/* Socket addresses as lunar prints them: "A.B.C.D:port" and "[v6]:port",
 * the form iSCSI uses in TargetAddress (RFC 7143 §13.8). */
#ifndef LUNAR_UTIL_ADDR_H
#define LUNAR_UTIL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest text addr_format writes, with its NUL. */
#define ADDR_TEXT_MAX 64

uint16_t addr_port(const struct sockaddr *sa);
/* Formats sa's host with the given port; anything not IPv4 or IPv6 is
 * "local socket". */
void addr_format(const struct sockaddr *sa, uint16_t port, char *out, size_t cap);

/* The key that counts sa's host as one source: its family, then an IPv4
 * address (an IPv4-mapped IPv6 one counts as that IPv4 address) or an
 * IPv6 address's /64, which one host usually holds whole. For another
 * family the key is zeros and the answer false. */
#define ADDR_HOST_KEY_LEN 9
bool addr_host_key(const struct sockaddr *sa, uint8_t key[ADDR_HOST_KEY_LEN]);

#endif
