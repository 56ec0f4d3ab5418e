/* CHAP (RFC 1994) as iSCSI uses it (RFC 7143 §12.1.3), and the encodings
 * of its binary values (RFC 7143 §6.1). */
#include "iscsi/chap.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "iscsi/textkv.h"
#include "util/macros.h"

/* RFC 7143 §12.1.3 and the IANA "iSCSI CHAP_A" registry (RFC 7143 §14.3
 * adds SHA-1, SHA-256 and SHA3-256 beside RFC 1994's MD5). */
static const struct chap_alg chap_algs[] = {
	{ 5, "MD5", 16, EVP_md5 },
	{ 6, "SHA-1", 20, EVP_sha1 },
	{ 7, "SHA-256", 32, EVP_sha256 },
	{ 8, "SHA3-256", 32, EVP_sha3_256 },
};

const struct chap_alg *chap_alg_find(unsigned code)
{
	for (size_t i = 0; i < ARRAY_SIZE(chap_algs); i++)
		if (chap_algs[i].code == code)
			return &chap_algs[i];
	return NULL;
}

/* An RFC 7143 §6.1 number no larger than max. */
static bool chap_parse_number(const char *s, size_t len, unsigned max, unsigned *out)
{
	uint64_t v;

	if (!iscsi_text_parse_number(s, len, &v) || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

const struct chap_alg *chap_alg_choose(const char *list, size_t len)
{
	const struct chap_alg *found = NULL;
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		unsigned code;

		if (i < len && list[i] != ',')
			continue;
		/* An unknown number is skipped; a value that is no number
		 * makes the whole list malformed. */
		if (!chap_parse_number(list + start, i - start, 65535, &code))
			return NULL;
		if (!found)
			found = chap_alg_find(code);
		start = i + 1;
	}
	return found;
}

int chap_parse_id(const char *s, size_t len)
{
	unsigned id;

	return chap_parse_number(s, len, 255, &id) ? (int)id : -1;
}

int chap_make_challenge(const struct chap_alg *alg, struct chap_challenge *c)
{
	c->len = alg->digest_len > CHAP_CHALLENGE_MIN ? alg->digest_len : CHAP_CHALLENGE_MIN;
	if (RAND_bytes(&c->id, 1) != 1 || RAND_bytes(c->bytes, (int)c->len) != 1)
		return -1;
	return 0;
}

int chap_response(const struct chap_alg *alg, uint8_t id, const uint8_t *secret, size_t secret_len,
		  const uint8_t *challenge, size_t challenge_len, uint8_t out[CHAP_DIGEST_MAX])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned n = 0;
	int ok;

	if (!ctx)
		return -1;
	ok = EVP_DigestInit_ex(ctx, alg->md(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, &id, 1) == 1 &&
	     EVP_DigestUpdate(ctx, secret, secret_len) == 1 &&
	     EVP_DigestUpdate(ctx, challenge, challenge_len) == 1 &&
	     EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == alg->digest_len;
	/* The context saw the secret. */
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

bool chap_verify(const struct chap_alg *alg, uint8_t id, const uint8_t *secret, size_t secret_len,
		 const uint8_t *challenge, size_t challenge_len, const uint8_t *response,
		 size_t response_len)
{
	uint8_t expect[CHAP_DIGEST_MAX];
	bool ok;

	if (response_len != alg->digest_len)
		return false;
	ok = chap_response(alg, id, secret, secret_len, challenge, challenge_len, expect) == 0 &&
	     CRYPTO_memcmp(expect, response, alg->digest_len) == 0;
	OPENSSL_cleanse(expect, sizeof(expect));
	return ok;
}

static int chap_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int chap_decode_hex(const char *s, size_t len, uint8_t *out, size_t cap)
{
	size_t n = (len + 1) / 2;
	/* An odd count: the first digit stands alone (implied leading zero). */
	size_t i = 0, o = 0;

	if (len == 0)
		return -EINVAL;
	if (n > cap)
		return -E2BIG;
	if (len % 2) {
		int d = chap_hex_digit(s[0]);

		if (d < 0)
			return -EINVAL;
		out[o++] = (uint8_t)d;
		i = 1;
	}
	for (; i < len; i += 2) {
		int hi = chap_hex_digit(s[i]), lo = chap_hex_digit(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[o++] = (uint8_t)(hi << 4 | lo);
	}
	return (int)o;
}

static int chap_b64_digit(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* RFC 7143 §6.1 base64-constant: RFC 4648 base64 with its '=' padding,
 * so whole groups of four characters. */
static int chap_decode_base64(const char *s, size_t len, uint8_t *out, size_t cap)
{
	size_t pad = 0, n, o = 0;

	if (len == 0 || len % 4)
		return -EINVAL;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	n = len / 4 * 3 - pad;
	if (n > cap)
		return -E2BIG;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			int d = i + j >= len - pad ? 0 : chap_b64_digit(s[i + j]);

			if (d < 0)
				return -EINVAL;
			v = v << 6 | (uint32_t)d;
		}
		for (size_t j = 0; j < 3 && o < n; j++)
			out[o++] = (uint8_t)(v >> (16 - 8 * j));
	}
	return (int)o;
}

int chap_decode_binary(const char *s, size_t len, uint8_t *out, size_t cap)
{
	if (len < 2 || s[0] != '0')
		return -EINVAL;
	if (s[1] == 'x' || s[1] == 'X')
		return chap_decode_hex(s + 2, len - 2, out, cap);
	if (s[1] == 'b' || s[1] == 'B')
		return chap_decode_base64(s + 2, len - 2, out, cap);
	return -EINVAL;
}

void chap_encode_hex(const uint8_t *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	*out++ = '0';
	*out++ = 'x';
	for (size_t i = 0; i < len; i++) {
		*out++ = digits[bytes[i] >> 4];
		*out++ = digits[bytes[i] & 15];
	}
	*out = '\0';
}
