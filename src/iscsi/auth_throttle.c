/* A small table of recent authentication failures by source address. */
#include "iscsi/auth_throttle.h"

#include <string.h>

#include "util/addr.h"

static bool throttle_live(const struct auth_throttle *t, const struct auth_throttle_slot *s,
			  uint64_t now_ms)
{
	return s->failures && now_ms - s->first_ms < t->window_ms;
}

static struct auth_throttle_slot *throttle_find(struct auth_throttle *t, const uint8_t key[ADDR_HOST_KEY_LEN],
						uint64_t now_ms)
{
	for (unsigned i = 0; i < AUTH_THROTTLE_SLOTS; i++)
		if (throttle_live(t, &t->slots[i], now_ms) && memcmp(t->slots[i].key, key, ADDR_HOST_KEY_LEN) == 0)
			return &t->slots[i];
	return NULL;
}

bool auth_throttle_blocked(struct auth_throttle *t, const struct sockaddr *addr, uint64_t now_ms)
{
	uint8_t key[ADDR_HOST_KEY_LEN];
	const struct auth_throttle_slot *s;

	if (!t->max_failures || !addr_host_key(addr, key))
		return false;
	s = throttle_find(t, key, now_ms);
	return s && s->failures >= t->max_failures;
}

void auth_throttle_failed(struct auth_throttle *t, const struct sockaddr *addr, uint64_t now_ms)
{
	uint8_t key[ADDR_HOST_KEY_LEN];
	struct auth_throttle_slot *s;

	if (!t->max_failures || !addr_host_key(addr, key))
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
	memcpy(s->key, key, ADDR_HOST_KEY_LEN);
	s->failures = 1;
	s->first_ms = now_ms;
}
