/* A small table of recent authentication failures by source address. */
#include "iscsi/auth_throttle.h"

#include <netinet/in.h>
#include <string.h>

/* The address's key; false for a family that is not counted. */
static bool throttle_key(const struct sockaddr *addr, uint8_t key[9])
{
	memset(key, 0, 9);
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;

		key[0] = AF_INET;
		memcpy(key + 1, &in->sin_addr, 4);
		return true;
	}
	if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			key[0] = AF_INET;
			memcpy(key + 1, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			key[0] = AF_INET6;
			memcpy(key + 1, in6->sin6_addr.s6_addr, 8);
		}
		return true;
	}
	return false;
}

static bool throttle_live(const struct auth_throttle *t, const struct auth_throttle_slot *s,
			  uint64_t now_ms)
{
	return s->failures && now_ms - s->first_ms < t->window_ms;
}

static struct auth_throttle_slot *throttle_find(struct auth_throttle *t, const uint8_t key[9],
						uint64_t now_ms)
{
	for (unsigned i = 0; i < AUTH_THROTTLE_SLOTS; i++)
		if (throttle_live(t, &t->slots[i], now_ms) && memcmp(t->slots[i].key, key, 9) == 0)
			return &t->slots[i];
	return NULL;
}

bool auth_throttle_blocked(struct auth_throttle *t, const struct sockaddr *addr, uint64_t now_ms)
{
	uint8_t key[9];
	const struct auth_throttle_slot *s;

	if (!t->max_failures || !throttle_key(addr, key))
		return false;
	s = throttle_find(t, key, now_ms);
	return s && s->failures >= t->max_failures;
}

void auth_throttle_failed(struct auth_throttle *t, const struct sockaddr *addr, uint64_t now_ms)
{
	uint8_t key[9];
	struct auth_throttle_slot *s;

	if (!t->max_failures || !throttle_key(addr, key))
		return;
	s = throttle_find(t, key, now_ms);
	if (s) {
		s->failures++;
		return;
	}
	/* A slot whose window is over, else the oldest. */
	s = &t->slots[0];
	for (unsigned i = 0; i < AUTH_THROTTLE_SLOTS && throttle_live(t, s, now_ms); i++)
		if (!throttle_live(t, &t->slots[i], now_ms) || t->slots[i].first_ms < s->first_ms)
			s = &t->slots[i];
	memcpy(s->key, key, 9);
	s->failures = 1;
	s->first_ms = now_ms;
}
