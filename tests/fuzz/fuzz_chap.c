/* libFuzzer target for the CHAP exchange of the login state machine
 * (RFC 7143 §12.1.3) on a target that requires CHAP. The first request
 * (names and AuthMethod=CHAP) is fixed; the input is then cut into
 * requests, each a 4-byte header (flags, whether the harness adds
 * CHAP_N and the right CHAP_R for the last challenge, data length) and
 * fuzzed text. Whatever arrives: the login leaves the security stage only
 * after a right response, a secret never appears in a response, a
 * challenge we send is 16..32 bytes, and every 0201 says why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/chap.h"
#include "iscsi/login.h"

#define FUZZ_STEPS 16
#define FUZZ_RSP_CAP 8192
#define USER "alice"
#define SECRET "alice-secret-0123"
#define TSECRET "target-secret-4567"

static int fuzz_target_handle;

static void *fuzz_find_target(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "iqn.2024-01.org.lunar:t") == 0 ? &fuzz_target_handle : NULL;
}

static uint16_t fuzz_bind(void *ctx, struct iscsi_login *lg, uint16_t *tsih)
{
	(void)ctx;
	*tsih = lg->tsih ? lg->tsih : 7;
	return ISCSI_LOGIN_SUCCESS;
}

static bool fuzz_yes(void *target)
{
	(void)target;
	return true;
}

static void fuzz_set(struct iscsi_chap_secret *out, const char *s)
{
	out->len = strlen(s);
	memcpy(out->bytes, s, out->len);
}

static bool fuzz_initiator_secret(void *target, const char *user, struct iscsi_chap_secret *out)
{
	(void)target;
	if (strcmp(user, USER) != 0)
		return false;
	fuzz_set(out, SECRET);
	return true;
}

static bool fuzz_target_account(void *target, char user[ISCSI_CHAP_NAME_MAX], struct iscsi_chap_secret *out)
{
	(void)target;
	strcpy(user, "lunar");
	fuzz_set(out, TSECRET);
	return true;
}

static bool fuzz_authorize(void *target, const char *initiator_name, const char *chap_user)
{
	(void)target;
	(void)initiator_name;
	/* Authorization comes only after authentication. */
	if (strcmp(chap_user, USER) != 0)
		abort();
	return true;
}

static const struct iscsi_access fuzz_access = {
	.chap_required = fuzz_yes,
	.chap_offered = fuzz_yes,
	.chap_initiator_secret = fuzz_initiator_secret,
	.chap_target_account = fuzz_target_account,
	.authorize = fuzz_authorize,
};

static const char first[] = "InitiatorName=iqn.2024-01.org.lunar:i\0TargetName=iqn.2024-01.org.lunar:t\0"
			    "AuthMethod=CHAP\0";

/* The value of key in a response text, or NULL. */
static const char *fuzz_value(const uint8_t *d, size_t len, const char *key)
{
	size_t klen = strlen(key);

	for (size_t off = 0; off < len;) {
		const char *s = (const char *)d + off;
		size_t n = strnlen(s, len - off);

		if (n > klen && memcmp(s, key, klen) == 0 && s[klen] == '=')
			return s + klen + 1;
		off += n + 1;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iscsi_login_env env = {
		.find_target = fuzz_find_target, .bind_session = fuzz_bind, .access = &fuzz_access,
		.tpgt = 1, .cmd_window = 16,
	};
	static uint8_t rsp[FUZZ_RSP_CAP], text[FUZZ_RSP_CAP + 1024];
	const struct chap_alg *alg = NULL;
	struct chap_challenge ch = { 0 };
	struct iscsi_login lg;
	uint8_t bhs[ISCSI_BHS_LEN];
	size_t off = 0;
	bool proved = false;
	enum iscsi_login_result res = ISCSI_LOGIN_CONTINUE;

	iscsi_target_limits_default(&env.limits);
	iscsi_login_init(&lg, &env);
	for (int step = 0; step < FUZZ_STEPS && res == ISCSI_LOGIN_CONTINUE; step++) {
		struct iscsi_hdr h = { 0 };
		uint8_t flags = 0x81, how = 0;
		size_t len = 0, rsp_len = 0;

		if (step == 0) {
			memcpy(text, first, sizeof(first) - 1);
			len = sizeof(first) - 1;
		} else {
			if (off + 4 > size)
				break;
			flags = data[off];
			how = data[off + 1];
			len = (size_t)data[off + 2] << 8 | data[off + 3];
			off += 4;
			if (len > size - off)
				len = size - off;
			if (len > FUZZ_RSP_CAP)
				len = FUZZ_RSP_CAP;
			memcpy(text, data + off, len);
			off += len;
			if ((how & 1) && alg) {
				uint8_t d[CHAP_DIGEST_MAX];
				char hex[CHAP_HEX_MAX(CHAP_DIGEST_MAX)];

				chap_response(alg, ch.id, (const uint8_t *)SECRET, strlen(SECRET), ch.bytes,
					      ch.len, d);
				chap_encode_hex(d, alg->digest_len, hex);
				len += (size_t)snprintf((char *)text + len, 1024, "CHAP_N=" USER "%cCHAP_R=%s%c",
							0, hex, 0);
				proved = true;
			}
		}
		h.opcode = ISCSI_OP_LOGIN_REQ;
		h.immediate = true;
		h.itt = (uint32_t)step;
		h.data_len = (uint32_t)len;
		h.login.transit = flags & 0x80;
		h.login.cont = flags & 0x40;
		h.login.csg = (flags >> 2) & 3;
		h.login.nsg = flags & 3;
		h.login.cmdsn = 1;
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy)
			break;
		memcpy(copy, text, len);
		res = iscsi_login_step(&lg, &h, copy, len, bhs, rsp, sizeof(rsp), &rsp_len);
		free(copy);

		uint16_t status = (uint16_t)(bhs[36] << 8 | bhs[37]);
		if (status == ISCSI_LOGIN_AUTH_FAILED && (rsp_len || !lg.fail_reason))
			abort();
		/* (A key the initiator sent comes back in NotUnderstood: only a
		 * secret it did not send counts.) */
		bool echoed = memmem(text, len, SECRET, strlen(SECRET)) ||
			      memmem(text, len, TSECRET, strlen(TSECRET));
		if (!echoed && (memmem(rsp, rsp_len, SECRET, strlen(SECRET)) ||
				memmem(rsp, rsp_len, TSECRET, strlen(TSECRET))))
			abort();
		/* Past the security stage only with a right response. */
		if (lg.stage != ISCSI_STAGE_SECURITY && !proved)
			abort();
		if (lg.chap_user[0] && (!proved || strcmp(lg.chap_user, USER) != 0))
			abort();
		const char *a = fuzz_value(rsp, rsp_len, "CHAP_A"), *c = fuzz_value(rsp, rsp_len, "CHAP_C"),
			   *i = fuzz_value(rsp, rsp_len, "CHAP_I");
		if (c) {
			int n = chap_decode_binary(c, strlen(c), ch.bytes, sizeof(ch.bytes));

			if (!a || !i || n < CHAP_CHALLENGE_MIN || n > CHAP_DIGEST_MAX)
				abort();
			alg = chap_alg_find((unsigned)atoi(a));
			ch.len = (size_t)n;
			ch.id = (uint8_t)chap_parse_id(i, strlen(i));
			if (!alg)
				abort();
		}
	}
	iscsi_login_fini(&lg);
	return 0;
}
