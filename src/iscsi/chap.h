/* CHAP for iSCSI (RFC 7143 §12.1.3 over RFC 1994): the algorithms,
 * challenges, responses and the binary value encodings of RFC 7143 §6.1.
 * Pure: no I/O beyond OpenSSL's digests and random bytes. */
#ifndef LUNAR_ISCSI_CHAP_H
#define LUNAR_ISCSI_CHAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define CHAP_DIGEST_MAX 32       /* SHA-256 and SHA3-256 */
/* RFC 7143 §12.1.3: C and R are large-binary-values of at most 1024 bytes. */
#define CHAP_BINARY_MAX 1024
/* A challenge shorter than this (from a mutual CHAP initiator) is refused:
 * it would let an attacker collect responses to a small set of values. */
#define CHAP_CHALLENGE_MIN 16
/* "0x" + two digits a byte + NUL */
#define CHAP_HEX_MAX(bytes) (2 + 2 * (bytes) + 1)

/* One CHAP_A value (RFC 7143 §12.1.3, IANA "iSCSI CHAP_A" registry). */
struct chap_alg {
	uint8_t code;
	const char *name;
	size_t digest_len;
	const EVP_MD *(*md)(void);
};

/* The algorithm with CHAP_A code, or NULL. */
const struct chap_alg *chap_alg_find(unsigned code);
/* The first algorithm of the initiator's CHAP_A list (comma-separated
 * numbers) that we support, or NULL (none, or a malformed list). */
const struct chap_alg *chap_alg_choose(const char *list, size_t len);

struct chap_challenge {
	uint8_t id;                          /* CHAP_I */
	uint8_t bytes[CHAP_DIGEST_MAX];      /* CHAP_C */
	size_t len;
};

/* A fresh identifier and challenge as long as alg's digest (at least
 * CHAP_CHALLENGE_MIN bytes) from OpenSSL's CSPRNG. Returns 0 or -1. */
int chap_make_challenge(const struct chap_alg *alg, struct chap_challenge *c);

/* RFC 1994 §4.1: out = H(id || secret || challenge), alg->digest_len
 * bytes. Returns 0 or -1. */
int chap_response(const struct chap_alg *alg, uint8_t id, const uint8_t *secret, size_t secret_len,
		  const uint8_t *challenge, size_t challenge_len, uint8_t out[CHAP_DIGEST_MAX]);

/* True when response is H(id || secret || challenge); compared in
 * constant time. */
bool chap_verify(const struct chap_alg *alg, uint8_t id, const uint8_t *secret, size_t secret_len,
		 const uint8_t *challenge, size_t challenge_len, const uint8_t *response,
		 size_t response_len);

/* RFC 7143 §6.1 binary values: "0x" or "0X" then hex digits (an odd count
 * has an implied leading zero), or "0b" or "0B" then base64 with its
 * padding. Returns the number of bytes written to out, -EINVAL for a
 * malformed value or -E2BIG when it decodes to more than cap bytes. */
int chap_decode_binary(const char *s, size_t len, uint8_t *out, size_t cap);

/* CHAP_I: a decimal or hex number 0..255. Returns it, or -1. */
int chap_parse_id(const char *s, size_t len);

/* Writes "0x" and two lowercase hex digits per byte, NUL-terminated;
 * out needs CHAP_HEX_MAX(len) bytes. */
void chap_encode_hex(const uint8_t *bytes, size_t len, char *out);

#endif
