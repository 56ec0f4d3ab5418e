/* CHAP on the wire, against a lunard whose target requires CHAP (the
 * config of tests/auth/run.sh): what libiscsi cannot send. Logins with
 * SHA-1, SHA-256 and SHA3-256, mutual CHAP with SHA-256, and the exact
 * status (class 02, detail 01) for a wrong response, a missing CHAP_R, an
 * unsupported algorithm, and a reflected or oversized challenge from the
 * initiator. Responses are computed here with OpenSSL, apart from lunard's
 * own code. Each scenario connects from its own loopback address, so the
 * failures stay under lunard's per-address limit.
 *   lunar-wire-chap HOST PORT TARGET USER SECRET TARGET_USER TARGET_SECRET
 * Ends with "N passed, N failed". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/be.h"
#include "wire_check.h"
#include "wire_conn.h"

#define TEXT_CAP 4096
#define CHALLENGE_MAX 1100

struct chap_creds {
	const char *user, *secret, *tuser, *tsecret;
};

static const struct chap_creds *creds;
static unsigned next_source = 10;

/* A connection from 127.0.0.N, N new for each scenario. */
static bool chap_connect(struct wire_conn *c, const struct wire_target *t, char *why, size_t why_len)
{
	const struct timeval tv = { .tv_sec = WIRE_IO_TIMEOUT_S };
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->target = t;
	c->next_itt = 1;
	c->isid[0] = 0x80;
	c->isid[1] = 0x43;
	be24_put(c->isid + 2, (uint32_t)getpid());
	c->isid[5] = (uint8_t)next_source;
	src.sin_addr.s_addr = htonl(0x7f000000u | next_source++);
	dst.sin_port = htons((uint16_t)atoi(t->port));
	if (inet_pton(AF_INET, t->host, &dst.sin_addr) != 1) {
		snprintf(why, why_len, "%s is not an IPv4 address", t->host);
		return false;
	}
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(why, why_len, "socket: %s", strerror(errno));
		return false;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		snprintf(why, why_len, "connect from 127.0.0.%u: %s", next_source - 1, strerror(errno));
		wire_close(c);
		return false;
	}
	return true;
}

/* One Login Request in the security stage (T=1 towards NSG), its answer. */
static bool chap_exchange(struct wire_conn *c, unsigned nsg, const char *text, uint32_t len,
			  struct wire_pdu *p, uint16_t *status, char *why, size_t why_len)
{
	uint8_t bhs[ISCSI_BHS_LEN];
	enum wire_io r;

	wire_build_login(bhs, c, wire_login_flags(true, ISCSI_STAGE_SECURITY, nsg), 1, len);
	r = wire_send_pdu(c, bhs, text, len);
	if (r == WIRE_IO_OK)
		r = wire_recv_pdu(c, p, 3 * WIRE_IO_TIMEOUT_S * 1000);
	if (r != WIRE_IO_OK) {
		snprintf(why, why_len, "login: %s", wire_io_name(r));
		return false;
	}
	*status = be16_get(p->bhs + 36);
	return true;
}

