/* Failed authentications per source address, so that guessing CHAP
 * secrets from one host stays slow: after max_failures failures within
 * window_ms, logins from that address are refused until the window
 * (counted from the first of them) has passed; max_failures 0 turns the
 * throttle off. An address counts by addr_host_key (an IPv6 one by its
 * /64). Pure: the caller passes the time and keeps the table (logins all
 * run on the control thread). */
#ifndef LUNAR_ISCSI_AUTH_THROTTLE_H
#define LUNAR_ISCSI_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/addr.h"

/* Addresses tracked at once; when all are in use the one whose window
 * started first is forgotten. */
#define AUTH_THROTTLE_SLOTS 256

struct auth_throttle_slot {
	uint8_t key[ADDR_HOST_KEY_LEN]; /* addr_host_key */
	unsigned failures;       /* 0: the slot is free */
	uint64_t first_ms;       /* when the window's first failure came */
};

struct auth_throttle {
	unsigned max_failures;
	uint64_t window_ms;
	struct auth_throttle_slot slots[AUTH_THROTTLE_SLOTS];
};

/* True when logins from addr are refused at now_ms. */
bool auth_throttle_blocked(struct auth_throttle *t, const struct sockaddr *addr, uint64_t now_ms);
/* Counts a failed authentication from addr at now_ms. */
void auth_throttle_failed(struct auth_throttle *t, const struct sockaddr *addr, uint64_t now_ms);

#endif
