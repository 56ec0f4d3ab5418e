/* CHAP accounts in the config file: per target (`chap = { ... }` in a
 * target) and for discovery sessions (`discovery = { chap = { ... } }`).
 * docs/CONFIG.md describes the keys. */
#ifndef LUNAR_CONTROL_CONFIG_CHAP_H
#define LUNAR_CONTROL_CONFIG_CHAP_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 7143 §9.2.1: at least 96 bits of secret without IPsec, which lunar
 * does not do. */
#define CONFIG_CHAP_SECRET_MIN 12
#define CONFIG_CHAP_SECRET_MAX 255
#define CONFIG_CHAP_USER_MAX 255

struct config_chap_account {
	char *user;                  /* NULL: none */
	char *secret;
};

struct config_chap {
	struct config_chap_account *users;   /* initiators that may log in */
	size_t nusers;
	struct config_chap_account mutual;   /* the target's own, for mutual CHAP */
	bool required;               /* AuthMethod=None is refused */
};

/* Parsed by config_key_chap and config_key_discovery (config_walk.h).
 * Frees and wipes the secrets. */
void config_chap_free(struct config_chap *chap);

#endif