static const EVP_MD *chap_md(unsigned alg)
{
	switch (alg) {
	case 5: return EVP_md5();
	case 6: return EVP_sha1();
	case 7: return EVP_sha256();
	default: return EVP_sha3_256();
	}
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	out += sprintf(out, "0x");
	for (size_t i = 0; i < n; i++)
		out += sprintf(out, "%02x", b[i]);
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (strncmp(s, "0x", 2) != 0 || strlen(s) % 2)
		return 0;
	for (s += 2; s[0] && s[1] && n < cap; s += 2) {
		unsigned v;

		if (sscanf(s, "%2x", &v) != 1)
			return 0;
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* H(id || secret || challenge), RFC 1994 §4.1. */
static unsigned digest(unsigned alg, uint8_t id, const char *secret, const uint8_t *ch, size_t ch_len,
		       uint8_t *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned n = 0;

	EVP_DigestInit_ex(ctx, chap_md(alg), NULL);
	EVP_DigestUpdate(ctx, &id, 1);
	EVP_DigestUpdate(ctx, secret, strlen(secret));
	EVP_DigestUpdate(ctx, ch, ch_len);
	EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
	return n;
}

/* How the final request of a scenario deviates from a correct one. */
enum chap_twist {
	TWIST_NONE,
	TWIST_MUTUAL,          /* CHAP_I and a fresh CHAP_C: mutual CHAP */
	TWIST_WRONG_RESPONSE,
	TWIST_NO_RESPONSE,     /* CHAP_N without CHAP_R */
	TWIST_REFLECTED,       /* mutual, with the target's own challenge */
	TWIST_OVERSIZED,       /* mutual, with a 1025-byte challenge */
};

struct chap_result {
	uint16_t status;       /* of the last response */
	bool full_feature;     /* the last response moved to full feature phase */
	long answer_ms;        /* how long the last response took */
	char tuser[300];       /* the target's CHAP_N, mutual */
	uint8_t tresp[64];     /* the target's CHAP_R */
	size_t tresp_len;
	uint8_t our_id;
	uint8_t our_challenge[32];
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Logs in with AuthMethod=CHAP and CHAP_A=algs; the response is with
 * algorithm alg (what the target must pick). False (with why) when the
 * exchange broke off before the last response. */
static bool chap_login(const struct wire_target *t, const char *algs, unsigned alg, enum chap_twist twist,
		       struct chap_result *res, char *why, size_t why_len)
{
	static char text[CHALLENGE_MAX * 2 + 512];
	struct wire_conn c;
	struct wire_pdu p;
	char v[CHALLENGE_MAX * 2 + 8], chal_text[300];
	uint8_t challenge[CHALLENGE_MAX], rsp[64];
	uint32_t len = 0;
	uint16_t status;
	size_t chal_len;
	unsigned id, n;
	bool ok = false;

	memset(res, 0, sizeof(*res));
	if (!chap_connect(&c, t, why, why_len))
		return false;
	c.cmdsn = 1;
	wire_text_add(text, sizeof(text), &len, "InitiatorName", WIRE_INITIATOR_NAME);
	wire_text_add(text, sizeof(text), &len, "SessionType", "Normal");
	wire_text_add(text, sizeof(text), &len, "TargetName", t->name);
	wire_text_add(text, sizeof(text), &len, "AuthMethod", "CHAP");
	if (!chap_exchange(&c, ISCSI_STAGE_FULL_FEATURE, text, len, &p, &status, why, why_len))
		goto out;
	wire_pdu_free(&p);
	if (status) {
		snprintf(why, why_len, "AuthMethod=CHAP answered with status 0x%04x", status);
		goto out;
	}
	len = 0;
	wire_text_add(text, sizeof(text), &len, "CHAP_A", algs);
	if (!chap_exchange(&c, ISCSI_STAGE_FULL_FEATURE, text, len, &p, &status, why, why_len))
		goto out;
	res->status = status;
	if (status) {
		wire_pdu_free(&p);
		ok = true;
		goto out;
	}
	if (!wire_text_get(p.data, p.data_len, "CHAP_A", v, sizeof(v)) || (unsigned)atoi(v) != alg ||
	    !wire_text_get(p.data, p.data_len, "CHAP_I", v, sizeof(v)) || sscanf(v, "%u", &id) != 1 ||
	    !wire_text_get(p.data, p.data_len, "CHAP_C", chal_text, sizeof(chal_text)) ||
	    !(chal_len = unhex(chal_text, challenge, sizeof(res->our_challenge)))) {
		snprintf(why, why_len, "no CHAP_A=%u, CHAP_I, CHAP_C in the answer to CHAP_A=%s", alg, algs);
		wire_pdu_free(&p);
		goto out;
	}
	wire_pdu_free(&p);
	n = digest(alg, (uint8_t)id, creds->secret, challenge, chal_len, rsp);
	if (twist == TWIST_WRONG_RESPONSE)
		rsp[0] ^= 1;
	len = 0;
	wire_text_add(text, sizeof(text), &len, "CHAP_N", creds->user);
	if (twist != TWIST_NO_RESPONSE) {
		hex(rsp, n, v);
		wire_text_add(text, sizeof(text), &len, "CHAP_R", v);
	}
	res->our_id = 0x5c;
	if (twist == TWIST_MUTUAL || twist == TWIST_REFLECTED || twist == TWIST_OVERSIZED) {
		size_t our_len = twist == TWIST_OVERSIZED ? 1025 : sizeof(res->our_challenge);
		static uint8_t big[1025];

		RAND_bytes(big, (int)our_len);
		if (twist == TWIST_REFLECTED) {
			memcpy(big, challenge, chal_len);
			our_len = chal_len;
			res->our_id = (uint8_t)id;
		}
		memcpy(res->our_challenge, big, sizeof(res->our_challenge));
		snprintf(chal_text, sizeof(chal_text), "%u", res->our_id);
		wire_text_add(text, sizeof(text), &len, "CHAP_I", chal_text);
		hex(big, our_len, v);
		wire_text_add(text, sizeof(text), &len, "CHAP_C", v);
	}
	long start = now_ms();
	if (!chap_exchange(&c, ISCSI_STAGE_FULL_FEATURE, text, len, &p, &status, why, why_len))
		goto out;
	res->answer_ms = now_ms() - start;
	res->status = status;
	res->full_feature = (p.bhs[1] & 0x80) && (p.bhs[1] & 3u) == ISCSI_STAGE_FULL_FEATURE;
	if (wire_text_get(p.data, p.data_len, "CHAP_N", res->tuser, sizeof(res->tuser)) &&
	    wire_text_get(p.data, p.data_len, "CHAP_R", v, sizeof(v)))
		res->tresp_len = unhex(v, res->tresp, sizeof(res->tresp));
	wire_pdu_free(&p);
	ok = true;
out:
	wire_close(&c);
	return ok;
}

static void check_login(const struct wire_target *t, const char *name, const char *algs, unsigned alg)
{
	char why[WIRE_WHY_LEN] = "";
	struct chap_result res;

	if (chap_login(t, algs, alg, TWIST_NONE, &res, why, sizeof(why)) &&
	    (res.status || !res.full_feature))
		snprintf(why, sizeof(why), "status 0x%04x, %s", res.status,
			 res.full_feature ? "full feature phase" : "no transit to full feature phase");
	wire_check_why(name, why);
}

static void check_mutual(const struct wire_target *t)
{
	char why[WIRE_WHY_LEN] = "";
	struct chap_result res;
	uint8_t want[64];

	if (chap_login(t, "7", 7, TWIST_MUTUAL, &res, why, sizeof(why))) {
		unsigned n = digest(7, res.our_id, creds->tsecret, res.our_challenge,
				    sizeof(res.our_challenge), want);
		if (res.status)
			snprintf(why, sizeof(why), "status 0x%04x", res.status);
		else if (strcmp(res.tuser, creds->tuser) != 0)
			snprintf(why, sizeof(why), "target CHAP_N '%.64s', not '%.64s'", res.tuser, creds->tuser);
		else if (res.tresp_len != n || memcmp(res.tresp, want, n) != 0)
			snprintf(why, sizeof(why), "target CHAP_R is not SHA-256(id || secret || challenge)");
	}
	wire_check_why("chap_mutual_sha256_target_answers", why);
}

/* The login fails with 0201 (class 2 initiator error, detail 1). */
static void check_refused(const struct wire_target *t, const char *name, const char *algs,
			  enum chap_twist twist, bool delayed)
{
	char why[WIRE_WHY_LEN] = "";
	struct chap_result res;

	if (chap_login(t, algs, 5, twist, &res, why, sizeof(why))) {
		if (res.status != ISCSI_LOGIN_AUTH_FAILED)
			snprintf(why, sizeof(why), "status 0x%04x, not 0x0201", res.status);
		else if (delayed && res.answer_ms < 900)
			snprintf(why, sizeof(why), "0201 after %ld ms, not after lunard's 1 s delay",
				 res.answer_ms);
	}
	wire_check_why(name, why);
}

int main(int argc, char **argv)
{
	struct wire_target t = { 0 };
	struct chap_creds c;

	if (argc != 8) {
		fprintf(stderr, "usage: %s HOST PORT TARGET USER SECRET TARGET_USER TARGET_SECRET\n",
			argv[0]);
		return 64;
	}
	t.host = argv[1];
	t.port = argv[2];
	t.name = argv[3];
	c = (struct chap_creds){ argv[4], argv[5], argv[6], argv[7] };
	creds = &c;
	check_login(&t, "chap_md5_logs_in", "5", 5);
	check_login(&t, "chap_sha1_logs_in", "6", 6);
	check_login(&t, "chap_sha256_logs_in", "7", 7);
	check_login(&t, "chap_sha3_256_logs_in", "8", 8);
	check_login(&t, "chap_first_known_algorithm_of_the_list", "42,8,5", 8);
	check_mutual(&t);
	check_refused(&t, "chap_wrong_response_0201_after_delay", "5", TWIST_WRONG_RESPONSE, true);
	check_refused(&t, "chap_missing_response_0201", "5", TWIST_NO_RESPONSE, false);
	check_refused(&t, "chap_unsupported_algorithm_0201", "4,9", TWIST_NONE, false);
	check_refused(&t, "chap_reflected_challenge_0201", "5", TWIST_REFLECTED, false);
	check_refused(&t, "chap_oversized_challenge_0201", "5", TWIST_OVERSIZED, false);
	return wire_check_summary() ? 1 : 0;
}
